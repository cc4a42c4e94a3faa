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

import hashlib
import json
import os
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from feedgen.feed import FeedGenerator

from tracker import __version__
from tracker.models import Change, DiffResult
from tracker.publish.pages import (
    PRIORITY_TAGS,
    IndexRow,
    PageLink,
    change_page,
    clause_html,
    index_page,
    old_polarity,
    tag_label,
)
from tracker.publish.sanitise import clean_text, esc, file_slug, safe_url, short_hash, uri_part
from tracker.store.database import ChangeRecord, DocumentRow, Store, iso, unpack

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


@lru_cache(maxsize=4096)
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
                fast: bool = True, texts: dict | None = None) -> tuple[bytes, bytes]:
    """(Atom bytes, RSS bytes) of one feed. Deterministic: the same changes give the same bytes.

    ``texts`` memoises each entry's title, summary and content across the feeds of one build (a
    change is shown in the all, service and tag feeds: its HTML is made once)."""
    texts = {} if texts is None else texts
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
        memo = (ch.id, page)
        if memo not in texts:
            texts[memo] = (entry_title(ch), entry_summary(ch), clean_text(entry_content(ch, page)))
        title, summary, content = texts[memo]
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


def write_atomic(path: Path | str, data: bytes, folders: set[str] | None = None) -> os.stat_result | None:
    """Write via a temporary file and rename, so a reader never sees half a feed; leave the file alone
    when its bytes are the same. Returns the written file's stat (for the manifest), else None.

    Plain ``os`` calls on string paths: a first build writes hundreds of files, and ``tempfile`` and
    ``pathlib`` doubled the cost of each. ``folders`` remembers the folders already made.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == len(data) and f.read() == data:
                return None
    except OSError:
        pass
    folder = os.path.dirname(path) or "."
    if folders is None or folder not in folders:
        os.makedirs(folder, exist_ok=True)
        if folders is not None:
            folders.add(folder)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:  # left by a killed run whose process id came round again
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            st = os.fstat(fd)  # a rename keeps size and mtime
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return st


def _base(out_dir: Path, base_url: str | None) -> str:
    base_url = base_url or os.environ.get("POLICY_TRACKER_BASE_URL") or None
    if base_url:
        return base_url.rstrip("/") + "/"
    return out_dir.resolve().as_uri().rstrip("/") + "/"


# --------------------------------------------------------------------------- incremental rebuild
#
# A rebuild after a cycle used to render every feed and every change page from every stored diff,
# then find most bytes identical. Now each output file has a key: a hash of everything its bytes
# depend on (the changes it shows, by fingerprint, their page names, neighbours, base URL, and this
# code). The keys, sizes and mtimes of the files written are kept in MANIFEST; a file whose key,
# size and mtime still match is neither rendered nor read, and only the diffs of the changes shown
# in stale files are loaded. A deleted or edited file fails the stat check and is rebuilt, and a
# missing or unreadable manifest means a full build: the output is always the full build's bytes.

MANIFEST = ".feeds-manifest.json"
_CODE_FILES = ("publish/feeds.py", "publish/pages.py", "publish/sanitise.py", "models.py", "store/database.py",
               "store/codec.py", "compare/tag.py")
_code_hash: list[str] = []


@dataclass
class StoredChange:
    """A change as listed for a rebuild: names, versions and tags, without its diff.

    ``fp`` fingerprints the stored row (every column read, the diff's length and the Adler-32 that
    ends every zlib stream), so a change replaced in place gets a new fingerprint."""

    id: int
    document_id: int
    service: str
    type: str
    url: str
    from_version: int
    to_version: int
    detected_at: str
    tags: list[str]
    fp: str


def code_hash() -> str:
    """What besides the store shapes the bytes: this code, the page and tagger code (pages re-read old
    polarities with the tagger), the tag rules, and the feedgen and lxml versions. Read once per
    process: it describes the code this process runs."""
    if not _code_hash:
        import feedgen.version
        from lxml import etree

        h = hashlib.blake2b(digest_size=16)
        here = Path(__file__).resolve().parent.parent
        for p in [here / n for n in _CODE_FILES] + sorted((here / "compare" / "rules").glob("*.toml")):
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        h.update(f"{__version__}|{feedgen.version.version_str}|{etree.LXML_VERSION}".encode())
        _code_hash.append(h.hexdigest())
    return _code_hash[0]


def _key(*parts: object) -> str:
    return hashlib.blake2b(json.dumps(parts, separators=(",", ":")).encode(), digest_size=16).hexdigest()


_LIST_SQL = ("SELECT c.id, c.document_id, d.service, d.type, d.url, c.from_version, c.to_version, c.detected_at, "
             "c.tags, length(c.diff), hex(substr(c.diff, -4)) FROM changes c JOIN documents d ON d.id = c.document_id "
             "WHERE c.significant > 0 ORDER BY c.detected_at DESC, c.id DESC")


def stored_changes(store: Store) -> list[StoredChange]:
    """Significant changes, newest first (the order of ``Store.changes``), without unpacking diffs."""
    out = []
    for r in store.conn.execute(_LIST_SQL):
        fp = hashlib.blake2b(repr(r).encode(), digest_size=12).hexdigest()
        out.append(StoredChange(r[0], r[1], r[2], r[3], r[4], r[5], r[6], iso(r[7]) or "", json.loads(r[8]), fp))
    return out


def load_changes(store: Store, listed: list[StoredChange]) -> dict[int, ChangeRecord]:
    """Full records (diff unpacked) of the listed changes, by id, read in one query per 500."""
    by_id = {c.id: c for c in listed}
    ids = sorted(by_id)
    out = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        sql = f"SELECT id, diff FROM changes WHERE id IN ({','.join('?' * len(chunk))})"
        for cid, blob in store.conn.execute(sql, chunk):
            c = by_id[cid]
            out[cid] = ChangeRecord(id=c.id, document_id=c.document_id, service=c.service, type=c.type, url=c.url,
                                    from_version=c.from_version, to_version=c.to_version,
                                    detected_at=c.detected_at, diff=DiffResult.from_dict(unpack(blob)),  # type: ignore[arg-type]
                                    tags=list(c.tags))
    return out


@contextmanager
def _snapshot(store: Store) -> Iterator[None]:
    """One read transaction (a consistent view while the daemon writes), unless one is open already."""
    if store.conn.in_transaction:
        yield
        return
    store.conn.execute("BEGIN")
    try:
        yield
    finally:
        store.conn.execute("COMMIT")


@dataclass
class _Output:
    """Files rendered together (a feed's .atom and .rss), the key of their inputs, and the changes
    whose diffs rendering needs."""

    rels: tuple[str, ...]
    key: str
    needs: list[StoredChange]
    render: Callable[[dict[int, ChangeRecord]], dict[str, bytes]]


def _read_manifest(out_dir: Path) -> dict:
    try:
        m = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        if (isinstance(m, dict) and m.get("code") == code_hash() and isinstance(m.get("files"), dict)
                and isinstance(m.get("titles"), dict)):
            return m
    except (OSError, ValueError):
        pass
    return {"files": {}, "titles": {}}


def _fresh(out_dir: Path, rel: str, key: str, known: dict) -> bool:
    """The file was written by us for these inputs and nobody touched it since (size and mtime)."""
    rec = known.get(rel)
    if not isinstance(rec, list) or len(rec) != 3 or rec[0] != key:
        return False
    try:
        st = os.stat(f"{out_dir}/{rel}")  # not pathlib: called for every managed file of every build
    except OSError:
        return False
    return [st.st_size, st.st_mtime_ns] == rec[1:]


def build_feeds(store: Store, out_dir: Path, base_url: str | None = None, max_entries: int = 50,
                broken_after: int = 3) -> list[Path]:
    """Bring every feed, change page and the index up to date with the store; returns the files it
    manages. The bytes are always those of a full rebuild; only files whose inputs changed (or that
    were deleted or edited) are rendered, and only the diffs they show are read."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = _base(out_dir, base_url)
    manifest = _read_manifest(out_dir)
    known = manifest["files"]
    titles = _Titles(manifest["titles"])
    with _snapshot(store):
        changes = stored_changes(store)  # newest first
        docs = store.documents()
        status, broken = render_status(store, base, broken_after)
        outputs = _outputs(changes, docs, base, max_entries, broken, titles)
        stale = [o for o in outputs if not all(_fresh(out_dir, rel, o.key, known) for rel in o.rels)]
        need = {c.id: c for o in stale for c in o.needs}
        full = load_changes(store, list(need.values()))
    records = {}
    stale_ids = {id(o) for o in stale}
    root, folders = str(out_dir), {str(out_dir)}
    for o in outputs:
        if id(o) in stale_ids:
            for rel, data in o.render(full).items():
                path = f"{root}/{rel}"
                st = write_atomic(path, data, folders) or os.stat(path)
                records[rel] = [o.key, st.st_size, st.st_mtime_ns]
        else:
            records.update({rel: known[rel] for rel in o.rels})
    write_atomic(out_dir / "status.atom", status)
    shown = [c.fp for c in changes[:max_entries]]
    kept = {fp: titles.by_fp[fp] for fp in shown if fp in titles.by_fp}
    data = json.dumps({"code": code_hash(), "files": records, "titles": kept}, sort_keys=True, separators=(",", ":")) + "\n"
    write_atomic(out_dir / MANIFEST, data.encode("utf-8"))
    keep = set(records) | {"status.atom"}
    _prune(out_dir, keep)
    return [out_dir / rel for rel in sorted(keep)]


class _Titles:
    """Entry titles by change fingerprint: kept in the manifest for the index, which lists the latest
    changes' titles but should not need their diffs when only a new change was added."""

    def __init__(self, cached: dict[str, str]) -> None:
        self.by_fp = {k: v for k, v in cached.items() if isinstance(v, str)}

    def of(self, c: ChangeRecord | None, fp: str) -> str:
        if fp not in self.by_fp:
            assert c is not None, "a change without a cached title is loaded before rendering"
            self.by_fp[fp] = entry_title(c)
        return self.by_fp[fp]


def _outputs(changes: list[StoredChange], docs: list[DocumentRow], base: str, max_entries: int,
             broken: list[str], titles: _Titles) -> list[_Output]:
    """Every file built from the changes (all but status.atom), each with its key and renderer."""
    code = code_hash()
    slugs = service_slugs([d.service for d in docs] + [c.service for c in changes])
    pages = {c.id: change_file(c, slugs) for c in changes}  # type: ignore[arg-type]
    specs = [FeedSpec("all", "Policy changes: all services", "Every significant change of every watched policy",
                      changes)]  # type: ignore[arg-type]
    by_service: dict[str, list[StoredChange]] = {s: [] for s in slugs}
    by_tag: dict[str, list[StoredChange]] = {t: [] for t in ALWAYS_TAGS}
    for c in changes:
        by_service[c.service].append(c)
        for t in c.tags:
            by_tag.setdefault(t, []).append(c)
    for name in sorted(by_service):
        specs.append(FeedSpec(f"services/{slugs[name]}", f"Policy changes: {name}",
                              f"Significant changes of {name}'s policies", by_service[name]))  # type: ignore[arg-type]
    tag_files = {t: file_slug(t) for t in by_tag}
    for t in sorted(by_tag):
        specs.append(FeedSpec(f"tags/{tag_files[t]}", f"Policy changes: {tag_label(t)}",
                              f"Changes tagged {tag_label(t)} in every watched policy", by_tag[t]))  # type: ignore[arg-type]

    outputs = []
    texts: dict = {}
    for spec in specs:
        shown: list[StoredChange] = spec.changes[:max_entries]  # type: ignore[assignment]
        key = _key("feed", code, base, max_entries, spec.path, spec.title, spec.subtitle,
                   [(c.fp, pages[c.id]) for c in shown])
        render = _feed_renderer(spec, shown, base, pages, max_entries, texts)
        outputs.append(_Output((spec.path + ".atom", spec.path + ".rss"), key, shown, render))

    by_doc: dict[int, list[StoredChange]] = defaultdict(list)
    for c in changes:
        by_doc[c.document_id].append(c)
    for doc_changes in by_doc.values():
        doc_changes.sort(key=lambda c: c.to_version)
        for i, c in enumerate(doc_changes):
            prev = doc_changes[i - 1] if i > 0 else None
            nxt = doc_changes[i + 1] if i + 1 < len(doc_changes) else None
            links = (PageLink(pages[prev.id], f"← version {prev.to_version}") if prev else None,
                     PageLink(pages[nxt.id], f"version {nxt.to_version} →") if nxt else None)
            feeds = [PageLink(f"../services/{slugs[c.service]}.atom", f"{c.service} (Atom)")]
            feeds += [PageLink(f"../tags/{tag_files.get(t, file_slug(t))}.atom", f"{tag_label(t)} (Atom)")
                      for t in c.tags]
            rel = "changes/" + pages[c.id]
            key = _key("page", code, c.fp, rel, [(ln.href, ln.text) if ln else None for ln in links],
                       [(f.href, f.text) for f in feeds])
            outputs.append(_Output((rel,), key, [c], _page_renderer(c, rel, links, feeds, titles)))

    feed_links = [PageLink(s.path + ".atom", s.title + " (Atom)") for s in specs]
    feed_links.insert(1, PageLink("all.rss", "Policy changes: all services (RSS)"))
    feed_links.append(PageLink("status.atom", "Checks failing (Atom)"))
    latest = changes[:max_entries]
    key = _key("index", code, [(c.fp, pages[c.id]) for c in latest], [(f.href, f.text) for f in feed_links], broken)

    def index(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        rows = [IndexRow("changes/" + pages[c.id], titles.of(full.get(c.id), c.fp),
                         c.detected_at, c.tags) for c in latest]
        return {"index.html": index_page(rows=rows, feeds=feed_links, broken=broken).encode("utf-8")}

    outputs.append(_Output(("index.html",), key, [c for c in latest if c.fp not in titles.by_fp], index))
    return outputs


def _feed_renderer(spec: FeedSpec, shown: list[StoredChange], base: str, pages: dict[int, str],
                   max_entries: int, texts: dict) -> Callable[[dict[int, ChangeRecord]], dict[str, bytes]]:
    def render(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        filled = FeedSpec(spec.path, spec.title, spec.subtitle, [full[c.id] for c in shown])
        atom, rss = render_feed(filled, base, pages, max_entries, texts=texts)
        return {spec.path + ".atom": atom, spec.path + ".rss": rss}
    return render


def _page_renderer(c: StoredChange, rel: str, links: tuple[PageLink | None, PageLink | None],
                   feeds: list[PageLink], titles: _Titles) -> Callable[[dict[int, ChangeRecord]], dict[str, bytes]]:
    def render(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        ch = full[c.id]
        sig: list[Change] = ch.diff.significant
        html = change_page(
            service=ch.service, document=ch.type, url=ch.url, from_version=ch.from_version,
            to_version=ch.to_version, detected_at=ch.detected_at, tags=ch.tags, changes=sig,
            substitutions=ch.diff.substitutions, insignificant=len(ch.diff.changes) - len(sig),
            prev=links[0], next=links[1], feeds=feeds, title=titles.of(ch, c.fp))
        return {rel: html.encode("utf-8")}
    return render


def _prune(out_dir: Path, keep: set[str]) -> None:
    """Remove feeds/pages this module wrote before that no longer exist (a service removed...)."""
    for sub, exts in (("services", (".atom", ".rss")), ("tags", (".atom", ".rss")), ("changes", (".html",))):
        try:
            entries = list(os.scandir(out_dir / sub))  # the entries know their type: no stat per file
        except OSError:
            continue
        for e in entries:
            if (e.name.endswith(exts) and not e.name.startswith(".") and f"{sub}/{e.name}" not in keep
                    and e.is_file(follow_symlinks=False)):
                try:
                    os.unlink(e.path)
                except FileNotFoundError:
                    pass
