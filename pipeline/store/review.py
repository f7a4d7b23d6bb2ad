"""Review: a clerk's decisions, kept beside the machine's readings and never over them.

Decisions sit in the review block of ``schema.sql`` and are never updated or deleted. Each write is one BEGIN
IMMEDIATE transaction that first compares the version the clerk saw with the current one: a stale page gets
:class:`~pipeline.store.records.DecisionConflict` with the current state instead of a blind write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np

from pipeline.ballot.payload import normalise_serial
from pipeline.common.messages import Lang, reading_name, row_reason, undo_of
from pipeline.counting.report import ReviewRecord
from pipeline.store.core import now, one_snapshot, stored_reason
from pipeline.store.reading import COUNTED_SERIAL
from pipeline.store.records import (
    BoxFill,
    CommentSources,
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
from pipeline.store.results import ResultStore


class ReviewStore(ResultStore):
    """Flagged rows, rejected pages, and the clerks' decisions about them."""

    @one_snapshot
    def review_log(self, session: str, lang: Lang = "zh") -> list[ReviewRecord]:
        """Every row decision of the session, undos included, oldest first, worded for the 复核记录 sheet."""
        log = []
        for row in self.named(
            "SELECT p.serial, p.id, d.unit, m.reading AS machine, m.choice AS machine_choice, m.reason, d.reading, "
            "d.choice, d.undoes_id, d.reviewer, d.decided_at FROM decisions d JOIN pages p ON p.id = d.page_id "
            "LEFT JOIN machine_readings m ON m.page_id = d.page_id AND m.unit = d.unit "
            "WHERE p.session = ? ORDER BY d.id",
            (session,),
        ):
            was = reading_name(row["machine"] or "hand", row["machine_choice"], lang)
            if row["reason"]:
                was = (
                    f"{was}（{row_reason(row['reason'], lang)}）"
                    if lang == "zh"
                    else f"{was} ({row_reason(row['reason'], lang)})"
                )
            undoes = row["undoes_id"]
            decision = undo_of(undoes, lang) if undoes else reading_name(row["reading"], row["choice"], lang)
            serial = str(row["serial"] or f"page-{row['id']}")
            log.append(
                ReviewRecord(serial, str(row["unit"]), was, decision, str(row["reviewer"]), str(row["decided_at"]))
            )
        return log

    _ROW_COLUMNS = (
        "m.page_id, m.unit, (SELECT coalesce(max(d.id), 0) FROM decisions d WHERE d.page_id = m.page_id "
        "AND d.unit = m.unit), m.reading, m.choice, m.reason, c.reading, c.choice, c.reviewer, c.decided_at"
    )
    _ROW_TABLES = (
        "machine_readings m JOIN pages p ON p.id = m.page_id "
        "LEFT JOIN current_decisions c ON c.page_id = m.page_id AND c.unit = m.unit"
    )
    _PAGE_COLUMNS = (
        "p.id, f.path, p.page_no, p.outcome, p.reason_code, p.reason_detail, p.serial, p.template_hash, "
        "EXISTS (SELECT 1 FROM page_images i WHERE i.page_id = p.id) AS has_image, "
        "(SELECT coalesce(max(d.id), 0) FROM page_decisions d WHERE d.page_id = p.id) AS version, "
        "c.decision, c.note, c.reviewer, c.decided_at"
    )
    _PAGE_TABLES = "pages p JOIN files f ON f.id = p.file_id LEFT JOIN current_page_decisions c ON c.page_id = p.id"
    _NOT_VOIDED = "NOT EXISTS (SELECT 1 FROM current_page_decisions v WHERE v.page_id = p.id AND v.decision = 'void')"

    @one_snapshot
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

    @one_snapshot
    def review_pages(self, session: str, *, rejected: bool, page_id: int | None = None) -> list[PageSummary]:
        """Pages the machine did not count (``rejected``: every outcome but read and blank), or the read sheets
        with how many rows each sent to review; in scan order, each with the page decision in force. Only page
        ``page_id`` when given."""
        where = "p.outcome NOT IN ('read', 'blank')" if rejected else "p.outcome = 'read'"
        pages = []
        for row in list(
            self.named(
                f"SELECT {self._PAGE_COLUMNS}, (SELECT count(*) FROM machine_readings m WHERE m.page_id = p.id "
                f"AND m.reading = 'pending') AS flagged FROM {self._PAGE_TABLES} WHERE p.session = ? AND {where} "
                "AND (? IS NULL OR p.id = ?) ORDER BY f.id, p.page_no",
                (session, page_id, page_id),
            )
        ):
            state = self._page_state_from(row)
            hand: list[tuple[str, str]] = []
            if state.decision is not None and state.decision.kind == "count":
                hand = [
                    (str(unit), str(reading))
                    for unit, reading in self.db.execute(
                        "SELECT unit, coalesce(choice, reading) FROM current_decisions WHERE page_id = ? ORDER BY id",
                        (state.page_id,),
                    )
                ]
            pages.append(
                PageSummary(
                    page_id=row["id"],
                    source=row["path"],
                    page_no=row["page_no"],
                    serial=row["serial"],
                    outcome=row["outcome"],
                    reason=stored_reason(row["reason_code"], row["reason_detail"]),
                    template_hash=row["template_hash"],
                    has_image=bool(row["has_image"]),
                    state=state,
                    flagged_rows=int(row["flagged"]),
                    hand_rows=tuple(hand),
                )
            )
        return pages

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
            "JOIN pages p ON p.id = i.page_id WHERE i.page_id = ?",
            (page_id,),
        ).fetchone()
        if row is None:
            return None
        session, outcome, template_hash, mime, width, height, data, transform = row
        matrix = np.array(json.loads(transform), dtype=np.float64) if transform is not None else None
        return StoredImage(session, outcome, template_hash, mime, width, height, data, matrix)

    @one_snapshot
    def comment_sources(self, session: str) -> CommentSources:
        """The sheets whose 意见建议 cells are fed back: read sheets a clerk did not void, in page order; plus how
        many counted sheets were counted by hand (their cells are read on paper) and how many were voided."""
        pages = self.db.execute(
            "SELECT p.id, p.template_hash FROM pages p "
            "LEFT JOIN current_page_decisions v ON v.page_id = p.id AND v.decision = 'void' "
            "WHERE p.session = ? AND p.outcome = 'read' AND v.id IS NULL ORDER BY p.id",
            (session,),
        ).fetchall()
        by_hand, voided = self.db.execute(
            "SELECT coalesce(sum(d.decision = 'count'), 0), "
            "coalesce(sum(d.decision = 'void' AND p.outcome = 'read'), 0) "
            "FROM pages p JOIN current_page_decisions d ON d.page_id = p.id WHERE p.session = ?",
            (session,),
        ).fetchone()
        return CommentSources(tuple((int(i), str(h)) for i, h in pages), int(by_hand), int(voided))

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
        assert db is self.db  # the named rows below are read through the same connection
        row = next(
            self.named(
                f"SELECT {self._PAGE_COLUMNS} FROM {self._PAGE_TABLES} WHERE p.id = ? AND p.session = ?",
                (page_id, session),
            ),
            None,
        )
        if row is None:
            return None
        return row["outcome"], row["serial"], row["template_hash"], self._page_state_from(row)

    @staticmethod
    def _page_state_from(row: sqlite3.Row) -> PageState:
        kind = row["decision"]
        decision = (
            Decision(kind, None, str(row["reviewer"]), str(row["decided_at"]), row["note"] or "")
            if kind is not None
            else None
        )
        return PageState(row["id"], row["version"], decision)

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

    # -- end of review block ------------------------------------------------------------------------------------
