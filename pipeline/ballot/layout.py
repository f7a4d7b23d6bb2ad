"""Layout: where everything on a ballot sits, in millimetres from the page's top-left corner.

Computed deterministically from a :class:`~pipeline.ballot.template.Template` (no font files, no randomness), so
the printer (:mod:`pipeline.printing.render`) and the reader (:mod:`pipeline.reading.align`,
:mod:`pipeline.reading.score`) agree by construction. Text widths are estimated from character classes (CJK full
width, Latin about half); the renderer shrinks a string that would not fit, but never moves a box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pipeline.ballot.template import CATEGORY_ROW, MmRect, Template, TemplateError, TemplateInvalid

PT_MM = 25.4 / 72

PAGE_W, PAGE_H = 210.0, 297.0
MARK_SIZE = 7.0  # registration mark side (finder pattern, 7 modules of 1 mm)
MARK_INSET = 7.0  # mark's outer corner from the paper edge; printers leave 4–5 mm unprinted
CONTENT_LEFT, CONTENT_RIGHT = 18.0, 192.0
CONTENT_TOP, CONTENT_BOTTOM = 18.0, 278.0
QR_SIZE = 22.0
BOX_SIZE = 6.0
ROW_HEIGHT = 11.0
HEADER_HEIGHT = 9.0
NUMBER_WIDTH = 12.0
OPTION_WIDTH = 20.0
POST_WIDTH = 30.0
MIN_COMMENT_WIDTH = 30.0
LINE_WIDTH = 0.25
BOX_LINE_WIDTH = 0.35


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle on the page, in mm."""

    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def corners(self) -> tuple[tuple[float, float], ...]:
        return (
            (self.x, self.y),
            (self.x + self.w, self.y),
            (self.x + self.w, self.y + self.h),
            (self.x, self.y + self.h),
        )

    def as_json(self) -> dict[str, float]:
        return {
            "x_mm": round(self.x, 3),
            "y_mm": round(self.y, 3),
            "w_mm": round(self.w, 3),
            "h_mm": round(self.h, 3),
        }


@dataclass(frozen=True)
class Checkbox:
    """One printed tick box: the place of one option of one row."""

    section: int
    row: int
    unit: str
    option: str
    rect: Rect


@dataclass(frozen=True)
class RowPlace:
    """One ballot row: its boxes, the band it occupies (for review crops) and its comment cell if any."""

    section: int
    row: int
    unit: str
    options: tuple[str, ...]
    band: Rect
    boxes: tuple[Checkbox, ...]
    comment: Rect | None = None


@dataclass(frozen=True)
class TextItem:
    """A string to print inside ``rect``; ``size`` in points."""

    text: str
    rect: Rect
    size: float
    align: Literal["L", "C", "R"] = "C"
    bold: bool = False


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = LINE_WIDTH


@dataclass(frozen=True)
class Layout:
    """Everything the renderer draws and the reader looks for."""

    template_id: str
    template_hash: str
    page_w: float
    page_h: float
    registration: tuple[Rect, ...]
    qr: Rect
    serial_text: Rect
    rows: tuple[RowPlace, ...]
    texts: tuple[TextItem, ...] = field(repr=False)
    lines: tuple[Line, ...] = field(repr=False)
    shaded: tuple[Rect, ...] = field(repr=False)

    @property
    def boxes(self) -> tuple[Checkbox, ...]:
        return tuple(box for row in self.rows for box in row.boxes)

    def as_json(self) -> dict[str, object]:
        """The exported shape other tools rely on (``ballot template layout --json``)."""
        return {
            "template": self.template_id,
            "hash": self.template_hash,
            "page": {"width_mm": self.page_w, "height_mm": self.page_h},
            "boxes": [
                {"section": b.section, "row": b.row, "unit": b.unit, "option": b.option, **b.rect.as_json()}
                for b in self.boxes
            ],
            "registration": [mark.as_json() for mark in self.registration],
            "qr": self.qr.as_json(),
        }


def text_width(text: str, size_pt: float) -> float:
    """Estimated printed width in mm: CJK and full-width forms 1 em, everything else 0.55 em."""
    em = size_pt * PT_MM
    return sum(em if ord(ch) >= 0x2E80 else 0.55 * em for ch in text)


def registration_marks() -> tuple[Rect, ...]:
    """Top-left, top-right, bottom-right, bottom-left (clockwise), as the aligner expects them."""
    near, far_x, far_y = MARK_INSET, PAGE_W - MARK_INSET - MARK_SIZE, PAGE_H - MARK_INSET - MARK_SIZE
    return (
        Rect(near, near, MARK_SIZE, MARK_SIZE),
        Rect(far_x, near, MARK_SIZE, MARK_SIZE),
        Rect(far_x, far_y, MARK_SIZE, MARK_SIZE),
        Rect(near, far_y, MARK_SIZE, MARK_SIZE),
    )


class _Builder:
    def __init__(self) -> None:
        self.texts: list[TextItem] = []
        self.lines: list[Line] = []
        self.shaded: list[Rect] = []
        self.rows: list[RowPlace] = []

    def text(self, text: str, rect: Rect, size: float, align: Literal["L", "C", "R"] = "C", bold: bool = False) -> None:
        self.texts.append(TextItem(text, rect, size, align, bold))

    def wrapped(self, text: str, x: float, y: float, width: float, size: float, bold: bool = False) -> float:
        """Centre ``text`` on as few lines as fit ``width``; return the height used."""
        lines = _wrap(text, width, size)
        line_h = size * PT_MM * 1.45
        for index, part in enumerate(lines):
            self.text(part, Rect(x, y + index * line_h, width, line_h), size, "C", bold)
        return line_h * len(lines)

    def grid(self, left: float, top: float, widths: list[float], heights: list[float]) -> None:
        right, bottom = left + sum(widths), top + sum(heights)
        x = left
        for width in [0.0, *widths]:
            x += width
            self.lines.append(Line(x, top, x, bottom))
        y = top
        for height in [0.0, *heights]:
            y += height
            self.lines.append(Line(left, y, right, y))


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and text_width(current + ch, size) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def _box_in(cell: Rect) -> Rect:
    cx, cy = cell.center
    return Rect(cx - BOX_SIZE / 2, cy - BOX_SIZE / 2, BOX_SIZE, BOX_SIZE)


def compute_layout(template: Template) -> Layout:
    """Place every element of ``template`` on an A4 portrait page.

    Raises :class:`TemplateInvalid` when the template cannot fit on one sheet. An existing office form
    (``source: external``) is laid out where ``template from-scan`` found everything on its blank.
    """
    if template.external is not None:
        return _external_layout(template)
    b = _Builder()
    header_right = CONTENT_RIGHT - QR_SIZE - 4.0
    header_width = header_right - CONTENT_LEFT
    qr = Rect(CONTENT_RIGHT - QR_SIZE, CONTENT_TOP - 2.0, QR_SIZE, QR_SIZE)
    serial_text = Rect(qr.x - 4.0, qr.y + qr.h + 0.3, qr.w + 4.0, 3.5)

    y = CONTENT_TOP
    if template.organisation:
        y += b.wrapped(template.organisation, CONTENT_LEFT, y, header_width, 11.0)
    title_size = 16.0 if text_width(template.title, 16.0) <= header_width else 14.0
    y += b.wrapped(template.title, CONTENT_LEFT, y, header_width, title_size, bold=True) + 1.5
    y = max(y, qr.y + qr.h + 5.0)
    y += b.wrapped(template.instruction, CONTENT_LEFT, y, CONTENT_RIGHT - CONTENT_LEFT, 10.5) + 3.0

    if template.voter_category is not None:
        y = _category_row(b, template, y) + 4.0

    for index in range(len(template.sections)):
        y = _section(b, template, index, y) + 5.0

    footer_top = CONTENT_BOTTOM - 5.0
    if template.footer:
        b.text(template.footer, Rect(CONTENT_LEFT, footer_top, CONTENT_RIGHT - CONTENT_LEFT, 5.0), 8.5)
    if y - 5.0 > footer_top - 1.0:
        overflow = y - 5.0 - (footer_top - 1.0)
        raise TemplateInvalid(
            template.id,
            [
                TemplateError(
                    "sections",
                    f"the ballot does not fit on one A4 sheet ({overflow:.0f} mm too long); "
                    "use fewer rows, drop the comment column or split it into two templates",
                )
            ],
        )

    return Layout(
        template_id=template.id,
        template_hash=template.content_hash(),
        page_w=PAGE_W,
        page_h=PAGE_H,
        registration=registration_marks(),
        qr=qr,
        serial_text=serial_text,
        rows=tuple(b.rows),
        texts=tuple(b.texts),
        lines=tuple(b.lines),
        shaded=tuple(b.shaded),
    )


def _category_row(b: _Builder, template: Template, top: float) -> float:
    category = template.voter_category
    assert category is not None
    size = 10.5
    label = f"{category.label}："
    x = CONTENT_LEFT
    b.text(label, Rect(x, top, text_width(label, size) + 1.0, ROW_HEIGHT), size, "L", bold=True)
    x += text_width(label, size) + 2.0
    boxes = []
    for option in category.options:
        box = Rect(x, top + (ROW_HEIGHT - BOX_SIZE) / 2, BOX_SIZE, BOX_SIZE)
        boxes.append(Checkbox(-1, 0, CATEGORY_ROW, option, box))
        label_w = text_width(option, size) + 1.0
        b.text(option, Rect(x + BOX_SIZE + 1.5, top, label_w, ROW_HEIGHT), size, "L")
        x += BOX_SIZE + 1.5 + label_w + 5.0
    if x - 5.0 > CONTENT_RIGHT:
        raise TemplateInvalid(
            template.id,
            [TemplateError("voter_category.options", "the categories do not fit on one line; shorten them")],
        )
    band = Rect(CONTENT_LEFT, top, x - 5.0 - CONTENT_LEFT, ROW_HEIGHT)
    b.rows.append(RowPlace(-1, 0, CATEGORY_ROW, tuple(category.options), band, tuple(boxes)))
    return top + ROW_HEIGHT


def _section(b: _Builder, template: Template, index: int, top: float) -> float:
    section = template.sections[index]
    y = top
    if section.title:
        b.text(section.title, Rect(CONTENT_LEFT, y, CONTENT_RIGHT - CONTENT_LEFT, 7.0), 11.0, "L", bold=True)
        y += 7.5
    options = section.all_options
    total = CONTENT_RIGHT - CONTENT_LEFT
    name_header = "单位名称" if section.kind == "unit" else "姓名"
    longest = max(text_width(row.unit, 10.5) for row in section.rows)
    fixed = NUMBER_WIDTH + OPTION_WIDTH * len(options) + (POST_WIDTH if section.kind == "cadre" else 0.0)
    if section.comment:
        name_w = max(34.0, math.ceil(longest + 6.0))
        comment_w = total - fixed - name_w
        if comment_w < MIN_COMMENT_WIDTH:
            raise TemplateInvalid(
                template.id,
                [
                    TemplateError(
                        f"sections.{index}.comment",
                        "no room left for the 意见建议 column; shorten the unit names or use fewer options",
                    )
                ],
            )
    else:
        name_w, comment_w = total - fixed, 0.0
    if longest > name_w - 2.0:
        raise TemplateInvalid(
            template.id, [TemplateError(f"sections.{index}.rows", "a row name is too long for its column")]
        )

    headers: list[tuple[str, float]] = [("序号", NUMBER_WIDTH), (name_header, name_w)]
    if section.kind == "cadre":
        headers.append(("职务", POST_WIDTH))
    headers += [(option, OPTION_WIDTH) for option in options]
    if section.comment:
        headers.append(("意见建议", comment_w))

    x = CONTENT_LEFT
    b.shaded.append(Rect(CONTENT_LEFT, y, total, HEADER_HEIGHT))
    for label, width in headers:
        size = 10.0 if text_width(label, 10.0) <= width - 1.5 else 8.5
        b.text(label, Rect(x, y, width, HEADER_HEIGHT), size, "C", bold=True)
        x += width
    b.grid(CONTENT_LEFT, y, [w for _, w in headers], [HEADER_HEIGHT] + [ROW_HEIGHT] * len(section.rows))
    y += HEADER_HEIGHT

    for row_index, row in enumerate(section.rows):
        x = CONTENT_LEFT
        b.text(str(row_index + 1), Rect(x, y, NUMBER_WIDTH, ROW_HEIGHT), 10.0)
        x += NUMBER_WIDTH
        b.text(row.unit, Rect(x + 2.0, y, name_w - 4.0, ROW_HEIGHT), 10.5, "L")
        x += name_w
        if section.kind == "cadre":
            b.text(row.post or "", Rect(x, y, POST_WIDTH, ROW_HEIGHT), 9.5)
            x += POST_WIDTH
        boxes = []
        for option in options:
            boxes.append(Checkbox(index, row_index, row.unit, option, _box_in(Rect(x, y, OPTION_WIDTH, ROW_HEIGHT))))
            x += OPTION_WIDTH
        comment = Rect(x, y, comment_w, ROW_HEIGHT) if section.comment else None
        band = Rect(CONTENT_LEFT, y, total, ROW_HEIGHT)
        b.rows.append(RowPlace(index, row_index, row.unit, options, band, tuple(boxes), comment))
        y += ROW_HEIGHT
    return y


def _external_layout(template: Template) -> Layout:
    """Our :class:`Layout` of an external form, in mm of the blank's page (no marks, no QR code)."""
    external = template.external
    assert external is not None
    ox, oy = external.origin_x_mm, external.origin_y_mm

    def rect(place: MmRect) -> Rect:
        return Rect(ox + place.x, oy + place.y, place.w, place.h)

    rows, lines = [], []
    for index, (section, place) in enumerate(zip(template.sections, external.sections, strict=True)):
        if place.ruled:
            top, bottom = oy + place.rules[0], oy + place.rules[-1]
            left, right = ox + place.columns[0], ox + place.columns[-1]
            lines += [Line(ox + x, top, ox + x, bottom, place.line_mm) for x in place.columns]
            lines += [Line(left, oy + y, right, oy + y, place.line_mm) for y in place.rules]
        for row_index, (row, geometry) in enumerate(zip(section.rows, place.rows, strict=True)):
            boxes = tuple(
                Checkbox(index, row_index, row.unit, option, rect(box))
                for option, box in zip(section.all_options, geometry.boxes, strict=True)
            )
            rows.append(RowPlace(index, row_index, row.unit, section.all_options, rect(geometry.band), boxes))
    nowhere = Rect(0.0, 0.0, 0.0, 0.0)
    return Layout(
        template.id,
        template.content_hash(),
        external.page_w_mm,
        external.page_h_mm,
        (),
        nowhere,
        nowhere,
        tuple(rows),
        (),
        tuple(lines),
        (),
    )
