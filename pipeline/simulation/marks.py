"""Marks: the shapes voters draw in and around a box (ticks, crosses, fills, rings, dots, faint pencil,
erased residue, scribbled-out corrections, slips of the pen) and the comments they write.

Shapes are generated in mm around the box centre (y down) and drawn with a :class:`~.pen.Canvas`.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np

from pipeline.simulation.effects import Gray, pick
from pipeline.simulation.pen import Canvas, Pen, Pixels, Points, curved, random_pen, rotated

MarkKind = Literal["tick", "cross", "fill", "circle", "dot", "faint_pencil", "erased", "scribble_correction", "stray"]
# Marks only the voters' conditions draw (pipeline.simulation.corrections): a √ with a long right leg, gel ink
# heated clear, a mark under correction tape, a mark struck out with loops.
ConditionMarkKind = Literal["long_tick", "erased_gel", "taped", "crossed_out"]
TickSize = Literal["small", "normal", "large"]

TICK_SIZES: tuple[TickSize, ...] = ("small", "normal", "large")
TICK_SIZE_SHARES: dict[str, tuple[float, ...]] = {
    "clean": (0.15, 0.70, 0.15),
    "mixed": (0.20, 0.55, 0.25),
    "hard": (0.25, 0.35, 0.40),
}
CENTRE_JITTER_MM = 1.5
TICK_LENGTH_MM: dict[str, tuple[float, float]] = {"small": (2.6, 3.6), "normal": (4.2, 6.2), "large": (8.0, 10.0)}
# A large tick's long arm may climb this far (angle, °) so that it ends below the box of the row above.
LARGE_TICK_MAX_RISE_DEG = 56.0
HOOK_SHARE = 0.3
FAINT_INK, ERASED_INK = (180, 215), (200, 235)
FAINT_WIDTH_MM, ERASED_WIDTH_MM = (0.22, 0.38), (0.30, 0.55)
FILL_SHARE, SCRIBBLE_SHARE = (0.7, 1.0), (0.8, 1.0)  # share of the box interior a fill / a correction covers
FILL_MIN_WIDTH_MM = 0.5  # a box is filled (or scribbled out) pressing harder than for a tick
# A box blackened in a hurry (涂黑): the pen's back-and-forth runs on past the printed border, by a little on one
# side and more on another, the same voter's boxes each a little different.
HASTY_FILL_SHARE = 0.3  # of filled boxes
HASTY_OVERRUN_MM = (0.0, 1.5)  # past each side of the box
DOT_DIAMETER_MM = (1.0, 2.0)


def pen_for(kind: MarkKind, rng: np.random.Generator) -> Pen:
    """The pen a kind of mark needs: light thin pencil for faint and erased marks, any pen otherwise."""
    if kind == "faint_pencil":
        return Pen(int(rng.integers(FAINT_INK[0], FAINT_INK[1] + 1)), float(rng.uniform(*FAINT_WIDTH_MM)), True)
    if kind == "erased":
        return Pen(int(rng.integers(ERASED_INK[0], ERASED_INK[1] + 1)), float(rng.uniform(*ERASED_WIDTH_MM)), True)
    return random_pen(rng)


def draw_mark(
    image: Gray,
    rect_px: tuple[float, float, float, float],
    kind: MarkKind,
    rng: np.random.Generator,
    px_per_mm: float,
    *,
    pen: Pen | None = None,
    tick_size: TickSize | None = None,
) -> None:
    """Draw one hand-made mark of ``kind`` on the printed box ``rect_px`` (x, y, w, h in pixels), in place.

    Shapes are generated in mm around the box centre and drawn anti-aliased; ink is laid multiplicatively
    (dark ink over printed lines stays dark), with pressure variation or pencil grain.
    """
    draw_mark_cores(image, rect_px, kind, rng, px_per_mm, pen, tick_size)


def draw_mark_cores(
    image: Gray,
    rect_px: tuple[float, float, float, float],
    kind: MarkKind,
    rng: np.random.Generator,
    px_per_mm: float,
    pen: Pen | None,
    tick_size: TickSize | None,
) -> Pixels:
    """:func:`draw_mark`, returning the mark's core pixels (row, column) on paper that was blank."""
    pen = pen or pen_for(kind, rng)
    size: TickSize = tick_size if tick_size is not None else pick(rng, TICK_SIZES, TICK_SIZE_SHARES["mixed"])
    x, y, w, h = rect_px
    half = (w / px_per_mm / 2, h / px_per_mm / 2)
    canvas = Canvas(image.shape, (x + w / 2, y + h / 2), px_per_mm)
    width = pen.width_mm
    match kind:
        case "tick" | "faint_pencil" | "erased":
            canvas.stroke(_tick(rng, "normal" if kind != "tick" else size), width, taper=True)
        case "cross":
            for stroke in _cross(rng):
                canvas.stroke(stroke, width, taper=True)
        case "fill":
            hurried = rng.random() < HASTY_FILL_SHARE
            fill = _overrun(rng, half) if hurried else _zigzag(rng, half, rng.uniform(*FILL_SHARE), overshoot=0.3)
            canvas.stroke(fill, max(width, FILL_MIN_WIDTH_MM))
        case "circle":
            canvas.stroke(_ellipse(rng), width)
        case "dot":
            diameter = rng.uniform(*DOT_DIAMETER_MM)
            reach = max(half) - diameter / 2 - 0.8
            canvas.blob(rng.uniform(-reach, reach, 2), diameter, rng)
        case "scribble_correction":
            canvas.stroke(_tick(rng, size), width, taper=True)
            for _ in range(2):  # two passes, the second at another angle: crossed-out, not neatly filled
                scribble = _zigzag(rng, half, rng.uniform(*SCRIBBLE_SHARE), overshoot=1.5, spacing=1.4)
                canvas.stroke(scribble, max(width, FILL_MIN_WIDTH_MM))
        case "stray":
            _stray(canvas, rng, half, width)
    return canvas.lay(image, pen, rng, erased=kind == "erased")


def draw_comment(
    image: Gray, rect_px: tuple[float, float, float, float], rng: np.random.Generator, px_per_mm: float, pen: Pen
) -> None:
    """Scrawl a few handwriting-like characters inside the 意见建议 cell ``rect_px`` (pixels), in place."""
    x, y, w, h = rect_px
    canvas = Canvas(image.shape, (x + w / 2, y + h / 2), px_per_mm, reach_mm=max(w, h) / px_per_mm / 2 + 1)
    char = rng.uniform(3.0, 4.2)
    left, right = -w / px_per_mm / 2 + 1.5, w / px_per_mm / 2 - 1.5 - char
    for index in range(int(rng.integers(2, 9))):
        cx = left + index * char * 1.1
        if cx > right:
            break
        origin = np.array([cx, -char / 2 + rng.uniform(-0.5, 0.5)])
        for _ in range(int(rng.integers(3, 7))):
            a, b = rng.uniform(0, char, 2), rng.uniform(0, char, 2)
            canvas.stroke(curved(origin + a, origin + b, rng, 0.2), pen.width_mm)
    canvas.lay(image, pen, rng, erased=False)  # comments carry no vote: their pixels are not tracked


def _tick(rng: np.random.Generator, size: TickSize) -> Points:
    """A √ in mm around the box centre (y down). Large ticks start in the box and leave it up and right."""
    long_len = rng.uniform(*TICK_LENGTH_MM[size])
    slant = rng.uniform(-10, 10)
    if size == "large":
        rise = np.radians(rng.uniform(36, LARGE_TICK_MAX_RISE_DEG) - max(slant, 0.0))
        short_len = rng.uniform(1.4, 2.4)
    else:
        rise = np.radians(rng.uniform(45, 72))
        short_len = long_len * rng.uniform(0.3, 0.55)
    drop = np.radians(rng.uniform(35, 65))
    valley = np.zeros(2)
    start = valley - short_len * np.array([np.cos(drop), np.sin(drop)])
    end = valley + long_len * np.array([np.cos(rise), -np.sin(rise)])
    parts = [curved(start, valley, rng, 0.15), curved(valley, end, rng, 0.08)[1:]]
    if rng.random() < HOOK_SHARE:
        entry = start + np.array([rng.uniform(-0.2, 0.4), -rng.uniform(0.4, 0.9)]) * short_len / 2
        parts.insert(0, curved(entry, start, rng, 0.3, samples=6)[:-1])
    stroke = rotated(np.vstack(parts), slant)
    if size == "large":
        return cast(Points, stroke + np.array([rng.uniform(-1.0, 0.4), rng.uniform(1.0, 2.2)]))
    centre = (stroke.min(axis=0) + stroke.max(axis=0)) / 2
    return cast(Points, stroke - centre + rng.uniform(-CENTRE_JITTER_MM, CENTRE_JITTER_MM, 2))


def _cross(rng: np.random.Generator) -> list[Points]:
    half = rng.uniform(1.8, 3.3)
    centre = rng.uniform(-1.0, 1.0, 2)
    tilt = rng.uniform(-12, 12)
    strokes = []
    for a, b in (((-1, -1), (1, 1)), ((1, -1), (-1, 1))):
        ends = np.array([a, b], dtype=np.float64) * half + rng.uniform(-0.5, 0.5, (2, 2))
        strokes.append(rotated(curved(ends[0], ends[1], rng, 0.08), tilt) + centre)
    return strokes


def _zigzag(
    rng: np.random.Generator, half: tuple[float, float], share: float, *, overshoot: float, spacing: float = 0.7
) -> Points:
    """Back-and-forth scribble over ``share`` of the box interior; ``spacing`` in pen widths (<1 is solid)."""
    side = np.sqrt(share) * np.array(half) * 2 * 0.9
    room = np.maximum(np.array(half) * 2 * 0.9 - side, 0) / 2
    centre = rng.uniform(-room - 0.01, room + 0.01)
    rows = max(3, int(side[1] / (0.5 * spacing)))
    ys = np.linspace(-side[1] / 2, side[1] / 2, rows)
    xs = np.where(np.arange(rows) % 2 == 0, -1.0, 1.0) * (side[0] / 2 + rng.uniform(0, overshoot, rows))
    points = np.stack([xs, ys + rng.uniform(-0.15, 0.15, rows)], axis=1)
    return cast(Points, rotated(points, rng.uniform(-25, 25)) + centre)


def _overrun(rng: np.random.Generator, half: tuple[float, float]) -> Points:
    """A box blackened in a hurry: a solid back-and-forth over all of it, running HASTY_OVERRUN_MM past each of
    its sides (each its own), a little turned."""
    left, right, top, bottom = rng.uniform(*HASTY_OVERRUN_MM, 4)
    rows = max(3, int((2 * half[1] + top + bottom) / 0.35))
    ys = np.linspace(-half[1] - top, half[1] + bottom, rows)
    ends = np.where(np.arange(rows) % 2 == 0, -half[0] - left, half[0] + right) + rng.uniform(-0.3, 0.3, rows)
    points = np.stack([ends, ys + rng.uniform(-0.1, 0.1, rows)], axis=1)
    return rotated(points, rng.uniform(-10, 10))


def _ellipse(rng: np.random.Generator) -> Points:
    """A hand-drawn ring around the box, mostly outside it, not quite closed or overlapping its start."""
    a, b = rng.uniform(3.6, 5.4), rng.uniform(3.0, 4.2)
    start = rng.uniform(0, 2 * np.pi)
    t = np.linspace(start, start + np.radians(rng.uniform(330, 390)), 60)
    wobble = 1 + 0.05 * np.sin(2 * t + rng.uniform(0, 6.3)) + 0.03 * np.sin(3 * t + rng.uniform(0, 6.3))
    points = np.stack([a * wobble * np.cos(t), b * wobble * np.sin(t)], axis=1)
    return rotated(points, rng.uniform(-20, 20)) + rng.uniform(-0.8, 0.8, 2)


def _stray(canvas: Canvas, rng: np.random.Generator, half: tuple[float, float], width: float) -> None:
    """A slip of the pen 2–5 mm beside the box (left or right, within the row): a short line or a blot."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    gap = rng.uniform(2.0, 5.0)
    start = np.array([side * (half[0] + gap), rng.uniform(-half[1], half[1])])
    if rng.random() < 0.35:
        canvas.blob(start + np.array([side * 0.6, 0.0]), rng.uniform(0.8, 1.8), rng)
        return
    angle = np.radians(rng.uniform(-35, 35))
    end = start + rng.uniform(2.0, 4.5) * np.array([side * np.cos(angle), np.sin(angle)])
    end[1] = np.clip(end[1], -half[1] - 1.5, half[1] + 1.5)
    canvas.stroke(curved(start, end, rng, 0.15), width, taper=True)
