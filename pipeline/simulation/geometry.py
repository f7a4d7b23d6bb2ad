"""Geometry: where a point of the printed page lands in a simulated image, through every condition.

Contract. :func:`page_to_image` maps page millimetres (x right, y down from the paper's top-left corner) to
image pixel centres using only what :func:`~pipeline.simulation.degrade.degrade` recorded in ``applied``:

1. ``fold`` — an unfolded sheet's parts foreshortened towards each crease (:func:`fold_points`), still in mm;
2. ``page_mm_to_image`` — the capture's homography (scanner placement, fax resolution, phone perspective);
   then ``curl`` — a phone photo's paper lying not quite flat on the desk (:func:`curl_forward`);
3. ``lens`` — a phone lens's barrel distortion about the frame centre (:func:`lens_distort`);
4. ``fax_rows`` — a fax's feed wobble, lost and repeated scan lines and its header line, which move rows
   (:func:`fax_source_rows`), and the sheet's sideways walk, which moves each row across (:func:`fax_walk`);
5. ``app`` — a phone scanner app's flattening of the photo onto an upright page (a homography,
   :mod:`pipeline.simulation.scanapp`).

The renderers use the same functions (or their inverses), so the truth and the pixels cannot disagree.
:func:`in_image` says which registration marks, boxes and QR corners fall outside the image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Layout, Rect

Points = npt.NDArray[np.float64]  # (n, 2): x, y


def fold_points(folds: Sequence[Mapping[str, object]], points_mm: Points) -> Points:
    """Where page points appear once the sheet, folded and opened again, lies in parts at different planes.

    Each crease (in order) is a line through ``at_mm`` (its place across the page) at ``angle_deg``; the part
    on either side is foreshortened towards the crease so that its far paper edge moves ``shift_mm`` (before,
    after) nearer to it: a lifted panel seen from above."""
    out = np.array(points_mm, dtype=np.float64, copy=True)
    for crease in folds:
        normal, offset, factors = crease_frame(crease)
        distance = out @ normal - offset
        factor = np.where(distance < 0, factors[0], factors[1])
        out -= np.outer(distance * factor, normal)
    return out


def unfold_points(folds: Sequence[Mapping[str, object]], points_mm: Points) -> Points:
    """The inverse of :func:`fold_points`: which page point appears at each displaced point."""
    out = np.array(points_mm, dtype=np.float64, copy=True)
    for crease in reversed(folds):
        normal, offset, factors = crease_frame(crease)
        seen = out @ normal - offset
        factor = np.where(seen < 0, factors[0], factors[1])
        out += np.outer(seen / (1 - factor) - seen, normal)
    return out


def crease_frame(crease: Mapping[str, object]) -> tuple[Points, float, tuple[float, float]]:
    """(unit normal, offset along it, shrink factor before/after) of one crease."""
    angle = math.radians(float(cast(float, crease["angle_deg"])))
    at = float(cast(float, crease["at_mm"]))
    shifts = cast(Sequence[float], crease["shift_mm"])
    extents = cast(Sequence[float], crease["extent_mm"])
    if crease["axis"] == "y":  # a horizontal crease: parts above and below it
        normal, centre = np.array([-math.sin(angle), math.cos(angle)]), np.array([105.0, at])
    else:
        normal, centre = np.array([math.cos(angle), math.sin(angle)]), np.array([at, 148.5])
    factors = (float(shifts[0]) / float(extents[0]), float(shifts[1]) / float(extents[1]))
    return normal, float(centre @ normal), factors


def curl_shift(curl: Mapping[str, object], points_px: Points) -> Points:
    """The paper curl's displacement field at ``points_px`` (x, y) of the curled photo: the photo pixel each shows is
    this far from it (:func:`~pipeline.simulation.effects.curl_paper`: across by a sine down the photo, down by a
    sine across it)."""
    amplitude = float(cast(float, curl["amplitude_px"]))
    wave_x, wave_y = (float(value) for value in cast(Sequence[float], curl["wave_px"]))
    phase_x, phase_y = (float(value) for value in cast(Sequence[float], curl["phase"]))
    across = amplitude * np.sin(2 * np.pi * points_px[:, 1] / wave_y + phase_x)
    down = amplitude * np.sin(2 * np.pi * points_px[:, 0] / wave_x + phase_y)
    return np.column_stack([across, down])


def curl_forward(curl: Mapping[str, object], points_px: Points) -> Points:
    """Where photo pixels land once the paper's curl moved them: the point q whose shifted place q + shift(q) is the
    photo's point (fixed-point iteration; the field's slope is a few hundredths)."""
    guess = points_px.copy()
    for _ in range(8):
        guess = points_px - curl_shift(curl, guess)
    return guess


def lens_distort(lens: Mapping[str, object], points_px: Points) -> Points:
    """Barrel distortion: ``r_d = r_u (1 + k1 (r_u / radius)²)`` about ``centre`` (k1 < 0 pulls corners in)."""
    centre = np.array(cast(Sequence[float], lens["centre"]), dtype=np.float64)
    k1, radius = float(cast(float, lens["k1"])), float(cast(float, lens["radius"]))
    offset = points_px - centre
    squared = (offset**2).sum(axis=1, keepdims=True) / radius**2
    return cast(Points, centre + offset * (1 + k1 * squared))


def lens_undistort(lens: Mapping[str, object], points_px: Points) -> Points:
    """The inverse of :func:`lens_distort` (fixed-point iteration; |k1| is small)."""
    centre = np.array(cast(Sequence[float], lens["centre"]), dtype=np.float64)
    k1, radius = float(cast(float, lens["k1"])), float(cast(float, lens["radius"]))
    seen = points_px - centre
    guess = seen.copy()
    for _ in range(8):
        guess = seen / (1 + k1 * (guess**2).sum(axis=1, keepdims=True) / radius**2)
    return centre + guess


def fax_scan_rows(fax_rows: Mapping[str, object], count: int) -> npt.NDArray[np.float64]:
    """The nominal row (of an evenly fed page) that each of ``count`` scan rows shows: the feed's overall
    speed error (``feed``), slow sinusoidal wobbles (``wobble``: amplitude in rows, period in rows, phase) and
    slips (``slips``, where recorded: from scan row, for rows, the sheet this share faster, over a ramp of rows at
    each end)."""
    rows = np.arange(count, dtype=np.float64)
    rate = np.ones(count, dtype=np.float64)
    for start, length, share, ramp in cast(Sequence[Sequence[float]], fax_rows.get("slips", ())):
        into = np.clip(np.minimum(rows - start, start + length - rows) / ramp, 0.0, 1.0)
        rate += share * (0.5 - 0.5 * np.cos(np.pi * into))
    nominal = (np.cumsum(rate) - rate[0]) * float(cast(float, fax_rows["feed"])) if count else rows
    for amplitude, period, phase in cast(Sequence[Sequence[float]], fax_rows["wobble"]):
        nominal += amplitude * (np.sin(2 * np.pi * rows / period + phase) - math.sin(phase))
    return np.asarray(nominal, dtype=np.float64)


def fax_walk(fax_rows: Mapping[str, object], nominal: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """How far right (output pixels) the sheet had walked when its nominal row ``nominal`` passed the sensor: a
    steady drift (``drift``, pixels per row) and a slow snaking (``snake``: amplitude in pixels, period in rows,
    phase), nothing at the top. Faxes recorded without a walk did not walk."""
    walk = cast(Mapping[str, object] | None, fax_rows.get("walk"))
    rows = np.asarray(nominal, dtype=np.float64)
    if walk is None:
        return np.zeros_like(rows)
    amplitude, period, phase = cast(Sequence[float], walk["snake"])
    snake = amplitude * (np.sin(2 * np.pi * rows / period + phase) - math.sin(phase))
    return np.asarray(float(cast(float, walk["drift"])) * rows + snake, dtype=np.float64)


def fax_source_rows(fax_rows: Mapping[str, object]) -> npt.NDArray[np.float64]:
    """For every row of the final fax image, the nominal row it shows (NaN: the header line's own rows)."""
    scan = np.arange(int(cast(int, fax_rows["scan_rows"])), dtype=np.float64)
    for glitch in cast(Sequence[Mapping[str, object]], fax_rows["lines"]):
        at, count = int(cast(int, glitch["at"])), int(cast(int, glitch["rows"]))
        if glitch["kind"] in ("lost", "burst"):  # a burst of line noise drops a band of lines at once
            scan = np.concatenate([scan[:at], scan[at + count :]])
        else:
            scan = np.concatenate([scan[: at + 1], np.repeat(scan[at], count), scan[at + 1 :]])
    nominal = fax_scan_rows(fax_rows, int(cast(int, fax_rows["scan_rows"])))[scan.astype(np.intp)]
    header = int(cast(int, fax_rows["header_rows"]))
    if fax_rows["header_mode"] == "prepend":
        return np.concatenate([np.full(header, np.nan), nominal])
    return nominal


def fax_rows_forward(fax_rows: Mapping[str, object], nominal_y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The final image row at which each nominal row appears (the first, where a line was repeated)."""
    source = fax_source_rows(fax_rows)
    rows = np.flatnonzero(~np.isnan(source))
    values = source[rows]
    keep = np.concatenate([[True], np.diff(values) > 0])  # repeated lines: the first copy
    known, at = values[keep], rows[keep].astype(np.float64)
    inside = np.interp(nominal_y, known, at)
    # Beyond the scanned rows (a page cut short), rows continue at one per nominal row, outside the image.
    return np.asarray(
        np.where(
            nominal_y > known[-1],
            at[-1] + nominal_y - known[-1],
            np.where(nominal_y < known[0], at[0] - (known[0] - nominal_y), inside),
        ),
        np.float64,
    )


def page_to_image(applied: Mapping[str, object], points_mm: Points) -> Points:
    """Image pixel centres (x, y) of page points (mm), through everything ``applied`` records."""
    points = np.asarray(points_mm, dtype=np.float64).reshape(-1, 2)
    folds = applied.get("fold")
    if isinstance(folds, Mapping):
        points = fold_points(cast(Sequence[Mapping[str, object]], folds["creases"]), points)
    matrix = np.array(applied["page_mm_to_image"], dtype=np.float64)
    mapped = np.column_stack([points, np.ones(len(points))]) @ matrix.T
    image = mapped[:, :2] / mapped[:, 2:3]
    curl = applied.get("curl")
    if isinstance(curl, Mapping):
        image = curl_forward(curl, image)
    lens = applied.get("lens")
    if isinstance(lens, Mapping):
        image = lens_distort(lens, image)
    fax_rows = applied.get("fax_rows")
    if isinstance(fax_rows, Mapping):
        image[:, 0] += fax_walk(fax_rows, image[:, 1])
        image[:, 1] = fax_rows_forward(fax_rows, image[:, 1])
    app = applied.get("app")
    if isinstance(app, Mapping):  # a scanner app flattened the photo (:mod:`pipeline.simulation.scanapp`)
        flat = np.column_stack([image, np.ones(len(image))]) @ np.array(app["matrix"], dtype=np.float64).T
        image = flat[:, :2] / flat[:, 2:3]
    return image


def rects_state(
    to_image: Callable[[Points], Points], rects: Sequence[Rect], size: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Per rectangle (wholly inside, wholly outside) an image of ``size`` (width, height) pixels, judged on
    points along its border mapped by ``to_image`` (page mm → pixel centres)."""
    edge, ones = np.linspace(0.0, 1.0, 9), np.ones(9)
    outlines = []
    for rect in rects:
        left, top, right, bottom = rect.x, rect.y, rect.x + rect.w, rect.y + rect.h
        xs = np.concatenate([left + edge * rect.w, right * ones, left + edge * rect.w, left * ones])
        ys = np.concatenate([top * ones, top + edge * rect.h, bottom * ones, top + edge * rect.h])
        outlines.append(np.column_stack([xs, ys]))
    image = to_image(np.vstack(outlines)).reshape(len(rects), 36, 2)
    inside = np.all((image >= -0.5) & (image <= np.array(size) - 0.5), axis=2)
    return np.column_stack([np.all(inside, axis=1), ~np.any(inside, axis=1)])


def in_image(applied: Mapping[str, object], layout: Layout, shape: tuple[int, ...]) -> dict[str, object]:
    """What of the printed page the image holds: registration marks (0–3, clockwise from top-left) partly or
    wholly outside, boxes (``unit/option``) partly outside, the QR code wholly inside, the serial printed under
    it wholly inside, and ``must_refuse`` (a box is not wholly in the image: its row cannot be counted). A page
    whose code and serial are cut off shows every vote but not which sheet it is: not counted without a clerk."""

    def to_image(points: Points) -> Points:
        return page_to_image(applied, points)

    size = (float(shape[1]), float(shape[0]))
    count = len(layout.registration)
    rects = [*layout.registration, layout.qr, layout.serial_text, *(box.rect for box in layout.boxes)]
    states = rects_state(to_image, rects, size)
    boxes = [
        f"{box.unit}/{box.option}"
        for box, (inside, _) in zip(layout.boxes, states[count + 2 :], strict=True)
        if not inside
    ]
    return {
        "marks_outside": [index for index in range(count) if not states[index, 0]],
        "marks_wholly_outside": [index for index in range(count) if states[index, 1]],
        "boxes_outside": boxes,
        "qr_inside": bool(states[count, 0]),
        "serial_inside": bool(states[count + 1, 0]),
        "must_refuse": bool(boxes),
    }
