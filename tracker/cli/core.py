"""Foundation commands: add, list, check, history, show."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tracker.cli.main import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Config, cli, pass_config
from tracker.errors import TrackerError

STATE_STYLE = {"new": "cyan", "unchanged": "dim", "changed": "bold yellow", "failed": "bold red"}


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def parse_size(value: str) -> int:
    """'10MB' -> 10485760 (KB/MB/GB are powers of 1024; a bare number is bytes)."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", str(value), re.I)
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a size such as 500KB or 10MB")
    return int(float(m.group(1)) * 1024 ** " kmg".index((m.group(2) or " ").lower()))


def positive(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value is not None and value < 1:
        raise click.BadParameter("must be at least 1")
    return value


def _notify_urls(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    if not value:
        return []
    from tracker.publish.notify import notify_urls

    try:
        return notify_urls(value or ())
    except ValueError as e:
        raise TrackerError(f"--notify {e}") from None


notify_option = click.option(
    "--notify", "notify", multiple=True, metavar="URL", envvar="POLICY_TRACKER_NOTIFY", callback=_notify_urls,
    help="Send each significant change here (repeatable; env POLICY_TRACKER_NOTIFY, space-separated): an "
         "http(s) URL gets a JSON POST (for programs), any URL Apprise knows a message (mailto://, ntfy://, "
         "matrix://, tgram://, discord://, slack://, ...). Undelivered messages wait in the database and are "
         "sent by later runs. The page link uses the feeds folder's public URL (`feeds --base-url`, or "
         "POLICY_TRACKER_BASE_URL).")


def start_notifications(store, urls: list[str], feeds: Path | None = None):
    """The notifier for ``urls`` (None without any), its channels registered in the store's outbox; its
    page links use the feeds folder's public URL (given once to ``feeds --base-url``, or the env)."""
    if not urls:
        return None
    from tracker.publish.build import public_base
    from tracker.publish.notify import Notifier

    notifier = Notifier(urls, base_url=public_base(feeds) if feeds is not None else None)
    notifier.register(store)
    return notifier


def deliver_notifications(store, notifier) -> None:
    """Send what the outbox holds for these channels (this run's changes and earlier undelivered ones);
    a failure is one stderr line, never a failed check (the message waits for the next run)."""
    try:
        for err in notifier.deliver(store):
            click.echo(f"policy-tracker: warning: {err}", err=True)
    finally:
        notifier.close()


def complete_service(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion of SERVICE arguments: declared and stored service names."""
    from click.shell_completion import CompletionItem

    names: set[str] = set()
    cfg = ctx.find_object(Config)
    if cfg is None:  # completing: the group's callback has not run, but its options are parsed
        params = ctx.find_root().params
        cfg = Config(db=Path(params.get("db") or "tracker.db"), policies=Path(params.get("policies") or "policies"),
                     feeds=Path(params.get("feeds") or "feeds"))
    try:
        names |= {d.service for d in cfg.documents(report=False, missing_ok=True)}
    except Exception:  # noqa: BLE001 - completion must never print an error
        pass
    try:
        if cfg.db.exists():
            with cfg.store() as store:
                names |= {r.service for r in store.documents()}
    except Exception:  # noqa: BLE001
        pass
    return [CompletionItem(n) for n in sorted(names, key=str.casefold) if n.casefold().startswith(incomplete.casefold())]


# --------------------------------------------------------------------------- add


@cli.command()
@click.argument("service")
@click.argument("url")
@click.option("--type", "type_", default="Privacy Policy", show_default=True, help="Document type.")
@click.option("--select", multiple=True, help="CSS selector of the content to keep (repeatable).")
@click.option("--remove", multiple=True, help="CSS selector of content to drop (repeatable).")
@click.option("--interval", default=None, help="How often the daemon checks it, e.g. 12h (default 24h).")
@click.option("--lang", default=None, help="Language of the document, e.g. en or fr.")
@click.option("--replace", is_flag=True,
              help="Overwrite settings the file already has with other values (settings not given are kept).")
@click.option("--try/--no-try", "try_", default=True, show_default=True, envvar="POLICY_TRACKER_ADD_TRY",
              help="Fetch the page once (as `check --dry-run`) and say whether it needs browser = true or a selector.")
@pass_config
def add(cfg: Config, service: str, url: str, type_: str, select: tuple[str, ...], remove: tuple[str, ...],
        interval: str | None, lang: str | None, replace: bool, try_: bool) -> int:
    """Declare a document to track (writes or extends policies/<service>.toml).

    An existing file is edited in place: its comments, order and other settings are kept. A setting
    the file already has with another value (a new URL, say) is refused unless --replace is given.
    """
    from tracker.sources.declarations import declaration_path, merge_declaration, parse_declaration

    try:
        path = declaration_path(cfg.policies, service)
    except ValueError as e:
        raise TrackerError(f"service name: {e}") from None
    spec: dict = {"url": url}
    if select:
        spec["select"] = list(select)
    if remove:
        spec["remove"] = list(remove)
    if interval:
        spec["interval"] = interval
    if lang:
        spec["lang"] = lang
    # Validate through the same code as loading, so `add` can never write a file `check` refuses.
    parse_declaration({"name": service.strip(), "documents": {type_: spec}}, f"{path.name} (new)")
    merged = merge_declaration(path, service.strip(), type_.strip(), spec, replace=replace)
    label = f"{service.strip()} / {type_.strip()}"
    if merged.verb == "unchanged":
        click.echo(f"unchanged: {label} is already declared so in {path}")
        return EXIT_OK
    cfg.policies.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(merged.text, encoding="utf-8")
    tmp.replace(path)
    what = f" ({', '.join(merged.changed)})" if merged.verb == "updated" and merged.changed else ""
    click.echo(f"{merged.verb} {label} in {path}{what}")
    if not try_:
        return EXIT_OK
    from tracker.sources.declarations import load_file

    added = [d for d in load_file(path) if d.type == type_.strip()]
    click.echo("trying it (as `check --dry-run`; --no-try to skip):")
    return dry_run_check(cfg, (), False, timeout=15.0, docs=added)


# --------------------------------------------------------------------------- list


def plain_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, never cut or wrapped (for pipes)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for r in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(r, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--broken-after", default=3, show_default=True, type=click.IntRange(min=1),
              help="Consecutive failures after which a document is reported as broken.")
@pass_config
def list_(cfg: Config, as_json: bool, broken_after: int) -> int:
    """What is tracked: declared documents and documents only stored in the database (imported, or
    no longer declared), with last check, state and version count.

    A bad declaration file is named on stderr (exit status 2) and the others are listed.
    """
    from tracker.sources.declarations import format_interval
    from tracker.store.database import iso

    docs = cfg.documents(missing_ok=True)
    rows = {}
    notes: dict[tuple[str, str], list] = {}  # open capture notes: a held capture, failed import commits
    if cfg.db.exists():
        with cfg.store() as store:
            rows = {(r.service, r.type): r for r in store.documents()}
            for n in store.capture_notes(open_only=True):
                notes.setdefault((n.service, n.type), []).append(n)
    declared = {d.key: d for d in docs}
    keys = sorted(set(declared) | set(rows), key=lambda k: (k[0].casefold(), k[1].casefold()))
    items = []
    for key in keys:
        d, r = declared.get(key), rows.get(key)
        failures = r.consecutive_failures if r else 0
        state = (r.last_state if r else None) or "never checked"
        if failures >= broken_after:
            state = "broken"
        items.append({
            "service": key[0], "type": key[1], "url": d.url if d else r.url, "declared": d is not None,
            "interval": format_interval(d.interval) if d else None,
            "last_check": iso(r.last_check_at) if r else None, "state": state,
            "reason": r.last_reason if r else None, "error": r.last_error if r else None,
            "consecutive_failures": failures, "versions": r.versions if r else 0,
            "last_version_at": iso(r.last_version_at) if r else None,
            "held": next((n.note for n in notes.get(key, []) if n.kind == "held"), None),
            "failed_commits": [f"{(n.source_ref or '')[:10]}: {n.note}" for n in notes.get(key, [])
                               if n.kind == "failed-commit"],
        })
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return cfg.exit_status()
    headers = ["service", "document", "every", "last check", "state", "versions"]
    cells = []
    for it in items:
        state = it["state"]
        if it["reason"] and state in ("failed", "broken"):
            state = f"{state} ({it['reason']})"
        if it["held"]:
            state += " (suspect capture)" if state == "held" else ", suspect capture held"
        if it["failed_commits"]:
            state += f", {len(it['failed_commits'])} import commit(s) failed"
        cells.append([it["service"], it["type"], it["interval"] or "not declared", it["last_check"] or "-", state,
                      str(it["versions"])])
    if items and sys.stdout.isatty():
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in headers:
            table.add_column(col, no_wrap=col in ("last check", "every", "versions"))
        for it, row in zip(items, cells, strict=True):
            style = "bold red" if it["state"] == "broken" else STATE_STYLE.get(it["state"], "")
            row = [escape(c) for c in row]
            row[4] = f"[{style}]{row[4]}[/]" if style else row[4]
            table.add_row(*row)
        stdout_console().print(table)
    elif items:
        click.echo(plain_table(headers, cells))
    stored_only = sum(1 for it in items if not it["declared"])
    if stored_only:
        click.echo(f"{stored_only} document(s) stored but not declared in {cfg.policies} (imported, or no longer "
                   "declared): not checked; `policy-tracker forget SERVICE` removes their data", err=True)
    if not items and not cfg.bad_input:
        click.echo(f"nothing tracked: no documents declared in {cfg.policies} and none stored in {cfg.db} "
                   "(add one with `policy-tracker add`)", err=True)
    return cfg.exit_status()


# --------------------------------------------------------------------------- check


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
              max_size: int | None = None, workers: int | None = None, notify: list[str] | None = None) -> list:
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
    return _run_check(cfg, docs, jobs, per_host, as_json, quiet, rebuild_feeds, timeout, max_size, workers, notify)


def _run_check(cfg: Config, docs: list, jobs: int, per_host: int, as_json: bool, quiet: bool, rebuild_feeds: bool,
               timeout: float, max_size: int | None, workers: int | None, notify: list[str] | None) -> list:
    from tracker.capture.fetch import MAX_BYTES, Fetcher
    from tracker.cycle import run_cycle

    # rich (progress bar, colours) only on a terminal: importing it costs cron and pipes 40 ms a run
    interactive = sys.stderr.isatty() and not as_json and not quiet
    console = stderr_console() if interactive else None

    def emit(o) -> None:
        if as_json:
            click.echo(json.dumps(o.to_dict(), ensure_ascii=False))
        elif not quiet or o.state in ("changed", "failed"):  # -q: what cron should mail, and nothing else
            line = o.line()
            if interactive:
                from rich.markup import escape

                console.print(f"[{STATE_STYLE.get(o.state, '')}]{escape(line)}[/]", markup=True, highlight=False)
            else:
                click.echo(line)

    fetcher = Fetcher(read_timeout=timeout, connect_timeout=min(10.0, timeout), total_timeout=timeout,
                      max_bytes=max_size or MAX_BYTES, pool_size=max(4, jobs))
    with cfg.store() as store, fetcher:
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
                                     processes=workers)
        else:
            outcomes = run_cycle(store, docs, jobs=jobs, per_host=per_host, fetcher=fetcher, on_outcome=emit,
                                 processes=workers)
        # New documents need their (empty) service feeds and failures their status entries, not only
        # changes; the build is incremental, so a cycle where nothing moved skips it altogether.
        if rebuild_feeds and (any(o.state in ("new", "changed", "failed") or o.noted for o in outcomes)
                              or not (cfg.feeds / "index.html").exists()):
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


def warn_local_links(cfg: Config) -> None:
    """One line on stderr when the feeds folder was built with file:// links that nobody chose."""
    from tracker.cli.demo import MARKER
    from tracker.publish.build import LOCAL_LINKS_WARNING, link_base

    if (cfg.feeds.parent / MARKER).exists():  # the offline demo's folder: local on purpose
        return
    if link_base(cfg.feeds, None)[1] is None:
        click.echo("policy-tracker: warning: " + LOCAL_LINKS_WARNING.format(folder=cfg.feeds), err=True)


def rebuild(cfg: Config, store, base_url: str | None = None, max_entries: int = 50) -> list[Path]:
    """Rebuild the feeds folder from the store (the feeds stage)."""
    from tracker.publish.build import build_feeds

    return build_feeds(store, cfg.feeds, base_url=base_url, max_entries=max_entries)


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
              help="Worker processes that extract pages in a cycle with 32 or more first checks. "
                   "Default: one per core beyond the first (at most 4); 0: none.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document per line.")
@click.option("--quiet", "-q", is_flag=True,
              help="Print only changes and failures (one line each) and errors: what cron should mail.")
@click.option("--dry-run", is_flag=True,
              help="Fetch and extract each document and say what would happen; store nothing, touch no feed.")
@notify_option
@pass_config
def check(cfg: Config, services: tuple[str, ...], jobs: int, per_host: int, timeout: float, max_size: int,
          workers: int | None, as_json: bool, quiet: bool, dry_run: bool, notify: list[str]) -> int:
    """Check every declared document (or the SERVICES named) once.

    Each document ends as new, unchanged, changed or failed (with the reason). Feeds are brought up
    to date (incrementally) when a document is new, changed or failing, or when none exist yet.
    Exit status: 0 when every document was checked, 3 when some failed, 2 for bad input (a bad
    declaration file is named and skipped; the others are still checked).
    """
    if dry_run:
        return dry_run_check(cfg, services, as_json, timeout=timeout, max_size=max_size)
    outcomes = run_check(cfg, services, jobs, per_host, as_json, quiet, timeout=timeout, max_size=max_size,
                         workers=workers, notify=notify)
    return check_status(cfg, outcomes)


def dry_run_check(cfg: Config, services: tuple[str, ...], as_json: bool, timeout: float = 30.0,
                  max_size: int | None = None, docs: list | None = None) -> int:
    """``check --dry-run``: every document fetched and judged as a first check, nothing stored.
    Exit 0 when every document would give a version, 3 when some would not."""
    from tracker.capture.browser import fetch_document
    from tracker.capture.fetch import MAX_BYTES, Fetcher
    from tracker.check import try_fetch
    from tracker.sources.declarations import select_documents

    if docs is None:
        docs = select_documents(cfg.documents(), services)
        if not docs:
            raise _no_documents(cfg)
    failed = 0
    with Fetcher(read_timeout=timeout, connect_timeout=min(10.0, timeout), total_timeout=timeout,
                 max_bytes=max_size or MAX_BYTES) as fetcher:
        for doc in docs:
            trial = try_fetch(doc, fetch_document(fetcher, doc))
            failed += trial.state == "failed"
            if as_json:
                click.echo(json.dumps(trial.to_dict(), ensure_ascii=False))
            else:
                click.echo(trial.line())
                for line in trial.first_lines:
                    click.echo(f"    {line}")
    return EXIT_FAILED if failed else EXIT_OK


# --------------------------------------------------------------------------- history / show / forget


def stored_documents(store, service: str, type_: str | None) -> list:
    """The stored documents of a service (all of them, or the one of type ``type_``); one line when none."""
    from tracker.sources.declarations import matches_service

    if type_:
        return [store.find_document(service, type_)]
    hits = [d for d in store.documents() if matches_service(d.service, service)]
    if not hits:
        store.find_document(service)  # raises the usual one-line error, naming what is stored
    return hits


def _need_db(cfg: Config) -> None:
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")


@cli.command()
@click.argument("service", shell_complete=complete_service)
@click.option("--type", "type_", default=None, help="Only this document type (default: every document of SERVICE).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_config
def history(cfg: Config, service: str, type_: str | None, as_json: bool) -> None:
    """Stored versions of a service's documents (or of one, with --type), newest first."""
    _need_db(cfg)
    blocks = []
    with cfg.store() as store:
        for doc in stored_documents(store, service, type_):
            versions = store.versions(doc.service, doc.type)
            clause_counts = store.version_clause_counts(doc.id)
            changes = {c.to_version: c for c in store.changes(service=doc.service, significant_only=False)
                       if c.document_id == doc.id}
            items = []
            for v in versions:
                item = v.to_dict()
                item["service"], item["type"], item["clauses"] = doc.service, doc.type, clause_counts.get(v.number, 0)
                ch = changes.get(v.number)
                if ch:
                    item["changes"] = ch.diff.stats
                    item["tags"] = ch.tags
                items.append(item)
            blocks.append((doc, items))
    if as_json:
        click.echo(json.dumps([it for _, items in blocks for it in items], indent=2, ensure_ascii=False))
        return
    for n, (doc, items) in enumerate(blocks):
        if n:
            click.echo("")
        click.echo(f"{doc.service} / {doc.type}  {doc.url}")
        if not items:
            click.echo("  no versions stored yet")
        for it in items:
            extra = ""
            if "changes" in it:
                s = it["changes"]
                extra = f"  +{s['added']} -{s['removed']} ~{s['modified']} clauses"
                if it["tags"]:
                    extra += f"  [{', '.join(it['tags'])}]"
            click.echo(f"  v{it['version']:<4} {it['recorded_at']}  {it['sha256'][:12]}  "
                       f"{it['length']:>7} chars{extra}")


def shown_text(version) -> str:
    """Exactly what ``show`` prints for a version (``diff --format unified`` patches this text)."""
    return version.text + "\n"


@cli.command()
@click.argument("service", shell_complete=complete_service)
@click.option("--type", "type_", default=None, help="Only this document type (default: every document of SERVICE).")
@click.option("--version", "number", type=int, default=None,
              help="Version number (default: the latest; -1 is the latest, -2 the one before, ...).")
@click.option("--raw", is_flag=True, help="Print the raw snapshot the version was extracted from.")
@pass_config
def show(cfg: Config, service: str, type_: str | None, number: int | None, raw: bool) -> None:
    """Print the stored text of a version (default: the latest).

    A service with several documents prints each, headed by a line `==> Service / Type vN <==`
    (--type prints one, without the header).
    """
    _need_db(cfg)
    if number == 0:
        raise TrackerError("--version 0: versions are numbered from 1 (or -1 for the latest)")
    with cfg.store() as store:
        docs = stored_documents(store, service, type_)
        if len(docs) > 1 and (raw or number is not None):
            raise TrackerError(f"{docs[0].service} has several documents; choose one with --type for "
                               f"{'--raw' if raw else '--version'} ({', '.join(d.type for d in docs)})")
        shown = []
        for doc in docs:
            v = store.get_version(doc.service, doc.type, number)
            if v is None:
                if len(docs) > 1:
                    shown.append((doc, None))
                    continue
                raise TrackerError(f"{doc.service} / {doc.type} has no version {number if number else ''}".rstrip()
                                   + (" stored" if number is None else ""))
            if raw:
                body = store.snapshot(v.snapshot_sha256) if v.snapshot_sha256 else None
                if body is None:
                    raise TrackerError(f"version {v.number} has no raw snapshot (imported from history?)")
                sys.stdout.buffer.write(body)
                return
            shown.append((doc, v))
    if len(shown) == 1:
        click.echo(shown_text(shown[0][1]), nl=False)
        return
    for n, (doc, v) in enumerate(shown):
        if n:
            click.echo("")
        click.echo(f"==> {doc.service} / {doc.type} " + (f"v{v.number} ({v.recorded_at}) <==" if v else "<== (no version stored)"))
        if v is not None:
            click.echo(shown_text(v), nl=False)


@cli.command()
@click.argument("service", shell_complete=complete_service)
@click.option("--type", "type_", default=None, help="Only this document type (default: every document of SERVICE).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_config
def forget(cfg: Config, service: str, type_: str | None, yes: bool) -> None:
    """Remove a service's documents (or one, with --type) and everything stored for them from the
    database: checks, versions, changes, snapshots and queued notifications. The feeds are rebuilt
    without them.

    Asks first (--yes for scripts). A document still declared in the policies folder is checked again
    by the next `check`: remove or edit its declaration too to stop tracking it.
    """
    _need_db(cfg)
    with cfg.store() as store:
        docs = stored_documents(store, service, type_)
        what = []
        for d in docs:
            changes = store.conn.execute("SELECT COUNT(*) FROM changes WHERE document_id=?", (d.id,)).fetchone()[0]
            what.append(f"{d.service} / {d.type} ({d.versions} version(s), {changes} change(s))")
        if not yes:
            click.echo("This removes from " + str(cfg.db) + ":\n  " + "\n  ".join(what), err=True)
            try:
                ok = click.confirm("Forget it all? This cannot be undone", default=False, err=True)
            except click.exceptions.Abort:
                raise TrackerError("no answer: nothing forgotten (give --yes to forget without asking)") from None
            if not ok:
                click.echo("nothing forgotten", err=True)
                return
        for d, line in zip(docs, what, strict=True):
            store.forget(d.id)
            click.echo(f"forgot {line}")
        if cfg.feeds.exists():  # the feeds lose the forgotten changes and pages
            try:
                rebuild(cfg, store)
            except OSError as e:
                raise TrackerError(f"feeds not rebuilt in {cfg.feeds}: {e.strerror or e}") from None
    declared = [d for d in cfg.documents(report=False, missing_ok=True)
                if any(d.key == (s.service, s.type) for s in docs)]
    for d in declared:
        click.echo(f"note: {d.service} / {d.type} is still declared in {d.source}: the next check starts it "
                   "again (remove it there to stop tracking it)", err=True)
