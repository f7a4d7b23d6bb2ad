"""Simulate: filled-in, scanned ballots with known ground truth, for the demo, the tests and the benchmarks.

Contract. :func:`simulate_batch` rasterises printed ballots (one PDF page per sheet) at :data:`RENDER_DPI`,
fills every row the way real voters do (:func:`fill_sheet`, :func:`draw_mark`), degrades the page like a
real device (:func:`pipeline.simulation.degrade.degrade`) and writes the images plus ``truth.jsonl``, one
:class:`SheetTruth` per line. Sheets come out in shuffled order, as a collected stack does. Everything
random is drawn from numpy Generators seeded with ``(seed, source page)``: the same seed gives the same
pixels, and one sheet can be re-made alone.

Truth semantics, per row (:class:`RowTruth`):

- ``intent`` is the option the voter meant, ``"blank"`` (nothing, or only an erased/stray mark) or
  ``"overvote"`` (two deliberate marks: the row is void).
- ``ambiguous`` rows (faint pencil, erased residue, a scribbled-out correction, a stray mark) may be sent
  to review; reading them as anything but ``intent`` is a misread. Other rows must be read as ``intent``.
- ``legible`` is False when the device itself wiped out the marks carrying the intent (a pencil or thin
  ballpoint tick under a fax's binarisation threshold): measured on 1-bit pages by mapping the marks' stroke
  cores (those clear of printed ink, whose black would say nothing) through ``page_mm_to_image``; under
  half left any black. Nothing is left to read, so blank or review are both acceptable there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
import zxingcpp

from pipeline.ballot.layout import Layout, Rect
from pipeline.ballot.payload import SheetId, parse_payload
from pipeline.ballot.template import CATEGORY_ROW
from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.degrade import Device, FileFormat, Profile, ScanWriter, degrade, device_for, pick

__all__ = [
    "Difficulty",
    "FileFormat",
    "MarkKind",
    "Pen",
    "Profile",
    "RowTruth",
    "SheetTruth",
    "SimulationError",
    "degrade",
    "draw_mark",
    "fill_sheet",
    "load_truth",
    "rasterize_pdf_page",
    "simulate_batch",
]

Gray = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float64]
Pixels = npt.NDArray[np.intp]  # (row, column) pairs
MarkKind = Literal["tick", "cross", "fill", "circle", "dot", "faint_pencil", "erased", "scribble_correction", "stray"]
TickSize = Literal["small", "normal", "large"]
Difficulty = Literal["clean", "mixed", "hard"]
Scenario = Literal["clean", "blank", "overvote", "faint", "erased", "correction", "stray"]


BLANK, OVERVOTE = "blank", "overvote"
RENDER_DPI = 300.0
PT_PER_INCH = 72.0
TRUTH_FILE = "truth.jsonl"
DEFAULT_FORMAT: dict[str, FileFormat] = {"office": "pdf", "fax": "tiff", "phone": "jpeg", "bad": "jpeg"}
BATCH_STREAM = 1_000_003  # seeds the per-batch generator apart from every per-page one
QR_SEARCH_MARGIN_MM = 4.0
LEGIBLE_SHARE = 0.5  # share of a mark's stroke cores still black after binarisation for it to count as there
LEGIBILITY_SAMPLES = 400

# Row scenarios and their shares, per difficulty. "clean" is one deliberate mark of the sheet's usual kind.
SCENARIOS: tuple[Scenario, ...] = ("clean", "blank", "overvote", "faint", "erased", "correction", "stray")
SCENARIO_SHARES: dict[str, tuple[float, ...]] = {
    "clean": (0.92, 0.08, 0.0, 0.0, 0.0, 0.0, 0.0),
    "mixed": (0.80, 0.06, 0.03, 0.03, 0.03, 0.03, 0.02),
    "hard": (0.40, 0.08, 0.08, 0.11, 0.11, 0.11, 0.11),
}
CLEAN_KINDS: tuple[MarkKind, ...] = ("tick", "cross", "fill", "circle", "dot")
CLEAN_KIND_SHARES: dict[str, tuple[float, ...]] = {
    "clean": (0.75, 0.15, 0.10, 0.0, 0.0),
    "mixed": (0.72, 0.10, 0.06, 0.07, 0.05),
    "hard": (0.55, 0.12, 0.08, 0.13, 0.12),
}
TICK_SIZES: tuple[TickSize, ...] = ("small", "normal", "large")
TICK_SIZE_SHARES: dict[str, tuple[float, ...]] = {
    "clean": (0.15, 0.70, 0.15),
    "mixed": (0.20, 0.55, 0.25),
    "hard": (0.25, 0.35, 0.40),
}
OPINION_WEIGHTS = (0.72, 0.20, 0.06, 0.02)  # share of rows rated with the 1st, 2nd, 3rd, 4th option
HABIT_SHARE = 0.85  # a voter keeps their usual kind and size of mark on this share of rows
COMMENT_SHARE = {"clean": 0.0, "mixed": 0.10, "hard": 0.25}
CATEGORY_BLANK_SHARE = 0.08
ERASED_THEN_MARKED_SHARE = 0.55  # an erased mark is usually replaced by a real one in another box
STRAY_WITH_MARK_SHARE = 0.6


SUBPIXEL_BITS = 4  # cv2 drawing with 1/16-pixel coordinates
SUBPIXEL = 1 << SUBPIXEL_BITS
MARK_REACH_MM = 13.0  # no mark reaches further than this from its box's centre
CENTRE_JITTER_MM = 1.5
CORE_COVERAGE = 0.5  # a stroke's core: where it covers at least half the paper
BLANK_PAPER = 200  # grey above which the paper under a stroke counts as unprinted
CLEAR_OF_PRINT_MM = 0.4  # legibility is judged on cores this far from printed ink (a fax thickens lines)
TICK_LENGTH_MM: dict[str, tuple[float, float]] = {"small": (2.6, 3.6), "normal": (4.2, 6.2), "large": (8.0, 10.0)}
# A large tick's long arm may climb this far (angle, °) so that it ends below the box of the row above.
LARGE_TICK_MAX_RISE_DEG = 56.0
HOOK_SHARE = 0.3
FAINT_INK, ERASED_INK = (180, 215), (200, 235)
FAINT_WIDTH_MM, ERASED_WIDTH_MM = (0.22, 0.38), (0.30, 0.55)
FILL_SHARE, SCRIBBLE_SHARE = (0.7, 1.0), (0.8, 1.0)  # share of the box interior a fill / a correction covers
FILL_MIN_WIDTH_MM = 0.5  # a box is filled (or scribbled out) pressing harder than for a tick
DOT_DIAMETER_MM = (1.0, 2.0)
PENS: dict[str, tuple[float, tuple[int, int], tuple[float, float]]] = {
    # name: (share, ink grey range, stroke width range in mm)
    "gel": (0.45, (35, 85), (0.40, 0.70)),
    "ballpoint": (0.33, (70, 120), (0.30, 0.50)),
    "pencil": (0.12, (115, 170), (0.30, 0.60)),
    "marker": (0.10, (30, 70), (0.60, 0.80)),
}


@dataclass(frozen=True)
class RowTruth:
    """What the voter did on one row (see the module docstring for the semantics)."""

    unit: str
    intent: str
    marks: tuple[tuple[str, MarkKind], ...]
    ambiguous: bool
    legible: bool = True
    ink: int | None = None  # grey level 0 (black) – 255 (paper) of the lightest mark carrying the intent
    comment: bool = False  # the voter wrote in the row's 意见建议 cell


@dataclass(frozen=True)
class SheetTruth:
    """One simulated sheet: where it was written and what is on it."""

    file: str
    page: int
    serial: str
    upside_down: bool
    rows: tuple[RowTruth, ...]
    source_page: int = 0  # 0-based page of the printed PDF this sheet was made from
    degradation: dict[str, object] = field(default_factory=dict, hash=False)  # every parameter applied

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Pen:
    """What a voter writes with: ink grey on white paper (0 black … 255 paper), stroke width, pencil grain."""

    ink: int
    width_mm: float
    pencil: bool = False


class SimulationError(ValueError):
    """The input cannot be simulated (pages missing, not ballots of this layout)."""


@dataclass(frozen=True)
class _Voter:
    """One person's habits, kept over the whole sheet: one pen, one usual kind and size of mark."""

    pen: Pen
    kind: MarkKind
    tick_size: TickSize

    def usual_kind(self, rng: np.random.Generator, difficulty: str) -> MarkKind:
        if rng.random() < HABIT_SHARE:
            return self.kind
        return pick(rng, CLEAN_KINDS, CLEAN_KIND_SHARES[difficulty])

    def usual_size(self, rng: np.random.Generator, difficulty: str) -> TickSize:
        if rng.random() < HABIT_SHARE:
            return self.tick_size
        return pick(rng, TICK_SIZES, TICK_SIZE_SHARES[difficulty])


@dataclass(frozen=True)
class _Planned:
    option: str
    kind: MarkKind
    pen: Pen
    carries_intent: bool


# Marks: shapes in mm around the box centre (y down), drawn anti-aliased into a coverage window.


def random_pen(rng: np.random.Generator, *, pencil_allowed: bool = True) -> Pen:
    names = [name for name in PENS if pencil_allowed or name != "pencil"]
    shares = np.array([PENS[name][0] for name in names])
    name = pick(rng, names, list(shares / shares.sum()))
    _, ink, width = PENS[name]
    return Pen(int(rng.integers(ink[0], ink[1] + 1)), float(rng.uniform(*width)), name == "pencil")


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
    _draw_mark(image, rect_px, kind, rng, px_per_mm, pen, tick_size)


def _draw_mark(
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
    canvas = _Canvas(image.shape, (x + w / 2, y + h / 2), px_per_mm)
    width = pen.width_mm
    match kind:
        case "tick" | "faint_pencil" | "erased":
            canvas.stroke(_tick(rng, "normal" if kind != "tick" else size), width, taper=True)
        case "cross":
            for stroke in _cross(rng):
                canvas.stroke(stroke, width, taper=True)
        case "fill":
            canvas.stroke(_zigzag(rng, half, rng.uniform(*FILL_SHARE), overshoot=0.3), max(width, FILL_MIN_WIDTH_MM))
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
    canvas = _Canvas(image.shape, (x + w / 2, y + h / 2), px_per_mm, reach_mm=max(w, h) / px_per_mm / 2 + 1)
    char = rng.uniform(3.0, 4.2)
    left, right = -w / px_per_mm / 2 + 1.5, w / px_per_mm / 2 - 1.5 - char
    for index in range(int(rng.integers(2, 9))):
        cx = left + index * char * 1.1
        if cx > right:
            break
        origin = np.array([cx, -char / 2 + rng.uniform(-0.5, 0.5)])
        for _ in range(int(rng.integers(3, 7))):
            a, b = rng.uniform(0, char, 2), rng.uniform(0, char, 2)
            canvas.stroke(_curved(origin + a, origin + b, rng, 0.2), pen.width_mm)
    canvas.lay(image, pen, rng, erased=False)  # comments carry no vote: their pixels are not tracked


class _Canvas:
    """Stroke coverage (0–255) in a window around one box, in page pixels; laid onto the page at the end."""

    def __init__(
        self, shape: tuple[int, ...], centre_px: tuple[float, float], px_per_mm: float, reach_mm: float = MARK_REACH_MM
    ) -> None:
        reach = reach_mm * px_per_mm
        self.x0, self.y0 = max(0, int(centre_px[0] - reach)), max(0, int(centre_px[1] - reach))
        x1, y1 = min(shape[1], int(centre_px[0] + reach) + 1), min(shape[0], int(centre_px[1] + reach) + 1)
        self.mask = np.zeros((max(1, y1 - self.y0), max(1, x1 - self.x0)), np.uint8)
        self.centre = np.array(centre_px) - (self.x0, self.y0)
        self.scale = px_per_mm

    def _fixed(self, points_mm: Points) -> npt.NDArray[np.int32]:
        return np.round((points_mm * self.scale + self.centre) * SUBPIXEL).astype(np.int32)

    def stroke(self, points_mm: Points, width_mm: float, *, taper: bool = False) -> None:
        """A pen stroke through ``points_mm``; ``taper`` thins the last third as the pen lifts off."""
        width = max(1, round(width_mm * self.scale))
        points = self._fixed(points_mm)
        if not taper or width < 3:
            cv2.polylines(self.mask, [points], False, 255, width, cv2.LINE_AA, SUBPIXEL_BITS)
            return
        lift = int(len(points) * 2 / 3)
        cv2.polylines(self.mask, [points[: lift + 1]], False, 255, width, cv2.LINE_AA, SUBPIXEL_BITS)
        for index in range(lift, len(points) - 1):
            share = (index - lift) / max(1, len(points) - 1 - lift)
            thin = max(1, round(width * (1 - 0.5 * share)))
            cv2.polylines(self.mask, [points[index : index + 2]], False, 255, thin, cv2.LINE_AA, SUBPIXEL_BITS)

    def blob(self, centre_mm: Points, diameter_mm: float, rng: np.random.Generator) -> None:
        for offset, share in ((0.0, 1.0), (0.25, 0.7)):
            centre = self._fixed(centre_mm + rng.uniform(-offset, offset, 2))
            axes = np.round(diameter_mm * share / 2 * self.scale * np.array([1.0, rng.uniform(0.7, 1.0)]) * SUBPIXEL)
            angle = float(rng.uniform(0, 180))
            axes_px = (int(axes[0]), int(axes[1]))
            cv2.ellipse(
                self.mask, (int(centre[0]), int(centre[1])), axes_px, angle, 0, 360, 255, -1, cv2.LINE_AA, SUBPIXEL_BITS
            )

    def lay(self, image: Gray, pen: Pen, rng: np.random.Generator, *, erased: bool) -> Pixels:
        """Multiply the ink onto the page: ``out = page × (1 − coverage × (1 − ink/255))``.

        Returns the stroke cores (row, column) that fell on blank paper at least CLEAR_OF_PRINT_MM from any
        printed ink: where a reader sees this mark (beside a printed line, a 1-bit scan's black says nothing
        about whether the mark survived)."""
        coverage = self.mask.astype(np.float32) / 255
        height, width = coverage.shape
        pressure = _smooth_field(rng, (height, width), cell=max(4, int(2.5 * self.scale)))
        coverage *= 0.78 + 0.22 * pressure
        if pen.pencil:
            grain = rng.uniform(0.45, 1.0, (height, width)).astype(np.float32)
            coverage *= cv2.GaussianBlur(grain, (0, 0), 0.6)
        if erased:
            # Rubbing leaves patches of smeared graphite, softer than any stroke.
            coverage *= 0.4 + 0.55 * _smooth_field(rng, (height, width), cell=max(4, int(1.5 * self.scale)))
            coverage = np.asarray(cv2.GaussianBlur(coverage, (0, 0), rng.uniform(0.12, 0.3) * self.scale), np.float32)
            smudge = np.asarray(cv2.GaussianBlur(self.mask / np.float32(255), (0, 0), 2.0 * self.scale), np.float32)
            coverage = np.maximum(coverage, smudge * rng.uniform(0.3, 0.8))
        window = image[self.y0 : self.y0 + height, self.x0 : self.x0 + width]
        radius = max(1, round(CLEAR_OF_PRINT_MM * self.scale))
        clear = cv2.erode(window, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)) >= BLANK_PAPER
        core = np.argwhere((coverage >= CORE_COVERAGE) & clear)
        inked = window.astype(np.float32) * (1 - coverage * (1 - pen.ink / 255))
        window[...] = np.clip(inked + 0.5, 0, 255).astype(np.uint8)
        return np.asarray(core + np.array([self.y0, self.x0]), np.intp)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> npt.NDArray[np.float32]:
    """Random values in 0–1 varying smoothly over about ``cell`` pixels."""
    coarse = rng.random((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    return cast(
        npt.NDArray[np.float32], cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    )


def _curved(a: Points, b: Points, rng: np.random.Generator, bend: float, samples: int = 14) -> Points:
    """A hand-drawn segment from ``a`` to ``b``: a quadratic curve bowed sideways by up to ``bend`` × length."""
    normal = np.array([-(b - a)[1], (b - a)[0]])
    control = (a + b) / 2 + normal * rng.uniform(-bend, bend)
    t = np.linspace(0, 1, samples)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t**2 * b


def _rotated(points: Points, degrees: float) -> Points:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return cast(Points, points @ rotation.T)


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
    parts = [_curved(start, valley, rng, 0.15), _curved(valley, end, rng, 0.08)[1:]]
    if rng.random() < HOOK_SHARE:
        entry = start + np.array([rng.uniform(-0.2, 0.4), -rng.uniform(0.4, 0.9)]) * short_len / 2
        parts.insert(0, _curved(entry, start, rng, 0.3, samples=6)[:-1])
    stroke = _rotated(np.vstack(parts), slant)
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
        strokes.append(_rotated(_curved(ends[0], ends[1], rng, 0.08), tilt) + centre)
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
    return cast(Points, _rotated(points, rng.uniform(-25, 25)) + centre)


def _ellipse(rng: np.random.Generator) -> Points:
    """A hand-drawn ring around the box, mostly outside it, not quite closed or overlapping its start."""
    a, b = rng.uniform(3.6, 5.4), rng.uniform(3.0, 4.2)
    start = rng.uniform(0, 2 * np.pi)
    t = np.linspace(start, start + np.radians(rng.uniform(330, 390)), 60)
    wobble = 1 + 0.05 * np.sin(2 * t + rng.uniform(0, 6.3)) + 0.03 * np.sin(3 * t + rng.uniform(0, 6.3))
    points = np.stack([a * wobble * np.cos(t), b * wobble * np.sin(t)], axis=1)
    return _rotated(points, rng.uniform(-20, 20)) + rng.uniform(-0.8, 0.8, 2)


def _stray(canvas: _Canvas, rng: np.random.Generator, half: tuple[float, float], width: float) -> None:
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
    canvas.stroke(_curved(start, end, rng, 0.15), width, taper=True)


# Sheets and batches.


def rasterize_pdf_page(pdf_path: Path, index: int, dpi: float) -> Gray:
    """Page ``index`` (0-based) of ``pdf_path`` as 8-bit grey pixels at ``dpi``."""
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        bitmap = document[index].render(scale=dpi / PT_PER_INCH, grayscale=True)
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8)
        return np.ascontiguousarray(pixels.reshape(bitmap.height, bitmap.width))
    finally:
        document.close()


def fill_sheet(
    image: Gray,
    layout: Layout,
    px_per_mm: float,
    rng: np.random.Generator,
    *,
    difficulty: Difficulty = "mixed",
) -> tuple[RowTruth, ...]:
    """Choose what one voter does on every row, draw it on ``image`` in place, and say what was meant."""
    return _fill(image, layout, px_per_mm, rng, difficulty)[0]


def _fill(
    image: Gray, layout: Layout, px_per_mm: float, rng: np.random.Generator, difficulty: Difficulty
) -> tuple[tuple[RowTruth, ...], list[Pixels]]:
    """:func:`fill_sheet`, plus per row the core pixels of the marks that carry its intent."""
    voter = _Voter(
        pen=random_pen(rng, pencil_allowed=difficulty != "clean"),
        kind=pick(rng, CLEAN_KINDS, CLEAN_KIND_SHARES[difficulty]),
        tick_size=pick(rng, TICK_SIZES, TICK_SIZE_SHARES[difficulty]),
    )
    truths: list[RowTruth] = []
    intent_pixels: list[Pixels] = []
    for row in layout.rows:
        if row.unit == CATEGORY_ROW:
            intent, planned, ambiguous = _plan_category(row.options, voter, rng, difficulty)
        else:
            intent, planned, ambiguous = _plan_row(row.options, voter, rng, difficulty)
        boxes = {box.option: box.rect for box in row.boxes}
        cores = [np.empty((0, 2), np.intp)]
        for mark in planned:
            size = voter.usual_size(rng, difficulty)
            core = _draw_mark(image, _px(boxes[mark.option], px_per_mm), mark.kind, rng, px_per_mm, mark.pen, size)
            if mark.carries_intent:
                cores.append(core)
        intent_pixels.append(np.vstack(cores))
        wrote = row.comment is not None and rng.random() < COMMENT_SHARE[difficulty]
        if wrote and row.comment is not None:
            draw_comment(image, _px(row.comment, px_per_mm), rng, px_per_mm, voter.pen)
        inks = [mark.pen.ink for mark in planned if mark.carries_intent]
        truths.append(
            RowTruth(
                unit=row.unit,
                intent=intent,
                marks=tuple((mark.option, mark.kind) for mark in planned),
                ambiguous=ambiguous,
                ink=max(inks) if inks else None,
                comment=wrote,
            )
        )
    return tuple(truths), intent_pixels


def _plan_category(
    options: tuple[str, ...], voter: _Voter, rng: np.random.Generator, difficulty: str
) -> tuple[str, list[_Planned], bool]:
    if rng.random() < CATEGORY_BLANK_SHARE:
        return BLANK, [], False
    option = pick(rng, options)
    return option, [_Planned(option, voter.usual_kind(rng, difficulty), voter.pen, True)], False


def _plan_row(
    options: tuple[str, ...], voter: _Voter, rng: np.random.Generator, difficulty: str
) -> tuple[str, list[_Planned], bool]:
    """(intent, marks to draw, ambiguous) for one row, following :data:`SCENARIO_SHARES`."""
    scenario = pick(rng, SCENARIOS, SCENARIO_SHARES[difficulty])
    # Most voters rate most units 满意: the options are weighted by their place on the sheet.
    weights = np.array(OPINION_WEIGHTS[: len(options)] + (0.02,) * max(0, len(options) - len(OPINION_WEIGHTS)))
    first_index = int(rng.choice(len(options), p=weights / weights.sum()))
    others = [index for index in range(len(options)) if index != first_index]
    first, second = options[first_index], options[int(rng.choice(others))]
    usual = voter.usual_kind(rng, difficulty)
    match scenario:
        case "clean":
            return first, [_Planned(first, usual, voter.pen, True)], False
        case "blank":
            return BLANK, [], False
        case "overvote":
            kind = usual if usual in ("tick", "cross", "fill") else "tick"
            return OVERVOTE, [_Planned(first, kind, voter.pen, True), _Planned(second, kind, voter.pen, True)], False
        case "faint":
            return first, [_Planned(first, "faint_pencil", pen_for("faint_pencil", rng), True)], True
        case "erased":
            planned = [_Planned(first, "erased", pen_for("erased", rng), False)]
            if rng.random() >= ERASED_THEN_MARKED_SHARE:
                return BLANK, planned, True
            return second, [*planned, _Planned(second, usual, voter.pen, True)], True
        case "correction":
            return (
                second,
                [_Planned(first, "scribble_correction", voter.pen, False), _Planned(second, "tick", voter.pen, True)],
                True,
            )
        case "stray":
            planned = [_Planned(first, "stray", voter.pen, False)]
            if rng.random() >= STRAY_WITH_MARK_SHARE:
                return BLANK, planned, True
            return second, [*planned, _Planned(second, usual, voter.pen, True)], True
    raise AssertionError(scenario)


def _px(rect: Rect, px_per_mm: float) -> tuple[float, float, float, float]:
    return (rect.x * px_per_mm, rect.y * px_per_mm, rect.w * px_per_mm, rect.h * px_per_mm)


def simulate_batch(
    pdf_path: Path,
    layout: Layout,
    out_dir: Path,
    *,
    profile: Profile,
    seed: int,
    pages: int | None = None,
    file_format: FileFormat | None = None,
    difficulty: Difficulty = "mixed",
    device: Device | None = None,
) -> list[SheetTruth]:
    """Fill, degrade and write the first ``pages`` sheets of ``pdf_path`` (all by default) in shuffled order.

    jpeg/png: one file per sheet; tiff/pdf: one multi-page file. ``file_format`` defaults to what the
    device usually writes (:data:`DEFAULT_FORMAT`). ``device`` overrides the batch's device settings.
    Raises :class:`SimulationError` for input that is not printed ballots of ``layout``.
    """
    available = _page_count(pdf_path)
    count = available if pages is None else pages
    if not 1 <= count <= available:
        raise SimulationError(f"{pdf_path} has {available} pages; cannot simulate {count} sheets")
    batch_rng = np.random.default_rng([seed, BATCH_STREAM])
    order = [int(index) for index in batch_rng.permutation(count)]
    settings = device if device is not None else device_for(profile, batch_rng)
    fmt: FileFormat = file_format or DEFAULT_FORMAT[profile]
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = ScanWriter(out_dir, profile, fmt)
    px_per_mm = RENDER_DPI / MM_PER_INCH
    sheets: list[SheetTruth] = []
    try:
        for source in order:
            rng = np.random.default_rng([seed, source])
            page = rasterize_pdf_page(pdf_path, source, RENDER_DPI)
            sheet = _sheet_id(page, layout, px_per_mm, pdf_path, source)
            rows, intent_pixels = _fill(page, layout, px_per_mm, rng, difficulty)
            scanned, applied = degrade(page, profile, rng, source_dpi=RENDER_DPI, device=settings)
            applied = {"seed": [seed, source], "difficulty": difficulty, **applied}
            file, page_no = writer.add(scanned, applied)
            upside_down = bool(applied["upside_down"])
            if applied.get("binarised"):
                rows = _with_legibility(rows, intent_pixels, scanned, applied, px_per_mm)
            sheets.append(SheetTruth(file, page_no, sheet.serial, upside_down, rows, source, applied))
    finally:
        writer.close()
    with (out_dir / TRUTH_FILE).open("w", encoding="utf-8") as handle:
        for sheet_truth in sheets:
            handle.write(json.dumps(sheet_truth.as_json(), ensure_ascii=False) + "\n")
    return sheets


def load_truth(path: Path) -> list[SheetTruth]:
    """Read a ``truth.jsonl`` written by :func:`simulate_batch` (``path`` is the file or its folder)."""
    if path.is_dir():
        path = path / TRUTH_FILE
    sheets: list[SheetTruth] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        rows = tuple(RowTruth(**{**row, "marks": tuple(map(tuple, row["marks"]))}) for row in data.pop("rows"))
        sheets.append(SheetTruth(**data, rows=rows))
    return sheets


def _with_legibility(
    rows: tuple[RowTruth, ...], intent_pixels: list[Pixels], binary: Gray, applied: dict[str, object], px_per_mm: float
) -> tuple[RowTruth, ...]:
    """Mark rows whose intended marks a 1-bit device wiped out: under half their stroke cores left any black."""
    to_image = np.array(applied["page_mm_to_image"], dtype=np.float64)
    # A core survives if any black pixel lies within one pixel of where it lands (thin or dithered strokes).
    black_near = cv2.erode(binary, np.ones((3, 3), np.uint8)) == 0
    height, width = binary.shape
    result = []
    for row, pixels in zip(rows, intent_pixels, strict=True):
        if len(pixels) == 0:
            result.append(row)
            continue
        sample = pixels[:: max(1, len(pixels) // LEGIBILITY_SAMPLES)]
        page_mm = np.column_stack(
            [(sample[:, 1] + 0.5) / px_per_mm, (sample[:, 0] + 0.5) / px_per_mm, np.ones(len(sample))]
        )
        mapped = page_mm @ to_image.T
        xs, ys = np.rint(mapped[:, 0] / mapped[:, 2]).astype(int), np.rint(mapped[:, 1] / mapped[:, 2]).astype(int)
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        survived = np.zeros(len(sample), bool)
        survived[inside] = black_near[ys[inside], xs[inside]]
        result.append(row if survived.mean() >= LEGIBLE_SHARE else replace(row, legible=False))
    return tuple(result)


def _page_count(pdf_path: Path) -> int:
    try:
        document = pdfium.PdfDocument(str(pdf_path))
    except pdfium.PdfiumError as error:
        raise SimulationError(f"cannot open {pdf_path}: {error}") from None
    try:
        return len(document)
    finally:
        document.close()


def _sheet_id(page: Gray, layout: Layout, px_per_mm: float, pdf_path: Path, index: int) -> SheetId:
    """The printed QR code of a clean page: the serial the truth is keyed by."""
    qr = layout.qr
    margin = QR_SEARCH_MARGIN_MM
    x0, y0 = (max(0, round((v - margin) * px_per_mm)) for v in (qr.x, qr.y))
    x1, y1 = round((qr.x + qr.w + margin) * px_per_mm), round((qr.y + qr.h + margin) * px_per_mm)
    found = zxingcpp.read_barcodes(np.ascontiguousarray(page[y0:y1, x0:x1]))
    sheets = [parse_payload(code.text) for code in found]
    for sheet in sheets:
        ours = isinstance(sheet, SheetId) and sheet.template_id == layout.template_id
        if ours and isinstance(sheet, SheetId) and layout.template_hash.startswith(sheet.short_hash):
            return sheet
    raise SimulationError(f"page {index + 1} of {pdf_path} is not a ballot of template {layout.template_id}")
