"""Open Terms Archive declarations -> our TOML declarations (pure conversion, no I/O but reading files).

An OTA service declaration is JSON::

    {"name": "X", "terms": {"Privacy Policy": {"fetch": URL, "select": ..., "remove": ...,
                                               "filter": [...], "executeClientScripts": true,
                                               "combine": [{"fetch": URL, ...}, ...]}}}

(before 2021 the key was ``documents`` instead of ``terms``), with an optional ``<Service>.history.json``
beside it: ``{type: [{...same keys..., "validUntil": DATE}, ...]}``.

Carried over: ``fetch`` (percent-encoded where OTA's URL has spaces or other characters a URL cannot
hold), ``select``/``remove`` (range selectors included; a selector the tracker cannot parse is dropped
on its own, with a warning naming it), ``executeClientScripts`` (as ``browser = true``: rendered by a
headless Chromium, see tracker.capture.browser) and the history (as ``[[documents.X.history]]``). Not carried
over: ``filter`` names JavaScript functions in ``<Service>.filters.js``; ``combine`` glues several
pages into one document (here each page becomes a document of its own). Each loss is reported as a
warning and written as a comment in the TOML file, never dropped silently. (A past entry's
``executeClientScripts`` needs nothing: stored snapshots are already rendered.)

Where the declarations come from (repository, licence) is ``ota_origin``; where ours differ from
OTA's is ``ota_compare``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tracker.errors import TrackerError
from tracker.models import Document, PastSelectors
from tracker.sources.declarations import (
    check_selectors,
    check_service_name,
    check_until,
    check_url,
    slugify,
)

_SOURCE_KEYS = ("fetch", "select", "remove", "filter", "executeClientScripts")
_KNOWN_KEYS = set(_SOURCE_KEYS) | {"combine", "validUntil"}


@dataclass
class Conversion:
    """One OTA service converted: documents to write, and what could not be carried over."""

    service: str
    source: str
    documents: list[Document] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # document type -> comment lines
    warnings: list[str] = field(default_factory=list)  # one line each, "Type: what was lost"
    skipped: list[str] = field(default_factory=list)  # types not converted, with the reason
    declared_types: list[str] = field(default_factory=list)  # every type the OTA file declares

    def warn(self, dtype: str, message: str) -> None:
        self.notes.setdefault(dtype, []).append(message)
        self.warnings.append(f"{dtype}: {message}")


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- URLs

_URL_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(.*)$", re.S)
# Characters a URL may hold as they are (RFC 3986 unreserved, reserved and "%" of a valid escape).
_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]|%(?![0-9A-Fa-f]{2})")


def encode_url(url: str) -> str:
    """``url`` with what a URL cannot hold percent-encoded (UTF-8), after its host.

    Spaces, quotes, ``<>{}|\\^``, non-ASCII letters and a ``%`` that starts no escape are encoded;
    tabs and line breaks are dropped, as browsers do (WHATWG URL); valid escapes and the scheme and
    host are left alone, so a URL that needs nothing comes back unchanged.
    """
    url = re.sub(r"[\t\n\r]", "", url.strip())
    m = _URL_HEAD.match(url)
    if not m:
        return url
    head, rest = m.groups()
    return head + _UNSAFE.sub(lambda c: "".join(f"%{b:02X}" for b in c.group().encode("utf-8", "surrogatepass")),
                              rest)


def _fetch_url(source: dict) -> tuple[str, str | None]:
    """(the page's URL, a warning if it had to be percent-encoded)."""
    if "fetch" not in source:
        raise ValueError("no fetch URL")
    raw = source["fetch"]
    if not isinstance(raw, str):
        raise ValueError(f"fetch: expected a URL, not {raw!r}")
    url = encode_url(raw)
    try:
        url = check_url(url)
    except ValueError as e:
        raise ValueError(f"fetch: {e}") from None
    note = None if url == raw.strip() else f"fetch URL percent-encoded: {raw.strip()!r} -> {url}"
    return url, note


# --------------------------------------------------------------------------- selectors


def _describe(item: object) -> str:
    return json.dumps(item, ensure_ascii=False) if not isinstance(item, str) else repr(item)


def _selectors(value: object, key: str) -> tuple[tuple, list[str]]:
    """Valid selectors of ``value`` and one warning per selector dropped (the others are kept)."""
    kept: list = []
    dropped: list[str] = []
    items = _as_list(value)
    for item in items:
        try:
            if not isinstance(item, str | dict):
                raise ValueError("expected a CSS selector or a range object")
            kept.extend(check_selectors(item))
        except ValueError as e:
            reason = str(e).removeprefix(f"bad CSS selector {item!r}: ")
            dropped.append(f"{key}: selector {_describe(item)} dropped ({reason})")
    if dropped and items and not kept:
        dropped.append(f"{key}: no valid selector left"
                       + ("; the page's main content is taken instead" if key == "select"
                          else "; nothing is removed"))
    return tuple(kept), dropped


def sources_of(spec: dict) -> list[dict]:
    """The page(s) of one OTA term, each with the term-level keys it inherits (source keys win)."""
    shared = {k: spec[k] for k in _SOURCE_KEYS if k in spec}
    if "combine" not in spec:
        return [shared]
    combine = spec["combine"]
    if not isinstance(combine, list) or not combine or not all(isinstance(s, dict) for s in combine):
        raise ValueError("combine: expected a list of {fetch, select, remove} objects")
    return [{**shared, **{k: s[k] for k in _SOURCE_KEYS if k in s}} for s in combine]


def _lost(source: dict) -> list[str]:
    """What a page needs that the tracker cannot do."""
    out = []
    filters = [f if isinstance(f, str) else json.dumps(f, ensure_ascii=False)
               for f in _as_list(source.get("filter"))]
    if filters:
        out.append("filter not carried over (JavaScript functions in the OTA .filters.js file): "
                   + ", ".join(filters) + "; the extracted text may keep what they removed or rewrote")
    return out


@dataclass(frozen=True)
class Page:
    """One page of an OTA term, as the tracker would fetch it; ``problems`` say what was changed."""

    url: str
    select: tuple
    remove: tuple
    browser: bool
    problems: tuple[str, ...] = ()


def page_of(source: dict) -> Page:
    url, note = _fetch_url(source)
    select, bad_select = _selectors(source.get("select"), "select")
    remove, bad_remove = _selectors(source.get("remove"), "remove")
    problems = ([note] if note else []) + bad_select + bad_remove
    return Page(url, select, remove, source.get("executeClientScripts") is True, tuple(problems))


def _wanted(dtype: str, types: set[str] | None) -> bool:
    return types is None or dtype.casefold() in types


def terms_of(data: object) -> tuple[str, dict]:
    """(service name, terms) of a parsed OTA declaration; ValueError saying plainly what is missing."""
    if isinstance(data, dict) and not data:
        raise ValueError("empty declaration ({}): no name and no terms")
    if not isinstance(data, dict):
        raise ValueError(f"not an Open Terms Archive declaration (expected a JSON object, found "
                         f"{type(data).__name__ if data is not None else 'null'})")
    if "name" not in data:
        raise ValueError("not an Open Terms Archive declaration (no name)")
    terms = data.get("terms", data.get("documents"))
    if terms is None:
        raise ValueError("not an Open Terms Archive declaration (no terms)")
    if not isinstance(terms, dict):
        raise ValueError("terms: expected an object of document types")
    try:
        service = check_service_name(data["name"])
    except ValueError as e:
        raise ValueError(f"name: {e}") from None
    if not terms:
        raise ValueError(f"{service}: declares no documents (its terms object is empty)")
    return service, terms


def convert_declaration(data: object, source: str, history: object = None,
                        types: Iterable[str] | None = None) -> Conversion:
    """Convert one parsed OTA declaration (and its parsed history, if any).

    ``types`` keeps only those document types (case-insensitive). Raises ValueError when ``data`` is
    not an OTA service declaration at all, or declares nothing; problems with one document only skip
    that document, and a bad selector only drops that selector.
    """
    service, terms = terms_of(data)
    wanted = {t.strip().casefold() for t in types if t.strip()} if types is not None else None
    conv = Conversion(service=service, source=source, declared_types=list(terms))
    firsts: dict[str, Document] = {}
    for dtype, spec in terms.items():
        if not _wanted(dtype, wanted):
            continue
        if not isinstance(spec, dict):
            conv.skipped.append(f"{dtype}: expected an object with fetch")
            continue
        for key in sorted(set(spec) - _KNOWN_KEYS):
            conv.warn(dtype, f"OTA key {key!r} not understood, ignored")
        try:
            pages = [(page_of(s), _lost(s)) for s in sources_of(spec)]
        except ValueError as e:
            conv.skipped.append(f"{dtype}: {e}")
            continue
        names = [dtype] + [f"{dtype} (part {i})" for i in range(2, len(pages) + 1)]
        if len(pages) > 1:
            conv.warn(dtype, f"combine: OTA joins {len(pages)} pages into one document; imported as "
                             f"{len(pages)} documents ({names[0]!r} .. {names[-1]!r})")
        for name, (page, lost) in zip(names, pages, strict=True):
            for message in dict.fromkeys([*page.problems, *lost]):
                conv.warn(name, message)
            doc = Document(service=service, type=name, url=page.url, select=page.select, remove=page.remove,
                           source=source, browser=page.browser)
            conv.documents.append(doc)
            firsts.setdefault(dtype, doc)
    if history is not None:
        _attach_history(conv, firsts, history, wanted)
    return conv


def _attach_history(conv: Conversion, firsts: dict[str, Document], history: object,
                    wanted: set[str] | None) -> None:
    if not isinstance(history, dict):
        conv.warnings.append("history: expected an object of document types, ignored")
        return
    for dtype, entries in history.items():
        if not _wanted(dtype, wanted):
            continue
        if dtype not in firsts:
            conv.warnings.append(f"{dtype}: history ignored (the type is no longer declared)")
            continue
        past: list[PastSelectors] = []
        for i, entry in enumerate(_as_list(entries), 1):
            where = f"history entry {i}"
            try:
                if not isinstance(entry, dict) or "validUntil" not in entry:
                    raise ValueError("no validUntil")
                until = check_until(entry["validUntil"])
                where = f"history until {until}"
                sources = sources_of(entry)
                page, lost = page_of(sources[0]), _lost(sources[0])
            except ValueError as e:
                conv.warn(dtype, f"{where} skipped: {e}")
                continue
            if len(sources) > 1:
                lost.append(f"combine of {len(sources)} pages: only the first ({page.url}) kept")
            for message in [*page.problems, *lost]:
                conv.warn(dtype, f"{where}: {message}")
            past.append(PastSelectors(until=until, url=page.url, select=page.select, remove=page.remove))
        if past:
            doc = firsts[dtype]
            new = replace(doc, history=tuple(sorted(past, key=lambda p: p.until)))
            conv.documents[conv.documents.index(doc)] = new


# --------------------------------------------------------------------------- files


def history_path(path: Path) -> Path:
    """``X.json`` -> ``X.history.json`` (OTA keeps the history beside the declaration)."""
    return path.with_name(path.name[: -len(".json")] + ".history.json")


def find_declaration_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(declarations, orphan history files) under a file, an OTA declarations repository (its
    ``declarations/`` folder), or a folder of such repositories (``*/declarations/``)."""
    path = Path(path)
    if path.is_file():
        return [path], []
    # A repository's root holds package.json and the like: its declarations are in declarations/.
    inner = path / "declarations"
    files = sorted(inner.glob("*.json")) if inner.is_dir() else sorted(path.glob("*.json"))
    if not files:
        files = sorted(path.glob("*/declarations/*.json"))
    decls = [f for f in files if not f.name.endswith(".history.json")]
    histories = [f for f in files if f.name.endswith(".history.json")]
    orphans = [h for h in histories if h.with_name(h.name[: -len(".history.json")] + ".json") not in decls]
    return decls, orphans


def read_json(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TrackerError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TrackerError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise TrackerError(f"{path}: empty file (an OTA declaration is a JSON object with name and terms)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TrackerError(f"{path}: invalid JSON: {e}") from None


def read_declaration(path: Path, types: Iterable[str] | None = None) -> Conversion:
    """Read ``X.json`` (and ``X.history.json`` if present) and convert them. Errors name the file."""
    path = Path(path)
    if path.name.endswith(".history.json"):
        base = path.name[: -len(".history.json")]
        raise TrackerError(f"{path}: a history file; give its declaration ({base}.json), which brings it")
    hpath = history_path(path)
    history = read_json(hpath) if hpath.is_file() else None
    try:
        return convert_declaration(read_json(path), str(path), history, types)
    except ValueError as e:
        raise TrackerError(f"{path}: {e}") from None


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def file_stem(service: str, *, suffixed: bool = False) -> str:
    """The file name (without ``.toml``) for an imported service.

    The slug of its name; a name that slugs to nothing readable (non-Latin scripts: "Яндекс", "微博")
    gets a short stable hash of the name instead of the bare ``service``, and ``suffixed`` (another
    service already holds the plain name) adds the hash to any slug. Same name, same file, every run.
    """
    slug = slugify(service)
    if slug == "service" and service.strip().casefold() != "service":
        return f"service-{short_hash(service)}"
    return f"{slug}-{short_hash(service)}" if suffixed else slug
