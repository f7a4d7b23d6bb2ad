"""Blocks of free-standing answer places on a blank: what their columns and rows are called (``from-scan``'s
second way of finding a form, for □ and ○ printed anywhere: Likert lines, inline 1. 局机关 □满意 □不满意, bubble
sheets, a grid ruled only round its border).

Around each block (:mod:`pipeline.forms.grid`) the page's text is cut into words (ink that is neither an
answer place nor a long rule, joined across letter gaps) and read with Tesseract:

* *options*: the clerk's words (``--options``) when the block has as many columns; else the text right
  after each place when every place of the first row has some (□满意 □基本满意); else each column's heading
  (the words stacked over it just above the first row), matched to the usual grades when close to one;
  else numbers, to be checked.
* *row labels*: the words left of a row's first place on its line; where there are none, or where words
  stand at both ends of the row (a scale's anchors, 从不 □□□□□ 总是), the line just above the row that is
  not its column headings (a question over its boxes).

Each place also gets its *clearance*: how far paper reaches from its outline before other print (a heading,
its option text, a rule joining it to the next box, the next box) in each of :data:`CLEAR_DIRECTIONS`
directions, so that the reader looks for ink beside a box only where the blank had paper.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.common.imaging import Gray
from pipeline.forms.grid import Block
from pipeline.forms.ocr import LabelReader, OcrText
from pipeline.forms.places import InkMap, Place, clearance
from pipeline.forms.proposed import (
    MAX_OPTIONS,
    OPTION_WORDS,
    OptionColumn,
    ProposedRow,
    ProposedSection,
    Reading,
    doubted,
    match_option,
)
from pipeline.forms.ruling import PxRect, lines_in

NUMBER_EMS = 2.5  # a row number (序号) is at most this many line heights wide …
NUMBER_SPACE = 0.2  # … and stands this many line heights (a space) before the name
NUMBER_INK = 160  # grey level darker than which a column of a word holds ink
ROW_NUMBER = re.compile(r"[\(（]?\d{1,3}[\.\)）、．:：,，]?")
ROW_NUMBER_START = re.compile(r"[\(（]?\d{1,3}[\.\)）、．:：,，]?(?=\D)")
WORD_GAP_MM = 1.8  # ink closer than this across is one phrase (letters, words, CJK characters)
LINE_GAP_MM = 0.3  # … and this close down (accents, the dots of i and ä)
SPECK_MM2 = 0.05  # smaller ink is dust
LABEL_REACH_MM = 120.0  # a row's label is within this much left of its first place
HEADING_GAP_LINES = 2.5  # column headings end within this many text lines above the first row
ABOVE_LINES = 3.0  # a row's question over it ends at most this many lines above the row's strip
STACK_GAP_LINES = 0.8  # lines of one heading (Strongly / agree) are this close
ANCHOR_PITCHES = 1.5  # a word within this many of a row's pitches after its last place is the scale's end
# anchor (… □ 5, □ 总是); further away it is another question on the line
MIN_ROW_MM = 3.0  # around a lone row, half its band is at least this
TITLE_SHARE = 0.7  # a line whose print is this large, of the largest, may be the title (caps vs descenders)


@dataclass(frozen=True)
class Words:
    """The page's printed words (px rects) and the image they are read from, answer places whitened."""

    rects: tuple[PxRect, ...]
    image: Gray
    line_px: float  # a typical text line's height
    px_per_mm: float


def page_words(image: Gray, ink: InkMap, places: Sequence[Place], px_per_mm: float) -> Words:
    """Every word on the page: ink that is no answer place and no long rule, joined across letter gaps."""
    text = ink.ink.copy()
    clean = image.copy()
    for place in places:
        x0, y0, x1, y1 = (round(v) for v in _grown(place.rect, place.stroke + 1))
        text[max(0, y0) : y1, max(0, x0) : x1] = 0
        clean[max(0, y0) : y1, max(0, x0) : x1] = 255
    horizontal, vertical = lines_in(ink.ink, px_per_mm)
    rules = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    text[rules > 0] = 0
    kernel = cv2.getStructuringElement(
        cv2.MORPH_RECT, (max(1, round(WORD_GAP_MM * px_per_mm)), max(1, round(LINE_GAP_MM * px_per_mm)))
    )
    joined = cv2.dilate(text, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    area = np.bincount(labels[text > 0], minlength=count)
    rects = []
    for index in range(1, count):
        if area[index] < SPECK_MM2 * px_per_mm**2:
            continue
        x, y, w, h, _ = stats[index]
        rects.append((float(x), float(y), float(x + w), float(y + h)))
    heights = [r[3] - r[1] for r in rects if r[3] - r[1] > 1.5 * px_per_mm]
    line_px = float(np.median(heights)) if heights else 3.5 * px_per_mm
    return Words(tuple(rects), clean, line_px, px_per_mm)


def read_block(
    block: Block,
    words: Words,
    others: Sequence[Block],
    ink: InkMap,
    px_per_mm: float,
    reader: LabelReader,
    options: tuple[str, ...] = (),
    *,
    phrases: bool = False,
) -> ProposedSection | str:
    """The section ``block`` is, or why it is none. ``others``: the page's other blocks (they bound this
    one's labels); ``options``: the clerk's option words; ``phrases``: labels are phrases (Latin script)
    rather than a few CJK characters."""
    columns = len(block.rows[0])
    if options and len(options) != columns:
        return f"{columns} answer places a row; {len(options)} options given"
    if not 2 <= columns <= MAX_OPTIONS:
        return f"{columns} answer places a row; 2–{MAX_OPTIONS} expected"
    spans = column_spans(block)
    headings = headings_of(block, words, spans)
    beside = _inline_texts(block.rows[0], words)
    inline = beside[0] if beside is not None else None
    option_columns = _options(block, words, reader, options, headings, inline, phrases=phrases)
    heading_rects = [rect for rect in headings if rect is not None]
    bands = _bands(block, px_per_mm)
    rows = []
    notes: list[str] = []
    everywhere = [place for row in block.rows for place in row]
    for row, band in zip(block.rows, bands, strict=True):
        named = _inline_texts(row, words)
        taken = named[0] if named is not None else []
        # Words on another row's line are that row's (its label, a scale's anchors), never this row's question.
        lines = [_strip(other, words.image.shape[1]) for other in block.rows if other is not row]
        label = _label(row, band, words, others, heading_rects + taken + lines, spans, named, reader, phrases=phrases)
        if label is None:
            nowhere = (band[0] - 2 * px_per_mm, band[1], band[0] - px_per_mm, band[3])
            label = Reading("", False, "no label found beside or above the row", nowhere)
        clear = tuple(clearance(ink, place, [p for p in everywhere if p is not place], px_per_mm) for place in row)
        left = min(label.rect[0], row[0].rect[0])
        strip = (left, band[1], row[-1].rect[2], band[3])
        rows.append(ProposedRow(label, strip, tuple(place.rect for place in row), len(row), clear))
    if block.hidden:
        notes.append(
            f"{block.hidden} answer place(s) found by their outline only (a mark inside hides them): check the preview"
        )
    stroke = float(np.median([place.stroke for row in block.rows for place in row]))
    kind = block.rows[0][0].kind
    rect = (min(r.band[0] for r in rows), block.rect[1], block.rect[2], block.rect[3])
    return ProposedSection(None, rect, option_columns, tuple(rows), kind, tuple(notes), (), stroke)


def _grown(rect: PxRect, by: float) -> PxRect:
    return (rect[0] - by, rect[1] - by, rect[2] + by, rect[3] + by)


def union(rects: Sequence[PxRect]) -> PxRect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def column_spans(block: Block) -> list[tuple[float, float]]:
    """Each column's x extent: halfway to its neighbours (the outer ones as far out as their inner half)."""
    xs = list(block.columns)
    half = [(b - a) / 2 for a, b in itertools.pairwise(xs)]
    spans = []
    for c, x in enumerate(xs):
        left = half[c - 1] if c > 0 else half[0]
        right = half[c] if c < len(half) else half[-1]
        spans.append((x - left, x + right))
    return spans


def headings_of(block: Block, words: Words, spans: list[tuple[float, float]]) -> list[PxRect | None]:
    """Per column, the words stacked over it just above the block's first row (None where there are none)."""
    top = min(place.rect[1] for place in block.rows[0])
    found: list[PxRect | None] = []
    for left, right in spans:
        width = right - left
        candidates = [
            rect
            for rect in words.rects
            if rect[3] <= top
            and left <= (rect[0] + rect[2]) / 2 <= right
            and rect[2] - rect[0] <= 1.5 * width
            and top - rect[3] <= HEADING_GAP_LINES * words.line_px
        ]
        stack: list[PxRect] = []
        for rect in sorted(candidates, key=lambda r: -r[3]):
            reach = (stack[-1][1] if stack else top) - rect[3]
            if stack and reach > STACK_GAP_LINES * words.line_px:
                break
            stack.append(rect)
        found.append(union(stack) if stack else None)
    return found


def _inline_texts(row: tuple[Place, ...], words: Words) -> tuple[list[PxRect], str] | None:
    """The text beside each place of ``row`` naming it (□满意 □基本满意, or Female ○ Male ○) and on which
    side, or None unless every place has some on the same side."""
    for side in ("right", "left"):
        texts = []
        for index in range(len(row)):
            near = _beside(row, index, words, side)
            if not near:
                break
            texts.append(union(near))
        else:
            return texts, side
    return None


def _beside(row: tuple[Place, ...], index: int, words: Words, side: str) -> list[PxRect]:
    """The phrase nearest to place ``index`` on its line on one side, short of the neighbouring place (the
    first place's left, the last one's right: within the row's widest gap)."""
    place = row[index]
    widest = max((b.rect[0] - a.rect[2] for a, b in itertools.pairwise(row)), default=0.0)
    level = [r for r in words.rects if r[1] < place.rect[3] and r[3] > place.rect[1]]
    if side == "right":
        limit = row[index + 1].rect[0] if index + 1 < len(row) else place.rect[2] + widest
        near = [r for r in level if r[0] >= place.rect[2] - place.size / 4 and r[2] <= limit]
        return [min(near, key=lambda r: r[0])] if near else []
    limit = row[index - 1].rect[2] if index > 0 else place.rect[0] - widest
    near = [r for r in level if r[2] <= place.rect[0] + place.size / 4 and r[0] >= limit]
    return [max(near, key=lambda r: r[2])] if near else []


def _options(
    block: Block,
    words: Words,
    reader: LabelReader,
    options: tuple[str, ...],
    headings: list[PxRect | None],
    inline: list[PxRect] | None,
    *,
    phrases: bool,
) -> tuple[OptionColumn, ...]:
    """The block's option columns: named by the clerk, by the text after each place, or by the headings."""
    spans = column_spans(block)
    top = min(place.rect[1] for place in block.rows[0])
    columns = []
    named = inline if inline is not None else headings
    for c, (span, rect) in enumerate(zip(spans, named, strict=True)):
        where = rect or (span[0], top - words.line_px, span[1], top)
        read = _read(words, rect, reader, phrases=phrases) if rect is not None else None
        if options:
            reading = Reading(read.text if read else "", True, "", where)
            columns.append(OptionColumn(options[c], reading, (c, c)))
            continue
        if read is None or not read.text:
            reading = Reading("", False, "no option name printed: name the options (--options)", where)
            columns.append(OptionColumn(str(c + 1), reading, (c, c)))
            continue
        word, score = match_option(read, OPTION_WORDS)
        if score >= 0.5 and not phrases:
            sure = read.sure and read.text == word
            doubt = "" if sure else (read.doubt or f"read {read.text!r}, taken as {word} ({score:.0%} alike)")
        else:
            word, sure, doubt = read.text[:40], read.sure, read.doubt
        columns.append(OptionColumn(word, Reading(read.text, sure, doubt, where), (c, c)))
    seen: set[str] = set()
    distinct = []
    for column in columns:
        if column.word in seen:
            reason = "two options read alike: name the options (--options)"
            column = OptionColumn(
                f"{column.word}（{column.cols[0] + 1}）", doubted(column.heading, reason), column.cols
            )
        seen.add(column.word)
        distinct.append(column)
    return tuple(distinct)


def _read(words: Words, rect: PxRect, reader: LabelReader, *, phrases: bool) -> OcrText | None:
    pad = max(2, round(words.line_px * 0.15))
    x0, y0, x1, y1 = (round(v) for v in _grown(rect, pad))
    height, width = words.image.shape
    crop = words.image[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
    return reader.read(crop, line=phrases) if crop.size else None


def _bands(block: Block, px_per_mm: float) -> list[PxRect]:
    """Each row's strip: halfway to the rows above and below (a lone row, at least MIN_ROW_MM each way)."""
    tops = [min(place.rect[1] for place in row) for row in block.rows]
    bottoms = [max(place.rect[3] for place in row) for row in block.rows]
    least = MIN_ROW_MM * px_per_mm
    bands = []
    for index, row in enumerate(block.rows):
        above = (tops[index] + bottoms[index - 1]) / 2 if index > 0 else tops[index] - least
        below = (bottoms[index] + tops[index + 1]) / 2 if index + 1 < len(block.rows) else bottoms[index] + least
        top, bottom = min(above, tops[index] - least / 3), max(below, bottoms[index] + least / 3)
        bands.append((row[0].rect[0], top, row[-1].rect[2], bottom))
    return bands


def _label(
    row: tuple[Place, ...],
    band: PxRect,
    words: Words,
    others: Sequence[Block],
    headings: list[PxRect],
    spans: list[tuple[float, float]],
    inline: tuple[list[PxRect], str] | None,
    reader: LabelReader,
    *,
    phrases: bool,
) -> Reading | None:
    """The row's label: the words left of its first place on its line (not its option texts, ``inline``),
    else the line just above it. ``headings`` holds every text already taken (headings, option texts)."""
    first, last = row[0], row[-1]
    beside = [b.rect[2] for b in others if b.rect[2] < first.rect[0] and b.rect[1] < band[3] and b.rect[3] > band[1]]
    fence = max([first.rect[0] - LABEL_REACH_MM * words.px_per_mm, *beside])
    centre = (first.rect[1] + first.rect[3]) / 2
    free = [
        rect
        for rect in words.rects
        if rect[2] <= first.rect[0] and rect[0] >= fence and not any(_overlap(rect, taken) for taken in headings)
    ]
    left = _stacked([rect for rect in free if rect[1] < first.rect[3] and rect[3] > first.rect[1]], free, band, words)
    right = [
        rect
        for rect in words.rects
        if inline is None
        and last.rect[2]
        <= rect[0]
        <= last.rect[2] + ANCHOR_PITCHES * (last.centre[0] - first.centre[0]) / (len(row) - 1)
        and rect[1] < centre < rect[3]
    ]
    if left and not right:
        return numbered_label(left, words, reader, phrases=phrases)
    top = min(place.rect[1] for place in row)
    above = [
        rect
        for rect in words.rects
        if rect[3] <= top + words.line_px / 4
        and rect[3] >= band[1] - ABOVE_LINES * words.line_px
        and rect[2] > fence
        and rect[0] < last.rect[2]
        and not any(_overlap(rect, taken) for taken in headings)
        and not any(s[0] <= (rect[0] + rect[2]) / 2 <= s[1] and rect[2] - rect[0] < s[1] - s[0] for s in spans)
    ]
    if not above:
        return read_words(union(left), words, reader, phrases=phrases) if left else None
    lowest = max(rect[3] for rect in above)
    line = [rect for rect in above if rect[3] >= lowest - words.line_px / 2]
    if min(place.rect[1] for place in row) - lowest > 3 * words.line_px:
        return read_words(union(left), words, reader, phrases=phrases) if left else None
    return read_words(union(line), words, reader, phrases=phrases)


def numbered_label(line: list[PxRect], words: Words, reader: LabelReader, *, phrases: bool) -> Reading | None:
    """The words of ``line`` read as one label, without a leading row or question number (1. 局机关)."""
    label = read_words(union(_unnumbered(line, words, reader)), words, reader, phrases=phrases)
    glued = ROW_NUMBER_START.match(label.text) if label is not None else None
    if label is not None and glued is not None and glued.end() < len(label.text):
        reason = f"a leading {glued.group(0)} was taken for the row number (序号) and left out"
        return doubted(Reading(label.text[glued.end() :], label.sure, label.doubt, label.rect), reason)
    return label


def _stacked(line: list[PxRect], free: list[PxRect], band: PxRect, words: Words) -> list[PxRect]:
    """``line`` with the lines stacked on it within ``band`` (a label wrapped over two or three lines)."""
    group = list(line)
    grown = True
    while group and grown:
        grown = False
        whole = union(group)
        for rect in free:
            near = min(abs(rect[1] - whole[3]), abs(whole[1] - rect[3])) <= STACK_GAP_LINES * words.line_px
            if rect not in group and band[1] <= rect[1] and rect[3] <= band[3] and near and rect[0] < whole[2]:
                group.append(rect)
                grown = True
    return group


def _unnumbered(line: list[PxRect], words: Words, reader: LabelReader) -> list[PxRect]:
    """``line`` without its leading row number (1. 局机关, （2）办公室): the number is the form's 序号, not the
    unit's name. Only a short first piece standing apart (a word, or ink before a space) is read to see
    whether it is one."""
    first = min(line, key=lambda rect: rect[0])
    rest = [rect for rect in line if rect is not first]
    if first[2] - first[0] > NUMBER_EMS * words.line_px or not rest:
        number = _leading_piece(first, words)
        if number is None:
            return line
        first, rest = number, [(number[2] + 1, first[1], first[2], first[3]), *rest]
    read = _read(words, first, reader, phrases=True)
    if read is None or not read.sure or not ROW_NUMBER.fullmatch(read.text):
        return line
    return rest


def _leading_piece(word: PxRect, words: Words) -> PxRect | None:
    """The ink of ``word`` before its first space, when that piece is short enough to be a row number."""
    x0, y0, x1, y1 = (round(v) for v in word)
    crop = words.image[y0:y1, x0:x1]
    columns = [bool(inked) for inked in np.asarray(np.any(crop < NUMBER_INK, axis=0), dtype=bool).ravel()]
    space = max(2, round(NUMBER_SPACE * words.line_px))
    run, start = 0, None
    for index, inked in enumerate(columns):
        if inked:
            if start is not None and run >= space:
                end = index - run
                short = end - start <= NUMBER_EMS * words.line_px
                return (word[0], word[1], float(x0 + end), word[3]) if short else None
            start = index if start is None else start
            run = 0
        else:
            run += 1
    return None


def _strip(row: tuple[Place, ...], width: int) -> PxRect:
    """The page's width at the height of a row's places."""
    return (0.0, min(p.rect[1] for p in row), float(width), max(p.rect[3] for p in row))


def _overlap(a: PxRect, b: PxRect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def read_words(rect: PxRect, words: Words, reader: LabelReader, *, phrases: bool) -> Reading | None:
    read = _read(words, rect, reader, phrases=phrases)
    if read is None:
        return None
    return Reading(read.text, read.sure, read.doubt, rect)


def title_line(words: Words, above: float) -> PxRect | None:
    """The line of largest print above ``above`` (px): a form's title. Lines are words side by side."""
    lines: list[list[PxRect]] = []
    for rect in sorted((r for r in words.rects if r[3] <= above), key=lambda r: r[1]):
        home = next((line for line in lines if union(line)[1] < (rect[1] + rect[3]) / 2 < union(line)[3]), None)
        if home is None:
            lines.append([rect])
        else:
            home.append(rect)
    if not lines:
        return None
    # The largest print, by its words' median height; the topmost of lines alike (a title heads the page).
    tallest = max(float(np.median([r[3] - r[1] for r in line])) for line in lines)
    title = next(line for line in lines if float(np.median([r[3] - r[1] for r in line])) >= TITLE_SHARE * tallest)
    return union(title)


def read_text(words: Words, rect: PxRect, reader: LabelReader) -> Reading | None:
    """The text in ``rect`` read as one line (a title)."""
    read = _read(words, rect, reader, phrases=True)
    return Reading(read.text, read.sure, read.doubt, rect) if read is not None else None


def label_left(row: tuple[Place, ...], words: Words, reader: LabelReader, *, phrases: bool) -> Reading | None:
    """The words left of a row's first place on its line, read as one label."""
    first = row[0]
    line = [r for r in words.rects if r[2] <= first.rect[0] and r[1] < first.rect[3] and r[3] > first.rect[1]]
    return read_words(union(line), words, reader, phrases=phrases) if line else None


def line_above(row: tuple[Place, ...], words: Words, reader: LabelReader, *, phrases: bool) -> Reading | None:
    """The nearest line of words just above a row, left of its first place (a band's heading)."""
    first, top = row[0], min(place.rect[1] for place in row)
    above = [r for r in words.rects if r[2] <= first.rect[0] and top - HEADING_GAP_LINES * words.line_px <= r[3] <= top]
    if not above:
        return None
    lowest = max(r[3] for r in above)
    return read_words(union([r for r in above if r[3] >= lowest - words.line_px / 2]), words, reader, phrases=phrases)
