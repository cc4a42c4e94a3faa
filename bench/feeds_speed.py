"""build_feeds after a changed cycle, and load_rules in a fresh process: median wall times.

A store with ``--services`` documents and ``--history`` stored changes is built once and its feeds
folder rendered; each repetition copies both, adds ``--new`` changes (the changed cycle: a few
documents got a clause edited) and times ``build_feeds`` on the copy. "full" is the same build into
an empty folder (what every rebuild cost before the manifest). Texts are written here (synthetic
clauses), tagged by the real tagger.

    .venv/bin/python bench/feeds_speed.py [--services 200] [--history 20] [--new 20] [--reps 5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.compare.diff import word_edits  # noqa: E402
from tracker.compare.tag import tag_changes  # noqa: E402
from tracker.models import Change, Clause, DiffResult, Document  # noqa: E402
from tracker.publish.build import build_feeds  # noqa: E402
from tracker.store.database import Store  # noqa: E402

SENTENCES = [
    "We may use the content you post to train and improve our artificial intelligence models.",
    "We do not use your private messages to train machine learning models.",
    "With your consent we collect a faceprint from photos you upload to verify your identity.",
    "We share your information with advertising partners who measure the ads you see.",
    "We keep your information for as long as your account is active and for two years after.",
    "You can ask us to delete your data or send you a copy at any time.",
    "We may disclose information to law enforcement when required by a valid legal process.",
    "We collect your precise location when you enable location services on your device.",
    "Our services are not directed to children under 13 and we do not knowingly collect their data.",
    "Any dispute will be resolved by binding arbitration on an individual basis.",
    "We update this policy from time to time and post the new version on this page.",
    "Cookies help us remember your preferences and keep you signed in.",
]


def _clause(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, 2)) + f" Reference {rng.randrange(10**6)}."


def _diff(rng: random.Random) -> DiffResult:
    changes = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["added", "removed", "modified"])
        if kind == "added":
            changes.append(Change(kind="added", section="Your data", old=None, new=_clause(rng)))
        elif kind == "removed":
            changes.append(Change(kind="removed", section="Your data", old=_clause(rng), new=None))
        else:
            old = _clause(rng)
            new = old.replace("may", "will").replace("We ", "We and our affiliates ") + " More words here."
            changes.append(Change(kind="modified", section="How we use it", old=old, new=new, similarity=0.8,
                                  edits=word_edits(old, new)))
    return tag_changes(DiffResult(changes=changes), lang="en")


class Seeder:
    def __init__(self, store: Store, services: int, seed: int = 1) -> None:
        self.store = store
        self.rng = random.Random(seed)
        docs = [Document(service=f"Service {i:04d}", type="Privacy Policy", url=f"https://s{i}.example.test/p")
                for i in range(services)]
        self.rows = list(store.ensure_documents(docs).values())
        self.at = 1_770_000_000.0
        with store.transaction():
            for r in self.rows:
                store.add_version(r.id, text="v1", clauses=[Clause("a", "v1", "v1")], recorded_at=self.at)

    def changes(self, n: int) -> None:
        with self.store.transaction():
            for row in self.rng.sample(self.rows, n):
                self.at += 60
                prev = self.store.latest_version_number(row.id)
                v = self.store.add_version(row.id, text=f"t{self.at}", clauses=[Clause("b", "x", "x")],
                                           recorded_at=self.at)
                self.store.add_change(row.id, prev, v.number, _diff(self.rng), detected_at=self.at)


BASE = "https://feeds.example.test/"


def timed_build(store: Store, folder: Path) -> float:
    t = time.perf_counter()
    build_feeds(store, folder, base_url=BASE)
    return time.perf_counter() - t


def bench_feeds(services: int, history: int, new: int, reps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = Store(tmp / "seed.db")
        seeder = Seeder(store, services)
        for _ in range(0, history, new):
            seeder.changes(min(new, history))
        build_feeds(store, tmp / "seed-feeds", base_url=BASE)
        store.close()
        changed, full, nothing = [], [], []
        for k in range(reps):
            db = tmp / f"r{k}.db"
            shutil.copy(tmp / "seed.db", db)
            folder = tmp / f"r{k}-feeds"
            shutil.copytree(tmp / "seed-feeds", folder)
            with Store(db) as st:
                s = Seeder.__new__(Seeder)
                s.store, s.rng, s.at = st, random.Random(100 + k), seeder.at
                s.rows = st.documents()
                s.changes(new)
                changed.append(timed_build(st, folder))
                nothing.append(timed_build(st, folder))
                full.append(timed_build(st, tmp / f"r{k}-full"))
    return {"changed": statistics.median(changed), "unchanged": statistics.median(nothing),
            "full": statistics.median(full)}


def bench_rules(reps: int) -> float:
    code = ("import time, tracker.compare.tag as T; t = time.perf_counter(); T.load_rules(); "
            "print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 cwd=ROOT).stdout) for _ in range(reps)]
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--history", type=int, default=20)
    ap.add_argument("--new", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    f = bench_feeds(a.services, a.history, a.new, a.reps)
    print(f"build_feeds, {a.services} services, {a.history} stored + {a.new} new changes (median of {a.reps}):")
    print(f"  changed cycle {f['changed'] * 1000:7.1f} ms   no new change {f['unchanged'] * 1000:7.1f} ms   "
          f"full build into an empty folder {f['full'] * 1000:7.1f} ms   "
          f"changed/full {f['changed'] / f['full']:.2f}")
    print(f"load_rules() in a fresh process: {bench_rules(a.reps) * 1000:.1f} ms (median of {a.reps})")


if __name__ == "__main__":
    main()
