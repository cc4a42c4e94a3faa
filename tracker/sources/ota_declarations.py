"""Open Terms Archive declarations -> our TOML declarations (pure conversion, no I/O but reading files).

An OTA service declaration is JSON::

    {"name": "X", "terms": {"Privacy Policy": {"fetch": URL, "select": ..., "remove": ...,
                                               "filter": [...], "executeClientScripts": true,
                                               "combine": [{"fetch": URL, ...}, ...]}}}

(before 2021 the key was ``documents`` instead of ``terms``), with an optional ``<Service>.history.json``
beside it: ``{type: [{...same keys..., "validUntil": DATE}, ...]}``.

``fetch``/``select``/``remove`` carry over exactly (range selectors included), ``executeClientScripts``
becomes ``browser = true`` (rendered by a headless Chromium, see tracker.capture.browser) and the history becomes
``[[documents.X.history]]``. Two things cannot: ``filter`` names JavaScript functions in
``<Service>.filters.js``; ``combine`` glues several pages into one document (here each page becomes a
document of its own). Each is reported as a warning, and written as a comment in the TOML file, never
dropped silently. (A past entry's ``executeClientScripts`` needs nothing: stored snapshots are already
rendered.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tracker.errors import TrackerError
from tracker.models import Document, PastSelectors
from tracker.sources.declarations import check_selectors, check_service_name, check_until, check_url

ATTRIBUTION = "data ODC-BY 1.0: Open Terms Archive and its contributors"
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

    def warn(self, dtype: str, message: str) -> None:
        self.notes.setdefault(dtype, []).append(message)
        self.warnings.append(f"{dtype}: {message}")


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _selectors(value: object, key: str) -> tuple:
    if value is None or value == []:
        return ()
    try:
        return check_selectors(value)
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None


def _sources(spec: dict) -> list[dict]:
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


def _page(source: dict) -> tuple[str, tuple, tuple]:
    if "fetch" not in source:
        raise ValueError("no fetch URL")
    try:
        url = check_url(source["fetch"])
    except ValueError as e:
        raise ValueError(f"fetch: {e}") from None
    return url, _selectors(source.get("select"), "select"), _selectors(source.get("remove"), "remove")


def _wanted(dtype: str, types: set[str] | None) -> bool:
    return types is None or dtype.casefold() in types


def convert_declaration(data: object, source: str, history: object = None,
                        types: Iterable[str] | None = None) -> Conversion:
    """Convert one parsed OTA declaration (and its parsed history, if any).

    ``types`` keeps only those document types (case-insensitive). Raises ValueError when ``data`` is
    not an OTA service declaration at all; problems with one document only skip that document.
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError("not an Open Terms Archive declaration (no name)")
    terms = data.get("terms", data.get("documents"))
    if not isinstance(terms, dict):
        raise ValueError("not an Open Terms Archive declaration (no terms)")
    try:
        service = check_service_name(data["name"])
    except ValueError as e:
        raise ValueError(f"name: {e}") from None
    wanted = {t.strip().casefold() for t in types if t.strip()} if types is not None else None
    conv = Conversion(service=service, source=source)
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
            pages = [(_page(s), _lost(s), s.get("executeClientScripts") is True) for s in _sources(spec)]
        except ValueError as e:
            conv.skipped.append(f"{dtype}: {e}")
            continue
        names = [dtype] + [f"{dtype} (part {i})" for i in range(2, len(pages) + 1)]
        if len(pages) > 1:
            conv.warn(dtype, f"combine: OTA joins {len(pages)} pages into one document; imported as "
                             f"{len(pages)} documents ({names[0]!r} .. {names[-1]!r})")
        for name, ((url, select, remove), lost, browser) in zip(names, pages, strict=True):
            for message in dict.fromkeys(lost):
                conv.warn(name, message)
            doc = Document(service=service, type=name, url=url, select=select, remove=remove, source=source,
                           browser=browser)
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
                sources = _sources(entry)
                (url, select, remove), lost = _page(sources[0]), _lost(sources[0])
            except ValueError as e:
                conv.warn(dtype, f"{where} skipped: {e}")
                continue
            if len(sources) > 1:
                lost.append(f"combine of {len(sources)} pages: only the first ({url}) kept")
            for message in lost:
                conv.warn(dtype, f"{where}: {message}")
            past.append(PastSelectors(until=until, url=url, select=select, remove=remove))
        if past:
            doc = firsts[dtype]
            new = replace(doc, history=tuple(sorted(past, key=lambda p: p.until)))
            conv.documents[conv.documents.index(doc)] = new


# --------------------------------------------------------------------------- files


def history_path(path: Path) -> Path:
    """``X.json`` -> ``X.history.json`` (OTA keeps the history beside the declaration)."""
    return path.with_name(path.name[: -len(".json")] + ".history.json")


def find_declaration_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(declarations, orphan history files) under a file or an OTA folder (or its ``declarations/``)."""
    path = Path(path)
    if path.is_file():
        return [path], []
    files = sorted(path.glob("*.json"))
    if not files and (path / "declarations").is_dir():
        files = sorted((path / "declarations").glob("*.json"))
    decls = [f for f in files if not f.name.endswith(".history.json")]
    histories = [f for f in files if f.name.endswith(".history.json")]
    orphans = [h for h in histories if h.with_name(h.name[: -len(".history.json")] + ".json") not in decls]
    return decls, orphans


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as e:
        raise TrackerError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise TrackerError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise TrackerError(f"{path}: invalid JSON: {e}") from None


def read_declaration(path: Path, types: Iterable[str] | None = None) -> Conversion:
    """Read ``X.json`` (and ``X.history.json`` if present) and convert them. Errors name the file."""
    path = Path(path)
    if path.name.endswith(".history.json"):
        base = path.name[: -len(".history.json")]
        raise TrackerError(f"{path}: a history file; give its declaration ({base}.json), which brings it")
    hpath = history_path(path)
    history = _read_json(hpath) if hpath.is_file() else None
    try:
        return convert_declaration(_read_json(path), str(path), history, types)
    except ValueError as e:
        raise TrackerError(f"{path}: {e}") from None
