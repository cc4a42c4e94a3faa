"""The tagger on real labelled clauses (tests/data/clauses-labelled.jsonl, Open Terms Archive
contrib collection, ODC-BY 1.0, attribution: Open Terms Archive and its contributors).

1. The file itself: provenance on every line, split by service (never a service on both sides),
   no reserved service, the dev-set services on the tune side.
2. Issue 16's kinds of misses and false alarms, each with a real clause of the tune side (found by
   service and a few of its words, so the text lives only in the data file). Two kinds have no real
   clause in the labelled data (a face or name in community rules, animals' faces): they are tested
   with composed sentences and say so.
3. Floors: the tune side (tuned on: regression guard) and the held-out side (set a little below the
   one measurement of the frozen rules; a regression guard, not a target: do not tune on it).
4. The rule engine features the rules rely on: per-tag polarity cues, ignore cues, clause-scope
   vetoes, guards, vetoes serving several tags.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import SHARED

from tracker.compare.tag import load_rules, tag_text

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "clauses-labelled.jsonl"
PRIORITY = ("ai-training", "biometrics")
VERSIONS_REPOS = ("OpenTermsArchive/contrib-versions", "OpenTermsArchive/genai-eu-versions")


def _rows() -> list[dict]:
    return [json.loads(ln) for ln in LABELLED.read_text(encoding="utf-8").splitlines() if ln.strip()]


ROWS = _rows()


def clause(service: str, words: str) -> dict:
    """The one labelled clause of ``service`` holding ``words``."""
    found = [r for r in ROWS if r["service"] == service and words in r["text"]]
    assert len(found) >= 1, (service, words)
    return found[0]


def _eval_module():
    spec = importlib.util.spec_from_file_location("tags_eval", ROOT / "bench" / "tags_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------- the data file


def test_labelled_file_provenance_and_split() -> None:
    fields = ("text", "tags", "polarity", "hard_negative_for", "service", "repo", "path", "commit", "lang", "split")
    sides: dict[str, set[str]] = {"tune": set(), "heldout": set()}
    texts = set()
    for r in ROWS:
        assert all(k in r for k in fields), r.get("text", "")[:60]
        # Open Terms Archive's contrib collection, and genai for batch tags6-tune (ChatGPT, Qwen Chat)
        assert r["repo"] in VERSIONS_REPOS and r["path"].startswith(r["service"] + "/")
        assert len(r["commit"]) == 40 and int(r["commit"], 16) >= 0
        assert set(r["polarity"]) == set(r["tags"]) & set(PRIORITY), r["text"][:60]
        sides[r["split"]].add(r["service"])
        key = " ".join(r["text"].split()).lower()
        assert key not in texts, r["text"][:60]
        texts.add(key)
    assert not sides["tune"] & sides["heldout"], "a service on both sides"
    assert len(ROWS) >= 1000


def test_no_reserved_service_and_dev_services_on_the_tune_side() -> None:
    reserved_file = SHARED / "history" / "RESERVED.txt"
    dev_file = SHARED / "corpus" / "clauses-dev.jsonl"
    if not reserved_file.exists() or not dev_file.exists():
        pytest.skip("../shared not present")
    reserved = {ln.strip() for ln in reserved_file.read_text(encoding="utf-8").splitlines()
                if ln.strip() and not ln.startswith("#")}
    dev_services = {json.loads(ln)["path"].split("/")[0]
                    for ln in dev_file.read_text(encoding="utf-8").splitlines() if ln.strip()}
    mod = _eval_module()
    tune = mod.tune_services_of(ROWS, frozenset(dev_services))
    for r in ROWS:
        assert r["service"] not in reserved, r["service"]
        assert r["split"] == mod.split_of(r["service"], tune), r["service"]


# --------------------------------------------------------------------------- issue 16's kinds

MISSES = [
    # training stated with another object than "AI" or "models"
    ("recommendation algorithms", "Kick", "develop and improve our personalised recommendation algorithms"),
    ("bots", "AdRoll", "train the bots to efficiently"),
    ("the model(s) which powers our services", "Honkai- Star Rail", "including to train the model(s) which powers"),
    ("AI development as a purpose", "Dailymotion", "Research and development, including fostering AI development."),
    # anonymised or aggregated training
    ("anonymized data for machine learning", "Alibaba.com", "using anonymized data for machine learning purposes;"),
    ("aggregated and de-identified, then used for machine learning", "AdRoll", "aggregate and de-identify data it collects"),
    # opt-out sentence about improving AI
    ("opt-out of model training", "Honkai- Star Rail", "You can opt-out of model training anytime"),
    # an opt-out two sentences after the use, pointing back at it ("used in this way")
    ("opt-out in a later sentence", "Google Antigravity", "If you don’t want your Interactions used in this way"),
    # an opposition right to disclosure for AI training
    ("right to oppose", "Dailymotion", "possibility to oppose to such disclosure"),
    # "used for training purposes" next to AI, only with consent
    ("training purposes next to AI", "Firefox", "used for training purposes without your explicit consent"),
    # "will not ... train ... without your instruction or prior consent"
    ("no training without consent", "GitLab", "will not use your AI-inputs to train any language models"),
    # batch tags3-tune (branch tags3): purposes, coordinated objects, AI that learns from use
    ("model development purposes", "Lydia", "process improvement and model development purposes"),
    ("train or support ... systems", "Verizon", "we may monitor or record the interaction to help us better serve you; to personalize your experiences; to train or otherwise"),
    ("aggregated or anonymized data for partners' AI", "Dailymotion", "generally in the aggregated, encrypted or anonymized form"),
    ("AI providers under no-training terms", "Dune", "no-training and zero-retention terms"),
    ("untick the checkbox to stop model training", "Honkai- Star Rail", "unticking the relevant checkbox, or if unavailable"),
    ("biometrics when you consent to authentication", "Verizon", "We collect Biometric Information when you consent"),
    ("biometrics only for identity verification", "OKX", "generate and store biometric information solely for identity verification"),
    ("a table row answering No", "Exponential", "sleep, health, or exercise data. | No"),
    # batch tags4-tune (branch tags4): the row's last cell gives consent as the legal basis
    ("consent in a table row's last cell", "PayPal", "syncing your contact list to your account;<br>*   providing biometric data"),
]


@pytest.mark.parametrize("kind, service, words", MISSES, ids=[m[0] for m in MISSES])
def test_issue16_misses_are_found_with_their_polarity(kind: str, service: str, words: str) -> None:
    row = clause(service, words)
    r = tag_text(row["text"], row["lang"])
    for tag in set(row["tags"]) & set(PRIORITY):
        assert tag in r.tags, (kind, r)
        assert r.polarity[tag] == row["polarity"][tag], (kind, r.polarity)
        assert r.evidence[tag] and all(row["text"][e.start:e.end] == e.text for e in r.evidence[tag])


FALSE_ALARMS = [
    # bans on what users may do
    ("user ban: unauthorised AI tools", "Bandcamp", "Not to create, develop, use, or offer any Unauthorized AI Tools"),
    ("user ban: deep fakes", "WeTransfer", "deep fake technology, AI-generated material"),
    # "AI-generated content" labels
    ("AI-generated content labelled", "Dailymotion", "features enabling You to label Your Content"),
    ("AI-generated content principles", "Kick", "These principles also apply to the use of Artificial Intelligence"),
    # models of third parties offered to the customer
    ("third-party model chosen by the customer", "Google Antigravity", "third party or open source model"),
    # disclaimers about a provider's practices
    ("provider's practices disclaimed", "Stack Overflow", "AI Features utilize third-party provided services"),
    # "face" as a verb, "face to face", "likeness"
    ("face as a verb (we face a claim)", "Kick", "where we face threat of legal claim"),
    ("face as a verb (Apple faces a case)", "The Guardian", "Apple faces privacy case"),
    ("face-to-face verification", "Lydia", "face-to-face verification of their identity"),
    ("likeness in a data list", "Academia.edu", "your name, voice, signature, photograph, likeness"),
    ("name or likeness in a user warranty", "Kick", "to use such person's name or likeness"),
    # a company's name
    ("the name Hugging Face", "Hugging Face", "main establishment in the European Union is Hugging Face"),
    # machine learning used for security, no training
    ("machine learning for security", "Dailymotion", "advances technologies such as data encryption and machine learning"),
    # batch tags3-tune (branch tags3)
    ("train employees, support systems", "Verizon", "To help train employees and support resources and systems"),
    ("French 'entraîner' (to cause)", "Veepee", "pourra entraîner la suspension de l’accès au Site Veepee, voire la supression de son compte Veepee en"),
    ("a law that applies to biometric identifiers", "Verizon", "The Colorado Privacy Act applies to Biometric Identifiers"),
    ("a definition table row", "Wikipedia", "we consider at least the following to be Personal Information"),
    ("face as a verb (risks they face)", "Lydia", "the particular risks they and/or their close relations face"),
    ("a PGP key fingerprint", "Substack", "Fingerprint: 0A22"),
    ("AI features are labelled", "Stack Overflow", "AI Features of the Public Network will be clearly labeled"),
    ("AI detection of AI-generated content", "Substack", "identifying AI-generated or AI-assisted content"),
    ("a user ban on training with content", "Womans Day", "for the purpose of developing, training, fine tuning, or grounding"),
    # batch tags4-tune (branch tags4), labelled before any tagger run
    ("staff education and training", "pixiv", "education and training, etc."),
    ("an 'AI-generated content' help link", "pixiv", "What is \"AI-generated content\"?"),
    ("third-party AI providers as recipients", "Dune", "Third-party AI service providers"),
    ("matching algorithms use machine learning, no training statement", "Badoo", "Our matching algorithms are based on a range of factors"),
    ("likeness in a content licence", "Kick", "your name, voice, and/or likeness as contained in your User Content"),
    ("face as a verb (might face consequences)", "WeTransfer", "you might face consequences"),
    ("what a law describes as sensitive", "Verizon", "The law describes sensitive personal information"),
    ("content fingerprints", "Dailymotion", "create the associated digital fingerprints"),
]


@pytest.mark.parametrize("kind, service, words", FALSE_ALARMS, ids=[f[0] for f in FALSE_ALARMS])
def test_issue16_false_alarms_stay_quiet(kind: str, service: str, words: str) -> None:
    row = clause(service, words)
    hard = set(row["hard_negative_for"]) & set(PRIORITY)
    assert hard, row  # labelled as a hard negative of a priority tag
    r = tag_text(row["text"], row["lang"])
    assert not hard & set(r.tags), (kind, r.tags, r.evidence)


@pytest.mark.parametrize("text", [
    # no clause of these kinds is in the labelled data: composed from the issue's description
    "Do not post another person's name or face without their permission.",
    "Members must not share the name or face of a minor in public rooms.",
    "Our pet camera recognises your cat's face so that the flap opens only for it.",
    "The app analyses the facial features of your dog to suggest its breed.",
    "Public figures may face greater attention, and their posts may be widely recognised.",
])
def test_issue16_composed_biometrics_false_alarms(text: str) -> None:
    assert "biometrics" not in tag_text(text).tags, text


@pytest.mark.parametrize("text, tag, polarity", [
    # composed from the issue's kinds (branch tags2): training of filters, "for training purposes"
    # next to AI, models built by others, providers' practices, polarity of the user's own step
    ("We use the messages you report to train our spam and abuse filters.", "ai-training", "affirmed"),
    ("Training data is deleted after 30 days and used only to improve our fraud detection models.",
     "ai-training", "restricted"),
    ("Customers can choose among models trained by third parties, such as those of OpenAI.", "ai-training", None),
    ("We are not responsible for how third-party AI providers train their models.", "ai-training", None),
    ("Third-party model providers may have their own practices on training, governed by their terms.",
     "ai-training", None),
    ("Users who enable 'Share data to improve AI' allow us to use their prompts for model training.",
     "ai-training", "conditional"),
    ("We train our models on public posts only, not on private messages.", "ai-training", "restricted"),
    ("If you use voice authentication, we create a voiceprint to recognise you when you call.",
     "biometrics", "conditional"),
    ("To verify your profile, you can take a selfie; we then use facial recognition to compare it.",
     "biometrics", "conditional"),
    ("Facial geometry data is used only to prevent fraud and is not shared.", "biometrics", "restricted"),
    # branch tags3, from the definitions: teaching the service's systems, its systems learning
    ("We may use your content to teach our systems to better understand language.", "ai-training", "affirmed"),
    ("Your recordings help our technology learn to recognise speech more accurately.", "ai-training", "affirmed"),
    ("We teach new staff how to use our tools.", "ai-training", None),
    # branch tags4, from the definitions: the AI features, the app or the assistant as what is
    # improved or trained; limits stated in the same sentence or as a deletion time
    ("We use your feedback to make our AI features better.", "ai-training", "affirmed"),
    ("We use the photos you upload to teach the app to recognise objects.", "ai-training", "affirmed"),
    ("We use your inputs to fine-tune the assistant.", "ai-training", "affirmed"),
    ("We use your data to improve our AI features.", "ai-training", "affirmed"),
    ("We may use your content to improve our models; you can turn this off in settings.", "ai-training", "restricted"),
    ("Conversations used to train our models are deleted after 30 days.", "ai-training", "restricted"),
    ("Improving Our Website Services: we use AI Assistant chatbots to answer your questions.", "ai-training", None),
])
def test_issue16_composed_kinds(text: str, tag: str, polarity: str | None) -> None:
    r = tag_text(text)
    got = r.polarity.get(tag) if tag in r.tags else None
    assert got == polarity, (text, r.tags, r.polarity, r.evidence.get(tag))


@pytest.mark.parametrize("text", [
    # composed: the labelled data holds no real clause of this kind on the tune side
    "We use your information to improve our services, including our AI models.",
    "Your content helps us in developing and enhancing our AI models.",
])
def test_issue16_composed_improve_our_models_is_confident(text: str) -> None:
    r = tag_text(text)
    assert "ai-training" in r.tags and r.polarity["ai-training"] == "affirmed", r


# --------------------------------------------------------------------------- floors

# a little below the figures measured at the end of branch tags2 (README "Tags"): tune ai-training
# 1.00/0.92, biometrics 0.95/0.94, polarity 0.93, secondary 0.76; held-out (969 clauses, both
# labellings) ai-training 0.95/0.57, biometrics 0.80/0.80, polarity 0.83, secondary 0.70
# Branch tags3 (tune side 799 clauses with batch tags3-tune): tune ai-training 1.00/1.00, biometrics
# 0.95/0.96, polarity 0.92, secondary 0.74; held-out biometrics 0.82/0.80, the rest unchanged.
# Branch tags4 (tune side 898 clauses with batch tags4-tune): tune biometrics 0.95/0.94, polarity 0.93,
# secondary 0.73; held-out ai-training 0.96/0.63, polarity 0.84, the rest unchanged.
# Branch tags6 (tune side 1,255 clauses with batch tags6-tune, 315 clauses of ChatGPT and Qwen Chat from
# the genai collection): tune ai-training 0.98/1.00, biometrics 0.94/0.94, polarity 0.92, secondary
# 0.72 (the genai clauses' secondary wording fits the rules less: the floor moves to 0.70).
TUNE_FLOORS = {"ai-training": (0.97, 0.96), "biometrics": (0.93, 0.93), "polarity": 0.90, "secondary": 0.70}
# Branch tags5 (held-out 1,081 clauses with batch tags5, 112 clauses labelled after the round's rule
# work): held-out ai-training 0.92/0.62, biometrics 0.86/0.84, polarity 0.82, secondary 0.69; the
# round's rules changed no held-out figure (the batch's own figures are the same before and after).
# Branch tags6 (rules frozen at 320c4c0, measured once): held-out ai-training 0.89/0.62, biometrics
# 0.88/0.84, polarity 0.82, secondary 0.69 (one more ai-training false alarm than tags5's rules).
HELDOUT_FLOORS = {"ai-training": (0.87, 0.60), "biometrics": (0.85, 0.81), "polarity": 0.80, "secondary": 0.68}


@pytest.mark.parametrize("side, floors", [("tune", TUNE_FLOORS), ("heldout", HELDOUT_FLOORS)])
def test_labelled_floors(side: str, floors: dict) -> None:
    fig = _eval_module().evaluate([r for r in ROWS if r["split"] == side])
    for tag in PRIORITY:
        p, rc = floors[tag]
        m = fig["per_tag"][tag]
        assert m["precision"] >= p and m["recall"] >= rc, (side, tag, m)
    assert fig["polarity_accuracy"] >= floors["polarity"], (side, fig["polarity_by_gold"])
    assert fig["secondary_macro_f1"] >= floors["secondary"], (side, fig["secondary_macro_f1"])


# --------------------------------------------------------------------------- engine features


def _rules(tmp_path: Path, body: str):
    f = tmp_path / f"r{len(list(tmp_path.iterdir()))}.toml"  # load_rules caches by path
    f.write_text(body, encoding="utf-8")
    return load_rules((str(f),))


def test_per_tag_polarity_cues_and_ignore_cues(tmp_path: Path) -> None:
    rs = _rules(tmp_path, '''
[polarity.en]
negation = ["do not"]
restriction = ["only"]
restriction_ignore = ["not only"]
conditional = ["your consent"]
conditional_ignore = ["withdraw your consent"]
neg_conditional = ["by default"]
[polarity.en.biometrics]
restriction = ["deleted after"]
[[rule]]
id = "a"
tag = "ai-training"
all = ["train"]
window = 1
[[rule]]
id = "b"
tag = "biometrics"
all = ["faceprint"]
window = 1
''')
    assert tag_text("We train on it; it is deleted after a day.", "en", rs).polarity["ai-training"] == "affirmed"
    assert tag_text("We keep a faceprint; it is deleted after a day.", "en", rs).polarity["biometrics"] == "restricted"
    assert tag_text("We train on it with your consent.", "en", rs).polarity["ai-training"] == "conditional"
    assert tag_text("We train on it; you may withdraw your consent.", "en", rs).polarity["ai-training"] == "affirmed"
    assert tag_text("We do not train on it by default.", "en", rs).polarity["ai-training"] == "conditional"
    assert tag_text("We train on it by default.", "en", rs).polarity["ai-training"] == "affirmed"
    assert tag_text("We train on it, and not only once.", "en", rs).polarity["ai-training"] == "affirmed"
    assert tag_text("We train on it only once.", "en", rs).polarity["ai-training"] == "restricted"
    with pytest.raises(ValueError, match="unknown tag"):
        _rules(tmp_path, '[polarity.en.nope]\nrestriction = ["x"]\n')


def test_clause_scope_guard_and_also(tmp_path: Path) -> None:
    rs = _rules(tmp_path, '''
[[rule]]
id = "b"
tag = "biometrics"
all = ["faceprint"]
window = 1
[[rule]]
id = "k"
tag = "children"
all = ["children"]
window = 1
[[rule]]
id = "v.def"
tag = "biometrics"
veto = true
scope = "clause"
regex = true
guard = "means"
all = ["\\\\bmeans\\\\b"]
unless = ["\\\\bwe\\\\b"]
also = ["children"]
''')
    defn = "'Sensitive data' means the following. It includes a faceprint. And data of children."
    assert tag_text(defn, "en", rs).tags == []
    assert tag_text("Sensitive data means this. We collect a faceprint.", "en", rs).tags == ["biometrics"]
    assert tag_text("We keep a faceprint of children.", "en", rs).tags == ["biometrics", "children"]
    with pytest.raises(ValueError, match="also"):
        _rules(tmp_path, '[[rule]]\nid = "x"\ntag = "children"\nall = ["a"]\nalso = ["location"]\n')


def test_sentence_ends() -> None:
    """"e.g." and a period before a lower-case word end no sentence; the polarity and the vetoes
    see the whole sentence."""
    r = tag_text("Data from depth or facial mapping tools (e.g. ARKit) may not be used for advertising.")
    assert r.polarity.get("biometrics") == "restricted", r


def test_clause_scope_positive_rule_and_opt_out_after(tmp_path: Path) -> None:
    """A positive rule with scope = "clause" takes its other groups from anywhere in the text, with
    the first group's words as evidence; an opt_out_after cue in a later sentence restricts."""
    rs = _rules(tmp_path, '''
[polarity.en]
opt_out_after = ["re[want]:\\\\bif you do not want\\\\b"]
[[rule]]
id = "p"
tag = "ai-training"
scope = "clause"
all = ["training purposes", "ai"]
window = 1
''')
    r = tag_text("Some features use AI. Content is used for training purposes.", "en", rs)
    assert r.tags == ["ai-training"] and [e.text for e in r.evidence["ai-training"]] == ["training purposes"]
    assert r.polarity["ai-training"] == "affirmed"
    assert tag_text("Content is used for training purposes.", "en", rs).tags == []
    later = "It uses AI. Content is used for training purposes. If you do not want this, say so."
    assert tag_text(later, "en", rs).polarity["ai-training"] == "restricted"
