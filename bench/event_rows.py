"""How many ai-training / biometrics report rows an imported history gives, and how many of them the
stored texts contradict (issue 15, item 1).

Usage: python bench/event_rows.py DB [--tag T ...] [--json] [--list N] [--recompute]

DB is a database filled by ``policy-tracker import-versions`` (e.g. of ../shared/history/contrib-dev.bundle
cloned somewhere). For each row of ``report --tag T`` (the rows the installed code builds), the row's
key sentence is looked up in the two stored versions of its change:

* an ``added`` row is contradicted when its sentence was already in the old version;
* a ``removed`` row is contradicted when its sentence is still in the new version;
* ``stance`` rows (document-level) and the older per-clause ``flipped`` / ``changed`` rows state no
  presence, and are only counted.

``--recompute`` reads the priority-tag events again from the two stored versions of every change
(``compare.events`` as it is now) instead of taking those stored with the change: to measure a change
of the event rules without importing the archive again (the clause diffs must be those of the code).

Sentences are compared by their words (case, punctuation and Markdown ignored); a key sentence cut with
"…" is looked up piece by piece. The script runs against whatever ``tracker`` is importable, so the
same figures can be taken with the code before and after a change (PYTHONPATH=old-tree).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from tracker.publish.report import build_rows
from tracker.store.database import Store

_WORDS = re.compile(r"\w+")


def words(text: str) -> str:
    return " " + " ".join(_WORDS.findall(text.casefold())) + " "


def present(sentence: str, doc: str) -> bool:
    """Every piece of ``sentence`` (split at ellipses) occurs, as whole words, in ``doc`` (a words())."""
    pieces = [words(p) for p in re.split(r"…|\.\.\.", sentence)]
    pieces = [p for p in pieces if len(p.split()) >= 3]
    return bool(pieces) and all(p in doc for p in pieces)


def _recomputed(store: Store) -> list:
    """Every change whose clause diff touches a priority tag, its events read again."""
    from tracker.compare.events import document_events, touched_tags

    out = []
    for rec in store.changes():
        if not touched_tags(rec.diff):
            rec.diff.events = []
            out.append(rec)
            continue
        old = store.get_version(rec.service, rec.type, rec.from_version)
        new = store.get_version(rec.service, rec.type, rec.to_version)
        rec.diff.events = document_events(old.clauses, new.clauses, rec.diff, new.lang)
        out.append(rec)
    return out


def measure(db: Path, tags: list[str], show: int = 0, recompute: bool = False) -> dict:
    out: dict = {}
    with Store(db) as store:
        texts: dict[tuple[str, str, int], str] = {}

        def text(service: str, type_: str, number: int) -> str:
            key = (service, type_, number)
            if key not in texts:
                v = store.get_version(service, type_, number)
                texts[key] = words("\n".join(c.text for c in v.clauses)) if v is not None else " "
            return texts[key]

        records = _recomputed(store) if recompute else None
        for tag in tags:
            chosen = ([r for r in records if tag in r.diff.tags()] if records is not None else store.changes(tag=tag))
            rows = build_rows(chosen, tag=tag)
            kinds = Counter(r.direction for r in rows)
            wrong = []
            for r in rows:
                if r.direction == "added" and present(r.text, text(r.service, r.type, r.from_version)):
                    wrong.append(r)
                elif r.direction == "removed" and present(r.text, text(r.service, r.type, r.to_version)):
                    wrong.append(r)
            out[tag] = {"rows": len(rows), "by_direction": dict(sorted(kinds.items())),
                        "contradicted": len(wrong), "changes": len({r.change_id for r in rows}),
                        "documents": len({(r.service, r.type) for r in rows})}
            for r in wrong[:show]:
                print(f"  {tag} {r.date} {r.service} / {r.type} v{r.from_version}->v{r.to_version} "
                      f"{r.direction}: {r.text[:140]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--tag", action="append", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--list", type=int, default=0, help="print up to N contradicted rows per tag")
    ap.add_argument("--recompute", action="store_true", help="read the events again from the stored versions")
    a = ap.parse_args()
    res = measure(a.db, a.tag or ["ai-training", "biometrics"], a.list, a.recompute)
    if a.json:
        print(json.dumps(res, indent=2))
        return
    for tag, r in res.items():
        print(f"{tag}: {r['rows']} rows ({r['by_direction']}) in {r['changes']} changes of {r['documents']} "
              f"documents; contradicted by the stored texts: {r['contradicted']}")


if __name__ == "__main__":
    main()
