"""Foreign print: ruled lines on an aligned sheet that its own template does not print.

Two ballots fed together through a scanner, or lying one over the other on the glass, can leave one image
with both sheets' print on it. When only one QR code shows (the other is past the edge or covered), the
page aligns well on that sheet, and the other sheet's boxes and ticks would be scored as its marks. The
other sheet betrays itself by its table: long straight rules where this template has none. A voter does not
draw rules, and a scanner streak or a fold runs across the whole page, so rules of table length that this
template does not print mean another sheet, and the page is rejected rather than read.

Works on the sheet brought upright at :data:`LINES_PX_PER_MM` (:func:`coarse_upright`), against the blank
template reduced to it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Layout
from pipeline.common.imaging import Gray, Matrix
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.align import Alignment
from pipeline.reading.keep import upright_page
from pipeline.reading.lines import PageLine, page_lines, printed_of
from pipeline.reading.model import BLANK_PX_PER_MM, BallotModel

LINES_PX_PER_MM = 3.0
MIN_RULE_MM = 10.0  # shorter straight ink is text, a tick, a registration mark (7 mm)
MAX_RULE_MM = 200.0  # longer is a streak or fold across the page (the classifier flags those per row)
EXPECTED_MM = 2.5  # a rule this near one of the template's own is the template's (a curled photo's misfit)
EDGE_MM = 15.0  # the paper's edge, or a skewed scan's, may show near the page's border
INK_CONTRAST = 50  # grey levels below the local paper for a pixel to be printed ink
SAME_PLACE_MM = 4.0  # pieces of rules closer than this side by side are one line (a slanted edge or streak)
MIN_FOREIGN_RULES = 3  # rules at this many places in one direction are a table (two folds or streaks are not)
TEXT_MARGIN_MM = 1.0  # the template's printed text, widened by this, is no place for another sheet's rules
BENT_SHARE = 1 / 3  # a rule running off its place for at most this share of its length on it is bent, not another
PRINTED_LEVEL = 200  # grey levels of the rendered blank below which the template prints ink
# Where the picture ends inside the sheet (a photo taken tight, a feed shifted), the page beyond is filled white,
# and the picture's edge against it, darker paper in a phone's light, shows as a rule: one that lies this near it is
# the picture's edge, not another sheet's (tuning seed 131, phone code-cut and marks-cut pages refused as
# `foreign_rules`, every piece of "rule" within 2 mm of the picture's edge).
PICTURE_EDGE_MM = 2.0

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Checked:
    """What the check found on an aligned page: why it must not be read (another sheet's table on it), or None;
    and the lines across it that are nobody's mark (:mod:`pipeline.reading.lines`)."""

    foreign: PageReason | None
    lines: tuple[PageLine, ...]


def check_page(image: Gray, alignment: Alignment, model: BallotModel) -> Checked:
    """The aligned page looked at whole, once, at LINES_PX_PER_MM: another sheet's table, page-long lines."""
    layout = model.layout
    upright = coarse_upright(
        image, alignment.matrix, layout.page_w, layout.page_h, LINES_PX_PER_MM, alignment.px_per_mm
    )
    followed = following_rows(upright, LINES_PX_PER_MM, alignment.box_offsets_mm, model.layout)
    foreign = foreign_rules(followed, LINES_PX_PER_MM, expected_rules_of(model))
    if foreign is not None:  # looked at again with the picture's own edges taken for the sheet's (rare: no cost)
        edges = picture_edges(image.shape, alignment.matrix, followed.shape, LINES_PX_PER_MM)
        beyond = following_rows(edges, LINES_PX_PER_MM, alignment.box_offsets_mm, model.layout) > 0
        foreign = foreign_rules(followed, LINES_PX_PER_MM, expected_rules_of(model) | beyond[None])
    if foreign is not None:
        return Checked(foreign, ())
    bands = [row.band for row in layout.rows]
    table = (
        min(band.x for band in bands),
        min(band.y for band in bands),
        max(band.x + band.w for band in bands),
        max(band.y + band.h for band in bands),
    )
    return Checked(None, page_lines(upright, LINES_PX_PER_MM, printed_of(model, LINES_PX_PER_MM), table))


def following_rows(
    upright: Gray, px_per_mm: float, offsets: Mapping[tuple[str, str], tuple[float, float]], layout: Layout
) -> Gray:
    """``upright`` (the page through the fit at ``px_per_mm``) with each band of it moved to where its rows were
    found off the fit (``offsets``, (unit, option) → (dx, dy) mm, an :class:`~pipeline.reading.align.Alignment`'s
    ``box_offsets_mm``: a fax whose feed slipped or lost lines, a sheet folded and opened), the offset interpolated
    down the page between the rows' (each its boxes' median) and to nothing at the registration marks, which the fit
    goes through. The sheet's own rules then lie
    where its template prints them, however far off the fit a band of it lies (tuning seed 137, fine fax page 13:
    three slips moved the table's lower rows 2–4 mm off any plane, its rules taken for another sheet's, and the
    page refused as `foreign_rules`). ``upright`` itself where no row is off the fit."""
    if not offsets:
        return upright
    marks = [mark.center[1] for mark in layout.registration]
    ys, moved = [min(marks)], [(0.0, 0.0)]
    for row in layout.rows:
        seen = [offsets[key] for box in row.boxes if (key := (box.unit, box.option)) in offsets]
        ys.append(row.boxes[0].rect.center[1])
        moved.append(
            (statistics.median(x for x, _ in seen), statistics.median(y for _, y in seen)) if seen else (0.0, 0.0)
        )
    ys.append(max(marks))
    moved.append((0.0, 0.0))
    order = np.argsort(ys, kind="stable")
    at = np.array(ys, dtype=np.float64)[order]
    shifts = np.array(moved, dtype=np.float64)[order]
    height, width = upright.shape
    rows_mm = (np.arange(height, dtype=np.float64) + 0.5) / px_per_mm
    dx = np.interp(rows_mm, at, shifts[:, 0]) * px_per_mm
    dy = np.interp(rows_mm, at, shifts[:, 1]) * px_per_mm
    map_x = (np.arange(width, dtype=np.float32)[None, :] + dx.astype(np.float32)[:, None]).astype(np.float32)
    map_y = np.repeat((np.arange(height) + dy).astype(np.float32)[:, None], width, axis=1)
    followed = cv2.remap(upright, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(followed, dtype=np.uint8)


def picture_edges(shape: tuple[int, ...], matrix: Matrix, upright_shape: tuple[int, ...], px_per_mm: float) -> Gray:
    """Where the upright page (``upright_shape`` at ``px_per_mm``, through ``matrix``, page mm → image px) lies
    beyond the picture (``shape``) or within PICTURE_EDGE_MM of its edge: 255 there, 0 elsewhere."""
    height, width = upright_shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    page_mm = np.stack([(xs + 0.5) / px_per_mm, (ys + 0.5) / px_per_mm], axis=-1).reshape(-1, 1, 2)
    at = np.asarray(cv2.perspectiveTransform(page_mm.astype(np.float64), matrix), dtype=np.float64)
    at = at.reshape(height, width, 2)
    inside = (at[..., 0] >= 0) & (at[..., 0] < shape[1]) & (at[..., 1] >= 0) & (at[..., 1] < shape[0])
    reach = 2 * round(PICTURE_EDGE_MM * px_per_mm) + 1
    kept = cv2.erode(inside.astype(np.uint8), np.ones((reach, reach), np.uint8), borderValue=1)
    return np.where(kept > 0, 0, 255).astype(np.uint8)


def expected_rules_of(model: BallotModel) -> Mask:
    """:func:`expected_rules` of ``model``'s blank, once per template."""
    return model.derived("check.rules", lambda: expected_rules(model.blank, BLANK_PX_PER_MM))


def coarse_upright(
    image: Gray, matrix: Matrix, page_w: float, page_h: float, px_per_mm: float, scan_px_per_mm: float
) -> Gray:
    """The sheet upright at a coarse ``px_per_mm`` (as :func:`foreign_rules` looks for ruled lines), from a
    scan at ``scan_px_per_mm``, without resampling the whole scan finely first: the scan is halved (cv2.pyrDown,
    which smooths first, so that thin lines are kept rather than stepped over) while it stays at least as fine;
    still 1.5× finer or more, it is smoothed over 3 × 3 pixels; then resampled once. Across 130–400 dpi, upright
    or skewed, this finds as many rule pixels (within 2 %) as resampling at REVIEW_PX_PER_MM and reducing by
    area, in under a third of the time (1.8 against 6.2 ms a 200-dpi page)."""
    halve = np.diag([0.5, 0.5, 1.0])  # pyrDown's pixel j is centred on the scan's pixel 2j
    while scan_px_per_mm / 2 >= px_per_mm:
        image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
        matrix = halve @ matrix
        scan_px_per_mm /= 2
    if scan_px_per_mm >= 1.5 * px_per_mm:
        image = np.asarray(cv2.blur(image, (3, 3)), dtype=np.uint8)
    return upright_page(image, matrix, page_w, page_h, px_per_mm)


def rules(upright: Gray, px_per_mm: float) -> Mask:
    """Long straight ink on an upright page (at ``px_per_mm``), reduced to LINES_PX_PER_MM: horizontal
    rules in ``[0]``, vertical ones in ``[1]``."""
    return np.stack([lines > 0 for lines in _rule_pixels(upright, px_per_mm)])


def _rule_pixels(upright: Gray, px_per_mm: float) -> tuple[Gray, Gray]:
    """:func:`rules` as 0/1 images (horizontal, vertical), before they are made masks."""
    factor = LINES_PX_PER_MM / px_per_mm
    size = (round(upright.shape[1] * factor), round(upright.shape[0] * factor))
    small = upright if factor == 1.0 else cv2.resize(upright, size, interpolation=cv2.INTER_AREA)
    block = round(10 * LINES_PX_PER_MM) | 1
    ink = cv2.adaptiveThreshold(small, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, INK_CONTRAST)
    length = round(MIN_RULE_MM * LINES_PX_PER_MM)
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    down = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    return np.asarray(across, dtype=np.uint8), np.asarray(down, dtype=np.uint8)


def expected_rules(blank: Gray, px_per_mm: float) -> Mask:
    """The template's own rules, widened by EXPECTED_MM, as :func:`foreign_rules` compares against (each
    direction apart, so that another sheet's vertical rule is not cut into pieces by this one's rows); across,
    also its printed text widened by TEXT_MARGIN_MM: the horizontal strokes of a line of bold characters that a
    harsh scan turned solid run on from character to character for a centimetre or more, like a short rule
    (their vertical strokes are no longer than a character is tall)."""
    radius = round(EXPECTED_MM * LINES_PX_PER_MM)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    across, down = (cv2.dilate(mask.astype(np.uint8), kernel) > 0 for mask in rules(blank, px_per_mm))
    size = (across.shape[1], across.shape[0])
    small = blank if blank.shape == across.shape else cv2.resize(blank, size, interpolation=cv2.INTER_AREA)
    margin = 2 * round(TEXT_MARGIN_MM * LINES_PX_PER_MM) + 1
    text = cv2.dilate((small < PRINTED_LEVEL).astype(np.uint8), np.ones((margin, margin), np.uint8)) > 0
    return np.stack([across | text, down])


def _bent_off(seen: Gray, own: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Rule pixels of lines that lie on the template's own rules' places and run off them only at an end, for at most
    BENT_SHARE of the length they lie on them: a photo of a curled sheet bends its rules (its table's far end 2.5–3 mm
    off the fit: simulated scanner-app photos, tuning seed 131, two pages refused, the rules of the 意见建议 column
    each the end of a rule of the table). Another sheet's rule at a place of its own lies off them; one crossing ours
    at a slant, joined to it, runs off them for as long as ours lies on them."""
    count, labels = cv2.connectedComponents(seen, connectivity=8)
    on = np.bincount(labels[(seen > 0) & own], minlength=count)
    off = np.bincount(labels[(seen > 0) & ~own], minlength=count)
    bent = off <= BENT_SHARE * on
    bent[0] = False
    return np.asarray(bent[labels], dtype=bool)


def foreign_rules(upright: Gray, px_per_mm: float, expected: Mask) -> PageReason | None:
    """Why the page must not be read (another sheet's table on it), or None.

    Another sheet's table shows as several parallel rules at distinct places, each no longer than a table;
    a scanner streak or a fold runs the length of the page (a slant may break it into pieces side by side,
    which are gathered into one line first), and the edge of a skewed scan lies near the page's border."""
    found = _rule_pixels(upright, px_per_mm)
    if found[0].shape != expected.shape[1:]:  # both are the template's page at LINES_PX_PER_MM
        raise ValueError(f"page {found[0].shape} and template {expected.shape[1:]} differ in size")
    edge = round(EDGE_MM * LINES_PX_PER_MM)
    inside = np.s_[edge:-edge, edge:-edge]
    places = []
    for direction, (seen, own) in enumerate(zip(found, expected, strict=True)):
        # seen > own: ink (1) where the template has none (False), compared once and only inside the edges.
        if not np.any(seen[inside] > own[inside]):  # the usual page: nothing but its own print
            places.append(0)
            continue
        foreign = seen > own
        foreign[:edge], foreign[-edge:], foreign[:, :edge], foreign[:, -edge:] = False, False, False, False
        foreign &= ~_bent_off(seen, own)
        _, _, stats, centroids = cv2.connectedComponentsWithStats(foreign.astype(np.uint8), connectivity=8)
        start = stats[1:, cv2.CC_STAT_LEFT if direction == 0 else cv2.CC_STAT_TOP] / LINES_PX_PER_MM
        length = stats[1:, cv2.CC_STAT_WIDTH if direction == 0 else cv2.CC_STAT_HEIGHT] / LINES_PX_PER_MM
        across = centroids[1:, 1 if direction == 0 else 0] / LINES_PX_PER_MM
        long = length >= MIN_RULE_MM
        pieces = sorted(zip(across[long].tolist(), start[long].tolist(), length[long].tolist(), strict=True))
        lines: list[tuple[float, float, float]] = []  # (place across, first mm along, last mm along)
        for place, first, size in pieces:
            if lines and place - lines[-1][0] <= SAME_PLACE_MM:
                lines[-1] = (place, min(lines[-1][1], first), max(lines[-1][2], first + size))
            else:
                lines.append((place, first, first + size))
        places.append(sum(1 for _, first, last in lines if last - first <= MAX_RULE_MM))
    if max(places) < MIN_FOREIGN_RULES:
        return None
    # A photo of a sheet curled more than the fit follows can show its own rules a few millimetres off (2 of
    # 200 phone photos, mixed seed 404): the clerk's message names both causes, as both are cured by a rescan.
    return PageReason.of(Why.FOREIGN_RULES, horizontal=places[0], vertical=places[1])
