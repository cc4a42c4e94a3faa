"""HTML for changes: the fragments put in feed entries, the standalone change pages and the index.

Pure functions from records to strings. Every piece of text that came from a fetched page goes
through :func:`tracker.publish.sanitise.esc`; nothing is inserted as markup, so the HTML here can only
contain the tags written in this module (no script, no event handlers, no JavaScript needed).

Readers drop styling, so every changed clause carries a textual marker ("Added:", "Removed:",
"Changed:") and, in feeds, word edits also carry wdiff-style ``[-old-]{+new+}`` brackets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracker.models import Change, Evidence, Substitution, WordEdit
from tracker.publish.sanitise import esc, safe_url, truncate

TAG_LABELS = {
    "ai-training": "AI training",
    "biometrics": "Biometrics",
    "data-sharing": "Data sharing",
    "data-retention": "Data retention",
    "children": "Children",
    "location": "Location",
    "law-enforcement": "Law enforcement",
    "user-rights": "User rights",
    "tracking-advertising": "Tracking and advertising",
    "arbitration": "Arbitration",
}
PRIORITY_TAGS = ("ai-training", "biometrics")
KIND_MARKERS = {"added": "Added", "removed": "Removed", "modified": "Changed", "moved": "Moved"}


def tag_label(tag: str) -> str:
    return TAG_LABELS.get(tag, tag.replace("-", " ").capitalize())


# --------------------------------------------------------------------------- clause fragments


def _merge(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((max(0, s), min(length, e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def evidence_spans(change: Change) -> list[tuple[int, int]]:
    """Evidence offsets (into the side the tags were read from) of every tag of the change."""
    return [(ev.start, ev.end) for evs in change.evidence.values() for ev in evs]


def marked_html(text: str, spans: list[tuple[int, int]], limit: int) -> str:
    """Escaped ``text`` with ``spans`` wrapped in <mark><strong> (strong survives unstyled readers)."""
    shown, cut = truncate(text, limit)
    end = len(shown) - (2 if cut else 0)
    out, pos = [], 0
    for s, e in _merge(spans, end):
        out.append(esc(shown[pos:s]))
        out.append(f"<mark><strong>{esc(shown[s:e])}</strong></mark>")
        pos = e
    out.append(esc(shown[pos:]))
    return "".join(out)


def word_diff_html(change: Change, *, markers: bool, limit: int) -> str:
    """Inline word diff with <del>/<ins> (plus ``[-...-]``/``{+...+}`` when ``markers``), at most
    about ``limit`` characters of text."""
    edits = change.edits
    if not edits:  # a diff stage that gave no word edits: show both sides whole
        edits = [WordEdit("replace", change.old or "", change.new or "")]
    out: list[str] = []
    used = 0
    for ed in edits:
        if used >= limit:
            out.append(" …")
            break
        room = limit - used
        old, _ = truncate(ed.old, room)
        new, _ = truncate(ed.new, room)
        if ed.op == "equal":
            out.append(esc(new or old))
            used += len(new or old)
            continue
        if ed.op in ("delete", "replace") and old:
            out.append(f"<del>[-{esc(old)}-]</del>" if markers else f"<del>{esc(old)}</del>")
            used += len(old)
        if ed.op in ("insert", "replace") and new:
            out.append(f"<ins>{{+{esc(new)}+}}</ins>" if markers else f"<ins>{esc(new)}</ins>")
            used += len(new)
    return "".join(out)


def old_polarity(change: Change, tag: str) -> str | None:
    """The tag's polarity in the old text, as the tagger stored it with the diff (None when the diff
    was stored without it: the caller then says "flipped to ...")."""
    return change.old_polarity.get(tag)


def polarity_note(change: Change, tag: str) -> str:
    """"affirmed, added" / "flipped: negated → affirmed" for one tag of one clause."""
    parts = []
    direction = change.directions.get(tag)
    pol = change.polarity.get(tag)
    if direction == "flipped":
        old_pol = old_polarity(change, tag)
        parts.append(f"flipped: {old_pol} → {pol}" if old_pol and pol else f"flipped to {pol}" if pol else "flipped")
    else:
        if pol:
            parts.append(pol)
        if direction:
            parts.append(direction)
    return ", ".join(parts)


def evidence_snippet(text: str, evs: list[Evidence], context: int = 90, limit: int = 600) -> str:
    """The part of ``text`` around a tag's evidence, every matched span highlighted."""
    spans = _merge(((ev.start, ev.end) for ev in evs), len(text))
    if not spans:
        return esc(" … ".join(ev.text for ev in evs))
    a = max(0, spans[0][0] - context)
    b = min(len(text), spans[-1][1] + context, a + limit)
    out, pos = ["…" if a > 0 else ""], a
    for s, e in spans:
        if s >= b:
            break
        out.append(esc(text[pos:s]))
        out.append(f"<mark><strong>{esc(text[s:min(e, b)])}</strong></mark>")
        pos = min(e, b)
    out.append(esc(text[pos:b]) + ("…" if b < len(text) else ""))
    return "".join(out)


def tags_side(change: Change) -> str:
    """The clause text the tags and evidence offsets refer to."""
    if change.kind == "removed" or change.new is None:
        return change.old or ""
    return change.new or ""


def evidence_html(change: Change) -> str:
    """A list: tag in words, polarity/direction, and the clause with its evidence highlighted."""
    if not change.tags:
        return ""
    text = tags_side(change)
    items = []
    for tag in change.tags:
        note = polarity_note(change, tag)
        evs = change.evidence.get(tag) or []
        snippet = f"“{evidence_snippet(text, evs)}”" if evs else ""
        items.append(f"<li><strong>{esc(tag_label(tag))}</strong>"
                     f"{' (' + esc(note) + ')' if note else ''}{': ' + snippet if snippet else ''}</li>")
    return "<ul class=\"evidence\">" + "".join(items) + "</ul>"


def clause_html(change: Change, *, limit: int = 3000, markers: bool = True) -> str:
    """One changed clause for a feed entry: marker, section path, text or word diff, tags."""
    marker = KIND_MARKERS.get(change.kind, "Changed")
    section = f" <em>{esc(change.section)}</em>" if change.section else ""
    spans = evidence_spans(change)
    if change.kind == "added" or (change.old is None and change.new is not None):
        body = f"<ins>{marked_html(change.new or '', spans, limit)}</ins>"
    elif change.kind == "removed" or change.new is None:
        body = f"<del>{marked_html(change.old or '', spans, limit)}</del>"
    elif (change.old or "") == (change.new or ""):
        body = marked_html(change.new or "", spans, limit)
    else:
        body = word_diff_html(change, markers=markers, limit=limit)
    return (f"<p><strong>{marker}:</strong>{section}</p>\n<blockquote>{body}</blockquote>\n"
            f"{evidence_html(change)}")


# --------------------------------------------------------------------------- pages

CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 1.5rem;color:#1a1a1a}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem;margin:1.5rem 0 .3rem}
ins{background:#d7f5dd;text-decoration:none}del{background:#fbd9d9;color:#7a1f1f}
mark{background:#ffe58a}.meta{color:#555}.tag{display:inline-block;background:#eef;border-radius:3px;
padding:0 .4em;margin:0 .2em .2em 0;font-size:.9em}.tag.priority{background:#ffd6a5;font-weight:600}
.clause{border-top:1px solid #ddd;padding:.3rem 0 .8rem}.marker{font-weight:700}
table.sbs{width:100%;border-collapse:collapse;table-layout:fixed}table.sbs td,table.sbs th{vertical-align:top;
border:1px solid #ddd;padding:.4rem;width:50%;text-align:left;overflow-wrap:anywhere}
.inline{background:#fafafa;padding:.5rem;border-left:3px solid #ccc;overflow-wrap:anywhere}
table.list{border-collapse:collapse;width:100%}table.list td,table.list th{border-bottom:1px solid #eee;
padding:.3rem;text-align:left;vertical-align:top}nav a{margin-right:1rem}
""".strip()


@dataclass
class PageLink:
    """A link between pages (previous/next change, feeds); ``href`` is relative and built by us."""

    href: str
    text: str


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src 'self'\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _tag_chips(tags: Iterable[str]) -> str:
    return "".join(f"<span class=\"tag{' priority' if t in PRIORITY_TAGS else ''}\">{esc(tag_label(t))}</span>"
                   for t in tags)


def _link(link: PageLink | None, rel: str) -> str:
    if link is None:
        return f"<span class=\"meta\">no {rel} change</span>"
    return f"<a href=\"{esc(link.href)}\" rel=\"{rel}\">{esc(link.text)}</a>"


def edit_spans(change: Change) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(deleted spans in ``old``, inserted spans in ``new``) from the word edits, or ([], []) when
    the edits do not rebuild the texts exactly (then only the inline view shows the edits)."""
    dels, ins, i, j = [], [], 0, 0
    for ed in change.edits:
        if ed.op == "equal":
            i, j = i + len(ed.old or ed.new), j + len(ed.new or ed.old)
            continue
        if ed.old:
            dels.append((i, i + len(ed.old)))
            i += len(ed.old)
        if ed.new:
            ins.append((j, j + len(ed.new)))
            j += len(ed.new)
    if i != len(change.old or "") or j != len(change.new or ""):
        return [], []
    return dels, ins


def annotated_html(text: str, edit: str, edits: list[tuple[int, int]], marks: list[tuple[int, int]],
                   limit: int) -> str:
    """Escaped ``text`` with ``edits`` spans in <ins>/<del> (``edit``) and evidence in <mark>."""
    shown, cut = truncate(text, limit)
    end = len(shown) - (2 if cut else 0)
    edits, marks = _merge(edits, end), _merge(marks, end)
    points = sorted({0, end} | {p for s in edits + marks for p in s})
    out = []
    for s, e in zip(points, points[1:], strict=False):
        piece = esc(shown[s:e])
        if any(a <= s and e <= b for a, b in marks):
            piece = f"<mark><strong>{piece}</strong></mark>"
        if any(a <= s and e <= b for a, b in edits):
            piece = f"<{edit}>{piece}</{edit}>"
        out.append(piece)
    return "".join(out) + esc(shown[end:])


def clause_section_html(change: Change, number: int, limit: int = 20000) -> str:
    """A changed clause on the change page: marker, section path, inline and side-by-side views."""
    marker = KIND_MARKERS.get(change.kind, "Changed")
    spans = evidence_spans(change)
    on_old = change.kind == "removed" or change.new is None
    if change.kind == "added" or change.old is None:
        inline = f"<ins>{esc(truncate(change.new or '', limit)[0])}</ins>"
    elif on_old:
        inline = f"<del>{esc(truncate(change.old or '', limit)[0])}</del>"
    elif (change.old or "") == (change.new or ""):
        inline = esc(truncate(change.new or "", limit)[0])
    else:
        inline = word_diff_html(change, markers=False, limit=limit)
    dels, ins = edit_spans(change)
    if change.kind == "removed" and change.old:
        dels = [(0, len(change.old))]
    if change.kind == "added" and change.new:
        ins = [(0, len(change.new))]
    old_cell = ("<td class=\"meta\">(none)</td>" if change.old is None else
                f"<td>{annotated_html(change.old, 'del', dels, spans if on_old else [], limit)}</td>")
    new_cell = ("<td class=\"meta\">(none)</td>" if change.new is None else
                f"<td>{annotated_html(change.new, 'ins', ins, [] if on_old else spans, limit)}</td>")
    section = esc(change.section) or "(top of the document)"
    return (f"<div class=\"clause\" id=\"c{number}\">\n<h3><span class=\"marker\">{marker}:</span> {section}</h3>\n"
            f"<p>{_tag_chips(change.tags)}</p>\n"
            f"<div class=\"inline\">{inline}</div>\n"
            "<table class=\"sbs\"><tr><th>Before</th><th>After</th></tr>"
            f"<tr>{old_cell}{new_cell}</tr></table>\n{evidence_html(change)}</div>")


def change_page(*, service: str, document: str, url: str, from_version: int, to_version: int,
                detected_at: str, tags: list[str], changes: list[Change], substitutions: list[Substitution],
                insignificant: int, prev: PageLink | None, next: PageLink | None,
                feeds: list[PageLink], title: str) -> str:
    """The standalone page of one change."""
    source = safe_url(url)
    src = (f"<a href=\"{esc(source)}\" rel=\"nofollow noopener noreferrer\">{esc(source)}</a>" if source
           else f"<span class=\"meta\">{esc(url)}</span>")
    subs = ""
    if substitutions:
        items = "".join(f"<li>{esc(s.old)} → {esc(s.new)} ({s.count}×)</li>" for s in substitutions)
        subs = f"<h2>Renamed throughout</h2><ul>{items}</ul>"
    noise = (f"<p class=\"meta\">{insignificant} insignificant change(s) (whitespace, dates, links) not shown.</p>"
             if insignificant else "")
    clauses = "\n".join(clause_section_html(c, i + 1) for i, c in enumerate(changes))
    feed_links = " ".join(f"<a href=\"{esc(f.href)}\">{esc(f.text)}</a>" for f in feeds)
    body = (f"<nav><a href=\"../index.html\">All changes</a>{_link(prev, 'prev')} {_link(next, 'next')}</nav>\n"
            f"<h1>{esc(title)}</h1>\n"
            f"<p class=\"meta\">{esc(service)} · {esc(document)} · version {from_version} → {to_version} · "
            f"detected <time datetime=\"{esc(detected_at)}\">{esc(detected_at)}</time></p>\n"
            f"<p>Source: {src}</p>\n<p>{_tag_chips(tags)}</p>\n"
            f"<h2>{len(changes)} changed clause{'s' if len(changes) != 1 else ''}</h2>\n{clauses}\n{subs}{noise}\n"
            f"<p class=\"meta\">Feeds: {feed_links}</p>")
    return _page(title, body)


@dataclass
class IndexRow:
    href: str
    title: str
    detected_at: str
    tags: list[str]


def index_page(*, rows: list[IndexRow], feeds: list[PageLink], broken: list[str]) -> str:
    """Latest changes and links to every feed."""
    trs = "\n".join(f"<tr><td><time datetime=\"{esc(r.detected_at)}\">{esc(r.detected_at[:10])}</time></td>"
                    f"<td><a href=\"{esc(r.href)}\">{esc(r.title)}</a></td><td>{_tag_chips(r.tags)}</td></tr>"
                    for r in rows)
    table = (f"<table class=\"list\"><tr><th>Detected</th><th>Change</th><th>Tags</th></tr>\n{trs}</table>"
             if rows else "<p>No changes recorded yet.</p>")
    feed_items = "".join(f"<li><a href=\"{esc(f.href)}\">{esc(f.text)}</a></li>" for f in feeds)
    failing = ""
    if broken:
        failing = "<h2>Checks failing</h2><ul>" + "".join(f"<li>{esc(b)}</li>" for b in broken) + "</ul>"
    body = (f"<h1>Policy changes</h1>\n<h2>Latest changes</h2>\n{table}\n{failing}\n"
            f"<h2>Feeds</h2>\n<ul>{feed_items}</ul>")
    return _page("Policy changes", body)
