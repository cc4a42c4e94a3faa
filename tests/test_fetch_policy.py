"""The fetch policy: which addresses may be fetched, checked after resolution, on every redirect hop,
and connected to as checked. Only 127.0.0.1 is ever reached; other names are answered by a patched
resolver."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from werkzeug import Response

from tracker.capture import netpolicy
from tracker.capture.browser import fetch_document, render
from tracker.capture.fetch import Fetcher
from tracker.models import Document
from tracker.sources.declaration_edit import render_declaration
from tracker.sources.declarations import parse_declaration

# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "fd20:ce::254",
                                     "100.100.100.200", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
                                     "2002:a9fe:a9fe::1"])
def test_link_local_and_metadata_addresses_are_always_refused(address) -> None:
    for allow in (False, True):
        with pytest.raises(netpolicy.Refused) as e:
            netpolicy.check_address("h", address, allow_private=allow)
        assert e.value.always and "always refused" in str(e.value)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "10.0.0.1", "172.16.0.1",
                                     "192.168.1.1", "100.64.0.1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                                     "198.18.0.1", "192.0.2.1", "224.0.0.1", "240.0.0.1"])
def test_other_non_global_addresses_need_the_allowance(address) -> None:
    with pytest.raises(netpolicy.Refused) as e:
        netpolicy.check_address("h", address, allow_private=False)
    assert not e.value.always and "allow_private = true" in str(e.value)
    netpolicy.check_address("h", address, allow_private=True)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address) -> None:
    netpolicy.check_address("h", address, allow_private=False)


def test_sites() -> None:
    assert netpolicy.site_of("www.example.com") == "example.com"
    assert netpolicy.site_of("policies.google.com") == "google.com"
    assert netpolicy.site_of("www.example.co.uk") == "example.co.uk"
    assert netpolicy.site_of("WWW.Example.COM.") == "example.com"
    assert netpolicy.site_of("127.0.0.1") == "127.0.0.1"
    assert netpolicy.same_site("x.com", "help.x.com") and not netpolicy.same_site("x.com", "twitter.com")


# --------------------------------------------------------------------------- the fetcher


@pytest.fixture
def page(httpserver) -> str:
    httpserver.expect_request("/privacy").respond_with_data("<p>the policy</p>", content_type="text/html")
    return httpserver.url_for("/privacy")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f000001", "2130706433", "127.1", "0177.0.0.1",
                                  "[::ffff:127.0.0.1]"])
def test_loopback_in_any_spelling_is_refused_by_default(httpserver, page, strict_policy, host) -> None:
    url = f"http://{host}:{httpserver.port}/privacy"
    with Fetcher() as f:
        r = f.fetch(url)
    assert not r.ok and r.reason == "forbidden-address", r
    assert "--allow-private" in r.error and "POLICY_TRACKER_ALLOW_PRIVATE=1" in r.error
    assert len(httpserver.log) == 0  # refused before connecting


def test_ipv6_loopback_is_refused_by_default(strict_policy) -> None:
    with Fetcher() as f:
        r = f.fetch("http://[::1]:9/privacy")
    assert not r.ok and r.reason == "forbidden-address" and "loopback" in r.error


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/",
                                 "http://METADATA.google.internal./computeMetadata/v1/", "http://[fe80::1]/",
                                 "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://2852039166/"])
def test_metadata_is_refused_even_when_private_addresses_are_allowed(url) -> None:
    with Fetcher(allow_private=True) as f:
        r = f.fetch(url)
    assert not r.ok and r.reason == "forbidden-address" and "always refused" in r.error, r


def test_the_allowance_from_the_environment_the_fetcher_and_one_fetch(page, monkeypatch) -> None:
    monkeypatch.setenv("POLICY_TRACKER_ALLOW_PRIVATE", "1")
    with Fetcher() as f:
        assert f.fetch(page).ok
    monkeypatch.delenv("POLICY_TRACKER_ALLOW_PRIVATE")
    with Fetcher(allow_private=True) as f:
        assert f.fetch(page).ok
    with Fetcher() as f:
        assert f.fetch(page).reason == "forbidden-address"
        assert f.fetch(page, allow_private=True).ok  # a document declared allow_private = true
        assert f.fetch(page).reason == "forbidden-address"  # ...and only that one


def test_a_redirect_to_a_metadata_address_is_refused_on_that_hop(httpserver) -> None:
    httpserver.expect_request("/privacy").respond_with_response(
        Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"}))
    with Fetcher(allow_private=True) as f:
        r = f.fetch(httpserver.url_for("/privacy"))
    assert not r.ok and r.reason == "forbidden-address" and "169.254.169.254" in r.error, r


def test_a_redirect_to_a_private_address_is_refused_without_the_allowance(httpserver, strict_policy,
                                                                           monkeypatch) -> None:
    """The first hop is a public name (the patched resolver says so); its redirect goes to loopback."""
    _resolve(monkeypatch, {"public.test": "93.184.216.34"})
    calls = []

    real_send = Fetcher._send

    def send(self, s, url, headers, deadline, allow_private):
        calls.append(url)
        if url.startswith("http://public.test/"):  # answered here: no traffic leaves the machine
            return _fake_redirect(url, f"http://127.0.0.1:{httpserver.port}/privacy")
        return real_send(self, s, url, headers, deadline, allow_private)

    monkeypatch.setattr(Fetcher, "_send", send)
    with Fetcher() as f:
        r = f.fetch("http://public.test/privacy")
    assert not r.ok and r.reason == "forbidden-address" and "127.0.0.1" in r.error, r
    assert calls == ["http://public.test/privacy", f"http://127.0.0.1:{httpserver.port}/privacy"]
    assert len(httpserver.log) == 0


def test_every_resolved_address_is_checked(monkeypatch, strict_policy) -> None:
    _resolve(monkeypatch, {"mixed.test": ["93.184.216.34", "127.0.0.1"]})
    with Fetcher() as f:
        r = f.fetch("http://mixed.test/privacy")
    assert not r.ok and r.reason == "forbidden-address" and "mixed.test (127.0.0.1)" in r.error


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(httpserver, monkeypatch) -> None:
    """DNS rebinding: a second resolution could give another address than the one checked. Here any
    second resolution fails, so the fetch succeeds only if the connection uses the first answer."""
    seen = []
    httpserver.expect_request("/privacy").respond_with_handler(
        lambda request: seen.append(request.headers.get("Host")) or Response("<p>ok</p>", content_type="text/html"))
    calls = _resolve(monkeypatch, {"rebind.test": "127.0.0.1"}, once=True)
    with Fetcher(allow_private=True) as f:
        r = f.fetch(f"http://rebind.test:{httpserver.port}/privacy")
    assert r.ok and r.body == b"<p>ok</p>", r
    assert calls == ["rebind.test"]
    assert seen == [f"rebind.test:{httpserver.port}"]  # the Host header keeps the name


def test_redirects_that_leave_the_declared_site_are_reported(httpserver, monkeypatch) -> None:
    _resolve(monkeypatch, {"www.policy-site.test": "127.0.0.1", "policy-site.test": "127.0.0.1",
                           "login.elsewhere.test": "127.0.0.1"})
    port = httpserver.port
    httpserver.expect_request("/moved").respond_with_response(
        Response(status=301, headers={"Location": f"http://policy-site.test:{port}/privacy"}))
    httpserver.expect_request("/gone").respond_with_response(
        Response(status=302, headers={"Location": f"http://login.elsewhere.test:{port}/login?next=/privacy"}))
    httpserver.expect_request("/privacy").respond_with_data("<p>the policy</p>", content_type="text/html")
    httpserver.expect_request("/login").respond_with_data("<p>sign in</p>", content_type="text/html")
    with Fetcher(allow_private=True) as f:
        same = f.fetch(f"http://www.policy-site.test:{port}/moved")
        off = f.fetch(f"http://www.policy-site.test:{port}/gone")
    assert same.ok and not same.redirected_off_site and same.final_url == f"http://policy-site.test:{port}/privacy"
    assert off.ok and off.redirected_off_site
    assert off.final_url == f"http://login.elsewhere.test:{port}/login?next=/privacy"


def test_a_proxied_request_to_a_metadata_address_is_refused(monkeypatch, httpserver) -> None:
    """Through a proxy the proxy connects; the target is still checked by name and address."""
    monkeypatch.setenv("http_proxy", httpserver.url_for("/").rstrip("/"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Fetcher(allow_private=True) as f:
        r = f.fetch("http://169.254.169.254/latest/meta-data/")
        r2 = f.fetch("http://metadata.google.internal/")
    assert r.reason == "forbidden-address" and r2.reason == "forbidden-address"
    assert len(httpserver.log) == 0


# --------------------------------------------------------------------------- TLS through a pinned connection


def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    key, cert = tmp / f"{name}.key", tmp / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(tmp_path):
    servers = []

    def make(name: str):
        cert, key = _certificate(tmp_path, name)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = b"<p>over TLS</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], cert

    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_tls_is_verified_for_the_name_while_connecting_to_the_checked_address(tls_server, monkeypatch) -> None:
    _resolve(monkeypatch, {"policy.test": "127.0.0.1"})
    port, cert = tls_server("policy.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with Fetcher(allow_private=True) as f:
        r = f.fetch(f"https://policy.test:{port}/privacy")
    assert r.ok and r.body == b"<p>over TLS</p>", r


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_a_certificate_for_another_name_is_a_readable_tls_error(tls_server, monkeypatch) -> None:
    _resolve(monkeypatch, {"policy.test": "127.0.0.1"})
    port, cert = tls_server("other.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with Fetcher(allow_private=True, retries=0) as f:
        r = f.fetch(f"https://policy.test:{port}/privacy")
    assert not r.ok and r.reason == "connection"
    assert r.error.startswith("TLS certificate of policy.test not accepted (") and "mismatch" in r.error, r.error


# --------------------------------------------------------------------------- browser and declarations


def test_the_browser_checks_the_host_before_starting(tmp_path, strict_policy) -> None:
    marker = tmp_path / "started"
    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    for url, allow in (("http://169.254.169.254/", True), ("http://metadata.google.internal/", True),
                       ("http://127.0.0.1:9/", False), ("http://0x7f000001:9/", False)):
        r = render(url, executable=str(fake), allow_private=allow, timeout=5)
        assert not r.ok and r.reason == "forbidden-address", (url, r)
    assert not marker.exists()


def test_browser_documents_pass_the_declared_allowance(tmp_path, strict_policy) -> None:
    class NoHttp:
        total_timeout, max_bytes, allow_private = 5.0, 1000, False

        def fetch(self, *a, **k):
            raise AssertionError("plain fetch used for a browser document")

    doc = Document(service="S", type="T", url="http://127.0.0.1:9/p", browser=True)
    r = fetch_document(NoHttp(), doc)
    assert r.reason == "forbidden-address"
    os.environ["POLICY_TRACKER_CHROMIUM"] = "/nonexistent/chromium"
    try:
        allowed = fetch_document(NoHttp(), Document(service="S", type="T", url=doc.url, browser=True,
                                                    allow_private=True))
    finally:
        del os.environ["POLICY_TRACKER_CHROMIUM"]
    assert allowed.reason == "browser-missing"  # past the policy; no browser here to go further


def test_plain_documents_pass_the_declared_allowance(page, strict_policy) -> None:
    with Fetcher() as f:
        assert fetch_document(f, Document(service="S", type="T", url=page)).reason == "forbidden-address"
        assert fetch_document(f, Document(service="S", type="T", url=page, allow_private=True)).ok


def test_allow_private_in_a_declaration() -> None:
    (doc,) = parse_declaration({"name": "Intranet", "allow_private": True,
                                "documents": {"Privacy Policy": {"url": "http://10.1.2.3/p"}}}, "i.toml")
    assert doc.allow_private
    (doc2,) = parse_declaration({"name": "X", "documents": {"P": {"url": "http://a.test/", "allow_private": True}}},
                                "x.toml")
    assert doc2.allow_private
    assert "allow_private = true" in render_declaration("Intranet", [doc])
    (default,) = parse_declaration({"name": "X", "documents": {"P": {"url": "http://a.test/"}}}, "x.toml")
    assert not default.allow_private
    with pytest.raises(Exception, match=r"x.toml: documents.\"P\".allow_private: expected true or false"):
        parse_declaration({"name": "X", "documents": {"P": {"url": "http://a.test/", "allow_private": "yes"}}},
                          "x.toml")


def test_check_refuses_loopback_unless_the_declaration_allows_it(ws, httpserver) -> None:
    text = "".join(f"<p>Clause {i}: we keep the data you give us for as long as your account exists.</p>"
                   for i in range(8))
    httpserver.expect_request("/policy").respond_with_data(f"<html><body><h1>Privacy</h1>{text}</body></html>",
                                                           content_type="text/html")
    page = httpserver.url_for("/policy")
    env = {k: v for k, v in ws.env().items() if k != "POLICY_TRACKER_ALLOW_PRIVATE"}
    ws.declare("Local", page)
    ws.declare("Allowed", page, allow_private=True)

    p = subprocess.run([sys.executable, "-m", "tracker", "check", "--json"], capture_output=True, text=True, env=env,
                       cwd=ws.root, timeout=120)
    lines = {x["service"]: x for x in map(json.loads, p.stdout.splitlines())}
    assert lines["Local"]["state"] == "failed" and lines["Local"]["reason"] == "forbidden-address", lines
    assert lines["Allowed"]["state"] == "new", (lines["Allowed"]["reason"], lines["Allowed"]["error"])


# --------------------------------------------------------------------------- helpers


def _resolve(monkeypatch, names: dict[str, str | list[str]], once: bool = False) -> list[str]:
    """Answer ``getaddrinfo`` for these names (others as usual); ``once``: a second question fails."""
    real = socket.getaddrinfo
    calls: list[str] = []

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        if host in names:
            calls.append(host)
            if once and len([c for c in calls if c == host]) > 1:
                raise socket.gaierror(socket.EAI_NONAME, "asked twice")
            addresses = names[host] if isinstance(names[host], list) else [names[host]]
            out = []
            for a in addresses:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                out.append((fam, socket.SOCK_STREAM, 6, "", (a, port) if fam == socket.AF_INET else (a, port, 0, 0)))
            return out
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def _fake_redirect(url: str, location: str):
    import requests

    r = requests.Response()
    r.status_code = 302
    r.url = url
    r.headers["Location"] = location
    r.raw = _EmptyRaw()
    return r


class _EmptyRaw:
    def read(self, *a, **k):
        return b""

    def close(self):
        pass

    def release_conn(self):
        pass
