"""Versions stored as line deltas (issue 20): exact round trips, chains bounded by MAX_DEPTH, and the
migration of a database written by the release before (schema 5: whole versions, format-2 clauses)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from helpers import as_dicts, clauses_format2, old_database

from tracker.models import Clause, Document
from tracker.store import delta
from tracker.store.codec import encode_text, pack, sha256
from tracker.store.database import Store
from tracker.store.schema import SCHEMA
from tracker.text.clauses import make_clause


@pytest.mark.parametrize("seed", range(40))
def test_line_delta_rebuilds_any_edit(seed: int) -> None:
    rng = random.Random(seed)
    words = ["", "", "a", "b", "We collect data.", "We share data.", "x" * 50, "Ünïcode ǅ"]
    base = [rng.choice(words) + str(rng.randrange(4)) * rng.randrange(2) for _ in range(rng.randrange(0, 60))]
    new = list(base)
    for _ in range(rng.randrange(0, 8)):
        op = rng.random()
        i = rng.randrange(len(new) + 1)
        if op < 0.3:
            new.insert(i, rng.choice(words) + "new")
        elif op < 0.6 and new:
            del new[min(i, len(new) - 1)]
        elif op < 0.8 and len(new) > 4:  # a block moved
            block = new[1:3]
            del new[1:3]
            new[i % len(new):i % len(new)] = block
        elif new:
            new[min(i, len(new) - 1)] += " reworded"
    ops = delta.line_delta(base, new)
    assert delta.apply_delta(base, ops) == new
    assert delta.apply_delta(base, delta.decode_ops(delta.encode_ops(ops))) == new


def test_unchanged_lines_cost_one_copy() -> None:
    base = [f"clause {i}" for i in range(500)] + ["", ""] * 50
    new = base[:200] + ["a new clause"] + base[200:]
    ops = delta.line_delta(base, new)
    assert ops == [[0, 200], "a new clause", [200, len(base) - 200]]


def _history(n: int, seed: int = 3) -> list[tuple[str, list[Clause]]]:
    """``n`` versions of one policy, each a small edit of the one before (sections inserted too)."""
    rng = random.Random(seed)
    paras = [(("Data", f"Part {i // 7}"), f"We collect item {i} and keep it for {rng.randrange(30)} days.") for i in range(120)]
    out = []
    for k in range(n):
        if k:
            i = rng.randrange(len(paras))
            r = rng.random()
            if r < 0.4:
                paras[i] = (paras[i][0], paras[i][1] + f" Changed in {k}.")
            elif r < 0.7:
                paras.insert(i, (("Data", f"New part {k}"), f"We now train models on posts ({k})."))
            elif len(paras) > 50:
                del paras[i]
        clauses = [make_clause("Privacy Policy", ("Privacy Policy",), "heading"), make_clause(f"Last updated: {k}", (), "paragraph")]
        clauses[1] = Clause(clauses[1].id, clauses[1].text, clauses[1].norm, (), "paragraph", True, "")
        clauses += [make_clause(text, section, "list-item" if j % 5 == 0 else "paragraph") for j, (section, text)
                    in enumerate(paras)]
        text = "\n\n".join(c.text for c in clauses)
        out.append((text, clauses))
    out[1] = (out[1][0], [*out[1][1], Clause("custom-id", "STRASSE", "straße", ("A",), context="We collect:")])
    return out


def _reads_back(s: Store, history: list) -> None:
    """Every version of document 1, newest first with an empty line cache, reads back as it was stored."""
    for number in range(len(history), 0, -1):
        s.lines_cache.clear()
        v = s.version_by_number(1, number)
        assert v is not None and v.text == history[number - 1][0], number
        assert as_dicts(v.clauses) == as_dicts(history[number - 1][1]), number
    assert s.version_clause_counts(1) == {n: len(c) for n, (_, c) in enumerate(history, 1)}


def _schema5_database(path: Path, history: list[tuple[str, list[Clause]]]) -> None:
    """A file as the release before wrote it: schema 5, every version whole (text zlib'd, clauses in
    format 2; the first one's text plain, as short texts and older rows are), a change between them."""
    old_database(path, 5, [(text if number == 1 else encode_text(text), clauses_format2(clauses), sha256(text),
                            len(text)) for number, (text, clauses) in enumerate(history, 1)],
                 changes=((1, 2, pack({"changes": []})),))


def test_database_of_the_release_before_migrates_to_deltas_exactly(tmp_path: Path) -> None:
    history = _history(delta.MAX_DEPTH + 20)
    db = tmp_path / "old.db"
    _schema5_database(db, history)
    with sqlite3.connect(db) as con:
        before = con.execute("SELECT SUM(length(text) + length(clauses)) FROM versions").fetchone()[0]
    with Store(db) as s:
        assert s.schema_version() == (SCHEMA, SCHEMA)
        rows = s.conn.execute("SELECT number, base_id FROM versions ORDER BY number").fetchall()
        after = s.conn.execute("SELECT SUM(length(text) + length(clauses)) FROM versions").fetchone()[0]
    assert rows[0][1] is None and rows[1][1] is not None  # the first whole, the next a delta of it
    assert rows[delta.MAX_DEPTH][1] is None  # a chain never grows past MAX_DEPTH deltas
    assert after < before / 3
    with Store(db) as s:  # a fresh connection: everything from the file, newest first (no decoded chain at hand)
        _reads_back(s, history)
        assert [v.to_dict()["length"] for v in s.versions("Acme")] == [len(t) for t, _ in reversed(history)]
        assert s.change(1) is not None and not any(s.broken_links().values())


def test_versions_written_as_deltas_read_back_after_rollback_and_rewind(tmp_path: Path) -> None:
    history = _history(30, seed=5)
    with Store(tmp_path / "t.db") as s:
        row = s.ensure_document(Document(service="Acme", type="Privacy Policy", url="https://acme.test/p"))
        with s.transaction():
            for text, clauses in history[:20]:
                s.add_version(row.id, text=text, clauses=clauses, source="import")
            # a version written then rolled back: its id is given again to another text
            with pytest.raises(RuntimeError), s.savepoint():
                s.add_version(row.id, text=history[25][0], clauses=history[25][1])
                raise RuntimeError
            for text, clauses in history[20:]:
                s.add_version(row.id, text=text, clauses=clauses)
        bases = [r[0] for r in s.conn.execute("SELECT base_id FROM versions ORDER BY number")]
        assert bases[0] is None and all(b is not None for b in bases[1:])
    with Store(tmp_path / "t.db") as s:
        for number, (text, clauses) in enumerate(history, 1):
            v = s.version_by_number(row.id, number)
            assert v is not None and v.text == text and as_dicts(v.clauses) == as_dicts(clauses)
        ids = {r[0] for r in s.conn.execute("SELECT id FROM versions")}
        with s.transaction():
            assert s.rewind_import(row.id, set()) == 0
            s.conn.execute("DELETE FROM versions WHERE number > 25")
            s.lines_cache.clear()
            s.add_version(row.id, text="short", clauses=[make_clause("short", (), "paragraph")])
        v = s.latest_version(row.id)
        assert v is not None and v.number == 26 and v.text == "short" and len(ids) == 30


def test_keyframes_hold_text_and_clauses_in_one_lzma_stream() -> None:
    history = _history(3, seed=7)
    for text, clauses in history:
        from tracker.store.codec import clause_records

        lines, records = text.split("\n"), clause_records(clauses)
        blob = delta.encode_whole(lines, records)
        assert delta.is_whole(blob) and not delta.is_delta(blob)
        assert delta.decode_whole(blob) == (lines, records)
    assert delta.decode_whole(delta.encode_whole([""], [])) == ([""], [])
    assert delta.decode_whole(delta.encode_whole(["a\x00b", "ü"], ['["x"]'])) == (["a\x00b", "ü"], ['["x"]'])


def test_database_of_schema_6_migrates_its_keyframes_exactly(tmp_path: Path) -> None:
    """A file as the release before this one wrote it (schema 6: deltas, keyframes as zlib'd text and
    format-3 clauses) opens as schema 7 with every keyframe in one LZMA stream, every version exact."""
    from tracker.store.schema import MIGRATIONS, rewrite_as_deltas

    history = _history(delta.MAX_DEPTH + 10, seed=11)
    db = tmp_path / "six.db"
    _schema5_database(db, history)
    with sqlite3.connect(db) as con:  # migration 6 as that release ran it
        con.executescript(MIGRATIONS[6])
        rewrite_as_deltas(con)
        con.execute("PRAGMA user_version = 6")
        old = con.execute("SELECT COUNT(*), SUM(length(text) + length(clauses)) FROM versions WHERE base_id IS NULL "
                          "AND length(clauses) > 0").fetchone()
    assert old[0] == 2  # the first version and the one after MAX_DEPTH deltas
    with Store(db) as s:
        assert s.schema_version() == (SCHEMA, SCHEMA) and SCHEMA >= 7
        kept = s.conn.execute("SELECT text, clauses FROM versions WHERE base_id IS NULL").fetchall()
    assert len(kept) == 2 and all(delta.is_whole(t) and c == b"" for t, c in kept)
    assert sum(len(t) for t, _ in kept) < old[1]
    with sqlite3.connect(db) as con:
        diff = con.execute("SELECT diff FROM changes").fetchone()[0]
    assert diff[1] & 0x20  # rewritten with the diffs' preset dictionary
    with Store(db) as s:
        _reads_back(s, history)
        assert s.change(1) is not None and s.change(1).diff.changes == []  # type: ignore[union-attr]


def test_diff_zdict_is_frozen_and_diffs_read_with_or_without_it() -> None:
    """The preset dictionary is part of the file format: stored diffs need these exact bytes."""
    import hashlib

    from tracker.store.codec import pack_diff, unpack
    from tracker.store.diff_zdict import DIFF_ZDICT

    assert hashlib.sha256(DIFF_ZDICT).hexdigest() == "2e005717168b45b9e61076c580ba44487f80e49f2a562b489090f6c8ee6fd4ff"
    diff = {"changes": [{"kind": "modified", "section": "Sharing", "old": "We share data.", "new": "We sell data.",
                         "edits": [{"op": "replace", "old": "share", "new": "sell"}], "tags": ["data-sharing"]}],
            "events": [], "note": "", "stats": {"added": 0, "removed": 0, "modified": 1}}
    blob = pack_diff(diff)
    assert blob[1] & 0x20 and unpack(blob) == diff  # FDICT set: made with the dictionary
    assert len(blob) < len(pack(diff, 9))
    assert unpack(pack(diff)) == diff  # diffs stored before it still read


def test_a_first_check_is_stored_fast_an_import_compact(tmp_path: Path) -> None:
    """A document's first version from a check stays zlib'd (no LZMA in a first cycle); from an import,
    and at every keyframe of a chain, text and clause records go into one LZMA stream."""
    history = _history(3, seed=13)
    with Store(tmp_path / "t.db") as s:
        for service, source in (("Checked", "check"), ("Imported", "import")):
            row = s.ensure_document(Document(service=service, type="Privacy Policy", url=f"https://{service}.test/p"))
            with s.transaction():
                for text, clauses in history:
                    s.add_version(row.id, text=text, clauses=clauses, source=source)
        first = dict(s.conn.execute("SELECT d.service, v.text FROM versions v JOIN documents d ON d.id = v.document_id "
                                    "WHERE v.number = 1").fetchall())
        assert not delta.is_whole(first["Checked"]) and delta.is_whole(first["Imported"])
        for doc in (1, 2):
            for number, (text, clauses) in enumerate(history, 1):
                s.lines_cache.clear()
                v = s.version_by_number(doc, number)
                assert v is not None and v.text == text and as_dicts(v.clauses) == as_dicts(clauses)
