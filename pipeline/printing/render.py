"""Render: printable PDF ballots from a template and a list of sheet serials.

Vector drawing with fpdf2 and the font stack of :mod:`pipeline.common.fonts` (Noto Sans CJK SC, embedded as a
subset). Every page gets the four registration marks, the boxes exactly where
:func:`pipeline.ballot.layout.compute_layout` put them, and a QR code with the page's own serial.
"""

from __future__ import annotations

from pathlib import Path

import segno
from fpdf import FPDF

from pipeline.ballot.layout import BOX_LINE_WIDTH, Layout, Rect, TextItem, compute_layout
from pipeline.ballot.payload import SheetId, format_serial
from pipeline.ballot.template import Template, period_label
from pipeline.common.fonts import FONT, cjk_pdf


def render_ballots(template: Template, session: str, serials: list[str], output: Path) -> Layout:
    """Write one page per serial to ``output``; return the layout used."""
    layout = compute_layout(template)
    data = render_pdf_bytes(template, session, serials)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    return layout


def render_pdf_bytes(template: Template, session: str, serials: list[str]) -> bytes:
    """The PDF of one page per serial, in memory."""
    layout = compute_layout(template)
    pdf = cjk_pdf(template.title.replace("{period}", period_label(session)))
    for serial in serials:
        sheet = SheetId(template.id, template.short_hash(), session, serial)
        _draw_page(pdf, layout, template, session, sheet)
    return bytes(pdf.output())


def _draw_page(pdf: FPDF, layout: Layout, template: Template, session: str, sheet: SheetId) -> None:
    pdf.add_page()
    pdf.set_text_color(0)
    pdf.set_fill_color(235)
    for rect in layout.shaded:
        pdf.rect(rect.x, rect.y, rect.w, rect.h, style="F")
    pdf.set_draw_color(0)
    for line in layout.lines:
        pdf.set_line_width(line.width)
        pdf.line(line.x1, line.y1, line.x2, line.y2)
    pdf.set_line_width(BOX_LINE_WIDTH)
    pdf.set_fill_color(255)
    for box in layout.boxes:
        pdf.rect(box.rect.x, box.rect.y, box.rect.w, box.rect.h, style="DF")
    for mark in layout.registration:
        _draw_finder(pdf, mark)
    _draw_qr(pdf, layout.qr, sheet.encode())
    period = period_label(session)
    for item in layout.texts:
        _draw_text(pdf, item, item.text.replace("{period}", period))
    serial_line = f"编号 {format_serial(sheet.serial)}"
    _draw_text(pdf, TextItem(serial_line, layout.serial_text, 7.0, "C"), serial_line)


def _draw_finder(pdf: FPDF, mark: Rect) -> None:
    """A QR-style finder: 7×7 black, 5×5 white, 3×3 black. Its nested rings survive blur and rotation,
    and nothing else on the page (ticks, text, boxes) has that structure."""
    unit = mark.w / 7
    pdf.set_fill_color(0)
    pdf.rect(mark.x, mark.y, mark.w, mark.h, style="F")
    pdf.set_fill_color(255)
    pdf.rect(mark.x + unit, mark.y + unit, 5 * unit, 5 * unit, style="F")
    pdf.set_fill_color(0)
    pdf.rect(mark.x + 2 * unit, mark.y + 2 * unit, 3 * unit, 3 * unit, style="F")


def _draw_qr(pdf: FPDF, place: Rect, payload: str) -> None:
    """Vector QR code filling ``place`` including its 4-module quiet zone; dark runs drawn as rectangles."""
    code = segno.make(payload, error="m", micro=False)
    matrix = code.matrix
    size = len(matrix)
    module = place.w / (size + 8)
    pdf.set_fill_color(0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < size:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < size and row[column]:
                column += 1
            pdf.rect(
                place.x + (4 + start) * module,
                place.y + (4 + row_index) * module,
                (column - start) * module,
                module,
                style="F",
            )


def _draw_text(pdf: FPDF, item: TextItem, text: str) -> None:
    pdf.set_font(FONT, "B" if item.bold else "", item.size)
    size = item.size
    while pdf.get_string_width(text) > item.rect.w and size > 6.0:
        size -= 0.5
        pdf.set_font_size(size)
    pdf.set_xy(item.rect.x, item.rect.y)
    pdf.cell(item.rect.w, item.rect.h, text, align=item.align)
