"""Capture artefacts in an imported history (real `import-versions` runs on git repositories built
here): technical commits, returns and flapping, an outlier capture followed by normal ones, a held
capture the archive kept, and failed commits named and retried (issue 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import feedparser
import pytest
from helpers import Workspace
from test_history_import import AI, BASE, Repo

from tracker.store.database import Store

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PATH = "Acme/Privacy Policy.md"
HELP = "\n".join(f"\n## Help topic {i}\n\nTo change setting number {i}, open the menu, choose the tab called "
                 f"Options {i}, then follow the steps shown on the screen until the change is saved.\n"
                 for i in range(40))
COOKIES = "# Cookie notice\n\n" + "\n".join(
    f"Cookie {name} is set by our {who} and expires after {n} days.\n"
    for n, (name, who) in enumerate([("sid", "login servers"), ("lang", "web servers"), ("ab", "test platform"),
                                     ("px", "advertising partners"), ("cs", "delivery network"),
                                     ("fq", "video player"), ("tz", "calendar widget"), ("rv", "review system"),
                                     ("bk", "booking engine"), ("hp", "help centre")], start=2))


def text(date: str = "1 March 2022", extra: str = "") -> str:
    return BASE.format(date=date, extra=extra)


def commit(repo: Repo, body: str, date: str, message: str | None = None, path: str = PATH) -> str:
    f = repo.root / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(body, encoding="utf-8")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--allow-empty", "-m", message or f"Record new changes of {path[:-3]}", date=date)
    return repo.git("rev-parse", "HEAD")


def rows(ws: Workspace) -> list[tuple]:
    """(version, date, note, significant, tags) per stored version of Acme's policy."""
    with Store(ws.db) as s:
        doc = s.document("Acme", "Privacy Policy")
        assert doc is not None
        out = []
        for n, day in s.conn.execute("SELECT number, date(recorded_at, 'unixepoch') FROM versions "
                                     "WHERE document_id=? ORDER BY number", (doc.id,)):
            ch = s.conn.execute("SELECT significant, tags FROM changes WHERE document_id=? AND to_version=?",
                                (doc.id, n)).fetchone()
            rec = s.change(s.conn.execute("SELECT id FROM changes WHERE document_id=? AND to_version=?",
                                          (doc.id, n)).fetchone()[0]) if ch else None
            out.append((n, day, rec.diff.note if rec else None, ch[0] if ch else None, ch[1] if ch else None))
        return out


def report(ws: Workspace, tag: str) -> list[dict]:
    r = ws.run("report", "--tag", tag, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "versions")


def test_a_technical_commit_re_baselines_without_a_change(ws: Workspace, repo: Repo) -> None:
    commit(repo, text(), "2022-03-01T10:00:00Z")
    # a selector upgrade brings a clause into the extract that was on the page all along
    commit(repo, text(extra=AI), "2022-04-01T10:00:00Z", "Apply technical or declaration upgrade on Acme Privacy Policy")
    commit(repo, text(extra=AI + "\nWe keep your data for two years.\n"), "2022-05-01T10:00:00Z")
    commit(repo, text(extra=AI), "2022-06-01T10:00:00Z", "Refilter Acme Privacy Policy")
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    assert "1 rebaselined" in r.out and "1 reverted" in r.out
    got = rows(ws)
    assert [g[2] for g in got] == [None, "re-baselined: technical commit", "", "reverted to v2"]
    assert got[1][3] == 0 and got[1][4] == "[]"  # recorded, not published, in no tag feed
    assert got[2][3] and "data-retention" in got[2][4]  # the next real change is against the re-baselined text
    assert report(ws, "ai-training") == []


def test_flapping_in_an_archive_is_shown_once(ws: Workspace, repo: Repo) -> None:
    a, b = text(), text(extra=AI)
    for i, body in enumerate([a, b, a, b, a, b, a]):
        commit(repo, body, f"2022-03-{i + 1:02d}T10:00:00Z")
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    got = rows(ws)
    assert len(got) == 7
    assert [(g[2], g[3]) for g in got[1:3]] == [("", 1), ("reverted to v1", 1)]
    assert all(g[3] == 0 and g[2].startswith("reverted to") for g in got[3:])  # later flips not published
    assert [x["date"] for x in report(ws, "ai-training")] == ["2022-03-02"]


def test_an_outlier_commit_never_blocks_the_ones_after_it(ws: Workspace, repo: Repo) -> None:
    """The freeze case: one capture several times as long as the document must not become the
    reference; the normal commits after it are imported against the last good version."""
    commit(repo, text(), "2022-03-01T10:00:00Z")
    commit(repo, text() + HELP, "2022-03-02T10:00:00Z")  # a whole help centre captured with it, for a day
    for i, extra in enumerate([AI, AI + "\nWe keep your data for two years.\n", ""]):
        commit(repo, text(date=f"{i + 2} April 2022", extra=extra), f"2022-03-0{i + 3}T10:00:00Z")
    r = ws.run("import-versions", str(repo.root))
    assert r.code == 0, r.err
    assert "1 held" in r.out
    got = rows(ws)
    assert [g[1] for g in got] == ["2022-03-01", "2022-03-03", "2022-03-04", "2022-03-05"]
    assert [x["direction"] for x in report(ws, "ai-training")] == ["added", "removed"]
    status = feedparser.parse((ws.feeds / "status.atom").read_bytes()).entries
    assert [e.title for e in status] == ["Acme Privacy Policy: outlier capture discarded"]


def test_a_swapped_document_the_archive_kept_is_confirmed(ws: Workspace, repo: Repo) -> None:
    commit(repo, text(), "2022-03-01T10:00:00Z")
    commit(repo, COOKIES, "2022-03-05T10:00:00Z")  # the capture switched to another page...
    commit(repo, COOKIES.replace("10 days", "11 days"), "2022-03-06T10:00:00Z")  # ...and stayed on it
    commit(repo, text(), "2022-06-01T10:00:00Z", path="Other/Terms of Service.md")
    r = ws.run("import-versions", str(repo.root), "--service", "Acme", "--no-feeds")
    assert r.code == 0, r.err
    got = rows(ws)
    assert len(got) == 2 and got[1][1] == "2022-03-06" and got[1][2].startswith("confirmed by the next capture")
    assert got[1][4] == "[]"

    # held at the end of the history, the archive's present confirms it once it stayed for days
    other = Repo(ws.root / "kept")
    commit(other, text(), "2022-03-01T10:00:00Z")
    commit(other, COOKIES, "2022-03-05T10:00:00Z")
    commit(other, text(), "2022-03-06T10:00:00Z", path="Other/Terms of Service.md")
    w2 = Workspace(ws.root / "w2")
    w2.root.mkdir()
    assert w2.run("import-versions", str(other.root), "--no-feeds").code == 0
    assert len(rows(w2)) == 1  # one day later: still held
    commit(other, text(date="2 May 2022"), "2022-05-01T10:00:00Z", path="Other/Terms of Service.md")
    r = w2.run("import-versions", str(other.root), "--no-feeds")
    assert r.code == 0, r.err
    got = rows(w2)
    assert len(got) == 2 and got[1][1] == "2022-03-05" and "stayed 57 days" in got[1][2]


def test_failed_commits_are_named_and_retried_in_their_place(ws: Workspace, repo: Repo) -> None:
    """A commit whose text cannot be read (its object missing from the repository) fails; the later
    commits are imported; once the object is back, the next run imports it in its place."""
    shas = [commit(repo, text(date=f"{i + 1} March 2022", extra=extra), f"2022-0{i + 3}-01T10:00:00Z")
            for i, extra in enumerate(["", AI, AI + "\nWe keep your data for two years.\n", ""])]
    blob = repo.git("rev-parse", f"{shas[1]}:{PATH}")
    loose = repo.root / ".git" / "objects" / blob[:2] / blob[2:]
    kept = repo.root.parent / "blob"
    shutil.move(loose, kept)
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 3, (r.code, r.err)
    assert f"failed: Acme/Privacy Policy: 1 commit(s), retried by the next import: {shas[1][:10]}" in r.err
    assert [g[1] for g in rows(ws)] == ["2022-03-01", "2022-05-01", "2022-06-01"]
    listed = {(x["service"], x["type"]): x for x in ws.run("list", "--json").json()}
    assert listed[("Acme", "Privacy Policy")]["failed_commits"][0].startswith(shas[1][:10])
    ws.run("feeds")
    status = feedparser.parse((ws.feeds / "status.atom").read_bytes()).entries
    assert [e.title for e in status] == ["Acme Privacy Policy: import commit failed"]

    shutil.move(kept, loose)
    again = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert again.code == 0, again.err
    assert "1 failed before, retried" in again.out
    with Store(ws.db) as s:
        refs = [r[0] for r in s.conn.execute("SELECT source_ref FROM versions ORDER BY number")]
        assert s.failed_commits(s.document("Acme", "Privacy Policy").id) == {}
    assert refs == shas
    assert [x["date"] for x in report(ws, "ai-training")] == ["2022-04-01", "2022-06-01"]
    assert ws.run("list", "--json").json()[0]["failed_commits"] == []
