"""Scan a batch: files → pages → stored outcomes, in parallel, resumable, each page stored as it is read.

1. *Prepare* (main process): walk the given files and folders, hash each file (the same content is never
   read twice in a session), find its page count, register it in the store. Files that cannot be opened
   are stored as unreadable with a reason.
2. *Read* (worker processes, ``--jobs``): decode one page, :func:`pipeline.scanning.page.read_page` it (our
   ballot, else an existing form). Only the page's small result comes back; images are never collected, so
   memory stays flat in batch size.
3. *Store* (main process, page order): serial checks and the write happen in one transaction per page.
   A killed run leaves every finished page stored; the next run skips them and reads the rest.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from pipeline.ballot.template import Template
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.debug import DebugWriter
from pipeline.reading.identify import Catalog
from pipeline.reading.ingest import (
    FileInfo,
    UnreadableFile,
    UnreadablePageImage,
    file_sha256,
    inspect_file,
)
from pipeline.reading.ingest import (
    read_page as decode_page,
)
from pipeline.reading.model import provide_blank
from pipeline.reading.outcome import SheetRejected, SheetResult
from pipeline.reading.read import prepared_model
from pipeline.reading.settings import ReadingSettings
from pipeline.scanning.files import collect_files
from pipeline.scanning.page import read_page
from pipeline.store.database import Store
from pipeline.store.reading import PageRecord

#: Outcomes that mean "this sheet was not counted and a clerk should look" (exit status 2).
REJECTED = frozenset({"unreadable", "wrong_session", "wrong_template", "unknown_serial", "duplicate"})


@dataclass(frozen=True)
class PageTask:
    file_id: int
    path: str
    info: FileInfo
    page_no: int
    last: bool  # the file's final page: the file is finished once this is stored


@dataclass
class ScanSummary:
    files: int = 0
    # (path, the file whose copy it is, whether that one was scanned before this batch)
    files_skipped: list[tuple[str, str, bool]] = field(default_factory=list)
    files_unreadable: list[tuple[str, PageReason]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[str, int, str, PageReason | None]] = field(default_factory=list)  # path, page, outcome
    rows_pending: int = 0

    @property
    def needs_attention(self) -> bool:
        return bool(self.files_unreadable) or any(self.outcomes[outcome] for outcome in REJECTED)


def prepare(paths: Iterable[Path], store: Store, session: str, summary: ScanSummary) -> list[PageTask]:
    """Register every file and return the pages still to be read."""
    tasks: list[PageTask] = []
    seen: dict[str, str] = {}
    for item in collect_files(paths):
        summary.files += 1
        if isinstance(item, UnreadableFile):
            _store_unreadable_file(store, session, None, item, None)
            summary.files_unreadable.append((item.source, item.reason))
            continue
        try:
            digest, size = file_sha256(item), item.stat().st_size
        except OSError as error:
            reason = PageReason.of(Why.FILE_UNOPENABLE, error=error.strerror or str(error))
            _store_unreadable_file(store, session, None, UnreadableFile(str(item), reason), None)
            summary.files_unreadable.append((str(item), reason))
            continue
        if digest in seen:
            summary.files_skipped.append((str(item), seen[digest], False))
            continue
        seen[digest] = str(item)
        existing = store.find_file(session, digest)
        if existing is not None and existing[1] != "reading":
            summary.files_skipped.append((str(item), existing[2], True))
            continue
        info = inspect_file(item)
        if isinstance(info, UnreadableFile):
            _store_unreadable_file(store, session, digest, info, size, existing[0] if existing else None)
            summary.files_unreadable.append((info.source, info.reason))
            continue
        file_id = existing[0] if existing else store.add_file(session, digest, str(item), size)
        store.set_file_pages(file_id, info.page_count)
        done = store.stored_page_numbers(file_id)
        remaining = [page for page in range(1, info.page_count + 1) if page not in done]
        if not remaining:
            store.finish_file(file_id, "done")
        for page_no in remaining:
            tasks.append(PageTask(file_id, str(item), info, page_no, page_no == remaining[-1]))
    return tasks


def _store_unreadable_file(
    store: Store,
    session: str,
    digest: str | None,
    info: UnreadableFile,
    size: int | None,
    file_id: int | None = None,
) -> None:
    file_id = file_id or store.add_file(session, digest, info.source, size)
    store.finish_file(file_id, "unreadable", info.reason)


# -- worker side ----------------------------------------------------------------------------------------

_worker: dict[str, object] = {}


def _init_worker(
    session: str,
    catalog: Catalog,
    forms: list[Template],
    settings: ReadingSettings,
    debug: Path | None,
) -> None:
    _worker.update(session=session, catalog=catalog, forms=forms, settings=settings, debug=DebugWriter(debug))


def _read_task(task: PageTask) -> tuple[PageTask, SheetResult | UnreadablePageImage]:
    page = decode_page(Path(task.path), task.info, task.page_no)
    if isinstance(page, UnreadablePageImage):
        return task, page
    try:
        result = read_page(
            page,
            str(_worker["session"]),
            _worker["catalog"],  # type: ignore[arg-type]
            _worker["forms"],  # type: ignore[arg-type]
            _worker["settings"],  # type: ignore[arg-type]
            _worker["debug"],  # type: ignore[arg-type]
        )
    except Exception as error:  # noqa: BLE001 - a bug on one page must not stop the batch; it is stored
        traceback.print_exc(file=sys.stderr)
        return task, UnreadablePageImage(
            task.path, task.page_no, PageReason.of(Why.INTERNAL_ERROR, error=type(error).__name__)
        )
    return task, result


# -- main side ------------------------------------------------------------------------------------------


def scan(
    paths: Iterable[Path],
    store: Store,
    session: str,
    settings: ReadingSettings,
    *,
    jobs: int = 1,
    debug_dir: Path | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> ScanSummary:
    """Read every page under ``paths`` into the store; ``on_page(done, total)`` reports progress.

    A page without our QR code is tried against the existing office forms registered for the session
    (:meth:`Store.use_form`)."""
    summary = ScanSummary()
    store.ensure_session(session)
    settings_hash = store.register_settings(settings)
    classification = store.classification_for(session, settings_hash)
    printed = _provide_blanks(store, session)
    # The scorer's model of each ballot is built while the files are hashed (both mostly outside the GIL),
    # once, before the workers fork and inherit it, instead of once in every worker after the fork.
    with ThreadPoolExecutor(max_workers=1) as background:
        models = background.submit(lambda: [prepared_model(template) for template in printed])
        tasks = prepare(paths, store, session, summary)
        models.result()
    catalog = store.catalog()
    init_args = (session, catalog, store.session_forms(session), settings, debug_dir)
    stamp = (session, settings_hash, classification)
    if jobs > 1 and len(tasks) > 1:
        context = multiprocessing.get_context("fork")
        # The workers already use every core: OpenCV's own threads would only compete with them (measured
        # ~5 % slower). Set before forking: a forked child must not touch a thread pool its parent started.
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with context.Pool(min(jobs, len(tasks)), initializer=_init_worker, initargs=init_args) as pool:
                results = pool.imap(_read_task, tasks, chunksize=2)
                _store_results(results, store, stamp, summary, on_page, len(tasks))
        finally:
            cv2.setNumThreads(threads)
    else:
        _init_worker(*init_args)
        _store_results(map(_read_task, tasks), store, stamp, summary, on_page, len(tasks))
    summary.rows_pending = store.pending_rows(session)
    return summary


def _provide_blanks(store: Store, session: str) -> list[Template]:
    """Hand the scorer the blank renderings of the session's printed ballots from the store's cache, so
    that no process spends a second rendering one; returns those ballots' templates."""
    printed = [template for template in store.session_templates(session) if template.external is None]
    for template in printed:
        provide_blank(template, store.blank_rendering(template))
    return printed


def _store_results(
    results: Iterable[tuple[PageTask, SheetResult | UnreadablePageImage]],
    store: Store,
    stamp: tuple[str, str, int],
    summary: ScanSummary,
    on_page: Callable[[int, int], None] | None,
    total: int,
) -> None:
    for done, (task, result) in enumerate(results, start=1):
        outcome, reason = store.save_page(page_record(task, result, stamp))
        summary.outcomes[outcome] += 1
        if outcome in REJECTED:
            summary.rejected.append((task.path, task.page_no, outcome, reason))
        if task.last:
            store.finish_file(task.file_id, "done")
        if on_page is not None:
            on_page(done, total)


def page_record(task: PageTask, result: SheetResult | UnreadablePageImage, stamp: tuple[str, str, int]) -> PageRecord:
    """What the store keeps of one page; ``stamp`` is (session, settings hash, classification id)."""
    session, settings_hash, classification = stamp
    where = {"file_id": task.file_id, "session": session, "page_no": task.page_no}
    audit = {"settings_hash": settings_hash, "classification_id": classification}
    if isinstance(result, UnreadablePageImage):
        return PageRecord(**where, outcome="unreadable", reason=result.reason, **audit)  # type: ignore[arg-type]
    image = result.image
    if isinstance(result, SheetRejected):
        return PageRecord(
            **where,  # type: ignore[arg-type]
            outcome=result.outcome,
            reason=result.reason,
            serial=result.sheet.serial if result.sheet else None,
            template_hash=result.template_hash,
            fingerprint=result.fingerprint,
            image=image,
            **audit,  # type: ignore[arg-type]
        )
    alignment = result.alignment
    return PageRecord(
        **where,  # type: ignore[arg-type]
        outcome="unreadable" if result.serial_to_type else "read",  # its rows kept for the clerk who counts it
        reason=result.identified_by,
        serial=result.sheet.serial or None,
        template_hash=result.template_hash,
        fingerprint=result.fingerprint,
        rotation=alignment.rotation,
        transform=json.dumps(alignment.matrix.tolist()),  # in full: an image kept as scanned is shown through it
        residual_mm=round(alignment.residual_mm, 3),
        px_per_mm=round(alignment.px_per_mm, 3),
        skew_deg=round(alignment.skew_deg, 3),
        marks_found=alignment.marks_found,
        scores=result.scores,
        readings=result.readings,
        image=image,
        **audit,  # type: ignore[arg-type]
    )
