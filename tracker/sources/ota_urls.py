"""Web URLs of files in a versions repository (an Open Terms Archive archive on GitHub, GitLab or
Codeberg), so that imported versions name where their text came from, not the local clone."""

from __future__ import annotations

import re
from urllib.parse import quote

# A repository file in a web view: https://<host>/<owner>/<repo>/blob/<ref>/<path>
BLOB = re.compile(r"^(https://[^/\s]+/[^/\s]+/[^/\s]+)/blob/([^/\s]+)/(.+)$")
_REPO = re.compile(r"^(?:https://|git@)(github\.com|gitlab\.com|codeberg\.org)[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def archive_web_url(remote: str | None) -> str | None:
    """The web URL of a repository from its git remote (https or ssh form), when it is on a forge whose
    file view is ``/blob/<ref>/<path>``; else None (a local clone or a bundle)."""
    m = _REPO.match((remote or "").strip())
    return f"https://{m.group(1)}/{m.group(2)}/{m.group(3)}" if m else None


def archive_file_url(archive: str, path: str, ref: str = "HEAD") -> str:
    """The web URL of ``path`` in the archive at ``ref``."""
    return f"{archive.rstrip('/')}/blob/{quote(ref, safe='')}/{quote(path)}"
