"""Grid: answer places grouped into rows and option columns, wherever they stand on the page.

1. *Lines*: places of one kind and size whose centres lie on one line (each within :data:`ROW_SHARE` of its
   size from a neighbour, so a slightly curved or turned row stays one line).
2. *Hidden places*: along each line, an outline printed like the line's others is looked for
   (:class:`pipeline.forms.places.OutlineProbe`): a mark inside a box hides its hole, not its outline. Only a
   thin outline alike in size counts there, never text.
3. *Rows*: a line is cut where the gap between two places is far wider than its narrowest (two questions
   side by side, two tables); a row needs two places at least (a lone box is a yes/no tick, not a choice).
4. *Blocks*: rows whose places stand in the same columns are one block, top to bottom (a Likert grid, a table
   of □, questions one under another with the same five boxes). Where a row has no place in one of the
   block's columns, its outline is looked for where the column crosses the row, more leniently (the grid says
   it is there); a row that still lacks one starts a block of its own. A block most of whose places were
   found only by their outline is hand-drawn rings round printed boxes, not print: it is dropped.

What the places mean (which row is which unit, which column which option) is read around them by
:mod:`pipeline.forms.proposal`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.common.grouping import connected_groups
from pipeline.forms.places import InkMap, OutlineProbe, Place

ROW_SHARE = 0.45  # of a place's size: how far (vertically) a neighbour's centre may be and still share its line
ALIKE = 1.3  # the largest size ratio of two places of one line or column
GAP_FACTOR = 2.6  # a gap this many times the row's narrowest one separates two groups of places (one
# place hidden in a row whose pitch varies by a quarter leaves 2.5)
MIN_SEEN = 0.5  # share of a block's places seen as clean outlines: fewer, and the block is marks, not print
COLUMN_SHARE = 0.6  # of a place's size, at least COLUMN_MM: how far a place may be from its column's line
COLUMN_MM = 1.0
FREE_OUTLINE = 0.75  # share of a thin outline printed where a line's pitch puts a place (or beside a lone one)
GRID_OUTLINE = 0.85  # share of an outline, thin or not, where a block's column crosses a row
PITCH_SLACK = 0.25  # a place one pitch from another is looked for this close to there (share of the pitch)
NEW_COLUMNS = 1.5  # pitches beyond a block's columns that a row may add one (its first rows' end box marked)
SEARCH_SHARE = 0.3  # of a place's size: how far around the grid's spot its outline is looked for
ALONE_SHARE = 0.6  # of its size: paper on either side of a hidden bubble (letters have their word beside them)


@dataclass(frozen=True)
class Block:
    """Rows of places standing in the same columns: ``rows[r][c]`` is row r's place in column c."""

    rows: tuple[tuple[Place, ...], ...]

    @property
    def columns(self) -> tuple[float, ...]:
        """Each column's x centre (px), the median over its rows."""
        return tuple(_column_xs(list(self.rows)))

    @property
    def rect(self) -> tuple[float, float, float, float]:
        places = [place for row in self.rows for place in row]
        return (
            min(p.rect[0] for p in places),
            min(p.rect[1] for p in places),
            max(p.rect[2] for p in places),
            max(p.rect[3] for p in places),
        )

    @property
    def hidden(self) -> int:
        """How many of its places were found only by their outline (under a mark, perhaps)."""
        return sum(not place.seen for row in self.rows for place in row)


def find_blocks(places: Sequence[Place], ink: InkMap, px_per_mm: float) -> list[Block]:
    """The blocks of answer places on a page, top to bottom, hidden places included."""
    lines = _merged([_completed(line, ink) for line in _lines(places)])
    rows = [row for line in lines for row in _cut(line) if len(row) >= 2]
    blocks: list[list[tuple[Place, ...]]] = []
    for row in sorted(rows, key=lambda r: min(p.centre[1] for p in r)):
        for index, block in enumerate(blocks):
            joined = _joined(block, row, ink, px_per_mm)
            if joined is not None:
                blocks[index] = joined
                break
        else:
            blocks.append([row])
    found = [Block(tuple(sorted(block, key=lambda row: min(p.centre[1] for p in row)))) for block in blocks]
    return [block for block in found if block.hidden <= (1 - MIN_SEEN) * len(block.rows) * len(block.rows[0])]


def alike(a: Place, b: Place) -> bool:
    """Two places of one kind and about one size (they may share a line or a column)."""
    return a.kind == b.kind and max(a.size, b.size) <= ALIKE * min(a.size, b.size)


def _lines(places: Sequence[Place]) -> list[list[Place]]:
    """Places on one line (alike, each near a neighbour's height), left to right."""

    def joined(i: int, j: int) -> bool:
        a, b = places[i], places[j]
        return alike(a, b) and abs(a.centre[1] - b.centre[1]) <= ROW_SHARE * min(a.size, b.size)

    groups = [[places[index] for index in group] for group in connected_groups(len(places), joined)]
    return [sorted(group, key=lambda place: place.centre[0]) for group in groups]


def _merged(lines: list[list[Place]]) -> list[list[Place]]:
    """Lines that share a place made one (a marked box seen as a smaller hole starts a line of its own, which
    its completion runs along the same boxes): each place once, as seen where either saw it."""
    merged: list[list[Place]] = []
    for line in sorted(lines, key=lambda places: -sum(place.seen for place in places)):
        home = next((other for other in merged if any(_same(a, b) for a in line for b in other)), None)
        if home is None:
            merged.append(list(line))
            continue
        for place in line:
            if not any(_same(place, other) for other in home):
                home.append(place)
        home.sort(key=lambda place: place.centre[0])
    return merged


def _same(a: Place, b: Place) -> bool:
    """Two findings of one place: centres closer than half the smaller one's size."""
    reach = min(a.size, b.size) / 2
    return abs(a.centre[0] - b.centre[0]) < reach and abs(a.centre[1] - b.centre[1]) < reach


def _typical(places: Sequence[Place]) -> Place:
    """The place of median size: the one others are compared with."""
    return sorted(places, key=lambda place: place.size)[len(places) // 2]


def _completed(line: list[Place], ink: InkMap) -> list[Place]:
    """``line`` with the thin outlines printed alike where its places are missing (boxes marked inside, which
    their hole hides): in a gap about twice as wide as the narrowest, one step beyond either end; along the
    whole line beside a lone place."""
    like = _typical(line)
    probe = OutlineProbe(ink, like)
    slope, offset = _line_fit(line)
    found = list(line)
    if len(line) == 1:
        spots = np.arange(like.size / 2, ink.ink.shape[1] - like.size / 2, max(1.0, like.stroke / 2))
        reach = like.size * SEARCH_SHARE / 2
    else:
        xs = [place.centre[0] for place in line]
        pitch = float(min(np.diff(xs)))
        spots = np.array(
            [xs[0] - pitch, xs[-1] + pitch]
            + [
                a + (b - a) * k / round((b - a) / pitch)
                for a, b in itertools.pairwise(xs)
                for k in range(1, round((b - a) / pitch))
            ]
        )
        reach = PITCH_SLACK * pitch
    # One look at every spot first (a few thousand along a line): the best spots are then searched around.
    shifts = np.arange(-2.0, 2.5, 1.0)
    grid = np.array([(x, slope * x + offset + dy) for x in spots.tolist() for dy in shifts])
    rough = probe.shares(grid).reshape(len(spots), len(shifts)).max(axis=1) if len(spots) else np.zeros(0)
    for index in np.argsort(-rough).tolist():
        if rough[index] < FREE_OUTLINE / 2:
            break
        x = float(spots[index])
        if any(abs(x - place.centre[0]) < like.size for place in found):
            continue
        centre = _best(probe, (x, slope * x + offset), reach, thin=True)
        if (
            centre is not None
            and (like.kind == "square" or _alone(ink, like, centre))
            and not any(abs(centre[0] - place.centre[0]) < like.size for place in found)
        ):
            found.append(_moved(like, centre))
    return sorted(found, key=lambda place: place.centre[0])


def _line_fit(places: Sequence[Place]) -> tuple[float, float]:
    """Slope and offset of the line through the places' centres (level through a lone one)."""
    xs = np.array([place.centre[0] for place in places])
    ys = np.array([place.centre[1] for place in places])
    if len(places) < 2 or np.ptp(xs) == 0:
        return 0.0, float(ys.mean())
    slope, offset = np.polyfit(xs, ys, 1)
    return float(slope), float(offset)


def _best(
    probe: OutlineProbe, around: tuple[float, float], reach: float, *, thin: bool, least: float = FREE_OUTLINE
) -> tuple[float, float] | None:
    """Where within ``reach`` of ``around`` the outline is printed best, if at least ``least`` of it."""
    offsets = np.arange(-reach, reach + 0.5, 1.0)
    centres = np.array([(around[0] + dx, around[1] + dy) for dx in offsets for dy in offsets])
    shares = probe.shares(centres, thin=thin)
    top = float(shares.max())
    if top < least or top == 0:
        return None
    # Many spots a pixel or two apart score alike (the outline's reach): their middle is the outline's.
    middle = centres[shares >= top - 1e-9].mean(axis=0)
    return float(middle[0]), float(middle[1])


def _alone(ink: InkMap, like: Place, centre: tuple[float, float]) -> bool:
    """Paper on the left and right of a bubble at ``centre`` (a letter o or e has its word beside it)."""
    half, gap = like.size / 2, ALONE_SHARE * like.size
    top, bottom = round(centre[1] - half), round(centre[1] + half)
    left = ink.ink[max(0, top) : bottom, max(0, round(centre[0] - half - gap)) : max(0, round(centre[0] - half - 2))]
    right = ink.ink[max(0, top) : bottom, round(centre[0] + half + 2) : round(centre[0] + half + gap)]
    return not left.any() and not right.any()


def _moved(like: Place, centre: tuple[float, float]) -> Place:
    x0, y0, x1, y1 = like.rect
    dx, dy = centre[0] - (x0 + x1) / 2, centre[1] - (y0 + y1) / 2
    return replace(like, rect=(x0 + dx, y0 + dy, x1 + dx, y1 + dy), seen=False)


def _cut(line: list[Place]) -> list[tuple[Place, ...]]:
    """``line`` cut where a gap is far wider than its usual one."""
    if len(line) < 3:
        return [tuple(line)]
    gaps = np.diff([place.centre[0] for place in line])
    usual = float(gaps.min())  # the pitch: wider gaps may be marked boxes left unfound, so not the median
    parts, start = [], 0
    for index, gap in enumerate(gaps.tolist(), start=1):
        if gap > GAP_FACTOR * usual:
            parts.append(tuple(line[start:index]))
            start = index
    parts.append(tuple(line[start:]))
    return parts


def _column_xs(rows: list[tuple[Place, ...]]) -> list[float]:
    return [float(np.median([row[c].centre[0] for row in rows])) for c in range(len(rows[0]))]


def _joined(
    block: list[tuple[Place, ...]], row: tuple[Place, ...], ink: InkMap, px_per_mm: float
) -> list[tuple[Place, ...]] | None:
    """``block`` with ``row`` added when it stands in the same columns: the columns of both, each row with a
    place in every one (its outline found where the column crosses it); None when the row does not fit."""
    if not alike(_typical(block[0]), _typical(row)):
        return None
    reach = max(COLUMN_SHARE * row[0].size, COLUMN_MM * px_per_mm)
    present = _column_xs(block)
    pitch = float(min(np.diff(present))) if len(present) > 1 else 0.0
    slack = reach + NEW_COLUMNS * pitch
    if any(not present[0] - slack <= place.centre[0] <= present[-1] + slack for place in row):
        return None  # beside the block: a row under it stands within its columns (or one beyond them)
    columns = _merged_columns([*present, *(place.centre[0] for place in row)], reach)
    rows = [*block, row]
    twin = next((other for other in block if any(_same(a, b) for a in row for b in other)), None)
    if twin is not None:  # two parts of one line cut apart: one row
        union = [*twin, *(place for place in row if not any(_same(place, other) for other in twin))]
        rows = [*(other for other in block if other is not twin), tuple(sorted(union, key=lambda p: p.centre[0]))]
    completed = []
    for r in rows:
        full = _in_columns(r, columns, reach, ink)
        if full is None:
            return None
        completed.append(full)
    return completed


def _merged_columns(xs: list[float], reach: float) -> list[float]:
    """Column centres: ``xs`` sorted and joined where closer than ``reach``."""
    groups: list[list[float]] = []
    for x in sorted(xs):
        if groups and x - groups[-1][-1] <= reach:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [float(np.median(group)) for group in groups]


def _in_columns(row: tuple[Place, ...], columns: list[float], reach: float, ink: InkMap) -> tuple[Place, ...] | None:
    """``row`` with one place per column (found by its outline where missing), or None."""
    placed: list[Place | None] = [None] * len(columns)
    for place in row:
        distances = [abs(place.centre[0] - x) for x in columns]
        column = int(np.argmin(distances))
        if distances[column] > reach or placed[column] is not None:
            return None
        placed[column] = place
    like = _typical(row)
    probe = OutlineProbe(ink, like)
    slope, offset = _line_fit(row)
    for column, x in enumerate(columns):
        if placed[column] is None:
            centre = _best(probe, (x, slope * x + offset), SEARCH_SHARE * like.size, thin=False, least=GRID_OUTLINE)
            if centre is None:
                return None
            placed[column] = _moved(like, centre)
    return tuple(place for place in placed if place is not None)
