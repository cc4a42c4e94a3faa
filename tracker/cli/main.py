"""The click group, the global options and the error policy (one line, exit 2, no traceback).

Exit statuses, which scripts and cron can rely on (the README lists them):

- 0 (``EXIT_OK``): everything went fine, whether or not anything changed;
- 1 (``EXIT_INTERNAL``): an internal error (a bug): one line, ``POLICY_TRACKER_DEBUG=1`` for a traceback;
- 2 (``EXIT_BAD_INPUT``): bad input: an option, a file, a declaration (the other declarations still ran);
- 3 (``EXIT_FAILED``): the command ran, but some documents could not be checked (fetch, page, store);
- 130: interrupted (Ctrl-C).

2 wins over 3: a broken declaration is the person's to fix even when some checks also failed.
"""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import click

from tracker import __version__
from tracker.errors import TrackerError
from tracker.publish.termsafe import safe

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130
INTERRUPT_GRACE = 3.0  # seconds a Ctrl-C waits for the command to unwind before the process leaves


@dataclass
class Config:
    """Where things live; every command gets it as ``ctx.obj``."""

    db: Path
    policies: Path
    feeds: Path
    bad_input: int = 0  # problems of input found (and reported) by this command that did not stop it
    problems: list[str] = field(default_factory=list)  # the declaration problems (named in status.atom)
    damage_checked: bool = False  # the database file was looked at for zeroed pages (tracker/store/trouble.py)
    events_checked: bool = False  # changes stored by an earlier release were given their events (tracker/backfill.py)
    backfilled: int = 0  # ... how many, by this command (the feeds are rebuilt when there were some)
    declared: list | None = None  # the declared documents, once read (``documents``)

    def store(self, read_only: bool = False):
        """The database, checked for damage and brought up to date once per command. ``read_only``:
        the command only reads it, and may do so from a file or folder it cannot write."""
        from tracker.store.database import Store

        if not self.damage_checked:  # once per command: a damaged file is never read silently
            self.damage_checked = True
            from tracker.store.trouble import damage_warning

            warning = damage_warning(self.db)
            if warning:
                click.echo(f"policy-tracker: warning: {safe(warning)}", err=True)
                self.bad_input += 1
        store = Store(self.db, read_only=read_only)
        if not self.events_checked:  # once per command (a no-op but for one lookup once it is done)
            self.events_checked = True
            from tracker.backfill import backfill_events

            done = backfill_events(store)
            if done is not None:
                click.echo(f"policy-tracker: {'warning: ' if done.error else ''}{safe(done.line())}", err=True)
                self.backfilled = done.changes if not done.error else 0
        return store

    def documents(self, report: bool = True, missing_ok: bool = False):
        """The valid declared documents. Each problem of the policies folder (a bad file, a bad
        document, a service declared twice) is one line on stderr, and the command's exit status
        becomes 2 (see ``exit_status``), but never stops the others from being used. ``report=False``
        for commands that only use declarations to resolve names (no lines, no status).
        ``missing_ok``: no policies folder means no declarations rather than an error."""
        from tracker.sources.declarations import read_policies

        if missing_ok and not self.policies.exists():
            return []
        docs, problems = read_policies(self.policies)
        self.declared = docs
        if report and problems:
            for line in problems:
                click.echo(f"policy-tracker: error: {safe(line)} (skipped)", err=True)
            self.bad_input += len(problems)
        self.problems = list(problems)
        return docs

    def aliases(self) -> dict[str, str]:
        """Former service names -> service (declared ``aliases``), read quietly: for grouping what is
        stored under a former name with its platform (feeds, report, list); problems are the command's
        own reading's to report."""
        from tracker.sources.declarations import former_names, read_policies

        if self.declared is not None:  # already read by this command: the folder is read once
            return former_names(self.declared)
        if not self.policies.is_dir():
            return {}
        try:
            return former_names(read_policies(self.policies)[0])
        except TrackerError:
            return {}

    def exit_status(self, status: int = EXIT_OK) -> int:
        """The command's status, made 2 when bad input was reported on the way (2 wins over 3)."""
        return EXIT_BAD_INPUT if self.bad_input else status


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
    global _config
    ctx.obj = _config = Config(db=Path(db), policies=Path(policies), feeds=Path(feeds))


_config: Config | None = None  # this command's, for errors met outside any command's own handling


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every expected error into one line on stderr and a non-zero exit."""
    try:
        _main(argv)
    finally:
        if argv is None:  # the program itself, about to end (not a caller passing arguments)
            # Everything alive now lives until exit: keep it out of the interpreter's last garbage
            # collection, which otherwise walks every object of every module (30 to 90 ms of a 1 s check).
            gc.freeze()


def _leave_now() -> None:
    try:
        sys.stderr.write("policy-tracker: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


def _on_interrupt(signum, frame) -> None:
    """Ctrl-C: unwind as usual, but a thread stuck in a network read must not hold the exit for its
    whole timeout. After INTERRUPT_GRACE seconds (or a second Ctrl-C) the process leaves at once;
    nothing half-done is stored (SQLite rolls back an uncommitted transaction, feeds are written
    atomically)."""
    timer = threading.Timer(INTERRUPT_GRACE, _leave_now)
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGINT, lambda *_: _leave_now())
    raise KeyboardInterrupt


def _main(argv: list[str] | None) -> None:
    if argv is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_interrupt)
    try:
        rv = cli.main(args=argv, prog_name="policy-tracker", standalone_mode=False)
    except TrackerError as e:
        click.echo(f"policy-tracker: error: {safe(e)}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("policy-tracker: aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except KeyboardInterrupt:
        click.echo("policy-tracker: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    except sqlite3.Error as e:  # a full disk, a read-only file, a lock held too long, a damaged file
        from tracker.store.trouble import explain

        db = _config.db if _config is not None else Path(os.environ.get("POLICY_TRACKER_DB", "tracker.db"))
        click.echo(f"policy-tracker: error: {safe(explain(db, e))}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as e:  # a bug, not bad input: still one line unless asked for more
        if os.environ.get("POLICY_TRACKER_DEBUG"):
            raise
        click.echo(f"policy-tracker: internal error: {type(e).__name__}: {safe(e)} "
                   "(set POLICY_TRACKER_DEBUG=1 for a traceback)", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)
