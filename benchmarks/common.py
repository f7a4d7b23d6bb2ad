"""Shared set-up for the benchmarks: print ballots into a fresh store, simulate a filled batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.ballot.layout import Layout, compute_layout
from pipeline.ballot.template import load_template
from pipeline.printing.render import render_ballots
from pipeline.simulation.simulate import Profile, SheetTruth, simulate_batch
from pipeline.store.database import open_store

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "shuangping.yaml"
SESSION = "2026H1"


@dataclass(frozen=True)
class SimulatedBatch:
    db: Path
    scans: Path
    truth: list[SheetTruth]
    layout: Layout


def simulated_batch(
    folder: Path, profile: Profile, copies: int, seed: int, *, file_format: str | None = None, difficulty: str = "mixed"
) -> SimulatedBatch:
    folder.mkdir(parents=True, exist_ok=True)
    template = load_template(TEMPLATE)
    store = open_store(folder / "ballots.db")
    serials = store.issue_serials(SESSION, template, copies, "bench.pdf")
    store.close()
    pdf = folder / "ballots.pdf"
    render_ballots(template, SESSION, serials, pdf)
    layout = compute_layout(template)
    truth = simulate_batch(
        pdf,
        layout,
        folder / "scans",
        profile=profile,
        seed=seed,
        file_format=file_format,  # type: ignore[arg-type]
        difficulty=difficulty,  # type: ignore[arg-type]
    )
    return SimulatedBatch(folder / "ballots.db", folder / "scans", truth, layout)


def export_lines(db: Path) -> list[dict]:  # type: ignore[type-arg]
    store = open_store(db)
    try:
        return [json.loads(json.dumps(line)) for line in store.export_pages(SESSION)]
    finally:
        store.close()
