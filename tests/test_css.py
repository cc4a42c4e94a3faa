"""tracker.text.css: the cheap path for simple selectors must agree with soupsieve, the reference."""

from __future__ import annotations

import itertools

import pytest
import soupsieve
from bs4 import BeautifulSoup

from tracker.text import css
from tracker.text.select import Page

PAGE = """<html><body><header class="top">h</header>
<main id="content" class="policy main-body"><h2 class="t">A</h2><p class="x y">one</p>
<div class="box"><p>two</p><span class="x">three</span><p id="last">four</p></div></main>
<footer><p class="x">f</p></footer></body></html>"""

SIMPLE = ["main", "main > .x", "#content p", "div.box > p", "p.x.y", "*", "h2 + p", "h2 ~ div",
          "main, footer", "  main  ", "DIV.box", "div .x", "main>div>p", "header.top,footer p", "section"]
NOT_SIMPLE = ["main >", ", p", "a >> b", "#1a", ".a:hover", "[role=main]", "main,", "--x", "p:has(span)",
              "div.", "a::before", "p:contains(x)", ".é", "main\\.x", ""]


@pytest.mark.parametrize("selector", SIMPLE)
def test_simple_selectors_are_valid_and_match_like_soupsieve(selector: str) -> None:
    assert css.is_simple(selector)
    assert css.check(selector) == selector.strip()
    soupsieve.compile(selector)  # the reference accepts it
    ours = [(e.tag, e.get("id"), e.get("class")) for e in Page(PAGE).select(selector)]
    ref = [(t.name, t.get("id"), " ".join(t["class"]) if t.get("class") else None)
           for t in BeautifulSoup(PAGE, "lxml").select(selector)]
    assert ours == ref
    assert ours or selector == "section"  # the one selector that matches nothing on PAGE


@pytest.mark.parametrize("selector", NOT_SIMPLE)
def test_everything_else_goes_to_soupsieve(selector: str) -> None:
    assert not css.is_simple(selector)
    try:
        soupsieve.compile(selector)
        valid = True
    except Exception:
        valid = False
    if valid:
        assert css.check(selector) == selector.strip()
    else:
        with pytest.raises(ValueError, match="bad CSS selector"):
            css.check(selector)


def test_generated_simple_selectors_are_all_valid_for_soupsieve() -> None:
    parts = ["main", "p", ".x", "#id", "div.a", "*", "-t", "a_b"]
    seps = [" ", " > ", "+", " ~ ", ", "]
    seen = 0
    for a, sep, b in itertools.product(parts, seps, parts):
        sel = f"{a}{sep}{b}"
        assert css.is_simple(sel), sel
        soupsieve.compile(sel)
        seen += 1
    assert seen == len(parts) ** 2 * len(seps)


def test_a_check_of_simple_selectors_does_not_load_soupsieve(tmp_path) -> None:
    import subprocess
    import sys

    code = ("import sys; from tracker.text import css; css.check('main > .content'); "
            "from tracker.sources.declarations import check_selectors; check_selectors(['main', '#x p']); "
            "print('soupsieve' in sys.modules, 'bs4' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
