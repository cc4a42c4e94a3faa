"""A version stored as the lines it changes against the version before it (issue 20).

Versions of one document are near copies: a policy update rewords a few clauses of hundreds. Each
version's text (split on newlines) and clause records (one JSON line per clause, see
``codec.clause_records``) are stored as a list of operations against its base version's lines:
``[start, count]`` copies a run of base lines, a string is a new line. The list is JSON, zlib'd,
after a marker byte that no zlib stream or text starts with.

Why lines and not zlib with the previous version as its dictionary: zlib's window is 32 KB, most
policies are longer (the end of the previous version is all a new one could refer to); zstandard
would lift that but is a dependency, and measured on the development archive line deltas were the
smaller (see bench/README.md). Matching is a dictionary lookup per line, preferring the line after
the previous copy (blank and repeated lines stay in runs): linear, about a millisecond a version.

A chain of deltas is read from its standalone start (a keyframe) forward; ``MAX_DEPTH`` bounds it so
that any version is read in a few milliseconds, however long its document's history.

A keyframe (a version stored whole) is its text and clause records in one LZMA stream after the
marker ``WHOLE`` (migration 7): the records repeat the text's sentences, often more than zlib's 32 KB
window apart, which LZMA's window spans. On the development archive keyframes went from 14.9 to
7.4 MB (migration 7, at LZMA's best preset) for about 1 ms more per keyframe read.
"""

from __future__ import annotations

import json
import lzma
import zlib

MARK = b"\x01"  # first byte of a delta blob: zlib streams start with 0x78, texts are str
WHOLE = b"\x02"  # first byte of a keyframe: text and clause records in one LZMA stream (``encode_whole``)
# The keyframe format itself (raw LZMA2, no container: 30 bytes less a row); never change it without a new marker.
_LZMA = {"format": lzma.FORMAT_RAW, "filters": [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 23}]}
# The encoder's effort is not part of the format (one decoder reads them all): a version written by a
# check or an import is compressed fast (7 MB/s, 13% larger on the development archive's keyframes);
# migration 7, run once, takes the time for the smallest (1.8 MB/s).
FAST, BEST = 1, 6
MAX_DEPTH = 64  # deltas in a row before a version is stored whole again (a read: ~2 ms median, see bench/README.md)
LEVEL = 6  # deltas are small: the better level costs nothing measurable
WHOLE_LEVEL = 9  # a version stored whole (the first, then one in MAX_DEPTH): compressed once, read often

Ops = list  # of [start, count] and str


def line_delta(base: list[str], new: list[str]) -> Ops:
    """Operations rebuilding ``new`` from ``base`` (``apply_delta``): copies of runs of base lines, new lines."""
    first: dict[str, int] = {}
    for i, line in enumerate(base):
        first.setdefault(line, i)
    ops: Ops = []
    nb, n = len(base), len(new)
    j = 0
    nxt = -1  # the base line after the last copy: a run continues there when it can
    while j < n:
        line = new[j]
        i = nxt if 0 <= nxt < nb and base[nxt] == line else first.get(line, -1)
        if i < 0:
            ops.append(line)
            j += 1
            nxt = -1
            continue
        k = 1
        while j + k < n and i + k < nb and base[i + k] == new[j + k]:
            k += 1
        last = ops[-1] if ops else None
        if type(last) is list and last[0] + last[1] == i:
            last[1] += k
        else:
            ops.append([i, k])
        j += k
        nxt = i + k
    return ops


def apply_delta(base: list[str], ops: Ops) -> list[str]:
    out: list[str] = []
    for op in ops:
        if type(op) is str:
            out.append(op)
        else:
            out.extend(base[op[0]:op[0] + op[1]])
    return out


def encode_version(base_text: list[str], base_records: list[str], text: list[str], records: list[str]) -> bytes:
    """A version's text and clause records as one delta blob against its base's (``versions.text``;
    ``versions.clauses`` is then empty). One zlib stream for both: a changed clause's record repeats the
    text's changed line a few hundred bytes before it, which zlib's 32 KB window then finds (the clause
    deltas cost about a third of what they cost compressed apart, see bench/README.md)."""
    return encode_ops([line_delta(base_text, text), line_delta(base_records, records)])


def apply_version(base_text: list[str], base_records: list[str], blob: bytes) -> tuple[list[str], list[str]]:
    text_ops, record_ops = decode_ops(blob)
    return apply_delta(base_text, text_ops), apply_delta(base_records, record_ops)


def encode_ops(ops: Ops) -> bytes:
    return MARK + zlib.compress(json.dumps(ops, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), LEVEL)


def decode_ops(blob: bytes) -> Ops:
    return json.loads(zlib.decompress(blob[1:]))


def is_delta(value: object) -> bool:
    return isinstance(value, bytes) and value[:1] == MARK


def encode_whole(text: list[str], records: list[str], preset: int = FAST) -> bytes:
    """A version kept whole (``versions.text``; ``versions.clauses`` is then empty): the byte length of
    its text, a newline, its text, then its clause records one a line, LZMA-compressed."""
    body = "\n".join(text).encode("utf-8")
    raw = b"%d\n" % len(body) + body + "\n".join(records).encode("utf-8")
    filters = [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": 1 << 23}]
    return WHOLE + lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filters)


def smallest_whole(text: str | bytes, clauses: bytes, lines: list[str], records: list[str],
                   preset: int = FAST) -> tuple[str | bytes, bytes]:
    """How a version kept whole is stored: ``encode_whole`` (clauses then empty), or its zlib'd text and
    clauses as they were (``text``, ``clauses``: packed at zlib's best level) when those are smaller: a
    short page, where LZMA's own overhead outweighs what it finds."""
    blob = encode_whole(lines, records, preset)
    return (blob, b"") if len(blob) < len(text) + len(clauses) else (text, clauses)


def is_whole(value: object) -> bool:
    return isinstance(value, bytes) and value[:1] == WHOLE


def decode_whole(blob: bytes) -> tuple[list[str], list[str]]:
    """(text lines, clause records) of an ``encode_whole`` blob."""
    raw = lzma.decompress(blob[1:], **_LZMA)  # type: ignore[arg-type]
    head = raw.index(b"\n")
    end = head + 1 + int(raw[:head])
    records = raw[end:].decode("utf-8")
    return raw[head + 1:end].decode("utf-8").split("\n"), records.split("\n") if records else []


def recompress(blob: str | bytes, level: int = WHOLE_LEVEL) -> str | bytes:
    """A zlib blob compressed again at ``level`` (a version kept whole is read often and written once)."""
    if not isinstance(blob, bytes):
        return blob
    again = zlib.compress(zlib.decompress(blob), level)
    return again if len(again) < len(blob) else blob
