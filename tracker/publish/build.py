"""The feeds folder, brought up to date with the store: which feeds and pages exist, which of them
are stale, and writing them safely. What goes into each file is ``tracker.publish.feeds`` (Atom and
RSS) and ``tracker.publish.pages`` (HTML).

Layout under the feeds folder::

    all.atom, all.rss, all.json       every significant change (Atom, RSS 2.0, JSON Feed 1.1)
    services/<slug>.atom|.rss|.json   one service (every declared service has one, even if empty)
    tags/<tag>.atom|.rss|.json        one tag (every known tag has one, so people can subscribe early)
    status.atom                       documents whose checks keep failing
    feeds.opml                        every feed above, to subscribe to all of them at once
    changes/<service>-<doc>-v<n>.html one page per change
    index.html                        latest priority events and changes, and every feed

Why it is built this way:
- Incremental: each file has a key, a hash of everything its bytes depend on (the changes it shows,
  by fingerprint, their page names, neighbours, base URL, and the rendering code). The keys, sizes
  and mtimes of the files written are kept in MANIFEST; a file whose key, size and mtime still match
  is neither rendered nor read, and only the diffs of the changes shown in stale files are loaded. A
  deleted or edited file fails the stat check and is rebuilt, and a missing or unreadable manifest
  means a full build: the output is always the full build's bytes.
- Files are only rewritten when their bytes differ (rebuilding with no new change leaves every file
  identical), via a temporary file in the same folder and a rename: a reader polling the folder
  never sees half a feed.
- Links between pages are relative. Links in feeds must be absolute (RSS requires it, and many
  readers do not resolve relative ones): ``base_url`` when given (or ``$POLICY_TRACKER_BASE_URL``),
  else the one given to an earlier build of the folder (kept in the manifest, so a ``check`` run by
  cron does not undo ``feeds --base-url``), else the folder's ``file://`` URI, which works for local
  readers and browsers but not for a reader on a server: the CLI warns then (``link_base``).
- An empty feed's <updated> is when the feed began (its service's first tracking, or the store's),
  not 1970: readers show it as the feed's date.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker import __version__
from tracker.publish.entries import EntryCache
from tracker.publish.feeds import (
    EPOCH,
    BadDeclaration,
    EntryTexts,
    FailingDocument,
    FeedSpec,
    entry_title,
    render_feed,
    render_status,
)
from tracker.publish.folder import FORMATS, MANIFEST, claim_feeds, link_base, prune, write_atomic
from tracker.publish.headline import events_of, tag_label
from tracker.publish.jsonfeed import OpmlFeed, render_opml
from tracker.publish.sanitise import file_slug, short_hash
from tracker.publish.site import FeedRow, IndexRow, PageLink, change_page, index_page
from tracker.publish.sources import source_link
from tracker.store.database import Store
from tracker.store.records import ChangeHead, ChangeRecord, iso

ALWAYS_TAGS = ("ai-training", "biometrics", "data-sharing", "data-retention", "children", "location",
               "law-enforcement", "user-rights", "tracking-advertising", "arbitration")
# What besides the store shapes the bytes (see ``code_hash``). The tagger is not in it: rendering
# only reads what the stored diff carries.
_CODE_FILES = ("publish/build.py", "publish/feeds.py", "publish/pages.py", "publish/sanitise.py", "models.py",
               "publish/site.py", "publish/headline.py", "publish/display.py", "publish/jsonfeed.py",
               "publish/sources.py", "store/database.py", "store/records.py", "store/codec.py")
_code_hash: list[str] = []

Renderer = Callable[[dict[int, ChangeRecord]], dict[str, bytes]]


# --------------------------------------------------------------------------- file names


def service_slugs(names: list[str], kept: dict[str, str] | None = None) -> dict[str, str]:
    """File slug per service name; names sharing a slug all get a hash suffix (never one file for two).

    ``kept``: the names given before (``Store.kept_file_names``). A service keeps its file name for
    good: a newcomer whose name slugs the same ("P." after "P") gets the suffix, and the subscribers
    of the first one's feed and pages never see a 404."""
    kept = kept or {}
    unique = set(names)
    out = {n: kept[n] for n in unique if n in kept}
    taken = set(kept.values())
    by_slug: dict[str, list[str]] = defaultdict(list)
    for n in sorted(unique - set(out)):
        by_slug[file_slug(n)].append(n)
    for slug, group in by_slug.items():
        for n in group:
            out[n] = slug if len(group) == 1 and slug not in taken else f"{slug}-{short_hash(n)}"
    return out


def file_names(store: Store, names: list[str]) -> dict[str, str]:
    """:func:`service_slugs` with the names the store keeps."""
    return service_slugs(names, store.kept_file_names())


def change_file(service: str, document: str, version: int, slugs: dict[str, str]) -> str:
    """The change page's file name under ``changes/``."""
    return f"{slugs[service]}-{file_slug(document)}-v{int(version)}.html"




# --------------------------------------------------------------------------- freshness


def code_hash() -> str:
    """What besides the store shapes the bytes: the rendering code and the feedgen and lxml versions.
    Read once per process: it describes the code this process runs."""
    if not _code_hash:
        import feedgen.version  # type: ignore[import-untyped]
        from lxml import etree  # type: ignore[import-untyped]

        h = hashlib.blake2b(digest_size=16)
        here = Path(__file__).resolve().parent.parent
        for p in [here / n for n in _CODE_FILES]:
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        h.update(f"{__version__}|{feedgen.version.version_str}|{etree.LXML_VERSION}".encode())
        _code_hash.append(h.hexdigest())
    return _code_hash[0]


def _key(*parts: object) -> str:
    return hashlib.blake2b(json.dumps(parts, separators=(",", ":")).encode(), digest_size=16).hexdigest()


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    try:
        m = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(m, dict) and m.get("code") == code_hash() and isinstance(m.get("files"), dict) \
                and isinstance(m.get("titles"), dict):
            return m
        if isinstance(m, dict):  # other code wrote it: rebuild everything, but keep what the user chose
            return {"files": {}, "titles": {}, "since": m.get("since"), "base": m.get("base")}
    except (OSError, ValueError):
        pass
    return {"files": {}, "titles": {}}


def _fresh(out_dir: Path, rel: str, key: str, known: dict[str, Any]) -> bool:
    """The file was written by us for these inputs and nobody touched it since (size and mtime)."""
    rec = known.get(rel)
    if not isinstance(rec, list) or len(rec) != 3 or rec[0] != key:
        return False
    try:
        st = os.stat(f"{out_dir}/{rel}")  # not pathlib: called for every managed file of every build
    except OSError:
        return False
    return [st.st_size, st.st_mtime_ns] == rec[1:]


class _Titles:
    """Entry titles (and whether the change carries a priority-tag event) by change fingerprint: kept
    in the manifest for the index, which lists the latest changes' titles but should not need their
    diffs when only a new change was added."""

    def __init__(self, cached: dict[str, Any]) -> None:
        self.by_fp = {k: (v[0], bool(v[1])) for k, v in cached.items()
                      if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)}

    def entry(self, c: ChangeRecord | None, fp: str) -> tuple[str, bool]:
        if fp not in self.by_fp:
            assert c is not None, "a change without a cached title is loaded before rendering"
            self.by_fp[fp] = (entry_title(c), bool(events_of(c.diff)))
        return self.by_fp[fp]

    def of(self, c: ChangeRecord | None, fp: str) -> str:
        return self.entry(c, fp)[0]


# --------------------------------------------------------------------------- the build


def _failing(store: Store, broken_after: int) -> list[FailingDocument]:
    """Documents failing ``broken_after`` times in a row, with the start of their failure episode and
    the moment it crossed the threshold. The episode (``tracker.broken``) ends only after several
    good checks in a row, so a page flapping between failing and working keeps one entry, with one
    id, for the whole episode: feed readers do not show it as new at every flap."""
    from tracker.broken import WINDOW, open_episode

    out = []
    for d in store.failing_documents(broken_after):
        episode = open_episode(store.check_states(d.id, WINDOW), broken_after)
        if episode is None:  # fewer checks kept than failures counted (an old database): the streak
            at = iso(d.last_check_at) or EPOCH
            out.append(FailingDocument(d, at, at))
            continue
        out.append(FailingDocument(d, iso(episode.since) or EPOCH, iso(episode.crossed) or EPOCH))
    return out


def bad_declarations(problems: list[str]) -> list[BadDeclaration]:
    """The declaration problems (``path: what is wrong`` lines) as status entries, one per file, dated
    by the file's modification time so that a rebuild writes the same bytes."""
    out: dict[str, BadDeclaration] = {}
    for line in problems:
        path, sep, error = line.partition(": ")
        if not sep or not path.endswith(".toml") or path in out:
            continue
        try:
            since = iso(os.stat(path).st_mtime) or EPOCH
        except OSError:
            since = EPOCH
        out[path] = BadDeclaration(path, error, since)
    return list(out.values())


STATUS_NOTES = 50  # settled capture notes shown in status.atom (open ones are all shown)


def _status_notes(store: Store) -> list:
    """The capture notes status.atom shows: every open one (held captures, failed import commits) and
    the latest settled ones (accepted, confirmed captures, and outlier commits of an imported archive).
    An outlier fetched live and discarded at the next check is a passing fault, like one failed
    check: once settled it leaves the status feed as it was (its note stays in the database)."""
    open_ = store.capture_notes(open_only=True, kinds=("held", "failed-commit"))
    settled = [n for n in store.capture_notes(kinds=("accepted", "confirmed", "discarded"), limit=STATUS_NOTES)
               if n.kind != "discarded" or n.source_ref]
    return open_ + settled


@dataclass
class _Plan:
    """What a build of the folder would write, found without reading any diff."""

    changes: list[ChangeHead]  # newest first
    services: list[str]
    outputs: list[_Output]
    status: bytes  # status.atom
    kept: dict[str, str]  # the file names the store keeps (Store.kept_file_names)


def _first_build(manifest: dict[str, Any]) -> str:
    """When the folder's feeds began (an empty feed's <updated>): kept in the manifest, else now."""
    since = manifest.get("since")
    return since if isinstance(since, str) else iso(time.time())


def _plan(store: Store, base: str, first_build: str, titles: _Titles, max_entries: int,
          broken_after: int, problems: list[str] | None, aliases: dict[str, str] | None,
          texts: EntryTexts | None = None) -> _Plan:
    with store.read_snapshot():  # one consistent state while the daemon writes
        changes = store.change_heads()
        services = store.service_names()
        since = {k: iso(v) or first_build for k, v in store.services_since().items()}
        since[""] = min(since.values(), default=first_build)
        refs = store.version_sources([c.id for c in changes])
        status, broken = render_status(_failing(store, broken_after), base, broken_after, since[""],
                                       bad_declarations(problems or []), _status_notes(store))
        kept = store.kept_file_names()
        outputs = _outputs(changes, services, base, max_entries, broken, titles, since, refs, kept, aliases, texts)
    return _Plan(changes, services, outputs, status, kept)


def build_feeds(store: Store, out_dir: Path, base_url: str | None = None, max_entries: int = 50,
                broken_after: int = 3, adopt: bool = False, problems: list[str] | None = None,
                aliases: dict[str, str] | None = None) -> list[Path]:
    """Bring every feed, change page and the index up to date with the store; returns the files it
    manages. The bytes are always those of a full rebuild; only files whose inputs changed (or that
    were deleted or edited) are rendered, and only the diffs they show are read. The folder must be
    this database's (:func:`claim_feeds`; ``adopt``: take it over). ``aliases``: former service names
    (declarations' ``former_names``): documents stored under one are in their platform's feed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    claim_feeds(store, out_dir, adopt=adopt)
    manifest = _read_manifest(out_dir)
    base, remembered = link_base(out_dir, base_url, manifest)
    known = manifest["files"]
    titles = _Titles(manifest["titles"])
    first_build = _first_build(manifest)
    texts: EntryTexts = {}
    with store.read_snapshot():
        plan = _plan(store, base, first_build, titles, max_entries, broken_after, problems, aliases, texts)
        stale = [o for o in plan.outputs if not all(_fresh(out_dir, rel, o.key, known) for rel in o.rels)]
        entries = _kept_entries(out_dir, stale, texts, not known)
        records = {}
        stale_ids = {id(o) for o in stale}
        root, folders = str(out_dir), {str(out_dir)}
        for o in plan.outputs:
            if id(o) not in stale_ids:
                records.update({rel: known[rel] for rel in o.rels})
        # Stale files are rendered a chunk at a time, with only the diffs that chunk shows in memory: a
        # full rebuild of years of history never holds every diff at once (issue 20).
        for chunk, full in _chunks(store, stale):
            for o in chunk:
                for rel, data in o.render(full).items():
                    path = f"{root}/{rel}"
                    st = write_atomic(path, data, folders) or os.stat(path)
                    records[rel] = [o.key, st.st_size, st.st_mtime_ns]
    merged = {**plan.kept, **service_slugs(_names(plan.services, plan.changes, aliases), plan.kept)}
    if merged != plan.kept:  # names given for the first time are kept from now on
        store.keep_file_names(merged)
    entries.save({entries.key(*e): (e[0].id, e[1]) for o in plan.outputs for e in o.entries or []}, texts)
    write_atomic(out_dir / "status.atom", plan.status)
    shown = [c.fp for c in plan.changes[:max_entries]]
    shown_titles = {fp: titles.by_fp[fp] for fp in shown if fp in titles.by_fp}
    listing = json.dumps({"code": code_hash(), "files": records, "titles": shown_titles,
                          "since": first_build, "base": remembered},
                         sort_keys=True, separators=(",", ":")) + "\n"
    write_atomic(out_dir / MANIFEST, listing.encode("utf-8"))
    keep = set(records) | {"status.atom"}
    prune(out_dir, keep)
    return [out_dir / rel for rel in sorted(keep)]


RENDER_CHUNK = 400  # diffs in memory at once while rendering


def _kept_entries(out_dir: Path, stale: list[_Output], texts: EntryTexts, first: bool) -> EntryCache:
    """The entry texts kept by earlier builds for the stale feeds' entries, into ``texts``; those feeds
    then need only the diffs of the entries not kept (``first``: no earlier build, nothing to read)."""
    cache = EntryCache(out_dir, code_hash())
    for o in stale:
        if not o.entries:
            continue
        for c, page, source in o.entries:
            memo = (c.id, page)
            if memo not in texts and not first:
                got = cache.load(cache.key(c, page, source))
                if got is not None:
                    texts[memo] = got
                    cache.loaded.add(memo)
        o.needs = [c for c, page, _ in o.entries if (c.id, page) not in texts]
    return cache


def _chunks(store: Store, stale: list[_Output]) -> Iterator[tuple[list[_Output], dict[int, ChangeRecord]]]:
    """The stale outputs in order, in chunks showing at most ``RENDER_CHUNK`` changes, each with their diffs."""
    i = 0
    while i < len(stale):
        chunk: list[_Output] = []
        need: dict[int, ChangeHead] = {}
        while i < len(stale) and (not chunk or len(need) + len(stale[i].needs) <= RENDER_CHUNK):
            chunk.append(stale[i])
            need.update({c.id: c for c in stale[i].needs})
            i += 1
        yield chunk, store.change_records(list(need.values()))


def out_of_date(store: Store, out_dir: Path, base_url: str | None = None, max_entries: int = 50,
                broken_after: int = 3, problems: list[str] | None = None,
                aliases: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(files a build would write, files it would delete): whether the feeds folder matches the store,
    found as a build finds it, writing nothing (the ``doctor`` command)."""
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    base, _ = link_base(out_dir, base_url, manifest)
    known = manifest["files"]
    plan = _plan(store, base, _first_build(manifest), _Titles(manifest["titles"]), max_entries, broken_after,
                 problems, aliases)
    stale = [rel for o in plan.outputs for rel in o.rels if not _fresh(out_dir, rel, o.key, known)]
    keep = {rel for o in plan.outputs for rel in o.rels}
    extra = []
    for sub, exts in (("services", (".atom", ".rss")), ("tags", (".atom", ".rss")), ("changes", (".html",))):
        try:
            extra += [f"{sub}/{e.name}" for e in os.scandir(out_dir / sub)
                      if e.name.endswith(exts) and not e.name.startswith(".") and f"{sub}/{e.name}" not in keep]
        except OSError:
            continue
    return sorted(stale), sorted(extra)


def _names(services: list[str], changes: list[ChangeHead], aliases: dict[str, str] | None) -> list[str]:
    """Every service name that needs a file name: stored ones, and the platforms former names join."""
    from tracker.sources.declarations import service_lanes

    names = list(dict.fromkeys(services + [c.service for c in changes]))
    return names + sorted(set(service_lanes(names, aliases or {}).values()))


@dataclass
class _Output:
    """Files rendered together (a feed's .atom and .rss), the key of their inputs, and the changes
    whose diffs rendering needs."""

    rels: tuple[str, ...]
    key: str
    needs: list[ChangeHead]
    render: Renderer
    entries: list[tuple[ChangeHead, str, str]] | None = None  # a feed's entries: change, page URL, source


@dataclass
class _FeedPlan:
    """A feed as planned from the listed changes (newest first), before any diff is read."""

    path: str  # relative to the feeds folder, without extension
    title: str
    subtitle: str
    changes: list[ChangeHead]
    since: str  # when the feed began: its <updated> while it has no entry


def _outputs(changes: list[ChangeHead], services: list[str], base: str, max_entries: int,
             broken: list[str], titles: _Titles, since: dict[str, str],
             refs: dict[int, tuple[str, str | None]], kept: dict[str, str] | None = None,
             aliases: dict[str, str] | None = None, texts: EntryTexts | None = None) -> list[_Output]:
    """Every file built from the changes (all but status.atom), each with its key and renderer."""
    from tracker.sources.declarations import service_lanes

    code = code_hash()
    lanes = service_lanes(dict.fromkeys(services + [c.service for c in changes]), aliases or {})
    slugs = service_slugs(_names(services, changes, aliases), kept)
    pages = {c.id: change_file(c.service, c.type, c.to_version, slugs) for c in changes}
    plans = [_FeedPlan("all", "Policy changes: all services", "Every significant change of every watched policy",
                       changes, since[""])]
    by_service: dict[str, list[ChangeHead]] = {s: [] for s in slugs if s not in lanes}  # one feed per platform
    by_tag: dict[str, list[ChangeHead]] = {t: [] for t in ALWAYS_TAGS}
    for c in changes:
        by_service[lanes.get(c.service, c.service)].append(c)
        for t in c.tags:
            by_tag.setdefault(t, []).append(c)
    for name in sorted(by_service):
        plans.append(_FeedPlan(f"services/{slugs[name]}", f"Policy changes: {name}",
                               f"Significant changes of {name}'s policies", by_service[name],
                               since.get(name, since[""])))
    tag_files = {t: file_slug(t) for t in by_tag}
    for t in sorted(by_tag):
        plans.append(_FeedPlan(f"tags/{tag_files[t]}", f"Policy changes: {tag_label(t)}",
                               f"Changes tagged {tag_label(t)} in every watched policy", by_tag[t], since[""]))

    sources = {c.id: source_link(c.url, *refs.get(c.id, ("check", None)))[0] for c in changes}
    outputs = []
    texts = {} if texts is None else texts
    for plan in plans:
        shown = plan.changes[:max_entries]
        key = _key("feed", code, base, max_entries, plan.path, plan.title, plan.subtitle,
                   [(c.fp, pages[c.id], sources[c.id]) for c in shown], None if shown else plan.since)
        render = _feed_renderer(plan, shown, base, pages, max_entries, texts, sources)
        outputs.append(_Output(tuple(plan.path + ext for ext in FORMATS), key, shown, render,
                               [(c, base + "changes/" + pages[c.id], sources[c.id]) for c in shown]))

    by_doc: dict[int, list[ChangeHead]] = defaultdict(list)
    for c in changes:
        by_doc[c.document_id].append(c)
    for doc_changes in by_doc.values():
        doc_changes.sort(key=lambda c: c.to_version)
        for i, c in enumerate(doc_changes):
            prev = doc_changes[i - 1] if i > 0 else None
            nxt = doc_changes[i + 1] if i + 1 < len(doc_changes) else None
            links = (PageLink(pages[prev.id], f"← version {prev.to_version}") if prev else None,
                     PageLink(pages[nxt.id], f"version {nxt.to_version} →") if nxt else None)
            platform = lanes.get(c.service, c.service)
            feeds = [PageLink(f"../services/{slugs[platform]}.atom", f"{platform} (Atom)")]
            feeds += [PageLink(f"../tags/{tag_files.get(t, file_slug(t))}.atom", f"{tag_label(t)} (Atom)")
                      for t in c.tags]
            rel = "changes/" + pages[c.id]
            source = source_link(c.url, *refs.get(c.id, ("check", None)))
            key = _key("page", code, c.fp, rel, [(ln.href, ln.text) if ln else None for ln in links],
                       [(f.href, f.text) for f in feeds], source)
            outputs.append(_Output((rel,), key, [c], _page_renderer(c, rel, links, feeds, titles, source)))

    feed_rows = [FeedRow(p.title.removeprefix("Policy changes: "),
                         [PageLink(p.path + ext, name) for ext, name in ((".atom", "Atom"), (".rss", "RSS"),
                                                                          (".json", "JSON Feed"))])
                 for p in plans]
    feed_rows.append(FeedRow("Checks failing", [PageLink("status.atom", "Atom")]))
    latest = changes[:max_entries]
    key = _key("index", code, [(c.fp, pages[c.id]) for c in latest],
               [(f.name, [(ln.href, ln.text) for ln in f.formats]) for f in feed_rows], broken)

    def index(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        rows = []
        for c in latest:
            title, priority = titles.entry(full.get(c.id), c.fp)
            rows.append(IndexRow("changes/" + pages[c.id], title, c.detected_at, c.tags, priority))
        return {"index.html": index_page(rows=rows, feeds=feed_rows, broken=broken).encode("utf-8")}

    outputs.append(_Output(("index.html",), key, [c for c in latest if c.fp not in titles.by_fp], index))

    groups = {"all": "All changes", "services": "Services", "tags": "Tags"}
    opml_feeds = [OpmlFeed(groups.get(p.path.split("/")[0], "Feeds"), p.title, base + p.path + ".atom",
                           base + "index.html") for p in plans]
    opml_feeds.append(OpmlFeed("Status", "Policy tracker: checks failing", base + "status.atom", base + "index.html"))
    key = _key("opml", code, [(f.group, f.title, f.xml_url) for f in opml_feeds])
    opml = render_opml(opml_feeds)
    outputs.append(_Output(("feeds.opml",), key, [], lambda full: {"feeds.opml": opml}))
    return outputs


def _feed_renderer(plan: _FeedPlan, shown: list[ChangeHead], base: str, pages: dict[int, str],
                   max_entries: int, texts: EntryTexts, sources: dict[int, str]) -> Renderer:
    def render(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        # a change whose entry texts are kept (``entries.EntryCache``) is shown from its head alone
        spec = FeedSpec(plan.path, plan.title, plan.subtitle, [full.get(c.id, c) for c in shown], plan.since)
        atom, rss, js = render_feed(spec, base, pages, max_entries, texts=texts, sources=sources)
        return {plan.path + ".atom": atom, plan.path + ".rss": rss, plan.path + ".json": js}
    return render


def _page_renderer(c: ChangeHead, rel: str, links: tuple[PageLink | None, PageLink | None],
                   feeds: list[PageLink], titles: _Titles, source: tuple[str, str]) -> Renderer:
    def render(full: dict[int, ChangeRecord]) -> dict[str, bytes]:
        ch = full[c.id]
        html = change_page(
            service=ch.service, document=ch.type, url=source[0], source_label=source[1],
            from_version=ch.from_version, to_version=ch.to_version, detected_at=ch.detected_at, tags=ch.tags,
            diff=ch.diff, prev=links[0], next=links[1], feeds=feeds, title=titles.of(ch, c.fp))
        return {rel: html.encode("utf-8")}
    return render


