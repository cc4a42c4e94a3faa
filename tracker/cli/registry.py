"""``validate`` (check every declaration offline) and ``import-ota`` (Open Terms Archive -> policies/)."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracker.cli.main import cli, pass_config
from tracker.errors import TrackerError
from tracker.models import Document
from tracker.sources.declaration_edit import render_declaration
from tracker.sources.declarations import load_file, parse_declaration

if TYPE_CHECKING:
    from tracker.sources.ota_origin import SourceInfo


def file_problems(path: Path) -> tuple[list[Document], list[str]]:
    """Documents of one file and every problem found in it (one line each): every bad key of every
    document, not only the first. A file with any problem gives no documents."""
    problems: list[str] = []
    docs = load_file(path, problems)
    return ([] if problems else docs), problems


def validate_folder(paths: list[Path]) -> tuple[list[Document], list[str], int]:
    """(documents, problems, number of files) for declaration files and folders of them."""
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.glob("*.toml"))
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    docs: list[Document] = []
    seen: dict[str, Path] = {}
    for path in files:
        file_docs, errs = file_problems(path)
        problems += errs
        if not file_docs:
            continue
        name = file_docs[0].service.casefold()
        if name in seen:
            problems.append(f"{path}: name: service {file_docs[0].service!r} is already declared in {seen[name]}")
            continue
        seen[name] = path
        docs += file_docs
    return docs, problems, len(files)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@pass_config
def validate(cfg, paths: tuple[Path, ...]) -> None:
    """Check declarations offline: schema, URL form, CSS selector syntax, duplicate services.

    PATHS are files or folders (default: the --policies folder). One line per problem, exit 2 if any.
    """
    targets = list(paths) or [cfg.policies]
    if not paths and not cfg.policies.is_dir():
        raise TrackerError(f"{cfg.policies}: no such policies folder (use --policies DIR)")
    docs, problems, nfiles = validate_folder(targets)
    for line in problems:
        click.echo(line, err=True)
    services = len({d.service for d in docs})
    status = f"{len(problems)} problem{'s' * (len(problems) != 1)}" if problems else "all valid"
    click.echo(f"{nfiles} file{'s' * (nfiles != 1)}, {services} service{'s' * (services != 1)}, "
               f"{len(docs)} document{'s' * (len(docs) != 1)}: {status}")
    if problems:
        click.get_current_context().exit(2)


def _declared_names(folder: Path) -> dict[str, Path]:
    """Service names already declared in ``folder`` (files that do not parse are ignored here)."""
    out: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if isinstance(name, str):
            out[name.strip().casefold()] = path.resolve()
    return out


@cli.command("import-ota")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...",
                type=click.Path(path_type=Path))
@click.option("--types", "types", default="", metavar="LIST",
              help='Only these document types, comma-separated (e.g. "Privacy Policy,Terms of Service").')
@click.option("--force", is_flag=True, help="Overwrite an existing declaration of the same service.")
@click.option("--dry-run", is_flag=True, help="Print the TOML that would be written; write nothing.")
@click.option("--compare", is_flag=True,
              help="Write nothing: list where the --policies declarations differ from OTA's (URL, browser, "
                   "select, remove), one line each. Exit 0 when none differ, 1 when some do.")
@pass_config
def import_ota(cfg, sources: tuple[Path, ...], types: str, force: bool, dry_run: bool, compare: bool) -> None:
    """Convert Open Terms Archive declarations into --policies files, or compare them (--compare).

    SOURCE is an OTA JSON declaration, a folder of them, a clone of an OTA declarations repository
    (its declarations/ folder is read) or a folder of such clones.

    \b
    Carried over: fetch (the URL, percent-encoded where needed), select and remove (range selectors
    included), executeClientScripts (as browser = true) and X.history.json (dated selectors).
    Not carried over, printed as warnings and written as comments: filter (JavaScript functions),
    combine (each page becomes a document of its own), a selector the tracker cannot parse (dropped
    on its own; the document's other selectors are kept).

    Each file says where it comes from: the declaration, the source repository and its licence, read
    from a LICENSE file (or package.json) in the folder ("unknown" otherwise). OTA's declarations
    repositories are EUPL-1.2 or AGPL-3.0, not ODC-BY. Exit 2 when nothing could be imported.
    """
    wanted = [t.strip() for t in types.split(",") if t.strip()] or None
    if compare:
        if force or dry_run:
            raise TrackerError("--compare writes nothing: it cannot be combined with --force or --dry-run")
        _compare_ota(cfg, sources, wanted)
        return
    from tracker.sources.ota_declarations import find_declaration_files, read_declaration
    from tracker.sources.ota_origin import source_info

    files, orphans = _declaration_files(sources, find_declaration_files)
    folder = cfg.policies
    declared = _declared_names(folder)
    owners = {path: name for name, path in declared.items()}  # file -> service name it declares
    done: dict[str, Path] = {}
    planned: dict[Path, str] = {}  # target file -> service name, in this run
    infos: dict[Path, SourceInfo] = {}
    imported = ndocs = nwarn = failed = 0
    for path in orphans:
        click.echo(f"skipped {path}: history without its declaration file", err=True)
    for path in files:
        try:
            conv = read_declaration(path, wanted)
            if not conv.documents:
                raise TrackerError(f"{path}: nothing to import ({_nothing_reason(conv, wanted)})")
            key = conv.service.casefold()
            if key in done:
                raise TrackerError(f"{path}: service {conv.service!r} already imported from {done[key]} in this run")
            target = _target(folder, conv.service, owners, planned)
            other = declared.get(key)
            if other is not None and other != target:
                raise TrackerError(f"{path}: service {conv.service!r} is already declared in {other}")
            exists = target.exists()
            if exists and not force and not dry_run:
                raise TrackerError(f"{path}: {target} exists (use --force to overwrite)")
        except TrackerError as e:
            click.echo(f"skipped {e}", err=True)
            failed += 1
            continue
        info = infos.get(path.parent)
        if info is None:
            info = infos[path.parent] = source_info(path.parent)
        header = textwrap.fill(info.header(path), width=100, break_long_words=False, break_on_hyphens=False)
        text = render_declaration(conv.service, conv.documents, header=header, notes=conv.notes)
        parse_declaration(tomllib.loads(text), str(target))  # a bug if it fails: never write a bad file
        done[key] = path
        planned[target] = key
        if dry_run:
            click.echo(text)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".toml.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        imported += 1
        ndocs += len(conv.documents)
        nwarn += len(conv.warnings)
        n = len(conv.documents)
        verb = "would write" if dry_run else "wrote"
        note = " (exists: needs --force)" if dry_run and exists and not force else ""
        click.echo(f"{verb} {target}{note}: {conv.service}, {n} document{'s' * (n != 1)}")
        for line in conv.skipped:
            click.echo(f"  not converted: {line}")
        for line in conv.warnings:
            click.echo(f"  warning: {line}")
    skipped = failed + len(orphans)
    tail = (f"{ndocs} document{'s' * (ndocs != 1)}, {nwarn} warning{'s' * (nwarn != 1)}, "
            f"{skipped} file{'s' * (skipped != 1)} skipped")
    services = f"{imported} service{'s' * (imported != 1)}"
    click.echo(f"would import {services} ({tail}); nothing written" if dry_run else f"{services} imported, {tail}")
    if imported == 0:
        click.get_current_context().exit(2)


def _declaration_files(sources: tuple[Path, ...], find) -> tuple[list[Path], list[Path]]:
    files: list[Path] = []
    orphans: list[Path] = []
    for source in sources:
        if not source.exists():
            raise TrackerError(f"{source}: no such file or folder")
        found, lost = find(source)
        if not found:
            raise TrackerError(f"{source}: no OTA declaration (*.json) found")
        files += [f for f in found if f not in files]
        orphans += [f for f in lost if f not in orphans]
    return files, orphans


def _nothing_reason(conv, wanted: list[str] | None) -> str:
    if conv.skipped:
        return "; ".join(conv.skipped)
    declared = ", ".join(conv.declared_types) or "none"
    return f"no document of type {', '.join(repr(t) for t in wanted or [])} (it declares: {declared})"


def _target(folder: Path, service: str, owners: dict[Path, str], planned: dict[Path, str]) -> Path:
    """The file for an imported service: its slug, or the slug and a short hash of its name when that
    file already holds another service (on disk or earlier in this run)."""
    from tracker.sources.ota_declarations import file_stem

    key = service.casefold()
    base = (Path(folder) / f"{file_stem(service)}.toml").resolve()
    holder = planned.get(base) or owners.get(base) or (None if not base.exists() else "?")
    if holder in (None, key):
        return base
    return (Path(folder) / f"{file_stem(service, suffixed=True)}.toml").resolve()


def _compare_ota(cfg, sources: tuple[Path, ...], wanted: list[str] | None) -> None:
    from tracker.sources.ota_compare import compare, read_pages
    from tracker.sources.ota_declarations import find_declaration_files

    files, _ = _declaration_files(sources, find_declaration_files)
    docs = cfg.documents()
    if wanted:
        keep = {t.casefold() for t in wanted}
        docs = [d for d in docs if d.type.casefold() in keep]
    pages = []
    problems: list[str] = []
    for path in files:
        try:
            pages += read_pages(path)
        except TrackerError as e:
            problems.append(str(e))
    if not pages:  # one line: the first problem, not one line per file and then the error
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TrackerError(f"no usable OTA declaration to compare with: {problems[0]}{more}" if problems
                           else f"{', '.join(map(str, sources))}: no usable OTA declaration to compare with")
    for line in problems:
        click.echo(f"skipped {line}", err=True)
    unreadable = len(problems)
    result = compare(docs, pages)
    for line in result.differences:
        click.echo(line)
    missing: dict[str, int] = {}
    for d in result.unmatched:
        missing[d.service] = missing.get(d.service, 0) + 1
    nfiles = len(files) - unreadable
    summary = (f"{len(docs)} document{'s' * (len(docs) != 1)} of {cfg.policies} against {nfiles} OTA "
               f"declaration{'s' * (nfiles != 1)}: {result.compared} compared, {result.differing} differ "
               f"({len(result.differences)} difference{'s' * (len(result.differences) != 1)})")
    click.echo(summary)
    if missing:
        click.echo(f"{len(result.unmatched)} not compared (no OTA counterpart found): "
                   + ", ".join(f"{s} ({n})" for s, n in missing.items()))
    if cfg.bad_input:  # a declaration file was named and skipped: bad input wins over differences
        click.get_current_context().exit(2)
    if result.differences:
        click.get_current_context().exit(1)
