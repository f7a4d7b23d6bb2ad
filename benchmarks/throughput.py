"""Throughput benchmark: pages per second and peak memory of ``scan`` on this machine.

Cases: 200-dpi and 300-dpi A4 JPEG scans (one file a page) and one multi-page PDF of 200-dpi JPEG
pages. Each case scans a fresh store with ``--jobs`` workers; the wall time includes decoding, reading,
classifying and storing. Peak memory is the largest resident set of the main process and of any worker.
Memory must stay flat in batch size: the last line repeats the 200-dpi case with 3× the pages. ``KB/page`` is
the database's size after the scan over the pages (mostly the image each read page keeps for review).
Targets: ≥ 50 pages/s at 200 dpi, ≥ 25 at 300 dpi on 2 cores.

    .venv/bin/python -m benchmarks.throughput [--pages 120] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from benchmarks.common import SESSION, TEMPLATE
from pipeline.ballot.layout import compute_layout
from pipeline.ballot.template import load_template
from pipeline.printing.render import render_pdf_bytes
from pipeline.reading.ingest import pdf_bytes_pages
from pipeline.simulation.simulate import fill_sheet
from pipeline.store.database import open_store


def make_scans(folder: Path, pages: int, dpi: int, as_pdf: bool) -> Path:
    """``pages`` filled ballots with a slight skew, as JPEG files or as one PDF of JPEG pages."""
    folder.mkdir(parents=True)
    template = load_template(TEMPLATE)
    store = open_store(folder / "ballots.db")
    serials = store.issue_serials(SESSION, template, pages, "bench.pdf")
    store.blank_rendering(template)  # as `ballot print` does
    store.close()
    layout = compute_layout(template)
    rng = np.random.default_rng(dpi)
    scans = folder / "scans"
    scans.mkdir()
    images = []
    for index, page in enumerate(pdf_bytes_pages(render_pdf_bytes(template, SESSION, serials), dpi)):
        fill_sheet(page, layout, dpi / 25.4, rng, difficulty="clean")
        angle = float(rng.uniform(-1.5, 1.5))
        matrix = cv2.getRotationMatrix2D((page.shape[1] / 2, page.shape[0] / 2), angle, 1.0)
        page = np.asarray(cv2.warpAffine(page, matrix, (page.shape[1], page.shape[0]), borderValue=250), np.uint8)
        if as_pdf:
            images.append(Image.fromarray(page))
        else:
            cv2.imwrite(str(scans / f"page-{index:04d}.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if as_pdf:
        images[0].save(scans / "batch.pdf", save_all=True, append_images=images[1:], resolution=float(dpi), quality=85)
    return folder


CHILD = """
import resource, sys, time
from pathlib import Path
from pipeline.scanning.batch import scan
from pipeline.reading.settings import load_settings
from pipeline.store.database import open_store
folder, jobs = Path(sys.argv[1]), int(sys.argv[2])
store = open_store(folder / "ballots.db")
started = time.perf_counter()
summary = scan([folder / "scans"], store, sys.argv[3], load_settings(), jobs=jobs)
elapsed = time.perf_counter() - started
assert summary.outcomes["read"] == sum(summary.outcomes.values()), summary.outcomes
# ru_maxrss of this process would still count the parent's pages from before exec(); VmHWM does not.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(elapsed, peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def timed_scan(folder: Path, jobs: int) -> tuple[float, float, float]:
    """Scan in a fresh process (imports excluded from the time); return (seconds, main MiB, worker MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(jobs), SESSION], capture_output=True, text=True, check=True
    )
    seconds, main_kib, worker_kib = done.stdout.split()
    return float(seconds), int(main_kib) / 1024, int(worker_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    cases = [
        ("200-dpi JPEG", args.pages, 200, False),
        ("300-dpi JPEG", args.pages, 300, False),
        ("200-dpi PDF (1 file)", args.pages, 200, True),
        ("200-dpi JPEG ×3 pages", args.pages * 3, 200, False),
    ]
    print(f"throughput: --jobs {args.jobs}, {os.cpu_count()} cores; {resource.getpagesize()} B pages")
    print(
        f"{'case':24s} {'pages':>5s} {'seconds':>8s} {'pages/s':>8s} {'main MiB':>9s} {'worker MiB':>10s} "
        f"{'KB/page':>8s}"
    )
    with tempfile.TemporaryDirectory() as work:
        for index, (name, pages, dpi, as_pdf) in enumerate(cases):
            folder = make_scans(Path(work) / f"case{index}", pages, dpi, as_pdf)
            seconds, main_mib, worker_mib = timed_scan(folder, args.jobs)
            stored = sum(path.stat().st_size for path in folder.glob("ballots.db*")) / 1024 / pages
            print(
                f"{name:24s} {pages:5d} {seconds:8.2f} {pages / seconds:8.1f} {main_mib:9.0f} {worker_mib:10.0f} "
                f"{stored:8.0f}"
            )


if __name__ == "__main__":
    main()
