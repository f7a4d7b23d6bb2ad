"""The proposal as a template: geometry in mm from the first section's top-left corner, every doubt listed and
marked ``# 待核对`` in the YAML (``from-scan``'s output)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.ballot.template import DONT_KNOW, Template, parse_template
from pipeline.forms.proposed import FormProposal
from pipeline.forms.ruling import PxRect

UNTITLED = "满意度测评表（外部表格）"
EXTERNAL_INSTRUCTION = "按原表说明填写（外部表格，从空白表扫描生成）"


@dataclass(frozen=True)
class Doubt:
    """Something the clerk must check on the paper form: where in the template, what was read, and why."""

    path: str  # e.g. 'sections.0.rows.3.unit'
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path} = {self.text}: {self.reason}"


def proposal_template(proposal: FormProposal, template_id: str) -> tuple[Template, list[Doubt]]:
    """The proposal as a template (``source: external``) and everything in it the clerk must check.

    Raises :class:`~pipeline.ballot.template.TemplateInvalid` when the form cannot be one."""
    first = proposal.sections[0].rect
    origin = (first[0], first[1])
    scale = proposal.px_per_mm

    def mm(rect: PxRect) -> dict[str, float]:
        x0, y0, x1, y1 = ((value - origin[i % 2]) / scale for i, value in enumerate(rect))
        return {"x": round(x0, 2), "y": round(y0, 2), "w": round(x1 - x0, 2), "h": round(y1 - y0, 2)}

    doubts: list[Doubt] = []
    title = proposal.title.text[:60] if proposal.title and proposal.title.text else UNTITLED
    if proposal.title is None or not proposal.title.sure:
        reason = proposal.title.doubt if proposal.title else "no title found above the table"
        doubts.append(Doubt("title", title, reason))
    seen: set[str] = set()
    sections: list[dict[str, object]] = []
    places: list[dict[str, object]] = []
    for index, proposed in enumerate(proposal.sections):
        # The template lists 不了解 last (dont_know: true); the boxes follow the template's order.
        order = sorted(range(len(proposed.options)), key=lambda i: proposed.options[i].word == DONT_KNOW)
        for column in proposed.options:
            if not column.heading.sure:
                doubts.append(Doubt(f"sections.{index}.options", column.word, column.heading.doubt))
        doubts += [Doubt(f"sections.{index}.rows", "(row left out)", skipped) for skipped in proposed.skipped]
        rows, geometry = [], []
        for row_index, row in enumerate(proposed.rows):
            name = row.label.text[:34] or f"第{index + 1}.{row_index + 1}行"
            reason = row.label.doubt if not row.label.sure else ""
            if name in seen:
                name = _unique(name, seen)
                reason = "; ".join(filter(None, [reason, "the same name as another row"]))
            seen.add(name)
            if reason:
                doubts.append(Doubt(f"sections.{index}.rows.{row_index}.unit", name, reason))
            rows.append({"unit": name})
            boxes = [mm(row.boxes[i]) for i in order]
            place: dict[str, object] = {"band": mm(row.band), "label": mm(row.label.rect), "boxes": boxes}
            if row.clear:
                place["clear"] = [[round(d / scale, 1) for d in row.clear[i]] for i in order]
            geometry.append(place)
        words = [proposed.options[i].word for i in order]
        sections.append(
            {"options": [w for w in words if w != DONT_KNOW], "dont_know": DONT_KNOW in words, "rows": rows}
        )
        table = proposed.table
        box_line_mm = round(min(max(proposed.box_line_px / scale, 0.05), 2.0), 2)
        line_mm = round(max(table.line_px / scale, 0.05), 2) if table is not None else box_line_mm
        place_of: dict[str, object] = {
            "table": mm(proposed.rect),
            "marker": proposed.marker,
            "line_mm": line_mm,
            "box_line_mm": box_line_mm,
            "rows": geometry,
        }
        if table is not None:
            place_of["columns"] = [round((x - origin[0]) / scale, 2) for x in table.xs]
            place_of["rules"] = [round((y - origin[1]) / scale, 2) for y in table.ys]
        places.append(place_of)
    height, width = proposal.image.shape
    external = {
        "page_w_mm": round(width / scale, 1),
        "page_h_mm": round(height / scale, 1),
        "origin_x_mm": round(origin[0] / scale, 2),
        "origin_y_mm": round(origin[1] / scale, 2),
        "title_box": mm(proposal.title.rect) if proposal.title else None,
        "codes": list(proposal.codes[:8]),
        "sections": places,
    }
    if not all(section.table is not None for section in proposal.sections):  # found by its places, not rules
        external["anchors"] = [
            {
                "x": round((place.centre[0] - origin[0]) / scale, 2),
                "y": round((place.centre[1] - origin[1]) / scale, 2),
                "size": round(place.size / scale, 2),
                "marker": place.kind,
            }
            for place in proposal.places
        ]
    for code in proposal.codes[:8]:
        reason = "a code printed on the blank: keep it only if every copy carries the same (not a sheet number)"
        doubts.append(Doubt("external.codes", code[:60], reason))
    data = {
        "id": template_id,
        "title": title,
        "instruction": EXTERNAL_INSTRUCTION,
        "source": "external",
        "sections": sections,
        "external": external,
    }
    return parse_template(data, template_id), doubts


def _unique(name: str, seen: set[str]) -> str:
    """``name`` with the first number in brackets that makes it new (two rows may not share a name)."""
    number = 2
    while f"{name}（{number}）" in seen:
        number += 1
    return f"{name}（{number}）"


def template_yaml(template: Template, doubts: list[Doubt], source: str) -> str:
    """The template as YAML in our usual layout, each doubtful line marked ``# 待核对: why``."""
    marks: dict[str, list[str]] = {}
    for doubt in doubts:
        text = f"{doubt.text}: {doubt.reason}" if doubt.path.endswith(".options") else doubt.reason
        marks.setdefault(doubt.path, []).append(text)

    def note(path: str) -> str:
        return f"  # 待核对: {'; '.join(marks[path])}" if path in marks else ""

    lines = [
        f"# Proposed by 'ballot template from-scan' from {Path(source).name}.",
        "# Check every line marked 待核对 against the paper form, correct the text and delete the mark.",
        "# 'external' is where everything sits on the form, in mm from its table's outer top-left corner.",
        f"id: {_scalar(template.id)}",
        f"title: {_scalar(template.title)}{note('title')}",
        f"instruction: {_scalar(template.instruction)}",
        "source: external",
        "sections:",
    ]
    if template.external is not None and template.external.codes:
        lines.append(f"# codes printed on the blank (external.codes){note('external.codes')}")
    for index, section in enumerate(template.sections):
        options = ", ".join(_scalar(option) for option in section.options)
        lines.append(f"  - options: [{options}]{note(f'sections.{index}.options')}")
        lines.append(f"    dont_know: {'true' if section.dont_know else 'false'}")
        lines.append(f"    rows:{note(f'sections.{index}.rows')}")
        for row_index, row in enumerate(section.rows):
            lines.append(f"      - {{unit: {_scalar(row.unit)}}}{note(f'sections.{index}.rows.{row_index}.unit')}")
    assert template.external is not None
    geometry = {"external": template.external.model_dump(mode="json")}
    dumped = yaml.safe_dump(geometry, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
    return "\n".join(lines) + "\n" + dumped


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that is safe inside ``[…]`` and ``{…}``: plain when it can be, else quoted."""
    plain = re.fullmatch(r"[\w\u3000-\u9fff\uff00-\uffef·—-]+", value) is not None
    if plain and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)
