"""The ``check`` command: every declared document (or some services) fetched and checked once,
the feeds rebuilt and notifications sent; ``--dry-run`` judges pages without storing anything."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tracker.cli.common import (
    STATE_STYLE,
    allow_private_option,
    complete_service,
    deliver_notifications,
    extract_timeout_option,
    notify_option,
    parse_size,
    positive,
    rebuild,
    start_notifications,
    stderr_console,
)
from tracker.cli.main import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Config, cli, pass_config
from tracker.errors import TrackerError
from tracker.publish.termsafe import safe


def check_feeds_folder(cfg: Config) -> None:
    """Bad input before anything is checked: a --feeds folder that cannot be made or written."""
    try:
        cfg.feeds.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrackerError(f"--feeds {cfg.feeds}: cannot create the folder ({e.strerror or e})") from None
    if not os.access(cfg.feeds, os.W_OK | os.X_OK):
        raise TrackerError(f"--feeds {cfg.feeds}: the folder is not writable")


def _no_documents(cfg: Config) -> TrackerError:
    from tracker.cli.demo import MARKER

    if (cfg.policies.parent / MARKER).exists() or (Path.cwd() / MARKER).exists():
        return TrackerError(f"no documents declared in {cfg.policies}: this is a demo folder, whose policy was "
                            "served only while `policy-tracker demo` ran (its versions are still here: try "
                            "`policy-tracker history Chirpline`); add real documents with `policy-tracker add`")
    return TrackerError(f"no documents declared in {cfg.policies} (add one with `policy-tracker add`)")


def run_check(cfg: Config, services: tuple[str, ...], jobs: int, per_host: int, as_json: bool,
              quiet: bool = False, rebuild_feeds: bool = True, timeout: float = 30.0,
              max_size: int | None = None, workers: int | None = None, notify: list[str] | None = None,
              extract_timeout: float = 30.0) -> list:
    from tracker.sources.declarations import select_documents

    declared = cfg.documents()
    if not declared and cfg.bad_input:
        raise click.exceptions.Exit(EXIT_BAD_INPUT)  # the bad files are named above: nothing more to say
    try:
        docs = select_documents(declared, services)
    except TrackerError as e:
        hint = " (some declarations were skipped as bad: see above)" if cfg.bad_input else ""
        raise TrackerError(f"{e}{hint}") from None
    if not docs:
        raise _no_documents(cfg)
    if rebuild_feeds:
        check_feeds_folder(cfg)
    return _run_check(cfg, docs, jobs, per_host, as_json, quiet, rebuild_feeds, timeout, max_size, workers, notify,
                      extract_timeout)


def _run_check(cfg: Config, docs: list, jobs: int, per_host: int, as_json: bool, quiet: bool, rebuild_feeds: bool,
               timeout: float, max_size: int | None, workers: int | None, notify: list[str] | None,
               extract_timeout: float = 30.0) -> list:
    from tracker.capture.fetch import MAX_BYTES, Fetcher
    from tracker.cycle import run_cycle

    # rich (progress bar, colours) only on a terminal: importing it costs cron and pipes 40 ms a run
    interactive = sys.stderr.isatty() and not as_json and not quiet
    console = stderr_console() if interactive else None

    def emit(o) -> None:
        if as_json:
            click.echo(json.dumps(o.to_dict(), ensure_ascii=False))
        elif not quiet or o.state in ("changed", "failed"):  # -q: what cron should mail, and nothing else
            line = safe(o.line())  # names, page titles and server errors reach the terminal escaped
            if console is not None:  # interactive
                from rich.markup import escape

                console.print(f"[{STATE_STYLE.get(o.state, '')}]{escape(line)}[/]", markup=True, highlight=False)
            else:
                click.echo(line)

    fetcher = Fetcher(read_timeout=timeout, connect_timeout=min(10.0, timeout), total_timeout=timeout,
                      max_bytes=max_size or MAX_BYTES, pool_size=max(4, jobs))
    with cfg.store() as store, fetcher:
        if rebuild_feeds:  # refused before anything is fetched: the feeds folder is another database's
            from tracker.publish.folder import claim_feeds

            claim_feeds(store, cfg.feeds)
        notifier = start_notifications(store, notify or [], cfg.feeds)  # before the cycle: its changes are all sent
        if interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as progress:
                task = progress.add_task("check", total=len(docs))

                def on(o) -> None:
                    progress.advance(task)
                    emit(o)

                outcomes = run_cycle(store, docs, jobs=jobs, per_host=per_host, fetcher=fetcher, on_outcome=on,
                                     processes=workers, extract_timeout=extract_timeout)
        else:
            outcomes = run_cycle(store, docs, jobs=jobs, per_host=per_host, fetcher=fetcher, on_outcome=emit,
                                 processes=workers, extract_timeout=extract_timeout)
        # New documents need their (empty) service feeds and failures their status entries, not only
        # changes; the build is incremental, so a cycle where nothing moved skips it altogether.
        if rebuild_feeds and (any(o.state in ("new", "changed", "failed") or o.noted for o in outcomes)
                              or not (cfg.feeds / "index.html").exists() or _declarations_to_show(cfg)
                              or cfg.backfilled):
            try:
                rebuild(cfg, store)
                if not as_json and not quiet:
                    warn_local_links(cfg)
            except OSError as e:  # the versions are stored; the feeds follow at the next build
                click.echo(f"policy-tracker: error: feeds not written in {cfg.feeds}: {e.strerror or e} "
                           f"({getattr(e, 'filename', None) or ''})".replace(" ()", ""), err=True)
                cfg.bad_input += 1
        if notifier is not None:
            deliver_notifications(store, notifier)
    if not as_json and not quiet:
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.state] = counts.get(o.state, 0) + 1
        summary = ", ".join(f"{counts[s]} {s}" for s in ("new", "changed", "unchanged", "failed") if counts.get(s))
        click.echo(f"checked {len(outcomes)} document(s): {summary}", err=True)
    return outcomes


def check_status(cfg: Config, outcomes: list) -> int:
    """0, 3 when some document failed, 2 when bad input was reported (2 wins)."""
    return cfg.exit_status(EXIT_FAILED if any(o.state == "failed" for o in outcomes) else EXIT_OK)


def _declarations_to_show(cfg: Config) -> bool:
    """Whether status.atom must change for the declaration files: one is bad now, or one it names
    was bad (and may be fixed)."""
    if cfg.problems:
        return True
    try:
        return b":status/declaration/" in (cfg.feeds / "status.atom").read_bytes()
    except OSError:
        return False


def warn_local_links(cfg: Config) -> None:
    """One line on stderr when the feeds folder was built with file:// links that nobody chose."""
    from tracker.cli.demo import MARKER
    from tracker.publish.folder import LOCAL_LINKS_WARNING, link_base

    if (cfg.feeds.parent / MARKER).exists():  # the offline demo's folder: local on purpose
        return
    if link_base(cfg.feeds, None)[1] is None:
        click.echo("policy-tracker: warning: " + LOCAL_LINKS_WARNING.format(folder=cfg.feeds), err=True)


@cli.command()
@click.argument("services", nargs=-1, shell_complete=complete_service)
@click.option("--jobs", "-j", default=8, show_default=True, type=int, callback=positive,
              help="Documents fetched at once.")
@click.option("--per-host", default=1, show_default=True, type=int, callback=positive,
              help="Requests at once to one host.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait for a server to answer (the whole transfer gets four times that).")
@click.option("--max-size", default="10MB", show_default=True, callback=lambda c, p, v: parse_size(v),
              help="Largest page accepted, after decompression (e.g. 500KB, 10MB); larger is a failed check.")
@click.option("--workers", default=None, type=click.IntRange(0, 64),
              help="Worker processes that extract pages, each page under --extract-timeout. Default: one per "
                   "core beyond the first (at least 1, at most 4); 0: extract in this process, without a deadline.")
@extract_timeout_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document per line.")
@click.option("--quiet", "-q", is_flag=True,
              help="Print only changes and failures (one line each) and errors: what cron should mail.")
@click.option("--dry-run", is_flag=True,
              help="Fetch and extract each document and say what would happen; store nothing, touch no feed.")
@notify_option
@allow_private_option
@pass_config
def check(cfg: Config, services: tuple[str, ...], jobs: int, per_host: int, timeout: float, max_size: int,
          workers: int | None, extract_timeout: float, as_json: bool, quiet: bool, dry_run: bool,
          notify: list[str]) -> int:
    """Check every declared document (or the SERVICES named) once.

    Each document ends as new, unchanged, changed or failed (with the reason). Feeds are brought up
    to date (incrementally) when a document is new, changed or failing, or when none exist yet.
    Exit status: 0 when every document was checked, 3 when some failed, 2 for bad input (a bad
    declaration file is named and skipped; the others are still checked).
    """
    if dry_run:
        return dry_run_check(cfg, services, as_json, timeout=timeout, max_size=max_size,
                             extract_timeout=extract_timeout)
    outcomes = run_check(cfg, services, jobs, per_host, as_json, quiet, timeout=timeout, max_size=max_size,
                         workers=workers, notify=notify, extract_timeout=extract_timeout)
    return check_status(cfg, outcomes)


def dry_run_check(cfg: Config, services: tuple[str, ...], as_json: bool, timeout: float = 30.0,
                  max_size: int | None = None, docs: list | None = None, extract_timeout: float = 30.0) -> int:
    """``check --dry-run``: every document fetched and judged as a first check, nothing stored.
    Exit 0 when every document would give a version, 3 when some would not."""
    from tracker.capture.browser import fetch_document
    from tracker.capture.fetch import MAX_BYTES, Fetcher
    from tracker.sources.declarations import select_documents
    from tracker.trial import try_fetch
    from tracker.workers import Extractors, extract

    if docs is None:
        docs = select_documents(cfg.documents(), services)
        if not docs:
            raise _no_documents(cfg)
    failed = 0
    with Fetcher(read_timeout=timeout, connect_timeout=min(10.0, timeout), total_timeout=timeout,
                 max_bytes=max_size or MAX_BYTES) as fetcher, Extractors(1, extract_timeout) as extractors:
        for doc in docs:
            trial = try_fetch(doc, fetch_document(fetcher, doc),
                              read=lambda d, capture: extract(extractors, d, capture))
            failed += trial.state == "failed"
            if as_json:
                click.echo(json.dumps(trial.to_dict(), ensure_ascii=False))
            else:
                click.echo(trial.line())
                for line in trial.first_lines:
                    click.echo(f"    {line}")
    return EXIT_FAILED if failed else EXIT_OK
