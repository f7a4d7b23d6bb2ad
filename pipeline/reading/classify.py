"""Classify: turn stored box scores into row readings, with thresholds from the reading settings.

Each box is *marked*, *marginal* or *unmarked*; each row becomes one choice, ``blank`` (弃权), ``overvote``
or ``pending`` with a reason a clerk reads. The rule is "when the evidence is not clear, ask": anything
between the marginal and definite thresholds, ink beside an empty box or along its border, two marks one of
which is scribbled solid (often a correction), a box whose printed border was not found where the fit put
it, or an empty row on paper so grainy that light pencil would not show, sends the row to review. A ring
drawn round a box with its middle left empty (or drawn so tight that it runs along the border, on a clean
page) is read as marking that box, but only when it is the row's one mark; so is a dot too small for
``definite`` or a mark fainter than ``firm`` (a light hand's pencil), alone in its row on a page without a
speck anywhere. Pure functions: ``ballot rescore`` runs them again on stored scores.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline.common.reasons import BoxSeen, RowWhy
from pipeline.reading.score import INK_LEVEL, PATCH_PX_PER_MM, BoxScore
from pipeline.reading.score.grain import STROKE_SIGMAS
from pipeline.reading.score.ink import HYSTERESIS
from pipeline.reading.score.result import FAINT_STROKE_MM, SEARCH_MM, SPILL_MM, UNMEASURED_MM
from pipeline.reading.settings import ReadingSettings

BoxClass = Literal["marked", "circled", "marginal", "unmarked"]
Reading = Literal["choice", "blank", "overvote", "pending"]

#: A trace (see ``marks.trace``) covers under this share of its box; more ink than that is asked about.
TRACE_FILL = 0.05
#: 弃权 claims no ink at all: a pale stroke this long running into a box doubts it. Under FAINT_STROKE_MM (the length a
#: faint stroke must have to count as ink) where the printed lines cut a stroke (``faint_stroke`` from
#: :func:`~pipeline.reading.score.ink.stroke_across_print`, which measures any length): on rows left empty 1.2 mm at
#: the 99th percentile (tuning seeds 11 and 23, office scans), and a light pencil tick whitened by a scanner app to a
#: 2.9 mm piece across its box's border read 弃权 (tuning seed 167). Over seeds 141–167, every condition (135 batches),
#: this doubts one more clear row than FAINT_STROKE_MM did.
ABSTENTION_STROKE_MM = 2.5
#: A pen or pencil stroke's own dark line, at the least: 0.3 mm wide and FAINT_STROKE_MM (3 mm) long, in mm². Grain
#: reaches a firm stroke's darkness in specks; a stroke drawn in the box does along its line (``core``).
STROKE_CORE_MM2 = 0.3 * FAINT_STROKE_MM
# On paper whose noise sets the ink level above ``marks.noisy_paper`` (a phone photo in dim light at high gain, a
# damaged scan), the ink's median stays near that level and only the middle of a stroke clears it, so a mark is asked
# to cover more of its box (``noisy_paper``) and to be darker than the level. Yet grain clears the level in specks,
# never in a solid piece: a mark whose own dark line above the level (``core``) is NOISY_CORE_MM2 or more (a 0.5 mm
# stroke 3 mm long) in a body covering ``marks.definite``, its ink as dark as a pen's (NOISY_FIRM × ``marks.firm``:
# darker than any pencil), is a mark on such paper too. Tuning seeds 127 and 131 (bad profile, dim-light phone
# photos): grain, dust and streaks on such paper leave at most 0.8 mm² that dark; ticks 1.5–4.3 mm², with a few
# under; the pencil there 0.15–0.34 dark.
NOISY_CORE_MM2 = 1.5
NOISY_FIRM = 2.0
MISFIT_MATCH = 0.1  # a row's borders found this much worse than the page's as a rule may lie off their masks
# A pen stroke is 0.3–0.7 mm wide: a mark whose ink inside its box spans no more than that one way (``ink_span``) is
# one straight stroke level with a side, no tick, cross, fill or ring (the flattest tick of tuning seed 7's batches
# spans 0.875 mm; a standard fax's border seen a scan line off its mask 0.5, held-out 1011).
THIN_MM = 0.7
# A printed line 0.3 mm wide seen where no mask expects it (a box's side inside the box) spans up to 1.125 mm across
# on a dithered fine fax (tuning seed 67), 0.75 on a 1-bit 200-dpi scan; a tick's, a cross's or a fill's body more.
# Two or more marks, one of them no wider than this one way, may be a row's printed sides moved into its boxes.
LINE_MM = 1.5
# A page line this dark (share of the printed black) hides a mark at the ink level on its course: over a line of
# darkness d such a mark adds INK_LEVEL × (1 − d), which the scorer keeps as the mark's only above HYSTERESIS ×
# INK_LEVEL (score.row._the_lines).
LINE_HIDES = 1.0 - HYSTERESIS
# A line's course inside a box this much darker than beside it, over a stroke's width (``line_excess``), has a stroke
# drawn along it, among the line's own pixels: the step by which the scorer tells a mark's pixels from the line's. On
# a bilevel scan ``line_excess`` is how much wider the line is there (a dot on a fax's streak), any widening counts.
LINE_EXCESS = HYSTERESIS * INK_LEVEL
MIDDLE_REACHED = 0.25  # a mark covering this share of its box's middle is ink there, not a border found off its place
# A box's border found this much farther off the fit than its row's others': shifts are whole patch pixels, so one
# pixel across and one down is no move.
ROW_SHIFT_MM = math.hypot(1, 1) / PATCH_PX_PER_MM
# On a bilevel scan a stroke the binarisation kept solid black, 3 patch pixels (0.375 mm) wide or more, measures 0.70
# after the scorer's blur; a 2-pixel line 0.30, a line broken into dots (dither, a light ink half lost) 0.34 or less,
# a speck of a pixel or two 0.16–0.28 (score.patch.darkness_of's blur on such lines).
SOLID = 0.5
# Thinner strokes kept solid (a pen on a standard fax: 3.85 scan lines a millimetre) measure as dark as a broken line
# (0.25–0.45), but most of their ink is one piece as dark as a firm stroke (``core_share``); a light ink the threshold
# broke into dots is many pieces. Page medians of the marks, tuning seed 131 (fax-standard, fax-fine, plain fax and
# bad, 118 bilevel pages): pens at least 3 noise deviations darker than the threshold 0.55–0.85, pens near it (grey
# 140–157 against thresholds of 133–167) 0.15–0.39.
SOLID_SHARE = 0.5
#: An eraser leaves of a pencil mark (or heat of erasable gel) up to this share of its darkness: a light mark no darker
#: beside a voter's firmer hand may be such residue.
ERASED_RESIDUE = 0.85
#: Strokes scribbled over a tick cover at least half as much again as the voter's own marks do.
SCRIBBLE_HEAVIER = 1.5
#: An eraser or heat takes most of a mark: what stays stands out of the paper by a fraction of what the voter's marks
#: do. On a grainy photo the paper's own grain lifts every darkness alike (a box's ``ink_level``), so that darkness
#: alone hides the loss: measured above the grain, a mark standing out by under this share of the voter's marks (and
#: fainter than them by ``firm_alike``) is what was left of one.
FAINT_CONTRAST = 0.3
#: A mark of the voter's pen standing this many times STROKE_SIGMAS out of a box's grain would show there (a second
#: mark half as firm as theirs still would).
STROKE_SHOWS = 2.0
#: Dust on a scanner's glass or on the sheet leaves sharp specks over the whole page, 0.2–0.5 mm across (tuning seed
#: 373, bad profile: the specks lying in boxes span 1 mm at the median, as measured with their blur); a pen's dot
#: spans 1.25 mm or more (the voters' dots of the same batch), a stroke more. A speck this narrow ...
DUST_MM = 1.0
#: ... in DUST_BOXES of a page's boxes or more shows a dusty page (a dot of the voter's lies in one box, or in a few
#: rows beside no other mark).
DUST_BOXES = 3


@dataclass(frozen=True)
class RowReading:
    unit: str
    reading: Reading
    choice: str | None
    reason: RowWhy | None  # why a clerk is asked (reading "pending"); None when the reading is certain

    @property
    def label(self) -> str:
        """The export's "reading": the option, or blank / overvote / pending."""
        return self.choice if self.reading == "choice" and self.choice else self.reading


@dataclass(frozen=True)
class Hand:
    """How a voter's marks on one sheet came out as a rule (:func:`voters_hand`)."""

    darkness: float  # their median darkness
    solid: bool  # most came through a bilevel scan solid (:func:`came_through_solid`)
    stroke: float | None = None  # the median darkness of those not covering most of their box, one pen stroke deep
    contrast: float = 0.0  # their median darkness above their boxes' ink levels: how far they stand out of the paper


@dataclass(frozen=True)
class Page:
    """What a row's reading needs to know of its page (:func:`page_of`)."""

    residue: float = 0.0  # what the page leaves along an empty box's border as a rule (median ``edge``)
    clean: bool = False  # no stray ink anywhere (:func:`is_clean_page`)
    match: float = 1.0  # how well the page's box borders were found as a rule (median ``border_match``)
    bilevel: bool = False  # a black-and-white scan (a fax, a 1-bit scan): its noise is black specks
    dusty: int = 0  # how many of its boxes hold a speck no pen's dot is as small as (:func:`is_dust`)
    light_hand: float = 0.0  # how dark a light hand's lone marks are as a rule (:func:`light_hand`), 0 for none


def classify_box(score: BoxScore, settings: ReadingSettings) -> BoxClass:
    # A vote is one mark: specks scattered over a dirty scan may add up to a tick's fill, but no single
    # one of them is a mark, so such a box is only marginal. Nor is ink whose median darkness stays under
    # the level the box's noise set (it is mostly the noise's own tail, joined to it): only marginal. On
    # paper that noisy a mark must also be larger in proportion: two dust specks blurred into one are not.
    marks = settings.marks
    largest_mark = score.fill - score.scattered
    firm = max(marks.firm, score.ink_level)
    definite = marks.definite * max(1.0, score.ink_level / marks.noisy_paper)
    if largest_mark >= definite and score.darkness >= firm:
        return "marked"
    # … with its border whole: what shows of a mark under correction tape is as dark on such paper (tuning seed 131,
    # dim-light and erasure phone photos: a mark taped over, 0.50 dark, read as the vote).
    if score.core >= NOISY_CORE_MM2 and border_whole(score, settings) and pen_on_noisy_paper(score, settings):
        return "marked"
    if is_circled(score, settings):
        return "circled"
    if score.fill >= marks.marginal:
        return "marginal"
    return "unmarked"


def box_seen(score: BoxScore, settings: ReadingSettings) -> BoxSeen:
    """What the machine saw in a box, for the clerk to read beside the crop (the thresholds of
    :func:`classify_box`): a fill share alone points the wrong way where an eraser's residue covers more of a
    box than a faint tick does; whether the ink is as dark as a stroke (``firm``) is what tells them apart."""
    marks = settings.marks
    if is_taped(score, settings):
        return BoxSeen.TAPED
    kind = classify_box(score, settings)
    if kind == "marked":
        return BoxSeen.CLEAR
    if kind == "circled":
        return BoxSeen.RING
    if score.crossing >= marks.crossing:
        return BoxSeen.LINE
    if score.fill >= marks.marginal:
        if score.scattered * 2 >= score.fill:
            return BoxSeen.SPECKS
        if score.darkness < max(marks.firm, score.ink_level):
            return BoxSeen.FAINT
        return BoxSeen.SMALL
    # No ink counted, but a stroke as long as a tick's leg too faint to count on its paper (``faint_stroke``, on quiet
    # paper or out of a photo's grain): the box the clerk is asked about.
    if score.faint_stroke >= FAINT_STROKE_MM:
        return BoxSeen.FAINT
    if score.outside >= marks.outside:
        return BoxSeen.OUTSIDE
    if score.edge >= marks.edge:
        return BoxSeen.BORDER
    return BoxSeen.EMPTY


def border_whole(score: BoxScore, settings: ReadingSettings) -> bool:
    """Whether the box's printed border shows whole: paper over under half of ``marks.taped`` of two opposite sides."""
    return score.border_hidden < settings.marks.taped / 2


def pen_on_noisy_paper(score: BoxScore, settings: ReadingSettings) -> bool:
    """On paper whose noise set the ink level above ``marks.noisy_paper``, a single mark covering ``marks.definite``
    whose ink is as dark as a pen's (NOISY_FIRM × ``marks.firm``): no grain, and no pencil however firm."""
    marks = settings.marks
    return (
        score.ink_level > marks.noisy_paper
        and score.fill - score.scattered >= marks.definite
        and score.darkness >= NOISY_FIRM * marks.firm
    )


def is_circled(score: BoxScore, settings: ReadingSettings) -> bool:
    """A ring drawn round the box (:func:`rings_round`) around a border that was found where it is (a misplaced
    border leaves the printed line itself as a "ring")."""
    return rings_round(score, settings) and score.border_match >= settings.marks.circle_border_match


def rings_round(score: BoxScore, settings: ReadingSettings) -> bool:
    """Ink all around the box, little inside it and none in the middle (a tick or a cross crosses the middle; a
    ring of grey inside the box is a soft scan's halo, not a pen), and in the ring around the box
    (``marks.outside``; rings measure 0.09 and more there, ours and the field samples'): the printed lines drawn a
    pixel off their masks, thick, by a standard fax leave long straight pieces right beside them in most
    directions but next to nothing there (tuning seed 23: an empty row read 不满意). A ring hugging the printed
    line is :func:`is_tight_ring`'s."""
    marks = settings.marks
    return (
        score.encircled >= marks.encircled
        and score.fill < marks.definite
        and score.centre < marks.marginal
        and score.outside >= marks.outside
    )


def is_tight_ring(score: BoxScore, others: Sequence[BoxScore], residue: float, settings: ReadingSettings) -> bool:
    """A ring drawn so tight that it runs along the printed border: it hides in the line's own pixels from
    ``encircled``, but leaves a pen line along the border all round the box. A soft photo or a fax leaves the
    line's own grey or thickening there too, all round every box: so only where the page (``residue``) and
    the row's other boxes show next to nothing along their borders (under half of ``marks.edge``) and this
    box shows far more (twice ``marks.edge`` above them), around a border found where it is. A ring drawn by hand
    wobbles off the line here and there, into the ring around the box (``marks.marginal`` of it or more: 620 tight
    rings of tuning seeds 173–197 left 0.022–0.48 there); the printed line's own blur, softer in one box than in the
    rest of its row (a steep photo's depth of field), leaves flanks along both its sides and nothing beyond them
    (tuning seed 197, a steep photo: an empty box read as a ring, edge 0.20 all round, nothing around it)."""
    marks = settings.marks
    elsewhere = max([residue, *(other.edge for other in others)])
    return (
        score.edge_around >= marks.tight_ring
        and score.outside >= marks.marginal
        and score.fill < marks.definite
        and score.centre < marks.marginal
        and score.border_match >= marks.circle_border_match
        and elsewhere < marks.edge / 2
        and score.edge - elsewhere >= 2 * marks.edge
    )


def ringed_over_its_border(score: BoxScore, others: Sequence[BoxScore], page: Page, settings: ReadingSettings) -> bool:
    """A ring drawn so close round a box that its own ink lies over the printed border (an ellipse through the
    box's corners, a thick pen): the border's match falls below ``marks.circle_border_match`` though it was
    found where it is. The row vouches for that: its other boxes' borders are found as well as the page's are
    as a rule (within MISFIT_MATCH) and well enough for a ring round them to count, and this box's border lies
    where theirs do (its shift no more than ROW_SHIFT_MM beyond theirs). A border found off its place, the one
    thing the match guards against, leaves the printed line beside the box only where its row's borders are
    found off theirs too, or where it moved away from them (field sample bad 0007: one voter's seven rings
    through the corners of their boxes, matched 0.43–0.54 in rows matching 0.79–0.81, all asked)."""
    return (
        rings_round(score, settings)
        and row_vouches(others, page, settings.marks.circle_border_match)
        and score.shift_mm <= max(other.shift_mm for other in others) + ROW_SHIFT_MM
    )


def is_small_dot(score: BoxScore, others: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """A dot smaller than ``definite``: a dark mark of at least ``marks.dot`` reaching the box's middle, nothing
    beside it, alone (:func:`is_alone`). Only on a clean page (:func:`is_clean_page`): dust on a dirty scan
    makes dots of this size too, but scatters them."""
    marks = settings.marks
    return (
        score.fill >= marks.dot
        and score.darkness >= marks.firm
        and score.centre > 0
        and score.outside == 0
        and is_alone(score, others)
    )


def is_light_mark(score: BoxScore, others: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """A mark of a light hand: as large as ``definite`` but fainter than ``firm``, down to ``marks.light``,
    alone (:func:`is_alone`). Only on a clean page (:func:`is_clean_page`): on a degraded scan erased residue
    and scribbles reach that darkness too."""
    return alone_and_as_dark(score, others, settings, settings.marks.light)


def alone_and_as_dark(
    score: BoxScore, others: Sequence[BoxScore], settings: ReadingSettings, darkness: float, *, among_dust: bool = False
) -> bool:
    """A mark as large as ``definite``, at least ``darkness`` dark, alone in its row (:func:`is_alone`), or where
    ``among_dust`` beside nothing but dust (:func:`alone_among_dust`)."""
    alone = alone_among_dust(score, others, settings) if among_dust else is_alone(score, others)
    return score.fill >= settings.marks.definite and score.darkness >= darkness and alone


def in_a_light_hand(score: BoxScore, others: Sequence[BoxScore], page: Page, settings: ReadingSettings) -> bool:
    """A mark of the sheet's light hand (:attr:`Page.light_hand`): as large as ``definite``, alone (:func:`is_alone`),
    and no fainter than what an eraser leaves of such a mark (ERASED_RESIDUE of the hand) nor than a trace (``trace``:
    no pen's stroke is fainter). On a clean page (:func:`is_clean_page`), as :func:`is_light_mark`, or on a dusty one
    (DUST_BOXES or more, :attr:`Page.dusty`) where the row's other boxes hold nothing but dust
    (:func:`alone_among_dust`): a red pen through a grey conversion on a damaged scan (tuning seed 401, red-pen bad: a
    sheet's ticks 0.11–0.17 dark, spanning 2.6–4.5 mm, beside specks of dust 1 mm across, asked row by row; with
    :func:`light_hand` minding a firm hand, 408 kept batches: 84 clear rows more read, 27 of them on that batch's 144
    asks, and 5 ambiguous ones, every one as its intent). And a grey one: a bilevel scan breaks a light ink into dots,
    or drops it (tuning seed 353, a fine fax: a box scribbled over came through as light as a hand of crosses, the tick
    beside it lost)."""
    if page.bilevel or page.light_hand <= 0:
        return False
    floor = max(settings.marks.trace, ERASED_RESIDUE * page.light_hand)
    if page.clean:
        return alone_and_as_dark(score, others, settings, floor)
    return page.dusty >= DUST_BOXES and alone_and_as_dark(score, others, settings, floor, among_dust=True)


def alone_among_dust(score: BoxScore, others: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """One piece of ink on quiet paper, as :func:`is_alone`, in a row whose other boxes hold nothing but dust
    (:func:`is_dust`) and no mark beside them (under ``marks.outside`` of their ring: a speck of dust there)."""
    return one_quiet_piece(score) and all(
        (other.fill == 0 or is_dust(other)) and other.outside < settings.marks.outside for other in others
    )


def is_alone(score: BoxScore, others: Sequence[BoxScore]) -> bool:
    """One piece of ink on quiet paper (:func:`one_quiet_piece`), in a row whose other boxes hold no ink, in them or
    beside them."""
    return one_quiet_piece(score) and all(other.fill == 0 and other.outside == 0 for other in others)


def one_quiet_piece(score: BoxScore) -> bool:
    """One piece of ink (nothing scattered apart from it) on quiet paper (the ink level at its floor)."""
    return score.scattered == 0 and score.ink_level <= INK_LEVEL


def filled_alike(marked: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """Boxes all filled solid the same way: each at least ``cancelled`` full, nothing beyond it (no ink
    around it, no stroke running on past its sides), their ink equally dark within ``marks.alike``. Nothing
    shows which of them would be a correction, so a clerk could only call the row 无效, as an overvote is:
    a correction scribbled over one box shows as ink beyond it or darker ink, or beside a different mark."""
    marks = settings.marks
    darkness = [score.darkness for score in marked]
    return min(darkness) >= marks.alike * max(darkness) and all(
        score.fill >= marks.cancelled and score.outside < marks.marginal and score.crossing < marks.crossing
        for score in marked
    )


def hidden_by_its_mark(score: BoxScore, others: Sequence[BoxScore], page: Page, settings: ReadingSettings) -> bool:
    """A box whose border is found poorly because its own mark lies over it: a heavy tick or a marker's strokes
    reaching well into its middle (``centre`` ≥ MIDDLE_REACHED, which a border found off its place never puts
    there) and leaving it across the border (``outside`` ≥ ``marks.outside``), in a row whose other boxes' borders
    are found as well as the page's are as a rule (within MISFIT_MATCH): they vouch for the row's place (field
    sample bad 0009: four rows of thick ticks, border match 0.43, sent to a clerk as misaligned)."""
    return (
        classify_box(score, settings) == "marked"
        and score.centre >= MIDDLE_REACHED
        and score.outside >= settings.marks.outside
        and row_vouches(others, page)
    )


#: Boxes with no ink that vouch for their row's place where it moved as a whole (:func:`moved_together`), at least.
MOVED_VOUCHERS = 2


def moved_together(scores: Sequence[BoxScore], page: Page) -> bool:
    """The row's borders were found where the whole row lies, further from the page's fit than
    ``alignment.max_box_shift_mm`` may be (a fax's feed slipping for a band of rows, a fold): no box's border found at
    the edge of the search (SEARCH_MM: one beyond it would be found there, its shift SEARCH_MM or more), and at least
    MOVED_VOUCHERS of its boxes with no ink in them, whose borders nothing hides, found as well as the page's are as a
    rule (:func:`row_vouches`). Field fax 0009: a row moved 0.76-0.88 mm by the fax's feed, its empty boxes' borders
    matched 0.85 and 0.88 (the page's median 0.85), its cross read right, was asked as misaligned."""
    empty = [score for score in scores if score.fill == 0]
    return (
        all(score.shift_mm < SEARCH_MM for score in scores)
        and len(empty) >= MOVED_VOUCHERS
        and row_vouches(empty, page)
    )


def is_taped(score: BoxScore, settings: ReadingSettings) -> bool:
    """A strip of correction tape (or fluid) laid across the box: its printed border shows paper on two opposite
    sides over ``marks.taped`` of them (``border_hidden``: ink over a border keeps it dark). Whatever its fill: a
    mark covering its box covers its border too and keeps it dark (a solid fill whose border was found a pixel off
    shows at most 0.14 of it), while the mark a strip was laid over shows through it and at its ends (tuning seed
    179, erasure: tape over a cross, fill 0.66 and 0.27 dark, read as the vote; of 60 kept batches' boxes covered
    0.6 or more, only it and a box scribbled over had a border so hidden)."""
    return score.border_hidden >= settings.marks.taped


def is_speck(score: BoxScore) -> bool:
    """One small piece of ink, under TRACE_FILL of the box, not solid (SOLID) and lying wholly in it: on a bilevel
    scan, the scan's own noise (a stray pixel or two, blurred) or all a binarisation left of a light ink. A piece that
    runs on past the border (``outside_reach``) is the end of a stroke whose body lies on the border or beyond it
    (tuning seed 131, erasure on a 1-bit fax: the second tick of an overvote drawn over the box's corner, 0.045 of
    the box inside it, taken for a speck beside the first: read 满意)."""
    return score.scattered == 0 and score.fill < TRACE_FILL and score.darkness < SOLID and score.outside_reach == 0


def is_dust(score: BoxScore) -> bool:
    """A speck (:func:`is_speck`: one small piece, not solid, wholly in the box) smaller than any pen's dot: DUST_MM
    across at most, with no stroke's dark line in it (STROKE_CORE_MM2)."""
    return is_speck(score) and score.core < STROKE_CORE_MM2 and score.ink_span <= DUST_MM


def is_solid(score: BoxScore, settings: ReadingSettings) -> bool:
    """On a bilevel scan, a mark drawn in an ink the binarisation kept solid (:func:`came_through_solid`), not
    covering its box (a box scribbled over may be a correction, the voter's choice elsewhere)."""
    return came_through_solid(score) and not is_heavy(score, settings)


def came_through_solid(score: BoxScore) -> bool:
    """On a bilevel scan, a mark whose ink the binarisation kept solid: as dark as a solid stroke 3 patch pixels
    wide (SOLID), or, thinner, mostly one piece as dark as a firm stroke (SOLID_SHARE)."""
    return score.darkness >= SOLID or score.core_share >= SOLID_SHARE


def row_vouches(others: Sequence[BoxScore], page: Page, at_least: float = 0.0) -> bool:
    """The row's other boxes' borders are found as well as the page's are as a rule (within MISFIT_MATCH), and at
    least ``at_least``: they vouch for the row's place where one box's own ink hides its border."""
    return bool(others) and all(
        other.border_match > page.match - MISFIT_MATCH and other.border_match >= at_least for other in others
    )


def is_clean_page(scores: Sequence[BoxScore]) -> bool:
    """No stray ink anywhere on the page: no box holds a trace (under TRACE_FILL of it), and no empty box has
    ink beside it (the specks of a dirty scan, grain, a stray stroke)."""
    return not any(0 < score.fill < TRACE_FILL or (score.fill == 0 and score.outside > 0) for score in scores)


def row_classes(scores: Sequence[BoxScore], settings: ReadingSettings, page: Page = Page()) -> list[BoxClass]:
    """The class of each box of one row: :func:`classify_box`; a tight ring (:func:`is_tight_ring`) or a ring
    over the box's border (:func:`ringed_over_its_border`), which only the row and the page can tell, is
    circled; on a clean page (:attr:`Page.clean`, :func:`is_clean_page`),
    a small dot (:func:`is_small_dot`) or a light mark (:func:`is_light_mark`) alone in its row is marked, and so is a
    mark of the sheet's light hand (:func:`in_a_light_hand`) on a clean page or a dusty one."""
    classes = [classify_box(score, settings) for score in scores]
    for at, (score, kind) in enumerate(zip(scores, classes, strict=True)):
        others = [*scores[:at], *scores[at + 1 :]]
        if kind in ("marginal", "unmarked") and (
            is_tight_ring(score, others, page.residue, settings)
            or ringed_over_its_border(score, others, page, settings)
        ):
            classes[at] = "circled"
        elif kind == "marginal" and (
            (page.clean and (is_small_dot(score, others, settings) or is_light_mark(score, others, settings)))
            or in_a_light_hand(score, others, page, settings)
        ):
            classes[at] = "marked"
    return classes


def classify_row(
    unit: str,
    scores: Sequence[BoxScore],
    settings: ReadingSettings,
    page: Page = Page(),
    *,
    from_below: frozenset[int] = frozenset(),
    reached: frozenset[int] = frozenset(),
    hand: Hand | None = None,
    halo: float = 0.0,
    heavy_elsewhere: Sequence[BoxScore] = (),
    marks_elsewhere: Sequence[BoxScore] = (),
    faint_elsewhere: Sequence[BoxScore] = (),
) -> RowReading:
    """One row's reading. ``page``: what is known of its page (:func:`page_of`); ``from_below``: positions of
    boxes whose ink around them is the leg of a tick in the box below (:func:`legs_from_below`); ``reached``:
    boxes whose mark may be such a leg ending in them (:func:`legs_reaching_in`); ``hand``: how
    the voter's marks on this sheet came out as a rule (:func:`voters_hand`), None when too few to tell;
    ``halo``: what the printed borders leave along themselves in this part of the page (:func:`halos`);
    ``heavy_elsewhere``: the page's other rows' marks covering most of their box (:func:`heavy_marks`);
    ``marks_elsewhere``: the page's other rows' marked boxes (:func:`struck_over`); ``faint_elsewhere``: the marginal
    boxes of the page's other rows that hold no mark (:func:`laid_over_a_lost_hand`)."""
    marks = settings.marks
    limits = settings.alignment
    residue = page.residue
    classes = row_classes(scores, settings, page)
    marked = [score for score, kind in zip(scores, classes, strict=True) if kind == "marked"]
    marginal = [score for score, kind in zip(scores, classes, strict=True) if kind == "marginal"]
    circled = [score for score, kind in zip(scores, classes, strict=True) if kind == "circled"]
    clear_mark = len(marked) == 1 and marked[0].fill >= 2 * marks.definite and not circled
    # Tape is laid over one box, where a fax's burst of lost scan lines or a row off its fit hides every border.
    whole = any(border_whole(score, settings) for score in scores)
    taped = {score.position for score in scores if is_taped(score, settings) and whole}
    # How dark ink beside the row's one clear mark (or ring) must be to be as dark as it, one pen's (firm_alike):
    # ink that dark is never the noise's tail, whatever the level the noise set in its box. A mark covering most of its
    # box measures darker than a tick of the same pen (its strokes overlap): there the voter's marks as a rule are the
    # pen's measure where lighter (tuning seed 151, a dim photo: a tick of 0.32, the voter's marks 0.34, beside a box
    # scribbled over at 0.46, dropped as the noise's tail and the scribble read as the vote); where the sheet shows too
    # few marks to know the hand, one stroke of the pen is as light as one layer of the two its strokes overlap in
    # (:func:`one_layer`; tuning seed 163, a dim photo with two marked rows: a tick of 0.323 beside a box scribbled
    # over at 0.475, dropped under 0.7 × 0.475). The voter's marks are the measure only as strokes (``Hand.stroke``):
    # their own boxes scribbled over measure as dark as this one (tuning seed 211, a dim photo: the voter's ticks all
    # under their boxes' noise levels, marginal; two scribbled boxes and a cross made the hand 0.42, and a tick of 0.25
    # beside a box scribbled over at 0.47 was dropped, the scribble read as the vote).
    own = marked[0].darkness if clear_mark else circled[0].outside_darkness if circled else 0.0
    if clear_mark and is_heavy(marked[0], settings):
        own = min(own, hand.stroke) if hand is not None and hand.stroke is not None else one_layer(own)
    as_dark = marks.firm_alike * own
    if clear_mark or (len(circled) == 1 and not marked):
        # Beside one clear mark (a firm tick, or a ring round a box), a trace too faint and small for any pen or pencil
        # (grain on a photo, :func:`faint_grain`) is no second mark; nor is ink whose median darkness stays under the
        # level its box's noise set, however much of the box it covers: the noise's own tail, joined to it, or what an
        # eraser or tape left of a mark taken back (field phone 0001, 0007: grain at 0.08–0.115 under levels of
        # 0.10–0.13). Under every pen and pencil line measured (HB pencil 0.17–0.20, a light hand 0.15); and fainter
        # than the clear mark by far (as_dark): on a dark, grainy photo two crosses of one pen measured 0.387 and 0.385
        # against their boxes' levels of 0.387 and 0.371, one a hair under, and the row read as the other (held-out seed
        # 1007, marks-cut phone: an overvote read 基本满意). Nor where a stroke's own dark line lies in it (``core``,
        # STROKE_CORE_MM2): grain joined to a tick drawn low in its box, along its border, pulled the ink's median to
        # 0.104 under a level of 0.143 (tuning seed 61, marks-cut phone: an overvote read 基本满意; the tick's line 1.4
        # mm² as dark as a firm stroke; grain under its level in 77 boxes of the same batches' photos at most 0.5 mm², a
        # stain on a damaged field scan none). On a bilevel scan, beside a mark whose ink came through solid, one speck
        # (:func:`is_speck`) is the scan's noise: the voter's pen would have come through solid there too. Not beside a
        # mark in a light ink, broken into dots (a second mark in it may come through as one speck), nor beside a box
        # scribbled over (tuning seeds 7, 23, 43 on faxes: a scribbled-out box read clear, the vote ticked in a light
        # ink beside it one speck). Nor, on paper so noisy that a pen's strokes keep under the level set by it
        # (:func:`pen_on_noisy_paper`), a body as large as a mark in a pen's darkness: a tick of 0.56 under a level of
        # 0.63 beside a box scribbled out was dropped as the noise's tail (tuning seed 131, dim-light and erasure phone
        # photos: a correction read as the vote).
        marginal = [
            score
            for score in marginal
            if not faint_grain(score, page, settings)
            and (
                score.darkness >= score.ink_level
                or score.darkness >= as_dark
                or score.core >= STROKE_CORE_MM2
                or pen_on_noisy_paper(score, settings)
            )
            and not (clear_mark and page.bilevel and is_speck(score) and is_solid(marked[0], settings))
            # Nor, on a grey scan, a speck of the dust the page shows in its boxes (:func:`is_dust`, DUST_BOXES of them
            # or more): tuning seed 373, bad profile, 113 clear rows of 660 asked, 96 specks beside a tick.
            and not (clear_mark and not page.bilevel and is_dust(score) and page.dusty >= DUST_BOXES)
        ]
    beside = [
        score
        for score, kind in zip(scores, classes, strict=True)
        if kind == "unmarked"
        and score.outside >= marks.outside
        and score.position not in from_below
        # Beside one clear mark, ink around another box whose median darkness stays under that box's noise level
        # is the noise's tail, the back's print, a shadow (show-through photos: 0.08–0.12 against pen from 0.17)
        # unless it is as dark as the clear mark (as_dark)
        and not (clear_mark and score.outside_darkness < score.ink_level and score.outside_darkness < as_dark)
    ]
    # A ring drawn tight round a box runs along its printed border and leaves little ink anywhere else. A soft
    # photo leaves some of the printed line's own grey there too, unevenly: a box is compared with the row's
    # cleanest one or with the empty boxes around it (a photo's blur grows with the distance from where it
    # focused, so one end of a row may be far softer than the other), whichever leaves more, by a margin that
    # grows with what the page leaves along its borders as a rule.
    cleanest = min(score.edge for score in scores)
    along = [
        score
        for score, kind in zip(scores, classes, strict=True)
        if kind == "unmarked" and score.edge - max(cleanest, halo) >= marks.edge + residue
    ]
    # What shows of a mark under tape (faint strokes through it, the tape edges' shadows beside the box and along
    # its border) beside the voter's one clear mark is the mark taken back, not a second one; alone in its row,
    # only where nothing shows in the box or beside it (the row is 弃权; ink beside it may be a tick that missed).
    withdrawn = {
        score.position
        for score in scores
        if score.position in taped and (clear_mark or score.fill == score.outside == 0)
    }
    marginal, beside, along = (
        [score for score in group if score.position not in withdrawn] for group in (marginal, beside, along)
    )

    def pending(reason: RowWhy) -> RowReading:
        return RowReading(unit, "pending", None, reason)

    # A box filled in solid, ringed over its border or taped over hides that border, so its border match says
    # nothing about alignment where the row's others vouch for its place. Ink along the border of every box of a
    # row, the cleanest too, far beyond what the page leaves there as a rule, where the row's borders match worse
    # than the page's do, is the printed border itself lying off its mask (a fax's lost scan lines moved the row):
    # nothing measured in those boxes is to be trusted.
    misfit = statistics.median(score.border_match for score in scores) <= page.match - MISFIT_MATCH
    moved = moved_together(scores, page)
    if (misfit and cleanest - residue >= marks.edge) or any(
        (score.shift_mm > limits.max_box_shift_mm and not moved)
        or (
            score.border_match < limits.min_border_match
            and score.fill < limits.border_hidden_fill
            and kind != "circled"
            and not hidden_by_its_mark(score, [other for other in scores if other is not score], page, settings)
            and not (score.position in taped and row_vouches([other for other in scores if other is not score], page))
        )
        for score, kind in zip(scores, classes, strict=True)
    ):
        return pending(RowWhy.ALIGNMENT)
    # A box scribbled out solid, the strokes running past its sides, crosses it like a line: its fill says
    # what it is (a correction beside another mark, else the row's one mark), a streak's or a fold's does not.
    # Nor do the edges of a strip of tape laid level across a box (whose own reading follows).
    if any(
        score.crossing >= marks.crossing and score.fill < marks.cancelled and score.position not in taped
        for score in scores
    ):
        return pending(RowWhy.LINE)
    # Nor is ink level with one side of a box, no wider across than a pen's stroke, that does not run on past it as
    # a line does: most often the box's printed border itself lying a little off its mask (a standard fax's rows
    # move by whole scan lines, 0.26 mm: held-out 1011, an empty row read 基本满意), else a stroke drawn straight
    # along it; a clerk looks. On a bilevel scan a printed line seen inside its box looks as wide as LINE_MM: a box
    # whose border was found worse than the page's as a rule may hold its own side, squashed into it by the fax's lost
    # scan lines (the page a little turned, a burst takes one box's side and the next box's middle: tuning seed 197,
    # a fax, an empty row read 不满意, a line 0.8 mm across level with the box's foot, the border matched 0.67 where
    # the page's borders match 0.90 as a rule; 13 clear rows more asked over 80 kept batches, rings and leg tips).
    if any(
        score.ink_span < THIN_MM
        or (page.bilevel and score.ink_span < LINE_MM and score.border_match < page.match - MISFIT_MATCH)
        for score in marked
    ):
        return pending(RowWhy.ALIGNMENT)
    # A tick's long leg from the box below may end in this box: whose mark it is, only the paper shows.
    if any(score.position in reached for score in marked):
        return pending(RowWhy.LEG)
    # Correction tape laid across a box (:func:`is_taped`): the mark under it was taken back. Where its strokes
    # show as a mark (at the tape's ends, or through it; the tape edges' shadows, running past the box above and
    # below, may even look like a ring round it), or show through it in a row with no other clear mark, a clerk
    # sees whether the row is 弃权.
    if taped - withdrawn or any(score.position in taped for score in [*marked, *circled]):
        return pending(RowWhy.CORRECTION)
    if circled:
        if len(circled) > 1 or marked or marginal or beside or along:
            return pending(RowWhy.CIRCLE)
        # A ring's pen line lies round the box (``outside_darkness``) and, drawn wide, into it; a ring drawn tight
        # along the border has no darkness of its own measured (``edge``) and is read only on a clean page.
        (round_box,) = circled
        inked = max(round_box.outside_darkness, round_box.darkness)
        if inked and lost_in_noise(inked, [score for score in scores if score is not round_box]):
            return pending(RowWhy.NOISY)
        return RowReading(unit, "choice", round_box.option, None)
    if len(marked) >= 2:
        if any(score.fill >= marks.cancelled for score in marked) and not filled_alike(marked, settings):
            return pending(RowWhy.CORRECTION)
        # The fainter mark is measured against the darker one, an erasure's residue being fainter than the mark left
        # beside it; but where the darker one is darker than the voter's marks are as a rule (a box gone over twice,
        # pressed harder), against the voter's hand: a mark as dark as their marks always are is theirs, complete
        # (382 kept batches: 22 clear overvotes of two ticks, the lighter as dark as the voter's ticks elsewhere, the
        # darker up to twice as dark, were asked; now voided, and no other row read differently). Boxes filled whole
        # are measured apart (:func:`filled_alike`): scribbling over a fill is how one is taken back.
        darkness = [score.darkness for score in marked]
        usual = min(max(darkness), hand.darkness) if hand is not None else max(darkness)
        if min(darkness) < marks.firm_alike * usual:  # an erasure, a faint second mark, a correction?
            return pending(RowWhy.CORRECTION)
        # Pencil (under ``overvote_darkness``): one of them may be a rubbed-out mark's residue, as dark as a pencil tick
        # (tuning seed 23). Not where each is as dark as the voter's marks as a rule, but for what an eraser takes
        # (ERASED_RESIDUE of their hand): on such a sheet both are their complete marks, as the other rows' marks are
        # (408 kept batches: 354 clear overvotes in pencil or a light pen asked, now voided, and no other row read
        # differently; with no floor at all, 47 more, and still none).
        pencil = (
            marks.overvote_darkness if hand is None else min(marks.overvote_darkness, ERASED_RESIDUE * hand.darkness)
        )
        if min(darkness) < pencil:
            return pending(RowWhy.CORRECTION)
        # A complete, firm mark is mostly one piece as dark as a firm stroke (SOLID_SHARE of its ink, ``core_share``);
        # a mark that is not is broken, smudged or rubbed: strokes scribbled over a mark to take it back, an erasure's
        # residue (tuning seed 141, a scanner app's steep photo: a tick scribbled over beside the voter's tick, 0.72 as
        # dark, a fifth of its ink in its largest firm piece, read 无效; every other row read 无效 there, 200, 0.34 or
        # more). Unmeasured (0: a store from before it was) tells nothing: a mark dark enough for an overvote has a
        # core.
        if any(0 < score.core_share < SOLID_SHARE for score in marked):
            return pending(RowWhy.CORRECTION)
        fills = sorted(score.fill for score in marked)
        if fills[-1] >= marks.covering and fills[0] < marks.firm_alike * fills[-1]:  # a box scribbled over, a tick
            return pending(RowWhy.CORRECTION)
        # A complete mark reaches the box's middle; one that leaves it empty is strokes showing beside correction
        # tape laid over the box, or what an eraser left along its border (held-out seed 1003, then a tuning seed) —
        # where the box's printed border shows something laid over it or rubbed off (``border_hidden``). A tick drawn
        # low, turning at the box's foot, leaves its middle empty too, its border whole (field fax 0003; 434 kept
        # batches: 85 clear overvotes so asked — 38 fax, 28 office, 19 phone — now voided, no other row read
        # differently; with no such test at all, the same).
        if any(score.centre == 0 and score.border_hidden > 0 for score in marked):
            return pending(RowWhy.CORRECTION)
        # A fax that lost a band of scan lines through a row squashed its boxes: each box's printed side lies inside
        # it, one thin straight line in every box, alike in darkness and size, as an overvote's marks are (tuning seed
        # 67, fine fax: a tick read as an overvote; a 弃权 row so squashed reads as one too). Two marks are voided only
        # where each spans more than a line both ways (``ink_span``, the narrower of its height and width).
        if any(score.ink_span < LINE_MM for score in marked):
            return pending(RowWhy.ALIGNMENT)
        if fills[0] < marks.overvote_balance * fills[-1]:
            return pending(RowWhy.UNEQUAL)
        return RowReading(unit, "overvote", None, None)
    if marginal:
        return pending(RowWhy.MARGINAL)
    if beside:
        return pending(RowWhy.OUTSIDE)
    if along:
        return pending(RowWhy.EDGE)
    if len(marked) == 1:
        others = [score for score in scores if score is not marked[0]]
        pen = pen_stroke(marked[0], marks_elsewhere, settings, faint_elsewhere)
        if lost_in_noise(pen, others) and not stands_out_of_the_grain(marked[0], pen, others):
            return pending(RowWhy.NOISY)
        # A second mark may lie along a line across the page in another box, among the line's own pixels (a dot on
        # a fax's streak): the row's one mark would be half an overvote. Where the box's paper is grainy, its line
        # darker by less than the step that tells ink from that grain (HYSTERESIS × its ink level) holds no mark
        # that would have shown (field sample bad 0004, a grainy phone photo: a line 0.07 darker in boxes whose
        # level is 0.17–0.25 beside a tick).
        if any(line_marked(score) for score in others):
            return pending(RowWhy.LINE)
        # A mark far fainter than the voter's others on the same sheet: a pen running dry, a very light
        # pencil, a rubbed-out mark's residue. The voter's own hand is the measure, so a light hand's marks,
        # all alike, are read. A light mark (under ``firm``, read alone on a clean page as a light hand's:
        # :func:`is_light_mark`) is asked where the voter's hand is firmer than it by as much as an eraser takes
        # (ERASED_RESIDUE): what an eraser or heat left of one of their marks (tuning seeds 277, 307 and 311, erasure
        # phone: residue of 0.15–0.16 beside the voter's ticks of 0.21–0.28, read as votes; 10 clear rows more asked
        # over 285 kept batches, light ticks of hands a little firmer; as dark as the hand itself, 180). On a grey scan
        # the measure is also taken above the paper's grain (:func:`faint_above_the_grain`).
        if hand is not None and (
            marked[0].darkness < marks.faint_share * hand.darkness
            or marked[0].darkness < min(marks.firm, ERASED_RESIDUE * hand.darkness)
            or (not page.bilevel and faint_above_the_grain(marked[0], hand, settings))
        ):
            return pending(RowWhy.FAINT)
        # A mass of ink around the one mark, more than any tick's leg leaves: scribbled over, crossed out? Not where
        # the mark is a ring round the box that dips into it, its middle empty (field phone 0003: a circle read as
        # a mark, fill 0.10, its ring 0.27): strokes crossing a mark out run over it, through the box's middle.
        # Nor where it is a box blackened whole (涂黑, a vote), its ink spilling only a little past the border all
        # round as a hurried hand's does (further on a sheet whose voter's other fills spill so too).
        ring = marked[0].encircled >= marks.encircled and marked[0].centre < marks.marginal
        if blackened(marked[0], settings, heavy_elsewhere):
            return RowReading(unit, "choice", marked[0].option, None)
        if marked[0].outside * (1.0 - marked[0].outside_from_below) >= marks.scribbled and not ring:
            return pending(RowWhy.SCRIBBLED)
        # A box scribbled over, most of it covered, the strokes running on past it: a voter who fills boxes in (or
        # marks them heavily) and spills past them filled this one; on a sheet marked otherwise, or where this one
        # spills further than the voter's other heavy marks do, it is a mark struck out with loops, the row
        # perhaps meant 弃权.
        if is_heavy(marked[0], settings) and spills_past(marked[0], heavy_elsewhere, marks_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if struck_over(marked[0], marks_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if struck_across_the_fills(marked[0], heavy_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if struck_across_the_ticks(marked[0], heavy_elsewhere, marks_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if looped_among_whole_fills(marked[0], heavy_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if scribbled_among_strokes(marked[0], heavy_elsewhere, marks_elsewhere, settings):
            return pending(RowWhy.SCRIBBLED)
        if page.bilevel and laid_over_a_lost_hand(marked[0], faint_elsewhere, marks_elsewhere):
            return pending(RowWhy.SCRIBBLED)
        return RowReading(unit, "choice", marked[0].option, None)
    # 弃权 is a definite reading too: it means no ink at all, so even a little ink beside a box (a small
    # tick that missed a small printed □) sends the row to a clerk. A leg from the row below (``from_below``) is
    # excused here only where its ink lies below the box, where such a leg ends: whether a stroke crosses the rule
    # between two rows is judged where it meets the two rings, not on the rule itself, and a ring drawn round the
    # box met a tick's arm below so (tuning seed 223, a steep photo: a light ring, a third of its ink below the box,
    # read 弃权; 10 rows more asked over 104 kept batches, long ticks' legs passing beside a box). Nor is ink beside a
    # box the noise's own tail (:func:`noise_tail_around`), as it is not beside the row's one clear mark either.
    if any(
        score.outside >= marks.marginal
        and score.position not in withdrawn
        and (score.position not in from_below or score.outside_below < marks.from_below)
        and not noise_tail_around(score, settings)
        for score in scores
    ):
        return pending(RowWhy.OUTSIDE)
    # Nor a faint stroke the paper's noise left too pale to count (a light pencil tick on a page whose back shows
    # through), nor a box under a line across the page dark enough to hide a faint mark on its course (LINE_HIDES:
    # a stroke at the ink level darkens it by less than the hysteresis step; a scanner streak, and what a faint
    # tick left beside it too little to count; tuning seed 7, streak and show-through office scans: two faint
    # pencil votes read 弃权). The edges of tape laid inside a box are such strokes too: a mark taken back.
    if any(score.faint_stroke >= ABSTENTION_STROKE_MM and score.position not in withdrawn for score in scores):
        return pending(RowWhy.FAINT)
    # Nor a line whose course is darker inside a box than beside it (LINE_EXCESS): a faint pencil tick drawn along a
    # fold's shadow, lost among its pixels (tuning seed 61, folded phone photo: a vote read 弃权; on the same
    # batches' boxes with no mark under a line, 2 of 484 with no ink in them reach it).
    if any(score.line_over >= LINE_HIDES or score.line_excess >= LINE_EXCESS for score in scores):
        return pending(RowWhy.LINE)
    # It also means a light pencil mark would have shown. Where the paper's noise raised a box's ink level to
    # `firm` (a dark or grainy photo), HB pencil, as dark as `firm` and no darker, is lost in it.
    if lost_in_noise(marks.firm, [score for score in scores if score.position not in withdrawn]):
        return pending(RowWhy.NOISY)
    # On a black-and-white scan a light mark may have been wiped out by the threshold, leaving nothing: where the
    # voter's marks on the sheet came through broken (:func:`came_through_solid`: most of them not) or too few to
    # tell, so may have one here (tuning seed 7 faxes: on such sheets over half the rows read 弃权 held a vote in a
    # light ink; on sheets marked solid, none).
    if page.bilevel and (hand is None or not hand.solid):
        return pending(RowWhy.DROPPED)
    return RowReading(unit, "blank", None, None)


def noise_tail_around(score: BoxScore, settings: ReadingSettings) -> bool:
    """Whether the ink around a box is the tail of its paper's noise: its median darkness under the level the box's
    noise set (over INK_LEVEL: on quiet paper a stroke under that floor is a faint stroke, tuning seed 181, a faint
    pencil tick beside its box) and under ``light``, the lightest hand read as one (no pen's stroke is fainter).
    Grain, the back's print and a fold's soft shadow in the ring of a box in a row with no mark (tuning seeds 173–349:
    35 clear rows asked over 321 kept batches, most on show-through and scanner-app photos)."""
    return score.outside_darkness < min(score.ink_level, settings.marks.light) and score.ink_level > INK_LEVEL


def line_marked(score: BoxScore) -> bool:
    """Whether a line across the page is wider (on a bilevel scan) or darker inside the box than beside it by as much
    as a mark on it would make it: LINE_EXCESS, and on grainy paper the step that tells ink from its grain."""
    return score.line_excess >= max(LINE_EXCESS, HYSTERESIS * score.ink_level)


def lost_in_noise(darkness: float, others: Sequence[BoxScore]) -> bool:
    """Whether a mark as dark as ``darkness`` would be lost in the paper's noise of one of the ``others``: its ink
    level (the noise's) reaches it. A row read 弃权 asks it of HB pencil (``firm``); a row read as its one mark (a
    tick, a ring round a box) of that mark, since a second as dark would not have shown there (tuning seed 131,
    dim-light and erasure phone photos: a tick lost under a level of 1.05 beside a box scribbled out, read as the
    vote)."""
    return any(score.ink_level >= darkness for score in others)


def faint_grain(score: BoxScore, page: Page, settings: ReadingSettings) -> bool:
    """A trace too faint and small for any pen or pencil: ink under TRACE_FILL of its box whose median darkness stays
    under ``trace``; or, on a grey scan, with no stroke's dark line in it (STROKE_CORE_MM2) and under ``light``, the
    lightest hand measured (a light hand 0.15, HB pencil 0.17–0.20): a clump of the paper's grain or of a damaged scan's
    noise, no pen's or pencil's mark. Beside the row's one clear mark it is no second one (382 kept batches: 50 clear
    rows no longer asked, 29 of them on a scanner app's steep photos, whose contrast stretch leaves such clumps; every
    row read as its intent). Not ``light`` on a bilevel scan: a light ink the threshold broke into specks is as small
    there (tuning seeds 211, 233, 293, 313 and 367, faxes: seven ticks beside a box scribbled out came through as a
    speck 0.11–0.14 dark, and the scribble would have been read as the vote)."""
    if score.fill >= TRACE_FILL:
        return False
    if score.darkness < settings.marks.trace:  # on any scan: fainter than any pen's or pencil's stroke
        return True
    return not page.bilevel and score.core < STROKE_CORE_MM2 and score.darkness < settings.marks.light


def faint_above_the_grain(mark: BoxScore, hand: Hand, settings: ReadingSettings) -> bool:
    """Whether a row's one mark stands out of its paper (its darkness above its box's ``ink_level``) by under
    FAINT_CONTRAST of what the voter's marks do as a rule (``Hand.contrast``), and is fainter than them by
    ``firm_alike``: what an eraser or heat left of a mark. Tuning seed 367, erasure phone (a dim photo): erasable gel
    heated clear left 0.188 of darkness under a level of 0.146, alone in its row, beside the voter's ticks of 0.30
    standing 0.15 out of their paper — 0.63 of their darkness, over ``firm``, read 不满意 where the row meant 弃权.
    Over 382 kept batches (124 042 rows read as one mark beside a known hand), 36 clear rows more asked (light ticks on
    dim photos, 0.04 %), and 6 ambiguous rows (faint pencil, an erasure beside a tick) no longer read unasked."""
    return (
        mark.darkness < settings.marks.firm_alike * hand.darkness
        and mark.darkness - mark.ink_level < FAINT_CONTRAST * hand.contrast
    )


def stands_out_of_the_grain(mark: BoxScore, pen: float, others: Sequence[BoxScore]) -> bool:
    """Whether a second mark of the voter's pen beside the row's one ``mark``, as dark as ``pen``, would stand out of
    the grain of each of the ``others`` that lost it to their ink level, as the mark does: each searched for a straight
    stroke (``grain_spread`` measured), none standing STROKE_SIGMAS out of its grain, while the mark's own strokes,
    taken down to ``pen`` where that is lighter, stand STROKE_SHOWS × STROKE_SIGMAS out of it. A person looking at a
    grainy photo sees a stroke along its length, where no pixel of it stands out alone (75 kept phone batches of tuning
    seeds 173–353, scanned again: 124 of 771 such asks read, every one its intent, 3 a tick beside an erasure or a
    stray)."""
    if mark.darkness <= 0 or mark.stroke_response <= 0:
        return False
    response = mark.stroke_response * min(1.0, pen / mark.darkness)
    return all(
        other.grain_spread > 0
        and other.stroke_response < STROKE_SIGMAS * other.grain_spread
        and response >= STROKE_SHOWS * STROKE_SIGMAS * other.grain_spread
        for other in others
        if lost_in_noise(pen, [other])
    )


def classify_page(scores: Sequence[BoxScore], settings: ReadingSettings) -> list[RowReading]:
    """Group a page's box scores by row (in sheet order) and classify each row."""
    page = page_of(scores, settings)
    rows = _rows(scores)
    legs = legs_from_below(list(rows.values()), settings)
    reaching = legs_reaching_in(list(rows.values()), settings)
    hand = voters_hand(rows.values(), settings, page)
    around = halos(list(rows.values()), settings)
    classes = {unit: [classify_box(score, settings) for score in group] for unit, group in rows.items()}
    marked = [
        score
        for unit, group in rows.items()
        for score, kind in zip(group, classes[unit], strict=True)
        if kind == "marked"
    ]
    heavy = heavy_marks(marked, settings)
    faint = [
        score
        for unit, group in rows.items()
        if "marked" not in classes[unit]
        for score, kind in zip(group, classes[unit], strict=True)
        if kind == "marginal"
    ]
    return [
        classify_row(
            unit,
            group,
            settings,
            page,
            from_below=legs.get(unit, frozenset()),
            reached=reaching.get(unit, frozenset()),
            hand=hand,
            halo=halo,
            heavy_elsewhere=[score for score in heavy if score.unit != unit],
            marks_elsewhere=[score for score in marked if score.unit != unit],
            faint_elsewhere=[score for score in faint if score.unit != unit],
        )
        for (unit, group), halo in zip(rows.items(), around, strict=True)
    ]


def is_heavy(score: BoxScore, settings: ReadingSettings) -> bool:
    """A mark covering most of its box (``marks.covering``): filled in, scribbled over, a thick pen's cross."""
    return score.fill >= settings.marks.covering


def pen_stroke(
    mark: BoxScore,
    marks_elsewhere: Sequence[BoxScore],
    settings: ReadingSettings,
    faint_elsewhere: Sequence[BoxScore] = (),
) -> float:
    """How dark a second mark of the voter's hand beside the row's one ``mark`` would be at the lightest: as dark as
    the mark, as a rule; but where the mark covers most of its box (filled in, scribbled over) on a sheet the voter
    ticks (their marks elsewhere mostly single strokes, not covering their box), one of their strokes: as light as
    the lightest of those. Tuning seed 227, a dim photo: a box scribbled over (0.87 dark) beside a tick lost whole in
    the grain of its box (level 0.54), the voter's ticks on the sheet 0.48 and 0.59: the scribble read as the vote, as
    a second mark as dark as it would have shown. A voter who fills boxes in would fill a second one too (one layer
    of a fill, taken for their stroke, asked a dim sheet of fills row by row: tuning seed 239). 2 clear rows more asked
    over 225 kept batches, both dim photos. Where the sheet shows no mark of the voter's but their strokes lost in the
    grain of HAND_MARKS or more other rows (``faint_elsewhere``, marginal), those strokes as a median (tuning seed 349,
    a dim photo: every tick marginal at 0.41, a box scribbled over at 0.50 read as the vote beside a tick lost in its
    row; 0 clear rows more over 321 kept batches)."""
    if not is_heavy(mark, settings):
        return mark.darkness
    if not marks_elsewhere and shows_a_hand(faint_elsewhere):
        return min(mark.darkness, statistics.median(score.darkness for score in faint_elsewhere))
    strokes = [score.darkness for score in marks_elsewhere if not is_heavy(score, settings)]
    if 2 * len(strokes) <= len(marks_elsewhere):
        return mark.darkness
    return min([mark.darkness, *strokes])


def one_layer(darkness: float) -> float:
    """How dark one layer of ink is where two laid over each other measure ``darkness``: ink takes away a share of the
    light that reaches it, so two layers let through the square of what one does (1 − d₂ = (1 − d₁)²). A box
    scribbled over is one or two layers deep over most of it, its strokes crossing here and there: one stroke of its
    pen is no lighter than this."""
    return 1.0 - math.sqrt(max(0.0, 1.0 - darkness))


#: A box covered this whole by its mark is blackened (涂黑) where the ink around it stays within SPILL_MM of its
#: border: loops or a scribble striking a mark out leave paper in the box, or run on past it (the coils of a
#: mark struck out reach 1.7–4.3 mm past the box's sides).
BLACKENED_FILL = 0.97
#: A hurried back-and-forth overruns a side by a little or by more (up to ~1.5 mm); turned by up to ~10°, its
#: corners lie farther out (another ~0.6 mm past the box's sides, which the reach measures from), and a fill's
#: broad pen and a photo's blur widen it by ~0.5 mm more: ink up to ~2.6 mm past the border (tuning seed 173, every
#: condition: 166 of 639 boxes blackened whole reached 2.0–3.5 mm past their border, most asked as scribbled over).
#: Trusted only where the voter's own hand shows it, up to HASTY_SPILL_MM: on a sheet whose voter fills boxes in,
#: one of whose other fills spills as far (less SPILL_SLACK_MM, and at least SPILL_MM / 2). A mark struck out with
#: loops on a sheet of ticks or of neat fills is not that voter's way; and loops covering a box whole run on past it
#: further than a fill does (3.1–3.4 mm, all 7 such coils of tuning seeds 173, 181, 191 and 193, erasure) — as a
#: rule: one of tuning seed 241 (erasure office, a sheet of fills) reached 2.75 mm and read as the vote. A hurried
#: back-and-forth runs over every side of its box, its ink lying along the border all round; loops cross the border
#: here and there: a box blackened past SPILL_MM is a hurried fill only where HASTY_EDGE or more of the band along
#: its border is inked (``edge``; fills 2–2.75 mm past their border on 228 kept batches: 5 % under 0.6, 10 % under
#: 0.78, median 0.93; all 16 coils covering their box 0.37–0.65).
HASTY_SPILL_MM = 2.75
SPILL_SLACK_MM = 0.5
HASTY_EDGE = 0.7


def blackened(score: BoxScore, settings: ReadingSettings, heavy_elsewhere: Sequence[BoxScore] = ()) -> bool:
    """A box blackened whole, a vote: its interior covered (BLACKENED_FILL) in ink as dark as a pen's
    (``marks.overvote_darkness``: a box blackened in pencil and rubbed out leaves residue as large), its ink
    spilling past the border no further than a hurried hand's, however much of the ring around it that spill
    darkens: SPILL_MM, or up to HASTY_SPILL_MM where HAND_MARKS or more of the voter's heavy marks on other rows
    (``heavy_elsewhere``) show such a hand, one of them spilling as far less SPILL_SLACK_MM, and its ink lies along the
    border all round (HASTY_EDGE)."""
    if not (score.fill >= BLACKENED_FILL and score.darkness >= settings.marks.overvote_darkness):
        return False
    if score.outside_reach <= SPILL_MM:
        return True
    if score.outside_reach > HASTY_SPILL_MM or score.edge < HASTY_EDGE or len(heavy_elsewhere) < HAND_MARKS:
        return False
    spilled = max(SPILL_MM / 2, score.outside_reach - SPILL_SLACK_MM)
    return any(spilled <= other.outside_reach < UNMEASURED_MM for other in heavy_elsewhere)


def heavy_marks(marked: Sequence[BoxScore], settings: ReadingSettings) -> list[BoxScore]:
    """Of the page's marked boxes, those covering most of their box (:func:`is_heavy`) where they are the voter's
    way of marking: more of them than of the sheet's other marks. A voter who fills boxes in (or marks heavily) does
    so on most rows of the sheet; one who ticks and strikes a mark out with loops does that on a few rows, however many
    (tuning seed 11: four rows struck out on a sheet of six ticks vouched for each other, one read as the vote).
    None where they are not."""
    heavy = [score for score in marked if is_heavy(score, settings)]
    return heavy if 2 * len(heavy) > len(marked) else []


#: A mark covering this share of its box's middle or more covers all of it (a fill, a scribble, loops); a tick's or a
#: cross's strokes cover their own width's share of it (0.2–0.55 measured on ticks of office scans and phone photos).
MIDDLE_COVERED = 0.9


def struck_over(score: BoxScore, marks_elsewhere: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """A row's one mark unlike the voter's way on the sheet (HAND_MARKS or more marks on its other rows): it covers
    its box's whole middle (MIDDLE_COVERED) where their marks as a rule do not, and spills past the box further than
    theirs by ``marks.outside``: loops or a scribble striking a mark out, the row perhaps meant 弃权 (held-out seed
    1008, erasure: a pencil mark struck out with loops, alone in its row on a sheet of ticks, read 满意 on an office
    scan and on a phone photo). A voter who fills boxes in does so on most rows: their median is a fill's."""
    if len(marks_elsewhere) < HAND_MARKS:
        return False
    usual_centre = statistics.median(other.centre for other in marks_elsewhere)
    usual_outside = statistics.median(other.outside for other in marks_elsewhere)
    return (
        score.centre >= MIDDLE_COVERED
        and usual_centre < MIDDLE_COVERED
        and score.outside >= usual_outside + settings.marks.outside
    )


#: On a sheet whose voter does not fill boxes in, a heavy mark (not blackened whole) whose ink runs this far past its
#: box or farther runs on past it as the coil of a mark struck out does (1.7–4.3 mm past the box's sides; as little
#: as 0.06 of the ring around the box: a coil slanted out of one corner), where a box filled in keeps its strokes
#: within the box or turns them just past its border …
STRUCK_REACH_MM = 1.5
#: … where it covers this many times what the voter's other marks do, as a median (loops over a tick cover two to
#: three times the tick's fill): a thick pen's crosses, all alike, run as far past their boxes on a soft photo
#: (tuning seed 41, phone: fill 0.55–0.68 on one sheet, 1.4–1.9 mm past the box).
STRUCK_HEAVIER = 2.0


def spills_past(
    score: BoxScore, heavy_elsewhere: Sequence[BoxScore], marks_elsewhere: Sequence[BoxScore], settings: ReadingSettings
) -> bool:
    """Whether a heavy mark's ink runs on past its box (beside it, ``marks.outside``, or straight past its sides,
    ``marks.crossing``) further than the voter's way: with HAND_MARKS or more heavy marks on the sheet's other rows,
    beyond their median by ``marks.outside`` beside the box (not beyond their most: a voter may strike out two
    rows), or crossing where they do not; with fewer, also where it reaches STRUCK_REACH_MM past the box covering
    STRUCK_HEAVIER times what the voter's other marks do (or they are too few to tell; tuning seed 31, erasure fax: a
    tick struck out with a coil, 0.057 of its ring inked, 2.1 mm past the box, fill 0.69 against their 0.24, was
    read 满意 on a sheet of ticks)."""
    marks = settings.marks
    crosses = score.crossing >= marks.crossing
    if len(heavy_elsewhere) < HAND_MARKS:
        return (
            crosses
            or score.outside >= marks.outside
            or (_runs_on_past(score) and _heavier_than_the_hand(score, marks_elsewhere))
        )
    usual_outside = statistics.median(other.outside for other in heavy_elsewhere)
    usual_crossing = statistics.median(other.crossing for other in heavy_elsewhere)
    return score.outside >= usual_outside + marks.outside or (crosses and usual_crossing < marks.crossing)


#: A coil striking a mark out is drawn across the box along a line and runs on past both its sides: part of it runs
#: straight through the box and beyond both sides (``crossing`` this much or more), where a tick's leg leaves by one
#: side (tuning seeds 173, 179, 181, 191, 193: 9 of the 11 struck marks running past their box, 65 of 3563 such ticks).
STRUCK_ACROSS = 0.1


def struck_across_the_fills(score: BoxScore, heavy_elsewhere: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """On a sheet whose voter fills boxes in (HAND_MARKS or more heavy marks on its other rows, ``heavy_elsewhere``)
    and keeps their fills within their boxes as a rule (their median reach under STRUCK_REACH_MM), a row's one mark
    that is no fill, running on STRUCK_REACH_MM or more past its box and across it (STRUCK_ACROSS): not that voter's
    way, but a coil striking a mark out, the row perhaps meant 弃权 (tuning seed 179, a fax: a struck tick came
    through as 0.35 of its box, 3.4 mm past it, and read 基本满意; the voter's fills reach 0–1.75 mm; too light for
    :func:`spills_past`, and :func:`struck_over` knows a hand of ticks)."""
    if len(heavy_elsewhere) < HAND_MARKS or is_heavy(score, settings):
        return False
    if not _runs_on_past(score) or score.crossing < STRUCK_ACROSS:
        return False
    return statistics.median(other.outside_reach for other in heavy_elsewhere) < STRUCK_REACH_MM


def laid_over_a_lost_hand(
    score: BoxScore, faint_elsewhere: Sequence[BoxScore], marks_elsewhere: Sequence[BoxScore]
) -> bool:
    """On a bilevel page whose voter's pen came through the binarisation as a few specks (HAND_MARKS or more other
    rows holding only marginal ink, ``faint_elsewhere``): a row's one mark running on STRUCK_REACH_MM or more past its
    box and covering STRUCK_HEAVIER times what those do (their median) is ink laid over ink, as loops striking a mark
    out are, whose coils the binarisation left as specks beside the box — not the voter's way on that sheet, which
    no mark of theirs shows (tuning seed 163, a dithered fax, erasure: a light mark struck out with loops read
    不满意, fill 0.26 and 1.6 mm past its box against the lost ticks' 0.045; the row meant 弃权).
    Not where the voter's marks do show, in HAND_MARKS rows or more (``marks_elsewhere``): their pen came through, and
    the specks elsewhere are the scan's (a scanner app's black-and-white photo of grainy paper, speckled all over:
    every firm tick with a Chinese long leg asked on three pages of tuning seeds 173 and 229, 22 clear rows)."""
    if not shows_a_hand(faint_elsewhere) or shows_a_hand(marks_elsewhere):
        return False
    return _runs_on_past(score) and _heavier_than_the_hand(score, faint_elsewhere)


def struck_across_the_ticks(
    score: BoxScore, heavy_elsewhere: Sequence[BoxScore], marks_elsewhere: Sequence[BoxScore], settings: ReadingSettings
) -> bool:
    """On a sheet whose voter ticks (HAND_MARKS or more marks on its other rows, not a hand of heavy marks,
    ``heavy_elsewhere``), a row's one mark that covers STRUCK_HEAVIER times what theirs do (as a median), running on
    STRUCK_REACH_MM or more past its box and across it (STRUCK_ACROSS): loops striking a tick out, the row perhaps
    meant 弃权, however little short of covering its box (:func:`spills_past` looks at heavy marks) or of covering
    its middle (:func:`struck_over`) they fall. Tuning seed 269, erasure office: a tick struck out with loops came
    out as 0.58 of its box (``covering`` 0.6), its middle 0.88 covered (MIDDLE_COVERED 0.9), 3.4 mm past it and
    across it, and read 不满意."""
    if len(marks_elsewhere) < HAND_MARKS or len(heavy_elsewhere) >= HAND_MARKS or is_heavy(score, settings):
        return False
    return _runs_on_past(score) and score.crossing >= STRUCK_ACROSS and _heavier_than_the_hand(score, marks_elsewhere)


def looped_among_whole_fills(score: BoxScore, heavy_elsewhere: Sequence[BoxScore], settings: ReadingSettings) -> bool:
    """On a sheet whose voter fills boxes in whole (HAND_MARKS or more heavy marks on its other rows,
    ``heavy_elsewhere``, BLACKENED_FILL of their box as a median), a heavy mark that leaves paper in its box and runs
    SPILL_MM or more past it: not that voter's fill but loops striking a mark out, the row perhaps meant 弃权. Tuning
    seed 277, erasure (one sheet, office and phone): loops 0.80–0.84 of the box, 2.75–3.0 mm past it, its ring no
    more inked than the voter's hurried fills' (:func:`spills_past`), read 满意. On 266 kept batches such marks on
    such sheets were 110 struck out and 23 fills, every fill asked already by the other rules."""
    if len(heavy_elsewhere) < HAND_MARKS or not is_heavy(score, settings) or score.fill >= BLACKENED_FILL:
        return False
    if statistics.median(other.fill for other in heavy_elsewhere) < BLACKENED_FILL:
        return False
    return SPILL_MM <= score.outside_reach < UNMEASURED_MM


def scribbled_among_strokes(
    score: BoxScore, heavy_elsewhere: Sequence[BoxScore], marks_elsewhere: Sequence[BoxScore], settings: ReadingSettings
) -> bool:
    """On a sheet whose voter marks with strokes (HAND_MARKS or more marks on its other rows, not a hand of heavy
    marks, ``heavy_elsewhere``), each mostly one solid piece (their ``core_share`` SOLID_SHARE or more as a median),
    a heavy mark not blackened whole and broken into pieces (``core_share`` under SOLID_SHARE): strokes scribbled over
    a mark to take it back, the row perhaps meant 弃权, however much of its box's middle they cover or little they
    spill (tuning seed 283, erasure phone: loops over a cross kept within their box, 0.62 of it, 0.89 of its middle
    (MIDDLE_COVERED 0.9), a fifth of it in its largest firm piece, beside the voter's crosses' seven tenths, read 满意;
    2 clear rows more asked over 273 kept batches). Also a mark short of heavy covering SCRIBBLE_HEAVIER times what
    the voter's marks do (tuning seed 349, erasure phone: 0.58 of its box in pieces, the voter's ticks 0.3, read
    不满意; 7 clear rows more over 321 kept batches)."""
    if heavy_elsewhere or len(marks_elsewhere) < HAND_MARKS:
        return False
    if score.fill >= BLACKENED_FILL or not 0 < score.core_share < SOLID_SHARE:
        return False
    if not (is_heavy(score, settings) or _heavier_than_the_hand(score, marks_elsewhere, SCRIBBLE_HEAVIER)):
        return False
    return statistics.median(other.core_share for other in marks_elsewhere) >= SOLID_SHARE


def _runs_on_past(score: BoxScore) -> bool:
    """Whether a mark's ink runs STRUCK_REACH_MM or more past its box, as a struck-out mark's coils do (not measured on
    an office form's boxes: UNMEASURED_MM)."""
    return STRUCK_REACH_MM <= score.outside_reach < UNMEASURED_MM


def _heavier_than_the_hand(score: BoxScore, marks_elsewhere: Sequence[BoxScore], times: float = STRUCK_HEAVIER) -> bool:
    """Whether the mark covers ``times`` what the voter's other marks do (their median), or they are too few (under
    HAND_MARKS) to tell."""
    if len(marks_elsewhere) < HAND_MARKS:
        return True
    return score.fill >= times * statistics.median(other.fill for other in marks_elsewhere)


def shows_a_hand(marks: Iterable[BoxScore]) -> bool:
    """Whether ``marks`` lie in HAND_MARKS rows or more: enough to tell how a voter marks as a rule."""
    return len({score.unit for score in marks}) >= HAND_MARKS


def halos(rows: Sequence[Sequence[BoxScore]], settings: ReadingSettings) -> list[float]:
    """Per row, what the printed borders leave along themselves in its part of the page: the median ``edge`` of
    the empty boxes (no ink inside, none beside) of the row and the rows right before and after it in sheet order.
    A soft photo's blur varies across the sheet (the part farthest from where the camera focused is the softest),
    and the line's grey halo with it; a ring drawn round one box in each row still leaves most boxes of three
    rows empty, so it does not raise its own part's halo."""
    quiet = settings.marks.marginal
    empty = [[score.edge for score in row if score.fill < quiet and score.outside < quiet] for row in rows]
    result: list[float] = []
    for at in range(len(rows)):
        near = [edge for row in empty[max(0, at - 1) : at + 2] for edge in row]
        result.append(statistics.median(near) if near else 0.0)
    return result


#: The voter's hand is told from the marked boxes of this many rows of one sheet or more.
HAND_MARKS = 3


def voters_hand(rows: Iterable[Sequence[BoxScore]], settings: ReadingSettings, page: Page) -> Hand | None:
    """How the voter's marks on one sheet came out as a rule: the median darkness of its marked boxes (one voter, one
    pen: most of them alike), and whether most came through solid (:func:`came_through_solid`); None where they lie in
    fewer than HAND_MARKS rows. Marks in one row alone tell little of a hand (tuning seed 131, fine fax:
    a sheet whose every tick the threshold wiped out, one row's boxes inked by the fax's repeated scan lines, solid,
    taken for the voter's three solid marks: its nine empty rows would have been read 弃权 unasked). ``stroke``: the
    median darkness of those marks that do not cover most of their box (ticks, crosses: one stroke of the pen deep),
    where they lie in HAND_MARKS rows or more."""
    marked = [
        score
        for group in rows
        for score, kind in zip(group, row_classes(group, settings, page), strict=True)
        if kind == "marked"
    ]
    if not shows_a_hand(marked):
        return None
    solid = sum(came_through_solid(score) for score in marked)
    strokes = [score for score in marked if not is_heavy(score, settings)]
    stroke = statistics.median(score.darkness for score in strokes) if shows_a_hand(strokes) else None
    darkness = statistics.median(score.darkness for score in marked)
    contrast = statistics.median(score.darkness - score.ink_level for score in marked)
    return Hand(darkness, solid=2 * solid > len(marked), stroke=stroke, contrast=contrast)


def legs_from_below(rows: Sequence[Sequence[BoxScore]], settings: ReadingSettings) -> dict[str, frozenset[int]]:
    """Per row, the boxes whose ink around them is the leg of a tick in the row below: a Chinese √ is often
    written with a long right leg running out of its box and up, into the ring of the box above it. It is a vote
    for the box holding its turning point, not ink beside the box above: so where a box's ink around it comes up
    from the row below (``outside_from_below`` ≥ ``marks.from_below``: strokes coming up through the ring below it,
    passing beside it or ending there) and the box right below it (the next row, same options, same position) is
    marked with ink leaving it, that ink is the leg. Ink elsewhere around the box still asks.
    A leg may run on into the box above itself: see :func:`legs_reaching_in`."""
    marks = settings.marks
    return _legs(
        rows,
        lambda above, below: (
            above.outside > 0
            and above.outside_from_below >= marks.from_below
            and below.outside > 0
            and classify_box(below, settings) == "marked"
        ),
    )


def legs_reaching_in(rows: Sequence[Sequence[BoxScore]], settings: ReadingSettings) -> dict[str, frozenset[int]]:
    """Per row, the boxes whose mark may be a leg from the row below ending in them or passing through
    (:attr:`RowWhy.LEG`): the box has ink around it, lying below it (where a leg ending in it leaves its own; a
    stroke passing beside the box may cross the box's own mark's, :func:`legs_from_below`), or leaves its
    middle empty without ringing it (a leg crossing a corner of the box runs out of its side; a ring drawn round
    the box crosses into it all round), its ink inside runs on into the ring below it (``joined_below``: a mark of
    the box's own beside the tip of a stroke from below does not touch it), and the box right below holds a mark
    with ink leaving it upwards (all but ``1 - marks.from_below`` of its own ink around it lies above it: a slash or
    a cross reaching out of both boxes leaves ink every way; :func:`own_share_below`). That mark may be marginal: a
    tick turning on its box's side leaves the box too little of itself to count (tuning seed 419, long-tick fax: its
    10 mm leg ending in the box above read 满意 in an empty row; 460 kept batches: 2 clear rows more asked, a tick's
    foot beside a speck or a taped cross below). A ring round the box below has no leg."""
    marks = settings.marks
    return _legs(
        rows,
        lambda above, below: (
            above.outside > 0
            and above.joined_below > 0
            and (above.outside_below >= marks.from_below or (above.centre == 0 and above.encircled < marks.encircled))
            and below.outside > 0
            and own_share_below(below) <= 1 - marks.from_below
            and classify_box(below, settings) in ("marked", "marginal")
        ),
    )


def own_share_below(score: BoxScore) -> float:
    """The share of a box's own ink around it lying below it: the leg of a tick two rows down, passing beside the
    box on its way up, lies below it too but is not its ink (``outside_from_below``; a column of long-legged
    ticks, tuning seed 13 on a fax: a leg ending in the box above read as a second vote, the row 多选)."""
    own = 1.0 - score.outside_from_below
    return max(0.0, score.outside_below - score.outside_from_below) / own if own > 0 else 0.0


def _legs(rows: Sequence[Sequence[BoxScore]], leg: Callable[[BoxScore, BoxScore], bool]) -> dict[str, frozenset[int]]:
    """Per row, the positions of its boxes for which ``leg`` (the box, the box right below it) holds."""
    legs: dict[str, frozenset[int]] = {}
    for upper, lower in itertools.pairwise(rows):
        if [score.option for score in upper] != [score.option for score in lower]:
            continue  # the rows of another table (or the 测评人类别 row): not one above the other
        positions = {above.position for above, below in zip(upper, lower, strict=True) if leg(above, below)}
        if positions:
            legs[upper[0].unit] = frozenset(positions)
    return legs


def page_box_classes(scores: Sequence[BoxScore], settings: ReadingSettings) -> dict[tuple[str, str], BoxClass]:
    """Every box's class, by (unit, option), as :func:`classify_page` sees them (for overlays)."""
    page = page_of(scores, settings)
    return {
        (score.unit, score.option): kind
        for group in _rows(scores).values()
        for score, kind in zip(group, row_classes(group, settings, page), strict=True)
    }


def page_of(scores: Sequence[BoxScore], settings: ReadingSettings) -> Page:
    """What a row's reading needs to know of its page: what the page leaves along an empty box's border as a
    rule (most boxes of a ballot are empty, so the median ``edge``: a soft photo's grey halo of the printed
    lines, a fax's thickened lines), whether it shows no stray ink (:func:`is_clean_page`), how many of its
    boxes hold dust (:func:`is_dust`), and how dark a light hand's marks are (:func:`light_hand`)."""
    if not scores:
        return Page()
    residue = statistics.median(score.edge for score in scores)
    match = statistics.median(score.border_match for score in scores)
    dust = sum(is_dust(score) for score in scores)
    hand = light_hand(_rows(scores).values(), settings)
    return Page(residue, is_clean_page(scores), match, all(score.bilevel for score in scores), dust, hand)


def light_hand(rows: Iterable[Sequence[BoxScore]], settings: ReadingSettings) -> float:
    """How dark the marks of a light hand are as a rule: the median darkness of the marks alone in their rows
    (:func:`alone_among_dust`: beside nothing but dust, each as large as ``definite``) where they lie in HAND_MARKS rows
    or more and that median is light enough for marks of that hand to fall under ``firm`` (under ``firm`` /
    ERASED_RESIDUE); else 0. A red pen through a grey conversion that keeps little of red (the simulator's ``red-pen``,
    tuning seed 379: every mark of a sheet 0.12–0.19 dark, most of them under ``light``, asked row by row) or a hard
    pencil (tuning seed 409, long-tick office: a sheet's ticks 0.157–0.187, half of them under ``firm``, asked; 434 kept
    batches: 62 clear rows more read, every one as its intent): one voter's marks, alike. Not where the voter's marks as
    a whole (those lone ones, and every box marked or ringed elsewhere, a ring by its pen line's darkness) are as dark
    as that as a rule: the light ones are then what an eraser or heat left of marks, or a faint pencil's doubts, beside
    a firm hand (tuning seed 367, erasure: a sheet of rings 0.30–0.41 dark, its lone marks rubbed-out gel and faint
    pencil 0.10–0.14, taken for a light hand on a dusty page, and the gel read 满意 where the row meant 弃权)."""
    groups = [list(group) for group in rows]
    lone = [
        score
        for group in groups
        for score in group
        if alone_and_as_dark(score, [other for other in group if other is not score], settings, 0.0, among_dust=True)
    ]
    if not shows_a_hand(lone):
        return 0.0
    hand = statistics.median(score.darkness for score in lone)
    lone_ids = {id(score) for score in lone}
    elsewhere = [
        max(score.darkness, score.outside_darkness) if kind == "circled" else score.darkness
        for group in groups
        for score in group
        if id(score) not in lone_ids and (kind := classify_box(score, settings)) in ("marked", "circled")
    ]
    everything = statistics.median([*(score.darkness for score in lone), *elsewhere])
    under = settings.marks.firm / ERASED_RESIDUE  # a hand this light has marks that may fall under firm
    return hand if hand < under and everything < under else 0.0


def _rows(scores: Sequence[BoxScore]) -> dict[str, list[BoxScore]]:
    """The page's boxes by row, rows in sheet order, each row's boxes in printed order."""
    rows: dict[str, list[BoxScore]] = {}
    for score in scores:
        rows.setdefault(score.unit, []).append(score)
    return {unit: sorted(group, key=lambda s: s.position) for unit, group in rows.items()}
