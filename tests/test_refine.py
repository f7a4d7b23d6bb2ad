"""Refine: the page fit follows the printed box borders; a row a curl moves off the fit is read where it is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.ballot.template import Template
from pipeline.common.imaging import Gray
from pipeline.reading.debug import COLOURS, draw_overlay
from pipeline.reading.model import ballot_model
from pipeline.reading.refine import _local_offsets, _rows_found_again, border_model
from pipeline.reading.settings import load_settings
from tests.helpers import PX, Batch, box, lifted, moved_below, print_batch, read_image, tick

ROW = "测评人类别"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Batch:
    return print_batch(tmp_path_factory.mktemp("refine"), template, 1)


def test_a_row_end_off_the_page_fit_is_read_where_its_borders_are(batch: Batch) -> None:
    # Measured on curled phone photos: the end boxes of 测评人类别 lie up to 1.9 mm from the page fit, beyond
    # the scorer's search, and the row went to a clerk for "alignment" although its one tick was clear.
    page = batch.pages()[0].copy()
    tick(page, box(batch.layout, ROW, "企业代表"))
    first = box(batch.layout, ROW, "服务对象代表")
    result = read_image(batch, lifted(page, first.rect.center, 1.5))
    reading = next(row for row in result.readings if row.unit == ROW)
    assert (reading.reading, reading.choice, reading.reason) == ("choice", "企业代表", None)
    scores = {score.option: score for score in result.scores if score.unit == ROW}
    assert scores[first.option].fill == 0.0 and scores[first.option].shift_mm <= 0.2
    dx, dy = result.alignment.box_offsets_mm[(ROW, first.option)]
    assert abs(dx) < 0.2 and abs(dy - 1.5) < 0.2


def test_a_flat_page_is_scored_on_the_page_fit_alone(batch: Batch) -> None:
    result = read_image(batch, batch.pages()[0])
    assert result.alignment.box_offsets_mm == {}


def test_the_debug_overlay_outlines_a_moved_box_where_it_was_scored(batch: Batch) -> None:
    page = batch.pages()[0].copy()
    first = box(batch.layout, ROW, "服务对象代表")
    tick(page, first)
    curled = lifted(page, first.rect.center, 1.5)
    result = read_image(batch, curled)
    assert next(row for row in result.readings if row.unit == ROW).choice == first.option
    canvas = draw_overlay(curled, result.alignment, batch.layout, list(result.scores), load_settings())
    green = np.all(canvas == np.array(COLOURS["marked"], dtype=np.uint8), axis=2)

    def green_share_along_top(dy_mm: float) -> float:
        left, right = result.alignment.to_pixels(
            [(first.rect.x + 1, first.rect.y + dy_mm), (first.rect.x + 5, first.rect.y + dy_mm)]
        )
        y = round(left[1])
        return float(green[y - 1 : y + 2, round(left[0]) : round(right[0])].any(axis=0).mean())

    dy = result.alignment.box_offsets_mm[(ROW, first.option)][1]
    assert green_share_along_top(dy) > 0.9  # the outline is drawn where the border was found …
    assert green_share_along_top(0.0) < 0.1  # … not where the page fit alone puts it


def test_strokes_beside_a_box_do_not_move_it(batch: Batch) -> None:
    """A stroke along a box, a little off its border (an underline, a bracket), must not be taken for the
    border: the row stays on the page fit and reads the voter's tick or goes to a clerk."""
    first, ticked = box(batch.layout, ROW, "服务对象代表"), box(batch.layout, ROW, "企业代表")
    x, y, side = (value * PX for value in (first.rect.x, first.rect.y, first.rect.w))
    for offset_mm in (0.6, 1.3):
        d = offset_mm * PX
        page = batch.pages()[0].copy()
        tick(page, ticked)
        right, bottom = round(x + side + d), round(y + side + d)
        cv2.line(page, (right, round(y + d)), (right, bottom), 30, round(0.5 * PX))  # an "L" 0.6 / 1.3 mm off
        cv2.line(page, (round(x + d), bottom), (right, bottom), 30, round(0.5 * PX))
        result = read_image(batch, page)
        reading = next(row for row in result.readings if row.unit == ROW)
        assert result.alignment.box_offsets_mm == {}
        assert reading.reading == "pending" or (reading.reading, reading.choice) == ("choice", ticked.option)


def test_a_border_found_out_of_line_with_its_neighbours_costs_its_row_not_the_page(batch: Batch) -> None:
    """A fax lost 2 mm of lines across the table: the page lies on no one plane and is read piecewise. One box's
    border is gone (lost lines, a smudge) and a square like it is drawn 2.4 mm lower: a border found there jumps
    from its neighbours'. It is taken for one not found (before: the page refused, its borders disagreeing); its
    row goes to a clerk, every other row is read."""
    page = batch.pages()[0].copy()
    for unit in ("局机关", "文化馆", "文艺演出中心"):
        tick(page, box(batch.layout, unit, "满意"))
    page = moved_below(page, 150.0, -2.0)
    lost = box(batch.layout, "局机关", "不满意")
    x, y, side = (round(value * PX) for value in (lost.rect.x, lost.rect.y, lost.rect.w))
    margin, down = round(0.6 * PX), round(2.4 * PX)
    page[y - margin : y + side + margin, x - margin : x + side + margin] = 255
    cv2.rectangle(page, (x, y + down), (x + side, y + side + down), 40, round(0.3 * PX))
    result = read_image(batch, page)
    assert result.alignment.box_offsets_mm  # read piecewise
    readings = {row.unit: row for row in result.readings}
    assert (readings["局机关"].reading, readings["局机关"].reason) == ("pending", "alignment")
    assert [(readings[unit].reading, readings[unit].choice) for unit in ("文化馆", "文艺演出中心")] == [
        ("choice", "满意")
    ] * 2
    assert all(
        row.reading in ("blank", "pending")
        for unit, row in readings.items()
        if unit not in ("局机关", "文化馆", "文艺演出中心")
    )


@pytest.mark.parametrize("lost_mm", [1.5, 2.0, 2.5])
def test_a_row_squashed_by_lost_scan_lines_is_neither_voided_nor_read_as_another_choice(
    batch: Batch, lost_mm: float
) -> None:
    """A 1-bit fax lost a band of scan lines through the middle of a row's boxes: each box's printed side lies
    inside it, a thin line in every box, alike in darkness (tuning seed 67, fine fax: a tick beside two such lines
    read as an overvote; an empty row so squashed read as one too). The row goes to a clerk, or reads the voter's
    tick; never an overvote, never another box."""
    unit = "文化馆"
    ticked = box(batch.layout, unit, "满意")
    for marked in (True, False):
        page = batch.pages()[0].copy()
        if marked:
            tick(page, ticked)
        page = moved_below(page, ticked.rect.y + ticked.rect.h / 2, -lost_mm)
        page = np.where(page < 160, 0, 255).astype(np.uint8)
        reading = next(row for row in read_image(batch, page).readings if row.unit == unit)
        assert reading.reading == "pending" or (marked and reading.choice == ticked.option), (marked, reading)


def fed_slipping(image: Gray, from_mm: float, to_mm: float, taller: float) -> Gray:
    """A page whose feed slipped: the band ``from_mm``–``to_mm`` of the sheet drawn ``taller`` times as tall (the
    sheet lagging behind the line rate; under 1: catching up), all below it moved by the difference."""
    top, bottom = from_mm * PX, to_mm * PX
    ys = np.arange(image.shape[0], dtype=np.float32)
    source = np.where(ys < top, ys, np.where(ys < top + (bottom - top) * taller, top + (ys - top) / taller, 0.0))
    source = np.where(ys >= top + (bottom - top) * taller, ys - (bottom - top) * (taller - 1.0), source)
    map_y = np.repeat(source[:, None], image.shape[1], axis=1).astype(np.float32)
    map_x = np.repeat(np.arange(image.shape[1], dtype=np.float32)[None, :], image.shape[0], axis=0)
    return np.asarray(cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderValue=255), dtype=np.uint8)


@pytest.mark.parametrize(
    ("band", "taller", "bilevel"),
    [("last", 1.12, True), ("last", 0.88, False), ("last", 0.88, True), ("first", 0.88, True), ("middle", 0.88, True)],
)
def test_rows_a_slipping_feed_drew_taller_or_shorter_are_read(
    batch: Batch, band: str, taller: float, bilevel: bool
) -> None:
    """A fax's feed slipped over 40 mm of the sheet (25 mm from above the table's first row): the rows there drawn
    a tenth taller or shorter than the page's fit has them, the rows below moved 3–5 mm (field faxes 0003 and 0009:
    the last rows 10–12 % taller or 6–8 % shorter, their borders matching no template of the printed size, both to
    a clerk for `alignment`; tuning seed 127, fine fax page 8, a band above the table: four rows placed 1.3–1.7 mm
    short of where they were). Each row is read, the ticks where they are, none asked (each case asked one to three
    rows before)."""
    rows = [row for row in batch.layout.rows if row.boxes[0].unit != ROW]
    start = {
        "last": rows[-3].boxes[0].rect.y,
        "first": rows[0].boxes[0].rect.y - 8.0,
        "middle": rows[3].boxes[0].rect.y,
    }
    ticked = {rows[-1].boxes[0].unit: "满意", rows[-2].boxes[0].unit: "不满意", rows[1].boxes[0].unit: "基本满意"}
    page = batch.pages()[0].copy()
    for unit, option in ticked.items():
        tick(page, box(batch.layout, unit, option))
    page = fed_slipping(page, start[band], start[band] + (25.0 if band == "first" else 40.0), taller)
    if bilevel:
        page = np.where(page < 160, 0, 255).astype(np.uint8)
    readings = {row.unit: (row.reading, row.choice, row.reason) for row in read_image(batch, page).readings}
    assert {unit: readings[unit] for unit in ticked} == {
        unit: ("choice", option, None) for unit, option in ticked.items()
    }
    assert all(readings[row.boxes[0].unit] == ("blank", None, None) for row in rows if row.boxes[0].unit not in ticked)


def test_a_row_whose_borders_were_not_found_lies_where_the_rows_around_it_say(batch: Batch) -> None:
    """Lost scan lines moved every row below them up 1.6 mm; the last row's boxes, squeezed, matched no border: it
    is scored where the row above it is (the scorer looks 1 mm around that), not on the fit, 1.6 mm off."""
    rows = batch.layout.rows
    moved = len(rows) // 2
    found = {
        (box.unit, box.option): np.array([0.0, -1.6 if index >= moved else 0.0])
        for index, row in enumerate(rows[:-1])
        for box in row.boxes
    }
    offsets = _local_offsets(batch.layout, found)
    assert all(offsets[(box.unit, box.option)] == (0.0, -1.6) for box in rows[-1].boxes)
    assert not any(key[0] == rows[0].unit for key in offsets)  # rows found on the fit stay there
    # A row not found between a row found on the fit and one moved lies in between.
    found = {key: offset for key, offset in found.items() if key[0] != rows[moved].unit}
    first = rows[moved].boxes[0]
    assert -1.6 < _local_offsets(batch.layout, found)[(first.unit, first.option)][1] < 0.0


def test_rows_past_the_search_are_looked_for_where_the_rows_found_say(batch: Batch, template: Template) -> None:
    """A feed slipped above the table: every row of it lies 4 mm below the fit, past the 3 mm a border is looked for
    around it. With the lower rows' borders found there, the rows none of whose borders was found are looked for again
    where those say, and found where they are (tuning seed 127, fine fax page 8: four rows placed between the rows
    around them, 1.3–1.7 mm short, and asked). Rows a border of which was found are left as found."""
    page = batch.pages()[0]
    matrix = read_image(batch, page).alignment.matrix
    rows = [row for row in batch.layout.rows if len(row.boxes) == 3]
    moved = moved_below(page, rows[0].boxes[0].rect.y - 4.0, 4.0)
    lower = {(box.unit, box.option): np.array([0.0, 4.0]) for row in rows[6:] for box in row.boxes}
    above = {(box.unit, box.option): np.array([0.0, 0.0]) for box in batch.layout.rows[0].boxes}  # 测评人类别
    again = _rows_found_again(moved, matrix, border_model(ballot_model(template)), lower | above)
    upper = {(box.unit, box.option) for row in rows[:6] for box in row.boxes}
    assert set(again) == upper
    assert all(abs(again[key][0]) < 0.3 and abs(again[key][1] - 4.0) < 0.3 for key in upper)
