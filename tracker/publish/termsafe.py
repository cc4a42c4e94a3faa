"""Text from servers made safe for a terminal or a log line.

An HTTP reason phrase, a header or an exception message is chosen by whoever runs the server: printed
raw, ``\\x1b]0;...\\x07`` retitles the terminal, ``\\x1b[2J`` clears it, a ``\\r`` or ``\\n`` forges
another log line, and a bidirectional override reorders what the reader sees. :func:`safe` escapes all of
them as visible text (``\\x1b``, ``\\n``, ``\\u202e``) and leaves every other character alone, so that
accented and non-Latin text still reads normally.
"""

from __future__ import annotations

import logging
import re

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), bidirectional overrides and isolates.
_ESCAPE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
           0x200E, 0x200F, 0x061C]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TABLE = {c: _NAMED.get(c) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _ESCAPE}
_TABLE_KEEP_NL = {**_TABLE, 0x0A: "\n"}
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def safe(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` (any object, as ``str``) with control characters escaped; a backslash stays a backslash.

    ``keep_newlines`` keeps ``\\n`` (for multi-line output) but still escapes ``\\r`` and the others.
    """
    s = text if isinstance(text, str) else str(text)
    if s.isprintable() and s.isascii():
        return s
    s = s.translate(_TABLE_KEEP_NL if keep_newlines else _TABLE)
    if not s.isascii():
        s = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", s)
    return s


def safe_line(text: object, limit: int | None = None) -> str:
    """One line for a message: :func:`safe`, runs of white space folded, cut at ``limit`` characters."""
    s = " ".join(safe(text).split())
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*@)")


def redact_url(url: str) -> str:
    """``url`` without its user name and password: ``https://user:pass@host/p`` -> ``https://***@host/p``."""
    return _USERINFO.sub(r"\1***@", url) if "@" in url else url


class SafeFormatter(logging.Formatter):
    """A log formatter that escapes the message (:func:`safe`): a daemon's log lines carry page titles,
    server errors and names from declarations, and a ``\\n`` in one must not forge another line, nor an
    escape sequence reach the terminal of whoever tails the log. Tracebacks keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = safe(record.message)
        return super().formatMessage(record)
