"""A ruled table on a blank: its option headings, its label column and its rows (``from-scan``'s first way of
finding a form, for the ruled tables Word and Excel make).

The cells of a table's first grid rows are OCR'd one by one and matched to the known option words (or the
clerk's); the lowest row holding option headings ends the table's heading. The row label column is the one
headed 单位名称 (or alike), else the widest left of the options. Below the heading, each grid row's label
cell is OCR'd, and each answer cell either holds a printed square or circle, or is itself the place to tick.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline.common.imaging import Gray
from pipeline.forms.ocr import LabelReader, OcrText, similarity
from pipeline.forms.proposed import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    OPTION_WORDS,
    Marker,
    OptionColumn,
    ProposedRow,
    ProposedSection,
    Reading,
    doubted,
    is_option_heading,
    match_option,
)
from pipeline.forms.ruling import Cell, CellKind, PxRect, Table, cell_content, interior, square_stroke

HEADING_ROWS = 3  # option headings are looked for in this many grid rows from the table's top
BLANK_ROW = "blank row (no label)"
LABEL_HEADINGS = ("单位名称", "被测评单位", "单位", "名称", "测评对象", "部门", "科室", "姓名")
OTHER_HEADINGS = ("序号", "备注", "意见建议", "意见", "建议", "测评等次", "评价等次", "等次", "类别", "职务")


def read_table(
    image: Gray, table: Table, px_per_mm: float, reader: LabelReader, options: tuple[str, ...] = ()
) -> ProposedSection | str:
    """The section this table holds, or why it holds none. ``options``: the clerk's option words, left to
    right (the headings are then matched to them instead of the usual grades)."""
    words = options or OPTION_WORDS
    kinds = {cell: cell_content(image, cell, table.line_px, px_per_mm) for cell in table.cells}
    headings: dict[Cell, OcrText] = {}
    for cell in table.cells:
        if cell.rows[0] < HEADING_ROWS and kinds[cell][0] == "text":
            read = reader.read(interior(image, cell.rect, table.line_px)[0])
            if read is not None:
                headings[cell] = read
    matched = {cell: read for cell, read in headings.items() if is_option_heading(read, words)}
    if not matched:
        known = " / ".join(options) if options else "满意 / 基本满意 / …"
        return f"no option headings ({known}) in its first rows"
    heading_end = max(cell.rows[1] for cell in matched)
    label_col = _label_column(table, headings, min(cell.cols[0] for cell in matched))
    if label_col is None:
        return "no label column left of the option columns"
    body = [r for r in range(heading_end + 1, len(table.ys) - 1) if kinds[table.cell_at(r, label_col)][0] == "text"]
    columns = _option_columns(table, headings, matched, kinds, heading_end, label_col, body, options)
    if isinstance(columns, str):
        return columns
    rows: list[ProposedRow] = []
    notes: list[str] = []
    skipped: list[str] = []
    for r in range(heading_end + 1, len(table.ys) - 1):
        row = _read_row(image, table, r, label_col, columns, kinds, reader)
        if isinstance(row, str):
            (notes if row == BLANK_ROW else skipped).append(f"grid row {r + 1} left out: {row}")
        else:
            rows.append(row)
    if not rows:
        return "no rows with a label below the headings"
    squares = sum(row.squares for row in rows)
    marker: Marker = "cell"
    if squares * 2 > len(rows) * len(columns):
        shapes = [kinds[table.cell_at(r, column.cols[0])][0] for r in body for column in columns]
        marker = "circle" if shapes.count("circle") > shapes.count("square") else "square"
    usual = len(columns) if marker != "cell" else 0
    odd = "some answer places differ from the rest of the table (a square not found, or an extra mark)"
    rows = [row if row.squares == usual else replace(row, label=doubted(row.label, odd)) for row in rows]
    squares_found = [box for row in rows if row.squares == len(columns) for box in row.boxes]
    stroke = float(np.median([square_stroke(image, box) for box in squares_found])) if squares_found else 0.0
    return ProposedSection(table, table.rect, columns, tuple(rows), marker, tuple(notes), tuple(skipped), stroke)


def _option_columns(
    table: Table,
    headings: dict[Cell, OcrText],
    matched: dict[Cell, OcrText],
    kinds: dict[Cell, tuple[CellKind, PxRect | None]],
    heading_end: int,
    label_col: int,
    body: list[int],
    options: tuple[str, ...],
) -> tuple[OptionColumn, ...] | str:
    """Columns right of the labels headed by an option word; and, flagged, any column whose heading is no
    known word but whose cells are all empty or printed squares (an answer column with a misread heading).
    With the clerk's ``options``, the headings only say which columns they are: as many answer columns as
    options are named by them, left to right."""
    words = options or OPTION_WORDS
    columns: list[OptionColumn] = []
    for c in range(label_col + 1, len(table.xs) - 1):
        cell = table.cell_at(heading_end, c)
        if cell.cols[0] != c:
            continue
        read = headings.get(cell)
        text = read.text if read else ""
        if cell in matched and read is not None:
            word, score = match_option(read, words)
            sure = (read.sure and read.text == word) or bool(options)
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
    if options:
        if len(columns) != len(options):
            return f"{len(columns)} answer columns found, {len(options)} options given"
        columns = [
            replace(column, word=word, heading=replace(column.heading, sure=True, doubt=""))
            for column, word in zip(columns, options, strict=True)
        ]
    named = [column.word for column in columns]
    if len(set(named)) != len(named):
        return f"two option columns read as the same word ({' / '.join(named)})"
    if not MIN_OPTIONS <= len(columns) <= MAX_OPTIONS + 1:
        return f"{len(columns)} option columns found; {MIN_OPTIONS}–{MAX_OPTIONS + 1} expected"
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
    squares = sum(kinds[cell][0] in ("square", "circle") for cell in answer_cells)
    band = (table.xs[0], table.ys[r], table.xs[-1], table.ys[r + 1])
    label = Reading(read.text, read.sure, read.doubt, label_cell.rect)
    return ProposedRow(label, band, boxes, squares)
