"""Polarity of a priority tag (affirmed, negated, restricted, conditional) from the cues in the
sentences holding its evidence; the definitions are the labelling rules of ../shared/README.md."""

from __future__ import annotations

from tracker.compare.matching import Hit
from tracker.compare.ruleset import RuleSet
from tracker.compare.textindex import TextIndex


def _cue_spans(t: TextIndex, rs: RuleSet, lg: str, kind: str, s: int, e: int, tag: str = "") -> list[tuple[int, int]]:
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


def _neighbour_condition(t: TextIndex, rs: RuleSet, lg: str, fs: int, fe: int, own: str) -> bool:
    """A conditional cue in the full sentence just before or after [fs, fe) of the same text."""
    for a, b in ((t.full_before(fs), fs), (fe, t.full_after(fe))):
        if a < b:
            cond = _cue_spans(t, rs, lg, "conditional", a, b, own)
            if cond and _live(cond, _cue_spans(t, rs, lg, "conditional_ignore", a, b, own)):
                return True
    return False


def _last_cell(norm: str) -> tuple[int, int] | None:
    """Span of the last non-empty cell of a one-row Markdown table clause ("| a | b | c |" -> c)."""
    end = len(norm.rstrip().rstrip("|").rstrip())
    start = norm.rfind("|", 0, end) + 1
    return (start, end) if 0 < start < end else None


def polarity_of(t: TextIndex, hits: list[Hit], rs: RuleSet, lg: str, cache: dict, tag: str = "") -> str:
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
            # cue spans, or whether there are live ones: only their truth matters
            res: list[tuple[int, int]] | bool
            cond: list[tuple[int, int]] | bool
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
                # "We use Interactions to improve ... machine learning technologies. ... If you don't
                # want your Interactions used in this way, change your settings": an opt-out stated in
                # a later sentence of the same clause that points back at this use
                if not (cond or res) and fe < len(t.norm):
                    after = _cue_spans(t, rs, lg, "opt_out_after", fe, len(t.norm), own)
                    res = bool(after) and _live(after, _cue_spans(t, rs, lg, "restriction_ignore", fe, len(t.norm), own))
                # a table row whose last cell says "No" (collected? no); the first cell may hold
                # no bar before it ("E. Biometric information | ... | No")
                if not (cond or res) and "|" in t.norm:
                    neg = bool(_cue_spans(t, rs, lg, "row_negation", 0, len(t.norm), own))
                # a table row whose last cell gives the legal basis ("| ... biometric data ... | we
                # rely on your explicit and voluntary consent |"): the row's processing rests on the
                # user's consent (labelling rules: consent-based processing is conditional)
                if not (cond or res or neg) and t.norm.lstrip().startswith("|"):
                    cell = _last_cell(t.norm)
                    if cell is not None and not cell[0] <= fs < cell[1]:
                        c = _cue_spans(t, rs, lg, "conditional", cell[0], cell[1], own)
                        cond = bool(c) and _live(c, _cue_spans(t, rs, lg, "conditional_ignore", cell[0], cell[1], own))
            cache[key] = (neg, bool(res), bool(cond), negcond)
        is_neg, is_res, is_cond, is_negcond = cache[key]
        found["negated"] |= is_neg
        found["restricted"] |= is_res
        found["conditional"] |= is_cond
        found["neg_conditional"] |= is_negcond
        found["plain"] |= not (is_neg or is_res or is_cond)
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

