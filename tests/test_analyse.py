"""Changed pages are diffed where they are extracted (fetch thread or worker child), against the
version stored when they were fetched; the writer uses that diff only if it is still the latest."""

from __future__ import annotations

import pickle

import pytest
from pages import policy_html

from tracker.analyse import Base, analyse, extract_analysed
from tracker.models import Document, FetchResult
from tracker.pipeline import commit_prepared, prepare
from tracker.store.database import Store, now_ts
from tracker.worker import Workers

DOC = Document(service="Example", type="Privacy Policy", url="https://example.com/privacy", select=("main",))
SHARING = "We share your contact details with our partners for marketing."
TRAINING = "We use the content you post to train our artificial intelligence models."
FACES = "We collect face geometry from your photos to verify your identity."


def page(*extra: str) -> bytes:
    return policy_html({"What we collect": ["Your name and e-mail address.", *extra],
                        "Your choices": ["You can delete your account at any time."]}).encode()


def fetched(body: bytes) -> FetchResult:
    return FetchResult(url=DOC.url, ok=True, status=200, body=body, content_type="text/html; charset=utf-8")


def check(store: Store, body: bytes, base=None, offload=None):
    row = store.ensure_documents([DOC])[DOC.key]
    p = prepare(DOC, row, fetched(body), offload, base)
    with store.transaction():
        return p, commit_prepared(store, p, now_ts())


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        check(s, page(SHARING))
        yield s


def stored_change(store: Store) -> tuple:
    return store.conn.execute("SELECT from_version, to_version, diff FROM changes ORDER BY id DESC").fetchone()


def test_the_diff_made_with_the_page_is_the_one_stored(store: Store, tmp_path) -> None:
    reader = store.base_reader()
    try:
        p, out = check(store, page(SHARING, TRAINING), base=reader)
    finally:
        reader.close()
    assert p.analysed is not None and p.analysed.number == 1
    assert out.state == "changed" and out.tags == ["ai-training"]
    # the same check without a reader diffs in the writer: the same stored change
    with Store(tmp_path / "other.db") as other:
        check(other, page(SHARING))
        q, again = check(other, page(SHARING, TRAINING))
        assert q.analysed is None and again.tags == out.tags
        assert stored_change(other)[2] == stored_change(store)[2]


def test_a_version_stored_in_between_is_diffed_against_instead(store: Store) -> None:
    reader = store.base_reader()
    try:
        row = store.ensure_documents([DOC])[DOC.key]
        late = prepare(DOC, row, fetched(page(SHARING, TRAINING, FACES)), None, reader)  # analysed against v1
        assert late.analysed is not None and late.analysed.number == 1
        check(store, page(SHARING, TRAINING))  # another check stores v2 meanwhile
        with store.transaction():
            out = commit_prepared(store, late, now_ts())
    finally:
        reader.close()
    frm, to, _ = stored_change(store)
    assert (frm, to) == (2, 3) and out.state == "changed"
    assert out.tags == ["biometrics"]  # only the face clause is new against v2; against v1 it would add ai-training


def test_a_reader_sees_only_committed_versions(store: Store) -> None:
    reader = store.base_reader()
    try:
        row = store.ensure_documents([DOC])[DOC.key]
        p = prepare(DOC, row, fetched(page(SHARING, FACES)))
        with store.transaction():
            commit_prepared(store, p, now_ts())
            assert reader(row.id).number == 1  # v2 is not committed yet
        assert reader(row.id).number == 2
        assert reader(row.id + 1) is None
    finally:
        reader.close()


def test_a_child_analyses_exactly_as_this_process(store: Store) -> None:
    row = store.ensure_documents([DOC])[DOC.key]
    blob, sha = store.conn.execute("SELECT clauses, sha256 FROM versions WHERE document_id=?", (row.id,)).fetchone()
    args = (DOC, page(SHARING, TRAINING, FACES), "utf-8", "text/html", DOC.url, None, 0, Base(1, sha, blob))
    here = extract_analysed(*args)
    w = Workers(1, start_after=0)
    try:
        there = w.run(extract_analysed, *args)
        assert w.remote == 1
    finally:
        w.close()
    assert there[4] == here[4] and there[3] == here[3]
    assert pickle.loads(pickle.dumps(there[4])).diff.tags() == ["ai-training", "biometrics"]
    # an analysis that fails (here: unreadable stored clauses) leaves the extraction alone; the
    # writer analyses again and records the failure as its own
    broken = extract_analysed(*args[:7], Base(1, sha, b"not a clauses blob"))
    assert broken[:4] == here[:4] and broken[4] is None
    # the same text as the base: nothing to analyse
    same = extract_analysed(*args[:7], Base(1, here[3].sha256, blob))
    assert same[4] is None and same[3] == here[3]


def test_analyse_is_diff_then_tags() -> None:
    from tracker.text.html import extract_html

    old = extract_html(page(SHARING)).clauses
    new = extract_html(page(SHARING, FACES)).clauses
    diff = analyse(old, new, "en")
    assert [c.kind for c in diff.significant] == ["added"] and diff.tags() == ["biometrics"]


def test_no_reader_without_a_database_file(tmp_path) -> None:
    with Store(tmp_path / "t.db") as s:
        reader = s.base_reader()
        assert reader is not None
        reader.close()
        (tmp_path / "t.db").unlink()
        assert s.base_reader() is None  # the check then diffs in the writer, as before
