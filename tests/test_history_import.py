"""import-versions and report: git repositories built in tmp_path, imported through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import Workspace, assert_one_line_error, shared_dir

from tracker.models import Change, Document, Evidence
from tracker.publish.report import key_sentence
from tracker.store.database import Store

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


class Repo:
    """A git repository shaped like an Open Terms Archive versions repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.git("init", "-q")

    def git(self, *args: str, date: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(self.root))
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        p = subprocess.run(["git", "-c", "user.name=OTA", "-c", "user.email=ota@example.org", *args],
                           cwd=self.root, env=env, capture_output=True, text=True, check=True)
        return p.stdout.strip()

    def commit(self, path: str, text: str, date: str) -> str:
        f = self.root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"Record new changes of {path[:-3]}", date=date)
        return self.git("rev-parse", "HEAD")


def versions(ws: Workspace, service: str, type_: str = "Privacy Policy") -> list[tuple]:
    with Store(ws.db) as s:
        doc = s.document(service, type_)
        assert doc is not None, (service, type_)
        return s.conn.execute("SELECT number, date(recorded_at, 'unixepoch'), source, source_ref FROM versions "
                              "WHERE document_id=? ORDER BY number", (doc.id,)).fetchall()


# --------------------------------------------------------------------------- synthetic repository

BASE = """# Acme Privacy Policy

Last updated: {date}

## What we collect

We collect the information you give us when you create an account, such as your name and email address.

We collect information about how you use the service, such as the pages you visit.

## How we use it

We use your information to provide and improve the service.
{extra}
## Your choices

You can delete your account at any time from the settings page.
"""
AI = "\nWe use your posts, photos and other content to train our artificial intelligence models.\n"
BIO = "\nWe collect face geometry and voiceprints to verify your identity.\n"


@pytest.fixture
def acme(tmp_path: Path) -> tuple[Repo, list[str]]:
    repo = Repo(tmp_path / "versions")
    shas = [
        repo.commit("Acme/Privacy Policy.md", BASE.format(date="1 March 2022", extra=""), "2022-03-01T10:00:00Z"),
        # formatting only: trailing spaces and a wider blank line -> no new version
        repo.commit("Acme/Privacy Policy.md", BASE.format(date="1 March 2022", extra="").replace(
            "the service.\n", "the service.   \n\n"), "2022-05-01T10:00:00Z"),
        repo.commit("Acme/Privacy Policy.md", BASE.format(date="2 June 2023", extra=AI + BIO), "2023-06-02T10:00:00Z"),
        repo.commit("Acme/Privacy Policy.md", BASE.format(date="3 July 2024", extra=BIO), "2024-07-03T10:00:00Z"),
        repo.commit("Other/Terms of Service.md", BASE.format(date="1 Jan 2024", extra="").replace(
            "Acme Privacy Policy", "Other Terms"), "2024-01-01T10:00:00Z"),
    ]
    return repo, shas


def test_synthetic_history_versions_changes_and_idempotence(ws: Workspace, acme) -> None:
    repo, shas = acme
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    assert "4 version(s), 2 change(s)" in r.out
    assert versions(ws, "Acme") == [
        (1, "2022-03-01", "import", shas[0]),
        (2, "2023-06-02", "import", shas[2]),  # the formatting-only commit made no version
        (3, "2024-07-03", "import", shas[3]),
    ]
    assert versions(ws, "Other", "Terms of Service") == [(1, "2024-01-01", "import", shas[4])]
    assert "new document" in r.err and "Acme / Privacy Policy" in r.err
    with Store(ws.db) as s:
        changes = s.changes(service="Acme")
    assert [c.detected_at for c in changes] == ["2024-07-03T10:00:00Z", "2023-06-02T10:00:00Z"]
    removal, addition = changes
    assert {"ai-training", "biometrics"} <= set(addition.tags)
    assert "ai-training" in removal.tags and "biometrics" not in removal.tags
    dirs = {t: d for c in addition.diff.significant for t, d in c.directions.items()}
    assert dirs["ai-training"] == "added" and dirs["biometrics"] == "added"
    assert any(c.directions.get("ai-training") == "removed" for c in removal.diff.significant)

    again = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert again.code == 0, again.err
    assert "0 version(s), 0 change(s)" in again.out and "5 already imported" in again.out
    assert len(versions(ws, "Acme")) == 3

    # a later commit (after `git pull`) is the only thing a new run imports
    sha = repo.commit("Acme/Privacy Policy.md", BASE.format(date="1 Aug 2025", extra=AI), "2025-08-01T10:00:00Z")
    third = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert third.code == 0, third.err
    assert "1 version(s), 1 change(s)" in third.out
    assert versions(ws, "Acme")[-1] == (4, "2025-08-01", "import", sha)


def test_report_json_text_html(ws: Workspace, acme) -> None:
    repo, _ = acme
    assert ws.run("import-versions", str(repo.root), "--no-feeds").code == 0
    r = ws.run("report", "--tag", "ai-training", "--format", "json")
    assert r.code == 0, r.err
    rows = r.json()
    assert [(x["date"], x["service"], x["type"], x["tag"], x["direction"]) for x in rows] == [
        ("2023-06-02", "Acme", "Privacy Policy", "ai-training", "added"),
        ("2024-07-03", "Acme", "Privacy Policy", "ai-training", "removed"),
    ]
    assert all(x["text"] == AI.strip() for x in rows)  # the new text when added, the old when removed

    since = ws.run("report", "--since", "2024-01-01", "--format", "json").json()
    assert {x["date"] for x in since} == {"2024-07-03"} and {x["tag"] for x in since} == {"ai-training"}

    text = ws.run("report", "--tag", "biometrics")
    assert text.code == 0 and "2023-06-02  Acme / Privacy Policy  biometrics added" in text.out
    assert "face geometry" in text.out

    html = ws.run("report", "--format", "html", "-o", str(ws.root / "r.html"))
    assert html.code == 0, html.err
    page = (ws.root / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<circle" in page
    assert "<script" not in page.lower()


def test_filters_escaping_and_errors(ws: Workspace, acme, tmp_path: Path) -> None:
    repo, _ = acme
    evil = "Evil<img src=x onerror=alert(1)>"
    repo.commit(f"{evil}/Privacy Policy.md", BASE.format(date="1 May 2024", extra=""), "2024-05-01T00:00:00Z")
    repo.commit(f"{evil}/Privacy Policy.md", BASE.format(date="2 May 2024", extra=AI), "2024-05-02T00:00:00Z")
    r = ws.run("import-versions", str(repo.root), "--service", "acme", "--type", "privacy policy", "--no-feeds")
    assert r.code == 0, r.err
    with Store(ws.db) as s:
        assert sorted((d.service, d.type) for d in s.documents()) == [("Acme", "Privacy Policy")]
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    page = ws.run("report", "--format", "html").out
    assert "<img" not in page and "Evil&lt;img src=x onerror=alert(1)&gt;" in page

    assert_one_line_error(ws.run("import-versions", str(tmp_path)), "not a git repository")
    assert_one_line_error(ws.run("import-versions", str(repo.root), "--service", "Nope"), "Nope")
    assert_one_line_error(ws.run("report", "--tag", "ai"), "unknown tag")
    assert_one_line_error(ws.run("report", "--since", "last year"), "--since")


def test_parallel_parsing_gives_the_same_history(tmp_path: Path) -> None:
    """--jobs 2 (a process pool over a bounded window) stores exactly what --jobs 1 stores."""
    repo = Repo(tmp_path / "many")
    extras = ["", AI, BIO, AI + BIO, "\nWe keep your data for two years.\n"]
    for i in range(30):
        svc = ("Acme", "Globex")[i % 2]
        repo.commit(f"{svc}/Privacy Policy.md", BASE.format(date=f"{i + 1} May 2021", extra=extras[i % 5]),
                    f"2021-05-{i % 28 + 1:02d}T{i % 24:02d}:00:00Z")
    dumps = []
    for jobs in ("1", "2"):
        w = Workspace(tmp_path / f"ws{jobs}")
        w.root.mkdir()
        r = w.run("import-versions", str(repo.root), "--jobs", jobs, "--no-feeds")
        assert r.code == 0, r.err
        with Store(w.db) as s:
            dumps.append(s.conn.execute(
                "SELECT d.service, v.number, v.recorded_at, v.sha256, v.source_ref FROM versions v "
                "JOIN documents d ON d.id = v.document_id ORDER BY d.service, v.number").fetchall()
                + s.conn.execute("SELECT document_id, to_version, detected_at, tags FROM changes "
                                 "ORDER BY document_id, to_version").fetchall())
    assert len(dumps[0]) > 10 and dumps[0] == dumps[1]


def test_history_older_than_stored_versions_is_skipped(ws: Workspace, acme) -> None:
    repo, _ = acme
    assert ws.run("import-versions", str(repo.root), "--type", "Terms of Service", "--no-feeds").code == 0
    with Store(ws.db) as s:  # a version recorded later than the whole history (as a check would)
        doc = s.document("Acme", "Privacy Policy") or s.ensure_documents(
            [Document(service="Acme", type="Privacy Policy", url="https://acme.example/privacy")])[
            ("Acme", "Privacy Policy")]
        with s.transaction():
            s.add_version(doc.id, text="Acme policy as fetched today.", clauses=[], recorded_at=4_000_000_000)
    r = ws.run("import-versions", str(repo.root), "--no-feeds")
    assert r.code == 0, r.err
    assert "4 older than stored versions" in r.out and "older than versions already stored" in r.err
    assert len(versions(ws, "Acme")) == 1


def test_key_sentence_picks_the_tagged_sentence() -> None:
    long = ("We use the information we collect to provide and operate our products and services, to keep "
            "them safe, and to personalise what you see across every surface of the service. We may use "
            "public information to help train our machine learning models. We also measure how well ads work "
            "for the businesses that pay for them, using the information described in this section.")
    ch = Change(kind="modified", section="Use", old="We use the information we collect to provide them.", new=long,
                tags=["ai-training"], evidence={"ai-training": [Evidence("r", 0, 0, "train our machine")]},
                directions={"ai-training": "added"})
    assert key_sentence(ch, "ai-training", "added") == (
        "We may use public information to help train our machine learning models.", long)


# --------------------------------------------------------------------------- real versions (../shared)


def _case(name: str, side: str) -> str:
    return (shared_dir() / "corpus" / "cases" / name / f"{side}.md").read_text(encoding="utf-8")


def test_real_history_x_google_and_cosmetic(ws: Workspace, tmp_path: Path) -> None:
    shared_dir()
    repo = Repo(tmp_path / "pga-versions")
    # Commits interleaved across files, in date order, with the dates OTA recorded.
    plan = [
        ("google-privacy-2023-07", "before", "Google/Privacy Policy.md", "2023-01-19T06:12:00Z"),
        ("x-privacy-2023-09", "before", "Twitter/Privacy Policy.md", "2023-08-24T04:03:00Z"),
        ("google-privacy-2023-07", "after", "Google/Privacy Policy.md", "2023-06-29T09:40:00Z"),
        ("x-privacy-2023-09", "after", "Twitter/Privacy Policy.md", "2023-09-29T05:21:00Z"),
        ("cosmetic-facebook-privacy-2025-04-video-links", "before", "Facebook/Privacy Policy.md",
         "2025-04-08T02:00:00Z"),
        ("cosmetic-facebook-privacy-2025-04-video-links", "after", "Facebook/Privacy Policy.md",
         "2025-04-08T20:00:00Z"),
        ("cosmetic-google-privacy-2025-07-pdf-link", "before", "YouTube/Privacy Policy.md", "2025-07-02T03:00:00Z"),
        ("cosmetic-google-privacy-2025-07-pdf-link", "after", "YouTube/Privacy Policy.md", "2025-07-08T03:00:00Z"),
        ("cosmetic-x-tos-2025-10-whitespace", "before", "X/Terms of Service.md", "2025-09-23T03:00:00Z"),
        ("cosmetic-x-tos-2025-10-whitespace", "after", "X/Terms of Service.md", "2025-10-03T03:00:00Z"),
    ]
    for case, side, path, date in plan:
        repo.commit(path, _case(case, side), date)

    r = ws.run("import-versions", str(repo.root))
    assert r.code == 0, r.err
    assert [v[:2] for v in versions(ws, "Twitter")] == [(1, "2023-08-24"), (2, "2023-09-29")]
    assert [v[:2] for v in versions(ws, "Google")] == [(1, "2023-01-19"), (2, "2023-06-29")]
    for service, type_ in (("Facebook", "Privacy Policy"), ("YouTube", "Privacy Policy"), ("X", "Terms of Service")):
        assert len(versions(ws, service, type_)) == 1, service  # cosmetic: no second version

    with Store(ws.db) as s:
        (x,) = s.changes(service="Twitter")
        (g,) = s.changes(service="Google")
        assert s.changes(service="Facebook") == [] and s.changes(service="YouTube") == []
    assert x.detected_at.startswith("2023-09-29")
    x_dirs: dict[str, set[str]] = {}
    for c in x.diff.significant:
        for t, d in c.directions.items():
            x_dirs.setdefault(t, set()).add(d)
    assert "added" in x_dirs["ai-training"] and "added" in x_dirs["biometrics"]
    assert "ai-training" in g.tags
    assert (ws.feeds / "all.atom").is_file()  # feeds rebuilt after the import

    again = ws.run("import-versions", str(repo.root))
    assert again.code == 0 and "0 version(s), 0 change(s)" in again.out and "10 already imported" in again.out

    rows = ws.run("report", "--tag", "ai-training", "--format", "json").json()
    x_rows = [row for row in rows if row["service"] == "Twitter"]
    assert [(row["date"], row["type"], row["tag"], row["direction"]) for row in x_rows] == [
        ("2023-09-29", "Privacy Policy", "ai-training", "added")]
    assert "train our machine learning or artificial intelligence models" in x_rows[0]["text"]
    assert any(row["service"] == "Google" and "AI models" in row["text"] for row in rows)
    bio = ws.run("report", "--tag", "biometrics", "--format", "json").json()
    assert any(row["service"] == "Twitter" and row["direction"] == "added" and "biometric information" in
               row["text"] for row in bio)

    page = ws.run("report", "--tag", "ai-training", "--format", "html").out
    assert "<svg" in page and "<script" not in page.lower() and "Twitter" in page
    assert json.loads(ws.run("report", "--format", "json").out)  # every tag
