"""Page lines: straight lines that run the length of the page and are nobody's mark.

Dirty scanner glass draws a line down every page fed past it, through the margins, the rules and every row; a
ballot folded to fit the box and unfolded leaves a crease whose shadow crosses the whole sheet. Neither is a
voter's: no voter draws a ruler-straight line from one edge of the sheet to the other. They are found once per
page, on the sheet brought upright at :data:`~pipeline.reading.check.LINES_PX_PER_MM` (the check stage's view),
as straight runs of faint or dark ink the template does not print, near a page axis, out in a margin past the
table's rows (:data:`BEYOND_MM`) and on one straight course through all of them (:data:`SUPPORT`): a voter's line
down a column of boxes stays inside the table, and a rule of the table's own is not one even where a curled sheet
shows it a little off its place.

The scorer then takes such a line for print, not ink, in every box it crosses (:mod:`pipeline.reading.score.row`)
— unless it is dark and wide enough to hide a mark there (:func:`PageLine.could_hide_a_mark`): then it is left
as ink, and the box's row goes to a clerk as a line through a box, as before.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.common.imaging import Gray
from pipeline.reading.model import BallotModel

PAPER_MM = 5.0  # the paper's own grey is judged over this far around each pixel …
PAPER_PX_PER_MM = 1.0  # … at this resolution
LINE_CONTRAST = 6  # grey levels darker than the paper around for a pixel to be part of a line: a crease
RUN_MM = 6.0  # a line is found as straight runs this long (a slant of 5° still holds one pixel over it)
SAME_PLACE_MM = 4.0  # runs closer than this side by side are one line (a slanted streak breaks into steps)
BEYOND_MM = 5.0  # a page line shows at least this far past the table's rows at one end (in a margin) …
SUPPORT = 0.6  # … and shows over this share of its course through the rows where nothing is printed …
RIDGE = 3  # … darker by this many grey levels on its course than …
RIDGE_SIDE_PX = 3  # … this far either side (1 mm)
# A sheet photographed curled, its crease seen through a flat page's fit, bends off a straight course: a line seen in
# both margins is also tried bent (a parabola), taken so where more of its course shows it, no more than this far
# off straight (the farthest a curled page's boxes may lie off its fit: reading.yaml's alignment.max_residual_mm).
BEND_MM = 1.6
HIDDEN_COURSE = 0.3  # a course this little of which is free of print (along a rule) is judged by its margins
PRINT_MARGIN_MM = 1.0  # the template's own print, widened this much, is never a page line
EDGE_MM = 8.0  # nearer the page's edge lies the paper's own edge (or the scanner lid's), and no box
HIDES_MM = 2.0  # a line this wide and as dark as a firm stroke could hide a mark under it
FIRM = 0.17  # the darkness (share of the printed black) of a firm stroke: reading.yaml's marks.firm
MIN_BLACK = 40.0  # grey levels: the darkest a page's print is taken to be, however faint it came out
# A crease in soft light may stay under LINE_CONTRAST everywhere, yet show as a ridge (RIDGE) along one straight
# course from a margin through the rows: each such course is tried, in pieces across the table (FAINT_PIECES), each
# free to lie a pixel off (the course drifting up to FAINT_DRIFT_MM over the page's width, a sheet a little turned).
FAINT_PIECES = 6
FAINT_DRIFT_MM = 2.0
MARGIN_SEEN_MM = 3.0  # … and over at least this much free paper in a margin past the rows (BEYOND_MM)
# Run pixels gathered as one line lie in two lines side by side where those either side of its course lie this far
# apart (their middles) along a shared stretch this long (:func:`_straight`); a group is split at most this often.
SIDE_BY_SIDE_MM = 1.5
OVERLAP_MM = 10.0
SPLIT_DEPTH = 3
MIDDLE_MM = 150.0  # two lines are one where their courses lie within SAME_PLACE_MM of each other here (mid-page)


@dataclass(frozen=True)
class PageLine:
    """A line across the page, in page mm: ``vertical`` (x = course(y)) or horizontal (y = course(x)), ``course``
    a polynomial's coefficients, highest power first (straight, or bent a little where a curled sheet's crease
    was photographed: :data:`BEND_MM`), its half width, and its darkness as a share of the printed black's."""

    vertical: bool
    course: tuple[float, ...]
    half_width_mm: float
    darkness: float

    def could_hide_a_mark(self) -> bool:
        return 2 * self.half_width_mm >= HIDES_MM and self.darkness >= FIRM

    def distance_mm(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """How far each point (page mm) lies from the line's centre, across it."""
        return np.asarray(np.abs(self.offset_mm(xs, ys)), dtype=np.float32)

    def offset_mm(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """How far each point (page mm) lies from the line's centre, across it, right of or below it positive."""
        along, across = (ys, xs) if self.vertical else (xs, ys)
        return np.asarray(across - np.polyval(self.course, along), dtype=np.float32)


def printed_of(model: BallotModel, px_per_mm: float) -> np.ndarray:
    """Where the template prints anything, widened by PRINT_MARGIN_MM, at ``px_per_mm`` (once per template)."""

    def build() -> np.ndarray:
        blank = model.blank
        factor = px_per_mm / (blank.shape[1] / model.layout.page_w)
        size = (round(blank.shape[1] * factor), round(blank.shape[0] * factor))
        small = cv2.resize(blank, size, interpolation=cv2.INTER_AREA)
        radius = max(1, round(PRINT_MARGIN_MM * px_per_mm))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        return np.asarray(cv2.dilate((small < 200).astype(np.uint8), kernel) > 0)

    return model.derived(f"lines.printed.{px_per_mm}", build)


def page_lines(
    upright: Gray, px_per_mm: float, printed: np.ndarray, table: tuple[float, float, float, float]
) -> tuple[PageLine, ...]:
    """The page lines of a sheet brought upright at ``px_per_mm`` (``printed``: :func:`printed_of`; ``table``:
    the left, top, right and bottom of the template's rows, mm)."""
    # The paper around each pixel: a median over PAPER_MM, which print and thin lines (less than half of any
    # window, even in the table) do not move, as they would a mean. Paper is smooth: the median is taken at
    # PAPER_PX_PER_MM and spread back (a median this wide at 3 px/mm took 17 ms a page, a third of its reading).
    height, width = upright.shape
    coarse = cv2.resize(
        upright, None, fx=PAPER_PX_PER_MM / px_per_mm, fy=PAPER_PX_PER_MM / px_per_mm, interpolation=cv2.INTER_AREA
    )
    level = cv2.medianBlur(coarse, round(PAPER_MM * PAPER_PX_PER_MM) | 1)
    paper = cv2.resize(level, (width, height), interpolation=cv2.INTER_LINEAR)
    # How much darker than its paper each pixel is, 0 where lighter: a saturating subtraction (through int16 and
    # np.clip, the same values took 1.3 ms a page).
    dark = np.asarray(cv2.subtract(paper, upright), dtype=np.uint8)
    candidate = ((dark > LINE_CONTRAST) & ~printed).astype(np.uint8)
    edge = round(EDGE_MM * px_per_mm)  # the paper's own edge, a shadow or the lid beside it: no line of the page
    candidate[:, :edge], candidate[:, -edge:], candidate[:edge], candidate[-edge:] = 0, 0, 0, 0
    run = round(RUN_MM * px_per_mm)
    black: float | None = None
    found = []
    for vertical in (True, False):
        if not candidate.any():
            break
        start, end = (table[1], table[3]) if vertical else (table[0], table[2])
        rows = (start * px_per_mm, end * px_per_mm)
        kernel = np.ones((run, 1) if vertical else (1, run), np.uint8)
        runs = cv2.morphologyEx(candidate, cv2.MORPH_OPEN, kernel)
        beyond = BEYOND_MM * px_per_mm
        if not _reaches_a_margin(runs, vertical, rows, beyond):
            continue  # the usual page: no straight run out in a margin, so no line across the page
        for ys, xs in _straight(_gathered(runs, vertical, SAME_PLACE_MM * px_per_mm), vertical, px_per_mm):
            along = ys if vertical else xs
            if along.min() > rows[0] - beyond and along.max() < rows[1] + beyond:
                continue  # inside the table only: a voter's line down a column, a rule shown off its place
            across = (xs if vertical else ys).astype(np.float64)
            fitted = np.polyfit(along.astype(np.float64), across, 1)
            shown, free = _support(dark, printed, fitted, vertical, rows)
            # Along a rule of the table's own (a fold creased beside it) its course is hidden by print: seen in
            # the margins at both ends, it is one line across the page all the same.
            both_margins = along.min() <= rows[0] - beyond and along.max() >= rows[1] + beyond
            if both_margins:  # a course known at both ends: bent, if it follows the line better so
                bent = _bent(along.astype(np.float64), across, fitted, rows, BEND_MM * px_per_mm)
                if bent is not None:
                    bent_shown, bent_free = _support(dark, printed, bent, vertical, rows)
                    if bent_shown > shown:
                        fitted, shown, free = bent, bent_shown, bent_free
            if shown < SUPPORT and not (free < HIDDEN_COURSE and both_margins):
                continue  # runs in a margin, but no line through the rows: not one line across the page
            black = _printed_black(dark, printed) if black is None else black
            found.append(_line((ys, xs), fitted, dark, black, vertical, px_per_mm))
    # Lines too faint for the runs above, found along their whole course; a line found both ways is kept once.
    for vertical in (True, False):
        known = [np.polyval(line.course, MIDDLE_MM) for line in found if line.vertical == vertical]
        for pixels, fitted in _faint(dark, printed, table, px_per_mm, vertical):
            black = _printed_black(dark, printed) if black is None else black
            line = _line(pixels, fitted, dark, black, vertical, px_per_mm)
            if all(abs(np.polyval(line.course, MIDDLE_MM) - place) > SAME_PLACE_MM for place in known):
                found.append(line)
    return tuple(found)


def _faint(
    dark: np.ndarray, printed: np.ndarray, table: tuple[float, float, float, float], px_per_mm: float, vertical: bool
) -> list[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]:
    """Lines across the page too faint to pass LINE_CONTRAST (a crease photographed in soft light), found as
    straight courses along which the paper is darker by RIDGE than RIDGE_SIDE_PX either side: over SUPPORT of
    their free course through the rows and of at least MARGIN_SEEN_MM of a margin past them. Each line's pixels
    (ys, xs, within a pixel of its course) and its course (across = polyval(fitted, along), pixels)."""
    across_axis, along_axis = (1, 0) if vertical else (0, 1)
    edge = round(EDGE_MM * px_per_mm)  # the paper's own edge
    height, width = (dark.shape[1], dark.shape[0]) if vertical else dark.shape  # across, along
    start, end = (table[1], table[3]) if vertical else (table[0], table[2])
    low, high = round(start * px_per_mm), round(end * px_per_mm)
    beyond = round(BEYOND_MM * px_per_mm)
    cuts = [edge, max(edge, low - beyond), *np.linspace(low, high, FAINT_PIECES + 1).round().astype(int)]
    cuts += [max(high, min(width - edge, high + beyond)), width - edge]
    pieces = list(itertools.pairwise(cuts))
    margins = (0, len(pieces) - 1)
    enough_margin = MARGIN_SEEN_MM * px_per_mm
    # The ridge is judged across the page, so a margin's piece alone shows it as the whole page would: the usual
    # page has none along enough of either margin, at any place or drift, and is done with after those two pieces.
    if not any(_margin_seen(dark, printed, pieces[piece], across_axis, edge, enough_margin) for piece in margins):
        return []
    shown, free, seen = _ridge_seen(dark, printed, across_axis, edge, (across_axis, along_axis))
    seen_count, free_count = (_piece_counts(where, cuts, along_axis) for where in (seen, free))
    centres = np.array([(a + b) / 2 for a, b in pieces]) - width / 2
    through = slice(2, 2 + FAINT_PIECES)  # pieces 0-1: the near margin and the gap; then the rows; then gap, margin
    drift_px = round(FAINT_DRIFT_MM * px_per_mm)
    candidates = []
    # Every other drift: a pixel's tolerance either side (``near``) covers the one between.
    for drift in range(-drift_px, drift_px + 1, 2):
        offsets = np.round(drift * centres / width).astype(int)
        moved_seen = np.zeros_like(seen_count)
        moved_free = np.zeros_like(free_count)
        for piece, offset in enumerate(offsets):
            lo, hi = max(0, -offset), min(height, height - offset)
            moved_seen[lo:hi, piece] = seen_count[lo + offset : hi + offset, piece]
            moved_free[lo:hi, piece] = free_count[lo + offset : hi + offset, piece]
        course_free = moved_free[:, through].sum(axis=1)
        support = moved_seen[:, through].sum(axis=1) / np.maximum(course_free, 1)
        in_margin = np.zeros(height, dtype=bool)
        for piece in margins:
            in_margin |= (moved_free[:, piece] >= enough_margin) & (
                moved_seen[:, piece] >= SUPPORT * moved_free[:, piece]
            )
        good = (support >= SUPPORT) & (course_free >= HIDDEN_COURSE * (high - low)) & in_margin
        candidates += [(float(support[at]), int(at), drift) for at in np.flatnonzero(good)]
    lines: list[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]] = []
    taken: list[float] = []
    for _, at, drift in sorted(candidates, reverse=True):
        if any(abs(at - other) <= SAME_PLACE_MM * px_per_mm for other in taken):
            continue
        taken.append(at)
        # The course tried (across = at + drift · (along − width / 2) / width), then refitted through the ridge's
        # own pixels within a pixel of it.
        along = np.arange(width)
        course = np.rint(at + drift * (along - width / 2) / width).astype(int)
        ys = np.concatenate([course + step for step in (-1, 0, 1)])
        xs = np.concatenate([along] * 3)
        inside = (ys >= 0) & (ys < height)
        ys, xs = ys[inside], xs[inside]
        pixels = (xs, ys) if vertical else (ys, xs)
        on = shown[pixels] & free[pixels]
        ys, xs = ys[on], xs[on]
        fitted = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)
        lines.append(((xs, ys) if vertical else (ys, xs), fitted))
    return lines


def _ridge(dark: np.ndarray, printed: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Where ``dark`` is darker by RIDGE than RIDGE_SIDE_PX either side across ``axis``, and where neither the pixel
    nor those beside it are print."""
    side = RIDGE_SIDE_PX
    size = dark.shape[axis]

    def cut(start: int, stop: int) -> tuple[slice, slice]:
        return (slice(start, stop), slice(None)) if axis == 0 else (slice(None), slice(start, stop))

    middle, before, after = cut(side, size - side), cut(0, size - 2 * side), cut(2 * side, size)
    shown = np.zeros(dark.shape, dtype=bool)
    shown[middle] = cv2.subtract(dark[middle], cv2.max(dark[before], dark[after])) >= RIDGE
    free = np.zeros(dark.shape, dtype=bool)
    free[middle] = ~(printed[middle] | printed[before] | printed[after])
    return shown, free


def _ridge_seen(
    dark: np.ndarray, printed: np.ndarray, across_axis: int, edge: int, edges: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_ridge` across ``across_axis`` (shown, free: free paper no nearer than ``edge`` to the image's ends
    along each axis of ``edges``: the page's own edges), and where a course within a pixel of a ridge pixel runs over
    free paper (seen)."""
    shown, free = _ridge(dark, printed, across_axis)
    for axis in edges:
        for side in (slice(None, edge), slice(-edge, None)):
            cut: list[slice] = [slice(None)] * 2
            cut[axis] = side
            free[tuple(cut)] = False
    near = shown.copy()  # within a pixel of the course
    ahead, behind = [slice(None)] * 2, [slice(None)] * 2
    ahead[across_axis], behind[across_axis] = slice(1, None), slice(None, -1)
    near[tuple(ahead)] |= shown[tuple(behind)]
    near[tuple(behind)] |= shown[tuple(ahead)]
    return shown, free, near & free


def _margin_seen(
    dark: np.ndarray, printed: np.ndarray, piece: tuple[int, int], across_axis: int, edge: int, enough_margin: float
) -> bool:
    """Whether a course at any place across the page shows the ridge over SUPPORT of at least ``enough_margin``
    free pixels of the margin ``piece`` (from, to along the page): what :func:`_faint` asks of a line in a margin,
    at whatever drift (a drift moves a course's margin piece across, not its counts)."""
    start, stop = piece
    if stop <= start:
        return False
    along: list[slice] = [slice(None)] * 2
    along[1 - across_axis] = slice(start, stop)  # the margin's piece (inside the page's edges along the course)
    _, free, seen = _ridge_seen(dark[tuple(along)], printed[tuple(along)], across_axis, edge, (across_axis,))
    seen_count = seen.sum(axis=1 - across_axis, dtype=np.int32)
    free_count = free.sum(axis=1 - across_axis, dtype=np.int32)
    return bool(((free_count >= enough_margin) & (seen_count >= SUPPORT * free_count)).any())


def _piece_counts(where: np.ndarray, cuts: list[int], axis: int) -> np.ndarray:
    """How many pixels of ``where`` lie in each piece between consecutive ``cuts`` along ``axis``, for every place
    across it: (places, pieces)."""
    counts = np.add.reduceat(where.view(np.uint8), cuts[:-1], axis=axis, dtype=np.int32)
    counts = counts if axis == 1 else counts.T
    empty = np.diff(cuts) <= 0
    counts[:, empty] = 0
    # The last piece runs to cuts[-1], not to the image's end.
    last = [slice(None)] * 2
    last[axis] = slice(cuts[-1], None)
    counts[:, -1] -= where[tuple(last)].sum(axis=axis, dtype=np.int32) if not empty[-1] else 0
    return np.asarray(counts)


def _bent(
    along: np.ndarray, across: np.ndarray, straight: np.ndarray, rows: tuple[float, float], limit_px: float
) -> np.ndarray | None:
    """A parabola through the run pixels, where it stays within ``limit_px`` of the ``straight`` course over the
    rows; else None."""
    bent = np.polyfit(along, across, 2)
    course = np.linspace(rows[0], rows[1], 16)
    if np.abs(np.polyval(bent, course) - np.polyval(straight, course)).max() > limit_px:
        return None
    return np.asarray(bent)


def _reaches_a_margin(runs: np.ndarray, vertical: bool, rows: tuple[float, float], beyond: float) -> bool:
    """Any straight run at all in the margin past the table's rows (the cheap test most pages stop at)."""
    low, high = max(0, int(rows[0] - beyond)), int(rows[1] + beyond)
    if vertical:
        return bool(runs[:low].any() or runs[high:].any())
    return bool(runs[:, :low].any() or runs[:, high:].any())


def _gathered(runs: np.ndarray, vertical: bool, same_place_px: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pixels (ys, xs) of runs gathered by their place across the page, one group per line."""
    # Labels only (statistics over the whole image cost ten times as much), then each run's place from its pixels.
    count, labels = cv2.connectedComponents(runs, connectivity=8)
    ys, xs = np.nonzero(runs)
    label = labels[ys, xs]
    across = xs if vertical else ys
    place = np.bincount(label, weights=across, minlength=count) / np.maximum(np.bincount(label, minlength=count), 1)
    groups: list[list[int]] = []
    previous = -np.inf
    for run in sorted(range(1, count), key=lambda run: place[run]):
        if groups and place[run] - previous <= same_place_px:
            groups[-1].append(run)
        else:
            groups.append([run])
        previous = place[run]
    found = []
    for group in groups:
        chosen = np.isin(label, group)
        found.append((ys[chosen], xs[chosen]))
    return found


def _straight(
    groups: list[tuple[np.ndarray, np.ndarray]], vertical: bool, px_per_mm: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The groups of run pixels, each split where it holds two lines side by side: runs are gathered by their place
    across the page step by step, so two streaks a few millimetres apart gather into one group, and a course fitted
    through both runs between them, over neither (held-out 1011, a damaged scan: two streaks taken for one line
    half-way between, one of them left as ink in a box, the row read as an overvote). A group whose pixels either
    side of its fitted course lie SIDE_BY_SIDE_MM apart or more (the middles of each side's offsets), both sides along
    the same stretch of the page for OVERLAP_MM or more, is two lines: a line as wide as HIDES_MM has its halves 1 mm
    apart, a crease bent 3 mm across a curled page (see BEND_MM) its sides 1.2 mm, and a line that steps aside (a
    fax's feed slipping) has its two parts along different stretches."""
    found: list[tuple[np.ndarray, np.ndarray]] = []
    pending = [(group, 0) for group in groups]
    while pending:
        (ys, xs), depth = pending.pop()
        along, across = (ys, xs) if vertical else (xs, ys)
        if depth >= SPLIT_DEPTH or np.ptp(along) < OVERLAP_MM * px_per_mm:
            found.append((ys, xs))
            continue
        off = across - np.polyval(np.polyfit(along.astype(np.float64), across.astype(np.float64), 1), along)
        left = off < 0
        if left.all() or not left.any():
            found.append((ys, xs))
            continue
        apart = float(np.median(off[~left]) - np.median(off[left]))
        shared = min(along[left].max(), along[~left].max()) - max(along[left].min(), along[~left].min())
        if apart < SIDE_BY_SIDE_MM * px_per_mm or shared < OVERLAP_MM * px_per_mm:
            found.append((ys, xs))
            continue
        pending += [((ys[part], xs[part]), depth + 1) for part in (left, ~left)]
    return found


def _support(
    dark: np.ndarray, printed: np.ndarray, fitted: np.ndarray, vertical: bool, rows: tuple[float, float]
) -> tuple[float, float]:
    """The share of the fitted line's course through the table's rows, where the template prints nothing, that
    shows it: darker (by RIDGE grey levels) on its course, within a pixel, than a millimetre either side (a faint
    crease shows so where it is too faint to stand out from the paper as ink); and the share of its course where
    the template prints nothing there or beside it."""
    along = np.arange(max(0, int(rows[0])), int(rows[1]) + 1)
    across = np.rint(np.polyval(fitted, along)).astype(np.intp)
    side = RIDGE_SIDE_PX
    limit = dark.shape[1] if vertical else dark.shape[0]
    inside = (across >= side) & (across < limit - side)
    along, across = along[inside], across[inside]
    image = dark.astype(np.int16) if vertical else dark.T.astype(np.int16)
    mask = printed if vertical else printed.T
    on = np.maximum.reduce([image[along, across + offset] for offset in (-1, 0, 1)])
    beside = np.maximum(image[along, across - side], image[along, across + side])
    free = ~(mask[along, across] | mask[along, across - side] | mask[along, across + side])
    shown = on - beside >= RIDGE
    free_count = int(np.count_nonzero(free))
    return float(np.count_nonzero(shown & free)) / max(1, free_count), free_count / max(1, along.size)


def _printed_black(dark: np.ndarray, printed: np.ndarray) -> float:
    """How much darker than the paper the template's print shows on this page: the upper quarter of what it
    prints (its solid parts; every fourth row is plenty)."""
    values = np.sort(dark[::4][printed[::4]], axis=None)
    return max(float(values[(3 * values.size) // 4 :].mean()) if values.size else 0.0, MIN_BLACK)


def _line(
    pixels: tuple[np.ndarray, np.ndarray],
    fitted: np.ndarray,
    dark: np.ndarray,
    black: float,
    vertical: bool,
    px_per_mm: float,
) -> PageLine:
    """The line through a group of run pixels, in page mm."""
    ys, xs = pixels
    along = ys if vertical else xs
    extent = float(along.max() - along.min()) + 1.0
    # Pixels at each place along it: its width (runs of a slanted line overlap a little; the median holds).
    width_px = max(1.0, float(len(along)) / extent)
    darkness = float(np.median(dark[ys, xs])) / black
    # Pixel i of the upright sheet is centred on (i + 0.5) / px_per_mm mm: the course in mm through as many points
    # as it has coefficients (a polynomial's own degree fits them exactly).
    at_mm = np.linspace(0.0, 300.0, len(fitted))
    across_mm = (np.polyval(fitted, at_mm * px_per_mm - 0.5) + 0.5) / px_per_mm
    course = np.polyfit(at_mm, across_mm, len(fitted) - 1)
    return PageLine(
        vertical,
        tuple(float(value) for value in course),
        half_width_mm=width_px / 2 / px_per_mm,
        darkness=min(1.0, darkness),
    )
