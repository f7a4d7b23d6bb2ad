"""``ballot notice | feedback``: the office's documents after the count — the public notice and the letters
that pass each unit the comments written for it."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from pipeline.cli.common import db_option, fail, open_db, read_rules, rules_option, say, session_option, words, zone
from pipeline.cli.results import period_options, refused, result_of, tally_of

if TYPE_CHECKING:
    from pipeline.counting.feedback import CommentSummary

draft_option = click.option(
    "--draft",
    is_flag=True,
    help="Write even while rows are pending, pages unsettled or the round is void, marked 草稿（待复核）.",
)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime.date:
    if value is None:  # today in the office's zone, as the workbook's 制表日期 (the machine may keep UTC)
        from pipeline.common.clock import local_date

        return datetime.date.fromisoformat(local_date(zone()))
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(words("date_value", value=repr(value))) from None


@click.command("notice")
@period_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF to write.")
@click.option("--issuer", help="Who issues the notice (落款); default: the organisation printed on the ballots.")
@click.option(
    "--date", "day", callback=_date, help="First day of the notice, YYYY-MM-DD (default: today, in BALLOT_TZ)."
)
@click.option("--days", type=click.IntRange(1, 30), default=5, show_default=True, help="公示期 in working days.")
@click.option("--phone", help="监督电话 for objections (without it a line is left to fill in by hand).")
@click.option("--doc-no", help="文号 printed above the title, e.g. 文体〔2026〕15号.")
@draft_option
@rules_option
@db_option
def notice_command(
    session: str | None,
    year: str | None,
    combine: Literal["mean", "pooled"] | None,
    output: Path,
    issuer: str | None,
    day: datetime.date,
    days: int,
    phone: str | None,
    doc_no: str | None,
    draft: bool,
    rules_file: Path | None,
    db_path: Path | None,
) -> None:
    """Write the public notice (公示) of a round or a year as a printable A4 PDF.

    It says how the evaluation was done (meeting, representatives, ballots issued / returned / valid, the
    grading method), gives the result table of each 序列, the verified complaints and vetoes, what the grades
    lead to, the 公示期 and the 监督电话, and ends with the issuer and the date above room for the seal.
    Refused (exit status 2) while rows are pending review, a page the machine did not count is unsettled (see
    `ballot status`) or the round is void, unless --draft.

    \b
    Example:
      ballot notice --session 2026H1 -o 2026H1-公示.pdf --phone 0000-1234567 --doc-no 文体〔2026〕15号
      ballot notice --year 2026 --combine pooled -o 2026-年度公示.pdf --date 2027-01-10
    """
    from pipeline.common.fonts import FontMissing
    from pipeline.counting.notice import NoticeDetails, write_notice
    from pipeline.counting.report import ReportRefused
    from pipeline.counting.tally import SessionTally

    result = result_of(open_db(db_path), session, year, read_rules(rules_file), combine)
    signer = (issuer or result.organisation or "").strip()
    if not signer:
        raise click.UsageError(words("notice_no_issuer"))
    halves = (result,) if isinstance(result, SessionTally) else result.halves
    for half in halves:
        if half.facts.attended is None:
            say("notice_no_attended", err=True, session=half.session)
    if phone is None:
        say("notice_no_phone", err=True)
    details = NoticeDetails(signer, day, days, phone, doc_no)
    try:
        write_notice(output, result, details, draft=draft)
    except ReportRefused:
        refused(result, "notice_refused")
    except FontMissing as error:
        fail("font_missing", message=error)
    say("notice_draft_written" if draft else "notice_written", path=output)


@click.command("feedback")
@session_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder.")
@draft_option
@rules_option
@db_option
def feedback_command(session: str, output: Path, draft: bool, rules_file: Path | None, db_path: Path | None) -> None:
    """Write one PDF per unit with every 意见建议 cell written for it, and an index of how many each received.

    Each letter is headed by the unit's counts; the cells are the handwriting as scanned (never OCR'd), in a
    random order, with no serial, page or file name. Empty cells are found by measuring the ink in them and
    left out; sheets counted by hand and voided sheets are counted in the index. Refused (exit status 2)
    while rows are pending review, a page the machine did not count is unsettled or the round is void, unless
    --draft.

    \b
    Example:
      ballot feedback --session 2026H1 -o 2026H1-意见建议反馈
    """
    from pipeline.common.fonts import FontMissing
    from pipeline.counting.feedback import write_feedback
    from pipeline.counting.report import ReportRefused
    from pipeline.review.comments import collect_comments

    store = open_db(db_path)
    tally = tally_of(store, session, read_rules(rules_file))
    if tally.final_blockers() and not draft:
        refused(tally, "feedback_refused")
    collected = collect_comments(store, session)
    try:
        written = write_feedback(output, tally, collected.by_unit, collected.summary, draft=draft)
    except ReportRefused:
        refused(tally, "feedback_refused")
    except FontMissing as error:
        fail("font_missing", message=error)
    for unit in tally.units:
        say("feedback_unit", unit=unit.unit, count=len(collected.by_unit.get(unit.unit, ())))
    _say_collected(collected.summary, sum(len(cells) for cells in collected.by_unit.values()))
    say("feedback_draft_written" if draft else "feedback_written", path=output, count=len(written))


def _say_collected(summary: CommentSummary, written: int) -> None:
    """How the cells were collected and what a clerk must still do (the index PDF says it too)."""
    if not summary.has_cells:
        say("feedback_no_cells")
        return
    say("feedback_collected", sheets=summary.sheets, written=written, empty=summary.empty)
    if summary.on_paper:
        say("feedback_on_paper", count=summary.on_paper)
    if summary.voided:
        say("feedback_voided", count=summary.voided)


commands: list[click.Command] = [notice_command, feedback_command]
