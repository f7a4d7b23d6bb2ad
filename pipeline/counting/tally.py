"""Tally: effective ballots → counts, rates, grades and ranks per unit, for a half-year and for the year.

``tally_session`` counts one session's effective ballots (never scores or images), computes the rates with
exact fractions, grades and ranks every unit after the :class:`~pipeline.counting.rules.Rules`, then applies the
active overrides to the grade (the counts stay as they were). ``combine_year`` combines the two halves.
What stops a final report (pending rows, a void round) is part of the result, not an exception; only input
that cannot be tallied at all (a ballot of another template, a majority rule without attendance) raises
:class:`TallyError`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from pipeline.ballot.template import Template, period_label
from pipeline.common.messages import Lang, blocker
from pipeline.counting.ballots import BallotResult
from pipeline.counting.rules import (
    BandGrading,
    BottomGrading,
    Grade,
    MajorityGrading,
    Override,
    Rules,
    exact,
)
from pipeline.counting.scale import Scale, template_scale

NO_CATEGORY = "未填类别"


class TallyError(Exception):
    """The ballots cannot be tallied with these rules; the message says why, in Chinese."""


@dataclass(frozen=True)
class SessionFacts:
    """What the clerk recorded about a round: ballots handed out (发出), members expected and present; and how
    many scanned pages the machine did not count still wait for a clerk's decision (no final report till then)."""

    session: str
    issued: int | None = None
    expected: int | None = None
    attended: int | None = None
    unsettled_pages: int = 0


@dataclass(frozen=True)
class Counts:
    """Rows of one unit, by what they hold (an option counts in the class its scale gives it). ``invalid`` =
    多选 rows + rows a clerk declared unreadable; ``points`` = the sum of the votes' weights in 综合满意率."""

    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    dont_know: int = 0
    abstained: int = 0
    invalid: int = 0
    pending: int = 0
    points: Fraction = Fraction(0)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__})

    def as_tuple(self) -> tuple[int, ...]:
        return (self.satisfied, self.basic, self.unsatisfied, self.dont_know, self.abstained, self.invalid,
                self.pending)  # fmt: skip

    def valid(self, rules: Rules) -> int:
        """有效票: 满意 + 基本满意 + 不满意, plus 弃权 / 不了解 where the rules count them."""
        total = self.satisfied + self.basic + self.unsatisfied
        total += self.abstained if rules.denominators.abstentions else 0
        return total + (self.dont_know if rules.denominators.dont_know else 0)


@dataclass(frozen=True)
class Rates:
    """Exact rates of one unit; None when undefined (no 有效票, or the basis of the majority rule is 0)."""

    satisfied: Fraction | None = None  # 满意率 = 满意 / 有效票
    positive: Fraction | None = None  # 满意和基本满意率 = (满意 + 基本满意) / 有效票
    unsatisfied: Fraction | None = None  # 不满意率
    score: Fraction | None = None  # 综合满意率 = (满意 + w × 基本满意) / 有效票
    satisfied_of_basis: Fraction | None = None  # majority rule: 满意 / 实到 (or 应到, 收回)
    positive_of_basis: Fraction | None = None

    def by(self, name: str) -> Fraction | None:
        return self.score if name == "综合满意率" else self.satisfied


def rates_of(counts: Counts, rules: Rules, basis: int | None = None) -> Rates:
    valid = counts.valid(rules)
    of_basis: tuple[Fraction | None, Fraction | None] = (None, None)
    if basis:
        of_basis = (Fraction(counts.satisfied, basis), Fraction(counts.satisfied + counts.basic, basis))
    if valid == 0:
        return Rates(None, None, None, None, *of_basis)
    return Rates(
        satisfied=Fraction(counts.satisfied, valid),
        positive=Fraction(counts.satisfied + counts.basic, valid),
        unsatisfied=Fraction(counts.unsatisfied, valid),
        score=counts.points / valid,
        satisfied_of_basis=of_basis[0],
        positive_of_basis=of_basis[1],
    )


@dataclass(frozen=True)
class UnitResult:
    """One unit's result. ``computed_grade`` is what the rules give; ``grade`` is after the overrides."""

    unit: str
    group: str
    counts: Counts
    valid: int
    rates: Rates
    computed_grade: Grade | None
    grade: Grade | None
    rank: int | None
    remarks: tuple[str, ...] = ()
    by_category: tuple[tuple[str, Counts], ...] = ()


@dataclass(frozen=True)
class SessionTally:
    """A session's result and everything the report needs to say about the round."""

    session: str
    organisation: str | None
    facts: SessionFacts
    rules: Rules
    returned: int  # 收回 = sheets read (including 作废)
    void_ballots: int  # 作废
    units: tuple[UnitResult, ...]
    categories: tuple[str, ...] = ()
    void_reasons: tuple[str, ...] = ()  # non-empty: the round is void
    overrides: tuple[Override, ...] = ()  # every record for this session, revoked ones included
    majority_basis: int | None = None  # the count the majority rule takes half of, when it is in use
    scale: Scale | None = None  # how the template's options were counted

    @property
    def valid_ballots(self) -> int:
        return self.returned - self.void_ballots

    @property
    def return_rate(self) -> Fraction | None:
        return Fraction(self.returned, self.facts.issued) if self.facts.issued else None

    @property
    def pending_rows(self) -> int:
        return sum(unit.counts.pending for unit in self.units)

    @property
    def period(self) -> str:
        return period_label(self.session)

    def final_blockers(self, lang: Lang = "zh") -> tuple[str, ...]:
        """Why no final (publishable) report may be written, in ``lang``; empty when one may."""
        blockers = [blocker("void", lang, session=self.session, reason=reason) for reason in self.void_reasons]
        if self.pending_rows:
            blockers.append(blocker("pending", lang, session=self.session, count=self.pending_rows))
        if self.facts.unsettled_pages:
            blockers.append(blocker("unsettled", lang, session=self.session, count=self.facts.unsettled_pages))
        return tuple(blockers)


def tally_session(
    template: Template,
    ballots: Sequence[BallotResult],
    rules: Rules,
    facts: SessionFacts,
    overrides: Iterable[Override] = (),
) -> SessionTally:
    """Count, rate, grade and rank every row of ``template``, then apply the session's active complaints."""
    scale = template_scale(template, rules)
    if not isinstance(scale, Scale):
        raise TallyError(scale.message())
    rows = _template_rows(template)
    digest = template.content_hash()
    totals: dict[str, Counter[str]] = {unit: Counter() for unit in rows}
    per_category: dict[tuple[str, str], Counter[str]] = {}
    void = 0
    for ballot in ballots:
        if ballot.template_hash != digest:
            raise TallyError(f"测评票 {ballot.serial} 属于另一个模板（{ballot.template_hash[:8]}），请按模板分别计票")
        if ballot.void or (rules.rows.blank_ballot == "void" and _all_blank(ballot)):
            void += 1
            continue
        category = ballot.category or NO_CATEGORY
        read = [row.unit for row in ballot.rows]
        if sorted(read) != sorted(totals):  # every row exactly once: nothing dropped, nothing counted twice
            raise TallyError(f"测评票 {ballot.serial} 的行与模板不符（读到 {'、'.join(read)}）")
        for row in ballot.rows:
            key = _row_key(row.kind, row.choice, scale)
            totals[row.unit][key] += 1
            per_category.setdefault((row.unit, category), Counter())[key] += 1
            if row.kind == "choice" and row.choice is not None:
                totals[row.unit][OPTION_KEY + row.choice] += 1  # the option itself: its weight is summed in _counts
                per_category[(row.unit, category)][OPTION_KEY + row.choice] += 1
    categories = _categories(template, {category for _, category in per_category})
    basis = _majority_basis(rules, facts, len(ballots))
    counted = {unit: _counts(counter, scale) for unit, counter in totals.items()}
    rates = {unit: rates_of(counts, rules, basis) for unit, counts in counted.items()}
    graded = grade(rates, rows, rules)
    units = tuple(
        UnitResult(
            unit=unit,
            group=group,
            counts=counted[unit],
            valid=counted[unit].valid(rules),
            rates=rates[unit],
            computed_grade=graded[unit][0],
            grade=graded[unit][0],
            rank=graded[unit][1],
            remarks=_no_vote_remarks(counted[unit].valid(rules), graded[unit][0], rules),
            by_category=tuple(
                (category, _counts(per_category.get((unit, category), Counter()), scale)) for category in categories
            ),
        )
        for unit, group in rows.items()
    )
    session_overrides = tuple(o for o in overrides if o.request.period == facts.session)
    return SessionTally(
        session=facts.session,
        organisation=template.organisation,
        facts=facts,
        rules=rules,
        returned=len(ballots),
        void_ballots=void,
        units=tuple(apply_complaints(unit, session_overrides) for unit in units),
        categories=categories,
        void_reasons=void_reasons(facts, len(ballots), rules),
        overrides=session_overrides,
        majority_basis=basis,
        scale=scale,
    )


def void_reasons(facts: SessionFacts, returned: int, rules: Rules) -> tuple[str, ...]:
    reasons = []
    if rules.round.void_if_returned_exceeds_issued and facts.issued is not None and returned > facts.issued:
        reasons.append(f"收回票数（{returned}）多于发出票数（{facts.issued}），应重新测评")
    quorum_known = facts.expected and facts.attended is not None
    if rules.round.require_quorum and quorum_known and (facts.attended or 0) * 2 <= (facts.expected or 0):
        reasons.append(f"实到人数（{facts.attended}）未超过应到人数（{facts.expected}）的半数")
    return tuple(reasons)


def grade(
    rates: Mapping[str, Rates],
    groups: Mapping[str, str],
    rules: Rules,
    grading: BandGrading | MajorityGrading | BottomGrading | None = None,
) -> dict[str, tuple[Grade | None, int | None]]:
    """Grade and rank each unit (before overrides): unit → (grade or None if not graded, rank or None)."""
    grading = grading or rules.grading
    ranks = rank(rates, groups, rules.ranking.by)
    bottom_ranks = _bottom_places(rates, groups, rules.ranking.by)
    group_sizes = Counter(groups[unit] for unit in rates)
    result: dict[str, tuple[Grade | None, int | None]] = {}
    for unit, unit_rates in rates.items():
        match grading:
            case MajorityGrading():
                result[unit] = (_majority(unit_rates), ranks[unit])
                continue
            case _ if unit_rates.score is None:
                unrated = None if rules.no_valid_votes == "不评定" else rules.no_valid_votes
                result[unit] = (unrated, None)
            case BandGrading():
                result[unit] = (_bands(unit_rates, grading), ranks[unit])
            case BottomGrading():
                too_small = group_sizes[groups[unit]] <= grading.bottom + grading.top
                result[unit] = (_by_place(ranks[unit], bottom_ranks[unit], grading, too_small), ranks[unit])
    return result


def _bands(rates: Rates, grading: BandGrading) -> Grade:
    assert rates.positive is not None and rates.unsatisfied is not None and rates.satisfied is not None
    if rates.positive < exact(grading.positive_below) or rates.unsatisfied >= exact(grading.unsatisfied_min):
        return "不满意"
    if rates.satisfied >= exact(grading.satisfied_min):
        return "满意"
    return "基本满意"


def _majority(rates: Rates) -> Grade:
    assert rates.satisfied_of_basis is not None and rates.positive_of_basis is not None
    if rates.satisfied_of_basis > Fraction(1, 2):
        return "满意"
    return "基本满意" if rates.positive_of_basis > Fraction(1, 2) else "不满意"


def _by_place(place: int | None, bottom_place: int | None, grading: BottomGrading, too_small: bool) -> Grade:
    if too_small or place is None or bottom_place is None:
        return "基本满意"
    if bottom_place <= grading.bottom:
        return "不满意"
    return "满意" if place <= grading.top else "基本满意"


def rank(rates: Mapping[str, Rates], groups: Mapping[str, str], by: str) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4) within each group, best first; units without a rate get None."""
    places: dict[str, int | None] = {}
    for unit, unit_rates in rates.items():
        value = unit_rates.by(by)
        peers = [rates[other].by(by) for other in rates if groups[other] == groups[unit]]
        places[unit] = None if value is None else 1 + sum(1 for p in peers if p is not None and p > value)
    return places


def _bottom_places(rates: Mapping[str, Rates], groups: Mapping[str, str], by: str) -> dict[str, int | None]:
    """Place counted from the bottom (1 = worst); tied units share it, so 'bottom 3' may hold more units."""
    places: dict[str, int | None] = {}
    for unit, unit_rates in rates.items():
        value = unit_rates.by(by)
        peers = [rates[other].by(by) for other in rates if groups[other] == groups[unit]]
        places[unit] = None if value is None else 1 + sum(1 for p in peers if p is not None and p < value)
    return places


def apply_complaints(unit: UnitResult, overrides: Iterable[Override]) -> UnitResult:
    """A verified complaint for this unit and session makes the grade 不满意; revoked ones do nothing."""
    complaints = [o for o in overrides if o.active and o.request.kind == "complaint" and o.request.unit == unit.unit]
    if not complaints:
        return unit
    return replace(unit, grade="不满意", remarks=unit.remarks + tuple(o.remark() for o in complaints))


def _template_rows(template: Template) -> dict[str, str]:
    """unit → group (the row's group, else the section title) for every row, in print order."""
    rows: dict[str, str] = {}
    for section in template.sections:
        for row in section.rows:
            rows[row.unit] = row.group or section.title or ""
    return rows


#: Counter keys of a unit's rows by class; a chosen option is also counted under its own name, ``OPTION_KEY``.
CLASS_KEY = "class:"
OPTION_KEY = "option:"


def _row_key(kind: str, choice: str | None, scale: Scale) -> str:
    if kind == "choice":
        entry = scale.of(choice or "")
        if entry is None:  # the reading holds an option the template does not print: a bug upstream
            raise TallyError(f"读到的选项 {choice!r} 不在模板上")
        return CLASS_KEY + entry.counts_as
    return CLASS_KEY + {"blank": "弃权", "overvote": "无效", "void": "无效", "pending": "待复核"}[kind]


def _counts(counter: Counter[str], scale: Scale) -> Counts:
    def of(name: str) -> int:
        return counter[CLASS_KEY + name]

    points = sum((entry.weight * counter[OPTION_KEY + entry.option] for entry in scale.options), Fraction(0))
    return Counts(
        satisfied=of("满意"),
        basic=of("基本满意"),
        unsatisfied=of("不满意"),
        dont_know=of("不了解"),
        abstained=of("弃权"),
        invalid=of("无效"),
        pending=of("待复核"),
        points=points,
    )


def _all_blank(ballot: BallotResult) -> bool:
    return all(row.kind == "blank" for row in ballot.rows)


def _categories(template: Template, seen: set[str]) -> tuple[str, ...]:
    if template.voter_category is None:
        return ()
    printed = tuple(template.voter_category.options)
    return printed + ((NO_CATEGORY,) if NO_CATEGORY in seen else ())


def _majority_basis(rules: Rules, facts: SessionFacts, returned: int) -> int | None:
    grading = [rules.grading, rules.year_end.grading]
    majority = next((g for g in grading if isinstance(g, MajorityGrading)), None)
    if majority is None:
        return None
    basis = {"attended": facts.attended, "expected": facts.expected, "returned": returned}[majority.basis]
    if not basis:
        word, option = {"attended": ("实到", "--attended N"), "expected": ("应到", "--expected N"),
                        "returned": ("收回", "")}[majority.basis]  # fmt: skip
        raise TallyError(f"过半数规则需要{word}人数，请先登记：ballot session set --session {facts.session} {option}")
    return basis


def _no_vote_remarks(valid: int, computed: Grade | None, rules: Rules) -> tuple[str, ...]:
    if valid or isinstance(rules.grading, MajorityGrading):
        return ()
    return ("无有效票，不评定等次",) if computed is None else (f"无有效票，按规则评为{computed}",)


# -- year end ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearUnit:
    """One unit over the year: both halves as tallied, the combined rates and the year-end grade."""

    unit: str
    group: str
    halves: tuple[UnitResult | None, UnitResult | None]
    rates: Rates
    computed_grade: Grade | None
    grade: Grade | None
    rank: int | None
    remarks: tuple[str, ...] = ()
    pooled: Counts | None = None  # the summed votes, under combine: pooled


@dataclass(frozen=True)
class YearTally:
    year: str
    organisation: str | None
    rules: Rules
    halves: tuple[SessionTally, SessionTally]
    units: tuple[YearUnit, ...]
    overrides: tuple[Override, ...] = field(default=())  # vetoes of the year, revoked ones included

    def final_blockers(self, lang: Lang = "zh") -> tuple[str, ...]:
        return self.halves[0].final_blockers(lang) + self.halves[1].final_blockers(lang)


def combine_year(
    year: str, first: SessionTally, second: SessionTally, rules: Rules, overrides: Iterable[Override] = ()
) -> YearTally:
    """Combine the two halves (mean of each rate, or rates of pooled votes), grade, rank, apply vetoes."""
    halves = (first, second)
    by_half = [{unit.unit: unit for unit in half.units} for half in halves]
    groups: dict[str, str] = {}
    for half in halves:
        groups.update({unit.unit: unit.group for unit in half.units if unit.unit not in groups})
    rates: dict[str, Rates] = {}
    pooled: dict[str, Counts] = {}
    for unit in groups:
        present = [(half, units[unit]) for half, units in zip(halves, by_half, strict=True) if unit in units]
        if rules.year_end.combine == "pooled":
            pooled[unit] = sum((result.counts for _, result in present), Counts())
            bases = [half.majority_basis for half, _ in present]
            basis = None if None in bases else sum(b for b in bases if b is not None)
            rates[unit] = rates_of(pooled[unit], rules, basis)
        else:
            rates[unit] = _mean_rates([result.rates for _, result in present])
    year_grading = rules.year_end.grading or rules.grading
    graded = grade(rates, groups, rules, year_grading)
    vetoes = tuple(o for o in overrides if o.request.period == year and o.request.kind == "veto")
    units = []
    for unit, group in groups.items():
        pair = (by_half[0].get(unit), by_half[1].get(unit))
        computed, place = graded[unit]
        final, remarks = computed, _year_remarks(unit, halves, pair)
        if rates[unit].score is None and not isinstance(year_grading, MajorityGrading):
            remarks += ("全年无有效票",)
        if rules.year_end.complaints_carry_over and any(
            result is not None and result.grade != result.computed_grade for result in pair
        ):
            final = "不满意"
        for veto in (v for v in vetoes if v.active and v.request.unit == unit):
            final = "不满意"
            remarks += (veto.remark(),)
        units.append(YearUnit(unit, group, pair, rates[unit], computed, final, place, remarks, pooled.get(unit)))
    organisation = first.organisation or second.organisation
    return YearTally(year, organisation, rules, halves, tuple(units), vetoes)


def _mean_rates(halves: Sequence[Rates]) -> Rates:
    """Each rate is the mean of the halves where it is defined (one half alone if the other had no votes)."""

    def mean(values: Iterable[Fraction | None]) -> Fraction | None:
        defined = [value for value in values if value is not None]
        return sum(defined, Fraction(0)) / len(defined) if defined else None

    return Rates(*(mean(getattr(r, name) for r in halves) for name in Rates.__dataclass_fields__))


def _year_remarks(
    unit: str, halves: tuple[SessionTally, SessionTally], pair: tuple[UnitResult | None, UnitResult | None]
) -> tuple[str, ...]:
    """Each half's verified complaints stay visible in the year's 备注."""
    remarks: list[str] = []
    for label, half, result in zip(("上半年", "下半年"), halves, pair, strict=True):
        if result is None:
            remarks.append(f"{label}未参加测评")
            continue
        if result.rates.score is None:
            remarks.append(f"{label}无有效票")
        complaints = [
            o for o in half.overrides if o.active and o.request.kind == "complaint" and o.request.unit == unit
        ]
        remarks += [f"{label}{complaint.remark()}" for complaint in complaints]
    return tuple(remarks)
