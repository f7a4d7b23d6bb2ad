"""Counting and grading rules, and the override records that change a grade without touching a count.

A rules file (``templates/rules/*.yaml``) is parsed into the pydantic :class:`Rules` model
(``extra="forbid"``); errors are ``path → message`` lines (:class:`RulesInvalid`). The defaults follow
../shared/domain.md §4: 有效票 without 弃权 and 不了解, 综合满意率 = (满意 + 0.6 × 基本满意) / 有效票, the
90% / 85% / 40% bands, ranking inside each unit class with ties allowed, the year-end score as the mean of
the two halves. Every threshold is turned into an exact :class:`~fractions.Fraction` before comparing, so
90% exactly is ≥ 90%.

Overrides (投诉查实, 一票否决) are records with an authority, a date and a document number; the tally
applies them to grades and never to counts.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.ballot.template import TemplateError, TemplateInvalid
from pipeline.common.defaults import default_file

if TYPE_CHECKING:
    from pipeline.counting.scale import Scale

RULES_DIR = default_file("rules")
DEFAULT_RULES_FILE = RULES_DIR / "default.yaml"

Grade = Literal["满意", "基本满意", "不满意"]
GRADES: tuple[Grade, ...] = ("满意", "基本满意", "不满意")
#: What a printed option counts as: one of the grades, or 不了解 (never in 有效票 unless the rules say so).
OptionClass = Literal["满意", "基本满意", "不满意", "不了解"]
#: Named option scales (:mod:`pipeline.counting.scale`); 'auto' takes the first that has every option printed.
ScalePreset = Literal["auto", "three_level", "four_level", "four_level_average", "five_level"]

Share = Annotated[float, Field(ge=0, le=1)]


def exact(share: float) -> Fraction:
    """0.9 → 9/10: the decimal written in the rules file, not the nearest binary float."""
    return Fraction(str(share))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RowRules(_Strict):
    """How a row or a whole sheet counts. The fixed values document the rule in the file itself."""

    blank_row: Literal["abstain"] = Field(default="abstain", description="A row without a mark is 弃权 (abstention).")
    overvote_row: Literal["invalid"] = Field(
        default="invalid", description="A row with two or more marks is 无效, whatever the intent."
    )
    blank_ballot: Literal["abstain", "void"] = Field(
        default="abstain",
        description="A sheet with no mark in any row: 'abstain' = returned and valid, every row 弃权; "
        "'void' = returned but 作废.",
    )
    marked_ballot: Literal["void"] = Field(
        default="void",
        description="A sheet a clerk voided in review (identifying marks) is returned but 作废.",
    )


class Denominators(_Strict):
    """What 有效票 (the denominator of every rate) contains besides 满意 + 基本满意 + 不满意."""

    abstentions: bool = Field(default=False, description="Count 弃权 rows in 有效票.")
    dont_know: bool = Field(default=False, description="Count 不了解 rows in 有效票.")


class RoundRules(_Strict):
    """When a whole round (session) is void and must be re-run."""

    void_if_returned_exceeds_issued: bool = Field(
        default=True, description="More ballots returned (read) than issued (发出) makes the round void."
    )
    require_quorum: bool = Field(
        default=True,
        description="When expected and attended are both recorded, attendance must exceed half of expected.",
    )


class BandGrading(_Strict):
    """Percentage bands on the rates (the default). 不满意 is tested first, then 满意, else 基本满意."""

    method: Literal["bands"] = Field(description="Percentage bands.")
    satisfied_min: Share = Field(default=0.90, description="满意 when 满意率 ≥ this (0–1).")
    positive_below: Share = Field(default=0.85, description="不满意 when (满意 + 基本满意) / 有效票 < this (0–1).")
    unsatisfied_min: Share = Field(default=0.40, description="不满意 when 不满意率 ≥ this (0–1).")


class MajorityGrading(_Strict):
    """People's-congress rule: 满意 if 满意票 > half of the basis; 基本满意 if 满意 + 基本满意 > half."""

    method: Literal["majority"] = Field(description="More than half of the attendees (or of the basis).")
    basis: Literal["attended", "expected", "returned"] = Field(
        default="attended",
        description="Whose half: 'attended' (实到), 'expected' (应到, all members) or 'returned' (收回).",
    )


class BottomGrading(_Strict):
    """Rank rule: the last places of each unit class are 不满意, optional first places 满意, the rest 基本满意."""

    method: Literal["bottom_n"] = Field(description="Bottom N by rank within each unit class.")
    bottom: int = Field(
        default=3, ge=1, le=20, description="Places from the bottom graded 不满意 (tied units share a place)."
    )
    top: int = Field(default=0, ge=0, le=20, description="Places from the top graded 满意 (0: none).")


Grading = Annotated[BandGrading | MajorityGrading | BottomGrading, Field(discriminator="method")]


class Ranking(_Strict):
    """Ranks are given within a unit class (the template row's ``group``); equal scores share a place."""

    by: Literal["综合满意率", "满意率"] = Field(default="综合满意率", description="The rate units are ranked by.")


class YearEnd(_Strict):
    """How the two halves become the year's result."""

    combine: Literal["mean", "pooled"] = Field(
        default="mean",
        description="'mean': each rate is the mean of the two halves' rates; 'pooled': rates of the summed votes.",
    )
    grading: Grading | None = Field(
        default=None, description="Grading of the year's rates; omitted: the same as the half-year."
    )
    complaints_carry_over: bool = Field(
        default=False, description="A verified complaint in either half also makes the year-end grade 不满意."
    )


class OptionRule(_Strict):
    """How one printed option counts: its class, and its weight in 综合满意率."""

    counts_as: OptionClass = Field(description="满意, 基本满意, 不满意, or 不了解 (not a vote on the unit).")
    weight: Share | None = Field(
        default=None,
        description="Weight in 综合满意率 (0–1); omitted: 1 for 满意, basic_weight for 基本满意, 0 otherwise.",
    )

    @model_validator(mode="after")
    def _nothing_scores_for_dissatisfaction(self) -> OptionRule:
        # A 满意率 in which 不满意 still scores (重庆开县: 100 % 不满意 gave 50 %) is what ../shared/domain.md
        # §2.4 warns against; 不了解 is not a judgement at all.
        if self.counts_as in ("不满意", "不了解") and self.weight:
            raise ValueError(f"an option counted as {self.counts_as} weighs 0 in 综合满意率")
        return self


#: The notice's own wording: 推荐由县委、县政府通报表彰; 局党委给予通报批评，对单位主要负责人进行问责.
YEAR_END_CONSEQUENCES: dict[Grade, str] = {
    "满意": "推荐由县委、县政府通报表彰",
    "不满意": "由局党委给予通报批评，并对单位主要负责人进行问责",
}


class Consequences(_Strict):
    """What a grade leads to (处理意见): a grade left out leads to nothing."""

    year_end: dict[Grade, str] = Field(
        default_factory=lambda: dict(YEAR_END_CONSEQUENCES),
        description="Year-end grade → 处理意见, e.g. 满意: 推荐由县委、县政府通报表彰.",
    )
    half_year: dict[Grade, str] = Field(
        default_factory=dict,
        description="Half-year grade → 处理意见, where the rules act on each half too (default: none).",
    )


class Rules(_Strict):
    """Everything that turns effective ballots into counts, rates, grades and ranks."""

    name: str = Field(min_length=1, max_length=40, description="Short name of the preset, shown in reports.")
    rows: RowRules = Field(default_factory=RowRules)
    denominators: Denominators = Field(default_factory=Denominators)
    basic_weight: Share = Field(
        default=0.6,
        description="w in 综合满意率 = (满意 + w × 基本满意) / 有效票; 0.75 and 1.0 are also used.",
    )
    grading: Grading = Field(description="How a half-year grade (等次) is decided.")
    no_valid_votes: Literal["不评定", "基本满意", "不满意"] = Field(
        default="不评定",
        description="Grade of a unit with 0 有效票 under bands or bottom_n (its rates are undefined, shown as —).",
    )
    ranking: Ranking = Field(default_factory=Ranking)
    round: RoundRules = Field(default_factory=RoundRules)
    year_end: YearEnd = Field(default_factory=YearEnd)
    scale: ScalePreset = Field(
        default="auto",
        description="How printed options count: three_level (满意/基本满意/不满意), four_level (满意/比较满意/"
        "基本满意/不满意), four_level_average (满意/比较满意/一般/不满意), five_level (非常满意 or 很满意/满意/"
        "基本满意/不太满意/不满意); auto: the first of these with every option of the template.",
    )
    options: dict[str, OptionRule] = Field(
        default_factory=dict,
        description="Printed option → how it counts; adds to or replaces what the scale says of that option.",
    )
    consequences: Consequences = Field(
        default_factory=Consequences, description="What each grade leads to (处理意见, 奖惩建议)."
    )

    @property
    def weight(self) -> Fraction:
        return exact(self.basic_weight)

    def combined(self, combine: Literal["mean", "pooled"] | None) -> Rules:
        """These rules with the year-end combination ``combine`` (None: as the file says)."""
        if combine is None or combine == self.year_end.combine:
            return self
        return self.model_copy(update={"year_end": self.year_end.model_copy(update={"combine": combine})})


class RulesInvalid(TemplateInvalid):
    """A rules file that cannot be used, with every problem as ``path → message``."""


def parse_rules(data: object, source: str = "<rules>") -> Rules:
    try:
        return Rules.model_validate(data)
    except ValidationError as error:
        raise RulesInvalid(source, _errors(error)) from None


def rules_presets() -> list[str]:
    """The names of the shipped rules files (``default``, ``majority``, ``bottom3``)."""
    return sorted(path.stem for path in RULES_DIR.glob("*.yaml"))


def rules_path(given: Path) -> Path:
    """The rules file a command line names: ``given`` itself, or, when no such file exists and ``given`` is a
    bare preset name such as ``majority``, the shipped preset (an installed program has no templates/ folder)."""
    if not given.exists() and given.name == str(given) and given.name in rules_presets():
        return RULES_DIR / f"{given.name}.yaml"
    return given


def load_rules(path: Path | None = None) -> Rules:
    """Read and validate a rules file (the shipped default.yaml when ``path`` is None)."""
    source_path = path or DEFAULT_RULES_FILE
    source = str(source_path)
    try:
        data = yaml.safe_load(source_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesInvalid(source, [TemplateError("(file)", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RulesInvalid(source, [TemplateError("(file)", f"cannot read: {error}")]) from None
    except yaml.YAMLError as error:
        raise RulesInvalid(source, [TemplateError("(file)", f"not valid YAML: {error}")]) from None
    if not isinstance(data, dict):
        raise RulesInvalid(source, [TemplateError("(file)", "expected a mapping of rule fields")])
    return parse_rules(data, source)


_METHODS = ("bands", "majority", "bottom_n")


def _errors(error: ValidationError) -> list[TemplateError]:
    errors = []
    for item in error.errors():
        # The discriminated union puts the method name into the path; the YAML has no such level.
        parts = [str(part) for part in item["loc"] if part not in _METHODS]
        path = ".".join(parts) or "(rules)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] in ("union_tag_not_found", "union_tag_invalid"):
            path = f"{path}.method"
            message = f"must be one of {', '.join(_METHODS)}"
        errors.append(TemplateError(path, message))
    return errors


def json_schema() -> str:
    """The JSON Schema of the rules format, as committed in templates/rules/rules.schema.json."""
    return json.dumps(Rules.model_json_schema(), ensure_ascii=False, indent=2) + "\n"


def percent(share: Fraction | float) -> str:
    """0.85 → '85%', 0.125 → '12.5%' (for sentences, not for spreadsheet cells)."""
    return f"{float(Fraction(str(share)) * 100):g}%"


def describe(rules: Rules, *, year: bool = False, scales: Sequence[Scale] = ()) -> str:
    """The grading method in one Chinese sentence, printed under the published table. ``scales``: how the
    options of the templates counted were read (none given: the rules' own scale, three levels under auto);
    a scale other than 满意 / 基本满意 / 不满意 is said in words, and every option's weight is in the formula."""
    from pipeline.counting.scale import mapping_sentence, rules_scale, score_formula

    shown = list(dict.fromkeys(scales)) or [rules_scale(rules)]
    grading = (rules.year_end.grading or rules.grading) if year else rules.grading
    excluded = [
        word
        for word, counted in (
            ("弃权", rules.denominators.abstentions),
            ("不了解", rules.denominators.dont_know),
        )
        if not counted
    ]
    valid = f"有效票不含{'和'.join(excluded)}票" if excluded else "有效票含弃权和不了解票"
    score = "；".join(dict.fromkeys(score_formula(scale) for scale in shown))
    options = "".join(f"{sentence}；" for sentence in dict.fromkeys(map(mapping_sentence, shown)) if sentence)
    match grading:
        case BandGrading():
            method = (
                f"满意率≥{percent(grading.satisfied_min)}为满意，满意和基本满意率<{percent(grading.positive_below)}"
                f"或不满意率≥{percent(grading.unsatisfied_min)}为不满意，其余为基本满意"
            )
        case MajorityGrading():
            basis = {"attended": "实到人数", "expected": "应到人数", "returned": "收回票数"}[grading.basis]
            method = f"满意票超过{basis}半数为满意，满意和基本满意票超过{basis}半数为基本满意，其余为不满意"
        case BottomGrading():
            top = f"各序列前{grading.top}名为满意，" if grading.top else "各序列"
            method = (
                f"{top}后{grading.bottom}名为不满意（并列者同等次），其余为基本满意，"
                f"单位数不超过{grading.bottom + grading.top}个的序列不按名次评定、等次为基本满意"
            )
    if year:
        combine = "上、下半年各项比率的平均值" if rules.year_end.combine == "mean" else "两次测评票数合计后计算的比率"
        overrides = f"全年按{combine}评定，一票否决的单位年度评为不满意"
    else:
        overrides = "投诉查实的单位当期评为不满意"
    ranking = f"名次按{rules.ranking.by}在同一序列内排列，可以并列"
    return f"评定方法：{method}；{options}{score}，{valid}；{ranking}；{overrides}。"


# -- overrides -----------------------------------------------------------------------------------------

OverrideKind = Literal["complaint", "veto"]
KIND_LABELS: dict[str, str] = {"complaint": "投诉查实", "veto": "一票否决"}
VETO_AREAS = ("社会治安综合治理", "党风廉政建设", "计划生育", "安全生产", "其他")

YEAR_PATTERN = r"\d{4}"


@dataclass(frozen=True)
class OverrideRequest:
    """An override as a clerk enters it: a decision taken elsewhere, with its document number."""

    unit: str
    period: str  # a session such as 2026H1 for a complaint, a year such as 2026 for a veto
    kind: OverrideKind
    ref: str  # document number, e.g. 投诉〔2026〕13号
    authority: str  # who decided, e.g. 局纪委
    date: str  # ISO date of the decision
    note: str = ""
    area: str | None = None  # veto only: one of VETO_AREAS


@dataclass(frozen=True)
class Override:
    """A stored override; a revocation is added beside it, never replacing it."""

    id: int
    request: OverrideRequest
    created_at: str
    revoked_at: str | None = None
    revoke_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def remark(self) -> str:
        """What the 备注 column says, e.g. 投诉查实（投诉〔2026〕13号，局纪委，2026-05-12）."""
        request = self.request
        area = f"{request.area}，" if request.area else ""
        return f"{KIND_LABELS[request.kind]}（{area}{request.ref}，{request.authority}，{request.date}）"


def sessions_of_period(period: str) -> tuple[str, ...]:
    """'2026' → ('2026H1', '2026H2'); a session name stands for itself."""
    if re.fullmatch(YEAR_PATTERN, period):
        return (f"{period}H1", f"{period}H2")
    return (period,)


def period_problem(kind: OverrideKind, period: str) -> str | None:
    """Why ``period`` cannot carry an override of ``kind`` (None when it can)."""
    from pipeline.ballot.template import validate_session

    if kind == "veto":
        if not re.fullmatch(YEAR_PATTERN, period):
            return f"一票否决按年度计：period 应为年份，如 2026（不是 {period!r}）"
        return None
    if re.fullmatch(YEAR_PATTERN, period):
        return f"投诉查实按测评轮次计：period 应为半年度，如 {period}H1（不是 {period!r}）"
    if validate_session(period) is not None:
        return f"period {period!r} 不是有效的测评轮次名称（如 2026H1）"
    return None


def override_problems(request: OverrideRequest, session_units: set[str]) -> list[str]:
    """Everything wrong with ``request``; ``session_units`` are the rows of the period's templates (printed
    ballots and existing forms read)."""
    problems = []
    period = period_problem(request.kind, request.period)
    if period:
        problems.append(period)
    elif not session_units:
        sessions = "、".join(sessions_of_period(request.period))
        problems.append(f"{request.period} 没有印制过测评票（测评轮次 {sessions}），无法登记")
    elif request.unit not in session_units:
        problems.append(
            f"单位 {request.unit!r} 不在 {request.period} 印制的测评票上（可选：{'、'.join(sorted(session_units))}）"
        )
    if request.kind == "veto" and request.area not in VETO_AREAS:
        problems.append(f"一票否决须注明领域 area：{'、'.join(VETO_AREAS)}")
    if request.kind == "complaint" and request.area is not None:
        problems.append("area 仅用于一票否决")
    for label, value in (("ref（文号）", request.ref), ("authority（决定机关）", request.authority)):
        if not value.strip():
            problems.append(f"{label} 不能为空")
    try:
        datetime.date.fromisoformat(request.date)
    except ValueError:
        problems.append(f"date {request.date!r} 不是日期（格式 2026-05-12）")
    return problems
