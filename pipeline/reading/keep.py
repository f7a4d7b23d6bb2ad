"""Keep: what a page leaves for the clerk to look at.

A read sheet keeps its scan as its file holds it (a JPEG of a few hundred KB, shown upright through the page's
transform when viewed) or else an upright copy; a rejected page a reduced copy of the scan.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.ballot.layout import Layout
from pipeline.common.imaging import Gray, Matrix
from pipeline.reading.ingest import ScanPage
from pipeline.reading.outcome import PageImage

REVIEW_PX_PER_MM = 6.0  # ≈ 152 dpi: plenty for a clerk to judge a tick, ~150 KB a page as JPEG
REVIEW_JPEG_QUALITY = 82
REJECTED_MAX_SIDE = 1800
# A read sheet's JPEG scan up to this size is kept as it is: a grey A4 page at 200 dpi, ~0.25 MB, against the
# ~0.15 MB of an upright copy. Bigger files (300 dpi and more, colour, phone photos: 0.5 to several MB, slower
# to decode for each view) are kept as an upright copy at REVIEW_PX_PER_MM, as TIFF, PNG and rendered pages are,
# so that the database never grows by more than ~3× what upright copies take.
SCAN_KEPT_MAX_BYTES = 512 * 1024


def kept_image(page: ScanPage, matrix: Matrix, layout: Layout) -> PageImage:
    """What a read sheet keeps for review: its JPEG scan as the file holds it, when no bigger than
    SCAN_KEPT_MAX_BYTES (the ballot as it was scanned, and no time spent resampling and encoding a copy of
    every page, most of which no clerk opens); else the sheet resampled upright (:func:`upright_page`)."""
    if page.jpeg is not None and len(page.jpeg) <= SCAN_KEPT_MAX_BYTES:
        height, width = page.image.shape
        return PageImage("image/jpeg", width, height, page.jpeg, as_scanned=True)
    return review_image(upright_page(page.image, matrix, layout.page_w, layout.page_h))


def upright_page(
    image: Gray, matrix: Matrix, page_w: float, page_h: float, px_per_mm: float = REVIEW_PX_PER_MM
) -> Gray:
    """The sheet resampled upright at ``px_per_mm`` (pixel centres at (i + ½) / px_per_mm mm) through
    ``matrix`` (page mm → image px): crops for review are plain rectangles in mm."""
    return upright_region(image, matrix, (0.0, 0.0, page_w, page_h), px_per_mm)


def upright_region(image: Gray, matrix: Matrix, area_mm: tuple[float, float, float, float], px_per_mm: float) -> Gray:
    """The part ``area_mm`` (left, top, width, height) of the sheet resampled upright at ``px_per_mm``, as
    :func:`upright_page` would show it, without resampling the rest of the page."""
    left, top, width, height = area_mm
    scale = 1.0 / px_per_mm
    to_mm = np.array([[scale, 0, left + 0.5 * scale], [0, scale, top + 0.5 * scale], [0, 0, 1]], dtype=np.float64)
    size = (round(width * px_per_mm), round(height * px_per_mm))
    upright = cv2.warpPerspective(
        image, matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    return np.asarray(upright, dtype=np.uint8)


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
