"""The HTML pages of the feeds folder: one page per change and the index.

A change page reads in order of importance, for a phone's first screen as much as a desktop's: the
title (the news), one summary line (counts and the renamings "Twitter → X"), then the priority-tag
events (sentence, stance, evidence, section path), then the other tagged clauses, then everything
else folded in ``<details>``. Each clause is shown once; its side-by-side view opens on demand.

Pure functions from records to strings; every string from a fetched page goes through
``sanitise.esc``, the pages need no JavaScript, and a Content-Security-Policy forbids any.
Links between pages are relative, so the folder works from disk and from any web server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tracker.models import Change, DiffResult
from tracker.publish.display import clean_change
from tracker.publish.headline import PRIORITY_TAGS, counts_line, order, renamings_line, sort_tags, tag_label
from tracker.publish.pages import KIND_MARKERS, event_html, evidence_spans, inline_html, polarity_note
from tracker.publish.sanitise import esc, safe_url, truncate

CSS = """
:root{color-scheme:light dark;--fg:#1a1a1a;--bg:#fff;--muted:#555;--line:#ddd;--ins:#d7f5dd;--del:#fbd9d9;
--delfg:#7a1f1f;--mark:#ffe58a;--chip:#eef;--prio:#ffd6a5;--card:#fff8ec;--quote:#fafafa}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#16181c;--muted:#a8a8a8;--line:#3a3d44;
--ins:#1f4d2b;--del:#5a2323;--delfg:#ffc9c9;--mark:#6b5a12;--chip:#2a2f45;--prio:#6b4516;--card:#2a2418;
--quote:#1e2126}a{color:#8ab4ff}a:visited{color:#c6a4ff}}
body{font:16px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:.6rem 1rem;color:var(--fg);
background:var(--bg)}
h1{font-size:1.35rem;line-height:1.3;margin:.4rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .4rem}
h3{font-size:1rem;margin:.8rem 0 .2rem}
ins{background:var(--ins);text-decoration:none}del{background:var(--del);color:var(--delfg)}
mark{background:var(--mark);color:inherit}.meta{color:var(--muted);margin:.2rem 0}
.tag{display:inline-block;background:var(--chip);border-radius:3px;padding:0 .4em;margin:0 .2em .2em 0;
font-size:.9em}.tag.priority{background:var(--prio);font-weight:600}
.event{background:var(--card);border-left:4px solid #e67e22;padding:.2rem .8rem .5rem;margin:.6rem 0}
.event blockquote{margin:.3rem 0 .3rem .2rem;font-size:1.05em}
.clause{border-top:1px solid var(--line);padding:.3rem 0 .6rem}.marker{font-weight:700}
.inline{background:var(--quote);padding:.5rem;border-left:3px solid var(--line);overflow-wrap:anywhere}
blockquote{margin:.3rem 0;overflow-wrap:anywhere}
table.sbs{width:100%;border-collapse:collapse;table-layout:fixed}table.sbs td,table.sbs th{vertical-align:top;
border:1px solid var(--line);padding:.4rem;width:50%;text-align:left;overflow-wrap:anywhere}
details{margin:.3rem 0}summary{cursor:pointer;color:var(--muted)}
table.list{border-collapse:collapse;width:100%}table.list td,table.list th{border-bottom:1px solid var(--line);
padding:.3rem;text-align:left;vertical-align:top}td.date{white-space:nowrap;width:6.5em}
nav a{margin-right:1rem}.feeds td{padding:.15rem .6rem .15rem 0}
@media (max-width:600px){body{padding:.4rem .6rem}table.sbs,table.sbs tbody,table.sbs tr,table.sbs td,
table.sbs th{display:block;width:auto}table.list .tags,table.list tr:first-child{display:none}
table.list tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}table.list td{display:block;
border:0;padding:0;width:auto}td.date{color:var(--muted);font-size:.9em}h1{font-size:1.2rem}}
@media print{nav,.feeds-nav{display:none}body{max-width:none;color:#000;background:#fff}
details>summary{display:none}.event{break-inside:avoid}a{color:inherit}}
""".strip()


@dataclass
class PageLink:
    """A link between pages (previous/next change, feeds); ``href`` is relative and built by us."""

    href: str
    text: str


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src 'self'\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def tag_chips(tags: Iterable[str], change: Change | None = None) -> str:
    out = []
    for t in sort_tags(list(tags)):
        note = polarity_note(change, t) if change is not None else ""
        out.append(f"<span class=\"tag{' priority' if t in PRIORITY_TAGS else ''}\">{esc(tag_label(t))}"
                   f"{' · ' + esc(note) if note else ''}</span>")
    return "".join(out)


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


def _merge(spans: list[tuple[int, int]], end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((max(0, s), min(end, e)) for s, e in spans):
        if e > s:
            if out and s <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
    return out


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


def side_by_side(change: Change, limit: int = 20000) -> str:
    """Before and after in two columns (one above the other on a phone)."""
    spans = evidence_spans(change)
    on_old = change.kind == "removed" or change.new is None
    dels, ins = edit_spans(change)
    if change.kind == "removed" and change.old:
        dels = [(0, len(change.old))]
    if change.kind == "added" and change.new:
        ins = [(0, len(change.new))]
    old_cell = ("<td class=\"meta\">(none)</td>" if change.old is None else
                f"<td>{annotated_html(change.old, 'del', dels, spans if on_old else [], limit)}</td>")
    new_cell = ("<td class=\"meta\">(none)</td>" if change.new is None else
                f"<td>{annotated_html(change.new, 'ins', ins, [] if on_old else spans, limit)}</td>")
    return (f"<table class=\"sbs\"><tr><th>Before</th><th>After</th></tr><tr>{old_cell}{new_cell}</tr></table>")


def clause_section_html(change: Change, number: int, limit: int = 20000) -> str:
    """A changed clause on the change page, shown once: marker, section path, tags, the inline view
    with evidence marked, and the side-by-side view on demand."""
    change = clean_change(change)
    marker = KIND_MARKERS.get(change.kind, "Changed")
    section = esc(change.section) or "(top of the document)"
    chips = f"<p>{tag_chips(change.tags, change)}</p>\n" if change.tags else ""
    sbs = ("" if change.kind in ("added", "removed") or change.old is None or change.new is None else
           f"<details><summary>Side by side</summary>{side_by_side(change, limit)}</details>\n")
    return (f"<div class=\"clause\" id=\"c{number}\">\n<h3><span class=\"marker\">{marker}:</span> {section}</h3>\n"
            f"{chips}<div class=\"inline\">{inline_html(change, limit=limit, markers=False)}</div>\n{sbs}</div>")


def change_body(diff: DiffResult) -> str:
    """The changes of one change page, most important first, each clause once."""
    o = order(diff)
    parts = []
    if o.events:
        parts.append("<h2>What changed about AI training and biometrics</h2>")
        for n, (ev, idx) in enumerate(o.events, 1):
            whole = ""
            if idx is not None:
                c = clean_change(diff.changes[idx])
                sbs = ("" if c.old is None or c.new is None else
                       f"<details><summary>Side by side</summary>{side_by_side(c)}</details>")
                whole = (f"<details><summary>The whole clause{', before and after' if sbs else ''}</summary>"
                         f"<div class=\"inline\">{inline_html(c, limit=20000, markers=False)}</div>{sbs}</details>")
            parts.append(f"<section class=\"event\" id=\"e{n}\">{event_html(ev, diff, page=True)}{whole}</section>")
    if o.tagged:
        parts.append(f"<h2>Other tagged changes ({len(o.tagged)})</h2>")
        parts += [clause_section_html(diff.changes[i], i + 1) for i in o.tagged]
    if o.other:
        head = "Other changes" if (o.events or o.tagged) else "Changes"
        renamed = f", {o.renamed} of them only the renaming" if o.renamed else ""
        rest = "\n".join(clause_section_html(diff.changes[i], i + 1) for i in o.other)
        if o.events or o.tagged:
            parts.append(f"<details class=\"rest\"><summary>{head} ({len(o.other)}{renamed})</summary>\n{rest}</details>")
        else:
            parts.append(f"<h2>{head} ({len(o.other)}{renamed})</h2>\n{rest}")
    return "\n".join(parts)


def change_page(*, service: str, document: str, url: str, from_version: int, to_version: int,
                detected_at: str, tags: list[str], diff: DiffResult, prev: PageLink | None,
                next: PageLink | None, feeds: list[PageLink], title: str, source_label: str = "") -> str:
    """The standalone page of one change."""
    source = safe_url(url)
    src = (f"<a href=\"{esc(source)}\" rel=\"nofollow noopener noreferrer\">{esc(source_label or source)}</a>"
           if source else f"<span class=\"meta\">{esc(source_label or url)}</span>")
    insignificant = len(diff.changes) - len(diff.significant)
    summary = counts_line(diff) + "."
    renamed = renamings_line(diff.substitutions)
    note = f" {diff.note}." if diff.note else ""
    noise = (f"<p class=\"meta\">{insignificant} insignificant change{'s' if insignificant != 1 else ''} "
             "(whitespace, dates, links) not shown.</p>" if insignificant else "")
    feed_links = " ".join(f"<a href=\"{esc(f.href)}\">{esc(f.text)}</a>" for f in feeds)
    body = (f"<nav><a href=\"../index.html\">All changes</a>{_link(prev, 'prev')} {_link(next, 'next')}</nav>\n"
            f"<h1>{esc(title)}</h1>\n"
            f"<p class=\"meta\">{esc(service)} · {esc(document)} · version {from_version} → {to_version} · "
            f"detected <time datetime=\"{esc(detected_at)}\">{esc(detected_at[:10])}</time> · source: {src}</p>\n"
            f"<p><strong>{esc(summary)}</strong>{esc(note)} {esc(renamed + '.' if renamed else '')} {tag_chips(tags)}</p>\n"
            f"{change_body(diff)}\n{noise}\n"
            f"<p class=\"meta feeds-nav\">Feeds: {feed_links}</p>")
    return page(title, body)


@dataclass
class IndexRow:
    href: str
    title: str
    detected_at: str
    tags: list[str]
    priority: bool = False  # the change carries an AI-training or biometrics event


@dataclass
class FeedRow:
    """One feed in every format: name and the relative links of its Atom, RSS and JSON files."""

    name: str
    formats: list[PageLink] = field(default_factory=list)


def _rows(rows: list[IndexRow]) -> str:
    trs = "\n".join(f"<tr><td class=\"date\"><time datetime=\"{esc(r.detected_at)}\">{esc(r.detected_at[:10])}"
                    f"</time></td><td><a href=\"{esc(r.href)}\">{esc(r.title)}</a></td>"
                    f"<td class=\"tags\">{tag_chips(r.tags)}</td></tr>" for r in rows)
    return f"<table class=\"list\"><tr><th>Detected</th><th>Change</th><th class=\"tags\">Tags</th></tr>\n{trs}</table>"


def index_page(*, rows: list[IndexRow], feeds: list[FeedRow], broken: list[str], opml: str = "feeds.opml",
               priority_shown: int = 10) -> str:
    """The latest AI-training and biometrics events first, then the latest changes, then every feed in
    every format (and one OPML file to subscribe to all of them)."""
    prio = [r for r in rows if r.priority][:priority_shown]
    first = (f"<h2>Latest AI-training and biometrics events</h2>\n{_rows(prio)}\n" if prio else "")
    table = _rows(rows) if rows else "<p>No changes recorded yet.</p>"
    trs = "".join(f"<tr><td>{esc(f.name)}</td>"
                  + "".join(f"<td><a href=\"{esc(ln.href)}\">{esc(ln.text)}</a></td>" for ln in f.formats)
                  + "</tr>" for f in feeds)
    failing = ""
    if broken:
        failing = "<h2>Checks failing</h2><ul>" + "".join(f"<li>{esc(b)}</li>" for b in broken) + "</ul>"
    body = (f"<h1>Policy changes</h1>\n<p class=\"meta\">Subscribe: <a href=\"all.atom\">all changes (Atom)</a> · "
            f"<a href=\"all.rss\">RSS</a> · <a href=\"all.json\">JSON Feed</a> · "
            f"<a href=\"{esc(opml)}\">every feed at once (OPML)</a></p>\n{first}"
            f"<h2>Latest changes</h2>\n{table}\n{failing}\n"
            f"<h2>Feeds</h2>\n<table class=\"feeds\">{trs}</table>")
    return page("Policy changes", body)
