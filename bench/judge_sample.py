"""Draw, reproducibly, the sample of AI-training and biometrics alerts to judge by hand (issue 15).

An *alert* is one change listed under one priority tag: what ``report --tag ai-training`` shows as one
row, and what a feed reader is told once. Its events (added, removed, stance) are shown together.

Input: the rows file that ``bench/history_truth.py`` writes (``bench/out/history_rows.jsonl``) and the
database it imported into (for context: the change's size, the versions' lengths, whether the key
sentence is still found, fuzzily, on the other side). Services in ``../shared/history/RESERVED.txt``
are left out (they are reserved for evaluation). The draw is seeded: half per tag, the alerts of each
tag shuffled with ``random.Random(seed)`` after sorting by their identity, so the same database gives
the same sample. Alerts already judged in ``--judged`` are drawn first and keep their judgement
(a later sample re-judges only what is new).

Output (``bench/out/judge-sample.jsonl``, git-ignored: it quotes real policies) has one line per
alert, with ``judged`` to fill in: ``{"real": bool, "on_topic": bool, "why": "one line"}``. Once
filled, ``--fixture`` writes the short form kept in ``tests/data/judged-alerts.jsonl`` (key sentences
trimmed to what identifies them, with provenance, and ``reported``: whether the rows file of the
current code still has the alert), which ``tests/test_judged_alerts.py`` replays. Several judged
samples (before and after a fix) are joined, the later judgement of an alert winning.

    python bench/judge_sample.py --db DB [--rows FILE] [--n 120] [--seed 15] [--judged FILE]... [--out FILE]
    python bench/judge_sample.py --fixture --judged FILE... [--rows FILE]  # -> tests/data/judged-alerts.jsonl

Re-judging after a fix: ``--judged tests/data/judged-alerts.jsonl`` keeps every judgement of the fixture
(with ``--all``, ``--db`` then writes every alert not judged yet to ``--out``); once those are
filled, ``--fixture --judged tests/data/judged-alerts.jsonl --judged OUT`` rewrites the fixture with
``reported`` taken from the new rows file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, ROOT  # noqa: E402

sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from tracker.compare.sentences import sentence_key  # noqa: E402
from tracker.store.database import Store  # noqa: E402

PRIORITY = ("ai-training", "biometrics")
RESERVED = ROOT.parent / "shared" / "history" / "RESERVED.txt"
FIXTURE = ROOT / "tests" / "data" / "judged-alerts.jsonl"
PROVENANCE = "Open Terms Archive contrib-versions (ODC-BY 1.0: Open Terms Archive and its contributors)"
SHORT = 90  # characters of a key sentence kept in the fixture: enough to recognise it, not to copy it


def reserved() -> set[str]:
    if not RESERVED.exists():
        return set()
    return {ln.strip() for ln in RESERVED.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")}


def alert_id(a: dict) -> tuple[str, str, str, str]:
    """What identifies an alert across imports: the document, the commit of its new version, the tag."""
    return (a["service"], a["document"], a["commit"] or "", a["tag"])


def alerts(rows: list[dict]) -> list[dict]:
    """The rows of one (change, tag) joined into one alert, events in report order."""
    out: dict[tuple, dict] = {}
    for r in rows:
        key = (r["service"], r["type"], r.get("commit") or "", r["tag"])
        a = out.get(key)
        if a is None:
            a = out[key] = {"service": r["service"], "document": r["type"], "commit": r.get("commit") or "",
                            "from_version": r["from_version"], "to_version": r["to_version"],
                            "date": r["date"], "tag": r["tag"], "change_id": r["change_id"], "events": []}
        a["events"].append({"event": _what(r), "sentence": r["text"], "section": r.get("section", ""),
                            "contradicted": r.get("contradicted", False)})
    return list(out.values())


def _what(r: dict) -> str:
    if r["direction"] == "stance":
        return f"stance {r.get('old_stance', '')}->{r.get('stance', '')}"
    return f"{r['direction']} ({r.get('stance', '')})" if r.get("stance") else r["direction"]


def _context(store: Store, a: dict) -> None:
    """What helps a judge: the change's size and note, the two lengths, the previous commit's date,
    and for each event how closely its sentence is found on the other side (100: the same words)."""
    doc = store.document(a["service"], a["document"])
    assert doc is not None
    old = store.version_by_number(doc.id, a["from_version"])
    new = store.version_by_number(doc.id, a["to_version"])
    assert old is not None and new is not None
    rec = store.changes(change_id=a["change_id"])[0]
    a["from_date"] = (old.recorded_at or "")[:10]
    a["lengths"] = [len(old.text), len(new.text)]
    a["significant"] = len(rec.diff.significant)
    a["note"] = rec.diff.note or ""
    okey, nkey = sentence_key(old.text), sentence_key(new.text)
    for e in a["events"]:
        s = sentence_key(e["sentence"].replace("…", " "))
        other = okey if e["event"].startswith(("added", "stance")) else nkey
        e["found_other_side"] = round(fuzz.partial_ratio(s, other), 1) if s else None


def draw(pool: list[dict], n: int, seed: int, judged: dict[tuple, dict]) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    for tag in PRIORITY:
        mine = sorted((a for a in pool if a["tag"] == tag), key=alert_id)
        known = [a for a in mine if alert_id(a) in judged]
        fresh = [a for a in mine if alert_id(a) not in judged]
        rng.shuffle(fresh)
        want = max(n // len(PRIORITY), len(known))
        out += known + fresh[:max(0, want - len(known))]
    for a in out:
        j = judged.get(alert_id(a))
        a["judged"] = j["judged"] if j else {"real": None, "on_topic": None, "why": ""}
    return out


def fixture_line(a: dict, reported: bool) -> dict:
    """The fixture's short form of a judged alert (``a``: a judged sample line, or a fixture line
    already: the fixture itself can be given as ``--judged``, to re-mark what is still reported)."""
    j = a["judged"]
    short = isinstance(a["events"][0], str)
    return {"service": a["service"], "document": a["document"], "commit": a["commit"], "date": a["date"],
            "from_date": a.get("from_date", ""), "tag": a["tag"],
            "events": a["events"] if short else [e.get("event") or e.get("what", "") for e in a["events"]],
            "sentence": a["sentence"] if short else _short(a["events"][0]["sentence"]),
            "judged": {"real": j["real"], "on_topic": j["on_topic"], "why": j["why"]},
            "true_alert": bool(j["real"] and j["on_topic"]), "reported": reported, "provenance": PROVENANCE}


def _short(s: str) -> str:
    s = " ".join(s.split())
    if len(s) <= SHORT:
        return s
    cut = s.rfind(" ", 0, SHORT)
    return s[:cut if cut > 40 else SHORT] + " …"


def _read(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="the database bench/history_truth.py imported into")
    ap.add_argument("--rows", type=Path, default=OUT / "history_rows.jsonl")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--judged", type=Path, action="append", default=[],
                    help="a judged sample whose judgements are kept (repeatable: later ones win)")
    ap.add_argument("--out", type=Path, default=OUT / "judge-sample.jsonl")
    ap.add_argument("--all", action="store_true", help="every alert of the rows not judged yet, instead of a draw")
    ap.add_argument("--fixture", action="store_true", help="write the fixture from the --judged samples, then stop")
    args = ap.parse_args()
    judged = {alert_id(a): a for path in args.judged if path.exists() for a in _read(path)
              if a["judged"]["real"] is not None}
    if args.fixture:
        now = {alert_id(a) for a in alerts(_read(args.rows))}
        lines = [fixture_line(a, alert_id(a) in now) for _, a in sorted(judged.items())]
        FIXTURE.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        shown = [x for x in lines if x["reported"]]
        true = sum(x["true_alert"] for x in shown)
        print(f"{FIXTURE}: {len(lines)} judged alerts; {len(shown)} still reported, {true} of them true "
              f"(precision {true / max(1, len(shown)):.3f})")
        return
    if args.db is None or not args.db.exists():
        sys.exit("judge_sample: --db must name the database bench/history_truth.py imported into")
    skip = reserved()
    pool = [a for a in alerts(_read(args.rows)) if a["service"] not in skip]
    sample = [a for a in pool if alert_id(a) not in judged] if args.all else draw(pool, args.n, args.seed, judged)
    for a in sample:
        a.setdefault("judged", {"real": None, "on_topic": None, "why": ""})
    with Store(args.db) as store:
        for a in sample:
            _context(store, a)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for a in sample:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    per_tag = {t: sum(a["tag"] == t for a in pool) for t in PRIORITY}
    print(f"{len(pool)} alerts ({per_tag}); sample of {len(sample)} -> {args.out}")


if __name__ == "__main__":
    main()
