"""Printed PDFs: geometry matches the layout to 0.1 mm, QR codes decode, serials are random and recorded,
the Chinese font is embedded and its text extractable."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner

from pipeline.ballot.layout import BOX_LINE_WIDTH, compute_layout
from pipeline.ballot.payload import SERIAL_ALPHABET, SheetId, parse_payload
from pipeline.ballot.template import Template
from pipeline.cli import main
from pipeline.printing.render import render_ballots
from pipeline.store.database import Store, open_store
from tests.conftest import TEMPLATE_FILE

MM_PER_INCH = 25.4


def rasterize(pdf_path: Path, page: int, dpi: int) -> np.ndarray:
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        bitmap = document[page].render(scale=dpi / 72, grayscale=True)
        return np.array(bitmap.to_numpy()).reshape(bitmap.height, bitmap.width).copy()
    finally:
        document.close()


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory, template: Template) -> tuple[Path, list[str]]:
    from pipeline.store.database import open_store

    folder = tmp_path_factory.mktemp("print")
    store = open_store(folder / "db.sqlite")
    serials = store.issue_serials("2026H1", template, 3, "ballots.pdf")
    render_ballots(template, "2026H1", serials, folder / "ballots.pdf")
    store.close()
    return folder / "ballots.pdf", serials


def dark_component_bbox(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> tuple[float, float, float, float]:
    """Bounding box (px, page coordinates) of the largest dark component inside the window."""
    window = image[y0:y1, x0:x1]
    dark = (window < 128).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark)
    assert count > 1, "nothing printed where the layout says"
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = stats[largest, :4]
    return float(x0 + x), float(y0 + y), float(w), float(h)


def test_layout_json_matches_the_pdf(printed: tuple[Path, list[str]], runner: CliRunner) -> None:
    dpi = 300
    px = dpi / MM_PER_INCH
    result = runner.invoke(main, ["template", "layout", str(TEMPLATE_FILE), "--json"])
    assert result.exit_code == 0
    layout = json.loads(result.output)
    assert set(layout) == {"template", "hash", "page", "boxes", "registration", "qr"}
    assert layout["page"] == {"width_mm": 210.0, "height_mm": 297.0}
    image = rasterize(printed[0], 0, dpi)
    assert abs(image.shape[0] - 297 * px) <= 1 and abs(image.shape[1] - 210 * px) <= 1
    stroke = BOX_LINE_WIDTH
    for box in layout["boxes"]:
        assert box["w_mm"] >= 5 and box["h_mm"] >= 5
        margin = 1.5
        x, y, w, h = dark_component_bbox(
            image,
            int((box["x_mm"] - margin) * px),
            int((box["y_mm"] - margin) * px),
            int((box["x_mm"] + box["w_mm"] + margin) * px),
            int((box["y_mm"] + box["h_mm"] + margin) * px),
        )
        # The stroke is centred on the path: the outer edge lies half a stroke outside the layout rectangle.
        assert abs(x / px + stroke / 2 - box["x_mm"]) <= 0.1, box
        assert abs(y / px + stroke / 2 - box["y_mm"]) <= 0.1, box
        assert abs(w / px - stroke - box["w_mm"]) <= 0.1, box
        assert abs(h / px - stroke - box["h_mm"]) <= 0.1, box
    assert len(layout["registration"]) == 4
    for mark in layout["registration"]:
        x, y, w, h = dark_component_bbox(
            image,
            int((mark["x_mm"] - 2) * px),
            int((mark["y_mm"] - 2) * px),
            int((mark["x_mm"] + mark["w_mm"] + 2) * px),
            int((mark["y_mm"] + mark["h_mm"] + 2) * px),
        )
        assert abs(x / px - mark["x_mm"]) <= 0.1 and abs(y / px - mark["y_mm"]) <= 0.1
        assert abs(w / px - mark["w_mm"]) <= 0.1 and abs(h / px - mark["h_mm"]) <= 0.1
    qr = layout["qr"]
    assert qr["w_mm"] >= 18
    decoded = zxingcpp.read_barcodes(image)
    assert len(decoded) == 1
    position = decoded[0].position
    left = min(position.top_left.x, position.bottom_left.x) / px
    right = max(position.top_right.x, position.bottom_right.x) / px
    assert qr["x_mm"] < left < right < qr["x_mm"] + qr["w_mm"]


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_every_page_qr_decodes(printed: tuple[Path, list[str]], template: Template, dpi: int) -> None:
    pdf_path, serials = printed
    for page, serial in enumerate(serials):
        results = zxingcpp.read_barcodes(rasterize(pdf_path, page, dpi))
        assert len(results) == 1
        # The code names the serial alone (B2): a version 1 symbol, whose 21 modules fill the 22 mm place.
        assert parse_payload(results[0].text) == SheetId("", "", "", serial)
        assert results[0].extra["Version"] == "1"


def test_pdf_text_is_extractable_and_font_embedded(printed: tuple[Path, list[str]], template: Template) -> None:
    pdf_path = printed[0]
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        text = document[0].get_textpage().get_text_range().replace("\r", "").replace("\n", "")
    finally:
        document.close()
    for row in template.sections[0].rows:
        assert row.unit in text
    for heading in ("序号", "单位名称", "满意", "基本满意", "不满意", "2026年上半年"):
        assert heading in text
    raw = pdf_path.read_bytes()
    assert b"/FontFile3" in raw or b"/FontFile2" in raw, "the CJK font must be embedded"
    assert b"NotoSansCJK" in raw


def test_serials_are_unique_random_and_recorded(store: Store, template: Template) -> None:
    first = store.issue_serials("2026H1", template, 400, "a.pdf")
    second = store.issue_serials("2026H1", template, 400, "b.pdf")
    assert len(set(first)) == 400 and not set(first) & set(second), "a re-print must never reuse a serial"
    assert set(store.issued_serials("2026H1")) == set(first) | set(second)
    assert first != sorted(first), "print order must not follow serial order"
    characters = Counter("".join(first + second))
    assert set(characters) <= set(SERIAL_ALPHABET)
    # 8000 characters over 32 symbols: each appears about 250 times; a broken generator would skew this.
    assert len(characters) == 32 and min(characters.values()) > 150 and max(characters.values()) < 360
    assert not store.serial_issued("2026H2", first[0])


def test_a_benchmark_batch_drawn_from_a_seed_comes_out_the_same_every_time(tmp_path: Path, template: Template) -> None:
    """Benchmarks compare two versions of the reader on the very same sheets: serials drawn from a seeded
    generator are the same, in the same shuffled order, in every fresh store; without one they never are."""
    batches = []
    for name in ("a", "b", "c"):
        store = open_store(tmp_path / f"{name}.db")
        draw = random.Random(7) if name != "c" else None
        batches.append(store.issue_serials("2026H1", template, 30, "x.pdf", draw=draw))
        store.close()
    assert batches[0] == batches[1] and batches[0] != sorted(batches[0])
    assert not set(batches[2]) & set(batches[0])


def test_serial_table_keeps_no_print_order(store: Store, template: Template) -> None:
    store.issue_serials("2026H1", template, 20, "a.pdf")
    sql = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'serials'").fetchone()[0]
    assert "WITHOUT ROWID" in sql


def test_cli_print_writes_n_pages(tmp_path: Path, runner: CliRunner) -> None:
    out, db = tmp_path / "out.pdf", tmp_path / "b.db"
    result = runner.invoke(
        main,
        [
            "print",
            str(TEMPLATE_FILE),
            "--session",
            "2026h1",
            "--copies",
            "4",
            "-o",
            str(out),
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    document = pdfium.PdfDocument(str(out))
    assert len(document) == 4
    document.close()
    from pipeline.store.database import open_store

    with_store = open_store(db)
    assert len(with_store.issued_serials("2026H1")) == 4
    with_store.close()


def test_cli_print_rejects_odd_session(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "print",
            str(TEMPLATE_FILE),
            "--session",
            "2026 上半年",
            "--copies",
            "1",
            "-o",
            str(tmp_path / "x.pdf"),
        ],
    )
    assert result.exit_code == 64 and "is not allowed" in result.output  # a usage error, not "needs attention"
    assert not (tmp_path / "x.pdf").exists()


def test_layout_is_deterministic(template: Template) -> None:
    assert compute_layout(template) == compute_layout(template)
    boxes = compute_layout(template).boxes
    for index, box in enumerate(boxes):
        for other in boxes[index + 1 :]:
            a, b = box.rect, other.rect
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y, "boxes overlap"


def test_a_serial_typed_by_a_clerk_is_normalised() -> None:
    from pipeline.ballot.payload import format_serial, new_serial, normalise_serial

    serial = new_serial()
    assert normalise_serial(format_serial(serial).lower()) == serial
    assert normalise_serial(" K7QX M2PD 5Z ") == "K7QXM2PD5Z"
    assert normalise_serial("O1IL-0000-00") == "0111000000"  # Crockford: O is 0, I and L are 1
    assert normalise_serial("K7QX-M2PD") is None and normalise_serial("K7QX-M2PD-5U") is None  # short; no U
