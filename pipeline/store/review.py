"""Review: a clerk's decisions about rows, kept beside the machine's readings and never over them.

Decisions sit in the review block of ``schema.sql`` and are never updated or deleted. Each write is one BEGIN
IMMEDIATE transaction that first compares the version the clerk saw with the current one: a stale page gets
:class:`~pipeline.store.records.DecisionConflict` with the current state instead of a blind write. A decision on a
row the machine read without doubt is a correction: it must be asked for as one, and is recorded as one.
Decisions about whole pages: :mod:`.pages`.
"""

from __future__ import annotations

import sqlite3

from pipeline.common.messages import Lang, correction_of, doubtful, reading_name, undo_of
from pipeline.common.reasons import Refusal
from pipeline.counting.record_sheets import ReviewRecord
from pipeline.reading.score import BoxScore
from pipeline.reading.settings import ReadingSettings
from pipeline.store.core import now, one_snapshot
from pipeline.store.reading import SCORE_COLUMNS
from pipeline.store.records import (
    Decision,
    DecisionConflict,
    DecisionRefused,
    FlaggedRow,
    RowDecisionKind,
    RowState,
    SheetRow,
)
from pipeline.store.results import ResultStore


class ReviewStore(ResultStore):
    """Flagged rows, every row of a sheet, and the clerks' decisions about them."""

    @one_snapshot
    def review_log(self, session: str, lang: Lang = "zh") -> list[ReviewRecord]:
        """Every row decision of the session, undos included, oldest first, worded for the 复核记录 sheet: what
        the machine read (存疑 with its reason, or the reading it was sure of), and the clerk's decision (a
        correction of a sure reading named so; an undo naming the decision it takes back)."""
        log = []
        for row in self.named(
            "SELECT p.serial, p.id, d.unit, m.reading AS machine, m.choice AS machine_choice, m.reason, d.reading, "
            "d.choice, d.correction, u.reading AS undone, u.choice AS undone_choice, "
            "u.correction AS undone_correction, d.reviewer, d.decided_at "
            "FROM decisions d JOIN pages p ON p.id = d.page_id LEFT JOIN decisions u ON u.id = d.undoes_id "
            "LEFT JOIN machine_readings m ON m.page_id = d.page_id AND m.unit = d.unit "
            "WHERE p.session = ? ORDER BY d.id",
            (session,),
        ):
            if row["machine"] == "pending":
                was = doubtful(row["reason"], lang)
            else:
                was = reading_name(row["machine"] or "hand", row["machine_choice"], lang)
            if row["reading"] is None:
                undone = self._decision_words(row["undone"], row["undone_choice"], row["undone_correction"], lang)
                decision = undo_of(undone, lang)
            else:
                decision = self._decision_words(row["reading"], row["choice"], row["correction"], lang)
            serial = str(row["serial"] or f"page-{row['id']}")
            log.append(
                ReviewRecord(
                    session, serial, str(row["unit"]), was, decision, str(row["reviewer"]), str(row["decided_at"])
                )
            )
        return log

    @staticmethod
    def _decision_words(reading: str, choice: str | None, correction: int, lang: Lang) -> str:
        said = reading_name(reading, choice, lang)
        return correction_of(said, lang) if correction else said

    _ROW_COLUMNS = (
        "m.page_id, m.unit, (SELECT coalesce(max(d.id), 0) FROM decisions d WHERE d.page_id = m.page_id "
        "AND d.unit = m.unit), m.reading, m.choice, m.reason, c.reading, c.choice, c.reviewer, c.decided_at, "
        "c.correction"
    )
    _ROW_TABLES = (
        "machine_readings m JOIN pages p ON p.id = m.page_id "
        "LEFT JOIN current_decisions c ON c.page_id = m.page_id AND c.unit = m.unit"
    )
    _NOT_VOIDED = "NOT EXISTS (SELECT 1 FROM current_page_decisions v WHERE v.page_id = p.id AND v.decision = 'void')"

    @one_snapshot
    def flagged_rows(self, session: str) -> list[FlaggedRow]:
        """Rows the machine sent to review on the session's read sheets, in sheet order, with their box scores
        and state. Rows of a voided sheet are left out: that sheet is not counted, so they need no decision."""
        boxes: dict[tuple[int, str], list[BoxScore]] = {}
        columns = ", ".join(f"b.{column}" for column in SCORE_COLUMNS)
        for row in self.named(
            f"SELECT b.page_id, {columns} FROM box_scores b JOIN pages p ON p.id = b.page_id "
            "JOIN machine_readings m ON m.page_id = b.page_id AND m.unit = b.unit AND m.reading = 'pending' "
            "WHERE p.session = ? AND p.outcome = 'read' ORDER BY b.page_id, b.position",
            (session,),
        ):
            score = BoxScore(**{column: row[column] for column in SCORE_COLUMNS})
            boxes.setdefault((int(row["page_id"]), score.unit), []).append(score)
        flagged = []
        for row in self.db.execute(
            f"SELECT {self._ROW_COLUMNS}, coalesce(p.serial, ''), p.template_hash, f.path, p.page_no "
            f"FROM {self._ROW_TABLES} JOIN files f ON f.id = p.file_id "
            "JOIN box_scores b ON b.page_id = m.page_id AND b.unit = m.unit AND b.position = 0 "
            f"WHERE p.session = ? AND p.outcome = 'read' AND m.reading = 'pending' AND {self._NOT_VOIDED} "
            "ORDER BY p.id, b.rowid",
            (session,),
        ):
            state = self._row_state_from(*row[:11])
            flagged.append(
                FlaggedRow(state, row[11], row[12], row[13], row[14], tuple(boxes[(state.page_id, state.unit)]))
            )
        return flagged

    def classification_settings(self, session: str) -> ReadingSettings:
        """The reading settings of the session's newest classification (what its flagged rows were judged by);
        the defaults for a session never classified."""
        row = self.db.execute(
            "SELECT v.definition FROM classifications c JOIN settings_versions v ON v.hash = c.settings_hash "
            "WHERE c.session = ? ORDER BY c.id DESC LIMIT 1",
            (session,),
        ).fetchone()
        return ReadingSettings.model_validate_json(row[0]) if row else ReadingSettings()

    @one_snapshot
    def sheet_rows(self, session: str, page_id: int) -> list[SheetRow]:
        """Every row of a read sheet of the session, in sheet order, with its options and state: what the
        whole-sheet view shows and corrects. Empty for a page that is not a read sheet of the session."""
        options: dict[str, list[str]] = {}
        for unit, option in self.db.execute(
            "SELECT unit, option FROM box_scores WHERE page_id = ? ORDER BY rowid", (page_id,)
        ):
            options.setdefault(str(unit), []).append(str(option))
        return [
            SheetRow(self._row_state_from(*row), tuple(options.get(str(row[1]), ())))
            for row in self.db.execute(
                f"SELECT {self._ROW_COLUMNS} FROM {self._ROW_TABLES} "
                "JOIN box_scores b ON b.page_id = m.page_id AND b.unit = m.unit AND b.position = 0 "
                "WHERE p.session = ? AND p.outcome = 'read' AND m.page_id = ? ORDER BY b.rowid",
                (session, page_id),
            )
        ]

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
        *,
        correction: bool = False,
    ) -> RowState:
        """Record a clerk's reading of a read sheet's row, provided the row is still at ``version``. A row the
        machine read without doubt is changed only as a ``correction`` (asked for from the whole-sheet view),
        and recorded as one."""
        with self.transaction() as db:
            state = self._row_state(db, session, page_id, unit)
            if state is None:
                raise DecisionRefused(Refusal.NO_ROW, unit=unit, page=page_id)
            if state.version != version:
                raise DecisionConflict(state)
            flagged = state.machine_reading == "pending"
            if not flagged and not correction:
                raise DecisionRefused(Refusal.NOT_FLAGGED, unit=unit)
            options = {
                str(option)
                for (option,) in db.execute(
                    "SELECT option FROM box_scores WHERE page_id = ? AND unit = ?", (page_id, unit)
                )
            }
            if (kind == "choice") != (choice is not None) or (choice is not None and choice not in options):
                raise DecisionRefused(Refusal.NO_OPTION, unit=unit, choice=choice or "")
            db.execute(
                "INSERT INTO decisions (page_id, unit, reading, choice, previous_id, reviewer, decided_at, correction) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (page_id, unit, kind, choice, version or None, reviewer, now(), int(not flagged)),
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
                raise DecisionRefused(Refusal.NO_ROW, unit=unit, page=page_id)
            if state.version != version:
                raise DecisionConflict(state)
            live = db.execute(
                "SELECT id FROM current_decisions WHERE page_id = ? AND unit = ?", (page_id, unit)
            ).fetchone()
            if live is None:
                raise DecisionRefused(Refusal.NOTHING_TO_UNDO)
            db.execute(
                "INSERT INTO decisions (page_id, unit, undoes_id, previous_id, reviewer, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (page_id, unit, live[0], version, reviewer, now()),
            )
            after = self._row_state(db, session, page_id, unit)
        assert after is not None
        return after

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
        correction: int | None,
    ) -> RowState:
        decision = (
            Decision(kind, decided, str(reviewer), str(decided_at), correction=bool(correction))
            if kind is not None
            else None
        )
        return RowState(page_id, unit, version, reading, choice, reason, decision)
