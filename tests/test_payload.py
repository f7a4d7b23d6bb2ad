"""The sheet's code names its serial alone (B2); the store's register of issued serials says its template and
session. Codes printed before (B1, everything in the code) are still read."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import segno
import zxingcpp

from pipeline.ballot.payload import SheetId, b1_payload
from pipeline.ballot.template import Template
from pipeline.common.reasons import Why
from pipeline.reading.debug import DebugWriter
from pipeline.reading.identify import Catalog, find_qr
from pipeline.reading.ingest import ScanPage
from pipeline.reading.outcome import SheetRejected
from pipeline.reading.read import read_sheet
from pipeline.reading.settings import load_settings
from pipeline.store.database import Store, open_store
from tests.helpers import DPI, PX, Batch, box, from_afar, print_batch, read_image, tick


def test_a_serial_is_issued_once_in_the_whole_store_and_the_register_says_its_session(
    store: Store, template: Template
) -> None:
    # The same draw twice would give the same serials; a code naming its serial alone needs them apart.
    first = store.issue_serials("2026H1", template, 20, "a.pdf", draw=random.Random(5))
    second = store.issue_serials("2026H2", template, 20, "b.pdf", draw=random.Random(5))
    assert not set(first) & set(second)
    catalog = store.catalog()
    assert catalog.issued(first[0], "2026H1") == SheetId(template.id, template.short_hash(), "2026H1", first[0])
    # Read while counting another session, the sheet is still its own session's (and refused as such later).
    assert catalog.issued(second[0], "2026H1") == SheetId(template.id, template.short_hash(), "2026H2", second[0])
    assert catalog.issued("0" * 10, "2026H1") is None


def test_a_serial_issued_in_two_sessions_before_is_told_by_the_session_being_read(template: Template) -> None:
    key = (template.id, "ffffffff")
    catalog = Catalog({key: ("f" * 64, template)}, {"AAAAAAAAAA": {"2026H1": key, "2026H2": key}})
    found = catalog.issued("AAAAAAAAAA", "2026H2")
    assert found is not None and found.session == "2026H2"
    found = catalog.issued("AAAAAAAAAA", None)
    assert found is not None and found.session in ("2026H1", "2026H2")


def test_a_printed_code_is_a_larger_symbol_than_before(tmp_path: Path, template: Template) -> None:
    """21 modules in the same 22 mm where a B1 code had 29: 0.76 mm a module, not 0.59."""
    batch = print_batch(tmp_path, template, 1)
    page = batch.pages(300)[0]
    found = zxingcpp.read_barcodes(page)
    assert [code.text for code in found] == [f"B2:{batch.serials[0]}"]
    extra = found[0].extra
    assert isinstance(extra, dict) and extra["Version"] == "1"
    top = found[0].position
    width_mm = np.hypot(top.top_right.x - top.top_left.x, top.top_right.y - top.top_left.y) / (300 / 25.4)
    assert abs(width_mm / 21 - batch.layout.qr.w / 29) < 0.02  # 0.76 mm a module, with a 4-module quiet zone


def test_a_code_photographed_from_afar_reads_as_it_is(tmp_path: Path, template: Template) -> None:
    """A phone photo from a distance (~140 dpi, soft, noisy, JPEG 50: :func:`tests.helpers.from_afar`): 38 of 40
    B1 codes of a batch printed from seed 0 did not read as they were (only enlarged, or not at all); a B2 code's
    modules are 4.2 px there, not 3.3, and every one reads."""
    batch = print_batch(tmp_path, template, 10)
    assert all(find_qr(from_afar(page)) is not None for page in batch.pages(140))


def test_a_ballot_read_with_a_store_that_never_issued_its_serial_is_an_unknown_serial(
    tmp_path: Path, template: Template
) -> None:
    printed = print_batch(tmp_path / "a", template, 1, seed=1)
    other = print_batch(tmp_path / "b", template, 1, seed=2)  # the same template, other serials
    store = open_store(other.db)
    catalog = store.catalog()
    store.close()
    page = ScanPage("page.png", 1, printed.pages()[0], DPI)
    result = read_sheet(page, "2026H1", catalog, load_settings(), DebugWriter(None))
    assert isinstance(result, SheetRejected)
    assert result.outcome == "unknown_serial"
    assert result.reason.code == Why.UNKNOWN_SERIAL and result.reason.detail["serial"] == printed.serials[0]


def _with_b1_code(batch: Batch, image: np.ndarray, session: str) -> np.ndarray:
    """``image`` (a page of ``batch`` at 200 dpi) as the sheet was printed before stop 41: the same place holding a
    B1 code (29 modules with a 4-module quiet zone each side), drawn eight times as fine and brought down to the
    page's resolution."""
    sheet = SheetId(batch.template.id, batch.template.short_hash(), session, batch.serials[0])
    matrix = np.array(segno.make(b1_payload(sheet), error="m", micro=False).matrix, dtype=np.uint8)
    place = batch.layout.qr
    x0, y0 = round(place.x * PX), round(place.y * PX)
    x1, y1 = round((place.x + place.w) * PX), round((place.y + place.h) * PX)
    fine = 8 * (x1 - x0)
    code = cv2.resize(
        255 - 255 * matrix, (fine * len(matrix) // (len(matrix) + 8),) * 2, interpolation=cv2.INTER_NEAREST
    )
    drawn = np.full((fine, fine), 255, np.uint8)
    quiet = (fine - code.shape[0]) // 2
    drawn[quiet : quiet + code.shape[0], quiet : quiet + code.shape[1]] = code
    legacy = image.copy()
    legacy[y0:y1, x0:x1] = cv2.resize(drawn, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return legacy


def test_a_sheet_printed_with_a_b1_code_is_still_read(tmp_path: Path, template: Template) -> None:
    batch = print_batch(tmp_path, template, 1)
    legacy = _with_b1_code(batch, batch.pages()[0], "2026H1")
    tick(legacy, box(batch.layout, "文化馆", "基本满意"))
    codes = zxingcpp.read_barcodes(legacy)
    assert [code.text[:3] for code in codes] == ["B1:"]
    result = read_image(batch, legacy)
    assert result.sheet == SheetId(template.id, template.short_hash(), "2026H1", batch.serials[0])
    assert {reading.unit: reading.label for reading in result.readings}["文化馆"] == "基本满意"
    # … and one of another session is that session's, as it always was.
    other = _with_b1_code(batch, batch.pages()[0], "2026H2")
    store = open_store(batch.db)
    catalog = store.catalog()
    store.close()
    rejected = read_sheet(ScanPage("p.png", 1, other, DPI), "2026H1", catalog, load_settings(), DebugWriter(None))
    assert isinstance(rejected, SheetRejected) and rejected.outcome == "wrong_session"
