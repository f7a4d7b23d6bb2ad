"""The scorer's patch (pipeline.reading.score.patch): the paper level, darkness, noise, softness and border search
on synthetic scans of one box's neighbourhood, drawn at the patch's own resolution."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.ballot.layout import BOX_SIZE
from pipeline.common.imaging import Gray
from pipeline.reading.model import BallotModel
from pipeline.reading.score.geometry import BLUR_MM, BROAD_BACKGROUND_MM, Geometry, geometry_of
from pipeline.reading.score.patch import (
    NOISE_SIGMAS,
    SHOW_THROUGH_MAX,
    back_print,
    border_response,
    darkness_of,
    enlarged,
    noise_level,
    paper_level,
    sample_patch,
    shifted,
    show_through,
    softness,
)
from pipeline.reading.score.result import MIN_CONTRAST, PAPER_PX_PER_MM, PATCH_PX_PER_MM, SEARCH_MM, SPILL_MM

#: Page mm → pixels of a scan drawn at PATCH_PX_PER_MM, pixel centres where the blank's are: the patch's
#: pixels are the scan's own, so what a test draws is what the patch holds.
AT_PATCH_RESOLUTION = np.array([[PATCH_PX_PER_MM, 0.0, -0.5], [0.0, PATCH_PX_PER_MM, -0.5], [0.0, 0.0, 1.0]])
PAPER = 230.0
MM = round(PATCH_PX_PER_MM)  # patch pixels in a millimetre


def page(model: BallotModel) -> tuple[np.ndarray, np.ndarray]:
    """Plain paper the blank's size, and each pixel's column (page pixels)."""
    height, width = model.blank.shape
    return np.full((height, width), PAPER, np.float32), np.arange(width, dtype=np.float32)[None, :]


def patch_corner(box: Geometry) -> tuple[int, int]:
    """The page pixel (column, row) that is the box's patch's first."""
    left, top = (round(value * PATCH_PX_PER_MM - 0.5) for value in box.origin)
    return left, top


def box_centre(box: Geometry) -> tuple[int, int]:
    """The box's centre in page pixels (column, row)."""
    left, top = patch_corner(box)
    return left + (box.box_px[0] + box.box_px[2]) // 2, top + (box.box_px[1] + box.box_px[3]) // 2


def scan(image: np.ndarray) -> Gray:
    return np.asarray(np.clip(np.round(image), 0, 255), dtype=np.uint8)


def test_the_paper_level_follows_a_light_gradient(model: BallotModel, box: Geometry) -> None:
    _, columns = page(model)
    centre, _ = box_centre(box)
    image = scan(190 + (columns - centre) / MM * 4)  # 4 grey levels a millimetre: 150–230 across the paper patch
    patch = sample_patch(image, AT_PATCH_RESOLUTION, box)
    level = paper_level(image, AT_PATCH_RESOLUTION, box, patch)
    assert float(np.abs(level - patch).max()) < 1.5


def test_the_paper_level_follows_a_shadows_edge(model: BallotModel, box: Geometry) -> None:
    """A shadow's edge through the box's middle: on both sides, from 1.5 mm off it, the paper is where it is."""
    image, columns = page(model)
    centre, _ = box_centre(box)
    image = scan(np.where(columns < centre, image, 140.0))
    patch = sample_patch(image, AT_PATCH_RESOLUTION, box)
    level = paper_level(image, AT_PATCH_RESOLUTION, box, patch)
    clear = np.abs(patch_corner(box)[0] + np.arange(box.size) - centre) >= 1.5 * MM
    error = np.abs(level - patch)[:, clear]
    assert float(error.max()) < 2.0


@pytest.mark.parametrize("spill", [0.0, 1.0, SPILL_MM])
def test_a_filled_box_is_not_taken_for_paper(model: BallotModel, box: Geometry, spill: float) -> None:
    """A box filled solid lies on paper: wider than any pen stroke, and as wide as a box blackened in a hurry, its ink
    spilling past the border all round as far as a hurried hand's does (SPILL_MM: 10 mm of ink each way, wider than
    BACKGROUND_MM; tuning seed 37, erasure: two boxes filled in grey pencil, 8 mm each way, scored empty, an overvote
    read 满意). Light or dark."""
    assert BROAD_BACKGROUND_MM > BOX_SIZE + 2 * SPILL_MM
    x, y = box_centre(box)
    half = round((BOX_SIZE / 2 + spill) * MM)
    for ink in (60.0, 190.0):
        image, _ = page(model)
        image[y - half : y + half, x - half : x + half] = ink
        pixels = scan(image)
        level = paper_level(pixels, AT_PATCH_RESOLUTION, box, sample_patch(pixels, AT_PATCH_RESOLUTION, box))
        assert float(level.min()) > PAPER - 3, (spill, ink)


def printed_scan(box: Geometry, black: float) -> np.ndarray:
    """The box's patch as a sharp scan shows the template: paper at PAPER, printed ink ``black`` darker."""
    return np.asarray(PAPER - black * box.printed, dtype=np.float32)


def test_darkness_is_nothing_on_paper_and_full_as_black_as_the_printed_border(box: Geometry) -> None:
    """Ink as black as the printed border is at 1, ink half as dark at ½, paper at 0."""
    patch = printed_scan(box, 200.0)
    left, top, right, bottom = box.box_px
    middle = (left + right) // 2
    patch[top + MM : bottom - MM, left + MM : middle] -= 200.0
    patch[top + MM : bottom - MM, middle : right - MM] -= 100.0
    darkness, contrast = darkness_of(PAPER - patch, box)
    assert contrast == pytest.approx(200.0, abs=1.0)
    assert float(darkness[top + 2 * MM : bottom - 2 * MM, left + 2 * MM : middle - 4].min()) > 0.98
    assert darkness[top + 2 * MM : bottom - 2 * MM, middle + 4 : right - 2 * MM] == pytest.approx(0.5, abs=0.01)
    assert float(np.median(np.take(darkness, box.border_pixels))) > 0.6  # a thin line, blurred with the paper beside
    assert float(darkness[box.ring].max()) < 0.01


def test_a_border_fainter_than_the_minimum_contrast_is_not_taken_for_black(box: Geometry) -> None:
    """A border only MIN_CONTRAST / 2 darker than the paper: its darkness is half, not full."""
    sharp, _ = darkness_of(PAPER - printed_scan(box, 200.0), box)
    faint, contrast = darkness_of(PAPER - printed_scan(box, MIN_CONTRAST / 2), box)
    assert contrast == pytest.approx(MIN_CONTRAST / 2, abs=0.5)
    ratio = np.take(faint, box.border_pixels).sum() / np.take(sharp, box.border_pixels).sum()
    assert ratio == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("sigma", [0.02, 0.05, 0.08])
def test_the_noise_level_on_gaussian_grain(box: Geometry, sigma: float) -> None:
    grain = np.random.default_rng(7).normal(0.0, sigma, (box.size, box.size)).astype(np.float32)
    assert noise_level(grain, box) == pytest.approx(NOISE_SIGMAS * sigma, rel=0.1)


def test_a_mark_does_not_raise_the_noise_level(box: Geometry) -> None:
    """A tick covers a few hundred of the plain pixels the noise is measured on: median and MAD do not see it."""
    quiet = np.random.default_rng(7).normal(0.0, 0.01, (box.size, box.size)).astype(np.float32)
    ticked = quiet.copy()
    left, top, right, bottom = box.box_px
    cv2.line(ticked, (left + 8, top + 26), (left + 20, bottom - 6), 0.8, 4)
    cv2.line(ticked, (left + 20, bottom - 6), (right + 10, top - 12), 0.8, 4)
    assert noise_level(ticked, box) < 0.05


def test_a_box_and_ring_mostly_ink_leave_the_noise_level_the_papers_beyond_them(box: Geometry) -> None:
    """A box blackened past its border all round with strokes of uneven darkness (0.2–1.0, a light ink pressed
    harder here and there) covers most of the box and ring the noise is measured on: their middle is ink, and the
    noise level came out above the ink (tuning seed 61); measured on what was lighter than half an ink's darkness, it
    was the fill's lighter strokes' (0.38 over a fill of 0.32, tuning seed 23). The paper beyond the ring is
    paper."""
    rng = np.random.default_rng(7)
    darkness = rng.normal(0.0, 0.01, (box.size, box.size)).astype(np.float32)
    left, top, right, bottom = box.box_px
    spill = round(2.2 * PATCH_PX_PER_MM)
    inked = darkness[top - spill : bottom + spill, left - spill : right + spill]
    inked[:] = rng.uniform(0.2, 1.0, inked.shape)
    assert noise_level(darkness, box) < 0.05


@pytest.mark.parametrize("index", range(len(BLUR_MM)))
def test_softness_is_the_blur_the_printed_lines_show(box: Geometry, index: int) -> None:
    sigma = BLUR_MM[index] * PATCH_PX_PER_MM
    soft = cv2.GaussianBlur(box.printed, (0, 0), sigma) if sigma else box.printed
    darkness = soft / np.median(np.take(soft, box.border_pixels))
    assert softness(np.asarray(darkness, dtype=np.float32), box) == index


@pytest.mark.parametrize("shift", [(3, -2), (-5, 0), (0, 6), (-8, -8)])
def test_the_border_response_peaks_where_the_printed_border_lies(box: Geometry, shift: tuple[int, int]) -> None:
    """The scan's border drawn ``shift`` (dx, dy) pixels off: the response's peak says so."""
    response = border_response(shifted(printed_scan(box, 200.0), shift), box)
    y, x = np.unravel_index(int(np.argmax(response)), response.shape)
    search = round(SEARCH_MM * PATCH_PX_PER_MM)
    assert (int(x) - search, int(y) - search) == shift
    assert float(response.max()) > 0.95


@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-7, 11), (101, 1)])
def test_shifted_is_a_roll(shift: tuple[int, int]) -> None:
    array = np.arange(40 * 30, dtype=np.float32).reshape(40, 30)
    assert np.array_equal(shifted(array, shift), np.roll(array, (shift[1], shift[0]), axis=(0, 1)))


def test_the_paper_level_is_enlarged_onto_the_patch_pixel_centres(model: BallotModel) -> None:
    """The coarse paper level is enlarged to the box's patch by a plain resize, which is right only where
    the paper patch's reach puts the patch's pixel centres: it must agree with the general warp that maps
    patch pixel i to coarse pixel (patch origin − paper origin) × PAPER_PX_PER_MM + i × PAPER / PATCH."""
    rng = np.random.default_rng(3)
    for geometry in geometry_of(model).values():
        side = geometry.paper.size
        paper = cv2.GaussianBlur(rng.uniform(150, 250, (side, side)).astype(np.float32), (0, 0), 2.0)
        offset = np.subtract(geometry.origin, geometry.paper.origin) * PAPER_PX_PER_MM
        step = PAPER_PX_PER_MM / PATCH_PX_PER_MM
        to_coarse = np.array([[step, 0.0, offset[0]], [0.0, step, offset[1]]])
        expected = cv2.warpAffine(
            paper, to_coarse, (geometry.size, geometry.size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        )
        error = np.abs(enlarged(paper, geometry, geometry.paper) - expected)
        assert float(error.max()) < 0.05  # of grey levels 150–250


def back_text(box: Geometry, darkness: float, *, rows: tuple[int, ...] = (0,)) -> np.ndarray:
    """The back's text seen through the paper, in darkness: lines of 2.5 mm glyphs across the whole patch
    (one per entry of ``rows``, mm below the box's middle), 3 mm words with gaps, diffused by the paper's
    fibres (σ 0.7 mm)."""
    back = np.zeros((box.size, box.size), np.float32)
    _, top, _, bottom = box.box_px
    for row in rows:
        middle = (top + bottom) // 2 + row * MM
        for left in range(0, box.size, 4 * MM):
            back[middle - MM : middle + MM + MM // 4, left : left + 3 * MM] = 1.0
    back = cv2.GaussianBlur(back, (0, 0), 0.7 * PATCH_PX_PER_MM)
    return np.asarray(back / back.max() * darkness, dtype=np.float32)


@pytest.mark.parametrize("darkness", [0.1, 0.14, 0.18])
def test_the_backs_print_seen_through_the_paper_is_taken_away(box: Geometry, darkness: float) -> None:
    """Found around and in the box, and taken away: nothing of it reaches the ink level (0.1) any more."""
    back = back_text(box, darkness)
    assert show_through(back, 0.1, box) is not None
    seen = back_print(back, 0.1, box)
    assert seen is not None
    left = np.clip(back - seen, 0.0, 1.0)[~box.printed_mask]
    assert float(left.max()) < 0.1


def test_a_faint_pencil_line_is_not_the_backs_print(box: Geometry) -> None:
    """As faint as the back's print and beside it, but as sharp as the scan: a pencil stroke 0.4 mm wide."""
    left, top, right, bottom = box.box_px
    back = back_text(box, 0.1)
    stroke = np.zeros_like(back)
    cv2.line(stroke, (left + 6, bottom - 6), (right - 6, top + 6), 0.14, 3)
    darkness = np.maximum(back, cv2.GaussianBlur(stroke, (0, 0), 1.0))
    soft = show_through(darkness, 0.1, box)
    assert soft is not None
    middle = cv2.GaussianBlur(stroke, (0, 0), 1.0) > 0.1
    # Only where it crosses the back's words, and no darker than them there, may a piece of it pass for them.
    assert np.count_nonzero(soft & middle) <= 0.1 * np.count_nonzero(middle)


def test_grey_only_inside_the_box_is_not_the_backs_print(box: Geometry) -> None:
    """The back's print runs on past the box: grey that stays inside it (light shading) is left to the ink."""
    left, top, right, bottom = box.box_px
    shading = np.zeros((box.size, box.size), np.float32)
    shading[top + 4 : bottom - 4, left + 4 : right - 4] = 0.15
    assert show_through(cv2.GaussianBlur(shading, (0, 0), 5.0), 0.1, box) is None


def test_grey_darker_than_any_paper_lets_through_is_not_the_backs_print(box: Geometry) -> None:
    darkness = back_text(box, 1.0) * (SHOW_THROUGH_MAX * 2)
    soft = show_through(darkness, 0.1, box)
    assert soft is None or not np.any(soft & (darkness > SHOW_THROUGH_MAX))
