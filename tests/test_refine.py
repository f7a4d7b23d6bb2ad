"""Refine: the page fit follows the printed box borders; a row a curl moves off the fit is read where it is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.ballot.template import Template
from pipeline.reading.debug import COLOURS, draw_overlay
from pipeline.reading.settings import load_settings
from tests.helpers import PX, Batch, box, lifted, print_batch, read_image, tick

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
