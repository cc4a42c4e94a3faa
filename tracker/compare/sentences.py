"""Sentences of a clause, and the key sentence that carries a tag's evidence.

A reader of an alert needs the words that matter, not a 1,700-character clause: the key sentence is
the sentence (or the few consecutive sentences) overlapping the tag's evidence, at most about
``KEY_CHARS`` characters, cut at sentence boundaries; a single sentence longer than that is cut at
word boundaries around the evidence, with an ellipsis where text was left out.

Sentence ends: ``.``, ``!`` or ``?`` followed by white space and an upper-case letter, a digit or an
opening quote/bracket (so "e.g. the" and "approx. ten" go on), and line breaks; and the boundaries
that a flattened table or list leaves inside one clause: a table cell (" | ") and an inline bullet
(" * ", " • "). Why the last two: a table row or a list folded into one line is read as one
"sentence" otherwise, and its key sentence became a run of unrelated cells or items, some of them
already in the old document. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

KEY_CHARS = 300
_END = re.compile(r"(?<=[.!?])[\"”’)\]*_]*\s+(?=[\"“‘'(\[*_]*[A-Z0-9À-Ý])|\s*\n+\s*"
                  r"|\s+\|\s+|\s+[*•]\s+(?=\S)")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|incl|vs|cf|etc|no|art|sec|para|approx|Inc|Ltd|Co|Mr|Ms|Dr|St)\.|\b[A-Z]\.)$")
_WORD_KEY = re.compile(r"\w+")
_BULLET = re.compile(r"\s[*•]\s")


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, white space trimmed, in order."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        piece = text[start:m.start()]
        cell = "|" in m.group(0) or bool(_BULLET.search(m.group(0)))
        if not cell and "\n" not in m.group(0) and _ABBREV.search(piece):  # "e.g. The", "Inc. Our": not an end
            continue
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    trimmed = []
    for a, b in out:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return trimmed


def split(text: str) -> list[str]:
    """The sentences of ``text``."""
    return [text[a:b] for a, b in spans(text)]


def sentence_key(sentence: str) -> str:
    """What two sentences must share to be "the same statement": their words, case-folded, in order
    (punctuation, Markdown marks, spacing and typographic variants ignored)."""
    return " ".join(_WORD_KEY.findall(sentence.casefold()))


def key_sentence(text: str, evidence: Iterable[tuple[int, int]] = (), limit: int = KEY_CHARS) -> str:
    """The sentence(s) of ``text`` overlapping the ``evidence`` spans (offsets into ``text``), at most
    ``limit`` characters (about: an ellipsis may be added).

    Consecutive evidence sentences are kept together while they fit; a lone sentence longer than
    ``limit`` is cut around its first evidence span. Without evidence, the first sentence stands in."""
    text = text or ""
    ss = spans(text)
    if not ss:
        return ""
    ev = sorted((s, e) for s, e in evidence if e > s)
    hit = [k for k, (a, b) in enumerate(ss) if any(s < b and a < e for s, e in ev)] or [0]
    first = hit[0]
    a, b = ss[first]
    # grow over the following evidence sentences while the whole stays within the limit
    for k in hit[1:]:
        if ss[k][1] - a > limit:
            break
        b = ss[k][1]
    if b - a <= limit:
        return text[a:b]
    focus = next(((s, e) for s, e in ev if s < b and a < e), (a, a))
    return _window(text, a, b, max(a, focus[0]), min(b, max(focus[1], focus[0])), limit)


def _window(text: str, a: int, b: int, fs: int, fe: int, limit: int) -> str:
    """``limit`` characters of text[a:b] around [fs, fe), cut at white space, ellipses where cut."""
    room = max(0, limit - (fe - fs))
    lo = max(a, fs - room // 3)
    hi = min(b, lo + limit)
    lo = max(a, min(lo, hi - limit))
    if lo > a:
        sp = text.find(" ", lo, fs) if fs > lo else -1
        lo = sp + 1 if sp >= 0 else lo
    if hi < b:
        sp = text.rfind(" ", max(fe, lo), hi)
        hi = sp if sp > lo else hi
    out = text[lo:hi].strip()
    return ("… " if lo > a else "") + out + (" …" if hi < b else "")
