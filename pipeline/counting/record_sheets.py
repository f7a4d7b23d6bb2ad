"""The workbook's record sheets, as rows of values: 复核记录 (every review decision), 未计入的页 (internal: every
page scanned and not counted) and 投诉与否决 (override records). :mod:`.report` lays each out the same way:
title, an optional banner, a header repeated on every printed page, one row per record, A4 landscape.

Times are stored in UTC and written in the office's zone (:mod:`pipeline.common.clock`), to the second, in a
column wide enough for them on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from pipeline.common.clock import local_time
from pipeline.counting.rules import KIND_LABELS, Override

REVIEW_HEADER = tuple(["序号", "期间", "票号", "单位", "机器读数", "复核决定", "复核人", "复核时间"])
REVIEW_WIDTHS = (6, 9, 13, 20, 30, 20, 10, 20)
UNCOUNTED_HEADER = tuple(["序号", "期间", "文件", "页", "票号", "结果", "原因", "处理", "复核人", "复核时间"])
UNCOUNTED_WIDTHS = (5, 8, 16, 4, 11, 11, 36, 16, 8, 20)
# Ten columns that fit A4 landscape at about full size (thirteen printed at two thirds): a veto's area goes with
# its kind, a revocation's time and reason with its state.
OVERRIDE_HEADER = tuple(["编号", "单位", "期间", "类型", "文号", "决定机关", "决定日期", "说明", "录入时间", "状态"])
OVERRIDE_WIDTHS = (5, 14, 7, 14, 16, 11, 11, 22, 20, 22)


@dataclass(frozen=True)
class ReviewRecord:
    """One review decision as the 复核记录 sheet lists it (the review stage provides these)."""

    session: str
    serial: str
    unit: str
    machine_reading: str  # e.g. 存疑：标记不清（淡、小或擦除痕迹）, or 满意 for a row the machine was sure of
    decision: str  # e.g. 满意, 弃权, 无效, 更正为 不满意
    reviewer: str
    decided_at: str  # ISO 8601 UTC, as stored


@dataclass(frozen=True)
class UncountedPage:
    """A page scanned for a round and not counted, as the internal sheet 未计入的页 lists it (the store provides
    these): ``page_no`` 0 for a file that could not be opened; ``settled`` once a clerk decided about a page the
    machine rejected (a blank page or an unopenable file needs no decision)."""

    session: str
    source: str  # the file's name
    page_no: int
    serial: str
    outcome: str  # in words, e.g. 重复（复印或重扫）
    reason: str  # in words
    settled: bool = False
    decision: str = ""  # in words, e.g. 确认不计入, 作废（署名）
    reviewer: str = ""
    decided_at: str = ""  # ISO 8601 UTC, as stored; '' without a decision


@dataclass(frozen=True)
class RecordSheet:
    """One record sheet's content: its name, the title's end, header and column widths, the rows, what to say
    when there is none, and a banner above the table ('' for none)."""

    name: str
    title: str
    header: tuple[str, ...]
    widths: tuple[float, ...]
    rows: tuple[tuple[object, ...], ...]
    empty: str
    banner: str = ""


def review_sheet(reviews: Sequence[ReviewRecord], zone: tzinfo) -> RecordSheet:
    rows = tuple(
        (index, r.session, r.serial, r.unit, r.machine_reading, r.decision, r.reviewer, local_time(r.decided_at, zone))
        for index, r in enumerate(reviews, start=1)
    )
    return RecordSheet("复核记录", "复核记录", REVIEW_HEADER, REVIEW_WIDTHS, rows, "（无复核记录）")


def uncounted_sheet(pages: Sequence[UncountedPage], zone: tzinfo) -> RecordSheet:
    """Pages not counted; a banner while any waits for a clerk (a final report is refused till then)."""
    rows = tuple(
        (
            index,
            page.session,
            page.source,
            page.page_no or "",
            page.serial,
            page.outcome,
            page.reason,
            page.decision if page.settled else "待处理",
            page.reviewer,
            local_time(page.decided_at, zone) if page.decided_at else "",
        )
        for index, page in enumerate(pages, start=1)
    )
    unsettled = sum(not page.settled for page in pages)
    banner = f"尚有 {unsettled} 页未处理（复核页“未计入的页”）：处理之前不能出正式报告。" if unsettled else ""
    empty = "（扫描的页全部计入）"
    return RecordSheet("未计入的页", "未计入的页（内部）", UNCOUNTED_HEADER, UNCOUNTED_WIDTHS, rows, empty, banner)


def override_sheet(overrides: Sequence[Override], zone: tzinfo) -> RecordSheet:
    """Every override record, revoked ones included, oldest first."""
    rows = []
    for override in sorted(overrides, key=lambda o: o.id):
        request = override.request
        kind = KIND_LABELS[request.kind] + (f"（{request.area}）" if request.area else "")
        state = "有效"
        if not override.active:
            state = f"已撤销（{local_time(override.revoked_at or '', zone)}，{override.revoke_reason or ''}）"
        rows.append(
            (
                override.id,
                request.unit,
                request.period,
                kind,
                request.ref,
                request.authority,
                request.date,
                request.note,
                local_time(override.created_at, zone),
                state,
            )
        )
    empty = "（无投诉查实或一票否决记录）"
    return RecordSheet("投诉与否决", "投诉查实与一票否决", OVERRIDE_HEADER, OVERRIDE_WIDTHS, tuple(rows), empty)
