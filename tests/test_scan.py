"""Scanning a batch: every page ends in exactly one stored outcome with a reason, whatever is fed in."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.ballot.payload import SheetId
from pipeline.ballot.template import Template
from pipeline.cli import main
from pipeline.common.reasons import PageReason, Why
from pipeline.printing.render import render_ballots
from pipeline.reading.ingest import pdf_bytes_pages
from pipeline.reading.settings import ReadingSettings
from pipeline.scanning.batch import ScanSummary, prepare, scan
from pipeline.store.database import open_store
from tests.helpers import DPI, PX, Batch, box, circle, fill, from_afar, print_batch, read_image, save_jpeg, tick

UNITS = [
    "局机关",
    "文化馆",
    "图书馆",
    "博物馆",
    "文物管理所",
    "体育中心",
    "业余体育学校",
    "文化市场综合执法大队",
    "非物质文化遗产保护中心",
    "文艺演出中心",
]
OPTIONS = ["满意", "基本满意", "不满意"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Batch:
    return print_batch(tmp_path_factory.mktemp("printed"), template, 8)


def filled(batch: Batch, index: int, choices: dict[str, str]) -> np.ndarray:
    image = batch.pages()[index]
    for unit, option in choices.items():
        tick(image, box(batch.layout, unit, option))
    return image


def choices_for(seed: int) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    return {unit: OPTIONS[int(rng.integers(3))] for unit in UNITS}


def export(db: Path) -> list[dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["export", "--session", "2026H1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_mixed_folder_reports_each_page(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    truth = {0: choices_for(0), 1: choices_for(1), 2: choices_for(2), 3: choices_for(3)}
    save_jpeg(filled(batch, 0, truth[0]), folder / "01 第一张.jpg")
    save_jpeg(cv2.rotate(filled(batch, 1, truth[1]), cv2.ROTATE_180), folder / "02-upside-down.jpg")
    save_jpeg(cv2.rotate(filled(batch, 2, truth[2]), cv2.ROTATE_90_CLOCKWISE), folder / "03-turned.jpg")
    page3 = filled(batch, 3, truth[3])
    save_jpeg(page3, folder / "04.jpg")
    save_jpeg(cv2.GaussianBlur(page3, (3, 3), 0), folder / "05-photocopy.jpg")
    save_jpeg(np.full((2339, 1654), 248, np.uint8), folder / "06-back.jpg")
    (folder / "07-corrupt.jpg").write_bytes((folder / "04.jpg").read_bytes()[:3000])
    (folder / "08-notes.jpg").write_text("not a scan", encoding="utf-8")

    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db), "--jobs", "2"])
    assert result.exit_code == 2, result.output
    lines = {Path(line["source"]).name: line for line in export(db)}
    assert {name: line["outcome"] for name, line in lines.items()} == {
        "01 第一张.jpg": "read",
        "02-upside-down.jpg": "read",
        "03-turned.jpg": "read",
        "04.jpg": "read",
        "05-photocopy.jpg": "duplicate",
        "06-back.jpg": "blank",
        "07-corrupt.jpg": "unreadable",
        "08-notes.jpg": "unreadable",
    }
    assert lines["08-notes.jpg"]["page"] == 0
    assert lines["05-photocopy.jpg"]["reason_code"] == Why.DUPLICATE_SERIAL
    assert "复印件或重扫" in lines["05-photocopy.jpg"]["reason"]
    for name, index in [("01 第一张.jpg", 0), ("02-upside-down.jpg", 1), ("03-turned.jpg", 2), ("04.jpg", 3)]:
        rows = lines[name]["rows"]
        assert {unit: rows[unit]["reading"] for unit in UNITS} == truth[index], name
        assert rows["测评人类别"]["reading"] == "blank"
        assert set(rows["局机关"]["scores"]) == set(OPTIONS)

    again = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db)])
    assert again.exit_code == 0 and "扫描过" in again.output
    assert len(export(db)) == len(lines), "scanning the same files again must change nothing"


def test_clean_batch_exits_zero_and_status_counts(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    save_jpeg(filled(batch, 4, choices_for(4)), folder / "a.jpg")
    faint = filled(batch, 5, {})
    tick(faint, box(batch.layout, "文化馆", "满意"), grey=215, width_mm=0.3)
    save_jpeg(faint, folder / "b.jpg")
    save_jpeg(np.full((2339, 1654), 250, np.uint8), folder / "back.jpg")
    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    status = CliRunner().invoke(main, ["status", "--session", "2026H1", "--db", str(db)])
    assert "已读取：2" in status.output and "空白页：1" in status.output
    assert "待复核行：1" in status.output and "未计入的页：0（待处理：0）" in status.output
    rows = {Path(line["source"]).name: line["rows"] for line in export(db)}
    assert rows["b.jpg"]["文化馆"]["reading"] == "pending"
    assert rows["b.jpg"]["局机关"]["reading"] == "blank"


def test_photos_lacking_their_end_marker_or_tagged_wrongly_are_read(tmp_path: Path, batch: Batch) -> None:
    """Seen in photos a phone scanner app saved: JPEGs that end without FF D9, every row there, and EXIF
    orientation tags 6 and 3 on pictures already upright. Each is read with every row right: the page's own
    code and marks decide which way is up, not the tag. One cut short is still refused."""
    from PIL import Image

    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    truth = {index: choices_for(10 + index) for index in (0, 1, 2)}
    pages = {index: filled(batch, index, truth[index]) for index in truth}
    whole = save_jpeg(pages[0], tmp_path / "whole.jpg").read_bytes()
    (folder / "no-end-marker.jpg").write_bytes(whole[:-2])
    (folder / "cut-short.jpg").write_bytes(whole[: len(whole) // 3])
    for index, tag in ((1, 6), (2, 3)):
        exif = Image.Exif()
        exif[0x0112] = tag
        Image.fromarray(pages[index]).save(folder / f"tagged-{tag}.jpg", exif=exif, quality=90)
    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output  # the cut-short file needs attention
    lines = {Path(line["source"]).name: line for line in export(db)}
    assert lines["cut-short.jpg"]["outcome"] == "unreadable"
    assert lines["cut-short.jpg"]["reason_code"] == Why.IMAGE_TRUNCATED
    for name, index in (("no-end-marker.jpg", 0), ("tagged-6.jpg", 1), ("tagged-3.jpg", 2)):
        line = lines[name]
        assert line["outcome"] == "read", (name, line["reason"])
        readings = {unit: row["reading"] for unit, row in line["rows"].items() if unit in truth[index]}
        assert {unit: reading for unit, reading in readings.items() if reading != "pending"}.items() <= (
            truth[index].items()
        ), name
        assert sum(reading == "pending" for reading in readings.values()) <= 1, name


def test_an_iphones_heic_photos_are_read_and_a_damaged_one_is_refused_with_its_reason(
    tmp_path: Path, batch: Batch
) -> None:
    """An iPhone saves its photos as HEIC unless told otherwise (Settings → Camera → Formats), in colour, a portrait
    page stored sideways with its turn in the file: each is read with its rows, as its JPEG would be. A file cut in
    half on its way (a transfer broken off) is refused with the decoder's words, the batch carried on."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    truth = {index: choices_for(20 + index) for index in (0, 1)}
    pages = {index: filled(batch, index, truth[index]) for index in truth}
    Image.fromarray(pages[0]).convert("RGB").save(folder / "IMG_0001.HEIC", quality=80)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90° clockwise: stored turned the other way
    Image.fromarray(np.rot90(pages[1])).convert("RGB").save(folder / "IMG_0002.HEIC", quality=80, exif=exif.tobytes())
    whole = (folder / "IMG_0001.HEIC").read_bytes()
    (folder / "IMG_0003.HEIC").write_bytes(whole[: len(whole) // 2])
    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output  # the broken file needs attention
    lines = {Path(line["source"]).name: line for line in export(db)}
    assert lines["IMG_0003.HEIC"]["outcome"] == "unreadable"
    assert lines["IMG_0003.HEIC"]["reason_code"] == Why.PAGE_UNDECODABLE
    for name, index in (("IMG_0001.HEIC", 0), ("IMG_0002.HEIC", 1)):
        line = lines[name]
        assert line["outcome"] == "read" and line["serial"] == batch.serials[index], (name, line["reason"])
        assert {unit: row["reading"] for unit, row in line["rows"].items() if unit in truth[index]} == truth[index]


def test_other_session_and_foreign_serial(tmp_path: Path, batch: Batch, template: Template) -> None:
    db = batch.fresh_db(tmp_path)
    store = open_store(db)
    earlier = store.issue_serials("2025H2", template, 1, "x.pdf")  # the last round's, printed with the same store
    store.close()
    render_ballots(template, "2025H2", earlier, tmp_path / "earlier.pdf")
    folder = tmp_path / "scans"
    folder.mkdir()
    save_jpeg(pdf_bytes_pages((tmp_path / "earlier.pdf").read_bytes(), DPI)[0], folder / "other-session.jpg")
    # Another seed than the batch's: a serial this store never issued.
    foreign = print_batch(
        tmp_path / "foreign" if (tmp_path / "foreign").mkdir() is None else tmp_path, template, 1, seed=1
    )
    save_jpeg(foreign.pages()[0], folder / "foreign.jpg")
    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H1", "--db", str(db)])
    assert result.exit_code == 2
    lines = {Path(line["source"]).name: line for line in export(db)}
    assert lines["other-session.jpg"]["outcome"] == "wrong_session"
    assert "2025H2" in lines["other-session.jpg"]["reason"]
    assert lines["foreign.jpg"]["outcome"] == "unknown_serial"


def test_a_torn_corner_or_a_cut_edge_is_read_while_every_box_is_in_the_image(tmp_path: Path, batch: Batch) -> None:
    """A corner torn away leaves three marks to fit; the bottom edge cut off, two marks: the fit grows from the
    QR code over the boxes (issue 19: refuse only when a box is outside the image). Cut through the table, the
    page is refused."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    truth = choices_for(6)
    torn = filled(batch, 6, truth)
    marks = batch.layout.registration
    bl = marks[3]
    torn[int((bl.y - 3) * PX) :, : int((bl.x + bl.w + 3) * PX)] = 255  # bottom-left corner torn away
    save_jpeg(torn, folder / "torn.jpg")
    two = filled(batch, 7, truth)
    two[int((bl.y - 3) * PX) :, :] = 255  # the whole bottom edge cut off
    save_jpeg(two, folder / "cut.jpg")
    save_jpeg(filled(batch, 5, truth)[: round(190 * PX)], folder / "cut-through-the-table.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    lines = {Path(line["source"]).name: line for line in export(db)}
    for name in ("torn.jpg", "cut.jpg"):
        assert lines[name]["outcome"] == "read", lines[name]["reason"]
        assert {unit: lines[name]["rows"][unit]["reading"] for unit in UNITS} == truth
    assert lines["cut-through-the-table.jpg"]["outcome"] == "unreadable"
    assert lines["cut-through-the-table.jpg"]["reason_code"] == Why.CUT_OFF


def test_a_circled_box_is_read_and_a_mark_beside_a_box_is_flagged(tmp_path: Path, batch: Batch) -> None:
    """A ring drawn round a box is a vote for it when it is the row's only mark; a ring and another mark,
    or a stroke beside a box, go to a clerk."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    image = filled(batch, 0, {})
    circle(image, box(batch.layout, "图书馆", "基本满意"))
    circle(image, box(batch.layout, "博物馆", "满意"))
    tick(image, box(batch.layout, "博物馆", "不满意"))
    beside = box(batch.layout, "文化馆", "不满意").rect
    x, top, bottom = (beside.x + beside.w + 1.2) * PX, (beside.y + 0.5) * PX, (beside.y + beside.h - 0.5) * PX
    cv2.line(image, (int(x), int(top)), (int(x + 0.8 * PX), int(bottom)), 30, int(0.5 * PX), lineType=cv2.LINE_AA)
    save_jpeg(image, folder / "circle.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    [line] = export(db)
    readings = {unit: row["reading"] for unit, row in line["rows"].items()}
    assert readings["图书馆"] == "基本满意" and readings["局机关"] == "blank"
    flagged = {row.state.unit: row.state.reason for row in open_store(db).flagged_rows("2026H1")}
    assert flagged == {"博物馆": "circle", "文化馆": "outside"}


def test_specks_in_a_box_are_asked_about_and_one_dot_is_a_vote(tmp_path: Path, batch: Batch) -> None:
    """Dust on a dirty scan may put several dark specks in one box, together as much ink as a small tick;
    none of them is a mark, so the row goes to a clerk. One dot of the same ink is a voter's mark."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    image = filled(batch, 0, {"局机关": "满意"})

    def speck(target: str, option: str, at: tuple[float, float], radius_mm: float) -> None:
        rect = box(batch.layout, target, option).rect
        centre = (round((rect.x + at[0] * rect.w) * PX), round((rect.y + at[1] * rect.h) * PX))
        cv2.circle(image, centre, round(radius_mm * PX), 25, -1, cv2.LINE_AA)

    for at in ((0.3, 0.3), (0.7, 0.35), (0.35, 0.7), (0.68, 0.7)):
        speck("文化馆", "基本满意", at, 0.35)
        speck("局机关", "不满意", at, 0.12)  # beside a tick: too small to count at all
    speck("图书馆", "不满意", (0.5, 0.5), 0.8)
    save_jpeg(image, folder / "specks.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    [line] = export(db)
    assert line["rows"]["文化馆"]["scores"]["基本满意"] >= ReadingSettings().marks.definite  # as much ink as a tick
    readings = {unit: row["reading"] for unit, row in line["rows"].items()}
    assert readings["图书馆"] == "不满意" and readings["局机关"] == "满意"
    flagged = {row.state.unit: row.state.reason for row in open_store(db).flagged_rows("2026H1")}
    assert flagged == {"文化馆": "marginal"}


def test_a_small_tick_cut_in_two_by_the_border_is_one_mark(tmp_path: Path, batch: Batch) -> None:
    """A small tick whose point dips below the box's bottom border leaves two arms inside the box, apart:
    together they are the voter's one mark, not scattered specks."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    image = filled(batch, 0, {})
    for unit, (point, size) in {"图书馆": (0.35, 0.22), "博物馆": (0.5, 0.2)}.items():
        rect = box(batch.layout, unit, "满意").rect
        x, y, w, h = rect.x * PX, rect.y * PX, rect.w * PX, rect.h * PX
        arms = [(point - 0.6 * size, 1 - size), (point, 1.08), (point + 1.2 * size, 1 - 1.6 * size)]
        points = np.array([[x + u * w, y + v * h] for u, v in arms], np.int32)
        cv2.polylines(image, [points], False, 60, int(0.35 * PX), cv2.LINE_AA)
    save_jpeg(image, folder / "small.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    [line] = export(db)
    assert [line["rows"][unit]["reading"] for unit in ("图书馆", "博物馆")] == ["满意", "满意"]


def test_a_pale_pencil_tick_on_a_clean_scan_is_asked_about(tmp_path: Path, batch: Batch) -> None:
    """A light pencil tick the scanner rendered as a pale line (8 % of the way from paper to black, under
    the ink level) is no 弃权: a clerk can see it, so the row goes to review; empty rows stay blank."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    image = filled(batch, 0, {})
    tick(image, box(batch.layout, "图书馆", "满意"), grey=235, width_mm=0.3, big=False)
    save_jpeg(image, folder / "pale.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    [line] = export(db)
    assert line["rows"]["图书馆"]["scores"]["满意"] > 0
    flagged = {row.state.unit: row.state.reason for row in open_store(db).flagged_rows("2026H1")}
    assert flagged == {"图书馆": "marginal"}
    assert all(line["rows"][unit]["reading"] == "blank" for unit in UNITS if unit != "图书馆")


@pytest.mark.parametrize("sigma_mm", [0.25, 0.6])
def test_a_soft_scan_shows_no_ink_beside_the_printed_lines(tmp_path: Path, batch: Batch, sigma_mm: float) -> None:
    """A defocused photo spreads every printed line's grey a millimetre wide; the scorer subtracts the
    printed lines as blurred as the scan shows them, so empty boxes stay empty and ticks are read. Far
    softer (σ 0.6 mm: the QR code no longer decodes, so only the table is blurred), rows may go to a
    clerk but none is read wrong."""
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    truth = dict(list(choices_for(9).items())[:5])
    image = filled(batch, 0, truth)
    table = int((batch.layout.rows[0].band.y - 15) * PX)
    image[table:] = cv2.GaussianBlur(image, (0, 0), sigma_mm * PX)[table:]
    save_jpeg(image, folder / "soft.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    [line] = export(db)
    readings = {unit: row["reading"] for unit, row in line["rows"].items() if unit in UNITS}
    if sigma_mm < 0.3:
        assert readings == {unit: truth.get(unit, "blank") for unit in UNITS}
        empty = [score for unit in UNITS if unit not in truth for score in line["rows"][unit]["scores"].values()]
        assert max(empty) == 0
    else:
        assert all(readings[unit] in ("pending", truth.get(unit, "blank")) for unit in UNITS), (readings, truth)


def test_killed_run_resumes_without_loss_or_double_count(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    pages = [filled(batch, index, choices_for(10 + index)) for index in range(3)]
    multipage = folder / "batch.tif"
    from PIL import Image

    frames = [Image.fromarray(page) for page in pages]
    frames[0].save(multipage, save_all=True, append_images=frames[1:], compression="tiff_lzw")
    store = open_store(db)
    # A run that stopped after registering the file and storing one page:
    tasks = prepare([folder], store, "2026H1", ScanSummary())
    assert [task.page_no for task in tasks] == [1, 2, 3]
    from pipeline.scanning.batch import _init_worker, _read_task, page_record

    settings = ReadingSettings()
    settings_hash = store.register_settings(settings)
    classification = store.classification_for("2026H1", settings_hash)
    _init_worker("2026H1", store.catalog(), [], settings, None)
    store.save_page(page_record(*_read_task(tasks[0]), ("2026H1", settings_hash, classification)))
    summary = scan([folder], store, "2026H1", settings)
    assert sum(summary.outcomes.values()) == 2, "only the two missing pages are read again"
    lines = export(db)
    assert [line["page"] for line in lines] == [1, 2, 3]
    assert all(line["outcome"] == "read" for line in lines)
    for line, index in zip(lines, range(3), strict=True):
        assert {unit: line["rows"][unit]["reading"] for unit in UNITS} == choices_for(10 + index)


def test_rescore_reclassifies_without_images(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    save_jpeg(filled(batch, 1, choices_for(21)), folder / "a.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    (folder / "a.jpg").unlink()
    strict = tmp_path / "strict.yaml"  # nothing counts as marked, nothing as circled
    strict.write_text(
        "marks:\n  definite: 0.95\n  marginal: 0.9\n  outside: 0.99\n  circle_border_match: 1.0\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["rescore", "--session", "2026H1", "--db", str(db), "--settings", str(strict)])
    assert result.exit_code == 0, result.output
    [line] = export(db)
    assert {line["rows"][unit]["reading"] for unit in UNITS} == {"blank"}
    classifications = open_store(db).db.execute("SELECT count(*) FROM classifications").fetchone()[0]
    assert classifications == 2, "the first machine reading is kept beside the new one"


def test_debug_overlays_only_when_asked(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    save_jpeg(filled(batch, 2, choices_for(2)), folder / "a.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings(), debug_dir=tmp_path / "debug")
    overlays = list((tmp_path / "debug").iterdir())
    assert len(overlays) == 1 and cv2.imread(str(overlays[0])) is not None
    assert not list(tmp_path.glob("**/*overlay*"))


def test_csv_export_one_row_per_ballot_row(tmp_path: Path, batch: Batch) -> None:
    db = batch.fresh_db(tmp_path)
    folder = tmp_path / "scans"
    folder.mkdir()
    save_jpeg(filled(batch, 0, choices_for(0)), folder / "a.jpg")
    scan([folder], open_store(db), "2026H1", ReadingSettings())
    result = CliRunner().invoke(main, ["export", "--session", "2026H1", "--db", str(db), "--format", "csv"])
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("source,page,serial,outcome,unit,reading,reason")
    assert len(lines) == 1 + 11


def test_the_blank_template_is_rendered_once_per_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ballot print` keeps the scorer's rendering of the blank in the store; scans use it from there."""
    import pipeline.reading.model

    db = tmp_path / "print.db"
    printed = CliRunner().invoke(
        main, ["print", "templates/shuangping.yaml", "--session", "2026H1", "--copies", "1", "--db", str(db),
               "-o", str(tmp_path / "b.pdf")]
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    store = open_store(db)
    [template] = store.session_templates("2026H1")
    kept = store.template_blank(template.content_hash(), pipeline.reading.model.BLANK_PX_PER_MM)
    assert kept is not None and kept.startswith(b"\x89PNG")

    def no_rendering(_: Template) -> bytes:
        raise AssertionError("rendered again")

    monkeypatch.setattr(pipeline.reading.model, "render_blank_png", no_rendering)
    assert store.blank_rendering(template) == kept


def test_a_light_pencil_ring_pressed_unevenly_is_read_on_a_clean_scan(batch: Batch) -> None:
    """Light pencil drawn round a box with uneven pressure breaks into a firm arc and fainter pieces, plainly
    a ring. On a clean scan the faint pieces complete it; the firm half ring alone is still asked about."""
    image = filled(batch, 0, {})

    def arc(unit: str, option: str, start: int, end: int, grey: int) -> None:
        rect = box(batch.layout, unit, option).rect
        centre = (round((rect.x + rect.w / 2) * PX), round((rect.y + rect.h / 2) * PX))
        axes = (round(rect.w * 0.85 * PX), round(rect.h * 0.75 * PX))
        cv2.ellipse(image, centre, axes, 0, start, end, grey, round(0.35 * PX), cv2.LINE_AA)

    arc("图书馆", "基本满意", 0, 190, 170)  # firm (darkness ~0.3) …
    arc("图书馆", "基本满意", 202, 271, 222)  # … then two faint pieces (~0.13), apart from it and each other
    arc("图书馆", "基本满意", 283, 348, 222)
    arc("博物馆", "满意", 0, 190, 170)  # the same firm arc, nothing else
    readings = {row.unit: row for row in read_image(batch, image).readings}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "基本满意")
    assert (readings["博物馆"].reading, readings["博物馆"].reason) == ("pending", "outside")


def tight_ring(image: np.ndarray, batch: Batch, unit: str, option: str, grey: int = 175, arc: int = 360) -> None:
    """A ring drawn so tight round a box that it runs along the printed border, crossing it at the corners:
    pencil grey 175 unless ``grey`` says otherwise; ``arc`` degrees of it."""
    rect = box(batch.layout, unit, option).rect
    centre = (round((rect.x + rect.w / 2) * PX), round((rect.y + rect.h / 2) * PX))
    axes = (round((rect.w / 2 + 0.45) * PX), round((rect.h / 2 + 0.2) * PX))
    cv2.ellipse(image, centre, axes, 0, 0, arc, grey, round(0.3 * PX), cv2.LINE_AA)


def test_a_light_ring_drawn_tight_along_the_border_is_never_a_blank_row(batch: Batch) -> None:
    """A pencil ring drawn tight along the printed border has hardly any ink beside the line or inside the
    box; a clerk still sees it plainly. The row must not read 弃权, nor may a tick in another box of the row
    be counted past it."""
    image = filled(batch, 0, {"博物馆": "不满意"})
    tight_ring(image, batch, "图书馆", "满意")
    tight_ring(image, batch, "博物馆", "满意")
    readings = {row.unit: row for row in read_image(batch, image).readings}
    assert readings["图书馆"].reading in ("pending", "choice") and readings["图书馆"].choice in (None, "满意")
    assert readings["博物馆"].reading == "pending"
    assert all(readings[unit].reading == "blank" for unit in UNITS if unit not in ("图书馆", "博物馆"))


def wobble(image: np.ndarray, batch: Batch, unit: str, option: str, grey: int = 175) -> None:
    """Where a hand drawing a tight ring wanders off the border: a quarter of a wider ring, 1 mm out."""
    rect = box(batch.layout, unit, option).rect
    centre = (round((rect.x + rect.w / 2) * PX), round((rect.y + rect.h / 2) * PX))
    axes = (round((rect.w / 2 + 1.0) * PX), round((rect.h / 2 + 1.0) * PX))
    cv2.ellipse(image, centre, axes, 0, 200, 290, grey, round(0.3 * PX), cv2.LINE_AA)


def test_a_ring_drawn_tight_round_a_box_alone_in_its_row_is_that_box(batch: Batch) -> None:
    """On a clean scan, a ring all round one box's border, in pencil or in pen, with nothing else in the row,
    is that box's mark (rings like these were 0.6 % of one office batch's rows, all sent to a clerk), where the hand
    wanders off the border somewhere into the ring around the box, as hands do (620 tight rings of tuning seeds
    173–197). Half a ring is not a ring; nor is a ring that never leaves the printed line (a border softer than its
    row's leaves as much along it all round: tuning seed 197, an empty box read as a ring): those rows go to a clerk."""
    image = filled(batch, 0, {})
    for unit, option, grey in (("图书馆", "基本满意", 175), ("博物馆", "满意", 60), ("业余体育学校", "不满意", 175)):
        tight_ring(image, batch, unit, option, grey=grey)
    wobble(image, batch, "图书馆", "基本满意")
    wobble(image, batch, "博物馆", "满意", grey=60)
    tight_ring(image, batch, "文化馆", "不满意", arc=180)
    readings = {row.unit: row for row in read_image(batch, image).readings}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "基本满意")
    assert (readings["博物馆"].reading, readings["博物馆"].choice) == ("choice", "满意")
    assert readings["文化馆"].reading == "pending"
    assert (readings["业余体育学校"].reading, readings["业余体育学校"].reason) == ("pending", "edge")
    ringed = ("图书馆", "博物馆", "文化馆", "业余体育学校")
    assert all(readings[unit].reading == "blank" for unit in UNITS if unit not in ringed)


def speck_beside_an_empty_box(batch: Batch, image: np.ndarray) -> np.ndarray:
    """``image`` with one dark speck 0.6 mm across just right of an empty box (文物管理所, 不满意): stray ink."""
    empty = box(batch.layout, "文物管理所", "不满意").rect
    beside = (round((empty.x + empty.w + 1.2) * PX), round((empty.y + empty.h / 2) * PX))
    specked = image.copy()
    cv2.circle(specked, beside, round(0.3 * PX), 25, -1, cv2.LINE_AA)
    return specked


def test_a_small_dot_alone_in_its_row_is_read_on_a_clean_page_only(batch: Batch) -> None:
    """A dot 0.8 mm across covers less of the box than ``definite``: alone in its row, dark and in the box's
    middle, on a page without a speck anywhere, it is the voter's mark. One speck beside an empty box
    elsewhere on the page (dust: it comes in numbers) and the same dot goes to a clerk."""
    image = filled(batch, 0, {})
    target = box(batch.layout, "图书馆", "基本满意").rect
    centre = (round((target.x + target.w / 2) * PX), round((target.y + target.h / 2) * PX))
    cv2.circle(image, centre, round(0.38 * PX), 25, -1, cv2.LINE_AA)
    read = read_image(batch, image)
    [dot] = [score for score in read.scores if (score.unit, score.option) == ("图书馆", "基本满意")]
    marks = ReadingSettings().marks
    assert marks.dot <= dot.fill < marks.definite
    readings = {row.unit: row for row in read.readings}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "基本满意")
    assert all(readings[unit].reading == "blank" for unit in UNITS if unit != "图书馆")
    readings = {row.unit: row for row in read_image(batch, speck_beside_an_empty_box(batch, image)).readings}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", "marginal")


def test_a_light_tick_alone_in_its_row_is_read_on_a_clean_page_only(batch: Batch) -> None:
    """A light hand's pencil tick, fainter than ``firm`` (a poorly erased mark can be that faint on a
    degraded scan): alone in its row on a page without a speck anywhere it is the voter's mark; fainter
    still, or beside another tick in its row, or with a speck elsewhere on the page, it goes to a clerk."""
    image = filled(batch, 0, {})
    tick(image, box(batch.layout, "图书馆", "基本满意"), grey=210, width_mm=0.4, big=False)
    tick(image, box(batch.layout, "博物馆", "满意"), grey=225, width_mm=0.4, big=False)
    tick(image, box(batch.layout, "体育中心", "满意"), grey=210, width_mm=0.4, big=False)
    tick(image, box(batch.layout, "体育中心", "不满意"), big=False)
    read = read_image(batch, image)
    marks = ReadingSettings().marks
    darkness = {(score.unit, score.option): score.darkness for score in read.scores}
    assert marks.light <= darkness["图书馆", "基本满意"] < marks.firm
    assert darkness["博物馆", "满意"] < marks.light
    readings = {row.unit: row for row in read.readings}
    assert (readings["图书馆"].reading, readings["图书馆"].choice) == ("choice", "基本满意")
    assert (readings["博物馆"].reading, readings["博物馆"].reason) == ("pending", "marginal")
    assert (readings["体育中心"].reading, readings["体育中心"].reason) == ("pending", "marginal")
    readings = {row.unit: row for row in read_image(batch, speck_beside_an_empty_box(batch, image)).readings}
    assert (readings["图书馆"].reading, readings["图书馆"].reason) == ("pending", "marginal")


def test_two_boxes_filled_alike_are_an_overvote_and_a_scribble_beside_a_fill_is_asked(batch: Batch) -> None:
    """Two boxes of a row filled solid with the same pen are an overvote (无效, as a clerk would call it: no
    sign of which would be a correction). A box scribbled over so that the strokes run past its sides,
    beside a filled box, may be a correction: asked."""
    image = filled(batch, 0, {})
    for option in ("满意", "不满意"):
        fill(image, box(batch.layout, "图书馆", option))
    fill(image, box(batch.layout, "博物馆", "基本满意"))
    rect = box(batch.layout, "博物馆", "满意").rect
    for step in range(9):  # zigzag strokes across the box and 1 mm beyond its sides
        y = round((rect.y + 0.5 + step * (rect.h - 1) / 8) * PX)
        ends = (round((rect.x - 1) * PX), round((rect.x + rect.w + 1) * PX))
        cv2.line(image, (ends[step % 2], y), (ends[1 - step % 2], y + round(0.7 * PX)), 30, round(0.8 * PX))
    readings = {row.unit: row for row in read_image(batch, image).readings}
    assert readings["图书馆"].reading == "overvote"
    assert (readings["博物馆"].reading, readings["博物馆"].reason) == ("pending", "correction")


def test_an_empty_row_on_a_grainy_photo_is_not_called_blank(batch: Batch) -> None:
    """A dim photo with coarse grain: ink must be darker than light pencil before it stands out from the
    grain, so an empty row may hide a light pencil mark. Firm ticks are read; the empty rows go to a clerk,
    who can check the paper ballot. The same sheet photographed without the grain reads them 弃权."""
    image = filled(batch, 0, dict.fromkeys(UNITS[:6], "满意"))
    dim = 60 + image.astype(np.float32) * 0.55  # paper ~200, ink ~75
    grain = cv2.GaussianBlur(np.random.default_rng(1).normal(0, 1, image.shape).astype(np.float32), (0, 0), 2.0)
    grainy = np.clip(dim + grain / grain.std() * 8, 0, 255).astype(np.uint8)
    for page, empty in ((grainy, ("pending", "noisy")), (np.clip(dim, 0, 255).astype(np.uint8), ("blank", None))):
        readings = {row.unit: row for row in read_image(batch, page).readings}
        assert all((readings[unit].reading, readings[unit].choice) == ("choice", "满意") for unit in UNITS[:6])
        assert all((readings[unit].reading, readings[unit].reason) == empty for unit in UNITS[6:])


@pytest.mark.parametrize("seed", [3, 5])  # 5: no dot between the box and the grid line below it
def test_a_dotted_streak_through_a_box_on_a_fax_is_a_line_not_a_vote(batch: Batch, seed: int) -> None:
    """A speck on a fax machine's scanner bar leaves a column of dots on the 1-bit page. Inside a box they
    link into what looks like a stroke; the few dots between the box and its row's grid lines, or beyond
    them, are all that shows the line runs on. The row goes to a clerk as a line through a box, not as a
    vote."""
    image = filled(batch, 0, {"局机关": "满意"})
    rect = box(batch.layout, "文物管理所", "满意").rect
    x = round((rect.x + rect.w * 0.8) * PX)
    rng = np.random.default_rng(seed)
    for y in range(round((rect.y - 12) * PX), round((rect.y + rect.h + 12) * PX), 2):  # dots 0.25 mm wide
        if rng.random() < 0.6:  # … with gaps: read as a vote (fill 0.13, crossing 0) before
            image[y : y + 3, x : x + 3] = 0
    page = np.where(image < 128, 0, 255).astype(np.uint8)  # a fax: black and white only
    readings = {row.unit: row for row in read_image(batch, page).readings}
    assert (readings["文物管理所"].reading, readings["文物管理所"].reason) == ("pending", "line")
    assert (readings["局机关"].reading, readings["局机关"].choice) == ("choice", "满意")


def line_noise(page: np.ndarray, share: float) -> np.ndarray:
    """``page`` as a fax with heavy line noise: black and white only, ``share`` of its pixels flipped (half
    to black, half to white)."""
    flip = np.random.default_rng(3).random(page.shape)
    noisy = np.where(page < 128, 0, 255).astype(np.uint8)
    noisy[flip < share / 2], noisy[(flip >= share / 2) & (flip < share)] = 0, 255
    return noisy


def test_a_code_broken_into_specks_on_a_noisy_fax_is_read_despeckled(
    batch: Batch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 150-dpi fax with heavy line noise: 20 % of its pixels flipped breaks the code's finder patterns
    into specks, and neither zxing nor the enlarged passes find it (a B1 code's, of smaller modules, already at
    12 %). Cleaned of specks, the code reads, and so does the sheet."""
    from pipeline.reading import identify

    page = batch.pages(150)[0]
    tick(page, box(batch.layout, "局机关", "满意"), px=150 / 25.4)
    noisy = line_noise(page, 0.2)
    assert identify.find_qr(noisy) is None
    read = read_image(batch, noisy)
    assert read.sheet.serial == batch.serials[0]
    monkeypatch.setattr(identify, "PREPARED", ("enlarged", "enlarged, sharpened"))
    assert identify.find_small_qr(noisy) is None  # without the despeckling no pass finds it


def test_registration_marks_broken_up_by_fax_noise_are_found_cleaned(batch: Batch) -> None:
    """With a quarter of a 150-dpi fax's pixels flipped, the marks' rings lose their nesting and two of the
    four marks are not recognised: the page was refused for a torn corner. Looked for again in a
    median-filtered window, all four are found and the sheet is read (its rows go to a clerk)."""
    from pipeline.reading.align import find_mark

    page = batch.pages(150)[0]
    tick(page, box(batch.layout, "局机关", "满意"), px=150 / 25.4)
    noisy = line_noise(page, 0.25)
    read = read_image(batch, noisy)
    assert read.sheet.serial == batch.serials[0] and read.alignment.marks_found == 4
    # So noisy a page leaves most rows to a clerk (its dots line up into "lines", its grain hides pencil);
    # none is counted wrong.
    assert all(row.reading == "pending" or (row.unit, row.choice) == ("局机关", "满意") for row in read.readings)
    centres = read.alignment.to_pixels([mark.center for mark in batch.layout.registration])
    plain = [find_mark(noisy, centre, read.alignment.px_per_mm) for centre in centres]
    assert sum(found is None for found in plain) >= 2  # without the cleaning, two marks are missing


STICKER = "https://example.org/survey?id=0123456789"  # another program's code stuck or printed on the sheet


def test_a_sticker_code_in_a_corner_searched_first_does_not_hide_the_ballots_code(batch: Batch) -> None:
    """Fed upside down, the ballot's code lies in the corner searched second; a sticker's code in the top
    right, searched first, made the page "not from a ballot printed by this program"."""
    from pipeline.reading.identify import find_qr
    from tests.helpers import qr_image

    page = cv2.rotate(batch.pages()[0], cv2.ROTATE_180)
    sticker = qr_image(STICKER, module_px=6)
    top_right = np.s_[80 : 80 + sticker.shape[0], -sticker.shape[1] - 80 : -80]
    page[top_right] = sticker
    found = find_qr(page)
    assert found is not None and isinstance(found.sheet, SheetId) and found.sheet.serial == batch.serials[0]
    assert read_image(batch, page).sheet.serial == batch.serials[0]
    alone = np.full_like(page, 255)
    alone[top_right] = sticker
    found = find_qr(alone)  # with no ballot's code on the page, the sticker's is what there is to say
    assert found is not None and found.text == STICKER and found.sheet == PageReason.of(Why.CODE_NOT_OURS)


def test_a_clear_sticker_code_does_not_hide_a_small_soft_ballot_code(batch: Batch) -> None:
    """The sticker's code reads as it is, the ballot's only enlarged (a photo from afar): the page is read."""
    from pipeline.reading.identify import find_qr
    from tests.helpers import qr_image

    page = batch.pages(110)[0]
    sticker = qr_image(STICKER, module_px=5)
    page[40 : 40 + sticker.shape[0], 40 : 40 + sticker.shape[1]] = sticker
    photo = from_afar(page)
    found = find_qr(photo)
    # The ballot's code is too soft to read as it is (for this serial; 1 of 40 serials reads as it is).
    assert found is not None and found.text == STICKER
    assert read_image(batch, photo).sheet.serial == batch.serials[0]


def test_a_small_soft_code_of_a_photo_taken_from_afar_is_read_enlarged(batch: Batch) -> None:
    """A phone photo from a distance: ~110 dpi, soft, noisy, JPEG 50. zxing does not find the code as it is
    (6 % of such photos in one batch were rejected for "no QR code", with B1 codes at 140 dpi); enlarged, it does,
    and the page is read like any other. Whether the soft code reads as it is depends on its modules, so on the
    serial: 39 of 40 do not; the batch's serials are drawn from a fixed seed, so this page is one of those every
    run."""
    from pipeline.reading.identify import find_qr

    page = batch.pages(110)[0]
    tick(page, box(batch.layout, "局机关", "满意"), px=110 / 25.4)
    photo = from_afar(page)
    assert find_qr(photo) is None
    read = read_image(batch, photo)
    assert read.sheet.serial == batch.serials[0]
    # So soft a page at 4.3 px a mm sends its rows to a clerk (the tick `scribbled`, the empty rows' grain
    # `marginal`); none is counted wrong.
    truth = {row.unit: "满意" if row.unit == "局机关" else "blank" for row in read.readings}
    assert all(row.reading == "pending" or row.label == truth[row.unit] for row in read.readings)
