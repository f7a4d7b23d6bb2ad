"""Real forms benchmark: ``from-scan`` and reading on forms other people made and scanned for other tools.

The forms are in ``shared/real-forms/`` beside the checkout (its README names their sources); what each
filled page says was written down by looking at it, in ``tests/fixtures/real-forms/<form>.json`` (never taken
from those projects' own outputs). For each form the template is proposed from the page the fixture names
(a blank where there is one, else a filled copy), then every listed page is read with it:

    .venv/bin/python -m benchmarks.realforms [--forms crc-patient-survey,...]

prints, per form, the sections and rows found and, over the rows whose truth is certain, how many were read
right, sent to a clerk, or read wrong without a word (the number that must be 0); rows a person could
hesitate over ('?') are counted apart, with how they were read.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "real-forms"
UNSURE = "?"


def real_forms_folder() -> Path | None:
    """``shared/real-forms``: $BALLOT_REAL_FORMS, else beside the checkout or beside any folder above it."""
    if os.environ.get("BALLOT_REAL_FORMS"):
        folder = Path(os.environ["BALLOT_REAL_FORMS"])
        return folder if folder.is_dir() else None
    for parent in (ROOT, *ROOT.parents):
        candidate = parent / "shared" / "real-forms"
        if candidate.is_dir():
            return candidate
    return None


def fixtures() -> list[dict[str, Any]]:
    """Every form's fixture, by name."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("*.json"))]


@dataclass
class FormResult:
    """What reading one form's filled pages gave, against what was written down by looking."""

    form: str
    sections: list[int]  # rows per section of the proposed template
    pages: int = 0
    foreign: int = 0  # pages of another form (all must be rejected)
    rejected: list[str] = field(default_factory=list)
    right: int = 0
    clerk: int = 0  # certain rows sent to a clerk (pending)
    wrong: list[str] = field(default_factory=list)  # certain rows read as something else, silently
    unsure: Counter[str] = field(default_factory=Counter)  # how rows whose truth is '?' were read
    unsure_rows: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def certain(self) -> int:
        return self.right + self.clerk + len(self.wrong)


def propose(spec: dict[str, Any], folder: Path, *, filled: bool = False) -> Any:
    """The template ``from-scan`` proposes from the fixture's blank (or, with ``filled``, its filled page)."""
    from pipeline.forms.draft import proposal_template
    from pipeline.forms.proposal import scan_blank
    from pipeline.forms.proposed import FormNotFound

    made = spec["template"]
    source = {**made, **spec["filled_template"]} if filled else made
    page = load_page(folder / source["file"], int(source["page"]))
    proposal = scan_blank(
        page, lang=made.get("lang", "eng"), options=tuple(made.get("options", ())), choice_per=made["choice_per"]
    )
    if isinstance(proposal, FormNotFound):
        raise AssertionError(f"{spec['form']}: no form found: {proposal.reason}")
    template, _ = proposal_template(proposal, spec["form"][:32])
    return template


def load_page(path: Path, page_no: int) -> Any:
    from pipeline.reading.ingest import ScanPage, inspect_file, read_page

    info = inspect_file(path)
    page = read_page(path, info, page_no)  # type: ignore[arg-type]
    assert isinstance(page, ScanPage), page
    return page


def measure(spec: dict[str, Any], folder: Path) -> FormResult:
    """Propose the form's template and read every listed page with it."""
    from pipeline.forms.read import read_form_sheet
    from pipeline.reading.outcome import SheetRead
    from pipeline.reading.settings import load_settings

    started = time.perf_counter()
    template = propose(spec, folder)
    result = FormResult(spec["form"], [len(section.rows) for section in template.sections])
    settings = load_settings()
    units = [row.unit for section in template.sections for row in section.rows]
    options = {row.unit: section.all_options for section in template.sections for row in section.rows}
    for page_spec in spec["pages"]:
        name = f"{page_spec['file']}:{page_spec['page']}"
        page = load_page(folder / page_spec["file"], int(page_spec["page"]))
        read = read_form_sheet(page, "BENCH", [template], settings)
        result.pages += 1
        if page_spec.get("other_form"):  # a page of another form: read as this one, every row would be wrong
            result.foreign += 1
            if isinstance(read, SheetRead):
                result.wrong.append(f"{name}: another form, read as this one")
            continue
        if not isinstance(read, SheetRead):
            result.rejected.append(f"{name}: {read.reason.code}")
            continue
        readings = {reading.unit: reading for reading in read.readings}
        for unit, truth in zip(units, page_spec["rows"], strict=False):
            reading = readings[unit]
            got: str | int | None = reading.choice if reading.reading == "choice" else reading.reading
            got = None if got == "blank" else got
            if isinstance(truth, int) and reading.reading == "choice":  # the option by its place (OCR'd names)
                got = options[unit].index(str(reading.choice)) + 1
            if truth == UNSURE:
                result.unsure[str(got)] += 1
                result.unsure_rows.append(f"{name} {unit}: read {got}")
            elif reading.reading == "pending":
                result.clerk += 1
            elif got == truth:
                result.right += 1
            else:
                result.wrong.append(f"{name} {unit}: read {got}, is {truth}")
    result.seconds = time.perf_counter() - started
    return result


def table(results: Sequence[FormResult]) -> Iterator[str]:
    yield (
        f"{'form':<24} {'rows found':<22} {'pages':>5} {'foreign':>7} {'rejected':>8} {'certain':>7} {'right':>6} "
        f"{'clerk':>6} {'wrong':>6} {'unsure →':<28} {'s':>5}"
    )
    for r in results:
        unsure = ", ".join(f"{k}×{v}" for k, v in sorted(r.unsure.items())) or "-"
        found = "+".join(map(str, r.sections))[:22]
        yield (
            f"{r.form:<24} {found:<22} {r.pages:>5} {r.foreign:>7} {len(r.rejected):>8} {r.certain:>7} {r.right:>6} "
            f"{r.clerk:>6} {len(r.wrong):>6} {unsure[:28]:<28} {r.seconds:>5.0f}"
        )
        for line in r.rejected + r.wrong:
            yield f"    {line}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forms", default="", help="comma-separated form names (default: every fixture)")
    parser.add_argument("--unsure", action="store_true", help="list how each row whose truth is '?' was read")
    args = parser.parse_args(argv)
    folder = real_forms_folder()
    if folder is None:
        raise SystemExit("shared/real-forms not found (set BALLOT_REAL_FORMS)")
    wanted = set(filter(None, args.forms.split(",")))
    results = [measure(spec, folder) for spec in fixtures() if not wanted or spec["form"] in wanted]
    for line in table(results):
        print(line)
    if args.unsure:
        for result in results:
            for line in result.unsure_rows:
                print(f"    ? {line}")


if __name__ == "__main__":
    main()
