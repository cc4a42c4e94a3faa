"""The hard deadline of one fetch: connection and whole transfer, whatever the server does.

Every tarpit here would hold a fetch for 30 s or more; each test asserts the fetch ended within its
deadline plus a generous margin (an upper bound only: nothing depends on how fast the machine is).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from helpers import POLICY_BODY, keepalive_server
from werkzeug import Response

from tracker.capture.fetch import Fetcher

DRIP_SECONDS = 30.0
MARGIN = 2.0


class Tarpit:
    """A raw TCP server on 127.0.0.1: each connection is handed to ``behaviour(conn)`` in a thread."""

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, scheme: str = "http", path: str = "/privacy") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


@pytest.fixture
def tarpits():
    made: list[Tarpit] = []
    yield lambda behaviour: made.append(Tarpit(behaviour)) or made[-1]
    for t in made:
        t.close()


def read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def drip(conn: socket.socket, data: bytes, every: float = 0.5) -> None:
    """Send ``data`` one byte at a time, for at most DRIP_SECONDS (or until the client goes)."""
    end = time.monotonic() + DRIP_SECONDS
    for i in range(len(data)):
        if time.monotonic() > end:
            return
        conn.sendall(data[i:i + 1])
        time.sleep(every)


def timed_fetch(url: str, **kwargs):
    f = Fetcher(**kwargs)
    start = time.monotonic()
    try:
        return f.fetch(url), time.monotonic() - start
    finally:
        f.close()


def test_a_body_dripped_a_byte_at_a_time_ends_at_the_deadline(tarpits) -> None:
    def behaviour(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        drip(conn, b"<p>" + b"x" * 99_997)

    t = tarpits(behaviour)
    result, took = timed_fetch(t.url(), read_timeout=5, total_timeout=1)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout" and result.body == b""
    assert "1 s deadline" in result.error, result.error


def test_headers_dripped_a_byte_at_a_time_end_at_the_deadline(tarpits) -> None:
    def behaviour(conn):
        read_request(conn)
        drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 1000 + b"\r\n\r\n<p>late</p>")

    t = tarpits(behaviour)
    result, took = timed_fetch(t.url(), read_timeout=5, total_timeout=1, retries=0)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout", result


def test_a_chunked_body_dripped_ends_at_the_deadline(tarpits) -> None:
    def behaviour(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        drip(conn, b"".join(b"1\r\nx\r\n" for _ in range(10_000)))

    t = tarpits(behaviour)
    result, took = timed_fetch(t.url(), read_timeout=5, total_timeout=1)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout", result


def test_a_body_cut_at_the_deadline_is_not_taken_for_a_whole_page(tarpits) -> None:
    """Without Content-Length the end of the body is the end of the connection: the deadline shutting
    the socket must not make the bytes received so far look like a complete page."""
    def behaviour(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<p>first part</p>")
        drip(conn, b"<p>" + b"z" * 1000 + b"</p>")

    t = tarpits(behaviour)
    result, took = timed_fetch(t.url(), read_timeout=5, total_timeout=1)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout" and result.body == b"", result


def test_a_tls_handshake_that_never_ends_is_bounded(tarpits) -> None:
    def behaviour(conn):  # accepts, then answers the ClientHello with a byte now and then
        drip(conn, b"\x16\x03\x01" + b"\x00" * 200, every=0.5)

    t = tarpits(behaviour)
    result, took = timed_fetch(t.url("https"), connect_timeout=5, read_timeout=5, total_timeout=1, retries=0)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout", result


def test_redirect_hops_share_one_deadline(httpserver) -> None:
    """Each hop answers within the read timeout; together they would take 4 s."""
    def hop(request):
        n = int(request.path.rsplit("/", 1)[1])
        time.sleep(0.4)
        return Response(status=302, headers={"Location": f"/hop/{n + 1}"})

    for n in range(12):
        httpserver.expect_request(f"/hop/{n}").respond_with_handler(hop)
    result, took = timed_fetch(httpserver.url_for("/hop/0"), read_timeout=5, total_timeout=1)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout", result


def test_a_resolver_that_does_not_answer_is_bounded(monkeypatch) -> None:
    real = socket.getaddrinfo

    def slow(host, *args, **kwargs):
        if host == "slow-dns.test":
            time.sleep(DRIP_SECONDS)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")  # no DNS server is asked
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    result, took = timed_fetch("http://slow-dns.test/privacy", total_timeout=1, retries=0)
    assert took < 1 + MARGIN, took
    assert not result.ok and result.reason == "timeout", result


def test_a_passed_deadline_does_not_touch_the_next_fetch_on_the_same_connection() -> None:
    """The watchdog fires for every deadline; a fetch that finished in time must not have its kept-alive
    connection shut down under the next fetch."""
    with keepalive_server() as (url, connections), Fetcher(total_timeout=0.5) as f:
        first = f.fetch(url)
        time.sleep(1.0)  # the first fetch's deadline has passed (and fired) by now
        second = f.fetch(url)
    assert first.ok and second.ok and second.body == POLICY_BODY
    assert len(connections) == 1


def test_check_with_a_timeout_is_not_held_by_a_tarpit(ws, tarpits) -> None:
    """`check --timeout 1` against a server dripping a byte every 0.5 s for 30 s (it took 46-53 s).

    The whole-transfer deadline `check` gives the fetcher is its own business (cli/check.py: today four
    times --timeout, at least 10 s); this asserts only that the deadline holds end to end."""
    def behaviour(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        drip(conn, b"<p>" + b"x" * 99_997)

    t = tarpits(behaviour)
    ws.declare("Tarpit", t.url())
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "tracker", "check", "--json", "--timeout", "1"], capture_output=True,
                       text=True, env=ws.env(), cwd=ws.root, timeout=120)
    took = time.monotonic() - start
    (line,) = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    assert line["state"] == "failed" and line["reason"] == "timeout", line
    assert took < 10 + MARGIN + 3, took  # 3 s more for the interpreter, the database and the feeds
