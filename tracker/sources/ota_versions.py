"""Import the history of an Open Terms Archive versions repository (a local git clone).

Such a repository holds ``<Service>/<Terms type>.md`` files, one commit per recorded change, the
commit date being the date OTA fetched the page. Each commit's text becomes a version dated by its
commit, under the same rules as ``check``: an identical text or a diff with no significant change
stores nothing, a bot wall or a truncated page is refused; otherwise the clause diff and the tags
are stored as a change dated by the commit.

Why it is built this way:
- ``git`` itself reads the repository: one ``git log --raw`` pass lists every (commit, file, blob)
  and one long-lived ``git cat-file --batch`` reads the blobs. No process per commit.
- Markdown parsing is the costly part, it is pure and independent of the database, so it runs in a
  process pool over a bounded window; decisions (which need the previous *stored* version) and
  every write stay in this process, in batched transactions with one savepoint per commit.
- Every processed commit is remembered per document (``imported_commits``), so a re-run, or a run
  after ``git pull``, only looks at new commits. Commits older than a document's latest stored
  version are skipped: versions are numbered in time order and history cannot go before them.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tracker.capture import guard
from tracker.errors import TrackerError
from tracker.models import Clause, Document, Extracted
from tracker.store.database import Store, sha256

BATCH_ITEMS = 200  # commits per transaction
BATCH_SECONDS = 2.0  # ...or this long, whichever comes first
WINDOW_PER_JOB = 8  # extraction jobs in flight per worker process


# --------------------------------------------------------------------------- reading the repository


@dataclass(frozen=True)
class FileCommit:
    """One commit touching one ``<Service>/<Type>.md`` file."""

    commit: str
    at: float  # author date (unix): OTA's fetch date
    path: str
    blob: str | None  # None when the commit deleted the file
    seq: int  # position in git's output, to break date ties

    @property
    def service(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def type(self) -> str:
        return self.path.split("/", 1)[1][: -len(".md")]


def _git(repo: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
                              capture_output=True, check=False, **kw)
    except FileNotFoundError:
        raise TrackerError("git is not installed (needed to read a versions repository)") from None


def check_repo(repo: Path) -> Path:
    """The top folder of the git work tree at ``repo``; a one-line error when it is not one."""
    if not repo.is_dir():
        raise TrackerError(f"{repo}: no such folder")
    p = _git(repo, "rev-parse", "--show-toplevel")
    if p.returncode != 0:
        raise TrackerError(f"{repo}: not a git repository (clone an Open Terms Archive versions repository)")
    top = Path(p.stdout.decode("utf-8", "replace").strip())
    if _git(repo, "rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        raise TrackerError(f"{repo}: the repository has no commits")
    return top


def _glob_escape(s: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in s)


def pathspecs(service: str | None, type_: str | None) -> list[str]:
    """git pathspecs for the files to read (a first cut; exact matching is done in Python)."""
    svc = _glob_escape(service) if service else "*"
    typ = _glob_escape(type_) if type_ else "*"
    return [f":(glob,icase){svc}/{typ}.md"]


def parse_log(out: bytes) -> list[FileCommit]:
    """Parse ``git log -z --raw --no-abbrev --format=%x1e%H%x1f%at`` output."""
    items: list[FileCommit] = []
    seq = 0
    for chunk in out.split(b"\x1e"):
        if not chunk.strip():
            continue
        header, _, rest = chunk.partition(b"\0")
        fields = header.decode("ascii", "replace").split("\x1f")
        commit, at = fields[0].strip(), float(fields[1])
        tokens = rest.lstrip(b"\n").split(b"\0")
        i = 0
        while i + 1 < len(tokens):
            meta, path = tokens[i].decode("ascii", "replace"), tokens[i + 1].decode("utf-8", "surrogateescape")
            i += 2
            if not meta.startswith(":"):
                continue
            parts = meta[1:].split()
            if len(parts) < 5:
                continue
            status, new_blob = parts[4][:1], parts[3]
            if path.count("/") != 1 or not path.endswith(".md") or path.startswith("."):
                continue
            items.append(FileCommit(commit=commit, at=at, path=path,
                                    blob=None if status == "D" or set(new_blob) == {"0"} else new_blob, seq=seq))
            seq += 1
    return items


def read_log(repo: Path, service: str | None = None, type_: str | None = None) -> list[FileCommit]:
    """Every (commit, file) of the repository's ``<Service>/<Type>.md`` files, in git's order."""
    p = _git(repo, "log", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z",
             "--format=%x1e%H%x1f%at", "--", *pathspecs(service, type_))
    if p.returncode != 0:
        raise TrackerError(f"{repo}: git log failed: {p.stderr.decode('utf-8', 'replace').strip()[:200]}")
    return parse_log(p.stdout)


class BlobReader:
    """One ``git cat-file --batch`` process answering blob requests, one at a time (no pipe deadlock)."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, blob: str) -> bytes | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(blob.encode("ascii") + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- matching documents


def _same(a: str, b: str) -> bool:
    from tracker.sources.declarations import slugify

    return a.casefold() == b.casefold() or slugify(a) == slugify(b)


def match_document(service: str, type_: str, declared: Iterable[Document]) -> Document | None:
    """The declared document for a repository file, by service name (case/slug) and type."""
    for d in declared:
        if _same(d.service, service) and d.type.casefold() == type_.casefold():
            return d
    return None


def wanted(fc: FileCommit, service: str | None, type_: str | None) -> bool:
    return (service is None or _same(fc.service, service)) and (type_ is None or _same(fc.type, type_))


# --------------------------------------------------------------------------- the import


@dataclass
class ImportSummary:
    """What an import did; printed by ``import-versions``."""

    files: int = 0
    commits: int = 0  # (commit, file) pairs looked at
    documents_created: list[str] = field(default_factory=list)
    versions: int = 0
    changes: int = 0
    already: int = 0  # imported by an earlier run
    same_text: int = 0
    insignificant: int = 0
    refused: int = 0  # bot wall, empty, truncated page
    older: int = 0  # older than the document's latest stored version
    deleted: int = 0
    failed: int = 0
    tags: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def line(self) -> str:
        rate = self.commits / self.seconds if self.seconds else 0.0
        skipped = (f"{self.same_text} same text, {self.insignificant} insignificant, {self.refused} refused, "
                   f"{self.already} already imported, {self.older} older than stored versions")
        return (f"{self.files} file(s), {self.commits} commit(s) in {self.seconds:.1f}s ({rate:.0f}/s): "
                f"{self.versions} version(s), {self.changes} change(s); skipped {skipped}"
                + (f"; {self.failed} failed" if self.failed else ""))


def _extract(text: str) -> Extracted:
    from tracker.text.markdown import extract_markdown

    return extract_markdown(text)


def _ordered_map(fn: Callable, items: Iterable[tuple[object, str]], pool: Executor | None,
                 window: int) -> Iterator[tuple[object, object]]:
    """(key, fn(text)) in order, over a bounded window of futures (``Executor.map`` submits everything)."""
    if pool is None:
        for key, text in items:
            yield key, fn(text)
        return
    pending: deque[tuple[object, Future]] = deque()
    for key, text in items:
        pending.append((key, pool.submit(fn, text)))
        if len(pending) >= window:
            k, fut = pending.popleft()
            yield k, fut.result()
    while pending:
        k, fut = pending.popleft()
        yield k, fut.result()


@dataclass
class _DocState:
    """The latest stored version of one document, kept in memory between commits."""

    id: int
    lang: str | None
    number: int = 0
    text_sha: str = ""
    length: int = 0
    at: float = 0.0
    clauses: list[Clause] = field(default_factory=list)
    done: set[str] = field(default_factory=set)


def import_versions(store: Store, repo: Path | str, *, declared: list[Document] = (), service: str | None = None,
                    type_: str | None = None, jobs: int | None = None,
                    progress: Callable[[int, int, str], None] | None = None) -> ImportSummary:
    """Import every new commit of the repository's ``<Service>/<Type>.md`` files into ``store``.

    ``progress(done, total, label)`` is called as commits are processed."""
    from tracker.pipeline import analyse

    started = time.monotonic()
    top = check_repo(Path(repo))
    summary = ImportSummary()
    log = [fc for fc in read_log(top, service, type_) if wanted(fc, service, type_)]
    by_path: dict[str, list[FileCommit]] = defaultdict(list)
    for fc in log:
        by_path[fc.path].append(fc)
    summary.files = len(by_path)
    if not by_path:
        summary.notes.append("no <Service>/<Type>.md file matched" + (" the filters" if service or type_ else ""))
        summary.seconds = time.monotonic() - started
        return summary

    # Documents: the declared one when there is one, else a stored one, else a new row whose URL
    # notes where the history came from (the store accepts any string; declarations need http(s)).
    states: dict[str, _DocState] = {}
    with store.transaction():
        stored = store.documents()
        for path in sorted(by_path):
            fc = by_path[path][0]
            doc = match_document(fc.service, fc.type, declared)
            if doc is not None:
                row = store.ensure_document(doc)
            else:
                row = store.document(fc.service, fc.type) or next(
                    (r for r in stored if _same(r.service, fc.service) and r.type.casefold() == fc.type.casefold()),
                    None)
                if row is None:
                    row = store.ensure_document(Document(service=fc.service, type=fc.type, url=str(top / path)))
                    summary.documents_created.append(f"{fc.service} / {fc.type}")
            st = _DocState(id=row.id, lang=doc.lang if doc else row.lang)
            latest = store.latest_version(row.id)
            if latest is not None:
                at = store.conn.execute("SELECT recorded_at FROM versions WHERE id=?", (latest.id,)).fetchone()[0]
                st.number, st.text_sha, st.length, st.at = latest.number, latest.sha256, len(latest.text), at
                st.clauses = latest.clauses
            st.done = {r[0] for r in store.conn.execute(
                "SELECT commit_sha FROM imported_commits WHERE document_id=?", (row.id,))}
            states[path] = st

    # The plan: per file, commits in date order; already-imported ones and repeated blobs need no work.
    plan: list[tuple[FileCommit, str]] = []  # (commit, why it needs no extraction or "")
    for path in sorted(by_path):
        commits = sorted(by_path[path], key=lambda f: (f.at, f.seq))
        st, last_blob = states[path], None
        for fc in commits:
            summary.commits += 1
            if fc.commit in st.done:
                summary.already += 1
            elif fc.blob is None:
                plan.append((fc, "deleted"))
            elif fc.at < st.at:
                plan.append((fc, "older"))
            elif fc.blob == last_blob:
                plan.append((fc, "same-text"))
            else:
                plan.append((fc, ""))
            last_blob = fc.blob
    total = len(plan)
    jobs = max(1, jobs if jobs is not None else min(4, os.cpu_count() or 1))

    with BlobReader(top) as blobs:

        def texts() -> Iterator[tuple[tuple[FileCommit, str], str]]:
            for fc, why in plan:
                if why:
                    continue
                data = blobs.read(fc.blob or "")
                yield (fc, "") if data is not None else (fc, "missing"), (data or b"").decode("utf-8", "replace")

        pool = None
        if jobs > 1 and total > 20:
            # forkserver, not fork: the parent has a database connection and a progress thread.
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["tracker.text.markdown"])
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
        extracted_iter = _ordered_map(_extract, texts(), pool, window=jobs * WINDOW_PER_JOB)
        try:
            _apply(store, plan, extracted_iter, states, summary, analyse, progress)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    summary.seconds = time.monotonic() - started
    return summary


def _apply(store: Store, plan: list, extracted_iter: Iterator, states: dict[str, _DocState],
           summary: ImportSummary, analyse: Callable, progress: Callable | None) -> None:
    """Walk the plan in order, taking extraction results as they come, and write in batches."""
    total, done = len(plan), 0
    batch_started, in_batch = time.monotonic(), 0
    store.conn.execute("BEGIN IMMEDIATE")
    try:
        for fc, why in plan:
            st = states[fc.path]
            extracted: Extracted | None = None
            if not why:
                (fc2, why), extracted = next(extracted_iter)
                assert fc2 is fc
            try:
                store.conn.execute("SAVEPOINT c")
                outcome = why or _one(store, fc, extracted, st, summary, analyse)
                if outcome == "missing":
                    outcome = "failed"
                if outcome != "failed":
                    store.conn.execute("INSERT OR IGNORE INTO imported_commits (document_id, commit_sha, outcome) "
                                       "VALUES (?, ?, ?)", (st.id, fc.commit, outcome))
                store.conn.execute("RELEASE c")
            except Exception as e:  # a bug on one commit must not lose the others
                store.conn.execute("ROLLBACK TO c")
                store.conn.execute("RELEASE c")
                outcome = "failed"
                if len(summary.notes) < 20:
                    summary.notes.append(f"{fc.path} @ {fc.commit[:10]}: {type(e).__name__}: {e}")
            _count(summary, outcome)
            done += 1
            in_batch += 1
            if in_batch >= BATCH_ITEMS or time.monotonic() - batch_started > BATCH_SECONDS:
                store.conn.execute("COMMIT")
                store.conn.execute("BEGIN IMMEDIATE")
                batch_started, in_batch = time.monotonic(), 0
            if progress:
                progress(done, total, fc.path[:-3])
    except BaseException:
        store.conn.execute("ROLLBACK")
        raise
    store.conn.execute("COMMIT")


def _count(summary: ImportSummary, outcome: str) -> None:
    attr = {"same-text": "same_text", "insignificant": "insignificant", "refused": "refused", "older": "older",
            "deleted": "deleted", "failed": "failed"}.get(outcome)
    if attr:
        setattr(summary, attr, getattr(summary, attr) + 1)


def _one(store: Store, fc: FileCommit, extracted: Extracted | None, st: _DocState, summary: ImportSummary,
         analyse: Callable) -> str:
    """Decide and store one commit's text, like ``commit_prepared`` does for a fetched page."""
    assert extracted is not None
    text = extracted.text
    if not extracted.clauses or not text.strip():
        return "refused"
    if guard.blocked_reason(text, extracted.title) or guard.too_short(len(text), st.length):
        return "refused"
    digest = sha256(text)
    if st.number and digest == st.text_sha:
        return "same-text"
    lang = st.lang or extracted.lang
    diff = None
    if st.number:
        diff = analyse(st.clauses, extracted.clauses, lang)
        if not diff.significant:
            return "insignificant"
    version = store.add_version(st.id, text=text, clauses=extracted.clauses, recorded_at=fc.at, lang=lang,
                                source="import")
    store.conn.execute("UPDATE versions SET source_ref=? WHERE id=?", (fc.commit, version.id))
    summary.versions += 1
    if diff is not None:
        store.add_change(st.id, st.number, version.number, diff, detected_at=fc.at)
        summary.changes += 1
        for tag in diff.tags():
            summary.tags[tag] = summary.tags.get(tag, 0) + 1
    st.number, st.text_sha, st.length, st.at, st.clauses = version.number, digest, len(text), fc.at, extracted.clauses
    return "stored"
