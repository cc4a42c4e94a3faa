"""Priority-tag events end to end: an OTA-shaped history imported with the real CLI, then what a reader
gets from ``report --tag ai-training``, ``tags/ai-training.atom`` and ``diff`` (issue 15, item 1).

The history (written for this test) has the artefacts of the real archive: a capture that holds the
AI-training block twice, then once again, around a real retention change; then a real change of stance
and a removal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import feedparser
import pytest
from conftest import Workspace

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

AI = "We may use your posts and photos to train our artificial intelligence models."
AI_OPT_IN = "We will use your posts and photos to train our artificial intelligence models only if you opt in."
DOC = """# Acme Privacy Policy

## What we collect

We collect the name and email address you give us when you create an account.

## How we use it

We use your information to provide and improve the service.
{use}
## How long we keep it

We keep your information for {keep}.
"""


def commit(repo: Path, text: str, date: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(repo), GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    f = repo / "Acme" / "Privacy Policy.md"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text, encoding="utf-8")
    for args in (["add", "-A"], ["commit", "-q", "-m", "Record new changes of Acme Privacy Policy"]):
        subprocess.run(["git", "-c", "user.name=OTA", "-c", "user.email=ota@example.org", *args], cwd=repo, env=env,
                       check=True, capture_output=True)


@pytest.fixture
def imported(ws: Workspace, tmp_path: Path) -> Workspace:
    repo = tmp_path / "versions"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    steps = [
        (DOC.format(use="", keep="one year"), "2023-01-10T10:00:00Z"),  # v1
        (DOC.format(use=f"\n{AI}\n", keep="one year"), "2023-03-10T10:00:00Z"),  # v2: AI training added
        # v3: the capture holds the block twice (current + upcoming), and retention really changed
        (DOC.format(use=f"\n{AI}\n\nWe use your information to provide and improve the service.\n\n{AI}\n",
                    keep="two years"), "2023-05-10T10:00:00Z"),
        (DOC.format(use=f"\n{AI}\n", keep="two years"), "2023-06-10T10:00:00Z"),  # v4: back to one copy
        (DOC.format(use=f"\n{AI_OPT_IN}\n", keep="two years"), "2023-08-10T10:00:00Z"),  # v5: now only with opt-in
        (DOC.format(use="", keep="two years"), "2023-10-10T10:00:00Z"),  # v6: gone
    ]
    for text, date in steps:
        commit(repo, text, date)
    r = ws.run("import-versions", str(repo))
    assert r.code == 0, r.err
    return ws


def test_report_and_tag_feed_list_only_true_events(imported: Workspace) -> None:
    rows = imported.run("report", "--tag", "ai-training", "--format", "json").json()
    assert [(r["date"], r["direction"], r["stance"], r["old_stance"]) for r in rows] == [
        ("2023-03-10", "added", "affirmed", ""),
        ("2023-08-10", "stance", "conditional", "affirmed"),
        ("2023-10-10", "removed", "conditional", ""),
    ]
    assert rows[0]["text"] == AI and rows[1]["text"] == AI_OPT_IN
    text = imported.run("report", "--tag", "ai-training").out
    assert "ai-training stance: affirmed → conditional" in text and "ai-training added (affirmed)" in text
    # the retention change of the doubled capture is still a change, just not an AI-training one
    assert any(r["date"] == "2023-05-10" for r in imported.run("report", "--format", "json").json())

    feed = feedparser.parse((imported.feeds / "tags" / "ai-training.atom").read_bytes())
    assert len(feed.entries) == 3
    everything = feedparser.parse((imported.feeds / "all.atom").read_bytes())
    assert len(everything.entries) == 5


def test_diff_and_check_output_name_the_event(imported: Workspace) -> None:
    out = imported.run("diff", "Acme", "--from", "4", "--to", "5").out
    # the event in the same plain words as the feeds and pages (publish/headline.py)
    assert out.startswith("ALERT AI training now only with consent (was: may train): “" + AI_OPT_IN)
    quiet = imported.run("diff", "Acme", "--from", "2", "--to", "3").out
    assert "ALERT" not in quiet and "two years" in quiet
    data = imported.run("diff", "Acme", "--from", "4", "--to", "5", "--format", "json").json()
    assert [(e["tag"], e["kind"]) for e in data["events"]] == [("ai-training", "stance")]


def test_notifications_take_the_priority_tags_from_the_events(imported: Workspace) -> None:
    from tracker.publish.notify import payload
    from tracker.store.database import Store

    with Store(imported.db) as store:
        by_version = {rec.to_version: rec for rec in store.changes(service="Acme")}
    doubled, stance = payload(by_version[3]), payload(by_version[5])
    assert "ai-training" not in doubled["tags"] and "ai-training" not in doubled["directions"]
    assert doubled["events"] == [] and "data-retention" in doubled["tags"]
    assert stance["directions"]["ai-training"] == "stance"
    assert [(e["kind"], e["old_stance"], e["stance"]) for e in stance["events"]] == [
        ("stance", "affirmed", "conditional")]
