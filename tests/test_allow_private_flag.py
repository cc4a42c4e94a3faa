"""`--allow-private` on check, run and add: the environment switch, given on the command line."""

from __future__ import annotations

import subprocess
import sys

from pages import policy_html


def _run(ws, *args: str) -> subprocess.CompletedProcess:
    env = ws.env()
    env.pop("POLICY_TRACKER_ALLOW_PRIVATE")  # the fetch policy as users get it
    return subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=env,
                          cwd=ws.root, timeout=120)


def test_check_refuses_loopback_unless_allowed_on_the_command_line(ws, httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_data(policy_html(), content_type="text/html")
    ws.declare("Example", httpserver.url_for("/privacy"))
    refused = _run(ws, "check")
    assert refused.returncode == 3 and "forbidden-address" in refused.stdout, refused.stdout
    allowed = _run(ws, "check", "--allow-private")
    assert allowed.returncode == 0 and "new (v1)" in allowed.stdout, (allowed.stdout, allowed.stderr)


def test_metadata_addresses_stay_refused_with_the_flag(ws) -> None:
    ws.declare("Meta", "http://169.254.169.254/latest/meta-data/")
    r = _run(ws, "check", "--allow-private")
    assert r.returncode == 3 and "forbidden-address" in r.stdout


def test_run_once_and_add_take_the_flag(ws, httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_data(policy_html(), content_type="text/html")
    url = httpserver.url_for("/privacy")
    r = _run(ws, "add", "Example", url, "--try", "--allow-private")
    assert r.returncode == 0 and "forbidden" not in r.stdout, (r.stdout, r.stderr)
    r = _run(ws, "run", "--once", "--allow-private")
    assert r.returncode == 0, r.stderr
    assert "new" in r.stderr or "v1" in r.stderr
