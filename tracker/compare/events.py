"""Document-level events for the priority tags (ai-training, biometrics): what a reader is told.

Why not per clause: a clause diff says what happened to *clauses*, and a clause can be added while
the very same sentence sits elsewhere in the old document (a page that re-captured a block, a
paragraph split in two, a duplicated section), or removed while it survives in another clause.
Measured on a real archive, such clauses made a quarter of the AI-training and biometrics alerts
untrue ("added" for a sentence already there, "removed" for one still there). An event here is a
statement about the two documents as wholes:

* a *statement* is a sentence carrying the tag's evidence (the tagger's evidence spans), with the
  polarity of its clause. Only confident tags make events; a statement whose tag fell to "possible"
  (a long list that grew past the tagger's dilution) still counts as there;
* **added**: a statement of the new document whose sentence is nowhere in the old one: its words do
  not occur in a row anywhere in the old document (so a sentence merged into a longer one, or split
  over two clauses, is still there), after the diff's document-wide renames ("Twitter may" = "X may"),
  and no gone statement of the same polarity is the same but for spelling ("personalise" /
  "personalize": a regional edition);
* neither when *the same statement is still there, reworded* (:func:`_same_statement`): a fresh
  statement with the polarity and most of the wording of an old one, the evidence words of one all
  kept by the other, is what the reader already had (a paragraph's regional edition next to the
  original; "Sites" / "Platform"; a clarification around the same evidence); likewise a gone
  statement whose twin remains;
* **removed**: a statement of the old document whose sentence is nowhere in the new one, and which
  was not reworded into a new statement (a reworded statement is reported once, as *added*, with
  the sentence it replaces in ``old_sentence``; not at all when the rewording kept the polarity and
  the evidence words of one side are all on the other: a list of data categories that grew around
  "biometric information");
* **stance**: the document's stance for the tag changed. The stance of a document is its *most
  permissive* statement, in the order affirmed > restricted > conditional > negated: a reader asks
  "may they do it with my data?", and a policy that says "we do not train on your messages" and "we
  train on your public posts" does train. The statements that carry the two stances are consumed by
  the stance event (not reported again as added or removed).

Duplicated, re-ordered and re-captured clauses give no event: their sentences are on both sides.
Nothing is computed unless a significant clause change touches the tag, so an unchanged topic costs
nothing; when one does, both documents are tagged whole for the priority tags only (clause results
are cached across calls: consecutive versions share most clauses). Pure: clauses and a tagged diff in, events out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from tracker.compare import sentences
from tracker.compare.tag import PRIORITY, load_rules, tag_text
from tracker.models import Clause, DiffResult, Substitution, TagEvent, TagResult

STANCE_ORDER = ("affirmed", "restricted", "conditional", "negated")  # most permissive first
REWORD_CUTOFF = 60.0  # rapidfuzz ratio of two sentences for "the same statement, reworded"
SAME_CUTOFF = 95.0  # ... for "the same statement, spelt otherwise" (same polarity too): no event


@dataclass(frozen=True)
class Statement:
    """One evidence sentence of a tag in one document."""

    index: int  # clause index in its document
    key: str  # sentences.sentence_key of the sentence (renames applied on the old side)
    sentence: str  # the key sentence shown to a reader (at most about 300 characters)
    polarity: str
    section: str
    evidence: tuple[tuple[int, int], ...] = ()  # the tag's evidence spans in this sentence (clause offsets)
    confident: bool = True  # a confident tag (False: only a "possible" one, see tag_text)
    matched: frozenset[str] = frozenset()  # the words of its evidence spans (sentence_key of each)
    own: str = ""  # the polarity of the sentence read alone (its clause's may come from another sentence)


# A sentence that points the reader to another document ("Learn more about face grouping", the title
# of an explainer: "How Google uses pattern recognition to recognise faces") states no practice: an
# archive often keeps such link titles without their link, and they come and go with the page's menus.
POINTER = re.compile(r"^(?:learn more|read more|find out more|more about|how (?:\w+ ){1,3}?"
                     r"(?:uses?|processes|handles|protects|collects|shares)\b(?!.*[.?:;]\s*\w))", re.I)


def pointer(sentence: str) -> bool:
    """Whether a sentence only points to another document (see :data:`POINTER`)."""
    return bool(POINTER.match(sentence.strip(" *•-#>")))


@lru_cache(maxsize=32768)
def _tagged(text: str, lang: str | None) -> TagResult:
    return tag_text(text, lang, load_rules(), tags=PRIORITY)  # events read only the priority tags


def touched_tags(diff: DiffResult) -> list[str]:
    """Priority tags that some significant clause change carries on either side."""
    out = []
    for tag in PRIORITY:
        if any(tag in c.tags or tag in c.directions for c in diff.significant):
            out.append(tag)
    return out


def _renamer(subs: list[Substitution]):
    """The diff's document-wide renames, applied to sentence keys of the old document."""
    table = {sentences.sentence_key(s.old): sentences.sentence_key(s.new) for s in subs}
    table = {k: v for k, v in table.items() if k and k != v}
    if not table:
        return lambda k: k
    alts = sorted(table, key=len, reverse=True)
    rx = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in alts) + r")(?!\w)")
    return lambda k: rx.sub(lambda m: table[m.group(0)], k)


def statements(clauses: list[Clause], tag: str, lang: str | None, rename=None,
               possible: bool = False) -> list[Statement]:
    """The tag's statements of one document, in document order (a sentence once per clause); with
    ``possible``, also those of clauses where the tag is only possible (``confident`` False)."""
    out: list[Statement] = []
    for i, c in enumerate(clauses):
        if c.kind == "heading" or c.metadata:
            continue
        tr = _tagged(c.text, lang)
        confident = tag in tr.tags
        if not confident and not (possible and tag in tr.possible):
            continue
        ev = [(e.start, e.end) for e in tr.evidence.get(tag, ())]
        seen: set[str] = set()
        for a, b in sentences.spans(c.text):
            local = [(max(s, a) - a, min(e, b) - a) for s, e in ev if s < b and a < e]
            if not local:
                continue
            if pointer(c.text[a:b]):
                continue
            key = sentences.sentence_key(c.text[a:b])
            if rename is not None:
                key = rename(key)
            if not key or key in seen:
                continue
            seen.add(key)
            out.append(Statement(index=i, key=key, sentence=sentences.key_sentence(c.text[a:b], local),
                                 polarity=tr.polarity.get(tag) or "affirmed", section=c.section_path,
                                 evidence=tuple((s + a, e + a) for s, e in local), confident=confident,
                                 matched=frozenset(sentences.sentence_key(c.text[s + a:e + a]) for s, e in local),
                                 own=_tagged(c.text[a:b], lang).polarity.get(tag) or ""))
    return out


def stance(stmts: list[Statement]) -> str:
    """The document's stance: its most permissive statement ("" without any)."""
    ranks = [STANCE_ORDER.index(s.polarity) if s.polarity in STANCE_ORDER else 0 for s in stmts]
    return STANCE_ORDER[min(ranks)] if ranks else ""


def _word_stream(clauses: list[Clause], rename=None) -> str:
    """Every word of a document in order, space-separated and padded: a statement whose words occur
    here in a row is in the document, whatever clause or sentence split it landed in."""
    stream = " " + " ".join(sentences.sentence_key(c.text) for c in clauses) + " "
    return rename(stream) if rename is not None else stream


def _compatible(fresh: list[Statement], gone: list[Statement]) -> tuple[list[Statement], list[Statement]]:
    """Drop the pairs of a fresh and a gone statement that are the same statement in another spelling
    (a regional edition's "personalise" / "personalize", a typo fixed): near-identical words and the
    same polarity. "We do" / "we do not" differ in polarity and stay."""
    drop_f: set[int] = set()
    drop_g: set[int] = set()
    for p, n in enumerate(fresh):
        for q, o in enumerate(gone):
            if q in drop_g or o.polarity != n.polarity:
                continue
            if fuzz.ratio(o.key, n.key, score_cutoff=SAME_CUTOFF):
                drop_f.add(p)
                drop_g.add(q)
                break
    return ([n for p, n in enumerate(fresh) if p not in drop_f], [o for q, o in enumerate(gone) if q not in drop_g])


def _same_statement(o: Statement, n: Statement, paired: bool = False) -> bool:
    """Whether ``n`` is the statement ``o`` still there, reworded: the same polarity (of their clauses, or
    of the sentences read alone: a clause's polarity may come from a neighbouring sentence that went,
    "with your permission, ..."), the evidence words of one all kept by the other (a clarification that
    adds "biometric data" next to "facial recognition", a list that grew), and most of the same
    wording. Then the reader already had it: a fresh one is a second wording of an old statement (a
    paragraph's regional edition next to the original; "Sites" / "Platform"), and a gone one was a
    second wording of one that remains. "Train our language models" -> "train our AI models" changes
    the evidence: news, and reported. ``paired``: the two were paired as a rewording already (the
    diff paired their clauses: "1.4 Automatic Voice Recognition & Voice Profiles" -> "1.4 Voice
    Profiles"), so their wording need not be close."""
    return ((o.polarity == n.polarity or bool(o.own) and o.own == n.own)
            and (o.matched <= n.matched or n.matched <= o.matched)
            and (paired or bool(fuzz.ratio(o.key, n.key, score_cutoff=REWORD_CUTOFF))))


def _pair(fresh: list[Statement], gone: list[Statement], diff: DiffResult) -> dict[int, int]:
    """Rewordings: position in ``fresh`` -> position in ``gone``. Sentences of one clause the diff
    paired first, then similar sentences anywhere; best pairs win, ties by position (deterministic)."""
    same_clause = {(c.old_index, c.new_index) for c in diff.changes if c.old_index is not None and c.new_index is not None}
    cands = []
    for p, n in enumerate(fresh):
        for q, o in enumerate(gone):
            score = fuzz.ratio(o.key, n.key)
            if (o.index, n.index) in same_clause:
                score += 100
            if score >= REWORD_CUTOFF:
                cands.append((-score, p, q))
    cands.sort()
    out: dict[int, int] = {}
    used: set[int] = set()
    for _, p, q in cands:
        if p in out or q in used:
            continue
        out[p] = q
        used.add(q)
    return out


def document_events(old: list[Clause], new: list[Clause], diff: DiffResult, lang: str | None = None,
                    earlier: Callable[[], list[list[Clause]]] | None = None) -> list[TagEvent]:
    """Priority-tag events of one change (see the module doc), in the order: stance, added, removed.
    ``earlier``: the clauses of a few versions before ``old`` (called only when a statement is fresh)."""
    tags = touched_tags(diff)
    if not tags:
        return []
    rename = _renamer(diff.substitutions)
    old_words, new_words = _word_stream(old, rename), _word_stream(new)
    # clause index -> index of the clause change that carries it (None: the clause is unchanged)
    of_new = {c.new_index: k for k, c in enumerate(diff.changes) if c.new_index is not None}
    of_old = {c.old_index: k for k, c in enumerate(diff.changes) if c.old_index is not None}
    events: list[TagEvent] = []
    back: list[str] | None = None  # word streams of the earlier versions, read once if needed
    for tag in tags:
        # Statements where the tag is only "possible" tell nothing, but they are there: a long list that
        # grew by a few items can fall below the confident score, and its statement was not removed.
        all_old, all_new = statements(old, tag, lang, rename, possible=True), statements(new, tag, lang, possible=True)
        olds, news = [s for s in all_old if s.confident], [s for s in all_new if s.confident]
        fresh_all, gone_all = _compatible([s for s in all_new if f" {s.key} " not in old_words],
                                          [s for s in all_old if f" {s.key} " not in new_words])
        fresh_all = [s for s in fresh_all if not any(_same_statement(o, s) for o in all_old)]
        gone_all = [s for s in gone_all if not any(_same_statement(s, n) for n in all_new)]
        if fresh_all and earlier is not None:
            # a block that left and comes back (the page flapping a block, not a whole text): its
            # statements were in the document a few versions ago, and their return is no news
            if back is None:
                back = [_word_stream(clauses) for clauses in earlier()]
            fresh_all = [s for s in fresh_all if not any(f" {s.key} " in w for w in back)]
        fresh, gone = [s for s in fresh_all if s.confident], [s for s in gone_all if s.confident]
        if not fresh and not gone and stance(olds) == stance(news):
            continue
        consumed_new: set[int] = set()  # ids of statements already told
        consumed_old: set[int] = set()
        before, after = stance(olds), stance(news)
        if before and after and before != after:
            n = _carrier(news, after, fresh)
            o = _carrier(olds, before, gone)
            consumed_new.add(id(n))
            consumed_old.add(id(o))
            events.append(TagEvent(tag=tag, kind="stance", stance=after, old_stance=before, sentence=n.sentence,
                                   old_sentence=o.sentence, section=n.section, change=of_new.get(n.index)))
        left_fresh = [s for s in fresh_all if id(s) not in consumed_new]
        left_gone = [s for s in gone_all if id(s) not in consumed_old]
        pairs = _pair(left_fresh, left_gone, diff)
        told: set[int | str] = set()  # clauses and sentences already told: one event per clause, a sentence once
        for p, n in enumerate(left_fresh):
            was = left_gone[pairs[p]] if p in pairs else None  # the statement it rewords
            if was is not None:
                consumed_old.add(id(was))
                if _same_statement(was, n, paired=True):
                    continue  # reworded around the same evidence ("a, b, biometric data" + "c"): no news
            if not n.confident or n.index in told or n.key in told or n.sentence in told:
                continue
            told.update((n.index, n.key, n.sentence))
            ev = TagEvent(tag=tag, kind="added", stance=n.polarity, old_stance=was.polarity if was else "",
                          sentence=_joined(new, n, [f for f in left_fresh if f.confident]), old_sentence=was.sentence if was else "",
                          section=n.section, change=of_new.get(n.index))
            if _significant(diff, ev.change):
                events.append(ev)
        told = set()
        for o in left_gone:
            if not o.confident or id(o) in consumed_old or o.index in told or o.key in told or o.sentence in told:
                continue
            told.update((o.index, o.key, o.sentence))
            sentence = _joined(old, o, [g for g in left_gone if g.confident and id(g) not in consumed_old])
            ev = TagEvent(tag=tag, kind="removed", stance=o.polarity, sentence=sentence, old_sentence=sentence,
                          section=o.section, change=of_old.get(o.index))
            if _significant(diff, ev.change):
                events.append(ev)
    return events


def _joined(clauses: list[Clause], first: Statement, pool: list[Statement]) -> str:
    """The key sentence of all of ``pool``'s statements in ``first``'s clause (consecutive evidence
    sentences are shown together while they fit)."""
    spans = [sp for s in pool if s.index == first.index for sp in s.evidence]
    return sentences.key_sentence(clauses[first.index].text, spans) or first.sentence


def _carrier(stmts: list[Statement], polarity: str, preferred: list[Statement]) -> Statement:
    """The statement that carries a document stance: a changed one when there is one."""
    for pool in (preferred, stmts):
        for s in pool:
            if s.polarity == polarity or (polarity == "affirmed" and s.polarity not in STANCE_ORDER):
                return s
    return stmts[0]


def _significant(diff: DiffResult, change: int | None) -> bool:
    """An event rests on a significant clause change (or on none: a stance read from kept clauses)."""
    return change is None or diff.changes[change].significant


def priority_tags(diff: DiffResult) -> list[str]:
    """The priority tags a change is listed under: those with an event."""
    return [t for t in PRIORITY if any(e.tag == t for e in diff.events)]
