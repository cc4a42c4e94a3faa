"""Cosmetic differences are no significant change (issue 15, item 4): link fragments that OTA's
Markdown leaves on a line of their own, clauses under a new or renamed heading, obfuscated e-mail
addresses, "Last updated … To see prior versions" lines.

First with small documents written for these tests in the shapes the real archive has, then on real
pairs of Open Terms Archive's contrib archive (../shared/history/contrib-dev.bundle, ODC-BY 1.0,
attribution: Open Terms Archive and its contributors), read from a clone made at test time; those
tests skip when the bundle is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SHARED

from tracker.check import analyse
from tracker.compare.diff import diff_clauses
from tracker.text.markdown import extract_markdown
from tracker.text.normalise import is_link_fragment, is_metadata, normalise

BODY = """# Example Privacy Policy

{top}

## Sharing

We share your information with service providers who process it for us.

We share aggregated statistics with advertisers.

## Contact

{contact}

You can also write to us at 1 Example Street, Springfield.
"""


def md(top: str = "Last updated: June 30, 2023", contact: str = "Write to privacy@example.com.") -> str:
    return BODY.format(top=top, contact=contact)


def sig(old: str, new: str) -> list:
    return diff_clauses(extract_markdown(old).clauses, extract_markdown(new).clauses).significant


# --------------------------------------------------------------------------- written for these tests


def test_link_fragment_lines_are_not_significant() -> None:
    def page(token: str) -> str:  # a link around a block: its end lands on a line of its own
        return md(contact=f"[Learn more about the Help Centre\n\n](https://lm.example.com/l.php?u=https%3A%2F%2F"
                          f"help.example.com%2F&h={token})\n\nWrite to privacy@example.com.")
    assert sig(page("AT0a1b2c3d4e5f"), page("AT9z8y7x6w5v")) == []
    gone = sig(page("AT0a1b2c3d4e5f"), md())  # the link went: its words are news, its tail is not
    assert [c.old for c in gone] == ["[Learn more about the Help Centre"]
    # an image inside a link: "[" and the image, then the link's end
    seal = "[![Privacy seal](data:image/svg+xml,%3Csvg%3E)\n\n![Privacy seal](//seal.example.com/s.png)\n\n](https://seal.example.com/v?rid=1)"
    assert sig(md(top=seal), md(top="[![Privacy seal](//seal.example.com/s.png)](https://seal.example.com/v?rid=1)")) == []
    assert is_link_fragment('](https://example.com/a?b=c "Title")') and is_link_fragment("[![x](data:a)")
    assert not is_link_fragment("[Learn more about the Help Centre") and not is_link_fragment("Write to us.")


def test_clauses_under_a_new_or_renamed_heading_have_not_moved() -> None:
    sub = md().replace("We share aggregated statistics", "### Advertisers\n\nWe share aggregated statistics")
    changes = sig(md(), sub)
    assert [(c.kind, c.clause_kind) for c in changes] == [("added", "heading")]  # the heading, no "moved"
    renamed = md().replace("## Sharing", "## Who we share it with")
    assert {c.clause_kind for c in sig(md(), renamed)} == {"heading"}  # the clauses under it did not move
    # a clause that went from one existing section to another did move
    moved = md().replace("We share aggregated statistics with advertisers.\n", "").replace(
        "## Contact\n", "## Contact\n\nWe share aggregated statistics with advertisers.\n")
    assert [c.kind for c in sig(md(), moved)] == ["moved"]


def test_obfuscated_email_is_not_significant_but_a_new_address_is() -> None:
    hidden = "Write to [\\[email protected\\]](https://example.com/cdn-cgi/l/email-protection)."
    assert sig(md(), md(contact=hidden)) == []
    assert sig(md(contact=hidden), md()) == []
    alone = "[\\[email protected\\]](https://example.com/cdn-cgi/l/email-protection#a1b2)"
    assert sig(md(contact="[privacy@example.com](mailto:privacy@example.com)"), md(contact=alone)) == []
    changed = sig(md(), md(contact="Write to dpo@example.org."))
    assert [c.kind for c in changed] == ["modified"]


def test_last_updated_with_prior_versions_is_metadata() -> None:
    old = md(top="Last updated: June 30, 2023. To see prior versions, click [here](https://example.com/archive).")
    new = md(top="Last updated: January 2, 2024. To see prior versions, click [here](https://example.com/archive).")
    r = diff_clauses(extract_markdown(old).clauses, extract_markdown(new).clauses)
    assert r.significant == [] and [c.reason for c in r.changes] == ["metadata"]
    assert is_metadata(normalise("Last Updated: March 3, 2024. View previous versions of our Privacy Policy here."))
    assert not is_metadata(normalise("Effective 1 May 2024, we will share your data with our partners."))


# --------------------------------------------------------------------------- real pairs

BUNDLE = SHARED / "history" / "contrib-dev.bundle"
# (commit, file): what each pair shows
REAL = {
    "link": ("04742a3cb7cb539345de783010ca9de204f001ff", "Simpli.fi/Privacy Policy.md"),  # split TRUSTe seal links
    "email": ("5a9851e8e", "Academia.edu/Privacy Policy.md"),  # address -> [email protected] on its own line
    "email-inline": ("6ee5d8a49", "Kick/Terms of Service.md"),  # support@kick.com -> [email protected] in clauses
    "heading": ("f2d53c731", "Youtube Kids/Privacy Policy.md"),  # a heading inserted above a clause
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    if not BUNDLE.is_file() or shutil.which("git") is None:
        pytest.skip("../shared/history/contrib-dev.bundle (or git) is not present")
    dest = tmp_path_factory.mktemp("contrib") / "contrib-dev"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(BUNDLE), str(dest)], check=True, capture_output=True)
    return dest


def _pair(repo: Path, key: str) -> tuple[list, list]:
    commit, path = REAL[key]

    def show(rev: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True, capture_output=True,
                              text=True).stdout
    return extract_markdown(show(commit + "^")).clauses, extract_markdown(show(commit)).clauses


@pytest.mark.parametrize("key", ["link", "email", "email-inline"])
def test_real_cosmetic_pairs_have_no_significant_change(archive: Path, key: str) -> None:
    old, new = _pair(archive, key)
    r = analyse(old, new, "en")
    assert r.changes and r.significant == [], [(c.kind, (c.old or c.new or "")[:80]) for c in r.significant]
    assert {c.reason for c in r.changes} <= {"link fragment", "e-mail obfuscation", "normalisation",
                                               "substitution"}


def test_real_heading_insertion_moves_nothing(archive: Path) -> None:
    old, new = _pair(archive, "heading")
    r = analyse(old, new, "en")
    assert [c.kind for c in r.significant] == ["added"] and r.significant[0].clause_kind == "heading"
