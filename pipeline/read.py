"""Read one sheet: the stages in order, from a decoded page to scores and row readings.

``read_sheet`` is pure (no database): it runs in worker processes. What needs the whole session's history
(was this serial issued? was it read before?) is decided by :mod:`pipeline.scan` when the result is
stored. Every page ends in exactly one of the result types below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.align import Alignment, AlignmentFailure, align_page
from pipeline.classify import RowReading, classify_page
from pipeline.debug import DebugWriter, draw_overlay
from pipeline.identify import find_qr
from pipeline.ingest import Gray, ScanPage, image_fingerprint
from pipeline.payload import SheetId
from pipeline.refine import refine_alignment
from pipeline.score import BoxScore, score_page, template_model
from pipeline.settings import ReadingSettings
from pipeline.template import Template

REVIEW_PX_PER_MM = 6.0  # ≈ 152 dpi: plenty for a clerk to judge a tick, ~150 KB a page as JPEG
REVIEW_JPEG_QUALITY = 82
REJECTED_MAX_SIDE = 1800
BLANK_DARK_LEVEL = 110  # grey level below which a pixel counts as real ink on a blank-page test


@dataclass(frozen=True)
class PageImage:
    """An encoded image kept for review."""

    mime: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class SheetRead:
    """A ballot whose geometry was trusted and every box scored (serial not yet checked)."""

    sheet: SheetId
    template_hash: str
    alignment: Alignment
    scores: list[BoxScore]
    readings: list[RowReading]
    fingerprint: str
    image: PageImage


@dataclass(frozen=True)
class SheetRejected:
    """A page that is not counted: outcome is blank, unreadable, wrong_template or wrong_session."""

    outcome: str
    reason: str
    fingerprint: str
    sheet: SheetId | None = None
    template_hash: str | None = None
    image: PageImage | None = field(default=None, repr=False)


SheetResult = SheetRead | SheetRejected


def read_sheet(
    page: ScanPage,
    session: str,
    templates: dict[tuple[str, str], tuple[str, Template]],
    settings: ReadingSettings,
    debug: DebugWriter,
) -> SheetResult:
    """Identify, align, score and classify one page. ``templates`` maps (id, short hash) → (hash, template)."""
    image = page.image
    fingerprint = image_fingerprint(image)
    qr = find_qr(image)
    if qr is None:
        if _is_blank(image, settings.blank_page_ink):
            return SheetRejected("blank", "blank page (e.g. the back of a duplex scan)", fingerprint)
        return SheetRejected(
            "unreadable",
            "no ballot QR code found: not a ballot, or the code is covered, cut off or too blurred",
            fingerprint,
            image=_reduced(image),
        )
    if isinstance(qr.sheet, str):
        return SheetRejected("wrong_template", qr.sheet, fingerprint, image=_reduced(image))
    sheet = qr.sheet
    known = templates.get((sheet.template_id, sheet.short_hash))
    if known is None:
        return SheetRejected(
            "wrong_template",
            f"template {sheet.template_id} ({sheet.short_hash}) was never printed with this database",
            fingerprint,
            sheet,
            image=_reduced(image),
        )
    template_hash, template = known
    if sheet.session != session:
        return SheetRejected(
            "wrong_session",
            f"ballot of session {sheet.session}, not {session}",
            fingerprint,
            sheet,
            template_hash,
            _reduced(image),
        )
    model = template_model(template)
    alignment = align_page(image, model.layout, qr, settings.alignment)
    if not isinstance(alignment, AlignmentFailure):
        alignment = refine_alignment(image, alignment, model.borders, settings.alignment)
    if isinstance(alignment, AlignmentFailure):
        return SheetRejected("unreadable", alignment.reason, fingerprint, sheet, template_hash, _reduced(image))
    scores = score_page(image, alignment.matrix, model)
    readings = classify_page(scores, settings)
    debug.write(f"{_stem(page)}", lambda: draw_overlay(image, alignment, model.layout, scores, settings))
    review = _aligned_page(image, alignment, model.layout.page_w, model.layout.page_h)
    return SheetRead(sheet, template_hash, alignment, scores, readings, fingerprint, review)


def _stem(page: ScanPage) -> str:
    name = page.source.rsplit("/", 1)[-1]
    return f"{name}-p{page.page_no}"


def _is_blank(image: Gray, max_ink: float) -> bool:
    small = image[::4, ::4]
    return float(np.count_nonzero(small < BLANK_DARK_LEVEL)) / small.size < max_ink


def _aligned_page(image: Gray, alignment: Alignment, page_w: float, page_h: float) -> PageImage:
    """The sheet resampled upright at REVIEW_PX_PER_MM: crops for review are plain rectangles in mm."""
    scale = 1.0 / REVIEW_PX_PER_MM
    to_mm = np.array([[scale, 0, 0.5 * scale], [0, scale, 0.5 * scale], [0, 0, 1]], dtype=np.float64)
    size = (round(page_w * REVIEW_PX_PER_MM), round(page_h * REVIEW_PX_PER_MM))
    upright = cv2.warpPerspective(
        image, alignment.matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    return _jpeg(np.asarray(upright, dtype=np.uint8))


def _reduced(image: Gray) -> PageImage:
    height, width = image.shape
    factor = min(1.0, REJECTED_MAX_SIDE / max(height, width))
    if factor < 1.0:
        size = (int(width * factor), int(height * factor))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return _jpeg(image)


def _jpeg(image: Gray) -> PageImage:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, REVIEW_JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    height, width = image.shape
    return PageImage("image/jpeg", width, height, encoded.tobytes())
