"""Foundation commands: add, list, check, history, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tracker.cli.main import Config, cli, pass_config
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
    help="POST a JSON event to this webhook for each significant change (repeatable; env "
         "POLICY_TRACKER_NOTIFY, space-separated). The page link uses POLICY_TRACKER_BASE_URL.")


def send_notifications(store, urls: list[str], outcomes: list) -> None:
    """One webhook event per stored change; a failure is one stderr line and nothing else."""
    ids = [o.change_id for o in outcomes if o.state == "changed" and o.change_id is not None]
    if not urls or not ids:
        return
    from tracker.publish.notify import Notifier, notify_changes

    notifier = Notifier(urls)
    try:
        for err in notify_changes(notifier, store, ids):
            click.echo(f"policy-tracker: warning: {err}", err=True)
    finally:
        notifier.close()


# --------------------------------------------------------------------------- add


@cli.command()
@click.argument("service")
@click.argument("url")
@click.option("--type", "type_", default="Privacy Policy", show_default=True, help="Document type.")
@click.option("--select", multiple=True, help="CSS selector of the content to keep (repeatable).")
@click.option("--remove", multiple=True, help="CSS selector of content to drop (repeatable).")
@click.option("--interval", default=None, help="How often the daemon checks it, e.g. 12h (default 24h).")
@click.option("--lang", default=None, help="Language of the document, e.g. en or fr.")
@pass_config
def add(cfg: Config, service: str, url: str, type_: str, select: tuple[str, ...], remove: tuple[str, ...],
        interval: str | None, lang: str | None) -> None:
    """Declare a document to track (writes or extends policies/<service>.toml)."""
    import tomllib

    from tracker.sources.declarations import (
        declaration_path,
        load_file,
        parse_declaration,
        render_declaration,
    )

    try:
        path = declaration_path(cfg.policies, service)
    except ValueError as e:
        raise TrackerError(f"service name: {e}") from None
    existing = load_file(path) if path.exists() else []
    if existing and existing[0].service != service.strip():
        raise TrackerError(f"{path} already declares service {existing[0].service!r}; use that name")
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
    new_doc = parse_declaration({"name": service.strip(), "documents": {type_: spec}}, f"{path.name} (new)")[0]
    docs = [d for d in existing if d.type.casefold() != new_doc.type.casefold()]
    replaced = len(docs) != len(existing)
    docs.append(new_doc)
    text = render_declaration(new_doc.service, docs)
    tomllib.loads(text)  # never write a file that does not parse
    cfg.policies.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    verb = "updated" if replaced else "added"
    click.echo(f"{verb} {new_doc.service} / {new_doc.type} in {path}")


# --------------------------------------------------------------------------- list


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--broken-after", default=3, show_default=True, type=int,
              help="Consecutive failures after which a document is reported as broken.")
@pass_config
def list_(cfg: Config, as_json: bool, broken_after: int) -> None:
    """Declared documents with last check, state and version count."""
    from tracker.sources.declarations import format_interval
    from tracker.store.database import iso

    docs = cfg.documents()
    rows = {}
    if cfg.db.exists():
        with cfg.store() as store:
            rows = {(r.service, r.type): r for r in store.documents()}
    items = []
    for d in docs:
        r = rows.get(d.key)
        failures = r.consecutive_failures if r else 0
        state = (r.last_state if r else None) or "never checked"
        if failures >= broken_after:
            state = "broken"
        items.append({
            "service": d.service, "type": d.type, "url": d.url, "interval": format_interval(d.interval),
            "last_check": iso(r.last_check_at) if r else None, "state": state,
            "reason": r.last_reason if r else None, "error": r.last_error if r else None,
            "consecutive_failures": failures, "versions": r.versions if r else 0,
            "last_version_at": iso(r.last_version_at) if r else None,
        })
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("service", "document", "every", "last check", "state", "versions"):
        table.add_column(col)
    for it in items:
        state = it["state"]
        if it["reason"] and state in ("failed", "broken"):
            state = f"{state} ({it['reason']})"
        style = "bold red" if it["state"] == "broken" else STATE_STYLE.get(it["state"], "")
        table.add_row(it["service"], it["type"], it["interval"], it["last_check"] or "-",
                      f"[{style}]{state}[/]" if style else state, str(it["versions"]))
    stdout_console().print(table)
    if not items:
        click.echo(f"no documents declared in {cfg.policies} (add one with `policy-tracker add`)", err=True)


# --------------------------------------------------------------------------- check


def run_check(cfg: Config, services: tuple[str, ...], jobs: int, per_host: int, as_json: bool,
              quiet: bool = False, rebuild_feeds: bool = True, timeout: float = 30.0,
              max_size: int | None = None, workers: int | None = None, notify: list[str] | None = None) -> list:
    from tracker.sources.declarations import select_documents

    docs = select_documents(cfg.documents(), services)
    if not docs:
        raise TrackerError(f"no documents declared in {cfg.policies} (add one with `policy-tracker add`)")
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
        elif not quiet:
            line = o.line()
            if interactive:
                console.print(f"[{STATE_STYLE.get(o.state, '')}]{line}[/]", markup=True, highlight=False)
            else:
                click.echo(line)

    fetcher = Fetcher(read_timeout=timeout, connect_timeout=min(10.0, timeout), total_timeout=max(4 * timeout, 10.0),
                      max_bytes=max_size or MAX_BYTES, pool_size=max(4, jobs))
    with cfg.store() as store, fetcher:
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
        if rebuild_feeds and (any(o.state in ("new", "changed", "failed") for o in outcomes)
                              or not (cfg.feeds / "index.html").exists()):
            rebuild(cfg, store)
        send_notifications(store, notify or [], outcomes)
    if not as_json and not quiet:
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.state] = counts.get(o.state, 0) + 1
        summary = ", ".join(f"{counts[s]} {s}" for s in ("new", "changed", "unchanged", "failed") if counts.get(s))
        click.echo(f"checked {len(outcomes)} document(s): {summary}", err=True)
    return outcomes


def rebuild(cfg: Config, store, base_url: str | None = None, max_entries: int = 50) -> list[Path]:
    """Rebuild the feeds folder from the store (the feeds stage)."""
    from tracker.publish.build import build_feeds

    return build_feeds(store, cfg.feeds, base_url=base_url, max_entries=max_entries)


@cli.command()
@click.argument("services", nargs=-1)
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
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@notify_option
@pass_config
def check(cfg: Config, services: tuple[str, ...], jobs: int, per_host: int, timeout: float, max_size: int,
          workers: int | None, as_json: bool, quiet: bool, notify: list[str]) -> None:
    """Check every declared document (or the SERVICES named) once.

    Each document ends as new, unchanged, changed or failed (with the reason). Feeds are brought up
    to date (incrementally) when a document is new, changed or failing, or when none exist yet.
    """
    run_check(cfg, services, jobs, per_host, as_json, quiet, timeout=timeout, max_size=max_size, workers=workers,
              notify=notify)


# --------------------------------------------------------------------------- history / show


@cli.command()
@click.argument("service")
@click.option("--type", "type_", default=None, help="Document type, when the service has several.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_config
def history(cfg: Config, service: str, type_: str | None, as_json: bool) -> None:
    """Stored versions of a document, newest first."""
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")
    with cfg.store() as store:
        doc = store.find_document(service, type_)
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
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
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


@cli.command()
@click.argument("service")
@click.option("--type", "type_", default=None, help="Document type, when the service has several.")
@click.option("--version", "number", type=int, default=None, help="Version number (default: latest).")
@click.option("--raw", is_flag=True, help="Print the raw snapshot the version was extracted from.")
@pass_config
def show(cfg: Config, service: str, type_: str | None, number: int | None, raw: bool) -> None:
    """Print the stored text of a version (default: the latest)."""
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")
    with cfg.store() as store:
        doc = store.find_document(service, type_)
        v = store.get_version(doc.service, doc.type, number)
        if v is None:
            raise TrackerError(f"{doc.service} / {doc.type} has no version {number if number else ''}".rstrip()
                               + (" stored" if number is None else ""))
        if raw:
            body = store.snapshot(v.snapshot_sha256) if v.snapshot_sha256 else None
            if body is None:
                raise TrackerError(f"version {v.number} has no raw snapshot (imported from history?)")
            sys.stdout.buffer.write(body)
            return
    click.echo(v.text)
