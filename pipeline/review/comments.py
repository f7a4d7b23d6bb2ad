"""Comments: every 意见建议 cell written on a session's counted sheets, cut from the stored pages, per unit.

Each read sheet a clerk did not void is brought upright as the review page shows it (:func:`.views.shown_page`),
each row's comment cell is cut out straight and measured (:func:`pipeline.reading.comments.cut_comment`), and
the cells with writing are kept under their unit; the empty ones are only counted. Nothing about where a cell
came from is kept with it: the feedback letters (:mod:`pipeline.counting.feedback`) must not be able to name
a sheet. Sheets counted by hand from a rejected page have no aligned image to cut from; they are counted so
that the index can send the clerk to the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.common.imaging import Gray
from pipeline.counting.feedback import CommentSummary
from pipeline.reading.comments import cut_comment, is_written
from pipeline.review.views import Layouts, shown_page
from pipeline.store.database import Store


@dataclass(frozen=True)
class CollectedComments:
    """Unit → the cells written for it (in page order: shuffle before showing them), and what was looked at."""

    by_unit: dict[str, list[Gray]] = field(default_factory=dict)
    summary: CommentSummary = field(default_factory=lambda: CommentSummary(0, 0, 0, 0))


def collect_comments(store: Store, session: str) -> CollectedComments:
    """Cut and sort every written comment cell of ``session`` (see the module doc)."""
    sources = store.comment_sources(session)
    layouts = Layouts(store)
    by_unit: dict[str, list[Gray]] = {}
    empty = sheets = without_image = 0
    for page_id, digest in sources.pages:
        places = [place for place in layouts.get(digest).rows if place.comment is not None]
        if not places:
            continue
        image = store.page_image(page_id)
        if image is None:  # every read sheet keeps one; should one not, its cells are read on paper
            without_image += 1
            continue
        sheets += 1
        page = shown_page(image, layouts)
        for place in places:
            assert place.comment is not None  # filtered above
            cell = cut_comment(page, place.comment)
            if is_written(cell.ink):
                by_unit.setdefault(place.unit, []).append(cell.pixels)
            else:
                empty += 1
    on_paper = sources.by_hand + without_image
    summary = CommentSummary(sheets, empty, on_paper, sources.voided, _prints_cells(store, session))
    return CollectedComments(by_unit, summary)


def _prints_cells(store: Store, session: str) -> bool:
    """Whether a template the session's sheets were printed or read by has comment cells."""
    from pipeline.ballot.layout import compute_layout

    templates = store.session_templates(session)
    return any(place.comment is not None for template in templates for place in compute_layout(template).rows)
