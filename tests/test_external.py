"""Reading filled copies of existing forms (issue 7, second half): no registration marks, no QR code.

Templates come from blank scans by ``from-scan`` (tests/test_formscan.py); copies are filled with the
simulator's hand-made marks and degraded by its device models. The rule under test: a row is read as the
voter meant it or sent to a clerk, never read as something else; a page that is not one of the forms, or
that cannot be aligned, is rejected with a reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from benchmarks.ocr import CHROMIUM, UNITS, FormSpec, chromium, fill_copy, print_pdf
from pipeline.ballot.layout import compute_layout
from pipeline.ballot.template import Template, load_template
from pipeline.cli import main
from pipeline.common.messages import page_reason
from pipeline.common.reasons import PageReason, Why
from pipeline.forms.draft import proposal_template
from pipeline.forms.proposal import scan_blank
from pipeline.forms.proposed import FormNotFound
from pipeline.forms.read import read_form_sheet
from pipeline.reading.ingest import Gray, ScanPage, pdf_bytes_pages
from pipeline.reading.outcome import SheetRead, SheetRejected
from pipeline.reading.settings import load_settings
from pipeline.review.app import cookie_name, create_app
from pipeline.simulation.degrade import degrade
from pipeline.store.database import open_store

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
# No ruled table: □ after each name (they move with its length), and a scale of boxes joined by rules.
INLINE = FormSpec("inline", "窗口单位满意度测评表", UNITS[14:22], ("满意", "基本满意", "不满意"), style="inline")
LIKERT = FormSpec(
    "likert", "服务对象满意度调查", UNITS[:8], ("非常满意", "满意", "一般", "不满意"), style="likert", row_mm=10.0
)


@pytest.fixture(scope="module")
def forms() -> Iterator[dict[str, tuple[Gray, Template]]]:
    """Each form's clean page (300 dpi) and the template ``from-scan`` made of its blank."""
    made = {}
    with chromium() as browser:
        for spec in (SQUARES, CELLS, RETITLED, INLINE, LIKERT):
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
    result = read_form_sheet(ScanPage("copy.jpg", 1, scanned, None), SESSION, templates, load_settings())
    read = check(result, intent, form)
    assert read >= 0.7 * len(intent), f"only {read} of {len(intent)} rows read ({applied})"
    assert isinstance(result, SheetRead)
    assert result.identified_by == PageReason.of(Why.FORM_BY_TABLE, form=form, forms=2)
    assert page_reason(result.identified_by, "en").endswith(
        "its table matches rule for rule (of 2 forms, the only one)"
    )
    assert result.alignment.residual_mm < 0.5


@pytest.mark.parametrize(
    ("form", "profile", "seed"), [("inline", "office", 11), ("likert", "office", 12), ("likert", "fax", 13)]
)
def test_forms_without_a_ruled_table_are_found_by_their_boxes(
    forms: dict[str, tuple[Gray, Template]], form: str, profile: str, seed: int
) -> None:
    """Inline □ and a scale of boxes are found by their printed places among all five forms; every row is
    read as meant or sent to a clerk."""
    rng = np.random.default_rng(seed)
    page, template = forms[form]
    assert template.external is not None and not template.external.ruled and template.external.anchors
    filled, intent = fill(page, template, rng)
    scanned, applied = degrade(filled, profile, rng, source_dpi=DPI)  # type: ignore[arg-type]
    result = read_form_sheet(
        ScanPage("copy.jpg", 1, scanned, None), SESSION, [t for _, t in forms.values()], load_settings()
    )
    read = check(result, intent, form)
    # The simulator's marks are sized for our 6 mm box: on these 3.7 mm □ many run over the edge or round a
    # neighbour (a ring drawn round one inline box reaches the box above it), which sends the row to a clerk.
    assert read >= 0.5 * len(intent), f"only {read} of {len(intent)} rows read ({applied})"
    assert isinstance(result, SheetRead) and result.identified_by is not None
    assert result.identified_by.code == Why.FORM_BY_PLACES


def test_a_stroke_across_two_rows_goes_to_a_clerk(forms: dict[str, tuple[Gray, Template]]) -> None:
    """One line drawn from a box of one row into a box of the next is no one row's vote (issue 20, item 6)."""
    page, template = forms["likert"]
    layout = compute_layout(template)
    first, second = layout.rows[0].boxes[1].rect, layout.rows[1].boxes[1].rect
    filled = page.copy()
    # Firm enough that each box's part alone would be a vote.
    start = (round((first.x + 0.8) * PX), round((first.y + 0.8) * PX))
    end = (round((second.x + second.w - 0.8) * PX), round((second.y + second.h - 0.8) * PX))
    cv2.line(filled, start, end, 30, round(0.6 * PX))
    result = read_form_sheet(ScanPage("across.png", 1, filled, DPI), SESSION, [template], load_settings())
    assert isinstance(result, SheetRead)
    # The stroke hides both rows' boxes from the place search; the grid one row over matches as many places, but
    # only the true fit has a box outline at every place (Chromium 156's print once fitted one row low).
    centre = np.array([[first.center]], dtype=np.float64)
    placed = cv2.perspectiveTransform(centre, result.alignment.matrix).reshape(2)
    assert np.linalg.norm(placed - np.array(first.center) * PX) < 1.0 * PX, placed / PX
    readings = {reading.unit: reading for reading in result.readings}
    assert [readings[layout.rows[i].unit].reading for i in (0, 1)] == ["pending", "pending"], result.readings[:2]
    assert all(reading.reading == "blank" for reading in result.readings[2:])


@pytest.mark.parametrize("seed", [21, 22])
def test_phone_photos_of_a_form_without_a_ruled_table_are_read_right_or_rejected(
    forms: dict[str, tuple[Gray, Template]], seed: int
) -> None:
    """A tilted, curled photo of the scale of boxes: its places fit one page or the page is rejected with a
    reason; no row is read as something the voter did not mean."""
    rng = np.random.default_rng(seed)
    page, template = forms["likert"]
    filled, intent = fill(page, template, rng)
    photo, _ = degrade(filled, "phone", rng, source_dpi=DPI)
    result = read_form_sheet(ScanPage("photo.jpg", 1, photo, None), SESSION, [template], load_settings())
    if isinstance(result, SheetRejected):
        assert result.outcome == "unreadable"
    else:
        check(result, intent, "likert")


@pytest.mark.parametrize("seed", [4, 7])
def test_phone_photos_are_read_right_or_rejected(forms: dict[str, tuple[Gray, Template]], seed: int) -> None:
    """A curled, tilted photo is rectified on the table's border; when its lines do not fit one flat page
    it is rejected with a reason, never read on a bad fit."""
    rng = np.random.default_rng(seed)
    page, template = forms["squares"]
    filled, intent = fill(page, template, rng)
    photo, _ = degrade(filled, "phone", rng, source_dpi=DPI)
    result = read_form_sheet(ScanPage("photo.jpg", 1, photo, None), SESSION, [template], load_settings())
    if isinstance(result, SheetRejected):
        assert result.outcome == "unreadable" and "rescan" in page_reason(result.reason, "en")
    else:
        check(result, intent, "squares")


def test_upside_down_copy(forms: dict[str, tuple[Gray, Template]]) -> None:
    rng = np.random.default_rng(5)
    page, template = forms["squares"]
    filled, intent = fill(page, template, rng)
    turned = np.ascontiguousarray(filled[::-1, ::-1])
    result = read_form_sheet(ScanPage("turned.png", 1, turned, DPI), SESSION, [template], load_settings())
    assert check(result, intent, "squares") >= 0.7 * len(intent)
    assert isinstance(result, SheetRead) and result.alignment.rotation == 180


def test_forms_with_the_same_table_are_told_apart_by_their_title(forms: dict[str, tuple[Gray, Template]]) -> None:
    rng = np.random.default_rng(6)
    page, template = forms["retitled"]
    filled, intent = fill(page, template, rng)
    templates = [forms["squares"][1], forms["retitled"][1]]
    result = read_form_sheet(ScanPage("r.png", 1, filled, DPI), SESSION, templates, load_settings())
    check(result, intent, "retitled")
    assert isinstance(result, SheetRead) and result.identified_by is not None
    assert (
        result.identified_by.code == Why.FORM_BY_TITLE
        and result.identified_by.detail["title"] == "机关科室满意度测评表"
    )


def test_a_form_that_is_not_configured_is_rejected(forms: dict[str, tuple[Gray, Template]]) -> None:
    page, _ = forms["cells"]
    result = read_form_sheet(ScanPage("other.png", 1, page, DPI), SESSION, [forms["squares"][1]], load_settings())
    assert isinstance(result, SheetRejected) and result.outcome == "unreadable"
    assert result.reason == PageReason.of(
        Why.FORM_NOT_FOUND, failures=[{"code": "form_table_missing", "form": "squares"}]
    )
    assert page_reason(result.reason, "en") == (
        "no configured form found on this page "
        "(squares: its table was not found (another form, or the table is cut off))"
    )


def test_a_blank_page_is_blank(forms: dict[str, tuple[Gray, Template]]) -> None:
    white = np.full((2339, 1654), 250, np.uint8)
    result = read_form_sheet(ScanPage("back.png", 1, white, 200.0), SESSION, [forms["squares"][1]], load_settings())
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


def test_a_batch_of_filled_forms_is_scanned_reviewed_and_reported(
    forms: dict[str, tuple[Gray, Template]], tmp_path: Path
) -> None:
    """The clerk's whole job on an existing form, through the command line: from-scan the blank, scan a
    folder of filled copies (with a back page, a page of a form not configured and one image saved twice),
    settle the flagged rows, report. The review crops and the spreadsheet work as for our own ballots."""
    page, _ = forms["squares"]
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), page)
    form = tmp_path / "squares.yaml"
    made = CliRunner().invoke(main, ["template", "from-scan", str(blank), "-o", str(form)])
    assert made.exit_code == 0, made.output
    template = load_template(form)

    scans, rng = tmp_path / "scans", np.random.default_rng(11)
    scans.mkdir()
    intents: dict[str, dict[str, str | None]] = {}
    for index in range(6):
        filled, intent = fill(page, template, rng)
        scanned, _ = degrade(filled, "office", rng, source_dpi=DPI)
        name = f"copy-{index}.png"
        cv2.imwrite(str(scans / name), scanned)
        intents[str(scans / name)] = intent
    (scans / "again").mkdir()
    cv2.imwrite(str(scans / "again" / "copy-0-rescued.png"), cv2.imread(str(scans / "copy-0.png")))  # same pixels
    cv2.imwrite(str(scans / "zz-back.png"), np.full((3508, 2480), 247, np.uint8))
    cv2.imwrite(str(scans / "zz-other-form.png"), forms["cells"][0])

    db = tmp_path / "forms.db"
    scanned = CliRunner().invoke(
        main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1", "--form", str(form)]
    )
    assert scanned.exit_code == 2, scanned.output  # a duplicate and a foreign page need a clerk's look
    exported = CliRunner().invoke(main, ["export", "--session", SESSION, "--db", str(db), "--format", "jsonl"])
    pages = {Path(line["source"]).name: line for line in map(json.loads, exported.output.splitlines())}
    assert {name: line["outcome"] for name, line in pages.items()} == {
        **{f"copy-{index}.png": "read" for index in range(6)},
        "copy-0-rescued.png": "duplicate",
        "zz-back.png": "blank",
        "zz-other-form.png": "unreadable",
    }
    assert pages["copy-1.png"]["reason"] == "表格 squares：表格线逐条对上"
    assert pages["copy-0-rescued.png"]["reason_code"] == Why.DUPLICATE_IMAGE
    assert pages["zz-other-form.png"]["reason_code"] == Why.FORM_NOT_FOUND
    assert pages["copy-1.png"]["serial"] is None

    store = open_store(db)
    assert [found.id for found in store.session_forms(SESSION)] == ["squares"]
    client = create_app(store, SESSION, "t" * 32, "测试员").test_client()
    client.set_cookie(cookie_name("t" * 32), "t" * 32)
    queued = client.get("/api/queue").get_json()["rows"]
    assert len(queued) == store.pending_rows(SESSION)
    for row in queued[:3]:
        crop = client.get(row["crop"]["url"])
        assert crop.status_code == 200 and crop.mimetype == "image/png"
    for flagged in store.flagged_rows(SESSION):
        meant = intents[flagged.source][flagged.state.unit]
        kind, choice = ("choice", meant) if meant else ("blank", None)
        store.decide_row(
            SESSION, flagged.state.page_id, flagged.state.unit, kind, choice, "测试员", flagged.state.version
        )  # type: ignore[arg-type]
    for name, line in pages.items():  # what the machine read on its own is what the voter meant
        for unit, row in line.get("rows", {}).items():
            if row["reading"] not in ("pending",) and line["outcome"] == "read":
                meant = intents[str(scans / name)][unit]
                assert row["reading"] == (meant or "blank"), (name, unit, row)
    report = tmp_path / "result.xlsx"
    refused = CliRunner().invoke(main, ["report", "--session", SESSION, "--db", str(db), "-o", str(report)])
    assert refused.exit_code == 2 and "2 页未计入的扫描页待处理" in refused.output, refused.output
    for rejected in store.review_pages(SESSION, rejected=True):  # the rescan confirmed, the other form set aside
        kind = "not_counted" if rejected.outcome == "duplicate" else "not_ballot"
        store.decide_page(SESSION, rejected.page_id, kind, "测试员", rejected.state.version)
    store.close()

    result = CliRunner().invoke(main, ["report", "--session", SESSION, "--db", str(db), "-o", str(report)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(report)["测评结果"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(row for row in rows if "单位名称" in row)
    column = {name: header.index(name) for name in ("单位名称", *SQUARES.options)}
    expected = {unit: Counter(intent[unit] for intent in intents.values()) for unit in SQUARES.units}
    seen = set()
    for row in rows:
        unit = row[column["单位名称"]]
        if unit in expected:
            seen.add(unit)
            assert [row[column[option]] for option in SQUARES.options] == [
                expected[unit][option] for option in SQUARES.options
            ], unit
    assert seen == set(SQUARES.units)


def test_scan_refuses_our_own_template_as_a_form_and_a_changed_form_of_the_same_id(
    forms: dict[str, tuple[Gray, Template]], tmp_path: Path
) -> None:
    db, scans = tmp_path / "f.db", tmp_path / "scans"
    scans.mkdir()
    ours = CliRunner().invoke(
        main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--form", "templates/shuangping.yaml"]
    )
    assert ours.exit_code == 1 and "二维码" in ours.output
    _, template = forms["squares"]
    first, changed = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump(template.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    edited = template.model_copy(update={"title": template.title + "（修订）"})
    changed.write_text(yaml.safe_dump(edited.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    args = ["scan", str(scans), "--session", SESSION, "--db", str(db), "--form"]
    assert CliRunner().invoke(main, [*args, str(first)]).exit_code == 0
    refused = CliRunner().invoke(main, [*args, str(changed)])
    assert refused.exit_code == 1 and "已按另一版本读取" in refused.output
    english = CliRunner().invoke(main, ["--lang", "en", *args, str(changed)])
    assert english.exit_code == 1 and "different version" in english.output
    printed = CliRunner().invoke(main, ["print", str(first), "--session", SESSION, "--copies", "1", "-o", "x.pdf"])
    assert printed.exit_code == 1 and "现有的纸质表格" in printed.output
