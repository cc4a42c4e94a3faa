"""What a change says in words: event phrases, titles, key sentences, Markdown residue, order of importance."""

from __future__ import annotations

import itertools

from feeddata import AI_CLAUSE, modified, word_edits

from tracker.models import Change, DiffResult, Evidence, Substitution, TagEvent
from tracker.publish.display import SENTENCE_CHARS, clean_change, key_sentence, trim_sentence
from tracker.publish.headline import event_phrase, only_renamed, order, title
from tracker.publish.pages import event_html
from tracker.publish.site import change_body

STANCES = ("affirmed", "negated", "restricted", "conditional")


def test_added_only_for_a_statement_that_they_may_do_it() -> None:
    """A new promise not to train (or a consent-only statement) is never called "added"."""
    for tag, kind, stance, old in itertools.product(("ai-training", "biometrics"), ("added", "removed", "stance"),
                                                    STANCES, STANCES):
        phrase = event_phrase(TagEvent(tag, kind, stance, old_stance=old if kind == "stance" else ""))
        says_added = "added" in phrase
        assert says_added == (kind == "added" and stance in ("affirmed", "restricted")), (kind, stance, phrase)
    assert event_phrase(TagEvent("ai-training", "added", "negated")) == "AI training ruled out (new statement)"
    assert event_phrase(TagEvent("ai-training", "added", "conditional")) == \
        "AI training only with consent (new statement)"
    assert event_phrase(TagEvent("ai-training", "added", "restricted", sentence="unless you opt out")) == \
        "AI training added (may train, opt-out)"
    assert event_phrase(TagEvent("biometrics", "added", "restricted", sentence="deleted after 30 days")) == \
        "Biometrics added (may collect, with limits)"
    assert event_phrase(TagEvent("ai-training", "removed", "negated")).startswith("AI training no longer ruled out")
    assert event_phrase(TagEvent("ai-training", "stance", "conditional", old_stance="affirmed")) == \
        "AI training now only with consent (was: may train)"
    assert event_phrase(TagEvent("ai-training", "stance", "affirmed", old_stance="negated")) == \
        "AI training flipped: now may train (was: won't train)"


def test_title_is_the_news_then_the_count_of_the_rest() -> None:
    other = modified("We keep logs.", "We keep logs for a year.")
    ai = Change(kind="added", section="Use", old=None, new=AI_CLAUSE, tags=["ai-training"])
    diff = DiffResult([other, ai], substitutions=[Substitution("Chirp", "Chirpline", 4)],
                      events=[TagEvent("ai-training", "added", "affirmed", sentence=AI_CLAUSE, change=1)])
    assert title("Chirpline", "Privacy Policy", diff) == (
        "Chirpline Privacy Policy — AI training added (may train): “We may use the information we collect, "
        "including your posts and interactions …”; 1 other change")
    plain = DiffResult([other], substitutions=[Substitution("Twitter", "X", 88)])
    assert title("X", "Terms", plain) == "X Terms — 1 clause changed; renamed Twitter → X"


def test_key_sentence_is_the_evidence_sentence_cut_at_boundaries() -> None:
    listing = "; ".join(f"item number {i} of a very long list of things we collect" for i in range(30))
    text = (f"We collect many things, including {listing}; and we may use your posts to train our AI models; "
            f"{listing}. Another sentence follows here.")
    start = text.index("train our AI models")
    s = key_sentence(text, [Evidence("r", start, start + 19, "train our AI models")])
    assert len(text) > 1700 and len(s) <= SENTENCE_CHARS + 4
    assert "train our AI models" in s and s.startswith("…") and s.endswith("…")
    assert trim_sentence("short **sentence**.") == "short sentence."
    assert key_sentence("First one. Second has the word biometric here.",
                        [Evidence("r", 0, 0, "biometric")]) == "Second has the word biometric here."


def test_markdown_residue_leaves_text_edits_and_evidence_in_place() -> None:
    old = "** Advertisements.** When you view ads on Twitter, we may collect information."
    new = "** Advertisements.** When you view ads on X, we may collect information and train models."
    c = Change(kind="modified", section="S", old=old, new=new, edits=word_edits(old, new), tags=["ai-training"])
    at = new.index("train models")
    c.evidence = {"ai-training": [Evidence("r", at, at + 12, "train models")]}
    shown = clean_change(c)
    assert "**" not in (shown.old or "") + (shown.new or "")
    assert "".join(e.old for e in shown.edits) == shown.old and "".join(e.new for e in shown.edits) == shown.new
    ev = shown.evidence["ai-training"][0]
    assert (shown.new or "")[ev.start:ev.end] == "train models"
    html = change_body(DiffResult([c]))
    assert "**" not in html and "<mark><strong>train models</strong></mark>" in html


def test_each_clause_once_in_order_of_importance() -> None:
    renamed = modified("Tweets on Twitter are public.", "Posts on X are public.")
    plain = modified("We keep logs.", "We keep logs for a year.")
    tagged = Change(kind="added", section="S", old=None, new="We share data with partners.", tags=["data-sharing"])
    ai = Change(kind="added", section="Use", old=None, new=AI_CLAUSE, tags=["ai-training"])
    subs = [Substitution("Twitter", "X", 88), Substitution("Tweets", "posts", 8)]
    assert only_renamed(renamed, subs) and not only_renamed(plain, subs)
    diff = DiffResult([renamed, plain, tagged, ai], substitutions=subs,
                      events=[TagEvent("ai-training", "added", "affirmed", sentence=AI_CLAUSE, change=3)])
    o = order(diff)
    assert [i for _, i in o.events] == [3] and o.tagged == [2] and o.other == [1, 0] and o.renamed == 1
    body = change_body(diff)
    assert body.index("AI training added") < body.index("We share data") < body.index("We keep logs")
    assert body.count("We may use the information") == 2  # the key sentence, and the whole clause on demand
    assert body.count("We share data with partners") == 1
    assert "<details class=\"rest\"><summary>Other changes (2, 1 of them only the renaming)" in body


def test_removed_and_stance_events_show_the_old_sentence() -> None:
    gone = Change(kind="removed", section="AI", old="We do not use your content to train AI models.", new=None)
    diff = DiffResult([gone], events=[TagEvent("ai-training", "removed", "negated",
                                               old_sentence="We do not use your content to train AI models.",
                                               change=0)])
    html = event_html(diff.events[0], diff)
    assert "no longer ruled out" in html and "Removed:" in html and "<del>“We do not use your content" in html


def test_report_calls_a_consent_only_statement_no_red_alert(tmp_path) -> None:
    """Zoom 2023's "will not use … to train … without your consent" is not a red "ai-training added"."""
    from feeddata import add_change, added, ts

    from tracker.publish.report import LIMITED, build_rows, render_html
    from tracker.store.database import Store

    with Store(tmp_path / "t.db") as store:
        add_change(store, "Zoomish", "Terms", [added(
            "We will not use your audio, video or chat content to train our artificial intelligence models "
            "without your consent.")], ts(3))
        rows = build_rows(store.changes())
    html = render_html(rows, pages={rows[0].change_id: "changes/zoomish-terms-v2.html"})
    assert f'<span class="dir" style="color:{LIMITED}">AI training only with consent (new statement)</span>' in html
    assert ">added<" not in html and 'href="changes/zoomish-terms-v2.html"' in html
