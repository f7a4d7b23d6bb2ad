"""Foreign print: another sheet's table on an aligned page is found; streaks, folds and the scan's edge are not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.ballot.template import load_template
from pipeline.common.reasons import Why
from pipeline.reading.check import (
    LINES_PX_PER_MM,
    expected_rules_of,
    following_rows,
    foreign_rules,
    picture_edges,
    rules,
)
from pipeline.reading.ingest import Gray
from pipeline.reading.model import BallotModel, ballot_model
from pipeline.reading.score import PATCH_PX_PER_MM
from tests.helpers import moved_below, print_batch, see_through

PX_PER_MM = PATCH_PX_PER_MM  # the printed page is compared at the scorer's resolution here


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Gray, Gray, BallotModel]:
    template = load_template(Path("templates/shuangping.yaml"))
    batch = print_batch(tmp_path_factory.mktemp("foreign"), template, 2)
    first, second = batch.pages(PX_PER_MM * 25.4)
    return first, second, ballot_model(template)


def line(image: Gray, x_mm: float, *, top_mm: float = 0.0, bottom_mm: float = 297.0, grey: int = 90) -> None:
    """A vertical line across the upright page (a scanner streak, a fold, a rule)."""
    x = round(x_mm * PX_PER_MM)
    cv2.line(image, (x, round(top_mm * PX_PER_MM)), (x, round(bottom_mm * PX_PER_MM)), grey, 2)


def test_the_template_has_its_own_rules(printed: tuple[Gray, Gray, BallotModel]) -> None:
    first, _, model = printed
    found = rules(first, PX_PER_MM)
    assert (
        found.shape == expected_rules_of(model).shape == (2, round(297 * LINES_PX_PER_MM), round(210 * LINES_PX_PER_MM))
    )
    assert found[0].any() and found[1].any()  # the table's rows and columns
    assert foreign_rules(first, PX_PER_MM, expected_rules_of(model)) is None


@pytest.mark.parametrize(("dx_mm", "dy_mm"), [(25, 0), (0, -30), (12, 40), (-40, 20)])
def test_another_sheets_table_is_found(printed: tuple[Gray, Gray, BallotModel], dx_mm: float, dy_mm: float) -> None:
    first, second, model = printed
    reason = foreign_rules(see_through(first, second, dx_mm, dy_mm, PX_PER_MM), PX_PER_MM, expected_rules_of(model))
    assert reason is not None and reason.code == Why.FOREIGN_RULES


def test_streaks_folds_and_the_scans_edge_are_no_table(printed: tuple[Gray, Gray, BallotModel]) -> None:
    page = printed[0].copy()
    for x_mm in (70.0, 118.0, 160.0):  # three scanner streaks, the length of the page
        line(page, x_mm)
    line(page, 203.0, top_mm=20, bottom_mm=280, grey=40)  # a skewed scan's edge, near the border
    fold = round(148.5 * PX_PER_MM)
    cv2.line(page, (0, fold), (page.shape[1], fold), 120, 2)  # folded in half
    assert foreign_rules(page, PX_PER_MM, expected_rules_of(printed[2])) is None


def test_a_voters_single_stroke_is_no_table(printed: tuple[Gray, Gray, BallotModel]) -> None:
    page = printed[0].copy()
    line(page, 100.0, top_mm=60, bottom_mm=100, grey=30)  # one ruler-straight line through the table
    assert foreign_rules(page, PX_PER_MM, expected_rules_of(printed[2])) is None
    for x_mm in (40.0, 60.0):  # three such lines in the table are a table
        line(page, x_mm, top_mm=60, bottom_mm=100, grey=30)
    assert foreign_rules(page, PX_PER_MM, expected_rules_of(printed[2])) is not None
    assert np.all(expected_rules_of(printed[2]).sum(axis=(1, 2)) > 0)


@pytest.mark.parametrize("dpi", [130.0, 150.0, 200.0, 300.0])
def test_the_scan_reduced_for_rules_keeps_them(tmp_path: Path, dpi: float) -> None:
    """read_sheet looks for rules on the scan brought upright at LINES_PX_PER_MM straight from the scan's pixels:
    at any scan resolution as many rule pixels (within 2 %) as from the sheet brought upright at REVIEW_PX_PER_MM
    and reduced by area, as before (a 150-dpi scan resampled at 3 px/mm without smoothing lost a third of the
    vertical ones); one sheet fed upside down shows only its own rules, two sheets on one image a foreign table."""
    from pipeline.reading.check import coarse_upright
    from pipeline.reading.keep import REVIEW_PX_PER_MM, upright_page

    template = load_template(Path("templates/shuangping.yaml"))
    first, second = print_batch(tmp_path, template, 2).pages(dpi)
    px = dpi / 25.4
    height, width = first.shape
    # Fed upside down: page mm → image px, pixel centres at whole numbers.
    matrix = np.array([[-px, 0.0, width - 0.5], [0.0, -px, height - 0.5], [0.0, 0.0, 1.0]])
    expected = expected_rules_of(ballot_model(template))

    def upright(scan: Gray) -> Gray:
        return coarse_upright(np.rot90(scan, 2).copy(), matrix, 210.0, 297.0, LINES_PX_PER_MM, px)

    assert upright(first).shape == expected.shape[1:]
    assert foreign_rules(upright(first), LINES_PX_PER_MM, expected) is None
    fine = upright_page(np.rot90(first, 2).copy(), matrix, 210.0, 297.0, REVIEW_PX_PER_MM)
    found, before = rules(upright(first), LINES_PX_PER_MM), rules(fine, REVIEW_PX_PER_MM)
    assert np.all(found.sum(axis=(1, 2)) >= 0.98 * before.sum(axis=(1, 2)))
    reason = foreign_rules(upright(see_through(first, second, 12, 40, px)), LINES_PX_PER_MM, expected)
    assert reason is not None and reason.code == Why.FOREIGN_RULES


def test_the_sheets_own_rules_are_followed_where_its_rows_were_found_off_the_fit(
    printed: tuple[Gray, Gray, BallotModel],
) -> None:
    """A fax whose feed slipped: the table's lower rows lie 4 mm below where the page's fit puts them, and were found
    there (their box offsets). Their rules, 4 mm off the template's, looked like another sheet's table (tuning seed
    137, fine and standard fax page 13: refused `foreign_rules`); followed to where the rows were found, they are
    the sheet's own. Another sheet's table is still found on such a page."""
    first, second, model = printed
    rows = [row for row in model.layout.rows if len(row.boxes) == 3]
    moved = moved_below(first, rows[4].boxes[0].rect.y - 2.0, 4.0, PX_PER_MM)
    offsets = {(box.unit, box.option): (0.0, 4.0) for row in rows[4:] for box in row.boxes}
    expected = expected_rules_of(model)
    refused = foreign_rules(moved, PX_PER_MM, expected)
    assert refused is not None and refused.code == Why.FOREIGN_RULES  # on the fit alone
    assert foreign_rules(following_rows(moved, PX_PER_MM, offsets, model.layout), PX_PER_MM, expected) is None
    assert following_rows(moved, PX_PER_MM, {}, model.layout) is moved
    another = following_rows(see_through(moved, second, 12, 40, PX_PER_MM), PX_PER_MM, offsets, model.layout)
    reason = foreign_rules(another, PX_PER_MM, expected)
    assert reason is not None and reason.code == Why.FOREIGN_RULES


def test_the_sheets_own_rules_bent_off_their_place_at_the_tables_end_are_its_own(
    printed: tuple[Gray, Gray, BallotModel],
) -> None:
    """A photo of a curled sheet, or one a scanner app flattened from corners found a little off: the table's far
    end (its 意见建议 column) lies 3–3.6 mm above where the page's fit puts it, its rules bending there (simulated
    scanner-app photos, tuning seed 131: two pages refused `foreign_rules`). Each such piece runs on from a rule lying
    on its place: the sheet's own. Another sheet's table on such a page is still found."""
    first, second, model = printed
    height, width = first.shape
    xs = np.arange(width, dtype=np.float32) / PX_PER_MM
    lift = 3.6 * np.clip((xs - 40.0) / 150.0, 0.0, None) ** 2 * PX_PER_MM  # page px: a curl, 3.6 mm at the far end
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    bent = np.asarray(cv2.remap(first, map_x, map_y + lift[None, :], cv2.INTER_LINEAR, borderValue=255), np.uint8)
    bent = np.asarray(cv2.GaussianBlur(bent, (0, 0), 1.0), np.uint8)  # as soft as a photo
    expected = expected_rules_of(model)
    assert rules(bent, PX_PER_MM)[0].sum() > 0.9 * rules(first, PX_PER_MM)[0].sum()  # the rules are still lines
    assert foreign_rules(bent, PX_PER_MM, expected) is None
    reason = foreign_rules(see_through(bent, second, 12, 40, PX_PER_MM), PX_PER_MM, expected)
    assert reason is not None and reason.code == Why.FOREIGN_RULES


def test_the_pictures_own_edge_is_no_table(printed: tuple[Gray, Gray, BallotModel]) -> None:
    """A photo taken tight ends inside the sheet: beyond it the upright page is filled white, and the picture's edge
    against it, its paper darker in a phone's light, shows as pieces of rule along it (tuning seed 131, phone
    code-cut page 23: pieces at three places along a slanted edge, the page refused as `foreign_rules`). Within
    PICTURE_EDGE_MM of the picture's edge they are the picture's; another sheet's table inside it is still found."""
    first, second, model = printed
    turn = np.arctan(1 / 14)  # the picture's bottom edge runs up the sheet from 250 mm at its left to 235 at its right
    scale = 200 / 25.4
    cos, sin = np.cos(turn) * scale, np.sin(turn) * scale
    height = 2400
    matrix = np.array([[cos, -sin, 200.0], [sin, cos, height - 250.0 * cos], [0.0, 0.0, 1.0]])  # page mm → px
    page = first.copy()
    for left, right in ((10.0, 35.0), (79.0, 89.0), (108.0, 200.0)):  # the edge seen as a rule where it is
        xs = np.array([left, right, right, left])
        ys = 250.0 - xs / 14 - np.array([1.7, 1.7, 0.2, 0.2])
        band = np.stack([xs, ys], axis=1) * PX_PER_MM
        cv2.fillPoly(page, [np.round(band).astype(np.int32)], 110)
    for x in range(page.shape[1]):  # beyond the picture, white
        page[round((250.0 - x / PX_PER_MM / 14) * PX_PER_MM) :, x] = 255
    expected = expected_rules_of(model)
    assert foreign_rules(page, PX_PER_MM, expected) is not None  # what the check saw before it knew the edge
    beyond = picture_edges((height, 2000), matrix, expected.shape[1:], LINES_PX_PER_MM) > 0
    assert foreign_rules(page, PX_PER_MM, expected | beyond[None]) is None
    other = see_through(page, second, 25, 0, PX_PER_MM)
    assert foreign_rules(other, PX_PER_MM, expected | beyond[None]) is not None
