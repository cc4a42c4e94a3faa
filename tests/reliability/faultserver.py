"""A fault-injecting HTTP server on 127.0.0.1, written on raw sockets so that every fault is real.

Each path has a good page and a selectable fault; the server logs the time of every request per
path (to check that Retry-After is honoured and a server is not hammered). Faults are produced at
the socket level where that is what happens on the web: a reset is a RST (SO_LINGER 0), a truncated
transfer is a short body under a longer Content-Length, a slow drip really drips. A connect
timeout comes from :class:`Blackhole`, a local listening socket whose accept queue is full.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- pages (written for the tests)

SECTIONS = {
    "Information we collect": [
        "We collect the information you give us when you create an account, such as your name, e-mail address "
        "and telephone number, and the content you post.",
        "We collect information about how you use the service, including the pages you visit, the features you "
        "use and the time, frequency and duration of your activities.",
        "We collect device information such as the operating system, the browser type, language settings and "
        "identifiers that are unique to your device.",
    ],
    "How we use information": [
        "We use information to provide, maintain and improve the service, and to develop new features.",
        "We use information to communicate with you about your account and to answer your requests.",
        "We use information to detect and prevent fraud, abuse and security incidents on our platform.",
        "Nous n’utilisons pas vos données personnelles à des fins de publicité ciblée sans votre accord.",
    ],
    "How we share information": [
        "We share information with service providers who process it on our behalf under written contracts "
        "(for example our hosting provider in Zürich).",
        "We share information when the law requires it, or to protect the rights and safety of our users.",
    ],
    "Your choices": [
        "You can access, correct or delete your information at any time from your account settings.",
        "You can object to some processing and withdraw your consent where processing is based on it — "
        "we don’t charge for this.",
    ],
    "Retention": [
        "We keep account information for as long as your account is open, and delete it within ninety days "
        "after you close it, unless the law requires us to keep it longer.",
    ],
}


def policy_page(*, extra: dict[str, list[str]] | None = None, meta_charset: str | None = "utf-8",
                container: str = '<main id="policy">', end: str = "</main>") -> str:
    """A policy page with non-ASCII text (curly quotes, accents, dashes) and the usual site chrome."""
    sections = {k: list(v) for k, v in SECTIONS.items()}
    for name, paras in (extra or {}).items():
        sections.setdefault(name, []).extend(paras)
    body = ["<h1>Privacy Policy</h1>", "<p>Last updated: 5 January 2026</p>"]
    for name, paras in sections.items():
        body.append(f"<h2>{name}</h2>")
        body.extend(f"<p>{p}</p>" for p in paras)
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    return (f'<!doctype html><html lang="en"><head>{meta}<title>Privacy Policy</title></head><body>'
            '<header><nav><a href="/">Home</a> <a href="/help">Help</a></nav></header>'
            f"{container}{''.join(body)}{end}<footer>Example Corp</footer></body></html>")


# Validates, and is cheap on the good page (no divs); on 4,000 sibling divs libxml2 runs it for hours.
SLOW_SELECTOR = "div:not(section ~ div ~ div ~ div)"

BOT_WALL = ("<html><head><title>Just a moment...</title></head><body><main id=\"policy\"><h1>Checking your browser"
            "</h1><p>Please verify you are a human to continue. Complete the CAPTCHA below.</p></main></body></html>")
LOGIN_WALL = ("<html><head><title>Sign in</title></head><body><main id=\"policy\"><h1>Welcome back</h1>"
              "<p>Please log in to continue to this page.</p><form><input name=user><input name=pass "
              "type=password><button>Log in</button></form></main></body></html>")
ERROR_PAGE = "<html><head><title>Error</title></head><body><h1>Something went wrong</h1></body></html>"

BIG = 50 * 1024 * 1024  # the "50 MB body" faults
_BOMB: bytes | None = None


def gzip_bomb() -> bytes:
    """50 MB of markup compressed to ~50 kB (built once per process)."""
    global _BOMB
    if _BOMB is None:
        _BOMB = gzip.compress(b"<html><body><main id=\"policy\"><p>" + b"A" * BIG, compresslevel=6)
    return _BOMB


# --------------------------------------------------------------------------- the server

FAULTS = (
    "ok", "status-500", "status-502", "status-503", "status-403", "bot-wall", "login-wall", "retry-after-429",
    "empty", "blank", "truncated-length", "truncated-document", "charset-lie", "charset-missing",
    "charset-latin1-header", "redirect-loop", "huge-length", "huge-stream", "gzip-bomb", "selector-gone",
    "reset", "reset-mid-body", "stall-mid-body", "slow-drip",
    # pages that are not the policy (issue 19), and a server's control characters
    "consent-wall", "login-elsewhere", "other-language", "half-page-closed", "tarpit", "control-reason",
    "slow-selector",
)

# A consent notice rendered inside the site's layout (in the content container), buttons in a form.
CONSENT_WALL = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Privacy Policy</title></head><body>'
    '<main id="policy"><h2>We value your privacy</h2><p>We and our partners store and/or access information on a '
    "device, such as cookies, and process personal data, such as unique identifiers and standard information sent "
    "by a device, for personalised advertising and content, measurement and audience research.</p><p>You may "
    "click to consent to our and our partners' processing as described above, or change your preferences before "
    "consenting or to refuse consenting. Your preferences apply to this website only; you can withdraw your "
    "consent at any time.</p><form><button>Manage options</button><button>Accept all</button></form></main>"
    "</body></html>")
# Another site's sign-in page, long with its marketing text (a redirect ends there).
LOGIN_ELSEWHERE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - Accounts</title></head><body>'
    '<main id="policy"><h1>Sign in</h1><form><input name="user"><input name="pass" type="password">'
    "<button>Next</button></form>"
    + "<p>One account for your mail, files and calendar, kept in sync on every device and protected by "
      "two-step verification around the clock.</p>" * 30 + "</main></body></html>")
# The policy's German edition (written for the tests).
GERMAN = (
    '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Datenschutzerklärung</title></head><body>'
    '<main id="policy"><h1>Datenschutzerklärung</h1>'
    "<h2>Welche Daten wir erheben</h2><p>Wir erheben die Daten, die du uns bei der Erstellung deines Kontos "
    "gibst, zum Beispiel deinen Namen und deine E-Mail-Adresse, und die Inhalte, die du veröffentlichst.</p>"
    "<p>Wir erheben Informationen darüber, wie du den Dienst nutzt, und über die Geräte, die du verwendest, "
    "etwa das Betriebssystem und die Spracheinstellungen.</p>"
    "<h2>Wie wir die Daten verwenden</h2><p>Wir verwenden die Daten, um den Dienst bereitzustellen und zu "
    "verbessern, um mit dir über dein Konto zu kommunizieren und um Betrug und Missbrauch zu verhindern.</p>"
    "<h2>Wie wir Daten teilen</h2><p>Wir teilen Daten mit Dienstleistern, die sie in unserem Auftrag "
    "verarbeiten, und mit Behörden, wenn das Gesetz es verlangt oder wenn es zum Schutz unserer Nutzer "
    "nötig ist.</p><h2>Deine Rechte</h2><p>Du kannst deine Daten jederzeit einsehen, berichtigen oder löschen "
    "lassen, und du kannst einer Verarbeitung widersprechen, die auf unserem berechtigten Interesse beruht.</p>"
    "</main></body></html>")



@dataclass
class Route:
    page: str
    fault: str = "ok"
    hits: list[float] = field(default_factory=list)


class FaultServer:
    """``with FaultServer() as srv: srv.add("/p", html); srv.set("/p", "status-503"); srv.url("/p")``."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.routes: dict[str, Route] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()  # wake accept()
        except OSError:
            pass
        self.sock.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, page: str, fault: str = "ok") -> str:
        self.routes[path] = Route(page=page, fault=fault)
        return self.url(path)

    def set(self, path: str, fault: str, page: str | None = None) -> None:
        assert fault in FAULTS, fault
        route = self.routes[path]
        route.fault = fault
        if page is not None:
            route.page = page

    # ------------------------------------------------------------------ internals

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.stop.is_set():
                conn.close()
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(20)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            target = data.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
            path, _, query = target.partition("?")
            route = self.routes.get(path)
            if route is None:
                self._send(conn, 404, b"not found")
                return
            with self.lock:
                route.hits.append(time.monotonic())
            getattr(self, "_f_" + route.fault.replace("-", "_"))(conn, route, path, query)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _head(status: int, headers: dict[str, str]) -> bytes:
        reason = {200: "OK", 302: "Found", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
                  502: "Bad Gateway", 503: "Service Unavailable", 404: "Not Found"}.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, conn: socket.socket, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              **extra: str) -> None:
        headers = {"Content-Type": ctype, "Content-Length": str(len(body)), **{k.replace("_", "-"): v
                                                                                for k, v in extra.items()}}
        conn.sendall(self._head(status, headers) + body)

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)

    @staticmethod
    def _rst(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    # one method per fault ------------------------------------------------

    def _f_ok(self, conn, route, path, query) -> None:
        self._send(conn, 200, route.page.encode("utf-8"))

    def _status(self, conn, status: int, **extra: str) -> None:
        self._send(conn, status, ERROR_PAGE.encode(), **extra)

    def _f_status_500(self, conn, route, path, query) -> None:
        self._status(conn, 500)

    def _f_status_502(self, conn, route, path, query) -> None:
        self._status(conn, 502)

    def _f_status_503(self, conn, route, path, query) -> None:
        self._status(conn, 503)

    def _f_status_403(self, conn, route, path, query) -> None:
        self._status(conn, 403)

    def _f_retry_after_429(self, conn, route, path, query) -> None:
        self._send(conn, 429, b"<html><body><p>Too many requests, slow down.</p></body></html>", Retry_After="1")

    def _f_bot_wall(self, conn, route, path, query) -> None:
        self._send(conn, 200, BOT_WALL.encode())

    def _f_login_wall(self, conn, route, path, query) -> None:
        self._send(conn, 200, LOGIN_WALL.encode())

    def _f_empty(self, conn, route, path, query) -> None:
        self._send(conn, 200, b"")

    def _f_blank(self, conn, route, path, query) -> None:
        self._send(conn, 200, b" \r\n\t\n" * 100)

    def _f_truncated_length(self, conn, route, path, query) -> None:
        body = route.page.encode("utf-8")
        head = self._head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
        conn.sendall(head + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)  # a clean FIN: the body is simply short

    def _f_truncated_document(self, conn, route, path, query) -> None:
        body = route.page.encode("utf-8")
        self._send(conn, 200, body[: len(body) // 2])  # a complete response carrying half the document

    def _f_charset_lie(self, conn, route, path, query) -> None:
        # windows-1252 bytes under a header (and no meta) claiming UTF-8
        page = route.page.replace('<meta charset="utf-8">', "")
        self._send(conn, 200, page.encode("cp1252"), ctype="text/html; charset=utf-8")

    def _f_charset_missing(self, conn, route, path, query) -> None:
        page = route.page.replace('<meta charset="utf-8">', "")
        self._send(conn, 200, page.encode("utf-8"), ctype="text/html")

    def _f_charset_latin1_header(self, conn, route, path, query) -> None:
        page = route.page.replace('<meta charset="utf-8">', "")
        self._send(conn, 200, page.encode("utf-8"), ctype="text/html; charset=iso-8859-1")

    def _f_redirect_loop(self, conn, route, path, query) -> None:
        nxt = "r=2" if query != "r=2" else "r=1"
        self._send(conn, 302, b"", Location=f"{path}?{nxt}")

    def _stream(self, conn, headers: dict[str, str], total: int) -> None:
        conn.sendall(self._head(200, headers))
        block = (b"<p>" + b"x" * 1017 + b"</p>\n") * 64  # 64 kB
        sent = 0
        while sent < total and not self.stop.is_set():
            conn.sendall(block)
            sent += len(block)

    def _f_huge_length(self, conn, route, path, query) -> None:
        self._stream(conn, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(BIG)}, BIG)

    def _f_huge_stream(self, conn, route, path, query) -> None:  # no Content-Length: only the read limit helps
        self._stream(conn, {"Content-Type": "text/html; charset=utf-8"}, BIG)

    def _f_gzip_bomb(self, conn, route, path, query) -> None:
        self._send(conn, 200, gzip_bomb(), Content_Encoding="gzip")

    def _f_selector_gone(self, conn, route, path, query) -> None:  # a redesign: same words, new markup
        page = route.page.replace('<main id="policy">', '<div class="legal-content">').replace("</main>", "</div>")
        self._send(conn, 200, page.encode("utf-8"))

    def _f_reset(self, conn, route, path, query) -> None:
        self._rst(conn)

    def _f_reset_mid_body(self, conn, route, path, query) -> None:
        body = route.page.encode("utf-8")
        head = self._head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
        conn.sendall(head + body[: len(body) // 3])
        time.sleep(0.05)
        self._rst(conn)

    def _f_stall_mid_body(self, conn, route, path, query) -> None:
        body = route.page.encode("utf-8")
        head = self._head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
        conn.sendall(head + body[: len(body) // 2])
        self._sleep(15)  # longer than any read timeout the tests use

    def _f_slow_drip(self, conn, route, path, query) -> None:
        body = route.page.encode("utf-8")
        head = self._head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
        conn.sendall(head)
        for i in range(0, len(body), 16):  # 16 bytes every 0.1 s: never a read timeout, never finished
            if self.stop.is_set():
                return
            conn.sendall(body[i:i + 16])
            self._sleep(0.1)


    def _f_consent_wall(self, conn, route, path, query) -> None:
        self._send(conn, 200, CONSENT_WALL.encode("utf-8"))

    def _f_login_elsewhere(self, conn, route, path, query) -> None:
        if query.startswith("signin"):
            self._send(conn, 200, LOGIN_ELSEWHERE.encode("utf-8"))
            return  # the same server under another name ("localhost"): another site to the tracker
        self._send(conn, 302, b"", Location=f"http://localhost:{self.port}{path}?signin=1")

    def _f_other_language(self, conn, route, path, query) -> None:
        self._send(conn, 200, GERMAN.encode("utf-8"))

    def _f_half_page_closed(self, conn, route, path, query) -> None:
        page = route.page
        cut = page.index("<h2>", len(page) // 2)  # half the sections, the page closed as if whole
        self._send(conn, 200, (page[:cut] + "</main></body></html>").encode("utf-8"))

    def _f_slow_selector(self, conn, route, path, query) -> None:
        """The policy with 4,000 sibling divs added: the document's ``SLOW_SELECTOR`` (which matches
        nothing on the good page) would now run for hours inside libxml2; only the extraction deadline
        ends it."""
        blocks = "".join(f"<div><p>Clause {i} of the policy, kept as it is.</p></div>" for i in range(4000))
        self._send(conn, 200, route.page.replace("</main>", blocks + "</main>").encode("utf-8"))

    def _f_tarpit(self, conn, route, path, query) -> None:
        """A byte every half second: every read gets data, the transfer never ends (a whole-transfer
        deadline is the only defence)."""
        body = route.page.encode("utf-8")
        head = self._head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))})
        conn.sendall(head)
        for i in range(len(body)):
            if self.stop.is_set():
                return
            conn.sendall(body[i:i + 1])
            self._sleep(0.5)

    def _f_control_reason(self, conn, route, path, query) -> None:
        head = (b"HTTP/1.1 500 \x1b]0;owned\x07\x1b[2J\rforged\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 2\r\n\r\nno")
        conn.sendall(head)


class Blackhole:
    """A listening socket that never accepts, with its accept queue filled: connects to it time out."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)
        time.sleep(0.1)

    def url(self, path: str = "/privacy") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for c in self.fillers:
            c.close()
        self.sock.close()
