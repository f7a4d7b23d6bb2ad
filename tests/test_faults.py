"""Faults (issue 6): bad files, racing and killed processes, bad input from people — each with its outcome.

Cases already covered elsewhere (zero bytes, truncated JPEG, text named .jpg, decompression bomb, animated
GIF, CMYK/16-bit/palette, duplicates, other session, foreign serial, torn corner, resumed run) are not
repeated here.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner
from PIL import Image

from pipeline.cli import main
from pipeline.common.messages import outcome_name, page_reason
from pipeline.common.reasons import OUTCOMES, PageReason, Why
from tests.conftest import TEMPLATE_FILE
from tests.helpers import DPI, backup_db, save_jpeg

SESSION = "2026H1"
BALLOT = Path(sys.executable).parent / "ballot"
COPIES = 30


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BALLOT), *args], capture_output=True, text=True, timeout=timeout, check=False)


def export_lines(db: Path) -> list[dict]:  # type: ignore[type-arg]
    result = run("export", "--session", SESSION, "--db", str(db))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def integrity(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def by_page(lines: list[dict]) -> dict[tuple[str, int], tuple[str, str | None, dict[str, str]]]:  # type: ignore[type-arg]
    return {
        (Path(line["source"]).name, line["page"]): (
            line["outcome"],
            line["serial"],
            {unit: row["reading"] for unit, row in line["rows"].items()},
        )
        for line in lines
    }


class Printed:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "printed.db"
        self.pdf = folder / "ballots.pdf"

    def fresh_db(self, folder: Path) -> Path:
        return backup_db(self.db, folder / "ballots.db")

    def single_pages(self, folder: Path, indices: range) -> Path:
        """Each page of the printed PDF as its own PDF file in ``folder`` (vector, as printed)."""
        folder.mkdir(parents=True, exist_ok=True)
        source = pdfium.PdfDocument(str(self.pdf))
        try:
            for index in indices:
                single = pdfium.PdfDocument.new()
                single.import_pages(source, [index])
                single.save(str(folder / f"page{index:02d}.pdf"))
                single.close()
        finally:
            source.close()
        return folder


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """`ballot print` output, exactly as a clerk would get it."""
    batch = Printed(tmp_path_factory.mktemp("printed"))
    result = run(
        "print", str(TEMPLATE_FILE), "--session", SESSION, "--copies", str(COPIES), "-o", str(batch.pdf),
        "--db", str(batch.db),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return batch


@pytest.fixture(scope="module")
def reference(printed: Printed, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:  # type: ignore[type-arg]
    """An uninterrupted `ballot scan` of the printed PDF itself (a vector PDF "scanned" by printing to file)."""
    folder = tmp_path_factory.mktemp("reference")
    db = printed.fresh_db(folder)
    scans = folder / "scans"
    scans.mkdir()
    (scans / "ballots.pdf").write_bytes(printed.pdf.read_bytes())
    result = run("scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return export_lines(db)


# -- files ---------------------------------------------------------------------------------------------------


def encrypted_pdf() -> bytes:
    """A minimal one-page PDF whose trailer names a standard-security /Encrypt dictionary (bogus keys)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -44 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n" % (
        len(objects) + 1,
        b"ab" * 16,
        b"ab" * 16,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_encrypted_pdf_is_refused_as_password_protected(tmp_path: Path) -> None:
    from pipeline.reading.ingest import UnreadableFile, inspect_file

    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypted_pdf())
    result = inspect_file(path)
    assert isinstance(result, UnreadableFile) and result.reason.code == Why.PDF_ENCRYPTED


def test_zero_page_pdf_after_an_encrypted_one_is_not_blamed_on_a_password(tmp_path: Path) -> None:
    """pdfium keeps its last error code: a zero-page PDF read after a locked one once said 'password'."""
    from pipeline.reading.ingest import UnreadableFile, inspect_file

    locked, empty = tmp_path / "locked.pdf", tmp_path / "empty.pdf"
    locked.write_bytes(encrypted_pdf())
    document = pdfium.PdfDocument.new()
    document.save(str(empty))
    document.close()
    for path, reason in [(locked, Why.PDF_ENCRYPTED), (empty, Why.PDF_NO_PAGES), (locked, Why.PDF_ENCRYPTED)]:
        result = inspect_file(path)
        assert isinstance(result, UnreadableFile) and result.reason.code == reason, (path, result)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the cut-off TIFF's EXIF; as in production
def test_bad_files_in_a_folder_each_get_one_stored_outcome(tmp_path: Path, printed: Printed) -> None:
    db = printed.fresh_db(tmp_path)
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "locked.pdf").write_bytes(encrypted_pdf())
    empty = pdfium.PdfDocument.new()
    empty.save(str(scans / "empty.pdf"))
    empty.close()
    (scans / "cut.pdf").write_bytes(printed.pdf.read_bytes()[:5000])
    plain = Image.fromarray(np.full((400, 300), 230, np.uint8))
    plain.save(tmp_path / "whole.png")
    (scans / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:-40])
    plain.save(tmp_path / "whole.tif", compression="tiff_lzw")
    tiff = (tmp_path / "whole.tif").read_bytes()
    (scans / "cut.tif").write_bytes(tiff[: len(tiff) // 2])
    (scans / "loop.jpg").symlink_to(scans / "loop.jpg")
    (scans / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (scans / "up").symlink_to(scans, target_is_directory=True)  # a folder loop: not followed
    page = pdfium.PdfDocument(str(printed.pdf))
    try:
        bitmap = page[0].render(scale=DPI / 72.0, grayscale=True)
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8).reshape(bitmap.height, -1)[:, : bitmap.width].copy()
    finally:
        page.close()
    save_jpeg(pixels, scans / "扫描 第 1 页.jpg")

    result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = {Path(line["source"]).name: line for line in CliExport(db).lines}
    expected = {
        "locked.pdf": (0, "unreadable", Why.PDF_ENCRYPTED),
        "empty.pdf": (0, "unreadable", Why.PDF_NO_PAGES),
        "cut.pdf": (0, "unreadable", Why.PDF_DAMAGED),
        "cut.png": (1, "unreadable", Why.IMAGE_TRUNCATED),
        "cut.tif": (0, "unreadable", Why.IMAGE_DAMAGED),
        "loop.jpg": (0, "unreadable", Why.LINK_BROKEN),
        "dangling.jpg": (0, "unreadable", Why.LINK_BROKEN),
        "扫描 第 1 页.jpg": (1, "read", ""),
    }
    assert {name: (line["page"], line["outcome"]) for name, line in lines.items()} == {
        name: (page_no, outcome) for name, (page_no, outcome, _) in expected.items()
    }
    for name, (_, _, reason) in expected.items():
        assert lines[name]["reason_code"] == reason, (name, lines[name]["reason"])
        assert bool(lines[name]["reason"]) == bool(reason)  # worded in Chinese for the clerk
    assert "PDF 有密码保护" in lines["locked.pdf"]["reason"]
    assert set(lines["扫描 第 1 页.jpg"]["rows"]) and {
        row["reading"] for row in lines["扫描 第 1 页.jpg"]["rows"].values()
    } == {"blank"}
    assert integrity(db) == "ok"


class CliExport:
    def __init__(self, db: Path) -> None:
        result = CliRunner().invoke(main, ["export", "--session", SESSION, "--db", str(db)])
        assert result.exit_code == 0, result.output
        self.lines = [json.loads(line) for line in result.output.splitlines()]


def test_unreadable_file_is_stored_with_its_reason(tmp_path: Path, printed: Printed) -> None:
    """A file the clerk's account may not read. Root reads every file whatever its mode, so under root (CI)
    the scan runs without the capabilities that let it (util-linux ``setpriv``, always on Debian)."""
    db = printed.fresh_db(tmp_path)
    scans = tmp_path / "scans"
    scans.mkdir()
    secret = scans / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    secret.chmod(0)
    as_user = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
    try:
        result = subprocess.run(
            [*as_user, str(BALLOT), "scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        secret.chmod(0o644)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = CliExport(db).lines
    assert line["outcome"] == "unreadable" and line["reason_code"] == Why.FILE_UNOPENABLE
    assert line["reason"] == "文件打不开：Permission denied"


@pytest.mark.slow
def test_printed_vector_pdf_scanned_as_is_reads_every_page_blank(reference: list[dict]) -> None:  # type: ignore[type-arg]
    assert len(reference) == COPIES
    assert [line["page"] for line in reference] == list(range(1, COPIES + 1))
    assert {line["outcome"] for line in reference} == {"read"}
    assert len({line["serial"] for line in reference}) == COPIES
    assert {row["reading"] for line in reference for row in line["rows"].values()} == {"blank"}


# -- processes -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_scans_of_different_folders_at_once_store_the_union_once(tmp_path: Path, printed: Printed) -> None:
    db = printed.fresh_db(tmp_path)
    first = printed.single_pages(tmp_path / "a", range(0, 6))
    second = printed.single_pages(tmp_path / "b", range(6, 12))
    procs = [
        subprocess.Popen(
            [str(BALLOT), "scan", str(folder), "--session", SESSION, "--db", str(db), "--jobs", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err
    lines = export_lines(db)
    assert sorted(Path(line["source"]).name for line in lines) == [f"page{index:02d}.pdf" for index in range(12)]
    assert {line["outcome"] for line in lines} == {"read"}
    assert len({line["serial"] for line in lines}) == 12
    assert integrity(db) == "ok"


@pytest.mark.slow
def test_the_same_folder_scanned_by_two_processes_stores_each_page_once(tmp_path: Path, printed: Printed) -> None:
    """Both register the same files at once; before the fix the loser died on UNIQUE(files.session, sha256)."""
    db = printed.fresh_db(tmp_path)
    folder = printed.single_pages(tmp_path / "a", range(12, 20))
    procs = [
        subprocess.Popen(
            [str(BALLOT), "scan", str(folder), "--session", SESSION, "--db", str(db), "--jobs", jobs],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for jobs in ("1", "2")
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert "Traceback" not in err, err
        assert proc.returncode == 0, out + err
    lines = export_lines(db)
    assert sorted((Path(line["source"]).name, line["page"]) for line in lines) == [
        (f"page{index:02d}.pdf", 1) for index in range(12, 20)
    ]
    assert {line["outcome"] for line in lines} == {"read"}
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("SELECT count(*), count(DISTINCT sha256) FROM files").fetchone() == (8, 8)
        assert connection.execute("SELECT DISTINCT status FROM files").fetchall() == [("done",)]
    finally:
        connection.close()
    assert integrity(db) == "ok"


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_rerun_equals_an_uninterrupted_run(
    tmp_path: Path,
    printed: Printed,
    reference: list[dict],  # type: ignore[type-arg]
) -> None:
    db = printed.fresh_db(tmp_path)
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "ballots.pdf").write_bytes(printed.pdf.read_bytes())
    command = [str(BALLOT), "scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"]
    delay = random.Random().uniform(1.0, 3.0)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert integrity(db) == "ok", f"killed after {delay:.2f} s"
    stored = len(export_lines(db))
    rerun = run("scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "2")
    assert rerun.returncode == 0, f"killed after {delay:.2f} s ({stored} lines stored)\n{rerun.stdout}{rerun.stderr}"
    assert by_page(export_lines(db)) == by_page(reference), f"killed after {delay:.2f} s ({stored} lines stored)"
    assert integrity(db) == "ok"


def test_database_path_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    for db in ("/proc/no-such-dir/ballots.db", "/proc/ballots.db"):
        result = run("status", "--session", SESSION, "--db", db)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("错误：") and "Traceback" not in result.stderr
        assert "无法创建数据库所在的文件夹" in result.stderr or "打不开数据库" in result.stderr
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    result = run("status", "--session", SESSION, "--db", str(folder))
    assert result.returncode == 64 and "is a directory" in result.stderr  # a usage error


def _immutable(path: Path, on: bool) -> bool:
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True, check=False)
    return done.returncode == 0


def test_read_only_database_is_a_clear_error_and_stays_intact(tmp_path: Path, printed: Printed) -> None:
    db = printed.fresh_db(tmp_path)
    folder = printed.single_pages(tmp_path / "a", range(0, 1))
    before = db.read_bytes()
    if not _immutable(db, True):
        pytest.skip("cannot make the database read-only here (no chattr +i, and root ignores file modes)")
    try:
        result = run("scan", str(folder), "--session", SESSION, "--db", str(db))
    finally:
        _immutable(db, False)
    assert db.read_bytes() == before and integrity(db) == "ok"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1 and "错误：数据库无法写入" in result.stderr


# -- data from people ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["2026 H1", "2026/H1", "../2026H1", "2026H1;DROP", "", "上半年", "x" * 30])
def test_odd_session_names_are_refused(tmp_path: Path, name: str) -> None:
    db = tmp_path / "ballots.db"
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--session", name, "--db", str(db)])
    assert result.exit_code == 64, result.output  # a usage error
    assert "Invalid value for '--session'" in result.output
    assert not db.exists(), "nothing is written for a refused session name"


def test_override_for_an_unknown_unit_is_refused(tmp_path: Path, printed: Printed) -> None:
    db = printed.fresh_db(tmp_path)
    args = ["--period", SESSION, "--kind", "complaint", "--ref", "投诉〔2026〕1号", "--authority", "局纪委"]
    result = CliRunner().invoke(
        main, ["override", "add", "--unit", "不存在的单位", *args, "--date", "2026-05-01", "--db", str(db)]
    )
    assert result.exit_code == 1, result.output
    assert "不存在的单位" in result.output and "局机关" in result.output  # names the unit and the choices
    listed = CliRunner().invoke(main, ["override", "list", "--db", str(db)])
    assert "不存在的单位" not in listed.output


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("foo: [\n", "(file) →"),
        ("marks:\n  definite: abc\n", "marks.definite"),
        ("marks:\n  bogus: 1\n", "marks.bogus"),
    ],
)
def test_bad_settings_file_is_path_and_message(tmp_path: Path, content: str, where: str) -> None:
    settings = tmp_path / "reading.yaml"
    settings.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["scan", str(tmp_path), "--session", SESSION, "--db", str(tmp_path / "b.db"), "--settings", str(settings)]
    )
    assert result.exit_code == 1, result.output
    assert "错误：读取设置有误" in result.output and where in result.output


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("foo: [\n", "not valid YAML"),
        ("- just\n- a list\n", "→"),
    ],
)
def test_bad_rules_file_is_path_and_message(tmp_path: Path, content: str, where: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert result.exit_code == 1, result.output
    assert "错误：计票规则有误" in result.output and where in result.output


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("id: Bad Id\n", "id"),
        ("foo: [\n", "YAML"),
    ],
)
def test_bad_template_file_is_path_and_message(tmp_path: Path, content: str, where: str) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["template", "check", str(template)])
    assert result.exit_code == 1, result.output
    assert "→" in result.output and where in result.output


# -- two sheets on one image ---------------------------------------------------------------------------------

BALLOT_CODE = "B1:SHUANGPING:0123ABCD:2026H1:{serial}"


def blank_page() -> np.ndarray:
    return np.full((round(297 * DPI / 25.4), round(210 * DPI / 25.4)), 255, np.uint8)


def paste(page: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    page[top : top + patch.shape[0], left : left + patch.shape[1]] = patch


def test_two_ballot_codes_in_the_decoded_region_say_two_sheets() -> None:
    from pipeline.reading.identify import find_qr
    from tests.helpers import qr_image

    first, second = qr_image(BALLOT_CODE.format(serial="K7QXM2PD5Z")), qr_image(BALLOT_CODE.format(serial="A1B2C3D4E5"))
    page = blank_page()
    width = page.shape[1]
    paste(page, first, 60, width - first.shape[1] - 40)  # top right, where the printer puts it
    paste(page, second, 60 + first.shape[0] + 20, width - second.shape[1] - 200)  # the sheet fed with it
    found = find_qr(page)
    assert found is not None and found.overlap is not None and found.overlap.code == Why.TWO_BALLOTS
    said = page_reason(found.overlap)
    assert "两张票叠在一起扫描" in said and "一张一张重新扫描" in said
    assert "A1B2-C3D4-E5" in said and "K7QX-M2PD-5Z" in said

    middle = blank_page()  # no code in any corner window: the whole page is decoded, and checked the same way
    paste(middle, first, 1000, 300)
    paste(middle, second, 1000, 900)
    found = find_qr(middle)
    assert found is not None and found.overlap is not None and found.overlap.code == Why.TWO_BALLOTS


@pytest.mark.parametrize(
    ("second_text", "why"),
    [
        (None, "one code"),
        (BALLOT_CODE.format(serial="K7QXM2PD5Z"), "the same ballot's code twice (a copy pasted beside it)"),
        ("https://example.org/survey", "a code that is not a ballot's (a sticker)"),
    ],
)
def test_one_ballot_code_is_not_an_overlap(second_text: str | None, why: str) -> None:
    from pipeline.ballot.payload import SheetId
    from pipeline.reading.identify import find_qr
    from tests.helpers import qr_image

    first = qr_image(BALLOT_CODE.format(serial="K7QXM2PD5Z"))
    page = blank_page()
    paste(page, first, 60, page.shape[1] - first.shape[1] - 40)
    if second_text is not None:
        paste(page, qr_image(second_text), 60 + first.shape[0] + 20, page.shape[1] - first.shape[1] - 200)
    found = find_qr(page)
    assert found is not None and found.overlap is None, why
    assert isinstance(found.sheet, SheetId) and found.sheet.serial == "K7QXM2PD5Z"


def test_an_upright_page_costs_one_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlaps are looked for only in the region already decoded: no second decode, no whole-page decode."""
    import zxingcpp

    from pipeline.reading import identify
    from tests.helpers import qr_image

    calls = []
    decode = zxingcpp.read_barcodes

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identify.zxingcpp, "read_barcodes", counted)
    page = blank_page()
    code = qr_image(BALLOT_CODE.format(serial="K7QXM2PD5Z"))
    paste(page, code, 60, page.shape[1] - code.shape[1] - 40)
    assert identify.find_qr(page) is not None
    assert len(calls) == 1


class TwoSheets:
    """Two filled ballots of one printed batch (clean marks, so every row's intent is certain)."""

    def __init__(self, folder: Path) -> None:
        from pipeline.ballot.template import load_template
        from pipeline.store.database import open_store
        from tests.helpers import filled_sheet, print_batch

        self.batch = print_batch(folder, load_template(TEMPLATE_FILE), 2)
        self.first, self.second = self.batch.pages()
        self.first_truth = filled_sheet(self.first, self.batch.layout, seed=1)
        self.second_truth = filled_sheet(self.second, self.batch.layout, seed=2)
        self.first_serial, self.second_serial = self.batch.serials
        store = open_store(self.batch.db)
        self.catalog = store.catalog()
        store.close()

    def read(self, image: np.ndarray) -> object:
        from pipeline.reading.debug import DebugWriter
        from pipeline.reading.ingest import ScanPage
        from pipeline.reading.read import read_sheet
        from pipeline.reading.settings import load_settings

        page = ScanPage(source="overlap.png", page_no=1, image=image, dpi=DPI)
        return read_sheet(page, SESSION, self.catalog, load_settings(), DebugWriter(None))


@pytest.fixture(scope="module")
def two_sheets(tmp_path_factory: pytest.TempPathFactory) -> TwoSheets:
    return TwoSheets(tmp_path_factory.mktemp("two-sheets"))


def status_counts(db: Path) -> tuple[dict[str, int], int]:
    """`ballot status`: pages per outcome (by code), and rows awaiting review."""
    result = CliRunner().invoke(main, ["status", "--session", SESSION, "--db", str(db)])
    assert result.exit_code == 0, result.output
    codes = {outcome_name(code): code for code in (*OUTCOMES, "unreadable_file")}
    counts, pending = {}, None
    for line in result.output.splitlines():
        name, _, count = line.strip().rpartition("：")
        if line.startswith("  ") and name in codes:
            counts[codes[name]] = int(count)
        elif line.startswith("待复核行："):
            pending = int(count)
    assert pending is not None, result.output
    return counts, pending


def certain_rows_differ(readings: list, truth: dict[str, str]) -> dict[str, tuple[str, str]]:  # type: ignore[type-arg]
    """Rows the machine was sure of but read differently from what the voter meant (pending rows are fine)."""
    got = {reading.unit: reading.label for reading in readings}
    return {unit: (truth[unit], label) for unit, label in got.items() if label not in (truth[unit], "pending")}


@pytest.mark.parametrize(("dx_mm", "dy_mm"), [(0, 30), (12, 30), (-25, 45)])
def test_see_through_overlap_with_both_codes_is_unreadable_two_ballots(
    two_sheets: TwoSheets, dx_mm: float, dy_mm: float
) -> None:
    """Both sheets' ink on one image, the second sheet's code clear of the first's: before, the page was read as
    the first sheet with the second's printed boxes and ticks as marks (or refused as a curled page)."""
    from pipeline.reading.outcome import SheetRejected
    from tests.helpers import see_through

    result = two_sheets.read(see_through(two_sheets.first, two_sheets.second, dx_mm, dy_mm))
    assert isinstance(result, SheetRejected), result
    assert result.outcome == "unreadable" and result.reason.code == Why.TWO_BALLOTS
    assert "一张一张重新扫描" in page_reason(result.reason) and "one at a time" in page_reason(result.reason, "en")
    assert result.sheet is None and result.image is not None  # neither serial is pinned on it; the clerk sees it
    for serial in (two_sheets.first_serial, two_sheets.second_serial):
        assert f"{serial[:4]}-{serial[4:8]}-{serial[8:]}" in page_reason(result.reason)


@pytest.mark.parametrize(
    ("dx_mm", "dy_mm"), [(25, 0), (0, -30)], ids=["second-code-past-right-edge", "second-code-past-top-edge"]
)
def test_see_through_overlap_with_one_code_is_not_read(two_sheets: TwoSheets, dx_mm: float, dy_mm: float) -> None:
    from pipeline.reading.outcome import SheetRejected
    from tests.helpers import see_through

    result = two_sheets.read(see_through(two_sheets.first, two_sheets.second, dx_mm, dy_mm))
    assert isinstance(result, SheetRejected) and result.outcome == "unreadable", result
    assert result.reason.code == Why.FOREIGN_RULES and result.sheet is None


@pytest.mark.parametrize(
    ("dy_mm", "expected"),
    [
        # The second sheet covers the first's lower two thirds: the first's code is found, its lower marks are not;
        # grown from the code over the boxes, the fit meets the other sheet's table (so neither serial is kept).
        (99, ("unreadable", None, PageReason.of(Why.FOREIGN_RULES))),
        # It covers the first's top third, code included; its own top third (and code) is past the glass.
        (-99, ("unreadable", None, PageReason.of(Why.NO_CODE))),
        # It covers the first's code and lies 30 mm low: its own bottom marks are past the glass, its boxes are not,
        # and it is read from its code and boxes.
        (30, ("read", "second", None)),
        # Nearly square on the first: only a 6 mm strip of the first shows; the second is whole and read.
        (6, ("read", "second", None)),
    ],
    ids=["covers-lower-part", "covers-top", "covers-code-cut-off", "nearly-square"],
)
def test_sheet_lying_over_another_is_never_read_with_the_other_sheets_marks(
    two_sheets: TwoSheets, dy_mm: float, expected: tuple[str, str | None, PageReason | None]
) -> None:
    from pipeline.reading.outcome import SheetRead, SheetRejected
    from tests.helpers import laid_over

    outcome, which, reason = expected
    serial = {"first": two_sheets.first_serial, "second": two_sheets.second_serial, None: None}[which]
    result = two_sheets.read(laid_over(two_sheets.first, two_sheets.second, dy_mm))
    if outcome == "read":
        assert isinstance(result, SheetRead), result
        assert result.sheet.serial == serial
        assert certain_rows_differ(result.readings, two_sheets.second_truth) == {}
    else:
        assert isinstance(result, SheetRejected), result
        assert (result.outcome, result.sheet.serial if result.sheet else None) == (outcome, serial)
        assert reason is not None and result.reason.code == reason.code


def test_overlapped_scans_are_stored_unreadable_and_the_sheets_rescanned_alone_count(
    tmp_path: Path, two_sheets: TwoSheets
) -> None:
    import cv2

    from tests.helpers import laid_over, see_through

    db = two_sheets.batch.fresh_db(tmp_path)
    fed = tmp_path / "fed-together"
    fed.mkdir()
    cv2.imwrite(str(fed / "see-through.png"), see_through(two_sheets.first, two_sheets.second, 12, 30))
    cv2.imwrite(str(fed / "laid-over.png"), laid_over(two_sheets.first, two_sheets.second, 99))
    result = CliRunner().invoke(main, ["scan", str(fed), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    lines = {Path(line["source"]).name: line for line in CliExport(db).lines}
    assert {name: (line["outcome"], line["serial"], line["rows"]) for name, line in lines.items()} == {
        "see-through.png": ("unreadable", None, {}),
        "laid-over.png": ("unreadable", None, {}),
    }
    assert lines["see-through.png"]["reason_code"] == Why.TWO_BALLOTS
    assert lines["laid-over.png"]["reason"].startswith("页面上有不属于本票的表格线")
    assert status_counts(db) == ({"unreadable": 2}, 0)

    alone = tmp_path / "one-at-a-time"  # what the reason tells the clerk to do
    alone.mkdir()
    cv2.imwrite(str(alone / "first.png"), two_sheets.first)
    cv2.imwrite(str(alone / "second.png"), two_sheets.second)
    result = CliRunner().invoke(main, ["scan", str(alone), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    lines = {Path(line["source"]).name: line for line in CliExport(db).lines}
    pending = 0
    for name, serial, truth in [
        ("first.png", two_sheets.first_serial, two_sheets.first_truth),
        ("second.png", two_sheets.second_serial, two_sheets.second_truth),
    ]:
        assert (lines[name]["outcome"], lines[name]["serial"]) == ("read", serial)
        # Every row as the voter meant, or sent to a clerk: a box blackened in a hurry wider than the window paper
        # white is looked for in (the first sheet's 业余体育学校) hides its own middle and goes to a clerk.
        read = {unit: row["reading"] for unit, row in lines[name]["rows"].items()}
        assert {unit: label for unit, label in read.items() if label not in (truth[unit], "pending")} == {}
        pending += sum(label == "pending" for label in read.values())
    assert pending <= 1
    assert status_counts(db) == ({"read": 2, "unreadable": 2}, pending)
    assert integrity(db) == "ok"


# -- pages of our other templates in the same store ----------------------------------------------------------


def printed_page(store: object, folder: Path, template: object, session: str) -> tuple[np.ndarray, str]:
    """One ballot of ``template`` printed for ``session`` with ``store``, as a clean 200-dpi page, and its serial."""
    from pipeline.printing.render import render_ballots
    from pipeline.reading.ingest import pdf_bytes_pages

    [serial] = store.issue_serials(session, template, 1, "x.pdf")  # type: ignore[attr-defined]
    pdf = folder / f"{template.id}-{template.short_hash()}-{session}.pdf"  # type: ignore[attr-defined]
    render_ballots(template, session, [serial], pdf)  # type: ignore[arg-type]
    return pdf_bytes_pages(pdf.read_bytes(), DPI)[0], serial


def test_pages_of_our_other_templates_are_read_by_their_own_template_and_session(tmp_path: Path) -> None:
    """Which template a page is read with comes from its QR code (the serial it names, and the register of the store
    that issued it; a B1 code's id + hash as printed), never from the session: an edited version, a second template
    of the round, one printed for another round, one printed elsewhere."""
    import cv2

    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import load_template, parse_template
    from pipeline.store.database import open_store
    from tests.helpers import filled_sheet

    shipped = load_template(TEMPLATE_FILE)
    edited = shipped.model_dump(mode="json")
    edited["sections"][0]["rows"].append({"unit": "新闻出版科", "group": "二级单位"})
    second = {**shipped.model_dump(mode="json"), "id": "jiguan"}
    second["sections"][0]["rows"] = second["sections"][0]["rows"][:4]
    templates = {
        "shipped": shipped,
        "edited": parse_template(edited, "edited"),  # same id, printed again after an edit: a new hash
        "second": parse_template(second, "second"),  # another template printed for the same round
        "next-round": parse_template({**second, "id": "xiabannian"}, "next-round"),  # printed for 2026H2 only
        "elsewhere": parse_template({**second, "id": "waibu"}, "elsewhere"),  # printed with another store
    }
    db = tmp_path / "ballots.db"
    store, other = open_store(db), open_store(tmp_path / "other.db")
    scans = tmp_path / "scans"
    scans.mkdir()
    serials, truths = {}, {}
    for name, template in templates.items():
        session = "2026H2" if name == "next-round" else SESSION
        page, serials[name] = printed_page(other if name == "elsewhere" else store, tmp_path, template, session)
        truths[name] = filled_sheet(page, compute_layout(template), seed=len(truths))
        cv2.imwrite(str(scans / f"{name}.png"), page)
    store.close()
    other.close()
    assert len({template.content_hash() for template in templates.values()}) == len(templates)

    result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    lines = {Path(line["source"]).stem: line for line in CliExport(db).lines}
    connection = sqlite3.connect(db)
    stored = dict(connection.execute("SELECT f.path, p.template_hash FROM pages p JOIN files f ON f.id = p.file_id"))
    connection.close()
    for name in ("shipped", "edited", "second"):
        line = lines[name]
        assert (line["outcome"], line["serial"], line["reason"]) == ("read", serials[name], ""), name
        assert stored[line["source"]] == templates[name].content_hash(), name
        assert set(line["rows"]) == set(truths[name]), name  # the rows of its own template, 新闻出版科 included
        assert {unit: row["reading"] for unit, row in line["rows"].items() if row["reading"] != "pending"}.items() <= (
            truths[name].items()
        ), name
    next_round, elsewhere = lines["next-round"], lines["elsewhere"]
    assert (next_round["outcome"], next_round["serial"], next_round["rows"]) == (
        "wrong_session",
        serials["next-round"],
        {},
    )
    assert next_round["reason"] == f"这是 2026H2 的测评票，不是 {SESSION} 的"
    assert (elsewhere["outcome"], elsewhere["serial"], elsewhere["rows"]) == (
        "unknown_serial",
        serials["elsewhere"],
        {},
    )
    assert elsewhere["reason"] == f"票号 {serials['elsewhere']} 从未在 {SESSION} 发出（外来的票？）"
    assert status_counts(db)[0] == {"read": 3, "wrong_session": 1, "unknown_serial": 1}

    # Three templates in one round are not added up silently: the tally refuses, saying why.
    tally = CliRunner().invoke(main, ["tally", "--session", SESSION, "--db", str(db)])
    assert tally.exit_code == 1 and "用了 3 个模板印制，暂不支持合并计票" in tally.output, tally.output

    # Nothing of the next round's sheet was counted there; scanned into its own round, it is read.
    assert (
        CliRunner()
        .invoke(main, ["status", "--session", "2026H2", "--db", str(db)])
        .output.startswith("2026H2：尚未扫描")
    )
    folder = tmp_path / "next-round"
    folder.mkdir()
    (folder / "next-round.png").write_bytes((scans / "next-round.png").read_bytes())
    result = CliRunner().invoke(main, ["scan", str(folder), "--session", "2026H2", "--db", str(db), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    exported = CliRunner().invoke(main, ["export", "--session", "2026H2", "--db", str(db)])
    [line] = [json.loads(text) for text in exported.output.splitlines()]
    assert (line["outcome"], line["serial"]) == ("read", serials["next-round"])
    assert set(line["rows"]) == set(truths["next-round"])
    assert integrity(db) == "ok"


def test_a_sheet_counted_by_hand_then_rescanned_flat_is_counted_once(tmp_path: Path) -> None:
    from pipeline.ballot.template import load_template
    from pipeline.reading.settings import load_settings
    from pipeline.scanning.batch import scan
    from pipeline.store.database import open_store
    from pipeline.store.records import HandRow
    from tests.helpers import PX, print_batch

    batch = print_batch(tmp_path, load_template(TEMPLATE_FILE), 1)
    flat = batch.pages()[0]
    torn = flat[: round(190 * PX)]  # its lower part, boxes and all, torn away: unreadable, but its code names it
    (tmp_path / "first").mkdir()
    (tmp_path / "again").mkdir()
    save_jpeg(torn, tmp_path / "first" / "torn.jpg")
    save_jpeg(flat, tmp_path / "again" / "flat.jpg")
    store = open_store(batch.db)
    try:
        assert scan([tmp_path / "first"], store, SESSION, load_settings()).outcomes == {"unreadable": 1}
        [page] = store.review_pages(SESSION, rejected=True)
        assert page.serial == batch.serials[0] and page.template_hash is not None
        rows = [HandRow(row.unit, "blank") for row in batch.layout.rows]
        store.decide_page(
            SESSION, page.page_id, "count", "clerk", page.state.version, template_hash=page.template_hash, rows=rows
        )
        again = scan([tmp_path / "again"], store, SESSION, load_settings())
        assert [ballot.serial for ballot in store.effective_ballots(SESSION)] == [batch.serials[0]]
        assert again.outcomes == {"duplicate": 1}
    finally:
        store.close()
