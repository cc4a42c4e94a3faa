"""Side-by-side cycle benchmark: policy-tracker vs urlwatch vs the fetch-and-parse floor (vs OTA).

One run, one local corpus (bench/corpus.py on 127.0.0.1), the same page history for every tool:

1. seed cycle: first check of N pages (all 200, everything parsed and stored);
2. changed cycle: 10% of pages had one clause edited/added/removed, 5% only a new "Last updated" date;
3. unchanged cycle: nothing changed (conditional GET answers 304 for all).

Each tool runs as a child process with fresh state per repetition; wall time and peak RSS are those of
the whole child (bench/common.py). Medians of ``--reps`` repetitions; tools are interleaved within a
repetition so that machine noise hits all of them alike.

    python bench/cycle.py --n 200 --reps 3 [--json] [--with-ota] [--tools policy-tracker,urlwatch,floor]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    OUT,
    TRACKER,
    VENV_PY,
    Run,
    compile_tracker,
    dump_json,
    median,
    note,
    ratio,
    run_measured,
    table,
)
from corpus import Corpus, CorpusServer, service_name, write_policies  # noqa: E402

PHASES = ("seed", "changed", "unchanged")
CHANGED, DATE_ONLY = 0.10, 0.05
URLWATCH_VENV = OUT / "urlwatch-venv"
OTA_DIR = OUT / "ota"
OTA_VERSION = "9.1.0"
DEFAULT_JOBS = 8  # used when `policy-tracker check --help` does not state its default

Cycle = Callable[[str], Run]


# --------------------------------------------------------------------------- policy-tracker

def tracker_jobs_default() -> int:
    """policy-tracker's default concurrency, read from its help, so the floor uses the same."""
    try:
        text = subprocess.run([str(TRACKER), "check", "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return DEFAULT_JOBS
    m = re.search(r"--jobs[^\n]*(?:\n(?!\s*-)[^\n]*)*", text)
    if m:
        d = re.search(r"default(?:s to|:)?\s*(\d+)", m.group(0))
        if d:
            return int(d.group(1))
    return DEFAULT_JOBS


def tracker_available() -> bool:
    """Whether ``policy-tracker check`` runs here; byte-compiles the package first (see compile_tracker)."""
    if not TRACKER.exists():
        return False
    compile_tracker()
    r = subprocess.run([str(TRACKER), "check", "--help"], capture_output=True, text=True)
    return r.returncode == 0


def make_tracker(work: Path, policies: Path, jobs: int | None) -> Cycle:
    work.mkdir(parents=True, exist_ok=True)
    db, feeds = work / "tracker.db", work / "feeds"
    feeds.mkdir(exist_ok=True)
    cmd = [str(TRACKER), "--db", str(db), "--policies", str(policies), "--feeds", str(feeds), "check"]
    if jobs:
        cmd += ["--jobs", str(jobs)]

    def cycle(phase: str) -> Run:
        return run_measured(cmd, log=work / phase)

    return cycle


# --------------------------------------------------------------------------- urlwatch

def ensure_urlwatch() -> Path:
    exe = URLWATCH_VENV / "bin" / "urlwatch"
    if not exe.exists():
        note("installing urlwatch into bench/out/urlwatch-venv ...")
        subprocess.run([sys.executable, "-m", "venv", str(URLWATCH_VENV)], check=True)
        subprocess.run([str(URLWATCH_VENV / "bin" / "pip"), "install", "-q", "urlwatch", "html2text", "cssselect"],
                       check=True)
    return exe


def write_urlwatch_jobs(corpus: Corpus, urls: list[str], folder: Path) -> Path:
    """urls.yaml as urlwatch users write it for policy pages: keep <main>, convert to text."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for i in range(corpus.n):
        docs.append(f'name: "{service_name(corpus, i)} Privacy Policy"\nurl: "{urls[i]}"\n'
                    "filter:\n  - css: main\n  - html2text\n")
    path = folder / "urls.yaml"
    path.write_text("---\n".join(docs))
    return path


def make_urlwatch(work: Path, urls: Path, exe: Path) -> Cycle:
    work.mkdir(parents=True, exist_ok=True)
    cfg = urls.parent / "urlwatch.yaml"
    if not cfg.exists():  # urlwatch writes its default config on first use; do it outside the timing
        subprocess.run([str(exe), "--urls", str(urls), "--config", str(cfg), "--hooks", str(urls.parent / "hooks.py"),
                        "--cache", str(urls.parent / "scratch.db"), "--list"], capture_output=True, check=True)
    cmd = [str(exe), "--urls", str(urls), "--config", str(cfg), "--hooks", str(urls.parent / "hooks.py"),
           "--cache", str(work / "cache.db")]

    def cycle(phase: str) -> Run:
        return run_measured(cmd, log=work / phase, env={"HOME": str(work)})

    return cycle


# --------------------------------------------------------------------------- floor

def make_floor(work: Path, urls: list[str], jobs: int) -> Cycle:
    work.mkdir(parents=True, exist_ok=True)
    url_file = work / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n")
    cmd = [str(VENV_PY), str(Path(__file__).with_name("floor.py")), "--urls", str(url_file),
           "--state", str(work / "state.json"), "--jobs", str(jobs)]

    def cycle(phase: str) -> Run:
        return run_measured(cmd, log=work / phase)

    return cycle


# --------------------------------------------------------------------------- Open Terms Archive

CHROMIUM_WRAPPER = '#!/bin/sh\nexec /usr/bin/chromium --no-sandbox "$@"\n'


def ensure_ota() -> Path:
    """npm install the engine in bench/out/ota (no browser download) and a chromium --no-sandbox wrapper."""
    OTA_DIR.mkdir(parents=True, exist_ok=True)
    if not Path("/usr/bin/chromium").exists():
        note("installing chromium with apt-get ...")
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    wrapper = OTA_DIR / "chromium-no-sandbox"
    wrapper.write_text(CHROMIUM_WRAPPER)
    wrapper.chmod(0o755)
    if not (OTA_DIR / "node_modules" / ".bin" / "ota").exists():
        note(f"npm install @opentermsarchive/engine@{OTA_VERSION} in bench/out/ota ...")
        if not (OTA_DIR / "package.json").exists():
            (OTA_DIR / "package.json").write_text('{"name": "ota-bench", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"@opentermsarchive/engine@{OTA_VERSION}"],
                       cwd=OTA_DIR, check=True, env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
                       stdout=subprocess.DEVNULL)
    return wrapper


def make_ota(work: Path, corpus: Corpus, urls: list[str], wrapper: Path) -> Cycle:
    """One JSON declaration per service; `ota track` with a fresh collection per repetition."""
    if work.exists():
        shutil.rmtree(work)
    decl = work / "declarations"
    decl.mkdir(parents=True)
    for i in range(corpus.n):
        (decl / f"{ota_id(corpus, i)}.json").write_text(json.dumps(
            {"name": service_name(corpus, i),
             "terms": {"Privacy Policy": {"fetch": urls[i], "select": "main"}}}))
    # OTA's config/default.json already stores snapshots and versions in git under ./data (no publishing);
    # an empty development.json keeps it that way (NODE_ENV=production would turn on git push).
    (work / "config").mkdir()
    (work / "config" / "development.json").write_text("{}\n")
    exe = OTA_DIR / "node_modules" / ".bin" / "ota"
    env = {"PUPPETEER_EXECUTABLE_PATH": str(wrapper), "NODE_ENV": "development", "PUPPETEER_SKIP_DOWNLOAD": "1"}

    def cycle(phase: str) -> Run:
        return run_measured([str(exe), "track"], cwd=work, env=env, log=work / phase, timeout=1800)

    return cycle


def ota_id(corpus: Corpus, i: int) -> str:
    return service_name(corpus, i).replace(" ", "-")


def ota_versions(work: Path) -> dict[str, int]:
    """Versions OTA recorded per service in its versions repository (one commit per recorded version)."""
    repo = work / "data" / "versions"
    r = subprocess.run(["git", "-C", str(repo), "log", "--name-only", "--format="], capture_output=True, text=True)
    counts: dict[str, int] = {}
    for line in r.stdout.split("\n"):
        if line.strip():
            top = line.split("/")[0]
            counts[top] = counts.get(top, 0) + 1
    return counts


# --------------------------------------------------------------------------- driver

def bench(n: int, reps: int, tools: list[str], jobs: int | None, seed: int, ota_reps: int = 1,
          hosts: int = 1) -> dict:
    corpus = Corpus(n, seed)
    root = OUT / "cycle"
    if root.exists():
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    results: dict = {t: {p: [] for p in PHASES} for t in tools}
    extras: dict = {t: [] for t in tools}
    served: dict = {}
    with CorpusServer(corpus, hosts=hosts) as srv:
        policies = write_policies(corpus, srv.urls(), root / "policies")
        floor_jobs = jobs or (tracker_jobs_default() if "policy-tracker" in tools else DEFAULT_JOBS)
        uw_exe = ensure_urlwatch() if "urlwatch" in tools else None
        urls_yaml = write_urlwatch_jobs(corpus, srv.urls(), root / "urlwatch") if uw_exe else None
        wrapper = ensure_ota() if "ota" in tools else None
        for rep in range(reps):
            for tool in tools:
                if tool == "ota" and rep >= ota_reps:
                    continue
                corpus.reset()
                work = root / tool / f"rep{rep}"
                if tool == "policy-tracker":
                    cycle = make_tracker(work, policies, jobs)
                elif tool == "urlwatch":
                    cycle = make_urlwatch(work, urls_yaml, uw_exe)
                elif tool == "floor":
                    cycle = make_floor(work, srv.urls(), floor_jobs)
                else:
                    cycle = make_ota(work, corpus, srv.urls(), wrapper)
                for phase in PHASES:
                    if phase == "changed":
                        mutation = corpus.mutate(CHANGED, DATE_ONLY, seed=seed + 1)
                        time.sleep(0.01)
                    srv.take_stats()
                    run = cycle(phase)
                    stats = srv.take_stats()
                    served.setdefault(phase, stats)
                    status = "ok" if run.rc == 0 else f"rc={run.rc}"
                    note(f"rep {rep} {tool:15s} {phase:9s} {run.wall:7.2f} s {run.rss_mb:7.1f} MB  "
                         f"{stats} {status}")
                    if run.rc != 0:
                        note("  stderr: " + run.stderr.strip()[-600:])
                    results[tool][phase].append(run)
                    if tool == "policy-tracker":
                        m = re.search(r"checked \d+ document.*", run.stdout + run.stderr)
                        extras[tool].append({"rep": rep, "phase": phase, "summary": m.group(0) if m else None})
                    if tool == "ota" and phase == "changed":
                        counts = ota_versions(work)
                        date_names = {ota_id(corpus, i) for i in mutation["date_only"]}
                        changed_names = {ota_id(corpus, i) for i in mutation["changed"]}
                        extras[tool].append({
                            "date_only_versions": sum(1 for k, v in counts.items() if k in date_names and v >= 2),
                            "changed_versions": sum(1 for k, v in counts.items() if k in changed_names and v >= 2),
                            "date_only_pages": len(date_names), "changed_pages": len(changed_names)})
    out = summarise(n, reps, tools, floor_jobs, results, served, extras)
    out["hosts"] = hosts
    return out


def summarise(n: int, reps: int, tools: list[str], jobs: int, results: dict, served: dict, extras: dict) -> dict:
    out: dict = {"n": n, "reps": reps, "jobs": jobs, "changed_fraction": CHANGED, "date_only_fraction": DATE_ONLY,
                 "served": served, "tools": {}, "ratios": {}, "extras": extras}
    for tool in tools:
        out["tools"][tool] = {}
        for phase in PHASES:
            runs = [r for r in results[tool][phase]]
            ok = [r for r in runs if r.rc == 0]
            out["tools"][tool][phase] = {
                "wall_s": median([r.wall for r in ok]) if ok else None,
                "rss_mb": median([r.rss_mb for r in ok]) if ok else None,
                "cpu_s": median([r.user + r.sys for r in ok]) if ok else None,
                "walls": [round(r.wall, 3) for r in runs], "rss": [round(r.rss_mb, 1) for r in runs],
                "failures": sum(1 for r in runs if r.rc != 0),
            }
    t = out["tools"]
    for phase in PHASES:
        pt = t.get("policy-tracker", {}).get(phase, {}).get("wall_s")
        out["ratios"][phase] = {
            "tracker/urlwatch": ratio(pt, t.get("urlwatch", {}).get(phase, {}).get("wall_s")),
            "tracker/floor": ratio(pt, t.get("floor", {}).get(phase, {}).get("wall_s")),
            "ota/tracker": ratio(t.get("ota", {}).get(phase, {}).get("wall_s"), pt),
            "paired tracker/urlwatch": paired(results, phase),
        }
    out["goals"] = goals(out)
    return out


def paired(results: dict, phase: str) -> list[float]:
    """policy-tracker / urlwatch per repetition (the two ran back to back): on a noisy machine the
    spread and the count of wins say more than the ratio of medians alone."""
    if "policy-tracker" not in results or "urlwatch" not in results:
        return []
    pairs = zip(results["policy-tracker"][phase], results["urlwatch"][phase], strict=False)
    return [round(a.wall / b.wall, 3) for a, b in pairs if a.rc == 0 and b.rc == 0 and b.wall > 0]


def goals(out: dict) -> list[dict]:
    """The issue's goals that this benchmark can decide."""
    t, r = out["tools"], out["ratios"]
    g: list[dict] = []

    def add(name: str, value: float | None, limit: float, higher_is_better: bool = False) -> None:
        if value is None:
            g.append({"goal": name, "value": None, "ok": None})
        else:
            g.append({"goal": name, "value": round(value, 3),
                      "ok": value >= limit if higher_is_better else value <= limit})

    for phase in PHASES:
        add(f"{phase} cycle <= 1.0x urlwatch", r[phase]["tracker/urlwatch"], 1.0)
    add("changed cycle <= 1.5x floor", r["changed"]["tracker/floor"], 1.5)
    rss = [t.get("policy-tracker", {}).get(p, {}).get("rss_mb") for p in PHASES]
    rss = [x for x in rss if x is not None]
    add(f"peak RSS <= 100 MB at N={out['n']}", max(rss) if rss else None, 100.0)
    if "ota" in t:
        add("changed cycle >= 50x faster than OTA", r["changed"]["ota/tracker"], 50.0, higher_is_better=True)
    return g


def render(out: dict) -> str:
    tools = list(out["tools"])
    headers = ["cycle"]
    for tool in tools:
        headers += [f"{tool} s", f"{tool} MB"]
    headers += ["pt/urlwatch", "pt/floor"] + (["ota/pt"] if "ota" in tools else []) + ["200/304"]
    rows = []
    for phase in PHASES:
        row: list[object] = [phase]
        for tool in tools:
            d = out["tools"][tool][phase]
            row += [d["wall_s"], None if d["rss_mb"] is None else round(d["rss_mb"], 1)]
        r = out["ratios"][phase]
        row += [r["tracker/urlwatch"], r["tracker/floor"]] + ([r["ota/tracker"]] if "ota" in tools else [])
        s = out["served"].get(phase, {})
        row.append(f"{s.get('200', 0)}/{s.get('304', 0)}")
        rows.append(row)
    reps = ", ".join(f"{t} {len(out['tools'][t]['seed']['walls'])}" for t in tools)
    lines = [f"N={out['n']} pages on {out.get('hosts', 1)} host(s), median of reps ({reps}), concurrency {out['jobs']} "
             f"(changed cycle: {out['changed_fraction']:.0%} edited + {out['date_only_fraction']:.0%} date-only)",
             "", table(headers, rows), ""]
    for g in out["goals"]:
        mark = "n/a " if g["ok"] is None else ("PASS" if g["ok"] else "MISS")
        lines.append(f"  [{mark}] {g['goal']}: {g['value']}")
    for phase in PHASES:
        pr = out["ratios"][phase].get("paired tracker/urlwatch") or []
        if len(pr) > 1:
            lines.append(f"  {phase}: policy-tracker faster than urlwatch in {sum(x < 1 for x in pr)} of {len(pr)} "
                         f"repetitions (paired ratios {min(pr):.2f}-{max(pr):.2f})")
    summaries = {(e["phase"], e["summary"]) for e in out["extras"].get("policy-tracker", [])}
    for phase, summary in sorted(summaries, key=lambda x: PHASES.index(x[0])):
        lines.append(f"  policy-tracker {phase}: {summary}")
    for e in out["extras"].get("ota", []):
        lines.append(f"  OTA recorded versions for {e['date_only_versions']}/{e['date_only_pages']} date-only pages "
                     f"and {e['changed_versions']}/{e['changed_pages']} edited pages")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, help="concurrency for policy-tracker and the floor (default: tracker's)")
    ap.add_argument("--hosts", type=int, default=1,
                    help="serve the pages from this many loopback addresses (127.0.0.1..): policy-tracker "
                         "fetches one page per host at a time by default, as real pages are spread over hosts")
    ap.add_argument("--tools", default="policy-tracker,urlwatch,floor")
    ap.add_argument("--with-ota", action="store_true", help="add Open Terms Archive's engine (slow)")
    ap.add_argument("--ota-reps", type=int, default=1, help="repetitions for OTA (default 1: ~4 min per rep at N=200)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if "policy-tracker" in tools and not tracker_available():
        note("policy-tracker check is not available; measuring the other tools only")
        tools.remove("policy-tracker")
    if args.with_ota and "ota" not in tools:
        tools.append("ota")
    out = bench(args.n, args.reps, tools, args.jobs, args.seed, args.ota_reps, args.hosts)
    dump_json(out, OUT / f"cycle-n{args.n}.json")
    print(dump_json(out) if args.json else render(out))


if __name__ == "__main__":
    main()
