"""``ballot scan | rescore | export | status``: read scans into the store and get them out again."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from pipeline.cli.common import EXIT_ATTENTION, db_option, fail, open_db, read_template, session_option

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
        fail(f"invalid settings {error.source}\n{error.table()}")


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
    """Read every page of PATHS (files or folders: PDF, TIFF, JPEG, PNG) into the store.

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
    for form_file in form_files:
        form = read_template(form_file)
        if form.source != "external":
            fail(
                f"{form_file} 是本系统印制的测评票模板，靠二维码识别，无需 --form / {form_file} is one of our own "
                "ballot templates: its sheets are recognised by their QR code; --form is for existing office forms"
            )
        try:
            store.use_form(session, form, str(form_file))
        except FormConflictError as error:
            fail(str(error))
    with click.progressbar(length=1, label="读取 / reading", file=sys.stderr, show_pos=True) as bar:

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
    click.echo(f"文件 / files: {summary.files}  页 / pages: {sum(summary.outcomes.values())}")
    for outcome, count in sorted(summary.outcomes.items()):
        click.echo(f"  {outcome:15s} {count}")
    for path, other, earlier in summary.files_skipped:
        click.echo(f"  跳过 / skipped {path}: {skipped_file(other, earlier)}")
    for path, why in summary.files_unreadable:
        click.echo(f"  无法读取 / unreadable file {path}: {page_reason(why)}")
    for path, page, outcome, reason in summary.rejected[:50]:
        said = f" — {page_reason(reason)}" if reason else ""
        click.echo(f"  未计入 / not counted {path} p{page}: {outcome_name(outcome)}{said}")
    click.echo(f"待复核行 / rows awaiting review: {summary.rows_pending}")
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
    click.echo(
        f"重新分类 / re-classified {total} rows; {changed} changed; 待复核 / pending: {store.pending_rows(session)}"
    )


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
    pages = store.export_pages(session)
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
    options: list[str] = []
    for page in pages:
        for row in page["rows"].values():
            options += [option for option in row["scores"] if option not in options]
    writer = csv.writer(handle)
    writer.writerow(["source", "page", "serial", "outcome", "unit", "reading", "reason", *options])
    for page in pages:
        rows = page["rows"]
        if not rows:
            writer.writerow(
                [page["source"], page["page"], page["serial"] or "", page["outcome"], "", "", page["reason"]]
            )
        for unit, row in rows.items():
            scores = [row["scores"].get(option, "") for option in options]
            writer.writerow(
                [
                    page["source"],
                    page["page"],
                    page["serial"],
                    page["outcome"],
                    unit,
                    row["reading"],
                    row["reason"],
                    *scores,
                ]
            )


@click.command("status")
@session_option
@db_option
def status_command(session: str, db_path: Path | None) -> None:
    """Pages per outcome and how many rows await a clerk's review.

    \b
    Example:
      ballot status --session 2026H1
    """
    store = open_db(db_path)
    counts = store.outcome_counts(session)
    if not counts:
        click.echo(f"{session}: 尚未扫描 / nothing scanned yet")
        return
    click.echo(f"{session}:")
    for outcome, count in sorted(counts.items()):
        click.echo(f"  {outcome:15s} {count}")
    pending, category = store.pending_rows(session), store.pending_rows(session, category=True)
    of_which = f" (其中测评人类别 {category} 行 / {category} of them 测评人类别)" if category else ""
    click.echo(f"待复核行 / rows awaiting review: {pending}{of_which}")


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
    crops = collect_crops(list(paths), store.template_catalog(), settings)
    if not crops:
        fail("no readable ballot page found in PATHS")
    output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(output), draw_contact_sheet(crops, settings))
    click.echo(f"{len(crops)} 个方框 / boxes → {output}")


commands.append(contact_sheet_command)
