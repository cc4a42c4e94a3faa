"""The store's version encoding: clause blobs and compressed text read back exactly; databases written
by earlier releases (format-2 blobs, plain text, schema 3) keep working in a real SQLite file, and those
of development versions (format 1, schemas 1 and 2) are refused in words."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import as_dicts, clauses_format2, old_database, shared_dir

from tracker.errors import TrackerError
from tracker.models import Clause, Document
from tracker.store.codec import (
    clause_count,
    decode_clauses,
    decode_text,
    encode_clauses,
    encode_text,
    pack,
    sha256,
)
from tracker.store.database import Store
from tracker.store.schema import BASE_SCHEMA, SCHEMA
from tracker.text.clauses import make_clause
from tracker.text.html import extract_html
from tracker.text.normalise import clause_id

PAGE = """<html lang="en"><body><main>
<h1>Privacy Policy</h1><p>Last updated: 3 March 2024</p>
<h2>1. Information We Collect</h2>
<p>We collect the “information” you provide — your name, e-mail and <b>Straße</b> address.</p>
<p>We collect:</p><ul><li>device identifiers;</li><li>usage data (pages viewed).</li></ul>
<h3>1.1 Cookies</h3><p>See https://example.com/cookies?utm_source=x for details.</p>
<h2>2. Sharing</h2><p>We do not sell your data. Contact privacy [at] example [dot] com.</p>
</main></body></html>"""


def tricky_clauses() -> list[Clause]:
    """Every branch of the encoding: norm = casefold, a suffix of it, something else; a foreign id."""
    return [
        Clause(id=clause_id("privacy policy"), text="Privacy Policy", norm="privacy policy", section=("Privacy Policy",),
               kind="heading"),
        Clause(id=clause_id("information"), text="2.1 Information", norm="information", section=("A", "B")),
        Clause(id=clause_id("straße"), text="STRASSE", norm="straße", section=("A", "B")),  # norm longer than text
        Clause(id="custom-id", text="Ünïcode ǅ ﬁ", norm="ünïcode ǆ fi", section=(), kind="list-item",
               context="We collect:"),
        Clause(id=clause_id(""), text="", norm="", metadata=True),
        Clause(id="", text="x", norm="x", section=("A", "B")),  # an empty id is kept, not recomputed
        Clause(id=clause_id("straße groß"), text="Straße GROẞ", norm="straße groß"),  # casefold grows the text
    ]


def test_format_2_round_trip_is_exact() -> None:
    clauses = tricky_clauses()
    back = decode_clauses(encode_clauses(clauses))
    assert as_dicts(back) == as_dicts(clauses)
    assert all(type(b.section) is tuple and type(b.metadata) is bool for b in back)
    assert clause_count(encode_clauses(clauses)) == len(clauses)
    assert encode_clauses(clauses) == encode_clauses(tricky_clauses())  # deterministic: same input, same bytes


def test_format_2_round_trip_of_extracted_page_and_text() -> None:
    ex = extract_html(PAGE)
    assert any(c.norm != c.text.casefold() for c in ex.clauses)  # the page exercises the stored-norm branches
    assert as_dicts(decode_clauses(encode_clauses(ex.clauses))) == as_dicts(ex.clauses)
    stored = encode_text(ex.text)
    assert isinstance(stored, bytes) and len(stored) < len(ex.text.encode())
    assert decode_text(stored) == ex.text
    assert encode_text("short") == "short"  # not worth compressing: kept as a string
    assert decode_text(encode_text("")) == ""


def test_format_2_blob_still_readable_and_format_1_refused() -> None:
    clauses = tricky_clauses()
    old = clauses_format2(clauses)
    assert as_dicts(decode_clauses(old)) == as_dicts(clauses)
    assert clause_count(old) == len(clauses)
    assert decode_text("plain text as before") == "plain text as before"
    with pytest.raises(TrackerError, match="format 1 by a development version"):
        decode_clauses(pack(as_dicts(clauses)))


def test_unknown_format_refused_in_one_line() -> None:
    with pytest.raises(TrackerError, match="newer policy-tracker"):
        decode_clauses(pack({"v": 99, "rows": []}))


def test_real_policies_round_trip() -> None:
    html = shared_dir() / "corpus" / "html"
    checked = 0
    for page in sorted(html.glob("*/*.html"))[:6]:
        ex = extract_html(page.read_text(encoding="utf-8", errors="replace"))
        assert as_dicts(decode_clauses(encode_clauses(ex.clauses))) == as_dicts(ex.clauses), page
        assert decode_text(encode_text(ex.text)) == ex.text
        checked += len(ex.clauses)
    assert checked > 100


def test_a_database_of_a_development_version_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """Schemas 1 and 2 (clauses in format 1) were never released: such a file is refused in words,
    and a file of a later schema that still holds a format-1 row is refused by its migration."""
    db = tmp_path / "dev.db"
    con = sqlite3.connect(db)
    con.executescript(BASE_SCHEMA)
    con.execute("PRAGMA user_version = 2")
    tables = con.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    con.close()
    with pytest.raises(TrackerError, match="development version of policy-tracker .schema 2, clauses in storage "
                                           "format 1."):
        Store(db)
    with sqlite3.connect(db) as con:  # nothing migrated
        assert con.execute("PRAGMA user_version").fetchone()[0] == 2
        assert con.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == tables
    ex = extract_html(PAGE)
    db = tmp_path / "five.db"
    old_database(db, 5, [(ex.text, pack(as_dicts(ex.clauses)), sha256(ex.text), len(ex.text))])
    with pytest.raises(TrackerError, match=f"{db}: clauses stored in format 1 by a development version"):
        Store(db)
    with sqlite3.connect(db) as con:  # the migration was rolled back
        assert con.execute("PRAGMA user_version").fetchone()[0] == 5
        assert con.execute("SELECT clauses FROM versions").fetchone()[0] == pack(as_dicts(ex.clauses))


def test_old_database_upgrades_and_mixes_with_new_versions(tmp_path: Path) -> None:
    old = extract_html(PAGE)
    db = tmp_path / "old.db"  # schema 3: the text stored plain (as older rows and short texts are), format 2
    old_database(db, 3, [(old.text, clauses_format2(old.clauses), sha256(old.text), len(old.text))])
    new_clauses = [*old.clauses, make_clause("We now train models on your posts.", ("Sharing",), "paragraph")]
    new_text = old.text + "\n\nWe now train models on your posts."
    with Store(db) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
        v1 = s.latest_version(1)
        assert v1 is not None and v1.text == old.text and v1.sha256 == sha256(old.text)
        assert as_dicts(v1.clauses) == as_dicts(old.clauses)
        with s.transaction():
            added = s.add_version(1, text=new_text, clauses=new_clauses)  # type: ignore[arg-type]
    with Store(db) as s:  # a fresh connection: everything comes from the file
        v2 = s.latest_version(1)
        assert v2 is not None and v2.number == added.number == 2
        assert v2.text == new_text and v2.sha256 == sha256(new_text)
        assert as_dicts(v2.clauses) == as_dicts(new_clauses)
        assert as_dicts(s.version_by_number(1, 1).clauses) == as_dicts(old.clauses)  # type: ignore[union-attr]
        assert s.version_clause_counts(1) == {1: len(old.clauses), 2: len(new_clauses)}
        listed = s.versions("Acme")
        assert [(v.number, v.to_dict()["length"]) for v in listed] == [(2, len(new_text)), (1, len(old.text))]
        assert s.document("Acme", "Privacy Policy").text_length == len(new_text)  # type: ignore[union-attr]
        raw = s.conn.execute("SELECT typeof(text), length(text), length FROM versions ORDER BY number").fetchall()
    assert raw[0][2] == len(old.text)  # stored whole (LZMA with its clauses, or plain when that is smaller)
    assert raw[1][0] == "blob" and raw[1][1] < len(new_text.encode()) and raw[1][2] == len(new_text)


def test_store_written_by_pipeline_order_reads_back(tmp_path: Path) -> None:
    """As ``commit_prepared`` writes a new document: snapshot, check, version, link; then the readers."""
    ex = extract_html(PAGE)
    doc = Document(service="Acme", type="Privacy Policy", url="https://acme.test/privacy")
    with Store(tmp_path / "t.db") as s:
        row = s.ensure_documents([doc])[doc.key]
        with s.transaction(), s.savepoint():
            snap = s.put_snapshot(PAGE.encode(), "text/html")
            check = s.record_check(row.id, state="new")
            v = s.add_version(row.id, text=ex.text, clauses=ex.clauses, check_id=check, snapshot_sha256=snap)
            s.link_check_version(check, v.id)
        got = s.get_version("acme")
        assert got is not None and got.text == ex.text and as_dicts(got.clauses) == as_dicts(ex.clauses)
        assert got.snapshot_sha256 == snap and s.snapshot(snap) == PAGE.encode()
        assert s.integrity_ok()


def test_newer_schema_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    con.close()
    with pytest.raises(TrackerError, match="newer policy-tracker"):
        Store(db)
