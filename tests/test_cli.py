"""The command line's contract: exit statuses (a usage error is never taken for "needs a clerk's attention"),
documented in the README as the code has them, and shipped rules presets reachable by name."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.cli.common import EXIT_ATTENTION, EXIT_FAILED, EXIT_USAGE
from pipeline.counting.rules import RULES_DIR, describe, load_rules, rules_path
from tests.conftest import ROOT
from tests.test_docs import all_commands

COMMANDS = [("ballot", main), *all_commands(main)]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_an_unknown_option_is_a_usage_error_for_every_command(
    runner: CliRunner, path: str, command: click.Command
) -> None:
    result = runner.invoke(main, [*path.split()[1:], "--no-such-option"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "No such option '--no-such-option'" in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["scan"], "Missing argument 'PATHS...'"),  # a missing argument
        (["status"], "Missing option '--session'"),  # a missing option
        (["print", "templates/shuangping.yaml", "--session", "2026H1", "--copies", "0", "-o", "x.pdf"], "--copies"),
        (["nonsense"], "No such command 'nonsense'"),
        (["override", "nonsense"], "No such command 'nonsense'"),
        (["template"], "template [OPTIONS] COMMAND"),  # a group without its command
        (["scan", "x", "--session", "2026H1", "--db", "."], "is a directory"),
    ],
)
def test_usage_errors_exit_64(runner: CliRunner, args: list[str], said: str) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert said in result.output


def test_the_exit_statuses_are_distinct_and_documented() -> None:
    assert len({0, EXIT_FAILED, EXIT_ATTENTION, EXIT_USAGE}) == 4
    table = README_EXIT_TABLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert [int(status) for status in table] == [0, EXIT_FAILED, EXIT_ATTENTION, EXIT_USAGE]
    assert all(f"  {status} " in (main.help or "") for status in (EXIT_FAILED, EXIT_ATTENTION, EXIT_USAGE))


README_EXIT_TABLE = re.compile(r"^\| (\d+) \| ", re.M)


def test_a_rules_preset_is_named_without_its_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed program has no templates/ folder to point at: ``--rules majority`` is the shipped preset,
    unless a file of that name is where the command runs."""
    assert rules_path(Path("majority")) == RULES_DIR / "majority.yaml"
    assert rules_path(Path("nope")) == Path("nope")
    result = runner.invoke(main, ["rules", "check", "bottom3"])
    bottom = load_rules(RULES_DIR / "bottom3.yaml")
    assert result.exit_code == 0 and result.output.startswith(f"{bottom.name}\n{describe(bottom)}\n")
    monkeypatch.chdir(tmp_path)
    Path("majority").write_text("name: 本地规则\ngrading: {method: bands}\n", encoding="utf-8")
    assert rules_path(Path("majority")) == Path("majority")
    local = runner.invoke(main, ["rules", "check", "majority"])
    assert local.exit_code == 0 and local.output.startswith("本地规则\n"), local.output


def test_the_demo_empties_only_an_earlier_demo(runner: CliRunner, tmp_path: Path) -> None:
    """``-o`` may name any folder: one holding anything but an earlier demo is refused, not emptied."""
    kept = tmp_path / "mine.txt"
    kept.write_text("a clerk's file", encoding="utf-8")
    result = runner.invoke(main, ["demo", "-o", str(tmp_path)])
    assert result.exit_code == EXIT_FAILED and "也不是以前的演示" in result.output
    assert kept.read_text(encoding="utf-8") == "a clerk's file"
