"""The feeds folder knows which database published it (issue 19): a new, empty or other database never
deletes the published change pages; a 0-byte database file is not silently made a new database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import feedparser
from helpers import assert_one_line_error
from pages import policy_html


def _changed_once(ws, httpserver) -> None:
    page = {"body": policy_html()}
    httpserver.expect_request("/privacy").respond_with_handler(
        lambda r: __import__("werkzeug").Response(page["body"], content_type="text/html"))
    ws.declare("Example", httpserver.url_for("/privacy"))
    assert ws.run("check").code == 0
    page["body"] = policy_html({"Your choices": ["We may use your photos to train our face recognition models."]})
    assert ws.run("check").code == 0
    assert len(list((ws.feeds / "changes").glob("*.html"))) == 1


def _published(ws) -> tuple[list[str], int]:
    pages = sorted(p.name for p in (ws.feeds / "changes").glob("*.html"))
    return pages, len(feedparser.parse(str(ws.feeds / "all.atom")).entries)


def test_a_new_database_over_published_feeds_is_refused(ws, httpserver) -> None:
    _changed_once(ws, httpserver)
    before = _published(ws)
    assert before[1] == 1
    os.rename(ws.db, ws.root / "old.db")  # the database is lost or --db points elsewhere
    r = ws.run("check")
    assert_one_line_error(r, str(ws.feeds), "another database")
    assert _published(ws) == before
    r = ws.run("feeds")
    assert_one_line_error(r, "another database", "--rebuild")
    r = ws.run("run", "--once")
    assert_one_line_error(r, "another database")
    assert _published(ws) == before


def test_feeds_without_a_record_and_an_empty_database_are_refused(ws, httpserver) -> None:
    """A folder published before the record existed: adopted, unless the database has no change at all."""
    _changed_once(ws, httpserver)
    before = _published(ws)
    (ws.feeds / ".database-id").unlink()
    os.rename(ws.db, ws.root / "old.db")
    r = ws.run("check")
    assert_one_line_error(r, "1 published change page", "no change")
    assert _published(ws) == before


def test_feeds_rebuild_takes_the_folder_over_on_purpose(ws, httpserver) -> None:
    _changed_once(ws, httpserver)
    os.rename(ws.db, ws.root / "old.db")
    assert ws.run("check").code == 2
    r = ws.run("feeds", "--rebuild")
    assert r.code == 0, r.err
    assert _published(ws) == ([], 0)
    assert ws.run("check").code == 0  # from now on the folder is this database's


def test_the_same_database_keeps_publishing(ws, httpserver) -> None:
    _changed_once(ws, httpserver)
    assert ws.run("feeds").code == 0
    assert ws.run("check").code == 0
    assert _published(ws)[1] == 1


def test_a_zero_byte_database_is_an_error_not_a_new_database(ws, httpserver) -> None:
    _changed_once(ws, httpserver)
    ws.db.write_bytes(b"")
    for name in ("-wal", "-shm"):
        (ws.root / f"tracker.db{name}").unlink(missing_ok=True)
    past = time.time() - 60
    os.utime(ws.db, (past, past))
    for argv in (["check"], ["list"], ["history", "Example"], ["feeds"]):
        r = ws.run(*argv)
        assert_one_line_error(r, "empty (0 bytes)", str(ws.db))
    assert ws.db.stat().st_size == 0
    assert _published(ws)[1] == 1


def test_a_database_being_created_is_not_mistaken_for_an_empty_file(tmp_path) -> None:
    """SQLite writes a new file's header at once; a 0-byte file younger than a few seconds is one being
    made by another process, and is opened normally."""
    db = tmp_path / "new.db"
    db.write_bytes(b"")
    code = subprocess.run([sys.executable, "-c", f"from tracker.store.database import Store; Store({str(db)!r})"],
                          capture_output=True, text=True)
    assert code.returncode == 0, code.stderr
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] >= 1


def test_a_bad_declaration_file_is_named_in_status_atom_and_list(ws, httpserver) -> None:
    """Issue 18: one bad file never blocks the others, and it is named where people look."""
    _changed_once(ws, httpserver)
    (ws.policies / "zz-bad.toml").write_text('name = "Bad"\n[documents."Privacy Policy"\n', encoding="utf-8")
    r = ws.run("check")
    assert r.code == 2 and "zz-bad.toml" in r.err
    status = feedparser.parse(str(ws.feeds / "status.atom"))
    titles = [e.title for e in status.entries]
    assert any("zz-bad.toml" in t for t in titles), titles
    [entry] = [e for e in status.entries if "zz-bad.toml" in e.title]
    assert "validate" in entry.content[0].value
    first = (ws.feeds / "status.atom").read_bytes()
    assert ws.run("feeds").code == 0
    assert (ws.feeds / "status.atom").read_bytes() == first  # stable: dated by the file, not by now
    r = ws.run("list")
    assert r.code == 2 and "zz-bad.toml" in r.out and "not read" in r.out and "Example" in r.out
    r = ws.run("list", "--json")  # the same row in JSON: scripts see the bad file too
    bad = [i for i in r.json() if i["type"] == "(declaration file)"]
    assert r.code == 2 and [i["service"] for i in bad] == ["zz-bad.toml"], r.out
    assert bad[0]["state"] == "not read (bad file)" and bad[0]["file"].endswith("zz-bad.toml") and bad[0]["error"]
    (ws.policies / "zz-bad.toml").unlink()
    assert ws.run("check").code == 0
    assert not any("zz-bad" in e.title for e in feedparser.parse(str(ws.feeds / "status.atom")).entries)


def test_adding_a_service_whose_name_slugs_the_same_renames_nothing(ws, httpserver) -> None:
    """Issue 19: adding "P." after "P" used to turn services/p.atom into p-<hash>.atom (404s)."""
    httpserver.expect_request("/p").respond_with_data(policy_html(), content_type="text/html")
    httpserver.expect_request("/p-dot").respond_with_data(policy_html(title="Terms"), content_type="text/html")
    ws.declare("P", httpserver.url_for("/p"))
    assert ws.run("check").code == 0
    assert (ws.feeds / "services" / "p.atom").exists()
    (ws.policies / "p-dot.toml").write_text(
        f'name = "P."\n[documents."Privacy Policy"]\nurl = "{httpserver.url_for("/p-dot")}"\n', encoding="utf-8")
    assert ws.run("check").code == 0
    names = sorted(p.name for p in (ws.feeds / "services").glob("*.atom"))
    assert "p.atom" in names and len(names) == 2, names
    assert ws.run("feeds").code == 0
    assert "p.atom" in sorted(p.name for p in (ws.feeds / "services").glob("*.atom"))
