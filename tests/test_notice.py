"""The public notice (公示): its text read back with pypdfium2, its pages rendered and looked at (the title
centred, room for the seal above the issuer), drafts and refusals, and the command."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.counting.notice import NoticeDetails, write_notice
from pipeline.counting.report import ReportRefused, method_text, ordered_units
from pipeline.counting.rules import load_rules
from pipeline.counting.tally import SessionFacts, YearTally, combine_year, tally_session
from pipeline.store.database import Store
from tests.test_report import session_result, session_store
from tests.test_tally import STANDARD, TEMPLATE, complaint, make_ballots, tally, veto

__all__ = ["session_store"]  # the command's fixture, shared with tests/test_report.py

DETAILS = NoticeDetails("××县文化体育局", datetime.date(2026, 7, 6), 5, "0000-1234567", "文体〔2026〕15号")
MM = 72 / 25.4  # PDF points per mm


def pdf_text(path: Path) -> str:
    """Every page's text with the line breaks and spaces a wrapped sentence or a table cell puts in removed."""
    document = pdfium.PdfDocument(path)
    text = "".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
    return "".join(text.split())


def year_result(combine: str = "mean") -> YearTally:
    rules = load_rules().combined(combine)  # type: ignore[arg-type]
    first = tally(rules=rules, facts=SessionFacts("2026H1", 20, attended=20), overrides=(complaint("局机关"),))
    second_marks = {"局机关": "S" * 10, "文化馆": "S" * 9 + "B", "图书馆": "S" * 10, "博物馆": "S" * 10}
    second = tally_session(TEMPLATE, make_ballots(second_marks), rules, SessionFacts("2026H2", 10, attended=10))
    return combine_year("2026", first, second, rules, (veto("文化馆"),))


def test_session_notice_says_everything_from_the_tally(tmp_path: Path) -> None:
    result = session_result()
    text = pdf_text(write_notice(tmp_path / "公示.pdf", result, DETAILS))
    for expected in (
        "文体〔2026〕15号",
        "关于××县文化体育局2026年上半年“双评双比”满意度测评结果的公示",
        "2026年上半年，××县文化体育局组织召开“双评双比”满意度测评会议，22名代表（服务对象代表、基层代表）参加测评，"
        "以无记名投票方式对4个单位（局机关1个、二级单位3个）进行了满意度测评。",
        "本次测评发出测评票20张，收回20张，其中有效20张、作废0张。",
        method_text(result),
        "（一）局机关（1个）",
        "（二）二级单位（3个）",
        "1局机关20181190.00%93.00%不满意1",  # 序号 单位 有效票 满意 基本满意 不满意 满意率 综合满意率 等次 名次
        "1博物馆18142277.78%84.44%基本满意1",
        "3图书馆201208" + "60.00%60.00%不满意3",
        "局机关：投诉查实（投诉〔2026〕1号，局纪委，2026-05-12），本期等次由满意改评为不满意。",
        "公示期为5个工作日（自2026年7月6日起）",
        "可通过来电、来信、来访等方式向××县文化体育局反映",
        "监督电话：0000-1234567",
        "××县文化体育局2026年7月6日",
    ):
        assert "".join(expected.split()) in text, expected
    assert "投诉〔2026〕2号" not in text  # the revoked complaint is not published
    assert "根据有关规定" not in text  # a half-year has no consequences unless the rules say so
    assert "草稿" not in text


def test_year_notice_names_the_combination_and_the_consequences(tmp_path: Path) -> None:
    for combine, words in (("mean", "上、下半年各项比率的平均值"), ("pooled", "两次测评票数合计后计算的比率")):
        result = year_result(combine)
        text = pdf_text(write_notice(tmp_path / f"{combine}.pdf", result, DETAILS))
        assert f"全年按{words}评定" in text
        assert "关于××县文化体育局2026年度“双评双比”满意度测评结果的公示" in text
        assert "2026年上半年发出测评票20张，收回20张" in text and "2026年下半年发出测评票10张，收回10张" in text
        named = {
            grade: "、".join(u.unit for u in ordered_units(result.units) if u.grade == grade)
            for grade in ("满意", "不满意")
        }
        assert named["满意"] == "局机关" and "文化馆" in named["不满意"]  # 文化馆 by the veto
        assert (
            f"根据有关规定，年度评为满意的单位（{named['满意']}），推荐由县委、县政府通报表彰；"
            f"年度评为不满意的单位（{named['不满意']}），由局党委给予通报批评，并对单位主要负责人进行问责。"
        ) in text
        assert "文化馆：一票否决（安全生产，县安委〔2026〕5号，县安委会，2026-10-08），年度等次由" in text
    mean = next(unit for unit in year_result("mean").units if unit.unit == "文化馆")
    pooled = next(unit for unit in year_result("pooled").units if unit.unit == "文化馆")
    assert mean.rates.score != pooled.rates.score  # the flag changes the numbers, not only the words


def test_refused_while_pending_unless_a_draft(tmp_path: Path) -> None:
    pending = session_result(marks={**STANDARD, "文化馆": "?" + STANDARD["文化馆"][1:]})
    with pytest.raises(ReportRefused, match="尚有 1 行待复核"):
        write_notice(tmp_path / "n.pdf", pending, DETAILS)
    assert not (tmp_path / "n.pdf").exists()
    path = write_notice(tmp_path / "d.pdf", pending, DETAILS, draft=True)
    document = pdfium.PdfDocument(path)
    for index in range(len(document)):
        assert "草稿（待复核）" in document[index].get_textpage().get_text_range()
    assert "（2026H1尚有1行待复核）" in pdf_text(path)
    assert document.get_metadata_dict()["Title"].startswith("草稿（待复核）")


def char_span(text: pdfium.PdfTextPage, index: int, count: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in points around ``count`` characters from ``index``."""
    boxes = [text.get_charbox(i) for i in range(index, index + count)]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def test_pages_look_like_a_notice(tmp_path: Path) -> None:
    """Rendered: the title centred on the page, and a blank area above the issuer for the seal."""
    document = pdfium.PdfDocument(write_notice(tmp_path / "n.pdf", session_result(), DETAILS))
    width = document[0].get_width()
    first = document[0].get_textpage()
    title = first.search("关于××县").get_next()
    assert title is not None
    baseline = first.get_charbox(title[0], loose=True)[1]
    count = 0  # the characters of the title's first line: on its baseline
    while abs(first.get_charbox(title[0] + count, loose=True)[1] - baseline) < 2:
        count += 1
    left, _, right, _ = char_span(first, title[0], count)
    assert count > 10 and abs((left + right) / 2 - width / 2) < 3 * MM  # centred
    last = document[len(document) - 1]
    text = last.get_textpage()
    searcher, issuer = text.search("××县文化体育局"), None
    while (hit := searcher.get_next()) is not None:
        issuer = hit  # the last on the page is the signature's
    assert issuer is not None
    left, _, right, top = char_span(text, *issuer)
    assert right < width - 20 * MM and left > width / 2  # at the right, inside the margin
    scale = 4.0
    image = np.asarray(last.render(scale=scale, grayscale=True).to_pil().convert("L"))
    height, centre = image.shape[0], (left + right) / 2
    seal = image[
        round(height - (top + 19 * MM) * scale) : round(height - (top + 1 * MM) * scale),
        round((centre - 21 * MM) * scale) : round((centre + 21 * MM) * scale),
    ]
    assert seal.size and seal.min() > 200  # 42 mm wide and 18 mm high above the issuer: nothing printed


def test_notice_command(runner: CliRunner, session_store: Store, db_path: Path, tmp_path: Path) -> None:
    db = ["--db", str(db_path)]
    out = tmp_path / "公示.pdf"
    result = runner.invoke(main, ["notice", "--session", "2026H1", "-o", str(out), "--date", "2026-07-06", *db])
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "监督电话：＿＿＿＿" in text and "未给监督电话" in result.stderr  # a line to fill in, and a warning
    assert "未登记实到人数" in result.stderr and "名代表" not in text  # never a number that was not recorded
    assert "××县文化体育局2026年7月6日" in text  # the issuer defaults to the organisation on the ballots
    refused = runner.invoke(main, ["notice", "--session", "2026H2", "-o", str(tmp_path / "h2.pdf"), *db])
    assert refused.exit_code == 2 and "2026H2 尚有 1 行待复核" in refused.output
    drafted = runner.invoke(main, ["notice", "--year", "2026", "--combine", "pooled", "-o", str(tmp_path / "y.pdf"),
                                   "--draft", "--phone", "1", *db])  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    assert "两次测评票数合计后计算的比率" in pdf_text(tmp_path / "y.pdf")
    wrong = runner.invoke(main, ["notice", "--session", "2026H1", "--combine", "mean", "-o", str(out), *db])
    assert wrong.exit_code == 64 and "--combine 只用于年度汇总" in wrong.output
    bad_date = runner.invoke(main, ["notice", "--session", "2026H1", "-o", str(out), "--date", "7月6日", *db])
    assert bad_date.exit_code == 64 and "不是日期" in bad_date.output
    english = runner.invoke(main, ["--lang", "en", "notice", "--session", "2026H2", "-o", str(out), *db])
    assert (
        english.exit_code == 2
        and "no final notice" in english.output
        and "2026H2: 1 rows await review" in english.output
    )
    assert "note: no 监督电话 given" in english.stderr
