"""Generalisation: the tagger on data it was not measured on while the rules were written.

1. tests/data/tag-examples-{en,fr}.jsonl: clauses written for this project from the tag
   definitions and the way policies phrase things (not taken from ../shared), with hard negatives.
2. Sentences composed from parts (actor x verb x data x purpose): every combination must get the
   same answer, which catches rules that only fit one wording.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from tracker.compare.tag import tag_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _evaluate(name: str) -> dict:
    spec = importlib.util.spec_from_file_location("tags_eval", ROOT / "bench" / "tags_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.evaluate(mod.load([DATA / name]))


@pytest.mark.parametrize("name", ["tag-examples-en.jsonl", "tag-examples-fr.jsonl"])
def test_own_examples_floors(name: str) -> None:
    fig = _evaluate(name)
    for tag in ("ai-training", "biometrics"):
        m = fig["per_tag"][tag]
        assert m["precision"] >= 0.95 and m["recall"] >= 0.85, (tag, m)
    assert fig["secondary_macro_f1"] >= 0.80
    assert fig["polarity_accuracy"] >= 0.85


# Second set (tests/data/tag-examples-{en,fr}-2.jsonl): developer/API terms, AI-company terms, DPAs,
# health/dating/children's apps, voice assistants, photo apps, device auth, HR, cars, BIPA, GDPR,
# translated (JP/KR-style) English, with hard negatives. Rules were tuned on the "tune" half; the
# "heldout" half was written before the tuning and evaluated once at the end: its floors are the
# honest generalisation figure (set a little below what was measured; do not tune on it).
SECOND_FLOORS = {
    # (file, split): (ai P, ai R, bio P, bio R, secondary macro-F1, polarity accuracy)
    ("tag-examples-en-2.jsonl", "tune"): (0.95, 0.95, 0.95, 0.95, 0.85, 0.90),
    ("tag-examples-fr-2.jsonl", "tune"): (0.95, 0.95, 0.95, 0.95, 0.90, 0.95),
    # third pass measured 1.0 / 0.93 / 1.0 / 0.90 / 0.85 / 0.89 here (this half had been looked at)
    ("tag-examples-en-2.jsonl", "heldout"): (0.90, 0.88, 0.95, 0.85, 0.80, 0.80),
    ("tag-examples-fr-2.jsonl", "heldout"): (0.95, 0.85, 0.95, 0.95, 0.65, 0.85),
}


@pytest.mark.parametrize("name,split", list(SECOND_FLOORS))
def test_second_set_floors(name: str, split: str) -> None:
    spec = importlib.util.spec_from_file_location("tags_eval", ROOT / "bench" / "tags_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = [r for r in mod.load([DATA / name]) if r.get("split") == split]
    assert len(rows) >= 25, (name, split, len(rows))
    fig = mod.evaluate(rows)
    ai_p, ai_r, bio_p, bio_r, sec, pol = SECOND_FLOORS[(name, split)]
    ai, bio = fig["per_tag"]["ai-training"], fig["per_tag"]["biometrics"]
    assert ai["precision"] >= ai_p and ai["recall"] >= ai_r, ai
    assert bio["precision"] >= bio_p and bio["recall"] >= bio_r, bio
    assert fig["secondary_macro_f1"] >= sec, fig["secondary_macro_f1"]
    assert fig["polarity_accuracy"] >= pol, fig["polarity_by_gold"]


def test_hard_negatives_stay_negative() -> None:
    """Every hard negative of the sets the rules were written with (the held-out half of the second
    set is measured by floors instead: its misses are the honest error rate, not bugs to patch)."""
    import json

    for f in sorted(DATA.glob("tag-examples*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if str(row.get("split", "")).startswith("heldout"):
                continue
            tags = tag_text(row["text"], row.get("lang")).tags
            for t in row.get("hard_negative_for", []):
                assert t not in tags, (t, row["text"])


ACTORS = ["We", "Our company", "The Service", "We and our affiliates"]
VERBS = ["use", "may use", "will use", "might use"]
DATA_ = ["your posts", "the content you upload", "information you provide", "your chats with the assistant"]
PURPOSES = ["to train our AI models", "to train machine learning models", "to train and improve our generative AI models",
            "for training artificial intelligence systems", "to fine-tune our large language models"]


def test_composed_affirmations() -> None:
    misses = []
    for a, v, d, p in itertools.product(ACTORS, VERBS, DATA_, PURPOSES):
        text = f"{a} {v} {d} {p}."
        r = tag_text(text)
        if "ai-training" not in r.tags or r.polarity["ai-training"] != "affirmed":
            misses.append(text)
    assert not misses, misses[:5]


@pytest.mark.parametrize("neg", ["do not use", "never use", "will not use", "don't use", "won't use"])
def test_composed_negations(neg: str) -> None:
    for d, p in itertools.product(DATA_, PURPOSES):
        r = tag_text(f"We {neg} {d} {p}.")
        assert r.polarity.get("ai-training") == "negated", (neg, d, p, r)


@pytest.mark.parametrize("ban", ["You may not", "You must not", "You agree not to", "Users shall not"])
def test_composed_user_prohibitions_are_not_the_tag(ban: str) -> None:
    for obj, p in itertools.product(["scrape the Service", "use automated means to collect content",
                                     "crawl our website"],
                                    ["to train a machine learning model", "for training AI models",
                                     "to develop or train any artificial intelligence system"]):
        text = f"{ban} {obj} {p}."
        assert "ai-training" not in tag_text(text).tags, text


@pytest.mark.parametrize("term", ["face geometry", "facial recognition data", "voiceprints", "fingerprints",
                                  "iris scans", "biometric identifiers", "face scans"])
def test_composed_biometrics(term: str) -> None:
    for frame, pol in [("We collect {} to verify your identity.", "affirmed"),
                       ("We do not collect {}.", "negated"),
                       ("We may share {} with our identity verification provider.", "affirmed")]:
        r = tag_text(frame.format(term))
        assert r.polarity.get("biometrics") == pol, (frame, term, r)


# Third set (tests/data/tag-examples-en-3.jsonl, split "heldout3"): 124 clauses from social, AI
# assistants, dating, fintech, health, kids' apps, smart devices, HR, browser extensions and games,
# written before the third rule pass and measured once (ai P 0.968 R 0.811, bio P 0.955 R 0.913,
# secondary macro-F1 0.839, polarity 0.863). The rules were then revised for the weakness classes
# it showed, so these floors (a little below the after-tuning figures) guard against regressions;
# they are no longer a held-out measure.
THIRD_FLOORS = (0.95, 0.93, 0.93, 0.95, 0.87, 0.90)


def test_third_set_floors() -> None:
    spec = importlib.util.spec_from_file_location("tags_eval", ROOT / "bench" / "tags_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.load([DATA / "tag-examples-en-3.jsonl"])
    assert len(rows) >= 100
    fig = mod.evaluate(rows)
    ai_p, ai_r, bio_p, bio_r, sec, pol = THIRD_FLOORS
    ai, bio = fig["per_tag"]["ai-training"], fig["per_tag"]["biometrics"]
    assert ai["precision"] >= ai_p and ai["recall"] >= ai_r, ai
    assert bio["precision"] >= bio_p and bio["recall"] >= bio_r, bio
    assert fig["secondary_macro_f1"] >= sec, fig["secondary_macro_f1"]
    assert fig["polarity_accuracy"] >= pol, fig["polarity_by_gold"]


@pytest.mark.parametrize("neg", ["do not", "never", "will not", "don't"])
def test_composed_train_on_negations(neg: str) -> None:
    """Training ON data is the definition even when the model is not named."""
    for d in ["your data", "customer content", "data from enterprise customers", "your messages",
              "inputs submitted through the API"]:
        r = tag_text(f"We {neg} train on {d}.")
        assert r.polarity.get("ai-training") == "negated", (neg, d, r)


@pytest.mark.parametrize("party", ["Our vendor", "The model provider", "Our service providers", "Third parties"])
def test_composed_third_party_barred_from_training(party: str) -> None:
    """A processor barred from training is a limit on the data's use (on topic, negated), not a
    prohibition addressed to the user."""
    for ban in ["is not permitted to use", "are contractually prohibited from using", "has agreed not to use"]:
        text = f"{party} {ban} your data to train its models."
        r = tag_text(text)
        assert r.polarity.get("ai-training") == "negated", (text, r)


@pytest.mark.parametrize("gate", ["only if you allow it in your privacy settings", "if you have turned on this setting",
                                  "if you opt in", "once you have enabled the improvement setting"])
def test_composed_opt_in_gates_are_conditional(gate: str) -> None:
    for use in ["we use your recordings to train our speech models", "your prompts may be used to improve our AI models"]:
        text = f"{use[0].upper()}{use[1:]} {gate}."
        assert tag_text(text).polarity.get("ai-training") == "conditional", text


@pytest.mark.parametrize("who", ["You may not", "You must not", "Developers shall not", "You agree not to",
                                 "Users shall not", "Do not"])
def test_composed_user_prohibitions_on_biometrics_are_not_the_tag(who: str) -> None:
    """A rule for the user, customer or developer about biometric data is not the service's own
    practice (revised labelling rules, ../shared/README.md): not the tag. (Under the old rules it
    was tagged and only kept from being "negated".)"""
    for act in ["use face data for advertising", "store facial geometry outside the device", "sell fingerprint templates",
                "upload other people's biometric data without their consent"]:
        text = f"{who} {act}."
        assert "biometrics" not in tag_text(text).tags, text


@pytest.mark.parametrize("who", ["Our vendor", "The verification provider", "Our service providers"])
def test_composed_processors_barred_from_biometric_uses_stay_tagged(who: str) -> None:
    """A limit on the service's processors is a limit on the service's own processing: on topic."""
    for ban in ["is not permitted to use", "is contractually prohibited from using"]:
        text = f"{who} {ban} your face geometry for any other purpose."
        r = tag_text(text)
        assert "biometrics" in r.tags and r.polarity["biometrics"] in ("negated", "restricted"), (text, r)


@pytest.mark.parametrize("text", [
    "The number of tokens used per model is shown in the developer dashboard.",
    "Model weights and fine-tuned checkpoints may not be redistributed.",
    "You can train custom models on your own data in the Studio.",
    "Customers may fine-tune models using their own data; those models are private to the customer.",
])
def test_non_training_senses_of_model(text: str) -> None:
    assert "ai-training" not in tag_text(text).tags, text
