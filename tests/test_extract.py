"""Extraction: structure, boilerplate removal, selectors (CSS and OTA ranges), hostile input."""

from __future__ import annotations

import pytest

from tracker.errors import TrackerError
from tracker.text.html import extract_html
from tracker.text.markdown import extract_markdown
from tracker.text.normalise import clause_id, is_metadata, normalise
from tracker.text.plain import extract_file, extract_text
from tracker.text.select import SelectorMatchedNothing

PAGE = """<html lang="en"><head><title>Privacy</title><style>p{}</style></head><body>
<nav><a href="/">Home</a> <a href="/jobs">Careers</a></nav>
<div id="onetrust-banner-sdk">We use cookies to improve your experience. <button>Accept all</button></div>
<header><p>Sign in to continue</p></header>
<main>
 <h1>Privacy Policy</h1>
 <p><strong>Last updated: March 3, 2024</strong></p>
 <h2>How we use information</h2>
 <p>We use the information we collect as follows:</p>
 <ul><li>To provide the service.</li>
     <li>To train models:<ul><li>only with your consent.</li></ul></li></ul>
 <h3>Training</h3>
 <p>We may use <a href="https://x.example/a?utm_source=feed">public posts</a> to train AI.</p>
 <table><tr><th>Category</th><th>Purpose</th></tr><tr><td><p>Email</p></td><td>Login</td></tr></table>
 <dl><dt>Controller</dt><dd>Example Inc.</dd></dl>
 <p hidden>Hidden text</p><p style="display: none">Also hidden</p>
 <script>var tracking = 1;</script>
</main>
<footer>© 2024 Example · Terms · Cookie settings</footer>
</body></html>"""


def texts(ex):
    return [c.text for c in ex.clauses]


def test_structure_sections_and_kinds():
    ex = extract_html(PAGE)
    by_text = {c.text: c for c in ex.clauses}
    assert ex.lang == "en" and ex.title == "Privacy"
    h = by_text["Training"]
    assert h.kind == "heading" and h.section == ("Privacy Policy", "How we use information", "Training")
    p = by_text["We may use public posts to train AI."]
    assert p.section_path == "Privacy Policy > How we use information > Training"
    assert by_text["To provide the service."].kind == "list-item"
    assert by_text["To provide the service."].context == "We use the information we collect as follows:"
    assert by_text["only with your consent."].context == "To train models:"
    assert by_text["Email | Login"].kind == "table-row"
    assert by_text["Controller"].kind == "definition" and by_text["Example Inc."].kind == "definition"
    assert by_text["Last updated: March 3, 2024"].metadata


def test_boilerplate_dropped_without_select():
    joined = " ".join(texts(extract_html(PAGE)))
    for junk in ("Careers", "cookies", "Accept all", "Sign in", "©", "Hidden text", "Also hidden", "tracking"):
        assert junk not in joined


def test_select_and_remove_css():
    ex = extract_html(PAGE, select=["main"], remove=["table", "dl"])
    joined = " ".join(texts(ex))
    assert "We may use public posts to train AI." in joined
    assert "Email" not in joined and "Controller" not in joined and "Careers" not in joined


def test_select_range_objects():
    ex = extract_html(PAGE, select=[{"startBefore": "h3", "endBefore": "table"}])
    assert texts(ex) == ["Training", "We may use public posts to train AI."]
    ex = extract_html(PAGE, select=[{"startAfter": "h3", "endAfter": "table"}])
    assert texts(ex) == ["We may use public posts to train AI.", "Category | Purpose", "Email | Login"]
    ex = extract_html(PAGE, select="main", remove=[{"startBefore": "h2", "endBefore": "h3"}])
    assert "To provide the service." not in texts(ex) and "Training" in texts(ex)


def test_select_matching_nothing_raises():
    with pytest.raises(SelectorMatchedNothing):
        extract_html(PAGE, select=".no-such-thing")
    with pytest.raises(SelectorMatchedNothing):
        extract_html(PAGE, select=[{"startBefore": "#nope", "endBefore": "table"}])
    assert issubclass(SelectorMatchedNothing, ValueError)


def test_deep_nesting_does_not_crash():
    html = "<html><body><main><h1>T</h1>" + "<div>" * 10000 + "<p>deep clause text</p>" + "</div>" * 10000
    html += "</main></body></html>"
    assert "deep clause text" in texts(extract_html(html))
    assert texts(extract_html(html, select="p")) == ["deep clause text"]


def test_bytes_with_meta_charset_and_cloudflare_email():
    html = ('<html><head><meta charset="windows-1252"></head><body><p>We’ll write to '
            '<a data-cfemail="4f3f3d26392e2c360f2a372e223f232a612c2022">[email protected]</a></p></body></html>')
    ex = extract_html(html.encode("cp1252"))
    assert texts(ex) == ["We’ll write to privacy@example.com"]


def test_bold_only_short_paragraph_is_a_heading():
    ex = extract_html("<body><p><b>Biometric data</b></p><p>We collect face geometry.</p></body>")
    assert ex.clauses[0].kind == "heading"
    assert ex.clauses[1].section == ("Biometric data",)


def test_markdown_same_structure():
    md = """# Privacy Policy

**Effective: May 18, 2023**

## 1. Information we collect

We collect **your** [data](https://example.com/data?utm_source=x).

* Email
* Phone

| Category | Purpose |
|---|---|
| Email | Login |
"""
    ex = extract_markdown(md)
    kinds = [(c.kind, c.text) for c in ex.clauses]
    assert ("paragraph", "We collect your data.") in kinds
    assert ("list-item", "Email") in kinds
    assert ("table-row", "Email | Login") in kinds
    assert ex.clauses[1].metadata
    heading = next(c for c in ex.clauses if c.text == "1. Information we collect")
    assert heading.kind == "heading" and heading.section == ("Privacy Policy", "1. Information we collect")
    assert ex.title == "Privacy Policy"


def test_plain_text():
    ex = extract_text("PRIVACY POLICY\n\nWe collect data\nabout you as follows:\n- email\n- phone\n\n"
                      "Last updated: 1 May 2024\n")
    assert [(c.kind, c.text) for c in ex.clauses] == [
        ("heading", "PRIVACY POLICY"),
        ("paragraph", "We collect data about you as follows:"),
        ("list-item", "email"), ("list-item", "phone"),
        ("paragraph", "Last updated: 1 May 2024")]
    assert ex.clauses[2].context == "We collect data about you as follows:"
    assert ex.clauses[-1].metadata


def test_extract_file_errors(tmp_path):
    with pytest.raises(TrackerError, match="no such file"):
        extract_file(tmp_path / "missing.html")
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(TrackerError, match="unknown file type"):
        extract_file(tmp_path / "a.pdf")
    (tmp_path / "a.md").write_text("Hello world.", encoding="utf-8")
    assert texts(extract_file(tmp_path / "a.md")) == ["Hello world."]


@pytest.mark.parametrize("a,b", [
    ("It’s “great” — really", "It's \"great\" - really"),
    ("We  collect\u00a0data .", "We collect data."),
    ("**Bold** and [a link](https://a.example/x)", "Bold and a link"),
    ("see https://a.example/p?utm_source=x&id=3", "see https://a.example/p?id=3"),
    ("write to privacy [at] example [dot] com", "write to privacy@example.com"),
    ("It\u00e2\u20ac\u2122s fine", "It’s fine"),
    ("3.1 When you post", "When you post"),
    ("Caf\u0065\u0301", "Caf\u00e9"),
])
def test_normalise_equates_cosmetic_variants(a, b):
    assert normalise(a) == normalise(b)
    assert clause_id(normalise(a)) == clause_id(normalise(b))


@pytest.mark.parametrize("a,b", [
    ("We may share your data.", "We may not share your data."),
    ("We use data to train AI models.", "We use data to train language models."),
    ("see https://a.example/p?id=3", "see https://a.example/p?id=4"),
])
def test_normalise_keeps_real_differences(a, b):
    assert normalise(a) != normalise(b)


def test_metadata_lines():
    assert is_metadata(normalise("Last updated: 16th February 2024"))
    assert is_metadata(normalise("Effective July 1, 2025 | Archived versions | Download PDF"))
    assert is_metadata(normalise("Date d'effet : 10 juin 2022"))
    assert not is_metadata(normalise("Effective January 1, 2024, we will begin using your data to train AI."))
    assert not is_metadata(normalise("We updated our practices."))


def test_the_short_cut_of_normalise_agrees_with_every_step():
    """normalise() skips its regexes for plain ASCII text; on any text it must equal the full path."""
    import random

    from tracker.text.normalise import _normalise_full, _plain

    rng = random.Random(7)
    pieces = ["We", " may", " share", " data", ".", ",", " ", "  ", "(", ")", "[", "]", "{at}", " at ", " dot ",
              "@", "http://a.example/x?utm_source=y", "*", "_", "#", "`", "\t", "\n", "1. ", "(a) ", " ,", " )",
              "( ", "Last updated", " 2024", "DOT", "(AT)", "ex", "~", "\\", "<", ">", "’", "\u00a0"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(20000)]
    texts += ["We share your data with partners.", "3.1 When you post", "iv. Retention", "  padded  text "]
    plain = 0
    for text in texts:
        assert normalise(text) == _normalise_full(text), repr(text)
        plain += text.isascii() and _plain(text)
    assert plain > 1000  # the short cut is really taken


def test_every_extracted_clause_id_is_the_hash_of_its_norm():
    """codec.pack_extracted relies on it (it does not hash each clause a second time)."""
    from pages import policy_html

    from tracker.store.codec import decode_clauses, encode_clauses

    extracted = [extract_html(policy_html()), extract_markdown("# T\n\n1. One *thing*.\n\n- [a](http://x)\n"),
                 extract_text("Title\n\nA paragraph.\n")]
    for ex in extracted:
        assert ex.clauses and all(c.id == clause_id(c.norm) for c in ex.clauses)
        assert decode_clauses(encode_clauses(ex.clauses, ids_derived=True)) == ex.clauses
