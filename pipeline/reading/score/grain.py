"""Grain: a straight stroke standing out of a photo's grain, where no pixel of it stands out alone.

On a grainy photo a light pencil stroke is no darker than the grain's own specks (the ink level rises with the
noise), so the hysteresis of :func:`~.ink.ink_regions` cannot find it. But grain is short and the stroke is long:
averaged along a straight piece of it, over :data:`STROKE_MM`, and compared with its own two sides, the stroke
stands out where the grain averages away. :func:`stroke_in_grain` measures how far the most stroke-like piece
inside a box stands above what the same filter finds on the paper of its patch, in deviations of that (how a
long stroke's own filter response would stand in noise, not how dark it is): a mark a person sees by looking
long at a grainy photo, doubted rather than counted.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.common.imaging import Floats
from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.patch import MAD_TO_SIGMA
from pipeline.reading.score.result import PATCH_PX_PER_MM

STROKE_MM = 3.5  # the straight piece a stroke is averaged along: a tick's legs are 3–8 mm, grain 0.2–1 mm
STROKE_SIGMA_MM = 0.2  # a pencil line's half width, blurred by the camera
FLANK_SIGMAS = 3.0  # its sides, compared with it, lie out to this many of its widths
DIRECTIONS = 12  # straight pieces every 15°
#: A stroke this many deviations out of the grain is doubted: the 95th percentile of rows left empty. Tuning seeds 7
#: and 61, phone photos (show-through, folded, erasure, marks-cut and steep, 40 pages each; plain phone and bad, 60):
#: of 231 rows read 弃权 with no ink on paper grainier than FAINT_LEVEL where the voter left the row empty, 10 reach it
#: (5.6 at most): 0.17 % of their 5965 clear rows asked. Light pencil ticks on such paper stand 3.3–33 out (111; the
#: three under 5 found as ink, or asked, by the other rules). A held-out tick read 弃权 at 6 stood 5.7 out (seed 1013,
#: folded phone photo), one at 7.4 (seed 1012) made this search.
STROKE_SIGMAS = 5.0


def _stroke_kernels() -> tuple[npt.NDArray[np.float32], ...]:
    """One filter a direction: a line's profile across it (its middle minus its sides: zero on even paper, on a
    light gradient, on an edge's flat side) averaged over STROKE_MM along it."""
    half = STROKE_MM * PATCH_PX_PER_MM / 2
    sigma = STROKE_SIGMA_MM * PATCH_PX_PER_MM
    reach = int(np.ceil(max(half, FLANK_SIGMAS * sigma * 2)))
    y, x = np.mgrid[-reach : reach + 1, -reach : reach + 1].astype(np.float64)
    kernels = []
    for step in range(DIRECTIONS):
        angle = np.pi * step / DIRECTIONS
        along = x * np.cos(angle) + y * np.sin(angle)
        across = -x * np.sin(angle) + y * np.cos(angle)
        middle = np.exp(-(across**2) / (2 * sigma**2))
        sides = np.exp(-(across**2) / (2 * (FLANK_SIGMAS * sigma) ** 2)) / FLANK_SIGMAS
        kernel = (middle - sides) * (np.abs(along) <= half)
        kernels.append((kernel / np.abs(kernel).sum()).astype(np.float32))
    return tuple(kernels)


KERNELS = _stroke_kernels()
CORE_KERNEL = np.ones((3, 3), np.uint8)  # the interior pulled in a pixel off the printed border's mask


def stroke_in_grain(darkness: Floats, geometry: Geometry) -> float:
    """How many deviations the most stroke-like straight piece inside the box stands above the paper of its
    patch (:func:`stroke_stand`: its response over the paper's deviation); 0 where nothing is measured."""
    response, spread = stroke_stand(darkness, geometry)
    return response / spread if spread > 0 else 0.0


def stroke_stand(darkness: Floats, geometry: Geometry) -> tuple[float, float]:
    """How the most stroke-like straight piece inside the box stands above the paper of its patch (the box's
    interior and the ring around it, printed ink aside), in darkness: each pixel's strongest response over
    DIRECTIONS straight filters, its maximum inside the box less the median of the responses on that paper; and
    those responses' deviation (median absolute, as a few marks around the box must not widen it): the grain's
    own, which a stroke must stand STROKE_SIGMAS above to be seen. Printed pixels are set to the paper's median
    first, so a printed line is no stroke. (0, 0) where the box shows no paper."""
    plain = (geometry.interior | geometry.ring) & ~geometry.printed_mask
    if not plain.any():
        return 0.0, 0.0
    paper = np.where(geometry.printed_mask, np.median(darkness[plain]), darkness).astype(np.float32)
    response = np.max([cv2.filter2D(paper, -1, kernel, borderType=cv2.BORDER_REFLECT) for kernel in KERNELS], axis=0)
    inside = cv2.erode((geometry.interior & ~geometry.printed_mask).astype(np.uint8), CORE_KERNEL) > 0
    if not inside.any():
        return 0.0, 0.0
    seen = response[plain]
    middle = float(np.median(seen))
    spread = float(np.median(np.abs(seen - middle))) * MAD_TO_SIGMA
    return float(response[inside].max()) - middle, spread
