"""One fetch's hard deadline, whatever the server does.

Socket timeouts alone cannot bound a fetch: a server that sends a byte every half second never lets a
read time out. So every socket a fetch uses is registered with its :class:`Deadline`, and one watchdog
thread per process shuts those sockets down when the deadline passes; the blocked read returns at once
and the fetch ends as ``timeout``. The connection classes (:mod:`tracker.capture.connection`) register
their sockets with the deadline of the fetch running in their thread (:func:`current_deadline`).
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time


class Deadline:
    """One fetch's deadline: the sockets it registers are shut down when ``at`` (monotonic) passes."""

    __slots__ = ("at", "socks", "expired", "done", "lock")

    def __init__(self, at: float) -> None:
        self.at = at
        self.socks: list[socket.socket] = []
        self.expired = False
        self.done = False
        self.lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            if self.done:
                return
            if not self.expired:
                if not any(s is sock for s in self.socks):
                    self.socks.append(sock)
                return
        _shut(sock)  # already past the deadline: nothing more may be read

    def forget(self) -> None:
        """Stop watching the sockets registered so far (their response is finished: a pooled connection
        may serve another fetch from now on)."""
        with self.lock:
            self.socks = []

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            socks, self.socks = self.socks, []
        for s in socks:
            _shut(s)

    def finish(self) -> None:
        with self.lock:
            self.done = True
            self.socks = []


def _shut(sock: socket.socket) -> None:
    """End every blocked and future read and write on ``sock`` without closing its descriptor (the
    owning thread closes it; a close here could hand the number to another file meanwhile). The plain
    socket method, not SSLSocket's, which would also unwrap the TLS layer under the reading thread."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


class _Watchdog:
    """One thread for every fetch of the process: it fires each :class:`Deadline` when it passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="policy-tracker-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            due.fire()


_watchdog = _Watchdog()
local = threading.local()  # .deadline: the Deadline of the fetch running in this thread


def _reset_after_fork() -> None:
    global _watchdog
    _watchdog = _Watchdog()  # the thread did not survive the fork; its lock may have been held


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def current_deadline() -> Deadline | None:
    return getattr(local, "deadline", None)


def watch(deadline: Deadline) -> None:
    """Have the process's watchdog fire ``deadline`` when it passes."""
    _watchdog.watch(deadline)
