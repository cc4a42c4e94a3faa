"""The rule tagger: tags, polarity, evidence spans, diff directions, the rules file, the command."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from helpers import assert_one_line_error

from tracker.compare.tag import TAGS, detect_lang, load_rules, tag_changes, tag_text
from tracker.models import Change, DiffResult

RULES_DIR = Path(__file__).resolve().parents[1] / "tracker" / "rules"


# --------------------------------------------------------------------------- tag_text


@pytest.mark.parametrize("tag, text, polarity", [
    ("ai-training", "We may use the posts you share to train our generative AI models.", "affirmed"),
    ("ai-training", "We do not use your private messages to train artificial intelligence models.", "negated"),
    ("ai-training", "Your content isn't used to train our machine learning models.", "negated"),
    ("ai-training", "You can opt out of your public posts being used to train our AI models in Settings.",
     "restricted"),
    ("ai-training", "If you do not opt out, our partners may use this information to train their AI models.",
     "restricted"),
    ("ai-training", "Only if you opt in will your recordings be used to improve our speech recognition models.",
     "conditional"),
    ("biometrics", "We collect face geometry from your selfie to verify your identity.", "affirmed"),
    ("biometrics", "We use facial recognition to suggest tags for your friends in photos.", "affirmed"),
    ("biometrics", "We do not collect fingerprints or any other biometric identifiers.", "negated"),
    ("biometrics", "Your voiceprint lets us recognise your voice when you call support.", "affirmed"),
])
def test_priority_tag_and_polarity(tag: str, text: str, polarity: str) -> None:
    r = tag_text(text)
    assert tag in r.tags, r
    assert r.polarity[tag] == polarity


@pytest.mark.parametrize("tag, text", [
    ("ai-training", "All our staff receive regular training on data protection."),
    ("ai-training", "You may not use bots or scrapers to collect content from the Service to train a machine "
                    "learning model."),
    ("ai-training", "You agree not to use the output of the Services to develop models that compete with us."),
    ("ai-training", "We collect your device model, operating system and browser type."),
    ("ai-training", "Our smart compose feature uses artificial intelligence to suggest replies."),
    ("ai-training", "Data is exported in a machine-readable format."),
    ("ai-training", "You keep ownership of the models you train on our platform."),
    ("biometrics", "Sign in with your Facebook account through our interface."),
    ("biometrics", "We use browser fingerprinting and cookies to recognise your device."),
    ("biometrics", "Uploaded videos are matched against a digital fingerprint database of copyrighted works."),
    ("biometrics", "We store your voice messages so that the recipient can play them."),
    ("biometrics", "Your profile photo is visible to other users."),
    ("biometrics", "Fingerprint: 0A22 F8A8 0456 2638 DD74 BA94 2D86 525E"),
])
def test_priority_tag_hard_negatives(tag: str, text: str) -> None:
    assert tag not in tag_text(text).tags


def test_evidence_spans_point_into_the_text() -> None:
    text = "Intro.  We may use “your” content to TRAIN our machine-learning models; see below."
    r = tag_text(text)
    assert r.tags == ["ai-training"]
    rule_ids = {rule.id for rule in load_rules().rules}
    for ev in r.evidence["ai-training"]:
        assert text[ev.start:ev.end] == ev.text
        assert ev.rule in rule_ids
    assert any("TRAIN" in ev.text for ev in r.evidence["ai-training"])


def test_offsets_survive_characters_that_lowercase_to_two() -> None:
    text = "İİİ We use your data to train our AI models."
    ev = tag_text(text).evidence["ai-training"][0]
    assert text[ev.start:ev.end] == ev.text and "train" in ev.text


def test_secondary_tags() -> None:
    cases = {
        "data-sharing": "We share your personal information with service providers who process it on our behalf.",
        "data-retention": "We keep your account data for as long as your account is active and for 90 days after.",
        "children": "Our service is not directed to children under 13.",
        "location": "With your permission we collect the precise location of your device using GPS.",
        "law-enforcement": "We may disclose information to law enforcement in response to a subpoena.",
        "user-rights": "You have the right to access, correct or delete your personal data.",
        "tracking-advertising": "We and our partners use cookies to show you personalised ads.",
        "arbitration": "Disputes will be resolved by binding individual arbitration.",
    }
    for tag, text in cases.items():
        assert tag in tag_text(text).tags, (tag, text)


def test_nothing_in_boilerplate() -> None:
    for text in ["", "   ", "Please read this policy carefully.", "Last updated: 3 May 2024",
                 "These Terms are governed by the laws of the State of New York."]:
        r = tag_text(text)
        assert r.tags == [] and r.polarity == {} and r.evidence == {}


def test_possible_tier_is_separate() -> None:
    r = tag_text("Our models improve over time.")
    assert "ai-training" not in r.tags
    r = tag_text("We use voice recognition so you can dictate messages.")
    assert "biometrics" not in r.tags and "biometrics" in r.possible


def test_french() -> None:
    assert detect_lang("Nous utilisons vos données pour améliorer nos services.") == "fr"
    assert detect_lang("We use your data to improve our services.") == "en"
    r = tag_text("Nous n'utilisons pas vos publications pour entraîner nos modèles d'intelligence artificielle.")
    assert r.tags == ["ai-training"] and r.polarity["ai-training"] == "negated"
    r = tag_text("Nous collectons des données biométriques, comme la géométrie de votre visage.")
    assert "biometrics" in r.tags and r.polarity["biometrics"] == "affirmed"
    assert "ai-training" not in tag_text("Nos salariés suivent une formation sur les modèles de contrat.").tags


def test_lang_argument_overrides_detection() -> None:
    text = "Nous utilisons vos données pour entraîner nos modèles d'IA."
    assert "ai-training" in tag_text(text, "fr").tags
    assert "ai-training" in tag_text(text, "fr-FR").tags
    assert "ai-training" not in tag_text(text, "en").tags  # English rules do not read French


# --------------------------------------------------------------------------- tag_changes


def _change(kind: str, old: str | None, new: str | None) -> Change:
    return Change(kind=kind, section="Privacy", old=old, new=new)


def test_tag_changes_directions() -> None:
    neg = "We do not use your content to train our AI models."
    aff = "We use your content to train our AI models."
    aff2 = "We may use your content and public posts to train our AI models."
    res = DiffResult(changes=[
        _change("added", None, aff),
        _change("removed", aff, None),
        _change("modified", neg, aff),
        _change("modified", aff, aff2),
        _change("modified", "We improve our services.", aff),
        _change("modified", aff, "We improve our services."),
        _change("moved", aff, aff),
    ])
    out = tag_changes(res)
    assert out is res
    c = res.changes
    assert c[0].directions["ai-training"] == "added" and c[0].tags == ["ai-training"]
    assert c[1].directions["ai-training"] == "removed" and c[1].tags == ["ai-training"]
    assert c[2].directions["ai-training"] == "flipped"
    assert c[2].old_polarity["ai-training"] == "negated" and c[2].polarity["ai-training"] == "affirmed"
    assert c[3].directions["ai-training"] == "changed"
    assert c[4].directions["ai-training"] == "added"
    assert c[5].directions["ai-training"] == "removed" and c[5].tags == []
    assert "ai-training" not in c[6].directions  # moved, same words: nothing to flag
    assert c[2].evidence["ai-training"][0].text in aff


def test_change_round_trip_keeps_tag_fields() -> None:
    res = tag_changes(DiffResult(changes=[_change("modified", "We never sell biometric data.",
                                                  "We sell face scans to partners.")]))
    d = json.loads(json.dumps(res.to_dict()))
    back = DiffResult.from_dict(d).changes[0]
    assert back.old_polarity == res.changes[0].old_polarity
    assert back.directions == res.changes[0].directions
    assert back.evidence == res.changes[0].evidence
    assert back.directions["biometrics"] == "flipped"


# --------------------------------------------------------------------------- rules file


def test_rules_files_are_consistent() -> None:
    ids = []
    for f in sorted(RULES_DIR.glob("*.toml")):
        data = tomllib.loads(f.read_text(encoding="utf-8"))
        for r in data.get("rule", []):
            assert r["tag"] in TAGS, (f.name, r["id"])
            assert r.get("lang", "en") in ("en", "fr", "any")
            assert r["all"], r["id"]
            ids.append(r["id"])
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    rs = load_rules()
    for tag in TAGS:  # every tag can fire in English and the two priority tags in French
        assert rs.gates.get((tag, "en")), tag
    assert rs.gates.get(("ai-training", "fr")) and rs.gates.get(("biometrics", "fr"))


def test_custom_rules_file(tmp_path: Path) -> None:
    f = tmp_path / "r.toml"
    f.write_text('[[rule]]\nid = "x"\ntag = "children"\nall = ["pupil*", "school*"]\nwindow = 3\n',
                 encoding="utf-8")
    rs = load_rules((str(f),))
    assert tag_text("Pupils of the school", rules=rs).tags == ["children"]
    assert tag_text("Pupils of a big city school", rules=rs).tags == []  # outside the window
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\ntag = "nope"\nall = ["a"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown tag"):
        load_rules((str(bad),))


# --------------------------------------------------------------------------- command


def test_tag_command_json_lines(ws) -> None:
    src = ws.root / "in.jsonl"
    src.write_text(json.dumps({"id": 7, "text": "We use your posts to train our AI models."}) + "\n\n"
                   + json.dumps({"id": 8, "text": "Contact us by email."}) + "\n", encoding="utf-8")
    r = ws.run("tag", str(src))
    assert r.code == 0, r.err
    rows = r.json_lines()
    assert [row["id"] for row in rows] == [7, 8]
    assert rows[0]["tags"] == ["ai-training"] and rows[0]["polarity"] == {"ai-training": "affirmed"}
    ev = rows[0]["evidence"]["ai-training"][0]
    assert rows[0]["text"][ev["start"]:ev["end"]] == ev["text"]
    assert rows[1]["tags"] == [] and rows[1]["possible"] == [] and rows[1]["evidence"] == {}


def test_tag_command_plain_text_from_stdin(ws) -> None:
    r = ws.run("tag", input="We collect face scans.\n\nWe never sell your data.\n\n\nHello.\n")
    assert r.code == 0, r.err
    rows = r.json_lines()
    assert [row["text"] for row in rows] == ["We collect face scans.", "We never sell your data.", "Hello."]
    assert rows[0]["tags"] == ["biometrics"]


def test_tag_command_bad_input(ws) -> None:
    assert_one_line_error(ws.run("tag", str(ws.root / "missing.jsonl")), "missing.jsonl")
    bad = ws.root / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"id": 2}\n', encoding="utf-8")
    r = ws.run("tag", str(bad))
    assert_one_line_error(r, "line 2", "text")
    assert r.out == ""  # nothing half-written


def test_rule_regexes_compile_on_first_use_and_custom_files_fail_at_load(tmp_path: Path) -> None:
    from tracker.compare.tag import LazyRegex

    rx = LazyRegex(r"\bopt[- ]?out\b")
    assert [m.span() for m in rx.finditer("You may OPT-OUT or opt out.")] == [(8, 15), (19, 26)]
    assert rx.search("no way") is None and rx.match("opt out now").group() == "opt out"
    bad = tmp_path / "bad-regex.toml"
    bad.write_text('[[rule]]\nid = "v"\ntag = "children"\nveto = true\nregex = true\nall = ["(unclosed"]\n',
                   encoding="utf-8")
    with pytest.raises(re.error):
        load_rules((str(bad),))
