"""The SQLite store: all SQL of the project lives in this room (schema in ``schema.sql``).

One file (default ``output/ballots.db``, or ``--db`` / ``BALLOT_DB``). WAL mode so that a review server
and a scan can share it; every write is a short transaction, so a killed run loses at most the page it
was on. :class:`Store` assembles the store's concerns, each a module of this room: :mod:`.templates`
(templates and sessions), :mod:`.printing`, :mod:`.reading`, :mod:`.results`, :mod:`.review` (rows) and
:mod:`.pages`.
"""

from __future__ import annotations

import os
import re
import sqlite3
from enum import StrEnum
from importlib import resources
from pathlib import Path

from pipeline.common.reasons import RowWhy, Why
from pipeline.store.core import StoreError
from pipeline.store.pages import PageReviewStore

SCHEMA_VERSION = 23
DEFAULT_DB = Path("output/ballots.db")
#: The machine readings table as version 10 made it (a migration rebuilds it so).
ROW_READINGS = """CREATE TABLE row_readings (
        classification_id INTEGER NOT NULL REFERENCES classifications (id),
        page_id           INTEGER NOT NULL REFERENCES pages (id),
        unit              TEXT NOT NULL,
        reading           TEXT NOT NULL CHECK (reading IN ('choice', 'blank', 'overvote', 'pending')),
        choice            TEXT,
        reason            TEXT NOT NULL DEFAULT '' REFERENCES row_reasons (code),
        PRIMARY KEY (classification_id, page_id, unit),
        CHECK ((reading = 'choice') = (choice IS NOT NULL))
    ) STRICT;"""


#: The page decisions table as version 12 made it; its references to itself name the new table, which the rename
#: then points at itself (the old table, referred to by nothing, can be dropped with foreign keys on).
PAGE_DECISIONS = """CREATE TABLE page_decisions_new (
        id            INTEGER PRIMARY KEY,
        page_id       INTEGER NOT NULL REFERENCES pages (id),
        decision      TEXT CHECK (decision IN ('not_ballot', 'not_counted', 'count', 'void')),
        template_hash TEXT REFERENCES templates (hash),
        note          TEXT NOT NULL DEFAULT '',
        undoes_id     INTEGER REFERENCES page_decisions_new (id),
        previous_id   INTEGER REFERENCES page_decisions_new (id),
        reviewer      TEXT NOT NULL CHECK (length(reviewer) > 0),
        decided_at    TEXT NOT NULL,
        serial        TEXT CHECK (serial IS NULL OR length(serial) = 10),
        serial_illegible INTEGER NOT NULL DEFAULT 0 CHECK (serial_illegible IN (0, 1)),
        CHECK ((coalesce(decision, '') = 'count') = (template_hash IS NOT NULL)),
        CHECK (serial_illegible = 0 OR (decision = 'count' AND serial IS NULL)),
        CHECK ((decision IS NULL) = (undoes_id IS NOT NULL))
    ) STRICT;"""


def _values(codes: type[StrEnum]) -> str:
    return ", ".join(f"('{code.value}')" for code in codes)


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
    # Reasons became codes: what a page or file said before is kept as a 'legacy' reason with its text; a row's
    # reason was a code already. The scorer's version is recorded from now on (unknown before).
    10: f"""CREATE TABLE page_reasons (code TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
    CREATE TABLE row_reasons (code TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
    INSERT INTO page_reasons (code) VALUES {_values(Why)};
    INSERT INTO row_reasons (code) VALUES {_values(RowWhy)}, ('');
    ALTER TABLE files ADD COLUMN reason_code TEXT REFERENCES page_reasons (code);
    ALTER TABLE files ADD COLUMN reason_detail TEXT NOT NULL DEFAULT '{{}}';
    UPDATE files SET reason_code = 'legacy', reason_detail = json_object('text', reason) WHERE reason <> '';
    ALTER TABLE files DROP COLUMN reason;
    ALTER TABLE pages ADD COLUMN reason_code TEXT REFERENCES page_reasons (code);
    ALTER TABLE pages ADD COLUMN reason_detail TEXT NOT NULL DEFAULT '{{}}';
    UPDATE pages SET reason_code = 'legacy', reason_detail = json_object('text', reason) WHERE reason <> '';
    ALTER TABLE pages DROP COLUMN reason;
    ALTER TABLE pages ADD COLUMN scorer_version INTEGER;
    {ROW_READINGS.replace("CREATE TABLE row_readings", "CREATE TABLE row_readings_new")}
    INSERT INTO row_readings_new SELECT classification_id, page_id, unit, reading, choice, reason FROM row_readings;
    DROP TABLE row_readings;
    ALTER TABLE row_readings_new RENAME TO row_readings;
    CREATE INDEX row_readings_by_row ON row_readings (page_id, unit, classification_id);""",
    # A page image is the whole page, one per page: no program ever wrote the row or comment kinds the table
    # allowed, so they and the unit column go (a CHECK cannot be altered in place: the table is rebuilt).
    11: """CREATE TABLE page_images_new (
        page_id    INTEGER PRIMARY KEY REFERENCES pages (id),
        mime       TEXT NOT NULL,
        width      INTEGER NOT NULL,
        height     INTEGER NOT NULL,
        data       BLOB NOT NULL,
        as_scanned INTEGER NOT NULL DEFAULT 0 CHECK (as_scanned IN (0, 1))
    ) STRICT;
    INSERT INTO page_images_new (page_id, mime, width, height, data, as_scanned)
        SELECT page_id, mime, width, height, data, as_scanned FROM page_images WHERE kind = 'page';
    DROP TABLE page_images;
    ALTER TABLE page_images_new RENAME TO page_images;""",
    # 0 is "no ink below the box from the row below", as those scores were classified.
    12: "ALTER TABLE box_scores ADD COLUMN outside_below REAL NOT NULL DEFAULT 0;",
    # A decision on a row the machine read without doubt is a correction: those made before were all on flagged
    # rows (the page offered no other), so 0. A page may be settled as 'not_counted' (a duplicate confirmed), and a
    # page counted by hand records whether the clerk stated that its serial cannot be read.
    13: f"""ALTER TABLE decisions ADD COLUMN correction INTEGER NOT NULL DEFAULT 0 CHECK (correction IN (0, 1));
    {PAGE_DECISIONS}
    INSERT INTO page_decisions_new (id, page_id, decision, template_hash, note, undoes_id, previous_id, reviewer,
        decided_at, serial)
    SELECT id, page_id, decision, template_hash, note, undoes_id, previous_id, reviewer, decided_at, serial
    FROM page_decisions;
    DROP TABLE page_decisions;
    ALTER TABLE page_decisions_new RENAME TO page_decisions;
    CREATE UNIQUE INDEX page_decisions_one_per_version ON page_decisions (page_id, coalesce(previous_id, 0));""",
    # Scores stored before are classified as they were: the ink around a box taken to come from the row below is
    # all of it that lies below the box, and the ink in a box may run on below it (a possible leg, asked about).
    14: """ALTER TABLE box_scores ADD COLUMN outside_from_below REAL NOT NULL DEFAULT 0;
    UPDATE box_scores SET outside_from_below = outside_below;
    ALTER TABLE box_scores ADD COLUMN joined_below REAL NOT NULL DEFAULT 1;""",
    # Scores stored before measured no border hidden under anything laid over it: 0, as they were classified.
    15: "ALTER TABLE box_scores ADD COLUMN border_hidden REAL NOT NULL DEFAULT 0;",
    # Nor a faint stroke too pale to count, nor a page line through a box: 0, as they were classified.
    16: """ALTER TABLE box_scores ADD COLUMN faint_stroke REAL NOT NULL DEFAULT 0;
    ALTER TABLE box_scores ADD COLUMN line_over REAL NOT NULL DEFAULT 0;""",
    # The ink around a box counted whatever its darkness: 1, as those scores were classified.
    17: "ALTER TABLE box_scores ADD COLUMN outside_darkness REAL NOT NULL DEFAULT 1;",
    # Scores stored before did not say whether the scan was black and white: grey, as they were classified.
    18: "ALTER TABLE box_scores ADD COLUMN bilevel INTEGER NOT NULL DEFAULT 0;",
    # Nor the size of the ink's darkest piece: none, as those scores were classified.
    # Nor how much darker a line across the page was inside a box than beside it: none.
    19: """ALTER TABLE box_scores ADD COLUMN core REAL NOT NULL DEFAULT 0;
    ALTER TABLE box_scores ADD COLUMN line_excess REAL NOT NULL DEFAULT 0;""",
    # Nor how far a box's ink ran out past it, nor how narrow it was: as far and as wide as can be, as those scores
    # were classified (no mark of theirs was taken for a blackened box or for a stroke level with a side).
    20: """ALTER TABLE box_scores ADD COLUMN outside_reach REAL NOT NULL DEFAULT 99;
    ALTER TABLE box_scores ADD COLUMN ink_span REAL NOT NULL DEFAULT 99;""",
    # A rejected page may hold machine readings (a sheet read but for its serial): only the views change (a
    # counted page's hand rows are counted once), and they are made again after every step.
    21: "SELECT 1;",
    # Scores stored before did not say how much of a mark's ink was one firm piece: none, so no mark of theirs is taken
    # to have come through a bilevel scan solid but by its darkness, as they were classified.
    22: "ALTER TABLE box_scores ADD COLUMN core_share REAL NOT NULL DEFAULT 0;",
    # Nor searched a grainy box for a stroke beside a row's mark: unmeasured, as those scores were classified.
    23: """ALTER TABLE box_scores ADD COLUMN stroke_response REAL NOT NULL DEFAULT 0;
    ALTER TABLE box_scores ADD COLUMN grain_spread REAL NOT NULL DEFAULT 0;""",
}


class Store(PageReviewStore):
    """A connection to the store with typed operations. Use :func:`open_store`."""


def default_db_path() -> Path:
    return Path(os.environ.get("BALLOT_DB") or DEFAULT_DB)


def open_store(path: Path | None = None) -> Store:
    """Open (creating if needed) the store at ``path``; raises :class:`StoreError` naming what went wrong."""
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
            views = _view_statements(_schema())
            names = sorted({re.search(r"VIEW\s+(\w+)", statement)[1] for statement in views})  # type: ignore[index]
            script = "".join(f"DROP VIEW IF EXISTS {name};\n" for name in names)
            script += "".join(f"{MIGRATIONS[step]}\nPRAGMA user_version = {step};\n" for step in steps)
            _upgrade(connection, script + "\n".join(views) + "\n")
        elif version > SCHEMA_VERSION:
            connection.close()
            raise StoreError("store_newer", path=path, version=version)
        connection.execute("PRAGMA synchronous = NORMAL")
        _know_reasons(connection)
    except sqlite3.OperationalError as error:
        raise StoreError("store_unopenable", path=path, error=error) from None
    except OSError as error:
        raise StoreError("store_no_folder", path=path, error=error.strerror or error) from None
    return Store(connection, path)


def _schema() -> str:
    return resources.files("pipeline.store").joinpath("schema.sql").read_text(encoding="utf-8")


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


def _know_reasons(connection: sqlite3.Connection) -> None:
    """Every reason code this program writes is one the store knows (the reasons tables are what the pages'
    and rows' reason columns refer to): a code added since the store was made is added to it."""
    known = {
        str(code) for (code,) in connection.execute("SELECT code FROM page_reasons UNION SELECT code FROM row_reasons")
    }
    if {*Why, *RowWhy} <= known:
        return
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT OR IGNORE INTO page_reasons (code) VALUES (?)", [(str(code),) for code in Why])
    connection.executemany("INSERT OR IGNORE INTO row_reasons (code) VALUES (?)", [(str(code),) for code in RowWhy])
    connection.execute("COMMIT")
