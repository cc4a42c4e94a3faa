"""Trying a declaration (``check --dry-run``): what a first check of a document would come to, storing
nothing. Extraction and the guards are :mod:`tracker.check`'s own (one place decides what a capture is);
this module only says what a declaration needs when the page is not the policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tracker.models import Document, FetchResult
from tracker.page import Capture, Page, read_page


@dataclass
class Trial:
    """What a check of a document would come to, without storing anything (``check --dry-run``)."""

    document: Document
    state: Literal["ok", "failed"]
    reason: str | None = None
    error: str | None = None
    http_status: int | None = None
    clauses: int = 0
    first_lines: list[str] = field(default_factory=list)
    browser: bool = False
    advice: str | None = None  # what the declaration needs: browser = true, a selector

    def to_dict(self) -> dict[str, object]:
        return {"service": self.document.service, "type": self.document.type, "url": self.document.url,
                "state": self.state, "reason": self.reason, "error": self.error, "http_status": self.http_status,
                "clauses": self.clauses, "first_lines": self.first_lines, "browser": self.browser,
                "advice": self.advice}

    def line(self) -> str:
        how = "browser" if self.browser else "plain GET"
        if self.state == "failed":
            text = f"{self.document.label}: would fail ({self.reason}, {how}): {self.error or ''}".rstrip(": ")
        else:
            text = f"{self.document.label}: ok, {self.clauses} clause(s) ({how})"
        return text + (f" — {self.advice}" if self.advice else "")


def try_fetch(doc: Document, result: FetchResult,
              read: Callable[[Document, Capture], Page] | None = None) -> Trial:
    """Judge a fetch as a first check would (extraction and guards), storing nothing, and say what the
    declaration needs when the page is not the policy: an app shell or a bot wall that a browser may get
    past needs ``browser = true``; a page that held nothing under its selector needs another one.
    ``read``: how the page is extracted (``tracker.workers.extract``, under the extraction deadline)."""
    trial = Trial(document=doc, state="failed", http_status=result.status, browser=doc.browser)
    if not result.ok:
        trial.reason, trial.error = result.reason or "connection", result.error
        if result.reason == "browser-missing":
            trial.advice = "needs Chromium installed (browser = true is declared)"
        return trial
    page = (read or read_page)(doc, Capture.from_fetch(result, 0.0))
    if page.packed is None:
        trial.reason, trial.error = page.reason, page.error
        if page.reason in ("empty", "too-short", "blocked") and not doc.browser:
            trial.advice = "needs browser = true (the page's text is not in its HTML, or a bot wall answered)"
        elif page.reason == "selector-matched-nothing":
            trial.advice = "needs another select = [...] (the declared selector matched nothing)"
        return trial
    clauses = page.clauses
    trial.state, trial.clauses = "ok", len(clauses)
    trial.first_lines = [c.text[:120] for c in clauses if c.kind != "heading"][:3]
    if not doc.select and len(clauses) > 600:
        trial.advice = "consider a select = [...]: the page holds more than one document"
    return trial
