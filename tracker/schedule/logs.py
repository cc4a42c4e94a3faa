"""The daemon's log: one line per event, to stderr or a file that logrotate may move."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys

from tracker.errors import TrackerError


class QuietFilter(logging.Filter):
    """``--quiet``: warnings and errors (failures among them), and one line per stored change, which is
    what a person reading the log of a cron job wants; no unchanged checks, no scheduling.

    A change is a record with ``extra={"event": "changed"}``, or an INFO line of the form that
    ``check`` prints for one (``Service / Type: changed -> vN, ...``)."""

    _CHANGED = re.compile(r"^[^|]*: changed -> v\d+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if getattr(record, "event", None) in ("changed", "failed"):
            return True
        return record.levelno == logging.INFO and bool(self._CHANGED.match(record.getMessage()))


def setup_logging(log_file: str | None, quiet: bool, verbose: bool) -> None:
    """One line per event: to stderr, or to ``log_file`` (reopened when logrotate moves it)."""
    if log_file:
        try:
            handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        except OSError as e:
            raise TrackerError(f"{log_file}: cannot open the log file: {e.strerror or e}") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    from tracker.publish.termsafe import SafeFormatter

    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    for name in ("tracker", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.propagate = False
    level = logging.DEBUG if verbose else logging.INFO
    if quiet:
        handler.addFilter(QuietFilter())
    logging.getLogger("tracker").setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)

