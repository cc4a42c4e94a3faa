"""Shared bench code: run a command as a child and measure it, medians, tables, JSON.

Every tool is measured the same way, as a whole process: wall time from spawn to exit, and peak RSS.
Peak RSS comes from two sources and the larger wins: the child's maximum resident set size as
``/usr/bin/time`` reports it (``%M``: exact, the largest single process of the tree) and a 20 Hz sample of
the summed RSS of the child and all its descendants (catches process pools and browsers, which ``%M``
under-counts).

Why /usr/bin/time and not ``os.wait4`` directly: a child forked from this harness inherits, in its
``ru_maxrss``, the RSS of the harness image it was forked from (Linux keeps the pre-exec high-water mark),
and the harness holds the whole corpus in memory; ``time`` is a small process, so its child's figure is the
tool's own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
VENV_PY = ROOT / ".venv" / "bin" / "python"
TRACKER = ROOT / ".venv" / "bin" / "policy-tracker"
TIME = "/usr/bin/time"


@dataclass
class Run:
    """One measured child process."""

    cmd: list[str]
    wall: float  # seconds
    maxrss_mb: float  # ru_maxrss of the child tree's largest process
    tree_rss_mb: float  # sampled peak of the summed RSS of the process tree
    user: float
    sys: float
    rc: int
    stdout: str
    stderr: str

    @property
    def rss_mb(self) -> float:
        return max(self.maxrss_mb, self.tree_rss_mb)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def _tree_rss_kb(root: int) -> int:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kb(pid)
        stack.extend(_children(pid))
    return total


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 3600, log: Path | None = None) -> Run:
    """Spawn ``cmd``, wait with ``os.wait4`` and return wall time, peak RSS and output.

    Output goes to temporary files (never pipes, which could block the child) and is read back.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    log = log or OUT / "last-run"
    log.parent.mkdir(parents=True, exist_ok=True)
    # The corpus is served on 127.0.0.x, which the fetch policy refuses unless private addresses are allowed.
    full_env = {**os.environ, "POLICY_TRACKER_ALLOW_PRIVATE": "1", **(env or {})}
    timefile = Path(f"{log}.time")
    timefile.unlink(missing_ok=True)
    argv = [str(c) for c in cmd]
    wrapped = Path(TIME).exists()
    if wrapped:
        argv = [TIME, "-q", "-o", str(timefile), "-f", "%M %U %S", *argv]
    with open(f"{log}.stdout", "wb") as out, open(f"{log}.stderr", "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                # the root is `time` (or, for a few ms, a fork of this harness): count its descendants only
                tree = _tree_rss_kb(proc.pid) - _rss_kb(proc.pid) if wrapped else _tree_rss_kb(proc.pid)
                peak[0] = max(peak[0], tree)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss_kb, user, sys_ = 0.0, ru.ru_utime, ru.ru_stime
    try:
        fields = timefile.read_text().split()[-3:]
        maxrss_kb, user, sys_ = float(fields[0]), float(fields[1]), float(fields[2])
    except (OSError, ValueError, IndexError):
        note(f"no /usr/bin/time figures for {argv[0]}; peak RSS from sampling only")
    return Run(cmd=[str(c) for c in cmd], wall=wall, maxrss_mb=maxrss_kb / 1024, tree_rss_mb=peak[0] / 1024,
               user=user, sys=sys_, rc=proc.returncode,
               stdout=Path(f"{log}.stdout").read_text(errors="replace"),
               stderr=Path(f"{log}.stderr").read_text(errors="replace"))


def compile_tracker() -> None:
    """Byte-compile the tracker package before timing it, as ``pip install`` does for every package.

    An editable install compiles its modules on first import and caches the bytecode, unless
    PYTHONDONTWRITEBYTECODE is set (it is on some CI machines and sandboxes): then every run would
    compile ~30 modules from source (~0.1 s), a cost urlwatch, installed from a wheel, never pays.
    """
    subprocess.run([str(VENV_PY), "-m", "compileall", "-q", str(ROOT / "tracker")], check=False,
                   stdout=subprocess.DEVNULL)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or a != a or b != b:
        return None
    return a / b


def fmt(v: object, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.{digits}f}"
    return str(v)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table, so the output can be pasted into the README."""
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


def dump_json(data: object, path: Path | None = None) -> str:
    text = json.dumps(data, indent=2, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return text


def note(msg: str) -> None:
    """Progress to stderr, so that ``--json`` stdout stays clean."""
    print(msg, file=sys.stderr, flush=True)


def dir_size(path: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in path.glob(pattern) if p.is_file())
