"""The ``add`` command: declare a document (writes or edits policies/<service>.toml), then try it."""

from __future__ import annotations

import click

from tracker.cli.check import dry_run_check
from tracker.cli.common import allow_private_option
from tracker.cli.main import EXIT_OK, Config, cli, pass_config
from tracker.errors import TrackerError


@cli.command()
@click.argument("service")
@click.argument("url")
@click.option("--type", "type_", default="Privacy Policy", show_default=True, help="Document type.")
@click.option("--select", multiple=True, help="CSS selector of the content to keep (repeatable).")
@click.option("--remove", multiple=True, help="CSS selector of content to drop (repeatable).")
@click.option("--interval", default=None, help="How often the daemon checks it, e.g. 12h (default 24h).")
@click.option("--lang", default=None, help="Language of the document, e.g. en or fr.")
@click.option("--replace", is_flag=True,
              help="Overwrite settings the file already has with other values (settings not given are kept).")
@click.option("--try/--no-try", "try_", default=True, show_default=True, envvar="POLICY_TRACKER_ADD_TRY",
              help="Fetch the page once (as `check --dry-run`) and say whether it needs browser = true or a selector.")
@allow_private_option
@pass_config
def add(cfg: Config, service: str, url: str, type_: str, select: tuple[str, ...], remove: tuple[str, ...],
        interval: str | None, lang: str | None, replace: bool, try_: bool) -> int:
    """Declare a document to track (writes or extends policies/<service>.toml).

    An existing file is edited in place: its comments, order and other settings are kept. A setting
    the file already has with another value (a new URL, say) is refused unless --replace is given.
    """
    from tracker.sources.declaration_edit import declaration_path, merge_declaration
    from tracker.sources.declarations import parse_declaration

    try:
        path = declaration_path(cfg.policies, service)
    except ValueError as e:
        raise TrackerError(f"service name: {e}") from None
    spec: dict = {"url": url}
    if select:
        spec["select"] = list(select)
    if remove:
        spec["remove"] = list(remove)
    if interval:
        spec["interval"] = interval
    if lang:
        spec["lang"] = lang
    # Validate through the same code as loading, so `add` can never write a file `check` refuses.
    parse_declaration({"name": service.strip(), "documents": {type_: spec}}, f"{path.name} (new)")
    merged = merge_declaration(path, service.strip(), type_.strip(), spec, replace=replace)
    label = f"{service.strip()} / {type_.strip()}"
    if merged.verb == "unchanged":
        click.echo(f"unchanged: {label} is already declared so in {path}")
        return EXIT_OK
    cfg.policies.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(merged.text, encoding="utf-8")
    tmp.replace(path)
    what = f" ({', '.join(merged.changed)})" if merged.verb == "updated" and merged.changed else ""
    click.echo(f"{merged.verb} {label} in {path}{what}")
    if not try_:
        return EXIT_OK
    from tracker.sources.declarations import load_file

    added = [d for d in load_file(path) if d.type == type_.strip()]
    click.echo("trying it (as `check --dry-run`; --no-try to skip):")
    return dry_run_check(cfg, (), False, timeout=15.0, docs=added)
