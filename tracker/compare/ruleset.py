"""Rules of the tagger: reading ``tracker/compare/rules/*.toml`` and compiling them into a ``RuleSet``.

A rule is a set of term groups that must all occur in one sentence within a word window, or a veto
(a rule or one regular expression) that voids hits near it; polarity cues are term groups or regexes
per language and kind. Compiling turns every term into a lexicon id and every group into a group id,
so matching a clause (matching.py) works on integers.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tracker.compare.lexicon import LazyRegex, Lexicon

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
# ("such data"); row_negation: the last cell of a table row answering no ("| No |"); opt_out_after:
# an opt-out in a later sentence of the clause that refers back to the use ("if you don't want your
# data used in this way, ...")
CUE_KINDS = ("negation", "negation_ignore", "restriction", "restriction_affirmed", "restriction_ignore",
             "conditional", "conditional_ignore", "neg_conditional", "back_reference", "row_negation",
             "opt_out_after")


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
    # veto scope: window (near the hit), sentence, items (its sentence and the list items after it),
    # or clause (the whole text); a positive rule with
    # scope "clause" needs its other groups anywhere in the text, not in the sentence of the first
    scope: str = "window"
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
    cues: dict[str, dict[str, int]] = {}
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

