"""Accuracy benchmark: simulated ballots with known intent, per scanner profile.

For every profile it prints ballots, fills and degrades them with the simulator, scans them and compares
each row's reading with the voter's intent. A row is *misread silently* when the machine gives a definite
reading (an option, blank or overvote) that differs from the intent; *flagged* when it asks a clerk.
Target: 0 silent misreads; flagged ≤ 1 % of rows for office scans and ≤ 3 % for phone photos.

    .venv/bin/python -m benchmarks.accuracy [--ballots 60] [--profiles office,fax,phone,bad] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import SESSION, export_lines, simulated_batch
from pipeline.reading.settings import load_settings
from pipeline.scanning.batch import scan
from pipeline.store.database import open_store


def evaluate(profile: str, ballots: int, seed: int, difficulty: str, work: Path, jobs: int) -> dict[str, object]:
    batch = simulated_batch(work / profile, profile, ballots, seed, difficulty=difficulty)  # type: ignore[arg-type]
    started = time.perf_counter()
    scan([batch.scans], open_store(batch.db), SESSION, load_settings(), jobs=jobs)
    elapsed = time.perf_counter() - started
    by_file = {(Path(line["source"]).name, line["page"]): line for line in export_lines(batch.db)}
    counts: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    misreads: list[str] = []
    flagged_reasons: Counter[str] = Counter()
    for sheet in batch.truth:
        line = by_file.get((sheet.file, sheet.page))
        if line is None or line["outcome"] != "read":
            rejected[f"{line['outcome']}: {line['reason']}" if line else "missing"] += 1
            continue
        for row in sheet.rows:
            counts["rows"] += 1
            got = line["rows"][row.unit]["reading"]
            if not getattr(row, "legible", True) and got != "pending" and got != row.intent:
                counts["lost"] += 1  # the degradation itself erased the mark: no reader could see it
                continue
            if got == "pending":
                counts["flagged"] += 1
                counts["flagged_ambiguous" if row.ambiguous else "flagged_clear"] += 1
                if not row.ambiguous:
                    flagged_reasons[line["rows"][row.unit]["reason"]] += 1
            elif got == row.intent:
                counts["correct"] += 1
            else:
                counts["misread"] += 1
                misreads.append(f"{sheet.file} {row.unit}: intent {row.intent}, read {got}, marks {row.marks}")
    return {
        "profile": profile,
        "pages": len(batch.truth),
        "rejected": rejected,
        "counts": counts,
        "misreads": misreads,
        "flagged_reasons": flagged_reasons,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ballots", type=int, default=60)
    parser.add_argument("--profiles", default="office,fax,phone,bad")
    parser.add_argument("--difficulty", default="mixed", choices=["clean", "mixed", "hard"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"accuracy: {args.ballots} ballots per profile, difficulty {args.difficulty}, seed {args.seed}")
    print(
        f"{'profile':8s} {'pages':>5s} {'rejected':>8s} {'rows':>6s} {'correct':>7s} {'misread':>7s} "
        f"{'flagged':>8s} {'flag%':>6s}"
    )
    total_misread = 0
    with tempfile.TemporaryDirectory() as folder:
        for profile in args.profiles.split(","):
            result = evaluate(profile, args.ballots, args.seed, args.difficulty, Path(folder), args.jobs)
            counts: Counter[str] = result["counts"]  # type: ignore[assignment]
            rows = counts["rows"] or 1
            rejected: Counter[str] = result["rejected"]  # type: ignore[assignment]
            print(
                f"{profile:8s} {result['pages']:5d} {sum(rejected.values()):8d} {counts['rows']:6d} "
                f"{counts['correct']:7d} {counts['misread']:7d} {counts['flagged']:8d} "
                f"{100 * counts['flagged'] / rows:5.1f}%"
                f"   (flagged: {counts['flagged_ambiguous']} ambiguous by design, {counts['flagged_clear']} clear;"
                f" {counts['lost']} marks erased by the degradation itself)"
            )
            for reason, count in rejected.most_common():
                print(f"         rejected {count}× {reason}")
            reasons: Counter[str] = result["flagged_reasons"]  # type: ignore[assignment]
            if reasons:
                print("         clear rows flagged because: " + ", ".join(f"{r} {n}" for r, n in reasons.most_common()))
            for misread in result["misreads"]:  # type: ignore[attr-defined]
                print(f"         MISREAD {misread}")
            total_misread += counts["misread"]
    print(f"silent misreads in total: {total_misread}")


if __name__ == "__main__":
    main()
