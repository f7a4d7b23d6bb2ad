"""Read one sheet: the stages in order, from a decoded page to scores and row readings.

``read_sheet`` is pure (no database): it runs in worker processes. What needs the whole session's history
(was this serial issued? was it read before?) is decided by :mod:`pipeline.scanning.batch` when the result is
stored. Every page ends in exactly one of the results of :mod:`pipeline.reading.outcome`.

A page without our QR code is tried against the session's existing office forms, if any were configured
(:mod:`pipeline.forms.fitting`), before it is called unreadable.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ballot.template import Template
from pipeline.forms.fitting import read_external_sheet
from pipeline.reading.align import AlignmentFailure
from pipeline.reading.check import LINES_PX_PER_MM, foreign_rules
from pipeline.reading.classify import classify_page
from pipeline.reading.debug import DebugWriter, draw_overlay
from pipeline.reading.identify import find_qr, find_small_qr, first_ballot
from pipeline.reading.ingest import ScanPage, image_fingerprint
from pipeline.reading.outcome import (
    SheetRead,
    SheetRejected,
    SheetResult,
    coarse_upright,
    is_blank,
    kept_image,
    reduced_image,
)
from pipeline.reading.refine import fit_page
from pipeline.reading.score import score_page, template_model
from pipeline.reading.settings import ReadingSettings


def read_sheet(
    page: ScanPage,
    session: str,
    templates: dict[tuple[str, str], tuple[str, Template]],
    settings: ReadingSettings,
    debug: DebugWriter,
    forms: Sequence[Template] = (),
) -> SheetResult:
    """Identify, align, score and classify one page. ``templates`` maps (id, short hash) → (hash, template);
    ``forms`` are the existing office forms (``source: external``) a page without a QR code may be."""
    image = page.image
    fingerprint = image_fingerprint(image)
    qr = find_qr(image)
    blank = qr is None and is_blank(image, settings.blank_page_ink)
    if (qr is None and not blank) or (qr is not None and isinstance(qr.sheet, str)):
        qr = first_ballot((qr, find_small_qr(image)))
    if qr is None:
        if forms:
            return read_external_sheet(page, session, forms, settings, debug)
        if blank:
            return SheetRejected("blank", "blank page (e.g. the back of a duplex scan)", fingerprint)
        return SheetRejected(
            "unreadable",
            "no ballot QR code found: not a ballot, or the code is covered, cut off or too blurred",
            fingerprint,
            image=reduced_image(image),
        )
    if qr.overlap is not None:  # two ballots: neither sheet's marks can be trusted to be its own
        return SheetRejected("unreadable", qr.overlap, fingerprint, image=reduced_image(image))
    if isinstance(qr.sheet, str):
        return SheetRejected("wrong_template", qr.sheet, fingerprint, image=reduced_image(image))
    sheet = qr.sheet
    known = templates.get((sheet.template_id, sheet.short_hash))
    if known is None:
        return SheetRejected(
            "wrong_template",
            f"template {sheet.template_id} ({sheet.short_hash}) was never printed with this database",
            fingerprint,
            sheet,
            image=reduced_image(image),
        )
    template_hash, template = known
    if sheet.session != session:
        return SheetRejected(
            "wrong_session",
            f"ballot of session {sheet.session}, not {session}",
            fingerprint,
            sheet,
            template_hash,
            reduced_image(image),
        )
    model = template_model(template)
    alignment = fit_page(image, qr, model.borders, settings.alignment)
    if isinstance(alignment, AlignmentFailure):
        return SheetRejected("unreadable", alignment.reason, fingerprint, sheet, template_hash, reduced_image(image))
    page_w, page_h = model.layout.page_w, model.layout.page_h
    lines = coarse_upright(image, alignment.matrix, page_w, page_h, LINES_PX_PER_MM, alignment.px_per_mm)
    other_sheet = foreign_rules(lines, LINES_PX_PER_MM, model.expected_rules)
    if other_sheet is not None:
        return SheetRejected("unreadable", other_sheet, fingerprint, None, template_hash, reduced_image(image))
    scores = score_page(image, alignment, model)
    readings = classify_page(scores, settings)
    debug.write(f"{_stem(page)}", lambda: draw_overlay(image, alignment, model.layout, scores, settings))
    kept = kept_image(page, alignment.matrix, page_w, page_h)
    return SheetRead(sheet, template_hash, alignment, scores, readings, fingerprint, kept)


def _stem(page: ScanPage) -> str:
    name = page.source.rsplit("/", 1)[-1]
    return f"{name}-p{page.page_no}"
