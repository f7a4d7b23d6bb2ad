"""Table structure of a printed form: its ruling lines, its cells, and what each cell holds.

Ruling lines are what survives a morphological opening with a long horizontal or vertical bar (glyph
strokes are shorter); each connected grid of them is a table, with the centres of its rules; grid cells
whose shared edge is not printed are merged (a 测评等次 heading spanning the option columns, a note across
the table). Used on a blank form by :mod:`pipeline.forms.proposal` to propose a template, and on every filled
copy by :mod:`pipeline.forms.fitting` to find the form again. In the spirit of pdfplumber's
edges → intersections → cells → tables, on pixels instead of PDF vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.common.imaging import Gray, Matrix
from pipeline.forms.ocr import printed_ink

Mask = npt.NDArray[np.uint8]
PxRect = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels

MAX_SKEW_DEG = 5.0
HORIZONTAL_MIN_MM = 10.0  # shorter horizontal ink is text (a 一 at 24 pt is 8 mm)
VERTICAL_MIN_MM = 7.0  # shorter vertical ink is text or a □; rules run on through every row
RULE_MERGE_MM = 1.2  # rules closer than this are one rule (a double border, a thick blurred line)
EDGE_PRESENT = 0.8  # share of a cell edge covered by ink for the edge to be printed (text never covers this much)
HORIZONTAL_SHARE = 0.12  # of the table's width: the rule under a merged heading spans two option columns at least
VERTICAL_SHARE = 0.4  # of the table's height: column rules run through every body row; aligned glyphs of
# a wrapped label (非 over 保) stack into short false ones
MIN_TABLE_MM = (40.0, 15.0)
SQUARE_MM = (1.2, 10.0)  # side of a printed answer square or circle (□ at 11 pt in WenQuanYi: 1.7 mm)
ROUND_SHARE = 0.86  # of its bounding box, the most a circle's outline encloses (π/4 ≈ 0.79, a square 1)
HOLLOW_SHARE = 0.25  # of its bounding box, the least a square's hole covers (a small blurred □ has a thick outline)
TONER_BLACK = 25.0  # grey level of printed black on a scan
INK_CONTRAST = 25.0  # grey levels under the local mean that are ink on any page …
MIN_INK_CONTRAST = 10.0  # … down to this on a quiet page (faint grey rules, a pale photo) …
NOISE_FACTOR = 6.0  # … but never within this many times the page's noise (its median absolute deviation)
INSET_PX = 2  # beyond half a rule's thickness: a cell's interior starts this far inside its rules


@dataclass(frozen=True)
class Cell:
    """A table cell: the grid rows and columns it spans (inclusive) and its rule-centre rectangle (px)."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    rect: PxRect


@dataclass(frozen=True)
class Table:
    xs: tuple[float, ...]  # vertical rule centres, left to right (px)
    ys: tuple[float, ...]  # horizontal rule centres, top to bottom (px)
    cells: tuple[Cell, ...]
    line_px: float  # median rule thickness

    @property
    def rect(self) -> PxRect:
        return (self.xs[0], self.ys[0], self.xs[-1], self.ys[-1])

    def cell_at(self, row: int, col: int) -> Cell:
        for cell in self.cells:
            if cell.rows[0] <= row <= cell.rows[1] and cell.cols[0] <= col <= cell.cols[1]:
                return cell
        raise KeyError((row, col))


def ink_of(gray: Gray, px_per_mm: float, *, faint: bool = False) -> Mask:
    """Dark marks against the local paper (uneven scanner light and grey paper are not ink): darker than the
    mean around them by INK_CONTRAST grey levels; with ``faint``, by less on a quiet page (a pale phone
    photo's grey rules stand out from its paper by 12–20 levels), never by less than NOISE_FACTOR times the
    page's noise. Faint ink is only looked for where the usual finds no table: shadows and a photo's uneven
    light make long faint lines too."""
    block = int(3.0 * px_per_mm) | 1
    contrast = INK_CONTRAST
    if faint:
        small = gray[::3, ::3]
        local = cv2.blur(small, (block // 3 | 1, block // 3 | 1)).astype(np.int16)
        diff = (local - small.astype(np.int16)).ravel()
        noise = 1.4826 * float(np.median(np.abs(diff - np.median(diff))))
        contrast = float(np.clip(NOISE_FACTOR * noise, MIN_INK_CONTRAST, INK_CONTRAST))
    return np.asarray(
        cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, contrast),
        dtype=np.uint8,
    )


def deskew(gray: Gray) -> tuple[Gray, float]:
    """The page rotated so that its rules and text lines are horizontal, and the angle removed (degrees)."""
    small_width = 800
    factor = small_width / gray.shape[1]
    small = cv2.resize(255 - gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA).astype(np.float32)
    centre = (small.shape[1] / 2, small.shape[0] / 2)

    def sharpness(angle: float) -> float:
        matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(small, matrix, (small.shape[1], small.shape[0]), flags=cv2.INTER_LINEAR)
        profile = rotated.sum(axis=1)
        return float(np.sum(np.diff(profile) ** 2))

    coarse = max(np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 1e-9, 0.25), key=sharpness)
    fine = float(max(np.arange(coarse - 0.25, coarse + 0.25 + 1e-9, 0.02), key=sharpness))
    if abs(fine) < 0.02:
        return gray, 0.0
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), fine, 1.0)
    upright = cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255)
    return np.asarray(upright, dtype=np.uint8), fine


def rotation_of(shape: tuple[int, ...], angle: float) -> Matrix:
    """The 3×3 matrix :func:`deskew` turned a page of ``shape`` with (``angle``: what it returned)."""
    height, width = shape[:2]
    matrix = np.eye(3)
    if angle:
        matrix[:2] = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return matrix


def unturn(turns: int, shape: tuple[int, ...]) -> Matrix:
    """Pixel coordinates in ``np.rot90(image, turns)`` → in ``image`` (of ``shape``)."""
    height, width = shape[:2]
    return {
        0: np.eye(3),
        1: np.array([[0.0, -1.0, width - 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        2: np.array([[-1.0, 0.0, width - 1.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]]),
        3: np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, height - 1.0], [0.0, 0.0, 1.0]]),
    }[turns % 4]


def rule_masks(gray: Gray, px_per_mm: float, *, faint: bool = False) -> tuple[Mask, Mask, Mask]:
    """Ink, and the horizontal and vertical ruling lines in it (``faint``: see :func:`ink_of`)."""
    ink = ink_of(gray, px_per_mm, faint=faint)
    return (ink, *lines_in(ink, px_per_mm))


def lines_in(ink: Mask, px_per_mm: float) -> tuple[Mask, Mask]:
    """The horizontal and vertical ruling lines in an ink mask: ink runs longer than glyph strokes."""
    # Bridge one-pixel breaks (JPEG, a faint toner line) before the opening measures length.
    h_len, v_len = round(HORIZONTAL_MIN_MM * px_per_mm), round(VERTICAL_MIN_MM * px_per_mm)
    bridged_h = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1)))
    bridged_v = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    horizontal = cv2.morphologyEx(bridged_h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(bridged_v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    return np.asarray(horizontal, dtype=np.uint8), np.asarray(vertical, dtype=np.uint8)


def find_tables(
    gray: Gray, px_per_mm: float, masks: tuple[Mask, Mask, Mask] | None = None, *, faint: bool = False
) -> list[Table]:
    """Every ruled table on the (upright) page, top to bottom. ``masks``: :func:`rule_masks` when known;
    ``faint``: look for faint grey rules (see :func:`ink_of`)."""
    ink, horizontal, vertical = masks or rule_masks(gray, px_per_mm, faint=faint)
    grid = cv2.dilate(horizontal | vertical, np.ones((5, 5), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
    tables = []
    for index in np.argsort(stats[:, cv2.CC_STAT_TOP]):
        x, y, w, h, _ = stats[index]
        if index == 0 or w < MIN_TABLE_MM[0] * px_per_mm or h < MIN_TABLE_MM[1] * px_per_mm:
            continue
        inside = labels[y : y + h, x : x + w] == index
        table = _table_in(ink, horizontal, vertical, inside, (x, y), px_per_mm)
        if table is not None:
            tables.append(table)
    return tables


def _table_in(
    ink: Mask, horizontal: Mask, vertical: Mask, inside: npt.NDArray[np.bool_], at: tuple[int, int], px_per_mm: float
) -> Table | None:
    x, y = at
    h, w = inside.shape
    h_mask = horizontal[y : y + h, x : x + w] & inside
    v_mask = vertical[y : y + h, x : x + w] & inside
    ys = _rules(h_mask.sum(axis=1), max(HORIZONTAL_MIN_MM * px_per_mm, HORIZONTAL_SHARE * w), px_per_mm)
    xs = _rules(v_mask.sum(axis=0), max(VERTICAL_MIN_MM * px_per_mm, VERTICAL_SHARE * h), px_per_mm)
    if len(xs) < 3 or len(ys) < 3:
        return None
    line_px = float(np.median([t for _, t in xs + ys]))
    xs_px = tuple(x + c for c, _ in xs)
    ys_px = tuple(y + c for c, _ in ys)
    cells = _cells(ink, xs_px, ys_px, line_px)
    return Table(xs_px, ys_px, cells, line_px)


def _rules(profile: npt.NDArray[np.int64], min_length: float, px_per_mm: float) -> list[tuple[float, float]]:
    """(centre, thickness) of each rule in a projection of a line mask, nearby runs merged."""
    runs: list[list[int]] = []
    for index in np.flatnonzero(profile > 0).tolist():
        if runs and index - runs[-1][-1] <= RULE_MERGE_MM * px_per_mm:
            runs[-1].append(index)
        else:
            runs.append([index])
    rules = []
    for run in runs:
        if profile[run].max() < min_length:
            continue
        weights = profile[run].astype(np.float64)
        rules.append((float(np.average(run, weights=weights)), float(len(run))))
    return rules


def _cells(ink: Mask, xs: tuple[float, ...], ys: tuple[float, ...], line_px: float) -> tuple[Cell, ...]:
    """Grid cells merged across every edge that is not printed."""
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = list(range(rows * cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    band = int(line_px / 2) + 2
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols and not _edge(ink, xs[c + 1], (ys[r], ys[r + 1]), band, vertical=True):
                parent[find(r * cols + c + 1)] = find(r * cols + c)
            if r + 1 < rows and not _edge(ink, ys[r + 1], (xs[c], xs[c + 1]), band, vertical=False):
                parent[find((r + 1) * cols + c)] = find(r * cols + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(rows):
        for c in range(cols):
            groups.setdefault(find(r * cols + c), []).append((r, c))
    cells = []
    for members in groups.values():
        r0, r1 = min(m[0] for m in members), max(m[0] for m in members)
        c0, c1 = min(m[1] for m in members), max(m[1] for m in members)
        cells.append(Cell((r0, r1), (c0, c1), (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    return tuple(sorted(cells, key=lambda cell: (cell.rows[0], cell.cols[0])))


def _edge(ink: Mask, at: float, span: tuple[float, float], band: int, *, vertical: bool) -> bool:
    """Whether a rule is printed at ``at`` along ``span`` (the ends, where crossing rules are, excluded)."""
    start, end = int(span[0]) + 2 * band, int(span[1]) - 2 * band
    if end <= start:
        return True
    centre = round(at)
    strip = (
        ink[start:end, centre - band : centre + band + 1]
        if vertical
        else ink[centre - band : centre + band + 1, start:end]
    )
    covered = strip.any(axis=1 if vertical else 0)
    return float(covered.mean()) >= EDGE_PRESENT


def interior(image: Gray, rect: PxRect, line_px: float) -> tuple[Gray, tuple[int, int]]:
    """The cell's pixels inside its rules, and the crop's top-left corner in the image."""
    inset = int(line_px / 2 + 0.5) + INSET_PX
    x0, y0 = int(rect[0]) + inset, int(rect[1]) + inset
    x1, y1 = int(rect[2]) - inset + 1, int(rect[3]) - inset + 1
    return image[y0:y1, x0:x1], (x0, y0)


def square_in(image: Gray, rect: PxRect, line_px: float, px_per_mm: float) -> tuple[PxRect, bool] | None:
    """The one printed hollow square (or circle) in a cell, and whether it is round; None when the cell has
    none."""
    crop, (ox, oy) = interior(image, rect, line_px)
    if crop.size == 0:
        return None
    ink = ink_of(crop, px_per_mm)
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return None
    low, high = SQUARE_MM[0] * px_per_mm, SQUARE_MM[1] * px_per_mm
    found = []
    for index, contour in enumerate(contours):
        parent, child = hierarchy[0][index][3], hierarchy[0][index][2]
        x, y, w, h = cv2.boundingRect(contour)
        if parent != -1 or child == -1 or not (low <= w <= high and low <= h <= high) or max(w, h) > 1.3 * min(w, h):
            continue
        hole = cv2.contourArea(contours[child])
        if hole >= HOLLOW_SHARE * w * h:
            # A round outline's area is π/4 of its bounding box; a square's fills it.
            round_ = cv2.contourArea(contour) < ROUND_SHARE * w * h
            found.append(((float(ox + x), float(oy + y), float(ox + x + w), float(oy + y + h)), round_))
    return found[0] if len(found) == 1 else None


def square_stroke(image: Gray, rect: PxRect) -> float:
    """Stroke width (px) of a printed square: its darkness summed over the crop, per pixel of perimeter
    (blur spreads a stroke but keeps that sum)."""
    x0, y0, x1, y1 = (round(value) for value in rect)
    crop = image[y0:y1, x0:x1].astype(np.float32)
    if crop.size == 0:
        return 0.0
    paper = float(np.percentile(image[max(0, y0 - 5) : y1 + 5, max(0, x0 - 5) : x1 + 5], 90))
    darkness = np.clip((paper - crop) / max(paper - TONER_BLACK, 1.0), 0.0, 1.0)
    return float(darkness.sum()) / (2 * ((x1 - x0) + (y1 - y0)))


CellKind = Literal["empty", "square", "circle", "text"]


def cell_content(image: Gray, cell: Cell, line_px: float, px_per_mm: float) -> tuple[CellKind, PxRect | None]:
    """What a cell holds: nothing, one printed answer square or circle (and where), or text."""
    found = square_in(image, cell.rect, line_px, px_per_mm)
    if found is not None:
        return ("circle" if found[1] else "square"), found[0]
    crop, _ = interior(image, cell.rect, line_px)
    return ("text" if printed_ink(crop).any() else "empty"), None
