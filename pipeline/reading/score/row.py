"""Row: score every box of an aligned page, row by row. Numbers only; the classifier decides.

Each box's patch is sampled where the page transform (and its row's offset from it) puts the box
(:mod:`.patch`), and for each row:

- the printed border is searched for within ±:data:`SEARCH_MM` for the row, then within ±:data:`LOCAL_MM`
  of the row's shift for each box (so a long tick across one box cannot pull it far), correcting small
  registration errors and the bend of a curled photo;
- lines along the table's rules, off their place next to the box (a fold, a feed that slipped), are taken for print
  (:func:`_rules_off_their_place`);
- the print on the sheet's back, where the paper lets it show through, is taken away (:func:`~.patch.back_print`);
- the printed lines' own grey is taken away as the scan shows it: how soft the scan is (:data:`~.geometry.BLUR_MM`)
  is measured around the printed lines of the row and their blurred template subtracted, so the halo of
  a line on a soft photo is not ink.

Then each box's ink (:mod:`.ink`) and its shapes (:mod:`.shapes`) give its :class:`~.result.BoxScore`.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Checkbox, Layout, RowPlace
from pipeline.common.imaging import Floats, Gray, upper_median
from pipeline.reading.align import FEED_STRETCHES, Alignment
from pipeline.reading.lines import FIRM, HIDES_MM, PageLine
from pipeline.reading.model import BallotModel
from pipeline.reading.score.geometry import (
    BLUR_MM,
    TEMPLATE_DILATE_MM,
    Geometries,
    Geometry,
    border_sides,
    geometry_of,
    without,
)
from pipeline.reading.score.grain import STROKE_MM, STROKE_SIGMAS, stroke_in_grain, stroke_stand
from pipeline.reading.score.ink import (
    BORDER_BRIDGE_KERNEL,
    GRAIN_STRONG_SHARE,
    HYSTERESIS,
    LINK_KERNEL,
    MIN_STRONG_SHARE,
    ink_regions,
    joined_across,
    largest_mark,
    largest_piece,
    stroke_across_print,
    weak_ink_at,
)
from pipeline.reading.score.patch import (
    SHOW_THROUGH_SCAN_MM,
    back_print,
    border_hidden,
    border_response,
    darkness_of,
    noise_level,
    paper_level,
    sample_patch,
    shifted,
    soft_pixels,
    softness,
)
from pipeline.reading.score.result import (
    FAINT_LEVEL,
    FAINT_STROKE_MM,
    INK_LEVEL,
    MIN_CONTRAST,
    PATCH_PX_PER_MM,
    QUIET_SHARE,
    SEARCH_MM,
    SPILL_MM,
    BoxScore,
)
from pipeline.reading.score.shapes import crossing, edge_scores, encircled_score, line_ink

LOCAL_MM = 0.5  # each box's border may lie this far from its row's (a curled photo bends rows)
SCALE_STEP = 0.02  # a row's boxes drawn this much larger or smaller than the fit has them are sampled at their size
SCALE_MAX = 0.16  # … up to this much (a slipping feed: ~12 %, FEED_STRETCHES); more is a side taken for another line
# A line across the page is looked for this far beyond its measured width: its blur, and its course known to about a
# millimetre (a fold's halves shift, a lens bends it); there only what is no darker than the line's own profile is its.
LINE_MARGIN_MM = 1.0
FOOT_MM = 0.5  # a stroke reaching this near the outer edge of the ring below a box comes from farther down …
# … where it runs on across the rule between the rows: strokes meeting it from either side within this of each other
# across the page are one (a leg crossing the rule at a slant moves sideways by about the rule's masked width).
RULE_CROSSING_MM = 1.5
RULE_ALONG = 0.8  # a line along a rule shows over this share of the patch's width beside the box
SOFT_STROKE_SHARE = 0.5  # a faint stroke this much of which is soft grey (:func:`~.patch.soft_pixels`) is none
# Paper whitened flat (a scanner app's "enhance" filter, a scanner's background removal: the paper clipped to white, its
# noise gone) lifts a light pencil stroke to within 10–15 grey levels of white, under FAINT_LEVEL: on paper whose noise
# stays under PALE_QUIET a stroke FAINT_STROKE_MM long down to PALE_LEVEL is a pale line a careful person still sees (a
# clerk is asked rather than the row read 弃权; simulated scanner-app photos, tuning seed 131: a pencil tick 14 levels
# under the paper read 弃权). The whitening clips such a stroke where it is palest, as a binarisation does: what is
# left of it is dashes, each too short to be a stroke; they are linked as a bilevel scan's are
# (:data:`~.ink.LINK_KERNEL`), where flat paper has no grain to link (tuning seed 227, a scanner app's steep photo: a
# pencil tick left as dashes of 1.1 mm at most read 弃权).
PALE_LEVEL = 0.035
PALE_QUIET = PALE_LEVEL / 2
# Paper whose noise sets a box's ink level this high loses a light hand's mark in its grain (the lightest mark the
# classifier reads as one, the settings' ``marks.light``, is as dark): in a row holding ink, each box is searched for a
# straight stroke standing out of that grain (``stroke_response``, ``grain_spread``).
GRAIN_LOSES = 0.15
# On a bilevel scan the paper's noise is black specks: the dots a fax's dither makes of greyish paper, a line's
# pepper. Where they blacken under half the paper, its median and deviation (:func:`~.patch.noise_level`) stay at
# zero and the page passes for quiet: dots a pixel or two across, linked as a broken stroke's are (LINK_KERNEL), make
# "strokes" in the empty boxes beside every tick (tuning seed 131, standard faxes: 9 of a dithered page's 11 rows
# asked). Their level is measured by how dark the darkest of the paper gets instead: each box's plain paper at
# SPECK_QUANTILE (the darkest 1 % of it), the page's at SPECK_BOXES of the way up its boxes, so that marks, darkening
# their own boxes' paper, do not raise it.
SPECK_QUANTILE = 0.99
SPECK_BOXES = 0.25
# A grey scan of paper whitened flat (a scanner app lifts the paper to pure white and raises the contrast) has lost
# half its noise with it: what the whitening left of the grain is dark specks on pure white, and the paper's median
# and deviation collapse as a bilevel page's do. A grain with both its halves, as a photo's or a scanner's, reaches
# its darkest 1 % (SPECK_QUANTILE) below the level NOISE_SIGMAS deviations set (on ~1300 grey pages of 17 captures
# that are not a scanner app's, at most 1.1 of the page's median box level where that is over INK_LEVEL); where the
# specks reach WHITENED_TAIL times that level, they are the page's noise, and their level is the floor under every
# box's (tuning seeds 179–349, a scanner app's steep photos: grain at 0.10–0.26 read as marks beside the voter's, a
# page's empty boxes asked 8–16 times, the specks 2.2–34 times the level the boxes' median and deviation set).
WHITENED_TAIL = 2.0
PROFILE_STEP_MM = 0.125  # a line's darkness across it is measured in steps this wide (one patch pixel) …
PROFILE_PIXELS = 8  # … each from at least this many pixels of its course beside the box …
PROFILE_QUANTILE = 0.9  # … as dark as this share of them (a streak wobbles and is uneven, dust lies on it)
STROKE_STEPS = 4  # a pen stroke's width (0.5 mm) in profile steps
# On a bilevel scan a line across the page is black and so is any mark on it: a line WIDER_STEPS or more wider inside a
# box than beside it (a step more than its edge wavers by) over MARK_RUN_MM of its course has something on it there.
BILEVEL_BLACK = 0.5  # darkness of a black pixel of a bilevel scan once sampled and lightly blurred: half or more
WIDER_STEPS = 2
MARK_RUN_MM = 0.5
BILEVEL_HIDDEN = 0.5  # a border lost this much on a bilevel scan is hidden under something, not by the binarisation
BILEVEL_GREY_SHARE = 0.01  # a page with fewer grey pixels than this share is a fax or a 1-bit scan


def score_page(image: Gray, alignment: Alignment, model: BallotModel, lines: Sequence[PageLine] = ()) -> list[BoxScore]:
    """Scores of every box of the page, each looked for where ``alignment`` puts it (its row's own offset
    from the page fit included: :attr:`Alignment.box_offsets_mm`). ``lines``: the lines across the page that are
    nobody's mark (:mod:`pipeline.reading.lines`): taken for print in every box they cross, unless one could
    hide a mark there."""
    dotted = is_bilevel(image)
    placed = _placed(geometry_of(model), alignment.box_offsets_mm)
    apart = _apart_from_their_rows(alignment.box_offsets_mm, model.layout)
    at_rows = _placed(geometry_of(model), {**alignment.box_offsets_mm, **apart}) if apart else None
    discounted = tuple(line for line in lines if not line.could_hide_a_mark())
    measured = [
        _measured_row(
            image,
            alignment.matrix,
            placed,
            row,
            dotted=dotted,
            lines=discounted,
            at_row=at_rows if any((box.unit, box.option) in apart for box in row.boxes) else None,
        )
        for row in model.layout.rows
    ]
    specks = speck_level(measured) if dotted else whitened_speck_level(measured)
    rows = [_scored_row(row, dotted=dotted, lines=discounted, specks=specks) for row in measured]
    for upper, lower in itertools.pairwise(rows):
        if [score.option for score, _ in upper] != [score.option for score, _ in lower]:
            continue  # another table's rows (or the 测评人类别 row): not one above the other
        for at, ((above, reach), (_, below)) in enumerate(zip(upper, lower, strict=True)):
            # Only a stroke running on across the rule into the ring above the box below comes from that row.
            crossing = [stroke for stroke in reach.strokes if _continues((stroke.left, stroke.right), below.head)]
            if len(crossing) < len(reach.strokes):
                around, inside = reach.shares(crossing)
                upper[at] = (replace(above, outside_from_below=round(around, 4), joined_below=round(inside, 4)), reach)
    return [score for row in rows for score, _ in row]


@dataclass(frozen=True)
class Stroke:
    """A stroke of a box's ink reaching the foot of the ring below it: where across the page (mm) it meets the
    foot, and how many of its pixels lie around the box (in its ring) and inside it."""

    left: float
    right: float
    around: int
    inside: int


@dataclass(frozen=True)
class Reach:
    """How a box's ink meets the rules between rows: the strokes reaching the foot of the ring below it (coming up
    from the row below, or leaving down to it), the box's ink around it and inside it in all, and where across the
    page (mm) its ink lies at the head of the ring above it."""

    strokes: tuple[Stroke, ...] = ()
    around: int = 0
    inside: int = 0
    head: tuple[float, float] | None = None

    def shares(self, strokes: Sequence[Stroke]) -> tuple[float, float]:
        """The shares of the box's ink around it and inside it that ``strokes`` hold."""
        around = sum(stroke.around for stroke in strokes) / self.around if self.around else 0.0
        inside = sum(stroke.inside for stroke in strokes) / self.inside if self.inside else 0.0
        return around, inside


def _continues(foot: tuple[float, float] | None, head: tuple[float, float] | None) -> bool:
    """Whether strokes meeting the rule from above (``foot``) and from below (``head``) are one stroke across it:
    within RULE_CROSSING_MM of each other across the page (a leg crossing the rule at a slant moves sideways)."""
    if foot is None or head is None:
        return False
    return foot[0] - RULE_CROSSING_MM <= head[1] and head[0] - RULE_CROSSING_MM <= foot[1]


def score_row(
    image: Gray,
    matrix: npt.NDArray[np.float64],
    boxes: Geometries,
    row: RowPlace,
    *,
    dotted: bool = False,
    lines: Sequence[PageLine] = (),
) -> list[BoxScore]:
    """Scores of every box of ``row``; each border is looked for near the row's median shift. ``dotted``:
    the scan is bilevel (see :func:`is_bilevel`); ``lines``: lines across the page taken for print. Strokes
    coming up from the row below are judged without that row (:func:`score_page` checks them across the rule)."""
    measured = _measured_row(image, matrix, boxes, row, dotted=dotted, lines=lines)
    return [score for score, _ in _scored_row(measured, dotted=dotted, lines=lines)]


@dataclass(frozen=True)
class MeasuredRow:
    """A row's boxes as sampled (:class:`Measured`) and how soft the scan is there (σ of its blur, mm)."""

    boxes: Sequence[Measured]
    blur_mm: float


@dataclass(frozen=True)
class Measured:
    """A box of a row as sampled, before its ink is judged: the box, its geometry (lines across the page and rules
    off their place taken for print), its darkness as sampled and with the printed lines' halos taken away (``new``),
    ``new`` at its plain paper's sample (:attr:`~.geometry.Geometry.plain_sample`, taken once for the page's speck
    level and the box's noise level), the contrast of its border, how much darker a line's course is inside it, and
    the shift and match of its border."""

    box: Checkbox
    geometry: Geometry
    darkness: Floats
    new: Floats
    plain: Floats
    contrast: float
    excess: float
    shift: tuple[int, int]
    match: float


def speck_level(rows: Sequence[MeasuredRow], *, sharp: bool = False) -> float:
    """How dark a bilevel page's specks make its plain paper: :func:`~.patch.noise_level` measures noise by the
    paper's median and deviation, which black specks leave at zero while they blacken under half of it (a dithered
    fax of greyish paper: dots all over the page, linked into "strokes" beside the voter's tick). Each box's paper is
    taken at SPECK_QUANTILE, and the page's level is SPECK_BOXES of the way up its boxes (the emptier boxes: a mark
    darkens its own box's paper). ``sharp``: of the paper's sharp pixels only (not :func:`~.patch.soft_pixels`)."""
    levels = []
    for row in rows:
        for box in row.boxes:
            plain = box.geometry.plain_sample
            if sharp and plain.size:
                plain = plain[~np.take(soft_pixels(box.new, box.geometry), plain)]
            if plain.size:
                levels.append(float(np.quantile(np.take(box.new, plain) if sharp else box.plain, SPECK_QUANTILE)))
    return float(np.quantile(levels, SPECK_BOXES)) if levels else 0.0


def whitened_speck_level(rows: Sequence[MeasuredRow]) -> float:
    """On a grey page, the speck level (:func:`speck_level`) where its paper was whitened flat: the specks WHITENED_TAIL
    times as dark as the median box's noise level (:func:`~.patch.noise_level`) or more, and darker than INK_LEVEL
    (under it, the floor INK_LEVEL holds anyway); else 0. The back's print seen through clean paper is as faint and
    leaves the paper's median as white, but it is soft (:func:`~.patch.soft_pixels`): the specks are the sharp
    pixels'."""
    # Nearly every page: its plain paper's darkest pixel under INK_LEVEL in SPECK_BOXES of its boxes bounds its speck
    # level (a box's SPECK_QUANTILE is no darker than its darkest pixel), at a tenth of the quantiles' cost.
    darkest = [float(box.plain.max()) for row in rows for box in row.boxes if box.plain.size]
    if not darkest or float(np.quantile(darkest, SPECK_BOXES)) <= INK_LEVEL or speck_level(rows) <= INK_LEVEL:
        return 0.0
    noise = statistics.median(noise_level(box.new, box.geometry, box.plain) for row in rows for box in row.boxes)
    specks = speck_level(rows, sharp=True)
    return specks if specks > INK_LEVEL and specks >= WHITENED_TAIL * noise else 0.0


def _measured_row(
    image: Gray,
    matrix: npt.NDArray[np.float64],
    boxes: Geometries,
    row: RowPlace,
    *,
    dotted: bool,
    lines: Sequence[PageLine],
    at_row: Geometries | None = None,
) -> MeasuredRow:
    """Each box of ``row`` sampled where its printed border is found near the row's median shift. ``at_row``: the
    page's boxes with those found far from their row placed where it is (:func:`_apart_from_their_rows`), for a row
    holding one: the row is sampled so too, and the places whose borders match better kept."""
    found = _found(image, [matrix] * len(row.boxes), boxes, row)
    if at_row is not None:
        together = _found(image, [matrix] * len(row.boxes), at_row, row)
        if sum(together[2]) > sum(found[2]):
            found, boxes = together, at_row
    differences = _differences(image, found)
    scale = _row_scale(differences, found[1])
    if scale is not None:  # the row's boxes drawn larger or smaller than the fit has them: sampled at their size
        placed = [boxes[(box.unit, box.option)] for box in row.boxes]
        # … where their printed borders match the template better so: a side measured wrong (a fax's repeated
        # scan lines doubling a border's line) would otherwise leave the border beside its mask, a "ring". A row
        # drawn a tenth taller (a fax's feed slipping) matches the template best with its top or bottom side, its
        # other side beyond where a side is looked for, and measures wrong (field fax 0003's last row, 12 % taller,
        # measured 9 % shorter): it is sampled at each height a feed may draw it too, the best match kept.
        best = found
        for size in (scale, *((scale[0], stretch) for stretch in FEED_STRETCHES)):
            resized = _found(image, [matrix @ _scaled(geometry, size) for geometry in placed], boxes, row)
            if statistics.median(resized[2]) > statistics.median(best[2]):
                best = resized
        if best is not found:
            found, differences = best, _differences(image, best)
    _, shifts, matches = found
    measured = []
    for (box, geometry, difference), (dx, dy), match in zip(differences, shifts, matches, strict=True):
        # Move the scan's difference from its paper back by the shift found (wrapped edge pixels lie outside
        # every mask), so the template's masks, computed once, apply as they are.
        darkness, contrast = darkness_of(shifted(difference, (-dx, -dy)), geometry)
        crossed = _crossed(geometry, lines)
        excess = 0.0
        if crossed is not None:  # moved back with the scan's content, where the template's masks apply
            # (the darkness stays: it is judged against the box's border, which no line takes away)
            steps = shifted(crossed, (-dx, -dy))
            own, excess = _the_lines(darkness, steps, geometry, dotted=dotted)
            if dotted:
                excess = _widened(darkness, steps, geometry, lines)
            geometry = without(geometry, own)
        moved = _rules_off_their_place(darkness, geometry)
        if moved is not None:  # never ink; the paper's noise and the scan's softness are still judged as they were
            geometry = replace(
                geometry, printed_mask=geometry.printed_mask | moved, near_line=geometry.near_line | moved
            )
        measured.append((box, geometry, darkness, (contrast, excess, (dx, dy), match)))
    # One softness per row, like the shift: a mark across one box's border cannot pull it.
    soft = int(statistics.median(softness(darkness, geometry) for _, geometry, darkness, _ in measured))
    sampled = []
    for box, geometry, darkness, measures in measured:
        new = np.clip(darkness - geometry.halos[soft], 0.0, 1.0)
        sampled.append(Measured(box, geometry, darkness, new, np.take(new, geometry.plain_sample), *measures))
    return MeasuredRow(sampled, BLUR_MM[soft])


def _scored_row(
    measured: MeasuredRow,
    *,
    dotted: bool,
    lines: Sequence[PageLine],
    specks: float = 0.0,
) -> list[tuple[BoxScore, Reach]]:
    """Each measured box's score (:func:`_measured_row`, with how soft the row's scan is) and where its ink meets the
    rules above and below it. ``specks``: how dark a bilevel page's specks make its paper (:func:`speck_level`)."""
    scores, papers, judged = [], [], []  # papers: each box's paper where a light stroke may hide in it (or None)
    for position, box in enumerate(measured.boxes):
        darkness, geometry = box.darkness, box.geometry
        # The back's print is told from the front's ink by its softness, so only on a scan sharper than it.
        back = None if dotted or measured.blur_mm > SHOW_THROUGH_SCAN_MM else back_print
        # On a bilevel scan a printed line's pixels are black or lost to the binarisation, a side or two at a
        # time: a standard fax loses 0.3–0.4 of two opposite sides of an empty box by itself (20 boxes of 40
        # pages), so less than BILEVEL_HIDDEN lost there tells nothing of tape laid over it; tape hides more
        # (0.67–0.81 on fine faxes, tuning seeds 7 and 67, erasure: the strokes left beside it read as votes where
        # the voter meant 弃权). Nor does a mark there come out too faint to count beside a line: it is black where
        # it is not lost, and a line hides only what lies under it.
        hidden = border_hidden(darkness, geometry)
        hidden = 0.0 if dotted and hidden < BILEVEL_HIDDEN else hidden
        over = 0.0 if dotted else _line_over(geometry, lines)
        on_print = (round(hidden, 4), round(over, 4), box.excess)
        score, reach, seen, paper = _score_box(
            box.box,
            position,
            geometry,
            (box.new, box.plain, box.contrast),
            box.shift,
            box.match,
            dotted,
            back,
            specks,
            on_print,
        )
        papers.append(paper)
        judged.append(seen)
        scores.append((score, reach))
    if any(score.fill for score, _ in scores):
        if dotted or not any(score.ink_level >= GRAIN_LOSES and not score.fill for score, _ in scores):
            return scores
        # Paper grainy enough to lose a mark of the voter's pen beside the row's ink: the boxes that may have lost one
        # and those holding ink are searched for a straight stroke standing out of the grain, as a person looking
        # long at the photo sees one (3 ms a box, in such rows only). A second mark of the voter's pen would stand
        # out of a box's grain as far as theirs does.
        searched = [score.fill > 0 or score.ink_level >= GRAIN_LOSES for score, _ in scores]
        return [
            (_with_stroke_stand(score, darkness, box.geometry) if search else score, reach)
            for (score, reach), darkness, box, search in zip(scores, judged, measured.boxes, searched, strict=True)
        ]
    # A row with no ink in any box reads 弃权: on a grainy photo a light pencil stroke may hide in the grain there
    # (held-out seeds 1012 and 1013, show-through and folded phone photos: grey-214 ticks in boxes of noise level
    # 0.16 and 0.13, read 弃权); on paper whitened flat it may lie paler than FAINT_LEVEL (PALE_LEVEL).
    # Looked for in such rows only, where doubting 弃权 is all it can do (5 ms a box).
    return [
        (replace(score, faint_stroke=max(score.faint_stroke, _hidden_stroke(paper, darkness, box.geometry))), reach)
        for (score, reach), paper, darkness, box in zip(scores, papers, judged, measured.boxes, strict=True)
    ]


def _with_stroke_stand(score: BoxScore, darkness: Floats, geometry: Geometry) -> BoxScore:
    """``score`` with the box's ``stroke_response`` and ``grain_spread`` (:func:`~.grain.stroke_stand`)."""
    response, spread = stroke_stand(darkness, geometry)
    return replace(score, stroke_response=round(response, 4), grain_spread=round(spread, 4))


#: A box with no ink whose paper may hide a light stroke: paper grainy (noise over FAINT_LEVEL) or whitened flat (under
#: PALE_QUIET), as its noise was judged before anything was taken away from it (the sheet's back showing through).
Hidden = Literal["grainy", "whitened"]


def _hidden_stroke(hidden: Hidden | None, darkness: Floats, geometry: Geometry) -> float:
    """``faint_stroke`` for a box of a row with no ink (``darkness`` as judged): on grainy paper STROKE_MM where a
    straight stroke that long stands STROKE_SIGMAS out of the grain inside it (:func:`~.grain.stroke_in_grain`); on
    paper whitened flat the longest stroke down to PALE_LEVEL running into it, its dashes linked
    (:func:`_long_strokes`); else 0."""
    if hidden is None:
        return 0.0
    if hidden == "grainy":
        return STROKE_MM if stroke_in_grain(darkness, geometry) >= STROKE_SIGMAS else 0.0
    # Linked, a sharp stroke may take in the soft grey beside it and be judged a band of it: each way is looked at.
    return max(_pale_stroke(darkness, geometry, linked=linked) for linked in (False, True))


def _pale_stroke(darkness: Floats, geometry: Geometry, *, linked: bool) -> float:
    """The longest stroke down to PALE_LEVEL running into the box (mm), its fragments ``linked`` or not."""
    regions, extents, long = _long_strokes(darkness, PALE_LEVEL, geometry, linked=linked)
    long &= np.bincount(regions[geometry.interior], minlength=long.size) > 0
    return float(extents[long].max()) / PATCH_PX_PER_MM if long.any() else 0.0


def _long_strokes(
    darkness: Floats, level: float, geometry: Geometry, *, linked: bool = False
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Regions of ink down to ``level`` (no share of them need reach it), their extents, and which are strokes at
    least FAINT_STROKE_MM long and sharp: a pencil line, however pale, is sharp; a band of soft grey (under
    SOFT_STROKE_SHARE of it, :func:`~.patch.soft_pixels`) is the back's print or a stain. ``linked``: fragments a
    little apart are one stroke (:func:`~.ink.ink_regions` ``dotted``)."""
    regions, extents = ink_regions(darkness, level, geometry.printed_mask, 0.0, dotted=linked)
    long = extents >= FAINT_STROKE_MM * PATCH_PX_PER_MM
    long[0] = False  # label 0 is the paper
    if long.any():
        area = np.maximum(np.bincount(regions.ravel(), minlength=long.size), 1)
        soft = np.bincount(regions[soft_pixels(darkness, geometry)], minlength=long.size)
        long &= soft < SOFT_STROKE_SHARE * area
    return regions, extents, long


Found = tuple[
    list[tuple[Checkbox, Geometry, npt.NDArray[np.float64], Floats]], list[tuple[int, int]], list[float]
]  # per box: (box, geometry, its matrix, its patch as sampled), its border's shift (patch px), how well it matched


def _found(image: Gray, matrices: Sequence[npt.NDArray[np.float64]], boxes: Geometries, row: RowPlace) -> Found:
    """Each box of ``row`` sampled through its matrix, and its printed border found: near the row's median shift."""
    search = round(SEARCH_MM * PATCH_PX_PER_MM)
    patches, responses = [], []
    for box, matrix in zip(row.boxes, matrices, strict=True):
        geometry = boxes[(box.unit, box.option)]
        patch = sample_patch(image, matrix, geometry)
        patches.append((box, geometry, matrix, patch))
        responses.append(border_response(patch, geometry))
    peaks = [np.unravel_index(int(np.argmax(r)), r.shape) for r in responses]
    row_y = int(statistics.median(int(p[0]) for p in peaks))
    row_x = int(statistics.median(int(p[1]) for p in peaks))
    # Each box then finds its own border near the row's shift: a curled photo moves boxes of one row
    # apart by a fraction of a millimetre, yet no mark can pull a box further than LOCAL_MM from its row.
    local = round(LOCAL_MM * PATCH_PX_PER_MM)
    shifts, matches = [], []
    for response in responses:
        top, left = max(0, row_y - local), max(0, row_x - local)
        window = response[top : row_y + local + 1, left : row_x + local + 1]
        y, x = np.unravel_index(int(np.argmax(window)), window.shape)
        shifts.append((int(left + x) - search, int(top + y) - search))
        matches.append(float(window[y, x]))
    return patches, shifts, matches


def _differences(image: Gray, found: Found) -> list[tuple[Checkbox, Geometry, Floats]]:
    """Each box of ``found`` with its paper level (:func:`~.patch.paper_level`) less its patch: only for the sampling
    a row is measured with, not for every one tried (a row sampled again at its own size or where its boxes were found,
    :func:`_measured_row`: the paper level is half of sampling a box)."""
    return [
        (box, geometry, paper_level(image, matrix, geometry, patch) - patch)
        for box, geometry, matrix, patch in found[0]
    ]


def _row_scale(
    differences: Sequence[tuple[Checkbox, Geometry, Floats]], shifts: Sequence[tuple[int, int]]
) -> tuple[float, float] | None:
    """How much larger (or smaller) the row's boxes are drawn across and down than the page's fit has them,
    where that is SCALE_STEP or more (and under SCALE_MAX): the median over the row's boxes of the spacing of
    their border's sides (:func:`~.geometry.border_sides`) against the template's. A fax's feed stretches or
    squeezes a band of rows (a slipping feed up to ~12 %: field fax 0003), a lens a corner; a mark over one box's side
    cannot move the median. None where the fit's scale holds."""
    across, down = [], []
    for (_, geometry, difference), (dx, dy) in zip(differences, shifts, strict=True):
        left, top, right, bottom = geometry.box_px
        seen = border_sides(difference, (left + dx, top + dy, right + dx, bottom + dy))
        drawn = geometry.sides
        across.append((seen[2] - seen[0]) / (drawn[2] - drawn[0]))
        down.append((seen[3] - seen[1]) / (drawn[3] - drawn[1]))
    wide, tall = (_departing(float(statistics.median(values))) for values in (across, down))
    return None if wide == tall == 1.0 else (wide, tall)


def _departing(scale: float) -> float:
    """``scale`` where it departs from 1 by SCALE_STEP or more and less than SCALE_MAX, else 1."""
    return scale if SCALE_STEP <= abs(scale - 1.0) < SCALE_MAX else 1.0


def _scaled(geometry: Geometry, scale: tuple[float, float]) -> npt.NDArray[np.float64]:
    """Page mm → page mm, scaled by ``scale`` (across, down) about the centre of the box where it is placed."""
    across, down = scale
    left, top, right, bottom = geometry.box_px
    x = geometry.origin[0] + (left + right) / 2 / PATCH_PX_PER_MM
    y = geometry.origin[1] + (top + bottom) / 2 / PATCH_PX_PER_MM
    return np.array([[across, 0.0, x * (1 - across)], [0.0, down, y * (1 - down)], [0.0, 0.0, 1.0]])


def _score_box(
    box: Checkbox,
    position: int,
    geometry: Geometry,
    measured: tuple[Floats, Floats, float],
    shift: tuple[int, int],
    match: float,
    dotted: bool,
    back: Callable[[Floats, float, Geometry], Floats | None] | None,
    specks: float = 0.0,
    on_print: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[BoxScore, Reach, Floats, Hidden | None]:
    """The box's scores, where its ink meets the rules above and below it, the darkness judged (the sheet's back seen
    through the paper taken away: :func:`_scored_row` searches a grainy row's boxes for strokes in it), and, where no
    ink was found on paper too grainy for the faint stroke search (noise over FAINT_LEVEL, not bilevel) or whitened
    flat (noise under PALE_QUIET, no back showing through), which (:data:`Hidden`): a light stroke may hide in the
    grain, or lie paler than FAINT_LEVEL (:func:`_scored_row` looks there in rows with no ink). ``specks``: the bilevel
    page's speck level (:func:`speck_level`), a floor under the box's own noise level. ``on_print``: its
    ``border_hidden``, ``line_over`` and ``line_excess``, measured apart (:func:`_scored_row`) and passed in: the score
    is made once."""
    darkness, plain, contrast = measured
    noise = max(noise_level(darkness, geometry, plain), specks)
    level = max(INK_LEVEL, noise)
    through = back(darkness, level, geometry) if back is not None else None
    if through is not None:  # the sheet's back seen through the paper: nobody's mark
        darkness = np.clip(darkness - through, 0.0, 1.0)
    quiet = noise <= FAINT_LEVEL * QUIET_SHARE
    strong_share = MIN_STRONG_SHARE if noise > INK_LEVEL else 0.0 if quiet else GRAIN_STRONG_SHARE
    # Most empty boxes of a clean scan: nothing off the print as dark as ink regions reach at FAINT_LEVEL (below the
    # ink level), so no pass below can find anything (ink, a long faint stroke, a stroke the print cut): skipped.
    blank = not weak_ink_at(darkness, FAINT_LEVEL, geometry.printed_mask)
    if blank:
        regions = np.zeros(darkness.shape, dtype=np.int32)
    else:
        regions, _ = ink_regions(darkness, level, geometry.printed_mask, strong_share, dotted=dotted)
    ink = regions > 0
    faint_stroke = 0.0
    if not blank and not ink.any() and not dotted and noise <= FAINT_LEVEL and through is None:
        # Nothing at the ink level: a long stroke a little fainter (light pencil the scan turned into a pale line)
        # is still a mark a clerk would see (not where the sheet's back shows through: what it leaves is as faint).
        regions, extents, long = _long_strokes(darkness, FAINT_LEVEL, geometry)
        if quiet:  # well clear of the noise: ink
            regions = np.where(long[regions], regions, 0) if long.any() else np.zeros_like(regions)
        else:  # clear of the noise's level, not well clear: too faint to count, enough to doubt 弃权 where it
            # runs into the box (the rules' blurred edges and shadows beside it are no vote)
            long &= np.bincount(regions[geometry.interior], minlength=long.size) > 0
            faint_stroke = float(extents[long].max()) / PATCH_PX_PER_MM if long.any() else 0.0
            regions = np.zeros_like(regions)
        ink = regions > 0
    if not blank and not dotted and noise <= FAINT_LEVEL and not (ink & geometry.interior).any():
        cut = stroke_across_print(darkness, level, geometry.printed_mask, geometry.interior)
        faint_stroke = max(faint_stroke, cut)
    # A border fainter than MIN_CONTRAST is not trusted to have been found; a dim but well-found one is.
    visible = min(1.0, contrast / MIN_CONTRAST)
    edge, edge_around = edge_scores(darkness, level, geometry)
    empty = BoxScore(
        unit=box.unit,
        option=box.option,
        position=position,
        fill=0.0,
        outside=0.0,
        centre=0.0,
        darkness=0.0,
        crossing=0.0,
        shift_mm=round(float(np.hypot(*shift)) / PATCH_PX_PER_MM, 3),
        border_match=round(max(0.0, match) * visible, 4),
        edge=round(edge, 4),
        ink_level=round(level, 4),
        edge_around=round(edge_around, 4),
        faint_stroke=round(faint_stroke, 2),
        bilevel=dotted,
        outside_reach=0.0,
        ink_span=0.0,
        border_hidden=on_print[0],
        line_over=on_print[1],
        line_excess=on_print[2],
    )
    if not ink.any():  # most boxes of a ballot: nothing more to measure
        if dotted:
            return empty, Reach(), darkness, None
        if noise > FAINT_LEVEL:
            return empty, Reach(), darkness, "grainy"
        return empty, Reach(), darkness, "whitened" if noise <= PALE_QUIET and through is None else None

    def share(region: npt.NDArray[np.bool_], total: int) -> float:
        return float(np.count_nonzero(ink & region)) / total if total else 0.0

    inside = geometry.interior & ink
    inked = int(np.count_nonzero(inside))
    darkness_of_ink = upper_median(darkness[inside]) if inked else 0.0
    around = ink & geometry.ring
    darkness_around = upper_median(darkness[around]) if around.any() else 0.0
    largest = largest_mark(regions, inside, geometry.printed_mask)
    core = largest_piece(inside & (darkness >= max(level, FIRM)))
    centre = share(geometry.centre, geometry.centre_count)
    # A ring leaves the box's middle empty: with ink there (a tick, a cross, a fill) it is not measured.
    encircled = 0.0 if centre else encircled_score(darkness, level, geometry, strong_share, dotted=dotted, quiet=quiet)
    reach = _reach(ink, inside, geometry, shift)
    rising_around, rising_inside = reach.shares(reach.strokes)
    scored = replace(
        empty,
        fill=round(inked / geometry.interior_count, 4),
        scattered=round((inked - largest) / geometry.interior_count, 4),
        outside=round(share(geometry.ring, geometry.ring_count), 4),
        outside_darkness=round(darkness_around, 4),
        outside_below=round(_below(ink, geometry), 4),
        outside_from_below=round(rising_around, 4),
        joined_below=round(rising_inside, 4),
        centre=round(centre, 4),
        darkness=round(darkness_of_ink, 4),
        crossing=round(
            crossing(line_ink(darkness, level, ink, geometry.printed_mask, dotted), geometry.box_px, dotted=dotted), 4
        ),
        encircled=round(encircled, 4),
        core=round(core / PATCH_PX_PER_MM**2, 3),
        core_share=round(core / inked, 4) if inked else 0.0,
        outside_reach=round(_runs_out(regions, geometry), 3),
        ink_span=round(_span(inside), 3),
    )
    return scored, reach, darkness, None


def _span(inside: npt.NDArray[np.bool_]) -> float:
    """The narrower of the height and the width the box's ink spans inside it (``ink_span``, mm); 0 with none."""
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if not rows.size:
        return 0.0
    return float(min(rows[-1] - rows[0], columns[-1] - columns[0]) + 1) / PATCH_PX_PER_MM


def _runs_out(regions: npt.NDArray[np.int32], geometry: Geometry) -> float:
    """How far the box's own ink runs out past its border (``outside_reach``, mm): the farthest pixel of the ink
    regions lying in the box or within SPILL_MM of its border; 0 where none leaves it."""
    own = regions[(geometry.past <= SPILL_MM) & (regions > 0)]
    if not own.size:
        return 0.0
    # The regions' own pixels looked up by label (np.unique and np.isin took 50 µs a box with ink).
    is_own = np.zeros(int(regions.max()) + 1, dtype=bool)
    is_own[own] = True
    return max(0.0, float(geometry.past[is_own[regions]].max()))


def _reach(
    ink: npt.NDArray[np.bool_], inside: npt.NDArray[np.bool_], geometry: Geometry, shift: tuple[int, int]
) -> Reach:
    """The strokes that come up through the ring below the box from its foot (its last FOOT_MM, towards the row
    below), as the leg of a tick in the row below does, whether it passes beside the box or runs on into it; a
    mark of the box's own that ends in the ring (a slash leaving the box), or a stroke from beside it, does not
    reach the foot. Pieces the printed border cuts apart are one stroke (as in :func:`~.ink.largest_mark`), and so
    are pieces a pen's skip or a fax's dropout left within LINK_KERNEL of each other. And where across the page
    the box's ink lies in the first FOOT_MM of the ring above it (``shift``: the border's, by which the scan's
    content was moved back onto the masks)."""
    foot_px = max(1, round(FOOT_MM * PATCH_PX_PER_MM))

    def across(columns: npt.NDArray[np.intp]) -> tuple[float, float]:
        left, right = (
            geometry.origin[0] + (column + shift[0]) / PATCH_PX_PER_MM for column in (columns[0], columns[-1])
        )
        return float(left), float(right)

    above = geometry.ring_above
    top = int(np.argmax(above.any(axis=1)))  # the ring's first row above the box
    head_columns = np.flatnonzero((above[top : top + foot_px] & ink[top : top + foot_px]).any(axis=0))
    head = across(head_columns) if head_columns.size else None
    around, inside_count = int(np.count_nonzero(ink & geometry.ring)), int(np.count_nonzero(inside))
    below = geometry.ring_below
    if not (ink & below).any():
        return Reach((), around, inside_count, head)
    rows = np.flatnonzero(below.any(axis=1))
    foot = below.copy()
    foot[: rows[-1] + 1 - foot_px] = False
    linked = cv2.dilate(ink.astype(np.uint8), LINK_KERNEL) > 0
    _, strokes, _ = joined_across(linked, geometry.printed_mask, BORDER_BRIDGE_KERNEL)
    reaching = np.unique(strokes[foot & ink])
    found = []
    for label in reaching[reaching > 0]:
        stroke = strokes == label
        columns = np.flatnonzero((stroke & foot & ink).any(axis=0))
        found.append(
            Stroke(
                *across(columns),
                around=int(np.count_nonzero(stroke & ink & geometry.ring)),
                inside=int(np.count_nonzero(stroke & inside)),
            )
        )
    return Reach(tuple(found), around, inside_count, head)


def _below(ink: npt.NDArray[np.bool_], geometry: Geometry) -> float:
    """The share of the ink around the box (in its ring) that lies below it; 0 when there is none."""
    around = int(np.count_nonzero(ink & geometry.ring))
    return float(np.count_nonzero(ink & geometry.ring_below)) / around if around else 0.0


def _line_over(geometry: Geometry, lines: Sequence[PageLine]) -> float:
    """The darkness (share of the printed black) of the darkest of the ``lines`` taken for print whose course runs
    through the box's interior; 0 where none does."""
    if not lines:
        return 0.0
    xs, ys = _patch_mm(geometry)
    inside = geometry.interior
    over = [line.darkness for line in lines if np.any((line.distance_mm(xs, ys) <= line.half_width_mm) & inside)]
    return float(max(over, default=0.0))


def _patch_mm(geometry: Geometry) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The page mm of the patch's pixel centres: x across (a row), y down (a column), to broadcast together."""
    coords = np.arange(geometry.size, dtype=np.float32) / PATCH_PX_PER_MM
    return coords[None, :] + np.float32(geometry.origin[0]), coords[:, None] + np.float32(geometry.origin[1])


def _crossed(geometry: Geometry, lines: Sequence[PageLine]) -> npt.NDArray[np.int32] | None:
    """Over the patch pixels the ``lines`` cross (with LINE_MARGIN_MM either side for the scan's blur), which
    line is nearest, and on which side of its centre and how far, in steps of PROFILE_STEP_MM: numbered from 1,
    each line's apart (0 elsewhere); or None where none crosses."""
    if not lines:
        return None
    xs, ys = _patch_mm(geometry)
    steps = np.zeros((geometry.size, geometry.size), dtype=np.int32)
    nearest = np.full((geometry.size, geometry.size), np.inf, dtype=np.float32)
    reach = _reach_steps(lines)
    for index, line in enumerate(lines):
        offset = line.offset_mm(xs, ys)
        across = (np.abs(offset) <= line.half_width_mm + LINE_MARGIN_MM) & (np.abs(offset) < nearest)
        nearest[across] = np.abs(offset[across])
        first = index * (2 * reach + 1) + reach + 1  # the step of this line's centre
        steps[across] = np.round(offset[across] / PROFILE_STEP_MM).astype(np.int32) + first
    return steps if steps.any() else None


def _reach_steps(lines: Sequence[PageLine]) -> int:
    """How many steps either side of its centre :func:`_crossed` numbers each line's course over."""
    return round((max(line.half_width_mm for line in lines) + LINE_MARGIN_MM) / PROFILE_STEP_MM) + 1


def _widened(darkness: Floats, steps: npt.NDArray[np.int32], geometry: Geometry, lines: Sequence[PageLine]) -> float:
    """On a bilevel scan: how much wider a line's course (``steps``, :func:`_crossed`) is inside the box than beside
    it, where it is so over a dot's length: the steps by which it is wider, less the one its own edge wavers by, as a
    share of a stroke's width (STROKE_STEPS); 0 where it is nowhere so. A fax's dark streak is black and so is a dot
    drawn on it: darkness tells them apart nowhere, and a dot a little wider than the streak shows only as a bulge
    on it a step or two either side (streak faxes, tuning seed 141: two dots on a streak 0.5 mm wide read
    弃权). Width is what the streak keeps along its course however its edge steps by whole pixels on a turned page
    (a step to one side is one less on the other); beside the box, at its widest, it is a step wider than its middle
    as a rule."""
    block = 2 * _reach_steps(lines) + 1
    black = darkness >= BILEVEL_BLACK
    inside = geometry.interior & ~geometry.printed_mask
    plain = ~geometry.printed_mask
    widest = 0.0
    for index, line in enumerate(lines):
        course = (steps > index * block) & (steps <= (index + 1) * block)
        across = 1 if line.vertical else 0  # positions along the line: the patch's rows (a vertical line) or columns
        widths = np.count_nonzero(course & black & plain, axis=across)
        crossing_box = np.count_nonzero(course & inside, axis=across) >= STROKE_STEPS
        beside = ~np.any(course & (geometry.interior | geometry.printed_mask), axis=across) & course.any(axis=across)
        if np.count_nonzero(beside) < PROFILE_PIXELS or not crossing_box.any():
            continue
        wider = np.where(crossing_box, widths - int(np.median(widths[beside])), 0)
        run = _longest_run(wider >= WIDER_STEPS)
        if run >= MARK_RUN_MM / PROFILE_STEP_MM:
            extra = float(np.median(wider[wider >= WIDER_STEPS]))
            widest = max(widest, (extra - 1) / STROKE_STEPS)
    return round(widest, 4)


def _longest_run(flags: npt.NDArray[np.bool_]) -> int:
    """The length of the longest run of True in ``flags``."""
    longest = current = 0
    for flag in flags.tolist():
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


def _the_lines(
    darkness: Floats, steps: npt.NDArray[np.int32], geometry: Geometry, *, dotted: bool
) -> tuple[npt.NDArray[np.bool_], float]:
    """The pixels of the lines' courses (``steps``, :func:`_crossed`) that are the lines' own: no darker than the
    line's profile across it (at each step, the PROFILE_QUANTILE of its darkness where it runs beside the box,
    outside the box and its print) by HYSTERESIS × INK_LEVEL. Where a mark crosses a line, the two darken the
    paper together: that is the mark's (a faint tick drawn low in its box, its turning point on a crease), and
    the line's blur beside its course hides no pen stroke. ``dotted``: the scan is bilevel (its lines' edges step
    by whole pixels). And how much darker the lines' course is inside the box than beside it, over a stroke's width
    (:func:`_excess`; 0 on a bilevel scan, whose lines are black: :func:`_widened` asks how much wider instead)."""
    course = steps > 0
    beside = course & ~geometry.interior & ~geometry.printed_mask
    count = int(steps.max()) + 1
    totals = np.bincount(steps[beside], minlength=count)
    profile = np.zeros(count, dtype=np.float32)
    for step, value in _step_quantiles(darkness, steps, beside, totals >= PROFILE_PIXELS).items():
        profile[step] = value
    if (totals >= PROFILE_PIXELS).any():
        unseen = totals < PROFILE_PIXELS
        profile[unseen] = profile[~unseen].max()  # steps not seen beside the box: as dark as its darkest
        # A line's edge is where the scan's pixels put it: on a bilevel scan a thin line a little off the scan's
        # grid steps sideways by a whole pixel along its course (a fax's 1-bit streak on a page turned 0.8°: field
        # fax 0000, its edge one step farther in the box than above and below it), so each step may be as dark as
        # its neighbours. A grey scan renders that step as a grey between two pixels: each may be half-way to its
        # neighbours. No more: on a soft line's flank (a fold's shadow, 0.10 → 0.16 → 0.24 a step) a neighbour's
        # darkness hid a faint pencil tick drawn along the crease (tuning seed 61, folded office and phone scans:
        # a vote read 弃权).
        reach = 1.0 if dotted else 0.5
        near = profile.copy()
        near[1:] = np.maximum(near[1:], profile[1:] + reach * (profile[:-1] - profile[1:]))
        near[:-1] = np.maximum(near[:-1], profile[:-1] + reach * (profile[1:] - profile[:-1]))
        own = course & (darkness <= near[steps] + HYSTERESIS * INK_LEVEL)
        excess = 0.0 if dotted else _excess(darkness, steps, geometry, near, totals >= PROFILE_PIXELS)
    else:  # nowhere to see the line beside the box: all of its course is taken for it
        own, excess = course, 0.0
    # Taken together, the lines' own pixels as dark as a firm stroke must not cover a band of the box as wide
    # as a mark (the two edges of a dark band found as two lines): a mark could lie under them, unseen.
    hiding = np.count_nonzero(own & geometry.interior & (darkness >= FIRM))
    if hiding >= HIDES_MM * PATCH_PX_PER_MM * np.sqrt(geometry.interior_count):
        return np.zeros_like(course), 0.0
    return np.asarray(own), excess


def _excess(
    darkness: Floats,
    steps: npt.NDArray[np.int32],
    geometry: Geometry,
    near: npt.NDArray[np.float32],
    seen: npt.NDArray[np.bool_],
) -> float:
    """How much darker a line's course is inside the box than its profile beside it (``near``, where ``seen``):
    per step, the PROFILE_QUANTILE of the interior's darkness there less the profile's; the most of its mean over
    STROKE_STEPS steps side by side. A line alone is as dark inside the box as beside it; a faint stroke drawn along
    it, lost among its own pixels, darkens its course inside the box by its own darkness over its width."""
    inside = (steps > 0) & geometry.interior & ~geometry.printed_mask
    per_step = np.zeros(near.size, dtype=np.float32)
    counts = np.bincount(steps[inside], minlength=near.size)
    for step, value in _step_quantiles(darkness, steps, inside, (counts >= PROFILE_PIXELS) & seen).items():
        per_step[step] = value - near[step]
    if near.size <= STROKE_STEPS:
        return round(float(per_step.mean()), 4)
    window = np.convolve(per_step, np.ones(STROKE_STEPS, dtype=np.float32) / STROKE_STEPS, mode="valid")
    return round(float(window.max()), 4)


def _step_quantiles(
    darkness: Floats, steps: npt.NDArray[np.int32], where: npt.NDArray[np.bool_], wanted: npt.NDArray[np.bool_]
) -> dict[int, float]:
    """For each ``wanted`` step (of :func:`_crossed`), the PROFILE_QUANTILE of the darkness where it lies ``where``:
    np.quantile's value (its linear method, its float32 arithmetic), for all steps at once. Picked out of the whole
    patch and np.quantile'd step by step (~25 steps a line, inside the box and beside it), this took 2.9 ms a box a
    line crosses, 100 ms on a page a fold runs down."""
    labels = steps[where]
    values = darkness[where]
    ordered = values[np.lexsort((values, labels))]  # by step, then by darkness
    counts = np.bincount(labels, minlength=wanted.size)
    chosen = np.flatnonzero(wanted)
    starts = (np.cumsum(counts) - counts)[chosen]
    size = counts[chosen]
    # As np.quantile: the virtual index (n − 1)·q, the values either side of it, and their lerp in the values' float32,
    # taken from the upper value where the weight is half or more.
    virtual = (size - 1) * PROFILE_QUANTILE
    below = np.floor(virtual).astype(np.intp)
    weight = virtual - below
    low = ordered[starts + below]
    high = ordered[starts + np.minimum(below + 1, size - 1)]
    step = high - low
    upper = high - step * (1.0 - weight).astype(np.float32)
    lower = low + step * weight.astype(np.float32)
    return dict(zip(chosen.tolist(), np.where(weight >= 0.5, upper, lower).tolist(), strict=True))


def _rules_off_their_place(darkness: Floats, geometry: Geometry) -> npt.NDArray[np.bool_] | None:
    """Lines along the table's rules above and below the box, beyond the rules' masks, or None where there are
    none. A sheet folded and opened lies in parts a few millimetres apart, a scanner's feed may jump or repeat
    lines between a row's boxes and its rule, a lens bends a photo: the box's border is found where it is, but the
    rule 2.5 mm from it shows up to a millimetre off its mask, or thickened, or twice (a fainter copy beside it): a
    straight line across the patch through the ring that is nobody's mark. Such lines show all along the patch
    beside the box (RULE_ALONG of it, within a pixel: a stroke crossing the ring or the back's print does not):
    rows, on the rule's side of the box within :data:`~.geometry.RULE_SEARCH_MM` of it (:attr:`Geometry.rules`), at
    least as dark as ink regions reach here (HYSTERESIS × the patch's ink level), running on from the rule's place,
    or apart from it no wider than the rule drawn with the template's margin either side. They are taken for print,
    a pixel wider."""
    if not geometry.rules:
        return None
    along = len(geometry.beside)
    rank = min(along - 1, round((1.0 - RULE_ALONG) * along))
    # Most boxes: the rules lie where the template has them, and no row the print leaves open is that dark along the
    # patch. Those rows are looked at first (each with the rows either side of it, in one take), and where none of
    # their pixels is, nothing is ordered.
    open_rows = np.take(darkness, geometry.rule_rows_around).max(axis=1)
    if not (open_rows >= HYSTERESIS * INK_LEVEL).any():
        return None
    if not (np.partition(open_rows, rank, axis=1)[:, rank] >= HYSTERESIS * INK_LEVEL).any():
        return None
    size = geometry.size
    rows = geometry.rule_rows
    # Within a pixel of one row all along it, beside the box: a line, where the back's print or a stain is patchy.
    columns = darkness[:, geometry.beside]
    near = np.maximum(
        columns[rows], np.maximum(columns[np.maximum(rows - 1, 0)], columns[np.minimum(rows + 1, size - 1)])
    )
    alike = np.partition(near, rank, axis=1)[:, rank]
    printed = geometry.rule_rows_printed  # rows the template's print covers already
    seen = alike >= HYSTERESIS * max(INK_LEVEL, noise_level(darkness, geometry))
    away = round(TEMPLATE_DILATE_MM * PATCH_PX_PER_MM)
    hidden = np.zeros(size, dtype=bool)
    at = 0
    for start, stop, low, high in geometry.rules:  # each rule: rows start … stop − 1, looked for in low … high − 1
        window = seen[at : at + high - low]
        at += high - low
        widest = stop - start + 2 * away
        runs = low + np.flatnonzero(np.diff(window.astype(np.int8), prepend=0, append=0))
        for begin, end in zip(runs[::2], runs[1::2], strict=True):  # rows begin … end − 1
            on_the_rule = begin <= stop + away and end >= start - away
            if on_the_rule or end - begin <= widest:
                hidden[max(0, begin - 1) : end + 1] = True
    hidden[rows[printed]] = False
    if not hidden.any():
        return None
    return np.repeat(hidden[:, None], size, axis=1)


def is_bilevel(image: Gray) -> bool:
    """A fax or 1-bit scan: (nearly) every pixel pure black or pure white."""
    sample = image[::7, ::7]
    return bool(np.count_nonzero((sample > 8) & (sample < 247)) < BILEVEL_GREY_SHARE * sample.size)


def _apart_from_their_rows(
    offsets: Mapping[tuple[str, str], tuple[float, float]], layout: Layout
) -> dict[tuple[str, str], tuple[float, float]]:
    """Per box lying further than SEARCH_MM from its row's median offset (where the alignment found each box's
    border, :attr:`Alignment.box_offsets_mm`; rows of three boxes or more): the row's median offset. A border matched
    in the wrong place (a scanner streak beside a box and the table's rule, down a column of rows: tuning seed 131,
    damaged scans, three boxes put 1.5–1.9 mm right of their rows, their own left border read as a mark, a tick read
    as an overvote) puts its box further off than the scorer's search reaches back."""
    apart: dict[tuple[str, str], tuple[float, float]] = {}
    if not offsets:  # the usual page: every box where the page's fit puts it
        return apart
    for row in layout.rows:
        keys = [(box.unit, box.option) for box in row.boxes]
        moved = np.array([offsets.get(key, (0.0, 0.0)) for key in keys], dtype=np.float64)
        median = np.array([statistics.median(moved[:, 0]), statistics.median(moved[:, 1])])
        far = np.linalg.norm(moved - median, axis=1) > SEARCH_MM
        if len(keys) > 2:
            apart |= {key: (float(median[0]), float(median[1])) for key, off in zip(keys, far, strict=True) if off}
    return apart


def _placed(geometry: Geometries, offsets: Mapping[tuple[str, str], tuple[float, float]]) -> Geometries:
    """``geometry`` for one page whose boxes in ``offsets`` ((unit, option) → (dx, dy) mm) lie that far from where
    the page transform puts them (a curled photo, see :mod:`pipeline.reading.refine`): their patches are sampled
    there, so their borders are looked for, and their ``shift_mm`` measured, around where they are."""
    if not offsets:
        return geometry
    return {key: _moved(box, offsets.get(key)) for key, box in geometry.items()}


def _moved(geometry: Geometry, offset: tuple[float, float] | None) -> Geometry:
    if offset is None:
        return geometry
    dx, dy = offset
    return replace(
        geometry,
        origin=(geometry.origin[0] + dx, geometry.origin[1] + dy),
        paper=geometry.paper.moved(dx, dy),
        broad=geometry.broad.moved(dx, dy),
    )


def box_patch(image: Gray, alignment: Alignment, model: BallotModel, box: Checkbox) -> Gray:
    """The box's neighbourhood resampled at PATCH_PX_PER_MM, as the scorer sees it (for contact sheets)."""
    key = (box.unit, box.option)
    patch = sample_patch(image, alignment.matrix, _moved(geometry_of(model)[key], alignment.box_offsets_mm.get(key)))
    return np.asarray(np.clip(patch, 0, 255), dtype=np.uint8)
