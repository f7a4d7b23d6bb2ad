"""Ingest: every supported format decodes to grayscale pages; every bad file gets a reason, not a crash."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.common.messages import page_reason
from pipeline.common.reasons import Why
from pipeline.reading.ingest import (
    ScanPage,
    UnreadableFile,
    UnreadablePageImage,
    inspect_file,
    iter_pages,
    sniff,
)

WIDTH, HEIGHT = 300, 420


def gradient() -> np.ndarray:
    image = np.full((HEIGHT, WIDTH), 240, dtype=np.uint8)
    image[100:200, 50:150] = 20
    return image


def pages_of(path: Path) -> list[ScanPage | UnreadablePageImage | UnreadableFile]:
    return list(iter_pages(path))


def test_sniff_by_content_not_name() -> None:
    assert sniff(b"%PDF-1.7\n") == "pdf"
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"II*\x00") == "tiff" and sniff(b"MM\x00*") == "tiff"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"\x00\x00\x00\x1cftypheic\x00\x00") == "heif"  # an iPhone's photo
    assert sniff(b"\x00\x00\x00\x20ftypavif\x00\x00") == "heif"
    assert sniff(b"\x00\x00\x00\x20ftypisom\x00\x00") is None  # a video in the same container
    assert sniff(b"hello world") is None


@pytest.mark.parametrize(("suffix", "mode"), [(".jpg", "L"), (".png", "L"), (".png", "RGB"), (".png", "P")])
def test_single_images(tmp_path: Path, suffix: str, mode: str) -> None:
    path = tmp_path / f"page{suffix}"
    Image.fromarray(gradient()).convert(mode).save(path, dpi=(200, 200))
    [page] = pages_of(path)
    assert isinstance(page, ScanPage)
    assert page.image.shape == (HEIGHT, WIDTH) and page.image.dtype == np.uint8
    assert page.image[150, 100] < 60 and page.image[10, 10] > 200
    assert page.dpi == pytest.approx(200, abs=1)


def test_cmyk_and_16_bit(tmp_path: Path) -> None:
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(gradient()).convert("CMYK").save(cmyk)
    wide = tmp_path / "wide.png"
    Image.fromarray(gradient().astype(np.uint16) * 257).save(wide)
    for path in (cmyk, wide):
        [page] = pages_of(path)
        assert isinstance(page, ScanPage), path
        assert page.image[150, 100] < 60 and page.image[10, 10] > 200, path


def test_multipage_g4_tiff(tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    frames = [Image.fromarray(gradient()).convert("1"), Image.fromarray(255 - gradient()).convert("1")]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="group4")
    pages = pages_of(path)
    assert [p.page_no for p in pages if isinstance(p, ScanPage)] == [1, 2]
    first, second = pages
    assert isinstance(first, ScanPage) and isinstance(second, ScanPage)
    assert first.image[150, 100] == 0 and second.image[150, 100] == 255


def test_scanned_pdf_gives_the_embedded_image(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    images = [Image.fromarray(gradient()), Image.fromarray(255 - gradient())]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=100.0)
    pages = pages_of(path)
    assert len(pages) == 2
    assert all(isinstance(p, ScanPage) and p.image.shape == (HEIGHT, WIDTH) for p in pages)
    assert isinstance(pages[0], ScanPage) and pages[0].dpi == pytest.approx(100, abs=1)
    # Each page is one JPEG image: its bytes are kept, and they decode to the page.
    for page in pages:
        assert isinstance(page, ScanPage) and page.jpeg is not None and page.jpeg.startswith(b"\xff\xd8\xff")
        assert np.array_equal(cv2.imdecode(np.frombuffer(page.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE), page.image)


def test_a_phone_photos_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A phone stores a portrait page sideways and says so in EXIF (orientation 6: turn 90° clockwise)."""
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(gradient())).save(path, exif=exif, quality=95)  # stored turned 90° anticlockwise
    [page] = pages_of(path)
    assert isinstance(page, ScanPage) and page.image.shape == (HEIGHT, WIDTH)
    assert page.image[150, 100] < 60 and page.image[300, 100] > 200 and page.jpeg == path.read_bytes()


def test_a_heic_photo_is_read_as_the_phone_showed_it(tmp_path: Path) -> None:
    """HEIC, in colour, a portrait page stored sideways with its turn in the file (given EXIF orientation 6 as bytes,
    pillow-heif writes it as HEIF's own rotation, as an iPhone writes both): read upright, its pixels those of the page
    within the coding's loss, kept as no JPEG; its name says nothing (the content decides)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(gradient())).convert("RGB").save(path, format="HEIF", quality=90, exif=exif.tobytes())
    [page] = pages_of(path)
    assert isinstance(page, ScanPage) and page.image.shape == (HEIGHT, WIDTH) and page.jpeg is None
    assert float(np.abs(page.image.astype(int) - gradient()).mean()) < 3.0


def test_an_avif_photo_is_read(tmp_path: Path) -> None:
    path = tmp_path / "photo.avif"
    Image.fromarray(gradient()).convert("RGB").save(path, format="AVIF", quality=90)
    [page] = pages_of(path)
    assert isinstance(page, ScanPage) and page.image.shape == (HEIGHT, WIDTH)
    assert float(np.abs(page.image.astype(int) - gradient()).mean()) < 3.0


def test_a_jpeg_file_is_kept_as_its_bytes_other_images_are_not(tmp_path: Path) -> None:
    Image.fromarray(gradient()).save(tmp_path / "page.jpg")
    Image.fromarray(gradient()).save(tmp_path / "page.png")
    Image.fromarray(gradient()).convert("1").save(tmp_path / "page.tif", compression="group4")
    [jpeg] = pages_of(tmp_path / "page.jpg")
    assert isinstance(jpeg, ScanPage) and jpeg.jpeg == (tmp_path / "page.jpg").read_bytes()
    for name in ("page.png", "page.tif"):
        [page] = pages_of(tmp_path / name)
        assert isinstance(page, ScanPage) and page.jpeg is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", Why.FILE_EMPTY),
        (b"just some notes, not a picture", Why.NOT_A_SCAN),
        (b"%PDF-1.4\n1 0 obj <<>> endobj\n", Why.PDF_DAMAGED),
        (b"GIF89a" + b"\x00" * 20, Why.IMAGE_DAMAGED),
    ],
)
def test_bad_files_have_reasons(tmp_path: Path, content: bytes, reason: Why) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    [result] = pages_of(path)
    assert isinstance(result, UnreadableFile) and result.reason.code == reason
    assert page_reason(result.reason)  # worded for the clerk


def test_truncated_jpeg_is_a_page_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    Image.fromarray(gradient()).save(good)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:-200])
    [result] = pages_of(cut)
    assert isinstance(result, UnreadablePageImage) and result.reason.code == Why.IMAGE_TRUNCATED


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )
    result = inspect_file(path)
    assert isinstance(result, UnreadableFile) and result.reason.code == Why.IMAGE_TOO_LARGE


def test_animated_gif_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(gradient()), Image.fromarray(255 - gradient())]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    result = inspect_file(path)
    assert isinstance(result, UnreadableFile) and result.reason.code == Why.ANIMATED_IMAGE


def photo_like() -> np.ndarray:
    """A grey page with texture in every block, so that a block the decoder invents differs from the real one."""
    rng = np.random.default_rng(0)
    return np.asarray(cv2.GaussianBlur(rng.uniform(0, 255, (HEIGHT, WIDTH)).astype(np.uint8), (0, 0), 2.0))


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_jpeg_lacking_only_its_end_marker_is_read_and_one_cut_short_is_refused(
    tmp_path: Path, progressive: bool
) -> None:
    """Phone scanner apps write JPEGs without the end-of-image marker FF D9, every row of the picture there:
    read, the very pixels of the whole file. A file cut at a third of its length is refused, as a file that
    ends two bytes before its last row is (a decoder would invent the rest), and one cut right after an 0xFF
    of its picture data (the next byte would have made it a stuffed data byte, or a marker)."""
    whole = tmp_path / "whole.jpg"
    Image.fromarray(photo_like()).save(whole, quality=90, progressive=progressive)
    data = whole.read_bytes()
    assert data.endswith(b"\xff\xd9")
    [expected] = pages_of(whole)
    assert isinstance(expected, ScanPage)
    for name, cut, readable in (
        ("no-marker.jpg", data[:-2], True),
        ("third.jpg", data[: len(data) // 3], False),
        ("short.jpg", data[:-4], False),
        ("after-ff.jpg", data[: data.index(b"\xff\x00", len(data) // 2) + 1], False),
    ):
        (tmp_path / name).write_bytes(cut)
        [page] = pages_of(tmp_path / name)
        if readable:
            assert isinstance(page, ScanPage), (name, page)
            assert np.array_equal(page.image, expected.image)
            assert page.jpeg is None  # kept as an upright copy: the review's decoder wants the marker
        else:
            assert isinstance(page, UnreadablePageImage) and page.reason.code == Why.IMAGE_TRUNCATED, (name, page)


def test_a_png_lacking_its_iend_chunk_is_read_and_one_cut_short_is_refused(tmp_path: Path) -> None:
    ok, encoded = cv2.imencode(".png", photo_like())
    assert ok
    data = encoded.tobytes()
    assert data.endswith(b"IEND\xaeB`\x82")
    (tmp_path / "no-iend.png").write_bytes(data[:-12])
    (tmp_path / "third.png").write_bytes(data[: len(data) // 3])
    [read] = pages_of(tmp_path / "no-iend.png")
    assert isinstance(read, ScanPage) and np.array_equal(read.image, photo_like())
    [cut] = pages_of(tmp_path / "third.png")
    assert isinstance(cut, UnreadablePageImage) and cut.reason.code == Why.IMAGE_TRUNCATED


def ruled_page(rng: np.random.Generator) -> np.ndarray:
    """A page of ruled boxes with a few ticks, black on pure white (as a scanner app's black-and-white mode or a
    fax leaves it), with the black specks such a threshold keeps from a grainy photo."""
    page = np.full((800, 600), 255, dtype=np.uint8)
    for top in range(60, 760, 70):
        cv2.rectangle(page, (40, top), (560, top + 70), 0, 2)
        for left in (300, 380, 460):
            cv2.rectangle(page, (left, top + 20), (left + 30, top + 50), 0, 3)
    cv2.polylines(page, [np.array([[305, 100], [315, 112], [335, 78]], np.int32)], False, 0, 3)
    page[rng.random(page.shape) < 0.01] = 0
    return page


def test_a_black_and_white_page_saved_as_jpeg_is_read_as_its_two_levels(tmp_path: Path) -> None:
    """A thresholded page saved as JPEG (a scanner app's black-and-white mode) comes back with grey ringing and
    specks between black and white; it is read as the two levels it was (each pixel as it was, but where the
    JPEG moved one across the middle), its file's bytes kept as the scan a clerk is shown."""
    page = ruled_page(np.random.default_rng(3))
    path = tmp_path / "app.jpg"
    cv2.imwrite(str(path), page, [cv2.IMWRITE_JPEG_QUALITY, 60])
    decoded = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert np.count_nonzero((decoded > 8) & (decoded < 247)) > 0.01 * decoded.size  # not bilevel as it decodes
    [read] = pages_of(path)
    assert isinstance(read, ScanPage) and set(np.unique(read.image)) == {0, 255}
    assert np.count_nonzero(read.image != page) < 0.002 * page.size
    assert read.jpeg == path.read_bytes()


@pytest.mark.parametrize("paper", [235, 255])
def test_a_grey_scan_is_read_as_it_is(tmp_path: Path, paper: int) -> None:
    """The same page scanned grey (strokes soft-edged), its paper grey or whitened flat (a scanner app's "enhance"
    mode), is no black-and-white page: its middle greys stay."""
    rng = np.random.default_rng(4)
    soft = cv2.GaussianBlur(ruled_page(rng).astype(np.float32), (0, 0), 1.0)
    grey = np.clip(soft * ((paper - 20) / 255) + 20 + rng.normal(0, 2, soft.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "scan.jpg"
    cv2.imwrite(str(path), grey, [cv2.IMWRITE_JPEG_QUALITY, 85])
    [read] = pages_of(path)
    assert isinstance(read, ScanPage)
    assert np.array_equal(read.image, cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
