"""The database schema: numbered migrations (``PRAGMA user_version``), applied when a file is opened,
and the refusal of a file that cannot be a database."""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.store.connection import Connection

# Facts of the file rather than of the schema (its identity, kept file names, one-time upgrades done):
# made when first needed, outside the numbered migrations.
META_TABLE = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"

# A new file is made at schema BASE in one step. Schemas 1 and 2 were those of development versions that
# stored clauses in format 1 (3 changed no table: it marked clauses in format 2); this release reads
# neither, and refuses such a file (``migrate``).
BASE = 3
BASE_SCHEMA = """
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
        source_ref TEXT,
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
        -- history import (tracker.sources.ota_versions): every commit already processed per document, so a
    -- re-run of ``import-versions`` skips them (versions.source_ref: the commit a version came from)
    CREATE TABLE imported_commits (
        document_id INTEGER NOT NULL REFERENCES documents(id),
        commit_sha TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (document_id, commit_sha)
    ) WITHOUT ROWID;
    """

# The migration to each later schema, by number (``PRAGMA user_version``), applied in order when a file is opened.
MIGRATIONS: dict[int, str] = {
    4:  # notifications outbox (tracker.publish.notify). One row per event and channel, delivered at most
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
    5:  # capture notes (tracker.check): what a capture was when it was not a plain new version — a
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
    6:  # versions stored as their changes against the version before (tracker.store.delta), clauses in
    # format 3 (one line per clause). ``base_id``: the version a row's text and clauses are deltas of
    # (NULL: stored whole). Every existing version is rewritten so (``rewrite_as_deltas``, below).
    """
    ALTER TABLE versions ADD COLUMN base_id INTEGER REFERENCES versions(id)
    """,
    7:  # no table change. Versions kept whole (``base_id`` NULL) hold their text and clause records in
    # one LZMA stream in ``text`` (``delta.encode_whole``; ``clauses`` empty) unless a short page is smaller
    # as it was: each is rewritten so (``rewrite_keyframes``, below); the number makes older releases
    # refuse the file. Diffs are compressed with a preset dictionary (``codec.pack_diff``).
    # ``report_rows``: the report's rows of each change, kept ready to read
    # (tracker.store.report_rows).
    """
    CREATE TABLE report_rows (
        change_id INTEGER PRIMARY KEY,
        stamp TEXT NOT NULL,
        rows BLOB
    );
    CREATE TRIGGER report_rows_new_change AFTER INSERT ON changes BEGIN
        DELETE FROM report_rows WHERE change_id = new.id; END;
    CREATE TRIGGER report_rows_new_diff AFTER UPDATE OF diff ON changes BEGIN
        DELETE FROM report_rows WHERE change_id = old.id; END;
    CREATE TRIGGER report_rows_gone AFTER DELETE ON changes BEGIN
        DELETE FROM report_rows WHERE change_id = old.id; END
    """,
}
SCHEMA = max(MIGRATIONS)  # this release's


def rewrite_as_deltas(conn: sqlite3.Connection) -> None:
    """Migration 6: every version of every document, in order, rewritten as a delta of the one before
    when that is smaller (the rule of ``Store.add_packed_version``); texts and clauses of the rows kept
    whole move to format 3. Read and written one document at a time (bounded memory)."""
    from tracker.store import delta
    from tracker.store.codec import decode_text, pack, records_of_blob, unpack

    docs = [r[0] for r in conn.execute("SELECT DISTINCT document_id FROM versions")]
    for doc in docs:
        prev: tuple[list[str], list[str]] | None = None
        depth, prev_id = 0, 0
        rows = conn.execute("SELECT id, text, clauses FROM versions WHERE document_id=? ORDER BY number",
                            (doc,)).fetchall()
        for vid, text, clauses in rows:
            lines, records = decode_text(text).split("\n"), records_of_blob(clauses)
            whole_clauses = zlib.compress(b'{"v":3}\n' + "\n".join(records).encode("utf-8"), delta.WHOLE_LEVEL)
            new: tuple[str | bytes, bytes, int | None] = (delta.recompress(text), whole_clauses, None)
            if prev is not None and depth + 1 < delta.MAX_DEPTH:
                d = delta.encode_version(prev[0], prev[1], lines, records)
                if len(d) < len(new[0]) + len(whole_clauses):
                    new = (d, b"", prev_id)
            depth = depth + 1 if new[2] is not None else 0
            conn.execute("UPDATE versions SET text=?, clauses=?, base_id=? WHERE id=?", (*new, vid))
            prev, prev_id = (lines, records), vid
    for cid, diff in conn.execute("SELECT id, diff FROM changes").fetchall():  # diffs: zlib's best level
        again = pack(unpack(diff), delta.WHOLE_LEVEL)
        if len(again) < len(diff):
            conn.execute("UPDATE changes SET diff=? WHERE id=?", (again, cid))


def rewrite_keyframes(conn: sqlite3.Connection) -> None:
    """Migration 7: every version stored whole rewritten as ``delta.encode_whole`` when that is smaller
    (``delta.smallest_whole``), every diff compressed with the diffs' preset dictionary (one at a time)."""
    from tracker.store import delta
    from tracker.store.codec import decode_text, pack_diff, records_of_blob, unpack

    ids = [r[0] for r in conn.execute("SELECT id FROM versions WHERE base_id IS NULL ORDER BY id")]
    for vid in ids:
        text, clauses = conn.execute("SELECT text, clauses FROM versions WHERE id=?", (vid,)).fetchone()
        if delta.is_whole(text):
            continue
        new = delta.smallest_whole(text, clauses, decode_text(text).split("\n"), records_of_blob(clauses), delta.BEST)
        if new != (text, clauses):
            conn.execute("UPDATE versions SET text=?, clauses=? WHERE id=?", (*new, vid))
    ids = [r[0] for r in conn.execute("SELECT id FROM changes ORDER BY id")]
    for cid in ids:  # diffs: with their preset dictionary (``codec.pack_diff``)
        diff = conn.execute("SELECT diff FROM changes WHERE id=?", (cid,)).fetchone()[0]
        again = pack_diff(unpack(diff))
        if len(again) < len(diff):
            conn.execute("UPDATE changes SET diff=? WHERE id=?", (again, cid))


# Steps run after the SQL of a migration (by its number), inside the same transaction.
AFTER: dict[int, Callable[[sqlite3.Connection], None]] = {6: rewrite_as_deltas, 7: rewrite_keyframes}


EMPTY_FILE_GRACE = 5.0  # seconds: a 0-byte file younger than this is a database being created


def refuse_empty_file(path: Path) -> None:
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


def statements(script: str) -> list[str]:
    """A migration's SQL as single statements (a trigger's body holds ``;`` of its own)."""
    out, buf = [], ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf)
            buf = ""
    if buf.strip(" \n;"):
        out.append(buf)
    return out


def migrate(store: Connection) -> None:
    """Bring the file to this release's schema (``PRAGMA user_version``): a new file is made at ``BASE``,
    then the numbered migrations run in order, in one transaction."""
    try:
        current = store.conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        from tracker.store.trouble import explain  # what happened, in words

        raise explain(store.path, e) from None
    if current > SCHEMA:
        raise TrackerError(f"{store.path}: made by a newer policy-tracker (schema {current}); upgrade first")
    if 0 < current < BASE:
        raise TrackerError(f"{store.path}: made by a development version of policy-tracker (schema {current}, "
                           "clauses in storage format 1), which this release does not read: move it away and "
                           "start a new database (or import the history again with `import-versions`)")
    if current == SCHEMA:
        return
    if store.read_only:
        raise TrackerError(f"{store.path}: the database must be upgraded (schema {current} to {SCHEMA}), "
                           "which writes to it, and it is read-only: run a command once with write access to it")
    rewritten = False
    with store.transaction():
        current = store.conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
        steps = [(BASE, BASE_SCHEMA)] if current == 0 else []
        steps += [(n, sql) for n, sql in sorted(MIGRATIONS.items()) if n > max(current, BASE)]
        for number, sql in steps:
            for statement in statements(sql):
                store.conn.execute(statement)
            if number in AFTER:
                try:
                    AFTER[number](store.conn)
                except TrackerError as e:  # rolled back: the file is left as it was
                    raise TrackerError(f"{store.path}: {e}") from None
                rewritten = current != 0  # a new file has nothing to give back
            store.conn.execute(f"PRAGMA user_version = {number}")
    if rewritten:  # give the space of the rewritten rows back to the file system
        try:
            store.conn.execute("VACUUM")
        except sqlite3.OperationalError:  # another connection is reading: the space is reused instead
            pass


def schema_statements(version: int) -> list[str]:
    """The SQL that makes a new file at ``version`` (``BASE`` or later), as ``migrate`` would, without the
    rewrites that follow migrations (tests write files of earlier releases with it)."""
    return [BASE_SCHEMA, *(MIGRATIONS[n] for n in sorted(MIGRATIONS) if n <= version)]
