"""Bundled declarations, ``validate`` and ``import-ota`` through the real CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.sources.declarations import load_file, load_policies, slugify

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
HTML = ROOT / ".." / "shared" / "corpus" / "html"

MUST_HAVE = ["X", "Facebook", "Instagram", "WhatsApp", "Threads", "TikTok", "YouTube", "Google", "LinkedIn",
             "Reddit", "Snapchat", "Pinterest", "Discord", "Telegram", "Bluesky", "Mastodon (mastodon.social)",
             "Microsoft", "Apple", "Amazon", "Zoom", "Slack", "Adobe", "Spotify", "Netflix", "Uber", "Airbnb",
             "Tinder", "Bumble", "Match", "OpenAI", "Anthropic", "Mistral AI", "Perplexity", "Character.AI",
             "Midjourney", "Tumblr", "Quora", "Twitch", "Roblox", "Duolingo", "Grammarly"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ----------------------------------------------------------------------------- bundled declarations


def test_every_bundled_declaration_loads():
    docs = load_policies(POLICIES)
    services = {d.service for d in docs}
    assert len(services) >= 40
    assert set(MUST_HAVE) <= services
    for name in services:
        types = {d.type for d in docs if d.service == name}
        assert "Privacy Policy" in types, name
    for path in POLICIES.glob("*.toml"):
        (first, *_) = load_file(path)
        assert path.stem == slugify(first.service), path  # `add`/import-ota find files by slug


def test_terms_where_ai_and_biometrics_live_are_watched():
    docs = {(d.service, d.type): d for d in load_policies(POLICIES)}
    for key in [("X", "Terms of Service"), ("Zoom", "Terms of Service"), ("Meta AI", "Terms of Service"),
                ("OpenAI", "Terms of Service"), ("Slack", "Privacy Principles")]:
        assert key in docs, key
    assert all(d.url.startswith("https://") for d in docs.values())


# ----------------------------------------------------------------------------- validate


def test_validate_bundled_exit_0():
    r = run("--policies", str(POLICIES), "validate")
    assert r.exit_code == 0, r.output
    assert "all valid" in r.output


def test_validate_reports_each_problem_on_one_line_exit_2(tmp_path):
    (tmp_path / "ok.toml").write_text('name = "Ok"\n[documents."Privacy Policy"]\nurl = "https://ok.example/p"\n')
    (tmp_path / "bad.toml").write_text(
        'name = "Bad"\n'
        '[documents."Privacy Policy"]\nurl = "ftp://bad.example/p"\n'
        '[documents."Terms"]\nurl = "https://bad.example/t"\nselect = ["div[[x"]\n')
    (tmp_path / "broken.toml").write_text('name = "Broken\n')
    (tmp_path / "dup.toml").write_text('name = "ok"\n[documents.P]\nurl = "https://ok.example/q"\n')
    r = CliRunner().invoke(cli, ["--policies", str(tmp_path), "validate"])
    assert r.exit_code == 2
    problems = [line for line in r.stderr.splitlines() if line]
    assert len(problems) == 4, problems
    assert any("bad.toml" in p and 'documents."Privacy Policy".url' in p for p in problems)
    assert any("bad.toml" in p and 'documents."Terms".select' in p for p in problems)
    assert any("broken.toml" in p and "invalid TOML" in p for p in problems)
    assert any("ok.toml: name: service 'Ok' is already declared in" in p and "dup.toml" in p for p in problems)
    assert "4 files, 1 service, 1 document: 4 problems" in r.stdout


def test_validate_a_single_bad_file(tmp_path):
    bad = tmp_path / "one.toml"
    bad.write_text('name = "One"\n[documents."Privacy Policy"]\nurl = "https://one.example"\ncolour = "red"\n')
    r = CliRunner().invoke(cli, ["validate", str(bad)])
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0
    assert "one.toml" in r.stderr and "colour" in r.stderr


def test_validate_missing_folder_is_one_line_error(tmp_path):
    from tracker.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--policies", str(tmp_path / "nope"), "validate"])
    assert e.value.code == 2


# ----------------------------------------------------------------------------- import-ota


def ota_file(folder: Path, name: str, decl: dict, history: dict | None = None) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(decl))
    if history is not None:
        (folder / f"{name}.history.json").write_text(json.dumps(history))
    return path


def test_import_ota_writes_valid_toml_and_reports_losses(tmp_path):
    src = tmp_path / "ota"
    src.mkdir()
    ota_file(src, "Example", {"name": "Example Co", "terms": {
        "Privacy Policy": {"fetch": "https://ex.example/privacy", "select": [{"startBefore": "h1",
                                                                             "endBefore": "footer"}],
                           "filter": ["removeTrackers"], "executeClientScripts": True},
        "Terms of Service": {"fetch": "https://ex.example/terms", "select": "main"},
        "Cookie Policy": {"fetch": "https://ex.example/cookies"}}},
        {"Privacy Policy": [{"fetch": "https://old.ex.example/privacy", "select": ".old",
                             "validUntil": "2022-01-01T00:00:00Z"}]})
    (src / "package.json").write_text('{"name": "not-a-declaration"}')
    pol = tmp_path / "policies"
    r = CliRunner().invoke(cli, ["--policies", str(pol), "import-ota", str(src),
                                 "--types", "Privacy Policy,Terms of Service"])
    assert r.exit_code == 0, r.output
    assert "removeTrackers" in r.stdout and "executeClientScripts" not in r.stdout  # carried over, not lost
    assert "package.json" in r.stderr  # skipped, and said so
    (out,) = pol.glob("*.toml")
    assert out.name == "example-co.toml"
    text = out.read_text()
    assert "Open Terms Archive" in text and "# filter not carried over" in text
    docs = {d.type: d for d in load_file(out)}
    assert set(docs) == {"Privacy Policy", "Terms of Service"}
    assert dict(docs["Privacy Policy"].select[0]) == {"startBefore": "h1", "endBefore": "footer"}
    assert docs["Privacy Policy"].history[0].url == "https://old.ex.example/privacy"
    assert docs["Privacy Policy"].browser and not docs["Terms of Service"].browser
    assert run("--policies", str(pol), "validate").exit_code == 0

    again = CliRunner().invoke(cli, ["--policies", str(pol), "import-ota", str(src / "Example.json")])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert out.read_text() == text  # untouched
    forced = CliRunner().invoke(cli, ["--policies", str(pol), "import-ota", str(src / "Example.json"), "--force"])
    assert forced.exit_code == 0
    assert "Cookie Policy" in tomllib.loads(out.read_text())["documents"]


def test_import_ota_refuses_a_name_declared_in_another_file(tmp_path):
    pol = tmp_path / "policies"
    pol.mkdir()
    (pol / "mine.toml").write_text('name = "Example"\n[documents.P]\nurl = "https://ex.example/p"\n')
    decl = ota_file(tmp_path, "Example", {"name": "Example", "terms": {"Privacy Policy": {
        "fetch": "https://ex.example/privacy"}}})
    r = CliRunner().invoke(cli, ["--policies", str(pol), "import-ota", str(decl), "--force"])
    assert r.exit_code == 2 and "mine.toml" in r.stderr
    assert sorted(p.name for p in pol.iterdir()) == ["mine.toml"]


def test_import_ota_real_corpus_declarations(tmp_path):
    if not HTML.is_dir():
        pytest.skip("../shared not present")
    pol = tmp_path / "policies"
    for folder in ("x-privacy", "amazon-privacy", "zoom-privacy", "openai-privacy"):
        r = CliRunner().invoke(cli, ["--policies", str(pol), "import-ota", str(HTML / folder / "declaration.json"),
                                     "--types", "Privacy Policy,Terms of Service"])
        assert r.exit_code == 0, r.output
    r = run("--policies", str(pol), "validate")
    assert r.exit_code == 0, r.output
    docs = load_policies(pol)
    assert {d.service for d in docs} == {"X", "Amazon.com", "Zoom", "OpenAI"}
    assert {d.type for d in docs} <= {"Privacy Policy", "Terms of Service", "Privacy Policy (part 2)"}
