"""One fetched page -> its clauses, or why it is not a version: decode, extract by media type, guard.

The step a check runs per page (:mod:`tracker.worker` runs it in child processes). It sits on top of
the text stage and uses the capture stage's decoding and guards and the store's packing; it is to be
folded into the check step.
"""

from __future__ import annotations

from tracker.capture import guard
from tracker.capture.charset import decode_body
from tracker.models import Document, Extracted
from tracker.store.codec import PackedVersion, pack_extracted
from tracker.text.html import extract_html
from tracker.text.markdown import extract_markdown
from tracker.text.plain import extract_text
from tracker.text.select import SelectorMatchedNothing


def extract_checked(doc: Document, body: bytes, encoding: str | None, content_type: str, url: str,
                    final_url: str | None, previous_length: int
                    ) -> tuple[str | None, str | None, str | None, Extracted | None]:
    """Decode, extract and guard one page: (None, None, None, extracted) or ("failed", reason, error, None).

    A pure function of its arguments, so it can run in a worker process (:mod:`tracker.worker`).
    """
    try:
        text = decode_body(body, encoding)
    except (ValueError, LookupError) as e:
        return "failed", "decode", str(e), None
    mime = content_type.split(";", 1)[0].strip().lower()
    try:
        if mime in ("text/markdown", "text/x-markdown") or url.lower().endswith(".md"):
            extracted = extract_markdown(text)
        elif mime == "text/plain":
            extracted = extract_text(text)
        else:
            extracted = extract_html(text, select=doc.select, remove=doc.remove, base_url=final_url or doc.url,
                                     lang=doc.lang)
    except SelectorMatchedNothing as e:
        return "failed", "selector-matched-nothing", str(e) or "selector matched nothing", None
    except RecursionError:
        return "failed", "decode", "markup nested too deeply to extract", None
    body_text = extracted.text
    if not extracted.clauses or not body_text.strip():
        return "failed", "empty", "no text found on the page", None
    why = guard.blocked_reason(body_text, extracted.title)
    if why:
        return "failed", "blocked", why, None
    why = guard.too_short(len(body_text), previous_length)
    if why:
        return "failed", "too-short", why, None
    return None, None, None, extracted


def extract_packed(doc: Document, body: bytes, encoding: str | None, content_type: str, url: str,
                   final_url: str | None, previous_length: int
                   ) -> tuple[str | None, str | None, str | None, PackedVersion | None]:
    """``extract_checked``, with the version packed for storage (text, clauses, sha256, and the
    compressed raw page for its snapshot) right here.

    What a check needs from a page, in the form that crosses a process boundary cheaply: a worker
    process returns a few compressed bytes instead of hundreds of pickled clauses, and the process
    holding the database only inserts them (it decodes the clauses only to diff a changed page).
    """
    state, reason, error, extracted = extract_checked(doc, body, encoding, content_type, url, final_url,
                                                      previous_length)
    return state, reason, error, (pack_extracted(extracted, body) if extracted is not None else None)
