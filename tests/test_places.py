"""Answer places anywhere (issue 20): printed □ and ○ found on drawn pages, grouped into rows and columns.

Units on small drawn arrays (8 px/mm, no OCR): what is a place and what is not, hidden places under marks,
rows cut apart, blocks of alike columns, clearance round a box.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.forms.grid import find_blocks
from pipeline.forms.places import clearance, find_places, ink_map

PX = 8.0  # px per mm
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _page(width_mm: float = 200.0, height_mm: float = 120.0) -> np.ndarray:  # type: ignore[type-arg]
    return np.full((round(height_mm * PX), round(width_mm * PX)), 255, np.uint8)


def _square(page: np.ndarray, x_mm: float, y_mm: float, side_mm: float = 4.0, grey: int = 0) -> None:  # type: ignore[type-arg]
    x, y, side = round(x_mm * PX), round(y_mm * PX), round(side_mm * PX)
    cv2.rectangle(page, (x, y), (x + side, y + side), grey, 1)


def _circle(page: np.ndarray, x_mm: float, y_mm: float, diameter_mm: float = 3.0) -> None:  # type: ignore[type-arg]
    cv2.circle(page, (round(x_mm * PX), round(y_mm * PX)), round(diameter_mm * PX / 2), 0, 2)


def _blocks(page: np.ndarray) -> list[list[int]]:  # type: ignore[type-arg]
    """Rows × columns of each block found."""
    ink = ink_map(page, PX)
    return [[len(block.rows), len(block.rows[0])] for block in find_blocks(find_places(ink, PX), ink, PX)]


def test_a_grid_of_squares_is_one_block_and_a_cross_hides_no_place() -> None:
    page = _page()
    for row in range(4):
        for column in range(5):
            _square(page, 80 + 15 * column, 20 + 12 * row)
    # A voter's cross over one box splits its inside: the box is still found, by its outline.
    cv2.line(page, (round(110 * PX), round(44 * PX)), (round(115 * PX), round(49 * PX)), 0, 3)
    cv2.line(page, (round(115 * PX), round(44 * PX)), (round(110 * PX), round(49 * PX)), 0, 3)
    ink = ink_map(page, PX)
    assert len(find_places(ink, PX)) == 19
    (block,) = find_blocks(find_places(ink, PX), ink, PX)
    assert (len(block.rows), len(block.rows[0]), block.hidden) == (4, 5, 1)
    assert [round(x / PX) for x in block.columns] == [82, 97, 112, 127, 142]


def test_boxes_joined_by_a_rule_and_faint_grey_boxes_are_places() -> None:
    page = _page()
    for column in range(5):  # a Likert line: □—□—□—□—□
        _square(page, 40 + 12 * column, 30)
        if column:
            cv2.line(
                page,
                (round((32 + 12 * column) * PX), round(32 * PX)),
                (round((40 + 12 * column) * PX), round(32 * PX)),
                0,
                1,
            )
    for column in range(4):  # light grey print (a half-tone □ at 40 % black)
        _square(page, 40 + 12 * column, 60, grey=190)
    assert _blocks(page) == [[1, 5], [1, 4]]


def test_bubbles_stand_alone_and_letters_in_words_do_not() -> None:
    page = _page()
    for column in range(4):
        _circle(page, 60 + 20 * column, 30)
    # "o" in a word: round holes of the same size, but with their word beside them.
    cv2.putText(page, "ooooo", (round(60 * PX), round(70 * PX)), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2)
    kinds = [place.kind for place in find_places(ink_map(page, PX), PX)]
    assert kinds == ["circle"] * 4


def test_cjk_characters_with_a_box_inside_are_no_places() -> None:
    """口 is a hollow square too, but drawn with a thick stroke: only the □ glyphs are answer places."""
    image = Image.fromarray(_page())
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, round(4.2 * PX), index=2)
    draw.text((10 * PX, 20 * PX), "1. 窗口服务中心  □满意  □基本满意  □不满意", font=font, fill=0)
    draw.text((10 * PX, 35 * PX), "2. 回民街道口    □满意  □基本满意  □不满意", font=font, fill=0)
    page = np.asarray(image, dtype=np.uint8)
    ink = ink_map(page, PX)
    places = find_places(ink, PX)
    assert len(places) == 6
    # Inline boxes move with their label's length: each row is a block of its own (named alike, the form scan
    # makes them one section).
    assert [[len(block.rows), len(block.rows[0])] for block in find_blocks(places, ink, PX)] == [[1, 3], [1, 3]]


def test_rows_are_cut_where_a_gap_is_far_wider_and_lone_boxes_are_no_rows() -> None:
    page = _page()
    for column in range(4):  # two tables of four side by side, at the same height
        _square(page, 20 + 8 * column, 30)
        _square(page, 120 + 8 * column, 30)
    _square(page, 20, 60)  # a lone yes/no box
    assert _blocks(page) == [[1, 4], [1, 4]]


def test_a_slightly_turned_row_stays_one_row() -> None:
    page = _page()
    for row in range(3):
        for column in range(6):
            _square(page, 30 + 25 * column, 20 + 15 * row + 0.04 * 25 * column)  # 2.3° turned, not deskewed
    assert _blocks(page) == [[3, 6]]


def test_clearance_stops_at_the_option_text_and_the_next_box() -> None:
    image = Image.fromarray(_page())
    ImageDraw.Draw(image).text(
        (56 * PX, 28.5 * PX), "满意", font=ImageFont.truetype(FONT, round(4 * PX), index=2), fill=0
    )
    page = np.array(image, dtype=np.uint8)
    _square(page, 50, 30)
    _square(page, 50, 38)  # the next option below, 4 mm down
    ink = ink_map(page, PX)
    first, second = sorted(find_places(ink, PX), key=lambda place: place.centre[1])
    clear = clearance(ink, first, [second], PX)
    right, down, left = clear[0] / PX, clear[4] / PX, clear[8] / PX
    assert right == pytest.approx(1.5, abs=0.6)  # the text starts 2 mm right of the box, grown 0.3 mm
    assert down == pytest.approx(3.7, abs=0.6)
    assert left == pytest.approx(5.0)  # paper as far as it is measured
