"""What ``from-scan`` found on a blank, before it becomes a template: sections of rows and options, every text
with how sure OCR is of it. Made by :mod:`pipeline.forms.tables` (a ruled table) and
:mod:`pipeline.forms.blocks` (answer places standing free), gathered by :mod:`pipeline.forms.proposal`, written
out by :mod:`pipeline.forms.draft` and drawn by :mod:`pipeline.forms.preview`. Everything is in pixels of the
deskewed blank.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pipeline.common.imaging import Gray
from pipeline.forms.ocr import OcrText, similarity
from pipeline.forms.places import Place
from pipeline.forms.ruling import PxRect, Table

Marker = Literal["square", "circle", "cell"]

# The grades offices print, as one word each (the template's options and 不了解).
COMMON_GRADES = ("满意", "基本满意", "不满意", "不了解", "比较满意", "一般", "非常满意")
OPTION_WORDS = (*COMMON_GRADES, "较满意", "不太满意", "非常不满意")
OPTION_MATCH = 0.5  # similarity to a known option word that makes a heading an option heading
MIN_OPTIONS, MAX_OPTIONS = 2, 7


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
    heading: Reading  # what OCR read in the heading (or beside the box); sure only when it is ``word``
    cols: tuple[int, int]  # the table's grid columns it spans ((c, c) for free-standing places: column c)


@dataclass(frozen=True)
class ProposedRow:
    label: Reading
    band: PxRect
    boxes: tuple[PxRect, ...]  # one per option, in the section's option order
    squares: int  # how many of the answer places are printed (the rest are whole cells)
    clear: tuple[tuple[float, ...], ...] = ()  # per box, paper around it (px, CLEAR_DIRECTIONS); () in tables


@dataclass(frozen=True)
class ProposedSection:
    table: Table | None  # the ruled table, or None for answer places standing free
    rect: PxRect  # the table's outer border, or the box around the rows
    options: tuple[OptionColumn, ...]
    rows: tuple[ProposedRow, ...]
    marker: Marker
    notes: tuple[str, ...]  # blank rows left out: for the clerk to know
    skipped: tuple[str, ...]  # rows left out that may be rows to count: for the clerk to check
    box_line_px: float  # stroke of the printed squares or circles (0 for empty-cell forms)


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
    codes: tuple[str, ...] = ()  # QR codes and barcodes printed on the blank (their texts)
    places: tuple[Place, ...] = ()  # every answer place seen, in sections or not (the form's anchors)


@dataclass(frozen=True)
class FormNotFound:
    """The blank could not be turned into a template, and why; what was seen, for the preview."""

    reason: str
    image: Gray | None = None
    px_per_mm: float = 0.0
    places: tuple[Place, ...] = ()
    notes: tuple[str, ...] = ()


def doubted(reading: Reading, reason: str) -> Reading:
    return replace(reading, sure=False, doubt="; ".join(filter(None, [reading.doubt, reason])))


def distrusted(section: ProposedSection, reason: str) -> ProposedSection:
    options = tuple(replace(column, heading=doubted(column.heading, reason)) for column in section.options)
    rows = tuple(replace(row, label=doubted(row.label, reason)) for row in section.rows)
    return replace(section, options=options, rows=rows)


def match_option(read: OcrText, words: tuple[str, ...] = OPTION_WORDS) -> tuple[str, float]:
    """The word of ``words`` nearest to any reading of a heading, and how near (0–1)."""
    texts = [text.replace("□", "").replace("☐", "") for text in read.readings] or [""]
    return max(((word, similarity(text, word)) for word in words for text in texts), key=lambda pair: pair[1])


def is_option_heading(read: OcrText, words: tuple[str, ...] = OPTION_WORDS) -> bool:
    # One glyph matching half of a two-character word (a □ read as 一 against 一般) is no evidence.
    return match_option(read, words)[1] >= OPTION_MATCH and max(map(len, read.readings), default=0) >= 2
