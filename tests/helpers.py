"""Helpers for reading tests: a printed batch in a store, clean page images, hand-drawn marks."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.ballot.layout import Checkbox, Layout, compute_layout
from pipeline.ballot.template import Template
from pipeline.printing.render import render_ballots
from pipeline.reading.debug import DebugWriter
from pipeline.reading.ingest import ScanPage, pdf_bytes_pages
from pipeline.reading.outcome import SheetRead
from pipeline.reading.read import read_sheet
from pipeline.reading.settings import load_settings
from pipeline.store.database import open_store

Gray = npt.NDArray[np.uint8]
DPI = 200.0
PX = DPI / 25.4


@dataclass(frozen=True)
class Batch:
    """Ballots printed into a store that tests copy before writing to it."""

    db: Path
    pdf: Path
    serials: list[str]
    layout: Layout
    template: Template

    def fresh_db(self, folder: Path) -> Path:
        target = folder / "ballots.db"
        shutil.copy(self.db, target)
        return target

    def pages(self, dpi: float = DPI) -> list[Gray]:
        return pdf_bytes_pages(self.pdf.read_bytes(), dpi)


def print_batch(folder: Path, template: Template, copies: int, session: str = "2026H1", *, seed: int = 0) -> Batch:
    """``copies`` ballots printed into a fresh store. The serials come from ``seed``, so a test's pages are the
    same every run: whether a soft or noisy code reads depends on the code's modules, that is on the serial."""
    store = open_store(folder / "printed.db")
    serials = store.issue_serials(session, template, copies, "batch.pdf", draw=random.Random(seed))
    store.close()
    pdf = folder / "batch.pdf"
    render_ballots(template, session, serials, pdf)
    return Batch(folder / "printed.db", pdf, serials, compute_layout(template), template)


def read_image(batch: Batch, image: Gray, session: str = "2026H1") -> SheetRead:
    """``image`` read as one scanned page of ``batch`` (its store's templates; nothing is stored)."""
    store = open_store(batch.db)
    catalog = store.catalog()
    store.close()
    result = read_sheet(ScanPage("page.png", 1, image, DPI), session, catalog, load_settings(), DebugWriter(None))
    assert isinstance(result, SheetRead), result
    return result


def box(layout: Layout, unit: str, option: str) -> Checkbox:
    return next(b for b in layout.boxes if b.unit == unit and b.option == option)


def tick(
    image: Gray, target: Checkbox, *, grey: int = 25, width_mm: float = 0.5, px: float = PX, big: bool = True
) -> None:
    """A Chinese-style tick: starts inside the box, ends up and to the right, outside it when ``big``."""
    x, y, s = target.rect.x * px, target.rect.y * px, target.rect.w * px
    end = (x + s * 1.35, y - s * 0.45) if big else (x + s * 0.85, y + s * 0.2)
    points = np.array([[x + s * 0.2, y + s * 0.5], [x + s * 0.42, y + s * 0.8], end], dtype=np.int32)
    cv2.polylines(image, [points], False, grey, max(1, int(width_mm * px)), lineType=cv2.LINE_AA)


def fill(image: Gray, target: Checkbox, *, grey: int = 30, px: float = PX) -> None:
    x, y, s = target.rect.x * px, target.rect.y * px, target.rect.w * px
    cv2.rectangle(image, (int(x + s * 0.1), int(y + s * 0.1)), (int(x + s * 0.9), int(y + s * 0.9)), grey, -1)


def circle(image: Gray, target: Checkbox, *, px: float = PX) -> None:
    cx, cy = (target.rect.x + target.rect.w / 2) * px, (target.rect.y + target.rect.h / 2) * px
    axes = (int(target.rect.w * 0.85 * px), int(target.rect.h * 0.75 * px))
    cv2.ellipse(image, (int(cx), int(cy)), axes, 0, 0, 360, 30, max(1, int(0.5 * px)), lineType=cv2.LINE_AA)


def from_afar(page: Gray) -> Gray:
    """``page`` (rendered at a far photo's resolution, 110–140 dpi) as a phone takes it from a distance: soft, noisy,
    JPEG 50."""
    soft = cv2.GaussianBlur(page, (0, 0), 1.4) + np.random.default_rng(1).normal(0, 6, page.shape)
    _, encoded = cv2.imencode(".jpg", np.clip(soft, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 50])
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


def save_jpeg(image: Gray, path: Path, quality: int = 85) -> Path:
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


# -- two sheets on one image (tests/test_faults.py) ------------------------------------------------------------


def filled_sheet(image: Gray, layout: Layout, seed: int, px: float = PX) -> dict[str, str]:
    """Fill ``image`` in place as a careful voter would (clean marks); returns each row's intent."""
    from pipeline.simulation.simulate import fill_sheet

    rows = fill_sheet(image, layout, px, np.random.default_rng(seed), difficulty="clean")
    return {row.unit: row.intent for row in rows}


def shifted(image: Gray, dx_mm: float, dy_mm: float, px: float = PX) -> Gray:
    """``image`` moved right by ``dx_mm`` and down by ``dy_mm`` on white paper of the same size; what moves
    past the edge is lost, as it is past the scanner's glass."""
    height, width = image.shape
    dx, dy = round(dx_mm * px), round(dy_mm * px)
    moved = np.full_like(image, 255)
    moved[max(0, dy) : height + min(0, dy), max(0, dx) : width + min(0, dx)] = image[
        max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)
    ]
    return moved


def moved_below(image: Gray, at_mm: float, dy_mm: float, px: float = PX) -> Gray:
    """``image`` with everything below ``at_mm`` moved down by ``dy_mm`` (negative: up, as where a fax lost that many
    scan lines), white paper where it left."""
    top = round(at_mm * px)
    out = image.copy()
    out[top:] = shifted(image[top:], 0.0, dy_mm, px)
    return out


def lifted(image: Gray, centre_mm: tuple[float, float], dy_mm: float, px: float = PX) -> Gray:
    """``image`` with the paper around ``centre_mm`` moved down by ``dy_mm``, fading out over 15–30 mm from it
    (a sheet curling up at one end of a row), the rest of the page where it was."""
    height, width = image.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.maximum(np.abs(xs / px - centre_mm[0]), np.abs(ys / px - centre_mm[1]))
    weight = np.clip((30.0 - distance) / 15.0, 0.0, 1.0)
    moved = cv2.remap(image, xs, ys - weight * dy_mm * px, cv2.INTER_LINEAR, borderValue=255)
    return np.asarray(moved, dtype=np.uint8)


def laid_over(below: Gray, above: Gray, dy_mm: float, px: float = PX) -> Gray:
    """Sheet ``above`` lying on sheet ``below``, ``dy_mm`` lower (negative: higher), hiding what it covers."""
    moved = shifted(above, 0.0, dy_mm, px)
    edge = round(dy_mm * px)
    combined = below.copy()
    if edge >= 0:
        combined[edge:] = moved[edge:]
    else:
        combined[: below.shape[0] + edge] = moved[: below.shape[0] + edge]
    return combined


def see_through(first: Gray, second: Gray, dx_mm: float, dy_mm: float, px: float = PX) -> Gray:
    """Both sheets' ink on one image (thin paper fed together, or a backlit glass): the darker of the two."""
    return np.minimum(first, shifted(second, dx_mm, dy_mm, px))


def qr_image(text: str, module_px: int = 8) -> Gray:
    """A QR code as our printer encodes it, black on white, with its 4-module quiet zone."""
    import segno

    modules = np.array(segno.make(text, error="m", micro=False).matrix, dtype=bool)
    pixels = np.where(np.pad(modules, 4), 0, 255).astype(np.uint8)
    return np.kron(pixels, np.ones((module_px, module_px), dtype=np.uint8))


def backup_db(source: Path, target: Path) -> Path:
    """A private copy of a store made with SQLite's backup (a scan's pages may still sit in its WAL)."""
    import sqlite3

    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    with writing:
        reading.backup(writing)
    reading.close()
    writing.close()
    return target
