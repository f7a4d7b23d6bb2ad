"""External forms: existing office forms we did not print, found on a scan by their own ruling lines (or, for
a form without a ruled table, by its printed answer places: :mod:`pipeline.forms.placefit`).

Such a form has no registration marks and no QR code; its table is what we measure it by.

1. *Fit* (:func:`fit_tables`): the page is tried as fed in all four directions, deskewed (each view made
   once for all configured forms; the first view any form is found in is the page's orientation), and for
   phone photos rectified on the table's outer border; the table found (:mod:`pipeline.forms.ruling`) must match
   the blank's rule for rule; then every rule crossing is located and a homography fitted to them robustly
   (RANSAC). Too few crossings, too few agreeing, or a misfit beyond the reading settings' limit rejects
   the page.
Which form it is when several fit, scoring and classification: :mod:`pipeline.forms.read`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.template import ExternalForm, ExternalSection, Template
from pipeline.common.imaging import MM_PER_INCH, Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.forms.placefit import PlaceFit, fit_by_places
from pipeline.forms.ruling import MIN_TABLE_MM, Table, deskew, find_tables, ink_of, rotation_of, rule_masks, unturn
from pipeline.reading.settings import AlignmentLimits

Mask = npt.NDArray[np.uint8]

RECTIFY_PX_PER_MM = 10.0  # a phone photo is re-sampled this fine once rectified by the table's border
QUAD_CANDIDATES = 3  # largest four-sided outlines tried as the table's border
MATCH_MM = 1.5  # every rule of the blank must be found this close to where the table's border puts it
CORNER_WINDOW_MM = 2.5  # a rule crossing is looked for this far around where the coarse fit puts it
MIN_CROSSINGS = 0.6  # share of the blank's rule crossings that must be found (merged cells have fewer)
RANSAC_MM = 0.5  # a crossing further than this from the fitted plane does not count (a tick over it)
MIN_INLIERS = 0.8  # share of crossings on one plane; fewer: folded or curled (looser let photos be misread)


@dataclass(frozen=True)
class FormFit:
    """Where an external form lies on a scan: page mm (of the blank) → image px, and how well."""

    template: Template
    matrix: Matrix
    residual_mm: float  # 90th percentile misfit of the rule crossings (or of the answer places)
    crossings: int  # found and agreeing with the fit: rule crossings, or answer places
    expected: int = 0  # answer places the form has (found by its places); 0 when found by its table


def fit_forms(
    image: Gray, templates: Sequence[Template], dpi: float | None, limits: AlignmentLimits
) -> list[FormFit | PageReason]:
    """For each of ``templates``: where its form lies on ``image`` (:class:`FormFit`), or why it is not there.
    Forms whose every section is a ruled table are found by their rules (:func:`fit_tables`), the others by
    their printed answer places (:func:`pipeline.forms.placefit.fit_by_places`)."""
    ruled = [index for index, template in enumerate(templates) if _external(template).ruled]
    free = [index for index in range(len(templates)) if index not in ruled]
    results: dict[int, FormFit | PageReason] = {}
    if ruled:
        results.update(zip(ruled, fit_tables(image, [templates[i] for i in ruled], dpi, limits), strict=True))
    if free:
        scales = [_px_per_mm(image, _external(templates[i]), dpi) for i in free]
        found = fit_by_places(image, [templates[i] for i in free], scales, limits)
        for index, fit in zip(free, found, strict=True):
            results[index] = (
                FormFit(templates[index], fit.matrix, fit.residual_mm, fit.matched, fit.expected)
                if isinstance(fit, PlaceFit)
                else fit
            )
    return [results[index] for index in range(len(templates))]


def _external(template: Template) -> ExternalForm:
    assert template.external is not None
    return template.external


def fit_tables(
    image: Gray, templates: Sequence[Template], dpi: float | None, limits: AlignmentLimits
) -> list[FormFit | PageReason]:
    """For each of ``templates`` (ruled forms): where its table lies on ``image``, or why it is not there.

    The page is looked at as fed in all four directions (deskewed), each view computed once and tried
    against every form; as soon as forms are found in one view, that is the page's orientation and the
    other forms are not there. Only when no form is found upright is each form looked for on the page
    rectified by its own table's outer border (a phone photo whose rules are not straight across it)."""
    results: list[FormFit | PageReason | None] = [None] * len(templates)
    views: dict[tuple[int, float], _View] = {}
    for turns in (0, 2, 1, 3):
        for index, template in enumerate(templates):
            if results[index] is not None:
                continue
            external = template.external
            assert external is not None
            key = (turns, _px_per_mm(image, external, dpi))
            if key not in views:
                views[key] = _upright_view(image, turns, key[1])
            results[index] = _fit_in_view(views[key], template, limits)
        if any(isinstance(result, FormFit) for result in results):
            break
    else:
        for index, template in enumerate(templates):
            # Faint grey rules (a pale photo): looked for only now, upright and upside down.
            for turns in (0, 2) if results[index] is None else ():
                view = _upright_view(image, turns, _px_per_mm(image, _external(template), dpi), faint=True)
                results[index] = _fit_in_view(view, template, limits)
                if results[index] is not None:
                    break
            for view in _rectified_views(image, template) if results[index] is None else ():
                results[index] = _fit_in_view(view, template, limits)
                if results[index] is not None:
                    break
    return [
        result if result is not None else PageReason.of(Why.FORM_TABLE_MISSING, form=template.id)
        for result, template in zip(results, templates, strict=True)
    ]


@dataclass(frozen=True)
class _View:
    """The page resampled for looking for a table: the image, view px → image px, view px per mm, and the
    ruling lines and tables found in it."""

    image: Gray
    to_image: Matrix
    px_per_mm: float
    masks: tuple[Mask, Mask, Mask]
    tables: list[Table]


def _make_view(image: Gray, to_image: Matrix, px_per_mm: float, *, faint: bool = False) -> _View:
    masks = rule_masks(image, px_per_mm, faint=faint)
    return _View(image, to_image, px_per_mm, masks, find_tables(image, px_per_mm, masks))


def _px_per_mm(image: Gray, external: ExternalForm, dpi: float | None) -> float:
    return dpi / MM_PER_INCH if dpi else max(image.shape) / max(external.page_w_mm, external.page_h_mm)


def _upright_view(image: Gray, turns: int, px_per_mm: float, *, faint: bool = False) -> _View:
    turned = np.ascontiguousarray(np.rot90(image, turns))
    upright, angle = deskew(turned)
    to_image = unturn(turns, image.shape) @ np.linalg.inv(rotation_of(upright.shape, angle))
    return _make_view(upright, to_image, px_per_mm, faint=faint)


def _fit_in_view(view: _View, template: Template, limits: AlignmentLimits) -> FormFit | PageReason | None:
    """The form's fit on ``view``; why it fails when its table is there but does not fit; None when its table
    is not in this view."""
    external = template.external
    assert external is not None
    coarse = [_match_table(view.tables, place) for place in external.sections]
    if any(match is None for match in coarse):
        return None
    found_mm, found_px = [], []
    for place, match in zip(external.sections, coarse, strict=True):
        assert match is not None
        sx, bx, sy, by = match
        for x_mm, y_mm in ((x, y) for x in place.columns for y in place.rules):
            crossing = _crossing(view.masks[1], view.masks[2], (sx * x_mm + bx, sy * y_mm + by), sx)
            if crossing is not None:
                found_mm.append((external.origin_x_mm + x_mm, external.origin_y_mm + y_mm))
                found_px.append(crossing)
    expected = sum(len(place.columns) * len(place.rules) for place in external.sections)
    if len(found_mm) < max(8, MIN_CROSSINGS * expected):
        return PageReason.of(Why.FORM_CROSSINGS, form=template.id, found=len(found_mm), expected=expected)
    src = np.array(found_mm, dtype=np.float64).reshape(-1, 1, 2)
    dst = cv2.perspectiveTransform(np.array(found_px, dtype=np.float64).reshape(-1, 1, 2), view.to_image)
    view_px_per_mm = float(np.mean([match[0] for match in coarse if match is not None]))
    scale = _scale_at(view.to_image, found_px[0], view_px_per_mm)
    matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_MM * scale)
    if matrix is None or inliers.mean() < MIN_INLIERS:
        return PageReason.of(Why.FORM_NOT_FLAT, form=template.id)
    misfit = np.linalg.norm(cv2.perspectiveTransform(src, matrix) - dst, axis=2).ravel()
    residual = float(np.percentile(misfit[inliers.ravel().astype(bool)], 90)) / scale
    if residual > limits.max_residual_mm:
        return PageReason.of(Why.FORM_CURLED, form=template.id, mm=round(residual, 1))
    return FormFit(template, np.asarray(matrix, dtype=np.float64), residual, int(inliers.sum()))


def _rectified_views(image: Gray, template: Template) -> Iterator[_View]:
    """The page rectified by each candidate outer border, as where ``template``'s table would lie."""
    external = template.external
    assert external is not None
    size = (round(external.page_w_mm * RECTIFY_PX_PER_MM), round(external.page_h_mm * RECTIFY_PX_PER_MM))
    guess = max(image.shape) / max(external.page_w_mm, external.page_h_mm)
    for quad in _quads(image, guess):
        for place in external.sections:
            x0, y0 = (
                (external.origin_x_mm + place.table.x) * RECTIFY_PX_PER_MM,
                (external.origin_y_mm + place.table.y) * RECTIFY_PX_PER_MM,
            )
            x1, y1 = x0 + place.table.w * RECTIFY_PX_PER_MM, y0 + place.table.h * RECTIFY_PX_PER_MM
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
            for shift in range(4):
                to_image = cv2.getPerspectiveTransform(corners, np.roll(quad, shift, axis=0).astype(np.float32))
                flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
                view = cv2.warpPerspective(image, to_image, size, flags=flags, borderValue=255)
                yield _make_view(
                    np.asarray(view, dtype=np.uint8), np.asarray(to_image, dtype=np.float64), RECTIFY_PX_PER_MM
                )


def _quads(image: Gray, px_per_mm: float) -> list[Matrix]:
    """Corners (clockwise from top left) of the largest four-sided ink outlines: candidate table borders."""
    ink = cv2.morphologyEx(ink_of(image, px_per_mm), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quads = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:QUAD_CANDIDATES]:
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float64)
        if len(approx) != 4 or cv2.contourArea(hull) < MIN_TABLE_MM[0] * MIN_TABLE_MM[1] * px_per_mm**2:
            continue
        centre = approx.mean(axis=0)
        order = np.argsort(np.arctan2(approx[:, 1] - centre[1], approx[:, 0] - centre[0]))
        ordered = approx[order]
        start = int(np.argmin(ordered.sum(axis=1)))
        quads.append(np.roll(ordered, -start, axis=0))
    return quads


def _scale_at(to_image: Matrix, point: tuple[float, float], px_per_mm: float) -> float:
    """Image pixels per mm near ``point`` of a view with ``px_per_mm`` view pixels per mm."""
    here = np.array([[point], [(point[0] + px_per_mm, point[1])]], dtype=np.float64)
    mapped = cv2.perspectiveTransform(here, to_image).reshape(-1, 2)
    return float(np.linalg.norm(mapped[1] - mapped[0]))


def _match_table(tables: list[Table], place: ExternalSection) -> tuple[float, float, float, float] | None:
    """x and y scale and offset (mm of the form → px) of the found table whose every rule matches ``place``."""
    cols, rules = place.columns, place.rules
    for table in tables:
        sx = (table.xs[-1] - table.xs[0]) / (cols[-1] - cols[0])
        sy = (table.ys[-1] - table.ys[0]) / (rules[-1] - rules[0])
        if not 0.95 < sx / sy < 1.05:
            continue
        bx, by = table.xs[0] - sx * cols[0], table.ys[0] - sy * rules[0]
        tolerance = MATCH_MM * sx
        if all(min(abs(x - (sx * c + bx)) for x in table.xs) <= tolerance for c in cols) and all(
            min(abs(y - (sy * r + by)) for y in table.ys) <= tolerance for r in rules
        ):
            return sx, bx, sy, by
    return None


def _crossing(
    horizontal: Mask, vertical: Mask, at: tuple[float, float], px_per_mm: float
) -> tuple[float, float] | None:
    """Where a horizontal and a vertical rule cross near ``at`` (px), from the line masks; None if either is absent."""
    radius = round(CORNER_WINDOW_MM * px_per_mm)
    x, y = round(at[0]), round(at[1])
    if x - radius < 0 or y - radius < 0 or x + radius >= horizontal.shape[1] or y + radius >= horizontal.shape[0]:
        return None
    h_window = horizontal[y - radius : y + radius + 1, x - radius : x + radius + 1].sum(axis=1)
    v_window = vertical[y - radius : y + radius + 1, x - radius : x + radius + 1].sum(axis=0)
    # A rule that only ends at the crossing (a T, a corner) still covers half the window.
    if h_window.max() < 0.45 * (2 * radius + 1) or v_window.max() < 0.45 * (2 * radius + 1):
        return None
    rows = np.flatnonzero(h_window >= 0.5 * h_window.max())
    cols = np.flatnonzero(v_window >= 0.5 * v_window.max())
    return float(x - radius + cols.mean()), float(y - radius + rows.mean())
