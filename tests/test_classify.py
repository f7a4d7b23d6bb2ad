"""Classifier rules on hand-written scores: every row reading and review reason."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from pipeline.common.reasons import BoxSeen, RowWhy
from pipeline.reading.classify import (
    DUST_BOXES,
    DUST_MM,
    ERASED_RESIDUE,
    FAINT_CONTRAST,
    HASTY_EDGE,
    HASTY_SPILL_MM,
    LINE_EXCESS,
    LINE_HIDES,
    LINE_MM,
    NOISY_CORE_MM2,
    NOISY_FIRM,
    SOLID_SHARE,
    SPILL_SLACK_MM,
    STROKE_CORE_MM2,
    STROKE_SHOWS,
    STRUCK_ACROSS,
    STRUCK_REACH_MM,
    THIN_MM,
    Hand,
    Page,
    RowReading,
    blackened,
    box_seen,
    classify_box,
    classify_page,
    classify_row,
    heavy_marks,
    is_dust,
    is_heavy,
    looped_among_whole_fills,
    one_layer,
    page_of,
    scribbled_among_strokes,
    struck_across_the_fills,
    struck_across_the_ticks,
    voters_hand,
)
from pipeline.reading.score import INK_LEVEL, BoxScore
from pipeline.reading.score.grain import STROKE_SIGMAS
from pipeline.reading.score.result import FAINT_STROKE_MM, SEARCH_MM, SPILL_MM, UNMEASURED_MM
from pipeline.reading.settings import ReadingSettings

SETTINGS = ReadingSettings()
OPTIONS = ("满意", "基本满意", "不满意")


def row(
    *fills: float, outside: tuple[float, ...] = (0.0, 0.0, 0.0), shift: float = 0.0, match: float = 0.9
) -> list[BoxScore]:
    # With no ink around it, a box's ink runs nowhere past it (``outside_reach`` 0); with some, how far is unknown.
    return [
        BoxScore(
            "文化馆",
            option,
            index,
            fill,
            outside[index],
            fill,
            0.8 if fill else 0.0,
            0.0,
            shift,
            match,
            outside_reach=0.0 if outside[index] == 0 else UNMEASURED_MM,
        )
        for index, (option, fill) in enumerate(zip(OPTIONS, fills, strict=True))
    ]


def reading(*fills: float, **kwargs: object) -> tuple[str, str | None, str]:
    result = classify_row("文化馆", row(*fills, **kwargs), SETTINGS)  # type: ignore[arg-type]
    return result.reading, result.choice, result.reason


def test_box_classes_follow_thresholds() -> None:
    marks = SETTINGS.marks
    assert classify_box(row(marks.definite, 0, 0)[0], SETTINGS) == "marked"
    assert classify_box(row(marks.definite - 0.001, 0, 0)[0], SETTINGS) == "marginal"
    assert classify_box(row(marks.marginal, 0, 0)[0], SETTINGS) == "marginal"
    assert classify_box(row(marks.marginal - 0.001, 0, 0)[0], SETTINGS) == "unmarked"


@pytest.mark.parametrize(
    ("fills", "expected"),
    [
        ((0.25, 0.0, 0.0), ("choice", "满意", None)),
        ((0.0, 0.0, 0.9), ("choice", "不满意", None)),
        ((0.0, 0.0, 0.0), ("blank", None, None)),
        ((0.25, 0.22, 0.0), ("overvote", None, None)),
        ((0.25, 0.0, 0.95), ("pending", None, RowWhy.CORRECTION)),
        ((0.25, 0.0, 0.8), ("pending", None, RowWhy.CORRECTION)),  # a scribble measured light: still asked
        ((0.0, 0.76, 0.45), ("pending", None, RowWhy.CORRECTION)),  # a box scribbled over beside a tick
        ((0.55, 0.75, 0.0), ("overvote", None, None)),  # two crosses, one drawn smaller
        ((0.2, 0.0, 0.4), ("overvote", None, None)),  # two ticks, one drawn smaller
        ((0.1, 0.0, 0.4), ("pending", None, RowWhy.UNEQUAL)),  # a speck beside a tick
        ((0.7, 0.75, 0.0), ("overvote", None, None)),  # two crosses thickened by a soft photo
        ((0.05, 0.0, 0.0), ("pending", None, RowWhy.MARGINAL)),
        ((0.25, 0.05, 0.0), ("pending", None, RowWhy.MARGINAL)),
    ],
)
def test_row_readings(fills: tuple[float, float, float], expected: tuple[str, str | None, str]) -> None:
    assert reading(*fills) == expected


def test_ink_beside_an_empty_row_is_flagged() -> None:
    assert reading(0.0, 0.0, 0.0, outside=(0.0, 0.2, 0.0)) == ("pending", None, RowWhy.OUTSIDE)


def test_ink_no_darker_than_the_noise_of_its_box_is_no_vote() -> None:
    """On a dark, noisy scan the ink level rises with the paper's noise; a "mark" whose median darkness stays
    under it (noise joined to a trace of erased pencil: fill 0.091, darkness 0.195, level 0.236 measured) is
    asked about, while the same ink on quieter paper counts."""
    marks = SETTINGS.marks
    noisy = replace(row(0.1, 0, 0)[0], darkness=marks.firm + 0.03, ink_level=marks.firm + 0.06)
    assert classify_box(noisy, SETTINGS) == "marginal"
    assert classify_box(replace(noisy, ink_level=marks.firm - 0.05), SETTINGS) == "marked"


def test_on_noisy_paper_a_mark_must_be_larger_in_proportion() -> None:
    """Two dust specks side by side on a dusty, grainy scan blurred into one dark "mark" of fill 0.092 where
    ink had to reach 0.214: on paper that noisy, definite rises in proportion to the ink level."""
    marks = SETTINGS.marks
    specks = replace(row(0.092, 0, 0)[0], darkness=0.31, ink_level=0.214)
    assert classify_box(specks, SETTINGS) == "marginal"
    assert classify_box(replace(specks, ink_level=marks.noisy_paper), SETTINGS) == "marked"
    assert classify_box(replace(specks, fill=0.15), SETTINGS) == "marked"  # a dot that size is a mark


def test_on_noisy_paper_a_pens_solid_stroke_is_a_mark() -> None:
    """Dim-light phone photos (tuning seed 131): a tick covering 0.21 of its box, its ink 0.66 dark under a level of
    0.48 set by the grain, its own line 3.2 mm² above that level, was only marginal (fill under 0.08 × 0.48 / 0.15).
    Grain clears the level in specks; dust on such paper stays under 0.8 mm², pencil under a pen's darkness."""
    marks = SETTINGS.marks
    tick = replace(row(0.21, 0, 0)[0], darkness=0.66, ink_level=0.48, core=3.2)
    assert classify_box(tick, SETTINGS) == "marked"
    assert classify_box(replace(tick, core=NOISY_CORE_MM2 - 0.1), SETTINGS) == "marginal"  # specks, dust
    assert classify_box(replace(tick, darkness=NOISY_FIRM * marks.firm - 0.01), SETTINGS) == "marginal"  # pencil
    assert classify_box(replace(tick, fill=marks.definite - 0.01), SETTINGS) == "marginal"  # too small for a mark
    assert classify_box(replace(tick, border_hidden=marks.taped), SETTINGS) == "marginal"  # seen through tape


def test_a_mark_is_read_only_where_a_like_mark_would_have_shown_in_the_other_boxes() -> None:
    """Tuning seed 131, dim-light and erasure phone photos: a box scribbled out (0.84 dark) counted as the row's one
    mark while the tick beside it was lost under a level of 1.05 (the grain darker than the printed border): read as
    the vote. Where another box's level reaches the counted mark's darkness, the row is asked."""
    scores = row(0.0, 0.4, 0.0)
    scores[1] = replace(scores[1], darkness=0.84, ink_level=0.3)
    assert classify_row("文化馆", scores, SETTINGS).reading == "choice"
    scores[0] = replace(scores[0], ink_level=1.05)
    assert classify_row("文化馆", scores, SETTINGS) == RowReading("文化馆", "pending", None, RowWhy.NOISY)


def test_a_mark_is_read_where_its_pen_would_stand_out_of_the_other_boxes_grain_searched_along_strokes() -> None:
    """Dim-light phone photos (tuning seeds 173–227): a pen tick read as the row's one mark, the other boxes' grain
    raised their ink level to its darkness, so a second tick as dark would have been lost to the level: asked. Yet
    along its strokes such a tick stands out of that grain, as a person sees it: where each other box was searched
    for a straight stroke (``grain_spread``) and shows none standing STROKE_SIGMAS out, and the tick stands
    STROKE_SHOWS times that out of their grain, the row is read. Scores stored before the search (spread 0), a box
    showing a stroke, or a tick too weak to show, still ask."""
    scores = row(0.0, 0.4, 0.0)
    scores[1] = replace(scores[1], darkness=0.4, ink_level=0.3, stroke_response=0.15, grain_spread=0.01)
    grainy = replace(scores[0], ink_level=0.45, stroke_response=0.03, grain_spread=0.01)
    asked = RowReading("文化馆", "pending", None, RowWhy.NOISY)
    assert classify_row("文化馆", [replace(grainy, grain_spread=0.0), scores[1], scores[2]], SETTINGS) == asked
    assert classify_row("文化馆", [grainy, scores[1], scores[2]], SETTINGS).choice == "基本满意"
    assert classify_row("文化馆", [replace(grainy, stroke_response=0.05), scores[1], scores[2]], SETTINGS) == asked
    weak = replace(scores[1], stroke_response=STROKE_SHOWS * STROKE_SIGMAS * 0.01 - 0.001)
    assert classify_row("文化馆", [grainy, weak, scores[2]], SETTINGS) == asked


def test_beside_a_clear_mark_a_speck_of_the_dust_a_page_shows_in_its_boxes_is_no_second_mark() -> None:
    """Tuning seed 373, bad profile (a dusty scanner's glass): sharp specks 0.3–0.5 mm across all over the page, one
    lying in a box beside a row's one tick, were asked as marginal ink (96 such specks in the 113 rows asked). A speck
    no pen's dot is as small as (under DUST_MM across, no stroke's dark line in it, wholly in the box) on a page whose
    boxes show DUST_BOXES such specks is dust. A voter's dot is larger (1.25 mm and up); a speck alone on its page, or
    beside no clear mark, still asks."""
    speck = replace(row(0.03, 0.0, 0.0)[0], darkness=0.25, ink_span=0.5, core=0.3)
    assert is_dust(speck)
    dusty_rows = [[replace(speck, unit=f"空{n}"), *row(0.0, 0.0, 0.0)[1:]] for n in range(DUST_BOXES - 1)]
    dusty_rows = [[replace(score, unit=group[0].unit) for score in group] for group in dusty_rows]
    ticked = [replace(row(0.0, 0.3, 0.0)[1], unit="文化馆"), replace(speck, option=OPTIONS[0])]
    target = [ticked[1], ticked[0], row(0.0, 0.0, 0.0)[2]]
    page = [score for group in dusty_rows for score in group] + target
    assert classify_page(page, SETTINGS)[-1] == RowReading("文化馆", "choice", "基本满意", None)
    assert classify_page(target, SETTINGS)[-1].reason == RowWhy.MARGINAL  # no dust elsewhere: a clerk looks
    dot = replace(target[0], ink_span=DUST_MM + 0.25, core=1.0)  # a pen's dot
    assert classify_page([*page[:-3], dot, *target[1:]], SETTINGS)[-1].reading == "pending"
    assert classify_page([*page[:-3], target[0], *row(0.0, 0.0, 0.0)[1:]], SETTINGS)[-1].reason == RowWhy.MARGINAL


def test_a_light_hands_marks_alone_in_their_rows_are_read_by_the_sheets_own_measure() -> None:
    """Tuning seed 379, red-pen office scans: a red pen through a grey conversion that keeps little of red left every
    mark of a sheet 0.12–0.19 dark, most under ``light``, each alone in its row on a clean page: asked row by row
    (113 of 660 clear rows). Where the sheet's lone marks (HAND_MARKS rows or more) are fainter than ``firm`` as a
    rule, each one no fainter than an eraser leaves of them (ERASED_RESIDUE of that hand) is the voter's mark. A
    fainter one, a hand too few to tell, or a bilevel scan still asks."""
    marks = SETTINGS.marks

    def sheet(*darkness: float, bilevel: bool = False) -> list[BoxScore]:
        return [
            replace(score, unit=f"单位{n}", darkness=dark if score.fill else 0.0, bilevel=bilevel)
            for n, dark in enumerate(darkness)
            for score in row(0.0, 0.25, 0.0)
        ]

    light = 0.13
    assert light < marks.light  # each too faint for a light mark read alone
    assert {(r.reading, r.choice) for r in classify_page(sheet(light, light, 0.14, 0.12), SETTINGS)} == {
        ("choice", "基本满意")
    }
    faint = ERASED_RESIDUE * light - 0.01  # what an eraser leaves of such a mark
    assert classify_page(sheet(light, light, light, faint), SETTINGS)[-1].reason == RowWhy.MARGINAL
    assert {r.reason for r in classify_page(sheet(light, light), SETTINGS)} == {RowWhy.MARGINAL}  # too few
    assert {r.reading for r in classify_page(sheet(light, light, light, bilevel=True), SETTINGS)} == {"pending"}


def test_a_hand_straddling_firm_is_a_light_hand() -> None:
    """Tuning seed 409, long-tick office: a hard pencil's ticks 0.157–0.187 dark, half of them under ``firm``, each
    alone in its row, asked (their median a hair over ``firm``). A hand whose own marks may fall under ``firm`` (its
    median under ``firm`` / ERASED_RESIDUE) is a light hand: its mark under ``firm`` is read. A firmer hand is none,
    and the same mark beside it is asked."""
    marks = SETTINGS.marks

    def sheet(*darkness: float) -> list[BoxScore]:
        return [
            replace(score, unit=f"单位{n}", darkness=dark if score.fill else 0.0)
            for n, dark in enumerate(darkness)
            for score in row(0.0, 0.25, 0.0)
        ]

    pencil = sheet(0.175, 0.18, 0.185, 0.157)
    assert pencil[-2].darkness < marks.firm <= statistics.median([0.175, 0.18, 0.185, 0.157])
    assert page_of(pencil, SETTINGS).light_hand == pytest.approx(0.1775)
    assert classify_page(pencil, SETTINGS)[-1].choice == "基本满意"
    firmer = sheet(0.21, 0.22, 0.23, 0.157)
    assert statistics.median([0.21, 0.22, 0.23, 0.157]) >= marks.firm / ERASED_RESIDUE
    assert page_of(firmer, SETTINGS).light_hand == 0.0
    assert classify_page(firmer, SETTINGS)[-1].reading == "pending"  # a light mark beside a firmer hand: faint


def test_a_light_hand_is_read_among_dust_but_not_beside_a_firm_hand() -> None:
    """Tuning seed 401, red-pen bad: a sheet's ticks 0.11–0.17 dark beside specks of dust 1 mm across in other boxes
    (a dusty page, not a clean one): asked row by row. On a page whose boxes hold DUST_BOXES specks or more, a light
    hand's mark is read where the row's other boxes hold nothing but dust; a speck too large for dust beside it
    still asks. Tuning seed 367, erasure: a sheet of rings 0.30–0.41 dark whose lone marks are rubbed-out gel and
    faint pencil (0.10–0.14): no light hand there, and the gel alone in its row is asked, not read."""
    light = 0.14
    dust = replace(row(0.0, 0.0, 0.0)[2], fill=0.03, darkness=0.25, core=0.4, ink_span=0.9)
    assert is_dust(dust)

    def ticks(n: int, beside: BoxScore) -> list[BoxScore]:
        return [
            replace(score, unit=f"单位{n}", darkness=light if score.fill else score.darkness)
            for score in [*row(0.0, 0.25, 0.0)[:2], beside]
        ]

    dusty = [score for n in range(DUST_BOXES + 1) for score in ticks(n, dust)]
    page = page_of(dusty, SETTINGS)
    assert not page.clean and page.dusty >= DUST_BOXES and page.light_hand == pytest.approx(light)
    assert {(r.reading, r.choice) for r in classify_page(dusty, SETTINGS)} == {("choice", "基本满意")}
    speck = replace(dust, fill=0.045, ink_span=1.5)  # as large as a pen's dot: not dust
    assert not is_dust(speck)
    assert classify_page([*dusty, *ticks(9, speck)], SETTINGS)[-1].reason == RowWhy.MARGINAL
    assert {r.reading for r in classify_page([replace(s, bilevel=True) for s in dusty], SETTINGS)} == {"pending"}

    def ring(n: int) -> list[BoxScore]:
        return [
            replace(score, unit=f"圈{n}", outside=0.2, outside_darkness=0.35, encircled=1.0, edge=0.3)
            if at == 0
            else score
            for at, score in enumerate(row(0.0, 0.0, 0.0))
        ]

    rings = [score for n in range(4) for score in ring(n)]
    gel = [
        replace(score, unit=f"擦{n}", darkness=0.13 if score.fill else 0.0)
        for n in range(3)
        for score in row(0.0, 0.25, 0.0)
    ]
    assert {classify_box(score, SETTINGS) for score in rings if score.outside} == {"circled"}
    assert page_of([*rings, *gel], SETTINGS).light_hand == 0.0
    assert page_of(gel, SETTINGS).light_hand == pytest.approx(0.13)  # alone, the same marks would be a hand


def test_beside_a_clear_mark_a_pens_body_under_a_noisy_level_is_no_noise() -> None:
    """Tuning seed 131, dim-light and erasure phone photos: beside a box scribbled out, a tick (fill 0.16, 0.56 dark
    under a level of 0.63 set by the grain) was dropped as the noise's tail and the scribble read as the vote. Ink
    that dark covering a mark's share of its box is asked about; a grey as faint as grain's is still dropped."""
    scores = row(0.96, 0.16, 0.0)
    scores[0] = replace(scores[0], darkness=0.84, ink_level=0.5)
    scores[1] = replace(scores[1], darkness=0.56, ink_level=0.63, core=0.47)
    assert classify_box(scores[1], SETTINGS) == "marginal"
    assert classify_row("文化馆", scores, SETTINGS).reading == "pending"
    scores[1] = replace(scores[1], darkness=0.3)
    assert classify_row("文化馆", scores, SETTINGS) == RowReading("文化馆", "choice", "满意", None)


def test_ink_along_a_border_is_judged_against_the_row_and_the_page() -> None:
    """A ring drawn tight along a box's border shows only as ``edge``: more of it than the row's cleanest box
    sends the row to a clerk, blank or not, unless every box of the page shows as much (a soft photo)."""
    margin = SETTINGS.marks.edge

    def edged(*edges: float, fills: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> list[BoxScore]:
        return [replace(score, edge=edge) for score, edge in zip(row(*fills), edges, strict=True)]

    assert classify_row("文化馆", edged(0.01, margin + 0.01, 0.0), SETTINGS).reason == RowWhy.EDGE
    assert classify_row("文化馆", edged(0.3, margin + 0.01, 0.0, fills=(0.3, 0, 0)), SETTINGS).reason == RowWhy.EDGE
    assert classify_row("文化馆", edged(0.01, margin - 0.01, 0.0), SETTINGS).reading == "blank"

    def page(*edges: float) -> list[BoxScore]:  # five rows with these edges, then one with a ring
        others = [replace(score, unit=f"{score.unit}{n}") for n in range(5) for score in edged(*edges)]
        return others + edged(0.05, 0.05 + margin + 0.01, 0.05)

    assert {r.reading for r in classify_page(page(0.15, 0.16, 0.17), SETTINGS)} == {"blank"}
    assert classify_page(page(0.0, 0.0, 0.0), SETTINGS)[-1].reason == RowWhy.EDGE


def test_ink_along_a_border_is_judged_against_its_part_of_the_page() -> None:
    """A photo focused on the middle of a tilted sheet is soft at the top: there every empty box's border
    leaves a grey halo, one end of a row more than the other (field sample phone 0000: 0.04 at one end of the
    测评人类别 row, 0.18 at the other, 0.23–0.25 on the row below; 0 on most of the page). Such a box is not a
    ring; a ring in that part of the page, or a box as grey as that in a sharp part, still asks."""
    margin = SETTINGS.marks.edge

    def edged(unit: str, *edges: float) -> list[BoxScore]:
        return [replace(score, unit=unit, edge=edge) for score, edge in zip(row(0, 0, 0), edges, strict=True)]

    sharp = [score for n in range(8) for score in edged(f"单位{n}", 0.0, 0.0, 0.0)]
    soft_row = edged("软", 0.23, 0.24, 0.25)
    top = edged("顶", 0.04, 0.08, 0.04 + margin + 0.1)
    assert {r.reading for r in classify_page(top + soft_row + sharp, SETTINGS)} == {"blank"}
    ring = edged("顶", 0.04, 0.08, 0.25 + margin + 0.05)
    assert classify_page(ring + soft_row + sharp, SETTINGS)[0].reason == RowWhy.EDGE
    # The same row among sharp rows: its grey end stands out, asked.
    assert classify_page(top + sharp, SETTINGS)[0].reason == RowWhy.EDGE
    # A ring round one box in each of three rows raises no halo: it is still asked in the middle row.
    rings = [score for n in range(3) for score in edged(f"圈{n}", 0.0, margin + 0.05, 0.0)]
    assert [r.reason for r in classify_page(rings, SETTINGS)] == [RowWhy.EDGE] * 3


def test_a_row_with_ink_along_every_border_is_misaligned() -> None:
    """Ink along the border of every box of a row, its cleanest too, far beyond the page's usual, where the row's
    borders are found worse than the page's (a fax whose lost scan lines moved the row: the printed borders lie
    beside their masks, every box measures ink, and the row was read as an overvote of three marks; accuracy
    seed 1001): the row goes to a clerk as misaligned."""
    margin = SETTINGS.marks.edge
    quiet = [replace(score, unit=f"{score.unit}{n}", edge=0.01) for n in range(5) for score in row(0, 0, 0)]
    moved = [replace(score, edge=margin + 0.1) for score in row(0.22, 0.11, 0.13, match=0.6)]
    assert classify_page(quiet + moved, SETTINGS)[-1].reason == RowWhy.ALIGNMENT
    # Every box of the page alike (a fax's thickened lines, a soft photo's halo): measured against the page.
    thick = [replace(score, edge=margin + 0.1) for score in quiet]
    assert classify_page(thick + moved, SETTINGS)[-1].reading == "overvote"
    # Borders found as well as elsewhere (a phone photo's grain and halo heavier in one part of the page): read.
    found = [replace(score, border_match=0.9) for score in moved]
    assert classify_page(quiet + found, SETTINGS)[-1].reading == "overvote"


def test_marks_no_wider_than_a_printed_line_are_no_overvote() -> None:
    """A fax that lost a band of scan lines through a row squashed it: each box's printed side lies inside the box, a
    thin straight line in every box, alike in darkness and size (tuning seed 67, fine fax: a tick beside two such
    lines read as an overvote). Two marks are voided only where each spans more than a line both ways (``ink_span``)."""
    lines = classify_row("文化馆", [replace(score, ink_span=1.0) for score in row(0.32, 0.18, 0.21)], SETTINGS)
    assert (lines.reading, lines.reason) == ("pending", RowWhy.ALIGNMENT)
    bodies = [replace(score, ink_span=3.0 if score.fill else 0.0) for score in row(0.32, 0.18, 0.21)]
    assert classify_row("文化馆", bodies, SETTINGS).reading == "overvote"
    # One mark alone spanning as little is read as before (a ring's arc dipping into its box, a flat tick).
    alone = [replace(score, ink_span=1.0 if score.fill else 0.0) for score in row(0.32, 0.0, 0.0)]
    assert classify_row("文化馆", alone, SETTINGS).choice == "满意"


def test_a_ring_all_along_one_border_is_read_only_where_the_row_and_the_page_are_clean() -> None:
    """A ring drawn tight round a box shows as a pen line along its border in every direction
    (``edge_around``). On a clean page, with the row's other boxes clean along their borders, that box is
    the row's mark; a soft photo or a fax shows the printed line's own grey or thickening round every box,
    so there, and wherever the box stands out too little, the row goes to a clerk as before. A hand's ring wobbles
    off the line into the ring around the box; the printed line softer in one box than in its row (tuning seed 197,
    a steep photo) leaves nothing there: asked."""
    marks = SETTINGS.marks
    ring = replace(row(0, 0, 0)[1], edge=2 * marks.edge + 0.05, edge_around=1.0, outside=0.02)

    def with_ring(ring: BoxScore, other_edge: float = 0.0, residue: float = 0.0) -> tuple[str, str | None, str]:
        first, _, last = (replace(score, edge=other_edge) for score in row(0, 0, 0))
        result = classify_row("文化馆", [first, ring, last], SETTINGS, Page(residue=residue))
        return result.reading, result.choice, result.reason

    assert with_ring(ring) == ("choice", "基本满意", None)
    assert with_ring(replace(ring, fill=marks.marginal + 0.01)) == (
        "choice",
        "基本满意",
        None,
    )  # it crosses the corners
    assert with_ring(replace(ring, edge_around=marks.tight_ring - 0.01)) == ("pending", None, RowWhy.EDGE)
    assert with_ring(replace(ring, outside=0.0)) == ("pending", None, RowWhy.EDGE)  # a softer line's flanks
    in_the_middle = replace(ring, centre=0.2, fill=0.05)
    assert with_ring(in_the_middle) == ("pending", None, RowWhy.MARGINAL)
    assert with_ring(replace(ring, border_match=marks.circle_border_match - 0.01)) == ("pending", None, RowWhy.EDGE)
    too_little = replace(ring, edge=2 * marks.edge - 0.01)  # the box does not stand out enough
    assert with_ring(too_little) == ("pending", None, RowWhy.EDGE)
    assert with_ring(ring, other_edge=marks.edge / 2) == ("pending", None, RowWhy.EDGE)  # the row is not clean
    assert with_ring(ring, residue=marks.edge / 2)[0] == "pending"  # nor the page: a soft photo
    beside_a_tick = classify_row("文化馆", [row(0.3, 0, 0)[0], ring, row(0, 0, 0)[2]], SETTINGS)
    assert (beside_a_tick.reading, beside_a_tick.reason) == ("pending", RowWhy.CIRCLE)


def test_two_boxes_filled_solid_alike_are_an_overvote_else_maybe_a_correction() -> None:
    """Two boxes filled solid the same way: nothing shows which would be a correction, so a clerk could only
    call the row 无效, as an overvote is. A correction shows: ink beyond a box (strokes past its sides, ink
    around it), one box's ink much darker (scribbled over again), or a different mark beside it."""
    marks = SETTINGS.marks
    first, second, empty = row(0.95, marks.cancelled, 0)
    assert classify_row("文化馆", [first, second, empty], SETTINGS).reading == "overvote"
    changed = {
        "darker": replace(first, darkness=second.darkness / (marks.alike - 0.05)),
        "ink around it": replace(first, outside=marks.marginal),
        "strokes past its sides": replace(first, crossing=marks.crossing),
    }
    for why, scribbled in changed.items():
        assert classify_row("文化馆", [scribbled, second, empty], SETTINGS).reason == RowWhy.CORRECTION, why
    tick = replace(second, fill=0.3, centre=0.3)
    assert classify_row("文化馆", [first, tick, empty], SETTINGS).reason == RowWhy.CORRECTION


def test_a_line_through_a_box_is_a_streak_unless_the_box_is_scribbled_out() -> None:
    """A scanner streak or a fold runs straight through a box and beyond: the row goes to a clerk as such. A
    box scribbled out solid, the strokes running past its sides, crosses it just as straight; beside a tick
    the clerk is told it may be a correction. Alone, it is the row's mark where the voter fills boxes in on the
    sheet's other rows; on a sheet marked otherwise it may be a mark struck out with loops (the erasure condition's
    tuning seeds 11, 23 and 7 read 7 such rows as votes), and a clerk looks."""
    streak, scribbled = replace(row(0.15, 0, 0)[0], crossing=0.7), replace(row(0.95, 0, 0)[0], crossing=0.7)
    tick = row(0, 0, 0.3)[1:]
    assert classify_row("文化馆", [streak, *tick], SETTINGS).reason == RowWhy.LINE
    assert classify_row("文化馆", [scribbled, *tick], SETTINGS).reason == RowWhy.CORRECTION
    alone = [scribbled, *row(0, 0, 0)[1:]]
    assert classify_row("文化馆", alone, SETTINGS).reason == RowWhy.SCRIBBLED
    # A voter who fills boxes in and spills past them (field fax 0002) filled this one too …
    fills = [replace(scribbled, unit=f"row{index}", outside=0.1, crossing=0.9) for index in range(3)]
    assert classify_row("文化馆", alone, SETTINGS, heavy_elsewhere=fills).choice == "满意"
    # … one whose fills stay inside their boxes struck this one out (held-out seed 1005, now a tuning seed).
    neat_fills = [replace(fill, outside=0.0, crossing=0.0) for fill in fills]
    assert classify_row("文化馆", alone, SETTINGS, heavy_elsewhere=neat_fills).reason == RowWhy.SCRIBBLED
    # Covering most of its box, ink beside it though no stroke runs straight past its sides: struck out too.
    heavy = replace(row(0.76, 0, 0)[0], outside=0.15, crossing=0.44)
    assert classify_row("文化馆", [heavy, *row(0, 0, 0)[1:]], SETTINGS).reason == RowWhy.SCRIBBLED
    neat = replace(row(0.95, 0, 0)[0], outside=0.0)  # a fill inside its box
    assert classify_row("文化馆", [neat, *row(0, 0, 0)[1:]], SETTINGS).choice == "满意"


def test_a_box_blackened_whole_spilling_a_little_all_round_is_a_vote_where_loops_running_on_are_asked() -> None:
    """A box blackened in a hurry (涂黑) covers all of it and spills past its border all round, by a hurried hand's
    little (SPILL_MM): a vote, however much of the ring the spill darkens (field fax 0002 and 0006: four such rows
    of two voters who fill boxes in went to a clerk as scribbled, the spills 0.09-0.22 of their rings). Loops striking
    a mark out run on past its sides (the erasure condition's coils 2.9 mm and more past the border, covering the
    box), strokes leaving paper in the box are no blackened box, nor is pencil light enough to be a rubbed-out
    blackening's residue: all asked, as before."""
    spilled = replace(row(1.0, 0, 0)[0], outside=0.25, crossing=0.6, outside_reach=SPILL_MM - 0.25)
    others = row(0, 0, 0)[1:]
    assert blackened(spilled, SETTINGS)
    assert classify_row("文化馆", [spilled, *others], SETTINGS).choice == "满意"
    fills = [replace(spilled, unit=f"row{index}", outside=0.02, crossing=0.0) for index in range(3)]
    assert classify_row("文化馆", [spilled, *others], SETTINGS, heavy_elsewhere=fills).choice == "满意"
    coil = replace(spilled, outside_reach=SPILL_MM + 0.875)
    assert not blackened(coil, SETTINGS)
    assert classify_row("文化馆", [coil, *others], SETTINGS).reason == RowWhy.SCRIBBLED
    assert classify_row("文化馆", [coil, *others], SETTINGS, heavy_elsewhere=fills).reason == RowWhy.SCRIBBLED
    holes = replace(spilled, fill=0.9)
    assert classify_row("文化馆", [holes, *others], SETTINGS).reason == RowWhy.SCRIBBLED
    rubbed = replace(spilled, darkness=SETTINGS.marks.overvote_darkness - 0.05)  # pencil, perhaps rubbed out
    assert classify_row("文化馆", [rubbed, *others], SETTINGS).reason == RowWhy.SCRIBBLED
    # Beside another mark it is still a correction or an overvote, never this row's vote by itself.
    assert classify_row("文化馆", [spilled, *row(0, 0, 0.3)[1:]], SETTINGS).reading == "pending"


def test_a_box_blackened_in_a_hurry_spills_as_far_as_the_voters_other_fills_do() -> None:
    """A hurried back-and-forth turned a little reaches past the box's corners: 2.0–3.4 mm (tuning seed 173, steep
    phone photos: four such fills of one voter asked as scribbled on one sheet). On a sheet whose voter fills boxes
    in and whose other fills spill as far (less SPILL_SLACK_MM), a box blackened whole up to HASTY_SPILL_MM past its
    border is a vote; on a sheet of neat fills or of ticks, or further than HASTY_SPILL_MM, it is asked as before
    (loops striking a mark out reach 3.1–3.4 mm past a box they cover). Nor where its ink does not lie along the
    border all round, as loops crossing it here and there do not (tuning seed 241, erasure office: a coil 2.75 mm
    past its box on a sheet of fills, ``edge`` 0.48, read as the vote)."""
    others = row(0, 0, 0)[1:]
    far = replace(row(1.0, 0, 0)[0], outside=0.45, crossing=0.6, outside_reach=HASTY_SPILL_MM - 0.3, edge=0.93)

    def fills(reach: float) -> list[BoxScore]:
        return [replace(far, unit=f"row{index}", outside_reach=reach if index else 0.0) for index in range(4)]

    def read(score: BoxScore, heavy: list[BoxScore]) -> RowReading:
        return classify_row("文化馆", [score, *others], SETTINGS, heavy_elsewhere=heavy)

    assert blackened(far, SETTINGS, fills(far.outside_reach - SPILL_SLACK_MM))
    assert read(far, fills(far.outside_reach - SPILL_SLACK_MM)).choice == "满意"
    assert read(far, fills(far.outside_reach - SPILL_SLACK_MM - 0.25)).reason == RowWhy.SCRIBBLED
    assert read(far, fills(0.0)).reason == RowWhy.SCRIBBLED  # neat fills
    assert read(far, []).reason == RowWhy.SCRIBBLED  # ticks
    beyond = replace(far, outside_reach=HASTY_SPILL_MM + 0.25)
    assert read(beyond, fills(beyond.outside_reach)).reason == RowWhy.SCRIBBLED
    coil = replace(far, outside=0.25, crossing=0.81, outside_reach=HASTY_SPILL_MM, edge=0.48)
    assert not blackened(coil, SETTINGS, fills(HASTY_SPILL_MM))
    assert read(coil, fills(HASTY_SPILL_MM)).reason == RowWhy.SCRIBBLED
    assert read(replace(coil, edge=HASTY_EDGE), fills(HASTY_SPILL_MM)).choice == "满意"


def test_ink_level_with_a_side_no_wider_than_a_stroke_is_asked_about() -> None:
    """Held-out 1011, a standard fax: an empty box's top border came through a scan line below its mask, a band of
    ink 0.5 mm high across the box (fill 0.105, darkness 0.44), and the row read 基本满意. A mark spanning no more
    than a pen stroke's width one way (THIN_MM) is no tick, cross, fill or ring: asked, alone or beside a mark."""
    band = replace(row(0, 0.105, 0)[1], ink_span=0.5)
    assert classify_row("文化馆", [row(0, 0, 0)[0], band, row(0, 0, 0)[2]], SETTINGS).reason == RowWhy.ALIGNMENT
    assert classify_row("文化馆", [row(0.3, 0, 0)[0], band, row(0, 0, 0)[2]], SETTINGS).reason == RowWhy.ALIGNMENT
    tick = replace(band, ink_span=THIN_MM + 0.2)
    assert classify_row("文化馆", [row(0, 0, 0)[0], tick, row(0, 0, 0)[2]], SETTINGS).choice == "基本满意"


def test_heavy_marks_are_the_voters_way_only_where_they_mark_most_rows() -> None:
    """A voter who fills boxes in does so on most rows; one who ticks and strikes marks out with loops does that on
    a few, however many (tuning seed 11: four rows struck out on a sheet of six ticks vouched for each other as
    the voter's way, one of them read as the vote). Half the sheet's marks or fewer: no hand to judge by."""
    struck = replace(row(0.88, 0, 0)[0], outside=0.15, crossing=0.7)

    def sheet(heavy: int, ticks: int) -> dict[str, list[BoxScore]]:
        rows = {
            f"h{index}": [replace(score, unit=f"h{index}") for score in [struck, *row(0, 0, 0)[1:]]]
            for index in range(heavy)
        }
        rows |= {f"t{index}": [replace(score, unit=f"t{index}") for score in row(0, 0.3, 0)] for index in range(ticks)}
        return rows

    def marked(rows: dict[str, list[BoxScore]]) -> list[BoxScore]:
        return [score for group in rows.values() for score in group if classify_box(score, SETTINGS) == "marked"]

    assert len(heavy_marks(marked(sheet(4, 3)), SETTINGS)) == 4
    assert heavy_marks(marked(sheet(4, 4)), SETTINGS) == []
    readings = classify_page([score for group in sheet(4, 6).values() for score in group], SETTINGS)
    assert {(r.reading, r.reason) for r in readings if r.unit.startswith("h")} == {("pending", RowWhy.SCRIBBLED)}
    readings = classify_page([score for group in sheet(6, 3).values() for score in group], SETTINGS)
    assert {r.reading for r in readings} == {"choice"}


def test_a_mark_struck_over_with_loops_on_a_sheet_of_ticks_is_asked_about() -> None:
    """Held-out seed 1008 (erasure): a pencil mark struck out with loops, alone in its row, covering the box's whole
    middle and spilling past it (outside 0.11–0.13), on a sheet of ticks (middle 0.2–0.55, outside 0.02–0.05), read
    满意 where the voter meant 弃权. Unlike the voter's way: asked. Spilling no further than their ticks, or on a
    sheet whose voter fills boxes in: read."""

    def sheet(mark: BoxScore, usual: BoxScore) -> dict[str, RowReading]:
        rows = [replace(score, unit="loops") for score in [mark, *row(0, 0, 0)[1:]]]
        for index in range(4):
            rows += [replace(score, unit=f"r{index}") for score in [usual, *row(0, 0, 0)[1:]]]
        return {result.unit: result for result in classify_page(rows, SETTINGS)}

    tick = replace(row(0.3, 0, 0)[0], outside=0.03)
    loops = replace(row(0.5, 0, 0)[0], centre=0.95, outside=0.12, crossing=0.125)
    assert (sheet(loops, tick)["loops"].reading, sheet(loops, tick)["loops"].reason) == ("pending", RowWhy.SCRIBBLED)
    assert sheet(replace(loops, outside=0.05), tick)["loops"].choice == "满意"
    fill = replace(row(0.95, 0, 0)[0], outside=0.03)
    assert sheet(loops, fill)["loops"].choice == "满意"


def test_a_heavy_mark_running_on_past_its_box_on_a_sheet_of_ticks_is_asked_about() -> None:
    """Tuning seed 31, erasure fax: a tick struck out with a coil slanted out of the box's corner (fill 0.69, middle
    0.87, 0.057 of its ring inked, 2.1 mm past the border), on a sheet of ticks, was read 满意 where the voter meant
    弃权: just under every share the other rules ask at. How far its ink runs past the box (STRUCK_REACH_MM) is the
    coil's, covering far more than the voter's ticks (STRUCK_HEAVIER); a box filled in keeps its strokes within it. On
    a sheet whose voter fills boxes in, or marks every row alike with a thick pen, their hand judges."""

    def sheet(mark: BoxScore, usual: BoxScore) -> RowReading:
        rows = [replace(score, unit="coil") for score in [mark, *row(0, 0, 0)[1:]]]
        for index in range(4):
            rows += [replace(score, unit=f"r{index}") for score in [usual, *row(0, 0, 0)[1:]]]
        return next(result for result in classify_page(rows, SETTINGS) if result.unit == "coil")

    tick = replace(row(0.25, 0, 0)[0], outside=0.025, centre=0.35, outside_reach=3.0)
    coil = replace(row(0.69, 0, 0)[0], outside=0.057, centre=0.87, darkness=0.85, outside_reach=2.125)
    struck = sheet(coil, tick)
    assert (struck.reading, struck.reason) == ("pending", RowWhy.SCRIBBLED)
    assert sheet(replace(coil, outside_reach=STRUCK_REACH_MM - 0.125), tick).choice == "满意"  # filled within it
    fill = replace(row(0.9, 0, 0)[0], outside=0.03, centre=1.0, outside_reach=2.0)
    assert sheet(coil, fill).choice == "满意"
    # A thick pen's crosses on a soft photo, all alike, run as far past their boxes (tuning seed 41, phone): read.
    cross = replace(row(0.57, 0, 0)[0], outside=0.02, centre=0.85, outside_reach=1.75)
    assert sheet(replace(cross, fill=0.61), cross).choice == "满意"
    # Where the reach was not measured (an office form's boxes), the other rules alone judge.
    assert sheet(replace(coil, outside_reach=UNMEASURED_MM), tick).choice == "满意"


def test_an_overvote_of_two_light_marks_may_be_an_erasure() -> None:
    """Rubbed-out pencil can leave residue as dark as a light pencil tick beside it (tuning seed 23: 0.189 beside
    0.195, read 多选): two marks alike but both lighter than pen go to a clerk; two pen marks are an overvote."""
    light = [replace(score, darkness=0.19) for score in row(0.3, 0.0, 0.35)]
    assert classify_row("文化馆", light, SETTINGS).reason == RowWhy.CORRECTION
    pen = [replace(score, darkness=0.5) for score in row(0.3, 0.0, 0.35)]
    assert classify_row("文化馆", pen, SETTINGS).reading == "overvote"


def test_blank_means_no_ink_at_all() -> None:
    """A small tick that missed a small printed □ leaves little ink beside it: never read as 弃权."""
    little = SETTINGS.marks.marginal
    assert reading(0.0, 0.0, 0.0, outside=(0.0, little, 0.0)) == ("pending", None, RowWhy.OUTSIDE)
    assert reading(0.0, 0.0, 0.0, outside=(0.0, little - 0.001, 0.0)) == ("blank", None, None)
    assert reading(0.3, 0.0, 0.0, outside=(0.0, little, 0.0)) == ("choice", "满意", None)  # beside a vote: a slip


def test_blank_means_light_pencil_would_have_shown() -> None:
    """弃权 also claims that a light pencil mark would have shown. Where a box's noise raised its ink level to
    `firm` (a dark, grainy photo), HB pencil is lost in it: the empty row goes to a clerk. A firm mark on such
    paper is still read."""
    firm = SETTINGS.marks.firm

    def at_level(level: float, *fills: float) -> tuple[str, str | None, str]:
        scores = [replace(score, ink_level=level) for score in row(*fills)]
        result = classify_row("文化馆", scores, SETTINGS)
        return result.reading, result.choice, result.reason

    assert at_level(firm - 0.01, 0.0, 0.0, 0.0) == ("blank", None, None)
    assert at_level(firm, 0.0, 0.0, 0.0) == ("pending", None, RowWhy.NOISY)
    assert at_level(firm + 0.1, 0.3, 0.0, 0.0) == ("choice", "满意", None)


def test_on_a_fax_blank_means_the_voters_ink_came_through() -> None:
    """A fax's threshold wipes a light ink out. Where the voter's marks on the sheet came through solid, an empty
    row is 弃权; where they came through broken (their median darkness under SOLID), or too few to tell, the
    threshold may have wiped this row's mark: the clerk checks the paper. Not on a grey scan."""
    empty = [replace(score, bilevel=True) for score in row(0.0, 0.0, 0.0)]

    def read(scores: list[BoxScore], hand: Hand | None) -> tuple[str, str | None]:
        result = classify_row("文化馆", scores, SETTINGS, page_of(scores, SETTINGS), hand=hand)
        return result.reading, result.reason

    assert read(empty, Hand(0.7, solid=True)) == ("blank", None)
    assert read(empty, Hand(0.3, solid=False)) == ("pending", RowWhy.DROPPED)
    assert read(empty, None) == ("pending", RowWhy.DROPPED)
    grey = [replace(score, bilevel=False) for score in empty]
    assert read(grey, Hand(0.3, solid=False)) == ("blank", None)
    assert read(grey, None) == ("blank", None)
    # A sheet whose marks came through broken: its empty rows asked, its clear marks read.
    sheet = [
        *empty,
        *(replace(score, unit="图书馆", bilevel=True, darkness=0.3) for score in row(0.3, 0.0, 0.0)),
        *(replace(score, unit="博物馆", bilevel=True, darkness=0.3) for score in row(0.0, 0.3, 0.0)),
        *(replace(score, unit="体育中心", bilevel=True, darkness=0.3) for score in row(0.0, 0.0, 0.3)),
    ]
    readings = {result.unit: (result.reading, result.reason) for result in classify_page(sheet, SETTINGS)}
    assert readings["文化馆"] == ("pending", RowWhy.DROPPED)
    assert readings["图书馆"] == ("choice", None)
    solid = [replace(score, darkness=0.7) if score.fill else score for score in sheet]
    assert {result.unit: result.reading for result in classify_page(solid, SETTINGS)}["文化馆"] == "blank"
    # A standard fax draws a pen's strokes a scan line or two thin: as dark after the blur as a broken line, but
    # most of their ink is one firm piece (tuning seed 131's standard faxes: 0.55–0.85 where the pen was well
    # darker than the threshold, 0.15–0.39 where it was near it).
    thin = [replace(score, core_share=0.75) if score.fill else score for score in sheet]
    assert {result.unit: result.reading for result in classify_page(thin, SETTINGS)}["文化馆"] == "blank"
    dotted = [replace(score, core_share=0.35) if score.fill else score for score in sheet]
    assert {result.unit: result.reason for result in classify_page(dotted, SETTINGS)}["文化馆"] == RowWhy.DROPPED
    # Three solid marks in one row tell nothing of the voter's hand (tuning seed 131, fine fax: a sheet whose every
    # tick the threshold wiped out, one row inked across by repeated scan lines).
    one_row = [*empty, *(replace(score, unit="图书馆", bilevel=True, core_share=0.8) for score in row(0.3, 0.3, 0.3))]
    assert {result.unit: result.reason for result in classify_page(one_row, SETTINGS)}["文化馆"] == RowWhy.DROPPED


def test_ink_around_the_marked_box_is_a_tick_leaving_it() -> None:
    # As much as the longest legs measured (long ticks up to 0.147); far more is asked (``scribbled``, below).
    assert reading(0.25, 0.0, 0.0, outside=(0.15, 0.0, 0.0)) == ("choice", "满意", None)


def test_a_mark_with_a_mass_of_ink_around_it_may_be_crossed_out() -> None:
    """A tick crossed out by loops scribbled over it and past the box (field sample office 0000: the row's one mark,
    read 不满意, where the voter had struck it out; outside 0.24): more ink around the one mark than any tick's leg
    leaves goes to a clerk. Ink coming up from the row below (a long tick's leg) is not the mark's own."""
    marks = SETTINGS.marks
    assert reading(0.36, 0.0, 0.0, outside=(marks.scribbled + 0.04, 0.0, 0.0)) == ("pending", None, RowWhy.SCRIBBLED)
    assert reading(0.36, 0.0, 0.0, outside=(marks.scribbled - 0.05, 0.0, 0.0)) == ("choice", "满意", None)
    leg, *others = row(0.36, 0.0, 0.0, outside=(marks.scribbled + 0.04, 0.0, 0.0))
    from_below = replace(leg, outside_from_below=0.8)
    assert classify_row("文化馆", [from_below, *others], SETTINGS).choice == "满意"
    # A ring round the box dipping into it (field phone 0003): its middle empty, it is a circled vote.
    ring = replace(leg, fill=0.1, centre=0.0, darkness=0.32, encircled=1.0, outside=0.27)
    assert classify_row("文化馆", [ring, *others], SETTINGS).choice == "满意"
    assert classify_row("文化馆", [replace(ring, centre=0.05), *others], SETTINGS).reason == RowWhy.SCRIBBLED


def test_poor_alignment_flags_even_a_clear_mark() -> None:
    assert reading(0.25, 0.0, 0.0, shift=SETTINGS.alignment.max_box_shift_mm + 0.1)[2] == RowWhy.ALIGNMENT
    assert reading(0.25, 0.0, 0.0, match=SETTINGS.alignment.min_border_match - 0.01)[2] == RowWhy.ALIGNMENT


def test_a_row_moved_whole_is_read_where_its_empty_boxes_vouch_for_where_it_was_found() -> None:
    """Field fax 0009: the fax's feed moved a row 0.76-0.88 mm off the page's fit, over max_box_shift_mm; its borders
    were found there (its empty boxes matched as well as the page's), and its cross was asked as misaligned. A row
    found whole within the search is read; not where a border lies at the search's edge (one further off would be
    found there), nor where its empty boxes match worse than the page's, nor with fewer than two empty boxes."""
    page = Page(match=0.85)
    moved = row(0.47, 0.0, 0.0, shift=0.88, match=0.85)
    assert classify_row("文化馆", moved, SETTINGS, page).choice == "满意"
    at_the_edge = row(0.47, 0.0, 0.0, shift=SEARCH_MM, match=0.85)
    assert classify_row("文化馆", at_the_edge, SETTINGS, page).reason == RowWhy.ALIGNMENT
    poorly = [moved[0], *(replace(score, border_match=0.85 - 0.15) for score in moved[1:])]
    assert classify_row("文化馆", poorly, SETTINGS, page).reason == RowWhy.ALIGNMENT
    one_empty = [moved[0], replace(moved[1], fill=0.005), moved[2]]  # a speck under the marginal fill
    assert classify_row("文化馆", one_empty, SETTINGS, page).reason == RowWhy.ALIGNMENT


def test_a_heavy_mark_hides_its_own_border_but_not_the_others() -> None:
    hidden = SETTINGS.alignment.border_hidden_fill
    heavy, *others = row(hidden, 0.0, 0.0)
    covered = replace(heavy, border_match=0.1)
    assert classify_row("文化馆", [covered, *others], SETTINGS).choice == "满意"
    lighter = replace(covered, fill=hidden - 0.01, centre=hidden - 0.01)
    assert classify_row("文化馆", [lighter, *others], SETTINGS).reason == RowWhy.ALIGNMENT
    misplaced = replace(others[0], border_match=0.1)
    assert classify_row("文化馆", [covered, misplaced, others[1]], SETTINGS).reason == RowWhy.ALIGNMENT


def test_a_thick_tick_over_its_border_hides_it_where_the_row_vouches_for_its_place() -> None:
    """Thick marker ticks reaching into the middle and out across the border found it at 0.43 (field sample bad
    0009, four rows sent to a clerk as misaligned): where the row's other boxes are found as well as the page's,
    the row is in its place and the tick is read. A border found off its place puts no ink in the middle, and a
    row whose other boxes are found poorly vouches for nothing: both still ask."""
    limits, marks = SETTINGS.alignment, SETTINGS.marks
    tick, *others = row(0.47, 0.0, 0.0, outside=(0.16, 0.0, 0.0), match=0.85)
    thick = replace(tick, border_match=limits.min_border_match - 0.02, centre=0.8)
    page = Page(match=0.85)
    assert classify_row("文化馆", [thick, *others], SETTINGS, page).choice == "满意"
    off_its_place = replace(thick, centre=0.0)
    assert classify_row("文化馆", [off_its_place, *others], SETTINGS, page).reason == RowWhy.ALIGNMENT
    inside = replace(thick, outside=marks.outside - 0.01)
    assert classify_row("文化馆", [inside, *others], SETTINGS, page).reason == RowWhy.ALIGNMENT
    poorly = [replace(other, border_match=0.85 - 0.15) for other in others]
    assert classify_row("文化馆", [thick, *poorly], SETTINGS, page).reason == RowWhy.ALIGNMENT


def test_faint_ink_is_never_a_definite_mark() -> None:
    faint = BoxScore("文化馆", "满意", 0, 0.3, 0.0, 0.3, SETTINGS.marks.firm - 0.01, 0.0, 0.0, 0.9)
    others = row(0.0, 0.0, 0.0)[1:]
    result = classify_row("文化馆", [faint, *others], SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.MARGINAL)


def test_ink_in_scattered_pieces_is_no_definite_mark() -> None:
    """Specks adding up to a tick's fill are asked about; a mark with a speck beside it is still a mark."""
    definite = SETTINGS.marks.definite
    specks = BoxScore("文化馆", "满意", 0, definite + 0.01, 0.0, 0.02, 0.5, 0.0, 0.0, 0.9, scattered=0.05)
    tick_and_speck = BoxScore("文化馆", "满意", 0, 0.25, 0.0, 0.2, 0.5, 0.0, 0.0, 0.9, scattered=0.05)
    others = row(0.0, 0.0, 0.0)[1:]
    result = classify_row("文化馆", [specks, *others], SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.MARGINAL)
    assert classify_row("文化馆", [tick_and_speck, *others], SETTINGS).choice == "满意"


def test_shipped_settings_file_is_valid_and_matches_the_defaults() -> None:
    from pipeline.reading.settings import DEFAULT_SETTINGS_FILE, load_settings

    assert DEFAULT_SETTINGS_FILE.exists()
    assert load_settings() == ReadingSettings()


def test_bad_settings_file_names_the_field(tmp_path: object) -> None:
    from pathlib import Path

    from pipeline.ballot.template import TemplateInvalid
    from pipeline.reading.settings import load_settings

    path = Path(str(tmp_path)) / "bad.yaml"
    path.write_text("marks:\n  definite: 2\n  colour: red\n", encoding="utf-8")
    with pytest.raises(TemplateInvalid) as caught:
        load_settings(path)
    text = caught.value.table()
    assert "marks.definite" in text and "marks.colour" in text


def test_a_speck_beside_a_tick_is_not_an_overvote() -> None:
    assert reading(0.3, 0.0, 0.1) == ("pending", None, "unequal")
    assert reading(0.3, 0.0, 0.2) == ("overvote", None, None)


def test_on_a_fax_a_speck_beside_a_solid_mark_is_the_scans_noise() -> None:
    """A stray pixel or two of a bilevel scan, blurred, beside a mark whose pen came through solid: no second mark.
    Beside a mark in a light ink broken into dots, a box scribbled over, or on a grey scan: asked as before."""
    tick = replace(row(0.3, 0.0, 0.0)[0], darkness=0.7, bilevel=True)
    speck = replace(row(0.0, 0.02, 0.0)[1], darkness=0.2, bilevel=True)
    empty = replace(row(0.0, 0.0, 0.0)[2], bilevel=True)

    def read(*scores: BoxScore) -> tuple[str, str | None]:
        result = classify_row("文化馆", list(scores), SETTINGS, page_of(list(scores), SETTINGS))
        return result.reading, result.reason

    assert read(tick, speck, empty) == ("choice", None)
    grey = [replace(score, bilevel=False) for score in (tick, speck, empty)]
    assert read(*grey) == ("pending", "marginal")
    assert read(replace(tick, darkness=0.3), speck, empty) == ("pending", "marginal")  # a light ink, dithered
    # … unless most of its ink is one firm piece: a thin stroke kept solid (a standard fax's pen)
    assert read(replace(tick, darkness=0.3, core_share=0.75), speck, empty) == ("choice", None)
    assert read(replace(tick, darkness=0.3, core_share=0.35), speck, empty) == ("pending", "marginal")
    assert read(replace(tick, fill=0.7), speck, empty) == ("pending", "marginal")  # scribbled over: a correction?
    assert read(tick, replace(speck, fill=0.06), empty) == ("pending", "marginal")  # more than a speck
    assert read(tick, replace(speck, scattered=0.01), empty) == ("pending", "marginal")  # pieces: a broken stroke
    assert read(tick, replace(speck, darkness=0.6), empty) == ("pending", "marginal")  # a solid stroke's tip
    # a stroke's end: the rest of it runs on past the border (an overvote's second tick drawn over the box's corner)
    assert read(tick, replace(speck, outside=0.03, outside_reach=1.75), empty)[0] == "pending"


def circled(option: int, *, centre: float = 0.0, fill: float = 0.04, outside: float = 0.15) -> BoxScore:
    """A ring round box ``option``: ink in most directions around it, the middle empty."""
    return BoxScore("文化馆", OPTIONS[option], option, fill, outside, centre, 0.7, 0.0, 0.0, 0.9, encircled=0.83)


def test_a_printed_border_off_its_mask_on_a_fax_is_no_ring() -> None:
    """Tuning seed 23 (standard fax): a box's printed lines, drawn thick and a pixel off their masks, left long
    straight pieces beside the top and bottom sides (encircled 1.0 once the hidden sides were bridged) but 1.6 % of
    the ring around the box: an empty row read 不满意. A ring drawn round a box puts its ink in that ring (0.09 and
    more measured): this one is asked about as ink beside the box."""
    off = replace(circled(2), fill=0.0, outside=0.0158, encircled=1.0)
    assert classify_box(off, SETTINGS) != "circled"
    page = Page(match=0.85)  # the row's other borders vouch for a ring lying over this one's
    for found in (off, replace(off, border_match=0.5)):  # found where it is, or lower (a ring over its border)
        result = classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], found], SETTINGS, page)
        assert (result.reading, result.reason) == ("pending", RowWhy.OUTSIDE)
        ring = replace(found, outside=SETTINGS.marks.outside)
        assert classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], ring], SETTINGS, page).choice == OPTIONS[2]


def test_a_circled_box_is_the_rows_choice_when_it_is_the_only_mark() -> None:
    scores = row(0.0, 0.0, 0.0)
    scores[1] = circled(1)
    assert classify_box(scores[1], SETTINGS) == "circled"
    result = classify_row("文化馆", scores, SETTINGS)
    assert (result.reading, result.choice, result.reason) == ("choice", "基本满意", None)


def test_a_circled_box_is_read_only_where_a_line_as_dark_would_have_shown_in_the_other_boxes() -> None:
    """As a tick (:func:`test_a_mark_is_read_only_where_a_like_mark_would_have_shown_in_the_other_boxes`): a ring's
    pen line (0.7 dark in its box, 0.5 round it) beside a box whose grain reaches that darkness, where a tick would
    be lost."""
    scores = row(0.0, 0.0, 0.0)
    scores[1] = replace(circled(1), outside_darkness=0.5, ink_level=0.3)
    assert classify_row("文化馆", scores, SETTINGS).choice == "基本满意"
    scores[2] = replace(scores[2], ink_level=0.7)
    assert classify_row("文化馆", scores, SETTINGS) == RowReading("文化馆", "pending", None, RowWhy.NOISY)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param((0.3, 0.0), id="a tick in another box"),
        pytest.param((0.03, 0.0), id="a faint mark in another box"),
        pytest.param((0.0, 0.2), id="ink beside another box"),
    ],
)
def test_a_circled_box_with_other_ink_in_the_row_goes_to_a_clerk(other: tuple[float, float]) -> None:
    fill, outside = other
    scores = row(fill, 0.0, 0.0, outside=(outside, 0.0, 0.0))
    scores[2] = circled(2)
    result = classify_row("文化馆", scores, SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.CIRCLE)


def test_a_ring_round_a_misplaced_border_is_no_circle() -> None:
    """A border found in the wrong place leaves its own printed line beside the box, all round it: that
    "ring" is no vote, the row goes to a clerk — where the row's other borders were found poorly too, or where
    this one lies farther off the fit than theirs."""
    marks = SETTINGS.marks
    page = Page(match=0.8)
    scores = row(0.0, 0.0, 0.0, match=0.8)
    scores[0] = replace(circled(0), border_match=marks.circle_border_match - 0.05, shift_mm=0.5)
    assert classify_box(scores[0], SETTINGS) == "marginal"
    assert classify_row("文化馆", scores, SETTINGS, page).reading == "pending"
    poorly_found = [scores[0], *(replace(score, border_match=page.match - 0.15) for score in scores[1:])]
    poorly_found[0] = replace(poorly_found[0], shift_mm=0.0)
    assert classify_row("文化馆", poorly_found, SETTINGS, page).reading == "pending"


def test_a_ring_over_its_boxs_border_is_read_where_the_row_vouches_for_the_border() -> None:
    """An ellipse drawn through a box's corners, or a thick ring hugging it, lies over the printed border and
    lowers its match (field sample bad 0007: 0.43–0.54, the rows' other boxes 0.79–0.81). Where the row's other
    borders are found as well as the page's and this one lies where theirs do, the border is where it is: the
    ring is the row's vote, even below the match a row is trusted at, which its ink explains."""
    marks = SETTINGS.marks
    page = Page(match=0.8)
    scores = row(0.0, 0.0, 0.0, match=0.8)
    for match in (marks.circle_border_match - 0.05, SETTINGS.alignment.min_border_match - 0.02):
        scores[1] = replace(circled(1, fill=0.03), border_match=match, shift_mm=0.125)
        result = classify_row("文化馆", scores, SETTINGS, page)
        assert (result.reading, result.choice) == ("choice", "基本满意")
    assert classify_row("文化馆", [scores[0], replace(scores[1], centre=0.1), scores[2]], SETTINGS, page).reading == (
        "pending"
    )  # ink in its middle: no ring
    with_a_tick = classify_row("文化馆", [row(0.3, 0, 0, match=0.8)[0], scores[1], scores[2]], SETTINGS, page)
    assert (with_a_tick.reading, with_a_tick.reason) == ("pending", RowWhy.CIRCLE)


def test_ink_in_the_middle_is_no_circle() -> None:
    """A cross or a tick covers many directions too, but crosses the box's middle: not a ring."""
    assert classify_box(circled(0, centre=0.05, fill=0.05), SETTINGS) == "marginal"
    assert classify_box(circled(0, centre=0.3, fill=0.3), SETTINGS) == "marked"


def test_a_faint_trace_beside_a_clear_mark_is_grain() -> None:
    """Grain on a photo leaves a faint trace in an empty box; beside one clear mark it is no second mark.
    A trace that is not faint, or beside a weak mark, still goes to a clerk."""
    scores = row(0.35, 0.03, 0.0)
    grain = BoxScore("文化馆", "基本满意", 1, 0.03, 0.0, 0.03, SETTINGS.marks.trace - 0.02, 0.0, 0.0, 0.9)
    result = classify_row("文化馆", [scores[0], grain, scores[2]], SETTINGS)
    assert (result.reading, result.choice) == ("choice", "满意")
    pencil = BoxScore("文化馆", "基本满意", 1, 0.03, 0.0, 0.03, 0.2, 0.0, 0.0, 0.9)
    assert classify_row("文化馆", [scores[0], pencil, scores[2]], SETTINGS).reason == RowWhy.MARGINAL
    weak = row(SETTINGS.marks.definite + 0.01, 0.0, 0.0)
    assert classify_row("文化馆", [weak[0], grain, weak[2]], SETTINGS).reason == RowWhy.MARGINAL


def test_ink_under_its_boxs_noise_level_beside_a_clear_mark_is_no_second_mark() -> None:
    """Field phone 0001 and 0007: grain on a photo, joined into pieces covering a tenth of a box, its median darkness
    (0.08–0.115) under the level the box's noise set (0.10–0.13), beside the voter's firm tick: asked as a possible
    second mark. Under its box's level it is the noise's own tail (or what an eraser or tape left), however large;
    at the level, or beside a weak mark, a clerk still looks."""
    scores = row(0.35, 0.0, 0.0)
    grain = replace(scores[1], fill=0.12, centre=0.05, darkness=0.105, ink_level=0.125)
    result = classify_row("文化馆", [scores[0], grain, scores[2]], SETTINGS)
    assert (result.reading, result.choice) == ("choice", "满意")
    level = replace(grain, darkness=grain.ink_level)
    assert classify_row("文化馆", [scores[0], level, scores[2]], SETTINGS).reason == RowWhy.MARGINAL
    weak = row(SETTINGS.marks.definite + 0.01, 0.0, 0.0)
    assert classify_row("文化馆", [weak[0], grain, weak[2]], SETTINGS).reason == RowWhy.MARGINAL
    # Held-out seed 1007 (a dark, grainy photo): two crosses of one pen, 0.387 and 0.385 dark, one a hair under its
    # box's level (0.387), the other over its own (0.371): as dark as the clear mark, never the noise's tail.
    cross = replace(scores[0], fill=0.35, darkness=0.385, ink_level=0.371)
    twin = replace(scores[1], fill=0.44, centre=0.72, darkness=0.3865, ink_level=0.3871)
    assert classify_row("文化馆", [cross, twin, scores[2]], SETTINGS).reason == RowWhy.MARGINAL


def test_beside_a_box_scribbled_over_a_tick_as_dark_as_the_voters_marks_is_no_noise() -> None:
    """Tuning seed 151 (a dim, grainy photo): a box scribbled over (fill 0.87, 0.46 dark: overlapping strokes measure
    darker than one) beside a tick in the same pen a hair under its box's level (0.32 against 0.335), the voter's
    marks on the sheet 0.34 as a rule: the tick was dropped as the noise's tail, being under 0.7 of the scribble's
    darkness, and the scribble read as the vote. Beside a mark covering most of its box the voter's marks as a rule
    are the pen's measure where lighter: the tick is kept and the row asked. With no hand to judge by (tuning seed 163,
    a dim photo with two marked rows: a tick of 0.323 beside a scribble of 0.475), one layer of the two the scribble's
    strokes overlap in is (:func:`one_layer`): the tick is asked too, grain under a third of the scribble's darkness
    is not."""
    ticks = [
        replace(score, unit=f"单位{n}", darkness=0.34 if score.fill else 0.0, ink_level=0.3)
        for n in range(3)
        for score in row(0.35, 0.0, 0.0)
    ]
    scribbled, empty, tick = row(0.87, 0.0, 0.18)
    scribbled = replace(scribbled, darkness=0.46, ink_level=0.46, centre=0.9)
    tick = replace(tick, darkness=0.32, ink_level=0.335, centre=0.4)
    readings = classify_page([*ticks, scribbled, replace(empty, ink_level=0.3), tick], SETTINGS)
    assert [r.reading for r in readings[:3]] == ["choice"] * 3
    assert (readings[3].reading, readings[3].reason) == ("pending", RowWhy.MARGINAL)
    alone = classify_row("文化馆", [scribbled, replace(empty, ink_level=0.3), tick], SETTINGS)  # no hand known
    assert (alone.reading, alone.reason) == ("pending", RowWhy.MARGINAL)
    assert one_layer(0.475) == pytest.approx(1 - 0.525**0.5) and 0.7 * one_layer(0.475) < 0.323 < 0.7 * 0.475
    grain = replace(tick, darkness=0.15)  # under 0.7 × one layer of 0.46 (0.186): the noise's tail, as before
    alone = classify_row("文化馆", [scribbled, replace(empty, ink_level=0.3), grain], SETTINGS)
    assert (alone.reading, alone.choice) == ("choice", "满意")


def test_beside_a_box_scribbled_over_the_voters_scribbles_are_no_measure_of_their_pen() -> None:
    """Tuning seed 211 (a dim photo): the voter's ticks all lay under their boxes' noise levels (marginal), and the
    sheet's marked boxes were two scribbled over and a cross, whose median (0.42) was taken for the hand: a tick of
    0.25 beside a box scribbled over at 0.47 was dropped under 0.7 × 0.42 and the scribble read as the vote. Boxes
    scribbled over measure darker than the pen's one stroke: the hand is the pen's measure only from marks that do
    not cover their box (``Hand.stroke``, HAND_MARKS rows of them); with fewer, one layer of the scribble is."""
    heavy = [
        replace(score, unit=f"单位{n}", darkness=0.42 * bool(score.fill), ink_level=0.3, centre=0.9 * bool(score.fill))
        for n in range(2)
        for score in row(0.95, 0.0, 0.0)
    ]
    cross = [replace(score, unit="单位2", darkness=0.35 * bool(score.fill), ink_level=0.3) for score in row(0.21, 0, 0)]
    scribbled, empty, tick = row(0.95, 0.0, 0.09)
    scribbled = replace(scribbled, darkness=0.47, ink_level=0.49, centre=0.96)
    tick = replace(tick, darkness=0.25, ink_level=0.26, centre=0.05)
    scores = [*heavy, *cross, scribbled, replace(empty, ink_level=0.3), tick]

    def rows_of(scores: list[BoxScore]) -> list[list[BoxScore]]:
        return [[score for score in scores if score.unit == unit] for unit in dict.fromkeys(s.unit for s in scores)]

    hand = voters_hand(rows_of(scores), SETTINGS, page_of(scores, SETTINGS))
    assert hand is not None and hand.darkness >= 0.42 and hand.stroke is None  # one cross: no pen measured
    readings = classify_page(scores, SETTINGS)
    assert (readings[-1].reading, readings[-1].reason) == ("pending", RowWhy.MARGINAL)
    ticks = [replace(score, unit=f"单位{n}", darkness=0.36 * bool(score.fill)) for n in range(3, 6) for score in cross]
    with_ticks = voters_hand(rows_of([*ticks, *scores]), SETTINGS, page_of([*ticks, *scores], SETTINGS))
    assert with_ticks is not None and with_ticks.stroke == pytest.approx(0.36)  # the cross and three ticks


def test_a_box_scribbled_over_is_read_only_where_the_voters_lightest_tick_would_have_shown_beside_it() -> None:
    """Tuning seed 227 (a dim photo): a box scribbled over (0.87 dark) beside a tick lost whole in the grain of its
    box (level 0.54); the voter's ticks elsewhere on the sheet 0.48 and 0.59. A second mark as dark as the scribble
    would have shown, and the scribble read as the vote; one of the voter's ticks would not have: the row is asked.
    Where the voter's ticks stand above the row's grain, or the voter fills boxes in, it is read as before."""
    ticks = [
        replace(score, unit=f"单位{n}", darkness=dark * bool(score.fill), ink_level=0.46)
        for n, dark in enumerate((0.48, 0.59))
        for score in row(0.4, 0.0, 0.0)
    ]
    scribbled, empty, other = row(0.97, 0.0, 0.0)
    scribbled = replace(scribbled, darkness=0.87, ink_level=0.54, centre=1.0)
    rest = [replace(empty, ink_level=0.54), replace(other, ink_level=0.54)]
    readings = classify_page([*ticks, scribbled, *rest], SETTINGS)
    assert [r.reading for r in readings[:2]] == ["choice"] * 2
    assert (readings[2].reading, readings[2].reason) == ("pending", RowWhy.NOISY)
    quieter = [replace(score, ink_level=0.4) for score in rest]
    readings = classify_page([*ticks, scribbled, *quieter], SETTINGS)
    assert (readings[2].reading, readings[2].choice) == ("choice", "满意")
    alone = classify_row("文化馆", [scribbled, *rest], SETTINGS)  # no mark elsewhere: as dark as it would show
    assert (alone.reading, alone.choice) == ("choice", "满意")
    # A voter who fills boxes in (tuning seed 239, a dim photo): their second mark would be a fill, as dark as this one.
    fills = [replace(score, fill=0.97 * bool(score.fill), darkness=0.55 * bool(score.fill)) for score in ticks]
    readings = classify_page([*fills, replace(scribbled, darkness=0.55), *rest], SETTINGS)
    assert [(r.reading, r.choice) for r in readings] == [("choice", "满意")] * 3
    # Tuning seed 349 (a dim photo): no mark of the voter's shows, their ticks lost in the grain of three rows
    # (marginal, 0.41): those are the measure, and the scribble (0.50) is asked beside boxes of grain at 0.48.
    lost = [replace(row(0.15, 0.0, 0.0)[0], unit=f"单位{n}", darkness=0.41, ink_level=0.48) for n in range(3)]
    dim = [replace(scribbled, darkness=0.5, ink_level=0.45), *(replace(score, ink_level=0.48) for score in rest)]
    asked = classify_row("文化馆", dim, SETTINGS, faint_elsewhere=lost)
    assert (asked.reading, asked.reason) == ("pending", RowWhy.NOISY)
    assert classify_row("文化馆", dim, SETTINGS, faint_elsewhere=lost[:2]).choice == "满意"  # too few to know


def test_ink_under_its_boxs_noise_level_holding_a_strokes_dark_line_is_asked() -> None:
    """Tuning seed 61 (marks-cut phone, a grainy photo): a tick drawn low in its box along its border, grain at the
    hysteresis level joined to it, the ink's median darkness 0.104 under its box's level 0.143, beside the row's
    other tick: dropped as the noise's tail, the overvote read 基本满意. Its own dark line (``core``, 1.4 mm² as dark as
    a firm stroke, in one piece) is a stroke's, which grain's specks are not."""
    scores = row(0.0, 0.3, 0.0)
    tick = replace(scores[1], darkness=0.316, ink_level=0.138)
    webbed = replace(scores[0], fill=0.475, centre=0.47, darkness=0.104, ink_level=0.143, core=1.44)
    assert classify_row("文化馆", [webbed, tick, scores[2]], SETTINGS).reason == RowWhy.MARGINAL
    grain = replace(webbed, core=STROKE_CORE_MM2 / 2)  # specks at the level: the noise's tail, as before
    result = classify_row("文化馆", [grain, tick, scores[2]], SETTINGS)
    assert (result.reading, result.choice) == ("choice", "基本满意")


def test_a_line_darker_inside_a_box_than_beside_it_doubts_abstention() -> None:
    """Tuning seed 61 (folded, office and phone): a faint pencil tick drawn along a fold's shadow, lost among the
    line's own pixels, the row read 弃权. A line's course darker inside the box than beside it by the step that tells
    a mark's pixels from the line's (``line_excess``) sends an empty row to a clerk; a line alone does not."""
    empty = row(0.0, 0.0, 0.0)
    crossed = [replace(score, line_over=0.28, line_excess=LINE_EXCESS / 3) for score in empty]
    assert classify_row("文化馆", crossed, SETTINGS).reading == "blank"
    crossed[1] = replace(crossed[1], line_excess=LINE_EXCESS)
    assert classify_row("文化馆", crossed, SETTINGS).reason == RowWhy.LINE


def test_a_faint_trace_beside_a_ring_is_grain() -> None:
    """A ring round a box is one clear mark too: grain in another box does not send the row to a clerk,
    a pencil trace there does."""
    scores = row(0.0, 0.0, 0.0)
    scores[2] = circled(2)
    grain = BoxScore("文化馆", "满意", 0, 0.03, 0.0, 0.03, SETTINGS.marks.trace - 0.02, 0.0, 0.0, 0.9)
    result = classify_row("文化馆", [grain, scores[1], scores[2]], SETTINGS)
    assert (result.reading, result.choice) == ("choice", "不满意")
    pencil = replace(grain, darkness=0.2)
    assert classify_row("文化馆", [pencil, scores[1], scores[2]], SETTINGS).reason == RowWhy.CIRCLE


def test_a_small_dot_is_a_mark_only_alone_dark_centred_on_a_clean_page() -> None:
    """A dot under ``definite`` counts when it is one dark piece in the box's middle with nothing beside it,
    on quiet paper, alone in its row, on a page with no stray ink; each missing condition sends it to a clerk."""
    marks = SETTINGS.marks
    dot = replace(row(marks.dot, 0, 0)[0], ink_level=INK_LEVEL)
    tick = BoxScore("图书馆", "满意", 0, 0.3, 0.1, 0.3, 0.8, 0.0, 0.0, 0.9, ink_level=INK_LEVEL)
    empty = [replace(score, unit="图书馆", ink_level=INK_LEVEL) for score in row(0, 0, 0)[1:]]

    def read(
        first: BoxScore, *, rest: tuple[float, float] = (0.0, 0.0), page: list[BoxScore] | None = None
    ) -> tuple[str, str]:
        others = [replace(score, ink_level=INK_LEVEL) for score in row(0, *rest)[1:]]
        result = classify_page([first, *others, *(page or [tick, *empty])], SETTINGS)[0]
        return result.reading, result.reason

    assert read(dot) == ("choice", None)
    assert read(replace(dot, fill=marks.dot - 0.005, centre=marks.dot - 0.005)) == ("pending", RowWhy.MARGINAL)
    assert read(replace(dot, darkness=marks.firm - 0.01)) == ("pending", RowWhy.MARGINAL)  # pencil or residue
    assert read(replace(dot, centre=0.0)) == ("pending", RowWhy.MARGINAL)  # off in a corner
    assert read(replace(dot, outside=0.01)) == ("pending", RowWhy.MARGINAL)  # ink beside it
    assert read(replace(dot, scattered=0.01)) == ("pending", RowWhy.MARGINAL)  # two specks
    assert read(replace(dot, ink_level=INK_LEVEL + 0.02)) == ("pending", RowWhy.MARGINAL)  # noisy paper
    assert read(dot, rest=(0.02, 0.0)) == ("pending", RowWhy.MARGINAL)  # a trace in the row
    speck = replace(empty[0], fill=marks.dot / 2, centre=marks.dot / 2, darkness=0.8)
    assert read(dot, page=[tick, speck, empty[1]]) == ("pending", RowWhy.MARGINAL)
    beside = replace(empty[0], outside=0.01)
    assert read(dot, page=[tick, beside, empty[1]]) == ("pending", RowWhy.MARGINAL)
    assert classify_row("文化馆", [dot, *row(0, 0, 0)[1:]], SETTINGS).reading == "pending"  # no page known


def test_a_light_mark_is_a_mark_only_large_alone_on_a_clean_page() -> None:
    """A mark fainter than ``firm`` counts down to ``light`` when it is as large as ``definite``, one piece on
    quiet paper, alone in its row, on a page with no stray ink; fainter, smaller or not alone, it is asked."""
    marks = SETTINGS.marks
    light = replace(row(0.2, 0, 0)[0], darkness=marks.light, outside=0.05, ink_level=INK_LEVEL)
    tick = BoxScore("图书馆", "满意", 0, 0.3, 0.1, 0.3, 0.8, 0.0, 0.0, 0.9, ink_level=INK_LEVEL)
    empty = [replace(score, unit="图书馆", ink_level=INK_LEVEL) for score in row(0, 0, 0)[1:]]

    def read(first: BoxScore, *, rest: tuple[float, float] = (0.0, 0.0), clean: bool = True) -> tuple[str, str]:
        speck = [] if clean else [replace(empty[0], unit="博物馆", fill=0.02, centre=0.02, darkness=0.8)]
        others = [replace(score, ink_level=INK_LEVEL) for score in row(0, *rest)[1:]]
        result = classify_page([first, *others, tick, *empty, *speck], SETTINGS)[0]
        return result.reading, result.reason

    assert read(light) == ("choice", None)
    assert read(replace(light, darkness=marks.light - 0.01)) == ("pending", RowWhy.MARGINAL)  # erased residue?
    assert read(replace(light, fill=marks.definite - 0.01, centre=0.0)) == ("pending", RowWhy.MARGINAL)
    assert read(replace(light, scattered=0.05)) == ("pending", RowWhy.MARGINAL)
    assert read(replace(light, ink_level=INK_LEVEL + 0.02)) == ("pending", RowWhy.MARGINAL)
    assert read(light, rest=(0.3, 0.0)) == ("pending", RowWhy.MARGINAL)  # beside a firm tick: asked
    assert read(light, clean=False) == ("pending", RowWhy.MARGINAL)


def test_an_overvote_needs_two_marks_alike_in_darkness() -> None:
    """Issue 19: a row is voided without a clerk only when both marks are complete, firm marks. A second mark
    much fainter than the first (rubbed-out residue, a faint second thought, a correction) goes to a clerk."""
    marks = SETTINGS.marks
    first, second, empty = row(0.3, 0.28, 0.0)
    for ratio, expected in ((1.0, "overvote"), (marks.firm_alike, "overvote"), (marks.firm_alike - 0.01, "pending")):
        fainter = replace(second, darkness=first.darkness * ratio)
        result = classify_row("文化馆", [first, fainter, empty], SETTINGS)
        assert result.reading == expected, ratio
        assert result.reason == (RowWhy.CORRECTION if expected == "pending" else None)


def test_an_overvote_of_marks_as_dark_as_the_voters_hand_is_voided_however_dark_the_other() -> None:
    """Two ticks, the lighter as dark as the voter's marks elsewhere on the sheet, the other pressed harder (22 clear
    overvotes of 382 kept batches, asked as corrections): the lighter is a complete mark of that voter, and the row
    is voided. Without a hand to measure by, or where the lighter is fainter than the voter's marks too, asked."""
    marks = SETTINGS.marks
    first, second, empty = row(0.3, 0.28, 0.0)
    hand = Hand(0.4, solid=True)
    darker, usual = replace(first, darkness=0.7), replace(second, darkness=0.4)
    assert usual.darkness < marks.firm_alike * darker.darkness
    assert classify_row("文化馆", [darker, usual, empty], SETTINGS, hand=hand).reading == "overvote"
    assert classify_row("文化馆", [darker, usual, empty], SETTINGS).reason == RowWhy.CORRECTION
    fainter = replace(usual, darkness=marks.firm_alike * hand.darkness - 0.01)
    assert classify_row("文化馆", [darker, fainter, empty], SETTINGS, hand=hand).reason == RowWhy.CORRECTION


def test_a_clump_of_noise_fainter_than_any_hand_beside_a_tick_is_no_second_mark() -> None:
    """A damaged grey scan's noise clumps in a box beside the voter's tick: 0.048 of the box, 0.105 dark at the median
    under a level of 0.10, no stroke's line in it (field sample bad 0003's kind). Fainter than the lightest hand
    (``light``), it is no second mark: the row is read. A clump holding a stroke's line, or as dark as a light hand, is
    asked; and so is such a speck on a bilevel scan beside a mark that did not come through solid, where a light tick
    breaks into one."""
    tick, empty, _ = row(0.4, 0.0, 0.0)
    tick = replace(tick, darkness=0.57, ink_level=0.1, core=7.0, core_share=0.8)
    clump = replace(empty, fill=0.048, centre=0.0, darkness=0.105, ink_level=0.1, core=0.2, ink_span=1.25)
    last = replace(row(0.0, 0.0, 0.0)[2], ink_level=0.1)

    def read(*scores: BoxScore) -> RowReading:
        return classify_row("文化馆", list(scores), SETTINGS, page_of(list(scores), SETTINGS))

    assert classify_box(clump, SETTINGS) == "marginal"
    assert read(tick, clump, last).choice == "满意"
    assert read(tick, replace(clump, core=STROKE_CORE_MM2), last).reason == RowWhy.MARGINAL
    assert read(tick, replace(clump, darkness=SETTINGS.marks.light), last).reason == RowWhy.MARGINAL
    broken = replace(tick, darkness=0.33, core_share=0.3)  # a scribble-out in a light ink, broken by the threshold
    bilevel = [replace(score, bilevel=True) for score in (broken, clump, last)]
    assert read(*bilevel).reason == RowWhy.MARGINAL


def test_a_pencil_overvote_is_voided_where_both_marks_are_as_dark_as_the_voters_hand() -> None:
    """Two pencil ticks (0.20 dark, under ``overvote_darkness``) may be a tick beside a rubbed-out one's residue: asked.
    On a sheet whose voter's marks are 0.21 as a rule, both are as dark as theirs but for what an eraser takes
    (ERASED_RESIDUE): their complete marks, and the row is voided (354 clear overvotes of 408 kept batches). A sheet
    whose hand is firmer (0.30) still asks."""
    marks = SETTINGS.marks
    first, second, empty = (replace(score, darkness=0.2 * bool(score.fill)) for score in row(0.3, 0.28, 0.0))
    assert first.darkness < marks.overvote_darkness
    assert classify_row("文化馆", [first, second, empty], SETTINGS).reason == RowWhy.CORRECTION
    pencil = Hand(0.21, solid=True)
    assert first.darkness >= ERASED_RESIDUE * pencil.darkness
    assert classify_row("文化馆", [first, second, empty], SETTINGS, hand=pencil).reading == "overvote"
    firmer = Hand(0.30, solid=True)
    assert classify_row("文化馆", [first, second, empty], SETTINGS, hand=firmer).reason == RowWhy.CORRECTION


def test_an_overvote_needs_both_marks_mostly_one_firm_piece() -> None:
    """Issue 19: a row is voided without a clerk only when both marks are complete, firm marks. Tuning seed 141 (a
    scanner app's steep photo): strokes scribbled over a tick, as dark as 0.72 of the voter's tick beside it but
    broken, a fifth of their ink in their largest firm piece (``core_share``), were read 无效 with the tick. A mark
    mostly one firm piece (SOLID_SHARE or more) counts toward an overvote; one broken up does not; one never measured
    (0) is judged as before."""
    first, second, empty = (replace(score, darkness=0.5, core_share=0.76) for score in row(0.31, 0.42, 0.0))
    for share, expected in (
        (SOLID_SHARE, "overvote"),
        (SOLID_SHARE - 0.01, "pending"),
        (0.2, "pending"),
        (0.0, "overvote"),
    ):
        result = classify_row("文化馆", [first, replace(second, core_share=share), empty], SETTINGS)
        assert result.reading == expected, share
        assert result.reason == (RowWhy.CORRECTION if expected == "pending" else None)


def test_a_mark_along_a_line_in_another_box_doubts_the_rows_one_mark() -> None:
    """Tuning seed 141 (streak faxes): a dot drawn on a scanner streak is among the streak's own black pixels, only
    the streak's widening in the box shows it (``line_excess``). Beside a tick in another box it is the second mark
    of an overvote: the row goes to a clerk, not read as the tick. A line alone through the other box does not."""
    tick, crossed, empty = row(0.3, 0.0, 0.0)
    alone = classify_row("文化馆", [tick, replace(crossed, line_excess=LINE_EXCESS / 3), empty], SETTINGS)
    assert (alone.reading, alone.choice) == ("choice", "满意")
    on_line = classify_row("文化馆", [tick, replace(crossed, line_excess=LINE_EXCESS), empty], SETTINGS)
    assert (on_line.reading, on_line.reason) == ("pending", RowWhy.LINE)
    # On grainy paper (field sample bad 0004: levels 0.17–0.25) a line that much darker is the grain's.
    grainy = replace(crossed, line_excess=LINE_EXCESS * 1.2, ink_level=0.25)
    assert classify_row("文化馆", [tick, grainy, empty], SETTINGS).reading == "choice"
    assert (
        classify_row("文化馆", [tick, replace(grainy, line_excess=0.6 * 0.25), empty], SETTINGS).reason == RowWhy.LINE
    )


def test_a_ticks_long_leg_into_the_box_above_is_not_a_mark_beside_it() -> None:
    """Issue 19: a Chinese √ written with its right leg running up out of its box, into the ring of the box above
    it in the previous row, is a vote for the box holding its turning point. The ink in the upper box's ring comes
    up from below it (below it, or passing beside it: long-tick office seed 11); the row above is read as its own
    mark says, not sent to a clerk for ink beside a box."""
    marks = SETTINGS.marks
    upper = [replace(box, unit="图书馆") for box in row(0.3, 0.0, 0.0)]
    lower = [replace(box, unit="博物馆") for box in row(0.0, 0.3, 0.0)]
    leg_into_ring = replace(upper[1], outside=0.09, outside_below=0.3, outside_from_below=1.0)
    leaving = replace(lower[1], outside=0.08)
    page = [upper[0], leg_into_ring, upper[2], lower[0], leaving, lower[2]]
    readings = {reading.unit: reading for reading in classify_page(page, SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "满意")
    assert (readings["博物馆"].reading, readings["博物馆"].choice) == ("choice", "基本满意")
    # Ink round the upper box elsewhere than below it, or no marked box leaving ink below it: still asked.
    for odd in (
        [
            upper[0],
            replace(leg_into_ring, outside_from_below=marks.from_below - 0.05),
            upper[2],
            lower[0],
            leaving,
            lower[2],
        ],
        [upper[0], leg_into_ring, upper[2], lower[0], lower[1], lower[2]],
        [upper[0], leg_into_ring, upper[2], replace(lower[0], outside=0.08), replace(lower[1], fill=0.0), lower[2]],
    ):
        readings = {reading.unit: reading for reading in classify_page(odd, SETTINGS)}
        assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.OUTSIDE)


def test_in_a_row_of_no_mark_only_a_legs_ink_below_the_box_is_excused() -> None:
    """Tuning seed 223, a steep photo: a light ring round an empty-looking box (no ink inside it) met, at the foot
    of its ring, a tick's arm rising from the box below; the two were taken for one stroke across the rule (judged
    where they meet the rings), the ring excused as that leg, and the row read 弃权. In a row with no mark a leg
    from below is excused only where its ink lies below the box, where such a leg ends: ink all round is asked."""
    marks = SETTINGS.marks
    upper = [replace(box, unit="图书馆") for box in row(0.0, 0.0, 0.0)]
    lower = [replace(box, unit="博物馆") for box in row(0.3, 0.0, 0.0)]
    ring = replace(upper[0], outside=0.154, outside_below=0.357, outside_from_below=1.0, outside_reach=2.4)
    tick = replace(lower[0], outside=0.026, outside_reach=1.75)
    readings = {r.unit: r for r in classify_page([ring, *upper[1:], tick, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.OUTSIDE)
    leg_end = replace(ring, outside=0.06, outside_below=marks.from_below)  # a leg ending under the box
    readings = {r.unit: r for r in classify_page([leg_end, *upper[1:], tick, *lower[1:]], SETTINGS)}
    assert readings["图书馆"].reading == "blank"


def leg_ending_in(box: BoxScore, *, fill: float, centre: float, outside: float) -> BoxScore:
    """``box`` holding only the end of a tick's leg from the row below: 0.4 dark, its ink around it all below it
    and all of it joined to the strokes crossing the rule from below."""
    return replace(
        box,
        fill=fill,
        centre=centre,
        darkness=0.4,
        outside=outside,
        outside_below=1.0,
        outside_from_below=1.0,
        joined_below=1.0,
    )


def test_a_ticks_long_leg_that_ends_in_the_box_above_is_asked_about() -> None:
    """Issue 19: a leg running 8–10 mm up ends inside the box above (the accuracy benchmark's seed 1001: an empty
    row read 满意 from the leg of the row below's tick). A mark in a box whose ink around it lies below it, over a
    marked box whose ink leaves it, may be that leg: the row goes to a clerk; the row below is read."""
    upper = [replace(box, unit="图书馆") for box in row(0.0, 0.0, 0.0)]
    lower = [replace(box, unit="博物馆") for box in row(0.3, 0.0, 0.0)]
    leg_inside = leg_ending_in(upper[0], fill=0.17, centre=0.04, outside=0.03)
    leaving = replace(lower[0], outside=0.03)
    readings = {r.unit: r for r in classify_page([leg_inside, *upper[1:], leaving, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.LEG)
    assert (readings["博物馆"].reading, readings["博物馆"].choice) == ("choice", "满意")
    # A leg through a corner of the box above runs out of its side too; it leaves the box's middle empty (seed
    # 1004: read 满意 on an empty row).
    through = replace(leg_inside, fill=0.086, centre=0.0, outside=0.044, outside_below=0.73, outside_from_below=0.73)
    readings = {r.unit: r for r in classify_page([through, *upper[1:], leaving, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.LEG)
    # Ink round the upper mark above it too (its own tick's arm), the box below not leaving ink, or leaving it
    # every way, not up (a slash or a cross reaching out of both boxes): read.
    # Nor when the mark inside does not run on into the ink below it: the box's own short slash beside the tip of
    # the tick below (field sample office 0009, asked about as a leg).
    for upper_box, lower_box in (
        (replace(leg_inside, outside_below=0.5), leaving),
        (leg_inside, lower[0]),
        (leg_inside, replace(leaving, outside_below=0.5)),
        (replace(leg_inside, joined_below=0.0), leaving),
        (replace(through, joined_below=0.0), leaving),
    ):
        readings = {r.unit: r for r in classify_page([upper_box, *upper[1:], lower_box, *lower[1:]], SETTINGS)}
        assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "满意")
    # A column of long-legged ticks: the box below leaves its own leg upwards, and the leg of the tick two rows
    # down passes beside it, below it (tuning seed 13, a fax: read 多选 beside the upper row's own tick).
    ticked = replace(upper[1], fill=0.22, centre=0.33, darkness=0.62)
    passed = replace(leaving, outside=0.07, outside_below=0.34, outside_from_below=0.34)
    readings = {r.unit: r for r in classify_page([leg_inside, ticked, upper[2], passed, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.LEG)
    # Its own ink leaving it downwards as well as up (a cross reaching out of both boxes): no leg from it.
    crossed = replace(passed, outside_below=0.84)
    readings = {r.unit: r for r in classify_page([leg_inside, ticked, upper[2], crossed, *lower[1:]], SETTINGS)}
    assert readings["图书馆"].reason != RowWhy.LEG


def test_a_leg_into_the_box_above_from_a_tick_turning_on_its_border_is_asked_about() -> None:
    """Tuning seed 419, long-tick fax: a tick whose turning point lay on its box's left side left that box too little
    ink to count (marginal), its 10 mm leg ending inside the box above, in an empty row: read 满意. Whether the ink
    above is a leg from below is told by the strokes crossing the rule, not by how much of the tick its own box kept.
    A ring round the box below has no leg: the box above is read."""
    marks = SETTINGS.marks
    upper = [replace(box, unit="图书馆") for box in row(0.0, 0.0, 0.0)]
    lower = [replace(box, unit="博物馆") for box in row(0.0, 0.0, 0.0)]
    leg_inside = leg_ending_in(upper[0], fill=0.126, centre=0.22, outside=0.019)
    turning_on_the_border = replace(lower[0], fill=(marks.marginal + marks.definite) / 2, darkness=0.63, outside=0.02)
    assert classify_box(turning_on_the_border, SETTINGS) == "marginal"
    readings = {r.unit: r for r in classify_page([leg_inside, *upper[1:], turning_on_the_border, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", RowWhy.LEG)
    ring = replace(lower[0], centre=0.0, encircled=1.0, outside=0.37, outside_darkness=0.54, edge_around=0.67)
    assert classify_box(ring, SETTINGS) == "circled"
    readings = {r.unit: r for r in classify_page([leg_inside, *upper[1:], ring, *lower[1:]], SETTINGS)}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "满意")


def test_a_mark_far_fainter_than_the_voters_others_is_asked_about() -> None:
    """One voter, one pen: a row's one mark under ``faint_share`` of the sheet's median darkness (a pen running
    dry, very light pencil, an erased mark's residue) goes to a clerk; a light hand's marks, all alike, are
    read; with fewer than three marks on the sheet there is no hand to judge by."""
    share = SETTINGS.marks.faint_share

    def sheet(*darkness: float) -> list[RowReading]:
        rows = [
            replace(score, unit=f"单位{n}", darkness=dark if score.fill else 0.0)
            for n, dark in enumerate(darkness)
            for score in row(0.3, 0.0, 0.0)
        ]
        return classify_page(rows, SETTINGS)

    firm = sheet(0.8, 0.8, 0.8, 0.8 * share - 0.01)
    assert [r.reading for r in firm[:3]] == ["choice"] * 3
    assert (firm[3].reading, firm[3].reason) == ("pending", RowWhy.FAINT)
    assert sheet(0.8, 0.8, 0.8, 0.8 * share + 0.01)[3].reading == "choice"
    light = sheet(0.19, 0.2, 0.18, 0.18)  # a light hand: every mark alike
    assert {r.reading for r in light} == {"choice"}
    assert sheet(0.8, 0.3)[1].reading == "choice"  # two marks: no hand to judge by


def test_an_overvote_needs_both_marks_to_reach_their_boxes_middle_where_a_border_shows_something_over_it() -> None:
    """Issue 19: correction tape laid over a marked box hides the mark's middle; the strokes showing beside the
    tape measure as a mark as dark as the voter's tick in another box (accuracy seed 1003: read as an overvote,
    the voter's one vote lost). A mark that leaves its box's middle empty where the box's printed border shows
    something laid over it or rubbed off (``border_hidden``, here under ``taped``) is no complete mark: asked. A tick
    drawn low, turning at the box's foot, leaves the middle empty too with its border whole (field fax 0003; 85 clear
    overvotes of 434 kept batches): voided."""
    tick, empty, second = row(0.36, 0.0, 0.185)
    under_tape = replace(second, centre=0.0, border_hidden=SETTINGS.marks.taped / 2)
    result = classify_row("文化馆", [tick, empty, under_tape], SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.CORRECTION)
    assert classify_row("文化馆", [tick, empty, replace(second, centre=0.0)], SETTINGS).reading == "overvote"
    assert classify_row("文化馆", row(0.36, 0.0, 0.185), SETTINGS).reading == "overvote"


def test_a_mark_under_correction_tape_is_asked_even_where_its_strokes_reach_the_middle() -> None:
    """Issue 19, held-out seed 1005 (erasure, phone): strokes showing at both ends of a strip of correction tape
    reached a sliver of the box's middle (0.05) and were as dark as 0.7 of the voter's tick in another box: read
    as an overvote, the voter's one vote lost. The tape hides the printed border on both sides it crosses, which
    no ink does: the row goes to a clerk as a correction — and a single mark under tape too (the row may be 弃权),
    however much of the box shows of it (tuning seed 179: a cross seen through tape, fill 0.66, read as the vote).
    A solid fill keeps its border dark (at most 0.14 hidden where it was found a pixel off): read."""
    taped = SETTINGS.marks.taped
    tick, _, strokes = row(0.36, 0.0, 0.2)
    under = replace(strokes, centre=0.05, darkness=0.56, border_hidden=taped)
    result = classify_row("文化馆", [tick, row(0.36, 0.0, 0.2)[1], under], SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.CORRECTION)
    visible = replace(under, border_hidden=taped - 0.01)
    assert classify_row("文化馆", [tick, row(0.36, 0.0, 0.2)[1], visible], SETTINGS).reading == "overvote"
    alone = classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], under], SETTINGS)
    assert (alone.reading, alone.reason) == ("pending", RowWhy.CORRECTION)
    filled = row(0.0, 0.0, 0.95)
    filled[2] = replace(filled[2], border_hidden=0.14)
    assert classify_row("文化馆", filled, SETTINGS).choice == OPTIONS[2]
    seen_through = row(0.0, 0.0, 0.66)
    seen_through[2] = replace(seen_through[2], darkness=0.27, border_hidden=0.63)
    assert classify_row("文化馆", seen_through, SETTINGS).reason == RowWhy.CORRECTION


def test_what_shows_of_a_mark_under_tape_beside_a_clear_mark_is_the_mark_taken_back() -> None:
    """Faint strokes through the tape and its edges' shadows (ink beside the box, along its border, a straight line
    through it where the strip lies level) beside the voter's one clear mark: the row reads that mark. Tape alone
    with nothing showing in its box or beside it: 弃权 (ink beside it may be a tick that missed the box: asked).
    Where every border of the row shows paper it is no tape but the row lost (a row off its fit): nothing is
    excused."""
    taped = SETTINGS.marks.taped
    tick, _, _ = row(0.36, 0.0, 0.0)
    through = BoxScore("文化馆", OPTIONS[2], 2, 0.03, 0.1, 0.0, 0.09, 0.8, 0.0, 0.65, edge=0.2, border_hidden=0.7)
    result = classify_row("文化馆", [tick, row(0.36, 0.0, 0.0)[1], through], SETTINGS)
    assert (result.reading, result.choice) == ("choice", OPTIONS[0])
    bare = replace(through, fill=0.0, outside=0.0, darkness=0.0, crossing=0.0)
    assert classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], bare], SETTINGS).reading == "blank"
    edges = replace(bare, faint_stroke=4.6)  # the tape's own edges inside the box: long faint strokes
    assert classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], edges], SETTINGS).reading == "blank"
    missed = replace(bare, outside=0.1)  # ink beside it: the tape's edges, or a tick that missed the box?
    assert classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], missed], SETTINGS).reason == RowWhy.CORRECTION
    assert classify_row("文化馆", [*row(0.0, 0.0, 0.0)[:2], through], SETTINGS).reason == RowWhy.CORRECTION
    lost = [replace(score, border_hidden=taped) for score in [tick, row(0.36, 0.0, 0.0)[1], through]]
    assert classify_row("文化馆", lost, SETTINGS).reading == "pending"
    assert box_seen(through, SETTINGS) == BoxSeen.TAPED


def test_blank_needs_no_faint_stroke_and_no_dark_line_over_a_box() -> None:
    """弃权 claims no ink at all. A stroke too faint to count on its paper (``faint_stroke``, as long as a stroke)
    and a line across the page through a box dark enough to hide a mark at the ink level on its course
    (``line_over``: a faint tick beside a scanner streak is left too little to count) both doubt it (tuning seed 7:
    two faint pencil votes read 弃权). Neither matters beside a clear mark, nor does a paler line."""
    empty = row(0.0, 0.0, 0.0)
    faint = replace(empty[1], faint_stroke=FAINT_STROKE_MM)
    assert classify_row("文化馆", [empty[0], faint, empty[2]], SETTINGS).reason == RowWhy.FAINT
    assert classify_row("文化馆", [empty[0], replace(faint, faint_stroke=1.0), empty[2]], SETTINGS).reading == "blank"
    # The clerk is shown which box: its stroke is faint (and only the paper tells a light tick from an eraser's trace).
    assert box_seen(faint, SETTINGS) == BoxSeen.FAINT
    assert box_seen(replace(faint, faint_stroke=1.0), SETTINGS) == BoxSeen.EMPTY
    under = replace(empty[1], line_over=LINE_HIDES)
    assert classify_row("文化馆", [empty[0], under, empty[2]], SETTINGS).reason == RowWhy.LINE
    pale = replace(under, line_over=LINE_HIDES - 0.01)  # a mark over it still shows above its profile
    assert classify_row("文化馆", [empty[0], pale, empty[2]], SETTINGS).reading == "blank"
    tick = row(0.35, 0.0, 0.0)[0]
    assert classify_row("文化馆", [tick, under, replace(empty[2], faint_stroke=4.0)], SETTINGS).choice == "满意"


def test_ink_around_a_box_under_its_noise_level_beside_a_clear_mark_is_no_second_mark() -> None:
    """Show-through phone photos (tuning seeds 7, 11): the back's print beside empty boxes, its median darkness
    0.08–0.12 under their noise level, sent rows with a firm tick to a clerk as ink beside a box (a tick that missed
    its box?). Beside one clear mark, ink around a box under that box's level is the noise's tail or the back's
    print; at the level, or with no clear mark in the row, it is still asked."""
    tick, empty, _ = row(0.35, 0.0, 0.0)
    back = replace(empty, outside=0.1, outside_darkness=0.09, ink_level=0.11)
    assert classify_row("文化馆", [tick, back, row(0.0, 0.0, 0.0)[2]], SETTINGS).choice == "满意"
    pen = replace(back, outside_darkness=back.ink_level)
    assert classify_row("文化馆", [tick, pen, row(0.0, 0.0, 0.0)[2]], SETTINGS).reason == RowWhy.OUTSIDE
    alone = classify_row("文化馆", [row(0.0, 0.0, 0.0)[0], back, row(0.0, 0.0, 0.0)[2]], SETTINGS)
    assert (alone.reading, alone.reason) == ("pending", RowWhy.OUTSIDE)
    # On grainier paper (level 0.16), under its box's level but as dark as the pencil tick beside it: one pencil's,
    # asked.
    pencil = replace(tick, darkness=0.2)
    beside = replace(back, outside_darkness=0.15, ink_level=0.16)
    assert classify_row("文化馆", [pencil, beside, row(0.0, 0.0, 0.0)[2]], SETTINGS).reason == RowWhy.OUTSIDE


def test_on_a_fax_that_lost_the_voters_pen_a_mark_running_past_its_box_is_asked() -> None:
    """Tuning seed 163, a dithered fax (erasure): the voter's ticks came through as a few specks (marginal, fill
    0.02–0.05, on every other row), and the one mark that came through whole was a light mark struck out with loops,
    fill 0.26, running 1.6 mm past its box where the loops' specks lie: read 不满意, the row meant 弃权. Where the
    sheet shows the voter's pen lost, such a mark, covering twice what theirs do and running past its box, is asked;
    not where it stays in its box, where fewer than three rows show the pen lost, where three rows show it whole, nor on
    a grey scan."""

    def lost(unit: str, fill: float) -> list[BoxScore]:
        return [replace(score, unit=unit, bilevel=True, darkness=0.12) for score in row(fill, 0.0, 0.0)]

    faint = [*lost("图书馆", 0.045), *lost("博物馆", 0.04), *lost("体育中心", 0.05)]
    struck = [
        replace(score, unit="文化馆", bilevel=True, darkness=0.23, core_share=0.6, outside_reach=1.6 * bool(score.fill))
        for score in row(0.0, 0.0, 0.264)
    ]

    def read(scores: list[BoxScore]) -> tuple[str, str | None, str]:
        result = next(r for r in classify_page(scores, SETTINGS) if r.unit == "文化馆")
        return result.reading, result.choice, result.reason

    assert read([*faint, *struck]) == ("pending", None, RowWhy.SCRIBBLED)
    inside = [replace(score, outside_reach=0.5) for score in struck]
    assert read([*faint, *inside]) == ("choice", "不满意", None)
    assert read([*faint[:6], *struck]) == ("choice", "不满意", None)  # two rows lost only
    grey = [replace(score, bilevel=False) for score in [*faint, *struck]]
    assert read(grey)[:2] == ("choice", "不满意")
    # Nor where the voter's pen came through in three rows or more: the specks elsewhere are the scan's (tuning seeds
    # 173 and 229, a scanner app's speckled black-and-white photo: every tick with a long leg asked).
    ticks = [
        replace(score, unit=unit, bilevel=True, darkness=0.78, core_share=0.9, outside_reach=3.4 * bool(score.fill))
        for unit in ("局机关", "文物管理所", "文艺演出中心")
        for score in row(0.3, 0.0, 0.0)
    ]
    firm = [replace(score, darkness=0.78, core_share=0.9) for score in struck]
    assert read([*faint, *ticks, *firm]) == ("choice", "不满意", None)
    assert read([*faint, *ticks[:6], *firm]) == ("pending", None, RowWhy.SCRIBBLED)  # two rows show it only


def test_a_pale_stroke_shorter_than_an_inks_least_yet_cut_by_the_border_doubts_abstention() -> None:
    """Tuning seed 167, a scanner app's whitened photo: a light pencil tick lifted towards white left a pale piece
    2.9 mm long across its box's border (``faint_stroke`` as the printed lines cut it), under FAINT_STROKE_MM: the
    row read 弃权. 弃权 claims no ink: 2.5 mm of a pale stroke (twice what empty rows show at the 99th percentile)
    asks a clerk; a shorter piece does not."""
    empty = row(0.0, 0.0, 0.0)
    cut = [replace(empty[0], faint_stroke=2.9), *empty[1:]]
    result = classify_row("文化馆", cut, SETTINGS)
    assert (result.reading, result.reason) == ("pending", RowWhy.FAINT)
    short = [replace(empty[0], faint_stroke=2.4), *empty[1:]]
    assert classify_row("文化馆", short, SETTINGS).reading == "blank"


def test_a_coil_across_a_box_on_a_sheet_of_neat_fills_is_asked() -> None:
    """Tuning seed 179, a fax (erasure): a voter who fills boxes in struck a tick out with a coil drawn across the box
    and past both its sides; it came through as 0.35 of its box, 3.4 mm past it, and read 基本满意 (the row meant
    弃权). On a sheet of fills kept within their boxes, a mark that is no fill, running STRUCK_REACH_MM past its box
    and across it (STRUCK_ACROSS), is asked; not a tick whose leg leaves by one side, not on a sheet of fills that
    spill as far, and not on a sheet of ticks (:func:`struck_over` is theirs)."""
    fills = [replace(row(0.85, 0.0, 0.0)[0], unit=f"row{index}") for index in range(4)]
    coil = replace(row(0.0, 0.35, 0.0)[1], crossing=0.31, outside=0.05, outside_reach=3.4)
    others = [score for score in row(0.0, 0.0, 0.0) if score.option != coil.option]
    assert not is_heavy(coil, SETTINGS)

    def read(mark: BoxScore, heavy: list[BoxScore]) -> RowReading:
        return classify_row("文化馆", [mark, *others], SETTINGS, heavy_elsewhere=heavy, marks_elsewhere=heavy)

    assert struck_across_the_fills(coil, fills, SETTINGS)
    assert read(coil, fills).reason == RowWhy.SCRIBBLED
    leg = replace(coil, crossing=STRUCK_ACROSS - 0.05)  # a tick's leg: out by one side
    assert read(leg, fills).choice == "基本满意"
    spilling = [replace(fill, outside_reach=STRUCK_REACH_MM + 0.5) for fill in fills]
    assert read(coil, spilling).choice == "基本满意"
    assert not struck_across_the_fills(coil, fills[:2], SETTINGS)  # too few fills to know the hand


def test_loops_across_a_box_on_a_sheet_of_ticks_are_asked_however_little_short_of_covering_it() -> None:
    """Tuning seed 269, erasure office: a tick struck out with loops, alone in its row on a sheet of ticks, came out
    as 0.58 of its box (a hair under ``covering``: no heavy mark), its middle 0.88 covered (under MIDDLE_COVERED),
    3.4 mm past the box and across it, and read 不满意 (the row meant 弃权). A mark covering STRUCK_HEAVIER times what
    the voter's ticks do, running on past its box and across it, is asked; a tick like theirs with a long leg across
    the box is not, nor the same mark where the sheet shows too few marks to know the hand."""
    ticks = [replace(row(0.25, 0.0, 0.0)[0], unit=f"row{index}", centre=0.4) for index in range(4)]
    loops = replace(row(0.0, 0.0, 0.58)[2], centre=0.88, crossing=0.375, outside=0.065, outside_reach=3.375)
    others = [score for score in row(0.0, 0.0, 0.0) if score.option != loops.option]
    assert not is_heavy(loops, SETTINGS)

    def read(mark: BoxScore, elsewhere: list[BoxScore]) -> RowReading:
        return classify_row("文化馆", [*others, mark], SETTINGS, marks_elsewhere=elsewhere)

    assert struck_across_the_ticks(loops, [], ticks, SETTINGS)
    assert read(loops, ticks).reason == RowWhy.SCRIBBLED
    long_tick = replace(loops, fill=0.3, centre=0.45)
    assert read(long_tick, ticks).choice == "不满意"
    assert read(loops, ticks[:2]).choice == "不满意"  # too few marks to know the hand


def test_loops_leaving_paper_in_a_box_on_a_sheet_of_whole_fills_are_asked() -> None:
    """Tuning seed 277, erasure (one sheet, office and phone): a voter who fills boxes in whole struck a mark out with
    loops covering 0.80–0.84 of the box, 2.75–3.0 mm past it, its ring no more inked than their hurried fills': read
    满意. On a sheet of whole fills a heavy mark leaving paper in its box and running SPILL_MM past it is asked; not a
    fill as whole as theirs, nor on a sheet whose fills leave paper too."""
    fills = [replace(row(1.0, 0.0, 0.0)[0], unit=f"row{index}", outside=0.26, outside_reach=1.9) for index in range(4)]
    loops = replace(row(0.8, 0.0, 0.0)[0], outside=0.13, crossing=0.44, outside_reach=2.75, edge=0.31)
    others = row(0.0, 0.0, 0.0)[1:]

    def read(mark: BoxScore, heavy: list[BoxScore]) -> RowReading:
        return classify_row("文化馆", [mark, *others], SETTINGS, heavy_elsewhere=heavy, marks_elsewhere=heavy)

    assert looped_among_whole_fills(loops, fills, SETTINGS)
    assert read(loops, fills).reason == RowWhy.SCRIBBLED
    assert read(replace(loops, outside_reach=SPILL_MM - 0.25), fills).choice == "满意"  # within a fill's spill
    partial = [replace(fill, fill=0.85) for fill in fills]  # a voter whose fills leave paper: theirs is like it
    assert read(loops, partial).choice == "满意"


def test_a_light_mark_beside_a_firm_hand_is_asked() -> None:
    """Tuning seed 277, erasure phone: erasable gel heated clear left 0.15 of darkness in its box, alone in its row on a
    clean page, and the light rule read it 满意 as a light hand's mark; the voter's ticks on the sheet were 0.26–0.29
    (seeds 307 and 311: rubbed pencil 0.15–0.16 beside ticks of 0.21). A light mark (under ``firm``) is read only
    where the voter's hand is not firmer than it by what an eraser takes (ERASED_RESIDUE)."""
    marks = SETTINGS.marks
    ticks = [
        replace(score, unit=f"row{index}", darkness=0.28 * bool(score.fill), centre=0.6 * bool(score.fill))
        for index in range(3)
        for score in row(0.26, 0.0, 0.0)
    ]
    residue = replace(row(0.25, 0.0, 0.0)[0], darkness=0.15, centre=0.18, core_share=0.41)
    assert marks.light <= residue.darkness < marks.firm
    page = [*ticks, residue, *row(0.25, 0.0, 0.0)[1:]]
    readings = classify_page(page, SETTINGS)
    assert [r.reading for r in readings[:3]] == ["choice"] * 3
    assert (readings[3].reading, readings[3].reason) == ("pending", RowWhy.FAINT)
    pencil = [replace(score, darkness=0.21 * bool(score.fill)) for score in ticks]
    assert classify_page([*pencil, residue, *row(0.25, 0.0, 0.0)[1:]], SETTINGS)[3].reason == RowWhy.FAINT
    assert ERASED_RESIDUE * 0.16 <= 0.15
    light_hand = [replace(score, darkness=0.16 * bool(score.fill)) for score in ticks]  # all alike: read
    readings = classify_page([*light_hand, residue, *row(0.25, 0.0, 0.0)[1:]], SETTINGS)
    assert (readings[3].reading, readings[3].choice) == ("choice", "满意")


def test_a_mark_standing_little_out_of_a_grainy_paper_beside_a_firmer_hand_is_asked() -> None:
    """Tuning seed 367, erasure phone (a dim photo): heated erasable gel left 0.188 of darkness under its box's grain
    level of 0.146, alone in its row, beside the voter's ticks of 0.30 under levels of 0.15 — over ``firm``, and 0.63 of
    the hand, so the darkness rules read it 不满意 (the row meant 弃权). Above the grain it stands 0.04 out of the paper
    where the voter's ticks stand 0.15: asked. A light tick standing out half as far as theirs is read, and so is the
    residue on a bilevel scan, whose darkness measures no grain."""
    ticks = [
        replace(score, unit=f"row{index}", darkness=0.30 * bool(score.fill), ink_level=0.15)
        for index in range(3)
        for score in row(0.35, 0.0, 0.0)
    ]
    empty = [replace(score, ink_level=0.146) for score in row(0.28, 0.0, 0.0)[1:]]
    residue = replace(row(0.28, 0.0, 0.0)[0], darkness=0.188, ink_level=0.146, core_share=0.59)
    marks = SETTINGS.marks  # the darkness rules let it pass: over firm, and over half the hand's 0.30
    assert residue.darkness >= max(min(marks.firm, ERASED_RESIDUE * 0.30), marks.faint_share * 0.30)
    readings = classify_page([*ticks, residue, *empty], SETTINGS)
    assert [r.reading for r in readings[:3]] == ["choice"] * 3
    assert (readings[3].reading, readings[3].reason) == ("pending", RowWhy.FAINT)
    hand = voters_hand([ticks[i : i + 3] for i in range(0, 9, 3)], SETTINGS, Page())
    assert hand is not None and hand.contrast == pytest.approx(0.15)
    light = replace(residue, darkness=0.146 + 0.5 * 0.15)  # half as far out of the paper as the hand: a light tick
    assert light.darkness - light.ink_level >= FAINT_CONTRAST * hand.contrast
    assert classify_page([*ticks, light, *empty], SETTINGS)[3].choice == "满意"
    bilevel = [replace(score, bilevel=True) for score in [*ticks, residue, *empty]]
    assert classify_page(bilevel, SETTINGS)[3].choice == "满意"


def test_a_heavy_mark_in_pieces_on_a_sheet_of_solid_strokes_is_asked() -> None:
    """Tuning seed 283, erasure phone: loops over a cross, kept within the box (0.62 of it, 0.89 of its middle), a
    fifth of the mark in its largest firm piece, beside the voter's crosses, seven tenths in one piece: read 满意. A
    heavy mark in pieces on a sheet of solid strokes is asked; a solid one is read, and on a sheet of heavy marks
    (:func:`spills_past` is theirs) the rule does not look."""
    crosses = [replace(row(0.47, 0.0, 0.0)[0], unit=f"row{index}", core_share=0.7) for index in range(4)]
    loops = replace(row(0.62, 0.0, 0.0)[0], centre=0.89, darkness=0.41, core_share=0.17)
    others = row(0.0, 0.0, 0.0)[1:]

    def read(mark: BoxScore, heavy: list[BoxScore]) -> RowReading:
        return classify_row("文化馆", [mark, *others], SETTINGS, heavy_elsewhere=heavy, marks_elsewhere=crosses)

    assert scribbled_among_strokes(loops, [], crosses, SETTINGS)
    assert read(loops, []).reason == RowWhy.SCRIBBLED
    assert read(replace(loops, core_share=0.8), []).choice == "满意"
    assert not scribbled_among_strokes(loops, crosses, crosses, SETTINGS)
    # Tuning seed 349, erasure phone: short of heavy (0.58) but half as much again as the voter's ticks (0.3).
    ticks = [replace(cross, fill=0.3) for cross in crosses]
    light_loops = replace(loops, fill=0.58, centre=0.77, darkness=0.35, core_share=0.23)
    assert scribbled_among_strokes(light_loops, [], ticks, SETTINGS)
    assert not scribbled_among_strokes(light_loops, [], crosses, SETTINGS)  # no heavier than their crosses


def test_on_a_fax_a_line_inside_a_box_found_worse_than_the_page_is_asked() -> None:
    """Tuning seed 197, a fax: lost scan lines squashed a box, its printed foot seen inside it as a line 0.8 mm across
    (wider than THIN_MM, as a printed line looks on a fax), the border matched 0.67 where the page's match 0.90: an
    empty row read 不满意. On a bilevel page such a thin mark in a box found worse than the page's as a rule is
    asked; not where its border is found as well as the page's, nor on a grey scan, nor a mark wider than LINE_MM."""
    line = replace(row(0, 0, 0.11)[2], ink_span=0.8, border_match=0.67, bilevel=True)
    others = [replace(score, border_match=0.9, bilevel=True) for score in row(0, 0, 0)[:2]]
    fax = Page(match=0.9, bilevel=True)
    assert classify_row("文化馆", [*others, line], SETTINGS, fax).reason == RowWhy.ALIGNMENT
    assert classify_row("文化馆", [*others, replace(line, border_match=0.85)], SETTINGS, fax).choice == "不满意"
    assert classify_row("文化馆", [*others, line], SETTINGS, Page(match=0.9)).choice == "不满意"
    assert classify_row("文化馆", [*others, replace(line, ink_span=LINE_MM)], SETTINGS, fax).choice == "不满意"


def test_ink_beside_a_box_that_is_the_noises_tail_leaves_a_row_with_no_mark_abstaining() -> None:
    """Grain, the back's print or a fold's soft shadow in the ring of a box in a row with no mark (show-through and
    scanner-app photos: its median darkness 0.07–0.15 under its box's level of 0.10–0.20): 弃权, as it is no second mark
    beside the row's one clear mark either. Not where the level is the floor (quiet paper: a faint pencil tick beside
    its box, tuning seed 181), nor where the ink is as dark as the lightest hand read (``light``)."""
    empty = row(0.0, 0.0, 0.0)

    def beside(darkness: float, level: float) -> RowWhy | str:
        around = [replace(empty[0], outside=0.04, outside_darkness=darkness, ink_level=level), *empty[1:]]
        reading = classify_row("文化馆", around, SETTINGS)
        return reading.reason or reading.reading

    assert beside(0.09, 0.13) == "blank"
    assert beside(0.09, INK_LEVEL) == RowWhy.OUTSIDE
    assert beside(SETTINGS.marks.light, 0.16) == RowWhy.OUTSIDE
