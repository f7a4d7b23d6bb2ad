"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from pipeline.ballot.template import Template, TemplateInvalid, load_template, normalise_session, validate_session
from pipeline.store.core import StoreError
from pipeline.store.database import Store, default_db_path, open_store

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
