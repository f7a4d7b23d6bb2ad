"""The scorer's ink (pipeline.reading.score.ink) on synthetic darkness: which faint regions count as ink, by
regime; strokes, specks and dots; the largest mark, joined across the printed border."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.ink import (
    GRAIN_STRONG_SHARE,
    HYSTERESIS,
    MIN_BLOB_MM2,
    MIN_STRONG_SHARE,
    ink_regions,
    largest_mark,
)
from pipeline.reading.score.result import INK_LEVEL, PATCH_PX_PER_MM

SIZE = 120
NOTHING_PRINTED = np.zeros((SIZE, SIZE), dtype=bool)
MM = round(PATCH_PX_PER_MM)  # patch pixels in a millimetre


def regions_of(darkness: np.ndarray, strong_share: float = 0.0, *, dotted: bool = False) -> np.ndarray:
    regions, _ = ink_regions(darkness.astype(np.float32), INK_LEVEL, NOTHING_PRINTED, strong_share, dotted=dotted)
    return regions


def inked(darkness: np.ndarray, strong_share: float) -> int:
    return int(np.count_nonzero(regions_of(darkness, strong_share)))


def pieces(regions: np.ndarray) -> int:
    return len(np.unique(regions[regions > 0]))


def cloud() -> np.ndarray:
    """A photo's blotchy grain: a 2.5 mm patch just under the ink level, a few pixels of it above."""
    darkness = np.zeros((SIZE, SIZE))
    length = round(2.5 * PATCH_PX_PER_MM)
    darkness[40 : 40 + length // 2, 30 : 30 + length] = 0.075
    darkness[45, 35:40] = INK_LEVEL + 0.02
    return darkness


def pencil() -> np.ndarray:
    """A light pencil stroke 3 mm long: most of its core reaches the ink level, its edges do not."""
    darkness = np.zeros((SIZE, SIZE))
    length = round(3 * PATCH_PX_PER_MM)
    darkness[60:63, 30 : 30 + length] = 0.075
    darkness[61, 30 : 30 + length] = INK_LEVEL + 0.03
    return darkness


def test_a_faint_cloud_is_a_stroke_only_on_a_quiet_scan() -> None:
    assert inked(cloud(), 0.0) > 0  # quiet office scan: a long faint region is a faint pencil stroke
    assert inked(cloud(), GRAIN_STRONG_SHARE) == 0  # a photo's grain
    assert inked(cloud(), MIN_STRONG_SHARE) == 0


def test_a_light_pencil_stroke_counts_in_every_regime() -> None:
    assert inked(pencil(), 0.0) > 0
    assert inked(pencil(), GRAIN_STRONG_SHARE) > 0
    assert inked(pencil(), MIN_STRONG_SHARE) > 0


def test_a_faint_long_stroke_is_one_region_where_only_parts_reach_the_ink_level() -> None:
    """A pencil line 6 mm long, 3 px wide, under the ink level but for three short firm stretches: one region,
    all of it (the hysteresis keeps what lies between the firm stretches)."""
    darkness = np.zeros((SIZE, SIZE))
    darkness[50:53, 20 : 20 + 6 * MM] = (1 + HYSTERESIS) / 2 * INK_LEVEL
    for start in (20, 20 + 3 * MM, 20 + 6 * MM - 4):
        darkness[51, start : start + 4] = 2 * INK_LEVEL
    regions = regions_of(darkness)
    assert pieces(regions) == 1
    assert np.count_nonzero(regions) == 3 * 6 * MM


def test_isolated_specks_are_dropped_however_dark() -> None:
    darkness = np.zeros((SIZE, SIZE))
    for y, x in ((10, 10), (30, 70), (60, 40), (90, 100), (100, 20)):
        darkness[y : y + 3, x : x + 3] = 1.0  # 9 px = 0.14 mm², toner or dust
    assert not regions_of(darkness).any()


def test_a_dot_as_big_as_the_smallest_blob_is_kept() -> None:
    """A dot mark of MIN_BLOB_MM2 and more is a mark; one well under it is a speck."""
    radius = np.sqrt(MIN_BLOB_MM2 / np.pi) * MM * 1.15
    for scale, kept in ((1.0, True), (0.6, False)):
        darkness = np.zeros((SIZE, SIZE), np.float32)
        cv2.circle(darkness, (60, 60), round(radius * scale), 0.5, -1)
        assert regions_of(darkness).any() == kept, scale


def test_on_a_bilevel_scan_a_broken_stroke_is_one_stroke() -> None:
    """A fax breaks a stroke into dots 2 px wide, 2 px apart: one stroke on a bilevel scan, specks on a grey one."""
    darkness = np.zeros((SIZE, SIZE))
    for x in range(20, 20 + 5 * MM, 4):
        darkness[60:62, x : x + 2] = 1.0
    assert pieces(regions_of(darkness, dotted=True)) == 1
    assert np.count_nonzero(regions_of(darkness, dotted=True)) == np.count_nonzero(darkness)  # the gaps stay paper
    assert not regions_of(darkness, dotted=False).any()


def tick_on_the_border(box: Geometry) -> np.ndarray:
    """A tick whose point lies on the box's bottom border, its two arms rising into the box."""
    darkness = np.zeros((box.size, box.size), np.float32)
    left, _, right, bottom = box.box_px
    point = ((left + right) // 2, bottom)
    cv2.line(darkness, point, (point[0] - 3 * MM // 2, bottom - 3 * MM // 2), 0.8, 3)
    cv2.line(darkness, point, (point[0] + 5 * MM // 2, bottom - 4 * MM), 0.8, 3)
    return darkness


def test_the_largest_mark_joins_a_ticks_arms_cut_apart_by_the_printed_border(box: Geometry) -> None:
    regions, _ = ink_regions(tick_on_the_border(box), INK_LEVEL, box.printed_mask, 0.0, dotted=False)
    inside = box.interior & (regions > 0)
    assert pieces(np.where(inside, regions, 0)) == 2  # the printed border's mask cuts the point away
    assert largest_mark(regions, inside, box.printed_mask) == np.count_nonzero(inside)


def test_specks_beside_a_mark_are_not_part_of_the_largest_mark(box: Geometry) -> None:
    """Specks big enough to be ink, apart from the tick: the largest mark is the tick; they are the rest."""
    tick = tick_on_the_border(box)
    darkness = tick.copy()
    left, top, _, _ = box.box_px
    for x in (left + 2 * MM, left + 4 * MM):
        cv2.circle(darkness, (x, top + 2 * MM), round(0.5 * MM), 0.8, -1)
    regions, _ = ink_regions(darkness, INK_LEVEL, box.printed_mask, 0.0, dotted=False)
    inside = box.interior & (regions > 0)
    alone, _ = ink_regions(tick, INK_LEVEL, box.printed_mask, 0.0, dotted=False)
    specks = np.count_nonzero(inside) - np.count_nonzero(box.interior & (alone > 0))
    assert specks >= 2 * MIN_BLOB_MM2 * MM**2
    assert largest_mark(regions, inside, box.printed_mask) == np.count_nonzero(inside) - specks
