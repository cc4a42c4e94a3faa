"""Renderings of a DiffResult for the terminal and files: text (rich colours or [-x-]{+y+} markers),
unified, json, and a standalone side-by-side html page. Feed entries and change pages have their own
HTML in ``tracker.publish.pages`` (with evidence highlighting and length limits for readers).
"""

from __future__ import annotations

import json
from html import escape

from tracker.models import Change, DiffResult, WordEdit

FORMATS = ("text", "unified", "json", "html")
_LABEL = {"added": "Added", "removed": "Removed", "modified": "Changed", "moved": "Moved"}


def _edits(c: Change) -> list[WordEdit]:
    if c.edits:
        return c.edits
    if c.old is not None and c.new is not None and c.old != c.new:
        from tracker.compare.diff import word_edits  # stored changes carry their edits: rarely needed

        return word_edits(c.old, c.new)
    return [WordEdit("equal", c.old or c.new or "", c.new or c.old or "")]


def selected(result: DiffResult, show_all: bool = False) -> list[Change]:
    return list(result.changes) if show_all else result.significant


def _head(c: Change) -> str:
    parts = [_LABEL.get(c.kind, c.kind)]
    if c.section:
        parts.append(c.section)
    head = " · ".join(parts)
    if not c.significant:
        head += f"  (insignificant: {c.reason or 'cosmetic'})"
    if c.tags:
        head += "  [" + ", ".join(c.tags) + "]"
    return head


def inline_markers(c: Change) -> str:
    """Plain-text inline diff: [-removed-]{+added+}."""
    if c.kind == "added":
        return "{+" + (c.new or "") + "+}"
    if c.kind == "removed":
        return "[-" + (c.old or "") + "-]"
    out = []
    for e in _edits(c):
        if e.op == "equal":
            out.append(e.new)
            continue
        if e.old:
            out.append("[-" + e.old + "-]")
        if e.new:
            out.append("{+" + e.new + "+}")
    return "".join(out)


def render_text(result: DiffResult, show_all: bool = False, color: bool = False) -> str:
    """Text for a terminal (color=True: rich markup) or a pipe ([-x-]{+y+} markers)."""
    changes = selected(result, show_all)
    lines: list[str] = []
    for s in result.substitutions:
        lines.append(f"Substitution: {s.old!r} -> {s.new!r} ({s.count} times, reported once)")
    if result.substitutions:
        lines.append("")
    if color:
        from rich.markup import escape as rx

        for c in changes:
            style = {"added": "green", "removed": "red", "modified": "yellow", "moved": "cyan"}[c.kind]
            lines.append(f"[bold {style}]{rx(_head(c))}[/]")
            if c.kind == "added":
                lines.append(f"  [green]{rx(c.new or '')}[/]")
            elif c.kind == "removed":
                lines.append(f"  [red strike]{rx(c.old or '')}[/]")
            else:
                buf = []
                for e in _edits(c):
                    if e.op == "equal":
                        buf.append(rx(e.new))
                        continue
                    if e.old:
                        buf.append(f"[red strike]{rx(e.old)}[/]")
                    if e.new:
                        buf.append(f"[bold green underline]{rx(e.new)}[/]")
                lines.append("  " + "".join(buf))
            lines.append("")
    else:
        for c in changes:
            lines.append(_head(c))
            lines.append("  " + inline_markers(c))
            lines.append("")
    st = result.stats
    lines.append(f"{st['significant']} significant change(s): {st['added']} added, {st['removed']} removed, "
                 f"{st['modified']} modified, {st['moved']} moved; {st['insignificant']} insignificant")
    return "\n".join(lines)


def render_unified(result: DiffResult, show_all: bool = False, old_name: str = "old",
                   new_name: str = "new") -> str:
    """A unified-diff-like listing, one hunk per changed clause, headed by its section."""
    out = [f"--- {old_name}", f"+++ {new_name}"]
    for c in selected(result, show_all):
        o = c.old_index + 1 if c.old_index is not None else 0
        n = c.new_index + 1 if c.new_index is not None else 0
        out.append(f"@@ -{o} +{n} @@ {c.kind}{'' if c.significant else ' (insignificant)'} {c.section}".rstrip())
        if c.old is not None:
            out.append("-" + c.old)
        if c.new is not None:
            out.append("+" + c.new)
    return "\n".join(out)


def render_json(result: DiffResult, show_all: bool = False, **extra: object) -> str:
    d = result.to_dict()
    d["changes"] = [c.to_dict() for c in selected(result, show_all)]
    d.update(extra)
    return json.dumps(d, ensure_ascii=False, indent=2)


def _side_html(c: Change, side: str) -> str:
    if side == "old":
        if c.old is None:
            return ""
        if c.new is None:
            return f"<del>{escape(c.old)}</del>"
        return "".join(escape(e.old) if e.op == "equal" else f"<del>{escape(e.old)}</del>" for e in _edits(c))
    if c.new is None:
        return ""
    if c.old is None:
        return f"<ins>{escape(c.new)}</ins>"
    return "".join(escape(e.new) if e.op == "equal" else f"<ins>{escape(e.new)}</ins>" for e in _edits(c))


_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}
td,th{vertical-align:top;border-top:1px solid #ddd;padding:.5em;width:50%}th{text-align:left}
.sec{background:#f4f4f4;font-size:.85em;color:#555}del{background:#fdd;color:#900}ins{background:#dfd;color:#060;
text-decoration:none}.insig{opacity:.6}.tags{font-size:.8em;color:#805}"""


def render_html(result: DiffResult, show_all: bool = False, title: str = "Policy diff",
                old_label: str = "Before", new_label: str = "After") -> str:
    """A standalone page with a side-by-side view; everything from the documents is escaped."""
    rows = []
    for c in selected(result, show_all):
        cls = "" if c.significant else " class=insig"
        tags = f" <span class=tags>[{escape(', '.join(c.tags))}]</span>" if c.tags else ""
        rows.append(f"<tr class=sec><td colspan=2>{escape(_head(c))}{tags}</td></tr>")
        rows.append(f"<tr{cls}><td>{_side_html(c, 'old')}</td><td>{_side_html(c, 'new')}</td></tr>")
    subs = "".join(f"<li>{escape(s.old)} → {escape(s.new)} ({s.count}×)</li>" for s in result.substitutions)
    st = result.stats
    summary = (f"{st['significant']} significant change(s): {st['added']} added, {st['removed']} removed, "
               f"{st['modified']} modified, {st['moved']} moved")
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1><p>{escape(summary)}</p>"
            + (f"<p>Systematic substitutions:</p><ul>{subs}</ul>" if subs else "")
            + f"<table><tr><th>{escape(old_label)}</th><th>{escape(new_label)}</th></tr>{''.join(rows)}</table>"
            "</body></html>\n")


def render(result: DiffResult, fmt: str, show_all: bool = False, color: bool = False, **labels: str) -> str:
    if fmt == "text":
        return render_text(result, show_all, color)
    if fmt == "unified":
        return render_unified(result, show_all, labels.get("old_label", "old"), labels.get("new_label", "new"))
    if fmt == "json":
        return render_json(result, show_all)
    if fmt == "html":
        return render_html(result, show_all, labels.get("title", "Policy diff"),
                           labels.get("old_label", "Before"), labels.get("new_label", "After"))
    raise ValueError(f"unknown format {fmt!r}")
