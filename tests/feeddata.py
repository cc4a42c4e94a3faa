"""Stores filled with changes for the feed tests (data written for these tests, not from ../shared).

Diffs are built by hand (with a small word diff) and tagged by the real tagger, so the tags,
evidence and directions are what the pipeline would give.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from pathlib import Path

from tracker.compare.events import document_events
from tracker.compare.tag import tag_changes
from tracker.models import Change, Clause, DiffResult, Document, Substitution, TagEvent, WordEdit
from tracker.store.database import Store

AI_CLAUSE = ("We may use the information we collect, including your posts and interactions, to train "
             "our machine learning and artificial intelligence models.")
BIO_CLAUSE = ("With your consent, we may collect and use your biometric information, such as a faceprint "
              "from the photos you upload, for safety, security and identification purposes.")
RETENTION_OLD = "We keep your information for as long as your account is active."
RETENTION_NEW = "We keep your information for as long as your account is active and for up to 5 years after."
AI_NEGATED = "We do not use your content to train artificial intelligence models."
AI_AFFIRMED = "We use your content to train artificial intelligence models."


def word_edits(old: str, new: str) -> list[WordEdit]:
    a, b = re.findall(r"\s+|\w+|[^\w\s]", old), re.findall(r"\s+|\w+|[^\w\s]", new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        out.append(WordEdit(op, "".join(a[i1:i2]), "".join(b[j1:j2])))
    return out


def added(text: str, section: str = "Information we collect") -> Change:
    return Change(kind="added", section=section, old=None, new=text)


def removed(text: str, section: str = "Information we collect") -> Change:
    return Change(kind="removed", section=section, old=text, new=None)


def modified(old: str, new: str, section: str = "How long we keep it") -> Change:
    return Change(kind="modified", section=section, old=old, new=new, similarity=0.8, edits=word_edits(old, new))


def ts(day: int, hour: int = 12) -> float:
    return datetime(2026, 3, day, hour, 0, 0, tzinfo=UTC).timestamp()


def add_change(store: Store, service: str, type_: str, changes: list[Change], at: float,
               url: str = "https://example.test/privacy", substitutions: list | None = None,
               tag: bool = True, events: list[TagEvent] | None = None) -> int:
    """Store a document (if new), two versions and the change between them (tagged by the real
    tagger unless ``tag`` is False, for changes whose tags the test sets itself)."""
    doc = Document(service=service, type=type_, url=url)
    row = store.ensure_documents([doc])[doc.key]
    result = DiffResult(changes=changes, substitutions=substitutions or [], events=list(events or []))
    if tag:
        tag_changes(result, lang="en")
        if events is None:  # the events the compare stage would make, unless the test gives its own
            with_events(result)
    with store.transaction():
        n = store.latest_version(row.id)
        if n is None:
            store.add_version(row.id, text="v1", clauses=[Clause("a", "v1", "v1")], recorded_at=at - 86400)
        v = store.add_version(row.id, text=f"text at {at}", clauses=[Clause("b", "x", "x")], recorded_at=at)
        return store.add_change(row.id, v.number - 1, v.number, result, detected_at=at)


def with_events(result: DiffResult, lang: str = "en") -> DiffResult:
    """Give a hand-built diff the priority-tag events the pipeline would: its two documents are taken
    to be the clauses of its changes (each change's index set), so what it adds is nowhere before."""
    old: list[Clause] = []
    new: list[Clause] = []
    for c in result.changes:
        if c.old is not None:
            c.old_index = len(old)
            old.append(Clause(f"o{len(old)}", c.old, c.old.casefold()))
        if c.new is not None:
            c.new_index = len(new)
            new.append(Clause(f"n{len(new)}", c.new, c.new.casefold()))
    result.events = document_events(old, new, result, lang)
    return result


def demo_store(path: Path) -> Store:
    """The demo-like story: a fictional platform adds AI-training and biometric clauses."""
    store = Store(path)
    add_change(store, "Chirpline", "Privacy Policy",
               [added(AI_CLAUSE), added(BIO_CLAUSE, "Information we collect > Photos"),
                modified(RETENTION_OLD, RETENTION_NEW),
                Change(kind="modified", section="", old="Last updated: 1 March 2026",
                       new="Last updated: 9 March 2026", significant=False, reason="metadata")],
               ts(9), substitutions=[Substitution("Chirp", "Chirpline", 4)])
    add_change(store, "Chirpline", "Privacy Policy", [modified(AI_NEGATED, AI_AFFIRMED, "Your content")], ts(20))
    add_change(store, "Acme Maps", "Terms of Service",
               [removed("You may opt out of location tracking at any time in the settings.", "Location")],
               ts(15), url="https://maps.example.test/terms")
    return store

HOSTILE_TEXT = ("Hostile clause <script>alert(1)</script> ]]> <iframe src=x></iframe> "
                "<img src=x onerror=alert(2)> <a href=\"javascript:alert(3)\">x</a> \x00\x0b\x1b end")

# The titles of demo_store's changes, newest first: the event in words with its stance and key sentence.
DEMO_TITLES = [
    "Chirpline Privacy Policy — AI training flipped: now may train (was: won't train): "
    "“We use your content to train artificial intelligence models.”",
    "Acme Maps Terms of Service — 1 clause changed (Location, User rights, Tracking and advertising)",
    "Chirpline Privacy Policy — AI training added (may train): “We may use the information we collect, including "
    "your posts and interactions …”; also Biometrics only with consent (new statement); 1 other change",
]
