"""Atom and RSS documents: the entry of a change (id, title, summary, HTML content), one feed of
changes, and the status feed of failing checks. Pure rendering: records in, bytes out; which feeds
exist, which files are stale and how they are written is ``tracker.publish.build``.

- Entry ids are ``tag:`` URIs from the service and document names and the version number, so a
  rebuild, a new base URL or a moved folder never makes readers show an old change again.
- Every date given to feedgen is explicit (feedgen stamps "now" otherwise): the same changes always
  give the same bytes.
- Titles, summaries and contents come from what the stored diff carries (tags, polarity, old
  polarity, directions, evidence): nothing is tagged again here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

from tracker import __version__
from tracker.models import Change
from tracker.publish import headline
from tracker.publish.display import clean_change
from tracker.publish.jsonfeed import render_json_feed
from tracker.publish.pages import KIND_MARKERS, clause_html, tag_label
from tracker.publish.pages import event_html as _event_html
from tracker.publish.sanitise import clean_text, esc, safe_url, truncate, uri_part
from tracker.store.records import CaptureNote, ChangeRecord, ChangeRow, DocumentRow, iso

TAG_AUTHORITY = "tag:policy-tracker,2024:"
EPOCH = "1970-01-01T00:00:00Z"
CLAUSES_PER_ENTRY = 25  # more are on the change page
CLAUSE_CHARS = 3000  # per clause in a feed entry
SHORT_LISTED = 10  # other changes listed in a feed entry (the change page has them all)
SHORT_CHARS = 120  # of each of them

EntryTexts = dict[tuple[int, str], tuple[str, str, str]]  # (change id, page URL) -> title, summary, content


# --------------------------------------------------------------------------- ids and dates


def entry_id(service: str, document: str, version: int) -> str:
    """The stable id of a change: names and version, nothing that depends on the database or URL."""
    return f"{TAG_AUTHORITY}change/{uri_part(service)}/{uri_part(document)}/v{version}"


@lru_cache(maxsize=4096)
def _dt(value: str | None) -> datetime:
    return datetime.strptime(value or EPOCH, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --------------------------------------------------------------------------- entry text


def entry_title(ch: ChangeRecord) -> str:
    """The news in one line (see ``headline.title``)."""
    return clean_text(" ".join(headline.title(ch.service, ch.type, ch.diff).split()))


def entry_summary(ch: ChangeRecord) -> str:
    """One plain-text line (RSS description / Atom summary): the events in words, the counts and the
    renamings."""
    events = [headline.event_phrase(e) for e in headline.events_of(ch.diff)]
    tags = ", ".join(tag_label(t) for t in headline.sort_tags(ch.tags))
    parts = ["; ".join(events) + "." if events else "", headline.counts_line(ch.diff) + ".",
             headline.renamings_line(ch.diff.substitutions) + "." if ch.diff.substitutions else "",
             f"Tags: {tags}." if tags else ""]
    return clean_text(" ".join(p for p in parts if p))


def _short(c: Change) -> str:
    """A folded clause in a feed entry: marker, section and the start of its text."""
    c = clean_change(c)
    marker = KIND_MARKERS.get(c.kind, "Changed")
    text, _ = truncate(" ".join((c.new if c.new is not None else c.old or "").split()), SHORT_CHARS)
    section = f" <em>{esc(c.section)}</em>" if c.section else ""
    return f"<li>{marker}:{section} — {esc(text)}</li>"


def entry_content(ch: ChangeRecord, page_url: str, source_url: str | None = None) -> str:
    """HTML of the change, most important first: the priority-tag events (sentence, stance, evidence,
    section), then the other tagged clauses, then the rest as a short list linking to the page.
    Escaped, with textual markers for readers that drop styling."""
    diff = ch.diff
    o = headline.order(diff)
    head = " ".join(x for x in (headline.counts_line(diff) + ".", headline.renamings_line(diff.substitutions)
                                + ("." if diff.substitutions else ""), diff.note + "." if diff.note else "") if x)
    parts = [f"<p>{esc(head)} Version {ch.from_version} → {ch.to_version}.</p>"]
    parts += [_event_html(ev, diff) for ev, _ in o.events]
    # Without events or tags the clauses themselves are the news; renamed-only clauses never are.
    full = o.tagged if (o.events or o.tagged) else o.other[:len(o.other) - o.renamed]
    shown = full[:CLAUSES_PER_ENTRY]
    parts += [clause_html(diff.changes[i], limit=CLAUSE_CHARS) for i in shown]
    rest = [i for i in o.tagged + o.other if i not in shown]
    if rest:
        plain = [i for i in rest if not headline.only_renamed(diff.changes[i], diff.substitutions)]
        n_renamed = len(rest) - len(plain)
        renamed = f", {n_renamed} of them only the renaming" if n_renamed else ""
        listed = plain[:SHORT_LISTED]
        parts.append(f"<p><strong>Other changes ({len(rest)}{renamed}):</strong></p>")
        if listed:
            parts.append("<ul>" + "".join(_short(diff.changes[i]) for i in listed) + "</ul>")
        parts.append(f"<p><a href=\"{esc(page_url)}\">All {len(diff.significant)} changed clauses on the "
                     "change page</a></p>")
    source = safe_url(source_url or ch.url)
    if source:
        parts.append(f"<p>Source: <a href=\"{esc(source)}\">{esc(source)}</a></p>")
    parts.append(f"<p><a href=\"{esc(page_url)}\">This change, side by side</a></p>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- feeds


@dataclass
class FeedSpec:
    """One feed: where it goes and what it holds (newest first)."""

    path: str  # relative to the feeds folder, without extension
    title: str
    subtitle: str
    changes: Sequence[ChangeRow]  # ChangeRecords, or heads of changes whose entry texts are given (``texts``)
    since: str = EPOCH  # <updated> of the feed while it has no entry: when it began (see build.feed_since)


def _new_feed(spec: FeedSpec, updated: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(f"{TAG_AUTHORITY}feed/{spec.path}")
    fg.title(clean_text(spec.title))
    fg.subtitle(clean_text(spec.subtitle))
    fg.description(clean_text(spec.subtitle))
    fg.author({"name": "policy-tracker"})
    fg.generator("policy-tracker", version=__version__)
    fg.language("en")
    fg.updated(_dt(updated))
    fg.lastBuildDate(_dt(updated))
    return fg


_PLAIN_TEXT = re.compile(r"[\w .,:;!?'()+@#%*=/-]*")  # needs no XML escaping (no & < > or controls)
_PLAIN_PATH = re.compile(r"[a-z0-9/_-]+")
_SLOTS = ("PTxPATHxPT", "PTxTITLExPT", "PTxSUBTITLExPT")
_SLOT_DATE = "1901-02-03T04:05:06Z"  # stands for the feed's ``since`` in the empty template
_empty_templates: dict[str, tuple[bytes, bytes, bytes]] = {}


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dates(value: str) -> tuple[bytes, bytes]:
    """How feedgen writes a date in Atom and in RSS."""
    from feedgen.util import formatRFC2822  # type: ignore[import-untyped]

    d = _dt(value)
    return d.isoformat().encode(), formatRFC2822(d).encode()


def _empty_feed(spec: FeedSpec, base: str) -> tuple[bytes, bytes, bytes] | None:
    """A feed without entries, filled into a template rendered once per base URL.

    Thousands of services have no change yet, and their feeds differ only in path, title, subtitle
    and start date: rendering each through feedgen made a 5,000-document rebuild take seconds. Only
    plain names take this path (anything needing escaping goes through feedgen), and a test checks
    that the bytes are the same as feedgen's.
    """
    if not (_PLAIN_PATH.fullmatch(spec.path) and _PLAIN_TEXT.fullmatch(spec.title)
            and _PLAIN_TEXT.fullmatch(spec.subtitle)):
        return None
    if base not in _empty_templates:
        _empty_templates[base] = render_feed(FeedSpec(*_SLOTS, changes=[], since=_SLOT_DATE), base, {}, 1, fast=False)
    atom, rss, js = _empty_templates[base]
    path, title, subtitle = _SLOTS
    (slot_atom, slot_rss), (date_atom, date_rss) = _dates(_SLOT_DATE), _dates(spec.since)
    atom = atom.replace(path.encode(), spec.path.encode()).replace(title.encode(), _xml_text(spec.title).encode())
    rss = rss.replace(path.encode(), spec.path.encode()).replace(title.encode(), _xml_text(spec.title).encode())
    atom = atom.replace(subtitle.encode(), _xml_text(clean_text(spec.subtitle)).encode())
    rss = rss.replace(subtitle.encode(), _xml_text(esc(spec.subtitle)).encode())
    atom, rss = atom.replace(slot_atom, date_atom), rss.replace(slot_rss, date_rss)
    js = js.replace(path.encode(), spec.path.encode()).replace(title.encode(), spec.title.encode())
    js = js.replace(subtitle.encode(), clean_text(spec.subtitle).encode())
    return atom, rss, js


def render_feed(spec: FeedSpec, base: str, pages: dict[int, str], max_entries: int,
                fast: bool = True, texts: EntryTexts | None = None,
                sources: dict[int, str] | None = None) -> tuple[bytes, bytes, bytes]:
    """(Atom, RSS, JSON Feed) bytes of one feed. Deterministic: the same changes give the same bytes.

    ``texts`` memoises each entry's title, summary and content across the feeds of one build (a
    change is shown in the all, service and tag feeds: its HTML is made once). ``sources``: where a
    change's new text came from, when not the document's URL (an imported version: the archive file
    at its commit)."""
    texts = {} if texts is None else texts
    sources = sources or {}
    if fast and not spec.changes:
        filled = _empty_feed(spec, base)
        if filled is not None:
            return filled
    shown = spec.changes[:max_entries]
    updated = shown[0].detected_at if shown else spec.since
    fg = _new_feed(spec, updated)
    items = []
    for ch in reversed(shown):  # add_entry prepends: oldest first gives newest first
        page = base + "changes/" + pages[ch.id]
        eid = entry_id(ch.service, ch.type, ch.to_version)
        fe = fg.add_entry()
        fe.id(eid)
        fe.guid(eid, permalink=False)
        memo = (ch.id, page)
        if memo not in texts:
            assert isinstance(ch, ChangeRecord), "an entry without kept texts is rendered from its diff"
            texts[memo] = (entry_title(ch), entry_summary(ch),
                           clean_text(entry_content(ch, page, sources.get(ch.id))))
        title, summary, content = texts[memo]
        items.append((ch, eid, page, title, summary, content, sources.get(ch.id) or ch.url))
        fe.title(title)
        fe.link(href=page, rel="alternate", type="text/html")
        fe.updated(_dt(ch.detected_at))
        fe.published(_dt(ch.detected_at))
        fe.summary(summary)
        fe.content(content, type="html")
        for t in ch.tags:
            fe.category(term=clean_text(t))
    index = base + "index.html"
    fg.link(href=base + spec.path + ".atom", rel="self", type="application/atom+xml")
    fg.link(href=index, rel="alternate", type="text/html")
    atom: bytes = fg.atom_str(pretty=True)
    # RSS descriptions are HTML to most readers (Atom's summary/subtitle are type="text"): escape them
    # there, so a service named "<img onerror=...>" stays text in every reader.
    fg.description(esc(clean_text(spec.subtitle)))
    for fe in fg.entry():
        fe.summary(esc(fe.summary()["summary"]))
    fg.link(href=base + spec.path + ".rss", rel="self", type="application/rss+xml", replace=True)
    fg.link(href=index, rel="alternate", type="text/html")
    rss: bytes = fg.rss_str(pretty=True)
    js = render_json_feed(path=spec.path, title=spec.title, subtitle=spec.subtitle, base=base,
                          items=list(reversed(items)))
    return atom, rss, js

# --------------------------------------------------------------------------- status feed


@dataclass
class FailingDocument:
    """A document in status.atom: its row, when its failure streak began and when it crossed the
    threshold (ISO 8601)."""

    document: DocumentRow
    since: str
    crossed: str


@dataclass(frozen=True)
class BadDeclaration:
    """A declaration file that could not be read: its documents are not checked until it is fixed."""

    path: str
    error: str
    since: str  # ISO time: the file's modification time (stable across rebuilds)


NOTE_TITLES = {"held": "suspect capture held", "failed-commit": "import commit failed",
               "accepted": "refused capture accepted as the reference", "confirmed": "suspect capture confirmed",
               "discarded": "outlier capture discarded"}


def _status_entry(fg: FeedGenerator, eid: str, title: str, href: str, at: str, content: str) -> None:
    """One entry of status.atom, published and updated at ``at``."""
    fe = fg.add_entry()
    fe.id(eid)
    fe.guid(eid, permalink=False)
    fe.title(title)
    fe.link(href=href, rel="alternate")
    fe.updated(_dt(at))
    fe.published(_dt(at))
    fe.content(content, type="html")


def render_status(failing: list[FailingDocument], base: str, broken_after: int, since: str = EPOCH,
                  bad_files: Sequence[BadDeclaration] = (),
                  notes: Sequence[CaptureNote] = ()) -> tuple[bytes, list[str]]:
    """status.atom and the failing entries' titles (listed on the index page): one entry per failing
    document, by the moment it crossed the threshold; one per declaration file that could not be read;
    one per capture note (a capture held as suspect, a refused one accepted, a failed import commit),
    so that no document silently stops. ``since``: its date while nothing fails."""
    entries = sorted(failing, key=lambda f: (f.crossed, f.document.service, f.document.type))
    updated = max([f.crossed for f in entries] + [b.since for b in bad_files] + [iso(n.at) or EPOCH for n in notes],
                  default=since)
    spec = FeedSpec("status", "Policy tracker: checks failing",
                    f"Documents whose check failed {broken_after} or more times in a row, and declaration "
                    "files that could not be read", [])
    fg = _new_feed(spec, updated)
    lines = []
    for b in sorted(bad_files, key=lambda b: b.path):
        name = b.path.rsplit("/", 1)[-1]
        title = clean_text(f"Declaration file {name}: not read, its documents are not checked")
        lines.append(title)
        eid = f"{TAG_AUTHORITY}status/declaration/{uri_part(name)}/{hashlib.sha256(b.error.encode()).hexdigest()[:12]}"
        _status_entry(fg, eid, title, base + "index.html", b.since, clean_text(f"<p><strong>Declaration file not read:</strong> {esc(b.path)}</p>"
                              f"<p>{esc(b.error)}</p><p>Fix the file (<code>policy-tracker validate</code> "
                              "lists its problems); the other files are checked as usual.</p>"))
    for f in entries:
        d, start, crossed = f.document, f.since, f.crossed
        reason = d.last_reason or "unknown"
        title = clean_text(f"{d.service} {d.type}: check failing ({reason})")
        lines.append(title)
        eid = f"{TAG_AUTHORITY}status/{uri_part(d.service)}/{uri_part(d.type)}/{start}"
        _status_entry(fg, eid, title, safe_url(d.url) or base + "index.html", crossed, clean_text(
            f"<p><strong>Check failing:</strong> {esc(reason)}</p>"
            f"<p>Last error: {esc(d.last_error or '(none recorded)')}</p>"
            f"<p>Failing since {esc(start)}; {int(d.consecutive_failures)} failures in a row; "
            f"last check {esc(iso(d.last_check_at) or '?')}.</p>"
            f"<p>Document: {esc(d.url)}</p>"))
    for n in sorted(notes, key=lambda n: (n.at, n.id)):
        eid = f"{TAG_AUTHORITY}status/note/{uri_part(n.service)}/{uri_part(n.type)}/{int(n.id)}"
        where = "".join([f" Version {int(n.version)}." if n.version else "",
                         f" Commit {esc(n.source_ref[:12])}." if n.source_ref else ""])
        state = " (open: retried or re-judged by the next run)" if n.open else ""
        _status_entry(fg, eid, clean_text(f"{n.service} {n.type}: {NOTE_TITLES.get(n.kind, n.kind)}"),
                      safe_url(n.url) or base + "index.html", iso(n.at),
                      clean_text(f"<p><strong>{esc(NOTE_TITLES.get(n.kind, n.kind))}</strong>{state}: {esc(n.note)}"
                                 f"</p><p>Capture of {esc(iso(n.at))}.{where}</p><p>Document: {esc(n.url)}</p>"))
    fg.link(href=base + "status.atom", rel="self", type="application/atom+xml")
    fg.link(href=base + "index.html", rel="alternate", type="text/html")
    atom: bytes = fg.atom_str(pretty=True)
    return atom, lines
