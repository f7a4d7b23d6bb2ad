"""The whole job on a simulated batch with known intent: print → fill → scan → a clerk settles every
flagged row → report. The spreadsheet, read back with openpyxl, must hold exactly the expected counts."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from benchmarks.common import SESSION, simulated_batch
from pipeline.ballot.template import CATEGORY_ROW
from pipeline.cli import main
from pipeline.reading.settings import load_settings
from pipeline.scanning.batch import scan
from pipeline.store.database import open_store

OPTIONS = ("满意", "基本满意", "不满意")


def test_simulated_batch_to_spreadsheet(tmp_path: Path) -> None:
    batch = simulated_batch(tmp_path / "batch", "office", 12, seed=5, file_format="jpeg")
    store = open_store(batch.db)
    summary = scan([batch.scans], store, SESSION, load_settings())
    assert summary.outcomes["read"] == 12
    truth = {sheet.serial: {row.unit: row.intent for row in sheet.rows} for sheet in batch.truth}

    refused = CliRunner().invoke(
        main, ["report", "--session", SESSION, "--db", str(batch.db), "-o", str(tmp_path / "x.xlsx")]
    )
    flagged = store.flagged_rows(SESSION)
    if flagged:
        assert refused.exit_code == 2 and "待复核" in refused.output
    for row in flagged:
        intent = truth[row.serial][row.state.unit]
        kind, choice = (
            ("choice", intent)
            if intent not in ("blank", "overvote")
            else (("blank", None) if intent == "blank" else ("void", None))
        )
        store.decide_row(SESSION, row.state.page_id, row.state.unit, kind, choice, "测试员", row.state.version)  # type: ignore[arg-type]
    assert store.pending_rows(SESSION) == 0

    expected: dict[str, Counter[str]] = {}
    for rows in truth.values():
        for unit, intent in rows.items():
            if unit != CATEGORY_ROW:
                expected.setdefault(unit, Counter())[intent] += 1

    assert (
        CliRunner()
        .invoke(main, ["session", "set", "--session", SESSION, "--issued", "12", "--db", str(batch.db)])
        .exit_code
        == 0
    )
    report = tmp_path / "result.xlsx"
    result = CliRunner().invoke(main, ["report", "--session", SESSION, "--db", str(batch.db), "-o", str(report)])
    assert result.exit_code == 0, result.output

    sheet = openpyxl.load_workbook(report)["测评结果"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(row for row in rows if "单位名称" in row)
    column = {name: header.index(name) for name in ("单位名称", "有效票", "满意", "基本满意", "不满意", "满意率")}
    seen = set()
    for row in rows:
        unit = row[column["单位名称"]]
        if unit not in expected:
            continue
        seen.add(unit)
        counts = expected[unit]
        valid = sum(counts[option] for option in OPTIONS)
        assert row[column["满意"]] == counts["满意"], unit
        assert row[column["基本满意"]] == counts["基本满意"], unit
        assert row[column["不满意"]] == counts["不满意"], unit
        assert row[column["有效票"]] == valid, unit
        assert abs(float(row[column["满意率"]]) - float(Fraction(counts["满意"], valid))) < 1e-9, unit
    assert seen == set(expected)
    decisions = openpyxl.load_workbook(report)["复核记录"]
    assert decisions.max_row >= len(flagged)
