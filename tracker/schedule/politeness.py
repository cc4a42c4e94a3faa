"""When a document may be fetched again: back-off after failures, jitter, the due time, and at most
one fetch per host with a delay between two (politeness towards the sites we watch).

The rules are pure functions of what is stored, so a restart resumes the same schedule and the tests
check them without a clock.
"""

from __future__ import annotations

import random
import threading
import time

MIN_RETRY = 0.5  # seconds: the shortest back-off, whatever the interval
FIRST_RETRY_FRACTION = 1 / 8  # first retry after interval/8, then doubling up to the interval
RETRY_AFTER_CAP = 30 * 86400  # a Retry-After longer than this is treated as this
TICK = 0.25  # main loop granularity (signals, reloads, feed rebuilds, --once completion)


def retry_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next check, before jitter.

    No failure: the interval. After n failures in a row: interval/8 * 2^(n-1), at least MIN_RETRY and
    at most the interval, so a brief outage is noticed to be over soon and a dead page costs no more
    than its normal schedule. A Retry-After from the server is a floor (capped at 30 days).
    """
    if failures <= 0:
        base = float(interval)
    else:
        grow = interval * FIRST_RETRY_FRACTION * 2 ** min(failures - 1, 40)
        base = min(float(interval), max(MIN_RETRY, grow))
    if retry_after:
        base = max(base, min(retry_after, RETRY_AFTER_CAP))
    return base


def jittered(seconds: float, jitter: float, rng: random.Random, floor: float | None = None) -> float:
    """``seconds`` ± ``jitter`` (a fraction), never below ``floor`` (a Retry-After) or MIN_RETRY/2."""
    value = seconds * (1 + rng.uniform(-jitter, jitter)) if jitter > 0 else seconds
    return max(value, floor or 0.0, min(seconds, MIN_RETRY / 2))


def due_at(interval: float, last_check_at: float | None, next_check_at: float | None, failures: int,
           jitter: float) -> float:
    """When a document is next due, from what is stored (0 = never checked, due now).

    The stored ``next_check_at`` (jitter, back-off and Retry-After included) is trusted when it is
    consistent with the last check and the current interval; otherwise (the interval was shortened,
    or `check` ran by hand after it was computed) the due time is recomputed from the last check.
    """
    if last_check_at is None:
        return next_check_at or 0.0
    if next_check_at is not None and next_check_at >= last_check_at:
        longest = RETRY_AFTER_CAP if failures else interval * (1 + jitter)
        if next_check_at <= last_check_at + longest + 1:
            return next_check_at
    return last_check_at + retry_delay(interval, failures)


def human_seconds(s: float) -> str:
    if s < 10:
        return f"{s:.1f}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.1f}{unit}".replace(".0", "")
    return f"{s:.0f}s"


def parse_jitter(value: str | float) -> float:
    """'10%' or '0.1' -> 0.1; between 0 and 0.5 (more would let a check run at twice the rate)."""
    text = str(value).strip()
    try:
        j = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a fraction such as 0.1 or 10%") from None
    if not 0 <= j <= 0.5:
        raise ValueError(f"{value!r} is out of range (0 to 50%)")
    return j



class HostGate:
    """At most one fetch per host, and ``delay`` seconds from the end of one to the start of the next.

    ``try_acquire`` never blocks: it says how long to wait, so a worker thread is never parked on a
    busy host while documents of other hosts are due.
    """

    def __init__(self, delay: float) -> None:
        self.delay = max(0.0, delay)
        self._busy: set[str] = set()
        self._free_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def try_acquire(self, host: str) -> float:
        with self._lock:
            if host in self._busy:
                return max(self.delay, TICK)
            wait = self._free_at.get(host, 0.0) - time.monotonic()
            if wait > 0:
                return wait
            self._busy.add(host)
            return 0.0

    def release(self, host: str) -> None:
        with self._lock:
            self._busy.discard(host)
            self._free_at[host] = time.monotonic() + self.delay

