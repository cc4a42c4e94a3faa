"""How a version is stored: its text and clauses, compact, compressed, and read back exactly.

Kept apart from the database code so that the process extracting a page (see :mod:`tracker.pool`)
can also pack it, and the process holding the database only inserts bytes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from functools import lru_cache

from tracker.errors import TrackerError
from tracker.models import Clause, Extracted
from tracker.store.delta import WHOLE_LEVEL


@lru_cache(maxsize=8192)  # versions of a document share most clauses: reading one after another hashes each once
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


COMPRESSION = 1  # zlib level of page snapshots: 2.6x faster than 6 on policy pages for ~25% more bytes
# A version's text and clauses are compressed once, at zlib's best level (WHOLE_LEVEL), where the page
# is extracted (a worker process): kept whole they are most of a database (issue 20), and the process
# that stores them, which writes every version of a cycle in turn, then has nothing to compress again.


def pack(obj: object, level: int = COMPRESSION) -> bytes:
    return zlib.compress(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), level)


def pack_diff(obj: object) -> bytes:
    """A diff for ``changes.diff``: zlib's best level with the preset dictionary of diffs (``diff_zdict``),
    about 10% smaller than without."""
    from tracker.store.diff_zdict import DIFF_ZDICT

    co = zlib.compressobj(9, zdict=DIFF_ZDICT)
    return co.compress(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + co.flush()


def _inflate(blob: bytes) -> bytes:
    if len(blob) > 1 and blob[1] & 0x20:  # FDICT: made with a preset dictionary (``pack_diff``)
        from tracker.store.diff_zdict import DIFF_ZDICT

        if blob[2:6] != zlib.adler32(DIFF_ZDICT).to_bytes(4, "big"):
            raise TrackerError("a stored diff was compressed with an unknown dictionary: made by a newer "
                               "policy-tracker; upgrade")
        d = zlib.decompressobj(zdict=DIFF_ZDICT)
        return d.decompress(blob) + d.flush()
    return zlib.decompress(blob)


def unpack(blob: bytes | None) -> object:
    if blob is None:
        return None
    return json.loads(_inflate(blob).decode("utf-8"))


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

CLAUSES_FORMAT = 3
_FORMAT3 = b'{"v":3}\n'


def clause_records(clauses: list[Clause], ids_derived: bool = False) -> list[str]:
    """Clauses -> one compact JSON line each (format 3), the unit that versions of a document share.

    ``[id, text, norm, section, kind, metadata, context]``: ``id`` is null when it equals
    ``clause_id(norm)``; ``norm`` is null when it equals ``text.casefold()``, an int k when it equals
    ``text.casefold()[k:]`` (a stripped enumerator such as "2.1 "), else the norm itself. Every
    shortcut is checked here, so reading is exact; ``ids_derived`` says the ids are known to be
    ``clause_id(norm)`` (clauses fresh from extraction, which makes them so), which skips hashing
    every clause a second time. One line per clause (JSON escapes every newline) is what lets a
    version be stored as the lines it changes against the version before (:mod:`tracker.store.delta`):
    an unchanged clause is the same line in both.
    """
    out = []
    for c in clauses:
        norm = c.norm
        folded = c.text.casefold()
        if norm == folded:
            n: str | int | None = None
        elif folded.endswith(norm):
            n = len(folded) - len(norm)
        else:
            n = norm
        out.append(_encode_json([None if ids_derived or c.id == clause_id(norm) else c.id, c.text, n,
                                 list(c.section), c.kind, c.metadata, c.context]))
    return out


def _stored_norm(text: str, n: int | str | None) -> str:
    """A clause's normalised text from how it was stored: None (the folded text), an offset into the
    folded text, or the normalised text itself (see ``clause_records``)."""
    if n is None:
        return text.casefold()
    if type(n) is int:
        return text.casefold()[n:]
    return str(n)


def clauses_from_records(records: list[str]) -> list[Clause]:
    out = []
    loads = json.loads
    for line in records:
        id_, text, n, section, kind, metadata, context = loads(line)
        norm = _stored_norm(text, n)
        out.append(Clause(clause_id(norm) if id_ is None else id_, text, norm, tuple(section), kind, metadata, context))
    return out


def encode_clauses(clauses: list[Clause], ids_derived: bool = False) -> bytes:
    """Clauses -> a standalone ``versions.clauses`` blob (format 3): zlib of a header line and one record a line."""
    return zlib.compress(_FORMAT3 + "\n".join(clause_records(clauses, ids_derived)).encode("utf-8"), WHOLE_LEVEL)


def records_of_blob(blob: bytes) -> list[str]:
    """A standalone clauses blob (any format) -> its clause records (format 3 lines)."""
    data = zlib.decompress(blob)
    if data.startswith(_FORMAT3):
        body = data[len(_FORMAT3):].decode("utf-8")
        return body.split("\n") if body else []
    return clause_records(_decode_json_clauses(data))


def _decode_json_clauses(data: bytes) -> list[Clause]:
    """Format 2 (distinct sections once, then rows), which files of schemas 3 to 5 hold. Format 1 (a bare
    list, written by development versions at schemas 1 and 2) is refused: those files are (``schema.migrate``)."""
    parsed = json.loads(data)
    if isinstance(parsed, list):
        raise TrackerError("clauses stored in format 1 by a development version of policy-tracker, which this "
                           "release does not read: start a new database (or import the history again)")
    if parsed.get("v") != 2:
        raise TrackerError(f"clauses stored in format {parsed.get('v')!r}: made by a newer policy-tracker; upgrade")
    sections = [tuple(s) for s in parsed["sections"]]
    out = []
    for id_, text, n, section, kind, metadata, context in parsed["rows"]:
        norm = _stored_norm(text, n)
        out.append(Clause(clause_id(norm) if id_ is None else id_, text, norm, sections[section], kind, metadata, context))
    return out


def decode_clauses(blob: bytes) -> list[Clause]:
    """A standalone clauses blob -> clauses: format 3, or formats 1 and 2 written by earlier releases."""
    data = zlib.decompress(blob)
    if data.startswith(_FORMAT3):
        body = data[len(_FORMAT3):].decode("utf-8")
        return clauses_from_records(body.split("\n") if body else [])
    return _decode_json_clauses(data)


def clause_count(blob: bytes) -> int:
    return len(records_of_blob(blob))


def encode_text(text: str) -> str | bytes:
    """A version's text for ``versions.text``: zlib bytes (about a fifth of the size), or the string itself
    when compressing would not make it smaller (short texts)."""
    raw = text.encode("utf-8")
    packed = zlib.compress(raw, WHOLE_LEVEL)
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
        """The clauses: those it was packed from when still at hand (same process), else decoded once
        (the check step asks for them more than once per capture: an import decoded each twice)."""
        kept = self.__dict__.get("_clauses")
        if kept is None:
            kept = tuple(decode_clauses(self.clauses))
            object.__setattr__(self, "_clauses", kept)
        return list(kept)

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
