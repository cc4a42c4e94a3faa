"""Run the reliability suite (tests/reliability) and print its figures.

    python bench/reliability.py            # table
    python bench/reliability.py --json     # the figures as JSON (for the README or CI)

Figures: cases tried, false changes, false versions, lost versions, lock errors, broken feed files,
executable constructs in outputs, per part (faults, crash, concurrency, hostile). The tests assert
the zeros; this script only collects and prints what they measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_ENV = "POLICY_TRACKER_RELIABILITY_OUT"


def run_suite(extra: list[str]) -> tuple[dict, int, float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = dict(os.environ, **{OUT_ENV: str(out)})
        t = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability",
                            *extra], cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.monotonic() - t
        figures = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    tail = [line for line in p.stdout.splitlines() if line.strip()][-1:] or [""]
    return figures, p.returncode, took, tail[0]


def rows(f: dict) -> list[dict]:
    """One row per part, same columns: what was tried and what went wrong."""
    out = []
    if "faults" in f:
        s = f["faults"]["summary"]
        out.append({"part": "fault matrix", "cases": s["cases"], "passed": s["passed"],
                    "false_changes": s["false_changes"], "false_versions": s["false_versions"],
                    "lost_versions": s["lost_versions"], "lock_errors": "-",
                    "note": f"429: {s['requests_429']} requests; RSS {s['peak_rss_mb_all_good']} -> "
                            f"{s['peak_rss_mb_50mb_bodies']} MB with 50 MB bodies"})
    if "crash" in f:
        s = f["crash"]["summary"]
        out.append({"part": "SIGKILL check/run", "cases": s["kills"], "passed": s["kills"] - min(s["kills"], s[
            "store_problems"] + s["broken_feed_files"]), "false_changes": "-",
                    "false_versions": s["duplicate_versions"], "lost_versions": s["lost_versions"],
                    "lock_errors": "-", "note": f"{s['cycles']} runs, {s['versions']} versions, "
                                                f"{s['broken_feed_files']} broken feed files"})
    if "concurrency" in f:
        s = f["concurrency"]["summary"]
        out.append({"part": "concurrency", "cases": s["processes"], "passed": s["processes"] - s["failed_processes"],
                    "false_changes": "-", "false_versions": s["duplicate_versions"], "lost_versions": "-",
                    "lock_errors": s["lock_errors"],
                    "note": f"daemon + {s['processes'] - 1} CLI processes, {s['daemon_checks']} daemon checks "
                            f"in {s['seconds']:.0f} s"})
    if "hostile" in f:
        s = f["hostile"]["summary"]
        n = len(f["hostile"]["rows"])
        out.append({"part": "hostile content", "cases": n, "passed": n if not s["executable_constructs"] else "-",
                    "false_changes": "-", "false_versions": "-", "lost_versions": "-", "lock_errors": "-",
                    "note": f"{s['output_files_parsed']} outputs parsed, {s['executable_constructs']} executable, "
                            f"{s['invalid_outputs']} invalid, {s['files_written_outside_feeds']} files outside feeds/"})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. -k faults)")
    args = ap.parse_args()
    figures, code, took, tail = run_suite(args.pytest_args)
    if args.json:
        print(json.dumps({"pytest_exit": code, "seconds": round(took, 1), "result": tail, "parts": rows(figures),
                          "figures": figures}, indent=2, ensure_ascii=False))
        return code
    sys.path.insert(0, str(ROOT / "tests" / "reliability"))
    from figures import table

    print(table(rows(figures), ["part", "cases", "passed", "false_changes", "false_versions", "lost_versions",
                                "lock_errors", "note"]))
    if "faults" in figures:
        print()
        print(table(figures["faults"]["rows"], ["fault", "outcome", "false_versions", "false_changes", "recovered"]))
    print(f"\npytest: {tail} ({took:.0f} s, exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
