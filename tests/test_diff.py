"""Clause diff on hand-built documents: kinds, word edits, significance, sweeps, moves."""

from __future__ import annotations

from tracker.compare.diff import diff_clauses, diff_texts, word_edits
from tracker.models import Change
from tracker.publish.pages import clause_html
from tracker.publish.render import inline_markers, render_html, render_json, render_unified
from tracker.text.markdown import extract_markdown

BASE = """# Policy

Last updated: January 1, 2023

## Collection

We collect your name and email address when you sign up for Twitter.

We collect information about your device, such as its model and operating system.

Twitter may share aggregated statistics with partners.

## Use

We use your information to operate and improve Twitter.

We keep logs for 18 months.

## Contact

Write to the Twitter privacy team at privacy@example.com.
"""


def cl(md: str):
    return extract_markdown(md).clauses


def test_identical_documents_have_no_changes():
    assert diff_clauses(cl(BASE), cl(BASE)).changes == []


def test_added_removed_modified():
    new = BASE.replace("We keep logs for 18 months.\n", "")
    new = new.replace("to operate and improve Twitter.", "to operate and improve Twitter and to train our AI models.")
    new += "\nWe collect face geometry data for photo verification.\n"
    r = diff_clauses(cl(BASE), cl(new))
    kinds = {(c.kind, c.new or c.old) for c in r.significant}
    assert ("removed", "We keep logs for 18 months.") in kinds
    assert ("added", "We collect face geometry data for photo verification.") in kinds
    mod = [c for c in r.significant if c.kind == "modified"]
    assert len(mod) == 1 and mod[0].section == "Policy > Use"
    inserted = [e for e in mod[0].edits if e.op == "insert"]
    assert [e.new.strip() for e in inserted] == ["and to train our AI models"]
    assert r.stats["significant"] == 3


def test_appended_sentence_is_a_modification_not_add_remove():
    old = "Other information with your consent: we may collect your photos to verify your profile."
    new = old + " With your consent we also collect face geometry data, which may be biometric data."
    r = diff_texts(old, new, fmt="txt")
    assert [c.kind for c in r.changes] == ["modified"]


def test_cosmetic_changes_are_not_significant():
    new = BASE.replace("We collect your name", "We  collect your **name**").replace(
        "privacy@example.com", "privacy [at] example [dot] com")
    new = new.replace("January 1, 2023", "March 5, 2024")
    r = diff_clauses(cl(BASE), cl(new))
    assert r.significant == []
    reasons = sorted(c.reason for c in r.changes)
    assert reasons == ["metadata", "normalisation"]  # "**name**" renders as the same text: no change


def test_move_within_section_is_insignificant_but_across_sections_is_not():
    a, b = ("We collect your name and email address when you sign up for Twitter.\n",
            "We collect information about your device, such as its model and operating system.\n")
    swapped = BASE.replace(a, "TMP\n").replace(b, a).replace("TMP\n", b)
    r = diff_clauses(cl(BASE), cl(swapped))
    assert r.significant == [] and [c.kind for c in r.changes] == ["moved"]
    moved = BASE.replace("We keep logs for 18 months.\n", "").replace(
        "## Contact", "## Contact\n\nWe keep logs for 18 months.\n")
    r = diff_clauses(cl(BASE), cl(moved))
    assert [(c.kind, c.new) for c in r.significant] == [("moved", "We keep logs for 18 months.")]


def test_rename_sweep_is_summarised_once():
    new = BASE.replace("Twitter", "X")
    new = new.replace("We keep logs for 18 months.", "We keep logs for 30 days.")
    r = diff_clauses(cl(BASE), cl(new))
    assert [(s.old, s.new) for s in r.substitutions] == [("Twitter", "X")]
    assert [c.new for c in r.significant] == ["We keep logs for 30 days."]
    assert all(c.reason == "substitution" for c in r.changes if not c.significant)


def test_modal_change_everywhere_is_never_a_sweep():
    doc = "\n\n".join(f"Clause {i}: we may share your data with partner number {i}." for i in range(6))
    r = diff_texts(doc, doc.replace("may", "will"), fmt="txt")
    assert r.substitutions == [] and len(r.significant) == 6


def test_word_edits_merge_across_spaces():
    edits = word_edits("We use data to improve our services.", "We use data to train AI models.")
    assert [(e.op, e.old, e.new) for e in edits if e.op != "equal"] == [
        ("replace", "improve our services", "train AI models")]


def test_long_documents_align_near_linearly():
    old = "\n\n".join(f"Paragraph {i} says that clause {i * 7919 % 10007} applies to users in region {i}."
                      for i in range(3000))
    new = old.replace("clause 7919 applies", "clause 7919 never applies")
    r = diff_texts(old, new, fmt="txt")
    assert [c.kind for c in r.significant] == ["modified"]


def test_renderings_escape_and_mark():
    c = Change(kind="modified", section="S", old="a <b> c", new="a <i> c", edits=word_edits("a <b> c", "a <i> c"))
    html = clause_html(c)
    assert "&lt;" in html and "<del>[-b-]</del>" in html and "<ins>{+i+}</ins>" in html and "<b>" not in html
    assert inline_markers(c) == "a <[-b-]{+i+}> c"
    r = diff_texts("<p>x</p>", "<p>x</p><p>y <script>alert(1)</script> z</p>", fmt="html")
    page = render_html(r)
    assert "<script>" not in page and page.startswith("<!DOCTYPE html>")
    assert '"kind": "added"' in render_json(r)
    assert render_unified(r).splitlines()[-1] == "+y z"


def test_a_clause_paired_with_a_top_level_heading_does_not_crash_the_diff() -> None:
    """Issue 15: `kn[-1]` on an empty section key raised IndexError on real pairs (Facebook privacy
    policy versions): a paragraph under a section became a top-level heading of its own."""
    from tracker.compare.diff import diff_clauses
    from tracker.text.clauses import make_clause

    old = [make_clause("Privacy", ("Privacy",), "heading"),
           make_clause("Cookies and similar technologies", ("Privacy",), "paragraph")]
    new = [make_clause("Privacy", ("Privacy",), "heading"),
           make_clause("Cookies and similar technologies", ("Cookies and similar technologies",), "heading")]
    result = diff_clauses([c for c in old if c], [c for c in new if c])
    assert [ch.kind for ch in result.changes] == ["moved"]  # out of "Privacy", under a heading of its own
