"""Webhook notifications end to end: real `check` and `run` processes posting to a local receiver."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from helpers import assert_one_line_error
from pages import policy_html
from test_check import Site
from test_daemon import Daemon, wait_for
from werkzeug import Response

from tracker.models import Change, DiffResult
from tracker.publish.feeds import entry_id
from tracker.publish.notify import CHANGE_CHARS, MAX_CHANGES, check_url, notify_urls, payload
from tracker.store.records import ChangeRecord

AI = "We may use your posts to train our AI models and improve our products."
BASE = "https://policies.example.org/feeds"


class Hook:
    """A webhook receiver on the same local server; answers ``status`` and keeps every JSON body."""

    def __init__(self, httpserver, path: str = "/hook", status: int = 204) -> None:
        self.status = status
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        httpserver.expect_request(path, method="POST").respond_with_handler(self.handle)
        self.url = httpserver.url_for(path)

    def handle(self, request) -> Response:
        self.headers.append(dict(request.headers))
        self.bodies.append(json.loads(request.get_data()))
        return Response(b"", status=self.status)


def run(ws, *args: str, **env: str):
    """The CLI with extra environment variables (the Workspace strips POLICY_TRACKER_* from ours)."""
    p = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                       env={**ws.env(), **env}, cwd=ws.root, timeout=120)
    return p.returncode, p.stdout, p.stderr


def state(out: str) -> str:
    return json.loads(out.splitlines()[0])["state"]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_one_post_per_change_and_none_otherwise(ws, httpserver) -> None:
    site, hook = Site(httpserver), Hook(httpserver)
    ws.declare("Example", site.url)
    args = ("check", "--json", "--notify", hook.url)
    env = {"POLICY_TRACKER_BASE_URL": BASE}
    code, out, err = run(ws, *args, **env)
    assert (code, state(out)) == (0, "new"), err
    assert state(run(ws, *args, **env)[1]) == "unchanged"
    site.body = policy_html(date="March 1, 2026")  # only the date: insignificant
    assert state(run(ws, *args, **env)[1]) == "unchanged"
    site.status = 503
    assert state(run(ws, *args, **env)[1]) == "failed"
    assert hook.bodies == []

    site.status = 200
    site.body = policy_html({"How we use information": [AI]})
    code, out, err = run(ws, *args, **env)
    assert (code, state(out)) == (0, "changed"), err
    assert "warning" not in err
    assert len(hook.bodies) == 1
    p = hook.bodies[0]
    assert hook.headers[0]["User-Agent"].startswith("policy-tracker/")
    assert p["event"] == "policy-change"
    assert p["id"] == entry_id("Example", "Privacy Policy", 2)
    assert (p["service"], p["type"], p["url"]) == ("Example", "Privacy Policy", site.url)
    assert (p["from_version"], p["to_version"]) == (1, 2)
    assert p["detected_at"].endswith("Z")
    assert "ai-training" in p["tags"] and p["directions"]["ai-training"] == "added"
    assert len(p["changes"]) == 1
    c = p["changes"][0]
    assert c["kind"] == "added" and c["new"] == AI and c["old"] is None and "ai-training" in c["tags"]
    assert c["section"].endswith("How we use information")
    assert p["title"].startswith("Example Privacy Policy — ") and "AI training" in p["title"]
    assert p["text"].startswith(p["title"] + "\n")
    assert f"\nAI training added (may train): “{AI}”\n" in p["text"]  # the event first, its sentence once
    # the same title and id as the feed entry, and a page link where the feeds put the page
    atom = ET.parse(ws.feeds / "all.atom").getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    entry = atom.find(f"{ns}entry")
    assert (entry.findtext(f"{ns}id"), entry.findtext(f"{ns}title")) == (p["id"], p["title"])
    assert p["page"].startswith(BASE + "/changes/") and (ws.feeds / "changes" / p["page"].rsplit("/", 1)[1]).is_file()

    assert state(run(ws, *args, **env)[1]) == "unchanged"
    assert len(hook.bodies) == 1


@pytest.mark.parametrize("failure", ["http-500", "refused"])
def test_a_failing_endpoint_never_fails_the_check(ws, httpserver, failure) -> None:
    site = Site(httpserver)
    if failure == "http-500":
        hook = Hook(httpserver, status=500)
        url = hook.url
    else:
        hook, url = None, closed_port_url()
    ws.declare("Example", site.url)
    assert run(ws, "check", "--notify", url)[0] == 0
    site.body = policy_html({"How we use information": [AI]})
    code, out, err = run(ws, "check", "--json", "--notify", url)
    assert code == 0 and state(out) == "changed"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.match(r"policy-tracker: warning: notify http://(127\.0\.0\.1|localhost):\d+/…: ", lines[0]), lines[0]
    assert ("HTTP 500 (after one retry)" if hook else "cannot connect (after one retry)") in lines[0]
    assert "/hook" not in lines[0]  # webhook paths are often secrets
    if hook:
        assert len(hook.bodies) == 2  # one retry, no more
    assert run(ws, "history", "Example", "--json")[1].count('"version"') == 2


def test_bad_notify_url_is_one_line_exit_2(ws, httpserver) -> None:
    from helpers import Result

    ws.declare("Example", "http://127.0.0.1:9/privacy")
    for args, env in ((("--notify", "ftp://example.org/hook"), {}), (("--notify", "hooks.example.org"), {}),
                      ((), {"POLICY_TRACKER_NOTIFY": "https://ok.example.org/a http://:80/x"})):
        code, out, err = run(ws, "check", *args, **env)
        assert_one_line_error(Result(code, out, err), "--notify")
    assert not ws.db.exists()  # refused before anything was checked
    code, out, err = run(ws, "run", "--once", "--notify", "file:///tmp/x")
    assert_one_line_error(Result(code, out, err), "--notify")


def test_env_urls_and_validation() -> None:
    assert notify_urls(["https://a.example/x http://127.0.0.1:8/y", "https://a.example/x"]) == [
        "https://a.example/x", "http://127.0.0.1:8/y"]
    for bad in ("javascript:alert(1)", "http://", "https://a.example/x y", "http://a.example:99999/"):
        with pytest.raises(ValueError):
            check_url(bad)


def test_payload_caps_long_changes() -> None:
    long = "We may share your data with partners. " * 200
    diff = DiffResult(changes=[Change(kind="modified", section="Sharing", old=long, new=long + str(i),
                                      tags=["data-sharing"], directions={"data-sharing": "changed"})
                               for i in range(MAX_CHANGES + 5)])
    rec = ChangeRecord(id=1, document_id=1, service="Acme", type="Terms", url="https://acme.example/terms",
                       from_version=3, to_version=4, detected_at="2026-01-01T00:00:00Z", diff=diff,
                       tags=["data-sharing"])
    p = payload(rec)
    assert len(p["changes"]) == MAX_CHANGES and p["more_changes"] == 5
    assert all(len(c["old"]) <= CHANGE_CHARS and len(c["new"]) <= CHANGE_CHARS for c in p["changes"])
    assert p["page"] is None and p["directions"] == {"data-sharing": "changed"}
    assert p["text"].count("\nChanged (Sharing): ") == 5 and "… and 25 more changed clause(s)" in p["text"]
    assert len(p["text"]) < 3000
    json.dumps(p)


def test_daemon_posts_on_a_change(ws, httpserver) -> None:
    site, hook = Site(httpserver), Hook(httpserver)
    ws.declare("Acme", site.url, interval="1s")
    d = Daemon(ws, "--jitter", "0", "--host-delay", "0", "--broken-after", "2", "--notify", hook.url)
    try:
        wait_for(lambda: len(site.requests) >= 2, 15, "two checks", d)
        assert hook.bodies == []
        site.body = policy_html({"How we use information": [AI]})
        wait_for(lambda: hook.bodies, 15, "a webhook post", d)
        time.sleep(1.5)  # the next checks find it unchanged: no second post
        assert len(hook.bodies) == 1
        assert hook.bodies[0]["to_version"] == 2 and "ai-training" in hook.bodies[0]["tags"]
        assert hook.bodies[0]["page"] is None
        site.status = 500  # two failures in a row: broken, told once
        wait_for(lambda: len(hook.bodies) == 2, 15, "a check-broken post", d)
        broken = hook.bodies[1]
        assert broken["event"] == "check-broken" and broken["service"] == "Acme" and broken["failures"] == 2
        assert broken["reason"] and broken["text"].startswith("Acme Privacy Policy: broken")
        time.sleep(1.5)
        assert len(hook.bodies) == 2
    finally:
        rc, _ = d.stop()
    assert rc == 0
    assert "notify" not in d.log().lower(), d.log()
