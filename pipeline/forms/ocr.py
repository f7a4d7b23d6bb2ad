"""OCR: read one short printed label (a table cell's text) with Tesseract, and say how sure the reading is.

Whole-table OCR reads almost nothing on ruled forms (grid lines wreck Tesseract's layout analysis), while a
tight crop of one label, read as a single word (page-segmentation mode 8) or a raw line (13), reads
99.7–100 % of rendered labels (../shared/ecosystem.md §1). So callers cut each label out, this module
cleans the crop (remnants of ruling lines touching its edge are whitened, specks dropped), splits it into
text lines, and reads each line twice, in both modes, with the model loaded once (tesserocr: ~7 ms per
call instead of ~130 ms for a process per call).

A reading is *sure* only when both modes agree, every character's confidence reaches
:data:`MIN_CHAR_CONFIDENCE` and the text is about as wide as its characters should be (a dropped or
doubled character changes the width by a whole em). Anything else is *unsure* and shown to the clerk.
"""

from __future__ import annotations

import os
import time
import unicodedata
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from pipeline.common.imaging import Gray
from pipeline.common.tesseract import OcrUnavailableError, find_tessdata, tesserocr_module

__all__ = ["LabelReader", "OcrText", "OcrUnavailableError", "TextLine", "find_tessdata"]

Indices = npt.NDArray[np.intp]

MARGIN_PX = 10  # white margin around the tight ink box: Tesseract needs some paper around the glyphs
MIN_CHAR_CONFIDENCE = 75.0  # 0–100; correct glyphs score 85–99 on our forms, stray marks and misreads less
MIN_TEXT_HEIGHT_PX = 36  # smaller text is enlarged first
MIN_EM_PX = 27.0  # smaller characters (9 pt at 200 dpi, 10.5 pt at 150 dpi) were misread with confidence
GLYPH_HEIGHT_EM = 0.92  # CJK glyphs fill ~92 % of the em vertically
MAX_WIDTH_ERROR_EM = 0.65  # a missing or extra CJK character shifts the width by ~1 em
WORD_GAP_EM = 0.45  # a gap this wide between glyphs is a space (e.g. "满 意"), not part of a character
INK_BELOW_PAPER = 60  # grey levels below the local paper white that count as printed ink
SPECK_PX = 6  # smaller ink blobs are scanner dust
FULL_WIDTH = str.maketrans("(),:;!?", "（），：；！？")
LABEL_PUNCTUATION = frozenset("（）·、-— ")
CJK_LANGUAGES = ("chi_", "jpn", "kor")


@dataclass(frozen=True)
class OcrText:
    """What Tesseract read in one label crop."""

    text: str  # the best reading, lines joined; spaces only between Latin words ('' when nothing was recognised)
    readings: tuple[str, ...]  # every distinct non-empty reading of the modes tried
    confidence: float  # 0–100, the lowest confidence of any character of ``text``
    sure: bool
    doubt: str  # why the reading is not sure ('' when it is), for the clerk


@dataclass(frozen=True)
class TextLine:
    """One line of a label, ready for Tesseract, and the size of its characters as scanned."""

    image: Gray  # tight crop with a white margin, enlarged when small
    em_px: float  # character size in the scan: below MIN_EM_PX even a right-looking reading is doubtful


@dataclass(frozen=True)
class _LineRead:
    text: str
    confidences: tuple[float, ...]


def is_cjk(lang: str) -> bool:
    """Whether ``lang`` ('chi_sim+eng') reads Chinese, Japanese or Korean first: labels are then a few wide
    characters, checked by their width; otherwise they are phrases of letters."""
    first = lang.split("+")[0].lower()
    return first.startswith(CJK_LANGUAGES)


class LabelReader:
    """One Tesseract engine, loaded once, reading label crops. Use as a context manager."""

    def __init__(self, lang: str = "chi_sim") -> None:
        # Label crops are tiny: OpenMP threads cost more to start than they save (measured 7 vs 11 ms).
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        tesserocr = tesserocr_module()
        self._tesserocr = tesserocr
        self._api = tesserocr.PyTessBaseAPI(path=find_tessdata(lang) + "/", lang=lang)
        self.calls = 0
        self.seconds = 0.0

    def __enter__(self) -> LabelReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._api.End()

    def read(self, cell: Gray, *, line: bool = False) -> OcrText | None:
        """Read the text in ``cell`` (grey, the cell's interior); None when the cell holds no text.

        ``line``: the text is a long single line (a title): read in modes 7 and 13, without the checks on
        width and characters that only fit short labels."""
        lines = text_lines(cell)
        if not lines:
            return None
        modes = (7, 13, 8) if line else (8, 13, 7)
        readings = [self._read_lines(lines, mode) for mode in modes[:2]]
        if readings[0].text != readings[1].text:
            # A third mode settles "one read nothing" cases; it never outvotes a contradiction.
            readings.append(self._read_lines(lines, modes[2]))
        voiced = [reading for reading in readings if reading.text]
        texts = sorted({reading.text for reading in voiced})
        if not voiced:
            return OcrText("", (), 0.0, False, "nothing recognised")
        best = max(voiced, key=lambda r: (sum(v.text == r.text for v in voiced), _mean(r.confidences)))
        lowest = min(best.confidences) if best.confidences else 0.0
        doubts = []
        if len(texts) > 1:
            doubts.append(f"readings disagree ({' / '.join(texts)})")
        elif len(voiced) < 2:
            doubts.append("read by one mode only")
        if lowest < MIN_CHAR_CONFIDENCE:
            doubts.append(f"low confidence {lowest:.0f}")
        if not line:
            doubts += _label_doubts(best.text, lines)
        return OcrText(best.text, tuple(texts), lowest, not doubts, "; ".join(doubts))

    def _read_lines(self, lines: list[TextLine], mode: int) -> _LineRead:
        parts = [self._read_line(line.image, mode) for line in lines]
        text = ""
        for part in parts:
            text = _spaced(text, part.text)
        return _LineRead(text, tuple(c for p in parts for c in p.confidences))

    def _read_line(self, crop: Gray, mode: int) -> _LineRead:
        tesserocr = self._tesserocr
        started = time.perf_counter()
        self._api.SetPageSegMode(mode)
        self._api.SetImage(Image.fromarray(crop))
        self._api.SetSourceResolution(300)
        self._api.Recognize()
        chars: list[str] = []
        confidences: list[float] = []
        iterator = self._api.GetIterator()
        level = tesserocr.RIL.SYMBOL
        if iterator is not None:
            for symbol in tesserocr.iterate_level(iterator, level):
                try:
                    glyph = symbol.GetUTF8Text(level)
                except RuntimeError:  # tesserocr's way of saying "an empty symbol"
                    continue
                if glyph and not glyph.isspace():
                    # Latin words keep their spaces ("Very good"); CJK text has none between its words.
                    if (
                        chars
                        and symbol.IsAtBeginningOf(tesserocr.RIL.WORD)
                        and _spaced(chars[-1], glyph) != chars[-1] + glyph
                    ):
                        chars.append(" ")
                        confidences.append(100.0)
                    chars.append(glyph.strip())
                    confidences.append(float(symbol.Confidence(level)))
        self.calls += 1
        self.seconds += time.perf_counter() - started
        return _clean(chars, confidences)


def _spaced(before: str, after: str) -> str:
    """``before`` and ``after`` joined as words: with a space between two letters or digits that are not CJK."""
    if before and after and _narrow(before[-1]) and _narrow(after[0]):
        return f"{before} {after}"
    return before + after


def _narrow(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) not in ("W", "F") and unicodedata.category(ch)[0] in "LN"


def _mean(values: tuple[float, ...]) -> float:
    return sum(values) / len(values) if values else 0.0


def _label_doubts(text: str, lines: list[TextLine]) -> list[str]:
    """Checks that only a short label passes: plausible characters, plausible width, two characters at least,
    characters large enough in the scan."""
    doubts = []
    em = min(line.em_px for line in lines)
    if em < MIN_EM_PX:
        doubts.append(f"characters only {em:.0f} px high; scan the blank at 300 dpi")
    unusual = sorted({ch for ch in text if not _plain(ch)})
    if unusual:
        doubts.append(f"unusual character {' '.join(unusual)}")
    if len(text) < 2:
        doubts.append("one character only")
    if text.count("（") != text.count("）"):
        doubts.append("unbalanced brackets")
    parts = _split_like(text, lines)
    misfit = sum(width_misfit(line.image, part) for line, part in zip(lines, parts, strict=True))
    if abs(misfit) > MAX_WIDTH_ERROR_EM:
        doubts.append("a character may be missing" if misfit > 0 else "a character may be extra")
    return doubts


def _plain(ch: str) -> bool:
    """Characters a unit name or an option heading is made of; anything else is more likely a misread."""
    if ch in LABEL_PUNCTUATION:
        return True
    category = unicodedata.category(ch)
    return category in ("Lo", "Nd") or (category in ("Lu", "Ll") and ch.isascii())


def _split_like(text: str, lines: list[TextLine]) -> list[str]:
    """``text`` shared among ``lines`` by their widths (a wrapped label's parts are read line by line)."""
    if len(lines) == 1:
        return [text]
    widths = np.array([line.image.shape[1] / line.image.shape[0] for line in lines], dtype=np.float64)
    cuts = np.round(np.cumsum(widths / widths.sum()) * len(text)).astype(int).tolist()
    parts, start = [], 0
    for cut in cuts:
        parts.append(text[start:cut])
        start = cut
    return parts


def _clean(chars: list[str], confidences: list[float]) -> _LineRead:
    """Drop stray punctuation at either end (a speck read as '，' or '.'), which a label never starts or ends
    with, but keep brackets, which it may (e.g. '（综合）'). Chinese text takes full-width punctuation, which
    Tesseract often returns as its ASCII look-alike."""
    while chars and _stray(chars[0], opening=True):
        chars, confidences = chars[1:], confidences[1:]
    while chars and _stray(chars[-1], opening=False):
        chars, confidences = chars[:-1], confidences[:-1]
    text = "".join(chars)
    if any(unicodedata.east_asian_width(ch) == "W" for ch in text):
        text = text.translate(FULL_WIDTH)
    return _LineRead(text, tuple(confidences))


def _stray(glyph: str, *, opening: bool) -> bool:
    category = unicodedata.category(glyph[0]) if glyph else "Zs"
    if category in ("Ps", "Pi") and opening:
        return False
    if category in ("Pe", "Pf") and not opening:
        return False
    return category.startswith("P") or category.startswith("S") or category.startswith("Z")


def ink_mask(gray: Gray) -> Gray:
    """Printed ink: clearly darker than the crop's paper white (so scanner noise is never ink)."""
    paper = float(np.percentile(gray, 90))
    return np.asarray(gray < paper - INK_BELOW_PAPER, dtype=np.uint8)


def printed_ink(cell: Gray) -> npt.NDArray[np.bool_]:
    """The cell's printed marks, without specks and without remnants of its ruling lines."""
    if cell.size == 0:
        return np.zeros(cell.shape, dtype=bool)
    ink = ink_mask(cell)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = ink.shape
    keep = np.zeros(count, dtype=bool)
    for index in range(1, count):
        x, y, w, h, area = stats[index]
        touches = x == 0 or y == 0 or x + w >= width or y + h >= height
        # A ruling line left in the crop touches its edge and is long and thin; a glyph cut by a tight cell is not.
        line_like = touches and (w > 3 * h or h > 3 * w or w >= width - 2 or h >= height - 2)
        keep[index] = area >= SPECK_PX and not line_like
    return np.asarray(keep[labels], dtype=bool)


def text_lines(cell: Gray) -> list[TextLine]:
    """The cell's text, cut into lines: each a tight crop with a white margin, line remnants removed."""
    text = printed_ink(cell)
    if not text.any():
        return []
    clean = np.where(text, cell, np.uint8(255)).astype(np.uint8)
    lines = []
    for top, bottom in _line_bands(np.flatnonzero(text.any(axis=1))):
        cols = np.flatnonzero(text[top : bottom + 1].any(axis=0))
        em = (bottom - top + 1) / GLYPH_HEIGHT_EM
        lines.append(TextLine(_normalised(clean[top : bottom + 1, cols[0] : cols[-1] + 1]), em))
    return lines


def _line_bands(rows: Indices) -> list[tuple[int, int]]:
    """Text lines from the rows holding ink: a band shorter than half the tallest (一 alone, 二's strokes)
    belongs to its neighbour. Lines of a wrapped label may be only a few pixels apart."""
    bands = _runs(rows, gap=1)
    tallest = max(bottom - top + 1 for top, bottom in bands)
    merged: list[tuple[int, int]] = []
    for top, bottom in bands:
        if merged:
            last_top, last_bottom = merged[-1]
            small = min(bottom - top, last_bottom - last_top) + 1 < tallest / 2
            if small:
                merged[-1] = (last_top, bottom)
                continue
        merged.append((top, bottom))
    return merged


def _runs(indices: Indices, gap: int) -> list[tuple[int, int]]:
    """Consecutive runs of sorted indices, joining runs separated by at most ``gap`` missing indices."""
    runs: list[tuple[int, int]] = []
    for index in indices.tolist():
        if runs and index - runs[-1][1] <= gap + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _normalised(crop: Gray) -> Gray:
    height = crop.shape[0]
    if height < MIN_TEXT_HEIGHT_PX:
        factor = MIN_TEXT_HEIGHT_PX / max(height, 1)
        crop = np.asarray(cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    return np.asarray(cv2.copyMakeBorder(crop, *(MARGIN_PX,) * 4, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)


def text_ems(text: str) -> float:
    """Width of the ink of ``text`` in ems: CJK characters 1, full-width punctuation (its ink sits on one side
    of the em, the rest reads as a gap) about half, Latin letters and digits about half, other marks less."""
    total = 0.0
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        mark = unicodedata.category(ch)[0] in "PS"
        total += (0.45 if mark else 1.0) if wide else (0.3 if mark else 0.55)
    return total


def width_misfit(crop: Gray, text: str) -> float:
    """Measured minus expected width of a line crop in ems (positive: more ink than characters read)."""
    ink = ink_mask(crop)
    cols = np.flatnonzero(ink.any(axis=0))
    rows = np.flatnonzero(ink.any(axis=1))
    if cols.size == 0 or not text:
        return 0.0
    em = (rows[-1] - rows[0] + 1) / GLYPH_HEIGHT_EM
    width = sum(end - start + 1 for start, end in _runs(cols, gap=int(WORD_GAP_EM * em)))
    # Glyphs are ~0.9 em wide with ~0.1 em side bearings: n characters measure n − 0.1 em of ink.
    return float(width / em - (text_ems(text) - 0.1))


def similarity(a: str, b: str) -> float:
    """1 − normalised edit distance: 1.0 identical, 0.0 nothing in common."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))
