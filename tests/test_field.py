"""Field samples (issue 19): ballots of our template filled and captured by a simulator that is not ours.

The images and their truth are in ``shared/field-samples/`` beside the checkout (not copied into the project). The
rule under test is the first promise: no row a careful person reads at a glance is read as something else without
a clerk, on any kind of capture. How many rows go to a clerk, and how many pages are refused, is measured by
benchmarks/field.py (and quoted in the README): those are not held to a number here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.field import SAMPLES, evaluate

pytestmark = pytest.mark.skipif(
    not (SAMPLES / "ballots.db").exists(), reason="shared/field-samples not found beside the checkout"
)


@pytest.mark.parametrize("kind", ["office", "fax", "phone", "bad"])
def test_no_row_of_the_field_samples_is_read_wrong_without_a_clerk(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "ballots.db"
    shutil.copy(SAMPLES / "ballots.db", db)
    result = evaluate(SAMPLES / kind, db, kind)
    assert result.pages == 10
    assert result.misread == []
    assert result.typed is not None and result.typed.misread == []  # rows read for a clerk who types the serial
    # Most clear rows are read without a clerk: a reader that asked about everything would pass the first assertion.
    assert result.correct >= 0.8 * result.clear, result
