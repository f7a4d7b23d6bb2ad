"""What reading one page yields: the sheet's scores and readings, or the reason it is not counted.

Both readers end here: :mod:`pipeline.reading.read` (our own ballots, found by their QR code) and
:mod:`pipeline.forms.read` (existing office forms, found by their ruling lines). Every page ends in exactly
one :data:`SheetResult`; its reason is a typed :class:`~pipeline.common.reasons.PageReason`, worded for the
clerk by :mod:`pipeline.common.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.ballot.payload import SheetId
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.align import Alignment
from pipeline.reading.classify import RowReading
from pipeline.reading.score import BoxScore


@dataclass(frozen=True)
class PageImage:
    """An encoded image kept for review. ``as_scanned``: the page's scan as its file holds it, to be shown
    through the page's transform (:func:`upright_page`); else the image is shown as it is."""

    mime: str
    width: int
    height: int
    data: bytes
    as_scanned: bool = False


@dataclass(frozen=True)
class SheetRead:
    """A ballot whose geometry was trusted and every box scored (serial not yet checked)."""

    sheet: SheetId
    template_hash: str
    alignment: Alignment
    scores: list[BoxScore]
    readings: list[RowReading]
    fingerprint: str
    image: PageImage
    # How a sheet without a readable code was identified, or a form without one recognised (the page's reason);
    # a sheet identified without its serial (SERIAL_TO_TYPE) is not counted until a clerk gives it.
    identified_by: PageReason | None = None

    @property
    def serial_to_type(self) -> bool:
        return self.identified_by is not None and self.identified_by.code == Why.SERIAL_TO_TYPE


@dataclass(frozen=True)
class SheetRejected:
    """A page that is not counted: outcome is blank, unreadable, wrong_template, wrong_session or unknown_serial."""

    outcome: str
    reason: PageReason
    fingerprint: str
    sheet: SheetId | None = None
    template_hash: str | None = None
    image: PageImage | None = field(default=None, repr=False)


SheetResult = SheetRead | SheetRejected
