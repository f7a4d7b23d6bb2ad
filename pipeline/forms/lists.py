"""Vertical lists: one question whose options stand one under another, each answer place with its option text
beside it on its line (2. How old are you? / Under 25 ○ / 25-29 ○ / …), found without ``--choice-per column``.

1. *Side by side*: a block (:mod:`pipeline.forms.grid`) of two rows or more is taken apart into its columns
   when each column is a list: every place has an option text of its own beside it on one side (the nearer
   side, short of the neighbouring place on its line; no text claimed by two columns), no two texts of a
   column alike (rows of one question list repeat their option words, 满意 under 满意), and each column has a
   question line of its own just above it, not reaching over its neighbours. A block whose columns carry
   texts of their own but no question each (one question over a grid of options: 5. Which sources …?
   Newspapers ○ TV ○ / Magazines ○ Internet ○) is a multiple-choice grid: it is reported, not read.
2. *Columns*: the answer places in no block (and those of the blocks taken apart), alike in kind and size, one
   under another, cut where a gap is far wider than the narrowest or a text line stands between two of them.
3. *Lists*: a column of two places or more each with its option text beside it, on one side for all, no two
   texts alike. Its question is the text line just above it (its leading number left out).

Two texts are alike when OCR reads them alike, or when their ink lies on each other's to a pixel (one word
printed twice); texts OCR cannot read are taken as alike (no list is made of them).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from pipeline.common.imaging import Gray
from pipeline.forms.blocks import ABOVE_LINES, NUMBER_INK, Words, numbered_label, read_words, union
from pipeline.forms.grid import COLUMN_MM, COLUMN_SHARE, GAP_FACTOR, Block, alike
from pipeline.forms.ocr import LabelReader
from pipeline.forms.places import InkMap, Place, clearance
from pipeline.forms.proposed import MAX_OPTIONS, MIN_OPTIONS, OptionColumn, ProposedRow, ProposedSection, Reading
from pipeline.forms.ruling import PxRect

Side = Literal["left", "right"]
Verdict = Literal["rows", "lists", "grid"]

PHRASE_GAP_LINES = 1.5  # words of one option text or question are at most this many line heights apart
WIDTH_SLACK = 0.08  # two texts printed alike differ in width by at most this share (and two pixels) …
INK_MISMATCH = 0.05  # … and at most this share of their ink lies off the other's (best of one-pixel shifts;
# texts differing in one digit of five, 30-39 and 50-59, leave 0.13 on a clean rendering)


@dataclass(frozen=True)
class VerticalList:
    """One question's answer places, top to bottom, each with its option text on ``side``."""

    places: tuple[Place, ...]
    texts: tuple[PxRect, ...]
    names: tuple[Reading | None, ...]  # each text as OCR read it
    side: Side

    @property
    def rect(self) -> PxRect:
        return union([*(place.rect for place in self.places), *self.texts])


@dataclass
class _Texts:
    """The page's words, each option text read once (whether texts are alike is asked of every pair)."""

    words: Words
    reader: LabelReader
    phrases: bool
    readings: dict[PxRect, Reading | None] = field(default_factory=dict)

    def read(self, rect: PxRect) -> Reading | None:
        if rect not in self.readings:
            self.readings[rect] = read_words(rect, self.words, self.reader, phrases=self.phrases)
        return self.readings[rect]


def find_lists(
    blocks: Sequence[Block],
    places: Sequence[Place],
    words: Words,
    reader: LabelReader,
    *,
    phrases: bool = False,
) -> tuple[list[Block], list[VerticalList], list[str]]:
    """The blocks that are rows (the others taken apart or reported), the vertical lists among the places in
    no block, and notes on what was left out. ``places``: every answer place standing free on the page."""
    texts = _Texts(words, reader, phrases)
    everywhere = [*places, *(place for block in blocks for row in block.rows for place in row if not place.seen)]
    kept, loose, notes = [], [], []
    for block in blocks:
        verdict = _verdict(block, everywhere, texts)
        if verdict == "lists":
            loose += [place for row in block.rows for place in row]
        elif verdict == "grid":
            notes.append(
                f"{len(block.rows)} × {len(block.rows[0])} answer places each with its own option text under one "
                f"question {_where(block.rect, words)} (a multiple-choice grid?): not read"
            )
        else:
            kept.append(block)
    taken = [place for block in blocks for row in block.rows for place in row]
    loose += [place for place in places if not any(_same(place, other) for other in taken)]
    lists = []
    columns = _columns(loose, words.px_per_mm)
    for column, beside in zip(columns, _option_texts(columns, everywhere, words), strict=True):
        if beside is None:
            continue
        for found in _lists(column, beside, texts):
            if len(found.places) > MAX_OPTIONS:
                notes.append(
                    f"a list of {len(found.places)} options {_where(found.rect, words)}: "
                    f"{MIN_OPTIONS}–{MAX_OPTIONS} expected; not read"
                )
            else:
                lists.append(found)
    return kept, lists, notes


def read_list(
    found: VerticalList,
    words: Words,
    ink: InkMap,
    px_per_mm: float,
    reader: LabelReader,
    options: tuple[str, ...] = (),
    *,
    phrases: bool = False,
) -> ProposedSection | str:
    """The section a vertical list is: one row (its question) whose options are its texts, top to bottom."""
    count = len(found.places)
    if options and len(options) != count:
        return f"a list of {count} options; {len(options)} options given"
    named = []
    for index, (text, read) in enumerate(zip(found.texts, found.names, strict=True)):
        if options:
            named.append(
                OptionColumn(options[index], Reading(read.text if read else "", True, "", text), (index, index))
            )
        elif read is None or not read.text:
            reading = Reading("", False, "no option name read beside the place", text)
            named.append(OptionColumn(str(index + 1), reading, (index, index)))
        else:
            named.append(OptionColumn(read.text[:40], read, (index, index)))
    line = _question_line(found.rect, words)
    label = numbered_label(line, words, reader, phrases=phrases) if line else None
    if label is None:
        where = (found.rect[0], found.rect[1] - words.line_px, found.rect[2], found.rect[1])
        label = Reading("", False, "no question found just above the list", where)
    others = list(found.places)
    clear = tuple(clearance(ink, place, [p for p in others if p is not place], px_per_mm) for place in others)
    row = ProposedRow(label, found.rect, tuple(place.rect for place in others), count, clear)
    stroke = float(np.median([place.stroke for place in others]))
    return ProposedSection(None, found.rect, tuple(named), (row,), others[0].kind, (), (), stroke)


def _verdict(block: Block, everywhere: Sequence[Place], texts_: _Texts) -> Verdict:
    """Whether a block is rows (the usual), lists side by side, or a grid of options under one question."""
    words = texts_.words
    if len(block.rows) < 2:
        return "rows"
    columns = [tuple(row[c] for row in block.rows) for c in range(len(block.rows[0]))]
    texts = _option_texts(columns, everywhere, words)
    found = [found for found in texts if found is not None]
    if len(found) < len(columns) or not all(_distinct(list(found_texts), texts_) for _, found_texts in found):
        return "rows"  # a column without texts of its own (○ A ○ B: one text is between two places)
    extents = [
        union([*(p.rect for p in column), *found_texts])
        for column, (_, found_texts) in zip(columns, found, strict=True)
    ]
    for index, extent in enumerate(extents):
        line = _question_line(extent, words)
        left = extents[index - 1][2] if index > 0 else -np.inf
        right = extents[index + 1][0] if index + 1 < len(extents) else np.inf
        if not line or union(line)[0] < left or union(line)[2] > right:
            return "grid"
    return "lists"


def _option_texts(
    columns: Sequence[Sequence[Place]], everywhere: Sequence[Place], words: Words
) -> list[tuple[Side, tuple[PxRect, ...]] | None]:
    """Per column, the text beside each of its places on one side for all, or None. A text is one column's
    only: a column with text on one side only takes it first (the rightmost list of lists whose texts stand
    before their places), the others then choose among what is left, the nearer side first."""
    candidates: list[dict[Side, tuple[PxRect, ...]]] = []
    for column in columns:
        found: dict[Side, tuple[PxRect, ...]] = {}
        for side in ("left", "right"):
            texts = [_beside(place, side, everywhere, words) for place in column]
            if all(text is not None for text in texts):
                found[side] = tuple(text for text in texts if text is not None)
        candidates.append(found)
    chosen: list[tuple[Side, tuple[PxRect, ...]] | None] = [None] * len(columns)
    while True:
        claimed = [rect for pick in chosen if pick is not None for rect in pick[1]]
        open_ = []
        for index, found in enumerate(candidates):
            if chosen[index] is None:
                candidates[index] = {
                    side: texts
                    for side, texts in found.items()
                    if not any(_overlap(a, b) for a in texts for b in claimed)
                }
                if candidates[index]:
                    open_.append(index)
        if not open_:
            return chosen
        index = min(
            open_, key=lambda i: (len(candidates[i]), min(_gap(columns[i], s, t) for s, t in candidates[i].items()))
        )
        side = min(candidates[index], key=lambda s: _gap(columns[index], s, candidates[index][s]))
        chosen[index] = (side, candidates[index][side])


def _gap(column: Sequence[Place], side: Side, texts: tuple[PxRect, ...]) -> float:
    """How far a column's texts stand from its places (px, the median)."""
    pairs = zip(column, texts, strict=True)
    if side == "left":
        return float(np.median([place.rect[0] - text[2] for place, text in pairs]))
    return float(np.median([text[0] - place.rect[2] for place, text in pairs]))


def _beside(place: Place, side: Side, everywhere: Sequence[Place], words: Words) -> PxRect | None:
    """The phrase on ``place``'s line on one side, nearest to it and short of the next place on the line."""
    level = [r for r in words.rects if r[1] < place.rect[3] and r[3] > place.rect[1]]
    neighbours = [p for p in everywhere if p is not place and p.rect[1] < place.rect[3] and p.rect[3] > place.rect[1]]
    slack = place.size / 4
    if side == "left":
        fence = max((p.rect[2] for p in neighbours if p.centre[0] < place.centre[0]), default=-np.inf)
        near = sorted((r for r in level if r[2] <= place.rect[0] + slack and r[0] >= fence), key=lambda r: -r[2])
    else:
        fence = min((p.rect[0] for p in neighbours if p.centre[0] > place.centre[0]), default=np.inf)
        near = sorted((r for r in level if r[0] >= place.rect[2] - slack and r[2] <= fence), key=lambda r: r[0])
    phrase: list[PxRect] = []
    for rect in near:
        if phrase:
            whole = union(phrase)
            apart = whole[0] - rect[2] if side == "left" else rect[0] - whole[2]
            if apart > PHRASE_GAP_LINES * words.line_px:
                break
        phrase.append(rect)
    return union(phrase) if phrase else None


def _distinct(rects: list[PxRect], texts: _Texts) -> bool:
    """No two of the texts alike."""
    return not any(_alike_texts(a, b, texts) for a, b in itertools.combinations(rects, 2))


def _alike_texts(a: PxRect, b: PxRect, texts: _Texts) -> bool:
    """Whether two texts say the same: read alike (or not read at all), or printed alike to a pixel."""
    first, second = texts.read(a), texts.read(b)
    said = [_plain(read.text) if read is not None else "" for read in (first, second)]
    if said[0] == said[1]:
        return True
    wa, wb = a[2] - a[0], b[2] - b[0]
    if abs(wa - wb) > WIDTH_SLACK * max(wa, wb) + 2:
        return False
    one, other = _ink(a, texts.words), _ink(b, texts.words)
    if one is None or other is None:
        return False
    fitted = np.asarray(cv2.resize(other, (one.shape[1], one.shape[0]), interpolation=cv2.INTER_NEAREST), np.uint8)
    total = int(np.count_nonzero(one)) + int(np.count_nonzero(fitted))
    off = min(
        int(np.count_nonzero(one ^ np.roll(fitted, (dy, dx), axis=(0, 1)))) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
    )
    return total > 0 and off <= INK_MISMATCH * total


def _plain(text: str) -> str:
    return "".join(text.split()).casefold()


def _ink(rect: PxRect, words: Words) -> Gray | None:
    """A text's ink, cropped to its own extent (1 where ink)."""
    x0, y0, x1, y1 = (round(v) for v in rect)
    crop = (words.image[max(0, y0) : y1, max(0, x0) : x1] < NUMBER_INK).astype(np.uint8)
    rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return None
    return crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _question_line(extent: PxRect, words: Words) -> list[PxRect]:
    """The line of words just above ``extent`` reaching over it, with the words of that line joined to them."""
    top = extent[1]
    above = [
        r
        for r in words.rects
        if top - ABOVE_LINES * words.line_px <= r[3] <= top + words.line_px / 4
        and r[2] > extent[0]
        and r[0] < extent[2]
    ]
    if not above:
        return []
    lowest = max(r[3] for r in above)
    line = [r for r in above if r[3] >= lowest - words.line_px / 2]
    grown = True
    while grown:
        whole = union(line)
        more = [
            r
            for r in words.rects
            if r not in line
            and r[1] < whole[3]
            and r[3] > whole[1]
            and min(abs(r[0] - whole[2]), abs(whole[0] - r[2])) <= PHRASE_GAP_LINES * words.line_px
        ]
        line += more
        grown = bool(more)
    return line


def _columns(places: Sequence[Place], px_per_mm: float) -> list[list[Place]]:
    """Places alike standing one under another, top to bottom, cut where a gap is far wider than the
    narrowest."""
    groups: list[list[Place]] = []
    for place in sorted(places, key=lambda p: p.centre[1]):
        reach = max(COLUMN_SHARE * place.size, COLUMN_MM * px_per_mm)
        home = next(
            (g for g in groups if alike(g[-1], place) and abs(g[-1].centre[0] - place.centre[0]) <= reach), None
        )
        if home is None:
            groups.append([place])
        else:
            home.append(place)
    parts = []
    for group in groups:
        if len(group) < 2:
            continue
        gaps = np.diff([place.centre[1] for place in group])
        usual = float(gaps.min())
        start = 0
        for index, gap in enumerate(gaps.tolist(), start=1):
            if gap > GAP_FACTOR * usual:
                parts.append(group[start:index])
                start = index
        parts.append(group[start:])
    return [part for part in parts if len(part) >= 2]


def _lists(column: list[Place], beside: tuple[Side, tuple[PxRect, ...]], texts_: _Texts) -> list[VerticalList]:
    """The vertical lists of one column: its places with their texts, cut where a text line stands between
    two of them (the next question's)."""
    words = texts_.words
    side, texts = beside
    items = list(zip(column, texts, strict=True))
    parts: list[list[tuple[Place, PxRect]]] = [[items[0]]]
    extent = union([*(p.rect for p in column), *texts])
    for (upper, upper_text), (lower, lower_text) in itertools.pairwise(items):
        top, bottom = max(upper.rect[3], upper_text[3]), min(lower.rect[1], lower_text[1])
        between = [r for r in words.rects if r[1] >= top and r[3] <= bottom and r[2] > extent[0] and r[0] < extent[2]]
        if between:
            parts.append([])
        parts[-1].append((lower, lower_text))
    lists = []
    for part in parts:
        part_texts = [text for _, text in part]
        if len(part) >= 2 and _distinct(part_texts, texts_):
            names = tuple(texts_.read(text) for text in part_texts)
            lists.append(VerticalList(tuple(p for p, _ in part), tuple(part_texts), names, side))
    return lists


def _same(a: Place, b: Place) -> bool:
    reach = min(a.size, b.size) / 2
    return abs(a.centre[0] - b.centre[0]) < reach and abs(a.centre[1] - b.centre[1]) < reach


def _overlap(a: PxRect, b: PxRect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _where(rect: PxRect, words: Words) -> str:
    return f"at {rect[0] / words.px_per_mm:.0f}, {rect[1] / words.px_per_mm:.0f} mm"
