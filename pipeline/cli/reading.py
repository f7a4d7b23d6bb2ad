"""``ballot scan | rescore | export | status``: read scans into the store and get them out again."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from pipeline.cli.common import (
    EXIT_ATTENTION,
    current_lang,
    db_option,
    fail,
    invalid,
    open_db,
    read_template,
    say,
    session_option,
    words,
)

if TYPE_CHECKING:
    from pipeline.reading.settings import ReadingSettings
    from pipeline.store.reading import PageExport

settings_option = click.option(
    "--settings",
    "settings_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Reading settings (default: templates/settings/reading.yaml).",
)


def _settings(settings_file: Path | None) -> ReadingSettings:
    from pipeline.ballot.template import TemplateInvalid
    from pipeline.reading.settings import load_settings

    try:
        return load_settings(settings_file)
    except TemplateInvalid as error:
        invalid("settings_invalid", error)


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@session_option
@db_option
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: all cores).")
@click.option("--debug-dir", type=click.Path(file_okay=False, path_type=Path), help="Write an overlay per page.")
@click.option(
    "--form",
    "form_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="An existing office form (made by `ballot template from-scan`) whose filled copies are among PATHS; "
    "repeatable. Remembered for the session.",
)
@settings_option
def scan_command(
    paths: tuple[Path, ...],
    session: str,
    db_path: Path | None,
    jobs: int | None,
    debug_dir: Path | None,
    form_files: tuple[Path, ...],
    settings_file: Path | None,
) -> None:
    """Read every page of PATHS (files or folders: PDF, TIFF, JPEG, PNG, HEIC) into the store.

    Our own ballots are recognised by their QR code. Copies of an existing office form have none: name the
    form with --form (once per session; later scans of the session remember it). Such copies carry no
    serial, so a sheet is known to be counted twice only when the very same image (or file) comes again.

    Exit status: 0 when every page was read or was a blank back page (rows flagged for review included);
    2 when any file or page was rejected (unreadable, wrong session or template, unknown serial,
    duplicate) — each is stored with its reason (see `ballot status`, `ballot export`).

    \b
    Example:
      ballot scan scans/ --session 2026H1
      ballot scan office-scans/ --session 2026H1 --form templates/our-form.yaml
    """
    from pipeline.common.messages import outcome_name, page_reason, skipped_file
    from pipeline.scanning.batch import scan
    from pipeline.store.templates import FormConflictError

    store = open_db(db_path)
    settings = _settings(settings_file)
    lang = current_lang()
    for form_file in form_files:
        form = read_template(form_file)
        if form.source != "external":
            fail("form_is_ours", path=form_file)
        try:
            store.use_form(session, form, str(form_file))
        except FormConflictError as error:
            fail("form_conflict", form=form.id, session=session, old=error.old[:8], new=error.new[:8])
    with click.progressbar(length=1, label=words("reading"), file=sys.stderr, show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        summary = scan(
            list(paths),
            store,
            session,
            settings,
            jobs=jobs or os.cpu_count() or 1,
            debug_dir=debug_dir,
            on_page=progress,
        )
    say("scan_totals", files=summary.files, pages=sum(summary.outcomes.values()))
    for outcome, count in sorted(summary.outcomes.items()):
        say("outcome_line", outcome=outcome_name(outcome, lang), count=count)
    for path, other, earlier in summary.files_skipped:
        say("skipped", path=path, why=skipped_file(other, earlier, lang))
    for path, why in summary.files_unreadable:
        say("file_unreadable", path=path, reason=page_reason(why, lang))
    for path, page, outcome, reason in summary.rejected[:50]:
        said = f" — {page_reason(reason, lang)}" if reason else ""
        say("page_not_counted", path=path, page=page, outcome=outcome_name(outcome, lang), said=said)
    say("rows_pending", count=summary.rows_pending)
    if summary.needs_attention:
        raise SystemExit(EXIT_ATTENTION)


@click.command("rescore")
@session_option
@db_option
@settings_option
def rescore_command(session: str, db_path: Path | None, settings_file: Path | None) -> None:
    """Re-classify the session's stored box scores with the current settings (no image is read again).

    The earlier readings stay in the store beside the new ones; a clerk's decisions are kept.

    \b
    Example:
      ballot rescore --session 2026H1 --settings my-reading.yaml
    """
    from pipeline.scanning.rescore import rescore

    store = open_db(db_path)
    changed, total = rescore(store, session, _settings(settings_file))
    say("rescored", total=total, changed=changed, pending=store.pending_rows(session))


@click.command("export")
@session_option
@db_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
def export_command(session: str, db_path: Path | None, fmt: str, output: Path | None) -> None:
    """Every page's outcome and every row's reading: JSON lines (one per page) or CSV (one per row).

    \b
    Example:
      ballot export --session 2026H1 --format csv -o 2026H1-readings.csv
    """
    store = open_db(db_path)
    pages = store.export_pages(session, current_lang())
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "jsonl":
            for page in pages:
                handle.write(json.dumps(page, ensure_ascii=False) + "\n")
        else:
            _write_csv(handle, pages)
    finally:
        if output:
            handle.close()


def _write_csv(handle: TextIO, pages: list[PageExport]) -> None:
    from pipeline.counting.report import csv_cell

    options: list[str] = []
    for page in pages:
        for row in page["rows"].values():
            options += [option for option in row["scores"] if option not in options]
    # Every cell through csv_cell: a unit, a file name or a reason starting with "=" would be a formula to Excel.
    writer = csv.writer(handle)
    writer.writerow(["source", "page", "serial", "outcome", "unit", "reading", "reason", *map(csv_cell, options)])
    for page in pages:
        rows = page["rows"]
        head = [page["source"], page["page"], page["serial"] or "", page["outcome"]]
        if not rows:
            writer.writerow([csv_cell(cell) for cell in [*head, "", "", page["reason"]]])
        for unit, row in rows.items():
            scores = [row["scores"].get(option, "") for option in options]
            writer.writerow([csv_cell(cell) for cell in [*head, unit, row["reading"], row["reason"], *scores]])


@click.command("status")
@session_option
@db_option
def status_command(session: str, db_path: Path | None) -> None:
    """Pages per outcome, how many rows await a clerk's review, and the pages not counted still to settle.

    \b
    Example:
      ballot status --session 2026H1
    """
    from pipeline.common.messages import outcome_name, page_reason

    store = open_db(db_path)
    lang = current_lang()
    counts = store.outcome_counts(session)
    if not counts:
        say("nothing_scanned", session=session)
        return
    say("status_session", session=session)
    for outcome, count in sorted(counts.items()):
        say("outcome_line", outcome=outcome_name(outcome, lang), count=count)
    pending, category = store.pending_rows(session), store.pending_rows(session, category=True)
    of_which = words("of_them_category", count=category) if category else ""
    click.echo(words("rows_pending", count=pending) + of_which)
    # Pages the machine did not count (but those a clerk counted by hand): settled, or not yet (no final report).
    rejected = [
        page
        for page in store.review_pages(session, rejected=True)
        if page.state.decision is None or page.state.decision.kind != "count"
    ]
    unsettled = [page for page in rejected if page.state.decision is None]
    say("pages_not_counted", count=len(rejected), open=len(unsettled))
    for page in unsettled:
        reason = page_reason(page.reason, lang) if page.reason else ""
        name, outcome = Path(page.source).name, outcome_name(page.outcome, lang)
        say("page_unsettled", path=name, page=page.page_no, outcome=outcome, reason=reason)


commands = [scan_command, rescore_command, export_command, status_command]


@click.command("contact-sheet")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@db_option
@settings_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG file.")
def contact_sheet_command(
    paths: tuple[Path, ...], db_path: Path | None, settings_file: Path | None, output: Path
) -> None:
    """Write every checkbox crop of PATHS sorted by fill score, with the thresholds drawn (for tuning).

    PATHS are scanned ballots (files or folders) of templates printed with this store; nothing is stored.

    \b
    Example:
      ballot contact-sheet scans/ -o contact-sheet.png
    """
    import cv2

    from pipeline.scanning.contact import collect_crops, draw_contact_sheet

    store = open_db(db_path)
    settings = _settings(settings_file)
    crops = collect_crops(list(paths), store.catalog(), settings)
    if not crops:
        fail("no_ballot_found")
    output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(output), draw_contact_sheet(crops, settings))
    say("contact_written", count=len(crops), path=output)


commands.append(contact_sheet_command)
