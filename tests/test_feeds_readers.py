"""Real feed readers (Debian's newsboat and sfeed) load the feeds and list the expected entries."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import needs_tool
from feeddata import DEMO_TITLES, HOSTILE_TEXT, add_change, added, demo_store, ts

from tracker.publish.build import build_feeds
from tracker.publish.feeds import entry_id

EXPECTED_ALL = DEMO_TITLES


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("readers")
    store = demo_store(tmp / "t.db")
    add_change(store, "Hostile <script>", "Terms", [added(HOSTILE_TEXT)], ts(1))
    out = tmp / "feeds"
    build_feeds(store, out)
    store.close()
    return out


def newsboat_items(feed: Path, work: Path) -> list[tuple[str, str, str, str]]:
    """(guid, title, url, content) of every item newsboat stored after a headless reload."""
    work.mkdir()
    (work / "urls").write_text(feed.resolve().as_uri() + "\n")
    (work / "config").write_text("")
    r = subprocess.run(["newsboat", "-u", str(work / "urls"), "-c", str(work / "cache.db"),
                        "-C", str(work / "config"), "-x", "reload", "print-unread"],
                       capture_output=True, text=True, timeout=120, env={"HOME": str(work), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(work / "cache.db") as db:
        return db.execute("SELECT guid, title, url, content FROM rss_item ORDER BY pubDate DESC").fetchall()


def sfeed_rows(feed: Path) -> list[list[str]]:
    r = subprocess.run(["sfeed"], input=feed.read_bytes(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.decode("utf-8").splitlines()]


@needs_tool("newsboat")
@pytest.mark.parametrize("name", ["all.atom", "all.rss", "tags/ai-training.atom"])
def test_newsboat_lists_entries(feeds: Path, tmp_path: Path, name: str):
    items = newsboat_items(feeds / name, tmp_path / "nb")
    titles = [t for _, t, _, _ in items]
    if name.startswith("all"):
        assert titles[:3] == EXPECTED_ALL and len(items) == 4
        assert titles[3] == "Hostile <script> Terms — 1 clause changed"
    else:
        assert titles == [EXPECTED_ALL[0], EXPECTED_ALL[2]]
    guid, _, url, content = items[-1] if name.startswith("tags") else items[2]
    assert guid == entry_id("Chirpline", "Privacy Policy", 2)
    assert url.endswith("/changes/chirpline-privacy-policy-v2.html")
    # newsboat drops <ins>/<del> styling: the text markers must be in the content it keeps
    assert "AI training added (may train):" in content and "Changed:" in content
    assert "{+ and for up to 5 years after+}" in content
    # the priority sentence comes first in the text a reader shows
    assert content.index("to train our machine learning") < content.index("Changed:")


@needs_tool("sfeed")
@pytest.mark.parametrize("name", ["all.atom", "all.rss", "tags/ai-training.atom", "tags/biometrics.rss"])
def test_sfeed_lists_entries(feeds: Path, name: str):
    rows = sfeed_rows(feeds / name)
    titles = [r[1] for r in rows]
    expected = {"all.atom": EXPECTED_ALL + ["Hostile <script> Terms — 1 clause changed"],
                "all.rss": EXPECTED_ALL + ["Hostile <script> Terms — 1 clause changed"],
                "tags/ai-training.atom": [EXPECTED_ALL[0], EXPECTED_ALL[2]],
                "tags/biometrics.rss": [EXPECTED_ALL[2]]}[name]
    assert titles == expected
    last = rows[expected.index(EXPECTED_ALL[2])]
    assert last[0] == "1773057600"  # 2026-03-09T12:00:00Z
    assert last[2].endswith("/changes/chirpline-privacy-policy-v2.html")
    assert last[4] == "html" and "Biometrics only with consent (new statement):" in last[3]
    assert last[5] == entry_id("Chirpline", "Privacy Policy", 2)
    assert last[8].split("|") == ["ai-training", "biometrics", "data-retention"]
    if name.startswith("all"):
        hostile = rows[3][3]
        assert "<script" not in hostile and "&lt;script&gt;" in hostile
