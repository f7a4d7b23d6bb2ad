"""A phone photo of the sheet lying on a surface, as the world takes it (the ``steep-photo`` condition, and
phone pages photographed tight for ``marks-cut`` and ``box-cut``).

Contract. :func:`photo` takes the page as printed and filled (8-bit grey at ``source_dpi``), draws everything
from its ``rng``, records ``page_mm_to_image`` (the sheet's plane through a pinhole camera) and ``lens`` (a
barrel distortion about the frame's centre), which :func:`pipeline.simulation.geometry.page_to_image` follows,
and returns the grey photo before the phone's own sharpening and JPEG.

What the world does, as described to us: the camera tilted up to 35° from straight above, rolled, the sheet
filling 40–90 % of the frame, lying on a wooden table, a plain desk, a dark cloth or a light surface; light
falling unevenly, the sharper shadow of a hand or the phone; an uncorrected lens's barrel distortion; a
phone's wide aperture, focused on the point it is aimed at: the parts of a tilted sheet nearer or farther than
that point are out of focus, the more the farther (depth of field).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import partial
from typing import Literal

import cv2
import numpy as np

from pipeline.ballot.layout import Layout
from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.capture import FRAMING_TRIES, Framing, apply_matrix, framing_holds, mm_to_source
from pipeline.simulation.effects import (
    PAGE_MM,
    Floats,
    Gray,
    Matrix,
    add_noise,
    coarse_field,
    light_field,
    motion_blur,
    pick,
    scale_matrix,
    soft_blur,
)
from pipeline.simulation.geometry import Points, lens_undistort, page_to_image

Background = Literal["wood", "desk", "dark_cloth", "light"]

# Phone photos.
PHOTO_TILT_DEG: dict[str, tuple[float, float]] = {"steep": (10.0, 35.0), "mild": (0.0, 8.0)}
PHOTO_FILL = (0.4, 0.9)  # the sheet's outline spans this share of the frame in its tighter direction
PHOTO_PLACE_SHARE = (0.15, 0.85)  # where the sheet sits in the frame's free room, per axis
# Photographed tight, overflowing the frame; or, the code cut off, off-centre: the sheet about the frame's size, one
# corner or side running off it.
TIGHT_FILL: dict[str, tuple[float, float]] = {"marks_cut": (0.85, 1.3), "code_cut": (0.8, 1.1), "box_cut": (0.9, 1.8)}
PHOTO_LONG_SIDE: tuple[tuple[int, int], ...] = ((3000, 4032), (1920, 2560))  # as taken, sent by a chat app
PHOTO_ORIGINAL_SHARE = 0.65
FOCAL_PER_DIAGONAL = 26.0 / 43.27  # a phone's main camera: 26 mm equivalent on a 43.27 mm diagonal
TARGET_OFFSET_MM = 15.0  # where on the sheet the camera points, from its centre
ROLL_DEG, WIDE_ROLL_SHARE, WIDE_ROLL_DEG = 12.0, 0.25, (12.0, 45.0)
LENS_K1 = (-0.03, -0.005)  # barrel: a corner of the frame is pulled in by up to 3 % of its distance
BACKGROUNDS: tuple[Background, ...] = ("wood", "desk", "dark_cloth", "light")
BACKGROUND_SHARES = (0.35, 0.25, 0.25, 0.15)
CAST_SHADOW_SHARE, CAST_SHADOW_STRENGTH = 0.5, (0.15, 0.45)
PHOTO_BLUR_PX, PHOTO_MOTION_PX, PHOTO_NOISE = (0.5, 1.4), 3.0, (3.0, 8.0)
PHOTO_FILE_DPI = 72.0
# A phone's main camera is 4–6.5 mm long at f/1.5–1.9: an aperture 2–3.5 mm across. A point at distance z, with
# the lens focused at distance d, spreads into a disc of A · focal_px · |1/d − 1/z| pixels (thin lens, z ≫ focal
# length); a disc's spread is a quarter of its diameter along each axis.
APERTURE_MM = (2.0, 3.5)
DEFOCUS_LEVELS_PX = (0.0, 0.5, 1.0, 1.6, 2.4, 3.5)  # the photo is blurred at these sigmas and blended per pixel
DEPTH_STEP_PX = 32  # depth is smooth across the frame: computed on this grid
CAMERA_TRIES = 20  # cameras drawn for one photo until a framing of the kind asked for holds from one
MAP_STEP_PX = 8  # the photo's pixel map is smooth: computed on this grid and interpolated


@dataclass(frozen=True)
class _Camera:
    """A pinhole camera over the sheet (page mm, origin at the page centre, z towards the camera's view)."""

    rotation: Matrix  # camera → world
    focal_px: float

    def project(self, points_mm: Points, distance_mm: float, target_mm: Points) -> Points:
        world = np.column_stack([points_mm - np.array(PAGE_MM) / 2, np.zeros(len(points_mm))])
        centre = np.append(target_mm, 0.0) - distance_mm * self.rotation[:, 2]
        camera = (world - centre) @ self.rotation  # rows: Rᵀ (world − centre)
        return self.focal_px * camera[:, :2] / camera[:, 2:3]


def _rotation(axis: Points, degrees: float) -> Matrix:
    axis = axis / np.linalg.norm(axis)
    angle = math.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.asarray(np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross, np.float64)


def photo(
    page: Gray,
    rng: np.random.Generator,
    applied: dict[str, object],
    source_dpi: float,
    layout: Layout,
    *,
    steep: bool,
    framing: Framing,
    upside_down: bool,
) -> Gray:
    """A phone photo of the sheet lying on a surface (see the module docstring)."""
    # A camera from which no framing of the kind asked for holds (a steep tilt that cannot cut off just the
    # corner marks) is drawn again; the draws before it stay as they were, so a seed's photos are unchanged.
    for _ in range(CAMERA_TRIES):
        tilt = rng.uniform(*PHOTO_TILT_DEG["steep" if steep else "mild"])
        azimuth = rng.uniform(0, 360)
        roll = (
            rng.normal(0, ROLL_DEG / 2)
            if rng.random() > WIDE_ROLL_SHARE
            else rng.choice([-1, 1]) * rng.uniform(*WIDE_ROLL_DEG)
        )
        roll = float(np.clip(roll, -WIDE_ROLL_DEG[1], WIDE_ROLL_DEG[1])) + (180.0 if upside_down else 0.0)
        axis = np.array([math.cos(math.radians(azimuth)), math.sin(math.radians(azimuth)), 0.0])
        rotation = _rotation(axis, tilt) @ _rotation(np.array([0.0, 0.0, 1.0]), roll)
        low, high = PHOTO_LONG_SIDE[0] if rng.random() < PHOTO_ORIGINAL_SHARE else PHOTO_LONG_SIDE[1]
        long_side = int(rng.integers(low, high + 1))
        short_side = round(long_side * 3 / 4)
        camera = _Camera(rotation, FOCAL_PER_DIAGONAL * math.hypot(long_side, short_side))
        target = rng.uniform(-TARGET_OFFSET_MM, TARGET_OFFSET_MM, 2)
        corners = np.array([[0, 0], [PAGE_MM[0], 0], [PAGE_MM[0], PAGE_MM[1]], [0, PAGE_MM[1]]], dtype=np.float64)
        seen = camera.project(corners, 500.0, target)
        spread = np.ptp(seen, axis=0)
        frame = (long_side, short_side) if spread[0] > spread[1] else (short_side, long_side)
        lens = {"k1": round(float(rng.uniform(*LENS_K1)), 5), "centre": [frame[0] / 2 - 0.5, frame[1] / 2 - 0.5]}
        lens["radius"] = round(math.hypot(frame[0], frame[1]) / 2, 2)
        fill_range = PHOTO_FILL if framing == "whole" else TIGHT_FILL[framing]
        for _ in range(FRAMING_TRIES):
            fill = rng.uniform(*fill_range)
            distance = _distance_for_fill(camera, corners, target, frame, fill)
            projected = camera.project(corners, distance, target)
            low_corner, high_corner = projected.min(axis=0), projected.max(axis=0)
            slack = np.array(frame) - (high_corner - low_corner)
            if framing == "whole":  # aimed at the sheet: off the frame's centre, rarely against its edge
                origin = -low_corner + rng.uniform(*PHOTO_PLACE_SHARE, 2) * np.maximum(slack, 0)
            else:
                origin = -low_corner + rng.uniform(-0.25, 1.25, 2) * slack
            homography = np.asarray(
                cv2.getPerspectiveTransform(corners.astype(np.float32), (projected + origin).astype(np.float32)),
                np.float64,
            )
            trial = {"page_mm_to_image": homography.tolist(), "lens": lens}
            if framing_holds(partial(page_to_image, trial), (frame[0], frame[1]), layout, framing):
                break
        else:
            continue  # no framing of this kind from where this camera stands: another camera
        break
    else:
        raise AssertionError(f"no {framing} photo framing found for {CAMERA_TRIES} cameras")
    applied["page_mm_to_image"] = [[round(float(v), 9) for v in row] for row in homography / homography[2, 2]]
    applied["lens"] = lens
    image, cover = _render_photo(page, homography, lens, frame, source_dpi)
    surface, kind = _background(rng, (frame[1], frame[0]))
    drop = soft_blur(cover, 0.01 * max(frame)) * rng.uniform(0.2, 0.45)
    lit = (image + surface * (1 - drop) * (1 - cover)) * light_field(rng, applied, (frame[1], frame[0]))
    lit *= _cast_shadow(rng, applied, (frame[1], frame[0]))
    aperture = rng.uniform(*APERTURE_MM)
    defocus = _defocus_px(camera, distance, target, homography, lens, frame, aperture)
    focused = _blur_by(np.asarray(lit, np.float32), defocus)
    sigma, motion = rng.uniform(*PHOTO_BLUR_PX), rng.uniform(0, PHOTO_MOTION_PX)
    out = motion_blur(np.asarray(cv2.GaussianBlur(focused, (0, 0), sigma), np.float32), motion, rng.uniform(0, 180))
    noise = rng.uniform(*PHOTO_NOISE)
    centre_scale = _px_per_mm(homography, np.array(PAGE_MM) / 2)
    qr_scale = _px_per_mm(homography, np.array(layout.qr.center))
    applied.update(
        dpi=round(centre_scale * MM_PER_INCH, 2),
        qr_px_per_mm=round(qr_scale, 3),  # how large the code was photographed (before the lens)
        file_dpi=PHOTO_FILE_DPI,
        tilt_deg=round(tilt, 3),
        tilt_azimuth_deg=round(azimuth, 2),
        angle_deg=round(roll, 3),
        fill=round(fill, 3),
        framing=framing,
        distance_mm=round(distance, 1),
        frame_px=list(frame),
        page_corners_px=[[round(float(v), 1) for v in p] for p in page_to_image(applied, corners)],
        background=kind,
        aperture_mm=round(aperture, 3),
        defocus_sigma_px=[round(float(defocus.min()), 3), round(float(defocus.max()), 3)],
        blur_sigma_px=round(sigma, 3),
        motion_blur_px=round(motion, 2),
        noise_sigma=round(noise, 2),
    )
    return add_noise(np.clip(out, 0, 255).astype(np.uint8), rng, noise)


def _defocus_px(
    camera: _Camera,
    distance: float,
    target: Points,
    homography: Matrix,
    lens: dict[str, object],
    frame: tuple[int, int],
    aperture_mm: float,
) -> Floats:
    """Per frame pixel, the blur's sigma (px) of the table's plane seen there, the camera focused on the point
    it is aimed at (``target``, at ``distance`` along its axis): see APERTURE_MM."""
    step = DEPTH_STEP_PX
    grid_w, grid_h = -(-frame[0] // step) + 1, -(-frame[1] // step) + 1
    gx, gy = np.meshgrid(np.arange(grid_w) * step, np.arange(grid_h) * step)
    undistorted = lens_undistort(lens, np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float64))
    page_mm = apply_matrix(np.asarray(np.linalg.inv(homography), np.float64), undistorted)
    world = np.column_stack([page_mm - np.array(PAGE_MM) / 2, np.zeros(len(page_mm))])
    centre = np.append(target, 0.0) - distance * camera.rotation[:, 2]
    depth = np.maximum(((world - centre) @ camera.rotation)[:, 2], distance / 4)  # far off the frame: bounded
    sigma = (aperture_mm * camera.focal_px * np.abs(1 / distance - 1 / depth) / 4).reshape(grid_h, grid_w)
    full = cv2.resize(sigma.astype(np.float32), (grid_w * step, grid_h * step), interpolation=cv2.INTER_LINEAR)
    return np.asarray(full[: frame[1], : frame[0]], np.float32)


def _blur_by(image: Floats, sigma: Floats) -> Floats:
    """``image`` blurred by a sigma varying per pixel: blurred at each of DEFOCUS_LEVELS_PX and blended between
    the two levels around each pixel's sigma."""
    levels = DEFOCUS_LEVELS_PX
    clipped = np.clip(sigma, levels[0], levels[-1])
    out = np.zeros_like(image)
    below = image
    for low, high in itertools.pairwise(levels):
        above = np.asarray(cv2.GaussianBlur(image, (0, 0), high), np.float32)
        inside = (clipped >= low) & (clipped <= high)
        if inside.any():
            share = (clipped - low) / (high - low)
            out = np.where(inside, below + share * (above - below), out)
        below = above
    return out


def _distance_for_fill(camera: _Camera, corners: Points, target: Points, frame: tuple[int, int], fill: float) -> float:
    """The camera's distance (mm) at which the sheet's outline spans ``fill`` of the frame (tighter way)."""
    near, far = 60.0, 20000.0
    for _ in range(36):
        middle = math.sqrt(near * far)
        spread = np.ptp(camera.project(corners, middle, target), axis=0) / np.array(frame)
        near, far = (middle, far) if spread.max() > fill else (near, middle)
    return math.sqrt(near * far)


def _px_per_mm(homography: Matrix, point_mm: Points) -> float:
    """The image's linear scale (px per mm) around ``point_mm``."""
    probe = point_mm + np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    mapped = apply_matrix(homography, probe)
    (ax, ay), (bx, by) = mapped[1] - mapped[0], mapped[2] - mapped[0]
    return math.sqrt(abs(ax * by - ay * bx))


def _render_photo(
    page: Gray, homography: Matrix, lens: dict[str, object], frame: tuple[int, int], source_dpi: float
) -> tuple[Floats, Floats]:
    """The sheet's pixels in the frame (through perspective and lens) and how much of each pixel it covers."""
    corners = np.array([[0, 0], [PAGE_MM[0], 0], [PAGE_MM[0], PAGE_MM[1]], [0, PAGE_MM[1]]], dtype=np.float64)
    finest = max(_px_per_mm(homography, corner) for corner in corners) * 1.2
    factor = min(1.0, finest / (source_dpi / MM_PER_INCH))
    size = (max(1, round(page.shape[1] * factor)), max(1, round(page.shape[0] * factor)))
    small = np.asarray(cv2.resize(page, size, interpolation=cv2.INTER_AREA), np.float32)
    mm_to_small = scale_matrix(size[0] / page.shape[1], size[1] / page.shape[0]) @ mm_to_source(source_dpi)
    # Grid points at pixel x = step·i + (step − 1)/2: cv2.resize by `step` then lands them on exact pixels.
    step = MAP_STEP_PX
    grid_w, grid_h = -(-frame[0] // step), -(-frame[1] // step)
    gx, gy = np.meshgrid(np.arange(grid_w) * step + (step - 1) / 2, np.arange(grid_h) * step + (step - 1) / 2)
    undistorted = lens_undistort(lens, np.column_stack([gx.ravel(), gy.ravel()]))
    page_mm = apply_matrix(np.asarray(np.linalg.inv(homography), np.float64), undistorted)
    source = apply_matrix(mm_to_small, page_mm).astype(np.float32)
    maps = [
        cv2.resize(
            source[:, axis].reshape(grid_h, grid_w), (grid_w * step, grid_h * step), interpolation=cv2.INTER_LINEAR
        )[: frame[1], : frame[0]]
        for axis in (0, 1)
    ]
    image = np.asarray(cv2.remap(small, maps[0], maps[1], cv2.INTER_LINEAR, borderValue=0), np.float32)
    ones = np.ones(small.shape, np.float32)
    cover = np.asarray(cv2.remap(ones, maps[0], maps[1], cv2.INTER_LINEAR, borderValue=0), np.float32)
    return image, cover


def _background(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[Floats, Background]:
    """What the sheet lies on: a wooden table (grain), a plain desk, a dark cloth (weave, soft folds), or a
    light surface as bright as the paper."""
    kind = pick(rng, BACKGROUNDS, BACKGROUND_SHARES)
    mottle = coarse_field(rng, shape, (6, 5))
    match kind:
        case "wood":
            base = rng.uniform(70, 170) + mottle * rng.uniform(4, 12)
            along = rng.random() < 0.5
            for cells, amplitude in (
                ((int(rng.integers(150, 400)), 3), rng.uniform(4, 10)),
                ((int(rng.integers(30, 80)), 4), rng.uniform(5, 14)),
            ):
                base += coarse_field(rng, shape, cells[::-1] if along else cells) * amplitude
        case "desk":
            base = rng.uniform(60, 190) + mottle * rng.uniform(2, 8)
        case "dark_cloth":
            weave = rng.standard_normal(shape).astype(np.float32)
            weave = np.asarray(cv2.GaussianBlur(weave, (0, 0), 1.2), np.float32) * rng.uniform(6, 16)
            folds = coarse_field(rng, shape, (4, 3)) * rng.uniform(6, 15)
            base = rng.uniform(15, 55) + weave + folds
        case "light":
            base = rng.uniform(190, 235) + mottle * rng.uniform(2, 6)
    return np.asarray(base, np.float32), kind


def _cast_shadow(rng: np.random.Generator, applied: dict[str, object], shape: tuple[int, int]) -> Floats:
    """The sharper shadow of the hand or phone over part of the frame, from one side (or none)."""
    if rng.random() >= CAST_SHADOW_SHARE:
        applied["cast_shadow"] = None
        return np.ones(shape, np.float32)
    small = (max(2, shape[0] // 4), max(2, shape[1] // 4))
    ys, xs = np.mgrid[0 : small[0], 0 : small[1]].astype(np.float32)
    direction = rng.uniform(0, 2 * math.pi)
    along = (xs / small[1] - 0.5) * math.cos(direction) + (ys / small[0] - 0.5) * math.sin(direction)
    reach = rng.uniform(0.15, 0.5)  # the shadow covers the frame beyond this line
    edge = rng.uniform(0.004, 0.02)
    strength = rng.uniform(*CAST_SHADOW_STRENGTH)
    shade = 1 - strength * 0.5 * (1 + np.tanh((along - (0.5 - reach)) / (2 * edge)))  # a logistic step
    applied["cast_shadow"] = {
        "direction_deg": round(math.degrees(direction), 1),
        "reach": round(reach, 3),
        "strength": round(strength, 3),
    }
    return np.asarray(
        cv2.resize(shade.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR), np.float32
    )
