"""What the review stage reads from and writes to the store: typed records, no SQL, no Flask.

A *row decision* is a clerk's reading of one ballot row ('choice' with the option, 'blank' = 弃权, 'void' = 无效);
on a row the machine read without doubt it is a *correction*. A *page decision* settles a whole page
('not_ballot', 'not_counted' or 'count' for a page the machine rejected, 'void' = 作废 for a read ballot with
identifying marks). Every write names the version the clerk saw; a stale version raises
:class:`DecisionConflict` carrying the current state, so the page can show it instead of deciding blind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pipeline.common.reasons import PageReason, Refusal
from pipeline.reading.score import BoxScore

RowDecisionKind = Literal["choice", "blank", "void"]
PageDecisionKind = Literal["not_ballot", "not_counted", "count", "void"]
ROW_DECISION_KINDS: tuple[RowDecisionKind, ...] = ("choice", "blank", "void")
PAGE_DECISION_KINDS: tuple[PageDecisionKind, ...] = ("not_ballot", "not_counted", "count", "void")
MAX_NOTE = 500
MAX_SERIAL_TEXT = 40  # a serial as typed: 10 characters, with dashes and spaces
MAX_REVIEWER = 40


@dataclass(frozen=True)
class Decision:
    """A decision in force: who took it and when (``decided_at`` ISO 8601, UTC)."""

    kind: str  # a RowDecisionKind or a PageDecisionKind
    choice: str | None  # row decisions: the option when kind = 'choice'
    reviewer: str
    decided_at: str
    note: str = ""
    correction: bool = False  # row decisions: the machine had read the row without doubt


@dataclass(frozen=True)
class RowState:
    """One row as the clerk must see it before changing it."""

    page_id: int
    unit: str
    version: int  # id of the row's newest decision record, undos included; 0 when there is none
    machine_reading: str  # choice / blank / overvote / pending ('' for a hand-counted page)
    machine_choice: str | None
    reason: str  # a RowWhy code, '' when the machine was sure
    decision: Decision | None  # the clerk's decision in force, None: the machine's reading stands

    @property
    def effective(self) -> str:
        """The reading that counts: the option, or blank / void / overvote / pending."""
        if self.decision is not None:
            return self.decision.choice or self.decision.kind
        return self.machine_choice or self.machine_reading


@dataclass(frozen=True)
class FlaggedRow:
    """A row the machine sent to review, with where it came from and what was measured."""

    state: RowState
    serial: str
    template_hash: str
    source: str
    page_no: int
    boxes: tuple[BoxScore, ...]  # in sheet order


@dataclass(frozen=True)
class SheetRow:
    """One row of a read sheet as the whole-sheet view shows it: its state and the options printed on it."""

    state: RowState
    options: tuple[str, ...]


@dataclass(frozen=True)
class PageState:
    page_id: int
    version: int  # id of the page's newest page-decision record, undos included; 0 when there is none
    decision: Decision | None


@dataclass(frozen=True)
class PageSummary:
    """A page for the rejected list (outcome other than read/blank) or the sheet list (outcome read)."""

    page_id: int
    source: str
    page_no: int
    outcome: str
    reason: PageReason | None
    serial: str | None
    template_hash: str | None
    has_image: bool
    state: PageState
    flagged_rows: int = 0  # read pages: rows the machine sent to review
    hand_rows: tuple[tuple[str, str], ...] = ()  # a counted page: (unit, effective reading) as entered
    corrected_rows: int = 0  # read pages: rows the machine was sure of that a clerk corrected
    # a rejected page read but for its serial: (unit, reading, choice, reason code) as the machine read each row
    machine_rows: tuple[tuple[str, str, str | None, str], ...] = ()


@dataclass(frozen=True)
class StoredImage:
    """A page image and what is needed to crop it (``template_hash`` is None when the page was never aligned).
    ``transform`` (page mm → image px) is set when the image is the scan as its file held it: shown upright
    through it (:func:`pipeline.review.views.shown_page`); else the image is shown as it is."""

    session: str
    outcome: str
    template_hash: str | None
    mime: str
    width: int
    height: int
    data: bytes
    transform: npt.NDArray[np.float64] | None = None
    px_per_mm: float | None = None  # the scan's own resolution (a read page), whatever the image kept


@dataclass(frozen=True)
class HandRow:
    """One row entered by hand for a rejected page the clerk counts."""

    unit: str
    kind: RowDecisionKind
    choice: str | None = None


class DecisionConflict(Exception):  # noqa: N818 - an expected outcome shown to the clerk, not a bug
    """The row or page changed since the clerk looked (another clerk, another tab); ``current`` is how it is now."""

    def __init__(self, current: RowState | PageState) -> None:
        super().__init__("changed meanwhile")
        self.current = current


class DecisionRefused(Exception):  # noqa: N818 - an expected outcome shown to the clerk, not a bug
    """The decision cannot be taken (unknown row or option, page not countable, nothing to undo): ``code`` says
    why and ``detail`` what the words show (:func:`pipeline.common.messages.refusal` words them)."""

    def __init__(self, code: Refusal, **detail: Any) -> None:
        super().__init__(str(code))
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class CommentSources:
    """Where a session's comments are read from: each read sheet not voided (page id, template hash), and how
    many counted sheets cannot be cut (counted by hand from a rejected page) or were voided by a clerk."""

    pages: tuple[tuple[int, str], ...]
    by_hand: int
    voided: int
