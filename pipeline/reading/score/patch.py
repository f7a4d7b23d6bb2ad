"""Patch: a box's neighbourhood sampled from the scan, and what is measured in it before ink is looked for.

Each box is resampled through the page transform into a small patch at a fixed resolution
(:data:`PATCH_PX_PER_MM`), so scores do not depend on the scan's dpi and the whole page is never warped.
In that patch:

- *darkness* is each pixel's distance from the local paper white, relative to how dark the printed box
  border is in the same patch (so uneven light, pencil and grey scanners are judged fairly);
- the *noise level* is how dark plain paper gets by noise alone (NOISE_SIGMAS deviations above its middle);
- the *softness* is which of the blurs of :data:`~.geometry.BLUR_MM` the printed lines look like;
- the *border response* says how well the printed border matches the scan at every shift within ±SEARCH_MM;
- the *show-through* is the print on the sheet's back seen through the paper (:func:`show_through`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.common.imaging import Floats, Gray, percentile, upper_median
from pipeline.reading.score.geometry import SOFT_SIGMA_MM, Geometry, PaperWindow
from pipeline.reading.score.ink import HYSTERESIS
from pipeline.reading.score.result import (
    INK_LEVEL,
    MIN_CONTRAST,
    PAPER_ENLARGED_AT,
    PAPER_PX_PER_MM,
    PAPER_TO_PATCH,
    PATCH_PX_PER_MM,
)

NOISE_SIGMAS = 3.0  # ink must stand this many noise deviations above the plain paper of its patch
MAD_TO_SIGMA = 1.4826
PAPER_NOISE_MAX = 0.5  # half an ink's darkness: paper this dark is ink, whatever its noise
# The back's print seen through the paper: office paper is 88–95 % opaque, so the back's black shows at
# 3–14 % of the front's, and never past SHOW_THROUGH_MAX even on thin paper; the paper's fibres diffuse it
# over a millimetre or so, where ink on the front is as sharp as the scan (a pencil line as sharp as print).
SHOW_THROUGH_MAX = 0.2
SOFT_FLATNESS = 0.3  # its darkness stays within this share of its average over SOFT_SIGMA_MM (of paper) …
SHOW_THROUGH_AROUND = 0.05  # … and it covers this share of the ring around the box: it runs on past the box
BROAD_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))  # … in patches 0.6 mm across or more
BACK_SEEN = 0.1  # under a mark, the back is taken to be what it is around it where that is this near
# Told apart by softness only where the scan is sharper than the paper's diffusion: printed lines blurred by at
# most this σ (:data:`~.geometry.BLUR_MM`). On a softer scan a pen line is as soft as the back's print.
SHOW_THROUGH_SCAN_MM = 0.3
# Ink over the printed border keeps it dark; paper where the border's solid line should be, under this share of the
# line's black (its BORDER_BLACK quantile: tape may hide half of it), is something opaque laid over it (correction
# tape or fluid) or a border missing.
BORDER_HIDDEN, BORDER_BLACK = 0.4, 0.9


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


def paper_level(image: Gray, matrix: npt.NDArray[np.float64], geometry: Geometry, patch: Floats) -> Floats:
    """The local paper white at every pixel of the box's ``patch`` (:func:`sample_patch`): a grey closing over
    :data:`~.geometry.BACKGROUND_MM` (a window wider than a filled box, so a filled box is not taken for paper, while a
    shadow's edge or a light gradient across a phone photo is followed), computed on a coarser patch that reaches half
    a window beyond the box's patch so that no window is cut short by the patch's edge.

    A closing takes for paper any ink its window fits in: a box blackened in a hurry, its ink spilling past the border
    all round, can be wider than the window (tuning seed 37, erasure: two boxes filled in grey pencil, 8 mm of grey
    each way, scored empty; an overvote read 满意). Where the paper found in the box lies darker than the paper
    around it (beyond the ring) by as much as an ink region reaches (HYSTERESIS × INK_LEVEL of the printed border's
    contrast), it is looked for over :data:`~.geometry.BROAD_BACKGROUND_MM` too, and the brighter of the two is the
    paper. Elsewhere (nearly every box) nothing more is computed."""
    level = _paper(image, matrix, geometry, geometry.paper)
    if not geometry.frame_sample.size:
        return level
    around = np.take(level, geometry.frame_sample)
    inside = np.take(level, geometry.interior_pixels)
    # A median lies within its sample: where the brightest paper around the box is not that much brighter than the
    # darkest in it, neither are their medians (nearly every box; sorting both samples took 17 µs a box).
    if float(around.max()) - float(inside.min()) < HYSTERESIS * INK_LEVEL * MIN_CONTRAST:
        return level
    darker = upper_median(around) - upper_median(inside)
    if darker < HYSTERESIS * INK_LEVEL * MIN_CONTRAST:  # no contrast makes it darker enough
        return level
    contrast = max(upper_median(np.take(level - patch, geometry.border_pixels)), MIN_CONTRAST)
    if darker < HYSTERESIS * INK_LEVEL * contrast:
        return level
    return np.maximum(level, _paper(image, matrix, geometry, geometry.broad))


def _paper(image: Gray, matrix: npt.NDArray[np.float64], geometry: Geometry, window: PaperWindow) -> Floats:
    """The paper level over ``window``, on the box's patch."""
    coarse = _sample(image, matrix, window.origin, window.size, PAPER_PX_PER_MM)
    # Blur first: the brightest pixel of raw noise would put "paper" above the real paper white. A closing
    # (not a plain maximum) removes every mark narrower than the window yet keeps the edge of a shadow.
    paper = cv2.morphologyEx(cv2.GaussianBlur(coarse, (5, 5), 1.0), cv2.MORPH_CLOSE, window.kernel)
    paper = cv2.blur(paper, (geometry.background_blur, geometry.background_blur))
    return enlarged(np.asarray(paper, dtype=np.float32), geometry, window)


def enlarged(paper: Floats, geometry: Geometry, window: PaperWindow) -> Floats:
    """The paper level (at PAPER_PX_PER_MM from the paper patch's origin, ``window``'s) at every pixel of the box's
    patch, interpolated linearly. By cv2.resize, ~4× cheaper than a general warp: its pixel j lies (j + ½) /
    PAPER_TO_PATCH − ½ coarse pixels past the crop's first, so patch pixel i, its pixel i + PAPER_TO_PATCH,
    lies PAPER_ENLARGED_AT + i / PAPER_TO_PATCH past it; the paper patch's reach puts the box's patch there."""
    ratio = PAPER_TO_PATCH
    start = round((geometry.origin[0] - window.origin[0]) * PAPER_PX_PER_MM - PAPER_ENLARGED_AT)
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


def border_hidden(darkness: Floats, geometry: Geometry) -> float:
    """How much of two opposite sides of the printed border shows paper (``darkness`` moved back by the border's
    shift, before the printed ink's halo is taken away; paper: under BORDER_HIDDEN of the line's black): the larger
    over the two pairs of sides of the smaller share of a side's solid line hidden. A strip of correction tape laid
    across a box runs past it both ways and hides both sides it crosses; a side lost alone (rubbed off by an eraser
    in the row beside it, a crease) or a corner is no strip."""
    border = np.take(darkness, geometry.border_pixels)
    if not border.size:
        return 0.0
    black = percentile(border, 100.0 * BORDER_BLACK)
    hidden = border < BORDER_HIDDEN * black if black > 0 else np.ones(border.shape, dtype=bool)
    sides = geometry.border_side
    counts = np.bincount(sides, minlength=4)
    shares = np.bincount(sides, weights=hidden, minlength=4) / np.maximum(counts, 1)
    return float(max(min(shares[0], shares[2]), min(shares[1], shares[3])))


def noise_level(darkness: Floats, geometry: Geometry, plain: Floats | None = None) -> float:
    """How dark the plain paper of this patch gets by noise alone: NOISE_SIGMAS deviations above its middle.
    The ink level is INK_LEVEL or this, whichever is higher. No paper's noise reaches PAPER_NOISE_MAX: where the
    box and the ring around it are mostly ink (a box blackened past its border all round), the sample's middle is
    ink, and the paper's noise is measured on the paper beyond the ring (a light ink's fill is lighter than
    PAPER_NOISE_MAX itself: tuning seed 23, erasure phone photo, a fill of darkness 0.32 under a level of 0.38
    measured on what was lighter than that, dropped beside the row's other fill as the noise's tail). ``plain``: the
    darkness at :attr:`~.geometry.Geometry.plain_sample`, where it was taken already."""
    plain = np.take(darkness, geometry.plain_sample) if plain is None else plain
    level = _noise_of(plain)
    if level < PAPER_NOISE_MAX or not geometry.frame_sample.size:
        return level
    return min(level, _noise_of(np.take(darkness, geometry.frame_sample)))


def _noise_of(plain: Floats) -> float:
    centre = upper_median(plain)
    spread = upper_median(np.abs(plain - centre)) * MAD_TO_SIGMA
    return centre + NOISE_SIGMAS * spread


def show_through(darkness: Floats, level: float, geometry: Geometry) -> npt.NDArray[np.bool_] | None:
    """The pixels of the patch where the sheet's back shows through (or a stain, a shadow's soft edge), or None
    where it does not: faint (at most SHOW_THROUGH_MAX, at least the ink regions' floor, HYSTERESIS × ``level``)
    and soft (within SOFT_FLATNESS of its own average over SOFT_SIGMA_MM) in broad patches (BROAD_KERNEL fits
    in them), over at least SHOW_THROUGH_AROUND
    of the ring around the box, since the back's print does not stop at the front's box. A pen or pencil line
    is sharp, even a faint one: its middle stands well above its surroundings' average and its flanks well
    below, so neither is taken for the back's print; nor is ink within the blur of a firm mark."""
    faint = np.count_nonzero(np.take(darkness, geometry.ring_pixels) > level * HYSTERESIS)
    if not faint:  # most boxes
        return None
    # Of the ring as far as it is paper: a line across the page or a rule seen off its place, taken for print, hides
    # part of it.
    paper = geometry.ring & ~geometry.printed_mask
    # What is soft and broad is faint first: where too little of the ring is faint (a stroke leaving the box, the
    # grain's specks), too little of it is the back's.
    if faint < SHOW_THROUGH_AROUND * np.count_nonzero(paper):
        return None
    weak = darkness > level * HYSTERESIS
    flat = weak & soft_pixels(darkness, geometry)
    # Broad: a pen line's flanks meet their own average somewhere too, but in a thin band along the line.
    soft = cv2.morphologyEx((flat & ~geometry.printed_mask).astype(np.uint8), cv2.MORPH_OPEN, BROAD_KERNEL) > 0
    if np.count_nonzero(soft & geometry.ring) < SHOW_THROUGH_AROUND * np.count_nonzero(paper):
        return None
    return np.asarray(soft, dtype=bool)


def soft_pixels(darkness: Floats, geometry: Geometry) -> npt.NDArray[np.bool_]:
    """Where the patch's darkness is faint (at most SHOW_THROUGH_MAX) and soft: within SOFT_FLATNESS of its own
    average over SOFT_SIGMA_MM of paper (the printed lines are masked out of the darkness, so they are left out
    of the average). Grey diffused by the paper, a stain or a shadow's edge is; a pen or pencil line is not."""
    paper, weight = geometry.paper_weight  # the box's, computed once (half the time this took)
    average = cv2.GaussianBlur(darkness * paper, (0, 0), SOFT_SIGMA_MM * PATCH_PX_PER_MM) / weight
    soft = (darkness <= SHOW_THROUGH_MAX) & (np.abs(darkness - average) < SOFT_FLATNESS * darkness)
    return np.asarray(soft & ~geometry.printed_mask, dtype=bool)


def back_print(darkness: Floats, level: float, geometry: Geometry) -> Floats | None:
    """The darkness the sheet's back adds to each pixel of the patch (:func:`show_through`), or None where it
    shows no back: all of it where only the back is seen; under a mark, what the paper shows around it (the
    back's pixels and the clean paper's, averaged over SOFT_SIGMA_MM), so that taking it away
    leaves a mark across the back's words as it would be on clean paper: neither darker for the faint pixels
    taken, nor larger for them, nor fainter where it leaves the back's words."""
    soft = show_through(darkness, level, geometry)
    if soft is None:
        return None
    known = (soft | (darkness <= level * HYSTERESIS)) & ~geometry.printed_mask
    sigma = SOFT_SIGMA_MM * PATCH_PX_PER_MM
    weight = cv2.GaussianBlur(known.astype(np.float32), (0, 0), sigma)
    around = cv2.GaussianBlur(np.where(known, darkness, 0.0).astype(np.float32), (0, 0), sigma)
    under = np.minimum(around / np.maximum(weight, 1e-3), SHOW_THROUGH_MAX)
    back = np.where(soft, darkness, np.where(known | (weight < BACK_SEEN), 0.0, under))
    return np.asarray(back, dtype=np.float32)


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
