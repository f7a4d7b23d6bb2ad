"""The store's schema: an older store is brought up to date when opened, views, data and all."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from pathlib import Path

from pipeline.common.reasons import RowWhy, Why
from pipeline.reading.score import BoxScore
from pipeline.store.database import SCHEMA_VERSION, open_store
from pipeline.store.reading import SCORE_COLUMNS

V9_SCHEMA = Path(__file__).parent / "fixtures" / "schema-v9.sql"


def views(path: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(path)
    found = sorted(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())
    connection.close()
    return found


def tables(path: Path) -> dict[str, list[tuple[str, str, int, object, int]]]:
    """Every table's columns (name, type, not null, default, primary key), as PRAGMA table_info gives them."""
    connection = sqlite3.connect(path)
    names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = {name: sorted(row[1:] for row in connection.execute(f"PRAGMA table_info({name})")) for name in names}
    connection.close()
    return found


def old_store(path: Path) -> None:
    """A store as version 9 wrote it: one read page whose reason was a sentence, one flagged row, one file
    that could not be read, the read page's image."""
    connection = sqlite3.connect(path)
    connection.executescript(V9_SCHEMA.read_text(encoding="utf-8") + "\nPRAGMA user_version = 9;")
    connection.executescript(
        "INSERT INTO sessions (name, created_at) VALUES ('2026H1', 't');"
        "INSERT INTO files (id, session, sha256, path, status, reason, added_at) VALUES "
        "(1, '2026H1', NULL, 'x.pdf', 'unreadable', 'the PDF has no pages', 't'),"
        "(2, '2026H1', NULL, 'y.jpg', 'done', '', 't');"
        "INSERT INTO settings_versions (hash, definition, added_at) VALUES ('s', '{}', 't');"
        "INSERT INTO pages (id, file_id, session, page_no, outcome, reason, program_version, settings_hash, read_at) "
        "VALUES (1, 2, '2026H1', 1, 'unreadable', 'only 2 of 4 registration marks found', '0.1.0', 's', 't'),"
        "(2, 2, '2026H1', 2, 'read', '', '0.1.0', 's', 't');"
        "INSERT INTO classifications (id, session, settings_hash, program_version, created_at) "
        "VALUES (1, '2026H1', 's', '0.1.0', 't');"
        "INSERT INTO box_scores (page_id, unit, option, position, fill, outside, centre, darkness, crossing, "
        "shift_mm, border_match) VALUES (2, '局机关', '满意', 0, 0.03, 0, 0, 0.2, 0, 0.1, 0.9),"
        "(2, '文化馆', '满意', 0, 0, 0, 0, 0, 0, 0.1, 0.9);"
        "INSERT INTO row_readings VALUES (1, 2, '局机关', 'pending', NULL, 'marginal'),"
        "(1, 2, '文化馆', 'blank', NULL, '');"
        "INSERT INTO page_images (page_id, kind, mime, width, height, data, as_scanned) "
        "VALUES (2, 'page', 'image/jpeg', 1654, 2339, x'ffd8ffe0', 1);"
        "INSERT INTO decisions (id, page_id, unit, reading, choice, reviewer, decided_at) "
        "VALUES (1, 2, '局机关', 'choice', '满意', '甲', 't');"
        "INSERT INTO page_decisions (id, page_id, decision, reviewer, decided_at) "
        "VALUES (1, 1, 'not_ballot', '甲', 't');"
        "INSERT INTO page_decisions (id, page_id, undoes_id, previous_id, reviewer, decided_at) "
        "VALUES (2, 1, 1, 1, '甲', 't');"
    )
    connection.close()


def test_a_store_of_version_9_is_migrated_when_opened(tmp_path: Path) -> None:
    open_store(tmp_path / "fresh.db").close()
    old = tmp_path / "old.db"
    old_store(old)

    store = open_store(old)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    # What a page or a file said is kept, as a 'legacy' reason with its words; a page read without remark has none.
    pages = [
        (id_, code, json.loads(detail))
        for id_, code, detail in store.db.execute("SELECT id, reason_code, reason_detail FROM pages ORDER BY id")
    ]
    assert pages == [(1, "legacy", {"text": "only 2 of 4 registration marks found"}), (2, None, {})]
    [line] = [line for line in store.export_pages("2026H1", "en") if line["page"] == 1]
    assert (line["reason_code"], line["reason"]) == ("legacy", "only 2 of 4 registration marks found")
    files = store.db.execute("SELECT reason_code, json_extract(reason_detail, '$.text') FROM files ORDER BY id")
    assert files.fetchall() == [("legacy", "the PDF has no pages"), (None, None)]
    assert [state.state.reason for state in store.flagged_rows("2026H1")] == ["marginal"]
    # The page's image is kept as it was (the table lost only its never-used kinds of image).
    images = store.db.execute("SELECT page_id, mime, width, height, data, as_scanned FROM page_images").fetchall()
    assert images == [(2, "image/jpeg", 1654, 2339, b"\xff\xd8\xff\xe0", 1)]
    # Decisions are kept (one on a flagged row: no correction); page decisions too, in the rebuilt table, which
    # takes a page set aside as not counted (version 13) and still refuses an undo of nothing.
    [row] = store.flagged_rows("2026H1")
    assert row.state.decision is not None and row.state.decision.choice == "满意" and not row.state.decision.correction
    decisions = store.db.execute("SELECT id, decision, undoes_id, previous_id FROM page_decisions ORDER BY id")
    assert decisions.fetchall() == [(1, "not_ballot", None, None), (2, None, 1, 1)]
    store.db.execute(
        "INSERT INTO page_decisions (page_id, decision, previous_id, reviewer, decided_at) "
        "VALUES (1, 'not_counted', 2, '乙', 't')"
    )
    try:
        store.db.execute(
            "INSERT INTO page_decisions (page_id, undoes_id, previous_id, reviewer, decided_at) "
            "VALUES (1, 99, 3, '乙', 't')"
        )
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("an undo of a decision that does not exist was stored")
    store.close()
    assert views(old) == views(tmp_path / "fresh.db")  # every view as schema.sql makes it, effective_readings too
    assert tables(old) == tables(tmp_path / "fresh.db")  # every column as schema.sql makes it


def test_an_older_store_is_migrated_step_by_step(tmp_path: Path) -> None:
    """Version 4: no serial on page decisions (and the view without it), no scattered, edge, ink_level or
    edge_around score, no image kept as scanned."""
    old = tmp_path / "old.db"
    old_store(old)
    connection = sqlite3.connect(old)
    connection.executescript(
        "DROP VIEW effective_readings; DROP VIEW current_page_decisions;"
        "ALTER TABLE page_decisions DROP COLUMN serial;"
        "ALTER TABLE box_scores DROP COLUMN scattered;"
        "ALTER TABLE box_scores DROP COLUMN edge;"
        "ALTER TABLE box_scores DROP COLUMN ink_level;"
        "ALTER TABLE box_scores DROP COLUMN edge_around;"
        "ALTER TABLE page_images DROP COLUMN as_scanned;"
        "CREATE VIEW current_page_decisions AS SELECT d.id, d.page_id FROM page_decisions AS d;"
        "PRAGMA user_version = 4;"
    )
    connection.close()
    open_store(old).close()
    open_store(tmp_path / "fresh.db").close()
    assert tables(old) == tables(tmp_path / "fresh.db")
    assert views(old) == views(tmp_path / "fresh.db")


def test_the_stores_reasons_are_the_programs_codes(tmp_path: Path) -> None:
    """A page's or file's reason and a row's reason refer to the code tables, which hold every code the program
    writes (and only those, on a fresh store): a code that is not one is refused by the store itself."""
    store = open_store(tmp_path / "fresh.db")
    assert {row[0] for row in store.db.execute("SELECT code FROM page_reasons")} == {str(code) for code in Why}
    assert {row[0] for row in store.db.execute("SELECT code FROM row_reasons")} == {"", *(str(c) for c in RowWhy)}
    store.db.execute("INSERT INTO sessions (name, created_at) VALUES ('2026H1', 't')")
    try:
        store.db.execute(
            "INSERT INTO files (session, path, status, reason_code, added_at) "
            "VALUES ('2026H1', 'x', 'unreadable', 'not a code', 't')"
        )
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a reason that is no code was stored")
    store.close()


def test_score_columns_are_the_box_scores_fields_and_the_tables(tmp_path: Path) -> None:
    """Scores are written and read by name: the table has exactly BoxScore's fields (rescore builds BoxScores
    from the stored columns by name)."""
    assert tuple(field.name for field in fields(BoxScore)) == SCORE_COLUMNS
    store = open_store(tmp_path / "fresh.db")
    columns = [row[1] for row in store.db.execute("PRAGMA table_info(box_scores)")]
    store.close()
    assert columns == ["page_id", *SCORE_COLUMNS]
