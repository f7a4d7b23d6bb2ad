"""Rescore: classify a session's stored box scores again with (possibly new) settings.

Nothing is overwritten: a new classification is stored beside the old ones, and the newest is current.
"""

from __future__ import annotations

from pipeline.reading.classify import classify_page
from pipeline.reading.settings import ReadingSettings
from pipeline.store.database import Store


def rescore(store: Store, session: str, settings: ReadingSettings) -> tuple[int, int]:
    """Return (rows whose reading changed, rows classified)."""
    before = _current(store, session)
    classification = store.classification_for(session, store.register_settings(settings), fresh=True)
    readings = {page_id: classify_page(scores, settings) for page_id, scores in store.stored_scores(session).items()}
    store.save_classification(classification, readings)
    after = _current(store, session)
    changed = sum(1 for key, value in after.items() if before.get(key) != value)
    return changed, len(after)


def _current(store: Store, session: str) -> dict[tuple[str, int, str], str]:
    return {
        (page["source"], page["page"], unit): row["reading"]
        for page in store.export_pages(session)
        if page["outcome"] == "read"
        for unit, row in page["rows"].items()
    }
