"""Pens and paper: how a hand-drawn stroke becomes pixels.

A :class:`Canvas` collects anti-aliased stroke coverage (shapes given in mm around a centre, y down) in a
window of the page and lays it on the page multiplicatively, as ink on paper: dark ink over printed lines
stays dark. :class:`Pen` says what the hand holds. Shared by the voters' marks (:mod:`.marks`) and the
conditions that change them (:mod:`.corrections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.simulation.effects import Gray, pick

Points = npt.NDArray[np.float64]
Pixels = npt.NDArray[np.intp]  # (row, column) pairs

SUBPIXEL_BITS = 4  # cv2 drawing with 1/16-pixel coordinates
SUBPIXEL = 1 << SUBPIXEL_BITS
MARK_REACH_MM = 13.0  # no mark reaches further than this from its box's centre
CORE_COVERAGE = 0.5  # a stroke's core: where it covers at least half the paper
BLANK_PAPER = 200  # grey above which the paper under a stroke counts as unprinted
CLEAR_OF_PRINT_MM = 0.4  # legibility is judged on cores this far from printed ink (a fax thickens lines)
PENS: dict[str, tuple[float, tuple[int, int], tuple[float, float]]] = {
    # name: (share, ink grey range, stroke width range in mm)
    "gel": (0.45, (35, 85), (0.40, 0.70)),
    "ballpoint": (0.33, (70, 120), (0.30, 0.50)),
    "pencil": (0.12, (115, 170), (0.30, 0.60)),
    "marker": (0.10, (30, 70), (0.60, 0.80)),
}


@dataclass(frozen=True)
class Pen:
    """What a voter writes with: ink grey on white paper (0 black … 255 paper), stroke width, pencil grain."""

    ink: int
    width_mm: float
    pencil: bool = False


#: A red pen's ink as a grey conversion that keeps little of red leaves it (condition ``red-pen``): 15–40 % as dark as
#: black ink on white paper (red ink's red channel is 150–215 on paper of 245: a colour-dropout scanner's grey, a
#: copier's red-blind lamp).
RED_DROPPED = (150, 215)


def red_pen(pen: Pen, rng: np.random.Generator) -> Pen:
    """``pen`` as a red one seen through a grey conversion that keeps little of red (:data:`RED_DROPPED`)."""
    return Pen(int(rng.integers(RED_DROPPED[0], RED_DROPPED[1] + 1)), pen.width_mm, pencil=False)


def random_pen(rng: np.random.Generator, *, pencil_allowed: bool = True) -> Pen:
    names = [name for name in PENS if pencil_allowed or name != "pencil"]
    shares = np.array([PENS[name][0] for name in names])
    name = pick(rng, names, list(shares / shares.sum()))
    _, ink, width = PENS[name]
    return Pen(int(rng.integers(ink[0], ink[1] + 1)), float(rng.uniform(*width)), name == "pencil")


class Canvas:
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
        pressure = smooth_field(rng, (height, width), cell=max(4, int(2.5 * self.scale)))
        coverage *= 0.78 + 0.22 * pressure
        if pen.pencil:
            grain = rng.uniform(0.45, 1.0, (height, width)).astype(np.float32)
            coverage *= cv2.GaussianBlur(grain, (0, 0), 0.6)
        if erased:
            # Rubbing leaves patches of smeared graphite, softer than any stroke.
            coverage *= 0.4 + 0.55 * smooth_field(rng, (height, width), cell=max(4, int(1.5 * self.scale)))
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


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> npt.NDArray[np.float32]:
    """Random values in 0–1 varying smoothly over about ``cell`` pixels."""
    coarse = rng.random((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    return cast(
        npt.NDArray[np.float32], cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    )


def curved(a: Points, b: Points, rng: np.random.Generator, bend: float, samples: int = 14) -> Points:
    """A hand-drawn segment from ``a`` to ``b``: a quadratic curve bowed sideways by up to ``bend`` × length."""
    normal = np.array([-(b - a)[1], (b - a)[0]])
    control = (a + b) / 2 + normal * rng.uniform(-bend, bend)
    t = np.linspace(0, 1, samples)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t**2 * b


def rotated(points: Points, degrees: float) -> Points:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return cast(Points, points @ rotation.T)
