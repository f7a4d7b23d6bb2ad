"""Paper: what happened to the sheet between the voter and the device — folded into the ballot box and opened
again, printed on the back of used paper or lying on another sheet.

Contract. Each function takes the filled page as rendered (8-bit grey at ``px_per_mm``, image edges = paper
edges), draws its parameters from ``rng``, records them in ``applied`` and returns the new page. The fold's
geometry is recorded so that :func:`pipeline.simulation.geometry.page_to_image` maps through it.
"""

from __future__ import annotations

import math
from typing import Literal, cast

import cv2
import numpy as np

from pipeline.common.fonts import SC_FACE_INDEX, find_font
from pipeline.simulation.effects import PAGE_MM, Floats, Gray, draw_crease, pick
from pipeline.simulation.geometry import crease_frame

BackKind = Literal["back_ballot", "back_document", "sheet_behind"]

# Folds: voters fold the sheet in half (top onto bottom) or in quarters, by hand.
QUARTER_FOLD_SHARE = 0.4
FOLD_PLACE_MM = 6.0  # a hand fold lies this far (±) from the sheet's middle
FOLD_ANGLE_DEG = 1.5
FOLD_SEPARATION_MM = (1.0, 3.0)  # how far apart the two parts of a crease lie once scanned
CREASE_DEPTH = (0.12, 0.35)  # darkness of the crease's shadow line
PANEL_SHADE = (0.0, 0.06)  # the part tilted away from the light is this much darker
# Show-through: print on the back (offices reuse paper) or on the sheet behind, seen through the paper.
BACK_KINDS: tuple[BackKind, ...] = ("back_ballot", "back_document", "sheet_behind")
BACK_KIND_SHARES = (0.4, 0.4, 0.2)
# Office paper is 88–95 % opaque (ISO 2471): black print behind it darkens the front by about 5–14 %; the
# sheet behind shows through one sheet and an air gap, less.
BACK_OPACITY: dict[str, tuple[float, float]] = {"back": (0.05, 0.14), "behind": (0.03, 0.10)}
BACK_BLUR_MM = (0.25, 0.8)  # light spreads in the paper's fibres
BACK_SHIFT_MM, BACK_ANGLE_DEG = 5.0, 1.0  # the back was printed on another day, on another printer
# A text document: 12 pt body, 16 pt title, 25 mm margins, 1.5 line spacing.
DOCUMENT_MARGIN_MM, BODY_MM, TITLE_MM = 25.0, 4.2, 5.6
DOCUMENT_TEXT = (
    "根据县委县政府工作部署为进一步加强机关作风建设提高服务质量和办事效率现将有关事项通知如下各单位要高度重视"
    "认真组织落实按照要求做好相关工作确保取得实效请于本月底前将工作开展情况书面报送办公室联系人电话附件一份"
    "会议研究决定关于做好年度目标管理考核工作的意见全面贯彻落实上级精神坚持以人民为中心的发展思想推进公共文化"
    "服务体系建设加强文物保护利用和非物质文化遗产传承发展群众体育事业规范文化市场秩序营造良好社会环境"
)


def fold_page(
    page: Gray, rng: np.random.Generator, applied: dict[str, object], px_per_mm: float, background: int
) -> Gray:
    """Fold in half or quarters, open again: each part foreshortened towards its crease (lying at another
    plane), a shadow line along each crease, the part tilted away from the light a little darker."""
    creases: list[dict[str, object]] = [_crease("y", rng)]
    if rng.random() < QUARTER_FOLD_SHARE:
        creases.append(_crease("x", rng))
    height, width = page.shape
    # Where each seen pixel comes from: geometry.unfold_points, done on whole pixel grids (float32).
    map_x = (np.arange(width, dtype=np.float32)[None, :] + 0.5) / px_per_mm + np.zeros((height, 1), np.float32)
    map_y = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / px_per_mm + np.zeros((1, width), np.float32)
    for crease in reversed(creases):
        normal, offset, factors = crease_frame(crease)
        seen = map_x * np.float32(normal[0]) + map_y * np.float32(normal[1]) - np.float32(offset)
        factor = np.where(seen < 0, np.float32(factors[0]), np.float32(factors[1]))
        move = seen / (1 - factor) - seen
        map_x += move * np.float32(normal[0])
        map_y += move * np.float32(normal[1])
    map_x, map_y = map_x * np.float32(px_per_mm) - 0.5, map_y * np.float32(px_per_mm) - 0.5
    out = np.asarray(cv2.remap(page, map_x, map_y, cv2.INTER_LINEAR, borderValue=background), np.float32)
    for crease in creases:
        _shade(out, crease, rng, px_per_mm)
    applied["fold"] = {"kind": "quarters" if len(creases) == 2 else "half", "creases": creases}
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def _crease(axis: Literal["x", "y"], rng: np.random.Generator) -> dict[str, object]:
    middle = PAGE_MM[1 if axis == "y" else 0] / 2
    at = middle + rng.uniform(-FOLD_PLACE_MM, FOLD_PLACE_MM)
    separation = rng.uniform(*FOLD_SEPARATION_MM)
    share = rng.uniform(0.0, 1.0)
    full = PAGE_MM[1 if axis == "y" else 0]
    return {
        "axis": axis,
        "at_mm": round(at, 3),
        "angle_deg": round(rng.uniform(-FOLD_ANGLE_DEG, FOLD_ANGLE_DEG), 3),
        "shift_mm": [round(separation * share, 3), round(separation * (1 - share), 3)],
        "extent_mm": [round(at, 3), round(full - at, 3)],
        "depth": round(rng.uniform(*CREASE_DEPTH), 3),
        "panel_shade": round(rng.uniform(*PANEL_SHADE), 4),
        "shaded_side": int(rng.integers(0, 2)),
    }


def _shade(out: Floats, crease: dict[str, object], rng: np.random.Generator, px_per_mm: float) -> None:
    """The crease's shadow line and the darker part, drawn across ``out`` (transposed for a vertical crease)."""
    view = out if crease["axis"] == "y" else out.T
    # In the transposed view a vertical crease turns the other way.
    angle = math.radians(float(cast(float, crease["angle_deg"]))) * (1 if crease["axis"] == "y" else -1)
    at_px = float(cast(float, crease["at_mm"])) * px_per_mm
    draw_crease(view, at_px, angle, float(cast(float, crease["depth"])), px_per_mm)
    rows = np.arange(view.shape[0], dtype=np.float32)[:, None]
    cols = np.arange(view.shape[1], dtype=np.float32)[None, :]
    distance = ((rows - at_px) * math.cos(angle) - (cols - view.shape[1] / 2) * math.sin(angle)) / px_per_mm
    side = distance if crease["shaded_side"] == 1 else -distance
    view *= 1 - float(cast(float, crease["panel_shade"])) * np.clip(side / 3.0, 0.0, 1.0)


def show_through(
    page: Gray, back: Gray, kind: BackKind, rng: np.random.Generator, applied: dict[str, object], px_per_mm: float
) -> Gray:
    """``back`` (the other side's print, as printed, or the sheet behind) seen faintly through the paper:
    mirrored left to right when it is on the back, blurred by the paper, placed as another printer put it."""
    seen = cv2.flip(back, 1) if kind != "sheet_behind" else back
    opacity = rng.uniform(*BACK_OPACITY["behind" if kind == "sheet_behind" else "back"])
    blur_mm = rng.uniform(*BACK_BLUR_MM)
    shift = rng.uniform(-BACK_SHIFT_MM, BACK_SHIFT_MM, 2)
    angle = rng.uniform(-BACK_ANGLE_DEG, BACK_ANGLE_DEG)
    centre = (page.shape[1] / 2, page.shape[0] / 2)
    move = np.asarray(cv2.getRotationMatrix2D(centre, angle, 1.0), np.float64)
    move[:, 2] += shift * px_per_mm
    placed = cv2.warpAffine(seen, move, (page.shape[1], page.shape[0]), flags=cv2.INTER_LINEAR, borderValue=255)
    soft = np.asarray(cv2.GaussianBlur(placed, (0, 0), blur_mm * px_per_mm), np.float32)
    out = page.astype(np.float32) * (1 - opacity * (1 - soft / 255))
    applied["show_through"] = {
        "kind": kind,
        "mirrored": kind != "sheet_behind",
        "opacity": round(opacity, 4),
        "blur_mm": round(blur_mm, 3),
        "shift_mm": [round(float(v), 3) for v in shift],
        "angle_deg": round(angle, 3),
    }
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8)


def pick_back(rng: np.random.Generator) -> BackKind:
    return pick(rng, BACK_KINDS, BACK_KIND_SHARES)


def text_document(shape: tuple[int, int], rng: np.random.Generator, px_per_mm: float) -> Gray:
    """An office document as printed (upright, as its own front): a title and paragraphs of Chinese text."""
    from PIL import Image, ImageDraw, ImageFont  # only this condition draws text

    image = Image.new("L", (shape[1], shape[0]), 255)
    draw = ImageDraw.Draw(image)
    title = ImageFont.truetype(str(find_font("B")), round(TITLE_MM * px_per_mm), index=SC_FACE_INDEX)
    body = ImageFont.truetype(str(find_font()), round(BODY_MM * px_per_mm), index=SC_FACE_INDEX)
    margin, line = DOCUMENT_MARGIN_MM * px_per_mm, BODY_MM * 1.5 * px_per_mm
    per_line = int((shape[1] - 2 * margin) / (BODY_MM * px_per_mm))
    start = int(rng.integers(0, len(DOCUMENT_TEXT) - 20))
    draw.text(
        (shape[1] / 2, margin), "关于" + DOCUMENT_TEXT[start : start + 14] + "的通知", font=title, fill=0, anchor="mt"
    )
    y = margin + 3 * line
    text = DOCUMENT_TEXT * 4
    cursor = int(rng.integers(0, len(DOCUMENT_TEXT)))
    while y < shape[0] - margin - line:
        indent = 2 if rng.random() < 0.15 else 0
        length = per_line - indent if rng.random() > 0.1 else int(rng.integers(4, per_line))
        chunk = text[cursor % len(DOCUMENT_TEXT) :][:length]
        draw.text((margin + indent * BODY_MM * px_per_mm, y), chunk, font=body, fill=int(rng.integers(0, 40)))
        cursor += length
        y += line
    return np.array(image, np.uint8)
