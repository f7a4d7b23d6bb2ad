"""``ballot print``: printable PDF ballots with fresh random serials."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import (
    countable_scale,
    db_option,
    fail,
    invalid,
    open_db,
    read_rules,
    read_template,
    rules_option,
    say,
    say_scale,
    session_option,
)


@click.command("print")
@click.argument("template_file", type=click.Path(dir_okay=False, path_type=Path))
@session_option
@click.option("--copies", type=click.IntRange(1, 5000), required=True, help="Number of ballots (pages).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file.")
@rules_option
@db_option
def print_command(
    template_file: Path, session: str, copies: int, output: Path, rules_file: Path | None, db_path: Path | None
) -> None:
    """Print COPIES ballots of TEMPLATE_FILE for SESSION into one PDF, one page per ballot.

    Each ballot gets a fresh random serial in its QR code, recorded in the store; the template as printed is
    kept there too, so a later edit of the file never changes how these sheets are read. Refused (exit status 1)
    when the counting rules (--rules, default: the shipped default preset) cannot count one of the template's
    options: ballots that cannot be counted are never printed.

    \b
    Example:
      ballot print templates/shuangping.yaml --session 2026H1 --copies 120 -o 2026H1-测评票.pdf
    """
    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import TemplateInvalid
    from pipeline.common.fonts import FontMissing
    from pipeline.printing.render import render_ballots

    template = read_template(template_file)
    if template.source == "external":
        fail("form_not_printed", path=template_file)
    try:
        compute_layout(template)
    except TemplateInvalid as error:
        invalid("template_invalid", error)
    rules = read_rules(rules_file)
    scale = countable_scale(template, rules)
    store = open_db(db_path)
    serials = store.issue_serials(session, template, copies, str(output))
    try:
        render_ballots(template, session, serials, output)
        store.blank_rendering(template)  # the scorer's copy of the blank, so that scanning need not render it
    except FontMissing as error:
        fail("font_missing", message=error)
    say("printed", copies=copies, path=output, session=session, template=template.id, db=store.path)
    say_scale(scale, rules)
    say("shuffle")
