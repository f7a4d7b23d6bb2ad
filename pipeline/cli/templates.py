"""``ballot template …``: check a template, export its layout or the format's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.common import countable_scale, invalid, read_rules, read_template, rules_option, say, say_scale, words

template_path = click.argument("template_file", type=click.Path(dir_okay=False, path_type=Path))


@click.group("template")
def template_group() -> None:
    """Check ballot templates, show where every box is, or propose one from a blank existing form.

    \b
    Example:
      ballot template check templates/shuangping.yaml
    """


@template_group.command("check")
@template_path
@rules_option
def check_command(template_file: Path, rules_file: Path | None) -> None:
    """Validate TEMPLATE_FILE; print a summary, how the rules count each option, and its content hash.

    Exit status 1 when the template is invalid or the rules cannot count one of its options (say how in the
    rules file's scale / options, then pass it with --rules).

    \b
    Example:
      ballot template check templates/shuangping.yaml --rules default
    """
    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import TemplateInvalid

    template = read_template(template_file)
    try:
        layout = compute_layout(template)
    except TemplateInvalid as error:
        invalid("template_invalid", error)
    rows = sum(len(section.rows) for section in template.sections)
    say("template_summary", id=template.id, title=template.title)
    say("template_counts", sections=len(template.sections), rows=rows, boxes=len(layout.boxes))
    if template.voter_category:
        say("template_category", options=" / ".join(template.voter_category.options))
    for index, section in enumerate(template.sections):
        comment = words("template_comment") if section.comment else ""
        say("template_section", index=index, options=" / ".join(section.all_options), comment=comment)
    say("template_hash", hash=template.content_hash(), short=template.short_hash())
    rules = read_rules(rules_file)
    say_scale(countable_scale(template, rules), rules)


@template_group.command("layout")
@template_path
@click.option("--json", "as_json", is_flag=True, required=True, help="Print the layout as JSON (millimetres).")
def layout_command(template_file: Path, as_json: bool) -> None:
    """Print where every checkbox, registration mark and the QR code sit (mm from the top-left corner).

    \b
    Example:
      ballot template layout templates/shuangping.yaml --json > layout.json
    """
    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import TemplateInvalid

    template = read_template(template_file)
    try:
        layout = compute_layout(template)
    except TemplateInvalid as error:
        invalid("template_invalid", error)
    click.echo(json.dumps(layout.as_json(), ensure_ascii=False, indent=2))


def _register_from_scan() -> None:
    from pipeline.cli.formscan import from_scan_command

    template_group.add_command(from_scan_command)


_register_from_scan()


@template_group.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the template format (committed as templates/template.schema.json).

    \b
    Example:
      ballot template schema > template.schema.json
    """
    from pipeline.ballot.template import json_schema

    click.echo(json_schema(), nl=False)
