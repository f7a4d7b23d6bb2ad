"""Form scan: propose a template from one scan of an existing paper form (a blank, or a filled copy when no
blank exists).

Stages, in :func:`scan_blank`:

1. *Deskew* (:mod:`pipeline.forms.ruling`): the page made upright; the QR codes and barcodes it prints are
   read (their texts may identify the form later, and their squares are no answer places).
2. *Ruled tables* (:mod:`pipeline.forms.tables`): each table whose headings name options (the usual grades,
   or the clerk's ``--options``) is a section.
3. *Answer places anywhere* (:mod:`pipeline.forms.places`, :mod:`pipeline.forms.grid`,
   :mod:`pipeline.forms.blocks`): printed □ and ○ outside those tables, grouped into rows and option columns,
   are sections too, named by the text around them; a column of places each with its option text beside it
   is one question (:mod:`pipeline.forms.lists`: a vertical list, also two standing side by side).
4. *Title*: the tallest text line above the first section, OCR'd to tell forms apart later.

Everything is measured in pixels of the deskewed blank; :mod:`pipeline.forms.draft` expresses it in mm and
writes the template, :mod:`pipeline.forms.preview` draws what was found. What OCR is not sure of is kept and
marked 待核对; nothing is silently guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import zxingcpp

from pipeline.ballot.template import EXTERNAL_ROWS, EXTERNAL_SECTIONS
from pipeline.common.imaging import MM_PER_INCH, Gray
from pipeline.forms.blocks import page_words, read_block, read_text, title_line
from pipeline.forms.columns import read_columns
from pipeline.forms.grid import find_blocks
from pipeline.forms.lists import find_lists, read_list
from pipeline.forms.ocr import LabelReader, ink_mask, is_cjk
from pipeline.forms.places import Place, find_places, ink_map
from pipeline.forms.proposed import (
    FormNotFound,
    FormProposal,
    ProposedSection,
    Reading,
    distrusted,
    doubted,
)
from pipeline.forms.ruling import PxRect, Table, deskew, find_tables
from pipeline.forms.tables import read_table
from pipeline.reading.ingest import ScanPage

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "B5": (176.0, 250.0), "Letter": (215.9, 279.4)}
FALLBACK_DPI = 200.0
MIN_PX_PER_MM = 7.5  # ≈ 190 dpi: below it no OCR reading of the blank is trusted
ChoicePer = Literal["row", "column"]
STACKED = 0.5  # share of a joined section's boxes' width under another's: their rows interleave, sorted down
SIDE_BY_SIDE = 0.5  # sections overlapping by this share of the lower one's height are side by side
TITLE_GAP_MM = 1.0  # the title of a form without a ruled table is looked for this far above its first section


def scan_blank(
    page: ScanPage, *, lang: str = "chi_sim", options: Sequence[str] = (), choice_per: ChoicePer = "row"
) -> FormProposal | FormNotFound:
    """Deskew the blank, find its ruled tables and its free-standing answer places, and read their option
    names and row labels. ``options``: the clerk's option words, left to right (2–7, any language);
    ``choice_per``: whether a row of free-standing boxes is one question (the usual) or a column is."""
    px_per_mm, notes = _resolution(page)
    image, angle = deskew(page.image)
    codes = _codes(image)
    wanted = tuple(options)
    tables = find_tables(image, px_per_mm)
    if not tables:
        tables = find_tables(image, px_per_mm, faint=True)
        notes += ["the table's rules are faint: found looking for faint grey lines"] if tables else []
    ink = ink_map(image, px_per_mm)
    sections: list[ProposedSection] = []
    with LabelReader(lang) as reader:
        for index, table in enumerate(tables):
            section = read_table(image, table, px_per_mm, reader, wanted)
            if isinstance(section, str):
                notes.append(f"table {index + 1}: {section}; its answer places are looked for one by one")
            else:
                sections.append(section)
        taken = [section.rect for section in sections]
        places = find_places(ink, px_per_mm, exclude=[rect for _, rect in codes])
        free = [place for place in places if not any(_inside(place.centre, rect) for rect in taken)]
        blocks = find_blocks(free, ink, px_per_mm)
        words = page_words(image, ink, free, px_per_mm)
        phrases = not is_cjk(lang)
        blocks, lists, left_out = find_lists(blocks, free, words, reader, phrases=phrases)
        notes += left_out
        for vertical in lists:
            listed = read_list(vertical, words, ink, px_per_mm, reader, wanted, phrases=phrases)
            if isinstance(listed, str):
                notes.append(f"answer places {_where(vertical.rect, px_per_mm)}: {listed}; ignored")
            else:
                sections.append(listed)
        for block in blocks:
            if choice_per == "column":
                found, left_out = read_columns(block, words, ink, px_per_mm, reader, wanted, phrases=phrases)
                sections += found
                notes += [f"answer places {_where(block.rect, px_per_mm)}: {note}" for note in left_out]
                continue
            others = [other for other in blocks if other is not block]
            section = read_block(block, words, others, ink, px_per_mm, reader, wanted, phrases=phrases)
            if isinstance(section, str):
                notes.append(f"answer places {_where(block.rect, px_per_mm)}: {section}; ignored")
            else:
                sections.append(section)
        # Every printed place, and those the blocks found under marks: the form is found again by all of them.
        hidden = [place for block in blocks for row in block.rows for place in row if not place.seen]
        seen = tuple((*places, *hidden))
        if not sections:
            return FormNotFound(_nothing(tables, places, notes), image, px_per_mm, seen, tuple(notes))
        sections = _joined_alike(_reading_order(sections))
        if sections[0].table is not None:
            title = read_title(image, sections[0].table, reader)
        else:
            line = title_line(words, sections[0].rect[1] - TITLE_GAP_MM * px_per_mm)
            title = read_text(words, line, reader) if line is not None else None
        labels = sum(len(s.rows) + len(s.options) for s in sections) + (title is not None)
        calls, seconds = reader.calls, reader.seconds
    if len(sections) > EXTERNAL_SECTIONS:
        notes.append(f"{len(sections)} sections found; only the first {EXTERNAL_SECTIONS} are used")
    if px_per_mm < MIN_PX_PER_MM:
        # Measured: at 150 dpi thin strokes blur away and whole characters are misread with confidence.
        reason = f"the blank was scanned at {px_per_mm * MM_PER_INCH:.0f} dpi; scan it at 300 dpi"
        notes.append(f"{reason}: every label is to be checked")
        sections = [distrusted(section, reason) for section in sections]
        title = doubted(title, reason) if title else None
    return FormProposal(
        page.source,
        image,
        px_per_mm,
        angle,
        title,
        tuple(sections[:EXTERNAL_SECTIONS]),
        tuple(notes),
        labels,
        calls,
        seconds,
        tuple(text for text, _ in codes),
        seen,
    )


def _reading_order(sections: list[ProposedSection]) -> list[ProposedSection]:
    """Top to bottom, and left to right among sections side by side (overlapping by half their height)."""
    lines: list[list[ProposedSection]] = []
    for section in sorted(sections, key=lambda s: s.rect[1]):
        line = lines[-1] if lines else None
        if line is not None and _beside(line[0].rect, section.rect):
            line.append(section)
        else:
            lines.append([section])
    return [section for line in lines for section in sorted(line, key=lambda s: s.rect[0])]


def _beside(a: PxRect, b: PxRect) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= SIDE_BY_SIDE * min(a[3] - a[1], b[3] - b[1])


def _joined_alike(sections: list[ProposedSection]) -> list[ProposedSection]:
    """Consecutive sections of free-standing places offering the same options (as read) made one: rows of
    inline boxes (1. 局机关 □满意 □基本满意 □不满意) move with their label's length, so each is a block of
    its own, yet they are one question list. An option read surely in one of them names it for both."""
    joined: list[ProposedSection] = []
    for section in sections:
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.table is None
            and section.table is None
            and last.marker == section.marker
            and [c.word for c in last.options] == [c.word for c in section.options]
            and len(last.rows) + len(section.rows) <= EXTERNAL_ROWS
        ):
            rect = (
                min(last.rect[0], section.rect[0]),
                min(last.rect[1], section.rect[1]),
                max(last.rect[2], section.rect[2]),
                max(last.rect[3], section.rect[3]),
            )
            # Blocks of alike columns may interleave (two names of one length, one longer between): the rows
            # of the joined section are put back in the page's order; sections side by side follow each other.
            rows = last.rows + section.rows
            (left, right), (start, end) = _boxes_across(last), _boxes_across(section)
            if min(right, end) - max(left, start) >= STACKED * (end - start):  # one column of rows, not two
                rows = tuple(sorted(rows, key=lambda row: row.band[1]))
            options = tuple(a if a.heading.sure else b for a, b in zip(last.options, section.options, strict=True))
            joined[-1] = replace(last, rect=rect, rows=rows, options=options, notes=last.notes + section.notes)
        else:
            joined.append(section)
    return joined


def _boxes_across(section: ProposedSection) -> tuple[float, float]:
    """How far a section's answer places reach across the page (px), its labels left out."""
    boxes = [box for row in section.rows for box in row.boxes]
    return min(box[0] for box in boxes), max(box[2] for box in boxes)


def _nothing(tables: Sequence[object], places: Sequence[Place], notes: list[str]) -> str:
    """Why no section was found, for the clerk."""
    if not tables and not places:
        return "no ruled table and no printed answer boxes (□ or ○) found"
    if notes:
        return "; ".join(notes)
    return f"{len(places)} answer boxes seen, but no two in a row"


def _where(rect: PxRect, px_per_mm: float) -> str:
    return f"at {rect[0] / px_per_mm:.0f}, {rect[1] / px_per_mm:.0f} mm"


def _inside(point: tuple[float, float], rect: PxRect) -> bool:
    return rect[0] <= point[0] <= rect[2] and rect[1] <= point[1] <= rect[3]


def _codes(image: Gray) -> list[tuple[str, PxRect]]:
    """The texts and places of the QR codes and barcodes printed on the page."""
    found = []
    for result in zxingcpp.read_barcodes(image):
        if not result.valid or not result.text:
            continue
        position = result.position
        corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
        xs, ys = [float(c.x) for c in corners], [float(c.y) for c in corners]
        found.append((result.text, (min(xs), min(ys), max(xs), max(ys))))
    return found


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


def read_title(image: Gray, table: Table, reader: LabelReader) -> Reading | None:
    """The tallest line of text above the first table, within its width: the form's title."""
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
