"""Rescore: classify a session's stored box scores again with (possibly new) settings.

Nothing is overwritten: a new classification is stored beside the old ones, and the newest is current.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.reading.classify import classify_page
from pipeline.reading.score import BoxScore
from pipeline.reading.settings import ReadingSettings
from pipeline.store.base import Store


def rescore(store: Store, session: str, settings: ReadingSettings) -> tuple[int, int]:
    """Return (rows whose reading changed, rows classified)."""
    before = _current(store, session)
    classification = store.classification_for(session, store.register_settings(settings), fresh=True)
    readings: dict[int, Sequence[tuple[str, str, str | None, str]]] = {}
    for page_id, stored in store.stored_scores(session).items():
        scores = [BoxScore(*score) for score in stored]
        readings[page_id] = [(r.unit, r.reading, r.choice, r.reason) for r in classify_page(scores, settings)]
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
