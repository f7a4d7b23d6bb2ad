"""The store's schema: an older store is brought up to date when opened, views and all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipeline.store.base import SCHEMA_VERSION, open_store


def views(path: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(path)
    found = sorted(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())
    connection.close()
    return found


def test_a_store_of_the_previous_version_is_migrated_when_opened(tmp_path: Path) -> None:
    open_store(tmp_path / "fresh.db").close()
    old = tmp_path / "old.db"
    open_store(old).close()
    # Take it back to version 4: no serial on page decisions, the view without it, no scattered, edge, ink_level
    # or edge_around score, no image kept as scanned.
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

    store = open_store(old)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "serial" in [row[1] for row in store.db.execute("PRAGMA table_info(page_decisions)")]
    columns = {row[1] for row in store.db.execute("PRAGMA table_info(box_scores)")}
    assert {"scattered", "edge", "ink_level", "edge_around"} <= columns
    assert "as_scanned" in [row[1] for row in store.db.execute("PRAGMA table_info(page_images)")]
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    assert views(old) == views(tmp_path / "fresh.db")  # every view as schema.sql makes it, effective_readings too
