"""A declaration's ``select``/``remove`` on a parsed page: CSS selectors and OTA range selectors.

CSS has two engines with one meaning. cssselect translates the common selectors (type, class, id,
attributes, structural pseudo-classes, combinators) to XPath that libxml2 runs on the page as
:mod:`tracker.text.parse` built it. Everything else (:has, :contains, :root, case-insensitive HTML
attributes, namespaces...) goes to soupsieve, bs4's engine and the reference, on a bs4 soup of the
same page, whose matches are mapped back onto lxml's elements: every selector that worked with bs4
still selects the same elements. Whether a selector is valid at all is :mod:`tracker.text.css`'s call.

An Open Terms Archive range (``{"startBefore"|"startAfter": css, "endBefore"|"endAfter": css}``) is
the content between two elements, followed by the walker as it enters and leaves elements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from cssselect import HTMLTranslator, parse
from cssselect import parser as p
from lxml import etree

from tracker.text import css
from tracker.text.parse import Element
from tracker.text.parse import parse as parse_html

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

class SelectorMatchedNothing(ValueError):
    """The declared ``select`` matched nothing: the page changed shape (or is an error page)."""


_MULTI_VALUED = frozenset(("class", "rel", "rev", "accept-charset", "headers", "accesskey", "dropzone"))
_XPATH_OPS = frozenset(("exists", "=", "^=", "$=", "*=", "|="))
_SIMPLE_PSEUDO = frozenset(("first-child", "last-child", "only-child", "first-of-type", "last-of-type",
                            "only-of-type"))
_NTH = frozenset(("nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type"))
_ODD_CLASS_SPACE = re.compile(r"[^\S \t\n\r]")  # white space to bs4, not to XPath's normalize-space()


def _translatable(node: p.Tree) -> tuple[bool, bool]:
    """(cssselect gives soupsieve's matches, the selector reads class lists) for a parsed selector."""
    # soupsieve is slow to import: only for selectors that are not simple (see tracker.text.css)
    from soupsieve.css_parser import HTML_CASE_INSENSITIVE_ATTRIBUTES

    uses_class = False
    stack: list[p.Tree] = [node]
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
                if n.operator != "*=" or not value or re.search(r"\s", str(value)):
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
def _xpath_for(selector: str) -> tuple[tuple[p.Tree, ...], bool] | None:
    """(the selector's parsed trees, reads class lists) when cssselect matches as soupsieve does,
    else None (soupsieve's fallback)."""
    try:
        css.check(selector)
    except ValueError:  # invalid for soupsieve: the fallback raises the error users always saw
        return None
    try:
        parsed = parse(selector)
        if css.is_simple(selector):  # tags, classes, ids, combinators: cssselect agrees with soupsieve
            return tuple(s.parsed_tree for s in parsed), "." in selector
        ok = [_translatable(s.parsed_tree) for s in parsed]
        if not parsed or any(s.pseudo_element is not None for s in parsed) or not all(a for a, _ in ok):
            return None
        for s in parsed:  # every compound must translate
            _compound_xpath(s.parsed_tree if not isinstance(s.parsed_tree, p.CombinedSelector)
                            else s.parsed_tree.subselector)
        return tuple(s.parsed_tree for s in parsed), any(c for _, c in ok)
    except Exception:  # cssselect cannot read or translate it: soupsieve can
        return None


@functools.lru_cache(maxsize=1024)
def _compiled(xpath: str) -> etree.XPath:
    return etree.XPath(xpath)


def _compound_xpath(tree: p.Tree) -> etree.XPath:
    """A compound selector (no combinator) as XPath: one pass over the page."""
    return _compiled(HTMLTranslator().selector_to_xpath(p.Selector(tree), prefix="descendant-or-self::"))


def _is_element(e: Any) -> bool:
    return type(e.tag) is str


def _match(root: Element, tree: p.Tree) -> set[Element]:
    """The elements matching a parsed selector, combinators evaluated one step at a time over sets.

    Why not cssselect's XPath for the whole selector: libxml2 runs ``following-sibling::`` and
    ``descendant::`` from every element of the previous step, so ``div ~ div`` on a page of 4,000
    sibling divs took 50 s, and every further step multiplied it. Each step here is one pass over
    the page whatever the selector, so a selector of 20 steps costs 20 passes."""
    if not isinstance(tree, p.CombinedSelector):
        return set(cast(list[Element], _compound_xpath(tree)(root)))
    left = _match(root, tree.selector)
    if not left:
        return set()
    return combine(root, left, tree.combinator, set(cast(list[Element], _compound_xpath(tree.subselector)(root))))


def combine(root: Element, left: set[Element], comb: str, right: set[Element]) -> set[Element]:
    """The elements of ``right`` that stand in relation ``comb`` (" ", ">", "+", "~") to an element of
    ``left``: one pass over the page (or over the parents of ``left``)."""
    out: set[Element] = set()
    if not left or not right:
        return out
    if comb == ">":
        out = {e for e in right if e.getparent() in left}
    elif comb == "+":
        for e in right:
            prev = e.getprevious()
            while prev is not None and not _is_element(prev):
                prev = prev.getprevious()
            if prev is not None and prev in left:
                out.add(e)
    elif comb == "~":
        parents = {e.getparent() for e in left}
        for parent in parents:
            if parent is None:
                continue
            seen = False
            for child in parent:
                if not _is_element(child):
                    continue
                if seen and child in right:
                    out.add(child)
                if child in left:
                    seen = True
    else:  # descendant (" "): under an element of ``left``, found in one walk of the page
        under: dict[Element, bool] = {}
        for e in root.iter():
            if not _is_element(e):
                continue
            parent = e.getparent()
            inside = parent is not None and (parent in left or under.get(parent, False))
            under[e] = inside
            if inside and e in right:
                out.add(e)
    return out


_OPEN, _CLOSE = "([", ")]"


def split_complex(selector: str) -> list[list[str]] | None:
    """A selector list as its complex selectors, each as [compound, combinator, compound, ...], split
    at the top level only (not inside ``(...)``, ``[...]`` or quotes); None when it cannot be split
    (a selector starting or ending with a combinator, unbalanced brackets)."""
    groups: list[list[str]] = []
    parts: list[str] = []
    buf: list[str] = []
    depth, quote, i, n = 0, "", 0, len(selector)

    def flush() -> bool:
        token = "".join(buf).strip()
        buf.clear()
        if not token:
            return False
        parts.append(token)
        return True

    pending: str | None = None
    while i < n:
        ch = selector[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and i + 1 < n:
                buf.append(selector[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == "\\" and i + 1 < n:
            buf.append(ch + selector[i + 1])
            i += 1
        elif ch in _OPEN:
            depth += 1
            buf.append(ch)
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
            buf.append(ch)
        elif depth == 0 and (ch in ">+~," or ch.isspace()):
            had = "".join(buf).strip() != ""
            if had:
                if pending is not None:
                    parts.append(pending)
                    pending = None
                flush()
            if ch == ",":
                if not parts or pending is not None:
                    return None
                groups.append(parts)
                parts = []
            elif ch in ">+~":
                if not parts or (pending not in (None, " ")):
                    return None
                pending = ch
            elif parts and pending is None:
                pending = " "
        else:
            if pending is not None and not "".join(buf).strip():
                parts.append(pending)
                pending = None
            buf.append(ch)
        i += 1
    if quote or depth:
        return None
    if "".join(buf).strip():
        if pending is not None:
            parts.append(pending)
        flush()
    elif pending not in (None, " "):
        return None
    if not parts:
        return None
    groups.append(parts)
    return groups


class Page:
    """A parsed page and what selection needs from it (a bs4 soup only for the fallback)."""

    def __init__(self, html: bytes | str) -> None:
        self.html = html
        self.root = parse_html(html)
        self._soup_map: tuple[BeautifulSoup, dict[int, Element]] | None = None
        self._odd_classes: bool | None = None
        self._has_template: bool | None = None

    def odd_classes(self) -> bool:
        if self._odd_classes is None:
            values: Any = self.root.xpath("//@class") if self.root is not None else []
            self._odd_classes = bool(_ODD_CLASS_SPACE.search("\n".join(values)))
        return self._odd_classes

    def select(self, selector: str) -> list[Element]:
        """Elements matching ``selector``, in document order (ValueError when it is not CSS)."""
        compiled = _xpath_for(selector)
        if compiled is not None and self.root is not None and not (compiled[1] and self.odd_classes()):
            matched: set[Element] = set()
            for tree in compiled[0]:
                matched |= _match(self.root, tree)
            found = [e for e in self.root.iter() if e in matched] if matched else []  # document order
            if self.has_template():  # soupsieve does not look inside <template> (not part of the page)
                found = [e for e in found if not any(a.tag == "template" for a in e.iterancestors())]
            return found
        return self._soupsieve(selector)

    def has_template(self) -> bool:
        if self._has_template is None:
            self._has_template = self.root is not None and next(self.root.iter("template"), None) is not None
        return self._has_template

    def _soupsieve(self, selector: str) -> list[Element]:
        if self._soup_map is None:
            from bs4 import BeautifulSoup  # slow to import, with soupsieve: only for this fallback

            soup = BeautifulSoup(self.html, "lxml")
            elements = [] if self.root is None else [e for e in self.root.iter() if type(e.tag) is str]
            # Both trees come from the same libxml2 parse: the n-th tag is the n-th element.
            self._soup_map = (soup, {id(t): e for t, e in zip(soup.find_all(True), elements, strict=False)
                                     if t.name == e.tag})
        soup, by_id = self._soup_map

        def run(sel: str) -> list[Element]:
            try:
                found = soup.select(sel)
            except Exception as e:  # soupsieve.SelectorSyntaxError and friends
                raise ValueError(f"bad CSS selector {selector!r}: {str(e).splitlines()[0]}") from e
            return [by_id[id(t)] for t in found if id(t) in by_id]

        groups = split_complex(selector)
        if groups is None or self.root is None or all(len(g) == 1 for g in groups):
            return run(selector)
        # soupsieve matches a complex selector right to left from every element, backtracking through
        # the combinators: a 20-step selector that matches nothing ran for minutes. Each compound is
        # matched on its own here (a local test per element) and the combinators joined over sets.
        css.check(selector)  # a selector soupsieve refuses is refused whole, with its message
        matched: set[Element] = set()
        for group in groups:
            current = set(run(group[0]))
            for comb, compound in zip(group[1::2], group[2::2], strict=True):
                current = combine(self.root, current, comb, set(run(compound))) if current else set()
            matched |= current
        return [e for e in self.root.iter() if e in matched] if matched else []

    def select_one(self, selector: str | None) -> Element | None:
        if not selector:
            return None
        found = self.select(selector)
        return found[0] if found else None


class Range:
    """An OTA range: content between a start and an end element, in document order."""

    def __init__(self, page: Page, spec: Mapping[str, str]) -> None:
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

    def enter(self, el: Element) -> None:
        if el is self.start_before and not self.done:
            self.active = True
        if el is self.end_before and self.active:
            self.active, self.done = False, True

    def leave(self, el: Element) -> None:
        if el is self.start_after and not self.done:
            self.active = True
        if el is self.end_after and self.active:
            self.active, self.done = False, True


def select_all(page: Page, specs: Iterable[object]) -> tuple[set[Element], list[Range]]:
    """The elements matched by the CSS items of ``specs``, and a :class:`Range` per range item."""
    elements: set[Element] = set()
    ranges: list[Range] = []
    for spec in specs:
        if isinstance(spec, dict):
            ranges.append(Range(page, spec))
        elif isinstance(spec, str) and spec.strip():
            elements.update(page.select(spec))
        else:
            raise ValueError(f"bad selector {spec!r}: expected CSS text or a range object")
    return elements, ranges


def as_list(value: Any) -> list[Any]:
    """A declaration's ``select``/``remove`` value as a list of items (None: none; one item: one)."""
    if value is None:
        return []
    if isinstance(value, str | dict):
        return [value]
    return list(value)  # any iterable of items
