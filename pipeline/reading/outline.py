"""Outline: where a sheet lying on a darker surface shows in a photo.

A phone photo of a ballot on a desk may show the sheet in a part of the frame only, anywhere in it, tilted. The
code and marks are looked for first as if the sheet filled the frame (a scan, most photos); where that finds
too little, the sheet's own part of the photo is looked at as a page of its own (:class:`PhotoSheet`): its
corners are where the code and marks are, and their size is told from the sheet's, not the frame's. A page whose
code is looked for there and then its marks finds the sheet once (:class:`PhotoSheet`, shared).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import PAGE_H, PAGE_W
from pipeline.common.imaging import Gray

SHEET_SEARCH_PX = 600  # a sheet's outline is looked for on the photo reduced to this many pixels along its longer side
SHEET_AREA = (0.03, 0.9)  # … covering this share of the frame
WINDOW_MARGIN = 0.05  # the sheet's window reaches this share of its longer side beyond its outline (a blurred edge)
WINDOW_SMALLER = 0.8  # the window is looked at only where it covers under this share of the frame (else: the frame)


def sheet_outline(image: Gray) -> npt.NDArray[np.float64] | None:
    """The outline (convex hull, image pixels) of a sheet lying on a darker surface, or None where none shows: the
    largest bright region (Otsu's threshold on the photo reduced to SHEET_SEARCH_PX, print closed over) covering
    SHEET_AREA of the frame. A scan, or a photo the sheet fills, has no surface round it and no outline so."""
    factor = min(1.0, SHEET_SEARCH_PX / float(max(image.shape)))
    small = image if factor == 1.0 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = cv2.convexHull(max(contours, key=cv2.contourArea))
    if not SHEET_AREA[0] <= cv2.contourArea(sheet) / small.size <= SHEET_AREA[1]:
        return None
    return np.asarray(sheet, dtype=np.float64).reshape(-1, 2) / factor


@dataclass(frozen=True)
class SheetWindow:
    """The part of a photo a sheet lies in: where it starts in the photo, its pixels, and the sheet's size in it."""

    top: int
    left: int
    pixels: Gray
    px_per_mm: float  # over the sheet's whole outline (its near part larger, its far part smaller)


def outline_px_per_mm(outline: npt.NDArray[np.float64]) -> float:
    """How large the sheet whose ``outline`` it is came out (image px per page mm, over its whole area)."""
    return float(np.sqrt(cv2.contourArea(outline.astype(np.float32)) / (PAGE_W * PAGE_H)))


class PhotoSheet:
    """A photo's sheet lying on a darker surface, found on first use and once: its outline (:func:`sheet_outline`)
    and the part of the photo it lies in (:func:`window_around`). The search for a small code and the search for the
    marks of a page without one share it."""

    def __init__(self, image: Gray) -> None:
        self.image = image

    @cached_property
    def outline(self) -> npt.NDArray[np.float64] | None:
        return sheet_outline(self.image)

    @cached_property
    def window(self) -> SheetWindow | None:
        return window_around(self.image, self.outline)


def window_around(image: Gray, outline: npt.NDArray[np.float64] | None) -> SheetWindow | None:
    """The part of the photo within WINDOW_MARGIN of a sheet's ``outline``, where it is a part (under
    WINDOW_SMALLER of the frame); else None."""
    if outline is None:
        return None
    height, width = image.shape
    margin = WINDOW_MARGIN * float(np.ptp(outline, axis=0).max())
    left, top = np.maximum(np.floor(outline.min(axis=0) - margin), 0).astype(int)
    right, bottom = np.ceil(outline.max(axis=0) + margin).astype(int)
    right, bottom = min(int(right), width), min(int(bottom), height)
    if (right - left) * (bottom - top) >= WINDOW_SMALLER * width * height:
        return None
    return SheetWindow(int(top), int(left), image[top:bottom, left:right], outline_px_per_mm(outline))
