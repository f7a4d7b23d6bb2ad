"""Grow: fit the page from its QR code outward, over every printed box, when the corner marks cannot.

The registration marks fix a page well when three or four are found where the QR code predicts them. A phone
photo at a steep angle puts the far marks further from that prediction than anyone can search; a sheet fed
shifted or photographed tight leaves one or two marks outside the image although the QR code and every box are
in it. Such a page is read by growing the fit from the code: the boxes and marks nearest the code are looked
for first, where its four corners put them (a short extrapolation, so close enough for the border search of
:mod:`pipeline.reading.refine`); the fit to all found so far then predicts the next ring of boxes, and so on
across the page. Each step extrapolates a few centimetres at most, so perspective, roll and a curled edge stay
within reach, and no box can be mistaken for its neighbour (the search reaches less than half a row's height).

The result is checked as strictly as a fit from the marks: enough boxes found, the QR code's corners where the
fit puts them, no box outside the image; :func:`pipeline.reading.refine.refine_alignment` then refines it as it
refines every page.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipeline.common.imaging import MM_PER_INCH, Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.align import (
    Alignment,
    AlignmentFailure,
    affine,
    boxes_inside,
    find_mark,
    jacobian,
    qr_symbol_corners_mm,
    quarter_turns,
)
from pipeline.reading.identify import QrCode
from pipeline.reading.model import BallotModel
from pipeline.reading.refine import MIN_BORDERS, border_model, find_border
from pipeline.reading.settings import AlignmentLimits

FIRST_RING_MM = 45.0  # boxes and marks this near the code's centre are looked for where its corners put them
RING_STEP_MM = 35.0  # each later ring reaches this much further, predicted by the fit to all found before
MARK_RADIUS_MM = 8.0  # a mark is looked for this near where the grown fit puts it
RANSAC_MM = 1.0  # a found point further than this from the grown fit is a wrong match, not a landmark
MIN_MARGIN_PX = 2.0  # a landmark predicted closer than this to the image's edge is not looked for
QR_AGREEMENT_MM = 1.5  # the grown fit must put the code's corners this close to where zxing found them
RANSAC_POINTS = 4  # landmarks found before the fit is a robust homography through them and the code
GIVE_UP_AFTER = 4  # a start from two marks whose nearest this many landmarks show nowhere is no sheet's


def grow_from_code(
    image: Gray, qr: QrCode, model: BallotModel, limits: AlignmentLimits, start: Matrix | None = None
) -> Alignment | AlignmentFailure:
    """The page's fit grown from its QR code over the printed boxes and whatever marks are in the image; ``start``:
    the fit to begin with instead of the code's corners alone (through two marks found across the top and the
    code, :func:`~pipeline.reading.locate.anchored_fits`: the code's corners alone, a module's accuracy on a soft
    photo, may put even the nearest boxes beyond the border search)."""
    code_mm = qr_symbol_corners_mm(model.layout, qr.modules)
    # A start through far marks beats a few points near the code: refitted only once RANSAC_POINTS are found.
    refit = 0 if start is None else RANSAC_POINTS
    grown = _grown(image, model, (code_mm, qr.corners), code_mm.mean(axis=0, keepdims=True), start, refit)
    if isinstance(grown, AlignmentFailure):
        return grown
    matrix, marks_found = grown
    return _checked(image, matrix, qr, code_mm, marks_found, model, limits)


def grow_from_marks(image: Gray, model: BallotModel, marks: tuple[Matrix, Matrix], start: Matrix) -> Matrix | None:
    """The page's fit grown from two of its registration marks (``marks``: their centres, page mm and image px) over
    the printed boxes, beginning with ``start`` (a fit through the two alone): a sheet whose code and the marks on one
    side were cut off the image (a phone photo taken tight). None where too few boxes are found, MIN_BORDERS. The
    marks are not held to the fit: a lens's barrel bends the sheet's edges off a plane's fit to its boxes by
    millimetres (what the caller checks is that no fit a row over finds as many boxes)."""
    # Two points along one side fix neither the sheet's width nor its shear: refitted from the first box found.
    grown = _grown(image, model, marks, marks[0], start, 1, give_up=GIVE_UP_AFTER)
    return None if isinstance(grown, AlignmentFailure) else grown[0]


def _grown(
    image: Gray,
    model: BallotModel,
    anchors: tuple[Matrix, Matrix],
    origins: Matrix,
    start: Matrix | None,
    refit: int,
    give_up: int | None = None,
) -> tuple[Matrix, int] | AlignmentFailure:
    """The fit grown ring by ring from ``anchors`` (page mm, image px: the code's corners or two marks, always in
    the fit) over the boxes and marks, each ring reaching RING_STEP_MM further from the nearest of ``origins`` (page
    mm); with the number of marks found. ``start``: the fit to begin with (else the anchors' affine fit), refitted
    after each ring once ``refit`` landmarks are found; ``give_up``: stop where none of the first this many
    landmarks looked for was found (a start through two things that are not the sheet's marks)."""
    layout = model.layout
    anchors_mm, anchors_px = anchors
    outlines = border_model(model).all_outlines
    marks = [np.array(mark.center, dtype=np.float64) for mark in layout.registration]
    centre = origins.mean(axis=0)

    def distance(point: Matrix) -> float:
        return float(np.min(np.linalg.norm(origins - point, axis=1)))

    anchored = [np.min(np.linalg.norm(anchors_mm - mark, axis=1)) < 1.0 for mark in marks]  # a mark already in
    landmarks: list[tuple[float, int]] = sorted(
        [(distance(np.array(o.centre)), index) for index, o in enumerate(outlines)]
        + [(distance(mark), -1 - index) for index, mark in enumerate(marks) if not anchored[index]]
    )
    matrix = _as_homography(affine(anchors_mm, anchors_px)) if start is None else start
    found_mm: list[Matrix] = []
    found_px: list[Matrix] = []
    marks_found = looked = 0
    reach, tried = FIRST_RING_MM, 0
    height, width = image.shape
    while tried < len(landmarks):
        ring = []
        while tried < len(landmarks) and landmarks[tried][0] <= reach:
            ring.append(landmarks[tried][1])
            tried += 1
        scale = _scale(matrix, centre)
        for index in ring:
            page = np.array(outlines[index].centre if index >= 0 else marks[-1 - index], dtype=np.float64)
            predicted = np.asarray(cv2.perspectiveTransform(page.reshape(1, 1, 2), matrix).reshape(2), np.float64)
            margin = MIN_MARGIN_PX + (0.0 if index >= 0 else 4.0 * scale)
            if not (margin <= predicted[0] < width - margin and margin <= predicted[1] < height - margin):
                continue
            if index >= 0:
                located = find_border(image, matrix, outlines[index])
            else:
                located = find_mark(image, predicted, scale, radius_mm=MARK_RADIUS_MM)
                if located is None:  # broken up by a fax's noise or dither: looked for again, cleaned
                    located = find_mark(image, predicted, scale, despeckle=True, radius_mm=MARK_RADIUS_MM)
                marks_found += located is not None
            looked += 1
            if located is not None:
                found_mm.append(page)
                found_px.append(located)
        if give_up is not None and looked >= give_up and not found_mm:
            break
        if len(found_mm) >= refit:
            matrix = _fitted(matrix, anchors_mm, anchors_px, found_mm, found_px, scale)
        reach += RING_STEP_MM
    boxes_found = len(found_px) - marks_found
    if boxes_found < MIN_BORDERS:
        return AlignmentFailure(PageReason.of(Why.BORDERS_MISSING, found=boxes_found, total=len(outlines)))
    return matrix, marks_found


def _fitted(
    matrix: Matrix,
    code_mm: Matrix,
    code_px: Matrix,
    found_mm: list[Matrix],
    found_px: list[Matrix],
    scale: float,
) -> Matrix:
    """The fit to the code's corners and every landmark found, robustly (a border matched in the wrong place
    is left out); the previous fit while too few points were found to do better."""
    if len(found_mm) < RANSAC_POINTS:
        if not found_mm:
            return matrix
        return _as_homography(affine(np.vstack([code_mm, *found_mm]), np.vstack([code_px, *found_px])))
    src = np.vstack([code_mm, np.array(found_mm)])
    dst = np.vstack([code_px, np.array(found_px)])
    fitted, _ = cv2.findHomography(src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), cv2.RANSAC, RANSAC_MM * scale)
    return matrix if fitted is None else np.asarray(fitted, dtype=np.float64)


def _checked(
    image: Gray, matrix: Matrix, qr: QrCode, code_mm: Matrix, marks: int, model: BallotModel, limits: AlignmentLimits
) -> Alignment | AlignmentFailure:
    """The grown fit as an :class:`Alignment`, or why it cannot be trusted. Perspective is allowed (a steep
    photo); the code's corners, the scan's resolution and every box being inside the image are checked."""
    layout = model.layout
    middle = (layout.page_w / 2, layout.page_h / 2)
    local = jacobian(matrix, middle)
    if float(np.linalg.det(local)) <= 0:
        return AlignmentFailure(PageReason.of(Why.MIRRORED))
    scale = _scale(matrix, np.array(middle))
    predicted = cv2.perspectiveTransform(code_mm.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    residual = float(np.max(np.linalg.norm(predicted - qr.corners, axis=1))) / scale
    if residual > QR_AGREEMENT_MM:
        return AlignmentFailure(PageReason.of(Why.QR_DISAGREES, mm=round(residual, 1)))
    if not limits.min_px_per_mm <= scale <= limits.max_px_per_mm:
        return AlignmentFailure(PageReason.of(Why.RESOLUTION, dpi=round(scale * MM_PER_INCH)))
    if not boxes_inside(image, matrix, layout):
        return AlignmentFailure(PageReason.of(Why.CUT_OFF))
    sx, sy = float(np.linalg.norm(local[:, 0])), float(np.linalg.norm(local[:, 1]))
    skew = abs(90.0 - math.degrees(math.acos(max(-1.0, min(1.0, float(local[:, 0] @ local[:, 1]) / (sx * sy))))))
    return Alignment(matrix, quarter_turns(local), residual, scale, skew, marks)


def _as_homography(affine_2x3: Matrix) -> Matrix:
    return np.vstack([affine_2x3, [0.0, 0.0, 1.0]])


def _scale(matrix: Matrix, at: Matrix) -> float:
    """Image pixels per page mm at ``at`` (page mm)."""
    local = jacobian(matrix, (float(at[0]), float(at[1])))
    return float(math.sqrt(abs(np.linalg.det(local))))
