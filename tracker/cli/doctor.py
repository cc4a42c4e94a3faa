"""``policy-tracker doctor``: is this installation sound, and what needs a person (tracker/doctor.py)."""

from __future__ import annotations

import json

import click

from tracker.cli.main import Config, cli, pass_config


@cli.command()
@click.option("--broken-after", default=3, show_default=True, type=click.IntRange(1, 1000),
              help="Failures in a row after which a document is reported.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding per line.")
@pass_config
def doctor(cfg: Config, broken_after: int, as_json: bool) -> int:
    """Examine the database, the feeds folder, the declarations, the browser, the notification outbox and
    the documents, and say what needs doing. Writes nothing.

    The database gets SQLite's integrity check, its schema number and the project's own invariants
    (every version readable and with its snapshot, every change with its two versions); the feeds folder
    must be this database's and up to date. Exit status: 0 sound, 3 documents failing for long, 2 a
    broken database, feeds folder or declaration file.
    """
    from tracker.doctor import examine, exit_status

    findings = examine(cfg.db, cfg.policies, cfg.feeds, broken_after=broken_after)
    for f in findings:
        if as_json:
            click.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        else:
            click.echo(f.line())  # escaped: names and errors come from servers and files
    return exit_status(findings)
