"""Failure messages: readable (what failed, where, why), one line, and never raw control characters from
a server (escape-sequence injection into a terminal or a log)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from werkzeug import Response

from tracker.capture.fetch import Fetcher, describe
from tracker.models import FetchResult
from tracker.publish.termsafe import redact_url, safe, safe_line

RAW = "\x1b]0;owned\x07\x1b[2J\x1b[31m"


def test_safe_escapes_controls_and_keeps_text() -> None:
    assert safe("plain text") == "plain text"
    assert safe("données — 日本語 ✓") == "données — 日本語 ✓"
    assert safe("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert safe("line\r\nforged") == "line\\r\\nforged"
    assert safe("csi\x9b31m del\x7f") == "csi\\x9b31m del\\x7f"
    assert safe("bidi \u202egnp.exe") == "bidi \\u202egnp.exe"
    assert safe("lone \udcff") == "lone \\udcff"
    assert safe("two\nlines", keep_newlines=True) == "two\nlines"
    assert "\x1b" not in safe(RAW) and "\x07" not in safe(RAW)
    assert safe_line("a  b\n\tc", 100) == "a b\\n\\tc"
    assert safe_line("x" * 50, 10) == "x" * 9 + "…"


def test_redact_url() -> None:
    assert redact_url("https://user:secret@example.com/p?q=1") == "https://***@example.com/p?q=1"
    assert redact_url("http://token@example.com/") == "http://***@example.com/"
    assert redact_url("https://example.com/a@b") == "https://example.com/a@b"


def _raw_server(payload: bytes) -> str:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            try:
                conn.recv(65536)
                conn.sendall(payload)
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/privacy"


def test_a_reason_phrase_with_escape_sequences_is_escaped() -> None:
    url = _raw_server(f"HTTP/1.1 503 Busy{RAW}now\r\nContent-Length: 0\r\n\r\n".encode("latin-1"))
    r = Fetcher(retries=0).fetch(url)
    assert not r.ok and r.reason == "http-status"
    assert "\x1b" not in r.error and "\x07" not in r.error
    assert r.error.startswith("HTTP 503 Busy\\x1b]0;owned\\x07"), r.error


def test_a_content_type_with_control_characters_is_escaped() -> None:
    url = _raw_server(f"HTTP/1.1 200 OK\r\nContent-Type: application/x{RAW}\r\nContent-Length: 2\r\n\r\nhi"
                      .encode("latin-1"))
    r = Fetcher(retries=0).fetch(url)
    assert r.reason == "not-html" and "\x1b" not in r.error and "\\x1b" in r.error, r.error


def test_a_garbage_status_line_is_escaped() -> None:
    url = _raw_server(f"{RAW}HTTP/9 what\r\n\r\n".encode("latin-1"))
    r = Fetcher(retries=0).fetch(url)
    assert not r.ok and "\x1b" not in (r.error or "") and "\x07" not in (r.error or ""), r


def test_check_prints_no_raw_control_characters(ws) -> None:
    url = _raw_server(f"HTTP/1.1 500 Oops{RAW}\r\nContent-Length: 0\r\n\r\n".encode("latin-1"))
    ws.declare("Hostile", url)
    for args in (["check"], ["check", "--json"]):
        p = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=ws.env(),
                           cwd=ws.root, timeout=120)
        assert "\x1b" not in p.stdout + p.stderr and "\x07" not in p.stdout + p.stderr, (p.stdout, p.stderr)
        assert "Oops" in p.stdout
    assert json.loads(p.stdout)["error"].startswith("HTTP 500 Oops\\x1b]0;owned")


# --------------------------------------------------------------------------- readable network errors


def test_dns_failure_names_the_host(monkeypatch) -> None:
    # The resolver answers as it does for a name that does not exist, without asking any DNS server
    # (tests reach only 127.0.0.1): the message is what is tested, not the network.
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    r = Fetcher(retries=0).fetch("http://no-such-host.invalid/privacy")
    assert not r.ok and r.reason == "connection"
    assert r.error.startswith("cannot resolve no-such-host.invalid ("), r.error
    assert "Errno" not in r.error and "port=" not in r.error and '"' not in r.error


def test_connection_refused() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = Fetcher(retries=0).fetch(f"http://127.0.0.1:{port}/privacy")
    assert not r.ok and r.reason == "connection" and r.error == f"connection refused by 127.0.0.1:{port}", r.error


def test_tls_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)  # plain HTTP on an https URL
    server.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        r = Fetcher(retries=0).fetch(f"https://127.0.0.1:{port}/privacy")
    finally:
        server.shutdown()
        server.server_close()
    assert not r.ok and r.reason == "connection"
    assert r.error.startswith(f"TLS error with 127.0.0.1:{port} ("), r.error
    assert "_ssl.c" not in r.error and "SSLError" not in r.error


def _fetch_from_a_silent_server(fetcher: Fetcher, path: str) -> FetchResult:
    """``fetcher`` against a server that accepts the connection and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    try:
        return fetcher.fetch(f"http://127.0.0.1:{srv.getsockname()[1]}{path}")
    finally:
        srv.close()


def test_read_timeout() -> None:
    r = _fetch_from_a_silent_server(Fetcher(read_timeout=0.5, retries=0), "/privacy")
    assert not r.ok and r.reason == "timeout"
    assert r.error == "127.0.0.1 sent nothing for too long (read timeout)", r.error


def test_deadline_message() -> None:
    r = _fetch_from_a_silent_server(Fetcher(read_timeout=10, total_timeout=0.5, retries=0), "/")
    assert r.reason == "timeout" and r.error.startswith("no complete answer within the 0.5 s deadline"), r.error


def test_a_redirect_to_another_scheme_is_named_without_its_credentials(httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_response(
        Response(status=302, headers={"Location": "ftp://user:secret@files.example/policy.txt"}))
    r = Fetcher().fetch(httpserver.url_for("/privacy"))
    assert not r.ok and "secret" not in r.error and "ftp://***@files.example/policy.txt" in r.error, r.error


@pytest.mark.parametrize("text", ["plain", "x\x1b[2Jy"])
def test_describe_of_an_unknown_error_is_one_safe_line(text) -> None:
    line = describe(RuntimeError(f"boom {text}\nsecond line https://u:p@h.example/x"))
    assert "\n" not in line and "\x1b" not in line and "u:p@" not in line


def test_the_cli_error_line_escapes_what_a_file_put_in_it(ws) -> None:
    (ws.policies / "x.toml").write_text('name = "X"\n[documents."a\\u001b]0;t\\u0007"]\nurl = "https://a.example/"\n',
                                        encoding="utf-8")
    r = ws.run("check")
    assert r.code == 2 and "\x1b" not in r.err and "\x07" not in r.err and 'documents."a\\x1b]0;t\\x07"' in r.err, r.err


def test_a_failing_redirect_hop_is_named_by_its_own_host(httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_response(
        Response(status=302, headers={"Location": "http://moved-away.invalid/privacy"}))
    r = Fetcher(retries=0).fetch(httpserver.url_for("/privacy"))
    assert not r.ok and r.error.startswith("cannot resolve moved-away.invalid ("), r.error
