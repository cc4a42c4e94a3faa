"""What the ``doctor`` command examines: is this installation sound, and what needs a person?

Each finding is one line a person can act on: the database file (SQLite's integrity check, the schema
number, the project's own invariants: every version's snapshot, every change's versions, every stored
text readable), the feeds folder (published by this database, up to date with it), the declarations
(every file valid), the browser (there when a declaration needs it), the notification outbox (nothing
waiting for long) and the documents (none failing for long). Nothing is written or repaired here:
the findings say which command repairs what.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Level = Literal["ok", "warn", "fail"]
LONG_FAILING = 3 * 86400  # a document failing this long needs a person (its page moved, its selector broke)
OUTBOX_LATE = 86400  # a notification undelivered this long: a channel is broken


@dataclass
class Finding:
    level: Level
    what: str
    detail: str = ""
    document: bool = False  # about one document (exit 3 when failing), not the installation (exit 2)

    def line(self) -> str:
        from tracker.publish.termsafe import safe_line

        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[self.level]
        return f"{mark}  {safe_line(self.what, 160)}" + (f": {safe_line(self.detail, 400)}" if self.detail else "")

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _ago(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(seconds, 0) / 60:.0f} minutes"


def examine(db: Path, policies: Path, feeds: Path, broken_after: int = 3, now: float | None = None) -> list[Finding]:
    """Every finding, in the order a person would look (the database first: nothing else is
    examined on a database that cannot be opened)."""
    from tracker.errors import TrackerError
    from tracker.store.database import Store

    now = time.time() if now is None else now
    out: list[Finding] = []
    if not db.exists():
        return [Finding("fail", f"database {db}", "does not exist (run `policy-tracker check` to make it)")]
    try:
        store = Store(db, read_only=True)  # a file it may not write is examined all the same
    except TrackerError as e:
        return [Finding("fail", f"database {db}", str(e).removeprefix(f"{db}: "))]
    with store:
        try:
            out += _database(store)
        except sqlite3.DatabaseError as e:  # pages so damaged that even the check cannot read them
            out.append(Finding("fail", f"database {db}", f"damaged ({e}): restore a backup, or copy what is "
                                                         "readable with `sqlite3 tracker.db .recover`"))
        if any(f.level == "fail" for f in out):
            return out
        docs, declarations, problems = _declarations(policies)
        from tracker.sources.declarations import former_names

        out += _feeds(store, feeds, broken_after, problems, former_names(docs))
        out += declarations
        out += _browser(docs)
        out += _outbox(store, now)
        out += _documents(store, now, broken_after)
    return out


def _database(store) -> list[Finding]:
    where = f"database {store.path}"
    bad = store.integrity()
    if bad:
        return [Finding("fail", where, f"SQLite integrity check failed ({'; '.join(bad[:3])}): restore a backup, "
                                       "or copy what is readable with `sqlite3 tracker.db .recover`")]
    out = [Finding("ok", where, "SQLite integrity check passed")]
    have, want = store.schema_version()
    if have != want:
        out.append(Finding("fail", "schema", f"file is at schema {have}, this release at {want}"))
    else:
        out.append(Finding("ok", "schema", f"version {have}"))
    broken = {k: n for k, n in store.broken_links().items() if n}
    unreadable = 0
    for vid in store.version_ids():
        try:
            store.version_clauses(vid)
        except Exception:  # noqa: BLE001 - any decoding failure is a finding, not a crash
            unreadable += 1
    if unreadable:
        broken["versions whose clauses cannot be read"] = unreadable
    if broken:
        out.append(Finding("fail", "stored history", ", ".join(f"{n} {k}" for k, n in broken.items())))
    else:
        out.append(Finding("ok", "stored history", "every version readable, with its snapshot; every change "
                                                   "with its two versions"))
    return out


def _feeds(store, feeds: Path, broken_after: int, problems: list[str], aliases: dict[str, str]) -> list[Finding]:
    from tracker.publish.build import out_of_date
    from tracker.publish.folder import OWNER, feeds_owner

    where = f"feeds {feeds}"
    if not feeds.exists():
        return [Finding("warn", where, "not built yet (run `policy-tracker feeds`)")]
    owner = feeds_owner(feeds)
    ident = store.identity()
    if owner is not None and owner != ident:
        return [Finding("fail", where, f"published from another database ({owner[:12]}, this one is {ident[:12]}); "
                                       "`policy-tracker feeds --rebuild` replaces them with this database's")]
    stale, extra = out_of_date(store, feeds, broken_after=broken_after, problems=problems, aliases=aliases)
    if stale or extra:
        sample = ", ".join((stale + extra)[:3])
        return [Finding("warn", where, f"{len(stale)} file(s) out of date, {len(extra)} not from this database "
                                       f"({sample}); `policy-tracker feeds` brings them up to date")]
    note = "" if owner else f" (no {OWNER} record yet: the next build writes it)"
    return [Finding("ok", where, "up to date with the database" + note)]


def _declarations(policies: Path) -> tuple[list, list[Finding], list[str]]:
    from tracker.errors import TrackerError
    from tracker.sources.declarations import read_policies

    where = f"declarations {policies}"
    try:
        docs, problems = read_policies(policies)
    except TrackerError as e:
        return [], [Finding("fail", where, str(e))], []
    if problems:
        more = f" (and {len(problems) - 1} more: `policy-tracker validate`)" if len(problems) > 1 else ""
        return docs, [Finding("fail", where, f"{len(problems)} problem(s), those files are skipped: "
                                             f"{problems[0]}{more}")], problems
    return docs, [Finding("ok", where, f"{len(docs)} document(s) declared, every file valid")], []


def _browser(docs: list) -> list[Finding]:
    from tracker.capture.browser import find_chromium

    need = [d for d in docs if d.browser]
    found = find_chromium()
    if need and not found:
        return [Finding("fail", "browser", f"{len(need)} document(s) declare browser = true but no Chromium was "
                                           "found (install chromium, or set POLICY_TRACKER_CHROMIUM)")]
    if need:
        return [Finding("ok", "browser", f"{found} for {len(need)} document(s)")]
    return [Finding("ok", "browser", found or "not needed (no document declares browser = true)")]


def _outbox(store, now: float) -> list[Finding]:
    waiting, oldest = store.outbox_backlog()
    if not waiting:
        return [Finding("ok", "notifications", "nothing waiting")]
    age = now - (oldest or now)
    level: Level = "warn" if age >= OUTBOX_LATE else "ok"
    return [Finding(level, "notifications", f"{waiting} waiting, the oldest for {_ago(age)} (retried by the next "
                                            "check or run with --notify)")]


def _documents(store, now: float, broken_after: int) -> list[Finding]:
    from tracker.publish.termsafe import safe_line

    rows = store.documents()
    failing = [d for d in rows if d.last_state == "failed" and d.consecutive_failures >= broken_after]
    if not failing:
        return [Finding("ok", "documents", f"{len(rows)} stored, none failing {broken_after} times in a row")]
    out = []
    for d in failing:
        since = now - d.last_version_at if d.last_version_at else None
        level: Level = "fail" if since is not None and since >= LONG_FAILING else "warn"
        last = f"last version {_ago(since)} ago" if since is not None else "no version yet"
        out.append(Finding(level, f"{safe_line(d.service, 80)} / {safe_line(d.type, 60)}",
                           f"failed {d.consecutive_failures} times in a row ({d.last_reason}: "
                           f"{safe_line(d.last_error or '', 120)}); {last}", document=True))
    return out


def exit_status(findings: list[Finding]) -> int:
    """0 sound; 3 some document failing for long (as `check`); 2 a broken file or folder."""
    if any(f.level == "fail" and not f.document for f in findings):
        return 2
    if any(f.level == "fail" for f in findings):
        return 3
    return 0
