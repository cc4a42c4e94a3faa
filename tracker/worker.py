"""Page extraction in helper processes: the CPU-heavy part of a check, on the machine's other cores.

Fetching is I/O and runs in threads, but turning a page into clauses is pure Python and holds the
GIL, so on its own a big cycle (the first check of a registry) uses one core. Here a few child
processes (``python -m tracker.worker``) extract and pack pages, and diff changed ones, for the
fetch threads. ``check`` starts them before its own heavy imports (see ``early_workers``); a cycle
also starts them at once when it has many first checks, or after ``start_after`` pages were
extracted in-process. A page waits up to ``PATIENCE`` for a free child (keeping this process free to
fetch and store), then is extracted here: nobody stalls.

Children started together are one ``python -m tracker.worker`` that forks the others after its
imports (on Linux): one interpreter start-up instead of several, on a CPU-bound first run.
Each child imports only the extraction modules, and the diff and tag stages when pages will be
diffed (lxml and rapidfuzz; no HTTP library, no database): 20 to 30 MB. Requests and answers are
pickled frames on the child's stdin/stdout (the child is ours; nothing else is ever unpickled). A
child that dies or fails is replaced by in-process work: the same function runs again here, so a
check gets exactly the result (or exception) it would have had.
"""

from __future__ import annotations

import functools
import os
import pickle
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_HEADER = struct.Struct(">I")
PATIENCE = 0.2  # seconds a page waits for a busy child before it is extracted in-process


# What a child may be asked to run, by name (functions are not pickled by value). Checked by name in
# the parent, which need not import the extraction modules at all when the children do the work.
ALLOWED = {"extract_checked": "tracker.text.page", "extract_packed": "tracker.text.page",
           "extract_analysed": "tracker.analyse"}


@functools.cache
def _allowed() -> dict[str, Callable]:
    """The child's table of ``ALLOWED`` functions."""
    from tracker.analyse import extract_analysed
    from tracker.text.page import extract_checked, extract_packed

    return {"extract_checked": extract_checked, "extract_packed": extract_packed, "extract_analysed": extract_analysed}


class WorkerGone(Exception):
    """The child process is gone (killed, out of memory, closed pipe)."""


def _write(stream, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream) -> object:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


def _can_fork() -> bool:
    """Whether a child may fork its siblings: Linux only (fork after imports is safe there)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class _Child:
    """One ``python -m tracker.worker`` process, used by one thread at a time.

    ``siblings``: that many more workers, forked by this child once its imports are done (a fork
    costs a few milliseconds where starting an interpreter and importing costs 0.1 s of CPU). Each
    talks to this process over a pipe pair made here; see :meth:`siblings`.
    """

    def __init__(self, analyse: bool = False, siblings: int = 0) -> None:
        if not sys.executable:  # embedded interpreters: no python to start (the caller stays in-process)
            raise OSError("no Python executable to start a worker process")
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)  # importable even when not installed
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        import subprocess  # here, not at the top: the child imports this module and never starts processes

        argv = [sys.executable, "-m", "tracker.worker"] + (["--analyse"] if analyse else [])
        ends: list[tuple[int, int]] = []  # this process's (request writer, answer reader) per sibling
        theirs: list[int] = []
        try:
            for _ in range(siblings):
                req_r, req_w = os.pipe()
                ans_r, ans_w = os.pipe()
                ends.append((req_w, ans_r))
                theirs += [req_r, ans_w]
            if theirs:
                argv += ["--fork", ",".join(f"{theirs[i]}:{theirs[i + 1]}" for i in range(0, len(theirs), 2))]
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=env, close_fds=True, pass_fds=theirs)
        except BaseException:
            for fd in theirs + [fd for pair in ends for fd in pair]:
                os.close(fd)
            raise
        for fd in theirs:
            os.close(fd)
        self._ends = ends

    def siblings(self) -> list[_Sibling]:
        """The workers this child forks, ready to be called (each answers once it exists)."""
        ends, self._ends = self._ends, []
        return [_Sibling(req_w, ans_r) for req_w, ans_r in ends]

    def call(self, name: str, args: tuple) -> tuple[bool, object]:
        """(True, result) or (False, None) when the function raised in the child."""
        try:
            _write(self.proc.stdin, (name, args))
            return _read(self.proc.stdout)  # type: ignore[return-value]
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
            raise WorkerGone(str(e)) from None

    def close(self) -> None:
        """End the child now. It holds nothing but imported modules (every answer has been read), so
        it is terminated rather than waited for: one still starting up would take its import time."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()

    def reap(self) -> None:
        import subprocess

        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Sibling:
    """A worker forked by a :class:`_Child`, on pipes this process made. The child that forked it
    reaps it, and ends it when it is itself terminated; closing the pipes ends it too (EOF)."""

    def __init__(self, req_w: int, ans_r: int) -> None:
        self.stdin = os.fdopen(req_w, "wb")
        self.stdout = os.fdopen(ans_r, "rb")
        self._pid: int | None = None

    @property
    def pid(self) -> int:
        """The sibling's process id, its first frame (waits until it has been forked)."""
        if self._pid is None:
            self._pid = _read(self.stdout)  # type: ignore[assignment]
        return self._pid  # type: ignore[return-value]

    def call(self, name: str, args: tuple) -> tuple[bool, object]:
        try:
            _write(self.stdin, (name, args))
            self.pid  # noqa: B018  (its frame comes before the answer)
            return _read(self.stdout)  # type: ignore[return-value]
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
            raise WorkerGone(str(e)) from None

    def close(self) -> None:
        """End of input: an idle sibling ends. One busy with a page is ended by the child that forked
        it, when that child is terminated (not by its pid here, which its reaping may free for reuse)."""
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def reap(self) -> None:
        pass


class Workers:
    """Up to ``processes`` children, started on demand; ``run`` waits at most ``patience`` for one."""

    def __init__(self, processes: int, start_after: int = 32, patience: float = PATIENCE,
                 analyse: bool = False) -> None:
        self.processes = max(0, processes)
        self.analyse = analyse  # children load the diff and tag stages at start (pages will be diffed)
        self.start_after = start_after
        self.patience = patience
        self.idle: list[_Child | _Sibling] = []
        self.children: list[_Child | _Sibling] = []
        self.local = 0  # pages extracted in-process
        self.remote = 0  # pages extracted by a child
        self.broken = False
        self._lock = threading.Condition()

    def run(self, fn: Callable[..., tuple], *args: object) -> tuple:
        """``fn(*args)`` in a child when one is free within ``patience`` seconds, else right here."""
        name = getattr(fn, "__name__", "")
        child = self._take() if ALLOWED.get(name, "") == getattr(fn, "__module__", None) else None
        if child is None:
            with self._lock:
                self.local += 1
            return fn(*args)
        try:
            ok, result = child.call(name, args)
        except WorkerGone:
            with self._lock:
                self.broken = True  # one death is enough: the rest of the cycle stays in-process
                self.children.remove(child)
                self._lock.notify_all()
            child.close()
            child.reap()
            return fn(*args)
        with self._lock:
            self.idle.append(child)
            self.remote += ok
            self._lock.notify()
        return result if ok else fn(*args)  # an exception: raise it here, exactly as in-process

    def warm(self) -> None:
        """Start every child now: the cycle is known to need many extractions (a first check)."""
        self.start(self.processes)
        self.start_after = 0

    def start(self, n: int) -> None:
        """Have ``n`` children (at most ``processes``) running now, ahead of the first page.

        A child takes about 0.1 s of CPU to import lxml and the extraction modules; started before
        this process imports the HTTP, database and feed libraries, that happens on another core.
        """
        with self._lock:
            while not self.broken and len(self.children) < min(n, self.processes):
                more = min(n, self.processes) - len(self.children) - 1
                try:
                    child = _Child(self.analyse, siblings=more if _can_fork() else 0)
                except OSError:
                    self.broken = True
                    break
                for worker in [child, *child.siblings()]:
                    self.children.append(worker)
                    self.idle.append(worker)

    def _take(self) -> _Child | _Sibling | None:
        with self._lock:
            if self.broken:
                return None
            # A started child is always used; a new one is started only past ``start_after`` pages.
            if not self.idle and len(self.children) < self.processes and self.local >= self.start_after:
                try:
                    child = _Child(self.analyse)
                except OSError:
                    self.broken = True
                    return None
                self.children.append(child)
                return child
            # A child is about to be free more often than not: waiting a little for it keeps this
            # process (fetching, storing) free, and past the patience both sides work.
            if not self.idle and self.children and self.patience > 0:
                self._lock.wait_for(lambda: self.idle or self.broken, timeout=self.patience)
            return self.idle.pop() if self.idle and not self.broken else None

    def close(self) -> None:
        with self._lock:
            children, self.children, self.idle = self.children, [], []
        for child in children:
            child.close()
        for child in children:
            child.reap()


def default_processes() -> int:
    """Two children on a multi-core machine, none on one core (20 to 30 MB each).

    The parent mostly waits on the network and the database, so two children keep two cores busy
    extracting; more would add memory for little on the small machines this runs on.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores >= 2 else 0


EARLY_START = 32  # declared documents from which ``early_workers`` starts a child before the cycle


def early_workers(documents: int, first_run: bool, processes: int | None = None) -> Workers | None:
    """A pool for a ``check`` of ``documents``, its children started now, before the cycle's imports.

    Real policy pages rarely come back byte-identical (nonces, tokens, rotating banners), so a watch
    list of ``EARLY_START`` or more documents extracts some pages in most cycles: one child is started
    at once, and it loads the diff and tag stages while this process is still starting (a changed page
    is diffed where it is extracted); every child when this is the first run (no database yet: every
    page is extracted, nothing diffed). A small watch list gets None (``run_cycle`` then starts
    children only if a cycle turns out big).
    """
    processes = default_processes() if processes is None else processes
    if not processes or documents < EARLY_START:
        return None
    pool = Workers(processes, analyse=not first_run)
    pool.start(processes if first_run else 1)
    return pool


_SIBLINGS: list[int] = []  # in a child: the workers it forked


def _fork_siblings(spec: str) -> None:
    """Fork one worker per "requests:answers" pipe pair (file descriptors given by the parent).

    A sibling takes its pair as stdin and stdout (nothing has been read or written on them yet),
    sends its process id, and returns to run the same loop. This process closes the pairs and, when
    it ends (end of input or terminated), ends the siblings and waits for them: their CPU time is
    then counted with its own, as a process's children's is.
    """
    import signal

    pairs = [tuple(int(fd) for fd in item.split(":")) for item in spec.split(",") if item]
    for req_r, ans_w in pairs:
        pid = os.fork()
        if pid == 0:
            _SIBLINGS.clear()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.dup2(req_r, 0)
            os.dup2(ans_w, 1)
            for fd in {fd for pair in pairs for fd in pair}:
                os.close(fd)
            data = pickle.dumps(os.getpid(), protocol=pickle.HIGHEST_PROTOCOL)
            os.write(1, _HEADER.pack(len(data)) + data)  # the parent's handle learns who it talks to
            return
        _SIBLINGS.append(pid)
    for fd in {fd for pair in pairs for fd in pair}:
        os.close(fd)

    def terminated(signum, frame) -> None:
        _end_siblings()
        os._exit(0)

    signal.signal(signal.SIGTERM, terminated)


def _end_siblings() -> None:
    for pid in _SIBLINGS:
        try:
            os.kill(pid, 15)  # SIGTERM
            os.waitpid(pid, 0)
        except OSError:
            pass
    _SIBLINGS.clear()


def main() -> None:
    """The child's loop: read (name, args), answer (True, result) or (False, None), until EOF."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which closes our stdin
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    functions = _allowed()
    import cssselect  # noqa: F401  (imported now, while the parent is still fetching the first pages)
    import lxml.etree  # noqa: F401

    if "--analyse" in sys.argv[1:]:  # changed pages will be diffed here: load those stages now too
        from tracker.compare.tag import load_rules

        load_rules()
        import tracker.compare.diff  # noqa: F401
    if "--fork" in sys.argv[1:]:
        _fork_siblings(sys.argv[sys.argv.index("--fork") + 1])
    try:
        _serve(inp, out, functions)
    finally:
        _end_siblings()


def _serve(inp, out, functions: dict[str, Callable]) -> None:
    while True:
        try:
            name, args = _read(inp)  # type: ignore[misc]
        except EOFError:
            return
        try:
            answer = (True, functions[name](*args))
        except Exception:  # the parent runs it again in-process and gets the real exception
            answer = (False, None)
        try:
            _write(out, answer)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    main()
