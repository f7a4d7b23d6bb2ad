"""One page of a batch, read whichever way it can be: as one of our ballots, else as an existing office form.

A page without our QR code that is not blank is tried against the existing forms configured for the session, if
any: the forms' branch (:mod:`pipeline.forms.read`) then decides the page. A blank page is blank to the forms too
(the same test, :func:`~pipeline.reading.identify.is_blank`): it is not looked at twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ballot.template import Template
from pipeline.common.reasons import Why
from pipeline.forms.read import read_form_sheet
from pipeline.reading.debug import DebugWriter
from pipeline.reading.identify import Catalog
from pipeline.reading.ingest import ScanPage
from pipeline.reading.outcome import SheetRejected, SheetResult
from pipeline.reading.read import read_sheet
from pipeline.reading.settings import ReadingSettings

#: A page refused for these reasons may be an existing office form.
NOT_OUR_BALLOT = frozenset({Why.NO_CODE})
#: … and so may a page whose only code is not a ballot's: many survey forms print their own QR code or
#: barcode. If no configured form is found on it either, what its code was is the better reason to keep.
FOREIGN_CODE = frozenset({Why.CODE_NOT_OURS, Why.CODE_DAMAGED, Why.CODE_VERSION})


def read_page(
    page: ScanPage,
    session: str,
    catalog: Catalog,
    forms: Sequence[Template],
    settings: ReadingSettings,
    debug: DebugWriter,
) -> SheetResult:
    """``page`` read as one of our ballots (``catalog``: every template printed with the store and every serial
    issued) or, when it has no ballot's code (none, or another form's), as one of the session's existing ``forms``."""
    result = read_sheet(page, session, catalog, settings, debug)
    if not forms or not isinstance(result, SheetRejected):
        return result
    if result.reason.code in NOT_OUR_BALLOT:
        return read_form_sheet(page, session, forms, settings, debug)
    if result.reason.code in FOREIGN_CODE:
        form = read_form_sheet(page, session, forms, settings, debug)
        missing = isinstance(form, SheetRejected) and form.reason.code == Why.FORM_NOT_FOUND
        return result if missing else form
    return result
