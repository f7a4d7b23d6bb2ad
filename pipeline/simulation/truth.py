"""Truth: what each simulated sheet carries and what its capture did, as written to ``truth.jsonl``.

Truth semantics, per row (:class:`RowTruth`):

- ``intent`` is the option the voter meant, ``"blank"`` (nothing, or only an erased/stray mark) or
  ``"overvote"`` (two deliberate marks: the row is void).
- ``ambiguous`` rows (faint pencil, erased residue, a scribbled-out correction, a stray mark, correction tape
  with strokes left outside it) may be sent to review; reading them as anything but ``intent`` is a misread.
  Other rows must be read as ``intent``: a careful person reading the paper would not hesitate (a long-legged
  tick turning inside its box, print showing through from the back, a crease's shadow, tape hiding a mark).
- ``legible`` is False when the device itself wiped out the marks carrying the intent (a pencil or thin
  ballpoint tick under a fax's binarisation threshold, or lifted to white by a scanner app's filter): measured on
  1-bit pages (and pages an app thresholded or whitened) by mapping the marks' stroke cores (those clear of printed
  ink, whose black would say nothing) through the recorded geometry (:func:`.geometry.page_to_image`); under half
  left any black (on a whitened page: any grey a few levels under the paper beside it). Nothing is left to read, so
  blank or review are both acceptable there.
- ``drawn`` details what the voters' conditions drew (where a tick turns and how far its leg runs, what an
  erasure left, where tape lies); ``obscured`` says a scanner streak crosses one of the row's boxes darkly
  enough to hide a mark there (a clerk may be asked).

Per page, with conditions, ``capture`` says what the image holds (:func:`.geometry.in_image`): registration
marks outside it, boxes outside it, whether the code and the serial printed under it are inside, and
``must_refuse`` (a box is not in the image: the page cannot be counted and must be refused). A page whose code is
cut off is counted only under the serial its print shows, which must be its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from pipeline.simulation.corrections import MarkDetail
from pipeline.simulation.marks import ConditionMarkKind, MarkKind

AnyMarkKind = MarkKind | ConditionMarkKind
TRUTH_FILE = "truth.jsonl"


@dataclass(frozen=True)
class RowTruth:
    """What the voter did on one row (see the module docstring for the semantics)."""

    unit: str
    intent: str
    marks: tuple[tuple[str, AnyMarkKind], ...]
    ambiguous: bool
    legible: bool = True
    ink: int | None = None  # grey level 0 (black) – 255 (paper) of the lightest mark carrying the intent
    comment: bool = False  # the voter wrote in the row's 意见建议 cell
    drawn: tuple[MarkDetail, ...] = ()  # what the voters' conditions drew, in detail
    obscured: bool = False  # a capture condition laid a streak over one of the row's boxes that could hide a mark


@dataclass(frozen=True)
class SheetTruth:
    """One simulated sheet: where it was written and what is on it."""

    file: str
    page: int
    serial: str
    upside_down: bool
    rows: tuple[RowTruth, ...]
    source_page: int = 0  # 0-based page of the printed PDF this sheet was made from
    degradation: dict[str, object] = field(default_factory=dict, hash=False)  # every parameter applied
    capture: dict[str, object] = field(default_factory=dict, hash=False)  # with conditions: what the image holds

    def as_json(self) -> dict[str, object]:
        """The truth line; fields only conditions fill are left out when empty (plain runs write what they did)."""
        data = asdict(self)
        if not self.capture:
            del data["capture"]
        for row in cast(list[dict[str, object]], data["rows"]):
            if not row["drawn"]:
                del row["drawn"]
            if not row["obscured"]:
                del row["obscured"]
        return data


def load_truth(path: Path) -> list[SheetTruth]:
    """Read a ``truth.jsonl`` written by :func:`simulate_batch` (``path`` is the file or its folder)."""
    if path.is_dir():
        path = path / TRUTH_FILE
    sheets: list[SheetTruth] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        rows = tuple(
            RowTruth(
                **{
                    **row,
                    "marks": tuple(map(tuple, row["marks"])),
                    "drawn": tuple(MarkDetail(**_tuples(detail)) for detail in row.get("drawn", ())),
                }
            )
            for row in data.pop("rows")
        )
        sheets.append(SheetTruth(**data, rows=rows))
    return sheets


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    """JSON lists back to the tuples the truth holds."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
