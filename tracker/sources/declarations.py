"""Policy declarations: one TOML file per service in ``policies/``.

    name = "X"
    aliases = ["Twitter"]        # former names (optional): imported history and report lanes join
    [documents."Privacy Policy"]
    url = "https://x.com/en/privacy"
    select = ["main"]            # CSS selectors kept (optional)
    remove = [".cookie-banner"]  # CSS selectors dropped (optional)
    interval = "12h"             # how often the daemon checks it (optional, default 24h)
    browser = true               # render with a headless Chromium (pages whose text scripts insert;
                                 # optional, default false; also a service-level default)
    allow_private = true         # the URL may be on a private or loopback address (an intranet
                                 # page; optional, default false; also a service-level default)
    # a range selector (Open Terms Archive's form): everything from one element to another
    select = [{ startBefore = "h1", endBefore = "#feedback" }]
    [[documents."Privacy Policy".history]]   # selectors in force until a date (optional, oldest first)
    until = 2022-01-13T00:34:25Z
    select = [".document"]

Every file is validated on load; each problem is reported as one line naming the file and the key
(``DeclarationError``), because a silently ignored typo means a policy nobody watches. One bad file
never blocks the others (:func:`read_policies`): its documents are left out and named. A file is
refused before it is parsed when it is over ``MAX_FILE_BYTES`` or nests arrays/tables deeper than
``MAX_DEPTH`` (``toml_read``: the TOML parser recurses, a deeply nested file would raise RecursionError), and after it
when it declares more than ``MAX_DOCUMENTS`` documents; a UTF-8 byte order mark is ignored. A URL with
a user name or password is refused: declarations and everything made from them (feeds, pages, logs) are
public, and a secret in a URL would be published with them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from tracker.errors import DeclarationError
from tracker.models import Document, PastSelectors
from tracker.publish.termsafe import redact_url
from tracker.sources.toml_read import read_toml

DEFAULT_INTERVAL = 24 * 3600
SERVICE_KEYS = {"name", "documents", "lang", "url", "browser", "allow_private", "aliases"}
DOCUMENT_KEYS = {"url", "select", "remove", "interval", "lang", "history", "browser", "allow_private"}
HISTORY_KEYS = {"until", "url", "select", "remove"}
RANGE_STARTS = ("startBefore", "startAfter")
RANGE_ENDS = ("endBefore", "endAfter")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
MIN_INTERVAL = 1
MAX_INTERVAL = 365 * 86400
MAX_DOCUMENTS = 1000  # per file


def parse_interval(value: object) -> int:
    """'12h' -> 43200. Bare numbers are seconds. Raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 12h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        m = _INTERVAL_RE.match(value.lower())
        if not m:
            raise ValueError(f"{value!r} is not a duration such as 30m, 12h or 1d")
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ValueError("expected a duration such as 30m, 12h or 1d")
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise ValueError(f"{value!r} is out of range (1s to 365d)")
    return int(seconds)


def check_browser(value: object) -> bool:
    """``browser = true|false``; anything else (``"yes"``, 1) is an error rather than a guess."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, not {value!r}")
    return value


def format_interval(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def check_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValueError("expected an http(s) URL")
    url = url.strip()
    parts = urlsplit(url)
    if "@" in parts.netloc:  # first: the messages below quote the URL, which must not show the secret
        raise ValueError(f"{redact_url(url)!r} contains a user name or password; credentials must not be "
                         "in a declared URL (it is published in feeds, pages and logs)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if len(url.split(maxsplit=1)) > 1:  # str.split breaks on exactly what isspace() calls white space
        raise ValueError(f"{url!r} contains white space")
    if parts.netloc.endswith(":"):
        raise ValueError(f"{url!r} has an empty port")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ValueError(f"{url!r} has a bad port") from e
    return url


class RangeSelector(dict):
    """A range selector ``{startBefore|startAfter: css, endBefore|endAfter: css}``, frozen and hashable.

    It stays a ``dict`` so the extractor can take it as is, and is hashable so ``Document`` (a frozen
    dataclass) can hold it in ``select``/``remove``.
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def _frozen(self, *args, **kwargs):
        raise TypeError("RangeSelector is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _frozen  # type: ignore[assignment]
    __ior__ = _frozen  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RangeSelector({dict(self)!r})"


def selector_spec(item: object) -> str | dict:
    """The plain form of one ``select``/``remove`` item for the extractor: a CSS string or a range dict."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return dict(item)
    if isinstance(item, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in item):
        return dict(item)  # a frozen tuple of pairs, tolerated
    raise TypeError(f"not a selector: {item!r}")


def _compile_css(sel: str) -> str:
    from tracker.text import css

    return css.check(sel)


def _check_range(value: dict) -> RangeSelector:
    keys = set(value)
    unknown = keys - set(RANGE_STARTS) - set(RANGE_ENDS)
    starts = [k for k in RANGE_STARTS if k in keys]
    ends = [k for k in RANGE_ENDS if k in keys]
    if unknown or len(starts) != 1 or len(ends) != 1:
        raise ValueError("a range selector needs exactly one of startBefore/startAfter and one of "
                         f"endBefore/endAfter (got: {', '.join(map(str, value)) or 'nothing'})")
    out = {}
    for k in (starts[0], ends[0]):
        if not isinstance(value[k], str) or not value[k].strip():
            raise ValueError(f"range selector {k}: expected a CSS selector")
        out[k] = _compile_css(value[k])
    return RangeSelector(out)


def check_selectors(value: object) -> tuple[str | RangeSelector, ...]:
    """A selector or list of selectors, each checked now (see :mod:`tracker.text.css`), not at fetch time.

    Items are CSS strings or range selectors (inline tables, returned as ``RangeSelector``).
    """
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected a CSS selector or a list of CSS selectors")
    out: list[str | RangeSelector] = []
    for sel in value:
        if isinstance(sel, dict):
            out.append(_check_range(sel))
        elif isinstance(sel, str) and sel.strip():
            out.append(_compile_css(sel))
        else:
            raise ValueError("expected a CSS selector or a list of CSS selectors")
    return tuple(out)


def check_until(value: object) -> str:
    """A TOML datetime or ISO 8601 text -> 'YYYY-MM-DDTHH:MM:SSZ' (UTC); a bare date means its midnight UTC."""
    from datetime import UTC, date, datetime

    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date such as 2022-01-13T00:34:25Z") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValueError("expected a date such as 2022-01-13T00:34:25Z")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_history(value: object, url: str) -> tuple[PastSelectors, ...]:
    """``[[documents.X.history]]`` entries, sorted oldest first; url defaults to the document's."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected [[...history]] tables with until, and url/select/remove")
    out: list[PastSelectors] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ValueError(f"entry {i + 1}: expected a table")
        unknown = set(entry) - HISTORY_KEYS
        if unknown:
            raise ValueError(f"entry {i + 1}: unknown key {sorted(unknown)[0]!r} "
                             f"(expected one of: {', '.join(sorted(HISTORY_KEYS))})")
        if "until" not in entry:
            raise ValueError(f"entry {i + 1}: until is missing")
        try:
            out.append(PastSelectors(
                until=check_until(entry["until"]),
                url=check_url(entry["url"]) if "url" in entry else url,
                select=check_selectors(entry["select"]) if "select" in entry else (),
                remove=check_selectors(entry["remove"]) if "remove" in entry else ()))
        except ValueError as e:
            raise ValueError(f"entry {i + 1}: {e}") from None
    return tuple(sorted(out, key=lambda p: p.until))


def document_at(doc: Document, when: str) -> Document:
    """The document as declared at ``when`` (ISO 8601): the first history entry still valid then."""
    moment = check_until(when)
    for past in doc.history:
        if moment < past.until:
            return Document(service=doc.service, type=doc.type, url=past.url, select=past.select,
                            remove=past.remove, interval=doc.interval, lang=doc.lang, source=doc.source,
                            browser=doc.browser, allow_private=doc.allow_private)
    return doc


def slugify(name: str) -> str:
    """A file-system and URL safe slug; never empty, never a path."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-zA-Z0-9]+", "-", s).strip("-").lower()
    return s or "service"


def _has_control(text: str) -> bool:
    """A character of Unicode category C (control, format, surrogate, private use, unassigned).
    Printable text has none, so the per-character test runs only on the rare text that is not."""
    return not text.isprintable() and any(unicodedata.category(c).startswith("C") for c in text)


def check_service_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("expected a non-empty service name")
    name = name.strip()
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name or len(name) > 120:
        raise ValueError(f"{name!r} is not a usable service name (no path separators, at most 120 characters)")
    if _has_control(name):
        raise ValueError(f"{name!r} contains control characters")
    return name


def _document_type(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120 or _has_control(name):
        raise ValueError(f"{name!r} is not a usable document type")
    if "/" in name or "\\" in name:
        raise ValueError(f"{name!r} is not a usable document type (no path separators)")
    return name


def parse_declaration(data: dict, source: str, problems: list[str] | None = None) -> list[Document]:
    """Validate one parsed TOML file and return its documents.

    Without ``problems``, the first problem raises :class:`DeclarationError` (one line naming the
    file and the key). With a list, every problem is appended to it and the documents that are valid
    are returned: a problem of the service (its name, an unknown top-level key) drops the whole file,
    a problem of one document table drops that document only.
    """
    found: list[str] = []
    docs = _parse_declaration(data, source, found)
    if problems is None:
        if found:
            raise DeclarationError(found[0])
        return docs
    problems.extend(found)
    return docs


_LANG_RE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]+)*")


def _parse_declaration(data: dict, source: str, found: list[str]) -> list[Document]:
    def fail(key: str, msg: str) -> None:
        found.append(f"{source}: {key}: {msg}")

    for key in data:
        if key not in SERVICE_KEYS:
            fail(key, f"unknown key (expected one of: {', '.join(sorted(SERVICE_KEYS))})")
    service = None
    if "name" not in data:
        fail("name", "missing")
    else:
        try:
            service = check_service_name(data["name"])
        except ValueError as e:
            fail("name", str(e))
    lang = data.get("lang")
    if lang is not None and not (isinstance(lang, str) and _LANG_RE.fullmatch(lang)):
        fail("lang", "expected a language code such as en or fr")
        lang = None
    browser = allow_private = False
    if "browser" in data:
        try:
            browser = check_browser(data["browser"])
        except ValueError as e:
            fail("browser", str(e))
    if "allow_private" in data:
        try:
            allow_private = check_browser(data["allow_private"])
        except ValueError as e:
            fail("allow_private", str(e))
    aliases: tuple[str, ...] = ()
    if "aliases" in data:
        try:
            aliases = check_aliases(data["aliases"], service)
        except ValueError as e:
            fail("aliases", str(e))
    docs = data.get("documents")
    if not isinstance(docs, dict) or not docs:
        fail("documents", 'missing or empty (add a [documents."Privacy Policy"] table)')
        return []
    if len(docs) > MAX_DOCUMENTS:
        fail("documents", f"{len(docs)} documents, more than the {MAX_DOCUMENTS} a file may declare "
             "(split the service into several files)")
        return []
    service_ok = not found
    out: list[Document] = []
    for dtype, spec in docs.items():
        before = len(found)
        where = f'documents."{dtype}"'
        try:
            dtype = _document_type(dtype)
        except ValueError as e:
            fail(where, str(e))
            continue
        if not isinstance(spec, dict):
            fail(where, "expected a table with at least url")
            continue
        for key in spec:
            if key not in DOCUMENT_KEYS:
                fail(f"{where}.{key}", f"unknown key (expected one of: {', '.join(sorted(DOCUMENT_KEYS))})")
        if "url" not in spec:
            fail(f"{where}.url", "missing")
        values: dict = {}
        for key, check in (("url", check_url), ("select", check_selectors), ("remove", check_selectors),
                           ("interval", parse_interval), ("browser", check_browser),
                           ("allow_private", check_browser),
                           ("history", lambda v, got=values, raw=spec: check_history(v, got.get("url", raw.get("url"))))):
            if key in spec:
                try:
                    values[key] = check(spec[key])
                except ValueError as e:
                    fail(f"{where}.{key}", str(e))
        dlang = spec.get("lang", lang)
        if dlang is not None and not (isinstance(dlang, str) and _LANG_RE.fullmatch(dlang)):
            fail(f"{where}.lang", "expected a language code such as en or fr")
        if len(found) > before or not service_ok:
            continue
        assert service is not None
        out.append(Document(service=service, type=dtype, url=values["url"], select=values.get("select", ()),
                            remove=values.get("remove", ()), interval=values.get("interval", DEFAULT_INTERVAL),
                            lang=dlang.lower() if dlang else None, source=source,
                            history=values.get("history", ()), browser=values.get("browser", browser),
                            allow_private=values.get("allow_private", allow_private), aliases=aliases))
    return out


def check_aliases(value: object, service: str | None) -> tuple[str, ...]:
    """``aliases = ["Twitter"]``: former names of the service, so that its imported history and its
    report lane are one platform's."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('expected a list of names, such as ["Twitter"]')
    out: list[str] = []
    for v in value:
        name = check_service_name(v)
        if service is not None and name.casefold() == service.casefold():
            raise ValueError(f"{name!r} is the service's own name")
        if name.casefold() not in {o.casefold() for o in out}:
            out.append(name)
    return tuple(out)


def former_names(docs: Iterable[Document]) -> dict[str, str]:
    """Former name -> service, from the declarations' ``aliases`` ("Twitter" -> "X")."""
    return {a: d.service for d in docs for a in d.aliases}


def service_lanes(names: Iterable[str], former: dict[str, str]) -> dict[str, str]:
    """Stored service name -> the service it is a former name of, for the stored names that are one
    (matched by case or slug, as ``import-versions`` matches archive folders): documents stored under
    "Twitter" before ``aliases = ["Twitter"]`` was declared join X's lane, feed and list rows. A name
    that is itself a declared service stays its own."""
    keys = {k: v for k, v in former.items() if k.casefold() not in {s.casefold() for s in former.values()}}
    by_fold = {k.casefold(): v for k, v in keys.items()} | {slugify(k): v for k, v in keys.items()}
    out: dict[str, str] = {}
    if not by_fold:  # no former name declared: nothing to match (the usual case; a feeds build passes
        return out   # one name per change)
    for name in dict.fromkeys(names):
        platform = by_fold.get(name.casefold()) or by_fold.get(slugify(name))
        if platform is not None and platform != name:
            out[name] = platform
    return out


def load_file(path: Path, problems: list[str] | None = None) -> list[Document]:
    """The documents of one file; with ``problems``, every problem is appended there instead of the
    first being raised, and the valid documents are returned (see :func:`parse_declaration`)."""
    try:
        data = read_toml(path)
    except DeclarationError as e:
        if problems is None:
            raise
        problems.append(str(e))
        return []
    return parse_declaration(data, str(path), problems)


def load_policies(folder: Path) -> list[Document]:
    """All documents declared in ``folder``; the first problem (a bad file, a duplicate service) raises."""
    docs, problems = read_policies(folder)
    if problems:
        raise DeclarationError(problems[0])
    return docs


def read_policies(folder: Path) -> tuple[list[Document], list[str]]:
    """Every valid document declared in ``folder`` and every problem found, one line each.

    One bad file (or document table, or a service declared twice) never hides the others: its
    problems are listed and the rest is returned. A missing folder is still an error.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DeclarationError(f"{folder}: no such policies folder (use --policies DIR or `policy-tracker add`)")
    if not folder.is_dir():
        raise DeclarationError(f"{folder}: not a folder")
    docs: list[Document] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        file_docs = load_file(path, problems)
        if not file_docs:
            continue
        name = file_docs[0].service
        folded = name.casefold()
        if folded in seen:
            problems.append(f"{path}: name: service {name!r} is already declared in {seen[folded]}")
            continue
        seen[folded] = str(path)
        docs.extend(file_docs)
    return docs, problems


def select_documents(docs: list[Document], services: tuple[str, ...] | list[str]) -> list[Document]:
    """Filter by service names (case-insensitive, slugs accepted); an unknown name is an error."""
    if not services:
        return docs
    out: list[Document] = []
    for want in services:
        hits = [d for d in docs if matches_service(d.service, want)]
        if not hits:
            known = ", ".join(sorted({d.service for d in docs})) or "none declared"
            raise DeclarationError(f"unknown service {want!r} (declared: {known})")
        out.extend(h for h in hits if h not in out)
    return out


def matches_service(name: str, want: str) -> bool:
    """A service is named by its name (any case) or its slug."""
    return name.casefold() == want.casefold() or slugify(name) == slugify(want)


def pick_document(items: list, service: str, type_: str | None, *, where: str = "declared",
                  missing: str | None = None):
    """One item (a declared Document or a stored row: anything with .service and .type) by service
    and optional type; one clear line when there is none or the choice is ambiguous."""
    hits = [d for d in items if matches_service(d.service, service)]
    if not hits:
        known = ", ".join(sorted({d.service for d in items})) or f"none {where}"
        raise DeclarationError(missing or f"unknown service {service!r} ({where}: {known})")
    if type_:
        typed = [d for d in hits if d.type.casefold() == type_.casefold()]
        if not typed:
            raise DeclarationError(f"{hits[0].service} has no {where} document {type_!r} "
                                   f"({where}: {', '.join(d.type for d in hits)})")
        return typed[0]
    if len(hits) > 1:
        raise DeclarationError(f"{hits[0].service} has several documents; choose one with --type "
                               f"({', '.join(d.type for d in hits)})")
    return hits[0]


def find_document(docs: list[Document], service: str, type_: str | None) -> Document:
    return pick_document(docs, service, type_, where="declared")
