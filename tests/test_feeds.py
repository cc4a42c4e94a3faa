"""Feeds, change pages and index built from a real store: validity, ids, dates, content, safety."""

from __future__ import annotations

import html
import re
from pathlib import Path

import feedparser
import lxml.etree as ET
import lxml.html
import pytest
from click.testing import CliRunner
from feeddata import AI_CLAUSE, DEMO_TITLES, add_change, added, demo_store, modified, ts

from tracker.broken import RECOVER_AFTER
from tracker.cli import cli
from tracker.compare.tag import tag_changes
from tracker.errors import TrackerError
from tracker.models import DiffResult, Evidence
from tracker.publish.build import build_feeds, service_slugs
from tracker.publish.feeds import entry_id
from tracker.publish.folder import write_atomic
from tracker.store.database import Store

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def built(tmp_path: Path):
    store = demo_store(tmp_path / "t.db")
    out = tmp_path / "feeds"
    paths = build_feeds(store, out)
    yield store, out, paths
    store.close()


def feeds_in(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".atom", ".rss"))


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(out)): (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}


def test_files_laid_out(built):
    _, out, paths = built
    names = {str(p.relative_to(out)) for p in paths}
    for rel in ("all.atom", "all.rss", "status.atom", "index.html", "services/chirpline.atom",
                "services/acme-maps.rss", "tags/ai-training.atom", "tags/biometrics.rss",
                "tags/arbitration.atom", "changes/chirpline-privacy-policy-v2.html",
                "changes/chirpline-privacy-policy-v3.html", "changes/acme-maps-terms-of-service-v2.html"):
        assert rel in names and (out / rel).is_file(), rel
    assert not list(out.rglob(".tmp-*"))


def test_every_feed_parses_with_ids_dates_and_self_link(built):
    _, out, _ = built
    for path in feeds_in(out):
        d = feedparser.parse(path.read_bytes())
        assert not d.bozo, (path, d.get("bozo_exception"))
        ids = [e.id for e in d.entries]
        assert len(ids) == len(set(ids))
        assert all(i.startswith("tag:policy-tracker,2024:") for i in ids)
        if path.suffix == ".atom":
            root = ET.fromstring(path.read_bytes())
            for el in root.iter(f"{ATOM}updated", f"{ATOM}published"):
                assert RFC3339.match(el.text), (path, el.text)
            selfs = [ln.get("href") for ln in root.findall(f"{ATOM}link") if ln.get("rel") == "self"]
        else:
            root = ET.fromstring(path.read_bytes())
            selfs = [ln.get("href") for ln in root.iter("{http://www.w3.org/2005/Atom}link")
                     if ln.get("rel") == "self"]
            assert root.find("channel/link").text.endswith("/index.html")
        assert selfs == [path.resolve().as_uri()], path


def test_all_feed_entries(built):
    _, out, _ = built
    d = feedparser.parse((out / "all.atom").read_bytes())
    assert [e.title for e in d.entries] == DEMO_TITLES
    newest, _, first = d.entries
    assert first.id == entry_id("Chirpline", "Privacy Policy", 2)
    assert first.updated == "2026-03-09T12:00:00+00:00"
    assert [t.term for t in first.tags] == ["ai-training", "biometrics", "data-retention"]
    page_uri = (out / "changes/chirpline-privacy-policy-v2.html").resolve().as_uri()
    assert f'<link href="{page_uri}"' in (out / "all.atom").read_text()
    assert first.link.endswith("/feeds/changes/chirpline-privacy-policy-v2.html")
    content = first.content[0].value
    assert "AI training added (may train):" in content and "Changed:" in content
    assert f"<ins>“{AI_CLAUSE[:20]}" in content.replace("<mark><strong>", "").replace("</strong></mark>", "")
    assert "<strong>faceprint</strong>" in content  # feedparser drops <mark>; <strong> stays
    assert "<ins>{+ and for up to 5 years after+}</ins>" in content
    assert "Renamed throughout: Chirp → Chirpline" in content
    assert "Last updated" not in content  # insignificant changes stay out
    flip = newest.content[0].value
    assert "AI training flipped: now may train (was: won&#x27;t train):" in flip or "won't train):" in flip
    assert "Before:" in flip and "<del>“We do not use your" in flip
    rss = feedparser.parse((out / "all.rss").read_bytes())
    assert [e.id for e in rss.entries] == [e.id for e in d.entries]
    assert [e.title for e in rss.entries] == [e.title for e in d.entries]
    assert "Biometrics only with consent (new statement):" in rss.entries[2].content[0].value
    assert [t.term for t in rss.entries[2].tags] == ["ai-training", "biometrics", "data-retention"]


def test_tag_and_service_feeds(built):
    _, out, _ = built
    ai = feedparser.parse((out / "tags/ai-training.atom").read_bytes())
    assert [e.id.rsplit("/", 1)[-1] for e in ai.entries] == ["v3", "v2"]
    bio = feedparser.parse((out / "tags/biometrics.atom").read_bytes())
    assert len(bio.entries) == 1 and "Biometrics" in bio.entries[0].title
    assert feedparser.parse((out / "tags/children.atom").read_bytes()).entries == []
    acme = feedparser.parse((out / "services/acme-maps.rss").read_bytes())
    assert [e.title for e in acme.entries] == [DEMO_TITLES[1]]


def test_empty_store_still_has_subscribable_feeds(tmp_path):
    with Store(tmp_path / "t.db") as store:
        build_feeds(store, tmp_path / "f")
    for rel in ("all.atom", "tags/ai-training.atom", "tags/biometrics.atom", "status.atom"):
        d = feedparser.parse((tmp_path / "f" / rel).read_bytes())
        assert not d.bozo and d.entries == [] and d.feed.title


def test_rebuild_is_byte_identical_and_ids_stable(built, tmp_path):
    store, out, _ = built
    before = snapshot(out)
    build_feeds(store, out)
    assert snapshot(out) == before  # same bytes, files not even rewritten
    ids = [e.id for e in feedparser.parse((out / "all.atom").read_bytes()).entries]
    add_change(store, "Chirpline", "Privacy Policy", [added("We may share your data with partners.")], ts(25))
    build_feeds(store, out)
    new_ids = [e.id for e in feedparser.parse((out / "all.atom").read_bytes()).entries]
    assert new_ids[1:] == ids and new_ids[0].endswith("/v4")
    # the same store built into another folder with a base URL: same ids
    other = tmp_path / "elsewhere"
    build_feeds(store, other, base_url="https://feeds.example.org/policy/")
    d = feedparser.parse((other / "all.atom").read_bytes())
    assert [e.id for e in d.entries] == new_ids
    assert d.entries[0].link == "https://feeds.example.org/policy/changes/chirpline-privacy-policy-v4.html"


def test_max_entries(built):
    store, out, _ = built
    build_feeds(store, out, max_entries=1)
    assert len(feedparser.parse((out / "all.atom").read_bytes()).entries) == 1
    assert len(feedparser.parse((out / "all.rss").read_bytes()).entries) == 1


def test_change_page_links_and_views(built):
    _, out, _ = built
    page = (out / "changes/chirpline-privacy-policy-v2.html").read_text()
    doc = lxml.html.fromstring(page)
    assert doc.xpath("//a[@rel='next']/@href") == ["chirpline-privacy-policy-v3.html"]
    assert doc.xpath("//a[@href='https://example.test/privacy']")
    assert "Before" in page and "After" in page and "Information we collect &gt; Photos" in page
    assert doc.xpath("//mark/strong[text()='faceprint']")
    v3 = lxml.html.fromstring((out / "changes/chirpline-privacy-policy-v3.html").read_text())
    assert v3.xpath("//a[@rel='prev']/@href") == ["chirpline-privacy-policy-v2.html"]
    index = lxml.html.fromstring((out / "index.html").read_text())
    hrefs = index.xpath("//a/@href")
    assert "changes/chirpline-privacy-policy-v3.html" in hrefs and "tags/ai-training.atom" in hrefs
    for href in hrefs:
        assert (out / href).is_file(), href


# --------------------------------------------------------------------------- hostile input

HOSTILE = ("<script>alert(1)</script> ]]> <iframe src=x></iframe> <img src=x onerror=alert(2)> "
           "<a href=\"javascript:alert(3)\">x</a> \x00\x01\x0b\x1b\x7f\x85\ufffe end")


def assert_safe_html(fragment: str, where: str) -> None:
    doc = lxml.html.fromstring(f"<div>{fragment}</div>")
    assert not doc.xpath("//script|//iframe|//object|//embed|//img"), where
    for el in doc.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), where
            assert not value.strip().lower().startswith(("javascript:", "data:")), where


def test_hostile_input_is_escaped_everywhere(tmp_path):
    store = Store(tmp_path / "t.db")
    big = added("We may use your data to train AI models. " * 30000 + HOSTILE)  # 1.2 MB in one clause
    big.tags, big.directions = ["ai-training", "<script>"], {"ai-training": "added"}
    big.evidence = {"ai-training": [Evidence("r", 1_000_000, 1_000_020, "x"), Evidence("r", 5, 99_999_999, "y")]}
    hostile = [added(HOSTILE), modified("old " + HOSTILE, "new " + HOSTILE)]
    tag_changes(DiffResult(hostile), lang="en")
    add_change(store, "../../<b>Evil</b>\x07 Corp", "Privacy/../Policy", [*hostile, big],
               ts(10), url="javascript:alert(document.cookie)", tag=False)
    add_change(store, "a/b", "..", [added("plain clause about nothing much at all")], ts(11))
    out = tmp_path / "out" / "feeds"
    build_feeds(store, out)
    written = {p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".atom", ".rss", ".html")}
    assert all(out in p.parents for p in written)  # nothing escaped the feeds folder
    assert len(list((out / "services").glob("*.atom"))) == 2 and len(list((out / "changes").iterdir())) == 2
    for p in written:
        raw = p.read_bytes()
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", raw), p
        text = raw.decode("utf-8")
        if p.suffix == ".html":
            assert_safe_html(text, str(p))
            assert "alert(document.cookie)" not in lxml.html.fromstring(text).xpath("string(//a/@href)")
            continue
        ET.fromstring(raw)  # strict XML
        d = feedparser.parse(raw, sanitize_html=False)
        assert not d.bozo, p
        for e in d.entries:
            assert "<script" not in e.title.lower() or "&lt;script" in text
            for c in e.get("content", []):
                assert_safe_html(c.value, str(p))
                assert "&lt;script&gt;" in c.value or "train AI" in c.value or "plain clause" in c.value
            for ln in e.links:
                assert ln.href.startswith("file://"), ln.href
    entry = feedparser.parse((out / "all.atom").read_bytes(), sanitize_html=False).entries[1]
    assert entry.title.startswith("../../<b>Evil</b> Corp Privacy/../Policy — 3 clauses changed")
    assert len((out / "all.atom").read_bytes()) < 60_000  # the 1.2 MB clause is cut in the feed
    assert 'href="javascript' not in entry.content[0].value


def test_slugs_never_collide(tmp_path):
    slugs = service_slugs(["Foo+", "foo", "日本", "中国", "service"])
    assert len(set(slugs.values())) == 5
    assert all(re.fullmatch(r"[a-z0-9-]+", s) for s in slugs.values())


# --------------------------------------------------------------------------- status feed


def fail(store: Store, doc_id: int, at: float, reason: str = "selector-matched-nothing") -> None:
    with store.transaction():
        store.record_check(doc_id, state="failed", at=at, reason=reason, error=f"no match for main at {at:.0f}")


def test_status_feed_lists_broken_documents_until_they_recover(built):
    store, out, _ = built
    doc = store.find_document("Acme Maps")
    for i in range(2):
        fail(store, doc.id, ts(21, i))
    build_feeds(store, out)
    assert feedparser.parse((out / "status.atom").read_bytes()).entries == []
    fail(store, doc.id, ts(21, 2))
    build_feeds(store, out)
    d = feedparser.parse((out / "status.atom").read_bytes())
    assert not d.bozo and len(d.entries) == 1
    e = d.entries[0]
    assert e.title == "Acme Maps Terms of Service: check failing (selector-matched-nothing)"
    assert "no match for main" in e.content[0].value and e.updated == "2026-03-21T02:00:00+00:00"
    first_id = e.id
    fail(store, doc.id, ts(21, 3))
    build_feeds(store, out)
    assert feedparser.parse((out / "status.atom").read_bytes()).entries[0].id == first_id
    assert "Checks failing" in (out / "index.html").read_text()
    with store.transaction():
        store.record_check(doc.id, state="unchanged", at=ts(22))
    build_feeds(store, out)
    assert feedparser.parse((out / "status.atom").read_bytes()).entries == []
    for i in range(3):
        fail(store, doc.id, ts(23, i), reason="timeout")
    build_feeds(store, out, broken_after=3)
    e2 = feedparser.parse((out / "status.atom").read_bytes()).entries[0]
    # One good check between two failing spells is a flap, not a recovery: the same episode, the same
    # entry id (readers do not show it as new); a new episode needs a real recovery first.
    assert e2.id == first_id and e2.title.endswith("(timeout)")
    with store.transaction():
        for i in range(RECOVER_AFTER):
            store.record_check(doc.id, state="unchanged", at=ts(24, i))
    for i in range(3):
        fail(store, doc.id, ts(25, i), reason="timeout")
    build_feeds(store, out, broken_after=3)
    e3 = feedparser.parse((out / "status.atom").read_bytes()).entries[0]
    assert e3.id != first_id


def test_broken_and_recovered_once_per_episode_however_much_it_flaps():
    from tracker.broken import open_episode, transition

    flapping = ["failed"] * 3 + ["unchanged", "failed", "failed", "failed", "unchanged", "failed"] * 20
    checks = [(s, float(i)) for i, s in enumerate(flapping + ["unchanged"] * RECOVER_AFTER)]
    moves = [transition(checks[:n], 3) for n in range(1, len(checks) + 1)]
    assert moves.count("broken") == 1 and moves.count("recovered") == 1
    assert moves[2] == "broken" and moves[-1] == "recovered"
    assert open_episode(checks[:-1], 3) == open_episode(checks[:50], 3)  # one episode, one start
    alternating = [(s, float(i)) for i, s in enumerate(["failed", "unchanged"] * 50)]
    assert all(transition(alternating[:n], 3) is None for n in range(1, 101))  # never 3 failures in a row


# --------------------------------------------------------------------------- writing and CLI


def test_write_atomic_replaces_and_skips_identical(tmp_path):
    p = tmp_path / "x" / "f.atom"
    assert write_atomic(p, b"one") and p.read_bytes() == b"one"
    assert not write_atomic(p, b"one")
    assert write_atomic(p, b"two") and p.read_bytes() == b"two"
    assert [q.name for q in p.parent.iterdir()] == ["f.atom"]


def test_write_atomic_reports_the_file_it_wrote_readable_whatever_the_umask(tmp_path):
    import os
    import threading

    p = tmp_path / "f.rss"
    old = os.umask(0o077)
    try:
        st = write_atomic(p, b"<rss/>")
    finally:
        os.umask(old)
    now = p.stat()
    assert (st.st_size, st.st_mtime_ns) == (now.st_size, now.st_mtime_ns) == (6, now.st_mtime_ns)
    assert now.st_mode & 0o777 == 0o644
    # A temporary file left by a killed run with the same process and thread id is replaced, not an error.
    (tmp_path / f".f.rss.{os.getpid()}-{threading.get_ident()}.tmp").write_bytes(b"half")
    assert write_atomic(p, b"<rss></rss>") and p.read_bytes() == b"<rss></rss>"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["f.rss"]


def test_feeds_command(tmp_path):
    demo_store(tmp_path / "t.db").close()
    runner = CliRunner()
    args = ["--db", str(tmp_path / "t.db"), "--feeds", str(tmp_path / "f"), "feeds"]
    r = runner.invoke(cli, [*args, "--base-url", "https://example.org/feeds", "--max-entries", "2"])
    assert r.exit_code == 0, r.output
    d = feedparser.parse((tmp_path / "f/all.atom").read_bytes())
    assert len(d.entries) == 2 and d.entries[0].link.startswith("https://example.org/feeds/changes/")
    r = runner.invoke(cli, [*args, "--base-url", "javascript:alert(1)"])
    assert isinstance(r.exception, TrackerError) and "http(s)" in str(r.exception)
    r = runner.invoke(cli, ["--db", str(tmp_path / "none.db"), "feeds"])
    assert isinstance(r.exception, TrackerError) and "no database" in str(r.exception)


def test_html_entities_in_titles_are_text(built):
    _, out, _ = built
    root = ET.fromstring((out / "all.atom").read_bytes())
    titles = [t.text for t in root.iter(f"{ATOM}title")]
    assert all(html.unescape(t) == t for t in titles)


def test_empty_feed_template_gives_feedgens_bytes() -> None:
    """Feeds of services without changes are filled into a template: the bytes must be feedgen's own."""
    from tracker.publish.feeds import FeedSpec, _empty_feed, render_feed

    for base in ("file:///tmp/feeds/", "https://example.org/pt/"):
        for name, slug in (("X", "x"), ("Character.AI", "character-ai"), ("O'Reilly Media", "o-reilly-media"),
                           ("Meta (Facebook)", "meta-facebook"), ("Société Générale", "societe-generale"),
                           ("Tinder/Match: 100% dating", "tinder-match-100-dating")):
            for since in ("1970-01-01T00:00:00Z", "2025-01-02T03:04:05Z"):  # the date the feed began
                spec = FeedSpec(f"services/{slug}", f"Policy changes: {name}",
                                f"Significant changes of {name}'s policies", [], since)
                filled = _empty_feed(spec, base)
                assert filled is not None, name
                assert filled == render_feed(spec, base, {}, 50, fast=False), name
    hostile = FeedSpec("services/evil", "Policy changes: A & <b>", "Significant changes of A & <b>'s policies", [])
    assert _empty_feed(hostile, "file:///tmp/feeds/") is None  # escaping cases always go through feedgen
