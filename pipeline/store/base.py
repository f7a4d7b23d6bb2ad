"""The SQLite store: all SQL of the project lives here (schema in ``schema.sql``).

One file (default ``output/ballots.db``, or ``--db`` / ``BALLOT_DB``). WAL mode so that a review server
and a scan can share it; every write is a short transaction, so a killed run loses at most the page it
was on.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Concatenate, ParamSpec, TypedDict, TypeVar

import numpy as np

from pipeline import __version__
from pipeline.ballot.payload import new_serial, normalise_serial
from pipeline.ballot.template import CATEGORY_ROW, Template, parse_template
from pipeline.counting.ballots import BallotResult, RowResult
from pipeline.counting.rules import Override, OverrideRequest
from pipeline.counting.tally import SessionFacts
from pipeline.reading.settings import ReadingSettings
from pipeline.store.records import (
    BoxFill,
    Decision,
    DecisionConflict,
    DecisionRefused,
    FlaggedRow,
    HandRow,
    PageDecisionKind,
    PageState,
    PageSummary,
    RowDecisionKind,
    RowState,
    StoredImage,
)

SCHEMA_VERSION = 9
#: What takes a store's tables from the previous version to the next (schema.sql creates the newest
#: directly). Views hold no data: a migration drops them all and creates them again from schema.sql.
MIGRATIONS = {
    2: """CREATE TABLE session_forms (
        session       TEXT NOT NULL REFERENCES sessions (name),
        template_hash TEXT NOT NULL REFERENCES templates (hash),
        added_at      TEXT NOT NULL,
        PRIMARY KEY (session, template_hash)
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX pages_one_read_per_image ON pages (session, image_fingerprint)
        WHERE outcome = 'read' AND serial IS NULL;""",
    3: "ALTER TABLE box_scores ADD COLUMN encircled REAL NOT NULL DEFAULT 0;",
    4: """CREATE TABLE template_blanks (
        template_hash TEXT NOT NULL REFERENCES templates (hash),
        px_per_mm     REAL NOT NULL,
        png           BLOB NOT NULL,
        PRIMARY KEY (template_hash, px_per_mm)
    ) STRICT, WITHOUT ROWID;""",
    5: "ALTER TABLE page_decisions ADD COLUMN serial TEXT CHECK (serial IS NULL OR length(serial) = 10);",
    # Scores stored before were read as one mark per box: 0 keeps their readings as they were.
    6: "ALTER TABLE box_scores ADD COLUMN scattered REAL NOT NULL DEFAULT 0;",
    # Likewise: 0 is "no ink along the border" and "no ink level to reach", as those scores were classified.
    7: """ALTER TABLE box_scores ADD COLUMN edge REAL NOT NULL DEFAULT 0;
    ALTER TABLE box_scores ADD COLUMN ink_level REAL NOT NULL DEFAULT 0;""",
    # 0 is "no ring along the border", as those scores were classified.
    8: "ALTER TABLE box_scores ADD COLUMN edge_around REAL NOT NULL DEFAULT 0;",
    # Images kept before were all upright copies or reduced scans, shown as they are.
    9: "ALTER TABLE page_images ADD COLUMN as_scanned INTEGER NOT NULL DEFAULT 0 CHECK (as_scanned IN (0, 1));",
}
#: Pages of a session that count a given serial: read by the machine, or counted by a clerk under the serial
#: the page carried or the clerk read off the sheet. Parameters: session, serial.
COUNTED_SERIAL = (
    "SELECT p.id, f.path, p.page_no, p.image_fingerprint FROM pages p JOIN files f ON f.id = p.file_id "
    "LEFT JOIN current_page_decisions c ON c.page_id = p.id AND c.decision = 'count' "
    "WHERE p.session = ?1 "
    "AND ((p.outcome = 'read' AND p.serial = ?2) OR (c.id IS NOT NULL AND coalesce(p.serial, c.serial) = ?2))"
)
DEFAULT_DB = Path("output/ballots.db")


def default_db_path() -> Path:
    return Path(os.environ.get("BALLOT_DB") or DEFAULT_DB)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreError(Exception):
    """The store cannot be used (newer schema, read-only, disk full); the message says what to do."""


class FormConflictError(Exception):
    """An external form's id is already used in the session with other content."""


@dataclass(frozen=True)
class StoredTemplate:
    hash: str
    template: Template


#: Box score columns, in the field order of :class:`pipeline.reading.score.BoxScore` (a test checks they agree).
SCORE_COLUMNS = (
    "unit", "option", "position", "fill", "outside", "centre", "darkness", "crossing", "shift_mm", "border_match",
    "encircled", "scattered", "edge", "ink_level", "edge_around",
)  # fmt: skip
ScoreRow = tuple[str, str, int, float, float, float, float, float, float, float, float, float, float, float, float]


class RowExport(TypedDict):
    reading: str  # the option, or blank / overvote / pending
    reason: str
    scores: dict[str, float]  # option → fill


class PageExport(TypedDict):
    """One line of ``ballot export --format jsonl`` (the shape other tools rely on)."""

    source: str
    page: int
    outcome: str
    reason: str
    serial: str | None
    rows: dict[str, RowExport]


@dataclass(frozen=True)
class PageRecord:
    """One page's outcome as the store keeps it (built by :mod:`pipeline.scanning.batch`)."""

    file_id: int
    session: str
    page_no: int
    outcome: str
    reason: str
    settings_hash: str
    classification_id: int
    serial: str | None = None
    template_hash: str | None = None
    fingerprint: str | None = None
    rotation: int | None = None
    transform: str | None = None
    residual_mm: float | None = None
    px_per_mm: float | None = None
    skew_deg: float | None = None
    marks_found: int | None = None
    scores: list[ScoreRow] = field(default_factory=list)  # values in SCORE_COLUMNS order
    # (unit, reading, choice, reason)
    readings: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    # (mime, width, height, data, as_scanned): see pipeline.reading.outcome.PageImage
    image: tuple[str, int, int, bytes, bool] | None = None


P = ParamSpec("P")
R = TypeVar("R")


def _one_snapshot(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """Run a method's several SELECTs in one read transaction, so that they all see the store as it was at
    one moment even while a scan in another process commits pages."""

    def wrapper(store: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with store.snapshot():
            return method(store, *args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


class Store:
    """A connection to the store with typed operations. Use :func:`open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """BEGIN (deferred, so a writer is never blocked) … COMMIT: reads inside see one state of the store."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    # -- templates and sessions ------------------------------------------------------------------------

    def add_template(self, template: Template, source_path: str | None = None) -> str:
        digest = template.content_hash()
        definition = json.dumps(template.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO templates (hash, template_id, short_hash, definition, source_path, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                (digest, template.id, template.short_hash(), definition, source_path, now()),
            )
        return digest

    def template_blank(self, digest: str, px_per_mm: float) -> bytes | None:
        """The cached blank rendering (PNG) of a stored template, if one was kept."""
        row = self.db.execute(
            "SELECT png FROM template_blanks WHERE template_hash = ? AND px_per_mm = ?", (digest, px_per_mm)
        ).fetchone()
        return bytes(row[0]) if row else None

    def keep_template_blank(self, digest: str, px_per_mm: float, png: bytes) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO template_blanks (template_hash, px_per_mm, png) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (digest, px_per_mm, png),
            )

    def use_form(self, session: str, template: Template, source_path: str) -> str:
        """Register an existing office form (``source: external``) as read in ``session``; returns its hash.

        Raises :class:`FormConflictError` if the session already reads a different form of the same id: pages
        read against the old one would otherwise be counted against a changed form."""
        digest = template.content_hash()
        self.ensure_session(session)
        self.add_template(template, source_path)
        with self.transaction() as db:
            other = db.execute(
                "SELECT t.hash FROM session_forms f JOIN templates t ON t.hash = f.template_hash "
                "WHERE f.session = ? AND t.template_id = ? AND t.hash <> ?",
                (session, template.id, digest),
            ).fetchone()
            if other is not None:
                raise FormConflictError(
                    f"表格 {template.id} 在 {session} 中已按另一版本读取 / form {template.id} was already read in "
                    f"{session} as a different version ({other[0][:8]}, now {digest[:8]}); give the changed form "
                    "a new id"
                )
            db.execute(
                "INSERT INTO session_forms (session, template_hash, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (session, digest, now()),
            )
        return digest

    def session_forms(self, session: str) -> list[Template]:
        """The existing office forms read in ``session``, first registered first."""
        rows = self.db.execute(
            "SELECT t.template_id, t.definition FROM session_forms f JOIN templates t ON t.hash = f.template_hash "
            "WHERE f.session = ? ORDER BY f.added_at, t.template_id",
            (session,),
        )
        return [_stored_template(name, definition) for name, definition in rows]

    def find_template(self, template_id: str, short_hash: str) -> StoredTemplate | None:
        row = self.db.execute(
            "SELECT hash, definition FROM templates WHERE template_id = ? AND short_hash = ?",
            (template_id, short_hash),
        ).fetchone()
        if row is None:
            return None
        return StoredTemplate(row[0], _stored_template(template_id, row[1]))

    def template_by_hash(self, digest: str) -> Template:
        row = self.db.execute("SELECT template_id, definition FROM templates WHERE hash = ?", (digest,)).fetchone()
        return _stored_template(row[0], row[1])

    def ensure_session(self, session: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sessions (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (session, now()),
            )

    def session_exists(self, session: str) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE name = ?", (session,)).fetchone() is not None

    # -- printing ---------------------------------------------------------------------------------------

    def issue_serials(self, session: str, template: Template, copies: int, output_path: str) -> list[str]:
        """Record a print batch and return ``copies`` new serials, unique within the session."""
        digest = self.add_template(template)
        self.ensure_session(session)
        with self.transaction() as db:
            batch = db.execute(
                "INSERT INTO print_batches (session, template_hash, copies, output_path, printed_at, "
                "program_version) VALUES (?, ?, ?, ?, ?, ?)",
                (session, digest, copies, output_path, now(), __version__),
            ).lastrowid
            serials: set[str] = set()
            while len(serials) < copies:
                candidate = new_serial()
                if candidate in serials:
                    continue
                taken = db.execute(
                    "SELECT 1 FROM serials WHERE session = ? AND serial = ?", (session, candidate)
                ).fetchone()
                if taken is None:
                    serials.add(candidate)
            db.executemany(
                "INSERT INTO serials (session, serial, batch_id) VALUES (?, ?, ?)",
                [(session, serial, batch) for serial in sorted(serials)],
            )
        # A set has no print order to leak; shuffle explicitly anyway so the PDF order is random too.
        ordered = sorted(serials)
        _shuffle(ordered)
        return ordered

    def serial_issued(self, session: str, serial: str) -> bool:
        row = self.db.execute("SELECT 1 FROM serials WHERE session = ? AND serial = ?", (session, serial))
        return row.fetchone() is not None

    def issued_serials(self, session: str) -> list[str]:
        rows = self.db.execute("SELECT serial FROM serials WHERE session = ? ORDER BY serial", (session,))
        return [row[0] for row in rows]

    # -- reading: files, pages, scores and readings --------------------------------------------------------

    def find_file(self, session: str, sha256: str) -> tuple[int, str, str] | None:
        """(id, status, path) of a file with this content already seen in the session."""
        row = self.db.execute(
            "SELECT id, status, path FROM files WHERE session = ? AND sha256 = ?", (session, sha256)
        ).fetchone()
        return (int(row[0]), str(row[1]), str(row[2])) if row else None

    def add_file(self, session: str, sha256: str | None, path: str, size: int | None) -> int:
        self.ensure_session(session)
        with self.transaction() as db:
            # Another scan of the same session may have registered this content since we looked: share its row.
            taken = db.execute("SELECT id FROM files WHERE session = ? AND sha256 = ?", (session, sha256)).fetchone()
            if sha256 is not None and taken is not None:
                return int(taken[0])
            cursor = db.execute(
                "INSERT INTO files (session, sha256, path, size_bytes, status, added_at) "
                "VALUES (?, ?, ?, ?, 'reading', ?)",
                (session, sha256, path, size, now()),
            )
        return int(cursor.lastrowid or 0)

    def set_file_pages(self, file_id: int, count: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE files SET page_count = ? WHERE id = ?", (count, file_id))

    def finish_file(self, file_id: int, status: str, reason: str = "") -> None:
        with self.transaction() as db:
            db.execute("UPDATE files SET status = ?, reason = ? WHERE id = ?", (status, reason, file_id))

    def stored_page_numbers(self, file_id: int) -> set[int]:
        rows = self.db.execute("SELECT page_no FROM pages WHERE file_id = ?", (file_id,))
        return {int(row[0]) for row in rows}

    def template_catalog(self) -> dict[tuple[str, str], tuple[str, Template]]:
        """Every template ever printed with this store: (id, short hash) → (hash, template)."""
        catalog = {}
        for digest, template_id, short, definition in self.db.execute(
            "SELECT hash, template_id, short_hash, definition FROM templates"
        ):
            catalog[(template_id, short)] = (digest, _stored_template(template_id, definition))
        return catalog

    def register_settings(self, settings: ReadingSettings) -> str:
        digest = settings.content_hash()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings_versions (hash, definition, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (digest, settings.model_dump_json(), now()),
            )
        return digest

    def classification_for(self, session: str, settings_hash: str, *, fresh: bool = False) -> int:
        """The session's newest classification if it used these settings, else a new one."""
        self.ensure_session(session)
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, settings_hash FROM classifications WHERE session = ? ORDER BY id DESC LIMIT 1",
                (session,),
            ).fetchone()
            if row is not None and row[1] == settings_hash and not fresh:
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO classifications (session, settings_hash, program_version, created_at) VALUES (?, ?, ?, ?)",
                (session, settings_hash, __version__, now()),
            )
        return int(cursor.lastrowid or 0)

    def save_page(self, page: PageRecord) -> tuple[str, str]:
        """Store one page's outcome (and, for a ballot, its scores, readings and review image).

        The serial checks happen here, inside the write transaction, so two scans of the same session
        can never both count one serial. Returns the stored (outcome, reason).
        """
        with self.transaction() as db:
            stored = db.execute(
                "SELECT outcome, reason FROM pages WHERE file_id = ? AND page_no = ?", (page.file_id, page.page_no)
            ).fetchone()
            if stored is not None:  # another scan of the same file stored this page first: keep that one
                return str(stored[0]), str(stored[1])
            outcome, reason = page.outcome, page.reason
            if outcome == "read" and page.serial is not None:
                outcome, reason = self._serial_outcome(db, page)
            elif outcome == "read":
                outcome, reason = self._image_outcome(db, page)
            cursor = db.execute(
                "INSERT INTO pages (file_id, session, page_no, outcome, reason, serial, template_hash, "
                "image_fingerprint, rotation, transform, residual_mm, scale_px_per_mm, skew_deg, marks_found, "
                "program_version, settings_hash, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page.file_id,
                    page.session,
                    page.page_no,
                    outcome,
                    reason,
                    page.serial,
                    page.template_hash,
                    page.fingerprint,
                    page.rotation,
                    page.transform,
                    page.residual_mm,
                    page.px_per_mm,
                    page.skew_deg,
                    page.marks_found,
                    __version__,
                    page.settings_hash,
                    now(),
                ),
            )
            page_id = int(cursor.lastrowid or 0)
            if outcome == "read":
                db.executemany(
                    f"INSERT INTO box_scores (page_id, {', '.join(SCORE_COLUMNS)}) "
                    f"VALUES (?{', ?' * len(SCORE_COLUMNS)})",
                    [(page_id, *score) for score in page.scores],
                )
                db.executemany(
                    "INSERT INTO row_readings (classification_id, page_id, unit, reading, choice, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(page.classification_id, page_id, *reading) for reading in page.readings],
                )
            if page.image is not None:
                db.execute(
                    "INSERT INTO page_images (page_id, kind, mime, width, height, data, as_scanned) "
                    "VALUES (?, 'page', ?, ?, ?, ?, ?)",
                    (page_id, *page.image),
                )
        return outcome, reason

    def pending_rows(self, session: str, *, category: bool | None = None) -> int:
        """Rows whose effective reading is still pending (a voided sheet's rows are never counted, so not);
        ``category``: only the 测评人类别 rows (True) or only the units' rows (False)."""
        only = {None: "", True: " AND e.unit = ?", False: " AND e.unit <> ?"}[category]
        row = self.db.execute(
            "SELECT count(*) FROM effective_readings e JOIN pages p ON p.id = e.page_id "
            "WHERE p.session = ? AND p.outcome = 'read' AND e.reading = 'pending' AND NOT EXISTS ("
            f"SELECT 1 FROM current_page_decisions v WHERE v.page_id = p.id AND v.decision = 'void'){only}",
            (session,) if category is None else (session, CATEGORY_ROW),
        ).fetchone()
        return int(row[0])

    def outcome_counts(self, session: str) -> dict[str, int]:
        """Pages per outcome, plus 'unreadable_file' for files that could not be opened at all."""
        counts = {
            str(outcome): int(count)
            for outcome, count in self.db.execute(
                "SELECT outcome, count(*) FROM pages WHERE session = ? GROUP BY outcome", (session,)
            )
        }
        files = self.db.execute(
            "SELECT count(*) FROM files WHERE session = ? AND status = 'unreadable'", (session,)
        ).fetchone()[0]
        if files:
            counts["unreadable_file"] = int(files)
        return counts

    def stored_scores(self, session: str) -> dict[int, list[ScoreRow]]:
        """Box scores of every read page of the session, by page id, in sheet order."""
        pages: dict[int, list[ScoreRow]] = {}
        columns = ", ".join(f"b.{column}" for column in SCORE_COLUMNS)
        for page_id, *score in self.db.execute(
            f"SELECT b.page_id, {columns} "
            "FROM box_scores b JOIN pages p ON p.id = b.page_id WHERE p.session = ? AND p.outcome = 'read' "
            "ORDER BY b.page_id, b.rowid",
            (session,),
        ):
            pages.setdefault(int(page_id), []).append(tuple(score))
        return pages

    def save_classification(
        self, classification_id: int, readings: dict[int, Sequence[tuple[str, str, str | None, str]]]
    ) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO row_readings (classification_id, page_id, unit, reading, choice, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(classification_id, page_id, *row) for page_id, rows in readings.items() for row in rows],
            )

    @_one_snapshot
    def export_pages(self, session: str) -> list[PageExport]:
        """One dict per page (and one per unreadable file, page 0), in scan order: the export shape."""
        lines: list[PageExport] = []
        for path, reason in self.db.execute(
            "SELECT path, reason FROM files WHERE session = ? AND status = 'unreadable' ORDER BY id",
            (session,),
        ):
            lines.append(
                {
                    "source": path,
                    "page": 0,
                    "outcome": "unreadable",
                    "reason": reason,
                    "serial": None,
                    "rows": {},
                }
            )
        scores: dict[tuple[int, str], dict[str, float]] = {}
        for page_id, unit, option, fill in self.db.execute(
            "SELECT b.page_id, b.unit, b.option, b.fill FROM box_scores b JOIN pages p ON p.id = b.page_id "
            "WHERE p.session = ? ORDER BY b.page_id, b.rowid",
            (session,),
        ):
            scores.setdefault((page_id, unit), {})[option] = fill
        readings: dict[int, dict[str, RowExport]] = {}
        # Effective readings (a clerk's decision, else the machine's) with the machine's reason for flagging;
        # rows of a rejected page a clerk counted by hand have no scores and no machine reason.
        for page_id, unit, reading, choice, reason in self.db.execute(
            "SELECT e.page_id, e.unit, e.reading, e.choice, coalesce(m.reason, '') FROM effective_readings e "
            "JOIN pages p ON p.id = e.page_id LEFT JOIN machine_readings m ON m.page_id = e.page_id "
            "AND m.unit = e.unit LEFT JOIN box_scores b ON b.page_id = e.page_id AND b.unit = e.unit "
            "AND b.position = 0 WHERE p.session = ? ORDER BY e.page_id, b.rowid",
            (session,),
        ):
            readings.setdefault(page_id, {})[unit] = {
                "reading": choice if reading == "choice" else reading,
                "reason": reason,
                "scores": scores.get((page_id, unit), {}),
            }
        for page_id, path, page_no, outcome, reason, serial, decision, note in self.db.execute(
            "SELECT p.id, f.path, p.page_no, p.outcome, p.reason, p.serial, d.decision, d.note "
            "FROM pages p JOIN files f ON f.id = p.file_id LEFT JOIN current_page_decisions d ON d.page_id = p.id "
            "WHERE p.session = ? ORDER BY f.id, p.page_no",
            (session,),
        ):
            lines.append(
                {
                    "source": path,
                    "page": page_no,
                    "outcome": outcome,
                    "reason": self._with_page_decision(reason, decision, note),
                    "serial": serial,
                    "rows": readings.get(page_id, {}),  # read pages, and rejected pages a clerk counted
                }
            )
        return lines

    @_one_snapshot
    def review_log(self, session: str) -> list[tuple[str, str, str, str, str, str]]:
        """Every row decision of the session, undos included, oldest first:
        (serial, unit, machine reading, decision, reviewer, decided at). Readings are in Chinese."""
        words = {"blank": "弃权", "void": "无效", "overvote": "多选", "pending": "存疑"}
        log = []
        for (
            serial,
            page_id,
            unit,
            machine,
            machine_choice,
            reason,
            reading,
            choice,
            undoes,
            reviewer,
            at,
        ) in self.db.execute(
            "SELECT p.serial, p.id, d.unit, m.reading, m.choice, m.reason, d.reading, d.choice, d.undoes_id, "
            "d.reviewer, d.decided_at FROM decisions d JOIN pages p ON p.id = d.page_id "
            "LEFT JOIN machine_readings m ON m.page_id = d.page_id AND m.unit = d.unit "
            "WHERE p.session = ? ORDER BY d.id",
            (session,),
        ):
            was = machine_choice if machine == "choice" else words.get(str(machine), "人工录入")
            if reason:
                was = f"{was}（{reason}）"
            decision = f"撤销第 {undoes} 号决定" if undoes else (choice if reading == "choice" else words[str(reading)])
            log.append((str(serial or f"page-{page_id}"), str(unit), was, decision, str(reviewer), str(at)))
        return log

    @_one_snapshot
    def effective_ballots(self, session: str) -> list[BallotResult]:
        """Every counted sheet of the session with each row's effective reading (see pipeline/ballots.py)."""
        ballots: dict[int, tuple[str, str, list[RowResult]]] = {}
        voided: set[int] = set()
        # Read sheets, plus rejected pages a clerk counted by hand (rows all entered by the clerk, template the
        # one the clerk read them by); a sheet a clerk voided (作废) comes out with void=True.
        for page_id, serial, template_hash, unit, reading, choice, void in self.db.execute(
            "SELECT p.id, coalesce(p.serial, h.serial, 'page-' || p.id), coalesce(h.template_hash, p.template_hash), "
            "e.unit, "
            "e.reading, e.choice, v.id IS NOT NULL FROM pages p JOIN effective_readings e ON e.page_id = p.id "
            "LEFT JOIN box_scores b ON b.page_id = p.id AND b.unit = e.unit AND b.position = 0 "
            "LEFT JOIN current_page_decisions h ON h.page_id = p.id AND h.decision = 'count' "
            "LEFT JOIN current_page_decisions v ON v.page_id = p.id AND v.decision = 'void' "
            "WHERE p.session = ? AND (p.outcome = 'read' OR h.id IS NOT NULL) ORDER BY p.id, b.rowid",
            (session,),
        ):
            entry = ballots.setdefault(int(page_id), (str(serial), str(template_hash), []))
            entry[2].append(RowResult(str(unit), reading, choice))
            if void:
                voided.add(int(page_id))
        results = []
        for page_id, (serial, template_hash, rows) in ballots.items():
            category = next((row for row in rows if row.unit == CATEGORY_ROW), None)
            results.append(
                BallotResult(
                    page_id=page_id,
                    serial=serial,
                    template_hash=template_hash,
                    rows=tuple(row for row in rows if row.unit != CATEGORY_ROW),
                    category=category.choice if category is not None and category.kind == "choice" else None,
                    void=page_id in voided,
                )
            )
        return results

    @staticmethod
    def _image_outcome(db: sqlite3.Connection, page: PageRecord) -> tuple[str, str]:
        """A sheet without a serial (an existing office form) is a duplicate only as the very same image."""
        earlier = db.execute(
            "SELECT f.path, p.page_no FROM pages p JOIN files f ON f.id = p.file_id "
            "WHERE p.session = ? AND p.image_fingerprint = ? AND p.outcome = 'read'",
            (page.session, page.fingerprint),
        ).fetchone()
        if earlier is None:
            return page.outcome, page.reason
        return (
            "duplicate",
            f"the same image was already counted from {earlier[0]} page {earlier[1]}; not counted",
        )

    def _serial_outcome(self, db: sqlite3.Connection, page: PageRecord) -> tuple[str, str]:
        if not db.execute(
            "SELECT 1 FROM serials WHERE session = ? AND serial = ?", (page.session, page.serial)
        ).fetchone():
            return (
                "unknown_serial",
                f"serial {page.serial} was never issued for {page.session} (a foreign ballot?)",
            )
        # A sheet a clerk counted by hand (its scan was unreadable) is counted as surely as one read.
        earlier = db.execute(COUNTED_SERIAL, (page.session, page.serial)).fetchone()
        if earlier is None:
            return page.outcome, page.reason
        how = (
            "the same image scanned again"
            if earlier[3] == page.fingerprint
            else "a different image: a photocopy or a rescan"
        )
        return (
            "duplicate",
            f"serial {page.serial} was already counted from {earlier[1]} page {earlier[2]} ({how}); not counted",
        )

    # -- results: session facts and overrides ---------------------------------------------------------------

    def set_session_facts(
        self, session: str, *, issued: int | None = None, expected: int | None = None, attended: int | None = None
    ) -> SessionFacts:
        """Record 发出 / 应到 / 实到 for an existing session; a value left as None keeps what was recorded."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET issued = coalesce(?, issued), expected = coalesce(?, expected), "
                "attended = coalesce(?, attended) WHERE name = ?",
                (issued, expected, attended, session),
            )
        return self.session_facts(session)

    def session_facts(self, session: str) -> SessionFacts:
        row = self.db.execute("SELECT issued, expected, attended FROM sessions WHERE name = ?", (session,)).fetchone()
        return SessionFacts(session, *(row or (None, None, None)))

    def session_templates(self, session: str) -> list[Template]:
        """The templates of ``session``: those its ballots were printed from (first printed first), then the
        existing office forms read in it."""
        rows = self.db.execute(
            "SELECT t.template_id, t.definition FROM templates t JOIN print_batches b ON b.template_hash = t.hash "
            "WHERE b.session = ? GROUP BY t.hash ORDER BY min(b.id)",
            (session,),
        )
        return [_stored_template(name, definition) for name, definition in rows] + self.session_forms(session)

    def session_units(self, sessions: Sequence[str]) -> set[str]:
        """Every row name on a template of any of ``sessions`` (empty if none was printed or read)."""
        return {
            row.unit
            for session in sessions
            for template in self.session_templates(session)
            for section in template.sections
            for row in section.rows
        }

    def add_override(self, request: OverrideRequest) -> Override:
        """Store an override already checked with :func:`pipeline.counting.rules.override_problems`."""
        with self.transaction() as db:
            override_id = db.execute(
                "INSERT INTO overrides (unit, period, kind, area, ref, authority, decided_on, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request.unit, request.period, request.kind, request.area, request.ref, request.authority,
                 request.date, request.note, now()),
            ).lastrowid  # fmt: skip
        found = self.override(int(override_id or 0))
        assert found is not None
        return found

    def overrides(self, periods: Sequence[str] | None = None) -> list[Override]:
        """Override records (revoked ones included), oldest first; only those of ``periods`` if given."""
        query = (
            "SELECT o.id, o.unit, o.period, o.kind, o.ref, o.authority, o.decided_on, o.note, o.area, o.created_at, "
            "r.revoked_at, r.reason FROM overrides o LEFT JOIN override_revocations r ON r.override_id = o.id"
        )
        if periods is None:
            rows = self.db.execute(f"{query} ORDER BY o.id").fetchall()
        else:
            marks = ", ".join("?" for _ in periods)
            rows = self.db.execute(f"{query} WHERE o.period IN ({marks}) ORDER BY o.id", tuple(periods)).fetchall()
        return [
            Override(
                id=row[0],
                request=OverrideRequest(*row[1:9]),  # columns in the dataclass's field order
                created_at=row[9],
                revoked_at=row[10],
                revoke_reason=row[11],
            )
            for row in rows
        ]

    def override(self, override_id: int) -> Override | None:
        return next((o for o in self.overrides() if o.id == override_id), None)

    def revoke_override(self, override_id: int, reason: str) -> bool:
        """Record a revocation; False if there is no such override or it was already revoked."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO override_revocations (override_id, revoked_at, reason) "
                "SELECT id, ?, ? FROM overrides WHERE id = ? ON CONFLICT (override_id) DO NOTHING",
                (now(), reason, override_id),
            )
        return cursor.rowcount == 1

    # -- end of results block ---------------------------------------------------------------------------------

    # -- review: decisions ---------------------------------------------------------------------------------------
    # A clerk's decisions sit beside the machine's readings (review block of schema.sql) and are never updated
    # or deleted. Each write is one BEGIN IMMEDIATE transaction that first compares the version the clerk saw
    # with the current one: a stale page gets DecisionConflict with the current state instead of a blind write.

    _ROW_COLUMNS = (
        "m.page_id, m.unit, (SELECT coalesce(max(d.id), 0) FROM decisions d WHERE d.page_id = m.page_id "
        "AND d.unit = m.unit), m.reading, m.choice, m.reason, c.reading, c.choice, c.reviewer, c.decided_at"
    )
    _ROW_TABLES = (
        "machine_readings m JOIN pages p ON p.id = m.page_id "
        "LEFT JOIN current_decisions c ON c.page_id = m.page_id AND c.unit = m.unit"
    )
    _PAGE_COLUMNS = (
        "p.id, f.path, p.page_no, p.outcome, p.reason, p.serial, p.template_hash, "
        "EXISTS (SELECT 1 FROM page_images i WHERE i.page_id = p.id AND i.kind = 'page'), "
        "(SELECT coalesce(max(d.id), 0) FROM page_decisions d WHERE d.page_id = p.id), "
        "c.decision, c.note, c.reviewer, c.decided_at"
    )
    _PAGE_TABLES = "pages p JOIN files f ON f.id = p.file_id LEFT JOIN current_page_decisions c ON c.page_id = p.id"
    _NOT_VOIDED = "NOT EXISTS (SELECT 1 FROM current_page_decisions v WHERE v.page_id = p.id AND v.decision = 'void')"

    @_one_snapshot
    def flagged_rows(self, session: str) -> list[FlaggedRow]:
        """Rows the machine sent to review on the session's read sheets, in sheet order, with their box fills
        and state. Rows of a voided sheet are left out: that sheet is not counted, so they need no decision."""
        boxes: dict[tuple[int, str], list[BoxFill]] = {}
        for page_id, unit, option, fill, outside in self.db.execute(
            "SELECT b.page_id, b.unit, b.option, b.fill, b.outside FROM box_scores b JOIN pages p ON p.id = b.page_id "
            "JOIN machine_readings m ON m.page_id = b.page_id AND m.unit = b.unit AND m.reading = 'pending' "
            "WHERE p.session = ? AND p.outcome = 'read' ORDER BY b.page_id, b.position",
            (session,),
        ):
            boxes.setdefault((int(page_id), str(unit)), []).append(BoxFill(option, fill, outside))
        flagged = []
        for row in self.db.execute(
            f"SELECT {self._ROW_COLUMNS}, coalesce(p.serial, ''), p.template_hash, f.path, p.page_no "
            f"FROM {self._ROW_TABLES} JOIN files f ON f.id = p.file_id "
            "JOIN box_scores b ON b.page_id = m.page_id AND b.unit = m.unit AND b.position = 0 "
            f"WHERE p.session = ? AND p.outcome = 'read' AND m.reading = 'pending' AND {self._NOT_VOIDED} "
            "ORDER BY p.id, b.rowid",
            (session,),
        ):
            state = self._row_state_from(*row[:10])
            flagged.append(
                FlaggedRow(state, row[10], row[11], row[12], row[13], tuple(boxes[(state.page_id, state.unit)]))
            )
        return flagged

    def row_state(self, session: str, page_id: int, unit: str) -> RowState | None:
        return self._row_state(self.db, session, page_id, unit)

    def decide_row(
        self,
        session: str,
        page_id: int,
        unit: str,
        kind: RowDecisionKind,
        choice: str | None,
        reviewer: str,
        version: int,
    ) -> RowState:
        """Record a clerk's reading of a read sheet's row, provided the row is still at ``version``."""
        with self.transaction() as db:
            state = self._row_state(db, session, page_id, unit)
            if state is None:
                raise DecisionRefused(f"没有这一行 / no row {unit!r} on page {page_id} of {session}")
            if state.version != version:
                raise DecisionConflict(state)
            options = {
                str(option)
                for (option,) in db.execute(
                    "SELECT option FROM box_scores WHERE page_id = ? AND unit = ?", (page_id, unit)
                )
            }
            if (kind == "choice") != (choice is not None) or (choice is not None and choice not in options):
                raise DecisionRefused(f"{unit} 没有选项 / has no option {choice!r}")
            db.execute(
                "INSERT INTO decisions (page_id, unit, reading, choice, previous_id, reviewer, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (page_id, unit, kind, choice, version or None, reviewer, now()),
            )
            after = self._row_state(db, session, page_id, unit)
        assert after is not None
        return after

    def undo_row(self, session: str, page_id: int, unit: str, reviewer: str, version: int) -> RowState:
        """Take back the row's decision in force (recorded as an undo, never deleted); the one before, or the
        machine's reading, counts again."""
        with self.transaction() as db:
            state = self._row_state(db, session, page_id, unit)
            if state is None:
                raise DecisionRefused(f"没有这一行 / no row {unit!r} on page {page_id} of {session}")
            if state.version != version:
                raise DecisionConflict(state)
            live = db.execute(
                "SELECT id FROM current_decisions WHERE page_id = ? AND unit = ?", (page_id, unit)
            ).fetchone()
            if live is None:
                raise DecisionRefused("没有可撤销的决定 / nothing to undo on this row")
            db.execute(
                "INSERT INTO decisions (page_id, unit, undoes_id, previous_id, reviewer, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (page_id, unit, live[0], version, reviewer, now()),
            )
            after = self._row_state(db, session, page_id, unit)
        assert after is not None
        return after

    @_one_snapshot
    def review_pages(self, session: str, *, rejected: bool, page_id: int | None = None) -> list[PageSummary]:
        """Pages the machine did not count (``rejected``: every outcome but read and blank), or the read sheets
        with how many rows each sent to review; in scan order, each with the page decision in force. Only page
        ``page_id`` when given."""
        where = "p.outcome NOT IN ('read', 'blank')" if rejected else "p.outcome = 'read'"
        pages = []
        for row in self.db.execute(
            f"SELECT {self._PAGE_COLUMNS}, (SELECT count(*) FROM machine_readings m WHERE m.page_id = p.id "
            f"AND m.reading = 'pending') FROM {self._PAGE_TABLES} WHERE p.session = ? AND {where} "
            "AND (? IS NULL OR p.id = ?) ORDER BY f.id, p.page_no",
            (session, page_id, page_id),
        ).fetchall():
            state = self._page_state_from(row[0], *row[8:13])
            hand: list[tuple[str, str]] = []
            if state.decision is not None and state.decision.kind == "count":
                hand = [
                    (str(unit), str(reading))
                    for unit, reading in self.db.execute(
                        "SELECT unit, coalesce(choice, reading) FROM current_decisions WHERE page_id = ? ORDER BY id",
                        (state.page_id,),
                    )
                ]
            page_id, source, page_no, outcome, reason, serial, template_hash, has_image = row[:8]
            pages.append(
                PageSummary(
                    page_id=page_id,
                    source=source,
                    page_no=page_no,
                    serial=serial,
                    outcome=outcome,
                    reason=reason,
                    template_hash=template_hash,
                    has_image=bool(has_image),
                    state=state,
                    flagged_rows=int(row[13]),
                    hand_rows=tuple(hand),
                )
            )
        return pages

    def page_state(self, session: str, page_id: int) -> PageState | None:
        found = self._page(self.db, session, page_id)
        return found[3] if found else None

    def decide_page(
        self,
        session: str,
        page_id: int,
        kind: PageDecisionKind,
        reviewer: str,
        version: int,
        *,
        note: str = "",
        template_hash: str | None = None,
        rows: Sequence[HandRow] = (),
        serial: str | None = None,
    ) -> PageState:
        """Settle a whole page, provided it is still at ``version``: 'void' a read ballot (作废), or for a page
        the machine did not count, 'not_ballot' or 'count' it with ``rows`` read by eye from ``template_hash``
        (rows already checked against that template by the caller). Counting a page whose serial the machine
        could not read, the clerk gives the ``serial`` printed under its QR code, if legible: the sheet is then
        refused if it was counted already, and a later scan of it is a duplicate."""
        entered = normalise_serial(serial) if serial else None
        if serial and entered is None:
            raise DecisionRefused(f"票号 {serial!r} 格式不对（10 位，如 K7QX-M2PD-5Z）/ not a serial: {serial!r}")
        with self.transaction() as db:
            found = self._page(db, session, page_id)
            if found is None:
                raise DecisionRefused(f"没有这一页 / no page {page_id} in {session}")
            outcome, page_serial, page_template, state = found
            if entered is not None and (kind != "count" or (page_serial is not None and page_serial != entered)):
                raise DecisionRefused(f"此页票号为 {page_serial} / this page's serial is {page_serial}")
            serial = page_serial or entered
            if state.version != version:
                raise DecisionConflict(state)
            if kind == "void" and outcome != "read":
                raise DecisionRefused("只有已读出的测评票可以作废 / only a read ballot can be voided")
            if kind != "void" and outcome in ("read", "blank"):
                raise DecisionRefused(f"此页已处理（{outcome}）/ this page was not rejected ({outcome})")
            if kind == "count":
                self._check_countable(db, session, page_id, outcome, serial, page_template, template_hash, rows)
                for row in rows:
                    head = db.execute(
                        "SELECT max(id) FROM decisions WHERE page_id = ? AND unit = ?", (page_id, row.unit)
                    ).fetchone()[0]
                    db.execute(
                        "INSERT INTO decisions (page_id, unit, reading, choice, previous_id, reviewer, decided_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (page_id, row.unit, row.kind, row.choice, head, reviewer, now()),
                    )
            db.execute(
                "INSERT INTO page_decisions (page_id, decision, template_hash, note, previous_id, reviewer, "
                "decided_at, serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page_id,
                    kind,
                    template_hash if kind == "count" else None,
                    note,
                    version or None,
                    reviewer,
                    now(),
                    entered if page_serial is None else None,
                ),
            )
            after = self._page(db, session, page_id)
        assert after is not None
        return after[3]

    def undo_page(self, session: str, page_id: int, reviewer: str, version: int) -> PageState:
        """Take back the page decision in force (recorded as an undo); a counted page's hand rows stop counting."""
        with self.transaction() as db:
            found = self._page(db, session, page_id)
            if found is None:
                raise DecisionRefused(f"没有这一页 / no page {page_id} in {session}")
            state = found[3]
            if state.version != version:
                raise DecisionConflict(state)
            live = db.execute("SELECT id FROM current_page_decisions WHERE page_id = ?", (page_id,)).fetchone()
            if live is None:
                raise DecisionRefused("没有可撤销的决定 / nothing to undo on this page")
            db.execute(
                "INSERT INTO page_decisions (page_id, undoes_id, previous_id, reviewer, decided_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (page_id, live[0], version, reviewer, now()),
            )
            after = self._page(db, session, page_id)
        assert after is not None
        return after[3]

    def page_image(self, page_id: int) -> StoredImage | None:
        """The page image kept at scan time: for a read page its scan as the file held it (with the page's
        transform to show it upright) or an upright copy at REVIEW_PX_PER_MM, else the reduced scan."""
        row = self.db.execute(
            "SELECT p.session, p.outcome, p.template_hash, i.mime, i.width, i.height, i.data, "
            "CASE WHEN i.as_scanned THEN p.transform END FROM page_images i "
            "JOIN pages p ON p.id = i.page_id WHERE i.page_id = ? AND i.kind = 'page'",
            (page_id,),
        ).fetchone()
        if row is None:
            return None
        session, outcome, template_hash, mime, width, height, data, transform = row
        matrix = np.array(json.loads(transform), dtype=np.float64) if transform is not None else None
        return StoredImage(session, outcome, template_hash, mime, width, height, data, matrix)

    def _row_state(self, db: sqlite3.Connection, session: str, page_id: int, unit: str) -> RowState | None:
        row = db.execute(
            f"SELECT {self._ROW_COLUMNS} FROM {self._ROW_TABLES} "
            "WHERE p.session = ? AND p.outcome = 'read' AND m.page_id = ? AND m.unit = ?",
            (session, page_id, unit),
        ).fetchone()
        return self._row_state_from(*row) if row else None

    @staticmethod
    def _row_state_from(
        page_id: int,
        unit: str,
        version: int,
        reading: str,
        choice: str | None,
        reason: str,
        kind: str | None,
        decided: str | None,
        reviewer: str | None,
        decided_at: str | None,
    ) -> RowState:
        decision = Decision(kind, decided, str(reviewer), str(decided_at)) if kind is not None else None
        return RowState(page_id, unit, version, reading, choice, reason, decision)

    def _page(
        self, db: sqlite3.Connection, session: str, page_id: int
    ) -> tuple[str, str | None, str | None, PageState] | None:
        """(outcome, serial, template hash, state) of a page of ``session``."""
        row = db.execute(
            f"SELECT {self._PAGE_COLUMNS} FROM {self._PAGE_TABLES} WHERE p.id = ? AND p.session = ?",
            (page_id, session),
        ).fetchone()
        if row is None:
            return None
        return row[3], row[5], row[6], self._page_state_from(row[0], *row[8:13])

    @staticmethod
    def _page_state_from(
        page_id: int, version: int, kind: str | None, note: str | None, reviewer: str | None, decided_at: str | None
    ) -> PageState:
        decision = Decision(kind, None, str(reviewer), str(decided_at), note or "") if kind is not None else None
        return PageState(page_id, version, decision)

    @staticmethod
    def _check_countable(
        db: sqlite3.Connection,
        session: str,
        page_id: int,
        outcome: str,
        serial: str | None,
        page_template: str | None,
        template_hash: str | None,
        rows: Sequence[HandRow],
    ) -> None:
        """Refuse to count by hand what must not be counted: a copy, a foreign sheet, a sheet counted already."""
        if outcome != "unreadable":
            raise DecisionRefused(
                f"只有无法读取的页可以人工录入 / only an unreadable page can be counted by hand (this one: {outcome})"
            )
        if template_hash is None or (page_template is not None and page_template != template_hash):
            raise DecisionRefused("此页的模板不明 / the template of this page is not known")
        if not db.execute("SELECT 1 FROM templates WHERE hash = ?", (template_hash,)).fetchone():
            raise DecisionRefused("此页的模板不明 / the template of this page is not known")
        if not rows:
            raise DecisionRefused("没有录入任何行 / no row entered")
        if serial is None:
            return
        if not db.execute("SELECT 1 FROM serials WHERE session = ? AND serial = ?", (session, serial)).fetchone():
            raise DecisionRefused(f"票号 {serial} 未在 {session} 发出 / serial {serial} was never issued")
        counted = next((row for row in db.execute(COUNTED_SERIAL, (session, serial)) if row[0] != page_id), None)
        if counted is not None:
            raise DecisionRefused(f"票号 {serial} 已计入（第 {counted[0]} 页）/ serial {serial} is already counted")

    @staticmethod
    def _with_page_decision(reason: str, decision: str | None, note: str | None) -> str:
        """The export's page reason, followed by the clerk's page decision in force, if any."""
        if decision is None:
            return reason
        label = {
            "void": "作废 / void",
            "count": "人工录入 / counted by hand",
            "not_ballot": "不是测评票 / not a ballot",
        }
        said = f"复核 / review: {label[decision]}" + (f" ({note})" if note else "")
        return f"{reason}; {said}" if reason else said

    # -- end of review block ------------------------------------------------------------------------------------


def _shuffle(items: list[str]) -> None:
    import secrets

    for index in range(len(items) - 1, 0, -1):
        other = secrets.randbelow(index + 1)
        items[index], items[other] = items[other], items[index]


def open_store(path: Path | None = None) -> Store:
    """Open (creating if needed) the store at ``path``; raises :class:`StoreError` with a clear message."""
    path = path or default_db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 30000")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            connection.execute("PRAGMA journal_mode = WAL")
            schema = _schema()
            _upgrade(connection, f"{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\n")
        elif version < SCHEMA_VERSION:
            steps = range(version + 1, SCHEMA_VERSION + 1)
            views = _view_statements(
                resources.files("pipeline.store").joinpath("schema.sql").read_text(encoding="utf-8")
            )
            names = sorted({re.search(r"VIEW\s+(\w+)", statement)[1] for statement in views})  # type: ignore[index]
            script = "".join(f"DROP VIEW IF EXISTS {name};\n" for name in names)
            script += "".join(f"{MIGRATIONS[step]}\nPRAGMA user_version = {step};\n" for step in steps)
            _upgrade(connection, script + "\n".join(views) + "\n")
        elif version > SCHEMA_VERSION:
            connection.close()
            raise StoreError(f"{path} was written by a newer version of this program (schema {version}); upgrade it")
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as error:
        raise StoreError(f"cannot open the database {path}: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot create the database folder for {path}: {error}") from None
    return Store(connection, path)


def _schema() -> str:
    return resources.files("pipeline.store").joinpath("schema.sql").read_text(encoding="utf-8")


def _stored_template(template_id: str, definition: str) -> Template:
    """A template as the store keeps it (canonical JSON of the validated template)."""
    return parse_template(json.loads(definition), f"stored template {template_id}")


def _view_statements(schema: str) -> list[str]:
    """The CREATE VIEW and DROP VIEW statements of ``schema``, in order."""
    statements, pending = [], ""
    for line in schema.splitlines(keepends=True):
        if not pending and (line.startswith("--") or not line.strip()):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.lstrip().startswith(("CREATE VIEW", "DROP VIEW")):
                statements.append(pending.strip())
            pending = ""
    return statements


def _upgrade(connection: sqlite3.Connection, script: str) -> None:
    """Run a schema script in one transaction. When two processes open a new or old store at once, the
    second finds the work done: its script fails on the existing tables and the version is already current."""
    try:
        connection.executescript(f"BEGIN IMMEDIATE;\n{script}COMMIT;")
    except sqlite3.OperationalError:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            raise
