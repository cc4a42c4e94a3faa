"""Issue 19: a hard deadline per extraction. A selector that validates can still run for hours inside
libxml2's XPath engine (C code: no signal or exception interrupts it); its check must fail with
``extract-timeout`` after the deadline, store nothing, and leave the cycle and the daemon working.

The clock here is only an upper bound: the selector below would run for hours, the deadline is 1 s,
and each command is given a generous subprocess timeout.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from helpers import Workspace
from pages import policy_html

# 4,000 sibling divs; ``div:not(section ~ div ~ div ~ div)`` is translated to XPath whose
# following-sibling steps libxml2 runs from every element: 2 steps on 1,000 divs took 27 s here.
SLOW_SELECTOR = "div:not(section ~ div ~ div ~ div)"


def big_page() -> str:
    blocks = "".join(f"<div><p>Clause {i} of the policy, kept as it is.</p></div>" for i in range(4000))
    return f'<html lang="en"><body><main>{blocks}</main></body></html>'


def small_page(extra: str = "") -> str:
    """An ordinary policy page, its text inside one div (which the slow selector selects at once)."""
    html = policy_html({"Sharing": [f"We never sell your data to anyone.{extra}"]}, noise=False)
    return html.replace("<main>", "<main><div>").replace("</main>", "</div></main>")


def versions(db) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT d.service, COUNT(v.id) FROM documents d LEFT JOIN versions v "
                                "ON v.document_id = d.id GROUP BY d.service"))


def test_a_slow_selector_fails_the_check_at_the_deadline_and_the_others_go_on(ws: Workspace, httpserver) -> None:
    """`check` with a pathological selector on a big page: that document fails with extract-timeout after
    --extract-timeout, with no version; the other documents of the same cycle are checked normally; the
    same page answers again in a later cycle (a new worker replaced the killed one)."""
    httpserver.expect_request("/slow").respond_with_data(big_page(), content_type="text/html")
    httpserver.expect_request("/fine").respond_with_data(small_page(), content_type="text/html")
    ws.declare("Slow", httpserver.url_for("/slow"), select=[SLOW_SELECTOR])
    ws.declare("Fine", httpserver.url_for("/fine"))
    started = time.monotonic()
    r = ws.run("check", "--json", "--extract-timeout", "1", timeout=90)
    took = time.monotonic() - started
    out = {o["service"]: o for o in r.json_lines()}
    assert r.code == 3, r.err  # 3: a document failed
    assert out["Slow"]["state"] == "failed" and out["Slow"]["reason"] == "extract-timeout", out
    assert "--extract-timeout" in out["Slow"]["error"]
    assert out["Fine"]["state"] == "new", (out["Fine"]["reason"], out["Fine"]["error"])
    assert took < 60, took  # the selector alone runs for hours
    assert versions(ws.db) == {"Slow": 0, "Fine": 1}
    with sqlite3.connect(ws.db) as con:
        assert con.execute("SELECT reason FROM checks c JOIN documents d ON d.id = c.document_id "
                           "WHERE d.service = 'Slow'").fetchall() == [("extract-timeout",)]
    r = ws.run("check", "--extract-timeout", "1", timeout=90)
    assert r.code == 3 and "Slow / Privacy Policy: failed (extract-timeout)" in r.out, r.out + r.err
    assert "Traceback" not in r.err
    # the status feed names the failure like any other (status.atom is built from the checks table)
    assert (ws.feeds / "status.atom").exists()


def test_the_deadline_holds_in_a_dry_run(ws: Workspace, httpserver) -> None:
    httpserver.expect_request("/slow").respond_with_data(big_page(), content_type="text/html")
    ws.declare("Slow", httpserver.url_for("/slow"), select=[SLOW_SELECTOR])
    r = ws.run("check", "--dry-run", "--extract-timeout", "1", timeout=90)
    assert r.code == 3 and "would fail (extract-timeout" in r.out, r.out + r.err


def test_a_page_that_extracts_in_time_is_stored_as_before(ws: Workspace, httpserver) -> None:
    """The same selector on a small page answers at once: the deadline changes nothing for it, with or
    without worker processes."""
    httpserver.expect_request("/p").respond_with_data(small_page(), content_type="text/html")
    ws.declare("Small", httpserver.url_for("/p"), select=[SLOW_SELECTOR])
    r = ws.run("check", "--json", "--extract-timeout", "1")
    assert r.code == 0 and r.json_lines()[0]["state"] == "new", r.out + r.err
    r = ws.run("check", "--json", "--workers", "0")
    assert r.code == 0 and r.json_lines()[0]["state"] == "unchanged", r.out + r.err


def test_bad_extract_timeouts_are_refused(ws: Workspace) -> None:
    for cmd in ("check", "run"):
        r = ws.run(cmd, "--extract-timeout", "0")
        assert r.code == 2 and "--extract-timeout" in r.err and "Traceback" not in r.err


def test_worker_deadline_kills_and_replaces_the_worker() -> None:
    """The mechanism itself, in this process: a task stuck in C code past the deadline is stopped and
    its worker killed; the next task gets a new worker and answers."""
    from tracker.models import Document
    from tracker.page import Capture
    from tracker.workers import Extractors, extract

    slow = Document(service="S", type="Privacy Policy", url="http://127.0.0.1/x", select=[SLOW_SELECTOR])
    fine = Document(service="S", type="Privacy Policy", url="http://127.0.0.1/x")
    with Extractors(1, timeout=1.0) as ex:
        page = extract(ex, slow, Capture(url=slow.url, body=big_page().encode()))
        assert page.packed is None and page.reason == "extract-timeout"
        assert ex.killed == 1
        page = extract(ex, fine, Capture(url=fine.url, body=small_page().encode()))
        assert page.packed is not None and page.reason is None
        assert ex.started == 2


def test_a_worker_that_dies_fails_only_its_task() -> None:
    """A worker killed while idle (SIGKILL from outside, as the OOM killer would) is replaced before the
    next task; one that dies during its task fails that task with a clear message, and the next task
    gets a new worker."""
    from tracker.workers import Extractors, WorkerDied

    with Extractors(1, timeout=60) as ex:
        assert ex.run(os.getpid) > 0
        [worker] = ex._idle
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(5)
        assert ex.run(os.getpid) > 0  # a worker found dead before its task is replaced: the task runs
        [worker] = ex._idle
        with pytest.raises(WorkerDied, match="killed by signal SIGKILL"):
            ex.run(os.kill, worker.process.pid, signal.SIGKILL)  # dies in the middle of its task
        assert ex.run(os.getpid) > 0
        assert ex.started == 3


DAEMON_ARGS = ["run", "--host-delay", "0", "--jitter", "0", "--poll", "0.5", "--extract-timeout", "1"]


def test_the_daemon_keeps_running_past_a_slow_selector(ws: Workspace, httpserver) -> None:
    """`run` with a slow document and a good one: the slow one fails with extract-timeout, the good one
    gets its version, and the daemon still answers (a change to the good page is recorded after)."""
    httpserver.expect_request("/slow").respond_with_data(big_page(), content_type="text/html")
    pages = {"body": small_page()}
    httpserver.expect_request("/fine").respond_with_handler(
        lambda request: __import__("werkzeug").Response(pages["body"], content_type="text/html"))
    ws.declare("Slow", httpserver.url_for("/slow"), select=[SLOW_SELECTOR], interval="1s")
    ws.declare("Fine", httpserver.url_for("/fine"), interval="2s")
    log = ws.root / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "tracker", *DAEMON_ARGS, "--log-file", str(log)],
                            env=ws.env(), cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "failed (extract-timeout)" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.2)
        assert "Slow / Privacy Policy: failed (extract-timeout)" in log.read_text()
        pages["body"] = small_page(" We may also share it with our partners for advertising.")
        while time.monotonic() < deadline and "Fine / Privacy Policy: changed" not in log.read_text():
            time.sleep(0.2)
        assert "Fine / Privacy Policy: changed" in log.read_text(), log.read_text()
        assert proc.poll() is None  # still running
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in log.read_text() + err
    assert versions(ws.db)["Slow"] == 0


def test_a_worker_leaves_when_its_parent_is_killed() -> None:
    """A parent killed with SIGKILL (a daemon stopped hard) leaves no waiting worker behind: the forked
    worker closed its copy of the parent's end of the pipe, so the parent's death is an end of file."""
    code = ("import os\nfrom tracker.workers import Extractors\nex = Extractors(1, 5)\nex.start_early()\n"
            "[w] = ex._idle\nprint(w.process.pid, flush=True)\nos.kill(os.getpid(), 9)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    pid = int(p.stdout.split()[0])
    for _ in range(100):  # it leaves at once; the loop only waits for the scheduler
        try:
            state = open(f"/proc/{pid}/status").read().split("State:")[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.1)
    pytest.fail(f"worker {pid} still running after its parent was killed")
