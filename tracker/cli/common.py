"""What the commands share: consoles, option callbacks (sizes, --notify), shell completion of
service names, stored documents by name, and rebuilding the feeds after a command changed the store."""

from __future__ import annotations

import re
from pathlib import Path

import click

from tracker.cli.main import Config
from tracker.errors import TrackerError

STATE_STYLE = {"new": "cyan", "unchanged": "dim", "changed": "bold yellow", "failed": "bold red"}


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def parse_size(value: str) -> int:
    """'10MB' -> 10485760 (KB/MB/GB are powers of 1024; a bare number is bytes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", str(value), re.I)
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a size such as 500KB or 10MB")
    return int(float(m.group(1)) * 1024 ** " kmg".index((m.group(2) or " ").lower()))


def positive(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value is not None and value < 1:
        raise click.BadParameter("must be at least 1")
    return value


def _notify_urls(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    if not value:
        return []
    from tracker.publish.notify import notify_urls

    try:
        return notify_urls(value or ())
    except ValueError as e:
        raise TrackerError(f"--notify {e}") from None


notify_option = click.option(
    "--notify", "notify", multiple=True, metavar="URL", envvar="POLICY_TRACKER_NOTIFY", callback=_notify_urls,
    help="Send each significant change here (repeatable; env POLICY_TRACKER_NOTIFY, space-separated): an "
         "http(s) URL gets a JSON POST (for programs), any URL Apprise knows a message (mailto://, ntfy://, "
         "matrix://, tgram://, discord://, slack://, ...). Undelivered messages wait in the database and are "
         "sent by later runs. The page link uses the feeds folder's public URL (`feeds --base-url`, or "
         "POLICY_TRACKER_BASE_URL).")


def _allow_private(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """``--allow-private`` is the environment switch for this run: the fetcher, the browser and every
    worker process read it (a per-run setting, like POLICY_TRACKER_ALLOW_PRIVATE itself)."""
    if value:
        import os

        from tracker.capture.netpolicy import ALLOW_PRIVATE_ENV

        os.environ[ALLOW_PRIVATE_ENV] = "1"
    return value


allow_private_option = click.option(
    "--allow-private", is_flag=True, expose_value=False, callback=_allow_private,
    help="Fetch pages on private and loopback addresses too (an intranet, a local server); link-local and "
         "cloud-metadata addresses stay refused. Same as POLICY_TRACKER_ALLOW_PRIVATE=1; a declaration can "
         "say allow_private = true for one document.")


extract_timeout_option = click.option(
    "--extract-timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 3600),
    help="Seconds one page's extraction (parse, selectors, clauses) may take; past it the worker process "
         "is stopped and the check fails (extract-timeout), storing nothing.")


def start_notifications(store, urls: list[str], feeds: Path | None = None):
    """The notifier for ``urls`` (None without any), its channels registered in the store's outbox; its
    page links use the feeds folder's public URL (given once to ``feeds --base-url``, or the env)."""
    if not urls:
        return None
    from tracker.publish.folder import public_base
    from tracker.publish.notify import Notifier

    notifier = Notifier(urls, base_url=public_base(feeds) if feeds is not None else None)
    notifier.register(store)
    return notifier


def deliver_notifications(store, notifier) -> None:
    """Send what the outbox holds for these channels (this run's changes and earlier undelivered ones);
    a failure is one stderr line, never a failed check (the message waits for the next run)."""
    try:
        for err in notifier.deliver(store):
            click.echo(f"policy-tracker: warning: {err}", err=True)
    finally:
        notifier.close()


def complete_service(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion of SERVICE arguments: declared and stored service names."""
    from click.shell_completion import CompletionItem

    names: set[str] = set()
    cfg = ctx.find_object(Config)
    if cfg is None:  # completing: the group's callback has not run, but its options are parsed
        params = ctx.find_root().params
        cfg = Config(db=Path(params.get("db") or "tracker.db"), policies=Path(params.get("policies") or "policies"),
                     feeds=Path(params.get("feeds") or "feeds"))
    try:
        names |= {d.service for d in cfg.documents(report=False, missing_ok=True)}
    except Exception:  # noqa: BLE001 - completion must never print an error
        pass
    try:
        if cfg.db.exists():
            with cfg.store(read_only=True) as store:
                names |= {r.service for r in store.documents()}
    except Exception:  # noqa: BLE001
        pass
    return [CompletionItem(n) for n in sorted(names, key=str.casefold) if n.casefold().startswith(incomplete.casefold())]


def stored_documents(store, service: str, type_: str | None) -> list:
    """The stored documents of a service (all of them, or the one of type ``type_``); one line when none."""
    from tracker.sources.declarations import matches_service

    if type_:
        return [store.find_document(service, type_)]
    hits = [d for d in store.documents() if matches_service(d.service, service)]
    if not hits:
        store.find_document(service)  # raises the usual one-line error, naming what is stored
    return hits


def need_db(cfg: Config) -> None:
    if not cfg.db.exists():
        raise TrackerError(f"{cfg.db}: no database yet (run `policy-tracker check` first)")


def shown_text(version) -> str:
    """Exactly what ``show`` prints for a version (``diff --format unified`` patches this text)."""
    return version.text + "\n"


def rebuild(cfg: Config, store, base_url: str | None = None, max_entries: int = 50) -> list[Path]:
    """Rebuild the feeds folder from the store (the feeds stage)."""
    from tracker.publish.build import build_feeds

    return build_feeds(store, cfg.feeds, base_url=base_url, max_entries=max_entries, problems=cfg.problems,
                       aliases=cfg.aliases())
