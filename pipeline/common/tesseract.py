"""Tesseract: where its language data is, and one short line of print read with it.

Shared by the readers of existing forms (:mod:`pipeline.forms.ocr`, which reads Chinese labels) and of our own
ballots (:mod:`pipeline.reading.locate`, which reads a sheet's serial where its code cannot be decoded). The
engine loads once per process and language (~0.1 s), only when a line is first read.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.common.imaging import Gray

TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
LINE_MODE = 7  # page segmentation: the image is one line of text


class OcrUnavailableError(RuntimeError):
    """Tesseract or its language data is missing: an installation problem, reported with a fix."""


def find_tessdata(lang: str) -> str:
    """The folder holding ``<lang>.traineddata`` for every language of ``lang`` ('chi_sim+eng'); when one is
    missing, :class:`OcrUnavailableError` names the Debian package that holds it."""
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    candidates += list(TESSDATA_DIRS)
    parts = [part for part in lang.split("+") if part]
    for folder in candidates:
        if parts and all((Path(folder) / f"{part}.traineddata").is_file() for part in parts):
            return folder
    missing = [part for part in parts if not any((Path(f) / f"{part}.traineddata").is_file() for f in candidates)]
    packages = " ".join(debian_package(part) for part in missing or parts)
    raise OcrUnavailableError(
        f"Tesseract language data {', '.join(missing or parts)} not found (looked in {', '.join(candidates)}); "
        f"install it with: apt-get install tesseract-ocr {packages}"
    )


def debian_package(lang: str) -> str:
    """The Debian package holding one Tesseract language ('chi_sim' → 'tesseract-ocr-chi-sim')."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def tesserocr_module() -> Any:
    """The tesserocr package, or :class:`OcrUnavailableError` saying how to get it."""
    try:
        import tesserocr  # type: ignore[import-untyped]
    except ImportError as error:
        raise OcrUnavailableError(f"the tesserocr package is missing ({error}); reinstall the project") from None
    return tesserocr


@cache
def _engine(lang: str) -> Any:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one short line: threads cost more to start than they save
    return tesserocr_module().PyTessBaseAPI(path=find_tessdata(lang) + "/", lang=lang)


def read_line(image: Gray, lang: str = "eng", mode: int = LINE_MODE, allowed: str = "") -> str:
    """The text Tesseract reads in ``image``, one line of print (grey, dark on light); ``mode``: Tesseract's page
    segmentation, 7 (a line) or 13 (a raw line, no layout analysis at all); ``allowed``: the only characters it may
    read (all where empty): a soft O it would read as O is read as the Q or D the line can only hold."""
    engine = _engine(lang)
    engine.SetPageSegMode(mode)
    engine.SetVariable("tessedit_char_whitelist", allowed)
    try:
        engine.SetImage(Image.fromarray(image))
        engine.SetSourceResolution(300)
        return str(engine.GetUTF8Text()).strip()
    finally:
        engine.SetVariable("tessedit_char_whitelist", "")
