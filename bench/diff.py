"""Diff speed: clause diff vs difflib.unified_diff on the same texts, in the same run.

    python bench/diff.py [--json] [--repeat N]

Cases: the X 2023 privacy-policy pair from ../shared (goal: clause diff <= 20 ms) and a synthetic
1 MB policy pair written here (goal <= 1 s). Extraction is timed apart from the diff.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import statistics
import time
from pathlib import Path

from tracker.compare.diff import diff_clauses
from tracker.text.markdown import extract_markdown

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
WORDS = ("data information personal account service services provide collect use share partners "
         "advertising location device content messages security legal rights request delete retain "
         "period consent process processing third parties affiliates cookies identifiers analytics "
         "improve operate protect comply law enforcement children age users region transfer").split()


def synthetic_pair(target_bytes: int = 1_000_000, seed: int = 7) -> tuple[str, str]:
    """A policy-shaped Markdown document (~target_bytes) and a revision of it: rewordings,
    insertions, deletions, moves and a rename sweep, as in real revisions."""
    rnd = random.Random(seed)
    blocks: list[str] = []
    size, n = 0, 0
    while size < target_bytes:
        if n % 25 == 0:
            blocks.append(f"## {n // 25 + 1}. Section about {rnd.choice(WORDS)} and {rnd.choice(WORDS)}")
        k = rnd.randint(20, 70)
        para = " ".join(rnd.choice(WORDS) for _ in range(k)).capitalize()
        blocks.append(f"{para} (clause {n}) Acme may {rnd.choice(WORDS)} it.")
        size += len(blocks[-1]) + 2
        n += 1
    new = list(blocks)
    for i in range(len(new)):
        r = rnd.random()
        if new[i].startswith("##"):
            continue
        if r < 0.02:
            words = new[i].split()
            words[rnd.randrange(len(words))] = rnd.choice(WORDS)
            new[i] = " ".join(words)
        elif r < 0.03:
            new[i] = ""
        elif r < 0.04:
            new[i] += "\n\nWe may use your content to train artificial intelligence models (new)."
    moved = [i for i in range(len(new)) if new[i] and not new[i].startswith("##")][:: max(1, len(new) // 20)]
    for i in moved[:10]:
        j = rnd.randrange(len(new))
        new[i], new[j] = new[j], new[i]
    after = "\n\n".join(b for b in new if b).replace("Acme", "Zenith")
    return "\n\n".join(blocks), after


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def measure(name: str, old: str, new: str, repeat: int) -> dict:
    a, b = extract_markdown(old), extract_markdown(new)
    extract_ms = timed(lambda: (extract_markdown(old), extract_markdown(new)), max(1, repeat // 3))
    clause_ms = timed(lambda: diff_clauses(a.clauses, b.clauses), repeat)
    ol, nl = old.splitlines(keepends=True), new.splitlines(keepends=True)
    unified_ms = timed(lambda: list(difflib.unified_diff(ol, nl)), repeat)
    r = diff_clauses(a.clauses, b.clauses)
    return {"case": name, "bytes": len(old.encode()) + len(new.encode()), "clauses": [len(a.clauses), len(b.clauses)],
            "extract_ms": round(extract_ms, 2), "clause_diff_ms": round(clause_ms, 2),
            "unified_diff_ms": round(unified_ms, 2), "ratio": round(clause_ms / unified_ms, 2) if unified_ms else None,
            "significant": r.stats["significant"], "substitutions": [[s.old, s.new, s.count] for s in r.substitutions]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rows = []
    x = SHARED / "corpus" / "cases" / "x-privacy-2023-09"
    if x.is_dir():
        rows.append(measure("X privacy 2023 (real)", (x / "before.md").read_text(encoding="utf-8"),
                            (x / "after.md").read_text(encoding="utf-8"), args.repeat))
        rows[-1]["goal_ms"] = 20
    else:
        print("(../shared absent: X pair skipped)")
    old, new = synthetic_pair()
    rows.append(measure("synthetic 1 MB policy", old, new, max(1, args.repeat // 2)))
    rows[-1]["goal_ms"] = 1000
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'case':26} {'bytes':>9} {'clauses':>12} {'extract ms':>10} {'clause diff':>11} {'unified':>9} "
          f"{'ratio':>6} {'goal':>6} {'sig':>5}")
    for r in rows:
        ok = "ok" if r["clause_diff_ms"] <= r["goal_ms"] else "MISS"
        print(f"{r['case']:26} {r['bytes']:>9} {str(r['clauses']):>12} {r['extract_ms']:>10.1f} "
              f"{r['clause_diff_ms']:>11.1f} {r['unified_diff_ms']:>9.1f} {r['ratio']:>6} "
              f"{r['goal_ms']:>5}{ok:>5} {r['significant']:>5}")
    print("ratio = clause diff time / difflib.unified_diff time on the same texts (same run).")


if __name__ == "__main__":
    main()
