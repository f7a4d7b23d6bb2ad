"""Rating scales: each printed option's class and weight from the rules, presets for 3-, 4- and 5-level
ballots, counting with them by hand-computed cases, and ``template check`` / ``print`` saying at once
whether the rules in force can count a template."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.ballot.template import Template, parse_template
from pipeline.cli import main
from pipeline.counting.ballots import BallotResult, RowResult
from pipeline.counting.rules import RulesInvalid, describe, load_rules, parse_rules
from pipeline.counting.scale import Scale, ScaleProblem, mapping_sentence, score_formula, template_scale
from pipeline.counting.tally import SessionFacts, TallyError, tally_session
from pipeline.store.database import open_store

FIVE = ["非常满意", "满意", "基本满意", "不太满意", "不满意"]


def template_with(options: list[str], *, dont_know: bool = False) -> Template:
    return parse_template(
        {
            "id": "scale",
            "title": "{period}测评表",
            "instruction": "请打√",
            "sections": [{"options": options, "dont_know": dont_know, "rows": [{"unit": "甲"}, {"unit": "乙"}]}],
        }
    )


def rules_with(**changes: object) -> object:
    return parse_rules({"name": "test", "grading": {"method": "bands"}, **changes})


def resolved(printed: list[str], **changes: object) -> Scale:
    scale = template_scale(template_with(printed, dont_know=True), rules_with(**changes))  # type: ignore[arg-type]
    assert isinstance(scale, Scale), scale
    return scale


def weights(scale: Scale) -> dict[str, tuple[str, Fraction]]:
    return {entry.option: (entry.counts_as, entry.weight) for entry in scale.options}


def test_presets_give_every_option_a_class_and_weight() -> None:
    assert weights(resolved(["满意", "基本满意", "不满意"])) == {
        "满意": ("满意", 1), "基本满意": ("基本满意", Fraction(3, 5)), "不满意": ("不满意", 0), "不了解": ("不了解", 0),
    }  # fmt: skip
    four = resolved(["满意", "比较满意", "基本满意", "不满意"])
    assert four.preset == "four_level" and weights(four)["比较满意"] == ("基本满意", Fraction(4, 5))
    average = resolved(["满意", "比较满意", "一般", "不满意"])
    assert average.preset == "four_level_average" and weights(average)["一般"] == ("基本满意", Fraction(3, 5))
    five = resolved(FIVE)
    assert five.preset == "five_level"
    assert weights(five) == {
        "非常满意": ("满意", 1), "满意": ("满意", Fraction(4, 5)), "基本满意": ("基本满意", Fraction(3, 5)),
        "不太满意": ("不满意", 0), "不满意": ("不满意", 0), "不了解": ("不了解", 0),
    }  # fmt: skip
    assert weights(resolved(["很满意", "满意", "基本满意", "不满意"]))["很满意"] == ("满意", 1)
    # 'halfway' follows the rules' weight: between 满意 and 基本满意 whatever w is.
    assert weights(resolved(FIVE, basic_weight=0.8))["满意"] == ("满意", Fraction(9, 10))


def test_options_no_preset_covers_are_named() -> None:
    rules = rules_with()
    strange = template_scale(template_with(["好", "较好", "差"]), rules)  # type: ignore[arg-type]
    assert isinstance(strange, ScaleProblem) and strange.unknown == ("好", "较好", "差")
    assert "不在任何预设量表中" in strange.message() and "counts_as" in strange.message()
    mixed = template_scale(template_with(["满意", "基本满意", "一般", "不满意"]), rules)  # type: ignore[arg-type]
    assert isinstance(mixed, ScaleProblem) and "不属于同一个预设量表" in mixed.message()
    forced = template_scale(template_with(FIVE), rules_with(scale="three_level"))  # type: ignore[arg-type]
    assert isinstance(forced, ScaleProblem) and forced.unknown == ("非常满意", "不太满意")
    assert "不在预设量表 three_level 中" in forced.message() and "模板" in forced.message()
    assert "are not in the preset scale three_level" in forced.message("en")  # the clerk's language, when asked


def test_rules_map_single_options() -> None:
    scale = resolved(["满意", "基本满意", "一般", "不满意"], options={"一般": {"counts_as": "基本满意", "weight": 0.4}})
    assert scale.preset == "three_level" and weights(scale)["一般"] == ("基本满意", Fraction(2, 5))
    own = resolved(["好", "差"], options={"好": {"counts_as": "满意"}, "差": {"counts_as": "不满意"}})
    assert own.preset is None and weights(own) == {"好": ("满意", 1), "差": ("不满意", 0), "不了解": ("不了解", 0)}


def test_dissatisfaction_never_scores() -> None:
    with pytest.raises(RulesInvalid) as caught:
        parse_rules(
            {
                "name": "x",
                "grading": {"method": "bands"},
                "options": {"不太满意": {"counts_as": "不满意", "weight": 0.3}},
            }
        )
    assert [str(error) for error in caught.value.errors] == [
        "options.不太满意 → an option counted as 不满意 weighs 0 in 综合满意率"
    ]


def test_five_level_counts_by_class_and_scores_by_weight() -> None:
    template = template_with(FIVE)
    codes = {**dict(zip("ABCDE", FIVE, strict=True)), "-": None, "X": None}
    kinds = {"-": "blank", "X": "overvote"}
    columns = {"甲": "ABCDE", "乙": "AAB-X"}
    ballots = [
        BallotResult(index, f"S{index}", template.content_hash(), tuple(
            RowResult(unit, kinds.get(column[index], "choice"), codes[column[index]])  # type: ignore[arg-type]
            for unit, column in columns.items()
        ))
        for index in range(5)
    ]  # fmt: skip
    result = tally_session(template, ballots, load_rules(), SessionFacts("2026H1"))
    first, second = result.units
    # 甲: 非常满意, 满意 → 满意 2; 基本满意 1; 不太满意, 不满意 → 不满意 2; score (1 + 0.8 + 0.6) / 5.
    assert first.counts.as_tuple()[:3] == (2, 1, 2) and first.valid == 5
    assert first.rates.satisfied == Fraction(2, 5) and first.rates.score == Fraction(12, 25)
    # 乙: 非常满意 ×2, 满意, 弃权, 多选 → 满意 3 of 3 valid; score (1 + 1 + 0.8) / 3.
    assert second.counts.as_tuple() == (3, 0, 0, 0, 1, 1, 0) and second.rates.score == Fraction(14, 15)
    assert result.scale is not None and result.scale.preset == "five_level"
    method = describe(result.rules, scales=[result.scale])
    assert "测评票选项“非常满意”“满意”计为满意，“基本满意”计为基本满意，“不太满意”“不满意”计为不满意" in method
    assert "综合满意率=（非常满意+0.8×满意+0.6×基本满意）÷有效票" in method
    assert mapping_sentence(resolved(["满意", "基本满意", "不满意"])) == ""
    assert score_formula(resolved(["满意", "基本满意", "不满意"])) == "综合满意率=（满意+0.6×基本满意）÷有效票"


def test_tally_refuses_what_the_rules_cannot_count() -> None:
    with pytest.raises(TallyError, match="好、差"):
        tally_session(template_with(["好", "差"]), [], load_rules(), SessionFacts("2026H1"))


# -- the commands say it before anything is printed ----------------------------------------------------------


def write_template(folder: Path, options: list[str]) -> Path:
    path = folder / "t.yaml"
    path.write_text(yaml.safe_dump(template_with(options).model_dump(mode="json"), allow_unicode=True), "utf-8")
    return path


def test_template_check_says_how_options_count(runner: CliRunner, tmp_path: Path) -> None:
    average = runner.invoke(
        main, ["template", "check", str(write_template(tmp_path, ["满意", "比较满意", "一般", "不满意"]))]
    )
    assert average.exit_code == 0, average.output
    assert "预设 four_level_average" in average.output and "一般 → 基本满意（综合满意率权重 0.6）" in average.output
    mixed = write_template(tmp_path, ["满意", "基本满意", "一般", "不满意"])
    refused = runner.invoke(main, ["template", "check", str(mixed)])
    assert refused.exit_code == 1 and "不属于同一个预设量表" in refused.output
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "name: 本局规则\ngrading: {method: bands}\noptions:\n  一般: {counts_as: 基本满意, weight: 0.4}\n", "utf-8"
    )
    mapped = runner.invoke(main, ["template", "check", str(mixed), "--rules", str(rules)])
    assert mapped.exit_code == 0 and "一般 → 基本满意（综合满意率权重 0.4）" in mapped.output


def test_print_refuses_a_template_the_rules_cannot_count(runner: CliRunner, tmp_path: Path, db_path: Path) -> None:
    mixed = write_template(tmp_path, ["满意", "基本满意", "一般", "不满意"])
    out = tmp_path / "b.pdf"
    refused = runner.invoke(main, ["print", str(mixed), "--session", "2026H1", "--copies", "2", "-o", str(out),
                                   "--db", str(db_path)])  # fmt: skip
    assert refused.exit_code == 1 and "不属于同一个预设量表" in refused.output
    assert not out.exists() and not open_store(db_path).issued_serials("2026H1")  # nothing issued, nothing printed
    five = write_template(tmp_path, FIVE)
    printed = runner.invoke(main, ["print", str(five), "--session", "2026H1", "--copies", "2", "-o", str(out),
                                   "--db", str(db_path)])  # fmt: skip
    assert printed.exit_code == 0 and out.exists() and "非常满意 → 满意（综合满意率权重 1）" in printed.output
