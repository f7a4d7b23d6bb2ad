"""Form scan: a template from a blank scan of a form an office made itself (issue 7, first half).

The "existing forms" are HTML tables printed to PDF by Debian's Chromium (benchmarks/ocr.py), in the
styles offices use, then rasterized and degraded like a scan. The OCR is real Tesseract. The rule under
test: every row label and option is recovered exactly or flagged for the clerk, never silently wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click
import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from benchmarks.ocr import CHROMIUM, FormSpec, Scan, available_fonts, chromium, print_pdf, scanned
from pipeline.ballot.template import TemplateInvalid, parse_template
from pipeline.cli.formscan import commands
from pipeline.forms.draft import proposal_template, template_yaml
from pipeline.forms.ocr import similarity, text_ems
from pipeline.forms.proposal import scan_blank
from pipeline.forms.proposed import FormNotFound, FormProposal
from pipeline.forms.ruling import deskew, find_tables
from pipeline.reading.ingest import ScanPage

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

UNITS_20 = (
    "局机关",
    "办公室",
    "文化馆",
    "图书馆",
    "博物馆",
    "体育中心",
    "文物管理所",
    "非物质文化遗产保护中心",
    "文化市场综合执法大队",
    "广播电视站",
    "政策法规股",
    "财务审计股",
    "行政审批股",
    "体育运动学校",
    "青少年活动中心",
    "县融媒体中心",
    "艺术团",
    "美术馆",
    "档案馆",
    "12345热线办",
)
FOUR = ("满意", "基本满意", "不满意", "不了解")
GRADES = ("非常满意", "满意", "一般", "不满意")
THREE = ("满意", "基本满意", "不满意")
TURNED = Scan("300 dpi, turned, JPEG 85", dpi=300.0, angle_deg=1.1, jpeg_quality=85)
BLURRED = Scan(
    "200 dpi, turned, blur, noise, JPEG 70", dpi=200.0, angle_deg=-0.6, blur_sigma=1.0, jpeg_quality=70, noise=3.0
)


def _forms() -> list[tuple[FormSpec, Scan]]:
    fonts = available_fonts()
    serif = "Noto Serif CJK SC" if "Noto Serif CJK SC" in fonts else fonts[0]
    third = fonts[2] if len(fonts) > 2 else fonts[0]
    fourth = fonts[3] if len(fonts) > 3 else serif
    return [
        (FormSpec("sans-boxes-3", "2026年度满意度测评表", UNITS_20[:8], THREE, fonts[0], 12.0), Scan(dpi=300.0)),
        (
            FormSpec(
                "serif-cells-4-merged",
                "“双评双比”满意度测评表",
                UNITS_20[:12],
                FOUR,
                serif,
                12.0,
                boxes=False,
                outer_px=2,
                merged_heading=True,
                remark_column=True,
                blank_rows=2,
            ),
            TURNED,
        ),
        (
            FormSpec("twenty-rows", "2026年度满意度测评表", UNITS_20, GRADES, third, 10.5, outer_px=2, row_mm=8.0),
            BLURRED,
        ),
        (
            FormSpec(
                "five-rows-no-number",
                "二级单位满意度测评表",
                UNITS_20[13:18],
                ("满意", "比较满意", "一般", "不满意"),
                fourth,
                14.0,
                boxes=False,
                number_column=False,
            ),
            TURNED,
        ),
        (
            # No ruled table: □ after each name, so the boxes move with the names' lengths (rows of alike
            # lengths make blocks that interleave; the rows must come out in the page's order).
            FormSpec("inline", "窗口单位满意度测评表", UNITS_20[4:12], FOUR, fonts[0], 12.0, style="inline"),
            TURNED,
        ),
        (
            FormSpec(
                "two-tables",
                "机关科室和二级单位满意度测评表",
                UNITS_20[:5],
                THREE,
                third,
                12.0,
                second_units=UNITS_20[5:11],
            ),
            Scan(dpi=300.0, angle_deg=-0.4),
        ),
    ]


FORMS = _forms()
# Named by no usual grade words: six grades in a ruled table of empty cells, a 1–7 scale without a table.
CLERKS_OPTIONS = [
    FormSpec("six-grades", "干部作风评议表", UNITS_20[:6], ("优秀", "良好", "较好", "一般", "较差", "差"), boxes=False),
    FormSpec(
        "seven-scale", "服务评价", UNITS_20[6:11], ("1", "2", "3", "4", "5", "6", "7"), size_pt=11.0, style="likert"
    ),
]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """Every form of FORMS printed to PDF once (Chromium starts once for the module)."""
    with chromium() as browser:
        yield {spec.name: print_pdf(browser, spec) for spec in [*(spec for spec, _ in FORMS), *CLERKS_OPTIONS]}


@pytest.fixture(scope="module")
def proposals(printed: dict[str, bytes]) -> dict[str, FormProposal]:
    found = {}
    for spec, scan in FORMS:
        result = scan_blank(ScanPage(f"{spec.name}.png", 1, scanned(printed[spec.name], scan), scan.dpi))
        assert not isinstance(result, FormNotFound), f"{spec.name}: {result}"
        found[spec.name] = result
    return found


@pytest.mark.parametrize(("spec", "scan"), FORMS, ids=[spec.name for spec, _ in FORMS])
def test_every_label_and_option_is_exact_or_flagged(
    spec: FormSpec, scan: Scan, proposals: dict[str, FormProposal]
) -> None:
    proposal = proposals[spec.name]
    section = proposal.sections[0]
    assert [column.word if column.heading.sure else None for column in section.options] == [
        option if column.heading.sure else None for option, column in zip(spec.options, section.options, strict=True)
    ]
    assert len(section.rows) == len(spec.units), section.notes
    silently_wrong = [
        (truth, row.label.text)
        for truth, row in zip(spec.units, section.rows, strict=True)
        if row.label.sure and row.label.text != truth
    ]
    assert not silently_wrong
    exact = sum(row.label.sure for row in section.rows)
    assert exact >= 0.75 * len(spec.units), [row.label for row in section.rows if not row.label.sure]
    assert section.marker == ("square" if spec.boxes else "cell")
    assert abs(proposal.skew_deg + scan.angle_deg) < 0.1
    assert proposal.title is not None and similarity(proposal.title.text, spec.title) >= 0.8


def test_each_table_with_options_is_a_section(proposals: dict[str, FormProposal]) -> None:
    spec = next(spec for spec, _ in FORMS if spec.name == "two-tables")
    proposal = proposals["two-tables"]
    assert [len(section.rows) for section in proposal.sections] == [5, 6]
    template, doubts = proposal_template(proposal, "two")
    units = [row.unit for section in template.sections for row in section.rows]
    assert sum(a == b for a, b in zip(units, spec.units + spec.second_units, strict=True)) >= 11 - len(doubts)
    assert template.external is not None
    first, second = template.external.sections
    assert first.table.y == 0 and second.table.y > first.table.y + first.table.h + 5  # the 二、二级单位 heading between


def test_blank_rows_are_left_out_and_reported(proposals: dict[str, FormProposal]) -> None:
    section = proposals["serif-cells-4-merged"].sections[0]
    assert [note for note in section.notes if "blank row" in note] == [
        "grid row 15 left out: blank row (no label)",
        "grid row 16 left out: blank row (no label)",
    ]
    assert not section.skipped
    # The 测评等次 heading spans the option columns; the 备注 column is no option.
    assert [column.word for column in section.options] == list(FOUR)


def test_template_geometry_is_in_mm_from_the_table_corner(proposals: dict[str, FormProposal]) -> None:
    spec = FORMS[0][0]
    template, doubts = proposal_template(proposals[spec.name], "sans-boxes")
    assert template.source == "external" and template.external is not None
    assert [row.unit for row in template.sections[0].rows] == list(spec.units) or doubts
    place = template.external.sections[0]
    assert place.table.x == 0 and place.table.y == 0
    assert 170 < place.table.w < 180  # A4 minus 16 mm margins each side
    assert place.marker == "square"
    first, second = place.rows[0], place.rows[1]
    assert first.band.h == pytest.approx(9.0, abs=0.6)  # rows are 9 mm high in the HTML
    assert second.band.y == pytest.approx(first.band.y + first.band.h, abs=0.2)
    for box in first.boxes:
        assert 2.5 < box.w < 6 and abs(box.w - box.h) < 0.6  # a printed □, not the cell
        assert first.band.y < box.y and box.y + box.h < first.band.y + first.band.h
    xs = [box.x for box in first.boxes]
    assert xs == sorted(xs)


def test_dont_know_column_becomes_dont_know_and_boxes_follow_template_order(proposals: dict[str, FormProposal]) -> None:
    template, _ = proposal_template(proposals["serif-cells-4-merged"], "merged")
    section = template.sections[0]
    assert section.options == ["满意", "基本满意", "不满意"] and section.dont_know
    assert template.external is not None
    boxes = template.external.sections[0].rows[0].boxes
    assert [box.x for box in boxes] == sorted(box.x for box in boxes)
    assert template.external.sections[0].marker == "cell"
    assert all(box.h == pytest.approx(9.0, abs=0.6) for box in boxes)  # the whole cell


def test_yaml_round_trips_and_marks_doubts(proposals: dict[str, FormProposal]) -> None:
    proposal = proposals["twenty-rows"]
    template, doubts = proposal_template(proposal, "twenty")
    text = template_yaml(template, doubts, "blank.jpg")
    assert parse_template(yaml.safe_load(text)) == template
    assert text.count("# 待核对") == len({doubt.path for doubt in doubts})
    assert "{unit: 12345热线办}" in text or "12345热线办" in {d.text for d in doubts} or '"12345热线办"' in text


def test_a_doubtful_label_is_kept_and_marked(proposals: dict[str, FormProposal]) -> None:
    proposal = proposals["sans-boxes-3"]
    section = proposal.sections[0]
    row = replace(
        section.rows[2], label=replace(section.rows[2].label, text="图书官", sure=False, doubt="low confidence 41")
    )
    rows = (*section.rows[:2], row, *section.rows[3:])
    doubtful = replace(proposal, sections=(replace(section, rows=rows),))
    template, doubts = proposal_template(doubtful, "doubtful")
    assert template.sections[0].rows[2].unit == "图书官"
    assert [str(doubt) for doubt in doubts] == ["sections.0.rows.2.unit = 图书官: low confidence 41"]
    assert "- {unit: 图书官}  # 待核对: low confidence 41" in template_yaml(template, doubts, "x.png")


def test_low_resolution_blank_flags_everything(printed: dict[str, bytes]) -> None:
    spec, _ = FORMS[0]
    image = scanned(printed[spec.name], Scan(dpi=150.0))
    result = scan_blank(ScanPage("low.png", 1, image, 150.0))
    assert isinstance(result, FormProposal)
    assert not any(row.label.sure for row in result.sections[0].rows)
    assert any("300 dpi" in note for note in result.notes)


def test_external_geometry_must_match_the_sections(proposals: dict[str, FormProposal]) -> None:
    template, _ = proposal_template(proposals["five-rows-no-number"], "five")
    data = template.model_dump(mode="json")
    data["sections"][0]["rows"].pop()
    with pytest.raises(TemplateInvalid) as caught:
        parse_template(data)
    assert [str(error) for error in caught.value.errors] == ["external.sections.0.rows → 4 needed, one per row"]
    data = template.model_dump(mode="json")
    data["source"] = "native"
    with pytest.raises(TemplateInvalid, match="problem"):
        parse_template(data)


def _cli() -> click.Group:
    group = click.Group("template")
    for command in commands:
        group.add_command(command)
    return group


@pytest.mark.parametrize("kind", ["pdf", "tif"])
def test_cli_writes_template_and_preview(kind: str, printed: dict[str, bytes], tmp_path: Path) -> None:
    spec, _ = FORMS[0]
    blank = tmp_path / f"blank.{kind}"
    if kind == "pdf":
        blank.write_bytes(printed[spec.name])
    else:
        Image.fromarray(scanned(printed[spec.name], Scan(dpi=300.0))).save(
            blank, dpi=(300, 300), compression="tiff_lzw"
        )
    output = tmp_path / "our-form.yaml"
    result = CliRunner().invoke(_cli(), ["from-scan", str(blank), "-o", str(output)])
    assert result.exit_code in (0, 2), result.output
    template = parse_template(yaml.safe_load(output.read_text(encoding="utf-8")))
    assert template.id == "our-form" and len(template.sections[0].rows) == len(spec.units)
    assert ("待核对" in result.output) == (result.exit_code == 2)
    preview = cv2.imread(str(tmp_path / "our-form.preview.png"))
    assert preview is not None and preview.shape[1] > preview.shape[0]  # the page plus the panel of readings
    again = CliRunner().invoke(_cli(), ["from-scan", str(blank), "-o", str(output)])
    assert again.exit_code == 1 and "--force" in again.output


def test_cli_refuses_a_page_without_a_table(tmp_path: Path) -> None:
    page = np.full((1400, 1000), 255, np.uint8)
    cv2.putText(page, "no table here", (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 3)
    blank = tmp_path / "letter.png"
    cv2.imwrite(str(blank), page)
    result = CliRunner().invoke(_cli(), ["from-scan", str(blank), "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1 and "no ruled table" in result.output
    assert not (tmp_path / "x.yaml").exists()


# -- units on drawn arrays (no OCR) --------------------------------------------------------------------------


def _grid(merged: bool) -> np.ndarray:  # type: ignore[type-arg]
    """A 6-column, 5-row table drawn at 8 px/mm; with ``merged`` the top row spans columns 2–5 of one cell."""
    page = np.full((1200, 1600), 255, np.uint8)
    xs, ys = [100, 200, 600, 800, 1000, 1200, 1400], [200, 280, 360, 440, 520, 600]
    for x in xs:
        top = ys[1] if merged and x in (800, 1000, 1200) else ys[0]
        cv2.line(page, (x, top), (x, ys[-1]), 0, 2)
    for y in ys:
        cv2.line(page, (xs[0], y), (xs[-1], y), 0, 2)
    cv2.putText(page, "TITLE", (500, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 4)
    return page


def test_find_tables_merges_cells_whose_edge_is_not_printed() -> None:
    (table,) = find_tables(_grid(merged=True), 8.0)
    assert [round(x) for x in table.xs] == [100, 200, 600, 800, 1000, 1200, 1400]
    assert [round(y) for y in table.ys] == [200, 280, 360, 440, 520, 600]
    assert table.cell_at(0, 3).cols == (2, 5) and table.cell_at(1, 3).cols == (3, 3)
    assert len(table.cells) == 5 * 6 - 3


def test_deskew_finds_the_angle() -> None:
    page = _grid(merged=False)
    matrix = cv2.getRotationMatrix2D((800, 600), 1.3, 1.0)
    turned = np.asarray(cv2.warpAffine(page, matrix, (1600, 1200), borderValue=255), np.uint8)
    upright, angle = deskew(turned)
    assert angle == pytest.approx(-1.3, abs=0.05)
    (table,) = find_tables(upright, 8.0)
    assert len(table.xs) == 7 and len(table.ys) == 6


def test_text_width_and_similarity() -> None:
    assert text_ems("文化馆") == 3.0
    assert text_ems("12345热线办") == pytest.approx(5 * 0.55 + 3)
    assert similarity("不满意", "不满意") == 1.0
    assert similarity("满意", "不满意") == pytest.approx(2 / 3)
    assert similarity("", "满意") == 0.0


def test_faint_grey_rules_on_a_pale_photo_are_found() -> None:
    """A phone photo of a form with grey rules: paper at 190, the rules only 14 grey levels darker, noise 2.
    Not seen as ink at the usual contrast; found when faint rules are looked for (what from-scan and the
    fit do when no table is found otherwise)."""
    page = _grid(merged=False)
    pale = np.where(page < 128, 176, 190).astype(np.float32)
    noisy = np.asarray(np.clip(pale + np.random.default_rng(3).normal(0.0, 2.0, pale.shape), 0, 255), dtype=np.uint8)
    assert find_tables(noisy, 8.0) == []
    (table,) = find_tables(noisy, 8.0, faint=True)
    assert len(table.xs) == 7 and len(table.ys) == 6


@pytest.mark.parametrize("spec", CLERKS_OPTIONS, ids=["table-six", "scale-seven"])
def test_the_clerks_options_name_the_columns(spec: FormSpec, printed: dict[str, bytes]) -> None:
    """Six grades in a ruled table, a 1–7 scale without one: neither is named surely by the usual grade words;
    with --options every column is taken as the clerk names it, and the rows are read as usual."""
    options = spec.options
    page = ScanPage(f"{spec.name}.png", 1, scanned(printed[spec.name], Scan(dpi=300.0)), 300.0)
    without = scan_blank(page)  # the columns may be found, but not named surely
    assert isinstance(without, FormNotFound) or not all(c.heading.sure for s in without.sections for c in s.options)
    proposal = scan_blank(page, options=options)
    assert isinstance(proposal, FormProposal), proposal
    (section,) = proposal.sections
    assert [column.word for column in section.options] == list(options)
    assert all(column.heading.sure for column in section.options)
    assert len(section.rows) == len(spec.units)
    template, _ = proposal_template(proposal, spec.name)
    assert template.sections[0].options == list(options)


def test_a_missing_language_names_its_debian_package() -> None:
    from pipeline.forms.ocr import OcrUnavailableError, find_tessdata

    with pytest.raises(OcrUnavailableError) as caught:
        find_tessdata("chi_sim+zzz_test")
    assert "apt-get install tesseract-ocr tesseract-ocr-zzz-test" in str(caught.value)
    assert "chi-sim" not in str(caught.value)
