"""Conditions on the voter's hand: Chinese ticks with a long right leg, and marks rubbed out or taped over.

Contract. The drawing functions put one mark on the page (in place, like :func:`~.marks.draw_mark`) and
return its stroke cores (for legibility) with a :class:`MarkDetail`: where the tick turns, how far its leg
leaves the box and which other boxes it crosses; how much of an erased mark is left; where correction tape
lies and how much of the mark under it still shows. :func:`plan_correction` chooses what a voter who changed
their mind left on a row.

What the world does, as described to us: a √ is often written with a long right leg running 3–10 mm out
of the box, across its border, into the next cell or the row above; the vote is the box holding the tick's
turning point. A pencil mark rubbed out leaves smeared graphite, sometimes nearly as dark as a tick; a
friction-erasable gel pen (heated by its eraser) leaves a faint but complete stroke; correction tape covers
the mark (and the box's printed border) with a white strip whose edges cast a hairline shadow (a voter who took
back a mark so may mark another box, or leave the row 弃权, the tape alone); a mark can
also be scribbled over, inside its box, or struck out with a run of loops drawn across the box and past both its
sides, the row then left without another mark (the voter abstains, or meant to come back). Such a row needs a
clerk unless the intent is plain; two complete firm marks are an overvote.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np

from pipeline.ballot.layout import Rect
from pipeline.simulation.effects import Gray, pick
from pipeline.simulation.pen import Canvas, Pen, Pixels, Points, curved

Correction = Literal[
    "pencil_then_mark",
    "gel_then_mark",
    "erased_only",
    "taped_then_mark",
    "scribbled_then_mark",
    "two_marks",
    "crossed_out_only",
    "taped_only",
]

LONG_TICK_SHARE = 0.85  # of a long-tick voter's ticks
LEG_OUTSIDE_MM = (3.0, 10.0)  # how far the leg's end lies outside the box
LEG_RISE_DEG = (30.0, 75.0)  # the leg's climb above the horizontal
SHORT_LEG_MM = (1.2, 2.6)
TURN_INSET_MM = 0.8  # the turning point lies at least this far inside the box's border
LONG_TICK_REACH_MM = 17.0
# Erasures and corrections, per row that shows one (the condition gives one to this share of unit rows).
CORRECTION_ROW_SHARE = 0.4
CORRECTIONS: tuple[Correction, ...] = get_args(Correction)
CORRECTION_SHARES = (0.22, 0.13, 0.10, 0.12, 0.15, 0.12, 0.10, 0.06)  # in the order of Correction
# A mark struck out: loops of this radius, this many, along a line across the box that runs this far past each side.
CROSS_OUT_LOOP_MM, CROSS_OUT_LOOPS, CROSS_OUT_PAST_MM = (1.2, 2.2), (4, 7), (1.0, 3.0)
PENCIL_INK, GEL_INK = (115, 170), (40, 90)  # the mark before it was erased
PENCIL_RESIDUE = (0.1, 0.85)  # share of the pencil's darkness a rubber leaves (smeared)
GEL_RESIDUE = (0.04, 0.2)  # share of the gel ink's darkness left once heated clear (stroke intact)
TAPE_WIDTH_MM, TAPE_LENGTH_MM, TAPE_ANGLE_DEG = (4.2, 5.0), (8.0, 14.0), 12.0
TAPE_SHOW = (0.02, 0.08)  # how much of what lies under the tape shows through it
TAPE_EDGE_SHADOW = (12, 40)  # grey levels the tape's long edges darken the paper beside them
TAPE_VISIBLE_SHARE = 0.1  # more of the taped mark's strokes than this outside the tape: the row is not plain


@dataclass(frozen=True)
class MarkDetail:
    """What the truth says about one mark a condition drew, beyond its box and kind (page mm, y down)."""

    option: str = ""
    kind: str = ""
    turning_point_mm: tuple[float, float] | None = None
    leg_end_mm: tuple[float, float] | None = None
    leaves_box_mm: float | None = None  # how far the leg's end lies outside the box
    crosses: tuple[str, ...] = ()  # other boxes (unit/option) whose interior the stroke passes through
    residue: float | None = None  # share of the mark's darkness an erasure left
    tape_mm: tuple[float, float, float, float, float] | None = None  # centre x, y, length, width, angle (°)
    visible_outside_tape: float | None = None  # share of the taped mark's stroke cores not under the tape


def _outside_distance(point: Points, half: tuple[float, float]) -> float:
    dx, dy = max(abs(point[0]) - half[0], 0.0), max(abs(point[1]) - half[1], 0.0)
    return math.hypot(dx, dy)


def long_tick_shape(rng: np.random.Generator, half: tuple[float, float]) -> tuple[Points, Points, Points, float]:
    """(stroke, turning point, leg end, leg outside distance) in mm around the box centre (y down)."""
    turn = np.array(
        [rng.uniform(-half[0] + TURN_INSET_MM, half[0] - TURN_INSET_MM), rng.uniform(-0.5, half[1] - TURN_INSET_MM)]
    )
    drop = math.radians(rng.uniform(35, 70))
    start = turn + rng.uniform(*SHORT_LEG_MM) * np.array([-math.cos(drop), -math.sin(drop)])
    rise = math.radians(rng.uniform(*LEG_RISE_DEG))
    direction = np.array([math.cos(rise), -math.sin(rise)])
    outside = rng.uniform(*LEG_OUTSIDE_MM)
    low, high = 0.0, 40.0
    for _ in range(40):  # the distance outside the box grows with the leg's length once it has left
        middle = (low + high) / 2
        low, high = (middle, high) if _outside_distance(turn + middle * direction, half) < outside else (low, middle)
    end = turn + high * direction
    stroke = np.vstack([curved(start, turn, rng, 0.12), curved(turn, end, rng, 0.06)[1:]])
    return stroke, turn, end, _outside_distance(end, half)


def draw_long_tick(
    image: Gray,
    box: Rect,
    rng: np.random.Generator,
    px_per_mm: float,
    pen: Pen,
    others: dict[str, Rect],
) -> tuple[Pixels, MarkDetail]:
    """A √ turning inside ``box`` (page mm) whose right leg runs 3–10 mm out of it; ``others`` are the
    page's other boxes, named, to record which ones the leg crosses."""
    half = (box.w / 2, box.h / 2)
    stroke, turn, end, outside = long_tick_shape(rng, half)
    centre = np.array(box.center)
    canvas = Canvas(image.shape, (centre[0] * px_per_mm, centre[1] * px_per_mm), px_per_mm, LONG_TICK_REACH_MM)
    canvas.stroke(stroke, pen.width_mm, taper=True)
    cores = canvas.lay(image, pen, rng, erased=False)
    dense = _densify(stroke + centre)
    crosses = tuple(name for name, rect in others.items() if _enters(dense, rect))
    detail = MarkDetail(
        turning_point_mm=_rounded(turn + centre),
        leg_end_mm=_rounded(end + centre),
        leaves_box_mm=round(outside, 3),
        crosses=crosses,
    )
    return cores, detail


def draw_crossed_out(
    image: Gray, box: Rect, rng: np.random.Generator, px_per_mm: float, pen: Pen
) -> tuple[Pixels, MarkDetail]:
    """A √ in ``box`` (page mm), then struck out with the same pen: a run of loops (a coil) along a line across the
    box, a little slanted, running 1–3 mm past both its sides."""
    half = (box.w / 2, box.h / 2)
    centre = np.array(box.center)
    canvas = Canvas(image.shape, (centre[0] * px_per_mm, centre[1] * px_per_mm), px_per_mm)
    canvas.stroke(_plain_tick(rng), pen.width_mm, taper=True)
    angle = math.radians(rng.uniform(-15.0, 15.0))
    along, across = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
    start = -along * (half[0] + rng.uniform(*CROSS_OUT_PAST_MM)) + across * rng.uniform(-1.0, 1.0)
    end = along * (half[0] + rng.uniform(*CROSS_OUT_PAST_MM)) + across * rng.uniform(-1.0, 1.0)
    loops, radius = rng.uniform(*CROSS_OUT_LOOPS), rng.uniform(*CROSS_OUT_LOOP_MM)
    share = np.linspace(0.0, 1.0, round(48 * loops))[:, None]
    turn = 2 * math.pi * loops * share
    wobble = 1 + 0.15 * np.sin(turn / 3 + rng.uniform(0, 6.3))
    coil = start + share * (end - start) + radius * wobble * (0.6 * np.cos(turn) * along + np.sin(turn) * across)
    canvas.stroke(coil, pen.width_mm)
    cores = canvas.lay(image, pen, rng, erased=False)
    return cores, MarkDetail()


def _plain_tick(rng: np.random.Generator) -> Points:
    """A √ of ordinary size around the box's centre (mm, y down)."""
    turn = np.array([rng.uniform(-0.8, 0.2), rng.uniform(0.6, 1.6)])
    start = turn + rng.uniform(1.2, 2.0) * np.array([-math.cos(0.9), -math.sin(0.9)])
    end = turn + rng.uniform(3.0, 4.2) * np.array([math.cos(1.05), -math.sin(1.05)])
    return np.vstack([curved(start, turn, rng, 0.12), curved(turn, end, rng, 0.06)[1:]])


def _densify(points: Points, step_mm: float = 0.1) -> Points:
    pieces = [points[:1]]
    for a, b in itertools.pairwise(points):
        count = max(1, int(np.ceil(np.linalg.norm(b - a) / step_mm)))
        pieces.append(a + (b - a) * np.linspace(0, 1, count + 1)[1:, None])
    return np.vstack(pieces)


def _enters(points: Points, rect: Rect, inset_mm: float = 0.3) -> bool:
    inside_x = (points[:, 0] > rect.x + inset_mm) & (points[:, 0] < rect.x + rect.w - inset_mm)
    inside_y = (points[:, 1] > rect.y + inset_mm) & (points[:, 1] < rect.y + rect.h - inset_mm)
    return bool(np.any(inside_x & inside_y))


def _rounded(point: Points) -> tuple[float, float]:
    return (round(float(point[0]), 3), round(float(point[1]), 3))


def residue_pen(kind: Literal["pencil", "gel"], rng: np.random.Generator) -> tuple[Pen, float]:
    """The pen an erased mark looks drawn with, and the share of its darkness left: a pencil mark rubbed out
    (often light, sometimes nearly as dark as a tick) or gel ink heated clear (faint, stroke intact)."""
    if kind == "pencil":
        ink, share, width = rng.integers(PENCIL_INK[0], PENCIL_INK[1] + 1), rng.uniform(*PENCIL_RESIDUE), (0.3, 0.6)
        pencil = True
    else:
        ink, share, width = rng.integers(GEL_INK[0], GEL_INK[1] + 1), rng.uniform(*GEL_RESIDUE), (0.4, 0.7)
        pencil = False
    left = round(255 - share * (255 - int(ink)))
    return Pen(int(left), float(rng.uniform(*width)), pencil), round(float(share), 3)


def lay_tape(image: Gray, box: Rect, rng: np.random.Generator, px_per_mm: float, covered: Pixels) -> MarkDetail:
    """Correction tape across ``box`` over a mark already drawn (its stroke cores ``covered``), in place."""
    length, width = rng.uniform(*TAPE_LENGTH_MM), rng.uniform(*TAPE_WIDTH_MM)
    angle = rng.uniform(-TAPE_ANGLE_DEG, TAPE_ANGLE_DEG)
    centre = np.array(box.center) + rng.uniform(-0.8, 0.8, 2)
    corners = _tape_corners(centre, length, width, angle) * px_per_mm
    mask = np.zeros(image.shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
    share = mask.astype(np.float32) / 255
    show, tone = rng.uniform(*TAPE_SHOW), rng.uniform(250, 255)
    under = image.astype(np.float32)
    taped = tone - (255 - under) * show
    out = under * (1 - share) + taped * share
    shadow = float(rng.integers(TAPE_EDGE_SHADOW[0], TAPE_EDGE_SHADOW[1] + 1))
    edge = np.zeros(image.shape, np.uint8)
    for a, b in ((corners[0], corners[1]), (corners[3], corners[2])):  # the long edges
        cv2.line(edge, tuple(np.round(a * 16).astype(int)), tuple(np.round(b * 16).astype(int)), 255, 2, cv2.LINE_AA, 4)
    out -= shadow * edge.astype(np.float32) / 255
    image[...] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    visible = float(np.mean(mask[covered[:, 0], covered[:, 1]] < 128)) if len(covered) else 0.0
    x, y = _rounded(centre)
    return MarkDetail(
        tape_mm=(x, y, round(length, 2), round(width, 2), round(angle, 2)), visible_outside_tape=round(visible, 3)
    )


def _tape_corners(centre: Points, length: float, width: float, angle_deg: float) -> Points:
    angle = math.radians(angle_deg)
    along, across = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
    return np.array(
        [
            centre - along * length / 2 - across * width / 2,
            centre + along * length / 2 - across * width / 2,
            centre + along * length / 2 + across * width / 2,
            centre - along * length / 2 + across * width / 2,
        ]
    )


def plan_correction(rng: np.random.Generator) -> Correction:
    return pick(rng, CORRECTIONS, CORRECTION_SHARES)
