"""Scoring the answer places of an existing office form: a printed □ or ○, or an empty table cell.

Measured here rather than by :mod:`pipeline.reading.score`, whose border search expects our 0.35 mm box outline:
an office □ is a 3–4 mm glyph with a 0.1–0.2 mm stroke, and an empty cell has no box at all. The numbers
are :class:`~pipeline.reading.score.BoxScore` fields with the same meaning, so the classifier, the store and the
review apply unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Checkbox, Layout, Rect
from pipeline.ballot.template import Template
from pipeline.common.imaging import Gray, Matrix
from pipeline.forms.marks import (
    blobs,
    encircled,
    hysteresis,
    interiors,
    joined_to,
    largest_mark,
    shading,
    trail,
)
from pipeline.forms.strokes import shared_marks
from pipeline.reading.score import MIN_CONTRAST, RING_GAP_MM, RING_MM, BoxScore

PLACE_INSET_MM = 0.3  # beyond the outline's stroke: where new ink in a square or cell is looked for
OUTLINE_SLACK_MM = 0.25  # the printed outline is looked for, and masked, this much beyond its stroke
REFERENCE_BOX_MM2 = 26.0  # a cell's fill is its ink area relative to the interior of our 6 mm box
SQUARE_PX_PER_MM = 16.0  # a 0.15 mm glyph stroke needs finer sampling than our 0.35 mm box outline
CELL_PX_PER_MM = 8.0  # ≈ 200 dpi, as pipeline.reading.score samples our boxes
OUR_BOX_MM = 6.0  # pipeline.ballot.layout.BOX_SIZE: marks and thresholds are sized for it
RULE_CLEARANCE_MM = 0.5  # a row's rules, measured from their centre lines, are no part of the ring around a □
SEARCH_MM = 1.0  # the printed outline may be found this far from where the fit puts it
OUTLINE_PAD_MM = 0.5  # paper around the outline in the template it is searched with
MIN_OUTLINE_MATCH = 0.3  # weaker correlation: the outline is not clear, keep the fit's position
OUTLINE_CONTRAST = 0.12  # darkness above the paper's at which a printed outline counts as seen
HALO_MM = 0.35  # how far a printed line's blur reaches on a soft scan or photo
WEAK_FLOOR = 0.08  # fainter than this is never ink, even as part of a stroke
BACKGROUND_MM = 7.0  # wider than a filled box, so that a scribbled-out □ is not taken for paper
NEIGHBOUR_MM = 15.0  # places closer than this (centre to centre) are checked for one stroke reaching both
TRAIL_SOLID = 0.5  # share of a trail's pen line its dots cover for it to count as one solid mark
CIRCLE_SECTORS = 36  # directions round a printed circle its outline is looked for in
PRINT_MARGIN_MM = 0.25  # the ring round a place stops this far short of the blank's print (a copy shifts a little, a
# scan blurs a shaded band's edge outwards)
INK_FLOOR = 0.2  # darkness (0 paper – 1 printed black) below which nothing is ink, however clean the scan


def score_external(image: Gray, matrix: Matrix, template: Template, layout: Layout) -> list[BoxScore]:
    """Box scores of every row, in :class:`~pipeline.reading.score.BoxScore` terms so that the classifier, the
    store and the review apply unchanged.

    Measured here rather than by :mod:`pipeline.reading.score`, whose border search expects our 0.35 mm box
    outline: an office □ is a 3–4 mm glyph with a 0.1–0.2 mm stroke, and an empty cell has no box at all.
    ``fill`` is the ink area inside the square or cell, and ``outside`` (squares only) the ink area around
    the square, both relative to the interior of our 6 mm box, so that the thresholds mean the same amount
    of ink on every form (a tick covers a few percent of a 20 mm cell; a tick beside a 3 mm □ leaves most
    of its ink outside it, which must send the row to a clerk). ``border_match`` is the share of the
    outline found where the fit puts it, after a ±1 mm search."""
    external = template.external
    assert external is not None
    scores: list[BoxScore] = []
    # Strictly two grey levels (not score.is_bilevel, which allows 1 % grey): a clean render of a form is
    # nearly all white and black too, and its pencil greys must not be thresholded away.
    binary = np.unique(image[::7, ::7]).size <= 2  # a fax or a 1-bit scan: black dots on white, nothing grey
    printed_places = [
        box.rect for row in layout.rows if external.sections[row.section].marker != "cell" for box in row.boxes
    ]
    strokes: list[tuple[Checkbox, float]] = []
    for row in layout.rows:
        place = external.sections[row.section]
        clear = place.rows[row.row].clear
        for position, box in enumerate(row.boxes):
            if place.marker == "cell":
                scores.append(_score_place(image, matrix, box, position, place.line_mm, None, binary))
                continue
            near = tuple(rect for rect in printed_places if rect is not box.rect and _near(rect, box.rect))
            printed = Printed(place.marker == "circle", tuple(clear[position]) if clear else (), near)
            scores.append(_score_place(image, matrix, box, position, place.box_line_mm, row.band, binary, printed))
            strokes.append((box, place.box_line_mm))
        if place.marker == "cell":
            strokes += [(box, place.line_mm) for box in row.boxes]
    # A stroke from one row's box into the next row's is no one row's vote (issue 20): looked at on the page,
    # as the boxes may be further apart than one box's patch reaches.
    return shared_marks(image, matrix, strokes, scores)


def _near(a: Rect, b: Rect) -> bool:
    """Whether two places are close enough for one stroke to reach from one into the other."""
    return abs(a.center[0] - b.center[0]) < NEIGHBOUR_MM and abs(a.center[1] - b.center[1]) < NEIGHBOUR_MM


@dataclass(frozen=True)
class Printed:
    """A printed answer place's shape, and how far paper reaches round it (mm, CLEAR_DIRECTIONS directions
    from rightwards, clockwise; empty: the row's band bounds the ring round it, as in a ruled table)."""

    round: bool
    clear: tuple[float, ...] = ()
    others: tuple[Rect, ...] = ()  # the form's other printed places nearby (page mm)


def _score_place(
    image: Gray,
    matrix: Matrix,
    box: Checkbox,
    position: int,
    stroke_mm: float,
    band: Rect | None,
    binary: bool,
    printed_as: Printed = Printed(round=False),
) -> BoxScore:
    """One answer place: a printed square or circle (``band``: its row, which bounds the ring around it when
    ``printed_as`` gives no clearance) or a cell."""
    square = band is not None
    circle = square and printed_as.round
    scale = SQUARE_PX_PER_MM if square else CELL_PX_PER_MM
    rect = box.rect
    margin = (
        RING_GAP_MM + RING_MM + max(0.0, (OUR_BOX_MM - min(rect.w, rect.h)) / 2) + SEARCH_MM
        if square
        else OUTLINE_PAD_MM + SEARCH_MM
    )
    size = (round((rect.w + 2 * margin) * scale), round((rect.h + 2 * margin) * scale))
    to_mm = np.array([[1 / scale, 0, rect.x - margin], [0, 1 / scale, rect.y - margin], [0, 0, 1]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    patch = cv2.warpPerspective(image, matrix @ to_mm, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    patch = patch.astype(np.float32)
    # Paper white is the brightest grey within BACKGROUND_MM of each pixel: a phone's uneven light is no ink.
    window = round(BACKGROUND_MM * scale) | 1
    # (from a smoothed copy: the brightest grain of a noisy photo is no paper level)
    smooth = cv2.GaussianBlur(patch, (0, 0), max(0.5, 0.15 * scale))
    paper = cv2.blur(cv2.dilate(smooth, np.ones((window, window), np.uint8)), (window // 4 | 1, window // 4 | 1))
    contrast = max(float(np.median(paper)) - float(np.percentile(patch, 1)), MIN_CONTRAST)
    raw = np.clip((paper - patch) / contrast, 0.0, 1.0)
    darkness = cv2.GaussianBlur(raw, (3, 3), 0)
    # The printed outline is looked for near where the fit puts it (a curled photo, a stretched feed): every
    # mask below moves with it, so that the outline itself is never taken for a mark.
    dx, dy = _outline_shift(darkness, rect, stroke_mm, square, margin, scale, circle=circle)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    x_mm, y_mm = (xs + 0.5) / scale - margin - dx, (ys + 0.5) / scale - margin - dy
    # For a circle: how far inside its outer edge each pixel is (negative outside).
    depth = min(rect.w, rect.h) / 2 - np.hypot(x_mm - rect.w / 2, y_mm - rect.h / 2) if circle else None

    def inside(inset: float) -> npt.NDArray[np.bool_]:
        if depth is not None:
            return np.asarray(depth > inset)
        return np.asarray((x_mm > inset) & (x_mm < rect.w - inset) & (y_mm > inset) & (y_mm < rect.h - inset))

    interior = inside(stroke_mm + PLACE_INSET_MM if square else stroke_mm / 2 + PLACE_INSET_MM)
    printed = (
        np.asarray((depth >= -OUTLINE_SLACK_MM) & (depth <= stroke_mm + OUTLINE_SLACK_MM))
        if depth is not None
        else _outline_band(x_mm, y_mm, rect, stroke_mm, square)
    )
    # Noise is judged on the whole patch, mostly paper: a mark may cover half of a small square's interior.
    plain = darkness[~printed]
    level = float(np.median(plain))
    spread = float(np.median(np.abs(plain - level))) * 1.4826
    # The blurred darkness averages scanner and JPEG noise away; the raw one keeps a fax's one-pixel dots.
    raw_plain = raw[~printed]
    raw_level = float(np.median(raw_plain))
    raw_spread = float(np.median(np.abs(raw_plain - raw_level))) * 1.4826
    strong = (darkness > max(INK_FLOOR, level + 4 * spread)) | (raw > max(2 * INK_FLOOR, raw_level + 6 * raw_spread))
    # Faint ink is only looked for clear of the outline's blurred halo.
    halo = cv2.dilate(printed.astype(np.uint8), np.ones((2 * round(HALO_MM * scale) + 1,) * 2, np.uint8)).astype(bool)
    weak = ((darkness > max(WEAK_FLOOR, level + 2.5 * spread)) & ~halo) | strong
    if binary:  # a 1-bit page has no faint ink, and re-sampling grows each noise dot a grey halo
        strong = weak = raw > 0.5
    stroke_level = max(1.5 * WEAK_FLOOR, level + 3.5 * spread)
    ink = blobs(hysteresis(weak & ~printed, strong, darkness, stroke_level, scale), scale, dotted=binary)
    ink &= ~shading(ink, raw, interior, scale)
    # A hairline □ (UMing: 0.09 mm) comes out of a 200 dpi scan a pale grey; it only has to stand out.
    visible = max(OUTLINE_CONTRAST, 4 * spread)
    # Ink area in our box's terms: in a cell, against our box's interior; in a small □ against at least half
    # of it, so that a speck of dust does not become a vote by filling a large share of a 3 mm square.
    reference = (
        max(float(np.count_nonzero(interior)) / scale**2, REFERENCE_BOX_MM2 / 2) if square else REFERENCE_BOX_MM2
    )
    # One voter makes one mark: only the largest group of ink counts, so that dust and toner specks
    # scattered over a 20 mm cell never add up to a tick.
    fill = largest_mark(ink & interior, scale, thin_pen=True) / scale**2 / reference
    trail_in = trail_out = scattered = 0.0
    if binary:
        # Light pencil on a 1-bit page is a trail of sparse dots, too thin to be kept as ink: as much as such a
        # trail would cover drawn with a pen counts in ``fill`` (as ``scattered``: no solid mark, so at most
        # marginal) and beside the box, so that the row goes to a clerk rather than being read as empty.
        dots = (raw > 0.5) & ~printed
        trail_in = trail(dots & interior, scale) / scale**2 / reference
        trail_out = trail(dots & ring_of(band, printed_as, inside, x_mm, y_mm, rect), scale) / scale**2
        if trail_in > fill:
            # A trail whose dots cover most of the pen line it stands for is a stroke (pencil a 1-bit scan left
            # grainy); a sparse one is at most marginal.
            scattered, fill = (0.0 if fill >= TRAIL_SOLID * trail_in else trail_in - fill), trail_in
    central = inside(rect.w / 4 if square else min(rect.w, rect.h) / 4) & interior
    ring = ring_of(band, printed_as, inside, x_mm, y_mm, rect)
    if printed_as.others:
        # Ink beside this place that belongs to another place's mark (its tail) is not beside this one. (A
        # stroke reaching inside both is looked for on the page: pipeline.forms.strokes.)
        elsewhere = interiors(printed_as.others, rect, x_mm, y_mm, stroke_mm + PLACE_INSET_MM)
        ring &= ~(joined_to(ink, elsewhere, scale) & ~joined_to(ink, interior, scale))
    ring_arcs = encircled(ink, ring, raw, rect, x_mm, y_mm, scale) if square else 0.0
    beyond = ring if square else ~inside(-(stroke_mm / 2 + OUTLINE_SLACK_MM))
    streak = _streak(ink, interior, beyond)
    return BoxScore(
        unit=box.unit,
        option=box.option,
        position=position,
        fill=round(min(1.0, fill), 4),
        outside=round(min(1.0, max(largest_mark(ink & ring, scale) / scale**2, trail_out) / REFERENCE_BOX_MM2), 4),
        centre=round(float(np.count_nonzero(ink & central)) / max(int(np.count_nonzero(central)), 1), 4),
        darkness=round(float(np.median(raw[ink & interior])) if np.any(ink & interior) else 0.0, 4),
        crossing=round(streak, 4),
        scattered=round(min(1.0, scattered), 4),
        encircled=round(ring_arcs, 4),
        shift_mm=round(math.hypot(dx, dy), 3),
        border_match=round(
            _circle_found(darkness, depth, x_mm, y_mm, rect, stroke_mm, level + visible)
            if depth is not None
            else _outline_found(darkness, x_mm, y_mm, rect, stroke_mm, square, level + visible),
            4,
        ),
    )


def ring_of(
    band: Rect | None,
    printed_as: Printed,
    inside: Callable[[float], npt.NDArray[np.bool_]],
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    rect: Rect,
) -> npt.NDArray[np.bool_]:
    """The ring round a printed place where ink beside it is looked for (none round a cell). As far out as
    around our 6 mm box: a voter circles a small □ as widely as a large one. The row's own rules are printed,
    not ink; so is whatever the blank printed round the place (its option text, a rule joining it to the next
    box, the next box): the ring stops where the blank's paper did."""
    if band is None:
        return np.zeros(x_mm.shape, dtype=bool)
    reach = RING_GAP_MM + RING_MM + max(0.0, (OUR_BOX_MM - min(rect.w, rect.h)) / 2)
    ring = inside(-reach) & ~inside(-RING_GAP_MM)
    if printed_as.clear:
        return np.asarray(ring & _paper_round(x_mm, y_mm, rect, printed_as))
    top, bottom = band.y - rect.y + RULE_CLEARANCE_MM, band.y + band.h - rect.y - RULE_CLEARANCE_MM
    return np.asarray(ring & (y_mm > top) & (y_mm < bottom))


def _paper_round(
    x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], rect: Rect, printed: Printed
) -> npt.NDArray[np.bool_]:
    """Where the blank had paper round a place: within its clearance (less PRINT_MARGIN_MM) in the direction of
    each pixel from the place's centre, measured from the outline along that direction."""
    ox, oy = x_mm - rect.w / 2, y_mm - rect.h / 2
    angle = np.arctan2(oy, ox)
    sector = np.round(angle / (2 * np.pi / len(printed.clear))).astype(np.int64) % len(printed.clear)
    half = min(rect.w, rect.h) / 2
    dx, dy = np.abs(np.cos(angle)), np.abs(np.sin(angle))
    edge = np.full_like(ox, half) if printed.round else half / np.maximum(np.maximum(dx, dy), 1e-6)
    beyond = np.hypot(ox, oy) - edge
    allowed = np.asarray(printed.clear, dtype=np.float64)[sector] - PRINT_MARGIN_MM
    return np.asarray(beyond <= allowed)


def _outline_shift(
    darkness: npt.NDArray[np.float32],
    rect: Rect,
    stroke_mm: float,
    square: bool,
    margin: float,
    scale: float,
    *,
    circle: bool = False,
) -> tuple[float, float]:
    """Where (mm, x and y) the printed outline best matches within ±SEARCH_MM of where the fit puts it."""
    pad = OUTLINE_PAD_MM
    kernel = np.zeros((round((rect.h + 2 * pad) * scale), round((rect.w + 2 * pad) * scale)), np.float32)
    inset = pad + (stroke_mm / 2 if square else 0.0)
    corner = (round(inset * scale), round(inset * scale))
    far = (round((rect.w + 2 * pad - inset) * scale), round((rect.h + 2 * pad - inset) * scale))
    thickness = max(1, round(stroke_mm * scale))
    if circle:
        centre = ((corner[0] + far[0]) // 2, (corner[1] + far[1]) // 2)
        cv2.circle(kernel, centre, max(1, (far[0] - corner[0]) // 2), 1.0, thickness)
    else:
        cv2.rectangle(kernel, corner, far, 1.0, thickness)
    response = cv2.matchTemplate(darkness, kernel, cv2.TM_CCOEFF_NORMED)
    origin, reach = round((margin - pad) * scale), round(SEARCH_MM * scale)
    window = response[max(0, origin - reach) : origin + reach + 1, max(0, origin - reach) : origin + reach + 1]
    if window.size == 0 or float(window.max()) < MIN_OUTLINE_MATCH:
        return 0.0, 0.0
    row, col = np.unravel_index(int(np.argmax(window)), window.shape)
    start = max(0, origin - reach)
    return (int(col) + start - origin) / scale, (int(row) + start - origin) / scale


def _streak(ink: npt.NDArray[np.bool_], interior: npt.NDArray[np.bool_], beyond: npt.NDArray[np.bool_]) -> float:
    """How completely one straight vertical or horizontal line runs through the place (0–1): a scanner
    streak or a fold, not a voter's mark: it goes on, on both sides, into ``beyond`` (a tick crosses a
    3 mm square easily, a scribble fills a cell, but neither leaves it on both sides)."""
    rows, cols = np.flatnonzero(interior.any(axis=1)), np.flatnonzero(interior.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return 0.0
    wide = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1

    def share(region: tuple[slice, slice], axis: int) -> npt.NDArray[np.float64]:
        count = beyond[region].sum(axis=axis)
        return np.asarray(
            np.where(count > 0, (wide[region] & beyond[region]).sum(axis=axis) / np.maximum(count, 1), 0.0)
        )

    inside = wide[r0:r1, c0:c1]
    down = np.minimum(
        inside.mean(axis=0),
        np.minimum(share((slice(0, r0), slice(c0, c1)), 0), share((slice(r1, None), slice(c0, c1)), 0)),
    )
    across = np.minimum(
        inside.mean(axis=1),
        np.minimum(share((slice(r0, r1), slice(0, c0)), 1), share((slice(r0, r1), slice(c1, None)), 1)),
    )
    return round(float(max(down.max(initial=0.0), across.max(initial=0.0))), 4)


def _outline_band(
    x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], rect: Rect, stroke_mm: float, square: bool
) -> npt.NDArray[np.bool_]:
    """Where the printed outline lies (never new ink): inside the rectangle's edge for a square's stroke,
    centred on it for a cell's rules."""
    reach = stroke_mm + OUTLINE_SLACK_MM
    # A ruling line comes out of a blurred photo wider than it was printed.
    lo, hi = (-OUTLINE_SLACK_MM, reach) if square else (-reach / 2 - HALO_MM, reach / 2 + HALO_MM)
    near_x = ((x_mm - 0.0 >= lo) & (x_mm - 0.0 <= hi)) | ((rect.w - x_mm >= lo) & (rect.w - x_mm <= hi))
    near_y = ((y_mm - 0.0 >= lo) & (y_mm - 0.0 <= hi)) | ((rect.h - y_mm >= lo) & (rect.h - y_mm <= hi))
    within_x = (x_mm >= lo) & (x_mm <= rect.w - lo)
    within_y = (y_mm >= lo) & (y_mm <= rect.h - lo)
    return np.asarray((near_x & within_y) | (near_y & within_x))


def _outline_found(
    darkness: npt.NDArray[np.float32],
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    rect: Rect,
    stroke_mm: float,
    square: bool,
    dark: float,
) -> float:
    """Share of positions along the outline where it stands out (darker than ``dark``) within its band: 1
    when the fit is right, low when the place is not where the fit says."""
    offset = stroke_mm / 2 if square else 0.0
    band = stroke_mm / 2 + OUTLINE_SLACK_MM
    xs, ys = x_mm[0], y_mm[:, 0]
    along_x, along_y = (xs > 0) & (xs < rect.w), (ys > 0) & (ys < rect.h)
    parts = [darkness[np.abs(ys - edge) <= band][:, along_x].max(axis=0) for edge in (offset, rect.h - offset)]
    parts += [darkness[:, np.abs(xs - edge) <= band][along_y].max(axis=1) for edge in (offset, rect.w - offset)]
    found = float(np.mean([np.mean(part > dark) for part in parts if part.size]))
    # A printed outline where the fit puts it is found all round; half of it is found by chance next to
    # ruling lines and marks. Scaled so that the classifier's limit (0.45) asks for about three quarters.
    return max(0.0, (found - 0.5) / 0.5)


def _circle_found(
    darkness: npt.NDArray[np.float32],
    depth: npt.NDArray[np.float64],
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    rect: Rect,
    stroke_mm: float,
    dark: float,
) -> float:
    """:func:`_outline_found` for a printed circle: the share of directions round it (36) in which its outline
    stands out within its band, scaled alike."""
    band = np.abs(depth - stroke_mm / 2) <= stroke_mm / 2 + OUTLINE_SLACK_MM
    angle = np.arctan2(y_mm - rect.h / 2, x_mm - rect.w / 2)
    sector = (np.floor((angle + np.pi) / (2 * np.pi) * CIRCLE_SECTORS).astype(np.int64)) % CIRCLE_SECTORS
    seen = np.zeros(CIRCLE_SECTORS, dtype=bool)
    np.logical_or.at(seen, sector[band & (darkness > dark)], True)
    present = np.zeros(CIRCLE_SECTORS, dtype=bool)
    present[np.unique(sector[band])] = True
    found = float(seen[present].mean()) if present.any() else 0.0
    return max(0.0, (found - 0.5) / 0.5)
