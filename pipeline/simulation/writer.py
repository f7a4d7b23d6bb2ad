"""Write simulated pages in the file formats devices use: one JPEG/PNG/HEIC per page, or one multi-page TIFF/PDF."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal, cast

from PIL import Image, TiffImagePlugin

from pipeline.common.imaging import register_heif
from pipeline.simulation.effects import Gray

FileFormat = Literal["jpeg", "png", "heic", "tiff", "pdf"]
EXTENSION: dict[str, str] = {"jpeg": "jpg", "png": "png", "heic": "heic", "tiff": "tif", "pdf": "pdf"}
ONE_FILE_A_PAGE = ("jpeg", "png", "heic")
FIXED_PDF_DATE = time.gmtime(1_767_225_600)  # 2026-01-01: fixed, so that one seed gives identical files


class ScanWriter:
    """Writes degraded pages as a device would: one JPEG/PNG per page (or HEIC, as an iPhone saves its photos: in
    colour, at the page's JPEG quality on HEIF's scale, no resolution stated), or one multi-page TIFF/PDF.

    Binarised (fax) pages are stored 1-bit: CCITT G4 (or G3, where ``applied["fax"]`` says) inside TIFF and PDF,
    1-bit PNG. ``applied["file_dpi"]`` is what the file states: one number, x and y (a fax's 204 × 98), or
    None (no resolution in the file; a PDF still needs a page size and gets the true one).
    """

    def __init__(self, out_dir: Path, stem: str, file_format: FileFormat) -> None:
        self.out_dir, self.stem, self.format = out_dir, stem, file_format
        self.count = 0
        self.multi = out_dir / f"{stem}.{EXTENSION[file_format]}"
        self.tiff: TiffImagePlugin.AppendingTiffWriter | None = None
        if file_format in ("tiff", "pdf"):
            self.multi.unlink(missing_ok=True)
        if file_format == "heic":
            register_heif()

    def add(self, pixels: Gray, applied: dict[str, object]) -> tuple[str, int]:
        """Write one page; returns (file name, 1-based page in that file)."""
        self.count += 1
        stated = _stated_dpi(applied["file_dpi"])
        dpi_kw: dict[str, Any] = {"dpi": stated} if stated is not None else {}
        quality = int(cast(int, applied.get("jpeg_quality", 0)))
        image = Image.fromarray(pixels)
        if applied.get("binarised"):
            image = image.convert("1", dither=Image.Dither.NONE)
        if self.format in ONE_FILE_A_PAGE:
            name = f"{self.stem}-{self.count:03d}.{EXTENSION[self.format]}"
            if self.format == "jpeg":
                image.convert("L").save(self.out_dir / name, quality=quality or 90, **dpi_kw)
            elif self.format == "heic":
                # A phone codes its photos in hardware, built for speed: x265's fastest preset (3× faster than its
                # default on a photo's grain, the file as large within a tenth).
                preset = {"preset": "ultrafast"}
                image.convert("RGB").save(self.out_dir / name, format="HEIF", quality=quality or 90, enc_params=preset)
            else:
                image.save(self.out_dir / name, **dpi_kw)
            return name, 1
        if self.format == "tiff":
            if self.tiff is None:
                self.tiff = TiffImagePlugin.AppendingTiffWriter(str(self.multi), new=True)
            fax = applied.get("fax")
            group = str(fax.get("compression", "group4")) if isinstance(fax, dict) else "group4"
            compression = group if image.mode == "1" else "tiff_lzw"
            image.save(self.tiff, format="TIFF", compression=compression, **dpi_kw)
            self.tiff.newFrame()
        else:
            extra: dict[str, object] = {"quality": quality} if quality else {}
            page_dpi = stated or _stated_dpi(applied["dpi"]) or (72.0, 72.0)
            if page_dpi[0] == page_dpi[1]:
                extra["resolution"] = page_dpi[0]
            else:
                extra["dpi"] = page_dpi
            image.save(
                self.multi,
                format="PDF",
                append=self.count > 1,
                creationDate=FIXED_PDF_DATE,
                modDate=FIXED_PDF_DATE,
                **extra,
            )
        return self.multi.name, self.count

    def close(self) -> None:
        if self.tiff is not None:
            self.tiff.close()
            self.tiff = None


def _stated_dpi(value: object) -> tuple[float, float] | None:
    """A recorded resolution as (x, y): one number for both, a pair, or None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return (float(value[0]), float(value[1]))
    return (float(cast(float, value)), float(cast(float, value)))
