"""One check cycle over many documents: fetch and extract in threads, decide and store in one.

Fetching runs in a thread pool (at most ``jobs`` at once, at most ``per_host`` per host); each page
is extracted in a worker process under a hard deadline (:mod:`tracker.workers`), so that no page or
selector holds a fetch thread past it. What each capture
means is decided by :func:`tracker.check.check_fetch` in the calling thread, which holds the
database: in batched transactions with one savepoint per document, so a result is stored whole or
not at all.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from tracker.capture.browser import fetch_document
from tracker.capture.fetch import Fetcher, host_of
from tracker.check import (
    Capture,
    CheckOutcome,
    Page,
    check_failed_internally,
    check_fetch,
    wants_page,
)
from tracker.models import Document, FetchResult
from tracker.store.database import Store
from tracker.store.records import DocumentRow, now_ts
from tracker.workers import EXTRACT_TIMEOUT, Extractors, default_workers, extract

BATCH_SIZE = 100  # documents per transaction
BATCH_SECONDS = 2.0  # ...or this long, whichever comes first


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


@dataclass
class Fetched:
    """One document's fetch, and its extraction when the page needs one."""

    document: Document
    row: DocumentRow
    result: FetchResult
    page: Page | None = None
    error: Exception | None = None  # a bug in extraction: this document's check fails, not the cycle


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
    extract_timeout: float = EXTRACT_TIMEOUT,
) -> list[CheckOutcome]:
    """Check every document once. Results are committed in batches as they arrive.

    ``processes``: extraction worker processes (None: :func:`tracker.workers.default_workers`; 0: none,
    pages are extracted in the fetch threads without a deadline). They are started when the first page
    needs extracting: a cycle of 304s and identical pages starts none. ``extract_timeout``: seconds one
    page's extraction may take before its worker is killed and the check fails (``extract-timeout``).
    """
    docs = list(docs)
    if not docs:
        return []
    rows = store.ensure_documents(docs)
    size = default_workers() if processes is None else processes
    extractors = Extractors(size, extract_timeout) if size else None
    if extractors is not None:
        extractors.start_early()  # before the fetch threads: a fork is safe only while there are none
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(pool_size=max(4, jobs))
    limiter = limiter or HostLimiter(per_host, host_delay)
    outcomes: list[CheckOutcome] = []
    pending: list[Fetched] = []
    last_commit = time.monotonic()

    def work(doc: Document) -> Fetched | None:
        if stop is not None and stop.is_set():
            return None
        row = rows[doc.key]
        result = limiter.run(doc.url, lambda: fetch_document(fetcher, doc, row.etag, row.last_modified))
        f = Fetched(doc, row, result)
        if wants_page(row, result):
            try:
                f.page = extract(extractors, doc, Capture.from_fetch(result, 0.0), row.text_length, row.text_lang)
            except Exception as e:  # noqa: BLE001 - recorded as this document's failure
                f.error = e
        return f

    def flush() -> None:
        nonlocal pending, last_commit
        if not pending:
            return
        batch, pending = pending, []
        done: list[CheckOutcome] = []
        with store.transaction():
            for f in batch:
                at = now_ts()
                try:
                    with store.savepoint():
                        if f.error is not None:
                            raise f.error
                        done.append(check_fetch(store, f.row, f.document, f.result, at, f.page))
                except Exception as e:  # noqa: BLE001 - a bug fails this document's check, not the cycle
                    done.append(check_failed_internally(store, f.row, f.document, f.result, at, e))
        last_commit = time.monotonic()
        for o in done:
            outcomes.append(o)
            if on_outcome:
                on_outcome(o)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fetch") as threads:
            # A bounded window of submitted documents: memory stays flat however many are declared
            # (a finished future keeps its page and clauses alive until it is dropped).
            queue = iter(docs)
            window = max(1, jobs) * 4
            running = {threads.submit(work, d) for d in islice(queue, window)}
            try:
                while running:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        fetched = fut.result()
                        if fetched is not None:
                            pending.append(fetched)
                    running |= {threads.submit(work, d) for d in islice(queue, len(finished))}
                    del finished
                    if len(pending) >= BATCH_SIZE or time.monotonic() - last_commit > BATCH_SECONDS:
                        flush()
            except BaseException:
                for fut in running:
                    fut.cancel()
                raise
        flush()
    finally:
        if extractors is not None:
            extractors.close()
        if own_fetcher:
            fetcher.close()
    return outcomes

