"""Imaging types and the small statistics every stage uses.

The medians and percentiles here avoid ``np.median`` and ``np.percentile``, whose first call imports numpy.ma:
15 ms in every worker process, for a few thousand values whose arithmetic costs far less.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
"""An 8-bit grayscale image, rows × columns."""
Matrix = npt.NDArray[np.float64]
"""A 3 × 3 homography (or a 2 × 3 affine map), or an N × 2 array of points."""
Floats = npt.NDArray[np.float32]

MM_PER_INCH = 25.4


def upper_median(values: npt.NDArray[Any]) -> float:
    """The upper median, by a plain sort: np.median's generality costs more than the arithmetic on a few
    thousand values, and np.partition degrades badly on the many equal zeros of a clean patch (measured
    ~6× slower than sorting)."""
    return float(np.sort(values, axis=None)[values.size // 2])


def median(values: Floats) -> float:
    """np.median's value (the mean of the two middle values when their count is even), in the values' own
    precision."""
    ordered = np.sort(values, axis=None)
    return float((ordered[(ordered.size - 1) // 2] + ordered[ordered.size // 2]) / np.float32(2))


def percentile(values: npt.NDArray[Any], q: float) -> float:
    """np.percentile's linear interpolation between closest ranks."""
    ordered = np.sort(values)
    position = q / 100.0 * (ordered.size - 1)
    below = int(position)
    above = min(below + 1, ordered.size - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


@cache
def register_heif() -> None:
    """Pillow opens and writes HEIF files once pillow-heif has registered itself (once per process: 50 ms, so only
    where a file is one). A picture opened comes upright as the phone showed it (its rotation applied, its EXIF
    orientation then reset, so nothing turns it twice)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
