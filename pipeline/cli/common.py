"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from pipeline.ballot.template import Template, TemplateInvalid, load_template, normalise_session, validate_session
from pipeline.common.cli_words import cli_text
from pipeline.common.clock import ZoneUnknown, office_zone
from pipeline.common.messages import Lang
from pipeline.store.core import StoreError
from pipeline.store.database import Store, default_db_path, open_store

if TYPE_CHECKING:
    from pipeline.counting.rules import Rules
    from pipeline.counting.scale import Scale

#: Where ``ballot --lang`` is kept for the commands under it (click shares ``meta`` along a context chain).
LANG_KEY = "ballot.lang"

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


def current_lang() -> Lang:
    """The language ``ballot --lang`` chose (Chinese unless told otherwise)."""
    context = click.get_current_context(silent=True)
    chosen = context.meta.get(LANG_KEY) if context is not None else None
    return "en" if chosen == "en" else "zh"


def words(key: str, **values: Any) -> str:
    """The command line's words for ``key`` (:mod:`pipeline.common.cli_words`) in the chosen language."""
    return cli_text(key, current_lang(), **values)


def say(key: str, *, err: bool = False, **values: Any) -> None:
    """Print the words for ``key``."""
    click.echo(words(key, **values), err=err)


def fail(key: str, status: int = EXIT_FAILED, **values: Any) -> NoReturn:
    """Print the words for ``key`` as an error and exit with ``status``."""
    click.echo(words("error", message=words(key, **values)), err=True)
    raise SystemExit(status)


def zone() -> tzinfo:
    """The office's time zone (``BALLOT_TZ``, else Asia/Shanghai); a bad setting is an error the clerk reads."""
    try:
        return office_zone()
    except ZoneUnknown as error:
        fail("zone_unknown", name=error.name)


def open_db(db_path: Path | None) -> Store:
    try:
        return open_store(db_path or default_db_path())
    except StoreError as error:
        fail(error.key, **error.detail)


def read_template(path: Path) -> Template:
    try:
        return load_template(path)
    except TemplateInvalid as error:
        invalid("template_invalid", error)


def invalid(key: str, error: TemplateInvalid) -> NoReturn:
    """A template, rules or settings file with problems: which file, then every problem (``path → message``)."""
    click.echo(words("error", message=words(key, source=error.source)), err=True)
    click.echo(error.table(), err=True)
    raise SystemExit(EXIT_FAILED)


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
        invalid("rules_invalid", error)


def countable_scale(template: Template, rules: Rules) -> Scale:
    """How ``rules`` count every option of ``template``; exits (status 1) saying what to write when they cannot."""
    from pipeline.counting.scale import Scale, template_scale

    scale = template_scale(template, rules)
    if not isinstance(scale, Scale):
        fail("as_is", message=scale.message(current_lang()))
    return scale


def scale_lines(scale: Scale, rules: Rules) -> list[str]:
    """What ``template check`` and ``print`` say about counting: each option's class and weight."""
    preset = words("scale_preset", preset=scale.preset) if scale.preset else ""
    lines = [words("scale_head", rules=rules.name, preset=preset)]
    for entry in scale.options:
        if entry.counts_as == "不了解":
            weight = words("scale_dont_know_counted" if rules.denominators.dont_know else "scale_dont_know_apart")
        else:
            weight = words("scale_weight", weight=f"{float(entry.weight):g}")
        lines.append(words("scale_option", option=entry.option, counts_as=entry.counts_as, weight=weight))
    return lines


def say_scale(scale: Scale, rules: Rules) -> None:
    """Print :func:`scale_lines`."""
    click.echo("\n".join(scale_lines(scale, rules)))
