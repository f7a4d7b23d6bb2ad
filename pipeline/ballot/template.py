"""Ballot templates: what a clerk describes once, validated at the edge.

A template file (YAML) is parsed into the pydantic :class:`Template` model (``extra="forbid"``), so a typo
is an error rather than a silently ignored key. Errors are reported as ``path → message`` lines, never as a
traceback. The template's content hash covers the normalised model plus the layout algorithm version: if
either changes, ballots printed earlier are no longer read with the new geometry.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Bumped whenever :mod:`pipeline.ballot.layout` would place anything differently for the same template.
LAYOUT_VERSION = 1

DEFAULT_OPTIONS = ("满意", "基本满意", "不满意")
MAX_OPTIONS = 7  # a six- or seven-grade scale (优 良 中 差 …, or a 1–7 Likert line)
#: What one printed ballot can hold (our layout); an existing form (source: external) may hold more.
NATIVE_SECTIONS, NATIVE_ROWS = 4, 30
EXTERNAL_SECTIONS, EXTERNAL_ROWS = 40, 100
CLEAR_DIRECTIONS = 16  # directions round an existing form's answer place its clearance is given in (from rightwards)
DONT_KNOW = "不了解"
CATEGORY_ROW = "测评人类别"

TEMPLATE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
SESSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z-]{0,23}$"

ShortText = Annotated[str, Field(min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Row(_Strict):
    """One row of a grid section: a unit (单位) or a cadre (干部)."""

    unit: ShortText = Field(description="Unit name (单位名称), or the person's name (姓名) in a cadre section.")
    post: str | None = Field(
        default=None, max_length=24, description="职务 of a cadre; only in sections of kind 'cadre'."
    )
    group: str | None = Field(
        default=None,
        max_length=24,
        description="Peer group (序列/类别) the unit is ranked in; rows without one share the section title.",
    )


class Section(_Strict):
    """A table of rows that all offer the same options."""

    title: str | None = Field(default=None, max_length=40, description="Heading printed above the table.")
    kind: Literal["unit", "cadre"] = Field(
        default="unit", description="'unit': columns 序号|单位名称; 'cadre': 序号|姓名|职务."
    )
    options: list[ShortText] = Field(
        default_factory=lambda: list(DEFAULT_OPTIONS),
        min_length=2,
        max_length=MAX_OPTIONS,
        description="The grades every row offers, left to right (without 不了解).",
    )
    dont_know: bool = Field(default=False, description="Add a 不了解 column after the options.")
    comment: bool = Field(default=False, description="Add a 意见建议 cell per row (kept as an image only).")
    rows: list[Row] = Field(
        min_length=1,
        max_length=EXTERNAL_ROWS,
        description=f"The rows; at most {NATIVE_ROWS} on a ballot we print, {EXTERNAL_ROWS} on an existing form.",
    )

    @property
    def all_options(self) -> tuple[str, ...]:
        return (*self.options, DONT_KNOW) if self.dont_know else tuple(self.options)

    @field_validator("options")
    @classmethod
    def _distinct_options(cls, options: list[str]) -> list[str]:
        if len(set(options)) != len(options):
            raise ValueError("options must be distinct")
        if DONT_KNOW in options:
            raise ValueError(f"use 'dont_know: true' instead of listing {DONT_KNOW} as an option")
        return options

    @model_validator(mode="after")
    def _posts_only_for_cadres(self) -> Section:
        if self.kind == "unit":
            for index, row in enumerate(self.rows):
                if row.post is not None:
                    raise ValueError(f"rows.{index}.post: 'post' (职务) is only allowed in a 'cadre' section")
        return self


class VoterCategory(_Strict):
    """The optional 测评人类别 question, printed as one row of tick boxes."""

    label: ShortText = Field(default=CATEGORY_ROW, description="Printed before the choices.")
    options: list[ShortText] = Field(min_length=2, max_length=5, description="The categories, in print order.")

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        if len(set(options)) != len(options):
            raise ValueError("categories must be distinct")
        return options


class MmRect(_Strict):
    """A rectangle on an existing form, in mm from the form's origin (its first table's outer top-left corner)."""

    x: float = Field(description="Left edge, mm right of the origin.")
    y: float = Field(description="Top edge, mm below the origin (negative: above the table).")
    w: float = Field(gt=0, description="Width, mm.")
    h: float = Field(gt=0, description="Height, mm.")


class ExternalRow(_Strict):
    """Where one row of an existing form sits: its band, its label and one answer place per option."""

    band: MmRect = Field(
        description="The row between its ruling lines across the whole table; on a form without a ruled "
        "table, the strip the row's answer places and label take up."
    )
    label: MmRect = Field(description="Where the row's label (单位名称, a question) is printed.")
    boxes: list[MmRect] = Field(
        min_length=2,
        max_length=MAX_OPTIONS + 1,
        description="Where each option is marked, in the section's option order (then 不了解): the printed "
        "square or circle, or the whole cell between its ruling lines.",
    )
    clear: list[Annotated[list[float], Field(min_length=CLEAR_DIRECTIONS, max_length=CLEAR_DIRECTIONS)]] = Field(
        default_factory=list,
        description=f"Per box, how far paper reaches from its outline before other print (its option text, a "
        f"rule joining it to the next box, a heading), mm, in {CLEAR_DIRECTIONS} directions from rightwards, "
        "clockwise: ink beside a box is looked for only there. Empty in a ruled table (its rules bound the row).",
    )

    @model_validator(mode="after")
    def _clear_per_box(self) -> ExternalRow:
        if self.clear and len(self.clear) != len(self.boxes):
            raise ValueError(f"clear: {len(self.boxes)} needed, one per box (or none)")
        return self


class ExternalSection(_Strict):
    """One table of an existing form, matching the template section of the same index."""

    table: MmRect = Field(
        description="The table's outer border (centres of its ruling lines); without a ruled table, the box "
        "around the section's rows."
    )
    marker: Literal["square", "circle", "cell"] = Field(
        description="'square': a printed □ at every answer place; 'circle': a printed ○ (a bubble); 'cell': "
        "the empty table cell itself is ticked."
    )
    line_mm: float = Field(gt=0, le=3, description="Thickness of the table's ruling lines, mm.")
    box_line_mm: float = Field(
        default=0.2, gt=0, le=2, description="Stroke of the printed squares or circles, mm (not for 'cell')."
    )
    columns: list[float] = Field(
        default_factory=list,
        description="x of every vertical ruling line, mm from the origin, left to right; empty when the "
        "answer places stand free (no ruled table): the form is then found by its printed places.",
    )
    rules: list[float] = Field(
        default_factory=list,
        description="y of every horizontal ruling line, mm from the origin, top to bottom; empty as 'columns'.",
    )
    rows: list[ExternalRow] = Field(min_length=1, max_length=EXTERNAL_ROWS, description="One per row of the section.")

    @property
    def ruled(self) -> bool:
        """Whether the section is a ruled table (found by its rules) rather than free-standing places."""
        return len(self.columns) >= 2 and len(self.rules) >= 2

    @model_validator(mode="after")
    def _rules_or_places(self) -> ExternalSection:
        if (len(self.columns) >= 2) != (len(self.rules) >= 2) or len(self.columns) == 1 or len(self.rules) == 1:
            raise ValueError("columns and rules: two or more of each (a ruled table), or neither")
        if self.marker == "cell" and not self.ruled:
            raise ValueError("marker 'cell' needs the table's ruling lines (columns and rules)")
        return self


class Anchor(_Strict):
    """A printed answer place seen on an existing form's blank, in a section or not: the form is found on a
    scan by all of them together (a page of another form with a few alike boxes does not match them all)."""

    x: float = Field(description="Centre, mm right of the origin.")
    y: float = Field(description="Centre, mm below the origin.")
    size: float = Field(gt=0, le=20, description="Outer size (the larger side), mm.")
    marker: Literal["square", "circle"] = Field(description="A printed □ or ○.")


class ExternalForm(_Strict):
    """Geometry of an existing paper form (no registration marks, no QR code), measured on a blank scan."""

    page_w_mm: float = Field(gt=0, le=1000, description="Width of the blank's page, mm.")
    page_h_mm: float = Field(gt=0, le=1000, description="Height of the blank's page, mm.")
    origin_x_mm: float = Field(description="Where the origin sat on the blank page: mm from its left edge.")
    origin_y_mm: float = Field(description="Where the origin sat on the blank page: mm from its top edge.")
    title_box: MmRect | None = Field(
        default=None, description="The printed title line, OCR'd to tell several external forms apart."
    )
    codes: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list,
        max_length=8,
        description="Texts of QR codes or barcodes printed alike on every copy of the form (read on the "
        "blank): a page carrying one of them is this form. Leave out a code that differs from copy to copy "
        "(a sheet number).",
    )
    sections: list[ExternalSection] = Field(
        min_length=1, max_length=EXTERNAL_SECTIONS, description="One per template section, in the same order."
    )
    anchors: list[Anchor] = Field(
        default_factory=list,
        max_length=1000,
        description="Every printed □ and ○ seen on the blank, in a section or not: a form without a ruled table "
        "is found on a scan by them (empty: by its sections' boxes).",
    )

    @property
    def ruled(self) -> bool:
        """Whether every section is a ruled table: the form is then found by its rules, else by its places."""
        return all(section.ruled for section in self.sections)


class Template(_Strict):
    """A printable ballot: one A4 sheet, fixed forever once printed (its hash is in every QR code)."""

    id: str = Field(pattern=TEMPLATE_ID_PATTERN, description="Short id, lowercase letters, digits and '-'.")
    title: str = Field(
        min_length=1,
        max_length=60,
        description="Printed title; '{period}' is replaced by the session, e.g. 2026年上半年.",
    )
    organisation: str | None = Field(default=None, max_length=40, description="Printed above the title.")
    instruction: str = Field(min_length=1, max_length=120, description="How to mark the ballot.")
    footer: str | None = Field(default=None, max_length=120, description="Small print at the bottom.")
    paper: Literal["A4"] = Field(default="A4", description="Paper size; A4 portrait only for now.")
    voter_category: VoterCategory | None = Field(default=None, description="Optional 测评人类别 question.")
    sections: list[Section] = Field(
        min_length=1,
        max_length=EXTERNAL_SECTIONS,
        description=f"The tables; at most {NATIVE_SECTIONS} on a ballot we print, {EXTERNAL_SECTIONS} on an "
        "existing form.",
    )
    source: Literal["native", "external"] = Field(
        default="native", description="'external' for forms built from a scan of an existing paper form."
    )
    external: ExternalForm | None = Field(
        default=None,
        description="Where everything sits on an existing form ('ballot template from-scan'); source: external only.",
    )

    @model_validator(mode="after")
    def _fits_a_printed_ballot(self) -> Template:
        if self.source == "external":
            return self
        if len(self.sections) > NATIVE_SECTIONS:
            raise ValueError(f"sections: at most {NATIVE_SECTIONS} on a ballot we print")
        for index, section in enumerate(self.sections):
            if len(section.rows) > NATIVE_ROWS:
                raise ValueError(f"sections.{index}.rows: at most {NATIVE_ROWS} on a ballot we print")
        return self

    @model_validator(mode="after")
    def _external_geometry_matches(self) -> Template:
        if self.external is None:
            return self
        if self.source != "external":
            raise ValueError("external: form geometry needs 'source: external'")
        if len(self.external.sections) != len(self.sections):
            raise ValueError(f"external.sections: {len(self.sections)} needed, one per section")
        for index, (section, place) in enumerate(zip(self.sections, self.external.sections, strict=True)):
            if len(place.rows) != len(section.rows):
                raise ValueError(f"external.sections.{index}.rows: {len(section.rows)} needed, one per row")
            for row_index, row in enumerate(place.rows):
                if len(row.boxes) != len(section.all_options):
                    raise ValueError(
                        f"external.sections.{index}.rows.{row_index}.boxes: {len(section.all_options)} needed, "
                        "one per option"
                    )
        return self

    @model_validator(mode="after")
    def _unique_row_names(self) -> Template:
        seen: set[str] = set()
        names = [CATEGORY_ROW] if self.voter_category else []
        names += [row.unit for section in self.sections for row in section.rows]
        for name in names:
            if name in seen:
                raise ValueError(f"row name {name!r} appears twice; every row needs its own name")
            seen.add(name)
        return self

    def content_hash(self) -> str:
        """Hex sha256 of the normalised template plus the layout version: stable across YAML formatting."""
        # Leaving out an absent 'external' keeps the hashes of templates printed before it existed; so does
        # leaving out fields added since (at their defaults) for forms made before them.
        fields = self.model_dump(mode="json", exclude={"external"} if self.external is None else None)
        if self.external is not None:
            external = fields["external"]
            for key in ("codes", "anchors"):
                if not external[key]:
                    del external[key]
            for row in (row for section in external["sections"] for row in section["rows"]):
                if not row["clear"]:
                    del row["clear"]
        canonical = json.dumps(
            {"layout_version": LAYOUT_VERSION, "template": fields},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def short_hash(self) -> str:
        """The 8 hex digits printed in the QR code."""
        return self.content_hash()[:8]


@dataclass(frozen=True)
class TemplateError:
    """One problem in a template file: where (a dotted path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path} → {self.message}"


class TemplateInvalid(Exception):  # noqa: N818 - an outcome a clerk sees, not a programming error name
    """Raised by :func:`load_template` with every problem found, for the CLI to print as a table."""

    def __init__(self, source: str, errors: list[TemplateError]) -> None:
        super().__init__(f"{source}: {len(errors)} problem(s)")
        self.source = source
        self.errors = errors

    def table(self) -> str:
        return "\n".join(f"  {error}" for error in self.errors)


def parse_template(data: object, source: str = "<template>") -> Template:
    """Validate already-parsed YAML/JSON data."""
    try:
        return Template.model_validate(data)
    except ValidationError as error:
        raise TemplateInvalid(source, _errors_from_validation(error)) from None


def load_template(path: Path) -> Template:
    """Read and validate a template file; every failure is a :class:`TemplateInvalid`."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateInvalid(source, [TemplateError("(file)", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateInvalid(source, [TemplateError("(file)", f"cannot read: {error}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(error, "problem", None) or str(error)
        raise TemplateInvalid(source, [TemplateError(where, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise TemplateInvalid(source, [TemplateError("(file)", "expected a mapping of template fields")])
    return parse_template(data, source)


def _errors_from_validation(error: ValidationError) -> list[TemplateError]:
    errors = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(template)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "missing":
            message = "required field is missing"
        # A model validator reports its own sub-path first ("rows.3.post: ...").
        inner = re.match(r"^([\w.]+): (.*)$", message)
        if inner and "." in inner.group(1):
            path = f"{path}.{inner.group(1)}" if path != "(template)" else inner.group(1)
            message = inner.group(2)
        errors.append(TemplateError(path, message))
    return errors


def period_label(session: str) -> str:
    """'2026H1' → '2026年上半年'; any other session name is printed as it is."""
    match = re.fullmatch(r"(\d{4})H([12])", session)
    if match is None:
        return session
    return f"{match.group(1)}年{'上' if match.group(2) == '1' else '下'}半年"


def normalise_session(session: str) -> str:
    """Session names are case-insensitive ('2026h1' is '2026H1'): the QR code carries them upper-case."""
    return session.strip().upper()


def validate_session(session: str) -> str | None:
    """Return an error message for a session name that cannot go into a QR code, else None."""
    if re.fullmatch(SESSION_PATTERN, session):
        return None
    return (
        f"session name {session!r} is not allowed: use 1–24 letters, digits or '-', starting with a letter "
        "or digit (for example 2026H1)"
    )


def json_schema() -> str:
    """The JSON Schema of the template format, as committed beside the templates."""
    return json.dumps(Template.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
