"""Precision, recall and F1 per tag, and polarity accuracy, of the rule tagger on labelled clauses.

Usage: python bench/tags_eval.py [FILE.jsonl ...] [--file F] [--split S] [--rules F.toml ...]
                                 [--json] [--errors TAG]
Default file: ../shared/corpus/clauses-dev.jsonl. Each line: ``text``, ``tags`` (gold ids),
optional ``polarity`` (tag -> value), ``lang`` and ``split`` (``--split`` keeps only those rows,
e.g. the held-out half of tests/data/tag-examples-*-2.jsonl). ``--rules`` evaluates other rule
files (e.g. an older version, to measure before/after on the same data). Only confident tags count as predictions; the
``possible`` tier is reported separately (recall of tags+possible) because it is shown apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.compare.tag import PRIORITY, TAGS, RuleSet, load_rules, tag_text  # noqa: E402

DEV = ROOT / ".." / "shared" / "corpus" / "clauses-dev.jsonl"


def load(paths: list[Path]) -> list[dict]:
    rows = []
    for p in paths:
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def evaluate(rows: list[dict], rules: RuleSet | None = None) -> dict:
    """Counts per tag and polarity agreement. Returns a JSON-able dict of figures."""
    counts = {t: {"tp": 0, "fp": 0, "fn": 0, "tp_any": 0} for t in TAGS}
    pol_total = pol_ok = 0
    pol_by: dict[str, list[int]] = {}
    errors: list[dict] = []
    for r in rows:
        res = tag_text(r["text"], r.get("lang"), rules)
        gold = set(r.get("tags") or [])
        pred = set(res.tags)
        anyp = pred | set(res.possible)
        for t in TAGS:
            c = counts[t]
            if t in gold and t in pred:
                c["tp"] += 1
            elif t in pred:
                c["fp"] += 1
                errors.append({"tag": t, "kind": "fp", "text": r["text"], "ev": _ev(res, t)})
            elif t in gold:
                c["fn"] += 1
                errors.append({"tag": t, "kind": "fn", "text": r["text"], "possible": t in res.possible})
            if t in gold and t in anyp:
                c["tp_any"] += 1
        for t, p in (r.get("polarity") or {}).items():
            if t in pred:
                pol_total += 1
                got = res.polarity.get(t)
                pol_ok += got == p
                pol_by.setdefault(p, [0, 0])
                pol_by[p][0] += got == p
                pol_by[p][1] += 1
                if got != p:
                    errors.append({"tag": t, "kind": f"polarity {p}->{got}", "text": r["text"]})
    per_tag = {}
    for t, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        rc = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
        support = c["tp"] + c["fn"]
        r_any = c["tp_any"] / support if support else 1.0
        per_tag[t] = {"precision": p, "recall": rc, "f1": f1, "support": support,
                      "recall_with_possible": r_any, **c}
    secondary = [per_tag[t]["f1"] for t in TAGS if t not in PRIORITY and per_tag[t]["support"]]
    return {
        "n": len(rows),
        "per_tag": per_tag,
        "secondary_macro_f1": sum(secondary) / len(secondary) if secondary else 1.0,
        "polarity_accuracy": pol_ok / pol_total if pol_total else 1.0,
        "polarity_n": pol_total,
        "polarity_by_gold": {k: v[0] / v[1] for k, v in pol_by.items()},
        "errors": errors,
    }


def _ev(res, t) -> list[str]:
    return [f"{e.rule}: {e.text}" for e in res.evidence.get(t, [])]


def table(fig: dict) -> str:
    lines = [f"{'tag':22} {'P':>6} {'R':>6} {'F1':>6} {'R+pos':>6} {'n':>5}"]
    for t, m in fig["per_tag"].items():
        lines.append(f"{t:22} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
                     f"{m['recall_with_possible']:6.3f} {m['support']:5d}")
    lines.append(f"secondary macro-F1 {fig['secondary_macro_f1']:.3f}; polarity accuracy "
                 f"{fig['polarity_accuracy']:.3f} over {fig['polarity_n']} ({fig['n']} clauses)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--file", action="append", type=Path, default=[], help="a JSONL file (repeatable)")
    ap.add_argument("--split", help="keep only rows whose `split` field equals this")
    ap.add_argument("--rules", nargs="+", help="rule files to use instead of tracker/compare/rules/*.toml")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--errors", metavar="TAG", help="list the errors for this tag (or 'all')")
    a = ap.parse_args(argv)
    files = a.files + a.file or [DEV]
    missing = [f for f in files if not f.exists()]
    if missing:
        print(f"tags_eval: no such file: {missing[0]}", file=sys.stderr)
        return 2
    rows = load(files)
    if a.split:
        rows = [r for r in rows if r.get("split") == a.split]
    fig = evaluate(rows, load_rules(tuple(a.rules)) if a.rules else None)
    if a.errors:
        for e in fig["errors"]:
            if a.errors in ("all", e["tag"]):
                print(json.dumps(e, ensure_ascii=False))
        return 0
    if a.json:
        out = {k: v for k, v in fig.items() if k != "errors"}
        print(json.dumps(out, indent=2))
    else:
        print(table(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
