"""The feeds folder as files on disk: whose it is (the database that publishes it), where its links
point, and writing into it safely. What goes into the files, and which are stale, is
``tracker.publish.build``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.store.database import Store

MANIFEST = ".feeds-manifest.json"  # what a build wrote (tracker.publish.build)
FORMATS = (".atom", ".rss", ".json")


def _remembered_base(out_dir: Path) -> object:
    """The base URL an earlier build of the folder was given (kept in its manifest whatever code wrote it)."""
    try:
        m = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m.get("base") if isinstance(m, dict) else None


OWNER = ".database-id"  # in the feeds folder: the identity of the database that publishes it


def feeds_owner(out_dir: Path) -> str | None:
    """The identity of the database that published ``out_dir`` (None: none recorded)."""
    try:
        value = json.loads((Path(out_dir) / OWNER).read_text(encoding="utf-8")).get("database")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _published_pages(out_dir: Path) -> int:
    try:
        return sum(1 for e in os.scandir(out_dir / "changes") if e.name.endswith(".html"))
    except OSError:
        return 0


def claim_feeds(store: Store, out_dir: Path, *, adopt: bool = False) -> None:
    """Make sure ``out_dir`` is this database's to write, and record that it is.

    A feeds folder is what subscribers read: a build deletes the change pages and entries the store
    does not know. Pointed at another database, or at a new or emptied one, it would wipe the
    published history. So a folder records the identity of the database that published it, and any
    other database is refused (TrackerError, exit 2) unless told to take it over (``adopt``:
    ``feeds --rebuild``). A folder with no change page published is adopted (it has no history to
    lose); so is one from before the record, unless this database has no change at all."""
    out_dir = Path(out_dir)
    ident = store.identity()
    owner = feeds_owner(out_dir)
    if owner == ident:
        return
    pages = _published_pages(out_dir)
    if not adopt and pages:  # a folder with no change page published loses nothing: adopted
        if owner is not None:
            raise TrackerError(
                f"{out_dir}: these feeds were published from another database ({owner[:12]}, not {store.path}, "
                f"{ident[:12]}): nothing written or deleted. Use the database that made them (--db), another "
                "--feeds folder, or `policy-tracker feeds --rebuild` to replace them with this database's")
        if not store.count_changes():
            raise TrackerError(
                f"{out_dir}: holds {pages} published change page(s) but {store.path} has no change: a new or "
                "empty database would delete them. Use the database that made them (--db), another --feeds "
                "folder, or `policy-tracker feeds --rebuild` to replace them on purpose")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"database": ident, "path": str(Path(store.path).resolve())}, sort_keys=True) + "\n"
    write_atomic(out_dir / OWNER, data.encode("utf-8"))


def write_atomic(path: Path | str, data: bytes, folders: set[str] | None = None) -> os.stat_result | None:
    """Write via a temporary file and rename, so a reader never sees half a feed; leave the file alone
    when its bytes are the same. Returns the written file's stat (for the manifest), else None.

    Plain ``os`` calls on string paths: a first build writes hundreds of files, and ``tempfile`` and
    ``pathlib`` doubled the cost of each. ``folders`` remembers the folders already made.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == len(data) and f.read() == data:
                return None
    except OSError:
        pass
    folder = os.path.dirname(path) or "."
    if folders is None or folder not in folders:
        os.makedirs(folder, exist_ok=True)
        if folders is not None:
            folders.add(folder)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:  # left by a killed run whose process id came round again
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            st = os.fstat(fd)  # a rename keeps size and mtime
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return st


def link_base(out_dir: Path, base_url: str | None, manifest: dict[str, Any] | None = None) -> tuple[str, str | None]:
    """(base of the links in feeds, what to remember for the folder's next builds).

    ``base_url`` (or $POLICY_TRACKER_BASE_URL), else what an earlier build of the folder was given,
    else the folder's file:// URI. ``"local"`` chooses the file:// URI on purpose (and is remembered,
    so no warning is given); None as the second value means nobody chose: see ``LOCAL_LINKS_WARNING``."""
    remembered = _remembered_base(Path(out_dir)) if manifest is None else manifest.get("base")
    given = (base_url or os.environ.get("POLICY_TRACKER_BASE_URL") or "").strip()
    if not given and isinstance(remembered, str):
        given = remembered
    local = Path(out_dir).resolve().as_uri().rstrip("/") + "/"
    if given.lower() == "local":
        return local, "local"
    if given:
        return given.rstrip("/") + "/", given
    return local, None


def public_base(out_dir: Path) -> str | None:
    """The folder's public base URL ($POLICY_TRACKER_BASE_URL, or remembered from ``feeds --base-url``),
    for links made outside a build (notifications' page links); None when it has none."""
    remembered = link_base(out_dir, None)[1]
    return None if remembered in (None, "local") else remembered


LOCAL_LINKS_WARNING = ("links in {folder}'s feeds are file:// URIs: a reader on a server (Miniflux, FreshRSS, "
                       "Inoreader) or on another computer cannot open them. Give the folder's public URL once "
                       "with `policy-tracker feeds --base-url https://…` (remembered for later builds) or "
                       "$POLICY_TRACKER_BASE_URL; `--base-url local` keeps file:// links without this warning")


def prune(out_dir: Path, keep: set[str]) -> None:
    """Remove feeds/pages this module wrote before that no longer exist (a service removed...)."""
    for sub, exts in (("services", FORMATS), ("tags", FORMATS), ("changes", (".html",))):
        try:
            entries = list(os.scandir(out_dir / sub))  # the entries know their type: no stat per file
        except OSError:
            continue
        for e in entries:
            if (e.name.endswith(exts) and not e.name.startswith(".") and f"{sub}/{e.name}" not in keep
                    and e.is_file(follow_symlinks=False)):
                try:
                    os.unlink(e.path)
                except FileNotFoundError:
                    pass
