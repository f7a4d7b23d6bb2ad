"""Table: a sheet found by the outline of its printed table, where too few of its registration marks show.

A phone photo taken tight and off-centre may cut off the code and three of the four corner marks while every box
is in the picture (the serial printed under the code often is too). The table of units is the largest thing
printed: its outer rule, a closed quadrilateral in any perspective, is found as the outline of the largest
connected mass of dark print (the grid of rules and everything touching it). Its four corners against the
template's table corners fix the page in perspective, each way the sheet may lie; the caller keeps the fit under
which the box borders are found (and no fit a row over finds as many).

The table's outline comes from the layout's own rules (:func:`tables_mm`); a template without ruled tables has none,
and its sheets are found by their marks alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from pipeline.ballot.layout import Layout, Line
from pipeline.common.grouping import connected_groups
from pipeline.common.imaging import Gray, Matrix
from pipeline.reading.model import BallotModel

SEARCH_SIDE_PX = 1000  # the outline is looked for on the image reduced to this many pixels across its shorter side
THRESHOLD_BLOCK_SHARE = 0.02  # the threshold's neighbourhood, as a share of that side (a few millimetres of paper)
THRESHOLD_CONTRAST = 8  # grey levels print lies below its neighbourhood's mean
TABLE_SHARE = 0.08  # a table's outline covers at least this share of the photo (a sheet filling a third of it)
OUTLINES = 4  # the largest masses of print whose outlines are tried, at most
TOUCHING_MM = 0.5  # rules whose ends lie this near another rule are one table's
FRAME_SHARE = 0.01  # an outline's corner this near the image's edge (share of its shorter side): the frame cut it


def tables_mm(layout: Layout) -> list[Matrix]:
    """The corners (page mm, clockwise from top-left) of each ruled table of ``layout``: the bounding rectangle of
    each set of rules that meet, of four rules or more."""
    lines = list(layout.lines)
    tables = []
    for group in connected_groups(len(lines), lambda first, second: _meet(lines[first], lines[second])):
        members = [lines[index] for index in group]
        if len(members) < 4:
            continue
        xs = [x for line in members for x in (line.x1, line.x2)]
        ys = [y for line in members for y in (line.y1, line.y2)]
        left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
        tables.append(np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float64))
    return tables


def _meet(one: Line, other: Line) -> bool:
    """Whether two rules (each level or upright) cross or touch, within TOUCHING_MM."""
    boxes = [
        (min(line.x1, line.x2), min(line.y1, line.y2), max(line.x1, line.x2), max(line.y1, line.y2))
        for line in (one, other)
    ]
    (left, top, right, bottom), (left2, top2, right2, bottom2) = boxes
    return (
        left <= right2 + TOUCHING_MM
        and left2 <= right + TOUCHING_MM
        and top <= bottom2 + TOUCHING_MM
        and top2 <= bottom + TOUCHING_MM
    )


def table_outlines(image: Gray) -> list[Matrix]:
    """Quadrilaterals (image px, clockwise from the one nearest the top-left) that may be a printed table's outer
    rule: the corners of the convex hull of each of the largest masses of dark print, at least TABLE_SHARE of the
    image, as the polygon it simplifies to (where that has four corners) and as
    its extreme points along the two diagonals (where a tick or a word over the rule bends the hull)."""
    factor = min(1.0, SEARCH_SIDE_PX / min(image.shape))
    small = image if factor == 1.0 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    block = max(3, int(THRESHOLD_BLOCK_SHARE * min(small.shape)) | 1)
    dark = cv2.adaptiveThreshold(
        np.asarray(small, np.uint8), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, THRESHOLD_CONTRAST
    )
    # Each connected mass of print on its own (the shade along a photographed sheet's edge rings the table, which an
    # outermost contour would hide): its outer contour, only for masses whose bounding box is large enough.
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    spans = stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]
    hulls = []
    for label in np.argsort(-spans)[:OUTLINES] + 1:
        if spans[label - 1] < TABLE_SHARE * small.size:
            break
        left, top, width, height = (int(value) for value in stats[label, :4])
        mask = np.asarray(labels[top : top + height, left : left + width] == label, dtype=np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hulls.append(cv2.convexHull(np.vstack(contours) + np.array([left, top], dtype=np.int32)))
    hulls.sort(key=cv2.contourArea, reverse=True)
    outlines: list[Matrix] = []
    for hull in hulls:
        if cv2.contourArea(hull) < TABLE_SHARE * small.size:
            break
        points = hull.reshape(-1, 2).astype(np.float64)
        simplified = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2)
        if len(simplified) == 4:
            outlines.append(_clockwise(simplified.astype(np.float64)) / factor)
        sums, differences = points.sum(axis=1), points[:, 0] - points[:, 1]
        extremes = points[[np.argmin(sums), np.argmax(differences), np.argmax(sums), np.argmin(differences)]]
        outlines.append(_clockwise(extremes) / factor)
    return outlines


def _clockwise(corners: Matrix) -> Matrix:
    """``corners`` in turn clockwise (in image coordinates, y down) from the one nearest the top-left."""
    middle = corners.mean(axis=0)
    ordered = corners[np.argsort(np.arctan2(corners[:, 1] - middle[1], corners[:, 0] - middle[0]))]
    first = int(np.argmin(ordered.sum(axis=1)))
    return np.asarray(np.roll(ordered, -first, axis=0), dtype=np.float64)


def cut_outlines(outlines: list[Matrix], shape: tuple[int, ...]) -> list[tuple[Matrix, int]]:
    """The ``outlines`` (:func:`table_outlines` of an image of ``shape``) one side of which lies along the image's
    edge, each with that side's index (corners ``side`` and ``side + 1``): a table the frame cut, whose outline there
    is the frame's, not its rule. The two corners there lie on the table's rules running out of the picture
    (:func:`extended`)."""
    height, width = shape[:2]
    near = FRAME_SHARE * min(height, width)

    def on_the_edge(ends: Matrix) -> bool:
        return any(
            bool(np.all(ends[:, axis] <= near) or np.all(ends[:, axis] >= far - near))
            for axis, far in ((0, width - 1), (1, height - 1))
        )

    return [
        (outline, side) for outline in outlines for side in range(4) if on_the_edge(outline[[side, (side + 1) % 4]])
    ]


def extended(outline: Matrix, side: int, stretches: tuple[float, float]) -> Matrix:
    """``outline`` with the two corners of its cut ``side`` moved out along the rules they end: each from the
    table's corner at that rule's other end, ``stretches`` times as far (the table's rule that long in the image)."""
    moved = outline.copy()
    ends = ((side, (side - 1) % 4, stretches[0]), ((side + 1) % 4, (side + 2) % 4, stretches[1]))
    for corner, other, stretch in ends:
        moved[corner] = outline[other] + stretch * (outline[corner] - outline[other])
    return moved


def model_tables(model: BallotModel) -> list[Matrix]:
    """``model``'s tables (:func:`tables_mm`), found once per template."""
    return model.derived("table.tables", lambda: tables_mm(model.layout))


def fit_to(table: Matrix, corners: Matrix) -> Matrix:
    """Page mm → image px putting ``table``'s corners (page mm) on ``corners`` (image px), in turn."""
    return np.asarray(cv2.getPerspectiveTransform(table.astype(np.float32), corners.astype(np.float32)), np.float64)


def fits_to(outline: Matrix, model: BallotModel) -> Iterator[Matrix]:
    """Page mm → image px transforms putting each of ``model``'s tables on ``outline``, each of the four ways the
    sheet may lie (the caller checks each against the borders)."""
    for table in model_tables(model):
        for turn in range(4):
            yield fit_to(table, np.roll(outline, turn, axis=0))
