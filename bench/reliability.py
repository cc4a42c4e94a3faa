"""Run the reliability suite (tests/reliability) and print its figures.

    python bench/reliability.py            # table
    python bench/reliability.py --json     # the figures as JSON (for the README or CI)

Figures: cases tried, false changes, false versions, lost versions, lock errors, broken feed files,
executable constructs in outputs, per part (faults, crash, concurrency, hostile); then issue 19's
cases that are not network faults (pages that are not the policy, declarations, feeds folder
identity, names, escaping, flapping, doctor), one row per case from its tests; and the slow-selector
timing. The tests assert the zeros; this script only collects and prints what they measured.
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
                            f"{s['peak_rss_mb_50mb_bodies']} MB with 50 MB bodies; tarpit: check --timeout "
                            f"{s.get('tarpit_timeout_s', '?')} took {s.get('tarpit_check_s', '?')} s; slow selector: check "
                            f"--extract-timeout {s.get('extract_timeout_s', '?')} took "
                            f"{s.get('slow_selector_check_s', '?')} s"})
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


# Issue 19's cases that are not network faults: each is tested with real CLI runs in these tests;
# this script runs them and reports one row per case.
CASES_19 = [
    ("consent wall instead of the policy", "tests/test_not_the_policy.py", "consent_wall"),
    ("redirect to another site's long login page", "tests/test_not_the_policy.py", "login"),
    ("policy in another language (declared / stored)", "tests/test_not_the_policy.py", "language"),
    ("half the page, closing tags intact", "tests/test_not_the_policy.py", "half_the_page"),
    ("a real change still recorded", "tests/test_not_the_policy.py", "real_change or cookie_banner"),
    ("slow selector (20 x `~`, 8,000 elements)", "tests/test_not_the_policy.py", "pathological or split"),
    ("extraction deadline (a selector running for hours in libxml2): check, --dry-run, daemon",
     "tests/test_extract_deadline.py", ""),
    ("database errors: full disk, read-only file/folder, locked, not a database, zeroed or truncated; "
     "never created by diff/show/history", "tests/test_database_errors.py", ""),
    ("nested TOML, BOM, size limits", "tests/test_declaration_limits.py", "nest or nested or bom or byte_order or size"),
    ("credentials in a declared URL", "tests/test_declaration_limits.py", "credentials"),
    ("metadata and private addresses", "tests/test_fetch_policy.py", "metadata or loopback or private"),
    ("--allow-private on check, run, add", "tests/test_allow_private_flag.py", ""),
    ("new/empty database over published feeds", "tests/test_feeds_identity.py", "database or rebuild or zero"),
    ("name collision keeps file names", "tests/test_feeds_identity.py", "slugs"),
    ("bad declaration named in status.atom and list", "tests/test_feeds_identity.py", "bad_declaration"),
    ("control characters in output", "tests/test_output_escaping.py", ""),
    ("flapping: one broken, one recovered", "tests/test_feeds.py", "flaps or status_feed"),
    ("doctor", "tests/test_doctor.py", ""),
]


def run_cases_19() -> list[dict]:
    """Run each case's tests; one row per case: tests passed out of run."""
    import xml.etree.ElementTree as ET

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (case, path, select) in enumerate(CASES_19):
            xml = Path(tmp) / f"{i}.xml"
            args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path, f"--junitxml={xml}"]
            if select:
                args += ["-k", select]
            subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
            tests = failed = 0
            if xml.exists():
                for suite in ET.parse(xml).getroot().iter("testsuite"):
                    tests += int(suite.get("tests", 0)) - int(suite.get("skipped", 0))
                    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            out.append({"case": case, "tests": tests, "passed": tests - failed,
                        "result": "ok" if tests and not failed else "FAILED"})
    return out


def selector_figures() -> dict:
    """The slow-selector case measured: ``div ~ div ~ ...`` on a page of sibling divs."""
    sys.path.insert(0, str(ROOT))
    from tracker.text.select import Page

    html = "<html><body><main>" + "".join(f"<div><p>clause {i}</p></div>" for i in range(4000)) + "</main></body></html>"
    page = Page(html)  # 8,000 elements
    figures = {}
    for steps in (2, 20):
        t = time.perf_counter()
        found = page.select(" ~ ".join(["div"] * steps))
        figures[f"select_{steps}_steps_ms"] = round((time.perf_counter() - t) * 1000, 1)
        figures[f"select_{steps}_steps_matched"] = len(found)
    t = time.perf_counter()  # a selector only soupsieve reads, 20 steps, matching nothing
    page.select("section ~ " + " ~ ".join(["div"] * 19) + ":has(p)")
    figures["select_has_20_steps_ms"] = round((time.perf_counter() - t) * 1000, 1)
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--no-cases", action="store_true", help="skip issue 19's per-case tests (faster)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. -k faults)")
    args = ap.parse_args()
    figures, code, took, tail = run_suite(args.pytest_args)
    cases = [] if args.no_cases else run_cases_19()
    selector = selector_figures()
    code = code or int(any(c["result"] != "ok" for c in cases))
    if args.json:
        print(json.dumps({"pytest_exit": code, "seconds": round(took, 1), "result": tail, "parts": rows(figures),
                          "cases": cases, "selector": selector, "figures": figures}, indent=2, ensure_ascii=False))
        return code
    sys.path.insert(0, str(ROOT / "tests" / "reliability"))
    from figures import table

    print(table(rows(figures), ["part", "cases", "passed", "false_changes", "false_versions", "lost_versions",
                                "lock_errors", "note"]))
    if "faults" in figures:
        print()
        print(table(figures["faults"]["rows"], ["fault", "outcome", "false_versions", "false_changes", "recovered"]))
    if cases:
        print()
        print(table(cases, ["case", "tests", "passed", "result"]))
    print(f"\nselector div ~ div (2 steps) on 8,000 elements: {selector['select_2_steps_ms']} ms; "
          f"20 steps: {selector['select_20_steps_ms']} ms ({selector['select_20_steps_matched']} matched); "
          f"20 steps ending in :has(p), no match (soupsieve): {selector['select_has_20_steps_ms']} ms")
    print(f"\npytest: {tail} ({took:.0f} s, exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
