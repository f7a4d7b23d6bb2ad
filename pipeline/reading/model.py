"""What the reader knows of a printed template: its layout and its blank page, rendered once.

Every stage that compares a scan with what was printed derives its own data from the blank (refine the box
outlines, check the table's rules, score each box's masks) through :meth:`BallotModel.derived`, computed once
per template and process. The model imports no stage: stages depend on it, never the other way.

The blank is rendered by :mod:`pipeline.printing.render`, the printer's own code, at :data:`BLANK_PX_PER_MM`
(about a second, for the CJK font); a scan passes the rendering kept in its store instead
(:func:`provide_blank`), and worker processes inherit models built before they fork.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar, cast

import cv2
import numpy as np

from pipeline.ballot.layout import Layout, compute_layout
from pipeline.ballot.template import Template, parse_template
from pipeline.common.imaging import MM_PER_INCH, Gray
from pipeline.reading.ingest import pdf_bytes_pages

BLANK_PX_PER_MM = 8.0  # the scorer's patch resolution (≈ 203 dpi): every derived mask is cut at it
T = TypeVar("T")


class BallotModel:
    """A template, its layout, and its blank page's grey levels at BLANK_PX_PER_MM."""

    def __init__(self, template: Template, layout: Layout, blank: Gray) -> None:
        self.template = template
        self.layout = layout
        self.blank = blank
        self._derived: dict[str, object] = {}

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """What a stage derives from this model, built on first use and kept (one ``name`` per stage)."""
        if name not in self._derived:
            self._derived[name] = build()
        return cast(T, self._derived[name])


@lru_cache(maxsize=8)
def _cached_model(template_json: str) -> BallotModel:
    template = parse_template(json.loads(template_json))
    return BallotModel(template, compute_layout(template), _render_blank(template))


def ballot_model(template: Template) -> BallotModel:
    """The reader's model of ``template``, built once per process."""
    return _cached_model(template.model_dump_json())


def _render_blank(template: Template) -> Gray:
    known = _BLANKS.get(template.content_hash())
    if known is not None:
        return known
    return blank_from_png(render_blank_png(template))


#: Blank renderings handed over by :func:`provide_blank` (a scan passes them from its store's cache; forked
#: workers inherit them), by template hash.
_BLANKS: dict[str, Gray] = {}


def render_blank_png(template: Template) -> bytes:
    """The blank template rendered at BLANK_PX_PER_MM, as a PNG (about a second: fpdf2 loads the CJK font)."""
    from pipeline.printing.render import render_pdf_bytes

    pdf = render_pdf_bytes(template, "2026H1", ["0000000000"])
    page = pdf_bytes_pages(pdf, BLANK_PX_PER_MM * MM_PER_INCH)[0]
    ok, encoded = cv2.imencode(".png", page)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()


def blank_from_png(png: bytes) -> Gray:
    """The blank page's grey levels."""
    page = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if page is None:
        raise ValueError("the stored blank template is not a PNG image")
    return np.asarray(page, dtype=np.uint8)


def provide_blank(template: Template, png: bytes) -> None:
    """Use ``png`` (from :func:`render_blank_png`, kept in the store) instead of rendering ``template``."""
    _BLANKS[template.content_hash()] = blank_from_png(png)
