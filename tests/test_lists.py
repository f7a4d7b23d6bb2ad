"""Vertical lists (issue 20): one question whose options stand one under another, each ○ with its text beside it.

Small drawn pages (300 dpi, rendered text, English OCR) through ``scan_blank``: a lone list is one question with
its options, two lists side by side are two questions (not rows across), rows of one question list that repeat
their option words stay rows, a grid of options under one question is reported, not read.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.forms.ocr import find_tessdata
from pipeline.forms.proposal import scan_blank
from pipeline.forms.proposed import FormNotFound, FormProposal
from pipeline.reading.ingest import ScanPage

DPI = 300.0
PX = DPI / 25.4
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _has_english() -> bool:
    try:
        find_tessdata("eng")
    except Exception:  # noqa: BLE001 - any failure to find it means the tests cannot OCR
        return False
    return True


pytestmark = pytest.mark.skipif(not _has_english(), reason="Tesseract's English data is not installed")

Drawing = tuple[Image.Image, ImageDraw.ImageDraw, ImageFont.FreeTypeFont]


def _page(width_mm: float = 170.0, height_mm: float = 160.0) -> Drawing:
    image = Image.new("L", (round(width_mm * PX), round(height_mm * PX)), 255)
    return image, ImageDraw.Draw(image), ImageFont.truetype(FONT, round(3.6 * PX), index=2)


def _text(drawing: Drawing, x_mm: float, y_mm: float, text: str) -> None:
    """``text`` with its middle at y_mm, starting at x_mm."""
    _, draw, font = drawing
    draw.text((x_mm * PX, y_mm * PX), text, font=font, fill=0, anchor="lm")


def _bubble(drawing: Drawing, x_mm: float, y_mm: float) -> None:
    _, draw, _ = drawing
    r = 1.5 * PX
    draw.ellipse((x_mm * PX - r, y_mm * PX - r, x_mm * PX + r, y_mm * PX + r), outline=0, width=3)


def _list(drawing: Drawing, x_mm: float, y_mm: float, question: str, options: list[str], bubble_mm: float) -> None:
    """A question and its options one under another, each option's text left of its bubble."""
    _text(drawing, x_mm - 4, y_mm, question)
    for index, option in enumerate(options):
        y = y_mm + 8 + 8 * index
        _text(drawing, x_mm, y, option)
        _bubble(drawing, x_mm + bubble_mm, y)


def _scan(drawing: Drawing) -> FormProposal | FormNotFound:
    image = np.asarray(drawing[0], dtype=np.uint8)
    image = cv2.GaussianBlur(image, (3, 3), 0)  # a scanner's blur
    return scan_blank(ScanPage("drawn.png", 1, image, DPI), lang="eng")


def _questions(proposal: FormProposal | FormNotFound) -> list[tuple[list[str], list[str]]]:
    """Per section, its rows' labels (OCR may leave out a question mark) and its options."""
    assert isinstance(proposal, FormProposal), proposal
    return [([row.label.text.rstrip("?") for row in s.rows], [o.word for o in s.options]) for s in proposal.sections]


AGES = ["Under 25", "25-29", "30-39", "40-49", "60 or more"]
MEALS = ["Never", "Once a week", "Twice a week", "Every day"]


def test_a_lone_vertical_list_is_one_question_with_its_options() -> None:
    drawing = _page()
    _list(drawing, 20, 30, "2. How old are you?", AGES, 40)
    proposal = _scan(drawing)
    questions = _questions(proposal)
    assert len(questions) == 1
    labels, options = questions[0]
    assert labels == ["How old are you"]
    assert options == AGES
    assert isinstance(proposal, FormProposal)
    boxes = proposal.sections[0].rows[0].boxes
    assert [round(box[0]) for box in boxes] == [round(boxes[0][0])] * 5  # one column, top to bottom
    assert [box[1] for box in boxes] == sorted(box[1] for box in boxes)


def test_two_lists_side_by_side_are_two_questions_not_rows_across() -> None:
    drawing = _page()
    _list(drawing, 20, 30, "2. How old are you?", AGES, 40)
    _list(drawing, 90, 30, "3. How often do you eat out?", MEALS, 45)
    questions = _questions(_scan(drawing))
    assert questions == [(["How old are you"], AGES), (["How often do you eat out"], MEALS)]


def test_a_list_of_more_than_seven_options_is_reported_not_read() -> None:
    drawing = _page(height_mm=200.0)
    _list(drawing, 20, 30, "How many?", ["None", "One", "Two", "Three", "Four", "Five", "Six", "Seven"], 40)
    proposal = _scan(drawing)
    assert isinstance(proposal, FormNotFound)
    assert any("a list of 8 options" in note for note in proposal.notes), proposal.notes


def test_option_text_before_each_place_on_one_line_names_its_options() -> None:
    drawing = _page()
    _text(drawing, 15, 30, "1. Are you female or male?")
    _text(drawing, 90, 30, "Female")
    _bubble(drawing, 110, 30)
    _text(drawing, 125, 30, "Male")
    _bubble(drawing, 140, 30)
    questions = _questions(_scan(drawing))
    assert questions == [(["Are you female or male"], ["Female", "Male"])]


def test_rows_repeating_their_option_words_stay_rows() -> None:
    """Yes ○ No ○ on every row: one question list read across, not two lists down."""
    drawing = _page()
    _text(drawing, 15, 20, "Do you use these services?")
    for index, service in enumerate(["Library", "Canteen", "Parking"]):
        y = 30 + 9 * index
        _text(drawing, 15, y, service)
        _text(drawing, 80, y, "Yes")
        _bubble(drawing, 95, y)
        _text(drawing, 110, y, "No")
        _bubble(drawing, 125, y)
    questions = _questions(_scan(drawing))
    assert questions == [(["Library", "Canteen", "Parking"], ["Yes", "No"])]


def test_a_grid_of_options_under_one_question_is_reported_not_read() -> None:
    """Which sources do you use? Newspapers ○ TV ○ Radio ○ / Magazines ○ Internet ○ Books ○: multiple
    choice, no row of it is a question."""
    drawing = _page()
    _text(drawing, 15, 20, "5. Which of the following sources of information do you use?")
    for row, names in enumerate([["Newspapers", "TV", "Radio"], ["Magazines", "Internet", "Books"]]):
        for column, name in enumerate(names):
            _text(drawing, 20 + 50 * column, 32 + 9 * row, name)
            _bubble(drawing, 50 + 50 * column, 32 + 9 * row)
    proposal = _scan(drawing)
    assert isinstance(proposal, FormNotFound)
    assert any("multiple-choice grid" in note for note in proposal.notes), proposal.notes
