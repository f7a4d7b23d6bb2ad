"""The ``ballot`` command: thin click wrappers over the pipeline (heavy imports inside commands)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from pipeline import __version__
from pipeline.cli.common import EXIT_USAGE, LANG_KEY, fail
from pipeline.cli.demo import demo_command
from pipeline.cli.office import commands as office_commands
from pipeline.cli.printing import print_command
from pipeline.cli.reading import commands as reading_commands
from pipeline.cli.results import commands as results_commands
from pipeline.cli.review import commands as review_commands
from pipeline.cli.simulate import simulate_command
from pipeline.cli.templates import template_group


@contextmanager
def _usage_status() -> Iterator[None]:
    """A usage error (unknown command or option, bad value) leaves with EXIT_USAGE instead of click's 2."""
    try:
        yield
    except click.UsageError as error:
        # click declares the status per exception class; this one error alone leaves with ours.
        error.exit_code = EXIT_USAGE  # type: ignore[misc]
        raise


class BallotGroup(click.Group):
    """The top-level group. Usage errors of every command exit with EXIT_USAGE: the subcommands' arguments are
    parsed inside this group's ``invoke``, its own in ``make_context``. The store failing underneath a command
    (read-only file, full disk, locked too long) becomes a clear message and exit status 1; the database is
    left as it was by the interrupted transaction."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with _usage_status():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> object:
        import sqlite3

        try:
            with _usage_status():
                return super().invoke(ctx)
        except sqlite3.OperationalError as error:
            message = str(error)
            if not any(word in message for word in ("readonly", "read-only", "full", "locked", "disk", "I/O")):
                raise
            fail("db_unwritable", error=message)


@click.group(cls=BallotGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ballot")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    envvar="BALLOT_LANG",
    help="Language of messages and summaries (and of the review page): zh 中文, en English. Env: BALLOT_LANG.",
)
@click.pass_context
def main(ctx: click.Context, lang: str) -> None:
    """Count paper 双评双比 satisfaction ballots: print, scan, review, tally, report.

    Every command that uses the store takes --db FILE (default: $BALLOT_DB or output/ballots.db). Messages are
    in Chinese unless --lang en (or BALLOT_LANG=en); times are shown in the office's time zone: BALLOT_TZ
    (e.g. Asia/Urumqi), else Asia/Shanghai.

    \b
    Exit status:
      0   done
      1   could not run (a bad template, rules or settings file; an unusable database)
      2   ran, but something needs a clerk's attention (rejected pages, rows awaiting review)
      64  usage error (unknown command or option, a missing or bad value)

    \b
    Example:
      ballot demo
    """
    ctx.meta[LANG_KEY] = lang


main.add_command(demo_command)
main.add_command(print_command)
main.add_command(template_group)
main.add_command(simulate_command)
for command in [*reading_commands, *review_commands, *results_commands, *office_commands]:
    main.add_command(command)
