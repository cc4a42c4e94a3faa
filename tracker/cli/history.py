"""``policy-tracker import-versions`` (OTA history -> versions, changes, tags) and ``report`` (timeline)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from tracker.cli.main import EXIT_FAILED, EXIT_OK, Config, cli, pass_config
from tracker.errors import TrackerError


def _declared(cfg: Config) -> list:
    """Declared documents when the policies folder exists (history can be imported without any); a bad
    declaration file is named on stderr and makes the exit status 2, the others are used."""
    if not cfg.policies.is_dir():
        return []
    return cfg.documents()


@cli.command("import-versions")
@click.argument("repo_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--service", metavar="S", help="Only this service's folder (case-insensitive).")
@click.option("--type", "type_", metavar="T", help="Only this document type (e.g. 'Privacy Policy').")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Processes parsing Markdown (default: CPUs, at most 4).")
@click.option("--no-feeds", is_flag=True, help="Do not rebuild the feeds afterwards.")
@click.option("--archive-url", metavar="URL",
              help="Web URL of the repository (e.g. https://github.com/OpenTermsArchive/pga-versions), linked as "
              "each imported version's source. Default: the clone's origin remote when it is on GitHub, GitLab "
              "or Codeberg.")
@pass_config
def import_versions_cmd(cfg: Config, repo_dir: Path, service: str | None, type_: str | None, jobs: int | None,
                        no_feeds: bool, archive_url: str | None) -> int:
    """Import the history of an Open Terms Archive versions repository (a local git clone).

    Every commit of a <Service>/<Type>.md file becomes a version dated by the commit, unless its text
    is the same or only insignificantly different; clause diffs and tags are stored as changes.
    Re-running imports only new commits, and retries the commits that failed (exit status 3 when
    some failed). A return to an earlier text, a technical commit ("Apply technical or declaration
    upgrade", "Refilter") and a suspect capture are recorded as such, with no topic alert.

    \b
    git clone https://github.com/OpenTermsArchive/pga-versions
    policy-tracker import-versions pga-versions --type "Privacy Policy"
    policy-tracker report --tag ai-training
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tracker.sources.ota_versions import import_versions

    if archive_url is not None:
        from tracker.publish.sanitise import safe_url

        if safe_url(archive_url.strip()) != archive_url.strip():
            raise TrackerError(f"--archive-url {archive_url!r}: expected an absolute http(s) URL")
        archive_url = archive_url.strip().rstrip("/")
    declared = _declared(cfg)
    console = Console(stderr=True)
    with cfg.store() as store:
        with Progress(TextColumn("[bold]importing[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      TextColumn("{task.description}"), console=console, transient=True,
                      disable=not console.is_terminal) as bar:
            task = bar.add_task("", total=None)

            def progress(done: int, total: int, label: str) -> None:
                if done == 1 or done == total or done % 10 == 0:
                    bar.update(task, completed=done, total=total, description=label[:40])

            summary = import_versions(store, repo_dir, declared=declared, service=service, type_=type_,
                                      jobs=jobs, progress=progress, archive_url=archive_url)
        if not summary.files:
            what = " and ".join(f"{k} {v!r}" for k, v in (("service", service), ("type", type_)) if v)
            raise TrackerError(f"{repo_dir}: no <Service>/<Type>.md file" + (f" for {what}" if what else ""))
        for name in summary.documents_created:
            click.echo(f"new document (not declared in {cfg.policies}): {name}", err=True)
        for note in summary.notes:
            click.echo(f"note: {note}", err=True)
        if summary.older:
            click.echo(f"note: {summary.older} commit(s) are older than versions already stored and were skipped "
                       "(versions are numbered in time order: import history before the first check, or into "
                       "a fresh --db)", err=True)
        if summary.changes and not no_feeds:
            from tracker.publish.build import build_feeds

            try:
                build_feeds(store, cfg.feeds, aliases=cfg.aliases())
            except OSError as e:  # the history is stored; `feeds` rebuilds them once the folder works
                click.echo(f"policy-tracker: error: feeds not written in {cfg.feeds}: {e.strerror or e}", err=True)
                cfg.bad_input += 1
            else:
                click.echo(f"feeds rebuilt in {cfg.feeds}", err=True)
    tags = ", ".join(f"{t} {n}" for t, n in sorted(summary.tags.items(), key=lambda kv: (-kv[1], kv[0])))
    click.echo(summary.line())
    if tags:
        click.echo(f"changes per tag: {tags}")
    for label, failures in sorted(summary.failures.items()):
        click.echo(f"failed: {label}: {len(failures)} commit(s), retried by the next import: "
                   + "; ".join(failures), err=True)
    return cfg.exit_status(EXIT_FAILED if summary.failed else EXIT_OK)


def _since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TrackerError(f"--since {value!r}: expected a date like 2023-09-29") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def report_pages(cfg: Config, store, records: list, output: Path | None) -> dict[int, str]:
    """Change id -> the link to its change page in the feeds folder: under the folder's public base
    URL when one is known (``--base-url`` given to ``feeds``, or $POLICY_TRACKER_BASE_URL), else
    relative to the report file (or the folder's file:// URI when the report goes to stdout)."""
    import os

    from tracker.publish.build import change_file, service_slugs
    from tracker.publish.folder import link_base

    base, public = link_base(cfg.feeds, None)
    if not public and output is not None:
        rel = os.path.relpath(cfg.feeds.resolve(), output.resolve().parent).replace(os.sep, "/")
        base = "" if rel == "." else rel.rstrip("/") + "/"
    slugs = service_slugs(store.service_names() + [r.service for r in records], store.kept_file_names())
    return {r.id: base + "changes/" + change_file(r.service, r.type, r.to_version, slugs) for r in records}


@cli.command("report")
@click.option("--tag", metavar="TAG", help="Only this tag (e.g. ai-training, biometrics). Default: every tag.")
@click.option("--since", metavar="DATE", help="Only changes on or after this date (YYYY-MM-DD).")
@click.option("--service", metavar="S", help="Only this service.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@pass_config
def report_cmd(cfg: Config, tag: str | None, since: str | None, service: str | None, fmt: str,
               output: Path | None) -> None:
    """A timeline across services of the changes carrying a tag: date, service, document, what happened
    and the key sentence. AI training and biometrics: one row per document-level event (added / removed
    / stance, with the stance); other tags: the clause's direction (added / removed / flipped / changed).

    \b
    policy-tracker report --tag ai-training
    policy-tracker report --tag biometrics --since 2022-01-01 --format html -o biometrics.html
    """
    from tracker.compare.tag import TAGS
    from tracker.publish.report import render_html, render_json, render_text, stored_rows

    if tag is not None and tag not in TAGS:
        raise TrackerError(f"--tag {tag!r}: unknown tag (known: {', '.join(TAGS)})")
    since_ts = _since(since)
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` or `import-versions` first)")
    from tracker.sources.declarations import service_lanes

    with cfg.store(read_only=True) as store:
        lanes = service_lanes(store.service_names(), cfg.aliases())  # stored former names -> platform
        svc: list[str | None] = [None]  # None: every service
        if service:
            from tracker.sources.declarations import slugify

            wanted = {service.casefold(), slugify(service)}
            names = {r.service for r in store.documents()
                     if {r.service.casefold(), slugify(r.service)} & wanted
                     or {lanes.get(r.service, "").casefold(), slugify(lanes.get(r.service, ""))} & wanted}
            if not names:
                raise TrackerError(f"no stored document for service {service!r}")
            svc = [*sorted(names)]  # the service and its former names (declared ``aliases``)
        # rows kept per change in the store (made from the diffs once): no diff decoded here (issue 20)
        records, rows = stored_rows(store, tag=tag, since=since_ts, services=svc)
        pages = report_pages(cfg, store, records, output)
    if fmt == "json":
        out = render_json(rows, pages=pages)
    elif fmt == "html":
        out = render_html(rows, tag=tag, since=since, pages=pages, lanes=lanes)
    else:
        out = render_text(rows)
    if output is not None:
        try:
            output.write_text(out if out.endswith("\n") else out + "\n", encoding="utf-8")
        except OSError as e:
            raise TrackerError(f"{output}: cannot write ({e.strerror})") from None
        click.echo(str(output), err=True)
    else:
        click.echo(out)
