"""The daemon as users run it: a real `policy-tracker run` process against a local HTTP server.

Intervals are a few seconds; every wait is a poll with a deadline, never a fixed sleep that a test
could pass by luck. Timing assertions have slack for a loaded 2-core machine.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import Workspace

from tracker.schedule.politeness import MIN_RETRY, due_at, jittered, parse_jitter, retry_delay

ATOM = "{http://www.w3.org/2005/Atom}"


def page(extra: str = "", seed: int = 0) -> bytes:
    """A plausible policy page: headings and clauses, long enough for the guard."""
    topics = ["collect the information you provide when you create an account",
              "use your information to provide, maintain and improve the service",
              "share information with service providers who process it on our behalf",
              "keep your information for as long as your account is active",
              "protect your information with technical and organisational measures",
              "give you the right to access, correct and delete your information"]
    body = "".join(f"<h2>Section {i + 1}</h2><p>We {t}, as described in this section ({seed}).</p>"
                   for i, t in enumerate(topics))
    return (f"<html lang='en'><head><title>Privacy Policy</title></head><body><main><h1>Privacy Policy</h1>"
            f"{body}{extra}</main></body></html>").encode()


AI_CLAUSE = ("<h2>Artificial intelligence</h2><p>We use the content you post, including your photos and "
             "messages, to train our artificial intelligence models and large language models.</p>")


class Site:
    """A local HTTP server whose routes can be changed while it runs; it records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str], float]] = {}
        self.hits: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    site.hits.append((time.time(), self.path))
                    status, body, headers, delay = site.routes.get(self.path, (404, b"", {}, 0.0))
                if callable(body):
                    body = body()
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body, status: int = 200, headers: dict[str, str] | None = None,
              delay: float = 0.0) -> None:
        with self.lock:
            self.routes[path] = (status, body, headers or {}, delay)

    def times(self, path: str) -> list[float]:
        with self.lock:
            return [t for t, p in self.hits if p == path]


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.shutdown()


class Daemon:
    """A `policy-tracker run` subprocess with its log in a file."""

    def __init__(self, ws: Workspace, *args: str, name: str = "daemon") -> None:
        self.log_path = ws.root / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.started = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "tracker", "run", *args], env=ws.env(), cwd=ws.root,
                                     stdout=subprocess.DEVNULL, stderr=self._log)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, timeout: float = 12) -> tuple[int, float]:
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self._log.close()
        return rc, time.monotonic() - t

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def start(daemons: list, ws: Workspace, *args: str, name: str = "daemon") -> Daemon:
    d = Daemon(ws, *args, name=name)
    daemons.append(d)
    return d


def wait_for(pred: Callable[[], object], timeout: float, what: str, daemon: Daemon | None = None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited ({daemon.proc.returncode}) while waiting for {what}:\n{daemon.log()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f"\n{daemon.log()}" if daemon else ""))


def db_rows(ws: Workspace, sql: str, args: tuple = ()) -> list[tuple]:
    if not ws.db.exists():
        return []
    con = sqlite3.connect(ws.db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return []
        raise
    finally:
        con.close()


def versions(ws: Workspace, service: str) -> int:
    rows = db_rows(ws, "SELECT COUNT(*) FROM versions v JOIN documents d ON d.id = v.document_id "
                       "WHERE d.service = ?", (service,))
    return rows[0][0] if rows else 0


def doc_state(ws: Workspace, service: str) -> tuple | None:
    rows = db_rows(ws, "SELECT last_check_at, next_check_at, consecutive_failures, last_state FROM documents "
                       "WHERE service = ?", (service,))
    return rows[0] if rows else None


def atom_entries(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [e.findtext(f"{ATOM}title") or "" for e in ET.parse(path).getroot().iter(f"{ATOM}entry")]


FAST = ("--host-delay", "0", "--jitter", "0")


# --------------------------------------------------------------------------- timing rules (pure)


def test_retry_delay_grows_and_is_capped_by_the_interval() -> None:
    delays = [retry_delay(86400, n) for n in range(0, 7)]
    assert delays == [86400, 10800, 21600, 43200, 86400, 86400, 86400]
    assert retry_delay(4, 1) == MIN_RETRY and retry_delay(4, 2) == 1 and retry_delay(4, 9) == 4
    assert retry_delay(3600, 10_000) == 3600  # no overflow after months of failures
    assert retry_delay(3600, 1, retry_after=7200) == 7200  # Retry-After beats the back-off and the cap
    assert retry_delay(3600, 0, retry_after=10) == 3600


def test_jitter_and_due_time() -> None:
    rng = random.Random(1)
    values = [jittered(100, 0.1, rng) for _ in range(200)]
    assert min(values) >= 90 and max(values) <= 110 and max(values) - min(values) > 10
    assert jittered(100, 0.1, rng, floor=500) == 500
    assert parse_jitter("10%") == 0.1 and parse_jitter("0") == 0
    with pytest.raises(ValueError):
        parse_jitter("80%")
    assert due_at(60, None, None, 0, 0.1) == 0  # never checked: due now
    assert due_at(60, 1000, 1063, 0, 0.1) == 1063  # stored (jittered) due time is kept
    assert due_at(60, 1000, 5000, 0, 0.1) == 1060  # interval shortened since: recomputed
    assert due_at(60, 1000, 900, 0, 0.1) == 1060  # checked by hand after it was computed
    assert due_at(60, 1000, 4600, 2, 0.1) == 4600  # a Retry-After stored while failing is kept


# --------------------------------------------------------------------------- the daemon


def test_change_served_mid_run_becomes_a_version_and_a_feed_entry(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/privacy", page())
    ws.declare("Acme", site.url("/privacy"), interval="2s")
    d = start(daemons, ws, *FAST)
    wait_for(lambda: versions(ws, "Acme") == 1, 10, "the first version", d)
    time.sleep(0.3)
    site.serve("/privacy", page(AI_CLAUSE))
    changed_at = time.monotonic()
    wait_for(lambda: versions(ws, "Acme") == 2, 6, "the changed version", d)
    wait_for(lambda: atom_entries(ws.feeds / "all.atom"), 6, "a feed entry", d)
    elapsed = time.monotonic() - changed_at
    assert elapsed < 2 * 2 + 0.5, elapsed  # within two intervals
    assert "Acme / Privacy Policy: changed -> v2" in d.log()
    rc, took = d.stop()
    assert rc == 0, d.log()
    line = [x for x in d.log().splitlines() if "changed -> v2" in x][0]
    assert " B" in line and "s " in line  # duration and bytes on the one line


def test_restart_resumes_the_schedule(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/slow-doc", page(seed=1))
    site.serve("/fast-doc", page(seed=2))
    ws.declare("Slowco", site.url("/slow-doc"), interval="60s")
    ws.declare("Fastco", site.url("/fast-doc"), interval="2s")
    d1 = start(daemons, ws, *FAST, name="first")
    wait_for(lambda: versions(ws, "Slowco") and versions(ws, "Fastco"), 10, "first checks", d1)
    assert d1.stop()[0] == 0
    last_fast = doc_state(ws, "Fastco")[0]
    slow_hits = len(site.times("/slow-doc"))
    assert slow_hits == 1
    # Fastco is overdue when the daemon comes back, Slowco is not due for another minute.
    wait_for(lambda: time.time() > last_fast + 2.3, 5, "Fastco to become overdue")
    fast_before = len(site.times("/fast-doc"))
    d2 = start(daemons, ws, *FAST, "--verbose", name="second")
    wait_for(lambda: len(site.times("/fast-doc")) > fast_before, 6, "the overdue document", d2)
    assert "Fastco / Privacy Policy: next check in 0.0s" in d2.log()  # due at start-up, not an interval later
    assert "Slowco / Privacy Policy: next check in 5" in d2.log()  # about 58 s left of its minute
    time.sleep(1.0)
    assert len(site.times("/slow-doc")) == slow_hits, "a document that was not due was re-checked"
    last_check, next_check, _, _ = doc_state(ws, "Slowco")
    assert 59 <= next_check - last_check <= 61  # its due time is kept across the restart
    assert d2.stop()[0] == 0


def test_failing_host_backs_off_reports_broken_and_recovers(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/flaky", b"oops", status=500)
    # Another host name (same server): a 429 with a long Retry-After must be honoured.
    site.serve("/limited", b"slow down", status=429, headers={"Retry-After": "3600"})
    ws.declare("Flaky", site.url("/flaky"), interval="4s")
    ws.declare("Limited", site.url("/limited", host="localhost"), interval="2s")
    d = start(daemons, ws, *FAST, "--broken-after", "2")
    wait_for(lambda: any("Flaky" in t for t in atom_entries(ws.feeds / "status.atom")), 8, "status.atom entry", d)
    flaky = next(x for x in ws.run("list", "--json", "--broken-after", "2").json() if x["service"] == "Flaky")
    assert flaky["state"] == "broken" and flaky["consecutive_failures"] >= 2
    wait_for(lambda: len(site.times("/flaky")) >= 3, 5, "a third failed attempt", d)
    site.serve("/flaky", page(seed=3))  # the site is back
    wait_for(lambda: doc_state(ws, "Flaky")[2] == 0, 10, "recovery", d)
    hits = site.times("/flaky")
    gaps = [round(b - a, 2) for a, b in zip(hits, hits[1:], strict=False)]
    # Back-off 0.5, 1, 2 s (interval/8, doubling; capped at the 4 s interval), then the recovering check.
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps  # the delays are floors
    assert gaps[0] < 0.5 + 0.8 and gaps[1] < 1 + 0.8 and gaps[2] < 2 + 0.8, gaps  # ...not much more
    assert all(g <= 4 + 1.0 for g in gaps), gaps  # never longer than the interval
    limited = doc_state(ws, "Limited")
    assert len(site.times("/limited")) == 1 and limited[1] - limited[0] >= 3600
    wait_for(lambda: not any("Flaky" in t for t in atom_entries(ws.feeds / "status.atom")), 3, "status cleared", d)
    assert next(x for x in ws.run("list", "--json").json() if x["service"] == "Flaky")["state"] == "new"
    # "recovered" once the episode is over: several good checks in a row (tracker/broken.py)
    wait_for(lambda: "recovered" in d.log(), 16, "recovered logged", d)
    assert d.log().count("BROKEN") == 1 and d.log().count("recovered") == 1
    assert d.stop()[0] == 0


def test_sigterm_stops_quickly_and_abandons_a_hung_fetch_cleanly(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/hang", page(seed=4), delay=20)
    ws.declare("Hang", site.url("/hang"), interval="2s")
    d = start(daemons, ws, *FAST, "--stop-timeout", "2")
    wait_for(lambda: site.times("/hang"), 10, "the hanging request", d)
    rc, took = d.stop()
    assert rc == 0, d.log()
    assert took < 2 + 1.5, took
    assert "abandoned 1 in-flight fetch" in d.log()
    assert db_rows(ws, "SELECT COUNT(*) FROM checks")[0][0] == 0  # nothing half-done was stored
    assert db_rows(ws, "PRAGMA integrity_check")[0][0] == "ok"
    # An idle daemon stops at once.
    site.serve("/ok", page(seed=5))
    ws.declare("Hang", site.url("/ok"), interval="60s")
    d2 = start(daemons, ws, *FAST, name="idle")
    wait_for(lambda: versions(ws, "Hang"), 10, "a check", d2)
    rc, took = d2.stop()
    assert rc == 0 and took < 2.5, (rc, took)


def test_a_second_daemon_on_the_same_database_is_refused(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/p", page())
    ws.declare("Acme", site.url("/p"), interval="60s")
    d = start(daemons, ws, *FAST)
    wait_for(lambda: "started" in d.log(), 10, "start-up", d)
    for extra in ((), ("--once",)):
        r = ws.run("run", *extra, timeout=20)
        assert r.code == 2, (r.code, r.err)
        lines = [x for x in r.err.splitlines() if x.strip()]
        assert len(lines) == 1 and "already using" in lines[0] and str(d.proc.pid) in lines[0], r.err
    assert d.proc.poll() is None  # the first one is unharmed
    assert d.stop()[0] == 0


def test_cli_commands_work_while_the_daemon_writes(ws: Workspace, site: Site, daemons) -> None:
    counter = iter(range(10**6))
    for i in range(3):
        # Every request serves a different text: each check writes a version, a change and feeds.
        site.serve(f"/busy{i}", lambda: page(f"<p>Revision number {next(counter)} of this clause.</p>"))
        ws.declare(f"Busy{i}", site.url(f"/busy{i}"), interval="1s")
    d = start(daemons, ws, *FAST, "--jobs", "3")
    wait_for(lambda: all(versions(ws, f"Busy{i}") >= 2 for i in range(3)), 15, "changes being written", d)
    before = [versions(ws, f"Busy{i}") for i in range(3)]
    commands = [("check", "Busy0"), ("diff", "Busy1"), ("history", "Busy2"), ("list",)]
    results: list = [None] * len(commands)

    def call(n: int) -> None:
        results[n] = (commands[n], ws.run(*commands[n], timeout=60))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(commands))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the daemon kept writing (the commands may finish within one interval: wait for its next writes)
    wait_for(lambda: all(versions(ws, f"Busy{i}") > before[i] for i in range(1, 3)), 15, "more versions", d)
    for args, r in results:
        assert r.code == 0, (args, r.err)
        assert "locked" not in r.err.lower(), (args, r.err)
    assert d.proc.poll() is None
    assert "Traceback" not in d.log() and "locked" not in d.log().lower()
    assert d.stop()[0] == 0


def test_declarations_are_reread_on_change_and_sighup(ws: Workspace, site: Site, daemons) -> None:
    site.serve("/a", page(seed=6))
    site.serve("/b", page(seed=7))
    ws.declare("Alpha", site.url("/a"), interval="1s")
    d = start(daemons, ws, *FAST, "--poll", "0.5")
    wait_for(lambda: versions(ws, "Alpha"), 10, "Alpha checked", d)
    ws.declare("Beta", site.url("/b"), interval="60s")  # added while running
    wait_for(lambda: site.times("/b"), 5, "the added document", d)
    # A broken edit is logged; the previous declaration of that file keeps being checked.
    (ws.policies / "alpha.toml").write_text('name = "Alpha"\n[documents."Privacy Policy"\nurl = 3\n')
    wait_for(lambda: "invalid TOML" in d.log(), 5, "the error logged", d)
    n = len(site.times("/a"))
    wait_for(lambda: len(site.times("/a")) > n, 4, "Alpha still checked", d)
    # Removed: no more requests. SIGHUP re-reads at once (even when mtimes look unchanged).
    (ws.policies / "alpha.toml").unlink()
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_for(lambda: "no longer declared" in d.log(), 5, "the removal", d)
    n = len(site.times("/a"))
    time.sleep(1.5)
    assert len(site.times("/a")) <= n + 1  # at most one check already under way
    assert d.proc.poll() is None
    assert d.stop()[0] == 0


def test_once_checks_due_documents_and_exits(ws: Workspace, site: Site) -> None:
    site.serve("/one", page(seed=8))
    site.serve("/two", page(seed=9))
    ws.declare("One", site.url("/one"), interval="1h")
    ws.declare("Two", site.url("/two"), interval="1h")
    t = time.monotonic()
    r = ws.run("run", "--once", "--host-delay", "0.5", timeout=30)
    assert r.code == 0, r.err
    assert "One / Privacy Policy: new (v1)" in r.err and "Two / Privacy Policy: new (v1)" in r.err
    hits = sorted(site.times("/one") + site.times("/two"))
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.45  # same host: the host delay is kept
    assert time.monotonic() - t < 10
    r = ws.run("run", "--once", timeout=30)  # nothing is due an hour later... or now
    assert r.code == 0 and len(site.times("/one")) == 1, r.err
    assert "0 of 2 document(s) due" in r.err
