"""A capture of a document and what extraction makes of it (:func:`read_page`): pure, so it may run
in a worker process (see :mod:`tracker.pool`, :mod:`tracker.workers`). What a capture *means* (a new
version, a return, an artefact) is decided in :mod:`tracker.check`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tracker.capture import guard
from tracker.models import Clause, Document, FetchResult
from tracker.store.codec import PackedVersion, pack_extracted

Origin = Literal["fetch", "import"]


@dataclass(frozen=True)
class Capture:
    """One capture of a document, whatever produced it."""

    url: str
    body: bytes
    content_type: str = "text/html"
    encoding: str | None = None
    final_url: str | None = None
    at: float = 0.0  # when it was captured (an imported text: its commit's date)
    origin: Origin = "fetch"
    source_ref: str | None = None  # where an imported text came from (its commit)
    # Why this capture re-baselines (its text becomes the reference with no change events): an
    # archive's technical commit (a selector or engine upgrade re-extracting the same page).
    rebaseline: str | None = None

    @classmethod
    def from_fetch(cls, result: FetchResult, at: float) -> Capture:
        return cls(url=result.url, body=result.body, content_type=result.content_type or "text/html",
                   encoding=result.encoding, final_url=result.final_url, at=at)


@dataclass
class Page:
    """What extraction made of a capture: the version to store, or why there is none."""

    packed: PackedVersion | None = None
    reason: str | None = None  # decode | empty | blocked | too-short | selector-matched-nothing
    error: str | None = None

    @property
    def clauses(self) -> list[Clause]:
        assert self.packed is not None
        return self.packed.decode_clauses()


def read_page(doc: Document, capture: Capture, previous_length: int = 0, previous_lang: str | None = None) -> Page:
    """Decode, extract and guard one capture. A pure function of its arguments (it may run in a
    worker process): the guards here are those that need no stored version but its length and
    language (``previous_lang``: the latest stored version's)."""
    from tracker.capture.charset import decode_body
    from tracker.text.html import extract_html
    from tracker.text.markdown import extract_markdown
    from tracker.text.plain import extract_text
    from tracker.text.select import SelectorMatchedNothing

    try:
        # an archive's text is UTF-8 by definition; a page's charset is decided from its bytes
        text = (capture.body.decode("utf-8", "replace") if capture.origin == "import"
                else decode_body(capture.body, capture.encoding))
    except (ValueError, LookupError) as e:
        return Page(reason="decode", error=str(e))
    if capture.origin == "fetch" and (why := guard.off_site(doc.url, capture.final_url)):
        return Page(reason="redirected", error=why)
    mime = capture.content_type.split(";", 1)[0].strip().lower()
    html = ""  # the page's markup, for the guards that read it (buttons, fields, <html lang>)
    try:
        if mime in ("text/markdown", "text/x-markdown") or capture.url.lower().endswith(".md"):
            extracted = extract_markdown(text)
        elif mime == "text/plain":
            extracted = extract_text(text)
        else:
            html = text
            extracted = extract_html(text, select=doc.select, remove=doc.remove,
                                     base_url=capture.final_url or doc.url, lang=doc.lang)
    except SelectorMatchedNothing as e:
        return Page(reason="selector-matched-nothing", error=str(e) or "selector matched nothing")
    except RecursionError:
        return Page(reason="decode", error="markup nested too deeply to extract")
    body_text = extracted.text
    if not extracted.clauses or not body_text.strip():
        return Page(reason="empty", error="no text found on the page")
    why = guard.blocked_reason(body_text, extracted.title)
    if why:
        return Page(reason="blocked", error=why)
    refused = guard.not_the_policy(doc, body_text, html, extracted.title,
                                   previous_length, previous_lang)
    if refused:
        return Page(reason=refused[0], error=refused[1])
    why = guard.too_short(len(body_text), previous_length)
    raw = capture.body if capture.origin == "fetch" else None  # an import keeps no snapshot
    if why and len(body_text) < guard.MIN_CHARS:
        return Page(reason="too-short", error=why)
    # Short only next to the reference: refused, but kept, so that it becomes the reference if it
    # comes back (a page that really shrank must not stop the document for good).
    return Page(packed=pack_extracted(extracted, raw), reason="too-short" if why else None, error=why)
