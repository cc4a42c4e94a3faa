"""Suspicious-content checks: what must never be recorded as a policy change.

Open Terms Archive recorded a Google page's bot wall as a "version" hundreds of times; every such
false change would reach feed readers as an alarm. These pure functions decide, from the extracted
text alone, whether a fetched page is the policy at all.
"""

from __future__ import annotations

import re

MIN_RATIO = 0.20  # extracted text under 20% of the previous version is an error/login/bot page
MIN_CHARS = 200  # shorter than this is not a policy (an app shell, a placeholder, an error stub)

# Phrases of bot walls, captchas, login walls and error pages. They are only decisive on short pages:
# a real policy may well mention "captcha" or "sign in" somewhere in 10,000 words.
_BLOCK_PATTERNS = [
    r"\bcaptcha\b", r"are you (a )?(human|robot)", r"verify (that )?you are (a )?human", r"\bbot (check|detection)\b",
    r"unusual traffic", r"access (is )?denied", r"request (was )?blocked", r"\bforbidden\b", r"just a moment",
    r"checking (if the site connection is secure|your browser)", r"enable (javascript|cookies)",
    r"please (log|sign) in", r"^\W*loading\W*$", r"\bloading\s*(\.\.\.|…)", r"sign in to (continue|view)", r"log in to (continue|view)", r"page not found",
    r"\b404\b.{0,20}(not found|error)", r"error 404", r"\b50[0-4]\b.{0,30}(error|unavailable|gateway)", r"temporarily unavailable", r"service unavailable", r"rate limit",
    r"too many requests", r"something went wrong", r"cloudflare", r"ddos protection", r"attention required",
    r"vérifi\w+ que vous (n'êtes pas un robot|êtes humain)", r"accès refusé",
]
_BLOCK_RE = re.compile("|".join(_BLOCK_PATTERNS), re.I | re.M)
SHORT_PAGE = 3000  # characters under which block phrases are taken as a verdict


def blocked_reason(text: str, title: str | None = None) -> str | None:
    """A short explanation when the page looks like a bot wall, login or error page, else None."""
    sample = f"{title or ''}\n{text}"
    if len(text) < SHORT_PAGE:
        m = _BLOCK_RE.search(sample)
        if m:
            return f"looks like a bot wall, login or error page ({m.group(0).strip()!r} on a short page)"
    elif title and _BLOCK_RE.search(title) and len(text) < 2 * SHORT_PAGE:
        return f"page title {title.strip()!r} looks like an error or bot page"
    return None


_CLOSING_TAG = re.compile(rb"</(?:body|html)\s*>", re.I)


def truncated(body: bytes, previous_body: bytes | None) -> str | None:
    """Explain when an HTML page looks cut short: the stored version's page closed ``</body>`` or
    ``</html>`` and this one closes neither (a complete response carrying half a document passes
    every transfer check and, at over 20% of the text, the length guard too). Pages that never
    close those tags are not affected: the rule compares with the same page's stored snapshot.
    """
    if not previous_body or not _CLOSING_TAG.search(previous_body) or _CLOSING_TAG.search(body):
        return None
    return "page ends before </body> or </html>, which the stored version had (truncated response)"


def too_short(new_length: int, previous_length: int, ratio: float = MIN_RATIO) -> str | None:
    """Explain when the new text is implausibly short compared with the last stored version."""
    if new_length < MIN_CHARS:
        return f"only {new_length} characters of text"
    if previous_length and new_length < ratio * previous_length:
        return (f"text is {new_length} characters, under {ratio:.0%} of the previous version's "
                f"{previous_length} (likely an error, login or bot page)")
    return None
