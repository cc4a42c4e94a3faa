"""A clause prepared once for the tagger: lower-cased copy with the same offsets, word tokens,
sentence bounds, and where each rule term and group occurs; and the language guess.

Sentence bounds matter because a rule's terms must occur in one sentence, and polarity cues are read
in the sentence of the evidence (``;`` ends a segment but not a "full" sentence: an opt-out after a
semicolon still limits the clause).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from tracker.compare.ruleset import RuleSet, load_rules

TOKEN = re.compile(r"\w+", re.UNICODE)
# URLs are not wording: a Markdown link target ("[Custom models](https://.../fine-tuning)") or a bare
# address becomes one "___" token in the matched copy (same offsets, the same word distances for
# the rest), so its path words trigger no rule
_URL = re.compile(r"(?<=\]\()[^)\s]+|\bhttps?://[^\s)\]>\"]+|\bwww\.[^\s)\]>\"]+")
# sentence ends: . ! ? ; followed by space, or a line break (list items, table rows); not the
# period of "e.g." / "i.e." / "incl." / "vs." / "cf." (the sentence goes on)
_NOT_ABBR = r"(?<!e\.g\.)(?<!i\.e\.)(?<!incl\.)(?<!\bvs\.)(?<!\bcf\.)"
# A period followed by a lower-case word ("etc. the", "approx. ten") ends nothing: the ends are
# searched in the original text (same offsets as the lower-cased copy).
_SENT_END = re.compile(r"(?<=[!?;])[\s\"”)*_]+|(?<=\.)" + _NOT_ABBR + r"[\s\"”)*_]+(?![a-z])|\n+")
# full sentence ends (not ';'): an opt-out or condition after a semicolon still limits the clause
_FULL_END = re.compile(r"(?<=[!?])[\s\"”)*_]+|(?<=\.)" + _NOT_ABBR + r"[\s\"”)*_]+(?![a-z])|\n+")


class TextIndex:
    """A text prepared once: lower-cased copy (same offsets), tokens, sentence starts, terms."""

    def __init__(self, text: str) -> None:
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two: keep offsets exact
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        self.raw = text
        self.norm = low.replace("’", "'").replace("‘", "'")
        if "http" in low or "](" in low or "www." in low:
            self.norm = _URL.sub(lambda m: "_" * len(m.group()), self.norm)
        ms = list(TOKEN.finditer(self.norm))
        self.words = [m.group() for m in ms]
        self.starts = [m.start() for m in ms]
        self.ends = [m.end() for m in ms]
        self.sents = [0] + [m.end() for m in _SENT_END.finditer(text)]
        self._full: list[int] | None = None
        self.found: dict[int, list[tuple[int, int]]] = {}
        self.groups: dict[int, list[tuple[int, int]]] = {}  # group id -> occurrences
        self._sorted: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}

    def index(self, found: dict[int, list[tuple[int, int]]], tid_groups: list[tuple[int, ...]]) -> None:
        self.found = found
        groups = self.groups
        for tid, occ in found.items():
            for g in tid_groups[tid]:
                groups.setdefault(g, []).extend(occ)

    def sent_at(self, pos: int) -> int:
        return bisect_right(self.sents, pos) - 1

    def sentence(self, i: int) -> tuple[int, int]:
        s = self.sents
        return s[i], (s[i + 1] if i + 1 < len(s) else len(self.norm))

    def full_sentence(self, i: int) -> tuple[int, int]:
        """The whole sentence (across ';') holding segment i."""
        if self._full is None:
            self._full = [0] + [m.end() for m in _FULL_END.finditer(self.raw)]
        s, e = self.sentence(i)
        k = bisect_right(self._full, s) - 1
        return self._full[k], (self._full[k + 1] if k + 1 < len(self._full) else len(self.norm))

    def full_before(self, pos: int) -> int:
        """Start of the full sentence ending at ``pos`` (the start of the next one)."""
        k = bisect_right(self._full, pos - 1) - 1  # type: ignore[arg-type]
        return self._full[max(k, 0)]  # type: ignore[index]

    def full_after(self, pos: int) -> int:
        """End of the full sentence starting at ``pos``."""
        k = bisect_right(self._full, pos)  # type: ignore[arg-type]
        return self._full[k] if k < len(self._full) else len(self.norm)  # type: ignore[arg-type,index]

    def occurrences(self, group: int) -> list[tuple[int, int]]:
        """(first token, last token) of every occurrence of any term of the group."""
        return self.groups.get(group, [])

    def sorted_occurrences(self, group: int) -> tuple[list[tuple[int, int]], list[int]]:
        """Occurrences in token order and their first tokens, sorted once per text (many rules
        share a group)."""
        got = self._sorted.get(group)
        if got is None:
            occ = sorted(self.groups.get(group, ()))
            got = self._sorted[group] = (occ, [f for f, _ in occ])
        return got


def detect_lang(text: str, rules: RuleSet | None = None) -> str:
    """'fr' or 'en' from the share of each language's stop words: enough for policy clauses."""
    return detect_words(TOKEN.findall(text[:2000].lower()), rules or load_rules())


def detect_words(words: list[str], rs: RuleSet) -> str:
    fr_stop, en_stop = rs.stop.get("fr", frozenset()), rs.stop.get("en", frozenset())
    fr = sum(w in fr_stop for w in words)
    en = sum(w in en_stop for w in words)
    return "fr" if fr > en else "en"

