"""Optional browser fetch: render a page with a headless Chromium, for documents declared ``browser = true``.

Many policy pages put their text in with JavaScript, so a plain GET sees only a shell. Chromium's
``--dump-dom`` prints the DOM after scripts ran (``--virtual-time-budget`` lets timers fire without
waiting in real time). It is a subprocess, not a Python dependency: the browser stays an optional
extra, found on PATH (or ``POLICY_TRACKER_CHROMIUM``), and its absence is a classified failed check.

What is lost compared with a plain GET: the HTTP status (dump-dom does not say; a non-empty DOM counts
as 200), the validators (no conditional GET) and the content type (the DOM is HTML in UTF-8).
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from tracker.capture.fetch import MAX_BYTES
from tracker.models import Document, FetchResult

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
MAX_BROWSERS = 2  # browsers are heavy: at most this many at once in one process, whatever --jobs says
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
         "--mute-audio", "--hide-scrollbars")
_SLOTS = threading.BoundedSemaphore(MAX_BROWSERS)
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")


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
           executable: str | None = None) -> FetchResult:
    """The DOM of ``url`` after its scripts ran, as a FetchResult; never raises.

    ``timeout`` bounds the whole run (the process group is killed after it); ``budget_ms`` is the
    virtual time given to scripts and timers.
    """
    start = time.monotonic()
    exe = executable or find_chromium()
    if exe is None:
        wanted = os.environ.get("POLICY_TRACKER_CHROMIUM") or " / ".join(CANDIDATES)
        return _fail(url, "browser-missing", f"no headless browser found ({wanted}); install chromium or set "
                     "POLICY_TRACKER_CHROMIUM", start)
    with _SLOTS:
        return _run(exe, url, timeout=timeout - (time.monotonic() - start), max_bytes=max_bytes,
                    budget_ms=budget_ms, start=start)


def fetch_document(fetcher, doc: Document, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
    """One fetch for ``doc``: the browser when it is declared ``browser = true``, else ``fetcher.fetch``.

    The browser run gets the fetcher's whole-transfer timeout and size limit.
    """
    if getattr(doc, "browser", False):
        return render(doc.url, timeout=getattr(fetcher, "total_timeout", 60.0),
                      max_bytes=getattr(fetcher, "max_bytes", MAX_BYTES))
    return fetcher.fetch(doc.url, etag=etag, last_modified=last_modified)


def _run(exe: str, url: str, *, timeout: float, max_bytes: int, budget_ms: int, start: float) -> FetchResult:
    profile = tempfile.mkdtemp(prefix="policy-tracker-chromium-")
    args = [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
    try:
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                        start_new_session=True, env={**os.environ, "HOME": profile})
            except OSError as e:
                return _fail(url, "browser-missing", f"cannot start {exe}: {e.strerror or e}", start)
            try:
                body, problem = _read(proc, start + max(timeout, 1.0), max_bytes)
            finally:
                _kill(proc)
            err.seek(0)
            stderr = err.read()[-20000:].decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if problem == "timeout":
        return _fail(url, "timeout", f"browser did not finish within {timeout:.0f} s", start)
    if problem == "too-large":
        return _fail(url, "too-large", f"rendered page over the {max_bytes} byte limit", start)
    net = _NET_ERROR.search(stderr)
    if not body.strip():
        if net:
            code = net.group(1)
            reason = "timeout" if "TIMED_OUT" in code else "connection"
            return _fail(url, reason, f"browser: {code}", start)
        last = [line for line in stderr.splitlines() if line.strip() and "dbus" not in line]
        detail = f": {last[-1][-200:]}" if last else ""
        return _fail(url, "browser-failed", f"browser exited {proc.returncode} with an empty page{detail}", start)
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
