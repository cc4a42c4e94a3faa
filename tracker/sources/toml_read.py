"""Reading a TOML declaration file within bounds: at most ``MAX_FILE_BYTES``, UTF-8 (a byte order mark
ignored), and nesting no deeper than ``MAX_DEPTH``, checked before the parser recurses into it (a deeply
nested file would raise RecursionError). Every problem is one ``DeclarationError`` line naming the file.
Used for our declarations and, with the same limits, by the Open Terms Archive importer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tracker.errors import DeclarationError
from tracker.publish.termsafe import safe

MAX_FILE_BYTES = 1024 * 1024  # a declaration is a few hundred bytes; the largest real ones a few KB
MAX_DEPTH = 32  # arrays and tables inside each other (a real declaration needs 7 at most)


def read_toml(path: Path) -> dict:
    """The parsed file, or one ``DeclarationError`` line (unreadable, too large, not UTF-8, bad TOML)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # never more: a huge (or endless) file is refused unread
    except OSError as e:
        raise DeclarationError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DeclarationError(f"{path}: over {MAX_FILE_BYTES // 1024} KB; not a declaration (too large to load)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DeclarationError(f"{path}: not UTF-8 text (invalid byte at offset {e.start})") from None
    return parse_toml(text, str(path))


def parse_toml(text: str, source: str) -> dict:
    """TOML text (a leading byte order mark ignored) -> dict, refusing nesting deeper than ``MAX_DEPTH``
    before the parser recurses into it; every problem is a one-line ``DeclarationError`` naming ``source``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    depth, line = toml_nesting(text) if text.count("[") + text.count("{") > MAX_DEPTH else (0, 0)
    if depth > MAX_DEPTH:
        raise DeclarationError(f"{source}: nested too deeply (more than {MAX_DEPTH} levels of arrays or "
                               f"inline tables, at line {line})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise DeclarationError(f"{source}: invalid TOML: {safe(e)}") from None
    except RecursionError:  # not reached with MAX_DEPTH, kept as a last guard
        raise DeclarationError(f"{source}: nested too deeply") from None
    depth = data_depth(data)
    if depth > MAX_DEPTH:
        raise DeclarationError(f"{source}: nested too deeply (tables more than {MAX_DEPTH} levels deep)")
    return data


def toml_nesting(text: str) -> tuple[int, int]:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments, and the line where it is
    reached: a scan that does not recurse (table headers count as one or two levels, harmlessly)."""
    depth = deepest = 0
    line = where = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            triple = text.startswith(c * 3, i)
            quote = c * 3 if triple else c
            j = i + len(quote)
            while j < n:
                if c == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if text[j] == "\n":
                    if not triple:
                        break  # an unterminated string: the parser reports it
                    line += 1
                j += 1
            extra = 0
            while triple and extra < 2 and j + 3 < n and text[j + 3] == c:  # """a"""" ends with a quote
                j += 1
                extra += 1
            i = j + len(quote)
            continue
        elif c in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest, where


def data_depth(data: object) -> int:
    """How deep dicts and lists go in ``data`` (dotted keys nest tables without brackets), iteratively."""
    deepest = 0
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            todo.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest
