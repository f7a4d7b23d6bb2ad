"""Reading settings: thresholds and limits used to read and classify scans.

Kept apart from templates on purpose: a template is fixed once printed (its hash is in the QR code), while
these values may be tuned at any time; ``ballot rescore`` re-classifies stored scores with new values
without re-reading images. The shipped file ``templates/settings/reading.yaml`` explains each value and the
evidence behind it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.ballot.template import TemplateError, TemplateInvalid
from pipeline.common.defaults import default_file

DEFAULT_SETTINGS_FILE = default_file("settings", "reading.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarkThresholds(_Strict):
    """Box classes, from the box's fill score (share of the interior covered by new ink, 0–1)."""

    definite: float = Field(default=0.08, gt=0, le=1, description="fill ≥ this: the box is marked.")
    noisy_paper: float = Field(
        default=0.15,
        gt=0,
        le=1,
        description="where the paper's noise sets a box's ink level (score ``ink_level``) above this, a mark "
        "must cover definite × ink_level / noisy_paper of the box to count: on such paper a small mark may be "
        "noise or dust.",
    )
    marginal: float = Field(
        default=0.01, gt=0, le=1, description="fill ≥ this (and < definite): marginal, ask a clerk."
    )
    firm: float = Field(
        default=0.17,
        gt=0,
        le=1,
        description="median darkness the ink of a marked box must reach; fainter ink (light pencil, erased "
        "residue) makes the box marginal whatever its fill.",
    )
    dot: float = Field(
        default=0.06,
        gt=0,
        le=1,
        description="a single dark mark covering at least this (under definite) that reaches the box's middle, "
        "with nothing beside it or elsewhere in its row, is a dot and counts as marked, but only on quiet paper "
        "and on a page with no stray ink anywhere (no trace under 5 % of any box, no ink beside an empty "
        "box).",
    )
    light: float = Field(
        default=0.15,
        gt=0,
        le=1,
        description="a mark as large as definite whose ink is fainter than firm but at least this dark counts as "
        "marked when it is one piece alone in its row on quiet paper, on a page with no stray ink anywhere "
        "(see dot).",
    )
    trace: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="beside one clear mark, a marginal box whose ink is fainter than this (and covers under 5 % "
        "of it) is grain, not a second mark.",
    )
    crossing: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a straight line through a box and beyond (scanner streak, fold): the row goes to review.",
    )
    cancelled: float = Field(
        default=0.82,
        gt=0,
        le=1,
        description="fill ≥ this in one of two or more marked boxes: may be a scribbled-out correction.",
    )
    alike: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="two or more boxes filled solid (fill ≥ cancelled) with nothing beyond them and their ink "
        "this alike in darkness (the fainter at least this share of the darker) are an overvote: nothing shows "
        "which would be a correction.",
    )
    firm_alike: float = Field(
        default=0.7,
        gt=0,
        le=1,
        description="two or more marked boxes are an overvote only when their ink is this alike in darkness (the "
        "fainter at least this share of the darker): a fainter mark beside a firm one may be an erasure, a faint "
        "second thought or a correction, and goes to a clerk.",
    )
    overvote_darkness: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="two marks are read as an overvote (无效) only when the fainter is at least this dark: pen, not "
        "HB pencil (0.17–0.20), whose rubbed-out residue can be as dark as a pencil tick; lighter, the row goes to "
        "a clerk as a possible correction — unless both are as dark as the voter's marks on the sheet as a rule, "
        "but for what an eraser takes (a pencil or light pen voter's complete marks).",
    )
    taped: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="a box whose printed border shows paper over this share of two opposite sides (score "
        "``border_hidden``; ink over a border keeps it dark, a mark covering the box too; grey scans only) has a "
        "strip of correction tape laid across it: its mark was taken back. Asked where "
        "its strokes show as a mark, or show through with no other clear mark in the row; beside one clear mark, "
        "what shows of it is no second mark; tape alone, nothing in or beside the box, is 弃权.",
    )
    covering: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="a mark covering this share of its box or more (a box scribbled over, filled in) beside a mark "
        "under ``firm_alike`` of its size is of another kind (a correction beside the voter's tick): ask.",
    )
    faint_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a row's one marked box whose ink is under this share of the median darkness of the sheet's "
        "marked boxes (three or more) is far fainter than the voter's own hand (a pen running dry, very light "
        "pencil, an erased mark's residue): ask.",
    )
    scribbled: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="a row's one marked box with this share of its ring inked or more (ink not coming up from the "
        "row below) has far more ink around it than a tick's leg leaves: scribbled over, crossed out? Ask.",
    )
    overvote_balance: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="two marked boxes count as an overvote only if the smaller fill is at least this share of "
        "the larger; otherwise (a speck beside a tick) a clerk decides.",
    )
    outside: float = Field(
        default=0.06,
        gt=0,
        le=1,
        description="ink share in the ring around an unmarked box that suggests a mark beside it.",
    )
    from_below: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="ink around an empty box, this share of it below the box, beside a marked box right below "
        "whose ink leaves it, is the long right leg of a tick in that box (a Chinese √), not a mark beside this one.",
    )
    edge: float = Field(
        default=0.08,
        gt=0,
        le=1,
        description="an unmarked box with this much more ink along its printed border (score ``edge``) than the "
        "row's cleanest box has something drawn on the border itself (a ring drawn tight round it): ask.",
    )
    encircled: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="a box with long strokes around it in at least this share of directions, little ink inside "
        "(fill < definite) and none in the middle, was circled: it counts as marked when it is its row's "
        "only ink.",
    )
    tight_ring: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="a box with a pen or pencil line along its printed border in at least this share of directions "
        "(score ``edge_around``), nothing in its middle, on a page and in a row whose other boxes show nothing "
        "along their borders, was circled by a ring drawn tight round it.",
    )
    circle_border_match: float = Field(
        default=0.55,
        gt=0,
        le=1,
        description="a circled box counts only if its printed border was found this well: a border found in the "
        "wrong place leaves its own line beside the box, which looks like a ring.",
    )


class AlignmentLimits(_Strict):
    """Reject a page rather than guess when the fit is poor."""

    max_residual_mm: float = Field(
        default=1.6, gt=0, description="90th percentile misfit of the printed box borders after the fine fit."
    )
    max_qr_residual_mm: float = Field(
        default=3.0, gt=0, description="coarse check: QR corners against the fit from the registration marks."
    )
    min_px_per_mm: float = Field(default=2.5, gt=0, description="below ~64 dpi boxes are too small to judge.")
    max_px_per_mm: float = Field(default=25.0, gt=0, description="above ~635 dpi: probably not a whole page.")
    max_skew_deg: float = Field(
        default=10.0, gt=0, description="the page's axes may deviate this much from square (phone perspective)."
    )
    max_aspect_error: float = Field(default=0.15, gt=0, description="relative difference of x and y scale.")
    max_box_shift_mm: float = Field(
        default=0.8, gt=0, description="printed box border found further than this from the fit: row flagged."
    )
    min_border_match: float = Field(default=0.45, ge=0, le=1, description="printed border barely visible: row flagged.")
    border_hidden_fill: float = Field(
        default=0.55,
        gt=0,
        le=1,
        description="a box at least this full (a heavy cross, a fill) hides its own border: its match is not checked.",
    )


class ReadingSettings(_Strict):
    """Everything that decides how scores become readings."""

    marks: MarkThresholds = Field(default_factory=lambda: MarkThresholds())
    alignment: AlignmentLimits = Field(default_factory=lambda: AlignmentLimits())
    blank_page_ink: float = Field(
        default=0.002,
        ge=0,
        le=1,
        description="a page with less dark ink than this share and no QR code is blank.",
    )

    def content_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_settings(path: Path | None = None) -> ReadingSettings:
    """Load reading settings; the shipped file when ``path`` is None (built-in defaults if it is absent)."""
    source = path or DEFAULT_SETTINGS_FILE
    if path is None and not source.exists():
        return ReadingSettings()
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise TemplateInvalid(str(source), [TemplateError("(file)", f"cannot read settings: {error}")]) from None
    try:
        return ReadingSettings.model_validate(data)
    except ValidationError as error:
        problems = [
            TemplateError(".".join(str(p) for p in item["loc"]) or "(settings)", item["msg"]) for item in error.errors()
        ]
        raise TemplateInvalid(str(source), problems) from None
