"""The incremental rebuild (manifest of input keys) gives the full rebuild's bytes, repairs deleted or
edited files, and reads only the diffs of the files it has to render."""

from __future__ import annotations

import re
from pathlib import Path

from feeddata import (
    AI_CLAUSE,
    AI_NEGATED,
    BIO_CLAUSE,
    RETENTION_NEW,
    RETENTION_OLD,
    add_change,
    added,
    demo_store,
    modified,
    removed,
    ts,
)

from tracker.compare.tag import tag_changes
from tracker.models import DiffResult
from tracker.publish.build import build_feeds
from tracker.publish.entries import ENTRIES
from tracker.publish.folder import MANIFEST

BASE = "https://feeds.example.test/"


def tree(out: Path) -> dict[str, bytes]:
    """Every file of the folder but the manifest (which holds mtimes), by relative path."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def same_as_full(store, out: Path, scratch: Path, **kw) -> dict[str, bytes]:
    """Build ``out`` incrementally and ``scratch`` from nothing; both trees must be equal."""
    build_feeds(store, out, base_url=BASE, **kw)
    for p in sorted(scratch.rglob("*"), reverse=True) if scratch.exists() else []:
        p.unlink() if p.is_file() else p.rmdir()
    build_feeds(store, scratch, base_url=BASE, **kw)
    got, want = tree(out), tree(scratch)
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel] == want[rel], rel
    return got


CYCLES = [
    [("Chirpline", "Privacy Policy", [added("We may share your data with advertising partners.")])],
    [("Acme Maps", "Terms of Service", [modified(RETENTION_OLD, RETENTION_NEW)]),
     ("Brand New", "Privacy Policy", [added(BIO_CLAUSE)])],
    [("Chirpline", "Privacy Policy", [removed(AI_CLAUSE)]),
     ("Brand New", "Privacy Policy", [modified(AI_NEGATED, AI_CLAUSE, "Your content")])],
    [("Zeta", "Cookies", [added("Any dispute will be resolved by binding arbitration.")])],
]


def test_incremental_equals_full_over_cycles_and_repairs(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "t.db")
    out, scratch = tmp_path / "feeds", tmp_path / "scratch"
    same_as_full(store, out, scratch)
    day = 21
    for cycle in CYCLES:
        for service, doc, changes in cycle:
            day += 1
            add_change(store, service, doc, changes, ts(day), url=f"https://{len(service)}.example.test/p")
        same_as_full(store, out, scratch)
        same_as_full(store, out, scratch, max_entries=2)  # another limit: other keys, same bytes
    same_as_full(store, out, scratch)
    # deleted, edited and truncated files come back; so does a missing or broken manifest
    page = next((out / "changes").glob("chirpline-*-v2.html"))
    page.unlink()
    (out / "all.atom").write_bytes((out / "all.atom").read_bytes() + b"<!-- hand edit -->")
    (out / "tags" / "biometrics.rss").write_bytes(b"")
    same_as_full(store, out, scratch)
    (out / MANIFEST).write_text("{not json")
    same_as_full(store, out, scratch)
    for kept in (out / ENTRIES).iterdir():  # kept entry texts lost or unreadable: made again when shown
        kept.write_text("{not json") if kept.name < "8" else kept.unlink()
    add_change(store, "Zeta", "Cookies", [added("Any dispute goes to the courts.")], ts(day + 1))
    same_as_full(store, out, scratch)
    (out / MANIFEST).unlink()
    same_as_full(store, out, scratch)


def test_replaced_and_deleted_changes(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "t.db")
    out, scratch = tmp_path / "feeds", tmp_path / "scratch"
    before = same_as_full(store, out, scratch)
    # the latest change re-stored in place (same document and version, another diff)
    doc_id, frm, to, at = store.conn.execute("SELECT document_id, from_version, to_version, detected_at FROM changes "
                                             "ORDER BY detected_at DESC LIMIT 1").fetchone()
    store.add_change(doc_id, frm, to, tag_changes(DiffResult([added(BIO_CLAUSE)]), lang="en"), detected_at=at)
    after = same_as_full(store, out, scratch)
    assert after["changes/chirpline-privacy-policy-v3.html"] != before["changes/chirpline-privacy-policy-v3.html"]
    # a change removed from the store: its page is pruned, its neighbour loses the "next" link
    with store.transaction():
        store.conn.execute("DELETE FROM changes WHERE document_id=? AND to_version=?", (doc_id, to))
    final = same_as_full(store, out, scratch)
    assert "changes/chirpline-privacy-policy-v3.html" not in final


def diffs_read(store, fn) -> int:
    """How many stored diffs ``fn`` reads (counted from the SQL the connection runs)."""
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        fn()
    finally:
        store.conn.set_trace_callback(None)
    return sum(len(re.findall(r"\d+", s.split(" IN ", 1)[1])) for s in statements if "SELECT id, diff" in s)


def test_only_needed_diffs_are_read(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "t.db")
    out = tmp_path / "feeds"
    for day in range(1, 9):
        add_change(store, f"Service {day}", "Privacy Policy", [added(f"Clause number {day} about cookies.")], ts(day))
    assert diffs_read(store, lambda: build_feeds(store, out, max_entries=3)) == 11  # first build: all of them
    snapshot = tree(out)
    assert diffs_read(store, lambda: build_feeds(store, out, max_entries=3)) == 0  # nothing new: nothing read
    assert tree(out) == snapshot
    add_change(store, "Service 9", "Privacy Policy", [added("One more clause about cookies.")], ts(28))
    # the new change only: the other entries of the feeds it enters were kept (``.feeds-entries``)
    assert diffs_read(store, lambda: build_feeds(store, out, max_entries=3)) == 1
    for kept in (out / ENTRIES).iterdir():  # entries lost or unreadable are made again from their diffs
        kept.write_text("{not json") if kept.name < "8" else kept.unlink()
    add_change(store, "Service 10", "Privacy Policy", [added("Yet one more clause about cookies.")], ts(29))
    assert 3 <= diffs_read(store, lambda: build_feeds(store, out, max_entries=3)) <= 5


def test_a_build_prunes_only_the_files_it_once_managed(tmp_path: Path) -> None:
    """Stale feeds and pages of its own go; hidden files (another build's temporary files), other
    extensions and folders stay."""
    store = demo_store(tmp_path / "t.db")
    out = tmp_path / "feeds"
    build_feeds(store, out, base_url=BASE)
    stale = [out / "services" / "gone-service.atom", out / "services" / "gone-service.rss",
             out / "changes" / "gone-service-privacy-policy-v2.html"]
    kept = [out / "services" / ".all.atom.123-456.tmp", out / "services" / "notes.txt",
            out / "tags" / ".hidden.atom"]
    for p in stale + kept:
        p.write_bytes(b"x")
    (out / "changes" / "sub.html").mkdir()
    build_feeds(store, out, base_url=BASE)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept) and (out / "changes" / "sub.html").is_dir()
