"""Reading: files, pages with their typed outcome, box scores and the machine's readings per classification.

The serial checks happen when a page is stored, inside its write transaction, so two scans of one session can
never both count a serial. Scores are stored column by column as :class:`~pipeline.reading.score.BoxScore`
names them, and read back by name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import TypedDict

from pipeline import __version__
from pipeline.ballot.payload import format_serial, serial_characters
from pipeline.ballot.template import CATEGORY_ROW
from pipeline.common.messages import Lang, page_decision, page_reason
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.classify import RowReading
from pipeline.reading.outcome import PageImage
from pipeline.reading.score import SCORER_VERSION, BoxScore
from pipeline.reading.settings import ReadingSettings
from pipeline.store.core import now, one_snapshot, reason_columns, stored_reason
from pipeline.store.printing import PrintingStore

#: Box score columns: the fields of BoxScore, in their order (a test checks the table has exactly these).
SCORE_COLUMNS = tuple(column.name for column in fields(BoxScore))
#: A score's values in SCORE_COLUMNS' order, read in one C-level call (a generator of getattr calls: 0.12 against
#: 0.04 ms a page of the main process).
_SCORE_VALUES = attrgetter(*SCORE_COLUMNS)

#: Pages of a session that count a given serial: read by the machine, or counted by a clerk under the serial
#: the page carried or the clerk read off the sheet. Parameters: session, serial.
COUNTED_SERIAL = (
    "SELECT p.id, f.path, p.page_no, p.image_fingerprint FROM pages p JOIN files f ON f.id = p.file_id "
    "LEFT JOIN current_page_decisions c ON c.page_id = p.id AND c.decision = 'count' "
    "WHERE p.session = ?1 "
    "AND ((p.outcome = 'read' AND p.serial = ?2) OR (c.id IS NOT NULL AND coalesce(p.serial, c.serial) = ?2))"
)


class RowExport(TypedDict):
    reading: str  # the option, or blank / overvote / pending / void
    reason: str  # the machine's reason code for a pending row (RowWhy), '' when it was sure
    scores: dict[str, float]  # option → fill


class PageExport(TypedDict):
    """One line of ``ballot export --format jsonl`` (the shape other tools rely on)."""

    source: str
    page: int
    outcome: str
    reason_code: str  # a Why code, '' for a page read without remark
    reason: str  # the reason in words, then the clerk's page decision in force, if any
    serial: str | None
    rows: dict[str, RowExport]


@dataclass(frozen=True)
class PageRecord:
    """One page's outcome as the store keeps it (built by :mod:`pipeline.scanning.batch`)."""

    file_id: int
    session: str
    page_no: int
    outcome: str
    reason: PageReason | None
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
    scores: Sequence[BoxScore] = field(default_factory=list)
    readings: Sequence[RowReading] = field(default_factory=list)
    image: PageImage | None = None


class ReadingStore(PrintingStore):
    """Files, pages, scores and readings."""

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

    def finish_file(self, file_id: int, status: str, reason: PageReason | None = None) -> None:
        code, detail = reason_columns(reason)
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET status = ?, reason_code = ?, reason_detail = ? WHERE id = ?",
                (status, code, detail, file_id),
            )

    def stored_page_numbers(self, file_id: int) -> set[int]:
        rows = self.db.execute("SELECT page_no FROM pages WHERE file_id = ?", (file_id,))
        return {int(row[0]) for row in rows}

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

    def save_page(self, page: PageRecord) -> tuple[str, PageReason | None]:
        """Store one page's outcome (and, for a ballot, its scores, readings and review image).

        The serial checks happen here, inside the write transaction, so two scans of the same session
        can never both count one serial. Returns the stored outcome and reason.
        """
        with self.transaction() as db:
            stored = db.execute(
                "SELECT outcome, reason_code, reason_detail FROM pages WHERE file_id = ? AND page_no = ?",
                (page.file_id, page.page_no),
            ).fetchone()
            if stored is not None:  # another scan of the same file stored this page first: keep that one
                return str(stored[0]), stored_reason(stored[1], stored[2])
            if page.reason is not None and page.reason.code == Why.SERIAL_FROM_TEXT:
                page = _issued_like(db, page)
            outcome, reason = page.outcome, page.reason
            if outcome == "read" and page.serial is not None:
                outcome, reason = self._serial_outcome(db, page)
            elif outcome == "read":
                outcome, reason = self._image_outcome(db, page)
            # A sheet read but for its serial keeps its scores and readings: the clerk counts it from them.
            scored = outcome == "read" or (outcome == "unreadable" and bool(page.readings))
            cursor = db.execute(
                "INSERT INTO pages (file_id, session, page_no, outcome, reason_code, reason_detail, serial, "
                "template_hash, image_fingerprint, rotation, transform, residual_mm, scale_px_per_mm, skew_deg, "
                "marks_found, program_version, scorer_version, settings_hash, read_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page.file_id,
                    page.session,
                    page.page_no,
                    outcome,
                    *reason_columns(reason),
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
                    SCORER_VERSION if scored and page.scores else None,
                    page.settings_hash,
                    now(),
                ),
            )
            page_id = int(cursor.lastrowid or 0)
            if scored:
                # In the table's column order; not dataclasses.astuple, whose deep copies cost 2 ms a page.
                db.executemany(
                    f"INSERT INTO box_scores (page_id, {', '.join(SCORE_COLUMNS)}) "
                    f"VALUES (?{', ?' * len(SCORE_COLUMNS)})",
                    [(page_id, *_SCORE_VALUES(score)) for score in page.scores],
                )
                db.executemany(
                    "INSERT INTO row_readings (classification_id, page_id, unit, reading, choice, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(page.classification_id, page_id, *_reading_columns(row)) for row in page.readings],
                )
            if page.image is not None:
                image = page.image
                db.execute(
                    "INSERT INTO page_images (page_id, mime, width, height, data, as_scanned) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (page_id, image.mime, image.width, image.height, image.data, image.as_scanned),
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

    def stored_scores(self, session: str) -> dict[int, list[BoxScore]]:
        """Box scores of every read page of the session (and of every sheet read but for its serial), by page id,
        in sheet order, built by column name."""
        pages: dict[int, list[BoxScore]] = {}
        columns = ", ".join(f"b.{column}" for column in SCORE_COLUMNS)
        for row in self.named(
            f"SELECT b.page_id, {columns} "
            "FROM box_scores b JOIN pages p ON p.id = b.page_id WHERE p.session = ? "
            "AND p.outcome IN ('read', 'unreadable') ORDER BY b.page_id, b.rowid",
            (session,),
        ):
            pages.setdefault(int(row["page_id"]), []).append(
                BoxScore(**{column: row[column] for column in SCORE_COLUMNS})
            )
        return pages

    def save_classification(self, classification_id: int, readings: Mapping[int, Sequence[RowReading]]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO row_readings (classification_id, page_id, unit, reading, choice, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (classification_id, page_id, *_reading_columns(row))
                    for page_id, rows in readings.items()
                    for row in rows
                ],
            )

    @one_snapshot
    def export_pages(self, session: str, lang: Lang = "zh") -> list[PageExport]:
        """One dict per page (and one per unreadable file, page 0), in scan order: the export shape, with
        reasons in ``lang``."""
        lines: list[PageExport] = []
        for path, code, detail in self.db.execute(
            "SELECT path, reason_code, reason_detail FROM files WHERE session = ? AND status = 'unreadable' "
            "ORDER BY id",
            (session,),
        ):
            reason = stored_reason(code, detail)
            lines.append(
                {
                    "source": path,
                    "page": 0,
                    "outcome": "unreadable",
                    "reason_code": code or "",
                    "reason": page_reason(reason, lang) if reason else "",
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
        for row in self.named(
            "SELECT p.id, f.path, p.page_no, p.outcome, p.reason_code, p.reason_detail, p.serial, d.decision, d.note "
            "FROM pages p JOIN files f ON f.id = p.file_id LEFT JOIN current_page_decisions d ON d.page_id = p.id "
            "WHERE p.session = ? ORDER BY f.id, p.page_no",
            (session,),
        ):
            reason = stored_reason(row["reason_code"], row["reason_detail"])
            said = [page_reason(reason, lang)] if reason else []
            if row["decision"] is not None:
                said.append(page_decision(row["decision"], row["note"] or "", lang))
            lines.append(
                {
                    "source": row["path"],
                    "page": row["page_no"],
                    "outcome": row["outcome"],
                    "reason_code": row["reason_code"] or "",
                    "reason": "; ".join(said),
                    "serial": row["serial"],
                    # read pages, sheets read but for their serial, and rejected pages a clerk counted
                    "rows": readings.get(row["id"], {}),
                }
            )
        return lines

    @staticmethod
    def _image_outcome(db: sqlite3.Connection, page: PageRecord) -> tuple[str, PageReason | None]:
        """A sheet without a serial (an existing office form) is a duplicate only as the very same image."""
        earlier = db.execute(
            "SELECT f.path, p.page_no FROM pages p JOIN files f ON f.id = p.file_id "
            "WHERE p.session = ? AND p.image_fingerprint = ? AND p.outcome = 'read'",
            (page.session, page.fingerprint),
        ).fetchone()
        if earlier is None:
            return page.outcome, page.reason
        return "duplicate", PageReason.of(Why.DUPLICATE_IMAGE, path=earlier[0], page=earlier[1])

    @staticmethod
    def _serial_outcome(db: sqlite3.Connection, page: PageRecord) -> tuple[str, PageReason | None]:
        if not db.execute(
            "SELECT 1 FROM serials WHERE session = ? AND serial = ?", (page.session, page.serial)
        ).fetchone():
            return "unknown_serial", PageReason.of(Why.UNKNOWN_SERIAL, serial=page.serial, session=page.session)
        # A sheet a clerk counted by hand (its scan was unreadable) is counted as surely as one read.
        earlier = db.execute(COUNTED_SERIAL, (page.session, page.serial)).fetchone()
        if earlier is None:
            return page.outcome, page.reason
        how = "same_image" if earlier[3] == page.fingerprint else "other_image"
        reason = PageReason.of(Why.DUPLICATE_SERIAL, serial=page.serial, path=earlier[1], page=earlier[2], how=how)
        return "duplicate", reason


#: A serial read from the print (:mod:`pipeline.reading.locate`) is taken for an issued serial when this many
#: characters misread, dropped or added at most turn one into the other (a lookalike misread counting
#: LOOKALIKE_COST) …
SERIAL_MISREAD = 3
#: … and every other issued serial is this many characters further still (two of 50 random bits as near are
#: as unlikely as a misread the text could not tell from another sheet's).
SERIAL_MARGIN = 3
#: Characters of the serial's alphabet OCR takes for one another in small print (the classic confusions of
#: character recognition: round shapes, a bowl or a bar more or less; O, I and L are read as 0 and 1 already).
LOOKALIKES = ("0DQ", "8B", "5S", "2Z", "17T", "6G")
#: What reading one for another of its group costs, in characters: a print read through blur, grain or a fax's
#: lost scan lines misreads these first (`VP3D-2QBD-QQ` read `VP30-2080-QQ`, four lookalikes, two characters).
#: A random character is a lookalike of another with a chance of 2 % (20 ordered pairs of 32 × 32), so two serials
#: drawn at random are hardly nearer for it (20 000 pairs: 0.61 % within 6 characters, 0.59 % counting every
#: misread whole): the margin keeps its meaning.
LOOKALIKE_COST = 0.5
_LOOKALIKE_PAIRS = frozenset((one, other) for group in LOOKALIKES for one in group for other in group if one != other)


def _issued_like(db: sqlite3.Connection, page: PageRecord) -> PageRecord:
    """``page`` under the issued serial its serial, read from the print, stands for: the same serial, or the one
    within SERIAL_MISREAD characters of a stretch of some reading of the line (:func:`_distance_within`), none
    other within SERIAL_MARGIN more. A page no issued serial is that near is a sheet whose serial could not be read
    (``unreadable``, saying what was read: the serial checks would call a misread serial never issued, a foreign
    ballot), kept with its rows and without a serial, as a sheet whose serial shows nothing: the clerk checks the
    rows and types the serial printed on the paper, which is checked as any serial (issued, not counted yet)."""
    if page.reason is None or page.serial is None:
        return page
    issued = [str(row[0]) for row in db.execute("SELECT serial FROM serials WHERE session = ?", (page.session,))]
    if page.serial in issued:  # the clerk is told which serial it is counted under, however it was read
        return replace(
            page, reason=PageReason.of(Why.SERIAL_FROM_TEXT, **page.reason.detail, issued=format_serial(page.serial))
        )
    readings = [serial_characters(str(text)) for text in page.reason.detail.get("readings", [])] or [page.serial]
    nearest = sorted((min(_distance_within(serial, text) for text in readings), serial) for serial in issued)
    alone = len(nearest) < 2 or nearest[1][0] >= nearest[0][0] + SERIAL_MARGIN
    if nearest and nearest[0][0] <= SERIAL_MISREAD and alone:
        serial = nearest[0][1]
        reason = PageReason.of(Why.SERIAL_FROM_TEXT, **page.reason.detail, issued=format_serial(serial))
        return replace(page, serial=serial, reason=reason)
    unknown = PageReason.of(
        Why.SERIAL_TEXT_UNKNOWN, readings=page.reason.detail.get("readings", []), session=page.session
    )
    return replace(page, outcome="unreadable", reason=unknown, serial=None)


def _distance_within(serial: str, text: str) -> float:
    """The fewest characters changed, dropped or added that turn some stretch of ``text`` into ``serial``
    (approximate substring matching: the stretch may start and end anywhere in ``text``), a lookalike read for
    another (:data:`LOOKALIKES`) counting :data:`LOOKALIKE_COST`."""
    previous = [0.0] * (len(text) + 1)  # an empty serial matches anywhere
    for row, char in enumerate(serial, start=1):
        current = [float(row)] + [0.0] * len(text)
        for column, other in enumerate(text, start=1):
            changed = 0.0 if char == other else LOOKALIKE_COST if (char, other) in _LOOKALIKE_PAIRS else 1.0
            current[column] = min(previous[column - 1] + changed, previous[column] + 1, current[column - 1] + 1)
        previous = current
    return min(previous)


def _reading_columns(row: RowReading) -> tuple[str, str, str | None, str]:
    return row.unit, row.reading, row.choice, str(row.reason or "")
