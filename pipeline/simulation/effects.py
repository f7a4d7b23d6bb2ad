"""Image effects every simulated device is made of: resampling with a recorded geometry, lighting, blur,
noise, dust, streaks, binarisation, JPEG. Each draws its random parameters from the ``rng`` it is given and
records them in ``applied`` (JSON-able), so that a page can be re-made from its seed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Literal, TypeVar, cast

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.geometry import curl_shift

T = TypeVar("T")
Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]
Binarise = Literal["none", "otsu", "fixed", "dither"]
Profile = Literal["office", "fax", "phone", "bad"]  # the device profiles (pipeline.simulation.degrade)

PAGE_MM = (210.0, 297.0)
FAX_THRESHOLD = (120.0, 175.0)
FAX_NOISE = (6.0, 18.0)  # grey-level noise added before thresholding: ragged, dither-like edges
FAX_PEPPER = (0.0002, 0.002)  # share of pixels flipped by line noise
FAX_SALT_SHARE = 0.2  # of those, the share turned white (the rest black)
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


def pick(rng: np.random.Generator, items: Sequence[T], shares: Sequence[float] | None = None) -> T:
    """One of ``items`` (``shares``: probabilities), as the item itself rather than a numpy scalar."""
    return items[int(rng.choice(len(items), p=shares))]


def draw_crease(out: Floats, y_px: float, angle: float, depth: float, px_per_mm: float) -> None:
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


def scale_matrix(sx: float, sy: float) -> Matrix:
    """Resize between pixel-centre coordinate systems (cv2's convention)."""
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], dtype=np.float64)


def downsample_page(page: Gray, factor: float) -> tuple[Gray, Matrix]:
    """Resample with area averaging (no aliasing); returns the image and its source → small matrix."""
    size = (max(1, round(page.shape[1] * factor)), max(1, round(page.shape[0] * factor)))
    small = cast(Gray, cv2.resize(page, size, interpolation=cv2.INTER_AREA))
    return small, scale_matrix(size[0] / page.shape[1], size[1] / page.shape[0])


def record_geometry(applied: dict[str, object], transform: Matrix, source_dpi: float) -> None:
    mm_to_source = scale_matrix(source_dpi / MM_PER_INCH, source_dpi / MM_PER_INCH)
    mm_to_source[:2, 2] = -0.5  # page mm 0 is the left edge of the first pixel
    matrix = transform @ mm_to_source
    applied["page_mm_to_image"] = [[round(float(v), 6) for v in row] for row in matrix / matrix[2, 2]]


def curl_paper(
    photo: Floats, sheet: Floats, rng: np.random.Generator, amplitude_px: float
) -> tuple[Floats, Floats, dict[str, object]]:
    """Paper lying on a desk is not flat: a smooth displacement of up to ``amplitude_px``; also the field, as
    :func:`~pipeline.simulation.geometry.curl_forward` follows it (``applied["curl"]``)."""
    height, width = photo.shape
    wave_x, wave_y = rng.uniform(0.5, 1.5, 2) * (width, height)
    phase = rng.uniform(0, 2 * np.pi, 2)
    curl: dict[str, object] = {
        "amplitude_px": float(amplitude_px),
        "wave_px": [float(wave_x), float(wave_y)],
        "phase": [float(phase[0]), float(phase[1])],
    }
    xs, ys = np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64)
    shift_x = curl_shift(curl, np.column_stack([np.zeros(height), ys]))[:, 0].astype(np.float32)
    shift_y = curl_shift(curl, np.column_stack([xs, np.zeros(width)]))[:, 1].astype(np.float32)
    map_x = xs.astype(np.float32)[None, :] + shift_x[:, None]
    map_y = ys.astype(np.float32)[:, None] + shift_y[None, :]
    bent = np.asarray(cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR), np.float32)
    return bent, np.asarray(cv2.remap(sheet, map_x, map_y, cv2.INTER_LINEAR), np.float32), curl


def soft_blur(image: Floats, sigma: float) -> Floats:
    """A wide Gaussian blur, computed at a quarter of the resolution (only smooth fields go through it)."""
    small = cv2.resize(image, (max(1, image.shape[1] // 4), max(1, image.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / 4)
    return np.asarray(cv2.resize(blurred, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR), np.float32)


def coarse_field(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> Floats:
    grid = rng.standard_normal(cells).astype(np.float32)
    return cast(Floats, cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC))


def desk_surface(rng: np.random.Generator, applied: dict[str, object], shape: tuple[int, int]) -> Floats:
    """A table top: a base grey, broad mottling and (wood) fine grain of uneven spacing along one axis."""
    base = rng.uniform(35, 165)
    texture = coarse_field(rng, shape, (6, 5)) * rng.uniform(4, 14)
    grain = bool(rng.random() < 0.6)
    if grain:
        fine, broad = (int(rng.integers(150, 400)), 3), (int(rng.integers(30, 80)), 4)
        across = bool(rng.random() < 0.5)
        for cells, amplitude in ((fine, rng.uniform(3, 9)), (broad, rng.uniform(4, 12))):
            texture += coarse_field(rng, shape, cells[::-1] if across else cells) * amplitude
    applied["desk"] = {"grey": round(base, 1), "grain": grain}
    return cast(Floats, base + texture)


def light_field(rng: np.random.Generator, applied: dict[str, object], shape: tuple[int, int]) -> Floats:
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


def motion_blur(image: Floats, length: float, angle_deg: float) -> Floats:
    if length < 1:
        return image
    size = math.ceil(length) * 2 + 1
    kernel = np.zeros((size, size), np.float32)
    dx, dy = math.cos(math.radians(angle_deg)) * length / 2, math.sin(math.radians(angle_deg)) * length / 2
    c = size // 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return cast(Floats, cv2.filter2D(image, -1, kernel / kernel.sum()))


# A phone photo in dim light (a corridor, an evening office, no flash): the camera raises its gain, so the sensor's
# noise grows to DIM_NOISE grey levels, its grain widened by demosaicing and the phone's noise reduction
# (DIM_GRAIN_PX, σ of the blur that correlates it); the auto exposure leaves the page darker (DIM_EXPOSURE of its
# brightness, the contrast between paper and ink with it) and the slower shutter catches more of the hand's shake
# (DIM_SHAKE_PX).
DIM_EXPOSURE = (0.6, 0.85)
DIM_NOISE = (6.0, 12.0)
DIM_GRAIN_PX = (0.5, 1.2)
DIM_SHAKE_PX = (0.5, 2.5)


def dim_light(image: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """``image`` as a phone takes it in dim light (see DIM_EXPOSURE): darker, shaken, under coarse-grained noise."""
    exposure, sigma = rng.uniform(*DIM_EXPOSURE), rng.uniform(*DIM_NOISE)
    grain, shake = rng.uniform(*DIM_GRAIN_PX), rng.uniform(*DIM_SHAKE_PX)
    dark = motion_blur(image.astype(np.float32) * np.float32(exposure), shake, rng.uniform(0.0, 180.0))
    grainy = np.asarray(cv2.GaussianBlur(rng.standard_normal(image.shape, dtype=np.float32), (0, 0), grain), np.float32)
    noise = grainy * np.float32(sigma / max(float(grainy.std()), 1e-6))
    applied["dim_light"] = {
        "exposure": round(exposure, 3),
        "noise_sigma": round(sigma, 2),
        "grain_px": round(grain, 2),
        "shake_px": round(shake, 2),
    }
    return np.asarray(np.clip(dark + noise + 0.5, 0, 255), dtype=np.uint8)


def add_noise(image: Gray, rng: np.random.Generator, sigma: float) -> Gray:
    noisy = image.astype(np.float32) + rng.standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def add_speckle(image: Gray, rng: np.random.Generator, applied: dict[str, object], *, heavy: bool) -> Gray:
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


def add_streaks(image: Gray, rng: np.random.Generator, applied: dict[str, object], count: int) -> Gray:
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


def binarise_page(image: Gray, rng: np.random.Generator, applied: dict[str, object], mode: Binarise) -> Gray:
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


def sharpen_page(image: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """Phone cameras sharpen: halos beside every stroke."""
    amount = rng.uniform(0.3, 0.9)
    soft = cv2.GaussianBlur(image, (0, 0), 1.5).astype(np.float32)
    applied["sharpen"] = round(amount, 3)
    return np.clip(image + amount * (image - soft), 0, 255).astype(np.uint8)


def jpeg_round_trip(image: Gray, quality: int) -> Gray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("L"), dtype=np.uint8)
