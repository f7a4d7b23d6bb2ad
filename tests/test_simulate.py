"""The simulator: marks land where the truth says, devices degrade like devices, everything is reproducible."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium
import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from pipeline.ballot.layout import Layout, Rect, compute_layout
from pipeline.ballot.payload import SERIAL_ALPHABET
from pipeline.ballot.template import CATEGORY_ROW, Template
from pipeline.cli.simulate import simulate_command
from pipeline.printing.render import render_pdf_bytes
from pipeline.reading.ingest import ScanPage, iter_pages
from pipeline.simulation.degrade import Device, ScanWriter, degrade, device_for
from pipeline.simulation.marks import HASTY_FILL_SHARE, HASTY_OVERRUN_MM
from pipeline.simulation.pen import CLEAR_OF_PRINT_MM, Canvas
from pipeline.simulation.simulate import (
    BLANK,
    OVERVOTE,
    RENDER_DPI,
    MarkKind,
    Pen,
    RowTruth,
    _with_legibility,
    draw_mark,
    fill_sheet,
    load_truth,
    rasterize_pdf_page,
    simulate_batch,
)
from tests.conftest import TEMPLATE_FILE

Gray = npt.NDArray[np.uint8]
MARK_DPI = 150.0
PX_PER_MM = MARK_DPI / 25.4
INK = 40  # grey levels darker than the clean page: drawn ink, not resampling noise
AMBIGUOUS_KINDS = {"faint_pencil", "erased", "scribble_correction", "stray"}
ALL_KINDS: tuple[MarkKind, ...] = (
    "tick",
    "cross",
    "fill",
    "circle",
    "dot",
    "faint_pencil",
    "erased",
    "scribble_correction",
    "stray",
)
SERIALS = ["AAAAAAAAA1", "BBBBBBBBB2", "CCCCCCCCC3"]


@pytest.fixture(scope="module")
def layout(template: Template) -> Layout:
    return compute_layout(template)


@pytest.fixture(scope="module")
def ballots(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Path:
    assert all(ch in SERIAL_ALPHABET for serial in SERIALS for ch in serial)
    path = tmp_path_factory.mktemp("printed") / "ballots.pdf"
    path.write_bytes(render_pdf_bytes(template, "2026H1", SERIALS))
    return path


@pytest.fixture(scope="module")
def clean_page(ballots: Path) -> Gray:
    return rasterize_pdf_page(ballots, 0, MARK_DPI)


@pytest.fixture(scope="module")
def clean_page_300(ballots: Path) -> Gray:
    return rasterize_pdf_page(ballots, 0, RENDER_DPI)


def px(rect: Rect, grow_mm: float = 0.0) -> tuple[slice, slice]:
    """Row and column slices of ``rect`` grown by ``grow_mm`` (negative: shrunk) on the MARK_DPI page."""
    x0, y0 = round((rect.x - grow_mm) * PX_PER_MM), round((rect.y - grow_mm) * PX_PER_MM)
    x1, y1 = round((rect.x + rect.w + grow_mm) * PX_PER_MM), round((rect.y + rect.h + grow_mm) * PX_PER_MM)
    return slice(max(0, y0), y1), slice(max(0, x0), x1)


def inked(before: Gray, after: Gray) -> npt.NDArray[np.bool_]:
    return np.asarray(before.astype(int) - after.astype(int) > INK, np.bool_)


def box_px(rect: Rect) -> tuple[float, float, float, float]:
    return (rect.x * PX_PER_MM, rect.y * PX_PER_MM, rect.w * PX_PER_MM, rect.h * PX_PER_MM)


def test_rasterized_page_is_a4_grey(clean_page: Gray) -> None:
    assert clean_page.dtype == np.uint8 and clean_page.ndim == 2
    expected = (297 / 25.4 * MARK_DPI, 210 / 25.4 * MARK_DPI)
    assert clean_page.shape == pytest.approx(expected, abs=1)
    assert clean_page.max() == 255 and clean_page.min() < 50


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_mark_inks_its_own_box_and_nowhere_else(kind: MarkKind, clean_page: Gray, layout: Layout) -> None:
    row = layout.rows[4]  # a unit row with rows above and below
    target = row.boxes[1]
    neighbours = [box for other in layout.rows[3:6] for box in other.boxes if box != target]
    for seed in range(6):
        page = clean_page.copy()
        draw_mark(page, box_px(target.rect), kind, np.random.default_rng(seed), PX_PER_MM)
        ink = inked(clean_page, page) if kind not in ("faint_pencil", "erased") else clean_page - page > 8
        interior = ink[px(target.rect, -0.6)].sum()
        near = ink[px(target.rect, 7.0)].sum()
        assert ink.sum() > 0, f"{kind} drew nothing"
        assert ink[px(target.rect, 12.0)].sum() == ink.sum(), f"{kind} reaches too far"
        for box in neighbours:
            assert ink[px(box.rect, -0.6)].sum() == 0, f"{kind} inked {box.unit}/{box.option}"
        if kind == "stray":
            assert interior == 0 and near > 0
        elif kind == "circle":
            assert near - ink[px(target.rect, 0.3)].sum() > 0.6 * near, "a circle lies mostly outside its box"
        else:
            assert interior > 0.25 * PX_PER_MM**2, f"{kind} barely touches its box"


def test_some_fills_are_blackened_in_a_hurry_past_the_border(clean_page: Gray, layout: Layout) -> None:
    """A voter who fills boxes in blackens some of them in a hurry (HASTY_FILL_SHARE): the whole box, the strokes
    running on past its border by up to HASTY_OVERRUN_MM a side (and the pen's half width, a little turned). An
    ordinary fill stays within 0.7 mm of it (the pen's half width past a zigzag that overshoots a little)."""
    target = layout.rows[4].boxes[0]
    hasty = 0
    for seed in range(40):
        page = clean_page.copy()
        draw_mark(page, box_px(target.rect), "fill", np.random.default_rng(seed), PX_PER_MM)
        ink = inked(clean_page, page)
        if ink.sum() > ink[px(target.rect, 1.0)].sum():  # an ordinary fill reaches 0.7 mm past at most
            hasty += 1
            assert ink[px(target.rect, -0.6)].mean() > 0.9  # a corner may be missed where a side has no overrun
            assert ink[px(target.rect, HASTY_OVERRUN_MM[1] + 1.5)].sum() == ink.sum()
    assert 0.1 * 40 <= hasty <= 2 * HASTY_FILL_SHARE * 40


def test_fill_covers_most_of_the_box_and_large_ticks_leave_it(clean_page: Gray, layout: Layout) -> None:
    target = layout.rows[4].boxes[0]
    for seed in range(5):
        page = clean_page.copy()
        draw_mark(page, box_px(target.rect), "fill", np.random.default_rng(seed), PX_PER_MM)
        assert inked(clean_page, page)[px(target.rect, -0.6)].mean() > 0.6
        page = clean_page.copy()
        draw_mark(page, box_px(target.rect), "tick", np.random.default_rng(seed), PX_PER_MM, tick_size="large")
        ink = inked(clean_page, page)
        rows, cols = np.nonzero(ink)
        right, top = px(target.rect)[1].stop, px(target.rect)[0].start
        assert np.any((cols > right) & (rows < top)), "a large tick ends up and to the right, outside the box"


def test_faint_and_erased_marks_are_lighter_than_ticks(clean_page: Gray, layout: Layout) -> None:
    target = layout.rows[4].boxes[2]
    darkest: dict[str, list[int]] = {"tick": [], "faint_pencil": [], "erased": []}
    for kind, values in darkest.items():
        for seed in range(8):
            page = clean_page.copy()
            draw_mark(page, box_px(target.rect), kind, np.random.default_rng(seed), PX_PER_MM)  # type: ignore[arg-type]
            values.append(int(page[px(target.rect, -0.6)].min()))
    assert max(darkest["tick"]) < 190
    assert min(darkest["faint_pencil"]) >= 175
    assert min(darkest["erased"]) >= 190
    assert np.median(darkest["tick"]) < np.median(darkest["faint_pencil"]) < np.median(darkest["erased"])


def check_row(row: RowTruth, options: tuple[str, ...]) -> None:
    kinds = [kind for _, kind in row.marks]
    assert all(option in options for option, _ in row.marks)
    assert row.ambiguous == any(kind in AMBIGUOUS_KINDS for kind in kinds)
    if row.intent == OVERVOTE:
        assert len(row.marks) == 2 and not row.ambiguous
    elif row.intent == BLANK:
        assert all(kind in ("erased", "stray") for kind in kinds)
    else:
        assert row.intent in options
        assert (row.intent, "erased") not in row.marks and (row.intent, "stray") not in row.marks


@pytest.mark.parametrize("difficulty", ["clean", "mixed", "hard"])
def test_fill_sheet_truth_follows_the_template(difficulty: str, layout: Layout) -> None:
    shares: Counter[str] = Counter()
    for seed in range(25):
        page = np.full((1188, 840), 255, np.uint8)  # 4 px/mm: the truth does not depend on resolution
        rows = fill_sheet(page, layout, 4.0, np.random.default_rng(seed), difficulty=difficulty)  # type: ignore[arg-type]
        assert [row.unit for row in rows] == [place.unit for place in layout.rows]
        assert rows[0].unit == CATEGORY_ROW and len(rows[0].marks) <= 1 and not rows[0].ambiguous
        for row, place in zip(rows, layout.rows, strict=True):
            check_row(row, place.options)
            shares["ambiguous"] += row.ambiguous
            shares["blank"] += row.intent == BLANK
            shares["rows"] += 1
    ambiguous = shares["ambiguous"] / shares["rows"]
    expected = {"clean": (0.0, 0.0), "mixed": (0.04, 0.2), "hard": (0.3, 0.6)}[difficulty]
    assert expected[0] <= ambiguous <= expected[1]
    assert 0.02 < shares["blank"] / shares["rows"] < 0.25


def test_filled_sheet_has_ink_exactly_in_the_boxes_the_truth_names(clean_page: Gray, layout: Layout) -> None:
    for seed in range(4):
        page = clean_page.copy()
        rows = fill_sheet(page, layout, PX_PER_MM, np.random.default_rng(seed), difficulty="hard")
        ink = clean_page.astype(int) - page.astype(int) > 8
        for row, place in zip(rows, layout.rows, strict=True):
            drawn = {option for option, kind in row.marks if kind not in ("stray",)}
            for box in place.boxes:
                has_ink = bool(ink[px(box.rect, -0.6)].any())
                if box.option not in drawn:
                    assert not has_ink, f"seed {seed}: ink in {row.unit}/{box.option} not in truth {row.marks}"
            if row.intent not in (BLANK, OVERVOTE):
                assert ink[px(place.band)].any()


def test_simulation_is_deterministic(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    first = simulate_batch(ballots, layout, tmp_path / "a", profile="phone", seed=5, pages=2, file_format="jpeg")
    again = simulate_batch(ballots, layout, tmp_path / "b", profile="phone", seed=5, pages=2, file_format="jpeg")
    other = simulate_batch(ballots, layout, tmp_path / "c", profile="phone", seed=6, pages=1, file_format="jpeg")
    assert first == again
    for sheet in first:
        assert (tmp_path / "a" / sheet.file).read_bytes() == (tmp_path / "b" / sheet.file).read_bytes()
    assert first[0].degradation != other[0].degradation
    assert load_truth(tmp_path / "a") == first
    assert sorted(sheet.serial for sheet in first) == sorted(SERIALS[:2])


def mapped(matrix: object, x_mm: float, y_mm: float) -> tuple[int, int]:
    point = np.array(matrix, dtype=float) @ np.array([x_mm, y_mm, 1.0])
    return round(point[0] / point[2]), round(point[1] / point[2])


def assert_geometry(image: Gray, applied: dict[str, object], layout: Layout) -> None:
    """The recorded page → image transform puts every registration mark's black centre on dark pixels."""
    for mark in layout.registration:
        x, y = mapped(applied["page_mm_to_image"], *mark.center)
        assert image[y - 1 : y + 2, x - 1 : x + 2].mean() < 110, f"mark {mark} not at {x},{y}"


@pytest.mark.parametrize("profile", ["office", "fax", "phone", "bad"])
def test_each_profile_gives_the_device_image(profile: str, clean_page_300: Gray, layout: Layout) -> None:
    for seed in range(2):
        rng = np.random.default_rng(seed)
        image, applied = degrade(clean_page_300, profile, rng)  # type: ignore[arg-type]
        json.dumps(applied)
        base = applied.get("base", profile)
        dpi = float(applied["dpi"])  # type: ignore[arg-type]
        assert image.dtype == np.uint8 and image.ndim == 2
        if base == "phone":
            height, width = image.shape
            assert width / height == pytest.approx(3 / 4, abs=0.01)
            assert applied["file_dpi"] == 72
            assert (140 if profile == "bad" else 150) <= dpi <= 220
        else:
            assert image.shape == (round(297 / 25.4 * dpi), round(210 / 25.4 * dpi))
            assert dpi == {"office": dpi if dpi in (200, 300) else -1, "fax": 200, "bad": 150}[profile]
        if base == "fax":
            assert set(np.unique(image)) <= {0, 255}
        else:
            assert len(np.unique(image)) > 100
        if profile == "bad":
            assert "folds" in applied and int(applied["speckles"]) >= 150  # type: ignore[call-overload]
        assert_geometry(image, applied, layout)


def test_upside_down_feeds_are_turned(clean_page_300: Gray, layout: Layout) -> None:
    for upside_down in (False, True):
        device = Device(200.0, 85, float(upside_down), 250, "none")
        image, applied = degrade(clean_page_300, "office", np.random.default_rng(1), device=device)
        assert applied["upside_down"] is upside_down
        assert_geometry(image, applied, layout)
        codes = zxingcpp.read_barcodes(image)
        assert len(codes) == 1
        height, width = image.shape
        centre_x = sum(p.x for p in (codes[0].position.top_left, codes[0].position.bottom_right)) / 2
        centre_y = sum(p.y for p in (codes[0].position.top_left, codes[0].position.bottom_right)) / 2
        # The QR code is printed top right: fed upside down it comes out bottom left.
        assert (centre_x > width / 2) != upside_down and (centre_y < height / 2) != upside_down


#: The office PDF's pages are rendered at 200 dpi, near the scan's own (the reader decodes the page's image as it is
#: stored): at 72 dpi, below any scanner's resolution, whether a code's modules survive depends on the capture's noise.
SCAN_SCALE = 200 / 72


def decoded_serials(images: list[Image.Image]) -> list[str]:
    found = []
    for image in images:
        codes = zxingcpp.read_barcodes(np.array(image.convert("L")))
        found.append(codes[0].text.rsplit(":", 1)[-1] if codes else "")
    return found


def test_office_pdf_and_fax_g4_tiff_keep_a_readable_qr_code(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    office = simulate_batch(ballots, layout, tmp_path / "office", profile="office", seed=3)
    assert {sheet.file for sheet in office} == {"office.pdf"}
    document = pdfium.PdfDocument(str(tmp_path / "office" / "office.pdf"))
    try:
        assert len(document) == 3
        pages = [document[index].render(scale=SCAN_SCALE).to_pil() for index in range(3)]
    finally:
        document.close()
    assert decoded_serials(pages) == [sheet.serial for sheet in office]

    fax = simulate_batch(ballots, layout, tmp_path / "fax", profile="fax", seed=3)
    with Image.open(tmp_path / "fax" / "fax.tif") as tiff:
        assert getattr(tiff, "n_frames", 1) == 3
        frames = []
        for index in range(3):
            tiff.seek(index)
            assert tiff.mode == "1" and tiff.info["compression"] == "group4"
            assert tiff.info["dpi"] == pytest.approx((200, 200))
            frames.append(tiff.copy())
    assert decoded_serials(frames) == [sheet.serial for sheet in fax]
    assert [sheet.page for sheet in fax] == [1, 2, 3]


def test_single_page_formats_write_one_file_per_sheet(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    sheets = simulate_batch(ballots, layout, tmp_path, profile="bad", seed=2, pages=2, file_format="jpeg")
    assert [sheet.file for sheet in sheets] == ["bad-001.jpg", "bad-002.jpg"]
    for sheet in sheets:
        with Image.open(tmp_path / sheet.file) as image:
            assert image.format == "JPEG" and image.mode == "L"
    lines = (tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["serial"] for line in lines] == [sheet.serial for sheet in sheets]


def test_rows_a_fax_wiped_out_are_marked_illegible(layout: Layout) -> None:
    rows = (RowTruth("a", "满意", (("满意", "tick"),), False), RowTruth("b", "满意", (("满意", "tick"),), False))
    scan = np.full((100, 100), 255, np.uint8)
    scan[20:30, 20:30] = 0  # only row a's ink came through
    pixels = [np.array([[y, x] for y in range(22, 28) for x in range(22, 28)])] * 2
    pixels[1] = pixels[1] + 50
    identity = {"page_mm_to_image": [[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1]]}
    checked = _with_legibility(rows, pixels, scan, identity, 1.0)  # type: ignore[arg-type]
    assert [row.legible for row in checked] == [True, False]


def test_rows_a_scanner_apps_whitening_lifted_to_white_are_marked_illegible(layout: Layout) -> None:
    """On a page an app whitened, a pencil line left 12 grey levels under the paper is there (a careful person sees
    it); one lifted to 4 levels under it is gone."""
    rows = (RowTruth("a", "满意", (("满意", "tick"),), False), RowTruth("b", "满意", (("满意", "tick"),), False))
    scan = np.full((210, 210), 255, np.uint8)
    scan[20:23, 20:60] = 243
    scan[120:123, 20:60] = 251
    pixels = [np.array([[y, x] for y in range(20, 23) for x in range(22, 58)])]
    pixels.append(pixels[0] + (100, 0))
    identity = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1]]
    applied = {
        "page_mm_to_image": [[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1]],
        "app": {"mode": "enhance", "matrix": identity},
    }
    checked = _with_legibility(rows, pixels, scan, applied, 1.0)  # type: ignore[arg-type]
    assert [row.legible for row in checked] == [True, False]


def test_a_stroke_left_as_scattered_pixels_is_wiped_out_a_dithered_one_is_not(layout: Layout) -> None:
    """A faint stroke a fax's threshold wiped leaves a black pixel here and there, as the paper's pepper does: no
    trail a person reads (accuracy seed 7, fax page 53: a pencil tick left as 6 black pixels in its box, counted
    legible because every core had one within a pixel). A stroke dithered to half its pixels is still a trail."""
    rows = (RowTruth("a", "满意", (("满意", "tick"),), False), RowTruth("b", "满意", (("满意", "tick"),), False))
    scan = np.full((100, 100), 255, np.uint8)
    scan[20:30:3, 20:30:3] = 0  # row a: one pixel in 9 left, every core within a pixel of one
    band = scan[70:80, 70:80]
    band[(np.add.outer(np.arange(10), np.arange(10)) % 2) == 0] = 0  # row b: a checkerboard, half of it black
    pixels = [np.array([[y, x] for y in range(22, 28) for x in range(22, 28)])] * 2
    pixels[1] = pixels[1] + 50
    identity = {"page_mm_to_image": [[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1]]}
    checked = _with_legibility(rows, pixels, scan, identity, 1.0)  # type: ignore[arg-type]
    assert [row.legible for row in checked] == [False, True]


def test_legibility_is_judged_clear_of_printed_lines() -> None:
    """Where a stroke runs beside a printed line, a 1-bit scan's black belongs to the line: such cores are
    not used to decide whether the mark survived."""
    scale = RENDER_DPI / 25.4
    page = np.full((240, 240), 255, np.uint8)
    page[118:122, :] = 0  # a printed line across the page
    canvas = Canvas(page.shape, (120.0, 120.0), scale)
    canvas.stroke(np.array([[-8.0, 0.2], [8.0, 0.2]]), 0.5)  # along the line, just below its centre
    canvas.stroke(np.array([[0.0, -8.0], [0.0, 8.0]]), 0.5)  # across it
    cores = canvas.lay(page, Pen(60, 0.5), np.random.default_rng(0), erased=False)
    distance = np.minimum(np.abs(cores[:, 0] - 118), np.abs(cores[:, 0] - 121))
    assert len(cores) > 0 and distance.min() >= round(CLEAR_OF_PRINT_MM * scale)
    assert {int(x) for x in cores[:, 1]} <= set(range(110, 131))  # only the crossing stroke, away from the line


def test_a_phone_writes_heic_as_an_iphone_does_and_the_reader_takes_it_as_the_same_picture(tmp_path: Path) -> None:
    """``--format heic``: one file a page, in colour, no resolution stated; it decodes (as ``ballot scan`` decodes it)
    to the page's pixels within the coding's loss."""
    rng = np.random.default_rng(3)
    page = np.asarray(np.clip(rng.normal(200, 6, (400, 300)), 0, 255), dtype=np.uint8)
    page[100:220, 60:180] = 40
    writer = ScanWriter(tmp_path, "phone", "heic")
    name, number = writer.add(page, {"file_dpi": None, "jpeg_quality": 85})
    writer.close()
    assert (name, number) == ("phone-001.heic", 1)
    [decoded] = iter_pages(tmp_path / name)
    assert isinstance(decoded, ScanPage) and decoded.image.shape == page.shape and decoded.dpi is None
    assert float(np.abs(decoded.image.astype(int) - page).mean()) < 6.0


def test_device_settings_hold_for_a_batch() -> None:
    device = device_for("office", np.random.default_rng(0))
    assert device.dpi in (200.0, 300.0) and device.jpeg_quality is not None and 70 <= device.jpeg_quality <= 90
    assert device_for("fax", np.random.default_rng(0)).binarise in ("otsu", "fixed")


def test_cli_writes_the_scans_and_the_truth(ballots: Path, tmp_path: Path) -> None:
    out = tmp_path / "scans"
    arguments = [str(ballots), "--template", str(TEMPLATE_FILE), "-o", str(out), "--profile", "fax", "--seed", "1"]
    result = CliRunner().invoke(simulate_command, [*arguments, "--pages", "2", "--format", "png"])
    assert result.exit_code == 0, result.output
    assert "已模拟 2 张" in result.output
    assert sorted(path.name for path in out.iterdir()) == ["fax-001.png", "fax-002.png", "truth.jsonl"]
    assert len(load_truth(out)) == 2

    result = CliRunner().invoke(simulate_command, [*arguments, "--pages", "9"])
    assert result.exit_code == 1 and "3 pages" in result.output
