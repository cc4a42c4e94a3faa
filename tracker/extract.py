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

import re
from collections.abc import Iterable
from pathlib import Path

from tracker.errors import TrackerError
from tracker.models import Clause, Extracted
from tracker.normalise import clause_id, is_metadata, normalise


class SelectorMatchedNothing(ValueError):
    """The declared ``select`` matched nothing: the page changed shape (or is an error page)."""


# --------------------------------------------------------------------------- clauses

_WS = re.compile(r"\s+")
PSEUDO_HEADING_LEVEL = 7  # a short bold-only paragraph: below every real heading


def make_clause(text: str, section: tuple[str, ...], kind: str, context: str = "") -> Clause | None:
    """One clause from faithful text; None when nothing comparable is left (a lone "|" or "*")."""
    text = _WS.sub(" ", text).strip()
    if not text:
        return None
    norm = normalise(text)
    if not any(ch.isalnum() for ch in norm):
        return None
    return Clause(id=clause_id(norm), text=text, norm=norm, section=section, kind=kind,
                  metadata=is_metadata(norm), context=context)


class _Sections:
    """The heading path: a stack of (level, text)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []

    def push(self, level: int, text: str) -> tuple[str, ...]:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.stack)


def _looks_like_heading(text: str, bold_only: bool) -> bool:
    """Short bold-only paragraphs act as headings on many policy pages."""
    if not bold_only:
        return False
    text = text.strip()
    return 0 < len(text) <= 100 and len(text.split()) <= 12 and not text.endswith((":", ","))


# --------------------------------------------------------------------------- HTML

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


def _attr_text(tag) -> str:
    cls = tag.get("class") or ()
    return " ".join((tag.get("id") or "", " ".join(cls) if isinstance(cls, list) else str(cls)))


def _is_noise(tag) -> bool:
    """Boilerplate to drop when the declaration does not say what to keep."""
    name = tag.name
    if name in _AUTO_SKIP:
        return True
    attrs = tag.attrs
    if not attrs:
        return False
    if "hidden" in attrs or _HIDDEN_STYLE.search(attrs.get("style") or ""):
        return True
    role = (attrs.get("role") or "").lower()
    if role in ("navigation", "banner", "contentinfo", "dialog", "alertdialog", "search", "complementary"):
        return True
    if attrs.get("aria-modal") == "true":
        return True
    if (attrs.get("id") or attrs.get("class")) and _NOISE_RE.search(_attr_text(tag)):
        # A cookie *policy* section is content; a banner is short. Keep long blocks.
        return len(tag.get_text()) < 2500
    return attrs.get("aria-hidden") == "true" and len(tag.get_text()) < 200


def _cf_email(hexstr: str) -> str:
    """Cloudflare's e-mail protection (data-cfemail): XOR with the first byte."""
    try:
        data = bytes.fromhex(hexstr)
        return bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        return ""


def _select(soup, selector: str) -> list:
    try:
        return soup.select(selector)
    except Exception as e:  # soupsieve.SelectorSyntaxError and friends
        raise ValueError(f"bad CSS selector {selector!r}: {str(e).splitlines()[0]}") from e


def _select_one(soup, selector: str | None):
    if not selector:
        return None
    found = _select(soup, selector)
    return found[0] if found else None


class _Range:
    """An OTA range: content between a start and an end element, in document order."""

    def __init__(self, soup, spec: dict) -> None:
        bad = set(spec) - {"startBefore", "startAfter", "endBefore", "endAfter"}
        if bad or not (spec.get("startBefore") or spec.get("startAfter")):
            raise ValueError(f"bad range selector {spec!r}: needs startBefore or startAfter "
                             "and endBefore or endAfter")
        self.start_before = _select_one(soup, spec.get("startBefore"))
        self.start_after = _select_one(soup, spec.get("startAfter"))
        self.end_before = _select_one(soup, spec.get("endBefore"))
        self.end_after = _select_one(soup, spec.get("endAfter"))
        self.found = self.start_before is not None or self.start_after is not None
        self.active = False
        self.done = False

    def enter(self, tag) -> None:
        if tag is self.start_before and not self.done:
            self.active = True
        if tag is self.end_before and self.active:
            self.active, self.done = False, True

    def leave(self, tag) -> None:
        if tag is self.start_after and not self.done:
            self.active = True
        if tag is self.end_after and self.active:
            self.active, self.done = False, True


def _compile(soup, specs: Iterable) -> tuple[set[int], list[_Range]]:
    ids: set[int] = set()
    ranges: list[_Range] = []
    for spec in specs:
        if isinstance(spec, dict):
            ranges.append(_Range(soup, spec))
        elif isinstance(spec, str) and spec.strip():
            ids.update(id(el) for el in _select(soup, spec))
        else:
            raise ValueError(f"bad selector {spec!r}: expected CSS text or a range object")
    return ids, ranges


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str | dict):
        return [value]
    return list(value)


def _pick_main(soup, body):
    """Without a declared selector: the page's own <main>/role=main, or a dominant <article>."""
    mains = soup.find_all("main") or soup.find_all(attrs={"role": "main"})
    mains = [m for m in mains if len(m.get_text(" ", strip=True)) > 200]
    if mains:
        return mains
    articles = soup.find_all("article")
    if articles:
        total = len(body.get_text(" ", strip=True)) or 1
        best = max(articles, key=lambda a: len(a.get_text(" ", strip=True)))
        if len(best.get_text(" ", strip=True)) >= 0.5 * total:
            return [best]
    return [body]


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
        self.layout_tables: set[int] = set()
        self.tables: list[int] = []  # ids of open tables
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
        text = _WS.sub(" ", raw).strip()
        if not text:
            return
        kind, level = self._owner()
        if kind == "paragraph" and _looks_like_heading(text, bold_only):
            kind, level = "heading", PSEUDO_HEADING_LEVEL
        if kind == "heading":
            section = self.sections.push(level, text)
            clause = make_clause(text, section, "heading")
        else:
            context = self.lists[-1] if kind == "list-item" and self.lists else ""
            clause = make_clause(text, self.sections.path, kind, context)
        if clause is not None:
            self.clauses.append(clause)

    def enter_block(self, name: str, tag) -> None:
        if self.table_rows and name != "tr":
            if name in ("td", "th") and "".join(self.buf).strip():
                self.buf.append(" | ")
            else:
                self.buf.append(" ")
            return
        if name == "table" and tag.find(["table", "h1", "h2", "h3", "h4", "h5", "h6"]) is not None:
            self.layout_tables.add(id(tag))  # a page laid out in a table: its cells are blocks
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
    from bs4 import BeautifulSoup, CData, NavigableString

    soup = BeautifulSoup(html, "lxml")
    html_tag = soup.find("html")
    page_lang = lang or ((html_tag.get("lang") or None) if html_tag is not None else None)
    title = soup.title.get_text(" ", strip=True) if soup.title is not None else None
    body = soup.body or soup

    select, remove = _as_list(select), _as_list(remove)
    sel_ids, sel_ranges = _compile(soup, select)
    rm_ids, rm_ranges = _compile(soup, remove)
    if select and not sel_ids and not any(r.found for r in sel_ranges):
        raise SelectorMatchedNothing(f"select {select!r} matched nothing")
    auto = not select
    roots = _pick_main(soup, body) if auto else [body]

    w = _Walker(auto)
    ranges = sel_ranges + rm_ranges
    sel_depth = 0
    for root in roots:
        # Each stack entry: a node to enter, or a ("leave", tag, flags) marker.
        stack: list = [root]
        while stack:
            node = stack.pop()
            if type(node) is tuple:
                _, tag, name, selected, is_block, is_bold, is_content = node
                for r in ranges:
                    r.leave(tag)
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
                continue
            if isinstance(node, NavigableString):
                if type(node) is NavigableString or type(node) is CData:
                    if (auto or sel_depth or any(r.active for r in sel_ranges)) \
                            and not any(r.active for r in rm_ranges):
                        w.text(str(node))
                continue
            name = node.name
            if name in _ALWAYS_SKIP or id(node) in rm_ids:
                continue
            for r in ranges:
                r.enter(node)
            if auto and node is not root and name not in ("main", "article"):
                if _is_noise(node) and not (w.content and name in ("header", "footer")):
                    continue
            if name == "br":
                w.text("\n")
                continue
            cf = node.get("data-cfemail")
            if cf:
                w.text(_cf_email(cf))
                continue
            selected = id(node) in sel_ids
            if selected:
                sel_depth += 1
            is_block = name in _BLOCKS or (node.get("role") == "heading")
            if node.get("role") == "heading" and name not in _HEADINGS:
                lvl = str(node.get("aria-level") or "2")
                name = f"h{lvl}" if f"h{lvl}" in _HEADINGS else "h2"
            is_bold = name in _BOLD
            is_content = name in ("main", "article")
            if name == "table":
                w.tables.append(id(node))
            if is_block:
                w.enter_block(name, node)
            if is_bold:
                w.bold += 1
            if is_content:
                w.content += 1
            stack.append(("leave", node, name, selected, is_block, is_bold, is_content))
            stack.extend(reversed(node.contents))
        w.flush()
    return Extracted(clauses=w.clauses, title=title, lang=page_lang)


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
            t = _WS.sub(" ", t).strip()
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
                row.append(_WS.sub(" ", plain).strip())
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
