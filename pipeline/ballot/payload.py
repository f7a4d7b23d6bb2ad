"""The QR payload printed on every ballot, and the random sheet serials in it.

Format (version 1), upper-case so that QR alphanumeric mode keeps the code small::

    B1:<TEMPLATE-ID>:<HASH8>:<SESSION>:<SERIAL>

The serial is 10 Crockford base-32 characters (50 random bits from :mod:`secrets`): not sequential and not
derivable from print order. Parsing never raises; it returns a reason string for anything malformed.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass

from pipeline.common.reasons import PageReason, Why

FORMAT_TAG = "B1"
SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
SERIAL_LENGTH = 10

_PAYLOAD = re.compile(
    r"^B(?P<version>\d+):(?P<template>[A-Z0-9][A-Z0-9-]{0,31}):(?P<hash>[0-9A-F]{8}):"
    r"(?P<session>[0-9A-Z][0-9A-Z-]{0,23}):(?P<serial>[" + SERIAL_ALPHABET + r"]{10})$"
)


@dataclass(frozen=True)
class SheetId:
    """What the QR code says about a sheet."""

    template_id: str
    short_hash: str
    session: str
    serial: str

    def encode(self) -> str:
        return ":".join(
            (FORMAT_TAG, self.template_id.upper(), self.short_hash.upper(), self.session.upper(), self.serial)
        )


def parse_payload(text: str) -> SheetId | PageReason:
    """Decode a QR payload, or say why it is not one of our ballots."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        if text.startswith("B") and ":" in text:
            return PageReason.of(Why.CODE_DAMAGED)
        return PageReason.of(Why.CODE_NOT_OURS)
    if match.group("version") != FORMAT_TAG[1:]:
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
