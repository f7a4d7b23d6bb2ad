"""The store's connection: transactions, consistent reads, rows by column name, the time stamps it writes.

Every concern of the store (:mod:`.templates`, :mod:`.printing`, :mod:`.reading`, :mod:`.results`,
:mod:`.review`) builds on :class:`StoreCore`; :mod:`.database` opens the file and assembles them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from pipeline.common.reasons import PageReason, Why


def now() -> str:
    """The time stamp written with a record: UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreError(Exception):
    """The store cannot be used (newer schema, cannot be opened): ``key`` names the words saying what to do
    (:mod:`pipeline.common.cli_words`), ``detail`` what they show."""

    def __init__(self, key: str, **detail: Any) -> None:
        super().__init__(key, detail)
        self.key = key
        self.detail = detail


class StoreCore:
    """A connection to the store (see :func:`pipeline.store.database.open_store`)."""

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

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """BEGIN (deferred, so a writer is never blocked) … COMMIT: reads inside see one state of the store."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    def named(self, sql: str, parameters: tuple[Any, ...] = ()) -> Iterator[sqlite3.Row]:
        """The rows of a query, each read by column name."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(sql, parameters)


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound=StoreCore)


def one_snapshot(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a method's several SELECTs in one read transaction, so that they all see the store as it was at
    one moment even while a scan in another process commits pages."""

    def wrapper(store: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with store.snapshot():
            return method(store, *args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


def reason_columns(reason: PageReason | None) -> tuple[str | None, str]:
    """A reason as the store keeps it: (code, detail as JSON); (NULL, '{}') for none."""
    if reason is None:
        return None, "{}"
    return str(reason.code), json.dumps(dict(reason.detail), ensure_ascii=False, sort_keys=True)


def stored_reason(code: str | None, detail: str) -> PageReason | None:
    """A reason as the store kept it (:func:`reason_columns`); a code this program does not know (written by a
    newer one) is shown as it is."""
    if not code:
        return None
    try:
        return PageReason(Why(code), json.loads(detail or "{}"))
    except ValueError:
        return PageReason.of(Why.LEGACY, text=code)
