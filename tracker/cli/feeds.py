"""``policy-tracker feeds``: rebuild the feeds, change pages and index from the store."""

from __future__ import annotations

import click

from tracker.cli.main import Config, cli, pass_config
from tracker.errors import TrackerError


def _positive(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value < 1:
        raise click.BadParameter("must be at least 1")
    return value


def _problems(cfg: Config) -> list[str]:
    """The declaration files that cannot be read, for status.atom (named there, not on stderr: this
    command publishes, it does not check)."""
    from tracker.sources.declarations import read_policies

    if not cfg.policies.is_dir():
        return []
    try:
        return read_policies(cfg.policies)[1]
    except TrackerError:
        return []


@cli.command()
@click.option("--base-url", envvar="POLICY_TRACKER_BASE_URL", default=None, metavar="URL",
              help="Public URL of the feeds folder, for the links in feeds; remembered for later builds "
              "(by `check` and `run` too). `local`: the folder's file:// URI (the default, with a warning).")
@click.option("--max-entries", default=50, show_default=True, type=int, callback=_positive,
              help="Entries per feed.")
@click.option("--broken-after", default=3, show_default=True, type=int, callback=_positive,
              help="Failures in a row before a document is listed in status.atom.")
@click.option("--rebuild", is_flag=True,
              help="Take over a feeds folder published from another (or an empty) database: its pages are "
                   "replaced by this database's, and pages this database does not have are deleted.")
@pass_config
def feeds(cfg: Config, base_url: str | None, max_entries: int, broken_after: int, rebuild: bool) -> None:
    """Rebuild the feeds (Atom, RSS and JSON Feed: all, per service, per tag), status.atom, feeds.opml,
    the change pages and index.html.

    A feeds folder remembers which database published it: another database, or a new or empty one,
    is refused (exit 2) rather than deleting the published pages, unless --rebuild is given."""
    from tracker.publish.build import build_feeds
    from tracker.publish.folder import LOCAL_LINKS_WARNING, link_base
    from tracker.publish.sanitise import safe_url

    if base_url is not None and base_url.strip().lower() != "local" and safe_url(base_url) != base_url.strip():
        raise TrackerError(f"--base-url {base_url!r}: expected an absolute http(s) URL, or `local`")
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")
    with cfg.store(read_only=True) as store:
        try:
            paths = build_feeds(store, cfg.feeds, base_url=base_url.strip() if base_url else None,
                                max_entries=max_entries, broken_after=broken_after, adopt=rebuild,
                                problems=_problems(cfg), aliases=cfg.aliases())
        except OSError as e:  # a --feeds folder that cannot be made or written is bad input
            where = f" ({e.filename})" if getattr(e, "filename", None) else ""
            raise TrackerError(f"--feeds {cfg.feeds}: cannot write the feeds: {e.strerror or e}{where}") from None
        n_changes = store.count_changes(significant_only=True)  # counted, not read: no diff decoded
    feeds_n = sum(1 for p in paths if p.suffix in (".atom", ".rss", ".json"))
    pages_n = sum(1 for p in paths if p.suffix == ".html")
    click.echo(f"{feeds_n} feeds (Atom, RSS, JSON Feed) and {pages_n} pages in {cfg.feeds} ({n_changes} change(s))",
               err=True)
    if link_base(cfg.feeds, None)[1] is None:
        click.echo("policy-tracker: warning: " + LOCAL_LINKS_WARNING.format(folder=cfg.feeds), err=True)
    click.echo(str(cfg.feeds / "index.html"))
    click.echo(str(cfg.feeds / "all.atom"))
    click.echo(str(cfg.feeds / "feeds.opml"))
