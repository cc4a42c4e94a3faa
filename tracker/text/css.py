"""CSS selectors from declarations: checked once, cheaply when they are simple.

soupsieve (bs4's CSS engine) is the reference for what a valid selector is, but it is slow to import
(a noticeable part of a short ``check``). Selectors made only of tag names, classes, ids, ``*``,
combinators and commas, with plain ASCII identifiers, mean the same thing to soupsieve and to
cssselect (which turns them into XPath for lxml), so they are accepted without loading soupsieve.
Everything else is compiled by soupsieve, and its error is the one the user sees.
"""

from __future__ import annotations

import functools
import re

_IDENT = r"-?[A-Za-z_][A-Za-z0-9_-]*"
_COMPOUND = re.compile(rf"(?:{_IDENT}|\*)?(?:[.#]{_IDENT})*")
_COMBINATOR = re.compile(r"\s*[>+~]\s*|\s+")


def is_simple(selector: str) -> bool:
    """Tag/class/id/universal selectors joined by combinators or commas (every part non-empty).

    Split first, then each compound matched on its own: one regular expression for the whole
    selector (compounds that may be empty, joined by combinators that may be white space) backtracked
    exponentially on a long selector that is not simple (20 steps and a ``:has(p)`` at the end: minutes).
    """
    for part in selector.split(","):
        pieces = _COMBINATOR.split(part.strip())
        if any(not piece or not _COMPOUND.fullmatch(piece) for piece in pieces):
            return False
    return True


@functools.lru_cache(maxsize=1024)
def check(selector: str) -> str:
    """The selector, stripped; ValueError with soupsieve's first line when it is not valid CSS."""
    if is_simple(selector):
        return selector.strip()
    import soupsieve

    try:
        soupsieve.compile(selector)
    except Exception as e:  # soupsieve raises SelectorSyntaxError, sometimes others
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"bad CSS selector {selector!r}: {first}") from e
    return selector.strip()
