"""What went wrong with the database file, in words a person can act on.

SQLite reports a full disk, a read-only folder and a failed write alike as "disk I/O error" or
"attempt to write a readonly database", naming no file. :func:`explain` turns any ``sqlite3.Error``
into one line that names the file and says what happened (full, read-only file, folder or file
system, locked, damaged), by SQLite's result code and by looking at the file and its folder.

:func:`zeroed_pages` finds pages of the file that are all zeros (a bad restore, a disk or copy
that failed): SQLite reads around them until a query happens to reach one, so a command could list
a damaged database as if it were whole.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tracker.errors import TrackerError

# SQLite's primary result codes (the low byte of an extended code)
BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
DOCTOR = "run `policy-tracker doctor`; restore a backup, or save what is readable with `sqlite3 FILE .recover`"
LOCK_BYTE_PAGE_OFFSET = 1 << 30  # SQLite never writes the page holding this offset


class DatabaseTrouble(TrackerError):
    """A database problem explained: one line, the path, exit status 2."""


def _code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF
    text = str(error).lower()
    for needle, c in (("disk is full", FULL), ("readonly", READONLY), ("read-only", READONLY), ("locked", BUSY),
                      ("malformed", CORRUPT), ("not a database", NOTADB), ("disk i/o", IOERR),
                      ("unable to open", CANTOPEN)):
        if needle in text:
            return c
    return None


def read_only_place(path: Path) -> str | None:
    """Why nothing can be written at ``path``, if that is visible from here."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the file system holding {folder} is mounted read-only"
    except OSError:
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return "the database file is read-only (its permissions do not allow writing)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} is read-only: SQLite must create its journal files "
                f"({path.name}-wal, {path.name}-shm) next to the database")
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists() and not os.access(side, os.W_OK):
            return f"the journal file {side.name} is read-only"
    return None


def _free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def explain(path: Path | str, error: sqlite3.Error) -> DatabaseTrouble:
    """One line for ``error`` met on the database at ``path``: what happened and what to do."""
    path = Path(path)
    code = _code(error)
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    free = _free_bytes(path)
    read_only = read_only_place(path)
    if code == FULL or (code == IOERR and free is not None and free < 64 * 1024):
        if free is not None and free < 1024 * 1024:
            what = f"the disk is full ({free // 1024} KB free on {path.parent or '.'}): free some space and run again"
        else:
            what = ("SQLite found no room to write (the database or disk is full: a quota, or a page limit on "
                    "the database); free some space and run again")
        return DatabaseTrouble(f"{path}: {what}; this run's last changes were not stored")
    if code in (READONLY, IOERR, CANTOPEN) and read_only:
        return DatabaseTrouble(f"{path}: cannot write the database: {read_only}")
    if code == READONLY:
        return DatabaseTrouble(f"{path}: cannot write the database: SQLite opened it read-only ({name})")
    if code in (BUSY, LOCKED):
        return DatabaseTrouble(f"{path}: the database is locked by another process and stayed locked past the "
                               "wait (30 s): a long import or a stuck writer; try again when it is done")
    if code in (CORRUPT, NOTADB):
        kind = "is not an SQLite database" if code == NOTADB else "is damaged (corrupted pages)"
        return DatabaseTrouble(f"{path}: the database file {kind}: {DOCTOR.replace('FILE', str(path))}")
    if code == CANTOPEN:
        if not path.parent.exists():
            return DatabaseTrouble(f"{path}: cannot open the database: folder {path.parent} does not exist")
        return DatabaseTrouble(f"{path}: cannot open the database file ({name}): check that it is a file you "
                               "may read and write")
    if code == IOERR:
        return DatabaseTrouble(f"{path}: the disk failed while reading or writing the database ({name}: {error}); "
                               f"there is room on the disk and it is writable, so suspect the disk or file system; "
                               f"{DOCTOR.replace('FILE', str(path))}")
    return DatabaseTrouble(f"{path}: database error: {error} ({name})")


def zeroed_pages(path: Path | str) -> int:
    """How many pages of the database file are all zeros and not free (0 for a sound file, and for a
    file too short or too strange to tell: opening it says more). Pages on SQLite's freelist may
    legitimately be zeros (secure_delete), so as many zero pages as the header counts free ones are
    forgiven. The file is read in large chunks: a few milliseconds per 10 MB."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
                return 0
            size = int.from_bytes(header[16:18], "big")
            size = 65536 if size == 1 else size
            if size < 512 or size & (size - 1):
                return 0
            free = int.from_bytes(header[36:40], "big")
            zero = bytes(size)
            found = 0
            offset = 0
            fh.seek(0)
            while chunk := fh.read(size * 256):
                view = memoryview(chunk)
                for start in range(0, len(chunk) - size + 1, size):
                    if view[start:start + size] == zero and offset + start != LOCK_BYTE_PAGE_OFFSET:
                        found += 1
                offset += len(chunk)
    except OSError:
        return 0
    return max(0, found - free)


def missing_pages(path: Path | str) -> tuple[int, int] | None:
    """(pages in the file, pages its header says it has) when the file is shorter than its header
    says (truncated by a full disk or a failed copy), else None. The header's page count is trusted
    only when SQLite marks it valid (its change counter and version-valid-for number agree)."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            length = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00") or header[24:28] != header[92:96]:
        return None
    size = int.from_bytes(header[16:18], "big")
    size = 65536 if size == 1 else size
    if size < 512:
        return None
    said, have = int.from_bytes(header[28:32], "big"), length // size
    return (have, said) if 0 < have < said else None


def damage_warning(path: Path | str) -> str | None:
    """One line when the file is truncated or has zeroed pages (None when it looks whole)."""
    short = missing_pages(path)
    if short:
        return (f"{path}: the database file is damaged: it holds {short[0]} of its {short[1]} pages (truncated), "
                f"and what is shown may be incomplete or wrong; {DOCTOR.replace('FILE', str(path))}")
    n = zeroed_pages(path)
    if not n:
        return None
    return (f"{path}: {n} page(s) of the database file are zeroed: it is damaged, and what is shown may be "
            f"incomplete or wrong; {DOCTOR.replace('FILE', str(path))}")
