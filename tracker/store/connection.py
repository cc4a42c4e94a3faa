"""The connection to the database file: how it is opened, transactions, savepoints, read snapshots.

SQL lives in ``tracker/store/``: the queries are methods of :class:`~tracker.store.database.Store`,
grouped by table in the classes it joins (``notes``: capture notes and import marks; ``outbox``:
notifications waiting for delivery), all on this one connection.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import quote

from tracker.errors import TrackerError
from tracker.store.schema import migrate, refuse_empty_file

if TYPE_CHECKING:
    from sqlite_utils import Database


def row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    assert cur.lastrowid is not None
    return cur.lastrowid


class Connection:
    """An open database file: WAL, busy timeout, migrations applied; transactions and savepoints.
    The queries are methods of :class:`tracker.store.database.Store` and the classes it joins."""

    def __init__(self, path: Path | str, *, timeout: float = 30.0, read_only: bool = False) -> None:
        """``read_only``: the command only reads, so a file that may not be written (its permissions, its
        folder's, a read-only file system) is opened read-only instead of refused (see :meth:`_open_read_only`)."""
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise TrackerError(f"{self.path}: is a folder, not a database file")
        if not self.path.parent.exists():
            raise TrackerError(f"{self.path}: folder {self.path.parent} does not exist")
        refuse_empty_file(self.path)
        from tracker.store.trouble import explain, read_only_place  # what happened, in words

        self.read_only = read_only and self.path.exists() and read_only_place(self.path) is not None
        try:
            if self.read_only:
                conn = self._open_read_only(timeout)
            else:
                conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            raise explain(self.path, e) from None
        self.conn = conn
        # decoded versions by (id, sha256), read through their deltas (tracker.store.chains)
        self.lines_cache: OrderedDict = OrderedDict()
        migrate(self)

    def _open_read_only(self, timeout: float) -> sqlite3.Connection:
        """The file opened read-only (``mode=ro``). A database in WAL mode is read through its -shm
        file, which SQLite cannot make in a read-only folder: the file is then opened as immutable
        (``immutable=1``: no locks, no WAL; right for read-only media, where nobody writes either)."""
        uri = "file:" + quote(str(self.path.resolve()))
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:  # no -shm and none can be made
            conn.close()
            wal = Path(f"{self.path}-wal")
            if wal.exists() and wal.stat().st_size:  # immutable would read the file without them
                raise TrackerError(f"{self.path}: its last changes are still in {wal.name}, and its folder is "
                                   "read-only: open it once where it can be written") from None
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn

    @cached_property
    def db(self) -> Database:
        """sqlite-utils over the same connection, for reporting queries; imported only when used,
        because the hot paths (one cycle of checks) are plain SQL and start faster without it."""
        from sqlite_utils import Database

        return Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
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
            self.lines_cache.clear()  # version ids written in it may be given again
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
            self.lines_cache.clear()
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

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
