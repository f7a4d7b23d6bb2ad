"""What reading one page yields: the sheet's scores and readings, or the reason it is not counted.

Shared by both readers, :mod:`pipeline.read` (our own ballots, found by their QR code) and
:mod:`pipeline.external` (existing office forms, found by their ruling lines), with the image helpers both
use to keep a page for the clerk: an upright copy of a read sheet, a reduced copy of a rejected page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.align import Alignment
from pipeline.classify import RowReading
from pipeline.ingest import Gray
from pipeline.payload import SheetId
from pipeline.score import BoxScore

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
    identified_by: str = ""  # for a form without a QR code: how it was recognised (kept as the page's reason)


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


def is_blank(image: Gray, max_ink: float) -> bool:
    small = image[::4, ::4]
    return float(np.count_nonzero(small < BLANK_DARK_LEVEL)) / small.size < max_ink


def aligned_page(image: Gray, alignment: Alignment, page_w: float, page_h: float) -> PageImage:
    """The sheet resampled upright at REVIEW_PX_PER_MM: crops for review are plain rectangles in mm."""
    return review_image(upright_page(image, alignment, page_w, page_h))


def upright_page(image: Gray, alignment: Alignment, page_w: float, page_h: float) -> Gray:
    """The sheet resampled upright at REVIEW_PX_PER_MM (pixel centres at (i + ½) / REVIEW_PX_PER_MM mm)."""
    scale = 1.0 / REVIEW_PX_PER_MM
    to_mm = np.array([[scale, 0, 0.5 * scale], [0, scale, 0.5 * scale], [0, 0, 1]], dtype=np.float64)
    size = (round(page_w * REVIEW_PX_PER_MM), round(page_h * REVIEW_PX_PER_MM))
    upright = cv2.warpPerspective(
        image, alignment.matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    return np.asarray(upright, dtype=np.uint8)


def review_image(upright: Gray) -> PageImage:
    """An upright sheet (:func:`upright_page`) as it is kept for review."""
    return _jpeg(upright)


def reduced_image(image: Gray) -> PageImage:
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
