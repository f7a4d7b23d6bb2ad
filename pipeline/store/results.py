"""Results: the facts of a session (发出 / 应到 / 实到), overrides (投诉查实, 一票否决) and the effective ballots
tally counts: every counted sheet with each row's reading in force (the clerk's, else the machine's)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ballot.template import CATEGORY_ROW
from pipeline.counting.ballots import BallotResult, RowResult
from pipeline.counting.rules import Override, OverrideRequest
from pipeline.counting.tally import SessionFacts
from pipeline.store.core import now, one_snapshot
from pipeline.store.reading import ReadingStore

#: Pages a clerk must settle: every outcome the machine did not count, but a blank page (the back of a sheet).
REJECTED = "p.outcome NOT IN ('read', 'blank')"


class ResultStore(ReadingStore):
    """Session facts, overrides and effective ballots."""

    @one_snapshot
    def effective_ballots(self, session: str) -> list[BallotResult]:
        """Every counted sheet of the session with each row's effective reading (:mod:`pipeline.counting.ballots`)."""
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
        """What the clerk recorded, and how many rejected pages no clerk has settled yet."""
        row = self.db.execute(
            "SELECT issued, expected, attended, (SELECT count(*) FROM pages p WHERE p.session = s.name "
            f"AND {REJECTED} AND NOT EXISTS "
            "(SELECT 1 FROM current_page_decisions c WHERE c.page_id = p.id)) FROM sessions s WHERE name = ?",
            (session,),
        ).fetchone()
        return SessionFacts(session, *(row or (None, None, None, 0)))

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
