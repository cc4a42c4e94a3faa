"""The ``run`` command: the scheduling daemon (see tracker/schedule/)."""

from __future__ import annotations

import click

from tracker.cli.common import allow_private_option, extract_timeout_option, notify_option, positive
from tracker.cli.main import Config, cli, pass_config
from tracker.errors import TrackerError


def _jitter(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from tracker.schedule.politeness import parse_jitter

    try:
        return parse_jitter(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _non_negative(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value < 0:
        raise click.BadParameter("must not be negative")
    return value


@cli.command()
@click.option("--jobs", "-j", default=4, show_default=True, type=int, callback=positive,
              help="Fetches at once (never more than one per host).")
@click.option("--host-delay", default=2.0, show_default=True, type=float, callback=_non_negative,
              help="Seconds between two requests to the same host.")
@click.option("--jitter", default="10%", show_default=True, callback=_jitter,
              help="Random spread of each interval (0.1 or 10%), so hosts are not hit in bursts.")
@click.option("--broken-after", default=3, show_default=True, type=int, callback=positive,
              help="Consecutive failures after which a document is reported broken (list, status.atom).")
@click.option("--once", is_flag=True, help="Check every due document once, then exit (for cron).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Append the log here instead of stderr (reopened after logrotate).")
@click.option("--quiet", "-q", is_flag=True, help="Log only changes, failures and problems (one line each).")
@click.option("--verbose", "-v", is_flag=True, help="Also log scheduling decisions.")
@click.option("--poll", default=2.0, show_default=True, type=float, callback=_non_negative,
              help="Seconds between looks at the policies folder for changed declarations.")
@click.option("--stop-timeout", default=8.0, show_default=True, type=float, callback=_non_negative,
              help="On SIGTERM/SIGINT, seconds granted to in-flight fetches before they are abandoned.")
@extract_timeout_option
@notify_option
@allow_private_option
@pass_config
def run(cfg: Config, jobs: int, host_delay: float, jitter: float, broken_after: int, once: bool,
        log_file: str | None, quiet: bool, verbose: bool, poll: float, stop_timeout: float, extract_timeout: float,
        notify: list[str]) -> int:
    """Run the tracker as a daemon: each document is checked on its own interval.

    The schedule resumes from the last stored checks after a restart. Declarations are re-read when
    files in the policies folder change, or on SIGHUP. SIGTERM or Ctrl-C stops it cleanly. One daemon
    per database. With --once, due documents are checked once and the command exits (for cron), with
    check's exit status: 3 when a document failed, 2 when a declaration file was bad (and skipped).
    """
    from tracker.schedule.daemon import Options, Paths, run_daemon
    from tracker.schedule.logs import setup_logging

    if quiet and verbose:
        raise TrackerError("--quiet and --verbose cannot be used together")
    from tracker.publish.folder import claim_feeds

    with cfg.store() as store:  # refused before the daemon starts: the feeds are another database's
        claim_feeds(store, cfg.feeds)
    setup_logging(log_file, quiet, verbose)
    opts = Options(jobs=jobs, host_delay=host_delay, jitter=jitter, broken_after=broken_after, once=once,
                   poll=max(0.5, poll), stop_timeout=stop_timeout, notify=tuple(notify),
                   extract_timeout=extract_timeout)
    return run_daemon(Paths(db=cfg.db, policies=cfg.policies, feeds=cfg.feeds), opts)
