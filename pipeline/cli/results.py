"""``ballot session set | tally | override … | report | rules …``: from effective ballots to the published result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

import click

from pipeline.cli.common import (
    EXIT_ATTENTION,
    F,
    countable_scale,
    current_lang,
    db_option,
    fail,
    open_db,
    read_rules,
    rules_option,
    say,
    session_option,
    words,
    zone,
)

if TYPE_CHECKING:
    from pipeline.counting.rules import Override, Rules
    from pipeline.counting.tally import SessionTally, YearTally
    from pipeline.store.database import Store


def tally_of(store: Store, session: str, rules: Rules) -> SessionTally:
    """The session's tally from its printed template, effective ballots, facts and overrides."""
    from pipeline.counting.tally import TallyError, tally_session

    templates = store.session_templates(session)
    if not templates:
        fail("no_templates", session=session)
    if len(templates) > 1:
        fail("many_templates", session=session, count=len(templates))
    facts, overrides = store.session_facts(session), store.overrides([session])
    countable_scale(templates[0], rules)  # the rules' scale cannot count the template: say so in the clerk's words
    try:
        return tally_session(templates[0], store.effective_ballots(session), rules, facts, overrides)
    except TallyError as error:
        fail("as_is", message=error)


def _period(value: str) -> str:
    from pipeline.ballot.template import normalise_session

    return normalise_session(value)


def _year(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not (len(value) == 4 and value.isdigit()):
        raise click.BadParameter(words("year_value", value=repr(value)))
    return value


def _said(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():
        raise click.BadParameter(words("reason_needed"))
    return value.strip()


# -- session facts ---------------------------------------------------------------------------------------


@click.group("session")
def session_group() -> None:
    """Record facts about an evaluation round: ballots handed out (发出), members expected (应到) and present (实到).

    \b
    Example:
      ballot session set --session 2026H1 --issued 120
    """


@session_group.command("set")
@session_option
@click.option("--issued", type=click.IntRange(min=0), help="Ballots handed out (发出).")
@click.option("--expected", type=click.IntRange(min=0), help="Voters expected (应到), for the quorum check.")
@click.option("--attended", type=click.IntRange(min=0), help="Voters present (实到); the majority rule's basis.")
@db_option
def session_set_command(
    session: str, issued: int | None, expected: int | None, attended: int | None, db_path: Path | None
) -> None:
    """Record how many ballots were handed out in a session, and how many voters were expected and present.

    Values not given stay as they were. More ballots returned than handed out makes the round void; the
    majority rule (preset majority) needs the number its rules count against: --attended or --expected.

    \b
    Example:
      ballot session set --session 2026H1 --issued 120 --expected 130 --attended 118
    """
    if issued is None and expected is None and attended is None:
        raise click.UsageError(words("nothing_to_record"))
    store = open_db(db_path)
    if not store.session_exists(session):
        fail("session_not_printed", session=session)
    facts = store.set_session_facts(session, issued=issued, expected=expected, attended=attended)
    shown = {name: "—" if value is None else value for name, value in vars(facts).items()}
    say("facts", session=session, issued=shown["issued"], expected=shown["expected"], attended=shown["attended"])


# -- tally -----------------------------------------------------------------------------------------------


@click.command("tally")
@session_option
@rules_option
@click.option("--by-category", is_flag=True, help="Also show each unit's counts per 测评人类别.")
@db_option
def tally_command(session: str, rules_file: Path | None, by_category: bool, db_path: Path | None) -> None:
    """Print per-unit counts (满意 / 基本满意 / 不满意 / 不了解 / 弃权 / 无效), rates, grades and ranks.

    Exit status 2 while rows are pending review, rejected pages are unsettled or the round is void (no final
    report possible yet).

    \b
    Example:
      ballot tally --session 2026H1 --rules majority --by-category
    """
    from pipeline.counting.report import tally_table

    result = tally_of(open_db(db_path), session, read_rules(rules_file))
    click.echo(tally_table(result, by_category=by_category))
    if result.final_blockers():
        raise SystemExit(EXIT_ATTENTION)


# -- overrides -------------------------------------------------------------------------------------------


@click.group("override")
def override_group() -> None:
    """Record verified complaints (投诉查实) and one-vote vetoes (一票否决); they change grades, never counts.

    \b
    Example:
      ballot override list --period 2026
    """


@override_group.command("add")
@click.option("--unit", required=True, help="The unit, exactly as printed on the ballot.")
@click.option("--period", required=True, help="A session (2026H1) for a complaint, a year (2026) for a veto.")
@click.option("--kind", type=click.Choice(["complaint", "veto"]), required=True, help="complaint or veto.")
@click.option("--ref", required=True, help="Document number, e.g. 投诉〔2026〕13号.")
@click.option("--authority", required=True, help="Who decided, e.g. 局纪委.")
@click.option("--date", "decided_on", required=True, help="Date of the decision, YYYY-MM-DD.")
@click.option("--area", help="Veto only: 社会治安综合治理 / 党风廉政建设 / 计划生育 / 安全生产 / 其他.")
@click.option("--note", default="", help="What was found.")
@db_option
def override_add_command(
    unit: str,
    period: str,
    kind: Literal["complaint", "veto"],
    ref: str,
    authority: str,
    decided_on: str,
    area: str | None,
    note: str,
    db_path: Path | None,
) -> None:
    """Record a complaint (that half-year's grade becomes 不满意) or a veto (the year-end grade becomes 不满意).

    \b
    Example:
      ballot override add --unit 图书馆 --period 2026H1 --kind complaint --ref 投诉〔2026〕13号 \\
          --authority 局纪委 --date 2026-05-12
      ballot override add --unit 体育中心 --period 2026 --kind veto --area 安全生产 --ref 安委〔2026〕2号 \\
          --authority 县安委会 --date 2026-11-03
    """
    from pipeline.counting.rules import OverrideRequest, override_problems, sessions_of_period

    request = OverrideRequest(
        unit.strip(), _period(period), kind, ref.strip(), authority.strip(), decided_on, note, area
    )
    store = open_db(db_path)
    problems = override_problems(request, store.session_units(sessions_of_period(request.period)))
    if problems:
        fail("override_refused", problems="\n".join(f"  {problem}" for problem in problems))
    say("override_added", id=store.add_override(request).id, what=_describe(store.overrides([request.period])[-1]))


@override_group.command("list")
@click.option("--period", help="Only this session or year (a year also lists its two halves).")
@db_option
def override_list_command(period: str | None, db_path: Path | None) -> None:
    """List every override record, revoked ones included (the audit trail).

    \b
    Example:
      ballot override list --period 2026
    """
    from pipeline.counting.rules import sessions_of_period

    periods = None if period is None else [_period(period), *sessions_of_period(_period(period))]
    records = open_db(db_path).overrides(periods)
    for record in records:
        click.echo(_describe(record))
    if not records:
        say("no_overrides")


@override_group.command("revoke")
@click.argument("override_id", type=int)
@click.option("--reason", required=True, callback=_said, help="Why it is revoked (kept in the audit trail).")
@db_option
def override_revoke_command(override_id: int, reason: str, db_path: Path | None) -> None:
    """Revoke override OVERRIDE_ID; the record and its revocation both stay in the store.

    \b
    Example:
      ballot override revoke 3 --reason 复查不实
    """
    from pipeline.common.clock import local_time

    store = open_db(db_path)
    if not store.revoke_override(override_id, reason):
        found = store.override(override_id)
        if found is None:
            fail("override_missing", id=override_id)
        fail("override_revoked_before", id=override_id, when=local_time(found.revoked_at or "", zone()))
    say("override_revoked", id=override_id)


def _describe(record: Override) -> str:
    """One override as the terminal lists it, times in the office's zone."""
    from pipeline.common.clock import local_time

    when = local_time(record.revoked_at or "", zone())
    state = (
        words("override_active")
        if record.active
        else words("override_was_revoked", when=when, reason=record.revoke_reason)
    )
    note = f"  {record.request.note}" if record.request.note else ""
    return f"#{record.id}  {record.request.period}  {record.request.unit}  {record.remark()}  [{state}]{note}"


# -- report ----------------------------------------------------------------------------------------------


def period_options(func: F) -> F:
    """--session or --year (exactly one), and --combine for the year end."""
    func = click.option(
        "--combine",
        type=click.Choice(["mean", "pooled"]),
        default=None,
        help="Year end: the mean of the two halves' rates, or the rates of their pooled votes "
        "(default: the rules file's year_end.combine).",
    )(func)
    func = click.option("--year", callback=_year, help="A year, e.g. 2026: combines 2026H1 and 2026H2.")(func)
    return click.option("--session", "session", help="A half-year round, e.g. 2026H1.")(func)


def result_of(
    store: Store, session: str | None, year: str | None, rules: Rules, combine: Literal["mean", "pooled"] | None
) -> SessionTally | YearTally:
    """The tally of --session, or the two halves of --year combined as --combine (else the rules) say."""
    from pipeline.counting.tally import combine_year

    if (session is None) == (year is None):
        raise click.UsageError(words("session_or_year"))
    if year is None:
        if combine is not None:
            raise click.UsageError(words("combine_year_only"))
        return tally_of(store, _period(session or ""), rules)
    rules = rules.combined(combine)
    halves = tuple(tally_of(store, f"{year}H{half}", rules) for half in (1, 2))
    return combine_year(year, halves[0], halves[1], rules, store.overrides([year]))


def refused(result: SessionTally | YearTally, key: str) -> NoReturn:
    """Exit with status 2, saying (words ``key``) why no final document may be written yet: the result's
    blockers, in the clerk's language."""
    reasons = "\n".join(f"  {reason}" for reason in result.final_blockers(current_lang()))
    fail(key, EXIT_ATTENTION, reasons=reasons)


@click.command("report")
@period_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option(
    "--draft",
    is_flag=True,
    help="Write even while rows are pending, pages unsettled or the round is void, marked 草稿（待复核）.",
)
@rules_option
@db_option
def report_command(
    session: str | None,
    year: str | None,
    combine: Literal["mean", "pooled"] | None,
    output: Path,
    file_format: Literal["xlsx", "csv"],
    draft: bool,
    rules_file: Path | None,
    db_path: Path | None,
) -> None:
    """Write the result workbook (测评结果, 票数明细, 复核记录, 未计入的页, 投诉与否决, chart) or the CSV of 测评结果.

    Where the rules attach consequences to grades (the year end, by default) the workbook also has a 处理意见
    column and a 奖惩建议 sheet. A final report is refused (exit status 2) while rows are pending review, a page
    the machine did not count is unsettled (see `ballot status`), or the round is void.

    \b
    Example:
      ballot report --session 2026H1 -o 2026H1-测评结果.xlsx
      ballot report --year 2026 --rules majority --combine pooled -o 2026-年度测评结果.xlsx
    """
    from pipeline.counting.report import ReportRefused, write_report

    store = open_db(db_path)
    result = result_of(store, session, year, read_rules(rules_file), combine)
    try:
        sessions = [f"{year}H1", f"{year}H2"] if year is not None else [_period(session or "")]
        reviews = [entry for name in sessions for entry in store.review_log(name)]
        uncounted = [page for name in sessions for page in store.uncounted_pages(name)]
        write_report(
            output, result, reviews=reviews, uncounted=uncounted, draft=draft, file_format=file_format, zone=zone()
        )
    except ReportRefused:
        refused(result, "report_refused")
    say("draft_written" if draft else "report_written", path=output)


# -- rules files -----------------------------------------------------------------------------------------


@click.group("rules")
def rules_group() -> None:
    """Check a counting-rules file or print the JSON Schema of the format.

    \b
    Example:
      ballot rules check my-rules.yaml
    """


@rules_group.command("check")
@click.argument("rules_file", type=click.Path(dir_okay=False, path_type=Path))
def rules_check_command(rules_file: Path) -> None:
    """Validate RULES_FILE (a file, or a shipped preset: default, majority, bottom3) and print its grading
    method as it will appear under the table.

    \b
    Example:
      ballot rules check majority
    """
    from pipeline.counting.rules import describe

    rules = read_rules(rules_file)
    click.echo(f"{rules.name}\n{describe(rules)}\n{describe(rules, year=True)}")


@rules_group.command("schema")
def rules_schema_command() -> None:
    """Print the JSON Schema of the rules format (committed as templates/rules/rules.schema.json).

    \b
    Example:
      ballot rules schema > rules.schema.json
    """
    from pipeline.counting.rules import json_schema

    click.echo(json_schema(), nl=False)


commands: list[click.Command] = [
    session_group,
    tally_command,
    override_group,
    report_command,
    rules_group,
]
