"""The shapes of ink an existing form's answer place may hold, measured in its patch for
:mod:`pipeline.forms.scoring`: the largest mark (a thin pen counted as a normal one), a trail of light pencil
that a 1-bit scan broke into dots, a form's shaded band that a copy prints darker, arcs of a ring drawn round
a box, and the strokes that reach into a neighbouring place. Numbers and masks only; no decision."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Rect

SECTORS = 12  # directions round a place in which arcs of a ring drawn round it are looked for (as our boxes')
ARC_MM = 3.0  # only ink this long is an arc of such a ring (a circle's arcs between border crossings)
ARC_DARKNESS = 0.15  # … drawn with a pen or a pencil: fainter long strokes are no arcs
SPECK_MM2 = 0.15  # smaller ink is dust or noise, never a mark
DOT_GAP_MM = 0.25  # on a fax, dots this close belong to one stroke
TRAIL_GAP_MM = 0.7  # … and, as a trail of light pencil, dots this close (0.25–0.6 mm apart at 300 dpi, 1-bit)
STROKE_MM = 1.5  # faint or dotted ink this long is a stroke (as in pipeline.reading.score)
MARK_GAP_MM = 0.8  # strokes this close are one mark (a cross's arms, a tick lifted mid-stroke)
SHADE_WIDTH_MM = 1.2  # faint ink at least this wide, running off the patch, is a shaded band of the form
SHADE_DARKNESS = 0.35  # … when its mean darkness stays under this (pencil shading a box is in the box)
TRAIL_MM = 1.5  # a trail of dots this long on a 1-bit page is a stroke (light pencil), not noise …
TRAIL_DOTS = 4  # … when it has this many dots at least
PEN_MM = 0.45  # a mark drawn thinner counts as drawn this wide (see largest_mark)
THIN_PEN_FACTOR = 2.5  # … but at most this many times its own area


def encircled(
    ink: npt.NDArray[np.bool_],
    ring: npt.NDArray[np.bool_],
    raw: npt.NDArray[np.float32],
    rect: Rect,
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    scale: float,
) -> float:
    """Share of the directions round the place (SECTORS) in which a long pen or pencil arc lies in its ring: a
    ring drawn round the box. Directions where the blank had print close by (no ring there: a heading over
    the box, its option text) count when a seen one is beside them: the ring drawn round passes over it."""
    arcs = ink & ring
    if not arcs.any():
        return 0.0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(arcs.astype(np.uint8), connectivity=8)
    long_enough = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= ARC_MM * scale
    darkness = np.bincount(labels.ravel(), weights=raw.ravel(), minlength=count) / np.maximum(stats[:, 4], 1)
    keep = long_enough & (darkness >= ARC_DARKNESS)
    keep[0] = False
    angle = np.arctan2(y_mm - rect.h / 2, x_mm - rect.w / 2)
    sector = (np.floor((angle + np.pi) / (2 * np.pi) * SECTORS).astype(np.int64)) % SECTORS
    covered = np.zeros(SECTORS, dtype=bool)
    covered[np.unique(sector[keep[labels] & arcs])] = True
    open_ = np.zeros(SECTORS, dtype=bool)
    open_[np.unique(sector[ring])] = True
    beside = np.roll(covered, 1) | np.roll(covered, -1)
    return float(np.count_nonzero(covered | (~open_ & beside))) / SECTORS


def interiors(
    others: tuple[Rect, ...], rect: Rect, x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], inset: float
) -> npt.NDArray[np.bool_]:
    """The insides of ``others`` in this patch (``x_mm``, ``y_mm``: mm from this place's corner)."""
    mask = np.zeros(x_mm.shape, dtype=bool)
    for other in others:
        left, top = other.x - rect.x + inset, other.y - rect.y + inset
        right, bottom = other.x + other.w - rect.x - inset, other.y + other.h - rect.y - inset
        mask |= (x_mm > left) & (x_mm < right) & (y_mm > top) & (y_mm < bottom)
    return mask


def joined_to(ink: npt.NDArray[np.bool_], where: npt.NDArray[np.bool_], scale: float) -> npt.NDArray[np.bool_]:
    """The groups of ``ink`` (strokes closer than MARK_GAP_MM) that reach into ``where``."""
    if not (ink & where).any():
        return np.zeros_like(ink)
    gap = max(1, round(MARK_GAP_MM * scale / 2))
    grouped = cv2.dilate(ink.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    count, labels = cv2.connectedComponents(grouped, connectivity=8)
    reaching = np.zeros(count, dtype=bool)
    reaching[np.unique(labels[ink & where])] = True
    reaching[0] = False
    return np.asarray(reaching[labels] & ink, dtype=bool)


def trail(dots: npt.NDArray[np.bool_], scale: float) -> float:
    """The area (px) the longest trail of dots (each within TRAIL_GAP_MM of the next, TRAIL_MM long at least,
    TRAIL_DOTS dots at least) would cover drawn PEN_MM wide; 0 when there is none."""
    if not dots.any():
        return 0.0
    gap = max(1, round(TRAIL_GAP_MM * scale / 2))
    grouped = cv2.dilate(dots.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    if count <= 1:
        return 0.0
    _, dot_labels = cv2.connectedComponents(dots.astype(np.uint8), connectivity=8)
    pairs = np.unique(np.stack([labels[dots], dot_labels[dots]]), axis=1)  # (trail, dot) once each
    dot_count = np.bincount(pairs[0], minlength=count)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) - 2 * gap
    extent[0] = 0
    extent[dot_count < TRAIL_DOTS] = 0
    longest = float(extent.max())
    return longest * PEN_MM * scale if longest >= TRAIL_MM * scale else 0.0


def shading(
    ink: npt.NDArray[np.bool_], raw: npt.NDArray[np.float32], interior: npt.NDArray[np.bool_], scale: float
) -> npt.NDArray[np.bool_]:
    """Faint, wide ink running off the patch and not into the place: a shaded band of the form (a grey
    heading row, a tinted column) whose edge a scan makes darker than the blank's, never a pen line (a pen or
    pencil line is under SHADE_WIDTH_MM wide; a mark inside the place is never taken for shading)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    shade = np.zeros(count, dtype=bool)
    height, width = ink.shape
    for index in range(1, count):
        x, y, w, h, area = stats[index]
        if x > 0 and y > 0 and x + w < width and y + h < height:
            continue  # a shaded band runs on beyond the patch
        region = labels == index
        if (region & interior).any():
            continue
        contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outline = sum(cv2.arcLength(contour, True) for contour in contours)
        wide = 2 * area / max(outline, 1.0) >= SHADE_WIDTH_MM * scale / 2
        shade[index] = wide and float(np.mean(raw[region])) < SHADE_DARKNESS
    return np.asarray(shade[labels], dtype=bool)


def largest_mark(ink: npt.NDArray[np.bool_], scale: float, *, thin_pen: bool = False) -> float:
    """Pixels of the largest group of ``ink`` (strokes closer than MARK_GAP_MM: a cross, a broken tick). With
    ``thin_pen``, a mark drawn thinner than PEN_MM counts as the area it would cover drawn PEN_MM wide (up to
    THIN_PEN_FACTOR times its own): a fine ballpoint tick in a 5 mm box covers a few percent of it, yet it is
    as clear a vote as a gel pen's. Its width is its area over half its outline's length."""
    if not ink.any():
        return 0.0
    gap = max(1, round(MARK_GAP_MM * scale / 2))
    grouped = cv2.dilate(ink.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    count, labels = cv2.connectedComponents(grouped, connectivity=8)
    sizes = np.bincount(labels[ink], minlength=count)
    largest = int(np.argmax(sizes[1:])) + 1
    pixels = float(sizes[largest])
    if not thin_pen:
        return pixels
    mark = (ink & (labels == largest)).astype(np.uint8)
    contours, _ = cv2.findContours(mark, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(contour, True) for contour in contours)
    width = 2 * pixels / outline if outline else PEN_MM * scale
    return pixels * float(np.clip(PEN_MM * scale / max(width, 1e-6), 1.0, THIN_PEN_FACTOR))


def hysteresis(
    weak: npt.NDArray[np.bool_],
    strong: npt.NDArray[np.bool_],
    darkness: npt.NDArray[np.float32],
    stroke_level: float,
    scale: float,
) -> npt.NDArray[np.bool_]:
    """Faint ink that belongs to a stroke: regions of ``weak`` holding some ``strong`` ink, or running
    STROKE_MM long and dark enough on average (a faint pencil circle round a □ is too light to pass the
    ink level anywhere; a chain of a noisy photo's grain is as long but paler)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(weak)
    has_strong = np.bincount(labels[strong & weak], minlength=count) > 0
    long_enough = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= STROKE_MM * scale
    mean = np.bincount(labels.ravel(), weights=darkness.ravel(), minlength=count) / np.maximum(stats[:, 4], 1)
    keep = has_strong | (long_enough & (mean >= stroke_level))
    keep[0] = False
    return np.asarray(keep[labels], dtype=bool)


def blobs(ink: npt.NDArray[np.bool_], scale: float, *, dotted: bool) -> npt.NDArray[np.bool_]:
    """``ink`` without isolated specks (dust, JPEG and fax noise). On a ``dotted`` (1-bit) page, dots closer
    than DOT_GAP_MM count together, so that a pencil stroke a fax broke into dots stays a stroke: kept when
    its group covers SPECK_MM2 or runs STROKE_MM long. (On a grey page that would join noise grains.)"""
    gap = max(1, round(DOT_GAP_MM * scale)) if dotted else 0
    grouped = cv2.dilate(ink.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    area = np.bincount(labels[ink], minlength=len(stats))
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) - 2 * gap
    keep = (area >= SPECK_MM2 * scale * scale) | (dotted & (extent >= STROKE_MM * scale))
    keep[0] = False
    return np.asarray(ink & keep[labels], dtype=bool)
