"""Everyday use (issue 18): the CLI as a new user runs it, each numbered problem through the real
program in a subprocess, against a local HTTP server and real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib

import pytest
from helpers import ROOT, assert_one_line_error, needs_tool
from pages import policy_html
from test_check import Site
from werkzeug import Response

from tracker.sources.declarations import load_policies

AI = "We may use your posts and publicly available information to train our artificial intelligence models."
FACE = "We collect face geometry from the photos you upload to verify your identity."


@pytest.fixture
def site(httpserver) -> Site:
    return Site(httpserver)


def stderr_lines(r) -> list[str]:
    return [line for line in r.err.splitlines() if line.strip()]


# --------------------------------------------------------------------------- 1. add keeps what was written


def test_add_merges_into_the_file_and_refuses_to_overwrite(ws) -> None:
    r = ws.run("add", "Example", "https://e.example/privacy", "--select", "main", "--interval", "12h",
               "--lang", "en")
    assert r.code == 0, r.err
    path = ws.policies / "example.toml"
    text = path.read_text(encoding="utf-8")
    # what a person adds by hand: comments, an unrelated setting
    text = "# Example Corp: checked weekly by Alice\n" + text.replace(
        'interval = "12h"', 'interval = "12h"  # their CDN is slow\nbrowser = false')
    path.write_text(text, encoding="utf-8")

    # the same document with another URL would overwrite it: refused, the file untouched
    r = ws.run("add", "Example", "https://e.example/privacy-2")
    assert_one_line_error(r, "url", "--replace")
    assert path.read_text(encoding="utf-8") == text

    # another document: added, everything else kept as written
    r = ws.run("add", "Example", "https://e.example/terms", "--type", "Terms of Service")
    assert r.code == 0, r.err
    after = path.read_text(encoding="utf-8")
    assert after.startswith(text)  # comments, order, select, interval, browser: byte for byte
    data = tomllib.loads(after)
    assert data["lang"] == "en" and "lang" not in data["documents"]["Privacy Policy"]  # still the service's
    docs = load_policies(ws.policies)
    assert [(d.type, d.url, d.select, d.interval, d.lang) for d in docs] == [
        ("Privacy Policy", "https://e.example/privacy", ("main",), 43200, "en"),
        ("Terms of Service", "https://e.example/terms", (), 86400, "en")]

    # the same again: nothing to do; --replace overwrites only what is given
    r = ws.run("add", "Example", "https://e.example/privacy", "--select", "main")
    assert r.code == 0 and r.out.startswith("unchanged"), (r.out, r.err)
    r = ws.run("add", "Example", "https://e.example/privacy-2", "--replace")
    assert r.code == 0, r.err
    final = path.read_text(encoding="utf-8")
    assert "# their CDN is slow" in final and "# Example Corp: checked weekly by Alice" in final
    docs = load_policies(ws.policies)
    assert (docs[0].url, docs[0].select, docs[0].interval) == ("https://e.example/privacy-2", ("main",), 43200)


# --------------------------------------------------------------------------- 2. one bad file blocks nothing


def test_a_bad_declaration_is_named_and_the_others_still_run(ws, site) -> None:
    ws.declare("Acme", site.url, interval="1s")
    (ws.policies / "zz-bad.toml").write_text('name = "Bad"\n[documents."Privacy Policy"]\nurl = "ftp://x"\n',
                                             encoding="utf-8")
    r = ws.run("check", "Acme", "--json")
    assert r.code == 2, (r.code, r.err)
    assert [o["state"] for o in r.json_lines()] == ["new"]  # Acme was checked all the same
    assert "zz-bad.toml" in r.err and "Traceback" not in r.err

    r = ws.run("list", "--json")
    assert r.code == 2 and [i["service"] for i in r.json()] == ["Acme", "zz-bad.toml"]  # the bad file: an item too
    assert r.json()[1]["reason"] == "bad-declaration" and "ftp://x" in r.json()[1]["error"]
    assert stderr_lines(r) == [line for line in stderr_lines(r) if "zz-bad.toml" in line] != []

    time.sleep(1.1)  # due again (interval 1s)
    r = ws.run("run", "--once", "--jitter", "0", "--host-delay", "0")
    assert r.code == 2, (r.code, r.err)
    assert "zz-bad.toml" in r.err
    assert sqlite3.connect(ws.db).execute("SELECT COUNT(*) FROM checks").fetchone()[0] == 2

    # within a file: one bad document leaves out that document only
    (ws.policies / "zz-bad.toml").write_text(
        'name = "Two"\n[documents."Privacy Policy"]\nurl = "ftp://x"\n'
        f'[documents."Terms"]\nurl = "{site.url}"\n', encoding="utf-8")
    r = ws.run("list", "--json")
    assert r.code == 2 and [(i["service"], i["type"]) for i in r.json()] == [
        ("Acme", "Privacy Policy"), ("Two", "Terms"), ("zz-bad.toml", "(declaration file)")]


# --------------------------------------------------------------------------- 3. cron gets a signal


def test_quiet_check_prints_changes_and_failures_and_exit_3_when_some_failed(ws, httpserver) -> None:
    good, bad1, bad2 = Site(httpserver, "/good"), Site(httpserver, "/bad1"), Site(httpserver, "/bad2")
    for name, s in (("Good", good), ("Bad One", bad1), ("Bad Two", bad2)):
        ws.declare(name, s.url)
    r = ws.run("check", "-q")
    assert (r.code, r.out, r.err) == (0, "", "")  # three new documents: nothing for cron to mail
    bad1.status = bad2.status = 500
    r = ws.run("check", "-q")
    assert r.code == 3, (r.code, r.out, r.err)
    lines = r.out.splitlines()
    assert len(lines) == 2 and all(": failed (http-status)" in line for line in lines), r.out
    good.body = policy_html({"How we use information": [AI]})
    bad1.status = bad2.status = 200
    r = ws.run("check", "-q")
    assert r.code == 0 and r.out.splitlines() == [line for line in r.out.splitlines() if "Good" in line]
    assert "changed -> v2" in r.out and "ai-training" in r.out


def test_quiet_daemon_log_has_a_line_per_change_and_failure(ws, site) -> None:
    ws.declare("Acme", site.url, interval="1s")
    log = ws.root / "run.log"
    r = ws.run("run", "--once", "--quiet", "--log-file", str(log), "--jitter", "0")
    assert r.code == 0, r.err
    site.body = policy_html({"How we use information": [AI]})
    time.sleep(1.1)
    r = ws.run("run", "--once", "--quiet", "--log-file", str(log), "--jitter", "0")
    assert r.code == 0, r.err
    changed = [line for line in log.read_text().splitlines() if "changed -> v2" in line]
    assert len(changed) == 1 and "ai-training" in changed[0], log.read_text()
    site.status = 503
    time.sleep(1.1)
    r = ws.run("run", "--once", "--quiet", "--log-file", str(log), "--jitter", "0")
    assert r.code == 3, r.err  # run --once says so too
    assert len([line for line in log.read_text().splitlines() if "failed" in line]) == 1
    assert "unchanged" not in log.read_text()


# --------------------------------------------------------------------------- 5. options that lied


def two_versions(ws, site, name: str = "Example", type_: str = "Privacy Policy", **extra) -> None:
    ws.declare(name, site.url, type_, **extra)
    assert ws.run("check").code == 0
    site.body = policy_html({"How we use information": [AI], "Information we collect": [FACE]})
    assert ws.run("check").code == 0


def test_diff_versions_and_list_options_are_checked(ws, site) -> None:
    two_versions(ws, site)
    assert_one_line_error(ws.run("diff", "Example", "--tag", "no-such-tag"), "no-such-tag", "ai-training")
    assert_one_line_error(ws.run("diff", "Example", "--from", "-1"), "both version 2")
    assert_one_line_error(ws.run("diff", "Example", "--from", "0"), "--from 0")
    assert_one_line_error(ws.run("diff", "Example", "--from", "-5"), "no version -5")
    r = ws.run("diff", "Example", "--from", "-2", "--format", "json")
    assert r.code == 0 and r.json()["stats"]["significant"] == 2
    r = ws.run("list", "--broken-after", "0")
    assert r.code == 2 and "broken-after" in r.err and "broken" not in r.out


# --------------------------------------------------------------------------- 6. the database is the list


def test_list_shows_stored_only_documents_and_forget_removes_them(ws, site) -> None:
    two_versions(ws, site, "Imported Co")
    ws.declare("Kept", site.url)
    assert ws.run("check", "Kept").code == 0
    (ws.policies / "imported-co.toml").unlink()
    shutil.rmtree(ws.policies)  # a database built by import-versions has no policies folder at all
    r = ws.run("list", "--json")
    assert r.code == 0, r.err
    assert [(i["service"], i["declared"], i["versions"]) for i in r.json()] == [("Imported Co", False, 2),
                                                                               ("Kept", False, 1)]
    r = ws.run("list")
    assert r.code == 0 and "Imported Co" in r.out and "not declared" in r.out
    page = ws.feeds / "changes" / "imported-co-privacy-policy-v2.html"
    assert page.is_file() and (ws.feeds / "services" / "imported-co.atom").is_file()

    r = ws.run("forget", "Imported Co", input="n\n")
    assert r.code == 0 and "nothing forgotten" in r.err
    assert len(ws.run("list", "--json").json()) == 2
    r = ws.run("forget", "Imported Co")  # no answer at all (a script without --yes)
    assert r.code == 2 and "--yes" in stderr_lines(r)[-1] and "Traceback" not in r.err
    r = ws.run("forget", "imported-co", "--type", "Privacy Policy", "--yes")
    assert r.code == 0, r.err
    assert "forgot Imported Co / Privacy Policy (2 version(s), 1 change(s))" in r.out
    assert [i["service"] for i in ws.run("list", "--json").json()] == ["Kept"]
    db = sqlite3.connect(ws.db)
    for table in ("versions", "changes", "checks"):
        assert db.execute(f"SELECT COUNT(*) FROM {table} t JOIN documents d ON d.id = t.document_id "
                          "WHERE d.service = 'Imported Co'").fetchone()[0] == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the feeds follow: its page and service feed are gone, no entry points at them
    assert not page.exists() and not (ws.feeds / "services" / "imported-co.atom").exists()
    assert "Imported Co" not in (ws.feeds / "all.atom").read_text(encoding="utf-8")
    assert_one_line_error(ws.run("forget", "Nobody", "--yes"), "Nobody")


# --------------------------------------------------------------------------- 7. list through a pipe


def test_list_in_a_pipe_is_not_cut_at_80_columns(ws, httpserver) -> None:
    s = Site(httpserver)
    s.status = 503
    name = "A Service With Quite A Long Name Indeed"
    ws.declare(name, s.url, "Privacy Policy and Cookie Notice")
    assert ws.run("check").code == 3
    r = ws.run("list")  # stdout is a pipe here
    assert r.code == 0, r.err
    row = next(line for line in r.out.splitlines() if line.startswith(name))
    assert "Privacy Policy and Cookie Notice" in row and "failed (http-status)" in row
    assert ws.run("list", "--json").json()[0]["last_check"] in row  # the full time, not "2026-…"
    assert len(row) > 80


# --------------------------------------------------------------------------- 8. a feeds folder that cannot be


def test_unusable_feeds_folder_is_bad_input_before_anything_is_checked(ws, site) -> None:
    ws.declare("Acme", site.url)
    blocker = ws.root / "a-file"
    blocker.write_text("not a folder")
    r = ws.run("--feeds", str(blocker / "feeds"), "check", "Acme")
    assert_one_line_error(r, "--feeds", "a-file")
    assert not site.requests  # nothing fetched, nothing stored
    r = ws.run("--feeds", "/proc/foo", "check", "Acme")
    assert_one_line_error(r, "/proc/foo")
    assert not site.requests
    assert ws.run("check").code == 0
    assert_one_line_error(ws.run("--feeds", "/proc/foo", "feeds"), "/proc/foo")


# --------------------------------------------------------------------------- 9. Ctrl-C


def test_ctrl_c_during_a_hung_fetch_exits_promptly(ws, httpserver) -> None:
    release = threading.Event()
    arrived = threading.Event()

    def hang(request) -> Response:
        arrived.set()
        release.wait(60)
        return Response(policy_html(), headers={"Content-Type": "text/html"})

    httpserver.expect_request("/slow").respond_with_handler(hang)
    ws.declare("Slow", httpserver.url_for("/slow"))
    p = subprocess.Popen([sys.executable, "-m", "tracker", "check", "--timeout", "60"], env=ws.env(), cwd=ws.root,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert arrived.wait(30), "the fetch never started"
        time.sleep(0.3)
        started = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        release.set()
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, (p.returncode, err)
    assert took < 6, took  # not the 60 s of the fetch timeout
    assert "interrupted" in err and "Traceback" not in err
    db = sqlite3.connect(ws.db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0


# --------------------------------------------------------------------------- 10. services with several documents


def test_history_show_and_diff_show_every_document_of_a_service(ws, httpserver) -> None:
    privacy, terms = Site(httpserver, "/privacy"), Site(httpserver, "/terms")
    ws.policies.mkdir(exist_ok=True)
    (ws.policies / "multi.toml").write_text(
        f'name = "Multi"\n[documents."Privacy Policy"]\nurl = "{privacy.url}"\n'
        f'[documents."Terms of Service"]\nurl = "{terms.url}"\n', encoding="utf-8")
    assert ws.run("check").code == 0
    privacy.body = policy_html({"How we use information": [AI]})
    terms.body = policy_html({"Information we collect": [FACE]}, title="Terms of Service")
    assert ws.run("check").code == 0

    r = ws.run("history", "Multi")
    assert r.code == 0, r.err
    assert "Multi / Privacy Policy" in r.out and "Multi / Terms of Service" in r.out
    assert [(v["type"], v["version"]) for v in ws.run("history", "Multi", "--json").json()] == [
        ("Privacy Policy", 2), ("Privacy Policy", 1), ("Terms of Service", 2), ("Terms of Service", 1)]
    r = ws.run("show", "Multi")
    assert r.code == 0, r.err
    assert "==> Multi / Privacy Policy v2" in r.out and "==> Multi / Terms of Service v2" in r.out
    assert AI in r.out and FACE in r.out
    r = ws.run("diff", "Multi")
    assert r.code == 0, r.err
    assert "==> Multi / Privacy Policy: v1 → v2 <==" in r.out and "==> Multi / Terms of Service: v1 → v2 <==" in r.out
    assert "[ai-training" in r.out and "[biometrics" in r.out
    assert len(ws.run("diff", "Multi", "--format", "json").json()) == 2
    assert_one_line_error(ws.run("diff", "Multi", "--from", "1"), "--type")
    assert ws.run("show", "Multi", "--type", "terms of service").out.count("==>") == 0


# --------------------------------------------------------------------------- 11. unified and html


@needs_tool("patch")
def test_unified_diff_is_a_patch_of_the_shown_text_and_keeps_tags(ws, site) -> None:
    two_versions(ws, site)
    old = ws.root / "old.txt"
    old.write_text(ws.run("show", "Example", "--version", "1").out, encoding="utf-8")
    r = ws.run("diff", "Example", "--format", "unified")
    assert r.code == 0, r.err
    patch = r.out
    header = patch[: patch.index("\n--- ")]
    assert "[ai-training]" in header and "[biometrics]" in header  # tags, before the first ---
    assert all(line.startswith("#") for line in header.splitlines())
    (ws.root / "change.patch").write_text(patch, encoding="utf-8")
    dry = subprocess.run(["patch", "--dry-run", str(old), str(ws.root / "change.patch")], capture_output=True,
                         text=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    # applied, the patch makes the new version's text (every change of this pair is significant)
    subprocess.run(["patch", "--quiet", str(old), str(ws.root / "change.patch")], check=True)
    assert old.read_text(encoding="utf-8") == ws.run("show", "Example").out

    html = ws.run("diff", "Example", "--format", "html").out
    assert html.count("ai-training") == 1 and html.count("biometrics") == 1  # each tag once, not twice


# --------------------------------------------------------------------------- 12. local files


def test_diff_files_reads_encodings_and_content_and_refuses_binary(ws) -> None:
    old, new = ws.root / "old", ws.root / "new.txt"
    old.write_text("# Policy\n\n## Use\n\nWe use data to improve our services, café.\n", encoding="utf-8")
    new.write_bytes("# Policy\n\n## Use\n\nWe use data to train AI models, café.\n".encode("utf-16"))
    r = ws.run("diff", "--files", str(old), str(new))  # no extension; UTF-16 with its BOM
    assert r.code == 0, r.err
    assert "[-improve our services-]{+train AI models+}" in r.out and "Ã" not in r.out
    rnd = ws.root / "random.html"
    rnd.write_bytes(bytes(range(256)) * 8 + os.urandom(2048))
    assert_one_line_error(ws.run("diff", "--files", str(old), str(rnd)), "random.html", "not a text file")


# --------------------------------------------------------------------------- 13. validate


def test_validate_reports_every_problem_of_a_document(ws) -> None:
    (ws.policies / "x.toml").write_text('name = "X"\n[documents."Privacy Policy"]\nurl = "ftp://x"\n'
                                        'interval = "often"\ncolour = "red"\n', encoding="utf-8")
    r = ws.run("validate")
    assert r.code == 2
    lines = stderr_lines(r)
    assert len(lines) == 3, r.err
    for key in ("colour", "url", "interval"):
        assert any(f'"Privacy Policy".{key}' in line for line in lines), (key, lines)


# --------------------------------------------------------------------------- 14. the demo folder


def test_check_in_the_demo_folder_explains_instead_of_connection_refused(ws) -> None:
    folder = ws.root / "demo"
    assert ws.run("demo", "--dir", str(folder)).code == 0
    env = {k: v for k, v in ws.env().items() if not k.startswith("POLICY_TRACKER_")}
    p = subprocess.run([sys.executable, "-m", "tracker", "check"], cwd=folder, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "connection refused" not in p.stderr.lower() and "Traceback" not in p.stderr
    assert "demo" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run([sys.executable, "-m", "tracker", "list", "--json"], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and [(i["service"], i["versions"]) for i in json.loads(p.stdout)] == [("Chirpline", 2)]


# --------------------------------------------------------------------------- 15. the README and the repository


def test_readme_commands_and_repository_hygiene() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "open feeds/index.html" not in readme.replace("xdg-open feeds/index.html", "")
    assert "`git`" in readme
    for image in ("docs/demo-change-1280.png", "docs/demo-change-390.png", "docs/demo-index-1280.png",
                  "docs/demo-index-390.png", "docs/demo-report-1280.png", "docs/demo-report-390.png"):
        assert f"]({image})" in readme and (ROOT / image).is_file(), image
    for option in ("--service", "-o, --output", "--poll", "--stop-timeout", "--jobs", "--no-feeds",
                   "--broken-after", "--notify", "--replace", "--yes"):
        assert f"{option}" in readme.split("cli-reference: start")[1], option
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert status in readme
    assert "_POLICY_TRACKER_COMPLETE" in readme
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/policy-tracker-demo-*/" in gitignore
    with open(ROOT / "pyproject.toml", "rb") as f:
        addopts = tomllib.load(f)["tool"]["pytest"]["ini_options"]["addopts"]
    assert "-ra" not in addopts.split()  # -ra lists every skipped test: more than a screen on a fresh clone


def test_pytest_quiet_output_stays_short_with_skips(tmp_path) -> None:
    """With the project's pytest settings, a passing run with skipped tests (as on a fresh clone
    without the Debian tools or ../shared) prints dots and one summary line, not a row per skip."""
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_ok():\n    pass\n\n"
        "@pytest.mark.parametrize('n', range(30))\n"
        "def test_needs_a_tool(n):\n    pytest.skip('chromium not installed')\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                        str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    assert len(lines) <= 2 and "1 passed, 30 skipped" in lines[-1], p.stdout
