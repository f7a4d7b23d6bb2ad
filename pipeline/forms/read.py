"""Read a filled copy of an existing office form: find which form it is, align it on the form's own table,
score, classify and keep it. The existing-form branch of reading: it leaves our own ballots' path before
identify (a page without our QR code) and rejoins it at classification, so that rows are judged alike.

1. *Fit* (:func:`pipeline.forms.fitting.fit_forms`): the page's table, matched to each configured form rule
   for rule.
2. *Identification*: when several forms fit, the one whose own code (printed alike on every copy, listed in
   its template) the page carries is taken; else the title is re-sampled upright and OCR'd, and the form
   whose title it clearly resembles most is taken; otherwise the page is rejected as ``wrong_template``. How
   the form was recognised is kept as the page's reason.
3. *Scoring* (:mod:`pipeline.forms.scoring`) in :class:`~pipeline.reading.score.BoxScore` terms, then
   classification by :mod:`pipeline.reading.classify` exactly as for our own ballots.

A copy carries no serial: duplicates can only be told by file content and by identical page images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import zxingcpp

from pipeline.ballot.layout import Layout, compute_layout
from pipeline.ballot.payload import SheetId
from pipeline.ballot.template import Template
from pipeline.common.imaging import MM_PER_INCH, Gray
from pipeline.common.reasons import PageReason, Why
from pipeline.forms.fitting import FormFit, fit_forms
from pipeline.forms.ocr import LabelReader, similarity
from pipeline.forms.scoring import score_external
from pipeline.reading.align import Alignment
from pipeline.reading.classify import classify_page
from pipeline.reading.debug import DebugWriter, draw_overlay
from pipeline.reading.identify import is_blank
from pipeline.reading.ingest import ScanPage, image_fingerprint
from pipeline.reading.keep import kept_image, reduced_image
from pipeline.reading.outcome import SheetRead, SheetRejected
from pipeline.reading.settings import AlignmentLimits, ReadingSettings

TITLE_MARGIN_MM = 3.0  # around the blank's title box: the copy's title may sit a little apart
TITLE_PX_PER_MM = 12.0  # ≈ 300 dpi: the title is re-sampled this fine for OCR
MIN_TITLE_SIMILARITY = 0.6  # 1 − edit distance share: a few misread characters still name the form
TITLE_LEAD = 0.15  # the best title must be this much more alike than the next to decide between forms


def read_form_sheet(
    page: ScanPage,
    session: str,
    templates: Sequence[Template],
    settings: ReadingSettings,
    debug: DebugWriter | None = None,
) -> SheetRead | SheetRejected:
    """Find which external form ``page`` is, align it on the form's own ruling lines, score and classify it.

    Rejects rather than guesses: a page whose table does not match a form rule for rule, whose lines do not
    fit one flat page, or (with several forms) whose title does not clearly name one, is not read."""
    image = page.image
    fingerprint = image_fingerprint(image)
    if is_blank(image, settings.blank_page_ink):
        return SheetRejected("blank", PageReason.of(Why.BLANK), fingerprint)
    found = fit_forms(image, templates, page.dpi, settings.alignment)
    fits = [fit for fit in found if isinstance(fit, FormFit)]
    if not fits:
        failures = [{"code": str(fit.code), **fit.detail} for fit in found if isinstance(fit, PageReason)]
        reason = PageReason.of(Why.FORM_NOT_FOUND, failures=failures)
        return SheetRejected("unreadable", reason, fingerprint, image=reduced_image(image))
    if len(fits) == 1:
        fit, identified = fits[0], _found_by(fits[0], len(templates))
    else:
        chosen = _by_code(image, fits) or _by_title(image, fits)
        if isinstance(chosen, PageReason):
            return SheetRejected("wrong_template", chosen, fingerprint, image=reduced_image(image))
        fit, identified = chosen
    template = fit.template
    layout = compute_layout(template)
    alignment = _alignment(fit, layout, settings.alignment)
    if isinstance(alignment, PageReason):
        return SheetRejected(
            "unreadable", alignment, fingerprint, template_hash=template.content_hash(), image=reduced_image(image)
        )
    scores = score_external(image, fit.matrix, template, layout)
    readings = classify_page(scores, settings)
    if debug is not None:
        debug.write(
            f"{page.source.rsplit('/', 1)[-1]}-p{page.page_no}",
            lambda: draw_overlay(image, alignment, layout, scores, settings),
        )
    sheet = SheetId(template.id, template.short_hash(), session, "")
    review = kept_image(page, alignment.matrix, layout)
    return SheetRead(sheet, template.content_hash(), alignment, scores, readings, fingerprint, review, identified)


def _found_by(fit: FormFit, forms: int) -> PageReason:
    """How the one form that fits was recognised: its table, rule for rule, or its answer places."""
    if fit.expected:
        return PageReason.of(
            Why.FORM_BY_PLACES, form=fit.template.id, forms=forms, found=fit.crossings, expected=fit.expected
        )
    return PageReason.of(Why.FORM_BY_TABLE, form=fit.template.id, forms=forms)


def _by_code(image: Gray, fits: list[FormFit]) -> tuple[FormFit, PageReason] | None:
    """The one fitting form whose own printed code (the same on every copy) the page carries, if exactly one
    does; None when none or several do (the title then decides)."""
    codes = {id(fit): set(fit.template.external.codes) for fit in fits if fit.template.external is not None}
    if not any(codes.values()):
        return None
    printed = {result.text for result in zxingcpp.read_barcodes(image) if result.valid}
    carrying = [fit for fit in fits if printed & codes.get(id(fit), set())]
    if len(carrying) != 1:
        return None
    fit = carrying[0]
    code = sorted(printed & codes[id(fit)])[0]
    return fit, PageReason.of(Why.FORM_BY_CODE, form=fit.template.id, text=code[:40])


def _by_title(image: Gray, fits: list[FormFit]) -> tuple[FormFit, PageReason] | PageReason:
    """The fit whose form's title the page shows, clearly ahead of the others."""
    with LabelReader() as reader:
        scored = []
        for fit in fits:
            text = _title_text(image, fit, reader)
            scored.append((similarity(text, fit.template.title), text, fit))
    scored.sort(key=lambda item: -item[0])
    best, text, fit = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best < MIN_TITLE_SIMILARITY or best - runner_up < TITLE_LEAD:
        candidates = [item[2].template.id for item in scored]
        return PageReason.of(Why.FORM_AMBIGUOUS, forms=candidates, title=text)
    return fit, PageReason.of(Why.FORM_BY_TITLE, form=fit.template.id, title=text, percent=round(100 * best))


def _title_text(image: Gray, fit: FormFit, reader: LabelReader) -> str:
    external = fit.template.external
    assert external is not None
    if external.title_box is None:
        return ""
    box = external.title_box
    x0 = external.origin_x_mm + box.x - TITLE_MARGIN_MM
    y0 = external.origin_y_mm + box.y - TITLE_MARGIN_MM
    size = (
        round((box.w + 2 * TITLE_MARGIN_MM) * TITLE_PX_PER_MM),
        round((box.h + 2 * TITLE_MARGIN_MM) * TITLE_PX_PER_MM),
    )
    to_mm = np.array([[1 / TITLE_PX_PER_MM, 0, x0], [0, 1 / TITLE_PX_PER_MM, y0], [0, 0, 1]])
    crop = cv2.warpPerspective(
        image, fit.matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    read = reader.read(np.asarray(crop, dtype=np.uint8), line=True)
    return read.text if read is not None else ""


def _alignment(fit: FormFit, layout: Layout, limits: AlignmentLimits) -> Alignment | PageReason:
    """The fit as an :class:`Alignment` (the store keeps its numbers), unless the page looks distorted."""
    centre = np.array(
        [
            [[layout.page_w / 2, layout.page_h / 2]],
            [[layout.page_w / 2 + 1, layout.page_h / 2]],
            [[layout.page_w / 2, layout.page_h / 2 + 1]],
        ]
    )
    points = cv2.perspectiveTransform(centre, fit.matrix).reshape(-1, 2)
    along_x, along_y = points[1] - points[0], points[2] - points[0]
    sx, sy = float(np.linalg.norm(along_x)), float(np.linalg.norm(along_y))
    skew = abs(90.0 - math.degrees(math.acos(max(-1.0, min(1.0, float(along_x @ along_y) / (sx * sy))))))
    if float(along_x[0] * along_y[1] - along_x[1] * along_y[0]) <= 0:
        return PageReason.of(Why.MIRRORED)
    scale = (sx + sy) / 2
    if skew > limits.max_skew_deg or abs(sx - sy) / scale > limits.max_aspect_error:
        return PageReason.of(Why.FORM_DISTORTED, degrees=round(skew, 1), percent=round(100 * abs(sx - sy) / scale))
    if not limits.min_px_per_mm <= scale <= limits.max_px_per_mm:
        return PageReason.of(Why.RESOLUTION, dpi=round(scale * MM_PER_INCH))
    rotation = round(math.degrees(math.atan2(along_x[1], along_x[0])) % 360 / 90.0) % 4 * 90
    return Alignment(fit.matrix, rotation, fit.residual_mm, scale, skew, 0)
