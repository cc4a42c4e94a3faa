"""HTML page -> clauses (headings, paragraphs, list items, table rows, definitions, quotes).

The page is parsed as bs4 parsed it (:mod:`tracker.text.parse`) and walked once, iteratively (hostile
pages nest 10,000 levels deep; recursion would crash), flushing the accumulated inline text at every
block boundary. The declaration's ``select`` and ``remove`` take CSS selectors or Open Terms Archive
range objects (:mod:`tracker.text.select`); without ``select`` the boilerplate (navigation, header,
footer, aside, forms, cookie banners, hidden elements) is dropped and the main content is picked when
the page marks it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, cast

from tracker.models import Clause, Extracted
from tracker.text.clauses import PSEUDO_HEADING_LEVEL, Sections, looks_like_heading, squash, squashed_clause
from tracker.text.parse import CONTAINERS, PRESERVE, Element, context, stripped_text, text_len
from tracker.text.select import Page, SelectorMatchedNothing, as_list, select_all

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = frozenset("""address article aside blockquote body center dd details dialog dir div dl dt fieldset
figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol p pre
section summary table tbody thead tfoot tr td th caption ul""".split())
_ALWAYS_SKIP = frozenset("""script style noscript template head svg math iframe object embed canvas
video audio map area link meta title base""".split())
_AUTO_SKIP = frozenset("nav header footer aside form button select input textarea option dialog".split())
_NOISE_RE = re.compile(
    r"cookie|consent|onetrust|optanon|truste|cookiebot|didomi|usercentrics|gdpr-?banner|cc-window"
    r"|qc-cmp|\bcmp\b|skip-?(?:link|nav|to)|breadcrumb|back-?to-?top|share-?(?:bar|buttons)|\bsr-only"
    r"|visually-?hidden|screen-?reader", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_KIND_OF = {"li": "list-item", "tr": "table-row", "dt": "definition", "dd": "definition",
            "blockquote": "quote"}
_BOLD = frozenset(("b", "strong"))
_LAYOUT_MARKERS = ("table", "h1", "h2", "h3", "h4", "h5", "h6")


def _attr_text(el: Element) -> str:
    cls = (el.get("class") or "").split()
    return " ".join((el.get("id") or "", " ".join(cls) if cls else "()"))


def _is_noise(el: Element, above: str | None, preserve: bool) -> bool:
    """Boilerplate to drop when the declaration does not say what to keep."""
    if el.tag in _AUTO_SKIP:
        return True
    attrs = el.attrib
    if not attrs:
        return False
    if "hidden" in attrs or _HIDDEN_STYLE.search(attrs.get("style") or ""):
        return True
    role = (attrs.get("role") or "").lower()
    if role in ("navigation", "banner", "contentinfo", "dialog", "alertdialog", "search", "complementary"):
        return True
    if attrs.get("aria-modal") == "true":
        return True
    if (attrs.get("id") or (attrs.get("class") or "").split()) and _NOISE_RE.search(_attr_text(el)):
        # A cookie *policy* section is content; a banner is short. Keep long blocks.
        return text_len(el, above, preserve) < 2500
    return attrs.get("aria-hidden") == "true" and text_len(el, above, preserve) < 200


def _cf_email(hexstr: str) -> str:
    """Cloudflare's e-mail protection (data-cfemail): XOR with the first byte."""
    try:
        data = bytes.fromhex(hexstr)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return ""


def _pick_main(root: Element | None, body: Element | None) -> list[Element | None]:
    """Without a declared selector: the page's own <main>/role=main, or a dominant <article>.

    ``None`` stands for the whole document (a page without <body>).
    """
    if root is None:
        return [body]
    mains = list(root.iter("main")) or cast(list[Element], root.xpath("//*[@role='main']"))
    mains = [m for m in mains if len(stripped_text(m)) > 200]
    if mains:
        return list(mains)
    articles = list(root.iter("article"))
    if articles:
        total = len(stripped_text(body if body is not None else root)) or 1
        sizes = [len(stripped_text(a)) for a in articles]
        best = max(range(len(articles)), key=sizes.__getitem__)
        if sizes[best] >= 0.5 * total:
            return [articles[best]]
    return [body]


# Tags whose presence above a selected element changes nothing in how its text becomes clauses:
# everything except headings, list/table/definition/quote structure, bold, text containers,
# preserved white space, skipped elements and line breaks.
_NOT_NEUTRAL = frozenset(_HEADINGS) | frozenset(_KIND_OF) | _BOLD | CONTAINERS | PRESERVE | _ALWAYS_SKIP | \
    frozenset("table thead tbody tfoot caption td th ul ol dl br".split())


def _selected_roots(root: Element | None, sel: set[Element], rm: set[Element]) -> list[Element] | None:
    """The outermost selected elements in document order, to walk instead of the whole body.

    Text outside the selection never becomes a clause, so walking it only costs time. Only when it
    cannot change a clause: every selected element is a block (its own boundaries flush the text),
    and nothing above it is structure the walker tracks (a list, table, heading, bold, removed
    element...). Otherwise None: walk the whole body.
    """
    if root is None or not sel:
        return None
    out = []
    for el in root.iter():
        if el not in sel:
            continue
        if el.tag not in _BLOCKS:
            return None
        covered = False
        for anc in el.iterancestors():
            if anc in sel:
                covered = True
                break
            if anc.tag in _NOT_NEUTRAL or anc in rm or anc.get("role") == "heading" or anc.get("data-cfemail"):
                return None
        if not covered:
            out.append(el)
    return out


class _Leave(NamedTuple):
    """The walker's marker to leave an element it entered, with what entering it opened."""

    el: Element
    name: str  # the tag, or the heading it stands for (role="heading")
    selected: bool
    is_block: bool
    is_bold: bool
    is_content: bool  # <main>/<article>
    is_container: bool  # rt/rp/script/style/template: text inside is not page text
    is_pre: bool  # white space preserved inside


class _Walker:
    """One pass over the DOM, flushing inline text into clauses at block boundaries."""

    def __init__(self, auto: bool) -> None:
        self.auto = auto
        self.clauses: list[Clause] = []
        self.sections = Sections()
        self.buf: list[str] = []
        self.bold_chars = 0
        self.plain_chars = 0
        self.blocks: list[str] = []  # open block names (for the kind of a flushed text)
        self.lists: list[str] = []  # lead-in context of each open list
        self.table_rows = 0  # open data-table rows: blocks inside a row do not split it
        self.layout_tables: set[Element] = set()  # table elements holding tables or headings
        self.tables: list[Element] = []  # open table elements
        self.rows: list[bool] = []  # open rows: data row or layout row
        self.bold = 0
        self.content = 0  # open <main>/<article>: their header/footer is content

    def text(self, s: str) -> None:
        self.buf.append(s)
        n = len(s.strip())
        if n:
            if self.bold:
                self.bold_chars += n
            else:
                self.plain_chars += n

    def _owner(self) -> tuple[str, int]:
        """Kind and heading level of the text being flushed (nearest meaningful open block)."""
        for name in reversed(self.blocks):
            if name in _HEADINGS:
                return "heading", _HEADINGS[name]
            if name in _KIND_OF:
                return _KIND_OF[name], 0
        return "paragraph", 0

    def flush(self) -> None:
        if not self.buf:
            return
        raw = "".join(self.buf)
        bold_only = self.bold_chars > 0 and self.plain_chars == 0
        self.buf, self.bold_chars, self.plain_chars = [], 0, 0
        text = squash(raw)
        if not text:
            return
        kind, level = self._owner()
        if kind == "paragraph" and looks_like_heading(text, bold_only):
            kind, level = "heading", PSEUDO_HEADING_LEVEL
        if kind == "heading":
            section = self.sections.push(level, text)
            clause = squashed_clause(text, section, "heading")
        else:
            context = self.lists[-1] if kind == "list-item" and self.lists else ""
            clause = squashed_clause(text, self.sections.path, kind, context)
        if clause is not None:
            self.clauses.append(clause)

    def enter_block(self, name: str, el: Element) -> None:
        if self.table_rows and name != "tr":
            if name in ("td", "th") and "".join(self.buf).strip():
                self.buf.append(" | ")
            else:
                self.buf.append(" ")
            return
        if name == "table" and next(el.iterdescendants(*_LAYOUT_MARKERS), None) is not None:
            self.layout_tables.add(el)  # a page laid out in a table: its cells are blocks
        self.flush()
        if name in ("ul", "ol", "dl"):
            last = self.clauses[-1] if self.clauses else None
            self.lists.append(last.text if last is not None and last.kind != "heading" else "")
        if name == "tr":
            data_row = not (self.tables and self.tables[-1] in self.layout_tables)
            self.rows.append(data_row)
            self.table_rows += data_row
        self.blocks.append(name)

    def leave_block(self, name: str) -> None:
        if self.table_rows and name != "tr":
            self.buf.append(" ")
            return
        self.flush()
        if self.blocks:
            self.blocks.pop()
        if name in ("ul", "ol", "dl") and self.lists:
            self.lists.pop()
        if name == "tr" and self.rows:
            self.table_rows -= self.rows.pop()


def extract_html(html: bytes | str, select: Any = (), remove: Any = (), base_url: str | None = None,
                 lang: str | None = None) -> Extracted:
    """HTML page -> clauses. ``select``/``remove``: CSS selectors and/or OTA range objects.

    ``base_url`` is accepted for callers that have it; link targets are not part of clauses.
    Raises :class:`SelectorMatchedNothing` when ``select`` is given and matches nothing.
    """
    page = Page(html)
    root = page.root
    html_el = next(root.iter("html"), None) if root is not None else None
    page_lang = lang or ((html_el.get("lang") or None) if html_el is not None else None)
    title_el = next(root.iter("title"), None) if root is not None else None
    title = stripped_text(title_el) if title_el is not None else None
    body = next(root.iter("body"), None) if root is not None else None  # None: the whole document

    select, remove = as_list(select), as_list(remove)
    sel, sel_ranges = select_all(page, select)
    rm, rm_ranges = select_all(page, remove)
    if select and not sel and not any(r.found for r in sel_ranges):
        raise SelectorMatchedNothing(f"select {select!r} matched nothing")
    auto = not select
    roots: list[Element | None]
    if auto:
        roots = _pick_main(root, body)
    else:
        # From the root element, not <body>: a selected <html> (":root") keeps its text.
        picked = _selected_roots(root, sel, rm) if not sel_ranges and not rm_ranges else None
        roots = list(picked) if picked else [root]

    w = _Walker(auto)
    ranges = sel_ranges + rm_ranges
    sel_depth = 0
    for start in roots:
        # ``start`` None: the document itself, whose only walked child is the root element.
        if start is None and root is None:
            continue
        above, preserve = context(start) if start is not None else (None, False)
        containers: list[str] = [above] if above else []  # open rt/rp: their text is not page text
        pre = int(preserve)
        # Entries: an element to enter, a string (text or tail), or a _Leave marker.
        stack: list[Any] = [start if start is not None else root]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is str:
                if not containers and (auto or sel_depth or (sel_ranges and any(r.active for r in sel_ranges))) \
                        and not (rm_ranges and any(r.active for r in rm_ranges)):
                    w.text(node)
                continue
            if kind is _Leave:
                el, name, selected, is_block, is_bold, is_content, is_container, is_pre = node
                for r in ranges:
                    r.leave(el)
                if is_block:
                    w.leave_block(name)
                if selected:
                    sel_depth -= 1
                if is_bold:
                    w.bold -= 1
                if is_content:
                    w.content -= 1
                if name == "table":
                    w.tables.pop()
                if is_container:
                    containers.pop()
                pre -= is_pre
                continue
            tail = node.tail if node is not start else None
            name = node.tag
            if type(name) is not str or name in _ALWAYS_SKIP or node in rm:  # comments, PIs, removed
                if tail:
                    stack.append(tail)
                continue
            for r in ranges:
                r.enter(node)
            if auto and node is not start and name not in ("main", "article"):
                if _is_noise(node, containers[-1] if containers else None, pre > 0) \
                        and not (w.content and name in ("header", "footer")):
                    if tail:
                        stack.append(tail)
                    continue
            if name == "br":
                w.text("\n")
                if tail:
                    stack.append(tail)
                continue
            cf = node.get("data-cfemail")
            if cf:
                w.text(_cf_email(cf))
                if tail:
                    stack.append(tail)
                continue
            selected = node in sel
            if selected:
                sel_depth += 1
            is_container = name in CONTAINERS
            if is_container:
                containers.append(name)
            is_pre = name in PRESERVE
            pre += is_pre
            role = node.get("role")
            is_block = name in _BLOCKS or role == "heading"
            if role == "heading" and name not in _HEADINGS:
                lvl = str(node.get("aria-level") or "2")
                name = f"h{lvl}" if f"h{lvl}" in _HEADINGS else "h2"
            is_bold = name in _BOLD
            is_content = name in ("main", "article")
            if name == "table":
                w.tables.append(node)
            if is_block:
                w.enter_block(name, node)
            if is_bold:
                w.bold += 1
            if is_content:
                w.content += 1
            if tail:
                stack.append(tail)
            stack.append(_Leave(node, name, selected, is_block, is_bold, is_content, is_container, is_pre))
            stack.extend(reversed(node))
            if node.text:
                stack.append(node.text)
        w.flush()
    return Extracted(clauses=w.clauses, title=title, lang=page_lang)
