"""Helpers the tests share: real CLI runs in a subprocess (``Workspace``), the ../shared corpus when
present, the one-line error check, and skips for missing Debian tools. Fixtures stay in conftest.py;
page and feed data builders are in pages.py and feeddata.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars"]
SHARED = ROOT.parent / "shared"
NOBODY = 65534  # the user that runs the CLI when a test needs file permissions to hold (see run_unprivileged)


def shared_dir() -> Path:
    """../shared (read-only test data); skips the calling test when it is not there."""
    if not (SHARED / "corpus").is_dir():
        pytest.skip("../shared/corpus is not present (real-policy test data lives outside the repository)")
    return SHARED


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def json_lines(self) -> list:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@dataclass
class Workspace:
    """A folder with a database, a policies folder and a feeds folder, and a way to run the CLI on them."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "tracker.db"

    @property
    def policies(self) -> Path:
        return self.root / "policies"

    @property
    def feeds(self) -> Path:
        return self.root / "feeds"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_TRACKER_")}
        env.update(POLICY_TRACKER_DB=str(self.db), POLICY_TRACKER_POLICIES=str(self.policies),
                   POLICY_TRACKER_FEEDS=str(self.feeds), NO_COLOR="1", PYTHONUTF8="1",
                   POLICY_TRACKER_ALLOW_PRIVATE="1",  # the test servers listen on 127.0.0.1
                   POLICY_TRACKER_ADD_TRY="0")  # `add` would fetch its page: tests reach only 127.0.0.1
        return env

    def run(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        p = subprocess.run([sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                           env=self.env(), input=input, timeout=timeout, cwd=self.root)
        return Result(p.returncode, p.stdout, p.stderr)

    def run_unprivileged(self, *args: str) -> Result:
        """The CLI as a user file permissions apply to: ``nobody`` (through setpriv) when the tests run as
        root, who ignores them. The workspace must be in a folder ``nobody`` may enter (``shared_root``)."""
        prefix: list[str] = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: permissions cannot be made to hold")
            prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        env = dict(self.env(), HOME=str(self.root))  # root's home is not nobody's to read (requests looks for .netrc)
        p = subprocess.run([*prefix, sys.executable, "-m", "tracker", *args], capture_output=True, text=True,
                           env=env, cwd=self.root, timeout=120)
        return Result(p.returncode, p.stdout, p.stderr)

    def declare(self, service: str, url: str, type_: str = "Privacy Policy", **extra: object) -> Path:
        """Write a declaration file directly (the `add` command is tested on its own)."""
        self.policies.mkdir(exist_ok=True)
        lines = [f"name = {json.dumps(service)}", f"[documents.{json.dumps(type_)}]", f"url = {json.dumps(url)}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
        path = self.policies / (service.lower().replace(" ", "-") + ".toml")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def assert_one_line_error(r: Result, *needles: str) -> None:
    """Bad input: non-zero exit, one line on stderr, no traceback, naming what is wrong."""
    assert r.code == 2, (r.code, r.out, r.err)
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    for n in needles:
        assert n in r.err, (n, r.err)


def needs_tool(name: str, package: str | None = None) -> pytest.MarkDecorator:
    """Skip when a Debian tool is missing — except in CI (POLICY_TRACKER_REQUIRE_TOOLS=1), where it must fail."""
    missing = shutil.which(name) is None and not os.environ.get("POLICY_TRACKER_REQUIRE_TOOLS")
    return pytest.mark.skipif(missing, reason=f"{name} not installed (apt-get install {package or name})")


def measure(page: Path, tmp: Path, width: int, script: str, *flags: str, height: int = 900) -> str:
    """Render a copy of ``page`` (its CSP meta removed, so the measuring script may run) in a frame
    ``width`` px wide; the script leaves its result in the host page's data-m attribute (``parent.document.body.dataset.m``). A frame, because
    headless Chromium makes no window narrower than 500 px (--window-size=390 gives a 500 px viewport)."""
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    copy = page.with_name("measure-" + page.name)
    copy.write_text(html.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    host = page.with_name("host-" + page.name)
    host.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{copy.name}" '
                    f'style="width:{width}px;height:{height}px;border:0"></iframe></body></html>', encoding="utf-8")
    try:
        r = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, *flags, "--allow-file-access-from-files",
                            f"--user-data-dir={tmp / 'profile'}", f"--window-size={max(width, 500) + 20},{height + 40}",
                            "--dump-dom", host.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        copy.unlink()
        host.unlink()
    assert r.returncode == 0, r.stderr[-2000:]
    return lxml.html.fromstring(r.stdout).xpath("string(//body/@data-m)")


def as_dicts(clauses: list) -> list[dict]:
    """Clauses as dictionaries, to compare every field."""
    return [c.to_dict() for c in clauses]


def clauses_format2(clauses: list) -> bytes:
    """Clauses as releases before schema 6 stored them (format 2: distinct sections once, rows indexing them)."""
    import zlib

    from tracker.text.normalise import clause_id

    sections: dict[tuple[str, ...], int] = {}
    rows = []
    for c in clauses:
        folded = c.text.casefold()
        n = None if c.norm == folded else (len(folded) - len(c.norm) if folded.endswith(c.norm) else c.norm)
        rows.append([None if c.id == clause_id(c.norm) else c.id, c.text, n, sections.setdefault(c.section, len(sections)),
                     c.kind, c.metadata, c.context])
    blob = json.dumps({"v": 2, "sections": list(sections), "rows": rows}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(blob.encode("utf-8"), 1)


def old_database(path: Path, schema: int, versions: list[tuple[str | bytes, bytes, str, int]],
                 changes: tuple[tuple[int, int, bytes], ...] = ()) -> None:
    """A database file as an earlier release left it: the tables of ``schema`` (``BASE`` or later), one
    document (Acme's privacy policy), its ``versions`` as stored (text, clauses blob, sha256 and length of
    the text) and ``changes`` (from, to, diff blob)."""
    import sqlite3

    from tracker.store.schema import schema_statements

    con = sqlite3.connect(path)
    for sql in schema_statements(schema):
        con.executescript(sql)
    con.execute(f"PRAGMA user_version = {schema}")
    con.execute("INSERT INTO documents (id, service, type, url, created_at) VALUES (1, 'Acme', 'Privacy Policy', "
                "'https://acme.test/privacy', 0)")
    for number, (text, clauses, digest, length) in enumerate(versions, 1):
        con.execute("INSERT INTO versions (document_id, number, recorded_at, sha256, text, length, clauses) "
                    "VALUES (1, ?, ?, ?, ?, ?, ?)", (number, 1000.0 + number, digest, text, length, clauses))
    for old, new, diff in changes:
        con.execute("INSERT INTO changes (document_id, from_version, to_version, detected_at, significant, tags, "
                    "diff) VALUES (1, ?, ?, ?, 1, '[]', ?)", (old, new, 1000.0 + new, diff))
    con.commit()
    con.close()


POLICY_BODY = b"<p>policy</p>"


@contextmanager
def keepalive_server(etag: str | None = None) -> Iterator[tuple[str, list[int]]]:
    """A local HTTP/1.1 server that keeps connections alive and counts them: yields (the URL of a small
    policy page, a list that grows by one per connection). With ``etag``, the page is sent with it and
    a conditional GET for it is answered 304."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            connections.append(1)
            super().setup()

        def do_GET(self) -> None:  # noqa: N802
            if etag is not None and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(POLICY_BODY)))
            if etag is not None:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(POLICY_BODY)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/privacy", connections
    finally:
        server.shutdown()
        server.server_close()
