"""Contact sheet: every checkbox crop of a set of scans, sorted by fill score, with the settings' marginal
and definite thresholds drawn between them, so thresholds are chosen from evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.common.imaging import Gray
from pipeline.reading.align import Alignment
from pipeline.reading.identify import Catalog, Identified, identify_page
from pipeline.reading.ingest import ScanPage, iter_pages
from pipeline.reading.model import ballot_model
from pipeline.reading.read import locate
from pipeline.reading.score import box_patch, score_page
from pipeline.reading.settings import ReadingSettings
from pipeline.scanning.files import collect_files

TILE = 72  # px per crop on the sheet
COLUMNS = 16
LABEL_H = 14
THRESHOLD_COLOURS = {"marginal": (0, 140, 255), "definite": (0, 160, 0)}


@dataclass(frozen=True)
class Crop:
    fill: float
    outside: float
    image: Gray
    source: str


def collect_crops(paths: Iterable[Path], catalog: Catalog, settings: ReadingSettings) -> list[Crop]:
    """Every box crop of every ballot of ours under ``paths`` (``catalog``: the templates printed with the
    store and the serials issued), whatever its session."""
    crops: list[Crop] = []
    for item in collect_files(paths):
        if not isinstance(item, Path):
            continue
        for page in iter_pages(item):
            if isinstance(page, ScanPage):
                crops += _page_crops(page, catalog, settings)
    return crops


def _page_crops(page: ScanPage, catalog: Catalog, settings: ReadingSettings) -> list[Crop]:
    image = page.image
    # Identified and fitted as a scan reads it (pipeline.reading.read), so the crops and scores are those the
    # classifier sees; a sheet of any session will do.
    found = identify_page(image, None, catalog, settings.blank_page_ink)
    if not isinstance(found, Identified):
        return []
    model = ballot_model(found.template)
    alignment = locate(image, found, model, settings)
    if not isinstance(alignment, Alignment):
        return []
    scores = {(s.unit, s.option): s for s in score_page(image, alignment, model)}
    crops = []
    for box in model.layout.boxes:
        score = scores[(box.unit, box.option)]
        patch = box_patch(image, alignment, model, box)
        crops.append(Crop(score.fill, score.outside, patch, f"{page.source}#{page.page_no}"))
    return crops


def draw_contact_sheet(crops: list[Crop], settings: ReadingSettings, *, keep_empty: int = 64) -> Gray:
    """Crops sorted by fill; only ``keep_empty`` of the boxes scoring 0 are kept (they all look alike)."""
    ordered = sorted(crops, key=lambda crop: crop.fill)
    empty = [crop for crop in ordered if crop.fill == 0.0]
    ordered = empty[-keep_empty:] + [crop for crop in ordered if crop.fill > 0.0]
    thresholds = [("marginal", settings.marks.marginal), ("definite", settings.marks.definite)]
    cells: list[Crop | str] = []
    for crop in ordered:
        while thresholds and crop.fill >= thresholds[0][1]:
            cells.append(thresholds.pop(0)[0])
        cells.append(crop)
    rows: list[list[Crop | str]] = [[]]
    for cell in cells:
        if isinstance(cell, str):
            rows.append([cell])
            rows.append([])
        else:
            if len(rows[-1]) == COLUMNS or (rows[-1] and isinstance(rows[-1][0], str)):
                rows.append([])
            rows[-1].append(cell)
    rows = [row for row in rows if row]
    cell_h = TILE + LABEL_H
    sheet = np.full((cell_h * len(rows) + 4, TILE * COLUMNS), 255, dtype=np.uint8)
    colour = cv2.cvtColor(sheet, cv2.COLOR_GRAY2BGR)
    for index, row in enumerate(rows):
        top = index * cell_h
        if isinstance(row[0], str):
            name = row[0]
            value = settings.marks.marginal if name == "marginal" else settings.marks.definite
            cv2.rectangle(colour, (0, top + 2), (TILE * COLUMNS, top + cell_h - 2), THRESHOLD_COLOURS[name], -1)
            label = f"{name} threshold: fill >= {value:.3f}"
            cv2.putText(colour, label, (8, top + cell_h // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
            continue
        for column, cell in enumerate(row):
            assert isinstance(cell, Crop)
            tile = cv2.resize(cell.image, (TILE, TILE), interpolation=cv2.INTER_AREA)
            x = column * TILE
            colour[top : top + TILE, x : x + TILE] = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
            cv2.putText(
                colour, f"{cell.fill:.3f}", (x + 4, top + TILE + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1
            )
    return np.asarray(colour, dtype=np.uint8)
