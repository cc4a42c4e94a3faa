"""The SQLite store: documents, every check, raw snapshots, versions (with clauses) and changes.

Design choices, and why:
- WAL and a 30 s busy timeout: the daemon writes while ``check``/``diff``/``history``/``feeds`` run.
- Each document's result is written inside a savepoint, and a cycle's results are committed in
  batches: an interrupted run leaves either a whole version (text, clauses, snapshot, change) or none.
- Raw snapshots are content-addressed by sha256 and zlib-compressed: stored once, however many
  versions or checks point at them. An unchanged check adds one small row to ``checks``.
- A version's clauses are one zlib'd JSON object (format 2, ``encode_clauses``): distinct section
  paths once, then one row per clause, leaving out what is recomputed exactly on reading (the id when
  it is ``clause_id(norm)``, the norm when it is the casefolded text or a suffix of it). Its text is
  stored zlib-compressed (a BLOB in ``versions.text``; a plain string in rows written before).
- Schema migrations are numbered (``PRAGMA user_version``) so later releases upgrade old files.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, overload

from tracker.errors import TrackerError
from tracker.models import Clause, DiffResult, Document
from tracker.store.codec import (  # noqa: F401  (re-exported: callers import them from here)
    CLAUSES_FORMAT,
    COMPRESSION,
    PackedVersion,
    clause_count,
    decode_clauses,
    decode_text,
    encode_clauses,
    encode_text,
    pack,
    pack_version,
    sha256,
    unpack,
)

if TYPE_CHECKING:
    from sqlite_utils import Database

# --------------------------------------------------------------------------- helpers


def now_ts() -> float:
    return time.time()


@overload
def iso(ts: float) -> str: ...
@overload
def iso(ts: float | None) -> str | None: ...
def iso(ts: float | None) -> str | None:
    """Unix time -> ISO 8601 UTC with a Z, second precision (None for None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def declaration_hash(doc: Document) -> str:
    spec = {"url": doc.url, "select": [str(s) for s in doc.select], "remove": [str(s) for s in doc.remove]}
    if doc.browser:  # only when set, so the hashes of existing declarations stay as they were
        spec["browser"] = True
    return sha256(json.dumps(spec, sort_keys=True))[:16]


# --------------------------------------------------------------------------- records read back


@dataclass
class DocumentRow:
    id: int
    service: str
    type: str
    url: str
    declaration_hash: str | None
    etag: str | None
    last_modified: str | None
    raw_sha256: str | None
    last_check_at: float | None
    last_state: str | None
    last_reason: str | None
    last_error: str | None
    consecutive_failures: int
    next_check_at: float | None
    lang: str | None
    versions: int = 0
    last_version_at: float | None = None
    text_length: int = 0
    text_lang: str | None = None  # the latest version's language (the language guard compares with it)


@dataclass
class Version:
    id: int
    document_id: int
    number: int
    recorded_at: str
    sha256: str
    text: str
    clauses: list[Clause] = field(default_factory=list)
    lang: str | None = None
    snapshot_sha256: str | None = None
    source: str = "check"

    def to_dict(self, with_text: bool = False) -> dict:
        d = {"version": self.number, "recorded_at": self.recorded_at, "sha256": self.sha256,
             "snapshot_sha256": self.snapshot_sha256, "clauses": len(self.clauses),
             "length": len(self.text), "source": self.source}
        if with_text:
            d["text"] = self.text
        return d


@dataclass
class ChangeRow:
    """What identifies a stored change: its document, its two versions, when, and its tags."""

    id: int
    document_id: int
    service: str
    type: str
    url: str
    from_version: int
    to_version: int
    detected_at: str
    tags: list[str]


@dataclass
class ChangeRecord(ChangeRow):
    """One published change: version ``to_version`` of a document against ``from_version``, with its diff."""

    diff: DiffResult

    @property
    def slug(self) -> str:
        from tracker.sources.declarations import slugify

        return f"{slugify(self.service)}-{slugify(self.type)}-v{self.to_version}"


# --------------------------------------------------------------------------- schema

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        type TEXT NOT NULL,
        url TEXT NOT NULL,
        declaration_hash TEXT,
        lang TEXT,
        created_at REAL NOT NULL,
        etag TEXT,
        last_modified TEXT,
        raw_sha256 TEXT,
        last_check_at REAL,
        last_state TEXT,
        last_reason TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_check_at REAL,
        UNIQUE (service, type)
    );
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        at REAL NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        http_status INTEGER,
        bytes INTEGER,
        duration_ms INTEGER,
        error TEXT,
        version_id INTEGER
    );
    CREATE INDEX checks_document_at ON checks (document_id, at);
    CREATE TABLE snapshots (
        sha256 TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT,
        first_seen REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        number INTEGER NOT NULL,
        recorded_at REAL NOT NULL,
        check_id INTEGER,
        snapshot_sha256 TEXT REFERENCES snapshots(sha256),
        sha256 TEXT NOT NULL,
        text TEXT NOT NULL,
        length INTEGER NOT NULL DEFAULT 0,
        clauses BLOB NOT NULL,
        lang TEXT,
        source TEXT NOT NULL DEFAULT 'check',
        UNIQUE (document_id, number)
    );
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        from_version INTEGER NOT NULL,
        to_version INTEGER NOT NULL,
        detected_at REAL NOT NULL,
        significant INTEGER NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        diff BLOB NOT NULL,
        UNIQUE (document_id, to_version)
    );
    CREATE INDEX changes_detected ON changes (detected_at);
    """,
    # 2: history import (tracker.sources.ota_versions): the commit each imported version came from, and every
    # commit already processed per document, so a re-run of ``import-versions`` skips them.
    """
    ALTER TABLE versions ADD COLUMN source_ref TEXT;
    CREATE TABLE imported_commits (
        document_id INTEGER NOT NULL REFERENCES documents(id),
        commit_sha TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (document_id, commit_sha)
    ) WITHOUT ROWID;
    """,
    # 3: no table change. Versions written from now on keep their clauses in format 2 and their text
    # zlib-compressed (see ``encode_clauses``/``encode_text``): the number makes older releases, which
    # cannot read them, refuse the file with "upgrade first" instead of failing on the first version.
    """
    SELECT 1
    """,
    # 4: notifications outbox (tracker.publish.notify). One row per event and channel, delivered at most
    # once per channel and retried by later cycles until it is; ``outbox_channels`` keeps, per channel,
    # the last change already queued, so a change stored by a process that died before queuing it is
    # still sent. A channel is the sha256 of its URL: the URL itself (often a secret) is not stored.
    """
    CREATE TABLE outbox_channels (
        channel TEXT PRIMARY KEY,
        last_change_id INTEGER NOT NULL,
        added_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        document_id INTEGER REFERENCES documents(id),
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_attempt_at REAL,
        last_error TEXT,
        claimed_until REAL,
        delivered_at REAL,
        UNIQUE (channel, event)
    );
    CREATE INDEX outbox_pending ON outbox (channel, delivered_at);
    """,
    # 5: capture notes (tracker.check): what a capture was when it was not a plain new version — a
    # suspect capture held until another confirms it (its packed text kept, to become the reference),
    # a refused capture accepted because it came back, a technical re-baseline, a failed import commit.
    # status.atom and `list` show them. The index finds a return to an earlier text by its hash.
    """
    CREATE TABLE capture_notes (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id),
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        note TEXT NOT NULL,
        version INTEGER,
        source_ref TEXT,
        open INTEGER NOT NULL DEFAULT 0,
        count INTEGER NOT NULL DEFAULT 1,
        sha256 TEXT,
        length INTEGER,
        text BLOB,
        clauses BLOB
    );
    CREATE INDEX capture_notes_document ON capture_notes (document_id, open);
    CREATE INDEX versions_document_sha ON versions (document_id, sha256)
    """,
]


@dataclass
class VersionHead:
    """The latest version of a document without its text and clauses (decoded only when needed)."""

    id: int
    number: int
    sha256: str
    snapshot_sha256: str | None
    length: int
    lang: str | None = None


EMPTY_FILE_GRACE = 5.0  # seconds: a 0-byte file younger than this is a database being created


def _refuse_empty_file(path: Path) -> None:
    """A 0-byte database file is not a new database: SQLite would silently make one in it, and the
    feeds, the outbox and every version would start again from nothing. A file truncated by a full
    disk, a failed copy or a bad restore must be seen. (SQLite writes a new file's header as soon as
    it is opened here: a 0-byte file only exists for an instant while another process creates it.)"""
    try:
        st = path.stat()
    except OSError:
        return
    if st.st_size == 0 and time.time() - st.st_mtime > EMPTY_FILE_GRACE:
        raise TrackerError(f"{path}: the database file is empty (0 bytes), not a database: it was truncated or "
                           "never written; restore it from a backup, or delete it to start a new database")


class Store:
    """All reads and writes of the database. One instance per process (per thread for readers)."""

    def __init__(self, path: Path | str, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise TrackerError(f"{self.path}: is a folder, not a database file")
        if not self.path.parent.exists():
            raise TrackerError(f"{self.path}: folder {self.path.parent} does not exist")
        _refuse_empty_file(self.path)
        try:
            conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            from tracker.store.trouble import explain  # what happened, in words

            raise explain(self.path, e) from None
        self.conn = conn
        self.wal = mode == "wal"
        self._migrate()

    @cached_property
    def db(self) -> Database:
        """sqlite-utils over the same connection, for reporting queries; imported only when used,
        because the hot paths (one cycle of checks) are plain SQL and start faster without it."""
        from sqlite_utils import Database

        return Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front so it never deadlocks on upgrade."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def commit_and_continue(self) -> None:
        """Inside :meth:`transaction`: commit what is done and go on in a new transaction (long imports
        commit in batches, so a reader sees progress and an interruption loses one batch at most)."""
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def savepoint(self, name: str = "doc") -> Iterator[None]:
        """All-or-nothing for one document's result inside a batch transaction."""
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    def identity(self) -> str:
        """This database's identity: a random id made once and kept in the file, which the feeds folder
        it publishes records (see ``tracker.publish.build``), so that another or a new database never
        overwrites or deletes what it published. Kept outside the numbered migrations: it is a fact of
        the file, not of the schema, and old files get it the first time it is asked for."""
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
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

    def count_changes(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM changes").fetchone()[0]

    # ------------------------------------------------------------------ health (the doctor command)

    def integrity(self) -> list[str]:
        """SQLite's own check of the file (every page, index and constraint): [] when sound."""
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check(20)")]
        bad = [] if rows == ["ok"] else rows
        bad += [f"foreign key: {r[0]} row {r[1]} -> {r[2]}" for r in self.conn.execute("PRAGMA foreign_key_check")][:20]
        return bad

    def schema_version(self) -> tuple[int, int]:
        """(the file's schema number, this release's)."""
        return self.conn.execute("PRAGMA user_version").fetchone()[0], len(MIGRATIONS)

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
            "versions numbered twice": one(
                "SELECT COUNT(*) FROM (SELECT document_id, number FROM versions GROUP BY document_id, number "
                "HAVING COUNT(*) > 1)").fetchone()[0],
        }

    def version_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM versions ORDER BY id")]

    def outbox_backlog(self) -> tuple[int, float | None]:
        """(undelivered notifications, when the oldest was queued)."""
        return self.conn.execute("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE delivered_at IS NULL").fetchone()

    def _migrate(self) -> None:
        try:
            current = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            from tracker.store.trouble import explain  # what happened, in words

            raise explain(self.path, e) from None
        if current > len(MIGRATIONS):
            raise TrackerError(f"{self.path}: made by a newer policy-tracker (schema {current}); upgrade first")
        if current == len(MIGRATIONS):
            return
        with self.transaction():
            current = self.conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            for number in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

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
        return int(cur.lastrowid)

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
        (version id, number, recorded_at). Nothing is encoded or decoded here."""
        recorded_at = now_ts() if recorded_at is None else recorded_at
        number = self.conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE document_id=?",
                                   (document_id,)).fetchone()[0]
        cur = self.conn.execute(
            "INSERT INTO versions (document_id, number, recorded_at, check_id, snapshot_sha256, sha256, text, "
            "length, clauses, lang, source, source_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document_id, number, recorded_at, check_id, snapshot_sha256, packed.sha256, packed.text, packed.length,
             packed.clauses, lang, source, source_ref))
        return int(cur.lastrowid), number, recorded_at

    def link_check_version(self, check_id: int, version_id: int) -> None:
        self.conn.execute("UPDATE checks SET version_id=? WHERE id=?", (version_id, check_id))

    def _version_from_row(self, row: tuple, with_clauses: bool = True) -> Version:
        vid, doc_id, number, recorded_at, digest, text, clauses, lang, snap, source = row
        cl = decode_clauses(clauses) if with_clauses else []
        return Version(id=vid, document_id=doc_id, number=number, recorded_at=iso(recorded_at) or "", sha256=digest,
                       text=decode_text(text), clauses=cl, lang=lang, snapshot_sha256=snap, source=source)

    _VERSION_COLS = "id, document_id, number, recorded_at, sha256, text, clauses, lang, snapshot_sha256, source"

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

    def imported_commits(self, document_id: int) -> set[str]:
        """The archive commits already imported into a document (whatever they came to)."""
        return {r[0] for r in self.conn.execute("SELECT commit_sha FROM imported_commits WHERE document_id=?",
                                                (document_id,))}

    def mark_imported(self, document_id: int, commit: str, outcome: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO imported_commits (document_id, commit_sha, outcome) VALUES (?, ?, ?)",
                          (document_id, commit, outcome))

    def version_clauses(self, version_id: int) -> list[Clause]:
        return decode_clauses(self.conn.execute("SELECT clauses FROM versions WHERE id=?", (version_id,)).fetchone()[0])

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
                                 "ORDER BY number DESC", (doc.id,)).fetchall()
        out = []
        for r in rows:
            v = self._version_from_row(r, with_clauses=False)
            v.clauses = []
            out.append(v)
        return out

    def version_clause_counts(self, document_id: int) -> dict[int, int]:
        rows = self.conn.execute("SELECT number, clauses FROM versions WHERE document_id=?", (document_id,))
        return {n: clause_count(c) for n, c in rows}

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
             json.dumps(tags), pack(diff.to_dict())))
        return int(cur.lastrowid)

    def changes(self, *, service: str | None = None, tag: str | None = None, significant_only: bool = True,
                limit: int | None = None, since: float | None = None, change_id: int | None = None
                ) -> list[ChangeRecord]:
        """Published changes, newest first."""
        sql = ("SELECT c.id, c.document_id, d.service, d.type, d.url, c.from_version, c.to_version, c.detected_at, "
               "c.diff, c.tags FROM changes c JOIN documents d ON d.id = c.document_id WHERE 1=1")
        args: list = []
        if significant_only:
            sql += " AND c.significant > 0"
        filters = {"d.service = ?": service, "c.detected_at >= ?": since, "c.id = ?": change_id,
                   "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = ?)": tag}
        for condition, value in filters.items():
            if value is not None:
                sql += f" AND {condition}"
                args.append(value)
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

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One read transaction, so a build sees one consistent state while the daemon writes; nothing
        is opened when a transaction is already open (its view is used)."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

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

    # ------------------------------------------------------------------ outbox and forget
    # (notifications waiting for delivery: tracker.publish.notify; forgetting a document: `forget`)

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

    def forget(self, document_id: int) -> dict[str, int]:
        """Delete a document and everything stored for it (checks, versions, changes, queued
        notifications, snapshots no other version uses), in one transaction; returns what was deleted."""
        counts: dict[str, int] = {}
        with self.transaction():
            snaps = [r[0] for r in self.conn.execute(
                "SELECT DISTINCT snapshot_sha256 FROM versions WHERE document_id=? AND snapshot_sha256 IS NOT NULL",
                (document_id,))]
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

    # ----------------------------------------------------------------- daemon and CLI counts (issue 14)
    # Added by the `arch` branch: the statements the daemon and cli ran through ``store.conn``.

    def failed_since(self, since: float) -> int:
        """Documents whose last check, at or after ``since``, failed (``run --once``'s exit status)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM documents WHERE last_state = 'failed' "
                                     "AND last_check_at >= ?", (since,)).fetchone()[0])

    def change_count(self, document_id: int) -> int:
        """Stored changes of one document, significant or not (what `forget` says it removes)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM changes WHERE document_id=?",
                                     (document_id,)).fetchone()[0])

    # ----------------------------------------------------------------- end of the issue 14 block


    # ------------------------------------------------------------------ capture notes
    # (tracker.check: returns to an earlier text, held suspect captures, re-baselines, failed commits)

    def earlier_version_with_text(self, document_id: int, text_sha256: str, before: int) -> int | None:
        """The latest version before number ``before`` whose text has this hash (a return to it), or None."""
        return self.conn.execute("SELECT MAX(number) FROM versions WHERE document_id=? AND sha256=? AND number<?",
                                 (document_id, text_sha256, before)).fetchone()[0]

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
        return int(cur.lastrowid)

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
        return [CaptureNote(*r[:10], open=bool(r[10]), count=r[11]) for r in self.conn.execute(sql, args)]

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
        removed = self.conn.execute("DELETE FROM versions WHERE document_id=? AND number>=?",
                                    (document_id, first)).rowcount
        self.conn.execute("DELETE FROM capture_notes WHERE document_id=? AND kind != 'failed-commit' AND "
                          "(version>=? OR (open=1 AND kind='held'))", (document_id, first))
        return removed


@dataclass
class HeldCapture:
    """A suspect or refused capture kept until a following capture confirms or discards it."""

    id: int
    at: float
    note: str
    count: int
    source_ref: str | None
    packed: PackedVersion


@dataclass
class CaptureNote:
    """What a capture was, when it was not a plain new version (see ``capture_notes``)."""

    id: int
    document_id: int
    service: str
    type: str
    url: str
    at: float
    kind: str  # held | confirmed | discarded | accepted | reverted | rebaselined | failed-commit
    note: str
    version: int | None
    source_ref: str | None
    open: bool = False
    count: int = 1


@dataclass
class ChangeHead(ChangeRow):
    """A significant change as listed for publication: names, versions and tags, without its diff.

    ``fp`` fingerprints the stored row (every column read, the diff's length and the Adler-32 that
    ends every zlib stream), so a change replaced in place gets a new fingerprint."""

    fp: str
