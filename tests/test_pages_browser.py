"""A change page rendered by headless Chromium shows the added clauses, and hostile text stays text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from conftest import needs_tool
from feeddata import AI_CLAUSE, BIO_CLAUSE, HOSTILE_TEXT, add_change, added, demo_store, ts

from tracker.publish.build import build_feeds

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = needs_tool("chromium")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


def chromium(tmp: Path, *args: str) -> str:
    r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    store = demo_store(tmp / "t.db")
    add_change(store, "Hostile", "Terms", [added(HOSTILE_TEXT)], ts(1))
    build_feeds(store, tmp / "feeds")
    store.close()
    return tmp / "feeds"


def test_change_page_shows_added_clauses(feeds: Path, tmp_path: Path):
    page = feeds / "changes" / "chirpline-privacy-policy-v2.html"
    dom = lxml.html.fromstring(chromium(tmp_path, "--dump-dom", page.resolve().as_uri()))
    keys = [" ".join(el.text_content().split()) for el in dom.xpath("//section[@class='event']/blockquote/ins")]
    assert keys == [f"“{AI_CLAUSE}”", f"“{BIO_CLAUSE}”"]  # the events first, each sentence once
    phrases = [el.text_content() for el in dom.xpath("//h3[@class='phrase']")]
    assert phrases == ["AI training added (may train)", "Biometrics only with consent (new statement)"]
    markers = [el.text_content() for el in dom.xpath("//span[@class='marker']")]
    assert markers == ["Changed:"]
    assert "faceprint" in [m.text_content() for m in dom.xpath("//mark")]


def test_hostile_page_runs_nothing(feeds: Path, tmp_path: Path):
    page = feeds / "changes" / "hostile-terms-v2.html"
    dom = lxml.html.fromstring(chromium(tmp_path, "--dump-dom", page.resolve().as_uri()))
    assert not dom.xpath("//script|//iframe|//img")
    assert "<script>alert(1)</script>" in dom.xpath("string(//div[@class='inline'])")
