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
from pipeline.forms.places import InkMap, clearance
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
    spans = column_spans(block)
    column_names = [
        read_words(rect, words, reader, phrases=phrases) if rect else None for rect in headings_of(block, words, spans)
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
        names = []
        for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
            where = label.rect if label is not None else row[0].rect
            if options:
                names.append(
                    OptionColumn(options[index], Reading(label.text if label else "", True, "", where), (index, index))
                )
            elif label is None or not label.text:
                names.append(
                    OptionColumn(
                        str(index + 1), Reading("", False, "no option name beside the row", where), (index, index)
                    )
                )
            else:
                names.append(OptionColumn(label.text[:40], label, (index, index)))
        proposed = []
        for column, name in enumerate(column_names):
            places = [row[column] for row in rows]
            title = " ".join(
                part for part in (heading.text if heading else "", name.text if name else str(column + 1)) if part
            )
            sure = (heading is None or heading.sure) and (name is None or name.sure)
            doubt = "; ".join(filter(None, [heading.doubt if heading else "", name.doubt if name else ""]))
            rect = name.rect if name is not None else places[0].rect
            strip = union([p.rect for p in places])
            clear = tuple(
                clearance(ink, place, [p for p in everywhere if p is not place], px_per_mm) for place in places
            )
            proposed.append(
                ProposedRow(Reading(title, sure, doubt, rect), strip, tuple(p.rect for p in places), len(places), clear)
            )
        stroke = float(np.median([place.stroke for row in rows for place in row]))
        extent = union([*(p.rect for row in rows for p in row), *(label.rect for label in labels if label is not None)])
        sections.append(ProposedSection(None, extent, tuple(names), tuple(proposed), rows[0][0].kind, (), (), stroke))
    return sections, notes


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
