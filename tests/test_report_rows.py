"""The report's rows kept per change in the store (issue 20): the same rows as made from the diffs,
made once, made again when a diff is rewritten, and a read-only file still reported."""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from pathlib import Path

from feeddata import AI_AFFIRMED, AI_NEGATED, add_change, demo_store, modified, ts

from tracker.models import PRIORITY_TAGS
from tracker.publish.report import ReportRow, build_rows, render_json, stored_rows
from tracker.store.database import Store


def _as_made(store: Store, tag: str | None = None) -> list[dict]:
    return [r.to_dict() for r in build_rows(store.changes(tag=tag), tag=tag)]


def _kept(store: Store) -> dict[int, str]:
    return dict(store.conn.execute("SELECT change_id, stamp FROM report_rows").fetchall())


def test_kept_rows_are_the_rows_made_from_the_diffs(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "t.db")
    assert _kept(store) == {}
    heads, rows = stored_rows(store)
    assert [r.to_dict() for r in rows] == _as_made(store) and len(rows) >= 4
    assert {h.id for h in heads} == {r.change_id for r in rows}
    assert set(_kept(store)) == {c.id for c in store.changes()}  # made once, kept for every change
    for tag in [*PRIORITY_TAGS, "data-retention", "location"]:
        _, tagged = stored_rows(store, tag=tag)
        assert [r.to_dict() for r in tagged] == _as_made(store, tag), tag
    # the next report reads them: nothing left to make
    assert all(h.rows is not None for h in store.report_heads(fmt=1))
    since = stored_rows(store, since=ts(18))[1]
    assert since and [r.to_dict() for r in since] == [r.to_dict() for r in rows if r.detected_at >= since[0].detected_at]


def test_a_rewritten_diff_or_a_new_change_with_the_same_id_is_made_again(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "t.db")
    stored_rows(store)
    last = store.changes()[0]
    diff = last.diff
    diff.events = []  # e.g. a backfill that found no event
    with store.transaction():
        store.replace_change_diff(last.id, diff, last.tags)
    assert last.id not in _kept(store)  # dropped by the trigger, whoever rewrote it
    assert [r.to_dict() for r in stored_rows(store)[1]] == _as_made(store)
    with store.transaction():
        store.conn.execute("DELETE FROM changes WHERE id=?", (last.id,))
    assert last.id not in _kept(store)
    new_id = add_change(store, "Chirpline", "Privacy Policy", [modified(AI_NEGATED, AI_AFFIRMED, "Again")], ts(30))
    assert new_id not in _kept(store)
    assert [r.to_dict() for r in stored_rows(store)[1]] == _as_made(store)


def test_a_read_only_file_is_reported_without_keeping_rows(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    demo_store(db).close()
    expected = _as_made(Store(db))
    ro = Store.__new__(Store)  # a connection that cannot write (SQLite refuses, even to root)
    ro.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ro.lines_cache = OrderedDict()
    assert [r.to_dict() for r in stored_rows(ro)[1]] == expected
    assert ro.keep_report_rows([(1, "1", [])]) is False
    assert _kept(ro) == {}


def test_json_is_json_dumps_indented_byte_for_byte() -> None:
    rows = [ReportRow(date="2026-03-01", detected_at="2026-03-01T00:00:00Z", service='Ac"me\\', type="Terms\n",
                      tag="ai-training", direction="added", text="We “train” on\tposts 😀 \x00 </script>",
                      clause="Long clause.", section="A > B", from_version=1, to_version=22, change_id=7,
                      stance="affirmed")] * 2
    pages = {7: "changes/acme.html"}
    expected = []
    for r in rows:
        d = r.to_dict()
        from tracker.publish.report import shown_sentence

        d["text"] = shown_sentence(r)
        d["page"] = pages[7]
        expected.append(d)
    assert render_json(rows, pages) == json.dumps(expected, ensure_ascii=False, indent=2)
    assert render_json([]) == json.dumps([], ensure_ascii=False, indent=2)
