"""Read one of our ballots: the stages in order, each once, from a decoded page to scores and row readings.

identify (:mod:`.identify`, or :mod:`.locate` by the marks where no code is read) → align (:mod:`.align`, or
:mod:`.grow` where the marks cannot) → refine (:mod:`.refine`) → check (:mod:`.check`) → score (:mod:`.score`)
→ classify (:mod:`.classify`) → keep (:mod:`.keep`). A stage that cannot go on ends the page in a
:class:`~pipeline.reading.outcome.SheetRejected` with its typed reason.

``read_sheet`` is pure (no database): it runs in worker processes. What needs the whole session's history
(was this serial issued? was it read before?) is decided when the result is stored. A page without our QR
code may be an existing office form: :mod:`pipeline.scanning` tries :mod:`pipeline.forms` then.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.ballot.template import Template
from pipeline.common.imaging import MM_PER_INCH, Gray
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.align import Alignment, AlignmentFailure, align_page, aligned_by, finder_corners
from pipeline.reading.check import LINES_PX_PER_MM, check_page, expected_rules_of
from pipeline.reading.classify import classify_page
from pipeline.reading.debug import DebugWriter, draw_overlay
from pipeline.reading.grow import grow_from_code
from pipeline.reading.identify import Catalog, Identified, Unidentified, identify_page
from pipeline.reading.ingest import ScanPage, image_fingerprint
from pipeline.reading.keep import kept_image, reduced_image
from pipeline.reading.lines import printed_of
from pipeline.reading.locate import (
    MarkSearch,
    anchored_fits,
    code_legible_px_per_mm,
    locate_by_marks,
    marks_fit,
    refitted,
    sheet_px_per_mm,
    table_fit,
)
from pipeline.reading.model import BallotModel, ballot_model
from pipeline.reading.outcome import SheetRead, SheetRejected, SheetResult
from pipeline.reading.refine import border_model, refine_alignment
from pipeline.reading.score import geometry_of, score_page
from pipeline.reading.settings import ReadingSettings

#: A page that shows no ballot's code for these reasons (none at all, one too damaged to be a ballot's, only a
#: sticker's or another form's) is looked for by its registration marks instead (:mod:`.locate`).
BY_MARKS_INSTEAD = frozenset({Why.NO_CODE, Why.CODE_DAMAGED, Why.CODE_NOT_OURS})

#: A sheet found by its marks for these reasons has no serial: its rows are read for a clerk, who types the serial
#: the paper shows (:data:`~pipeline.common.reasons.Why.SERIAL_TO_TYPE`); it is counted only then.
NO_SERIAL = frozenset({Why.SERIAL_UNREADABLE, Why.CODE_TOO_SMALL})

#: A page the marks cannot fit for these reasons is fitted from its QR code outward instead (:mod:`.grow`): a
#: mark outside the image or too far from where the code predicts it (a steep photo), or a fit distorted by one.
#: Nor is a page's resolution judged by its code alone: on the far side of a steep photo the code comes out
#: smaller than the table it is read with (the fits after judge it at the sheet's middle).
GROWN_INSTEAD = frozenset(
    {Why.MARKS_MISSING, Why.MARKS_MISFIT, Why.QR_DISAGREES, Why.SKEWED, Why.STRETCHED, Why.CUT_OFF, Why.RESOLUTION}
)


def read_sheet(
    page: ScanPage, session: str, catalog: Catalog, settings: ReadingSettings, debug: DebugWriter
) -> SheetResult:
    """Identify, align, refine, check, score, classify and keep one page. ``catalog``: every template printed
    with the store and every serial issued."""
    image = page.image
    fingerprint = image_fingerprint(image)
    marks = MarkSearch(image)  # looked for once, where a fallback needs them (the photo's sheet, for its code too)
    found = identify_page(image, session, catalog, settings.blank_page_ink, marks.photo)
    by_marks: PageReason | None = None  # how the serial was had, where the code was not read
    if isinstance(found, Unidentified) and found.reason.code in BY_MARKS_INSTEAD:
        located = locate_by_marks(image, session, catalog, marks)
        if located is not None:
            found, by_marks = located
        elif (scale := sheet_px_per_mm(marks.photo.outline)) is not None and scale < max(
            settings.alignment.min_px_per_mm, code_legible_px_per_mm(catalog.templates.values(), session)
        ):
            # A sheet on a desk, photographed from so far that its code's modules and its marks' rings close up.
            found = Unidentified("unreadable", PageReason.of(Why.SHEET_TOO_SMALL, dpi=round(scale * MM_PER_INCH)))
    if not isinstance(found, Identified):
        kept = None if found.outcome == "blank" else reduced_image(image)
        return SheetRejected(found.outcome, found.reason, fingerprint, found.sheet, found.template_hash, kept)

    # Found by its marks with no serial at all: read all the same, for a clerk to count under the serial on the
    # paper; where it cannot be read, what the clerk is told is that no serial was found (count it by hand).
    serial_less = by_marks if by_marks is not None and by_marks.code in NO_SERIAL else None

    def rejected(reason: PageReason, *, serial_known: bool = True) -> SheetRejected:
        sheet = found.sheet if serial_known and serial_less is None else None
        return SheetRejected("unreadable", reason, fingerprint, sheet, found.template_hash, reduced_image(image))

    model = ballot_model(found.template)
    alignment = locate(image, found, model, settings, marks)
    if isinstance(alignment, AlignmentFailure):
        return rejected(serial_less or alignment.reason)
    checked = check_page(image, alignment, model)
    if checked.foreign is not None:  # another sheet's table: its serial may be the one read, so none is kept
        return rejected(checked.foreign, serial_known=False)
    scores = score_page(image, alignment, model, checked.lines)
    readings = classify_page(scores, settings)
    debug.write(_stem(page), lambda: draw_overlay(image, alignment, model.layout, scores, settings))
    kept = kept_image(page, alignment.matrix, model.layout)
    # A serial read from the print, not the code, is checked against those issued when the page is stored.
    if serial_less is not None:
        by_marks = PageReason.of(Why.SERIAL_TO_TYPE, template=found.template.id)
    return SheetRead(found.sheet, found.template_hash, alignment, scores, readings, fingerprint, kept, by_marks)


def locate(
    image: Gray, found: Identified, model: BallotModel, settings: ReadingSettings, marks: MarkSearch | None = None
) -> Alignment | AlignmentFailure:
    """The transform a sheet is read with: the registration marks' fit, refined on the printed borders. ``marks``:
    the image's :class:`~pipeline.reading.locate.MarkSearch`, where the caller keeps one."""
    marks = marks or MarkSearch(image)
    found = replace(found, qr=finder_corners(image, found.qr))
    alignment = align_page(image, model.layout, found.qr, settings.alignment)
    if isinstance(alignment, AlignmentFailure):
        if alignment.reason.code not in GROWN_INSTEAD:
            return alignment
        instead = _without_the_marks(image, found, model, settings, alignment, marks)
        return (
            instead
            if isinstance(instead, AlignmentFailure)
            else refine_alignment(image, instead, model, settings.alignment)
        )
    refined = refine_alignment(image, alignment, model, settings.alignment)
    if isinstance(refined, AlignmentFailure) and refined.reason.code == Why.BORDERS_MISSING:
        # The marks found where the code put them fit no page: one of them may be something else lying where a mark
        # cut off the image would be (a box, the code's own finder, a stain). Fitted without trusting them:
        instead = _without_the_marks(image, found, model, settings, refined, marks)
        if isinstance(instead, Alignment):
            return refine_alignment(image, instead, model, settings.alignment)
    return refined


def _without_the_marks(
    image: Gray,
    found: Identified,
    model: BallotModel,
    settings: ReadingSettings,
    failure: AlignmentFailure,
    marks: MarkSearch,
) -> Alignment | AlignmentFailure:
    """The page fitted another way than through the marks the code predicts: grown from the code over the boxes,
    else through the marks found anywhere in the photo (a steep photo's perspective), else grown from two of them
    and the code; ``failure`` if none."""
    grown = grow_from_code(image, found.qr, model, settings.alignment)
    if isinstance(grown, Alignment) or grown.reason.code == Why.CUT_OFF:
        return grown
    for candidates in marks.sets():  # the frame's marks, then the sheet's part of a photo's
        matrix = marks_fit(image, model, found.qr, candidates)
        if matrix is not None:
            by_marks = aligned_by(image, matrix, found.qr, model.layout, settings.alignment)
            if isinstance(by_marks, Alignment):
                return by_marks
        # Two marks cut off: the two left and the code fit the sheet near them, and the fit is grown from there.
        for start in anchored_fits(model, found.qr, candidates):
            grown = grow_from_code(image, found.qr, model, settings.alignment, start)
            if isinstance(grown, Alignment):
                return grown
    # A steep photo taken tight: the marks out of the frame, and the code, small on the photo's far side, too rough a
    # start to grow a fit over the boxes from (1 box of 34 found): the printed table's outline (where the frame cut it,
    # its far side taken from the rules running out of the picture, millimetres off at the code beside it), refitted
    # to the box borders found, checked against the code's corners as a fit through marks is.
    fitted = table_fit(image, model)
    for matrix in refitted(image, fitted[1], model) if fitted is not None else []:
        by_table = aligned_by(image, matrix, found.qr, model.layout, settings.alignment, marks=0)
        if isinstance(by_table, Alignment):
            return by_table
    return failure


def prepared_model(template: Template) -> BallotModel:
    """``template``'s model with what every stage derives from it already built (a scan builds it once, before
    its worker processes fork and inherit it)."""
    model = ballot_model(template)
    border_model(model).outlines  # noqa: B018 - built now, not on every worker's first page
    expected_rules_of(model)
    printed_of(model, LINES_PX_PER_MM)
    geometry_of(model)
    return model


def _stem(page: ScanPage) -> str:
    name = page.source.rsplit("/", 1)[-1]
    return f"{name}-p{page.page_no}"
