"""The check step: what one new capture of a document means, decided in one place.

A capture is a fetched page, a page rendered by a browser, or a text imported from an archive with
its date. ``check``, the daemon and ``import-versions`` all hand their captures to
:func:`check_capture`, which decides everything — the guards against pages that are not the policy,
extraction, comparison with the latest stored version, the clause diff and its tags, what to store —
and returns a :class:`CheckOutcome`.

Extraction (:func:`read_page`, in :mod:`tracker.page`) is a pure function of the capture and may run in another process
(see :mod:`tracker.pool`); the rest runs where the database is written, inside the caller's
transaction, so the version it compares with is the one it stores after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tracker.capture import guard
from tracker.compare import artefacts
from tracker.models import PRIORITY_TAGS, Clause, DiffResult, Document, FetchResult, TagEvent
from tracker.page import Capture, Page, read_page
from tracker.store.codec import PackedVersion, sha256
from tracker.store.database import Store
from tracker.store.records import DocumentRow, HeldCapture, VersionHead, iso

State = Literal["new", "unchanged", "changed", "failed"]


@dataclass
class CheckOutcome:
    """What one document's check came to; printed by ``check``, logged by the daemon, counted by
    ``import-versions``."""

    document: Document
    state: State
    reason: str | None = None
    error: str | None = None
    http_status: int | None = None
    bytes: int = 0
    duration: float = 0.0
    version: int | None = None
    significant: int = 0
    tags: list[str] = field(default_factory=list)
    directions: dict[str, str] = field(default_factory=dict)
    change_id: int | None = None
    note: str | None = None
    at: float = 0.0
    retry_after: float | None = None
    verdict: str | None = None  # why unchanged: not-modified | identical-body | same-text | insignificant | held
    noted: bool = False  # a capture note was written (held, discarded...): status.atom has news

    def to_dict(self) -> dict:
        d: dict[str, object] = {"service": self.document.service, "type": self.document.type, "url": self.document.url,
             "state": self.state, "reason": self.reason, "error": self.error, "http_status": self.http_status,
             "bytes": self.bytes, "duration": round(self.duration, 3), "version": self.version,
             "checked_at": iso(self.at)}
        if self.state == "changed":
            d.update(significant_changes=self.significant, tags=self.tags, directions=self.directions,
                     change_id=self.change_id)
        if self.note:
            d["note"] = self.note
        return d

    def line(self) -> str:
        """One line for a terminal or a log: ``service / type: state (details)``."""
        label = self.document.label
        if self.state == "failed":
            return f"{label}: failed ({self.reason}): {self.error or ''}".rstrip(": ")
        if self.state == "changed":
            tags = f" [{', '.join(self.tags)}]" if self.tags else ""
            flips = [f"{t} {d}" for t, d in self.directions.items() if t in PRIORITY_TAGS]
            alarm = f" ALERT: {'; '.join(flips)}" if flips else ""
            what = f" ({self.note})" if self.note else ""
            return f"{label}: changed -> v{self.version}, {self.significant} clause(s){tags}{alarm}{what}"
        if self.state == "new":
            return f"{label}: new (v{self.version})"
        shown = self.note and (self.note.startswith("only") or self.verdict == "held")
        return f"{label}: unchanged" + (f" ({self.note})" if shown else "")


Earlier = Callable[[], list[list[Clause]]]  # the clauses of a few versions before the old one, read on demand


def analyse(old: list[Clause], new: list[Clause], lang: str | None, earlier: Earlier | None = None) -> DiffResult:
    """Clause diff plus tags plus the priority-tag events of the two documents: the one place the
    stages are joined."""
    from tracker.compare.diff import diff_clauses
    from tracker.compare.tag import tag_changes

    result = tag_changes(diff_clauses(old, new), lang=lang)
    result.events = change_events(old, new, result, lang, earlier)
    return result


def change_events(old: list[Clause], new: list[Clause], diff: DiffResult, lang: str | None,
                  earlier: Earlier | None = None) -> list[TagEvent]:
    """The priority-tag events of a tagged diff of two versions' clauses, as compared (undoubled):
    for :func:`analyse`, and for changes stored before events existed (tracker/backfill.py)."""
    from tracker.compare.events import document_events

    return document_events(old, new, diff, lang, earlier)


def compare_capture(old: list[Clause], new: list[Clause], lang: str | None,
                    earlier: Earlier | None = None) -> tuple[DiffResult, str]:
    """Two versions as a check compares them: the diff, and the capture artefact it is ("" for a
    plain change). A page holding the policy twice is compared once (``note`` says so); a block of the
    page that came or went while the rest stayed (another edition of the page, a lost block) is
    "edition": its diff is kept, with no priority-tag events. ``earlier``: the clauses of the versions
    before ``old``, so that a block that left and comes back is not a new statement (see events)."""
    a, b, doubled_note = artefacts.undouble(old, new)
    edition = not doubled_note and artefacts.edition_switch(a, b, artefacts.length(a), artefacts.length(b))
    result = analyse(a, b, lang, earlier)
    result.note = edition or doubled_note
    if edition:
        result.events = []
    return result, "edition" if edition else ""


def compare_versions(old: list[Clause], new: list[Clause], lang: str | None,
                     earlier: Earlier | None = None) -> DiffResult:
    """Two versions as check, the daemon, import and `diff` compare them (:func:`compare_capture`)."""
    return compare_capture(old, new, lang, earlier)[0]


# --------------------------------------------------------------------------- the decision


def wants_page(row: DocumentRow, result: FetchResult) -> bool:
    """Whether a fetch needs extracting: not when it failed, or the server said or sent the same page."""
    return result.ok and not result.not_modified and not (row.versions and row.raw_sha256 == sha256(result.body))


def check_fetch(store: Store, row: DocumentRow, doc: Document, result: FetchResult, at: float,
                page: Page | None = None) -> CheckOutcome:
    """A fetch's outcome: a failed fetch, a 304 or an identical body are decided without extracting;
    anything else is a capture for :func:`check_capture` (``page``: its extraction, when done already)."""
    out = CheckOutcome(document=doc, state="unchanged", http_status=result.status, bytes=len(result.body),
                       duration=result.duration, at=at, retry_after=result.retry_after)
    if not result.ok:
        return _failed(store, row, out, result, result.reason or "connection", result.error)
    if result.not_modified:
        # A 304: keep the validators we have unless the server sent new ones.
        store.record_check(row.id, state="unchanged", at=at, http_status=result.status, nbytes=len(result.body),
                           duration=result.duration, etag=result.etag or row.etag,
                           last_modified=result.last_modified or row.last_modified)
        out.version, out.note, out.verdict = store.latest_version_number(row.id), "304 not modified", "not-modified"
        _reference_again(store, row, out)
        return out
    raw_sha = sha256(result.body)
    if row.raw_sha256 == raw_sha and row.versions:
        store.record_check(row.id, state="unchanged", at=at, http_status=result.status, nbytes=len(result.body),
                           duration=result.duration, etag=result.etag or row.etag,
                           last_modified=result.last_modified or row.last_modified, raw_sha256=raw_sha)
        out.version, out.note, out.verdict = store.latest_version_number(row.id), "identical body", "identical-body"
        _reference_again(store, row, out)
        return out
    return check_capture(store, row, doc, Capture.from_fetch(result, at), page=page, fetch=result, outcome=out,
                         raw_sha=raw_sha)


def _reference_again(store: Store, row: DocumentRow, out: CheckOutcome) -> None:
    """The server sent the reference's page again: a capture held since (its check was the last one,
    ``held`` or a refusal) was an outlier. Looked up only then, so unchanged checks stay one write."""
    if row.last_state in ("held", "failed"):
        held = store.held_capture(row.id)
        if held is not None:
            _discard(store, row.id, held, out, "the next capture was the reference's page again")


def check_capture(store: Store, row: DocumentRow, doc: Document, capture: Capture, *, page: Page | None = None,
                  fetch: FetchResult | None = None, outcome: CheckOutcome | None = None, raw_sha: str | None = None,
                  clauses_of: Callable[[VersionHead], list[Clause]] | None = None) -> CheckOutcome:
    """Judge one capture against the document's latest stored version and store what it means.

    Runs inside the caller's transaction (and savepoint): what it compares with is what it stores
    after. An imported capture leaves no check row and no snapshot; its version keeps its commit.
    ``clauses_of``: the clauses of a stored version when the caller has them at hand (an import
    walking one document's commits), instead of decoding them again.

    Before a capture is taken as a new version of the policy, it is judged as a capture
    (:func:`_judge_artefact`): a return to an earlier text, a technical re-baseline, a suspect or
    refused capture held until another confirms it."""
    at = capture.at
    out = outcome or CheckOutcome(document=doc, state="unchanged", bytes=len(capture.body), at=at)
    previous = store.latest_head(row.id)
    if page is None:
        page = read_page(doc, capture, previous.length if previous else 0, previous.lang if previous else None)
    elif page.packed is not None and page.reason is None and previous is not None:
        # extracted before the latest version was known: apply the length guard now
        why = guard.too_short(page.packed.length, previous.length)
        if why:
            page = Page(packed=page.packed if page.packed.length >= guard.MIN_CHARS else None, reason="too-short",
                        error=why)
    if page.packed is None:
        return _failed(store, row, out, fetch, page.reason or "decode", page.error)
    packed = page.packed
    lang = doc.lang or packed.lang
    validators = ({"etag": fetch.etag, "last_modified": fetch.last_modified, "raw_sha256": raw_sha}
                  if fetch is not None else {})
    if previous is None:
        out.version = _add_version(store, row, capture, fetch, packed, lang, "new", validators)
        out.state = "new"
        return out
    held = store.held_capture(row.id)
    if previous.sha256 == packed.sha256:
        if held is not None:
            _discard(store, row.id, held, out, "the next capture was the reference's text again")
        _record(store, row, capture, fetch, "unchanged", **validators)
        out.state, out.version, out.note, out.verdict = "unchanged", previous.number, "same text", "same-text"
        return out
    if fetch is not None and previous.snapshot_sha256:
        why = guard.truncated(capture.body, store.snapshot(previous.snapshot_sha256))
        if why:  # refused, and held like a short page: a real rewrite that stays is confirmed next time
            page = Page(packed=packed, reason="truncated", error=why)
    old = clauses_of(previous) if clauses_of is not None else store.version_clauses(previous.id)
    judged = _judge_artefact(store, row, doc, capture, page, previous, old, held, fetch, out, validators)
    if isinstance(judged, CheckOutcome):
        return judged
    previous, old = judged
    diff, kind = compare_capture(old, page.clauses, lang, _earlier(store, row.id, previous))
    if kind:  # recorded and published as what it is, with no topic alert
        return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, page.clauses,
                               kind=kind, note=diff.note, published=True, diff=diff)
    if not diff.significant:
        _record(store, row, capture, fetch, "unchanged", reason="insignificant", **validators)
        out.state, out.version, out.verdict = "unchanged", previous.number, "insignificant"
        out.note = f"only insignificant differences ({len(diff.changes)} ignored: dates, formatting, links)"
        return out
    number = _add_version(store, row, capture, fetch, packed, lang, "changed", validators)
    out.version, out.state, out.note = number, "changed", diff.note or None
    out.change_id = store.add_change(row.id, previous.number, number, diff, detected_at=at)
    out.significant = len(diff.significant)
    out.tags = diff.tags()
    out.directions = diff.directions()
    return out


# --------------------------------------------------------------------------- capture artefacts

CONFIRM_AFTER = 3 * 86400  # an archived text that stayed this long was confirmed by the captures in between
KEEP_COMING_BACK = 3  # suspect captures in a row, none like the reference: the page really changed
HELD_REFUSALS = ("too-short", "truncated")  # refused captures kept, to become the reference if they come back
NEAR_RETURN_LOOKBACK = 6  # earlier versions a capture is compared with for a return to an earlier edition
POLICY_ARTEFACTS = ("confirmed", "accepted")  # held captures that turned out to be the policy: their events count


def _judge_artefact(store: Store, row: DocumentRow, doc: Document, capture: Capture, page: Page,
                    previous: VersionHead, old: list[Clause], held: HeldCapture | None, fetch: FetchResult | None,
                    out: CheckOutcome, validators: dict[str, Any]
                    ) -> CheckOutcome | tuple[VersionHead, list[Clause]]:
    """What a capture that differs from the reference is, as a capture: the outcome when it is decided
    here (a return to an earlier text, a re-baseline, a held or accepted suspect capture), else the
    version and clauses to diff it against (the reference, or a held capture confirmed meanwhile).

    Why: an archive or a live page records returns to an earlier text (a page flapping between two
    captures), re-extractions, other documents and partial pages; reported as policy changes they
    are false alarms, and a one-off outlier taken as the reference blocks every later capture."""
    assert page.packed is not None
    packed, at, lang = page.packed, capture.at, doc.lang or page.packed.lang
    new = page.clauses
    earlier = store.earlier_version_with_text(row.id, packed.sha256, previous.number)
    if earlier is not None:
        # A return: flapping between two texts is shown once, the first time it goes this way.
        if held is not None:
            _discard(store, row.id, held, out, f"the next capture returned to v{earlier}'s text")
        first_time = not store.transition_seen(row.id, previous.sha256, packed.sha256)
        return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, new,
                               kind="reverted", note=f"reverted to v{earlier}", published=first_time)
    earlier = _near_return(store, row.id, previous, old, packed, new)
    if earlier is not None:
        # The page alternates between two editions (a regional notice shown or not, a block that comes
        # and goes), each drifting a little: back to an earlier one is a capture, not a policy change.
        if held is not None:
            _discard(store, row.id, held, out, f"the next capture returned to v{earlier}'s edition")
        return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, new,
                               kind="reverted", published=True,
                               note=f"reverted to v{earlier} (nearly the same text: the page alternates between "
                                    "two editions)")
    if capture.rebaseline:
        if held is not None:
            _discard(store, row.id, held, out, "a technical re-baseline followed")
        return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, new,
                               kind="rebaselined", note=f"re-baselined: {capture.rebaseline}", published=False)
    if held is not None:
        held_clauses = held.packed.decode_clauses()
        if held.packed.sha256 == packed.sha256 or artefacts.same_capture(held_clauses, new, held.packed.length,
                                                                         packed.length):
            store.release_held(row.id)
            note = f"confirmed by the next capture: {_when(held.at)} was held ({held.note})"
            return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, new,
                                   kind="confirmed", note=note, published=True)
        if capture.origin == "import" and at - held.at >= CONFIRM_AFTER:
            # An archive records a text only when it changes: the held one was the page all that time.
            _confirm_by_time(store, row, doc, held, previous, old, at)
            head = store.latest_head(row.id)
            assert head is not None
            previous, old, held = head, held_clauses, None
            if head.sha256 == packed.sha256:
                out.state, out.version, out.verdict = "unchanged", head.number, "same-text"
                return out
    reason = page.error if page.reason in HELD_REFUSALS else artefacts.suspect_reason(old, new, previous.length,
                                                                                     packed.length)
    if reason:
        count = held.count + 1 if held is not None else 1
        if count >= KEEP_COMING_BACK:
            store.release_held(row.id)
            note = f"accepted: {count} suspect captures in a row, none like the reference ({reason})"
            return _store_artefact(store, row, capture, fetch, packed, lang, validators, out, previous, old, new,
                                   kind="accepted", note=note, published=True)
        store.hold_capture(row.id, at=at, note=reason, packed=packed, count=count, source_ref=capture.source_ref)
        out.noted = True
        if page.reason in HELD_REFUSALS:
            return _failed(store, row, out, fetch, page.reason,
                           f"{reason}; held: it becomes the reference if the next capture shows it again")
        # Checked fine, but not the reference yet: the validators and the raw hash stay those of the
        # reference, so the next fetch of the same page is judged again (and confirms it).
        _record(store, row, capture, fetch, "held", keep_validators=True)
        out.state, out.version, out.verdict = "unchanged", previous.number, "held"
        out.note = f"held as a suspect capture until the next one confirms it: {reason}"
        return out
    if held is not None:
        _discard(store, row.id, held, out, "the next capture matched the reference")
    return previous, old


def _near_return(store: Store, document_id: int, previous: VersionHead, old: list[Clause], packed: PackedVersion,
                 new: list[Clause]) -> int | None:
    """The number of a recent earlier version that the capture is nearly the same as (the same page
    again, see artefacts.same_capture) while its length is far from the reference's (a block of the
    page, a section's worth of text, came or went: a regional edition, an accordion): a return to an
    earlier edition. None for an
    ordinary change, without looking back: a clause added then dropped again is a change both times."""
    short, long = sorted((previous.length, packed.length))
    if (long < artefacts.SAME_CAPTURE_LENGTH * short or long - short < artefacts.EDITION_BLOCK
            or artefacts.same_capture(old, new, previous.length, packed.length)):
        return None
    for head in store.earlier_heads(document_id, previous.number, NEAR_RETURN_LOOKBACK):
        if head.sha256 == previous.sha256:
            continue
        if artefacts.same_capture(store.version_clauses(head.id), new, head.length, packed.length):
            return head.number
    return None


def settle_held(store: Store, row: DocumentRow, doc: Document, now: float) -> CheckOutcome | None:
    """At the end of an archive's history (``now``: its latest commit): a capture still held that
    stayed :data:`CONFIRM_AFTER` is confirmed by the archive's own captures since, and stored."""
    held = store.held_capture(row.id)
    previous = store.latest_head(row.id)
    if held is None or previous is None or now - held.at < CONFIRM_AFTER:
        return None
    return _confirm_by_time(store, row, doc, held, previous, store.version_clauses(previous.id), now)


def _confirm_by_time(store: Store, row: DocumentRow, doc: Document, held: HeldCapture, previous: VersionHead,
                     old: list[Clause], now: float) -> CheckOutcome:
    store.release_held(row.id)
    note = (f"confirmed: the capture of {_when(held.at)}, held ({held.note}), "
            f"stayed {(now - held.at) / 86400:.0f} days")
    capture = Capture(url=doc.url, body=b"", content_type="text/markdown", at=held.at, origin="import",
                      source_ref=held.source_ref)
    return _store_artefact(store, row, capture, None, held.packed, doc.lang, {}, CheckOutcome(doc, "unchanged"),
                           previous, old, held.packed.decode_clauses(), kind="confirmed", note=note, published=True)


def _store_artefact(store: Store, row: DocumentRow, capture: Capture, fetch: FetchResult | None,
                    packed: PackedVersion, lang: str | None, validators: dict[str, Any], out: CheckOutcome,
                    previous: VersionHead, old: list[Clause], new: list[Clause], *, kind: str, note: str,
                    published: bool, diff: DiffResult | None = None) -> CheckOutcome:
    """Store a capture artefact as a version (versions stay in time order, and the latest is the
    reference every check compares with) and a change carrying ``note``. A revert or a re-baseline is
    a capture, not a policy change: listed under no tag, with no priority-tag events. A suspect
    capture that was confirmed (or kept coming back) *is* the policy now: its change keeps its tags and
    events, so a real change held first (a new section that tripled the text) still alerts once it is
    confirmed; unless it is another document (most of the old wording gone: a swap, a stub), whose
    statements say nothing true about what the policy added or dropped. Unpublished (a flap's later
    flips, a re-baseline): recorded with no diff, in no feed."""
    if not published:
        diff = DiffResult(note=note)
    elif diff is None:  # (given when the comparison itself found the artefact: its note is the note)
        diff = compare_versions(old, new, lang, _earlier(store, row.id, previous))
        diff.note = note + (f"; {diff.note}" if diff.note else "")
    if kind == "reverted" and published and not diff.significant:  # back to a text that differs only in form
        _record(store, row, capture, fetch, "unchanged", reason="insignificant", **validators)
        out.state, out.version, out.verdict = "unchanged", previous.number, "insignificant"
        out.note = f"only insignificant differences ({len(diff.changes)} ignored: dates, formatting, links)"
        return out
    policy = published and kind in POLICY_ARTEFACTS and not artefacts.another_document(old, new)
    if not policy:
        diff.events = []
    tags = diff.tags() if policy else []
    number = _add_version(store, row, capture, fetch, packed, lang, "changed", validators)
    out.change_id = store.add_change(row.id, previous.number, number, diff, detected_at=capture.at, tags=tags,
                                     published=published)
    store.add_capture_note(row.id, at=capture.at, kind=kind, note=note, version=number, source_ref=capture.source_ref)
    out.state, out.version, out.note, out.verdict, out.noted = "changed", number, note, kind, True
    out.significant = len(diff.significant) if published else 0
    out.tags, out.directions = (tags, diff.directions()) if policy else ([], {})
    return out


def _earlier(store: Store, document_id: int, previous: VersionHead) -> Earlier:
    """The clauses of the versions just before ``previous`` (read only if events ask for them)."""
    return lambda: [store.version_clauses(h.id)
                    for h in store.earlier_heads(document_id, previous.number, NEAR_RETURN_LOOKBACK)]


def _discard(store: Store, document_id: int, held: HeldCapture, out: CheckOutcome, why: str) -> None:
    """A held capture was an outlier: it never becomes the reference; the note says so."""
    store.release_held(document_id)
    if store.held_before(document_id, held.packed.sha256, held.id):
        return  # the page alternates with this other text: said the first time, not at every flip
    out.noted = True
    store.add_capture_note(document_id, at=out.at, kind="discarded", source_ref=held.source_ref,
                           note=f"suspect capture of {_when(held.at)} discarded ({held.note}): {why}")


def _when(ts: float) -> str:
    return (iso(ts) or "?")[:16].replace("T", " ")


def _add_version(store: Store, row: DocumentRow, capture: Capture, fetch: FetchResult | None, packed: PackedVersion,
                 lang: str | None, state: str, validators: dict[str, Any]) -> int:
    """Store a capture as the document's next version (with its snapshot and check row when fetched)."""
    snapshot = None
    if fetch is not None:
        snapshot = store.put_snapshot(capture.body, fetch.content_type, digest=validators.get("raw_sha256"),
                                      compressed=packed.snapshot)
    check_id = _record(store, row, capture, fetch, state, **validators)
    version_id, number, _ = store.add_packed_version(
        row.id, packed, recorded_at=capture.at, check_id=check_id, snapshot_sha256=snapshot, lang=lang,
        source="import" if capture.origin == "import" else "check", source_ref=capture.source_ref)
    if check_id is not None:
        store.link_check_version(check_id, version_id)
    return number


def _record(store: Store, row: DocumentRow, capture: Capture, fetch: FetchResult | None, state: str,
            **fields: Any) -> int | None:
    """The check row of a fetched capture (an imported one has none: its commit is its record)."""
    if fetch is None:
        return None
    return store.record_check(row.id, state=state, at=capture.at, http_status=fetch.status,
                              nbytes=len(fetch.body), duration=fetch.duration, **fields)


def _failed(store: Store, row: DocumentRow, out: CheckOutcome, fetch: FetchResult | None, reason: str,
            error: str | None) -> CheckOutcome:
    if fetch is not None:
        store.record_check(row.id, state="failed", at=out.at, reason=reason, error=error,
                           http_status=fetch.status, nbytes=len(fetch.body), duration=fetch.duration)
    out.state, out.reason, out.error = "failed", reason, error
    return out


def check_failed_internally(store: Store, row: DocumentRow, doc: Document, result: FetchResult, at: float,
                            error: Exception) -> CheckOutcome:
    """A bug in extraction, diff or tag fails this document's check, never the cycle or the daemon."""
    message = f"processing failed: {type(error).__name__}: {error}"
    store.record_check(row.id, state="failed", at=at, reason="internal", error=message[:500],
                       http_status=result.status, nbytes=len(result.body), duration=result.duration)
    return CheckOutcome(document=doc, state="failed", reason="internal", error=message, http_status=result.status,
                        at=at, duration=result.duration)
