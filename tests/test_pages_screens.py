"""Issue 17, "Pages for every screen": the index, a change page and the report, in headless Chromium,
are readable on a phone (390 px: nothing wider than the screen, no tiny text), follow the system's
dark mode, and print without their navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from feeddata import demo_store
from helpers import CHROMIUM, Workspace, measure

PAGES = ("index.html", "changes/chirpline-privacy-policy-v2.html", "report.html")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    ws = Workspace(tmp_path_factory.mktemp("screens"))
    demo_store(ws.db).close()
    assert ws.run("feeds").code == 0
    r = ws.run("report", "--format", "html", "-o", str(ws.feeds / "report.html"))
    assert r.code == 0, r.err
    return ws.feeds


# The widest element and the smallest font of any element with text of its own.
FIT = ("var w=0,f=99,n='',vw=innerWidth;document.querySelectorAll('body *').forEach(e=>{var r=e.getBoundingClientRect();"
       "if(r.right>w){w=r.right;n=e.tagName}if([...e.childNodes].some(c=>c.nodeType==3&&c.textContent.trim())"
       "&&r.width>0){f=Math.min(f,parseFloat(getComputedStyle(e).fontSize))}});"
       "parent.document.body.dataset.m=[Math.round(document.documentElement.scrollWidth),Math.round(w),f,n,vw].join(' ');")


@pytest.mark.parametrize("name", PAGES)
def test_a_phone_screen_needs_no_sideways_scrolling(site: Path, tmp_path: Path, name: str) -> None:
    scroll, widest, smallest, tag, viewport = measure(site / name, tmp_path, 390, FIT).split()
    assert viewport == "390"
    assert int(scroll) <= 390 and int(widest) <= 390, (name, scroll, widest, tag)
    assert float(smallest) >= 11, (name, smallest)  # the smallest print (dates, small notes) stays legible
    scroll, widest, _, _, _ = measure(site / name, tmp_path, 1280, FIT).split()
    assert int(scroll) <= 1280, (name, scroll)


COLOURS = ("var c=s=>getComputedStyle(s).color.match(/[\\d.]+/g).map(Number),"
           "b=getComputedStyle(document.body).backgroundColor,h=getComputedStyle(document.documentElement)"
           ".backgroundColor,bg=(b.startsWith('rgba(0, 0, 0, 0')?h:b).match(/[\\d.]+/g).map(Number);"
           "var L=x=>(0.2126*x[0]+0.7152*x[1]+0.0722*x[2])/255;"
           "parent.document.body.dataset.m=L(bg).toFixed(2)+' '+L(c(document.body)).toFixed(2)+' '"
           "+(bg.length>3?bg[3]:1);")


@pytest.mark.parametrize("name", PAGES)
def test_pages_follow_the_systems_dark_mode(site: Path, tmp_path: Path, name: str) -> None:
    light_bg, light_fg, _ = map(float, measure(site / name, tmp_path, 1280, COLOURS).split())
    dark_bg, dark_fg, alpha = map(float, measure(site / name, tmp_path, 1280, COLOURS, "--force-dark-mode").split())
    assert light_bg > 0.8 and light_fg < 0.3, (name, light_bg, light_fg)
    assert alpha == 1 and dark_bg < 0.2 and dark_fg > 0.7, (name, dark_bg, dark_fg)


# Elements hidden by the page's own print rules, and the visible text they hold on screen.
PRINT = ("var hidden=[],wide=0;for(var s of document.styleSheets)for(var r of s.cssRules)"
         "if(r.media&&[...r.media].includes('print'))for(var x of r.cssRules){"
         "if(x.style&&x.style.display=='none')document.querySelectorAll(x.selectorText).forEach(e=>hidden.push(e));"
         "if(x.selectorText=='body'&&x.style.maxWidth=='none')wide=1}"
         "parent.document.body.dataset.m=JSON.stringify([hidden.map(e=>e.tagName+'.'+e.className),"
         "[...document.querySelectorAll('nav')].length,wide]);")


@pytest.mark.parametrize("name", PAGES)
def test_pages_print_without_their_navigation_at_full_width(site: Path, tmp_path: Path, name: str) -> None:
    import json

    hidden, navs, wide = json.loads(measure(site / name, tmp_path, 1280, PRINT))
    assert wide == 1, name  # the text uses the paper's width
    assert len([h for h in hidden if h.startswith("NAV")]) == navs, (name, hidden, navs)  # every nav, if any
    if name.startswith("changes/"):  # a change page's links to the previous and next change and to the feeds
        assert navs >= 1, name
