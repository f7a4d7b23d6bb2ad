"""The scores a box gets, the scorer's version, and the constants its parts share.

Scores: ``fill`` (share of the box interior with new ink), ``outside`` (share of a 2 mm ring around the box:
Chinese ticks often leave the box, circles sit around it), ``centre`` (share of the central half of the
interior), ``darkness`` (median darkness of that ink: a firm pen or pencil stroke is dark, faint pencil and
erased residue are not), ``shift_mm`` and ``border_match`` (how well the printed border was found),
``encircled`` (the share of directions around the box's centre in which firm long strokes lie between
:data:`~.geometry.CIRCLE_INNER_MM` and the ring's outer edge, the printed lines' own pixels aside: a ring
drawn around the box covers nearly all of them, a tick or a stray stroke a few; measured only where the
central half of the box has no ink, as a ring leaves it empty), and ``scattered`` (the share of the interior
covered by ink apart from its largest mark: dust specks on a dirty scan are many small pieces, while a voter's
tick, cross, fill or dot is one — pieces the printed border cuts apart are joined across it —, so
``fill − scattered`` is the largest mark), ``edge`` (the share of a band :data:`~.geometry.EDGE_MM` wide along the
box's printed border, the line itself aside, with new ink as dark as a pen or pencil line: a ring drawn so
tight that it runs along the border leaves little ink anywhere else; the classifier compares it with the row's
other boxes, since a soft photo leaves some residue of the line there too), ``edge_around`` (the share of
directions around the box's centre in which that band holds a few pixels as dark as a pen or pencil line,
:data:`~.shapes.ARC_DARKNESS`: a tight ring runs all the way round, a tick's stroke or a stray line crosses the
band in a few directions),
``outside_below`` (the share of the ring's ink that lies below the box: the long right leg of a tick in the box
of the row below, reaching up into this box's ring, leaves its ink there and nowhere else),
``outside_from_below`` and ``joined_below`` (the shares of the ink around the box and inside it in strokes that
come up through the ring below it from its outer edge, pieces the printed border or a small gap cuts apart joined,
and run on across the rule into the ring above the box below, where the page has one: a leg from the row below,
passing beside the box or running on into it; a mark of the box's own leaving it, or beside the tip of a stroke
from below, does not), and ``ink_level``
(the darkness new ink must reach in this patch: :data:`INK_LEVEL`, or
:data:`~.patch.NOISE_SIGMAS` deviations of its plain paper above their middle on a noisy scan; ink whose
median darkness stays under it is mostly the noise's own tail), and ``border_hidden`` (the share of the printed
border's solid line that shows lighter than :data:`~.patch.BORDER_HIDDEN` of the line's own black where it was found:
ink over the border keeps it dark, so a border missing in part has something opaque laid over it — correction tape or
fluid over a mark the voter took back), ``faint_stroke`` (where no ink was found and the paper's noise stays
under :data:`FAINT_LEVEL` but not well under it, the length in mm of the longest sharp stroke at that level: too faint
to count as a vote on such paper, enough to doubt 弃权; on grainier paper, in a row with no ink in any box,
:data:`~.grain.STROKE_MM` where a straight stroke that long stands out of the grain, :func:`~.grain.stroke_in_grain`;
on quiet paper, in a box with no ink, the length of a stroke whose pieces the printed lines cut too small to count)
and ``line_over`` (the darkness of the darkest line across
the page, taken for print, whose course runs through the box, on a grey scan: what lies under it does not show),
``outside_darkness`` (the median darkness of the ink around the box, as ``darkness`` is of the ink in it), and
``bilevel`` (the scan is black and white, a fax or a 1-bit scan: its noise is black specks, and a light ink comes
through broken into dots, or as one), ``core`` (the area in mm² of the largest connected piece of the box's ink
inside it as dark as a firm stroke, :data:`~pipeline.reading.lines.FIRM`, and its ``ink_level``: a pen stroke keeps
its own dark line where grain at the hysteresis level, joined to it, pulls the ink's median ``darkness`` under the
level; grain reaches that darkness in specks, a stain's soft grey not at all), ``core_share`` (that piece's share of
the box's ink inside it: a stroke the binarisation of a bilevel scan kept solid is one dark piece however thin it is
drawn, a light ink broken into dots many small ones),
``line_excess`` (on a grey scan, how much darker the course of a line across the page taken for print is inside
the box than beside it, over a stroke's width: a faint stroke drawn along the line, among its pixels; on a bilevel
scan, whose lines and marks are both black, how much wider it is there, as a share of a stroke's width: a dot on it),
``outside_reach`` (how far in mm the box's own ink, the ink regions lying in it or within ``SPILL_MM`` of its
border, runs out past the border: a box blackened in a hurry spills a little all round, loops striking a mark out
run on well past it), and ``ink_span`` (the narrower of the height and width in mm that the ink inside the box spans:
a tick, a cross, a fill or a ring's arc spans both ways; a straight stroke level with a side does not), and
``stroke_response`` and ``grain_spread`` (in a row holding ink where a box's paper is grainy enough to lose a pen's
mark, ink level :data:`~.row.GRAIN_LOSES` or more, of each such box and each box holding ink: how far the most
stroke-like straight piece inside the box stands above its paper's grain as the straight filters of
:func:`~.grain.stroke_stand` see it, and the deviation of that grain: a second mark of the voter's pen in the box would
stand as far above it as their mark does above its own; 0 and 0 unmeasured).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.ballot.layout import BOX_LINE_WIDTH
from pipeline.reading.model import BLANK_PX_PER_MM

#: Stored with every page read: raised whenever a score of some box could change for the same image.
SCORER_VERSION = 27  # 2: outside_below; 3: back print; 4: rows at own size; 5: soft bands; 6: edge; 7: size if it
# fits; 8: lines; 9: lines looked for 1 mm beside their course, never hiding a mark-wide band, and bent;
# 10: outside_from_below, joined_below; 11: … only from strokes running on across the rule into the row below; lines
# along the table's rules, off their place, taken for print; 12: border_hidden (grey scans only);
# 13: faint_stroke, line_over; 14: outside_darkness; 15: bilevel; 16: core, line_excess; half-step line flanks;
# 17: border_hidden on bilevel scans, from BILEVEL_HIDDEN; 18: outside_reach, ink_span; paper noise under 0.5;
# 19: faint_stroke from a stroke in a grainy photo's grain, in rows with no ink; 20: … from pieces of a stroke the
# printed lines cut apart, in boxes with no ink on quiet paper; 21: the paper over BROAD_BACKGROUND_MM too, where the
# box looks like darker paper than around it; 22: faint_stroke from a stroke down to PALE_LEVEL on paper whitened flat,
# in rows with no ink; 23: a bilevel page's specks (score.row.speck_level) a floor under every box's ink level;
# core_share; 24: line_excess on bilevel scans (how much wider a line is in the box: score.row._widened); 25: that pale
# stroke's dashes linked; 26: a grey page's specks too, where its paper was whitened flat
# (score.row.whitened_speck_level); 27: stroke_response, grain_spread
PATCH_PX_PER_MM = BLANK_PX_PER_MM  # ≈ 203 dpi: finer than any pen stroke we need to see, cheap to sample
SEARCH_MM = 1.0  # the border may be found this far from where the transform puts it
UNMEASURED_MM = 99.0  # a length a scorer did not measure (scores stored before it, an office form's boxes)
RING_MM = 2.0  # width of the "just around the box" ring
#: A box blackened in a hurry spills ink this far past its border at most: ink this near is its own mark's where it runs
#: on out (``outside_reach``), and a box covered whole whose ink stays this near is blackened, not struck out.
SPILL_MM = 2.0
RING_GAP_MM = 0.4  # the ring starts this far outside the border (blur of the border itself)
INTERIOR_INSET_MM = BOX_LINE_WIDTH / 2 + 0.45  # interior starts this far inside the border's centre line
INK_LEVEL = 0.10  # floor of the ink level: 10 % of the way from paper white to the printed black
FAINT_LEVEL = 0.07  # on a quiet scan, a stroke this faint still counts where it is long …
FAINT_STROKE_MM = 3.0  # … at least this long (grain and JPEG noise are short) …
QUIET_SHARE = 0.5  # … where the paper's noise stays under this share of FAINT_LEVEL (office scans: ~0.02)
MIN_CONTRAST = 40.0  # grey levels between paper and border below which the border is "not visible"
# The paper level is smooth: it is estimated on a coarser, wider patch. Not coarser than this: at 2 px/mm
# (sampled directly, or at 4 and reduced by cv2.pyrDown) the closing's maximum over fewer samples put the
# paper lower on grainy photos, so grain beside empty boxes became "ink" (14 batches of 200 ballots: 5 faint
# pencil marks lost; reduced: bad scans 30 more rows flagged, grainy photos' empty rows asked about as "ink
# outside the box" instead of `noisy`), for 1–2 ms a page.
PAPER_PX_PER_MM = 4.0
PAPER_TO_PATCH = round(PATCH_PX_PER_MM / PAPER_PX_PER_MM)  # the paper level is enlarged this many times
PAPER_ENLARGED_AT = (PAPER_TO_PATCH + 1) / (2 * PAPER_TO_PATCH)  # see patch.enlarged
SECTORS = 12  # directions around the box's centre in which ink is looked for, for ``encircled``


@dataclass(frozen=True)
class BoxScore:
    """One box's measurements, each as the module's docstring describes it."""

    unit: str
    option: str
    position: int
    fill: float
    outside: float
    centre: float
    darkness: float
    crossing: float
    shift_mm: float
    border_match: float
    encircled: float = 0.0
    scattered: float = 0.0
    edge: float = 0.0
    ink_level: float = 0.0
    edge_around: float = 0.0
    outside_below: float = 0.0
    outside_from_below: float = 0.0
    joined_below: float = 0.0
    border_hidden: float = 0.0
    faint_stroke: float = 0.0
    line_over: float = 0.0
    outside_darkness: float = 0.0
    bilevel: bool = False
    core: float = 0.0
    line_excess: float = 0.0
    outside_reach: float = UNMEASURED_MM  # unknown: farther than any patch reaches
    ink_span: float = UNMEASURED_MM  # unknown: as wide as any mark
    core_share: float = 0.0  # unknown: no mark taken for solid but by its darkness
    stroke_response: float = 0.0
    grain_spread: float = 0.0  # unmeasured: the grain not searched for a stroke
