"""Years of history at archive scale (issue 20): import, store, report and rebuild, measured as users run them.

Imports the development archive (``../shared/history/contrib-dev.bundle``, cloned once into
``bench/out/history/``) and any Open Terms Archive versions repository given on the command line,
each into a fresh database, as whole child processes (wall time, peak RSS of the process tree, see
``common.run_measured``). Then, on each imported database: a re-import with nothing new, the
database size against the repository's ``git count-objects -v`` size-pack (and per table, from
SQLite's ``dbstat``), ``show``/``diff`` of versions, a first ``report`` (which makes the rows it keeps),
``report --tag ai-training`` and ``report`` of every tag as JSON (and the size once the rows are kept), a full ``feeds`` rebuild into an empty folder and ``feeds`` after one more change.

    .venv/bin/python bench/history.py [REPO ...] [--no-bundle] [--db-only DB --repo REPO] [--json]

``--db-only DB`` skips the import and measures an existing database (a copy is used: nothing is written
to DB); ``--repo`` names the repository it was imported from (for the pack size).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, ROOT, VENV_PY, compile_tracker, dump_json, note, run_measured, table  # noqa: E402

BUNDLE = ROOT.parent / "shared" / "history" / "contrib-dev.bundle"
WORK = OUT / "history"
GOALS = {"commits_per_s": 200, "import_rss_mb": 200, "reimport_s": 2.0, "db_to_pack": 2.0, "read_ms": 50,
         "report_tag_s": 0.3, "report_all_s": 1.0, "feeds_full_s": 3.0, "feeds_full_mb": 150, "feeds_one_s": 0.3}


def pack_bytes(repo: Path) -> int:
    out = subprocess.run(["git", "-C", str(repo), "count-objects", "-v"], capture_output=True, text=True,
                         check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return (int(fields["size-pack"]) + int(fields["size"])) * 1024


def commits(repo: Path) -> int:
    return int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True,
                              text=True, check=True).stdout)


def table_sizes(db: Path) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat), largest first."""
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            return {}
    return {name: int(size) for name, size in rows}


def tracker(db: Path, feeds: Path, *args: str) -> list[str]:
    return [str(VENV_PY), "-m", "tracker", "--db", str(db), "--policies", str(db.parent / "none"),
            "--feeds", str(feeds), *args]


def reads(db: Path, feeds: Path) -> dict:
    """``show`` and ``diff`` of the longest document's oldest, middle and latest versions: the slowest wall."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT d.service, d.type, COUNT(*) n FROM versions v JOIN documents d ON d.id = "
                           "v.document_id GROUP BY d.id ORDER BY n DESC LIMIT 1").fetchone()
    service, type_, n = row
    out: dict = {"document": f"{service} / {type_}", "versions": n, "runs": []}
    for number in sorted({1, max(1, n // 2), n}):
        show = run_measured(tracker(db, feeds, "show", service, "--type", type_, "--version", str(number)))
        out["runs"].append({"what": f"show v{number}", "wall_s": show.wall, "rc": show.rc})
        if number > 1:
            d = run_measured(tracker(db, feeds, "diff", service, "--type", type_, "--from", str(number - 1),
                                     "--to", str(number)))
            out["runs"].append({"what": f"diff v{number - 1}..v{number}", "wall_s": d.wall, "rc": d.rc})
    # a process that only starts and exits: the time a read adds is the difference
    idle = run_measured([str(VENV_PY), "-m", "tracker", "--version"])
    out["start_s"] = idle.wall
    out["worst_s"] = max(r["wall_s"] for r in out["runs"])
    return out


def in_process_read_ms(db: Path) -> float:
    """The slowest single version read (text and clauses) inside one process, in ms, over a sample."""
    code = (
        "import sys, time, sqlite3\n"
        "from tracker.store.database import Store\n"
        "s = Store(sys.argv[1])\n"
        "rows = s.conn.execute('SELECT document_id, number FROM versions ORDER BY random() LIMIT 300').fetchall()\n"
        "worst = 0.0\n"
        "for d, n in rows:\n"
        "    t = time.perf_counter(); v = s.version_by_number(d, n); worst = max(worst, time.perf_counter() - t)\n"
        "print(worst * 1000)\n")
    p = subprocess.run([str(VENV_PY), "-c", code, str(db)], capture_output=True, text=True, cwd=ROOT)
    return float(p.stdout.strip() or "nan")


def measure_db(db: Path, repo: Path, label: str) -> dict:
    work = db.parent
    feeds = work / "feeds"
    shutil.rmtree(feeds, ignore_errors=True)
    size = db.stat().st_size
    pack = pack_bytes(repo)
    res: dict = {"label": label, "db_bytes": size, "pack_bytes": pack, "db_to_pack": size / pack,
                 "tables": table_sizes(db), "load_before": os.getloadavg()[0]}
    res["reads"] = reads(db, feeds)
    res["read_ms_in_process"] = in_process_read_ms(db)
    # The first report makes the rows it keeps per change (``report_rows``) from the diffs; later ones read them.
    r0 = run_measured(tracker(db, feeds, "report", "--format", "json"))
    r1 = run_measured(tracker(db, feeds, "report", "--tag", "ai-training"))
    r2 = run_measured(tracker(db, feeds, "report", "--format", "json"))
    res["report_first"] = {"wall_s": r0.wall, "rss_mb": r0.rss_mb, "cpu_s": r0.user + r0.sys, "rc": r0.rc}
    res["report_tag"] = {"wall_s": r1.wall, "rss_mb": r1.rss_mb, "cpu_s": r1.user + r1.sys, "rc": r1.rc}
    res["report_all_json"] = {"wall_s": r2.wall, "rss_mb": r2.rss_mb, "cpu_s": r2.user + r2.sys, "rc": r2.rc}
    res["db_bytes_after_report"] = db.stat().st_size
    f1 = run_measured(tracker(db, feeds, "feeds", "--rebuild", "--base-url", "https://feeds.example.test/"))
    res["feeds_full"] = {"wall_s": f1.wall, "rss_mb": f1.rss_mb, "cpu_s": f1.user + f1.sys, "rc": f1.rc,
                         "err": f1.stderr[-300:]}
    f2 = run_measured(tracker(db, feeds, "feeds"))
    res["feeds_nothing_new"] = {"wall_s": f2.wall, "rss_mb": f2.rss_mb, "cpu_s": f2.user + f2.sys, "rc": f2.rc}
    res["feeds_one_change"] = feeds_one_change(db, feeds)
    res["load_after"] = os.getloadavg()[0]  # the machine is shared: figures are only comparable at like load
    return res


def feeds_one_change(db: Path, feeds: Path) -> dict:
    """One more change, as a check would store it: the busiest document's latest version again as a new
    version (a day after the last change), with its latest change's diff. ``feeds`` must then rewrite
    only what that change touches."""
    with sqlite3.connect(db) as conn:
        doc, number = conn.execute("SELECT document_id, MAX(number) FROM versions GROUP BY document_id "
                                   "ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
        cols = [r[1] for r in conn.execute("PRAGMA table_info(versions)") if r[1] not in ("id", "number")]
        conn.execute(f"INSERT INTO versions (number, {', '.join(cols)}) SELECT number + 1, {', '.join(cols)} "
                     "FROM versions WHERE document_id=? AND number=?", (doc, number))
        conn.execute("INSERT INTO changes (document_id, from_version, to_version, detected_at, significant, tags, "
                     "diff) SELECT document_id, ?, ?, (SELECT MAX(detected_at) FROM changes) + 86400, significant, "
                     "tags, diff FROM changes WHERE document_id=? AND significant > 0 ORDER BY to_version DESC LIMIT 1",
                     (number, number + 1, doc))
    run = run_measured(tracker(db, feeds, "feeds"))
    return {"wall_s": run.wall, "rss_mb": run.rss_mb, "cpu_s": run.user + run.sys, "rc": run.rc,
            "err": run.stderr[-300:]}


def import_repo(repo: Path, label: str) -> dict:
    work = WORK / "runs" / label
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "history.db"
    n = commits(repo)
    note(f"{label}: importing {n} commits")
    first = run_measured(tracker(db, work / "feeds", "import-versions", str(repo), "--no-feeds"), timeout=7200)
    note(f"{label}: {first.stdout.splitlines()[0] if first.stdout else first.stderr[-300:]}")
    again = run_measured(tracker(db, work / "feeds", "import-versions", str(repo), "--no-feeds"))
    res = {"commits": n, "import": {"wall_s": first.wall, "rss_mb": first.rss_mb, "commits_per_s": n / first.wall,
                                    "user_s": first.user, "rc": first.rc, "summary": first.stdout[:400]},
           "reimport": {"wall_s": again.wall, "rss_mb": again.rss_mb, "cpu_s": again.user + again.sys, "rc": again.rc}}
    return res | measure_db(db, repo, label)


def clone_bundle(bundle: Path = BUNDLE) -> Path:
    repo = WORK / "repos" / "contrib-dev"
    if not (repo / ".git").exists():
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True)
    return repo


def _row(what: str, m: dict, note: str = "") -> list[str]:
    """A measured command as a table row: wall and CPU seconds (CPU says more on a loaded machine), peak RSS."""
    cpu = m.get("cpu_s", m.get("user_s"))
    return [what, f"{m['wall_s']:.2f}", "" if cpu is None else f"{cpu:.2f}", f"{m['rss_mb']:.0f}", note]


def render(results: list[dict]) -> str:
    lines = []
    for r in results:
        rows = []
        if "import" in r:
            rows += [_row("import-versions", r["import"], f"{r['import']['commits_per_s']:.0f} commits/s"),
                     _row("re-import, nothing new", r["reimport"])]
        after = r["db_bytes_after_report"]
        rows += [["database", "", "", "", f"{r['db_bytes'] / 2**20:.1f} MB = {r['db_to_pack']:.2f}x the git pack "
                  f"({r['pack_bytes'] / 2**20:.1f} MB)"],
                 ["show/diff (slowest, whole process)", f"{r['reads']['worst_s']:.2f}", "", "",
                  f"start-up alone {r['reads']['start_s']:.2f} s; one read in process {r['read_ms_in_process']:.1f} ms"],
                 _row("report, first (makes the rows it keeps)", r["report_first"],
                      f"database then {after / 2**20:.1f} MB = {after / r['pack_bytes']:.2f}x the git pack"),
                 _row("report --tag ai-training", r["report_tag"]),
                 _row("report --format json (every tag)", r["report_all_json"]),
                 _row("feeds, full rebuild", r["feeds_full"]),
                 _row("feeds, nothing new", r["feeds_nothing_new"]),
                 _row("feeds, one more change", r["feeds_one_change"])]
        lines.append(f"## {r['label']}" + (f" ({r['commits']} commits)" if "commits" in r else ""))
        lines.append(table(["what", "wall s", "CPU s", "peak RSS MB", "note"], rows))
        top = list(r["tables"].items())[:8]
        lines.append(f"load average (1 min) {r['load_before']:.1f} before the measures, {r['load_after']:.1f} after")
        lines.append("largest tables and indexes: " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in top))
        failed = [k for k, v in r.items() if isinstance(v, dict) and v.get("rc")]
        if failed:
            lines.append(f"nonzero exit: {failed}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repos", nargs="*", type=Path, help="OTA versions repositories (local clones) to import too")
    ap.add_argument("--no-bundle", action="store_true", help="do not import the development archive")
    ap.add_argument("--bundle", type=Path, default=BUNDLE, help=f"the development archive (default {BUNDLE})")
    ap.add_argument("--db-only", type=Path, help="measure this database instead of importing (a copy is used)")
    ap.add_argument("--repo", type=Path, help="with --db-only: the repository it was imported from")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    compile_tracker()
    results = []
    if args.db_only:
        work = WORK / "db-only"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "history.db"
        src = sqlite3.connect(args.db_only)
        with sqlite3.connect(db) as dst:
            src.backup(dst)
        src.close()
        repo = args.repo or clone_bundle()
        results.append(measure_db(db, repo, args.db_only.name))
    else:
        if not args.no_bundle:
            if not args.bundle.exists():
                sys.exit(f"{args.bundle}: not found (give a versions repository, or --no-bundle)")
            results.append(import_repo(clone_bundle(args.bundle), "contrib-dev"))
        for repo in args.repos:
            results.append(import_repo(repo.resolve(), repo.resolve().name))
    dump_json(results, OUT / "history.json")
    print(dump_json(results) if args.json else render(results))


if __name__ == "__main__":
    main()
