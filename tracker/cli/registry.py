"""``validate`` (check every declaration offline) and ``import-ota`` (Open Terms Archive -> policies/)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from tracker.cli.main import cli, pass_config
from tracker.errors import TrackerError
from tracker.models import Document
from tracker.sources.declarations import declaration_path, load_file, parse_declaration, render_declaration


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
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--types", "types", default="", metavar="LIST",
              help='Only these document types, comma-separated (e.g. "Privacy Policy,Terms of Service").')
@click.option("--force", is_flag=True, help="Overwrite an existing declaration of the same service.")
@click.option("--dry-run", is_flag=True, help="Print the TOML instead of writing it.")
@pass_config
def import_ota(cfg, source: Path, types: str, force: bool, dry_run: bool) -> None:
    """Convert Open Terms Archive declarations (a JSON file or a folder of them) into --policies files.

    History files (X.history.json) are read with X.json. What cannot be carried over (JavaScript
    filters, browser rendering, combined pages) is printed and written as comments. Exit 2 when
    nothing could be imported.
    """
    wanted = [t.strip() for t in types.split(",") if t.strip()] or None
    from tracker.sources.ota_declarations import ATTRIBUTION, find_declaration_files, read_declaration

    files, orphans = find_declaration_files(source)
    if not files:
        raise TrackerError(f"{source}: no OTA declaration (*.json) found")
    folder = cfg.policies
    declared = _declared_names(folder)
    done: dict[str, Path] = {}
    imported = ndocs = nwarn = failed = 0
    for path in orphans:
        click.echo(f"skipped {path}: history without its declaration file", err=True)
    for path in files:
        try:
            conv = read_declaration(path, wanted)
            if not conv.documents:
                reasons = "; ".join(conv.skipped) or f"no document of type {', '.join(wanted or [])}"
                raise TrackerError(f"{path}: nothing to import ({reasons})")
            target = declaration_path(folder, conv.service)
            key = conv.service.casefold()
            if key in done:
                raise TrackerError(f"{path}: service {conv.service!r} already imported from {done[key]} in this run")
            other = declared.get(key)
            if other is not None and other != target:
                raise TrackerError(f"{path}: service {conv.service!r} is already declared in {other}")
            if target.exists() and not force and not dry_run:
                raise TrackerError(f"{path}: {target} exists (use --force to overwrite)")
        except TrackerError as e:
            click.echo(f"skipped {e}", err=True)
            failed += 1
            continue
        header = f"Imported from the Open Terms Archive declaration {path.name} ({ATTRIBUTION})."
        text = render_declaration(conv.service, conv.documents, header=header, notes=conv.notes)
        parse_declaration(tomllib.loads(text), str(target))  # a bug if it fails: never write a bad file
        done[conv.service.casefold()] = path
        if dry_run:
            click.echo(text)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        imported += 1
        ndocs += len(conv.documents)
        nwarn += len(conv.warnings)
        click.echo(f"{'would write' if dry_run else 'wrote'} {target}: {conv.service}, "
                   f"{len(conv.documents)} document{'s' * (len(conv.documents) != 1)}")
        for line in conv.skipped:
            click.echo(f"  not converted: {line}")
        for line in conv.warnings:
            click.echo(f"  warning: {line}")
    click.echo(f"{imported} service{'s' * (imported != 1)} imported, {ndocs} documents, "
               f"{nwarn} warnings, {failed + len(orphans)} files skipped")
    if imported == 0:
        click.get_current_context().exit(2)
