"""Where policy-tracker's time goes in each cycle: py-spy over the real `check` child process.

Runs the seed / changed / unchanged cycles of bench/cycle.py for policy-tracker only, each under
``py-spy record --subprocesses`` (Python stacks of every thread of the command and of its extraction
worker processes, idle threads excluded), and prints for each
cycle the share of samples in the tracker functions and libraries that matter. py-spy is a dev tool:
``.venv/bin/pip install py-spy``. Raw collapsed stacks are kept in bench/out/profile/ for flame graphs.

    python bench/profile.py [--n 200] [--hosts 50] [--rate 250]
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, ROOT, TRACKER, compile_tracker, note, run_measured  # noqa: E402
from corpus import Corpus, CorpusServer, write_policies  # noqa: E402
from cycle import CHANGED, DATE_ONLY, PHASES  # noqa: E402

PYSPY = ROOT / ".venv" / "bin" / "py-spy"
KEEP = re.compile(r"tracker/|bs4/|lxml|sqlite|soupsieve|rapidfuzz|feedgen|requests/|urllib3/|click/")


def summarise(raw: Path, top: int) -> tuple[int, list[tuple[float, str]], list[tuple[float, str]]]:
    """(samples, inclusive shares of interesting frames, self shares) from py-spy's raw output."""
    incl: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")[1:]]
        if frames:
            self_[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    pick = [(100 * v / total, k) for k, v in incl.most_common() if KEEP.search(k)][:top]
    return total, pick, [(100 * v / total, k) for k, v in self_.most_common(10)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--rate", type=int, default=250)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not PYSPY.exists():
        sys.exit("py-spy is missing: .venv/bin/pip install py-spy")
    compile_tracker()
    work = OUT / "profile"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    corpus = Corpus(args.n, args.seed)
    with CorpusServer(corpus, hosts=args.hosts) as srv:
        policies = write_policies(corpus, srv.urls(), work / "policies")
        for phase in PHASES:
            if phase == "changed":
                corpus.mutate(CHANGED, DATE_ONLY, seed=args.seed + 1)
            raw = work / f"{phase}.txt"
            plain = run_measured([str(TRACKER), "--db", str(work / "t.db"), "--policies", str(policies), "--feeds",
                                  str(work / "feeds"), "check", "--quiet"], log=work / f"{phase}-plain")
            # the profiled run keeps its own database (p.db), so both runs see the same cycle
            run = run_measured([str(PYSPY), "record", "--subprocesses", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--",
                                str(TRACKER), "--db", str(work / "p.db"), "--policies", str(policies), "--feeds",
                                str(work / "pfeeds"), "check", "--quiet"], log=work / phase)
            total, incl, self_ = summarise(raw, args.top)
            print(f"\n== {phase} cycle: {plain.wall:.2f} s wall, {plain.user + plain.sys:.2f} s CPU unprofiled; "
                  f"{total} samples under py-spy ({run.wall:.2f} s)")
            for share, name in incl:
                print(f"  {share:5.1f}%  {name}")
            print("  -- hottest frames (self):")
            for share, name in self_:
                print(f"  {share:5.1f}%  {name}")
    note(f"raw stacks in {work}")


if __name__ == "__main__":
    main()
