"""Whether a JPEG or PNG file holds its whole picture, whatever its last bytes say.

Scanner and phone apps now and then write files that lack the format's end marker (JPEG ``FF D9``, PNG
``IEND``) although every row of the picture is there: viewers show them whole, and so must we. A file whose
picture data stops early is another matter: a decoder would invent the rest (OpenCV pads it with grey), and
marks there would be lost without a word. So the end marker decides only when it is there; when it is not, the
picture data itself is examined:

- PNG: Pillow's strict decoder reads the IDAT data to the last row and reports a premature end as truncation.
- JPEG: every component's every coefficient must be covered by the scans present, down to the last bit of
  approximation (a progressive file cut between scans lacks some), and the last scan's entropy-coded data must
  be complete. That last test asks libjpeg itself: decoded once as the file is (the end marker added) and once
  with junk bytes between the data and the end marker, the picture is the same only if the decoder had already
  found every block it needed; a scan cut short takes the junk as its missing data and the pictures differ.

:func:`whole_image` returns the bytes a decoder can take whole (the end marker added where only it was missing),
or None when the picture is cut short.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

JPEG_END = b"\xff\xd9"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
TRAILING = b"\x00\r\n "  # padding some writers leave after the end marker
#: Bytes no JPEG entropy decoder can take for the end of its data: no 0xFF (a marker), nothing that decodes to
#: the zeros libjpeg fills a short scan with.
JUNK = bytes(range(1, 255)) * 8
PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)


def whole_image(data: bytes, kind: str) -> bytes | None:
    """``data`` (a ``kind`` 'jpeg' or 'png' file) as a decoder can take it whole, or None when its picture
    data ends before the last row."""
    tail = data[-64:].rstrip(TRAILING)
    if kind == "jpeg":
        if tail.endswith(JPEG_END):
            return data
        return data + JPEG_END if _jpeg_complete(data) else None
    if tail.endswith(PNG_END[4:]):
        return data
    return data + PNG_END if _png_complete(data) else None


def _png_complete(data: bytes) -> bool:
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as image:
            warnings.simplefilter("ignore")
            image.load()  # strict: raises at a premature end of the IDAT data
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def _jpeg_complete(data: bytes) -> bool:
    scans = _scans(data)
    if scans is None or not _covered(*scans):
        return False
    # Cut right after an 0xFF, the data's next byte makes a marker of it: 0x00 makes it the data byte 0xFF
    # (a stuffed FF 00), so the junk is read as data, not taken for a marker that ends the scan at once.
    junk = (b"\x00" if data.endswith(b"\xff") else b"") + JUNK
    as_is, with_junk = _decoded(data + JPEG_END), _decoded(data + junk + JPEG_END)
    return as_is is not None and with_junk is not None and np.array_equal(as_is, with_junk)


def _decoded(data: bytes) -> np.ndarray | None:
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as image:
            warnings.simplefilter("ignore")
            return np.asarray(image)
    except (OSError, SyntaxError, ValueError):
        return None


Scan = tuple[tuple[int, ...], int, int, int, int]  # component ids, Ss, Se, Ah, Al


def _scans(data: bytes) -> tuple[tuple[int, ...], bool, list[Scan]] | None:
    """The frame's component ids, whether it is progressive, and every scan's header; None when the file's
    structure is broken before its first scan."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at, progressive = 2, False
    components: tuple[int, ...] = ()
    scans: list[Scan] = []
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        segment = data[at + 4 : at + 2 + length]
        if marker in FRAMES and len(segment) >= 6:
            count = segment[5]
            components = tuple(segment[6 + 3 * index] for index in range(count) if 6 + 3 * index < len(segment))
            progressive = marker in PROGRESSIVE
        at += 2 + length
        if marker == 0xDA:
            count = segment[0] if segment else 0
            ids = tuple(segment[1 + 2 * index] for index in range(count) if 1 + 2 * index < len(segment))
            if len(segment) < 4 + 2 * count:
                return None
            ss, se, approximation = segment[1 + 2 * count], segment[2 + 2 * count], segment[3 + 2 * count]
            scans.append((ids, ss, se, approximation >> 4, approximation & 0x0F))
            at = _entropy_end(data, at)
    return (components, progressive, scans) if components and scans else None


def _entropy_end(data: bytes, at: int) -> int:
    """Where a scan's entropy-coded data starting at ``at`` ends: at the next marker that is not a stuffed
    0xFF00 or a restart marker, else at the end of the file."""
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            return len(data)
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at


def _covered(components: tuple[int, ...], progressive: bool, scans: list[Scan]) -> bool:
    """Every coefficient (0–63) of every component is brought to its last bit (successive approximation
    Al = 0) by the scans present."""
    if not progressive:
        return {component for ids, *_ in scans for component in ids} >= set(components)
    last_bit: dict[tuple[int, int], int] = {}
    for ids, ss, se, _, al in scans:
        for component in ids:
            for coefficient in range(ss, se + 1):
                key = (component, coefficient)
                last_bit[key] = min(last_bit.get(key, al), al)
    return all(last_bit.get((component, k)) == 0 for component in components for k in range(64))
