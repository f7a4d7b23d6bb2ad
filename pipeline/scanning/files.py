"""Files: the scans under the paths a clerk names, in a stable order, and why a path is not one.

Folders are walked without following links (no loops); hidden files and the project's own outputs (a store, a
truth file, a report) are passed over.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.common.reasons import PageReason, Why
from pipeline.reading.ingest import UnreadableFile

SKIP_SUFFIXES = frozenset({".db", ".db-wal", ".db-shm", ".jsonl", ".json", ".txt", ".md", ".yaml", ".csv"})


def collect_files(paths: Iterable[Path]) -> Iterator[Path | UnreadableFile]:
    """Files under ``paths`` in a stable order; folders are walked without following links (no loops)."""
    for path in paths:
        if path.is_dir():
            for folder, subfolders, names in os.walk(path, followlinks=False):
                subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
                for name in sorted(names):
                    if name.startswith(".") or Path(name).suffix.lower() in SKIP_SUFFIXES:
                        continue
                    yield from _one_file(Path(folder) / name)
        else:
            yield from _one_file(path)


def _one_file(path: Path) -> Iterator[Path | UnreadableFile]:
    if path.is_symlink() and not path.exists():
        yield UnreadableFile(str(path), PageReason.of(Why.LINK_BROKEN))
    elif not path.exists():
        yield UnreadableFile(str(path), PageReason.of(Why.NO_SUCH_FILE))
    elif not path.is_file():
        yield UnreadableFile(str(path), PageReason.of(Why.NOT_A_FILE))
    else:
        yield path
