"""One daemon per database: ``fcntl.flock`` on ``<db>.lock``, which the kernel frees if the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from tracker.errors import TrackerError


class DaemonLock:
    """``fcntl.flock`` on ``<db>.lock``: one daemon per database; the kernel frees it if we die."""

    def __init__(self, db: Path) -> None:
        self.path = Path(str(db) + ".lock")
        self._fh: TextIO | None = None

    def acquire(self) -> None:
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process lifetime
        except OSError as e:
            raise TrackerError(f"{self.path}: cannot create the daemon lock file: {e.strerror or e}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise TrackerError(f"another `policy-tracker run` (pid {pid}) is already using {self.path.with_suffix('')}"
                               f"; stop it first (lock file {self.path})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
