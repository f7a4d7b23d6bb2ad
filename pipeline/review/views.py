"""What the review page shows: store records turned into JSON-ready dicts, crop geometry, hand-entry checks.

Geometry comes from the layout alone: a read page is shown as the sheet upright at
:data:`pipeline.reading.keep.REVIEW_PX_PER_MM` (:func:`shown_page`: kept so, or brought so from the scan kept as
scanned), so a row crop is the row's band in mm times that scale, and each checkbox outline is its layout
rectangle in the same pixels. No SQL here (that is :mod:`pipeline.store`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import cv2
import numpy as np

from pipeline.ballot.layout import Layout, Rect, RowPlace, compute_layout
from pipeline.common.messages import Lang, page_reason
from pipeline.reading.ingest import decode_image
from pipeline.reading.keep import REVIEW_PX_PER_MM, upright_page
from pipeline.store.database import Store
from pipeline.store.records import (
    ROW_DECISION_KINDS,
    DecisionRefused,
    FlaggedRow,
    HandRow,
    PageSummary,
    RowDecisionKind,
    RowState,
    StoredImage,
)

#: Crop margins around a row band, in mm: a tick often overshoots its box upwards, past the row's ruling; more
#: than 2.5 mm would show the neighbouring rows' boxes, which a clerk could take for this row's.
CROP_MARGIN_X_MM = 1.0
CROP_MARGIN_Y_MM = 2.0

JSON = dict[str, object]


@dataclass(frozen=True)
class PixelBox:
    """A rectangle in image pixels (left, top, width, height)."""

    x: int
    y: int
    w: int
    h: int

    def as_json(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


class Layouts:
    """Layouts of the templates pages were printed from, computed once per template hash.

    The caller serialises store access (the review server holds one lock around every store call).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, Layout] = {}

    def get(self, digest: str) -> Layout:
        if digest not in self._cache:
            self._cache[digest] = compute_layout(self._store.template_by_hash(digest))
        return self._cache[digest]

    def row(self, digest: str, unit: str) -> tuple[int, RowPlace]:
        """(index in the layout's rows, place) of ``unit``; DecisionRefused when the template has no such row."""
        for index, place in enumerate(self.get(digest).rows):
            if place.unit == unit:
                return index, place
        raise DecisionRefused(f"模板没有这一行 / the template has no row {unit!r}")


def to_pixels(rect: Rect, origin: tuple[int, int] = (0, 0)) -> PixelBox:
    scale = REVIEW_PX_PER_MM
    return PixelBox(
        round(rect.x * scale) - origin[0],
        round(rect.y * scale) - origin[1],
        round(rect.w * scale),
        round(rect.h * scale),
    )


def crop_area(place: RowPlace, width: int, height: int) -> PixelBox:
    """The row band plus margins, in the upright page image's pixels, clipped to the image."""
    scale = REVIEW_PX_PER_MM
    band = place.band
    left = max(0, round((band.x - CROP_MARGIN_X_MM) * scale))
    top = max(0, round((band.y - CROP_MARGIN_Y_MM) * scale))
    right = min(width, round((band.x + band.w + CROP_MARGIN_X_MM) * scale))
    bottom = min(height, round((band.y + band.h + CROP_MARGIN_Y_MM) * scale))
    return PixelBox(left, top, right - left, bottom - top)


def shown_page(image: StoredImage, layouts: Layouts) -> np.ndarray:
    """The page as the clerk is shown it: the stored image decoded, and a scan kept as its file held it
    resampled upright at REVIEW_PX_PER_MM through its page's transform, so rows are cropped from both alike."""
    pixels = decode_image(image.data)
    if pixels is None:
        raise ValueError("stored page image cannot be decoded")
    if image.transform is None or image.template_hash is None:
        return pixels
    layout = layouts.get(image.template_hash)
    return upright_page(pixels, image.transform, layout.page_w, layout.page_h)


def row_crop(page: np.ndarray, place: RowPlace) -> np.ndarray:
    """The row's crop at native resolution (never rescaled here: the browser may enlarge it, sharp)."""
    area = crop_area(place, page.shape[1], page.shape[0])
    return page[area.y : area.y + area.h, area.x : area.x + area.w]


def png(pixels: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(encoded.tobytes())


# -- JSON for the page ------------------------------------------------------------------------------------------


def reading_label(kind: str, choice: str | None, texts: Mapping[str, str]) -> str:
    """How a reading reads on the page: the option itself, else 弃权 / 无效 / 多选（无效）/ 待定."""
    if kind == "choice" and choice:
        return choice
    return texts.get(kind, kind)


def row_json(state: RowState, texts: Mapping[str, str]) -> JSON:
    decision = state.decision
    return {
        "page_id": state.page_id,
        "unit": state.unit,
        "key": f"{state.page_id}/{state.unit}",
        "version": state.version,
        "reason": state.reason,
        "reason_text": texts.get(f"reason_{state.reason}", state.reason),
        "machine": reading_label(state.machine_reading, state.machine_choice, texts),
        "decision": None
        if decision is None
        else {
            "kind": decision.kind,
            "choice": decision.choice,
            "label": reading_label(decision.kind, decision.choice, texts),
            "reviewer": decision.reviewer,
            "decided_at": decision.decided_at,
        },
        "pending": state.effective == "pending",
        "effective": reading_label(
            decision.kind if decision else state.machine_reading,
            decision.choice if decision else state.machine_choice,
            texts,
        ),
    }


def page_pixels(layout: Layout) -> tuple[int, int]:
    """(width, height) of a read page as shown (:func:`shown_page`): the sheet upright at REVIEW_PX_PER_MM."""
    return round(layout.page_w * REVIEW_PX_PER_MM), round(layout.page_h * REVIEW_PX_PER_MM)


def flagged_json(row: FlaggedRow, layouts: Layouts, texts: Mapping[str, str]) -> JSON:
    """A flagged row with what the page needs to draw it: the crop and, on it, every box with its fill."""
    index, place = layouts.row(row.template_hash, row.state.unit)
    width, height = page_pixels(layouts.get(row.template_hash))
    area = crop_area(place, width, height)
    fills = {box.option: box for box in row.boxes}
    boxes = []
    for box in place.boxes:
        measured = fills.get(box.option)
        boxes.append(
            {
                "option": box.option,
                "fill": measured.fill if measured else None,
                "outside": measured.outside if measured else None,
                **to_pixels(box.rect, (area.x, area.y)).as_json(),
            }
        )
    return {
        **row_json(row.state, texts),
        "serial": row.serial,
        "source": PurePath(row.source).name,
        "page_no": row.page_no,
        "options": list(place.options),
        "boxes": boxes,
        "crop": {"url": f"/image/row/{row.state.page_id}/{index}", "width": area.w, "height": area.h},
        "sheet": {
            "url": f"/image/page/{row.state.page_id}",
            "width": width,
            "height": height,
            "band": to_pixels(place.band).as_json(),
        },
    }


def progress_json(rows: Sequence[FlaggedRow]) -> JSON:
    """还剩 remaining / total, overall and per reason code."""
    by_reason: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = by_reason.setdefault(row.state.reason, {"total": 0, "remaining": 0})
        counts["total"] += 1
        counts["remaining"] += row.state.effective == "pending"
    return {
        "total": len(rows),
        "remaining": sum(row.state.effective == "pending" for row in rows),
        "by_reason": by_reason,
    }


def count_template(page: PageSummary, printed: Sequence[str]) -> tuple[str | None, str]:
    """The template a rejected page can be counted by, or None and the strings key saying why not.

    A page whose QR code was read names its template; one that was not can only be the session's template
    when the session printed exactly one.
    """
    if page.outcome != "unreadable":
        return None, "why_not_outcome"
    if page.template_hash is not None:
        return page.template_hash, ""
    if len(printed) == 1:
        return printed[0], ""
    return None, "why_not_template"


def page_json(
    page: PageSummary, texts: Mapping[str, str], lang: Lang, layouts: Layouts | None, printed: Sequence[str]
) -> JSON:
    """A rejected page (``layouts`` given: with the rows to enter by hand when it can be counted) or a sheet."""
    decision = page.state.decision
    result: JSON = {
        "page_id": page.page_id,
        "source": PurePath(page.source).name,
        "page_no": page.page_no,
        "outcome": page.outcome,
        "outcome_text": texts.get(f"outcome_{page.outcome}", page.outcome),
        "reason_code": str(page.reason.code) if page.reason else "",
        "reason": page_reason(page.reason, lang) if page.reason else "",
        "serial": page.serial,
        "image": f"/image/page/{page.page_id}" if page.has_image else None,
        "version": page.state.version,
        "decision": None
        if decision is None
        else {"kind": decision.kind, "note": decision.note, "reviewer": decision.reviewer, "at": decision.decided_at},
        "flagged": page.flagged_rows,
        "hand_rows": [list(row) for row in page.hand_rows],
    }
    if layouts is not None:
        digest, why_not = count_template(page, printed)
        result["countable"] = digest is not None
        result["why_not"] = texts.get(why_not, "") if why_not else ""
        result["rows"] = (
            [{"unit": place.unit, "options": list(place.options)} for place in layouts.get(digest).rows]
            if digest is not None
            else []
        )
    return result


def hand_rows(entered: object, layout: Layout) -> list[HandRow]:
    """Check the clerk's hand entry against the template: every row once, each an option, 弃权 or 无效."""
    if not isinstance(entered, list):
        raise DecisionRefused("rows must be a list")
    places = {place.unit: place for place in layout.rows}
    rows: dict[str, HandRow] = {}
    for item in entered:
        if not isinstance(item, dict):
            raise DecisionRefused("each row must be an object")
        unit, kind, choice = item.get("unit"), item.get("kind"), item.get("choice")
        if not isinstance(unit, str) or unit not in places or unit in rows:
            raise DecisionRefused(f"未知或重复的行 / unknown or repeated row {unit!r}")
        if kind not in ROW_DECISION_KINDS:
            raise DecisionRefused(f"{unit}: unknown reading {kind!r}")
        if kind == "choice" and choice not in places[unit].options:
            raise DecisionRefused(f"{unit} 没有选项 / has no option {choice!r}")
        typed_kind: RowDecisionKind = kind  # checked against ROW_DECISION_KINDS just above
        rows[unit] = HandRow(unit, typed_kind, choice if kind == "choice" else None)
    missing = [unit for unit in places if unit not in rows]
    if missing:
        raise DecisionRefused(f"缺少 / missing rows: {'、'.join(missing)}")
    return [rows[place.unit] for place in layout.rows]
