"""Feed entries kept between builds (issue 20): a change's title, summary and HTML content as its feed
entries show them, one small file each under the feeds folder's ``.feeds-entries/`` (JSON, named ``<key>.entry``: not
mistaken for a JSON Feed by whatever walks the folder).

A new change makes the all, service and tag feeds it appears in stale, and each of them shows 50
entries: re-rendering those from their diffs (decode, then the HTML of up to 25 clauses each) was
most of what one more change cost on a long history. An entry's texts depend only on the change
(its fingerprint: the stored row), its page URL, its source link and the rendering code, so they
are kept under a hash of exactly those and reused, never recomputed, while all four stay the same.
Entries no feed shows any more are deleted at the end of each build. A missing or unreadable file
is simply made again: the bytes of every feed are always those of a full rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tracker.publish.folder import write_atomic
from tracker.store.records import ChangeHead

ENTRIES = ".feeds-entries"
Texts = tuple[str, str, str]  # title, summary, content


class EntryCache:
    def __init__(self, out_dir: Path, code: str) -> None:
        self.dir = Path(out_dir) / ENTRIES
        self.code = code
        self.loaded: set[tuple[int, str]] = set()  # the entries read from files in this build

    def key(self, c: ChangeHead, page: str, source: str | None) -> str:
        parts = json.dumps([self.code, c.fp, page, source], separators=(",", ":")).encode("utf-8")
        return hashlib.blake2b(parts, digest_size=16).hexdigest()

    def load(self, key: str) -> Texts | None:
        try:
            value = json.loads((self.dir / f"{key}.entry").read_bytes())
        except (OSError, ValueError):
            return None
        if isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value):
            return value[0], value[1], value[2]
        return None

    def save(self, shown: dict[str, tuple[int, str]], texts: dict[tuple[int, str], Texts]) -> None:
        """Write the entries made in this build (``texts`` not read from files) that a feed shows
        (``shown``: key -> (change id, page URL)), and delete those no feed shows any more."""
        folders = {str(self.dir)}
        self.dir.mkdir(exist_ok=True)
        for key, memo in shown.items():
            if memo in texts and memo not in self.loaded:
                write_atomic(f"{self.dir}/{key}.entry",
                             json.dumps(list(texts[memo]), ensure_ascii=False).encode("utf-8"), folders)
        try:
            names = [e.name for e in os.scandir(self.dir)]
        except OSError:
            return
        for name in names:
            if name.endswith(".entry") and name[:-6] not in shown:
                try:
                    os.unlink(self.dir / name)
                except OSError:
                    pass
