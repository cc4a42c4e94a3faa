"""The offline demo: a fictional platform's policy served from 127.0.0.1, in two versions.

Version 2 is version 1 plus the edits in ``data/demo/changes-v2.toml``: a date change (to be
ignored), a reworded retention clause, and the two additions this tool exists to catch, an
AI-training clause and a biometric clause.
"""

from __future__ import annotations

import hashlib
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

DEMO_SERVICE = "Chirpline"
DEMO_TYPE = "Privacy Policy"


def _data(name: str) -> str:
    return resources.files("tracker").joinpath("data", "demo", name).read_text(encoding="utf-8")


def demo_versions() -> list[bytes]:
    """[v1, v2] as HTML bytes."""
    v1 = _data("policy-v1.html")
    v2 = v1
    for edit in tomllib.loads(_data("changes-v2.toml"))["edit"]:
        if v2.count(edit["old"]) != 1:
            raise RuntimeError(f"demo edit does not apply exactly once: {edit['old'][:60]!r}")
        v2 = v2.replace(edit["old"], edit["new"])
    return [v1.encode("utf-8"), v2.encode("utf-8")]


class PolicyServer:
    """A tiny HTTP server on 127.0.0.1 that serves one page, with ETag/304, until told otherwise."""

    def __init__(self, body: bytes, path: str = "/privacy") -> None:
        self.path = path
        self.body = body
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != server.path:
                    self.send_error(404)
                    return
                body = server.body
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host  # an AF_INET server's host is a str
        return f"http://{host}:{port}{self.path}"

    def __enter__(self) -> PolicyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
