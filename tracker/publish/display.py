"""Text as a reader should see it: no Markdown residue, key sentences of a readable length.

Pure functions on strings and stored changes, shared by feeds, pages, the report and notifications.

- Open Terms Archive's Markdown leaves emphasis markers the Markdown parser does not take as emphasis
  (``** Advertisements.**``: a space after the opening ``**``), so they reach the stored clause text.
  They are dropped for display only: the stored text (and the clause ids made from it) stay as they
  are, and evidence offsets and word edits are mapped onto the cleaned text.
- A key sentence is the sentence that carries the evidence, cut at sentence (then clause, then word)
  boundaries to at most about ``SENTENCE_CHARS`` characters: real policies have 1,700-character
  "sentences" (long lists joined by semicolons), and a title or a report row needs the words that
  matter, not the list.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tracker.models import Change, Evidence, WordEdit

SENTENCE_CHARS = 300
_RESIDUE = re.compile(r"\*\*+|(?<!\w)__+|__+(?!\w)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“'(\[]?[A-Z0-9À-Ý])")
_CLAUSE_END = re.compile(r"(?<=[;:,])\s+")


# --------------------------------------------------------------------------- Markdown residue


def _kept(text: str) -> list[int]:
    """For each position of ``text`` (and its end), the position in the cleaned text."""
    drop = [False] * len(text)
    for m in _RESIDUE.finditer(text):
        for k in range(m.start(), m.end()):
            drop[k] = True
    out, n = [], 0
    for d in drop:
        out.append(n)
        n += 0 if d else 1
    out.append(n)
    return out


def _filtered(text: str, start: int, mask: list[int]) -> str:
    """``text`` (found at ``start`` in the full text whose map is ``mask``) without the dropped chars."""
    return "".join(ch for k, ch in enumerate(text) if mask[start + k + 1] != mask[start + k])


def clean(text: str | None) -> str:
    """``text`` without Markdown emphasis residue, spaces left by it tidied."""
    if not text:
        return text or ""
    return _RESIDUE.sub("", text)


def clean_change(change: Change) -> Change:
    """A copy of ``change`` for display: old/new without Markdown residue, with its word edits and
    evidence offsets mapped onto the cleaned texts (they still rebuild the texts exactly)."""
    if not any(_RESIDUE.search(t or "") for t in (change.old, change.new)):
        return change
    old_map = _kept(change.old or "")
    new_map = _kept(change.new or "")
    edits, i, j = [], 0, 0
    for ed in change.edits:
        if ed.op == "equal":
            o, n = ed.old or ed.new, ed.new or ed.old
            edits.append(WordEdit("equal", _filtered(o, i, old_map) if change.old else "",
                                  _filtered(n, j, new_map) if change.new else ""))
            i, j = i + len(o), j + len(n)
            continue
        o = _filtered(ed.old, i, old_map) if ed.old and i + len(ed.old) < len(old_map) else ""
        n = _filtered(ed.new, j, new_map) if ed.new and j + len(ed.new) < len(new_map) else ""
        i, j = i + len(ed.old), j + len(ed.new)
        if o or n:  # an edit of residue alone ("**" added) disappears
            edits.append(WordEdit("replace" if o and n else ("delete" if o else "insert"), o, n))
    if i != len(change.old or "") or j != len(change.new or ""):
        edits = []  # the edits did not rebuild the texts: the pages show both sides whole
    side = old_map if (change.kind == "removed" or change.new is None) else new_map
    last = len(side) - 1

    def at(k: int) -> int:
        return side[max(0, min(k, last))]

    evidence = {t: [Evidence(e.rule, at(e.start), at(e.end), clean(e.text)) for e in evs]
                for t, evs in change.evidence.items()}
    return replace(change, old=clean(change.old) if change.old is not None else None,
                   new=clean(change.new) if change.new is not None else None, edits=edits, evidence=evidence)


# --------------------------------------------------------------------------- key sentences


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _window(text: str, anchor: tuple[int, int] | None, limit: int) -> str:
    """At most ``limit`` characters of one long sentence around ``anchor`` (a span to keep), cut at
    clause boundaries (; : ,) when there are any near, else at spaces; "…" marks every cut."""
    if len(text) <= limit:
        return text
    a, b = anchor if anchor else (0, 0)
    a, b = max(0, a), min(len(text), max(a, b))
    if b - a >= limit:  # the evidence alone is longer than the limit
        b = a + limit
    room = limit - (b - a)
    start = max(0, a - room // 3)
    end = min(len(text), start + limit)
    start = max(0, end - limit)
    if start > 0:  # prefer the start of a clause (after ; : ,), else a word
        cut = [m.end() for m in _CLAUSE_END.finditer(text, start, a + 1) if m.end() <= a]
        sp = text.find(" ", start, a + 1)
        start = cut[0] if cut and cut[0] - start < limit // 2 else (sp + 1 if sp >= 0 else start)
    end = min(len(text), start + limit)
    if end < len(text):
        cut = [m.start() for m in _CLAUSE_END.finditer(text, max(b, start), end)]
        sp = text.rfind(" ", max(b, start), end)
        end = cut[-1] if cut and end - cut[-1] < limit // 2 else (sp if sp > b else end)
    out = text[start:end].strip().rstrip(",;:")
    return ("… " if start > 0 else "") + out + (" …" if end < len(text) else "")


def key_sentence(text: str, evidence: list[Evidence] | None = None, limit: int = SENTENCE_CHARS) -> str:
    """The sentence of ``text`` that holds the evidence (the first sentence without evidence), at most
    about ``limit`` characters, cut at sentence, then clause, then word boundaries. Markdown residue
    is dropped."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    spans = [(e.start, e.end) for e in evidence or [] if 0 <= e.start < e.end]
    words = [e.text for e in evidence or [] if e.text]
    parts = sentences(text)
    chosen, anchor = parts[0] if parts else text, None
    pos = 0
    for s in parts:
        start = text.find(s, pos)
        if start < 0:
            continue
        pos = start + len(s)
        hit = next(((max(a, start) - start, min(b, pos) - start) for a, b in spans if a < pos and start < b), None)
        if hit is None:
            word = next((w for w in words if w in s), None)
            hit = (s.find(word), s.find(word) + len(word)) if word else None
        if hit is not None:
            chosen, anchor = s, hit
            break
    cleaned = clean(chosen)
    if anchor is not None and cleaned != chosen:
        m = _kept(chosen)
        anchor = (m[anchor[0]], m[min(anchor[1], len(chosen))])
    return _window(cleaned, anchor, limit)


def trim_sentence(text: str, limit: int = SENTENCE_CHARS) -> str:
    """A stored key sentence made readable: whitespace folded, residue dropped, at most ``limit``."""
    return _window(clean(" ".join((text or "").split())), None, limit)
