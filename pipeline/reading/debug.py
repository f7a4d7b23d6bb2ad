"""Debug overlays through a null writer: stages call ``debug.write(name, draw)``; ``draw`` runs only when a
debug folder was given, so normal runs pay nothing and write nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from pipeline.ballot.layout import Layout
    from pipeline.reading.align import Alignment
    from pipeline.reading.score import BoxScore
    from pipeline.reading.settings import ReadingSettings

Colour = npt.NDArray[np.uint8]
COLOURS = {"marked": (0, 160, 0), "circled": (160, 120, 0), "marginal": (0, 140, 255), "unmarked": (160, 160, 160)}
MARK_COLOUR = (255, 0, 255)


class DebugWriter:
    """Writes annotated images into ``folder``; a writer without a folder does nothing."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, draw: Callable[[], Colour]) -> None:
        if self.folder is None:
            return
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        cv2.imwrite(str(self.folder / f"{safe}.jpg"), draw(), [cv2.IMWRITE_JPEG_QUALITY, 85])


def draw_overlay(
    image: npt.NDArray[np.uint8],
    alignment: Alignment,
    layout: Layout,
    scores: list[BoxScore],
    settings: ReadingSettings,
) -> Colour:
    """The scan with the fitted page outline, every mark centre, and each box outlined in its class colour
    with its fill score."""
    from pipeline.reading.classify import page_box_classes

    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    thickness = max(1, int(alignment.px_per_mm * 0.3))
    page = alignment.to_pixels([(0, 0), (layout.page_w, 0), (layout.page_w, layout.page_h), (0, layout.page_h)])
    cv2.polylines(canvas, [page.astype(np.int32)], True, MARK_COLOUR, thickness)
    for mark in layout.registration:
        centre = alignment.to_pixels([mark.center])[0]
        cv2.circle(canvas, (int(centre[0]), int(centre[1])), int(alignment.px_per_mm * 5), MARK_COLOUR, thickness)
    by_key = {(score.unit, score.option): score for score in scores}
    classes = page_box_classes(scores, settings)
    font_scale = alignment.px_per_mm / 14
    for box in layout.boxes:
        score = by_key[(box.unit, box.option)]
        # A row a curl moved off the page fit is scored where refine found its borders (box_offsets_mm).
        dx, dy = alignment.box_offsets_mm.get((box.unit, box.option), (0.0, 0.0))
        corners = alignment.to_pixels([(x + dx, y + dy) for x, y in box.rect.corners]).astype(np.int32)
        colour = COLOURS[classes[(box.unit, box.option)]]
        cv2.polylines(canvas, [corners], True, colour, thickness)
        label = f"{score.fill:.2f}/{score.outside:.2f}"
        origin = (int(corners[3][0]), int(corners[3][1] + alignment.px_per_mm * 3))
        cv2.putText(canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, max(1, thickness // 2))
    return np.asarray(canvas, dtype=np.uint8)
