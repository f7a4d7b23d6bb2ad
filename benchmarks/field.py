"""Field benchmark: ballots filled and captured by a simulator that is not ours, scored against its truth.

Reads folders in the format of ``../shared/field-samples/`` (a ``ballots.db`` the sheets were printed into,
and per capture kind a folder of images with ``truth.jsonl``), scans each folder into a copy of the store and
compares every row with what a careful person would read (the truth's ``rows``):

- a row whose truth is an option, ``blank`` or ``overvote`` read as anything else without a clerk is a
  **silent misread**;
- sent to a clerk, it is a *flag*: *prudent* when the row holds a faint, erased, crossed-out, stray or dot mark,
  else a *clear row flagged* (the cost the targets limit);
- an ``ambiguous`` row read without a clerk is a *miss*.

A refused page whose rows were read all the same (``serial_to_type``: neither its code nor its serial legible, the
clerk types the serial and checks the rows) stays refused; its rows are scored on a line of their own.

    .venv/bin/python -m benchmarks.field [--samples ../shared/field-samples] [--kinds office,fax,phone,bad] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import FOR_THE_CLERK
from pipeline.ballot.template import CATEGORY_ROW
from pipeline.reading.settings import load_settings
from pipeline.scanning.batch import scan
from pipeline.store.database import open_store
from pipeline.store.reading import PageExport

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "field-samples"
SESSION = "2026H1"
DOUBTFUL_MARKS = frozenset({"faint", "erased", "crossed_out", "stray", "dot"})


@dataclass
class Result:
    kind: str
    pages: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # reason code → pages
    rows: int = 0
    clear: int = 0  # rows a careful person reads at a glance, on read pages
    misread: list[str] = field(default_factory=list)
    flagged_clear: Counter[str] = field(default_factory=Counter)  # reason code → rows
    flagged_where: list[str] = field(default_factory=list)
    prudent: int = 0
    missed: list[str] = field(default_factory=list)
    correct: int = 0
    typed: Result | None = None  # the rows of refused pages read but for their serial


def unit_of(row: str) -> str:
    return CATEGORY_ROW if row.startswith("-1|") else row


def expected(truth: str) -> str:
    """The reading the export gives for a truth value: the option's name, 'blank' or 'overvote'."""
    return truth.split("/", 1)[1] if "/" in truth else truth


def evaluate(folder: Path, db: Path, kind: str) -> Result:
    store = open_store(db)
    try:
        scan([folder], store, SESSION, load_settings(), jobs=2)
        lines = {Path(line["source"]).name: line for line in store.export_pages(SESSION, "en")}
    finally:
        store.close()
    result = Result(kind, typed=Result(kind))
    for text in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(text)
        result.pages += 1
        line = lines.get(truth["file"])
        if line is None or line["outcome"] != "read":
            result.refused[line["reason_code"] if line else "missing"] += 1
            if line is not None and line["reason_code"] in FOR_THE_CLERK and result.typed is not None:
                result.typed.pages += 1
                score_rows(result.typed, truth, line)
            continue
        score_rows(result, truth, line)
    return result


def score_rows(result: Result, truth: dict[str, Any], line: PageExport) -> None:
    """Score every row of one page's ``line`` against its ``truth`` into ``result``."""
    for row, meant in truth["rows"].items():
        result.rows += 1
        unit = unit_of(row)
        got = line["rows"][unit]
        marks = {mark for key, mark in truth["boxes"].items() if key.startswith(f"{row}/")}
        doubtful = bool(marks & DOUBTFUL_MARKS)
        where = f"{truth['file']} {unit}: truth {meant}, read {got['reading']}"
        if meant == "ambiguous":
            if got["reading"] == "pending":
                result.prudent += 1
            else:
                result.missed.append(f"{where} (hint {truth.get('hints', {}).get(row)}, marks {sorted(marks)})")
            continue
        if not doubtful:
            result.clear += 1
        if got["reading"] == "pending":
            if doubtful:
                result.prudent += 1
            else:
                result.flagged_clear[got["reason"]] += 1
                boxes = {k.split("/", 1)[1]: m for k, m in truth["boxes"].items() if k.startswith(f"{row}/")}
                result.flagged_where.append(f"{where} because {got['reason']} (boxes {boxes})")
        elif got["reading"] == expected(meant):
            result.correct += 1
        else:
            result.misread.append(f"{where} (marks {sorted(marks)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--kinds", default="office,fax,phone,bad")
    parser.add_argument("--verbose", action="store_true", help="list every clear row sent to a clerk")
    args = parser.parse_args()
    if not (args.samples / "ballots.db").exists():
        raise SystemExit(f"no field samples at {args.samples} (a ballots.db and one folder per capture kind)")
    print(f"field samples: {args.samples}")
    header = f"{'kind':8s} {'pages':>5s} {'refused':>7s} {'rows':>5s} {'misread':>7s} {'clear flagged':>14s} "
    print(header + f"{'prudent':>7s} {'missed':>6s}")
    print("(a kind's 'serial' line: its refused pages whose rows were read, for a clerk who types the serial)")
    for kind in args.kinds.split(","):
        with tempfile.TemporaryDirectory() as work:
            db = Path(work) / "ballots.db"
            shutil.copy(args.samples / "ballots.db", db)
            result = evaluate(args.samples / kind, db, kind)
        report(result, args.verbose)
        if result.typed is not None and result.typed.pages:
            report(result.typed, args.verbose, label="  serial")


def report(result: Result, verbose: bool, label: str = "") -> None:
    """One line of the table (``label`` for the kind's name), then why pages were refused and rows flagged."""
    flagged = sum(result.flagged_clear.values())
    share = 100 * flagged / result.clear if result.clear else 0.0
    print(
        f"{label or result.kind:8s} {result.pages:5d} {sum(result.refused.values()):7d} {result.rows:5d} "
        f"{len(result.misread):7d} {flagged:5d} ({share:4.1f} %) {result.prudent:7d} {len(result.missed):6d}"
    )
    for reason, count in result.refused.most_common():
        print(f"         refused {count}× {reason}")
    if result.flagged_clear:
        print(
            "         clear rows flagged because: "
            + ", ".join(f"{r} {n}" for r, n in result.flagged_clear.most_common())
        )
    if verbose:
        for line in result.flagged_where:
            print(f"         flagged {line}")
    for line in result.misread:
        print(f"         MISREAD {line}")
    for line in result.missed:
        print(f"         missed (ambiguous read without a clerk) {line}")


if __name__ == "__main__":
    main()
