"""Issue 15, third round: the causes of the AI-training and biometrics alerts still judged false.

Each test holds a small policy written for it, shaped like the real artefact of Open Terms Archive's
contrib archive that was judged false (the judged alerts are in tests/data/judged-alerts.jsonl), and
the true change next to it that must still alert:

- a capture that loses a whole block of a long page while the rest is unchanged, and the block that
  comes back a few versions later (a block flapping, not the whole page);
- a capture that lost most of the old wording at once is suspect (held until confirmed);
- a link title kept without its link ("How Acme uses face recognition to …", "Learn more about …");
- a statement reworded in place: the same polarity (of the sentence read alone) and the same evidence;
- one comparison decides what a capture is, for check, import and `diff` alike.
"""

from __future__ import annotations

from tracker.check import analyse, compare_capture, compare_versions
from tracker.compare import artefacts
from tracker.compare.events import pointer
from tracker.text.markdown import extract_markdown

AI = "We may use your voice recordings to train our speech recognition models."
FACE = "If you turn on People, the app uses facial recognition to group photos of the same person."

BASE = """# Example Privacy Statement

Last updated: May 1, 2026

## What we collect

We collect the name and email address you give us when you create an account.

{collect}

## How we use it

We use your information to provide and improve the service.

{use}

## How long we keep it

We keep your information for as long as your account is active.
"""


def doc(collect: str = "", use: str = "", extra: str = "") -> list:
    return extract_markdown(BASE.format(collect=collect, use=use) + extra).clauses


def product_sections(n: int = 24) -> str:
    """A long block of product-specific sections (each with its own wording), one of which speaks of
    training speech models and one of face grouping: the part of a long statement a capture can lose."""
    out = []
    for i in range(n):
        words = " ".join(f"feature{i}x{k}" for k in range(12))
        out.append(f"## Product {i}\n\nProduct {i} keeps settings for {words} on your device and in your account. "
                   f"Product {i} sends diagnostic reports about {words} when you allow it, and you can turn "
                   f"this off in the settings of product {i} at any time, for each of your devices.\n")
    out.insert(3, f"## Voice\n\n{AI} Snippets are reviewed by our staff.\n")
    out.insert(9, f"## Photos\n\n{FACE} Groupings stay on your device.\n")
    return "\n".join(out)


def kinds(result) -> list[tuple[str, str]]:
    return [(e.tag, e.kind) for e in result.events]


# --------------------------------------------------------------------------- a block that leaves and comes back


def test_a_long_block_lost_at_once_with_the_rest_unchanged_is_a_suspect_capture() -> None:
    full, lost = doc(extra=product_sections()), doc()
    assert artefacts.length(full) - artefacts.length(lost) >= artefacts.LOST_BLOCK
    result, kind = compare_capture(full, lost, "en")
    assert kind == "edition" and result.note.startswith("lost block") and result.events == []
    assert result.significant  # recorded as what it is, the clauses listed, but no topic alert
    # the same cut with the rest rewritten around it is a change of the policy, and alerts
    rewritten = doc(use="We now use your information only to provide the service, never to improve it.")
    result, kind = compare_capture(doc(extra=product_sections(), use=AI), rewritten, "en")
    assert kind == "" and ("ai-training", "removed") in kinds(result)
    # a short section removed from an ordinary policy (nothing else changed) is a plain change
    result, kind = compare_capture(doc(use=AI), doc(), "en")
    assert kind == "" and kinds(result) == [("ai-training", "removed")]


def test_a_block_that_comes_back_is_no_news_but_a_new_statement_is() -> None:
    gone, back = doc(), doc(use=AI)
    assert kinds(compare_versions(gone, back, "en")) == [("ai-training", "added")]  # no history: news
    # the statement was in the document two versions ago: the block flapped
    history = [doc(use=AI), doc(use=AI, collect="We also collect your time zone.")]
    assert compare_versions(gone, back, "en", earlier=lambda: history).events == []
    # a statement that was never there is news, whatever the history
    history = [doc(use="We use your posts to improve our services.")]
    assert kinds(compare_versions(gone, back, "en", earlier=lambda: history)) == [("ai-training", "added")]


def test_losing_most_of_the_wording_at_once_is_suspect_but_not_another_document() -> None:
    ref = doc(extra=product_sections(8))
    fresh = " ".join(f"Regional notice {i} explains how residents of zone {i} may contact office {i * 3}." for i in range(20))
    half = doc(extra=product_sections(8).split("## Product 2")[0] + f"\n## Regional notices\n\n{fresh}\n")
    other = extract_markdown("# Cookies\n\n" + "\n\n".join(
        f"Cookie {i} is set by server {i * 7} and lasts {i + 3} days for the shop's basket." for i in range(40))).clauses
    la, lb, lc = artefacts.length(ref), artefacts.length(half), artefacts.length(other)
    kept = artefacts.kept_share(artefacts.shingles(ref), artefacts.shingles(half))
    assert artefacts.SUSPECT_KEPT <= kept < artefacts.SUSPECT_LOST and la < artefacts.SUSPECT_LENGTH_RATIO * lb
    assert "wording is left" in (artefacts.suspect_reason(ref, half, la, lb) or "")
    assert not artefacts.another_document(ref, half)  # confirmed, it keeps its events
    assert artefacts.another_document(ref, other) and artefacts.suspect_reason(ref, other, la, lc)
    # an ordinary edit is not suspect
    assert artefacts.suspect_reason(ref, doc(use=AI, extra=product_sections(8)), la, la + 80) is None


# --------------------------------------------------------------------------- pointers to another document


def test_a_link_title_is_not_a_statement() -> None:
    links = ("Technologies we use:\n\n* How Acme uses cookies\n* How Acme uses pattern recognition to recognise "
             "things such as faces in photos\n* How Acme uses information from partner sites\n")
    result = analyse(doc(use=links), doc(use=links.replace("* How Acme uses pattern recognition to recognise things "
                                                           "such as faces in photos\n", "")), "en")
    assert result.significant and result.events == []
    assert pointer("How Acme uses pattern recognition to recognise things such as faces in photos")
    assert pointer("Learn more about the Photos app and facial grouping.")
    # a statement of practice that starts alike is still one
    assert not pointer("How we use your data: we use face geometry from your selfies to verify your identity.")
    assert not pointer("We use pattern recognition to recognise faces in your photos.")
    result = analyse(doc(use="We use pattern recognition to recognise faces in your photos."), doc(), "en")
    assert kinds(result) == [("biometrics", "removed")]


# --------------------------------------------------------------------------- rewordings


def test_a_statement_reworded_in_place_with_the_same_evidence_is_no_event() -> None:
    # the clause's polarity came from a sentence that went ("with your permission"); the AI sentence
    # itself is affirmed on both sides and only its object was reworded
    old_s = ("To build, train and improve the accuracy of our artificial intelligence, we manually review some "
             "of the predictions and inferences produced against the underlying data.")
    new_s = ("To build, train and improve the accuracy of our artificial intelligence, we manually review some "
             "of the output produced against the underlying data.")
    old = doc(collect=AI, use=old_s + " With your permission, we also keep short samples of that data.")
    result = analyse(old, doc(collect=AI, use=new_s), "en")
    assert [k for k in kinds(result) if k[0] == "ai-training"] == []
    # a rewording that brings evidence the document did not have ("language models" -> "AI models")
    # is news: tests/test_events.py::test_a_rewording_is_one_event_that_names_the_old_sentence


# --------------------------------------------------------------------------- one place decides


def test_check_import_and_diff_compare_the_same_way() -> None:
    """`diff` (compare_versions) and a check (compare_capture) give the same diff, note and events."""
    pairs = [(doc(extra=product_sections()), doc()), (doc(), doc(use=AI)), (doc(use=AI), doc(use=FACE))]
    for old, new in pairs:
        checked, _ = compare_capture(old, new, "en")
        shown = compare_versions(old, new, "en")
        assert (checked.note, kinds(checked), len(checked.significant)) == (
            shown.note, kinds(shown), len(shown.significant))
