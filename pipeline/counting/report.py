"""Report: a tally → the result workbook the bureau publishes (xlsxwriter), a CSV, or a text table.

A session workbook has the sheets 测评结果 (for publication, print-ready on A4 landscape), 票数明细 (every
count, by voter category), 复核记录 (the review decisions passed in), 未计入的页 (internal: every page scanned
and not counted, with its reason and how it was settled), 投诉与否决 (override records, revoked ones included)
and 综合满意率图 (a native bar chart). A year workbook has 年度测评结果 with both halves and the year's score and
grade instead of 测评结果, and the 票数明细 of each half. No final report is written while a round is void, rows
are pending or pages unsettled (:class:`ReportRefused`); a draft is marked 草稿（待复核） on every sheet. Rates
are written as numbers with a % format; undefined rates as "—". Times are stored in UTC and written in the
office's zone (:mod:`pipeline.common.clock`); every sheet prints 第 N 页 共 M 页.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from datetime import tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pipeline.ballot.template import period_label
from pipeline.common.clock import local_date, office_zone
from pipeline.counting.consequences import action_of, actions, proposals
from pipeline.counting.record_sheets import (
    RecordSheet,
    ReviewRecord,
    UncountedPage,
    override_sheet,
    review_sheet,
    uncounted_sheet,
)
from pipeline.counting.rules import GRADES, describe
from pipeline.counting.tally import Counts, SessionTally, UnitResult, YearTally, YearUnit, rates_of


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


DRAFT = "草稿（待复核）"
UNDEFINED = "—"
PERCENT = "0.00%"
BANNER = {"bold": True, "font_size": 13, "font_color": "#C00000", "bg_color": "#FFE5E5", "border": 2, "text_wrap": True}
GRADE_COLOURS = {"满意": ("#C6EFCE", "#006100"), "基本满意": ("#FFEB9C", "#9C5700"), "不满意": ("#FFC7CE", "#9C0006")}
PUBLIC_HEADER = _columns("序号 单位名称 有效票 满意 基本满意 不满意 满意率 综合满意率 等次 名次 备注")
PUBLIC_WIDTHS = (5, 24, 8, 7, 9, 7, 9, 11, 9, 6, 40)
YEAR_HEADER = _columns(
    "序号 单位名称 上半年综合满意率 上半年等次 下半年综合满意率 下半年等次 全年满意率 全年综合满意率 全年等次 名次 备注"
)
YEAR_WIDTHS = (5, 24, 11, 9, 11, 9, 9, 11, 9, 6, 44)
DETAIL_HEADER = _columns(
    "序号 单位名称 序列 测评人类别 满意 基本满意 不满意 不了解 弃权 无效 待复核 有效票 "
    "满意率 满意和基本满意率 不满意率 综合满意率 计算等次 最终等次 名次"
)
DETAIL_WIDTHS = (5, 22, 10, 14, 7, 9, 7, 7, 7, 7, 7, 8, 9, 10, 9, 11, 9, 9, 6)
ACTION_HEADER, ACTION_WIDTH = "处理意见", 34.0
PROPOSAL_HEADER = _columns("序号 单位名称 序列 等次 综合满意率 满意率 名次 依据 处理意见")
PROPOSAL_WIDTHS = (5, 22, 10, 9, 11, 9, 6, 40, 40)
# A cell that starts so is a formula to Excel (CSV injection): written with a leading apostrophe, as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ReportRefused(Exception):  # noqa: N818 - an outcome the clerk sees
    """A final report was asked for while the round is void or rows are pending; ``reasons`` says which."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = tuple(reasons)


Result = SessionTally | YearTally


def write_report(
    path: Path,
    result: Result,
    *,
    reviews: Sequence[ReviewRecord] = (),
    uncounted: Sequence[UncountedPage] = (),
    draft: bool = False,
    file_format: Literal["xlsx", "csv"] = "xlsx",
    zone: tzinfo | None = None,
) -> Path:
    """Write the workbook (or the CSV of the publication table); refuses a final one while anything blocks it.
    Times are written in ``zone`` (default: the office's, :func:`pipeline.common.clock.office_zone`)."""
    blockers = result.final_blockers()
    if blockers and not draft:
        raise ReportRefused(blockers)
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        _write_csv(path, result, draft)
    else:
        _Workbook(path, result, reviews, uncounted, draft, zone or office_zone()).write()
    return path


def csv_cell(value: object) -> object:
    """A value as a CSV cell Excel shows as it is: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def percent_text(value: Fraction | None) -> str:
    """2/3 → '66.67%' rounded half up (四舍五入), None → '—'."""
    if value is None:
        return UNDEFINED
    hundredths = int((value * 20000 + 1) // 2)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def title_of(result: Result) -> str:
    organisation = result.organisation or ""
    period = f"{result.year}年度" if isinstance(result, YearTally) else period_label(result.session)
    return f"{organisation}{period}“双评双比”满意度测评结果"


def facts_sentence(tally: SessionTally) -> str:
    issued = f"发出测评票{tally.facts.issued}张" if tally.facts.issued is not None else "发出票数未登记"
    return (
        f"{period_label(tally.session)}：{issued}，收回{tally.returned}张，其中有效{tally.valid_ballots}张、"
        f"作废{tally.void_ballots}张，回收率{percent_text(tally.return_rate)}。"
    )


def ordered_units(units: Sequence[UnitResult | YearUnit]) -> list[Any]:
    """Units grouped by class (in template order), best rank first, unranked last, ties in template order."""
    group_order = list(dict.fromkeys(unit.group for unit in units))
    position = {unit.unit: index for index, unit in enumerate(units)}

    def key(unit: UnitResult | YearUnit) -> tuple[int, bool, int, int]:
        return (group_order.index(unit.group), unit.rank is None, unit.rank or 0, position[unit.unit])

    return sorted(units, key=key)


def public_rows(result: Result) -> list[list[object]]:
    """The publication table as values (rates as Fractions, undefined as None), in print order."""
    rows: list[list[object]] = []
    acting = bool(actions(result))
    for index, unit in enumerate(ordered_units(result.units), start=1):
        tail = [unit.grade, unit.rank, "；".join(unit.remarks), *([action_of(result, unit)] if acting else [])]
        if isinstance(unit, UnitResult):
            counts = unit.counts.as_tuple()[:3]
            rows.append([index, unit.unit, unit.valid, *counts, unit.rates.satisfied, unit.rates.score, *tail])
        else:
            first, second = unit.halves
            halves = [_score(first), _grade(first), _score(second), _grade(second)]
            rows.append([index, unit.unit, *halves, unit.rates.satisfied, unit.rates.score, *tail])
    return rows


def public_header(result: Result) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Columns and widths of the publication table: a 处理意见 column where the rules attach actions to grades."""
    header, widths = (YEAR_HEADER, YEAR_WIDTHS) if isinstance(result, YearTally) else (PUBLIC_HEADER, PUBLIC_WIDTHS)
    if actions(result):
        return (*header, ACTION_HEADER), (*widths, ACTION_WIDTH)
    return header, widths


def method_text(result: Result) -> str:
    """评定方法 under the table: the rules in words, with how the counted templates' options were read."""
    halves = result.halves if isinstance(result, YearTally) else (result,)
    scales = [half.scale for half in halves if half.scale is not None]
    return describe(result.rules, year=isinstance(result, YearTally), scales=scales)


def _score(half: UnitResult | None) -> Fraction | None:
    return half.rates.score if half else None


def _grade(half: UnitResult | None) -> str | None:
    return half.grade if half else None


def _write_csv(path: Path, result: Result, draft: bool) -> None:
    header = public_header(result)[0]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        if draft:
            writer.writerow([DRAFT, *result.final_blockers()])
        writer.writerow([*header, "序列"])
        groups = {unit.unit: unit.group for unit in result.units}
        for row in public_rows(result):
            writer.writerow([csv_cell(_text(value)) for value in [*row, groups[str(row[1])]]])


def _text(value: object) -> object:
    if isinstance(value, Fraction):
        return percent_text(value)
    return UNDEFINED if value is None else value


class _Workbook:
    """Builds one workbook; each ``_sheet_*`` method writes one worksheet."""

    def __init__(
        self,
        path: Path,
        result: Result,
        reviews: Sequence[ReviewRecord],
        uncounted: Sequence[UncountedPage],
        draft: bool,
        zone: tzinfo,
    ) -> None:
        import xlsxwriter

        self.result = result
        self.reviews = reviews
        self.uncounted = uncounted
        self.draft = draft
        self.zone = zone
        self.book = xlsxwriter.Workbook(
            str(path), {"default_format_properties": {"font_name": "宋体", "font_size": 11}}
        )
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        cell = {**base, "border": 1, "align": "center"}
        self.fmt = {
            "title": self.book.add_format({**base, "bold": True, "font_size": 16, "align": "center"}),
            "draft": self.book.add_format({**base, "bold": True, "font_size": 14, "font_color": "#C00000"}),
            "banner": self.book.add_format({**base, **BANNER}),
            "head": self.book.add_format({**cell, "bold": True, "bg_color": "#D9E1F2", "text_wrap": True}),
            "group": self.book.add_format({**cell, "bold": True, "align": "left", "bg_color": "#F2F2F2"}),
            "int": self.book.add_format(cell),
            "text": self.book.add_format({**cell, "align": "left", "text_wrap": True, "indent": 1}),
            "pct": self.book.add_format({**cell, "num_format": PERCENT}),
            "note": self.book.add_format({**base, "text_wrap": True, "valign": "top"}),
        }
        for grade, (fill, font) in GRADE_COLOURS.items():
            self.fmt[grade] = self.book.add_format({**cell, "bold": True, "bg_color": fill, "font_color": font})

    def write(self) -> None:
        if isinstance(self.result, YearTally):
            self._public_sheet("年度测评结果", *public_header(self.result))
            for label, half in zip(("上半年", "下半年"), self.result.halves, strict=True):
                self._detail_sheet(f"{label}票数明细", half)
            overrides = self.result.overrides + self.result.halves[0].overrides + self.result.halves[1].overrides
        else:
            self._public_sheet("测评结果", *public_header(self.result))
            self._detail_sheet("票数明细", self.result)
            overrides = self.result.overrides
        if actions(self.result):
            self._proposal_sheet()
        self._record_sheet(review_sheet(self.reviews, self.zone))
        self._record_sheet(uncounted_sheet(self.uncounted, self.zone))
        self._record_sheet(override_sheet(overrides, self.zone))
        self._chart_sheet()
        self.book.close()

    # -- helpers shared by the sheets ---------------------------------------------------------------------

    def _sheet(self, name: str, widths: Sequence[float], title: str, *, landscape: bool = True) -> tuple[Any, int]:
        """A worksheet with column widths, page set-up, the draft mark and a title; returns (sheet, next row)."""
        sheet = self.book.add_worksheet(name)
        for column, width in enumerate(widths):
            sheet.set_column(column, column, width)
        sheet.set_paper(9)  # A4
        if landscape:
            sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.center_horizontally()
        sheet.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
        sheet.set_footer("&C第 &P 页 共 &N 页")
        row = 0
        if self.draft:
            sheet.set_header(f'&C&"宋体,Bold"&14{DRAFT}')
            sheet.merge_range(row, 0, row, len(widths) - 1, DRAFT, self.fmt["draft"])
            row += 1
        sheet.merge_range(row, 0, row, len(widths) - 1, title, self.fmt["title"])
        sheet.set_row(row, 30)
        return sheet, row + 1

    def _note(self, sheet: Any, row: int, columns: int, widths: Sequence[float], text: str, fmt: str = "note") -> int:
        """A merged paragraph across the table; the row is made tall enough for the wrapped text."""
        sheet.merge_range(row, 0, row, columns - 1, text, self.fmt[fmt])
        sheet.set_row(row, 16 * _lines(text, sum(widths[:columns])) + 4)
        return row + 1

    def _record(self, sheet: Any, row: int, values: Sequence[object], widths: Sequence[float]) -> int:
        """One row of a record list; tall enough for its longest wrapped cell."""
        for column, value in enumerate(values):
            self._value(sheet, row, column, value, "text" if column else "int")
        sheet.set_row(row, 15 * max(_lines(str(v), w) for v, w in zip(values, widths, strict=True)) + 5)
        return row + 1

    def _header(self, sheet: Any, row: int, header: Sequence[str]) -> int:
        sheet.write_row(row, 0, header, self.fmt["head"])
        sheet.set_row(row, 30)
        return row + 1

    def _value(self, sheet: Any, row: int, column: int, value: object, fmt: str = "int") -> None:
        if isinstance(value, Fraction):
            sheet.write_number(row, column, float(value), self.fmt["pct"])
        elif value is None:
            sheet.write_string(row, column, UNDEFINED, self.fmt["int"])
        elif value == "":
            sheet.write_blank(row, column, None, self.fmt[fmt])
        elif isinstance(value, int):
            sheet.write_number(row, column, value, self.fmt[fmt])
        elif value in GRADE_COLOURS and fmt == "int":  # a grade in a centred column; a vote in text stays plain
            sheet.write_string(row, column, str(value), self.fmt[str(value)])
        else:
            sheet.write_string(row, column, str(value), self.fmt[fmt])

    # -- the sheets ---------------------------------------------------------------------------------------

    def _public_sheet(self, name: str, header: Sequence[str], widths: Sequence[float]) -> None:
        result = self.result
        sheet, row = self._sheet(name, widths, title_of(result))
        for blocker in result.final_blockers():
            row = self._note(sheet, row, len(header), widths, blocker, "banner")
        header_row = row
        if isinstance(result, YearTally):
            for column, label in enumerate(header):
                if column in (0, 1) or column >= 9:
                    sheet.merge_range(row, column, row + 1, column, label, self.fmt["head"])
            for first, label in ((2, "上半年"), (4, "下半年")):
                sheet.merge_range(row, first, row, first + 1, label, self.fmt["head"])
            sheet.merge_range(row, 6, row, 8, "全年", self.fmt["head"])
            sheet.write_row(row + 1, 2, ("综合满意率", "等次") * 2 + ("满意率", "综合满意率", "等次"), self.fmt["head"])
            row += 2
        else:
            row = self._header(sheet, row, header)
        sheet.repeat_rows(header_row, row - 1)
        groups = {unit.unit: unit.group for unit in result.units}
        several_groups = len(set(groups.values())) > 1
        current = None
        for values in public_rows(result):
            group = groups[str(values[1])]
            if several_groups and group != current:
                sheet.merge_range(
                    row, 0, row, len(header) - 1, f"{group}（{_group_size(groups, group)}个）", self.fmt["group"]
                )
                row, current = row + 1, group
            texts = (1, header.index("备注"), len(header) - 1)
            for column, value in enumerate(values):
                self._value(sheet, row, column, value, "text" if column in texts else "int")
            sheet.set_row(row, max(20, *(15 * _lines(str(values[c]), widths[c]) + 5 for c in texts)))
            row += 1
        row += 1
        halves = result.halves if isinstance(result, YearTally) else (result,)
        for half in halves:
            row = self._note(sheet, row, len(header), widths, facts_sentence(half) + _attendance(half))
        method = method_text(result)
        row = self._note(sheet, row, len(header), widths, method)
        today = local_date(self.zone)  # the office's date, as the times on the other sheets
        self._note(
            sheet,
            row + 1,
            len(header),
            widths,
            f"制表：　　　　　　审核：　　　　　　监票：　　　　　　制表日期：{today}",
        )

    def _detail_sheet(self, name: str, tally: SessionTally) -> None:
        widths = DETAIL_WIDTHS
        sheet, row = self._sheet(name, widths, f"{title_of(tally)} · 票数明细（内部）")
        facts = tally.facts
        labels = ("发出", "收回", "有效", "作废", "回收率", "待复核", "应到", "实到")
        values = (
            facts.issued,
            tally.returned,
            tally.valid_ballots,
            tally.void_ballots,
            tally.return_rate,
            tally.pending_rows,
            facts.expected,
            facts.attended,
        )
        sheet.write_string(row + 1, 3, "本轮票数", self.fmt["head"])
        sheet.write_row(row, 4, labels, self.fmt["head"])
        for offset, fact in enumerate(values):
            self._value(sheet, row + 1, 4 + offset, fact)
        row += 3
        for reason in tally.void_reasons:
            row = self._note(sheet, row, len(widths), widths, f"本轮测评无效：{reason}", "banner")
        row = self._header(sheet, row, DETAIL_HEADER)
        sheet.repeat_rows(row - 1)
        sheet.freeze_panes(row, 2)
        for index, unit in enumerate(ordered_units(tally.units), start=1):
            lines: list[tuple[str, Counts]] = [("合计", unit.counts), *unit.by_category]
            for category, counts in lines:
                total = category == "合计"
                rates = unit.rates if total else rates_of(counts, tally.rules)
                head: list[object] = [index, unit.unit, unit.group, category] if total else ["", "", "", category]
                cells = [*head, *counts.as_tuple(), counts.valid(tally.rules), rates.satisfied, rates.positive]
                cells += [rates.unsatisfied, rates.score]
                if total:
                    cells += [unit.computed_grade, unit.grade, unit.rank]
                for column, value in enumerate(cells):
                    self._value(sheet, row, column, value, "text" if column in (1, 2, 3) else "int")
                row += 1

    def _record_sheet(self, records: RecordSheet) -> None:
        """A record sheet (:mod:`.record_sheets`): its header repeated on every printed page."""
        widths = records.widths
        sheet, row = self._sheet(records.name, widths, f"{title_of(self.result)} · {records.title}")
        if records.banner:
            row = self._note(sheet, row, len(widths), widths, records.banner, "banner")
        row = self._header(sheet, row, records.header)
        sheet.repeat_rows(row - 1)
        if not records.rows:
            sheet.merge_range(row, 0, row, len(widths) - 1, records.empty, self.fmt["text"])
        for values in records.rows:
            row = self._record(sheet, row, values, widths)

    def _proposal_sheet(self) -> None:
        """奖惩建议: the units whose grade leads to an action, best grade first, with what the grade rests on."""
        result, widths = self.result, PROPOSAL_WIDTHS
        sheet, row = self._sheet("奖惩建议", widths, f"{title_of(result)} · 奖惩建议")
        row = self._header(sheet, row, PROPOSAL_HEADER)
        sheet.repeat_rows(row - 1)
        order = {unit.unit: index for index, unit in enumerate(ordered_units(result.units))}
        listed = sorted(proposals(result), key=lambda p: (GRADES.index(p.grade), order[p.unit]))
        if not listed:
            sheet.merge_range(row, 0, row, len(widths) - 1, "（本期没有须处理的单位）", self.fmt["text"])
            row += 1
        for index, proposal in enumerate(listed, start=1):
            basis = "；".join(proposal.overrides) or "测评得票"
            if proposal.overrides and proposal.computed_grade != proposal.grade:
                basis += f"（按得票为{proposal.computed_grade or '不评定'}）"
            values = (index, proposal.unit, proposal.group, proposal.grade, proposal.score, proposal.satisfied,
                      proposal.rank, basis, proposal.action)  # fmt: skip
            for column, value in enumerate(values):
                self._value(sheet, row, column, value, "text" if column in (1, 2, 7, 8) else "int")
            sheet.set_row(row, 15 * max(_lines(basis, widths[7]), _lines(proposal.action, widths[8])) + 5)
            row += 1
        period = "年度" if isinstance(result, YearTally) else "本期"
        rule = "；".join(f"{period}评为{grade}的单位，{action}" for grade, action in actions(result).items())
        self._note(sheet, row + 1, len(widths), widths, f"依据计票规则「{result.rules.name}」：{rule}。")

    def _chart_sheet(self) -> None:
        widths = (24, 11, 3, *(10,) * 9)
        sheet, row = self._sheet("综合满意率图", widths, f"{title_of(self.result)} · 各单位综合满意率")
        name = "综合满意率图"
        row = self._header(sheet, row, ("单位名称", "综合满意率"))
        first = row
        points = []
        for unit in ordered_units(self.result.units):
            self._value(sheet, row, 0, unit.unit, "text")
            self._value(sheet, row, 1, unit.rates.score)
            fill = GRADE_COLOURS.get(unit.grade or "", ("#BFBFBF", ""))[0]
            points.append({"fill": {"color": fill}, "border": {"color": "#595959"}})
            row += 1
        chart = self.book.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": "综合满意率",
                "categories": [name, first, 0, row - 1, 0],
                "values": [name, first, 1, row - 1, 1],
                "points": points,
                "data_labels": {"value": True, "num_format": "0.0%"},
                "gap": 60,
            }
        )
        chart.set_title({"name": "各单位综合满意率（颜色为等次）", "name_font": {"size": 12}})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "major_gridlines": {"visible": True}})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        chart.set_size({"width": 9 * 75, "height": 70 + 28 * len(points)})
        sheet.insert_chart(first - 1, 3, chart)


def _lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide (CJK characters count double)."""
    return max(1, -(-_width(text) * 11 // int(width * 10)))


def _group_size(groups: dict[str, str], group: str) -> int:
    return sum(1 for value in groups.values() if value == group)


def _attendance(tally: SessionTally) -> str:
    facts = tally.facts
    if facts.expected is None and facts.attended is None:
        return ""
    return f"应到{facts.expected if facts.expected is not None else '—'}人，实到{facts.attended or 0}人。"


# -- plain text for the terminal -------------------------------------------------------------------------


def tally_table(tally: SessionTally, *, by_category: bool = False) -> str:
    """The tally as an aligned text table (CJK characters count double), with the round's facts."""
    header = (
        "单位名称",
        "满意",
        "基本满意",
        "不满意",
        "不了解",
        "弃权",
        "无效",
        "待复核",
        "有效票",
        "满意率",
        "综合满意率",
        "等次",
        "名次",
        "备注",
    )
    rows: list[tuple[str, ...]] = []
    for unit in ordered_units(tally.units):
        lines: list[tuple[str, Counts]] = [(unit.unit, unit.counts)]
        if by_category:
            lines += [(f"  · {category}", counts) for category, counts in unit.by_category]
        for label, counts in lines:
            rates = unit.rates if label == unit.unit else rates_of(counts, tally.rules)
            own = label == unit.unit
            rows.append(
                (
                    label,
                    *(str(n) for n in counts.as_tuple()[:6]),
                    str(counts.pending),
                    str(counts.valid(tally.rules)),
                    percent_text(rates.satisfied),
                    percent_text(rates.score),
                    (unit.grade or UNDEFINED) if own else "",
                    str(unit.rank or UNDEFINED) if own else "",
                    "；".join(unit.remarks) if own else "",
                )
            )
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    text = ["  ".join(_pad(cell, widths[i], i) for i, cell in enumerate(row)).rstrip() for row in (header, *rows)]
    text.insert(1, "-" * (sum(widths) + 2 * (len(widths) - 1)))
    text += ["", facts_sentence(tally) + _attendance(tally)]
    if tally.pending_rows:
        text.append(f"尚有 {tally.pending_rows} 行待复核：不能出正式报告（可用 --draft 出草稿）。")
    text += [f"本轮测评无效：{reason}" for reason in tally.void_reasons]
    return "\n".join(text)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, column: int) -> str:
    padding = " " * (width - _width(text))
    return text + padding if column in (0, 13) else padding + text
