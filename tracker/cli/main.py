"""The click group, the global options and the error policy (one line, exit 2, no traceback)."""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from tracker import __version__
from tracker.errors import TrackerError
from tracker.publish.termsafe import safe


@dataclass
class Config:
    """Where things live; every command gets it as ``ctx.obj``."""

    db: Path
    policies: Path
    feeds: Path

    def store(self):
        from tracker.store.database import Store

        return Store(self.db)

    def documents(self):
        from tracker.sources.declarations import load_policies

        return load_policies(self.policies)


pass_config = click.make_pass_decorator(Config)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="POLICY_TRACKER_DB", default="tracker.db", show_default=True,
              type=click.Path(dir_okay=False), help="SQLite database file.")
@click.option("--policies", envvar="POLICY_TRACKER_POLICIES", default="policies", show_default=True,
              type=click.Path(file_okay=False), help="Folder of declarations (*.toml).")
@click.option("--feeds", envvar="POLICY_TRACKER_FEEDS", default="feeds", show_default=True,
              type=click.Path(file_okay=False), help="Folder where feeds and pages are written.")
@click.version_option(__version__, prog_name="policy-tracker")
@click.pass_context
def cli(ctx: click.Context, db: str, policies: str, feeds: str) -> None:
    """Watch privacy policies and terms, diff them clause by clause, flag AI-training and
    biometric changes, and publish them as Atom/RSS feeds."""
    ctx.obj = Config(db=Path(db), policies=Path(policies), feeds=Path(feeds))


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every expected error into one line on stderr and a non-zero exit."""
    try:
        _main(argv)
    finally:
        if argv is None:  # the program itself, about to end (not a caller passing arguments)
            # Everything alive now lives until exit: keep it out of the interpreter's last garbage
            # collection, which otherwise walks every object of every module (30 to 90 ms of a 1 s check).
            gc.freeze()


def _main(argv: list[str] | None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="policy-tracker", standalone_mode=False)
    except TrackerError as e:
        click.echo(f"policy-tracker: error: {safe(e)}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("policy-tracker: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except KeyboardInterrupt:
        click.echo("policy-tracker: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # a bug, not bad input: still one line unless asked for more
        if os.environ.get("POLICY_TRACKER_DEBUG"):
            raise
        click.echo(f"policy-tracker: internal error: {type(e).__name__}: {safe(e)} "
                   "(set POLICY_TRACKER_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
