"""Plain text -> clauses, and local files or bytes of any supported format (html, md, txt) -> clauses."""

from __future__ import annotations

import re
from pathlib import Path

from tracker.errors import TrackerError
from tracker.models import Clause, Extracted
from tracker.text.clauses import Sections, make_clause
from tracker.text.html import extract_html
from tracker.text.markdown import extract_markdown

_BULLET = re.compile(r"^\s*(?:[-*•·‣◦▪]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+", re.I)


def _text_heading(block: str) -> int:
    """A one-line block that reads as a title: ALL CAPS, or '3. Title' without a final period."""
    if "\n" in block or len(block) > 100 or block.rstrip().endswith((".", ":", ";", ",")):
        return 0
    letters = [c for c in block if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 2:
        return 2
    m = re.match(r"^\s*(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S", block)
    if m and len(block.split()) <= 12:
        return 2 + m.group(1).count(".")
    return 0


def extract_text(text: str) -> Extracted:
    """Plain text -> clauses: blank-line blocks, bullet lines as list items, title lines as headings."""
    sections = Sections()
    clauses: list[Clause] = []
    context = ""
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        block = block.strip("\n")
        if not block.strip():
            continue
        level = _text_heading(block.strip())
        if level:
            t = block.strip()
            c = make_clause(t, sections.push(level, t), "heading")
            if c:
                clauses.append(c)
            continue
        lines = block.split("\n")
        if any(_BULLET.match(li) for li in lines):
            items: list[str] = []
            lead: list[str] = []
            for li in lines:
                if _BULLET.match(li):
                    items.append(_BULLET.sub("", li, count=1))
                elif items:
                    items[-1] += " " + li.strip()
                else:
                    lead.append(li.strip())
            if lead:
                c = make_clause(" ".join(lead), sections.path, "paragraph")
                if c:
                    clauses.append(c)
                    context = c.text
            for it in items:
                c = make_clause(it, sections.path, "list-item", context)
                if c:
                    clauses.append(c)
            continue
        c = make_clause(" ".join(li.strip() for li in lines), sections.path, "paragraph")
        if c:
            clauses.append(c)
            context = c.text
    return Extracted(clauses=clauses)


# --------------------------------------------------------------------------- files and bytes

_BY_SUFFIX = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "md", ".markdown": "md", ".txt": "txt"}


def extract_file(path: str | Path) -> Extracted:
    """A local file by suffix (.html/.htm/.md/.txt); anything else is a TrackerError, one line."""
    p = Path(path)
    fmt = _BY_SUFFIX.get(p.suffix.lower())
    if fmt is None:
        raise TrackerError(f"{p}: unknown file type {p.suffix or '(none)'!r} (expected .html, .htm, .md or .txt)")
    try:
        data = p.read_bytes()
    except FileNotFoundError as e:
        raise TrackerError(f"{p}: no such file") from e
    except IsADirectoryError as e:
        raise TrackerError(f"{p}: is a directory, not a file") from e
    except OSError as e:
        raise TrackerError(f"{p}: cannot read ({e.strerror or e})") from e
    return extract_bytes(data, fmt)


def extract_bytes(data: bytes | str, fmt: str) -> Extracted:
    """Dispatch on a format name: html | md | txt."""
    if fmt == "html":
        return extract_html(data)
    text = data if isinstance(data, str) else _decode(data)
    if fmt == "md":
        return extract_markdown(text)
    if fmt == "txt":
        return extract_text(text)
    raise TrackerError(f"unknown format {fmt!r} (expected html, md or txt)")


def _decode(data: bytes) -> str:
    """Bytes of a local file: UTF-8 (with or without BOM), else windows-1252, else latin-1."""
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
