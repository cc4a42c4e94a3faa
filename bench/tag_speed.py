"""Tagging speed in clauses per second on one core (goal: >= 5,000/s).

Usage: python bench/tag_speed.py [--rounds N]
Clauses: ../shared/corpus/clauses-dev.jsonl when present, else tests/data/tag-examples*.jsonl.
Prints the rule tagger's rate and, as a baseline measured in the same run, the rate of one
plain keyword regex over the same clauses (the floor any tagger pays to read the text).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.compare.tag import load_rules, tag_text  # noqa: E402

DEV = ROOT / ".." / "shared" / "corpus" / "clauses-dev.jsonl"
KEYWORDS = re.compile(r"\b(?:train\w*|biometric\w*|fingerprint\w*|share\w*|retain\w*|children|location|"
                      r"law enforcement|cookies?|arbitration)\b", re.I)


def clauses() -> list[str]:
    files = [DEV] if DEV.exists() else sorted((ROOT / "tests" / "data").glob("tag-examples*.jsonl"))
    out = []
    for f in files:
        out += [json.loads(ln)["text"] for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return out


def rate(fn, texts: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()  # CPU time: others share this machine
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - t0)
    return len(texts) / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    texts = clauses()
    rs = load_rules()
    for t in texts:  # warm up: rules and cue regexes compile on first use, once per process
        tag_text(t, rules=rs)
    tagger = rate(lambda t: tag_text(t, rules=rs), texts, a.rounds)
    given_lang = rate(lambda t: tag_text(t, "en", rules=rs), texts, a.rounds)
    baseline = rate(KEYWORDS.findall, texts, a.rounds)
    chars = sum(map(len, texts)) / len(texts)
    fig = {"clauses": len(texts), "mean_chars": round(chars), "tagger_per_s": round(tagger),
           "tagger_lang_given_per_s": round(given_lang), "keyword_regex_per_s": round(baseline),
           "slowdown_vs_regex": round(baseline / tagger, 1), "goal_per_s": 5000,
           "meets_goal": tagger >= 5000}
    if a.json:
        print(json.dumps(fig, indent=2))
    else:
        print(f"{len(texts)} clauses (mean {chars:.0f} chars), best of {a.rounds} rounds, one core")
        print(f"rule tagger (lang detected): {tagger:10,.0f} clauses/s")
        print(f"rule tagger (lang given):    {given_lang:10,.0f} clauses/s")
        print(f"keyword regex baseline:      {baseline:10,.0f} clauses/s  "
              f"(tagger is {baseline / tagger:.1f}x slower)")
        print(f"goal 5,000/s: {'met' if tagger >= 5000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
