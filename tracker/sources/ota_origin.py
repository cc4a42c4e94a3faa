"""Where a folder of Open Terms Archive declarations comes from: its repository and its licence.

OTA's declarations repositories are licensed on their own (EUPL-1.2 or AGPL-3.0; ODC-BY 1.0 covers
OTA's versions and snapshots datasets, not the declarations): :func:`source_info` reads the repository
and its licence from the folder (LICENSE file, ``package.json``, ``metadata.yml``, ``.git/config``) so
that an imported file says truthfully where it comes from, and "unknown" when it cannot tell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_LICENCE_FILES = re.compile(r"^(licen[cs]e|copying)(\.(md|txt|markdown|rst))?$", re.I)
# (SPDX identifier, words that identify the licence text), most specific first.
_LICENCE_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AGPL-3.0", ("gnu affero general public license", "version 3")),
    ("EUPL-1.2", ("european union public licen", "1.2")),
    ("EUPL-1.1", ("european union public licen", "1.1")),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1")),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("ODC-BY-1.0", ("open data commons attribution license",)),
    ("ODbL-1.0", ("open database license",)),
    ("CC-BY-SA-4.0", ("attribution-sharealike 4.0 international",)),
    ("CC-BY-4.0", ("attribution 4.0 international",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
)


def licence_of_text(text: str) -> str | None:
    """The SPDX identifier of a licence text (or of its ``SPDX-License-Identifier:`` line), or None."""
    m = re.search(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+(?:\s+(?:OR|AND)\s+[A-Za-z0-9.+-]+)*)", text)
    if m:
        return m.group(1)
    low = re.sub(r"\s+", " ", text[:20000].lower())
    for spdx, words in _LICENCE_TEXTS:
        if all(w in low for w in words):
            return spdx
    return None


@dataclass(frozen=True)
class SourceInfo:
    """Where a folder of OTA declarations comes from, as far as the folder itself says."""

    repository: str | None  # a URL or owner/name, None when the folder does not say
    licence: str | None  # SPDX identifier, None when unknown
    licence_from: str | None  # the file the licence was read from

    def header(self, declaration: Path) -> str:
        where = f" of {self.repository}" if self.repository else ""
        if self.licence:
            licence = (f"licence of the source repository: {self.licence} (from {self.licence_from}); "
                       "it may apply to this derived file")
        elif self.licence_from:
            licence = f"licence of the source repository: see {self.licence_from} (not recognised)"
        else:
            licence = "licence of the source repository: unknown"
        return f"Imported from the Open Terms Archive declaration {declaration.name}{where} ({licence})."


def _repository_root_candidates(folder: Path) -> list[Path]:
    folder = Path(folder).resolve()
    out = [folder]
    if folder.name == "declarations":  # an OTA repository keeps its declarations in declarations/
        out.append(folder.parent)
    return out


def _strip_credentials(url: str) -> str:
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", r"\1", url.strip())


def _repository_of(folder: Path) -> str | None:
    meta = folder / "metadata.yml"  # OTA collection metadata: "declarations: https://github.com/..."
    if meta.is_file():
        m = re.search(r"^declarations:\s*['\"]?(\S+?)['\"]?\s*$", _read_text(meta), re.M)
        if m:
            return m.group(1)
    gitconfig = folder / ".git" / "config"
    if gitconfig.is_file():
        m = re.search(r'\[remote "origin"\][^\[]*?^\s*url\s*=\s*(\S+)', _read_text(gitconfig), re.M | re.S)
        if m:
            return _strip_credentials(m.group(1))
    package = _package_json(folder)
    repo = package.get("repository")
    if isinstance(repo, dict):
        repo = repo.get("url")
    return _strip_credentials(repo) if isinstance(repo, str) and repo.strip() else None


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes()[:200_000].decode("utf-8", "replace")
    except OSError:
        return ""


def _package_json(folder: Path) -> dict:
    path = folder / "package.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def source_info(folder: Path) -> SourceInfo:
    """Repository and licence of the OTA declarations in ``folder`` (or its repository, when ``folder``
    is a ``declarations/`` folder): a LICENSE/LICENCE/COPYING file first, then ``package.json``'s
    ``license``; the repository from ``metadata.yml``, ``.git/config`` (origin) or ``package.json``.
    Nothing is guessed: what the folder does not say is None."""
    repository = licence = licence_from = None
    for root in _repository_root_candidates(folder):
        if not root.is_dir():
            continue
        repository = repository or _repository_of(root)
        if licence_from is None:
            for f in sorted(root.iterdir(), key=lambda p: p.name):
                if _LICENCE_FILES.match(f.name) and f.is_file():
                    licence, licence_from = licence_of_text(_read_text(f)), f.name
                    break
        if licence_from is None:
            declared = _package_json(root).get("license")
            if isinstance(declared, str) and declared.strip() and declared.strip().upper() != "UNLICENSED":
                licence, licence_from = declared.strip(), "package.json"
    return SourceInfo(repository, licence, licence_from)
