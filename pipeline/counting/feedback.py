"""Feedback: one letter per unit with every comment written for it, and an index of how many each received.

The meeting collects the public's opinions (征求群众意见) and each unit must rectify and report back
(整改落实，整改情况要向群众反馈). The 意见建议 cells are kept only as images (handwriting is never OCR'd):
the letters show them as they were written, cut from the stored pages by the review room, headed by the
unit's counts. Anonymity: the cells of each unit are put in an order drawn from the operating system's
random source (:mod:`secrets`), so that neither the order of the stack nor of the scan can be read back, and
nothing in a letter — text or metadata — names a sheet, a page or a file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.ballot.template import period_label
from pipeline.common.imaging import Gray
from pipeline.counting.report import DRAFT, ReportRefused, percent_text
from pipeline.counting.tally import SessionTally, UnitResult
from pipeline.counting.typeset import WIDTH, Document

COUNT_HEADER = ("有效票", "满意", "基本满意", "不满意", "满意率", "综合满意率", "等次", "名次")
INDEX_HEADER = ("序号", "单位名称", "序列", "意见建议（条）")
INDEX_NAME = "00-意见建议汇总.pdf"
#: Printed width of a comment cell: its 78 mm, enlarged so that a hurried hand is easy to read.
COMMENT_WIDTH_MM = WIDTH


@dataclass(frozen=True)
class CommentSummary:
    """What was looked at to collect the comments, for the index (the review room counts these)."""

    sheets: int  # counted sheets whose comment cells were cut out
    empty: int  # cells left out as empty
    on_paper: int  # counted sheets whose cells could not be cut (counted by hand, or no image kept): read the paper
    voided: int  # sheets voided by a clerk (identifying marks): their comments are not passed on
    has_cells: bool = True  # the template prints a 意见建议 cell per row


def shuffled(comments: Sequence[Gray]) -> list[Gray]:
    """``comments`` in an order drawn from the OS's random source (the page order must not show through)."""
    order = list(comments)
    secrets.SystemRandom().shuffle(order)
    return order


def write_feedback(
    folder: Path,
    tally: SessionTally,
    comments: Mapping[str, Sequence[Gray]],
    summary: CommentSummary,
    *,
    draft: bool = False,
) -> list[Path]:
    """One PDF per unit (``NN-单位.pdf``, in template order) and the index; returns the files, index first.

    Refused like the workbook while rows are pending or the round is void, unless ``draft`` (then marked)."""
    blockers = tally.final_blockers()
    if blockers and not draft:
        raise ReportRefused(blockers)
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / INDEX_NAME
    index.write_bytes(index_pdf(tally, comments, summary, draft=draft))
    written = [index]
    for number, unit in enumerate(tally.units, start=1):
        path = folder / f"{number:02d}-{_file_name(unit.unit)}.pdf"
        path.write_bytes(letter_pdf(tally, unit, shuffled(comments.get(unit.unit, ())), draft=draft))
        written.append(path)
    return written


def heading(tally: SessionTally) -> str:
    return f"{tally.organisation or ''}{period_label(tally.session)}“双评双比”满意度测评意见建议反馈"


def letter_pdf(tally: SessionTally, unit: UnitResult, comments: Sequence[Gray], *, draft: bool = False) -> bytes:
    """One unit's letter: its counts, then every comment cell in the order given (shuffle first)."""
    document = Document(f"{unit.unit} · 意见建议反馈", draft=DRAFT if draft else None)
    document.title(heading(tally))
    group = f"（{unit.group}）" if unit.group and unit.group != unit.unit else ""
    document.line(f"单位：{unit.unit}{group}", bold=True)
    document.space(1)
    counts = unit.counts
    row = [str(unit.valid), str(counts.satisfied), str(counts.basic), str(counts.unsatisfied),
           percent_text(unit.rates.satisfied), percent_text(unit.rates.score), unit.grade or "—",
           str(unit.rank or "—")]  # fmt: skip
    document.table(COUNT_HEADER, [row], (18, 14, 18, 16, 20, 22, 16, 12))
    others = f"另有不了解{counts.dont_know}票、弃权{counts.abstained}票、无效{counts.invalid}票"
    document.line(others + (f"、待复核{counts.pending}票（票数尚未确定）" if counts.pending else "") + "。", size=10.5)
    if unit.remarks:  # a verified complaint or no valid votes: why the grade is what it is
        document.line(f"备注：{'；'.join(unit.remarks)}。", size=10.5)
    document.space(2)
    if comments:
        document.paragraph(
            f"本次测评中，群众对你单位书写意见建议{len(comments)}条，现将手写原件影像（按随机顺序排列）反馈如下。"
            "请认真研究，逐条整改落实，并将整改情况向群众反馈。"
        )
        for number, pixels in enumerate(comments, start=1):
            document.image(pixels, COMMENT_WIDTH_MM, label=str(number))
    else:
        document.paragraph("本次测评中，群众没有对你单位书写意见建议。")
    return document.output()


def index_pdf(
    tally: SessionTally, comments: Mapping[str, Sequence[Gray]], summary: CommentSummary, *, draft: bool = False
) -> bytes:
    """The index (internal): comments per unit, and what was looked at, left out, or must be read on paper."""
    document = Document("意见建议汇总", draft=DRAFT if draft else None)
    document.title(heading(tally) + " · 汇总")
    rows = [
        [str(number), unit.unit, unit.group, str(len(comments.get(unit.unit, ())))]
        for number, unit in enumerate(tally.units, start=1)
    ]
    total = sum(len(cells) for cells in comments.values())
    rows.append(["", "合计", "", str(total)])
    document.table(INDEX_HEADER, rows, (14, 70, 40, 36))
    for note in index_notes(summary, total):
        document.paragraph(note)
    return document.output()


def index_notes(summary: CommentSummary, total: int) -> list[str]:
    """What the index says under its table: how the cells were collected and what a clerk must still do."""
    if not summary.has_cells:
        return ["本测评票没有意见建议栏，无可反馈的意见建议。"]
    notes = [
        f"共查看计入统计的测评票{summary.sheets}张的意见建议栏，有书写的{total}栏已按单位反馈；"
        f"空白的{summary.empty}栏未反馈（按栏内笔迹自动判定，手写内容不作文字识别）。"
    ]
    if summary.on_paper:
        notes.append(
            f"人工录入（或未存影像）的测评票{summary.on_paper}张无法自动裁取意见建议栏，请查看纸质原件后补充反馈。"
        )
    if summary.voided:
        notes.append(f"经复核作废的测评票{summary.voided}张，其意见建议不予反馈。")
    notes.append("各单位的反馈函只含本单位的意见建议，不含票号、页码或文件名。")
    return notes


def _file_name(unit: str) -> str:
    """A unit's name as a file name: characters a file system refuses become '_'."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", unit).strip(" .") or "unit"
