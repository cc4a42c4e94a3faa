"""Golden outputs: what policy-tracker stores and publishes for fixed inputs, to show a refactoring
changed nothing.

Two inputs: the bench corpus (``bench/corpus.py``, 60 pages: a first check, then a cycle where 10%
changed and 5% changed only their date), and a slice of the development archive
(``../shared/history/contrib-dev.bundle``, imported with ``import-versions``). For each: every
document's versions (text hash, clause count), every change (the JSON diff with tags, polarity and
directions) and every feed and page file, with times replaced by a placeholder.

Usage::

    python bench/golden.py record OUT.json      # before the change
    python bench/golden.py compare OUT.json     # after: prints the differences, exit 1 if any
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import Corpus, CorpusServer, write_policies  # noqa: E402

BUNDLE = ROOT.parent / "shared" / "history" / "contrib-dev.bundle"
SLICE = ["Badoo", "Discord", "Dailymotion", "Facebook Ads", "Hugging Face", "Imgur", "Orange",
         "PayPal", "Samsung", "Viber", "Zoosk"]
_LOCAL = re.compile(rb"(?:127\.0\.0\.1|localhost):\d+|/tmp/[\w.-]+")  # ports and temporary folders differ per run
_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?|"
                   rb"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")


def tracker() -> list[str]:
    exe = Path(sys.executable).with_name("policy-tracker")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tracker"]


def run(work: Path, *args: str) -> str:
    env = {**os.environ, "POLICY_TRACKER_DB": str(work / "tracker.db"),
           "POLICY_TRACKER_POLICIES": str(work / "policies"), "POLICY_TRACKER_FEEDS": str(work / "feeds"),
           "POLICY_TRACKER_ALLOW_PRIVATE": "1", "NO_COLOR": "1",
           # the clause diff breaks ties between equally good candidates in set order: one seed for both runs
           "PYTHONHASHSEED": "0"}
    p = subprocess.run([*tracker(), *args, *(["--workers", "0"] if args[0] == "check" else [])], env=env,
                       capture_output=True, text=True)
    if p.returncode not in (0, 3):
        raise SystemExit(f"golden: {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[:500]}")
    return p.stdout


def dump(work: Path) -> dict:
    """Versions, changes and feed files of the workspace's database, without times."""
    import sqlite3

    con = sqlite3.connect(work / "tracker.db")
    out: dict = {"versions": {}, "changes": {}, "files": {}}
    docs = con.execute("SELECT id, service, type FROM documents ORDER BY service, type").fetchall()
    for _, service, type_ in docs:
        hist = json.loads(run(work, "history", service, "--type", type_, "--json") or "[]")
        out["versions"][f"{service}/{type_}"] = [(v.get("version"), v.get("sha256"), v.get("clauses"))
                                                 for v in hist]
        numbers = sorted(v["version"] for v in hist)
        for a, b in zip(numbers, numbers[1:], strict=False):
            d = json.loads(run(work, "diff", service, "--type", type_, "--from", str(a), "--to", str(b),
                               "--format", "json", "--all"))
            out["changes"][f"{service}/{type_}/{a}-{b}"] = _strip_times(d)
    feeds = work / "feeds"
    for p in sorted(feeds.rglob("*")) if feeds.exists() else []:
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json":
            body = _LOCAL.sub(b"L", _TIME.sub(b"T", p.read_bytes()))
            if p.suffix in (".atom", ".rss", ".html", ".json"):
                # Changes stored in the same second are listed in the order their fetches ended, which
                # differs from run to run: compare the lines as a multiset, not their order.
                body = b"\n".join(sorted(body.splitlines()))
            out["files"][str(p.relative_to(feeds))] = hashlib.sha256(body).hexdigest()
    return out


def _strip_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if not k.endswith("_at") and k not in ("at", "seconds")}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def corpus_run(base: Path) -> dict:
    work = base / "corpus"
    corpus = Corpus(60, seed=7)
    with CorpusServer(corpus) as srv:
        write_policies(corpus, srv.urls(), work / "policies")
        run(work, "check", "-q")
        corpus.mutate(changed=0.10, date_only=0.05, seed=8)
        run(work, "check", "-q")
    return dump(work)


def archive_run(base: Path) -> dict:
    if not BUNDLE.exists():
        return {"skipped": "no ../shared/history/contrib-dev.bundle"}
    repo = base / "contrib"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(repo)], check=True)
    work = base / "archive"
    (work / "policies").mkdir(parents=True)
    for s in SLICE:
        run(work, "import-versions", str(repo), "--service", s)
    run(work, "feeds")
    return dump(work)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "compare"])
    ap.add_argument("file", type=Path)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        got = {"corpus": corpus_run(Path(tmp)), "archive": archive_run(Path(tmp))}
    if a.mode == "record":
        a.file.write_text(json.dumps(got, indent=1, sort_keys=True))
        print(f"recorded {sum(len(v.get('changes', {})) for v in got.values())} diffs, "
              f"{sum(len(v.get('files', {})) for v in got.values())} files in {a.file}")
        return 0
    want = json.loads(a.file.read_text())
    got = json.loads(json.dumps(got, sort_keys=True))
    bad = 0
    for part in want:
        for kind in ("versions", "changes", "files"):
            w, g = want[part].get(kind, {}), got[part].get(kind, {})
            for k in sorted(set(w) | set(g)):
                if w.get(k) != g.get(k):
                    bad += 1
                    if bad <= 30:
                        print(f"{part} {kind} {k}: differs")
    print(f"{bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
