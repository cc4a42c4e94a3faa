"""What a change means, in words: the priority-tag events phrased for people, entry titles, and the
order in which a change's clauses are shown (what matters first).

Pure functions of a stored ``DiffResult``. The priority-tag events (``DiffResult.events``) are made by
the compare stage and are true of the two documents as wholes; this module only words them. A
stored change without events (recorded before events existed) is named by its tags, without a
direction, because a direction read from one clause may be false of the document.

Polarity in words (the labelling rules in the README): *affirmed* "may train", *negated* "won't
train", *restricted* "may train, opt-out" or "may train, with limits", *conditional* "only with
consent". A negated statement is never called "added": a new promise not to train is "ruled out".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.models import Change, DiffResult, Substitution, TagEvent
from tracker.publish.display import clean, key_sentence, trim_sentence

TAG_LABELS = {
    "ai-training": "AI training",
    "biometrics": "Biometrics",
    "data-sharing": "Data sharing",
    "data-retention": "Data retention",
    "children": "Children",
    "location": "Location",
    "law-enforcement": "Law enforcement",
    "user-rights": "User rights",
    "tracking-advertising": "Tracking and advertising",
    "arbitration": "Arbitration",
}
PRIORITY_TAGS = ("ai-training", "biometrics")
_VERBS = {"ai-training": "train", "biometrics": "collect"}
_OPT_OUT = re.compile(r"\bopt(?:ing)?[- ]?out\b|\bturn (?:it |this )?off\b|\bobject\b|\bwithdraw\b", re.I)
TITLE_QUOTE = 80  # characters of the key sentence in a title
PERMISSIVE = {"affirmed": 3, "restricted": 2, "conditional": 1, "negated": 0}


def tag_label(tag: str) -> str:
    return TAG_LABELS.get(tag, tag.replace("-", " ").capitalize())


def stance_words(tag: str, stance: str, sentence: str = "") -> str:
    """A polarity in plain words for ``tag`` ("may train", "won't collect", "only with consent")."""
    verb = _VERBS.get(tag, "do it")
    if stance == "affirmed":
        return f"may {verb}"
    if stance == "negated":
        return f"won't {verb}"
    if stance == "conditional":
        return "only with consent"
    if stance == "restricted":
        return f"may {verb}, " + ("opt-out" if _OPT_OUT.search(sentence or "") else "with limits")
    return stance or ""


def event_phrase(ev: TagEvent) -> str:
    """The event in words: "AI training added (may train, opt-out)", "Biometrics only with consent
    (new statement)", "AI training ruled out (new statement)", "AI training no longer ruled out",
    "AI training now only with consent (was: may train)", "AI training flipped: now may train (was:
    won't train)". "Added" only for a statement that they may do it."""
    label = tag_label(ev.tag)
    now = stance_words(ev.tag, ev.stance, ev.sentence)
    if ev.kind == "added":
        if ev.stance == "negated":
            return f"{label} ruled out (new statement)"
        if ev.stance == "conditional":
            return f"{label} only with consent (new statement)"
        return f"{label} added ({now})" if now else f"{label} added"
    if ev.kind == "removed":
        was = stance_words(ev.tag, ev.stance, ev.old_sentence or ev.sentence)
        if ev.stance == "negated":
            return f"{label} no longer ruled out (removed: {was})"
        return f"{label} statement removed (no longer says: {was})" if was else f"{label} statement removed"
    old = stance_words(ev.tag, ev.old_stance, ev.old_sentence)
    if ev.stance == "negated":
        return f"{label} now ruled out (was: {old})"
    if ev.stance == "conditional":
        return f"{label} now only with consent (was: {old})"
    flipped = (ev.old_stance == "negated") != (ev.stance == "negated")
    more = PERMISSIVE.get(ev.stance, 0) > PERMISSIVE.get(ev.old_stance, 0)
    head = f"{label} flipped" if flipped else (f"{label} widened" if more else f"{label} narrowed")
    return f"{head}: now {now} (was: {old})" if old else f"{head}: now {now}"


def sort_tags(tags: list[str]) -> list[str]:
    """Priority tags first, the others in their order."""
    return [t for t in PRIORITY_TAGS if t in tags] + [t for t in tags if t not in PRIORITY_TAGS]


def events_of(diff: DiffResult) -> list[TagEvent]:
    """The diff's priority-tag events, most important first: AI training, then biometrics, then the
    rest, keeping the compare stage's order within a tag."""
    order = {t: i for i, t in enumerate(PRIORITY_TAGS)}
    return sorted(diff.events, key=lambda e: order.get(e.tag, len(order)))


def event_sentence(ev: TagEvent, diff: DiffResult, old: bool = False) -> str:
    """The event's key sentence (or the old one), at most about 300 characters; taken from its clause
    when the event was stored without one."""
    text = ev.old_sentence if old else ev.sentence
    if text:
        return trim_sentence(text)
    if ev.change is None or not 0 <= ev.change < len(diff.changes):
        return ""
    c = diff.changes[ev.change]
    side = c.old if (old or ev.kind == "removed" or c.new is None) else c.new
    on_tagged_side = side is (c.old if (c.kind == "removed" or c.new is None) else c.new)
    return key_sentence(side or "", c.evidence.get(ev.tag) if on_tagged_side else None)


def _quote(text: str, limit: int = TITLE_QUOTE) -> str:
    text = " ".join(text.split()).lstrip("… ")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(",;: ") + " …"


def other_count(diff: DiffResult) -> int:
    """Significant changes not carrying an event."""
    carried = {e.change for e in diff.events if e.change is not None}
    return sum(1 for i, c in enumerate(diff.changes) if c.significant and i not in carried)


def title(service: str, document: str, diff: DiffResult) -> str:
    """The entry title: service, document, the first event with its stance and the start of its key
    sentence, the other events, then how many other changes there are.

    ``X Privacy Policy — AI training added (may train): "We may use the information …"; also
    Biometrics only with consent (new statement); 25 other changes``"""
    head = f"{service} {document}"
    events = events_of(diff)
    n_other = other_count(diff)
    if not events:
        n = len(diff.significant)
        if diff.note and not n:
            return f"{head} — {diff.note}"
        words = [tag_label(t) for t in diff.tags()]
        out = f"{head} — {n} clause{'s' if n != 1 else ''} changed"
        if words:
            out += " (" + ", ".join(words) + ")"
        if diff.substitutions:
            s = diff.substitutions[0]
            out += f"; renamed {s.old} → {s.new}"
        return out
    first, rest = events[0], events[1:]
    out = f"{head} — {event_phrase(first)}"
    quote = _quote(event_sentence(first, diff) or event_sentence(first, diff, old=True))
    if quote:
        out += f": “{quote}”"
    if rest:
        out += "; also " + ", ".join(event_phrase(e) for e in rest)
    if n_other:
        out += f"; {n_other} other change{'s' if n_other != 1 else ''}"
    return out


# --------------------------------------------------------------------------- order of importance


def only_renamed(change: Change, subs: list[Substitution]) -> bool:
    """A modified clause whose only edits are the document-wide renamings ("Twitter" → "X")."""
    if change.kind != "modified" or not subs or change.old is None or change.new is None:
        return False
    pairs = [(s.old, s.new) for s in subs if s.old]
    pairs += [(s.old[:-1], s.new[:-1]) for s in subs if len(s.old) > 1 and s.old.endswith("s") and s.new.endswith("s")]
    text = change.old
    for old, new in sorted(pairs, key=lambda p: -len(p[0])):  # "Tweets" before "Tweet"
        text = re.sub(rf"(?<![^\W\d_]){re.escape(old)}", new, text, flags=re.I)
    return " ".join(text.casefold().split()) == " ".join(change.new.casefold().split())


@dataclass
class Ordered:
    """A change's significant clauses by importance, each exactly once (``index`` into diff.changes).

    ``events``: (event, clause index or None) most important first; ``tagged``: other clauses with a
    tag; ``other``: the rest, renamed-only clauses last; ``renamed``: how many of ``other`` only carry
    the renamings."""

    events: list[tuple[TagEvent, int | None]]
    tagged: list[int]
    other: list[int]
    renamed: int


def order(diff: DiffResult) -> Ordered:
    events = events_of(diff)
    carried: list[int] = []
    pairs = []
    for ev in events:
        idx = ev.change if ev.change is not None and 0 <= ev.change < len(diff.changes) else None
        pairs.append((ev, idx if idx not in carried else None))
        if idx is not None and idx not in carried:
            carried.append(idx)
    sig = [i for i, c in enumerate(diff.changes) if c.significant and i not in carried]
    prio = [i for i in sig if any(t in PRIORITY_TAGS for t in diff.changes[i].tags)]
    tagged = prio + [i for i in sig if diff.changes[i].tags and i not in prio]
    rest = [i for i in sig if not diff.changes[i].tags]
    renamed = [i for i in rest if only_renamed(diff.changes[i], diff.substitutions)]
    other = [i for i in rest if i not in renamed] + renamed
    return Ordered(pairs, tagged, other, len(renamed))


def counts_line(diff: DiffResult) -> str:
    """"27 changed clauses: 6 added, 3 removed, 18 changed"."""
    s = diff.stats
    n = s["significant"]
    parts = ", ".join(f"{s[k]} {w}" for k, w in (("added", "added"), ("removed", "removed"),
                                                  ("modified", "changed"), ("moved", "moved")) if s.get(k))
    return f"{n} changed clause{'s' if n != 1 else ''}" + (f": {parts}" if parts else "")


def renamings_line(subs: list[Substitution]) -> str:
    """"Renamed throughout: Twitter → X (88×), Tweets → posts (8×)" (empty without renamings)."""
    if not subs:
        return ""
    return "Renamed throughout: " + ", ".join(f"{clean(s.old)} → {clean(s.new)} ({int(s.count)}×)" for s in subs)
