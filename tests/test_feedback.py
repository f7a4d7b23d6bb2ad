"""Feedback: comment cells measured (synthetic cells, then cells of real scanned pages), cut along their own
lines, collected per unit, and written as letters that name no sheet — text, images and metadata read back."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner

from pipeline.ballot.layout import Rect, compute_layout
from pipeline.ballot.payload import format_serial
from pipeline.ballot.template import CATEGORY_ROW, Template
from pipeline.cli import main
from pipeline.counting.feedback import INDEX_NAME, CommentSummary, letter_pdf, shuffled
from pipeline.counting.rules import load_rules
from pipeline.counting.tally import SessionFacts, tally_session
from pipeline.printing.render import render_ballots
from pipeline.reading.comments import (
    MARGIN_MM,
    PX_PER_MM,
    WRITTEN_MM2,
    comment_ink,
    cut_comment,
    is_written,
)
from pipeline.reading.ingest import pdf_bytes_pages
from pipeline.review.comments import collect_comments
from pipeline.simulation.degrade import degrade
from pipeline.simulation.simulate import Pen, draw_comment
from pipeline.store.database import open_store
from pipeline.store.records import HandRow
from tests.helpers import box, save_jpeg, tick
from tests.test_tally import TEMPLATE, complaint, make_ballots

SESSION = "2026H1"
SOURCE_DPI = 300.0
SOURCE_PX = SOURCE_DPI / 25.4
PEN = Pen(ink=60, width_mm=0.45)


# -- the measure, on synthetic cells ------------------------------------------------------------------------


def paper(height_mm: float = 9.0, width_mm: float = 70.0, grain: float = 0.0, seed: int = 1) -> np.ndarray:
    """A cell's interior: grey 220 paper with blotchy grain of standard deviation ``grain`` grey levels (noise
    correlated over ~1.5 px, as a phone photo's)."""
    rng = np.random.default_rng(seed)
    shape = (round(height_mm * PX_PER_MM), round(width_mm * PX_PER_MM))
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.5)
    return np.clip(220 + noise / max(float(noise.std()), 1e-6) * grain, 0, 255).astype(np.uint8)


def strokes(cell: np.ndarray, grey: int, starts: tuple[int, ...] = (40, 70, 100)) -> np.ndarray:
    for start in starts:  # short strokes of a ballpoint, ~5 mm each
        cv2.line(cell, (start, 15), (start + 20, 40), grey, 3, cv2.LINE_AA)
    return cell


def test_blank_paper_and_grain_hold_no_ink() -> None:
    assert comment_ink(paper()).ink_mm2 == 0
    for seed in range(4):
        grainy = comment_ink(paper(grain=12, seed=seed))
        assert not is_written(grainy) and grainy.ink_level > 0.09  # the level rose with the noise
        faint = comment_ink(strokes(paper(grain=12, seed=seed), grey=165))  # pencil, 25 % darker than the paper
        assert faint.strokes >= 3 and faint.ink_mm2 > 3 * WRITTEN_MM2  # grain beside them may join in


def test_a_few_written_strokes_are_writing() -> None:
    ink = comment_ink(strokes(paper(), grey=60))
    assert ink.strokes == 3 and is_written(ink)
    # Three cores of 5.3 mm × ~0.8 mm (the 0.5 mm line as the smoothing leaves it), not the halo around them.
    assert 10.0 < ink.ink_mm2 < 16.0
    # The line lies at about one dark stroke 2 mm long: a pen put down and lifted (1 mm) is not writing.
    touch, flick = paper(), paper()
    cv2.line(touch, (40, 20), (45, 23), 60, 3, cv2.LINE_AA)
    cv2.line(flick, (40, 20), (52, 28), 60, 3, cv2.LINE_AA)
    assert not is_written(comment_ink(touch)) and is_written(comment_ink(flick))


def test_dust_blots_and_straight_lines_are_not_writing() -> None:
    cell = paper()
    for x in range(30, 400, 45):  # dust: round blots 1.3 mm across, darker than any pen
        cv2.circle(cell, (x, 10 + x % 17), 4, 20, -1)
    cv2.line(cell, (0, 42), (cell.shape[1] - 1, 44), 60, 2)  # a fold across the cell (below the dust)
    cv2.line(cell, (210, 0), (210, cell.shape[0] - 1), 40, 2)  # a scanner streak down it
    ink = comment_ink(cell)
    assert ink.ink_mm2 == 0, ink
    cv2.line(cell, (300, 10), (330, 45), 80, 3, cv2.LINE_AA)  # and a written stroke beside them still counts
    cv2.line(cell, (340, 10), (370, 45), 80, 3, cv2.LINE_AA)
    assert is_written(comment_ink(cell))


def ruled_page(rect: Rect, shift_mm: float, bend_mm: float, *, written: bool = True) -> np.ndarray:
    """A white upright page with the cell's four ruling lines moved down by ``shift_mm`` and bent by up to
    ``bend_mm`` more at the cell's right end (a curled photo), and a word written inside the moved cell."""
    height, width = round(120 * PX_PER_MM), round(210 * PX_PER_MM)
    page = np.full((height, width), 240, np.uint8)
    xs = np.arange(width)
    for y_mm in (rect.y, rect.y + rect.h, rect.y + 2 * rect.h):  # the row's lines and the next row's
        share = np.clip((xs / PX_PER_MM - rect.x) / rect.w, 0, 1)
        ys = (y_mm + shift_mm + bend_mm * share**2) * PX_PER_MM
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(page, [points], False, 30, 2)
    for x_mm in (rect.x, rect.x + rect.w):
        x = round(x_mm * PX_PER_MM)
        cv2.line(page, (x, 0), (x, height - 1), 30, 2)
    y = round((rect.y + shift_mm + rect.h / 2) * PX_PER_MM)
    starts = range(round((rect.x + 10) * PX_PER_MM), round((rect.x + 30) * PX_PER_MM), 30) if written else ()
    for start in starts:
        cv2.line(page, (start, y - 12), (start + 18, y + 12), 60, 3, cv2.LINE_AA)
    return page


def test_the_cell_is_cut_where_its_lines_are() -> None:
    rect = Rect(110.0, 40.0, 78.0, 11.0)
    page = ruled_page(rect, shift_mm=2.0, bend_mm=2.5)
    cell = cut_comment(page, rect)
    assert cell.ink.lines_found == 4 and is_written(cell.ink)
    margin = round(MARGIN_MM * PX_PER_MM)
    rows = cell.pixels.mean(axis=1)
    # The top and bottom lines lie MARGIN_MM inside the cut all along (bent or not): dark rows there, and
    # none of the next row's line inside.
    for line in (margin, cell.pixels.shape[0] - 1 - margin):
        assert rows[line - 1 : line + 2].min() < 150
    inside = cell.pixels[margin + 4 : -margin - 4]
    assert (inside.mean(axis=1) > 200).all()
    # Without the writing, the bent lines leave nothing inside the cut.
    empty = cut_comment(ruled_page(rect, shift_mm=2.0, bend_mm=2.5, written=False), rect)
    assert empty.ink.lines_found == 4 and empty.ink.ink_mm2 == 0


def test_shuffled_order_is_drawn_afresh() -> None:
    cells = [np.full((3, 3), value, np.uint8) for value in range(8)]
    orders = {tuple(int(cell[0, 0]) for cell in shuffled(cells)) for _ in range(10)}
    assert len(orders) > 1  # 8! orders: ten equal draws would happen once in ~10^40
    assert all(sorted(order) == list(range(8)) for order in orders)


# -- real scanned pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commented:
    db: Path
    serials: list[str]
    files: list[str]


def _cell_px(template: Template, unit: str) -> tuple[float, float, float, float]:
    place = next(place for place in compute_layout(template).rows if place.unit == unit)
    assert place.comment is not None
    rect = place.comment
    return (rect.x * SOURCE_PX, rect.y * SOURCE_PX, rect.w * SOURCE_PX, rect.h * SOURCE_PX)


@pytest.fixture(scope="module")
def commented(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Commented:
    """Three ballots ticked 满意 on every row, scanned like an office scanner (300 dpi source, JPEG):
    sheet 1 has a comment for 局机关 only; sheet 2 none, but a streak down 图书馆's cell and dust in 博物馆's;
    sheet 3 comments for 博物馆 and 局机关 and is voided by a clerk (a name written on it)."""
    folder = tmp_path_factory.mktemp("comments")
    db = folder / "ballots.db"
    store = open_store(db)
    serials = store.issue_serials(SESSION, template, 3, "comments.pdf", draw=random.Random(0))
    store.close()
    render_ballots(template, SESSION, serials, folder / "comments.pdf")
    layout = compute_layout(template)
    pages = pdf_bytes_pages((folder / "comments.pdf").read_bytes(), SOURCE_DPI)
    rng = np.random.default_rng(21)
    for page in pages:
        for place in layout.rows:
            option = "基层代表" if place.unit == CATEGORY_ROW else "满意"
            tick(page, box(layout, place.unit, option), px=SOURCE_PX)
    draw_comment(pages[0], _cell_px(template, "局机关"), rng, SOURCE_PX, PEN)
    x, y, w, h = _cell_px(template, "图书馆")
    cv2.line(pages[1], (int(x + w * 0.4), int(y - 20)), (int(x + w * 0.4), int(y + h + 20)), 50, 3)
    x, y, w, h = _cell_px(template, "博物馆")
    for k in range(6):
        cv2.circle(pages[1], (int(x + w * (0.1 + 0.15 * k)), int(y + h * (0.3 + 0.08 * k))), 5, 30, -1)
    draw_comment(pages[2], _cell_px(template, "博物馆"), rng, SOURCE_PX, PEN)
    draw_comment(pages[2], _cell_px(template, "局机关"), rng, SOURCE_PX, PEN)
    scans = folder / "scans"
    scans.mkdir()
    files = []
    for index, page in enumerate(pages):
        scanned, _ = degrade(page, "office", np.random.default_rng(100 + index))
        files.append(save_jpeg(scanned, scans / f"sheet-{index + 1}.jpg").name)
    result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db)])
    assert result.exit_code == 0, result.output
    store = open_store(db)
    voided = next(p for p, s in store.db.execute("SELECT id, serial FROM pages") if s == serials[2])
    store.decide_page(SESSION, int(voided), "void", "张三", 0, note="署名")
    store.close()
    return Commented(db, serials, files)


def test_written_and_empty_cells_on_scanned_pages(commented: Commented) -> None:
    store = open_store(commented.db)
    collected = collect_comments(store, SESSION)
    assert {unit: len(cells) for unit, cells in collected.by_unit.items()} == {"局机关": 1}
    assert collected.summary == CommentSummary(sheets=2, empty=19, on_paper=0, voided=1, has_cells=True)
    # The measures behind it, cell by cell, on the first two sheets as the review page shows them.
    from pipeline.review.views import Layouts, shown_page

    layouts = Layouts(store)
    measured: dict[tuple[str, str], float] = {}
    for page_id, digest in store.comment_sources(SESSION).pages:
        serial = store.db.execute("SELECT serial FROM pages WHERE id = ?", (page_id,)).fetchone()[0]
        page = shown_page(store.page_image(page_id), layouts)  # type: ignore[arg-type]
        for place in layouts.get(digest).rows:
            if place.comment is not None:
                measured[(serial, place.unit)] = cut_comment(page, place.comment).ink.ink_mm2
    first, second = commented.serials[:2]
    assert measured[(first, "局机关")] > 3 * WRITTEN_MM2
    assert max(ink for (serial, unit), ink in measured.items() if (serial, unit) != (first, "局机关")) < WRITTEN_MM2
    assert measured[(second, "图书馆")] == 0 and measured[(second, "博物馆")] == 0  # streak, dust


def pdf_text(path: Path) -> str:
    """Every page's text, lines joined without breaks (a sentence may wrap anywhere)."""
    document = pdfium.PdfDocument(path)
    text = "".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
    return text.replace("\r", "").replace("\n", "")


def image_count(path: Path) -> int:
    document = pdfium.PdfDocument(path)
    return sum(
        1
        for index in range(len(document))
        for item in document[index].get_objects()
        if item.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
    )


def test_feedback_command_writes_anonymous_letters(commented: Commented, tmp_path: Path) -> None:
    out = tmp_path / "反馈"
    result = CliRunner().invoke(
        main, ["feedback", "--session", SESSION, "-o", str(out), "--db", str(commented.db), "--draft"]
    )
    assert result.exit_code == 0, result.output
    assert "局机关：1 条" in result.output and "经复核作废的测评票 1 张" in result.output
    letters = sorted(out.glob("*.pdf"))
    assert letters[0].name == INDEX_NAME and [p.name for p in letters[1:3]] == ["01-局机关.pdf", "02-文化馆.pdf"]
    assert len(letters) == 11
    office = out / "01-局机关.pdf"
    text = pdf_text(office)
    assert "单位：局机关" in text and "书写意见建议1条" in text and "备注" not in text
    assert image_count(office) == 1 and image_count(out / "04-博物馆.pdf") == 0  # 博物馆's came from a voided sheet
    assert "没有对你单位书写意见建议" in pdf_text(out / "04-博物馆.pdf")
    assert "草稿（待复核）" in text
    index = pdf_text(out / INDEX_NAME)
    assert "空白的19栏未反馈" in index and "经复核作废的测评票1张" in index
    page_ids = [row[0] for row in open_store(commented.db).db.execute("SELECT id FROM pages")]
    forbidden = [*commented.serials, *map(format_serial, commented.serials), *commented.files, "sheet-", ".jpg"]
    forbidden += [f"page-{page_id}" for page_id in page_ids] + [f"/page/{page_id}" for page_id in page_ids]
    for letter in letters:
        document = pdfium.PdfDocument(letter)
        metadata = {key: value for key, value in document.get_metadata_dict().items() if value}
        assert set(metadata) <= {"Title", "Creator", "CreationDate"}, metadata
        raw = letter.read_bytes()
        for word in forbidden:
            for where in (pdf_text(letter), " ".join(metadata.values())):
                assert word not in where, (letter.name, word)
            assert word.encode() not in raw


def test_letter_images_are_the_cells_themselves(commented: Commented, tmp_path: Path) -> None:
    """The letter shows the handwriting as cut: rendered back, the picture is the cell, dark where written."""
    cells = collect_comments(open_store(commented.db), SESSION).by_unit["局机关"]
    units = ("局机关", "文化馆", "图书馆", "博物馆")
    ballots = make_ballots({unit: "S" for unit in units})
    result = tally_session(TEMPLATE, ballots, load_rules(), SessionFacts(SESSION), (complaint("局机关"),))
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter_pdf(result, result.units[0], cells))
    assert "备注：投诉查实（投诉〔2026〕1号，局纪委，2026-05-12）。" in pdf_text(path)  # why it is 不满意
    page = pdfium.PdfDocument(path)[0]
    scale = 200 / 72
    rendered = np.asarray(page.render(scale=scale, grayscale=True).to_pil().convert("L"))
    (image,) = [item for item in page.get_objects() if item.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    left, bottom, right, top = image.get_bounds()
    height = rendered.shape[0]
    shown = rendered[
        round(height - top * scale) : round(height - bottom * scale), round(left * scale) : round(right * scale)
    ]
    original = cv2.resize(cells[0], (shown.shape[1], shown.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.corrcoef(shown.astype(float).ravel(), original.astype(float).ravel())[0, 1] > 0.9
    assert (shown < 128).mean() > 0.005  # the handwriting is there, dark


def test_sheets_counted_by_hand_or_voided_are_sent_to_the_paper(review_batch: Any, tmp_path: Path) -> None:
    """A rejected page counted by hand has no aligned image to cut cells from: the index counts it for the clerk;
    a voided sheet (a name written on it) is counted apart and its cells are not passed on."""
    store = open_store(review_batch.fresh_db(tmp_path))
    pages = {Path(source).name: page_id for page_id, source in
             store.db.execute("SELECT p.id, f.path FROM pages p JOIN files f ON f.id = p.file_id")}  # fmt: skip
    covered, signed = pages["04-corners-covered.jpg"], pages["07-signed.jpg"]
    template = store.session_templates(SESSION)[0]
    rows = [HandRow(place.unit, "blank") for place in compute_layout(template).rows]
    store.decide_page(SESSION, covered, "count", "张三", 0, template_hash=template.content_hash(), rows=rows)
    store.decide_page(SESSION, signed, "void", "张三", 0, note="署名")
    sources = store.comment_sources(SESSION)
    assert (sources.by_hand, sources.voided) == (1, 1)
    assert covered not in dict(sources.pages) and signed not in dict(sources.pages)
    summary = collect_comments(store, SESSION).summary
    assert (summary.on_paper, summary.voided, summary.sheets) == (1, 1, len(sources.pages))
