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
from tests.conftest import TEMPLATE_FILE
from tests.helpers import DPI, save_jpeg

SESSION = "2026H1"
BALLOT = Path(sys.executable).parent / "ballot"
COPIES = 30


def copy_db(source: Path, target: Path) -> Path:
    """A private copy made with SQLite's backup (pages may still sit in the WAL)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


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
        return copy_db(self.db, folder / "ballots.db")

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
    from pipeline.ingest import UnreadableFile, inspect_file

    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypted_pdf())
    result = inspect_file(path)
    assert isinstance(result, UnreadableFile) and "password-protected" in result.reason


def test_zero_page_pdf_after_an_encrypted_one_is_not_blamed_on_a_password(tmp_path: Path) -> None:
    """pdfium keeps its last error code: a zero-page PDF read after a locked one once said 'password'."""
    from pipeline.ingest import UnreadableFile, inspect_file

    locked, empty = tmp_path / "locked.pdf", tmp_path / "empty.pdf"
    locked.write_bytes(encrypted_pdf())
    document = pdfium.PdfDocument.new()
    document.save(str(empty))
    document.close()
    for path, reason in [(locked, "password-protected"), (empty, "no pages"), (locked, "password-protected")]:
        result = inspect_file(path)
        assert isinstance(result, UnreadableFile) and reason in result.reason, (path, result)


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
        "locked.pdf": (0, "unreadable", "password-protected"),
        "empty.pdf": (0, "unreadable", "no pages"),
        "cut.pdf": (0, "unreadable", "damaged or truncated"),
        "cut.png": (1, "unreadable", "truncated"),
        "cut.tif": (0, "unreadable", "damaged"),
        "loop.jpg": (0, "unreadable", "points nowhere"),
        "dangling.jpg": (0, "unreadable", "points nowhere"),
        "扫描 第 1 页.jpg": (1, "read", ""),
    }
    assert {name: (line["page"], line["outcome"]) for name, line in lines.items()} == {
        name: (page_no, outcome) for name, (page_no, outcome, _) in expected.items()
    }
    for name, (_, _, reason) in expected.items():
        assert reason in lines[name]["reason"], (name, lines[name]["reason"])
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
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    db = printed.fresh_db(tmp_path)
    scans = tmp_path / "scans"
    scans.mkdir()
    secret = scans / "secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    secret.chmod(0)
    try:
        result = CliRunner().invoke(main, ["scan", str(scans), "--session", SESSION, "--db", str(db)])
    finally:
        secret.chmod(0o644)
    assert result.exit_code == 2, result.output
    [line] = CliExport(db).lines
    assert line["outcome"] == "unreadable" and "cannot read the file" in line["reason"]


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
        assert "error: cannot" in result.stderr and "Traceback" not in result.stderr
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    result = run("status", "--session", SESSION, "--db", str(folder))
    assert result.returncode == 2 and "is a directory" in result.stderr


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
    assert result.returncode == 1 and "error:" in result.stderr


# -- data from people ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["2026 H1", "2026/H1", "../2026H1", "2026H1;DROP", "", "上半年", "x" * 30])
def test_odd_session_names_are_refused(tmp_path: Path, name: str) -> None:
    db = tmp_path / "ballots.db"
    result = CliRunner().invoke(main, ["scan", str(tmp_path), "--session", name, "--db", str(db)])
    assert result.exit_code == 2, result.output
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
    assert "invalid settings" in result.output and where in result.output


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
    assert "invalid rules" in result.output and where in result.output


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
