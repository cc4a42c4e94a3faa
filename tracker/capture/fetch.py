"""HTTP fetching: one polite, bounded, classified GET per document.

Every outcome is a ``FetchResult``; nothing here raises to the caller, because a tracker that runs for
months must turn every network mishap into a recorded, classified failed check (and never into a
new policy version).

Two guarantees hold whatever the server does:

- **A hard deadline** (``total_timeout``) covers name resolution, connection, TLS, redirects, headers
  and the whole body (:mod:`tracker.capture.deadline`: a watchdog shuts the fetch's sockets down).
- **The fetch policy** (:mod:`tracker.capture.netpolicy`, through :mod:`tracker.capture.connection`):
  every address is checked on the first request and on every redirect hop, followed here one by one. A refused
  address ends the fetch as ``forbidden-address``. Redirects that leave the declared site are followed
  and reported (``FetchResult.redirected_off_site``, ``final_url``).
"""

from __future__ import annotations

import codecs
import os
import re
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from requests.utils import requote_uri

from tracker import __version__
from tracker.capture import netpolicy
from tracker.capture.charset import decode_body  # noqa: F401  (re-exported: its old home)
from tracker.capture.connection import DeadlineRetry, GuardedAdapter
from tracker.capture.deadline import Deadline, current_deadline, local, watch
from tracker.capture.messages import classify_error, describe  # noqa: F401  (describe: re-exported)
from tracker.models import FetchResult
from tracker.publish.termsafe import redact_url, safe_line

USER_AGENT = (
    f"policy-tracker/{__version__} (+https://github.com/policy-tracker/policy-tracker; "
    "watches public privacy policies for changes)"
)
MAX_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown")
CHUNK = 64 * 1024
HOST_POOLS = 256  # hosts whose connection pools are kept (policies are spread over many hosts)
REDIRECT_CODES = (301, 302, 303, 307, 308)
REDIRECT_BODY_KEPT = 64 * 1024  # a redirect's body up to this is read (keeps the connection), larger closes it


def _release(resp: requests.Response) -> None:
    """Finish a response that has no body (304), so that closing it hands the connection back to the
    pool: requests closes the socket of a streamed response whose body was never read, and the next
    request to the host would open a new connection (and, over HTTPS, redo the TLS handshake)."""
    try:
        resp.content  # noqa: B018  (reads the empty body; nothing is downloaded)
    except requests.exceptions.RequestException:
        pass


# --------------------------------------------------------------------------- the fetcher


class Fetcher:
    """A requests.Session set up once: pooled connections, retries on connection errors, timeouts.

    Status retries (429/503 with Retry-After) are handled here rather than by urllib3, so that a
    long Retry-After is recorded for the scheduler instead of blocking a worker for an hour.

    ``total_timeout`` is the hard deadline of one :meth:`fetch` (connection and whole transfer,
    redirects and retries included). ``allow_private`` lets private and loopback addresses through
    (see :mod:`tracker.capture.netpolicy`); None (the default) takes ``POLICY_TRACKER_ALLOW_PRIVATE`` from the
    environment. A single fetch can also be allowed (``fetch(..., allow_private=True)``, for a document
    declared ``allow_private = true``).
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
        allow_private: bool | None = None,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.backoff = backoff
        self.pool_size = pool_size
        self.allow_private = netpolicy.env_allows_private() if allow_private is None else bool(allow_private)
        self.session = self._new_session(self.allow_private)
        self.session.headers.update({
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.5",
            "Accept-Language": "en;q=0.9,*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        })
        self._private_session: requests.Session | None = None  # for fetches allowed one by one
        self._lock = threading.Lock()

    def _new_session(self, allow_private: bool) -> requests.Session:
        s = requests.Session()
        s.trust_env = _environment_matters()
        if not s.trust_env:  # the one environment setting requests would still have read
            s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        s.max_redirects = self.max_redirects
        retry = DeadlineRetry(total=self.retries, connect=self.retries, read=0, status=0, redirect=0,
                      backoff_factor=self.backoff, allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
        # pool_connections is how many hosts keep a connection pool: with fewer pools than hosts, urllib3
        # built and tore down a pool for nearly every request of a cycle (a fifth of a fetch's CPU).
        adapter = GuardedAdapter(max_retries=retry, pool_connections=max(HOST_POOLS, self.pool_size),
                                 pool_maxsize=self.pool_size, allow_private=allow_private)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        return s

    def _session(self, allow_private: bool) -> requests.Session:
        if not allow_private or self.allow_private:
            return self.session
        with self._lock:
            if self._private_session is None:
                s = self._new_session(True)
                s.headers = self.session.headers  # one set of headers and one cookie jar for both
                s.cookies = self.session.cookies
                self._private_session = s
            return self._private_session

    def close(self) -> None:
        self.session.close()
        if self._private_session is not None:
            self._private_session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              allow_private: bool = False) -> FetchResult:
        """GET ``url`` (conditionally when validators are known); never raises.

        ``allow_private`` allows private/loopback addresses for this fetch (the fetcher's own setting
        allows them for every fetch); link-local and metadata addresses are refused regardless.
        """
        start = time.monotonic()
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        session = self._session(allow_private)
        deadline = Deadline(start + self.total_timeout)
        watch(deadline)
        outer = current_deadline()
        local.deadline = deadline
        try:
            attempt = 0
            while True:
                result = self._attempt(session, url, headers, deadline, self.allow_private or allow_private)
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
        finally:
            deadline.finish()
            local.deadline = outer

    # ------------------------------------------------------------------ internals

    def _timed_out(self, url: str, deadline: Deadline, what: str = "") -> FetchResult:
        detail = f" ({what})" if what else ""
        return _fail(url, "timeout", f"no complete answer within the {self.total_timeout:g} s deadline "
                     f"(connection and whole transfer){detail}")

    def _attempt(self, session: requests.Session, url: str, headers: dict[str, str],
                 deadline: Deadline, allow_private: bool) -> FetchResult:
        try:
            resp, hops = self._follow(session, url, headers, deadline, allow_private)
        except netpolicy.Refused as e:
            return _fail(url, "forbidden-address", safe_line(e, 300))
        except _DeadlinePassed:
            return self._timed_out(url, deadline)
        except _BadRedirect as e:
            return _fail(url, "redirect-loop" if e.loop else "connection", safe_line(e, 300))
        except requests.exceptions.RequestException as e:
            where = getattr(e, "hop_url", url)
            if deadline.expired or deadline.remaining() <= 0:
                return self._timed_out(url, deadline, describe(e, where))
            reason, text = classify_error(e, where)
            return _fail(url, reason, text)
        with resp:
            result = self._read(url, resp, deadline)
        deadline.forget()
        result.final_url = resp.url
        result.redirected_off_site = any(not netpolicy.same_site(host_of(url), host_of(h)) for h in hops)
        return result

    def _follow(self, session: requests.Session, url: str, headers: dict[str, str],
                deadline: Deadline, allow_private: bool) -> tuple[requests.Response, list[str]]:
        """GET ``url``, following redirects one hop at a time (each is checked by the connection's
        policy); the final response, unread, and the URLs redirected to."""
        hops: list[str] = []
        current = url
        for _ in range(self.max_redirects + 1):
            try:
                resp = self._send(session, current, headers, deadline, allow_private)
            except requests.exceptions.RequestException as e:
                # the messages name the host that failed
                e.hop_url = current  # type: ignore[attr-defined]
                raise
            if resp.status_code not in REDIRECT_CODES or "location" not in resp.headers:
                return resp, hops
            target = session.get_redirect_target(resp) or ""
            _finish_redirect(resp)
            deadline.forget()
            if target.startswith("//"):
                target = f"{urlsplit(current).scheme}:{target}"
            following = urljoin(current, requote_uri(target))
            parts = urlsplit(following)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _BadRedirect(f"redirected to {redact_url(following)!r}, not an http(s) URL")
            if not parts.fragment and urlsplit(current).fragment:  # RFC 7231 7.1.2: the fragment is kept
                following = f"{following}#{urlsplit(current).fragment}"
            hops.append(following)
            current = following
        raise _BadRedirect(f"too many redirects (more than {self.max_redirects}), last to "
                           f"{redact_url(current)}", loop=True)

    def _send(self, s: requests.Session, url: str, headers: dict[str, str], deadline: Deadline,
              allow_private: bool) -> requests.Response:
        """One GET, no redirect followed; raises what requests raises, Refused or _DeadlinePassed."""
        left = deadline.remaining()
        if left <= 0 or deadline.expired:
            raise _DeadlinePassed()
        timeout = (min(self.timeout[0], left), min(self.timeout[1], left))
        if s.trust_env:  # a proxy or .netrc in the environment: requests' own merging of it
            proxies = requests.utils.get_environ_proxies(url, no_proxy=None)
            if requests.utils.select_proxy(url, proxies):
                _check_proxied_target(url, allow_private, left)
            resp = s.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        else:
            # Prepared here and sent: Session.request merges the session's and the request's settings on
            # every call, a sixth of a fetch's CPU on Python 3.11 (its Protocol isinstance checks are slow).
            # Cookies and hooks are the session's, as with ``get``.
            req = requests.PreparedRequest()
            req.prepare(method="GET", url=url, headers={**s.headers, **headers}, cookies=s.cookies)
            resp = s.send(req, timeout=timeout, stream=True, allow_redirects=False, proxies=s.proxies,
                          verify=s.verify, cert=s.cert)
        conn = getattr(resp.raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            deadline.add(sock)  # already there unless the connection is not one of ours (SOCKS)
        return resp

    def _read(self, url: str, resp: requests.Response, deadline: Deadline) -> FetchResult:
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
            base.error = safe_line(f"HTTP {status} {resp.reason or ''}", 300)
            return base
        mime = ctype.split(";", 1)[0].strip().lower()
        if mime and not mime.startswith(ACCEPTED_TYPES):
            base.reason = "not-html"
            base.error = safe_line(f"content type {mime[:100]!r} is not HTML or text", 300)
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
                if deadline.expired or deadline.remaining() <= 0:
                    return self._body_late(base)
                size += len(chunk)
                if size > self.max_bytes:
                    base.reason = "too-large"
                    base.error = f"body over the {self.max_bytes} byte limit (decoded)"
                    return base
                chunks.append(chunk)
        except requests.exceptions.ConnectionError as e:  # reset or read timeout mid-body
            if deadline.expired:
                return self._body_late(base)
            reason, text = classify_error(e, url)
            base.reason = reason
            base.error = f"transfer interrupted: {text}"
            return base
        except requests.exceptions.ContentDecodingError as e:
            if deadline.expired:
                return self._body_late(base)
            base.reason = "decode"
            base.error = f"bad compressed body: {describe(e, url)}"
            return base
        except requests.exceptions.RequestException as e:  # ChunkedEncodingError: truncated transfer
            if deadline.expired:
                return self._body_late(base)
            base.reason = "connection"
            base.error = f"transfer incomplete: {describe(e, url)}"
            return base
        if deadline.expired:  # the watchdog ended the read: what came is not the whole body
            return self._body_late(base)
        base.body = b"".join(chunks)
        if not base.body.strip():
            base.reason = "empty"
            base.error = "empty body"
            return base
        base.encoding = header_charset(ctype)
        base.ok = True
        return base

    def _body_late(self, base: FetchResult) -> FetchResult:
        base.reason = "timeout"
        base.error = (f"body not complete within the {self.total_timeout:g} s deadline "
                      "(connection and whole transfer)")
        base.body = b""
        return base


class _DeadlinePassed(Exception):
    pass


class _BadRedirect(Exception):
    def __init__(self, message: str, loop: bool = False) -> None:
        super().__init__(message)
        self.loop = loop


def _finish_redirect(resp: requests.Response) -> None:
    """Done with a redirect: read a small body (the connection goes back to the pool), else close."""
    length = resp.headers.get("Content-Length", "")
    try:
        if length.isdigit() and int(length) <= REDIRECT_BODY_KEPT:
            resp.raw.read(REDIRECT_BODY_KEPT + 1, decode_content=False)
        resp.close()
    except Exception:  # noqa: BLE001 - a broken redirect body changes nothing: the next hop is its own request
        pass


def _check_proxied_target(url: str, allow_private: bool, timeout: float) -> None:
    """Through a proxy the connection goes to the proxy, which resolves the target: check the target
    by name and by what it resolves to here, when it does (an intranet-only name may not)."""
    host = host_of(url)
    try:
        netpolicy.resolve(host, urlsplit(url).port or 80, allow_private=allow_private, timeout=timeout)
    except (OSError, TimeoutError):
        pass


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
