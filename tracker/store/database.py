"""The SQLite store: documents, every check, raw snapshots, versions (with clauses) and changes.

Design choices, and why:
- WAL and a 30 s busy timeout: the daemon writes while ``check``/``diff``/``history``/``feeds`` run.
- Each document's result is written inside a savepoint, and a cycle's results are committed in
  batches: an interrupted run leaves either a whole version (text, clauses, snapshot, change) or none.
- Raw snapshots are content-addressed by sha256 and zlib-compressed: stored once, however many
  versions or checks point at them. An unchanged check adds one small row to ``checks``.
- A version's clauses are one compact JSON line per clause (format 3, ``clause_records``), leaving out
  what is recomputed exactly on reading (the id when it is ``clause_id(norm)``, the norm when it is the
  casefolded text or a suffix of it). Text and clauses are stored as line deltas against the version
  before (``tracker.store.delta``, ``versions.base_id``; read through ``chains``), whole again every
  ``MAX_DEPTH`` versions.
- Schema migrations are numbered (``PRAGMA user_version``) so later releases upgrade old files.

The parts: ``connection`` (opening, transactions), ``schema`` (migrations), ``records`` (what is read
back), ``chains`` (versions as deltas), and the queries by table: this module (documents, checks, versions, changes, publication
reads), ``notes`` (capture notes, import marks), ``outbox`` (notifications) and ``report_rows`` (the
report's rows kept per change), joined in ``Store``.
"""

from __future__ import annotations

import json
import sqlite3
import zlib

from tracker.models import Clause, DiffResult, Document
from tracker.store.chains import VersionChains
from tracker.store.codec import (
    COMPRESSION,
    PackedVersion,
    clause_count,
    pack_diff,
    pack_version,
    sha256,
    unpack,
)
from tracker.store.connection import row_id
from tracker.store.notes import CaptureNotes
from tracker.store.outbox import Outbox
from tracker.store.records import (
    ChangeHead,
    ChangeRecord,
    DocumentRow,
    Version,
    VersionHead,
    change_filters,
    iso,
    now_ts,
)
from tracker.store.report_rows import ReportRows
from tracker.store.schema import META_TABLE, SCHEMA


def declaration_hash(doc: Document) -> str:
    spec: dict[str, object] = {"url": doc.url, "select": [str(s) for s in doc.select], "remove": [str(s) for s in doc.remove]}
    if doc.browser:  # only when set, so the hashes of existing declarations stay as they were
        spec["browser"] = True
    return sha256(json.dumps(spec, sort_keys=True))[:16]


class Store(CaptureNotes, Outbox, ReportRows, VersionChains):
    """All reads and writes of the database. One instance per process (per thread for readers)."""

    def identity(self) -> str:
        """This database's identity: a random id made once and kept in the file, which the feeds folder
        it publishes records (see ``tracker.publish.build``), so that another or a new database never
        overwrites or deletes what it published. Kept outside the numbered migrations: it is a fact of
        the file, not of the schema, and old files get it the first time it is asked for."""
        self.conn.execute(META_TABLE)
        row = self.conn.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
        if row:
            return row[0]
        import uuid

        self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('identity', ?)", (uuid.uuid4().hex,))
        return self.conn.execute("SELECT value FROM meta WHERE key='identity'").fetchone()[0]

    def kept_file_names(self) -> dict[str, str]:
        """The file name given to each service's feeds and pages, kept so that it never changes when
        another service's name would slug the same (tracker.publish.build.service_slugs)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='file_names'").fetchone()
        except sqlite3.OperationalError:  # no meta table yet: nothing kept
            return {}
        try:
            value = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def keep_file_names(self, names: dict[str, str]) -> None:
        self.identity()  # makes the meta table
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('file_names', ?)",
                          (json.dumps(names, sort_keys=True, ensure_ascii=False),))

    def count_changes(self, significant_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM changes" + (" WHERE significant > 0" if significant_only else "")
        return self.conn.execute(sql).fetchone()[0]

    def meta_value(self, key: str) -> str | None:
        """A fact kept in the file's ``meta`` table (None when absent, or with no table yet)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no meta table yet
            return None
        return row[0] if row else None

    def set_meta_value(self, key: str, value: str) -> None:
        self.conn.execute(META_TABLE)
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def changes_without_events(self) -> list[int]:
        """Ids of the changes stored before priority-tag events existed: their diff has no ``events``
        key (a diff stored since has one, empty when there is no event). Unpacks every diff: for a
        one-time backfill (tracker/backfill.py), not for a hot path."""
        return [cid for cid, blob in self.conn.execute("SELECT id, diff FROM changes ORDER BY id")
                if "events" not in (unpack(blob) or {})]  # type: ignore[operator]

    def replace_change_diff(self, change_id: int, diff: DiffResult, tags: list[str]) -> None:
        """Rewrite a stored change's diff and the tags it is listed under (its versions, date and
        publication stay)."""
        self.conn.execute("UPDATE changes SET diff=?, tags=? WHERE id=?",
                          (pack_diff(diff.to_dict()), json.dumps(tags), change_id))

    # ------------------------------------------------------------------ health (the doctor command)

    def integrity(self) -> list[str]:
        """SQLite's own check of the file (every page, index and constraint): [] when sound."""
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check(20)")]
        bad = [] if rows == ["ok"] else rows
        bad += [f"foreign key: {r[0]} row {r[1]} -> {r[2]}" for r in self.conn.execute("PRAGMA foreign_key_check")][:20]
        return bad

    def schema_version(self) -> tuple[int, int]:
        """(the file's schema number, this release's)."""
        return self.conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA

    def broken_links(self) -> dict[str, int]:
        """The project's own invariants, as counts of rows breaking them: every version's snapshot is
        stored, every change's two versions exist, every version's number is unique in its document."""
        one = self.conn.execute
        return {
            "versions without their snapshot": one(
                "SELECT COUNT(*) FROM versions v WHERE v.snapshot_sha256 IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM snapshots s WHERE s.sha256 = v.snapshot_sha256)").fetchone()[0],
            "changes without their versions": one(
                "SELECT COUNT(*) FROM changes c WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE "
                "v.document_id = c.document_id AND v.number = c.from_version) OR NOT EXISTS (SELECT 1 FROM "
                "versions v WHERE v.document_id = c.document_id AND v.number = c.to_version)").fetchone()[0],
            "versions whose base version is missing": one(
                "SELECT COUNT(*) FROM versions v WHERE v.base_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM versions b WHERE b.id = v.base_id)").fetchone()[0],
            "versions numbered twice": one(
                "SELECT COUNT(*) FROM (SELECT document_id, number FROM versions GROUP BY document_id, number "
                "HAVING COUNT(*) > 1)").fetchone()[0],
        }

    def version_ids(self) -> list[int]:
        """Every version, each document's in order (a delta is read right after the version it applies to)."""
        return [r[0] for r in self.conn.execute("SELECT id FROM versions ORDER BY document_id, number")]

    # ------------------------------------------------------------------ documents

    def ensure_document(self, doc: Document) -> DocumentRow:
        """The row for a declared document, created or updated (URL or selectors may change)."""
        h = declaration_hash(doc)
        row = self.conn.execute("SELECT id, url, declaration_hash, lang FROM documents WHERE service=? AND type=?",
                                (doc.service, doc.type)).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT OR IGNORE INTO documents (service, type, url, declaration_hash, lang, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (doc.service, doc.type, doc.url, h, doc.lang, now_ts()))
        elif row[1] != doc.url or row[2] != h or row[3] != doc.lang:
            # A new URL or selector invalidates the conditional-GET validators and the raw short-cut.
            self.conn.execute(
                "UPDATE documents SET url=?, declaration_hash=?, lang=?, etag=NULL, last_modified=NULL, "
                "raw_sha256=NULL WHERE id=?", (doc.url, h, doc.lang, row[0]))
        found = self.document(doc.service, doc.type)
        assert found is not None
        return found

    def ensure_documents(self, docs: list[Document]) -> dict[tuple[str, str], DocumentRow]:
        with self.transaction():
            return {d.key: self.ensure_document(d) for d in docs}

    _DOC_SELECT = """
        SELECT d.id, d.service, d.type, d.url, d.declaration_hash, d.etag, d.last_modified, d.raw_sha256,
               d.last_check_at, d.last_state, d.last_reason, d.last_error, d.consecutive_failures,
               d.next_check_at, d.lang,
               (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id),
               (SELECT MAX(recorded_at) FROM versions v WHERE v.document_id = d.id),
               COALESCE((SELECT length FROM versions v WHERE v.document_id = d.id
                         ORDER BY number DESC LIMIT 1), 0),
               (SELECT lang FROM versions v WHERE v.document_id = d.id ORDER BY number DESC LIMIT 1)
        FROM documents d
    """

    def document(self, service: str, type_: str) -> DocumentRow | None:
        row = self.conn.execute(self._DOC_SELECT + " WHERE d.service=? AND d.type=?", (service, type_)).fetchone()
        return DocumentRow(*row) if row else None

    def document_row(self, document_id: int) -> DocumentRow:
        return DocumentRow(*self.conn.execute(self._DOC_SELECT + " WHERE d.id=?", (document_id,)).fetchone())

    def documents(self) -> list[DocumentRow]:
        rows = self.conn.execute(self._DOC_SELECT + " ORDER BY d.service COLLATE NOCASE, d.type").fetchall()
        return [DocumentRow(*r) for r in rows]

    def find_document(self, service: str, type_: str | None = None) -> DocumentRow:
        """A stored document by service (case-insensitive or slug) and optional type; one-line error otherwise."""
        from tracker.sources.declarations import pick_document

        return pick_document(self.documents(), service, type_, where="stored",
                             missing=f"no stored document for service {service!r} (run `policy-tracker check` first)")

    # ------------------------------------------------------------------ checks and versions

    def record_check(self, document_id: int, *, state: str, at: float | None = None, reason: str | None = None,
                     http_status: int | None = None, nbytes: int | None = None, duration: float | None = None,
                     error: str | None = None, version_id: int | None = None, etag: str | None = None,
                     last_modified: str | None = None, raw_sha256: str | None = None,
                     keep_validators: bool = False) -> int:
        """One row per attempt, and the document's running state (validators, failure streak)."""
        at = now_ts() if at is None else at
        cur = self.conn.execute(
            "INSERT INTO checks (document_id, at, state, reason, http_status, bytes, duration_ms, error, version_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document_id, at, state, reason, http_status, nbytes,
             None if duration is None else int(duration * 1000), error, version_id))
        if state == "failed":
            self.conn.execute(
                "UPDATE documents SET last_check_at=?, last_state=?, last_reason=?, last_error=?, "
                "consecutive_failures = consecutive_failures + 1 WHERE id=?",
                (at, state, reason, error, document_id))
        else:
            sets = "last_check_at=?, last_state=?, last_reason=NULL, last_error=NULL, consecutive_failures=0"
            args: list = [at, state]
            if not keep_validators:
                sets += ", etag=?, last_modified=?"
                args += [etag, last_modified]
            if raw_sha256 is not None:
                sets += ", raw_sha256=?"
                args.append(raw_sha256)
            self.conn.execute(f"UPDATE documents SET {sets} WHERE id=?", (*args, document_id))
        return row_id(cur)

    def consecutive_failures(self, document_id: int) -> int:
        row = self.conn.execute("SELECT consecutive_failures FROM documents WHERE id=?", (document_id,)).fetchone()
        return int(row[0]) if row else 0

    def set_next_check(self, document_id: int, when: float | None) -> None:
        self.conn.execute("UPDATE documents SET next_check_at=? WHERE id=?", (when, document_id))

    def put_snapshot(self, body: bytes, content_type: str | None = None, *, digest: str | None = None,
                     compressed: bytes | None = None) -> str:
        """Store a raw page once (content-addressed); ``digest``/``compressed`` when already computed."""
        digest = digest or sha256(body)
        self.conn.execute(
            "INSERT OR IGNORE INTO snapshots (sha256, body, size, content_type, first_seen) VALUES (?, ?, ?, ?, ?)",
            (digest, compressed if compressed is not None else zlib.compress(body, COMPRESSION), len(body),
             content_type, now_ts()))
        return digest

    def snapshot(self, digest: str) -> bytes | None:
        row = self.conn.execute("SELECT body FROM snapshots WHERE sha256=?", (digest,)).fetchone()
        return zlib.decompress(row[0]) if row else None

    def add_version(self, document_id: int, *, text: str, clauses: list[Clause], recorded_at: float | None = None,
                    check_id: int | None = None, snapshot_sha256: str | None = None, lang: str | None = None,
                    source: str = "check") -> Version:
        """Append a version (number = last + 1). Callers wrap it with the check row in one savepoint."""
        packed = pack_version(text, clauses)
        vid, number, recorded_at = self.add_packed_version(document_id, packed, recorded_at=recorded_at,
                                                           check_id=check_id, snapshot_sha256=snapshot_sha256,
                                                           lang=lang, source=source)
        return Version(id=vid, document_id=document_id, number=number, recorded_at=iso(recorded_at) or "",
                       sha256=packed.sha256, text=text, clauses=clauses, lang=lang, snapshot_sha256=snapshot_sha256,
                       source=source)

    def add_packed_version(self, document_id: int, packed: PackedVersion, *, recorded_at: float | None = None,
                           check_id: int | None = None, snapshot_sha256: str | None = None, lang: str | None = None,
                           source: str = "check", source_ref: str | None = None) -> tuple[int, int, float]:
        """``add_version`` for a version already packed (by the process that extracted it):
        (version id, number, recorded_at). Stored as its changes against the document's latest version
        (``tracker.store.delta``) when that is smaller, else as packed (``VersionChains._to_store``)."""
        recorded_at = now_ts() if recorded_at is None else recorded_at
        st = self._to_store(document_id, packed, compact=source != "check")
        cur = self.conn.execute(
            "INSERT INTO versions (document_id, number, recorded_at, check_id, snapshot_sha256, sha256, text, "
            "length, clauses, lang, source, source_ref, base_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document_id, st.number, recorded_at, check_id, snapshot_sha256, packed.sha256, st.text, packed.length,
             st.clauses, lang, source, source_ref, st.base_id))
        vid = row_id(cur)
        if st.entry is not None:
            self._remember((vid, packed.sha256), st.entry)
        return vid, st.number, recorded_at

    def link_check_version(self, check_id: int, version_id: int) -> None:
        self.conn.execute("UPDATE checks SET version_id=? WHERE id=?", (version_id, check_id))

    def _version_from_row(self, row: tuple, with_clauses: bool = True) -> Version:
        vid, doc_id, number, recorded_at, digest, text, clauses, lang, snap, source, base_id = row
        text, cl = self._decoded(vid, digest, text, clauses, base_id, with_clauses)
        return Version(id=vid, document_id=doc_id, number=number, recorded_at=iso(recorded_at) or "", sha256=digest,
                       text=text, clauses=cl, lang=lang, snapshot_sha256=snap, source=source)

    _VERSION_COLS = "id, document_id, number, recorded_at, sha256, text, clauses, lang, snapshot_sha256, source, base_id"

    def latest_version(self, document_id: int) -> Version | None:
        row = self.conn.execute(f"SELECT {self._VERSION_COLS} FROM versions WHERE document_id=? "
                                "ORDER BY number DESC LIMIT 1", (document_id,)).fetchone()
        return self._version_from_row(row) if row else None

    def latest_head(self, document_id: int) -> VersionHead | None:
        """The latest version without its text and clauses (a check decodes those only when it must)."""
        row = self.conn.execute("SELECT id, number, sha256, snapshot_sha256, length, lang FROM versions WHERE document_id=? "
                                "ORDER BY number DESC LIMIT 1", (document_id,)).fetchone()
        return VersionHead(*row) if row else None

    def latest_recorded_at(self, document_id: int) -> float | None:
        return self.conn.execute("SELECT MAX(recorded_at) FROM versions WHERE document_id=?",
                                 (document_id,)).fetchone()[0]

    def version_clauses(self, version_id: int) -> list[Clause]:
        row = self.conn.execute("SELECT sha256, text, clauses, base_id FROM versions WHERE id=?", (version_id,)).fetchone()
        return self._decoded(version_id, row[0], row[1], row[2], row[3])[1]

    def latest_version_number(self, document_id: int) -> int | None:
        """The latest version's number, without reading its text (the unchanged-check hot path)."""
        return self.conn.execute("SELECT MAX(number) FROM versions WHERE document_id=?", (document_id,)).fetchone()[0]

    def version_by_number(self, document_id: int, number: int) -> Version | None:
        row = self.conn.execute(f"SELECT {self._VERSION_COLS} FROM versions WHERE document_id=? AND number=?",
                                (document_id, number)).fetchone()
        return self._version_from_row(row) if row else None

    def get_version(self, service: str, type_: str | None = None, number: int | None = None) -> Version | None:
        """A version by service/type (resolved like ``find_document``); latest when number is None."""
        doc = self.find_document(service, type_)
        if number is None:
            return self.latest_version(doc.id)
        if number < 0:  # -1 = latest, -2 = the one before...
            versions = self.versions(doc.service, doc.type)
            return self.version_by_number(doc.id, versions[-number - 1].number) if len(versions) >= -number else None
        return self.version_by_number(doc.id, number)

    def versions(self, service: str, type_: str | None = None) -> list[Version]:
        """Versions of a document, newest first, without clauses (cheap listing)."""
        doc = self.find_document(service, type_)
        rows = self.conn.execute(f"SELECT {self._VERSION_COLS} FROM versions WHERE document_id=? "
                                 "ORDER BY number", (doc.id,)).fetchall()
        out = []
        for r in rows:  # oldest first: each delta applies to the version decoded just before
            v = self._version_from_row(r, with_clauses=False)
            v.clauses = []
            out.append(v)
        return out[::-1]

    def version_clause_counts(self, document_id: int) -> dict[int, int]:
        rows = self.conn.execute("SELECT id, number, clauses, base_id FROM versions WHERE document_id=? "
                                 "ORDER BY number", (document_id,))
        out = {}
        for vid, n, clauses, base_id in rows:
            # deltas and keyframes (``delta.encode_whole``) keep their clauses in ``text``: ``clauses`` is empty
            entry = self._lines(vid) if base_id is not None or not clauses else None
            out[n] = len(entry.records) if entry is not None else clause_count(clauses)
        return out

    # ------------------------------------------------------------------ changes

    def add_change(self, document_id: int, from_version: int, to_version: int, diff: DiffResult,
                   detected_at: float | None = None, *, tags: list[str] | None = None, published: bool = True) -> int:
        """Store a change. ``tags``: the tags it is listed under (default: the diff's; a capture artefact
        such as a revert is listed under none); ``published=False`` records it without publishing it
        (significant 0: in no feed), e.g. the second and later flips of a page flapping between two texts."""
        detected_at = now_ts() if detected_at is None else detected_at
        tags = diff.tags() if tags is None else tags
        cur = self.conn.execute(
            "INSERT OR REPLACE INTO changes (document_id, from_version, to_version, detected_at, significant, tags, diff) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (document_id, from_version, to_version, detected_at, len(diff.significant) if published else 0,
             json.dumps(tags), pack_diff(diff.to_dict())))
        return row_id(cur)

    def changes(self, *, service: str | None = None, tag: str | None = None, significant_only: bool = True,
                limit: int | None = None, since: float | None = None, change_id: int | None = None
                ) -> list[ChangeRecord]:
        """Published changes, newest first."""
        sql = ("SELECT c.id, c.document_id, d.service, d.type, d.url, c.from_version, c.to_version, c.detected_at, "
               "c.diff, c.tags FROM changes c JOIN documents d ON d.id = c.document_id WHERE 1=1")
        if significant_only:
            sql += " AND c.significant > 0"
        where, args = change_filters(service, since, tag, change_id)
        sql += where
        sql += " ORDER BY c.detected_at DESC, c.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        out = []
        for r in self.conn.execute(sql, args):
            out.append(ChangeRecord(id=r[0], document_id=r[1], service=r[2], type=r[3], url=r[4], from_version=r[5],
                                    to_version=r[6], detected_at=iso(r[7]) or "",
                                    diff=DiffResult.from_dict(unpack(r[8])),  # type: ignore[arg-type]
                                    tags=json.loads(r[9])))
        return out

    def change(self, change_id: int) -> ChangeRecord | None:
        """One change by id (significant or not), or None."""
        found = self.changes(significant_only=False, change_id=change_id)
        return found[0] if found else None

    # ------------------------------------------------------------------ reporting

    def checks(self, document_id: int, limit: int = 20) -> list[dict]:
        """The latest check attempts of a document, newest first (for `list --json` and reports)."""
        rows = self.db["checks"].rows_where("document_id = ?", [document_id], order_by="at DESC, id DESC",
                                            limit=limit, select="at, state, reason, http_status, bytes, "
                                            "duration_ms, error")
        return [{**r, "at": iso(r["at"])} for r in rows]

    def check_states(self, document_id: int, limit: int) -> list[tuple[str, float]]:
        """The latest ``limit`` checks of a document as (state, at), oldest first (tracker.broken)."""
        rows = self.conn.execute("SELECT state, at FROM checks WHERE document_id=? ORDER BY at DESC, id DESC LIMIT ?",
                                 (document_id, limit)).fetchall()
        return [(r[0], r[1]) for r in reversed(rows)]

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ---------------------------------------------------------------- reading for publication
    #
    # What tracker.publish reads (feeds, change pages, index, status feed, notifications). These run
    # after every cycle (the daemon rebuilds the feeds) and after every stored change (notifications),
    # so they deliberately use plain ``execute`` on the connection, like the check hot path: no
    # sqlite-utils import, no dict per row. The status feed's check history comes from ``checks``
    # (sqlite-utils) above.

    def change_heads(self) -> list[ChangeHead]:
        """Significant changes, newest first (the order of ``changes``), without unpacking their diffs."""
        rows = self.conn.execute(
            "SELECT c.id, c.document_id, d.service, d.type, d.url, c.from_version, c.to_version, c.detected_at, "
            "c.tags, length(c.diff), hex(substr(c.diff, -4)) FROM changes c JOIN documents d ON d.id = c.document_id "
            "WHERE c.significant > 0 ORDER BY c.detected_at DESC, c.id DESC")
        return [ChangeHead(r[0], r[1], r[2], r[3], r[4], r[5], r[6], iso(r[7]) or "", json.loads(r[8]),
                           sha256(repr(r))[:24]) for r in rows]

    def change_records(self, heads: list[ChangeHead]) -> dict[int, ChangeRecord]:
        """The full records (diff unpacked) of the listed changes, by id; one query per 500 ids."""
        by_id = {h.id: h for h in heads}
        ids = sorted(by_id)
        out = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            sql = f"SELECT id, diff FROM changes WHERE id IN ({','.join('?' * len(chunk))})"
            for cid, blob in self.conn.execute(sql, chunk):
                h = by_id[cid]
                out[cid] = ChangeRecord(id=h.id, document_id=h.document_id, service=h.service, type=h.type,
                                        url=h.url, from_version=h.from_version, to_version=h.to_version,
                                        detected_at=h.detected_at,
                                        diff=DiffResult.from_dict(unpack(blob)),  # type: ignore[arg-type]
                                        tags=list(h.tags))
        return out

    def services_since(self) -> dict[str, float]:
        """When each service began to be tracked: its first document row (feeds without entries show it)."""
        return dict(self.conn.execute("SELECT service, MIN(created_at) FROM documents GROUP BY service").fetchall())

    def version_sources(self, change_ids: list[int]) -> dict[int, tuple[str, str | None]]:
        """(source, source_ref) of each change's new version: "check", or "import" and its commit."""
        out: dict[int, tuple[str, str | None]] = {}
        for i in range(0, len(change_ids), 500):
            chunk = change_ids[i:i + 500]
            sql = ("SELECT c.id, v.source, v.source_ref FROM changes c JOIN versions v ON v.document_id = c.document_id "
                   f"AND v.number = c.to_version WHERE c.id IN ({','.join('?' * len(chunk))})")
            out.update({r[0]: (r[1], r[2]) for r in self.conn.execute(sql, chunk)})
        return out

    def service_names(self) -> list[str]:
        """Every stored service name, sorted (file names of feeds and pages are made from them)."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT service FROM documents ORDER BY service")]

    def failing_documents(self, broken_after: int) -> list[DocumentRow]:
        """Documents whose last ``broken_after`` or more checks failed, in the order of ``documents``."""
        rows = self.conn.execute(self._DOC_SELECT + " WHERE d.consecutive_failures >= ? "
                                 "ORDER BY d.service COLLATE NOCASE, d.type", (broken_after,)).fetchall()
        return [DocumentRow(*r) for r in rows]

    def forget(self, document_id: int) -> dict[str, int]:
        """Delete a document and everything stored for it (checks, versions, changes, queued
        notifications, snapshots no other version uses), in one transaction; returns what was deleted."""
        counts: dict[str, int] = {}
        with self.transaction():
            snaps = [r[0] for r in self.conn.execute(
                "SELECT DISTINCT snapshot_sha256 FROM versions WHERE document_id=? AND snapshot_sha256 IS NOT NULL",
                (document_id,))]
            self.lines_cache.clear()
            for table in ("outbox", "imported_commits", "capture_notes", "changes", "checks", "versions"):
                counts[table] = self.conn.execute(f"DELETE FROM {table} WHERE document_id=?", (document_id,)).rowcount
            snapshots = 0
            for digest in snaps:
                snapshots += self.conn.execute(
                    "DELETE FROM snapshots WHERE sha256=? AND NOT EXISTS "
                    "(SELECT 1 FROM versions WHERE snapshot_sha256=?)", (digest, digest)).rowcount
            counts["snapshots"] = snapshots
            counts["documents"] = self.conn.execute("DELETE FROM documents WHERE id=?", (document_id,)).rowcount
        return counts

    # ------------------------------------------------------------------ counts

    def failed_since(self, since: float) -> int:
        """Documents whose last check, at or after ``since``, failed (``run --once``'s exit status)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM documents WHERE last_state = 'failed' "
                                     "AND last_check_at >= ?", (since,)).fetchone()[0])

    def change_count(self, document_id: int) -> int:
        """Stored changes of one document, significant or not (what `forget` says it removes)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM changes WHERE document_id=?",
                                     (document_id,)).fetchone()[0])
