"""The daemon: each declared document checked on its own interval, for months, unattended.

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

import fcntl
import json
import logging
import logging.handlers
import os
import random
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tracker.errors import DeclarationError, TrackerError
from tracker.models import Document

log = logging.getLogger("tracker.daemon")

MIN_RETRY = 0.5  # seconds: the shortest back-off, whatever the interval
FIRST_RETRY_FRACTION = 1 / 8  # first retry after interval/8, then doubling up to the interval
RETRY_AFTER_CAP = 30 * 86400  # a Retry-After longer than this is treated as this
SAFETY_INTERVAL = 3600  # APScheduler's own interval: only used if a job died before rescheduling
FEEDS_MIN_SPACING = 0.5  # seconds between two feed rebuilds (more when a rebuild is slow)
TICK = 0.25  # main loop granularity (signals, reloads, feed rebuilds, --once completion)
OUTBOX_RETRY = 60.0  # seconds between two attempts at notifications that could not be delivered

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


# --------------------------------------------------------------------------- pure timing rules


def retry_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next check, before jitter.

    No failure: the interval. After n failures in a row: interval/8 * 2^(n-1), at least MIN_RETRY and
    at most the interval, so a brief outage is noticed to be over soon and a dead page costs no more
    than its normal schedule. A Retry-After from the server is a floor (capped at 30 days).
    """
    if failures <= 0:
        base = float(interval)
    else:
        grow = interval * FIRST_RETRY_FRACTION * 2 ** min(failures - 1, 40)
        base = min(float(interval), max(MIN_RETRY, grow))
    if retry_after:
        base = max(base, min(retry_after, RETRY_AFTER_CAP))
    return base


def jittered(seconds: float, jitter: float, rng: random.Random, floor: float | None = None) -> float:
    """``seconds`` ± ``jitter`` (a fraction), never below ``floor`` (a Retry-After) or MIN_RETRY/2."""
    value = seconds * (1 + rng.uniform(-jitter, jitter)) if jitter > 0 else seconds
    return max(value, floor or 0.0, min(seconds, MIN_RETRY / 2))


def due_at(interval: float, last_check_at: float | None, next_check_at: float | None, failures: int,
           jitter: float) -> float:
    """When a document is next due, from what is stored (0 = never checked, due now).

    The stored ``next_check_at`` (jitter, back-off and Retry-After included) is trusted when it is
    consistent with the last check and the current interval; otherwise (the interval was shortened,
    or `check` ran by hand after it was computed) the due time is recomputed from the last check.
    """
    if last_check_at is None:
        return next_check_at or 0.0
    if next_check_at is not None and next_check_at >= last_check_at:
        longest = RETRY_AFTER_CAP if failures else interval * (1 + jitter)
        if next_check_at <= last_check_at + longest + 1:
            return next_check_at
    return last_check_at + retry_delay(interval, failures)


def human_seconds(s: float) -> str:
    if s < 10:
        return f"{s:.1f}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.1f}{unit}".replace(".0", "")
    return f"{s:.0f}s"


def parse_jitter(value: str | float) -> float:
    """'10%' or '0.1' -> 0.1; between 0 and 0.5 (more would let a check run at twice the rate)."""
    text = str(value).strip()
    try:
        j = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a fraction such as 0.1 or 10%") from None
    if not 0 <= j <= 0.5:
        raise ValueError(f"{value!r} is out of range (0 to 50%)")
    return j


# --------------------------------------------------------------------------- building blocks


class HostGate:
    """At most one fetch per host, and ``delay`` seconds from the end of one to the start of the next.

    ``try_acquire`` never blocks: it says how long to wait, so a worker thread is never parked on a
    busy host while documents of other hosts are due.
    """

    def __init__(self, delay: float) -> None:
        self.delay = max(0.0, delay)
        self._busy: set[str] = set()
        self._free_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def try_acquire(self, host: str) -> float:
        with self._lock:
            if host in self._busy:
                return max(self.delay, TICK)
            wait = self._free_at.get(host, 0.0) - time.monotonic()
            if wait > 0:
                return wait
            self._busy.add(host)
            return 0.0

    def release(self, host: str) -> None:
        with self._lock:
            self._busy.discard(host)
            self._free_at[host] = time.monotonic() + self.delay


class DaemonLock:
    """``fcntl.flock`` on ``<db>.lock``: one daemon per database; the kernel frees it if we die."""

    def __init__(self, db: Path) -> None:
        self.path = Path(str(db) + ".lock")
        self._fh = None

    def acquire(self) -> None:
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process lifetime
        except OSError as e:
            raise TrackerError(f"{self.path}: cannot create the daemon lock file: {e.strerror or e}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise TrackerError(f"another `policy-tracker run` (pid {pid}) is already using {self.path.with_suffix('')}"
                               f"; stop it first (lock file {self.path})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class DeclarationWatcher:
    """Loads ``policies/*.toml`` file by file and notices when they change (mtime and size polling)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._by_file: dict[Path, list[Document]] = {}
        self._loaded_stamp: tuple | None = None
        self._missing_logged = False
        self.problems = 0  # files left out (or kept as they were) at the last load, for `run --once`

    def stamp(self) -> tuple | None:
        try:
            files = sorted(self.folder.glob("*.toml"))
            return tuple((p.name, st.st_mtime_ns, st.st_size) for p in files for st in [p.stat()])
        except OSError:
            return None

    def changed(self) -> bool:
        """True once the folder differs from what was loaded and has stayed the same for a moment."""
        first = self.stamp()
        if first == self._loaded_stamp:
            return False
        time.sleep(0.3)  # an editor may still be writing: wait for the folder to settle
        return self.stamp() == first

    def load(self) -> list[Document]:
        """Every loadable declaration; a bad file is logged and keeps its previous documents."""
        from tracker.sources.declarations import load_file

        self._loaded_stamp = self.stamp()
        if not self.folder.is_dir():
            if not self._missing_logged:
                log.error("%s: policies folder is missing; keeping the previous declarations", self.folder)
                self._missing_logged = True
            return [d for docs in self._by_file.values() for d in docs]
        self._missing_logged = False
        docs: list[Document] = []
        seen: dict[str, Path] = {}
        current: dict[Path, list[Document]] = {}
        self.problems = 0
        for path in sorted(self.folder.glob("*.toml")):
            try:
                file_docs = load_file(path)
                name = file_docs[0].service.casefold()
                if name in seen:
                    raise DeclarationError(f"{path}: name: service {file_docs[0].service!r} is already "
                                           f"declared in {seen[name]}")
            except DeclarationError as e:
                self.problems += 1
                previous = self._by_file.get(path, [])
                log.error("%s (%s)", e, "keeping its previous declarations" if previous
                          else "its documents are not scheduled")
                file_docs = [d for d in previous if d.service.casefold() not in seen]
            if file_docs:
                seen[file_docs[0].service.casefold()] = path
            current[path] = file_docs
            docs.extend(file_docs)
        self._by_file = current
        return docs


# --------------------------------------------------------------------------- the daemon


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _job_id(key: Key) -> str:
    return f"{key[0]} / {key[1]}"  # neither part may contain a slash


class Daemon:
    def __init__(self, cfg, opts: Options) -> None:
        from tracker.capture.fetch import Fetcher

        self.cfg = cfg
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
        self.watcher = DeclarationWatcher(cfg.policies)
        self.notifier = None
        if opts.notify:
            from tracker.publish.build import public_base
            from tracker.publish.notify import Notifier

            self.notifier = Notifier(list(opts.notify), base_url=public_base(cfg.feeds))
        self._deliver_lock = threading.Lock()
        self._next_delivery = 0.0
        self.store = None
        self.scheduler = None
        self.checks = 0
        self._next_rebuild = 0.0

    # ------------------------------------------------------------------ life cycle

    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        if not self.cfg.policies.is_dir():
            raise TrackerError(f"{self.cfg.policies}: no such policies folder (use --policies DIR or "
                               "`policy-tracker add`)")
        self.store = self.cfg.store()
        if self.notifier:
            self.notifier.register(self.store)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=self.opts.jobs)},
            # Explicit, because 3.x defaults to a 1 s misfire grace: a late check is still worth doing
            # (each job sets its own grace below), and after a long pause coalescing gives one
            # catch-up run, not one per missed interval.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": SAFETY_INTERVAL},
        )
        self._install_signals()
        docs = self.watcher.load()
        if not docs:
            log.warning("no documents declared in %s yet; waiting for declarations", self.cfg.policies)
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
            if self.notifier and time.monotonic() >= self._next_delivery:
                self._deliver()
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
                    log.info("re-reading declarations in %s%s", self.cfg.policies, " (SIGHUP)" if forced else "")
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
            log.warning("stopped after %.1fs: abandoned %d in-flight fetch(es), nothing of them stored",
                        time.monotonic() - started, left)
            logging.shutdown()
            os._exit(0)
        if self.feeds_dirty.is_set():
            self._rebuild_feeds()
        self._deliver()
        self.fetcher.close()
        if self.notifier:
            self.notifier.close()
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
        with self.cfg.store() as store:
            failed = store.conn.execute("SELECT COUNT(*) FROM documents WHERE last_state = 'failed' "
                                        "AND last_check_at >= ?", (started,)).fetchone()[0]
        return 3 if failed else 0

    # ------------------------------------------------------------------ declarations -> jobs

    def _apply(self, docs: list[Document], startup: bool = False) -> None:
        """Add, change and remove jobs so that they match ``docs``."""
        from tracker.store.database import declaration_hash

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
        from apscheduler.triggers.interval import IntervalTrigger

        doc = self.docs[key]
        safety = doc.interval + SAFETY_INTERVAL
        self.scheduler.add_job(self._job, trigger=IntervalTrigger(seconds=safety, timezone=UTC), args=[key],
                               id=_job_id(key), name=doc.label, next_run_time=_dt(when), replace_existing=True,
                               misfire_grace_time=safety, coalesce=True, max_instances=1)

    def _reschedule(self, key: Key, when: float) -> None:
        from apscheduler.jobstores.base import JobLookupError

        if self.stop.is_set():
            return
        try:
            self.scheduler.modify_job(_job_id(key), next_run_time=_dt(when))
        except JobLookupError:
            pass  # removed from the declarations meanwhile

    def _remove_job(self, key: Key) -> None:
        from apscheduler.jobstores.base import JobLookupError

        try:
            self.scheduler.remove_job(_job_id(key))
        except JobLookupError:
            pass

    # ------------------------------------------------------------------ one check

    def _job(self, key: Key) -> None:
        """Run by APScheduler's pool: check one document if its host is free, then set its next run."""
        from tracker.capture.fetch import host_of

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
        from tracker.capture.browser import fetch_document
        from tracker.check import Capture, Page, check_failed_internally, check_fetch, read_page, wants_page
        from tracker.store.database import now_ts

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
                page = read_page(doc, Capture.from_fetch(result, 0.0), row.text_length)
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
        before = row.consecutive_failures
        broken = self.opts.broken_after
        if before < broken <= failures:
            log.warning("%s: BROKEN after %d failed checks in a row (%s); see feeds/status.atom",
                        doc.label, failures, out.reason)
            self.feeds_dirty.set()
            if self.notifier:
                self._notify_broken(out, failures)
        elif before >= broken and failures == 0:
            log.warning("%s: recovered after %d failed checks", doc.label, before)
            self.feeds_dirty.set()
        if out.state in ("changed", "new") or out.noted:  # noted: status.atom shows a capture note
            self.feeds_dirty.set()
        if out.state == "changed" and out.change_id is not None and self.notifier:
            self._notify_change(out.change_id)
        return next_run

    def _notify_change(self, change_id: int) -> None:
        """Queue the stored change (after its commit) with any earlier undelivered one, and send them."""
        self._deliver()

    def _notify_broken(self, out, failures: int) -> None:
        from tracker.store.database import iso

        d = out.document
        body = {"event": "check-broken", "service": d.service, "type": d.type, "url": d.url,
                "failures": failures, "reason": out.reason, "error": out.error, "at": iso(out.at),
                "title": f"{d.service} {d.type}: broken",
                "text": f"{d.service} {d.type}: broken after {failures} failed checks in a row ({out.reason})"}
        with self.db_lock:
            row = self.store.document(d.service, d.type)
            self.notifier.queue_event(self.store, f"broken:{d.service}/{d.type}:{int(out.at)}", body,
                                      document_id=row.id if row else None)
        self._deliver()

    def _deliver(self) -> None:
        """Send what the outbox holds for our channels; failures are logged and stay queued for later.
        One delivery at a time (the database lock is held only to read and mark the queue)."""
        if not self.notifier:
            return
        if not self._deliver_lock.acquire(blocking=False):
            self._next_delivery = 0.0  # one is under way: the main loop runs another right after it
            return
        try:
            self._next_delivery = time.monotonic() + OUTBOX_RETRY
            with self.db_lock:
                errors = self.notifier.queue_changes(self.store)
                claimed = {ch.key: self.store.outbox_claim(ch.key) for ch in self.notifier.channels}
            for ch in self.notifier.channels:
                for oid, _event, data in claimed[ch.key]:
                    err = ch.send(json.loads(data))
                    with self.db_lock:
                        self.store.outbox_done(oid, err)
                    if err:
                        errors.append(f"notify {ch.label}: {err}; kept, tried again in {human_seconds(OUTBOX_RETRY)}")
            for err in errors:
                log.warning("%s", err)
        finally:
            self._deliver_lock.release()

    # ------------------------------------------------------------------ feeds

    def _rebuild_feeds(self) -> None:
        """Rebuild feeds (changes and status.atom) from the store; a failure is logged, never fatal.

        It reads through its own connection (WAL: readers do not block the writers), and the main loop
        spaces rebuilds by twice their duration, so a burst of changes cannot keep it busy.
        """
        self.feeds_dirty.clear()
        started = time.monotonic()
        try:
            from tracker.publish.build import build_feeds
        except ImportError:
            log.debug("feeds stage not available; feeds not rebuilt")
            return
        try:
            with self.cfg.store() as reader:
                build_feeds(reader, self.cfg.feeds, broken_after=self.opts.broken_after)
        except Exception as e:  # noqa: BLE001 - feeds are rebuilt again at the next change
            log.error("rebuilding feeds in %s failed: %s: %s", self.cfg.feeds, type(e).__name__, e)
        took = time.monotonic() - started
        self._next_rebuild = time.monotonic() + max(FEEDS_MIN_SPACING, 2 * took)
        log.debug("feeds rebuilt in %.2fs", took)


# --------------------------------------------------------------------------- entry point


class QuietFilter(logging.Filter):
    """``--quiet``: warnings and errors (failures among them), and one line per stored change, which is
    what a person reading the log of a cron job wants; no unchanged checks, no scheduling.

    A change is a record with ``extra={"event": "changed"}``, or an INFO line of the form that
    ``check`` prints for one (``Service / Type: changed -> vN, ...``)."""

    _CHANGED = re.compile(r"^[^|]*: changed -> v\d+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if getattr(record, "event", None) in ("changed", "failed"):
            return True
        return record.levelno == logging.INFO and bool(self._CHANGED.match(record.getMessage()))


def setup_logging(log_file: str | None, quiet: bool, verbose: bool) -> None:
    """One line per event: to stderr, or to ``log_file`` (reopened when logrotate moves it)."""
    if log_file:
        try:
            handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        except OSError as e:
            raise TrackerError(f"{log_file}: cannot open the log file: {e.strerror or e}") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    for name in ("tracker", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.propagate = False
    level = logging.DEBUG if verbose else logging.INFO
    if quiet:
        handler.addFilter(QuietFilter())
    logging.getLogger("tracker").setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)


def run_daemon(cfg, opts: Options) -> int:
    """Take the database lock, run until SIGTERM/SIGINT (or, with ``once``, until due documents are done)."""
    lock = DaemonLock(cfg.db)
    lock.acquire()
    try:
        started = time.time()
        daemon = Daemon(cfg, opts)
        status = daemon.run()
        if opts.once and status == 0:
            status = daemon.once_status(started)
        return status
    finally:
        lock.release()
