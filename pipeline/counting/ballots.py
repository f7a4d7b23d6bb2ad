"""Effective ballots: what tally and report consume.

The effective reading of a row is the clerk's latest decision if there is one, else the machine's current
reading. :meth:`pipeline.store.database.Store.effective_ballots` builds these from the store; tally and report never
look at scores or images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RowKind = Literal["choice", "blank", "overvote", "pending", "void"]


@dataclass(frozen=True)
class RowResult:
    """One row of one ballot.

    kind: 'choice' (``choice`` holds the option, e.g. 满意 or 不了解), 'blank' (弃权), 'overvote' (多选, invalid),
    'pending' (awaiting review; blocks a final report) or 'void' (a clerk declared the row unreadable).
    """

    unit: str
    kind: RowKind
    choice: str | None = None


@dataclass(frozen=True)
class BallotResult:
    """One counted sheet (page outcome 'read', or a rejected page a clerk counted by hand)."""

    page_id: int
    serial: str
    template_hash: str
    rows: tuple[RowResult, ...]
    category: str | None = None  # the 测评人类别 ticked, if the template asks and it was read
    void: bool = False  # a clerk voided the whole sheet (identifying marks): returned but 作废

    def row(self, unit: str) -> RowResult | None:
        return next((row for row in self.rows if row.unit == unit), None)
