"""External forms: the ruled table structure of a scanned page, for forms we did not print.

An existing office form has no registration marks and no QR code; its own ruling lines are what we measure
it by. :func:`find_tables` deskews nothing itself (see :func:`deskew`) and returns, per table, the centres
of its horizontal and vertical rules and its cells: ruling lines are what survives a morphological
opening with a long horizontal or vertical bar (glyph strokes are shorter), each connected grid of them is
a table, and grid cells whose shared edge is not printed are merged (a 测评等次 heading spanning the
option columns, a note across the table). Used on the blank by :mod:`pipeline.formscan` and on filled
copies when they are read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.align import Alignment
from pipeline.classify import classify_page
from pipeline.debug import DebugWriter, draw_overlay
from pipeline.ingest import Gray, ScanPage, image_fingerprint
from pipeline.layout import Checkbox, Layout, Line, Rect, RowPlace
from pipeline.ocr import LabelReader, printed_ink, similarity
from pipeline.payload import SheetId
from pipeline.read import SheetRead, SheetRejected, _aligned_page, _is_blank, _reduced
from pipeline.score import MIN_CONTRAST, RING_GAP_MM, RING_MM, BoxScore
from pipeline.settings import AlignmentLimits, ReadingSettings
from pipeline.template import ExternalForm, ExternalSection, MmRect, Template

Mask = npt.NDArray[np.uint8]
Matrix = npt.NDArray[np.float64]
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
HOLLOW_SHARE = 0.25  # of its bounding box, the least a square's hole covers (a small blurred □ has a thick outline)
TONER_BLACK = 25.0  # grey level of printed black on a scan
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


def ink_of(gray: Gray, px_per_mm: float) -> Mask:
    """Dark marks against the local paper (uneven scanner light and grey paper are not ink)."""
    block = int(3.0 * px_per_mm) | 1
    return np.asarray(
        cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 25), dtype=np.uint8
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


def rule_masks(gray: Gray, px_per_mm: float) -> tuple[Mask, Mask, Mask]:
    """Ink, and the horizontal and vertical ruling lines in it."""
    ink = ink_of(gray, px_per_mm)
    # Bridge one-pixel breaks (JPEG, a faint toner line) before the opening measures length.
    h_len, v_len = round(HORIZONTAL_MIN_MM * px_per_mm), round(VERTICAL_MIN_MM * px_per_mm)
    bridged_h = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1)))
    bridged_v = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    horizontal = cv2.morphologyEx(bridged_h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(bridged_v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    return ink, np.asarray(horizontal, dtype=np.uint8), np.asarray(vertical, dtype=np.uint8)


def find_tables(gray: Gray, px_per_mm: float, masks: tuple[Mask, Mask, Mask] | None = None) -> list[Table]:
    """Every ruled table on the (upright) page, top to bottom. ``masks``: :func:`rule_masks` when known."""
    ink, horizontal, vertical = masks or rule_masks(gray, px_per_mm)
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


def square_in(image: Gray, rect: PxRect, line_px: float, px_per_mm: float) -> PxRect | None:
    """The one printed hollow square (or circle) in a cell, or None when the cell has none."""
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
        if cv2.contourArea(contours[child]) >= HOLLOW_SHARE * w * h:
            found.append((float(ox + x), float(oy + y), float(ox + x + w), float(oy + y + h)))
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


CellKind = Literal["empty", "square", "text"]


def cell_content(image: Gray, cell: Cell, line_px: float, px_per_mm: float) -> tuple[CellKind, PxRect | None]:
    """What a cell holds: nothing, one printed answer square (and where), or text."""
    square = square_in(image, cell.rect, line_px, px_per_mm)
    if square is not None:
        return "square", square
    crop, _ = interior(image, cell.rect, line_px)
    return ("text" if printed_ink(crop).any() else "empty"), None


# -- reading filled copies -----------------------------------------------------------------------------------

RECTIFY_PX_PER_MM = 10.0  # a phone photo is re-sampled this fine once rectified by the table's border
QUAD_CANDIDATES = 3
MATCH_MM = 1.5  # every rule of the blank must be found this close to where the table's border puts it
CORNER_WINDOW_MM = 2.5  # a rule crossing is looked for this far around where the coarse fit puts it
MIN_CROSSINGS = 0.6  # share of the blank's rule crossings that must be found (merged cells have fewer)
RANSAC_MM = 0.5
MIN_INLIERS = 0.8
TITLE_MARGIN_MM = 3.0
TITLE_PX_PER_MM = 12.0  # ≈ 300 dpi: the title is re-sampled this fine for OCR
MIN_TITLE_SIMILARITY = 0.6
TITLE_LEAD = 0.15  # the best title must be this much more alike than the next to decide between forms
PLACE_INSET_MM = 0.3  # beyond the outline's stroke: where new ink in a square or cell is looked for
OUTLINE_SLACK_MM = 0.25  # the printed outline is looked for, and masked, this much beyond its stroke
REFERENCE_BOX_MM2 = 26.0  # a cell's fill is its ink area relative to the interior of our 6 mm box
SQUARE_PX_PER_MM = 16.0  # a 0.15 mm glyph stroke needs finer sampling than our 0.35 mm box outline
CELL_PX_PER_MM = 8.0
SPECK_MM2 = 0.15
DOT_GAP_MM = 0.25
STROKE_MM = 1.5
OUR_BOX_MM = 6.0
RULE_CLEARANCE_MM = 0.5  # a row's rules, measured from their centre lines, are no part of the ring around a □
SEARCH_MM = 1.0  # the printed outline may be found this far from where the fit puts it
OUTLINE_PAD_MM = 0.5
MIN_OUTLINE_MATCH = 0.3
OUTLINE_CONTRAST = 0.12  # darkness above the paper's at which a printed outline counts as seen
HALO_MM = 0.35
WEAK_FLOOR = 0.08  # fainter than this is never ink, even as part of a stroke
BACKGROUND_MM = 7.0  # wider than a filled box, so that a scribbled-out □ is not taken for paper
INK_FLOOR = 0.2  # darkness (0 paper – 1 printed black) below which nothing is ink, however clean the scan


@dataclass(frozen=True)
class FormFit:
    """Where an external form's table lies on a scan: page mm (of the blank) → image px, and how well."""

    template: Template
    matrix: Matrix
    residual_mm: float  # 90th percentile misfit of the rule crossings
    crossings: int  # found and agreeing with the fit


@dataclass(frozen=True)
class ExternalRead:
    """A filled copy of an external form, read like our own ballots, and how the form was recognised."""

    sheet: SheetRead
    identified_by: str


def external_layout(template: Template) -> Layout:
    """Our :class:`Layout` of an external form, in mm of the blank's page (no marks, no QR code)."""
    external = template.external
    if external is None:
        raise ValueError(f"template {template.id} has no external form geometry")
    ox, oy = external.origin_x_mm, external.origin_y_mm

    def rect(place: MmRect) -> Rect:
        return Rect(ox + place.x, oy + place.y, place.w, place.h)

    rows, lines = [], []
    for index, (section, place) in enumerate(zip(template.sections, external.sections, strict=True)):
        top, bottom = oy + place.rules[0], oy + place.rules[-1]
        left, right = ox + place.columns[0], ox + place.columns[-1]
        lines += [Line(ox + x, top, ox + x, bottom, place.line_mm) for x in place.columns]
        lines += [Line(left, oy + y, right, oy + y, place.line_mm) for y in place.rules]
        for row_index, (row, geometry) in enumerate(zip(section.rows, place.rows, strict=True)):
            boxes = tuple(
                Checkbox(index, row_index, row.unit, option, rect(box))
                for option, box in zip(section.all_options, geometry.boxes, strict=True)
            )
            rows.append(RowPlace(index, row_index, row.unit, section.all_options, rect(geometry.band), boxes))
    nowhere = Rect(0.0, 0.0, 0.0, 0.0)
    return Layout(
        template.id,
        template.content_hash(),
        external.page_w_mm,
        external.page_h_mm,
        (),
        nowhere,
        nowhere,
        tuple(rows),
        (),
        tuple(lines),
        (),
    )


def read_external_sheet(
    page: ScanPage,
    session: str,
    templates: list[Template],
    settings: ReadingSettings,
    debug: DebugWriter | None = None,
) -> ExternalRead | SheetRejected:
    """Find which external form ``page`` is, align it on the form's own ruling lines, score and classify it.

    Rejects rather than guesses: a page whose table does not match a form rule for rule, whose lines do not
    fit one flat page, or (with several forms) whose title does not clearly name one, is not read."""
    image = page.image
    fingerprint = image_fingerprint(image)
    if _is_blank(image, settings.blank_page_ink):
        return SheetRejected("blank", "blank page (e.g. the back of a duplex scan)", fingerprint)
    fits: list[FormFit] = []
    failures: list[str] = []
    for template in templates:
        fit = fit_form(image, template, page.dpi, settings.alignment)
        if isinstance(fit, FormFit):
            fits.append(fit)
        else:
            failures.append(fit)
    if not fits:
        why = "; ".join(str(failure) for failure in failures)
        return SheetRejected(
            "unreadable", f"no configured form found on this page ({why})", fingerprint, image=_reduced(image)
        )
    if len(fits) == 1 and len(templates) == 1:
        fit, identified = fits[0], f"form {fits[0].template.id}: its table matches rule for rule"
    else:
        chosen = _by_title(image, fits)
        if isinstance(chosen, str):
            return SheetRejected("wrong_template", chosen, fingerprint, image=_reduced(image))
        fit, identified = chosen
    template = fit.template
    layout = external_layout(template)
    alignment = _alignment(fit, layout, settings.alignment)
    if isinstance(alignment, str):
        return SheetRejected(
            "unreadable", alignment, fingerprint, template_hash=template.content_hash(), image=_reduced(image)
        )
    scores = score_external(image, fit.matrix, template, layout)
    readings = classify_page(scores, settings)
    if debug is not None:
        debug.write(
            f"{page.source.rsplit('/', 1)[-1]}-p{page.page_no}",
            lambda: draw_overlay(image, alignment, layout, scores, settings),
        )
    sheet = SheetId(template.id, template.short_hash(), session, "")
    review = _aligned_page(image, alignment, layout.page_w, layout.page_h)
    read = SheetRead(sheet, template.content_hash(), alignment, scores, readings, fingerprint, review)
    return ExternalRead(read, identified)


def fit_form(image: Gray, template: Template, dpi: float | None, limits: AlignmentLimits) -> FormFit | str:
    """The page-mm → image-px transform of ``template``'s form on ``image``, or why the form is not there.

    Tried on the page as fed in all four directions (deskewed), then, for phone photos whose rules are
    not straight across the image, on the page rectified by the table's outer border."""
    external = template.external
    assert external is not None
    for view, to_image, px_per_mm in _views(image, external, dpi):
        masks = rule_masks(view, px_per_mm)
        coarse = [_match_table(find_tables(view, px_per_mm, masks), place) for place in external.sections]
        if any(match is None for match in coarse):
            continue
        found_mm, found_px = [], []
        for place, match in zip(external.sections, coarse, strict=True):
            assert match is not None
            sx, bx, sy, by = match
            for x_mm, y_mm in ((x, y) for x in place.columns for y in place.rules):
                crossing = _crossing(masks[1], masks[2], (sx * x_mm + bx, sy * y_mm + by), sx)
                if crossing is not None:
                    found_mm.append((external.origin_x_mm + x_mm, external.origin_y_mm + y_mm))
                    found_px.append(crossing)
        expected = sum(len(place.columns) * len(place.rules) for place in external.sections)
        if len(found_mm) < max(8, MIN_CROSSINGS * expected):
            return f"{template.id}: only {len(found_mm)} of {expected} rule crossings found (lines faint or cut off?)"
        src = np.array(found_mm, dtype=np.float64).reshape(-1, 1, 2)
        dst = cv2.perspectiveTransform(np.array(found_px, dtype=np.float64).reshape(-1, 1, 2), to_image)
        view_px_per_mm = float(np.mean([match[0] for match in coarse if match is not None]))
        scale = _scale_at(to_image, found_px[0], view_px_per_mm)
        matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_MM * scale)
        if matrix is None or inliers.mean() < MIN_INLIERS:
            return f"{template.id}: the table's lines do not lie on one flat page (folded or curled?); rescan it flat"
        misfit = np.linalg.norm(cv2.perspectiveTransform(src, matrix) - dst, axis=2).ravel()
        residual = float(np.percentile(misfit[inliers.ravel().astype(bool)], 90)) / scale
        if residual > limits.max_residual_mm:
            return f"{template.id}: the table's lines are up to {residual:.1f} mm off a flat page; rescan it flat"
        return FormFit(template, np.asarray(matrix, dtype=np.float64), residual, int(inliers.sum()))
    return f"{template.id}: its table was not found (another form, or the table is cut off)"


def _views(image: Gray, external: ExternalForm, dpi: float | None) -> Iterator[tuple[Gray, Matrix, float]]:
    """Upright views of the page to look for the table in: (view, view px → image px, view px per mm)."""
    for turns in (0, 2, 1, 3):
        turned = np.ascontiguousarray(np.rot90(image, turns))
        px_per_mm = dpi / 25.4 if dpi else max(turned.shape) / max(external.page_w_mm, external.page_h_mm)
        upright, angle = deskew(turned)
        yield upright, _unturn(turns, image.shape) @ np.linalg.inv(_rotation(upright.shape, angle)), px_per_mm
    size = (round(external.page_w_mm * RECTIFY_PX_PER_MM), round(external.page_h_mm * RECTIFY_PX_PER_MM))
    guess = max(image.shape) / max(external.page_w_mm, external.page_h_mm)
    for quad in _quads(image, guess):
        for place in external.sections:
            x0, y0 = (
                (external.origin_x_mm + place.table.x) * RECTIFY_PX_PER_MM,
                (external.origin_y_mm + place.table.y) * RECTIFY_PX_PER_MM,
            )
            x1, y1 = x0 + place.table.w * RECTIFY_PX_PER_MM, y0 + place.table.h * RECTIFY_PX_PER_MM
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
            for shift in range(4):
                to_image = cv2.getPerspectiveTransform(corners, np.roll(quad, shift, axis=0).astype(np.float32))
                flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
                view = cv2.warpPerspective(image, to_image, size, flags=flags, borderValue=255)
                yield np.asarray(view, dtype=np.uint8), np.asarray(to_image, dtype=np.float64), RECTIFY_PX_PER_MM


def _quads(image: Gray, px_per_mm: float) -> list[Matrix]:
    """Corners (clockwise from top left) of the largest four-sided ink outlines: candidate table borders."""
    ink = cv2.morphologyEx(ink_of(image, px_per_mm), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quads = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:QUAD_CANDIDATES]:
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float64)
        if len(approx) != 4 or cv2.contourArea(hull) < MIN_TABLE_MM[0] * MIN_TABLE_MM[1] * px_per_mm**2:
            continue
        centre = approx.mean(axis=0)
        order = np.argsort(np.arctan2(approx[:, 1] - centre[1], approx[:, 0] - centre[0]))
        ordered = approx[order]
        start = int(np.argmin(ordered.sum(axis=1)))
        quads.append(np.roll(ordered, -start, axis=0))
    return quads


def _scale_at(to_image: Matrix, point: tuple[float, float], px_per_mm: float) -> float:
    """Image pixels per mm near ``point`` of a view with ``px_per_mm`` view pixels per mm."""
    here = np.array([[point], [(point[0] + px_per_mm, point[1])]], dtype=np.float64)
    mapped = cv2.perspectiveTransform(here, to_image).reshape(-1, 2)
    return float(np.linalg.norm(mapped[1] - mapped[0]))


def _match_table(tables: list[Table], place: ExternalSection) -> tuple[float, float, float, float] | None:
    """x and y scale and offset (mm of the form → px) of the found table whose every rule matches ``place``."""
    cols, rules = place.columns, place.rules
    for table in tables:
        sx = (table.xs[-1] - table.xs[0]) / (cols[-1] - cols[0])
        sy = (table.ys[-1] - table.ys[0]) / (rules[-1] - rules[0])
        if not 0.95 < sx / sy < 1.05:
            continue
        bx, by = table.xs[0] - sx * cols[0], table.ys[0] - sy * rules[0]
        tolerance = MATCH_MM * sx
        if all(min(abs(x - (sx * c + bx)) for x in table.xs) <= tolerance for c in cols) and all(
            min(abs(y - (sy * r + by)) for y in table.ys) <= tolerance for r in rules
        ):
            return sx, bx, sy, by
    return None


def _crossing(
    horizontal: Mask, vertical: Mask, at: tuple[float, float], px_per_mm: float
) -> tuple[float, float] | None:
    """Where a horizontal and a vertical rule cross near ``at`` (px), from the line masks; None if either is absent."""
    radius = round(CORNER_WINDOW_MM * px_per_mm)
    x, y = round(at[0]), round(at[1])
    if x - radius < 0 or y - radius < 0 or x + radius >= horizontal.shape[1] or y + radius >= horizontal.shape[0]:
        return None
    h_window = horizontal[y - radius : y + radius + 1, x - radius : x + radius + 1].sum(axis=1)
    v_window = vertical[y - radius : y + radius + 1, x - radius : x + radius + 1].sum(axis=0)
    # A rule that only ends at the crossing (a T, a corner) still covers half the window.
    if h_window.max() < 0.45 * (2 * radius + 1) or v_window.max() < 0.45 * (2 * radius + 1):
        return None
    rows = np.flatnonzero(h_window >= 0.5 * h_window.max())
    cols = np.flatnonzero(v_window >= 0.5 * v_window.max())
    return float(x - radius + cols.mean()), float(y - radius + rows.mean())


def _rotation(shape: tuple[int, ...], angle: float) -> Matrix:
    """The 3×3 matrix :func:`deskew` turned the page with."""
    height, width = shape[:2]
    matrix = np.eye(3)
    if angle:
        matrix[:2] = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return matrix


def _unturn(turns: int, shape: tuple[int, ...]) -> Matrix:
    """Pixel coordinates in ``np.rot90(image, turns)`` → in ``image`` (of ``shape``)."""
    height, width = shape[:2]
    return {
        0: np.eye(3),
        1: np.array([[0.0, -1.0, width - 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        2: np.array([[-1.0, 0.0, width - 1.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]]),
        3: np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, height - 1.0], [0.0, 0.0, 1.0]]),
    }[turns % 4]


def _by_title(image: Gray, fits: list[FormFit]) -> tuple[FormFit, str] | str:
    """The fit whose form's title the page shows, clearly ahead of the others."""
    with LabelReader() as reader:
        scored = []
        for fit in fits:
            text = _title_text(image, fit, reader)
            scored.append((similarity(text, fit.template.title), text, fit))
    scored.sort(key=lambda item: -item[0])
    best, text, fit = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best < MIN_TITLE_SIMILARITY or best - runner_up < TITLE_LEAD:
        candidates = ", ".join(item[2].template.id for item in scored)
        return f"cannot tell which form this is ({candidates} fit; title read as {text or 'nothing'!r})"
    return fit, f"form {fit.template.id}: title read as {text!r} ({best:.0%} alike)"


def _title_text(image: Gray, fit: FormFit, reader: LabelReader) -> str:
    external = fit.template.external
    assert external is not None
    if external.title_box is None:
        return ""
    box = external.title_box
    x0 = external.origin_x_mm + box.x - TITLE_MARGIN_MM
    y0 = external.origin_y_mm + box.y - TITLE_MARGIN_MM
    size = (
        round((box.w + 2 * TITLE_MARGIN_MM) * TITLE_PX_PER_MM),
        round((box.h + 2 * TITLE_MARGIN_MM) * TITLE_PX_PER_MM),
    )
    to_mm = np.array([[1 / TITLE_PX_PER_MM, 0, x0], [0, 1 / TITLE_PX_PER_MM, y0], [0, 0, 1]])
    crop = cv2.warpPerspective(
        image, fit.matrix @ to_mm, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=255
    )
    read = reader.read(np.asarray(crop, dtype=np.uint8), line=True)
    return read.text if read is not None else ""


def _alignment(fit: FormFit, layout: Layout, limits: AlignmentLimits) -> Alignment | str:
    """The fit as an :class:`Alignment` (the store keeps its numbers), unless the page looks distorted."""
    centre = np.array(
        [
            [[layout.page_w / 2, layout.page_h / 2]],
            [[layout.page_w / 2 + 1, layout.page_h / 2]],
            [[layout.page_w / 2, layout.page_h / 2 + 1]],
        ]
    )
    points = cv2.perspectiveTransform(centre, fit.matrix).reshape(-1, 2)
    along_x, along_y = points[1] - points[0], points[2] - points[0]
    sx, sy = float(np.linalg.norm(along_x)), float(np.linalg.norm(along_y))
    skew = abs(90.0 - math.degrees(math.acos(max(-1.0, min(1.0, float(along_x @ along_y) / (sx * sy))))))
    if float(np.cross(along_x, along_y)) <= 0:
        return "the page appears mirrored (scanned through the paper?)"
    scale = (sx + sy) / 2
    if skew > limits.max_skew_deg or abs(sx - sy) / scale > limits.max_aspect_error:
        return f"the page is distorted (skew {skew:.1f}°, stretch {abs(sx - sy) / scale:.0%}); rescan it flat"
    if not limits.min_px_per_mm <= scale <= limits.max_px_per_mm:
        return f"the scan resolution looks like {scale * 25.4:.0f} dpi; scan at 150–600 dpi"
    rotation = round(math.degrees(math.atan2(along_x[1], along_x[0])) % 360 / 90.0) % 4 * 90
    return Alignment(fit.matrix, rotation, fit.residual_mm, scale, skew, 0)


def score_external(image: Gray, matrix: Matrix, template: Template, layout: Layout) -> list[BoxScore]:
    """Box scores of every row, in :class:`~pipeline.score.BoxScore` terms so that the classifier, the
    store and the review apply unchanged.

    Measured here rather than by :mod:`pipeline.score`, whose border search expects our 0.35 mm box
    outline: an office □ is a 3–4 mm glyph with a 0.1–0.2 mm stroke, and an empty cell has no box at all.
    ``fill`` is the ink area inside the square or cell, and ``outside`` (squares only) the ink area around
    the square, both relative to the interior of our 6 mm box, so that the thresholds mean the same amount
    of ink on every form (a tick covers a few percent of a 20 mm cell; a tick beside a 3 mm □ leaves most
    of its ink outside it, which must send the row to a clerk). ``border_match`` is the share of the
    outline found where the fit puts it, after a ±1 mm search."""
    external = template.external
    assert external is not None
    scores: list[BoxScore] = []
    for row in layout.rows:
        place = external.sections[row.section]
        for position, box in enumerate(row.boxes):
            if place.marker == "square":
                scores.append(_score_place(image, matrix, box, position, place.box_line_mm, row.band))
            else:
                scores.append(_score_place(image, matrix, box, position, place.line_mm, None))
    return scores


def _score_place(
    image: Gray, matrix: Matrix, box: Checkbox, position: int, stroke_mm: float, band: Rect | None
) -> BoxScore:
    """One answer place: a printed square (``band``: its row, which bounds the ring around it) or a cell."""
    square = band is not None
    scale = SQUARE_PX_PER_MM if square else CELL_PX_PER_MM
    rect = box.rect
    margin = (
        RING_GAP_MM + RING_MM + max(0.0, (OUR_BOX_MM - min(rect.w, rect.h)) / 2) + SEARCH_MM
        if square
        else OUTLINE_PAD_MM + SEARCH_MM
    )
    size = (round((rect.w + 2 * margin) * scale), round((rect.h + 2 * margin) * scale))
    to_mm = np.array([[1 / scale, 0, rect.x - margin], [0, 1 / scale, rect.y - margin], [0, 0, 1]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    patch = cv2.warpPerspective(image, matrix @ to_mm, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    patch = patch.astype(np.float32)
    # Paper white is the brightest grey within BACKGROUND_MM of each pixel: a phone's uneven light is no ink.
    window = round(BACKGROUND_MM * scale) | 1
    paper = cv2.blur(cv2.dilate(patch, np.ones((window, window), np.uint8)), (window // 4 | 1, window // 4 | 1))
    contrast = max(float(np.median(paper)) - float(np.percentile(patch, 1)), MIN_CONTRAST)
    raw = np.clip((paper - patch) / contrast, 0.0, 1.0)
    darkness = cv2.GaussianBlur(raw, (3, 3), 0)
    # The printed outline is looked for near where the fit puts it (a curled photo, a stretched feed): every
    # mask below moves with it, so that the outline itself is never taken for a mark.
    dx, dy = _outline_shift(darkness, rect, stroke_mm, square, margin, scale)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    x_mm, y_mm = (xs + 0.5) / scale - margin - dx, (ys + 0.5) / scale - margin - dy

    def inside(inset: float) -> npt.NDArray[np.bool_]:
        return np.asarray((x_mm > inset) & (x_mm < rect.w - inset) & (y_mm > inset) & (y_mm < rect.h - inset))

    interior = inside(stroke_mm + PLACE_INSET_MM if square else stroke_mm / 2 + PLACE_INSET_MM)
    printed = _outline_band(x_mm, y_mm, rect, stroke_mm, square)
    # Noise is judged on the whole patch, mostly paper: a mark may cover half of a small square's interior.
    plain = darkness[~printed]
    level = float(np.median(plain))
    spread = float(np.median(np.abs(plain - level))) * 1.4826
    # The blurred darkness averages scanner and JPEG noise away; the raw one keeps a fax's one-pixel dots.
    raw_plain = raw[~printed]
    raw_level = float(np.median(raw_plain))
    raw_spread = float(np.median(np.abs(raw_plain - raw_level))) * 1.4826
    strong = (darkness > max(INK_FLOOR, level + 4 * spread)) | (raw > max(2 * INK_FLOOR, raw_level + 6 * raw_spread))
    # Faint ink is only looked for clear of the outline's blurred halo.
    halo = cv2.dilate(printed.astype(np.uint8), np.ones((2 * round(HALO_MM * scale) + 1,) * 2, np.uint8)).astype(bool)
    weak = ((darkness > max(WEAK_FLOOR, level + 2.5 * spread)) & ~halo) | strong
    ink = _blobs(_hysteresis(weak & ~printed, strong, scale), scale)
    # A hairline □ (UMing: 0.09 mm) comes out of a 200 dpi scan a pale grey; it only has to stand out.
    visible = max(OUTLINE_CONTRAST, 4 * spread)
    # Ink area in our box's terms: in a cell, against our box's interior; in a small □ against at least half
    # of it, so that a speck of dust does not become a vote by filling a large share of a 3 mm square.
    reference = (
        max(float(np.count_nonzero(interior)) / scale**2, REFERENCE_BOX_MM2 / 2) if square else REFERENCE_BOX_MM2
    )
    fill = float(np.count_nonzero(ink & interior)) / scale**2 / reference
    central = inside(rect.w / 4 if square else min(rect.w, rect.h) / 4) & interior
    ring = np.zeros_like(interior)
    if band is not None:
        # As far out as around our 6 mm box: a voter circles a small □ as widely as a large one. The row's
        # own rules are printed, not ink.
        reach = RING_GAP_MM + RING_MM + max(0.0, (OUR_BOX_MM - min(rect.w, rect.h)) / 2)
        top, bottom = band.y - rect.y + RULE_CLEARANCE_MM, band.y + band.h - rect.y - RULE_CLEARANCE_MM
        ring = inside(-reach) & ~inside(-RING_GAP_MM) & (y_mm > top) & (y_mm < bottom)
    beyond = ring if square else ~inside(-(stroke_mm / 2 + OUTLINE_SLACK_MM))
    streak = _streak(ink, interior, beyond)
    return BoxScore(
        unit=box.unit,
        option=box.option,
        position=position,
        fill=round(min(1.0, fill), 4),
        outside=round(min(1.0, float(np.count_nonzero(ink & ring)) / scale**2 / REFERENCE_BOX_MM2), 4),
        centre=round(float(np.count_nonzero(ink & central)) / max(int(np.count_nonzero(central)), 1), 4),
        darkness=round(float(np.median(raw[ink & interior])) if np.any(ink & interior) else 0.0, 4),
        crossing=round(streak, 4),
        shift_mm=round(math.hypot(dx, dy), 3),
        border_match=round(_outline_found(darkness, x_mm, y_mm, rect, stroke_mm, square, level + visible), 4),
    )


def _outline_shift(
    darkness: npt.NDArray[np.float32], rect: Rect, stroke_mm: float, square: bool, margin: float, scale: float
) -> tuple[float, float]:
    """Where (mm, x and y) the printed outline best matches within ±SEARCH_MM of where the fit puts it."""
    pad = OUTLINE_PAD_MM
    kernel = np.zeros((round((rect.h + 2 * pad) * scale), round((rect.w + 2 * pad) * scale)), np.float32)
    inset = pad + (stroke_mm / 2 if square else 0.0)
    corner = (round(inset * scale), round(inset * scale))
    far = (round((rect.w + 2 * pad - inset) * scale), round((rect.h + 2 * pad - inset) * scale))
    cv2.rectangle(kernel, corner, far, 1.0, max(1, round(stroke_mm * scale)))
    response = cv2.matchTemplate(darkness, kernel, cv2.TM_CCOEFF_NORMED)
    origin, reach = round((margin - pad) * scale), round(SEARCH_MM * scale)
    window = response[max(0, origin - reach) : origin + reach + 1, max(0, origin - reach) : origin + reach + 1]
    if window.size == 0 or float(window.max()) < MIN_OUTLINE_MATCH:
        return 0.0, 0.0
    row, col = np.unravel_index(int(np.argmax(window)), window.shape)
    start = max(0, origin - reach)
    return (int(col) + start - origin) / scale, (int(row) + start - origin) / scale


def _streak(ink: npt.NDArray[np.bool_], interior: npt.NDArray[np.bool_], beyond: npt.NDArray[np.bool_]) -> float:
    """How completely one straight vertical or horizontal line runs through the place (0–1): a scanner
    streak or a fold, not a voter's mark: it goes on, on both sides, into ``beyond`` (a tick crosses a
    3 mm square easily, a scribble fills a cell, but neither leaves it on both sides)."""
    rows, cols = np.flatnonzero(interior.any(axis=1)), np.flatnonzero(interior.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return 0.0
    wide = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1

    def share(region: tuple[slice, slice], axis: int) -> npt.NDArray[np.float64]:
        count = beyond[region].sum(axis=axis)
        return np.asarray(
            np.where(count > 0, (wide[region] & beyond[region]).sum(axis=axis) / np.maximum(count, 1), 0.0)
        )

    inside = wide[r0:r1, c0:c1]
    down = np.minimum(
        inside.mean(axis=0),
        np.minimum(share((slice(0, r0), slice(c0, c1)), 0), share((slice(r1, None), slice(c0, c1)), 0)),
    )
    across = np.minimum(
        inside.mean(axis=1),
        np.minimum(share((slice(r0, r1), slice(0, c0)), 1), share((slice(r0, r1), slice(c1, None)), 1)),
    )
    return round(float(max(down.max(initial=0.0), across.max(initial=0.0))), 4)


def _outline_band(
    x_mm: npt.NDArray[np.float64], y_mm: npt.NDArray[np.float64], rect: Rect, stroke_mm: float, square: bool
) -> npt.NDArray[np.bool_]:
    """Where the printed outline lies (never new ink): inside the rectangle's edge for a square's stroke,
    centred on it for a cell's rules."""
    reach = stroke_mm + OUTLINE_SLACK_MM
    # A ruling line comes out of a blurred photo wider than it was printed.
    lo, hi = (-OUTLINE_SLACK_MM, reach) if square else (-reach / 2 - HALO_MM, reach / 2 + HALO_MM)
    near_x = ((x_mm - 0.0 >= lo) & (x_mm - 0.0 <= hi)) | ((rect.w - x_mm >= lo) & (rect.w - x_mm <= hi))
    near_y = ((y_mm - 0.0 >= lo) & (y_mm - 0.0 <= hi)) | ((rect.h - y_mm >= lo) & (rect.h - y_mm <= hi))
    within_x = (x_mm >= lo) & (x_mm <= rect.w - lo)
    within_y = (y_mm >= lo) & (y_mm <= rect.h - lo)
    return np.asarray((near_x & within_y) | (near_y & within_x))


def _outline_found(
    darkness: npt.NDArray[np.float32],
    x_mm: npt.NDArray[np.float64],
    y_mm: npt.NDArray[np.float64],
    rect: Rect,
    stroke_mm: float,
    square: bool,
    dark: float,
) -> float:
    """Share of positions along the outline where it stands out (darker than ``dark``) within its band: 1
    when the fit is right, low when the place is not where the fit says."""
    offset = stroke_mm / 2 if square else 0.0
    band = stroke_mm / 2 + OUTLINE_SLACK_MM
    xs, ys = x_mm[0], y_mm[:, 0]
    along_x, along_y = (xs > 0) & (xs < rect.w), (ys > 0) & (ys < rect.h)
    parts = [darkness[np.abs(ys - edge) <= band][:, along_x].max(axis=0) for edge in (offset, rect.h - offset)]
    parts += [darkness[:, np.abs(xs - edge) <= band][along_y].max(axis=1) for edge in (offset, rect.w - offset)]
    return float(np.mean([np.mean(part > dark) for part in parts if part.size]))


def _hysteresis(weak: npt.NDArray[np.bool_], strong: npt.NDArray[np.bool_], scale: float) -> npt.NDArray[np.bool_]:
    """Faint ink that belongs to a stroke: regions of ``weak`` holding some ``strong`` ink, or running
    STROKE_MM long (a faint pencil circle round a □ is too light to pass the ink level anywhere)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(weak)
    has_strong = np.bincount(labels[strong & weak], minlength=count) > 0
    long_enough = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= STROKE_MM * scale
    keep = has_strong | long_enough
    keep[0] = False
    return np.asarray(keep[labels], dtype=bool)


def _blobs(ink: npt.NDArray[np.bool_], scale: float) -> npt.NDArray[np.bool_]:
    """``ink`` without isolated specks (dust, JPEG and fax noise). Dots closer than DOT_GAP_MM count
    together, so that a pencil stroke a fax broke into dots stays a stroke: kept when its group covers
    SPECK_MM2 or runs STROKE_MM long."""
    gap = max(1, round(DOT_GAP_MM * scale))
    grouped = cv2.dilate(ink.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    area = np.bincount(labels[ink], minlength=len(stats))
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) - 2 * gap
    keep = (area >= SPECK_MM2 * scale * scale) | (extent >= STROKE_MM * scale)
    keep[0] = False
    return np.asarray(ink & keep[labels], dtype=bool)
