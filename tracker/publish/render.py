"""Renderings of a DiffResult for the terminal and files: text (rich colours or [-x-]{+y+} markers),
unified, json, and a standalone side-by-side html page. Feed entries and change pages have their own
HTML in ``tracker.publish.pages`` (with evidence highlighting and length limits for readers).
"""

from __future__ import annotations

import difflib
import json
import re
from html import escape

from tracker.models import Change, DiffResult, TagEvent, WordEdit

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


def _head(c: Change, with_tags: bool = True) -> str:
    parts = [_LABEL.get(c.kind, c.kind)]
    if c.section:
        parts.append(c.section)
    head = " · ".join(parts)
    if not c.significant:
        head += f"  (insignificant: {c.reason or 'cosmetic'})"
    if c.tags and with_tags:
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


def event_line(e: TagEvent, result: DiffResult | None = None) -> str:
    """One priority-tag event in plain words with its key sentence, as feeds and pages say it:
    ``AI training added (may train): “…”``, ``AI training now only with consent (was: may train): “…”``."""
    from tracker.publish.headline import event_phrase, event_sentence

    sentence = event_sentence(e, result or DiffResult(), old=e.kind == "removed")
    line = f"{event_phrase(e)}: “{sentence}”" if sentence else event_phrase(e)
    if e.old_sentence and e.kind != "removed":
        line += f" (was: “{event_sentence(e, result or DiffResult(), old=True)}”)"
    return line


def render_text(result: DiffResult, show_all: bool = False, color: bool = False) -> str:
    """Text for a terminal (color=True: rich markup) or a pipe ([-x-]{+y+} markers). The priority
    tags' events come first: they are what the change means for a reader."""
    changes = selected(result, show_all)
    lines: list[str] = []
    from tracker.publish.headline import events_of

    for e in events_of(result):
        if color:
            from rich.markup import escape as rx

            lines.append(f"[bold magenta]ALERT[/] {rx(event_line(e, result))}")
        else:
            lines.append(f"ALERT {event_line(e, result)}")
    if result.events:
        lines.append("")
    if result.note:  # what the comparison was, when not a plain one ("doubled page: ...")
        note = result.note
        if color:
            from rich.markup import escape as rx

            note = rx(note)
        lines += [f"Note: {note}", ""]
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
                for w in _edits(c):
                    if w.op == "equal":
                        buf.append(rx(w.new))
                        continue
                    if w.old:
                        buf.append(f"[red strike]{rx(w.old)}[/]")
                    if w.new:
                        buf.append(f"[bold green underline]{rx(w.new)}[/]")
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


_LINE_MARK = re.compile(r"^(#{1,6} |- )")


def _core(line: str) -> str:
    """A line of a version's text without its Markdown-like marker (heading #, list item -)."""
    return _LINE_MARK.sub("", line.strip(), count=1)


def _hunk_range(start: int, length: int) -> str:
    """``start`` (0-based) and length as a unified diff range: an empty range names the line before."""
    first = start + 1
    if length == 1:
        return str(first)
    if not length:
        first -= 1
    return f"{first},{length}"


def render_unified(result: DiffResult, show_all: bool = False, old_name: str = "old", new_name: str = "new",
                   old_text: str | None = None, new_text: str | None = None, context: int = 3) -> str:
    """A real unified diff (``patch`` applies it) of the two texts, as ``show`` prints them.

    Only the hunks that touch a selected change are kept (significant ones, or every one with
    ``show_all``): applied to the old text, the patch makes the new text less what was left out (a
    changed date, say). The changes, with their tags, are listed first as ``#`` lines, before the
    ``---`` header, where ``patch`` ignores them; a hunk also names its tags after its ``@@``.
    """
    changes = selected(result, show_all)
    if old_text is None or new_text is None:  # no texts: the clauses themselves, one a line
        old_text = "".join(c.old + "\n" for c in changes if c.old is not None)
        new_text = "".join(c.new + "\n" for c in changes if c.new is not None)
    a = old_text.splitlines(keepends=True)
    b = new_text.splitlines(keepends=True)
    olds = {" ".join(c.old.split()): c for c in changes if c.old}
    news = {" ".join(c.new.split()): c for c in changes if c.new}

    def touched(line: str, side: dict) -> Change | None:
        core = " ".join(_core(line).split())
        if not core:
            return None
        if core in side:
            return side[core]
        return next((c for text, c in side.items() if core in text), None)

    out = ["# ALERT " + " ".join(event_line(e, result).splitlines()) for e in result.events]
    if changes:
        st = result.stats
        out.append(f"# {st['significant']} significant change(s): {st['added']} added, {st['removed']} removed, "
                   f"{st['modified']} modified, {st['moved']} moved; {st['insignificant']} insignificant")
        out += ["# " + _head(c) for c in changes]
    out += [f"--- {old_name}", f"+++ {new_name}"]
    shift = 0  # lines added minus removed by the hunks kept so far
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        hit: list[Change] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                continue
            hit += [c for c in (touched(line, olds) for line in a[i1:i2]) if c]
            hit += [c for c in (touched(line, news) for line in b[j1:j2]) if c]
        if not hit:
            continue
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        tags = sorted({t for c in hit for t in c.tags})
        label = f" [{', '.join(tags)}]" if tags else ""
        out.append(f"@@ -{_hunk_range(i1, i2 - i1)} +{_hunk_range(i1 + shift, j2 - j1)} @@{label}")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                out += [" " + line.rstrip("\n") for line in a[x1:x2]]
                continue
            out += ["-" + line.rstrip("\n") for line in a[x1:x2]]
            out += ["+" + line.rstrip("\n") for line in b[y1:y2]]
        shift += (j2 - j1) - (i2 - i1)
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


def _html_rows(result: DiffResult, show_all: bool) -> str:
    rows = []
    for c in selected(result, show_all):
        cls = "" if c.significant else " class=insig"
        tags = f" <span class=tags>[{escape(', '.join(c.tags))}]</span>" if c.tags else ""
        rows.append(f"<tr class=sec><td colspan=2>{escape(_head(c, with_tags=False))}{tags}</td></tr>")
        rows.append(f"<tr{cls}><td>{_side_html(c, 'old')}</td><td>{_side_html(c, 'new')}</td></tr>")
    return "".join(rows)


def _html_section(result: DiffResult, show_all: bool, old_label: str, new_label: str) -> str:
    subs = "".join(f"<li>{escape(s.old)} → {escape(s.new)} ({s.count}×)</li>" for s in result.substitutions)
    st = result.stats
    summary = (f"{st['significant']} significant change(s): {st['added']} added, {st['removed']} removed, "
               f"{st['modified']} modified, {st['moved']} moved")
    alerts = "".join(f"<li>{escape(event_line(e, result))}</li>" for e in result.events)
    return (f"<p>{escape(summary)}</p>"
            + (f"<p>Alerts:</p><ul class=alerts>{alerts}</ul>" if alerts else "")
            + (f"<p>Systematic substitutions:</p><ul>{subs}</ul>" if subs else "")
            + f"<table><tr><th>{escape(old_label)}</th><th>{escape(new_label)}</th></tr>"
            f"{_html_rows(result, show_all)}</table>")


def _html_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>\n")


def render_html(result: DiffResult, show_all: bool = False, title: str = "Policy diff",
                old_label: str = "Before", new_label: str = "After") -> str:
    """A standalone page with a side-by-side view; everything from the documents is escaped."""
    return _html_page(title, _html_section(result, show_all, old_label, new_label))


def render_html_sections(sections: list[dict], show_all: bool = False, title: str = "Policy diff") -> str:
    """One page for several documents' diffs: ``sections`` of ``result``, ``title``, ``old_label``,
    ``new_label`` (a service with several documents)."""
    body = "".join(f"<h2>{escape(sec['title'])}</h2>"
                   + _html_section(sec["result"], show_all, sec.get("old_label", "Before"),
                                   sec.get("new_label", "After")) for sec in sections)
    return _html_page(title, body)


def render(result: DiffResult, fmt: str, show_all: bool = False, color: bool = False, **labels: str) -> str:
    if fmt == "text":
        return render_text(result, show_all, color)
    if fmt == "unified":
        return render_unified(result, show_all, labels.get("old_label", "old"), labels.get("new_label", "new"),
                              labels.get("old_text"), labels.get("new_text"))
    if fmt == "json":
        return render_json(result, show_all)
    if fmt == "html":
        return render_html(result, show_all, labels.get("title", "Policy diff"),
                           labels.get("old_label", "Before"), labels.get("new_label", "After"))
    raise ValueError(f"unknown format {fmt!r}")
