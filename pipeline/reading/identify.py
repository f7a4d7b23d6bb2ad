"""Identify: find and decode the page's QR code (zxing-cpp).

The QR code says which sheet a page is (its serial, whose template and session the store's register of issued
serials says; a code printed before stop 41 says them itself: :mod:`pipeline.ballot.payload`), and its four corners,
found in whatever orientation the page was fed, give the first, coarse page → image transform. The corners of the
page are searched first (a 22 mm code decodes in about a millisecond there); the whole page only if that fails. A
phone photo taken from afar leaves a small, soft code (at ~150 dpi ~4.5 px a module, a B1 code's ~3.5) that zxing
reads only enlarged: :func:`find_small_qr` tries that, for pages that are not blank. A code that is not a
ballot's (a sticker, another form's code, a damaged code decoded as something else) never ends the search:
it is what the page is said to carry only when no ballot's code is found anywhere.

A region that holds the codes of two different ballots is two sheets fed together (or lying on the glass one
over the other): the code found says so in ``QrCode.overlap`` and the page must not be read, whichever sheet's
marks the aligner would find. Only the region already decoded is looked at, so this costs nothing extra.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

from pipeline.ballot.payload import SheetId, format_serial, parse_payload
from pipeline.ballot.template import Template
from pipeline.common.imaging import Gray
from pipeline.common.reasons import PageReason, Why
from pipeline.reading.outline import PhotoSheet

CORNER_SHARE = 0.36  # each corner window spans this share of the page's width and height
BINARIZERS = (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.FixedThreshold)
# The last resort's ways of preparing each corner for zxing, tried in turn (LocalAverage binarizer):
# - "enlarged", "enlarged, sharpened" (2×; 3× with an unsharp mask of weight 1): a small, soft code. Measured on
#   200 phone photos (mixed, seed 404), 12 codes not found at all were read in 9 corners enlarged twice, 10
#   enlarged three times and sharpened (2 more with a global histogram, tried first).
# - the rest clean away specks: a dirty scan or a fax's pepper noise and dither break the code's finder
#   patterns into them. Measured on the 48 pages of three bad batches of 200 (mixed 101 and 505, hard 303)
#   whose code was not found, 19 were read this way (a 3 px median; at twice the size a 5 px median or a
#   blur; specks closed, then opened away).
PREPARED = ("enlarged", "enlarged, sharpened", "median", "median, enlarged", "blur, enlarged", "opening")
SPECK = np.ones((2, 2), np.uint8)
BLANK_DARK_LEVEL = 110  # grey level below which a pixel counts as real ink on a blank-page test
# … or this many grey levels below the paper round it (PAPER_WINDOW_PX of the image halved): the print of a sheet
# photographed from afar on a surface as light as itself, soft and small, is nowhere as dark as BLANK_DARK_LEVEL
# (a ballot on a white table came out a blank page, never counted nor shown to a clerk). Print showing through a
# blank back is 3–14 % dark, 35 levels at most.
BLANK_CONTRAST = 60
PAPER_WINDOW_PX = 15


@dataclass(frozen=True)
class Catalog:
    """What a store printed, for pages to be told by: every template, (id, short hash) → (content hash, template),
    and every serial issued, serial → {session: the (id, short hash) of the template it was printed from} (a serial
    is issued once per store since stop 41; one issued in two sessions before is told by the session being read)."""

    templates: Mapping[tuple[str, str], tuple[str, Template]]
    serials: Mapping[str, Mapping[str, tuple[str, str]]]

    def issued(self, serial: str, session: str | None) -> SheetId | None:
        """The sheet the register has issued ``serial`` to, of ``session`` where it was issued there (None: any),
        else of the session it was; None where it never was."""
        issued = self.serials.get(serial, {})
        sheet_session = session if session in issued else next(iter(issued), None)
        if sheet_session is None:
            return None
        template_id, short_hash = issued[sheet_session]
        return SheetId(template_id, short_hash, sheet_session, serial)


@dataclass(frozen=True)
class QrCode:
    """A decoded QR code: its payload (or why it is not ours) and its corners in image pixels,
    in the symbol's own order top-left, top-right, bottom-right, bottom-left."""

    sheet: SheetId | PageReason  # the ballot, or why the code is not a ballot's
    text: str
    corners: npt.NDArray[np.float64]
    modules: int  # symbol size in modules (17 + 4 × version)
    overlap: PageReason | None = None  # why the page must not be read: another ballot's code was decoded beside it


@dataclass(frozen=True)
class Identified:
    """A ballot of this session, printed with this store: its code, and the template it was printed from."""

    qr: QrCode
    sheet: SheetId
    template_hash: str
    template: Template


@dataclass(frozen=True)
class Unidentified:
    """A page that is not a ballot of this session: blank, unreadable, wrong_template, wrong_session or
    unknown_serial (a code naming its serial alone, never issued with this store)."""

    outcome: str
    reason: PageReason
    sheet: SheetId | None = None
    template_hash: str | None = None


def identify_page(
    image: Gray, session: str | None, catalog: Catalog, blank_page_ink: float, photo: PhotoSheet | None = None
) -> Identified | Unidentified:
    """Which ballot ``image`` is: its QR code (looked for hard only on a page that is not blank), checked
    against the templates and serials of the store (``catalog``) and the session being read (None: any). ``photo``:
    the photo's sheet (:class:`~pipeline.reading.outline.PhotoSheet`) where the caller looks at it again."""
    qr = find_qr(image)
    blank = qr is None and is_blank(image, blank_page_ink)
    if (qr is None and not blank) or (qr is not None and not isinstance(qr.sheet, SheetId)):
        qr = first_ballot((qr, find_small_qr(image, photo)))
    if qr is None:
        return (
            Unidentified("blank", PageReason.of(Why.BLANK))
            if blank
            else Unidentified("unreadable", PageReason.of(Why.NO_CODE))
        )
    if qr.overlap is not None:  # two ballots: neither sheet's marks can be trusted to be its own
        return Unidentified("unreadable", qr.overlap)
    sheet = qr.sheet
    if not isinstance(sheet, SheetId):
        return Unidentified("wrong_template", sheet)
    if sheet.serial_only:
        issued = catalog.issued(sheet.serial, session)
        if issued is None:
            reason = PageReason.of(Why.UNKNOWN_SERIAL, serial=sheet.serial, session=session or "")
            return Unidentified("unknown_serial", reason, sheet)  # its serial kept: the clerk looks for the sheet
        sheet = issued
    known = catalog.templates.get((sheet.template_id, sheet.short_hash))
    if known is None:
        reason = PageReason.of(Why.TEMPLATE_UNKNOWN, template=sheet.template_id, short_hash=sheet.short_hash)
        return Unidentified("wrong_template", reason, sheet)
    template_hash, template = known
    if session is not None and sheet.session != session:
        reason = PageReason.of(Why.OTHER_SESSION, session=sheet.session, expected=session)
        return Unidentified("wrong_session", reason, sheet, template_hash)
    return Identified(qr, sheet, template_hash, template)


def is_blank(image: Gray, max_ink: float) -> bool:
    """Less than ``max_ink`` of the page (sampled every 4th pixel) is dark ink, nor does as much stand out from the
    paper round it by BLANK_CONTRAST (looked at only where the first says blank): a blank page."""
    small = image[::4, ::4]
    if float(np.count_nonzero(small < BLANK_DARK_LEVEL)) / small.size >= max_ink:
        return False
    half = np.asarray(cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), dtype=np.int16)
    paper = cv2.dilate(half, np.ones((PAPER_WINDOW_PX, PAPER_WINDOW_PX), np.uint8))
    return float(np.count_nonzero(paper - half > BLANK_CONTRAST)) / half.size < max_ink


def find_qr(image: Gray) -> QrCode | None:
    """The page's code: a ballot's, else one that is not (a sticker, another form's code) when no window
    shows a ballot's (:func:`first_ballot`), else None."""

    def attempts() -> Iterator[QrCode | None]:
        # zxing's local binarizer now and then takes a registration mark beside the code for one of its finder
        # patterns and gives up; a plain global threshold then reads the code (measured on a sharp office scan).
        for binarizer in BINARIZERS:
            for top, left, corner in _corners(image):
                yield decode_region(corner, top, left, binarizer)
        yield decode_region(image, 0, 0, BINARIZERS[0])

    return first_ballot(attempts())


def find_small_qr(image: Gray, photo: PhotoSheet | None = None) -> QrCode | None:
    """:func:`find_qr`'s last resort for a code too small and soft, or too noisy, to read as it is: each
    corner with a global threshold, then prepared in each of the PREPARED ways (:func:`first_ballot`), then the
    corners of the part of the photo a sheet lies in (``photo``: the photo's sheet, found here if not given). A few
    tenths of a second: only for a page that showed no ballot's code and is not blank."""

    def attempts(windows: list[tuple[int, int, Gray]]) -> Iterator[QrCode | None]:
        for top, left, corner in windows:
            yield decode_region(corner, top, left, zxingcpp.Binarizer.GlobalHistogram)
        for how in PREPARED:
            for top, left, corner in windows:
                region, factor = _prepared(corner, how)
                yield decode_region(region, top, left, BINARIZERS[0], factor)

    found = first_ballot(attempts(_corners(image)))
    if found is not None and isinstance(found.sheet, SheetId):
        return found
    # A sheet lying in a part of the photo (on a desk, from afar): its code lies in a corner of the sheet, not of
    # the frame, and the frame's corner windows cut it or miss it.
    window = (photo or PhotoSheet(image)).window
    if window is None:
        return found
    inside = [(window.top + top, window.left + left, corner) for top, left, corner in _corners(window.pixels)]
    return first_ballot(itertools.chain((found,), attempts(inside)))  # a foreign code found before, kept


def first_ballot(findings: Iterable[QrCode | None]) -> QrCode | None:
    """The first ballot's code of ``findings`` (tried lazily, in order: the first one ends the search), else
    the first code found that is not a ballot's, else None."""
    other = None
    for found in findings:
        if found is not None and isinstance(found.sheet, SheetId):
            return found
        other = other or found
    return other


def _prepared(corner: Gray, how: str) -> tuple[Gray, float]:
    """``corner`` prepared for zxing as PREPARED says, and the factor it was enlarged by."""
    match how:
        case "enlarged":
            return _twice(corner), 2.0
        case "enlarged, sharpened":
            region = cv2.resize(corner, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
            soft = cv2.GaussianBlur(region, (0, 0), 3.0)
            return np.asarray(cv2.addWeighted(region, 2.0, soft, -1.0, 0), dtype=np.uint8), 3.0
        case "median":
            return np.asarray(cv2.medianBlur(corner, 3), dtype=np.uint8), 1.0
        case "median, enlarged":
            return np.asarray(cv2.medianBlur(_twice(corner), 5), dtype=np.uint8), 2.0
        case "blur, enlarged":
            return np.asarray(cv2.GaussianBlur(_twice(corner), (0, 0), 2.0), dtype=np.uint8), 2.0
        case "opening":
            closed = cv2.morphologyEx(corner, cv2.MORPH_CLOSE, SPECK)
            return np.asarray(cv2.morphologyEx(closed, cv2.MORPH_OPEN, SPECK), dtype=np.uint8), 1.0
    raise ValueError(how)


def _twice(corner: Gray) -> Gray:
    return np.asarray(cv2.resize(corner, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def _corners(image: Gray) -> list[tuple[int, int, Gray]]:
    """The page's corner windows (top, left, pixels) in the order a code is likeliest in: upright pages have
    it top right, upside-down feeds bottom left, then the 90° turns."""
    height, width = image.shape
    h, w = int(height * CORNER_SHARE), int(width * CORNER_SHARE)
    return [
        (top, left, image[top : top + h, left : left + w])
        for top, left in ((0, width - w), (height - h, 0), (0, 0), (height - h, width - w))
    ]


def decode_region(
    region: Gray, top: int, left: int, binarizer: zxingcpp.Binarizer, scale: float = 1.0
) -> QrCode | None:
    """The code in ``region`` (cut from the page at ``top``, ``left`` and enlarged ``scale`` times)."""
    results = zxingcpp.read_barcodes(region, formats=zxingcpp.BarcodeFormat.QRCode, binarizer=binarizer)  # type: ignore[arg-type]
    ours = [result for result in results if result.valid]
    if not ours:
        return None
    # Prefer one of our payloads if a sheet somehow carries two codes (a sticker, a foreign form's code).
    ours.sort(key=lambda result: not isinstance(parse_payload(result.text), SheetId))
    best = ours[0]
    ballots = {result.text: sheet for result in ours if isinstance(sheet := parse_payload(result.text), SheetId)}
    overlap = _two_ballots(list(ballots.values())) if len(ballots) > 1 else None
    position = best.position
    corners = np.array(
        [
            [position.top_left.x, position.top_left.y],
            [position.top_right.x, position.top_right.y],
            [position.bottom_right.x, position.bottom_right.y],
            [position.bottom_left.x, position.bottom_left.y],
        ],
        dtype=np.float64,
    ) / scale + np.array([left, top], dtype=np.float64)
    version = best.extra.get("Version") if isinstance(best.extra, dict) else None
    modules = 17 + 4 * int(version) if version and str(version).isdigit() else modules_of(best.text)
    return QrCode(parse_payload(best.text), best.text, corners, modules, overlap)


def _two_ballots(sheets: list[SheetId]) -> PageReason:
    """The clerk's reason for a page carrying several ballots' codes; the serials help find the sheets."""
    serials = [format_serial(sheet.serial) for sheet in sorted(sheets, key=lambda sheet: sheet.serial)]
    return PageReason.of(Why.TWO_BALLOTS, serials=serials)


def modules_of(text: str) -> int:
    """Symbol size as our printer would have encoded ``text`` (when the decoder does not say)."""
    import segno

    return len(segno.make(text, error="m", micro=False).matrix)
