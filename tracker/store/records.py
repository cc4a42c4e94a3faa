"""Records read back from the store, and how times are stored (Unix seconds) and shown (ISO 8601)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import overload

from tracker.models import Clause, DiffResult
from tracker.store.codec import PackedVersion


def now_ts() -> float:
    return time.time()


@overload
def iso(ts: float) -> str: ...
@overload
def iso(ts: float | None) -> str | None: ...
def iso(ts: float | None) -> str | None:
    """Unix time -> ISO 8601 UTC with a Z, second precision (None for None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_filters(service: str | None = None, since: float | None = None, tag: str | None = None,
                   change_id: int | None = None) -> tuple[str, list]:
    """The WHERE terms (each starting with `` AND``) and arguments that ``changes`` and the report's kept rows
    both filter by: one definition, so a report and a feed never disagree on which changes a filter keeps."""
    filters = {"d.service = ?": service, "c.detected_at >= ?": since, "c.id = ?": change_id,
               "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = ?)": tag}
    kept = [(condition, value) for condition, value in filters.items() if value is not None]
    return "".join(f" AND {condition}" for condition, _ in kept), [value for _, value in kept]


@dataclass
class DocumentRow:
    id: int
    service: str
    type: str
    url: str
    declaration_hash: str | None
    etag: str | None
    last_modified: str | None
    raw_sha256: str | None
    last_check_at: float | None
    last_state: str | None
    last_reason: str | None
    last_error: str | None
    consecutive_failures: int
    next_check_at: float | None
    lang: str | None
    versions: int = 0
    last_version_at: float | None = None
    text_length: int = 0
    text_lang: str | None = None  # the latest version's language (the language guard compares with it)


@dataclass
class Version:
    id: int
    document_id: int
    number: int
    recorded_at: str
    sha256: str
    text: str
    clauses: list[Clause] = field(default_factory=list)
    lang: str | None = None
    snapshot_sha256: str | None = None
    source: str = "check"

    def to_dict(self, with_text: bool = False) -> dict:
        d = {"version": self.number, "recorded_at": self.recorded_at, "sha256": self.sha256,
             "snapshot_sha256": self.snapshot_sha256, "clauses": len(self.clauses),
             "length": len(self.text), "source": self.source}
        if with_text:
            d["text"] = self.text
        return d


@dataclass
class ChangeRow:
    """What identifies a stored change: its document, its two versions, when, and its tags."""

    id: int
    document_id: int
    service: str
    type: str
    url: str
    from_version: int
    to_version: int
    detected_at: str
    tags: list[str]


@dataclass
class ChangeRecord(ChangeRow):
    """One published change: version ``to_version`` of a document against ``from_version``, with its diff."""

    diff: DiffResult

    @property
    def slug(self) -> str:
        from tracker.sources.declarations import slugify

        return f"{slugify(self.service)}-{slugify(self.type)}-v{self.to_version}"


@dataclass
class VersionHead:
    """The latest version of a document without its text and clauses (decoded only when needed)."""

    id: int
    number: int
    sha256: str
    snapshot_sha256: str | None
    length: int
    lang: str | None = None


@dataclass
class HeldCapture:
    """A suspect or refused capture kept until a following capture confirms or discards it."""

    id: int
    at: float
    note: str
    count: int
    source_ref: str | None
    packed: PackedVersion


@dataclass
class CaptureNote:
    """What a capture was, when it was not a plain new version (see ``capture_notes``)."""

    id: int
    document_id: int
    service: str
    type: str
    url: str
    at: float
    kind: str  # held | confirmed | discarded | accepted | reverted | rebaselined | failed-commit
    note: str
    version: int | None
    source_ref: str | None
    open: bool = False
    count: int = 1


@dataclass
class ChangeHead(ChangeRow):
    """A significant change as listed for publication: names, versions and tags, without its diff.

    ``fp`` fingerprints the stored row (every column read, the diff's length and the Adler-32 that
    ends every zlib stream), so a change replaced in place gets a new fingerprint."""

    fp: str
