"""HTML -> lxml tree, parsed as ``BeautifulSoup(html, "lxml")`` parsed it, and bs4's text rules on it.

The page is parsed by lxml (libxml2) exactly as bs4 used to parse it (same encoding choice, same
512-byte feeding) and lxml's elements are walked directly, without building a bs4 tree. Where bs4
gave text a meaning of its own, the functions here reproduce it: text inside <rt>/<rp>/<script>/
<style>/<template> is not page text, and a whitespace-only string counts as one character outside
<pre>/<textarea> (the banner-length rule of the HTML walker depends on it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

from lxml import etree

Element: TypeAlias = etree._Element  # an lxml element (comments and PIs are subclasses)

CONTAINERS = frozenset(("rt", "rp", "style", "script", "template"))  # their text is not page text
PRESERVE = frozenset(("pre", "textarea"))  # whitespace kept as is
_ASCII_SPACES = " \n\t\x0c\r"
_CHUNK = 512  # bs4 fed lxml 512 units at a time; libxml2's push parser is fed the same way


def parse(html: bytes | str) -> Element | None:
    """The lxml root element (None for an empty page), decoded and built as bs4 built its tree.

    bs4's own encoding detector lists the candidates (BOM, declared charset, detection, UTF-8,
    windows-1252); the first one lxml accepts wins, as in ``BeautifulSoup(html, "lxml")``, and the
    markup is fed in bs4's 512-unit chunks. libxml2's tree stops growing 255 levels down (the rest of
    the page is lost): such a page is rebuilt from the parser's events, as bs4 did, without limit.
    """
    for markup, encoding in _candidates(html):
        try:
            root = _feed(etree.HTMLParser(recover=True, encoding=encoding), markup)
            if root is not None and _too_deep(root):
                target: Any = _DeepBuilder()  # duck-typed: lxml calls the methods it finds
                root = _feed(etree.HTMLParser(recover=True, encoding=encoding, target=target), markup)
            return root
        except (UnicodeDecodeError, LookupError, etree.ParserError):
            continue
    from bs4.exceptions import ParserRejectedMarkup  # bs4 is slow to import: only on this failure

    raise ParserRejectedMarkup("The markup you provided was rejected by the parser.")


def _candidates(html: bytes | str) -> Iterator[tuple[bytes | str, str | None]]:
    """(markup, encoding) pairs to try, as bs4's ``LXMLTreeBuilder.prepare_markup`` lists them.

    Text (what a check passes: the fetcher has already decoded the body) needs no detection, so bs4
    (slow to import, with soupsieve) is only loaded for bytes.
    """
    if isinstance(html, str):
        yield (html[1:] if html.startswith("\ufeff") else html), None
        yield html.encode("utf8"), "utf8"
        return
    from bs4.builder._lxml import LXMLTreeBuilder

    for markup, encoding, _, _ in LXMLTreeBuilder().prepare_markup(html):
        yield markup, encoding


def _feed(parser: Any, markup: bytes | str) -> Element | None:
    """Feed ``parser`` in bs4's chunks; what it builds (the root element, or None for no markup)."""
    parser.feed(markup[:_CHUNK])
    for i in range(_CHUNK, len(markup), _CHUNK):
        parser.feed(markup[i:i + _CHUNK])
    root: Element | None = parser.close()
    return root


@functools.cache
def _deep_xpath() -> etree.XPath:
    return etree.XPath("/" + "/".join(["*"] * 250))


def _too_deep(root: Element) -> bool:
    """Whether libxml2's tree may have been cut at its depth limit (255 levels)."""
    return bool(_deep_xpath()(root))


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _DeepBuilder:
    """lxml parser target that builds the tree the way bs4 does (an end tag closes up to the most
    recent open element of that name, and is ignored when none is open), with no depth limit.

    Only for pages deeper than libxml2's tree builder goes; names lxml refuses become ``x-invalid``.
    """

    def __init__(self) -> None:
        self.holder = etree.Element("x-document")
        self.stack = [self.holder]
        self.names = [""]  # the parser's name of each open element (x-invalid keeps its own)
        self.open: dict[str, int] = {}
        self.last: Element = self.holder
        self.tail = False

    def _add(self, node: Element) -> None:
        self.stack[-1].append(node)

    def data(self, text: str) -> None:
        text = _XML_UNSAFE.sub("", text)
        if self.tail:
            self.last.tail = (self.last.tail or "") + text
        else:
            self.last.text = (self.last.text or "") + text

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        try:
            el = etree.SubElement(self.stack[-1], tag)
        except ValueError:
            el = etree.SubElement(self.stack[-1], "x-invalid")
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
        node = etree.Comment(_XML_UNSAFE.sub("", text).replace("--", "- -"))
        self._add(node)
        self.last, self.tail = node, True

    def pi(self, target: str, data: str | None = None) -> None:
        self.comment("")

    def close(self) -> Element | None:
        return next((c for c in self.holder if type(c.tag) is str), None)


# --------------------------------------------------------------------------- bs4's text of an element


def context(el: Element) -> tuple[str | None, bool]:
    """Nearest text-container ancestor of ``el`` and whether whitespace is preserved there."""
    container, preserve = None, False
    for anc in el.iterancestors():
        tag = anc.tag
        if container is None and tag in CONTAINERS:
            container = tag
        preserve = preserve or tag in PRESERVE
    return container, preserve


def _strings(el: Element, above: str | None, preserve: bool) -> list[str]:
    """bs4's ``el.get_text()`` pieces: the strings under ``el`` whose nearest container is ``el``'s
    kind (``el`` itself if it is a container, none otherwise), in document order, iteratively."""
    want = el.tag if el.tag in CONTAINERS else None
    out: list[str] = []
    stack: list[tuple[Element | str, str | None, bool]] = [(el, above, preserve)]
    while stack:
        node, cont, pres = stack.pop()
        if isinstance(node, str):
            if cont == want:
                if not pres and not node.strip(_ASCII_SPACES):
                    node = "\n" if "\n" in node else " "
                out.append(node)
            continue
        tag = node.tag
        if tag in CONTAINERS:
            cont = tag
        pres = pres or tag in PRESERVE
        for child in reversed(node):
            if child.tail:
                stack.append((child.tail, cont, pres))
            if type(child.tag) is str:
                stack.append((child, cont, pres))
        if node.text:
            stack.append((node.text, cont, pres))
    return out


def text_len(el: Element, above: str | None, preserve: bool) -> int:
    """``len(tag.get_text())`` as bs4 computed it (``above``, ``preserve``: :func:`context` of ``el``)."""
    return sum(map(len, _strings(el, above, preserve)))


def stripped_text(el: Element) -> str:
    """``tag.get_text(" ", strip=True)`` as bs4 computed it."""
    return " ".join(s for s in (t.strip() for t in _strings(el, *context(el))) if s)
