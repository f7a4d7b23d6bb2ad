"""Form scan: propose a template from one blank scan of an existing paper form (no marks, no QR code).

Stages, in :func:`scan_blank`:

1. *Deskew* and *tables* (:mod:`pipeline.forms.fitting`): the page made upright; the ruled tables, their rule
   positions and merged cells.
2. *Headings* (:func:`read_table`): the cells of a table's first grid rows are OCR'd one by one and matched
   to the known option words; the lowest row holding option headings ends the table's heading. The row
   label column is the one headed 单位名称 (or alike), else the widest left of the options.
3. *Rows*: below the heading, each grid row's label cell is OCR'd, and each answer cell either holds a
   printed square (□, or a circle) or is itself the place to tick.
4. *Title*: the tallest text line above the first table, OCR'd to tell forms apart later.

Everything is measured in pixels of the deskewed blank; :func:`proposal_template` expresses it in mm from
the first table's outer top-left corner, so filled copies can be aligned on the table itself. What OCR is
not sure of is kept, marked 待核对 in the YAML (:func:`template_yaml`) and drawn in red on the preview
(:func:`preview_png`); nothing is silently guessed.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFont

from pipeline.ballot.template import DONT_KNOW, Template, parse_template
from pipeline.common.imaging import MM_PER_INCH, Gray
from pipeline.forms.ocr import LabelReader, OcrText, ink_mask, similarity
from pipeline.forms.ruling import (
    Cell,
    CellKind,
    PxRect,
    Table,
    cell_content,
    deskew,
    find_tables,
    interior,
    square_stroke,
)
from pipeline.reading.ingest import ScanPage

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "B5": (176.0, 250.0), "Letter": (215.9, 279.4)}
FALLBACK_DPI = 200.0
MIN_PX_PER_MM = 7.5  # ≈ 190 dpi: below it no OCR reading of the blank is trusted
HEADING_ROWS = 3  # option headings are looked for in this many grid rows from the table's top
OPTION_MATCH = 0.5  # similarity to a known option word that makes a heading an option heading
BLANK_ROW = "blank row (no label)"
UNTITLED = "满意度测评表（外部表格）"
EXTERNAL_INSTRUCTION = "按原表说明填写（外部表格，从空白表扫描生成）"
PREVIEW_PX_PER_MM = 6.0  # ≈ 150 dpi: every label legible, a few hundred KB
PREVIEW_TEXT_MM = 3.5
PREVIEW_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # index 2: Simplified Chinese
SURE, DOUBT, TABLE, BOX = "#1a9641", "#d7191c", "#2b83ba", "#7b3294"

# The grades offices print, as one word each (the template's options and 不了解).
COMMON_GRADES = ("满意", "基本满意", "不满意", "不了解", "比较满意", "一般", "非常满意")
OPTION_WORDS = (*COMMON_GRADES, "较满意", "不太满意", "非常不满意")
LABEL_HEADINGS = ("单位名称", "被测评单位", "单位", "名称", "测评对象", "部门", "科室", "姓名")
OTHER_HEADINGS = ("序号", "备注", "意见建议", "意见", "建议", "测评等次", "评价等次", "等次", "类别", "职务")


@dataclass(frozen=True)
class Reading:
    """A text the clerk may have to check: what is used, whether OCR is sure, and why not."""

    text: str
    sure: bool
    doubt: str
    rect: PxRect


@dataclass(frozen=True)
class OptionColumn:
    word: str  # the option as the template names it
    heading: Reading  # what OCR read in the heading cell; sure only when it is exactly ``word``
    cols: tuple[int, int]


@dataclass(frozen=True)
class ProposedRow:
    label: Reading
    band: PxRect
    boxes: tuple[PxRect, ...]  # one per option, in the section's option order
    squares: int  # how many of the answer places are printed squares (the rest are whole cells)


@dataclass(frozen=True)
class ProposedSection:
    table: Table
    options: tuple[OptionColumn, ...]
    rows: tuple[ProposedRow, ...]
    marker: Literal["square", "cell"]
    notes: tuple[str, ...]  # blank rows left out: for the clerk to know
    skipped: tuple[str, ...]  # rows left out that may be rows to count: for the clerk to check
    box_line_px: float  # stroke of the printed squares (0 for empty-cell forms)


@dataclass(frozen=True)
class FormProposal:
    """What the blank scan shows, in deskewed pixels, before it becomes a template."""

    source: str
    image: Gray  # the deskewed blank, on which every rectangle is measured
    px_per_mm: float
    skew_deg: float
    title: Reading | None
    sections: tuple[ProposedSection, ...]
    notes: tuple[str, ...]
    ocr_labels: int
    ocr_calls: int
    ocr_seconds: float


@dataclass(frozen=True)
class FormNotFound:
    """The blank could not be turned into a template, and why."""

    reason: str


def scan_blank(page: ScanPage, *, lang: str = "chi_sim") -> FormProposal | FormNotFound:
    """Deskew the blank, find its tables and read their headings and row labels."""
    px_per_mm, notes = _resolution(page)
    image, angle = deskew(page.image)
    tables = find_tables(image, px_per_mm)
    if not tables:
        return FormNotFound("no ruled table found (a form with ruled rows and columns is needed)")
    sections: list[ProposedSection] = []
    with LabelReader(lang) as reader:
        for index, table in enumerate(tables):
            section = read_table(image, table, px_per_mm, reader)
            if isinstance(section, str):
                notes.append(f"table {index + 1}: {section}; ignored")
            else:
                sections.append(section)
        if not sections:
            return FormNotFound("; ".join(notes) or "no table with option headings found")
        title = read_title(image, sections[0].table, reader)
        labels = sum(len(s.rows) + len(s.options) for s in sections) + (title is not None)
        calls, seconds = reader.calls, reader.seconds
    if len(sections) > 4:
        notes.append(f"{len(sections)} tables with options found; only the first 4 are used")
    if px_per_mm < MIN_PX_PER_MM:
        # Measured: at 150 dpi thin strokes blur away and whole characters are misread with confidence.
        reason = f"the blank was scanned at {px_per_mm * MM_PER_INCH:.0f} dpi; scan it at 300 dpi"
        notes.append(f"{reason}: every label is to be checked")
        sections = [_distrusted(section, reason) for section in sections]
        title = _doubted(title, reason) if title else None
    return FormProposal(
        page.source, image, px_per_mm, angle, title, tuple(sections[:4]), tuple(notes), labels, calls, seconds
    )


def _doubted(reading: Reading, reason: str) -> Reading:
    return replace(reading, sure=False, doubt="; ".join(filter(None, [reading.doubt, reason])))


def _distrusted(section: ProposedSection, reason: str) -> ProposedSection:
    options = tuple(replace(column, heading=_doubted(column.heading, reason)) for column in section.options)
    rows = tuple(replace(row, label=_doubted(row.label, reason)) for row in section.rows)
    return replace(section, options=options, rows=rows)


def _resolution(page: ScanPage) -> tuple[float, list[str]]:
    """Pixels per mm: the file's dpi when it gives a plausible paper size, else the paper size it fits."""
    height, width = page.image.shape
    if page.dpi:
        page_mm = sorted((width / page.dpi * MM_PER_INCH, height / page.dpi * MM_PER_INCH))
        if 100 <= page_mm[0] <= 450 and 140 <= page_mm[1] <= 650:
            return page.dpi / MM_PER_INCH, []
    short_px = min(width, height)
    aspect = max(width, height) / short_px
    paper, (short_mm, _) = min(PAPER_MM.items(), key=lambda item: abs(item[1][1] / item[1][0] - aspect))
    if abs(PAPER_MM[paper][1] / short_mm - aspect) < 0.03:
        return short_px / short_mm, [f"no usable resolution in the file; assumed the page is {paper}"]
    return FALLBACK_DPI / MM_PER_INCH, [f"no usable resolution in the file; assumed {FALLBACK_DPI:.0f} dpi"]


def match_option(read: OcrText) -> tuple[str, float]:
    """The known option word nearest to any reading of a heading, and how near (0–1)."""
    texts = [text.replace("□", "").replace("☐", "") for text in read.readings] or [""]
    return max(((word, similarity(text, word)) for word in OPTION_WORDS for text in texts), key=lambda pair: pair[1])


def read_table(image: Gray, table: Table, px_per_mm: float, reader: LabelReader) -> ProposedSection | str:
    """The section this table holds, or why it holds none."""
    kinds = {cell: cell_content(image, cell, table.line_px, px_per_mm) for cell in table.cells}
    headings: dict[Cell, OcrText] = {}
    for cell in table.cells:
        if cell.rows[0] < HEADING_ROWS and kinds[cell][0] == "text":
            read = reader.read(interior(image, cell.rect, table.line_px)[0])
            if read is not None:
                headings[cell] = read
    matched = {cell: read for cell, read in headings.items() if _is_option_heading(read)}
    if not matched:
        return "no option headings (满意 / 基本满意 / …) in its first rows"
    heading_end = max(cell.rows[1] for cell in matched)
    label_col = _label_column(table, headings, min(cell.cols[0] for cell in matched))
    if label_col is None:
        return "no label column left of the option columns"
    body = [r for r in range(heading_end + 1, len(table.ys) - 1) if kinds[table.cell_at(r, label_col)][0] == "text"]
    options = _option_columns(table, headings, matched, kinds, heading_end, label_col, body)
    if isinstance(options, str):
        return options
    rows: list[ProposedRow] = []
    notes: list[str] = []
    skipped: list[str] = []
    for r in range(heading_end + 1, len(table.ys) - 1):
        row = _read_row(image, table, r, label_col, options, kinds, reader)
        if isinstance(row, str):
            (notes if row == BLANK_ROW else skipped).append(f"grid row {r + 1} left out: {row}")
        else:
            rows.append(row)
    if not rows:
        return "no rows with a label below the headings"
    squares = sum(row.squares for row in rows)
    marker: Literal["square", "cell"] = "square" if squares * 2 > len(rows) * len(options) else "cell"
    usual = len(options) if marker == "square" else 0
    odd = "some answer places differ from the rest of the table (a square not found, or an extra mark)"
    rows = [row if row.squares == usual else replace(row, label=_doubted(row.label, odd)) for row in rows]
    squares_found = [box for row in rows if row.squares == len(options) for box in row.boxes]
    stroke = float(np.median([square_stroke(image, box) for box in squares_found])) if squares_found else 0.0
    return ProposedSection(table, options, tuple(rows), marker, tuple(notes), tuple(skipped), stroke)


def _is_option_heading(read: OcrText) -> bool:
    # One glyph matching half of a two-character word (a □ read as 一 against 一般) is no evidence.
    return match_option(read)[1] >= OPTION_MATCH and max(map(len, read.readings), default=0) >= 2


def _option_columns(
    table: Table,
    headings: dict[Cell, OcrText],
    matched: dict[Cell, OcrText],
    kinds: dict[Cell, tuple[CellKind, PxRect | None]],
    heading_end: int,
    label_col: int,
    body: list[int],
) -> tuple[OptionColumn, ...] | str:
    """Columns right of the labels headed by an option word; and, flagged, any column whose heading is no
    known word but whose cells are all empty or printed squares (an answer column with a misread heading)."""
    columns: list[OptionColumn] = []
    for c in range(label_col + 1, len(table.xs) - 1):
        cell = table.cell_at(heading_end, c)
        if cell.cols[0] != c:
            continue
        read = headings.get(cell)
        text = read.text if read else ""
        if cell in matched and read is not None:
            word, score = match_option(read)
            sure = read.sure and read.text == word
            doubt = "" if sure else (read.doubt or f"read {read.text!r}, taken as {word} ({score:.0%} alike)")
        else:
            known = max(similarity(text, other) for other in (*LABEL_HEADINGS, *OTHER_HEADINGS)) >= 0.6
            answers = [table.cell_at(r, c) for r in body]
            blank = all(a.cols == (c, c) and kinds[a][0] != "text" for a in answers)
            if known or not blank or not answers:
                continue
            word, sure = text or f"选项{len(columns) + 1}", False
            doubt = f"heading {text or '(unread)'} is no known option; is this an answer column?"
        columns.append(OptionColumn(word, Reading(text, sure, doubt, cell.rect), cell.cols))
    words = [column.word for column in columns]
    if len(set(words)) != len(words):
        return f"two option columns read as the same word ({' / '.join(words)})"
    if not 2 <= len(columns) <= 6:
        return f"{len(columns)} option columns found; 2–6 expected"
    return tuple(columns)


def _label_column(table: Table, headings: dict[Cell, OcrText], first_option: int) -> int | None:
    """The column of row labels: headed 单位名称 (or alike), else the widest column left of the options."""
    candidates = list(range(first_option))
    if not candidates:
        return None
    for cell, read in headings.items():
        single = cell.cols[0] == cell.cols[1] and cell.cols[0] in candidates
        if single and max(similarity(read.text, word) for word in LABEL_HEADINGS) >= 0.75:
            return cell.cols[0]
    return max(candidates, key=lambda c: table.xs[c + 1] - table.xs[c])


def _read_row(
    image: Gray,
    table: Table,
    r: int,
    label_col: int,
    options: tuple[OptionColumn, ...],
    kinds: dict[Cell, tuple[CellKind, PxRect | None]],
    reader: LabelReader,
) -> ProposedRow | str:
    label_cell = table.cell_at(r, label_col)
    answer_cells = [table.cell_at(r, column.cols[0]) for column in options]
    if label_cell.rows != (r, r) or any(cell.rows != (r, r) for cell in answer_cells):
        return "cells merged with the next row"
    if len({cell.cols for cell in answer_cells}) != len(answer_cells):
        return "no separate answer cells (a heading or note across the table)"
    if kinds[label_cell][0] == "empty":
        return BLANK_ROW
    if all(kinds[cell][0] == "text" for cell in answer_cells):
        return "text in every answer cell (a heading or a note?)"
    read = reader.read(interior(image, label_cell.rect, table.line_px)[0])
    if read is None:
        return BLANK_ROW
    boxes = tuple(kinds[cell][1] or cell.rect for cell in answer_cells)
    squares = sum(kinds[cell][0] == "square" for cell in answer_cells)
    band = (table.xs[0], table.ys[r], table.xs[-1], table.ys[r + 1])
    label = Reading(read.text, read.sure, read.doubt, label_cell.rect)
    return ProposedRow(label, band, boxes, squares)


def read_title(image: Gray, table: Table, reader: LabelReader) -> Reading | None:
    """The tallest line of text above the first table: the form's title."""
    top = int(table.ys[0] - table.line_px * 2)
    region = image[:top, int(table.xs[0]) : int(table.xs[-1]) + 1]
    if region.size == 0:
        return None
    ink = ink_mask(region)
    rows = np.flatnonzero(ink.sum(axis=1) > 0)
    if rows.size == 0:
        return None
    lines: list[list[int]] = []
    for index in rows.tolist():
        if lines and index - lines[-1][-1] <= 3:
            lines[-1].append(index)
        else:
            lines.append([index])
    tallest = max(lines, key=len)
    y0, y1 = max(0, tallest[0] - 4), tallest[-1] + 5
    cols = np.flatnonzero(ink[y0:y1].any(axis=0))
    x0, x1 = int(cols[0]) + int(table.xs[0]), int(cols[-1]) + int(table.xs[0])
    read = reader.read(image[y0:y1, x0 - 4 : x1 + 5], line=True)
    if read is None:
        return None
    return Reading(read.text, read.sure, read.doubt, (float(x0), float(y0), float(x1 + 1), float(y1)))


@dataclass(frozen=True)
class Doubt:
    """Something the clerk must check on the paper form: where in the template, what was read, and why."""

    path: str  # e.g. 'sections.0.rows.3.unit'
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path} = {self.text}: {self.reason}"


def proposal_template(proposal: FormProposal, template_id: str) -> tuple[Template, list[Doubt]]:
    """The proposal as a template (``source: external``) and everything in it the clerk must check.

    Raises :class:`~pipeline.ballot.template.TemplateInvalid` when the form cannot be one (e.g. 6 grades)."""
    first = proposal.sections[0].table
    origin = (first.xs[0], first.ys[0])
    scale = proposal.px_per_mm

    def mm(rect: PxRect) -> dict[str, float]:
        x0, y0, x1, y1 = ((value - origin[i % 2]) / scale for i, value in enumerate(rect))
        return {"x": round(x0, 2), "y": round(y0, 2), "w": round(x1 - x0, 2), "h": round(y1 - y0, 2)}

    doubts: list[Doubt] = []
    title = proposal.title.text[:60] if proposal.title and proposal.title.text else UNTITLED
    if proposal.title is None or not proposal.title.sure:
        reason = proposal.title.doubt if proposal.title else "no title found above the table"
        doubts.append(Doubt("title", title, reason))
    seen: set[str] = set()
    sections: list[dict[str, object]] = []
    places: list[dict[str, object]] = []
    for index, proposed in enumerate(proposal.sections):
        # The template lists 不了解 last (dont_know: true); the boxes follow the template's order.
        order = sorted(range(len(proposed.options)), key=lambda i: proposed.options[i].word == DONT_KNOW)
        for column in proposed.options:
            if not column.heading.sure:
                doubts.append(Doubt(f"sections.{index}.options", column.word, column.heading.doubt))
        doubts += [Doubt(f"sections.{index}.rows", "(row left out)", skipped) for skipped in proposed.skipped]
        rows, geometry = [], []
        for row_index, row in enumerate(proposed.rows):
            name = row.label.text[:40] or f"第{row_index + 1}行"
            reason = row.label.doubt if not row.label.sure else ""
            if name in seen:
                name = f"{name}（{row_index + 1}）"
                reason = "; ".join(filter(None, [reason, "the same name as another row"]))
            seen.add(name)
            if reason:
                doubts.append(Doubt(f"sections.{index}.rows.{row_index}.unit", name, reason))
            rows.append({"unit": name})
            boxes = [mm(row.boxes[i]) for i in order]
            geometry.append({"band": mm(row.band), "label": mm(row.label.rect), "boxes": boxes})
        words = [proposed.options[i].word for i in order]
        sections.append(
            {"options": [w for w in words if w != DONT_KNOW], "dont_know": DONT_KNOW in words, "rows": rows}
        )
        line_mm = round(max(proposed.table.line_px / scale, 0.05), 2)
        table = proposed.table
        places.append(
            {
                "table": mm(table.rect),
                "marker": proposed.marker,
                "line_mm": line_mm,
                "box_line_mm": round(min(max(proposed.box_line_px / scale, 0.05), 2.0), 2),
                "columns": [round((x - origin[0]) / scale, 2) for x in table.xs],
                "rules": [round((y - origin[1]) / scale, 2) for y in table.ys],
                "rows": geometry,
            }
        )
    height, width = proposal.image.shape
    external = {
        "page_w_mm": round(width / scale, 1),
        "page_h_mm": round(height / scale, 1),
        "origin_x_mm": round(origin[0] / scale, 2),
        "origin_y_mm": round(origin[1] / scale, 2),
        "title_box": mm(proposal.title.rect) if proposal.title else None,
        "sections": places,
    }
    data = {
        "id": template_id,
        "title": title,
        "instruction": EXTERNAL_INSTRUCTION,
        "source": "external",
        "sections": sections,
        "external": external,
    }
    return parse_template(data, template_id), doubts


def template_yaml(template: Template, doubts: list[Doubt], source: str) -> str:
    """The template as YAML in our usual layout, each doubtful line marked ``# 待核对: why``."""
    marks: dict[str, list[str]] = {}
    for doubt in doubts:
        text = f"{doubt.text}: {doubt.reason}" if doubt.path.endswith(".options") else doubt.reason
        marks.setdefault(doubt.path, []).append(text)

    def note(path: str) -> str:
        return f"  # 待核对: {'; '.join(marks[path])}" if path in marks else ""

    lines = [
        f"# Proposed by 'ballot template from-scan' from {Path(source).name}.",
        "# Check every line marked 待核对 against the paper form, correct the text and delete the mark.",
        "# 'external' is where everything sits on the form, in mm from its table's outer top-left corner.",
        f"id: {_scalar(template.id)}",
        f"title: {_scalar(template.title)}{note('title')}",
        f"instruction: {_scalar(template.instruction)}",
        "source: external",
        "sections:",
    ]
    for index, section in enumerate(template.sections):
        options = ", ".join(_scalar(option) for option in section.options)
        lines.append(f"  - options: [{options}]{note(f'sections.{index}.options')}")
        lines.append(f"    dont_know: {'true' if section.dont_know else 'false'}")
        lines.append(f"    rows:{note(f'sections.{index}.rows')}")
        for row_index, row in enumerate(section.rows):
            lines.append(f"      - {{unit: {_scalar(row.unit)}}}{note(f'sections.{index}.rows.{row_index}.unit')}")
    assert template.external is not None
    geometry = {"external": template.external.model_dump(mode="json")}
    dumped = yaml.safe_dump(geometry, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
    return "\n".join(lines) + "\n" + dumped


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that is safe inside ``[…]`` and ``{…}``: plain when it can be, else quoted."""
    plain = re.fullmatch(r"[\w\u3000-\u9fff\uff00-\uffef·—-]+", value) is not None
    if plain and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def preview_png(proposal: FormProposal, doubts: list[Doubt]) -> bytes:
    """The deskewed blank with every table, heading, label and answer box outlined (green: sure, red: check),
    and beside it, at each row's height, what was read."""
    scale = min(1.0, PREVIEW_PX_PER_MM / proposal.px_per_mm)
    page = Image.fromarray(proposal.image).convert("RGB")
    page = page.resize((round(page.width * scale), round(page.height * scale)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (page.width + round(page.width * 0.75), page.height), "white")
    canvas.paste(page, (0, 0))
    draw = ImageDraw.Draw(canvas)
    font, small = (
        _font(round(PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM)),
        _font(round(0.7 * PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM)),
    )
    doubted = {doubt.text for doubt in doubts}

    def box(rect: PxRect, colour: str, width: int = 2) -> None:
        draw.rectangle([value * scale for value in rect], outline=colour, width=width)

    def say(y: float, text: str, sure: bool, reason: str = "") -> None:
        x = page.width + 12
        draw.text((x, y * scale), text, fill=SURE if sure else DOUBT, font=font, anchor="lm")
        if reason:
            left = x + draw.textlength(text, font=font) + 10
            draw.text((left, y * scale), f"待核对: {reason}"[:80], fill=DOUBT, font=small, anchor="lm")

    if proposal.title is not None:
        box(proposal.title.rect, SURE if proposal.title.sure else DOUBT)
        say(
            (proposal.title.rect[1] + proposal.title.rect[3]) / 2,
            f"标题 {proposal.title.text}",
            proposal.title.sure,
            proposal.title.doubt,
        )
    for section in proposal.sections:
        box(section.table.rect, TABLE, 3)
        for column in section.options:
            box(column.heading.rect, SURE if column.heading.sure else DOUBT)
        heading_y = (section.options[0].heading.rect[1] + section.options[0].heading.rect[3]) / 2
        words = " | ".join(column.word for column in section.options)
        say(heading_y, f"选项 {words}", all(column.heading.sure for column in section.options))
        for number, row in enumerate(section.rows, start=1):
            sure = row.label.sure and row.label.text not in doubted
            box(row.label.rect, SURE if sure else DOUBT)
            for answer in row.boxes:
                box(answer, BOX)
            say((row.band[1] + row.band[3]) / 2, f"{number}. {row.label.text or '∅'}", sure, row.label.doubt)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(PREVIEW_FONT, size, index=2)
    except OSError:  # without the CJK font the preview still shows every box; only Chinese text is missing
        return ImageFont.load_default(size)
