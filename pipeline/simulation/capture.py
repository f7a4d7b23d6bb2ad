"""Capture conditions: how the device saw the sheet, when it saw it worse than the plain profiles do.

Contract. Each capture takes the page as printed and filled (8-bit grey at ``source_dpi``, image edges =
paper edges), draws everything from the ``rng`` it is given, records it in ``applied`` (``page_mm_to_image``
and, where they apply, ``lens`` and ``fax_rows``, which :func:`pipeline.simulation.geometry.page_to_image`
follows) and returns the device's grey image, before the device's own processing (binarisation, JPEG).

What the world does, as described to us:

- a phone photo of a sheet on a desk, wood or dark cloth: the camera tilted up to 35° from straight above,
  rolled, the sheet filling 40–90 % of the frame, light falling unevenly, a hand's or phone's shadow, an
  uncorrected lens's barrel distortion (:func:`photo`);
- a page fed shifted, placed crooked on the glass or photographed tight, so that one or two corner marks fall
  outside the image while the code and every box stay in — or, separately, a box falls outside
  (:func:`scanner_placement`, :func:`photo` with a framing);
- a fax: 8 pels/mm across a 1728-pel line, 3.85 (standard) or 7.7 (fine) lines/mm down the page, the feed's
  speed varying slowly, scan lines lost or repeated in transmission, the sender's header line across the top,
  and the file stating 204 × 98, 200 × 100 or 204 × 196 dpi, or nothing (:func:`fax`, :func:`fax_lines`);
- dirt on a scanner's glass drawing a line down the whole page (:func:`long_streaks`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal, cast

import cv2
import numpy as np

from pipeline.ballot.layout import Layout, Rect
from pipeline.common.imaging import MM_PER_INCH
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
    record_geometry,
    scale_matrix,
    soft_blur,
)
from pipeline.simulation.geometry import Points, fax_scan_rows, lens_undistort, page_to_image, rects_state

Framing = Literal["whole", "marks_cut", "box_cut"]
Background = Literal["wood", "desk", "dark_cloth", "light"]

# Phone photos.
PHOTO_TILT_DEG: dict[str, tuple[float, float]] = {"steep": (10.0, 35.0), "mild": (0.0, 8.0)}
PHOTO_FILL = (0.4, 0.9)  # the sheet's outline spans this share of the frame in its tighter direction
PHOTO_PLACE_SHARE = (0.15, 0.85)  # where the sheet sits in the frame's free room, per axis
TIGHT_FILL: dict[str, tuple[float, float]] = {"marks_cut": (0.85, 1.3), "box_cut": (0.9, 1.8)}  # overflowing
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
MAP_STEP_PX = 8  # the photo's pixel map is smooth: computed on this grid and interpolated
FRAMING_TRIES = 4000
# Scanners placed or fed badly.
SHIFT_ANGLE_DEG, SHIFT_MM, CUT_SHIFT_MM = 3.0, 24.0, 66.0
FAX_SHIFT_ANGLE_DEG, FAX_SHIFT_MM = 0.8, 26.0  # guides keep a fed sheet nearly straight
FAX_OVERRUN_MM = 6.0
MARK_MARGIN_MM, CONTENT_MARGIN_MM = 1.0, 2.0  # kept-in marks and the code and boxes lie this far inside
BOX_CUT_MM = 1.4  # a cut box has at least this much of its width or height outside the image
FAX_TRUNCATED_MM = (120.0, 185.0)  # a fax page cut short (memory full, line dropped) ends here on the sheet
# Faxes (ITU-T T.4): 8 pels/mm across 1728 pels; 3.85 or 7.7 lines/mm.
FAX_PELS_PER_MM, FAX_LINE_PELS = 8.0, 1728
FAX_LINES_PER_MM: dict[str, float] = {"standard": 3.85, "fine": 7.7}
FAX_STATED_DPI: dict[str, tuple[tuple[tuple[float, float] | None, ...], tuple[float, ...]]] = {
    "standard": (((204.0, 98.0), (200.0, 100.0), None), (0.55, 0.25, 0.20)),
    "fine": (((204.0, 196.0), None), (0.8, 0.2)),
}
FAX_FEED = (0.97, 1.03)  # the feed's overall speed error (nominal rows per scan row)
FAX_WOBBLE_SHARE_PER_ROW = 0.02  # the feed's local speed varies by up to this much
FAX_WOBBLE_PERIOD_MM = (30.0, 160.0)
FAX_LINE_EVENTS, FAX_LINE_ROWS = (1, 4), {"standard": 3, "fine": 6}
FAX_HEADER_MM, FAX_HEADER_TEXT_MM = 4.5, 2.6
FAX_MODES, FAX_MODE_SHARES = ("otsu", "fixed", "dither"), (0.4, 0.35, 0.25)
SCAN_BLUR_PX, SCAN_NOISE = (0.3, 0.8), (1.5, 4.0)
# Streaks.
STREAK_COUNTS, STREAK_WIDTH_PX = (1, 3), (1, 4)
STREAK_IN_BOX_SHARE = 0.5  # dirt anywhere on the glass; half the streaks are put through a column of boxes
STREAK_DARK_SHARE, STREAK_DARK, STREAK_LIGHT = 0.65, (0.35, 0.85), (0.3, 0.9)
# A streak through a box could hide a mark there when it is as dark as a pencil stroke (paper × 0.6), or
# lifts a pencil stroke to faint-pencil grey.
STREAK_HIDES_DARK, STREAK_HIDES_LIGHT = 0.6, 0.6


@dataclass(frozen=True)
class Placement:
    """A sheet on a scanner: rotated about its centre (°), its centre shifted from the frame's (mm)."""

    angle_deg: float
    shift_mm: tuple[float, float]
    scale: float = 1.0


def rect_grown(rect: Rect, mm: float) -> Rect:
    return Rect(rect.x - mm, rect.y - mm, rect.w + 2 * mm, rect.h + 2 * mm)


def framing_holds(
    to_frame: Callable[[Points], Points], size: tuple[float, float], layout: Layout, framing: Framing
) -> bool:
    """Whether a capture mapping page mm into a frame of ``size`` (x, y, same units) frames as asked:
    ``marks_cut`` 1–2 registration marks wholly outside, the rest, the code and every box well inside;
    ``box_cut`` a box at least :data:`BOX_CUT_MM` outside, the code inside; ``whole`` everything inside."""
    marks = [rect_grown(rect, MARK_MARGIN_MM) for rect in layout.registration]
    if framing == "box_cut":
        rects = [rect_grown(layout.qr, MARK_MARGIN_MM), *(rect_grown(box.rect, -BOX_CUT_MM) for box in layout.boxes)]
    else:
        rects = [
            *marks,
            *(rect_grown(rect, CONTENT_MARGIN_MM) for rect in (layout.qr, *(b.rect for b in layout.boxes))),
        ]
    states = rects_state(to_frame, rects, size)
    if framing == "box_cut":
        return bool(states[0, 0]) and not bool(states[1:, 0].all())
    marks_in, marks_out = states[: len(marks), 0], states[: len(marks), 1]
    content_in = bool(states[len(marks) :, 0].all())
    if framing == "whole":
        return content_in and bool(marks_in.all())
    return content_in and int(marks_out.sum()) in (1, 2) and bool((marks_in | marks_out).all())


def _placement_mm(placement: Placement, frame_mm: tuple[float, float], upside_down: bool) -> Matrix:
    """Page mm → frame mm: the sheet turned about its centre, its centre at the frame's plus the shift."""
    angle = math.radians(placement.angle_deg + (180.0 if upside_down else 0.0))
    cos, sin = math.cos(angle) * placement.scale, math.sin(angle) * placement.scale
    centre = np.array(PAGE_MM) / 2
    target = np.array(frame_mm) / 2 + np.array(placement.shift_mm)
    rotation = np.array([[cos, -sin], [sin, cos]])
    matrix = np.eye(3)
    matrix[:2, :2] = rotation
    matrix[:2, 2] = target - rotation @ centre
    return matrix


def scanner_placement(
    rng: np.random.Generator,
    layout: Layout,
    frame_mm: tuple[float, float],
    framing: Framing,
    *,
    fax: bool,
    upside_down: bool,
) -> Placement:
    """A placement that frames the sheet (fed upside down or not) as ``framing`` asks (drawn until it does)."""
    angle_limit, shift_limit = (FAX_SHIFT_ANGLE_DEG, FAX_SHIFT_MM) if fax else (SHIFT_ANGLE_DEG, SHIFT_MM)
    if framing == "box_cut":
        shift_limit = CUT_SHIFT_MM
    for _ in range(FRAMING_TRIES):
        shift_y = rng.uniform(-2.0, 2.0) if fax else rng.uniform(-SHIFT_MM, SHIFT_MM)
        placement = Placement(
            float(rng.uniform(-angle_limit, angle_limit)),
            (float(rng.uniform(-shift_limit, shift_limit)), float(shift_y)),
        )
        matrix = _placement_mm(placement, frame_mm, upside_down)
        if framing_holds(partial(_apply, matrix), frame_mm, layout, framing):
            return placement
    raise AssertionError(f"no {framing} placement found in {FRAMING_TRIES} tries")


def _apply(matrix: Matrix, points: Points) -> Points:
    mapped = np.column_stack([points, np.ones(len(points))]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def _mm_to_source(source_dpi: float) -> Matrix:
    matrix = scale_matrix(source_dpi / MM_PER_INCH, source_dpi / MM_PER_INCH)
    matrix[:2, 2] = -0.5
    return matrix


def scanned(
    page: Gray,
    rng: np.random.Generator,
    applied: dict[str, object],
    source_dpi: float,
    *,
    dpi: tuple[float, float],
    frame_mm: tuple[float, float],
    placement: Placement,
    upside_down: bool,
    backing: int,
    fax_rows: dict[str, object] | None = None,
) -> Gray:
    """The sheet placed on a scanner (or fed into a fax) and read at ``dpi`` (x, y) into a frame of
    ``frame_mm``; ``fax_rows`` (feed and wobble) moves the rows as the feed did."""
    to_frame = _placement_mm(placement, frame_mm, upside_down)
    to_pixels = np.diag([dpi[0] / MM_PER_INCH, dpi[1] / MM_PER_INCH, 1.0])
    to_pixels[:2, 2] = -0.5
    width, height = round(frame_mm[0] / MM_PER_INCH * dpi[0]), round(frame_mm[1] / MM_PER_INCH * dpi[1])
    # The sensor's aperture averages each pixel's area: resample to the output's resolution first.
    size = (round(page.shape[1] * dpi[0] / source_dpi), round(page.shape[0] * dpi[1] / source_dpi))
    small = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
    resize = scale_matrix(size[0] / page.shape[1], size[1] / page.shape[0])
    source_to_output = to_pixels @ to_frame @ np.linalg.inv(_mm_to_source(source_dpi))
    record_geometry(applied, source_to_output, source_dpi)
    inverse = resize @ np.linalg.inv(source_to_output)  # output pixel → small-page pixel
    if fax_rows is None:
        out = cv2.warpAffine(
            small, np.linalg.inv(inverse)[:2], (width, height), flags=cv2.INTER_LINEAR, borderValue=backing
        )
        rows = height
    else:
        rows = math.ceil(height / float(cast(float, fax_rows["feed"])))
        fax_rows["scan_rows"] = rows
        nominal = fax_scan_rows(fax_rows, rows).astype(np.float32)
        xs = np.arange(width, dtype=np.float32)[None, :]
        map_x = inverse[0, 0] * xs + inverse[0, 1] * nominal[:, None] + inverse[0, 2]
        map_y = inverse[1, 0] * xs + inverse[1, 1] * nominal[:, None] + inverse[1, 2]
        out = cv2.remap(
            small, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=backing
        )
        applied["fax_rows"] = fax_rows
    sigma, noise = rng.uniform(*SCAN_BLUR_PX), rng.uniform(*SCAN_NOISE)
    applied.update(
        dpi=round(dpi[0], 3) if dpi[0] == dpi[1] else [round(dpi[0], 3), round(dpi[1], 3)],
        angle_deg=round(placement.angle_deg, 4),
        shift_mm=[round(v, 3) for v in placement.shift_mm],
        scale=round(placement.scale, 5),
        frame_px=[width, rows],
        backing=backing,
        blur_sigma_px=round(sigma, 3),
        noise_sigma=round(noise, 2),
    )
    blurred = np.asarray(cv2.GaussianBlur(np.asarray(out, np.uint8), (0, 0), sigma), np.uint8)
    return add_noise(blurred, rng, noise)


def fax_settings(rng: np.random.Generator, resolution: Literal["standard", "fine"]) -> dict[str, object]:
    """A fax's resolution, the dpi its file states (or None) and its feed's speed error and wobble."""
    stated_options, shares = FAX_STATED_DPI[resolution]
    lines_per_mm = FAX_LINES_PER_MM[resolution]
    wobble = []
    for _ in range(int(rng.integers(1, 3))):
        period = rng.uniform(*FAX_WOBBLE_PERIOD_MM) * lines_per_mm
        share = rng.uniform(0.3, 1.0) * FAX_WOBBLE_SHARE_PER_ROW / 2
        wobble.append(
            [round(share * period / (2 * math.pi), 4), round(period, 2), round(rng.uniform(0, 2 * math.pi), 4)]
        )
    return {
        "resolution": resolution,
        "dpi": (FAX_PELS_PER_MM * MM_PER_INCH, lines_per_mm * MM_PER_INCH),
        "stated_dpi": pick(rng, stated_options, shares),
        "feed": round(rng.uniform(*FAX_FEED), 5),
        "wobble": wobble,
        "mode": pick(rng, FAX_MODES, FAX_MODE_SHARES),
        "compression": pick(rng, ("group3", "group4")),
    }


def fax_lines(binary: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """Scan lines lost or repeated in transmission, then the sender's header line across the top."""
    fax_rows = cast(dict[str, object], applied["fax_rows"])
    resolution = cast(str, fax_rows["resolution"])
    lines, out = [], binary
    for _ in range(int(rng.integers(FAX_LINE_EVENTS[0], FAX_LINE_EVENTS[1] + 1))):
        count = int(rng.integers(1, FAX_LINE_ROWS[resolution] + 1))
        at = int(rng.integers(1, out.shape[0] - count - 1))
        kind = "lost" if rng.random() < 0.5 else "repeated"
        if kind == "lost":
            out = np.concatenate([out[:at], out[at + count :]])
        else:
            out = np.concatenate([out[: at + 1], np.repeat(out[at : at + 1], count, axis=0), out[at + 1 :]])
        lines.append({"at": at, "rows": count, "kind": kind})
    dpi = cast(tuple[float, float], fax_rows["dpi"])
    header = _header_strip(rng, out.shape[1], dpi)
    mode = "prepend" if rng.random() < 0.5 else "overlay"
    if mode == "prepend":
        out = np.concatenate([header, out])
    else:
        top = out[: header.shape[0]]
        out[: header.shape[0]] = np.minimum(top, header)
    fax_rows.update(lines=lines, header_rows=header.shape[0], header_mode=mode)
    return np.ascontiguousarray(out)


def _header_strip(rng: np.random.Generator, width: int, dpi: tuple[float, float]) -> Gray:
    """The header a sending fax prints into its scan lines: date, time, its number and name, the page."""
    month, day, hour, minute = (
        int(rng.integers(1, 13)),
        int(rng.integers(1, 29)),
        int(rng.integers(8, 18)),
        int(rng.integers(0, 60)),
    )
    number = "".join(str(int(d)) for d in rng.integers(0, 10, 7))
    name = pick(rng, ("WENTI JU", "XIAN WENHUA TIYU", "BGS", "FAX-SERVER"))
    sheet = int(rng.integers(1, 41))
    text = f"2026-{month:02d}-{day:02d} {hour:02d}:{minute:02d}   FROM: 0871 {number}   {name}   P.{sheet:03d}"
    square_mm = FAX_HEADER_MM * dpi[0] / MM_PER_INCH
    strip = np.full((round(square_mm), width), 255, np.uint8)
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, round(FAX_HEADER_TEXT_MM * dpi[0] / MM_PER_INCH), 2)
    cv2.putText(
        strip,
        text,
        (round(rng.uniform(4, 20) * dpi[0] / MM_PER_INCH), round(square_mm * 0.8)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        0,
        2,
    )
    rows = max(1, round(FAX_HEADER_MM * dpi[1] / MM_PER_INCH))
    squashed = cv2.resize(strip, (width, rows), interpolation=cv2.INTER_AREA)
    return np.where(squashed < 128, 0, 255).astype(np.uint8)


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
            cv2.getPerspectiveTransform(corners.astype(np.float32), (projected + origin).astype(np.float32)), np.float64
        )
        trial = {"page_mm_to_image": homography.tolist(), "lens": lens}
        if framing_holds(partial(page_to_image, trial), (frame[0], frame[1]), layout, framing):
            break
    else:
        raise AssertionError(f"no {framing} photo framing found in {FRAMING_TRIES} tries")
    applied["page_mm_to_image"] = [[round(float(v), 9) for v in row] for row in homography / homography[2, 2]]
    applied["lens"] = lens
    image, cover = _render_photo(page, homography, lens, frame, source_dpi)
    surface, kind = _background(rng, (frame[1], frame[0]))
    drop = soft_blur(cover, 0.01 * max(frame)) * rng.uniform(0.2, 0.45)
    lit = (image + surface * (1 - drop) * (1 - cover)) * light_field(rng, applied, (frame[1], frame[0]))
    lit *= _cast_shadow(rng, applied, (frame[1], frame[0]))
    sigma, motion = rng.uniform(*PHOTO_BLUR_PX), rng.uniform(0, PHOTO_MOTION_PX)
    out = motion_blur(np.asarray(cv2.GaussianBlur(lit, (0, 0), sigma), np.float32), motion, rng.uniform(0, 180))
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
        blur_sigma_px=round(sigma, 3),
        motion_blur_px=round(motion, 2),
        noise_sigma=round(noise, 2),
    )
    return add_noise(np.clip(out, 0, 255).astype(np.uint8), rng, noise)


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
    mapped = _apply(homography, probe)
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
    mm_to_small = scale_matrix(size[0] / page.shape[1], size[1] / page.shape[0]) @ _mm_to_source(source_dpi)
    # Grid points at pixel x = step·i + (step − 1)/2: cv2.resize by `step` then lands them on exact pixels.
    step = MAP_STEP_PX
    grid_w, grid_h = -(-frame[0] // step), -(-frame[1] // step)
    gx, gy = np.meshgrid(np.arange(grid_w) * step + (step - 1) / 2, np.arange(grid_h) * step + (step - 1) / 2)
    undistorted = lens_undistort(lens, np.column_stack([gx.ravel(), gy.ravel()]))
    page_mm = _apply(np.asarray(np.linalg.inv(homography), np.float64), undistorted)
    source = _apply(mm_to_small, page_mm).astype(np.float32)
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


def long_streaks(image: Gray, rng: np.random.Generator, applied: dict[str, object], layout: Layout) -> Gray:
    """Dirt on the glass: lines down the whole image, dark or light, 1–4 px; half of them put through a
    column of boxes. Records which boxes each one crosses and whether it could hide a mark there."""
    out = image.astype(np.float32)
    width = image.shape[1]
    box_spans = _box_spans(applied, layout)
    streaks = []
    for _ in range(int(rng.integers(STREAK_COUNTS[0], STREAK_COUNTS[1] + 1))):
        stroke = int(rng.integers(STREAK_WIDTH_PX[0], STREAK_WIDTH_PX[1] + 1))
        if rng.random() < STREAK_IN_BOX_SHARE:
            left, right = box_spans[int(rng.integers(0, len(box_spans)))][1]
            x = int(rng.integers(math.ceil(left), max(math.ceil(left) + 1, math.floor(right) - stroke + 1)))
        else:
            x = int(rng.integers(0, width - stroke))
        dark = bool(rng.random() < STREAK_DARK_SHARE)
        factor = rng.uniform(*(STREAK_DARK if dark else STREAK_LIGHT))
        band = out[:, x : x + stroke]
        out[:, x : x + stroke] = band * factor if dark else band + (255 - band) * factor
        hides = factor <= STREAK_HIDES_DARK if dark else factor >= STREAK_HIDES_LIGHT
        crossed = [name for name, (left, right) in box_spans if x < right and x + stroke > left]
        streaks.append(
            {"x": x, "width": stroke, "dark": dark, "factor": round(factor, 3), "boxes": crossed, "hides": bool(hides)}
        )
    applied["long_streaks"] = streaks
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def _box_spans(applied: dict[str, object], layout: Layout) -> list[tuple[str, tuple[float, float]]]:
    """Each box's interior (0.5 mm inside its border) as an image column range."""
    spans = []
    for box in layout.boxes:
        inner = rect_grown(box.rect, -0.5)
        corners = page_to_image(applied, np.array(inner.corners))
        spans.append((f"{box.unit}/{box.option}", (float(corners[:, 0].min()), float(corners[:, 0].max()))))
    return spans
