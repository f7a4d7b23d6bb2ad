"""A block read the other way round (``from-scan --choice-per column``): each column of boxes is one question
and the rows are its options. An observation grid (vehicles 1–10 across, Vehicle type: car / SUV / van down)
or a row of questions each answered by ticking one box in its column.

The block's rows fall into *bands* where the gap between two rows is clearly wider than the usual one (a
heading line such as Vehicle type sits there): each band is one section whose options are its rows' labels
(the text left of each row) and whose rows are the block's columns, each named after its band's heading and
its column's heading (Vehicle type 3).
"""

from __future__ import annotations

import numpy as np

from pipeline.forms.blocks import (
    Words,
    column_spans,
    headings_of,
    label_left,
    line_above,
    read_words,
    union,
)
from pipeline.forms.grid import Block
from pipeline.forms.ocr import LabelReader
from pipeline.forms.places import InkMap, Place, clearance
from pipeline.forms.proposed import MAX_OPTIONS, OptionColumn, ProposedRow, ProposedSection, Reading

BAND_GAP = 1.5  # a gap this many times the block's narrowest row pitch starts a new band


def read_columns(
    block: Block,
    words: Words,
    ink: InkMap,
    px_per_mm: float,
    reader: LabelReader,
    options: tuple[str, ...] = (),
    *,
    phrases: bool = False,
) -> tuple[list[ProposedSection], list[str]]:
    """The sections ``block`` holds read column by column, and notes on the bands left out."""
    headings = [
        read_words(rect, words, reader, phrases=phrases) if rect else None
        for rect in headings_of(block, words, column_spans(block))
    ]
    everywhere = [place for row in block.rows for place in row]
    sections, notes = [], []
    for band in _bands(block):
        rows = [block.rows[index] for index in band]
        if len(rows) < 2 or len(rows) > MAX_OPTIONS or (options and len(rows) != len(options)):
            notes.append(f"a band of {len(rows)} row(s) at {rows[0][0].rect[1] / px_per_mm:.0f} mm left out")
            continue
        labels = [label_left(row, words, reader, phrases=phrases) for row in rows]
        heading = line_above(rows[0], words, reader, phrases=phrases)
        proposed = [
            _column_row(heading, name, column, [row[column] for row in rows], everywhere, ink, px_per_mm)
            for column, name in enumerate(headings)
        ]
        stroke = float(np.median([place.stroke for row in rows for place in row]))
        extent = union([*(p.rect for row in rows for p in row), *(label.rect for label in labels if label is not None)])
        named = _options(rows, labels, options)
        sections.append(ProposedSection(None, extent, named, tuple(proposed), rows[0][0].kind, (), (), stroke))
    return sections, notes


def _options(
    rows: list[tuple[Place, ...]], labels: list[Reading | None], options: tuple[str, ...]
) -> tuple[OptionColumn, ...]:
    """A band's options: its rows, named by the clerk or by the text left of each."""
    named = []
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        where = label.rect if label is not None else row[0].rect
        if options:
            reading = Reading(label.text if label else "", True, "", where)
            named.append(OptionColumn(options[index], reading, (index, index)))
        elif label is None or not label.text:
            reading = Reading("", False, "no option name beside the row", where)
            named.append(OptionColumn(str(index + 1), reading, (index, index)))
        else:
            named.append(OptionColumn(label.text[:40], label, (index, index)))
    return tuple(named)


def _column_row(
    heading: Reading | None,
    name: Reading | None,
    column: int,
    places: list[Place],
    everywhere: list[Place],
    ink: InkMap,
    px_per_mm: float,
) -> ProposedRow:
    """One column of a band as a row: named after the band's heading and the column's (Vehicle type 3), or
    its place when the column has no heading."""
    number = name.text if name is not None else str(column + 1)
    title = " ".join(part for part in (heading.text if heading else "", number) if part)
    sure = (heading is None or heading.sure) and (name is None or name.sure)
    doubt = "; ".join(filter(None, [heading.doubt if heading else "", name.doubt if name else ""]))
    rect = name.rect if name is not None else places[0].rect
    clear = tuple(clearance(ink, place, [p for p in everywhere if p is not place], px_per_mm) for place in places)
    strip = union([place.rect for place in places])
    return ProposedRow(
        Reading(title, sure, doubt, rect), strip, tuple(place.rect for place in places), len(places), clear
    )


def _bands(block: Block) -> list[list[int]]:
    """The block's rows (indices) grouped where the gap between two is clearly wider than the narrowest."""
    ys = [float(np.mean([place.centre[1] for place in row])) for row in block.rows]
    if len(ys) < 2:
        return [[0]]
    gaps = np.diff(ys)
    pitch = float(gaps.min())
    bands: list[list[int]] = [[0]]
    for index, gap in enumerate(gaps.tolist(), start=1):
        if gap > BAND_GAP * pitch:
            bands.append([])
        bands[-1].append(index)
    return bands
