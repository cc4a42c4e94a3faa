"""Queries of capture notes (``tracker.check``: returns to an earlier text, held suspect captures,
re-baselines, failed import commits) and of the archive commits an import has processed."""

from __future__ import annotations

from tracker.store.codec import PackedVersion, encode_text
from tracker.store.connection import Connection, row_id
from tracker.store.records import CaptureNote, HeldCapture, VersionHead


class CaptureNotes(Connection):
    """Capture notes and import marks (a part of :class:`~tracker.store.database.Store`)."""

    def imported_commits(self, document_id: int) -> set[str]:
        """The archive commits already imported into a document (whatever they came to)."""
        return {r[0] for r in self.conn.execute("SELECT commit_sha FROM imported_commits WHERE document_id=?",
                                                (document_id,))}

    def mark_imported(self, document_id: int, commit: str, outcome: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO imported_commits (document_id, commit_sha, outcome) VALUES (?, ?, ?)",
                          (document_id, commit, outcome))

    # ------------------------------------------------------------------ capture notes

    def earlier_version_with_text(self, document_id: int, text_sha256: str, before: int) -> int | None:
        """The latest version before number ``before`` whose text has this hash (a return to it), or None."""
        return self.conn.execute("SELECT MAX(number) FROM versions WHERE document_id=? AND sha256=? AND number<?",
                                 (document_id, text_sha256, before)).fetchone()[0]

    def earlier_heads(self, document_id: int, before: int, limit: int) -> list[VersionHead]:
        """The ``limit`` latest versions before number ``before``, newest first, without their texts."""
        return [VersionHead(*r) for r in self.conn.execute(
            "SELECT id, number, sha256, snapshot_sha256, length, lang FROM versions WHERE document_id=? AND number<? "
            "ORDER BY number DESC LIMIT ?", (document_id, before, limit))]

    def transition_seen(self, document_id: int, from_sha256: str, to_sha256: str) -> bool:
        """Whether the document already went once from the first text straight to the second (a flap)."""
        return self.conn.execute(
            "SELECT 1 FROM versions a JOIN versions b ON b.document_id = a.document_id AND b.number = a.number + 1 "
            "WHERE a.document_id=? AND a.sha256=? AND b.sha256=? LIMIT 1",
            (document_id, from_sha256, to_sha256)).fetchone() is not None

    def add_capture_note(self, document_id: int, *, at: float, kind: str, note: str, version: int | None = None,
                         source_ref: str | None = None, open_: bool = False) -> int:
        cur = self.conn.execute(
            "INSERT INTO capture_notes (document_id, at, kind, note, version, source_ref, open) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (document_id, at, kind, note[:1000], version, source_ref, int(open_)))
        return row_id(cur)

    def hold_capture(self, document_id: int, *, at: float, note: str, packed: PackedVersion, count: int = 1,
                     source_ref: str | None = None) -> None:
        """Keep a suspect or refused capture (packed, to become the reference if confirmed) in place of
        the one held before; ``count``: how many suspect captures in a row it ends."""
        self.conn.execute("UPDATE capture_notes SET open=0 WHERE document_id=? AND kind='held' AND open=1",
                          (document_id,))
        self.conn.execute(
            "INSERT INTO capture_notes (document_id, at, kind, note, source_ref, open, count, sha256, length, text, "
            "clauses) VALUES (?, ?, 'held', ?, ?, 1, ?, ?, ?, ?, ?)",
            (document_id, at, note[:1000], source_ref, count, packed.sha256, packed.length,
             packed.text if isinstance(packed.text, bytes) else encode_text(packed.text), packed.clauses))

    def held_capture(self, document_id: int) -> HeldCapture | None:
        """The capture held for a document, awaiting confirmation, or None."""
        row = self.conn.execute(
            "SELECT id, at, note, count, source_ref, sha256, length, text, clauses FROM capture_notes "
            "WHERE document_id=? AND kind='held' AND open=1 ORDER BY id DESC LIMIT 1", (document_id,)).fetchone()
        if row is None:
            return None
        return HeldCapture(id=row[0], at=row[1], note=row[2], count=row[3], source_ref=row[4],
                           packed=PackedVersion(sha256=row[5], text=row[7], clauses=row[8], length=row[6]))

    def held_before(self, document_id: int, text_sha256: str, before_id: int) -> bool:
        """Whether the same text was held (and settled) before: a page alternating with another one."""
        return self.conn.execute("SELECT 1 FROM capture_notes WHERE document_id=? AND kind='held' AND sha256=? "
                                 "AND id<? LIMIT 1", (document_id, text_sha256, before_id)).fetchone() is not None

    def release_held(self, document_id: int) -> None:
        """The held capture is settled (confirmed or discarded): it is no longer open."""
        self.conn.execute("UPDATE capture_notes SET open=0, text=NULL, clauses=NULL "
                          "WHERE document_id=? AND kind='held' AND open=1", (document_id,))

    def capture_notes(self, *, document_id: int | None = None, open_only: bool = False,
                      kinds: tuple[str, ...] = (), limit: int | None = None) -> list[CaptureNote]:
        """Capture notes, newest first (with their document's names)."""
        sql = ("SELECT n.id, n.document_id, d.service, d.type, d.url, n.at, n.kind, n.note, n.version, n.source_ref, "
               "n.open, n.count FROM capture_notes n JOIN documents d ON d.id = n.document_id WHERE 1=1")
        args: list = []
        if document_id is not None:
            sql += " AND n.document_id=?"
            args.append(document_id)
        if open_only:
            sql += " AND n.open=1"
        if kinds:
            sql += f" AND n.kind IN ({','.join('?' * len(kinds))})"
            args += list(kinds)
        sql += " ORDER BY n.at DESC, n.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [CaptureNote(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], open=bool(r[10]), count=r[11])
                for r in self.conn.execute(sql, args)]

    def failed_commits(self, document_id: int) -> dict[str, str]:
        """Import commits of a document that failed and were not imported since: commit -> error."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT source_ref, note FROM capture_notes WHERE document_id=? AND kind='failed-commit' AND open=1",
            (document_id,))}

    def mark_import_failed(self, document_id: int, commit: str, at: float, error: str) -> None:
        """A commit that failed: named (one open note per commit) and retried by the next import."""
        self.conn.execute("UPDATE capture_notes SET open=0 WHERE document_id=? AND kind='failed-commit' "
                          "AND source_ref=? AND open=1", (document_id, commit))
        self.add_capture_note(document_id, at=at, kind="failed-commit", note=error, source_ref=commit, open_=True)

    def resolve_failed_commit(self, document_id: int, commit: str) -> None:
        self.conn.execute("UPDATE capture_notes SET open=0 WHERE document_id=? AND kind='failed-commit' "
                          "AND source_ref=? AND open=1", (document_id, commit))

    def rewind_import(self, document_id: int, commits: set[str]) -> int | None:
        """Undo what an import stored from ``commits`` (the commits after a failed one, to import them
        again in order): their versions, the changes to them, their imported marks. Only when those
        versions are the document's latest and all imported; returns the versions removed, or None
        when a later version came from elsewhere (a check) and history cannot be rewritten."""
        rows = self.conn.execute("SELECT number, source, source_ref FROM versions WHERE document_id=? "
                                 "ORDER BY number", (document_id,)).fetchall()
        first = next((n for n, _, ref in rows if ref in commits), None)
        if first is not None and any(src != "import" or ref not in commits for n, src, ref in rows if n >= first):
            return None
        for c in commits:
            self.conn.execute("DELETE FROM imported_commits WHERE document_id=? AND commit_sha=?", (document_id, c))
        if first is None:
            return 0
        self.conn.execute("DELETE FROM changes WHERE document_id=? AND to_version>=?", (document_id, first))
        self.lines_cache.clear()
        removed = self.conn.execute("DELETE FROM versions WHERE document_id=? AND number>=?",
                                    (document_id, first)).rowcount
        self.conn.execute("DELETE FROM capture_notes WHERE document_id=? AND kind != 'failed-commit' AND "
                          "(version>=? OR (open=1 AND kind='held'))", (document_id, first))
        return removed
