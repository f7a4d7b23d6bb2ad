"""``ballot template from-scan``: propose a template from a scan of an existing paper form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from pipeline.cli.common import EXIT_ATTENTION, current_lang, fail, say, words

if TYPE_CHECKING:
    from pipeline.ballot.template import Template
    from pipeline.forms.proposed import FormProposal
    from pipeline.reading.ingest import ScanPage

MAX_OPTIONS = 7  # pipeline.ballot.template.MAX_OPTIONS (not imported: --help stays instant)


@click.command("from-scan")
@click.argument("blank", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Template to write."
)
@click.option("--ocr-lang", "lang", default="chi_sim", show_default=True, help="Tesseract languages, e.g. chi_sim+eng.")
@click.option(
    "--options",
    "options_text",
    default=None,
    help='The options, left to right, comma-separated (2–7, any language), e.g. "非常满意,满意,一般,不满意": '
    "the answer columns they name are taken as they are, without reading their headings.",
)
@click.option(
    "--choice-per",
    type=click.Choice(["row", "column"]),
    default="row",
    show_default=True,
    help="What one question is among free-standing boxes: a row of them (the usual), or a column (an "
    "observation grid: items across, each answered down its column; bands of rows are separate questions).",
)
@click.option("--id", "template_id", default=None, help="Template id (default: from the output file's name).")
@click.option("--page", "page_no", type=click.IntRange(1), default=1, show_default=True, help="Page of BLANK to use.")
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Preview image to write (default: OUTPUT with .preview.png).",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def from_scan_command(
    blank: Path,
    output: Path,
    lang: str,
    options_text: str | None,
    choice_per: Literal["row", "column"],
    template_id: str | None,
    page_no: int,
    preview: Path | None,
    force: bool,
) -> None:
    """Propose a template from BLANK, a scan (PDF, JPEG, PNG, TIFF) of an unfilled existing form (or of a
    filled copy when there is no blank: a few marked boxes are found by their outlines).

    Finds the form's ruled tables and its printed answer boxes (□ or ○) anywhere on the page, groups them
    into rows and option columns, reads the option names and row labels with Tesseract in --ocr-lang, and
    writes the template (source: external) plus a preview image with everything it found outlined; the
    preview is written even when no usable form was found. Labels it is not sure of are listed here and
    marked 待核对 in the YAML: check them against the paper form. Scan the blank at 300 dpi. Exit status: 0
    when everything was read with confidence, 2 when something must be checked, 1 when no usable form was
    found.

    \b
    Example:
      ballot template from-scan blank-form.pdf -o templates/our-form.yaml --options "满意,基本满意,不满意"
    """
    from pipeline.ballot.template import TemplateInvalid
    from pipeline.forms.draft import proposal_template, template_yaml
    from pipeline.forms.ocr import OcrUnavailableError
    from pipeline.forms.preview import not_found_png, preview_png
    from pipeline.forms.proposal import scan_blank
    from pipeline.forms.proposed import FormNotFound

    if output.exists() and not force:
        fail("output_exists", path=output)
    options = _options(options_text)
    template_id = template_id or _slug(output.stem)
    preview = preview or output.with_suffix(".preview.png")
    try:
        proposal = scan_blank(_page(blank, page_no), lang=lang, options=options, choice_per=choice_per)
    except OcrUnavailableError as error:
        fail("as_is", message=error)
    if isinstance(proposal, FormNotFound):
        picture = not_found_png(proposal)
        if picture is not None:
            preview.write_bytes(picture)
        fail("no_form", path=blank, reason=proposal.reason, preview=preview if picture is not None else "-")
    try:
        template, doubts = proposal_template(proposal, template_id)
    except TemplateInvalid as error:
        preview.write_bytes(preview_png(proposal, []))
        fail("not_a_template", table=error.table(), preview=preview)
    output.write_text(template_yaml(template, doubts, str(blank)), encoding="utf-8")
    preview.write_bytes(preview_png(proposal, doubts))
    _summary(template, proposal, output, preview)
    if doubts:
        say("please_check", count=len(doubts))
        for doubt in doubts:
            click.echo(f"  {doubt}")
        raise SystemExit(EXIT_ATTENTION)


def _options(text: str | None) -> tuple[str, ...]:
    """The clerk's --options, checked: 2–7 distinct words."""
    if text is None:
        return ()
    found = tuple(word.strip() for word in re.split(r"[,，、]", text) if word.strip())
    if not 2 <= len(found) <= MAX_OPTIONS or len(set(found)) != len(found):
        raise click.BadParameter(f"2–{MAX_OPTIONS} distinct options, comma-separated", param_hint="--options")
    return found


def _summary(template: Template, proposal: FormProposal, output: Path, preview: Path) -> None:
    rows = sum(len(section.rows) for section in template.sections)
    say("proposed", id=template.id, title=template.title, path=output)
    assert template.external is not None
    for index, (section, place) in enumerate(zip(template.sections, template.external.sections, strict=True)):
        marker = words(f"marker_{place.marker}") + ("" if place.ruled else words("marker_free"))
        options = " / ".join(section.all_options)
        say("proposed_section", index=index, rows=len(section.rows), options=options, marker=marker)
    say("proposed_rows", rows=rows, skew=f"{proposal.skew_deg:+.2f}", path=preview)
    for note in [*proposal.notes, *(note for section in proposal.sections for note in section.notes)]:
        say("proposed_note", note=note)


def _page(path: Path, page_no: int) -> ScanPage:
    from pipeline.common.messages import page_reason
    from pipeline.reading.ingest import UnreadableFile, UnreadablePageImage, inspect_file, read_page

    info = inspect_file(path)
    if isinstance(info, UnreadableFile):
        fail("file_reason", path=path, reason=page_reason(info.reason, current_lang()))
    if page_no > info.page_count:
        fail("no_such_page", path=path, count=info.page_count, page=page_no)
    page = read_page(path, info, page_no)
    if isinstance(page, UnreadablePageImage):
        fail("file_reason", path=path, reason=page_reason(page.reason, current_lang()))
    return page


def _slug(stem: str) -> str:
    """A template id from a file name: lowercase letters, digits and '-' (Chinese names give 'external-form')."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:32]
    return slug or "external-form"


commands = [from_scan_command]
