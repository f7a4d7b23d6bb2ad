"""Real forms (issue 20): ``from-scan`` and reading on forms other people made and scanned for other tools.

The scans are in ``shared/real-forms/`` beside the checkout (not copied into the project); what each filled
page says was written down by looking at it (tests/fixtures/real-forms/). The rules under test: every form's
grid is found (its sections and rows), and no row whose truth is certain is read as something else without a
word; pages of another form are rejected. How many rows go to a clerk is measured by benchmarks/realforms.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks.realforms import fixtures, load_page, measure, propose, real_forms_folder
from pipeline.cli import main
from pipeline.reading.identify import Catalog

FOLDER = real_forms_folder()
pytestmark = pytest.mark.skipif(FOLDER is None, reason="shared/real-forms not found beside the checkout")
PAGES = 6  # filled pages read per form here (the benchmark reads them all)


def _subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The fixture with its first PAGES pages of the form and two pages of another form, if it lists any."""
    mine = [page for page in spec["pages"] if not page.get("other_form")][:PAGES]
    others = [page for page in spec["pages"] if page.get("other_form")][:2]
    return {**spec, "pages": mine + others}


@pytest.mark.parametrize("spec", fixtures(), ids=lambda spec: spec["form"])
def test_the_grid_is_found_and_no_certain_row_is_misread(spec: dict[str, Any]) -> None:
    assert FOLDER is not None
    result = measure(_subset(spec), FOLDER)
    assert result.sections == spec["template"]["sections"]
    assert result.wrong == []
    assert result.rejected == []
    # Most clear rows are read (the rest go to a clerk): a form found but misaligned would send them all.
    assert result.right >= 0.75 * result.certain, result


def test_a_filled_copy_serves_as_the_blank_when_there_is_none() -> None:
    """The patient survey's first filled page: the ticked boxes are found by their outlines."""
    assert FOLDER is not None
    spec = next(spec for spec in fixtures() if spec["form"] == "crc-patient-survey")
    template = propose(spec, FOLDER, filled=True)
    assert [len(section.rows) for section in template.sections] == spec["filled_template"]["sections"]
    assert template.external is not None
    assert all(len(row.boxes) == 5 for row in template.external.sections[0].rows)


def test_the_questionnaire_s_inline_question_vertical_lists_and_likert_block_are_found() -> None:
    """Question 1 (Female ○ Male ○, the text before each place), questions 2 and 3 (options one under another,
    the two lists side by side), question 4 (a Likert block); question 5, a multiple-choice grid, is reported."""
    assert FOLDER is not None
    from pipeline.forms.proposal import scan_blank
    from pipeline.forms.proposed import FormProposal

    page = load_page(FOLDER / "formscanner/Questionnaire.pdf", 1)
    proposal = scan_blank(page, lang="eng")
    assert isinstance(proposal, FormProposal)
    found = [(len(section.rows), len(section.options)) for section in proposal.sections]
    assert found == [(1, 2), (1, 6), (1, 5), (3, 4)]
    first, ages, meals, _ = proposal.sections
    assert [option.word for option in first.options] == ["Female", "Male"]
    assert [option.word for option in ages.options] == ["Under 25", "25-29", "30-39", "40-49", "50-59", "60 or more"]
    assert ages.rows[0].label.text.startswith("How old are you")
    assert meals.rows[0].label.text.startswith("How often do you eat at restaurants")
    # The two lists' places stand in two columns, top to bottom.
    for section in (ages, meals):
        xs = [box[0] for box in section.rows[0].boxes]
        ys = [box[1] for box in section.rows[0].boxes]
        assert max(xs) - min(xs) < 5 and ys == sorted(ys)
    assert any("multiple-choice grid" in note for note in proposal.notes), proposal.notes


def test_the_preview_is_written_and_a_next_step_given_when_no_form_is_found(tmp_path: Path) -> None:
    """The questionnaire's bubbles name four options at most; asking for seven finds no usable block."""
    assert FOLDER is not None
    output = tmp_path / "q.yaml"
    result = CliRunner().invoke(
        main,
        [
            "--lang",
            "en",
            "template",
            "from-scan",
            str(FOLDER / "formscanner/Questionnaire.pdf"),
            "-o",
            str(output),
            "--ocr-lang",
            "eng",
            "--options",
            "1,2,3,4,5,6,7",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Next:" in result.output and "answer places" in result.output
    assert not output.exists()
    preview = tmp_path / "q.preview.png"
    assert preview.exists() and preview.stat().st_size > 10_000


def test_a_form_printing_its_own_qr_code_is_read_and_told_apart_by_it(tmp_path: Path) -> None:
    """The questionnaire prints its own QR code on every copy: the page is not refused as a foreign ballot
    but read as the form; and of two forms alike, the one listing that code is taken."""
    assert FOLDER is not None
    from pipeline.reading.debug import DebugWriter
    from pipeline.reading.outcome import SheetRead
    from pipeline.reading.settings import load_settings
    from pipeline.scanning.page import read_page

    spec = next(spec for spec in fixtures() if spec["form"] == "formscanner-questionnaire")
    form = propose(spec, FOLDER)
    assert form.external is not None and form.external.codes  # read from the blank
    twin = form.model_copy(
        update={"id": "twin", "title": "另一张表", "external": form.external.model_copy(update={"codes": []})}
    )
    page = load_page(FOLDER / "formscanner/Q00001.jpg", 1)
    read = read_page(page, "2026H1", Catalog({}, {}), [twin, form], load_settings(), DebugWriter(None))
    assert isinstance(read, SheetRead), read
    assert read.sheet.template_id == form.id
    assert read.identified_by is not None and read.identified_by.code == "form_by_code"
