"""The policies folder as the daemon sees it: loaded file by file, and watched for changes (mtime and
size polling, which works on every file system, needs no extra package and costs one ``stat`` per
file every ``--poll`` seconds)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from tracker.errors import DeclarationError
from tracker.models import Document
from tracker.sources.declarations import load_file

log = logging.getLogger("tracker.daemon")


class DeclarationWatcher:
    """Loads ``policies/*.toml`` file by file and notices when they change (mtime and size polling)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._by_file: dict[Path, list[Document]] = {}
        self._loaded_stamp: tuple | None = None
        self._missing_logged = False
        self.problems = 0  # files left out (or kept as they were) at the last load, for `run --once`
        self.problem_lines: list[str] = []  # what is wrong with them (named in status.atom)

    def stamp(self) -> tuple | None:
        try:
            files = sorted(self.folder.glob("*.toml"))
            return tuple((p.name, st.st_mtime_ns, st.st_size) for p in files for st in [p.stat()])
        except OSError:
            return None

    def changed(self) -> bool:
        """True once the folder differs from what was loaded and has stayed the same for a moment."""
        first = self.stamp()
        if first == self._loaded_stamp:
            return False
        time.sleep(0.3)  # an editor may still be writing: wait for the folder to settle
        return self.stamp() == first

    def load(self) -> list[Document]:
        """Every loadable declaration; a bad file is logged and keeps its previous documents."""
        self._loaded_stamp = self.stamp()
        if not self.folder.is_dir():
            if not self._missing_logged:
                log.error("%s: policies folder is missing; keeping the previous declarations", self.folder)
                self._missing_logged = True
            return [d for docs in self._by_file.values() for d in docs]
        self._missing_logged = False
        docs: list[Document] = []
        seen: dict[str, Path] = {}
        current: dict[Path, list[Document]] = {}
        self.problems = 0
        self.problem_lines = []
        for path in sorted(self.folder.glob("*.toml")):
            try:
                file_docs = load_file(path)
                name = file_docs[0].service.casefold()
                if name in seen:
                    raise DeclarationError(f"{path}: name: service {file_docs[0].service!r} is already "
                                           f"declared in {seen[name]}")
            except DeclarationError as e:
                self.problems += 1
                self.problem_lines.append(str(e))
                previous = self._by_file.get(path, [])
                log.error("%s (%s)", e, "keeping its previous declarations" if previous
                          else "its documents are not scheduled")
                file_docs = [d for d in previous if d.service.casefold() not in seen]
            if file_docs:
                seen[file_docs[0].service.casefold()] = path
            current[path] = file_docs
            docs.extend(file_docs)
        self._by_file = current
        return docs

