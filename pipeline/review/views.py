"""What the review page shows: store records turned into JSON-ready dicts, crop geometry, hand-entry checks.

Geometry comes from the layout alone: a read page is shown as the sheet upright at
:data:`pipeline.reading.keep.REVIEW_PX_PER_MM` (:func:`shown_page`: kept so, or brought so from the scan kept as
scanned), so a row crop is the row's band in mm times that scale, and each checkbox outline is its layout
rectangle in the same pixels. No SQL here (that is :mod:`pipeline.store`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import PurePath

import cv2
import numpy as np

from pipeline.ballot.layout import Layout, Rect, RowPlace, compute_layout
from pipeline.common.clock import local_time
from pipeline.common.messages import Lang, box_seen, page_reason, refusal, row_reason
from pipeline.common.reasons import BoxSeen, Refusal, RowWhy
from pipeline.reading.classify import box_seen as seen_in
from pipeline.reading.ingest import decode_image
from pipeline.reading.keep import REVIEW_PX_PER_MM, upright_page, upright_region
from pipeline.reading.settings import ReadingSettings
from pipeline.store.database import Store
from pipeline.store.records import (
    ROW_DECISION_KINDS,
    DecisionRefused,
    FlaggedRow,
    HandRow,
    PageSummary,
    RowDecisionKind,
    RowState,
    SheetRow,
    StoredImage,
)

#: Crop margins around a row band, in mm: a tick often overshoots its box upwards, past the row's ruling; more
#: than 2.5 mm would show the neighbouring rows' boxes, which a clerk could take for this row's.
CROP_MARGIN_X_MM = 1.0
CROP_MARGIN_Y_MM = 2.0
#: The close-up of a row is cut from the scan at the scan's own resolution, up to this (a 300-dpi scan: 11.8).
CLOSEUP_MAX_PX_PER_MM = 12.0
#: Contrast of the close-up: the darkest ink (1st percentile) to black, the paper (CLOSEUP_PAPER_PERCENTILE: most
#: of a row band is paper) to white, and the greys just under the paper spread by a gamma, so a faint tick or
#: what an eraser left shows as clearly as the scan allows.
CLOSEUP_PAPER_PERCENTILE = 70
CLOSEUP_GAMMA = 2.5
#: Where the screen cannot tell what the paper shows: a faint mark (a light tick and an erased one look alike on
#: screen; on paper the eraser's roughened surface shows), and an empty row on paper too grainy for light pencil.
PAPER_DECIDES = {BoxSeen.FAINT}

JSON = dict[str, object]
#: A machine reading as the clerk's hand form enters it (多选 is 无效 there); a pending row has none.
MACHINE_TO_HAND = {"choice": "choice", "blank": "blank", "overvote": "void"}


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
        raise DecisionRefused(Refusal.ROW_UNKNOWN, unit=unit)


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


def closeup(image: StoredImage, shown: np.ndarray, place: RowPlace) -> np.ndarray:
    """The row's crop (the area of :func:`row_crop`) at the scan's own resolution where the scan is kept as
    scanned (else the upright copy is all there is), contrast stretched (:func:`stretched`)."""
    area = crop_area(place, shown.shape[1], shown.shape[0])
    scale = min(CLOSEUP_MAX_PX_PER_MM, max(REVIEW_PX_PER_MM, image.px_per_mm or REVIEW_PX_PER_MM))
    if image.transform is None or scale <= REVIEW_PX_PER_MM:
        return stretched(shown[area.y : area.y + area.h, area.x : area.x + area.w])
    scan = decode_image(image.data)
    if scan is None:
        raise ValueError("stored page image cannot be decoded")
    area_mm = tuple(value / REVIEW_PX_PER_MM for value in (area.x, area.y, area.w, area.h))
    return stretched(upright_region(scan, image.transform, area_mm, scale))  # type: ignore[arg-type]


def stretched(pixels: np.ndarray) -> np.ndarray:
    """Grey levels stretched so the darkest ink is black, the paper white, and light greys darker."""
    ink, paper = np.percentile(pixels, [1, CLOSEUP_PAPER_PERCENTILE])
    if paper - ink < 1:
        return pixels
    share = np.clip((pixels.astype(np.float32) - ink) / (paper - ink), 0.0, 1.0)
    return np.asarray(np.round(255 * share**CLOSEUP_GAMMA), dtype=np.uint8)


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


def row_json(state: RowState, texts: Mapping[str, str], zone: tzinfo) -> JSON:
    decision = state.decision
    return {
        "page_id": state.page_id,
        "unit": state.unit,
        "key": f"{state.page_id}/{state.unit}",
        "version": state.version,
        "reason": state.reason,
        "reason_text": texts.get(f"reason_{state.reason}", state.reason),
        "flagged": state.machine_reading == "pending",
        "machine": reading_label(state.machine_reading, state.machine_choice, texts),
        "decision": None
        if decision is None
        else {
            "kind": decision.kind,
            "choice": decision.choice,
            "label": reading_label(decision.kind, decision.choice, texts),
            "reviewer": decision.reviewer,
            "decided_at": decision.decided_at,
            "time": local_time(decision.decided_at, zone),  # the office's time, as the workbook shows it
            "correction": decision.correction,
        },
        "pending": state.effective == "pending",
        "effective": reading_label(
            decision.kind if decision else state.machine_reading,
            decision.choice if decision else state.machine_choice,
            texts,
        ),
    }


def sheet_row_json(row: SheetRow, texts: Mapping[str, str], zone: tzinfo) -> JSON:
    """A row of the whole-sheet view: its state and the options a correction may choose."""
    return {**row_json(row.state, texts, zone), "options": list(row.options)}


def page_pixels(layout: Layout) -> tuple[int, int]:
    """(width, height) of a read page as shown (:func:`shown_page`): the sheet upright at REVIEW_PX_PER_MM."""
    return round(layout.page_w * REVIEW_PX_PER_MM), round(layout.page_h * REVIEW_PX_PER_MM)


def flagged_json(
    row: FlaggedRow, layouts: Layouts, texts: Mapping[str, str], lang: Lang, settings: ReadingSettings, zone: tzinfo
) -> JSON:
    """A flagged row with what the page needs to draw it: the crop and, on it, every box with its fill and what
    the machine saw in it; and whether only the paper ballot can decide (``paper``)."""
    index, place = layouts.row(row.template_hash, row.state.unit)
    width, height = page_pixels(layouts.get(row.template_hash))
    area = crop_area(place, width, height)
    scores = {box.option: box for box in row.boxes}
    boxes = []
    seen_any: set[BoxSeen] = set()
    for box in place.boxes:
        measured = scores.get(box.option)
        seen = seen_in(measured, settings) if measured else BoxSeen.EMPTY
        seen_any.add(seen)
        boxes.append(
            {
                "option": box.option,
                "fill": measured.fill if measured else None,
                "outside": measured.outside if measured else None,
                "seen": str(seen),
                "seen_text": box_seen(seen, lang),
                **to_pixels(box.rect, (area.x, area.y)).as_json(),
            }
        )
    paper = ""
    if BoxSeen.TAPED in seen_any:
        paper = texts["paper_taped"]
    elif seen_any & PAPER_DECIDES:
        paper = texts["paper_faint"]
    elif row.state.reason == RowWhy.NOISY:
        paper = texts["paper_noisy"]
    elif row.state.reason == RowWhy.DROPPED:
        paper = texts["paper_dropped"]
    return {
        **row_json(row.state, texts, zone),
        "serial": row.serial,
        "source": PurePath(row.source).name,
        "page_no": row.page_no,
        "options": list(place.options),
        "boxes": boxes,
        "paper": paper,
        "crop": {"url": f"/image/row/{row.state.page_id}/{index}", "width": area.w, "height": area.h},
        "closeup": f"/image/closeup/{row.state.page_id}/{index}",
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


def count_template(page: PageSummary, printed: Sequence[str]) -> str | DecisionRefused:
    """The template a rejected page can be counted by, or the refusal saying why it cannot be.

    A page whose QR code was read names its template; one that was not can only be the session's template
    when the session printed exactly one.
    """
    if page.outcome != "unreadable":
        return DecisionRefused(Refusal.ONLY_UNREADABLE_COUNTED, outcome=page.outcome)
    if page.template_hash is not None:
        return page.template_hash
    if len(printed) == 1:
        return printed[0]
    return DecisionRefused(Refusal.TEMPLATE_UNKNOWN)


def page_json(
    page: PageSummary,
    texts: Mapping[str, str],
    lang: Lang,
    layouts: Layouts | None,
    printed: Sequence[str],
    zone: tzinfo,
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
        else {
            "kind": decision.kind,
            "note": decision.note,
            "reviewer": decision.reviewer,
            "at": decision.decided_at,
            "time": local_time(decision.decided_at, zone),
        },
        "flagged": page.flagged_rows,
        "corrected": page.corrected_rows,
        "hand_rows": [list(row) for row in page.hand_rows],
    }
    if layouts is not None:
        digest = count_template(page, printed)
        result["countable"] = isinstance(digest, str)
        result["why_not"] = "" if isinstance(digest, str) else refusal(digest.code, digest.detail, lang)
        result["rows"] = (
            [{"unit": place.unit, "options": list(place.options)} for place in layouts.get(digest).rows]
            if isinstance(digest, str)
            else []
        )
        result["has_serial"] = page.serial is not None
        # A sheet read but for its serial: the machine's reading of each row fills the clerk's form (a row it
        # doubted is left for the clerk to choose, with why).
        result["machine_rows"] = {
            unit: {"kind": MACHINE_TO_HAND.get(reading), "choice": choice, "doubt": row_reason(reason, lang)}
            for unit, reading, choice, reason in page.machine_rows
        }
    return result


def hand_rows(entered: object, layout: Layout) -> list[HandRow]:
    """Check the clerk's hand entry against the template: every row once, each an option, 弃权 or 无效."""
    if not isinstance(entered, list):
        raise DecisionRefused(Refusal.ROWS_MALFORMED)
    places = {place.unit: place for place in layout.rows}
    rows: dict[str, HandRow] = {}
    for item in entered:
        if not isinstance(item, dict):
            raise DecisionRefused(Refusal.ROWS_MALFORMED)
        unit, kind, choice = item.get("unit"), item.get("kind"), item.get("choice")
        if not isinstance(unit, str) or unit not in places or unit in rows:
            raise DecisionRefused(Refusal.ROW_UNKNOWN, unit=str(unit)[:40])
        if kind not in ROW_DECISION_KINDS:
            raise DecisionRefused(Refusal.ROW_READING_UNKNOWN, unit=unit, kind=str(kind)[:40])
        if kind == "choice" and choice not in places[unit].options:
            raise DecisionRefused(Refusal.NO_OPTION, unit=unit, choice=str(choice)[:40])
        typed_kind: RowDecisionKind = kind  # checked against ROW_DECISION_KINDS just above
        rows[unit] = HandRow(unit, typed_kind, choice if kind == "choice" else None)
    missing = [unit for unit in places if unit not in rows]
    if missing:
        raise DecisionRefused(Refusal.ROWS_MISSING, units=missing)
    return [rows[place.unit] for place in layout.rows]
