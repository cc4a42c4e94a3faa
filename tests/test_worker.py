"""tracker.worker: extraction in real child processes gives exactly the in-process result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pages import policy_html

from tracker.models import Document
from tracker.text.page import extract_checked, extract_packed
from tracker.worker import ALLOWED, EARLY_START, Workers, _allowed, early_workers

DOC = Document(service="Example", type="Privacy Policy", url="https://example.com/privacy", select=("main",))


def args(i: int = 0) -> tuple:
    doc = DOC
    body = policy_html({"Your choices": [f"Setting number {i} controls how we contact you."]}).encode()
    return (doc, body, "utf-8", "text/html; charset=utf-8", doc.url, None, 0)


@pytest.fixture
def workers():
    w = Workers(1, start_after=0)
    yield w
    w.close()


def test_a_child_extracts_exactly_what_the_process_does(workers: Workers) -> None:
    for i in range(3):
        remote = workers.run(extract_checked, *args(i))
        assert remote == extract_checked(*args(i))
        assert remote[0] is None and len(remote[3].clauses) > 5
    assert workers.remote == 3 and workers.local == 0 and len(workers.children) == 1


def test_a_child_packs_the_version_exactly_as_the_process_does(workers: Workers) -> None:
    state, _, _, packed = workers.run(extract_packed, *args(7))
    assert state is None and workers.remote == 1
    assert (state, None, None, packed) == extract_packed(*args(7))
    extracted = extract_checked(*args(7))[3]
    assert packed.decode_clauses() == extracted.clauses and packed.sha256 and packed.length == len(extracted.text)


def test_an_exception_in_the_child_is_raised_here_as_in_process(workers: Workers) -> None:
    bad = (None, *args()[1:])  # no declaration: extract_checked raises AttributeError
    with pytest.raises(AttributeError):
        extract_checked(*bad)
    with pytest.raises(AttributeError):
        workers.run(extract_checked, *bad)
    assert workers.run(extract_checked, *args(1)) == extract_checked(*args(1))  # the child is still there
    assert workers.remote == 1 and not workers.broken


def test_a_dead_child_means_in_process_work_not_a_failed_check(workers: Workers) -> None:
    workers.run(extract_checked, *args(0))
    child = workers.children[0]
    child.proc.kill()
    child.proc.wait()
    assert workers.run(extract_checked, *args(1)) == extract_checked(*args(1))
    assert workers.broken and not workers.children
    assert workers.run(extract_checked, *args(2)) == extract_checked(*args(2))
    assert workers.local == 1  # after the death, in-process (the retry of the dead call is not counted)


def test_children_start_only_after_enough_pages_and_only_for_known_functions() -> None:
    w = Workers(1, start_after=2)
    try:
        for i in range(2):
            w.run(extract_checked, *args(i))
        assert not w.children and w.local == 2
        w.run(extract_checked, *args(3))
        assert len(w.children) == 1 and w.remote == 1
        assert w.run(len, "abc") == 3 and w.local == 3  # not an allowed function: in-process
    finally:
        w.close()


def test_a_child_started_ahead_is_used_before_start_after_pages() -> None:
    w = Workers(2, start_after=100)
    try:
        w.start(1)
        assert len(w.children) == 1
        for i in range(3):
            assert w.run(extract_checked, *args(i)) == extract_checked(*args(i))
        assert w.remote == 3 and w.local == 0 and len(w.children) == 1  # no second child below start_after
    finally:
        w.close()


def _gone(pid: int, timeout: float = 3.0, zombie_ok: bool = False) -> bool:
    """The process has ended and been reaped by whoever started it (or, with ``zombie_ok``, only ended)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not Path("/proc/self").exists():
                os.kill(pid, 0)
                state = "R"
            else:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if zombie_ok and state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_early_workers_start_one_child_for_a_big_watch_list_and_all_on_a_first_run() -> None:
    assert early_workers(EARLY_START - 1, first_run=True, processes=2) is None
    assert early_workers(EARLY_START, first_run=True, processes=0) is None
    for first_run, expected in ((False, 1), (True, 2)):
        pool = early_workers(EARLY_START, first_run=first_run, processes=2)
        try:
            assert pool is not None and len(pool.children) == expected and len(pool.idle) == expected
            started = pool.children[0]
            # a later run will diff changed pages in the child: it loads those stages at start
            assert ("--analyse" in started.proc.args) == (not first_run)
            assert pool.run(extract_checked, *args(5)) == extract_checked(*args(5)) and pool.remote == 1
            pids = [c.proc.pid if hasattr(c, "proc") else c.pid for c in pool.children]
            assert len(set(pids)) == expected and all(not _gone(pid, 0) for pid in pids)
        finally:
            pool.close()
        assert all(_gone(pid) for pid in pids)  # closed at once, even while starting up


def test_closing_ends_the_children() -> None:
    w = Workers(2, start_after=0)
    w.run(extract_checked, *args(0))
    procs = [c.proc for c in w.children]
    w.close()
    assert procs and all(p.returncode is not None for p in procs)


LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="children fork siblings on Linux only")


@LINUX_ONLY
def test_a_started_child_forks_its_siblings_which_work_alike_and_end_with_it() -> None:
    """Two workers for the cost of one interpreter start: the second is forked by the first."""
    import threading

    w = Workers(3, start_after=100, patience=5.0)
    try:
        w.start(3)
        assert len(w.children) == 3 and sum(hasattr(c, "proc") for c in w.children) == 1
        siblings = [c for c in w.children if not hasattr(c, "proc")]
        zygote = next(c for c in w.children if hasattr(c, "proc"))
        assert len({s.pid for s in siblings} | {zygote.proc.pid}) == 3
        results: list = []
        threads = [threading.Thread(target=lambda i=i: results.append((i, w.run(extract_checked, *args(i)))))
                   for i in range(9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results, key=lambda r: r[0]) == [(i, extract_checked(*args(i))) for i in range(9)]
        assert w.remote == 9 and w.local == 0
        pids = [s.pid for s in siblings]
    finally:
        w.close()
    assert zygote.proc.returncode is not None and all(_gone(pid) for pid in pids)


@LINUX_ONLY
def test_a_dead_sibling_means_in_process_work() -> None:
    import signal

    w = Workers(2, start_after=100, patience=5.0)
    try:
        w.start(2)
        sibling = next(c for c in w.children if not hasattr(c, "proc"))
        os.kill(sibling.pid, signal.SIGKILL)
        assert _gone(sibling.pid, zombie_ok=True)  # its parent, the first child, reaps it when it ends
        for i in range(4):  # one of them meets the dead sibling: it is dropped, the page done here
            assert w.run(extract_checked, *args(i)) == extract_checked(*args(i))
        assert w.broken and w.local >= 1
    finally:
        w.close()


def test_the_parent_sends_pages_to_children_without_importing_extraction() -> None:
    code = ("import sys, tracker.worker as w; from tracker.models import Document; "
            "from pages import policy_html; pool = w.Workers(1, start_after=0); "
            "doc = Document(service='S', type='Privacy Policy', url='https://example.com/p', select=('main',)); "
            "body = policy_html({'Choices': ['You can opt out of marketing e-mails.']}).encode(); "
            "import types; fn = types.FunctionType((lambda: 0).__code__, {}, 'extract_packed'); "
            "fn.__module__ = 'tracker.text.page'; "
            "state, _, _, packed = pool.run(fn, doc, body, 'utf-8', 'text/html', doc.url, None, 0); pool.close(); "
            "print(state, pool.remote, packed.length > 0, sorted(m for m in ('tracker.text.page', 'tracker.text.html', 'tracker.text.normalise', "
            "'lxml.etree', 'tracker.analyse') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "None 1 True []"
    assert set(_allowed()) == set(ALLOWED) and all(f.__module__ == ALLOWED[n] for n, f in _allowed().items())


def test_a_child_imports_no_http_library_or_database() -> None:
    code = ("import sys, tracker.worker as w; w._allowed(); "
            "print(sorted(m for m in ('requests', 'urllib3', 'sqlite3', 'bs4', 'soupsieve', 'subprocess') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_packed_versions_cross_processes_as_bytes_and_keep_their_clauses_at_home() -> None:
    import pickle

    _, _, _, here = extract_packed(*args(3))
    clauses = extract_checked(*args(3))[3].clauses
    assert here.decode_clauses() == clauses and "_clauses" in here.__dict__
    there = pickle.loads(pickle.dumps(here))
    assert "_clauses" not in there.__dict__ and there == here and there.decode_clauses() == clauses


def test_warm_starts_every_child_at_once_and_pages_wait_for_a_busy_one() -> None:
    w = Workers(2, start_after=100, patience=5.0)
    try:
        w.warm()
        assert len(w.children) == 2 and len(w.idle) == 2 and w.start_after == 0
        import threading

        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(w.run(extract_checked, *args(i))))
                   for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 6 and w.remote == 6 and w.local == 0  # 6 pages, 2 children, all waited
    finally:
        w.close()


def test_a_cycle_through_children_stores_what_an_in_process_cycle_stores(tmp_path, httpserver) -> None:
    """run_cycle with a real server and SQLite file: the pages really go to the children."""
    import sqlite3

    from tracker.pipeline import run_cycle
    from tracker.store.database import Store

    docs = []
    for i in range(6):
        path = f"/p{i}"
        body = policy_html({"Your choices": [f"Setting number {i} controls how we contact you."]})
        httpserver.expect_request(path).respond_with_data(body, content_type="text/html")
        docs.append(Document(service=f"Service {i}", type="Privacy Policy", url=httpserver.url_for(path),
                             select=("main",)))
    stored = []
    for name, processes in (("children", 2), ("here", 0)):
        pool = Workers(processes, start_after=0)
        try:
            with Store(tmp_path / f"{name}.db") as store:
                outcomes = run_cycle(store, docs, workers=pool if processes else None, processes=0)
        finally:
            pool.close()
        assert [o.state for o in outcomes] == ["new"] * 6
        assert pool.remote == (6 if processes else 0)
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            stored.append(sorted(db.execute("SELECT d.service, v.sha256, v.text, v.clauses, s.body FROM versions v "
                                            "JOIN documents d ON d.id = v.document_id "
                                            "JOIN snapshots s ON s.sha256 = v.snapshot_sha256")))
    assert len(stored[0]) == 6 and stored[0] == stored[1]
