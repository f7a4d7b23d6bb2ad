"""Capture conditions on scanners and faxes: how the device saw the sheet, when worse than the plain profiles.

Contract. Each capture takes the page as printed and filled (8-bit grey at ``source_dpi``, image edges =
paper edges), draws everything from the ``rng`` it is given, records it in ``applied`` (``page_mm_to_image``
and, where they apply, ``lens`` and ``fax_rows``, which :func:`pipeline.simulation.geometry.page_to_image`
follows) and returns the device's grey image, before the device's own processing (binarisation, JPEG).

What the world does, as described to us:

- a page fed shifted or placed crooked on the glass (or photographed tight: :mod:`.photo`), so that one or
  two corner marks fall outside the image while the code and every box stay in — or, separately, a box
  falls outside (:func:`scanner_placement`, :func:`framing_holds`);
- a fax: 8 pels/mm across a 1728-pel line, 3.85 (standard) or 7.7 (fine) lines/mm down the page, the feed's
  speed varying slowly, and on many machines slipping: a worn or dusty roller lets the sheet lag behind the line
  rate over a stretch of it (that band of the page comes out taller) and then grip and catch up (shorter), a
  crease or a thick sheet dragging does the same — bands of 15–80 mm, up to a tenth off; the sheet walking
  sideways as the rollers draw it in (one gripping harder than the other, a sheet fed a little askew against its
  guide: it drifts and snakes across the line by a few millimetres from top to bottom), scan lines lost or
  repeated in transmission (a band of them at once in a noise burst), the sender's header line across the top,
  and the file stating 204 × 98, 200 × 100 or 204 × 196 dpi, or nothing (:func:`fax_settings`, :func:`scanned`,
  :func:`fax_lines`);
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
    Gray,
    Matrix,
    add_noise,
    pick,
    record_geometry,
    scale_matrix,
)
from pipeline.simulation.geometry import Points, fax_scan_rows, fax_walk, page_to_image, rects_state

Framing = Literal["whole", "marks_cut", "code_cut", "box_cut"]

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
# A slipping feed (see the module's description): on this share of faxes, 1–3 bands of the sheet pass the sensor
# this much faster or slower than the line rate (either way), each this long, its speed changing over the ramp.
FAX_SLIP_SHARE, FAX_SLIPS, FAX_SLIP_SPEED = 0.5, (1, 3), (0.03, 0.10)
FAX_SLIP_MM, FAX_SLIP_RAMP_MM = (15.0, 80.0), (2.0, 8.0)
# The sheet walks sideways as it is drawn through: a steady drift (the sheet fed askew, turning as it goes) and a
# slow snaking (the rollers' grip changing hands), the drift up to this far across the line over the page's length,
# the snaking up to this far either way.
FAX_DRIFT_MM, FAX_SNAKE_MM, FAX_SNAKE_PERIOD_MM = 2.0, 2.0, (120.0, 400.0)
FAX_LINE_EVENTS, FAX_LINE_ROWS = (1, 4), {"standard": 3, "fine": 6}
# A burst of noise on the telephone line (a click, a crackle; no error correction) garbles the coded data until the
# next end-of-line code the receiver finds again: every scan line in between is dropped, a band 0.5–3 mm of the page
# lost at once, anywhere (through a row of boxes as likely as through paper), on some pages.
FAX_BURST_SHARE, FAX_BURST_MM = 0.3, (0.5, 3.0)
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
    ``code_cut`` the code partly or wholly outside, every box well inside (the marks as they fall);
    ``box_cut`` a box at least :data:`BOX_CUT_MM` outside, the code inside; ``whole`` everything inside."""
    marks = [rect_grown(rect, MARK_MARGIN_MM) for rect in layout.registration]
    if framing == "code_cut":
        rects = [layout.qr, *(rect_grown(box.rect, CONTENT_MARGIN_MM) for box in layout.boxes)]
        states = rects_state(to_frame, rects, size)
        return not bool(states[0, 0]) and bool(states[1:, 0].all())
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
    if framing in ("box_cut", "code_cut"):
        shift_limit = CUT_SHIFT_MM
    for _ in range(FRAMING_TRIES):
        # A fed sheet's leading edge meets the scan's first line; only a sheet laid on the glass shifts down or up.
        fed = fax or framing == "code_cut"
        shift_y = rng.uniform(-2.0, 2.0) if fed else rng.uniform(-SHIFT_MM, SHIFT_MM)
        placement = Placement(
            float(rng.uniform(-angle_limit, angle_limit)),
            (float(rng.uniform(-shift_limit, shift_limit)), float(shift_y)),
        )
        matrix = _placement_mm(placement, frame_mm, upside_down)
        if framing_holds(partial(apply_matrix, matrix), frame_mm, layout, framing):
            return placement
    raise AssertionError(f"no {framing} placement found in {FRAMING_TRIES} tries")


def apply_matrix(matrix: Matrix, points: Points) -> Points:
    mapped = np.column_stack([points, np.ones(len(points))]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def mm_to_source(source_dpi: float) -> Matrix:
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
    source_to_output = to_pixels @ to_frame @ np.linalg.inv(mm_to_source(source_dpi))
    record_geometry(applied, source_to_output, source_dpi)
    inverse = resize @ np.linalg.inv(source_to_output)  # output pixel → small-page pixel
    if fax_rows is None:
        out = cv2.warpAffine(
            small, np.linalg.inv(inverse)[:2], (width, height), flags=cv2.INTER_LINEAR, borderValue=backing
        )
        rows = height
    else:
        # The fax scans until the sheet's end has passed the sensor, however the feed ran.
        reach = fax_scan_rows(fax_rows, math.ceil(height / float(cast(float, fax_rows["feed"])) * 1.3))
        rows = int(np.searchsorted(reach, height - 1)) + 1
        fax_rows["scan_rows"] = rows
        nominal = reach[:rows].astype(np.float32)
        xs = np.arange(width, dtype=np.float32)[None, :] - fax_walk(fax_rows, nominal).astype(np.float32)[:, None]
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
    """A fax's resolution, the dpi its file states (or None) and its feed's speed error, wobble and slips."""
    stated_options, shares = FAX_STATED_DPI[resolution]
    lines_per_mm = FAX_LINES_PER_MM[resolution]
    wobble = []
    for _ in range(int(rng.integers(1, 3))):
        period = rng.uniform(*FAX_WOBBLE_PERIOD_MM) * lines_per_mm
        share = rng.uniform(0.3, 1.0) * FAX_WOBBLE_SHARE_PER_ROW / 2
        wobble.append(
            [round(share * period / (2 * math.pi), 4), round(period, 2), round(rng.uniform(0, 2 * math.pi), 4)]
        )
    slips: list[list[float]] = []
    if rng.random() < FAX_SLIP_SHARE:
        for _ in range(int(rng.integers(FAX_SLIPS[0], FAX_SLIPS[1] + 1))):
            length = rng.uniform(*FAX_SLIP_MM) * lines_per_mm
            start = rng.uniform(0.0, PAGE_MM[1] * lines_per_mm - length)
            if any(start < other + span and other < start + length for other, span, _, _ in slips):
                continue  # one band of the sheet slips one way at a time
            speed = float(rng.choice((-1.0, 1.0))) * rng.uniform(*FAX_SLIP_SPEED)
            ramp = rng.uniform(*FAX_SLIP_RAMP_MM) * lines_per_mm
            slips.append([round(start, 1), round(length, 1), round(speed, 4), round(ramp, 1)])
    snake_period = rng.uniform(*FAX_SNAKE_PERIOD_MM) * lines_per_mm
    walk = {
        "drift": round(rng.uniform(-FAX_DRIFT_MM, FAX_DRIFT_MM) * FAX_PELS_PER_MM / (PAGE_MM[1] * lines_per_mm), 6),
        "snake": [
            round(rng.uniform(0.0, FAX_SNAKE_MM) * FAX_PELS_PER_MM, 3),
            round(snake_period, 2),
            round(rng.uniform(0, 2 * math.pi), 4),
        ],
    }
    return {
        "resolution": resolution,
        "dpi": (FAX_PELS_PER_MM * MM_PER_INCH, lines_per_mm * MM_PER_INCH),
        "walk": walk,
        "stated_dpi": pick(rng, stated_options, shares),
        "feed": round(rng.uniform(*FAX_FEED), 5),
        "wobble": wobble,
        "slips": slips,
        "mode": pick(rng, FAX_MODES, FAX_MODE_SHARES),
        "compression": pick(rng, ("group3", "group4")),
    }


def fax_lines(binary: Gray, rng: np.random.Generator, applied: dict[str, object]) -> Gray:
    """Scan lines lost or repeated in transmission (on some pages a burst of noise drops a band of them), then the
    sender's header line across the top."""
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
    if rng.random() < FAX_BURST_SHARE:
        count = max(1, round(rng.uniform(*FAX_BURST_MM) * FAX_LINES_PER_MM[resolution]))
        at = int(rng.integers(1, out.shape[0] - count - 1))
        out = np.concatenate([out[:at], out[at + count :]])
        lines.append({"at": at, "rows": count, "kind": "burst"})
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
