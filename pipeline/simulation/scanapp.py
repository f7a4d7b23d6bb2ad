"""A phone scanner app: what 扫描全能王 (CamScanner), 微信 / WPS 文件扫描 or iOS 扫描文稿 make of a photo of a sheet
(the ``scanner-app`` condition).

Contract. :func:`scanner_app` takes the phone's grey photo (after its own sharpening, before the JPEG the app saves),
draws everything from its ``rng``, records ``app`` in ``applied`` (the photo → output homography, which
:func:`pipeline.simulation.geometry.page_to_image` follows, and what the app did) and returns the app's page.

What the world does, as described to us: the app finds the sheet's four corners by its edges, each a millimetre or
two off, and now and then takes a shadow, a fold of the paper or the desk's edge for one of them, several millimetres
off; it maps that quadrilateral onto an upright A4 rectangle at its output resolution (what the lens bent and the
paper's curl stay); then it "enhances" the picture: most often it whitens the paper by dividing by the light it
estimates and raises the contrast (the apps' default), or makes a black-and-white document of it by a local threshold
(light pencil may break up or vanish), or leaves it grey; it often sharpens. It writes 72 dpi or its own resolution
into the file.
"""

from __future__ import annotations

from typing import Literal, cast

import cv2
import numpy as np

from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.effects import PAGE_MM, Gray, Matrix, pick
from pipeline.simulation.geometry import page_to_image

AppMode = Literal["enhance", "black_and_white", "grey"]
APP_MODES: tuple[AppMode, ...] = ("enhance", "black_and_white", "grey")
APP_MODE_SHARES = (0.55, 0.2, 0.25)
WIPING_FILTERS = ("enhance", "black_and_white")  # the filters that may wipe a light mark out (the truth's legibility)
APP_DPI = (150.0, 300.0)  # the app's page: a "standard" 1240 × 1754 to an "HD" 2480 × 3508
APP_STATES_72_SHARE = 0.5  # … the file says 72 dpi (else the app's own resolution)
CORNER_SIGMA_MM = (0.3, 1.5)  # each corner found this far off its true place (σ, per photo) …
CORNER_SLIP_SHARE = 0.15  # … and on some photos one corner taken from a shadow or the desk's edge …
CORNER_SLIP_MM = (3.0, 8.0)  # … this far off
LIGHT_WINDOW_MM = 6.0  # the light the app divides by: the paper's brightness over windows wider than a stroke …
LIGHT_BLUR_MM = 4.0  # … smoothed
ENHANCE_BLACK = (20.0, 70.0)  # the grey level (after the light is divided out) the contrast stretch takes to black …
ENHANCE_WHITE = (225.0, 245.0)  # … and to white
ENHANCE_GAMMA = (1.0, 1.5)  # mid-greys darkened (>1) as the apps' "sharpen text" filters do
THRESHOLD_WINDOW_MM = (3.0, 8.0)  # black-and-white: the local mean's window …
THRESHOLD_OFFSET = (8.0, 20.0)  # … which a pixel must be this many grey levels under to come out black
APP_SHARPEN_SHARE = 0.5
APP_SHARPEN = (0.3, 1.0)  # unsharp mask weight, σ one output pixel


def scanner_app(photo: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """The app's page from the phone's ``photo``: the corners found, flattened to A4, enhanced."""
    dpi = float(rng.uniform(*APP_DPI))
    px_per_mm = dpi / MM_PER_INCH
    size = (round(PAGE_MM[0] * px_per_mm), round(PAGE_MM[1] * px_per_mm))
    found_mm, errors = _corners_found(rng)
    seen = page_to_image(applied, found_mm)
    # The app puts the corner nearest the photo's top left at the page's top left: an upside-down photo stays so.
    order = [
        int(np.argmin(seen.sum(axis=1))),
        int(np.argmax(seen[:, 0] - seen[:, 1])),
        int(np.argmax(seen.sum(axis=1))),
        int(np.argmax(seen[:, 1] - seen[:, 0])),
    ]
    width, height = size
    target = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]])
    matrix: Matrix = np.asarray(
        cv2.getPerspectiveTransform(seen[order].astype(np.float32), target.astype(np.float32)), np.float64
    )
    flat = np.asarray(
        cv2.warpPerspective(photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.uint8
    )
    mode = pick(rng, APP_MODES, APP_MODE_SHARES)
    record: dict[str, object] = {
        "matrix": [[round(float(value), 9) for value in row] for row in matrix / matrix[2, 2]],
        "dpi": round(dpi, 1),
        "mode": mode,
        "corner_error_mm": errors,
    }
    page = _enhanced(flat, rng, record, px_per_mm, mode)
    if mode != "black_and_white" and rng.random() < APP_SHARPEN_SHARE:
        weight = float(rng.uniform(*APP_SHARPEN))
        soft = cv2.GaussianBlur(page, (0, 0), 1.0).astype(np.float32)
        page = np.asarray(np.clip(page + weight * (page - soft), 0, 255), np.uint8)
        record["sharpen"] = round(weight, 3)
    applied["app"] = record
    applied["file_dpi"] = 72.0 if rng.random() < APP_STATES_72_SHARE else round(dpi, 1)
    return page


def app_filter(applied: dict[str, object]) -> str | None:
    """The filter a scanner app put the page through (one of APP_MODES), or None where no app took it."""
    app = applied.get("app")
    return str(app["mode"]) if isinstance(app, dict) else None


def _corners_found(rng: np.random.Generator) -> tuple[np.ndarray, list[list[float]]]:
    """The sheet's corners (page mm, clockwise from top left) where the app found them, and how far off each is."""
    width, height = PAGE_MM
    corners = np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])
    errors = rng.normal(0.0, rng.uniform(*CORNER_SIGMA_MM), (4, 2))
    if rng.random() < CORNER_SLIP_SHARE:
        angle = rng.uniform(0, 2 * np.pi)
        errors[int(rng.integers(4))] += rng.uniform(*CORNER_SLIP_MM) * np.array([np.cos(angle), np.sin(angle)])
    return corners + errors, [[round(float(value), 2) for value in error] for error in errors]


def _enhanced(flat: Gray, rng: np.random.Generator, record: dict[str, object], px_per_mm: float, mode: str) -> Gray:
    """The app's filter: the paper whitened and the contrast raised, black and white by a local threshold, or grey."""
    if mode == "grey":
        return flat
    if mode == "black_and_white":
        window = round(rng.uniform(*THRESHOLD_WINDOW_MM) * px_per_mm) | 1
        offset = float(rng.uniform(*THRESHOLD_OFFSET))
        record.update(window_px=window, offset=round(offset, 1))
        thresholded = cv2.adaptiveThreshold(
            flat, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, window, offset
        )
        return np.asarray(thresholded, np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (round(LIGHT_WINDOW_MM * px_per_mm) | 1,) * 2)
    closed = cv2.morphologyEx(flat, cv2.MORPH_CLOSE, kernel).astype(np.float32)
    light = np.asarray(cv2.GaussianBlur(closed, (0, 0), LIGHT_BLUR_MM * px_per_mm), np.float32)
    divided = flat.astype(np.float32) / np.maximum(light, 1.0) * 255.0
    black, white = float(rng.uniform(*ENHANCE_BLACK)), float(rng.uniform(*ENHANCE_WHITE))
    gamma = float(rng.uniform(*ENHANCE_GAMMA))
    record.update(black=round(black, 1), white=round(white, 1), gamma=round(gamma, 3))
    stretched = np.clip((divided - black) / (white - black), 0.0, 1.0) ** gamma
    return cast(Gray, np.asarray(np.round(stretched * 255.0), np.uint8))
