"""Extraction under a hard deadline: worker processes that are killed when a page takes too long.

Why processes, and why killed: a selector that validates can still take hours on a large page
(``div:not(section ~ div ~ div ~ div)`` on 4,000 sibling divs runs inside libxml2's XPath engine),
and neither a signal nor an asynchronous exception interrupts C code; a thread stuck there would
hold a fetch slot of ``check`` or a job of the daemon, and its host's queue, for as long as it runs.
So each extraction is sent to a worker process and waited for at most ``timeout`` seconds; a worker
that has not answered by then is killed (SIGKILL) and replaced, and the page fails with
``extract-timeout``: no version, the next check tries again.

The first worker is forked from this process when a cycle or the daemon starts, while it is still
single-threaded (:meth:`Extractors.start_early`): it is ready in a few milliseconds, with what is
already imported, and imports the extraction modules itself only when the first page comes (an
unchanged cycle never pays for them). Forking a process whose other threads may hold locks
(OpenSSL's, libxml2's) is not safe, so every later worker (more of them, or the replacement of a
killed one) comes from the forkserver of :mod:`tracker.pool`, which imported those modules once.
Workers live for the whole cycle or daemon: a page costs one round trip of its bytes and its
clauses over a pipe. Each worker also sets
itself a CPU limit per task (``RLIMIT_CPU``), so that one orphaned by a parent killed with SIGKILL
cannot spin for ever.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import pickle
import resource
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from tracker.models import Document
from tracker.page import Capture, Page, read_page

log = logging.getLogger(__name__)
T = TypeVar("T")

EXTRACT_TIMEOUT = 30.0  # seconds: a 10 MB page extracts in a few seconds; a healthy one in milliseconds
CPU_MARGIN = 5  # extra CPU seconds a worker grants itself beyond the deadline before the kernel stops it


class ExtractionTimeout(Exception):
    """The task ran past its deadline; its worker was killed."""


class WorkerDied(Exception):
    """The worker ended without answering (killed by the system, out of memory, a crash in C code)."""


def _serve(conn: Connection, parent_end: Connection | None = None) -> None:
    """A worker's loop: run each task sent, send back ("ok", result) or ("err", exception).
    ``parent_end``: the parent's end of the pipe, which a forked worker inherited; closed, so that the
    parent's death is an end of file here (a worker left waiting would keep the daemon's lock file)."""
    if parent_end is not None:
        parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a forked worker inherited the daemon's handlers: not its own
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            fn, args, limit = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        _limit_cpu(limit)
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent as the task's
            reply = ("err", e)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - an exception or result that does not pickle
            data = pickle.dumps(("err", RuntimeError(f"{type(e).__name__}: {e}")))
        try:
            conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            return


def _limit_cpu(limit: float) -> None:
    """The kernel stops this process (SIGXCPU) if the task uses more CPU than the deadline allows, even
    when no parent is left to kill it."""
    try:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + limit) + CPU_MARGIN
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard == resource.RLIM_INFINITY or soft <= hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


class _Worker:
    def __init__(self, ctx: Any) -> None:
        here, there = ctx.Pipe()
        forked = ctx.get_start_method() == "fork"
        self.process = ctx.Process(target=_serve, args=(there, here if forked else None),
                                   name="policy-tracker-extract", daemon=True)
        self.process.start()
        there.close()
        self.conn: Connection = here

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        except (OSError, ValueError, AssertionError):
            pass
        self.conn.close()

    def close(self) -> None:
        self.conn.close()  # the worker reads EOF and leaves
        self.process.join(1)
        if self.process.is_alive():
            self.kill()


class Extractors:
    """At most ``size`` worker processes (the first forked early, the others started when needed); each
    task under ``timeout``."""

    def __init__(self, size: int = 1, timeout: float = EXTRACT_TIMEOUT) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self.started = 0  # workers started so far (a killed one is replaced)
        self.killed = 0

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; :class:`ExtractionTimeout` past the deadline (the worker is killed),
        :class:`WorkerDied` when the worker ended without answering; the task's own exception otherwise."""
        with self._slots:
            worker = self._take()
            try:
                worker.conn.send((fn, args, self.timeout))
                if not worker.conn.poll(self.timeout):
                    self._drop(worker, killed=True)
                    raise ExtractionTimeout(f"stopped after {self.timeout:g} s")
                status, value = pickle.loads(worker.conn.recv_bytes())
            except (EOFError, OSError) as e:
                self._drop(worker)
                code = worker.process.exitcode
                how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
                       else f"exit status {code}" if code is not None else str(e) or type(e).__name__)
                raise WorkerDied(f"the extraction process ended without an answer ({how})") from None
            self._give_back(worker)
        if status == "err":
            raise value
        return value

    def start_early(self) -> None:
        """Fork the first worker now, if this process has no other thread yet (see the module's
        docstring); otherwise the first page starts one from the forkserver."""
        if threading.active_count() != 1:
            return
        with self._lock:
            if self._closed or self._idle or self._busy or self.started:
                return
        worker = _Worker(multiprocessing.get_context("fork"))
        with self._lock:
            self.started += 1
            self._idle.append(worker)

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("extraction workers are closed")
            worker = self._idle.pop() if self._idle else None
        if worker is not None and not worker.process.is_alive():  # died while idle (the OOM killer...)
            worker.kill()
            worker = None
        if worker is None:
            from tracker.pool import forkserver_context

            worker = _Worker(forkserver_context())
            with self._lock:
                self.started += 1
        with self._lock:
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                self._idle.append(worker)
                return
        worker.close()

    def _drop(self, worker: _Worker, killed: bool = False) -> None:
        with self._lock:
            self._busy.discard(worker)
            self.killed += killed
        worker.kill()

    def kill_all(self) -> None:
        """At once, every worker, idle or busy (a daemon leaving without waiting for its jobs)."""
        with self._lock:
            self._closed = True
            workers, self._idle = list(self._idle) + list(self._busy), []
        for w in workers:
            w.kill()

    def close(self) -> None:
        """Idle workers leave now; a busy one when its task ends (or it is killed by its deadline)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()

    def __enter__(self) -> Extractors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def extract(extractors: Extractors | None, doc: Document, capture: Capture, previous_length: int = 0,
            previous_lang: str | None = None) -> Page:
    """:func:`tracker.page.read_page` under the extraction deadline (in this process without workers).
    A page past the deadline fails with ``extract-timeout``; a worker that died is this page's failure
    too (``internal``, through the exception), never the cycle's."""
    if extractors is None:
        return read_page(doc, capture, previous_length, previous_lang)
    try:
        return extractors.run(read_page, doc, capture, previous_length, previous_lang)
    except ExtractionTimeout:
        log.warning("%s: extraction stopped after %g s", doc.label, extractors.timeout)
        return Page(reason="extract-timeout",
                    error=f"extracting the page took longer than {extractors.timeout:g} s and was stopped "
                          f"(a selector or the page's structure too costly; simplify select/remove, or "
                          f"raise --extract-timeout)")


def default_workers() -> int:
    """Extraction workers for a cycle or the daemon: at least one (the deadline needs a process to
    kill), else one per core beyond the first (this process keeps one), at most four."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))
