"""OCR benchmark, and the generator of "existing office forms" it (and tests/test_formscan.py) runs on.

The forms are what a bureau makes in Word or a browser, not what our renderer draws: an HTML table (Noto
Sans or Serif CJK, 1 px rules or a 2 px outer border, □ characters or empty answer cells, 3 or 4 option
columns, a merged 测评等次 heading or not, 5–20 rows) printed to PDF by Debian's headless Chromium, then
rasterized and optionally degraded like a scan (slight rotation, blur, JPEG).

    .venv/bin/python -m benchmarks.ocr [--forms 40] [--copies 12] [--profiles clean,office,fax,phone,bad]

prints, per form style and scan condition, the row labels and option headings recovered exactly / flagged
unsure / wrong, and the OCR step's cost (ms per label, labels/s); then reads filled copies of five forms
(□ boxes, empty cells with a merged heading, hairline □ in a Ming font, inline □ after each name, a scale of
boxes joined by rules without a ruled table) through each device profile of pipeline.simulation.degrade and
counts rows read right / sent to review / misread, and pages rejected.
"""

from __future__ import annotations

import argparse
import html
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.reading.ingest import pdf_bytes_pages

Gray = npt.NDArray[np.uint8]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "AR PL UMing CN")
UNITS = (
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
    "旅游服务中心",
    "老干部活动中心",
    "公共资源交易中心",
    "12345热线办",
    "乡镇文化站（综合）",
)
OPTION_SETS = (
    ("满意", "基本满意", "不满意"),
    ("满意", "基本满意", "不满意", "不了解"),
    ("非常满意", "满意", "一般", "不满意"),
    ("满意", "比较满意", "一般", "不满意"),
)


@dataclass(frozen=True)
class FormSpec:
    """One office form: what is printed, and how."""

    name: str
    title: str
    units: tuple[str, ...]
    options: tuple[str, ...]
    font: str = FONTS[0]
    size_pt: float = 12.0
    boxes: bool = True  # a □ in every answer cell, else the cell itself is ticked
    outer_px: int = 1  # outer border width (CSS px); rules inside are 1 px
    merged_heading: bool = False  # a 测评等次 cell spanning the option headings
    number_column: bool = True
    remark_column: bool = False  # a 备注 column after the options
    blank_rows: int = 0  # empty rows at the end, as offices leave for write-ins
    row_mm: float = 9.0
    landscape: bool = False
    second_units: tuple[str, ...] = ()  # a second table (二、二级单位) below the first
    # "table": a ruled table; "inline": 1. 局机关  □满意 □基本满意 □不满意, one line per unit, no rules (the □
    # move with the label's length); "likert": no rules, option headings over columns of boxes drawn with CSS
    # and joined by a thin rule (□—□—□), as survey tools print scales.
    style: str = "table"


@dataclass(frozen=True)
class Scan:
    """How the blank is "scanned" after printing."""

    name: str = "clean 200 dpi"
    dpi: float = 200.0
    angle_deg: float = 0.0
    blur_sigma: float = 0.0
    jpeg_quality: int | None = None
    noise: float = 0.0


@dataclass
class Tally:
    exact: int = 0
    flagged: int = 0
    wrong: int = 0
    wrong_examples: list[str] = field(default_factory=list)

    def add(self, truth: str, read: str, unsure: bool) -> None:
        if unsure:
            self.flagged += 1
        elif read == truth:
            self.exact += 1
        else:
            self.wrong += 1
            self.wrong_examples.append(f"{truth}→{read}")


def form_html(spec: FormSpec) -> str:
    """The form as an office would lay it out in HTML (what Word's "save as web page" looks like, roughly)."""
    esc = html.escape
    tables = f"<table>{table_html(spec, spec.units)}</table>"
    if spec.style == "inline":
        tables = inline_html(spec)
    elif spec.style == "likert":
        tables = likert_html(spec)
    if spec.second_units:
        tables = (
            f"<h2>一、机关科室</h2>{tables}<h2>二、二级单位</h2><table>{table_html(spec, spec.second_units)}</table>"
        )
    outer = f"{spec.outer_px}px solid #000"
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4 {"landscape" if spec.landscape else "portrait"}; margin: 18mm 16mm; }}
body {{ font-family: "{spec.font}"; font-size: {spec.size_pt}pt; color: #000; }}
h1 {{ text-align: center; font-size: {spec.size_pt + 6}pt; margin: 0 0 4mm; }}
p.note {{ font-size: {spec.size_pt - 1}pt; margin: 0 0 3mm; }}
table {{ border-collapse: collapse; width: 100%; border: {outer}; }}
th, td {{ border: 1px solid #000; height: {spec.row_mm}mm; text-align: center; padding: 0 1.5mm; }}
th {{ font-weight: bold; }}
td.label {{ text-align: left; padding-left: 3mm; }}
td.box {{ font-size: {spec.size_pt + 2}pt; }}
th.num {{ width: 12mm; }} th.opt {{ width: {22 if len(spec.options) == 3 else 19}mm; }} th.remark {{ width: 22mm; }}
h2 {{ font-size: {spec.size_pt + 1}pt; margin: 4mm 0 2mm; }}
p.foot {{ font-size: {spec.size_pt - 2}pt; margin-top: 4mm; }}
</style></head><body>
<h1>{esc(spec.title)}</h1>
<p class="note">请在相应等次栏内打"√"，每个单位只能选一项。</p>
{tables}
<p class="foot">填表说明：本表不记名，请于会后交工作人员。</p>
</body></html>"""


def inline_html(spec: FormSpec) -> str:
    """One unit a line: its number and name, then each option as □ and its word (□ move with the name)."""
    esc = html.escape
    options = "&emsp;".join(f"□{esc(option)}" for option in spec.options)
    lines = [
        f'<p class="inline">{index}. {esc(unit)}&emsp;&emsp;{options}</p>' for index, unit in enumerate(spec.units, 1)
    ]
    return f"""<style>p.inline {{ margin: 0 0 {spec.row_mm - 5:.1f}mm; line-height: 5mm; }}</style>{"".join(lines)}"""


def likert_html(spec: FormSpec) -> str:
    """A scale without ruling lines: headings over the option columns, each row's boxes joined by a rule."""
    esc = html.escape
    width = 24
    heads = "".join(f'<span class="lk-h">{esc(option)}</span>' for option in spec.options)
    box = '<span class="lk-b"></span>'
    joined = '<span class="lk-r"></span>'.join([box] * len(spec.options))
    rows = "".join(
        f'<div class="lk"><span class="lk-l">{esc(unit)}</span><span class="lk-s">{joined}</span></div>'
        for unit in spec.units
    )
    return f"""<style>
div.lk, div.lk-head {{ display: flex; align-items: center; height: {spec.row_mm}mm; }}
.lk-l {{ width: 55mm; }} .lk-head .lk-l {{ visibility: hidden; }}
.lk-h {{ width: {width}mm; text-align: center; font-weight: bold; }}
.lk-s {{ display: flex; align-items: center; margin-left: {(width - 4) / 2}mm; }}
.lk-b {{ display: inline-block; width: 4mm; height: 4mm; border: 0.3mm solid #000; box-sizing: border-box; }}
.lk-r {{ display: inline-block; width: {width - 4}mm; height: 0; border-top: 0.2mm solid #000; }}
</style><div class="lk-head"><span class="lk-l">单位名称</span>{heads}</div>{rows}"""


def table_html(spec: FormSpec, units: tuple[str, ...]) -> str:
    """Heading and body rows of one table."""
    esc = html.escape
    options = spec.options
    heading_cells = []
    rows_span = ' rowspan="2"' if spec.merged_heading else ""
    if spec.number_column:
        heading_cells.append(f'<th class="num"{rows_span}>序号</th>')
    heading_cells.append(f'<th class="name"{rows_span}>单位名称</th>')
    if spec.merged_heading:
        heading_cells.append(f'<th colspan="{len(options)}">测评等次</th>')
    else:
        heading_cells += [f'<th class="opt">{esc(option)}</th>' for option in options]
    if spec.remark_column:
        heading_cells.append(f'<th class="remark"{rows_span}>备注</th>')
    heading = "<tr>" + "".join(heading_cells) + "</tr>"
    if spec.merged_heading:
        heading += "<tr>" + "".join(f'<th class="opt">{esc(option)}</th>' for option in options) + "</tr>"
    body = []
    mark = "□" if spec.boxes else ""
    for index, unit in enumerate([*units, *[""] * spec.blank_rows], start=1):
        cells = []
        if spec.number_column:
            cells.append(f"<td>{index if unit else ''}</td>")
        cells.append(f'<td class="label">{esc(unit)}</td>')
        cells += [f'<td class="box">{mark}</td>' for _ in options]
        if spec.remark_column:
            cells.append("<td></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return heading + "".join(body)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def print_pdf(browser: Any, spec: FormSpec) -> bytes:
    page = browser.new_page()
    try:
        page.set_content(form_html(spec), wait_until="load")
        pdf: bytes = page.pdf(prefer_css_page_size=True, print_background=True)
        return pdf
    finally:
        page.close()


def scanned(pdf: bytes, scan: Scan, seed: int = 0) -> Gray:
    """The printed blank as a scanner would deliver it."""
    page = pdf_bytes_pages(pdf, scan.dpi)[0]
    if scan.angle_deg:
        height, width = page.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), scan.angle_deg, 1.0)
        page = np.asarray(
            cv2.warpAffine(page, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255), dtype=np.uint8
        )
    if scan.blur_sigma:
        page = np.asarray(cv2.GaussianBlur(page, (0, 0), scan.blur_sigma), dtype=np.uint8)
    if scan.noise:
        rng = np.random.default_rng(seed)
        noisy = page.astype(np.float32) + rng.normal(0.0, scan.noise, page.shape).astype(np.float32)
        page = np.asarray(np.clip(noisy, 0, 255), dtype=np.uint8)
    if scan.jpeg_quality is not None:
        ok, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, scan.jpeg_quality])
        assert ok
        page = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)
    return page


def available_fonts() -> tuple[str, ...]:
    """The FONTS fontconfig knows (WenQuanYi only where installed)."""
    import subprocess

    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return tuple(font for font in FONTS if font in listed)


SCANS = (
    Scan("clean 200 dpi", dpi=200.0),
    Scan("300 dpi, turned, JPEG 85", dpi=300.0, angle_deg=1.2, jpeg_quality=85),
    Scan(
        "200 dpi, turned, blur, noise, JPEG 70", dpi=200.0, angle_deg=-0.7, blur_sigma=1.0, jpeg_quality=70, noise=3.0
    ),
    Scan("150 dpi, turned, blur, JPEG 70", dpi=150.0, angle_deg=0.4, blur_sigma=0.8, jpeg_quality=70, noise=2.0),
)


def random_specs(count: int, seed: int) -> list[tuple[FormSpec, Scan]]:
    """A spread of styles: every installed font, both rule styles, boxes and empty cells, 3 and 4 options,
    5–20 rows, and four scan conditions from a clean 200 dpi page to a blurred 150 dpi JPEG."""
    rng = np.random.default_rng(seed)
    fonts = available_fonts()
    specs = []
    for index in range(count):
        rows = int(rng.integers(5, 21))
        units = tuple(str(unit) for unit in rng.choice(UNITS, size=min(rows, len(UNITS)), replace=False))
        spec = FormSpec(
            name=f"form{index:02d}",
            title=f"2026年度{'“双评双比”' if index % 2 else ''}满意度测评表",
            units=units,
            options=OPTION_SETS[int(rng.integers(len(OPTION_SETS)))],
            font=fonts[index % len(fonts)],
            size_pt=float(rng.choice([9.0, 10.5, 12.0, 14.0])),
            boxes=bool(rng.random() < 0.6),
            outer_px=int(rng.choice([1, 2])),
            merged_heading=bool(rng.random() < 0.3),
            number_column=bool(rng.random() < 0.8),
            remark_column=bool(rng.random() < 0.3),
            blank_rows=int(rng.choice([0, 0, 2])),
            row_mm=float(rng.choice([8.0, 9.0, 11.0])) if rows <= 16 else 8.0,
        )
        base = SCANS[int(rng.integers(len(SCANS)))]
        angle = float(np.sign(base.angle_deg) * rng.uniform(0.2, 1.5)) if base.angle_deg else 0.0
        specs.append((spec, Scan(base.name, base.dpi, angle, base.blur_sigma, base.jpeg_quality, base.noise)))
    return specs


def style_specs() -> list[tuple[FormSpec, Scan]]:
    """Forms without a ruled table, in each installed font: inline □ after each name, and a scale of boxes
    joined by rules under option headings (issue 20)."""
    specs = []
    for index, font in enumerate(available_fonts()):
        units = UNITS[index * 3 : index * 3 + 8]
        scan = SCANS[index % 2]
        specs.append(
            (
                FormSpec(
                    f"inline{index}", "2026年度满意度测评表", units, OPTION_SETS[index % 2], font, 12.0, style="inline"
                ),
                scan,
            )
        )
        specs.append(
            (
                FormSpec(
                    f"likert{index}", "满意度测评表", units, OPTION_SETS[2 + index % 2], font, 12.0, style="likert"
                ),
                scan,
            )
        )
    return specs


def condition_of(scan: Scan) -> str:
    return scan.name


def style_of(spec: FormSpec) -> str:
    font = spec.font.replace(" CJK SC", "").replace("WenQuanYi Micro Hei", "WQY").replace("AR PL UMing CN", "UMing")
    if spec.style != "table":
        return f"{font}, {spec.style}, {len(spec.options)} options"
    return f"{font}, {'□ boxes' if spec.boxes else 'empty cells'}, {len(spec.options)} options"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forms", type=int, default=40, help="blank forms for the from-scan part (0: skip)")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--copies", type=int, default=12, help="filled copies per device profile (0: skip)")
    parser.add_argument("--profiles", default="clean,office,fax,phone,bad")
    args = parser.parse_args(argv)
    with chromium() as browser:
        if args.forms:
            label_accuracy(browser, args.forms, args.seed)
        if args.copies:
            read_accuracy(browser, args.profiles.split(","), args.copies, args.seed)


def label_accuracy(browser: Any, forms: int, seed: int) -> None:
    """from-scan on generated blanks: labels and option headings exact / flagged / wrong, and OCR cost."""
    from pipeline.forms.proposal import scan_blank
    from pipeline.forms.proposed import FormNotFound
    from pipeline.reading.ingest import ScanPage

    labels: dict[str, Tally] = {}
    headings: dict[str, Tally] = {}
    ocr_seconds, ocr_calls, ocr_labels = 0.0, 0, 0
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for spec, scan in [*random_specs(forms, seed), *style_specs()]:
            image = scanned(print_pdf(browser, spec), scan)
            page = ScanPage(str(Path(folder) / f"{spec.name}.png"), 1, image, scan.dpi)
            result = scan_blank(page)
            if isinstance(result, FormNotFound):
                problems.append(f"{spec.name}: no form found: {result.reason}")
                continue
            ocr_seconds += result.ocr_seconds
            ocr_calls += result.ocr_calls
            ocr_labels += result.ocr_labels
            section = result.sections[0]
            problems += structure_errors(spec, section.marker, len(section.rows), len(section.options))
            for key in (style_of(spec), condition_of(scan)):
                for truth, row in zip(spec.units, section.rows, strict=False):
                    labels.setdefault(key, Tally()).add(truth, row.label.text, not row.label.sure)
                for truth, column in zip(spec.options, section.options, strict=False):
                    headings.setdefault(key, Tally()).add(truth, column.word, not column.heading.sure)
    print(f"{'form style / scan':<34} {'labels exact/flagged/wrong':>27} {'options exact/flagged/wrong':>28}")
    for key in [*sorted(k for k in labels if "dpi" not in k), *sorted(k for k in labels if "dpi" in k)]:
        lab, opt = labels[key], headings[key]
        print(f"{key:<34} {lab.exact:>18}/{lab.flagged}/{lab.wrong:<6} {opt.exact:>19}/{opt.flagged}/{opt.wrong}")
        for example in lab.wrong_examples + opt.wrong_examples:
            print(f"    WRONG {example}")
    for problem in problems:
        print(f"    STRUCTURE {problem}")
    if ocr_labels:
        print(
            f"OCR: {ocr_labels} labels, {ocr_calls} Tesseract calls: {1000 * ocr_seconds / ocr_labels:.1f} ms per "
            f"label, {ocr_labels / ocr_seconds:.0f} labels/s ({1000 * ocr_seconds / ocr_calls:.1f} ms per call)"
        )


READ_DPI = 300.0
READ_FORMS = (
    FormSpec("squares", "2026年度满意度测评表", UNITS[:10], OPTION_SETS[0], FONTS[0], 12.0),
    FormSpec(
        "cells",
        "二级单位满意度测评表",
        UNITS[10:22],
        OPTION_SETS[1],
        FONTS[1],
        12.0,
        boxes=False,
        merged_heading=True,
        remark_column=True,
    ),
    FormSpec("hairline", "机关科室满意度测评表", UNITS[4:20], OPTION_SETS[2], FONTS[3], 10.5, outer_px=2, row_mm=8.0),
    FormSpec("inline", "窗口单位满意度测评表", UNITS[14:22], OPTION_SETS[0], FONTS[0], 12.0, style="inline"),
    FormSpec("likert", "服务对象满意度调查", UNITS[:8], OPTION_SETS[2], FONTS[1], 12.0, style="likert", row_mm=10.0),
)


def fill_copy(
    page: Gray, template: Any, rng: np.random.Generator, *, pencil: bool = True
) -> tuple[Gray, dict[str, str | None]]:
    """The blank filled in by one voter with the simulator's marks: per row a tick, cross, filled box or
    circle in one answer place, or nothing. Returns the page and each row's intended option."""
    from pipeline.ballot.layout import compute_layout
    from pipeline.simulation.simulate import draw_mark, random_pen

    px = READ_DPI / 25.4
    filled = page.copy()
    intent: dict[str, str | None] = {}
    for row in compute_layout(template).rows:
        choice = int(rng.integers(0, len(row.boxes) + 1))
        intent[row.unit] = row.boxes[choice].option if choice < len(row.boxes) else None
        if choice == len(row.boxes):
            continue
        box = row.boxes[choice].rect
        if template.external.sections[row.section].marker == "cell":  # marked as if on our 6 mm box, centred
            rect = ((box.center[0] - 3) * px, (box.center[1] - 3) * px, 6 * px, 6 * px)
        else:
            rect = (box.x * px, box.y * px, box.w * px, box.h * px)
        kind = str(rng.choice(["tick", "tick", "tick", "tick", "cross", "fill", "circle"]))
        draw_mark(filled, rect, kind, rng, px, pen=random_pen(rng, pencil_allowed=pencil))  # type: ignore[arg-type]
    return filled, intent


def read_accuracy(browser: Any, profiles: list[str], copies: int, seed: int) -> None:
    """Filled copies of READ_FORMS, degraded per device profile, read with all three templates configured.

    A row is *misread* when the reading is definite (an option or blank) and not what the voter meant;
    *review* when it is pending. Fax copies use no pencil: a fax's threshold wipes light pencil out
    entirely (nothing is left to read; the simulator's truth calls such marks illegible)."""
    from pipeline.forms.draft import proposal_template
    from pipeline.forms.proposal import scan_blank
    from pipeline.forms.proposed import FormNotFound
    from pipeline.forms.read import read_form_sheet
    from pipeline.reading.ingest import ScanPage
    from pipeline.reading.outcome import SheetRead
    from pipeline.reading.settings import load_settings
    from pipeline.simulation.degrade import degrade

    blanks, templates = [], []
    for spec in READ_FORMS:
        page = pdf_bytes_pages(print_pdf(browser, spec), READ_DPI)[0]
        proposal = scan_blank(ScanPage(spec.name, 1, page, READ_DPI))
        assert not isinstance(proposal, FormNotFound), proposal
        blanks.append(page)
        templates.append(proposal_template(proposal, spec.name)[0])
    settings = load_settings()
    header = ("profile", "pages", "rejected", "rows read right", "review", "misread", "s/page")
    print(f"{header[0]:<8} {header[1]:>5} {header[2]:>8} {header[3]:>15} {header[4]:>6} {header[5]:>7} {header[6]:>7}")
    for profile in profiles:
        rng = np.random.default_rng([seed, len(profile)])
        counts = {"rejected": 0, "right": 0, "review": 0, "misread": 0}
        started = time.perf_counter()
        for index in range(copies):
            form = index % len(READ_FORMS)
            filled, intent = fill_copy(blanks[form], templates[form], rng, pencil=profile != "fax")
            image = filled if profile == "clean" else degrade(filled, profile, rng, source_dpi=READ_DPI)[0]  # type: ignore[arg-type]
            result = read_form_sheet(ScanPage("copy", 1, image, None), "BENCH", templates, settings)
            if not isinstance(result, SheetRead):
                counts["rejected"] += 1
                continue
            wrong_form = result.sheet.template_id != READ_FORMS[form].name
            for reading in result.readings:
                if reading.reading == "pending":
                    counts["review"] += 1
                elif (
                    not wrong_form and reading.reading in ("choice", "blank") and reading.choice == intent[reading.unit]
                ):
                    counts["right"] += 1
                else:
                    counts["misread"] += 1
                    print(f"    MISREAD {profile} {READ_FORMS[form].name} {reading} meant {intent.get(reading.unit)}")
        seconds = (time.perf_counter() - started) / copies
        print(
            f"{profile:<8} {copies:>5} {counts['rejected']:>8} {counts['right']:>15} {counts['review']:>6} "
            f"{counts['misread']:>7} {seconds:>7.1f}"
        )


def structure_errors(spec: FormSpec, marker: str, rows: int, options: int) -> list[str]:
    """What the form scan got wrong about the table itself (never expected)."""
    errors = []
    if rows != len(spec.units):
        errors.append(f"{spec.name}: {rows} rows found, {len(spec.units)} printed")
    if options != len(spec.options):
        errors.append(f"{spec.name}: {options} option columns found, {len(spec.options)} printed")
    if (marker == "square") != spec.boxes:
        errors.append(f"{spec.name}: answer places taken as {marker}")
    return errors


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.1f} s (printing with Chromium included)")
