"""Fuzz (bounded, CI): the QR payload parser and the image ingest never raise, whatever they are given."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ballot.payload import SERIAL_ALPHABET, SheetId, b1_payload, parse_payload
from pipeline.common.messages import page_reason
from pipeline.common.reasons import PageReason
from pipeline.reading.ingest import ScanPage, UnreadableFile, UnreadablePageImage, inspect_file, iter_pages

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

payload_like = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda parts: ":".join(parts),
        st.lists(st.text(alphabet="B12:0123456789ABCDEFHJKZ-", max_size=12), min_size=1, max_size=7),
    ),
)


@BOUNDED
@given(payload_like)
def test_parse_payload_never_raises(text: str) -> None:
    result = parse_payload(text)
    assert isinstance(result, SheetId | PageReason)
    if isinstance(result, PageReason):
        assert page_reason(result)  # a reason in words, never empty


ids = st.builds(
    SheetId,
    template_id=st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True),
    short_hash=st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    session=st.from_regex(r"[0-9A-Z][0-9A-Z-]{0,23}", fullmatch=True),
    serial=st.text(alphabet=SERIAL_ALPHABET, min_size=10, max_size=10),
)


@BOUNDED
@given(ids)
def test_sheet_id_round_trip(sheet: SheetId) -> None:
    """What we print names the serial alone (B2); a code printed before (B1) says everything, and is still read."""
    assert parse_payload(sheet.encode()) == SheetId("", "", "", sheet.serial)
    assert parse_payload(b1_payload(sheet)) == sheet


HEADERS = [
    b"",
    b"%PDF-",
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"GIF89a",
    b"BM",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HEADERS), st.binary(max_size=2048))
def test_ingest_of_arbitrary_bytes_never_raises(header: bytes, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scan.bin"
        path.write_bytes(header + body)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damaged metadata; production does not fail on it
            info = inspect_file(path)
            pages = list(iter_pages(path))
    if isinstance(info, UnreadableFile):
        assert pages == [info] and page_reason(info.reason)
    else:
        assert len(pages) == info.page_count
    for page in pages:
        assert isinstance(page, ScanPage | UnreadableFile | UnreadablePageImage)
        if isinstance(page, ScanPage):
            assert page.image.ndim == 2 and page.image.dtype.name == "uint8"
        else:
            assert page_reason(page.reason)
