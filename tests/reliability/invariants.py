"""What must hold in a store and a feeds folder whatever happened to the processes writing them.

Read straight from the files (sqlite3, lxml), never through the code under test, so that a bug in
the store's own readers cannot hide a broken database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from tracker.store.database import Store


@dataclass
class StoreReport:
    integrity: str = "ok"
    versions: int = 0
    changes: int = 0
    checks: int = 0
    duplicates: list[str] = field(default_factory=list)  # same document + same text, consecutive versions
    without_text: list[str] = field(default_factory=list)
    without_clauses: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # version numbers not 1..n
    without_change: list[str] = field(default_factory=list)  # version n > 1 with no change row n-1 -> n
    dangling: list[str] = field(default_factory=list)  # rows pointing at versions that do not exist

    @property
    def problems(self) -> list[str]:
        out = [] if self.integrity == "ok" else [f"integrity_check: {self.integrity}"]
        for name in ("duplicates", "without_text", "without_clauses", "gaps", "without_change", "dangling"):
            out += [f"{name}: {x}" for x in getattr(self, name)]
        return out


def check_store(db: Path) -> StoreReport:
    r = StoreReport()
    con = sqlite3.connect(db, timeout=30)  # read-write: a crashed WAL may need recovery
    try:
        r.integrity = "; ".join(row[0] for row in con.execute("PRAGMA integrity_check"))
        r.checks = con.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
        r.changes = con.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
        rows = con.execute("SELECT document_id, number, sha256 FROM versions "
                           "ORDER BY document_id, number").fetchall()
        store = Store(db)  # texts and clauses as the tracker reads them (whole or through deltas)
        r.versions = len(rows)
        changes = {(d, f, t) for d, f, t in con.execute("SELECT document_id, from_version, to_version FROM changes")}
        seen: dict[int, list[int]] = {}
        prev: dict[int, str] = {}
        for doc, number, digest in rows:
            label = f"document {doc} v{number}"
            if prev.get(doc) == digest:
                r.duplicates.append(label)
            prev[doc] = digest
            seen.setdefault(doc, []).append(number)
            try:
                version = store.version_by_number(doc, number)
            except Exception:  # noqa: BLE001 - an unreadable version is a finding
                version = None
            if version is None or not version.text.strip():
                r.without_text.append(label)
            if version is None or not version.clauses:
                r.without_clauses.append(label)
            if number > 1 and (doc, number - 1, number) not in changes:
                r.without_change.append(label)
        for doc, numbers in seen.items():
            if numbers != list(range(1, len(numbers) + 1)):
                r.gaps.append(f"document {doc}: {numbers}")
        existing = {(d, n) for d, n, *_ in rows}
        for d, f, t in changes:
            if (d, f) not in existing or (d, t) not in existing:
                r.dangling.append(f"change document {d} v{f}->v{t}")
        for cid, vid in con.execute("SELECT c.id, c.version_id FROM checks c WHERE c.version_id IS NOT NULL "
                                    "AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.id = c.version_id)"):
            r.dangling.append(f"check {cid} -> version id {vid}")
        store.close()
    finally:
        con.close()
    return r


@dataclass
class FeedsReport:
    files: int = 0
    broken: list[str] = field(default_factory=list)
    temporary: int = 0  # leftovers of an interrupted atomic write (never read as feeds)


def check_feeds(folder: Path) -> FeedsReport:
    """Every feed parses as XML; every HTML page is complete (ends with </html>)."""
    r = FeedsReport()
    if not folder.exists():
        return r
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.name.startswith(".tmp") or p.name.endswith(".tmp"):
            r.temporary += 1
            continue
        r.files += 1
        data = p.read_bytes()
        if p.suffix in (".atom", ".rss", ".xml"):
            try:
                etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError as e:
                r.broken.append(f"{p.relative_to(folder)}: {e}")
        elif p.suffix == ".html" and not data.rstrip().lower().endswith(b"</html>"):
            r.broken.append(f"{p.relative_to(folder)}: incomplete HTML ({len(data)} bytes)")
    return r
