"""How a version is stored: its text and clauses, compact, compressed, and read back exactly.

Kept apart from the database code so that the process extracting a page (see :mod:`tracker.pool`)
can also pack it, and the process holding the database only inserts bytes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

from tracker.errors import TrackerError
from tracker.models import Clause, Extracted


def clause_id(norm: str) -> str:
    """Short stable id of a normalised clause (12 hex digits of BLAKE2b): same wording, same id.

    Defined here, with the storage format that leaves derivable ids out, so that reading stored
    clauses does not import (and compile the regular expressions of) :mod:`tracker.text.normalise`.
    """
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=6).hexdigest()


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


COMPRESSION = 1  # zlib level: 2.6x faster than 6 on policy pages for ~25% more bytes


def pack(obj: object) -> bytes:
    return zlib.compress(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), COMPRESSION)


def unpack(blob: bytes | None) -> object:
    if blob is None:
        return None
    return json.loads(zlib.decompress(blob).decode("utf-8"))


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

CLAUSES_FORMAT = 2


def encode_clauses(clauses: list[Clause], ids_derived: bool = False) -> bytes:
    """Clauses -> the ``versions.clauses`` blob (format 2), about half the bytes and CPU of a list of dicts.

    ``{"v": 2, "sections": [path, ...], "rows": [[id, text, norm, section, kind, metadata, context], ...]}``:
    ``section`` indexes ``sections``; ``id`` is null when it equals ``clause_id(norm)``; ``norm`` is null
    when it equals ``text.casefold()``, an int k when it equals ``text.casefold()[k:]`` (a stripped
    enumerator such as "2.1 "), else the norm itself. Every shortcut is checked here, so reading is exact;
    ``ids_derived`` says the ids are known to be ``clause_id(norm)`` (clauses fresh from extraction, which
    makes them so), which skips hashing every clause a second time.
    """
    sections: dict[tuple[str, ...], int] = {}
    rows = []
    for c in clauses:
        norm = c.norm
        folded = c.text.casefold()
        if norm == folded:
            n: str | int | None = None
        elif folded.endswith(norm):
            n = len(folded) - len(norm)
        else:
            n = norm
        rows.append([None if ids_derived or c.id == clause_id(norm) else c.id, c.text, n,
                     sections.setdefault(c.section, len(sections)), c.kind, c.metadata, c.context])
    blob = _encode_json({"v": CLAUSES_FORMAT, "sections": list(sections), "rows": rows})
    return zlib.compress(blob.encode("utf-8"), COMPRESSION)


def decode_clauses(blob: bytes) -> list[Clause]:
    """A ``versions.clauses`` blob -> clauses: format 2, or the list of ``Clause.to_dict()`` before it."""
    data = json.loads(zlib.decompress(blob))
    if isinstance(data, list):  # format 1
        return [Clause.from_dict(d) for d in data]
    if data.get("v") != CLAUSES_FORMAT:
        raise TrackerError(f"clauses stored in format {data.get('v')!r}: made by a newer policy-tracker; upgrade")
    sections = [tuple(s) for s in data["sections"]]
    out = []
    for id_, text, n, section, kind, metadata, context in data["rows"]:
        if n is None:
            norm = text.casefold()
        elif type(n) is int:
            norm = text.casefold()[n:]
        else:
            norm = n
        out.append(Clause(clause_id(norm) if id_ is None else id_, text, norm, sections[section], kind, metadata, context))
    return out


def clause_count(blob: bytes) -> int:
    data = json.loads(zlib.decompress(blob))
    return len(data) if isinstance(data, list) else len(data["rows"])


def encode_text(text: str) -> str | bytes:
    """A version's text for ``versions.text``: zlib bytes (about a fifth of the size), or the string itself
    when compressing would not make it smaller (short texts)."""
    raw = text.encode("utf-8")
    packed = zlib.compress(raw, COMPRESSION)
    return packed if len(packed) < len(raw) else text


def decode_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else zlib.decompress(value).decode("utf-8")


@dataclass(frozen=True)
class PackedVersion:
    """A version ready to insert: what ``versions`` stores, computed once, wherever it is cheapest."""

    sha256: str  # of the text: "same text" is decided on it
    text: str | bytes  # encode_text
    clauses: bytes  # encode_clauses
    length: int  # characters of text
    lang: str | None = None  # the page's own language, when it declares one
    title: str | None = None
    snapshot: bytes | None = None  # the raw page, compressed for the snapshots table

    def decode_clauses(self) -> list[Clause]:
        """The clauses: those it was packed from when still at hand (same process), else decoded."""
        kept = self.__dict__.get("_clauses")
        return list(kept) if kept is not None else decode_clauses(self.clauses)

    def __getstate__(self) -> dict:
        # Sent to another process without the clause objects: the bytes are what crosses.
        return {k: v for k, v in self.__dict__.items() if k != "_clauses"}


def pack_version(text: str, clauses: list[Clause], lang: str | None = None, title: str | None = None,
                 raw: bytes | None = None, ids_derived: bool = False) -> PackedVersion:
    """Pack a version; ``raw``, the page it was extracted from, is compressed for its snapshot."""
    packed = PackedVersion(sha256(text), encode_text(text), encode_clauses(clauses, ids_derived), len(text), lang,
                           title, zlib.compress(raw, COMPRESSION) if raw is not None else None)
    object.__setattr__(packed, "_clauses", tuple(clauses))  # not a field: not compared, not pickled
    return packed


def pack_extracted(extracted: Extracted, raw: bytes | None = None) -> PackedVersion:
    """Pack what the extractors of ``tracker.text`` made (its clause ids are always ``clause_id(norm)``)."""
    return pack_version(extracted.text, extracted.clauses, extracted.lang, extracted.title, raw, ids_derived=True)
