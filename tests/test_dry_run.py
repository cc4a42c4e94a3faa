"""`check --dry-run` shows what a check would do before a declaration is trusted: it stores nothing."""

from __future__ import annotations

from pages import policy_html

APP_SHELL = "<html><head><title>Privacy</title></head><body><div id='root'>Loading…</div>" \
            "<script src='/app.js'></script></body></html>"


def test_dry_run_says_an_app_shell_needs_a_browser_and_counts_a_good_page(ws, httpserver) -> None:
    good = policy_html({"What we collect": ["Your name, e-mail address and the posts you publish.",
                                            "We use your posts to train our machine learning models."],
                        "Your choices": ["You can delete your account at any time from the settings."]})
    httpserver.expect_request("/good").respond_with_data(good, content_type="text/html")
    httpserver.expect_request("/shell").respond_with_data(APP_SHELL, content_type="text/html")
    ws.declare("Good", httpserver.url_for("/good"))
    ws.declare("Shell", httpserver.url_for("/shell"))
    r = ws.run("check", "--dry-run", "--json")
    assert r.code == 3, r.err  # one document would fail
    got = {o["service"]: o for o in r.json_lines()}
    assert got["Good"]["state"] == "ok" and got["Good"]["clauses"] >= 4 and got["Good"]["browser"] is False
    assert len(got["Good"]["first_lines"]) == 3, got["Good"]
    assert got["Shell"]["state"] == "failed" and "browser = true" in got["Shell"]["advice"]
    assert not ws.db.exists() and not ws.feeds.exists()  # nothing stored, no feed touched
    text = ws.run("check", "--dry-run")
    assert "Shell / Privacy Policy: would fail" in text.out and "needs browser = true" in text.out
    assert "Good / Privacy Policy: ok," in text.out and not ws.db.exists()


def test_add_tries_the_page_and_says_it_needs_a_browser(ws, httpserver) -> None:
    httpserver.expect_request("/shell").respond_with_data(APP_SHELL, content_type="text/html")
    env = ws.env()
    env["POLICY_TRACKER_ADD_TRY"] = "1"
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "tracker", "add", "Shell", httpserver.url_for("/shell")],
                       capture_output=True, text=True, env=env, cwd=ws.root, timeout=60)
    assert "added Shell / Privacy Policy" in p.stdout and "needs browser = true" in p.stdout, p.stdout + p.stderr
    assert p.returncode == 3 and (ws.policies / "shell.toml").exists() and not ws.db.exists()
