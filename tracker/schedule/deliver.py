"""The daemon's notifications: what the outbox holds for its channels, sent one delivery at a time,
and a document gone broken queued as an event. A failed delivery is logged and stays queued: the
daemon's main loop tries again every ``OUTBOX_RETRY`` seconds (``tracker.publish.notify`` keeps the
outbox; this module only decides when to send)."""

from __future__ import annotations

import json
import logging
import threading
import time

from tracker.check import CheckOutcome
from tracker.publish.notify import Notifier
from tracker.schedule.politeness import human_seconds
from tracker.store.database import Store
from tracker.store.records import iso

log = logging.getLogger("tracker.daemon")

OUTBOX_RETRY = 60.0  # seconds between two attempts at notifications that could not be delivered


class Deliveries:
    """Notifications of one daemon, on its connection (``db_lock``: the daemon's lock of it)."""

    def __init__(self, urls: tuple[str, ...], base_url: str | None, db_lock: threading.Lock) -> None:
        self.notifier = Notifier(list(urls), base_url=base_url)
        self.db_lock = db_lock
        self._lock = threading.Lock()
        self._next = 0.0
        self.store: Store

    def start(self, store: Store) -> None:
        self.store = store
        self.notifier.register(store)

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def broken(self, out: CheckOutcome, failures: int) -> None:
        d = out.document
        body = {"event": "check-broken", "service": d.service, "type": d.type, "url": d.url,
                "failures": failures, "reason": out.reason, "error": out.error, "at": iso(out.at),
                "title": f"{d.service} {d.type}: broken",
                "text": f"{d.service} {d.type}: broken after {failures} failed checks in a row ({out.reason})"}
        with self.db_lock:
            row = self.store.document(d.service, d.type)
            self.notifier.queue_event(self.store, f"broken:{d.service}/{d.type}:{int(out.at)}", body,
                                      document_id=row.id if row else None)
        self.send()

    def send(self) -> None:
        """Send what the outbox holds for our channels; failures are logged and stay queued for later.
        One delivery at a time (the database lock is held only to read and mark the queue)."""
        if not self._lock.acquire(blocking=False):
            self._next = 0.0  # one is under way: the main loop runs another right after it
            return
        try:
            self._next = time.monotonic() + OUTBOX_RETRY
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
            self._lock.release()

    def close(self) -> None:
        self.notifier.close()
