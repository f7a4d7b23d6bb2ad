"""The scorer's driver (pipeline.reading.score.row): a page's boxes scored on the shipped template's blank as its
own scan (drawn at the patch's resolution, so the page transform is a plain scale), with marks, noise and shifts."""

from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from pipeline.ballot.layout import Checkbox
from pipeline.common.imaging import Gray
from pipeline.common.reasons import RowWhy
from pipeline.reading.align import Alignment
from pipeline.reading.classify import LINE_EXCESS, SOLID, SOLID_SHARE, classify_page
from pipeline.reading.lines import PageLine
from pipeline.reading.model import BallotModel
from pipeline.reading.score import INK_LEVEL, BoxScore, box_patch, geometry_of, score_page
from pipeline.reading.score.geometry import Geometry
from pipeline.reading.score.grain import STROKE_SIGMAS
from pipeline.reading.score.result import FAINT_STROKE_MM, PATCH_PX_PER_MM
from pipeline.reading.score.row import PROFILE_QUANTILE, _moved, _placed, _step_quantiles, is_bilevel, score_row
from pipeline.reading.settings import ReadingSettings

MM = round(PATCH_PX_PER_MM)  # page pixels in a millimetre
#: The blank as a scan: page mm → its pixels (pixel i's centre at (i + ½) / PATCH_PX_PER_MM mm).
AS_DRAWN = Alignment(
    matrix=np.array([[PATCH_PX_PER_MM, 0.0, -0.5], [0.0, PATCH_PX_PER_MM, -0.5], [0.0, 0.0, 1.0]]),
    rotation=0,
    residual_mm=0.0,
    px_per_mm=PATCH_PX_PER_MM,
    skew_deg=0.0,
    marks_found=4,
)
TICKED = ("局机关", "基本满意")


def scores_by_box(image: Gray, model: BallotModel, alignment: Alignment = AS_DRAWN) -> dict[tuple[str, str], BoxScore]:
    return {(score.unit, score.option): score for score in score_page(image, alignment, model)}


def checkbox(model: BallotModel, key: tuple[str, str]) -> Checkbox:
    return next(box for box in model.layout.boxes if (box.unit, box.option) == key)


def ticked(model: BallotModel, *, specks: bool = False) -> Gray:
    """The blank with a pen tick in :data:`TICKED` (and, if ``specks``, two dots of dust beside it in the box)."""
    page = model.blank.copy()
    rect = checkbox(model, TICKED).rect
    x, y = round(rect.x * MM), round(rect.y * MM)
    size = round(rect.w * MM)
    point = (x + size // 3, y + size - MM)
    cv2.line(page, (x + MM, y + size // 2), point, 40, 3)
    cv2.line(page, point, (x + size - MM, y + MM), 40, 3)
    if specks:
        for dx in (3 * MM // 2, 3 * MM):
            cv2.circle(page, (x + dx, y + 3 * MM // 2), round(0.45 * MM), 40, -1)
    return page


def test_the_blank_itself_scores_empty_with_its_borders_found(model: BallotModel) -> None:
    scores = score_page(model.blank, AS_DRAWN, model)
    assert len(scores) == len(model.layout.boxes)
    for score in scores:
        assert (score.fill, score.outside, score.scattered, score.crossing, score.encircled) == (0, 0, 0, 0, 0)
        assert score.shift_mm == 0.0
        assert score.border_match > 0.99
        assert score.ink_level == INK_LEVEL  # a clean page's noise is far under the floor


def test_a_tick_is_scored_in_its_box_alone(model: BallotModel) -> None:
    scores = scores_by_box(ticked(model), model)
    tick = scores[TICKED]
    assert 0.2 < tick.fill < 0.45  # two strokes 0.4 mm wide, 2 and 5 mm long, with their blurred edges
    assert tick.centre > 0
    assert tick.darkness > 0.4  # grey 40 on white, its blurred edges included
    assert tick.scattered == 0.0
    assert tick.crossing < 0.1
    assert tick.encircled == 0.0  # ink in the middle: no ring measured
    assert all(score.fill == 0 for key, score in scores.items() if key != TICKED)


def test_specks_beside_a_tick_are_scattered_ink(model: BallotModel) -> None:
    tick = scores_by_box(ticked(model), model)[TICKED]
    dusty = scores_by_box(ticked(model, specks=True), model)[TICKED]
    assert dusty.fill > tick.fill
    assert dusty.scattered > 0.02
    assert dusty.fill - dusty.scattered == pytest.approx(tick.fill, abs=0.002)  # the largest mark: the tick


def test_on_grainy_paper_the_ink_level_rises_above_the_floor(model: BallotModel) -> None:
    grain = np.random.default_rng(1).normal(0.0, 30.0, model.blank.shape)
    page = np.asarray(np.clip(model.blank * 0.8 + 20 + grain, 0, 255), dtype=np.uint8)
    scores = score_page(page, AS_DRAWN, model)
    assert all(0.12 < score.ink_level < 0.25 for score in scores)
    assert all(score.fill == 0 for score in scores)


def test_a_shift_within_the_search_is_found(model: BallotModel) -> None:
    shifted = np.roll(model.blank, MM // 2, axis=1)  # 0.5 mm to the right
    for score in score_page(shifted, AS_DRAWN, model):
        assert score.shift_mm == 0.5
        assert score.border_match > 0.99
        assert score.fill == 0


def test_boxes_are_looked_for_where_their_rows_offsets_put_them(model: BallotModel) -> None:
    """A page 1.5 mm off the transform (beyond the border search): its borders are found only where
    ``box_offsets_mm`` says they lie."""
    shifted = np.roll(model.blank, 3 * MM // 2, axis=1)
    lost = score_page(shifted, AS_DRAWN, model)
    assert max(score.border_match for score in lost) < 0.6
    offsets = {(box.unit, box.option): (1.5, 0.0) for box in model.layout.boxes}
    for score in score_page(shifted, replace(AS_DRAWN, box_offsets_mm=offsets), model):
        assert score.shift_mm == 0.0
        assert score.border_match > 0.99
        assert score.fill == 0


def test_moved_and_placed(model: BallotModel) -> None:
    geometry = geometry_of(model)
    assert _placed(geometry, {}) is geometry
    placed = _placed(geometry, {TICKED: (0.5, -1.0)})
    moved: Geometry = placed[TICKED]
    before = geometry[TICKED]
    assert moved.origin == pytest.approx((before.origin[0] + 0.5, before.origin[1] - 1.0))
    for window in ("paper", "broad"):
        was, now = getattr(before, window).origin, getattr(moved, window).origin
        assert now == pytest.approx((was[0] + 0.5, was[1] - 1.0))
    assert all(placed[key] is box for key, box in geometry.items() if key != TICKED)
    assert _moved(before, None) is before


def test_box_patch_is_the_scan_around_the_box(model: BallotModel) -> None:
    geometry = geometry_of(model)[TICKED]
    patch = box_patch(model.blank, AS_DRAWN, model, checkbox(model, TICKED))
    left, top = (round(value * PATCH_PX_PER_MM - 0.5) for value in geometry.origin)
    assert patch.dtype == np.uint8
    assert np.array_equal(patch, model.blank[top : top + geometry.size, left : left + geometry.size])


def test_a_fax_is_bilevel_and_a_grey_scan_is_not(model: BallotModel) -> None:
    assert not is_bilevel(model.blank)  # anti-aliased print: grey edges
    fax = np.where(model.blank < 128, 0, 255).astype(np.uint8)
    assert is_bilevel(fax)
    # The check samples every 7th pixel of every 7th row: grey in 0.5 % of them is a fax's, in 2 % a grey scan's.
    for step, bilevel in ((98, True), (49, False)):
        specks = fax.copy()
        specks[::step, ::step] = 128
        assert is_bilevel(specks) == bilevel, step
    # Every box's score says which it was scored as (the classifier judges a speck on a fax by it).
    assert all(score.bilevel for score in scores_by_box(fax, model).values())
    assert not any(score.bilevel for score in scores_by_box(model.blank, model).values())


def with_the_back_showing(page: Gray, darkness: float = 0.1, *, through: float = 0.0) -> Gray:
    """``page`` printed on paper thin enough for the back's text to show through: lines of 2 mm high, 4 mm long
    words every 7 mm across the whole sheet, diffused by the paper (σ 0.7 mm), ``darkness`` of the print's
    black at most; one line's middle ``through`` mm from the sheet's top."""
    back = np.zeros(page.shape, np.float32)
    for top in range(round((through - 1) * MM) % (7 * MM), page.shape[0] - 3 * MM, 7 * MM):
        for left in range(MM, page.shape[1] - 5 * MM, 6 * MM):
            back[top : top + 2 * MM, left : left + 4 * MM] = 1.0
    back = cv2.GaussianBlur(back, (0, 0), 0.7 * MM)
    back *= darkness * 255.0 / back.max()
    return np.asarray(np.clip(page.astype(np.float32) - back, 0, 255), dtype=np.uint8)


def slashed(model: BallotModel, grey: int) -> Gray:
    """The blank with a slash 0.4 mm wide across :data:`TICKED`, as dark as ``grey``."""
    page = model.blank.copy()
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    cv2.line(page, (x + MM, y + size - MM), (x + size - MM, y + MM), grey, 3)
    return page


def test_the_backs_print_seen_through_the_paper_is_no_ink(model: BallotModel) -> None:
    """Its soft grey passes the ink level in and beside many boxes; taken for the back's print, none of it is ink."""
    page = with_the_back_showing(model.blank, 0.14)
    scores = score_page(page, AS_DRAWN, model)
    assert all(score.ink_level == INK_LEVEL for score in scores[:5])  # no noise: the ink level at its floor
    assert all(score.fill == 0 for score in scores)
    assert all(score.outside == 0 for score in scores)


@pytest.mark.parametrize("grey", [40, 204])  # a firm pen; a light pencil, darkness 0.2
def test_a_mark_across_the_backs_words_scores_as_on_clean_paper(model: BallotModel, grey: int) -> None:
    """The back's words across the box join the slash's ink; what the back adds is taken away, under the slash
    too, so the mark is scored about as on clean paper: a light pencil's flanks inside the words may go with
    them, never the stroke."""
    rect = checkbox(model, TICKED).rect
    clean = scores_by_box(slashed(model, grey), model)[TICKED]
    back = with_the_back_showing(slashed(model, grey), 0.12, through=rect.y + rect.h / 2)
    through = scores_by_box(back, model)[TICKED]
    assert through.darkness == pytest.approx(clean.darkness, rel=0.3)
    assert 0.6 * clean.fill < through.fill < 1.2 * clean.fill


def stretched_row(page: Gray, model: BallotModel, key: tuple[str, str], scale: float) -> Gray:
    """``page`` with the band 4 mm either side of ``key``'s row drawn ``scale`` times as tall about the row's middle,
    as a fax's feed draws a band of rows when the paper slips or drags."""
    rect = checkbox(model, key).rect
    middle = (rect.y + rect.h / 2) * MM
    rows = np.arange(page.shape[0], dtype=np.float32)
    inside = np.abs(rows - middle) <= 4 * MM
    source = np.where(inside, middle + (rows - middle) / scale, rows)
    map_y = np.repeat(source[:, None], page.shape[1], axis=1).astype(np.float32)
    map_x = np.repeat(np.arange(page.shape[1], dtype=np.float32)[None, :], page.shape[0], axis=0)
    return np.asarray(cv2.remap(page, map_x, map_y, cv2.INTER_LINEAR), dtype=np.uint8)


@pytest.mark.parametrize("scale", [0.94, 1.06])
def test_a_row_drawn_taller_or_shorter_than_the_fit_is_scored_at_its_own_size(model: BallotModel, scale: float) -> None:
    """Its boxes' borders lie 0.15 mm off the template's top and bottom: sampled at the row's own scale, they are
    found where they are, as well as on a true page, and the empty boxes show no line along their borders in
    any direction (a border off the template shows in two thirds of them: ink along it, a ring drawn tight)."""
    page = stretched_row(ticked(model), model, TICKED, scale)
    true = scores_by_box(ticked(model), model)
    scores = scores_by_box(page, model)
    for key in (key for key in scores if key[0] == TICKED[0]):
        assert scores[key].border_match > true[key].border_match - 0.03, key
        assert scores[key].fill == pytest.approx(true[key].fill, abs=0.02), key
        if key != TICKED:
            assert (scores[key].outside, scores[key].encircled, scores[key].edge_around) == (0, 0, 0), key
            assert scores[key].edge < ReadingSettings().marks.edge, key


@pytest.mark.parametrize("soft", [False, True])
def test_a_pale_stroke_counts_as_a_pencil_line_not_as_soft_grey(model: BallotModel, soft: bool) -> None:
    """Under the ink level (0.1) on a quiet scan, a long stroke of darkness 0.09 counts as light pencil when it
    is as sharp as a line (0.3 mm), not when it is a band of soft grey (the back's rule seen through the paper,
    a stain's edge): σ 0.6 mm."""
    page = model.blank.astype(np.float32)
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    stroke = np.zeros_like(page)
    cv2.line(stroke, (x + MM, y + size - MM), (x + size - MM, y + MM), 1.0, 2)
    blurred = cv2.GaussianBlur(stroke, (0, 0), (0.6 if soft else 0.1) * MM)
    page -= blurred / blurred.max() * 0.09 * 255
    score = scores_by_box(np.asarray(np.clip(page, 0, 255), dtype=np.uint8), model)[TICKED]
    assert (score.fill > 0.05) is not soft, score


def test_a_fax_row_whose_sides_measure_short_by_noise_is_sampled_at_the_fits_size(model: BallotModel) -> None:
    """A standard fax (204 × 98 dpi, dithered, three scan lines repeated below; the accuracy benchmark's seed 1000)
    draws each border line four pixels tall, its darkest row a pixel up or down by chance: the row's boxes measure
    4 % short across their sides. Sampled at that size, the borders lay beside their masks all round and the
    middle box was read as circled (a silent 基本满意 on an empty row). Where the measured size matches the printed
    borders worse than the fit's, the fit's is kept: every box empty, no ring, borders found."""
    fixture = Path(__file__).parent / "fixtures" / "fax-standard-row.png"
    image = np.asarray(cv2.imread(str(fixture), cv2.IMREAD_GRAYSCALE), dtype=np.uint8)
    matrix = np.array(FAX_ROW_MATRIX)
    row = next(row for row in model.layout.rows if row.unit == "文化市场综合执法大队")
    scores = score_row(image, matrix, geometry_of(model), row, dotted=True)
    marks = ReadingSettings().marks
    for score in scores:
        assert (score.fill, score.outside, score.encircled) == (0, 0, 0), score
        assert score.edge < marks.edge, score
        assert score.border_match > 0.7, score


#: Page mm → pixels of ``fixtures/fax-standard-row.png`` (the fit of the page it was cut from, moved to the crop).
FAX_ROW_MATRIX = [
    [8.020253627551895, -0.12857255902244547, -588.7656327559387],
    [0.08103477603111503, 7.636774627748524, -1184.7991686176517],
    [2.5847184924143735e-05, -2.409230534456579e-05, 1.0],
]


def bayer(size: int) -> npt.NDArray[np.float64]:
    """An ordered-dither threshold matrix ``size`` × ``size`` (a power of two), its values 0 … size² − 1."""
    matrix = np.zeros((1, 1))
    while matrix.shape[0] < size:
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return matrix


def halftone_fax(page: Gray, paper: float, seed: int) -> Gray:
    """``page`` (drawn at the patch's resolution) as a standard fax in halftone (photo) mode sends it: 3.85 scan lines
    a millimetre, the paper greyish (white at ``paper``), the sensor's noise, then an 8 × 8 ordered dither between
    grey 80 and 205, so paper a little darker than its lightest cut comes out dotted all over."""
    lines = cv2.resize(page, (page.shape[1], round(page.shape[0] * STANDARD_LINES / MM)), interpolation=cv2.INTER_AREA)
    grey = lines.astype(np.float64) * paper / 255 + np.random.default_rng(seed).normal(0.0, 12.0, lines.shape)
    cut = 80 + (bayer(8) + 0.5) / 64 * (205 - 80)
    tiles = np.tile(cut, (lines.shape[0] // 8 + 1, lines.shape[1] // 8 + 1))[: lines.shape[0], : lines.shape[1]]
    return np.where(grey < tiles, 0, 255).astype(np.uint8)


STANDARD_LINES = 3.85  # a standard fax's scan lines a millimetre (8 pels a millimetre across, as the patch)
#: :data:`AS_DRAWN` for :func:`halftone_fax`'s pages.
AS_FAXED = replace(AS_DRAWN, matrix=np.array([[PATCH_PX_PER_MM, 0.0, -0.5], [0.0, STANDARD_LINES, -0.5], [0, 0, 1.0]]))


def ticked_rows(model: BallotModel, first_ink: int = 40) -> tuple[Gray, dict[str, str]]:
    """The blank with a pen tick in each three-option row (the first option in the first row, the second in the next,
    …; the first row's in ``first_ink``), and the option ticked in each of those rows."""
    page = model.blank.copy()
    rows = [row for row in model.layout.rows if len(row.boxes) == 3]
    for at, row in enumerate(rows):
        rect = row.boxes[at % 3].rect
        x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
        point = (x + size // 3, y + size - MM)
        ink = first_ink if at == 0 else 40
        cv2.line(page, (x + MM, y + size // 2), point, ink, 3)
        cv2.line(page, point, (x + size - MM, y + MM), ink, 3)
    return page, {row.unit: row.boxes[at % 3].option for at, row in enumerate(rows)}


@pytest.mark.parametrize("seed", [2, 3])
def test_a_halftone_faxs_dots_beside_a_tick_are_the_papers_specks_not_a_second_mark(
    model: BallotModel, seed: int
) -> None:
    """A fax in halftone mode dots greyish paper all over (tuning seed 131, standard faxes: on such a page 9 of 11
    rows asked, the dots in the boxes beside each tick linked into "strokes"; stop 39's reader asks 6–9 of these 10
    rows). Most of the paper stays white, so its median and deviation see no noise: the page's specks set its ink
    level instead. Every ticked row is read, the one ticked in a light ink the dither broke into dots too."""
    page, ticked = ticked_rows(model, first_ink=150)  # the first row's tick in a light ink: dotted, not solid
    fax = halftone_fax(page, 214.0, seed)
    assert is_bilevel(fax)
    scores = score_page(fax, AS_FAXED, model)
    readings = {reading.unit: reading for reading in classify_page(scores, ReadingSettings())}
    for unit, option in ticked.items():
        assert (readings[unit].reading, readings[unit].choice) == ("choice", option), unit
    assert min(score.ink_level for score in scores) > INK_LEVEL  # the specks raised the level on every box
    # The same page on white paper: no specks, the level where it was.
    clean = score_page(halftone_fax(page, 250.0, seed), AS_FAXED, model)
    assert max(score.ink_level for score in clean) == INK_LEVEL


def standard_fax(page: Gray, threshold: float, seed: int) -> Gray:
    """``page`` (drawn at the patch's resolution) as a standard fax thresholds it: 3.85 scan lines a millimetre, the
    sensor's noise, black under ``threshold``."""
    lines = cv2.resize(page, (page.shape[1], round(page.shape[0] * STANDARD_LINES / MM)), interpolation=cv2.INTER_AREA)
    grey = lines.astype(np.float64) + np.random.default_rng(seed).normal(0.0, 12.0, lines.shape)
    return np.where(grey < threshold, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_thin_stroke_a_faxs_threshold_kept_is_one_firm_piece_a_light_ones_dots_are_not(
    model: BallotModel, seed: int
) -> None:
    """A standard fax draws a fine pen's tick (0.25 mm) a scan line or two thin: after the scorer's blur it is no
    darker than a line broken into dots (under SOLID), but its ink is one piece as dark as a firm stroke
    (``core_share``); an ink a little lighter than the threshold comes through as dots, many small pieces. Empty rows
    on a sheet ticked in the first are 弃权; on a sheet ticked in the second the threshold may have wiped a mark out of
    them: asked."""
    rows = [row for row in model.layout.rows if len(row.boxes) == 3]

    def sheet(ink: int) -> list[BoxScore]:
        page = model.blank.copy()
        for at, row in enumerate(rows[:-2]):  # the last two rows left empty
            rect = row.boxes[at % 3].rect
            x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
            point = (x + size // 3, y + size - MM)
            cv2.line(page, (x + MM, y + size // 2), point, ink, 2)
            cv2.line(page, point, (x + size - MM, y + MM), ink, 2)
        return score_page(standard_fax(page, 140.0, seed), AS_FAXED, model)

    solid, dotted = sheet(110), sheet(150)
    ticks = {(row.unit, row.boxes[at % 3].option) for at, row in enumerate(rows[:-2])}
    for score in solid:
        if (score.unit, score.option) in ticks:
            assert score.darkness < SOLID and score.core_share >= SOLID_SHARE, score
    assert statistics.median(s.core_share for s in dotted if (s.unit, s.option) in ticks and s.fill) < SOLID_SHARE
    for scores, reason in ((solid, None), (dotted, RowWhy.DROPPED)):
        readings = {reading.unit: reading for reading in classify_page(scores, ReadingSettings())}
        assert [readings[row.unit].reason for row in rows[-2:]] == [reason, reason]


def taped(page: Gray, model: BallotModel, key: tuple[str, str], *, width_mm: float, length_mm: float) -> Gray:
    """``page`` with a strip of white correction tape laid across the box ``key`` (along the row, centred on it),
    showing 5 % of what lies under it, its long edges casting a faint shadow."""
    rect = checkbox(model, key).rect
    cx, cy = (rect.x + rect.w / 2) * MM, (rect.y + rect.h / 2) * MM
    x0, x1 = round(cx - length_mm * MM / 2), round(cx + length_mm * MM / 2)
    y0, y1 = round(cy - width_mm * MM / 2), round(cy + width_mm * MM / 2)
    out = page.astype(np.float32)
    out[y0:y1, x0:x1] = 252 - (255 - out[y0:y1, x0:x1]) * 0.05
    out[[y0, y1 - 1], x0:x1] -= 25
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)


def test_correction_tape_across_a_box_hides_both_sides_it_crosses(model: BallotModel) -> None:
    """Correction tape is opaque: where a strip of it lies across a box, both sides it crosses are gone, where a
    voter's ink over a border keeps it dark. A side lost alone (the row below's eraser rubbing it off) is no strip."""
    tick = scores_by_box(ticked(model), model)[TICKED]
    assert tick.border_hidden == 0.0
    under = scores_by_box(taped(ticked(model), model, TICKED, width_mm=4.5, length_mm=11.0), model)[TICKED]
    assert under.border_hidden > 0.6  # the strip covers the middle 4.5 mm of both 6 mm sides
    assert under.border_hidden >= ReadingSettings().marks.taped
    # On a bilevel scan (a fax) as on a grey one (tuning seeds 7 and 67, erasure on a fine fax: strokes beside tape
    # read as votes), but the binarisation alone loses up to 0.4 of two opposite sides of a box (a standard fax):
    # that much tells nothing of tape.
    page = taped(ticked(model), model, TICKED, width_mm=4.5, length_mm=11.0)
    fax = scores_by_box(np.where(page > 160, 255, 0).astype(np.uint8), model)
    assert fax[TICKED].border_hidden >= ReadingSettings().marks.taped
    assert all(score.border_hidden < ReadingSettings().marks.taped / 2 for key, score in fax.items() if key != TICKED)
    lossy = np.where(page > 160, 255, 0).astype(np.uint8)
    for box in model.layout.boxes:  # the middle third of each box's left and right sides lost (0.33 of two sides)
        x0, x1 = round(box.rect.x * MM), round((box.rect.x + box.rect.w) * MM)
        y0, y1 = round((box.rect.y + box.rect.h / 3) * MM), round((box.rect.y + 2 * box.rect.h / 3) * MM)
        lossy[y0:y1, x0 - 2 : x0 + 3] = 255
        lossy[y0:y1, x1 - 2 : x1 + 3] = 255
    lost = scores_by_box(lossy, model)
    assert all(score.border_hidden == 0.0 for key, score in lost.items() if key != TICKED)
    assert lost[TICKED].border_hidden >= ReadingSettings().marks.taped  # the tape's strip still shows
    rect = checkbox(model, TICKED).rect
    rubbed = ticked(model)
    bottom = round((rect.y + rect.h) * MM)
    rubbed[bottom - MM // 2 : bottom + MM // 2, round(rect.x * MM) - MM : round((rect.x + rect.w) * MM) + MM] = 255
    # the sides' last half millimetre goes with it, a tenth of them: far from a strip's share
    assert scores_by_box(rubbed, model)[TICKED].border_hidden < ReadingSettings().marks.taped / 2


def test_a_pale_stroke_on_grainy_paper_is_too_faint_to_count_but_noted(model: BallotModel) -> None:
    """Tuning seed 7 (show-through, office): a light pencil tick as pale as 0.09 on paper whose noise stays under
    the faint level but not well under it was neither ink nor anything else, and its row read 弃权. It is not counted
    (grain at that level makes long pieces too), but its length is kept (``faint_stroke``): 弃权 claims no ink at
    all. The grain alone leaves none in any empty box; on quiet paper the same stroke is ink."""
    page = model.blank.astype(np.float32) * 0.9 + 20
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    stroke = np.zeros_like(page)
    cv2.line(stroke, (x + MM, y + size - MM), (x + size - MM, y + MM), 1.0, 2)
    page -= cv2.GaussianBlur(stroke, (0, 0), 0.1 * MM) / 0.6 * 0.09 * 255 * 0.6
    grainy = page + np.random.default_rng(3).normal(0.0, 12.0, page.shape)
    scores = scores_by_box(np.asarray(np.clip(grainy, 0, 255), dtype=np.uint8), model)
    assert scores[TICKED].fill == 0.0
    assert scores[TICKED].faint_stroke >= FAINT_STROKE_MM
    assert all(score.faint_stroke == 0 and score.fill == 0 for key, score in scores.items() if key != TICKED)
    quiet = scores_by_box(np.asarray(np.clip(page, 0, 255), dtype=np.uint8), model)[TICKED]
    assert quiet.fill > 0.05 and quiet.faint_stroke == 0.0


def dim_photo(model: BallotModel, seed: int, pale: float) -> Gray:
    """The blank as a dim, grainy phone photo (paper 140, print 60, grain σ 8 grey, JPEG quality 48) with a
    light pencil tick in :data:`TICKED` as dark as ``pale`` of the print at its middle (none with 0)."""
    page = model.blank.astype(np.float32) * (80 / 255) + 60
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    stroke = np.zeros_like(page)
    turn = (x + size // 3, y + size - MM)
    cv2.line(stroke, (x + MM, y + size // 2), turn, 1.0, 2)
    cv2.line(stroke, turn, (x + size - MM, y + MM), 1.0, 2)
    page -= cv2.GaussianBlur(stroke, (0, 0), 1.5) * pale * 80  # a thin line, smeared by the hand's shake
    page = cv2.GaussianBlur(page, (0, 0), 1.0) + np.random.default_rng(seed).normal(0.0, 8.0, page.shape)
    _, jpeg = cv2.imencode(".jpg", np.clip(page, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 48])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


def test_a_light_tick_hidden_in_a_photos_grain_is_doubted_and_the_grain_alone_seldom(model: BallotModel) -> None:
    """Held-out seed 1012 (show-through phone photo): a light pencil tick on paper whose grain raised the ink level
    over it, no pixel of it darker than the grain's specks, read 弃权. Averaged along its straight pieces it stands
    out of the grain (``faint_stroke``): the row is asked, not read 弃权. On eight such photos, ticked a tenth of the
    print's darkness, the reader without it read four rows 弃权 (it sees the others as ink or as doubtful paper);
    with it, none. The grain alone stands as far out in about one empty row in twenty (the threshold is the 95th
    percentile of empty rows on grainy photos): of the 168 empty rows of these photos and eight unmarked ones, at
    most 5 % are doubted (4 are)."""
    settings = ReadingSettings()
    empty_rows = doubted = 0
    for seed in range(8):
        ticked = score_page(dim_photo(model, seed, 0.1), AS_DRAWN, model)
        assert min(score.ink_level for score in ticked) > INK_LEVEL  # grainier than the quiet-paper search goes
        readings = {reading.unit: reading for reading in classify_page(ticked, settings)}
        assert readings[TICKED[0]].reading != "blank"
        unmarked = score_page(dim_photo(model, seed, 0.0), AS_DRAWN, model)
        for scores in (ticked, unmarked):
            units = {score.unit for score in scores} - ({TICKED[0]} if scores is ticked else set())
            empty_rows += len(units)
            doubted += sum(any(score.faint_stroke > 0 for score in scores if score.unit == unit) for unit in units)
    assert empty_rows == 168
    assert doubted <= 0.05 * empty_rows


def test_a_light_tick_over_the_boxs_border_is_doubted_not_read_blank(model: BallotModel) -> None:
    """Tuning seed 23 (office scans): a light pencil tick whose turn lies on the box's bottom border, its short leg
    partly inside and its long leg out through the right border. The printed line cut it into pieces each too small
    to be ink, its leg outside too little to be asked as ink beside the box: the row read 弃权. Joined across the
    printed lines the pieces are one stroke (``faint_stroke``): the row is asked. The blank, moved a pixel or two and
    softened, leaves no such stroke in any box."""
    page = model.blank.copy()
    rect = checkbox(model, TICKED).rect
    bottom, left = round((rect.y + rect.h) * MM), round(rect.x * MM)
    turn = (left + round(3.5 * MM), bottom)
    cv2.line(page, (turn[0] - round(1.2 * MM), bottom - round(1.2 * MM)), turn, 215, 2)
    cv2.line(page, turn, (round((rect.x + rect.w + 1.5) * MM), bottom - 2 * MM), 215, 2)
    scores = score_page(page, AS_DRAWN, model)
    tick = next(score for score in scores if (score.unit, score.option) == TICKED)
    assert tick.fill == 0.0 and tick.faint_stroke >= FAINT_STROKE_MM
    row = next(reading for reading in classify_page(scores, ReadingSettings()) if reading.unit == TICKED[0])
    assert (row.reading, row.reason) == ("pending", RowWhy.FAINT)
    for dx, dy in ((1, 0), (0, 1), (2, 2), (-1, 1)):
        moved = np.roll(np.roll(model.blank, dy, axis=0), dx, axis=1)
        for blank in (moved, np.asarray(cv2.GaussianBlur(moved, (0, 0), 1.2), dtype=np.uint8)):
            assert all(score.faint_stroke == 0 for score in score_page(blank, AS_DRAWN, model))


@pytest.mark.parametrize("under", [10, 14])
def test_a_pencil_tick_a_scanner_app_lifted_near_white_is_doubted_not_read_blank(
    model: BallotModel, under: int
) -> None:
    """A scanner app's "enhance" filter whitens the paper flat and lifts a light pencil tick to 10–15 grey levels
    under white (simulated scanner-app photos, tuning seed 131: one at 14 read 弃权): paler than FAINT_LEVEL (18
    levels), yet on paper with no noise at all a line a careful person sees. Its row is asked (``faint_stroke``), not
    read 弃权; one lifted to 4 levels under white is gone for the eye too, and the blank, moved a pixel or two and
    softened, leaves no such stroke in any box."""

    def pencil(grey: int) -> Gray:
        page = model.blank.copy()
        rect = checkbox(model, TICKED).rect
        x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
        point = (x + size // 3, y + size - MM)
        cv2.line(page, (x + MM, y + size // 2), point, grey, 2, cv2.LINE_AA)
        cv2.line(page, point, (x + size + 2 * MM, y - 2 * MM), grey, 2, cv2.LINE_AA)
        return page

    paper = int(np.median(model.blank))
    scores = score_page(pencil(paper - under), AS_DRAWN, model)
    tick = next(score for score in scores if (score.unit, score.option) == TICKED)
    assert tick.fill == 0.0 and tick.faint_stroke >= FAINT_STROKE_MM
    row = next(reading for reading in classify_page(scores, ReadingSettings()) if reading.unit == TICKED[0])
    assert (row.reading, row.reason) == ("pending", RowWhy.FAINT)
    assert all(score.faint_stroke == 0 for score in score_page(pencil(paper - 4), AS_DRAWN, model))
    for dx, dy in ((1, 0), (0, 1), (2, 2)):
        moved = np.roll(np.roll(model.blank, dy, axis=0), dx, axis=1)
        for blank in (moved, np.asarray(cv2.GaussianBlur(moved, (0, 0), 1.2), dtype=np.uint8)):
            assert all(score.faint_stroke == 0 for score in score_page(blank, AS_DRAWN, model))


def test_a_box_the_alignment_put_far_from_its_row_is_looked_for_where_its_row_is(model: BallotModel) -> None:
    """Tuning seed 131, damaged scans: a scanner streak beside the 不满意 column's boxes and the table's rule made the
    alignment find those borders 1.5–1.9 mm right of their rows (``box_offsets_mm``); sampled there, past the scorer's
    search back, each box's own left border lay inside it as a mark, and a row ticked 满意 was read an overvote. Such
    a row is sampled where the row is too, and the place whose borders match better kept: the tick is read."""
    page = ticked(model)  # a tick in TICKED: 局机关 / 基本满意
    wrong = {(TICKED[0], "不满意"): (1.7, 0.0), (TICKED[0], "满意"): (-0.05, 0.0), TICKED: (-0.08, 0.0)}
    scores = score_page(page, replace(AS_DRAWN, box_offsets_mm=wrong), model)
    row = {score.option: score for score in scores if score.unit == TICKED[0]}
    assert row["不满意"].fill == 0.0 and row["不满意"].border_match > 0.8
    reading = next(reading for reading in classify_page(scores, ReadingSettings()) if reading.unit == TICKED[0])
    assert (reading.reading, reading.choice) == ("choice", TICKED[1])
    # A row whose boxes agree keeps its own places (a curled photo: every box of it a little off, alike).
    alike = {(TICKED[0], option): (0.6, 0.0) for option in ("满意", "基本满意", "不满意")}
    assert all(score.fill == 0.0 for score in score_page(model.blank, replace(AS_DRAWN, box_offsets_mm=alike), model))


def test_a_page_line_taken_for_print_is_noted_in_the_boxes_it_runs_through(model: BallotModel) -> None:
    """A scanner streak half a millimetre wide is taken for print (too narrow to hide a whole mark), but a faint
    tick beside it may be left too little to count on a grey scan: each box it runs through keeps its darkness
    (``line_over``)."""
    rect = checkbox(model, TICKED).rect
    centre = rect.x + rect.w / 2
    page = model.blank.copy()
    cv2.line(page, (round(centre * MM), 0), (round(centre * MM), page.shape[0]), 100, round(0.5 * MM))
    streak = PageLine(vertical=True, course=(centre,), half_width_mm=0.25, darkness=0.6)
    scores = {(s.unit, s.option): s for s in score_page(page, AS_DRAWN, model, [streak])}
    for key, score in scores.items():
        box = checkbox(model, key).rect
        crossed = box.x < centre < box.x + box.w
        assert score.line_over == (0.6 if crossed else 0.0), key
        assert score.fill == 0.0, key
    assert scores[TICKED].line_over == 0.6
    # On a bilevel scan a mark is black where it is not lost: a line hides only what lies under it.
    bilevel = np.where(page > 160, 255, 0).astype(np.uint8)
    assert all(score.line_over == 0.0 for score in score_page(bilevel, AS_DRAWN, model, [streak]))


@pytest.mark.parametrize("off_mm", [0.0, 0.2])
def test_a_dot_on_a_faxs_streak_widens_it_in_its_box(model: BallotModel, off_mm: float) -> None:
    """Tuning seed 141 (streak faxes): a black streak 0.5 mm wide taken for print swallowed a 1 mm dot drawn on it,
    the streak's black and the dot's one; two votes read 弃权. On a bilevel scan the streak is as wide inside the box as
    beside it, a dot on it makes it wider there over the dot's length: that box's ``line_excess`` holds it and its
    row goes to a clerk; the streak's other boxes show none. A dot a little off the streak's middle the same."""
    rect = checkbox(model, TICKED).rect
    centre = rect.x + rect.w / 2
    page = model.blank.copy()
    half = round(0.25 * MM)
    column = round(centre * MM)
    page[:, column - half : column + half] = 0
    cv2.circle(page, (round((centre + off_mm) * MM), round((rect.y + rect.h / 2) * MM)), round(0.5 * MM), 0, -1)
    fax = np.where(page > 128, 255, 0).astype(np.uint8)
    streak = PageLine(vertical=True, course=(centre,), half_width_mm=0.25, darkness=1.0)
    assert not streak.could_hide_a_mark()  # too narrow to hide a whole mark: taken for print
    scores = {(s.unit, s.option): s for s in score_page(fax, AS_DRAWN, model, [streak])}
    assert scores[TICKED].line_excess >= LINE_EXCESS
    crossed = [key for key in scores if checkbox(model, key).rect.x < centre < checkbox(model, key).rect.x + rect.w]
    assert len(crossed) > 5
    assert all(scores[key].line_excess == 0.0 and scores[key].fill == 0.0 for key in crossed if key != TICKED)
    readings = {reading.unit: reading for reading in classify_page(list(scores.values()), ReadingSettings())}
    assert (readings[TICKED[0]].reading, readings[TICKED[0]].reason) == ("pending", RowWhy.LINE)


def test_the_ink_around_a_box_has_its_darkness_measured(model: BallotModel) -> None:
    """``outside_darkness`` is to the ink around a box what ``darkness`` is to the ink in it: a pen stroke beside
    the box (grey 40) measures as a pen's, a grey-150 one far fainter; no ink around, 0."""
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    measured = []
    for grey in (40, 150):
        page = model.blank.copy()
        cv2.line(page, (x + size + MM, y + MM), (x + size + MM, y + size - MM), grey, 3)
        score = scores_by_box(page, model)[TICKED]
        assert score.outside > 0 and score.fill == 0.0
        measured.append(score.outside_darkness)
    assert measured[0] > 0.5 and 0.2 < measured[1] < measured[0] / 2  # a pen line blurred: 0.59
    assert scores_by_box(model.blank, model)[TICKED].outside_darkness == 0.0


def creased(model: BallotModel, *, sigma_mm: float, stroke: tuple[float, float, int] | None = None) -> Gray:
    """The blank under a fold's soft shadow down the middle of :data:`TICKED`'s column (0.3 of the paper's light at
    its centre, ``sigma_mm`` wide), and where ``stroke`` (offset from the shadow's centre in mm, darkness, width in
    pixels) a pencil line drawn down the box along it."""
    rect = checkbox(model, TICKED).rect
    centre = rect.x + rect.w / 2
    xs = (np.arange(model.blank.shape[1]) + 0.5) / MM
    page = model.blank.astype(np.float32) * (1 - 0.3 * np.exp(-((xs - centre) ** 2) / (2 * sigma_mm**2)))[None, :]
    if stroke is not None:
        offset, darkness, width = stroke
        line = np.zeros_like(page)
        x, y, size = round((centre + offset) * MM), round(rect.y * MM), round(rect.w * MM)
        cv2.line(line, (x, y + MM), (x + 2, y + size - MM), 1.0, width)
        line = cv2.GaussianBlur(line, (0, 0), 0.6 if width <= 2 else 0.8)
        page *= 1 - darkness * line / line.max()
    return np.asarray(np.clip(page, 0, 255), dtype=np.uint8)


def fold_line(model: BallotModel) -> PageLine:
    rect = checkbox(model, TICKED).rect
    return PageLine(vertical=True, course=(rect.x + rect.w / 2,), half_width_mm=0.17, darkness=0.3)


def test_a_faint_stroke_on_a_soft_lines_flank_is_not_taken_for_the_line(model: BallotModel) -> None:
    """Tuning seed 61 (folded): on a fold's soft shadow the line's darkness climbs a step at a time (0.10 → 0.16 →
    0.24); each step taken as dark as its darker neighbour hid a faint pencil stroke on the flank, and the row read
    弃权. A grey scan's line edge falls between two pixels: each step may be half-way to its neighbours, no more."""
    shadow = fold_line(model)
    stroke = scores_by_box_with(creased(model, sigma_mm=0.6, stroke=(-0.5, 0.14, 2)), model, [shadow])[TICKED]
    assert stroke.fill > 0.0
    alone = scores_by_box_with(creased(model, sigma_mm=0.6), model, [shadow])
    assert all(score.fill == 0.0 for score in alone.values())  # the shadow alone is still taken for print


def test_a_lines_course_darker_inside_a_box_than_beside_it_is_measured(model: BallotModel) -> None:
    """``line_excess``: a fold's shadow alone is as dark inside every box it crosses as beside them; a pencil line
    0.5 mm wide drawn along it darkens its course in that box by a good part of its own darkness (0.15). On a bilevel
    scan the threshold keeps the line only where the pencil darkened it: its course is wider in that box than beside
    it (where nothing of it is left), and in no other box."""
    shadow = fold_line(model)
    alone = scores_by_box_with(creased(model, sigma_mm=0.45), model, [shadow])
    crossed = [score for score in alone.values() if score.line_over > 0]
    assert len(crossed) >= 10 and all(abs(score.line_excess) < 0.01 for score in crossed)
    drawn = scores_by_box_with(creased(model, sigma_mm=0.45, stroke=(-0.3, 0.15, 4)), model, [shadow])
    assert drawn[TICKED].line_excess > 0.04
    assert all(abs(score.line_excess) < 0.01 for key, score in drawn.items() if key != TICKED)
    bilevel = np.where(creased(model, sigma_mm=0.45, stroke=(-0.3, 0.15, 4)) > 160, 255, 0).astype(np.uint8)
    faxed = {(score.unit, score.option): score for score in score_page(bilevel, AS_DRAWN, model, [shadow])}
    assert faxed[TICKED].line_excess >= LINE_EXCESS
    assert all(score.line_excess == 0.0 for key, score in faxed.items() if key != TICKED)


def scores_by_box_with(image: Gray, model: BallotModel, lines: list[PageLine]) -> dict[tuple[str, str], BoxScore]:
    return {(score.unit, score.option): score for score in score_page(image, AS_DRAWN, model, lines)}


def test_the_ink_keeps_the_size_of_its_piece_as_dark_as_a_firm_stroke(model: BallotModel) -> None:
    """``core``: a pen tick's own line is as dark as a firm stroke along its length, most of its ink (6 of 7 mm²); a
    stain's soft grey covering as much of a box is ink at the level, but none of it is that dark."""
    from pipeline.reading.classify import STROKE_CORE_MM2

    tick = scores_by_box(ticked(model), model)[TICKED]
    interior_mm2 = geometry_of(model)[TICKED].interior_count / PATCH_PX_PER_MM**2
    assert 4 * STROKE_CORE_MM2 < tick.core < tick.fill * interior_mm2
    page = model.blank.astype(np.float32)
    rect = checkbox(model, TICKED).rect
    ys, xs = np.mgrid[0 : page.shape[0], 0 : page.shape[1]]
    centre = ((rect.x + rect.w / 2) * MM, (rect.y + rect.w / 2) * MM)
    stain = 0.16 * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * (1.2 * MM) ** 2))
    stained = scores_by_box(np.asarray(np.clip(page * (1 - stain), 0, 255), dtype=np.uint8), model)[TICKED]
    assert stained.fill > 0.1 and stained.core == 0.0


#: A mark's ink is counted out to where its blurred edge fades under the hysteresis floor: this much past its stroke.
EDGE_TAIL_MM = 0.75


def blackened(
    model: BallotModel, key: tuple[str, str], spill_mm: float, turned_deg: float = 0.0, grey: int = 40
) -> Gray:
    """The blank with the box ``key`` blackened solid in ``grey``, the ink spilling ``spill_mm`` past its border all
    round, the hand turned ``turned_deg``."""
    page = model.blank.copy()
    rect = checkbox(model, key).rect
    centre = ((rect.x + rect.w / 2) * MM, (rect.y + rect.h / 2) * MM)
    side = (rect.w + 2 * spill_mm) * MM
    corners = cv2.boxPoints((centre, (side, side), turned_deg))
    cv2.fillPoly(page, [np.round(corners).astype(np.int32)], grey)
    return page


@pytest.mark.parametrize(("spill_mm", "grey"), [(1.0, 40), (1.2, 40), (1.2, 150)])
def test_a_box_blackened_past_its_border_all_round_is_seen_as_ink_not_as_dark_paper(
    model: BallotModel, spill_mm: float, grey: int
) -> None:
    """A box blackened in a hurry spills past its border all round: with a spill of 1 mm most of the box and its
    ring is ink, and the paper's noise, measured on them, made the ink level darker than the ink (tuning seed 61,
    erasure: two such boxes read empty, each beside another fill, and an overvote read as a vote). The paper's noise
    is measured on the paper beyond the ring; a light ink's blot (grey 150) is seen as well."""
    score = scores_by_box(blackened(model, TICKED, spill_mm, 15.0, grey), model)[TICKED]
    assert score.ink_level < 0.2
    assert score.fill > 0.97 and score.centre == 1.0 and score.darkness > 0.3
    assert score.outside > 0.3
    assert score.outside_reach >= spill_mm


@pytest.mark.parametrize("spill_mm", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_a_box_blackened_solid_is_never_read_empty(model: BallotModel, spill_mm: float) -> None:
    """A blot as wide as the window paper white is looked for in (BACKGROUND_MM, 7 mm) or wider is taken for the
    paper's own grey, and what lies under it does not show; but the box's printed border is lost under it too, and
    the row goes to a clerk. Narrower, it is the row's mark. Never 弃权, never another option."""
    scores = score_page(blackened(model, TICKED, spill_mm), AS_DRAWN, model)
    result = next(reading for reading in classify_page(scores, ReadingSettings()) if reading.unit == TICKED[0])
    assert (result.reading, result.choice) in {("choice", TICKED[1]), ("pending", None)}
    if spill_mm <= 0.5:
        assert result.choice == TICKED[1]


def test_how_far_a_marks_ink_runs_out_past_its_box_is_measured(model: BallotModel) -> None:
    """``outside_reach``: how far the box's own ink runs out past its border. A tick inside reaches nowhere; a
    stroke drawn out of the box 3 mm past its right side reaches 3 mm; a speck of dust 3 mm away, not touching the
    box's own ink, is not its mark's."""
    rect = checkbox(model, TICKED).rect
    right, middle = round((rect.x + rect.w) * MM), round((rect.y + rect.h / 2) * MM)
    inside = scores_by_box(ticked(model), model)[TICKED]
    assert inside.outside_reach == 0.0
    stroke = ticked(model)
    cv2.line(stroke, (right - 2 * MM, middle), (right + 3 * MM, middle), 40, 3)
    assert 3.0 <= scores_by_box(stroke, model)[TICKED].outside_reach <= 3.0 + EDGE_TAIL_MM
    dust = ticked(model)
    cv2.circle(dust, (right + 3 * MM, middle), round(0.45 * MM), 40, -1)
    assert scores_by_box(dust, model)[TICKED].outside_reach == 0.0


def test_how_narrow_a_boxs_ink_is_one_way_is_measured(model: BallotModel) -> None:
    """``ink_span``: the narrower of the height and width the ink inside a box spans. A tick spans both ways; a
    straight stroke level with the box's top side, just inside it (the border seen a scan line low on a standard
    fax), spans its own width one way."""
    assert scores_by_box(ticked(model), model)[TICKED].ink_span >= 2.0
    rect = checkbox(model, TICKED).rect
    page = model.blank.copy()
    top = round((rect.y + 0.9) * MM)
    cv2.line(page, (round((rect.x + 0.8) * MM), top), (round((rect.x + rect.w - 0.8) * MM), top), 40, 3)
    score = scores_by_box(page, model)[TICKED]
    assert score.fill > 0.05
    assert 0.3 <= score.ink_span <= 0.7


@pytest.mark.parametrize("gap_mm", [0.6, 2.0])
def test_on_paper_whitened_flat_a_pale_ticks_dashes_are_one_stroke(model: BallotModel, gap_mm: float) -> None:
    """Tuning seed 227 (a scanner app's steep photo): the app's whitening clipped a light pencil tick where it was
    palest, leaving dashes 12 grey levels under the paper, none over 1.1 mm long, and the row read 弃权. On paper
    whitened flat (no noise) dashes a little apart (0.6 mm as drawn) are linked into one stroke, as on a bilevel scan:
    the row is asked (``faint_stroke``); dashes as far apart as their own length are not one stroke, and the row
    reads 弃权."""
    page = model.blank.astype(np.float32)
    rect = checkbox(model, TICKED).rect
    x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
    start, end = np.array([x + MM, y + size - MM], float), np.array([x + size - MM, y + MM], float)
    length = float(np.hypot(*(end - start)))
    dash, gap = 1.0 * MM, gap_mm * MM
    stroke = np.zeros_like(page)
    at = 0.0
    while at < length:
        a = start + (end - start) * at / length
        b = start + (end - start) * min(at + dash, length) / length
        cv2.line(stroke, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), 1.0, 2)
        at += dash + gap
    page -= stroke * 12
    scores = scores_by_box(np.asarray(np.clip(page, 0, 255), dtype=np.uint8), model)
    assert all(score.fill == 0 for score in scores.values())
    linked = scores[TICKED].faint_stroke >= FAINT_STROKE_MM
    assert linked is (gap_mm < 1.0), scores[TICKED]
    reading = next(r for r in classify_page(list(scores.values()), ReadingSettings()) if r.unit == TICKED[0])
    assert (reading.reading, reading.reason) == (("pending", RowWhy.FAINT) if linked else ("blank", None))


@pytest.mark.parametrize("values", ["spread", "ties", "mostly_zero"])
def test_a_lines_profile_is_np_quantiles_value_exactly(values: str) -> None:
    # The line's profile is computed for all steps at once; a stored score must not move by a rounding.
    rng = np.random.default_rng(7)
    for _ in range(200):
        shape = (int(rng.integers(8, 60)),) * 2
        darkness = rng.random(shape, dtype=np.float32)
        if values == "ties":
            darkness = np.round(darkness * 4).astype(np.float32) / 4
        elif values == "mostly_zero":
            darkness = np.where(rng.random(shape) < 0.7, 0.0, darkness).astype(np.float32)
        steps = rng.integers(0, int(rng.integers(2, 40)), shape).astype(np.int32)
        where = rng.random(shape) < rng.random()
        counts = np.bincount(steps[where], minlength=int(steps.max()) + 1)
        wanted = counts >= rng.integers(1, 10)
        expected = {
            int(step): float(np.quantile(darkness[where & (steps == step)], PROFILE_QUANTILE))
            for step in np.flatnonzero(wanted)
        }
        assert _step_quantiles(darkness, steps, where, wanted) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_a_scanner_apps_specks_on_paper_whitened_flat_are_its_noise_not_marks(model: BallotModel, seed: int) -> None:
    """A scanner app lifts the paper to pure white: what it leaves of a grainy photo's grain is dark specks on white
    (tuning seeds 179–349, scanner-app steep photos: boxes with grain at 0.10–0.26 asked beside every tick, 8–16
    rows of a page). The paper's median and deviation see no noise there; its specks set the page's ink level, as on
    a bilevel page, and every ticked row is read. Stop 46's reader asks 2–3 of these rows."""
    page, ticked = ticked_rows(model)
    rng = np.random.default_rng(seed)
    specks = cv2.dilate((rng.random(page.shape) < 0.01).astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    speckled = np.where(specks, np.minimum(page, 155), page).astype(np.uint8)  # 1 % of pixels, 4 % with their spread
    assert not is_bilevel(speckled)  # a grey page: its print's edges are grey
    scores = score_page(speckled, AS_DRAWN, model)
    assert min(score.ink_level for score in scores) > INK_LEVEL  # the specks raised the level on every box
    readings = {reading.unit: (reading.reading, reading.choice) for reading in classify_page(scores, ReadingSettings())}
    assert {unit: readings[unit] for unit in ticked} == {unit: ("choice", option) for unit, option in ticked.items()}


def test_a_photos_grain_keeps_each_boxs_own_level(model: BallotModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo's grain, both its halves there (nothing whitened), reaches its darkest 1 % below the level its median
    and deviation set: the specks' floor is not taken (the scores are those of a reader that never takes it)."""
    page, _ = ticked_rows(model)
    grain = cv2.GaussianBlur(np.random.default_rng(3).normal(0.0, 1.0, page.shape), (0, 0), 1.0)
    photo = np.clip(page * 0.8 + 20 + grain * (9.0 / grain.std()), 0, 255).astype(np.uint8)
    scores = score_page(photo, AS_DRAWN, model)
    assert max(score.ink_level for score in scores) > INK_LEVEL  # grainy enough for its level to count
    monkeypatch.setattr("pipeline.reading.score.row.WHITENED_TAIL", float("inf"))
    assert score_page(photo, AS_DRAWN, model) == scores


def ticked_in_the_dark(model: BallotModel, seed: int, second: float = 0.0) -> tuple[Gray, dict[str, str]]:
    """A dim, grainy phone photo (paper 140, print 60, grain σ 20 grey, JPEG quality 48) of a sheet whose every row
    holds a pen tick 0.4 as dark as the print, and, with ``second``, the second row a second tick that dark in its
    last box. Returns it and each row's ticked option."""
    page = model.blank.astype(np.float32) * (80 / 255) + 60
    ink = np.zeros_like(page)
    ticked = {row.unit: row.boxes[at % len(row.boxes)].option for at, row in enumerate(model.layout.rows)}
    marks = [((unit, option), 0.4) for unit, option in ticked.items()]
    if second:
        row = model.layout.rows[1]
        marks.append(((row.unit, row.boxes[-1].option), second))
    for key, darkness in marks:
        rect = checkbox(model, key).rect
        x, y, size = round(rect.x * MM), round(rect.y * MM), round(rect.w * MM)
        turn = (x + size // 3, y + size - MM)
        stroke = np.zeros_like(page)
        cv2.line(stroke, (x + MM, y + size // 2), turn, 1.0, 3)
        cv2.line(stroke, turn, (x + size - MM, y + MM), 1.0, 3)
        ink = np.maximum(ink, stroke * darkness)
    page -= cv2.GaussianBlur(ink, (0, 0), 1.0) * 80
    page = cv2.GaussianBlur(page, (0, 0), 1.0) + np.random.default_rng(seed).normal(0.0, 20.0, page.shape)
    _, jpeg = cv2.imencode(".jpg", np.clip(page, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 48])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE), dtype=np.uint8), ticked


def test_in_a_dim_photo_a_tick_is_read_where_a_second_would_stand_out_of_the_grain(model: BallotModel) -> None:
    """Tuning seeds 173–227, dim-light phone photos: the grain raised the empty boxes' ink level to the voter's pen
    ticks' darkness, so a second tick as dark would have been lost to the level, and such rows were asked. Each box of
    a row holding ink on paper that grainy is searched along straight strokes (``stroke_response`` over
    ``grain_spread``): the empty boxes show none, the tick stands far out, and the row is read. Where a second tick,
    lost to the level, stands out along its strokes, the row is asked, never read as the first tick alone."""
    settings = ReadingSettings()
    lost = stood = 0
    for seed in range(4):
        page, ticked = ticked_in_the_dark(model, seed)
        scores = score_page(page, AS_DRAWN, model)
        rows = {unit: [score for score in scores if score.unit == unit] for unit in ticked}
        for unit, option in ticked.items():
            tick = next(score for score in rows[unit] if score.option == option)
            lost += any(score.ink_level >= tick.darkness for score in rows[unit] if score is not tick)
        assert all(score.grain_spread > 0 for score in scores)  # every row holds ink on grainy paper: searched
        readings = classify_page(scores, settings)
        assert not any(reading.reason == RowWhy.NOISY for reading in readings)
        assert all(reading.choice == ticked[reading.unit] for reading in readings if reading.reading != "pending")
        second, _ = ticked_in_the_dark(model, seed, second=0.2)
        unit = model.layout.rows[1].unit
        scores = score_page(second, AS_DRAWN, model)
        reading = next(reading for reading in classify_page(scores, settings) if reading.unit == unit)
        assert reading.reading == "pending"
        last = next(
            score for score in scores if (score.unit, score.option) == (unit, model.layout.rows[1].boxes[-1].option)
        )
        stood += last.fill == 0 and last.stroke_response >= STROKE_SIGMAS * last.grain_spread
    assert lost >= 1  # a second tick as dark would have been lost to the level in some row: these were asked
    assert stood >= 1  # a second tick lost to the level, seen only along its strokes
