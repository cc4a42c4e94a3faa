"""Issue 17: changes stored before priority-tag events existed are given them, once (tracker/backfill.py).

``tests/data/store-before-events.db`` is a real database written by the release before events
(commit d20cc06, by its ``demo`` command; see tests/data/README.md): its one change (Chirpline's
privacy policy, v1 -> v2: an AI-training and a biometric clause added) has a stored diff without
events, so main's titles, feeds and report showed only "Data retention, User rights"."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import feedparser
import pytest
from helpers import ROOT, Workspace

from tracker.backfill import FLAG, backfill_events
from tracker.check import analyse
from tracker.models import Document
from tracker.store.codec import unpack
from tracker.store.database import Store

OLD_STORE = ROOT / "tests/data/store-before-events.db"
AI = "We may use the information we collect and publicly available information to help train our machine learning"


def _raw_changes(db: Path) -> list[tuple[int, bytes, list[str]]]:
    with sqlite3.connect(db) as conn:  # the file as stored, not through the Store
        return [(r[0], r[1], json.loads(r[2])) for r in conn.execute("SELECT id, diff, tags FROM changes ORDER BY id")]


def _old_workspace(root: Path) -> Workspace:
    ws = Workspace(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OLD_STORE, ws.db)
    return ws


def test_the_fixture_is_a_store_from_before_events() -> None:
    rows = _raw_changes(OLD_STORE)
    assert len(rows) == 1
    diff = unpack(rows[0][1])
    assert "events" not in diff and "note" not in diff
    assert rows[0][2] == ["biometrics", "ai-training", "data-retention", "user-rights"]


def test_an_old_store_gets_its_events_once_and_every_reader_shows_them(tmp_path: Path) -> None:
    ws = _old_workspace(tmp_path / "ws")
    r = ws.run("report", "--format", "json")
    assert r.code == 0, r.err
    assert "computed the AI-training and biometrics events of 1 change(s)" in r.err and "2 event(s)" in r.err
    rows = r.json()
    firsts = [(x["tag"], x["direction"], x["stance"]) for x in rows][:2]
    assert firsts == [("ai-training", "added", "affirmed"), ("biometrics", "added", "conditional")]
    assert rows[0]["text"].startswith(AI)
    stored = _raw_changes(ws.db)
    diff = unpack(stored[0][1])
    assert [(e["tag"], e["kind"], e["stance"]) for e in diff["events"]] == [
        ("ai-training", "added", "affirmed"), ("biometrics", "added", "conditional")]
    assert sorted(stored[0][2]) == ["ai-training", "biometrics", "data-retention", "user-rights"]

    # the same events as the check step computes for these two versions today
    with Store(ws.db) as store:
        assert store.meta_value(FLAG)
        rec = store.change(stored[0][0])
        assert rec is not None
        old = store.version_by_number(rec.document_id, rec.from_version)
        new = store.version_by_number(rec.document_id, rec.to_version)
        assert old is not None and new is not None
        fresh = analyse(old.clauses, new.clauses, new.lang).events
        assert [(e.tag, e.kind, e.stance, e.sentence) for e in rec.diff.events] == \
               [(e.tag, e.kind, e.stance, e.sentence) for e in fresh]

    # once: the next commands find the flag, say nothing and rewrite nothing
    r = ws.run("feeds")
    assert r.code == 0 and "computed" not in r.err, r.err
    assert _raw_changes(ws.db) == stored
    title = feedparser.parse((ws.feeds / "all.atom").read_bytes()).entries[0].title
    assert title.startswith("Chirpline Privacy Policy — AI training added (may train): “We may use"), title
    assert "Biometrics only with consent (new statement)" in title
    assert [e.title for e in feedparser.parse((ws.feeds / "tags/ai-training.atom").read_bytes()).entries] == [title]
    page = (ws.feeds / "changes/chirpline-privacy-policy-v2.html").read_text(encoding="utf-8")
    assert "AI training added (may train)" in page


def test_a_store_of_this_release_is_looked_at_once(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store:
        assert store.meta_value(FLAG) is None
        assert backfill_events(store) is None  # nothing to do, and now it is known
        assert store.meta_value(FLAG)
        row = store.ensure_documents([Document("A", "Privacy Policy", "https://a.example/p")])[("A", "Privacy Policy")]
        old = analyse([], [], "en")
        with store.transaction():
            store.add_change(row.id, 1, 2, old)
        assert store.changes_without_events() == []  # a diff stored today has its events key, even empty


def test_a_read_only_old_store_is_read_with_a_warning(shared_root: Path) -> None:
    ws = _old_workspace(shared_root / "ws")
    Store(ws.db).close()  # in WAL mode, as any release leaves it
    ws.root.chmod(0o777)
    ws.db.chmod(0o444)
    r = ws.run_unprivileged("report")
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert "warning: 1 change(s) stored by an earlier release lack their AI-training" in r.err
    assert "readonly" in r.err or "read-only" in r.err
    assert "data-retention changed" in r.out  # the report is still there, without the events
    ws.db.chmod(0o644)
    assert "events" not in unpack(_raw_changes(ws.db)[0][1])


@pytest.mark.parametrize("command", [["list"], ["history", "Chirpline"], ["diff", "Chirpline"]])
def test_every_command_but_doctor_brings_an_old_store_up_to_date(tmp_path: Path, command: list[str]) -> None:
    ws = _old_workspace(tmp_path / "ws")
    assert ws.run("doctor").code in (0, 2, 3)  # doctor writes nothing
    assert "events" not in unpack(_raw_changes(ws.db)[0][1])
    r = ws.run(*command)
    assert r.code == 0 and "computed the AI-training and biometrics events of 1 change(s)" in r.err, r.err
    assert unpack(_raw_changes(ws.db)[0][1])["events"]


def test_check_rebuilds_the_feeds_after_a_backfill(tmp_path: Path, httpserver) -> None:
    """An old store whose feeds were published before events: the first `check` after the upgrade finds
    nothing new on the page, yet brings the feeds up to date with the events it just computed."""
    from tracker.demo import demo_versions
    from tracker.publish.build import build_feeds

    ws = _old_workspace(tmp_path / "ws")
    with Store(ws.db) as store:  # the feeds as the old release left them: the stored diff, no events
        build_feeds(store, ws.feeds)
    old_title = feedparser.parse((ws.feeds / "all.atom").read_bytes()).entries[0].title
    assert "AI training" not in old_title and "Data retention" in old_title, old_title
    httpserver.expect_request("/privacy").respond_with_data(demo_versions()[1], content_type="text/html")
    ws.declare("Chirpline", httpserver.url_for("/privacy"))
    r = ws.run("check")
    assert r.code == 0, r.err
    assert "computed the AI-training and biometrics events of 1 change(s)" in r.err
    assert "Chirpline / Privacy Policy: unchanged" in r.out, r.out  # nothing new on the page itself
    title = feedparser.parse((ws.feeds / "all.atom").read_bytes()).entries[0].title
    assert title.startswith("Chirpline Privacy Policy — AI training added (may train)"), title
    page = (ws.feeds / "changes/chirpline-privacy-policy-v2.html").read_text(encoding="utf-8")
    assert "AI training added (may train)" in page
