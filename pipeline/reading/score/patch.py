"""Patch: a box's neighbourhood sampled from the scan, and what is measured in it before ink is looked for.

Each box is resampled through the page transform into a small patch at a fixed resolution
(:data:`PATCH_PX_PER_MM`), so scores do not depend on the scan's dpi and the whole page is never warped.
In that patch:

- *darkness* is each pixel's distance from the local paper white, relative to how dark the printed box
  border is in the same patch (so uneven light, pencil and grey scanners are judged fairly);
- the *noise level* is how dark plain paper gets by noise alone (NOISE_SIGMAS deviations above its middle);
- the *softness* is which of the blurs of :data:`~.geometry.BLUR_MM` the printed lines look like;
- the *border response* says how well the printed border matches the scan at every shift within ±SEARCH_MM.
"""

from __future__ import annotations

from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.common.imaging import Floats, Gray, upper_median
from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.result import (
    MIN_CONTRAST,
    PAPER_ENLARGED_AT,
    PAPER_PX_PER_MM,
    PAPER_TO_PATCH,
    PATCH_PX_PER_MM,
)

NOISE_SIGMAS = 3.0  # ink must stand this many noise deviations above the plain paper of its patch
MAD_TO_SIGMA = 1.4826


def sample_patch(image: Gray, matrix: npt.NDArray[np.float64], geometry: Geometry) -> Floats:
    """Resample the box's neighbourhood from the scan into patch space."""
    return _sample(image, matrix, geometry.origin, geometry.size, PATCH_PX_PER_MM)


def _sample(
    image: Gray, matrix: npt.NDArray[np.float64], origin: tuple[float, float], size: int, px_per_mm: float
) -> Floats:
    """A ``size``² grid at ``px_per_mm`` whose top-left pixel centre is ``origin`` (mm), sampled from the scan."""
    scale = 1.0 / px_per_mm
    to_mm = np.array([[scale, 0.0, origin[0]], [0.0, scale, origin[1]], [0.0, 0.0, 1.0]], dtype=np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(image, matrix @ to_mm, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(warped, dtype=np.float32)


def paper_level(image: Gray, matrix: npt.NDArray[np.float64], geometry: Geometry) -> Floats:
    """The local paper white at every patch pixel: a grey closing over :data:`~.geometry.BACKGROUND_MM` (a window wider
    than a filled box, so a filled box is not taken for paper, while a shadow's edge or a light gradient
    across a phone photo is followed), computed on a coarser patch that reaches half a window beyond the
    box's patch so that no window is cut short by the patch's edge."""
    coarse = _sample(image, matrix, geometry.paper_origin, geometry.paper_size, PAPER_PX_PER_MM)
    # Blur first: the brightest pixel of raw noise would put "paper" above the real paper white. A closing
    # (not a plain maximum) removes every mark narrower than the window yet keeps the edge of a shadow.
    paper = cv2.morphologyEx(cv2.GaussianBlur(coarse, (5, 5), 1.0), cv2.MORPH_CLOSE, geometry.background_kernel)
    paper = cv2.blur(paper, (geometry.background_blur, geometry.background_blur))
    return enlarged(np.asarray(paper, dtype=np.float32), geometry)


def enlarged(paper: Floats, geometry: Geometry) -> Floats:
    """The paper level (at PAPER_PX_PER_MM from the paper patch's origin) at every pixel of the box's patch,
    interpolated linearly. By cv2.resize, ~4× cheaper than a general warp: its pixel j lies (j + ½) /
    PAPER_TO_PATCH − ½ coarse pixels past the crop's first, so patch pixel i, its pixel i + PAPER_TO_PATCH,
    lies PAPER_ENLARGED_AT + i / PAPER_TO_PATCH past it; the paper patch's reach puts the box's patch there."""
    ratio = PAPER_TO_PATCH
    start = round((geometry.origin[0] - geometry.paper_origin[0]) * PAPER_PX_PER_MM - PAPER_ENLARGED_AT)
    span = -(-geometry.size // ratio) + 2
    crop = paper[start : start + span, start : start + span]
    fine = cv2.resize(crop, (span * ratio, span * ratio), interpolation=cv2.INTER_LINEAR)
    return np.asarray(fine[ratio : ratio + geometry.size, ratio : ratio + geometry.size], dtype=np.float32)


def darkness_of(difference: Floats, geometry: Geometry) -> tuple[Floats, float]:
    """Darkness 0–1 relative to the paper around each pixel (``difference``: the paper level,
    :func:`paper_level`, less the scan) and to the printed border's black, and the contrast found.

    ``difference`` is already moved back by the border shift, so the template's masks apply."""
    border = geometry.border_pixels
    contrast = upper_median(np.take(difference, border)) if border.size else 0.0
    # A light blur averages sensor and JPEG noise away but keeps any pen stroke (≥ 0.3 mm = 2.4 px).
    darkness = cv2.GaussianBlur(np.clip(difference / max(contrast, MIN_CONTRAST), 0.0, 1.0), (5, 5), 1.0)
    return np.asarray(darkness, dtype=np.float32), contrast


def noise_level(darkness: Floats, geometry: Geometry) -> float:
    """How dark the plain paper of this patch gets by noise alone: NOISE_SIGMAS deviations above its middle.
    The ink level is INK_LEVEL or this, whichever is higher."""
    plain = np.take(darkness, geometry.plain_sample)
    centre = upper_median(plain)
    spread = upper_median(np.abs(plain - centre)) * MAD_TO_SIGMA
    return centre + NOISE_SIGMAS * spread


def softness(darkness: Floats, geometry: Geometry) -> int:
    """Which of BLUR_MM the scan's printed lines look like (index): the least misfit around them."""
    seen = np.take(darkness, geometry.halo_band)
    return int(np.argmin(np.abs(geometry.halos_in_band - seen).sum(axis=1)))


ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])


def shifted(array: ArrayT, shift: tuple[int, int]) -> ArrayT:
    """``array`` rolled by ``shift`` (dx, dy) with wrap-around, as np.roll does, in four block copies."""
    dx, dy = shift
    height, width = array.shape
    dx, dy = dx % width, dy % height
    if not dx and not dy:
        return array
    rolled: ArrayT = np.empty_like(array)
    rolled[dy:, dx:] = array[: height - dy, : width - dx]
    rolled[dy:, :dx] = array[: height - dy, width - dx :]
    rolled[:dy, dx:] = array[height - dy :, : width - dx]
    rolled[:dy, :dx] = array[height - dy :, width - dx :]
    return rolled


def border_response(patch: Floats, geometry: Geometry) -> Floats:
    """Normalised correlation of the printed outline with the scan, for every shift within ±SEARCH_MM."""
    # Ink is dark: the border's correlation with the scan's darkness is minus its correlation with the grey
    # levels (the normalised coefficient ignores the paper's level).
    response = cv2.matchTemplate(patch[geometry.search_window], geometry.outline, cv2.TM_CCOEFF_NORMED)
    return np.asarray(-response, dtype=np.float32)
