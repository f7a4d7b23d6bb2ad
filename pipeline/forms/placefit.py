"""Finding a form without a ruled table on a scan: by its printed answer places (□, ○), wherever they stand.

The page is looked at upright (deskewed) and in its other three orientations; in each view the places are
found as on the blank (:func:`pipeline.forms.places.find_places`: marked boxes hide their holes, so a filled
copy shows most but not all of them). Each form's places (mm) are then matched to the page's:

1. *Votes*: for a few scales around the expected one (a copy printed "fit to page" is a few percent small),
   every pair of a form place and a page place votes for the shift that would put one on the other; the
   :data:`PEAKS` shifts most places agree on (within :data:`VOTE_MM`) are kept.
2. *Refinement*: for each, places within :data:`MATCH_MM` of where it puts them are paired, an affine fit
   moves them closer, and a homography is fitted to the pairs robustly (RANSAC): phone perspective and a
   bowed page. The fit matching most places, less those of the page's alike places round the form that it
   leaves unexplained and the more of its places' outlines printed where it puts them, wins: evenly spaced
   boxes also fit one pitch over, leaving a column out (and a mark joining two rows' boxes hides both rows
   from the place search: one row over then matches as many places, but puts a row on blank paper).
3. *Checks*: at least :data:`MIN_MATCHED` of the form's places are found (most boxes are not marked), the
   fit's misfit stays within the reading settings' limit, and the page shows few alike places the form does
   not have (another form with boxes of the same size would show many).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Rect
from pipeline.ballot.template import Template
from pipeline.common.imaging import Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.forms.places import InkMap, Place, PlaceKind, find_places, ink_map
from pipeline.forms.ruling import deskew, rotation_of, unturn
from pipeline.reading.settings import AlignmentLimits

Points = npt.NDArray[np.float64]

SCALES = np.arange(0.90, 1.061, 0.01)  # of the expected pixels per mm: copies printed shrunk to fit, a few %
VOTE_MM = 1.5  # shifts this close are one vote
MATCH_MM = 1.5  # a page place this close to where the fit puts a form place is that place
RANSAC_MM = 0.5  # a place further than this from the fitted plane does not count
MIN_MATCHED = 0.5  # share of the form's places that must be found (marked boxes hide theirs)
SURE_MATCHED = 0.8  # … when this many are found, the page's orientation is settled without looking further
MIN_PLACES = 6  # … and at least this many
SIZE_SLACK = 1.35  # a page place is compared with the form's when their sizes differ by less than this factor
FOREIGN_MM = 2.0  # a page place further than this from every form place is one the form does not have
FOREIGN_REACH = 0.15  # of the form's extent: how far round it page places it does not have are counted
FOREIGN_WEIGHT = 2  # each such place counts against a fit as much as this many matched ones count for it
LABEL_INK = 0.03  # share of a label's place that is ink where the label is printed (text covers 10–40 %)
LABEL_WEIGHT = 0.5  # a fit with all its labels printed where it puts them outweighs a fit with none by this
OUTLINE_WEIGHT = 0.5  # a fit with every place's outline printed where it puts it outweighs one with none by this
OUTLINE_SAMPLES = 16  # points round a place's outline looked at …
OUTLINE_REACH_MM = 0.4  # … each for ink this near (an outer size measured to a few tenths) …
OUTLINE_SEEN = 0.75  # … and the outline is there when this share of them finds it
PEAKS = 3  # vote peaks (shifts) refined and weighed
MAX_FOREIGN = 0.15  # share of the form's places: more places of its kind the form does not have, another form


@dataclass(frozen=True)
class PlaceFit:
    """Where a form lies on a scan by its places: page mm (of the blank) → image px, and how well."""

    matrix: Matrix
    residual_mm: float  # 90th percentile misfit of the matched places
    matched: int
    expected: int
    weight: float = 0.0  # how well it fits, all told (:func:`_weight`): the best fit of a page wins


@dataclass(frozen=True)
class _View:
    places: list[Place]
    to_image: Matrix  # view px → image px
    px_per_mm: float
    ink: InkMap


def template_places(template: Template) -> tuple[Points, list[PlaceKind], list[float]]:
    """The centres (page mm), kinds and sizes (mm) of a form's printed answer places (not its empty cells): its
    anchors (every □ and ○ of the blank), else its sections' boxes."""
    external = template.external
    assert external is not None
    centres, kinds, sizes = [], [], []
    if external.anchors:
        for anchor in external.anchors:
            centres.append((external.origin_x_mm + anchor.x, external.origin_y_mm + anchor.y))
            kinds.append(anchor.marker)
            sizes.append(anchor.size)
        return np.array(centres, dtype=np.float64).reshape(-1, 2), kinds, sizes
    for place in external.sections:
        if place.marker == "cell":
            continue
        for row in place.rows:
            for box in row.boxes:
                centres.append((external.origin_x_mm + box.x + box.w / 2, external.origin_y_mm + box.y + box.h / 2))
                kinds.append(place.marker)
                sizes.append(max(box.w, box.h))
    return np.array(centres, dtype=np.float64).reshape(-1, 2), kinds, sizes


def fit_by_places(
    image: Gray, templates: Sequence[Template], px_per_mm: Sequence[float], limits: AlignmentLimits
) -> list[PlaceFit | PageReason]:
    """For each of ``templates`` (forms without a ruled table): where its places lie on ``image``, or why they
    are not there. ``px_per_mm``: each form's expected image scale.

    A grid of boxes looks the same upside down: the page is always looked at as fed and turned half round,
    and a fit is weighed by its places and by the form's labels and title being printed where it puts them
    (:func:`_weight`). The quarter turns are looked at only when neither of those finds a form surely."""
    results: list[PlaceFit | PageReason | None] = [None] * len(templates)
    views: dict[tuple[int, float], _View] = {}
    for turns in (0, 2, 1, 3):
        if turns == 1 and any(_sure(result) for result in results):
            break
        for index, template in enumerate(templates):
            key = (turns, round(px_per_mm[index], 2))
            if key not in views:
                views[key] = _view(image, turns, px_per_mm[index])
            found = _fit(views[key], template, limits)
            if found is not None and _better(found, results[index]):
                results[index] = found
    return [
        result if result is not None else PageReason.of(Why.FORM_PLACES_MISSING, form=t.id, found=0, expected=0)
        for result, t in zip(results, templates, strict=True)
    ]


def _sure(result: PlaceFit | PageReason | None) -> bool:
    return isinstance(result, PlaceFit) and result.matched >= SURE_MATCHED * result.expected


def _better(found: PlaceFit | PageReason, before: PlaceFit | PageReason | None) -> bool:
    if isinstance(found, PlaceFit):
        return not isinstance(before, PlaceFit) or found.weight > before.weight
    return before is None


def _view(image: Gray, turns: int, px_per_mm: float) -> _View:
    turned = np.ascontiguousarray(np.rot90(image, turns))
    upright, angle = deskew(turned)
    to_image = unturn(turns, image.shape) @ np.linalg.inv(rotation_of(upright.shape, angle))
    ink = ink_map(upright, px_per_mm)
    return _View(find_places(ink, px_per_mm), to_image, px_per_mm, ink)


def _fit(view: _View, template: Template, limits: AlignmentLimits) -> PlaceFit | PageReason | None:
    """The form's fit in ``view``; why not when some of its places are there; None when none are.

    Rows of evenly spaced boxes fit again one pitch over (all but one column match, as many as on the right
    fit when each row's marked box is hidden): each of the best few shifts is refined, and the one leaving
    the fewest of the page's alike places unexplained around the form wins."""
    form, kinds, sizes = template_places(template)
    expected = len(form)
    if expected == 0:
        return None
    typical = float(np.median(sizes))
    kind = max(set(kinds), key=kinds.count)
    page = np.array(
        [
            p.centre
            for p in view.places
            if p.kind == kind and 1 / SIZE_SLACK < p.size / (typical * view.px_per_mm) < SIZE_SLACK
        ],
        dtype=np.float64,
    ).reshape(-1, 2)
    if len(page) < MIN_PLACES:
        return None
    least = max(MIN_PLACES, MIN_MATCHED * expected)
    labels = template_labels(template)
    candidates = []
    for scale, shift in _votes(form, page, view.px_per_mm):
        refined = _refined(form, page, scale, shift)
        if refined is not None:
            matrix, src, dst, keep = refined
            extra = _foreign(form, page, matrix, scale, typical)
            weight = _weight(int(keep.sum()), extra, _printed(view.ink, matrix, labels), expected, len(labels))
            weight += OUTLINE_WEIGHT * _outlined(view.ink, matrix, form, kinds, sizes, scale) / expected
            candidates.append((weight, scale, matrix, src, dst, keep, extra))
    if not candidates:
        return PageReason.of(Why.FORM_PLACES_MISSING, form=template.id, found=0, expected=expected)
    weight, scale, matrix, src, dst, keep, extra = max(candidates, key=lambda candidate: candidate[0])
    if int(keep.sum()) < least:
        return PageReason.of(Why.FORM_PLACES_MISSING, form=template.id, found=int(keep.sum()), expected=expected)
    misfit = np.linalg.norm(
        cv2.perspectiveTransform(src[keep].reshape(-1, 1, 2), matrix).reshape(-1, 2) - dst[keep], axis=1
    )
    residual = float(np.percentile(misfit, 90)) / scale
    if residual > limits.max_residual_mm:
        return PageReason.of(Why.FORM_CURLED, form=template.id, mm=round(residual, 1))
    if extra > MAX_FOREIGN * expected + 1:
        return PageReason.of(Why.FORM_PLACES_FOREIGN, form=template.id, extra=extra)
    to_image = view.to_image @ matrix
    return PlaceFit(to_image / to_image[2, 2], residual, int(keep.sum()), expected, weight)


def template_labels(template: Template) -> list[Rect]:
    """Where the form prints its title and its rows' labels (page mm): text a turned fit does not find."""
    external = template.external
    assert external is not None
    rects = [external.title_box] if external.title_box is not None else []
    rects += [row.label for place in external.sections for row in place.rows]
    return [Rect(external.origin_x_mm + r.x, external.origin_y_mm + r.y, r.w, r.h) for r in rects]


def _printed(ink: InkMap, matrix: Matrix, labels: list[Rect]) -> int:
    """How many of ``labels`` hold ink where ``matrix`` (mm → view px) puts them."""
    height, width = ink.ink.shape
    found = 0
    for rect in labels:
        corners = np.array([[rect.x, rect.y], [rect.x + rect.w, rect.y + rect.h]], dtype=np.float64)
        (x0, y0), (x1, y1) = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), matrix).reshape(-1, 2)
        left, right = sorted((round(x0), round(x1)))
        top, bottom = sorted((round(y0), round(y1)))
        crop = ink.ink[max(0, top) : min(height, bottom), max(0, left) : min(width, right)]
        found += crop.size > 0 and float(crop.mean()) >= LABEL_INK
    return found


def _outlined(
    ink: InkMap, matrix: Matrix, form: Points, kinds: list[PlaceKind], sizes: list[float], scale: float
) -> int:
    """How many of the form's places show their printed outline where ``matrix`` (mm → view px) puts them, found
    or not as places: a mark joining two rows' boxes hides both from :func:`~pipeline.forms.places.find_places`,
    and a grid of boxes one row over then matches as many; only the true fit has an outline at every place (the
    one row over puts a row of them on blank paper past the form's last)."""
    turns = np.linspace(0.0, 2 * np.pi, OUTLINE_SAMPLES, endpoint=False)
    # Points round a circle, or round a square in the same directions (pushed out onto its sides).
    unit_circle = np.stack([np.cos(turns), np.sin(turns)], axis=1)
    unit_square = unit_circle / np.abs(unit_circle).max(axis=1, keepdims=True)
    near = ink.near(max(1, round(OUTLINE_REACH_MM * scale)))
    height, width = near.shape
    seen = 0
    for centre, kind, size in zip(form, kinds, sizes, strict=True):
        outline = centre + (unit_circle if kind == "circle" else unit_square) * size / 2
        points = cv2.perspectiveTransform(outline.reshape(-1, 1, 2), matrix).reshape(-1, 2).round().astype(int)
        within = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
        hits = near[points[within, 1], points[within, 0]].sum()
        seen += hits >= OUTLINE_SEEN * OUTLINE_SAMPLES
    return seen


def _weight(matched: int, extra: int, labels_found: int, expected: int, labels: int) -> float:
    """A fit's weight: the share of the form's places matched, less FOREIGN_WEIGHT times the share of alike
    places it leaves unexplained round it, plus LABEL_WEIGHT times the share of its labels found printed (the
    caller adds OUTLINE_WEIGHT times the share of its places' outlines found printed, :func:`_outlined`)."""
    places = (matched - FOREIGN_WEIGHT * extra) / max(expected, 1)
    return places + (LABEL_WEIGHT * labels_found / labels if labels else 0.0)


def _refined(
    form: Points, page: Points, scale: float, shift: Points
) -> tuple[Matrix, Points, Points, npt.NDArray[np.bool_]] | None:
    """The homography (form mm → view px) that a vote's shift leads to, its pairs and which of them agree."""
    affine = np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]], [0.0, 0.0, 1.0]])
    for reach in (2 * MATCH_MM, MATCH_MM):  # paired loosely first, then closely on the better fit
        src, dst = _pairs(form, page, affine, reach * scale)
        if len(src) < 3:
            return None
        moved, _ = cv2.estimateAffine2D(src, dst, method=cv2.LMEDS)
        if moved is not None:
            affine = np.vstack([moved, [0.0, 0.0, 1.0]])
    src, dst = _pairs(form, page, affine, MATCH_MM * scale)
    if len(src) < 4:
        return None
    matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_MM * scale)
    if matrix is None:
        return None
    return np.asarray(matrix, dtype=np.float64), src, dst, inliers.ravel().astype(bool)


def _votes(form: Points, page: Points, px_per_mm: float) -> list[tuple[float, Points]]:
    """The scales and shifts (mm → view px) most pairs of places agree on: the best few, a pitch apart."""
    peaks: list[tuple[int, float, Points]] = []
    for factor in SCALES:
        scale = px_per_mm * float(factor)
        shifts = (page[None, :, :] - scale * form[:, None, :]).reshape(-1, 2)
        step = VOTE_MM * scale
        low = shifts.min(axis=0)
        cells = np.floor((shifts - low) / step).astype(np.int64)
        grid = np.zeros((int(cells[:, 1].max()) + 2, int(cells[:, 0].max()) + 2), dtype=np.int64)
        np.add.at(grid, (cells[:, 1], cells[:, 0]), 1)
        # A shift near a cell's edge splits its votes: each cell counts with its right and lower neighbours.
        summed = grid[:-1, :-1] + grid[1:, :-1] + grid[:-1, 1:] + grid[1:, 1:]
        for flat in np.argsort(summed, axis=None)[::-1][:PEAKS].tolist():
            row, col = np.unravel_index(flat, summed.shape)
            peaks.append((int(summed[row, col]), scale, low + (np.array([col, row], dtype=np.float64) + 1.0) * step))
    chosen: list[tuple[float, Points]] = []
    for _, scale, shift in sorted(peaks, key=lambda peak: -peak[0]):
        if all(np.linalg.norm(shift - other) > 2 * VOTE_MM * scale for _, other in chosen):
            chosen.append((scale, shift))
        if len(chosen) == PEAKS:
            break
    return chosen


def _pairs(form: Points, page: Points, matrix: Matrix, reach: float) -> tuple[Points, Points]:
    """Form places (mm) and the page places (px) nearest to where ``matrix`` puts them, within ``reach``;
    each page place paired once."""
    placed = cv2.perspectiveTransform(form.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    distances = np.linalg.norm(placed[:, None, :] - page[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    src, dst, used = [], [], set()
    for index in np.argsort(distances.min(axis=1)).tolist():
        target = int(nearest[index])
        if distances[index, target] <= reach and target not in used:
            used.add(target)
            src.append(form[index])
            dst.append(page[target])
    return np.array(src, dtype=np.float64).reshape(-1, 2), np.array(dst, dtype=np.float64).reshape(-1, 2)


def _foreign(form: Points, page: Points, matrix: Matrix, scale: float, typical_mm: float) -> int:
    """Page places around the form (its places' extent, widened by FOREIGN_REACH of it on every side: a fit
    one pitch over leaves a whole column just outside) that no form place is near: print it does not have."""
    placed = cv2.perspectiveTransform(form.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    extent = placed.max(axis=0) - placed.min(axis=0)
    widen = np.maximum(FOREIGN_REACH * extent, 4 * typical_mm * scale)
    low, high = placed.min(axis=0) - widen, placed.max(axis=0) + widen
    inside = page[np.all((page >= low) & (page <= high), axis=1)]
    if len(inside) == 0:
        return 0
    distances = np.linalg.norm(inside[:, None, :] - placed[None, :, :], axis=2).min(axis=1)
    return int(np.count_nonzero(distances > FOREIGN_MM * scale))
