"""Score: measure every checkbox of an aligned page. Numbers only; the classifier decides.

Public surface: :func:`score_page` (every box of a page, as :class:`BoxScore`), :func:`geometry_of` (every box's
masks, derived once per template), :func:`box_patch` (a box's patch as the scorer sees it), :data:`SCORER_VERSION`,
and the constants other rooms measure alike (PATCH_PX_PER_MM, RING_MM, RING_GAP_MM, INK_LEVEL, MIN_CONTRAST).

Parts, in the order a box passes them: :mod:`.geometry` (the box's masks, from the blank template) →
:mod:`.patch` (its neighbourhood sampled from the scan: paper level, darkness, noise, softness, border response) →
:mod:`.ink` (which pixels are new ink; the largest mark) → :mod:`.shapes` (a ring round the box, a ring along its
border, a line through it) → :mod:`.grain` (in a row with no ink on a grainy photo, a straight stroke standing out of
the grain) → :mod:`.row` (the driver: a page's rows, each box's scores); :mod:`.result` holds the scores, the version
and the constants the parts share.
"""

from pipeline.reading.score.geometry import geometry_of
from pipeline.reading.score.result import (
    INK_LEVEL,
    MIN_CONTRAST,
    PATCH_PX_PER_MM,
    RING_GAP_MM,
    RING_MM,
    SCORER_VERSION,
    BoxScore,
)
from pipeline.reading.score.row import box_patch, score_page

__all__ = [
    "INK_LEVEL",
    "MIN_CONTRAST",
    "PATCH_PX_PER_MM",
    "RING_GAP_MM",
    "RING_MM",
    "SCORER_VERSION",
    "BoxScore",
    "box_patch",
    "geometry_of",
    "score_page",
]
