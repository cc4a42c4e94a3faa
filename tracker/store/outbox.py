"""Queries of the notifications outbox (``tracker.publish.notify``): one row per event and channel,
claimed before sending and marked after, so a dead channel delays a message instead of losing it."""

from __future__ import annotations

from tracker.store.connection import Connection
from tracker.store.records import now_ts


class Outbox(Connection):
    """Notifications waiting for delivery (a part of :class:`~tracker.store.database.Store`)."""

    def outbox_backlog(self) -> tuple[int, float | None]:
        """(undelivered notifications, when the oldest was queued)."""
        return self.conn.execute("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE delivered_at IS NULL").fetchone()

    def outbox_channel(self, channel: str) -> None:
        """Register a channel: from now on, changes stored after the latest existing one are queued for it."""
        self.conn.execute(
            "INSERT OR IGNORE INTO outbox_channels (channel, last_change_id, added_at) "
            "VALUES (?, COALESCE((SELECT MAX(id) FROM changes), 0), ?)", (channel, now_ts()))

    def outbox_unqueued_changes(self, channel: str) -> list[int]:
        """Ids of significant changes found by checks (not imported history) not yet queued for ``channel``."""
        row = self.conn.execute("SELECT last_change_id FROM outbox_channels WHERE channel=?", (channel,)).fetchone()
        if row is None:
            return []
        return [r[0] for r in self.conn.execute(
            "SELECT c.id FROM changes c JOIN versions v ON v.document_id = c.document_id AND v.number = c.to_version "
            "WHERE c.id > ? AND c.significant > 0 AND v.source = 'check' ORDER BY c.id", (row[0],))]

    def outbox_queue(self, channel: str, event: str, payload: str, document_id: int | None = None,
                     change_id: int | None = None) -> None:
        """Queue an event for a channel (once: the same event is never queued twice for it)."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO outbox (channel, event, document_id, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                (channel, event, document_id, payload, now_ts()))
            if change_id is not None:
                self.conn.execute("UPDATE outbox_channels SET last_change_id = MAX(last_change_id, ?) WHERE channel=?",
                                  (change_id, channel))

    def outbox_claim(self, channel: str, lease: float = 300.0, limit: int = 100) -> list[tuple[int, str, str]]:
        """Undelivered events of a channel, oldest first, as (id, event, payload), each claimed for ``lease``
        seconds so that another process delivering at the same moment skips it (never sent twice)."""
        now = now_ts()
        rows = self.conn.execute(
            "SELECT id, event, payload FROM outbox WHERE channel=? AND delivered_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?", (channel, now, limit)).fetchall()
        claimed = []
        for oid, event, payload in rows:
            cur = self.conn.execute(
                "UPDATE outbox SET claimed_until=? WHERE id=? AND delivered_at IS NULL "
                "AND (claimed_until IS NULL OR claimed_until < ?)", (now + lease, oid, now))
            if cur.rowcount == 1:
                claimed.append((oid, event, payload))
        return claimed

    def outbox_done(self, outbox_id: int, error: str | None = None) -> None:
        """The outcome of one delivery attempt: delivered (no error) or kept for a later cycle."""
        now = now_ts()
        if error is None:
            self.conn.execute("UPDATE outbox SET delivered_at=?, last_attempt_at=?, attempts=attempts+1, "
                              "last_error=NULL, claimed_until=NULL WHERE id=?", (now, now, outbox_id))
        else:
            self.conn.execute("UPDATE outbox SET last_attempt_at=?, attempts=attempts+1, last_error=?, "
                              "claimed_until=NULL WHERE id=?", (now, error[:500], outbox_id))

    def outbox_pending(self, channel: str | None = None) -> int:
        """Events not delivered yet (of one channel, or of all)."""
        sql, args = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL", []
        if channel is not None:
            sql += " AND channel=?"
            args.append(channel)
        return self.conn.execute(sql, args).fetchone()[0]
