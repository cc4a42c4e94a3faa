"""A plain process pool for extraction, used where it measurably pays (see bench/README.md):
a first check of many documents, and ``import-versions``.

``concurrent.futures.ProcessPoolExecutor`` on a forkserver whose server process has imported the
extraction modules once, so each worker starts without paying for lxml and BeautifulSoup again.
A pool that breaks (a worker killed by the system) is not fatal: the remaining work runs in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

PRELOAD = ["tracker.check", "tracker.text.html", "tracker.text.markdown", "tracker.workers"]


def forkserver_context() -> multiprocessing.context.BaseContext:
    """The forkserver context whose server imports the extraction modules once (shared with
    :mod:`tracker.workers`: one server process per run, however many workers)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class Pool:
    """Runs functions in worker processes, or in this process when there are none or the pool broke."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        if processes > 0:
            self._executor = ProcessPoolExecutor(max_workers=processes, mp_context=forkserver_context())

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """A future of ``fn(*args)``: from a worker, or already done in-process."""
        if self._executor is not None:
            try:
                return self._executor.submit(fn, *args)
            except (BrokenProcessPool, RuntimeError) as e:
                self._broken(e)
        fut: Future[T] = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)
        return fut

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, in a worker when there is one; in-process when the pool breaks meanwhile."""
        fut = self.submit(fn, *args)
        try:
            return fut.result()
        except BrokenProcessPool as e:
            self._broken(e)
            return fn(*args)

    def _broken(self, error: BaseException) -> None:
        if self._executor is not None:
            log.warning("extraction workers stopped (%s); going on in this process", error or "broken pool")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
