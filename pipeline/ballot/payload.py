"""The QR payload printed on every ballot, and the random sheet serials in it.

Format, upper-case so that QR alphanumeric mode keeps the code small::

    B2:<SERIAL>                                        printed since stop 41
    B1:<TEMPLATE-ID>:<HASH8>:<SESSION>:<SERIAL>        printed before, still read

The serial is 10 Crockford base-32 characters (50 random bits from :mod:`secrets`): not sequential and not
derivable from print order. A B2 code names the serial alone; the store's register of issued serials says which
template and session it was printed for (a serial is issued once per store). So it is a version 1 symbol (21
modules, error correction Q) where a B1 code was version 3 (29 modules, M): in the same 22 mm each module is
0.76 mm, not 0.59, which a steep photo's far side or a standard fax's 98 lines an inch still resolve. Parsing
never raises; it returns a reason string for anything malformed.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass

from pipeline.common.reasons import PageReason, Why

FORMAT_TAG = "B2"  # what `ballot print` prints
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
SERIAL_LENGTH = 10

_SERIAL_ONLY = re.compile(rf"^{FORMAT_TAG}:(?P<serial>[{SERIAL_ALPHABET}]{{{SERIAL_LENGTH}}})$")
_PAYLOAD = re.compile(
    r"^B(?P<version>\d+):(?P<template>[A-Z0-9][A-Z0-9-]{0,31}):(?P<hash>[0-9A-F]{8}):"
    r"(?P<session>[0-9A-Z][0-9A-Z-]{0,23}):(?P<serial>[" + SERIAL_ALPHABET + r"]{10})$"
)


@dataclass(frozen=True)
class SheetId:
    """Which sheet a page is: the template it was printed from (id, short hash), its session and its serial. Decoded
    from a B2 code, which names the serial alone, template, hash and session are empty (:attr:`serial_only`) until
    the register of issued serials fills them in (:meth:`pipeline.reading.identify.Catalog.issued`)."""

    template_id: str
    short_hash: str
    session: str
    serial: str

    @property
    def serial_only(self) -> bool:
        return not self.template_id

    def encode(self) -> str:
        """The payload our printer puts in the sheet's code (B2)."""
        return f"{FORMAT_TAG}:{self.serial}"


def b1_payload(sheet: SheetId) -> str:
    """The B1 payload our printer put in ``sheet``'s code before stop 41 (template, hash, session and serial)."""
    return ":".join(("B1", sheet.template_id.upper(), sheet.short_hash.upper(), sheet.session.upper(), sheet.serial))


def parse_payload(text: str) -> SheetId | PageReason:
    """Decode a QR payload (B2, or B1 as printed before), or say why it is not one of our ballots."""
    serial_only = _SERIAL_ONLY.match(text.strip())
    if serial_only is not None:
        return SheetId("", "", "", serial_only.group("serial"))
    match = _PAYLOAD.match(text.strip())
    if match is None:
        if text.startswith("B") and ":" in text:
            return PageReason.of(Why.CODE_DAMAGED)
        return PageReason.of(Why.CODE_NOT_OURS)
    if match.group("version") != "1":
        return PageReason.of(Why.CODE_VERSION, version=match.group("version"))
    return SheetId(
        template_id=match.group("template").lower(),
        short_hash=match.group("hash").lower(),
        session=match.group("session"),
        serial=match.group("serial"),
    )


def new_serial(draw: random.Random | None = None) -> str:
    """A fresh serial from :mod:`secrets`; from ``draw`` instead where a batch must come out the same every time
    (the benchmarks compare two versions of the reader on the same sheets)."""
    if draw is not None:
        return "".join(draw.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def format_serial(serial: str) -> str:
    """Human-readable form printed under the QR code: 'K7QX-M2PD-5Z'."""
    return f"{serial[:4]}-{serial[4:8]}-{serial[8:]}"


def serial_characters(text: str) -> str:
    """The characters of ``text`` a serial could hold, as a clerk or OCR reads them: upper case, O taken for 0
    and I or L for 1 (as Crockford allows), everything else dropped."""
    upper = text.upper().translate(str.maketrans("OIL", "011"))
    return "".join(char for char in upper if char in SERIAL_ALPHABET)


def normalise_serial(text: str) -> str | None:
    """A serial as a clerk types it from the sheet ('k7qx-m2pd-5z', with O for 0 or I/L for 1, as Crockford
    allows), or None when it cannot be one."""
    serial = text.strip().upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    if len(serial) != SERIAL_LENGTH or any(char not in SERIAL_ALPHABET for char in serial):
        return None
    return serial
