"""The report's rows of each change, kept ready to read (issue 20): ``report`` is then one indexed query
and never decodes a diff, however many years of history the file holds.

``report_rows`` holds, per change, the rows ``tracker.publish.report`` makes of its stored diff
(compact JSON, zlib'd; NULL when it makes none) and ``stamp``, the number of the row format they are
in. Triggers (migration 7) drop a change's rows when its diff is rewritten (``replace_change_diff``,
a backfill), when it is deleted, and when a change is inserted with its id, whoever writes: no diff
is read to know whether kept rows are fresh. The rows are made by whoever reads them first
(``report``, or ``import-versions`` at its end), so a file written by any release stays right.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass

from tracker.store.connection import Connection
from tracker.store.records import ChangeHead, ChangeRecord, change_filters, iso


@dataclass
class ReportHead:
    """A significant change as the report lists it: its head, and its rows when kept and still fresh."""

    head: ChangeHead
    stamp: str  # the row format's number
    rows: list | None  # decoded rows (see ``tracker.publish.report.row_values``); None: not kept or stale


class ReportRows(Connection):
    def report_heads(self, *, fmt: int, service: str | None = None, tag: str | None = None,
                     since: float | None = None) -> list[ReportHead]:
        """Significant changes, newest first, filtered as ``Store.changes`` filters them, with their kept
        rows (``fmt``: the row format the caller reads; rows kept in another are stale). Changes kept
        with no row are left out."""
        sql = ("SELECT c.id, c.document_id, d.service, d.type, d.url, c.from_version, c.to_version, c.detected_at, "
               "c.tags, r.stamp, r.rows FROM changes c JOIN documents d ON d.id = c.document_id "
               "LEFT JOIN report_rows r ON r.change_id = c.id WHERE c.significant > 0")
        where, args = change_filters(service, since, tag)
        sql += where
        sql += " ORDER BY c.detected_at DESC, c.id DESC"
        out = []
        stamp = str(fmt)
        for r in self.conn.execute(sql, args):
            rows = None
            if r[9] == stamp:
                if r[10] is None:  # kept, and no row: nothing to read (most changes of a long history)
                    continue
                rows = json.loads(zlib.decompress(r[10]))
            head = ChangeHead(r[0], r[1], r[2], r[3], r[4], r[5], r[6], iso(r[7]) or "", json.loads(r[8]), stamp)
            out.append(ReportHead(head, stamp, rows))
        return out

    def report_records(self, heads: list[ReportHead]) -> dict[int, ChangeRecord]:
        """The full records (diff decoded) of changes whose rows must be made."""
        return self.change_records([h.head for h in heads])  # type: ignore[attr-defined]

    def keep_report_rows(self, made: list[tuple[int, str, list]]) -> bool:
        """Keep rows made for changes: (change id, stamp, rows). False when the file cannot be written now
        (read-only, or locked past the busy timeout): the report is right anyway, only slower next time."""
        if not made:
            return True
        values = [(cid, stamp, zlib.compress(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                                             9) if rows else None) for cid, stamp, rows in made]
        sql = "INSERT OR REPLACE INTO report_rows (change_id, stamp, rows) VALUES (?, ?, ?)"
        try:
            if self.conn.in_transaction:  # inside the caller's (an import's last batch)
                self.conn.executemany(sql, values)
            else:
                with self.transaction():
                    self.conn.executemany(sql, values)
        except sqlite3.OperationalError:
            return False
        return True
