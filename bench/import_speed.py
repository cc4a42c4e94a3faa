"""How fast ``import-versions`` reads an Open Terms Archive-shaped git history.

Generates a synthetic versions repository (``git fast-import``, so making it is quick): N commits over
F policy-like Markdown files (headings, paragraphs, lists) with small edits: a reworded word, a new
or removed sentence, a formatting-only change, now and then an AI-training or biometrics clause.
Then, as whole child processes: the import (default jobs and ``--jobs 1``), a re-import (everything
already imported), and the ``feeds`` rebuild the import triggers by default. The floor, measured in
the same run, is this process reading the blobs with git and parsing them with ``extract_markdown``
on one core (a sample of commits): the import cannot be much cheaper per commit than that.

    python bench/import_speed.py [--n 2000] [--files 40] [--paragraphs 80] [--json]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, VENV_PY, dump_json, note, run_measured, table  # noqa: E402

WORDS = ("information data account service content users provide collect share partners process purposes "
         "security law request settings device location advertising measure improve personalise retain "
         "delete access cookies third parties affiliates legitimate interests consent rights").split()
SPECIAL = [
    "We may use the content you share to train our artificial intelligence models.",
    "We do not use your private messages to train machine learning models.",
    "With your consent, we may collect face geometry and voiceprints to verify your identity.",
    "We share information with advertising partners to measure the performance of ads.",
]
SERVICES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Pied Piper", "Vandelay", "Wonka", "Stark",
            "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Aperture", "Black Mesa", "Oscorp", "Massive Dynamic",
            "Dunder Mifflin", "Gringotts", "Monsters Inc"]
TYPES = ["Privacy Policy", "Terms of Service"]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return "We " + " ".join(words) + "."


def make_doc(rng: random.Random, name: str, paragraphs: int) -> list[str]:
    blocks = [f"# {name}", "Last updated: 1 January 2016"]
    for i in range(paragraphs):
        if i % 10 == 0:
            blocks.append(f"## {rng.choice(WORDS).title()} and {rng.choice(WORDS)}")
        if i % 7 == 3:
            blocks.append("\n".join(f"- {sentence(rng)}" for _ in range(3)))
        else:
            blocks.append(" ".join(sentence(rng) for _ in range(rng.randint(1, 4))))
    return blocks


def edit(rng: random.Random, blocks: list[str]) -> None:
    """One small recorded change, as OTA sees them day to day."""
    i = rng.randrange(2, len(blocks))
    r = rng.random()
    if r < 0.55:  # reword one word
        words = blocks[i].split(" ")
        j = rng.randrange(len(words))
        words[j] = rng.choice(WORDS) + ("." if words[j].endswith(".") else "")
        blocks[i] = " ".join(words)
    elif r < 0.75:
        blocks.insert(i, sentence(rng))
    elif r < 0.85 and len(blocks) > 20 and not blocks[i].startswith("#"):
        del blocks[i]
    elif r < 0.95:  # formatting only
        blocks[i] = blocks[i] + "  " if not blocks[i].endswith("  ") else blocks[i].rstrip()
    else:
        blocks.insert(i, rng.choice(SPECIAL))
    blocks[1] = f"Last updated: {rng.randint(1, 28)} {rng.choice(['March', 'June', 'October'])} 20{rng.randint(16, 25)}"


def generate(repo: Path, n: int, files: int, paragraphs: int, seed: int = 7) -> None:
    """N commits with fast-import: the first commit of each file, then N - files edits."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    rng = random.Random(seed)
    paths = [f"{SERVICES[k // 2 % len(SERVICES)]}{'' if k < 2 * len(SERVICES) else k // 2}/{TYPES[k % 2]}.md"
             for k in range(files)]
    docs = {p: make_doc(rng, p[:-3].replace("/", " "), paragraphs) for p in paths}
    t = 1_451_606_400  # 2016-01-01
    proc = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for k in range(n):
        path = paths[k] if k < len(paths) else rng.choice(paths)
        if k >= len(paths):
            edit(rng, docs[path])
        data = ("\n\n".join(docs[path]) + "\n").encode()
        msg = f"Record new changes of {path[:-3]}".encode()
        t += rng.randint(600, 86400)
        head = (f"commit refs/heads/main\ncommitter OTA <bot@example.org> {t} +0000\n"
                f"data {len(msg)}\n").encode() + msg + b"\n"
        proc.stdin.write(head + f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(repo), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)


def floor(repo: Path, sample: int) -> tuple[float, int]:
    """Seconds per commit to read a blob with git and parse it, one process: the import's floor."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tracker.sources.ota_versions import BlobReader, read_log
    from tracker.text.markdown import extract_markdown

    t0 = time.perf_counter()
    log = read_log(repo)[:sample]
    with BlobReader(repo) as blobs:
        for fc in log:
            extract_markdown((blobs.read(fc.blob or "") or b"").decode())
    return (time.perf_counter() - t0) / max(1, len(log)), len(log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="commits (default 2,000; try 10000)")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--paragraphs", type=int, default=80, help="paragraphs per document (80 ~ 14 KB)")
    ap.add_argument("--sample", type=int, default=300, help="commits parsed for the floor")
    ap.add_argument("--no-single", action="store_true", help="skip the --jobs 1 import")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = OUT / "import-speed"
    repo = work / "versions"
    t0 = time.perf_counter()
    generate(repo, args.n, args.files, args.paragraphs)
    note(f"generated {args.n} commits over {args.files} files in {time.perf_counter() - t0:.1f}s")
    per_commit, sampled = floor(repo, args.sample)
    note(f"floor: {per_commit * 1000:.1f} ms per commit (git read + Markdown parse, one process, {sampled} commits)")

    results = []
    variants = [("import (default jobs)", [])] + ([] if args.no_single else [("import --jobs 1", ["--jobs", "1"])])
    for label, extra in variants:
        db = work / "bench.db"
        for p in work.glob("bench.db*"):
            p.unlink()
        base = [str(VENV_PY), "-m", "tracker", "--db", str(db), "--policies", str(work / "none"),
                "--feeds", str(work / "feeds")]
        run = run_measured(base + ["import-versions", str(repo), "--no-feeds", *extra])
        if run.rc != 0:
            raise SystemExit(f"{label} failed: {run.stderr[-500:]}")
        results.append({"what": label, "wall_s": run.wall, "commits_per_s": args.n / run.wall,
                        "rss_mb": run.rss_mb, "ratio_to_floor": run.wall / (per_commit * args.n),
                        "summary": run.stdout.splitlines()[0]})
        note(f"{label}: {run.stdout.splitlines()[0]}")
    again = run_measured(base + ["import-versions", str(repo), "--no-feeds"])
    results.append({"what": "re-import (nothing new)", "wall_s": again.wall, "commits_per_s": args.n / again.wall,
                    "rss_mb": again.rss_mb, "ratio_to_floor": again.wall / (per_commit * args.n),
                    "summary": again.stdout.splitlines()[0]})
    feeds = run_measured(base + ["feeds"])
    results.append({"what": "feeds rebuild", "wall_s": feeds.wall, "commits_per_s": None, "rss_mb": feeds.rss_mb,
                    "ratio_to_floor": None, "summary": feeds.stderr.strip().splitlines()[-1] if feeds.stderr else ""})
    if args.json:
        print(dump_json({"n": args.n, "files": args.files, "floor_ms_per_commit": per_commit * 1000,
                         "results": results}))
        return
    print(table(["what", "wall s", "commits/s", "peak RSS MB", "× floor"],
                [[r["what"], f"{r['wall_s']:.1f}", f"{r['commits_per_s']:.0f}" if r["commits_per_s"] else "-",
                  f"{r['rss_mb']:.0f}", f"{r['ratio_to_floor']:.2f}" if r["ratio_to_floor"] else "-"]
                 for r in results]))
    print(f"floor (git read + parse, 1 process): {per_commit * 1000:.1f} ms/commit = {1 / per_commit:.0f} commits/s")


if __name__ == "__main__":
    main()
