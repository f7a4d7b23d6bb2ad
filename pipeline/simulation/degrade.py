"""Degrade: make a clean, filled-in ballot page look like what a real office scanner, fax or phone delivers.

Contract. :func:`degrade` takes an 8-bit grey page rendered at ``source_dpi`` (image edges = paper edges)
and returns the device's image and ``applied``: every random parameter it drew (JSON-serialisable, so a
failure can be reproduced from the seed), ``upside_down``, ``dpi`` (true page resolution), ``file_dpi``
(what the file header will claim) and ``page_mm_to_image``, the 3×3 homography from page millimetres to
output pixel centres (before the small non-linear paper curl of phone photos). All randomness comes from
the ``rng`` argument. Per-batch device settings (resolution, JPEG quality, feed habits) are a
:class:`Device`, drawn once per batch by :func:`device_for`. :class:`ScanWriter` writes the pages in the
file formats devices use (JPEG, PNG, LZW or CCITT G4 TIFF, PDF with embedded images).

Order follows the physics: paper damage (fold, bleed-through) → printing tone → capture geometry →
optics (blur) → lighting (phone) → sensor (noise, dust, streaks) → device processing (sharpen,
binarise, JPEG).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, TypeVar, cast

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, TiffImagePlugin

from pipeline.common.imaging import MM_PER_INCH

T = TypeVar("T")
Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]
Profile = Literal["office", "fax", "phone", "bad"]
Binarise = Literal["none", "otsu", "fixed", "dither"]
FileFormat = Literal["jpeg", "png", "tiff", "pdf"]

PAGE_MM = (210.0, 297.0)
SOURCE_DPI = 300.0
PHONE_FILE_DPI = 72.0  # phones write 72 dpi whatever the distance: the reader must not trust it
PHONE_FRAME_ASPECT = 3 / 4
FAX_DPI, BAD_DPI = 200.0, 150.0
UPSIDE_DOWN_RATE: dict[str, float] = {"office": 0.10, "fax": 0.10, "phone": 0.05, "bad": 0.25}
BAD_BASES: tuple[Profile, ...] = ("office", "phone", "fax")
BAD_BASE_SHARES = (0.45, 0.35, 0.20)
# Ranges drawn per page; a single number x means the range −x … +x.
SCANNER_ANGLE_DEG: dict[str, float] = {"office": 1.5, "fax": 2.0}
SCANNER_SHIFT_MM = 3.0
SCANNER_SCALE = 0.01
SCANNER_BLUR_PX = (0.3, 0.9)
SCANNER_NOISE = (1.5, 4.0)
OFFICE_DPIS = (200.0, 300.0)
OFFICE_JPEG = (70, 90)
PHONE_DPI, BAD_PHONE_DPI = (150.0, 220.0), (140.0, 160.0)
PHONE_ANGLE_DEG = 4.0
PHONE_SCALE = 0.02
PHONE_CORNER_SHARE = 0.04  # perspective: each page corner moves by up to this share of the page's size
PHONE_MARGIN_SHARE = (0.03, 0.12)  # desk seen around the page, per side, as a share of the page's long side
BAD_PHONE_MARGIN_SHARE = (-0.02, 0.12)  # a careless photo may cut a corner off
PHONE_CURL_MM, BAD_PHONE_CURL_MM = 1.0, 1.8
PHONE_BLUR_PX, BAD_PHONE_BLUR_PX = (0.5, 1.5), (0.5, 1.2)
PHONE_MOTION_PX = 3.0
PHONE_NOISE = (3.0, 8.0)
PHONE_JPEG = (40, 75)
PHONE_SHARPEN_SHARE = 0.6
FAX_THRESHOLD = (120.0, 175.0)
FAX_NOISE = (6.0, 18.0)  # grey-level noise added before thresholding: ragged, dither-like edges
FAX_PEPPER = (0.0002, 0.002)  # share of pixels flipped by line noise
FAX_SALT_SHARE = 0.2  # of those, the share turned white (the rest black)
FAX_STREAK_COUNTS = (0, 0, 1)  # a dirty scanning glass draws a line down every page it sends
FAX_GLITCH_COUNTS = (0, 0, 0, 1, 1, 2)  # lines lost in transmission per page (error correction saves most)
BAYER_8 = np.array(
    [
        [0, 32, 8, 40, 2, 34, 10, 42],
        [48, 16, 56, 24, 50, 18, 58, 26],
        [12, 44, 4, 36, 14, 46, 6, 38],
        [60, 28, 52, 20, 62, 30, 54, 22],
        [3, 35, 11, 43, 1, 33, 9, 41],
        [51, 19, 59, 27, 49, 17, 57, 25],
        [15, 47, 7, 39, 13, 45, 5, 37],
        [63, 31, 55, 23, 61, 29, 53, 21],
    ],
    dtype=np.float32,
)
EXTENSION: dict[str, str] = {"jpeg": "jpg", "png": "png", "tiff": "tif", "pdf": "pdf"}
FIXED_PDF_DATE = time.gmtime(1_767_225_600)  # 2026-01-01: fixed, so that one seed gives identical files


def pick(rng: np.random.Generator, items: Sequence[T], shares: Sequence[float] | None = None) -> T:
    """One of ``items`` (``shares``: probabilities), as the item itself rather than a numpy scalar."""
    return items[int(rng.choice(len(items), p=shares))]


@dataclass(frozen=True)
class Device:
    """Settings that stay fixed over a batch: one machine, one operator."""

    dpi: float  # nominal output resolution (phones: ignored, each photo has its own distance)
    jpeg_quality: int | None  # None: drawn per page (phone photos recompressed by chat apps)
    upside_down_rate: float  # share of sheets fed or photographed upside down
    backing: int  # grey of the scanner lid or feeder backing seen around a shifted page
    binarise: Binarise  # fax thresholding mode


def device_for(profile: Profile, rng: np.random.Generator) -> Device:
    """Draw the batch settings a device of ``profile`` would have."""
    backing = int(rng.integers(235, 256)) if rng.random() < 0.7 else int(rng.integers(40, 90))
    # Faxes send text in threshold mode; only a badly set machine uses halftone ("photo") mode on a form.
    mode: Binarise = pick(rng, ("otsu", "fixed", "dither"), (0.45, 0.35, 0.20) if profile == "bad" else (0.6, 0.4, 0.0))
    quality = int(rng.integers(OFFICE_JPEG[0], OFFICE_JPEG[1] + 1))
    match profile:
        case "office":
            return Device(pick(rng, OFFICE_DPIS), quality, UPSIDE_DOWN_RATE[profile], backing, "none")
        case "fax":
            return Device(FAX_DPI, None, UPSIDE_DOWN_RATE[profile], backing, mode)
        case "phone":
            return Device(PHONE_FILE_DPI, None, UPSIDE_DOWN_RATE[profile], backing, "none")
        case "bad":
            return Device(BAD_DPI, None, UPSIDE_DOWN_RATE[profile], backing, mode)
    raise AssertionError(profile)


def degrade(
    image: Gray,
    profile: Profile,
    rng: np.random.Generator,
    *,
    source_dpi: float = SOURCE_DPI,
    device: Device | None = None,
) -> tuple[Gray, dict[str, object]]:
    """The page as ``profile``'s device would deliver it, and every parameter applied."""
    device = device or device_for(profile, rng)
    applied: dict[str, object] = {"profile": profile, "device": asdict(device)}
    base = profile
    page = image
    if profile == "bad":
        base = pick(rng, BAD_BASES, BAD_BASE_SHARES)
        applied["base"] = base
        page = _paper_damage(page, rng, applied, source_dpi / MM_PER_INCH)
    bad = profile == "bad"
    page = _print_tone(page, rng, applied, faded=bad, phone=base == "phone")
    upside_down = bool(rng.random() < device.upside_down_rate)
    applied["upside_down"] = upside_down
    if base == "phone":
        out = _phone(page, rng, applied, source_dpi, upside_down=upside_down, bad=bad)
    else:
        out = _scanner(page, rng, applied, source_dpi, device, upside_down=upside_down, fax=base == "fax", bad=bad)
    if base != "phone":
        streaks = int(rng.integers(1, 6)) if bad else pick(rng, FAX_STREAK_COUNTS) if base == "fax" else 0
        out = _streaks(out, rng, applied, streaks)
    out = _speckle(out, rng, applied, heavy=bad)
    if base == "fax":
        out = _binarise(out, rng, applied, device.binarise)
        return out, applied
    if base == "phone" and rng.random() < PHONE_SHARPEN_SHARE:
        out = _sharpen(out, rng, applied)
    low, high = PHONE_JPEG if base == "phone" or bad else OFFICE_JPEG
    quality = device.jpeg_quality or int(rng.integers(low, high + 1))
    applied["jpeg_quality"] = quality
    return _jpeg_round_trip(out, quality), applied


def _paper_damage(page: Gray, rng: np.random.Generator, applied: dict[str, object], px_per_mm: float) -> Gray:
    """What happened to the sheet before it reached the device: folded into the ballot box, thin paper."""
    out = page.astype(np.float32)
    folds = []
    for fold_mm in (148.5,) if rng.random() < 0.6 else (99.0, 198.0):
        y_mm, angle = fold_mm + rng.uniform(-8, 8), rng.uniform(-2.5, 2.5)
        depth = rng.uniform(0.08, 0.3)
        _crease(out, y_mm * px_per_mm, math.radians(angle), depth, px_per_mm)
        folds.append({"y_mm": round(y_mm, 2), "angle_deg": round(angle, 3), "depth": round(depth, 3)})
    applied["folds"] = folds
    if rng.random() < 0.6:
        opacity, blur_mm = rng.uniform(0.05, 0.13), rng.uniform(0.3, 1.0)
        shift = rng.uniform(-2.5, 2.5, 2) * px_per_mm
        back = np.asarray(cv2.GaussianBlur(cv2.flip(page, 1), (0, 0), blur_mm * px_per_mm), np.float32)
        move = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        back = np.asarray(cv2.warpAffine(back, move, (back.shape[1], back.shape[0]), borderValue=255), np.float32)
        out *= 1 - opacity * (1 - back / 255)
        applied["bleed_through"] = {"opacity": round(opacity, 3), "blur_mm": round(blur_mm, 2)}
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def _crease(out: Floats, y_px: float, angle: float, depth: float, px_per_mm: float) -> None:
    """A fold line across the page: a dark hairline, a highlight beside it and a soft shadow band."""
    height, width = out.shape
    reach = int(12 * px_per_mm + abs(math.tan(angle)) * width)
    top, bottom = max(0, int(y_px) - reach), min(height, int(y_px) + reach)
    if top >= bottom:
        return
    ys, xs = np.mgrid[top:bottom, 0:width].astype(np.float32)
    distance = ((ys - y_px) * math.cos(angle) - (xs - width / 2) * math.sin(angle)) / px_per_mm
    shade = 1 - depth * np.exp(-((distance / 0.22) ** 2)) + 0.5 * depth * np.exp(-(((distance - 0.5) / 0.3) ** 2))
    shade -= 0.15 * depth * np.exp(-((distance / 4.0) ** 2))
    out[top:bottom] = np.minimum(out[top:bottom] * shade, 255)


def _print_tone(page: Gray, rng: np.random.Generator, applied: dict[str, object], *, faded: bool, phone: bool) -> Gray:
    """Toner is not black and paper is not white; a faded cartridge lifts the black further."""
    paper = rng.uniform(200, 240) if phone else rng.uniform(226, 252)
    black = rng.uniform(40, 110) if faded else rng.uniform(12, 45)
    gamma = rng.uniform(0.85, 1.15)
    lut = (black + (paper - black) * (np.arange(256) / 255) ** gamma).round().astype(np.uint8)
    applied["tone"] = {"paper": round(paper, 1), "black": round(black, 1), "gamma": round(gamma, 3)}
    return np.asarray(cv2.LUT(page, lut), np.uint8)


def _scale_matrix(sx: float, sy: float) -> Matrix:
    """Resize between pixel-centre coordinate systems (cv2's convention)."""
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], dtype=np.float64)


def _downsample(page: Gray, factor: float) -> tuple[Gray, Matrix]:
    """Resample with area averaging (no aliasing); returns the image and its source → small matrix."""
    size = (max(1, round(page.shape[1] * factor)), max(1, round(page.shape[0] * factor)))
    small = cast(Gray, cv2.resize(page, size, interpolation=cv2.INTER_AREA))
    return small, _scale_matrix(size[0] / page.shape[1], size[1] / page.shape[0])


def _record_geometry(applied: dict[str, object], transform: Matrix, source_dpi: float) -> None:
    mm_to_source = _scale_matrix(source_dpi / MM_PER_INCH, source_dpi / MM_PER_INCH)
    mm_to_source[:2, 2] = -0.5  # page mm 0 is the left edge of the first pixel
    matrix = transform @ mm_to_source
    applied["page_mm_to_image"] = [[round(float(v), 6) for v in row] for row in matrix / matrix[2, 2]]


def _scanner(
    page: Gray,
    rng: np.random.Generator,
    applied: dict[str, object],
    source_dpi: float,
    device: Device,
    *,
    upside_down: bool,
    fax: bool,
    bad: bool,
) -> Gray:
    """A flatbed or sheet feeder: the page slightly rotated, shifted and scaled in an A4 frame."""
    dpi = BAD_DPI if bad else FAX_DPI if fax else device.dpi
    angle = rng.uniform(-1, 1) * SCANNER_ANGLE_DEG["fax" if fax else "office"]
    shift_mm = rng.uniform(-SCANNER_SHIFT_MM, SCANNER_SHIFT_MM, 2)
    scale = 1 + rng.uniform(-SCANNER_SCALE, SCANNER_SCALE)
    small, resize = _downsample(page, dpi / source_dpi * scale)
    frame = (round(PAGE_MM[0] / MM_PER_INCH * dpi), round(PAGE_MM[1] / MM_PER_INCH * dpi))
    centre = ((small.shape[1] - 1) / 2, (small.shape[0] - 1) / 2)
    warp = np.vstack([cv2.getRotationMatrix2D(centre, angle + (180 if upside_down else 0), 1.0), [0, 0, 1]])
    warp[:2, 2] += np.array([(frame[0] - 1) / 2, (frame[1] - 1) / 2]) - centre + shift_mm * dpi / MM_PER_INCH
    out = cv2.warpAffine(small, warp[:2], frame, flags=cv2.INTER_LINEAR, borderValue=device.backing)
    _record_geometry(applied, warp @ resize, source_dpi)
    sigma = rng.uniform(*SCANNER_BLUR_PX)
    noise = rng.uniform(*SCANNER_NOISE)
    applied.update(
        dpi=dpi,
        file_dpi=dpi,
        angle_deg=round(angle, 4),
        shift_mm=[round(float(v), 3) for v in shift_mm],
        scale=round(scale, 5),
        backing=device.backing,
        blur_sigma_px=round(sigma, 3),
        noise_sigma=round(noise, 2),
    )
    return _noise(np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.uint8), rng, noise)


def _phone(
    page: Gray, rng: np.random.Generator, applied: dict[str, object], source_dpi: float, *, upside_down: bool, bad: bool
) -> Gray:
    """A photo of the sheet on a desk: perspective, curl, uneven light, shadow, blur and noise."""
    dpi = rng.uniform(*(BAD_PHONE_DPI if bad else PHONE_DPI))
    scale = 1 + rng.uniform(-PHONE_SCALE, PHONE_SCALE)
    tilt = rng.uniform(-PHONE_ANGLE_DEG, PHONE_ANGLE_DEG)
    angle = math.radians(tilt + (180 if upside_down else 0))
    small, resize = _downsample(page, dpi / source_dpi)
    w, h = small.shape[1], small.shape[0]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64) - (w / 2, h / 2)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    placed = corners @ rotation.T * scale + rng.uniform(-PHONE_CORNER_SHARE, PHONE_CORNER_SHARE, (4, 2)) * (w, h)
    margins = rng.uniform(*(BAD_PHONE_MARGIN_SHARE if bad else PHONE_MARGIN_SHARE), 4) * max(w, h)
    low, high = placed.min(axis=0) - margins[:2], placed.max(axis=0) + margins[2:]
    size = high - low
    if size[0] / size[1] < PHONE_FRAME_ASPECT:
        grow = size[1] * PHONE_FRAME_ASPECT - size[0]
        low[0] -= grow * rng.uniform(0, 1)
        size[0] += grow
    else:
        grow = size[0] / PHONE_FRAME_ASPECT - size[1]
        low[1] -= grow * rng.uniform(0, 1)
        size[1] += grow
    frame = (round(size[0]), round(size[1]))
    destination = (placed - low).astype(np.float32)
    source = (corners + np.array([w / 2, h / 2])).astype(np.float32)
    homography = np.asarray(cv2.getPerspectiveTransform(source, destination), np.float64)
    _record_geometry(applied, homography @ resize, source_dpi)
    photo = np.asarray(cv2.warpPerspective(small, homography, frame, flags=cv2.INTER_LINEAR), np.float32)
    cover = np.full(small.shape, 1.0, np.float32)
    sheet = np.asarray(cv2.warpPerspective(cover, homography, frame, flags=cv2.INTER_LINEAR), np.float32)
    curl_mm = rng.uniform(0.0, BAD_PHONE_CURL_MM if bad else PHONE_CURL_MM)
    photo, sheet = _curl(photo, sheet, rng, curl_mm * dpi / MM_PER_INCH)
    desk = _desk(rng, applied, (frame[1], frame[0]))
    drop = _soft(sheet, 0.01 * max(frame)) * rng.uniform(0.2, 0.45)
    lit = (photo + desk * (1 - drop) * (1 - sheet)) * _lighting(rng, applied, (frame[1], frame[0]))
    sigma, motion = rng.uniform(*(BAD_PHONE_BLUR_PX if bad else PHONE_BLUR_PX)), rng.uniform(0, PHONE_MOTION_PX)
    out = _motion_blur(np.asarray(cv2.GaussianBlur(lit, (0, 0), sigma), np.float32), motion, rng.uniform(0, 180))
    noise = rng.uniform(*PHONE_NOISE)
    cut = bool(np.any(destination < 0) or np.any(destination > np.array(frame, np.float32)))
    applied.update(
        dpi=round(dpi, 2),
        file_dpi=PHONE_FILE_DPI,
        angle_deg=round(tilt, 4),
        scale=round(scale, 5),
        frame_px=list(frame),
        page_corners_px=[[round(float(v), 1) for v in corner] for corner in destination],
        corner_cut_off=cut,
        curl_mm=round(curl_mm, 3),
        blur_sigma_px=round(sigma, 3),
        motion_blur_px=round(motion, 2),
        noise_sigma=round(noise, 2),
    )
    return _noise(np.clip(out, 0, 255).astype(np.uint8), rng, noise)


def _curl(photo: Floats, sheet: Floats, rng: np.random.Generator, amplitude_px: float) -> tuple[Floats, Floats]:
    """Paper lying on a desk is not flat: a smooth displacement of up to ``amplitude_px``."""
    height, width = photo.shape
    wave_x, wave_y = rng.uniform(0.5, 1.5, 2) * (width, height)
    phase = rng.uniform(0, 2 * np.pi, 2)
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    shift_x = (amplitude_px * np.sin(2 * np.pi * ys / wave_y + phase[0])).astype(np.float32)
    shift_y = (amplitude_px * np.sin(2 * np.pi * xs / wave_x + phase[1])).astype(np.float32)
    map_x = xs[None, :] + shift_x[:, None]
    map_y = ys[:, None] + shift_y[None, :]
    bent = np.asarray(cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR), np.float32)
    return bent, np.asarray(cv2.remap(sheet, map_x, map_y, cv2.INTER_LINEAR), np.float32)


def _soft(image: Floats, sigma: float) -> Floats:
    """A wide Gaussian blur, computed at a quarter of the resolution (only smooth fields go through it)."""
    small = cv2.resize(image, (max(1, image.shape[1] // 4), max(1, image.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / 4)
    return np.asarray(cv2.resize(blurred, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR), np.float32)


def _coarse(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> Floats:
    grid = rng.standard_normal(cells).astype(np.float32)
    return cast(Floats, cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC))


def _desk(rng: np.random.Generator, applied: dict[str, object], shape: tuple[int, int]) -> Floats:
    """A table top: a base grey, broad mottling and (wood) fine grain of uneven spacing along one axis."""
    base = rng.uniform(35, 165)
    texture = _coarse(rng, shape, (6, 5)) * rng.uniform(4, 14)
    grain = bool(rng.random() < 0.6)
    if grain:
        fine, broad = (int(rng.integers(150, 400)), 3), (int(rng.integers(30, 80)), 4)
        across = bool(rng.random() < 0.5)
        for cells, amplitude in ((fine, rng.uniform(3, 9)), (broad, rng.uniform(4, 12))):
            texture += _coarse(rng, shape, cells[::-1] if across else cells) * amplitude
    applied["desk"] = {"grey": round(base, 1), "grain": grain}
    return cast(Floats, base + texture)


def _lighting(rng: np.random.Generator, applied: dict[str, object], shape: tuple[int, int]) -> Floats:
    """Light falling across the desk, a vignette, and the soft shadow of the phone or the hand holding it."""
    small = (max(2, shape[0] // 8), max(2, shape[1] // 8))
    ys, xs = np.mgrid[0 : small[0], 0 : small[1]].astype(np.float32)
    ys, xs = ys / small[0], xs / small[1]
    direction = rng.uniform(0, 2 * np.pi)
    ramp = xs * math.cos(direction) + ys * math.sin(direction)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    gradient, vignette, exposure = rng.uniform(0.1, 0.35), rng.uniform(0.0, 0.25), rng.uniform(0.82, 1.0)
    light = exposure * (1 - gradient * ramp) * (1 - vignette * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2) * 2)
    shadow = np.zeros(small, np.float32)
    centre = (int(rng.uniform(-0.1, 1.1) * small[1]), int(rng.uniform(-0.1, 1.1) * small[0]))
    axes = (int(rng.uniform(0.2, 0.5) * small[1]), int(rng.uniform(0.15, 0.4) * small[0]))
    cv2.ellipse(shadow, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    softness = rng.uniform(0.03, 0.08) * max(small)
    strength = rng.uniform(0.25, 0.5)
    light *= 1 - strength * cv2.GaussianBlur(shadow, (0, 0), softness)
    applied["lighting"] = {
        "gradient": round(gradient, 3),
        "direction_deg": round(math.degrees(direction), 1),
        "vignette": round(vignette, 3),
        "exposure": round(exposure, 3),
        "shadow": {
            "centre_share": [c / s for c, s in zip(centre, small[::-1], strict=True)],
            "strength": round(strength, 3),
        },
    }
    return cast(Floats, cv2.resize(light, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR))


def _motion_blur(image: Floats, length: float, angle_deg: float) -> Floats:
    if length < 1:
        return image
    size = math.ceil(length) * 2 + 1
    kernel = np.zeros((size, size), np.float32)
    dx, dy = math.cos(math.radians(angle_deg)) * length / 2, math.sin(math.radians(angle_deg)) * length / 2
    c = size // 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return cast(Floats, cv2.filter2D(image, -1, kernel / kernel.sum()))


def _noise(image: Gray, rng: np.random.Generator, sigma: float) -> Gray:
    noisy = image.astype(np.float32) + rng.standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def _speckle(image: Gray, rng: np.random.Generator, applied: dict[str, object], *, heavy: bool) -> Gray:
    """Dust on the glass or lens: small dark dots, a few or (bad) very many."""
    count = int(rng.integers(150, 900) if heavy else rng.integers(0, 30))
    px_per_mm = image.shape[1] / PAGE_MM[0]
    out = image.copy()
    for _ in range(count):
        centre = (int(rng.integers(0, image.shape[1])), int(rng.integers(0, image.shape[0])))
        radius = max(1, round(rng.uniform(0.05, 0.22 if heavy else 0.16) * px_per_mm))
        cv2.circle(out, centre, radius, int(rng.integers(20, 140)), -1, cv2.LINE_AA)
    applied["speckles"] = count
    return out


def _streaks(image: Gray, rng: np.random.Generator, applied: dict[str, object], count: int) -> Gray:
    """Dirt on a feeder's scan line: vertical lines, dark or light, over all or part of the page."""
    out = image.astype(np.float32)
    streaks = []
    for _ in range(count):
        x, width = int(rng.integers(0, image.shape[1] - 3)), int(rng.integers(1, 4))
        top = int(rng.integers(0, image.shape[0] // 2)) if rng.random() < 0.3 else 0
        dark = bool(rng.random() < 0.7)
        factor = rng.uniform(0.35, 0.8)
        band = out[top:, x : x + width]
        out[top:, x : x + width] = band * factor if dark else band + (255 - band) * factor
        streaks.append({"x": x, "width": width, "top": top, "dark": dark, "factor": round(factor, 3)})
    applied["streaks"] = streaks
    return np.clip(out, 0, 255).astype(np.uint8)


def _binarise(image: Gray, rng: np.random.Generator, applied: dict[str, object], mode: Binarise) -> Gray:
    """A fax's 1-bit page: threshold (with dither-like noise) or ordered dither, then line noise."""
    noise = rng.uniform(*FAX_NOISE)
    noisy = image.astype(np.float32) + rng.standard_normal(image.shape, dtype=np.float32) * noise
    if mode == "dither":
        low, high = rng.uniform(60, 100), rng.uniform(190, 220)
        tiles = (image.shape[0] // 8 + 1, image.shape[1] // 8 + 1)
        cut = np.tile(low + (BAYER_8 + 0.5) / 64 * (high - low), tiles)[: image.shape[0], : image.shape[1]]
        binary = np.where(noisy < cut, 0, 255).astype(np.uint8)
        threshold = low + 0.5 * (high - low)
    else:
        clipped = np.clip(noisy, 0, 255).astype(np.uint8)
        if mode == "otsu":
            threshold, cut_out = cv2.threshold(clipped, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        else:
            threshold, cut_out = cv2.threshold(clipped, rng.uniform(*FAX_THRESHOLD), 255, cv2.THRESH_BINARY)
        binary = np.asarray(cut_out, np.uint8)
    rate = rng.uniform(*FAX_PEPPER)
    flips = rng.integers(0, binary.size, int(rate * binary.size))
    salt = rng.random(len(flips)) < FAX_SALT_SHARE
    binary.reshape(-1)[flips] = np.where(salt, 255, 0).astype(np.uint8)
    glitches = []
    for _ in range(pick(rng, FAX_GLITCH_COUNTS)):
        y, rows = int(rng.integers(1, binary.shape[0] - 8)), int(rng.integers(1, 4))
        binary[y : y + rows] = binary[y - 1]  # a lost scan line repeats the previous one
        glitches.append({"y": y, "rows": rows})
    applied.update(binarised=True, binarise=mode, threshold=round(float(threshold), 1), pepper_rate=round(rate, 5))
    applied["binarise_noise"] = round(noise, 2)
    applied["line_glitches"] = glitches
    return binary


def _sharpen(image: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """Phone cameras sharpen: halos beside every stroke."""
    amount = rng.uniform(0.3, 0.9)
    soft = cv2.GaussianBlur(image, (0, 0), 1.5).astype(np.float32)
    applied["sharpen"] = round(amount, 3)
    return np.clip(image + amount * (image - soft), 0, 255).astype(np.uint8)


def _jpeg_round_trip(image: Gray, quality: int) -> Gray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("L"), dtype=np.uint8)


class ScanWriter:
    """Writes degraded pages as a device would: one JPEG/PNG per page, or one multi-page TIFF/PDF.

    Binarised (fax) pages are stored 1-bit: CCITT G4 inside TIFF and PDF, 1-bit PNG.
    """

    def __init__(self, out_dir: Path, stem: str, file_format: FileFormat) -> None:
        self.out_dir, self.stem, self.format = out_dir, stem, file_format
        self.count = 0
        self.multi = out_dir / f"{stem}.{EXTENSION[file_format]}"
        self.tiff: TiffImagePlugin.AppendingTiffWriter | None = None
        if file_format in ("tiff", "pdf"):
            self.multi.unlink(missing_ok=True)

    def add(self, pixels: Gray, applied: dict[str, object]) -> tuple[str, int]:
        """Write one page; returns (file name, 1-based page in that file)."""
        self.count += 1
        dpi = float(cast(float, applied["file_dpi"]))
        quality = int(cast(int, applied.get("jpeg_quality", 0)))
        image = Image.fromarray(pixels)
        if applied.get("binarised"):
            image = image.convert("1", dither=Image.Dither.NONE)
        if self.format in ("jpeg", "png"):
            name = f"{self.stem}-{self.count:03d}.{EXTENSION[self.format]}"
            if self.format == "jpeg":
                image.convert("L").save(self.out_dir / name, quality=quality or 90, dpi=(dpi, dpi))
            else:
                image.save(self.out_dir / name, dpi=(dpi, dpi))
            return name, 1
        if self.format == "tiff":
            if self.tiff is None:
                self.tiff = TiffImagePlugin.AppendingTiffWriter(str(self.multi), new=True)
            compression = "group4" if image.mode == "1" else "tiff_lzw"
            image.save(self.tiff, format="TIFF", compression=compression, dpi=(dpi, dpi))
            self.tiff.newFrame()
        else:
            extra = {"quality": quality} if quality else {}
            image.save(
                self.multi,
                format="PDF",
                append=self.count > 1,
                resolution=dpi,
                creationDate=FIXED_PDF_DATE,
                modDate=FIXED_PDF_DATE,
                **extra,
            )
        return self.multi.name, self.count

    def close(self) -> None:
        if self.tiff is not None:
            self.tiff.close()
            self.tiff = None
