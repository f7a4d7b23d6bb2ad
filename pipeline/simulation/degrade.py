"""Degrade: make a clean, filled-in ballot page look like what a real office scanner, fax or phone delivers.

Contract. :func:`degrade` takes an 8-bit grey page rendered at ``source_dpi`` (image edges = paper edges)
and returns the device's image and ``applied``: every random parameter it drew (JSON-serialisable, so a
failure can be reproduced from the seed), ``upside_down``, ``dpi`` (true page resolution), ``file_dpi``
(what the file header will claim) and ``page_mm_to_image``, the 3×3 homography from page millimetres to
output pixel centres (before the small non-linear paper curl of phone photos). All randomness comes from
the ``rng`` argument. Per-batch device settings (resolution, JPEG quality, feed habits) are a
:class:`Device`, drawn once per batch by :func:`device_for`. The image effects devices are made of live in
:mod:`.effects`; :class:`~.writer.ScanWriter` writes the pages in the file formats devices use (JPEG, PNG,
LZW or CCITT G4 TIFF, PDF with embedded images).

Order follows the physics: paper damage (fold, bleed-through) → printing tone → capture geometry →
optics (blur) → lighting (phone) → sensor (noise, dust, streaks) → device processing (sharpen,
binarise, JPEG).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.conditions import (
    ConditionContext,
    app_stage,
    capture_stage,
    fax_mode,
    fax_stage,
    paper_stage,
    sensor_stage,
)
from pipeline.simulation.effects import (
    PAGE_MM,
    Binarise,
    Gray,
    Profile,
    add_noise,
    add_speckle,
    add_streaks,
    binarise_page,
    curl_paper,
    desk_surface,
    downsample_page,
    draw_crease,
    jpeg_round_trip,
    light_field,
    motion_blur,
    pick,
    record_geometry,
    sharpen_page,
    soft_blur,
)
from pipeline.simulation.writer import FileFormat, ScanWriter

__all__ = ["Device", "FileFormat", "Profile", "ScanWriter", "degrade", "device_for", "pick"]


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
FAX_STREAK_COUNTS = (0, 0, 1)  # a dirty scanning glass draws a line down every page it sends


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
    context: ConditionContext | None = None,
) -> tuple[Gray, dict[str, object]]:
    """The page as ``profile``'s device would deliver it, and every parameter applied; ``context`` applies
    conditions (:mod:`.conditions`) at their place, drawing from their own generator."""
    device = device or device_for(profile, rng)
    applied: dict[str, object] = {"profile": profile, "device": asdict(device)}
    base = profile
    page = image
    if profile == "bad":
        base = pick(rng, BAD_BASES, BAD_BASE_SHARES)
        applied["base"] = base
        page = _paper_damage(page, rng, applied, source_dpi / MM_PER_INCH)
    if context is not None:
        applied["conditions"] = list(context.conditions)
        page = paper_stage(page, context, applied, source_dpi / MM_PER_INCH, device.backing if base != "phone" else 255)
    bad = profile == "bad"
    page = _print_tone(page, rng, applied, faded=bad, phone=base == "phone")
    upside_down = bool(rng.random() < device.upside_down_rate)
    applied["upside_down"] = upside_down
    dpi = BAD_DPI if bad else FAX_DPI if base == "fax" else device.dpi
    captured = None
    if context is not None:
        captured = capture_stage(
            page, context, applied, source_dpi, base=base, dpi=dpi, backing=device.backing, upside_down=upside_down
        )
    if captured is not None:
        out = captured
    elif base == "phone":
        out = _phone(page, rng, applied, source_dpi, upside_down=upside_down, bad=bad)
    else:
        out = _scanner(page, rng, applied, source_dpi, device, upside_down=upside_down, fax=base == "fax", bad=bad)
    if base != "phone":
        streaks = int(rng.integers(1, 6)) if bad else pick(rng, FAX_STREAK_COUNTS) if base == "fax" else 0
        out = add_streaks(out, rng, applied, streaks)
    if context is not None:
        out = sensor_stage(out, context, applied, base)
    out = add_speckle(out, rng, applied, heavy=bad)
    if base == "fax":
        out = binarise_page(out, rng, applied, fax_mode(applied, device.binarise))
        if context is not None:
            out = fax_stage(out, context, applied)
        return out, applied
    if base == "phone" and rng.random() < PHONE_SHARPEN_SHARE:
        out = sharpen_page(out, rng, applied)
    if context is not None:
        out = app_stage(out, context, applied, base)
    low, high = PHONE_JPEG if base == "phone" or bad else OFFICE_JPEG
    quality = device.jpeg_quality or int(rng.integers(low, high + 1))
    applied["jpeg_quality"] = quality
    return jpeg_round_trip(out, quality), applied


def _paper_damage(page: Gray, rng: np.random.Generator, applied: dict[str, object], px_per_mm: float) -> Gray:
    """What happened to the sheet before it reached the device: folded into the ballot box, thin paper."""
    out = page.astype(np.float32)
    folds = []
    for fold_mm in (148.5,) if rng.random() < 0.6 else (99.0, 198.0):
        y_mm, angle = fold_mm + rng.uniform(-8, 8), rng.uniform(-2.5, 2.5)
        depth = rng.uniform(0.08, 0.3)
        draw_crease(out, y_mm * px_per_mm, math.radians(angle), depth, px_per_mm)
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


def _print_tone(page: Gray, rng: np.random.Generator, applied: dict[str, object], *, faded: bool, phone: bool) -> Gray:
    """Toner is not black and paper is not white; a faded cartridge lifts the black further."""
    paper = rng.uniform(200, 240) if phone else rng.uniform(226, 252)
    black = rng.uniform(40, 110) if faded else rng.uniform(12, 45)
    gamma = rng.uniform(0.85, 1.15)
    lut = (black + (paper - black) * (np.arange(256) / 255) ** gamma).round().astype(np.uint8)
    applied["tone"] = {"paper": round(paper, 1), "black": round(black, 1), "gamma": round(gamma, 3)}
    return np.asarray(cv2.LUT(page, lut), np.uint8)


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
    small, resize = downsample_page(page, dpi / source_dpi * scale)
    frame = (round(PAGE_MM[0] / MM_PER_INCH * dpi), round(PAGE_MM[1] / MM_PER_INCH * dpi))
    centre = ((small.shape[1] - 1) / 2, (small.shape[0] - 1) / 2)
    warp = np.vstack([cv2.getRotationMatrix2D(centre, angle + (180 if upside_down else 0), 1.0), [0, 0, 1]])
    warp[:2, 2] += np.array([(frame[0] - 1) / 2, (frame[1] - 1) / 2]) - centre + shift_mm * dpi / MM_PER_INCH
    out = cv2.warpAffine(small, warp[:2], frame, flags=cv2.INTER_LINEAR, borderValue=device.backing)
    record_geometry(applied, warp @ resize, source_dpi)
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
    return add_noise(np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.uint8), rng, noise)


def _phone(
    page: Gray, rng: np.random.Generator, applied: dict[str, object], source_dpi: float, *, upside_down: bool, bad: bool
) -> Gray:
    """A photo of the sheet on a desk: perspective, curl, uneven light, shadow, blur and noise."""
    dpi = rng.uniform(*(BAD_PHONE_DPI if bad else PHONE_DPI))
    scale = 1 + rng.uniform(-PHONE_SCALE, PHONE_SCALE)
    tilt = rng.uniform(-PHONE_ANGLE_DEG, PHONE_ANGLE_DEG)
    angle = math.radians(tilt + (180 if upside_down else 0))
    small, resize = downsample_page(page, dpi / source_dpi)
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
    record_geometry(applied, homography @ resize, source_dpi)
    photo = np.asarray(cv2.warpPerspective(small, homography, frame, flags=cv2.INTER_LINEAR), np.float32)
    cover = np.full(small.shape, 1.0, np.float32)
    sheet = np.asarray(cv2.warpPerspective(cover, homography, frame, flags=cv2.INTER_LINEAR), np.float32)
    curl_mm = rng.uniform(0.0, BAD_PHONE_CURL_MM if bad else PHONE_CURL_MM)
    photo, sheet, applied["curl"] = curl_paper(photo, sheet, rng, curl_mm * dpi / MM_PER_INCH)
    desk = desk_surface(rng, applied, (frame[1], frame[0]))
    drop = soft_blur(sheet, 0.01 * max(frame)) * rng.uniform(0.2, 0.45)
    lit = (photo + desk * (1 - drop) * (1 - sheet)) * light_field(rng, applied, (frame[1], frame[0]))
    sigma, motion = rng.uniform(*(BAD_PHONE_BLUR_PX if bad else PHONE_BLUR_PX)), rng.uniform(0, PHONE_MOTION_PX)
    out = motion_blur(np.asarray(cv2.GaussianBlur(lit, (0, 0), sigma), np.float32), motion, rng.uniform(0, 180))
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
    return add_noise(np.clip(out, 0, 255).astype(np.uint8), rng, noise)
