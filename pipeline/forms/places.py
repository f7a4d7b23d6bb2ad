"""Answer places: the printed □ and ○ a form asks to tick, found anywhere on an upright page.

A place is *seen* when it is a clean outline around an empty inside: a hole in the page's ink, square or
round, 1.2–10 mm across, ringed by a thin stroke (at most a quarter of its size: 口 and ■ are thicker, a
letter o is as thin but never stands alone). Round places must stand clear of other ink on both sides (a
letter sits in a word); square ones may be followed by their option text (□满意) or joined to their
neighbours by a rule (a Likert line), since the hole is found whatever touches the outline.

A mark inside a box (a tick, a cross, a filled bubble) splits or fills its hole: such a place is not seen
by the first pass. :func:`outline_share` measures how much of an expected outline is printed at a spot, so
that :mod:`pipeline.forms.grid` can find the places its rows and columns say must be there.

Ink is measured against the local paper (a wide maximum of the lightly smoothed page): grey rules, a
half-tone □ printed in 40 % black, a pale phone photo. Its threshold follows the page's noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.template import CLEAR_DIRECTIONS
from pipeline.common.imaging import Gray
from pipeline.forms.ruling import PxRect

PlaceKind = Literal["square", "circle"]

PLACE_MM = (1.2, 7.0)  # inside size of an answer place (a bubble's hole … a large box; a registration ring is more)
MAX_ASPECT = 1.35  # width / height of a place's inside, either way
SQUARE_FILL = 0.85  # of its bounding box, the least a square's inside covers (a circle covers π/4)
ROUND_FILL = (0.65, 0.85)  # a circle's inside, of its bounding box
ROUNDNESS = 0.75  # 4πA/P², the least a circle's inside has (a square's is π/4 ≈ 0.785, a circle's 1)
# Of the place's outer size, the thickest outline: a □ glyph or a drawn box is thin (0.06–0.13 of it as
# scanned), 口 is 0.18; a bubble's ring is bolder (a letter o as bold stands in a word, see ALONE_SHARE).
MAX_STROKE_SHARE: dict[PlaceKind, float] = {"square": 0.16, "circle": 0.25}
ALONE_SHARE = 0.7  # of its size: the paper a bubble has on either side (a letter o has its word beside it)
PAPER_MM = 3.0  # the local paper is the lightest grey within this window (wider than any stroke)
SMOOTH_MM = 0.07  # smoothing before the threshold: a dotted half-tone outline becomes a line
MIN_INK = 18.0  # grey levels below the local paper: the least that is ink on a clean scan
NOISE_FACTOR = 6.0  # … or this many times the page's noise (its median absolute deviation), if more
CODE_MARGIN_MM = 2.0  # places this close to a QR code or barcode are the code's own squares
SIDE_SHARE = 0.5  # of each side of a □, the least printed where its outline is looked for
CLEAR_INSIDE = 0.5  # share of a thin □'s outline with paper just inside it, marks and all (text has ink there)
SECTOR_RAYS = 5  # rays a sector's clearance is the least of
CLEAR_MM = 5.0  # clearance is measured this far at most (beyond the widest ring the scorer looks at)
SHADE_INK = 8.0  # grey levels below the local paper: print, for clearance (a light grey band's edge)
PRINT_GROW_MM = 0.3  # print is grown this much before measuring clearance (blur, a slightly shifted copy)


@dataclass(frozen=True)
class Place:
    """A printed answer place on the page, in image pixels: the outline's outer edge."""

    rect: PxRect
    kind: PlaceKind
    stroke: float  # px, the outline's thickness as thresholded
    seen: bool = True  # False: found where its row and column put it (a mark may cover its inside)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.rect[0] + self.rect[2]) / 2, (self.rect[1] + self.rect[3]) / 2)

    @property
    def size(self) -> float:
        return max(self.rect[2] - self.rect[0], self.rect[3] - self.rect[1])


@dataclass(frozen=True)
class InkMap:
    """The page's ink: how far below the local paper each pixel is (grey levels), from what level on that is
    ink, and the ink mask (one-pixel breaks closed: an outline must be closed for its hole to show)."""

    darkness: Gray
    threshold: float
    ink: npt.NDArray[np.uint8]
    _grown: dict[int, npt.NDArray[np.bool_]] = field(default_factory=dict, compare=False, repr=False)

    def near(self, reach: int) -> npt.NDArray[np.bool_]:
        """Where ink lies within ``reach`` px (a square window), computed once per reach."""
        if reach not in self._grown:
            kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
            self._grown[reach] = np.asarray(cv2.dilate(self.ink, kernel), dtype=bool)
        return self._grown[reach]


def ink_map(image: Gray, px_per_mm: float) -> InkMap:
    """Darkness against the local paper, and the page's ink threshold (:data:`MIN_INK` or its noise)."""
    smooth = cv2.GaussianBlur(image, (0, 0), max(0.6, SMOOTH_MM * px_per_mm))
    window = int(PAPER_MM * px_per_mm) | 1
    paper = cv2.blur(cv2.dilate(smooth, np.ones((window, window), np.uint8)), (window, window))
    darkness = np.clip(paper.astype(np.int16) - smooth.astype(np.int16), 0, 255).astype(np.uint8)
    sample = darkness[::3, ::3].astype(np.float64)
    noise = 1.4826 * float(np.median(np.abs(sample - np.median(sample))))
    threshold = max(MIN_INK, NOISE_FACTOR * noise)
    mask = (darkness > threshold).astype(np.uint8)
    ink = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)), dtype=np.uint8)
    return InkMap(np.asarray(darkness, dtype=np.uint8), threshold, ink)


def find_places(ink_map_: InkMap, px_per_mm: float, exclude: Sequence[PxRect] = ()) -> list[Place]:
    """Every answer place seen on the page (clean outlines around empty insides), top to bottom; none within
    ``exclude`` (QR codes, barcodes: their finder patterns are hollow squares too)."""
    ink = ink_map_.ink
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    low, high = PLACE_MM[0] * px_per_mm, PLACE_MM[1] * px_per_mm
    margin = CODE_MARGIN_MM * px_per_mm
    places = []
    for index, hole in enumerate(contours):
        parent = int(hierarchy[0][index][3])
        if parent == -1:
            continue  # an outer contour; places are found by their holes
        x, y, w, h = cv2.boundingRect(hole)
        if not (low <= w <= high and low <= h <= high) or max(w, h) > MAX_ASPECT * min(w, h):
            continue
        kind = _shape(hole, w, h)
        if kind is None:
            continue
        stroke = _stroke(ink, (x, y, w, h), high)
        share = MAX_STROKE_SHARE[kind]
        if stroke is None or stroke > share * (max(w, h) + 2 * stroke):
            continue
        ox, oy, ow, oh = cv2.boundingRect(contours[parent])
        outer = (ox, oy, ow, oh)
        if _in_grid((w, h), outer, stroke) or (kind == "circle" and not _alone(ink, (x, y, w, h), outer, stroke)):
            continue
        rect = (x + 1 - stroke, y + 1 - stroke, x + w - 1 + stroke, y + h - 1 + stroke)
        if any(_near(rect, code, margin) for code in exclude):
            continue
        places.append(Place(rect, kind, stroke))
    return sorted(places, key=lambda place: (place.rect[1], place.rect[0]))


def _shape(hole: npt.NDArray[np.integer[Any] | np.floating[Any]], w: int, h: int) -> PlaceKind | None:
    area = float(cv2.contourArea(hole))
    perimeter = float(cv2.arcLength(hole, True))
    fill = area / (w * h)
    if fill >= SQUARE_FILL:
        return "square"
    roundness = 4 * np.pi * area / perimeter**2 if perimeter else 0.0
    if ROUND_FILL[0] <= fill < ROUND_FILL[1] and roundness >= ROUNDNESS:
        return "circle"
    return None


def _stroke(ink: npt.NDArray[np.uint8], hole: tuple[int, int, int, int], longest: float) -> float | None:
    """The outline's thickness: ink run outward from the middle of each side of the hole (median); None when
    a side has none (the hole is a gap between strokes, not a ring's inside). A hole's contour runs along the
    ink bordering it, so each run starts on it (a one-pixel ring is one pixel thick)."""
    x, y, w, h = hole
    cx, cy = x + w // 2, y + h // 2
    height, width = ink.shape
    runs = []
    for px, py, dx, dy in ((x, cy, -1, 0), (x + w - 1, cy, 1, 0), (cx, y, 0, -1), (cx, y + h - 1, 0, 1)):
        run = 0
        while 0 <= py < height and 0 <= px < width and ink[py, px] and run < longest:
            run += 1
            px, py = px + dx, py + dy
        runs.append(run)
    # The second thinnest side: a rule joining the box to the next (a Likert line) lengthens one or two runs.
    return float(sorted(runs)[1]) if min(runs) > 0 else None


def _in_grid(hole: tuple[int, int], outer: tuple[int, int, int, int], stroke: float) -> bool:
    """Whether the ink around a hole reaches far beyond it both across and down: a table cell (its rules
    run on), not a box (a rule joining boxes runs one way only)."""
    slack = 4 * stroke + 4
    return outer[2] > hole[0] + slack and outer[3] > hole[1] + slack


def _alone(
    ink: npt.NDArray[np.uint8], hole: tuple[int, int, int, int], outer: tuple[int, int, int, int], stroke: float
) -> bool:
    """A bubble is its own piece of ink, with paper on its left and right (a letter o is part of a word)."""
    _, _, w, h = hole
    ox, oy, ow, oh = outer
    if ow > w + 4 * stroke + 4 or oh > h + 4 * stroke + 4:
        return False
    gap = int(ALONE_SHARE * max(w, h))
    left = ink[oy : oy + oh, max(0, ox - gap) : ox]
    right = ink[oy : oy + oh, ox + ow : ox + ow + gap]
    return not left.any() and not right.any()


def _near(rect: PxRect, other: PxRect, margin: float) -> bool:
    return not (
        rect[2] < other[0] - margin
        or rect[0] > other[2] + margin
        or rect[3] < other[1] - margin
        or rect[1] > other[3] + margin
    )


class OutlineProbe:
    """How much of an outline like ``like``'s is printed around given centres, many at once.

    An outline point counts when ink lies within the stroke's reach of it (±1 px) and, with ``thin``, paper
    just outside it: text and bold glyphs are ink there too, a printed □ or ○ is not. A square needs its four
    corners printed and, with ``thin``, paper just inside most of its outline (a tick or a cross touches it
    here and there, glyphs side by side all along). Otherwise ink inside the outline (a mark, a filled
    bubble) does not matter."""

    def __init__(self, ink: InkMap, like: Place) -> None:
        self.like = like
        reach = max(1, round(like.stroke / 2 + 1))
        self._near = ink.near(reach)
        self._ink = ink.near(0)
        radius = like.size / 2 - like.stroke / 2
        points = _outline_points(like.kind, radius)
        self._on = np.array([(dx, dy) for dx, dy, _, _ in points])
        steps = range(reach + 2, reach + 2 + max(2, round(like.stroke)))
        self._out = np.array([[(dx + nx * k, dy + ny * k) for k in steps] for dx, dy, nx, ny in points])
        inward = (reach + 1, reach + 2)  # just inside the stroke: a mark crosses it here and there only
        self._in = np.array([[(dx - nx * k, dy - ny * k) for k in inward] for dx, dy, nx, ny in points])
        self._corners = np.array([(sx * radius, sy * radius) for sx in (-1, 1) for sy in (-1, 1)])

    def shares(self, centres: npt.NDArray[np.float64], *, thin: bool = True) -> npt.NDArray[np.float64]:
        """Share of the outline printed around each of ``centres`` (N × 2, px); 0 for a square whose corners
        are not all printed (two glyphs side by side, "10", make the sides of a square but no corners)."""
        on = self._sample(self._near, centres[:, None, :] + self._on[None, :, :])
        if thin:
            outside = self._sample(self._ink, centres[:, None, None, :] + self._out[None, :, :, :]).any(axis=2)
            on = on & ~outside
        shares = np.asarray(on.mean(axis=1), dtype=np.float64)
        if self.like.kind == "square":
            corners = self._sample(self._near, centres[:, None, :] + self._corners[None, :, :]).all(axis=1)
            inside = self._sample(self._ink, centres[:, None, None, :] + self._in[None, :, :, :]).any(axis=2)
            # A tick or a cross touches the outline from inside here and there; glyphs side by side everywhere.
            clear = (~inside).mean(axis=1) >= CLEAR_INSIDE if thin else True
            # Points run top, bottom, left, right in turn: every side must be there (glyphs make two or three).
            sides = on.reshape(len(centres), -1, 4).mean(axis=1).min(axis=1) >= SIDE_SHARE
            shares = np.where(corners & clear & sides, shares, 0.0)
        return shares

    @staticmethod
    def _sample(mask: npt.NDArray[np.bool_], points: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        height, width = mask.shape
        xs = np.rint(points[..., 0]).astype(np.intp)
        ys = np.rint(points[..., 1]).astype(np.intp)
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        return np.asarray(mask[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)] & inside, dtype=bool)


def _outline_points(kind: PlaceKind, radius: float) -> list[tuple[float, float, float, float]]:
    """Points along an outline of ``radius`` (half its side) and their outward normals, 48 of them."""
    count = 48
    if kind == "circle":
        angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
        return [(radius * np.cos(a), radius * np.sin(a), float(np.cos(a)), float(np.sin(a))) for a in angles]
    points = []
    for t in np.linspace(-0.8, 0.8, count // 4):  # corners left out: a rounded □ and a blurred one differ there
        s = float(t * radius)
        points += [(s, -radius, 0.0, -1.0), (s, radius, 0.0, 1.0), (-radius, s, -1.0, 0.0), (radius, s, 1.0, 0.0)]
    return points


def clearance(ink: InkMap, place: Place, neighbours: Sequence[Place], px_per_mm: float) -> tuple[float, ...]:
    """How far (px) paper reaches out from ``place``'s outline in each of CLEAR_DIRECTIONS directions before
    other print: text, rules, ``neighbours`` (other answer places), grown by PRINT_GROW_MM."""
    reach = CLEAR_MM * px_per_mm
    grow = max(1, round(PRINT_GROW_MM * px_per_mm))
    cx, cy = place.centre
    half = place.size / 2
    x0, y0 = max(0, round(cx - half - reach - grow - 2)), max(0, round(cy - half - reach - grow - 2))
    x1, y1 = round(cx + half + reach + grow + 2), round(cy + half + reach + grow + 2)
    # Light shading counts as print here (a grey heading band whose edge a copy may print darker).
    window = (ink.darkness[y0:y1, x0:x1] > max(SHADE_INK, ink.threshold / 2)).astype(np.uint8)
    own = _grown(place.rect, place.stroke / 2 + grow)
    window[
        max(0, round(own[1]) - y0) : max(0, round(own[3]) - y0), max(0, round(own[0]) - x0) : max(0, round(own[2]) - x0)
    ] = 0
    for other in neighbours:
        a = _grown(other.rect, 1)
        window[
            max(0, round(a[1]) - y0) : max(0, round(a[3]) - y0), max(0, round(a[0]) - x0) : max(0, round(a[2]) - x0)
        ] = 1
    printed = cv2.dilate(window, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
    height, width = printed.shape
    result = []
    sector = 2 * math.pi / CLEAR_DIRECTIONS
    for k in range(CLEAR_DIRECTIONS):
        # The nearest print over the whole sector (the reader takes each direction's value for its sector).
        distances = []
        for angle in np.linspace(sector * (k - 0.5), sector * (k + 0.5), SECTOR_RAYS).tolist():
            dx, dy = math.cos(angle), math.sin(angle)
            edge = half if place.kind == "circle" else half / max(abs(dx), abs(dy))
            distance = reach
            for step in np.arange(0.0, reach, 1.0).tolist():
                px, py = round(cx + dx * (edge + step)) - x0, round(cy + dy * (edge + step)) - y0
                if not (0 <= px < width and 0 <= py < height) or printed[py, px]:
                    distance = step
                    break
            distances.append(distance)
        result.append(min(distances))
    return tuple(result)


def _grown(rect: PxRect, by: float) -> PxRect:
    return (rect[0] - by, rect[1] - by, rect[2] + by, rect[3] + by)
