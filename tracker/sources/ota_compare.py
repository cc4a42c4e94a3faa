"""Drift: where our declarations differ from Open Terms Archive's for the same pages (URL, rendering,
selectors), for ``import-ota --compare``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import TrackerError
from tracker.models import Document
from tracker.sources.declarations import selector_spec, slugify
from tracker.sources.ota_declarations import Page, encode_url, page_of, read_json, sources_of, terms_of


@dataclass(frozen=True)
class OtaPage:
    """One page of one OTA term, for comparison."""

    service: str
    type: str
    path: Path
    page: Page
    part: int = 1  # its place in a combine


def read_pages(path: Path) -> list[OtaPage]:
    """Every page of every term of one OTA declaration file (TrackerError naming the file if unusable).

    Terms that cannot be read (no fetch URL, bad combine) are left out: they cannot be compared."""
    data = read_json(path)
    try:
        service, terms = terms_of(data)
    except ValueError as e:
        raise TrackerError(f"{path}: {e}") from None
    out: list[OtaPage] = []
    for dtype, spec in terms.items():
        if not isinstance(spec, dict):
            continue
        try:
            sources = sources_of(spec)
            pages = [page_of(s) for s in sources]
        except ValueError:
            continue
        out += [OtaPage(service, dtype, path, p, i) for i, p in enumerate(pages, 1)]
    return out


def _url_key(url: str) -> str:
    """A URL as compared: encoded, scheme and host lower-case, no default port, no fragment, no
    trailing slash (both forms reach the same page on every site of the registry)."""
    url = encode_url(url)
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(\?[^#]*)?", url)
    if not m:
        return url
    scheme, host, path, query = m.group(1).lower(), m.group(2).lower(), m.group(3), m.group(4) or ""
    host = re.sub(r":443$", "", host) if scheme == "https" else re.sub(r":80$", "", host)
    path = re.sub(r"%[0-9a-f]{2}", lambda e: e.group().upper(), path).rstrip("/")
    return f"{scheme}://{host}{path}{query}"


def _selector_key(items: tuple) -> frozenset[str | tuple[tuple[str, str], ...]]:
    out: set[str | tuple[tuple[str, str], ...]] = set()
    for item in items:
        spec = selector_spec(item)
        if isinstance(spec, str):
            out.add(re.sub(r"\s+", " ", spec.strip()))
        else:
            out.add(tuple(sorted((k, re.sub(r"\s+", " ", v.strip())) for k, v in spec.items())))
    return frozenset(out)


def _name_keys(name: str) -> set[str]:
    """Keys a service is known by: its slug, and without a web suffix ("Amazon.com" is "Amazon")."""
    slug = slugify(name)
    return {slug, re.sub(r"-(com|org|net|io)$", "", slug)}


def _show_selectors(items: tuple) -> str:
    return json.dumps([selector_spec(i) for i in items], ensure_ascii=False) if items else "none"


@dataclass
class Comparison:
    """The result of :func:`compare`."""

    differences: list[str] = field(default_factory=list)  # one line each
    compared: int = 0  # documents of ours with an OTA counterpart
    differing: int = 0  # of those, documents with at least one difference
    unmatched: list[Document] = field(default_factory=list)  # documents OTA's folder does not declare


def _differences(doc: Document, ota: OtaPage) -> list[tuple[str, str, str]]:
    page = ota.page
    out = []
    if _url_key(doc.url) != _url_key(page.url):
        out.append(("url", doc.url, page.url))
    if doc.browser != page.browser:
        out.append(("browser", "true" if doc.browser else "false",
                    "true (executeClientScripts)" if page.browser else "false"))
    for key in ("select", "remove"):
        ours, theirs = getattr(doc, key), getattr(page, key)
        if _selector_key(ours) != _selector_key(theirs):
            out.append((key, _show_selectors(ours), _show_selectors(theirs)))
    return out


def compare(docs: Iterable[Document], pages: Iterable[OtaPage]) -> Comparison:
    """Each of ``docs`` against its OTA counterpart: the OTA page with the same URL, else the page of
    the same document type of the service with the same name (case, slug, or without .com).

    When several OTA pages match (the same service in several collections), a document that equals
    one of them has no difference; otherwise it is compared with the first (same URL first)."""
    pages = list(pages)
    by_url: dict[str, list[OtaPage]] = {}
    by_name: dict[tuple[str, str], list[OtaPage]] = {}
    for p in pages:
        by_url.setdefault(_url_key(p.page.url), []).append(p)
        for key in _name_keys(p.service):
            by_name.setdefault((key, p.type.casefold()), []).append(p)
    result = Comparison()
    for doc in docs:
        candidates = list(by_url.get(_url_key(doc.url), []))
        for key in sorted(_name_keys(doc.service)):
            candidates += [p for p in by_name.get((key, doc.type.casefold()), []) if p not in candidates]
        if not candidates:
            result.unmatched.append(doc)
            continue
        result.compared += 1
        found = [(p, _differences(doc, p)) for p in candidates]
        if any(not diffs for _, diffs in found):
            continue
        result.differing += 1
        ota, diffs = found[0]
        where = f'{ota.path} "{ota.type}"' + (f" page {ota.part}" if ota.part > 1 else "")
        for key, ours, theirs in diffs:
            result.differences.append(f"{doc.label}: {key} differs: ours {ours}; OTA {theirs} [{where}]")
    return result
