"""When a document is broken: failure episodes with hysteresis.

A document is reported broken when ``broken_after`` checks in a row failed, and recovered only when
``RECOVER_AFTER`` checks in a row then succeeded. Why not "broken at N failures, recovered at the first
success": a server flapping between 200 and 500 crosses both lines again and again, and each crossing
is a log line, a status feed entry with a new id (shown as new by readers) and a notification (the
adversarial test logged 181 broken/recovered lines in five minutes). With the two thresholds, one
episode gives one "broken" and one "recovered", however much the page flaps in between.

Pure functions of a document's recent checks (state and time, oldest first), so that the daemon's
log and notifications, the status feed and ``list`` all tell the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RECOVER_AFTER = 3  # successful checks in a row that end an episode
WINDOW = 500  # checks looked at: an episode older than this many checks has its start moved forward


@dataclass(frozen=True)
class Episode:
    """An open failure episode: when its first failure was, and when it crossed ``broken_after``."""

    since: float
    crossed: float


def open_episode(checks: Sequence[tuple[str, float]], broken_after: int,
                 recover_after: int = RECOVER_AFTER) -> Episode | None:
    """The episode still open after ``checks`` (``(state, at)``, oldest first), or None."""
    episode: Episode | None = None
    streak_start: float | None = None
    fails = oks = 0
    for state, at in checks:
        if state == "failed":
            if fails == 0:
                streak_start = at
            fails, oks = fails + 1, 0
            if episode is None and fails >= broken_after:
                episode = Episode(since=streak_start if streak_start is not None else at, crossed=at)
        else:
            fails, oks = 0, oks + 1
            if episode is not None and oks >= recover_after:
                episode = None
    return episode


def transition(checks: Sequence[tuple[str, float]], broken_after: int,
               recover_after: int = RECOVER_AFTER) -> str | None:
    """What the last check of ``checks`` did: "broken" (it opened an episode), "recovered" (it closed
    one), or None."""
    if not checks:
        return None
    before = open_episode(checks[:-1], broken_after, recover_after)
    after = open_episode(checks, broken_after, recover_after)
    if before is None and after is not None:
        return "broken"
    if before is not None and after is None:
        return "recovered"
    return None
