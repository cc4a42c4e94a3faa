"""The fetcher against a real local server: every failure classified, never raised."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time

from helpers import POLICY_BODY, keepalive_server
from werkzeug import Response

from tracker.capture.fetch import Fetcher, decode_body, parse_retry_after


def test_ok_and_validators(httpserver) -> None:
    httpserver.expect_request("/p").respond_with_data("<p>hi</p>", content_type="text/html",
                                                      headers={"ETag": '"a"', "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"})
    r = Fetcher().fetch(httpserver.url_for("/p"))
    assert r.ok and r.status == 200 and r.body == b"<p>hi</p>" and r.etag == '"a"' and r.last_modified


def test_conditional_headers_sent(httpserver) -> None:
    seen = {}

    def handler(request):
        seen.update(request.headers)
        return Response(status=304)

    httpserver.expect_request("/p").respond_with_handler(handler)
    r = Fetcher().fetch(httpserver.url_for("/p"), etag='"x"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    assert r.ok and r.not_modified
    assert seen["If-None-Match"] == '"x"' and seen["If-Modified-Since"].startswith("Wed")
    assert seen["User-Agent"].startswith("policy-tracker/")


def test_cookies_follow_redirects_and_later_requests_with_the_default_headers(httpserver) -> None:
    """A consent or bot-check page that sets a cookie and redirects gets it back, as a browser would."""
    seen: list[dict] = []

    def gate(request):
        seen.append(dict(request.headers))
        return Response(status=302, headers={"Location": "/policy", "Set-Cookie": "consent=yes; Path=/"})

    def policy(request):
        seen.append(dict(request.headers))
        if request.cookies.get("consent") != "yes":
            return Response("<p>Please accept cookies</p>", status=403, content_type="text/html")
        return Response("<p>The policy</p>", content_type="text/html")

    httpserver.expect_request("/gate").respond_with_handler(gate)
    httpserver.expect_request("/policy").respond_with_handler(policy)
    with Fetcher(user_agent="policy-tracker-test") as f:
        r = f.fetch(httpserver.url_for("/gate"))
        assert r.ok and r.body == b"<p>The policy</p>" and r.final_url == httpserver.url_for("/policy")
        again = f.fetch(httpserver.url_for("/policy"), etag='"v1"')
    assert again.ok and again.body == b"<p>The policy</p>"
    assert [h.get("User-Agent") for h in seen] == ["policy-tracker-test"] * 3
    assert seen[2].get("If-None-Match") == '"v1"' and "gzip" in seen[2].get("Accept-Encoding", "")


def test_too_large_is_refused_not_truncated(httpserver) -> None:
    httpserver.expect_request("/big").respond_with_data("<p>" + "x" * 200_000, content_type="text/html")
    r = Fetcher(max_bytes=100_000).fetch(httpserver.url_for("/big"))
    assert not r.ok and r.reason == "too-large" and r.body == b""


def test_gzip_bomb_is_refused(httpserver) -> None:
    bomb = gzip.compress(b"<p>" + b"A" * 20_000_000)
    assert len(bomb) < 100_000
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
    r = Fetcher(max_bytes=1_000_000).fetch(httpserver.url_for("/bomb"))
    assert not r.ok and r.reason == "too-large"


def test_retry_after_is_honoured(httpserver) -> None:
    times: list[float] = []

    def handler(request):
        times.append(time.monotonic())
        if len(times) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response("<p>ok</p>", content_type="text/html")

    httpserver.expect_request("/r").respond_with_handler(handler)
    r = Fetcher().fetch(httpserver.url_for("/r"))
    assert r.ok and len(times) == 2 and times[1] - times[0] >= 0.95


def test_long_retry_after_is_not_waited_for(httpserver) -> None:
    calls = []

    def handler(request):
        calls.append(1)
        return Response("busy", status=503, headers={"Retry-After": "3600"})

    httpserver.expect_request("/r").respond_with_handler(handler)
    t = time.monotonic()
    r = Fetcher().fetch(httpserver.url_for("/r"))
    assert not r.ok and r.reason == "http-status" and r.retry_after == 3600 and len(calls) == 1
    assert time.monotonic() - t < 2


def test_redirect_loop(httpserver) -> None:
    httpserver.expect_request("/a").respond_with_response(Response(status=302, headers={"Location": "/b"}))
    httpserver.expect_request("/b").respond_with_response(Response(status=302, headers={"Location": "/a"}))
    r = Fetcher(max_redirects=5).fetch(httpserver.url_for("/a"))
    assert not r.ok and r.reason == "redirect-loop"


def _raw_server(handler) -> tuple[str, threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        try:
            conn.recv(65536)
            handler(conn)
        finally:
            conn.close()
            srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/", t


def test_slow_drip_times_out() -> None:
    def drip(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(40):
            try:
                conn.sendall(b"<p>x</p>")
            except OSError:
                return
            time.sleep(0.1)

    url, t = _raw_server(drip)
    r = Fetcher(read_timeout=5, total_timeout=1.0).fetch(url)
    assert not r.ok and r.reason in ("timeout", "connection")


def test_truncated_body_is_failure() -> None:
    def cut(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<p>half</p>")

    url, t = _raw_server(cut)
    r = Fetcher().fetch(url)
    assert not r.ok and r.reason == "connection" and r.body == b""


def test_read_timeout() -> None:
    def silent(conn) -> None:
        time.sleep(2)

    url, t = _raw_server(silent)
    r = Fetcher(read_timeout=0.5, retries=0).fetch(url)
    assert not r.ok and r.reason in ("timeout", "connection")


def test_decode_prefers_real_utf8_over_a_lying_header() -> None:
    text = "We don’t sell your data — données personnelles"
    assert decode_body(text.encode("utf-8"), "iso8859-1") == text
    assert decode_body(text.encode("utf-8"), None) == text
    cp = "We don’t sell".encode("cp1252")
    assert decode_body(cp, None) == "We don’t sell"
    assert decode_body(b'<meta charset="windows-1252"><p>caf\xe9</p>', None).endswith("café</p>")
    assert decode_body("é".encode("utf-16"), None) == "é"


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 1


def test_environment_is_read_once_unless_a_proxy_or_netrc_needs_requests_to_read_it(monkeypatch, tmp_path) -> None:
    for key in list(os.environ):
        if key.lower().endswith("_proxy") or key in ("NETRC", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Fetcher() as f:
        assert f.session.trust_env is False and f.session.verify is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    with Fetcher() as f:
        assert f.session.trust_env is False and f.session.verify == str(tmp_path / "ca.pem")
    (tmp_path / ".netrc").write_text("machine example.com login a password b\n")
    with Fetcher() as f:
        assert f.session.trust_env is True
    (tmp_path / ".netrc").unlink()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with Fetcher() as f:
        assert f.session.trust_env is True


def test_a_declared_proxy_is_used(monkeypatch, httpserver) -> None:
    """With http_proxy set, requests go to the proxy (here the local server plays the proxy)."""
    httpserver.expect_request("/privacy").respond_with_data(
        "<html><body><p>via proxy</p></body></html>", content_type="text/html")
    monkeypatch.setenv("http_proxy", httpserver.url_for("/").rstrip("/"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Fetcher() as f:
        r = f.fetch("http://policy.example/privacy")
    assert r.ok and b"via proxy" in r.body


def test_not_modified_answers_keep_the_connection_for_the_next_request() -> None:
    """A 304 has no body; closing it without reading that (empty) body closed the socket, so every
    conditional GET to a host opened a new connection (and over HTTPS, a new TLS handshake)."""
    with keepalive_server(etag='"v1"') as (url, connections), Fetcher() as f:
        first = f.fetch(url)
        later = [f.fetch(url, etag=first.etag) for _ in range(3)]
    assert first.ok and first.body == POLICY_BODY
    assert all(r.ok and r.not_modified for r in later)
    assert len(connections) == 1
