"""The preview ``from-scan`` always writes: the deskewed blank with what was found outlined, and beside it, at
each row's height, what was read (green: sure, red: to check). When no usable form was found it still shows
every answer place seen and why nothing could be made of them."""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from pipeline.forms.draft import Doubt
from pipeline.forms.proposed import FormNotFound, FormProposal
from pipeline.forms.ruling import PxRect

PREVIEW_PX_PER_MM = 6.0  # ≈ 150 dpi: every label legible, a few hundred KB
PREVIEW_TEXT_MM = 3.5
PREVIEW_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # index 2: Simplified Chinese
SURE, DOUBT, TABLE, BOX, SEEN = "#1a9641", "#d7191c", "#2b83ba", "#7b3294", "#999999"
SAME_LINE_MM = 2.0  # rows whose middles are this close are listed on one line of the panel
PANEL_SHARE = 0.75  # the panel of readings beside the page, as a share of the page's width
LINE_SHARE = 1.3  # of the panel's text size: the least distance between two of its lines


class _Canvas:
    """The page at preview scale with the panel beside it, and the two ways of marking it."""

    def __init__(self, image: Image.Image, px_per_mm: float) -> None:
        self.scale = min(1.0, PREVIEW_PX_PER_MM / px_per_mm) if px_per_mm else 1.0
        size = (round(image.width * self.scale), round(image.height * self.scale))
        page = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        self.page_width = page.width
        self.image = Image.new("RGB", (page.width + round(page.width * PANEL_SHARE), page.height), "white")
        self.image.paste(page, (0, 0))
        self.draw = ImageDraw.Draw(self.image)
        self.font = _font(round(PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM))
        self.small = _font(round(0.7 * PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM))
        self.free = -math.inf  # the panel's first free height (preview px): sections side by side say in turn

    def box(self, rect: PxRect, colour: str, width: int = 2) -> None:
        x0, y0, x1, y1 = (value * self.scale for value in rect)
        self.draw.rectangle([x0, y0, max(x0, x1), max(y0, y1)], outline=colour, width=width)

    def say(self, y: float, text: str, sure: bool, reason: str = "") -> None:
        x = self.page_width + 12
        at = max(y * self.scale, self.free)
        self.free = at + LINE_SHARE * PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM
        self.draw.text((x, at), text, fill=SURE if sure else DOUBT, font=self.font, anchor="lm")
        if reason:
            left = x + self.draw.textlength(text, font=self.font) + 10
            self.draw.text((left, at), f"待核对: {reason}"[:80], fill=DOUBT, font=self.small, anchor="lm")

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


def preview_png(proposal: FormProposal, doubts: list[Doubt]) -> bytes:
    """The deskewed blank with every section, option name, row label and answer place outlined (green: sure,
    red: check; grey: answer places seen but in no section), and beside it, at each row's height, what was
    read."""
    canvas = _Canvas(Image.fromarray(proposal.image), proposal.px_per_mm)
    doubted = {doubt.text for doubt in doubts}
    used = {box for section in proposal.sections for row in section.rows for box in row.boxes}
    for place in proposal.places:
        if place.rect not in used:
            canvas.box(place.rect, SEEN, 1)
    if proposal.title is not None:
        title = proposal.title
        canvas.box(title.rect, SURE if title.sure else DOUBT)
        canvas.say((title.rect[1] + title.rect[3]) / 2, f"标题 {title.text}", title.sure, title.doubt)
    for number, section in enumerate(proposal.sections, start=1):
        canvas.box(section.rect, TABLE, 3)
        for column in section.options:
            canvas.box(column.heading.rect, SURE if column.heading.sure else DOUBT)
        heading_y = min(column.heading.rect[1] for column in section.options)
        words = " | ".join(column.word for column in section.options)
        canvas.say(heading_y, f"{number}) 选项 {words}", all(column.heading.sure for column in section.options))
        said: list[tuple[float, list[str], bool, str]] = []  # rows side by side (read by column) share a line
        for index, row in enumerate(section.rows, start=1):
            sure = row.label.sure and row.label.text not in doubted
            canvas.box(row.label.rect, SURE if sure else DOUBT)
            for answer in row.boxes:
                canvas.box(answer, BOX)
            y = (row.band[1] + row.band[3]) / 2
            text = f"{index}. {row.label.text or '∅'}"
            if said and abs(said[-1][0] - y) < SAME_LINE_MM * proposal.px_per_mm:
                said[-1][1].append(text)
                said[-1] = (said[-1][0], said[-1][1], said[-1][2] and sure, said[-1][3] or row.label.doubt)
            else:
                said.append((y, [text], sure, row.label.doubt))
        for y, texts, sure, doubt in said:
            canvas.say(y, " | ".join(texts)[:90], sure, doubt)
    return canvas.png()


def not_found_png(found: FormNotFound) -> bytes | None:
    """The page with every answer place seen outlined and why no form could be made of it (None when the page
    could not be looked at)."""
    if found.image is None:
        return None
    canvas = _Canvas(Image.fromarray(found.image), found.px_per_mm)
    for place in found.places:
        canvas.box(place.rect, DOUBT, 2)
    lines = [f"没有找到可用的表格 / no usable form: {found.reason}", *found.notes]
    y = 40.0 / canvas.scale
    for line in lines:
        for start in range(0, len(line), 60):
            canvas.say(y, line[start : start + 60], False)
            y += 1.6 * PREVIEW_TEXT_MM * PREVIEW_PX_PER_MM / canvas.scale
    return canvas.png()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(PREVIEW_FONT, size, index=2)
    except OSError:  # without the CJK font the preview still shows every box; only Chinese text is missing
        return ImageFont.load_default(size)
