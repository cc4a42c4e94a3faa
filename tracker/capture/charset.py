"""Page bytes -> text: which character encoding a page is really in.

Its own module (no HTTP library) so that a worker process extracting pages imports only what it needs.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def decode_body(body: bytes, declared: str | None = None) -> str:
    """Bytes -> text without mojibake.

    Order: BOM, then a declared charset that actually decodes, then ``<meta charset>``, then UTF-8,
    then charset detection. A header that says ISO-8859-1 while the bytes are valid multi-byte UTF-8
    is the commonest lie on the web; UTF-8 wins then. Raises ValueError when nothing fits, so the
    check fails instead of storing garbled text.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(enc, errors="replace")
    candidates: list[str] = []
    meta = _META_CHARSET.search(body[:4096])
    for name in (declared, meta.group(1).decode("ascii", "ignore") if meta else None):
        if not name:
            continue
        try:
            candidates.append(codecs.lookup(name).name)
        except LookupError:
            continue
    utf8_ok = _is_utf8(body)
    if utf8_ok and not body.isascii():
        # Valid multi-byte UTF-8 is almost never an accident, whatever the header claims.
        return body.decode("utf-8")
    for enc in candidates:
        if enc in ("latin-1", "iso8859-1", "ascii"):
            enc = "cp1252"  # browsers treat these labels as windows-1252
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    if utf8_ok:
        return body.decode("utf-8")
    if candidates:
        # The page names a charset its bytes are not in. UTF-8 with a few stray bytes is shown with
        # U+FFFD by browsers too; anything else is a guess among single-byte code pages (cp1250 or
        # cp1252?) that would differ from the stored text and be recorded as a change full of mojibake.
        replaced = body.decode("utf-8", errors="replace")
        bad = replaced.count("\ufffd")
        if "utf-8" in candidates and sum(ord(c) > 0x7F for c in replaced) - bad > bad:
            return replaced
        raise ValueError(f"the page says its charset is {candidates[0]}, but its bytes are not in it")
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is None or best.encoding is None:
        raise ValueError("cannot tell the character encoding of the page")
    return body.decode(best.encoding, errors="replace")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
