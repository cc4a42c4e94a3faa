"""`check` end to end against a real local HTTP server and a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from pages import policy_html
from werkzeug import Response


class Site:
    """A mutable page served by pytest-httpserver, with ETag support and a request log."""

    def __init__(self, httpserver, path: str = "/privacy") -> None:
        self.body: str | bytes = policy_html()
        self.status = 200
        self.headers: dict[str, str] = {}
        self.etag: str | None = None
        self.requests: list[dict] = []
        self.delay = 0.0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        httpserver.expect_request(path).respond_with_handler(self.handle)
        self.url = httpserver.url_for(path)

    def handle(self, request) -> Response:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.requests.append(dict(request.headers))
            if self.delay:
                time.sleep(self.delay)
            if self.etag and request.headers.get("If-None-Match") == self.etag:
                return Response(status=304, headers={"ETag": self.etag})
            headers = {"Content-Type": "text/html; charset=utf-8", **self.headers}
            if self.etag:
                headers["ETag"] = self.etag
            return Response(self.body, status=self.status, headers=headers)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def site(httpserver) -> Site:
    return Site(httpserver)


def check(ws, *args: str) -> dict:
    r = ws.run("check", "--json", *args)
    lines = r.json_lines()
    assert len(lines) == 1, r.out
    assert r.code == (3 if lines[0]["state"] == "failed" else 0), (r.code, r.err)  # 3: some document failed
    return lines[0]


def versions(ws) -> int:
    return sqlite3.connect(ws.db).execute("SELECT COUNT(*) FROM versions").fetchone()[0]


def test_new_unchanged_changed(ws, site) -> None:
    ws.declare("Example", site.url)
    first = check(ws)
    assert first["state"] == "new" and first["version"] == 1 and first["http_status"] == 200
    assert check(ws)["state"] == "unchanged"
    site.body = policy_html({"How we use information": [
        "We may use your posts and publicly available information to train our artificial intelligence models."]})
    changed = check(ws)
    assert changed["state"] == "changed" and changed["version"] == 2
    assert changed["significant_changes"] == 1
    assert "ai-training" in changed["tags"]
    assert versions(ws) == 2
    assert check(ws)["state"] == "unchanged"


def test_date_only_change_is_not_a_version(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.body = policy_html(date="February 9, 2026")
    out = check(ws)
    assert out["state"] == "unchanged" and "insignificant" in out.get("note", "")
    assert versions(ws) == 1


def test_conditional_get_304(ws, site) -> None:
    site.etag = '"v1"'
    ws.declare("Example", site.url)
    check(ws)
    out = check(ws)
    assert out["state"] == "unchanged" and out["http_status"] == 304
    assert site.requests[-1].get("If-None-Match") == '"v1"'
    site.etag = '"v2"'
    site.body = policy_html({"Your choices": ["You can ask us to stop processing your location data at any time."]})
    assert check(ws)["state"] == "changed"


@pytest.mark.parametrize("status,reason", [(500, "http-status"), (503, "http-status"), (404, "http-status"),
                                           (403, "blocked")])
def test_http_errors_fail_without_version(ws, site, status, reason) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.status = status
    site.body = "<html><body><h1>Error</h1></body></html>"
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == reason and out["http_status"] == status
    assert versions(ws) == 1
    site.status = 200
    site.body = policy_html()
    assert check(ws)["state"] == "unchanged"


def test_twenty_percent_guard(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    page = policy_html()
    site.body = page.split("<h2>")[0] + "<h2>Contact</h2><p>Write to privacy@example.com with questions.</p>" \
        "</main></body></html>"  # a complete page with well under 20% of the text
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] in ("too-short", "blocked"), out
    assert versions(ws) == 1


def test_bot_wall_is_failed_check(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.body = ("<html><head><title>Just a moment...</title></head><body><main><h1>Checking your browser</h1>"
                 "<p>Please verify you are a human to continue. Complete the CAPTCHA below.</p></main></body></html>")
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] in ("blocked", "too-short")
    assert versions(ws) == 1


def test_empty_body_and_selector_mismatch(ws, site) -> None:
    ws.declare("Example", site.url, select=["main"])
    check(ws)
    site.body = ""
    assert check(ws)["reason"] == "empty"
    site.body = "<html><body><div id='app'>Loading</div></body></html>"
    assert check(ws)["reason"] == "selector-matched-nothing"
    assert versions(ws) == 1


def test_not_html_is_refused(ws, site) -> None:
    ws.declare("Example", site.url)
    site.headers = {"Content-Type": "application/pdf"}
    site.body = b"%PDF-1.4 binary"
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "not-html"
    assert versions(ws) == 0


def test_connection_refused(ws) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ws.declare("Gone", f"http://127.0.0.1:{port}/privacy")
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "connection"


def test_concurrent_jobs_respect_per_host(ws, httpserver) -> None:
    sites = []
    for i in range(6):
        s = Site(httpserver, f"/p{i}")
        s.delay = 0.3
        s.body = policy_html(title=f"Policy {i}")
        sites.append(s)
        ws.declare(f"Service {i}", s.url)
    # all six are on one host (127.0.0.1): --per-host 2 caps the server-side concurrency at 2
    t = time.monotonic()
    r = ws.run("check", "--json", "--jobs", "6", "--per-host", "2")
    elapsed = time.monotonic() - t
    assert r.code == 0, r.err
    assert sorted(o["state"] for o in r.json_lines()) == ["new"] * 6
    peak = max(s.max_active for s in sites)
    assert peak <= 1  # each path sees one request at a time...
    assert elapsed >= 0.3 * 3 * 0.9  # ...and 6 requests at 2 at a time take at least 3 rounds


def test_history_and_show(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.body = policy_html({"Children": ["We do not knowingly collect information from children under 13."]})
    check(ws)
    r = ws.run("history", "Example", "--json")
    assert r.code == 0, r.err
    items = r.json()
    assert [i["version"] for i in items] == [2, 1]
    assert all(i["recorded_at"].endswith("Z") and len(i["sha256"]) == 64 for i in items)
    assert items[0]["clauses"] == items[1]["clauses"] + 2  # a new heading and its paragraph
    shown = ws.run("show", "Example")
    assert "children under 13" in shown.out and "Log in" not in shown.out and "cookies" not in shown.out
    old = ws.run("show", "Example", "--version", "1")
    assert "children under 13" not in old.out and "Information we collect" in old.out
    raw = ws.run("show", "Example", "--raw")  # the snapshot, stored compressed, comes back byte for byte
    assert raw.code == 0 and raw.out == site.body
    r = ws.run("show", "Example", "--version", "9")
    assert r.code == 2 and "Traceback" not in r.err
    r = ws.run("history", "Nobody")
    assert r.code == 2 and "Nobody" in r.err


def test_list_reports_state(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.status = 500
    for _ in range(3):
        check(ws)
    items = ws.run("list", "--json").json()
    assert items[0]["state"] == "broken" and items[0]["consecutive_failures"] == 3 and items[0]["versions"] == 1


def test_diff_between_stored_versions(ws, site) -> None:
    ws.declare("Example", site.url)
    check(ws)
    site.body = policy_html({"How we use information": [
        "We may collect face geometry from your photos to verify your identity."]})
    check(ws)
    site.body = policy_html({"How we use information": [
        "We may collect face geometry from your photos to verify your identity."],
        "Your choices": ["You can opt out of personalised advertising in your settings."]})
    check(ws)
    r = ws.run("diff", "Example", "--format", "json")  # default: the last two versions
    assert r.code == 0, r.err
    changes = r.json()["changes"]
    assert [c["kind"] for c in changes] == ["added"]
    assert "opt out of personalised advertising" in changes[0]["new"]
    r = ws.run("diff", "Example", "--from", "1", "--to", "2", "--format", "json")
    new = [c["new"] for c in r.json()["changes"]]
    assert any("face geometry" in (n or "") for n in new)
    assert "biometrics" in r.json()["changes"][0]["tags"]
    r = ws.run("diff", "Example", "--from", "1", "--to", "3", "--tag", "biometrics")
    assert r.code == 0 and "face geometry" in r.out and "advertising" not in r.out
    r = ws.run("diff", "Example", "--from", "7")
    assert r.code == 2 and "Traceback" not in r.err


def test_size_and_timeout_options(ws, site) -> None:
    ws.declare("Example", site.url)
    r = ws.run("check", "--json", "--max-size", "1KB")
    out = r.json_lines()[0]
    assert r.code == 3 and out["state"] == "failed" and out["reason"] == "too-large"
    site.delay = 1.5
    r = ws.run("check", "--json", "--timeout", "0.5")
    assert r.json_lines()[0]["reason"] == "timeout"
    site.delay = 0
    assert check(ws)["state"] == "new"
    for bad in (("--max-size", "huge"), ("--timeout", "0"), ("--jobs", "0")):
        r = ws.run("check", *bad)
        assert r.code == 2 and "Traceback" not in r.err and bad[0] in r.err


def test_worker_processes_store_the_same_as_in_process(tmp_path, httpserver) -> None:
    """`--workers 1` moves extraction to a worker process: the stored clauses must be identical."""
    from helpers import Workspace

    pages = {}
    for i in range(6):
        path = f"/p{i}"
        pages[path] = policy_html({"Your choices": [f"Setting number {i} controls how we contact you."]})
        httpserver.expect_request(path).respond_with_data(pages[path], content_type="text/html")
    results = []
    for workers in ("0", "1"):
        w = Workspace(tmp_path / f"w{workers}")
        w.root.mkdir()
        w.policies.mkdir()
        for path in pages:
            w.declare(f"Service {path[2:]}", httpserver.url_for(path))
        r = w.run("check", "--json", "--workers", workers, "--per-host", "4")
        assert r.code == 0, r.err
        assert {o["state"] for o in r.json_lines()} == {"new"}
        with sqlite3.connect(w.db) as db:
            results.append(sorted(db.execute(
                "SELECT d.service, v.sha256, v.clauses FROM versions v JOIN documents d ON d.id = v.document_id")))
    assert len(results[0]) == len(pages) and results[0] == results[1]


def test_feeds_exist_from_the_first_check_and_follow_failures(ws, site) -> None:
    """Readers subscribe before anything changes: the first check writes the service's (empty) feed."""
    import feedparser

    ws.declare("Example", site.url)
    assert check(ws)["state"] == "new"
    index = ws.feeds / "index.html"
    service_feeds = list((ws.feeds / "services").glob("*.atom"))
    assert index.exists() and len(service_feeds) == 1
    parsed = feedparser.parse(service_feeds[0].read_bytes())
    assert not parsed.bozo and parsed.entries == []
    before = {p: p.stat().st_mtime_ns for p in ws.feeds.rglob("*") if p.is_file()}
    assert check(ws)["state"] == "unchanged"
    assert {p: p.stat().st_mtime_ns for p in ws.feeds.rglob("*") if p.is_file()} == before  # nothing rewritten
    site.status = 500
    for _ in range(3):
        assert check(ws)["state"] == "failed"
    status = feedparser.parse((ws.feeds / "status.atom").read_bytes())
    assert len(status.entries) == 1 and "HTTP 500" in status.entries[0].content[0].value


def test_the_program_freezes_its_objects_before_exit_and_a_caller_does_not() -> None:
    """At exit the interpreter's last collection would walk every object; frozen ones are skipped."""
    import subprocess
    import sys

    code = ("import atexit, gc, sys; from tracker.cli import main; "
            "atexit.register(lambda: print('frozen' if gc.get_freeze_count() else 'not frozen')); "
            "sys.argv = ['policy-tracker', '--version']; main({})")
    for arg, expected in (("", "frozen"), ("['--version']", "not frozen")):
        r = subprocess.run([sys.executable, "-c", code.format(arg)], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.splitlines()[-1] == expected
