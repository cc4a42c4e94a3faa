"""Where a rule matches a clause: every group of the rule in one sentence within its window; vetoes;
and the dilution of a tag that rests only on one item of a long enumeration."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from tracker.compare.ruleset import Rule
from tracker.compare.textindex import TextIndex


@dataclass
class Hit:
    rule: Rule
    start: int
    end: int
    sent: int


def match_rule(rule: Rule, t: TextIndex) -> list[Hit]:
    """All places where every group of the rule occurs in one sentence within the window."""
    if rule.regex is not None:
        return _match_regex(rule, t)
    per_group = []
    for g in rule.groups:
        if g not in t.groups:
            return []
        per_group.append(t.sorted_occurrences(g))
    hits = []
    if rule.scope == "clause" and not rule.veto:
        # context anywhere in the clause ("... powered by AI. ... not used for training purposes"):
        # the other groups are present (checked above); the evidence is the first group's words
        return [Hit(rule, t.starts[f], t.ends[last], t.sent_at(t.starts[f])) for f, last in per_group[0][0]]
    for a_first, a_last in per_group[0][0]:
        sent = t.sent_at(t.starts[a_first])
        lo, hi = a_first, a_last
        ok = True
        for k, (occ, firsts) in enumerate(per_group[1:], 1):
            best = None
            later = k in rule.after
            # only occurrences inside the window: bisect keeps long texts linear, not quadratic
            near = occ[bisect_left(firsts, a_first - rule.window):bisect_right(firsts, a_first + rule.window)]
            for f, last in near:
                if abs(f - a_first) > rule.window or t.sent_at(t.starts[f]) != sent:
                    continue
                if later and f <= a_last:
                    continue
                if best is None or abs(f - a_first) < abs(best[0] - a_first):
                    best = (f, last)
            if best is None:
                ok = False
                break
            lo, hi = min(lo, best[0]), max(hi, best[1])
        if ok:
            hits.append(Hit(rule, t.starts[lo], t.ends[hi], sent))
    return hits


def _match_regex(rule: Rule, t: TextIndex) -> list[Hit]:
    rx = rule.regex
    assert rx is not None  # match_rule sends only regex rules here
    hits = []
    if rule.at_start:
        for k in range(len(t.sents)):
            s, e = t.sentence(k)
            m = rx.match(t.norm, s, e)
            if m:
                hits.append(Hit(rule, m.start(), m.end(), k))
        return hits
    for m in rx.finditer(t.norm):
        hits.append(Hit(rule, m.start(), m.end(), t.sent_at(m.start())))
    return hits


# a list item that opens a sentence: "(b) ...", "b) ...", "(ii) ...", "2. ..."
_ITEM = re.compile(r"[\W_]*(?:\([a-z0-9]{1,4}\)|[a-z0-9]{1,4}[.)])\s")


def vetoed(hit: Hit, vetoes: list[Hit], t: TextIndex) -> bool:
    for v in vetoes:
        if v.rule.targets and hit.rule.id not in v.rule.targets:
            continue
        if v.rule.scope == "clause":  # the whole text is of a kind (a definition): every hit
            if v.rule.unless is None or not v.rule.unless.search(t.norm):
                return True
            continue
        if v.rule.scope == "items":
            # "you agree as follows: (i) ...; (b) the video is not used for training ...": the
            # sentence that opens a list of the user's obligations, and the list items after it
            if hit.sent < v.sent or (hit.sent > v.sent and not _ITEM.match(t.norm, *t.sentence(hit.sent))):
                continue
            if v.rule.unless is None or not v.rule.unless.search(t.norm, *t.sentence(hit.sent)):
                return True
            continue
        if v.sent != hit.sent:
            continue
        if v.rule.unless is not None and v.rule.unless.search(t.norm, *t.sentence(v.sent)):
            continue
        if v.rule.scope == "sentence" or (v.start < hit.end + 80 and v.end > hit.start - 80):
            return True
    return False


def dilute(t: TextIndex, hits: list[Hit], per_sent: dict[int, dict[str, float]], commas: int) -> None:
    """Halve a sentence's score when the tag rests only on one item of a long enumeration
    ("we collect identifiers, ..., geolocation, ..."): the clause lists data, it does not
    address the topic (labelling rule). Rules with context (several term groups) are kept."""
    for i, d in per_sent.items():
        s, e = t.sentence(i)
        if t.norm.count(",", s, e) < commas:
            continue
        if all(len(h.rule.groups) == 1 for h in hits if h.sent == i):
            for k in d:
                d[k] *= 0.5

