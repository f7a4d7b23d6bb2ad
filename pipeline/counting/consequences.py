"""Consequences: what a unit's grade leads to (处理意见) and the list of units concerned (奖惩建议).

The notice the rules follow says how results are used: at year end a unit rated 满意 is recommended for
commendation by the county, one rated 不满意 is criticised by the bureau's Party committee and its principal
head held accountable. The rules file holds that wording per grade (``consequences.year_end``; a half-year
only where ``consequences.half_year`` says so). :func:`proposals` lists every unit whose grade leads to
something, with what the grade rests on: its rates, or the complaint or veto that set it. Data only; the
workbook (:mod:`pipeline.counting.report`) and the notice (:mod:`pipeline.counting.notice`) word it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pipeline.counting.rules import Grade, Override
from pipeline.counting.tally import SessionTally, UnitResult, YearTally, YearUnit

HALF_LABELS = ("上半年", "下半年")


@dataclass(frozen=True)
class Proposal:
    """One unit's 奖惩建议: its grade, the action the rules attach to it, and what the grade rests on.

    ``overrides`` are the remarks of the verified complaints or vetoes that made the unit 不满意 (empty when
    its votes did); ``computed_grade`` is the grade its votes alone gave."""

    unit: str
    group: str
    grade: Grade
    action: str
    score: Fraction | None  # 综合满意率 (the year's under year-end rules)
    satisfied: Fraction | None  # 满意率
    rank: int | None
    computed_grade: Grade | None
    overrides: tuple[str, ...] = ()


def actions(result: SessionTally | YearTally) -> dict[Grade, str]:
    """Grade → 处理意见 for this result (year end or half year); empty when the rules attach nothing."""
    consequences = result.rules.consequences
    return dict(consequences.year_end if isinstance(result, YearTally) else consequences.half_year)


def action_of(result: SessionTally | YearTally, unit: UnitResult | YearUnit) -> str:
    """The 处理意见 of one unit: the action of its final grade, or '' (none, or not graded)."""
    return actions(result).get(unit.grade, "") if unit.grade is not None else ""


def proposals(result: SessionTally | YearTally) -> tuple[Proposal, ...]:
    """Every unit whose grade leads to an action, in the result's unit order."""
    found = []
    for unit in result.units:
        action = action_of(result, unit)
        if not action or unit.grade is None:
            continue
        found.append(
            Proposal(
                unit=unit.unit,
                group=unit.group,
                grade=unit.grade,
                action=action,
                score=unit.rates.score,
                satisfied=unit.rates.satisfied,
                rank=unit.rank,
                computed_grade=unit.computed_grade,
                overrides=_deciding_overrides(result, unit) if unit.grade == "不满意" else (),
            )
        )
    return tuple(found)


def _deciding_overrides(result: SessionTally | YearTally, unit: UnitResult | YearUnit) -> tuple[str, ...]:
    """The remarks of the active overrides that make ``unit`` 不满意 in ``result``."""
    if isinstance(result, SessionTally):
        return tuple(override.remark() for override in _active(result.overrides, unit.unit, "complaint"))
    remarks = [override.remark() for override in _active(result.overrides, unit.unit, "veto")]
    if result.rules.year_end.complaints_carry_over:
        for label, half in zip(HALF_LABELS, result.halves, strict=True):
            remarks += [label + override.remark() for override in _active(half.overrides, unit.unit, "complaint")]
    return tuple(remarks)


def _active(overrides: tuple[Override, ...], unit: str, kind: str) -> list[Override]:
    return [o for o in overrides if o.active and o.request.kind == kind and o.request.unit == unit]
