"""Report: the workbook read back with openpyxl (exact values, formats, sheets), the CSV, drafts and refusals."""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.ballot.template import Template, parse_template
from pipeline.cli import main
from pipeline.cli.results import report_command
from pipeline.common.clock import local_date, office_zone
from pipeline.counting.record_sheets import ReviewRecord, UncountedPage
from pipeline.counting.report import DETAIL_HEADER, DRAFT, PUBLIC_HEADER, ReportRefused, percent_text, write_report
from pipeline.counting.rules import describe, load_rules
from pipeline.counting.tally import SessionFacts, SessionTally, combine_year, tally_session
from pipeline.store.database import Store
from tests.test_tally import STANDARD, TEMPLATE, complaint, make_ballots, tally, veto

SHEETS = ["测评结果", "票数明细", "复核记录", "未计入的页", "投诉与否决", "综合满意率图"]
REVIEW = ReviewRecord("2026H1", "K3J9Q0ZP2M", "博物馆", "存疑：笔迹较轻", "满意", "张三", "2026-06-28T02:12:05+00:00")
BEIJING = office_zone("Asia/Shanghai")


def session_result(**kwargs: Any) -> SessionTally:
    kwargs.setdefault("facts", SessionFacts("2026H1", 20, 25, 22))
    kwargs.setdefault("overrides", (complaint("局机关"), complaint("图书馆", revoked=True, number=2)))
    return tally(**kwargs)


def workbook(path: Path, result: Any, **kwargs: Any) -> Any:
    write_report(path, result, **kwargs)
    return openpyxl.load_workbook(path)


def rows(sheet: Any) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def find(sheet: Any, prefix: str) -> str:
    return next(str(cell) for row in rows(sheet) for cell in row if isinstance(cell, str) and cell.startswith(prefix))


def test_publication_sheet_exact_values(tmp_path: Path) -> None:
    book = workbook(tmp_path / "r.xlsx", session_result(), reviews=[REVIEW])
    assert book.sheetnames == SHEETS
    sheet = book["测评结果"]
    table = rows(sheet)
    assert table[0][0] == "××县文化体育局2026年上半年“双评双比”满意度测评结果"
    assert tuple(table[1]) == PUBLIC_HEADER
    assert table[2][0] == "局机关（1个）"
    assert table[3] == [
        1,
        "局机关",
        20,
        18,
        1,
        1,
        0.9,
        0.93,
        "不满意",
        1,
        "投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）",
    ]
    assert table[4][0] == "二级单位（3个）"
    assert table[5] == [
        2,
        "博物馆",
        18,
        14,
        2,
        2,
        float(Fraction(14, 18)),
        float(Fraction(38, 45)),
        "基本满意",
        1,
        None,
    ]
    assert table[6] == [3, "文化馆", 20, 10, 7, 3, 0.5, 0.71, "基本满意", 2, None]
    assert table[7] == [4, "图书馆", 20, 12, 0, 8, 0.6, 0.6, "不满意", 3, None]  # its complaint was revoked
    for column in "GH":
        assert sheet[f"{column}4"].number_format == "0.00%"
    assert sheet["I4"].fill.fgColor.rgb == "FFFFC7CE" and sheet["I6"].fill.fgColor.rgb == "FFFFEB9C"
    assert find(sheet, "2026年上半年：") == (
        "2026年上半年：发出测评票20张，收回20张，其中有效20张、作废0张，回收率100.00%。应到25人，实到22人。"
    )
    assert find(sheet, "评定方法：") == describe(load_rules())
    assert find(sheet, "制表：").startswith("制表：")


def test_publication_sheet_prints_on_a4_landscape_one_page_wide(tmp_path: Path) -> None:
    sheet = workbook(tmp_path / "r.xlsx", session_result())["测评结果"]
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth or 1, sheet.page_setup.fitToHeight) == (1, 0)  # 1 is the default
    assert sheet.print_title_rows == "$2:$2"
    assert sheet.merged_cells.ranges and "A1:K1" in {str(r) for r in sheet.merged_cells.ranges}


def test_detail_sheet_has_every_count_by_category(tmp_path: Path) -> None:
    result = session_result(categories=("服务对象代表", "基层代表", None), void=(19,))
    sheet = workbook(tmp_path / "r.xlsx", result)["票数明细"]
    table = rows(sheet)
    assert table[1][4:12] == ["发出", "收回", "有效", "作废", "回收率", "待复核", "应到", "实到"]
    assert table[2][4:12] == [20, 20, 19, 1, 1, 0, 25, 22]
    header = table.index(list(DETAIL_HEADER))
    office = table[header + 1]
    assert office[:12] == [1, "局机关", "局机关", "合计", 18, 1, 0, 0, 0, 0, 0, 19]  # ballot 19 (U) is void
    assert office[16:] == ["满意", "不满意", 1]
    assert table[header + 2][:8] == [None, None, None, "服务对象代表", 6, 1, 0, 0]
    assert table[header + 4][3] == "未填类别"
    assert table[header + 2][12] == pytest.approx(6 / 7)


def test_review_and_override_sheets(tmp_path: Path) -> None:
    book = workbook(tmp_path / "r.xlsx", session_result(), reviews=[REVIEW], zone=BEIJING)
    assert rows(book["复核记录"])[1] == ["序号", "期间", "票号", "单位", "机器读数", "复核决定", "复核人", "复核时间"]
    assert rows(book["复核记录"])[2] == [1, "2026H1", "K3J9Q0ZP2M", "博物馆", "存疑：笔迹较轻", "满意", "张三",
                                      "2026-06-28 10:12:05"]  # fmt: skip
    overrides = rows(book["投诉与否决"])
    assert overrides[1][:4] == ["编号", "单位", "期间", "类型"]
    assert overrides[2][:4] == [1, "局机关", "2026H1", "投诉查实"] and overrides[2][9] == "有效"
    assert overrides[3][9] == "已撤销（2026-05-20 16:00:00，复查不实）"  # the office's time, UTC+8
    empty = workbook(tmp_path / "e.xlsx", session_result(overrides=()))
    assert rows(empty["复核记录"])[2][0] == "（无复核记录）"
    assert rows(empty["投诉与否决"])[2][0] == "（无投诉查实或一票否决记录）"
    assert rows(empty["未计入的页"])[2][0] == "（扫描的页全部计入）"


def test_times_and_the_date_are_the_offices(tmp_path: Path) -> None:
    """Every time a clerk reads in the workbook, and 制表日期, are in the office's zone, never in UTC: here a zone
    whose date differs from UTC's today, so a date taken elsewhere would show."""
    hour = datetime.now(UTC).hour
    zone = office_zone("Etc/GMT-14" if hour >= 10 else "Etc/GMT+12")  # UTC+14 / UTC-12
    book = workbook(tmp_path / "r.xlsx", session_result(), reviews=[REVIEW], zone=zone)
    shift = 14 if hour >= 10 else -12
    expected = (datetime(2026, 6, 28, 2, 12, 5) + timedelta(hours=shift)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows(book["复核记录"])[2][7] == expected
    created = datetime.fromisoformat(complaint("局机关").created_at) + timedelta(hours=shift)
    assert rows(book["投诉与否决"])[2][8] == created.strftime("%Y-%m-%d %H:%M:%S")
    today = local_date(zone)
    assert today != datetime.now(UTC).date().isoformat()
    assert find(book["测评结果"], "制表：").endswith(f"制表日期：{today}")


def column_px(sheet: Any) -> int:
    """The printed width of a sheet's columns in pixels at 100 % (Excel: 7 px a character of width + 5)."""
    return sum(round(dimension.width * 7 + 5) for dimension in sheet.column_dimensions.values() if dimension.width)


def test_record_sheets_print_readably(tmp_path: Path) -> None:
    """A4 landscape (271 mm inside the margins, ~1026 px at 96 dpi) takes 投诉与否决 at 90 % or more (its 13
    columns printed at about two thirds); 复核记录's times fit their column; every record sheet repeats its
    header on each page, and every sheet numbers its pages 第 N 页 共 M 页."""
    book = workbook(tmp_path / "r.xlsx", session_result(), reviews=[REVIEW] * 60, zone=BEIJING)
    printable = (297 / 25.4 - 1.0) * 96
    overrides = book["投诉与否决"]
    assert printable / column_px(overrides) >= 0.9
    review = book["复核记录"]
    time_column = review.column_dimensions["H"].width
    assert time_column >= len(rows(review)[2][7]) + 1  # "2026-06-28 10:12:05" on one line
    for name in ("复核记录", "投诉与否决", "未计入的页"):
        assert book[name].print_title_rows == "$2:$2", name
    for name in SHEETS:
        assert book[name].oddFooter.center.text == "第 &P 页 共 &N 页", name


def test_native_bar_chart_of_the_score(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    sheet = workbook(path, session_result())["综合满意率图"]
    assert rows(sheet)[2:6] == [
        ["局机关", 0.93, None, None, None, None, None, None, None, None, None, None],
        ["博物馆", float(Fraction(38, 45)), *[None] * 10],
        ["文化馆", 0.71, *[None] * 10],
        ["图书馆", 0.6, *[None] * 10],
    ]
    with zipfile.ZipFile(path) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert '<c:barDir val="bar"/>' in chart
    assert "<c:f>综合满意率图!$B$3:$B$6</c:f>" in chart and "<c:f>综合满意率图!$A$3:$A$6</c:f>" in chart


def test_undefined_rates_are_dashes(tmp_path: Path) -> None:
    result = session_result(marks={**STANDARD, "博物馆": "-" * 20})
    table = rows(workbook(tmp_path / "r.xlsx", result)["测评结果"])
    museum = next(row for row in table if row[1] == "博物馆")
    assert museum == [4, "博物馆", 0, 0, 0, 0, "—", "—", "—", "—", "无有效票，不评定等次"]


def test_final_report_refused_while_pending_or_void(tmp_path: Path) -> None:
    pending = session_result(marks={**STANDARD, "文化馆": "?" + STANDARD["文化馆"][1:]})
    with pytest.raises(ReportRefused) as caught:
        write_report(tmp_path / "r.xlsx", pending)
    assert caught.value.reasons == ("2026H1 尚有 1 行待复核",)
    assert not (tmp_path / "r.xlsx").exists()
    void = session_result(facts=SessionFacts("2026H1", issued=19))
    with pytest.raises(ReportRefused, match="收回票数（20）多于发出票数（19）"):
        write_report(tmp_path / "r.csv", void, file_format="csv")


def test_draft_is_marked_on_every_sheet(tmp_path: Path) -> None:
    void = session_result(facts=SessionFacts("2026H1", issued=19))
    book = workbook(tmp_path / "d.xlsx", void, draft=True)
    for name in SHEETS:
        assert book[name]["A1"].value == DRAFT
        assert DRAFT in (book[name].oddHeader.center.text or "")
    table = rows(book["测评结果"])
    assert table[1][0] == "××县文化体育局2026年上半年“双评双比”满意度测评结果"
    assert table[2][0] == "2026H1 测评无效：收回票数（20）多于发出票数（19），应重新测评"
    assert "本轮测评无效" in find(book["票数明细"], "本轮测评无效")


def test_csv_of_the_publication_table(tmp_path: Path) -> None:
    path = write_report(tmp_path / "r.csv", session_result(), file_format="csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM correctly
    with path.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [*PUBLIC_HEADER, "序列"]
    assert table[1] == ["1", "局机关", "20", "18", "1", "1", "90.00%", "93.00%", "不满意", "1",
                        "投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）", "局机关"]  # fmt: skip
    assert table[2][:9] == ["2", "博物馆", "18", "14", "2", "2", "77.78%", "84.44%", "基本满意"]
    draft = write_report(
        tmp_path / "d.csv", session_result(facts=SessionFacts("2026H1", 5)), draft=True, file_format="csv"
    )
    assert draft.read_text(encoding="utf-8-sig").startswith(f"{DRAFT},2026H1 测评无效")


def test_percent_text_rounds_half_up() -> None:
    assert percent_text(Fraction(2, 3)) == "66.67%"
    assert percent_text(Fraction(1, 20000)) == "0.01%"  # 0.005% → 0.01%
    assert percent_text(Fraction(1, 8)) == "12.50%" and percent_text(Fraction(1)) == "100.00%"
    assert percent_text(None) == "—"


def test_year_workbook(tmp_path: Path) -> None:
    rules = load_rules()
    first = tally(facts=SessionFacts("2026H1", 20), overrides=(complaint("局机关"),))
    second_marks = {"局机关": "S" * 10, "文化馆": "S" * 9 + "B", "图书馆": "S" * 10, "博物馆": "S" * 10}
    second = tally_session(TEMPLATE, make_ballots(second_marks), rules, SessionFacts("2026H2", 10))
    year = combine_year("2026", first, second, rules, (veto("文化馆"),))
    book = workbook(tmp_path / "y.xlsx", year)
    assert book.sheetnames == [
        "年度测评结果",
        "上半年票数明细",
        "下半年票数明细",
        "奖惩建议",
        "复核记录",
        "未计入的页",
        "投诉与否决",
        "综合满意率图",
    ]
    table = rows(book["年度测评结果"])
    assert table[0][0] == "××县文化体育局2026年度“双评双比”满意度测评结果"
    assert table[1][:3] == ["序号", "单位名称", "上半年"] and table[1][4] == "下半年" and table[1][6] == "全年"
    assert table[2][2:9] == ["综合满意率", "等次", "综合满意率", "等次", "满意率", "综合满意率", "等次"]
    assert table[4] == [1, "局机关", 0.93, "不满意", 1, "满意", 0.95, 0.965, "满意", 1,
                        "上半年投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）",
                        "推荐由县委、县政府通报表彰"]  # fmt: skip
    culture = next(row for row in table if row[1] == "文化馆")
    assert culture[2:10] == [0.71, "基本满意", 0.96, "满意", 0.7, 0.835, "不满意", 2]
    assert culture[10] == "一票否决（安全生产，县安委〔2026〕5号，县安委会，2026-10-08）"
    assert culture[11] == "由局党委给予通报批评，并对单位主要负责人进行问责"
    assert find(book["年度测评结果"], "2026年下半年：").startswith("2026年下半年：发出测评票10张，收回10张")
    assert find(book["年度测评结果"], "评定方法：") == describe(rules, year=True)
    assert [row[3] for row in rows(book["投诉与否决"])[2:]] == ["投诉查实", "一票否决（安全生产）"]


def test_year_review_log_says_which_half(tmp_path: Path) -> None:
    rules = load_rules()
    halves = [tally(facts=SessionFacts(name, 20)) for name in ("2026H1", "2026H2")]
    year = combine_year("2026", halves[0], halves[1], rules)
    second = ReviewRecord(
        "2026H2", "M2PDK7QX5Z", "文化馆", "存疑：笔迹较轻", "弃权", "李四", "2026-12-01T01:00:00+00:00"
    )
    book = workbook(tmp_path / "y.xlsx", year, reviews=[REVIEW, second], zone=BEIJING)
    table = rows(book["复核记录"])
    assert table[1][1] == "期间" and [row[1] for row in table[2:]] == ["2026H1", "2026H2"]


def uncounted(settled: bool) -> list[UncountedPage]:
    decided = ("确认不计入", "张三", "2026-06-28T02:12:05+00:00") if settled else ("", "", "")
    reason = "票号 K3J9Q0ZP2M 已从 scan.pdf 第 1 页计入"
    return [
        UncountedPage("2026H1", "scan.pdf", 3, "K3J9Q0ZP2M", "重复（复印或重扫）", reason, settled, *decided),
        UncountedPage("2026H1", "empty.pdf", 0, "", "文件打不开", "文件是空的（0 字节）", settled=True),
    ]


def test_pages_not_counted_are_listed_and_block_a_final_report(tmp_path: Path) -> None:
    """The internal sheet 未计入的页 lists every page not counted with its reason and how it was settled; while
    one is unsettled (the store counts them into the round's facts) no final report is written."""
    open_result = session_result(facts=SessionFacts("2026H1", 20, 25, 22, unsettled_pages=1))
    with pytest.raises(ReportRefused) as caught:
        write_report(tmp_path / "r.xlsx", open_result, uncounted=uncounted(False))
    assert caught.value.reasons == ("2026H1 尚有 1 页未计入的扫描页待处理（复核页“未计入的页”）",)
    draft = workbook(tmp_path / "d.xlsx", open_result, uncounted=uncounted(False), draft=True, zone=BEIJING)
    table = rows(draft["未计入的页"])
    assert table[2][0] == "尚有 1 页未处理（复核页“未计入的页”）：处理之前不能出正式报告。"
    assert table[4][:8] == [1, "2026H1", "scan.pdf", 3, "K3J9Q0ZP2M", "重复（复印或重扫）",
                            "票号 K3J9Q0ZP2M 已从 scan.pdf 第 1 页计入", "待处理"]  # fmt: skip
    final = workbook(tmp_path / "f.xlsx", session_result(), uncounted=uncounted(True), zone=BEIJING)
    table = rows(final["未计入的页"])
    assert table[1] == ["序号", "期间", "文件", "页", "票号", "结果", "原因", "处理", "复核人", "复核时间"]
    assert table[2][7:] == ["确认不计入", "张三", "2026-06-28 10:12:05"]
    assert table[3][2:8] == ["empty.pdf", None, None, "文件打不开", "文件是空的（0 字节）", None]


def test_csv_cells_are_never_formulas(tmp_path: Path) -> None:
    """A unit named like a formula (=, +, -, @) is written as text: Excel would run it."""
    template = parse_template(
        {
            "id": "t",
            "title": "{period}测评表",
            "instruction": "请打√",
            "sections": [{"rows": [{"unit": '=HYPERLINK("http://x","局机关")', "group": "局机关"},
                                   {"unit": "@SUM(1)", "group": "局机关"}]}],
        }
    )  # fmt: skip
    marks = {'=HYPERLINK("http://x","局机关")': "SSB", "@SUM(1)": "SBU"}
    result = tally_session(template, make_ballots(marks, template, ()), load_rules(), SessionFacts("2026H1", 3))
    path = write_report(tmp_path / "r.csv", result, file_format="csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    names = {row[1] for row in table[1:]}
    assert names == {'\'=HYPERLINK("http://x","局机关")', "'@SUM(1)"}


# -- the report command --------------------------------------------------------------------------------


@pytest.fixture
def session_store(store: Store, template: Template, monkeypatch: pytest.MonkeyPatch) -> Store:
    store.issue_serials("2026H1", template, 3, "a.pdf")
    store.issue_serials("2026H2", template, 3, "b.pdf")
    store.set_session_facts("2026H1", issued=3)
    store.set_session_facts("2026H2", issued=3)
    marks = {row.unit: "SSB" for section in template.sections for row in section.rows}
    pending = {**marks, "图书馆": "S?B"}
    by_session = {"2026H1": make_ballots(marks, template), "2026H2": make_ballots(pending, template)}
    monkeypatch.setattr(Store, "effective_ballots", lambda self, session: by_session[session])
    return store


def test_report_command(runner: CliRunner, session_store: Store, db_path: Path, tmp_path: Path) -> None:
    db = ["--db", str(db_path)]
    out = tmp_path / "out" / "2026H1-测评结果.xlsx"
    result = runner.invoke(report_command, ["--session", "2026H1", "-o", str(out), *db])
    assert result.exit_code == 0, result.output
    assert out.exists() and rows(openpyxl.load_workbook(out)["测评结果"])[3][:4] == [1, "局机关", 3, 2]
    refused = runner.invoke(report_command, ["--session", "2026H2", "-o", str(tmp_path / "h2.xlsx"), *db])
    assert refused.exit_code == 2 and "不能出正式报告" in refused.output and "2026H2 尚有 1 行待复核" in refused.output
    drafted = runner.invoke(report_command, ["--year", "2026", "-o", str(tmp_path / "y.xlsx"), "--draft", *db])
    assert drafted.exit_code == 0 and openpyxl.load_workbook(tmp_path / "y.xlsx")["年度测评结果"]["A1"].value == DRAFT
    as_csv = runner.invoke(
        report_command, ["--session", "2026H1", "-o", str(tmp_path / "r.csv"), "--format", "csv", *db]
    )
    assert as_csv.exit_code == 0 and (tmp_path / "r.csv").read_text(encoding="utf-8-sig").startswith("序号,单位名称")
    neither = runner.invoke(main, ["report", "-o", str(tmp_path / "x.xlsx"), *db])
    assert neither.exit_code == 64 and "请给出 --session 2026H1 或 --year 2026，二者选一" in neither.output
    english = runner.invoke(main, ["--lang", "en", "report", "-o", str(tmp_path / "x.xlsx"), *db])
    assert english.exit_code == 64 and "give exactly one of --session 2026H1 or --year 2026" in english.output
    by_environment = runner.invoke(main, ["report", "-o", str(tmp_path / "x.xlsx"), *db], env={"BALLOT_LANG": "en"})
    assert by_environment.output == english.output
    half = runner.invoke(main, ["report", "--year", "2026H1", "-o", str(tmp_path / "x.xlsx"), *db])
    assert half.exit_code == 64 and "要写年份，如 2026" in half.output
    refused = runner.invoke(main, ["--lang", "en", "report", "--session", "2026H2", "-o", str(tmp_path / "x"), *db])
    assert refused.exit_code == 2
    assert refused.output.startswith("error: no final report:\n  2026H2: 1 rows await review")
