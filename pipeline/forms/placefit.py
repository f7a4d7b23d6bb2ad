"""Finding a form without a ruled table on a scan: by its printed answer places (□, ○), wherever they stand.

The page is looked at upright (deskewed) and in its other three orientations; in each view the places are
found as on the blank (:func:`pipeline.forms.places.find_places`: marked boxes hide their holes, so a filled
copy shows most but not all of them). Each form's places (mm) are then matched to the page's:

1. *Votes*: for a few scales around the expected one (a copy printed "fit to page" is a few percent small),
   every pair of a form place and a page place votes for the shift that would put one on the other; the shift
   most places agree on (within :data:`VOTE_MM`) wins.
2. *Refinement*: places within :data:`MATCH_MM` of where that puts them are paired, an affine fit moves
   them closer, and a homography is fitted to the pairs robustly (RANSAC): phone perspective and a bowed page.
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

from pipeline.ballot.template import Template
from pipeline.common.imaging import Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.forms.places import Place, PlaceKind, find_places, ink_map
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
MAX_FOREIGN = 0.15  # share of the form's places: more places of its kind the form does not have, another form


@dataclass(frozen=True)
class PlaceFit:
    """Where a form lies on a scan by its places: page mm (of the blank) → image px, and how well."""

    matrix: Matrix
    residual_mm: float  # 90th percentile misfit of the matched places
    matched: int
    expected: int


@dataclass(frozen=True)
class _View:
    places: list[Place]
    to_image: Matrix  # view px → image px
    px_per_mm: float


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
    are not there. ``px_per_mm``: each form's expected image scale. The page is looked at upright first; the
    first orientation in which any form is found is the page's."""
    results: list[PlaceFit | PageReason | None] = [None] * len(templates)
    views: dict[tuple[int, float], _View] = {}
    for turns in (0, 2, 1, 3):
        for index, template in enumerate(templates):
            if _sure(results[index]):
                continue
            key = (turns, round(px_per_mm[index], 2))
            if key not in views:
                views[key] = _view(image, turns, px_per_mm[index])
            found = _fit(views[key], template, limits)
            if found is not None and _better(found, results[index]):
                results[index] = found
        # A form whose places nearly all match settles the page's orientation; a weaker match may be a page
        # of another form with some boxes alike, or this form turned: every orientation is looked at.
        if any(_sure(result) for result in results):
            break
    return [
        result if result is not None else PageReason.of(Why.FORM_PLACES_MISSING, form=t.id, found=0, expected=0)
        for result, t in zip(results, templates, strict=True)
    ]


def _sure(result: PlaceFit | PageReason | None) -> bool:
    return isinstance(result, PlaceFit) and result.matched >= SURE_MATCHED * result.expected


def _better(found: PlaceFit | PageReason, before: PlaceFit | PageReason | None) -> bool:
    if isinstance(found, PlaceFit):
        return not isinstance(before, PlaceFit) or found.matched > before.matched
    return before is None


def _view(image: Gray, turns: int, px_per_mm: float) -> _View:
    turned = np.ascontiguousarray(np.rot90(image, turns))
    upright, angle = deskew(turned)
    to_image = unturn(turns, image.shape) @ np.linalg.inv(rotation_of(upright.shape, angle))
    return _View(find_places(ink_map(upright, px_per_mm), px_per_mm), to_image, px_per_mm)


def _fit(view: _View, template: Template, limits: AlignmentLimits) -> PlaceFit | PageReason | None:
    """The form's fit in ``view``; why not when some of its places are there; None when none are."""
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
    scale, shift, votes = _vote(form, page, view.px_per_mm)
    least = max(MIN_PLACES, MIN_MATCHED * expected)
    if votes < least:
        return PageReason.of(Why.FORM_PLACES_MISSING, form=template.id, found=votes, expected=expected)
    affine = np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]], [0.0, 0.0, 1.0]])
    for reach in (2 * MATCH_MM, MATCH_MM):  # paired loosely first, then closely on the better fit
        src, dst = _pairs(form, page, affine, reach * scale)
        if len(src) < 3:
            break
        moved, _ = cv2.estimateAffine2D(src, dst, method=cv2.LMEDS)
        if moved is not None:
            affine = np.vstack([moved, [0.0, 0.0, 1.0]])
    src, dst = _pairs(form, page, affine, MATCH_MM * scale)
    if len(src) < least:
        return PageReason.of(Why.FORM_PLACES_MISSING, form=template.id, found=len(src), expected=expected)
    matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_MM * scale)
    if matrix is None or int(inliers.sum()) < least:
        return PageReason.of(Why.FORM_NOT_FLAT, form=template.id)
    keep = inliers.ravel().astype(bool)
    misfit = np.linalg.norm(
        cv2.perspectiveTransform(src[keep].reshape(-1, 1, 2), matrix).reshape(-1, 2) - dst[keep], axis=1
    )
    residual = float(np.percentile(misfit, 90)) / scale
    if residual > limits.max_residual_mm:
        return PageReason.of(Why.FORM_CURLED, form=template.id, mm=round(residual, 1))
    extra = _foreign(form, page, np.asarray(matrix, dtype=np.float64), scale)
    if extra > MAX_FOREIGN * expected + 1:
        return PageReason.of(Why.FORM_PLACES_FOREIGN, form=template.id, extra=extra)
    to_image = view.to_image @ matrix
    return PlaceFit(to_image / to_image[2, 2], residual, int(keep.sum()), expected)


def _vote(form: Points, page: Points, px_per_mm: float) -> tuple[float, Points, int]:
    """The scale and shift (mm → view px) most pairs of places agree on, and how many form places agree."""
    best: tuple[float, Points, int] = (px_per_mm, np.zeros(2), 0)
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
        row, col = np.unravel_index(int(np.argmax(summed)), summed.shape)
        if summed[row, col] > best[2]:
            best = (scale, low + (np.array([col, row], dtype=np.float64) + 1.0) * step, int(summed[row, col]))
    scale, centre, _ = best
    # Each form place counts once: the form places with a page place near that shift.
    affine = np.array([[scale, 0.0, centre[0]], [0.0, scale, centre[1]], [0.0, 0.0, 1.0]])
    src, _ = _pairs(form, page, affine, 1.5 * VOTE_MM * scale)
    return scale, centre, len(src)


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


def _foreign(form: Points, page: Points, matrix: Matrix, scale: float) -> int:
    """Page places within the form's area that no form place is near: print the form does not have."""
    placed = cv2.perspectiveTransform(form.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    low, high = placed.min(axis=0) - FOREIGN_MM * scale, placed.max(axis=0) + FOREIGN_MM * scale
    inside = page[np.all((page >= low) & (page <= high), axis=1)]
    if len(inside) == 0:
        return 0
    distances = np.linalg.norm(inside[:, None, :] - placed[None, :, :], axis=2).min(axis=1)
    return int(np.count_nonzero(distances > FOREIGN_MM * scale))
