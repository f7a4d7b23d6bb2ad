"""One stroke in two answer places: a line drawn from a box of one row into a box of the next, or over the
rule between two boxes into both. Such ink is no one place's mark, whatever each place's own score says: the
places it reaches are made at most marginal (their ink counted as ``scattered``), so that a clerk decides.

Looked at on the page, between every two printed places near each other that both hold ink: the two are
resampled together, the printed outlines masked, and the ink joined across gaps narrower than a pen lift.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Checkbox, Rect
from pipeline.common.imaging import Gray, Matrix
from pipeline.reading.score import BoxScore

STROKE_PX_PER_MM = 8.0  # the pair is resampled this fine
REACH_MM = 15.0  # places further apart (centre to centre) are not looked at together
MARGIN_MM = 1.0  # around the pair
OUTLINE_MASK_MM = 0.35  # each side of a printed outline: masked as print
GAP_MM = 0.5  # ink this close is one stroke (a pen barely lifted, a scan's break in a thin line)
INK_CONTRAST = 0.35  # darkness (0 paper – 1 the patch's darkest) from which a pixel is ink
INSET_MM = 0.5  # inside a place's outline, this far in: its inside


def shared_marks(
    image: Gray, matrix: Matrix, boxes: list[tuple[Checkbox, float]], scores: list[BoxScore]
) -> list[BoxScore]:
    """``scores`` with every place whose ink is one stroke with ink inside another place made marginal.
    ``boxes``: each scored place and its outline's stroke (mm), in the order of ``scores``."""
    inked = [index for index, score in enumerate(scores) if score.fill > 0]
    shared: set[int] = set()
    for a, b in itertools.combinations(inked, 2):
        first, second = boxes[a][0].rect, boxes[b][0].rect
        if abs(first.center[0] - second.center[0]) > REACH_MM or abs(first.center[1] - second.center[1]) > REACH_MM:
            continue
        if _one_stroke(image, matrix, first, second, max(boxes[a][1], boxes[b][1])):
            shared |= {a, b}
    return [
        replace(score, scattered=max(score.scattered, score.fill)) if index in shared else score
        for index, score in enumerate(scores)
    ]


def _one_stroke(image: Gray, matrix: Matrix, first: Rect, second: Rect, stroke_mm: float) -> bool:
    """Whether one stroke of ink (printed outlines masked) reaches inside both places."""
    x0 = min(first.x, second.x) - MARGIN_MM
    y0 = min(first.y, second.y) - MARGIN_MM
    x1 = max(first.x + first.w, second.x + second.w) + MARGIN_MM
    y1 = max(first.y + first.h, second.y + second.h) + MARGIN_MM
    scale = STROKE_PX_PER_MM
    size = (round((x1 - x0) * scale), round((y1 - y0) * scale))
    to_mm = np.array([[1 / scale, 0, x0], [0, 1 / scale, y0], [0, 0, 1]])
    flags = cv2.INTER_AREA | cv2.WARP_INVERSE_MAP
    patch = cv2.warpPerspective(image, matrix @ to_mm, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    paper = float(np.percentile(patch, 90))
    darkest = float(patch.min())
    if paper - darkest < 1:
        return False
    ink = (paper - patch.astype(np.float32)) / (paper - darkest) >= INK_CONTRAST
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    x_mm, y_mm = (xs + 0.5) / scale + x0, (ys + 0.5) / scale + y0
    reach = stroke_mm / 2 + OUTLINE_MASK_MM
    for rect in (first, second):
        ink &= ~_outline(x_mm, y_mm, rect, reach)
    # A stroke crossing an outline is cut where the outline is masked: the gap bridged spans the mask too.
    gap = max(1, round((2 * reach + GAP_MM) * scale / 2))
    grouped = cv2.dilate(ink.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    _, labels = cv2.connectedComponents(grouped, connectivity=8)
    inside_first = set(np.unique(labels[ink & _inside(x_mm, y_mm, first, stroke_mm + INSET_MM)]).tolist()) - {0}
    inside_second = set(np.unique(labels[ink & _inside(x_mm, y_mm, second, stroke_mm + INSET_MM)]).tolist()) - {0}
    return bool(inside_first & inside_second)


def _inside(
    x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], rect: Rect, inset: float
) -> npt.NDArray[np.bool_]:
    return np.asarray(
        (x_mm > rect.x + inset)
        & (x_mm < rect.x + rect.w - inset)
        & (y_mm > rect.y + inset)
        & (y_mm < rect.y + rect.h - inset)
    )


def _outline(
    x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], rect: Rect, reach: float
) -> npt.NDArray[np.bool_]:
    """The band along a place's outline (its printed stroke, widened by ``reach`` each side)."""
    outer = _inside(x_mm, y_mm, rect, -reach)
    inner = _inside(x_mm, y_mm, rect, reach)
    return np.asarray(outer & ~inner)
