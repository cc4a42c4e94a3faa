"""Chromium keeps its sandbox: no --no-sandbox unless asked, an unprivileged user when we are root, a
clear failure when the sandbox cannot start, and the page's host checked and pinned before the start.

A stand-in browser (a shell script that prints its arguments and user id as the page) shows what would
be run; the real Chromium is exercised by test_browser.py (skipped when it is not installed)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from tracker.capture.browser import NO_SANDBOX_ENV, USER_ENV, render

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def stand_in():
    """A fake chromium in a folder any user can read (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="policy-tracker-fake-browser-"))
    folder.chmod(0o755)

    def make(script: str) -> str:
        exe = folder / "chromium"
        exe.write_text("#!/bin/sh\n" + script)
        exe.chmod(0o755)
        return str(exe)

    yield make
    shutil.rmtree(folder, ignore_errors=True)


ECHO = """printf '<html><body><p id="uid">%s</p><pre>' "$(id -u)"
for a in "$@"; do printf '%s\\n' "$a"; done
printf '</pre></body></html>'
"""


def args_and_uid(result) -> tuple[list[str], int]:
    text = result.body.decode()
    uid = int(text.split('<p id="uid">', 1)[1].split("<", 1)[0])
    return text.split("<pre>", 1)[1].split("</pre>", 1)[0].splitlines(), uid


def test_the_sandbox_stays_on_by_default(stand_in, monkeypatch) -> None:
    monkeypatch.delenv(NO_SANDBOX_ENV, raising=False)
    r = render("http://127.0.0.1:9/privacy", executable=stand_in(ECHO), timeout=20)
    assert r.ok, r
    args, uid = args_and_uid(r)
    assert "--no-sandbox" not in args and args[-1] == "http://127.0.0.1:9/privacy"
    if ROOT:
        assert uid != 0, "Chromium must not run as root"


def test_no_sandbox_only_when_asked(stand_in, monkeypatch) -> None:
    monkeypatch.setenv(NO_SANDBOX_ENV, "1")
    r = render("http://127.0.0.1:9/privacy", executable=stand_in(ECHO), timeout=20)
    args, _ = args_and_uid(r)
    assert "--no-sandbox" in args


@pytest.mark.skipif(not ROOT, reason="only root switches to an unprivileged user")
def test_as_root_chromium_runs_as_the_configured_user(stand_in, monkeypatch) -> None:
    import pwd

    monkeypatch.setenv(USER_ENV, "nobody")
    r = render("http://127.0.0.1:9/privacy", executable=stand_in(ECHO), timeout=20)
    assert args_and_uid(r)[1] == pwd.getpwnam("nobody").pw_uid
    monkeypatch.setenv(USER_ENV, "no-such-user-here")
    r = render("http://127.0.0.1:9/privacy", executable=stand_in(ECHO), timeout=20)
    assert not r.ok and r.reason == "browser-failed" and "no user 'no-such-user-here'" in r.error, r
    assert NO_SANDBOX_ENV in r.error


def test_a_sandbox_that_cannot_start_is_a_clear_failure(stand_in, monkeypatch) -> None:
    monkeypatch.delenv(NO_SANDBOX_ENV, raising=False)
    exe = stand_in("echo '[1:1:1205/090957.048255:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox! "
                   "\x1b[31mUpdate your kernel' >&2\nexit 133\n")
    r = render("http://127.0.0.1:9/privacy", executable=exe, timeout=20)
    assert not r.ok and r.reason == "browser-failed", r
    assert r.error.startswith("Chromium's sandbox could not start (No usable sandbox!"), r.error
    assert f"{NO_SANDBOX_ENV}=1" in r.error and "\x1b" not in r.error


def test_the_page_host_is_pinned_to_the_checked_address(stand_in, monkeypatch) -> None:
    real = socket.getaddrinfo

    def fake(host, port, *a, **k):
        if host == "policy.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    r = render("http://policy.test:8080/privacy", executable=stand_in(ECHO), timeout=20, allow_private=True)
    (rules,) = [a for a in args_and_uid(r)[0] if a.startswith("--host-resolver-rules=")]
    assert rules.startswith("--host-resolver-rules=MAP policy.test 127.0.0.1, ")
    assert "MAP metadata.google.internal ~NOTFOUND" in rules


def test_a_slow_stand_in_is_killed_at_the_deadline(stand_in) -> None:
    import time

    exe = stand_in("sleep 30\n")
    start = time.monotonic()
    r = render("http://127.0.0.1:9/privacy", executable=exe, timeout=1)
    assert time.monotonic() - start < 1 + 2
    assert not r.ok and r.reason == "timeout" and "1 s deadline" in r.error, r
