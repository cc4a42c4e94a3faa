"""One-line, terminal-safe messages for network errors, and their failure reason.

requests and urllib3 nest exceptions several levels deep, with reprs inside reprs ("NameResolutionError:
port=443): Failed to resolve..."). These functions walk the chain and say what failed and where:
``cannot resolve www.example.com (name or service not known)``, ``connection refused by host:443``.
"""

from __future__ import annotations

import re
import socket
import ssl
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from tracker.capture import netpolicy
from tracker.publish.termsafe import redact_url, safe_line


def _chain(e: BaseException) -> list[BaseException]:
    """``e`` and every exception it wraps (causes, contexts, urllib3's ``reason``, requests' ``args``)."""
    seen: list[BaseException] = []
    todo = [e]
    while todo and len(seen) < 20:
        x = todo.pop(0)
        if any(x is s for s in seen):
            continue
        seen.append(x)
        for nxt in (getattr(x, "reason", None), x.__cause__, x.__context__,
                    *(a for a in getattr(x, "args", ()) if isinstance(a, BaseException))):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def _where(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (443 if parts.scheme == "https" else 80)
    shown = f"[{host}]" if ":" in host else host
    return host, f"{shown}:{port}"


def classify_error(e: BaseException, url: str) -> tuple[str, str]:
    """The failure reason (``timeout``, ``connection``, ``redirect-loop``) and a one-line message."""
    chain = _chain(e)
    text = describe(e, url)
    if any(isinstance(x, requests.exceptions.TooManyRedirects) for x in chain):
        return "redirect-loop", text
    if any(_is_timeout(x) for x in chain):
        return "timeout", text
    return "connection", text


def _is_timeout(x: BaseException) -> bool:
    # urllib3's NewConnectionError (refused, unreachable...) subclasses ConnectTimeoutError
    return (isinstance(x, TimeoutError | requests.exceptions.Timeout)
            or isinstance(x, ConnectTimeoutError) and not isinstance(x, NewConnectionError))


def describe(e: BaseException, url: str = "") -> str:
    """A one-line, terminal-safe message for a requests/urllib3/socket error: what failed and where,
    e.g. ``cannot resolve www.example.com (name or service not known)``, not the nested reprs."""
    host, hostport = _where(url) if url else ("the server", "the server")
    chain = _chain(e)

    def first(kind):
        return next((x for x in chain if isinstance(x, kind)), None)

    if (refused := first(netpolicy.Refused)) is not None:
        return safe_line(refused, 300)
    if (gai := first(socket.gaierror)) is not None:
        return safe_line(f"cannot resolve {host} ({_lower_first(gai.strerror or str(gai))})", 300)
    if (cert := first(ssl.SSLCertVerificationError)) is not None:
        why = getattr(cert, "verify_message", None) or _ssl_reason(cert)
        return safe_line(f"TLS certificate of {host} not accepted ({why})", 300)
    if (tls := first(ssl.SSLError)) is not None or isinstance(e, requests.exceptions.SSLError):
        return safe_line(f"TLS error with {hostport} ({_ssl_reason(tls) if tls else 'handshake failed'})", 300)
    if first(ConnectionRefusedError) is not None:
        return safe_line(f"connection refused by {hostport}", 300)
    if first(ConnectionResetError) is not None:
        return safe_line(f"connection reset by {hostport}", 300)
    if any(isinstance(x, requests.exceptions.ConnectTimeout) or _is_timeout(x) and isinstance(x, ConnectTimeoutError)
           for x in chain):
        return safe_line(f"no connection to {hostport} in time (connect timeout)", 300)
    if any(_is_timeout(x) for x in chain):
        return safe_line(f"{host} sent nothing for too long (read timeout)", 300)
    if (os_error := next((x for x in chain if type(x) is OSError or isinstance(x, ConnectionError)
                          and x.strerror), None)) is not None and getattr(os_error, "strerror", None):
        return safe_line(f"cannot connect to {hostport} ({_lower_first(os_error.strerror or '')})", 300)
    return _short(e)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _ssl_reason(e: BaseException) -> str:
    reason = getattr(e, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").lower()
    text = str(e)
    m = re.search(r"\] ([^()]+?)\s*(\(_ssl\.c:\d+\))?'?\)*$", text)
    return (m.group(1) if m else text).strip()


def _short(e: BaseException) -> str:
    """A one-line summary of an exception nothing above recognised (they nest reprs several levels deep)."""
    text = str(e)
    m = re.search(r"\(Caused by (\w+)\(.*?[:,] (.*?)\)+$", text)
    if m:
        text = f"{m.group(1)}: {m.group(2)}"
    text = re.sub(r"<urllib3[^>]*>", "", text)
    text = re.sub(r"\w+://[^\s'\"]+", lambda m: redact_url(m.group()), text)
    return safe_line(text, 300) or type(e).__name__
