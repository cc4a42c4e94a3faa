"""Capture artefacts in real histories: commits of Open Terms Archive's contrib collection (the
development archive, ``../shared/history/contrib-dev.bundle``; data ODC-BY 1.0, Open Terms Archive
and its contributors) replayed into a small repository and imported with `import-versions`.
Skipped when the archive is absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import SHARED, Workspace
from test_history_import import Repo

from tracker.store.database import Store

BUNDLE = SHARED / "history" / "contrib-dev.bundle"
pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
              pytest.mark.skipif(not BUNDLE.exists(), reason="../shared/history/contrib-dev.bundle is not present")]


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("contrib") / "archive"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(BUNDLE), str(dest)], check=True)
    return dest


def replay(archive: Path, path: str, first: int, dest: Repo) -> list[str]:
    """The ``first`` commits of one file, replayed with their dates and messages; their subjects."""
    log = subprocess.run(["git", "-C", str(archive), "log", "--reverse", "--format=%H%x1f%aI%x1f%s", "--", path],
                         capture_output=True, text=True, check=True).stdout.splitlines()[:first]
    subjects = []
    for line in log:
        sha, date, subject = line.split("\x1f")
        body = subprocess.run(["git", "-C", str(archive), "show", f"{sha}:{path}"], capture_output=True,
                              check=True).stdout
        f = dest.root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(body)
        dest.git("add", "-A")
        dest.git("commit", "-q", "--allow-empty", "-m", subject, date=date)
        subjects.append(subject)
    return subjects


def history(ws: Workspace, service: str, type_: str) -> list[tuple]:
    """(version, significant or None, tags, note) per stored version."""
    with Store(ws.db) as s:
        doc = s.document(service, type_)
        assert doc is not None
        changes = {c.to_version: c for c in s.changes(significant_only=False) if c.document_id == doc.id}
        out = []
        for v in reversed(s.versions(service, type_)):
            c = changes.get(v.number)
            sig = None if c is None else s.conn.execute("SELECT significant FROM changes WHERE id=?",
                                                        (c.id,)).fetchone()[0]
            out.append((v.number, sig, c.tags if c else [], c.diff.note if c else None))
        return out


def test_a_refilter_commit_re_baselines_and_the_next_change_is_against_it(ws: Workspace, archive: Path,
                                                                          tmp_path: Path) -> None:
    """ASKfm's terms, 2020-07 to 2023-05: a "Refilter" commit (a new selector) between two updates."""
    repo = Repo(tmp_path / "askfm")
    subjects = replay(archive, "ASKfm/Terms of Service.md", 4, repo)
    assert subjects[2].startswith("Refilter")
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    got = history(ws, "ASKfm", "Terms of Service")
    assert len(got) == 3  # the first update changed nothing significant
    assert got[1][1:] == (0, [], "re-baselined: technical commit")  # recorded, not published
    assert got[2][1] > 0 and got[2][3] == ""  # the next update is a published change...
    with Store(ws.db) as s:
        rec = s.changes(service="ASKfm")[0]
    assert (rec.from_version, rec.to_version) == (2, 3)  # ...diffed against the re-baselined text


def test_a_page_alternating_with_another_document_keeps_its_reference(ws: Workspace, archive: Path,
                                                                     tmp_path: Path) -> None:
    """AdSense's Acceptable Use Policy, August 2020: hour after hour the capture switches between the
    "AdSense Program policies" and the "Google Publisher Policies" pages."""
    repo = Repo(tmp_path / "adsense")
    replay(archive, "AdSense/Acceptable Use Policy.md", 10, repo)
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    assert "held" in r.out
    got = history(ws, "AdSense", "Acceptable Use Policy")
    assert not [g for g in got if g[3]]  # the other page never became a version
    with Store(ws.db) as s:
        lengths = [v.to_dict()["length"] for v in s.versions("AdSense")]
        discarded = [n for n in s.capture_notes() if n.kind == "discarded"]
    assert max(lengths) < 1.2 * min(lengths)  # every version is the same document
    assert len(discarded) == 1  # said the first time, not at every flip
