"""Align: fit the page-mm → image-pixel transform of a scanned ballot, or say why it cannot be trusted.

1. The QR code's corners (in the symbol's own orientation, so any rotation works) give a coarse affine
   transform.
2. Each registration mark is looked for in a window around where that transform puts it: a finder pattern
   (7×7 black, 5×5 white, 3×3 black) is recognised by its nested contours and its expected size, which
   nothing else on the sheet has (QR finder patterns are too small).
3. Four marks give a homography (phone photos have perspective); three marks (a torn corner) an affine
   transform plus the QR corners. The QR corners then check it (they must land within
   ``max_qr_residual_mm``), and scale, aspect and skew are checked against sane limits. The fine check,
   against every printed checkbox, is :mod:`pipeline.reading.refine`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Layout, Rect
from pipeline.common.imaging import MM_PER_INCH, Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.identify import QrCode
from pipeline.reading.settings import AlignmentLimits

# A fed sheet (a fax, a scanner's feeder) whose rollers slipped is drawn taller or shorter over a band of it than
# the page's fit has it, by up to ~12 %: a box that matches nowhere as printed is looked for at each of these heights
# (each matches within ±3 %).
FEED_STRETCHES = (0.94, 1.06, 0.88, 1.12)
SEARCH_RADIUS_MM = 28.0  # phone photos can put a far corner this far from where the QR code predicts it
MIN_MARK_AREA, MAX_MARK_AREA = 0.40, 2.2  # allowed area of a mark relative to the expected 7 × 7 mm
# A fax's pepper noise or dither can break a mark's rings so that their nesting is lost: a mark not found is
# looked for again in its window median-filtered this wide. On 18 bad scans (three batches of 200) refused
# for marks not found, 8 then showed all four and 2 more three (with a 3 px filter only 5 and 1).
DESPECKLE_PX = 5
# A version 1 code (21 modules: what we print since stop 41) has no alignment pattern, so zxing puts its corners from
# its three finders' spacing alone: on a clean 200-dpi page up to 2.2 px (a third of a module) off, its fourth corner
# furthest. Each finder is looked for this many modules about where those corners put its centre …
FINDER_SEARCH_MODULES = 6.0
# … and the corners its three centres put (within 0.8 px there) are taken where they lie within this many modules of
# the decoder's: a nested square further off is something else.
FINDER_AGREE_MODULES = 1.5
FIRST_VERSION_MODULES = 21


@dataclass(frozen=True)
class Alignment:
    """A trusted transform and the numbers that justified trusting it."""

    matrix: Matrix  # 3×3, page mm → image px
    rotation: int  # 0, 90, 180 or 270: how the page was fed
    residual_mm: float  # worst QR-corner misfit
    px_per_mm: float
    skew_deg: float
    marks_found: int
    # (unit, option) → (dx, dy) mm: where a curled sheet puts a row's printed borders beyond the reach of
    # ``matrix`` (see :func:`pipeline.reading.refine.refine_alignment`), its boxes are this far from where it says.
    box_offsets_mm: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def to_pixels(self, points_mm: npt.ArrayLike) -> Matrix:
        points = np.asarray(points_mm, dtype=np.float64).reshape(-1, 1, 2)
        return np.asarray(cv2.perspectiveTransform(points, self.matrix), dtype=np.float64).reshape(-1, 2)


@dataclass(frozen=True)
class AlignmentFailure:
    reason: PageReason


def qr_symbol_corners_mm(layout: Layout, modules: int) -> Matrix:
    """Where the QR symbol's corners (quiet zone excluded) were printed, in the order zxing reports them."""
    qr: Rect = layout.qr
    module = qr.w / (modules + 8)
    x0, y0, size = qr.x + 4 * module, qr.y + 4 * module, modules * module
    return np.array([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]], dtype=np.float64)


def finder_corners(image: Gray, qr: QrCode) -> QrCode:
    """``qr`` with a version 1 symbol's corners put through its three finder patterns' centres (:func:`find_mark`,
    each the nested squares nearest where the decoder's corners put it; the fourth corner across from them, the
    symbol being small enough to be flat); any other symbol, or one whose finders are not all found close to where
    its corners put them, as decoded (a larger symbol's fourth corner comes from its alignment pattern)."""
    size = qr.modules
    module_px = float(np.linalg.norm(qr.corners[1] - qr.corners[0])) / size
    if size != FIRST_VERSION_MODULES or module_px <= 0:
        return qr
    symbol = np.array([[0, 0], [size, 0], [size, size], [0, size]], dtype=np.float64)
    decoded = cv2.getPerspectiveTransform(symbol.astype(np.float32), qr.corners.astype(np.float32))
    centres = np.array([[3.5, 3.5], [size - 3.5, 3.5], [3.5, size - 3.5]], dtype=np.float64)
    predicted = np.asarray(cv2.perspectiveTransform(centres.reshape(-1, 1, 2), decoded), dtype=np.float64)
    found = [find_mark(image, point, module_px, radius_mm=FINDER_SEARCH_MODULES) for point in predicted.reshape(-1, 2)]
    if any(centre is None for centre in found):
        return qr
    through = cv2.getAffineTransform(centres.astype(np.float32), np.array(found, dtype=np.float32))
    corners = np.asarray(cv2.transform(symbol.reshape(-1, 1, 2), through), dtype=np.float64).reshape(-1, 2)
    if float(np.max(np.linalg.norm(corners - qr.corners, axis=1))) > FINDER_AGREE_MODULES * module_px:
        return qr
    return replace(qr, corners=corners)


def align_page(image: Gray, layout: Layout, qr: QrCode, limits: AlignmentLimits) -> Alignment | AlignmentFailure:
    qr_mm = qr_symbol_corners_mm(layout, qr.modules)
    coarse = affine(qr_mm, qr.corners)
    scale = _scale(coarse)
    if not limits.min_px_per_mm <= scale <= limits.max_px_per_mm:
        return AlignmentFailure(PageReason.of(Why.RESOLUTION, dpi=round(scale * MM_PER_INCH)))
    marks_mm = np.array([mark.center for mark in layout.registration], dtype=np.float64)
    found_mm, found_px = [], []
    for centre_mm in marks_mm:
        predicted = _apply(coarse, centre_mm[None, :])[0]
        located = find_mark(image, predicted, scale)
        if located is None:  # a mark broken up by a fax's pepper noise or dither: looked for again, cleaned
            located = find_mark(image, predicted, scale, despeckle=True)
        if located is not None:
            found_mm.append(centre_mm)
            found_px.append(located)
    if len(found_px) < 3:
        return AlignmentFailure(PageReason.of(Why.MARKS_MISSING, found=len(found_px)))
    src, dst = np.array(found_mm), np.array(found_px)
    if len(found_px) == 4:
        matrix = np.asarray(cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)), np.float64)
    else:
        # Three marks fix only an affine map; the QR corners supply the perspective a photo may have.
        fitted, _ = cv2.findHomography(np.vstack([src, qr_mm]), np.vstack([dst, qr.corners]), 0)
        if fitted is None:
            return AlignmentFailure(PageReason.of(Why.MARKS_MISFIT))
        matrix = np.asarray(fitted, dtype=np.float64)
    return _checked(image, matrix, qr, qr_mm, len(found_px), layout, limits)


def aligned_by(
    image: Gray, matrix: Matrix, qr: QrCode, layout: Layout, limits: AlignmentLimits, marks: int = 4
) -> Alignment | AlignmentFailure:
    """The page read through ``matrix`` (page mm → image px, from the registration marks found anywhere in the photo,
    ``marks`` of them, or from the printed table's outline, and confirmed by the box borders found where it puts
    them), checked as a fit through the marks is: against the code's corners, resolution, every box in the image; not
    against skew or stretch, which a steep photo's perspective brings (35° of tilt squeezes the sheet by a fifth one
    way) and the borders found have vouched for."""
    return _checked(
        image, matrix, qr, qr_symbol_corners_mm(layout, qr.modules), marks, layout, limits, perspective=True
    )


def _checked(
    image: Gray,
    matrix: Matrix,
    qr: QrCode,
    qr_mm: Matrix,
    marks: int,
    layout: Layout,
    limits: AlignmentLimits,
    *,
    perspective: bool = False,
) -> Alignment | AlignmentFailure:
    predicted = cv2.perspectiveTransform(qr_mm.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    local = jacobian(matrix, (layout.page_w / 2, layout.page_h / 2))
    sx, sy = float(np.linalg.norm(local[:, 0])), float(np.linalg.norm(local[:, 1]))
    scale = (sx + sy) / 2
    residual = float(np.max(np.linalg.norm(predicted - qr.corners, axis=1))) / scale
    cos_angle = float(np.dot(local[:, 0], local[:, 1]) / (sx * sy))
    skew = abs(90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_angle)))))
    determinant = float(np.linalg.det(local))
    if determinant <= 0:
        return AlignmentFailure(PageReason.of(Why.MIRRORED))
    if residual > limits.max_qr_residual_mm:
        return AlignmentFailure(PageReason.of(Why.QR_DISAGREES, mm=round(residual, 1)))
    if skew > limits.max_skew_deg and not perspective:
        return AlignmentFailure(PageReason.of(Why.SKEWED, degrees=round(skew, 1)))
    if abs(sx - sy) / scale > limits.max_aspect_error and not perspective:
        return AlignmentFailure(PageReason.of(Why.STRETCHED, percent=round(100 * abs(sx - sy) / scale)))
    if not limits.min_px_per_mm <= scale <= limits.max_px_per_mm:
        return AlignmentFailure(PageReason.of(Why.RESOLUTION, dpi=round(scale * MM_PER_INCH)))
    # The paper's own corners may be cut off by the scanner; every checkbox must be on the image.
    if not boxes_inside(image, matrix, layout):
        return AlignmentFailure(PageReason.of(Why.CUT_OFF))
    return Alignment(matrix, quarter_turns(local), residual, scale, skew, marks)


def boxes_inside(image: Gray, matrix: Matrix, layout: Layout) -> bool:
    """Whether every checkbox of ``layout`` lies wholly on the image under ``matrix`` (page mm → image px)."""
    boxes = np.array([corner for box in layout.boxes for corner in box.rect.corners], dtype=np.float64)
    corners = cv2.perspectiveTransform(boxes.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    height, width = image.shape
    return not (np.any(corners < 0) or np.any(corners[:, 0] >= width) or np.any(corners[:, 1] >= height))


def quarter_turns(local: Matrix) -> int:
    """How the page lies on the image, to the nearest quarter turn (0, 90, 180 or 270°), from the transform's
    local linear part (:func:`jacobian`)."""
    return round(math.degrees(math.atan2(local[1, 0], local[0, 0])) % 360 / 90.0) % 4 * 90


def affine(src: Matrix, dst: Matrix) -> Matrix:
    """Least-squares 2×3 affine transform mapping ``src`` points onto ``dst`` points."""
    design = np.hstack([src, np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return np.asarray(solution.T, dtype=np.float64)


def _apply(affine: Matrix, points: Matrix) -> Matrix:
    return np.asarray(points @ affine[:, :2].T + affine[:, 2], dtype=np.float64)


def _scale(affine: Matrix) -> float:
    return float(math.sqrt(abs(np.linalg.det(affine[:, :2]))))


def jacobian(matrix: Matrix, at: tuple[float, float]) -> Matrix:
    x, y = at
    denominator = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    u = (matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]) / denominator
    v = (matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]) / denominator
    return np.array(
        [
            [
                (matrix[0, 0] - u * matrix[2, 0]) / denominator,
                (matrix[0, 1] - u * matrix[2, 1]) / denominator,
            ],
            [
                (matrix[1, 0] - v * matrix[2, 0]) / denominator,
                (matrix[1, 1] - v * matrix[2, 1]) / denominator,
            ],
        ]
    )


def find_mark(
    image: Gray, predicted: Matrix, scale: float, *, despeckle: bool = False, radius_mm: float = SEARCH_RADIUS_MM
) -> Matrix | None:
    """Centre (px) of the finder-pattern mark nearest ``predicted`` within ``radius_mm``, or None when there is
    none. ``despeckle``: look in the window median-filtered (DESPECKLE_PX), which keeps a mark's 1 mm rings and
    removes specks."""
    radius = int(radius_mm * scale)
    height, width = image.shape
    cx, cy = int(predicted[0]), int(predicted[1])
    x0, y0 = max(0, cx - radius), max(0, cy - radius)
    x1, y1 = min(width, cx + radius), min(height, cy + radius)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    window = image[y0:y1, x0:x1]
    if despeckle:
        window = np.asarray(cv2.medianBlur(window, DESPECKLE_PX), dtype=np.uint8)
    _, ink = cv2.threshold(window, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return None
    expected_area = (7.0 * scale) ** 2
    nested, solid = [], []
    for index, contour in enumerate(contours):
        area = cv2.contourArea(contour)
        if not MIN_MARK_AREA * expected_area <= area <= MAX_MARK_AREA * expected_area:
            continue
        (_, _), (w, h), _ = cv2.minAreaRect(contour)
        if min(w, h) <= 0 or max(w, h) / min(w, h) > 1.35:
            continue
        hull_area = cv2.contourArea(cv2.convexHull(contour))
        if hull_area <= 0 or area / hull_area < 0.85:
            continue
        centre = _centroid(np.asarray(contour, dtype=np.int32))
        # Speckles in a fax or a dusty scan add tiny contours: take the largest hole and the largest core.
        child = largest_child(contours, hierarchy, index)
        grandchild = largest_child(contours, hierarchy, child) if child >= 0 else -1
        if child >= 0 and grandchild >= 0:
            ratio_hole = cv2.contourArea(contours[child]) / area
            ratio_core = cv2.contourArea(contours[grandchild]) / area
            if 0.25 <= ratio_hole <= 0.8 and 0.05 <= ratio_core <= 0.4:
                core = _centroid(np.asarray(contours[grandchild], dtype=np.int32))
                nested.append((centre + core) / 2)
                continue
        if child < 0 and area / expected_area >= 0.6:
            solid.append(centre)  # rings merged by blur or a dark 1-bit scan: still a mark-sized square
    candidates = nested or solid
    if not candidates:
        return None
    offset = np.array([x0, y0], dtype=np.float64)
    best = min(candidates, key=lambda point: float(np.linalg.norm(point + offset - predicted)))
    return np.asarray(best + offset, dtype=np.float64)


def largest_child(contours: Sequence[npt.NDArray[Any]], hierarchy: npt.NDArray[Any], parent: int) -> int:
    """Index of the largest contour directly inside ``parent``, or -1."""
    best, best_area = -1, 0.0
    child = int(hierarchy[0][parent][2])
    while child >= 0:
        area = cv2.contourArea(contours[child])
        if area > best_area:
            best, best_area = child, area
        child = int(hierarchy[0][child][0])
    return best


def _centroid(contour: npt.NDArray[np.int32]) -> Matrix:
    moments = cv2.moments(contour)
    if moments["m00"] == 0:
        x, y, w, h = cv2.boundingRect(contour)
        return np.array([x + w / 2, y + h / 2], dtype=np.float64)
    return np.array([moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]], dtype=np.float64)
