"""``policy-tracker diff``: clause-level diff of two local files or of two stored versions."""

from __future__ import annotations

import os
import sys

import click

from tracker.cli.main import cli, pass_config
from tracker.errors import TrackerError


def _tag(result, lang: str | None) -> None:
    """Tag the changes when the tagger is installed (it is another stage; the diff stands alone)."""
    try:
        from tracker.compare.tag import tag_changes
    except ImportError:
        return
    tag_changes(result, lang=lang)


def _resolve(cfg, store, service: str, type_: str | None) -> tuple[str, str]:
    """Service/type as declared when a declaration exists, else as stored."""
    try:
        from tracker.sources.declarations import find_document

        doc = find_document(cfg.documents(), service, type_)
        if store.document(doc.service, doc.type) is not None:
            return doc.service, doc.type
    except TrackerError:
        pass
    row = store.find_document(service, type_)
    return row.service, row.type


@cli.command("diff")
@click.argument("service", required=False)
@click.option("--files", nargs=2, metavar="OLD NEW", type=click.Path(dir_okay=True),
              help="Diff two local files (.html, .htm, .md, .txt) instead of stored versions.")
@click.option("--type", "type_", metavar="T", help="Document type (e.g. 'Privacy Policy') when a service has several.")
@click.option("--from", "from_", type=int, metavar="N", help="Old version number (default: the one before --to).")
@click.option("--to", "to", type=int, metavar="M", help="New version number (default: the latest).")
@click.option("--format", "fmt", type=click.Choice(("text", "unified", "json", "html")), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Also show insignificant changes (formatting, dates, moves).")
@click.option("--tag", "tag", metavar="TAG", help="Only changes carrying this tag (e.g. ai-training).")
@pass_config
def diff_cmd(cfg, service, files, type_, from_, to, fmt, show_all, tag) -> None:
    """Clause-level diff: what was added, removed, reworded or moved, with the words that changed.

    \b
    policy-tracker diff --files old.html new.html
    policy-tracker diff x --type "Privacy Policy" --from 3 --to 4 --format json
    """
    from tracker.compare.diff import diff_clauses

    if files and service:
        raise TrackerError("give either SERVICE or --files OLD NEW, not both")
    if not files and not service:
        raise TrackerError("give a SERVICE (stored versions) or --files OLD NEW")
    lang = None
    if files:
        from tracker.text.plain import extract_file

        old, new = extract_file(files[0]), extract_file(files[1])
        result = diff_clauses(old.clauses, new.clauses)
        lang = new.lang or old.lang
        labels = {"old_label": files[0], "new_label": files[1], "title": f"{files[0]} → {files[1]}"}
    else:
        store = cfg.store()
        svc, typ = _resolve(cfg, store, service, type_)
        versions = store.versions(svc, typ)
        if not versions:
            raise TrackerError(f"{svc} / {typ}: no stored version yet (run `policy-tracker check` first)")
        numbers = sorted(v.number for v in versions)
        to_n = to if to is not None else numbers[-1]
        if from_ is None:
            older = [n for n in numbers if n < to_n]
            if not older:
                raise TrackerError(f"{svc} / {typ}: no version before {to_n} to compare with "
                                   f"(stored: {', '.join(map(str, numbers))})")
            from_ = older[-1]
        a, b = store.get_version(svc, typ, from_), store.get_version(svc, typ, to_n)
        for n, v in ((from_, a), (to_n, b)):
            if v is None:
                raise TrackerError(f"{svc} / {typ}: no version {n} (stored: {', '.join(map(str, numbers))})")
        result = diff_clauses(a.clauses, b.clauses)
        lang = b.lang
        labels = {"old_label": f"v{a.number} ({a.recorded_at})", "new_label": f"v{b.number} ({b.recorded_at})",
                  "title": f"{svc} / {typ}: v{a.number} → v{b.number}"}
    _tag(result, lang)
    if tag:
        result.changes = [c for c in result.changes if tag in c.tags]
    color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    from tracker.publish.render import render

    out = render(result, fmt, show_all=show_all, color=color, **labels)
    if color:
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(out)
    else:
        click.echo(out)
