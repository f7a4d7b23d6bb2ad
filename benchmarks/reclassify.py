"""Reclassify kept batches: the accuracy benchmark's table again, from the box scores already stored.

``benchmarks.accuracy --keep FOLDER`` leaves each batch in ``FOLDER/NN``: its store (``ballots.db``, the pages read
and their box scores) and its scans with the simulator's ``truth.jsonl``. A change to the classifier (the rules that
turn box scores into readings, :mod:`pipeline.reading.classify`) needs no new scan to be measured: each batch's store
is copied, its scores classified again as ``ballot rescore`` does (:func:`pipeline.scanning.rescore.rescore`, with
the settings of ``templates/``), and every row compared with the truth as the benchmark does
(:func:`benchmarks.accuracy.compare`). A hundred batches take a minute or two, where scanning them again takes hours.

The scorer's numbers are the stored ones: a change to scoring (:mod:`pipeline.reading.score`), alignment or the
simulator needs the benchmark itself. Sheets read but for their serial (for a clerk to type it) are classified again
too, as ``rescore`` does.

    .venv/bin/python -m benchmarks.reclassify /tmp/kept/[0-9]*
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import cast

from benchmarks.accuracy import Job, Result, compare, header, report
from benchmarks.common import SESSION
from pipeline.reading.settings import ReadingSettings, load_settings
from pipeline.scanning.rescore import rescore
from pipeline.simulation.simulate import SheetTruth
from pipeline.simulation.truth import load_truth
from pipeline.store.database import open_store


def job_of(truth: list[SheetTruth]) -> Job:
    """The batch's profile and conditions, as the simulator recorded them for its first sheet."""
    degradation = truth[0].degradation if truth else {}
    conditions = cast(Sequence[str], degradation.get("conditions") or ())
    return Job(tuple(conditions), str(degradation.get("profile", "?")))


def reclassified(folder: Path, settings: ReadingSettings | None = None) -> Result:
    """The batch kept in ``folder`` classified again from a copy of its store with ``settings`` (the shipped ones
    unless given), and compared with its truth."""
    truth = load_truth(folder / "scans")
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "ballots.db"
        # SQLite's backup reads through the kept store's write-ahead log, which a copy of its file would miss.
        with closing(sqlite3.connect(folder / "ballots.db")) as kept, closing(sqlite3.connect(db)) as copy:
            kept.backup(copy)
        store = open_store(db)
        started = time.perf_counter()
        rescore(store, SESSION, settings or load_settings())
        store.close()
        return compare(db, truth, job_of(truth), time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="kept batches (FOLDER/NN of `--keep FOLDER`)")
    args = parser.parse_args()
    header()
    totals: Counter[str] = Counter()
    batches = 0
    settings = load_settings()
    for folder in args.folders:
        if not (folder / "ballots.db").is_file() or not (folder / "scans").is_dir():
            continue  # e.g. the printed ballots' folder beside the batches
        result = reclassified(folder, settings)
        report(result, f"{folder.name} {result.job.name}"[:22])
        totals.update(result.counts)
        batches += 1
    clear = totals["clear"] or 1
    print(
        f"batches {batches}; rows {totals['rows']}; silent misreads {totals['misread']}; clear rows flagged "
        f"{totals['flagged_clear']} ({100 * totals['flagged_clear'] / clear:.1f} %); ambiguous rows read "
        f"{totals['ambiguous_read']} of {totals['ambiguous']}"
    )


if __name__ == "__main__":
    main()
