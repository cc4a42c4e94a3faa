"""Figures shared by the reliability tests: a printed table and a JSON file for bench/reliability.py.

Each test module records one section; when ``POLICY_TRACKER_RELIABILITY_OUT`` names a file, the
sections are merged into it (tests run one after another in one pytest process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

OUT_ENV = "POLICY_TRACKER_RELIABILITY_OUT"


def record(section: str, data: dict) -> None:
    """Merge ``data`` under ``section`` into the JSON file named by the environment, if any."""
    target = os.environ.get(OUT_ENV)
    if not target:
        return
    path = Path(target)
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        current = {}
    current[section] = data
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(current, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain fixed-width table (no colours: it ends up in logs and in the README)."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


@dataclass
class Measured:
    code: int
    out: str
    err: str
    peak_rss_kb: int  # the child's own peak resident set size (getrusage of exactly that child)


def run_measured(ws, *args: str, timeout: float = 120) -> Measured:
    """Run the CLI like ``ws.run`` and report the peak RSS of that one process (os.wait4)."""
    out_path, err_path = ws.root / ".measured.out", ws.root / ".measured.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen([sys.executable, "-m", "tracker", *args], stdout=out, stderr=err, env=ws.env(),
                             cwd=ws.root)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    return Measured(p.returncode, out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8"),
                    int(usage.ru_maxrss))
