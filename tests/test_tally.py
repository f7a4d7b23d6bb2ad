"""Tally: counts, exact rates, grades, ranks, overrides and the year end, against hand-computed cases."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.ballot.template import Template, parse_template
from pipeline.cli import main
from pipeline.cli.results import override_group, tally_command
from pipeline.counting.ballots import BallotResult, RowResult
from pipeline.counting.rules import Override, OverrideRequest, Rules, load_rules, parse_rules
from pipeline.counting.tally import (
    NO_CATEGORY,
    Counts,
    SessionFacts,
    SessionTally,
    TallyError,
    combine_year,
    tally_session,
)
from pipeline.store.database import Store

TEMPLATE = parse_template(
    {
        "id": "t",
        "organisation": "××县文化体育局",
        "title": "{period}测评表",
        "instruction": "请打√",
        "voter_category": {"options": ["服务对象代表", "基层代表"]},
        "sections": [
            {
                "rows": [
                    {"unit": "局机关", "group": "局机关"},
                    {"unit": "文化馆", "group": "二级单位"},
                    {"unit": "图书馆", "group": "二级单位"},
                    {"unit": "博物馆", "group": "二级单位"},
                ]
            }
        ],
    }
)
UNITS = ("局机关", "文化馆", "图书馆", "博物馆")
CODES = {"S": "满意", "B": "基本满意", "U": "不满意", "K": "不了解"}
KINDS = {"-": "blank", "X": "overvote", "V": "void", "?": "pending"}

# 20 ballots; column i of every string is ballot i. S 满意, B 基本满意, U 不满意, - 弃权, X 多选.
STANDARD = {
    "局机关": "S" * 18 + "BU",  # 满意率 18/20 = 90% exactly → 满意
    "文化馆": "S" * 10 + "B" * 7 + "U" * 3,  # (满意+基本满意) 17/20 = 85% exactly → 基本满意
    "图书馆": "S" * 12 + "U" * 8,  # 不满意率 8/20 = 40% → 不满意
    "博物馆": "S" * 14 + "BBUU-X",  # 有效票 18
}


def make_ballots(
    marks: dict[str, str],
    template: Template = TEMPLATE,
    categories: tuple[str | None, ...] = ("服务对象代表", "基层代表"),
    void: tuple[int, ...] = (),
) -> list[BallotResult]:
    """Ballots from one mark string per unit (see STANDARD); categories cycle over the ballots."""
    count = len(next(iter(marks.values())))
    ballots = []
    for index in range(count):
        rows = []
        for unit, column in marks.items():
            code = column[index]
            if code in CODES:
                rows.append(RowResult(unit, "choice", CODES[code]))
            else:
                rows.append(RowResult(unit, KINDS[code]))  # type: ignore[arg-type]
        category = categories[index % len(categories)] if categories else None
        ballots.append(
            BallotResult(index + 1, f"SER{index:07d}", template.content_hash(), tuple(rows), category, index in void)
        )
    return ballots


def tally(
    marks: dict[str, str] | None = None,
    rules: Rules | None = None,
    facts: SessionFacts | None = None,
    overrides: tuple[Override, ...] = (),
    **kwargs: object,
) -> SessionTally:
    ballots = make_ballots(marks or STANDARD, **kwargs)  # type: ignore[arg-type]
    return tally_session(TEMPLATE, ballots, rules or load_rules(), facts or SessionFacts("2026H1", 20), overrides)


def unit(result: SessionTally, name: str):  # type: ignore[no-untyped-def]
    return next(u for u in result.units if u.unit == name)


def rules_with(**changes: object) -> Rules:
    data: dict[str, object] = {"name": "test", "grading": {"method": "bands"}}
    data.update(changes)
    return parse_rules(data)


def complaint(unit_name: str, period: str = "2026H1", revoked: bool = False, number: int = 1) -> Override:
    request = OverrideRequest(unit_name, period, "complaint", f"投诉〔2026〕{number}号", "局纪委", "2026-05-12")
    revoked_at = "2026-05-20T08:00:00+00:00" if revoked else None
    return Override(number, request, "2026-05-13T08:00:00+00:00", revoked_at, "复查不实" if revoked else None)


def veto(unit_name: str, year: str = "2026", revoked: bool = False, number: int = 9) -> Override:
    request = OverrideRequest(unit_name, year, "veto", "县安委〔2026〕5号", "县安委会", "2026-10-08", area="安全生产")
    revoked_at = "2026-11-01T08:00:00+00:00" if revoked else None
    return Override(number, request, "2026-10-09T08:00:00+00:00", revoked_at, "撤销" if revoked else None)


# -- counts and rates --------------------------------------------------------------------------------------


def test_counts_and_exact_rates_by_hand() -> None:
    result = tally()
    museum = unit(result, "博物馆")
    assert museum.counts.as_tuple() == (14, 2, 2, 0, 1, 1, 0)
    assert museum.valid == 18
    assert museum.rates.satisfied == Fraction(14, 18)
    assert museum.rates.positive == Fraction(16, 18)
    assert museum.rates.unsatisfied == Fraction(2, 18)
    assert museum.rates.score == (14 + Fraction(6, 10) * 2) / 18 == Fraction(38, 45)
    assert unit(result, "局机关").rates.score == Fraction(93, 100)  # (18 + 0.6) / 20
    assert unit(result, "文化馆").rates.score == Fraction(71, 100)  # (10 + 4.2) / 20
    assert (result.returned, result.void_ballots, result.valid_ballots) == (20, 0, 20)
    assert result.return_rate == 1


def test_default_bands_at_their_exact_boundaries() -> None:
    result = tally()
    assert unit(result, "局机关").grade == "满意"  # 满意率 exactly 90%
    assert unit(result, "文化馆").grade == "基本满意"  # (满意+基本满意) exactly 85% is not < 85%
    assert unit(result, "图书馆").grade == "不满意"
    assert unit(result, "博物馆").grade == "基本满意"  # 77.8% 满意, 88.9% positive, 11.1% 不满意


def test_forty_percent_unsatisfied_alone_makes_unsatisfied() -> None:
    rules = rules_with(grading={"method": "bands", "positive_below": 0.5})
    assert unit(tally(rules=rules), "图书馆").grade == "不满意"  # positive 60% ≥ 50%, but 不满意 exactly 40%
    lower = {**STANDARD, "图书馆": "S" * 13 + "U" * 7}  # 35% 不满意, 65% positive
    assert unit(tally(lower, rules=rules), "图书馆").grade == "基本满意"


def test_just_below_ninety_percent_is_not_satisfied() -> None:
    marks = {**STANDARD, "局机关": "S" * 17 + "BBS"}  # 18/20 again, in another order
    assert unit(tally(marks), "局机关").grade == "满意"
    marks = {**STANDARD, "局机关": "S" * 17 + "BBB"}  # 85%
    assert unit(tally(marks), "局机关").grade == "基本满意"


def test_denominators_can_include_abstentions_and_dont_know() -> None:
    rules = rules_with(denominators={"abstentions": True})
    museum = unit(tally(rules=rules), "博物馆")
    assert museum.valid == 19 and museum.rates.satisfied == Fraction(14, 19)
    dont_know_template = parse_template(
        {"id": "k", "title": "t", "instruction": "i", "sections": [{"dont_know": True, "rows": [{"unit": "局机关"}]}]}
    )
    ballots = make_ballots({"局机关": "SSSKK-"}, dont_know_template, categories=())
    facts = SessionFacts("2026H1")
    default = tally_session(dont_know_template, ballots, load_rules(), facts).units[0]
    assert (default.counts.dont_know, default.valid, default.rates.satisfied) == (2, 3, 1)
    both = rules_with(denominators={"abstentions": True, "dont_know": True})
    counted = tally_session(dont_know_template, ballots, both, facts).units[0]
    assert (counted.valid, counted.rates.satisfied) == (6, Fraction(1, 2))


@pytest.mark.parametrize(("weight", "score"), [(0.6, Fraction(4, 5)), (0.75, Fraction(7, 8)), (1.0, 1)])
def test_weight_of_basic_satisfaction(weight: float, score: Fraction) -> None:
    marks = {**STANDARD, "文化馆": "S" * 10 + "B" * 10}  # (10 + w × 10) / 20
    assert unit(tally(marks, rules=rules_with(basic_weight=weight)), "文化馆").rates.score == score


def test_zero_valid_votes_and_full_abstention_do_not_crash() -> None:
    marks = {**STANDARD, "博物馆": "-" * 10 + "X" * 10}
    museum = unit(tally(marks), "博物馆")
    assert museum.valid == 0
    assert museum.rates.satisfied is None and museum.rates.score is None
    assert museum.grade is None and museum.rank is None
    assert museum.remarks == ("无有效票，不评定等次",)
    strict = unit(tally(marks, rules=rules_with(no_valid_votes="不满意")), "博物馆")
    assert strict.grade == "不满意" and strict.remarks == ("无有效票，按规则评为不满意",)
    all_blank = tally({name: "-" * 20 for name in UNITS})
    assert all(u.grade is None and u.valid == 0 and u.counts.abstained == 20 for u in all_blank.units)
    assert all_blank.valid_ballots == 20  # a blank sheet is returned and valid, every row abstained


def test_whole_sheets_void_and_blank_ballot_rule() -> None:
    result = tally(void=(0, 1))
    assert (result.returned, result.void_ballots, result.valid_ballots) == (20, 2, 18)
    assert unit(result, "局机关").counts.satisfied == 16
    marks = {name: column[:19] + "-" for name, column in STANDARD.items()}
    assert tally(marks).void_ballots == 0
    voided = tally(marks, rules=rules_with(rows={"blank_ballot": "void"}))
    assert voided.void_ballots == 1 and unit(voided, "局机关").counts.abstained == 0


def test_void_round_and_quorum() -> None:
    result = tally(facts=SessionFacts("2026H1", issued=19))
    assert result.void_reasons == ("收回票数（20）多于发出票数（19），应重新测评",)
    assert result.final_blockers() == ("2026H1 测评无效：收回票数（20）多于发出票数（19），应重新测评",)
    assert result.return_rate == Fraction(20, 19)
    assert tally(facts=SessionFacts("2026H1", issued=20)).final_blockers() == ()
    assert tally(facts=SessionFacts("2026H1")).return_rate is None
    no_quorum = tally(facts=SessionFacts("2026H1", 30, expected=40, attended=20))
    assert no_quorum.void_reasons == ("实到人数（20）未超过应到人数（40）的半数",)
    assert tally(facts=SessionFacts("2026H1", 30, expected=40, attended=21)).void_reasons == ()
    lenient = rules_with(round={"void_if_returned_exceeds_issued": False})
    assert tally(rules=lenient, facts=SessionFacts("2026H1", issued=19)).void_reasons == ()


def test_pending_rows_are_counted_apart_and_block_a_final_report() -> None:
    marks = {**STANDARD, "文化馆": "??" + "S" * 8 + "B" * 7 + "U" * 3}
    result = tally(marks)
    assert unit(result, "文化馆").counts.pending == 2 and unit(result, "文化馆").valid == 18
    assert result.pending_rows == 2
    assert result.final_blockers() == ("2026H1 尚有 2 行待复核",)


def test_void_rows_count_as_invalid() -> None:
    marks = {**STANDARD, "图书馆": "VX" + "S" * 10 + "U" * 8}
    library = unit(tally(marks), "图书馆")
    assert library.counts.invalid == 2 and library.valid == 18


def test_breakdown_by_voter_category() -> None:
    result = tally(categories=("服务对象代表", "基层代表", None))
    assert result.categories == ("服务对象代表", "基层代表", NO_CATEGORY)
    office = dict(unit(result, "局机关").by_category)
    # ballots 0..17 are S, 18 B, 19 U; categories cycle with period 3 (18 → 服务对象代表, 19 → 基层代表)
    assert office["服务对象代表"].as_tuple()[:3] == (6, 1, 0)
    assert office["基层代表"].as_tuple()[:3] == (6, 0, 1)
    assert office[NO_CATEGORY].as_tuple()[:3] == (6, 0, 0)
    total = sum((counts for _, counts in unit(result, "局机关").by_category), start=Counts())
    assert total == unit(result, "局机关").counts


def test_ballots_of_another_template_or_unknown_options_are_refused() -> None:
    other = parse_template({"id": "o", "title": "t", "instruction": "i", "sections": [{"rows": [{"unit": "局机关"}]}]})
    with pytest.raises(TallyError, match="另一个模板"):
        tally_session(TEMPLATE, make_ballots({"局机关": "S"}, other), load_rules(), SessionFacts("2026H1"))
    odd = parse_template(
        {"id": "p", "title": "t", "instruction": "i", "sections": [{"options": ["好", "差"], "rows": [{"unit": "甲"}]}]}
    )
    with pytest.raises(TallyError, match="好"):
        tally_session(odd, [], load_rules(), SessionFacts("2026H1"))
    missing = make_ballots({name: "S" for name in UNITS[:3]})
    with pytest.raises(TallyError, match="行与模板不符"):
        tally_session(TEMPLATE, missing, load_rules(), SessionFacts("2026H1"))
    twice = make_ballots({name: "S" for name in UNITS})[0]
    twice = BallotResult(1, "X", twice.template_hash, (*twice.rows, twice.rows[0]))
    with pytest.raises(TallyError, match="行与模板不符"):
        tally_session(TEMPLATE, [twice], load_rules(), SessionFacts("2026H1"))


# -- ranking and alternative grading -----------------------------------------------------------------------


def test_ranking_within_unit_class_with_ties() -> None:
    result = tally()
    assert [unit(result, name).rank for name in UNITS] == [1, 2, 3, 1]
    tied = {**STANDARD, "文化馆": STANDARD["博物馆"], "图书馆": STANDARD["博物馆"]}
    result = tally(tied)
    assert [unit(result, name).rank for name in UNITS] == [1, 1, 1, 1]
    two_tied = {**STANDARD, "图书馆": STANDARD["博物馆"]}
    result = tally(two_tied)
    assert [unit(result, name).rank for name in ("博物馆", "图书馆", "文化馆")] == [1, 1, 3]


def test_rank_by_satisfaction_rate() -> None:
    rules = rules_with(ranking={"by": "满意率"})
    result = tally(rules=rules)  # 满意率: 文化馆 10/20, 图书馆 12/20, 博物馆 14/18
    assert [unit(result, name).rank for name in ("博物馆", "图书馆", "文化馆")] == [1, 2, 3]


def test_bottom_n_with_ties_top_and_small_groups() -> None:
    bottom1 = rules_with(grading={"method": "bottom_n", "bottom": 1})
    result = tally(rules=bottom1)
    assert [unit(result, name).grade for name in UNITS] == ["基本满意", "基本满意", "不满意", "基本满意"]
    tied = {**STANDARD, "文化馆": STANDARD["图书馆"]}  # 文化馆 and 图书馆 share the last place
    result = tally(tied, rules=bottom1)
    assert [unit(result, name).grade for name in UNITS] == ["基本满意", "不满意", "不满意", "基本满意"]
    top_and_bottom = rules_with(grading={"method": "bottom_n", "bottom": 1, "top": 1})
    result = tally(rules=top_and_bottom)
    assert [unit(result, name).grade for name in UNITS] == ["基本满意", "基本满意", "不满意", "满意"]
    too_big = rules_with(grading={"method": "bottom_n", "bottom": 3})  # group of 3 ≤ 3: not graded by place
    assert {u.grade for u in tally(rules=too_big).units} == {"基本满意"}


def test_majority_of_attendees() -> None:
    rules = load_rules(Path(__file__).resolve().parent.parent / "templates" / "rules" / "majority.yaml")
    result = tally(rules=rules, facts=SessionFacts("2026H1", 24, 30, 24))  # half of 24 = 12
    assert [unit(result, name).grade for name in UNITS] == ["满意", "基本满意", "不满意", "满意"]
    # 图书馆 has 12 满意 of 24 attendees: not more than half; 博物馆 14 of 24 is
    assert unit(result, "图书馆").rates.satisfied_of_basis == Fraction(1, 2)
    result = tally(rules=rules, facts=SessionFacts("2026H1", 24, 30, 23))
    assert unit(result, "图书馆").grade == "满意"  # 12 of 23 is more than half
    with pytest.raises(TallyError, match="--attended"):
        tally(rules=rules, facts=SessionFacts("2026H1", 24))


# -- overrides -----------------------------------------------------------------------------------------


def test_complaint_forces_unsatisfied_and_revocation_undoes_it() -> None:
    result = tally(overrides=(complaint("局机关"),))
    office = unit(result, "局机关")
    assert (office.computed_grade, office.grade) == ("满意", "不满意")
    assert office.remarks == ("投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）",)
    assert office.counts.satisfied == 18 and office.rank == 1  # counts and rank untouched
    revoked = unit(tally(overrides=(complaint("局机关", revoked=True),)), "局机关")
    assert revoked.grade == "满意" and revoked.remarks == ()
    other_half = unit(tally(overrides=(complaint("局机关", "2026H2"),)), "局机关")
    assert other_half.grade == "满意"
    assert len(tally(overrides=(complaint("局机关", revoked=True),)).overrides) == 1  # kept for the report


# -- year end ------------------------------------------------------------------------------------------


def two_halves(rules: Rules) -> tuple[SessionTally, SessionTally]:
    first = tally(rules=rules, overrides=(complaint("局机关"),))
    second_marks = {"局机关": "S" * 10, "文化馆": "S" * 9 + "B", "图书馆": "S" * 10, "博物馆": "-" * 10}
    second = tally_session(TEMPLATE, make_ballots(second_marks), rules, SessionFacts("2026H2", 10))
    return first, second


def test_year_mean_of_the_two_halves() -> None:
    rules = load_rules()
    first, second = two_halves(rules)
    year = combine_year("2026", first, second, rules, (veto("文化馆"), veto("博物馆", revoked=True, number=10)))
    office = next(u for u in year.units if u.unit == "局机关")
    assert office.rates.score == (Fraction(93, 100) + 1) / 2
    assert office.halves[0] is not None and office.halves[0].grade == "不满意"  # the H1 complaint
    assert office.remarks == ("上半年投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）",)
    assert office.grade == "满意"  # a complaint does not carry over by default
    culture = next(u for u in year.units if u.unit == "文化馆")
    assert culture.rates.score == (Fraction(71, 100) + Fraction(96, 100)) / 2
    assert culture.rates.satisfied == Fraction(7, 10)  # (50% + 90%) / 2
    assert (culture.computed_grade, culture.grade) == ("基本满意", "不满意")
    assert culture.remarks == ("一票否决（安全生产，县安委〔2026〕5号，县安委会，2026-10-08）",)
    library = next(u for u in year.units if u.unit == "图书馆")
    assert library.rates.score == Fraction(4, 5) and library.grade == "不满意"  # positive (60% + 100%) / 2 < 85%
    museum = next(u for u in year.units if u.unit == "博物馆")  # no valid votes in H2: H1 alone
    assert museum.rates.score == Fraction(38, 45) and museum.grade == "基本满意"
    assert museum.remarks == ("下半年无有效票",)  # and its veto was revoked
    assert len(year.overrides) == 2


def test_year_pooled_votes_and_complaints_carried_over() -> None:
    rules = rules_with(year_end={"combine": "pooled", "complaints_carry_over": True})
    first, second = two_halves(rules)
    year = combine_year("2026", first, second, rules)
    office = next(u for u in year.units if u.unit == "局机关")
    assert office.pooled is not None and office.pooled.satisfied == 28
    assert office.rates.score == (28 + Fraction(6, 10)) / 30
    assert (office.computed_grade, office.grade) == ("满意", "不满意")  # the H1 complaint carries over
    library = next(u for u in year.units if u.unit == "图书馆")
    assert library.rates.satisfied == Fraction(22, 30)


def test_year_blocked_while_a_half_is_void_or_pending() -> None:
    rules = load_rules()
    first = tally(facts=SessionFacts("2026H1", 10))
    second = tally(facts=SessionFacts("2026H2", 20), marks={**STANDARD, "局机关": "?" + "S" * 19})
    assert combine_year("2026", first, second, rules).final_blockers() == (
        "2026H1 测评无效：收回票数（20）多于发出票数（10），应重新测评",
        "2026H2 尚有 1 行待复核",
    )


def test_year_majority_pooled_uses_both_attendances() -> None:
    rules = rules_with(grading={"method": "majority"}, year_end={"combine": "pooled"})
    first = tally(rules=rules, facts=SessionFacts("2026H1", 20, 20, 20))
    second = tally(rules=rules, facts=SessionFacts("2026H2", 20, 22, 22))
    year = combine_year("2026", first, second, rules)
    library = next(u for u in year.units if u.unit == "图书馆")  # 24 满意 of 42 attendees
    assert library.rates.satisfied_of_basis == Fraction(24, 42) and library.grade == "满意"


# -- store and CLI -------------------------------------------------------------------------------------


@pytest.fixture
def printed(store: Store, template: Template) -> Store:
    store.issue_serials("2026H1", template, 3, "x.pdf")
    store.issue_serials("2026H2", template, 3, "y.pdf")
    return store


def test_store_session_facts_keep_values_not_given(printed: Store) -> None:
    assert printed.session_facts("2026H1") == SessionFacts("2026H1")
    printed.set_session_facts("2026H1", issued=120, expected=130)
    assert printed.set_session_facts("2026H1", attended=118) == SessionFacts("2026H1", 120, 130, 118)
    assert printed.session_facts("2026H2") == SessionFacts("2026H2")


def test_store_overrides_added_listed_and_revoked(printed: Store) -> None:
    first = printed.add_override(complaint("图书馆").request)
    second = printed.add_override(veto("体育中心").request)
    assert [o.id for o in printed.overrides()] == [first.id, second.id]
    assert printed.overrides(["2026"]) == [second]
    assert second.request.area == "安全生产" and second.active
    assert printed.revoke_override(first.id, "复查不实")
    assert not printed.revoke_override(first.id, "again") and not printed.revoke_override(999, "none")
    stored = printed.override(first.id)
    assert stored is not None and not stored.active and stored.revoke_reason == "复查不实"
    assert stored.request == first.request  # the record itself is unchanged
    assert printed.session_units(["2026H1"]) >= {"局机关", "图书馆", "体育中心"}
    assert printed.session_units(["2027H1"]) == set()


def test_cli_session_set(runner: CliRunner, printed: Store, db_path: Path) -> None:
    set_ = ["session", "set", "--db", str(db_path), "--session"]
    result = runner.invoke(main, [*set_, "2026h1", "--issued", "120"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026H1：发出 120  应到 —  实到 —"
    result = runner.invoke(main, [*set_, "2030H1", "--issued", "1"])
    assert result.exit_code == 1 and "不存在" in result.output
    nothing = runner.invoke(main, [*set_, "2026H1"])
    assert nothing.exit_code == 64 and "没有要登记的" in nothing.output
    english = runner.invoke(main, ["--lang", "en", *set_, "2026H1"])
    assert english.exit_code == 64 and "nothing to record" in english.output


def test_cli_override_add_list_revoke(runner: CliRunner, printed: Store, db_path: Path) -> None:
    db = ["--db", str(db_path)]
    add = ["add", "--unit", "图书馆", "--period", "2026H1", "--kind", "complaint", "--ref", "投诉〔2026〕13号"]
    add += ["--authority", "局纪委", "--date", "2026-05-12", "--note", "窗口服务"]
    result = runner.invoke(override_group, add + db)
    assert result.exit_code == 0, result.output
    assert "已登记 #1" in result.output and "投诉查实（投诉〔2026〕13号，局纪委，2026-05-12）" in result.output
    bad_unit = ["add", "--unit", "不存在馆", "--period", "2026H1", "--kind", "complaint", "--ref", "x"]
    result = runner.invoke(override_group, [*bad_unit, "--authority", "局纪委", "--date", "2026-05-12", *db])
    assert result.exit_code == 1 and "不在 2026H1 印制的测评票上" in result.output
    bad_period = ["add", "--unit", "图书馆", "--period", "2026", "--kind", "complaint", "--ref", "x"]
    result = runner.invoke(override_group, [*bad_period, "--authority", "局纪委", "--date", "2026-05-12", *db])
    assert result.exit_code == 1 and "2026H1" in result.output
    veto_args = ["add", "--unit", "体育中心", "--period", "2026H1", "--kind", "veto", "--ref", "x", "--authority", "y"]
    result = runner.invoke(override_group, [*veto_args, "--date", "2026-13-01", *db])
    assert result.exit_code == 1
    assert all(word in result.output for word in ("应为年份", "area", "不是日期"))
    assert printed.overrides() and len(printed.overrides()) == 1
    assert runner.invoke(override_group, ["revoke", "1", "--reason", "复查不实", *db]).exit_code == 0
    again = runner.invoke(override_group, ["revoke", "1", "--reason", "x", *db])
    assert again.exit_code == 1 and "已于" in again.output
    listed = runner.invoke(override_group, ["list", "--period", "2026", *db])
    assert listed.exit_code == 0 and "已撤销" in listed.output and "复查不实" in listed.output


def test_cli_tally_prints_the_table(
    runner: CliRunner, printed: Store, db_path: Path, template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = {row.unit: "SSB" for section in template.sections for row in section.rows}
    marks["图书馆"] = "S?U"
    ballots = make_ballots(marks, template)
    monkeypatch.setattr(Store, "effective_ballots", lambda self, session: ballots)
    printed.set_session_facts("2026H1", issued=3)
    result = runner.invoke(tally_command, ["--session", "2026H1", "--db", str(db_path), "--by-category"])
    assert result.exit_code == 2, result.output  # a row is pending
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["单位名称", "满意", "基本满意", "不满意"]
    office = next(line for line in lines if line.startswith("局机关"))
    assert office.split() == ["局机关", "2", "1", "0", "0", "0", "0", "0", "3", "66.67%", "86.67%", "基本满意", "1"]
    assert "· 服务对象代表" in result.output
    assert "尚有 1 行待复核" in result.output
    assert "发出测评票3张，收回3张，其中有效3张、作废0张，回收率100.00%" in result.output


def test_cli_tally_refuses_unknown_session_and_bad_rules(runner: CliRunner, printed: Store, db_path: Path) -> None:
    result = runner.invoke(tally_command, ["--session", "2030H1", "--db", str(db_path)])
    assert result.exit_code == 1 and "没有印制过测评票" in result.output
    result = runner.invoke(tally_command, ["--session", "2026H1", "--db", str(db_path), "--rules", "nope.yaml"])
    assert result.exit_code == 1 and "(file) → no such file" in result.output
