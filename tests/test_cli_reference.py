"""The README's CLI reference is generated from the code and kept in step; shell completion works."""

from __future__ import annotations

import subprocess
import sys

import click
from helpers import ROOT

from tracker.cli import cli
from tracker.cli.reference import END, START, reference, replace_section


def test_readme_reference_is_up_to_date() -> None:
    p = subprocess.run([sys.executable, "-m", "tracker.cli.reference", "--check"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr + "\n(run `python -m tracker.cli.reference --write`)"


def test_every_command_and_option_is_in_the_reference() -> None:
    text = reference()
    ctx = click.Context(cli, info_name="policy-tracker")
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert f"#### `{name} " in text, name
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.opts[-1] in text, (name, param.opts)


def test_a_new_option_makes_the_check_fail(tmp_path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{START}\n\n{reference()}\n{END}\n", encoding="utf-8")
    assert replace_section(readme.read_text(encoding="utf-8"), reference()) == readme.read_text(encoding="utf-8")

    @cli.command("zz-new")
    @click.option("--shiny", help="A new option.")
    def _new(shiny: str | None) -> None:
        """Added later."""

    try:
        assert replace_section(readme.read_text(encoding="utf-8"), reference()) != readme.read_text(encoding="utf-8")
        assert "`--shiny TEXT`" in reference()
    finally:
        cli.commands.pop("zz-new")


def completion(ws, words: str, cword: int) -> list[str]:
    env = {**ws.env(), "_POLICY_TRACKER_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    p = subprocess.run([sys.executable, "-m", "tracker"], env=env, cwd=ws.root, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return [line.split(",", 1)[1] for line in p.stdout.splitlines()]


def test_shell_completion_of_commands_options_and_services(ws) -> None:
    env = {**ws.env(), "_POLICY_TRACKER_COMPLETE": "bash_source"}
    p = subprocess.run([sys.executable, "-m", "tracker"], env=env, cwd=ws.root, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "_policy_tracker_completion" in p.stdout, p.stdout + p.stderr
    assert completion(ws, "policy-tracker hi", 1) == ["history"]
    assert "--replace" in completion(ws, "policy-tracker add X https://x.example --re", 4)
    ws.declare("Example Social", "https://social.example/privacy")
    ws.declare("Other", "https://other.example/privacy")
    assert completion(ws, "policy-tracker history Ex", 2) == ["Example Social"]
    assert completion(ws, "policy-tracker check ", 2) == ["Example Social", "Other"]
