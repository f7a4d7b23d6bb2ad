"""The terminal fallback (``ballot review --cli``) for a machine without a browser.

Walks the rows still pending one at a time: prints the unit, why it was flagged, the machine's reading and
each box's fill, saves the row crop (outlined, enlarged) as a PNG and prints its path, then reads one key.
Decisions go through the same store methods, with the same version check, as the web page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import cv2
import numpy as np

from pipeline.common.reasons import Refusal
from pipeline.review.i18n import Lang, strings
from pipeline.review.views import Layouts, crop_area, reading_label, row_crop, shown_page, to_pixels
from pipeline.store.database import Store
from pipeline.store.records import DecisionConflict, DecisionRefused, FlaggedRow, RowDecisionKind, RowState

CROP_ZOOM = 2  # the PNG is opened in an image viewer; twice native keeps a tick's stroke easy to see
OUTLINE_BGR = (191, 95, 31)


@dataclass
class TerminalResult:
    decided: int = 0
    undone: int = 0
    left: int = 0


def outlined_crop(store: Store, layouts: Layouts, row: FlaggedRow) -> np.ndarray:
    """The row crop, enlarged, with every box outlined and numbered with its fill percentage (BGR)."""
    image = store.page_image(row.state.page_id)
    if image is None:
        raise DecisionRefused(Refusal.NO_IMAGE, page=row.state.page_id)
    page = shown_page(image, layouts)
    _, place = layouts.row(row.template_hash, row.state.unit)
    area = crop_area(place, page.shape[1], page.shape[0])
    crop = cv2.resize(row_crop(page, place), None, fx=CROP_ZOOM, fy=CROP_ZOOM, interpolation=cv2.INTER_CUBIC)
    drawn = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    fills = {box.option: box.fill for box in row.boxes}
    for number, box in enumerate(place.boxes, start=1):
        rect = to_pixels(box.rect, (area.x, area.y))
        x, y, w, h = (value * CROP_ZOOM for value in (rect.x, rect.y, rect.w, rect.h))
        cv2.rectangle(drawn, (x - 2, y - 2), (x + w + 2, y + h + 2), OUTLINE_BGR, 2)
        label = f"{number}: {round(fills.get(box.option, 0.0) * 100)}%"
        cv2.putText(drawn, label, (x - 6, max(14, y - 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.55, OUTLINE_BGR, 1, cv2.LINE_AA)
    return np.asarray(drawn, dtype=np.uint8)


def run_terminal(store: Store, session: str, reviewer: str, out_dir: Path, lang: Lang) -> TerminalResult:
    """Ask about every pending row in sheet order; Q stops, Enter skips, Z takes back the last decision."""
    texts = strings(lang)
    layouts = Layouts(store)
    out_dir.mkdir(parents=True, exist_ok=True)
    queue = [row for row in store.flagged_rows(session) if row.state.effective == "pending"]
    result = TerminalResult()
    decided: list[FlaggedRow] = []
    index = 0
    while index < len(queue):
        row = queue[index]
        state = store.row_state(session, row.state.page_id, row.state.unit)
        if state is None or state.effective != "pending":
            index += 1  # settled meanwhile, by another clerk
            continue
        options = [box.option for box in row.boxes]
        path = out_dir / f"row-{row.state.page_id}-{layouts.row(row.template_hash, row.state.unit)[0]:02d}.png"
        cv2.imwrite(str(path), outlined_crop(store, layouts, row))
        where = f"{texts['serial']} {row.serial} · " if row.serial else ""
        where += f"{row.source} p{row.page_no}"
        click.echo(f"\n[{index + 1}/{len(queue)}] {row.state.unit} · {where}")
        click.echo(f"  {texts['reason']}: {texts.get('reason_' + state.reason, state.reason)}")
        click.echo(f"  {texts['machine']}: {reading_label(state.machine_reading, state.machine_choice, texts)}")
        click.echo(
            "  " + "   ".join(f"{n}={box.option} ({round(box.fill * 100)}%)" for n, box in enumerate(row.boxes, 1))
        )
        click.echo(f"  {path}")
        keys = f"0={texts['blank']}  X={texts['void']}  Z={texts['undo']}  Enter={texts['skip']}  Q={texts['quit']}"
        click.echo(f"  {keys} > ", nl=False)
        key = click.getchar().lower()
        click.echo(key if key.isprintable() else "")
        if key == "q":
            break
        if key == "z":
            if decided:
                last = decided.pop()
                now = store.row_state(session, last.state.page_id, last.state.unit)
                if now is not None and now.decision is not None:
                    store.undo_row(session, now.page_id, now.unit, reviewer, now.version)
                    result.undone += 1
                index = queue.index(last)
            continue
        kind, choice = _key_decision(key, options)
        if kind is None:
            index += 1
            continue
        try:
            store.decide_row(session, state.page_id, state.unit, kind, choice, reviewer, state.version)
        except DecisionConflict as conflict:
            current = conflict.current.effective if isinstance(conflict.current, RowState) else ""
            click.echo(texts["conflict"].format(now=current))
            continue
        decided.append(row)
        result.decided += 1
        index += 1
    result.left = store.pending_rows(session)
    return result


def _key_decision(key: str, options: list[str]) -> tuple[RowDecisionKind | None, str | None]:
    if key.isdigit() and 1 <= int(key) <= len(options):
        return "choice", options[int(key) - 1]
    if key == "0":
        return "blank", None
    if key == "x":
        return "void", None
    return None, None
