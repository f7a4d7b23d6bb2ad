"""Typeset: the few pieces the office's printed documents are made of, on A4 portrait, in the ballots' font.

The public notice (:mod:`pipeline.counting.notice`) and the feedback letters (:mod:`pipeline.counting.feedback`)
are a title, paragraphs, tables, images of comment cells and a signature block with room for the seal: the
:class:`Document` here lays these out top to bottom, starting a new page where one does not fit, and numbers
the pages at the end. The font stack and the metadata are :func:`pipeline.common.fonts.cjk_pdf`'s: nothing
but a title and the creator is written into the file.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fpdf.enums import WrapMode

from pipeline.common.fonts import FONT, cjk_pdf
from pipeline.common.imaging import Gray

if TYPE_CHECKING:
    from fpdf import FPDF

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 25.0, 25.0, 22.0, 22.0  # margins, mm (公文 leave about 25 mm each side)
WIDTH = PAGE_W - LEFT - RIGHT
BODY_PT, TITLE_PT, TABLE_PT, SMALL_PT = 12.0, 17.0, 10.0, 9.0
LINE_MM = 7.0  # body line pitch (12 pt characters with about half a line between)
INDENT = "\u3000\u3000"  # a paragraph's first line starts two characters in
SEAL_MM = 42.0  # a county seal is 42 mm across; the signature block leaves that much room
SIGNATURE_MM = SEAL_MM * 0.45 + 2 * LINE_MM  # the room above the issuer, the issuer and the date
DRAFT_RED = (192, 0, 0)
LABEL_MM = 8.0  # an image's label (its number) sits in this much room left of it


def chinese_date(day: datetime.date) -> str:
    """2026-07-06 → '2026年7月6日'."""
    return f"{day.year}年{day.month}月{day.day}日"


class Document:
    """An A4 document written top to bottom; :meth:`output` numbers the pages and returns the PDF's bytes."""

    def __init__(self, title: str, *, draft: str | None = None) -> None:
        """``title`` goes into the file's metadata; ``draft`` (e.g. 草稿（待复核）) is printed in red at the top
        of every page."""
        self.pdf: FPDF = cjk_pdf(title)
        self.pdf.set_margins(LEFT, TOP, RIGHT)
        self.pdf.set_auto_page_break(True, margin=BOTTOM)
        self.draft = draft
        self.pdf.add_page()

    # -- pieces -------------------------------------------------------------------------------------------

    def title(self, text: str, *, size: float = TITLE_PT) -> None:
        self.pdf.set_font(FONT, "B", size)
        self.pdf.multi_cell(WIDTH, size * 0.55, text, align="C", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
        self.space(3)

    def line(self, text: str, *, align: str = "L", size: float = BODY_PT, bold: bool = False) -> None:
        """One or more lines of text, not indented."""
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.multi_cell(WIDTH, LINE_MM * size / BODY_PT, text, align=align, new_x="LMARGIN", new_y="NEXT",
                            wrapmode=WrapMode.CHAR)  # fmt: skip

    def paragraph(self, text: str, *, size: float = BODY_PT) -> None:
        """A body paragraph, its first line indented two characters, justified."""
        self.pdf.set_font(FONT, "", size)
        self.pdf.multi_cell(WIDTH, LINE_MM * size / BODY_PT, INDENT + text, align="J", new_x="LMARGIN",
                            new_y="NEXT", wrapmode=WrapMode.CHAR)  # fmt: skip

    def need(self, mm: float) -> None:
        """Start a new page unless ``mm`` are left on this one (what follows is kept together)."""
        if self.pdf.get_y() + mm > PAGE_H - BOTTOM:
            self.pdf.add_page()

    def space(self, mm: float) -> None:
        self.pdf.set_y(self.pdf.get_y() + mm)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        """A ruled table, centred, its header repeated on every page it runs onto."""
        from fpdf.fonts import FontFace

        self.pdf.set_font(FONT, "", TABLE_PT)
        heading = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
        scale = WIDTH / sum(widths) if sum(widths) > WIDTH else 1.0
        with self.pdf.table(
            col_widths=[w * scale for w in widths],
            width=sum(widths) * scale,
            text_align="CENTER",
            line_height=6.0,
            headings_style=heading,
            wrapmode=WrapMode.CHAR,
            padding=(0.8, 1.0),
        ) as table:
            for cells in (header, *rows):
                row = table.row()
                for cell in cells:
                    row.cell(cell)
        self.space(2)

    def image(self, pixels: Gray, width_mm: float, *, label: str = "") -> None:
        """A grey image ``width_mm`` wide (its height in proportion), right-aligned in the text block, with an
        optional label left of it; a new page is started first when it does not fit."""
        from PIL import Image

        height_mm = width_mm * pixels.shape[0] / pixels.shape[1]
        if self.pdf.get_y() + height_mm > PAGE_H - BOTTOM:
            self.pdf.add_page()
        y = self.pdf.get_y()
        x = LEFT + (WIDTH - width_mm)
        if label:  # in the margin left of the image, right-aligned against it
            self.pdf.set_font(FONT, "", SMALL_PT)
            self.pdf.set_xy(x - LABEL_MM - 1, y)
            self.pdf.cell(LABEL_MM, 5, label, align="R")
        self.pdf.image(Image.fromarray(pixels, mode="L"), x=x, y=y, w=width_mm, h=height_mm)
        self.pdf.set_xy(LEFT, y + height_mm + 2.5)

    def signature(self, issuer: str, day: datetime.date) -> None:
        """The issuer and the date at the right, below room for the seal (on this page or a new one)."""
        self.need(SIGNATURE_MM)
        self.space(SEAL_MM * 0.45)
        block = max(self.pdf.get_string_width(issuer), self.pdf.get_string_width(chinese_date(day))) + 8
        for text in (issuer, chinese_date(day)):
            self.pdf.set_font(FONT, "", BODY_PT)
            self.pdf.set_x(PAGE_W - RIGHT - max(block, SEAL_MM + 8))
            self.pdf.cell(max(block, SEAL_MM + 8), LINE_MM, text, align="C", new_x="LMARGIN", new_y="NEXT")

    # -- the file -----------------------------------------------------------------------------------------

    def output(self) -> bytes:
        """The PDF: every page numbered 第 n 页 共 N 页 at the foot, and marked as a draft when it is one."""
        pdf = self.pdf
        pages = pdf.pages_count
        pdf.set_auto_page_break(False)
        for number in range(1, pages + 1):
            pdf.page = number
            pdf.set_font(FONT, "", SMALL_PT)
            pdf.set_xy(LEFT, PAGE_H - BOTTOM + 6)
            pdf.cell(WIDTH, 5, f"第 {number} 页 共 {pages} 页", align="C")
            if self.draft:
                pdf.set_text_color(*DRAFT_RED)
                pdf.set_font(FONT, "B", 13)
                pdf.set_xy(LEFT, 9)
                pdf.cell(WIDTH, 7, self.draft, align="C")
                pdf.set_text_color(0)
        return bytes(pdf.output())
