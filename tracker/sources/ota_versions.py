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
- A commit that failed is named (a capture note per commit) and retried by the next run: what was
  imported after it is undone and imported again in order, so a failure never freezes a document.
- OTA's technical commits ("Apply technical or declaration upgrade", "Refilter") re-extract the same
  page: their text re-baselines the document without change events.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from tracker.check import check_capture, settle_held
from tracker.errors import TrackerError
from tracker.models import Clause, Document
from tracker.page import Capture, Page, read_page
from tracker.pool import Pool
from tracker.sources.ota_urls import archive_file_url
from tracker.store.database import Store
from tracker.store.records import DocumentRow, VersionHead

BATCH_ITEMS = 200  # commits per transaction
BATCH_SECONDS = 2.0  # ...or this long, whichever comes first
WINDOW_PER_JOB = 8  # extraction jobs in flight per worker process
# Subjects of OTA's commits that re-extract an unchanged page (a selector or engine upgrade).
TECHNICAL_SUBJECTS = ("Apply technical or declaration upgrade", "Refilter")


# --------------------------------------------------------------------------- reading the repository


@dataclass(frozen=True)
class FileCommit:
    """One commit touching one ``<Service>/<Type>.md`` file."""

    commit: str
    at: float  # author date (unix): OTA's fetch date
    path: str
    blob: str | None  # None when the commit deleted the file
    seq: int  # position in git's output, to break date ties
    subject: str = ""  # the commit message's first line

    @property
    def technical(self) -> bool:
        """An OTA technical commit: the same page re-extracted, not a new capture of the policy."""
        return self.subject.startswith(TECHNICAL_SUBJECTS)

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
    """Parse ``git log -z --raw --no-abbrev --format=%x1e%H%x1f%at%x1f%s`` output."""
    items: list[FileCommit] = []
    seq = 0
    for chunk in out.split(b"\x1e"):
        if not chunk.strip():
            continue
        header, _, rest = chunk.partition(b"\0")
        fields = header.decode("utf-8", "replace").split("\x1f")
        commit, at = fields[0].strip(), float(fields[1])
        subject = fields[2].strip() if len(fields) > 2 else ""
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
                                    blob=None if status == "D" or set(new_blob) == {"0"} else new_blob, seq=seq,
                                    subject=subject))
            seq += 1
    return items


def read_log(repo: Path, service: str | None = None, type_: str | None = None) -> list[FileCommit]:
    """Every (commit, file) of the repository's ``<Service>/<Type>.md`` files, in git's order."""
    p = _git(repo, "log", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z",
             "--format=%x1e%H%x1f%at%x1f%s", "--", *pathspecs(service, type_))
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


def _origin_web_url(top: Path) -> str | None:
    """The web URL of the clone's ``origin`` remote, when it is on a forge (else None: a bundle, a path)."""
    from tracker.sources.ota_urls import archive_web_url

    try:
        r = subprocess.run(["git", "-C", str(top), "remote", "get-url", "origin"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return archive_web_url(r.stdout.strip()) if r.returncode == 0 else None


def match_document(service: str, type_: str, declared: Iterable[Document]) -> Document | None:
    """The declared document for a repository file, by service name (case/slug) and type; a former
    name in the declaration's ``aliases`` ("Twitter" for X) matches too."""
    declared = list(declared)
    for d in declared:
        if _same(d.service, service) and d.type.casefold() == type_.casefold():
            return d
    for d in declared:
        if any(_same(a, service) for a in d.aliases) and d.type.casefold() == type_.casefold():
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
    retried: int = 0  # failed commits of an earlier run imported again
    captures: dict[str, int] = field(default_factory=dict)  # reverted, rebaselined, held, confirmed, accepted
    failures: dict[str, list[str]] = field(default_factory=dict)  # document -> every failed commit, with why
    tags: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def line(self) -> str:
        rate = self.commits / self.seconds if self.seconds else 0.0
        skipped = (f"{self.same_text} same text, {self.insignificant} insignificant, {self.refused} refused, "
                   f"{self.already} already imported, {self.older} older than stored versions")
        captures = ", ".join(f"{n} {k}" for k, n in sorted(self.captures.items()))
        return (f"{self.files} file(s), {self.commits} commit(s) in {self.seconds:.1f}s ({rate:.0f}/s): "
                f"{self.versions} version(s), {self.changes} change(s); skipped {skipped}"
                + (f"; captures: {captures}" if captures else "")
                + (f"; {self.retried} failed before, retried" if self.retried else "")
                + (f"; {self.failed} failed" if self.failed else ""))


@dataclass
class _DocState:
    """One document during an import: its declaration, the commits already imported, and the
    clauses of its latest stored version (kept at hand between commits instead of decoded again)."""

    id: int
    document: Document
    at: float = 0.0  # when its latest stored version was recorded
    done: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # commits that failed before: retried now
    clauses: tuple[str, list[Clause]] | None = None  # (text sha256, clauses) of the latest version

    def clauses_of(self, head: VersionHead, store: Store) -> list[Clause]:
        if self.clauses is None or self.clauses[0] != head.sha256:
            self.clauses = (head.sha256, store.version_clauses(head.id))
        return self.clauses[1]


def import_versions(store: Store, repo: Path | str, *, declared: Iterable[Document] = (), service: str | None = None,
                    type_: str | None = None, jobs: int | None = None,
                    progress: Callable[[int, int, str], None] | None = None,
                    archive_url: str | None = None) -> ImportSummary:
    """Import every new commit of the repository's ``<Service>/<Type>.md`` files into ``store``.

    Each commit's text is a capture judged by :func:`tracker.check.check_capture`, as a fetched page
    is. ``progress(done, total, label)`` is called as commits are processed. ``archive_url``: the web
    URL of the repository (default: its ``origin`` remote when that is on GitHub, GitLab or Codeberg),
    so that a document the import creates names its file there rather than in the local clone, and
    each imported version links to the file at its commit (``tracker.publish.sources``)."""
    started = time.monotonic()
    top = check_repo(Path(repo))
    declared = list(declared)
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
            row: DocumentRow | None
            if doc is not None:
                row = store.ensure_document(doc)
            else:
                row = store.document(fc.service, fc.type) or next(
                    (r for r in stored if _same(r.service, fc.service) and r.type.casefold() == fc.type.casefold()),
                    None)
                if row is None:
                    archive = archive_url or _origin_web_url(top)
                    url = archive_file_url(archive, path) if archive else str(top / path)
                    row = store.ensure_document(Document(service=fc.service, type=fc.type, url=url))
                    summary.documents_created.append(f"{fc.service} / {fc.type}")
                doc = Document(service=row.service, type=row.type, url=row.url, lang=row.lang)
            states[path] = _DocState(id=row.id, document=doc, at=store.latest_recorded_at(row.id) or 0.0,
                                     done=store.imported_commits(row.id), failed=store.failed_commits(row.id))
            _rewind_to_failed(store, states[path], by_path[path], summary)

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

    with BlobReader(top) as blobs, Pool(jobs if jobs > 1 and total > 20 else 0) as pool:

        def pages() -> Iterator[tuple[FileCommit, Capture | None, Future[Page] | None]]:
            """Captures of the commits that need extracting, with their extraction under way."""
            for fc, why in plan:
                if why:
                    continue
                data = blobs.read(fc.blob or "")
                if data is None:
                    yield fc, None, None
                    continue
                capture = Capture(url=f"{fc.path}", body=data, content_type="text/markdown", at=fc.at,
                                  origin="import", source_ref=fc.commit,
                                  rebaseline="technical commit" if fc.technical else None)
                yield fc, capture, pool.submit(read_page, states[fc.path].document, capture, 0)

        _apply(store, plan, _windowed(pages(), jobs * WINDOW_PER_JOB), states, summary, progress)
    _settle(store, top, by_path, states, summary)
    summary.seconds = time.monotonic() - started
    return summary


def _rewind_to_failed(store: Store, st: _DocState, commits: list[FileCommit], summary: ImportSummary) -> None:
    """Before planning: commits that failed in an earlier run are retried in their place. What was
    imported after the first of them is undone (versions, changes, marks) and imported again in order;
    when checks stored versions after it, history cannot be rewritten and the note says so."""
    failed = [fc for fc in commits if fc.commit in st.failed]
    if not failed:
        return
    order = sorted(commits, key=lambda f: (f.at, f.seq))
    first = min(failed, key=lambda f: (f.at, f.seq))
    later = {fc.commit for fc in order[order.index(first) + 1:] if fc.commit in st.done}
    label = f"{first.service} / {first.type}"
    if store.rewind_import(st.id, later) is None:
        for fc in failed:
            store.resolve_failed_commit(st.id, fc.commit)
        summary.notes.append(f"{label}: {len(failed)} failed commit(s) cannot be retried: checked versions "
                             "were stored after them")
        return
    st.done -= later
    st.at = store.latest_recorded_at(st.id) or 0.0
    st.clauses = None
    summary.retried += len(failed)


def _settle(store: Store, top: Path, by_path: dict[str, list[FileCommit]], states: dict[str, _DocState],
            summary: ImportSummary) -> None:
    """After the last commit: a capture still held that the archive kept since (its file exists and
    no commit changed it for days) is confirmed by the archive's own captures in between."""
    p = _git(top, "log", "-1", "--format=%ct")
    try:
        present = float(p.stdout.decode("ascii", "replace").strip())
    except ValueError:
        return
    with store.transaction():
        for path, st in states.items():
            last = max(by_path[path], key=lambda f: (f.at, f.seq))
            if last.blob is None:
                continue
            try:
                with store.savepoint():
                    out = settle_held(store, store.document_row(st.id), st.document, present)
            except Exception as e:  # noqa: BLE001 - a bug on one document must not lose the others
                summary.notes.append(f"{path}: settling its held capture failed: {type(e).__name__}: {e}")
                continue
            if out is not None:
                summary.versions += 1
                summary.captures["confirmed"] = summary.captures.get("confirmed", 0) + 1


def _windowed(items: Iterator, window: int) -> Iterator:
    """The items of ``items`` in order, pulling up to ``window`` ahead (their extraction runs meanwhile)."""
    pending: deque = deque()
    for item in items:
        pending.append(item)
        if len(pending) >= window:
            yield pending.popleft()
    yield from pending


def _apply(store: Store, plan: list, pages: Iterator, states: dict[str, _DocState], summary: ImportSummary,
           progress: Callable | None) -> None:
    """Walk the plan in order, taking extraction results as they come, and write in batches."""
    total, done = len(plan), 0
    batch_started, in_batch = time.monotonic(), 0
    with store.transaction():
        for fc, why in plan:
            st = states[fc.path]
            capture = page = None
            if not why:
                fc2, capture, fut = next(pages)
                assert fc2 is fc
                why = "" if capture is not None else "missing"
            try:
                with store.savepoint():
                    if why:
                        outcome = why
                    else:
                        page = fut.result()
                        assert capture is not None  # "missing" above otherwise
                        outcome = _one(store, capture, page, st, summary)
                    if outcome == "missing":
                        outcome = "failed"
                        store.mark_import_failed(st.id, fc.commit, fc.at, "the commit's text could not be read")
                        summary.failures.setdefault(fc.path[:-3], []).append(f"{fc.commit[:10]}: unreadable")
                    if outcome != "failed":
                        store.mark_imported(st.id, fc.commit, outcome)
                    if outcome != "failed" and fc.commit in st.failed:
                        store.resolve_failed_commit(st.id, fc.commit)
            except Exception as e:  # noqa: BLE001 - a bug on one commit must not lose the others
                outcome = "failed"
                why = f"{type(e).__name__}: {e}"[:300]
                store.mark_import_failed(st.id, fc.commit, fc.at, why)
                summary.notes.append(f"{fc.path} @ {fc.commit[:10]}: {why} (retried by the next import)")
                summary.failures.setdefault(fc.path[:-3], []).append(f"{fc.commit[:10]}: {why}")
            _count(summary, outcome)
            done += 1
            in_batch += 1
            if in_batch >= BATCH_ITEMS or time.monotonic() - batch_started > BATCH_SECONDS:
                store.commit_and_continue()
                batch_started, in_batch = time.monotonic(), 0
            if progress:
                progress(done, total, fc.path[:-3])


def _count(summary: ImportSummary, outcome: str) -> None:
    attr = {"same-text": "same_text", "insignificant": "insignificant", "refused": "refused", "older": "older",
            "deleted": "deleted", "failed": "failed"}.get(outcome)
    if attr:
        setattr(summary, attr, getattr(summary, attr) + 1)


def _one(store: Store, capture: Capture, page: Page, st: _DocState, summary: ImportSummary) -> str:
    """One commit's text through the check step; the import's name for what it came to."""
    row = store.document_row(st.id)
    out = check_capture(store, row, st.document, capture, page=page,
                        clauses_of=lambda head: st.clauses_of(head, store))
    if out.verdict in ("reverted", "rebaselined", "edition", "held", "confirmed", "accepted"):
        summary.captures[out.verdict] = summary.captures.get(out.verdict, 0) + 1
    if out.state == "failed":
        return "refused"
    if out.state == "unchanged":
        return out.verdict or "same-text"
    summary.versions += 1
    st.at = capture.at
    if page.packed is not None:
        st.clauses = (page.packed.sha256, page.clauses)
    if out.state == "changed" and out.significant:
        summary.changes += 1
        for tag in out.tags:
            summary.tags[tag] = summary.tags.get(tag, 0) + 1
    return "stored"
