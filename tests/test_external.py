"""Reading filled copies of existing forms (issue 7, second half): no registration marks, no QR code.

Templates come from blank scans by ``from-scan`` (tests/test_formscan.py); copies are filled with the
simulator's hand-made marks and degraded by its device models. The rule under test: a row is read as the
voter meant it or sent to a clerk, never read as something else; a page that is not one of the forms, or
that cannot be aligned, is rejected with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks.ocr import CHROMIUM, UNITS, FormSpec, chromium, fill_copy, print_pdf
from pipeline.degrade import degrade
from pipeline.external import read_external_sheet
from pipeline.formscan import FormNotFound, proposal_template, scan_blank
from pipeline.ingest import Gray, ScanPage, pdf_bytes_pages
from pipeline.layout import compute_layout
from pipeline.settings import load_settings
from pipeline.sheet import SheetRead, SheetRejected
from pipeline.template import Template

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

DPI = 300.0
PX = DPI / 25.4
SESSION = "2026H1"
SQUARES = FormSpec(
    "squares", "2026年度满意度测评表", UNITS[:8], ("满意", "基本满意", "不满意"), "Noto Sans CJK SC", 12.0
)
CELLS = FormSpec(
    "cells",
    "二级单位满意度测评表",
    UNITS[8:18],
    ("满意", "基本满意", "不满意", "不了解"),
    "Noto Serif CJK SC",
    12.0,
    boxes=False,
    merged_heading=True,
    remark_column=True,
)
# The squares form again under another title: the same table, told apart by OCR of the title only.
RETITLED = FormSpec("retitled", "机关科室满意度测评表", SQUARES.units, SQUARES.options, SQUARES.font, SQUARES.size_pt)


@pytest.fixture(scope="module")
def forms() -> Iterator[dict[str, tuple[Gray, Template]]]:
    """Each form's clean page (300 dpi) and the template ``from-scan`` made of its blank."""
    made = {}
    with chromium() as browser:
        for spec in (SQUARES, CELLS, RETITLED):
            page = pdf_bytes_pages(print_pdf(browser, spec), DPI)[0]
            proposal = scan_blank(ScanPage(f"{spec.name}.png", 1, page, DPI))
            assert not isinstance(proposal, FormNotFound)
            template, _ = proposal_template(proposal, spec.name)
            made[spec.name] = (page, template)
    yield made


def fill(page: Gray, template: Template, rng: np.random.Generator) -> tuple[Gray, dict[str, str | None]]:
    return fill_copy(page, template, rng, pencil=False)


def check(result: SheetRead | SheetRejected, intent: dict[str, str | None], form: str) -> int:
    """Assert no row is misread; return how many were read (the rest went to review)."""
    assert isinstance(result, SheetRead), result
    assert result.sheet.template_id == form
    read = 0
    for reading in result.readings:
        if reading.reading == "pending":
            continue
        meant = intent[reading.unit]
        assert (reading.choice if reading.reading == "choice" else None) == meant, (reading, meant)
        assert reading.reading in ("choice", "blank")
        read += 1
    return read


@pytest.mark.parametrize(
    ("form", "profile", "seed"), [("squares", "office", 1), ("cells", "office", 2), ("cells", "fax", 3)]
)
def test_filled_copies_are_read_or_sent_to_review(
    forms: dict[str, tuple[Gray, Template]], form: str, profile: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    page, template = forms[form]
    templates = [forms["squares"][1], forms["cells"][1]]
    filled, intent = fill(page, template, rng)
    scanned, applied = degrade(filled, profile, rng, source_dpi=DPI)  # type: ignore[arg-type]
    result = read_external_sheet(ScanPage("copy.jpg", 1, scanned, None), SESSION, templates, load_settings())
    read = check(result, intent, form)
    assert read >= 0.7 * len(intent), f"only {read} of {len(intent)} rows read ({applied})"
    assert isinstance(result, SheetRead)
    assert "its table matches rule for rule (of 2 forms, the only one)" in result.identified_by
    assert result.alignment.residual_mm < 0.5


@pytest.mark.parametrize("seed", [4, 7])
def test_phone_photos_are_read_right_or_rejected(forms: dict[str, tuple[Gray, Template]], seed: int) -> None:
    """A curled, tilted photo is rectified on the table's border; when its lines do not fit one flat page
    it is rejected with a reason, never read on a bad fit."""
    rng = np.random.default_rng(seed)
    page, template = forms["squares"]
    filled, intent = fill(page, template, rng)
    photo, _ = degrade(filled, "phone", rng, source_dpi=DPI)
    result = read_external_sheet(ScanPage("photo.jpg", 1, photo, None), SESSION, [template], load_settings())
    if isinstance(result, SheetRejected):
        assert result.outcome == "unreadable" and "rescan" in result.reason
    else:
        check(result, intent, "squares")


def test_upside_down_copy(forms: dict[str, tuple[Gray, Template]]) -> None:
    rng = np.random.default_rng(5)
    page, template = forms["squares"]
    filled, intent = fill(page, template, rng)
    turned = np.ascontiguousarray(filled[::-1, ::-1])
    result = read_external_sheet(ScanPage("turned.png", 1, turned, DPI), SESSION, [template], load_settings())
    assert check(result, intent, "squares") >= 0.7 * len(intent)
    assert isinstance(result, SheetRead) and result.alignment.rotation == 180


def test_forms_with_the_same_table_are_told_apart_by_their_title(forms: dict[str, tuple[Gray, Template]]) -> None:
    rng = np.random.default_rng(6)
    page, template = forms["retitled"]
    filled, intent = fill(page, template, rng)
    templates = [forms["squares"][1], forms["retitled"][1]]
    result = read_external_sheet(ScanPage("r.png", 1, filled, DPI), SESSION, templates, load_settings())
    check(result, intent, "retitled")
    assert isinstance(result, SheetRead) and "title read as '机关科室满意度测评表'" in result.identified_by


def test_a_form_that_is_not_configured_is_rejected(forms: dict[str, tuple[Gray, Template]]) -> None:
    page, _ = forms["cells"]
    result = read_external_sheet(ScanPage("other.png", 1, page, DPI), SESSION, [forms["squares"][1]], load_settings())
    assert isinstance(result, SheetRejected) and result.outcome == "unreadable"
    assert "no configured form found" in result.reason and "squares: its table was not found" in result.reason


def test_a_blank_page_is_blank(forms: dict[str, tuple[Gray, Template]]) -> None:
    white = np.full((2339, 1654), 250, np.uint8)
    result = read_external_sheet(ScanPage("back.png", 1, white, 200.0), SESSION, [forms["squares"][1]], load_settings())
    assert isinstance(result, SheetRejected) and result.outcome == "blank"


def test_the_layout_of_a_form_places_boxes_on_the_blank_page(forms: dict[str, tuple[Gray, Template]]) -> None:
    _, template = forms["cells"]
    layout = compute_layout(template)
    assert template.external is not None
    assert (layout.page_w, layout.page_h) == (template.external.page_w_mm, template.external.page_h_mm)
    assert [row.unit for row in layout.rows] == list(CELLS.units)
    first = layout.rows[0]
    assert first.options == ("满意", "基本满意", "不满意", "不了解")
    cell = first.boxes[0].rect
    assert 16 < cell.x < 120 and (cell.y, cell.h) == (first.band.y, first.band.h)  # empty cells: the whole cell
    assert layout.registration == () and layout.as_json()["boxes"]
