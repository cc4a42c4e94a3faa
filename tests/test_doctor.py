"""`doctor`: one screen on whether the installation is sound, with an exit status scripts can use."""

from __future__ import annotations

import os
import sqlite3

from pages import policy_html
from werkzeug import Response


def _tracked(ws, httpserver) -> dict:
    page = {"body": policy_html(), "status": 200}
    httpserver.expect_request("/privacy").respond_with_handler(
        lambda r: Response(page["body"], status=page["status"], content_type="text/html"))
    ws.declare("Example", httpserver.url_for("/privacy"))
    assert ws.run("check").code == 0
    page["body"] = policy_html({"Your choices": ["We may use your photos to train our face recognition models."]})
    assert ws.run("check").code == 0
    return page


def test_a_sound_installation(ws, httpserver) -> None:
    _tracked(ws, httpserver)
    r = ws.run("doctor")
    assert r.code == 0, r.out
    assert "FAIL" not in r.out and "WARN" not in r.out
    for what in ("integrity check passed", "schema", "every change with its two versions", "up to date",
                 "1 document(s) declared", "browser", "notifications", "none failing"):
        assert what in r.out, (what, r.out)
    assert len(r.out.splitlines()) <= 24  # one screen


def test_zeroed_pages_are_found(ws, httpserver) -> None:
    _tracked(ws, httpserver)
    sqlite3.connect(ws.db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    size = ws.db.stat().st_size
    page = sqlite3.connect(ws.db).execute("PRAGMA page_size").fetchone()[0]
    with open(ws.db, "r+b") as f:  # zero every page but the first (the header stays valid)
        for offset in range(page, size, page * 2):
            f.seek(offset)
            f.write(b"\0" * page)
    r = ws.run("doctor")
    assert r.code == 2, (r.code, r.out, r.err)
    assert "FAIL" in r.out and "Traceback" not in r.err


def test_feeds_of_another_database_a_bad_file_and_stale_feeds(ws, httpserver) -> None:
    _tracked(ws, httpserver)
    (ws.policies / "zz-bad.toml").write_text("name = \n", encoding="utf-8")
    (ws.feeds / "all.atom").write_text("edited by hand", encoding="utf-8")
    r = ws.run("doctor")
    assert r.code == 2, r.out
    assert "WARN  feeds" in r.out and "out of date" in r.out
    assert "FAIL  declarations" in r.out and "zz-bad.toml" in r.out
    os.rename(ws.db, ws.root / "old.db")
    assert ws.run("check", "Example").code == 2  # refused: the feeds are the other database's
    os.rename(ws.root / "old.db", ws.db)
    (ws.feeds / ".database-id").write_text('{"database": "0123456789abcdef"}', encoding="utf-8")
    r = ws.run("doctor")
    assert "published from another database" in r.out and r.code == 2


def test_a_document_failing_is_reported_with_status_3(ws, httpserver) -> None:
    page = _tracked(ws, httpserver)
    page["status"] = 500
    for _ in range(3):
        assert ws.run("check").code == 3
    r = ws.run("doctor", "--json")
    assert r.code in (0, 3)  # failing now, but not yet for long
    found = [f for f in r.json_lines() if f["document"]]
    assert found and "failed 3 times in a row" in found[0]["detail"] and "HTTP 500" in found[0]["detail"]


def test_no_database(ws) -> None:
    r = ws.run("doctor")
    assert r.code == 2 and "does not exist" in r.out and not ws.db.exists()
