"""Where the text of a version came from, as a link a reader can follow.

A checked version came from the document's URL. An imported version came from a file of an Open
Terms Archive versions repository at one commit: its source is that file at that commit in the
archive's web view (``https://github.com/OpenTermsArchive/contrib-versions/blob/<commit>/X/Privacy%20Policy.md``),
not the local clone the import read it from, which no reader can open.
"""

from __future__ import annotations

from urllib.parse import unquote

from tracker.sources.ota_urls import BLOB, archive_file_url


def source_link(url: str, source: str = "check", ref: str | None = None) -> tuple[str, str]:
    """(link, label) of a version's source. An imported version of a document whose URL is an archive
    file gets that file at the version's commit; the label names the archive, file and commit."""
    m = BLOB.match(url or "")
    if source == "import" and ref and m:
        archive, _, path = m.groups()
        repo = archive.split("://", 1)[-1].split("/", 1)[-1]
        return archive_file_url(archive, unquote(path), ref), f"{repo}: {unquote(path)} at {ref[:10]}"
    if source == "import" and ref:
        return url, f"{url} (imported, commit {ref[:10]})"
    return url, ""
