"""`policy-tracker demo`: the whole story offline, on a fictional platform's policy."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from tracker.cli.core import run_check
from tracker.cli.main import Config, cli
from tracker.errors import TrackerError

MARKER = ".policy-tracker-demo"


def _demo_dir(path: str | None) -> Path:
    """The folder to use: the one given (reset if an earlier demo made it), or a new one."""
    if path:
        d = Path(path)
        if d.exists() and any(d.iterdir()):
            if not (d / MARKER).exists():
                raise TrackerError(f"{d} exists and was not made by `policy-tracker demo`; choose an empty or new folder")
            for name in ("policies", "feeds"):
                shutil.rmtree(d / name, ignore_errors=True)
            for f in d.glob("tracker.db*"):
                f.unlink()
        return d
    n = 1
    while Path(f"policy-tracker-demo-{n}").exists():
        n += 1
    return Path(f"policy-tracker-demo-{n}")


@cli.command()
@click.option("--dir", "folder", default=None, type=click.Path(file_okay=False),
              help="Folder to leave the demo's database, policies and feeds in (default: a new folder).")
@click.pass_context
def demo(ctx: click.Context, folder: str | None) -> None:
    """Run the whole pipeline offline on a bundled example policy.

    Serves version 1 of a fictional platform's privacy policy from 127.0.0.1, checks it, serves
    version 2 (which adds an AI-training clause and a biometric clause, rewords a retention clause
    and bumps the date), checks again, prints the clause diff with its tags, and writes the feeds.
    """
    from tracker.demo import DEMO_SERVICE, PolicyServer, demo_versions
    from tracker.models import Document
    from tracker.sources.declarations import render_declaration

    d = _demo_dir(folder)
    try:
        d.mkdir(parents=True, exist_ok=True)
        (d / MARKER).write_text("made by policy-tracker demo\n", encoding="utf-8")
    except OSError as e:
        raise TrackerError(f"{d}: cannot create the demo folder: {e.strerror or e}") from None
    cfg = Config(db=d / "tracker.db", policies=d / "policies", feeds=d / "feeds")
    cfg.policies.mkdir(exist_ok=True)
    v1, v2 = demo_versions()
    say = click.echo
    with PolicyServer(v1) as server:
        doc = Document(service=DEMO_SERVICE, type="Privacy Policy", url=server.url, interval=3600, lang="en",
                       allow_private=True)  # served from 127.0.0.1
        declaration = cfg.policies / "chirpline.toml"
        declaration.write_text(render_declaration(DEMO_SERVICE, [doc]), encoding="utf-8")
        say(click.style(f"1. {DEMO_SERVICE} publishes its privacy policy at {server.url}", bold=True))
        run_check(cfg, (), jobs=1, per_host=1, as_json=False)
        say(click.style("\n2. A later check: nothing changed", bold=True))
        run_check(cfg, (), jobs=1, per_host=1, as_json=False)
        server.body = v2
        say(click.style(f"\n3. {DEMO_SERVICE} quietly rewrites the policy; the next check sees it", bold=True))
        run_check(cfg, (), jobs=1, per_host=1, as_json=False)
    # The server is gone with the demo: a declaration left pointing at it would make every later
    # `check` in this folder fail with "connection refused". The versions stay in the database.
    declaration.unlink()
    say(click.style("\n4. What changed, clause by clause (dates and formatting ignored)", bold=True))
    cli.main(args=["--db", str(cfg.db), "--policies", str(cfg.policies), "--feeds", str(cfg.feeds),
                   "diff", DEMO_SERVICE], prog_name="policy-tracker", standalone_mode=False)
    say(click.style("\n5. Published", bold=True))
    for name in ("index.html", "all.atom", "tags/ai-training.atom", "tags/biometrics.atom", "feeds.opml"):
        path = cfg.feeds / name
        if path.exists():
            say(f"  {path}")
    pages = sorted((cfg.feeds / "changes").glob("*.html")) if (cfg.feeds / "changes").exists() else []
    for page in pages:
        say(f"  {page}")
    prog = _program()
    say(f"\nEverything is in {d}/ (the default file names, so commands run there need no options). "
        f"The demo's server has stopped, so its declaration was removed: {DEMO_SERVICE} stays in the database "
        "(`list` shows it as not declared), and `check` there needs documents you `add`. Try:\n"
        f"  cd {d}\n"
        f"  {prog} history {DEMO_SERVICE}\n"
        f"  {prog} diff {DEMO_SERVICE} --format html > diff.html\n"
        f"  {prog} report --tag ai-training")


def _program() -> str:
    """How to call this program again: its name when it is on PATH, else the path it was run by."""
    import os
    import sys

    if shutil.which("policy-tracker"):
        return "policy-tracker"
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if argv0.endswith("policy-tracker") and os.path.exists(argv0):
        return os.path.abspath(argv0)
    return f"{sys.executable} -m tracker"
