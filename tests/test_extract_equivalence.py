"""The lxml path of extract_html selects what the bs4/soupsieve path selects, and sees bs4's text.

CSS goes through cssselect only for selectors it matches exactly as soupsieve does; the others fall
back to soupsieve on a bs4 soup. Here every selector is run both ways on pages written here and on the
shared real pages (skipped without ../shared), and the clauses must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.text import html as html_module
from tracker.text import select as select_module
from tracker.text.html import extract_html
from tracker.text.select import Page, SelectorMatchedNothing, select_all

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "html"

PAGE = """<html lang="en"><head><title> Policy <b>T</b> </title></head><body>
<div id="cookie-banner" class="cookie  banner">We use cookies. <button>OK</button></div>
<nav><a href="/">Home</a></nav>
<main id="content" class="doc main"><h1>Privacy</h1><p class="lead">We collect <b>data</b>.</p>
<ul><li>Name</li><li data-x="a-b">Email<ul><li>work</li></ul></li></ul>
<table><tr><th>Kind</th><td>Period</td></tr><tr><td>Logs</td><td>30 days</td></tr></table>
<p>Ruby <ruby>字<rt>zi</rt></ruby> and <!-- c --> comments.</p><pre>  kept
   spaces </pre><template><p>not part of the page</p></template>
<section class="x"><h2>Sharing</h2><p>We share with <a href="/p">partners</a>.</p></section>
<input type="TEXT" value="v"><p hidden>hidden</p></main>
<footer><p>Footer</p></footer></body></html>"""

SELECTORS = ["main", "p", ".lead", "#content", "main > p", "li li", "h1 + p", "h1 ~ p", "li:first-child",
             "li:nth-child(2)", "td:nth-of-type(2)", "p:not(.lead)", "[data-x]", "[data-x|=a]",
             "[class*=ai]", "[class^=doc]", "[id$=tent]", "section.x p", "p:has(b)", ":root",
             "[type=text]", "p:-soup-contains(share)", "template p", "li:only-child", "td:last-child"]


def clauses_of(html, select=(), remove=()):
    """Everything extract_html gives (or the error it raises), for comparing two code paths."""
    try:
        ex = extract_html(html, select=select, remove=remove)
    except (SelectorMatchedNothing, ValueError) as e:
        return type(e).__name__, str(e)
    return [(c.id, c.text, c.section, c.kind, c.context, c.metadata) for c in ex.clauses], ex.title, ex.lang


def with_and_without(module, attr, replacement, html, select=(), remove=()):
    """Clauses as extract_html runs, then with ``module.<attr>`` replaced (the slower reference path)."""
    usual = clauses_of(html, select, remove)
    original = getattr(module, attr)
    setattr(module, attr, replacement)
    try:
        reference = clauses_of(html, select, remove)
    finally:
        setattr(module, attr, original)
    return usual, reference


def both_ways(html, select=(), remove=()):
    """Clauses with cssselect where it applies, then with soupsieve for everything."""
    return with_and_without(select_module, "_xpath_for", lambda selector: None, html, select, remove)


def whole_and_selected(html, select=(), remove=()):
    """Clauses when the walker visits only the selected elements, and when it walks the whole body
    (no outermost selected elements to start from, as when the short cut does not apply)."""
    return with_and_without(html_module, "_selected_roots", lambda root, sel, rm: None, html, select, remove)


@pytest.mark.parametrize("selector", SELECTORS)
def test_selectors_match_as_soupsieve_does(selector):
    fast, slow = both_ways(PAGE, select=selector)
    assert fast == slow
    fast, slow = both_ways(PAGE, remove=selector)
    assert fast == slow


def test_translated_selectors_are_really_translated():
    """Guard against a vacuous comparison: the common selectors do take the cssselect path."""
    for selector in ("main", ".lead", "#content", "main > p", "li:nth-child(2)", "[data-x|=a]"):
        assert select_module._xpath_for(selector) is not None, selector
    for selector in ("p:has(b)", ":root", "[type=text]", "p:-soup-contains(x)", "p:nth-child(2 of .x)"):
        assert select_module._xpath_for(selector) is None, selector


def test_bs4_text_rules_are_kept():
    ex = extract_html(PAGE, select="main")
    text = " ".join(c.text for c in ex.clauses)
    assert "zi" not in text and "not part of the page" not in text and "Ruby 字 and comments." in text
    assert ex.title == "Policy <b>T</b>" and ex.lang == "en"  # <title> is raw text to libxml2
    assert "We use cookies" not in " ".join(c.text for c in extract_html(PAGE).clauses)


def test_deep_pages_keep_text_past_libxml2_tree_limit():
    html = "<body><h1>T</h1>" + "<div><span>" * 400 + "<p>deep</p>" + "</span></div>" * 400 + "<p>after</p></body>"
    texts = [c.text for c in extract_html(html).clauses]
    assert texts == ["T", "deep", "after"]
    fast, slow = both_ways(html, select="div > span > p")
    assert fast == slow and fast[0][0][1] == "deep"


def _shared_cases():
    if not SHARED.is_dir():
        return []
    cases = []
    for folder in sorted(p for p in SHARED.iterdir() if p.is_dir()):
        specs = []
        for decl in sorted(folder.glob("declaration*.json")):
            stack = [json.loads(decl.read_text())]
            while stack:
                obj = stack.pop()
                if isinstance(obj, dict):
                    if "select" in obj or "remove" in obj:
                        spec = (obj.get("select") or (), obj.get("remove") or ())
                        if spec not in specs:
                            specs.append(spec)
                    stack.extend(obj.values())
                elif isinstance(obj, list):
                    stack.extend(obj)
        cases += [(html, specs) for html in sorted(folder.glob("*.html"))]
    return cases


@pytest.mark.slow  # every page of ../shared, twice
@pytest.mark.parametrize("paths", [both_ways, whole_and_selected], ids=["css-engines", "walk-selection"])
def test_shared_pages_give_the_same_clauses_both_ways(paths):
    cases = _shared_cases()
    if not cases:
        pytest.skip("../shared not present")
    compared = 0
    for html_path, specs in cases:
        raw = html_path.read_bytes()
        for select, remove in specs:
            usual, reference = paths(raw, select, remove)
            assert usual == reference, (html_path.name, select, remove)
            compared += isinstance(usual[0], list)
    assert compared >= 20


# --------------------------------------------------------------------------- walking only the selection


INLINE_AND_NESTED = """<html><body><div class="doc"><p>Lead <span class="s">one</span><span class="s">two</span></p>
<ul><li>Intro list:<div class="inner"><p>in a list</p></div></li></ul><main><p>m</p><main><p>nested</p></main></main>
<b><div class="inner">bold above</div></b><table><tr><td><div class="inner">cell</div></td></tr></table></div>
<div class="x"><h2>H</h2><p>under h</p></div></body></html>"""


@pytest.mark.parametrize("selector", SELECTORS + ["span.s", ".inner", "main", "div.x", "div.x, main", "body"])
def test_walking_only_the_selection_gives_the_same_clauses(selector):
    for page in (PAGE, INLINE_AND_NESTED):
        selected, whole = whole_and_selected(page, select=selector)
        assert selected == whole, (selector, page[:40])
        selected, whole = whole_and_selected(page, select=selector, remove="footer, .lead")
        assert selected == whole


def test_only_safe_selections_skip_the_rest_of_the_page():
    """Guard against a vacuous comparison: the short cut is taken where it is safe, and only there."""
    def roots(html, selector):
        page = Page(html)
        sel, _ = select_all(page, [selector])
        return html_module._selected_roots(page.root, sel, set())

    assert [e.tag for e in roots(PAGE, "main")] == ["main"]
    assert [e.tag for e in roots(INLINE_AND_NESTED, "main")] == ["main"]  # the nested one is covered
    assert [e.get("class") for e in roots(INLINE_AND_NESTED, "div.x, div.doc")] == ["doc", "x"]
    for selector in ("span.s", ".inner", "li li"):  # inline, or below a list, bold text or a table
        assert roots(INLINE_AND_NESTED if selector != "li li" else PAGE, selector) is None, selector
