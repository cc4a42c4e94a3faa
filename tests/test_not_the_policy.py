"""Pages that are not the policy are never recorded as versions (issue 19): real `check` runs against a
local server that first serves the policy, then what a real site may serve instead of it."""

from __future__ import annotations

import sqlite3

import feedparser
import notpolicy
import pytest
from werkzeug import Response


class Site:
    """One URL whose answer the test changes: a page, or a redirect."""

    def __init__(self, httpserver) -> None:
        self.body = notpolicy.policy()
        self.location: str | None = None
        httpserver.expect_request("/privacy").respond_with_handler(self.handle)
        httpserver.expect_request("/login").respond_with_handler(
            lambda r: Response(notpolicy.login_page(), content_type="text/html; charset=utf-8"))
        self.url = httpserver.url_for("/privacy")
        self.port = httpserver.port

    def handle(self, request) -> Response:
        if self.location:
            return Response(status=302, headers={"Location": self.location})
        return Response(self.body, content_type="text/html; charset=utf-8")


@pytest.fixture
def site(httpserver) -> Site:
    return Site(httpserver)


def check(ws) -> dict:
    r = ws.run("check", "--json")
    [line] = r.json_lines()
    assert r.code == (3 if line["state"] == "failed" else 0), (r.code, r.err)
    assert "Traceback" not in r.err
    return line


def stored(ws) -> tuple[int, int]:
    db = sqlite3.connect(ws.db)
    return (db.execute("SELECT COUNT(*) FROM versions").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM changes").fetchone()[0])


def feed_entries(ws) -> int:
    return len(feedparser.parse(str(ws.feeds / "all.atom")).entries)


def refused(ws, site, reason: str, *needles: str) -> dict:
    """The capture fails with ``reason``; no version, no change, no feed entry; and when the policy
    comes back, nothing changed either (no "removed" then "added" pair)."""
    assert check(ws)["state"] == "new"
    before = stored(ws), feed_entries(ws)
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == reason, out
    for n in needles:
        assert n in out["error"], out["error"]
    assert (stored(ws), feed_entries(ws)) == before
    text = ws.run("list").out
    assert "failed" in text or reason in text
    site.body, site.location = notpolicy.policy(), None
    assert check(ws)["state"] == "unchanged"
    assert (stored(ws), feed_entries(ws)) == before
    return out


def test_a_consent_wall_instead_of_the_policy_is_refused(ws, site) -> None:
    ws.declare("Example", site.url)
    site_body = notpolicy.consent_wall()
    assert check(ws)["state"] == "new"
    site.body = site_body
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "consent-wall", out
    assert "'Agree'" in out["error"]
    assert stored(ws) == (1, 0)


def test_a_consent_wall_is_refused_on_a_first_check_too(ws, site) -> None:
    site.body = notpolicy.consent_wall()
    ws.declare("Example", site.url)
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "consent-wall"
    assert stored(ws) == (0, 0)


def test_a_redirect_to_another_sites_login_page_is_refused(ws, site) -> None:
    ws.declare("Example", site.url)
    site_location = f"http://127.0.0.1:{site.port}/login?continue=/privacy"  # the server is "localhost"
    assert check(ws)["state"] == "new"
    site.location = site_location
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "redirected", out
    assert "127.0.0.1" in out["error"] and "declare its new url" in out["error"]
    assert stored(ws) == (1, 0)
    site.location = None
    assert check(ws)["state"] == "unchanged"


def test_a_long_sign_in_page_on_the_same_site_is_refused(ws, site) -> None:
    ws.declare("Example", site.url)
    site.body = notpolicy.policy()
    assert check(ws)["state"] == "new"
    site.body = notpolicy.login_page(long=True)
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "login-page", out
    assert stored(ws) == (1, 0)


def test_another_language_than_declared_is_refused(ws, site) -> None:
    ws.declare("Example", site.url, lang="en")
    assert check(ws)["state"] == "new"
    site.body = notpolicy.german_policy()
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "language", out
    assert "German" in out["error"] and "lang = 'en'" in out["error"]
    assert stored(ws) == (1, 0)
    site.body = notpolicy.policy()
    assert check(ws)["state"] == "unchanged"
    assert feed_entries(ws) == 1 or stored(ws) == (1, 0)


def test_another_language_than_the_stored_versions_is_refused(ws, site) -> None:
    """No lang declared: the stored versions' language is the reference."""
    ws.declare("Example", site.url)
    assert check(ws)["state"] == "new"
    site.body = notpolicy.german_policy()
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "language", out
    assert "stored versions are in 'en'" in out["error"]
    assert stored(ws) == (1, 0)


def test_a_wrong_html_lang_alone_refuses_nothing(ws, site) -> None:
    """The English text with a page that says lang="de": the text decides, not the tag."""
    ws.declare("Example", site.url, lang="en")
    site.body = notpolicy.policy().replace('<html lang="en">', '<html lang="de">')
    assert check(ws)["state"] == "new"


def test_half_the_page_with_its_closing_tags_is_refused(ws, site) -> None:
    ws.declare("Example", site.url)
    assert check(ws)["state"] == "new"
    site.body = notpolicy.half_policy()
    assert site.body.rstrip().endswith("</body></html>")
    out = check(ws)
    assert out["state"] == "failed" and out["reason"] == "truncated", out
    assert "cut short" in out["error"]
    assert stored(ws) == (1, 0)
    site.body = notpolicy.policy()
    assert check(ws)["state"] == "unchanged"


def test_a_real_change_still_goes_through(ws, site) -> None:
    """The guards refuse nothing of an ordinary change: one clause added, one section removed."""
    ws.declare("Example", site.url, lang="en")
    assert check(ws)["state"] == "new"
    site.body = notpolicy.policy("We may use the content you share to train our artificial intelligence models.")
    out = check(ws)
    assert out["state"] == "changed" and "ai-training" in out["tags"], out
    assert stored(ws) == (2, 1)


def test_a_policy_page_with_a_cookie_banner_and_a_login_box_is_the_policy(ws, site) -> None:
    banner = ('<div class="notice"><p>We use cookies to improve your experience.</p><button>Accept all</button>'
              '<button>Reject all</button></div><form class="mini-login"><input type="password" name="p"></form>')
    site.body = notpolicy.policy().replace("<main", banner + "<main")
    ws.declare("Example", site.url)
    assert check(ws)["state"] == "new"


def test_dry_run_names_what_the_page_is(ws, site) -> None:
    site.body = notpolicy.consent_wall()
    ws.declare("Example", site.url)
    r = ws.run("check", "--dry-run")
    assert "consent-wall" in r.out and "Traceback" not in r.err


def test_a_pathological_selector_on_a_large_page_is_answered(ws, httpserver) -> None:
    """`div ~ div ~ ...` (20 steps) on a page of 8,000 elements ran for minutes through libxml2's XPath;
    each combinator is now one pass over the page (the subprocess timeout is the only clock here)."""
    blocks = "".join(f"<div><p>Clause {i} of the policy, kept as it is.</p></div>" for i in range(4000))
    httpserver.expect_request("/privacy").respond_with_data(
        f'<html lang="en"><body><main>{blocks}</main></body></html>', content_type="text/html")
    ws.declare("Example", httpserver.url_for("/privacy"), select=[" ~ ".join(["div"] * 20)])
    r = ws.run("check", "--json", timeout=60)
    [out] = r.json_lines()
    assert out["state"] == "new", out
    text = ws.run("show", "Example").out
    assert "Clause 19 of" in text and "Clause 3999 of" in text and "Clause 18 of" not in text


def test_a_pathological_selector_soupsieve_must_match_is_answered_too(ws, httpserver) -> None:
    """A selector only soupsieve reads (`:has`), 20 steps, matching nothing on 8,000 elements: soupsieve
    backtracks through every combinator from every element (and the check for "simple" selectors,
    one regular expression, backtracked exponentially on it); each compound is matched on its own now."""
    blocks = "".join(f"<div><p>Clause {i} of the policy, kept as it is.</p></div>" for i in range(4000))
    httpserver.expect_request("/privacy").respond_with_data(
        f'<html lang="en"><body><main>{blocks}</main></body></html>', content_type="text/html")
    selector = "section ~ " + " ~ ".join(["div"] * 19) + ":has(p)"
    ws.declare("Example", httpserver.url_for("/privacy"), select=[selector])
    assert ws.run("validate", timeout=60).code == 0
    r = ws.run("check", "--json", timeout=60)
    [out] = r.json_lines()
    assert out["state"] == "failed" and out["reason"] == "selector-matched-nothing", out


def test_split_selectors_match_as_soupsieve_does() -> None:
    """The compounds-and-combinators evaluation gives soupsieve's own answer on selectors it must read."""
    from bs4 import BeautifulSoup

    from tracker.text.select import Page

    html = ("<html><body><main><h2 id=a>A</h2><p class=x>1</p><div><p>2</p><span>3</span></div><p>4</p>"
            "<section><div><p class=x>5</p></div><p>6</p></section><p>7</p></main></body></html>")
    page, soup = Page(html), BeautifulSoup(html, "lxml")
    for sel in ("div:has(p) ~ p", "main > :is(p, div) + p", "section p:has(+ p), h2 ~ p.x", "main p:not(.x) ~ p",
                "div:has(span) > p", "section:has(p) p", "h2:has(+ p) ~ section div > p"):
        got = [e.text for e in page.select(sel)]
        want = [t.get_text() for t in soup.select(sel)]
        assert got == want, (sel, got, want)
