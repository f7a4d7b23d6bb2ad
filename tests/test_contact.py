"""Contact sheet: the crops and fill scores a clerk tunes thresholds with are those a scan reads."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from pipeline.ballot.template import Template
from pipeline.cli import main
from pipeline.reading.settings import load_settings
from pipeline.scanning.contact import THRESHOLD_COLOURS, TILE, collect_crops, draw_contact_sheet
from pipeline.store.database import open_store
from tests.helpers import Batch, box, fill, lifted, print_batch, read_image, tick

ROW = "测评人类别"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Batch:
    return print_batch(tmp_path_factory.mktemp("contact"), template, 1)


def test_crops_carry_the_scores_a_scan_reads_also_where_a_curl_moved_a_row(batch: Batch, tmp_path: Path) -> None:
    page = batch.pages()[0].copy()
    first = box(batch.layout, ROW, "服务对象代表")
    tick(page, first)
    fill(page, box(batch.layout, "文化馆", "不满意"))
    page = lifted(page, first.rect.center, 1.5)  # 测评人类别's first box 1.5 mm off the page fit
    cv2.imwrite(str(tmp_path / "page.png"), page)
    read = read_image(batch, page)
    store = open_store(batch.db)
    settings = load_settings()
    crops = collect_crops([tmp_path], store.catalog(), settings)
    store.close()

    assert sorted(crop.fill for crop in crops) == sorted(score.fill for score in read.scores)
    assert sorted(crop.outside for crop in crops) == sorted(score.outside for score in read.scores)
    assert sum(crop.fill >= settings.marks.definite for crop in crops) == 2  # the tick and the fill, nothing else


def test_the_sheet_puts_the_thresholds_between_crops_sorted_by_fill(batch: Batch, tmp_path: Path) -> None:
    page = batch.pages()[0].copy()
    tick(page, box(batch.layout, "局机关", "满意"))
    fill(page, box(batch.layout, "文化馆", "基本满意"))
    cv2.imwrite(str(tmp_path / "page.png"), page)
    store = open_store(batch.db)
    crops = collect_crops([tmp_path], store.catalog(), load_settings())
    store.close()
    sheet = draw_contact_sheet(crops, load_settings())

    def band(colour: tuple[int, int, int]) -> npt.NDArray[np.intp]:  # rows painted across in one colour
        return np.flatnonzero(np.all(sheet == np.array(colour, dtype=np.uint8), axis=(1, 2)))

    marginal, definite = band(THRESHOLD_COLOURS["marginal"]), band(THRESHOLD_COLOURS["definite"])
    assert marginal.size and definite.size and marginal.max() < definite.min()
    # Above the marginal band the empty boxes (white paper, black border), below the definite one the two marks.
    below = sheet[definite.max() + 3 :, : 2 * TILE]
    assert below.size and np.count_nonzero(below < 100) > 0.05 * below.size / 3


def test_contact_sheet_command_writes_a_png(batch: Batch, tmp_path: Path) -> None:
    page = batch.pages()[0].copy()
    tick(page, box(batch.layout, "局机关", "满意"))
    scans = tmp_path / "scans"
    scans.mkdir()
    cv2.imwrite(str(scans / "page.png"), page)
    output = tmp_path / "sheet.png"
    result = CliRunner().invoke(main, ["contact-sheet", str(scans), "--db", str(batch.db), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "34" in result.output
    image = cv2.imread(str(output))
    assert image is not None and image.shape[1] == TILE * 16
