"""Comments: cut a 意见建议 cell out of an upright page, straight, and measure the handwriting in it.

The layout says where the cell was printed, but the upright page (:func:`pipeline.reading.keep.upright_page`)
is only as true as the page's transform, and that is fitted to the checkboxes: the comment column, right of
every box, is where a curled phone photo drifts most (2 mm and more). So the cell's own ruling lines are
looked for within ±:data:`SEARCH_MM` of where they were printed — the top and bottom lines strip by strip
across the cell, so that a bent line is followed — and the cell is resampled so that its lines lie where
they were printed (:func:`cut_comment`). Where a line is not found, the printed place stands.

Ink is then measured inside the lines against the cell's own paper, at a level set by the paper's noise
(a grainy photo needs darker ink than a clean scan), with specks and long straight lines (a scanner streak,
a fold) left out: :class:`CommentInk` holds numbers only, :func:`is_written` decides. Dropping a comment
loses what the public wrote; keeping an empty cell costs a unit a glance at blank paper — so the line is
drawn low (:data:`WRITTEN_MM2`, see the README for what it was measured on).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Rect
from pipeline.common.imaging import Gray, upper_median
from pipeline.reading.keep import REVIEW_PX_PER_MM

PX_PER_MM = REVIEW_PX_PER_MM  # the upright page's scale, and the cut's
SEARCH_MM = 3.0  # a ruling line is looked for this far from where it was printed …
TRACK_MM = 1.2  # … and followed across the cell, each strip this far from where its neighbours lead
BEND_MM = 6.0  # the farthest a followed line may bend from its printed place (half a row: never the next line)
STRIPS = 8  # the top and bottom lines are found in this many strips across the cell (a bent line is followed)
STRIP_END_MM = 1.5  # each strip stops this far short of its neighbour (a tick reaching over a line is narrow)
LINE_WHITE_MM = 2.5  # the paper beside a line is looked for this far around each pixel
MIN_LINE_DARKNESS = 0.15  # a strip's line must be this dark on average (printed 0.25 mm black: 0.3–0.9 seen)
MARGIN_MM = 0.6  # the cut shows this much paper outside the ruling lines
INSET_MM = 0.9  # ink is measured this far inside the lines' centres (the printed line and its blur stay out)
PAPER_MM = 5.0  # the paper level: the median grey this far around (wider than a word written densely) …
PAPER_PX_PER_MM = 2.0  # … taken at this coarser scale
SMOOTH_PX = 1.5  # σ of the darkness map's smoothing: grain fades, a 0.3 mm stroke (1.8 px) stays
NOISE_SIGMAS = 5.0  # ink must stand this many noise deviations above the cell's plain paper …
INK_FLOOR = 0.08  # … and at least this dark (share of the way from the paper to black)
HYSTERESIS = 0.6  # an ink region extends over pixels this share as dark as the ink level …
STRONG_SHARE = 0.3  # … and is ink when this share of it reaches the level (grain linked into a cloud does not)
CORE_SHARE = 0.5  # a stroke's core: where it is at least half as dark as at its darkest
SPECK_MM = 1.5  # ink regions smaller than this across are specks (dust, toner, JPEG blocks) …
ELONGATION = 2.5  # … as are round blots smaller than BLOT_MM: a pen's line is this many times as long as thick
BLOT_MM = 2.5  # (a dust speck on a dirty scan: 1–2 mm across; a written character: 3 mm and more)
LINE_MM = 10.0  # a straight horizontal run this long is a line (streak, fold, a ruling line's residue) …
LINE_SHARE = 0.8  # … as is a vertical one through this share of the cell's height
WRITTEN_MM2 = 2.0  # a cell with this much ink (mm²) was written in: one dark stroke about 2 mm long
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class CommentInk:
    """What is in a comment cell, measured: numbers only (see :func:`is_written`)."""

    ink_mm2: float  # area of the cores of the ink regions kept (not specks, blots, straight lines), mm²
    strokes: int  # how many ink regions were kept
    ink_level: float  # 0–1, darkness the ink had to reach in this cell's noise
    lines_found: int  # 0–4: the cell's ruling lines found near where they were printed (else the printed place)


@dataclass(frozen=True)
class CommentCell:
    """A comment cell cut out straight: its ruling lines :data:`MARGIN_MM` inside the edges, at PX_PER_MM."""

    pixels: Gray
    ink: CommentInk


def is_written(ink: CommentInk) -> bool:
    """Something was written in the cell (the decision; the measure is :func:`comment_ink`)."""
    return ink.ink_mm2 >= WRITTEN_MM2


def cut_comment(page: Gray, rect: Rect) -> CommentCell:
    """The comment cell printed at ``rect`` (mm) on ``page`` (upright at PX_PER_MM), straightened and measured."""
    darkness, origin = _region_darkness(page, rect)
    top, bottom = (_horizontal_line(darkness, origin, rect, y) for y in (rect.y, rect.y + rect.h))
    left, right = (_vertical_line(darkness, origin, rect, x) for x in (rect.x, rect.x + rect.w))
    found = sum(line is not None for line in (top, bottom, left, right))
    pixels = _straightened(page, rect, top, bottom, left, right)
    inset = round((MARGIN_MM + INSET_MM) * PX_PER_MM)
    ink = comment_ink(pixels[inset:-inset, inset:-inset], found)
    return CommentCell(pixels, ink)


def comment_ink(interior: Gray, lines_found: int = 4) -> CommentInk:
    """Measure handwriting in ``interior`` (the cell inside its lines, at PX_PER_MM)."""
    grey = interior.astype(np.float32)
    paper = np.maximum(_paper(interior), grey)
    darkness = np.asarray(cv2.GaussianBlur((paper - grey) / np.maximum(paper, 1.0), (0, 0), SMOOTH_PX), np.float32)
    centre = upper_median(darkness)
    noise = upper_median(np.abs(darkness - centre)) * MAD_TO_SIGMA
    level = max(INK_FLOOR, centre + NOISE_SIGMAS * noise)
    weak = (darkness >= HYSTERESIS * level).astype(np.uint8)
    weak &= 1 - _straight_lines(weak)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    strong = np.bincount(labels[(darkness >= level) & (weak > 0)], minlength=count)
    speck = SPECK_MM * PX_PER_MM
    kept = [
        label
        for label in range(1, count)
        if strong[label] >= STRONG_SHARE * stats[label, cv2.CC_STAT_AREA]
        and (length := max(stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT])) >= speck
        and (length >= BLOT_MM * PX_PER_MM or stats[label, cv2.CC_STAT_AREA] * ELONGATION <= length**2)
    ]
    # A stroke's area is its core, where it is at least half as dark as its darkest: the smoothing and the
    # hysteresis widen a dark stroke by its halo, which is not more writing.
    area = sum(_core(darkness, labels == label, level) for label in kept) / PX_PER_MM**2
    return CommentInk(round(area, 3), len(kept), round(level, 4), lines_found)


def _paper(interior: Gray) -> npt.NDArray[np.float32]:
    """The paper's grey under every pixel: the median over PAPER_MM around it, taken at PAPER_PX_PER_MM (the
    median is the grain's middle, not its brightest, and ignores strokes covering less than half of it)."""
    height, width = interior.shape
    small_size = (
        max(1, round(width * PAPER_PX_PER_MM / PX_PER_MM)),
        max(1, round(height * PAPER_PX_PER_MM / PX_PER_MM)),
    )
    small = cv2.resize(interior, small_size, interpolation=cv2.INTER_AREA)
    median = cv2.medianBlur(small, max(3, _odd(PAPER_MM * PAPER_PX_PER_MM)))
    return np.asarray(
        cv2.resize(median.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )


def _core(darkness: npt.NDArray[np.float32], region: npt.NDArray[np.bool_], level: float) -> int:
    """Pixels of ``region`` at least CORE_SHARE as dark as its darkest, and at least at the ink level."""
    values = darkness[region]
    return int(np.count_nonzero(values >= max(level, CORE_SHARE * float(values.max()))))


def _straight_lines(ink: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Pixels of long straight horizontal or vertical runs (and one pixel round them)."""
    height = ink.shape[0]
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, round(LINE_MM * PX_PER_MM)), np.uint8))
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((max(3, round(height * LINE_SHARE)), 1), np.uint8))
    lines = np.bitwise_or(np.asarray(across, dtype=np.uint8), np.asarray(down, dtype=np.uint8))
    return np.asarray(cv2.dilate(lines, np.ones((3, 3), np.uint8)), dtype=np.uint8)


def _odd(pixels: float) -> int:
    return int(pixels) // 2 * 2 + 1


# -- finding the cell's ruling lines ------------------------------------------------------------------------


def _px(mm: float) -> float:
    """mm → pixel coordinate on the upright page (pixel centres at (i + ½) / PX_PER_MM mm)."""
    return mm * PX_PER_MM - 0.5


def _region_darkness(page: Gray, rect: Rect) -> tuple[npt.NDArray[np.float32], tuple[int, int]]:
    """Darkness (0 paper – 1 black) of the cell ± SEARCH_MM across and ± BEND_MM down against the nearby paper,
    and its top-left pixel."""
    height, width = page.shape
    x0, y0 = max(0, int(_px(rect.x - SEARCH_MM))), max(0, int(_px(rect.y - BEND_MM)))
    x1 = min(width, int(_px(rect.x + rect.w + SEARCH_MM)) + 2)
    y1 = min(height, int(_px(rect.y + rect.h + BEND_MM)) + 2)
    grey = page[y0:y1, x0:x1].astype(np.float32)
    white = cv2.dilate(grey, np.ones((_odd(LINE_WHITE_MM * PX_PER_MM),) * 2, np.uint8))
    return ((white - grey) / np.maximum(white, 1.0)).astype(np.float32), (x0, y0)


@dataclass(frozen=True)
class _Line:
    """A near-horizontal line: y (page px) at strip centres ``xs`` (page px, ascending), interpolated between
    them and continued straight beyond the end strips."""

    xs: npt.NDArray[np.float64]
    ys: npt.NDArray[np.float64]

    def at(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self.xs.size == 1:
            return np.full_like(x, self.ys[0])
        left = (self.ys[1] - self.ys[0]) / (self.xs[1] - self.xs[0])
        right = (self.ys[-1] - self.ys[-2]) / (self.xs[-1] - self.xs[-2])
        y = np.interp(x, self.xs, self.ys)
        y = np.where(x < self.xs[0], self.ys[0] + left * (x - self.xs[0]), y)
        return np.where(x > self.xs[-1], self.ys[-1] + right * (x - self.xs[-1]), y)


def _peak(profile: npt.NDArray[np.float32], expected: float, reach_mm: float) -> tuple[float, float] | None:
    """(sub-pixel index, darkness) of the darkest place within ``reach_mm`` of ``expected`` (a profile index),
    when it is as dark as a printed line."""
    low = max(0, round(expected - reach_mm * PX_PER_MM))
    high = min(profile.size, round(expected + reach_mm * PX_PER_MM) + 1)
    if high - low < 3:
        return None
    index = low + int(np.argmax(profile[low:high]))
    darkness = float(profile[index])
    if darkness < MIN_LINE_DARKNESS:
        return None
    if 0 < index < profile.size - 1:  # parabola through the peak and its neighbours
        before, at, after = (float(v) for v in profile[index - 1 : index + 2])
        curvature = before - 2 * at + after
        if curvature < 0:
            return index + 0.5 * (before - after) / curvature, darkness
    return float(index), darkness


def _horizontal_line(
    darkness: npt.NDArray[np.float32], origin: tuple[int, int], rect: Rect, y_mm: float
) -> _Line | None:
    """The ruling line printed at ``y_mm`` across the cell, or None when no strip shows it near its place.

    The leftmost strip showing a line within SEARCH_MM of the printed place is the start; from there the line
    is followed strip by strip, each looked for within TRACK_MM of where its neighbours lead, so that a line
    bent further than SEARCH_MM by a curl is still followed, and the next row's line (a row away) never is."""
    centres, profiles = [], []
    for strip in range(STRIPS):
        left = rect.x + rect.w * strip / STRIPS + STRIP_END_MM
        right = rect.x + rect.w * (strip + 1) / STRIPS - STRIP_END_MM
        columns = slice(round(_px(left)) - origin[0], round(_px(right)) - origin[0])
        centres.append(_px((left + right) / 2))
        profiles.append(darkness[:, columns].mean(axis=1))
    expected = _px(y_mm) - origin[1]
    # The left end lies beside the checkboxes the page's transform was fitted to: the line is nearest its
    # printed place there. The first strip from the left that shows it is where it is followed from.
    start = next(((index, hit[0]) for index, p in enumerate(profiles) if (hit := _peak(p, expected, SEARCH_MM))), None)
    if start is None:
        return None
    first, y = start
    found = {first: y}
    for step in (1, -1):
        index, misses = first + step, 0
        while 0 <= index < STRIPS and misses <= 1:
            known = sorted(found) if step == 1 else sorted(found, reverse=True)
            near = [k for k in known if (k - index) * step < 0][-2:]
            slope = (found[near[-1]] - found[near[0]]) / (near[-1] - near[0]) if len(near) == 2 else 0.0
            predicted = found[near[-1]] + slope * (index - near[-1])
            if abs(predicted - expected) > BEND_MM * PX_PER_MM:
                break
            hit = _peak(profiles[index], predicted, TRACK_MM)
            if hit is None:
                misses += 1
            else:
                found[index], misses = hit[0], 0
            index += step
    order = sorted(found)
    return _Line(np.array([centres[i] for i in order]), np.array([found[i] + origin[1] for i in order]))


def _vertical_line(darkness: npt.NDArray[np.float32], origin: tuple[int, int], rect: Rect, x_mm: float) -> float | None:
    """x (page px) of the ruling line printed at ``x_mm`` down the cell, or None."""
    rows = slice(round(_px(rect.y + STRIP_END_MM)) - origin[1], round(_px(rect.y + rect.h - STRIP_END_MM)) - origin[1])
    found = _peak(darkness[rows, :].mean(axis=0), _px(x_mm) - origin[0], SEARCH_MM)
    return None if found is None else found[0] + origin[0]


def _straightened(
    page: Gray, rect: Rect, top: _Line | None, bottom: _Line | None, left: float | None, right: float | None
) -> Gray:
    """The cell resampled so that its found lines lie MARGIN_MM inside the cut's edges (printed places for the
    lines not found, shifted like the lines that were)."""
    width = round((rect.w + 2 * MARGIN_MM) * PX_PER_MM)
    height = round((rect.h + 2 * MARGIN_MM) * PX_PER_MM)
    x_left = left if left is not None else _px(rect.x) + (right - _px(rect.x + rect.w) if right is not None else 0)
    x_right = right if right is not None else x_left + rect.w * PX_PER_MM
    # Output pixel centres in mm from the cell's top-left line crossing, then the share of the way across.
    u = ((np.arange(width) + 0.5) / PX_PER_MM - MARGIN_MM) / rect.w
    v = ((np.arange(height) + 0.5) / PX_PER_MM - MARGIN_MM) / rect.h
    xs = np.asarray(x_left + u * (x_right - x_left), dtype=np.float64)
    y_top = top.at(xs) if top is not None else None
    y_bottom = bottom.at(xs) if bottom is not None else None
    if y_top is None:
        y_top = (y_bottom if y_bottom is not None else np.full_like(xs, _px(rect.y + rect.h))) - rect.h * PX_PER_MM
    if y_bottom is None:
        y_bottom = y_top + rect.h * PX_PER_MM
    map_x = np.broadcast_to(xs[None, :], (height, width)).astype(np.float32)
    map_y = (y_top[None, :] + v[:, None] * (y_bottom - y_top)[None, :]).astype(np.float32)
    cut = cv2.remap(page, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return np.asarray(cut, dtype=np.uint8)
