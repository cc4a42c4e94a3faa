"""Issue 19, item 10: database errors say what happened (full disk, read-only file or folder, locked,
damaged), in one line with the path and exit status 2, never "disk I/O error" alone; `diff`, `show`
and `history` never create a database; a database with zeroed pages is never read silently.

Everything runs on real files. A read-only file or folder is made with permissions; as root (who
ignores them) the command runs as the unprivileged user ``nobody``, for whom they hold. A full disk
is a real small tmpfs, mounted in a user namespace (``unshare -rm``, no root needed) when the system
allows it, and SQLite's ``max_page_count`` on a real file otherwise.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Workspace, assert_one_line_error
from pages import policy_html


def checked_workspace(root: Path, httpserver) -> Workspace:
    """A workspace whose database holds two versions of one document."""
    ws = Workspace(root)
    ws.policies.mkdir(parents=True)
    pages = [policy_html(), policy_html({"Sharing": ["We now share your e-mail address with advertisers."]})]
    httpserver.expect_request("/p").respond_with_handler(
        lambda request: __import__("werkzeug").Response(pages[0], content_type="text/html"))
    ws.declare("Acme", httpserver.url_for("/p"))
    assert ws.run("check").code == 0
    pages[0] = pages[1]
    assert ws.run("check").code == 0
    return ws


def test_a_read_only_database_file_is_named_as_such(shared_root, httpserver) -> None:
    ws = checked_workspace(shared_root / "ws", httpserver)
    ws.root.chmod(0o777)  # the folder is writable: only the file is not
    for p in ws.root.rglob("*"):
        p.chmod(0o777 if p.is_dir() else 0o666)
    ws.db.chmod(0o444)
    r = ws.run_unprivileged("check")
    assert_one_line_error(r, str(ws.db), "read-only")
    assert r.code == 2 and "disk I/O" not in r.err


def test_a_read_only_folder_is_named_as_such(shared_root, httpserver) -> None:
    ws = checked_workspace(shared_root / "ws", httpserver)
    for p in [ws.root, *ws.root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o666)  # the file may be written, its folder not (no -wal, -shm)
    ws.feeds.chmod(0o777)
    r = ws.run_unprivileged("check")
    assert r.code == 2 and "Traceback" not in r.err
    assert_one_line_error(r, str(ws.db), "folder", "read-only")


def test_a_damaged_database_is_never_read_silently(tmp_path, httpserver) -> None:
    """Zeroed pages (a bad copy or disk): list, history and feeds warn and point at doctor, or refuse;
    a sound database gives no such line."""
    ws = checked_workspace(tmp_path / "ws", httpserver)
    for cmd in (["list"], ["history", "Acme"], ["feeds"]):
        r = ws.run(*cmd)
        assert r.code == 0 and "doctor" not in r.err, (cmd, r.err)
    with sqlite3.connect(ws.db) as con:  # the pages of stored rows every command reads (page numbers from 1)
        hit = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name IN ('documents', 'versions')")]
    data = bytearray(ws.db.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    pages = len(data) // size
    assert pages >= 6 and len(hit) >= 2
    for n in hit[:2]:  # two pages of stored data, not the schema
        data[(n - 1) * size:n * size] = bytes(size)
    ws.db.write_bytes(bytes(data))
    for cmd in (["list"], ["history", "Acme"], ["feeds"], ["show", "Acme"]):
        r = ws.run(*cmd)
        assert r.code == 2, (cmd, r.code, r.err)
        assert "Traceback" not in r.err
        assert str(ws.db) in r.err and "doctor" in r.err and ("zeroed" in r.err or "damaged" in r.err), (cmd, r.err)
    r = ws.run("doctor")
    assert r.code == 2 and "FAIL" in r.out, r.out


def test_a_file_that_is_not_a_database(tmp_path) -> None:
    ws = Workspace(tmp_path)
    ws.policies.mkdir()
    ws.declare("Acme", "http://127.0.0.1:9/p")
    ws.db.write_bytes(b"these are not the pages you are looking for\n" * 200)
    for cmd in (["list"], ["history", "Acme"], ["feeds"], ["check"]):
        r = ws.run(*cmd)
        assert_one_line_error(r, str(ws.db), "not an SQLite database")
        assert r.code == 2


def test_a_truncated_database_is_named(tmp_path, httpserver) -> None:
    ws = checked_workspace(tmp_path / "ws", httpserver)
    data = ws.db.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    ws.db.write_bytes(data[: (len(data) // size // 2) * size])
    r = ws.run("list")
    assert r.code == 2 and str(ws.db) in r.err and "doctor" in r.err and "Traceback" not in r.err, r.err


@pytest.mark.parametrize("cmd", [["diff", "Acme"], ["show", "Acme"], ["history", "Acme"],
                                 ["diff", "Acme", "--from", "1", "--to", "2"], ["forget", "Acme", "--yes"],
                                 ["report"], ["feeds"]])
def test_reading_commands_never_create_a_database(tmp_path, cmd) -> None:
    ws = Workspace(tmp_path)
    r = ws.run("--db", str(tmp_path / "missing.db"), *cmd)
    assert_one_line_error(r, "missing.db", "no database yet")
    assert r.code == 2
    assert not list(tmp_path.glob("missing.db*"))


def test_sqlite_full_is_said_in_words(tmp_path) -> None:
    """SQLITE_FULL on a real file (the database held to its current size by max_page_count)."""
    from tracker.store.database import Store
    from tracker.store.trouble import explain

    db = tmp_path / "t.db"
    with Store(db) as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sqlite3.OperationalError) as caught:
            store.put_snapshot(os.urandom(200_000), "text/html")
    line = str(explain(db, caught.value))
    assert line.startswith(f"{db}: ") and "full" in line and "\n" not in line and "disk I/O" not in line


def test_a_lock_held_too_long_is_said_in_words(tmp_path) -> None:
    from tracker.store.database import Store
    from tracker.store.trouble import explain

    db = tmp_path / "t.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
        other.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = str(explain(db, caught.value))
    assert line.startswith(f"{db}: ") and "locked by another process" in line


def _tmpfs_available() -> bool:
    if not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                       capture_output=True)
    return p.returncode == 0


FULL_DISK_SCRIPT = r"""
set -u
mount -t tmpfs -o size=1m tmpfs "$DIR" || exit 97
cd "$DIR"
mkdir policies feeds
cp "$DECL" policies/
"$PY" -m tracker check > first.out 2> first.err; echo $? > "$OUT/first.code"
# fill the disk, leaving nothing
"$PY" -c "
import os
try:
    with open('filler', 'wb') as f:
        while True:
            f.write(b'x' * 4096); f.flush(); os.fsync(f.fileno())
except OSError:
    pass
"
"$PY" -m tracker check > "$OUT/second.out" 2> "$OUT/second.err"; echo $? > "$OUT/second.code"
cp first.err "$OUT/first.err" 2>/dev/null || true
"""


@pytest.mark.skipif(not _tmpfs_available(), reason="no user namespaces here to mount a small tmpfs without root")
def test_a_full_disk_is_said_in_words(tmp_path, httpserver) -> None:
    """A real full disk: a 1 MB tmpfs, one check stores a version, the disk is filled, the page
    changes: the next check ends with one line naming the database and the full disk, exit 2."""
    pages = [policy_html(), policy_html({"Sharing": ["We now share your e-mail address with advertisers."]})]
    served = {"n": 0}

    def handler(request):
        from werkzeug import Response

        body = pages[min(served["n"], 1)]
        served["n"] += 1
        return Response(body, content_type="text/html")

    httpserver.expect_request("/p").respond_with_handler(handler)
    decl = tmp_path / "acme.toml"
    decl.write_text(f'name = "Acme"\n[documents."Privacy Policy"]\nurl = "{httpserver.url_for("/p")}"\n')
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    env = Workspace(mnt).env()
    env.update(POLICY_TRACKER_DB="tracker.db", POLICY_TRACKER_POLICIES="policies", POLICY_TRACKER_FEEDS="feeds",
               DIR=str(mnt), DECL=str(decl), PY=sys.executable, OUT=str(out))
    p = subprocess.run(["unshare", "-rm", "sh", "-c", FULL_DISK_SCRIPT], env=env, capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stderr
    assert (out / "first.code").read_text().strip() == "0", (out / "first.err").read_text()
    err = (out / "second.err").read_text()
    assert (out / "second.code").read_text().strip() == "2", err
    lines = [line for line in err.splitlines() if line.startswith("policy-tracker: error:")]
    assert lines and "Traceback" not in err, err
    assert any("tracker.db" in line and "full" in line for line in lines), err
    assert "disk I/O error" not in err


READ_ONLY_COMMANDS = [["list"], ["show", "Acme"], ["history", "Acme"], ["diff", "Acme"], ["report", "--format", "json"]]


@pytest.mark.parametrize("folder_writable", [False, True], ids=["read-only-folder", "writable-folder"])
def test_commands_that_only_read_open_a_read_only_database(shared_root, httpserver, folder_writable) -> None:
    """A database on read-only media or with read-only permissions (its folder too: SQLite cannot make
    the -shm file WAL needs) is read by the commands that only read; it is left exactly as it was; a
    command that writes says so in one line."""
    ws = checked_workspace(shared_root / "ws", httpserver)
    out = shared_root / "elsewhere"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    for p in ws.feeds.rglob("*"):  # what `check` must write but the database: allowed
        p.chmod(0o777 if p.is_dir() else 0o666)
    ws.feeds.chmod(0o777)
    before = ws.db.read_bytes()
    ws.db.chmod(0o444)
    ws.root.chmod(0o777 if folder_writable else 0o555)
    for cmd in READ_ONLY_COMMANDS:
        r = ws.run_unprivileged(*cmd)
        assert r.code == 0 and "Traceback" not in r.err and r.err == "", (cmd, r.code, r.err)
        assert "Acme" in r.out or "advertisers" in r.out, (cmd, r.out)
    assert "advertisers" in ws.run_unprivileged("diff", "Acme").out
    r = ws.run_unprivileged("--feeds", str(out), "feeds")  # another folder: the database is only read
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert "advertisers" in (out / "index.html").read_text() or any(
        "advertisers" in p.read_text() for p in out.rglob("*.html"))
    r = ws.run_unprivileged("doctor")  # examined all the same
    assert "Traceback" not in r.err and f"database {ws.db}" in r.out and "cannot" not in r.out, (r.out, r.err)
    r = ws.run_unprivileged("check")
    assert_one_line_error(r, str(ws.db), "read-only")
    assert ws.db.read_bytes() == before
    assert not (ws.root / "tracker.db-wal").exists() or folder_writable


def test_a_read_only_database_that_needs_upgrading_says_so(shared_root) -> None:
    """An older release's file (schema 4) cannot be upgraded where it may not be written: one line."""
    ws = Workspace(shared_root / "ws")
    ws.root.mkdir()
    shutil.copyfile(Path(__file__).parent / "data" / "store-before-events.db", ws.db)
    ws.db.chmod(0o444)
    ws.root.chmod(0o555)
    r = ws.run_unprivileged("list")
    assert_one_line_error(r, str(ws.db), "must be upgraded (schema 4 to", "read-only")


def test_a_read_only_folder_with_changes_left_in_the_wal_is_not_read_without_them(shared_root, httpserver) -> None:
    """A read-only folder holding a -wal file with changes (a writer stopped before they were written
    into the database file): read as immutable, the file alone would be out of date. One line instead."""
    ws = checked_workspace(shared_root / "ws", httpserver)
    copy = Workspace(shared_root / "copy")
    copy.root.mkdir()
    con = sqlite3.connect(ws.db)
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("UPDATE documents SET url = url || '?moved'")
    con.commit()
    shutil.copyfile(ws.db, copy.db)  # as a crash or a copy leaves them: the file, and its -wal, no -shm
    shutil.copyfile(f"{ws.db}-wal", f"{copy.db}-wal")
    con.close()
    assert Path(f"{copy.db}-wal").stat().st_size > 0
    copy.root.chmod(0o555)
    r = copy.run_unprivileged("list")
    assert_one_line_error(r, str(copy.db), "tracker.db-wal", "read-only")
