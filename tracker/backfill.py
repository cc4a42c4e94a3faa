"""Changes stored before priority-tag events existed are given them, once.

A database written by a release before the document-level events (``DiffResult.events``, issue 15)
holds changes whose stored diff has no events, so their titles, change pages, feed entries and
report rows would never name the AI-training or biometrics news ("3 clauses changed (Data
retention)" for a change that added an AI-training sentence). The first command that opens such a
file (``Config.store`` in tracker/cli/main.py: every command but ``doctor``, which writes nothing)
computes them from the change's two stored versions with the check step's own function
(``check.change_events``: nothing about what an event is is decided here), lists the change under
the tags the check step would list it under now, and records in the file that it is done (meta key
``events-backfilled``), so it never runs again. No schema change: the events go into the stored
diff, as they do for a change stored today.

A change that is a capture artefact (it has a note: a revert, a re-baseline) or is listed under no
tag keeps no events, as the check step stores such changes. Work is committed in batches, so an
interruption keeps what was done and the next command finishes it.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from tracker.store.database import Store, now_ts

FLAG = "events-backfilled"
BATCH = 200  # changes per commit


@dataclass
class Backfill:
    """What one backfill did."""

    changes: int = 0  # changes given their events (possibly none: no priority-tag news)
    events: int = 0  # events found
    seconds: float = 0.0
    error: str = ""  # why it could not be written (a read-only or locked file): tried again next time

    def line(self) -> str:
        if self.error:
            return (f"{self.changes} change(s) stored by an earlier release lack their AI-training and "
                    f"biometrics events, which could not be stored now ({self.error}); titles and feeds "
                    "omit them until a command can write the database")
        return (f"computed the AI-training and biometrics events of {self.changes} change(s) stored by an "
                f"earlier release ({self.events} event(s), {self.seconds:.1f} s; done once)")


def backfill_events(store: Store) -> Backfill | None:
    """Give every stored change without events its events; None when there was nothing to do."""
    if store.meta_value(FLAG):
        return None
    start = time.perf_counter()
    todo = store.changes_without_events()
    out = Backfill(changes=len(todo))
    if not todo:  # a database made by this release, or one done by another process
        try:
            store.set_meta_value(FLAG, str(now_ts()))
        except sqlite3.Error:  # read-only or locked: nothing is missing anyway; looked at again next time
            pass
        return None
    try:
        with store.transaction():
            todo = store.changes_without_events()  # again under the write lock: another process may have done it
            for n, change_id in enumerate(todo, 1):
                out.events += _fill(store, change_id)
                if n % BATCH == 0:
                    store.commit_and_continue()
            store.set_meta_value(FLAG, str(now_ts()))
    except sqlite3.Error as e:  # read-only, locked, damaged: the command goes on and meets it itself
        out.error = str(e)
        return out
    out.changes, out.seconds = len(todo), time.perf_counter() - start
    return out if todo else None


def _fill(store: Store, change_id: int) -> int:
    """Compute and store one change's events; their number."""
    from tracker.check import change_events
    from tracker.compare.events import touched_tags

    record = store.change(change_id)
    if record is None:
        return 0
    diff = record.diff
    diff.events = []
    artefact = bool(diff.note) or not record.tags
    if not artefact and touched_tags(diff):  # otherwise there is nothing to read: no need to decode the versions
        old = store.version_by_number(record.document_id, record.from_version)
        new = store.version_by_number(record.document_id, record.to_version)
        if old is not None and new is not None:
            # The clauses the diff was made of: the releases that stored diffs without events compared
            # the versions as stored (doubled pages are compared once only since events exist).
            diff.events = change_events(old.clauses, new.clauses, diff, new.lang)
    store.replace_change_diff(change_id, diff, [] if artefact else diff.tags())
    return len(diff.events)
