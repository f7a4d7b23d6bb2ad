"""Conditions: named ways the world makes a sheet harder to read, on top of a device profile.

Contract. A condition is asked by name (``ballot simulate … --condition folded --condition long-tick``,
``simulate_batch(…, conditions=("folded", "long-tick"))``) and composes with the profiles it names in
:data:`CONDITIONS`; :func:`check_conditions` refuses the rest. Everything a condition draws comes from its own
generator (seeded apart from the page's own), so a profile's output for a seed does not change when no
condition is asked, and the same seed gives the same voters with or without one. The stage functions
(:func:`paper_stage`, :func:`capture_stage`, :func:`sensor_stage`, :func:`fax_stage`) are called by
:func:`pipeline.simulation.degrade.degrade` at their place in the physics; the voters' conditions
(``long-tick``, ``erasure``) are applied by :mod:`pipeline.simulation.simulate` while filling the sheet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast, get_args

import numpy as np

from pipeline.ballot.layout import Layout
from pipeline.simulation.capture import (
    FAX_LINE_PELS,
    FAX_OVERRUN_MM,
    FAX_PELS_PER_MM,
    FAX_TRUNCATED_MM,
    Framing,
    Placement,
    fax_lines,
    fax_settings,
    long_streaks,
    scanned,
    scanner_placement,
)
from pipeline.simulation.effects import PAGE_MM, Binarise, Gray, Profile, dim_light
from pipeline.simulation.paper import BackKind, fold_page, show_through
from pipeline.simulation.photo import photo
from pipeline.simulation.scanapp import scanner_app

Condition = Literal[
    "steep-photo",
    "marks-cut",
    "code-cut",
    "box-cut",
    "fax-standard",
    "fax-fine",
    "folded",
    "long-tick",
    "streak",
    "show-through",
    "erasure",
    "scanner-app",
    "dim-light",
    "red-pen",
]
ALL_PROFILES: tuple[Profile, ...] = ("office", "fax", "phone", "bad")
CONDITION_STREAM = 2_000_029  # seeds every condition's generator apart from the page's own


@dataclass(frozen=True)
class ConditionInfo:
    """What a condition is (words for ``--help`` and the README) and the profiles it composes with."""

    summary: str
    profiles: tuple[Profile, ...]


CONDITIONS: dict[Condition, ConditionInfo] = {
    "steep-photo": ConditionInfo(
        "phone photo tilted 10–35°, rolled, the sheet 40–90 % of the frame, on wood, desk, dark cloth or a light"
        " surface, uneven light, a cast shadow, barrel distortion, half of them with a fold",
        ("phone",),
    ),
    "marks-cut": ConditionInfo(
        "fed shifted, placed crooked or photographed tight: 1–2 corner marks outside the image, the code and"
        " every box inside (to be read)",
        ("office", "fax", "phone"),
    ),
    "code-cut": ConditionInfo(
        "fed shifted sideways (an ADF's guide set wide), or photographed off-centre with the sheet about the frame's"
        " size: the code (and with it the serial printed under it) partly or wholly outside the image, every box"
        " inside",
        ("office", "phone"),
    ),
    "box-cut": ConditionInfo(
        "a box outside the image: sheet hanging off the glass, fax page cut short, photo too tight (to be refused)",
        ("office", "fax", "phone"),
    ),
    "fax-standard": ConditionInfo(
        "standard fax: 8 pels/mm × 3.85 lines/mm, file says 204×98, 200×100 or nothing; feed wobble, on half"
        " the pages the feed slipping (bands of 15–80 mm up to 10 % taller or shorter), the sheet walking sideways"
        " (drift and snaking, up to ~2 mm either way), lost and repeated lines (on some pages a noise burst drops"
        " 0.5–3 mm at once), header line, 1-bit or dithered",
        ("fax",),
    ),
    "fax-fine": ConditionInfo(
        "fine fax: 8 pels/mm × 7.7 lines/mm, file says 204×196 or nothing; as standard", ("fax",)
    ),
    "folded": ConditionInfo(
        "folded in half or quarters and opened: parts 1–3 mm apart, a shadow line along each crease", ALL_PROFILES
    ),
    "long-tick": ConditionInfo("ticks whose right leg runs 3–10 mm out of the box", ALL_PROFILES),
    "streak": ConditionInfo("1–3 lines down the whole page from dirty glass, light or dark, 1–4 px", ("office", "fax")),
    "show-through": ConditionInfo(
        "print on the back (a ballot or a document, mirrored) or on the sheet behind, 3–14 % dark", ALL_PROFILES
    ),
    "erasure": ConditionInfo(
        "40 % of rows changed: pencil or erasable gel rubbed out (residue up to a tick's darkness), correction"
        " tape (beside a new mark, or alone), a mark scribbled over, or two firm marks",
        ALL_PROFILES,
    ),
    "scanner-app": ConditionInfo(
        "photographed with a scanner app (扫描全能王, 微信 / WPS 文件扫描, iOS 扫描文稿): the sheet's corners found"
        " 0.3–1.5 mm off (on some photos one 3–8 mm off), flattened to A4 at 150–300 dpi, the paper whitened and the"
        " contrast raised, or black and white by a local threshold, or grey; often sharpened",
        ("phone",),
    ),
    "dim-light": ConditionInfo(
        "phone photo in dim light (a corridor, an evening office, no flash): the page darker (60–85 % of its"
        " brightness), the sensor's noise at high gain 6–12 grey levels with a coarse grain, a slower shutter's shake",
        ("phone",),
    ),
    "red-pen": ConditionInfo(
        "the voter marks with a red pen (the office's 打勾 pen) and the scanner or copier makes grey from little of"
        " red (a colour-dropout or red-channel grey, a cheap copier's lamp): every mark of theirs 15–40 % as dark"
        " as black ink",
        ("office", "bad"),
    ),
}
EXCLUSIVE: tuple[frozenset[Condition], ...] = (
    frozenset({"fax-standard", "fax-fine"}),
    frozenset({"marks-cut", "code-cut", "box-cut"}),
)


class ConditionError(ValueError):
    """Conditions that cannot be simulated together, or not with this profile."""


def check_conditions(profile: Profile, conditions: Iterable[str]) -> tuple[Condition, ...]:
    """The asked conditions, known, compatible with ``profile`` and each other, in :data:`CONDITIONS` order."""
    asked = set(conditions)
    unknown = sorted(asked - set(get_args(Condition)))
    if unknown:
        raise ConditionError(f"unknown condition {', '.join(unknown)}; known: {', '.join(CONDITIONS)}")
    for name in sorted(asked):
        if profile not in CONDITIONS[cast(Condition, name)].profiles:
            allowed = "/".join(CONDITIONS[cast(Condition, name)].profiles)
            raise ConditionError(f"condition {name} needs profile {allowed}, not {profile}")
    for group in EXCLUSIVE:
        if len(asked & group) > 1:
            raise ConditionError(f"conditions {' and '.join(sorted(group))} exclude each other")
    return tuple(name for name in CONDITIONS if name in asked)


@dataclass(frozen=True)
class ConditionContext:
    """What the device stages need to apply the page's conditions."""

    conditions: tuple[Condition, ...]
    rng: np.random.Generator
    layout: Layout
    back: tuple[BackKind, Gray] | None = None  # show-through: what is printed on the back or lies behind

    def has(self, condition: Condition) -> bool:
        return condition in self.conditions


def paper_stage(
    page: Gray, context: ConditionContext, applied: dict[str, object], px_per_mm: float, background: int
) -> Gray:
    """The sheet before the device: print showing through, then folded and opened (a steep photo's crease
    is drawn here too)."""
    if context.back is not None:
        page = show_through(page, context.back[1], context.back[0], context.rng, applied, px_per_mm)
    creased_photo = context.has("steep-photo") and context.rng.random() < 0.5
    if context.has("folded") or creased_photo:
        page = fold_page(page, context.rng, applied, px_per_mm, background)
    return page


def _framing(context: ConditionContext) -> Framing:
    if context.has("marks-cut"):
        return "marks_cut"
    if context.has("code-cut"):
        return "code_cut"
    return "box_cut" if context.has("box-cut") else "whole"


def capture_stage(
    page: Gray,
    context: ConditionContext,
    applied: dict[str, object],
    source_dpi: float,
    *,
    base: Profile,
    dpi: float,
    backing: int,
    upside_down: bool,
) -> Gray | None:
    """The device's image when a condition changes how it captures ``base``'s way; None when none does."""
    rng, framing = context.rng, _framing(context)
    resolution: Literal["standard", "fine"] | None = (
        "standard" if context.has("fax-standard") else "fine" if context.has("fax-fine") else None
    )
    if base == "phone" and (context.has("steep-photo") or framing != "whole"):
        steep = context.has("steep-photo")
        return photo(
            page, rng, applied, source_dpi, context.layout, steep=steep, framing=framing, upside_down=upside_down
        )
    if base == "office" and framing != "whole":
        placement = scanner_placement(rng, context.layout, PAGE_MM, framing, fax=False, upside_down=upside_down)
        applied["file_dpi"] = dpi
        return scanned(
            page,
            rng,
            applied,
            source_dpi,
            dpi=(dpi, dpi),
            frame_mm=PAGE_MM,
            placement=placement,
            upside_down=upside_down,
            backing=backing,
        )
    if base == "fax" and (resolution is not None or framing != "whole"):
        return _fax(page, context, applied, source_dpi, resolution, dpi=dpi, backing=backing, upside_down=upside_down)
    return None


def _fax(
    page: Gray,
    context: ConditionContext,
    applied: dict[str, object],
    source_dpi: float,
    resolution: Literal["standard", "fine"] | None,
    *,
    dpi: float,
    backing: int,
    upside_down: bool,
) -> Gray:
    """A fax at a fax resolution (or the profile's square ``dpi``), fed shifted or cut short if asked."""
    rng, framing = context.rng, _framing(context)
    if resolution is None:  # a plain fax fed shifted or cut short: the profile's resolution, square
        settings: dict[str, object] = {"dpi": (dpi, dpi), "stated_dpi": (dpi, dpi), "feed": 1.0, "wobble": []}
        frame_width = PAGE_MM[0]
    else:
        settings = fax_settings(rng, resolution)
        frame_width = FAX_LINE_PELS / FAX_PELS_PER_MM
    # The fax scans until the sheet's trailing edge has passed: a little backing below a crooked sheet.
    length = PAGE_MM[1] + FAX_OVERRUN_MM
    if framing == "box_cut":  # cut short: the page ends partway down the sheet
        length = float(rng.uniform(*FAX_TRUNCATED_MM))
        applied["truncated_mm"] = round(length, 2)
        shift = (float(rng.uniform(-2.0, 2.0)), (PAGE_MM[1] - length) / 2)
        placement = Placement(float(rng.uniform(-1.0, 1.0)), shift)
    elif framing == "marks_cut":
        frame = (frame_width, length)
        placement = scanner_placement(rng, context.layout, frame, framing, fax=True, upside_down=upside_down)
    else:
        placement = Placement(float(rng.uniform(-1.5, 1.5)), (float(rng.uniform(-3.0, 3.0)), 0.0))
    stated = settings.get("stated_dpi")
    applied["file_dpi"] = list(cast(tuple[float, float], stated)) if stated is not None else None
    applied["fax"] = {key: value for key, value in settings.items() if key not in ("wobble", "slips", "feed", "walk")}
    fax_dpi = cast(tuple[float, float], settings["dpi"])
    fax_rows: dict[str, object] = {
        "resolution": resolution or "plain",
        "dpi": list(fax_dpi),
        "feed": settings["feed"],
        "wobble": settings["wobble"],
        "slips": settings.get("slips", []),
        "walk": settings.get("walk"),
        "lines": [],
        "header_rows": 0,
        "header_mode": "none",
    }
    return scanned(
        page,
        rng,
        applied,
        source_dpi,
        dpi=fax_dpi,
        frame_mm=(frame_width, length),
        placement=placement,
        upside_down=upside_down,
        backing=backing,
        fax_rows=fax_rows,
    )


def sensor_stage(image: Gray, context: ConditionContext, applied: dict[str, object], base: Profile) -> Gray:
    """Dirt on a scanner's glass: long streaks (scanners and faxes only; a phone has no glass); a phone's sensor in
    dim light."""
    if context.has("streak") and base != "phone":
        return long_streaks(image, context.rng, applied, context.layout)
    if context.has("dim-light") and base == "phone":
        return dim_light(image, context.rng, applied)
    return image


def app_stage(image: Gray, context: ConditionContext, applied: dict[str, object], base: Profile) -> Gray:
    """A phone's photo taken through a scanner app: found, flattened and enhanced before the app saves it."""
    if context.has("scanner-app") and base == "phone":
        return scanner_app(image, context.rng, applied)
    return image


def fax_mode(applied: dict[str, object], mode: Binarise) -> Binarise:
    """How the fax thresholds its page: as its resolution condition drew (sometimes dithered), else ``mode``."""
    fax = applied.get("fax")
    return cast(Binarise, fax["mode"]) if isinstance(fax, dict) and "mode" in fax else mode


def fax_stage(binary: Gray, context: ConditionContext, applied: dict[str, object]) -> Gray:
    """A fax of a resolution condition loses and repeats scan lines and prints its header line."""
    if context.has("fax-standard") or context.has("fax-fine"):
        return fax_lines(binary, context.rng, applied)
    return binary
