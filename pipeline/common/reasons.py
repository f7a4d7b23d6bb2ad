"""Why a page or a file is not counted, and why a row went to a clerk: typed codes, never sentences.

Every stage that refuses a page says so with a :class:`PageReason`: a :class:`Why` code and the few numbers
or names the clerk's message shows (``detail``, JSON-able). The store keeps the code (a CHECK in the schema)
and the detail; :mod:`pipeline.common.messages` renders both in Chinese or English. Nothing parses a
reason's text. A row's reason is a :class:`RowWhy` code alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Why(StrEnum):
    """Why a file or a page is not counted, or how a form without a QR code was recognised (a read page)."""

    # -- the file ------------------------------------------------------------------------------------------
    FILE_UNOPENABLE = "file_unopenable"  # error
    FILE_EMPTY = "file_empty"
    NOT_A_SCAN = "not_a_scan"
    IMAGE_TOO_LARGE = "image_too_large"  # width, height (when the header says)
    IMAGE_DAMAGED = "image_damaged"  # error
    ANIMATED_IMAGE = "animated_image"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_NO_PAGES = "pdf_no_pages"
    PDF_DAMAGED = "pdf_damaged"  # error
    LINK_BROKEN = "link_broken"
    NO_SUCH_FILE = "no_such_file"
    NOT_A_FILE = "not_a_file"
    # -- decoding a page -----------------------------------------------------------------------------------
    PAGE_TOO_LARGE = "page_too_large"
    IMAGE_TRUNCATED = "image_truncated"
    IMAGE_UNDECODABLE = "image_undecodable"
    PAGE_UNDECODABLE = "page_undecodable"  # page, error
    PDF_UNOPENABLE = "pdf_unopenable"  # error
    PDF_PAGE_DAMAGED = "pdf_page_damaged"  # page, error
    INTERNAL_ERROR = "internal_error"  # error (the exception's type)
    # -- identify ------------------------------------------------------------------------------------------
    BLANK = "blank"
    NO_CODE = "no_code"
    TWO_BALLOTS = "two_ballots"  # serials
    CODE_DAMAGED = "code_damaged"
    CODE_NOT_OURS = "code_not_ours"
    CODE_VERSION = "code_version"  # version
    TEMPLATE_UNKNOWN = "template_unknown"  # template, short_hash
    OTHER_SESSION = "other_session"  # session (on the sheet), expected
    SERIAL_FROM_TEXT = "serial_from_text"  # readings (what OCR read), issued (the serial taken, if corrected): read
    SERIAL_UNREADABLE = "serial_unreadable"  # template: found by its marks, neither its code nor its serial read
    # template: found by its marks and its rows read, neither its code nor its serial read: counted once a clerk
    # types the serial printed under the code (its rows, stored, fill the clerk's form)
    SERIAL_TO_TYPE = "serial_to_type"
    SHEET_TOO_SMALL = "sheet_too_small"  # dpi: a sheet in the photo, too small for its code or marks to show
    CODE_TOO_SMALL = "code_too_small"  # template, dpi: found by its marks, its code too small in the photo to read
    # -- align and refine ----------------------------------------------------------------------------------
    RESOLUTION = "resolution"  # dpi
    MARKS_MISSING = "marks_missing"  # found
    MARKS_MISFIT = "marks_misfit"
    MIRRORED = "mirrored"
    QR_DISAGREES = "qr_disagrees"  # mm
    SKEWED = "skewed"  # degrees
    STRETCHED = "stretched"  # percent
    CUT_OFF = "cut_off"
    BORDERS_MISSING = "borders_missing"  # found, total
    BORDERS_OFF_PLANE = "borders_off_plane"
    BORDERS_DISAGREE = "borders_disagree"  # agree, total
    CURLED = "curled"  # mm
    # -- check ---------------------------------------------------------------------------------------------
    FOREIGN_RULES = "foreign_rules"  # horizontal, vertical
    # -- existing office forms ---------------------------------------------------------------------------------
    FORM_NOT_FOUND = "form_not_found"  # failures: one detail (with its "code") per configured form
    FORM_TABLE_MISSING = "form_table_missing"  # form
    FORM_CROSSINGS = "form_crossings"  # form, found, expected
    FORM_NOT_FLAT = "form_not_flat"  # form
    FORM_CURLED = "form_curled"  # form, mm
    FORM_AMBIGUOUS = "form_ambiguous"  # forms, title
    FORM_DISTORTED = "form_distorted"  # degrees, percent
    FORM_BY_TABLE = "form_by_table"  # form, forms (how many were configured): a read page
    FORM_BY_TITLE = "form_by_title"  # form, title, percent: a read page
    FORM_PLACES_MISSING = "form_places_missing"  # form, found, expected
    FORM_PLACES_FOREIGN = "form_places_foreign"  # form, extra
    FORM_BY_PLACES = "form_by_places"  # form, forms, found, expected: a read page
    FORM_BY_CODE = "form_by_code"  # form, text: a read page, told apart by the code it prints
    # -- the session's history (decided when the page is stored) -------------------------------------------
    DUPLICATE_IMAGE = "duplicate_image"  # path, page
    UNKNOWN_SERIAL = "unknown_serial"  # serial, session
    DUPLICATE_SERIAL = "duplicate_serial"  # serial, path, page, same_image
    SERIAL_TEXT_UNKNOWN = "serial_text_unknown"  # readings, session: a serial read from print matches none issued
    # -- a store written before reasons were codes ---------------------------------------------------------
    LEGACY = "legacy"  # text


@dataclass(frozen=True)
class PageReason:
    """A code and what its message shows (numbers rounded as shown, names, an exception's text)."""

    code: Why
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, code: Why, **detail: Any) -> PageReason:
        return cls(code, detail)


class RowWhy(StrEnum):
    """Why the classifier sent a row to a clerk."""

    MARGINAL = "marginal"
    CORRECTION = "correction"
    OUTSIDE = "outside"
    ALIGNMENT = "alignment"
    LINE = "line"
    UNEQUAL = "unequal"
    CIRCLE = "circle"
    EDGE = "edge"
    NOISY = "noisy"
    FAINT = "faint"
    LEG = "leg"  # the mark may be the long leg of a tick in the box below
    SCRIBBLED = "scribbled"  # the row's one mark has far more ink around it than a tick leaves: crossed out?
    DROPPED = "dropped"  # nothing seen, on a black-and-white scan that broke the sheet's marks up: a light one lost?


class BoxSeen(StrEnum):
    """What the machine saw in one box of a row it asks about, from its scores (the clerk reads it beside the
    crop: a fill percentage alone can point the wrong way, e.g. erased residue covering more than a faint tick)."""

    EMPTY = "empty"
    CLEAR = "clear"  # one mark, large and dark enough to count
    FAINT = "faint"  # lighter than a pen or pencil stroke: a light hand, or what an eraser left
    SMALL = "small"  # dark but small: a dot, a short stroke
    SPECKS = "specks"  # specks apart from one another
    RING = "ring"  # a ring drawn round the box
    LINE = "line"  # a straight line right through the box
    OUTSIDE = "outside"  # ink beside the box, not in it
    BORDER = "border"  # ink along the printed border
    TAPED = "taped"  # correction tape laid across the box: a mark taken back


class Refusal(StrEnum):
    """Why a clerk's decision is not recorded (the review page and the terminal show it, in the clerk's words)."""

    NO_ROW = "no_row"  # unit, page
    NO_PAGE = "no_page"  # page
    NO_OPTION = "no_option"  # unit, choice
    NOT_FLAGGED = "not_flagged"  # unit: the machine read it without doubt; a correction must say so
    NOTHING_TO_UNDO = "nothing_to_undo"
    BAD_SERIAL = "bad_serial"  # serial
    OTHER_SERIAL = "other_serial"  # serial: the page's own, which the clerk's differs from
    ONLY_READ_VOID = "only_read_void"
    NOT_REJECTED = "not_rejected"  # outcome
    ONLY_UNREADABLE_COUNTED = "only_unreadable_counted"  # outcome
    TEMPLATE_UNKNOWN = "template_unknown"
    NO_ROWS_ENTERED = "no_rows_entered"
    SERIAL_NEEDED = "serial_needed"
    SERIAL_NOT_ISSUED = "serial_not_issued"  # serial, session
    SERIAL_COUNTED = "serial_counted"  # serial, page
    ROWS_MALFORMED = "rows_malformed"
    ROW_UNKNOWN = "row_unknown"  # unit: not on the template, or entered twice
    ROW_READING_UNKNOWN = "row_reading_unknown"  # unit, kind
    ROWS_MISSING = "rows_missing"  # units
    NO_IMAGE = "no_image"  # page


#: The page outcomes a store knows, in the order they are listed to a clerk.
OUTCOMES = ("read", "blank", "unreadable", "wrong_session", "wrong_template", "unknown_serial", "duplicate")
