"""Capture artefacts: what two captures of a page say about the capture, before they say anything
about the policy.

Real archives (Open Terms Archive's, or our own checks) record pages that are not a new policy: a
page showing the current and the upcoming policy together (every clause twice), a capture that
swapped to another document or lost most of it, a capture several times longer than the page
(a whole help centre). These pure functions recognise them from the clauses alone; what is done
about them (holding a capture until another confirms it, comparing a doubled page once) is
decided in :mod:`tracker.check`.

Why shingles and not the clause diff: a swapped or mostly lost document is recognised by how much
of the old *wording* survives anywhere in the new one, whatever the clause boundaries, ordering or
headings; three-word shingles of the normalised text measure exactly that, in linear time.
"""

from __future__ import annotations

from collections import Counter

from tracker.models import Clause

SUSPECT_LENGTH_RATIO = 3.0  # a text this many times longer or shorter than the reference is suspect
SUSPECT_KEPT = 0.25  # a text keeping under this share of the reference's wording is another document
SUSPECT_LOST = 0.5  # ...and one keeping under this share lost most of it at once: suspect until confirmed
SAME_CAPTURE = 0.85  # two captures sharing this much wording both ways are "the same again"
SAME_CAPTURE_LENGTH = 1.3  # ...when neither is this much longer than the other
DOUBLED_SHARE = 0.3  # a page whose long clauses repeat earlier ones this often holds the policy twice
DOUBLED_MIN = 5  # ...and at least this many repeats (tables of "Yes"/"No" are not a doubled page)
LONG_CLAUSE = 40  # characters: shorter clauses ("None.", "Yes") repeat on ordinary pages
MIN_SHINGLES = 30  # under this the wording measure says nothing (a stub compared with a stub)


def _content(clauses: list[Clause]) -> list[Clause]:
    return [c for c in clauses if c.kind != "heading" and not c.metadata]


def shingles(clauses: list[Clause]) -> set[tuple[str, ...]]:
    """Three-word shingles of the normalised content clauses (headings and metadata lines left out)."""
    out: set[tuple[str, ...]] = set()
    for c in _content(clauses):
        words = c.norm.split()
        if len(words) < 3:
            if words:
                out.add(tuple(words))
            continue
        out.update(zip(words, words[1:], words[2:], strict=False))
    return out


def kept_share(old: set, new: set) -> float:
    """The share of ``old``'s shingles found anywhere in ``new`` (1.0 when ``old`` is empty)."""
    return len(old & new) / len(old) if old else 1.0


def suspect_reason(old: list[Clause], new: list[Clause], old_length: int, new_length: int) -> str | None:
    """Why ``new`` looks like a capture artefact rather than the next version of ``old``, or None:
    a length several times longer or shorter, or most of the old wording (over half) gone at once
    (another document, a regional notice, a page that lost its body or most of its sections). Held
    until a following capture confirms it: a rewrite that stays is confirmed and keeps its events."""
    if old_length and new_length >= SUSPECT_LENGTH_RATIO * old_length:
        return (f"text is {new_length / old_length:.1f} times as long as the reference "
                f"({new_length} characters against {old_length})")
    if new_length and old_length >= SUSPECT_LENGTH_RATIO * new_length:
        return (f"text is {old_length / new_length:.1f} times shorter than the reference "
                f"({new_length} characters against {old_length})")
    a = shingles(old)
    if len(a) < MIN_SHINGLES:
        return None
    kept = kept_share(a, shingles(new))
    if kept < SUSPECT_LOST:
        return f"only {kept:.0%} of the reference's wording is left (another document, or most of it lost)"
    return None


EDITION_LENGTH = 1.3  # a block of the page came or went: the text grew or shrank by this factor...
EDITION_REPEATS = 0.75  # ...and the longer side's wording is at least this much the shorter side's
EDITION_KEPT = 0.95  # ...which it holds nearly all of
EDITION_BLOCK = 2000  # characters: a regional edition is a section, not a sentence that came or went
LOST_BLOCK = 10_000  # characters: a block this long lost at once, the rest unchanged, is a capture pattern


def length(clauses: list[Clause]) -> int:
    """About the length of the text the clauses came from (what the length ratios compare)."""
    return sum(len(c.text) + 2 for c in clauses)


def edition_switch(old: list[Clause], new: list[Clause], old_length: int, new_length: int) -> str | None:
    """Why ``new`` is the same policy in another edition of the page, or None.

    - A block came or went (30% of the text or more) while the shorter capture's wording is nearly
      all in the longer one and the longer one's wording is mostly the shorter one's: a regional
      edition shown next to the main text or not (its paragraphs restate the policy for a region).
      A real new section brings mostly new wording, and a real cut rarely goes with nothing else
      changed.
    - Or a whole block of several pages (:data:`LOST_BLOCK` characters or more: several sections at
      once) went while not a word of the rest changed: a capture that lost a tab, an accordion or
      the product sections of a long statement, which come back a few captures later. Policies that
      drop that much text are rewritten around the cut; the block's return is no news either (its
      statements were in an earlier version, see events)."""
    short_len, long_len = sorted((old_length, new_length))
    if not short_len or long_len < EDITION_LENGTH * short_len or long_len - short_len < EDITION_BLOCK:
        return None
    short, long = (new, old) if new_length < old_length else (old, new)
    a, b = shingles(short), shingles(long)
    if len(a) < MIN_SHINGLES or kept_share(a, b) < EDITION_KEPT:
        return None
    if kept_share(b, a) >= EDITION_REPEATS:
        which = "gained" if new_length > old_length else "lost"
        return (f"edition switch: the capture {which} a block restating the rest of the page "
                f"({short_len} against {long_len} characters; no topic alert)")
    if new_length < old_length and old_length - new_length >= LOST_BLOCK:
        return (f"lost block: the capture lost {old_length - new_length} characters at once while the rest "
                f"is unchanged ({new_length} against {old_length} characters): a suspect capture, no topic alert")
    return None


def another_document(old: list[Clause], new: list[Clause]) -> bool:
    """Whether ``new`` is another document than ``old`` (under :data:`SUSPECT_KEPT` of the old wording
    left anywhere in it): a swap, a stub or a regional notice, even when it stays. Its statements say
    nothing about what the old document's policy added or dropped."""
    a = shingles(old)
    return len(a) >= MIN_SHINGLES and kept_share(a, shingles(new)) < SUSPECT_KEPT


def same_capture(a: list[Clause], b: list[Clause], a_length: int, b_length: int) -> bool:
    """Whether two captures are the same page again (a held capture confirmed by the next one):
    nearly the same wording both ways and a similar length, even if a date or a counter changed."""
    if min(a_length, b_length) * SAME_CAPTURE_LENGTH < max(a_length, b_length):
        return False
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return True
    return kept_share(sa, sb) >= SAME_CAPTURE and kept_share(sb, sa) >= SAME_CAPTURE


def doubled(clauses: list[Clause]) -> bool:
    """Whether a page holds the same clauses twice (the current and the upcoming policy shown
    together): many of its long clauses repeat one seen earlier on the page."""
    long = [c.norm for c in _content(clauses) if len(c.norm) >= LONG_CLAUSE]
    if not long:
        return False
    repeats = sum(n - 1 for n in Counter(long).values())
    return repeats >= DOUBLED_MIN and repeats >= DOUBLED_SHARE * len(long)


def once(clauses: list[Clause]) -> list[Clause]:
    """The clauses with every repeat of an earlier one left out (a repeated heading too): a doubled
    page compared once, so a clause still present is never "removed" with its copy."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c in clauses:
        key = (c.kind == "heading" and "h" or "c", c.norm)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out


def undouble(old: list[Clause], new: list[Clause]) -> tuple[list[Clause], list[Clause], str]:
    """Both sides compared once when either holds the policy twice, with a note saying so; else
    both unchanged and no note."""
    old_twice, new_twice = doubled(old), doubled(new)
    if not (old_twice or new_twice):
        return old, new, ""
    which = ("both captures hold" if old_twice and new_twice
             else "the new capture holds" if new_twice else "the previous capture held")
    return once(old), once(new), f"doubled page: {which} the same clauses twice (compared once)"
