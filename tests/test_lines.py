"""Page lines on a sheet brought upright: creases and streaks found once per page, straight or bent."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.reading.lines import page_lines

PX_PER_MM = 3.0  # the check stage's upright view
TABLE = (18.0, 51.0, 192.0, 193.0)  # the rows' left, top, right and bottom (mm), as on the shipped ballot


def creased(course_mm: np.ndarray, seed: int = 3, depth: float = 24.0) -> np.ndarray:
    """Plain paper (grey 200, grain σ 2) crossed from edge to edge by a faint crease whose centre runs at
    ``course_mm`` (one value per pixel column; NaN: not there), ``depth`` grey levels dark, spread over the two
    pixel rows it falls between."""
    height, width = round(297 * PX_PER_MM), round(210 * PX_PER_MM)
    paper = np.full((height, width), 200.0)
    for x, y_mm in enumerate(course_mm):
        if np.isnan(y_mm):
            continue
        y = y_mm * PX_PER_MM - 0.5
        low = int(np.floor(y))
        paper[low, x] -= depth * (1 - (y - low))
        paper[low + 1, x] -= depth * (y - low)
    grain = np.random.default_rng(seed).normal(0.0, 2.0, paper.shape)
    return np.clip(paper + grain, 0, 255).astype(np.uint8)


def columns_mm() -> np.ndarray:
    return (np.arange(round(210 * PX_PER_MM)) + 0.5) / PX_PER_MM


@pytest.mark.parametrize("rise_mm", [2.5, 3.0])
def test_a_crease_bent_by_a_curled_photo_is_followed_along_its_bend(rise_mm: float) -> None:
    """A folded sheet photographed curled: the flat page's fit straightens the table but not the crease, which
    lies flat in the left margin, rises across the first columns and runs flat again (field sample phone 0004:
    151.0 mm at the left edge, 153 mm from the middle on). The scorer looks for a line's own pixels within a
    millimetre of its course (score.row.LINE_MARGIN_MM): a straight course drawn through it lay up to 0.9–1.3 mm
    off; the course found follows the bend to within 0.6 mm all through the rows."""
    xs = columns_mm()
    rise = np.clip((xs - 15.0) / 70.0, 0.0, 1.0)
    course = 151.5 + rise_mm * (3 * rise**2 - 2 * rise**3)
    found = page_lines(creased(course), PX_PER_MM, np.zeros((891, 630), bool), TABLE)
    across = [line for line in found if not line.vertical]
    assert len(across) == 1, found
    rows = (xs > TABLE[0]) & (xs < TABLE[2])
    assert np.abs(across[0].offset_mm(xs[rows], course[rows])).max() < 0.6


def test_a_straight_crease_stays_straight() -> None:
    xs = columns_mm()
    course = 120.0 + 0.004 * xs
    found = page_lines(creased(course), PX_PER_MM, np.zeros((891, 630), bool), TABLE)
    assert len(found) == 1 and not found[0].vertical
    assert np.abs(found[0].offset_mm(xs, course)).max() < 0.25


def test_a_crease_fainter_than_any_run_of_ink_is_found_along_its_whole_course() -> None:
    """A crease only 7 grey levels dark, spread over two pixel rows, on paper with grain (σ 2): no run of it stands
    out as ink (that takes LINE_CONTRAST over RUN_MM), but along one straight course, a little slanted, it is a
    ridge from margin to margin, found to within a pixel."""
    xs = columns_mm()
    course = 120.0 + 0.006 * xs
    found = page_lines(creased(course, depth=7.0), PX_PER_MM, np.zeros((891, 630), bool), TABLE)
    assert len(found) == 1 and not found[0].vertical, found
    assert np.abs(found[0].offset_mm(xs, course)).max() < 0.2


def test_grain_alone_or_a_faint_line_inside_the_table_only_is_no_page_line() -> None:
    """Paper grain makes no line; a faint line drawn across the rows that stops short of both margins is no
    fold or streak (a voter's, or the back's print): neither is taken for a page line."""
    xs = columns_mm()
    assert page_lines(creased(np.full(xs.shape, np.nan)), PX_PER_MM, np.zeros((891, 630), bool), TABLE) == ()
    inside = np.where((xs > TABLE[0] + 1) & (xs < TABLE[2] - 1), 120.0, np.nan)
    assert page_lines(creased(inside, depth=7.0), PX_PER_MM, np.zeros((891, 630), bool), TABLE) == ()


def rows_mm() -> np.ndarray:
    return (np.arange(round(297 * PX_PER_MM)) + 0.5) / PX_PER_MM


def streaked(*streaks: tuple[np.ndarray, float], seed: int = 5) -> np.ndarray:
    """Plain paper (grey 200, grain σ 2) with scanner streaks down it: per streak, its centre (mm across, one value
    per pixel row; NaN: not there) and how many grey levels dark it is, two pixels wide."""
    height, width = round(297 * PX_PER_MM), round(210 * PX_PER_MM)
    paper = np.full((height, width), 200.0)
    for course_mm, depth in streaks:
        for y, x_mm in enumerate(course_mm):
            if not np.isnan(x_mm):
                x = round(x_mm * PX_PER_MM - 0.5)
                paper[y, x : x + 2] -= depth
    grain = np.random.default_rng(seed).normal(0.0, 2.0, paper.shape)
    return np.clip(paper + grain, 0, 255).astype(np.uint8)


def test_two_streaks_a_few_millimetres_apart_are_two_lines_each_on_its_own_course() -> None:
    """Held-out 1011, a damaged scan: one streak down the whole page, a second 5.5 mm beside it from the table's
    middle down, the page turned a little so that each drifts 1.7 mm over its length. Gathered side by side step by
    step, their runs made one group, and the course fitted through both ran between them, over neither: the first
    streak was left as ink in a box of the rows below and read as a second mark. Each is found on its own course."""
    ys = rows_mm()
    first = 108.0 + 0.006 * ys
    second = np.where(ys > 100.0, 111.0 + 0.006 * ys, np.nan)
    found = page_lines(streaked((first, 40.0), (second, 60.0)), PX_PER_MM, np.zeros((891, 630), bool), TABLE)
    down = sorted((line for line in found if line.vertical), key=lambda line: line.course[-1])
    assert len(down) == 2, found
    rows = (ys > TABLE[1]) & (ys < TABLE[3])
    assert np.abs(down[0].offset_mm(first[rows], ys[rows])).max() < 0.5
    lower = rows & (ys > 110.0)
    assert np.abs(down[1].offset_mm(second[lower], ys[lower])).max() < 0.5
