"""Shapes: what the ink's shape says, beyond how much of it there is.

- ``encircled``: a ring drawn round the box: firm, long strokes in most directions around its centre, with
  its middle left empty;
- ``edge`` and ``edge_around``: a ring drawn so tight that it runs along the printed border;
- ``crossing``: one straight line through the box and on beyond both sides, a scanner streak, a fold or a
  ruled line rather than a voter's mark.

Each score's meaning for the classifier is in :mod:`.result`.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.common.imaging import Floats
from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.ink import HYSTERESIS, ink_regions, joined_across
from pipeline.reading.score.result import (
    FAINT_LEVEL,
    INTERIOR_INSET_MM,
    PATCH_PX_PER_MM,
    RING_GAP_MM,
    RING_MM,
    SECTORS,
)

MIN_SECTOR_PX = 3  # ink pixels that make a direction count (a few pixels of a thin stroke)
ARC_MM = 3.0  # only ink regions this long count for ``encircled``: a circle's arcs between border crossings
# ``encircled`` sees ink one patch pixel beside a printed line (geometry.NEAR_LINE_MM: a ring drawn tight) …
LINE_EDGE_EXTRA = 0.3  # … where it is this much darker than elsewhere (a line's edge misfit or halo is faint)
ARC_DARKNESS = 0.15  # a ring is drawn with a pen or pencil (arcs 0.18–0.21): fainter long strokes are no arcs
HIDDEN_SECTORS = 2  # directions a ring running along the printed line itself may hide in, between seen ones
UNEVEN_ARC_MM = 1.5  # on a quiet scan, once firm arcs lie in half the directions, shorter arcs of ink down
UNEVEN_ARC_DARKNESS = 0.1  # to FAINT_LEVEL and this dark on average complete it (light pencil, uneven pressure)
LINE_BRIDGE_KERNEL = np.ones((7, 7), np.uint8)  # ink either side of a printed line (~5 px with its margin) joins
THROUGH_SHARE = 0.9  # on a bilevel scan, a line through this share of the interior is a streak (see crossing)
LINE_CLOSE_KERNEL = np.ones((7, 1), np.uint8)  # a fax streak's dots up to 0.75 mm apart down a column join …
LINE_RUN_KERNEL = np.ones((6, 1), np.uint8)  # … and a line runs on for 0.75 mm (the gap to the row's grid line ~1.1)


def encircled_score(
    darkness: Floats, level: float, geometry: Geometry, strong_share: float, *, dotted: bool, quiet: bool
) -> float:
    """Share of the directions around the box's centre in which firm long strokes lie in the annulus. A ring
    drawn round the box is a long pen stroke (the printed border may cut it into a few arcs); grain, specks,
    dots and erased residue around a box are short or faint, whatever directions they happen to lie in.

    Ink right beside the printed lines counts (a ring is often drawn tight along one side), but only where
    it stands out LINE_EDGE_EXTRA more than elsewhere. A ring that runs along the printed line itself is
    hidden there: once half the directions are seen, gaps of up to HIDDEN_SECTORS between seen ones count.
    A light pencil ring drawn with uneven pressure breaks into firm arcs and faint, shorter ones: on a quiet
    grey scan (``quiet``: no grain that faint), once the firm arcs lie in half the directions, arcs of ink
    down to FAINT_LEVEL, at least UNEVEN_ARC_MM long and UNEVEN_ARC_DARKNESS dark on average, count too."""
    seen = np.asarray(np.where(geometry.printed_mask, darkness - LINE_EDGE_EXTRA, darkness), dtype=np.float32)
    covered = _arc_directions(seen, darkness, level, strong_share, geometry, ARC_MM, ARC_DARKNESS, dotted=dotted)
    if np.count_nonzero(covered) >= SECTORS // 2:
        if quiet and not dotted:
            covered |= _arc_directions(
                seen, darkness, FAINT_LEVEL, 0.0, geometry, UNEVEN_ARC_MM, UNEVEN_ARC_DARKNESS, dotted=False
            )
        covered = _bridged(covered, HIDDEN_SECTORS)
    return float(np.count_nonzero(covered)) / SECTORS


def _arc_directions(
    seen: Floats,
    darkness: Floats,
    level: float,
    strong_share: float,
    geometry: Geometry,
    length_mm: float,
    mean_darkness: float,
    *,
    dotted: bool,
) -> npt.NDArray[np.bool_]:
    """The directions around the box's centre (of SECTORS) in which strokes of ink at ``level``, at least
    ``length_mm`` long and ``mean_darkness`` dark on average, have MIN_SECTOR_PX pixels."""
    regions, _ = ink_regions(seen, level, geometry.near_line, strong_share, dotted=dotted)
    ink = regions > 0
    if not ink.any():
        return np.zeros(SECTORS, dtype=bool)
    # A ring crosses the printed border (often several times, when drawn tight): the line cuts it into arcs
    # that are one stroke, so ink is joined across the line before its strokes are measured.
    count, strokes, stats = joined_across(ink, geometry.near_line, LINE_BRIDGE_KERNEL)
    chosen = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= length_mm * PATCH_PX_PER_MM
    chosen[0] = False
    if chosen.any():
        area = np.maximum(np.bincount(strokes[ink], minlength=count), 1)
        chosen &= np.bincount(strokes[ink], weights=darkness[ink], minlength=count) >= mean_darkness * area
    hits = np.bincount(geometry.sectors[chosen[strokes] & ink & (geometry.sectors >= 0)], minlength=SECTORS)
    return np.asarray(hits >= MIN_SECTOR_PX)


def _bridged(covered: npt.NDArray[np.bool_], longest: int) -> npt.NDArray[np.bool_]:
    """``covered`` (around a circle) with every run of at most ``longest`` uncovered entries between covered
    ones filled in."""
    if covered.all() or not covered.any():
        return covered
    start = int(np.argmax(covered))
    rolled = np.roll(covered, -start)  # begins with a covered entry, so every run of gaps ends at one
    filled = rolled.copy()
    run = 0
    for index in range(1, rolled.size + 1):
        if index < rolled.size and not rolled[index]:
            run += 1
            continue
        if run <= longest:
            filled[index - run : index] = True
        run = 0
    result: npt.NDArray[np.bool_] = np.roll(filled, start)
    return result


def edge_scores(darkness: Floats, level: float, geometry: Geometry) -> tuple[float, float]:
    """Share of :attr:`Geometry.edge_band` as dark as a pen or pencil line (darker than ``level`` and ARC_DARKNESS:
    a phone photo's grain reaches the ink level in patches all round a border) (``edge``), and share of the SECTORS
    directions around the box in which at least MIN_SECTOR_PX of it is (``edge_around``)."""
    if not geometry.edge_band.size:
        return 0.0, 0.0
    drawn_there = np.take(darkness, geometry.edge_band) > max(level, ARC_DARKNESS)
    edge = float(np.count_nonzero(drawn_there)) / drawn_there.size
    if not edge:
        return 0.0, 0.0
    drawn = np.bincount(geometry.edge_sectors[drawn_there], minlength=SECTORS)
    return edge, float(np.count_nonzero(drawn >= MIN_SECTOR_PX)) / SECTORS


def line_ink(
    darkness: Floats, level: float, ink: npt.NDArray[np.bool_], printed: npt.NDArray[np.bool_], dotted: bool
) -> npt.NDArray[np.bool_]:
    """Where :func:`crossing` looks for a line: the box's ink, and on a bilevel scan also the dots that lie
    in a column or a row. A streak on a fax is a column of dots: between the box and the grid lines of its
    row too little of it is left to be kept as ink, while inside the box the dots link into a stroke; judged
    from the kept ink alone it was a mark in the box (a vote), not a line through it."""
    own = ink & ~printed
    if not dotted:
        return own
    dots = ((darkness > level * HYSTERESIS) & ~printed).astype(np.uint8)
    if not dots.any():
        return own
    # Only dots in a column (or a row) make a line: closed along it (LINE_CLOSE_KERNEL), then kept where they
    # run on (LINE_RUN_KERNEL). The fax's pepper noise and the ragged edge of a tick do not.
    runs = [
        cv2.morphologyEx(cv2.morphologyEx(dots, cv2.MORPH_CLOSE, close), cv2.MORPH_OPEN, run)
        for close, run in ((LINE_CLOSE_KERNEL, LINE_RUN_KERNEL), (LINE_CLOSE_KERNEL.T, LINE_RUN_KERNEL.T))
    ]
    return np.asarray(own | ((np.maximum(runs[0], runs[1]) > 0) & ~printed), dtype=bool)


def crossing(ink: npt.NDArray[np.bool_], box: tuple[int, int, int, int], *, dotted: bool = False) -> float:
    """How completely one straight vertical or horizontal line runs through the box and on beyond both
    sides (0–1): a scanner streak, a fold or a ruled line, not a voter's mark. A tick or a cross is
    diagonal and never scores high; a filled box has nothing beyond its sides. On a bilevel scan (``dotted``)
    a streak is a column of dots with gaps, and little of it fits between the box and its row's grid lines:
    there a line through the whole interior (THROUGH_SHARE of it) counts if any of it shows on both sides,
    as far as the patch reaches."""
    left, top, right, bottom = box
    inset = round(INTERIOR_INSET_MM * PATCH_PX_PER_MM)
    gap = round(RING_GAP_MM * PATCH_PX_PER_MM)
    reach = round((RING_GAP_MM + RING_MM) * PATCH_PX_PER_MM)
    # Allow the line a tilt of a few pixels over the box (the page transform corrects skew, not the streak).
    wide = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    # A line through the box shows beyond two opposite sides: where the ink reaches neither the rows above and below
    # it nor the columns left and right of it (most marks: a tick leaves its box on one side), nothing runs through.
    rows, columns = np.asarray(wide.any(axis=1), dtype=bool), np.asarray(wide.any(axis=0), dtype=bool)
    if not dotted and not (
        (rows[top - reach : top - gap].any() and rows[bottom + gap : bottom + reach].any())
        or (columns[left - reach : left - gap].any() and columns[right + gap : right + reach].any())
    ):
        return 0.0

    def covered(band: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:  # share of each column with ink
        return np.asarray(np.count_nonzero(band, axis=0) / band.shape[0], dtype=np.float64)

    def through(grid: npt.NDArray[np.bool_], near: int, far: int, start: int, end: int) -> float:
        inside = covered(grid[near + inset : far - inset, start:end])
        if not inside.size:
            return 0.0
        beyond = np.minimum(
            covered(grid[near - reach : near - gap, start:end]), covered(grid[far + gap : far + reach, start:end])
        )
        if dotted:  # any of it in the column on both sides, up to the patch's edge (past the grid lines)
            seen = np.any(grid[: near - gap, start:end], axis=0) & np.any(grid[far + gap :, start:end], axis=0)
            beyond = np.where((inside >= THROUGH_SHARE) & seen, 1.0, beyond)
        return float(np.max(np.minimum(inside, beyond)))

    return max(
        through(wide, top, bottom, left + inset, right - inset),
        through(wide.T, left, right, top + inset, bottom - inset),
    )
