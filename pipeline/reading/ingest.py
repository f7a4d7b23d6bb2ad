"""Ingest: turn input files into grayscale page images, one at a time.

Accepts PDF (scanned pages: the embedded image is taken as it is; vector pages are rendered), TIFF
(multi-page, including 1-bit CCITT G4), JPEG, PNG and phone photos (EXIF orientation applied), also as HEIC (an
iPhone's photos unless set to "most compatible") or AVIF (:data:`HEIF_BRANDS`). The file
type is taken from its first bytes, never from its name. Nothing here raises for bad input: a file that
cannot be opened becomes an :class:`UnreadableFile`, a page that cannot be decoded an
:class:`UnreadablePageImage`, each with a reason a clerk understands. Images whose header claims more than
:data:`MAX_PIXELS` are refused before any pixel is allocated.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.common.imaging import Gray, register_heif
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.whole import whole_image

MAX_PIXELS = 120_000_000  # a 600-dpi A3 scan is 70 MP; anything beyond is not a page
MIN_STATED_DPI = 30  # a smaller stated resolution is a placeholder, not a measurement
SQUARE_ENOUGH = 0.01  # x and y resolutions this close are square pixels (a fine fax, 204 × 196, is not)
FAX_DPI = 204.0  # a fax's horizontal resolution (1728 pixels across 215 mm)
FAX_WIDTH_PX = (1600, 1800)  # what a fax line measures, cropped or padded a little
# A black-and-white page saved as JPEG (:func:`two_levels`): scanner-app black-and-white pages of tuning seeds 151 and
# 157 have at most 0.5 % of their pixels, and 6 % of those darker than the paper, in the middle greys (64–192); every
# grey page looked at has 1.5 % or more of its pixels there (the field samples' office scans, the cleanest) and 10 %
# or more of its darker ones (a steep photo on a dark desk).
TWO_LEVEL_MIDDLE = 0.0075
TWO_LEVEL_INK_MIDDLE = 0.15

#: The major brands (bytes 8–12 of an ISO base media file, after its ``ftyp`` box's size and type) of a still picture
#: in HEIF: HEIC (HEVC-coded: iPhones save photos so by default, many Android phones as an option), other HEIF
#: codings, AVIF. Image sequences (bursts, animations) are not among them.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"mif2", b"avif"})

Resolution = tuple[float, float] | None
VECTOR_RENDER_DPI = 200.0
DRAWN_SQUARE = 1e-3  # an image drawn with this little turn or shear (of its size) is drawn upright

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class ScanPage:
    """A decoded page: 8-bit grayscale pixels and what is known of its resolution. ``jpeg``: the page as its
    file holds it, when that is a JPEG whose grayscale decoding (cv2, EXIF orientation applied) is ``image``
    (a JPEG file, or a PDF page that is one JPEG image), or whose two levels it is (:func:`two_levels`)."""

    source: str
    page_no: int
    image: Gray
    dpi: float | None
    jpeg: bytes | None = None


@dataclass(frozen=True)
class UnreadablePageImage:
    source: str
    page_no: int
    reason: PageReason


@dataclass(frozen=True)
class UnreadableFile:
    source: str
    reason: PageReason


@dataclass(frozen=True)
class FileInfo:
    """What is known of a file before its pages are read."""

    kind: str  # 'pdf' | 'tiff' | 'jpeg' | 'png' | 'heif' | 'image'
    page_count: int


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes, or None when it is none of ours."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a") or head.startswith(b"BM") or head[:4] == b"RIFF":
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heif"
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_fingerprint(image: Gray) -> str:
    """A cheap content hash of the pixels (every 4th pixel): the same scan decodes to the same value."""
    return hashlib.blake2b(np.ascontiguousarray(image[::4, ::4]).tobytes(), digest_size=16).hexdigest()


def inspect_file(path: Path) -> FileInfo | UnreadableFile:
    """Open ``path`` far enough to know its kind and page count."""
    source = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        return UnreadableFile(source, PageReason.of(Why.FILE_UNOPENABLE, error=error.strerror or str(error)))
    if size == 0:
        return UnreadableFile(source, PageReason.of(Why.FILE_EMPTY))
    kind = sniff(head)
    if kind is None:
        return UnreadableFile(source, PageReason.of(Why.NOT_A_SCAN))
    if kind == "pdf":
        return _inspect_pdf(path)
    if kind == "heif":
        register_heif()
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            # A damaged TIFF makes Pillow warn before it fails; the failure below is what the clerk sees.
            warnings.simplefilter("ignore")
            width, height = image.size
            if width * height > MAX_PIXELS:
                return UnreadableFile(source, PageReason.of(Why.IMAGE_TOO_LARGE, width=width, height=height))
            # A HEIF file may hold pictures besides the one it shows (an edit's original, a burst): that one is read.
            frames = 1 if kind == "heif" else getattr(image, "n_frames", 1)
    except Image.DecompressionBombError:
        return UnreadableFile(source, PageReason.of(Why.IMAGE_TOO_LARGE, width="?", height="?"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return UnreadableFile(source, PageReason.of(Why.IMAGE_DAMAGED, error=str(error)))
    if kind == "image" and frames > 1:
        return UnreadableFile(source, PageReason.of(Why.ANIMATED_IMAGE))
    return FileInfo(kind, frames)


def _inspect_pdf(path: Path) -> FileInfo | UnreadableFile:
    import pypdfium2 as pdfium

    source = str(path)
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        # pdfium's error code can be left over from an earlier document (a zero-page PDF loads as an
        # error with no code of its own), so look at the file itself before blaming a password.
        message = str(error)
        data = path.read_bytes()
        if b"/Encrypt" in data:
            return UnreadableFile(source, PageReason.of(Why.PDF_ENCRYPTED))
        if re.search(rb"/Count\s*0\b", data) and not re.search(rb"/Count\s*[1-9]", data):
            return UnreadableFile(source, PageReason.of(Why.PDF_NO_PAGES))
        return UnreadableFile(source, PageReason.of(Why.PDF_DAMAGED, error=message))
    try:
        count = len(document)
    finally:
        document.close()
    if count == 0:
        return UnreadableFile(source, PageReason.of(Why.PDF_NO_PAGES))
    return FileInfo("pdf", count)


def read_page(path: Path, info: FileInfo, page_no: int) -> ScanPage | UnreadablePageImage:
    """Decode page ``page_no`` (1-based) of a file already inspected; a black-and-white page saved lossy as its two
    levels (:func:`two_levels`)."""
    source = str(path)
    try:
        if info.kind == "pdf":
            page = _read_pdf_page(path, page_no)
        elif info.kind in ("jpeg", "png"):
            page = _read_single_image(path, page_no, info.kind)
        else:
            if info.kind == "heif":
                register_heif()
            page = _read_pillow_frame(path, page_no, seek=info.kind != "heif")
    except MemoryError:
        return UnreadablePageImage(source, page_no, PageReason.of(Why.PAGE_TOO_LARGE))
    return two_levels(page) if isinstance(page, ScanPage) else page


def two_levels(page: ScanPage) -> ScanPage:
    """``page`` as black and white where it was thresholded to them and then saved lossy (a scanner app's
    black-and-white mode saved as JPEG, a fax a computer saved so): most of it pure white, the rest near black, the
    JPEG's ringing and specks of grey between, hardly any in the middle greys (under TWO_LEVEL_MIDDLE of the page and
    under TWO_LEVEL_INK_MIDDLE of its pixels darker than the paper: a grey scan's strokes have soft edges). Read so, it
    is read as a fax is (a mark black or not there, the paper's specks black dots), not as a grey photo whose paper
    is grainy (tuning seed 157, scanner-app black-and-white pages: the JPEG's grey specks linked into ink in empty
    boxes, 24 rows asked). Its file's bytes stay the scan a clerk is shown. Any other page as it is."""
    image = page.image
    if _bilevel(image):
        return page
    sample = image[::7, ::7]
    middle = np.count_nonzero((sample > 64) & (sample < 192))
    dark = np.count_nonzero(sample <= 64)
    white = np.count_nonzero(sample >= 247)
    if (
        white < sample.size / 2
        or middle >= TWO_LEVEL_MIDDLE * sample.size
        or middle >= TWO_LEVEL_INK_MIDDLE * (middle + dark)
    ):
        return page
    _, two = cv2.threshold(image, 127, 255, cv2.THRESH_BINARY)  # at the middle: what is darker is black
    return replace(page, image=np.asarray(two, dtype=np.uint8))


def iter_pages(path: Path) -> Iterator[ScanPage | UnreadablePageImage | UnreadableFile]:
    """Every page of ``path`` in order, decoded lazily (one image in memory at a time)."""
    info = inspect_file(path)
    if isinstance(info, UnreadableFile):
        yield info
        return
    for page_no in range(1, info.page_count + 1):
        yield read_page(path, info, page_no)


def _read_single_image(path: Path, page_no: int, kind: str) -> ScanPage | UnreadablePageImage:
    """A JPEG or PNG file's one page. A JPEG file's bytes are kept too (:attr:`ScanPage.jpeg`) when a decoder
    takes them as they are; a file lacking only its end marker is read, not kept as scanned."""
    source = str(path)
    data = path.read_bytes()
    whole = whole_image(data, kind)
    if whole is None:  # the picture's data ends before its last row: a decoder would invent the rest
        return UnreadablePageImage(source, page_no, PageReason.of(Why.IMAGE_TRUNCATED))
    decoded = decode_image(whole)
    if decoded is None:
        return UnreadablePageImage(source, page_no, PageReason.of(Why.IMAGE_UNDECODABLE))
    square, dpi = square_pixels(decoded, _pillow_dpi(path))
    kept = data if kind == "jpeg" and whole is data and square is decoded else None
    return ScanPage(source, page_no, square, dpi, kept)


def decode_image(data: bytes) -> Gray | None:
    """The grey pixels of an encoded JPEG or PNG, EXIF orientation applied (phone photos), or None when it
    cannot be decoded. By cv2: 2–3× faster than Pillow on JPEG. Scans are read with it, and the review shows a
    page kept as scanned with it, so that both see the very pixels the page's transform was fitted to."""
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    return np.asarray(decoded, dtype=np.uint8) if decoded is not None else None


def _pillow_dpi(path: Path) -> Resolution:
    try:
        with Image.open(path) as image:
            return _resolution(image.info.get("dpi"))
    except (OSError, ValueError):
        return None


def _resolution(dpi: object) -> Resolution:
    """(x, y) dots per inch as a file states them, or None when it states none worth believing."""
    if not isinstance(dpi, tuple) or not dpi or float(dpi[0]) <= MIN_STATED_DPI:
        return None
    x = float(dpi[0])
    y = float(dpi[1]) if len(dpi) > 1 and float(dpi[1]) > MIN_STATED_DPI else x
    return x, y


def square_pixels(image: Gray, dpi: Resolution) -> tuple[Gray, float | None]:
    """The page with square pixels at its x resolution, and that resolution. A fax's standard resolution is
    204 × 98 dpi (fine: 204 × 196): each pixel twice as tall as wide, so a QR code or a box is squashed to half
    its height; its rows are repeated (a bilevel page stays bilevel) or resampled to the x resolution. A file
    that states no resolution is taken for a standard fax when it is one by its shape: bilevel, a fax line's
    width (about 1728 pixels for 215 mm) and half an A4 page's height."""
    height, width = image.shape
    if dpi is None and _looks_like_standard_fax(image):
        dpi = (FAX_DPI, FAX_DPI / 2)
    if dpi is None:
        return image, None
    x, y = dpi
    if abs(x - y) / x < SQUARE_ENOUGH:
        return image, x
    bilevel = _bilevel(image)
    size = (width, round(height * x / y))
    interpolation = cv2.INTER_NEAREST if bilevel else cv2.INTER_LINEAR if x > y else cv2.INTER_AREA
    return np.asarray(cv2.resize(image, size, interpolation=interpolation), dtype=np.uint8), x


def _looks_like_standard_fax(image: Gray) -> bool:
    height, width = image.shape
    return FAX_WIDTH_PX[0] <= width <= FAX_WIDTH_PX[1] and 0.6 <= height / width <= 0.8 and _bilevel(image)


def _bilevel(image: Gray) -> bool:
    sample = image[::7, ::7]
    return bool(np.count_nonzero((sample > 8) & (sample < 247)) < 0.01 * sample.size)


def _read_pillow_frame(path: Path, page_no: int, *, seek: bool = True) -> ScanPage | UnreadablePageImage:
    """Page ``page_no`` of a file Pillow decodes; ``seek``: to that frame (not in a HEIF file, whose page is the
    picture it opens with, its primary one, whatever its place among the file's pictures)."""
    source = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as image:
                if seek:
                    image.seek(page_no - 1)
                dpi = image.info.get("dpi")
                frame = ImageOps.exif_transpose(image) if page_no == 1 else image
                gray = _to_gray(frame)
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            return UnreadablePageImage(
                source, page_no, PageReason.of(Why.PAGE_UNDECODABLE, page=page_no, error=str(error))
            )
    square, resolution = square_pixels(gray, _resolution(dpi))
    return ScanPage(source, page_no, square, resolution)


def _to_gray(image: Image.Image) -> Gray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float64)
        top = float(wide.max()) or 1.0
        return np.asarray(np.clip(wide * (255.0 / max(top, 255.0)), 0, 255), dtype=np.uint8)
    if image.mode == "CMYK":
        image = image.convert("RGB")
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.asarray(image.convert("L"), dtype=np.uint8).copy()


def _read_pdf_page(path: Path, page_no: int) -> ScanPage | UnreadablePageImage:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    source = str(path)
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        return UnreadablePageImage(source, page_no, PageReason.of(Why.PDF_UNOPENABLE, error=str(error)))
    try:
        page = document[page_no - 1]
        width_pt, _ = page.get_size()
        images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=1))
        text_objects = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=1))
        if len(images) == 1 and not text_objects:
            extracted = _embedded_image(images[0])
            if extracted is not None:
                pixels, jpeg = extracted
                turns = page.get_rotation() // 90 % 4
                if turns:  # the page is shown turned (/Rotate, clockwise): so is the scan on it
                    pixels, jpeg = np.ascontiguousarray(np.rot90(pixels, -turns)), None
                drawn = _drawn_resolution(images[0], turns)
                if drawn is None:  # drawn turned or sheared: its width over the page's, its pixels taken as square
                    dpi = pixels.shape[1] / (width_pt / 72.0) if width_pt else None
                    return ScanPage(source, page_no, pixels, dpi, jpeg)
                square, dpi = square_pixels(pixels, drawn)
                return ScanPage(source, page_no, square, dpi, jpeg if square is pixels else None)
        bitmap = page.render(scale=VECTOR_RENDER_DPI / 72.0, grayscale=True)
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8).reshape(bitmap.height, -1)[:, : bitmap.width]
        return ScanPage(source, page_no, pixels.copy(), VECTOR_RENDER_DPI)
    except pdfium.PdfiumError as error:
        return UnreadablePageImage(source, page_no, PageReason.of(Why.PDF_PAGE_DAMAGED, page=page_no, error=str(error)))
    finally:
        document.close()


def _drawn_resolution(image_object: object, turns: int) -> Resolution:
    """The (x, y) dpi a page's image is shown at (its pixels over the rectangle the page draws it in, as the page is
    shown: ``turns`` quarter turns), or None where the page draws it turned or sheared, or the PDF says nothing
    usable. A fax server's PDF draws a standard fax (204 × 98 dpi) over the whole page: its pixels twice as tall as
    they are wide, which only the page's drawing of it says."""
    try:
        a, b, c, d, _, _ = image_object.get_matrix().get()  # type: ignore[attr-defined]
        width_px, height_px = image_object.get_px_size()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - pdfium raises several types for odd images; the width alone still serves
        return None
    if abs(b) + abs(c) > DRAWN_SQUARE * (abs(a) + abs(d)) or not a or not d or not width_px or not height_px:
        return None
    x, y = width_px / (abs(a) / 72.0), height_px / (abs(d) / 72.0)
    return _resolution((y, x) if turns % 2 else (x, y))


def _embedded_image(image_object: object) -> tuple[Gray, bytes | None] | None:
    """The page's scanned image as stored (a JPEG is decoded directly, and its bytes kept), or None to render
    instead."""
    try:
        data = image_object.get_data(decode_simple=True)  # type: ignore[attr-defined]
        filters = image_object.get_filters()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - pdfium raises several types for odd images; rendering still works
        return None
    raw = bytes(data)
    if filters and filters[-1] in ("DCTDecode", "JPXDecode"):
        decoded = decode_image(raw)
        if decoded is None:
            return None
        return decoded, raw if filters[-1] == "DCTDecode" else None
    try:
        bitmap = image_object.get_bitmap(render=False)  # type: ignore[attr-defined]
        pil = bitmap.to_pil()
    except Exception:  # noqa: BLE001
        return None
    return _to_gray(pil), None


def pdf_bytes_pages(data: bytes, dpi: float) -> list[Gray]:
    """Render every page of an in-memory PDF (used for template masks and tests)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(io.BytesIO(data))
    try:
        pages = []
        for page in document:
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            pixels = np.array(bitmap.to_numpy(), dtype=np.uint8).reshape(bitmap.height, -1)[:, : bitmap.width]
            pages.append(pixels.copy())
        return pages
    finally:
        document.close()
