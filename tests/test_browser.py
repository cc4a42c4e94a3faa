"""`browser = true`: pages whose text scripts insert, rendered by a real headless Chromium on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from helpers import assert_one_line_error, needs_tool
from werkzeug import Response

from tracker.capture.browser import fetch_document, render
from tracker.models import Document
from tracker.sources.declaration_edit import render_declaration
from tracker.sources.declarations import parse_declaration
from tracker.store.database import declaration_hash

CLAUSES = [
    "We collect the e-mail address you give us when you sign up for a newsletter or an account.",
    "We share usage statistics with analytics providers who process them on our behalf under contract.",
    "We never sell your personal information and you can ask us to delete it at any time.",
]

# The shell a plain GET sees: a title and a loading line; the policy arrives from a script, after a timer,
# so that only a browser that runs scripts (and lets timers fire) sees it.
SHELL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Privacy Policy</title></head>
<body><div id="app"><p>Loading the privacy policy, please wait.</p></div>
<script>
var clauses = %s;
setTimeout(function () {
  var app = document.getElementById("app");
  app.innerHTML = "<h1>Privacy Policy</h1><h2>What we collect and share</h2>";
  clauses.forEach(function (c) { var p = document.createElement("p"); p.textContent = c; app.appendChild(p); });
}, 200);
</script></body></html>"""


@pytest.fixture
def js_page(httpserver) -> str:
    body = SHELL % json.dumps(CLAUSES)
    httpserver.expect_request("/privacy").respond_with_handler(
        lambda request: Response(body, headers={"Content-Type": "text/html; charset=utf-8"}))
    return httpserver.url_for("/privacy")


def check(ws, *, env: dict | None = None) -> tuple[int, dict]:
    p = subprocess.run([sys.executable, "-m", "tracker", "check", "--json"], capture_output=True, text=True,
                       env={**ws.env(), **(env or {})}, cwd=ws.root, timeout=180)
    assert "Traceback" not in p.stderr, p.stderr
    (line,) = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return p.returncode, line


def test_without_browser_only_the_shell_is_seen(ws, js_page) -> None:
    ws.declare("Scripted", js_page)
    code, out = check(ws)
    assert code == 3  # 3: a document failed its check
    # The app shell ("Loading the privacy policy…") is not a policy: a failed check, no version,
    # and a hint in the reason that the page may need a browser.
    assert out["state"] == "failed" and out["reason"] in ("blocked", "too-short"), out
    assert ws.run("history", "Scripted", "--json").json() == []


@needs_tool("chromium")
def test_with_browser_the_script_inserted_clauses_are_recorded(ws, js_page) -> None:
    ws.declare("Scripted", js_page, browser=True)
    code, out = check(ws)
    assert code == 0 and out["state"] == "new", out
    text = ws.run("show", "Scripted").out
    assert all(c in text for c in CLAUSES), text
    assert "Loading the privacy policy" not in text
    code, again = check(ws)  # the same rendered DOM: the raw-hash short-cut still applies
    assert again["state"] == "unchanged", again


def test_browser_missing_is_a_failed_check_with_a_reason(ws, js_page) -> None:
    ws.declare("Scripted", js_page, browser=True)
    code, out = check(ws, env={"POLICY_TRACKER_CHROMIUM": "/nonexistent/chromium"})
    assert code == 3
    assert out["state"] == "failed" and out["reason"] == "browser-missing", out
    assert "POLICY_TRACKER_CHROMIUM" in out["error"]


@needs_tool("chromium")
def test_connection_refused_is_classified(httpserver) -> None:
    url = httpserver.url_for("/gone")
    httpserver.stop()
    try:
        result = render(url, timeout=60)
    finally:
        httpserver.start()
    assert not result.ok and result.reason == "connection", result
    assert "ERR_CONNECTION_REFUSED" in (result.error or "")


@needs_tool("chromium")
def test_hard_timeout_kills_the_browser(httpserver) -> None:
    def slow(request):
        time.sleep(8)
        return Response("<p>late</p>", headers={"Content-Type": "text/html"})

    httpserver.expect_request("/slow").respond_with_handler(slow)
    start = time.monotonic()
    result = render(httpserver.url_for("/slow"), timeout=3)
    assert time.monotonic() - start < 6
    assert not result.ok and result.reason == "timeout", result


@needs_tool("chromium")
def test_size_limit_applies_to_the_rendered_dom(js_page) -> None:
    result = render(js_page, max_bytes=200)
    assert not result.ok and result.reason == "too-large", result


@needs_tool("chromium")
def test_at_most_two_browsers_at_once(httpserver) -> None:
    lock = threading.Lock()
    active = [0, 0]  # now, most

    def handler(request):
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        time.sleep(0.5)
        with lock:
            active[0] -= 1
        return Response("<p>" + "x " * 50 + "</p>", headers={"Content-Type": "text/html"})

    httpserver.expect_request("/p").respond_with_handler(handler)
    docs = [Document(service="S", type=f"T{i}", url=httpserver.url_for("/p") + f"?{i}", browser=True)
            for i in range(4)]

    class NoHttp:  # the browser path must not use the plain fetcher at all
        total_timeout, max_bytes = 60.0, 10 * 1024 * 1024

        def fetch(self, *a, **k):
            raise AssertionError("plain fetch used for a browser document")

    results: list = []
    threads = [threading.Thread(target=lambda d=d: results.append(fetch_document(NoHttp(), d))) for d in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results), results
    assert active[1] <= 2


def test_browser_must_be_a_boolean(ws) -> None:
    ws.declare("Scripted", "https://example.com/privacy", browser="yes")
    assert_one_line_error(ws.run("validate"), "browser", "true or false")
    ws.policies.joinpath("scripted.toml").write_text(
        'name = "S"\nbrowser = 1\n[documents.P]\nurl = "https://example.com/p"\n')
    assert_one_line_error(ws.run("check"), "browser")


def test_browser_service_default_document_override_and_round_trip() -> None:
    data = {"name": "S", "browser": True, "documents": {"A": {"url": "https://ex.example/a"},
                                                        "B": {"url": "https://ex.example/b", "browser": False}}}
    a, b = parse_declaration(data, "s.toml")
    assert a.browser and not b.browser
    import tomllib

    again = parse_declaration(tomllib.loads(render_declaration("S", [a, b])), "s.toml")
    assert [d.browser for d in again] == [True, False]
    # Turning the browser on invalidates stored validators; documents without it keep their old hash.
    assert declaration_hash(a) != declaration_hash(b.__class__(**{**a.__dict__, "browser": False}))
