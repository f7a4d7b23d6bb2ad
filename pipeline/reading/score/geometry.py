"""Geometry: each box's masks in its patch, cut once per template from the rendered blank.

What the template prints around a box is known before any scan is seen. :class:`Geometry` holds it in the
box's patch (PATCH_PX_PER_MM, :mod:`.patch` samples the scan on the same grid): the printed ink (dilated by
TEMPLATE_DILATE_MM, so borders, grid lines and labels never count as new ink), the box's interior, its
central half and the ring around it, the printed border the scan is searched with, the printed lines blurred
as soft scans show them (BLUR_MM), the directions around the box's centre, and the band along its border.
:func:`geometry_of` derives every box's once per template, through :meth:`BallotModel.derived`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import BOX_LINE_WIDTH, Rect
from pipeline.common.imaging import Floats, Gray, median
from pipeline.reading.model import BallotModel
from pipeline.reading.score.result import (
    INTERIOR_INSET_MM,
    PAPER_ENLARGED_AT,
    PAPER_PX_PER_MM,
    PATCH_PX_PER_MM,
    RING_GAP_MM,
    RING_MM,
    SEARCH_MM,
    SECTORS,
)

OUTLINE_PAD_MM = 0.5  # paper either side of the printed border in the template it is searched with
TEMPLATE_DILATE_MM = 0.5  # printed ink is masked this much wider than drawn (blur, residual misfit)
BACKGROUND_MM = 7.0  # paper white is looked for this far around each pixel: wider than a filled box
# … and this far where the box itself looks like paper darker than the paper around it: a box blackened in a hurry,
# its ink spilling past the border all round (BOX_SIZE + 2 × SPILL_MM, and a millimetre more), is wider than
# BACKGROUND_MM, and a closing takes for paper any ink its window fits in (:func:`~.patch.paper_level`).
BROAD_BACKGROUND_MM = 11.0
BLUR_MM = (0.0, 0.15, 0.3, 0.45, 0.6, 0.8)  # how soft the scan may be: σ of the printed lines' blur
HALO_BAND_MM = 1.2  # the blur is measured on the scan this far around the printed lines
HALO_SAMPLE_STEP = 2  # every other pixel there is plenty to tell the blurs apart (~2400 of them)
NOISE_SAMPLE_STEP = 3  # every third plain pixel is plenty to estimate the noise
CIRCLE_INNER_MM = 2.0  # ink nearer the centre than this is a mark in the box, not a ring around it
NEAR_LINE_MM = 0.125  # ``encircled`` sees ink from one patch pixel beside a printed line (a ring drawn tight)
EDGE_MM = 0.6  # ``edge`` looks this far either side of the border's solid core (beyond NEAR_LINE_MM of the line)
RULE_DRAWN = 0.4  # a row of the blank this dark across the patch beside the box is one of the table's rules …
RULE_SEARCH_MM = 2.0  # … which may show this far off its place next to a box (folds, a feed that slipped)
# The back's print is told by its darkness averaged over this σ of paper (:func:`~.patch.soft_pixels`).
SOFT_SIGMA_MM = 0.5


@dataclass(frozen=True)
class PaperWindow:
    """Where a box's paper level is looked for: a coarse patch at PAPER_PX_PER_MM reaching half a window (and a little
    more) beyond the box's patch, so that no window is cut short by its edge, and the closing's window."""

    origin: tuple[float, float]  # mm of the paper patch's top-left pixel centre
    size: int  # paper patch side in px at PAPER_PX_PER_MM
    kernel: npt.NDArray[np.uint8]

    def moved(self, dx: float, dy: float) -> PaperWindow:
        return replace(self, origin=(self.origin[0] + dx, self.origin[1] + dy))


@dataclass(frozen=True)
class Geometry:
    """Patch-space masks of one box, computed once per template."""

    origin: tuple[float, float]  # mm of the patch's top-left pixel centre
    size: int  # patch side in px
    printed: Floats  # blank-template darkness in the patch (0–1)
    printed_mask: npt.NDArray[np.bool_]  # dilated printed ink: never counted as new ink
    interior: npt.NDArray[np.bool_]
    centre: npt.NDArray[np.bool_]
    ring: npt.NDArray[np.bool_]
    ring_below: npt.NDArray[np.bool_]  # the part of the ring below the box's bottom edge
    ring_above: npt.NDArray[np.bool_]  # the part of the ring above the box's top edge
    outline: Floats  # the printed border alone with OUTLINE_PAD_MM of paper around it, for the border search
    search_window: tuple[slice, slice]  # the part of a patch the outline is searched in (±SEARCH_MM)
    border_pixels: npt.NDArray[np.intp]  # flat indices of where the border's ink is solid: its grey is "black"
    border_side: npt.NDArray[np.int8]  # the side (0 left, 1 top, 2 right, 3 bottom) each of those lies on
    plain_sample: npt.NDArray[np.intp]  # flat indices of every NOISE_SAMPLE_STEP-th pixel of interior and ring
    box_px: tuple[int, int, int, int]  # the box's left, top, right, bottom edges in patch pixels
    sides: Floats  # where the printed border's left, top, right and bottom lines lie (:func:`border_sides`)
    paper: PaperWindow  # the paper level's patch and window (BACKGROUND_MM) …
    broad: PaperWindow  # … and where the box looks like darker paper, BROAD_BACKGROUND_MM's
    background_blur: int
    halos: Floats  # per BLUR_MM: the printed ink as a scan that soft shows it, in darkness units
    halo_band: npt.NDArray[np.intp]  # flat indices of every HALO_SAMPLE_STEP-th pixel around the printed lines
    halos_in_band: Floats  # the halos there, laid out for one comparison with the scan
    sectors: npt.NDArray[np.int8]  # direction (0 … SECTORS − 1) of each annulus pixel around the centre; −1 elsewhere
    near_line: npt.NDArray[np.bool_]  # the printed ink and NEAR_LINE_MM around it: hidden from ``encircled``
    edge_band: npt.NDArray[np.intp]  # flat indices of EDGE_MM along the box's border, ``near_line`` aside
    edge_sectors: npt.NDArray[np.intp]  # direction (0 … SECTORS − 1) of each :attr:`edge_band` pixel
    beside: npt.NDArray[np.intp]  # the patch's columns clear of the box and its print: where the rules run alone
    # The table's rules above and below the box: per rule, its rows (start, stop) and the rows on its side of the box
    # within RULE_SEARCH_MM of it, clear of the box's own border (low, high), where it may show off its place.
    rules: tuple[tuple[int, int, int, int], ...]
    rule_rows: npt.NDArray[np.intp]  # the rows of every rule's search window, one after the other
    past: Floats  # how far each pixel lies past the box's border, mm (0 or less inside it)
    # Flat indices of every NOISE_SAMPLE_STEP-th pixel of the paper beyond the ring, where nothing is printed: the
    # paper's noise where the box and its ring are mostly ink (see :func:`~.patch.noise_level`).
    frame_sample: npt.NDArray[np.intp]

    @property
    def interior_count(self) -> int:
        return int(np.count_nonzero(self.interior))

    @property
    def ring_count(self) -> int:
        return int(np.count_nonzero(self.ring))

    @property
    def centre_count(self) -> int:
        return int(np.count_nonzero(self.centre))

    @cached_property
    def interior_pixels(self) -> npt.NDArray[np.intp]:
        """Flat indices of :attr:`interior`, in order: a look at the interior alone takes these pixels, not a mask over
        the whole patch (computed once per geometry)."""
        return np.flatnonzero(self.interior)

    @cached_property
    def ring_pixels(self) -> npt.NDArray[np.intp]:
        """Flat indices of :attr:`ring`, as :attr:`interior_pixels` are of the interior."""
        return np.flatnonzero(self.ring)

    @cached_property
    def rule_rows_printed(self) -> npt.NDArray[np.bool_]:
        """Which of :attr:`rule_rows` the printed ink (:attr:`printed_mask`) covers all along :attr:`beside`: computed
        once per geometry, not for every box of every page."""
        return np.asarray(self.printed_mask[self.rule_rows][:, self.beside].all(axis=1))

    @cached_property
    def rule_rows_around(self) -> npt.NDArray[np.intp]:
        """Flat indices, per row of :attr:`rule_rows` the printed ink leaves open (not :attr:`rule_rows_printed`), of
        that row and the rows either side of it (within the patch) along :attr:`beside`: shape (rows, 3, columns),
        computed once per geometry."""
        rows = self.rule_rows[~self.rule_rows_printed]
        around = np.stack([rows, np.maximum(rows - 1, 0), np.minimum(rows + 1, self.size - 1)], axis=1)
        return np.asarray(around[:, :, None] * self.size + self.beside[None, None, :], dtype=np.intp)

    @cached_property
    def paper_weight(self) -> tuple[Floats, Floats]:
        """The patch's paper (1 off the printed lines, 0 on them) and how much of it lies around each pixel over
        SOFT_SIGMA_MM (at least 1e-3), by which :func:`~.patch.soft_pixels` averages the darkness over the paper. It
        depends on the masks alone: computed once per geometry, not for every box of every page (a geometry with other
        masks, :func:`without`, is a new one and computes its own)."""
        paper = (~self.printed_mask).astype(np.float32)
        weight = np.maximum(cv2.GaussianBlur(paper, (0, 0), SOFT_SIGMA_MM * PATCH_PX_PER_MM), 1e-3)
        return paper, np.asarray(weight, dtype=np.float32)


Geometries = Mapping[tuple[str, str], Geometry]


def geometry_of(model: BallotModel) -> Geometries:
    """Every box's patch masks, by (unit, option), cut from the model's blank once per template."""
    return model.derived(
        "score.geometry",
        lambda: {(box.unit, box.option): _box_geometry(model.blank, box.rect) for box in model.layout.boxes},
    )


def _patch_origin(rect: Rect) -> tuple[float, float]:
    margin = RING_GAP_MM + RING_MM + SEARCH_MM
    return (rect.x - margin, rect.y - margin)


def _box_geometry(blank: Gray, rect: Rect) -> Geometry:
    margin = RING_GAP_MM + RING_MM + SEARCH_MM
    size = round((rect.w + 2 * margin) * PATCH_PX_PER_MM)
    ox, oy = _patch_origin(rect)
    # Rendered page pixel i covers [i, i+1) / px_per_mm; its centre is at (i + 0.5) / px_per_mm.
    left, top = round(ox * PATCH_PX_PER_MM), round(oy * PATCH_PX_PER_MM)
    printed = (255.0 - blank[top : top + size, left : left + size].astype(np.float32)) / 255.0
    origin = ((left + 0.5) / PATCH_PX_PER_MM, (top + 0.5) / PATCH_PX_PER_MM)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / PATCH_PX_PER_MM
    xs = coords[None, :] + (left / PATCH_PX_PER_MM)
    ys = coords[:, None] + (top / PATCH_PX_PER_MM)

    def inside(inset: float) -> npt.NDArray[np.bool_]:
        return np.asarray(
            (xs >= rect.x + inset)
            & (xs <= rect.x + rect.w - inset)
            & (ys >= rect.y + inset)
            & (ys <= rect.y + rect.h - inset)
        )

    radius = max(1, round(TEMPLATE_DILATE_MM * PATCH_PX_PER_MM))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    printed_mask = cv2.dilate((printed > 0.2).astype(np.uint8), kernel).astype(bool)
    interior = inside(INTERIOR_INSET_MM) & ~printed_mask
    quarter = (rect.w - 2 * INTERIOR_INSET_MM) / 4
    centre = inside(INTERIOR_INSET_MM + quarter) & ~printed_mask
    ring = inside(-(RING_GAP_MM + RING_MM)) & ~inside(-RING_GAP_MM) & ~printed_mask
    border_band = inside(-BOX_LINE_WIDTH) & ~inside(BOX_LINE_WIDTH)
    dx, dy = xs - (rect.x + rect.w / 2), ys - (rect.y + rect.h / 2)
    direction = np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * SECTORS).astype(np.int8) % SECTORS
    line_radius = max(1, round(NEAR_LINE_MM * PATCH_PX_PER_MM))
    line_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * line_radius + 1, 2 * line_radius + 1))
    near_line = cv2.dilate((printed > 0.2).astype(np.uint8), line_kernel).astype(bool)
    annulus = (np.hypot(dx, dy) >= CIRCLE_INNER_MM) & inside(-(RING_GAP_MM + RING_MM)) & ~near_line
    sectors = np.where(annulus, direction, -1).astype(np.int8)
    outline = np.where(border_band, printed, 0.0).astype(np.float32)
    edge_radius = round(EDGE_MM * PATCH_PX_PER_MM)
    edge_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge_radius + 1, 2 * edge_radius + 1))
    edge_band = np.flatnonzero(cv2.dilate((outline > 0.5).astype(np.uint8), edge_kernel).astype(bool) & ~near_line)
    edge_sectors = np.take(direction, edge_band).astype(np.intp)
    rows, columns = np.nonzero(border_band)
    pad, search = round(OUTLINE_PAD_MM * PATCH_PX_PER_MM), round(SEARCH_MM * PATCH_PX_PER_MM)
    top, bottom = int(rows.min()) - pad, int(rows.max()) + pad + 1
    left, right = int(columns.min()) - pad, int(columns.max()) + pad + 1
    halos, halo_band = _halos(printed, outline > 0.5, inside(-(RING_GAP_MM + RING_MM)))
    box_px = (
        round((rect.x - xs[0, 0]) * PATCH_PX_PER_MM),
        round((rect.y - ys[0, 0]) * PATCH_PX_PER_MM),
        round((rect.x + rect.w - xs[0, 0]) * PATCH_PX_PER_MM),
        round((rect.y + rect.h - ys[0, 0]) * PATCH_PX_PER_MM),
    )
    halo_pixels = np.flatnonzero(halo_band)[::HALO_SAMPLE_STEP]
    return Geometry(
        origin,
        size,
        printed,
        printed_mask,
        interior,
        centre,
        ring,
        ring & (ys > rect.y + rect.h),
        ring & (ys < rect.y),
        np.ascontiguousarray(outline[top:bottom, left:right]),
        (slice(top - search, bottom + search), slice(left - search, right + search)),
        np.flatnonzero(outline > 0.5),
        _sides_of(np.flatnonzero(outline > 0.5), size, box_px),
        np.flatnonzero(interior | ring)[::NOISE_SAMPLE_STEP],
        box_px,
        border_sides(printed, box_px),
        _paper_window(origin, size, BACKGROUND_MM),
        _paper_window(origin, size, BROAD_BACKGROUND_MM),
        round(2.0 * PAPER_PX_PER_MM),
        halos,
        halo_pixels,
        np.ascontiguousarray(halos.reshape(len(BLUR_MM), -1)[:, halo_pixels]),
        sectors,
        near_line,
        edge_band,
        edge_sectors,
        *_rules(printed, box_px),
        _past(size, box_px),
        np.flatnonzero(~inside(-(RING_GAP_MM + RING_MM)) & ~printed_mask)[::NOISE_SAMPLE_STEP],
    )


def _paper_window(origin: tuple[float, float], size: int, window_mm: float) -> PaperWindow:
    """The paper patch of a box's patch (``origin``, ``size``) for a closing over ``window_mm``. It reaches half a
    window beyond the box's patch, so that the closing's window is never cut short by the patch's edge (where it
    would take a shadow's gradient for ink), and a little more, so that the box's patch's pixel centres fall where
    cv2.resize puts them when the paper level is enlarged to it (:func:`~.patch.enlarged`)."""
    reach = window_mm / 2 + (1.0 + PAPER_ENLARGED_AT) / PAPER_PX_PER_MM
    window = round(window_mm * PAPER_PX_PER_MM) | 1
    return PaperWindow(
        (origin[0] - reach, origin[1] - reach),
        round((size / PATCH_PX_PER_MM + 2 * reach) * PAPER_PX_PER_MM),
        np.asarray(cv2.getStructuringElement(cv2.MORPH_RECT, (window, window)), dtype=np.uint8),
    )


def _past(size: int, box_px: tuple[int, int, int, int]) -> Floats:
    """How far each pixel of a ``size``² patch lies past the box's border (``box_px``), in mm: the farthest of its
    distances beyond the four sides' lines, 0 or less inside the box."""
    left, top, right, bottom = box_px
    ys, xs = np.indices((size, size))
    past = np.maximum.reduce([left - xs, xs - right, top - ys, ys - bottom]) / PATCH_PX_PER_MM
    return np.asarray(past, dtype=np.float32)


def _rules(
    printed: Floats, box_px: tuple[int, int, int, int]
) -> tuple[npt.NDArray[np.intp], tuple[tuple[int, int, int, int], ...], npt.NDArray[np.intp]]:
    """The columns beside the box (its print widened by TEMPLATE_DILATE_MM aside) and the table's rules above and
    below it there (rows of the blank darker than RULE_DRAWN across them), each with its search window: see
    :attr:`Geometry.rules`."""
    left, top, right, bottom = box_px
    size = printed.shape[0]
    away = round(TEMPLATE_DILATE_MM * PATCH_PX_PER_MM)
    beside = np.flatnonzero((np.arange(size) < left - away) | (np.arange(size) >= right + away))
    drawn = np.median(printed[:, beside], axis=1) > RULE_DRAWN
    edges = np.flatnonzero(np.diff(np.r_[0, drawn.astype(np.int8), 0]))
    search = round(RULE_SEARCH_MM * PATCH_PX_PER_MM)
    rules = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop <= top:
            low, high = max(0, start - search), min(top - away, stop + search)
        else:
            low, high = max(bottom + away, start - search), min(size, stop + search)
        if high > low:
            rules.append((int(start), int(stop), int(low), int(high)))
    rows = np.concatenate([np.arange(low, high) for _, _, low, high in rules] or [np.zeros(0, dtype=np.intp)])
    return beside.astype(np.intp), tuple(rules), rows.astype(np.intp)


#: A side of the border is looked for this many patch pixels either side of where the template draws it.
SIDE_REACH = 4


def _sides_of(pixels: npt.NDArray[np.intp], size: int, box_px: tuple[int, int, int, int]) -> npt.NDArray[np.int8]:
    """The side of the box (0 left, 1 top, 2 right, 3 bottom) each of the flat ``pixels`` lies nearest."""
    rows, columns = np.divmod(pixels, size)
    left, top, right, bottom = box_px
    distances = np.abs(np.stack([columns - left, rows - top, columns - right, rows - bottom]))
    return np.asarray(np.argmin(distances, axis=0), dtype=np.int8)


def border_sides(darkness: Floats, box_px: tuple[int, int, int, int]) -> Floats:
    """Where the box's printed border lies in ``darkness`` (a patch, or the blank's print): its left, top, right and
    bottom lines to a fraction of a pixel, each the darkest column (row) within SIDE_REACH of ``box_px`` over the
    middle three fifths of the side (its corners and a tick's arm leaving the box aside), refined by a parabola."""
    left, top, right, bottom = box_px
    rows = slice(top + (bottom - top) // 5, bottom - (bottom - top) // 5)
    columns = slice(left + (right - left) // 5, right - (right - left) // 5)
    # Summed, not averaged, across the side: the darkest place and its parabola do not depend on the scale (and the sum
    # skips numpy's Python-level mean, ~5 µs a call, eight calls a box).
    found = [
        _peak(darkness[rows, _near(left)].sum(axis=0), left),
        _peak(darkness[_near(top), columns].sum(axis=1), top),
        _peak(darkness[rows, _near(right)].sum(axis=0), right),
        _peak(darkness[_near(bottom), columns].sum(axis=1), bottom),
    ]
    return np.asarray(found, dtype=np.float32)


def _near(at: int) -> slice:
    return slice(max(0, at - SIDE_REACH), at + SIDE_REACH + 1)


def _peak(profile: Floats, near: int) -> float:
    """The position (patch px) of the darkest entry of ``profile`` (which covers :func:`_near` ``near``), refined by
    a parabola through it and its neighbours."""
    start = max(0, near - SIDE_REACH)
    at = int(np.argmax(profile))
    if 0 < at < profile.size - 1:
        before, peak, after = profile[at - 1 : at + 2].tolist()
        curvature = before - 2 * peak + after
        return start + at + (0.5 * (before - after) / curvature if curvature < 0 else 0.0)
    return float(start + at)


def _halos(
    printed: Floats, border: npt.NDArray[np.bool_], scored: npt.NDArray[np.bool_]
) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """The printed ink blurred by each of BLUR_MM and scaled as :func:`~.patch.darkness_of` scales the scan (the
    border's solid pixels at 1), and the band around the printed lines where the scan is compared with
    them. A soft scan or photo spreads a printed line's grey well beyond the line: subtracting its expected
    halo keeps it from counting as ink beside every box."""
    halos = []
    for sigma in BLUR_MM:
        soft = cv2.GaussianBlur(printed, (0, 0), sigma * PATCH_PX_PER_MM) if sigma else printed
        level = median(np.asarray(soft[border], dtype=np.float32)) if border.any() else 1.0
        halos.append(soft / max(level, 1e-3))
    radius = round(HALO_BAND_MM * PATCH_PX_PER_MM)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    band = cv2.dilate((printed > 0.2).astype(np.uint8), kernel).astype(bool) & scored
    return np.asarray(np.stack(halos), dtype=np.float32), band


def without(geometry: Geometry, hidden: npt.NDArray[np.bool_]) -> Geometry:
    """``geometry`` with the patch pixels ``hidden`` (a line across the page, :mod:`pipeline.reading.lines`) taken
    for print: never ink, nor paper to judge the noise or the scan's softness by, nor part of the band along the
    border a ring drawn tight would leave ink in."""
    flat = hidden.ravel()
    edge = ~flat[geometry.edge_band]
    halo = ~flat[geometry.halo_band]
    return replace(
        geometry,
        printed_mask=geometry.printed_mask | hidden,
        near_line=geometry.near_line | hidden,
        plain_sample=geometry.plain_sample[~flat[geometry.plain_sample]],
        frame_sample=geometry.frame_sample[~flat[geometry.frame_sample]],
        edge_band=geometry.edge_band[edge],
        edge_sectors=geometry.edge_sectors[edge],
        halo_band=geometry.halo_band[halo],
        halos_in_band=np.ascontiguousarray(geometry.halos_in_band[:, halo]),
    )
