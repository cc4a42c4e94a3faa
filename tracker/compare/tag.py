"""Topic tags for clauses and diff changes, from rules kept in ``tracker/compare/rules/*.toml``.

Why rules and not a keyword list: a keyword regex gave 0.77 precision for AI training on real
clauses. A rule here is a set of term groups that must all occur in one sentence within a word
window (``train*`` near ``model*``), with vetoes for the known false friends (staff training,
users forbidden to scrape). Every tag comes with its evidence (rule id + span) so a reader can
see the words, and a polarity (affirmed, negated, restricted, conditional) because "we do not
train on your content" is on-topic but is the opposite alarm.

Speed: terms are matched on word tokens through one dictionary lookup per token (and per
prefix length for ``stem*`` terms), not by running every rule's regex over the text, so a
clause costs one tokenisation plus the few rules whose words it contains.

Public functions: :func:`tag_text`, :func:`tag_changes`, :func:`detect_lang`, :func:`load_rules`.
The engine is split by job: lexicon.py (terms), ruleset.py (rules files), textindex.py (a prepared
clause), matching.py (rule hits, vetoes), polarity.py; this module tags a text and a diff's changes
and re-exports the names other stages import from here.
"""

from __future__ import annotations

from tracker.compare.lexicon import LazyRegex, Lexicon
from tracker.compare.matching import dilute, match_rule, vetoed
from tracker.compare.polarity import polarity_of
from tracker.compare.ruleset import CUE_KINDS, PRIORITY, TAGS, Rule, RuleSet, load_rules
from tracker.compare.textindex import TextIndex, detect_lang, detect_words
from tracker.models import DiffResult, Evidence, TagResult

__all__ = ["CUE_KINDS", "PRIORITY", "TAGS", "LazyRegex", "Lexicon", "Rule", "RuleSet", "detect_lang",
           "load_rules", "tag_changes", "tag_text"]


def tag_text(text: str, lang: str | None = None, rules: RuleSet | None = None,
             tags: tuple[str, ...] = TAGS) -> TagResult:
    """Tags of one clause, with polarity and evidence spans into ``text``.

    ``lang`` is 'en' or 'fr' (auto-detected when None). A tag whose rule weights in one
    sentence reach ``confident`` goes to ``tags``; one reaching only ``possible`` goes to
    ``possible``. ``tags``: the tags to look for (each is decided on its own; the others are
    left out of the result)."""
    rs = rules or load_rules()
    if not text or not text.strip():
        return TagResult()
    t = TextIndex(text)
    lg = (lang or detect_words(t.words[:400], rs)).split("-")[0].lower()
    if lg not in ("en", "fr"):
        lg = "en"
    t.index(rs.lexicon.scan(t.words), rs.tid_groups)
    if not t.found:
        return TagResult()
    found = t.found.keys()
    tg = t.groups
    result = TagResult()
    cue_cache: dict = {}
    for tag in tags:
        gate = rs.gates.get((tag, lg))
        if not gate or gate.isdisjoint(found):
            continue
        positives, veto_rules = rs.by_tag[(tag, lg)]
        # skip rules whose first group is absent before paying for a call (most are)
        hits = [h for r in positives if r.groups[0] in tg for h in match_rule(r, t)]
        if hits and veto_rules:  # vetoes (some are regexes) only run when there is something to veto
            vetoes = [h for r in veto_rules
                      if (r.groups[0] in tg if r.regex is None else r.guard < 0 or r.guard in tg)
                      for h in match_rule(r, t)]
            hits = [h for h in hits if not vetoed(h, vetoes, t)]
        if not hits:
            continue
        # score per sentence: each rule id counts once
        per_sent: dict[int, dict[str, float]] = {}
        for h in hits:
            per_sent.setdefault(h.sent, {})[h.rule.id] = h.rule.weight
        if tag in rs.dilute_tags:
            dilute(t, hits, per_sent, rs.dilute_commas)
        score = max(sum(d.values()) for d in per_sent.values())
        if score < rs.possible:
            continue
        hits.sort(key=lambda h: (-h.rule.weight, h.start))
        seen: set[tuple[int, int]] = set()
        ev: list[Evidence] = []
        for h in hits:
            if (h.start, h.end) in seen or len(ev) >= 3:
                continue
            seen.add((h.start, h.end))
            ev.append(Evidence(rule=h.rule.id, start=h.start, end=h.end, text=text[h.start:h.end]))
        (result.tags if score >= rs.confident else result.possible).append(tag)
        # polarity from the sentences that carry the tag: a weak hit elsewhere ("to improve user
        # experience (... AI technology)" next to "Viber does not use ... to train") is no statement
        carrying = {i for i, d in per_sent.items() if sum(d.values()) >= rs.confident}
        strong = [h for h in hits if h.rule.weight >= rs.possible and (not carrying or h.sent in carrying)] or hits
        result.polarity[tag] = polarity_of(t, strong, rs, lg, cue_cache, tag)
        result.evidence[tag] = ev
    return result


# --------------------------------------------------------------------------- diff changes


def _direction(tag: str, old: TagResult | None, new: TagResult | None) -> str | None:
    had = old is not None and tag in old.tags
    has = new is not None and tag in new.tags
    if has and not had:
        return "added"
    if had and not has:
        return "removed"
    if had and has:
        assert old is not None and new is not None
        if old.polarity.get(tag) != new.polarity.get(tag):
            return "flipped"
        return "changed"
    return None


def tag_changes(result: DiffResult, lang: str | None = None) -> DiffResult:
    """Fill tags, possible, polarity, evidence and directions of every change (mutates, returns).

    Tags come from the new text (added/modified/moved) or the old text (removed). Directions
    compare both sides: a tag appearing is "added", disappearing "removed", a polarity change
    "flipped" (negated -> affirmed is the worst alarm; ``old_polarity`` keeps the old value),
    and a tag on both sides with a wording change "changed"."""
    rs = load_rules()
    for ch in result.changes:
        old = tag_text(ch.old, lang, rs) if ch.old else None
        new = tag_text(ch.new, lang, rs) if ch.new else None
        shown = old if ch.kind == "removed" or new is None else new
        ch.tags = list(shown.tags) if shown else []
        ch.possible = list(shown.possible) if shown else []
        ch.polarity = dict(shown.polarity) if shown else {}
        ch.evidence = dict(shown.evidence) if shown else {}
        ch.old_polarity = dict(old.polarity) if old else {}
        ch.directions = {}
        same_text = (ch.old or "") == (ch.new or "")
        for tag in TAGS:
            d = _direction(tag, old, new)
            if d and not (same_text and d == "changed"):
                ch.directions[tag] = d
    return result
