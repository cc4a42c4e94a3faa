"""Markdown (Open Terms Archive versions) -> clauses, the same structure the HTML walker gives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.models import Clause, Extracted
from tracker.text.clauses import PSEUDO_HEADING_LEVEL, Sections, looks_like_heading, make_clause, squash
from tracker.text.html import extract_html

if TYPE_CHECKING:
    from markdown_it.token import Token


def extract_markdown(text: str) -> Extracted:
    """Markdown -> clauses; link targets and emphasis leave the text."""
    from markdown_it import MarkdownIt  # not needed by a check of HTML pages, the usual case

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    tokens = md.parse(text)
    sections = Sections()
    clauses: list[Clause] = []
    blocks: list[str] = []
    lists: list[str] = []
    row: list[str] = []
    title = None

    def add(t: str, kind: str, bold_only: bool = False, level: int = 0) -> None:
        nonlocal title
        if kind == "paragraph" and looks_like_heading(t, bold_only):
            kind, level = "heading", PSEUDO_HEADING_LEVEL
        if kind == "heading":
            t = squash(t)
            if not t:
                return
            if title is None and level == 1:
                title = t
            c = make_clause(t, sections.push(level, t), "heading")
        else:
            ctx = lists[-1] if kind == "list-item" and lists else ""
            c = make_clause(t, sections.path, kind, ctx)
        if c is not None:
            clauses.append(c)

    def owner() -> str:
        for b in reversed(blocks):
            if b in ("list_item", "blockquote"):
                return "list-item" if b == "list_item" else "quote"
        return "paragraph"

    for i, tok in enumerate(tokens):
        t = tok.type
        if t.endswith("_open") and t not in ("tr_open", "th_open", "td_open", "thead_open",
                                              "tbody_open", "table_open", "paragraph_open"):
            if t in ("bullet_list_open", "ordered_list_open"):
                last = clauses[-1] if clauses else None
                lists.append(last.text if last is not None and last.kind != "heading" else "")
            blocks.append(t[:-5])
        elif t.endswith("_close") and t not in ("tr_close", "th_close", "td_close", "thead_close",
                                                 "tbody_close", "table_close", "paragraph_close"):
            if t in ("bullet_list_close", "ordered_list_close") and lists:
                lists.pop()
            if blocks:
                blocks.pop()
        elif t == "tr_open":
            row = []
        elif t == "tr_close":
            add(" | ".join(c for c in row if c), "table-row")
            row = []
        elif t == "inline":
            plain, bold_only = _inline(tok)
            prev = tokens[i - 1].type if i else ""
            if prev == "heading_open":
                add(plain, "heading", level=int(tokens[i - 1].tag[1:]))
            elif prev in ("th_open", "td_open"):
                row.append(squash(plain))
            else:
                add(plain, owner(), bold_only)
        elif t in ("fence", "code_block"):
            for line in tok.content.split("\n\n"):
                add(line, "paragraph")
        elif t == "html_block":
            for c in extract_html(tok.content).clauses:
                add(c.text, c.kind if c.kind != "heading" else "paragraph")
    return Extracted(clauses=clauses, title=title)


def _inline(tok: Token) -> tuple[str, bool]:
    """Inline Markdown token -> (plain text, whether all of it is bold)."""
    out: list[str] = []
    bold = 0
    bold_chars = plain_chars = 0
    for ch in tok.children or ():
        ct = ch.type
        if ct in ("text", "code_inline"):
            s = ch.content
        elif ct in ("softbreak", "hardbreak"):
            s = " "
        elif ct == "strong_open":
            bold += 1
            continue
        elif ct == "strong_close":
            bold -= 1
            continue
        elif ct == "image":
            s = "".join(c.content for c in ch.children or ())
        elif ct == "html_inline":
            s = " " if ch.content.lower().startswith("<br") else ""
        else:
            continue
        out.append(s)
        n = len(s.strip())
        if bold:
            bold_chars += n
        else:
            plain_chars += n
    return "".join(out), bold_chars > 0 and plain_chars == 0
