"""Making fetched text safe to put into XML feeds and HTML pages.

Policy pages are hostile input: a clause may hold ``<script>``, ``]]>``, control characters or a
``javascript:`` link. The rule here is simple and total: text is never trusted as markup. Every
string is stripped of characters XML 1.0 forbids and then HTML-escaped; URLs are only emitted when
their scheme is http or https. Nothing from a page is ever inserted as raw HTML, so no script,
iframe or event-handler attribute can reach a feed or a page.
"""

from __future__ import annotations

import hashlib
import html
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

# XML 1.0 Char excludes C0 controls other than tab/LF/CR, surrogates and U+FFFE/U+FFFF.
# C1 controls and DEL are legal XML but invisible garbage in a reader: dropped as well.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SAFE_SCHEMES = ("http", "https")


def clean_text(text: str | None) -> str:
    """``text`` without characters that would make XML invalid (or render as garbage)."""
    if not text:
        return ""
    return _BAD_CHARS.sub("", text)


def esc(text: str | None) -> str:
    """Clean and HTML-escape text (quotes too, so the result is also safe in attributes)."""
    return html.escape(clean_text(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL, else None (javascript:, data:, file: ... refused).

    Whitespace and control characters are removed first, because browsers ignore them inside a
    scheme ("java\\tscript:")."""
    if not url:
        return None
    u = re.sub(r"[\s\x00-\x1f\x7f]+", "", clean_text(url))
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.netloc:
        return None
    return u


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """At most ``limit`` characters of ``text`` (cut at a space when one is near); True when cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + " …", True


@lru_cache(maxsize=4096)  # a feeds build asks once per change: the same few hundred names
def file_slug(name: str) -> str:
    """A file-name safe slug for a service, document or tag: only ``[a-z0-9-]``, never a path.

    Names that slugify to nothing readable (non-Latin scripts) get a short hash of the name so two
    such services never share a file."""
    from tracker.sources.declarations import slugify

    s = slugify(clean_text(name))[:80].strip("-") or "service"
    if s == "service" and name.strip().casefold() != "service":
        s = f"service-{short_hash(name)}"
    return s


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def uri_part(text: str) -> str:
    """Percent-encode a name for the specific part of a ``tag:`` URI (stable and unique per name)."""
    return quote(clean_text(text), safe="")
