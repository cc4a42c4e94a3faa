"""The daemon loop: each declared document checked on its own interval, for months, unattended.

Why it is built this way:
- The schedule lives in our own tables (``documents.last_check_at``/``next_check_at``), not in an
  APScheduler job store: at start-up each document is scheduled at ``max(next due, now)``, so a
  restart neither re-checks everything nor skips a due document. APScheduler (3.x) only wakes jobs up.
- One APScheduler job per document, run by a bounded thread pool (``--jobs``). A job that finds its
  host busy (one fetch per host, ``--host-delay`` between requests) does not block a worker: it moves
  itself a little later. Each job sets its own next run when it ends; APScheduler holds its job-store
  lock while submitting, so this cannot race with its own bookkeeping.
- Results are written in one transaction per check (the check, the version, the change and the next
  due time together), under one lock for the daemon's connection; other processes wait on SQLite's
  busy timeout. On SIGTERM nothing is started any more, in-flight fetches get ``stop_timeout`` seconds,
  and then the process exits while holding that lock, so no commit is ever cut in half.
- A failing document is retried sooner than its interval, with growing delays capped at the interval
  (or later when the server sent Retry-After); after ``broken_after`` failures in a row it is reported
  as broken (``list``, ``feeds/status.atom``) and it recovers on the first good check.
- Declarations are re-read file by file when ``policies/`` changes or on SIGHUP; a bad file is logged
  and its previous declarations kept, because one typo must not stop every other document.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tracker.capture.browser import fetch_document
from tracker.capture.fetch import Fetcher, host_of
from tracker.check import (
    Capture,
    Page,
    check_failed_internally,
    check_fetch,
    wants_page,
)
from tracker.errors import TrackerError
from tracker.models import Document
from tracker.publish.build import build_feeds
from tracker.publish.folder import public_base
from tracker.schedule.deliver import Deliveries
from tracker.schedule.lock import DaemonLock
from tracker.schedule.politeness import TICK, HostGate, due_at, human_seconds, jittered, retry_delay
from tracker.schedule.watch import DeclarationWatcher
from tracker.sources.declarations import former_names
from tracker.store.database import Store, declaration_hash
from tracker.store.records import now_ts
from tracker.workers import EXTRACT_TIMEOUT, Extractors, default_workers, extract

log = logging.getLogger("tracker.daemon")

SAFETY_INTERVAL = 3600  # APScheduler's own interval: only used if a job died before rescheduling
FEEDS_MIN_SPACING = 0.5  # seconds between two feed rebuilds (more when a rebuild is slow)

Key = tuple[str, str]


@dataclass
class Options:
    """Settings of one ``run``; defaults are the CLI defaults."""

    jobs: int = 4
    host_delay: float = 2.0
    jitter: float = 0.1
    broken_after: int = 3
    once: bool = False
    poll: float = 2.0  # seconds between looks at policies/ for changed files
    stop_timeout: float = 8.0  # grace for in-flight fetches on SIGTERM (the whole stop stays under 10 s)
    notify: tuple[str, ...] = ()  # webhook URLs (tracker/notify.py)
    extract_timeout: float = EXTRACT_TIMEOUT  # seconds one page's extraction may take (tracker/workers.py)


@dataclass(frozen=True)
class Paths:
    """Where the daemon reads and writes: the database, the policies folder, the feeds folder."""

    db: Path
    policies: Path
    feeds: Path

    def store(self) -> Store:
        return Store(self.db)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _job_id(key: Key) -> str:
    return f"{key[0]} / {key[1]}"  # neither part may contain a slash


class Daemon:
    def __init__(self, paths: Paths, opts: Options) -> None:
        self.paths = paths
        self.opts = opts
        self.rng = random.Random()
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.feeds_dirty = threading.Event()
        self.db_lock = threading.Lock()  # the daemon's one connection: one user at a time
        self._count_lock = threading.Lock()
        self.in_flight = 0
        self.docs: dict[Key, Document] = {}
        self.pending: set[Key] = set()  # --once: due documents not done yet
        self.gate = HostGate(opts.host_delay)
        self.fetcher = Fetcher(pool_size=max(4, opts.jobs))
        # Pages are extracted in worker processes under a hard deadline: a costly selector stops its
        # check (extract-timeout), never a job of the scheduler or its host's queue.
        self.extractors = Extractors(min(opts.jobs, default_workers()), opts.extract_timeout)
        self.watcher = DeclarationWatcher(paths.policies)
        self.deliveries = Deliveries(opts.notify, public_base(paths.feeds), self.db_lock) if opts.notify else None
        # Opened by run(), which every other method runs under: the connection belongs to the daemon's threads.
        self.store: Store
        self.scheduler: BackgroundScheduler
        self.checks = 0
        self._next_rebuild = 0.0

    # ------------------------------------------------------------------ life cycle

    def run(self) -> int:
        if not self.paths.policies.is_dir():
            raise TrackerError(f"{self.paths.policies}: no such policies folder (use --policies DIR or "
                               "`policy-tracker add`)")
        self.store = self.paths.store()
        if self.deliveries:
            self.deliveries.start(self.store)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=self.opts.jobs)},
            # Explicit, because 3.x defaults to a 1 s misfire grace: a late check is still worth doing
            # (each job sets its own grace below), and after a long pause coalescing gives one
            # catch-up run, not one per missed interval.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": SAFETY_INTERVAL},
        )
        self._install_signals()
        self.extractors.start_early()  # before any thread of the scheduler (tracker/workers.py)
        docs = self.watcher.load()
        if not docs:
            log.warning("no documents declared in %s yet; waiting for declarations", self.paths.policies)
        self._apply(docs, startup=True)
        if self.opts.once:
            log.info("--once: %d of %d document(s) due", len(self.pending), len(self.docs))
        else:
            log.info("started: %d document(s), jobs=%d, host delay %ss, jitter %d%%, pid %d",
                     len(self.docs), self.opts.jobs, self.opts.host_delay, round(self.opts.jitter * 100),
                     os.getpid())
        self._rebuild_feeds()
        self._deliver()  # what earlier runs could not deliver
        self.scheduler.start()
        last_poll = time.monotonic()
        while not self.stop.is_set():
            self.stop.wait(TICK)
            if self.deliveries and self.deliveries.due():
                self.deliveries.send()
            if self.opts.once:
                with self._count_lock:
                    if not self.pending and self.in_flight == 0:
                        break
                continue
            if self.reload.is_set() or time.monotonic() - last_poll >= self.opts.poll:
                last_poll = time.monotonic()
                forced = self.reload.is_set()
                self.reload.clear()
                if forced or self.watcher.changed():
                    log.info("re-reading declarations in %s%s", self.paths.policies, " (SIGHUP)" if forced else "")
                    self._apply(self.watcher.load())
            if self.feeds_dirty.is_set() and time.monotonic() >= self._next_rebuild:
                self._rebuild_feeds()
        return self._shutdown()

    def _install_signals(self) -> None:
        def on_stop(signum, frame) -> None:
            if not self.stop.is_set():
                log.info("%s received: stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda signum, frame: self.reload.set())

    def _shutdown(self) -> int:
        started = time.monotonic()
        self.stop.set()
        try:
            self.scheduler.shutdown(wait=False)  # queued jobs see self.stop and return at once
        except Exception:  # noqa: BLE001 - already stopped
            pass
        deadline = started + self.opts.stop_timeout
        while time.monotonic() < deadline:
            with self._count_lock:
                if self.in_flight == 0:
                    break
            time.sleep(0.05)
        with self._count_lock:
            left = self.in_flight
        if left:
            # Hold the write lock so no commit is under way, then leave: an uncommitted SQLite
            # transaction is rolled back by the next opener, so nothing half-done is ever stored.
            self.db_lock.acquire(timeout=1.5)
            self.extractors.kill_all()
            log.warning("stopped after %.1fs: abandoned %d in-flight fetch(es), nothing of them stored",
                        time.monotonic() - started, left)
            logging.shutdown()
            os._exit(0)
        if self.feeds_dirty.is_set():
            self._rebuild_feeds()
        self._deliver()
        self.fetcher.close()
        self.extractors.close()
        if self.deliveries:
            self.deliveries.close()
        self.store.close()
        if self.opts.once:
            log.info("done: %d check(s)", self.checks)
        else:
            log.info("stopped after %.1fs (%d check(s) this run)", time.monotonic() - started, self.checks)
        return 0

    def once_status(self, started: float) -> int:
        """``--once``'s exit status, as ``check``'s: 2 when a declaration file was bad (its documents
        were left out), else 3 when a document checked by this run failed, else 0."""
        if self.watcher.problems:
            return 2
        with self.paths.store() as store:
            failed = store.failed_since(started)
        return 3 if failed else 0

    # ------------------------------------------------------------------ declarations -> jobs

    def _apply(self, docs: list[Document], startup: bool = False) -> None:
        """Add, change and remove jobs so that they match ``docs``."""
        new = {d.key: d for d in docs}
        old = self.docs
        added = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        changed = [k for k in new if k in old and new[k] != old[k]]
        touched = added + changed
        rows: dict = {}
        before: dict = {}
        if touched:
            with self.db_lock:
                before = {k: self.store.document(*k) for k in changed}
                rows = self.store.ensure_documents([new[k] for k in touched])
        for k in removed:
            self._remove_job(k)
            log.info("%s / %s: no longer declared, not checked any more", *k)
        self.docs = new
        now = time.time()
        for k in touched:
            row, doc = rows[k], new[k]
            due = due_at(doc.interval, row.last_check_at, row.next_check_at, row.consecutive_failures,
                         self.opts.jitter)
            if k in changed and before.get(k) is not None and before[k].declaration_hash != declaration_hash(doc):
                due = now  # a new URL or selector (often the fix of a broken document): look at once
            if self.opts.once:
                if due <= now:
                    self.pending.add(k)
                    self._schedule(k, now)
                else:
                    log.debug("%s: not due until %s", doc.label, _dt(due).isoformat(timespec="seconds"))
                continue
            self._schedule(k, max(due, now))
            if not startup:
                log.info("%s: %s, next check in %s", doc.label, "added" if k in added else "declaration changed",
                         human_seconds(max(0.0, due - now)))
            else:
                log.debug("%s: next check in %s", doc.label, human_seconds(max(0.0, due - now)))
        if not startup and (added or removed or changed):
            self.feeds_dirty.set()

    def _schedule(self, key: Key, when: float) -> None:
        doc = self.docs[key]
        safety = doc.interval + SAFETY_INTERVAL
        self.scheduler.add_job(self._job, trigger=IntervalTrigger(seconds=safety, timezone=UTC), args=[key],
                               id=_job_id(key), name=doc.label, next_run_time=_dt(when), replace_existing=True,
                               misfire_grace_time=safety, coalesce=True, max_instances=1)

    def _reschedule(self, key: Key, when: float) -> None:
        if self.stop.is_set():
            return
        try:
            self.scheduler.modify_job(_job_id(key), next_run_time=_dt(when))
        except JobLookupError:
            pass  # removed from the declarations meanwhile

    def _remove_job(self, key: Key) -> None:
        try:
            self.scheduler.remove_job(_job_id(key))
        except JobLookupError:
            pass

    # ------------------------------------------------------------------ one check

    def _job(self, key: Key) -> None:
        """Run by APScheduler's pool: check one document if its host is free, then set its next run."""
        if self.stop.is_set():
            return
        doc = self.docs.get(key)
        if doc is None:
            self._remove_job(key)
            return
        host = host_of(doc.url)
        wait = self.gate.try_acquire(host)
        if wait > 0:
            log.debug("%s: host %s busy, retrying in %.2fs", doc.label, host, wait)
            self._reschedule(key, time.time() + wait + self.rng.uniform(0, 0.05))
            return
        with self._count_lock:
            self.in_flight += 1
        try:
            next_run: float | None = self._check(doc, host)
        except Exception as e:  # noqa: BLE001 - a bug or a database problem: log it, try again later
            if isinstance(e, sqlite3.Error):  # a full disk, a read-only file...: said in words, with the path
                from tracker.store.trouble import explain

                log.error("%s: check not stored: %s", doc.label, explain(self.paths.db, e))
            else:
                log.error("%s: check failed inside the daemon: %s: %s", doc.label, type(e).__name__, e)
            next_run = time.time() + jittered(retry_delay(doc.interval, 1), self.opts.jitter, self.rng)
        finally:
            self.gate.release(host)
            with self._count_lock:
                self.in_flight -= 1
                if self.opts.once:
                    self.pending.discard(key)
        if self.opts.once:
            self._remove_job(key)
        elif next_run is not None:
            if self.docs.get(key) != doc:  # re-declared while it was being checked: look again
                next_run = min(next_run, time.time() + retry_delay(doc.interval, 1))
            self._reschedule(key, next_run)

    def _check(self, doc: Document, host: str) -> float | None:
        """Fetch, extract, store in one transaction; returns the next due time."""
        with self.db_lock:
            row = self.store.document(doc.service, doc.type)
        if row is None:  # deleted from the database under our feet: recreate the row
            with self.db_lock:
                row = self.store.ensure_documents([doc])[doc.key]
        now = time.time()
        if not self.opts.once:
            due = due_at(doc.interval, row.last_check_at, row.next_check_at, row.consecutive_failures,
                         self.opts.jitter)
            if due > now + 0.5:  # checked meanwhile by `policy-tracker check`: follow the new schedule
                log.debug("%s: checked elsewhere, next check in %s", doc.label, human_seconds(due - now))
                return due
        result = fetch_document(self.fetcher, doc, row.etag, row.last_modified)
        page: Page | None = None
        error: Exception | None = None
        if wants_page(row, result):  # extracted before the write lock is taken
            try:
                page = extract(self.extractors, doc, Capture.from_fetch(result, 0.0), row.text_length,
                               row.text_lang)
            except Exception as e:  # noqa: BLE001 - an extraction bug fails this check, not the daemon
                error = e
        with self.db_lock, self.store.transaction():
            at = now_ts()
            try:
                with self.store.savepoint():
                    if error is not None:
                        raise error
                    out = check_fetch(self.store, row, doc, result, at, page)
            except Exception as e:  # noqa: BLE001 - a bug in diff/tag fails this document's check
                out = check_failed_internally(self.store, row, doc, result, at, e)
            failures = self.store.consecutive_failures(row.id)
            retry_after = out.retry_after if out.state == "failed" else None
            delay = jittered(retry_delay(doc.interval, failures, retry_after), self.opts.jitter, self.rng,
                             floor=retry_after)
            next_run = at + delay
            self.store.set_next_check(row.id, next_run)
        with self._count_lock:
            self.checks += 1
        line = f"{out.line()} | {out.duration:.2f}s {out.bytes} B"
        if out.state == "failed":
            log.warning("%s | failure %d, retry in %s", line, failures, human_seconds(delay))
        else:
            log.info("%s | next in %s", line, human_seconds(delay))
        moved = self._episode(row.id)  # one "broken" and one "recovered" per episode (tracker/broken.py)
        if moved == "broken":
            log.warning("%s: BROKEN after %d failed checks in a row (%s); see feeds/status.atom",
                        doc.label, failures, out.reason)
            self.feeds_dirty.set()
            if self.deliveries:
                self.deliveries.broken(out, failures)
        elif moved == "recovered":
            log.warning("%s: recovered (good checks in a row after a broken spell)", doc.label)
            self.feeds_dirty.set()
        if out.state in ("changed", "new") or out.noted:  # noted: status.atom shows a capture note
            self.feeds_dirty.set()
        if out.state == "changed" and out.change_id is not None:
            self._deliver()  # the change is committed: it is queued with any earlier undelivered one, and sent
        return next_run

    def _episode(self, document_id: int) -> str | None:
        from tracker.broken import WINDOW, transition

        with self.db_lock:
            states = self.store.check_states(document_id, WINDOW)
        return transition(states, self.opts.broken_after)

    def _deliver(self) -> None:
        if self.deliveries:
            self.deliveries.send()

    # ------------------------------------------------------------------ feeds

    def _rebuild_feeds(self) -> None:
        """Rebuild feeds (changes and status.atom) from the store; a failure is logged, never fatal.

        It reads through its own connection (WAL: readers do not block the writers), and the main loop
        spaces rebuilds by twice their duration, so a burst of changes cannot keep it busy.
        """
        self.feeds_dirty.clear()
        started = time.monotonic()
        try:
            with self.paths.store() as reader:
                build_feeds(reader, self.paths.feeds, broken_after=self.opts.broken_after,
                            problems=self.watcher.problem_lines, aliases=former_names(list(self.docs.values())))
        except Exception as e:  # noqa: BLE001 - feeds are rebuilt again at the next change
            log.error("rebuilding feeds in %s failed: %s: %s", self.paths.feeds, type(e).__name__, e)
        took = time.monotonic() - started
        self._next_rebuild = time.monotonic() + max(FEEDS_MIN_SPACING, 2 * took)
        log.debug("feeds rebuilt in %.2fs", took)


def run_daemon(paths: Paths, opts: Options) -> int:
    """Take the database lock, run until SIGTERM/SIGINT (or, with ``once``, until due documents are done)."""
    lock = DaemonLock(paths.db)
    lock.acquire()
    try:
        started = time.time()
        daemon = Daemon(paths, opts)
        status = daemon.run()
        if opts.once and status == 0:
            status = daemon.once_status(started)
        return status
    finally:
        lock.release()
