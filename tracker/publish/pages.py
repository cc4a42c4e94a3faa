"""HTML for changes: the fragments put in feed entries, the standalone change pages and the index.

Pure functions from records to strings. Every piece of text that came from a fetched page goes
through :func:`tracker.publish.sanitise.esc`; nothing is inserted as markup, so the HTML here can only
contain the tags written in this module (no script, no event handlers, no JavaScript needed).

Readers drop styling, so every changed clause carries a textual marker ("Added:", "Removed:",
"Changed:") and, in feeds, word edits also carry wdiff-style ``[-old-]{+new+}`` brackets.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracker.models import Change, DiffResult, Evidence, TagEvent, WordEdit
from tracker.publish.display import clean_change
from tracker.publish.headline import PRIORITY_TAGS, TAG_LABELS, event_phrase, event_sentence, tag_label
from tracker.publish.sanitise import esc, truncate

__all__ = ["PRIORITY_TAGS", "TAG_LABELS", "tag_label"]  # their home is headline; pages re-exports them
KIND_MARKERS = {"added": "Added", "removed": "Removed", "modified": "Changed", "moved": "Moved"}


# --------------------------------------------------------------------------- clause fragments


def _merge(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((max(0, s), min(length, e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def evidence_spans(change: Change) -> list[tuple[int, int]]:
    """Evidence offsets (into the side the tags were read from) of every tag of the change."""
    return [(ev.start, ev.end) for evs in change.evidence.values() for ev in evs]


def marked_html(text: str, spans: list[tuple[int, int]], limit: int) -> str:
    """Escaped ``text`` with ``spans`` wrapped in <mark><strong> (strong survives unstyled readers)."""
    shown, cut = truncate(text, limit)
    end = len(shown) - (2 if cut else 0)
    out, pos = [], 0
    for s, e in _merge(spans, end):
        out.append(esc(shown[pos:s]))
        out.append(f"<mark><strong>{esc(shown[s:e])}</strong></mark>")
        pos = e
    out.append(esc(shown[pos:]))
    return "".join(out)


def _marked_piece(text: str, offset: int, marks: list[tuple[int, int]]) -> str:
    """Escaped ``text`` (found at ``offset`` of the side ``marks`` refer to) with marks applied."""
    local = [(max(0, a - offset), min(len(text), b - offset)) for a, b in marks if a < offset + len(text) and offset < b]
    if not local:
        return esc(text)
    out, pos = [], 0
    for s, e in _merge(local, len(text)):
        out.append(esc(text[pos:s]) + f"<mark><strong>{esc(text[s:e])}</strong></mark>")
        pos = e
    return "".join(out) + esc(text[pos:])


def word_diff_html(change: Change, *, markers: bool, limit: int, marks: list[tuple[int, int]] | None = None) -> str:
    """Inline word diff with <del>/<ins> (plus ``[-...-]``/``{+...+}`` when ``markers``), at most
    about ``limit`` characters of text; ``marks`` (spans of the new text) are highlighted."""
    edits = change.edits
    if not edits:  # a diff stage that gave no word edits: show both sides whole
        edits = [WordEdit("replace", change.old or "", change.new or "")]
    marks = marks or []
    out: list[str] = []
    used = j = 0
    for ed in edits:
        if used >= limit:
            out.append(" …")
            break
        room = limit - used
        old, _ = truncate(ed.old, room)
        new, _ = truncate(ed.new, room)
        if ed.op == "equal":
            piece = new or old
            out.append(_marked_piece(piece, j, marks))
            used += len(piece)
            j += len(ed.new or ed.old)
            continue
        if ed.op in ("delete", "replace") and old:
            out.append(f"<del>[-{esc(old)}-]</del>" if markers else f"<del>{esc(old)}</del>")
            used += len(old)
        if ed.op in ("insert", "replace") and new:
            body = _marked_piece(new, j, marks)
            out.append(f"<ins>{{+{body}+}}</ins>" if markers else f"<ins>{body}</ins>")
            used += len(new)
        j += len(ed.new)
    return "".join(out)


def inline_html(change: Change, *, limit: int, markers: bool) -> str:
    """The clause once: added in <ins>, removed in <del>, reworded as a word diff; evidence marked."""
    spans = evidence_spans(change)
    if change.kind == "added" or (change.old is None and change.new is not None):
        return f"<ins>{marked_html(change.new or '', spans, limit)}</ins>"
    if change.kind == "removed" or change.new is None:
        return f"<del>{marked_html(change.old or '', spans, limit)}</del>"
    if (change.old or "") == (change.new or ""):
        return marked_html(change.new or "", spans, limit)
    return word_diff_html(change, markers=markers, limit=limit, marks=spans)


def old_polarity(change: Change, tag: str) -> str | None:
    """The tag's polarity in the old text, as the tagger stored it with the diff (None when the diff
    was stored without it: the caller then says "flipped to ...")."""
    return change.old_polarity.get(tag)


def polarity_note(change: Change, tag: str) -> str:
    """"affirmed, added" / "flipped: negated → affirmed" for one tag of one clause."""
    parts = []
    direction = change.directions.get(tag)
    pol = change.polarity.get(tag)
    if direction == "flipped":
        old_pol = old_polarity(change, tag)
        parts.append(f"flipped: {old_pol} → {pol}" if old_pol and pol else f"flipped to {pol}" if pol else "flipped")
    else:
        if pol:
            parts.append(pol)
        if direction:
            parts.append(direction)
    return ", ".join(parts)


def evidence_snippet(text: str, evs: list[Evidence], context: int = 90, limit: int = 600) -> str:
    """The part of ``text`` around a tag's evidence, every matched span highlighted."""
    spans = _merge(((ev.start, ev.end) for ev in evs), len(text))
    if not spans:
        return esc(" … ".join(ev.text for ev in evs))
    a = max(0, spans[0][0] - context)
    b = min(len(text), spans[-1][1] + context, a + limit)
    out, pos = ["…" if a > 0 else ""], a
    for s, e in spans:
        if s >= b:
            break
        out.append(esc(text[pos:s]))
        out.append(f"<mark><strong>{esc(text[s:min(e, b)])}</strong></mark>")
        pos = min(e, b)
    out.append(esc(text[pos:b]) + ("…" if b < len(text) else ""))
    return "".join(out)


def tags_side(change: Change) -> str:
    """The clause text the tags and evidence offsets refer to."""
    if change.kind == "removed" or change.new is None:
        return change.old or ""
    return change.new or ""


def evidence_html(change: Change) -> str:
    """A list: tag in words, polarity/direction, and the clause with its evidence highlighted."""
    if not change.tags:
        return ""
    text = tags_side(change)
    items = []
    for tag in change.tags:
        note = polarity_note(change, tag)
        evs = change.evidence.get(tag) or []
        snippet = f"“{evidence_snippet(text, evs)}”" if evs else ""
        items.append(f"<li><strong>{esc(tag_label(tag))}</strong>"
                     f"{' (' + esc(note) + ')' if note else ''}{': ' + snippet if snippet else ''}</li>")
    return "<ul class=\"evidence\">" + "".join(items) + "</ul>"


def tags_html(change: Change) -> str:
    """The clause's tags in words with polarity and direction: the evidence itself is highlighted in
    the clause, so it is not quoted a second time."""
    if not change.tags:
        return ""
    items = []
    for tag in change.tags:
        note = polarity_note(change, tag)
        items.append(f"<strong>{esc(tag_label(tag))}</strong>{' (' + esc(note) + ')' if note else ''}")
    return "<p class=\"tags\">Tags: " + ", ".join(items) + "</p>"


def clause_html(change: Change, *, limit: int = 3000, markers: bool = True) -> str:
    """One changed clause for a feed entry: marker, section path, text or word diff, tags."""
    change = clean_change(change)
    marker = KIND_MARKERS.get(change.kind, "Changed")
    section = f" <em>{esc(change.section)}</em>" if change.section else ""
    body = inline_html(change, limit=limit, markers=markers)
    return f"<p><strong>{marker}:</strong>{section}</p>\n<blockquote>{body}</blockquote>\n{tags_html(change)}"


# --------------------------------------------------------------------------- events


def sentence_html(sentence: str, words: list[str]) -> str:
    """Escaped ``sentence`` with each evidence phrase it contains marked."""
    spans = []
    low = sentence.casefold()
    for w in {w for w in words if w and len(w) > 1}:
        start = low.find(w.casefold())
        while start >= 0:
            spans.append((start, start + len(w)))
            start = low.find(w.casefold(), start + len(w))
    return marked_html(sentence, spans, len(sentence) + 1)


def event_words(ev: TagEvent, diff: DiffResult) -> list[str]:
    """The evidence phrases of the event's tag in its clause."""
    if ev.change is None or not 0 <= ev.change < len(diff.changes):
        return []
    c = clean_change(diff.changes[ev.change])
    return [e.text for e in c.evidence.get(ev.tag, [])]


def event_html(ev: TagEvent, diff: DiffResult, *, page: bool = False) -> str:
    """A priority-tag event: what happened in words, where, the key sentence with its evidence marked
    and, for a removal or a change of stance, the old sentence."""
    words = event_words(ev, diff)
    sentence = event_sentence(ev, diff)
    old = event_sentence(ev, diff, old=True) if ev.kind in ("removed", "stance") or ev.old_sentence else ""
    if ev.kind == "removed":  # what was said is gone: the old sentence is the news
        sentence, old = "", old or sentence
    section = esc(ev.section or (diff.changes[ev.change].section if ev.change is not None
                                 and 0 <= ev.change < len(diff.changes) else ""))
    now = f"<blockquote class=\"key\"><ins>“{sentence_html(sentence, words)}”</ins></blockquote>" if sentence else ""
    label = {"removed": "Removed", "added": "Replaces"}.get(ev.kind, "Before")
    before = (f"<p class=\"meta\">{label}:</p><blockquote class=\"old\"><del>“{sentence_html(old, words)}”</del>"
              "</blockquote>") if old and old != sentence else ""
    if page:
        where = f"<p class=\"meta\">{section}</p>" if section else ""
        return f"<h3 class=\"phrase\">{esc(event_phrase(ev))}</h3>\n{where}{now}{before}"
    where = f" <em>{section}</em>" if section else ""
    return f"<p><strong>{esc(event_phrase(ev))}:</strong>{where}</p>\n{now}{before}"
