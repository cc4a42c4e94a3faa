"""Notifications delivered for real: e-mail through Apprise to a local SMTP server (aiosmtpd), JSON
to a local HTTP endpoint; a failing channel keeps its messages in the outbox until a later run
delivers them, and no channel ever gets one twice."""

from __future__ import annotations

import email
import email.policy
import socket
import sqlite3
import threading
import time
import warnings

import pytest
from helpers import assert_one_line_error
from pages import policy_html
from test_check import Site
from test_notify import AI, Hook

from tracker.store.database import Store

aiosmtpd = pytest.importorskip("aiosmtpd.controller")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """A real SMTP server on 127.0.0.1 that keeps every message; can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> Mailbox:
        self.controller = aiosmtpd.Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=tracker@example.org&to=alerts@example.org"


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.stop()


def outbox(ws) -> list[tuple]:
    con = sqlite3.connect(ws.db)
    return con.execute("SELECT event, attempts, delivered_at IS NOT NULL FROM outbox ORDER BY id").fetchall()


def test_email_through_apprise_waits_for_the_server_and_is_sent_once(ws, httpserver, mailbox) -> None:
    site = Site(httpserver)
    ws.declare("Example", site.url)
    r = ws.run("check", "--notify", mailbox.url)  # the server is down, but nothing has changed yet
    assert r.code == 0, r.err
    site.body = policy_html({"How we use information": [AI]})
    r = ws.run("check", "--json", "--notify", mailbox.url)
    assert r.code == 0, r.err  # a channel that fails never fails the check
    assert r.json_lines()[0]["state"] == "changed"
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("policy-tracker: warning: notify mailto://127.0.0.1:"), r.err
    assert "alerts@example.org" not in r.err  # the URL's details stay out of messages
    assert [(e, a, d) for e, a, d in outbox(ws)] == [("change:1:2", 1, 0)]

    mailbox.start()
    r = ws.run("check", "--json", "--notify", mailbox.url)  # nothing new: the waiting message goes out
    assert r.code == 0 and r.err == "", r.err
    assert r.json_lines()[0]["state"] == "unchanged"
    assert len(mailbox.messages) == 1
    msg = mailbox.messages[0]
    assert mailbox.envelopes[0] == ("tracker@example.org", ["alerts@example.org"])
    assert msg["Subject"].startswith("Example Privacy Policy — ") and "AI training" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert AI in body and site.url in body
    assert outbox(ws) == [("change:1:2", 2, 1)]

    for _ in range(2):  # delivered: never again, whatever runs next
        assert ws.run("check", "--notify", mailbox.url).code == 0
    assert len(mailbox.messages) == 1


def test_webhook_and_email_channels_are_independent(ws, httpserver, mailbox) -> None:
    site = Site(httpserver)
    hook = Hook(httpserver, status=500)
    ws.declare("Example", site.url)
    mailbox.start()
    args = ("check", "--notify", hook.url, "--notify", mailbox.url)
    assert ws.run(*args).code == 0
    site.body = policy_html({"How we use information": [AI]})
    r = ws.run(*args)
    assert r.code == 0, r.err
    assert len(mailbox.messages) == 1  # e-mail delivered at once
    assert len(hook.bodies) == 2  # the webhook answered 500 twice (one retry within the attempt)
    assert "HTTP 500" in r.err and "kept" in r.err
    hook.status = 204
    r = ws.run(*args)
    assert r.code == 0 and "warning" not in r.err, r.err
    assert len(hook.bodies) == 3 and hook.bodies[-1]["event"] == "policy-change"
    assert hook.bodies[-1]["to_version"] == 2 and "ai-training" in hook.bodies[-1]["tags"]
    assert len(mailbox.messages) == 1  # not twice to the channel that already had it
    assert ws.run(*args).code == 0
    assert len(hook.bodies) == 3 and len(mailbox.messages) == 1


def test_a_new_channel_gets_new_changes_only_and_bad_urls_are_refused(ws, httpserver, mailbox) -> None:
    site = Site(httpserver)
    ws.declare("Example", site.url)
    assert ws.run("check").code == 0
    site.body = policy_html({"How we use information": [AI]})
    assert ws.run("check").code == 0  # a change before any channel was configured
    mailbox.start()
    assert ws.run("check", "--notify", mailbox.url).code == 0
    assert mailbox.messages == []  # history is not replayed to a new channel
    for bad in ("foo://nowhere", "hooks.example.org", "file:///etc/passwd"):
        assert_one_line_error(ws.run("check", "--notify", bad), "--notify")


def test_the_outbox_claims_an_event_once(tmp_path) -> None:
    """Two processes delivering at once (the daemon and `check`) never both get the same event."""
    path = tmp_path / "t.db"
    a, b = Store(path), Store(path)
    try:
        a.outbox_channel("ch")
        a.outbox_queue("ch", "change:1:2", "{}")
        a.outbox_queue("ch", "change:1:2", "{}")  # queued twice: kept once
        assert a.outbox_pending("ch") == 1
        first = a.outbox_claim("ch")
        assert [e for _, e, _ in first] == ["change:1:2"]
        assert b.outbox_claim("ch") == []  # claimed by the other process
        a.outbox_done(first[0][0], "HTTP 500")
        again = b.outbox_claim("ch")  # a failed attempt is released for the next one
        assert [e for _, e, _ in again] == ["change:1:2"]
        b.outbox_done(again[0][0])
        assert a.outbox_claim("ch") == [] and a.outbox_pending() == 0
        time.sleep(0)
    finally:
        a.close()
        b.close()


def test_other_apprise_channels_are_configured_by_url_and_delivered(ws, httpserver) -> None:
    """Issue 18: channels other than e-mail through Apprise, configured by URL. ntfy is delivered for
    real (its server is a local HTTP endpoint); Telegram, Discord, Slack and Matrix URLs are accepted as
    written (delivering them needs their services, which tests do not reach)."""
    from tracker.publish.notify import notify_urls

    received: list[bytes] = []

    def ntfy(request):
        from werkzeug import Response

        received.append(request.get_data())
        return Response('{"id": "x"}', content_type="application/json")

    httpserver.expect_request("/policy-alerts", method="POST").respond_with_handler(ntfy)
    httpserver.expect_request("/", method="POST").respond_with_handler(ntfy)
    site = Site(httpserver)
    ws.declare("Example", site.url)
    url = f"ntfy://127.0.0.1:{httpserver.port}/policy-alerts"
    assert ws.run("check", "--notify", url).code == 0
    assert received == []  # a first version is not a change
    site.body = policy_html({"How we use information": [AI]})
    r = ws.run("check", "--notify", url)
    assert r.code == 0 and "notify" not in r.err, r.err
    assert len(received) == 1 and b"Example" in received[0], received
    assert ws.run("check", "--notify", url).code == 0
    assert len(received) == 1  # never twice
    for other in ("tgram://123456789:abcdefg_hijklmnop/987654321", "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
                  "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "matrix://user:pass@127.0.0.1/!room"):
        with warnings.catch_warnings():  # apprise imports imghdr (deprecated): not this project's warning
            warnings.simplefilter("ignore", DeprecationWarning)
            assert notify_urls([other]) == [other]
