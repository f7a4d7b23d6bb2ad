"""The scorer's geometry (pipeline.reading.score.geometry): one box's masks, cut from the shipped template's blank."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.reading.model import BallotModel
from pipeline.reading.score.geometry import CIRCLE_INNER_MM, EDGE_MM, Geometry, border_sides, geometry_of
from pipeline.reading.score.result import PATCH_PX_PER_MM, RING_GAP_MM, RING_MM, SEARCH_MM, SECTORS


def rows_and_columns(box: Geometry) -> tuple[np.ndarray, np.ndarray]:
    rows, columns = np.mgrid[0 : box.size, 0 : box.size]
    return rows, columns


def test_every_box_of_the_template_has_its_masks_once(model: BallotModel) -> None:
    geometry = geometry_of(model)
    assert set(geometry) == {(box.unit, box.option) for box in model.layout.boxes}
    assert geometry_of(model) is geometry  # derived once per template


def test_interior_centre_and_ring_lie_where_they_should(box: Geometry) -> None:
    left, top, right, bottom = box.box_px
    assert right - left == bottom - top == round(6.0 * PATCH_PX_PER_MM)  # the template's 6 mm boxes
    rows, columns = rows_and_columns(box)
    within = (columns > left) & (columns < right) & (rows > top) & (rows < bottom)
    assert not (box.interior & ~within).any()
    assert not (box.interior & box.printed_mask).any()
    assert not (box.centre & ~box.interior).any()
    assert box.centre_count == pytest.approx(box.interior_count / 4, rel=0.15)  # the central half of each side
    assert not (box.ring & within).any()
    reach = round((RING_GAP_MM + RING_MM) * PATCH_PX_PER_MM)
    around = (columns >= left - reach) & (columns <= right + reach) & (rows >= top - reach) & (rows <= bottom + reach)
    assert not (box.ring & ~around).any()
    assert not (box.ring & box.printed_mask).any()


def test_the_printed_border_is_masked_and_found_solid(box: Geometry) -> None:
    left, top, right, bottom = box.box_px
    assert box.printed_mask[top, (left + right) // 2] and box.printed_mask[(top + bottom) // 2, left]
    assert float(np.take(box.printed, box.border_pixels).min()) > 0.5
    search = round(SEARCH_MM * PATCH_PX_PER_MM)
    window = box.search_window
    assert window[0].start >= 0 and window[1].start >= 0
    assert window[0].stop <= box.size and window[1].stop <= box.size
    assert (window[0].stop - window[0].start) - box.outline.shape[0] == 2 * search


def test_directions_cover_the_annulus_round_the_centre(box: Geometry) -> None:
    left, top, right, bottom = box.box_px
    rows, columns = rows_and_columns(box)
    distance = np.hypot(columns - (left + right) / 2, rows - (top + bottom) / 2) / PATCH_PX_PER_MM
    assert set(np.unique(box.sectors[box.sectors >= 0])) == set(range(SECTORS))
    assert float(distance[box.sectors >= 0].min()) >= CIRCLE_INNER_MM - 1 / PATCH_PX_PER_MM  # box_px is rounded
    assert not (box.near_line & (box.sectors >= 0)).any()
    counts = np.bincount(box.sectors[box.sectors >= 0], minlength=SECTORS)
    assert counts.min() > 0.5 * counts.max()  # no direction starved


def test_the_edge_band_runs_along_the_border_off_the_line(box: Geometry) -> None:
    left, top, right, bottom = box.box_px
    rows, columns = np.unravel_index(box.edge_band, (box.size, box.size))
    off_border = np.minimum(
        np.minimum(np.abs(columns - left), np.abs(columns - right)),
        np.minimum(np.abs(rows - top), np.abs(rows - bottom)),
    )
    assert off_border.max() <= (EDGE_MM + 0.3) * PATCH_PX_PER_MM  # the band, beside the line's solid core
    assert not np.take(box.near_line, box.edge_band).any()
    assert set(np.unique(box.edge_sectors)) == set(range(SECTORS))


def test_the_sharp_halo_is_the_printed_ink_scaled_to_its_border(box: Geometry) -> None:
    assert float(np.median(np.take(box.halos[0], box.border_pixels))) == pytest.approx(1.0, abs=0.01)
    assert np.count_nonzero(box.halos[-1] > 0.05) > np.count_nonzero(box.halos[0] > 0.05)  # a soft scan spreads it


def test_the_borders_sides_lie_on_its_printed_lines_and_follow_them(box: Geometry) -> None:
    """On the blank, each side lies within half a pixel of where the box's edge is drawn; on print moved by whole
    pixels, or drawn taller, the sides move with it, to a fraction of a pixel."""
    left, top, right, bottom = box.box_px
    assert np.abs(box.sides - np.array([left, top, right, bottom])).max() <= 0.5
    moved = np.roll(np.roll(box.printed, 2, axis=1), -1, axis=0)
    assert border_sides(moved, box.box_px) == pytest.approx(box.sides + np.array([2, -1, 2, -1]), abs=0.05)
    middle = (top + bottom) // 2
    rows = np.arange(box.size)
    source = np.clip(np.where(rows < middle, rows + 2, rows - 2), 0, box.size - 1)
    seen = border_sides(box.printed[source], box.box_px)  # the top side 2 px up, the bottom one 2 px down
    assert seen[3] - seen[1] == pytest.approx(box.sides[3] - box.sides[1] + 4, abs=0.3)
    assert seen[2] - seen[0] == pytest.approx(box.sides[2] - box.sides[0], abs=0.05)
