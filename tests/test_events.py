"""Document-level events for the priority tags (issue 15): what a reader is told is true of the two
documents as wholes.

Policies here are written for these tests, shaped like the real artefacts of Open Terms Archive's
contrib archive (a block captured twice, a clause split or merged, the same sentence in two sections);
the real pairs are in tests/test_cosmetic_real.py.
"""

from __future__ import annotations

import json

from conftest import shared_dir

from tracker.check import analyse
from tracker.compare.events import stance
from tracker.compare.sentences import KEY_CHARS, key_sentence, split
from tracker.text.markdown import extract_markdown

AI = "We may use your posts and photos to train our artificial intelligence models."
AI_NO = "We do not use your posts or photos to train our artificial intelligence models."
AI_OPT_IN = "We will use your posts to train our artificial intelligence models only if you opt in."
BIO = "We collect face geometry from your selfies to verify your identity."

DOC = """# Example Privacy Policy

## What we collect

We collect the name and email address you give us when you create an account.

{collect}

## How we use it

We use your information to provide and improve the service.

{use}

## How long we keep it

We keep your information for {keep}.
"""


def doc(collect: str = "", use: str = "", keep: str = "as long as your account is active") -> list:
    return extract_markdown(DOC.format(collect=collect, use=use, keep=keep)).clauses


def events(old, new) -> list[tuple[str, str, str]]:
    r = analyse(old, new, "en")
    return [(e.tag, e.kind, e.stance) for e in r.events]


# --------------------------------------------------------------------------- no event


def test_a_recaptured_or_duplicated_clause_gives_no_event() -> None:
    old = doc(use=AI)
    # the capture holds the AI block twice (current + upcoming policy), and a real retention change
    doubled = doc(use=AI + "\n\nWe use your information to provide and improve the service.\n\n" + AI,
                  keep="two years")
    r = analyse(old, doubled, "en")
    assert any("ai-training" in c.tags for c in r.significant)  # the clause diff sees an added AI clause
    assert r.events == [] and "ai-training" not in r.tags()  # but nothing about AI training is news
    assert "ai-training" not in r.directions()
    # and back to one copy: nothing was removed from the document
    back = analyse(doubled, doc(use=AI, keep="two years"), "en")
    assert back.events == [] and "ai-training" not in back.tags()


def test_a_sentence_moved_into_another_clause_or_section_gives_no_event() -> None:
    old = doc(use=AI)
    merged = doc(use="We use your information to provide and improve the service. " + AI)  # two paragraphs in one
    assert events(old, merged) == []
    elsewhere = doc(collect=AI)  # same sentence, under another heading
    assert events(old, elsewhere) == []
    assert events(doc(use=AI.replace("posts", "**posts**")), doc(use=AI)) == []  # Markdown only


def test_removed_only_when_gone_everywhere() -> None:
    twice = doc(collect=AI, use=AI + " We tell you before we start.")
    once = doc(use=AI + " We tell you before we start.")
    assert events(twice, once) == []  # a copy went, the statement stays
    assert events(twice, doc()) == [("ai-training", "removed", "affirmed")]  # gone from both: told once
    r = analyse(once, doc(), "en")
    (e,) = r.events
    assert e.kind == "removed" and e.sentence == AI and e.old_sentence == AI
    assert r.changes[e.change].kind == "removed" and r.tags() == ["ai-training"]


# --------------------------------------------------------------------------- events


def test_a_real_addition_is_added_with_its_key_sentence() -> None:
    r = analyse(doc(), doc(use=AI, collect=BIO), "en")
    got = {(e.tag, e.kind, e.stance) for e in r.events}
    assert got == {("ai-training", "added", "affirmed"), ("biometrics", "added", "affirmed")}
    ai = next(e for e in r.events if e.tag == "ai-training")
    assert ai.sentence == AI and ai.section.endswith("How we use it")
    assert r.changes[ai.change].new == AI and r.changes[ai.change].significant
    assert set(r.tags()) >= {"ai-training", "biometrics"}
    assert r.directions()["ai-training"] == "added"


def test_a_change_of_stance_is_its_own_event() -> None:
    (e,) = analyse(doc(use=AI_NO), doc(use=AI), "en").events
    assert (e.kind, e.old_stance, e.stance) == ("stance", "negated", "affirmed")
    assert e.sentence == AI and e.old_sentence == AI_NO
    (e,) = analyse(doc(use=AI_OPT_IN), doc(use=AI), "en").events
    assert (e.kind, e.old_stance, e.stance) == ("stance", "conditional", "affirmed")
    # a new permissive statement next to the old "we do not": the document's stance changed
    r = analyse(doc(use=AI_NO), doc(use=AI_NO, collect=AI), "en")
    assert [(e.kind, e.old_stance, e.stance, e.sentence) for e in r.events] == [
        ("stance", "negated", "affirmed", AI)]


def test_the_document_stance_is_its_most_permissive_statement() -> None:
    from tracker.compare.events import statements

    clauses = doc(collect=AI_NO, use=AI_OPT_IN)
    assert stance(statements(clauses, "ai-training", "en")) == "conditional"
    assert stance(statements(doc(collect=AI_NO, use=AI), "ai-training", "en")) == "affirmed"
    # the stance does not move when a less permissive statement is added
    assert events(doc(use=AI), doc(use=AI, collect=AI_NO)) == [("ai-training", "added", "negated")]


def test_a_rewording_is_one_event_that_names_the_old_sentence() -> None:
    old_s = "We may use publicly available information to help train our language models for translation."
    new_s = "We may use publicly available information to help train our AI models for translation and chat."
    (e,) = analyse(doc(use=old_s), doc(use=new_s), "en").events
    assert (e.kind, e.sentence, e.old_sentence) == ("added", new_s, old_s)


def test_renamed_service_is_not_a_new_statement() -> None:
    old = doc(use="Twitter may use your posts to train machine learning models.",
              collect="Twitter collects your name.\n\nTwitter keeps it.\n\nTwitter shares it with partners.")
    new = doc(use="X may use your posts to train machine learning models.",
              collect="X collects your name.\n\nX keeps it.\n\nX shares it with partners.")
    r = analyse(old, new, "en")
    assert [(s.old, s.new) for s in r.substitutions] == [("Twitter", "X")]
    assert r.events == []


# --------------------------------------------------------------------------- key sentence


def test_key_sentence_is_the_evidence_sentence_at_most_300_characters() -> None:
    filler = "We describe our practices in detail below and in our other notices. " * 6
    long_clause = filler + AI + " " + filler
    r = analyse(doc(), doc(use=long_clause), "en")
    (e,) = r.events
    assert e.sentence == AI and len(r.changes[e.change].new) > 800
    # a single sentence longer than the limit is cut around the evidence, at word boundaries
    huge = "We may use " + ", ".join(f"category {k} of your data" for k in range(60)) + \
        " to train our artificial intelligence models."
    start = huge.index("train")
    cut = key_sentence(huge, [(start, start + 5)])
    assert len(cut) <= KEY_CHARS + 4 and "train" in cut and cut.startswith("… ")
    assert key_sentence("One. Two has it. Three.", [(4, 7)]) == "Two has it."
    assert split("See e.g. the notice. Then Inc. Our turn.\nNext line") == [
        "See e.g. the notice.", "Then Inc. Our turn.", "Next line"]


def test_another_spelling_or_a_longer_list_is_the_same_statement() -> None:
    uk = "We may analyse your photos with facial recognition to personalise your albums."
    us = "We may analyze your photos with facial recognition to personalize your albums."
    assert events(doc(use=uk), doc(use=us)) == []  # a regional edition of the same policy
    listed = ("We collect identifiers, contact details, biometric information, records of purchases, "
              "device data, and audio recordings.")
    longer = ("We collect identifiers, contact details, biometric information, records of purchases, device data, "
              "browsing history, inferences, professional information, education records, and audio recordings.")
    assert [e.kind for e in analyse(doc(), doc(collect=listed), "en").events] == ["added"]
    assert events(doc(collect=listed), doc(collect=longer)) == []  # the list grew; biometrics stayed


def test_real_cases_give_their_events_and_cosmetic_pairs_none() -> None:
    """../shared/corpus/cases (Open Terms Archive, ODC-BY 1.0): each case's priority tags are an event
    whose key sentence is one of the case's key sentences; cosmetic pairs give none."""
    root = shared_dir() / "corpus" / "cases"
    for case in json.loads((root / "manifest.json").read_text(encoding="utf-8")):
        d = root / case["id"]
        r = analyse(extract_markdown((d / "before.md").read_text(encoding="utf-8")).clauses,
                    extract_markdown((d / "after.md").read_text(encoding="utf-8")).clauses, None)
        if case.get("cosmetic_only"):
            assert r.events == [], case["id"]
            continue
        keys = " ".join(case["key_added"]).casefold()
        for tag in set(case.get("primary_tags") or case["tags"]) & {"ai-training", "biometrics"}:
            mine = [e for e in r.events if e.tag == tag]
            assert mine and all(e.kind in ("added", "stance") for e in mine), (case["id"], tag)
            assert any(e.sentence.replace("… ", "").split(". ")[-1][:60].casefold() in keys for e in mine), case["id"]
