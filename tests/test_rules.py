"""Rules files: shipped presets, defaults from the domain note, path → message errors, the JSON Schema,
the grading sentence, and the checks on override records."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.results import rules_group
from pipeline.counting.rules import (
    RULES_DIR,
    BandGrading,
    BottomGrading,
    MajorityGrading,
    OverrideRequest,
    RulesInvalid,
    describe,
    exact,
    json_schema,
    load_rules,
    override_problems,
    parse_rules,
    percent,
    period_problem,
    sessions_of_period,
)

UNITS = {"局机关", "图书馆", "体育中心"}


def errors_of(data: object) -> list[str]:
    with pytest.raises(RulesInvalid) as caught:
        parse_rules(data)
    return [str(error) for error in caught.value.errors]


def test_default_preset_matches_the_domain_defaults() -> None:
    rules = load_rules()
    assert rules == load_rules(RULES_DIR / "default.yaml")
    assert isinstance(rules.grading, BandGrading)
    assert (rules.grading.satisfied_min, rules.grading.positive_below, rules.grading.unsatisfied_min) == (
        0.9,
        0.85,
        0.4,
    )
    assert rules.weight == Fraction(3, 5)
    assert not rules.denominators.abstentions and not rules.denominators.dont_know
    assert rules.rows.blank_ballot == "abstain" and rules.no_valid_votes == "不评定"
    assert rules.ranking.by == "综合满意率"
    assert rules.year_end.combine == "mean" and rules.year_end.grading is None
    assert rules.round.void_if_returned_exceeds_issued and rules.round.require_quorum


def test_alternative_presets() -> None:
    majority = load_rules(RULES_DIR / "majority.yaml")
    assert isinstance(majority.grading, MajorityGrading) and majority.grading.basis == "attended"
    assert majority.year_end.combine == "pooled"
    bottom = load_rules(RULES_DIR / "bottom3.yaml")
    assert isinstance(bottom.grading, BottomGrading) and (bottom.grading.bottom, bottom.grading.top) == (3, 0)


def test_minimal_rules_file_gets_the_defaults() -> None:
    rules = parse_rules({"name": "x", "grading": {"method": "bands"}})
    assert rules.basic_weight == 0.6 and isinstance(rules.grading, BandGrading)
    assert rules.grading.satisfied_min == 0.9


def test_thresholds_are_exact_decimals() -> None:
    assert exact(0.9) == Fraction(9, 10) and exact(0.85) == Fraction(17, 20) and exact(0.4) == Fraction(2, 5)
    assert Fraction(0.85) != Fraction(17, 20)  # why exact() goes through the decimal text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "x", "grading": {"method": "bands"}, "weight": 1}, "weight → unknown field (check the spelling)"),
        ({"name": "x"}, "grading → required field is missing"),
        ({"name": "x", "grading": {}}, "grading.method → must be one of bands, majority, bottom_n"),
        ({"name": "x", "grading": {"method": "third"}}, "grading.method → must be one of bands, majority, bottom_n"),
        (
            {"name": "x", "grading": {"method": "bands", "satisfied_min": 90}},
            "grading.satisfied_min → Input should be less than or equal to 1",
        ),
        (
            {"name": "x", "grading": {"method": "majority", "basis": "all"}},
            "grading.basis → Input should be 'attended', 'expected' or 'returned'",
        ),
        (
            {"name": "x", "grading": {"method": "bottom_n", "bottom": 0}},
            "grading.bottom → Input should be greater than or equal to 1",
        ),
        (
            {"name": "x", "grading": {"method": "bands"}, "denominators": {"abstention": True}},
            "denominators.abstention → unknown field (check the spelling)",
        ),
        (
            {"name": "x", "grading": {"method": "bands"}, "year_end": {"combine": "sum"}},
            "year_end.combine → Input should be 'mean' or 'pooled'",
        ),
        (
            {"name": "x", "grading": {"method": "bands"}, "year_end": {"grading": {"method": "bands", "x": 1}}},
            "year_end.grading.x → unknown field (check the spelling)",
        ),
        ({"name": "x", "grading": {"method": "bands"}, "basic_weight": 1.5}, "basic_weight → Input should be"),
    ],
)
def test_invalid_rules_give_path_and_message(data: object, expected: str) -> None:
    assert any(error.startswith(expected) for error in errors_of(data)), errors_of(data)


def test_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(RulesInvalid) as caught:
        load_rules(tmp_path / "missing.yaml")
    assert caught.value.table() == "  (file) → no such file"
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesInvalid, match="1 problem"):
        load_rules(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n", encoding="utf-8")
    with pytest.raises(RulesInvalid) as caught:
        load_rules(listed)
    assert str(caught.value.errors[0]) == "(file) → expected a mapping of rule fields"


def test_committed_schema_is_generated_from_the_model() -> None:
    committed = (RULES_DIR / "rules.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema(), "regenerate with: ballot rules schema > templates/rules/rules.schema.json"
    assert '"description": "满意 when 满意率 ≥ this (0–1)."' in committed


def test_grading_sentences() -> None:
    assert percent(0.85) == "85%" and percent(Fraction(1, 8)) == "12.5%"
    assert describe(load_rules()) == (
        "评定方法：满意率≥90%为满意，满意和基本满意率<85%或不满意率≥40%为不满意，其余为基本满意；"
        "综合满意率=（满意+0.6×基本满意）÷有效票，有效票不含弃权和不了解票；"
        "名次按综合满意率在同一序列内排列，可以并列；投诉查实的单位当期评为不满意。"
    )
    assert describe(load_rules(), year=True).endswith(
        "全年按上、下半年各项比率的平均值评定，一票否决的单位年度评为不满意。"
    )
    majority = describe(load_rules(RULES_DIR / "majority.yaml"))
    assert "满意票超过实到人数半数为满意" in majority
    assert "各序列后3名为不满意（并列者同等次）" in describe(load_rules(RULES_DIR / "bottom3.yaml"))
    counted = parse_rules({"name": "x", "grading": {"method": "bands"}, "denominators": {"abstentions": True}})
    assert "有效票不含不了解票" in describe(counted)


def test_periods_of_overrides() -> None:
    assert sessions_of_period("2026") == ("2026H1", "2026H2")
    assert sessions_of_period("2026H1") == ("2026H1",)
    assert period_problem("complaint", "2026H1") is None and period_problem("veto", "2026") is None
    assert "应为年份" in (period_problem("veto", "2026H1") or "")
    assert "如 2026H1" in (period_problem("complaint", "2026") or "")
    assert "不是有效的测评轮次名称" in (period_problem("complaint", "2026 H1!") or "")


def request(**changes: str | None) -> OverrideRequest:
    fields: dict[str, str | None] = {
        "unit": "图书馆",
        "period": "2026H1",
        "kind": "complaint",
        "ref": "投诉〔2026〕13号",
        "authority": "局纪委",
        "date": "2026-05-12",
    }
    fields.update(changes)
    return OverrideRequest(**fields)  # type: ignore[arg-type]


def test_override_checks() -> None:
    assert override_problems(request(), UNITS) == []
    assert override_problems(request(kind="veto", period="2026", area="安全生产"), UNITS) == []
    assert override_problems(request(unit="文化宫"), UNITS) == [
        "单位 '文化宫' 不在 2026H1 印制的测评票上（可选：体育中心、图书馆、局机关）"
    ]
    assert override_problems(request(), set()) == ["2026H1 没有印制过测评票（测评轮次 2026H1），无法登记"]
    assert override_problems(request(kind="veto", period="2027", area="安全生产"), set()) == [
        "2027 没有印制过测评票（测评轮次 2027H1、2027H2），无法登记"
    ]
    assert override_problems(request(kind="veto", period="2026"), UNITS) == [
        "一票否决须注明领域 area：社会治安综合治理、党风廉政建设、计划生育、安全生产、其他"
    ]
    assert override_problems(request(area="安全生产"), UNITS) == ["area 仅用于一票否决"]
    assert override_problems(request(ref=" ", authority=""), UNITS) == [
        "ref（文号） 不能为空",
        "authority（决定机关） 不能为空",
    ]
    assert override_problems(request(date="12/05/2026"), UNITS) == ["date '12/05/2026' 不是日期（格式 2026-05-12）"]


def test_rules_cli(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(rules_group, ["check", str(RULES_DIR / "bottom3.yaml")])
    assert result.exit_code == 0 and result.output.startswith("序列后三名为不满意\n评定方法：")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngrading: {method: bands, satisfied_min: 2}\n", encoding="utf-8")
    result = runner.invoke(rules_group, ["check", str(bad)])
    assert result.exit_code == 1
    assert "grading.satisfied_min → Input should be less than or equal to 1" in result.output
    schema = runner.invoke(rules_group, ["schema"])
    assert schema.exit_code == 0 and schema.output == json_schema()
