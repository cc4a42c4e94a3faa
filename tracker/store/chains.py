"""Versions stored as line deltas (``tracker.store.delta``): choosing how a new version is stored, and
reading a stored version back through its chain of deltas (issue 20)."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.errors import TrackerError
from tracker.models import Clause
from tracker.store import delta
from tracker.store.codec import (
    PackedVersion,
    clauses_from_records,
    decode_clauses,
    decode_text,
    records_of_blob,
)
from tracker.store.connection import Connection

LINES_CACHED = 16  # decoded versions kept (a chain read in order, the latest version of a document being written)


@dataclass
class Lines:
    """A decoded version as deltas see it: its text's lines and its clause records, ``depth`` deltas from whole."""

    depth: int
    text: list[str]
    records: list[str]


@dataclass
class Stored:
    """How a new version is written: ``text`` and ``clauses`` as stored, ``base_id`` the version they are a
    delta of (None: whole), ``number`` its number in its document."""

    number: int
    text: str | bytes
    clauses: bytes
    base_id: int | None
    entry: Lines | None  # the decoded version, for the next one's delta (None: decoded when needed)


def whole_lines(text: str | bytes, clauses: bytes) -> tuple[list[str], list[str]]:
    """(text lines, clause records) of a version stored whole: a keyframe (``delta.encode_whole``), or
    zlib'd text and clauses as stored before migration 7."""
    if delta.is_whole(text):
        assert isinstance(text, bytes)
        return delta.decode_whole(text)
    return decode_text(text).split("\n"), records_of_blob(clauses)


class VersionChains(Connection):
    def _to_store(self, document_id: int, packed: PackedVersion, compact: bool = True) -> Stored:
        """A new version as its changes against the document's latest version when that is smaller,
        else whole: by a check, as packed (``codec.encode_text``, ``encode_clauses``: at zlib's best level,
        where the page was extracted); by an import, and every later keyframe, as ``delta.smallest_whole``
        (mostly text and clause records in one LZMA stream). A document's first version from a check is
        not decoded here (``entry`` None): nothing is its base yet."""
        latest = self.conn.execute("SELECT id, number FROM versions WHERE document_id=? ORDER BY number DESC "
                                   "LIMIT 1", (document_id,)).fetchone()
        if latest is None and not compact:
            # A document's first check: as packed (LZMA would add about 7 ms to every new document of a
            # first cycle, in the one writer thread, for bytes that the next keyframe saves instead).
            return Stored(1, packed.text, packed.clauses, None, None)
        number = latest[1] + 1 if latest else 1
        lines = decode_text(packed.text).split("\n")
        records = records_of_blob(packed.clauses)
        if latest is not None:
            base = self._lines(latest[0])
            if base is not None and base.depth + 1 < delta.MAX_DEPTH:
                d = delta.encode_version(base.text, base.records, lines, records)
                if len(d) < len(packed.text) + len(packed.clauses):
                    return Stored(number, d, b"", latest[0], Lines(base.depth + 1, lines, records))
        text, clauses = delta.smallest_whole(packed.text, packed.clauses, lines, records)
        return Stored(number, text, clauses, None, Lines(0, lines, records))

    def _remember(self, key: tuple[int, str], entry: Lines) -> None:
        cache = self.lines_cache
        cache[key] = entry
        cache.move_to_end(key)
        while len(cache) > LINES_CACHED:
            cache.popitem(last=False)

    def _lines(self, version_id: int) -> Lines | None:
        """A stored version's text lines and clause records, read through its chain of deltas (the
        decoded versions kept last are reused: reading versions in order decodes each delta once)."""
        chain: list[tuple[tuple[int, str], bytes]] = []
        vid: int | None = version_id
        entry: Lines | None = None
        while vid is not None:
            row = self.conn.execute("SELECT sha256, text, clauses, base_id FROM versions WHERE id=?", (vid,)).fetchone()
            if row is None:
                return None
            key = (vid, row[0])
            entry = self.lines_cache.get(key)
            if entry is not None:
                break
            if row[3] is None:
                entry = Lines(0, *whole_lines(row[1], row[2]))
                self._remember(key, entry)
                break
            chain.append((key, row[1]))
            vid = row[3]
        if entry is None:
            return None
        for key, text in reversed(chain):
            entry = Lines(entry.depth + 1, *delta.apply_version(entry.text, entry.records, text))
            self._remember(key, entry)
        return entry

    def _decoded(self, vid: int, digest: str, text: str | bytes, clauses: bytes, base_id: int | None,
                 with_clauses: bool = True) -> tuple[str, list[Clause]]:
        if base_id is None and not delta.is_whole(text) and (vid, digest) not in self.lines_cache:
            # stored whole in the format before migration 7 (a capture note's text, an older file): as it is
            return decode_text(text), decode_clauses(clauses) if with_clauses else []
        entry = self._lines(vid)
        if entry is None:
            raise TrackerError(f"version {vid}: its base version is missing (run `policy-tracker doctor`)")
        return "\n".join(entry.text), clauses_from_records(entry.records) if with_clauses else []
