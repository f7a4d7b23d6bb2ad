"""What reading one page yields: the sheet's scores and readings, or the reason it is not counted.

Shared by both readers, :mod:`pipeline.reading.read` (our own ballots, found by their QR code) and
:mod:`pipeline.forms.fitting` (existing office forms, found by their ruling lines), with the image helpers both
use to keep a page for the clerk: a read sheet's scan as its file holds it (a JPEG of a few hundred KB, shown
upright through the page's transform when viewed) or else an upright copy, a reduced copy of a rejected page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.ballot.payload import SheetId
from pipeline.common.imaging import Gray, Matrix
from pipeline.reading.align import Alignment
from pipeline.reading.classify import RowReading
from pipeline.reading.ingest import ScanPage
from pipeline.reading.score import BoxScore

REVIEW_PX_PER_MM = 6.0  # ≈ 152 dpi: plenty for a clerk to judge a tick, ~150 KB a page as JPEG
REVIEW_JPEG_QUALITY = 82
REJECTED_MAX_SIDE = 1800
# A read sheet's JPEG scan up to this size is kept as it is: a grey A4 page at 200 dpi, ~0.25 MB, against the
# ~0.15 MB of an upright copy. Bigger files (300 dpi and more, colour, phone photos: 0.5 to several MB, slower
# to decode for each view) are kept as an upright copy at REVIEW_PX_PER_MM, as TIFF, PNG and rendered pages are,
# so that the database never grows by more than ~3× what upright copies take.
SCAN_KEPT_MAX_BYTES = 512 * 1024
BLANK_DARK_LEVEL = 110  # grey level below which a pixel counts as real ink on a blank-page test


@dataclass(frozen=True)
class PageImage:
    """An encoded image kept for review. ``as_scanned``: the page's scan as its file holds it, to be shown
    through the page's transform (:func:`upright_page`); else the image is shown as it is."""

    mime: str
    width: int
    height: int
    data: bytes
    as_scanned: bool = False


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


def kept_image(page: ScanPage, matrix: Matrix, page_w: float, page_h: float) -> PageImage:
    """What a read sheet keeps for review: its JPEG scan as the file holds it, when no bigger than
    SCAN_KEPT_MAX_BYTES (the ballot as it was scanned, and no time spent resampling and encoding a copy of
    every page, most of which no clerk opens); else the sheet resampled upright (:func:`upright_page`)."""
    if page.jpeg is not None and len(page.jpeg) <= SCAN_KEPT_MAX_BYTES:
        height, width = page.image.shape
        return PageImage("image/jpeg", width, height, page.jpeg, as_scanned=True)
    return review_image(upright_page(page.image, matrix, page_w, page_h))


def upright_page(
    image: Gray, matrix: Matrix, page_w: float, page_h: float, px_per_mm: float = REVIEW_PX_PER_MM
) -> Gray:
    """The sheet resampled upright at ``px_per_mm`` (pixel centres at (i + ½) / px_per_mm mm) through
    ``matrix`` (page mm → image px): crops for review are plain rectangles in mm."""
    scale = 1.0 / px_per_mm
    to_mm = np.array([[scale, 0, 0.5 * scale], [0, scale, 0.5 * scale], [0, 0, 1]], dtype=np.float64)
    size = (round(page_w * px_per_mm), round(page_h * px_per_mm))
    upright = cv2.warpPerspective(
        image, matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    return np.asarray(upright, dtype=np.uint8)


def coarse_upright(
    image: Gray, matrix: Matrix, page_w: float, page_h: float, px_per_mm: float, scan_px_per_mm: float
) -> Gray:
    """The sheet upright at a coarse ``px_per_mm`` (as :mod:`pipeline.reading.check` looks for ruled lines), from a
    scan at ``scan_px_per_mm``, without resampling the whole scan finely first: the scan is halved (cv2.pyrDown,
    which smooths first, so that thin lines are kept rather than stepped over) while it stays at least as fine;
    still 1.5× finer or more, it is smoothed over 3 × 3 pixels; then resampled once. Across 130–400 dpi, upright
    or skewed, this finds as many rule pixels (within 2 %) as resampling at REVIEW_PX_PER_MM and reducing by
    area, in under a third of the time (1.8 against 6.2 ms a 200-dpi page)."""
    halve = np.diag([0.5, 0.5, 1.0])  # pyrDown's pixel j is centred on the scan's pixel 2j
    while scan_px_per_mm / 2 >= px_per_mm:
        image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
        matrix = halve @ matrix
        scan_px_per_mm /= 2
    if scan_px_per_mm >= 1.5 * px_per_mm:
        image = np.asarray(cv2.blur(image, (3, 3)), dtype=np.uint8)
    return upright_page(image, matrix, page_w, page_h, px_per_mm)


def review_image(upright: Gray) -> PageImage:
    """An upright sheet (:func:`upright_page`) as it is kept for review or shown."""
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
