"""The ``ballot`` command: thin click wrappers over the pipeline (heavy imports inside commands)."""

from __future__ import annotations

import click

from pipeline import __version__
from pipeline.cli.demo import demo_command
from pipeline.cli.printing import print_command
from pipeline.cli.reading import commands as reading_commands
from pipeline.cli.results import commands as results_commands
from pipeline.cli.review import commands as review_commands
from pipeline.cli.simulate import simulate_command
from pipeline.cli.templates import template_group


class BallotGroup(click.Group):
    """Turns the store failing underneath a command (read-only file, full disk, locked too long) into a
    clear message and exit status 1; the database is left as it was by the interrupted transaction."""

    def invoke(self, ctx: click.Context) -> object:
        import sqlite3

        try:
            return super().invoke(ctx)
        except sqlite3.OperationalError as error:
            message = str(error)
            if not any(word in message for word in ("readonly", "read-only", "full", "locked", "disk", "I/O")):
                raise
            click.echo(f"错误 / error: the database cannot be written ({message}); nothing was lost.", err=True)
            click.echo("  check that the disk has room and the file is writable, then run the command again.", err=True)
            raise SystemExit(1) from None


@click.group(cls=BallotGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ballot")
def main() -> None:
    """Count paper 双评双比 satisfaction ballots: print, scan, review, tally, report."""


main.add_command(demo_command)
main.add_command(print_command)
main.add_command(template_group)
main.add_command(simulate_command)
for command in [*reading_commands, *review_commands, *results_commands]:
    main.add_command(command)
