"""Consequences: the 处理意见 column and the 奖惩建议 sheet of the workbook, read back with openpyxl; the wording
from the rules; the override that made a unit 不满意 shown as the reason; the year-end --combine flag."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.counting.consequences import proposals
from pipeline.counting.report import PUBLIC_HEADER, write_report
from pipeline.counting.rules import YEAR_END_CONSEQUENCES, Rules, load_rules, parse_rules
from pipeline.store.database import Store
from tests.test_notice import year_result
from tests.test_report import find, rows, session_result, session_store, workbook

__all__ = ["session_store"]

PRAISE, BLAME = YEAR_END_CONSEQUENCES["满意"], YEAR_END_CONSEQUENCES["不满意"]


def half_year_rules() -> Rules:
    data = load_rules().model_dump(mode="json")
    data["consequences"] = {"half_year": {"不满意": "限期整改，整改情况向群众反馈"}}
    return parse_rules(data)


def test_the_notice_wording_is_the_default() -> None:
    consequences = load_rules().consequences
    assert consequences.year_end == {
        "满意": "推荐由县委、县政府通报表彰",
        "不满意": "由局党委给予通报批评，并对单位主要负责人进行问责",
    }
    assert consequences.half_year == {}


def test_year_workbook_has_actions_and_the_list_of_units_concerned(tmp_path: Path) -> None:
    result = year_result()
    book = workbook(tmp_path / "y.xlsx", result)
    table = rows(book["年度测评结果"])
    assert table[1][11] == "处理意见"
    actions = {row[1]: row[11] for row in table[3:] if isinstance(row[0], int)}
    assert actions == {"局机关": PRAISE, "文化馆": BLAME, "图书馆": BLAME, "博物馆": None}  # 基本满意: nothing
    listed = rows(book["奖惩建议"])
    assert listed[1] == ["序号", "单位名称", "序列", "等次", "综合满意率", "满意率", "名次", "依据", "处理意见"]
    office, culture, library = listed[2:5]
    assert office[:4] == [1, "局机关", "局机关", "满意"] and office[7:] == ["测评得票", PRAISE]
    assert culture[:4] == [2, "文化馆", "二级单位", "不满意"]
    assert culture[7] == "一票否决（安全生产，县安委〔2026〕5号，县安委会，2026-10-08）（按得票为基本满意）"
    assert library[:4] == [3, "图书馆", "二级单位", "不满意"] and library[7:] == ["测评得票", BLAME]
    assert library[4] == float(next(u for u in result.units if u.unit == "图书馆").rates.score or 0)
    assert (
        find(book["奖惩建议"], "依据计票规则")
        == f"依据计票规则「比例标准（默认）」：年度评为满意的单位，{PRAISE}；年度评为不满意的单位，{BLAME}。"
    )


def test_half_year_actions_only_where_the_rules_say_so(tmp_path: Path) -> None:
    result = session_result(rules=half_year_rules())
    book = workbook(tmp_path / "h.xlsx", result)
    table = rows(book["测评结果"])
    assert tuple(table[1]) == (*PUBLIC_HEADER, "处理意见")
    actions = {row[1]: row[11] for row in table[2:] if isinstance(row[0], int)}
    assert actions == {"局机关": "限期整改，整改情况向群众反馈", "博物馆": None, "文化馆": None,
                       "图书馆": "限期整改，整改情况向群众反馈"}  # fmt: skip
    listed = rows(book["奖惩建议"])[2:4]
    assert [row[1] for row in listed] == ["局机关", "图书馆"]
    assert listed[0][7] == "投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）（按得票为满意）"
    assert listed[1][7] == "测评得票"  # its complaint was revoked: the votes made it 不满意
    plain = workbook(tmp_path / "p.xlsx", session_result())
    assert "奖惩建议" not in plain.sheetnames and tuple(rows(plain["测评结果"])[1]) == PUBLIC_HEADER


def test_proposals_carry_the_overrides_that_decided() -> None:
    result = year_result()
    by_unit = {proposal.unit: proposal for proposal in proposals(result)}
    assert set(by_unit) == {"局机关", "文化馆", "图书馆"}
    assert by_unit["文化馆"].overrides and by_unit["文化馆"].computed_grade == "基本满意"
    assert by_unit["局机关"].overrides == ()  # a complaint in a half does not carry into the year by default


def test_csv_has_the_action_column(tmp_path: Path) -> None:
    path = write_report(tmp_path / "y.csv", year_result(), file_format="csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    assert header[-2:] == ["处理意见", "序列"]
    assert {line[1]: line[-2] for line in lines}["文化馆"] == BLAME


def test_report_combine_flag(runner: CliRunner, session_store: Store, db_path: Path, tmp_path: Path) -> None:
    db = ["--db", str(db_path)]
    for combine, words in (("mean", "上、下半年各项比率的平均值"), ("pooled", "两次测评票数合计后计算的比率")):
        out = tmp_path / f"{combine}.xlsx"
        result = runner.invoke(main, ["report", "--year", "2026", "--combine", combine, "-o", str(out), "--draft", *db])
        assert result.exit_code == 0, result.output
        assert words in find(openpyxl.load_workbook(out)["年度测评结果"], "评定方法：")
    wrong = runner.invoke(main, ["report", "--session", "2026H1", "--combine", "mean", "-o", str(tmp_path / "x"), *db])
    assert wrong.exit_code == 64 and "--combine 只用于年度汇总" in wrong.output
    english = runner.invoke(
        main, ["--lang", "en", "report", "--session", "2026H1", "--combine", "mean", "-o", "x", *db]
    )
    assert english.exit_code == 64 and "--combine applies to --year only" in english.output
