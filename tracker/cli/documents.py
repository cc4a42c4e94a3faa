"""Commands that read what is stored about documents: ``list``, ``history``, ``show``, ``forget``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tracker.cli.common import (
    STATE_STYLE,
    complete_service,
    need_db,
    rebuild,
    shown_text,
    stdout_console,
    stored_documents,
)
from tracker.cli.main import Config, cli, pass_config
from tracker.errors import TrackerError
from tracker.publish.termsafe import safe


def plain_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, never cut or wrapped (for pipes)."""
    rows = [[safe(c) for c in r] for r in rows]  # names come from files and archives: escaped
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
    from tracker.sources.declarations import format_interval, former_names, service_lanes
    from tracker.store.records import iso

    docs = cfg.documents(missing_ok=True)
    rows = {}
    notes: dict[tuple[str, str], list] = {}  # open capture notes: a held capture, failed import commits
    if cfg.db.exists():
        with cfg.store(read_only=True) as store:
            rows = {(r.service, r.type): r for r in store.documents()}
            for n in store.capture_notes(open_only=True):
                notes.setdefault((n.service, n.type), []).append(n)
    declared = {d.key: d for d in docs}
    # documents stored under a former name (declared ``aliases``) are listed with their platform's
    lanes = service_lanes({k[0] for k in rows}, former_names(docs))
    keys = sorted(set(declared) | set(rows), key=lambda k: (lanes.get(k[0], k[0]).casefold(), k[0] in lanes,
                                                           k[1].casefold()))
    items = []
    for key in keys:
        d, r = declared.get(key), rows.get(key)
        failures = r.consecutive_failures if r else 0
        state = (r.last_state if r else None) or "never checked"
        if failures >= broken_after:
            state = "broken"
        items.append({
            "service": key[0], "platform": lanes.get(key[0], key[0]), "type": key[1], "url": d.url if d else (r.url if r else ""), "declared": d is not None,
            "interval": format_interval(d.interval) if d else None,
            "last_check": iso(r.last_check_at) if r else None, "state": state,
            "reason": r.last_reason if r else None, "error": r.last_error if r else None,
            "consecutive_failures": failures, "versions": r.versions if r else 0,
            "last_version_at": iso(r.last_version_at) if r else None,
            "held": next((n.note for n in notes.get(key, []) if n.kind == "held"), None),
            "failed_commits": [f"{(n.source_ref or '')[:10]}: {n.note}" for n in notes.get(key, [])
                               if n.kind == "failed-commit"],
        })
    if as_json:  # a file that could not be read is an item too, as it is a row of the table
        bad_files = [{"service": Path(line.partition(": ")[0]).name, "type": "(declaration file)",
                      "file": line.partition(": ")[0], "declared": False, "state": "not read (bad file)",
                      "reason": "bad-declaration", "error": line.partition(": ")[2], "versions": 0}
                     for line in cfg.problems if line.partition(": ")[0].endswith(".toml")]
        click.echo(json.dumps(items + bad_files, indent=2, ensure_ascii=False))
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
        name = f"{it['platform']} (as {it['service']})" if it["platform"] != it["service"] else it["service"]
        cells.append([name, it["type"], it["interval"] or "not declared", it["last_check"] or "-", state,
                      str(it["versions"])])
    from tracker.publish.termsafe import safe_line

    # A file that could not be read is a row too: its documents are missing from the list above.
    bad = [[safe_line(Path(line.partition(": ")[0]).name, 80), "(declaration file)", "-", "-",
            "not read (bad file)", "-"] for line in cfg.problems if line.partition(": ")[0].endswith(".toml")]
    if (items or bad) and sys.stdout.isatty():
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
        for row in bad:
            table.add_row(*[escape(c) for c in row[:4]], f"[bold red]{escape(row[4])}[/]", row[5])
        stdout_console().print(table)
    elif items or bad:
        click.echo(plain_table(headers, cells + bad))
    stored_only = sum(1 for it in items if not it["declared"] and it["platform"] == it["service"])
    if stored_only:
        click.echo(f"{stored_only} document(s) stored but not declared in {cfg.policies} (imported, or no longer "
                   "declared): not checked; `policy-tracker forget SERVICE` removes their data", err=True)
    if not items and not cfg.bad_input:
        click.echo(f"nothing tracked: no documents declared in {cfg.policies} and none stored in {cfg.db} "
                   "(add one with `policy-tracker add`)", err=True)
    return cfg.exit_status()


# history, show and forget take a service and, optionally, one of its document types.
type_option = click.option("--type", "type_", default=None,
                           help="Only this document type (default: every document of SERVICE).")


@cli.command()
@click.argument("service", shell_complete=complete_service)
@type_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_config
def history(cfg: Config, service: str, type_: str | None, as_json: bool) -> None:
    """Stored versions of a service's documents (or of one, with --type), newest first."""
    need_db(cfg)
    blocks = []
    with cfg.store(read_only=True) as store:
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


@cli.command()
@click.argument("service", shell_complete=complete_service)
@type_option
@click.option("--version", "number", type=int, default=None,
              help="Version number (default: the latest; -1 is the latest, -2 the one before, ...).")
@click.option("--raw", is_flag=True, help="Print the raw snapshot the version was extracted from.")
@pass_config
def show(cfg: Config, service: str, type_: str | None, number: int | None, raw: bool) -> None:
    """Print the stored text of a version (default: the latest).

    A service with several documents prints each, headed by a line `==> Service / Type vN <==`
    (--type prints one, without the header).
    """
    need_db(cfg)
    if number == 0:
        raise TrackerError("--version 0: versions are numbered from 1 (or -1 for the latest)")
    with cfg.store(read_only=True) as store:
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
@type_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_config
def forget(cfg: Config, service: str, type_: str | None, yes: bool) -> None:
    """Remove a service's documents (or one, with --type) and everything stored for them from the
    database: checks, versions, changes, snapshots and queued notifications. The feeds are rebuilt
    without them.

    Asks first (--yes for scripts). A document still declared in the policies folder is checked again
    by the next `check`: remove or edit its declaration too to stop tracking it.
    """
    need_db(cfg)
    with cfg.store() as store:
        docs = stored_documents(store, service, type_)
        what = []
        for d in docs:
            changes = store.change_count(d.id)
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
