"""The lexicon of the tagger: every term of every rule, found in a clause's words by dictionary lookups.

Why lookups and not regexes: a clause costs one tokenisation plus one dictionary lookup per word (and
per prefix length for ``stem*`` terms) however many rules there are, where running each rule's regex
over the text grew with the rules. ``LazyRegex`` is here too: the few patterns rules do need (vetoes,
polarity cues) compile on first use.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE | re.UNICODE
_TERM_TOKEN = re.compile(r"\w+\*?|\*", re.UNICODE)
_ANY = ("*", "")  # a term token matching any one word


# --------------------------------------------------------------------------- lexicon


class _Bucket:
    """Terms sharing a first token, split by their second token so most are never looked at."""

    __slots__ = ("single", "by_next", "other")

    def __init__(self) -> None:
        self.single: list[int] = []  # one-token terms
        self.by_next: dict[str, list[tuple[tuple[tuple[str, str], ...], int]]] = {}  # exact 2nd word
        self.other: list[tuple[tuple[tuple[str, str], ...], int]] = []  # 2nd token is stem* or *

    def add(self, rest: tuple[tuple[str, str], ...], tid: int) -> None:
        if not rest:
            self.single.append(tid)
        elif rest[0][0] == "w":
            self.by_next.setdefault(rest[0][1], []).append((rest[1:], tid))
        else:
            self.other.append((rest, tid))


class Lexicon:
    """Every term of every rule, indexed by its first token, each with a numeric id.

    A term is a sequence of tokens; a token ending in ``*`` matches any word starting with it
    (a cheap lemma: ``train*`` = train, trains, trained, training), a lone ``*`` any one word.
    Punctuation between words is ignored ("opt-out" = "opt out")."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.exact: dict[str, _Bucket] = {}
        self.stems: dict[str, _Bucket] = {}
        self.stem_lens: list[int] = []
        self.stem_heads: set[str] = set()  # first 3 letters of every stem (>= 3 letters): quick reject
        self.short_stems = False  # some stem shorter than 3 letters: no quick reject

    def add(self, term: str) -> int:
        key = term.strip().lower()
        if key in self.ids:
            return self.ids[key]
        toks = [("*", "") if t == "*" else ("p", t[:-1]) if t.endswith("*") else ("w", t)
                for t in _TERM_TOKEN.findall(key)]
        if not toks or toks[0][0] == "*":
            raise ValueError(f"term {term!r} must start with a word")
        tid = len(self.ids)
        self.ids[key] = tid
        kind, first = toks[0]
        if kind == "w":
            self.exact.setdefault(first, _Bucket()).add(tuple(toks[1:]), tid)
        else:
            self.stems.setdefault(first, _Bucket()).add(tuple(toks[1:]), tid)
            if len(first) >= 3:
                self.stem_heads.add(first[:3])
            else:
                self.short_stems = True
            if len(first) not in self.stem_lens:
                self.stem_lens.append(len(first))
                self.stem_lens.sort()
        return tid

    def group(self, alternatives: str) -> frozenset[int]:
        return frozenset(self.add(a) for a in alternatives.split("|") if a.strip())

    def scan(self, words: list[str]) -> dict[int, list[tuple[int, int]]]:
        """Term id -> list of (first token index, last token index) where the term occurs."""
        found: dict[int, list[tuple[int, int]]] = {}
        n = len(words)
        exact, stems, lens, heads = self.exact, self.stems, self.stem_lens, self.stem_heads
        quick = not self.short_stems
        for i, w in enumerate(words):
            b = exact.get(w)
            if b is not None:
                _bucket(found, b, words, i, n)
            if quick and w[:3] not in heads:
                continue
            for ln in lens:
                if ln > len(w):
                    break
                b = stems.get(w[:ln])
                if b is not None:
                    _bucket(found, b, words, i, n)
        return found


def _bucket(found: dict, b: _Bucket, words: list[str], i: int, n: int) -> None:
    for tid in b.single:
        found.setdefault(tid, []).append((i, i))
    if i + 1 < n:
        cands = b.by_next.get(words[i + 1])
        if cands:
            _extend(found, cands, words, i, i + 1, n)
    if b.other:
        _extend(found, b.other, words, i, i, n)


def _extend(found: dict, cands: list, words: list[str], i: int, j0: int, n: int) -> None:
    """Check the remaining tokens of candidate terms, which start at token i (matched to j0)."""
    for rest, tid in cands:
        j = j0
        for kind, val in rest:
            j += 1
            if j >= n:
                break
            w = words[j]
            if kind == "w" and w != val or kind == "p" and not w.startswith(val):
                break
        else:
            found.setdefault(tid, []).append((i, j))


# --------------------------------------------------------------------------- rules


class LazyRegex:
    """A regular expression compiled on its first use.

    Compiling the rules' ~20 regexes (vetoes, polarity cues) was a third of ``load_rules``, paid by
    every process, while most runs use a few of them (a veto runs only when its tag has a hit, a cue
    only when a tag needs a polarity). After the first call, ``match``/``search``/``finditer`` are
    the compiled pattern's own methods, so matching costs what it did."""

    __slots__ = ("pattern", "flags", "match", "search", "finditer")

    def __init__(self, pattern: str, flags: int = _FLAGS) -> None:
        self.pattern, self.flags = pattern, flags
        self.match = lambda *a: self.compile().match(*a)
        self.search = lambda *a: self.compile().search(*a)
        self.finditer = lambda *a: self.compile().finditer(*a)

    def compile(self) -> re.Pattern:
        rx = re.compile(self.pattern, self.flags)
        self.match, self.search, self.finditer = rx.match, rx.search, rx.finditer
        return rx


