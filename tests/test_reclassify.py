"""benchmarks.reclassify: a kept batch classified again from its stored scores gives the benchmark's own table."""

from __future__ import annotations

from pathlib import Path

from benchmarks.accuracy import Job, evaluate
from benchmarks.common import simulated_batch
from benchmarks.reclassify import job_of, reclassified


def test_a_kept_batch_reclassified_counts_what_its_scan_counted(tmp_path: Path) -> None:
    """A batch scanned by the benchmark and the same batch's store classified again by ``ballot rescore``'s path give
    the same count in every column and the same clear rows flagged, row by row; its profile and conditions are read
    back from its truth."""
    batch = simulated_batch(tmp_path / "00", "phone", 6, 29, conditions=("erasure",))
    scanned = evaluate(batch, Job(("erasure",), "phone"), jobs=1)
    assert scanned.counts["rows"] == 66 and scanned.counts["ambiguous"] > 0  # erasures to be asked about
    again = reclassified(tmp_path / "00")
    assert again.job == Job(("erasure",), "phone") == job_of(batch.truth)
    assert again.counts == scanned.counts
    assert again.flagged == scanned.flagged and again.misreads == scanned.misreads
