"""The SQLite store: all SQL of the project lives here (schema in ``schema.sql``).

One file (default ``output/ballots.db``, or ``--db`` / ``BALLOT_DB``). WAL mode so that a review server
and a scan can share it; every write is a short transaction, so a killed run loses at most the page it
was on.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from pipeline import __version__
from pipeline.payload import new_serial
from pipeline.template import Template, parse_template

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
        row = self.db.execute(
            "SELECT template_id, definition FROM templates WHERE hash = ?", (digest,)
        ).fetchone()
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
            connection.executescript(
                f"BEGIN IMMEDIATE;\n{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            )
        elif version > SCHEMA_VERSION:
            connection.close()
            raise StoreError(
                f"{path} was written by a newer version of this program (schema {version}); upgrade it"
            )
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as error:
        raise StoreError(f"cannot open the database {path}: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot create the database folder for {path}: {error}") from None
    return Store(connection, path)
