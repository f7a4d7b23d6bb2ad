"""Score: measure every checkbox of an aligned page. Numbers only; the classifier decides.

Each box is resampled through the page transform into a small patch at a fixed resolution
(:data:`PATCH_PX_PER_MM`), so scores do not depend on the scan's dpi and the whole page is never warped.
In that patch:

- *darkness* is each pixel's distance from the local paper white, relative to how dark the printed box
  border is in the same patch (so uneven light, pencil and grey scanners are judged fairly);
- the printed border is searched for within ±:data:`SEARCH_MM` for the row, then within ±:data:`LOCAL_MM`
  of the row's shift for each box (so a long tick across one box cannot pull it far), correcting small
  registration errors and the bend of a curled photo;
- the printed lines' own grey is taken away as the scan shows it: how soft the scan is (:data:`BLUR_MM`)
  is measured around the printed lines of the row and their blurred template subtracted, so the halo of
  a line on a soft photo is not ink;
- *new ink* is darkness above :data:`INK_LEVEL` (or the patch's noise) on pixels where the blank template
  prints nothing (rendered once per template and dilated, so borders, grid lines and labels never count);
  where a quiet scan shows nothing at that level, a long stroke down to :data:`FAINT_LEVEL` still counts
  (light pencil), so that a mark a clerk can see is never scored as an empty box.

Scores: ``fill`` (share of the box interior with new ink), ``outside`` (share of a 2 mm ring around the
box: Chinese ticks often leave the box, circles sit around it), ``centre`` (share of the central half of
the interior), ``darkness`` (median darkness of that ink: a firm pen or pencil stroke is dark, faint pencil
and erased residue are not), ``shift_mm`` and ``border_match`` (how well the printed border was found),
``encircled`` (the share of directions around the box's centre in which firm long strokes lie between
:data:`CIRCLE_INNER_MM` and the ring's outer edge, the printed lines' own pixels aside: a ring drawn around
the box covers nearly all of them, a tick or a stray stroke a few; measured only where the central half
of the box has no ink, as a ring leaves it empty), and ``scattered`` (the share of the interior covered
by ink apart from its largest mark: dust specks on a dirty scan are many small pieces, while a voter's
tick, cross, fill or dot is one — pieces the printed border cuts apart are joined across it —, so
``fill − scattered`` is the largest mark), ``edge`` (the share of a band :data:`EDGE_MM` wide along the
box's printed border, the line itself aside, with new ink: a ring drawn so tight that it runs along the
border leaves little ink anywhere else; the classifier compares it with the row's other boxes, since a
soft photo leaves some residue of the line there too), ``edge_around`` (the share of directions around the
box's centre in which that band holds a few pixels as dark as a pen or pencil line, :data:`ARC_DARKNESS`: a
tight ring runs all the way round, a tick's stroke or a stray line crosses the band in a few directions),
and ``ink_level`` (the darkness new ink must reach in this patch: :data:`INK_LEVEL`, or
:data:`NOISE_SIGMAS` deviations of its plain paper above their middle on a noisy scan; ink whose median
darkness stays under it is mostly the noise's own tail).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import BOX_LINE_WIDTH, Checkbox, Rect, RowPlace
from pipeline.common.imaging import Floats, Gray, median, upper_median
from pipeline.reading.align import Alignment
from pipeline.reading.model import BLANK_PX_PER_MM, BallotModel

#: Stored with every page read: raised whenever a score of some box could change for the same image.
SCORER_VERSION = 1
PATCH_PX_PER_MM = BLANK_PX_PER_MM  # ≈ 203 dpi: finer than any pen stroke we need to see, cheap to sample
SEARCH_MM = 1.0  # the border may be found this far from where the transform puts it
OUTLINE_PAD_MM = 0.5  # paper either side of the printed border in the template it is searched with
LOCAL_MM = 0.5  # each box's border may lie this far from its row's (a curled photo bends rows)
RING_MM = 2.0  # width of the "just around the box" ring
RING_GAP_MM = 0.4  # the ring starts this far outside the border (blur of the border itself)
INTERIOR_INSET_MM = BOX_LINE_WIDTH / 2 + 0.45  # interior starts this far inside the border's centre line
INK_LEVEL = 0.10  # floor of the ink level: 10 % of the way from paper white to the printed black
FAINT_LEVEL = 0.07  # on a quiet scan, a stroke this faint still counts where it is long …
FAINT_STROKE_MM = 3.0  # … at least this long (grain and JPEG noise are short) …
QUIET_SHARE = 0.5  # … where the paper's noise stays under this share of FAINT_LEVEL (office scans: ~0.02)
TEMPLATE_DILATE_MM = 0.5  # printed ink is masked this much wider than drawn (blur, residual misfit)
MIN_CONTRAST = 40.0  # grey levels between paper and border below which the border is "not visible"
BACKGROUND_MM = 7.0  # paper white is looked for this far around each pixel: wider than a filled box
BILEVEL_GREY_SHARE = 0.01  # a page with fewer grey pixels than this share is a fax or a 1-bit scan
BLUR_MM = (0.0, 0.15, 0.3, 0.45, 0.6, 0.8)  # how soft the scan may be: σ of the printed lines' blur
HALO_BAND_MM = 1.2  # the blur is measured on the scan this far around the printed lines
HALO_SAMPLE_STEP = 2  # every other pixel there is plenty to tell the blurs apart (~2400 of them)
# The paper level is smooth: it is estimated on a coarser, wider patch. Not coarser than this: at 2 px/mm
# (sampled directly, or at 4 and reduced by cv2.pyrDown) the closing's maximum over fewer samples put the
# paper lower on grainy photos, so grain beside empty boxes became "ink" (14 batches of 200 ballots: 5 faint
# pencil marks lost; reduced: bad scans 30 more rows flagged, grainy photos' empty rows asked about as "ink
# outside the box" instead of `noisy`), for 1–2 ms a page.
PAPER_PX_PER_MM = 4.0
PAPER_TO_PATCH = round(PATCH_PX_PER_MM / PAPER_PX_PER_MM)  # the paper level is enlarged this many times
PAPER_ENLARGED_AT = (PAPER_TO_PATCH + 1) / (2 * PAPER_TO_PATCH)  # see _enlarged
NOISE_SIGMAS = 3.0  # ink must stand this many noise deviations above the plain paper of its patch
MAD_TO_SIGMA = 1.4826
NOISE_SAMPLE_STEP = 3  # every third plain pixel is plenty to estimate the noise
MIN_BLOB_MM2 = 0.4  # a pen stroke 0.3 mm wide is this big after 1.3 mm; a dot mark is 0.8 mm² or more
HYSTERESIS = 0.6  # an ink region extends over pixels this share as dark as the ink level
MIN_STROKE_MM = 1.5  # an ink region this long counts even when only part of it reaches the ink level …
LINK_KERNEL = np.ones((5, 5), np.uint8)  # on a bilevel scan, fragments within ~0.5 mm form one region
MIN_STRONG_SHARE = 0.3  # … provided this share does where noise raised the ink level (JPEG noise clouds) …
GRAIN_STRONG_SHARE = 0.15  # … or this share on paper neither noisy nor quiet (a photo's blotchy grain)
SECTORS = 12  # directions around the box's centre in which ink is looked for, for ``encircled``
CIRCLE_INNER_MM = 2.0  # ink nearer the centre than this is a mark in the box, not a ring around it
MIN_SECTOR_PX = 3  # ink pixels that make a direction count (a few pixels of a thin stroke)
ARC_MM = 3.0  # only ink regions this long count for ``encircled``: a circle's arcs between border crossings
NEAR_LINE_MM = 0.125  # ``encircled`` sees ink from one patch pixel beside a printed line (a ring drawn tight) …
LINE_EDGE_EXTRA = 0.3  # … where it is this much darker than elsewhere (a line's edge misfit or halo is faint)
ARC_DARKNESS = 0.15  # a ring is drawn with a pen or pencil (arcs 0.18–0.21): fainter long strokes are no arcs
HIDDEN_SECTORS = 2  # directions a ring running along the printed line itself may hide in, between seen ones
UNEVEN_ARC_MM = 1.5  # on a quiet scan, once firm arcs lie in half the directions, shorter arcs of ink down
UNEVEN_ARC_DARKNESS = 0.1  # to FAINT_LEVEL and this dark on average complete it (light pencil, uneven pressure)
BORDER_BRIDGE_KERNEL = np.ones((13, 13), np.uint8)  # ink either side of the masked border (~1.4 mm) joins
LINE_BRIDGE_KERNEL = np.ones((7, 7), np.uint8)  # ink either side of a printed line (~5 px with its margin) joins
THROUGH_SHARE = 0.9  # on a bilevel scan, a line through this share of the interior is a streak (see _crossing)
LINE_CLOSE_KERNEL = np.ones((7, 1), np.uint8)  # a fax streak's dots up to 0.75 mm apart down a column join …
LINE_RUN_KERNEL = np.ones((6, 1), np.uint8)  # … and a line runs on for 0.75 mm (the gap to the row's grid line ~1.1)
EDGE_MM = 0.6  # ``edge`` looks this far either side of the border's solid core (beyond NEAR_LINE_MM of the line)


@dataclass(frozen=True)
class BoxScore:
    unit: str
    option: str
    position: int
    fill: float
    outside: float
    centre: float
    darkness: float
    crossing: float
    shift_mm: float
    border_match: float
    encircled: float = 0.0
    scattered: float = 0.0
    edge: float = 0.0
    ink_level: float = 0.0
    edge_around: float = 0.0


@dataclass(frozen=True)
class _Geometry:
    """Patch-space masks of one box, computed once per template."""

    origin: tuple[float, float]  # mm of the patch's top-left pixel centre
    size: int  # patch side in px
    printed: Floats  # blank-template darkness in the patch (0–1)
    printed_mask: npt.NDArray[np.bool_]  # dilated printed ink: never counted as new ink
    interior: npt.NDArray[np.bool_]
    centre: npt.NDArray[np.bool_]
    ring: npt.NDArray[np.bool_]
    outline: Floats  # the printed border alone with OUTLINE_PAD_MM of paper around it, for the border search
    search_window: tuple[slice, slice]  # the part of a patch the outline is searched in (±SEARCH_MM)
    border_pixels: npt.NDArray[np.intp]  # flat indices of where the border's ink is solid: its grey is "black"
    plain_sample: npt.NDArray[np.intp]  # flat indices of every NOISE_SAMPLE_STEP-th pixel of interior and ring
    box_px: tuple[int, int, int, int]  # the box's left, top, right, bottom edges in patch pixels
    paper_origin: tuple[float, float]  # mm of the paper patch's top-left pixel centre
    paper_size: int  # paper patch side in px at PAPER_PX_PER_MM
    background_kernel: npt.NDArray[np.uint8]
    background_blur: int
    halos: Floats  # per BLUR_MM: the printed ink as a scan that soft shows it, in darkness units
    halo_band: npt.NDArray[np.intp]  # flat indices of every HALO_SAMPLE_STEP-th pixel around the printed lines
    halos_in_band: Floats  # the halos there, laid out for one comparison with the scan
    sectors: npt.NDArray[np.int8]  # direction (0 … SECTORS − 1) of each annulus pixel around the centre; −1 elsewhere
    near_line: npt.NDArray[np.bool_]  # the printed ink and NEAR_LINE_MM around it: hidden from ``encircled``
    edge_band: npt.NDArray[np.intp]  # flat indices of EDGE_MM along the box's border, ``near_line`` aside
    edge_sectors: npt.NDArray[np.intp]  # direction (0 … SECTORS − 1) of each :attr:`edge_band` pixel

    @property
    def interior_count(self) -> int:
        return int(np.count_nonzero(self.interior))

    @property
    def ring_count(self) -> int:
        return int(np.count_nonzero(self.ring))

    @property
    def centre_count(self) -> int:
        return int(np.count_nonzero(self.centre))

    def edge_scores(self, darkness: Floats, level: float) -> tuple[float, float]:
        """Share of :attr:`edge_band` darker than ``level`` (``edge``), and share of the SECTORS directions
        around the box in which at least MIN_SECTOR_PX of it is as dark as a pen or pencil line (``edge_around``,
        darker than ``level`` and ARC_DARKNESS)."""
        if not self.edge_band.size:
            return 0.0, 0.0
        band = np.take(darkness, self.edge_band)
        edge = float(np.count_nonzero(band > level)) / band.size
        if not edge:
            return 0.0, 0.0
        drawn = np.bincount(self.edge_sectors[band > max(level, ARC_DARKNESS)], minlength=SECTORS)
        return edge, float(np.count_nonzero(drawn >= MIN_SECTOR_PX)) / SECTORS


Geometries = Mapping[tuple[str, str], _Geometry]


def geometry_of(model: BallotModel) -> Geometries:
    """Every box's patch masks, by (unit, option), cut from the model's blank once per template."""
    return model.derived(
        "score.geometry",
        lambda: {(box.unit, box.option): _box_geometry(model.blank, box.rect) for box in model.layout.boxes},
    )


def _patch_origin(rect: Rect) -> tuple[float, float]:
    margin = RING_GAP_MM + RING_MM + SEARCH_MM
    return (rect.x - margin, rect.y - margin)


def _box_geometry(blank: Gray, rect: Rect) -> _Geometry:
    margin = RING_GAP_MM + RING_MM + SEARCH_MM
    size = round((rect.w + 2 * margin) * PATCH_PX_PER_MM)
    ox, oy = _patch_origin(rect)
    # Rendered page pixel i covers [i, i+1) / px_per_mm; its centre is at (i + 0.5) / px_per_mm.
    left, top = round(ox * PATCH_PX_PER_MM), round(oy * PATCH_PX_PER_MM)
    printed = (255.0 - blank[top : top + size, left : left + size].astype(np.float32)) / 255.0
    origin = ((left + 0.5) / PATCH_PX_PER_MM, (top + 0.5) / PATCH_PX_PER_MM)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / PATCH_PX_PER_MM
    xs = coords[None, :] + (left / PATCH_PX_PER_MM)
    ys = coords[:, None] + (top / PATCH_PX_PER_MM)

    def inside(inset: float) -> npt.NDArray[np.bool_]:
        return np.asarray(
            (xs >= rect.x + inset)
            & (xs <= rect.x + rect.w - inset)
            & (ys >= rect.y + inset)
            & (ys <= rect.y + rect.h - inset)
        )

    radius = max(1, round(TEMPLATE_DILATE_MM * PATCH_PX_PER_MM))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    printed_mask = cv2.dilate((printed > 0.2).astype(np.uint8), kernel).astype(bool)
    interior = inside(INTERIOR_INSET_MM) & ~printed_mask
    quarter = (rect.w - 2 * INTERIOR_INSET_MM) / 4
    centre = inside(INTERIOR_INSET_MM + quarter) & ~printed_mask
    ring = inside(-(RING_GAP_MM + RING_MM)) & ~inside(-RING_GAP_MM) & ~printed_mask
    border_band = inside(-BOX_LINE_WIDTH) & ~inside(BOX_LINE_WIDTH)
    dx, dy = xs - (rect.x + rect.w / 2), ys - (rect.y + rect.h / 2)
    direction = np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * SECTORS).astype(np.int8) % SECTORS
    line_radius = max(1, round(NEAR_LINE_MM * PATCH_PX_PER_MM))
    line_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * line_radius + 1, 2 * line_radius + 1))
    near_line = cv2.dilate((printed > 0.2).astype(np.uint8), line_kernel).astype(bool)
    annulus = (np.hypot(dx, dy) >= CIRCLE_INNER_MM) & inside(-(RING_GAP_MM + RING_MM)) & ~near_line
    sectors = np.where(annulus, direction, -1).astype(np.int8)
    outline = np.where(border_band, printed, 0.0).astype(np.float32)
    edge_radius = round(EDGE_MM * PATCH_PX_PER_MM)
    edge_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge_radius + 1, 2 * edge_radius + 1))
    edge_band = np.flatnonzero(cv2.dilate((outline > 0.5).astype(np.uint8), edge_kernel).astype(bool) & ~near_line)
    edge_sectors = np.take(direction, edge_band).astype(np.intp)
    rows, columns = np.nonzero(border_band)
    pad, search = round(OUTLINE_PAD_MM * PATCH_PX_PER_MM), round(SEARCH_MM * PATCH_PX_PER_MM)
    top, bottom = int(rows.min()) - pad, int(rows.max()) + pad + 1
    left, right = int(columns.min()) - pad, int(columns.max()) + pad + 1
    # The paper patch reaches half a background window beyond the patch, so that the closing's window is
    # never cut short by the patch's edge (where it would take a shadow's gradient for ink).
    # Half a window and a little more, so that the patch's pixel centres fall where cv2.resize puts them when
    # the paper level is enlarged to the patch (see _enlarged).
    reach = BACKGROUND_MM / 2 + (1.0 + PAPER_ENLARGED_AT) / PAPER_PX_PER_MM
    paper_origin = (origin[0] - reach, origin[1] - reach)
    paper_size = round((size / PATCH_PX_PER_MM + 2 * reach) * PAPER_PX_PER_MM)
    background = round(BACKGROUND_MM * PAPER_PX_PER_MM) | 1
    halos, halo_band = _halos(printed, outline > 0.5, inside(-(RING_GAP_MM + RING_MM)))
    halo_pixels = np.flatnonzero(halo_band)[::HALO_SAMPLE_STEP]
    return _Geometry(
        origin,
        size,
        printed,
        printed_mask,
        interior,
        centre,
        ring,
        np.ascontiguousarray(outline[top:bottom, left:right]),
        (slice(top - search, bottom + search), slice(left - search, right + search)),
        np.flatnonzero(outline > 0.5),
        np.flatnonzero(interior | ring)[::NOISE_SAMPLE_STEP],
        (
            round((rect.x - xs[0, 0]) * PATCH_PX_PER_MM),
            round((rect.y - ys[0, 0]) * PATCH_PX_PER_MM),
            round((rect.x + rect.w - xs[0, 0]) * PATCH_PX_PER_MM),
            round((rect.y + rect.h - ys[0, 0]) * PATCH_PX_PER_MM),
        ),
        paper_origin,
        paper_size,
        np.asarray(cv2.getStructuringElement(cv2.MORPH_RECT, (background, background)), dtype=np.uint8),
        round(2.0 * PAPER_PX_PER_MM),
        halos,
        halo_pixels,
        np.ascontiguousarray(halos.reshape(len(BLUR_MM), -1)[:, halo_pixels]),
        sectors,
        near_line,
        edge_band,
        edge_sectors,
    )


def _halos(
    printed: Floats, border: npt.NDArray[np.bool_], scored: npt.NDArray[np.bool_]
) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """The printed ink blurred by each of BLUR_MM and scaled as :func:`_darkness` scales the scan (the
    border's solid pixels at 1), and the band around the printed lines where the scan is compared with
    them. A soft scan or photo spreads a printed line's grey well beyond the line: subtracting its expected
    halo keeps it from counting as ink beside every box."""
    halos = []
    for sigma in BLUR_MM:
        soft = cv2.GaussianBlur(printed, (0, 0), sigma * PATCH_PX_PER_MM) if sigma else printed
        level = median(np.asarray(soft[border], dtype=np.float32)) if border.any() else 1.0
        halos.append(soft / max(level, 1e-3))
    radius = round(HALO_BAND_MM * PATCH_PX_PER_MM)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    band = cv2.dilate((printed > 0.2).astype(np.uint8), kernel).astype(bool) & scored
    return np.asarray(np.stack(halos), dtype=np.float32), band


def _patch(image: Gray, matrix: npt.NDArray[np.float64], geometry: _Geometry) -> Floats:
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


def _paper_level(image: Gray, matrix: npt.NDArray[np.float64], geometry: _Geometry) -> Floats:
    """The local paper white at every patch pixel: a grey closing over :data:`BACKGROUND_MM` (a window wider
    than a filled box, so a filled box is not taken for paper, while a shadow's edge or a light gradient
    across a phone photo is followed), computed on a coarser patch that reaches half a window beyond the
    box's patch so that no window is cut short by the patch's edge."""
    coarse = _sample(image, matrix, geometry.paper_origin, geometry.paper_size, PAPER_PX_PER_MM)
    # Blur first: the brightest pixel of raw noise would put "paper" above the real paper white. A closing
    # (not a plain maximum) removes every mark narrower than the window yet keeps the edge of a shadow.
    paper = cv2.morphologyEx(cv2.GaussianBlur(coarse, (5, 5), 1.0), cv2.MORPH_CLOSE, geometry.background_kernel)
    paper = cv2.blur(paper, (geometry.background_blur, geometry.background_blur))
    return _enlarged(np.asarray(paper, dtype=np.float32), geometry)


def _enlarged(paper: Floats, geometry: _Geometry) -> Floats:
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


def _darkness(difference: Floats, geometry: _Geometry) -> tuple[Floats, float]:
    """Darkness 0–1 relative to the paper around each pixel (``difference``: the paper level,
    :func:`_paper_level`, less the scan) and to the printed border's black, and the contrast found.

    ``difference`` is already moved back by the border shift, so the template's masks apply."""
    border = geometry.border_pixels
    contrast = upper_median(np.take(difference, border)) if border.size else 0.0
    # A light blur averages sensor and JPEG noise away but keeps any pen stroke (≥ 0.3 mm = 2.4 px).
    darkness = cv2.GaussianBlur(np.clip(difference / max(contrast, MIN_CONTRAST), 0.0, 1.0), (5, 5), 1.0)
    return np.asarray(darkness, dtype=np.float32), contrast


def _noise_level(darkness: Floats, geometry: _Geometry) -> float:
    """How dark the plain paper of this patch gets by noise alone: NOISE_SIGMAS deviations above its middle.
    The ink level is INK_LEVEL or this, whichever is higher."""
    plain = np.take(darkness, geometry.plain_sample)
    centre = upper_median(plain)
    spread = upper_median(np.abs(plain - centre)) * MAD_TO_SIGMA
    return centre + NOISE_SIGMAS * spread


def _softness(darkness: Floats, geometry: _Geometry) -> int:
    """Which of BLUR_MM the scan's printed lines look like (index): the least misfit around them."""
    seen = np.take(darkness, geometry.halo_band)
    return int(np.argmin(np.abs(geometry.halos_in_band - seen).sum(axis=1)))


ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])


def _shifted(array: ArrayT, shift: tuple[int, int]) -> ArrayT:
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


def _border_response(patch: Floats, geometry: _Geometry) -> Floats:
    """Normalised correlation of the printed outline with the scan, for every shift within ±SEARCH_MM."""
    # Ink is dark: the border's correlation with the scan's darkness is minus its correlation with the grey
    # levels (the normalised coefficient ignores the paper's level).
    response = cv2.matchTemplate(patch[geometry.search_window], geometry.outline, cv2.TM_CCOEFF_NORMED)
    return np.asarray(-response, dtype=np.float32)


def score_row(
    image: Gray, matrix: npt.NDArray[np.float64], boxes: Geometries, row: RowPlace, *, dotted: bool = False
) -> list[BoxScore]:
    """Scores of every box of ``row``; each border is looked for near the row's median shift. ``dotted``:
    the scan is bilevel (see :func:`is_bilevel`)."""
    search = round(SEARCH_MM * PATCH_PX_PER_MM)
    patches, responses = [], []
    for box in row.boxes:
        geometry = boxes[(box.unit, box.option)]
        patch = _patch(image, matrix, geometry)
        response = _border_response(patch, geometry)
        patches.append((box, geometry, patch, _paper_level(image, matrix, geometry)))
        responses.append(response)
    peaks = [np.unravel_index(int(np.argmax(r)), r.shape) for r in responses]
    row_y = int(statistics.median(int(p[0]) for p in peaks))
    row_x = int(statistics.median(int(p[1]) for p in peaks))
    # Each box then finds its own border near the row's shift: a curled photo moves boxes of one row
    # apart by a fraction of a millimetre, yet no mark can pull a box further than LOCAL_MM from its row.
    local = round(LOCAL_MM * PATCH_PX_PER_MM)
    shifts, matches = [], []
    for response in responses:
        top, left = max(0, row_y - local), max(0, row_x - local)
        window = response[top : row_y + local + 1, left : row_x + local + 1]
        y, x = np.unravel_index(int(np.argmax(window)), window.shape)
        shifts.append((int(left + x) - search, int(top + y) - search))
        matches.append(float(window[y, x]))
    measured = []
    for (box, geometry, patch, paper), (dx, dy) in zip(patches, shifts, strict=True):
        # Move the scan's difference from its paper back by the shift found (wrapped edge pixels lie outside
        # every mask), so the template's masks, computed once, apply as they are.
        measured.append((box, geometry, *_darkness(_shifted(paper - patch, (-dx, -dy)), geometry)))
    # One softness per row, like the shift: a mark across one box's border cannot pull it.
    soft = int(statistics.median(_softness(darkness, geometry) for _, geometry, darkness, _ in measured))
    scores = []
    for position, ((box, geometry, darkness, contrast), shift, match) in enumerate(
        zip(measured, shifts, matches, strict=True)
    ):
        new = np.clip(darkness - geometry.halos[soft], 0.0, 1.0)
        scores.append(_score_box(box, position, geometry, (new, contrast), shift, match, dotted))
    return scores


def _score_box(
    box: Checkbox,
    position: int,
    geometry: _Geometry,
    measured: tuple[Floats, float],
    shift: tuple[int, int],
    match: float,
    dotted: bool,
) -> BoxScore:
    darkness, contrast = measured
    noise = _noise_level(darkness, geometry)
    level = max(INK_LEVEL, noise)
    quiet = noise <= FAINT_LEVEL * QUIET_SHARE
    strong_share = MIN_STRONG_SHARE if noise > INK_LEVEL else 0.0 if quiet else GRAIN_STRONG_SHARE
    regions, _ = _ink(darkness, level, geometry.printed_mask, strong_share, dotted=dotted)
    ink = regions > 0
    if not ink.any() and not dotted and quiet:
        # Nothing at the ink level on a quiet scan: a long stroke a little fainter (light pencil the scan
        # turned into a pale line) is still a mark a clerk would see, and stands well clear of the noise.
        regions, extents = _ink(darkness, FAINT_LEVEL, geometry.printed_mask, 0.0, dotted=False)
        long = extents >= FAINT_STROKE_MM * PATCH_PX_PER_MM
        long[0] = False  # label 0 is the paper
        regions = np.where(long[regions], regions, 0) if long.any() else np.zeros_like(regions)
        ink = regions > 0
    # A border fainter than MIN_CONTRAST is not trusted to have been found; a dim but well-found one is.
    visible = min(1.0, contrast / MIN_CONTRAST)
    edge, edge_around = geometry.edge_scores(darkness, level)
    empty = BoxScore(
        unit=box.unit,
        option=box.option,
        position=position,
        fill=0.0,
        outside=0.0,
        centre=0.0,
        darkness=0.0,
        crossing=0.0,
        shift_mm=round(float(np.hypot(*shift)) / PATCH_PX_PER_MM, 3),
        border_match=round(max(0.0, match) * visible, 4),
        edge=round(edge, 4),
        ink_level=round(level, 4),
        edge_around=round(edge_around, 4),
    )
    if not ink.any():  # most boxes of a ballot: nothing more to measure
        return empty

    def share(region: npt.NDArray[np.bool_], total: int) -> float:
        return float(np.count_nonzero(ink & region)) / total if total else 0.0

    inside = geometry.interior & ink
    inked = int(np.count_nonzero(inside))
    darkness_of_ink = upper_median(darkness[inside]) if inked else 0.0
    largest = _largest_mark(regions, inside, geometry.printed_mask)
    centre = share(geometry.centre, geometry.centre_count)
    # A ring leaves the box's middle empty: with ink there (a tick, a cross, a fill) it is not measured.
    encircled = 0.0 if centre else _encircled(darkness, level, geometry, strong_share, dotted=dotted, quiet=quiet)
    return replace(
        empty,
        fill=round(inked / geometry.interior_count, 4),
        scattered=round((inked - largest) / geometry.interior_count, 4),
        outside=round(share(geometry.ring, geometry.ring_count), 4),
        centre=round(centre, 4),
        darkness=round(darkness_of_ink, 4),
        crossing=round(
            _crossing(_line_ink(darkness, level, ink, geometry.printed_mask, dotted), geometry.box_px, dotted=dotted), 4
        ),
        encircled=round(encircled, 4),
    )


def _largest_mark(regions: npt.NDArray[np.int32], inside: npt.NDArray[np.bool_], printed: npt.NDArray[np.bool_]) -> int:
    """Pixels of the largest single mark inside the box: ink regions keep their labels, except that pieces
    the printed border cuts apart (a tick whose point touches it) are one mark, joined across the border."""
    labels = regions[inside]
    if not labels.size:
        return 0
    counts = np.bincount(labels)
    if np.count_nonzero(counts) == 1:  # one piece: most marks
        return int(counts.max())
    _, marks, _ = _joined_across(regions > 0, printed, BORDER_BRIDGE_KERNEL)
    return int(np.bincount(marks[inside]).max())


def _encircled(
    darkness: Floats, level: float, geometry: _Geometry, strong_share: float, *, dotted: bool, quiet: bool
) -> float:
    """Share of the directions around the box's centre in which firm long strokes lie in the annulus. A ring
    drawn round the box is a long pen stroke (the printed border may cut it into a few arcs); grain, specks,
    dots and erased residue around a box are short or faint, whatever directions they happen to lie in.

    Ink right beside the printed lines counts (a ring is often drawn tight along one side), but only where
    it stands out LINE_EDGE_EXTRA more than elsewhere. A ring that runs along the printed line itself is
    hidden there: once half the directions are seen, gaps of up to HIDDEN_SECTORS between seen ones count.
    A light pencil ring drawn with uneven pressure breaks into firm arcs and faint, shorter ones: on a quiet
    grey scan (``quiet``: no grain that faint), once the firm arcs lie in half the directions, arcs of ink
    down to FAINT_LEVEL, at least UNEVEN_ARC_MM long and UNEVEN_ARC_DARKNESS dark on average, count too."""
    seen = np.asarray(np.where(geometry.printed_mask, darkness - LINE_EDGE_EXTRA, darkness), dtype=np.float32)
    covered = _arc_directions(seen, darkness, level, strong_share, geometry, ARC_MM, ARC_DARKNESS, dotted=dotted)
    if np.count_nonzero(covered) >= SECTORS // 2:
        if quiet and not dotted:
            covered |= _arc_directions(
                seen, darkness, FAINT_LEVEL, 0.0, geometry, UNEVEN_ARC_MM, UNEVEN_ARC_DARKNESS, dotted=False
            )
        covered = _bridged(covered, HIDDEN_SECTORS)
    return float(np.count_nonzero(covered)) / SECTORS


def _arc_directions(
    seen: Floats,
    darkness: Floats,
    level: float,
    strong_share: float,
    geometry: _Geometry,
    length_mm: float,
    mean_darkness: float,
    *,
    dotted: bool,
) -> npt.NDArray[np.bool_]:
    """The directions around the box's centre (of SECTORS) in which strokes of ink at ``level``, at least
    ``length_mm`` long and ``mean_darkness`` dark on average, have MIN_SECTOR_PX pixels."""
    regions, _ = _ink(seen, level, geometry.near_line, strong_share, dotted=dotted)
    ink = regions > 0
    if not ink.any():
        return np.zeros(SECTORS, dtype=bool)
    # A ring crosses the printed border (often several times, when drawn tight): the line cuts it into arcs
    # that are one stroke, so ink is joined across the line before its strokes are measured.
    count, strokes, stats = _joined_across(ink, geometry.near_line, LINE_BRIDGE_KERNEL)
    chosen = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= length_mm * PATCH_PX_PER_MM
    chosen[0] = False
    if chosen.any():
        area = np.maximum(np.bincount(strokes[ink], minlength=count), 1)
        chosen &= np.bincount(strokes[ink], weights=darkness[ink], minlength=count) >= mean_darkness * area
    hits = np.bincount(geometry.sectors[chosen[strokes] & ink & (geometry.sectors >= 0)], minlength=SECTORS)
    return np.asarray(hits >= MIN_SECTOR_PX)


def _joined_across(
    ink: npt.NDArray[np.bool_], band: npt.NDArray[np.bool_], kernel: npt.NDArray[np.uint8]
) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Connected strokes of ``ink`` when pieces either side of ``band`` (printed ink that cuts a stroke in
    two) are one: the band's pixels within ``kernel`` of ink join them. Count, labels and statistics."""
    across = cv2.dilate(ink.astype(np.uint8), kernel).astype(bool) & band
    return _labelled(ink | across)


def _labelled(mask: npt.NDArray[np.bool_]) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """8-connected regions of ``mask``: count, labels, statistics. Block-based labelling (BBDT) gives the
    same regions, labels and statistics as the default algorithm, ~2.5× faster on a box-sized patch
    (measured 23 vs 58 µs), where most of the default's time is overhead."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask.astype(np.uint8), 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    return int(count), np.asarray(labels, dtype=np.int32), np.asarray(stats, dtype=np.int32)


def _bridged(covered: npt.NDArray[np.bool_], longest: int) -> npt.NDArray[np.bool_]:
    """``covered`` (around a circle) with every run of at most ``longest`` uncovered entries between covered
    ones filled in."""
    if covered.all() or not covered.any():
        return covered
    start = int(np.argmax(covered))
    rolled = np.roll(covered, -start)  # begins with a covered entry, so every run of gaps ends at one
    filled = rolled.copy()
    run = 0
    for index in range(1, rolled.size + 1):
        if index < rolled.size and not rolled[index]:
            run += 1
            continue
        if run <= longest:
            filled[index - run : index] = True
        run = 0
    result: npt.NDArray[np.bool_] = np.roll(filled, start)
    return result


def _ink(
    darkness: Floats, level: float, printed: npt.NDArray[np.bool_], strong_share: float, *, dotted: bool
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Ink pixels, by hysteresis: connected regions darker than HYSTERESIS × ``level`` that reach ``level``
    somewhere and cover at least MIN_BLOB_MM2. A faint pencil stroke stays one connected stroke instead of
    breaking into fragments; dust, toner specks and noise are dropped. Printed ink is cut out first, so a
    region cannot creep along the blurred edge of a printed line. A long region counts as a stroke where
    ``strong_share`` of it reaches ``level``: clouds of faint "ink" arise from noise and a photo's grain,
    while on a quiet scan a long faint region is a faint pencil stroke (share 0)."""
    weak = ((darkness > level * HYSTERESIS) & ~printed).astype(np.uint8)
    # On a bilevel (fax, 1-bit) scan, fragments a little apart belong together: a stroke the binarisation
    # broke into dots is one stroke. On a grey scan or photo the same linking would join grain into clouds.
    if not weak.any():  # most boxes of a ballot are empty
        return np.zeros(darkness.shape, dtype=np.int32), np.zeros(1, dtype=np.int32)
    linked = np.asarray(cv2.dilate(weak, LINK_KERNEL), dtype=bool) & ~printed if dotted else weak > 0
    count, labels, stats = _labelled(linked)
    if count <= 1:
        return np.zeros(darkness.shape, dtype=np.int32), np.zeros(1, dtype=np.int32)
    # A linked region (bilevel scans) counts only its own ink, not the gaps between its fragments.
    area = np.bincount(labels[weak > 0], minlength=count) if dotted else stats[:, cv2.CC_STAT_AREA]
    strong = np.bincount(labels[(darkness > level) & (weak > 0)], minlength=count)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # A speck is small and round even where its blurred halo is not; a stroke is long even where faint.
    stroke = (extent >= MIN_STROKE_MM * PATCH_PX_PER_MM) & (strong >= strong_share * area)
    blob = strong >= MIN_BLOB_MM2 * PATCH_PX_PER_MM**2
    keep = (area >= MIN_BLOB_MM2 * PATCH_PX_PER_MM**2) & (strong > 0) & (stroke | blob)
    keep[0] = False
    if not keep.any():  # noise and specks only
        return np.zeros(darkness.shape, dtype=np.int32), extent.astype(np.int32)
    return np.asarray(np.where(keep[labels] & (weak > 0), labels, 0), dtype=np.int32), extent.astype(np.int32)


def _line_ink(
    darkness: Floats, level: float, ink: npt.NDArray[np.bool_], printed: npt.NDArray[np.bool_], dotted: bool
) -> npt.NDArray[np.bool_]:
    """Where :func:`_crossing` looks for a line: the box's ink, and on a bilevel scan also the dots that lie
    in a column or a row. A streak on a fax is a column of dots: between the box and the grid lines of its
    row too little of it is left to be kept as ink, while inside the box the dots link into a stroke; judged
    from the kept ink alone it was a mark in the box (a vote), not a line through it."""
    own = ink & ~printed
    if not dotted:
        return own
    dots = ((darkness > level * HYSTERESIS) & ~printed).astype(np.uint8)
    if not dots.any():
        return own
    # Only dots in a column (or a row) make a line: closed along it (LINE_CLOSE_KERNEL), then kept where they
    # run on (LINE_RUN_KERNEL). The fax's pepper noise and the ragged edge of a tick do not.
    runs = [
        cv2.morphologyEx(cv2.morphologyEx(dots, cv2.MORPH_CLOSE, close), cv2.MORPH_OPEN, run)
        for close, run in ((LINE_CLOSE_KERNEL, LINE_RUN_KERNEL), (LINE_CLOSE_KERNEL.T, LINE_RUN_KERNEL.T))
    ]
    return np.asarray(own | ((np.maximum(runs[0], runs[1]) > 0) & ~printed), dtype=bool)


def _crossing(ink: npt.NDArray[np.bool_], box: tuple[int, int, int, int], *, dotted: bool = False) -> float:
    """How completely one straight vertical or horizontal line runs through the box and on beyond both
    sides (0–1): a scanner streak, a fold or a ruled line, not a voter's mark. A tick or a cross is
    diagonal and never scores high; a filled box has nothing beyond its sides. On a bilevel scan (``dotted``)
    a streak is a column of dots with gaps, and little of it fits between the box and its row's grid lines:
    there a line through the whole interior (THROUGH_SHARE of it) counts if any of it shows on both sides,
    as far as the patch reaches."""
    left, top, right, bottom = box
    inset = round(INTERIOR_INSET_MM * PATCH_PX_PER_MM)
    gap = round(RING_GAP_MM * PATCH_PX_PER_MM)
    reach = round((RING_GAP_MM + RING_MM) * PATCH_PX_PER_MM)
    # Allow the line a tilt of a few pixels over the box (the page transform corrects skew, not the streak).
    wide = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)

    def covered(band: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:  # share of each column with ink
        return np.asarray(np.count_nonzero(band, axis=0) / band.shape[0], dtype=np.float64)

    def through(grid: npt.NDArray[np.bool_], near: int, far: int, start: int, end: int) -> float:
        inside = covered(grid[near + inset : far - inset, start:end])
        if not inside.size:
            return 0.0
        beyond = np.minimum(
            covered(grid[near - reach : near - gap, start:end]), covered(grid[far + gap : far + reach, start:end])
        )
        if dotted:  # any of it in the column on both sides, up to the patch's edge (past the grid lines)
            seen = np.any(grid[: near - gap, start:end], axis=0) & np.any(grid[far + gap :, start:end], axis=0)
            beyond = np.where((inside >= THROUGH_SHARE) & seen, 1.0, beyond)
        return float(np.max(np.minimum(inside, beyond)))

    return max(
        through(wide, top, bottom, left + inset, right - inset),
        through(wide.T, left, right, top + inset, bottom - inset),
    )


def score_page(image: Gray, alignment: Alignment, model: BallotModel) -> list[BoxScore]:
    """Scores of every box of the page, each looked for where ``alignment`` puts it (its row's own offset
    from the page fit included: :attr:`Alignment.box_offsets_mm`)."""
    dotted = is_bilevel(image)
    placed = _placed(geometry_of(model), alignment.box_offsets_mm)
    return [
        score for row in model.layout.rows for score in score_row(image, alignment.matrix, placed, row, dotted=dotted)
    ]


def is_bilevel(image: Gray) -> bool:
    """A fax or 1-bit scan: (nearly) every pixel pure black or pure white."""
    sample = image[::7, ::7]
    return bool(np.count_nonzero((sample > 8) & (sample < 247)) < BILEVEL_GREY_SHARE * sample.size)


def _placed(geometry: Geometries, offsets: Mapping[tuple[str, str], tuple[float, float]]) -> Geometries:
    """``geometry`` for one page whose boxes in ``offsets`` ((unit, option) → (dx, dy) mm) lie that far from where
    the page transform puts them (a curled photo, see :mod:`pipeline.reading.refine`): their patches are sampled
    there, so their borders are looked for, and their ``shift_mm`` measured, around where they are."""
    if not offsets:
        return geometry
    return {key: _moved(box, offsets.get(key)) for key, box in geometry.items()}


def _moved(geometry: _Geometry, offset: tuple[float, float] | None) -> _Geometry:
    if offset is None:
        return geometry
    dx, dy = offset
    return replace(
        geometry,
        origin=(geometry.origin[0] + dx, geometry.origin[1] + dy),
        paper_origin=(geometry.paper_origin[0] + dx, geometry.paper_origin[1] + dy),
    )


def box_patch(image: Gray, alignment: Alignment, model: BallotModel, box: Checkbox) -> Gray:
    """The box's neighbourhood resampled at PATCH_PX_PER_MM, as the scorer sees it (for contact sheets)."""
    key = (box.unit, box.option)
    patch = _patch(image, alignment.matrix, _moved(geometry_of(model)[key], alignment.box_offsets_mm.get(key)))
    return np.asarray(np.clip(patch, 0, 255), dtype=np.uint8)
