"""Connections that obey the fetch policy and the running fetch's deadline.

urllib3 connections whose sockets resolve the host themselves, check every address it resolved to
(:mod:`tracker.capture.netpolicy`) and connect to the checked address (so DNS rebinding gains nothing),
and register every socket with the deadline of the fetch running in their thread
(:mod:`tracker.capture.deadline`); an HTTPAdapter that uses them for direct connections and leaves a
configured proxy's own connection unchecked (the proxied target is checked by name in the fetcher).
"""

from __future__ import annotations

import socket
import sys

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import ProxyManager
from urllib3.util.connection import allowed_gai_family
from urllib3.util.retry import Retry

from tracker.capture import netpolicy
from tracker.capture.deadline import Deadline, current_deadline


class DeadlineRetry(Retry):
    """urllib3's connection retries, within the running fetch's deadline: no back-off sleep past it,
    no new attempt once it has passed."""

    def get_backoff_time(self) -> float:
        wait = super().get_backoff_time()
        deadline = current_deadline()
        return wait if deadline is None else max(0.0, min(wait, deadline.remaining()))

    def is_exhausted(self) -> bool:
        deadline = current_deadline()
        return super().is_exhausted() or (deadline is not None and (deadline.expired or deadline.remaining() <= 0))



class _GuardedMixin:
    """A urllib3 connection that obeys the fetch policy and the running fetch's deadline.

    ``allow_private`` None means no address check: the connection of a proxy the user configured.
    """

    allow_private: bool | None = None

    def _new_conn(self) -> socket.socket:
        deadline = current_deadline()
        if self.allow_private is None:
            sock = super()._new_conn()  # type: ignore[misc]
            if deadline is not None:
                deadline.add(sock)
            return sock
        return self._pinned_conn(deadline)

    def _pinned_conn(self, deadline: Deadline | None) -> socket.socket:
        host = self._dns_host.strip("[]")  # type: ignore[attr-defined]
        timeout = self.timeout  # type: ignore[attr-defined]
        budget = timeout if isinstance(timeout, int | float) else None
        if deadline is not None:
            left = max(0.01, deadline.remaining())
            budget = left if budget is None else min(budget, left)
        try:
            infos = netpolicy.resolve(host, self.port, allow_private=bool(self.allow_private),  # type: ignore[attr-defined]
                                      timeout=budget, family=allowed_gai_family())
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e  # type: ignore[attr-defined,arg-type]
        except TimeoutError as e:
            raise ConnectTimeoutError(self, f"cannot resolve {self.host}: no answer in time") from e  # type: ignore[attr-defined]
        error: OSError | None = None
        for family, socktype, proto, _name, address in infos:
            sock = None
            try:
                sock = socket.socket(family, socktype, proto)
                for option in self.socket_options or ():  # type: ignore[attr-defined]
                    sock.setsockopt(*option)
                if isinstance(timeout, int | float) or timeout is None:
                    sock.settimeout(timeout)
                if self.source_address:  # type: ignore[attr-defined]
                    sock.bind(self.source_address)  # type: ignore[attr-defined]
                if deadline is not None:
                    deadline.add(sock)  # the connect and the TLS handshake are bounded too
                sock.connect(address)
                sys.audit("http.client.connect", self, self.host, self.port)  # type: ignore[attr-defined]
                return sock
            except OSError as e:
                error = e
                if sock is not None:
                    sock.close()
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "  # type: ignore[attr-defined]
                                      f"(connect timeout={timeout})") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error  # type: ignore[arg-type]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        deadline = current_deadline()
        if deadline is not None and self.sock is not None:  # type: ignore[attr-defined]
            # TLS wraps the socket registered in _new_conn into a new object (the handshake itself is
            # bounded by the socket timeout, which is never longer than the time left)
            deadline.add(self.sock)  # type: ignore[attr-defined]

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        deadline = current_deadline()
        if deadline is not None and self.sock is not None:  # type: ignore[attr-defined]
            # a kept-alive connection, reused
            deadline.add(self.sock)  # type: ignore[attr-defined]
        return super().request(*args, **kwargs)  # type: ignore[misc]


def _pool_classes(allow_private: bool | None) -> dict[str, type]:
    http = type("GuardedHTTPConnection", (_GuardedMixin, HTTPConnection), {"allow_private": allow_private})
    https = type("GuardedHTTPSConnection", (_GuardedMixin, HTTPSConnection), {"allow_private": allow_private})
    return {"http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


_POOLS = {flag: _pool_classes(flag) for flag in (False, True, None)}


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections obey the fetch policy (``allow_private``) and the deadline."""

    def __init__(self, *args, allow_private: bool = False, **kwargs) -> None:
        self.allow_private = bool(allow_private)
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS[self.allow_private]

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # type: ignore[no-untyped-def]
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # the proxy's own connection: no address check, the deadline
            manager.pool_classes_by_scheme = _POOLS[None]
        return manager
