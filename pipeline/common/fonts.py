"""The one font stack of every PDF the tool writes: Debian's Noto Sans CJK SC, embedded as a subset.

Ballots (:mod:`pipeline.printing.render`), the public notice and the feedback letters
(:mod:`pipeline.counting.notice`, :mod:`pipeline.counting.feedback`) all start from :func:`cjk_pdf`, so they
look alike and fail alike when the font is missing (:class:`FontMissing`, a set-up problem the clerk is told
how to fix). fpdf2 is used because reportlab cannot load CFF-outline fonts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/local/share/fonts"))
FONT_FILES = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
SC_FACE_INDEX = 2  # Simplified Chinese face inside the Noto CJK collections
FONT = "NotoSansSC"
CREATOR = "ballot (双评双比 ballot counter)"


class FontMissing(Exception):  # noqa: N818 - a set-up problem reported to the clerk
    """The Chinese font is not installed."""


def find_font(style: str = "") -> Path:
    """The font file of ``style`` ('' regular, 'B' bold); FontMissing says how to install it."""
    for folder in FONT_DIRS:
        candidate = folder / FONT_FILES[style]
        if candidate.exists():
            return candidate
    raise FontMissing(
        f"the Chinese font {FONT_FILES[style]} was not found; install it with: apt-get install fonts-noto-cjk"
    )


def cjk_pdf(title: str) -> FPDF:
    """An empty A4 portrait document in mm with both faces loaded, no automatic page breaks, and no metadata
    but ``title`` and the creator (nothing about the machine, the user or the files it was made from)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator(CREATOR)
    pdf.set_title(title)
    for style in FONT_FILES:
        pdf.add_font(FONT, style, str(find_font(style)), collection_font_number=SC_FACE_INDEX)
    return pdf
