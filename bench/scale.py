"""How policy-tracker scales with the number of watched documents.

For N = 200, 1,000, 5,000 (and 10,000 with ``--big``): a seed cycle, then an unchanged cycle (all 304) and
a 1%-changed cycle, each as a whole `policy-tracker check` child process. Reported: wall time, peak RSS,
database size, and the bytes an unchanged check adds to the database (growth of the used pages of the
SQLite file during the unchanged cycle, divided by N). The floor (bench/floor.py) is run on the unchanged
cycle as a reference for what the network and interpreter cost alone.

    python bench/scale.py [--sizes 200,1000,5000] [--big] [--json] [--no-floor]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, TRACKER, VENV_PY, dump_json, note, run_measured, table  # noqa: E402
from corpus import Corpus, CorpusServer, write_policies  # noqa: E402
from cycle import tracker_available, tracker_jobs_default  # noqa: E402


def db_bytes(db: Path) -> tuple[int, int]:
    """(bytes on disk of the db and its -wal/-shm files, bytes in used pages)."""
    disk = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size, pages, free = (con.execute(f"PRAGMA {p}").fetchone()[0]
                                  for p in ("page_size", "page_count", "freelist_count"))
    finally:
        con.close()
    return disk, (pages - free) * page_size


def measure(n: int, seed: int, jobs: int | None, floor: bool, hosts: int) -> dict:
    work = OUT / "scale" / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    note(f"N={n}: generating corpus ...")
    corpus = Corpus(n, seed)
    row: dict = {"n": n, "hosts": hosts}
    with CorpusServer(corpus, hosts=hosts) as srv:
        policies = write_policies(corpus, srv.urls(), work / "policies")
        db, feeds = work / "tracker.db", work / "feeds"
        feeds.mkdir()
        cmd = [str(TRACKER), "--db", str(db), "--policies", str(policies), "--feeds", str(feeds), "check"]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        for phase in ("seed", "unchanged", "changed_1pct"):
            if phase == "changed_1pct":
                corpus.mutate(changed=0.01, date_only=0.0, seed=seed + 1)
            before = db_bytes(db) if db.exists() else (0, 0)
            srv.take_stats()
            run = run_measured(cmd, log=work / phase, timeout=7200)
            stats = srv.take_stats()
            after = db_bytes(db) if db.exists() else (0, 0)
            row[phase] = {"wall_s": round(run.wall, 3), "rss_mb": round(run.rss_mb, 1), "rc": run.rc,
                          "cpu_s": round(run.user + run.sys, 2), "served": stats,
                          "db_disk": after[0], "db_used": after[1], "db_used_added": after[1] - before[1]}
            note(f"N={n} {phase:13s} {run.wall:8.2f} s {run.rss_mb:7.1f} MB  db {after[0] / 1e6:8.2f} MB  "
                 f"{stats} rc={run.rc}")
            if run.rc:
                note("  stderr: " + run.stderr.strip()[-600:])
        row["bytes_per_unchanged_check"] = round(row["unchanged"]["db_used_added"] / n, 1)
        if floor:
            url_file = work / "urls.txt"
            url_file.write_text("\n".join(srv.urls()) + "\n")
            fcmd = [str(VENV_PY), str(Path(__file__).with_name("floor.py")), "--urls", str(url_file),
                    "--state", str(work / "floor.json"), "--jobs", str(jobs or tracker_jobs_default())]
            run_measured(fcmd, log=work / "floor-seed", timeout=7200)
            corpus.reset()  # floor state predates the mutation; reset so the next cycle is all-304 for it
            run_measured(fcmd, log=work / "floor-reseed", timeout=7200)
            run = run_measured(fcmd, log=work / "floor-unchanged", timeout=7200)
            row["floor_unchanged"] = {"wall_s": round(run.wall, 3), "rss_mb": round(run.rss_mb, 1)}
    return row


def render(rows: list[dict]) -> str:
    headers = ["N", "seed s", "unchanged s", "1%-changed s", "floor unch. s", "peak MB", "DB MB",
               "B/unchanged check"]
    body = []
    for r in rows:
        peak = max(r[p]["rss_mb"] for p in ("seed", "unchanged", "changed_1pct"))
        body.append([r["n"], r["seed"]["wall_s"], r["unchanged"]["wall_s"], r["changed_1pct"]["wall_s"],
                     r.get("floor_unchanged", {}).get("wall_s"), peak,
                     round(r["changed_1pct"]["db_disk"] / 1e6, 2), r["bytes_per_unchanged_check"]])
    lines = [table(headers, body), ""]
    by_n = {r["n"]: r for r in rows}
    peak = {n: max(r[p]["rss_mb"] for p in ("seed", "unchanged", "changed_1pct")) for n, r in by_n.items()}
    if 200 in peak and 5000 in peak:
        growth = peak[5000] - peak[200]
        lines.append(f"  [{'PASS' if growth <= 50 else 'MISS'}] peak RSS growth N=200 -> 5,000 <= 50 MB: {growth:.1f}")
    if 10000 in by_n:
        w = by_n[10000]["unchanged"]["wall_s"]
        lines.append(f"  [{'PASS' if w <= 60 else 'MISS'}] 10,000 unchanged documents <= 60 s: {w:.1f}")
    worst = max(r["bytes_per_unchanged_check"] for r in rows)
    lines.append(f"  [{'PASS' if worst <= 200 else 'MISS'}] an unchanged check adds <= 200 bytes: {worst:.0f}")
    failed = [(r["n"], p) for r in rows for p in ("seed", "unchanged", "changed_1pct") if r[p]["rc"]]
    if failed:
        lines.append(f"  failed runs (nonzero exit): {failed}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200,1000,5000")
    ap.add_argument("--big", action="store_true", help="add N=10,000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--hosts", type=int, default=50, help="loopback addresses the pages are spread over")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not tracker_available():
        sys.exit("policy-tracker check is not available (.venv/bin/policy-tracker check --help failed)")
    sizes = [int(s) for s in args.sizes.split(",")] + ([10_000] if args.big else [])
    rows = [measure(n, args.seed, args.jobs, not args.no_floor, args.hosts) for n in sizes]
    dump_json(rows, OUT / "scale.json")
    print(dump_json(rows) if args.json else render(rows))


if __name__ == "__main__":
    main()
