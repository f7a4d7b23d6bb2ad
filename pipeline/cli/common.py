"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from pipeline.ballot.template import Template, TemplateInvalid, load_template, normalise_session, validate_session
from pipeline.store.core import StoreError
from pipeline.store.database import Store, default_db_path, open_store

if TYPE_CHECKING:
    from pipeline.counting.rules import Rules
    from pipeline.counting.scale import Scale

F = TypeVar("F", bound=Callable[..., Any])

#: Exit status when the command ran but something needs a clerk's attention (rejected pages, bad input).
EXIT_ATTENTION = 2
#: Exit status when the command could not run at all (bad template, unusable database).
EXIT_FAILED = 1
#: Exit status of a usage error: unknown command or option, a bad or missing value (BSD's EX_USAGE). click's own
#: status for these is 2, which scripts would take for EXIT_ATTENTION.
EXIT_USAGE = 64


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="SQLite store (default: $BALLOT_DB or output/ballots.db).",
    )(func)


def session_option(func: F) -> F:
    return click.option("--session", required=True, callback=_check_session, help="Evaluation round, e.g. 2026H1.")(
        func
    )


def _check_session(ctx: click.Context, param: click.Parameter, value: str) -> str:
    session = normalise_session(value)
    problem = validate_session(session)
    if problem:
        raise click.BadParameter(problem)
    return session


def open_db(db_path: Path | None) -> Store:
    try:
        return open_store(db_path or default_db_path())
    except StoreError as error:
        fail(str(error))


def read_template(path: Path) -> Template:
    try:
        return load_template(path)
    except TemplateInvalid as error:
        click.echo(f"模板有误 / invalid template: {error.source}", err=True)
        click.echo(error.table(), err=True)
        raise SystemExit(EXIT_FAILED) from None


def fail(message: str, status: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"错误 / error: {message}", err=True)
    raise SystemExit(status)


rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Rules file, or a shipped preset: default (the default), majority, bottom3.",
)


def read_rules(rules_file: Path | None) -> Rules:
    """The rules of --rules: a file, or a shipped preset by name (None: the default preset)."""
    from pipeline.counting.rules import RulesInvalid, load_rules, rules_path

    try:
        return load_rules(None if rules_file is None else rules_path(rules_file))
    except RulesInvalid as error:
        fail(f"计票规则有误 / invalid rules: {error.source}\n{error.table()}")


def countable_scale(template: Template, rules: Rules) -> Scale:
    """How ``rules`` count every option of ``template``; exits (status 1) saying what to write when they cannot."""
    from pipeline.counting.scale import Scale, template_scale

    scale = template_scale(template, rules)
    if not isinstance(scale, Scale):
        fail(f"{scale.message} / these rules cannot count options {', '.join(scale.unknown)}")
    return scale


def scale_lines(scale: Scale, rules: Rules) -> list[str]:
    """What ``template check`` and ``print`` say about counting: each option's class and weight."""
    preset = f"，预设 {scale.preset}" if scale.preset else ""
    lines = [f"  计票 / counting（规则「{rules.name}」{preset}）:"]
    for entry in scale.options:
        counted = "计入" if rules.denominators.dont_know else "不计入"
        weight = f"{counted}有效票" if entry.counts_as == "不了解" else f"综合满意率权重 {float(entry.weight):g}"
        lines.append(f"    {entry.option} → {entry.counts_as}（{weight}）")
    return lines
