"""Docs that cannot drift: every command has help and is named in the README; the Quick start block
holds exactly the two commands, and CI runs the second."""

from __future__ import annotations

import re

import click

from pipeline.cli import main
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group, prefix: str = "ballot") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += all_commands(command, path)
        else:
            found.append((path, command))
    return found


def test_every_command_has_help_and_is_documented() -> None:
    commands = all_commands(main)
    assert len(commands) >= 5
    for path, command in commands:
        assert command.help and len(command.help) > 20, f"{path} has no help"
        assert f"`{path}" in README, f"{path} is not in the README's command table"


def test_quick_start_holds_exactly_the_two_commands() -> None:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert lines == ["./run.sh demo", "./run.sh test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run.sh test" in ci
