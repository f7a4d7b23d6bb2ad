"""The scorer's shapes (pipeline.reading.score.shapes) on synthetic darkness drawn in one box's patch: a line
through the box, a ring round it, a ring along its border, and what is none of them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.result import INK_LEVEL, PATCH_PX_PER_MM, SECTORS
from pipeline.reading.score.shapes import (
    ARC_DARKNESS,
    _bridged,
    crossing,
    edge_scores,
    encircled_score,
    line_ink,
)

MM = round(PATCH_PX_PER_MM)  # patch pixels in a millimetre
PEN = 0.6  # darkness of a pen stroke
WIDTH = 3  # px: a pen stroke's width (0.4 mm)


def blank(box: Geometry) -> np.ndarray:
    return np.zeros((box.size, box.size), np.float32)


def centre(box: Geometry) -> tuple[int, int]:
    left, top, right, bottom = box.box_px
    return (left + right) // 2, (top + bottom) // 2


def tick(box: Geometry) -> np.ndarray:
    """A tick across the box, its long arm running out past the top-right corner."""
    darkness = blank(box)
    left, top, right, bottom = box.box_px
    point = (left + 2 * MM, bottom - MM)
    cv2.line(darkness, (left + MM, top + 3 * MM), point, PEN, WIDTH)
    cv2.line(darkness, point, (right + MM, top - MM), PEN, WIDTH)
    return darkness


def cross(box: Geometry) -> np.ndarray:
    """Two diagonals from corner to corner, a little past them."""
    darkness = blank(box)
    left, top, right, bottom = box.box_px
    cv2.line(darkness, (left - 4, top - 4), (right + 4, bottom + 4), PEN, WIDTH)
    cv2.line(darkness, (left - 4, bottom + 4), (right + 4, top - 4), PEN, WIDTH)
    return darkness


def filled(box: Geometry) -> np.ndarray:
    darkness = blank(box)
    left, top, right, bottom = box.box_px
    darkness[top:bottom, left:right] = PEN
    return darkness


def line_through(box: Geometry, *, vertical: bool, beyond: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """A straight line through the box's middle, across the whole patch where ``beyond`` says (before, after)."""
    darkness = blank(box)
    x, _ = centre(box)
    _, top, _, bottom = box.box_px
    start = 0 if beyond[0] else top + MM
    end = box.size if beyond[1] else bottom - MM
    darkness[start:end, x - 1 : x + 2] = PEN
    return darkness if vertical else np.ascontiguousarray(darkness.T)


def crossing_of(darkness: np.ndarray, box: Geometry) -> float:
    ink = (darkness > INK_LEVEL) & ~box.printed_mask
    return crossing(line_ink(darkness, INK_LEVEL, ink, box.printed_mask, False), box.box_px)


@pytest.mark.parametrize("vertical", [True, False])
def test_a_line_through_the_box_and_beyond_both_sides_is_a_crossing(box: Geometry, vertical: bool) -> None:
    """Not 1: the printed border's mask hides the 3 rows of the ring's 16 next to the border (13 / 16)."""
    assert crossing_of(line_through(box, vertical=vertical), box) > 0.8


@pytest.mark.parametrize("beyond", [(True, False), (False, True), (False, False)])
def test_a_line_that_stops_in_the_box_is_no_crossing(box: Geometry, beyond: tuple[bool, bool]) -> None:
    assert crossing_of(line_through(box, vertical=True, beyond=beyond), box) < 0.1


@pytest.mark.parametrize("mark", [tick, cross, filled])
def test_a_voters_mark_is_no_crossing(box: Geometry, mark: object) -> None:
    assert callable(mark)
    assert crossing_of(mark(box), box) < 0.2


def test_on_a_bilevel_scan_a_column_of_dots_through_the_box_is_a_crossing(box: Geometry) -> None:
    """A fax streak: dots 2 px tall every 4 px down the whole patch. Inside the box they link into a stroke (the
    kept ink), outside only the dots show; as a line of dots through the box it is a crossing."""
    darkness = blank(box)
    x, _ = centre(box)
    for y in range(0, box.size, 4):
        darkness[y : y + 2, x - 1 : x + 1] = 1.0
    left, top, right, bottom = box.box_px
    kept = np.zeros_like(box.printed_mask)
    kept[top:bottom, left:right] = darkness[top:bottom, left:right] > 0
    kept &= ~box.printed_mask
    assert crossing(kept, box.box_px, dotted=True) < 0.1  # the kept ink alone: a mark in the box
    dots = line_ink(darkness, INK_LEVEL, kept, box.printed_mask, True)
    assert crossing(dots, box.box_px, dotted=True) > 0.9
    assert crossing(line_ink(darkness, INK_LEVEL, kept, box.printed_mask, False), box.box_px) < 0.1


def ring(box: Geometry, radius_mm: float, darkness: float = PEN) -> np.ndarray:
    drawn = blank(box)
    cv2.circle(drawn, centre(box), round(radius_mm * MM), darkness, WIDTH)
    return drawn


def encircled(darkness: np.ndarray, box: Geometry) -> float:
    return encircled_score(darkness, INK_LEVEL, box, 0.0, dotted=False, quiet=True)


def test_a_ring_drawn_round_the_box_is_encircled(box: Geometry) -> None:
    assert encircled(ring(box, 4.2), box) > 0.9


def test_a_tick_is_not_encircled(box: Geometry) -> None:
    """Its arms lie in 5 directions: fewer than half, so no hidden ones are bridged."""
    assert encircled(tick(box), box) <= 5 / SECTORS


def test_a_faint_ring_is_not_encircled(box: Geometry) -> None:
    """Drawn above the ink level but fainter than ARC_DARKNESS: no pen or pencil ring."""
    assert encircled(ring(box, 4.2, darkness=(INK_LEVEL + ARC_DARKNESS) / 2), box) < 0.2


def tight_ring(box: Geometry) -> np.ndarray:
    """A ring drawn so tight that it runs along the printed border, just outside it."""
    darkness = blank(box)
    left, top, right, bottom = box.box_px
    cv2.rectangle(darkness, (left - 3, top - 3), (right + 3, bottom + 3), PEN, 2)
    return darkness


def test_a_ring_drawn_tight_along_the_border_is_edge_ink_all_around(box: Geometry) -> None:
    edge, around = edge_scores(tight_ring(box), INK_LEVEL, box)
    assert edge > 0.2
    assert around > 0.9


def test_grain_along_the_border_fainter_than_any_pencil_is_no_edge_ink(box: Geometry) -> None:
    """A phone photo's mottled grain reaches the ink level in patches all round a border; a pencil line drawn
    there is darker than ARC_DARKNESS (HB rings: 0.18–0.21). Only the line counts."""
    grain = np.random.default_rng(3).normal(0.0, 1.0, (box.size, box.size)).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 1.5)
    mottled = np.clip(grain / grain.std() * 0.05 + 0.06, 0.0, ARC_DARKNESS - 0.01).astype(np.float32)
    assert edge_scores(mottled, INK_LEVEL, box)[0] == 0.0
    pencil = np.maximum(mottled, tight_ring(box) * (0.19 / PEN))
    assert edge_scores(pencil, INK_LEVEL, box)[0] > 0.1


def test_a_stroke_across_the_border_is_edge_ink_in_few_directions(box: Geometry) -> None:
    darkness = blank(box)
    x, y = centre(box)
    cv2.line(darkness, (x, y), (box.size - 1, y - 2 * MM), PEN, WIDTH)
    edge, around = edge_scores(darkness, INK_LEVEL, box)
    assert 0 < edge < 0.05
    assert around <= 2 / SECTORS


def directions(text: str) -> np.ndarray:
    return np.array([c == "#" for c in text])


@pytest.mark.parametrize(
    ("covered", "longest", "expected"),
    [
        ("#..#...####.", 2, "####...#####"),  # gaps of 2 and of 1 (across the end) filled, of 3 not
        ("#..#...####.", 3, "############"),
        ("#..#...####.", 0, "#..#...####."),
        (".##########.", 1, ".##########."),  # the gap across the end is 2 long
        (".##########.", 2, "############"),
        ("......#.....", 10, "......#....."),  # one direction: the gap round to itself is 11 long
        ("............", 2, "............"),
        ("############", 2, "############"),
    ],
)
def test_bridged_fills_short_gaps_around_the_circle(covered: str, longest: int, expected: str) -> None:
    assert np.array_equal(_bridged(directions(covered), longest), directions(expected))


def arc(box: Geometry, start: int, end: int) -> np.ndarray:
    """A ring round the box from ``start`` to ``end`` degrees (clockwise from the right, as directions are)."""
    drawn = blank(box)
    radius = round(4.2 * MM)
    cv2.ellipse(drawn, centre(box), (radius, radius), 0, start, end, PEN, WIDTH)
    return drawn


def test_a_ring_hidden_in_two_directions_is_still_encircled(box: Geometry) -> None:
    """Directions are 30° sectors from −180°: a ring missing −65° … 5° leaves two of them empty, as one
    drawn along the printed line there would (HIDDEN_SECTORS); missing −125° … 5°, four: not bridged."""
    assert encircled(arc(box, 5, 295), box) == 1.0
    assert encircled(arc(box, 5, 235), box) == 8 / SECTORS
