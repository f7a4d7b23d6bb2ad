"""Pages: a clerk's decisions about whole pages, and what a round leaves uncounted.

A page the machine did not count (every outcome but read and blank) waits for a clerk: 'not_ballot' (no ballot),
'not_counted' (a ballot rightly left out: a duplicate confirmed, another session's), or 'count' (read by eye, its
rows entered by hand). A read ballot may be 'void' (作废). Decisions are versioned and undone like row decisions
(:mod:`.review`); while any rejected page is unsettled no final report is written (``unsettled_pages`` of
:meth:`~pipeline.store.results.ResultStore.session_facts`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import PurePath

import numpy as np

from pipeline.ballot.payload import normalise_serial
from pipeline.common.messages import Lang, outcome_name, page_decision_name, page_reason
from pipeline.common.reasons import Refusal
from pipeline.counting.record_sheets import UncountedPage
from pipeline.store.core import now, one_snapshot, stored_reason
from pipeline.store.reading import COUNTED_SERIAL
from pipeline.store.records import (
    CommentSources,
    Decision,
    DecisionConflict,
    DecisionRefused,
    HandRow,
    PageDecisionKind,
    PageState,
    PageSummary,
    StoredImage,
)
from pipeline.store.results import REJECTED
from pipeline.store.review import ReviewStore


class PageReviewStore(ReviewStore):
    """Rejected pages, voided ballots, and the clerks' decisions about them."""

    _PAGE_COLUMNS = (
        "p.id, f.path, p.page_no, p.outcome, p.reason_code, p.reason_detail, p.serial, p.template_hash, "
        "EXISTS (SELECT 1 FROM page_images i WHERE i.page_id = p.id) AS has_image, "
        "(SELECT coalesce(max(d.id), 0) FROM page_decisions d WHERE d.page_id = p.id) AS version, "
        "c.decision, c.note, c.reviewer, c.decided_at"
    )
    _PAGE_TABLES = "pages p JOIN files f ON f.id = p.file_id LEFT JOIN current_page_decisions c ON c.page_id = p.id"

    @one_snapshot
    def review_pages(self, session: str, *, rejected: bool, page_id: int | None = None) -> list[PageSummary]:
        """Pages the machine did not count (``rejected``: every outcome but read and blank), or the read sheets
        with how many rows each sent to review and how many a clerk corrected; in scan order, each with the page
        decision in force. Only page ``page_id`` when given."""
        where = REJECTED if rejected else "p.outcome = 'read'"
        pages = []
        for row in list(
            self.named(
                f"SELECT {self._PAGE_COLUMNS}, (SELECT count(*) FROM machine_readings m WHERE m.page_id = p.id "
                "AND m.reading = 'pending') AS flagged, (SELECT count(*) FROM current_decisions d "
                "WHERE d.page_id = p.id AND d.correction) AS corrected "
                f"FROM {self._PAGE_TABLES} WHERE p.session = ? AND {where} "
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
            machine: list[tuple[str, str, str | None, str]] = []
            if rejected:
                machine = [
                    (str(unit), str(reading), choice, str(reason or ""))
                    for unit, reading, choice, reason in self.db.execute(
                        "SELECT unit, reading, choice, reason FROM machine_readings WHERE page_id = ?",
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
                    corrected_rows=int(row["corrected"]),
                    machine_rows=tuple(machine),
                )
            )
        return pages

    @one_snapshot
    def uncounted_pages(self, session: str, lang: Lang = "zh") -> list[UncountedPage]:
        """Everything scanned for the session that is not counted, in scan order, worded for the internal sheet
        未计入的页: files that could not be opened (page 0), blank pages, pages the machine rejected (settled by a
        clerk or not; a page counted by hand is counted, so not listed) and ballots a clerk voided."""
        found: list[tuple[int, int, UncountedPage]] = []
        for file_id, path, code, detail in self.db.execute(
            "SELECT id, path, reason_code, reason_detail FROM files WHERE session = ? AND status = 'unreadable'",
            (session,),
        ):
            reason = stored_reason(code, detail)
            words = page_reason(reason, lang) if reason else ""
            name, outcome = PurePath(path).name, outcome_name("unreadable_file", lang)
            # Nothing to settle on the review page: the file holds no page (a rescan is a new file).
            found.append((int(file_id), 0, UncountedPage(session, name, 0, "", outcome, words, settled=True)))
        for row in self.named(
            "SELECT f.id AS file_id, f.path, p.page_no, p.serial, p.outcome, p.reason_code, p.reason_detail, "
            "c.decision, c.note, c.reviewer, c.decided_at FROM pages p JOIN files f ON f.id = p.file_id "
            "LEFT JOIN current_page_decisions c ON c.page_id = p.id WHERE p.session = ? "
            "AND (p.outcome <> 'read' OR c.decision = 'void') AND coalesce(c.decision, '') <> 'count'",
            (session,),
        ):
            reason = stored_reason(row["reason_code"], row["reason_detail"])
            decision = row["decision"]
            page = UncountedPage(
                session=session,
                source=PurePath(row["path"]).name,
                page_no=int(row["page_no"]),
                serial=row["serial"] or "",
                outcome=outcome_name(row["outcome"], lang),
                reason=page_reason(reason, lang) if reason else "",
                settled=decision is not None or row["outcome"] == "blank",
                decision=page_decision_name(decision, row["note"] or "", lang) if decision else "",
                reviewer=row["reviewer"] or "",
                decided_at=row["decided_at"] or "",
            )
            found.append((int(row["file_id"]), page.page_no, page))
        return [page for _, _, page in sorted(found, key=lambda item: item[:2])]

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
        serial_illegible: bool = False,
    ) -> PageState:
        """Settle a whole page, provided it is still at ``version``: 'void' a read ballot (作废), or for a page
        the machine did not count, 'not_ballot', 'not_counted' or 'count' it with ``rows`` read by eye from
        ``template_hash`` (rows already checked against that template by the caller). Counting a page whose serial
        the machine could not read, the clerk gives the ``serial`` printed under its QR code, or states that it is
        illegible (``serial_illegible``): a sheet whose serial is known is refused if it was counted already, and
        a later scan of it is a duplicate; without either, nothing shows that the page is a ballot of this round
        at all (a sign-in sheet was once counted so), and it is refused."""
        entered = normalise_serial(serial) if serial else None
        if serial and entered is None:
            raise DecisionRefused(Refusal.BAD_SERIAL, serial=serial)
        with self.transaction() as db:
            found = self._page(db, session, page_id)
            if found is None:
                raise DecisionRefused(Refusal.NO_PAGE, page=page_id)
            outcome, page_serial, page_template, state = found
            if entered is not None and (kind != "count" or (page_serial is not None and page_serial != entered)):
                raise DecisionRefused(Refusal.OTHER_SERIAL, serial=page_serial or "—")
            if state.version != version:
                raise DecisionConflict(state)
            if kind == "void" and outcome != "read":
                raise DecisionRefused(Refusal.ONLY_READ_VOID)
            if kind != "void" and outcome in ("read", "blank"):
                raise DecisionRefused(Refusal.NOT_REJECTED, outcome=outcome)
            illegible = kind == "count" and page_serial is None and entered is None and serial_illegible
            if kind == "count":
                known = page_serial or entered
                if known is None and not illegible:
                    raise DecisionRefused(Refusal.SERIAL_NEEDED)
                self._check_countable(db, session, page_id, outcome, known, page_template, template_hash, rows)
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
                "decided_at, serial, serial_illegible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page_id,
                    kind,
                    template_hash if kind == "count" else None,
                    note,
                    version or None,
                    reviewer,
                    now(),
                    entered if page_serial is None else None,
                    int(illegible),
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
                raise DecisionRefused(Refusal.NO_PAGE, page=page_id)
            state = found[3]
            if state.version != version:
                raise DecisionConflict(state)
            live = db.execute("SELECT id FROM current_page_decisions WHERE page_id = ?", (page_id,)).fetchone()
            if live is None:
                raise DecisionRefused(Refusal.NOTHING_TO_UNDO)
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
            "CASE WHEN i.as_scanned THEN p.transform END, p.scale_px_per_mm FROM page_images i "
            "JOIN pages p ON p.id = i.page_id WHERE i.page_id = ?",
            (page_id,),
        ).fetchone()
        if row is None:
            return None
        session, outcome, template_hash, mime, width, height, data, transform, scale = row
        matrix = np.array(json.loads(transform), dtype=np.float64) if transform is not None else None
        return StoredImage(session, outcome, template_hash, mime, width, height, data, matrix, scale)

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
            raise DecisionRefused(Refusal.ONLY_UNREADABLE_COUNTED, outcome=outcome)
        if template_hash is None or (page_template is not None and page_template != template_hash):
            raise DecisionRefused(Refusal.TEMPLATE_UNKNOWN)
        if not db.execute("SELECT 1 FROM templates WHERE hash = ?", (template_hash,)).fetchone():
            raise DecisionRefused(Refusal.TEMPLATE_UNKNOWN)
        if not rows:
            raise DecisionRefused(Refusal.NO_ROWS_ENTERED)
        if serial is None:
            return
        if not db.execute("SELECT 1 FROM serials WHERE session = ? AND serial = ?", (session, serial)).fetchone():
            raise DecisionRefused(Refusal.SERIAL_NOT_ISSUED, serial=serial, session=session)
        counted = next((row for row in db.execute(COUNTED_SERIAL, (session, serial)) if row[0] != page_id), None)
        if counted is not None:
            raise DecisionRefused(Refusal.SERIAL_COUNTED, serial=serial, page=counted[0])
