"""Locate (pipeline.reading.locate): a sheet whose code cannot be read is found by its registration marks, its
serial read from the print and matched against the serials issued when the page is stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.ballot.layout import MARK_SIZE
from pipeline.ballot.payload import SheetId, format_serial
from pipeline.ballot.template import Template
from pipeline.common.reasons import PageReason, Why
from pipeline.counting.ballots import BallotResult
from pipeline.reading import align, locate
from pipeline.reading.align import Alignment, AlignmentFailure, aligned_by, finder_corners, qr_symbol_corners_mm
from pipeline.reading.grow import grow_from_code
from pipeline.reading.identify import BINARIZERS, Identified, QrCode, decode_region, find_small_qr, identify_page
from pipeline.reading.locate import Mark, _fits, anchored_fits, mark_candidates, marks_fit, serial_guess
from pipeline.reading.model import ballot_model
from pipeline.reading.refine import border_model, shift_mm
from pipeline.reading.settings import load_settings
from pipeline.reading.table import tables_mm
from pipeline.scanning.batch import scan
from pipeline.store.database import Store, open_store
from pipeline.store.reading import PageRecord, _distance_within
from pipeline.store.records import HandRow
from tests.helpers import PX, Batch, box, print_batch, save_jpeg, tick

SESSION = "2026H1"
TICKED = {"局机关": "满意", "文化馆": "基本满意", "图书馆": "不满意", "博物馆": "满意"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Batch:
    return print_batch(tmp_path_factory.mktemp("locate"), template, 4)


def ticked(batch: Batch, index: int) -> np.ndarray:
    image = batch.pages()[index]
    for unit, option in TICKED.items():
        tick(image, box(batch.layout, unit, option))
    return image


def smudged(image: np.ndarray, batch: Batch, *, serial: bool = False) -> np.ndarray:
    """``image`` with its code smeared past any decoder (a wet thumb, a heavy JPEG of a photo from afar), and its
    printed serial too if ``serial``."""
    place = batch.layout.qr
    rows = slice(round(place.y * PX), round((place.y + place.h) * PX))
    if serial:
        rows = slice(rows.start, round((batch.layout.serial_text.y + batch.layout.serial_text.h + 0.5) * PX))
    columns = slice(round((place.x - 5) * PX), round((place.x + place.w + 1) * PX))
    image[rows, columns] = cv2.GaussianBlur(image[rows, columns], (0, 0), 1.2 * PX)
    return image


def scan_into(db: Path, folder: Path, image: np.ndarray) -> list[dict]:  # type: ignore[type-arg]
    """``image`` saved as a JPEG in ``folder`` and scanned into the store at ``db``: every page's export line."""
    folder.mkdir()
    save_jpeg(image, folder / "page.jpg", quality=90)
    store = open_store(db)
    scan([folder], store, SESSION, load_settings(), jobs=1)
    lines = [dict(line) for line in store.export_pages(SESSION, "en")]
    store.close()
    return lines


def scanned(tmp_path: Path, batch: Batch, image: np.ndarray) -> dict:  # type: ignore[type-arg]
    [line] = scan_into(batch.fresh_db(tmp_path), tmp_path / "scans", image)
    return line


def test_a_sheet_whose_code_is_smeared_is_found_by_its_marks_and_counted_under_its_printed_serial(
    tmp_path: Path, batch: Batch
) -> None:
    line = scanned(tmp_path, batch, smudged(ticked(batch, 0), batch))
    assert (line["outcome"], line["reason_code"]) == ("read", Why.SERIAL_FROM_TEXT), line["reason"]
    assert line["serial"] == batch.serials[0]
    assert "read from the print as '" in line["reason"]  # the clerk sees what was read off the sheet …
    assert line["reason"].endswith(f"the issued serial {format_serial(batch.serials[0])}")  # … and what it counts as
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_photo_at_an_angle_whose_code_is_smeared_is_read_too(tmp_path: Path, batch: Batch) -> None:
    image = smudged(ticked(batch, 1), batch)
    photo = leaning(image, [(60, 40), (160, 0), (40, 20), (20, 90)])
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[1]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def leaning(image: np.ndarray, insets: list[tuple[int, int]]) -> np.ndarray:
    """``image`` as a photo at an angle on a grey desk: its corners (clockwise from top-left) moved in by ``insets``
    (px, from the frame's side and its top or bottom)."""
    height, width = image.shape
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = insets
    moved = np.float32([[x0, y0], [width - x1, y1], [width - x2, height - y2], [x3, height - y3]])
    return np.asarray(
        cv2.warpPerspective(image, cv2.getPerspectiveTransform(corners, moved), (width, height), borderValue=90),
        dtype=np.uint8,
    )


def counted_by_the_clerk(store: Store, batch: Batch, page_id: int, serial: str) -> BallotResult:
    """A rejected page counted on the review page as a clerk would: the TICKED rows (the others 弃权) under ``serial``
    typed from the paper; the one ballot the session then counts."""
    rows = [
        HandRow(place.unit, "choice", TICKED[place.unit]) if place.unit in TICKED else HandRow(place.unit, "blank")
        for place in batch.layout.rows
    ]
    digest = batch.template.content_hash()
    store.decide_page(SESSION, page_id, "count", "张三", 0, template_hash=digest, rows=rows, serial=serial)
    [ballot] = store.effective_ballots(SESSION)
    return ballot


def test_a_sheet_whose_code_and_serial_are_smeared_is_read_and_counted_once_a_clerk_types_its_serial(
    tmp_path: Path, batch: Batch
) -> None:
    """Issue 19, item 3: a sheet found by its marks whose code and printed serial cannot be read is not counted
    (nothing shows which issued sheet it is, or that it was not counted already), but its rows are read and kept:
    the clerk checks them against the paper and types the serial; it is then counted once, under that serial."""
    db = batch.fresh_db(tmp_path)
    [line] = scan_into(db, tmp_path / "scans", smudged(ticked(batch, 2), batch, serial=True))
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.SERIAL_TO_TYPE), line["reason"]
    assert line["serial"] is None and "type the serial" in line["reason"]
    read = {unit: row["reading"] for unit, row in line["rows"].items() if unit in TICKED}
    assert read == TICKED
    store = open_store(db)
    assert store.effective_ballots(SESSION) == []  # not counted before the clerk gives its serial
    [page] = store.review_pages(SESSION, rejected=True)
    machine = {unit: (reading, choice) for unit, reading, choice, _ in page.machine_rows}
    assert {unit: machine[unit] for unit in TICKED} == {unit: ("choice", option) for unit, option in TICKED.items()}
    serial = batch.serials[2]
    ballot = counted_by_the_clerk(store, batch, page.page_id, serial)
    assert ballot.serial == serial
    counted = {row.unit: row.choice for row in ballot.rows if row.choice}
    assert counted == TICKED and len(ballot.rows) == len(batch.layout.rows) - 1  # each row once (the category apart)
    store.close()
    # The same sheet scanned again, its code clean this time, is a duplicate of the sheet the clerk counted.
    lines = scan_into(db, tmp_path / "again", ticked(batch, 2))
    assert [(line["outcome"], line["serial"]) for line in lines] == [("unreadable", None), ("duplicate", serial)]


def cut_through_the_code(image: np.ndarray, batch: Batch, share: float) -> np.ndarray:
    """``image`` as a photo taken off-centre: leaning a little, its right side cut off ``share`` of the way across
    the code (the two right marks with it, the serial's end too), every box still in."""
    height, width = image.shape
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    leaning = np.float32([[70, 30], [width - 40, 0], [width - 10, height - 30], [30, height - 60]])
    matrix = cv2.getPerspectiveTransform(corners, leaning)
    photo = cv2.warpPerspective(image, matrix, (width, height), borderValue=90)
    code = batch.layout.qr
    edge = cv2.perspectiveTransform(np.float32([[[(code.x + share * code.w) * PX, code.y * PX]]]), matrix)
    return np.ascontiguousarray(photo[:, : round(float(edge[0, 0, 0]))])


def test_a_photo_cutting_off_the_code_and_the_right_marks_is_fitted_from_the_left_two_and_its_boxes(
    tmp_path: Path, batch: Batch
) -> None:
    """Issue 19 (a phone photo taken off-centre, field phone 0008: no_code): the code's right part and the two right
    marks are outside the frame, every box in it. The two left marks give the sheet's scale and turn, and the fit
    grows over the boxes from them (:func:`~pipeline.reading.grow.grow_from_marks`); the serial's characters
    still in the frame pick out the issued serial, and the ballot is counted under it."""
    line = scanned(tmp_path, batch, cut_through_the_code(ticked(batch, 1), batch, 0.75))
    assert (line["outcome"], line["reason_code"]) == ("read", Why.SERIAL_FROM_TEXT), line["reason"]
    assert line["serial"] == batch.serials[1]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_photo_cutting_off_the_code_and_its_serial_is_read_for_a_clerk_to_type_the_serial(
    tmp_path: Path, batch: Batch
) -> None:
    """As above, cut through the code's left part: nothing shows which sheet it is, so it is not counted, but its
    rows are read for the clerk (serial_to_type)."""
    line = scanned(tmp_path, batch, cut_through_the_code(ticked(batch, 3), batch, 0.1))
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.SERIAL_TO_TYPE), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_steep_photo_cutting_off_the_codes_corner_is_fitted_in_perspective_through_three_marks(
    tmp_path: Path, batch: Batch
) -> None:
    """A photo in steep perspective, rolled, with the top right corner (its mark and the code's top) off the frame:
    the affine fit through the other three finds under a third of the box borders (refused no_code before); the
    perspective the three marks' places and sizes make (:func:`~pipeline.reading.locate._through_sized`) finds the
    sheet, and the serial under the code counts it."""
    image = ticked(batch, 2)
    height, width = image.shape
    frame = (int(width * 1.3), int(height * 1.2))
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    inset, turn = width * 0.08, np.radians(-8.0)  # the top edge 84 % as wide as the bottom; rolled 8°
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    tilted = np.float32([[inset, 0], [width - inset, 0], [width, height], [0, height]])
    placed = (tilted - tilted.mean(axis=0)) @ rotation.T + np.array(frame) / 2
    matrix = cv2.getPerspectiveTransform(corners, placed.astype(np.float32))
    photo = cv2.warpPerspective(image, matrix, frame, borderValue=70)
    below = cv2.perspectiveTransform(np.float32([[[199.5 * PX, 14.5 * PX], [181.0 * PX, 27.0 * PX]]]), matrix)
    photo = np.ascontiguousarray(photo[int(below[0, :, 1].max()) :])  # the top right mark and the code's top cut
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[2]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_fit_grown_from_two_marks_is_kept_only_where_no_fit_a_row_or_column_over_finds_as_many_boxes(
    batch: Batch,
) -> None:
    """Rows of boxes look alike: a fit one row over still finds most box borders (BORDERS_FOUND), so a fit grown
    from two marks is checked against its neighbours a pitch away (the table's 11 mm rows, its 20 mm columns)."""
    page = ticked(batch, 0)
    model = ballot_model(batch.template)
    assert sorted(border_model(model).pitches) == [(-20.0, 0.0), (0.0, -11.0), (0.0, 11.0), (20.0, 0.0)]
    matrix = np.array([[PX, 0.0, -0.5], [0.0, PX, -0.5], [0.0, 0.0, 1.0]])  # the page as printed
    slipped = matrix @ shift_mm((0.0, 11.0))  # the rows found one row down
    share, slipped_share = (locate._borders_found(page, fit, model) for fit in (matrix, slipped))
    assert share == 1.0 and slipped_share >= locate.BORDERS_FOUND  # both would pass as found …
    assert not locate._slipped(page, matrix, model, share)
    assert locate._slipped(page, slipped, model, slipped_share)  # … but only one finds more than its neighbours


def test_a_fit_through_the_marks_that_puts_the_table_a_row_off_is_not_taken(batch: Batch) -> None:
    """Held-out 1016 (code-cut phone 016, with the reader before this check): an affine fit through three marks of a
    steep photo put the table a row and a column off, found the neighbours' borders there (most of them), and the
    page was read so. A fit under which a fit a row or a column over finds as many borders is not taken: here, four
    marks seen one row (11 mm) below where they are make a fit that finds 27 of the 34 borders one row over."""
    page = ticked(batch, 0)
    model = ballot_model(batch.template)
    marks = [np.array(mark.center) * PX - 0.5 for mark in batch.layout.registration]
    side = MARK_SIZE * PX
    assert locate._best_fit(page, [Mark(centre, side) for centre in marks], model) is not None
    slipped = [Mark(centre + np.array([0.0, 11.0 * PX]), side) for centre in marks]
    matrix = locate._through(list(enumerate(slipped)), np.array([mark.center for mark in batch.layout.registration]))
    assert locate._borders_found(page, matrix, model) >= locate.BORDERS_FOUND  # it finds enough borders …
    assert locate._best_fit(page, slipped, model) is None  # … but not more than the fit a row up from it


def test_a_fit_millimetres_off_at_the_code_is_refitted_to_the_borders_before_the_serial_is_read(batch: Batch) -> None:
    """A fit through three marks is affine: on a photo in perspective, the missing corner's code and serial come out
    millimetres off it (tuning seed 23, code-cut phone photos: Tesseract read the line of print below the serial).
    Refitted to the box borders and marks found where it puts them, the serial's line is where it is printed."""
    page = ticked(batch, 0)
    mark = batch.layout.registration[1]  # the top right mark off the image (painted over)
    page[: round((mark.y + mark.h + 1) * PX), round((mark.x - 1) * PX) :] = 255
    model = ballot_model(batch.template)
    true = np.array([[PX, 0.0, -0.5], [0.0, PX, -0.5], [0.0, 0.0, 1.0]])
    # off as a perspective the fit does not have leaves it: growing with the distance from the page's bottom left
    off = true @ np.array([[1.015, 0.01, -0.6], [-0.004, 1.02, -1.2], [0.0, 0.0, 1.0]])
    serial = np.array(batch.layout.serial_text.corners)

    def misplaced_mm(matrix: np.ndarray) -> float:
        placed = cv2.perspectiveTransform(serial.reshape(-1, 1, 2), matrix).reshape(-1, 2)
        truth = cv2.perspectiveTransform(serial.reshape(-1, 1, 2), true).reshape(-1, 2)
        return float(np.linalg.norm(placed - truth, axis=1).max()) / PX

    assert misplaced_mm(off) > 2.0  # the line below the serial is 4 mm down
    [refitted] = locate.refitted(page, off, model)  # three marks: refitted to the boxes
    assert misplaced_mm(refitted) < 0.3
    # Four marks found: the perspective through them first (a lens bends a plane fitted to the boxes off them), then
    # the boxes' refit (a fax's feed bends the page between the marks); the serial is read through both.
    near = true @ np.array([[1.001, 0.0, 0.0], [0.0, 1.001, -0.3], [0.0, 0.0, 1.0]])  # a fit through four marks
    through, boxes = locate.refitted(ticked(batch, 0), near, model)
    assert misplaced_mm(through) < 0.2 and misplaced_mm(boxes) < 0.2


def test_the_marks_are_among_the_candidates_and_no_sheet_is_fitted_without_them(batch: Batch) -> None:
    page = batch.pages()[0]
    candidates = mark_candidates(page)
    side = 7.0 * PX
    for mark in batch.layout.registration:
        centre = np.array(mark.center) * PX
        assert any(
            np.hypot(*(found.centre - centre)) < 0.5 * PX and abs(found.side - side) < 0.15 * side
            for found in candidates
        ), mark
    model = ballot_model(batch.template)
    assert marks_fit(page, model) is not None
    for mark in batch.layout.registration:  # the marks painted out: a page of print, boxes and the code's finders
        x, y = round(mark.x * PX) - 3, round(mark.y * PX) - 3
        page[y : y + round(mark.h * PX) + 6, x : x + round(mark.w * PX) + 6] = 255
    assert marks_fit(page, model) is None


def test_a_mark_seen_at_60_degrees_is_a_mark() -> None:
    """A sheet tilted 35° seen at the edge of a phone's view (25° further) squashes its marks to half their height
    (1 / cos 60°): the far marks of a steep photo (tuning seed 7: 35 × 21 px, refused as no code)."""
    page = np.full((2400, 2400), 255, np.uint8)  # a page at 290 dpi, its marks 80 px wide
    module_w, module_h = 13, 7  # a 7-module square squashed to 1.86 : 1
    for ring, colour in enumerate((0, 255, 0)):
        cv2.rectangle(
            page,
            (200 + ring * module_w, 300 + ring * module_h),
            (200 + (7 - ring) * module_w - 1, 300 + (7 - ring) * module_h - 1),
            colour,
            -1,
        )
    [mark] = mark_candidates(page)
    assert np.allclose(mark.centre, (200 + 3.5 * module_w, 300 + 3.5 * module_h), atol=1.5)


def test_a_photo_keeping_one_mark_and_no_code_is_fitted_from_its_tables_outline(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (a phone photo taken tight and off-centre, tuning seed 23 code-cut phone 036 and 037: no_code): the
    code unreadable, three marks out of the frame (painted out here), every box and the serial in it. The table's
    outer rule gives the sheet's plane (:mod:`~pipeline.reading.table`), the serial is read where it puts it."""
    image = smudged(ticked(batch, 2), batch)
    for mark in batch.layout.registration[:3]:
        rows = slice(round((mark.y - 1) * PX), round((mark.y + mark.h + 1) * PX))
        image[rows, round((mark.x - 1) * PX) : round((mark.x + mark.w + 1) * PX)] = 255
    photo = leaning(image, [(50, 60), (120, 10), (30, 40), (10, 100)])
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[2]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_steep_photo_whose_code_is_read_but_no_mark_is_in_it_is_fitted_from_its_tables_outline(
    tmp_path: Path, batch: Batch
) -> None:
    """Issue 19 (a steep photo taken tight, tuning seed 23 steep-photo+code-cut phone 004, 012, 015: marks_missing):
    the code read, on the far side of the photo, the marks out of the frame (painted out here). Grown from the code's
    corners the fit finds 1 box of 34 (a small code's corners, extrapolated across a steep photo); the table's outer
    rule fits the sheet, and the code's corners agree with it."""
    image = ticked(batch, 3)
    for mark in batch.layout.registration:
        rows = slice(round((mark.y - 1) * PX), round((mark.y + mark.h + 1) * PX))
        image[rows, round((mark.x - 1) * PX) : round((mark.x + mark.w + 1) * PX)] = 255
    photo = leaning(image, [(0, 0), (300, 250), (300, 250), (0, 0)])
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"], line["reason_code"]) == ("read", batch.serials[3], ""), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED
    others = [place.unit for place in batch.layout.rows if place.unit not in TICKED]
    assert all(line["rows"][unit]["reading"] == "blank" for unit in others)


def test_a_photo_that_cut_the_table_is_fitted_from_what_the_frame_left_of_it(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (a steep photo taken tight, tuning seeds 23 and 41, steep-photo+code-cut phone: no_code,
    marks_missing): the frame cut the sheet through the table's comment column, the code and the right marks with
    it; every box is in the picture. The table's outline there is the frame's: its top and bottom rules, running
    out of the picture, are taken longer until the boxes are found. Neither code nor serial is left: its rows are
    read for the clerk (before: `no_code`, nothing read)."""
    photo = leaning(ticked(batch, 1), [(0, 0), (300, 250), (300, 250), (0, 0)])
    photo = np.ascontiguousarray(photo[:, : round(150 * PX)])
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.SERIAL_TO_TYPE), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED
    others = [place.unit for place in batch.layout.rows if place.unit not in TICKED]
    assert all(line["rows"][unit]["reading"] == "blank" for unit in others)


def test_the_table_of_a_layout_is_the_rectangle_of_its_rules(batch: Batch) -> None:
    [table] = tables_mm(batch.layout)
    left, top, right, bottom = table[0][0], table[0][1], table[2][0], table[2][1]
    boxes = [place for row in batch.layout.rows if row.comment is not None for place in row.boxes]
    assert boxes and all(left < place.rect.x and place.rect.x + place.rect.w < right for place in boxes)
    assert all(top < place.rect.y and place.rect.y + place.rect.h < bottom for place in boxes)
    assert (right - left) > 150 and (bottom - top) > 100


def photographed(image: np.ndarray, roll_deg: float, far_edge: float) -> np.ndarray:
    """``image`` as a photo of the sheet on a dark desk: rolled ``roll_deg`` in the frame, and tilted so that its
    bottom edge, further from the lens, comes out ``far_edge`` times as wide as its top."""
    height, width = image.shape
    inset = width * (1 - far_edge) / 2
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    tilted = np.float32([[0, 0], [width, 0], [width - inset, height * 0.9], [inset, height * 0.9]])
    frame = int(max(width, height) * 1.5)
    angle = np.radians(roll_deg)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    placed = (tilted - tilted.mean(axis=0)) @ turn.T + frame / 2
    matrix = cv2.getPerspectiveTransform(corners, placed.astype(np.float32))
    return np.asarray(cv2.warpPerspective(image, matrix, (frame, frame), borderValue=60), dtype=np.uint8)


@pytest.mark.parametrize(("roll_deg", "far_edge"), [(40.0, 0.85), (-135.0, 0.9), (8.0, 0.6)])
def test_a_rolled_and_steeply_tilted_photo_is_found_by_its_marks(
    tmp_path: Path, batch: Batch, roll_deg: float, far_edge: float
) -> None:
    """Issue 19: a photo rolled 40° or upside down puts two marks in one quarter of the frame and none in
    another (the marks were looked for one a quarter: no_code); tilted so that the far edge comes out 0.6 as
    wide as the near one, the far marks are 0.6 the size of the near ones and squashed (refused as marks that
    do not agree in size). Either way the four marks are the sheet's corners, taken round in turn."""
    line = scanned(tmp_path, batch, photographed(smudged(ticked(batch, 3), batch), roll_deg, far_edge))
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[3]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def on_a_desk(image: np.ndarray, scale: float, far_edge: float, at: tuple[float, float], desk: int = 80) -> np.ndarray:
    """``image`` as a photo of the sheet lying on a grained desk (``desk``: its grey), taken from afar: the sheet
    ``scale`` times its scan's size, tilted so that its top edge comes out ``far_edge`` times as wide as its bottom
    and its height 0.8, its middle at ``at`` (shares of the frame's width and height) of a frame 2.6 times its
    height each way."""
    height, width = image.shape
    sheet_w, sheet_h = width * scale, height * scale * 0.8
    frame = round(height * scale * 2.6)
    inset = sheet_w * (1 - far_edge) / 2
    middle = np.array([at[0] * frame, at[1] * frame])
    placed = (
        np.float32([[inset, 0], [sheet_w - inset, 0], [sheet_w, sheet_h], [0, sheet_h]])
        - np.float32([sheet_w / 2, sheet_h / 2])
        + middle.astype(np.float32)
    )
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(corners, placed)
    grain = np.random.default_rng(5).normal(0, 14, (frame, 1)).repeat(frame, axis=1)  # wood: streaks along it
    surface = np.clip(cv2.GaussianBlur(desk + grain, (0, 0), 3), 0, 255).astype(np.uint8)
    sheet = cv2.warpPerspective(image, matrix, (frame, frame), flags=cv2.INTER_AREA, borderValue=0)
    where = cv2.warpPerspective(np.full_like(image, 255), matrix, (frame, frame), borderValue=0) > 127
    return np.where(where, sheet, surface).astype(np.uint8)


def test_a_sheet_in_a_part_of_a_photo_is_looked_for_as_a_page_of_its_own(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (steep photos of a sheet on a desk from afar, tuning seed 7: refused as "no code"): the sheet lies
    in the middle of the frame, tilted, its far marks smaller than a sheet filling the frame prints them, so too few
    marks are found in the frame to fit it. Its own part of the photo, looked at as a page, shows them at the
    sheet's size: the sheet is found by its marks. Its code, on the far side, came out too small to read (under two
    pixels a module), but its table is large enough: its rows are read, for a clerk who types the serial."""
    photo = on_a_desk(smudged(ticked(batch, 1), batch, serial=True), 0.75, 0.55, (0.55, 0.5))
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.SERIAL_TO_TYPE), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_sheet_photographed_from_afar_on_a_light_table_is_no_blank_page(tmp_path: Path, batch: Batch) -> None:
    """A ballot photographed from afar on a table nearly as light as the paper: its print, soft and small, is nowhere
    darker than the blank-page test's ink level, and the page was stored as blank — never counted, never shown to a
    clerk. Its print stands out from the paper round it: it is read (here its code is smeared too: for the clerk)."""
    photo = on_a_desk(smudged(ticked(batch, 0), batch), 0.45, 0.55, (0.5, 0.5), desk=200)
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.SERIAL_TO_TYPE), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_the_marks_of_a_small_sheet_on_a_large_photo_are_looked_for_at_its_size(batch: Batch) -> None:
    """Issue 19 (steep photos of tuning seeds 11 and 404: refused as "no code"): a sheet a seventh of a large photo
    across, on a surface whose edge against it shows no outline, prints its marks smaller than the frame's search
    expects of any sheet. They are looked for at a small sheet's size as well."""
    sheet = cv2.resize(batch.pages()[0], None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
    photo = np.full((4000, 4000), 245, np.uint8)
    photo[1500 : 1500 + sheet.shape[0], 1700 : 1700 + sheet.shape[1]] = np.minimum(sheet, 245)
    search = locate.MarkSearch(photo)
    expected = [np.array(mark.center) * PX * 0.35 + (1700, 1500) for mark in batch.layout.registration]

    def found(candidates: list[Mark]) -> int:
        return sum(any(np.hypot(*(c.centre - at)) < 5 for c in candidates) for at in expected)

    assert found(search.frame) < 3 and search.photo.window is None
    assert found(search.small) == 4
    model = ballot_model(batch.template)
    assert any(marks_fit(photo, model, None, candidates) is not None for candidates in search.sets())


def test_a_sheet_photographed_too_far_off_to_read_its_rows_is_left_to_a_clerk_saying_photograph_it_closer(
    tmp_path: Path, batch: Batch
) -> None:
    """The same photo from further off (the sheet about half the size): its marks are found, its code and its table
    both came out too small to read: nothing is read, and the clerk is told to photograph it closer."""
    photo = on_a_desk(smudged(ticked(batch, 1), batch, serial=True), 0.4, 0.55, (0.55, 0.5))
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["reason_code"]) == ("unreadable", Why.CODE_TOO_SMALL), line["reason"]
    assert "closer" in line["reason"] and line["rows"] == {}


def test_a_small_soft_code_in_the_middle_of_a_photo_is_read_in_the_sheets_corner(batch: Batch) -> None:
    """Issue 19 (tuning seed 7, steep photos: codes read only once the sheet's part of the photo was looked at):
    a sheet lying mid-frame, photographed from afar (soft, a JPEG), has its code in none of the frame's corners,
    where a code too small to read as it is gets enlarged and read; it is in a corner of the sheet's part."""
    photo = cv2.GaussianBlur(on_a_desk(ticked(batch, 2), 0.7, 0.8, (0.5, 0.5)), (0, 0), 1.0)
    _, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 80])
    code = find_small_qr(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))
    assert code is not None and isinstance(code.sheet, SheetId) and code.sheet.serial == batch.serials[2]


def test_a_steep_photo_is_judged_too_coarse_by_its_table_not_by_its_code(tmp_path: Path, batch: Batch) -> None:
    """Issue 19: on the far side of a steep photo the code comes out at 79 dpi, the table it is read with at over
    100 (refused: "the scan resolution looks like 79 dpi"); the fit through the marks judges it at the sheet's
    middle."""
    photo = on_a_desk(ticked(batch, 2), 0.7, 0.6, (0.55, 0.5))
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[2]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_steep_photos_near_marks_may_be_three_times_the_size_of_its_far_ones(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (tuning seed 67, steep photos: a sheet tilted 35° filling the frame refused as "no code", all four
    marks found, 101 to 40 px): seen 35° tilted through a phone's 65° field, a sheet's far edge lies over twice as
    far as its near one and is seen more obliquely, so a far mark's side comes out up to a quarter of a near one's.
    Its code smeared, the sheet is found by its four marks (here 3 : 1) and counted under its printed serial."""
    photo = on_a_desk(smudged(ticked(batch, 1), batch), 0.9, 0.45, (0.5, 0.5))
    sides = [mark.side for mark in locate.MarkSearch(photo).sheet]
    assert len(sides) == 4 and max(sides) > 2.9 * min(sides)
    line = scanned(tmp_path, batch, photo)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[1]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_three_marks_sizes_put_the_fourth_where_a_steep_photo_shows_it(template: Template) -> None:
    """Tuning seed 67 (a sheet on a light desk, photographed steeply: its fourth mark beside the code not found in
    the frame): the affine fit through three marks put the fourth 44 mm off, beyond where it is looked for. Their
    sizes tell the perspective too: through their places and sizes it is put where it is."""
    layout = ballot_model(template).layout
    marks_mm = np.array([mark.center for mark in layout.registration], dtype=np.float64)
    steep = np.array([[5.2, -0.5, 520.0], [0.8, 2.8, 1340.0], [0.00033, -0.0008, 1.0]])  # seed 67's page 18, about
    seen = locate._to_image(steep, marks_mm)
    present = [(index, Mark(seen[index], MARK_SIZE * locate._scale_at(steep, seen[index]))) for index in (0, 2, 3)]
    sized = locate._through_sized(present, marks_mm)
    assert sized is not None
    assert np.linalg.norm(locate._to_image(sized, marks_mm[1:2])[0] - seen[1]) < 1.0
    affine = locate._to_image(locate._through(present, marks_mm), marks_mm[1:2])[0]
    assert np.linalg.norm(affine - seen[1]) / locate._scale_at(steep, seen[1]) > locate.SIZED_MARK_MM
    # Marks whose places on the page lie in a row make no perspective.
    in_a_row = np.array([[0.0, 0.0], [50.0, 50.0], [100.0, 100.0], [100.0, 0.0]])
    marks = [(index, Mark(np.array([10.0 * index, 5.0]), 30.0 + index)) for index in range(3)]
    assert locate._through_sized(marks, in_a_row) is None


def test_what_is_read_on_the_serials_line_gives_a_serial_only_where_one_was_read() -> None:
    assert serial_guess(["编号 K7QX-M2PD-5Z"]) == "K7QXM2PD5Z"
    # The first reading that fits, misread or not: the store matches it against the serials issued.
    assert serial_guess(["@@ k7qx-m2pd-sz", "编号 K7QX-M2PD-5Z"]) == "K7QXM2PDSZ"
    assert serial_guess(["@@ 9O8T-wxT-O5"]) == "908TWXT05"  # no fit: its characters, for the store to match
    assert serial_guess(["NBR coke Ce AL", "BE cone eR"]) is None  # noise reads as letters, never with a dash
    assert serial_guess(["-"]) is None


def test_the_distance_of_a_serial_within_what_was_read() -> None:
    assert _distance_within("K7QXM2PD5Z", "00K7QXM2PD5Z00") == 0
    assert _distance_within("K7QXM2PD5Z", "K7QXM2D5Z") == 1  # one dropped
    assert _distance_within("K7QXM2PD5Z", "K7QXN2PD5Z") == 1  # one misread
    assert _distance_within("K7QXM2PD5Z", "ABCDEFGH") >= 8
    # Lookalikes misread cost half a character: four of them, two; four other misreads, four.
    assert _distance_within("VP3D2QBDQQ", "VP302080QQ") == 2.0
    assert _distance_within("VP3D2QBDQQ", "VP3E2HBCQW") == 4.0


def stored(db: Path, readings: list[str], guess: str) -> tuple[str, PageReason | None, str | None]:
    """A read page whose serial was read from the print as ``readings`` (guessed ``guess``), stored."""
    store = open_store(db)
    settings = store.register_settings(load_settings())
    classification = store.classification_for(SESSION, settings)
    file_id = store.add_file(SESSION, hashlib.sha256(json.dumps(readings).encode()).hexdigest(), "page.jpg", 1)
    reason = PageReason.of(Why.SERIAL_FROM_TEXT, readings=readings)
    record = PageRecord(file_id, SESSION, 1, "read", reason, settings, classification, serial=guess)
    outcome, saved = store.save_page(record)
    serial = store.db.execute("SELECT serial FROM pages WHERE file_id = ?", (file_id,)).fetchone()[0]
    store.close()
    return outcome, saved, serial


def test_a_serial_misread_by_a_character_or_two_is_taken_for_the_issued_one_that_near(
    tmp_path: Path, batch: Batch
) -> None:
    db = batch.fresh_db(tmp_path)
    serial = batch.serials[3]
    misread = serial[:3] + ("8" if serial[3] != "8" else "9") + serial[5:]  # one misread, one dropped
    outcome, reason, stored_serial = stored(db, [f"@@ {misread[:4]}-{misread[4:]}"], misread)
    assert (outcome, stored_serial) == ("read", serial)
    assert reason is not None and reason.detail["issued"] == format_serial(serial)
    # Four lookalikes misread (0/D/Q, 8/B, 5/S, 2/Z, 1/7/T, 6/G) are as near as two other misreads.
    lookalike = {"0": "D", "D": "0", "Q": "0", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2", "7": "1"}
    serial = next(serial for serial in batch.serials if sum(char in lookalike for char in serial) >= 4)
    places = [index for index, char in enumerate(serial) if char in lookalike][:4]
    misread = "".join(lookalike[char] if index in places else char for index, char in enumerate(serial))
    outcome, reason, stored_serial = stored(db, [f"@@ {format_serial(misread)}"], misread)
    assert (outcome, stored_serial) == ("read", serial)
    # Read far from every serial issued: never taken for one; the clerk is told what was read, and types the serial
    # the paper shows (none is kept: the guess is no issued serial, and would be the one it had to be counted under).
    outcome, reason, stored_serial = stored(db, ["@@ ZZZZ-ZZZZ-ZZ"], "ZZZZZZZZZZ")
    assert (outcome, stored_serial) == ("unreadable", None)
    assert reason is not None and reason.code == Why.SERIAL_TEXT_UNKNOWN


def test_a_sheet_whose_printed_serial_reads_as_none_issued_is_read_for_the_clerk_to_type_the_serial(
    tmp_path: Path, batch: Batch
) -> None:
    """The code smeared and the serial under it read as no serial issued (here, another serial printed over it):
    the page is not counted under any serial; its rows are read and kept, no serial is kept (the clerk's typed one
    is checked when it is counted: a guess kept would have been the serial it had to be counted under, refused as
    never issued, and the page could not be counted at all)."""
    image = smudged(ticked(batch, 1), batch)
    place = batch.layout.serial_text
    top, bottom = round(place.y * PX), round((place.y + place.h) * PX)
    image[top:bottom, round(place.x * PX) : round((place.x + place.w) * PX)] = 255
    cv2.putText(image, "ZXZX-ZXZX-ZX", (round((place.x + 4) * PX), bottom - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.75, 0, 2)
    db = batch.fresh_db(tmp_path)
    [line] = scan_into(db, tmp_path / "scans", image)
    assert (line["outcome"], line["reason_code"], line["serial"]) == ("unreadable", Why.SERIAL_TEXT_UNKNOWN, None)
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED
    store = open_store(db)
    [page] = store.review_pages(SESSION, rejected=True)
    assert counted_by_the_clerk(store, batch, page.page_id, batch.serials[1]).serial == batch.serials[1]
    store.close()


def test_a_sheet_showing_only_a_stickers_code_is_found_by_its_marks(tmp_path: Path, batch: Batch) -> None:
    """A sticker's code is the only one read (the ballot's is smeared): the page is still looked for by its marks."""
    from tests.helpers import qr_image

    image = smudged(ticked(batch, 3), batch)
    sticker = qr_image("https://example.org/asset/4711", module_px=6)
    top, left = round(150 * PX), round(120 * PX)
    image[top : top + sticker.shape[0], left : left + sticker.shape[1]] = sticker
    line = scanned(tmp_path, batch, image)
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[3]), line["reason"]


@pytest.mark.parametrize("far_edge", [0.75, 0.6])
def test_a_steep_photo_whose_code_is_read_is_fitted_through_its_marks_found_anywhere(
    tmp_path: Path, batch: Batch, far_edge: float
) -> None:
    """Issue 19: the code is read, but tilted this steeply the marks lie centimetres off where the code's
    corners put them (refused: only 2 of 4 marks found). Found all over the photo instead, they fit the page."""
    line = scanned(tmp_path, batch, photographed(ticked(batch, 2), 25.0, far_edge))
    assert (line["outcome"], line["serial"]) == ("read", batch.serials[2]), line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


@pytest.mark.parametrize("missing", [0, 1, 2, 3])
def test_three_marks_and_the_code_fit_the_page_whichever_corner_is_cut_off(batch: Batch, missing: int) -> None:
    """Issue 19 (field sample bad 0005: a phone photo tilted 15°, its top right corner off the frame, refused as
    "only 1 of 4 registration marks found"). Three marks taken round in turn may have the missing corner after any
    of them (before, only after the last: with the top right one missing the right fit was never tried), and with
    the code's corners they fit the page in perspective, which three marks alone (an affine map) cannot."""
    layout = batch.layout
    page_mm = np.float32([[0, 0], [210, 0], [210, 297], [0, 297]])
    seen = np.float32([[400, 300], [1500, 380], [1300, 1900], [520, 1750]])  # steep: the far side narrower
    truth = cv2.getPerspectiveTransform(page_mm, seen).astype(np.float64)

    def at(points: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(np.asarray(points, np.float64).reshape(-1, 1, 2), truth).reshape(-1, 2)

    def local_scale(point: np.ndarray) -> float:
        steps = at([point, point + np.array([1.0, 0.0]), point + np.array([0.0, 1.0])])
        across, down = steps[1] - steps[0], steps[2] - steps[0]
        return float(np.sqrt(abs(across[0] * down[1] - across[1] * down[0])))

    marks = [
        Mark(at([mark.center])[0], MARK_SIZE * local_scale(np.array(mark.center)))
        for index, mark in enumerate(layout.registration)
        if index != missing
    ]
    corners_mm = qr_symbol_corners_mm(layout, 25)
    anchors = (corners_mm, at(corners_mm))
    blank = np.full((2100, 1800), 255, np.uint8)
    fits = list(_fits(blank, marks, layout, 3, anchors))
    boxes = np.array([box.rect.center for box in layout.boxes])
    worst = [
        float(np.abs(cv2.perspectiveTransform(boxes.reshape(-1, 1, 2), fit).reshape(-1, 2) - at(boxes)).max())
        for fit in fits
    ]
    assert min(worst) < 0.5, (missing, sorted(worst)[:3])  # px: the true fit is among them


def test_one_mark_found_twice_on_one_spot_makes_no_fit_and_no_internal_error(batch: Batch) -> None:
    """A code-cut office scan (tuning seed 23) had one corner's mark among the candidates twice, on one spot at two
    sizes, in a row with another: three marks taken together laid the page on a line, and sizing that fit inverted a
    singular matrix, so the page was stored as an internal error. A fit without an inverse fits no sheet."""
    spot = np.array([2346.5, 227.5])
    marks = [Mark(spot, 49.0), Mark(spot.copy(), 35.0), Mark(np.array([2345.6, 381.4]), 35.1)]
    blank = np.full((3508, 2480), 255, np.uint8)
    fits = list(_fits(blank, marks, batch.layout, 3))
    assert all(abs(np.linalg.det(fit)) > 1e-6 for fit in fits)


def test_two_marks_and_the_code_fit_the_sheet_when_the_other_two_are_cut_off(batch: Batch) -> None:
    """Issue 19 (marks-cut phone photos with the two bottom marks off the frame, refused as marks missing where the
    code's corners alone, extrapolated over a lens's barrel distortion, put even the nearest boxes beyond the
    border search): two marks found across the top and the code's corners fit the sheet, affine (six points along
    one side leave a perspective fit free to tilt the far side), as a start to grow the fit from; grown from it,
    with the code's corners seen 0.7 mm off, the page is fitted."""
    page = ticked(batch, 2)
    page = np.ascontiguousarray(page[: round((batch.layout.registration[2].y - 3) * PX)])  # bottom marks cut off
    store = open_store(batch.db)
    found = identify_page(page, SESSION, store.catalog(), 0.002)
    store.close()
    assert isinstance(found, Identified)
    model = ballot_model(found.template)
    code = finder_corners(page, found.qr)  # as the reader's fits take it (pipeline.reading.read.locate)
    starts = anchored_fits(model, code, mark_candidates(page))
    assert starts, "two marks and the code fit the sheet"
    boxes = np.array([box.rect.center for box in batch.layout.boxes])
    placed = cv2.perspectiveTransform(boxes.reshape(-1, 1, 2), starts[0]).reshape(-1, 2)
    off_mm = np.linalg.norm(placed - (boxes * PX - 0.5), axis=1) / PX
    near = boxes[:, 1] < 80.0  # the rows a fit is grown from first
    assert off_mm[near].max() < 0.5 and off_mm.max() < 1.5, off_mm.round(2)
    middle, turn = code.corners.mean(axis=0), np.radians(2.5)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    misread = replace(code, corners=(code.corners - middle) @ rotation.T + middle)
    grown = grow_from_code(page, misread, model, load_settings().alignment, starts[0])
    assert isinstance(grown, Alignment), grown
    assert grown.marks_found == 2


def test_a_fit_through_marks_found_anywhere_may_be_as_skewed_and_stretched_as_a_steep_photo(batch: Batch) -> None:
    """Issue 19 (steep photos, seed 11: fits through four marks found anywhere, three of five box borders found
    where they put them, refused as "skewed 10.2°" and "stretched 18 %"): a sheet tilted 35° to the camera along a
    diagonal comes out that skewed and squeezed, which a flatbed never shows. Such a fit is held to the code's
    corners, the resolution and every box on the image; a flat scan's fit through marks found where the code
    predicts them is still held to skew and stretch."""
    layout = batch.layout
    page_mm = np.float32([[0, 0], [210, 0], [210, 297], [0, 297]])
    seen = np.float32([[300, 200], [1750, 520], [1300, 2150], [250, 1600]])  # tilted along a diagonal: 13.5°, 20 %
    matrix = cv2.getPerspectiveTransform(page_mm, seen).astype(np.float64)
    corners_mm = qr_symbol_corners_mm(layout, 29)
    code = cv2.perspectiveTransform(corners_mm.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    image = np.full((2400, 2000), 255, np.uint8)
    qr = QrCode(SheetId(layout.template_id, "0" * 8, SESSION, "A" * 10), "", code, 29)
    limits = load_settings().alignment
    aligned = aligned_by(image, matrix, qr, layout, limits)
    assert isinstance(aligned, Alignment), aligned
    assert aligned.skew_deg > limits.max_skew_deg
    strict = align._checked(image, matrix, qr, corners_mm, 4, layout, limits)
    assert isinstance(strict, AlignmentFailure) and strict.reason.code in (Why.SKEWED, Why.STRETCHED), strict


def test_a_sheet_photographed_from_too_far_is_refused_saying_so(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (steep photos at 70–95 dpi: neither the code nor the marks show, refused as "no ballot QR code
    found: not a ballot, or the code is covered"): a sheet lying on a desk, 50 dpi in the photo and soft, is refused
    with a reason a clerk can act on (photograph it closer), its size measured from its outline; an empty desk is
    not."""
    small = cv2.resize(ticked(batch, 1), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)  # 50 dpi
    desk = np.full((1500, 1100), 70, np.uint8)
    desk[300 : 300 + small.shape[0], 250 : 250 + small.shape[1]] = small
    desk = cv2.GaussianBlur(desk, (0, 0), 1.2)
    (tmp_path / "far").mkdir()
    line = scanned(tmp_path / "far", batch, desk)
    assert (line["outcome"], line["reason_code"]) == ("unreadable", "sheet_too_small"), line["reason"]
    assert "closer" in line["reason"], line["reason"]
    (tmp_path / "empty").mkdir()
    empty = scanned(tmp_path / "empty", batch, np.full((1500, 1100), 70, np.uint8))
    assert empty["reason_code"] != "sheet_too_small"


def test_a_sheet_photographed_small_whose_code_still_reads_is_read(tmp_path: Path, batch: Batch) -> None:
    """Issue 19 (steep photos sent through a chat app, tuning seeds 11, 23, 61, 101-404: 15 sheets at 3.0-3.5 px/mm
    whose code was read refused as "resolution" at 3.5 px/mm, to be counted by hand): a sheet at 2.8 px/mm (71 dpi),
    its 6 mm boxes 17 px across, is read, its ticks as ticked."""
    small = cv2.resize(ticked(batch, 1), None, fx=2.8 / PX, fy=2.8 / PX, interpolation=cv2.INTER_AREA)
    line = scanned(tmp_path, batch, small)
    assert line["outcome"] == "read", line["reason"]
    assert {unit: line["rows"][unit]["reading"] for unit in TICKED} == TICKED


def test_a_code_too_soft_to_decode_is_read_from_its_module_grid(batch: Batch) -> None:
    """Issue 19 (steep photos, seed 11: the sheet found by its marks, its code too soft for the decoder, refused as
    "neither its code nor its serial can be read"): where the marks put the code to a fraction of a module, its
    grid is set on its fixed patterns, the blur taken back, each module read at its middle and the code redrawn:
    it decodes to the sheet's own serial. The same code as it is does not decode."""
    model = ballot_model(batch.template)
    place = model.layout.qr
    matrix = np.array([[PX, 0.0, -0.5], [0.0, PX, -0.5], [0.0, 0.0, 1.0]])
    upright, _ = locate._upright(batch.pages()[1], matrix, place.x, place.y, place.w, place.h, locate.CODE_PX_PER_MM)
    modules = locate._symbol_sizes(batch.template, SESSION)[0]
    pitch = upright.shape[1] / (modules + 8)
    soft = cv2.GaussianBlur(upright, (0, 0), 0.55 * pitch)  # each module spread over its neighbours
    grain = np.random.default_rng(5).normal(0.0, 5.0, soft.shape)
    soft = np.clip(soft + grain, 0, 255).astype(np.uint8)
    assert all(decode_region(soft, 0, 0, binarizer) is None for binarizer in BINARIZERS)
    code = locate.code_by_modules(locate.sharpened(soft, 0.56 * pitch), modules)
    assert code is not None and isinstance(code.sheet, SheetId) and code.sheet.serial == batch.serials[1]
