"""HTTP fetching: one polite, bounded, classified GET per document.

Every outcome is a ``FetchResult``; nothing here raises to the caller, because a tracker that runs for
months must turn every network mishap into a recorded, classified failed check (and never into a
new policy version).
"""

from __future__ import annotations

import codecs
import os
import re
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tracker import __version__
from tracker.capture.charset import decode_body  # noqa: F401  (re-exported: its old home)
from tracker.models import FetchResult

USER_AGENT = (
    f"policy-tracker/{__version__} (+https://github.com/policy-tracker/policy-tracker; "
    "watches public privacy policies for changes)"
)
MAX_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown")
CHUNK = 64 * 1024
HOST_POOLS = 256  # hosts whose connection pools are kept (policies are spread over many hosts)


def _release(resp: requests.Response) -> None:
    """Finish a response that has no body (304), so that closing it hands the connection back to the
    pool: requests closes the socket of a streamed response whose body was never read, and the next
    request to the host would open a new connection (and, over HTTPS, redo the TLS handshake)."""
    try:
        resp.content  # noqa: B018  (reads the empty body; nothing is downloaded)
    except requests.exceptions.RequestException:
        pass


class Fetcher:
    """A requests.Session set up once: pooled connections, retries on connection errors, timeouts.

    Status retries (429/503 with Retry-After) are handled here rather than by urllib3, so that a
    long Retry-After is recorded for the scheduler instead of blocking a worker for an hour.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = 10,
        retries: int = 2,
        max_retry_after: float = 10.0,
        backoff: float = 0.5,
        user_agent: str = USER_AGENT,
        pool_size: int = 16,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.backoff = backoff
        self.session = requests.Session()
        self.session.trust_env = _environment_matters()
        if not self.session.trust_env:  # the one environment setting requests would still have read
            self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.max_redirects = max_redirects
        self.session.headers.update({
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.5",
            "Accept-Language": "en;q=0.9,*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        })
        retry = Retry(total=retries, connect=retries, read=0, status=0, redirect=max_redirects,
                      backoff_factor=backoff, allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
        # pool_connections is how many hosts keep a connection pool: with fewer pools than hosts, urllib3
        # built and tore down a pool for nearly every request of a cycle (a fifth of a fetch's CPU).
        adapter = HTTPAdapter(max_retries=retry, pool_connections=max(HOST_POOLS, pool_size), pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url`` (conditionally when validators are known); never raises."""
        start = time.monotonic()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            result = self._attempt(url, headers, start)
            retry_after = result.retry_after
            if (not result.ok and result.status in (429, 503) and attempt < self.retries
                    and (retry_after is None or retry_after <= self.max_retry_after)):
                attempt += 1
                delay = retry_after if retry_after is not None else self.backoff * (2 ** attempt)
                if time.monotonic() - start + delay < self.total_timeout:
                    time.sleep(max(0.0, delay))
                    continue
            result.duration = time.monotonic() - start
            return result

    # ------------------------------------------------------------------ internals

    def _attempt(self, url: str, headers: dict[str, str], start: float) -> FetchResult:
        try:
            resp = self._send(url, headers)
        except requests.exceptions.TooManyRedirects as e:
            return _fail(url, "redirect-loop", f"too many redirects: {_short(e)}")
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as e:
            return _fail(url, "timeout", _short(e))
        except requests.exceptions.SSLError as e:
            return _fail(url, "connection", f"TLS error: {_short(e)}")
        except requests.exceptions.ConnectionError as e:
            # urllib3 wraps a read timeout that used up its retries in a ConnectionError
            text = _short(e)
            return _fail(url, "timeout" if "timed out" in text.lower() else "connection", text)
        except requests.exceptions.InvalidURL as e:
            return _fail(url, "connection", f"invalid URL: {_short(e)}")
        except requests.exceptions.RequestException as e:
            return _fail(url, "connection", _short(e))
        with resp:
            return self._read(url, resp, start)

    def _send(self, url: str, headers: dict[str, str]) -> requests.Response:
        """GET with redirects; raises what requests raises."""
        s = self.session
        if s.trust_env:  # a proxy or .netrc in the environment: requests' own merging of it
            return s.get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=True)
        # Prepared here and sent: Session.request merges the session's and the request's settings on
        # every call, a sixth of a fetch's CPU on Python 3.11 (its Protocol isinstance checks are slow).
        # Cookies, redirects and hooks are the session's, as with ``get``.
        req = requests.PreparedRequest()
        req.prepare(method="GET", url=url, headers={**s.headers, **headers}, cookies=s.cookies)
        return s.send(req, timeout=self.timeout, stream=True, allow_redirects=True, proxies=s.proxies,
                      verify=s.verify, cert=s.cert)

    def _read(self, url: str, resp: requests.Response, start: float) -> FetchResult:
        status = resp.status_code
        ctype = resp.headers.get("Content-Type", "")
        base = FetchResult(url=url, ok=False, status=status, content_type=ctype, final_url=resp.url,
                           etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"))
        if status == 304:
            base.ok = True
            base.not_modified = True
            _release(resp)
            return base
        if status >= 400 or status < 200 or status in (204, 205):
            base.retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            base.reason = "blocked" if status in (401, 403, 451) else ("empty" if status in (204, 205) else "http-status")
            base.error = f"HTTP {status} {resp.reason or ''}".strip()
            return base
        mime = ctype.split(";", 1)[0].strip().lower()
        if mime and not mime.startswith(ACCEPTED_TYPES):
            base.reason = "not-html"
            base.error = f"content type {mime!r} is not HTML or text"
            return base
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes and "gzip" not in resp.headers.get(
                "Content-Encoding", ""):
            base.reason = "too-large"
            base.error = f"body of {int(length)} bytes is over the {self.max_bytes} byte limit"
            return base
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    base.reason = "too-large"
                    base.error = f"body over the {self.max_bytes} byte limit (decoded)"
                    return base
                if time.monotonic() - start > self.total_timeout:
                    base.reason = "timeout"
                    base.error = f"body not complete after {self.total_timeout:.0f} s"
                    return base
                chunks.append(chunk)
        except requests.exceptions.ConnectionError as e:  # reset or read timeout mid-body
            text = _short(e)
            base.reason = "timeout" if "timed out" in text.lower() else "connection"
            base.error = f"transfer interrupted: {text}"
            return base
        except requests.exceptions.ContentDecodingError as e:
            base.reason = "decode"
            base.error = f"bad compressed body: {_short(e)}"
            return base
        except requests.exceptions.RequestException as e:  # ChunkedEncodingError: truncated transfer
            base.reason = "connection"
            base.error = f"transfer incomplete: {_short(e)}"
            return base
        base.body = b"".join(chunks)
        if not base.body.strip():
            base.reason = "empty"
            base.error = "empty body"
            return base
        base.encoding = header_charset(ctype)
        base.ok = True
        return base


def _environment_matters() -> bool:
    """Whether requests must keep reading proxies and .netrc from the environment on every request.

    It does so per request (a sixth of its CPU per fetch here) although they rarely exist: only when
    a proxy variable or a .netrc file is there is it left on (CA bundle variables are read once above).
    """
    if any(k.lower().endswith("_proxy") for k in os.environ):
        return True
    netrc = os.environ.get("NETRC")
    home = Path.home() if "HOME" in os.environ else None
    candidates = [Path(netrc)] if netrc else ([home / ".netrc", home / "_netrc"] if home else [])
    return any(p.exists() for p in candidates)


def _fail(url: str, reason: str, error: str) -> FetchResult:
    return FetchResult(url=url, ok=False, reason=reason, error=error)


def _short(e: BaseException) -> str:
    """A one-line summary of a requests/urllib3 exception (they nest reprs several levels deep)."""
    text = str(e)
    m = re.search(r"\(Caused by (\w+)\(.*?[:,] (.*?)\)+$", text)
    if m:
        text = f"{m.group(1)}: {m.group(2)}"
    text = re.sub(r"<urllib3[^>]*>", "", text)
    text = " ".join(text.split())
    return text[:300] or type(e).__name__


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def header_charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.I)
    if not m:
        return None
    try:
        return codecs.lookup(m.group(1)).name
    except LookupError:
        return None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
