"""The simulator's conditions (issue 19): each does what it says, measured on the pixels it writes, with the
truth and the geometry (pipeline.simulation.geometry) it returns."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner
from PIL import Image

from pipeline.ballot.layout import Layout, Rect, compute_layout
from pipeline.ballot.template import Template
from pipeline.cli.simulate import CONDITION_NAMES, simulate_command
from pipeline.printing.render import render_pdf_bytes
from pipeline.simulation.capture import fax_settings
from pipeline.simulation.conditions import CONDITIONS
from pipeline.simulation.corrections import TAPE_VISIBLE_SHARE, draw_long_tick
from pipeline.simulation.degrade import Device
from pipeline.simulation.effects import curl_paper
from pipeline.simulation.geometry import (
    curl_forward,
    fax_rows_forward,
    fax_scan_rows,
    fax_source_rows,
    fold_points,
    lens_distort,
    lens_undistort,
    page_to_image,
    unfold_points,
)
from pipeline.simulation.paper import show_through, text_document
from pipeline.simulation.pen import RED_DROPPED, Pen
from pipeline.simulation.scanapp import _enhanced
from pipeline.simulation.simulate import RENDER_DPI, SheetTruth, SimulationError, load_truth, simulate_batch
from pipeline.simulation.writer import ScanWriter
from tests.conftest import TEMPLATE_FILE

Gray = npt.NDArray[np.uint8]
SERIALS = ["AAAAAAAAA1", "BBBBBBBBB2", "CCCCCCCCC3"]
STEADY_OFFICE = Device(200.0, 90, 0.0, 250, "none")  # never upside down: marks found where expected
PX_PER_MM = RENDER_DPI / 25.4
DEVICES = {"office": STEADY_OFFICE}
FORMATS = {"office": "png", "fax": "png", "phone": "jpeg"}  # one file per page; a 12-megapixel PNG is slow to write


@pytest.fixture(scope="module")
def layout(template: Template) -> Layout:
    return compute_layout(template)


@pytest.fixture(scope="module")
def ballots(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Path:
    path = tmp_path_factory.mktemp("printed") / "ballots.pdf"
    path.write_bytes(render_pdf_bytes(template, "2026H1", SERIALS))
    return path


def pages_of(folder: Path, sheet: SheetTruth) -> Gray:
    with Image.open(folder / sheet.file) as image:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(sheet.page - 1)
        return np.array(image.convert("L"), dtype=np.uint8)


def centre_mm(rect: Rect) -> npt.NDArray[np.float64]:
    return np.array([rect.center], dtype=np.float64)


def dark_at(image: Gray, point: npt.NDArray[np.float64]) -> bool:
    x, y = np.rint(point).astype(int)
    return bool(image[y - 1 : y + 2, x - 1 : x + 2].mean() < 110)


def inside(image: Gray, point: npt.NDArray[np.float64]) -> bool:
    return bool(0 <= point[0, 0] < image.shape[1] and 0 <= point[0, 1] < image.shape[0])


def test_conditions_are_named_alike_in_the_cli_and_refused_where_they_do_not_apply(
    ballots: Path, layout: Layout
) -> None:
    assert tuple(CONDITIONS) == CONDITION_NAMES
    cases = [("office", ["steep-photo"]), ("phone", ["streak"]), ("fax", ["fax-standard", "fax-fine"]), ("fax", ["x"])]
    for profile, conditions in cases:
        with pytest.raises(SimulationError):
            simulate_batch(ballots, layout, Path("/nonexistent"), profile=profile, seed=1, conditions=conditions)  # type: ignore[arg-type]


def steady_office(ballots: Path, layout: Layout, folder: Path, *conditions: str) -> list[SheetTruth]:
    """Two sheets of seed 4 through the steady office scanner, under ``conditions``."""
    return simulate_batch(
        ballots,
        layout,
        folder,
        profile="office",
        seed=4,
        pages=2,
        device=STEADY_OFFICE,
        conditions=conditions,  # type: ignore[arg-type]
    )


def test_a_plain_run_writes_the_truth_it_always_did_and_conditions_keep_the_voters(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    plain = steady_office(ballots, layout, tmp_path / "plain")
    line = json.loads((tmp_path / "plain" / "truth.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert "capture" not in line and all("drawn" not in row and "obscured" not in row for row in line["rows"])
    assert "conditions" not in line["degradation"]
    folded = steady_office(ballots, layout, tmp_path / "folded", "folded")
    assert [sheet.rows for sheet in folded] == [sheet.rows for sheet in plain]  # same voters, other paper
    assert load_truth(tmp_path / "folded") == folded


def captured(
    ballots: Path, layout: Layout, folder: Path, profile: str, seed: int, condition: str
) -> list[tuple[SheetTruth, Gray]]:
    """Two sheets captured by ``profile`` under ``condition``, with their images."""
    device, file_format = DEVICES.get(profile), FORMATS[profile]
    sheets = simulate_batch(
        ballots,
        layout,
        folder,
        profile=profile,
        seed=seed,
        pages=2,
        file_format=file_format,
        device=device,
        conditions=[condition],  # type: ignore[arg-type]
    )
    return [(sheet, pages_of(folder, sheet)) for sheet in sheets]


@pytest.mark.parametrize("profile", ["office", "fax", "phone"])
def test_marks_cut_leaves_one_or_two_marks_outside_and_every_box_inside(
    profile: str, ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    for sheet, image in captured(ballots, layout, tmp_path, profile, 3, "marks-cut"):
        outside = sheet.capture["marks_wholly_outside"]
        assert outside == sheet.capture["marks_outside"] and len(outside) in (1, 2)  # type: ignore[arg-type]
        assert sheet.capture["boxes_outside"] == [] and sheet.capture["qr_inside"] is True
        assert sheet.capture["must_refuse"] is False
        for index, mark in enumerate(layout.registration):
            at = page_to_image(sheet.degradation, centre_mm(mark))
            if index in outside:  # type: ignore[operator]
                assert not inside(image, at)
            else:
                assert dark_at(image, at[0]), f"{sheet.file}: mark {index} not at {at}"
        for box in layout.boxes:
            corners = page_to_image(sheet.degradation, np.array(box.rect.corners))
            assert np.all(corners >= 0) and np.all(corners < np.array(image.shape[::-1]))


@pytest.mark.parametrize("profile", ["office", "phone"])
def test_code_cut_puts_the_code_partly_outside_and_every_box_inside(
    profile: str, ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    for sheet, image in captured(ballots, layout, tmp_path, profile, 6, "code-cut"):
        assert sheet.capture["qr_inside"] is False and sheet.capture["boxes_outside"] == []
        assert sheet.capture["must_refuse"] is False  # every vote shows: counted where the serial does too
        corners = page_to_image(sheet.degradation, np.array(layout.qr.corners))
        assert not all(inside(image, corner[None]) for corner in corners)
        for box in layout.boxes:
            corners = page_to_image(sheet.degradation, np.array(box.rect.corners))
            assert np.all(corners >= 0) and np.all(corners < np.array(image.shape[::-1]))


@pytest.mark.parametrize("profile", ["office", "fax", "phone"])
def test_box_cut_puts_a_box_outside_the_image_and_the_page_must_be_refused(
    profile: str, ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    for sheet, image in captured(ballots, layout, tmp_path, profile, 5, "box-cut"):
        assert sheet.capture["must_refuse"] is True and sheet.capture["qr_inside"] is True
        names = sheet.capture["boxes_outside"]
        assert names
        cut = [box for box in layout.boxes if f"{box.unit}/{box.option}" in names]  # type: ignore[operator]
        for box in cut:
            corners = page_to_image(sheet.degradation, np.array(box.rect.corners))
            assert not all(inside(image, corner[None]) for corner in corners)


def test_standard_fax_states_its_resolution_and_squashes_rows(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    sheets = simulate_batch(ballots, layout, tmp_path, profile="fax", seed=2, conditions=["fax-standard"])
    stated = []
    with Image.open(tmp_path / "fax.tif") as tiff:
        for sheet in sheets:
            tiff.seek(sheet.page - 1)
            dpi = (tiff.tag_v2.get(282), tiff.tag_v2.get(283))
            stated.append(None if dpi[0] is None else (float(dpi[0]), float(dpi[1])))
            assert stated[-1] == (
                None if sheet.degradation["file_dpi"] is None else tuple(sheet.degradation["file_dpi"])
            )  # type: ignore[arg-type]
            assert tiff.mode == "1" and tiff.size[0] == 1728
            assert tiff.info["compression"] == sheet.degradation["fax"]["compression"]  # type: ignore[index]
            image = np.array(tiff.convert("L"), dtype=np.uint8)
            fax_rows = sheet.degradation["fax_rows"]
            # Feed wobble, lost and repeated lines and the header move rows: the geometry follows them.
            assert fax_rows["lines"] and fax_rows["header_rows"] > 0  # type: ignore[index]
            assert 0.97 <= fax_rows["feed"] <= 1.03 and fax_rows["wobble"]  # type: ignore[index, operator]
            centres = [page_to_image(sheet.degradation, centre_mm(mark))[0] for mark in layout.registration]
            assert all(dark_at(image, centre) for centre in centres)
            across = abs(centres[1][0] - centres[0][0]) / 189.0
            down = abs(centres[3][1] - centres[0][1]) / 276.0
            assert across == pytest.approx(8.0, rel=0.02) and down == pytest.approx(3.85, rel=0.05)
            header = image[: round(4.5 * 3.85)]
            assert (header < 128).mean() > 0.005  # the sender's line of text across the top
    assert set(stated) <= {(204.0, 98.0), (200.0, 100.0), None}


def test_a_fax_sheet_walks_sideways_and_the_geometry_follows_it(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    """Drawn through askew, the sheet drifts and snakes across the line: each box's printed left side lies where
    the geometry, walk and all, puts it, and the walk moved some of them by a millimetre or more."""
    sheets = simulate_batch(ballots, layout, tmp_path, profile="fax", seed=2, conditions=["fax-standard"])
    moved = []
    for sheet in sheets:
        image = pages_of(tmp_path, sheet)
        still = {**sheet.degradation, "fax_rows": {**sheet.degradation["fax_rows"], "walk": None}}  # type: ignore[dict-item]
        sides = np.array([[box.rect.x, box.rect.y + box.rect.h / 2] for box in layout.boxes])
        walked, unwalked = page_to_image(sheet.degradation, sides), page_to_image(still, sides)
        moved.append(float(np.abs(walked[:, 0] - unwalked[:, 0]).max()) / 8.0)
        on_border = [bool((image[round(y), round(x) - 1 : round(x) + 2] < 128).any()) for x, y in walked]
        assert np.mean(on_border) >= 0.95, sheet.file
    assert max(moved) >= 1.0


def test_fine_fax_states_204_by_196(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    sheets = simulate_batch(ballots, layout, tmp_path, profile="fax", seed=8, conditions=["fax-fine"])
    for sheet in sheets:
        assert sheet.degradation["file_dpi"] in ([204.0, 196.0], None)
        assert sheet.degradation["fax"]["dpi"][1] == pytest.approx(7.7 * 25.4)  # type: ignore[index]


def test_a_file_may_state_no_resolution(tmp_path: Path) -> None:
    writer = ScanWriter(tmp_path, "fax", "tiff")
    page = np.full((40, 64), 255, np.uint8)
    writer.add(page, {"file_dpi": None, "binarised": True, "dpi": [203.2, 97.79]})
    writer.add(page, {"file_dpi": [204.0, 98.0], "binarised": True, "dpi": [203.2, 97.79]})
    writer.close()
    with Image.open(tmp_path / "fax.tif") as tiff:
        assert tiff.tag_v2.get(282) is None and tiff.tag_v2.get(283) is None
        tiff.seek(1)
        assert (float(tiff.tag_v2[282]), float(tiff.tag_v2[283])) == (204.0, 98.0)
    png = ScanWriter(tmp_path, "bare", "png")
    png.add(page, {"file_dpi": None, "binarised": True, "dpi": [203.2, 97.79]})
    with Image.open(tmp_path / "bare-001.png") as image:
        assert "dpi" not in image.info


def mark_centre(image: Gray, near: npt.NDArray[np.float64], px_per_mm: float) -> npt.NDArray[np.float64]:
    """The centroid of the dark pixels of a registration mark around ``near`` (its pattern is symmetric)."""
    reach = round(6 * px_per_mm)
    x, y = np.rint(near).astype(int)
    window = image[y - reach : y + reach + 1, x - reach : x + reach + 1] < 128
    rows, cols = np.nonzero(window)
    return np.array([cols.mean() + x - reach, rows.mean() + y - reach])


def test_a_fold_shadows_its_crease_and_moves_each_part_by_the_drawn_amount(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    sheets = simulate_batch(
        ballots,
        layout,
        tmp_path,
        profile="office",
        seed=6,
        file_format="png",
        device=STEADY_OFFICE,
        conditions=["folded"],
    )
    moved = 0.0
    for sheet in sheets:
        image = pages_of(tmp_path, sheet)
        applied = sheet.degradation
        px_per_mm = float(applied["dpi"]) / 25.4  # type: ignore[arg-type]
        flat = {key: value for key, value in applied.items() if key != "fold"}
        creases = applied["fold"]["creases"]  # type: ignore[index]
        for mark in layout.registration:
            centre = centre_mm(mark)
            found = mark_centre(image, page_to_image(applied, centre)[0], px_per_mm)
            folded_at, flat_at = page_to_image(applied, centre)[0], page_to_image(flat, centre)[0]
            drawn = float(np.linalg.norm(fold_points(creases, centre) - centre))
            assert np.linalg.norm(found - folded_at) / px_per_mm < 0.25
            assert np.linalg.norm(found - flat_at) / px_per_mm == pytest.approx(drawn, abs=0.25)
            moved = max(moved, drawn)
        # The crease's shadow line: darker than the paper beside it, in the blank margin left of the table.
        crease = creases[0]
        x_mm = 15.0
        y_mm = crease["at_mm"] + np.tan(np.radians(crease["angle_deg"])) * (x_mm - 105.0)
        x, y = np.rint(page_to_image(applied, np.array([[x_mm, y_mm]]))[0]).astype(int)
        line = image[y - 2 : y + 3, x - 5 : x + 5].min()
        paper = np.median(image[y - round(8 * px_per_mm) : y - round(5 * px_per_mm), x - 5 : x + 5])
        assert line < paper - 12
    assert moved > 0.8  # some part moved by most of a fold's separation (1–3 mm)


def test_a_long_tick_turns_in_its_box_and_its_leg_leaves_it_by_3_to_10_mm(layout: Layout) -> None:
    target = layout.rows[5].boxes[1]
    others = {f"{b.unit}/{b.option}": b.rect for b in layout.boxes if b != target}
    height, width = round(297 * PX_PER_MM), round(210 * PX_PER_MM)
    crossed = 0
    for seed in range(30):
        page = np.full((height, width), 255, np.uint8)
        _, detail = draw_long_tick(page, target.rect, np.random.default_rng(seed), PX_PER_MM, Pen(40, 0.5), others)
        turn, end = np.array(detail.turning_point_mm), np.array(detail.leg_end_mm)
        rect = target.rect
        assert rect.x + 0.7 < turn[0] < rect.x + rect.w - 0.7 and rect.y + 0.7 < turn[1] < rect.y + rect.h - 0.7
        assert detail.leaves_box_mm is not None and 3.0 <= detail.leaves_box_mm <= 10.0
        gap = np.hypot(
            max(rect.x - end[0], 0, end[0] - rect.x - rect.w), max(rect.y - end[1], 0, end[1] - rect.y - rect.h)
        )
        assert gap == pytest.approx(detail.leaves_box_mm, abs=0.01)
        x, y = np.rint(end * PX_PER_MM).astype(int)
        assert page[y - 4 : y + 5, x - 4 : x + 5].min() < 200, "ink reaches the leg's end"
        assert end[1] < rect.y + rect.h / 2 and end[0] > turn[0]  # up and to the right
        for name in detail.crosses:
            box = others[name]
            inner = page[
                round((box.y + 0.3) * PX_PER_MM) : round((box.y + box.h - 0.3) * PX_PER_MM),
                round((box.x + 0.3) * PX_PER_MM) : round((box.x + box.w - 0.3) * PX_PER_MM),
            ]
            assert inner.min() < 200
            crossed += 1
    assert crossed > 0  # some legs climb into the row above's box


def test_long_tick_rows_stay_clear_and_say_what_was_drawn(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    # Two batches of three sheets: a voter who fills boxes in or crosses them draws no tick at all.
    sheets = [
        sheet
        for seed in (9, 10)
        for sheet in simulate_batch(
            ballots, layout, tmp_path / str(seed), profile="office", seed=seed, conditions=["long-tick"]
        )
    ]
    long = [
        (row, detail) for sheet in sheets for row in sheet.rows for detail in row.drawn if detail.kind == "long_tick"
    ]
    assert len(long) >= 10
    for row, detail in long:
        assert (detail.option, "long_tick") in row.marks and 3.0 <= (detail.leaves_box_mm or 0) <= 10.0
        if row.intent not in ("blank", "overvote") and len(row.marks) == 1:
            assert row.intent == detail.option and not row.ambiguous


def test_show_through_is_mirrored_and_faint() -> None:
    page = np.full((300, 200), 250, np.uint8)
    back = np.full((300, 200), 255, np.uint8)
    back[100:200, 20:60] = 0  # print near the back's left edge
    for kind, mirrored in (("back_document", True), ("back_ballot", True), ("sheet_behind", False)):
        applied: dict[str, object] = {}
        seen = show_through(page, back, kind, np.random.default_rng(1), applied, 2.0)  # type: ignore[arg-type]
        darker = page.astype(int) - seen.astype(int)
        left, right = darker[:, :100].sum(), darker[:, 100:].sum()
        assert (right > 5 * left) if mirrored else (left > 5 * right)
        assert 0 < darker.max() <= 0.14 * 250 + 1  # faint: at most 14 % of the paper's light
        assert applied["show_through"]["mirrored"] is mirrored  # type: ignore[index]


def test_an_office_document_on_the_back_shows_through_as_mirrored_text() -> None:
    px_per_mm = 4.0
    document = text_document((round(297 * px_per_mm), round(210 * px_per_mm)), np.random.default_rng(3), px_per_mm)
    lines = np.flatnonzero((document < 128).sum(axis=1) > 10)
    assert len(lines) > 100  # a title and paragraphs of Chinese text
    half = document.shape[1] // 2
    document[:, half:] = 255  # keep the text of the left half only: turned over, it lies on the right
    page = np.full(document.shape, 250, np.uint8)
    seen = show_through(page, document, "back_document", np.random.default_rng(4), {}, px_per_mm)
    darker = page.astype(int) - seen.astype(int)
    assert darker[:, half:].sum() > 5 * darker[:, :half].sum()
    assert 0 < darker.max() <= 0.14 * 250 + 1


def test_show_through_prints_the_back_on_each_page(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    sheets = simulate_batch(
        ballots, layout, tmp_path, profile="office", seed=2, device=STEADY_OFFICE, conditions=["show-through"]
    )
    kinds = {sheet.degradation["show_through"]["kind"] for sheet in sheets}  # type: ignore[index]
    assert kinds <= {"back_ballot", "back_document", "sheet_behind"}
    assert all(0.03 <= sheet.degradation["show_through"]["opacity"] <= 0.14 for sheet in sheets)  # type: ignore[index, operator]


@pytest.mark.parametrize("profile", ["office", "fax"])
def test_a_streak_runs_the_whole_length_of_the_page(
    profile: str, ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    sheets = simulate_batch(
        ballots,
        layout,
        tmp_path,
        profile=profile,
        seed=11,
        file_format="png",
        device=DEVICES.get(profile),
        conditions=["streak"],
    )  # type: ignore[arg-type]
    dark = 0
    for sheet in sheets:
        image = pages_of(tmp_path, sheet).astype(int)
        streaks = sheet.degradation["long_streaks"]
        assert 1 <= len(streaks) <= 3  # type: ignore[arg-type]
        for streak in streaks:  # type: ignore[attr-defined]
            x, width = streak["x"], streak["width"]
            if not streak["dark"] or streak["factor"] > 0.7:
                continue
            dark += 1
            # In each tenth of the page, the streak's column is darker than the paper beside it.
            for part in np.array_split(np.arange(image.shape[0]), 10):
                column = np.median(image[part, x : x + width])
                beside = np.median(image[part][:, max(0, x - 12) : x - 4])
                assert column < beside - 15 or (profile == "fax" and column == 0)
        hidden = {name.split("/")[0] for s in streaks if s["hides"] for name in s["boxes"]}  # type: ignore[attr-defined]
        assert {row.unit for row in sheet.rows if row.obscured} == hidden
    assert dark > 0


def test_erasures_and_corrections_are_ambiguous_unless_the_intent_is_plain(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    kinds: set[str] = set()
    taped_only = 0
    for seed in (1, 2, 3):
        sheets = simulate_batch(
            ballots, layout, tmp_path / str(seed), profile="office", seed=seed, conditions=["erasure"]
        )
        for row in (row for sheet in sheets for row in sheet.rows):
            marks = dict(row.marks)
            kinds.update(marks.values())
            removed = [
                kind
                for kind in marks.values()
                if kind in ("erased", "erased_gel", "scribble_correction", "crossed_out")
            ]
            if removed:
                assert row.ambiguous
            for detail in row.drawn:
                if detail.kind == "taped":
                    assert row.ambiguous == ((detail.visible_outside_tape or 0) > TAPE_VISIBLE_SHARE)
                    assert row.intent != detail.option
                    taped_only += len(row.marks) == 1 and row.intent == "blank"
                if detail.kind in ("erased", "erased_gel"):
                    assert detail.residue is not None and row.intent != detail.option
            if row.intent == "overvote" and not removed:
                assert not row.ambiguous and len(row.marks) == 2
    assert {"erased_gel", "taped", "scribble_correction", "crossed_out"} <= kinds
    assert taped_only > 0  # a mark taken back with tape, the row left 弃权


def test_a_mark_struck_out_with_loops_runs_past_both_sides_of_its_box() -> None:
    """A voter who changed their mind strikes a tick out with a run of loops across the box and past both its
    sides (the field samples' `crossed_out`): ink inside the box and 1 mm or more beyond its left and right
    sides, the loops' ink far more than the tick's."""
    from pipeline.ballot.layout import Rect
    from pipeline.simulation.corrections import draw_crossed_out
    from pipeline.simulation.pen import random_pen

    px = 8.0
    box = Rect(20.0, 20.0, 6.0, 6.0)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        page = np.full((400, 400), 255, dtype=np.uint8)
        draw_crossed_out(page, box, rng, px, random_pen(rng))
        ink = page < 160
        rows, columns = (
            slice(round(box.y * px), round((box.y + box.h) * px)),
            slice(round(box.x * px), round((box.x + box.w) * px)),
        )
        assert ink[rows, columns].mean() > 0.1
        band = slice(round((box.y - 3) * px), round((box.y + box.h + 3) * px))
        assert ink[band, : round((box.x - 1) * px)].any() and ink[band, round((box.x + box.w + 1) * px) :].any()


def test_steep_photos_tilt_and_fill_as_described(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    sheets = simulate_batch(ballots, layout, tmp_path, profile="phone", seed=12, pages=2, conditions=["steep-photo"])
    for sheet in sheets:
        applied = sheet.degradation
        image = pages_of(tmp_path, sheet)
        assert 10.0 <= applied["tilt_deg"] <= 35.0  # type: ignore[operator]
        assert applied["lens"]["k1"] < 0 and applied["background"] in ("wood", "desk", "dark_cloth", "light")  # type: ignore[index, operator]
        corners = np.array(applied["page_corners_px"], dtype=float)
        spread = np.ptp(corners, axis=0) / np.array(image.shape[::-1])
        assert 0.38 <= spread.max() <= 0.92
        for mark in layout.registration:
            assert dark_at(image, page_to_image(applied, centre_mm(mark))[0])
        sides = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)
        if applied["tilt_deg"] > 25:  # type: ignore[operator]
            # Perspective: opposite sides of the sheet no longer look equally long.
            assert max(sides[0] / sides[2], sides[2] / sides[0], sides[1] / sides[3], sides[3] / sides[1]) > 1.08


def test_a_scanner_app_flattens_the_photo_onto_an_a4_page_where_it_found_the_corners(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    """The app's page is A4 at its resolution; the sheet's corners lie where the app found them (each as far off as the
    truth says, within the lens's and the paper's curl), the printed marks where the geometry puts them."""
    sheets = simulate_batch(ballots, layout, tmp_path, profile="phone", seed=3, pages=3, conditions=["scanner-app"])
    for sheet in sheets:
        applied = sheet.degradation
        app = applied["app"]
        image = pages_of(tmp_path, sheet)
        px_per_mm = float(app["dpi"]) / 25.4  # type: ignore[index, arg-type]
        assert abs(image.shape[0] - 297 * px_per_mm) <= 1 and abs(image.shape[1] - 210 * px_per_mm) <= 1
        assert app["mode"] in ("enhance", "black_and_white", "grey")  # type: ignore[index]
        corners = page_to_image(applied, np.array([[0.0, 0.0], [210.0, 0.0], [210.0, 297.0], [0.0, 297.0]]))
        frame = np.array([[0.0, 0.0], [image.shape[1], 0.0], [image.shape[1], image.shape[0]], [0.0, image.shape[0]]])
        off_mm = np.linalg.norm(np.array(app["corner_error_mm"]), axis=1)  # type: ignore[index]
        seen = np.min(np.linalg.norm(corners[:, None] - frame[None], axis=2), axis=1) / px_per_mm
        assert np.all(np.abs(np.sort(seen) - np.sort(off_mm)) < 1.5)
        for mark in layout.registration:
            assert dark_at(image, page_to_image(applied, centre_mm(mark))[0])


def test_a_scanner_app_whitens_the_paper_or_thresholds_it() -> None:
    """Enhanced: the light across the photo divided out (the paper one white, a pen stroke still dark); black and
    white: two levels, a stroke drawn 40 levels under the paper kept, one 5 levels under gone."""
    height, width = 600, 400
    light = np.linspace(150, 220, width, dtype=np.float32)[None, :].repeat(height, axis=0)  # a shadow to the left
    photo = light.copy()
    photo[100:104, 50:350] -= 110  # a pen stroke
    photo[300:304, 50:350] -= 40  # pencil
    photo[500:504, 50:350] -= 5  # next to nothing
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    px_per_mm = 200 / 25.4
    record: dict[str, object] = {}
    enhanced = _enhanced(photo, np.random.default_rng(0), record, px_per_mm, "enhance")
    paper = enhanced[[50, 200, 400]][:, 20:380]
    assert paper.min() >= 240 and enhanced[101:103, 60:340].max() < 120
    record = {}
    for seed in range(5):
        bw = _enhanced(photo, np.random.default_rng(seed), record, px_per_mm, "black_and_white")
        assert set(np.unique(bw)) <= {0, 255}
        assert (bw[101:103, 60:340] == 0).mean() > 0.9 and (bw[301:303, 60:340] == 0).mean() > 0.9
        assert (bw[501:503, 60:340] == 0).mean() < 0.1


def test_a_tilted_photo_is_sharp_where_the_camera_focused_and_soft_farther_off() -> None:
    """Depth of field: the aimed-at point is in focus, the sheet's parts nearer or farther from the camera blur
    in proportion to |1/d − 1/z|; a photo from straight above is sharp all over."""
    from pipeline.simulation.photo import _blur_by, _Camera, _defocus_px, _rotation

    frame, focal = (3000, 4000), 3000.0
    lens = {"k1": 0.0, "centre": [1499.5, 1999.5], "radius": 2500.0}
    target = np.zeros(2)
    corners = np.array([[0, 0], [210, 0], [210, 297], [0, 297]], dtype=np.float64)
    for tilt, soft in ((0.0, False), (30.0, True)):
        camera = _Camera(_rotation(np.array([1.0, 0.0, 0.0]), tilt), focal)
        projected = camera.project(corners, 400.0, target) + np.array(frame) / 2
        homography = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
        sigma = _defocus_px(camera, 400.0, target, np.asarray(homography, np.float64), lens, frame, 3.0)
        aimed = cv2.perspectiveTransform(np.array([[[105.0, 148.5]]]), homography)[0, 0].astype(int)
        assert sigma[aimed[1], aimed[0]] < 0.05
        top, bottom = projected[:2].mean(axis=0).astype(int), projected[2:].mean(axis=0).astype(int)
        far = max(sigma[top[1], top[0]], sigma[bottom[1], bottom[0]])
        assert (far > 1.0) == soft, (tilt, far)
    step = np.zeros((40, 40), np.float32)
    step[:, 20:] = 255.0
    blurred = _blur_by(step, np.tile(np.linspace(0, 3.5, 40, dtype=np.float32)[:, None], (1, 40)))
    assert blurred[0, 19] == 0 and blurred[0, 20] == 255  # sigma 0: untouched
    assert 60 < blurred[-1, 19] < 128 < blurred[-1, 20] < 195  # sigma 3.5: a soft edge


def test_geometry_inverses_and_fax_rows() -> None:
    creases = [
        {"axis": "y", "at_mm": 150.0, "angle_deg": 1.0, "shift_mm": [2.0, 1.0], "extent_mm": [150.0, 147.0]},
        {"axis": "x", "at_mm": 100.0, "angle_deg": -0.5, "shift_mm": [0.5, 1.5], "extent_mm": [100.0, 110.0]},
    ]
    points = np.random.default_rng(0).uniform((0, 0), (210, 297), (50, 2))
    assert np.allclose(unfold_points(creases, fold_points(creases, points)), points, atol=1e-9)
    top = fold_points(creases[:1], np.array([[105.0, 0.0]]))
    assert top[0, 1] == pytest.approx(2.0, abs=0.01)  # the far edge moved by the drawn amount
    lens = {"k1": -0.03, "centre": [500.0, 400.0], "radius": 640.0}
    pixels = np.random.default_rng(1).uniform(0, 1000, (50, 2))
    assert np.allclose(lens_undistort(lens, lens_distort(lens, pixels)), pixels, atol=1e-3)
    fax_rows = {
        "scan_rows": 100,
        "feed": 1.0,
        "wobble": [],
        "lines": [{"at": 10, "rows": 2, "kind": "lost"}, {"at": 50, "rows": 3, "kind": "repeated"}],
        "header_rows": 5,
        "header_mode": "prepend",
    }
    source = fax_source_rows(fax_rows)
    assert len(source) == 100 - 2 + 3 + 5 and np.isnan(source[:5]).all()
    # Glitches apply in turn, each at a row of the image as it then is: the repeat is of row 50 after the loss.
    assert source[5 + 10] == 12 and list(source[5 + 49 : 5 + 55]) == [51, 52, 52, 52, 52, 53]
    last = len(source) - 1
    assert list(fax_rows_forward(fax_rows, np.array([0.0, 12.0, 52.0, 200.0]))) == [5, 15, 55, last + 101]
    # A noise burst drops a band of lines at once: rows 69 and 70 of the image were 68 and 79 of the page.
    burst = {**fax_rows, "lines": [*fax_rows["lines"], {"at": 70, "rows": 10, "kind": "burst"}]}  # type: ignore[list-item]
    dropped = fax_source_rows(burst)
    assert len(dropped) == len(source) - 10 and list(dropped[5 + 69 : 5 + 71]) == [68, 79]


def test_a_curled_photo_moves_each_point_where_the_geometry_says() -> None:
    """The paper's curl (a photo's sheet not quite flat on the desk) is part of the geometry: a dot drawn on the flat
    photo lies, once curled, where :func:`curl_forward` puts it, not where it was (the truth's marks and boxes were up
    to the curl's amplitude off before: a faint tick on a box's border judged as left on the page)."""
    photo = np.full((600, 500), 255.0, np.float32)
    dots = np.array([[120.0, 90.0], [400.0, 300.0], [250.0, 520.0]])
    for x, y in dots:
        cv2.circle(photo, (int(x), int(y)), 3, 0.0, -1)
    bent, _, curl = curl_paper(photo, np.ones_like(photo), np.random.default_rng(5), 9.0)
    moved = curl_forward(curl, dots)
    assert np.abs(moved - dots).max() > 3.0  # the curl moved them visibly
    for x, y in moved:
        left, top = int(x) - 8, int(y) - 8
        window = 255.0 - bent[top : top + 17, left : left + 17]
        rows, columns = np.indices(window.shape)
        centre = np.array([(columns * window).sum(), (rows * window).sum()]) / window.sum() + (left, top)
        assert np.hypot(*(centre - (x, y))) < 0.5


def test_a_phone_photos_boxes_lie_where_the_geometry_puts_them(ballots: Path, layout: Layout, tmp_path: Path) -> None:
    """On a plain phone photo (perspective and curl) each box's printed border lies where :func:`page_to_image` puts
    it, to a pixel as a rule and two at the most for 95 % of sides: measured across each side at its middle, the
    darkest line found (the median was 2 px off, the curl left out)."""
    sheets = simulate_batch(ballots, layout, tmp_path, profile="phone", seed=11, pages=3, file_format="png")
    curls = [float(sheet.degradation["curl"]["amplitude_px"]) for sheet in sheets]  # type: ignore[index, arg-type]
    assert max(curls) > 3.0  # at least one sheet curled by more than the tolerance
    for sheet in sheets:
        image = pages_of(tmp_path, sheet).astype(np.float64)
        misses = []
        for box in layout.boxes:
            left, top, right, bottom = box.rect.x, box.rect.y, box.rect.x + box.rect.w, box.rect.y + box.rect.h
            middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
            for side, inward in (((left, middle_y), (1, 0)), ((right, middle_y), (-1, 0)), ((middle_x, top), (0, 1))):
                at, step = page_to_image(sheet.degradation, np.array([side, np.add(side, np.multiply(inward, 0.1))]))
                direction = (step - at) / np.hypot(*(step - at))
                offsets = np.arange(-8, 9)
                samples = at + offsets[:, None] * direction
                values = image[np.rint(samples[:, 1]).astype(int), np.rint(samples[:, 0]).astype(int)]
                misses.append(abs(int(offsets[int(np.argmin(values))])))
        assert np.median(misses) <= 1 and np.percentile(misses, 95) <= 2, (sheet.file, sorted(misses)[-10:])


def test_a_slipping_feed_draws_a_band_of_the_sheet_taller_or_shorter() -> None:
    """A band of the sheet passing the sensor a tenth faster shows each scan row a tenth more of the page (drawn
    shorter); before and after it the feed's rate; the page below it comes out that much higher, and the truth's
    geometry follows it both ways."""
    fax_rows = {"scan_rows": 600, "feed": 1.0, "wobble": [], "slips": [[100.0, 200.0, 0.1, 20.0]], "lines": []}
    nominal = fax_scan_rows(fax_rows, 600)
    rate = np.diff(nominal)
    assert np.allclose(rate[:99], 1.0) and np.allclose(rate[121:279], 1.1) and np.allclose(rate[301:], 1.0)
    assert nominal[400] - 400 == pytest.approx(0.1 * 180, abs=0.5)  # ahead by the band's slip, ramps halved
    back = fax_rows_forward({**fax_rows, "header_rows": 0, "header_mode": "none"}, nominal[[50, 200, 500]])
    assert list(np.round(back)) == [50, 200, 500]
    drawn = [fax_settings(np.random.default_rng(seed), "fine")["slips"] for seed in range(400)]
    slipping = [slips for slips in drawn if slips]
    assert 0.4 < len(slipping) / len(drawn) < 0.6
    for slips in slipping:
        assert all(0.03 <= abs(speed) <= 0.10 and 15 * 7.7 <= length <= 80 * 7.7 for _, length, speed, _ in slips)
        bands = sorted((start, start + length) for start, length, _, _ in slips)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(bands))  # one band slips at a time


def test_cli_passes_conditions(ballots: Path, tmp_path: Path) -> None:
    out = tmp_path / "scans"
    arguments = [str(ballots), "--template", str(TEMPLATE_FILE), "-o", str(out), "--profile", "office", "--pages", "1"]
    result = CliRunner().invoke(simulate_command, [*arguments, "--condition", "folded", "--condition", "long-tick"])
    assert result.exit_code == 0, result.output
    assert load_truth(out)[0].capture["conditions"] == ["folded", "long-tick"]
    result = CliRunner().invoke(simulate_command, [*arguments, "--condition", "fax-fine"])
    assert result.exit_code == 1 and "fax" in result.output


def test_a_photo_in_dim_light_is_darker_and_grainier_with_the_same_voters(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    """The same sheet photographed as a phone does in dim light: the paper darker by the recorded exposure, the noise
    (the image less its 5-pixel median) larger, the voters the same."""
    plain = simulate_batch(ballots, layout, tmp_path / "plain", profile="phone", seed=6, pages=1)
    dim = simulate_batch(ballots, layout, tmp_path / "dim", profile="phone", seed=6, pages=1, conditions=["dim-light"])
    assert [sheet.rows for sheet in dim] == [sheet.rows for sheet in plain]
    record = dim[0].degradation["dim_light"]
    assert isinstance(record, dict) and 0.6 <= record["exposure"] <= 0.85 and 6.0 <= record["noise_sigma"] <= 12.0

    def paper_and_noise(image: Gray) -> tuple[float, float]:
        middle = image[image.shape[0] * 2 // 3 : image.shape[0] * 3 // 4, image.shape[1] // 3 : image.shape[1] // 2]
        grain = middle.astype(np.float32) - cv2.medianBlur(middle, 5).astype(np.float32)
        return float(np.percentile(middle, 90)), float(grain.std())

    (bright, quiet), (dark, grainy) = (
        paper_and_noise(pages_of(folder, sheets[0]))
        for folder, sheets in ((tmp_path / "plain", plain), (tmp_path / "dim", dim))
    )
    assert dark < 0.9 * bright and grainy > 1.5 * quiet


def test_a_red_pen_keeps_the_voters_plan_and_every_firm_mark_of_theirs_comes_out_light(
    ballots: Path, layout: Layout, tmp_path: Path
) -> None:
    """A red pen seen through a grey conversion that keeps little of red: the same voters mark the same boxes, their
    marks in a light grey (RED_DROPPED), 15–40 % as dark as black ink, where the plain run's pens are darker."""
    plain = steady_office(ballots, layout, tmp_path / "plain")
    red = steady_office(ballots, layout, tmp_path / "red", "red-pen")
    assert [[(row.intent, row.marks) for row in sheet.rows] for sheet in red] == [
        [(row.intent, row.marks) for row in sheet.rows] for sheet in plain
    ]
    for sheet, before in zip(red, plain, strict=True):
        inks = {row.ink for row in sheet.rows if row.ink is not None and not row.ambiguous}
        assert len(inks) == 1 and RED_DROPPED[0] <= inks.pop() <= RED_DROPPED[1]  # one pen, as light as dropped red
        assert max(row.ink or 0 for row in before.rows if not row.ambiguous) < RED_DROPPED[0]
