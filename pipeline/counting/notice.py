"""Notice: the public notice (公示) of a round's or a year's result, as a printable A4 PDF.

Results are published for the public to see and to object to (向社会公布，接受干部群众和社会监督). The notice
says how the evaluation was done (the meeting, how many took part, ballots issued / returned / valid, the
grading method in words), gives the result table of each peer group (序列), the verified complaints and
vetoes and what they changed, what the grades lead to where the rules say so, the period of the notice and
the telephone for objections, and ends with the issuer and the date, with room for the seal. Nothing in it is
typed by hand: every number comes from the tally. Like the workbook it is refused while rows are pending or
the round is void (:class:`~pipeline.counting.report.ReportRefused`), unless it is a draft.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.ballot.template import period_label
from pipeline.counting.consequences import actions
from pipeline.counting.report import DRAFT, ReportRefused, method_text, ordered_units, percent_text
from pipeline.counting.rules import GRADES
from pipeline.counting.tally import NO_CATEGORY, SessionTally, UnitResult, YearTally, YearUnit
from pipeline.counting.typeset import LINE_MM, SIGNATURE_MM, Document, chinese_date

Result = SessionTally | YearTally
NUMERALS = "一二三四五六七八九十"
SESSION_HEADER = ("序号", "单位名称", "有效票", "满意", "基本满意", "不满意", "满意率", "综合满意率", "等次",
                  "名次")  # fmt: skip
SESSION_WIDTHS = (10, 30, 14, 11, 17, 14, 17, 21, 17, 10)
YEAR_HEADER = ("序号", "单位名称", "上半年综合满意率", "下半年综合满意率", "全年满意率", "全年综合满意率", "等次",
               "名次")  # fmt: skip
YEAR_WIDTHS = (10, 34, 20, 20, 17, 20, 17, 10)
BLANK_PHONE = "＿＿＿＿＿＿＿＿＿＿"


@dataclass(frozen=True)
class NoticeDetails:
    """What the office adds to the tally: who issues the notice, from when, for how long, where to object."""

    issuer: str  # 落款, e.g. ××县文化体育局
    date: datetime.date  # first day of the notice, printed above the seal
    days: int = 5  # 公示期, working days
    phone: str | None = None  # 监督电话; None leaves a line to fill in by hand
    doc_no: str | None = None  # 文号, e.g. 文体〔2026〕15号


def write_notice(path: Path, result: Result, details: NoticeDetails, *, draft: bool = False) -> Path:
    """Write the notice; refuses a final one while anything blocks a final report (see the module doc)."""
    blockers = result.final_blockers()
    if blockers and not draft:
        raise ReportRefused(blockers)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(notice_pdf(result, details, draft=draft))
    return path


def notice_title(result: Result, issuer: str) -> str:
    period = f"{result.year}年度" if isinstance(result, YearTally) else period_label(result.session)
    return f"关于{result.organisation or issuer}{period}“双评双比”满意度测评结果的公示"


def notice_pdf(result: Result, details: NoticeDetails, *, draft: bool = False) -> bytes:
    """The notice as PDF bytes (see the module doc for what it holds)."""
    title = notice_title(result, details.issuer)
    document = Document(f"{DRAFT}{title}" if draft else title, draft=DRAFT if draft else None)
    if details.doc_no:
        document.line(details.doc_no, align="C")
        document.space(2)
    document.title(title)
    for blocker in result.final_blockers() if draft else ():
        document.line(f"（{blocker}）", align="C", size=10.5)
    for paragraph in how_it_was_done(result, details.issuer):
        document.paragraph(paragraph)
    document.paragraph(method_text(result))
    document.paragraph("现将测评结果公示如下：")
    groups = list(dict.fromkeys(unit.group for unit in result.units))
    year = isinstance(result, YearTally)
    for index, group in enumerate(groups):
        units = [unit for unit in ordered_units(result.units) if unit.group == group]
        label = f"（{NUMERALS[index]}）{group}" if index < len(NUMERALS) else group
        document.line(f"{label}（{len(units)}个）", bold=True)
        rows = [_year_row(n, unit) if year else _session_row(n, unit) for n, unit in enumerate(units, start=1)]
        document.table(YEAR_HEADER if year else SESSION_HEADER, rows, YEAR_WIDTHS if year else SESSION_WIDTHS)
    notes = remarks(result)
    if notes:
        document.line("说明：", bold=True)
        for number, note in enumerate(notes, start=1):
            document.paragraph(f"{number}. {note}")
    consequence = consequences_sentence(result)
    if consequence:
        document.paragraph(consequence)
    # The closing paragraphs stay on the page with the signature (a signature alone on a page is not signed).
    document.need(4 * LINE_MM + SIGNATURE_MM)
    document.paragraph(
        f"公示期为{details.days}个工作日（自{chinese_date(details.date)}起）。公示期间，干部群众如对测评结果有异议，"
        f"可通过来电、来信、来访等方式向{details.issuer}反映。"
    )
    document.paragraph(f"监督电话：{details.phone or BLANK_PHONE}")
    document.signature(details.issuer, details.date)
    return document.output()


def how_it_was_done(result: Result, issuer: str) -> list[str]:
    """The opening paragraphs: the meeting, who took part, the units rated, ballots issued, returned, valid."""
    units = _units_text(result.units)
    if isinstance(result, YearTally):
        halves = "；".join(_ballots_text(half, period_label(half.session)) for half in result.halves)
        return [f"{result.year}年上、下半年，{issuer}分两次组织召开“双评双比”满意度测评会议，以无记名投票方式"
                f"对{units}进行了满意度测评。{halves}。"]  # fmt: skip
    return [
        f"{period_label(result.session)}，{issuer}组织召开“双评双比”满意度测评会议，{_who(result)}以无记名投票方式"
        f"对{units}进行了满意度测评。{_ballots_text(result, '本次测评')}。"
    ]


def _who(tally: SessionTally) -> str:
    categories = "、".join(category for category in tally.categories if category != NO_CATEGORY)
    attended = tally.facts.attended
    if attended is not None:
        return f"{attended}名代表{f'（{categories}）' if categories else ''}参加测评，"
    return f"{categories}参加测评，" if categories else ""


def _ballots_text(tally: SessionTally, label: str) -> str:
    issued = f"发出测评票{tally.facts.issued}张，" if tally.facts.issued is not None else ""
    return f"{label}{issued}收回{tally.returned}张，其中有效{tally.valid_ballots}张、作废{tally.void_ballots}张"


def _units_text(units: Sequence[UnitResult | YearUnit]) -> str:
    groups = list(dict.fromkeys(unit.group for unit in units))
    if len(groups) == 1:
        return f"{len(units)}个单位"
    counts = "、".join(f"{group}{sum(unit.group == group for unit in units)}个" for group in groups)
    return f"{len(units)}个单位（{counts}）"


def _session_row(number: int, unit: UnitResult) -> list[str]:
    counts = unit.counts
    return [str(number), unit.unit, str(unit.valid), str(counts.satisfied), str(counts.basic),
            str(counts.unsatisfied), percent_text(unit.rates.satisfied), percent_text(unit.rates.score),
            unit.grade or "—", str(unit.rank or "—")]  # fmt: skip


def _year_row(number: int, unit: YearUnit) -> list[str]:
    first, second = (percent_text(half.rates.score) if half else "—" for half in unit.halves)
    return [str(number), unit.unit, first, second, percent_text(unit.rates.satisfied),
            percent_text(unit.rates.score), unit.grade or "—", str(unit.rank or "—")]  # fmt: skip


def remarks(result: Result) -> list[str]:
    """One note per unit with remarks (complaints, vetoes, no valid votes), saying what changed its grade."""
    period = "年度" if isinstance(result, YearTally) else "本期"
    notes = []
    for unit in ordered_units(result.units):
        if not unit.remarks:
            continue
        note = f"{unit.unit}：{'；'.join(unit.remarks)}"
        if unit.grade != unit.computed_grade:
            note += f"，{period}等次由{unit.computed_grade or '不评定'}改评为{unit.grade}"
        notes.append(note + "。")
    return notes


def consequences_sentence(result: Result) -> str:
    """What the grades lead to, naming the units (empty when the rules attach nothing to this result)."""
    period = "年度" if isinstance(result, YearTally) else "本期"
    parts = []
    for grade, action in sorted(actions(result).items(), key=lambda item: GRADES.index(item[0])):
        names = [unit.unit for unit in ordered_units(result.units) if unit.grade == grade]
        if names:
            parts.append(f"{period}评为{grade}的单位（{'、'.join(names)}），{action}")
    return f"根据有关规定，{'；'.join(parts)}。" if parts else ""
