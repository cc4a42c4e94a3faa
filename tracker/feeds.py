"""Atom and RSS feeds, change pages and the index, rebuilt from the store.

Layout under the feeds folder::

    all.atom, all.rss                 every significant change
    services/<slug>.atom|.rss         one service (every declared service has one, even if empty)
    tags/<tag>.atom|.rss              one tag (every known tag has one, so people can subscribe early)
    status.atom                       documents whose checks keep failing
    changes/<service>-<doc>-v<n>.html one page per change
    index.html                        latest changes and the list of feeds

Why it is built this way:
- Entry ids are ``tag:`` URIs from the service and document names and the version number, so a
  rebuild, a new base URL or a moved folder never makes readers show an old change again.
- Every date given to feedgen is explicit (feedgen stamps "now" otherwise) and files are only
  rewritten when their bytes differ: rebuilding with no new change leaves every file identical.
- Files are written to a temporary file in the same folder and renamed: a reader polling the
  folder never sees half a feed.
- Links are absolute: ``base_url`` when given (or ``$POLICY_TRACKER_BASE_URL``), else the
  ``file://`` URI of the folder, which works for local readers and browsers.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feedgen.feed import FeedGenerator

from tracker import __version__
from tracker.models import Change
from tracker.pages import (
    PRIORITY_TAGS,
    IndexRow,
    PageLink,
    change_page,
    clause_html,
    index_page,
    old_polarity,
    tag_label,
)
from tracker.sanitise import clean_text, esc, file_slug, safe_url, short_hash, uri_part
from tracker.store import ChangeRecord, DocumentRow, Store, iso

TAG_AUTHORITY = "tag:policy-tracker,2024:"
ALWAYS_TAGS = ("ai-training", "biometrics", "data-sharing", "data-retention", "children", "location",
               "law-enforcement", "user-rights", "tracking-advertising", "arbitration")
EPOCH = "1970-01-01T00:00:00Z"
CLAUSES_PER_ENTRY = 25  # more are on the change page
CLAUSE_CHARS = 3000  # per clause in a feed entry


# --------------------------------------------------------------------------- naming


def entry_id(service: str, document: str, version: int) -> str:
    """The stable id of a change: names and version, nothing that depends on the database or URL."""
    return f"{TAG_AUTHORITY}change/{uri_part(service)}/{uri_part(document)}/v{version}"


def service_slugs(names: list[str]) -> dict[str, str]:
    """File slug per service name; names sharing a slug all get a hash suffix (never one file for two)."""
    by_slug: dict[str, list[str]] = defaultdict(list)
    for n in sorted(set(names)):
        by_slug[file_slug(n)].append(n)
    out = {}
    for slug, group in by_slug.items():
        for n in group:
            out[n] = slug if len(group) == 1 else f"{slug}-{short_hash(n)}"
    return out


def change_file(ch: ChangeRecord, slugs: dict[str, str]) -> str:
    return f"{slugs[ch.service]}-{file_slug(ch.type)}-v{int(ch.to_version)}.html"


def _dt(value: str | None) -> datetime:
    return datetime.strptime(value or EPOCH, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --------------------------------------------------------------------------- entry text


def priority_words(ch: ChangeRecord) -> list[str]:
    """Priority tags in words, flipped polarity called out ("AI training flipped: negated → affirmed")."""
    sig = ch.diff.significant
    words = []
    for tag in PRIORITY_TAGS:
        clauses = [c for c in sig if tag in c.tags or tag in c.directions]
        if not clauses:
            continue
        label = tag_label(tag)
        flips = [c for c in clauses if c.directions.get(tag) == "flipped"]
        if flips:
            c = flips[0]
            old = old_polarity(c, tag)
            new = c.polarity.get(tag)
            words.append(f"{label} flipped: {old} → {new}" if old and new else
                         f"{label} flipped to {new}" if new else f"{label} flipped")
        elif all(c.directions.get(tag) == "removed" for c in clauses):
            words.append(f"{label} removed")
        else:
            words.append(label)
    return words


def entry_title(ch: ChangeRecord) -> str:
    n = len(ch.diff.significant)
    title = f"{ch.service} {ch.type}: {n} clause{'s' if n != 1 else ''} changed"
    words = priority_words(ch)
    if words:
        title += " — " + ", ".join(words)
    return clean_text(" ".join(title.split()))


def entry_summary(ch: ChangeRecord) -> str:
    """One plain-text line (RSS description / Atom summary)."""
    s = ch.diff.stats
    counts = ", ".join(f"{s[k]} {w}" for k, w in (("added", "added"), ("removed", "removed"),
                                                  ("modified", "changed"), ("moved", "moved")) if s.get(k))
    tags = ", ".join(tag_label(t) for t in ch.tags)
    return clean_text(f"{counts}." + (f" Tags: {tags}." if tags else ""))


def entry_content(ch: ChangeRecord, page_url: str) -> str:
    """HTML of the changed clauses (escaped), with text markers, evidence and a link to the page."""
    sig = ch.diff.significant
    parts = [f"<p>{esc(entry_summary(ch))} Version {ch.from_version} → {ch.to_version}.</p>"]
    for c in sig[:CLAUSES_PER_ENTRY]:
        parts.append(clause_html(c, limit=CLAUSE_CHARS))
    if len(sig) > CLAUSES_PER_ENTRY:
        parts.append(f"<p>… and {len(sig) - CLAUSES_PER_ENTRY} more changed clauses on the change page.</p>")
    for sub in ch.diff.substitutions:
        parts.append(f"<p>Renamed throughout: {esc(sub.old)} → {esc(sub.new)} ({int(sub.count)}×)</p>")
    source = safe_url(ch.url)
    if source:
        parts.append(f"<p>Source: <a href=\"{esc(source)}\">{esc(source)}</a></p>")
    parts.append(f"<p><a href=\"{esc(page_url)}\">Side-by-side view of this change</a></p>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- feeds


@dataclass
class FeedSpec:
    """One feed: where it goes and what it holds (newest first)."""

    path: str  # relative to the feeds folder, without extension
    title: str
    subtitle: str
    changes: list[ChangeRecord]


def _new_feed(spec: FeedSpec, base: str, updated: str) -> FeedGenerator:
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
_empty_templates: dict[str, tuple[bytes, bytes]] = {}


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _empty_feed(spec: FeedSpec, base: str) -> tuple[bytes, bytes] | None:
    """A feed without entries, filled into a template rendered once per base URL.

    Thousands of services have no change yet, and their feeds differ only in path, title and
    subtitle: rendering each through feedgen made a 5,000-document rebuild take seconds. Only plain
    names take this path (anything needing escaping goes through feedgen), and a test checks that
    the bytes are the same as feedgen's.
    """
    if not (_PLAIN_PATH.fullmatch(spec.path) and _PLAIN_TEXT.fullmatch(spec.title)
            and _PLAIN_TEXT.fullmatch(spec.subtitle)):
        return None
    if base not in _empty_templates:
        _empty_templates[base] = render_feed(FeedSpec(*_SLOTS, changes=[]), base, {}, 1, fast=False)
    atom, rss = _empty_templates[base]
    path, title, subtitle = _SLOTS
    atom = atom.replace(path.encode(), spec.path.encode()).replace(title.encode(), _xml_text(spec.title).encode())
    rss = rss.replace(path.encode(), spec.path.encode()).replace(title.encode(), _xml_text(spec.title).encode())
    atom = atom.replace(subtitle.encode(), _xml_text(clean_text(spec.subtitle)).encode())
    rss = rss.replace(subtitle.encode(), _xml_text(esc(spec.subtitle)).encode())
    return atom, rss


def render_feed(spec: FeedSpec, base: str, pages: dict[int, str], max_entries: int,
                fast: bool = True) -> tuple[bytes, bytes]:
    """(Atom bytes, RSS bytes) of one feed. Deterministic: the same changes give the same bytes."""
    if fast and not spec.changes:
        filled = _empty_feed(spec, base)
        if filled is not None:
            return filled
    shown = spec.changes[:max_entries]
    updated = shown[0].detected_at if shown else EPOCH
    fg = _new_feed(spec, base, updated)
    for ch in reversed(shown):  # add_entry prepends: oldest first gives newest first
        page = base + "changes/" + pages[ch.id]
        fe = fg.add_entry()
        fe.id(entry_id(ch.service, ch.type, ch.to_version))
        fe.guid(entry_id(ch.service, ch.type, ch.to_version), permalink=False)
        fe.title(entry_title(ch))
        fe.link(href=page, rel="alternate", type="text/html")
        fe.updated(_dt(ch.detected_at))
        fe.published(_dt(ch.detected_at))
        fe.summary(entry_summary(ch))
        fe.content(clean_text(entry_content(ch, page)), type="html")
        for t in ch.tags:
            fe.category(term=clean_text(t))
    index = base + "index.html"
    fg.link(href=base + spec.path + ".atom", rel="self", type="application/atom+xml")
    fg.link(href=index, rel="alternate", type="text/html")
    atom = fg.atom_str(pretty=True)
    # RSS descriptions are HTML to most readers (Atom's summary/subtitle are type="text"): escape them
    # there, so a service named "<img onerror=...>" stays text in every reader.
    fg.description(esc(clean_text(spec.subtitle)))
    for fe in fg.entry():
        fe.summary(esc(fe.summary()["summary"]))
    fg.link(href=base + spec.path + ".rss", rel="self", type="application/rss+xml", replace=True)
    fg.link(href=index, rel="alternate", type="text/html")
    rss = fg.rss_str(pretty=True)
    return atom, rss


def _streak(store: Store, doc: DocumentRow, broken_after: int) -> tuple[str, str]:
    """(start of the failure streak, moment it crossed the threshold) as ISO strings."""
    rows = [r for r in store.checks(doc.id, limit=max(doc.consecutive_failures, 1)) if r["state"] == "failed"]
    if not rows:
        at = iso(doc.last_check_at) or EPOCH
        return at, at
    rows.reverse()  # oldest first
    crossed = rows[min(broken_after, len(rows)) - 1]
    return rows[0]["at"] or EPOCH, crossed["at"] or EPOCH


def render_status(store: Store, base: str, broken_after: int) -> tuple[bytes, list[str]]:
    """status.atom: one entry per document failing ``broken_after`` times in a row."""
    broken = [d for d in store.documents() if d.consecutive_failures >= broken_after]
    entries = []
    for d in broken:
        start, crossed = _streak(store, d, broken_after)
        entries.append((crossed, start, d))
    entries.sort(key=lambda e: (e[0], e[2].service, e[2].type))
    updated = max((e[0] for e in entries), default=EPOCH)
    spec = FeedSpec("status", "Policy tracker: checks failing",
                    f"Documents whose check failed {broken_after} or more times in a row", [])
    fg = _new_feed(spec, base, updated)
    lines = []
    for crossed, start, d in entries:
        reason = d.last_reason or "unknown"
        title = clean_text(f"{d.service} {d.type}: check failing ({reason})")
        lines.append(title)
        fe = fg.add_entry()
        eid = f"{TAG_AUTHORITY}status/{uri_part(d.service)}/{uri_part(d.type)}/{start}"
        fe.id(eid)
        fe.guid(eid, permalink=False)
        fe.title(title)
        url = safe_url(d.url)
        fe.link(href=url or base + "index.html", rel="alternate")
        fe.updated(_dt(crossed))
        fe.published(_dt(crossed))
        fe.content(clean_text(
            f"<p><strong>Check failing:</strong> {esc(reason)}</p>"
            f"<p>Last error: {esc(d.last_error or '(none recorded)')}</p>"
            f"<p>Failing since {esc(start)}; {int(d.consecutive_failures)} failures in a row; "
            f"last check {esc(iso(d.last_check_at) or '?')}.</p>"
            f"<p>Document: {esc(d.url)}</p>"), type="html")
    fg.link(href=base + "status.atom", rel="self", type="application/atom+xml")
    fg.link(href=base + "index.html", rel="alternate", type="text/html")
    return fg.atom_str(pretty=True), lines


# --------------------------------------------------------------------------- writing


def write_atomic(path: Path, data: bytes) -> bool:
    """Write via a temporary file and rename; leave the file alone when its bytes are the same."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _base(out_dir: Path, base_url: str | None) -> str:
    base_url = base_url or os.environ.get("POLICY_TRACKER_BASE_URL") or None
    if base_url:
        return base_url.rstrip("/") + "/"
    return out_dir.resolve().as_uri().rstrip("/") + "/"


def build_feeds(store: Store, out_dir: Path, base_url: str | None = None, max_entries: int = 50,
                broken_after: int = 3) -> list[Path]:
    """Rebuild every feed, change page and the index from the store; returns the files it manages."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = _base(out_dir, base_url)
    changes = store.changes(significant_only=True)  # newest first
    docs = store.documents()
    slugs = service_slugs([d.service for d in docs] + [c.service for c in changes])
    pages = {c.id: change_file(c, slugs) for c in changes}

    files: dict[str, bytes] = {}
    specs = [FeedSpec("all", "Policy changes: all services", "Every significant change of every watched policy",
                      changes)]
    by_service: dict[str, list[ChangeRecord]] = {s: [] for s in slugs}
    by_tag: dict[str, list[ChangeRecord]] = {t: [] for t in ALWAYS_TAGS}
    for c in changes:
        by_service[c.service].append(c)
        for t in c.tags:
            by_tag.setdefault(t, []).append(c)
    for name in sorted(by_service):
        specs.append(FeedSpec(f"services/{slugs[name]}", f"Policy changes: {name}",
                              f"Significant changes of {name}'s policies", by_service[name]))
    tag_files = {t: file_slug(t) for t in by_tag}
    for t in sorted(by_tag):
        specs.append(FeedSpec(f"tags/{tag_files[t]}", f"Policy changes: {tag_label(t)}",
                              f"Changes tagged {tag_label(t)} in every watched policy", by_tag[t]))
    for spec in specs:
        atom, rss = render_feed(spec, base, pages, max_entries)
        files[spec.path + ".atom"] = atom
        files[spec.path + ".rss"] = rss
    status, broken = render_status(store, base, broken_after)
    files["status.atom"] = status

    feed_links = [PageLink(s.path + ".atom", s.title + " (Atom)") for s in specs]
    feed_links.insert(1, PageLink("all.rss", "Policy changes: all services (RSS)"))
    feed_links.append(PageLink("status.atom", "Checks failing (Atom)"))
    files.update(_pages(changes, pages, slugs, tag_files))
    rows = [IndexRow("changes/" + pages[c.id], entry_title(c), c.detected_at, c.tags)
            for c in changes[:max_entries]]
    files["index.html"] = index_page(rows=rows, feeds=feed_links, broken=broken).encode("utf-8")

    written = []
    for rel, data in sorted(files.items()):
        path = out_dir / rel
        write_atomic(path, data)
        written.append(path)
    _prune(out_dir, set(files))
    return written


def _pages(changes: list[ChangeRecord], pages: dict[int, str], slugs: dict[str, str],
           tag_files: dict[str, str]) -> dict[str, bytes]:
    """Every change page, with previous/next links within the same document."""
    by_doc: dict[int, list[ChangeRecord]] = defaultdict(list)
    for c in changes:
        by_doc[c.document_id].append(c)
    out = {}
    for doc_changes in by_doc.values():
        doc_changes.sort(key=lambda c: c.to_version)
        for i, c in enumerate(doc_changes):
            prev = doc_changes[i - 1] if i > 0 else None
            nxt = doc_changes[i + 1] if i + 1 < len(doc_changes) else None
            feeds = [PageLink(f"../services/{slugs[c.service]}.atom", f"{c.service} (Atom)")]
            feeds += [PageLink(f"../tags/{tag_files.get(t, file_slug(t))}.atom", f"{tag_label(t)} (Atom)")
                      for t in c.tags]
            sig: list[Change] = c.diff.significant
            html = change_page(
                service=c.service, document=c.type, url=c.url, from_version=c.from_version,
                to_version=c.to_version, detected_at=c.detected_at, tags=c.tags, changes=sig,
                substitutions=c.diff.substitutions, insignificant=len(c.diff.changes) - len(sig),
                prev=PageLink(pages[prev.id], f"← version {prev.to_version}") if prev else None,
                next=PageLink(pages[nxt.id], f"version {nxt.to_version} →") if nxt else None,
                feeds=feeds, title=entry_title(c))
            out["changes/" + pages[c.id]] = html.encode("utf-8")
    return out


def _prune(out_dir: Path, keep: set[str]) -> None:
    """Remove feeds/pages this module wrote before that no longer exist (a service removed...)."""
    for sub, exts in (("services", (".atom", ".rss")), ("tags", (".atom", ".rss")), ("changes", (".html",))):
        folder = out_dir / sub
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.is_file() and p.suffix in exts and f"{sub}/{p.name}" not in keep:
                p.unlink(missing_ok=True)
