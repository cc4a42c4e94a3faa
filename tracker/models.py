"""The records that flow through the pipeline.

declarations -> Document -> fetch -> FetchResult -> extract -> Extracted (clauses)
-> store (Version) -> diff -> DiffResult (Change...) -> tag -> TagResult per change -> feeds

They are plain dataclasses so that every stage can be tested with values built by hand, and
so that the JSON forms printed by the CLI are just ``to_dict()`` of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class PastSelectors:
    """How a document was declared until ``until`` (ISO 8601, UTC), e.g. from an OTA ``.history.json``.

    Old snapshots must be read with the selectors in force when they were fetched, not today's.
    """

    until: str
    url: str
    select: tuple = ()
    remove: tuple = ()


@dataclass(frozen=True)
class Document:
    """One declared document of one service (a row of a ``policies/*.toml`` file)."""

    service: str
    type: str
    url: str
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    interval: int = 86400  # seconds
    lang: str | None = None
    source: str = ""  # declaration file the document came from
    # select/remove items are CSS selector strings or range selectors (a hashable dict, see
    # tracker.sources.declarations.RangeSelector / selector_spec); history is oldest first.
    history: tuple[PastSelectors, ...] = ()
    browser: bool = False  # render with a headless browser (tracker.capture.browser) instead of a plain GET
    allow_private: bool = False  # may be fetched from a private/loopback address (tracker.capture.netpolicy)
    aliases: tuple[str, ...] = ()  # former names of the service ("Twitter" for X): one platform, one lane

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.type)

    @property
    def label(self) -> str:
        return f"{self.service} / {self.type}"


# --------------------------------------------------------------------------- fetching

FailureReason = Literal[
    "timeout",
    "connection",
    "http-status",
    "too-large",
    "not-html",
    "blocked",
    "selector-matched-nothing",
    "empty",
    "too-short",
    "redirect-loop",
    "decode",
    "robots",
    "browser-missing",  # browser = true but no headless Chromium found
    "browser-failed",  # the browser ran but gave no page
    "forbidden-address",  # the fetch policy refused the address (tracker.capture.netpolicy)
    "extract-timeout",  # extracting the page took longer than its deadline (tracker.workers)
]


@dataclass
class FetchResult:
    """What one HTTP attempt gave. ``ok`` False means ``reason`` says why (never raised)."""

    url: str
    ok: bool
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a 304 answer to a conditional GET
    reason: str | None = None  # one of FailureReason when not ok
    error: str | None = None  # human-readable detail
    duration: float = 0.0
    final_url: str | None = None
    retry_after: float | None = None
    redirected_off_site: bool = False  # a redirect left the declared site (final_url says where)


# --------------------------------------------------------------------------- extraction

ClauseKind = Literal["heading", "paragraph", "list-item", "table-row", "definition", "quote"]


@dataclass
class Clause:
    """One unit of a policy: a paragraph, list item, table row... with its place in the document.

    ``text`` is faithful to the page (used for display); ``norm`` is the normalised form used only
    for comparison; ``id`` is a hash of ``norm`` so the same clause keeps its id across versions.
    """

    id: str
    text: str
    norm: str
    section: tuple[str, ...] = ()
    kind: str = "paragraph"
    metadata: bool = False  # "Last updated: ..." and the like: never a significant change
    context: str = ""  # lead-in sentence of a list, for list items

    @property
    def section_path(self) -> str:
        return " > ".join(self.section)

    def to_dict(self) -> dict:
        # By hand, not dataclasses.asdict: this runs for every clause of every stored version.
        return {"id": self.id, "text": self.text, "norm": self.norm, "section": list(self.section),
                "kind": self.kind, "metadata": self.metadata, "context": self.context}


@dataclass
class Extracted:
    """A document as clauses. ``text`` is the readable plain-text rendition stored per version."""

    clauses: list[Clause]
    title: str | None = None
    lang: str | None = None

    @property
    def text(self) -> str:
        out: list[str] = []
        for c in self.clauses:
            if c.kind == "heading":
                out.append(("#" * min(len(c.section), 6) or "#") + " " + c.text)
            elif c.kind == "list-item":
                out.append("- " + c.text)
            else:
                out.append(c.text)
        return "\n\n".join(out)


# --------------------------------------------------------------------------- tags


@dataclass
class Evidence:
    """Why a tag was given: the rule and the matched span of the clause text."""

    rule: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


Polarity = Literal["affirmed", "negated", "restricted", "conditional"]


@dataclass
class TagResult:
    tags: list[str] = field(default_factory=list)
    possible: list[str] = field(default_factory=list)
    polarity: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "tags": list(self.tags),
            "possible": list(self.possible),
            "polarity": dict(self.polarity),
            "evidence": {t: [e.to_dict() for e in ev] for t, ev in self.evidence.items()},
        }


# --------------------------------------------------------------------------- diff

ChangeKind = Literal["added", "removed", "modified", "moved"]


@dataclass
class WordEdit:
    """One run of a word diff: op is equal | insert | delete | replace."""

    op: str
    old: str = ""
    new: str = ""


@dataclass
class Change:
    kind: str  # ChangeKind
    section: str
    old: str | None
    new: str | None
    similarity: float = 0.0
    edits: list[WordEdit] = field(default_factory=list)
    significant: bool = True
    old_index: int | None = None
    new_index: int | None = None
    clause_kind: str = "paragraph"
    reason: str = ""  # why not significant, when it is not
    # filled by the tagger
    tags: list[str] = field(default_factory=list)
    possible: list[str] = field(default_factory=list)
    polarity: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)  # tag -> added|removed|flipped|changed
    old_polarity: dict[str, str] = field(default_factory=dict)  # tag -> polarity of the old text

    def to_dict(self) -> dict:
        d = asdict(self)
        d["evidence"] = {t: [asdict(e) for e in ev] for t, ev in self.evidence.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Change:
        d = dict(d)
        d["edits"] = [WordEdit(**e) for e in d.get("edits") or []]
        d["evidence"] = {t: [Evidence(**e) for e in ev] for t, ev in (d.get("evidence") or {}).items()}
        return cls(**d)


@dataclass
class Substitution:
    """A rename applied across the document ("Twitter" -> "X"), reported once."""

    old: str
    new: str
    count: int

    def to_dict(self) -> dict:
        return asdict(self)


EventKind = Literal["added", "removed", "stance"]
PRIORITY_TAGS = ("ai-training", "biometrics")  # the tags whose alerts are document-level events


@dataclass
class TagEvent:
    """What a reader is told about a priority tag (ai-training, biometrics): true of the two documents as
    wholes, not of one clause. ``added``: nothing equivalent anywhere in the old document; ``removed``:
    nothing equivalent left anywhere in the new one; ``stance``: the document's stance changed (e.g.
    conditional -> affirmed). Feeds, pages, report, notifications and the terminal take tag alerts from these."""

    tag: str
    kind: str  # EventKind
    stance: str  # Polarity now; for "removed", the polarity the statement had
    old_stance: str = ""  # for "stance": the polarity before
    sentence: str = ""  # the key sentence carrying the evidence, at most about 300 characters
    old_sentence: str = ""  # for "stance" and "removed": the old key sentence
    section: str = ""
    change: int | None = None  # index in DiffResult.changes of the clause change that carries it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DiffResult:
    changes: list[Change] = field(default_factory=list)
    substitutions: list[Substitution] = field(default_factory=list)
    events: list[TagEvent] = field(default_factory=list)  # priority-tag events (see TagEvent)
    note: str = ""  # what the capture was, when not a plain change: "reverted to v3", "re-baselined: …"

    @property
    def significant(self) -> list[Change]:
        return [c for c in self.changes if c.significant]

    @property
    def stats(self) -> dict:
        s = {"added": 0, "removed": 0, "modified": 0, "moved": 0}
        for c in self.changes:
            if c.significant:
                s[c.kind] = s.get(c.kind, 0) + 1
        s["significant"] = len(self.significant)
        s["insignificant"] = len(self.changes) - s["significant"]
        return s

    def tags(self) -> list[str]:
        """The tags a change is listed under. A priority tag only with an event (see TagEvent): a
        clause that was merely re-captured, duplicated or moved carries its tag but tells no news."""
        seen: dict[str, None] = {}
        for c in self.significant:
            for t in c.tags:
                if t in PRIORITY_TAGS:
                    if any(e.tag == t for e in self.events):
                        seen.setdefault(t, None)
                else:
                    seen.setdefault(t, None)
        for e in self.events:
            seen.setdefault(e.tag, None)
        return list(seen)

    def directions(self) -> dict[str, str]:
        """Tag -> what happened: for the priority tags the first event's kind (added|removed|stance),
        for the others the first significant clause's direction (added|removed|flipped|changed)."""
        out: dict[str, str] = {}
        for e in self.events:
            out.setdefault(e.tag, e.kind)
        for c in self.significant:
            for tag, direction in c.directions.items():
                if tag not in PRIORITY_TAGS:
                    out.setdefault(tag, direction)
        return out

    def to_dict(self) -> dict:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "substitutions": [s.to_dict() for s in self.substitutions],
            "events": [e.to_dict() for e in self.events],
            "note": self.note,
            "stats": self.stats,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DiffResult:
        return cls(
            changes=[Change.from_dict(c) for c in d.get("changes") or []],
            substitutions=[Substitution(**s) for s in d.get("substitutions") or []],
            events=[TagEvent(**e) for e in d.get("events") or []],
            note=d.get("note") or "",
        )
