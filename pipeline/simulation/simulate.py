"""Simulate: filled-in, scanned ballots with known ground truth, for the demo, the tests and the benchmarks.

Contract. :func:`simulate_batch` rasterises printed ballots (one PDF page per sheet) at :data:`RENDER_DPI`,
fills every row the way real voters do (:func:`fill_sheet`; the marks are drawn by :mod:`.marks`), degrades
the page like a real device (:func:`pipeline.simulation.degrade.degrade`) and writes the images plus
``truth.jsonl``, one :class:`SheetTruth` per line. Sheets come out in shuffled order, as a collected stack
does. Everything random is drawn from numpy Generators seeded with ``(seed, source page)``: the same seed
gives the same pixels, and one sheet can be re-made alone. ``conditions`` (:mod:`.conditions`) add what the
world does on top of the profile; they draw from a generator of their own, so the voters stay the same and a
plain run's pixels and truth are what they were before conditions existed.

Truth semantics: :mod:`.truth`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, cast, get_args

import cv2
import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
import zxingcpp

from pipeline.ballot.layout import Layout, Rect
from pipeline.ballot.payload import SheetId, parse_payload
from pipeline.ballot.template import CATEGORY_ROW
from pipeline.common.imaging import MM_PER_INCH
from pipeline.simulation.conditions import CONDITION_STREAM, ConditionContext, ConditionError, check_conditions
from pipeline.simulation.corrections import (
    CORRECTION_ROW_SHARE,
    LONG_TICK_SHARE,
    TAPE_VISIBLE_SHARE,
    MarkDetail,
    draw_crossed_out,
    draw_long_tick,
    lay_tape,
    plan_correction,
    residue_pen,
)
from pipeline.simulation.degrade import Device, FileFormat, Profile, ScanWriter, degrade, device_for, pick
from pipeline.simulation.effects import PAGE_MM
from pipeline.simulation.geometry import in_image, page_to_image
from pipeline.simulation.marks import (
    TICK_SIZE_SHARES,
    TICK_SIZES,
    ConditionMarkKind,
    MarkKind,
    TickSize,
    draw_comment,
    draw_mark,
    draw_mark_cores,
    pen_for,
)
from pipeline.simulation.paper import BackKind, pick_back, text_document
from pipeline.simulation.pen import Pen, Pixels, random_pen, red_pen
from pipeline.simulation.scanapp import WIPING_FILTERS, app_filter
from pipeline.simulation.truth import TRUTH_FILE, AnyMarkKind, RowTruth, SheetTruth, load_truth

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
    "random_pen",
    "rasterize_pdf_page",
    "simulate_batch",
]

Gray = npt.NDArray[np.uint8]
Difficulty = Literal["clean", "mixed", "hard"]
Scenario = Literal["clean", "blank", "overvote", "faint", "erased", "correction", "stray"]


BLANK, OVERVOTE = "blank", "overvote"
RENDER_DPI = 300.0
PT_PER_INCH = 72.0
DEFAULT_FORMAT: dict[str, FileFormat] = {"office": "pdf", "fax": "tiff", "phone": "jpeg", "bad": "jpeg"}
BATCH_STREAM = 1_000_003  # seeds the per-batch generator apart from every per-page one
BACK_STREAM = 3_000_017  # seeds the voter of a ballot showing through from the back
BACK_FILLED_SHARE = 0.5
QR_SEARCH_MARGIN_MM = 4.0
LEGIBLE_SHARE = 0.5  # share of a mark's stroke cores still black after binarisation for it to count as there
# A core is still black where a third of the 3 × 3 pixels around it are: a thin or dithered stroke shows as a trail
# of black (a dithered grey half its pixels), while a faint stroke the threshold wiped leaves a pixel here and there
# — as the paper's own pepper does — which a person no more reads as a stroke than the machine can.
TRAIL_SHARE = 1 / 3
LEGIBILITY_SAMPLES = 400
# On a page a scanner app whitened, a mark is there where its cores lie this many grey levels under the paper beside
# them (the brightest pixel within PAPER_NEAR_MM): a pencil stroke the contrast stretch lifted to within a few levels
# of white is gone, as on a fax; one left 10–15 levels under it is a pale line a careful person still sees.
VISIBLE_LEVELS = 8
PAPER_NEAR_MM = 1.0

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
OPINION_WEIGHTS = (0.72, 0.20, 0.06, 0.02)  # share of rows rated with the 1st, 2nd, 3rd, 4th option
HABIT_SHARE = 0.85  # a voter keeps their usual kind and size of mark on this share of rows
COMMENT_SHARE = {"clean": 0.0, "mixed": 0.10, "hard": 0.25}
CATEGORY_BLANK_SHARE = 0.08
ERASED_THEN_MARKED_SHARE = 0.55  # an erased mark is usually replaced by a real one in another box
STRAY_WITH_MARK_SHARE = 0.6


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
    kind: AnyMarkKind
    pen: Pen
    carries_intent: bool
    residue: float | None = None  # an erased mark: share of its darkness left


@dataclass(frozen=True)
class _Hand:
    """The voters' conditions on one sheet: their own generator and every box, named, for crossings."""

    rng: np.random.Generator
    long_tick: bool
    erasure: bool
    boxes: dict[str, Rect]
    red_pen: bool = False


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
    image: Gray,
    layout: Layout,
    px_per_mm: float,
    rng: np.random.Generator,
    difficulty: Difficulty,
    hand: _Hand | None = None,
) -> tuple[tuple[RowTruth, ...], list[Pixels]]:
    """:func:`fill_sheet`, plus per row the core pixels of the marks that carry its intent; ``hand`` applies
    the voters' conditions (long ticks, erasures and corrections)."""
    voter = _Voter(
        pen=random_pen(rng, pencil_allowed=difficulty != "clean"),
        kind=pick(rng, CLEAN_KINDS, CLEAN_KIND_SHARES[difficulty]),
        tick_size=pick(rng, TICK_SIZES, TICK_SIZE_SHARES[difficulty]),
    )
    if hand is not None and hand.red_pen:  # drawn from the conditions' own generator: the voter's plan is unchanged
        voter = replace(voter, pen=red_pen(voter.pen, hand.rng))
    truths: list[RowTruth] = []
    intent_pixels: list[Pixels] = []
    for row in layout.rows:
        if row.unit == CATEGORY_ROW:
            intent, planned, ambiguous = _plan_category(row.options, voter, rng, difficulty)
        else:
            intent, planned, ambiguous = _plan_row(row.options, voter, rng, difficulty)
        if hand is not None:
            intent, planned, ambiguous = _conditioned(hand, row.unit, row.options, voter, (intent, planned, ambiguous))
        boxes = {box.option: box.rect for box in row.boxes}
        cores = [np.empty((0, 2), np.intp)]
        drawn: list[MarkDetail] = []
        for mark in planned:
            size = voter.usual_size(rng, difficulty)
            rect = boxes[mark.option]
            if hand is not None and (mark.kind in get_args(ConditionMarkKind) or mark.residue is not None):
                core, detail = _draw_conditioned(image, row.unit, rect, mark, hand, px_per_mm)
                drawn.append(replace(detail, option=mark.option, kind=mark.kind))
            else:
                kind = cast(MarkKind, mark.kind)
                core = draw_mark_cores(image, _px(rect, px_per_mm), kind, rng, px_per_mm, mark.pen, size)
            if mark.carries_intent:
                cores.append(core)
        intent_pixels.append(np.vstack(cores))
        wrote = row.comment is not None and rng.random() < COMMENT_SHARE[difficulty]
        if wrote and row.comment is not None:
            draw_comment(image, _px(row.comment, px_per_mm), rng, px_per_mm, voter.pen)
        inks = [mark.pen.ink for mark in planned if mark.carries_intent]
        # Correction tape is plain only when it hides the mark under it: strokes left outside need a clerk.
        taped_visible = any((d.visible_outside_tape or 0.0) > TAPE_VISIBLE_SHARE for d in drawn)
        truths.append(
            RowTruth(
                unit=row.unit,
                intent=intent,
                marks=tuple((mark.option, mark.kind) for mark in planned),
                ambiguous=ambiguous or taped_visible,
                ink=max(inks) if inks else None,
                comment=wrote,
                drawn=tuple(drawn),
            )
        )
    return tuple(truths), intent_pixels


def _conditioned(
    hand: _Hand, unit: str, options: tuple[str, ...], voter: _Voter, plan: tuple[str, list[_Planned], bool]
) -> tuple[str, list[_Planned], bool]:
    """The row's plan under the voters' conditions: a correction on some unit rows, ticks with long legs."""
    intent, planned, ambiguous = plan
    if hand.erasure and unit != CATEGORY_ROW and hand.rng.random() < CORRECTION_ROW_SHARE:
        intent, planned, ambiguous = _plan_correction(options, voter, hand.rng)
    if hand.long_tick:
        planned = [
            replace(mark, kind="long_tick") if mark.kind == "tick" and hand.rng.random() < LONG_TICK_SHARE else mark
            for mark in planned
        ]
    return intent, planned, ambiguous


def _plan_correction(
    options: tuple[str, ...], voter: _Voter, rng: np.random.Generator
) -> tuple[str, list[_Planned], bool]:
    """(intent, marks, ambiguous) for a row where the voter changed their mind (see :mod:`.corrections`)."""
    first, second = (options[int(index)] for index in rng.choice(len(options), 2, replace=False))
    kind: AnyMarkKind = voter.kind if voter.kind in ("tick", "cross", "fill") else "tick"
    firm = _Planned(second, kind, voter.pen, True)
    correction = plan_correction(rng)
    match correction:
        case "pencil_then_mark" | "gel_then_mark" | "erased_only":
            gel = correction == "gel_then_mark" or (correction == "erased_only" and rng.random() < 0.4)
            pen, share = residue_pen("gel" if gel else "pencil", rng)
            erased = _Planned(first, "erased_gel" if gel else "erased", pen, False, residue=share)
            if correction == "erased_only":
                return BLANK, [erased], True
            return second, [erased, firm], True
        case "taped_then_mark":  # ambiguous only if strokes stick out of the tape (decided once drawn)
            return second, [_Planned(first, "taped", voter.pen, False), firm], False
        case "taped_only":  # taken back, nothing else: 弃权, plain where the tape hides the mark
            return BLANK, [_Planned(first, "taped", voter.pen, False)], False
        case "scribbled_then_mark":
            return second, [_Planned(first, "scribble_correction", voter.pen, False), replace(firm, kind="tick")], True
        case "two_marks":
            return OVERVOTE, [replace(firm, option=first), firm], False
        case "crossed_out_only":  # struck out, nothing else: the voter may mean 弃权; a clerk looks
            return BLANK, [_Planned(first, "crossed_out", voter.pen, False)], True
    raise AssertionError(correction)


def _draw_conditioned(
    image: Gray, unit: str, rect: Rect, mark: _Planned, hand: _Hand, px_per_mm: float
) -> tuple[Pixels, MarkDetail]:
    """Draw a mark only the voters' conditions make, with its detail for the truth."""
    box_px = _px(rect, px_per_mm)
    match mark.kind:
        case "long_tick":
            others = {name: other for name, other in hand.boxes.items() if other != rect}
            return draw_long_tick(image, rect, hand.rng, px_per_mm, mark.pen, others)
        case "taped":
            under = draw_mark_cores(
                image, box_px, pick(hand.rng, ("tick", "cross")), hand.rng, px_per_mm, mark.pen, "normal"
            )
            return under, lay_tape(image, rect, hand.rng, px_per_mm, under)
        case "crossed_out":
            return draw_crossed_out(image, rect, hand.rng, px_per_mm, mark.pen)
        case "erased_gel":  # heated clear: the whole stroke, faint, without a rubber's smear
            core = draw_mark_cores(image, box_px, "tick", hand.rng, px_per_mm, mark.pen, "normal")
            return core, MarkDetail(residue=mark.residue)
    core = draw_mark_cores(image, box_px, mark.kind, hand.rng, px_per_mm, mark.pen, "normal")
    return core, MarkDetail(residue=mark.residue)


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
    conditions: Sequence[str] = (),
) -> list[SheetTruth]:
    """Fill, degrade and write the first ``pages`` sheets of ``pdf_path`` (all by default) in shuffled order.

    jpeg/png/heic: one file per sheet; tiff/pdf: one multi-page file. ``file_format`` defaults to what the
    device usually writes (:data:`DEFAULT_FORMAT`). ``device`` overrides the batch's device settings.
    ``conditions`` (:data:`~.conditions.CONDITIONS`) add what the world does on top of the profile.
    Raises :class:`SimulationError` for input that is not printed ballots of ``layout``, or conditions that
    do not go with ``profile`` or each other.
    """
    try:
        asked = check_conditions(profile, conditions)
    except ConditionError as error:
        raise SimulationError(str(error)) from None
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
    boxes = {f"{box.unit}/{box.option}": box.rect for box in layout.boxes}
    sheets: list[SheetTruth] = []
    try:
        for source in order:
            rng = np.random.default_rng([seed, source])
            page = rasterize_pdf_page(pdf_path, source, RENDER_DPI)
            sheet = _sheet_id(page, layout, px_per_mm, pdf_path, source)
            context: ConditionContext | None = None
            hand: _Hand | None = None
            if asked:
                conditioned = np.random.default_rng([seed, source, CONDITION_STREAM])
                hand = _Hand(conditioned, "long-tick" in asked, "erasure" in asked, boxes, "red-pen" in asked)
            rows, intent_pixels = _fill(page, layout, px_per_mm, rng, difficulty, hand)
            if hand is not None:
                back = _back(pdf_path, layout, source, available, seed, hand.rng) if "show-through" in asked else None
                context = ConditionContext(asked, hand.rng, layout, back)
            scanned, applied = degrade(page, profile, rng, source_dpi=RENDER_DPI, device=settings, context=context)
            applied = {"seed": [seed, source], "difficulty": difficulty, **applied}
            file, page_no = writer.add(scanned, applied)
            upside_down = bool(applied["upside_down"])
            if applied.get("binarised") or app_filter(applied) in WIPING_FILTERS:
                rows = _with_legibility(rows, intent_pixels, scanned, applied, px_per_mm)
            capture: dict[str, object] = {}
            if asked:
                capture = {"conditions": list(asked), **in_image(applied, layout, scanned.shape)}
                rows = _obscured(rows, applied)
            sheets.append(SheetTruth(file, page_no, sheet.serial, upside_down, rows, source, applied, capture))
    finally:
        writer.close()
    with (out_dir / TRUTH_FILE).open("w", encoding="utf-8") as handle:
        for sheet_truth in sheets:
            handle.write(json.dumps(sheet_truth.as_json(), ensure_ascii=False) + "\n")
    return sheets


def _back(
    pdf_path: Path, layout: Layout, source: int, available: int, seed: int, rng: np.random.Generator
) -> tuple[BackKind, Gray]:
    """What shows through the sheet: another ballot printed on its back or lying behind it (filled by
    another voter, or not yet), or an office document printed on its back."""
    kind = pick_back(rng)
    px_per_mm = RENDER_DPI / MM_PER_INCH
    if kind == "back_document":
        page = rasterize_pdf_page(pdf_path, source, RENDER_DPI)
        return kind, text_document((page.shape[0], page.shape[1]), rng, px_per_mm)
    other = rasterize_pdf_page(pdf_path, (source + 1) % available, RENDER_DPI)
    if rng.random() < BACK_FILLED_SHARE:
        _fill(other, layout, px_per_mm, np.random.default_rng([seed, source, BACK_STREAM]), "mixed")
    return kind, other


def _obscured(rows: tuple[RowTruth, ...], applied: dict[str, object]) -> tuple[RowTruth, ...]:
    """Rows with a box under a streak strong enough to hide a mark there."""
    hidden = {
        name.split("/", 1)[0]
        for streak in cast(list[dict[str, object]], applied.get("long_streaks", []))
        if streak["hides"]
        for name in cast(list[str], streak["boxes"])
    }
    return tuple(replace(row, obscured=True) if row.unit in hidden else row for row in rows)


def _with_legibility(
    rows: tuple[RowTruth, ...], intent_pixels: list[Pixels], image: Gray, applied: dict[str, object], px_per_mm: float
) -> tuple[RowTruth, ...]:
    """Mark rows whose intended marks the device wiped out: under half their stroke cores left a trail of ink
    (TRAIL_SHARE of the pixels around where each lands): black on a 1-bit page (or one a scanner app thresholded),
    VISIBLE_LEVELS under the paper beside it on a page an app whitened."""
    if app_filter(applied) == "enhance":
        near = 2 * round(PAPER_NEAR_MM * image.shape[1] / PAGE_MM[0]) + 1
        paper = cv2.dilate(image, np.ones((near, near), np.uint8))
        inked = paper.astype(np.int16) - image.astype(np.int16) >= VISIBLE_LEVELS
    else:
        inked = image < 128
    black_near = cv2.blur(inked.astype(np.float32), (3, 3), borderType=cv2.BORDER_CONSTANT) >= TRAIL_SHARE - 1e-6
    height, width = image.shape
    result = []
    for row, pixels in zip(rows, intent_pixels, strict=True):
        if len(pixels) == 0:
            result.append(row)
            continue
        sample = pixels[:: max(1, len(pixels) // LEGIBILITY_SAMPLES)]
        page_mm = np.column_stack([(sample[:, 1] + 0.5) / px_per_mm, (sample[:, 0] + 0.5) / px_per_mm])
        mapped = page_to_image(applied, page_mm)
        xs, ys = np.rint(mapped[:, 0]).astype(int), np.rint(mapped[:, 1]).astype(int)
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
        if not isinstance(sheet, SheetId):
            continue
        # A B2 code names the serial alone; the page is one of the template's PDF all the same.
        if sheet.serial_only or (
            sheet.template_id == layout.template_id and layout.template_hash.startswith(sheet.short_hash)
        ):
            return sheet
    raise SimulationError(f"page {index + 1} of {pdf_path} is not a ballot of template {layout.template_id}")
