"""Printing: print batches and the serials issued to them.

The serial table is keyed by the serial itself and keeps no print order (ballots are anonymous).
"""

from __future__ import annotations

import random
import secrets

from pipeline import __version__
from pipeline.ballot.payload import new_serial
from pipeline.ballot.template import Template
from pipeline.reading.identify import Catalog
from pipeline.store.core import now
from pipeline.store.templates import TemplateStore


class PrintingStore(TemplateStore):
    """Print batches and issued serials."""

    def issue_serials(
        self, session: str, template: Template, copies: int, output_path: str, *, draw: random.Random | None = None
    ) -> list[str]:
        """Record a print batch and return ``copies`` new serials, unique in the store, in random order.
        ``draw``: where the serials and their order come from instead of :mod:`secrets`, for a batch that must
        come out the same every time (benchmarks); never for ballots that are handed out."""
        digest = self.add_template(template)
        self.ensure_session(session)
        with self.transaction() as db:
            batch = db.execute(
                "INSERT INTO print_batches (session, template_hash, copies, output_path, printed_at, "
                "program_version) VALUES (?, ?, ?, ?, ?, ?)",
                (session, digest, copies, output_path, now(), __version__),
            ).lastrowid
            # Unique in the whole store, not only the session: a code names its serial alone (B2).
            taken = {row[0] for row in db.execute("SELECT serial FROM serials")}
            serials: set[str] = set()
            while len(serials) < copies:
                candidate = new_serial(draw)
                if candidate not in serials and candidate not in taken:
                    serials.add(candidate)
            db.executemany(
                "INSERT INTO serials (session, serial, batch_id) VALUES (?, ?, ?)",
                [(session, serial, batch) for serial in sorted(serials)],
            )
        # A set has no print order to leak; shuffle explicitly anyway so the PDF order is random too.
        ordered = sorted(serials)
        _shuffle(ordered, draw)
        return ordered

    def catalog(self) -> Catalog:
        """What pages are told by: every template printed with this store and every serial issued."""
        serials: dict[str, dict[str, tuple[str, str]]] = {}
        for serial, session, template_id, short_hash in self.db.execute(
            "SELECT s.serial, s.session, t.template_id, t.short_hash FROM serials s "
            "JOIN print_batches b ON b.id = s.batch_id JOIN templates t ON t.hash = b.template_hash"
        ):
            serials.setdefault(serial, {})[session] = (template_id, short_hash)
        return Catalog(self.templates_printed(), serials)

    def serial_issued(self, session: str, serial: str) -> bool:
        row = self.db.execute("SELECT 1 FROM serials WHERE session = ? AND serial = ?", (session, serial))
        return row.fetchone() is not None

    def issued_serials(self, session: str) -> list[str]:
        rows = self.db.execute("SELECT serial FROM serials WHERE session = ? ORDER BY serial", (session,))
        return [row[0] for row in rows]


def _shuffle(items: list[str], draw: random.Random | None) -> None:
    for index in range(len(items) - 1, 0, -1):
        other = secrets.randbelow(index + 1) if draw is None else draw.randrange(index + 1)
        items[index], items[other] = items[other], items[index]
