"""Refine: correct the page transform with the printed checkbox borders themselves.

Four corner marks fix a plane, but a phone photo of a sheet that is not quite flat (curled, bowed over a
fold) shows the middle of the page up to a few millimetres away from where the corner marks put it. Each
checkbox's printed border is a precise landmark: it is searched for within ±:data:`SEARCH_MM` of where the
coarse transform predicts it (correlation with the box outline rendered from the template, at
:data:`PX_PER_MM`), and a new homography is fitted to the marks and every border found, robustly (RANSAC),
so that a filled box or a tick over a border cannot pull it. The fit's median misfit over the boxes is the
page's alignment quality; when too few borders agree with one plane the page is rejected rather than read.

No plane follows a curl, though: the one row printed wider than the table (测评人类别, 42–148 mm across, the
table 84–130 mm) has its end boxes up to 1.9 mm off the fit on curled phone photos, beyond where the scorer
looks for a border. A row whose borders were found more than :data:`LOCAL_FIX_MM` off the fit is scored
where its borders are: each of its boxes gets the offset of its own border as found here (a box whose
border was not found, that of the row's median), and the scorer looks for the border around that.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Checkbox, Layout
from pipeline.common.imaging import Gray, percentile
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.align import FEED_STRETCHES, Alignment, AlignmentFailure
from pipeline.reading.model import BLANK_PX_PER_MM, BallotModel
from pipeline.reading.settings import AlignmentLimits

PX_PER_MM = 4.0  # coarse enough to be cheap, fine enough for a 0.35 mm border (sub-pixel peak fit)
SEARCH_MM = 3.0
WINDOW_MM = 3.0  # the template: the box ± this, so the grid lines above and below it help too
MIN_PEAK = 0.5  # normalised correlation of a border that was really found
MIN_BORDERS = 8
RANSAC_MM = 0.5
# A row's boxes are scored where their borders are once one of them lies this far off the fit: the scorer
# looks for each border within LOCAL_MM (score.py) of its row's shift. Measured on 40 ballots per profile
# (mixed seeds 7 and 23, hard 11, clean 5): office scans and flat photos stay under 0.3 mm; curled phone
# photos reach 0.5–0.72 mm on 4 table boxes (neighbours alike: the curl) and 0.5–1.9 mm at the ends of
# 测评人类别 (58 boxes), where 4–5 rows per 40 photos went to a clerk for "alignment".
LOCAL_FIX_MM = 0.5
# A page on no one plane (a ballot folded to fit the box and unfolded: its halves lie at different angles; a fax
# whose scan lines dropped out: the page below each drop-out moved up) is read piecewise, box by box, when at least
# this share of its boxes' borders is found …
PIECEWISE_FOUND = 0.6
# … every one within this of what its row or its column says (a fold bends the page by a fraction of a millimetre
# from one box to the next along it; a border matched in the wrong place jumps further) …
COHERENT_MM = 1.0
NEIGHBOURS = 4
SAME_LINE_MM = 2.0  # boxes whose centres lie this close in y share a row (in x: a column)
# … and none further off the fit to them all than half the nearest pitch less this (:attr:`BorderModel.reach`). A
# box's border is looked for SEARCH_MM around the fit; one not found there, or found at the search's edge, is looked
# for again around where the borders found near it say it is (a fax whose lines were lost or repeated, or whose
# sheet walked sideways, has rows millimetres off any plane: field fax 0003, 3.2 mm). A search centred where its
# neighbours are cannot reach a box a pitch away; what bounds a page's bending is that a block of boxes moved
# together by half a pitch could as well be its neighbours.
PITCH_MARGIN_MM = 0.5
MISMATCHED_SHARE = 0.1  # of the boxes, at most, whose borders found jump from their neighbours' (see _piecewise)
EDGE_MM = 0.5  # a border found this close to the search's edge may lie beyond it


@dataclass(frozen=True)
class _Outline:
    box: tuple[str, str]  # unit, option
    centre: tuple[float, float]  # mm
    origin: tuple[float, float]  # mm of the sampled patch's top-left pixel centre
    size: int  # patch side, px
    template: npt.NDArray[np.float32]  # what is printed around the box (its border, nearby grid lines)


class BorderModel:
    """What is printed around every checkbox of a layout, cut from the rendered blank ballot."""

    def __init__(self, layout: Layout, blank: Gray, blank_px_per_mm: float) -> None:
        """``blank``: the blank ballot's grey levels rendered at ``blank_px_per_mm``."""
        self.layout = layout
        factor = blank_px_per_mm / PX_PER_MM
        height, width = blank.shape
        size = (round(width / factor), round(height / factor))
        # Averaging is linear: reducing the grey levels, then taking darkness, is reducing the darkness.
        grey = cv2.resize(blank.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        self._blank = (255.0 - grey) / 255.0

    @cached_property
    def all_outlines(self) -> list[_Outline]:
        """Every box's outline (a page read piecewise looks for each)."""
        return [self._outline(box) for box in self.layout.boxes]

    @cached_property
    def outlines(self) -> list[_Outline]:
        """Every box of the outermost rows and columns and every other box inside: the whole table is
        covered for the fit at about two thirds of the cost."""
        boxes = self.layout.boxes
        rows = sorted({box.rect.y for box in boxes})
        columns = sorted({box.rect.x for box in boxes})
        edge_rows, edge_columns = {rows[0], rows[-1]}, {columns[0], columns[-1]}
        chosen = [
            box
            for index, box in enumerate(boxes)
            if box.rect.y in edge_rows or box.rect.x in edge_columns or index % 2 == 0
        ]
        return [self._outline(box) for box in chosen]

    @cached_property
    def pitches(self) -> list[tuple[float, float]]:
        """The steps (page mm) from a box to its nearest neighbour in its row and in its column, both ways: the
        pitches a fit of evenly spaced boxes may slip by."""
        centres = np.array([outline.centre for outline in self.outlines], dtype=np.float64)
        offsets = centres[None, :, :] - centres[:, None, :]
        pitches = []
        for axis in (0, 1):
            inline = (np.abs(offsets[..., 1 - axis]) < 1.0) & (offsets[..., axis] > 0.5)
            if inline.any():
                step = float(offsets[..., axis][inline].min())
                pitch = (step, 0.0) if axis == 0 else (0.0, step)
                pitches += [pitch, (-pitch[0], -pitch[1])]
        return pitches

    @cached_property
    def reach(self) -> float:
        """How far off the fit to all its borders a box of a page read piecewise may lie (mm): under half the
        nearest pitch, so that no block of boxes is read where its neighbours are printed."""
        return min(float(np.hypot(*pitch)) for pitch in self.pitches) / 2 - PITCH_MARGIN_MM

    def _outline(self, box: Checkbox) -> _Outline:
        rect = box.rect
        # Rendered pixel i covers [i, i + 1) / PX_PER_MM mm, so its centre is at (i + 0.5) / PX_PER_MM.
        left = round((rect.x - WINDOW_MM) * PX_PER_MM)
        top = round((rect.y - WINDOW_MM) * PX_PER_MM)
        side = round((rect.w + 2 * WINDOW_MM) * PX_PER_MM)
        search = round(SEARCH_MM * PX_PER_MM)
        template = np.ascontiguousarray(self._blank[top : top + side, left : left + side], dtype=np.float32)
        origin = ((left - search + 0.5) / PX_PER_MM, (top - search + 0.5) / PX_PER_MM)
        return _Outline((box.unit, box.option), rect.center, origin, side + 2 * search, template)


def border_model(model: BallotModel) -> BorderModel:
    """The printed box outlines of ``model``'s template, cut from its blank once per template."""
    return model.derived("refine.borders", lambda: BorderModel(model.layout, model.blank, BLANK_PX_PER_MM))


def borders_found(
    image: Gray, matrix: npt.NDArray[np.float64], outlines: Sequence[_Outline], *, stretched: bool = False
) -> list[tuple[_Outline, npt.NDArray[np.float64]]]:
    """Each of ``outlines`` whose border is found near where ``matrix`` puts it, with where (image px);
    ``stretched``: see :func:`find_border`."""
    return [
        (outline, found)
        for outline in outlines
        if (found := find_border(image, matrix, outline, stretched=stretched)) is not None
    ]


def refine_alignment(
    image: Gray, alignment: Alignment, model: BallotModel, limits: AlignmentLimits
) -> Alignment | AlignmentFailure:
    """A transform fitted to the registration marks and the checkbox borders found near them."""
    borders = border_model(model)
    found_boxes, page_points, image_points = [], [], []
    for outline, found in borders_found(image, alignment.matrix, borders.outlines, stretched=True):
        found_boxes.append(outline.box)
        page_points.append(outline.centre)
        image_points.append(found)
    if len(page_points) < MIN_BORDERS:
        return AlignmentFailure(PageReason.of(Why.BORDERS_MISSING, found=len(page_points), total=len(borders.outlines)))
    marks_mm = np.array([mark.center for mark in borders.layout.registration], dtype=np.float64)
    src = np.vstack([np.array(page_points), marks_mm])
    dst = np.vstack([np.array(image_points), alignment.to_pixels(marks_mm)])
    matrix, inliers = cv2.findHomography(
        src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), cv2.RANSAC, RANSAC_MM * alignment.px_per_mm
    )
    if matrix is None:
        return _piecewise(image, alignment, borders, src, dst, PageReason.of(Why.BORDERS_OFF_PLANE))
    box_inliers = inliers.ravel()[: len(page_points)].astype(bool)
    if box_inliers.mean() < 0.6:
        reason = PageReason.of(Why.BORDERS_DISAGREE, agree=int(box_inliers.sum()), total=len(page_points))
        return _piecewise(image, alignment, borders, src, dst, reason)
    predicted = cv2.perspectiveTransform(np.array(page_points).reshape(-1, 1, 2), matrix).reshape(-1, 2)
    misfit = np.linalg.norm(predicted - np.array(image_points), axis=1) / alignment.px_per_mm
    residual = percentile(misfit, 90.0)
    if residual > limits.max_residual_mm:
        return _piecewise(image, alignment, borders, src, dst, PageReason.of(Why.CURLED, mm=round(residual, 1)))
    fitted = np.asarray(matrix, dtype=np.float64)
    # Where the fit puts each border found, and so how far off it each box is, in page mm.
    seen = cv2.perspectiveTransform(np.array(image_points).reshape(-1, 1, 2), np.linalg.inv(fitted)).reshape(-1, 2)
    offsets = dict(zip(found_boxes, seen - np.array(page_points), strict=True))
    offsets |= _rows_found_again(image, fitted, borders, offsets)
    return replace(
        alignment, matrix=fitted, residual_mm=residual, box_offsets_mm=_local_offsets(borders.layout, offsets)
    )


def _piecewise(
    image: Gray,
    alignment: Alignment,
    borders: BorderModel,
    src: npt.NDArray[np.float64],
    dst: npt.NDArray[np.float64],
    refused: PageReason,
) -> Alignment | AlignmentFailure:
    """A page that lies on no one plane — folded and unfolded, its halves at different angles; a fax whose
    scan lines dropped out or whose sheet walked sideways — read piecewise: every box's border is looked for near
    where a least-squares fit to all the borders found puts it (again where its neighbours' say, when not found
    there or found at the search's edge), and each box is scored where its own border is (or, not found, where its
    nearest neighbours say). Refused (``refused`` says why) when too few borders are found, when they do not
    vary smoothly across the page (a border matched in the wrong place, a torn sheet, another sheet), or when any
    box lies further than :attr:`BorderModel.reach` off the fit."""
    fitted, _ = cv2.findHomography(src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), 0)
    if fitted is None:
        return AlignmentFailure(refused)
    matrix = np.asarray(fitted, dtype=np.float64)
    outlines = borders.all_outlines
    found = _coherent(outlines, _offsets_found(image, matrix, outlines, {}))
    if found is None:
        return AlignmentFailure(refused)
    everywhere = np.array([outline.centre for outline in outlines], dtype=np.float64)
    # Borders beyond the search around the fit, or at its edge: looked for again where their neighbours say.
    guesses = _neighbours_offset(*_arrays(outlines, found), everywhere, exclude_self=False)
    again = {
        outline.box: (float(guess[0]), float(guess[1]))
        for outline, guess in zip(outlines, guesses, strict=True)
        if outline.box not in found or float(np.hypot(*found[outline.box])) > SEARCH_MM - EDGE_MM
    }
    if again:
        looked_again = [outline for outline in outlines if outline.box in again]
        found = _coherent(outlines, found | _offsets_found(image, matrix, looked_again, again))
        if found is None:
            return AlignmentFailure(refused)
    at, moved = _arrays(outlines, found)
    furthest = float(np.max(np.linalg.norm(moved, axis=1)))
    if furthest > borders.reach:
        return AlignmentFailure(PageReason.of(Why.CURLED, mm=round(furthest, 1)))
    local = _neighbours_offset(at, moved, everywhere, exclude_self=False)
    box_offsets = {
        outline.box: (round(float(dx), 3), round(float(dy), 3))
        for outline, (dx, dy) in zip(borders.all_outlines, local, strict=True)
    }
    residual = percentile(_deviation(at, moved), 90.0)
    return replace(alignment, matrix=matrix, residual_mm=residual, box_offsets_mm=box_offsets)


def _offsets_found(
    image: Gray,
    matrix: npt.NDArray[np.float64],
    outlines: Sequence[_Outline],
    around: dict[tuple[str, str], tuple[float, float]],
) -> dict[tuple[str, str], npt.NDArray[np.float64]]:
    """Per box of ``outlines`` whose border is found within SEARCH_MM of where ``matrix`` puts it moved by
    ``around`` (page mm; by nothing where it names no box): how far off where ``matrix`` alone puts it (page mm)."""
    inverse = np.linalg.inv(matrix)
    offsets = {}
    for outline in outlines:
        moved = matrix @ shift_mm(around.get(outline.box, (0.0, 0.0)))
        found = find_border(image, moved, outline, stretched=True)
        if found is not None:
            seen = cv2.perspectiveTransform(found.reshape(1, 1, 2), inverse).reshape(2)
            offsets[outline.box] = np.asarray(seen - np.array(outline.centre), dtype=np.float64)
    return offsets


def shift_mm(step: tuple[float, float]) -> npt.NDArray[np.float64]:
    """Page mm → page mm, moved by ``step``."""
    return np.array([[1.0, 0.0, step[0]], [0.0, 1.0, step[1]], [0.0, 0.0, 1.0]])


def _coherent(
    outlines: Sequence[_Outline], found: dict[tuple[str, str], npt.NDArray[np.float64]]
) -> dict[tuple[str, str], npt.NDArray[np.float64]] | None:
    """``found`` (box offsets, page mm) less the few borders that jump from their neighbours'; None when more
    than a MISMATCHED_SHARE of ``outlines`` do, or under PIECEWISE_FOUND of them are left.

    A fold bends the page smoothly: a border that jumps from its neighbours' was matched in the wrong place (a tick
    over it, a square like it), or its row moved on its own and the row's other borders match nowhere (field fax
    0003: lines repeated above its last row put one border there 2.4 mm below where the rows above say, its other
    two squeezed past matching). Either way where its row lies is not known well enough to read it from that one
    border: it is taken for one not found, the worst first (the row is then scored where its neighbours say; the
    scorer looks for the borders there and asks where it finds none). More than a few such, the page is torn or two
    sheets, or bent past following: no box of it is trusted."""
    kept = dict(found)
    for _ in range(math.floor(MISMATCHED_SHARE * len(outlines)) + 1):
        if len(kept) < PIECEWISE_FOUND * len(outlines):
            return None
        at, moved = _arrays(outlines, kept)
        deviation = _deviation(at, moved)
        if float(deviation.max()) <= COHERENT_MM:
            return kept
        worst = [outline.box for outline in outlines if outline.box in kept][int(np.argmax(deviation))]
        del kept[worst]
    return None


def _deviation(at: npt.NDArray[np.float64], moved: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """How far each found box's offset lies from what the others around it say (mm)."""
    return np.asarray(np.linalg.norm(moved - _neighbours_offset(at, moved, at, exclude_self=True), axis=1), np.float64)


def _arrays(
    outlines: Sequence[_Outline], offsets: dict[tuple[str, str], npt.NDArray[np.float64]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The centres (page mm) of the boxes of ``outlines`` found, and their offsets, in ``outlines``' order."""
    kept = [outline for outline in outlines if outline.box in offsets]
    centres = np.array([outline.centre for outline in kept], dtype=np.float64).reshape(-1, 2)
    return centres, np.array([offsets[outline.box] for outline in kept], dtype=np.float64).reshape(-1, 2)


def _neighbours_offset(
    at: npt.NDArray[np.float64], offsets: npt.NDArray[np.float64], where: npt.NDArray[np.float64], *, exclude_self: bool
) -> npt.NDArray[np.float64]:
    """The offset at each of ``where`` (page mm) as the found boxes (``at``, ``offsets``) around it say: those of
    its row, which a fold across the page or a wavering feed moves alike; else those of its column, which a fold
    down the page moves alike (the two nearest above and below, interpolated); else its NEIGHBOURS nearest. A box
    found at ``where`` itself is its own answer unless ``exclude_self``; with it excluded, of the row's and the
    column's answers the one nearer the box's own offset is given (a box agreeing with either is coherent)."""
    result = np.empty((len(where), 2), dtype=np.float64)
    for index, point in enumerate(where):
        distance = np.linalg.norm(at - point, axis=1)
        own = distance < 1e-6
        if own.any() and not exclude_self:
            result[index] = offsets[int(np.argmax(own))]
            continue
        others = ~own
        answers = []
        row = others & (np.abs(at[:, 1] - point[1]) < SAME_LINE_MM)
        if row.any():
            answers.append(_median(offsets[row]))
        column = others & (np.abs(at[:, 0] - point[0]) < SAME_LINE_MM)
        if column.any():
            answers.append(_between(at[column, 1], offsets[column], float(point[1])))
        if not answers:
            nearest = np.argsort(np.where(others, distance, np.inf))[:NEIGHBOURS]
            answers.append(_median(offsets[nearest]))
        if exclude_self and own.any():
            mine = offsets[int(np.argmax(own))]
            answers.sort(key=lambda answer: float(np.linalg.norm(answer - mine)))
        result[index] = answers[0]
    return result


def _median(offsets: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each component's median (statistics, not np.median: its first call imports numpy.ma, 15 ms a worker)."""
    return np.array([statistics.median(offsets[:, 0]), statistics.median(offsets[:, 1])], dtype=np.float64)


def _between(ys: npt.NDArray[np.float64], offsets: npt.NDArray[np.float64], y: float) -> npt.NDArray[np.float64]:
    """The offset at ``y`` down a column: interpolated between the nearest found boxes above and below it, or the
    nearest one's where there is none on one side."""
    above, below = ys < y, ys > y
    if above.any() and below.any():
        upper, lower = np.flatnonzero(above)[np.argmax(ys[above])], np.flatnonzero(below)[np.argmin(ys[below])]
        share = (y - ys[upper]) / (ys[lower] - ys[upper])
        return np.asarray(offsets[upper] + share * (offsets[lower] - offsets[upper]), dtype=np.float64)
    return np.asarray(offsets[int(np.argmin(np.abs(ys - y)))], dtype=np.float64)


def _rows_found_again(
    image: Gray,
    matrix: npt.NDArray[np.float64],
    borders: BorderModel,
    found: dict[tuple[str, str], npt.NDArray[np.float64]],
) -> dict[tuple[str, str], npt.NDArray[np.float64]]:
    """Offsets (page mm, off ``matrix``) of the borders of rows none of whose borders was found near the fit, looked
    for again where the rows found above and below them say (:func:`_rows_between`), twice: a fax's feed that slipped
    between the marks and the table moves a band of rows further than the search reaches (tuning seed 127, fine fax
    page 8: four rows 1.3–2.6 mm past the fit, none found there, placed between the rows around them 1.3–1.7 mm short
    of where they are and asked `alignment`). A row is taken only where its borders found agree (within
    COHERENT_MM); else it stays where its neighbours say."""
    again: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    for _ in range(2):
        guesses = _rows_between(borders.layout, found | again)
        if not guesses:
            break
        outlines = [outline for outline in borders.all_outlines if outline.box in guesses]
        seen = _offsets_found(image, matrix, outlines, guesses)
        taken: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
        for row in borders.layout.rows:
            mine = {key: seen[key] for box in row.boxes if (key := (box.unit, box.option)) in seen}
            median = _median(np.array(list(mine.values()))) if mine else None
            if median is not None and all(float(np.hypot(*(o - median))) <= COHERENT_MM for o in mine.values()):
                taken |= mine
        if not taken:
            break
        again |= taken
    return again


def _rows_between(
    layout: Layout, found: Mapping[tuple[str, str], npt.NDArray[np.float64]]
) -> dict[tuple[str, str], tuple[float, float]]:
    """Per box of every row none of whose borders is in ``found``: where the rows found above and below it say (dx,
    dy mm off the fit: their median offsets interpolated down the page; the nearest one's at the table's edge).
    Empty where every row, or none, was found."""
    missed = [row for row in layout.rows if not any((box.unit, box.option) in found for box in row.boxes)]
    if not missed or len(missed) == len(layout.rows):  # the usual page: every row found, nothing more to do
        return {}
    rows_found = [
        (row.boxes[0].rect.center[1], _median(np.array(seen, dtype=np.float64)))
        for row in layout.rows
        if (seen := [found[key] for box in row.boxes if (key := (box.unit, box.option)) in found])
    ]  # (the row's y, its median offset), page mm
    ys = np.array([y for y, _ in rows_found], dtype=np.float64)
    moved = np.array([offset for _, offset in rows_found], dtype=np.float64)
    between: dict[tuple[str, str], tuple[float, float]] = {}
    for row in missed:
        dx, dy = _between(ys, moved, row.boxes[0].rect.center[1])
        between |= {(box.unit, box.option): (float(dx), float(dy)) for box in row.boxes}
    return between


def _local_offsets(
    layout: Layout, found: dict[tuple[str, str], npt.NDArray[np.float64]]
) -> dict[tuple[str, str], tuple[float, float]]:
    """Per box of every row found more than LOCAL_FIX_MM off the fit at one of its boxes: its border's offset
    (dx, dy mm), or the row's median where its border was not found. A row none of whose borders was found lies
    where the rows found above and below it say (:func:`_rows_between`), where that is more than LOCAL_FIX_MM off: a
    fax's feed moves every row below lost scan lines alike, and squeezed by them the row's own boxes may match no
    border (field fax 0009: the last row 1.5 mm up, beyond the scorer's search, its three boxes to a clerk)."""
    offsets: dict[tuple[str, str], tuple[float, float]] = {}
    for row in layout.rows:
        keys = [(box.unit, box.option) for box in row.boxes]
        seen = [found[key] for key in keys if key in found]
        if not seen or max(float(np.hypot(*offset)) for offset in seen) <= LOCAL_FIX_MM:
            continue
        median = _median(np.array(seen, dtype=np.float64))
        for key in keys:
            dx, dy = found.get(key, median)
            offsets[key] = (round(float(dx), 3), round(float(dy), 3))
    for key, (dx, dy) in _rows_between(layout, found).items():
        if float(np.hypot(dx, dy)) > LOCAL_FIX_MM:
            offsets[key] = (round(dx, 3), round(dy, 3))
    return offsets


def find_border(
    image: Gray, matrix: npt.NDArray[np.float64], outline: _Outline, *, stretched: bool = False
) -> npt.NDArray[np.float64] | None:
    """Image position (px) of the box centre whose border best matches, or None when no border is clear.
    ``stretched``: where none matches as drawn, the box is looked for drawn taller or shorter too (by each of
    :data:`~pipeline.reading.align.FEED_STRETCHES`): a feed that slipped draws a band of rows up to a tenth taller
    or shorter than the page's fit has them, and their borders match no template of the printed size (field faxes
    0003 and 0009: 0.38–0.57 as drawn, 0.79–0.96 a tenth taller or shorter)."""
    found = _best_border(image, matrix, outline)
    if found[0] >= MIN_PEAK or not stretched:
        return found[1] if found[0] >= MIN_PEAK else None
    y = outline.centre[1]
    for stretch in FEED_STRETCHES:
        about_centre = np.array([[1.0, 0.0, 0.0], [0.0, stretch, y * (1.0 - stretch)], [0.0, 0.0, 1.0]])
        found = max(found, _best_border(image, matrix @ about_centre, outline), key=lambda peak: peak[0])
    return found[1] if found[0] >= MIN_PEAK else None


def _best_border(
    image: Gray, matrix: npt.NDArray[np.float64], outline: _Outline
) -> tuple[float, npt.NDArray[np.float64]]:
    """How well the best match of ``outline``'s border near where ``matrix`` puts it matches, and the image
    position (px) of its box centre."""
    scale = 1.0 / PX_PER_MM
    to_mm = np.array([[scale, 0.0, outline.origin[0]], [0.0, scale, outline.origin[1]], [0.0, 0.0, 1.0]])
    patch = cv2.warpPerspective(
        image,
        matrix @ to_mm,
        (outline.size, outline.size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    # The template is printed darkness; the normalised coefficient with the scan's darkness is minus the one
    # with its grey levels, whatever the paper's level.
    response = -np.asarray(cv2.matchTemplate(patch, outline.template, cv2.TM_CCOEFF_NORMED), dtype=np.float32)
    _, peak, _, (px, py) = cv2.minMaxLoc(response)
    dx, dy = _subpixel(response, px, py), _subpixel(response.T, py, px)
    search = (response.shape[0] - 1) / 2
    shift = np.array([(px + dx - search) / PX_PER_MM, (py + dy - search) / PX_PER_MM])
    centre = np.array(outline.centre) + shift
    return float(peak), np.asarray(cv2.perspectiveTransform(centre.reshape(1, 1, 2), matrix).reshape(2), np.float64)


def _subpixel(response: npt.NDArray[Any], x: int, y: int) -> float:
    """Parabola vertex through the peak and its two horizontal neighbours (−0.5…0.5 px)."""
    if x <= 0 or x >= response.shape[1] - 1:
        return 0.0
    left, centre, right = (float(v) for v in response[y, x - 1 : x + 2])
    curvature = left - 2 * centre + right
    return 0.0 if curvature >= 0 else max(-0.5, min(0.5, 0.5 * (left - right) / curvature))
