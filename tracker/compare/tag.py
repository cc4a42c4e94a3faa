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
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tracker.models import DiffResult, Evidence, TagResult

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
# negation_ignore / restriction_ignore / conditional_ignore: spans that void a cue they overlap
# ("if you do not opt out" is no negation, "often de-identified" no limit, "withdraw your consent"
# no opt-in); neg_conditional: cues that make a negation conditional and mean nothing without one
# ("we do not ... without your consent", "... by default"); restriction_affirmed: limits that only
# count in a sentence without a negation ("used solely to provide the service and never to train"
# is a plain no, "used to train models only for fraud prevention" a limit)
# back_reference: words by which a sentence points back at data limited in the sentence before
# ("such data"); row_negation: the last cell of a table row answering no ("| No |")
CUE_KINDS = ("negation", "negation_ignore", "restriction", "restriction_affirmed", "restriction_ignore",
             "conditional", "conditional_ignore", "neg_conditional", "back_reference", "row_negation")

_FLAGS = re.IGNORECASE | re.UNICODE
_TOKEN = re.compile(r"\w+", re.UNICODE)
_TERM_TOKEN = re.compile(r"\w+\*?|\*", re.UNICODE)
# sentence ends: . ! ? ; followed by space, or a line break (list items, table rows); not the
# period of "e.g." / "i.e." / "incl." / "vs." / "cf." (the sentence goes on)
_NOT_ABBR = r"(?<!e\.g\.)(?<!i\.e\.)(?<!incl\.)(?<!\bvs\.)(?<!\bcf\.)"
# A period followed by a lower-case word ("etc. the", "approx. ten") ends nothing: the ends are
# searched in the original text (same offsets as the lower-cased copy).
_SENT_END = re.compile(r"(?<=[!?;])[\s\"”)*_]+|(?<=\.)" + _NOT_ABBR + r"[\s\"”)*_]+(?![a-z])|\n+")
# full sentence ends (not ';'): an opt-out or condition after a semicolon still limits the clause
_FULL_END = re.compile(r"(?<=[!?])[\s\"”)*_]+|(?<=\.)" + _NOT_ABBR + r"[\s\"”)*_]+(?![a-z])|\n+")
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


def _regex(pattern: str, eager: bool) -> LazyRegex:
    rx = LazyRegex(pattern)
    if eager:  # custom rules files: a broken pattern fails at load, with the file's other errors
        rx.compile()
    return rx


@dataclass(frozen=True)
class Rule:
    id: str
    tag: str
    weight: float
    groups: tuple[int, ...]  # group ids (see RuleSet.tid_groups); empty when ``regex``
    window: int
    lang: str  # en | fr | any
    veto: bool = False
    scope: str = "window"  # veto scope: window (near the hit), sentence, or clause (the whole text)
    targets: tuple[str, ...] = ()  # a veto that applies only to these rule ids (all when empty)
    unless: LazyRegex | None = None  # a veto is void when this matches in the hit's sentence
    regex: LazyRegex | None = None  # a veto given as one regular expression
    at_start: bool = False  # the regex must match at the start of the sentence
    guard: int = -1  # a regex veto runs only when a word of this group occurs in the text (-1: always)
    also: tuple[str, ...] = ()  # a veto that also applies to these tags
    after: tuple[int, ...] = ()  # indexes of groups that must occur after the first group ("improve ... models")


@dataclass(frozen=True)
class RuleSet:
    lexicon: Lexicon
    rules: tuple[Rule, ...]
    gates: dict[tuple[str, str], frozenset[int]]  # (tag, lang) -> first-group term ids
    confident: float
    possible: float
    cues: dict[str, dict[str, int]]  # lang -> cue kind -> group id
    cue_regex: dict[str, dict[str, LazyRegex]]  # lang -> cue kind -> raw regex items
    stop: dict[str, frozenset[str]]
    dilute_tags: frozenset[str] = frozenset()
    dilute_commas: int = 6
    by_tag: dict[tuple[str, str], tuple[tuple[Rule, ...], tuple[Rule, ...]]] = field(default_factory=dict)
    tid_groups: list[tuple[int, ...]] = field(default_factory=list)  # term id -> group ids
    # lang -> cue kind -> (guard group id, regex): "re[w1|w2]:..." items, run only on sentences
    # holding one of the guard words (regexes cost more than the token lookups)
    cue_guarded: dict[str, dict[str, tuple[tuple[int, LazyRegex], ...]]] = field(default_factory=dict)
    own_cues: frozenset[tuple[str, str]] = frozenset()  # (lang, tag) pairs with cues of their own


def _compile(data: dict, eager: bool = False) -> RuleSet:
    lex = Lexicon()
    group_ids: dict[frozenset[int], int] = {}

    def gid(terms: frozenset[int]) -> int:
        return group_ids.setdefault(terms, len(group_ids))

    rules: list[Rule] = []
    gates: dict[tuple[str, str], set[int]] = {}
    for r in data.get("rule", []):
        tag = r["tag"]
        if tag not in TAGS:
            raise ValueError(f"rule {r['id']}: unknown tag {tag!r}")
        lang = r.get("lang", "en")
        is_regex = bool(r.get("regex"))
        term_groups = () if is_regex else tuple(lex.group(g) for g in r["all"])
        groups = tuple(gid(g) for g in term_groups)
        unless = r.get("unless")
        rule = Rule(
            id=r["id"], tag=tag, weight=float(r.get("weight", 1.0)), groups=groups,
            window=int(r.get("window", 12)), lang=lang, veto=bool(r.get("veto", False)),
            scope=r.get("scope", "window"), targets=tuple(r.get("targets", ())),
            unless=_regex("|".join(f"(?:{u})" for u in unless), eager) if unless else None,
            regex=_regex("|".join(f"(?:{g})" for g in r["all"]), eager) if is_regex else None,
            at_start=bool(r.get("at_start", False)), after=tuple(r.get("after", ())),
            guard=gid(lex.group(r["guard"])) if r.get("guard") else -1, also=tuple(r.get("also", ())),
        )
        if rule.also and (not rule.veto or any(a not in TAGS for a in rule.also)):
            raise ValueError(f"rule {rule.id}: `also` lists known tags, on vetoes only")
        if is_regex and not rule.veto:
            raise ValueError(f"rule {rule.id}: regex rules can only be vetoes")
        rules.append(rule)
        if not rule.veto:
            for lg in (("en", "fr") if lang == "any" else (lang,)):
                gates.setdefault((tag, lg), set()).update(term_groups[0])
    cues: dict[str, dict[str, frozenset[int]]] = {}
    cue_regex: dict[str, dict[str, LazyRegex]] = {}
    cue_guarded: dict[str, dict[str, tuple[tuple[int, LazyRegex], ...]]] = {}
    for lg, c in data.get("polarity", {}).items():
        # [polarity.<lang>.<tag>] sub-tables add cues for one tag only, kept as "<kind>@<tag>"
        items = {k: c.get(k, []) for k in CUE_KINDS}
        for tag, sub in c.items():
            if isinstance(sub, dict):
                if tag not in TAGS:
                    raise ValueError(f"polarity.{lg}.{tag}: unknown tag")
                items.update({f"{k}@{tag}": sub[k] for k in CUE_KINDS if sub.get(k)})
        cues[lg] = {k: gid(frozenset(lex.add(i) for i in v if not i.startswith(("re:", "re["))))
                    for k, v in items.items()}
        raws = {k: [i[3:] for i in v if i.startswith("re:")] for k, v in items.items()}
        cue_regex[lg] = {k: _regex("|".join(f"(?:{x})" for x in v), eager) for k, v in raws.items() if v}
        cue_guarded[lg] = {k: tuple(_guarded(i, lex, gid, eager) for i in v if i.startswith("re["))
                           for k, v in items.items()}
    stop = {lg: frozenset(words) for lg, words in data.get("stopwords", {}).items()}
    s = data.get("settings", {})
    by_tag = {}
    for tag in TAGS:
        for lg in ("en", "fr"):
            mine = [r for r in rules if (r.tag == tag or tag in r.also) and r.lang in (lg, "any")]
            by_tag[(tag, lg)] = (tuple(r for r in mine if not r.veto), tuple(r for r in mine if r.veto))
    tid_groups: list[list[int]] = [[] for _ in lex.ids]
    for terms, g in group_ids.items():
        for tid in terms:
            tid_groups[tid].append(g)
    return RuleSet(
        lexicon=lex, rules=tuple(rules), gates={k: frozenset(v) for k, v in gates.items()},
        confident=float(s.get("confident", 1.0)), possible=float(s.get("possible", 0.5)),
        cues=cues, cue_regex=cue_regex, cue_guarded=cue_guarded, stop=stop,
        dilute_tags=frozenset(s.get("dilute_tags", ())), dilute_commas=int(s.get("dilute_commas", 6)),
        by_tag=by_tag, tid_groups=[tuple(g) for g in tid_groups],
        own_cues=frozenset((lg, k.partition("@")[2]) for lg, c in cues.items() for k in c if "@" in k),
    )


def _guarded(item: str, lex: Lexicon, gid, eager: bool) -> tuple[int, LazyRegex]:
    """'re[w1|w2]:pattern' -> (group id of the guard words, compiled pattern)."""
    guard, _, pattern = item[3:].partition("]:")
    if not guard or not pattern:
        raise ValueError(f"cue {item!r}: expected re[word|word]:pattern")
    return gid(lex.group(guard)), _regex(pattern, eager)


def _default_rule_files() -> list[Path]:
    """The shipped rules files; next to this module on disk (importlib.resources, a few ms, is only
    asked when the package is not a folder, e.g. a zip)."""
    folder = Path(__file__).resolve().parent / "rules"
    if folder.is_dir():
        return sorted(p for p in folder.iterdir() if p.name.endswith(".toml"))
    from importlib import resources  # 7 ms of imports, for the zip case only

    folder = resources.files("tracker") / "compare" / "rules"  # type: ignore[assignment]
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml"))


@lru_cache(maxsize=8)
def load_rules(paths: tuple[str, ...] | None = None) -> RuleSet:
    """Read and compile every rules file (``tracker/compare/rules/*.toml`` by default), merged."""
    files = [Path(p) for p in paths] if paths else _default_rule_files()
    merged: dict = {"rule": [], "polarity": {}, "stopwords": {}, "settings": {}}
    for f in files:
        d = tomllib.loads(f.read_text(encoding="utf-8"))
        merged["rule"].extend(d.get("rule", []))
        merged["polarity"].update(d.get("polarity", {}))
        merged["stopwords"].update(d.get("stopwords", {}))
        merged["settings"].update(d.get("settings", {}))
    return _compile(merged, eager=bool(paths))


# --------------------------------------------------------------------------- text


class _Text:
    """A text prepared once: lower-cased copy (same offsets), tokens, sentence starts, terms."""

    def __init__(self, text: str) -> None:
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two: keep offsets exact
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        self.raw = text
        self.norm = low.replace("’", "'").replace("‘", "'")
        ms = list(_TOKEN.finditer(self.norm))
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
    return _detect(_TOKEN.findall(text[:2000].lower()), rules or load_rules())


def _detect(words: list[str], rs: RuleSet) -> str:
    fr_stop, en_stop = rs.stop.get("fr", frozenset()), rs.stop.get("en", frozenset())
    fr = sum(w in fr_stop for w in words)
    en = sum(w in en_stop for w in words)
    return "fr" if fr > en else "en"


# --------------------------------------------------------------------------- matching


@dataclass
class _Hit:
    rule: Rule
    start: int
    end: int
    sent: int


def _match_rule(rule: Rule, t: _Text) -> list[_Hit]:
    """All places where every group of the rule occurs in one sentence within the window."""
    if rule.regex is not None:
        return _match_regex(rule, t)
    per_group = []
    for g in rule.groups:
        if g not in t.groups:
            return []
        per_group.append(t.sorted_occurrences(g))
    hits = []
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
            hits.append(_Hit(rule, t.starts[lo], t.ends[hi], sent))
    return hits


def _match_regex(rule: Rule, t: _Text) -> list[_Hit]:
    hits = []
    if rule.at_start:
        for k in range(len(t.sents)):
            s, e = t.sentence(k)
            m = rule.regex.match(t.norm, s, e)
            if m:
                hits.append(_Hit(rule, m.start(), m.end(), k))
        return hits
    for m in rule.regex.finditer(t.norm):
        hits.append(_Hit(rule, m.start(), m.end(), t.sent_at(m.start())))
    return hits


def _vetoed(hit: _Hit, vetoes: list[_Hit], t: _Text) -> bool:
    for v in vetoes:
        if v.rule.targets and hit.rule.id not in v.rule.targets:
            continue
        if v.rule.scope == "clause":  # the whole text is of a kind (a definition): every hit
            if v.rule.unless is None or not v.rule.unless.search(t.norm):
                return True
            continue
        if v.sent != hit.sent:
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


def _cue_spans(t: _Text, rs: RuleSet, lg: str, kind: str, s: int, e: int, tag: str = "") -> list[tuple[int, int]]:
    """Character spans of the cues of one kind inside the sentence [s, e), and with ``tag`` the
    cues of that kind kept for this tag only."""
    out = _cue_spans(t, rs, lg, f"{kind}@{tag}", s, e) if tag and f"{kind}@{tag}" in rs.cues.get(lg, ()) else []
    for f, last in t.occurrences(rs.cues.get(lg, {}).get(kind, -1)):
        if s <= t.starts[f] < e:
            out.append((t.starts[f], t.ends[last]))
    rx = rs.cue_regex.get(lg, {}).get(kind)
    seg = None
    if rx is not None:
        seg = t.norm[s:e]
        out.extend((s + m.start(), s + m.end()) for m in rx.finditer(seg))
    for g, grx in rs.cue_guarded.get(lg, {}).get(kind, ()):
        if any(s <= t.starts[f] < e for f, _ in t.occurrences(g)):
            seg = t.norm[s:e] if seg is None else seg
            out.extend((s + m.start(), s + m.end()) for m in grx.finditer(seg))
    return out


def _live(spans: list[tuple[int, int]], ignore: list[tuple[int, int]]) -> bool:
    """Whether some cue span overlaps none of the ``ignore`` spans."""
    return any(not any(a <= ms < b or a < me <= b for a, b in ignore) for ms, me in spans)


def _neighbour_condition(t: _Text, rs: RuleSet, lg: str, fs: int, fe: int, own: str) -> bool:
    """A conditional cue in the full sentence just before or after [fs, fe) of the same text."""
    for a, b in ((t.full_before(fs), fs), (fe, t.full_after(fe))):
        if a < b:
            cond = _cue_spans(t, rs, lg, "conditional", a, b, own)
            if cond and _live(cond, _cue_spans(t, rs, lg, "conditional_ignore", a, b, own)):
                return True
    return False


def _polarity(t: _Text, hits: list[_Hit], rs: RuleSet, lg: str, cache: dict, tag: str = "") -> str:
    """Polarity of a tag from the sentences holding its evidence.

    A negator ("we do not use ... to train") gives negated, but not a negated control verb ("if
    you do not opt out"), and a negation tied to an opt-out or exception is a restriction. Then
    restriction (opt-out, objection, de-identification, narrow purpose, deletion after a stated
    time), then condition (only if you opt in, consent, enable or choose), else affirmed. A condition
    outranks a restriction: the opt-in decides whether the use happens at all (labelling rules of
    ../shared/README.md: consent-based processing is conditional). An evidence sentence without any
    cue borrows a condition from the sentence before or after it, a limit from the sentence before
    when it points back at that data ("such data"), and a table row's "No" answer. Negated and plain
    evidence sentences together give restricted (done, with some data excluded)."""
    if lg not in rs.cues:
        return "affirmed"
    found = {"negated": False, "restricted": False, "conditional": False, "neg_conditional": False,
             "plain": False}
    own = tag if (lg, tag) in rs.own_cues else ""  # tag-specific cues
    for i in sorted({h.sent for h in hits}):
        key = (i, own)
        if key not in cache:
            s, e = t.sentence(i)
            negs = _cue_spans(t, rs, lg, "negation", s, e, own)
            ignore = _cue_spans(t, rs, lg, "negation_ignore", s, e, own) if negs else []
            neg = _live(negs, ignore)
            fs, fe = t.full_sentence(i)
            res = _cue_spans(t, rs, lg, "restriction", fs, fe, own)
            if not neg:
                res += _cue_spans(t, rs, lg, "restriction_affirmed", fs, fe, own)
            if res:
                res = _live(res, _cue_spans(t, rs, lg, "restriction_ignore", fs, fe, own))
            cond = _cue_spans(t, rs, lg, "conditional", fs, fe, own)
            if cond:
                cond = _live(cond, _cue_spans(t, rs, lg, "conditional_ignore", fs, fe, own))
            negcond = neg and bool(_cue_spans(t, rs, lg, "neg_conditional", fs, fe, own))
            if not (neg or res or cond):
                # "If you choose to verify your photo, we will scan it. The scan may include facial
                # recognition ...": the gate is often the sentence before or after the evidence
                cond = _neighbour_condition(t, rs, lg, fs, fe, own)
                # "We aggregate and de-identify the data ... We then use such data for machine
                # learning": the limit is stated on the data the evidence sentence points back to
                if not cond and fs > 0 and _cue_spans(t, rs, lg, "back_reference", fs, fe, own):
                    a = t.full_before(fs)
                    prev = _cue_spans(t, rs, lg, "restriction", a, fs, own)
                    res = bool(prev) and _live(prev, _cue_spans(t, rs, lg, "restriction_ignore", a, fs, own))
                # a table row whose last cell says "No" (collected? no)
                if not (cond or res) and t.norm.lstrip().startswith("|"):
                    neg = bool(_cue_spans(t, rs, lg, "row_negation", 0, len(t.norm), own))
            cache[key] = (neg, bool(res), bool(cond), negcond)
        neg, res, cond, negcond = cache[key]
        found["negated"] |= neg
        found["restricted"] |= res
        found["conditional"] |= cond
        found["neg_conditional"] |= negcond
        found["plain"] |= not (neg or res or cond)
    if found["negated"] and found["plain"] and not (found["conditional"] or found["neg_conditional"]):
        # "we train models on X ... we do not use Y for training": done, with some data excluded
        return "restricted"
    if found["negated"]:
        # "not used ... unless you opt in", "not ... without your consent", "not ... by default":
        # the use depends on the user's affirmative step
        if found["conditional"] or found["neg_conditional"]:
            return "conditional"
        # "will not be used ... following an opt-out" / "except where": a limit, not a plain no
        return "restricted" if found["restricted"] else "negated"
    # "only if you allow it in your privacy settings": the opt-in gate decides whether the use
    # happens at all; the settings / limit words around it only say where the choice is made
    for p in ("conditional", "restricted"):
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
    t = _Text(text)
    lg = (lang or _detect(t.words[:400], rs)).split("-")[0].lower()
    if lg not in ("en", "fr"):
        lg = "en"
    t.index(rs.lexicon.scan(t.words), rs.tid_groups)
    if not t.found:
        return TagResult()
    found = t.found.keys()
    tg = t.groups
    result = TagResult()
    cue_cache: dict = {}
    for tag in TAGS:
        gate = rs.gates.get((tag, lg))
        if not gate or gate.isdisjoint(found):
            continue
        positives, veto_rules = rs.by_tag[(tag, lg)]
        # skip rules whose first group is absent before paying for a call (most are)
        hits = [h for r in positives if r.groups[0] in tg for h in _match_rule(r, t)]
        if hits and veto_rules:  # vetoes (some are regexes) only run when there is something to veto
            vetoes = [h for r in veto_rules
                      if (r.groups[0] in tg if r.regex is None else r.guard < 0 or r.guard in tg)
                      for h in _match_rule(r, t)]
            hits = [h for h in hits if not _vetoed(h, vetoes, t)]
        if not hits:
            continue
        # score per sentence: each rule id counts once
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
        result.polarity[tag] = _polarity(t, strong, rs, lg, cue_cache, tag)
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
        ch.old_polarity = dict(old.polarity) if old else {}
        ch.directions = {}
        same_text = (ch.old or "") == (ch.new or "")
        for tag in TAGS:
            d = _direction(tag, old, new)
            if d and not (same_text and d == "changed"):
                ch.directions[tag] = d
    return result
