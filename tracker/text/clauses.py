"""Text -> :class:`Clause`: what the HTML, Markdown and plain-text extractors share.

White space squashed, the comparison form and id attached, the heading path kept, and short
bold-only paragraphs promoted to headings, the same way whatever the input format.
"""

from __future__ import annotations

from tracker.models import Clause
from tracker.text.normalise import clause_id, is_metadata, normalise

PSEUDO_HEADING_LEVEL = 7  # a short bold-only paragraph: below every real heading


def squash(text: str) -> str:
    r"""White space runs to one space, ends stripped: ``" ".join(text.split())``, which splits on exactly
    the characters ``\s`` matches (and is faster than the regex)."""
    if "  " not in text and text.isprintable():  # every other white space is unprintable
        return text.strip()
    return " ".join(text.split())


def make_clause(text: str, section: tuple[str, ...], kind: str, context: str = "") -> Clause | None:
    """One clause from faithful text; None when nothing comparable is left (a lone "|" or "*")."""
    text = squash(text)
    if not text:
        return None
    return squashed_clause(text, section, kind, context)


def squashed_clause(text: str, section: tuple[str, ...], kind: str, context: str = "") -> Clause | None:
    """``make_clause`` for text already squashed (the HTML walker squashes before it decides the kind)."""
    norm = normalise(text)
    if not (norm[:1].isalnum() or any(ch.isalnum() for ch in norm)):
        return None
    return Clause(id=clause_id(norm), text=text, norm=norm, section=section, kind=kind,
                  metadata=is_metadata(norm), context=context)


class Sections:
    """The heading path: a stack of (level, text)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.path: tuple[str, ...] = ()  # rebuilt on push only: every clause of a section shares it

    def push(self, level: int, text: str) -> tuple[str, ...]:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.path = tuple(t for _, t in self.stack)
        return self.path


def looks_like_heading(text: str, bold_only: bool) -> bool:
    """Short bold-only paragraphs act as headings on many policy pages."""
    if not bold_only:
        return False
    text = text.strip()
    return 0 < len(text) <= 100 and len(text.split()) <= 12 and not text.endswith((":", ","))
