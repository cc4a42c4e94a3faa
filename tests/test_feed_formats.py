"""JSON Feed and OPML next to Atom/RSS, dates of empty feeds, links without and with a base URL,
sources of imported versions, and former service names (aliases)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import lxml.html
import pytest
from feeddata import DEMO_TITLES, demo_store
from helpers import ROOT, Workspace

from tracker.models import Document
from tracker.publish.build import build_feeds
from tracker.publish.sources import source_link
from tracker.sources.declarations import DeclarationError, parse_declaration
from tracker.sources.ota_urls import archive_web_url
from tracker.sources.ota_versions import match_document
from tracker.store.database import Store

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    with demo_store(tmp_path / "t.db") as store:
        build_feeds(store, tmp_path / "feeds")
    return tmp_path / "feeds"


def json_feed_validator():
    """A validator of tests/data/jsonfeed-1.1.schema.json that checks its formats: jsonschema only notes
    "format" unless given a checker, and its own date-time and uri checks need packages we do not
    install (without them, any string passes)."""
    from urllib.parse import urlsplit

    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str) or not RFC3339.match(value):
            return False
        datetime.fromisoformat(value.replace("Z", "+00:00"))  # a real date and time (raises otherwise)
        return True

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str) or any(c.isspace() for c in value):
            return False
        parts = urlsplit(value)
        return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme == "file" and parts.path.startswith("/"))

    schema = json.loads((ROOT / "tests/data/jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def test_json_feed_validates_and_matches_atom(built: Path) -> None:
    validator = json_feed_validator()
    feeds = sorted(p for p in built.rglob("*.json") if not p.name.startswith("."))
    assert len(feeds) == len(sorted(built.rglob("*.atom"))) - 1  # every feed but status.atom
    for path in feeds:
        doc = json.loads(path.read_text(encoding="utf-8"))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == [], (path, errors)
        atom = feedparser.parse(path.with_suffix(".atom").read_bytes())
        assert [i["id"] for i in doc["items"]] == [e.id for e in atom.entries], path
        assert [i["title"] for i in doc["items"]] == [e.title for e in atom.entries], path
        assert doc["feed_url"].endswith(str(path.relative_to(built)))
        for item in doc["items"]:
            assert RFC3339.match(item["date_published"]) and item["url"].endswith(".html")
    assert [i["title"] for i in json.loads((built / "all.json").read_text())["items"]] == DEMO_TITLES


@pytest.mark.parametrize("damage", ["no-version", "old-version", "typo-key", "bad-date", "no-content", "bad-url",
                                    "numeric-id"])
def test_the_json_feed_schema_rejects_what_the_specification_does(built: Path, damage: str) -> None:
    """The schema test can fail: each of these departures from JSON Feed 1.1 is caught."""
    doc = json.loads((built / "all.json").read_text(encoding="utf-8"))
    item = doc["items"][0]
    if damage == "no-version":
        del doc["version"]
    elif damage == "old-version":
        doc["version"] = "https://jsonfeed.org/version/1"
    elif damage == "typo-key":
        item["date_publised"] = item.pop("date_published")
    elif damage == "bad-date":
        item["date_published"] = "2026-03-09 12:00"
    elif damage == "no-content":
        del item["content_html"]
    elif damage == "bad-url":
        item["url"] = "changes/not absolute.html"
    else:
        item["id"] = 42
    assert list(json_feed_validator().iter_errors(doc)), damage
    doc = json.loads((built / "all.json").read_text(encoding="utf-8"))
    doc["_policy_tracker"] = {"note": "an extension"}  # extensions start with an underscore
    assert not list(json_feed_validator().iter_errors(doc))


def test_opml_lists_every_feed(built: Path) -> None:
    root = ET.fromstring((built / "feeds.opml").read_bytes())
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    expected = sorted(p.resolve().as_uri() for p in built.rglob("*.atom"))
    assert sorted(urls) == expected and len(urls) == len(set(urls))
    assert {o.get("text") for o in root.find("body")} == {"All changes", "Services", "Tags", "Status"}


def test_index_lists_priority_events_first_and_every_format(built: Path) -> None:
    index = lxml.html.fromstring((built / "index.html").read_text(encoding="utf-8"))
    first = index.xpath("//h2")[0]
    assert first.text == "Latest AI-training and biometrics events"
    hrefs = set(index.xpath("//a/@href"))
    for rel in ("all.atom", "all.rss", "all.json", "feeds.opml", "tags/ai-training.json", "services/acme-maps.rss"):
        assert rel in hrefs, rel
    for href in hrefs:
        assert (built / href).is_file(), href
    assert index.xpath("//td[@class='date']")  # the date column does not wrap (see CSS td.date)


def test_empty_feeds_are_dated_from_when_they_began(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store:
        build_feeds(store, tmp_path / "empty")
        store.ensure_documents([Document("Quiet", "Privacy Policy", "https://quiet.example/privacy")])
        build_feeds(store, tmp_path / "f")
        created = store.services_since()["Quiet"]
    for out in (tmp_path / "empty", tmp_path / "f"):
        for rel in ("all.atom", "tags/biometrics.atom", "status.atom"):
            updated = feedparser.parse((out / rel).read_bytes()).feed.updated
            assert not updated.startswith("1970"), (out, rel, updated)
    quiet = feedparser.parse((tmp_path / "f/services/quiet.atom").read_bytes())
    assert quiet.entries == [] and abs(quiet.feed.updated_parsed.tm_year - 2026) < 50
    assert quiet.feed.updated[:16] == __import__("tracker.store.database").store.database.iso(created)[:16]
    before = (tmp_path / "empty/all.atom").read_bytes()
    with Store(tmp_path / "t2.db") as other:
        build_feeds(other, tmp_path / "empty")
    assert (tmp_path / "empty/all.atom").read_bytes() == before  # the same date at every rebuild


def test_base_url_is_remembered_and_local_links_warn(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    with demo_store(ws.db):
        pass
    r = ws.run("feeds")
    assert r.code == 0 and "warning: links in" in r.err and "--base-url" in r.err
    assert ws.run("feeds", "--base-url", "https://feeds.example.org/p").code == 0
    r = ws.run("feeds")  # a later build (as `check` makes) keeps the public links
    assert r.code == 0 and "warning" not in r.err
    d = feedparser.parse((ws.feeds / "all.atom").read_bytes())
    assert d.entries[0].link.startswith("https://feeds.example.org/p/changes/")
    assert ws.run("feeds", "--base-url", "local").code == 0
    r = ws.run("feeds")
    assert "warning" not in r.err and feedparser.parse((ws.feeds / "all.rss").read_bytes()).entries[0].link.startswith(
        "file://")
    bad = ws.run("feeds", "--base-url", "javascript:alert(1)")
    assert bad.code == 2 and "expected an absolute http(s) URL" in bad.err


def test_imported_version_links_to_the_archive_file_at_its_commit() -> None:
    url = "https://github.com/OpenTermsArchive/contrib-versions/blob/HEAD/X/Privacy%20Policy.md"
    assert source_link(url, "import", "0123456789abcdef") == (
        "https://github.com/OpenTermsArchive/contrib-versions/blob/0123456789abcdef/X/Privacy%20Policy.md",
        "OpenTermsArchive/contrib-versions: X/Privacy Policy.md at 0123456789")
    assert source_link(url, "check", None) == (url, "")
    assert archive_web_url("git@github.com:OpenTermsArchive/pga-versions.git") == \
        "https://github.com/OpenTermsArchive/pga-versions"
    assert archive_web_url("/work/shared/history/contrib-dev.bundle") is None


def test_aliases_join_former_names() -> None:
    docs = parse_declaration({"name": "X", "aliases": ["Twitter"],
                              "documents": {"Privacy Policy": {"url": "https://x.com/en/privacy"}}}, "x.toml")
    assert docs[0].aliases == ("Twitter",)
    assert match_document("Twitter", "Privacy Policy", docs) is docs[0]
    assert match_document("Twitter", "Terms of Service", docs) is None
    with pytest.raises(DeclarationError, match="aliases"):
        parse_declaration({"name": "X", "aliases": ["X"],
                           "documents": {"Privacy Policy": {"url": "https://x.com/en/privacy"}}}, "x.toml")
    with pytest.raises(DeclarationError, match="aliases"):
        parse_declaration({"name": "X", "aliases": "Twitter",
                           "documents": {"Privacy Policy": {"url": "https://x.com/en/privacy"}}}, "x.toml")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_import_with_aliases_and_archive_url_then_report_links(tmp_path: Path) -> None:
    from test_history_import import AI, BASE, Repo

    repo = Repo(tmp_path / "versions")
    repo.commit("Twitter/Privacy Policy.md", BASE.format(date="1 March 2022", extra=""), "2022-03-01T10:00:00Z")
    sha = repo.commit("Twitter/Privacy Policy.md", BASE.format(date="2 June 2023", extra=AI), "2023-06-02T10:00:00Z")
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    path = ws.declare("X", "https://x.example/privacy")
    path.write_text('aliases = ["Twitter"]\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    r = ws.run("import-versions", str(repo.root), "--archive-url", "https://github.com/example/versions")
    assert r.code == 0, r.err
    with Store(ws.db) as store:
        assert [d.service for d in store.documents()] == ["X"]  # one platform, one document, one feed
    page = next((ws.feeds / "changes").glob("x-privacy-policy-v2.html"))
    doc = lxml.html.fromstring(page.read_text(encoding="utf-8"))
    assert doc.xpath("//h1")[0].text_content().startswith("X Privacy Policy — AI training added (may train)")
    out = ws.run("report", "--format", "html", "-o", str(ws.root / "r.html"))
    assert out.code == 0, out.err
    report = lxml.html.fromstring((ws.root / "r.html").read_text(encoding="utf-8"))
    links = [a for a in report.xpath("//td/a/@href") if a.endswith(".html")]
    assert links and all((ws.root / a).is_file() for a in links)  # relative to the report file
    # an undeclared import names the archive file at the commit, not the local clone
    ws2 = Workspace(tmp_path / "ws2")
    ws2.root.mkdir()
    assert ws2.run("import-versions", str(repo.root), "--archive-url", "https://github.com/example/versions").code == 0
    page2 = (ws2.feeds / "changes" / "twitter-privacy-policy-v2.html").read_text(encoding="utf-8")
    assert f"https://github.com/example/versions/blob/{sha}/Twitter/Privacy%20Policy.md" in page2
    assert str(repo.root) not in page2


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_aliases_join_documents_already_stored_under_the_former_name(tmp_path: Path) -> None:
    """A store that imported Twitter's and X's files before `aliases` was declared holds two services:
    once X declares aliases = ["Twitter"], feeds, report and list show one platform."""
    from test_history_import import AI, BASE, BIO, Repo

    repo = Repo(tmp_path / "versions")
    repo.commit("Twitter/Privacy Policy.md", BASE.format(date="1 March 2022", extra=""), "2022-03-01T10:00:00Z")
    repo.commit("Twitter/Privacy Policy.md", BASE.format(date="2 June 2022", extra=BIO), "2022-06-02T10:00:00Z")
    repo.commit("X/Privacy Policy.md", BASE.format(date="1 August 2023", extra=BIO), "2023-08-01T10:00:00Z")
    repo.commit("X/Privacy Policy.md", BASE.format(date="29 September 2023", extra=BIO + AI), "2023-09-29T10:00:00Z")
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    assert ws.run("import-versions", str(repo.root)).code == 0  # nothing declared: two services stored
    with Store(ws.db) as store:
        assert sorted(d.service for d in store.documents()) == ["Twitter", "X"]
    assert (ws.feeds / "services/twitter.atom").is_file()  # the bug: a lane and a feed of its own

    path = ws.declare("X", "https://x.example/privacy")
    path.write_text('aliases = ["twitter"]\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    r = ws.run("feeds")
    assert r.code == 0, r.err
    assert not (ws.feeds / "services/twitter.atom").exists() and not (ws.feeds / "services/twitter.json").exists()
    x = feedparser.parse((ws.feeds / "services/x.atom").read_bytes())
    assert [e.title.split(" — ")[0] for e in x.entries] == ["X Privacy Policy", "Twitter Privacy Policy"]
    assert x.entries[1].link.endswith("changes/twitter-privacy-policy-v2.html")  # its page keeps its address
    opml = [o.get("xmlUrl") for o in ET.fromstring((ws.feeds / "feeds.opml").read_bytes()).iter("outline")]
    assert not any("twitter" in (u or "") for u in opml)
    page = lxml.html.fromstring((ws.feeds / "changes/twitter-privacy-policy-v2.html").read_text(encoding="utf-8"))
    assert "../services/x.atom" in page.xpath("//a/@href")
    assert ws.run("doctor").out.count("out of date") == 0  # doctor plans the feeds with the same aliases

    out = ws.run("report", "--format", "html", "-o", str(ws.root / "r.html"))
    assert out.code == 0, out.err
    report = lxml.html.fromstring((ws.root / "r.html").read_text(encoding="utf-8"))
    lanes = [t.text_content() for t in report.xpath("//svg//text") if t.text_content() in ("X", "Twitter")]
    assert lanes == ["X"], lanes
    rows = ws.run("report", "--service", "X", "--format", "json").json()  # the platform's and its former name's
    assert [(r["service"], r["tag"]) for r in rows] == [("Twitter", "biometrics"), ("X", "ai-training")]

    listed = ws.run("list", "--json")
    items = [(i["platform"], i["service"], i["type"]) for i in listed.json()]
    assert items == [("X", "X", "Privacy Policy"), ("X", "Twitter", "Privacy Policy")]
    table = ws.run("list")
    assert "X (as Twitter)" in table.out and "stored but not declared" not in table.err


def test_check_warns_until_the_feeds_have_a_public_url(tmp_path: Path, httpserver) -> None:
    from pages import policy_html
    from werkzeug import Response

    ws = Workspace(tmp_path / "ws")
    ws.policies.mkdir(parents=True)
    pages = [policy_html(), policy_html({"Sharing": ["We now share your e-mail address with advertisers."]})]
    httpserver.expect_request("/p").respond_with_handler(lambda request: Response(pages[0], content_type="text/html"))
    ws.declare("Acme", httpserver.url_for("/p"))
    r = ws.run("check")
    assert r.code == 0 and "warning: links in" in r.err and "--base-url" in r.err, r.err
    assert ws.run("feeds", "--base-url", "https://feeds.example.org/p/").code == 0
    pages[0] = pages[1]
    r = ws.run("check")  # changed: the feeds are rebuilt, with the public URL the folder remembers
    assert r.code == 0 and "changed" in r.out and "warning" not in r.err, (r.out, r.err)
    assert json.loads((ws.feeds / "all.json").read_text(encoding="utf-8"))["items"][0]["url"].startswith(
        "https://feeds.example.org/p/changes/")
