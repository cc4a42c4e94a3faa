"""The one-time events backfill (tracker/backfill.py) on a real imported database.

    python bench/backfill.py IMPORTED.db

IMPORTED.db: a database made by this release's ``import-versions`` (e.g. of a few services of
../shared/history/contrib-dev.bundle). The script works on copies. It prints:

* the cost of the look at a database of this release (every diff unpacked once, nothing to compute);
* the cost of the backfill on the same changes stored as the release before events stored them (their
  ``events`` and ``note`` keys taken out of each diff, the meta flag removed), against the time the
  check step's ``analyse`` takes to diff, tag and read the events of the same pairs of versions
  (what re-importing them would cost, without the parsing);
* whether the backfilled events are those the import stored (they must be: the same function).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.backfill import FLAG, backfill_events  # noqa: E402
from tracker.check import analyse  # noqa: E402
from tracker.store.codec import unpack  # noqa: E402
from tracker.store.database import Store  # noqa: E402


def events_by_change(db: Path) -> dict[int, list]:
    with sqlite3.connect(db) as conn:
        return {cid: unpack(blob).get("events")
                for cid, blob in conn.execute("SELECT id, diff FROM changes")}


def strip(db: Path) -> None:
    """Make the diffs as the release before events stored them."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, diff FROM changes").fetchall()
        for cid, blob in rows:
            d = unpack(blob)
            d.pop("events", None)
            d.pop("note", None)
            conn.execute("UPDATE changes SET diff=? WHERE id=?",
                         (zlib.compress(json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode(), 6), cid))
        conn.execute(f"DELETE FROM meta WHERE key='{FLAG}'") if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() else None


def main() -> int:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        current, old = Path(tmp) / "current.db", Path(tmp) / "old.db"
        shutil.copyfile(sys.argv[1], current)
        shutil.copyfile(sys.argv[1], old)
        with Store(current) as store:
            store.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            store.conn.execute(f"DELETE FROM meta WHERE key='{FLAG}'")
            n = store.count_changes()
            t = time.perf_counter()
            assert backfill_events(store) is None
            look = time.perf_counter() - t
        print(f"{n} changes; a database of this release: looked at once in {look:.2f} s, nothing to compute")
        stored = events_by_change(old)
        strip(old)
        with Store(old) as store:
            t = time.perf_counter()
            done = backfill_events(store)
            took = time.perf_counter() - t
            assert done is not None
            t = time.perf_counter()
            for rec in store.changes(significant_only=False):
                if rec.tags and not rec.diff.note:
                    a = store.version_by_number(rec.document_id, rec.from_version)
                    b = store.version_by_number(rec.document_id, rec.to_version)
                    if a is not None and b is not None:
                        analyse(a.clauses, b.clauses, b.lang)
            baseline = time.perf_counter() - t
        print(f"backfill of {done.changes} changes stored without events: {took:.2f} s, {done.events} events "
              f"(the check step's analyse of the same pairs: {baseline:.2f} s; ratio {took / baseline:.2f})")
        again = events_by_change(old)
        same = sum(1 for cid in stored if stored[cid] == again[cid])
        print(f"events identical to those the import stored: {same} of {len(stored)} changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
