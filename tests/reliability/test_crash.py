"""Crash safety: SIGKILL `check` and `run` at random moments, many times; nothing is lost or half-written.

Pages keep changing underneath (a thread rotates each document between variants with real clause
changes, with the odd 500 and truncated page), so kills land in fetches, in version/change commits
and in feed rebuilds. After every kill: ``PRAGMA integrity_check``, versions complete (text and
clauses, numbered 1..n, each with its change row), no duplicate versions, no committed version
lost, every feed file parseable. At the end ``history`` lists only complete versions and a normal
``check`` still works. Bounded to about 40 s (``CRASH_SECONDS``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from faultserver import FaultServer, policy_page
from figures import record, table
from invariants import check_feeds, check_store

from tracker.store.database import Store

pytestmark = pytest.mark.slow  # tens of seconds each: left out of the quick loop (-m "not slow")

CRASH_SECONDS = float(os.environ.get("POLICY_TRACKER_CRASH_SECONDS", "32"))
DOCS = 6
SENTENCES = [
    "We may use the content you post to train and improve our artificial intelligence models.",
    "We collect your precise location, even when the app is closed, to personalise advertising.",
    "We share your contact list with our advertising partners to suggest people you may know.",
    "We keep the voice recordings you send us for five years to improve speech recognition.",
    "You can ask us to delete your face geometry data at any time from the privacy settings.",
    "We do not sell your personal information to data brokers or other third parties.",
]


def variant(k: int) -> str:
    return policy_page(extra={"Your choices": [SENTENCES[k % len(SENTENCES)]],
                              "Retention": [f"Backups are kept for {k % 4 + 2} weeks and then destroyed."]})


class Rotator:
    """Changes every page every ``period`` seconds; sometimes a 500 or a truncated page instead."""

    def __init__(self, srv: FaultServer, paths: list[str], period: float = 0.6, seed: int = 7) -> None:
        self.srv, self.paths, self.period = srv, paths, period
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            for path in self.paths:
                roll = self.rng.random()
                fault = "status-500" if roll < 0.08 else "truncated-document" if roll < 0.14 else "ok"
                self.srv.set(path, fault, page=variant(self.rng.randrange(12)))

    def __enter__(self) -> Rotator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def version_counts(db) -> dict[int, int]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return dict(con.execute("SELECT document_id, COUNT(*) FROM versions GROUP BY document_id").fetchall())
    finally:
        con.close()


def kill_loop(ws, argv: list[str], seconds: float, delay: tuple[float, float], rng: random.Random,
              stats: dict, high_water: dict[int, int], min_kills: int = 0, max_cycles: int = 300,
              enough: Callable[[dict], bool] = lambda counts: True) -> None:
    """Start ``argv`` again and again, SIGKILL it after a random delay, check the invariants each time.

    It goes on for ``seconds`` and then, bounded by ``max_cycles`` runs, until ``min_kills`` runs were
    killed and ``enough`` is true of the stored version counts; while it is not, after ``seconds``, the
    delays grow by half each cycle (a loaded machine may start a process slower than the shortest
    delay, so that every run dies before it stores anything). So neither the kills nor the progress
    between them depend on how fast or busy the machine is."""
    end = time.monotonic() + seconds
    lo, hi = delay

    def progress() -> bool:
        return enough(version_counts(ws.db) if ws.db.exists() else {})

    while (time.monotonic() < end or stats["kills"] < min_kills or not progress()) and stats["cycles"] < max_cycles:
        if time.monotonic() >= end and not progress():
            lo, hi = min(lo * 1.5, 30.0), min(hi * 1.5, 60.0)
        delay = (lo, hi)
        p = subprocess.Popen([sys.executable, "-m", "tracker", *argv], env=ws.env(), cwd=ws.root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            p.wait(timeout=rng.uniform(*delay))
            stats["finished"] += 1  # it ended before the kill
            err = p.stderr.read().decode("utf-8", "replace")
            if p.returncode not in (0, 3):  # 3: a document failed (a page caught mid-change)
                stats["errors"].append(f"{argv[0]} exit {p.returncode}: {err.strip()[-300:]}")
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            stats["kills"] += 1
        p.stderr.close()
        stats["cycles"] += 1
        s = check_store(ws.db) if ws.db.exists() else None
        if s is not None:
            stats["problems"] += s.problems
            for doc, n in version_counts(ws.db).items():
                if n < high_water.get(doc, 0):
                    stats["lost_versions"] += high_water[doc] - n
                high_water[doc] = max(high_water.get(doc, 0), n)
        f = check_feeds(ws.feeds)
        stats["feed_files_checked"] += f.files
        stats["broken_feeds"] += f.broken


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> dict:
    from helpers import Workspace

    ws = Workspace(tmp_path_factory.mktemp("crash"))
    ws.policies.mkdir()
    rng = random.Random(int(os.environ.get("POLICY_TRACKER_CRASH_SEED", "20260105")))
    results: dict = {}
    high_water: dict[int, int] = {}
    with FaultServer() as srv:
        paths = [f"/doc{i}" for i in range(DOCS)]
        for i, path in enumerate(paths):
            url = srv.add(path, variant(i))
            ws.declare(f"Crash {i}", url, select=["#policy"], interval="1s")
        with Rotator(srv, paths):
            for name, argv, share, delay, min_kills in (
                ("check", ["check", "--jobs", "6", "--per-host", "6", "-q"], 0.5, (0.2, 1.6), 5),
                ("run", ["run", "--jobs", "4", "--host-delay", "0", "--jitter", "0", "--poll", "0.5", "-q"], 0.5,
                 (0.8, 4.0), 3),
            ):
                stats = {"cycles": 0, "kills": 0, "finished": 0, "errors": [], "problems": [], "lost_versions": 0,
                         "feed_files_checked": 0, "broken_feeds": []}
                # progress wanted between the kills: a version stored by the checks, and by the end of the
                # daemon's turn a version of every document and at least one change
                kill_loop(ws, argv, CRASH_SECONDS * share, delay, rng, stats, high_water, min_kills,
                          enough=(lambda c: sum(c.values()) > 0) if name == "check"
                          else (lambda c: len(c) == DOCS and sum(c.values()) > DOCS))
                results[name] = stats
        # afterwards: stable good pages, one normal check
        for path in paths:
            srv.set(path, "ok", page=variant(99))
        final = ws.run("check", "--json", "--jobs", "6", "--per-host", "6")
        results["final_check"] = {"code": final.code, "err": final.err[-500:],
                                  "states": sorted(o["state"] for o in final.json_lines()) if final.code == 0 else []}
    hist_problems = []
    listed = 0
    con = Store(ws.db)  # versions as the tracker reads them (whole or through deltas)
    for i in range(DOCS):
        h = ws.run("history", f"Crash {i}", "--json")
        if h.code != 0:
            hist_problems.append(f"history Crash {i}: {h.err.strip()}")
            continue
        for item in h.json():
            listed += 1
            doc = con.document(f"Crash {i}", item["type"])
            v = con.version_by_number(doc.id, item["version"]) if doc else None
            if v is None or not v.text.strip() or not v.clauses:
                hist_problems.append(f"Crash {i} v{item['version']} listed but incomplete")
    con.close()
    store = check_store(ws.db)
    feeds = check_feeds(ws.feeds)
    results.update(history_listed=listed, history_problems=hist_problems, store=store.__dict__ | {},
                   final_problems=store.problems, feeds_final={"files": feeds.files, "broken": feeds.broken,
                                                               "temporary": feeds.temporary})
    _report(results)
    return results


def _report(res: dict) -> None:
    rows = []
    for name in ("check", "run"):
        s = res[name]
        rows.append({"process": name, "cycles": s["cycles"], "kills": s["kills"], "finished": s["finished"],
                     "store_problems": len(s["problems"]), "lost_versions": s["lost_versions"],
                     "feed_files_checked": s["feed_files_checked"], "broken_feeds": len(s["broken_feeds"]),
                     "errors": len(s["errors"])})
    summary = {"kills": sum(r["kills"] for r in rows), "cycles": sum(r["cycles"] for r in rows),
               "versions": res["store"]["versions"], "changes": res["store"]["changes"],
               "history_listed": res["history_listed"],
               "lost_versions": sum(r["lost_versions"] for r in rows),
               "duplicate_versions": len(res["store"]["duplicates"]),
               "store_problems": sum(r["store_problems"] for r in rows) + len(res["final_problems"]),
               "broken_feed_files": sum(r["broken_feeds"] for r in rows) + len(res["feeds_final"]["broken"]),
               "leftover_temp_files": res["feeds_final"]["temporary"],
               "final_check": res["final_check"]["states"]}
    sys.stderr.write("\n\nCRASH (SIGKILL)\n" + table(rows, list(rows[0])) + "\n" + json.dumps(summary) + "\n")
    record("crash", {"summary": summary, "rows": rows,
                     "details": {k: (v["errors"][:5] + v["problems"][:5] + v["broken_feeds"][:5])
                                 for k, v in res.items() if k in ("check", "run")}})


def test_kills_happened(crashed: dict) -> None:
    assert crashed["check"]["kills"] >= 5 and crashed["run"]["kills"] >= 3, crashed
    assert crashed["store"]["versions"] > DOCS  # the pages really changed while processes died


@pytest.mark.parametrize("process", ["check", "run"])
def test_store_consistent_after_every_kill(crashed: dict, process: str) -> None:
    s = crashed[process]
    assert s["problems"] == [], s["problems"][:10]
    assert s["lost_versions"] == 0


@pytest.mark.parametrize("process", ["check", "run"])
def test_feeds_always_parse(crashed: dict, process: str) -> None:
    assert crashed[process]["broken_feeds"] == [], crashed[process]["broken_feeds"][:5]
    assert crashed["feeds_final"]["broken"] == []


@pytest.mark.parametrize("process", ["check", "run"])
def test_no_errors_when_not_killed(crashed: dict, process: str) -> None:
    assert crashed[process]["errors"] == [], crashed[process]["errors"][:5]


def test_history_lists_complete_versions(crashed: dict) -> None:
    assert crashed["history_problems"] == []
    assert crashed["final_problems"] == []
    assert crashed["history_listed"] == crashed["store"]["versions"]


def test_next_check_continues(crashed: dict) -> None:
    fc = crashed["final_check"]
    assert fc["code"] == 0, fc["err"]
    assert set(fc["states"]) <= {"changed", "unchanged"} and len(fc["states"]) == DOCS, fc
