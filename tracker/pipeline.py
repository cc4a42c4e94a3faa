"""One check cycle: fetch -> extract -> guard -> diff -> tag -> store, for many documents at once.

Fetching and extraction run in a thread pool (at most ``jobs`` at once, at most ``per_host`` per
host); every decision that needs the database and every write happen in the calling thread, in
batched transactions with one savepoint per document, so a result is stored whole or not at all.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice

from tracker.analyse import Analysed, Base, analyse, extract_analysed
from tracker.capture import guard
from tracker.capture.browser import fetch_document
from tracker.capture.fetch import Fetcher, host_of
from tracker.models import Document, FetchResult
from tracker.store.codec import PackedVersion
from tracker.store.database import DocumentRow, Store, iso, now_ts, sha256
from tracker.worker import Workers, default_processes

BATCH_SIZE = 100  # documents per transaction
BATCH_SECONDS = 2.0  # ...or this long, whichever comes first


@dataclass
class CheckOutcome:
    """What one document's check came to; printed by ``check`` and logged by the daemon."""

    document: Document
    state: str  # new | unchanged | changed | failed
    reason: str | None = None
    error: str | None = None
    http_status: int | None = None
    bytes: int = 0
    duration: float = 0.0
    version: int | None = None
    significant: int = 0
    tags: list[str] = field(default_factory=list)
    directions: dict[str, str] = field(default_factory=dict)
    change_id: int | None = None
    note: str | None = None
    at: float = 0.0
    retry_after: float | None = None

    def to_dict(self) -> dict:
        d = {"service": self.document.service, "type": self.document.type, "url": self.document.url,
             "state": self.state, "reason": self.reason, "error": self.error, "http_status": self.http_status,
             "bytes": self.bytes, "duration": round(self.duration, 3), "version": self.version,
             "checked_at": iso(self.at)}
        if self.state == "changed":
            d.update(significant_changes=self.significant, tags=self.tags, directions=self.directions,
                     change_id=self.change_id)
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Prepared:
    """The result of the thread-pool part for one document: either a failure/short-cut or content."""

    document: Document
    row: DocumentRow
    fetch: FetchResult
    state: str | None = None  # failed | unchanged when decided early
    reason: str | None = None
    error: str | None = None
    packed: PackedVersion | None = None  # the new version's text and clauses, ready to insert
    analysed: Analysed | None = None  # its diff against the version stored when it was fetched
    raw_sha: str | None = None
    note: str | None = None


# --------------------------------------------------------------------------- thread-pool part


def prepare(doc: Document, row: DocumentRow, fetch: FetchResult,
            offload: Callable[..., tuple] | None = None,
            base: Callable[[int], Base | None] | None = None) -> Prepared:
    """Everything that needs no write: classify the fetch, extract, guard against bad pages and,
    given ``base`` (a reader of the latest stored version), diff and tag against it.

    ``offload(fn, *args)`` runs the CPU-heavy part elsewhere (a worker process) and returns its result.
    """
    p = Prepared(document=doc, row=row, fetch=fetch)
    if not fetch.ok:
        p.state, p.reason, p.error = "failed", fetch.reason or "connection", fetch.error
        return p
    if fetch.not_modified:
        p.state, p.note = "unchanged", "304 not modified"
        return p
    p.raw_sha = sha256(fetch.body)
    if row.raw_sha256 == p.raw_sha and row.versions:
        p.state, p.note = "unchanged", "identical body"
        return p
    previous = base(row.id) if base is not None and row.versions else None
    args = (doc, fetch.body, fetch.encoding, fetch.content_type, fetch.url, fetch.final_url, row.text_length,
            previous)
    p.state, p.reason, p.error, p.packed, p.analysed = (offload(extract_analysed, *args) if offload
                                                        else extract_analysed(*args))
    return p


# --------------------------------------------------------------------------- database part


def commit_prepared(store: Store, p: Prepared, at: float) -> CheckOutcome:
    """Write one document's result (inside the caller's transaction and a savepoint)."""
    doc, f, row = p.document, p.fetch, p.row
    out = CheckOutcome(document=doc, state=p.state or "", reason=p.reason, error=p.error, http_status=f.status,
                       bytes=len(f.body), duration=f.duration, note=p.note, at=at, retry_after=f.retry_after)

    def record(state: str, **fields) -> int:
        return store.record_check(row.id, state=state, at=at, http_status=f.status, nbytes=len(f.body),
                                  duration=f.duration, **fields)

    if p.state == "failed":
        record("failed", reason=p.reason, error=p.error)
        return out
    if p.state == "unchanged":
        # A 304 or an identical body: keep the validators we have unless the server sent new ones.
        record("unchanged", etag=f.etag or row.etag, last_modified=f.last_modified or row.last_modified,
               raw_sha256=p.raw_sha)
        out.version = store.latest_version_number(row.id)
        return out
    assert p.packed is not None
    packed = p.packed
    lang = doc.lang or packed.lang
    validators = {"etag": f.etag, "last_modified": f.last_modified, "raw_sha256": p.raw_sha}
    previous = store.latest_head(row.id)  # read under the write lock: no duplicate versions
    if previous is not None and previous.sha256 == packed.sha256:
        record("unchanged", **validators)
        out.state, out.version, out.note = "unchanged", previous.number, "same text"
        return out
    if previous is not None and previous.snapshot_sha256:
        why = guard.truncated(f.body, store.snapshot(previous.snapshot_sha256))
        if why:
            record("failed", reason="truncated", error=why)
            out.state, out.reason, out.error = "failed", "truncated", why
            return out
    diff = None
    if previous is not None:
        if p.analysed is not None and p.analysed.number == previous.number:
            diff = p.analysed.diff  # computed where the page was extracted, against this very version
        else:
            diff = analyse(store.version_clauses(previous.id), packed.decode_clauses(), lang)
        if not diff.significant:
            record("unchanged", reason="insignificant", **validators)
            out.state, out.version = "unchanged", previous.number
            out.note = f"only insignificant differences ({len(diff.changes)} ignored: dates, formatting, links)"
            return out
    snapshot = store.put_snapshot(f.body, f.content_type, digest=p.raw_sha, compressed=packed.snapshot)
    check_id = record("new" if previous is None else "changed", **validators)
    version_id, number, _ = store.add_packed_version(row.id, packed, recorded_at=at, check_id=check_id,
                                                     snapshot_sha256=snapshot, lang=lang)
    store.link_check_version(check_id, version_id)
    out.version = number
    if previous is None:
        out.state = "new"
        return out
    assert diff is not None
    out.state = "changed"
    out.change_id = store.add_change(row.id, previous.number, number, diff, detected_at=at)
    out.significant = len(diff.significant)
    out.tags = diff.tags()
    for c in diff.significant:
        for tag, direction in c.directions.items():
            out.directions.setdefault(tag, direction)
    return out


# --------------------------------------------------------------------------- the cycle


class HostLimiter:
    """At most ``per_host`` requests at once per host, and at least ``delay`` seconds between starts."""

    def __init__(self, per_host: int = 1, delay: float = 0.0) -> None:
        self.per_host = max(1, per_host)
        self.delay = max(0.0, delay)
        self._sems: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(self.per_host))
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def run(self, url: str, fn: Callable[[], FetchResult]) -> FetchResult:
        host = host_of(url)
        with self._lock:
            sem = self._sems[host]
        with sem:
            if self.delay:
                with self._lock:
                    wait = self._last.get(host, 0.0) + self.delay - time.monotonic()
                    self._last[host] = time.monotonic() + max(0.0, wait)
                if wait > 0:
                    time.sleep(wait)
            return fn()


def run_cycle(
    store: Store,
    docs: Iterable[Document],
    *,
    jobs: int = 8,
    per_host: int = 1,
    host_delay: float = 0.0,
    fetcher: Fetcher | None = None,
    limiter: HostLimiter | None = None,
    on_outcome: Callable[[CheckOutcome], None] | None = None,
    stop: threading.Event | None = None,
    processes: int | None = None,
    workers: Workers | None = None,
) -> list[CheckOutcome]:
    """Check every document once. Results are committed in batches as they arrive.

    ``processes``: helper processes that extract pages beside the fetch threads (None: two on a
    multi-core machine, see :mod:`tracker.worker`); they start only in cycles with many new pages.
    ``workers``: a pool to use instead (the caller closes it).
    """
    docs = list(docs)
    if not docs:
        return []
    rows = store.ensure_documents(docs)
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(pool_size=max(4, jobs))
    limiter = limiter or HostLimiter(per_host, host_delay)
    outcomes: list[CheckOutcome] = []
    pending: list[Prepared] = []
    last_commit = time.monotonic()
    own_workers = workers is None
    if own_workers:
        processes = default_processes() if processes is None else processes
        workers = Workers(processes) if processes and len(docs) > 1 else None
    if workers and sum(1 for d in docs if not rows[d.key].versions) >= workers.start_after:
        workers.warm()  # many first checks: every page will be extracted, start the children now
    reader = store.base_reader()  # changed pages are diffed where they are extracted

    def work(doc: Document) -> Prepared:
        row = rows[doc.key]
        if stop is not None and stop.is_set():
            return Prepared(document=doc, row=row, fetch=FetchResult(url=doc.url, ok=False), state="skipped")
        result = limiter.run(doc.url, lambda: fetch_document(fetcher, doc, row.etag, row.last_modified))
        try:
            return prepare(doc, row, result, workers.run if workers else None, reader)
        except Exception as e:  # a bug in extraction must fail one check, not the cycle
            return Prepared(document=doc, row=row, fetch=result, state="failed", reason="decode",
                            error=f"extraction failed: {type(e).__name__}: {e}")

    def flush() -> None:
        nonlocal pending, last_commit
        if not pending:
            return
        batch, pending = pending, []
        done: list[CheckOutcome] = []
        with store.transaction():
            for p in batch:
                if p.state == "skipped":
                    continue
                at = now_ts()
                try:
                    with store.savepoint():
                        done.append(commit_prepared(store, p, at))
                except Exception as e:  # a bug in diff/tag fails this document's check, not the cycle
                    error = f"processing failed: {type(e).__name__}: {e}"
                    store.record_check(p.row.id, state="failed", at=at, reason="internal", error=error[:500],
                                       http_status=p.fetch.status, nbytes=len(p.fetch.body),
                                       duration=p.fetch.duration)
                    done.append(CheckOutcome(document=p.document, state="failed", reason="internal", error=error,
                                             http_status=p.fetch.status, at=at))
        last_commit = time.monotonic()
        for o in done:
            outcomes.append(o)
            if on_outcome:
                on_outcome(o)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fetch") as pool:
            # A bounded window of submitted documents: memory stays flat however many are declared
            # (a finished future keeps its page and clauses alive until it is dropped).
            queue = iter(docs)
            window = max(1, jobs) * 4
            running = {pool.submit(work, d) for d in islice(queue, window)}
            try:
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        pending.append(fut.result())
                    running |= {pool.submit(work, d) for d in islice(queue, len(done))}
                    del done
                    if len(pending) >= BATCH_SIZE or time.monotonic() - last_commit > BATCH_SECONDS:
                        flush()
            except BaseException:
                for f in running:
                    f.cancel()
                raise
        flush()
    finally:
        if reader is not None:
            reader.close()
        if own_fetcher:
            fetcher.close()
        if workers and own_workers:
            workers.close()
    return outcomes
