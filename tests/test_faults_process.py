"""Faults (issue 6), batch integrity across processes: a scan beside a live review server, a disk that fills up.

Both run the real ``ballot`` command in child processes on simulated scans (:mod:`pipeline.simulation.simulate`) and
check what a clerk would rely on afterwards: every page stored whole or not at all, every decision kept,
``PRAGMA integrity_check`` ok, and a rerun that ends exactly where an uninterrupted run ends. The race the
first one can hit by chance (a read made of several statements while a scan commits between them) is then
reproduced deterministically, in process.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.ballot.layout import Layout, compute_layout
from pipeline.ballot.template import Template
from pipeline.printing.render import render_ballots
from pipeline.review.app import CSRF_HEADER, csrf_value
from pipeline.simulation.simulate import simulate_batch
from pipeline.store.database import open_store
from tests.helpers import backup_db

SESSION = "2026H1"
BALLOT = Path(sys.executable).parent / "ballot"
FLAGGED_SHEETS = 4  # scanned before the review server starts; "hard" marks, so rows wait for a clerk
BATCH_SHEETS = 10  # scanned while the clerk decides, and the batch the disk fills up under


@dataclass(frozen=True)
class Scanned:
    """One store with two print batches of the session, and simulated scans of each."""

    db: Path  # as printed: nothing scanned yet
    flagged: Path  # folder of FLAGGED_SHEETS scans
    batch: Path  # folder of BATCH_SHEETS scans
    layout: Layout

    def fresh_db(self, folder: Path, name: str = "ballots.db") -> Path:
        return backup_db(self.db, folder / name)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Scanned:
    folder = tmp_path_factory.mktemp("process-faults")
    store = open_store(folder / "printed.db")
    flagged = store.issue_serials(SESSION, template, FLAGGED_SHEETS, "flagged.pdf", draw=random.Random(41))
    batch = store.issue_serials(SESSION, template, BATCH_SHEETS, "batch.pdf", draw=random.Random(42))
    store.close()
    layout = compute_layout(template)
    for name, serials, difficulty, seed in [("flagged", flagged, "hard", 41), ("batch", batch, "mixed", 42)]:
        render_ballots(template, SESSION, serials, folder / f"{name}.pdf")
        simulate_batch(
            folder / f"{name}.pdf",
            layout,
            folder / name,
            profile="office",
            seed=seed,
            difficulty=difficulty,  # type: ignore[arg-type]
            file_format="jpeg",
        )
    return Scanned(folder / "printed.db", folder / "flagged", folder / "batch", layout)


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BALLOT), *args], capture_output=True, text=True, timeout=180, check=False, **kwargs)


def scan(folder: Path, db: Path, *extra: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run("scan", str(folder), "--session", SESSION, "--db", str(db), *extra, **kwargs)


def export_lines(db: Path) -> list[dict[str, Any]]:
    result = run("export", "--session", SESSION, "--db", str(db))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def by_page(lines: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[str, str, str | None, dict[str, str]]]:
    return {
        (line["source"], line["page"]): (
            line["outcome"],
            line["reason"],
            line["serial"],
            {unit: row["reading"] for unit, row in line["rows"].items()},
        )
        for line in lines
    }


def query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def integrity(db: Path) -> str:
    return str(query(db, "PRAGMA integrity_check")[0][0])


# -- a scan while a clerk decides rows on the review page -------------------------------------------------------


KNOWN_RACE = "KeyError: ("  # Store.flagged_rows, see test_flagged_rows_see_one_state_while_a_scan_commits


class Clerk:
    """The review page's HTTP calls, as its script makes them: token once, then the cookie and the CSRF header.
    Every answer's status is kept; a GET that fails with 500 is asked again, as the page's next poll would."""

    def __init__(self, url: str) -> None:
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]
        self.base = url.split("/?token=")[0]
        self.csrf = csrf_value(token)
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with self.browser.open(url, timeout=30) as page:  # 303 to "/", the token now in a cookie
            assert page.status == 200
        self.statuses: list[int] = []

    def get(self, path: str) -> Any:
        for _ in range(10):
            answer = self._open(urllib.request.Request(self.base + path))
            if answer is not None:
                return answer
            time.sleep(0.05)
        raise AssertionError(f"GET {path} failed ten times: {self.statuses[-10:]}")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """The server's answer, or None when it failed (the write itself may still have been stored)."""
        headers = {"Content-Type": "application/json", CSRF_HEADER: self.csrf}
        return self._open(urllib.request.Request(self.base + path, json.dumps(body).encode(), headers, method="POST"))

    def _open(self, request: urllib.request.Request) -> Any:
        try:
            with self.browser.open(request, timeout=60) as answer:
                self.statuses.append(answer.status)
                return json.load(answer)
        except urllib.error.HTTPError as error:
            self.statuses.append(error.code)
            error.close()
            return None


@dataclass(frozen=True)
class Write:
    """One decision (or undo) the clerk sent; ``answer`` is the row as the server confirmed it, None if the
    server failed to answer."""

    kind: str  # decide | undo
    page_id: int
    unit: str
    answer: dict[str, Any] | None
    sheets_seen: int  # read sheets the page listed just before


@dataclass
class Deciding:
    writes: list[Write] = field(default_factory=list)
    error: BaseException | None = None


def decide_until(clerk: Clerk, done: threading.Event, record: Deciding) -> None:
    """Decide every pending row, polling for the rows the scan adds; with nothing pending, take one decision
    back (so there is always a write to race the scan's). After ``done``, settle whatever is left."""
    try:
        finishing = False
        while True:
            finishing = finishing or done.is_set()
            sheets = len(clerk.get("/api/pages")["sheets"])
            rows = clerk.get("/api/queue")["rows"]
            pending = [row for row in rows if row["pending"]]
            if finishing and not pending:
                return
            row = pending[0] if pending else next(row for row in rows if row["decision"] is not None)
            body = {"page_id": row["page_id"], "unit": row["unit"], "version": row["version"]}
            if pending:
                chosen = {"kind": "choice", "choice": row["options"][0]}
                kind, answer = "decide", clerk.post("/api/rows/decide", {**body, **chosen})
            else:
                kind, answer = "undo", clerk.post("/api/rows/undo", body)
            record.writes.append(Write(kind, row["page_id"], row["unit"], answer and answer["row"], sheets))
            time.sleep(0.01)
    except BaseException as error:  # noqa: BLE001 - handed to the test's thread
        record.error = error


@pytest.fixture
def review_server(tmp_path: Path, scanned: Scanned) -> Iterator[tuple[Path, subprocess.Popen[str], str]]:
    db = scanned.fresh_db(tmp_path)
    first = scan(scanned.flagged, db, "--jobs", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    command = [str(BALLOT), "review", "--session", SESSION, "--db", str(db), "--port", "0", "--reviewer", "测试员"]
    # faulthandler: a command that does not stop is made to show where each of its threads is (see stopped()).
    environment = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127."), url
        yield db, server, url
    finally:
        if server.poll() is None:
            stopped(server)


def stopped(server: subprocess.Popen[str]) -> str:
    """Ctrl+C the review command (it closes the server and the store) and return what it wrote to stderr. One
    that has not stopped after 30 s is aborted, so that its threads' stacks are in the failure."""
    server.send_signal(signal.SIGINT)
    try:
        return server.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGABRT)
        errors = server.communicate(timeout=30)[1]
        raise AssertionError(f"ballot review did not stop within 30 s of Ctrl+C:\n{errors}") from None


def test_scan_while_a_clerk_decides_on_the_review_page_loses_nothing(
    review_server: tuple[Path, subprocess.Popen[str], str], scanned: Scanned
) -> None:
    db, server, url = review_server
    clerk = Clerk(url)
    before = clerk.get("/api/queue")["progress"]
    assert before["remaining"] >= 3, f"the flagged sheets give only {before['remaining']} rows to decide"
    sheets_before = len(clerk.get("/api/pages")["sheets"])
    assert sheets_before == FLAGGED_SHEETS

    done = threading.Event()
    record = Deciding()
    thread = threading.Thread(target=decide_until, args=(clerk, done, record), daemon=True)
    thread.start()
    while len(record.writes) < 2 and thread.is_alive():
        time.sleep(0.01)  # the clerk is busy before the scan starts
    batch = scan(scanned.batch, db, "--jobs", "1")
    done.set()
    thread.join(timeout=120)
    server_errors = stopped(server)
    assert not thread.is_alive() and record.error is None, f"{record.error}\n{server_errors}"
    assert "locked" not in batch.stdout + batch.stderr and "Traceback" not in batch.stderr, batch.stderr
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert f"已读取：{BATCH_SHEETS}" in batch.stdout
    failures = clerk.statuses.count(500)
    assert set(clerk.statuses) <= {200, 500}, clerk.statuses
    assert "locked" not in server_errors, server_errors
    assert server_errors.count("Traceback") == failures == server_errors.count(KNOWN_RACE), server_errors

    # The clerk's writes really raced the scan's: some were sent while the scan had stored part of the batch.
    assert any(sheets_before < write.sheets_seen < sheets_before + BATCH_SHEETS for write in record.writes)
    # Every confirmed write is one record, in the order sent (one whose answer failed may be there too).
    stored = [
        ("undo" if undoes else "decide", page_id, unit)
        for page_id, unit, undoes in query(db, "SELECT page_id, unit, undoes_id FROM decisions ORDER BY id")
    ]
    matched = 0
    for write in record.writes:
        if matched < len(stored) and stored[matched] == (write.kind, write.page_id, write.unit):
            matched += 1
        else:
            assert write.answer is None, f"confirmed but not stored: {write}"
    assert matched == len(stored), f"stored but never sent: {stored[matched:]}"
    # The last confirmed answer for each row is what the store holds; the final pass left nothing pending.
    in_force = {
        (page_id, unit): (reading, choice)
        for page_id, unit, reading, choice in query(db, "SELECT page_id, unit, reading, choice FROM current_decisions")
    }
    last = {(write.page_id, write.unit): write.answer for write in record.writes}
    for key, answer in last.items():
        if answer is not None:
            decision = answer["decision"]
            assert in_force.get(key) == (decision and (decision["kind"], decision["choice"])), key

    lines = export_lines(db)
    assert len(lines) == FLAGGED_SHEETS + BATCH_SHEETS
    assert {line["outcome"] for line in lines} == {"read"}
    assert len({line["serial"] for line in lines}) == len(lines)
    exported = {(line["serial"], unit): row["reading"] for line in lines for unit, row in line["rows"].items()}
    serial_of = dict(query(db, "SELECT id, serial FROM pages"))
    for (page_id, unit), (_, choice) in in_force.items():
        assert exported[(serial_of[page_id], unit)] == choice
    assert "pending" not in exported.values()
    assert integrity(db) == "ok"
    assert not failures, f"{failures} review request(s) failed"


# -- reads made of several statements, while a scan commits between them ------------------------------------------


class CommitBeforeSelect:
    """A store's connection that lets another writer commit just before some of its SELECTs, as a scan running
    beside it may at any moment (WAL: a statement outside a transaction sees the newest commit)."""

    def __init__(self, connection: sqlite3.Connection, write: Callable[[int], bool]) -> None:
        self.connection = connection
        self.write = write  # called with the SELECT's number (1, 2, …); commits or not
        self.selects = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.lstrip().upper().startswith("SELECT"):
            self.selects += 1
            self.write(self.selects)
        return self.connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


@dataclass(frozen=True)
class HalfScanned:
    db: Path  # three of the four flagged sheets scanned
    last: Path  # the fourth, which has rows for review
    batch: list[Path]  # the batch's files, none scanned


@pytest.fixture(scope="module")
def half_scanned(scanned: Scanned, tmp_path_factory: pytest.TempPathFactory) -> HalfScanned:
    from pipeline.reading.settings import load_settings
    from pipeline.scanning.batch import scan as scan_in_process

    folder = tmp_path_factory.mktemp("half-scanned")
    probe = open_store(scanned.fresh_db(folder, "probe.db"))
    scan_in_process([scanned.flagged], probe, SESSION, load_settings())
    last = Path(probe.flagged_rows(SESSION)[-1].source)
    probe.close()
    store = open_store(scanned.fresh_db(folder))
    others = [path for path in sorted(scanned.flagged.glob("*.jpg")) if path != last]
    scan_in_process(others, store, SESSION, load_settings())
    store.close()
    return HalfScanned(folder / "ballots.db", last, sorted(scanned.batch.glob("*.jpg")))


def scanning_beside(db: Path, files: list[Path], when: Callable[[int], bool]) -> Callable[[int], bool]:
    """A writer for CommitBeforeSelect: before each SELECT ``when`` picks, another connection scans one more file."""
    from pipeline.reading.settings import load_settings
    from pipeline.scanning.batch import scan as scan_in_process

    queue = list(files)

    def write(select: int) -> bool:
        if not (queue and when(select)):
            return False
        other = open_store(db)
        try:
            summary = scan_in_process([queue.pop(0)], other, SESSION, load_settings())
        finally:
            other.close()
        assert summary.outcomes["read"] == 1
        return True

    return write


def test_flagged_rows_see_one_state_while_a_scan_commits(tmp_path: Path, half_scanned: HalfScanned) -> None:
    from pipeline.store.database import Store

    db = backup_db(half_scanned.db, tmp_path / "ballots.db")
    store = open_store(db)
    try:
        before = {row.source for row in store.flagged_rows(SESSION)}
        write = scanning_beside(db, [half_scanned.last], lambda select: select == 2)
        racing = Store(CommitBeforeSelect(store.db, write), db)  # type: ignore[arg-type]
        rows = racing.flagged_rows(SESSION)
        assert all(row.boxes for row in rows)
        assert {row.source for row in rows} in (before, before | {str(half_scanned.last)})
    finally:
        store.close()


def test_export_during_a_scan_lists_every_read_page_with_its_rows(tmp_path: Path, half_scanned: HalfScanned) -> None:
    from pipeline.store.database import Store

    db = backup_db(half_scanned.db, tmp_path / "ballots.db")
    store = open_store(db)
    try:
        write = scanning_beside(db, half_scanned.batch, lambda select: select > 1)
        lines = Store(CommitBeforeSelect(store.db, write), db).export_pages(SESSION)  # type: ignore[arg-type]
        assert [line["source"] for line in lines if line["outcome"] == "read" and not line["rows"]] == []
    finally:
        store.close()


# -- the disk fills up (or the file may grow no further) in the middle of a scan -----------------------------------


@pytest.fixture(scope="module")
def uninterrupted(scanned: Scanned, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    db = scanned.fresh_db(tmp_path_factory.mktemp("uninterrupted"))
    result = scan(scanned.batch, db, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    return export_lines(db)


def file_size_limit(limit: int) -> None:
    """In the child: writes past ``limit`` bytes of any file fail with EFBIG, as they would on a full disk
    (SIGXFSZ ignored, so the write returns the error instead of killing the process)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


CANNOT_WRITE = "错误：数据库无法写入（disk I/O error），已经做完的都还在。请检查磁盘空间和文件权限，然后再运行一次。"


@pytest.mark.parametrize(
    ("where", "limit", "message"),
    [
        # Below the 32 KB the WAL index (-shm) needs: the store cannot even be opened.
        pytest.param("opening the store", 24_000, "错误：打不开数据库 {db}：disk I/O error", id="open"),
        # The WAL stops at 60 KB: a few small transactions.
        pytest.param("registering the files", 60_000, CANNOT_WRITE, id="prepare"),
        # A few pages (scores, readings, a ~150 KB review image each) past the printed store's size.
        pytest.param("storing pages", 1_000_000, CANNOT_WRITE, id="pages"),
    ],
)
def test_disk_full_mid_scan_is_one_clear_error_and_a_rerun_completes_the_batch(
    tmp_path: Path, scanned: Scanned, uninterrupted: list[dict[str, Any]], where: str, limit: int, message: str
) -> None:
    db = scanned.fresh_db(tmp_path)
    if where == "storing pages":
        limit += db.stat().st_size
    result = scan(scanned.batch, db, "--jobs", "2", preexec_fn=lambda: file_size_limit(limit))

    assert result.returncode == 1, f"{where}: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "错误" in line or "error" in line.lower()]
    assert errors == [message.format(db=db)], result.stderr

    status = run("status", "--session", SESSION, "--db", str(db))
    assert status.returncode == 0, status.stderr
    assert integrity(db) == "ok"
    boxes, rows = len(scanned.layout.boxes), len(scanned.layout.rows)
    stored = query(
        db,
        "SELECT p.outcome, (SELECT count(*) FROM box_scores b WHERE b.page_id = p.id), "
        "(SELECT count(*) FROM row_readings r WHERE r.page_id = p.id), "
        "(SELECT count(*) FROM page_images i WHERE i.page_id = p.id) FROM pages p",
    )
    assert stored == [("read", boxes, rows, 1)] * len(stored), "a page is stored whole or not at all"
    if where == "storing pages":
        assert 1 <= len(stored) < BATCH_SHEETS, f"the limit should stop the scan partway ({len(stored)} stored)"
        assert f"已读取：{len(stored)}" in status.stdout
    else:
        assert stored == [], where

    rerun = scan(scanned.batch, db, "--jobs", "2")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rerun_pages, reference = by_page(export_lines(db)), by_page(uninterrupted)
    assert rerun_pages.keys() == reference.keys()
    assert {key: page for key, page in rerun_pages.items() if page != reference[key]} == {}, reference
    assert query(db, "SELECT DISTINCT status FROM files") == [("done",)]
    assert integrity(db) == "ok"
