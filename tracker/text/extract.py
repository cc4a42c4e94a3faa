"""Policy page -> clauses (headings, paragraphs, list items, table rows, definitions, quotes).

Pure functions: text or bytes in, :class:`Extracted` out. Every input format gives the same
structure, so a service tracked once as HTML and once as Markdown diffs the same way.

HTML is walked once, iteratively (hostile pages nest 10,000 levels deep; recursion would crash),
flushing the accumulated inline text at every block boundary. The declaration's ``select`` and
``remove`` take CSS selectors or Open Terms Archive range objects
(``{"startBefore"|"startAfter": css, "endBefore"|"endAfter": css}``); without ``select`` the
boilerplate (navigation, header, footer, aside, forms, cookie banners, hidden elements) is dropped
and the main content is picked when the page marks it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.errors import TrackerError
from tracker.models import Clause, Document, Extracted
from tracker.text.normalise import clause_id, is_metadata, normalise

if TYPE_CHECKING:
    from tracker.store.codec import PackedVersion


class SelectorMatchedNothing(ValueError):
    """The declared ``select`` matched nothing: the page changed shape (or is an error page)."""


# --------------------------------------------------------------------------- clauses

PSEUDO_HEADING_LEVEL = 7  # a short bold-only paragraph: below every real heading


def _squash(text: str) -> str:
    r"""White space runs to one space, ends stripped: ``" ".join(text.split())``, which splits on exactly
    the characters ``\s`` matches and is six times faster than the regex on source-formatted text."""
    if "  " not in text and text.isprintable():  # every other white space is unprintable
        return text.strip()
    return " ".join(text.split())


def make_clause(text: str, section: tuple[str, ...], kind: str, context: str = "") -> Clause | None:
    """One clause from faithful text; None when nothing comparable is left (a lone "|" or "*")."""
    text = _squash(text)
    if not text:
        return None
    return _clause(text, section, kind, context)


def _clause(text: str, section: tuple[str, ...], kind: str, context: str = "") -> Clause | None:
    """``make_clause`` for text already squashed (the HTML walker squashes before it decides the kind)."""
    norm = normalise(text)
    if not (norm[:1].isalnum() or any(ch.isalnum() for ch in norm)):
        return None
    return Clause(id=clause_id(norm), text=text, norm=norm, section=section, kind=kind,
                  metadata=is_metadata(norm), context=context)


class _Sections:
    """The heading path: a stack of (level, text)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.path: tuple[str, ...] = ()  # rebuilt on push only: every clause of a section shares it

    def push(self, level: int, text: str) -> tuple[str, ...]:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.path = tuple(t for _, t in self.stack)
        return self.path


def _looks_like_heading(text: str, bold_only: bool) -> bool:
    """Short bold-only paragraphs act as headings on many policy pages."""
    if not bold_only:
        return False
    text = text.strip()
    return 0 < len(text) <= 100 and len(text.split()) <= 12 and not text.endswith((":", ","))


# --------------------------------------------------------------------------- HTML
#
# The page is parsed by lxml (libxml2) exactly as BeautifulSoup("lxml") used to parse it (same encoding
# choice, same 512-byte feeding) and lxml's elements are walked directly: building a bs4 tree cost
# two thirds of the time. Where bs4 gave text a meaning of its own, the walk reproduces it: text inside
# <rt>/<rp>/<script>/<style>/<template> is not page text, and a whitespace-only string counts as one
# character outside <pre>/<textarea> (the banner-length rule of _is_noise depends on it).

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
_CONTAINERS = frozenset(("rt", "rp", "style", "script", "template"))  # their text is not page text
_PRESERVE = frozenset(("pre", "textarea"))  # whitespace kept as is
_ASCII_SPACES = " \n\t\x0c\r"
_CHUNK = 512  # bs4 fed lxml 512 units at a time; libxml2's push parser is fed the same way


def _parse(html: bytes | str):
    """The lxml root element (None for an empty page), decoded and built as bs4 built its tree.

    bs4's own encoding detector lists the candidates (BOM, declared charset, detection, UTF-8,
    windows-1252); the first one lxml accepts wins, as in ``BeautifulSoup(html, "lxml")``, and the
    markup is fed in bs4's 512-unit chunks. libxml2's tree stops growing 255 levels down (the rest of
    the page is lost): such a page is rebuilt from the parser's events, as bs4 did, without limit.
    """
    from lxml import etree

    for markup, encoding in _candidates(html):
        try:
            root = _feed(etree.HTMLParser(recover=True, encoding=encoding), markup)
            if root is not None and _too_deep(root):
                root = _feed(etree.HTMLParser(recover=True, encoding=encoding, target=_DeepBuilder()), markup)
            return root
        except (UnicodeDecodeError, LookupError, etree.ParserError):
            continue
    from bs4.exceptions import ParserRejectedMarkup

    raise ParserRejectedMarkup("The markup you provided was rejected by the parser.")


def _candidates(html: bytes | str) -> Iterable[tuple[bytes | str, str | None]]:
    """(markup, encoding) pairs to try, as bs4's ``LXMLTreeBuilder.prepare_markup`` lists them.

    Text (what a check passes: the fetcher has already decoded the body) needs no detection, so bs4
    (0.15 s to import, with soupsieve) is only loaded for bytes.
    """
    if isinstance(html, str):
        yield (html[1:] if html.startswith("\ufeff") else html), None
        yield html.encode("utf8"), "utf8"
        return
    from bs4.builder import LXMLTreeBuilder

    for markup, encoding, _, _ in LXMLTreeBuilder().prepare_markup(html):
        yield markup, encoding


def _feed(parser, markup):
    parser.feed(markup[:_CHUNK])
    for i in range(_CHUNK, len(markup), _CHUNK):
        parser.feed(markup[i:i + _CHUNK])
    return parser.close()


@functools.cache
def _deep_xpath():
    from lxml import etree

    return etree.XPath("/" + "/".join(["*"] * 250))


def _too_deep(root) -> bool:
    """Whether libxml2's tree may have been cut at its depth limit (255 levels)."""
    return bool(_deep_xpath()(root))


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _DeepBuilder:
    """lxml parser target that builds the tree the way bs4 does (an end tag closes up to the most
    recent open element of that name, and is ignored when none is open), with no depth limit.

    Only for pages deeper than libxml2's tree builder goes; names lxml refuses become ``x-invalid``.
    """

    def __init__(self) -> None:
        from lxml import etree

        self.etree = etree
        self.holder = etree.Element("x-document")
        self.stack = [self.holder]
        self.names = [""]  # the parser's name of each open element (x-invalid keeps its own)
        self.open: dict[str, int] = {}
        self.last, self.tail = self.holder, False

    def _add(self, node) -> None:
        self.stack[-1].append(node)

    def data(self, text: str) -> None:
        text = _XML_UNSAFE.sub("", text)
        if self.tail:
            self.last.tail = (self.last.tail or "") + text
        else:
            self.last.text = (self.last.text or "") + text

    def start(self, tag: str, attrib) -> None:
        try:
            el = self.etree.SubElement(self.stack[-1], tag)
        except ValueError:
            el = self.etree.SubElement(self.stack[-1], "x-invalid")
        for k, v in attrib.items():
            try:
                el.set(k, _XML_UNSAFE.sub("", v))
            except ValueError:
                pass
        self.stack.append(el)
        self.names.append(tag)
        self.open[tag] = self.open.get(tag, 0) + 1
        self.last, self.tail = el, False

    def end(self, tag: str) -> None:
        if not self.open.get(tag):
            return
        while len(self.stack) > 1:
            el, name = self.stack.pop(), self.names.pop()
            self.open[name] -= 1
            self.last, self.tail = el, True
            if name == tag:
                break

    def comment(self, text: str) -> None:
        node = self.etree.Comment(_XML_UNSAFE.sub("", text).replace("--", "- -"))
        self._add(node)
        self.last, self.tail = node, True

    def pi(self, target: str, data: str | None = None) -> None:
        self.comment("")

    def close(self):
        return next((c for c in self.holder if type(c.tag) is str), None)


def _context(el) -> tuple[str | None, bool]:
    """Nearest text-container ancestor of ``el`` and whether whitespace is preserved there."""
    container, preserve = None, False
    for anc in el.iterancestors():
        tag = anc.tag
        if container is None and tag in _CONTAINERS:
            container = tag
        preserve = preserve or tag in _PRESERVE
    return container, preserve


def _strings(el, above: str | None, preserve: bool) -> list[str]:
    """bs4's ``el.get_text()`` pieces: the strings under ``el`` whose nearest container is ``el``'s
    kind (``el`` itself if it is a container, none otherwise), in document order, iteratively."""
    want = el.tag if el.tag in _CONTAINERS else None
    out: list[str] = []
    stack: list = [(el, above, preserve)]
    while stack:
        node, cont, pres = stack.pop()
        if type(node) is str:
            if cont == want:
                if not pres and not node.strip(_ASCII_SPACES):
                    node = "\n" if "\n" in node else " "
                out.append(node)
            continue
        tag = node.tag
        if tag in _CONTAINERS:
            cont = tag
        pres = pres or tag in _PRESERVE
        for child in reversed(node):
            if child.tail:
                stack.append((child.tail, cont, pres))
            if type(child.tag) is str:
                stack.append((child, cont, pres))
        if node.text:
            stack.append((node.text, cont, pres))
    return out


def _text_len(el, above: str | None, preserve: bool) -> int:
    """``len(tag.get_text())`` as bs4 computed it."""
    return sum(map(len, _strings(el, above, preserve)))


def _stripped_text(el) -> str:
    """``tag.get_text(" ", strip=True)`` as bs4 computed it."""
    return " ".join(s for s in (t.strip() for t in _strings(el, *_context(el))) if s)


def _attr_text(el) -> str:
    cls = (el.get("class") or "").split()
    return " ".join((el.get("id") or "", " ".join(cls) if cls else "()"))


def _is_noise(el, above: str | None, preserve: bool) -> bool:
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
        return _text_len(el, above, preserve) < 2500
    return attrs.get("aria-hidden") == "true" and _text_len(el, above, preserve) < 200


def _cf_email(hexstr: str) -> str:
    """Cloudflare's e-mail protection (data-cfemail): XOR with the first byte."""
    try:
        data = bytes.fromhex(hexstr)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return ""


# CSS: cssselect translates the common selectors (type, class, id, attributes, structural
# pseudo-classes, combinators) to XPath that libxml2 runs. Everything else (:has, :contains, :root,
# case-insensitive HTML attributes, namespaces...) goes to soupsieve on a bs4 soup of the same page,
# whose matches are mapped back onto lxml's elements, so every selector that worked still works.

_MULTI_VALUED = frozenset(("class", "rel", "rev", "accept-charset", "headers", "accesskey", "dropzone"))
_XPATH_OPS = frozenset(("exists", "=", "^=", "$=", "*=", "|="))
_SIMPLE_PSEUDO = frozenset(("first-child", "last-child", "only-child", "first-of-type", "last-of-type",
                            "only-of-type"))
_NTH = frozenset(("nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type"))
_ODD_CLASS_SPACE = re.compile(r"[^\S \t\n\r]")  # white space to bs4, not to XPath's normalize-space()


def _translatable(node) -> tuple[bool, bool]:
    """(cssselect gives soupsieve's matches, the selector reads class lists) for a parsed selector."""
    from cssselect import parser as p
    from soupsieve.css_parser import HTML_CASE_INSENSITIVE_ATTRIBUTES

    uses_class = False
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, p.Element):
            if n.namespace is not None:
                return False, False
        elif isinstance(n, p.Class):
            uses_class = True
            stack.append(n.selector)
        elif isinstance(n, p.Hash):
            stack.append(n.selector)
        elif isinstance(n, p.Attrib):
            name = n.attrib.lower()
            if n.namespace is not None or n.flag is not None or n.operator not in _XPATH_OPS \
                    or (n.operator != "exists" and name in HTML_CASE_INSENSITIVE_ATTRIBUTES):
                return False, False
            if name in _MULTI_VALUED and n.operator != "exists":
                value = n.value.value if n.value is not None else ""
                if n.operator != "*=" or not value or re.search(r"\s", value):
                    return False, False  # bs4 compares the re-joined list, not the raw attribute
            stack.append(n.selector)
        elif isinstance(n, p.Pseudo):
            if n.ident.lower() not in _SIMPLE_PSEUDO:
                return False, False
            stack.append(n.selector)
        elif isinstance(n, p.Function):
            if n.name.lower() not in _NTH or any(str(t.value).lower() == "of" for t in n.arguments):
                return False, False
            stack.append(n.selector)
        elif isinstance(n, p.Negation):
            stack.extend((n.selector, n.subselector))
        elif isinstance(n, p.CombinedSelector):
            if n.combinator not in (" ", ">", "+", "~"):
                return False, False
            stack.extend((n.selector, n.subselector))
        else:  # :has(), :is(), :where() and whatever a later cssselect adds
            return False, False
    return True, uses_class


@functools.lru_cache(maxsize=512)
def _xpath_for(selector: str):
    """(compiled XPath, reads class lists) when cssselect matches as soupsieve does, else None."""
    from tracker.text import css

    try:
        css.check(selector)
    except ValueError:  # invalid for soupsieve: the fallback raises the error users always saw
        return None
    try:
        from cssselect import HTMLTranslator, parse
        from lxml import etree

        if css.is_simple(selector):  # tags, classes, ids, combinators: cssselect agrees with soupsieve
            xpath = HTMLTranslator().css_to_xpath(selector, prefix="descendant-or-self::")
            return etree.XPath(xpath), "." in selector
        parsed = parse(selector)
        ok = [_translatable(s.parsed_tree) for s in parsed]
        if not parsed or any(s.pseudo_element is not None for s in parsed) or not all(a for a, _ in ok):
            return None
        xpath = HTMLTranslator().css_to_xpath(selector, prefix="descendant-or-self::")
        return etree.XPath(xpath), any(c for _, c in ok)
    except Exception:  # cssselect cannot read or translate it: soupsieve can
        return None


class _Page:
    """A parsed page and what selection needs from it (a bs4 soup only for the fallback)."""

    def __init__(self, html: bytes | str) -> None:
        self.html = html
        self.root = _parse(html)
        self._soup_map = None
        self._odd_classes: bool | None = None
        self._has_template: bool | None = None

    def odd_classes(self) -> bool:
        if self._odd_classes is None:
            values = self.root.xpath("//@class") if self.root is not None else []
            self._odd_classes = bool(_ODD_CLASS_SPACE.search("\n".join(values)))
        return self._odd_classes

    def select(self, selector: str) -> list:
        """Elements matching ``selector``, in document order (ValueError when it is not CSS)."""
        compiled = _xpath_for(selector)
        if compiled is not None and self.root is not None and not (compiled[1] and self.odd_classes()):
            found = compiled[0](self.root)
            if self.has_template():  # soupsieve does not look inside <template> (not part of the page)
                found = [e for e in found if not any(a.tag == "template" for a in e.iterancestors())]
            return found
        return self._soupsieve(selector)

    def has_template(self) -> bool:
        if self._has_template is None:
            self._has_template = next(self.root.iter("template"), None) is not None
        return self._has_template

    def _soupsieve(self, selector: str) -> list:
        if self._soup_map is None:
            from bs4 import BeautifulSoup

            soup = BeautifulSoup(self.html, "lxml")
            elements = [] if self.root is None else [e for e in self.root.iter() if type(e.tag) is str]
            # Both trees come from the same libxml2 parse: the n-th tag is the n-th element.
            self._soup_map = (soup, {id(t): e for t, e in zip(soup.find_all(True), elements, strict=False)
                                     if t.name == e.tag})
        soup, by_id = self._soup_map
        try:
            found = soup.select(selector)
        except Exception as e:  # soupsieve.SelectorSyntaxError and friends
            raise ValueError(f"bad CSS selector {selector!r}: {str(e).splitlines()[0]}") from e
        return [by_id[id(t)] for t in found if id(t) in by_id]

    def select_one(self, selector: str | None):
        if not selector:
            return None
        found = self.select(selector)
        return found[0] if found else None


class _Range:
    """An OTA range: content between a start and an end element, in document order."""

    def __init__(self, page: _Page, spec: dict) -> None:
        bad = set(spec) - {"startBefore", "startAfter", "endBefore", "endAfter"}
        if bad or not (spec.get("startBefore") or spec.get("startAfter")):
            raise ValueError(f"bad range selector {spec!r}: needs startBefore or startAfter "
                             "and endBefore or endAfter")
        self.start_before = page.select_one(spec.get("startBefore"))
        self.start_after = page.select_one(spec.get("startAfter"))
        self.end_before = page.select_one(spec.get("endBefore"))
        self.end_after = page.select_one(spec.get("endAfter"))
        self.found = self.start_before is not None or self.start_after is not None
        self.active = False
        self.done = False

    def enter(self, el) -> None:
        if el is self.start_before and not self.done:
            self.active = True
        if el is self.end_before and self.active:
            self.active, self.done = False, True

    def leave(self, el) -> None:
        if el is self.start_after and not self.done:
            self.active = True
        if el is self.end_after and self.active:
            self.active, self.done = False, True


def _compile(page: _Page, specs: Iterable) -> tuple[set, list[_Range]]:
    elements: set = set()
    ranges: list[_Range] = []
    for spec in specs:
        if isinstance(spec, dict):
            ranges.append(_Range(page, spec))
        elif isinstance(spec, str) and spec.strip():
            elements.update(page.select(spec))
        else:
            raise ValueError(f"bad selector {spec!r}: expected CSS text or a range object")
    return elements, ranges


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str | dict):
        return [value]
    return list(value)


def _pick_main(root, body) -> list:
    """Without a declared selector: the page's own <main>/role=main, or a dominant <article>.

    ``None`` stands for the whole document (a page without <body>).
    """
    if root is None:
        return [body]
    mains = list(root.iter("main")) or root.xpath("//*[@role='main']")
    mains = [m for m in mains if len(_stripped_text(m)) > 200]
    if mains:
        return mains
    articles = list(root.iter("article"))
    if articles:
        total = len(_stripped_text(body if body is not None else root)) or 1
        sizes = [len(_stripped_text(a)) for a in articles]
        best = max(range(len(articles)), key=sizes.__getitem__)
        if sizes[best] >= 0.5 * total:
            return [articles[best]]
    return [body]


# Tags whose presence above a selected element changes nothing in how its text becomes clauses:
# everything except headings, list/table/definition/quote structure, bold, text containers,
# preserved white space, skipped elements and line breaks.
_NOT_NEUTRAL = frozenset(_HEADINGS) | frozenset(_KIND_OF) | _BOLD | _CONTAINERS | _PRESERVE | _ALWAYS_SKIP | \
    frozenset("table thead tbody tfoot caption td th ul ol dl br".split())
WALK_SELECTED_ONLY = True  # False walks the whole body, as before (kept for the equivalence tests)


def _selected_roots(root, sel: set, rm: set) -> list | None:
    """The outermost selected elements in document order, to walk instead of the whole body.

    Text outside the selection never becomes a clause, so walking it only costs time (a third of
    the nodes of a typical page). Only when it cannot change a clause: every selected element is a
    block (its own boundaries flush the text), and nothing above it is structure the walker tracks
    (a list, table, heading, bold, removed element...). Otherwise None: walk the whole body.
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


class _Walker:
    """One pass over the DOM, flushing inline text into clauses at block boundaries."""

    def __init__(self, auto: bool) -> None:
        self.auto = auto
        self.clauses: list[Clause] = []
        self.sections = _Sections()
        self.buf: list[str] = []
        self.bold_chars = 0
        self.plain_chars = 0
        self.blocks: list[str] = []  # open block names (for the kind of a flushed text)
        self.lists: list[str] = []  # lead-in context of each open list
        self.table_rows = 0  # open data-table rows: blocks inside a row do not split it
        self.layout_tables: set = set()  # table elements holding tables or headings
        self.tables: list = []  # open table elements
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
        text = _squash(raw)
        if not text:
            return
        kind, level = self._owner()
        if kind == "paragraph" and _looks_like_heading(text, bold_only):
            kind, level = "heading", PSEUDO_HEADING_LEVEL
        if kind == "heading":
            section = self.sections.push(level, text)
            clause = _clause(text, section, "heading")
        else:
            context = self.lists[-1] if kind == "list-item" and self.lists else ""
            clause = _clause(text, self.sections.path, kind, context)
        if clause is not None:
            self.clauses.append(clause)

    def enter_block(self, name: str, el) -> None:
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


def extract_html(html: bytes | str, select=(), remove=(), base_url: str | None = None,
                 lang: str | None = None) -> Extracted:
    """HTML page -> clauses. ``select``/``remove``: CSS selectors and/or OTA range objects.

    ``base_url`` is accepted for callers that have it; link targets are not part of clauses.
    Raises :class:`SelectorMatchedNothing` when ``select`` is given and matches nothing.
    """
    page = _Page(html)
    root = page.root
    html_el = next(root.iter("html"), None) if root is not None else None
    page_lang = lang or ((html_el.get("lang") or None) if html_el is not None else None)
    title_el = next(root.iter("title"), None) if root is not None else None
    title = _stripped_text(title_el) if title_el is not None else None
    body = next(root.iter("body"), None) if root is not None else None  # None: the whole document

    select, remove = _as_list(select), _as_list(remove)
    sel, sel_ranges = _compile(page, select)
    rm, rm_ranges = _compile(page, remove)
    if select and not sel and not any(r.found for r in sel_ranges):
        raise SelectorMatchedNothing(f"select {select!r} matched nothing")
    auto = not select
    if auto:
        roots = _pick_main(root, body)
    else:
        # From the root element, not <body>: a selected <html> (":root") keeps its text.
        roots = (_selected_roots(root, sel, rm) if WALK_SELECTED_ONLY and not sel_ranges and not rm_ranges
                 else None) or [root]

    w = _Walker(auto)
    ranges = sel_ranges + rm_ranges
    sel_depth = 0
    for start in roots:
        # ``start`` None: the document itself, whose only walked child is the root element.
        if start is None and root is None:
            continue
        above, preserve = _context(start) if start is not None else (None, False)
        containers: list[str] = [above] if above else []  # open rt/rp: their text is not page text
        pre = int(preserve)
        # Entries: an element to enter, a string (text or tail), or a ("leave", ...) marker.
        stack: list = [start if start is not None else root]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is str:
                if not containers and (auto or sel_depth or (sel_ranges and any(r.active for r in sel_ranges))) \
                        and not (rm_ranges and any(r.active for r in rm_ranges)):
                    w.text(node)
                continue
            if kind is tuple:
                _, el, name, selected, is_block, is_bold, is_content, is_container, is_pre = node
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
            is_container = name in _CONTAINERS
            if is_container:
                containers.append(name)
            is_pre = name in _PRESERVE
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
            stack.append(("leave", node, name, selected, is_block, is_bold, is_content, is_container, is_pre))
            stack.extend(reversed(node))
            if node.text:
                stack.append(node.text)
        w.flush()
    return Extracted(clauses=w.clauses, title=title, lang=page_lang)


# --------------------------------------------------------------------------- one fetched page


def extract_checked(doc: Document, body: bytes, encoding: str | None, content_type: str, url: str,
                    final_url: str | None, previous_length: int
                    ) -> tuple[str | None, str | None, str | None, Extracted | None]:
    """Decode, extract and guard one page: (None, None, None, extracted) or ("failed", reason, error, None).

    A pure function of its arguments, so it can run in a worker process (:mod:`tracker.worker`).
    """
    from tracker.capture import guard
    from tracker.capture.charset import decode_body

    try:
        text = decode_body(body, encoding)
    except (ValueError, LookupError) as e:
        return "failed", "decode", str(e), None
    mime = content_type.split(";", 1)[0].strip().lower()
    try:
        if mime in ("text/markdown", "text/x-markdown") or url.lower().endswith(".md"):
            extracted = extract_markdown(text)
        elif mime == "text/plain":
            extracted = extract_text(text)
        else:
            extracted = extract_html(text, select=doc.select, remove=doc.remove, base_url=final_url or doc.url,
                                     lang=doc.lang)
    except SelectorMatchedNothing as e:
        return "failed", "selector-matched-nothing", str(e) or "selector matched nothing", None
    except RecursionError:
        return "failed", "decode", "markup nested too deeply to extract", None
    body_text = extracted.text
    if not extracted.clauses or not body_text.strip():
        return "failed", "empty", "no text found on the page", None
    why = guard.blocked_reason(body_text, extracted.title)
    if why:
        return "failed", "blocked", why, None
    why = guard.too_short(len(body_text), previous_length)
    if why:
        return "failed", "too-short", why, None
    return None, None, None, extracted



def extract_packed(doc: Document, body: bytes, encoding: str | None, content_type: str, url: str,
                   final_url: str | None, previous_length: int
                   ) -> tuple[str | None, str | None, str | None, PackedVersion | None]:
    """``extract_checked``, with the version packed for storage (text, clauses, sha256, and the
    compressed raw page for its snapshot) right here.

    What a check needs from a page, in the form that crosses a process boundary cheaply: a worker
    process returns a few compressed bytes instead of hundreds of pickled clauses, and the process
    holding the database only inserts them (it decodes the clauses only to diff a changed page).
    """
    from tracker.store.codec import pack_extracted

    state, reason, error, extracted = extract_checked(doc, body, encoding, content_type, url, final_url,
                                                      previous_length)
    return state, reason, error, (pack_extracted(extracted, body) if extracted is not None else None)

# --------------------------------------------------------------------------- Markdown


def extract_markdown(text: str) -> Extracted:
    """Markdown (Open Terms Archive versions) -> clauses; link targets and emphasis leave the text."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    tokens = md.parse(text)
    sections = _Sections()
    clauses: list[Clause] = []
    blocks: list[str] = []
    lists: list[str] = []
    row: list[str] = []
    title = None

    def add(t: str, kind: str, bold_only: bool = False, level: int = 0) -> None:
        nonlocal title
        if kind == "paragraph" and _looks_like_heading(t, bold_only):
            kind, level = "heading", PSEUDO_HEADING_LEVEL
        if kind == "heading":
            t = _squash(t)
            if not t:
                return
            if title is None and level == 1:
                title = t
            c = make_clause(t, sections.push(level, t), "heading")
        else:
            ctx = lists[-1] if kind == "list-item" and lists else ""
            c = make_clause(t, sections.path, kind, ctx)
        if c is not None:
            clauses.append(c)

    def owner() -> str:
        for b in reversed(blocks):
            if b in ("list_item", "blockquote"):
                return "list-item" if b == "list_item" else "quote"
        return "paragraph"

    for i, tok in enumerate(tokens):
        t = tok.type
        if t.endswith("_open") and t not in ("tr_open", "th_open", "td_open", "thead_open",
                                              "tbody_open", "table_open", "paragraph_open"):
            if t in ("bullet_list_open", "ordered_list_open"):
                last = clauses[-1] if clauses else None
                lists.append(last.text if last is not None and last.kind != "heading" else "")
            blocks.append(t[:-5])
        elif t.endswith("_close") and t not in ("tr_close", "th_close", "td_close", "thead_close",
                                                 "tbody_close", "table_close", "paragraph_close"):
            if t in ("bullet_list_close", "ordered_list_close") and lists:
                lists.pop()
            if blocks:
                blocks.pop()
        elif t == "tr_open":
            row = []
        elif t == "tr_close":
            add(" | ".join(c for c in row if c), "table-row")
            row = []
        elif t == "inline":
            plain, bold_only = _md_inline(tok)
            prev = tokens[i - 1].type if i else ""
            if prev == "heading_open":
                add(plain, "heading", level=int(tokens[i - 1].tag[1:]))
            elif prev in ("th_open", "td_open"):
                row.append(_squash(plain))
            else:
                add(plain, owner(), bold_only)
        elif t in ("fence", "code_block"):
            for line in tok.content.split("\n\n"):
                add(line, "paragraph")
        elif t == "html_block":
            for c in extract_html(tok.content).clauses:
                add(c.text, c.kind if c.kind != "heading" else "paragraph")
    return Extracted(clauses=clauses, title=title)


def _md_inline(tok) -> tuple[str, bool]:
    """Inline Markdown token -> (plain text, whether all of it is bold)."""
    out: list[str] = []
    bold = 0
    bold_chars = plain_chars = 0
    for ch in tok.children or ():
        ct = ch.type
        if ct in ("text", "code_inline"):
            s = ch.content
        elif ct in ("softbreak", "hardbreak"):
            s = " "
        elif ct == "strong_open":
            bold += 1
            continue
        elif ct == "strong_close":
            bold -= 1
            continue
        elif ct == "image":
            s = "".join(c.content for c in ch.children or ())
        elif ct == "html_inline":
            s = " " if ch.content.lower().startswith("<br") else ""
        else:
            continue
        out.append(s)
        n = len(s.strip())
        if bold:
            bold_chars += n
        else:
            plain_chars += n
    return "".join(out), bold_chars > 0 and plain_chars == 0


# --------------------------------------------------------------------------- plain text

_BULLET = re.compile(r"^\s*(?:[-*•·‣◦▪]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+", re.I)


def _text_heading(block: str) -> int:
    """A one-line block that reads as a title: ALL CAPS, or '3. Title' without a final period."""
    if "\n" in block or len(block) > 100 or block.rstrip().endswith((".", ":", ";", ",")):
        return 0
    letters = [c for c in block if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 2:
        return 2
    m = re.match(r"^\s*(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S", block)
    if m and len(block.split()) <= 12:
        return 2 + m.group(1).count(".")
    return 0


def extract_text(text: str) -> Extracted:
    """Plain text -> clauses: blank-line blocks, bullet lines as list items, title lines as headings."""
    sections = _Sections()
    clauses: list[Clause] = []
    context = ""
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        block = block.strip("\n")
        if not block.strip():
            continue
        level = _text_heading(block.strip())
        if level:
            t = block.strip()
            c = make_clause(t, sections.push(level, t), "heading")
            if c:
                clauses.append(c)
            continue
        lines = block.split("\n")
        if any(_BULLET.match(li) for li in lines):
            items: list[str] = []
            lead: list[str] = []
            for li in lines:
                if _BULLET.match(li):
                    items.append(_BULLET.sub("", li, count=1))
                elif items:
                    items[-1] += " " + li.strip()
                else:
                    lead.append(li.strip())
            if lead:
                c = make_clause(" ".join(lead), sections.path, "paragraph")
                if c:
                    clauses.append(c)
                    context = c.text
            for it in items:
                c = make_clause(it, sections.path, "list-item", context)
                if c:
                    clauses.append(c)
            continue
        c = make_clause(" ".join(li.strip() for li in lines), sections.path, "paragraph")
        if c:
            clauses.append(c)
            context = c.text
    return Extracted(clauses=clauses)


# --------------------------------------------------------------------------- files

_BY_SUFFIX = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "md", ".markdown": "md", ".txt": "txt"}


def extract_file(path: str | Path) -> Extracted:
    """A local file by suffix (.html/.htm/.md/.txt); anything else is a TrackerError, one line."""
    p = Path(path)
    fmt = _BY_SUFFIX.get(p.suffix.lower())
    if fmt is None:
        raise TrackerError(f"{p}: unknown file type {p.suffix or '(none)'!r} (expected .html, .htm, .md or .txt)")
    try:
        data = p.read_bytes()
    except FileNotFoundError as e:
        raise TrackerError(f"{p}: no such file") from e
    except IsADirectoryError as e:
        raise TrackerError(f"{p}: is a directory, not a file") from e
    except OSError as e:
        raise TrackerError(f"{p}: cannot read ({e.strerror or e})") from e
    return extract_bytes(data, fmt)


def extract_bytes(data: bytes | str, fmt: str) -> Extracted:
    """Dispatch on a format name: html | md | txt."""
    if fmt == "html":
        return extract_html(data)
    text = data if isinstance(data, str) else _decode(data)
    if fmt == "md":
        return extract_markdown(text)
    if fmt == "txt":
        return extract_text(text)
    raise TrackerError(f"unknown format {fmt!r} (expected html, md or txt)")


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
