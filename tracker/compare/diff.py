"""Clause-level diff: align two clause lists, then say what was added, removed, reworded or moved.

Alignment, cheapest evidence first:
1. identical clauses by id (same normalised wording), in order;
2. fuzzy matching of the rest with rapidfuzz, each new clause scored only against a bounded set of
   candidates (old clauses sharing its rarer words, and the unmatched old clauses near its position),
   so cost stays near linear on long documents; best pairs win greedily;
3. order: the longest increasing subsequence of matched pairs stays put, the rest "moved".

Significance is a separate judgement: normalisation-only differences, metadata lines ("Last
updated ...") and moves within a section are reported as insignificant, and a rename applied across
the document ("Twitter" -> "X") is summarised once as a :class:`Substitution`, its clauses made
insignificant when the rename is all that changed in them.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections import Counter, defaultdict, deque
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from tracker.models import Change, Clause, DiffResult, Substitution, WordEdit
from tracker.text.normalise import EMAIL_PLACEHOLDER, is_link_fragment, mask_emails, normalise

MATCH_CUTOFF = 60.0  # rapidfuzz ratio (0-100) for two clauses to be "the same clause, reworded"
CANDIDATES = 12  # fuzzy candidates per clause (bounded: near-linear cost)
RARE_POSTINGS = 40  # a word in more unmatched clauses than this is too common to find candidates
SWEEP_MIN_CLAUSES = 3  # a rename seen in this many clauses is a systematic substitution
_TOKEN = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")  # words/punctuation carry their trailing space
_WORD = re.compile(r"\w{3,}")
_WORDS = re.compile(r"\w+")
_NEGATION_OR_MODAL = frozenset("""not no never none nor without don't doesn't won't cannot can't may might
will shall must should would could can only all any some""".split())


# --------------------------------------------------------------------------- word edits


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Token opcodes from rapidfuzz's LCS (C++, ~10x difflib), with a delete next to an insert
    merged into one replace, as difflib reports it."""
    out: list[tuple[str, int, int, int, int]] = []
    for op in Indel.opcodes(a, b):
        tag, i1, i2, j1, j2 = op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end
        if out and {tag, out[-1][0]} == {"insert", "delete"}:
            _, pi1, _, pj1, _ = out[-1]
            out[-1] = ("replace", pi1, i2, pj1, j2)
        elif out and out[-1][0] == "replace" and tag in ("insert", "delete"):
            _, pi1, _, pj1, _ = out[-1]
            out[-1] = ("replace", pi1, i2, pj1, j2)
        else:
            out.append((tag, i1, i2, j1, j2))
    return out


def raw_edits(old: str, new: str) -> list[WordEdit]:
    """Token-level edits (an LCS over tokens), common prefix and suffix peeled off first.

    Tokens keep their trailing space for display but are compared without it, so "Twitter." and
    "Twitter and ..." share the word.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(a) * len(b) > 4_000_000:  # a giant clause: sentence granularity keeps it bounded
        a = re.findall(r"[^.!?;]*[.!?;]*\s*", old)
        b = re.findall(r"[^.!?;]*[.!?;]*\s*", new)
    ka, kb = [t.rstrip() for t in a], [t.rstrip() for t in b]
    p = 0
    while p < len(a) and p < len(b) and ka[p] == kb[p]:
        p += 1
    q = 0
    while q < len(a) - p and q < len(b) - p and ka[-1 - q] == kb[-1 - q]:
        q += 1
    out: list[WordEdit] = []
    if p:
        out.append(WordEdit("equal", "".join(a[:p]), "".join(b[:p])))
    ma, mb = a[p:len(a) - q], b[p:len(b) - q]
    for op, i1, i2, j1, j2 in _opcodes(ka[p:len(a) - q], kb[p:len(b) - q]):
        out.append(WordEdit(op, "".join(ma[i1:i2]), "".join(mb[j1:j2])))
    if q:
        out.append(WordEdit("equal", "".join(a[len(a) - q:]), "".join(b[len(b) - q:])))
    return out


def word_edits(old: str, new: str) -> list[WordEdit]:
    """Word-level edits of one clause: runs of equal / insert / delete / replace text.

    Edits separated only by white space are merged, so "improve our services" -> "train AI models"
    reads as one replacement rather than three.
    """
    return merge_edits(raw_edits(old, new))


def merge_edits(edits: list[WordEdit]) -> list[WordEdit]:
    """Merge non-equal edits that touch or are separated only by white space."""
    out: list[WordEdit] = []
    i = 0
    while i < len(edits):
        e = edits[i]
        if e.op == "equal":
            out.append(WordEdit("equal", e.old, e.new))
            i += 1
            continue
        old, new = e.old, e.new
        i += 1
        while i < len(edits):
            nxt = edits[i]
            if nxt.op != "equal":
                old, new = old + nxt.old, new + nxt.new
                i += 1
            elif not nxt.old.strip() and i + 1 < len(edits) and edits[i + 1].op != "equal":
                old, new = old + nxt.old + edits[i + 1].old, new + nxt.new + edits[i + 1].new
                i += 2
            else:
                break
        tail = ""
        while old and new and old[-1] == new[-1] and old[-1].isspace():  # shared trailing space is equal
            tail, old, new = old[-1] + tail, old[:-1], new[:-1]
        if not old and not new:
            continue
        op = "replace" if old and new else ("delete" if old else "insert")
        out.append(WordEdit(op, old, new))
        if tail:
            out.append(WordEdit("equal", tail, tail))
    return out


# --------------------------------------------------------------------------- alignment


def _exact(old: list[Clause], new: list[Clause]) -> dict[int, int]:
    """new index -> old index for identical clauses (duplicates paired in order)."""
    by_id: dict[str, deque[int]] = defaultdict(deque)
    for i, c in enumerate(old):
        by_id[c.id].append(i)
    pairs: dict[int, int] = {}
    for j, c in enumerate(new):
        q = by_id.get(c.id)
        if q:
            pairs[j] = q.popleft()
    return pairs


def _score(a: str, b: str) -> float:
    """Similarity 0-100; a clause that grew (or shrank) by a sentence still matches itself.

    Containment comes free from the ratio: ratio = 2*LCS/(la+lb), so LCS/min(la, lb) says how much
    of the shorter clause survives inside the longer one.
    """
    s = fuzz.ratio(a, b, score_cutoff=30)
    if s >= MATCH_CUTOFF or not s:
        return s
    la, lb = len(a), len(b)
    short, long_ = min(la, lb), max(la, lb)
    if short >= 60 and short >= 0.3 * long_:
        contained = s / 100 * (la + lb) / 2 / short
        if contained >= 0.92:
            return max(s, MATCH_CUTOFF + (contained - 0.92) * 50)
    return s


def _fuzzy(old: list[Clause], new: list[Clause], pairs: dict[int, int]) -> dict[int, float]:
    """Pair up unmatched clauses that are rewordings of each other. Adds to ``pairs``; returns scores."""
    used_old = set(pairs.values())
    olds = [i for i in range(len(old)) if i not in used_old]
    news = [j for j in range(len(new)) if j not in pairs]
    if not olds or not news:
        return {}
    postings: dict[str, list[int]] = defaultdict(list)
    for i in olds:
        for w in set(_WORD.findall(old[i].norm)):  # each list ends up in index order, whatever the set order
            postings[w].append(i)
    # Position: each unmatched new clause looks near where its matched neighbours put it.
    anchors = sorted(pairs.items())
    anchor_new = [j for j, _ in anchors]
    anchor_old = [i for _, i in anchors]
    candidates: list[tuple[float, int, int, int]] = []  # (score, -distance, old, new)
    for j in news:
        shared: Counter[int] = Counter()
        for w in set(_WORD.findall(new[j].norm)):
            p = postings.get(w)
            if p and len(p) <= RARE_POSTINGS:
                shared.update(p)
        # most shared words first, ties by distance then position: most_common would break ties by
        # insertion order, which follows the set's (hash-seeded) order: the diff hung on PYTHONHASHSEED
        cands = set(heapq.nsmallest(CANDIDATES, shared, key=lambda i: (-shared[i], abs(i - j), i)))
        k = bisect_left(anchor_new, j)
        lo = anchor_old[k - 1] if k > 0 else -1
        pos = bisect_left(olds, lo + 1)
        cands.update(olds[pos:pos + 4])
        cands.update(olds[max(0, pos - 2):pos])
        nj = new[j]
        ln = len(nj.norm)
        for i in cands:
            oi = old[i]
            lo_ = len(oi.norm)
            if min(lo_, ln) < 0.3 * max(lo_, ln):  # neither ratio nor containment can reach the cutoff
                continue
            if oi.kind != nj.kind and "heading" in (oi.kind, nj.kind):
                continue
            s = _score(oi.norm, nj.norm)
            if s >= MATCH_CUTOFF:
                candidates.append((s, -abs(i - j), i, j))
    candidates.sort(reverse=True)
    scores: dict[int, float] = {}
    taken: set[int] = set()
    for s, _, i, j in candidates:
        if i in taken or j in pairs:
            continue
        pairs[j] = i
        taken.add(i)
        scores[j] = s
    return scores


def _lis_keep(seq: list[int]) -> set[int]:
    """Positions in ``seq`` forming a longest strictly increasing subsequence (O(n log n))."""
    tails: list[int] = []
    tails_pos: list[int] = []
    prev = [-1] * len(seq)
    for p, v in enumerate(seq):
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tails_pos.append(p)
        else:
            tails[k] = v
            tails_pos[k] = p
        prev[p] = tails_pos[k - 1] if k else -1
    keep: set[int] = set()
    p = tails_pos[-1] if tails_pos else -1
    while p >= 0:
        keep.add(p)
        p = prev[p]
    return keep


# --------------------------------------------------------------------------- rename sweeps


def _sweep_candidates(edit_lists: list[list[WordEdit]]) -> list[Substitution]:
    """Short phrase replacements seen in many clauses, that look like renames (names, domains)."""
    clauses_with: Counter[tuple[str, str]] = Counter()
    occurrences: Counter[tuple[str, str]] = Counter()
    shown: dict[tuple[str, str], tuple[str, str]] = {}
    for edits in edit_lists:
        seen: set[tuple[str, str]] = set()
        for e in edits:
            if e.op != "replace" or len(e.old) > 40 or len(e.new) > 40:
                continue
            old_p, new_p = e.old.strip(), e.new.strip()
            key = (old_p.casefold(), new_p.casefold())
            if not _is_rename(old_p, new_p):
                continue
            occurrences[key] += 1
            shown.setdefault(key, (old_p, new_p))
            seen.add(key)
        clauses_with.update(seen)
    subs = [Substitution(*shown[k], count=occurrences[k]) for k, n in clauses_with.items()
            if n >= SWEEP_MIN_CLAUSES]
    return sorted(subs, key=lambda s: (-s.count, s.old, s.new))  # fully ordered: no hash-seed dependence


def _is_rename(old: str, new: str) -> bool:
    """A name-like replacement (capitalised word or domain), never a negation or a modal verb."""
    if not any(c.isalnum() for c in old) or not any(c.isalnum() for c in new):
        return False
    words = set(re.findall(r"[\w']+", (old + " " + new).casefold()))
    if words & _NEGATION_OR_MODAL:
        return False
    return any(c.isupper() for c in old) or re.search(r"\w\.\w", old) is not None


def _consistent(subs: list[Substitution], old: list[Clause], new: list[Clause]) -> list[Substitution]:
    """A rename is applied everywhere: the old name (nearly) vanishes from the new version."""
    if not subs:
        return subs
    old_text = "\n".join(c.norm for c in old)
    new_text = "\n".join(c.norm for c in new)
    words = (Counter(_WORDS.findall(old_text)), Counter(_WORDS.findall(new_text)))

    def counts(phrase: str) -> tuple[int, int]:
        """Whole-word occurrences in the old and the new text (one-word names are counted from tokens)."""
        if _WORDS.fullmatch(phrase):
            return words[0][phrase], words[1][phrase]
        rx = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)")
        return len(rx.findall(old_text)), len(rx.findall(new_text))

    keep = []
    for s in subs:
        (before, after), (n_before, n_after) = counts(normalise(s.old)), counts(normalise(s.new))
        if after <= 0.25 * before and n_after > n_before:
            keep.append(s)
    return keep


def _substituter(subs: list[Substitution]):
    if not subs:
        return lambda s: s
    table = {normalise(s.old): normalise(s.new) for s in subs}
    alts = sorted(table, key=len, reverse=True)
    rx = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in alts) + r")(?!\w)")
    return lambda s: rx.sub(lambda m: table[m.group(0)], s)


# --------------------------------------------------------------------------- diff


def diff_clauses(old: list[Clause], new: list[Clause]) -> DiffResult:
    """Clause-level diff of two versions (see the module doc for the method)."""
    pairs = _exact(old, new)
    exact = set(pairs)
    scores = _fuzzy(old, new, pairs)

    raw = {j: raw_edits(old[i].text, new[j].text) for j, i in pairs.items() if j not in exact}
    subs = _consistent(_sweep_candidates(list(raw.values())), old, new)
    sub = _substituter(subs)

    # Clauses the sweep alone explains, too short for the fuzzy matcher ("Tweet" -> "post").
    if subs:
        used_old = set(pairs.values())
        by_norm: dict[str, deque[int]] = defaultdict(deque)
        for i, c in enumerate(old):
            if i not in used_old:
                by_norm[sub(c.norm)].append(i)
        for j, c in enumerate(new):
            if j not in pairs:
                q = by_norm.get(c.norm)
                if q:
                    pairs[j] = q.popleft()
                    scores[j] = fuzz.ratio(old[pairs[j]].norm, c.norm)

    _pair_masked_emails(old, new, pairs, scores, sub)

    order = sorted(pairs)
    keep = _lis_keep([pairs[j] for j in order])
    stays = {order[p] for p in keep}

    # Section headings that exist in both versions: a clause that went from one of them to another
    # moved there. Under a new or renamed heading it did not move: a heading changed around it.
    new_sections = {sub(c.norm) for c in new if c.kind == "heading"}
    old_sections = {sub(c.norm) for c in old if c.kind == "heading"}
    keyed: list[tuple[float, Change]] = []
    for j in order:
        i = pairs[j]
        o, n = old[i], new[j]
        moved = j not in stays
        if not moved and o.kind != "heading" and o.section and n.section and o.section != n.section:
            ko, kn = _section_key(o, sub), _section_key(n, sub)
            # a key may be empty (a clause paired with a top-level heading): no section to compare then
            moved = (bool(ko) and ko != kn and ko[-1] in new_sections and (not kn or ko[-1] != kn[-1])
                     and (not kn or kn[-1] in old_sections))
        if o.text == n.text and not moved:
            continue
        if o.id == n.id and not moved:  # only the faithful text differs
            keyed.append((j, _change("modified", o, n, i, j, 1.0, False, "normalisation")))
            continue
        sim = 1.0 if o.id == n.id else scores.get(j, fuzz.ratio(o.norm, n.norm)) / 100
        if o.id == n.id:  # moved, same wording
            same_section = _section_key(o, sub) == _section_key(n, sub)
            reason = "moved within its section" if same_section else ""
            if o.metadata or n.metadata:
                reason = "metadata"
            keyed.append((j, _change("moved", o, n, i, j, 1.0, not reason, reason)))
            continue
        reason = ""
        if o.metadata or n.metadata:
            reason = "metadata"
        elif sub(o.norm) == n.norm:
            reason = "substitution"
        elif is_link_fragment(o.text) and is_link_fragment(n.text):
            reason = "link fragment"
        elif _obfuscation_only(sub(o.norm), n.norm):
            reason = "e-mail obfuscation"
        ch = _change("modified", o, n, i, j, sim, not reason, reason)
        ch.edits = merge_edits(raw[j] if j in raw else raw_edits(o.text, n.text))
        keyed.append((j, ch))

    matched_old = sorted(pairs.values())
    old_to_new = {i: j for j, i in pairs.items()}
    for j, c in enumerate(new):
        if j not in pairs:
            reason = _lone_reason(c)
            keyed.append((j, _change("added", None, c, None, j, 0.0, not reason, reason)))
    for i, c in enumerate(old):
        if i in old_to_new:
            continue
        k = bisect_left(matched_old, i)
        anchor = old_to_new[matched_old[k - 1]] if k else -1
        reason = _lone_reason(c)
        keyed.append((anchor + 0.5, _change("removed", c, None, i, None, 0.0, not reason, reason)))
    keyed.sort(key=lambda t: (t[0], t[1].old_index if t[1].old_index is not None else -1))
    return DiffResult(changes=[c for _, c in keyed], substitutions=subs)


def _lone_reason(c: Clause) -> str:
    """Why an added or removed clause is no change of the policy ("" when it is one)."""
    if c.metadata:
        return "metadata"
    if is_link_fragment(c.text):
        return "link fragment"
    return ""


def _obfuscation_only(old_norm: str, new_norm: str) -> bool:
    """The two wordings differ only where one shows an e-mail address and the other its placeholder."""
    if EMAIL_PLACEHOLDER not in old_norm and EMAIL_PLACEHOLDER not in new_norm:
        return False
    return mask_emails(old_norm) == mask_emails(new_norm)


def _pair_masked_emails(old: list[Clause], new: list[Clause], pairs: dict[int, int], scores: dict[int, float],
                        sub) -> None:
    """Pair unmatched clauses that differ only by an obfuscated e-mail address, too short for the
    fuzzy matcher ("[email protected]" on a line of its own)."""
    news = [j for j, c in enumerate(new) if j not in pairs and ("@" in c.norm or EMAIL_PLACEHOLDER in c.norm)]
    if not news:
        return
    used_old = set(pairs.values())
    by_mask: dict[str, deque[int]] = defaultdict(deque)
    for i, c in enumerate(old):
        if i not in used_old and ("@" in c.norm or EMAIL_PLACEHOLDER in c.norm):
            by_mask[mask_emails(sub(c.norm))].append(i)
    for j in news:
        q = by_mask.get(mask_emails(new[j].norm))
        if q:
            pairs[j] = q.popleft()
            scores[j] = fuzz.ratio(old[pairs[j]].norm, new[j].norm)


@lru_cache(maxsize=4096)
def _norm_heading(s: str) -> str:
    return normalise(s)


def _section_key(c: Clause, sub) -> tuple[str, ...]:
    path = c.section[:-1] if c.kind == "heading" else c.section
    return tuple(sub(_norm_heading(s)) for s in path)


def _change(kind: str, o: Clause | None, n: Clause | None, i: int | None, j: int | None,
            sim: float, significant: bool, reason: str) -> Change:
    ref = n if n is not None else o
    assert ref is not None
    return Change(kind=kind, section=ref.section_path, old=o.text if o else None, new=n.text if n else None,
                  similarity=round(sim, 3), significant=significant, old_index=i, new_index=j,
                  clause_kind=ref.kind, reason=reason)


def diff_texts(old_text: str | bytes, new_text: str | bytes, fmt: str = "md") -> DiffResult:
    """Convenience: extract both texts (html | md | txt) and diff their clauses."""
    from tracker.text.plain import extract_bytes

    return diff_clauses(extract_bytes(old_text, fmt).clauses, extract_bytes(new_text, fmt).clauses)
