"""Round 7 of issue 16: the errors of the rules on the tune rows of batch ``label7`` (Grok, DeepSeek of
Open Terms Archive's genai-eu collection; Pornhub, Stripchat, XVideos of its vlopses-us collection),
and a link target read as wording. Each case is a real labelled clause of tests/data/clauses-labelled.jsonl
(ODC-BY 1.0, attribution: Open Terms Archive and its contributors), found by service and a few of its
words, checked against its gold label; the rules were written from the definitions of ../shared/README.md.
Composed sentences (said so) check the other side of a rule: what it must still tag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.compare.tag import tag_text

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "clauses-labelled.jsonl"
ROWS = [json.loads(ln) for ln in LABELLED.read_text(encoding="utf-8").splitlines() if ln.strip()]


def clause(service: str, words: str) -> dict:
    found = [r for r in ROWS if r["service"] == service and words in r["text"] and r["split"] == "tune"]
    assert found, (service, words)
    return found[0]


# (kind, service, words, tag): the gold label decides whether the tag is expected, and its polarity
CASES = [
    ("a link target is no wording", "ChatGPT", "fine-tuning) are yours alone", "ai-training"),
    # tags6 judgement call, decided by the labelling rules: a flat "never ... used to train other models"
    # beside the customer's own fine-tuning is negated
    ("the customer's fine-tuning beside a flat no", "ChatGPT", "never served to or shared with other customers or used to train",
     "ai-training"),
    ("the company's own AI in a 'shall not' sentence is no user ban", "Grok", "Google OAuth", "ai-training"),
    ("a pointer that states the practice", "Grok", "data we use to train our models", "ai-training"),
    ("the service processing training data, with an excluded purpose", "Grok", "in relation to Grok", "ai-training"),
    ("how a model is built", "DeepSeek", "which are built using neural network", "ai-training"),
    ("a published explainer of training", "DeepSeek", "Model Principles and Training", "ai-training"),
    ("'when we refer to ... we mean' defines", "Stripchat", "we mean personal data which may reveal", "biometrics"),
    ("a choice with a mandatory alternative is no condition", "Pornhub", "or if this is required for age verification",
     "biometrics"),
    ("verification by means not involving biometrics restricts", "Pornhub", "by means not involving biometric",
     "biometrics"),
    ("a processor's purpose limit does not restrict the practice", "Pornhub",
     "only to perform these tasks on our behalf, such as identity and document authenticity verification", "biometrics"),
    ("proof of adulthood is not children's data", "Pornhub", "proof of adulthood", "children"),
    ("uploaders over eighteen are not children", "Pornhub", "All Verified Uploaders must be over eighteen", "children"),
    ("the service's own minimum age stays children", "ChatGPT", "at least 18 years old to use ChatGPT agent", "children"),
    ("a licence's right is no user right", "Grok", "right to xAI to use", "user-rights"),
    ("a right granted to use the service is no user right", "DeepSeek", "We grant you a right to access", "user-rights"),
    ("'represent and warrant' is no court warrant", "XVideos", "represent and warrant to us that we provided",
     "law-enforcement"),
]


@pytest.mark.parametrize("kind, service, words, tag", CASES, ids=[c[0] for c in CASES])
def test_label7_tune_errors_fixed(kind: str, service: str, words: str, tag: str) -> None:
    row = clause(service, words)
    r = tag_text(row["text"], row["lang"])
    assert (tag in r.tags) == (tag in row["tags"]), (kind, r.tags, row["tags"])
    if tag in row.get("polarity", {}):
        assert r.polarity[tag] == row["polarity"][tag], (kind, r.polarity, row["polarity"])


def test_urls_are_no_wording_but_the_sentence_still_is() -> None:
    # composed: the words of a link target or a bare address trigger nothing ...
    assert "ai-training" not in tag_text("See [our models](https://example.com/docs/fine-tuning) for prices.", "en").tags
    assert "ai-training" not in tag_text("Prices: https://example.com/train-models/ and www.example.com/training-data",
                                         "en").tags
    # ... while the sentence around a link keeps its meaning, and the offsets of evidence are the text's
    text = "We use your chats to train our AI models ([learn more](https://example.com/faq))."
    r = tag_text(text, "en")
    assert "ai-training" in r.tags
    assert all(text[e.start:e.end] == e.text for e in r.evidence["ai-training"])


def test_transparency_report_is_no_disclosure_but_reporting_data_is() -> None:
    # composed (the dev-set clause of this kind lives in ../shared)
    pub = "Our [Transparency Report](https://example.com/transparency) has information about government requests."
    assert "data-sharing" not in tag_text(pub, "en").tags
    assert "data-sharing" in tag_text("We may report your information to government authorities.", "en").tags


def test_a_training_ban_on_users_is_still_vetoed() -> None:
    # composed: the company-AI exception of the user-prohibition veto does not free a user ban
    text = "Users shall not use the Service's content for training machine learning models."
    assert "ai-training" not in tag_text(text, "en").tags


def test_french_definition_spoken_by_the_service() -> None:
    # composed French counterpart of the Stripchat definition ("when we refer to ... we mean")
    text = ("Lorsque nous parlons de « données sensibles », nous entendons les données qui révèlent "
            "l'origine ethnique, la santé ou les données biométriques.")
    assert "biometrics" not in tag_text(text, "fr").tags
    assert "biometrics" in tag_text("Nous collectons votre gabarit facial pour vérifier votre identité.", "fr").tags
