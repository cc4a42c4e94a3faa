"""Publishing reads what the stored diff carries and never runs the tagger again (issue 14):
key sentences of the timeline report, old polarities on pages, and a whole build in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from feeddata import AI_AFFIRMED, AI_NEGATED, add_change, demo_store, modified, ts

from tracker.models import Change, Evidence
from tracker.publish.pages import polarity_note
from tracker.publish.report import key_sentence

LONG_OLD = ("We keep your account details while your account is open, and we review this regularly. "
            "1. We may share your information with our partners for advertising purposes. "
            "We also keep server logs for security reasons, as described in the security section below, "
            "and we delete them after a period that depends on the country where you live.")
LONG_NEW = ("We keep your account details while your account is open, and we review this regularly. "
            "1. We do not sell your information to anyone for any purpose. "
            "We also keep server logs for security reasons, as described in the security section below, "
            "and we delete them after a period that depends on the country where you live.")


def test_evidence_across_a_sentence_end_picks_the_sentences_it_spans() -> None:
    text = ("Our offices are listed below for every country where we operate today. Contact details: "
            "Customer Service. To help us provide the Service we share data with our Affiliates in each "
            "country, under the agreements described in the section on international transfers. "
            "These agreements are reviewed every year by our data protection officer and our lawyers.")
    start = text.index("Service. To help")
    ev = Evidence("r", start, start + 40, text[start:start + 40])
    ch = Change(kind="added", section="", old=None, new=text, tags=["data-sharing"],
                evidence={"data-sharing": [ev]}, directions={"data-sharing": "added"})
    sentence, clause = key_sentence(ch, "data-sharing", "added")
    # the span covers "Customer Service." (heading-like, so after) and the sentence that shares data
    assert sentence == ("To help us provide the Service we share data with our Affiliates in each country, "
                        "under the agreements described in the section on international transfers.")
    assert clause == text


def test_tag_removed_by_a_rewording_uses_the_changed_sentence_not_a_bare_number() -> None:
    """The old text's evidence is not stored: the first changed sentence of the old text stands in,
    heading-like fragments ("1.") last."""
    ch = Change(kind="modified", section="", old=LONG_OLD, new=LONG_NEW, tags=[],
                directions={"data-sharing": "removed"})
    sentence, clause = key_sentence(ch, "data-sharing", "removed")
    assert sentence == "We may share your information with our partners for advertising purposes."
    assert clause == LONG_OLD


def test_flipped_without_a_stored_old_polarity_says_flipped_to() -> None:
    ch = modified(AI_NEGATED, AI_AFFIRMED)
    ch.tags, ch.polarity, ch.directions = ["ai-training"], {"ai-training": "affirmed"}, {"ai-training": "flipped"}
    assert polarity_note(ch, "ai-training") == "flipped to affirmed"  # a diff stored without old_polarity
    ch.old_polarity = {"ai-training": "negated"}
    assert polarity_note(ch, "ai-training") == "flipped: negated → affirmed"


def test_publishing_never_imports_the_tagger(tmp_path: Path) -> None:
    """Including the two cases that used to run it: a flip stored without the old polarity, and a
    tag removed from a long clause by a rewording."""
    store = demo_store(tmp_path / "t.db")
    flip = modified(AI_NEGATED, AI_AFFIRMED, "Your content")
    flip.tags, flip.polarity, flip.directions = ["ai-training"], {"ai-training": "affirmed"}, {"ai-training": "flipped"}
    reworded = modified(LONG_OLD, LONG_NEW, "Sharing")
    reworded.directions = {"data-sharing": "removed"}
    add_change(store, "Legacy", "Privacy Policy", [flip, reworded], ts(25), tag=False)
    store.close()
    code = (
        "import sys\n"
        "from tracker.store.database import Store\n"
        "from tracker.publish.build import build_feeds\n"
        "from tracker.publish.notify import payload, page_url\n"
        "from tracker.publish.report import build_rows, render_html\n"
        f"s = Store({str(tmp_path / 't.db')!r})\n"
        f"build_feeds(s, {str(tmp_path / 'feeds')!r})\n"
        "render_html(build_rows(s.changes()))\n"
        "[payload(r, page_url(s, r, 'https://example.test/')) for r in s.changes()]\n"
        "assert 'tracker.compare.tag' not in sys.modules, 'the tagger was imported'\n"
        "print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
