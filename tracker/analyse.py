"""Diff plus tags of a freshly extracted page, done where the page was extracted.

The clause diff and the tagger are pure functions of two clause lists. Run right after extraction
(in a worker process, see :mod:`tracker.worker`, or in a fetch thread), the new clauses never have
to be decoded again, only the previous version's stored bytes travel, and the process holding the
database is left with inserting the result: in a cycle where pages changed, that process (on one
core, whatever the machine has) was spending a fifth of its time decoding clauses, importing the
diff and tag stages, and analysing.

The answer names the version it was computed against: the caller uses it only if that is still the
latest version when it stores the result (another process may have stored one in between).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.models import Clause, DiffResult, Document
from tracker.store.codec import PackedVersion, decode_clauses


def analyse(old: list[Clause], new: list[Clause], lang: str | None) -> DiffResult:
    """Clause diff plus tags: the one place the two stages are joined."""
    from tracker.compare.diff import diff_clauses
    from tracker.compare.tag import tag_changes

    return tag_changes(diff_clauses(old, new), lang=lang)


@dataclass(frozen=True)
class Base:
    """The stored version a new page is compared with, as read from the database."""

    number: int
    sha256: str
    clauses: bytes  # the ``versions.clauses`` blob


@dataclass(frozen=True)
class Analysed:
    """A diff computed against version ``number``."""

    number: int
    diff: DiffResult


def extract_analysed(doc: Document, body: bytes, encoding: str | None, content_type: str, url: str,
                     final_url: str | None, previous_length: int, base: Base | None
                     ) -> tuple[str | None, str | None, str | None, PackedVersion | None, Analysed | None]:
    """``extract_packed``, plus the analysis against ``base`` when the text differs from it."""
    from tracker.text.page import extract_packed

    state, reason, error, packed = extract_packed(doc, body, encoding, content_type, url, final_url,
                                                  previous_length)
    if packed is None or base is None or packed.sha256 == base.sha256:
        return state, reason, error, packed, None
    try:
        diff = analyse(decode_clauses(base.clauses), packed.decode_clauses(), doc.lang or packed.lang)
    except Exception:  # a bug in diff or tag: the writer analyses again and records it as such
        return state, reason, error, packed, None
    return state, reason, error, packed, Analysed(base.number, diff)
