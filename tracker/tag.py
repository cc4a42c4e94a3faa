"""Topic tags for clauses and diff changes, from rules kept in ``tracker/rules/tags.toml``.

Why rules and not a keyword list: a keyword regex gave 0.77 precision for AI training on real
clauses. A rule here is a set of term groups that must all occur in one sentence within a word
window (``train*`` near ``model*`` near ``AI``), with vetoes for the known false friends (staff
training, users forbidden to scrape). Every tag comes with its evidence (rule id + span) so a
reader can see the words, and a polarity (affirmed, negated, restricted, conditional) because
"we do not train on your content" is on-topic but is the opposite alarm.

Public functions: :func:`tag_text`, :func:`tag_changes`, :func:`detect_lang`, :func:`load_rules`.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tracker.models import Change, DiffResult, Evidence, TagResult

TAGS = (
    "ai-training",
    "biometrics",
    "data-sharing",
    "data-retention",
    "children",
    "location",
    "law-enforcement",
    "user-rights",
    "tracking-advertising",
    "arbitration",
)
PRIORITY = ("ai-training", "biometrics")

_FLAGS = re.IGNORECASE | re.UNICODE
_WORD = re.compile(r"\w+", re.UNICODE)
# sentence ends: . ! ? ; followed by space, or a line break (list items, table rows)
_SENT_END = re.compile(r"(?<=[.!?;])[\s\"”)*_]+|\n+")


# --------------------------------------------------------------------------- rule compilation


def _term_regex(group: str) -> str:
    """``"train*|fine-tun*|machine learning"`` -> one alternation with word boundaries.

    ``*`` stands for any word ending (a cheap lemma), spaces match any run of spaces or
    hyphens, and an apostrophe matches both ' and ’ (texts are normalised to ')."""
    alts = []
    for alt in group.split("|"):
        alt = alt.strip()
        if not alt:
            continue
        parts = []
        for ch in alt:
            if ch == "*":
                parts.append(r"[\w'-]*")
            elif ch == " ":
                parts.append(r"[\s\-]+")
            else:
                parts.append(re.escape(ch))
        alts.append("".join(parts))
    return r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w])"


@dataclass(frozen=True)
class Rule:
    id: str
    tag: str
    weight: float
    groups: tuple[re.Pattern, ...]
    window: int
    lang: str  # en | fr | any
    veto: bool = False
    scope: str = "window"  # veto scope: window (near the hit) or sentence
    targets: tuple[str, ...] = ()  # a veto that applies only to these rule ids (all when empty)
    unless: re.Pattern | None = None  # a veto is void when this matches in the hit's sentence
    at_start: bool = False  # the first group must match at the start of the sentence


@dataclass(frozen=True)
class Cues:
    """Polarity cue regexes for one language."""

    negation: re.Pattern
    negation_ignore: re.Pattern
    restriction: re.Pattern
    conditional: re.Pattern


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    gates: dict[tuple[str, str], re.Pattern]  # (tag, lang) -> any first-group term of its rules
    confident: float
    possible: float
    cues: dict[str, Cues]
    stop: dict[str, frozenset[str]]
    dilute_tags: frozenset[str] = frozenset()
    dilute_commas: int = 6


def _compile(data: dict) -> RuleSet:
    rules: list[Rule] = []
    first_groups: dict[tuple[str, str], list[str]] = {}
    for r in data.get("rule", []):
        tag = r["tag"]
        if tag not in TAGS and not r.get("extra_tag"):
            raise ValueError(f"rule {r['id']}: unknown tag {tag!r}")
        lang = r.get("lang", "en")
        conv = (lambda g: g) if r.get("regex") else _term_regex
        groups = tuple(re.compile(conv(g), _FLAGS) for g in r["all"])
        unless = r.get("unless")
        rule = Rule(
            id=r["id"], tag=tag, weight=float(r.get("weight", 1.0)), groups=groups,
            window=int(r.get("window", 12)), lang=lang, veto=bool(r.get("veto", False)),
            scope=r.get("scope", "window"), targets=tuple(r.get("targets", ())),
            unless=re.compile("|".join(f"(?:{conv(u)})" for u in unless), _FLAGS) if unless else None,
            at_start=bool(r.get("at_start", False)),
        )
        rules.append(rule)
        if not rule.veto:
            for lg in (("en", "fr") if lang == "any" else (lang,)):
                first_groups.setdefault((tag, lg), []).append(r["all"][0])
    gates = {k: re.compile(_term_regex("|".join(v)), _FLAGS) for k, v in first_groups.items()}
    cues = {}
    for lg, c in data.get("polarity", {}).items():
        cues[lg] = Cues(**{k: _cue_regex(c[k]) for k in ("negation", "negation_ignore", "restriction",
                                                          "conditional")})
    stop = {lg: frozenset(words) for lg, words in data.get("stopwords", {}).items()}
    s = data.get("settings", {})
    return RuleSet(
        rules=tuple(rules), gates=gates, confident=float(s.get("confident", 1.0)),
        possible=float(s.get("possible", 0.5)), cues=cues, stop=stop,
        dilute_tags=frozenset(s.get("dilute_tags", ())), dilute_commas=int(s.get("dilute_commas", 6)),
    )


def _cue_regex(items: list[str]) -> re.Pattern:
    """Cue terms in the rule syntax; an item starting with ``re:`` is a raw regular expression."""
    terms = [i for i in items if not i.startswith("re:")]
    raws = [i[3:] for i in items if i.startswith("re:")]
    parts = ([_term_regex("|".join(terms))] if terms else []) + [f"(?:{r})" for r in raws]
    return re.compile("|".join(parts) or r"(?!x)x", _FLAGS)


def _default_rule_files() -> list[Path]:
    folder = resources.files("tracker") / "rules"
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml"))


@lru_cache(maxsize=8)
def load_rules(paths: tuple[str, ...] | None = None) -> RuleSet:
    """Read and compile every rules file (``tracker/rules/*.toml`` by default), merged."""
    files = [Path(p) for p in paths] if paths else _default_rule_files()
    merged: dict = {"rule": [], "polarity": {}, "stopwords": {}, "settings": {}}
    for f in files:
        d = tomllib.loads(f.read_text(encoding="utf-8"))
        merged["rule"].extend(d.get("rule", []))
        merged["polarity"].update(d.get("polarity", {}))
        merged["stopwords"].update(d.get("stopwords", {}))
        merged["settings"].update(d.get("settings", {}))
    return _compile(merged)


# --------------------------------------------------------------------------- language


def detect_lang(text: str, rules: RuleSet | None = None) -> str:
    """'fr' or 'en' from the share of each language's stop words: enough for policy clauses."""
    rs = rules or load_rules()
    words = [w.lower() for w in _WORD.findall(text[:2000])]
    fr = sum(w in rs.stop.get("fr", ()) for w in words)
    en = sum(w in rs.stop.get("en", ()) for w in words)
    return "fr" if fr > en else "en"


# --------------------------------------------------------------------------- matching


@dataclass
class _Hit:
    rule: Rule
    start: int
    end: int
    sent: int


class _Text:
    """A text prepared once: normalised copy, word starts and sentence starts for bisecting."""

    def __init__(self, text: str) -> None:
        self.raw = text
        self.norm = text.replace("’", "'").replace("‘", "'")
        self._words: list[int] | None = None
        self._sents: list[int] | None = None

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = [m.start() for m in _WORD.finditer(self.norm)]
        return self._words

    @property
    def sents(self) -> list[int]:
        if self._sents is None:
            self._sents = [0] + [m.end() for m in _SENT_END.finditer(self.norm)]
        return self._sents

    def word_at(self, pos: int) -> int:
        return bisect_right(self.words, pos)

    def sent_at(self, pos: int) -> int:
        return bisect_right(self.sents, pos) - 1

    def sentence(self, i: int) -> tuple[int, int]:
        s = self.sents
        return s[i], (s[i + 1] if i + 1 < len(s) else len(self.norm))


def _match_rule(rule: Rule, t: _Text) -> list[_Hit]:
    """All places where every group of the rule occurs in one sentence within the window."""
    per_group = []
    for i, g in enumerate(rule.groups):
        if i == 0 and rule.at_start:
            ms = []
            for k in range(len(t.sents)):
                s, e = t.sentence(k)
                m = g.match(t.norm, s, e)
                if m:
                    ms.append((m.start(), m.end()))
        else:
            ms = [(m.start(), m.end()) for m in g.finditer(t.norm)]
        if not ms:
            return []
        per_group.append(ms)
    hits = []
    for a_start, a_end in per_group[0]:
        sent = t.sent_at(a_start)
        aw = t.word_at(a_start)
        lo, hi = a_start, a_end
        ok = True
        for ms in per_group[1:]:
            best = None
            for s, e in ms:
                if t.sent_at(s) != sent or abs(t.word_at(s) - aw) > rule.window:
                    continue
                if best is None or abs(s - a_start) < abs(best[0] - a_start):
                    best = (s, e)
            if best is None:
                ok = False
                break
            lo, hi = min(lo, best[0]), max(hi, best[1])
        if ok:
            hits.append(_Hit(rule, lo, hi, sent))
    return hits


def _vetoed(hit: _Hit, vetoes: list[_Hit], t: _Text) -> bool:
    for v in vetoes:
        if v.sent != hit.sent or (v.rule.targets and hit.rule.id not in v.rule.targets):
            continue
        if v.rule.unless is not None and v.rule.unless.search(t.norm, *t.sentence(v.sent)):
            continue
        if v.rule.scope == "sentence" or (v.start < hit.end + 80 and v.end > hit.start - 80):
            return True
    return False


def _dilute(t: _Text, hits: list[_Hit], per_sent: dict[int, dict[str, float]], commas: int) -> None:
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


def _polarity(t: _Text, hits: list[_Hit], cues: Cues | None) -> str:
    """Polarity of a tag from the sentences holding its evidence.

    A negator ("we do not use ... to train") gives negated, but not a negated control verb ("if
    you do not opt out"), and a negation tied to an opt-out or exception is a restriction. Then
    restriction (opt-out, objection, de-identification, limits), then condition (only if you opt
    in / enable), else affirmed. Consent-based processing stays affirmed (labelling rules)."""
    if cues is None:
        return "affirmed"
    sents = sorted({h.sent for h in hits})
    spans = [t.sentence(i) for i in sents]
    found = {"negated": False, "restricted": False, "conditional": False}
    for s, e in spans:
        seg = t.norm[s:e]
        ignore = [(m.start(), m.end()) for m in cues.negation_ignore.finditer(seg)]
        for m in cues.negation.finditer(seg):
            if not any(a <= m.start() < b or a < m.end() <= b for a, b in ignore):
                found["negated"] = True
                break
        if cues.restriction.search(seg):
            found["restricted"] = True
        if cues.conditional.search(seg):
            found["conditional"] = True
    if found["negated"]:
        # "will not be used ... following an opt-out" / "except where": a limit, not a plain no
        return "restricted" if found["restricted"] else "negated"
    for p in ("restricted", "conditional"):
        if found[p]:
            return p
    return "affirmed"


def tag_text(text: str, lang: str | None = None, rules: RuleSet | None = None) -> TagResult:
    """Tags of one clause, with polarity and evidence spans into ``text``.

    ``lang`` is 'en' or 'fr' (auto-detected when None). A tag whose rule weights in one
    sentence reach ``confident`` goes to ``tags``; one reaching only ``possible`` goes to
    ``possible``."""
    rs = rules or load_rules()
    if not text or not text.strip():
        return TagResult()
    lg = (lang or detect_lang(text, rs)).split("-")[0].lower()
    if lg not in ("en", "fr"):
        lg = "en"
    t = _Text(text)
    gated = {tag for tag in TAGS if (g := rs.gates.get((tag, lg))) is not None and g.search(t.norm)}
    if not gated:
        return TagResult()
    by_tag: dict[str, list[_Hit]] = {}
    vetoes: dict[str, list[_Hit]] = {}
    for rule in rs.rules:
        if rule.tag not in gated or rule.lang not in (lg, "any"):
            continue
        hits = _match_rule(rule, t)
        if hits:
            (vetoes if rule.veto else by_tag).setdefault(rule.tag, []).extend(hits)
    result = TagResult()
    for tag in TAGS:
        hits = [h for h in by_tag.get(tag, []) if not _vetoed(h, vetoes.get(tag, []), t)]
        if not hits:
            continue
        # score per sentence: the best rule of each id counts once
        per_sent: dict[int, dict[str, float]] = {}
        for h in hits:
            per_sent.setdefault(h.sent, {})[h.rule.id] = h.rule.weight
        if tag in rs.dilute_tags:
            _dilute(t, hits, per_sent, rs.dilute_commas)
        score = max(sum(d.values()) for d in per_sent.values())
        if score < rs.possible:
            continue
        hits.sort(key=lambda h: (-h.rule.weight, h.start))
        seen: set[tuple[int, int]] = set()
        ev = []
        for h in hits:
            if (h.start, h.end) in seen or len(ev) >= 3:
                continue
            seen.add((h.start, h.end))
            ev.append(Evidence(rule=h.rule.id, start=h.start, end=h.end, text=text[h.start:h.end]))
        (result.tags if score >= rs.confident else result.possible).append(tag)
        strong = [h for h in hits if h.rule.weight >= rs.possible] or hits
        result.polarity[tag] = _polarity(t, strong, rs.cues.get(lg))
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
        ch.directions = {}
        _set_old_polarity(ch, old)
        for tag in TAGS:
            if ch.kind == "moved" and (ch.old or "") == (ch.new or ""):
                continue
            d = _direction(tag, old, new)
            if d == "changed" and (ch.old or "") == (ch.new or ""):
                continue
            if d:
                ch.directions[tag] = d
    return result


def _set_old_polarity(ch: Change, old: TagResult | None) -> None:
    if hasattr(ch, "old_polarity"):
        ch.old_polarity = dict(old.polarity) if old else {}
