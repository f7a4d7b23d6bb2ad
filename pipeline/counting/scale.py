"""Scale: how each printed option of a template counts (满意 / 基本满意 / 不满意 / 不了解) and weighs.

Templates print the grades a bureau uses: 满意 / 基本满意 / 不满意, or four or five levels (满意 / 比较满意 /
基本满意 / 不满意; 满意 / 比较满意 / 一般 / 不满意; 非常满意 / 满意 / 基本满意 / 不太满意 / 不满意 — see
../shared/domain.md §1.3). The rules' ``scale`` names one of the presets below (``auto``: the first that has
every option printed) and ``options`` adds or replaces single options. :func:`template_scale` resolves this
once for a template, before anything is printed (``ballot template check``, ``ballot print``) and again when
counting; an option nothing maps is a :class:`ScaleProblem`, never a silent zero.

Weights in 综合满意率: 满意 1, 基本满意 the rules' ``basic_weight`` w (0.6 [P26][C4]), 不满意 and 不了解 0
[P18]. An option between 满意 and 基本满意 (比较满意; 满意 under 非常满意) weighs halfway, (1 + w) / 2: the
sources' 0.8 at w = 0.6 [C4][P26], and still between the two when a bureau changes w.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from pipeline.ballot.template import DONT_KNOW, Template
from pipeline.common.messages import Lang, scale_problem
from pipeline.counting.rules import OptionClass, Rules

Weight = Fraction | Literal["w", "halfway"]

#: Preset → (option, class, weight) for every word it knows; "w" is basic_weight, "halfway" (1 + w) / 2.
PRESETS: dict[str, tuple[tuple[str, OptionClass, Weight], ...]] = {
    "three_level": (("满意", "满意", Fraction(1)), ("基本满意", "基本满意", "w"), ("不满意", "不满意", Fraction(0))),
    "four_level": (
        ("满意", "满意", Fraction(1)),
        ("比较满意", "基本满意", "halfway"),
        ("基本满意", "基本满意", "w"),
        ("不满意", "不满意", Fraction(0)),
    ),
    "four_level_average": (
        ("满意", "满意", Fraction(1)),
        ("比较满意", "基本满意", "halfway"),
        ("一般", "基本满意", "w"),
        ("不满意", "不满意", Fraction(0)),
    ),
    "five_level": (
        ("非常满意", "满意", Fraction(1)),
        ("很满意", "满意", Fraction(1)),
        ("满意", "满意", "halfway"),
        ("基本满意", "基本满意", "w"),
        ("不太满意", "不满意", Fraction(0)),
        ("不满意", "不满意", Fraction(0)),
    ),
}
PRESET_ORDER = ("three_level", "four_level", "four_level_average", "five_level")
CLASSES: tuple[OptionClass, ...] = ("满意", "基本满意", "不满意", "不了解")


@dataclass(frozen=True)
class OptionCount:
    """How one printed option counts: its class and its weight in 综合满意率 (exact)."""

    option: str
    counts_as: OptionClass
    weight: Fraction


@dataclass(frozen=True)
class Scale:
    """Every printed option of a template (in print order, 不了解 last) with how it counts.

    ``preset`` is the preset used (None when the rules' ``options`` alone map every option)."""

    preset: str | None
    options: tuple[OptionCount, ...]

    def of(self, option: str) -> OptionCount | None:
        return next((entry for entry in self.options if entry.option == option), None)

    @property
    def plain(self) -> bool:
        """Every option counts as the grade of its own name (the three-level ballot, perhaps with 不了解)."""
        return all(entry.option == entry.counts_as for entry in self.options)


@dataclass(frozen=True)
class ScaleProblem:
    """The rules cannot count some printed options (``unknown``): ``why`` says how they fall outside the presets
    (no_preset, mixed, not_in_preset); :meth:`message` tells the clerk what to write in the rules."""

    unknown: tuple[str, ...]
    why: Literal["no_preset", "mixed", "not_in_preset"]
    rules: str  # the rules' name
    scale: str  # the rules' scale: auto or a preset
    template_id: str = ""

    def message(self, lang: Lang = "zh") -> str:
        return scale_problem(
            self.why, self.unknown, self.rules, PRESET_ORDER, lang, scale=self.scale, template=self.template_id
        )


def printed_options(template: Template) -> tuple[str, ...]:
    """Every option the template prints, once, in print order (不了解 after the grades)."""
    grades = [option for section in template.sections for option in section.options]
    dont_know = [DONT_KNOW] if any(section.dont_know for section in template.sections) else []
    return tuple(dict.fromkeys([*grades, *dont_know]))


def template_scale(template: Template, rules: Rules) -> Scale | ScaleProblem:
    """How ``rules`` count every option ``template`` prints, or why they cannot."""
    return resolve_scale(rules, printed_options(template), template.id)


def resolve_scale(rules: Rules, printed: Sequence[str], template_id: str = "") -> Scale | ScaleProblem:
    """Resolve ``printed`` options: the rules' own ``options`` first, then the preset (see the module doc)."""
    wanted = [option for option in printed if option not in rules.options and option != DONT_KNOW]
    names = PRESET_ORDER if rules.scale == "auto" else (rules.scale,)
    preset = next((name for name in names if set(wanted) <= _words(name)), None)
    if preset is None:
        return _problem(rules, wanted, template_id)
    known = {word: (counts_as, weight) for word, counts_as, weight in PRESETS[preset]}
    entries = []
    for option in printed:
        own = rules.options.get(option)
        if own is not None:
            entries.append(OptionCount(option, own.counts_as, _own_weight(own.counts_as, own.weight, rules)))
        elif option == DONT_KNOW:
            entries.append(OptionCount(option, "不了解", Fraction(0)))
        else:
            counts_as, weight = known[option]
            entries.append(OptionCount(option, counts_as, _weight(weight, rules)))
    return Scale(preset if wanted else None, tuple(entries))


def _words(preset: str) -> set[str]:
    return {word for word, _, _ in PRESETS[preset]}


def _weight(weight: Weight, rules: Rules) -> Fraction:
    if weight == "w":
        return rules.weight
    if weight == "halfway":
        return (1 + rules.weight) / 2
    return weight


def _own_weight(counts_as: OptionClass, weight: float | None, rules: Rules) -> Fraction:
    if weight is not None:
        return Fraction(str(weight))
    default: Weight = Fraction(1) if counts_as == "满意" else "w" if counts_as == "基本满意" else Fraction(0)
    return _weight(default, rules)


def _problem(rules: Rules, wanted: Sequence[str], template_id: str) -> ScaleProblem:
    if rules.scale == "auto":
        strangers = [word for word in wanted if not any(word in _words(name) for name in PRESET_ORDER)]
        return ScaleProblem(
            tuple(strangers or wanted), "no_preset" if strangers else "mixed", rules.name, rules.scale, template_id
        )
    unknown = tuple(word for word in wanted if word not in _words(rules.scale))
    return ScaleProblem(unknown, "not_in_preset", rules.name, rules.scale, template_id)


def mapping_sentence(scale: Scale) -> str:
    """'测评票选项“非常满意”“满意”计为满意，…' — empty when every option counts as its own name."""
    if scale.plain:
        return ""
    parts = []
    for counts_as in CLASSES:
        words = [entry.option for entry in scale.options if entry.counts_as == counts_as]
        if words:
            verb = "不计入评价" if counts_as == "不了解" else f"计为{counts_as}"
            parts.append("".join(f"“{word}”" for word in words) + verb)
    return "测评票选项" + "，".join(parts)


def score_formula(scale: Scale) -> str:
    """'综合满意率=（满意+0.6×基本满意）÷有效票': every option counted as 满意 or 基本满意 with its weight."""
    terms = [
        entry.option if entry.weight == 1 else f"{float(entry.weight):g}×{entry.option}"
        for entry in scale.options
        if entry.counts_as in ("满意", "基本满意")
    ]
    return f"综合满意率=（{'+'.join(terms)}）÷有效票"


def rules_scale(rules: Rules) -> Scale:
    """The scale the rules describe without a template: the preset's words (three_level under auto)."""
    preset = "three_level" if rules.scale == "auto" else rules.scale
    words = [word for word, _, _ in PRESETS[preset] if word != "很满意" or preset != "five_level"]
    resolved = resolve_scale(rules, [*words, *(o for o in rules.options if o not in words)])
    assert isinstance(resolved, Scale), "a preset's own words always resolve"
    return resolved
