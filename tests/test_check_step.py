"""The check step decides what a capture means in one place, for a fetched page and an imported
text alike, against the version stored when it writes (not when the page was fetched)."""

from __future__ import annotations

import pytest
from pages import policy_html

from tracker.check import analyse, check_capture, check_fetch
from tracker.models import Document, FetchResult
from tracker.page import Capture, read_page
from tracker.pool import Pool
from tracker.store.database import Store
from tracker.store.records import now_ts

DOC = Document(service="Example", type="Privacy Policy", url="https://example.com/privacy", select=("main",))
SHARING = "We share your contact details with our partners for marketing."
TRAINING = "We use the content you post to train our artificial intelligence models."
FACES = "We collect face geometry from your photos to verify your identity."


def page(*extra: str) -> bytes:
    return policy_html({"What we collect": ["Your name and e-mail address.", *extra],
                        "Your choices": ["You can delete your account at any time."]}).encode()


def fetched(body: bytes) -> FetchResult:
    return FetchResult(url=DOC.url, ok=True, status=200, body=body, content_type="text/html; charset=utf-8")


def check(store: Store, body: bytes, page_=None):
    row = store.ensure_documents([DOC])[DOC.key]
    with store.transaction():
        return check_fetch(store, row, DOC, fetched(body), now_ts(), page_)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        check(s, page(SHARING))
        yield s


def stored_change(store: Store) -> tuple:
    return store.conn.execute("SELECT from_version, to_version FROM changes ORDER BY id DESC").fetchone()


def test_a_page_extracted_before_another_version_was_stored_is_diffed_against_that_version(store: Store) -> None:
    row = store.ensure_documents([DOC])[DOC.key]
    body = page(SHARING, TRAINING, FACES)
    early = read_page(DOC, Capture.from_fetch(fetched(body), 0.0), row.text_length)  # extracted with v1 stored
    assert check(store, page(SHARING, TRAINING)).state == "changed"  # v2 stored meanwhile
    out = check(store, body, early)
    assert out.state == "changed" and out.version == 3 and stored_change(store) == (2, 3)
    assert out.tags == ["biometrics"]  # against v2, only the face clause is new


def test_an_extraction_in_a_worker_process_is_the_same_as_here() -> None:
    capture = Capture.from_fetch(fetched(page(SHARING, TRAINING, FACES)), 0.0)
    here = read_page(DOC, capture, 0)
    with Pool(1) as pool:
        there = pool.run(read_page, DOC, capture, 0)
    assert there.packed is not None and here.packed is not None
    assert there.packed.sha256 == here.packed.sha256 and there.packed.clauses == here.packed.clauses
    assert there.clauses == here.clauses


def where_am_i() -> str:
    """In a worker process, die as a worker killed by the system would; here, say so."""
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None:
        os._exit(1)
    return "here"


def test_a_broken_pool_goes_on_in_this_process() -> None:
    with Pool(1) as pool:
        assert pool.run(where_am_i) == "here"  # the worker died: the call ran in this process
        capture = Capture.from_fetch(fetched(page(SHARING)), 0.0)
        assert pool.run(read_page, DOC, capture, 0).packed is not None  # and so does what follows


def test_an_imported_text_and_a_fetched_page_are_judged_alike(tmp_path) -> None:
    md_v1 = ("# Privacy\n\n## What we collect\n\nYour name, e-mail address and the posts you publish.\n\n"
             + SHARING + "\n\n## Your choices\n\nYou can delete your account at any time from the settings.\n")
    md_v2 = md_v1 + "\n" + TRAINING + "\n"
    with Store(tmp_path / "i.db") as s:
        row = s.ensure_documents([DOC])[DOC.key]
        outs = []
        with s.transaction():
            for i, text in enumerate((md_v1, md_v1, md_v2, "Loading...")):
                cap = Capture(url="X/Privacy Policy.md", body=text.encode(), content_type="text/markdown",
                              at=1000.0 + i, origin="import", source_ref=f"{i:040d}")
                outs.append(check_capture(s, row, DOC, cap))
        assert [o.state for o in outs] == ["new", "unchanged", "changed", "failed"]
        assert outs[1].verdict == "same-text" and outs[2].tags == ["ai-training"] and outs[3].reason == "blocked"
        refs = s.conn.execute("SELECT source, source_ref FROM versions ORDER BY number").fetchall()
        assert refs == [("import", f"{0:040d}"), ("import", f"{2:040d}")]
        assert s.conn.execute("SELECT COUNT(*) FROM checks").fetchone()[0] == 0  # a commit is its own record


def test_analyse_is_diff_then_tags() -> None:
    from tracker.text.html import extract_html

    old = extract_html(page(SHARING)).clauses
    new = extract_html(page(SHARING, FACES)).clauses
    diff = analyse(old, new, "en")
    assert [c.kind for c in diff.significant] == ["added"] and diff.tags() == ["biometrics"]
