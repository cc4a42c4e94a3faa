"""Optional browser fetch: render a page with a headless Chromium, for documents declared ``browser = true``.

Many policy pages put their text in with JavaScript, so a plain GET sees only a shell. Chromium's
``--dump-dom`` prints the DOM after scripts ran (``--virtual-time-budget`` lets timers fire without
waiting in real time). It is a subprocess, not a Python dependency: the browser stays an optional
extra, found on PATH (or ``POLICY_TRACKER_CHROMIUM``), and its absence is a classified failed check.

What is lost compared with a plain GET: the HTTP status (dump-dom does not say; a non-empty DOM counts
as 200), the validators (no conditional GET) and the content type (the DOM is HTML in UTF-8).

Safety: pages' scripts run, so Chromium keeps its sandbox. It refuses to start its sandbox as root, so
when the tracker runs as root Chromium is started as an unprivileged user (``nobody``, or
``POLICY_TRACKER_BROWSER_USER``); when the sandbox cannot start at all (no user namespaces, say), the
render fails with a reason saying so, and ``POLICY_TRACKER_BROWSER_NO_SANDBOX=1`` is the explicit,
documented way to run without it. The fetch policy (:mod:`tracker.capture.netpolicy`) is applied to the URL
the browser loads: its host is resolved and checked first, then pinned to the checked address
(``--host-resolver-rules``), so the page itself cannot come from a refused address. What the page then
loads (scripts, frames, images, its own redirects) is not checked by the policy: those requests are
Chromium's, inside its sandbox, and the known metadata names are mapped to nothing for it.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from tracker.capture import netpolicy
from tracker.capture.fetch import MAX_BYTES
from tracker.models import Document, FetchResult
from tracker.publish.termsafe import safe_line

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
MAX_BROWSERS = 2  # browsers are heavy: at most this many at once in one process, whatever --jobs says
FLAGS = ("--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
         "--mute-audio", "--hide-scrollbars")
NO_SANDBOX_ENV = "POLICY_TRACKER_BROWSER_NO_SANDBOX"  # =1: run Chromium without its sandbox (asked for)
USER_ENV = "POLICY_TRACKER_BROWSER_USER"  # who runs Chromium when the tracker runs as root (default nobody)
_SANDBOX_TROUBLE = re.compile(r"sandbox|zygote|namespace", re.I)
_SLOTS = threading.BoundedSemaphore(MAX_BROWSERS)
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
# Newer Chromium dumps its own error page instead of an empty DOM when a page cannot load: a body of
# class "neterror" with the code in an element of class "error-code".
_ERROR_PAGE = re.compile(rb"<body[^>]*\bclass=\"[^\"]*\bneterror\b")
_ERROR_PAGE_CODE = re.compile(rb"class=\"error-code\">(?:<!--[^>]*-->)?(ERR_[A-Z_]+)")


def find_chromium() -> str | None:
    """The browser to run: ``POLICY_TRACKER_CHROMIUM`` when set (even if wrong: then None), else PATH."""
    explicit = os.environ.get("POLICY_TRACKER_CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def render(url: str, *, timeout: float = 60.0, max_bytes: int = MAX_BYTES, budget_ms: int = 5000,
           executable: str | None = None, allow_private: bool | None = None,
           sandbox: bool | None = None) -> FetchResult:
    """The DOM of ``url`` after its scripts ran, as a FetchResult; never raises.

    ``timeout`` bounds the render from the moment a browser slot is free: name resolution, the
    browser's start and the page (the process group is killed at the deadline); ``budget_ms`` is the
    virtual time given to scripts and timers. ``allow_private`` None takes
    ``POLICY_TRACKER_ALLOW_PRIVATE`` from the environment; ``sandbox`` None is on unless
    ``POLICY_TRACKER_BROWSER_NO_SANDBOX=1``.
    """
    start = time.monotonic()
    exe = executable or find_chromium()
    if exe is None:
        wanted = os.environ.get("POLICY_TRACKER_CHROMIUM") or " / ".join(CANDIDATES)
        return _fail(url, "browser-missing", f"no headless browser found ({wanted}); install chromium or set "
                     "POLICY_TRACKER_CHROMIUM", start)
    if allow_private is None:
        allow_private = netpolicy.env_allows_private()
    if sandbox is None:
        sandbox = not netpolicy.env_flag(NO_SANDBOX_ENV)
    with _SLOTS:
        start = time.monotonic()  # the deadline runs from here: waiting for another render is not this page's
        return _run(exe, url, deadline=start + max(timeout, 1.0), timeout=timeout, max_bytes=max_bytes,
                    budget_ms=budget_ms, start=start, allow_private=allow_private, sandbox=sandbox)


def fetch_document(fetcher, doc: Document, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
    """One fetch for ``doc``: the browser when it is declared ``browser = true``, else ``fetcher.fetch``.

    The browser run gets the fetcher's whole-transfer timeout and size limit; private addresses are
    allowed when the document (``allow_private = true``) or the fetcher (``Fetcher(allow_private=True)``,
    ``--allow-private``, ``POLICY_TRACKER_ALLOW_PRIVATE=1``) allows them.
    """
    doc_allows = bool(getattr(doc, "allow_private", False))
    if getattr(doc, "browser", False):
        fetcher_allows = getattr(fetcher, "allow_private", None)
        allowed = True if doc_allows else fetcher_allows  # None: the environment decides
        return render(doc.url, timeout=getattr(fetcher, "total_timeout", 60.0),
                      max_bytes=getattr(fetcher, "max_bytes", MAX_BYTES), allow_private=allowed)
    if doc_allows:
        return fetcher.fetch(doc.url, etag=etag, last_modified=last_modified, allow_private=True)
    return fetcher.fetch(doc.url, etag=etag, last_modified=last_modified)


def _pin(url: str, *, allow_private: bool, timeout: float) -> list[str]:
    """Check the host of ``url`` against the fetch policy and return the Chromium flags that make it
    connect to the address checked; raises ``netpolicy.Refused``, ``socket.gaierror`` or ``TimeoutError``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443 if parts.scheme == "https" else 80
    infos = netpolicy.resolve(host, port, allow_private=allow_private, timeout=timeout)
    rules = [f"MAP {name} ~NOTFOUND" for name in sorted(netpolicy.METADATA_NAMES)]
    if netpolicy.parse_ip(host) is None:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = ""
        if re.fullmatch(r"[A-Za-z0-9._-]+", ascii_host):
            address = infos[0][4][0]
            rules.insert(0, f"MAP {ascii_host} {'[' + address + ']' if ':' in address else address}")
    return ["--host-resolver-rules=" + ", ".join(rules)]


def _run_as() -> tuple[int, int] | str | None:
    """(uid, gid) of the unprivileged user that runs Chromium when we are root; None when not root; a
    message when there is no such user."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    name = os.environ.get(USER_ENV) or "nobody"
    try:
        entry = pwd.getpwnam(name) if not name.isdigit() else pwd.getpwuid(int(name))
    except KeyError:
        return (f"running as root, Chromium's sandbox needs an unprivileged user, and there is no user {name!r} "
                f"(set {USER_ENV} to one, or {NO_SANDBOX_ENV}=1 to run Chromium without its sandbox)")
    if entry.pw_uid == 0:
        return (f"{USER_ENV}={name} is root; Chromium's sandbox needs an unprivileged user "
                f"(or set {NO_SANDBOX_ENV}=1 to run Chromium without its sandbox)")
    return entry.pw_uid, entry.pw_gid


def _run(exe: str, url: str, *, deadline: float, timeout: float, max_bytes: int, budget_ms: int, start: float,
         allow_private: bool, sandbox: bool) -> FetchResult:
    try:
        pin = _pin(url, allow_private=allow_private, timeout=max(0.1, deadline - time.monotonic()))
    except netpolicy.Refused as e:
        return _fail(url, "forbidden-address", safe_line(e, 300), start)
    except socket.gaierror as e:
        host = urlsplit(url).hostname or "?"
        why = e.strerror or str(e)
        return _fail(url, "connection", safe_line(f"cannot resolve {host} ({why[:1].lower() + why[1:]})", 300), start)
    except TimeoutError as e:
        return _fail(url, "timeout", safe_line(e, 300), start)
    user = _run_as() if sandbox else None
    if isinstance(user, str):
        return _fail(url, "browser-failed", user, start)
    profile = tempfile.mkdtemp(prefix="policy-tracker-chromium-")
    extra: dict[str, Any] = {}
    if user is not None:
        os.chown(profile, *user)
        extra = {"user": user[0], "group": user[1], "extra_groups": []}
    args = [exe, *FLAGS, *([] if sandbox else ["--no-sandbox"]), *pin, f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
    try:
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                        start_new_session=True, env={**os.environ, "HOME": profile}, **extra)
            except OSError as e:
                return _fail(url, "browser-missing", safe_line(f"cannot start {exe}: {e.strerror or e}", 300), start)
            try:
                body, problem = _read(proc, deadline, max_bytes)
            finally:
                _kill(proc)
            err.seek(0)
            stderr = err.read()[-20000:].decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if problem == "timeout":
        return _fail(url, "timeout", f"browser did not finish within the {timeout:g} s deadline (process group "
                     "killed)", start)
    if problem == "too-large":
        return _fail(url, "too-large", f"rendered page over the {max_bytes} byte limit", start)
    net = _NET_ERROR.search(stderr)
    if _ERROR_PAGE.search(body):
        found = _ERROR_PAGE_CODE.search(body)
        code = found.group(1).decode() if found else (net.group(1) if net else "ERR_FAILED")
        return _fail(url, "timeout" if "TIMED_OUT" in code else "connection", f"browser: {code}", start)
    if not body.strip():
        if net:
            code = net.group(1)
            reason = "timeout" if "TIMED_OUT" in code else "connection"
            return _fail(url, reason, f"browser: {code}", start)
        last = [line for line in stderr.splitlines() if line.strip() and "dbus" not in line]
        if sandbox and any(_SANDBOX_TROUBLE.search(line) for line in last[-5:]):
            trouble = next(line for line in reversed(last) if _SANDBOX_TROUBLE.search(line))
            return _fail(url, "browser-failed", safe_line(
                f"Chromium's sandbox could not start ({trouble.split('] ', 1)[-1][-200:]}); set "
                f"{NO_SANDBOX_ENV}=1 to run it without its sandbox (less safe: pages' scripts run)", 400), start)
        detail = f": {last[-1][-200:]}" if last else ""
        return _fail(url, "browser-failed", safe_line(f"browser exited {proc.returncode} with an empty page{detail}",
                                                      300), start)
    return FetchResult(url=url, ok=True, status=200, body=body, content_type="text/html; charset=utf-8",
                       encoding="utf-8", final_url=url, duration=time.monotonic() - start)


def _read(proc: subprocess.Popen, deadline: float, max_bytes: int) -> tuple[bytes, str | None]:
    """Read stdout until EOF, the deadline or the size limit (a blocking read could hang forever)."""
    assert proc.stdout is not None
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"", "timeout"
            if not sel.select(timeout=min(left, 1.0)):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                return b"", "too-large"
            chunks.append(chunk)
    try:
        proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        pass  # the DOM is complete (stdout closed); the group is killed anyway
    return b"".join(chunks), None


def _kill(proc: subprocess.Popen) -> None:
    """Kill Chromium's whole process group (renderers, zygote, GPU process), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if proc.stdout is not None:
        proc.stdout.close()


def _fail(url: str, reason: str, error: str, start: float) -> FetchResult:
    return FetchResult(url=url, ok=False, reason=reason, error=error, duration=time.monotonic() - start)
