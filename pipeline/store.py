"""The SQLite store: all SQL of the project lives here (schema in ``schema.sql``).

One file (default ``output/ballots.db``, or ``--db`` / ``BALLOT_DB``). WAL mode so that a review server
and a scan can share it; every write is a short transaction, so a killed run loses at most the page it
was on.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TypedDict

from pipeline import __version__
from pipeline.ballots import BallotResult, RowResult
from pipeline.payload import new_serial
from pipeline.settings import ReadingSettings
from pipeline.template import CATEGORY_ROW, Template, parse_template

SCHEMA_VERSION = 1
DEFAULT_DB = Path("output/ballots.db")


def default_db_path() -> Path:
    return Path(os.environ.get("BALLOT_DB") or DEFAULT_DB)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreError(Exception):
    """The store cannot be used (newer schema, read-only, disk full); the message says what to do."""


@dataclass(frozen=True)
class StoredTemplate:
    hash: str
    template: Template


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
    """One page's outcome as the store keeps it (built by :mod:`pipeline.scan`)."""

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
    # (unit, option, position, fill, outside, centre, darkness, shift_mm, border_match)
    scores: list[tuple[str, str, int, float, float, float, float, float, float]] = field(default_factory=list)
    # (unit, reading, choice, reason)
    readings: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    image: tuple[str, int, int, bytes] | None = None  # (mime, width, height, data)


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

    def find_template(self, template_id: str, short_hash: str) -> StoredTemplate | None:
        row = self.db.execute(
            "SELECT hash, definition FROM templates WHERE template_id = ? AND short_hash = ?",
            (template_id, short_hash),
        ).fetchone()
        if row is None:
            return None
        return StoredTemplate(row[0], parse_template(json.loads(row[1]), f"stored template {template_id}"))

    def template_by_hash(self, digest: str) -> Template:
        row = self.db.execute("SELECT template_id, definition FROM templates WHERE hash = ?", (digest,)).fetchone()
        return parse_template(json.loads(row[1]), f"stored template {row[0]}")

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
            catalog[(template_id, short)] = (digest, parse_template(json.loads(definition), template_id))
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
            outcome, reason = page.outcome, page.reason
            if outcome == "read" and page.serial is not None:
                outcome, reason = self._serial_outcome(db, page)
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
                    "INSERT INTO box_scores (page_id, unit, option, position, fill, outside, centre, darkness, "
                    "shift_mm, border_match) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(page_id, *score) for score in page.scores],
                )
                db.executemany(
                    "INSERT INTO row_readings (classification_id, page_id, unit, reading, choice, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(page.classification_id, page_id, *reading) for reading in page.readings],
                )
            if page.image is not None:
                mime, width, height, data = page.image
                db.execute(
                    "INSERT INTO page_images (page_id, kind, mime, width, height, data) VALUES (?, 'page', ?, ?, ?, ?)",
                    (page_id, mime, width, height, data),
                )
        return outcome, reason

    def pending_rows(self, session: str) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM machine_readings m JOIN pages p ON p.id = m.page_id "
            "WHERE p.session = ? AND p.outcome = 'read' AND m.reading = 'pending'",
            (session,),
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

    def stored_scores(self, session: str) -> dict[int, list[tuple[str, str, int, float, float, float, float, float, float]]]:
        """Box scores of every read page of the session, by page id, in sheet order."""
        pages: dict[int, list[tuple[str, str, int, float, float, float, float, float, float]]] = {}
        for page_id, *score in self.db.execute(
            "SELECT b.page_id, b.unit, b.option, b.position, b.fill, b.outside, b.centre, b.darkness, b.shift_mm, "
            "b.border_match "
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
        for page_id, unit, reading, choice, reason in self.db.execute(
            "SELECT m.page_id, m.unit, m.reading, m.choice, m.reason FROM machine_readings m "
            "JOIN pages p ON p.id = m.page_id JOIN box_scores b ON b.page_id = m.page_id AND b.unit = m.unit "
            "AND b.position = 0 WHERE p.session = ? ORDER BY m.page_id, b.rowid",
            (session,),
        ):
            readings.setdefault(page_id, {})[unit] = {
                "reading": choice if reading == "choice" else reading,
                "reason": reason,
                "scores": scores.get((page_id, unit), {}),
            }
        for page_id, path, page_no, outcome, reason, serial in self.db.execute(
            "SELECT p.id, f.path, p.page_no, p.outcome, p.reason, p.serial "
            "FROM pages p JOIN files f ON f.id = p.file_id "
            "WHERE p.session = ? ORDER BY f.id, p.page_no",
            (session,),
        ):
            lines.append(
                {
                    "source": path,
                    "page": page_no,
                    "outcome": outcome,
                    "reason": reason,
                    "serial": serial,
                    "rows": readings.get(page_id, {}) if outcome == "read" else {},
                }
            )
        return lines

    def effective_ballots(self, session: str) -> list[BallotResult]:
        """Every counted sheet of the session with each row's effective reading (see pipeline/ballots.py)."""
        ballots: dict[int, tuple[str, str, list[RowResult]]] = {}
        for page_id, serial, template_hash, unit, reading, choice in self.db.execute(
            "SELECT p.id, p.serial, p.template_hash, e.unit, e.reading, e.choice "
            "FROM pages p JOIN effective_readings e ON e.page_id = p.id "
            "JOIN box_scores b ON b.page_id = p.id AND b.unit = e.unit AND b.position = 0 "
            "WHERE p.session = ? AND p.outcome = 'read' ORDER BY p.id, b.rowid",
            (session,),
        ):
            entry = ballots.setdefault(int(page_id), (str(serial), str(template_hash), []))
            entry[2].append(RowResult(str(unit), reading, choice))
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
                )
            )
        return results

    def _serial_outcome(self, db: sqlite3.Connection, page: PageRecord) -> tuple[str, str]:
        if not db.execute(
            "SELECT 1 FROM serials WHERE session = ? AND serial = ?", (page.session, page.serial)
        ).fetchone():
            return (
                "unknown_serial",
                f"serial {page.serial} was never issued for {page.session} (a foreign ballot?)",
            )
        earlier = db.execute(
            "SELECT f.path, p.page_no, p.image_fingerprint FROM pages p JOIN files f ON f.id = p.file_id "
            "WHERE p.session = ? AND p.serial = ? AND p.outcome = 'read'",
            (page.session, page.serial),
        ).fetchone()
        if earlier is None:
            return page.outcome, page.reason
        how = (
            "the same image scanned again"
            if earlier[2] == page.fingerprint
            else "a different image: a photocopy or a rescan"
        )
        return (
            "duplicate",
            f"serial {page.serial} was already counted from {earlier[0]} page {earlier[1]} ({how}); not counted",
        )


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
            schema = resources.files("pipeline").joinpath("schema.sql").read_text(encoding="utf-8")
            connection.executescript(f"BEGIN IMMEDIATE;\n{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
        elif version > SCHEMA_VERSION:
            connection.close()
            raise StoreError(f"{path} was written by a newer version of this program (schema {version}); upgrade it")
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as error:
        raise StoreError(f"cannot open the database {path}: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot create the database folder for {path}: {error}") from None
    return Store(connection, path)
