"""Write simulated pages in the file formats devices use: one JPEG/PNG per page, or one multi-page TIFF/PDF."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal, cast

from PIL import Image, TiffImagePlugin

from pipeline.simulation.effects import Gray

FileFormat = Literal["jpeg", "png", "tiff", "pdf"]
EXTENSION: dict[str, str] = {"jpeg": "jpg", "png": "png", "tiff": "tif", "pdf": "pdf"}
FIXED_PDF_DATE = time.gmtime(1_767_225_600)  # 2026-01-01: fixed, so that one seed gives identical files


class ScanWriter:
    """Writes degraded pages as a device would: one JPEG/PNG per page, or one multi-page TIFF/PDF.

    Binarised (fax) pages are stored 1-bit: CCITT G4 inside TIFF and PDF, 1-bit PNG.
    """

    def __init__(self, out_dir: Path, stem: str, file_format: FileFormat) -> None:
        self.out_dir, self.stem, self.format = out_dir, stem, file_format
        self.count = 0
        self.multi = out_dir / f"{stem}.{EXTENSION[file_format]}"
        self.tiff: TiffImagePlugin.AppendingTiffWriter | None = None
        if file_format in ("tiff", "pdf"):
            self.multi.unlink(missing_ok=True)

    def add(self, pixels: Gray, applied: dict[str, object]) -> tuple[str, int]:
        """Write one page; returns (file name, 1-based page in that file)."""
        self.count += 1
        dpi = float(cast(float, applied["file_dpi"]))
        quality = int(cast(int, applied.get("jpeg_quality", 0)))
        image = Image.fromarray(pixels)
        if applied.get("binarised"):
            image = image.convert("1", dither=Image.Dither.NONE)
        if self.format in ("jpeg", "png"):
            name = f"{self.stem}-{self.count:03d}.{EXTENSION[self.format]}"
            if self.format == "jpeg":
                image.convert("L").save(self.out_dir / name, quality=quality or 90, dpi=(dpi, dpi))
            else:
                image.save(self.out_dir / name, dpi=(dpi, dpi))
            return name, 1
        if self.format == "tiff":
            if self.tiff is None:
                self.tiff = TiffImagePlugin.AppendingTiffWriter(str(self.multi), new=True)
            compression = "group4" if image.mode == "1" else "tiff_lzw"
            image.save(self.tiff, format="TIFF", compression=compression, dpi=(dpi, dpi))
            self.tiff.newFrame()
        else:
            extra = {"quality": quality} if quality else {}
            image.save(
                self.multi,
                format="PDF",
                append=self.count > 1,
                resolution=dpi,
                creationDate=FIXED_PDF_DATE,
                modDate=FIXED_PDF_DATE,
                **extra,
            )
        return self.multi.name, self.count

    def close(self) -> None:
        if self.tiff is not None:
            self.tiff.close()
            self.tiff = None
