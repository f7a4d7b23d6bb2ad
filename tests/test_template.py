"""Template model: validation errors as path → message, a stable content hash, the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.ballot.layout import compute_layout
from pipeline.ballot.template import (
    TemplateInvalid,
    json_schema,
    load_template,
    normalise_session,
    parse_template,
    period_label,
    validate_session,
)
from pipeline.cli import main
from tests.conftest import ROOT, TEMPLATE_FILE


def base() -> dict[str, object]:
    return {
        "id": "t1",
        "title": "{period}测评表",
        "instruction": "请打√",
        "sections": [{"rows": [{"unit": "局机关"}, {"unit": "文化馆"}]}],
    }


def errors_of(data: object) -> list[str]:
    with pytest.raises(TemplateInvalid) as caught:
        parse_template(data)
    return [str(error) for error in caught.value.errors]


def test_shipped_template_is_a_county_bureau_ballot() -> None:
    template = load_template(TEMPLATE_FILE)
    units = [row.unit for row in template.sections[0].rows]
    assert units[0] == "局机关" and len(units) == 10
    assert template.sections[0].all_options == ("满意", "基本满意", "不满意")
    assert '打"√"，每行只选一项' in template.instruction
    assert template.voter_category is not None


def test_minimal_template_gets_default_options() -> None:
    template = parse_template(base())
    assert template.sections[0].options == ["满意", "基本满意", "不满意"]
    assert template.paper == "A4"


def test_dont_know_adds_a_column() -> None:
    data = base()
    data["sections"] = [{"dont_know": True, "rows": [{"unit": "局机关"}]}]
    assert parse_template(data).sections[0].all_options == ("满意", "基本满意", "不满意", "不了解")


def test_hash_ignores_yaml_formatting_but_not_content(tmp_path: Path) -> None:
    original = load_template(TEMPLATE_FILE)
    data = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))
    reformatted = tmp_path / "same.yaml"
    reformatted.write_text(json.dumps(data, ensure_ascii=False, indent=7), encoding="utf-8")
    assert load_template(reformatted).content_hash() == original.content_hash()
    data["sections"][0]["rows"][1]["unit"] = "文化馆（分馆）"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_template(changed).content_hash() != original.content_hash()
    assert len(original.short_hash()) == 8


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(colour="red"), "colour → unknown field"),
        (lambda d: d.pop("title"), "title → required field is missing"),
        (lambda d: d.update(id="Bad Id!"), "id → String should match pattern"),
        (lambda d: d["sections"][0].update(rows=[]), "sections.0.rows → List should have at least 1 item"),
        (lambda d: d["sections"][0]["rows"].append({"unit": "局机关"}), "row name '局机关' appears twice"),
        (lambda d: d["sections"][0]["rows"][0].update(post="局长"), "sections.0.rows.0.post → 'post'"),
        (lambda d: d["sections"][0].update(options=["满意", "满意"]), "sections.0.options → options must be"),
        (lambda d: d["sections"][0].update(options=["满意", "不了解"]), "use 'dont_know: true'"),
        (lambda d: d["sections"][0]["rows"][0].update(unitt="x"), "sections.0.rows.0.unitt → unknown field"),
        (lambda d: d.update(paper="Letter"), "paper → Input should be 'A4'"),
    ],
)
def test_invalid_templates_name_the_path(mutate: object, expected: str) -> None:
    data = base()
    mutate(data)  # type: ignore[operator]
    messages = errors_of(data)
    assert any(expected in message for message in messages), messages


def test_too_many_rows_for_one_sheet_is_a_template_error() -> None:
    data = base()
    data["sections"] = [{"comment": True, "rows": [{"unit": f"单位{i}"} for i in range(25)]}]
    with pytest.raises(TemplateInvalid) as caught:
        compute_layout(parse_template(data))
    assert "does not fit on one A4 sheet" in str(caught.value.errors[0])


def test_cli_check_prints_table_not_traceback(tmp_path: Path, runner: CliRunner) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: t\nsections: [{rows: [{unit: a, colour: red}]}]\nextra: 1\n", encoding="utf-8")
    result = runner.invoke(main, ["template", "check", str(bad)])
    assert result.exit_code == 1
    assert "instruction → required field is missing" in result.output
    assert "sections.0.rows.0.colour → unknown field" in result.output
    assert "extra → unknown field" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [("id: [unclosed\n", "not valid YAML"), ("- just\n- a list\n", "expected a mapping")],
)
def test_cli_check_reports_broken_yaml(tmp_path: Path, runner: CliRunner, text: str, expected: str) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["template", "check", str(bad)])
    assert result.exit_code == 1 and expected in result.output


def test_cli_check_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["template", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "(file) → no such file" in result.output


def test_cli_check_good_template(runner: CliRunner) -> None:
    result = runner.invoke(main, ["template", "check", str(TEMPLATE_FILE)])
    assert result.exit_code == 0, result.output
    assert load_template(TEMPLATE_FILE).content_hash() in result.output


def test_committed_schema_matches_model() -> None:
    committed = (ROOT / "templates" / "template.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema(), "regenerate with: ballot template schema > templates/template.schema.json"


def test_sessions() -> None:
    assert period_label("2026H1") == "2026年上半年" and period_label("2026H2") == "2026年下半年"
    assert period_label("2026-special") == "2026-special"
    assert validate_session(normalise_session("2026h1")) is None
    assert validate_session("2026 H1") is not None
    assert validate_session("第一轮") is not None
    assert validate_session("a" * 25) is not None
