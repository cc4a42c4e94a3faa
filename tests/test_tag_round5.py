"""Round 5 of issue 16 (branch tags5): rules written from the labelling definitions, and batch
tags5-tune's real hard negatives.

The composed sentences were written for this project from the definitions of ../shared/README.md
(not copied from any policy); the real clauses are the rows of batch ``tags5-tune`` in
tests/data/clauses-labelled.jsonl (Open Terms Archive, ODC-BY 1.0: Open Terms Archive and its
contributors), labelled by reading before any tagger run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.compare.tag import PRIORITY, tag_text

ROOT = Path(__file__).resolve().parents[1]
ROWS = [json.loads(ln) for ln in (ROOT / "tests" / "data" / "clauses-labelled.jsonl").read_text(encoding="utf-8").splitlines()
        if ln.strip()]
BATCH = [r for r in ROWS if r.get("batch") == "tags5-tune"]


def test_batch_is_on_the_tune_side_only() -> None:
    assert len(BATCH) >= 40
    assert {r["split"] for r in BATCH} == {"tune"}
    heldout = {r["service"] for r in ROWS if r["split"] == "heldout"}
    assert not {r["service"] for r in BATCH} & heldout


@pytest.mark.parametrize("row", [r for r in BATCH if r["hard_negative_for"]], ids=lambda r: r["note"][:40])
def test_batch_hard_negatives_stay_negative(row: dict) -> None:
    """AI-generated content rules, AI products with no training statement, railway trains and
    French 'entraîner' (to cause), staff training, cookies that 'recognise' a browser."""
    r = tag_text(row["text"], row["lang"])
    for tag in row["hard_negative_for"]:
        assert tag not in r.tags, (tag, r.evidence.get(tag))


@pytest.mark.parametrize("text", [
    "We use your images as training examples for our computer vision systems.",
    "Your ratings are included in the training sets of our ranking systems.",
    "Data about your matches is fed into our algorithm so it gets better at suggesting profiles.",
    "We use the text you enter to fine-tune our language technology.",
])
def test_training_stated_with_other_objects(text: str) -> None:
    r = tag_text(text, "en")
    assert "ai-training" in r.tags and r.polarity["ai-training"] == "affirmed", r


@pytest.mark.parametrize("text", [
    # MediaFire (tune side, dev archive): "smarter" services without machine learning; a rule for
    # "make our products smarter" was dropped for this false alarm
    "MediaFire is always looking for ways to make our Services smarter and faster, and more innovative and "
    "useful to you.",
    "Explore the latest enhancements: smarter AI, deeper research and new workflows.",
    "Trains are fed into the depot at night.",
])
def test_smarter_and_fed_into_need_a_model(text: str) -> None:
    assert "ai-training" not in tag_text(text, "en").tags


@pytest.mark.parametrize("text, lang, tag, want", [
    ("Users who choose to verify their profile submit a selfie, from which we create a facial template.",
     "en", "biometrics", "conditional"),
    ("If you opt to use voice authentication, we will create a voiceprint.", "en", "biometrics", "conditional"),
    ("Members who opt into Face Verification provide a video selfie that we analyse with facial recognition.",
     "en", "biometrics", "conditional"),
    ("If you authorize it, we will use your voice print to identify you when you call us.", "en", "biometrics",
     "conditional"),
    ("Voice ID, which you can enable in settings, creates a voice profile to recognise your voice.",
     "en", "biometrics", "conditional"),
    ("You may allow us to use your content to improve our AI features by turning on the setting.",
     "en", "ai-training", "conditional"),
    ("We may ask for your permission to use your recordings to improve our speech models.", "en", "ai-training",
     "conditional"),
    ("Audio snippets used to improve speech recognition are retained for 18 months and then deleted.",
     "en", "ai-training", "restricted"),
    ("We use your data to improve our AI models. You can change this in your settings.", "en", "ai-training",
     "restricted"),
    ("Avec votre consentement, vos enregistrements vocaux sont utilisés pour améliorer la reconnaissance vocale.",
     "fr", "ai-training", "conditional"),
    ("Les informations sont utilisées pour améliorer nos systèmes de recommandation.", "fr", "ai-training", "affirmed"),
    ("Vos retours nous aident à perfectionner nos filtres anti-spam.", "fr", "ai-training", "affirmed"),
    ("Si vous l'acceptez, vos publications serviront à l'entraînement de nos modèles d'IA.", "fr", "ai-training",
     "conditional"),
    ("Les données biométriques sont supprimées immédiatement après la vérification.", "fr", "biometrics", "restricted"),
    ("Nous ne procédons à aucune reconnaissance faciale sur vos photos.", "fr", "biometrics", "negated"),
])
def test_polarity_from_the_definitions(text: str, lang: str, tag: str, want: str) -> None:
    """Conditional, restricted, affirmed and negated statements as the labelling rules define them, in
    English and French (consent gates, recommendation systems, deletion after the check)."""
    r = tag_text(text, lang)
    assert tag in r.tags and r.polarity[tag] == want, r


@pytest.mark.parametrize("text", [
    "Under BIPA, companies must obtain consent before collecting biometric identifiers.",
    "Some states give you rights regarding biometric information.",
    "Sensitive personal information includes biometric data, health data and precise geolocation.",
    "Illinois law regulates the collection of biometric identifiers.",
])
def test_what_a_law_says_is_no_practice(text: str) -> None:
    assert "biometrics" not in tag_text(text, "en").tags


def test_the_service_describing_its_own_sensitive_data_stays_tagged() -> None:
    r = tag_text("Sensitive personal information we collect includes biometric data.", "en")
    assert "biometrics" in r.tags and r.polarity["biometrics"] == "affirmed"


@pytest.mark.parametrize("text", [
    "Les données biométriques sont des données sensibles au sens du RGPD.",
    "Vous devrez faire face à des frais supplémentaires en cas de retard.",
    "Le non-respect de ces règles peut entraîner la suspension de votre compte.",
])
def test_french_false_friends(text: str) -> None:
    r = tag_text(text, "fr")
    assert not set(PRIORITY) & set(r.tags), r
