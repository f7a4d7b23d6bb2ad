"""Shared set-up for the benchmarks: print ballots into a fresh store, simulate a filled batch."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.ballot.layout import Layout, compute_layout
from pipeline.ballot.template import load_template
from pipeline.common.reasons import Why
from pipeline.printing.render import render_ballots
from pipeline.simulation.simulate import Profile, SheetTruth, simulate_batch
from pipeline.store.database import open_store

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "shuangping.yaml"
#: Refused pages whose rows were read all the same, for the clerk who types the serial the paper shows (its code and
#: printed serial illegible, or the serial read from the print matching none issued): scored on a line of their own.
FOR_THE_CLERK = frozenset({Why.SERIAL_TO_TYPE, Why.SERIAL_TEXT_UNKNOWN})
SESSION = "2026H1"


@dataclass(frozen=True)
class SimulatedBatch:
    db: Path
    scans: Path
    truth: list[SheetTruth]
    layout: Layout


@dataclass(frozen=True)
class Printed:
    """Ballots printed once into a store: copy both to simulate several batches of the same sheets."""

    db: Path
    pdf: Path


def print_ballots(folder: Path, copies: int, seed: int | None = None) -> Printed:
    """Issue ``copies`` serials in a fresh store in ``folder`` and print them (one PDF page each). With a ``seed``,
    the same serials in the same order every time: the code's modules differ from serial to serial, and with them
    what a capture does to the sheet, so two versions of the reader are compared on the very same pages."""
    folder.mkdir(parents=True, exist_ok=True)
    template = load_template(TEMPLATE)
    store = open_store(folder / "ballots.db")
    draw = random.Random(seed) if seed is not None else None
    serials = store.issue_serials(SESSION, template, copies, "bench.pdf", draw=draw)
    store.close()
    render_ballots(template, SESSION, serials, folder / "ballots.pdf")
    return Printed(folder / "ballots.db", folder / "ballots.pdf")


def simulated_batch(
    folder: Path,
    profile: Profile,
    copies: int,
    seed: int,
    *,
    file_format: str | None = None,
    difficulty: str = "mixed",
    conditions: Sequence[str] = (),
    printed: Printed | None = None,
) -> SimulatedBatch:
    """Print ``copies`` ballots into a store in ``folder`` (or copy ``printed`` there), then fill and capture
    them as ``profile`` under ``conditions``."""
    folder.mkdir(parents=True, exist_ok=True)
    if printed is None:
        printed = print_ballots(folder, copies, seed)
    else:
        shutil.copyfile(printed.db, folder / "ballots.db")
    layout = compute_layout(load_template(TEMPLATE))
    truth = simulate_batch(
        printed.pdf,
        layout,
        folder / "scans",
        profile=profile,
        seed=seed,
        pages=copies,
        file_format=file_format,  # type: ignore[arg-type]
        difficulty=difficulty,  # type: ignore[arg-type]
        conditions=conditions,
    )
    return SimulatedBatch(folder / "ballots.db", folder / "scans", truth, layout)


def export_lines(db: Path) -> list[dict]:  # type: ignore[type-arg]
    store = open_store(db)
    try:
        return [json.loads(json.dumps(line)) for line in store.export_pages(SESSION)]
    finally:
        store.close()
