"""``policy-tracker diff``: clause-level diff of two local files or of two stored versions."""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracker.cli.common import complete_service, shown_text, stored_documents
from tracker.cli.main import cli, pass_config
from tracker.errors import TrackerError
from tracker.models import DiffResult

if TYPE_CHECKING:
    from tracker.store.database import Store
    from tracker.store.records import DocumentRow

FILE_FORMATS = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "md", ".markdown": "md", ".txt": "txt"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|main|article|section|div|p|h[1-6]|ul|ol|table)\b",
                         re.I | re.S)
_MARKDOWN = re.compile(r"^(#{1,6} \S|\s*[-*+] \S|\s*\d+[.)] \S)", re.M)


# --------------------------------------------------------------------------- local files


def _decode_file(data: bytes, name: str, fmt: str | None) -> str:
    """A local file's text: by BOM (UTF-8, UTF-16, UTF-32), else UTF-8, else (HTML) its <meta charset>
    or (text) Windows-1252. Binary data is refused rather than diffed as a clause of mojibake."""
    text = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise TrackerError(f"{name}: not a text file (invalid {enc.upper()} after its byte order mark)") from None
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None and b"\x00" not in data:
        if fmt in (None, "html"):
            from tracker.capture.charset import decode_body

            try:
                text = decode_body(data)
            except (ValueError, LookupError):
                text = None
        if text is None:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = None
    if text is None or _binary(text):
        raise TrackerError(f"{name}: not a text file (binary data; expected HTML, Markdown or plain text)")
    return text


def _binary(text: str) -> bool:
    """NUL characters, or more than 1 in 100 other control characters: not a document."""
    if "\x00" in text:
        return True
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v" or 0x7F <= ord(ch) < 0xA0)
    return controls > max(2, len(text) // 100)


def _sniff(text: str) -> str:
    if _HTML_START.match(text):
        return "html"
    return "md" if _MARKDOWN.search(text) else "txt"


def read_local(path: str):
    """A local file as clauses: HTML, Markdown or text by its extension, by its content when it has none."""
    from tracker.text.html import extract_html
    from tracker.text.markdown import extract_markdown
    from tracker.text.plain import extract_text

    p = Path(path)
    suffix = p.suffix.lower()
    fmt = FILE_FORMATS.get(suffix)
    if suffix and fmt is None:
        raise TrackerError(f"{p}: unknown file type {suffix!r} (expected .html, .htm, .md or .txt, "
                           "or a file without extension, read by its content)")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise TrackerError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise TrackerError(f"{p}: is a directory, not a file") from None
    except OSError as e:
        raise TrackerError(f"{p}: cannot read ({e.strerror or e})") from None
    text = _decode_file(data, str(p), fmt)
    fmt = fmt or _sniff(text)
    if fmt == "html":
        return extract_html(text)
    return extract_markdown(text) if fmt == "md" else extract_text(text)


# --------------------------------------------------------------------------- stored versions


@dataclass
class Pair:
    """One diff to print: a document's two versions (or two files), their texts and labels."""

    result: DiffResult  # tagged, with the priority tags' events, as check stores a change
    labels: dict = field(default_factory=dict)
    heading: str | None = None  # printed above it when a service has several documents


def _resolve_number(n: int, numbers: list[int], what: str, label: str) -> int:
    """A version number, or a negative one counted from the latest (-1 the latest, -2 the one before)."""
    stored = ", ".join(map(str, numbers))
    if n == 0:
        raise TrackerError(f"{what} 0: versions are numbered from 1 (or -1 for the latest, -2 the one before)")
    if n < 0:
        if -n > len(numbers):
            raise TrackerError(f"{label}: no version {n} ({len(numbers)} stored: {stored})")
        return numbers[n]
    if n not in numbers:
        raise TrackerError(f"{label}: no version {n} (stored: {stored})")
    return n


def _stored_pair(store: Store, doc: DocumentRow, from_: int | None, to: int | None, several: bool) -> Pair | None:
    from tracker.check import compare_versions

    label = f"{doc.service} / {doc.type}"
    numbers = sorted(v.number for v in store.versions(doc.service, doc.type))
    if not numbers:
        if several:
            return None
        raise TrackerError(f"{label}: no stored version yet (run `policy-tracker check` first)")
    to_n = _resolve_number(to, numbers, "--to", label) if to is not None else numbers[-1]
    if from_ is None:
        older = [n for n in numbers if n < to_n]
        if not older:
            if several:
                return None
            raise TrackerError(f"{label}: no version before {to_n} to compare with "
                               f"(stored: {', '.join(map(str, numbers))})")
        from_n = older[-1]
    else:
        from_n = _resolve_number(from_, numbers, "--from", label)
    if from_n == to_n:
        raise TrackerError(f"{label}: --from and --to are both version {to_n}: nothing to compare "
                           f"(stored: {', '.join(map(str, numbers))})")
    a, b = store.get_version(doc.service, doc.type, from_n), store.get_version(doc.service, doc.type, to_n)
    assert a is not None and b is not None  # both numbers are stored ones
    result = compare_versions(a.clauses, b.clauses, b.lang)
    labels = {"old_label": f"v{a.number} ({a.recorded_at})", "new_label": f"v{b.number} ({b.recorded_at})",
              "title": f"{doc.service} / {doc.type}: v{a.number} → v{b.number}",
              "old_text": shown_text(a), "new_text": shown_text(b)}
    return Pair(result, labels, heading=labels["title"])


@cli.command("diff")
@click.argument("service", required=False, shell_complete=complete_service)
@click.option("--files", nargs=2, metavar="OLD NEW", type=click.Path(dir_okay=True),
              help="Diff two local files (.html, .htm, .md, .txt; without extension: by content) instead of "
                   "stored versions.")
@click.option("--type", "type_", metavar="T",
              help="Document type (e.g. 'Privacy Policy'); default: every document of SERVICE.")
@click.option("--from", "from_", type=int, metavar="N",
              help="Old version number (default: the one before --to); -1 is the latest, -2 the one before, ...")
@click.option("--to", "to", type=int, metavar="M", help="New version number (default: the latest; negative as --from).")
@click.option("--format", "fmt", type=click.Choice(("text", "unified", "json", "html")), default="text",
              show_default=True,
              help="unified: a patch that applies to the text `show` prints for the old version, its tags on "
                   "# lines before the header.")
@click.option("--all", "show_all", is_flag=True, help="Also show insignificant changes (formatting, dates, moves).")
@click.option("--tag", "tag", metavar="TAG", help="Only changes carrying this tag (e.g. ai-training).")
@pass_config
def diff_cmd(cfg, service, files, type_, from_, to, fmt, show_all, tag) -> None:
    """Clause-level diff: what was added, removed, reworded or moved, with the words that changed.

    A service with several documents shows each document's latest change (--type for one).

    \b
    policy-tracker diff --files old.html new.html
    policy-tracker diff x --type "Privacy Policy" --from 3 --to 4 --format json
    policy-tracker diff x --type "Privacy Policy" --format unified | patch --dry-run old.txt
    """
    if files and service:
        raise TrackerError("give either SERVICE or --files OLD NEW, not both")
    if not files and not service:
        raise TrackerError("give a SERVICE (stored versions) or --files OLD NEW")
    from tracker.compare.tag import TAGS

    if tag is not None and tag not in TAGS:
        raise TrackerError(f"--tag {tag!r}: unknown tag (known: {', '.join(TAGS)})")
    pairs: list[Pair] = []
    if files:
        from tracker.check import compare_versions

        old, new = read_local(files[0]), read_local(files[1])
        pairs.append(Pair(compare_versions(old.clauses, new.clauses, new.lang or old.lang),
                          {"old_label": files[0], "new_label": files[1], "title": f"{files[0]} → {files[1]}",
                           "old_text": old.text + "\n", "new_text": new.text + "\n"}))
    else:
        if not cfg.db.exists():
            raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")
        with cfg.store(read_only=True) as store:
            docs = stored_documents(store, service, type_)
            several = len(docs) > 1
            if several and (from_ is not None or to is not None):
                raise TrackerError(f"{docs[0].service} has several documents; choose one with --type for "
                                   f"--from/--to ({', '.join(d.type for d in docs)})")
            for doc in docs:
                pair = _stored_pair(store, doc, from_, to, several)
                if pair is None:
                    click.echo(f"{doc.service} / {doc.type}: fewer than two versions stored, nothing to compare",
                               err=True)
                    continue
                pairs.append(pair)
            if several and not pairs:
                raise TrackerError(f"{docs[0].service}: no document has two versions to compare yet")
    for pair in pairs:
        if tag:
            kept = [k for k, c in enumerate(pair.result.changes) if tag in c.tags]
            where = {k: n for n, k in enumerate(kept)}  # events keep pointing at their clause change
            pair.result.changes = [pair.result.changes[k] for k in kept]
            pair.result.events = [e for e in pair.result.events if e.tag == tag]
            for e in pair.result.events:
                e.change = where.get(e.change) if e.change is not None else None
    _print(pairs, fmt, show_all)


def _print(pairs: list[Pair], fmt: str, show_all: bool) -> None:
    from tracker.publish.render import render, render_html_sections, render_json

    several = len(pairs) > 1
    if several and fmt == "json":
        items = [json.loads(render_json(p.result, show_all, title=p.labels["title"])) for p in pairs]
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if several and fmt == "html":
        click.echo(render_html_sections([{"result": p.result, **p.labels} for p in pairs], show_all,
                                        title=pairs[0].labels["title"].split(":")[0]), nl=False)
        return
    color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for n, pair in enumerate(pairs):
        out = render(pair.result, fmt, show_all=show_all, color=color, **pair.labels)
        if several and fmt == "text":
            click.echo(("\n" if n else "") + f"==> {pair.heading} <==")
        if color:
            from rich.console import Console

            Console(highlight=False, soft_wrap=True).print(out)
        else:
            click.echo(out)
