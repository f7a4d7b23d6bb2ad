"""Locate: a sheet whose code could not be read, found by its registration marks instead.

A phone photo taken from afar, a heavy JPEG or a scanner app's harsh binarisation can leave a code that no
decoder reads, while the four 7 mm marks at the sheet's corners, each twelve modules' worth of ink, still show.
So, for a page that is not blank and showed no code:

1. **marks** — finder-pattern squares (a ring round a core) of any size are looked for all over the image;
   four of them (three will do) whose sizes agree, taken round in turn, are the sheet's corners, however the
   sheet lay and however far the photo was rolled;
2. **template** — each template printed with the store is fitted through them and its box borders are looked
   for where that puts them (:func:`~pipeline.reading.refine.find_border`): the sheet is the template, and the
   way up, whose borders are found. Where no three marks fit (a photo taken off-centre cuts off the code with
   the two marks on its side), the fit is grown over the boxes from two (:func:`_grown_from_two`); where no two
   do, it is taken from the outline of the printed table (:mod:`~pipeline.reading.table`);
3. **code** — the layout says where the code was printed: brought upright at a fixed size and cleaned, it
   often decodes where the raw photo did not (:func:`code_where_printed`); a code too soft even so is read from
   its module grid, the photo's blur taken back (:func:`code_by_modules`);
4. **serial** — else the serial printed under the code (``编号 K7QX-M2PD-5Z``) is read with Tesseract. A serial
   read from text is checked against the serials issued when the page is stored (a misread character or two
   is taken for the one issued serial that near, never for a guess), so no page is counted on it blind.

The result is an :class:`~pipeline.reading.identify.Identified` page like any other, the code's corners put
where the marks say it was printed: the stages after it run as they do for a code read directly. A page where
nothing of this is found may still show a sheet lying on a desk, photographed too small for its code or marks
(:func:`sheet_px_per_mm`): the clerk is told to photograph it closer. The same marks found anywhere, with a code
that was read, fit pages whose marks the code's corners do not predict (:func:`marks_fit`, :func:`anchored_fits`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import MARK_SIZE, Layout
from pipeline.ballot.payload import (
    SERIAL_ALPHABET,
    SERIAL_LENGTH,
    SheetId,
    b1_payload,
    normalise_serial,
    serial_characters,
)
from pipeline.ballot.template import Template
from pipeline.common.imaging import MM_PER_INCH, Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.common.tesseract import OcrUnavailableError, read_line
from pipeline.reading.align import affine, find_mark, jacobian, largest_child, qr_symbol_corners_mm
from pipeline.reading.grow import grow_from_marks
from pipeline.reading.identify import BINARIZERS, Catalog, Identified, QrCode, decode_region, modules_of
from pipeline.reading.model import BallotModel, ballot_model
from pipeline.reading.outline import PhotoSheet, SheetWindow, outline_px_per_mm
from pipeline.reading.refine import MIN_BORDERS, RANSAC_MM, border_model, borders_found, shift_mm
from pipeline.reading.table import cut_outlines, extended, fit_to, fits_to, model_tables, table_outlines

#: A sheet fills at least this share of the photo's shorter side (a photo from afar), at most all of its longer.
SHEET_SHARE = 0.35
# Where neither the frame's size bounds nor a sheet's outline finds its marks (a sheet photographed from afar on a
# surface as light as itself, or on a grained one whose streaks hide its edges: no outline to size it by), they are
# looked for at the size a sheet this many px per mm prints them at (within MARK_SIZE_BAND either way: 1.2–7.5), the
# scale of the smallest sheets the reader reads (``alignment.min_px_per_mm``) and a little more.
SMALL_SHEET_PX_PER_MM = 3.0
SEARCH_SIDE_PX = 1400  # marks are looked for on the image reduced to this many pixels across its shorter side
CANDIDATES = 12  # the likeliest squares found (the four marks, the code's three finders, a stray one or two)
# A mark's bounding rectangle is at most this much longer than wide: a sheet tilted 35° seen at the edge of a phone's
# main camera's view (a 26 mm lens: 25° off its axis across the frame's shorter side) is seen at 60°, 1 / cos 60°.
MARK_SQUARENESS = 2.0
# The sheet's marks differ in size by at most this factor. A sheet tilted 35° and filling a phone's 65° field from
# top to bottom has its far edge 2.3 times as far as its near one and seen 64° off its normal against 6°: a far
# mark's area comes out ~12 times smaller, its side ~3.4 times (tuning seed 67: 101 against 40 px), and a side is
# measured to a tenth or so.
MARK_SIZES_AGREE = 4.0
# A mark in a sheet's part of a photo is within this factor, either way, of the size the sheet's scale over its whole
# area prints it at: the near and the far marks lie about the middle's, each within 2 of it at 4 : 1.
MARK_SIZE_BAND = 2.5
MARK_BLOCK_SHARE = 0.018  # the threshold's neighbourhood, as a share of the photo's shorter side (~half a mark)
MARK_CONTRAST = 5  # grey levels a ring must lie below its neighbourhood's mean
# A code's modules, each under two pixels of the photo (the sampling limit), cannot be told apart, by a decoder or
# by a person zooming in: the clerk is told to photograph the sheet closer.
CODE_MODULE_PX = 2.0
ANCHORED_MISFIT = 0.25  # two marks and the code's corners fit one sheet within this share of a mark's side
ANCHORED_STARTS = 3  # fits through two marks and the code a fit is grown from, at most
MISSING_MARK_MM = 35.0  # a mark no quarter showed is looked for this far round where the other three put it …
SIZED_MARK_MM = 10.0  # … and first this far round where their sizes too put it (:func:`_through_sized`)
BORDERS_FOUND = 0.6  # a template is the sheet's where this share of its box borders is found
# A table the frame cut is looked for with its cut rules this many times as long as they show (up to 1.6: a column as
# wide as the comment column off the picture), alike; from the best of those found at least CUT_SEED_SHARE of the
# box borders, each on its own CUT_STEPS either way.
CUT_STRETCHES = np.arange(1.0, 1.61, 0.04)
CUT_SEED_SHARE = 0.3
CUT_STEPS = np.arange(-0.12, 0.121, 0.04)
REFIT_MARK_MM = 4.0  # a mark is looked for this near where the fit puts it (within ~0.5 mm: a fit through it)
PITCH_MARGIN = 2  # a fit from the marks finds this many box borders more than one a row or a column over
# Two marks fix the sheet along the line through them, not away from it: a tilt or a lens stretches the sheet a few
# per cent that way and shears it, which 100 mm off the line puts the nearest boxes past the border search (3 mm).
# Starts are drawn stretched and sheared by steps of 3 % and 0.03 (under 1.5 mm each at 100 mm), nearest first.
PAIR_VARIANTS = sorted(
    ((1.0 + stretch, shear) for stretch in (0.0, -0.03, 0.03, -0.06, 0.06) for shear in (0.0, -0.03, 0.03)),
    key=lambda variant: abs(variant[0] - 1.0) + abs(variant[1]),
)
CODE_PX_PER_MM = 12.0  # the code is brought upright at this resolution (~7 px a module)
# A code's module grid is looked for this far (modules) off the fit's place and this much larger or smaller, in coarse
# steps, then in fine ones about the best.
GRID_SHIFTS = tuple(float(shift) for shift in np.linspace(-2.0, 2.0, 17))
GRID_SCALES = (0.96, 0.98, 1.0, 1.02, 1.04)
GRID_FINE_SHIFTS = tuple(float(shift) for shift in np.linspace(-0.125, 0.125, 5))
GRID_FINE_SCALES = (-0.01, 0.0, 0.01)
DEBLUR_MODULES = (0.42, 0.56)  # a photo's blur (Gaussian sigma, in modules) taken back from a code too soft to read
DEBLUR_ROUNDS = 30
GRID_MATCH = 0.6  # the fixed patterns' darkness read on the grid correlates this well with what they print
SERIAL_PX_PER_MM = 16.0  # the serial's line, 7 pt, is brought upright at this resolution for Tesseract
SERIAL_MODES = (7, 13)  # Tesseract's page segmentation: a line, a raw line
SERIAL_MIN_CHARS = 8  # a line read with fewer serial characters than this is no serial
SERIAL_PATTERN = re.compile(r"([0-9A-Z]{4})\s*[-—–]\s*([0-9A-Z]{4})\s*[-—–]\s*([0-9A-Z]{2})")


@dataclass(frozen=True)
class Mark:
    """A finder-pattern square found in the image: its centre (px) and side (px)."""

    centre: npt.NDArray[np.float64]
    side: float


def locate_by_marks(
    image: Gray, session: str | None, catalog: Catalog, marks: MarkSearch | None = None
) -> tuple[Identified, PageReason | None] | None:
    """The page as one of the ``catalog``'s templates, found by its marks, and how its serial was
    had: None when the code was decoded; :data:`~pipeline.common.reasons.Why.SERIAL_FROM_TEXT` with what was read
    on the serial's line when it came from the print; :data:`~pipeline.common.reasons.Why.SERIAL_UNREADABLE` when
    neither its code nor (``session`` known) its serial can be read (:data:`~pipeline.common.reasons.Why.
    CODE_TOO_SMALL` where the code's modules came out under CODE_MODULE_PX each), the sheet then identified
    without a serial (empty): its rows may still be read, for a clerk to count it under the serial the paper
    shows. ``marks``: the image's :class:`MarkSearch`, where the caller keeps one. None when no template's marks
    and borders are found."""
    templates = list(catalog.templates.values())
    search = marks or MarkSearch(image)
    best: tuple[float, Matrix, str, Template] | None = None
    for candidates in search.sets():
        for template_hash, template in templates:
            fitted = _best_fit(image, candidates, ballot_model(template))
            if fitted is not None and (best is None or fitted[0] > best[0]):
                best = (*fitted, template_hash, template)
        if best is not None:
            break
    if best is None:
        best = _grown_from_two(image, search, templates)
    if best is None:
        best = _from_the_table(image, templates)
    if best is None:
        return None
    _, matrix, template_hash, template = best
    model = ballot_model(template)
    layout = model.layout
    fits = refitted(image, matrix, model)
    for fit in fits:
        code = code_where_printed(image, fit, layout, _symbol_sizes(template, session))
        sheet = code.sheet if code is not None else None
        if isinstance(sheet, SheetId) and sheet.serial_only:
            sheet = catalog.issued(sheet.serial, session)
        if code is not None and isinstance(sheet, SheetId) and _printed_from(sheet, template):
            return Identified(code, sheet, template_hash, template), None
    matrix = fits[0]
    readings: list[str] = []
    for fit in fits if session is not None else []:
        readings += [text for text in serial_where_printed(image, fit, layout) if text not in readings]
    guess = serial_guess(readings)
    sheet = SheetId(template.id, template.short_hash(), session or "", guess or "")
    modules = 25  # any size: the corners are put where the marks say, so the stages after agree with them
    corners = _to_image(matrix, qr_symbol_corners_mm(layout, modules))
    found = Identified(QrCode(sheet, "", corners, modules), sheet, template_hash, template)
    if session is not None and guess is not None:
        return found, PageReason.of(Why.SERIAL_FROM_TEXT, readings=readings)
    code_scale = _code_px_per_mm(matrix, layout)
    if code_scale < code_legible_px_per_mm([(template_hash, template)], session):
        return found, PageReason.of(Why.CODE_TOO_SMALL, template=template.id, dpi=round(code_scale * MM_PER_INCH))
    return found, PageReason.of(Why.SERIAL_UNREADABLE, template=template.id)


def _printed_from(sheet: SheetId, template: Template) -> bool:
    """Whether a code's ``sheet`` was printed from ``template``."""
    return (sheet.template_id, sheet.short_hash) == (template.id, template.short_hash())


def refitted(image: Gray, matrix: Matrix, model: BallotModel) -> list[Matrix]:
    """The fits the code and the serial are looked for through, from ``matrix``: the perspective through the four
    marks, where all four are found near where it puts them (the code lies by one of them), and the fit refitted in
    perspective to the box borders and the marks found (robustly, as :func:`~pipeline.reading.refine.
    refine_alignment` refits every page), where enough borders fit one plane (MIN_BORDERS); ``matrix`` where
    neither is had. A fit through three marks is affine (the fourth cut off, or too far from where they put it),
    and a steep photo's perspective puts its missing corner's code and serial millimetres off it, where Tesseract
    reads the line of print below the serial (tuning seed 23, code-cut phone photos: 5–8 mm off): the boxes fix
    the plane there. Each of the two is the better one somewhere: a lens's barrel bends the corners off a plane
    fitted mostly to the boxes (field bad 0003's serial is read through its four marks only), a fax's feed speed
    varies down the page where the four corners do not see it (tuning seed 23, two standard faxes' serials are
    read through the boxes' refit only)."""
    height, width = image.shape
    marks_mm, marks_px = [], []
    for mark in model.layout.registration:
        centre = np.array(mark.center, dtype=np.float64)
        predicted = _to_image(matrix, [centre])[0]
        if 0 <= predicted[0] < width and 0 <= predicted[1] < height:
            found = find_mark(image, predicted, _scale_at(matrix, predicted), radius_mm=REFIT_MARK_MM)
            if found is not None:
                marks_mm.append(centre)
                marks_px.append(found)
    fits = []
    if len(marks_mm) == len(model.layout.registration):
        through = cv2.getPerspectiveTransform(np.array(marks_mm, np.float32), np.array(marks_px, np.float32))
        fits.append(np.asarray(through, dtype=np.float64))
    page, seen = list(marks_mm), list(marks_px)
    for outline, found in borders_found(image, matrix, border_model(model).outlines):
        page.append(np.array(outline.centre, dtype=np.float64))
        seen.append(found)
    if len(page) - len(marks_mm) >= MIN_BORDERS:
        scale = _scale_at(matrix, np.mean(seen, axis=0))
        src, dst = np.array(page).reshape(-1, 1, 2), np.array(seen).reshape(-1, 1, 2)
        fitted, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_MM * scale)
        if fitted is not None and int(inliers.sum()) >= MIN_BORDERS:
            fits.append(np.asarray(fitted, dtype=np.float64))
    return fits or [matrix]


def _code_px_per_mm(matrix: Matrix, layout: Layout) -> float:
    """How large the code came out (image px per page mm at its middle), the way it is smaller: a steep photo
    squeezes it one way."""
    local = jacobian(matrix, layout.qr.center)
    return float(min(np.linalg.norm(local[:, 0]), np.linalg.norm(local[:, 1])))


def sheet_px_per_mm(outline: npt.NDArray[np.float64] | None) -> float | None:
    """How large a sheet lying on a darker surface came out in a photo (px per mm, over its whole area), or None
    where no such sheet shows: its ``outline`` (:attr:`~pipeline.reading.outline.PhotoSheet.outline`) with four
    corners: an A4 sheet at any distance a phone focuses."""
    if outline is None:
        return None
    contour = outline.astype(np.float32).reshape(-1, 1, 2)
    corners = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
    return outline_px_per_mm(outline) if len(corners) == 4 else None


def code_legible_px_per_mm(templates: Iterable[tuple[str, Template]], session: str | None) -> float:
    """The fewest px per mm at which the code our printer gives one of ``templates`` shows each module over
    CODE_MODULE_PX (with its quiet zone, 4 modules a side): a sheet photographed smaller shows no code anyone could
    read (a B1 code, printed before stop 41, of smaller modules, may be illegible at a larger scale too)."""
    return min(
        (
            CODE_MODULE_PX * (_symbol_sizes(template, session)[0] + 8) / ballot_model(template).layout.qr.w
            for _, template in templates
        ),
        default=0.0,
    )


def _symbol_sizes(template: Template, session: str | None) -> tuple[int, ...]:
    """The symbol sizes (modules) the sheet's code may have, the one our printer gives first (every serial is as
    long), then a B1 code's as printed before stop 41 for ``template`` and ``session``, or the sizes those run to."""
    sheet = SheetId(template.id, template.short_hash(), session or "", "0" * SERIAL_LENGTH)
    printed = modules_of(sheet.encode())
    return (printed, 25, 29, 33) if session is None else (printed, modules_of(b1_payload(sheet)))


def marks_fit(
    image: Gray, model: BallotModel, qr: QrCode | None = None, candidates: list[Mark] | None = None
) -> Matrix | None:
    """Page mm → image px through the registration marks of ``model``'s sheet found anywhere in the image (not
    only where its code predicts them: a steep photo's perspective puts them centimetres off an affine guess),
    the fit under which most of its box borders are found (at least BORDERS_FOUND), or None. ``qr``: the code
    read on the page, whose corners stand in for a mark cut off the image (see :func:`_fits`); ``candidates``:
    :func:`mark_candidates` of the image, where already looked for."""
    candidates = mark_candidates(image) if candidates is None else candidates
    if len(candidates) < 3:
        return None
    anchors = None if qr is None else (qr_symbol_corners_mm(model.layout, qr.modules), qr.corners)
    fitted = _best_fit(image, candidates, model, anchors)
    return None if fitted is None else fitted[1]


def anchored_fits(model: BallotModel, qr: QrCode, candidates: list[Mark]) -> list[Matrix]:
    """Fits through two of the ``candidates`` (:func:`mark_candidates`) and the code's corners
    (:func:`_pairs_anchored`), the most consistent first, at most ANCHORED_STARTS: where two marks are cut off,
    the start a fit is grown from (:func:`~pipeline.reading.grow.grow_from_code`)."""
    anchors = (qr_symbol_corners_mm(model.layout, qr.modules), qr.corners)
    return list(itertools.islice(_pairs_anchored(candidates, model.layout, anchors), ANCHORED_STARTS))


def _best_fit(
    image: Gray, candidates: list[Mark], model: BallotModel, anchors: tuple[Matrix, Matrix] | None = None
) -> tuple[float, Matrix] | None:
    """Of the fits through the marks (:func:`_fits`: through four, else through three; with the code's corners,
    through two: :func:`_pairs_anchored`), the one under which the largest share of ``model``'s box borders is
    found, with that share, if it is at least BORDERS_FOUND and no fit a row or a column over finds as many
    (:func:`_slipped`: an affine fit through three marks of a steep photo may put the table a row and a column
    off, where it finds the neighbours' borders; refined on them, the page was read a row and a column off —
    held-out 1016, code-cut phone 016, its rows offered to the clerk so: 6 of 11 wrong)."""
    for marks in (4, 3, 2):
        if marks == 2 and anchors is None:
            break
        fits = (
            _pairs_anchored(candidates, model.layout, anchors)
            if marks == 2 and anchors is not None
            else _fits(image, candidates, model.layout, marks, anchors)
        )
        scored = sorted(((_borders_found(image, matrix, model), matrix) for matrix in fits), key=lambda fit: -fit[0])
        for share, matrix in scored:
            if share < BORDERS_FOUND:
                break
            if not _slipped(image, matrix, model, share):
                return share, matrix
    return None


def _grown_from_two(
    image: Gray, marks: MarkSearch, templates: list[tuple[str, Template]]
) -> tuple[float, Matrix, str, Template] | None:
    """Where no three marks fit a sheet: the fit grown over the boxes from two marks
    (:func:`~pipeline.reading.grow.grow_from_marks`), of the first set of candidates and template where one fits,
    with the share of the template's box borders found under it (at least BORDERS_FOUND). A photo taken tight
    may cut off the code with the two marks on its side: the two left show the sheet's scale and turn, its boxes
    the rest."""
    for candidates in marks.sets():
        for template_hash, template in templates:
            model = ballot_model(template)
            for start, anchors in _pair_starts(candidates, model.layout):
                grown = grow_from_marks(image, model, anchors, start)
                if grown is None or (share := _borders_found(image, grown, model)) < BORDERS_FOUND:
                    continue
                if not _slipped(image, grown, model, share):
                    return share, grown, template_hash, template
    return None


def _from_the_table(image: Gray, templates: list[tuple[str, Template]]) -> tuple[float, Matrix, str, Template] | None:
    """Where no two marks fit a sheet (a photo taken tight and off-centre keeps one mark or none): the fit putting
    a template's printed table on the outline of the table in the image (:func:`~pipeline.reading.table.fits_to`)
    under which the largest share of its box borders is found, at least BORDERS_FOUND and not a row over."""
    best: tuple[float, Matrix, str, Template] | None = None
    for template_hash, template in templates:
        fitted = table_fit(image, ballot_model(template))
        if fitted is not None and (best is None or fitted[0] > best[0]):
            best = (*fitted, template_hash, template)
    return best


def table_fit(image: Gray, model: BallotModel) -> tuple[float, Matrix] | None:
    """Of the fits putting ``model``'s printed table on the outline of the table in the image
    (:func:`~pipeline.reading.table.fits_to`), the one under which the largest share of its box borders is found,
    with that share: at least BORDERS_FOUND, and no fit a row or a column over finding as many (:func:`_slipped`).
    None where no fit does."""
    if not model_tables(model):
        return None
    outlines = table_outlines(image)
    best: tuple[float, Matrix] | None = None
    for matrix in (matrix for outline in outlines for matrix in fits_to(outline, model)):
        share = _borders_found(image, matrix, model)
        if share >= BORDERS_FOUND and (best is None or share > best[0]):
            best = (share, matrix)
    if best is None:
        best = _cut_table_fit(image, cut_outlines(outlines, image.shape), model)
    if best is None or _slipped(image, best[1], model, best[0]):
        return None
    return best


def _cut_table_fit(image: Gray, cut: list[tuple[Matrix, int]], model: BallotModel) -> tuple[float, Matrix] | None:
    """Where no whole table's outline fits: a table the frame cut (a photo taken tight, a column of it off the
    picture: ``cut``, :func:`~pipeline.reading.table.cut_outlines`), its two rules running out of the picture taken
    as long as CUT_STRETCHES say, alike first, then each on its own near the best (the frame crosses them at
    different places where the sheet is turned in it). The fit finding the most box borders, at least
    BORDERS_FOUND."""
    best: tuple[float, Matrix] | None = None
    for outline, side in cut:
        seeds = [
            (
                _borders_found(image, _cut_fit(table, outline, side, turn, (stretch, stretch)), model),
                table,
                turn,
                stretch,
            )
            for stretch in CUT_STRETCHES
            for table in model_tables(model)
            for turn in range(4)
        ]
        share, table, turn, stretch = max(seeds, key=lambda seed: seed[0])
        if share < CUT_SEED_SHARE:
            continue
        for first, second in itertools.product(stretch + CUT_STEPS, repeat=2):
            matrix = _cut_fit(table, outline, side, turn, (float(first), float(second)))
            share = _borders_found(image, matrix, model)
            if share >= BORDERS_FOUND and (best is None or share > best[0]):
                best = (share, matrix)
    return best


def _cut_fit(table: Matrix, outline: Matrix, side: int, turn: int, stretches: tuple[float, float]) -> Matrix:
    """``table`` (page mm) put on the cut ``outline`` turned by ``turn``, its ``side`` on the frame's edge moved out
    by ``stretches`` (:func:`~pipeline.reading.table.extended`)."""
    return fit_to(table, np.roll(extended(outline, side, stretches), turn, axis=0))


def _slipped(image: Gray, matrix: Matrix, model: BallotModel, share: float) -> bool:
    """Whether a fit under which ``share`` of the box borders are found may be a row or a column off: rows of boxes
    look alike, and a fit a row's height off finds all but a row of them one row over. The sheet's fit finds
    PITCH_MARGIN borders more than any fit a row or a column over from it."""
    borders = border_model(model)
    over = (_borders_found(image, matrix @ shift_mm(step), model) for step in borders.pitches)
    return any(found > share - PITCH_MARGIN / len(borders.outlines) for found in over)


def _pair_starts(candidates: list[Mark], layout: Layout) -> Iterator[tuple[Matrix, tuple[Matrix, Matrix]]]:
    """Page mm → image px through two of the ``candidates`` as two of the sheet's marks, with those marks' centres
    (page mm, image px): a turn, a scale and a shift (two points fix no more), where that scale gives each mark
    its size (:func:`_sized_alike`), for any two marks the photo kept and the sheet any way up."""
    marks_mm = np.array([mark.center for mark in layout.registration], dtype=np.float64)
    for pair in itertools.combinations(candidates, 2):
        if max(pair[0].side, pair[1].side) > MARK_SIZES_AGREE * min(pair[0].side, pair[1].side):
            continue
        seen = np.array([mark.centre for mark in pair], dtype=np.float64)
        for indices in itertools.permutations(range(4), 2):
            page = marks_mm[list(indices)]
            matrix = _similarity(page, seen)
            if _sized_alike(matrix, list(zip(indices, pair, strict=True))):
                for stretch, shear in PAIR_VARIANTS:
                    yield matrix @ _across(page, stretch, shear), (page, seen)


def _across(page: Matrix, stretch: float, shear: float) -> Matrix:
    """Page mm → page mm: the sheet stretched by ``stretch`` away from the line through the two marks at ``page``
    and sheared along it by ``shear`` (mm along per mm away); the marks stay where they are."""
    along = (page[1] - page[0]) / np.linalg.norm(page[1] - page[0])
    away = np.array([-along[1], along[0]])
    basis = np.column_stack([along, away])  # page offsets → (along, away)
    linear = basis @ np.array([[1.0, shear], [0.0, stretch]]) @ basis.T
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = page[0] - linear @ page[0]
    return matrix


def _similarity(src: Matrix, dst: Matrix) -> Matrix:
    """The turn, scale and shift taking the two points ``src`` onto ``dst`` (as complex numbers, z → a·z + b)."""
    ends_src, ends_dst = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    a = (ends_dst[1] - ends_dst[0]) / (ends_src[1] - ends_src[0])
    b = ends_dst[0] - a * ends_src[0]
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag], [0.0, 0.0, 1.0]])


def serial_guess(readings: Sequence[str]) -> str | None:
    """The serial in what Tesseract read on the serial's line (``编号 K7QX-M2PD-5Z``): the first run shaped like
    one there (four, four and two serial characters joined by dashes, SERIAL_PATTERN), else the serial
    characters (:func:`~pipeline.ballot.payload.serial_characters`) after the label of the reading with a dash
    and most of them, for the store to match against the serials issued; None with fewer than SERIAL_MIN_CHARS
    of them in every such reading."""
    for text in readings:
        match = SERIAL_PATTERN.search(text.upper().translate(str.maketrans("OIL", "011")).replace(" ", ""))
        if match is not None and (serial := normalise_serial("".join(match.groups()))) is not None:
            return serial
    # Only a reading that kept one of the serial's dashes read a serial at all (noise reads as letters too).
    dashed = [serial_characters(text.split(None, 1)[-1]) for text in readings if "-" in text]
    longest = max(dashed, key=len, default="")
    return longest if len(longest) >= SERIAL_MIN_CHARS else None


class MarkSearch:
    """The finder-pattern squares of one image, each search made once and only when asked for (on a large photo
    one takes up to seconds; a page found by its marks may be fitted through them again when read)."""

    def __init__(self, image: Gray) -> None:
        self.image = image
        self.photo = PhotoSheet(image)  # the sheet's outline and part of the photo, shared with the code's search

    @cached_property
    def frame(self) -> list[Mark]:
        """The frame's (:func:`mark_candidates`)."""
        return mark_candidates(self.image)

    @cached_property
    def sheet(self) -> list[Mark]:
        """Those of the part of the photo a sheet lies in (:func:`_sheet_marks`)."""
        return _sheet_marks(self.photo.window)

    @cached_property
    def small(self) -> list[Mark]:
        """The frame's at the size a small sheet prints them (SMALL_SHEET_PX_PER_MM)."""
        return mark_candidates(self.image, SMALL_SHEET_PX_PER_MM)

    def sets(self) -> Iterator[list[Mark]]:
        """The frame's, then, where the photo shows a sheet in a part of it (and the caller found no fit through the
        frame's), the sheet's part's alone: the frame's may be the surface's grain or a stain instead of the sheet's
        far marks, which the frame's size bounds leave out; then, where no outline sized the sheet, the frame's at a
        small sheet's size (each set only where the caller found no fit through the sets before)."""
        yield self.frame
        if self.sheet:
            yield self.sheet
        elif self.photo.window is None:
            yield self.small


def _sheet_marks(window: SheetWindow | None) -> list[Mark]:
    """The finder-pattern squares of the part of the photo a sheet lies in (``window``), in the photo's pixels:
    their size bounds from the sheet's part, not the whole frame (a sheet on a desk photographed from afar and
    tilted: its far marks are smaller than a sheet filling SHEET_SHARE of the frame prints them). None where the sheet
    fills the frame or none shows."""
    if window is None:
        return []
    offset = np.array([window.left, window.top], dtype=np.float64)
    return [Mark(mark.centre + offset, mark.side) for mark in mark_candidates(window.pixels, window.px_per_mm)]


def mark_candidates(image: Gray, px_per_mm: float | None = None) -> list[Mark]:
    """The finder-pattern squares of the image, likeliest (largest) first, at most CANDIDATES: a dark square ring
    round a dark core, as square as a steep photo leaves it, of a size a sheet filling SHEET_SHARE of the photo
    or more would print its 7 mm marks at (``px_per_mm``: a sheet this large in the image, its marks' sizes within
    MARK_SIZE_BAND of that scale's either way). Looked for on the image reduced to SEARCH_SIDE_PX across (a 7 mm
    mark stays 10 px or more), each then centred on the image itself (:func:`~pipeline.reading.align.find_mark`).
    Each ring is told from the paper within about half a mark of it."""
    marks: list[Mark] = []
    for side in (SEARCH_SIDE_PX, min(image.shape)):  # a small, soft sheet's rings close up when reduced: whole
        factor = min(1.0, side / min(image.shape))
        small = image if factor == 1.0 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        height, width = small.shape
        if px_per_mm is None:
            smallest = SHEET_SHARE * min(height, width) / 210.0 * MARK_SIZE * 0.7
            largest = max(height, width) / 210.0 * MARK_SIZE * 1.3
            half_mark = MARK_BLOCK_SHARE * min(height, width)
        else:
            mark = MARK_SIZE * px_per_mm * factor
            smallest, largest, half_mark = mark / MARK_SIZE_BAND, mark * MARK_SIZE_BAND, mark / 2
        block = _odd(min(max(half_mark, 15), 61))
        marks = _squares(np.asarray(small, dtype=np.uint8), smallest, largest, block)
        if len(marks) < 3:  # broken up by specks (a fax, a dusty scan): cleaned
            marks = _squares(np.asarray(cv2.medianBlur(small, 3), dtype=np.uint8), smallest, largest, block)
        if len(marks) >= 3 or factor == 1.0:
            break
    return [_on_image(image, mark, factor) for mark in marks[:CANDIDATES]]


def _on_image(image: Gray, mark: Mark, factor: float) -> Mark:
    """``mark`` found on the image reduced by ``factor``, centred on the image itself where it can be."""
    centre, side = mark.centre / factor, mark.side / factor
    if factor == 1.0:
        return Mark(centre, side)
    found = find_mark(image, centre, side / MARK_SIZE, radius_mm=MARK_SIZE / 2)
    return Mark(centre if found is None else found, side)


def _squares(window: Gray, smallest: float, largest: float, block: int) -> list[Mark]:
    """Finder-pattern squares in ``window`` with sides from ``smallest`` to ``largest`` px, largest first."""
    # Thresholded against the mean of a neighbourhood about half a mark wide (``block`` px): each ring against
    # the paper right beside it, even where the photo's dark background or a shadow lies next to the mark.
    ink = cv2.adaptiveThreshold(window, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, MARK_CONTRAST)
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    found = []
    for index, contour in enumerate(contours):
        area = cv2.contourArea(contour)
        if not smallest**2 <= area <= largest**2:
            continue
        (_, _), (w, h), _ = cv2.minAreaRect(contour)
        if min(w, h) <= 0 or max(w, h) / min(w, h) > MARK_SQUARENESS:
            continue
        hull = cv2.contourArea(cv2.convexHull(contour))
        if hull <= 0 or area / hull < 0.85:
            continue
        hole = largest_child(contours, hierarchy, index)
        core = largest_child(contours, hierarchy, hole) if hole >= 0 else -1
        if hole < 0 or core < 0:
            continue
        # A 7-module square: its hole 5² / 7² of it, its core 3² / 7², whatever blur does to the rings' edges.
        if (
            0.25 <= cv2.contourArea(contours[hole]) / area <= 0.8
            and 0.05 <= cv2.contourArea(contours[core]) / area <= 0.4
        ):
            moments = cv2.moments(contour)
            centre = np.array([moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]], dtype=np.float64)
            found.append(Mark(centre, float(np.sqrt(area))))
    return sorted(found, key=lambda mark: -mark.side)


def _odd(value: float) -> int:
    return max(3, int(value) | 1)


def _fits(
    image: Gray,
    candidates: list[Mark],
    layout: Layout,
    marks: int,
    anchors: tuple[Matrix, Matrix] | None = None,
) -> Iterator[Matrix]:
    """Page mm → image px transforms through ``marks`` (4 or 3) of the ``candidates`` whose sizes agree, taken
    round in turn (clockwise about their middle, as the sheet's corners are) with each as the top-left, where
    the fit gives each mark the size it has. Through three (an affine map: a steep photo's perspective puts
    the fourth mark centimetres off it), the fourth is looked for where their places and sizes put it, then widely
    where the affine fit puts it (:func:`_completed`), with :func:`~pipeline.reading.align.find_mark`'s test, and
    used where found; where it is not (cut off the image), the perspective the three's places and sizes make
    (:func:`_through_sized`) is yielded too, before the affine fit. The code's four corners
    (``anchors``: page mm, image px), printed beside the sheet's top right mark, also make a perspective fit with
    the three marks (the fourth cut off the image; what is found near where it would be may be a finder of the
    code)."""
    marks_mm = np.array([mark.center for mark in layout.registration], dtype=np.float64)
    for group in itertools.combinations(candidates, marks):
        sides = [mark.side for mark in group]
        if max(sides) > MARK_SIZES_AGREE * min(sides):
            continue
        middle = np.mean([mark.centre for mark in group], axis=0)
        ordered = sorted(group, key=lambda mark: float(np.arctan2(*(mark.centre - middle)[::-1])))
        if marks == 4 and not _convex([mark.centre for mark in ordered]):
            continue
        # Three marks in turn have the missing corner after any one of them: each of them may come first.
        starts = [ordered[shift:] + ordered[:shift] for shift in range(marks if marks == 3 else 1)]
        for first, start in itertools.product(range(4), starts):
            present = [((first + at) % 4, mark) for at, mark in enumerate(start)]
            if marks == 3 and anchors is not None:  # in perspective: the affine fit may size the marks wrong
                anchored = _through_anchored(present, marks_mm, anchors)
                if anchored is not None and _sized_alike(anchored, present):
                    yield anchored
            matrix = _through(present, marks_mm)
            if not _sized_alike(matrix, present):
                continue
            if marks == 3:
                present = _completed(image, present, marks_mm)
                completed = _through(present, marks_mm)
                matrix = completed if len(present) == 4 and _sized_alike(completed, present) else matrix
                # The fourth cut off the image: in perspective through the three's places and sizes as well.
                sized = _through_sized(present, marks_mm) if len(present) == 3 else None
                if sized is not None and _sized_alike(sized, present):
                    yield sized
            yield matrix


def _through(present: list[tuple[int, Mark]], marks_mm: Matrix) -> Matrix:
    """Page mm → image px through the ``present`` marks (index into ``marks_mm``, where found): a perspective
    map through four, an affine one through three."""
    src = np.array([marks_mm[index] for index, _ in present], dtype=np.float32)
    dst = np.array([mark.centre for _, mark in present], dtype=np.float32)
    if len(present) == 4:
        return np.asarray(cv2.getPerspectiveTransform(src, dst), dtype=np.float64)
    return np.vstack([cv2.getAffineTransform(src, dst), [0.0, 0.0, 1.0]]).astype(np.float64)


def _pairs_anchored(candidates: list[Mark], layout: Layout, anchors: tuple[Matrix, Matrix]) -> Iterator[Matrix]:
    """Page mm → image px, affine, through two of the ``candidates`` as two of the sheet's marks (any two: a photo
    taken tight cuts off one side's or one diagonal's) and the code's corners (``anchors``), where the fit puts all six
    points within ANCHORED_MISFIT of a mark's side of where they were seen and gives each mark its size; the
    most consistent first."""
    fits = []
    marks_mm = np.array([mark.center for mark in layout.registration], dtype=np.float64)
    for pair in itertools.combinations(candidates, 2):
        if max(pair[0].side, pair[1].side) > MARK_SIZES_AGREE * min(pair[0].side, pair[1].side):
            continue
        for indices in itertools.permutations(range(4), 2):
            present = list(zip(indices, pair, strict=True))
            src = np.vstack([marks_mm[list(indices)], anchors[0]])
            dst = np.vstack([[mark.centre for mark in pair], anchors[1]])
            # Affine: six points along one side of the sheet leave a perspective fit free to tilt the far side.
            matrix = np.vstack([affine(src, dst), [0.0, 0.0, 1.0]])
            if not _sized_alike(matrix, present):
                continue
            misfit = float(np.linalg.norm(_to_image(matrix, src) - dst, axis=1).max()) / min(m.side for m in pair)
            if misfit <= ANCHORED_MISFIT:
                fits.append((misfit, matrix))
    for _, matrix in sorted(fits, key=lambda fit: fit[0]):
        yield matrix


def _through_anchored(
    present: list[tuple[int, Mark]], marks_mm: Matrix, anchors: tuple[Matrix, Matrix]
) -> Matrix | None:
    """Page mm → image px, a perspective map through the ``present`` marks and the ``anchors`` (page mm, image px)
    together (least squares), or None where they admit none."""
    src = np.vstack([np.array([marks_mm[index] for index, _ in present]), anchors[0]]).astype(np.float32)
    dst = np.vstack([np.array([mark.centre for _, mark in present]), anchors[1]]).astype(np.float32)
    matrix, _ = cv2.findHomography(src, dst, 0)
    return None if matrix is None else np.asarray(matrix, dtype=np.float64)


def _convex(points: list[npt.NDArray[np.float64]]) -> bool:
    """Whether the quadrilateral through ``points``, in turn, is convex (no corner turned in)."""
    edges = [points[(at + 1) % 4] - points[at] for at in range(4)]
    turns = [float(edges[at][0] * edges[(at + 1) % 4][1] - edges[at][1] * edges[(at + 1) % 4][0]) for at in range(4)]
    return all(turn > 0 for turn in turns) or all(turn < 0 for turn in turns)


def _completed(image: Gray, present: list[tuple[int, Mark]], marks_mm: Matrix) -> list[tuple[int, Mark]]:
    """Three marks and the fourth, if found: looked for near where the perspective their places and sizes make puts
    it (:func:`_through_sized`), at the size it has there, then widely where the affine fit through them puts it."""
    missing = next(index for index in range(4) if index not in {index for index, _ in present})
    side = float(np.mean([mark.side for _, mark in present]))
    looks = []
    sized = _through_sized(present, marks_mm)
    if sized is not None:
        at = _to_image(sized, [marks_mm[missing]])[0]
        looks.append((at, _scale_at(sized, at), SIZED_MARK_MM))
    looks.append((_to_image(_through(present, marks_mm), [marks_mm[missing]])[0], side / MARK_SIZE, MISSING_MARK_MM))
    height, width = image.shape
    for predicted, scale, radius in looks:
        if not (0 <= predicted[0] < width and 0 <= predicted[1] < height and scale > 0):
            continue
        for despeckle in (False, True):
            found = find_mark(image, predicted, scale, despeckle=despeckle, radius_mm=radius)
            if found is not None:
                return [*present, (missing, Mark(found, scale * MARK_SIZE))]
    return present


def _through_sized(present: list[tuple[int, Mark]], marks_mm: Matrix) -> Matrix | None:
    """Page mm → image px, in perspective, through three marks' places and sizes; None where they make none. A
    perspective map's local scale falls as its denominator w = g·x + h·y + 1 grows, as w^-3/2 (its Jacobian is
    det H / w³), so each mark's side fixes its w up to one factor k: g·x + h·y + 1 = k·side^-2/3, three equations
    for g, h and k; then u·w and v·w are affine in the page's x and y, six equations for the rest. A steep photo's
    far mark lies centimetres off where the affine fit through three puts it (tuning seed 67: 44 mm off it, under
    3 mm off this)."""
    page = np.array([marks_mm[index] for index, _ in present], dtype=np.float64)
    seen = np.array([mark.centre for _, mark in present], dtype=np.float64)
    sides = np.array([mark.side for _, mark in present], dtype=np.float64)
    try:
        g, h, k = np.linalg.solve(np.column_stack([page, -(sides ** (-2.0 / 3.0))]), -np.ones(3))
        w = page @ np.array([g, h]) + 1.0
        if k <= 0 or np.any(w <= 0):
            return None
        rows = np.zeros((6, 6))
        rows[0::2, 0:2], rows[0::2, 2] = page, 1.0
        rows[1::2, 3:5], rows[1::2, 5] = page, 1.0
        a, b, c, d, e, f = np.linalg.solve(rows, (seen * w[:, None]).ravel())
    except np.linalg.LinAlgError:
        return None
    return np.array([[a, b, c], [d, e, f], [g, h, 1.0]])


def _sized_alike(matrix: Matrix, present: list[tuple[int, Mark]]) -> bool:
    """The fit's scale at each mark is the mark's own size over 7 mm, within a quarter. A fit that lays the page
    on a line (one mark found twice on one spot, or candidates in a row) has no scale and fits no sheet."""
    for _, mark in present:
        scale = _scale_at(matrix, mark.centre)
        if not scale or not 0.75 <= mark.side / (MARK_SIZE * scale) <= 1.33:
            return False
    return True


def _scale_at(matrix: Matrix, pixel: npt.NDArray[np.float64]) -> float:
    """Image px per page mm near ``pixel`` (the square root of the transform's local area scale); 0 where the
    transform has no inverse (it lays the page on a line or a point)."""
    try:
        inverse = np.asarray(np.linalg.inv(matrix), dtype=np.float64)
    except np.linalg.LinAlgError:
        return 0.0
    x, y = _to_image(inverse, pixel.reshape(1, 2))[0]
    steps = _to_image(matrix, [(x, y), (x + 1.0, y), (x, y + 1.0)])
    across, down = steps[1] - steps[0], steps[2] - steps[0]
    return float(np.sqrt(abs(across[0] * down[1] - across[1] * down[0])))


def _borders_found(image: Gray, matrix: Matrix, model: BallotModel) -> float:
    """The share of the template's box borders (:func:`~pipeline.reading.refine.border_model`) found where
    ``matrix`` puts them."""
    outlines = border_model(model).outlines
    return len(borders_found(image, matrix, outlines)) / len(outlines) if outlines else 0.0


def code_where_printed(image: Gray, matrix: Matrix, layout: Layout, modules: Sequence[int] = ()) -> QrCode | None:
    """The code decoded where ``matrix`` puts the layout's code: brought upright at CODE_PX_PER_MM with its quiet
    zone, as it is, median-filtered and enlarged; else, for each symbol size in ``modules``, redrawn from its
    modules (:func:`code_by_modules`), as it is and with a photo's blur of DEBLUR_MODULES taken back
    (:func:`sharpened`). Its corners (in the image) from the transform."""
    place = layout.qr
    upright, to_image = _upright(image, matrix, place.x, place.y, place.w, place.h, CODE_PX_PER_MM)
    for region in (upright, np.asarray(cv2.medianBlur(upright, 3), dtype=np.uint8), _enlarged(upright)):
        factor = region.shape[0] / upright.shape[0]
        for binarizer in BINARIZERS:
            code = decode_region(region, 0, 0, binarizer, factor)
            if code is not None:
                corners = _to_image(to_image, code.corners)
                return QrCode(code.sheet, code.text, corners, code.modules, code.overlap)
    for size, blur in itertools.product(modules, (0.0, *DEBLUR_MODULES)):
        pitch = upright.shape[1] / (size + 8)
        code = code_by_modules(upright if blur == 0.0 else sharpened(upright, blur * pitch), size)
        if code is not None:
            corners = _to_image(to_image, (qr_symbol_corners_mm(layout, size) - (place.x, place.y)) * CODE_PX_PER_MM)
            return QrCode(code.sheet, code.text, corners, size, code.overlap)
    return None


def code_by_modules(upright: Gray, modules: int) -> QrCode | None:
    """A code too soft or noisy for a decoder to find its edges, read from the grid its ``modules`` lie on: the
    code's place (``upright``, brought upright with its quiet zone, :func:`_upright`) known from the marks to a
    fraction of a module, the grid is set where the code's fixed patterns (three finders, two timing lines) match
    best (shifted by up to GRID_SHIFTS of a module, scaled by GRID_SCALES, then finer about the best), each
    module's darkness is read at its middle, split at the fixed patterns' own dark and light levels, and the code
    redrawn clean for the decoder."""
    height, width = upright.shape
    pitch = width / (modules + 8)  # px per module: the place holds the symbol and a 4-module quiet zone each side
    # Each module's darkness averaged over its middle half, then read at the grid's points.
    soft = cv2.blur(255.0 - upright.astype(np.float32), (max(1, round(pitch / 2)),) * 2)
    fixed, dark = _fixed_patterns(modules)
    centres = (np.arange(modules) + 0.5) - modules / 2  # in modules, about the symbol's middle

    def read(scale: float, dx: float, dy: float) -> tuple[float, npt.NDArray[np.float32]]:
        xs = (width / 2 + (centres + dx) * pitch * scale).astype(np.float32)
        ys = (height / 2 + (centres + dy) * pitch * scale).astype(np.float32)
        grid_x, grid_y = np.meshgrid(xs, ys)
        samples = np.asarray(
            cv2.remap(soft, grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), dtype=np.float32
        )
        known = samples[fixed]
        return (float(np.corrcoef(known, dark[fixed])[0, 1]) if known.std() > 0 else -1.0), samples

    # Coarse over the whole reach, then fine about the best.
    coarse = max(itertools.product(GRID_SCALES, GRID_SHIFTS, GRID_SHIFTS), key=lambda grid: read(*grid)[0])
    fine = [
        (coarse[0] * (1 + ds), coarse[1] + dx, coarse[2] + dy)
        for ds, dx, dy in itertools.product(GRID_FINE_SCALES, GRID_FINE_SHIFTS, GRID_FINE_SHIFTS)
    ]
    best = max((read(*grid) for grid in fine), key=lambda found: found[0])
    if best[0] < GRID_MATCH:
        return None
    samples = best[1]
    threshold = (samples[fixed & dark].mean() + samples[fixed & ~dark].mean()) / 2
    cell = 8
    clean = np.where(samples > threshold, 0, 255).astype(np.uint8)
    drawn = cv2.copyMakeBorder(
        np.kron(clean, np.ones((cell, cell), np.uint8)),
        4 * cell,
        4 * cell,
        4 * cell,
        4 * cell,
        cv2.BORDER_CONSTANT,
        value=255,
    )
    return decode_region(np.ascontiguousarray(drawn), 0, 0, BINARIZERS[-1])


def sharpened(image: Gray, sigma: float) -> Gray:
    """``image`` with a Gaussian blur of ``sigma`` px taken back (Richardson–Lucy, DEBLUR_ROUNDS rounds, after a
    3 px median against the photo's grain): a code's modules blurred into each other stand apart again."""
    seen = np.asarray(cv2.medianBlur(image, 3), dtype=np.float32) / 255.0 + 0.02
    estimate = np.full_like(seen, float(seen.mean()))
    for _ in range(DEBLUR_ROUNDS):
        blurred = np.asarray(cv2.GaussianBlur(estimate, (0, 0), sigma), dtype=np.float32) + 1e-4
        estimate = estimate * np.asarray(cv2.GaussianBlur(seen / blurred, (0, 0), sigma), dtype=np.float32)
    return np.asarray(np.clip((estimate - 0.02) * 255.0, 0, 255), dtype=np.uint8)


def _fixed_patterns(modules: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Where a QR symbol of ``modules`` has modules fixed by the standard (its three finders with their separators
    and its two timing lines), and which of all its modules are dark there."""
    fixed = np.zeros((modules, modules), dtype=bool)
    dark = np.zeros((modules, modules), dtype=bool)
    ring = np.zeros((7, 7), dtype=bool)
    ring[[0, -1], :] = ring[:, [0, -1]] = True
    ring[2:5, 2:5] = True
    for top, left in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        fixed[max(0, top - 1) : top + 8, max(0, left - 1) : left + 8] = True  # the finder and its light separator
        dark[top : top + 7, left : left + 7] = ring
    fixed[6, 8 : modules - 8] = fixed[8 : modules - 8, 6] = True
    dark[6, 8 : modules - 8 : 2] = dark[8 : modules - 8 : 2, 6] = True
    return fixed, dark


def serial_where_printed(image: Gray, matrix: Matrix, layout: Layout) -> list[str]:
    """What Tesseract reads on the serial's line where ``matrix`` puts it, each distinct reading once: the line as
    it is, median-filtered and enlarged, each read as a line and as a raw line, with any character and with the
    serial's alone (one 7-point line of a poor photo reads differently each way: tuning seed 23's code-cut phone
    photos read CQ95-BSQJ-5A as CO9S-BSO3.5A, and as CQ9S-BS0-5A with its characters alone; the store matches
    every reading against the serials issued). None without Tesseract."""
    place = layout.serial_text
    upright, _ = _upright(image, matrix, place.x, place.y - 0.5, place.w, place.h + 1.0, SERIAL_PX_PER_MM)
    readings: list[str] = []
    try:
        for region in (upright, np.asarray(cv2.medianBlur(upright, 3), dtype=np.uint8), _enlarged(upright)):
            for mode, allowed in itertools.product(SERIAL_MODES, ("", SERIAL_ALPHABET + "-")):
                text = read_line(region, mode=mode, allowed=allowed)
                if text and text not in readings:
                    readings.append(text)
    except OcrUnavailableError:  # an installation without Tesseract: the page is left to a clerk, as before
        return []
    return readings


def _upright(
    image: Gray, matrix: Matrix, x: float, y: float, w: float, h: float, px_per_mm: float
) -> tuple[Gray, Matrix]:
    """The page's rectangle (mm) brought upright at ``px_per_mm``, and the map from its pixels to the image's."""
    to_mm = np.array([[1.0 / px_per_mm, 0.0, x], [0.0, 1.0 / px_per_mm, y], [0.0, 0.0, 1.0]])
    to_image = matrix @ to_mm
    size = (round(w * px_per_mm), round(h * px_per_mm))
    upright = cv2.warpPerspective(
        image, to_image, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(upright, dtype=np.uint8), to_image


def _enlarged(region: Gray) -> Gray:
    return np.asarray(cv2.resize(region, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def _to_image(matrix: Matrix, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
    return np.asarray(cv2.perspectiveTransform(array, matrix), dtype=np.float64).reshape(-1, 2)
