"""Template model: validation errors as path → message, a stable content hash, the JSON Schema."""

from __future__ import annotations

import hashlib
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
        (lambda d: d["sections"][0].update(options=[str(i) for i in range(8)]), "at most 7 items"),
        (lambda d: d.update(sections=[{"rows": [{"unit": f"单位{i}"}]} for i in range(5)]), "at most 4 on a ballot"),
        (lambda d: d["sections"][0].update(rows=[{"unit": f"单位{i}"} for i in range(31)]), "at most 30 on a ballot"),
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


def _external(**place: object) -> dict[str, object]:
    """A one-section existing form whose section geometry is ``place`` (plus one row of two boxes)."""
    box = {"x": 50.0, "y": 1.0, "w": 4.0, "h": 4.0}
    row = {"band": {"x": 0.0, "y": 0.0, "w": 100.0, "h": 6.0}, "label": box, "boxes": [box, {**box, "x": 60.0}]}
    section = {"table": {"x": 0.0, "y": 0.0, "w": 100.0, "h": 6.0}, "line_mm": 0.2, "rows": [row], **place}
    return {
        **base(),
        "source": "external",
        "sections": [{"rows": [{"unit": "局机关"}], "options": ["满意", "不满意"]}],
        "external": {"page_w_mm": 210, "page_h_mm": 297, "origin_x_mm": 10, "origin_y_mm": 20, "sections": [section]},
    }


def test_existing_forms_may_have_free_standing_places_circles_and_seven_options() -> None:
    free = parse_template(_external(marker="circle"))
    assert free.external is not None and not free.external.ruled and not free.external.sections[0].ruled
    ruled = parse_template(_external(marker="square", columns=[0.0, 100.0], rules=[0.0, 6.0]))
    assert ruled.external is not None and ruled.external.ruled
    assert errors_of(_external(marker="cell")) == [
        "external.sections.0 → marker 'cell' needs the table's ruling lines (columns and rules)"
    ]
    assert errors_of(_external(marker="square", columns=[0.0, 100.0])) == [
        "external.sections.0 → columns and rules: two or more of each (a ruled table), or neither"
    ]
    data = _external(marker="square")
    data["external"]["sections"][0]["rows"][0]["clear"] = [[1.0] * 16]  # type: ignore[index]
    assert any("clear: 2 needed" in message for message in errors_of(data))
    big = base()
    big["sections"] = [{"options": [str(i) for i in range(7)], "rows": [{"unit": "局机关"}]}]
    assert len(parse_template(big).sections[0].options) == 7


def test_fields_added_for_existing_forms_leave_older_forms_hashes_alone() -> None:
    """A form made before codes, anchors and clearances existed hashes as it did: its stored template and
    the pages read with it stay its own."""
    data = _external(marker="square", columns=[0.0, 100.0], rules=[0.0, 6.0])
    plain = parse_template(data)
    data["external"]["codes"] = ["FORM-7"]  # type: ignore[index]
    assert parse_template(data).content_hash() != plain.content_hash()
    fields = plain.model_dump(mode="json")
    for key in ("codes", "anchors"):
        del fields["external"][key]
    del fields["external"]["sections"][0]["rows"][0]["clear"]
    canonical = json.dumps(
        {"layout_version": 1, "template": fields}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    assert plain.content_hash() == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
