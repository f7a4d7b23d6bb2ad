"""Times as the office reads them. The store writes every time stamp in UTC (ISO 8601); a clerk reads them, on
the review page, in the workbook and in the terminal, in the office's time zone, and the workbook's 制表日期 is
that zone's date, so that the two agree.

The zone is ``BALLOT_TZ`` (an IANA name such as ``Asia/Urumqi``), else Asia/Shanghai: every office this tool is
for keeps Beijing time (one zone, no daylight saving), while the machines it runs on often keep UTC (servers,
containers, a fresh Debian), which is how times came out 8 hours early. A machine set to Beijing time gives the
same answer either way.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONE_ENV = "BALLOT_TZ"
DEFAULT_ZONE = "Asia/Shanghai"
#: Beijing time when the system has no time zone data (no tzdata package): UTC+8 all year since 1991.
BEIJING = timezone(timedelta(hours=8), "UTC+8")
SHOWN = "%Y-%m-%d %H:%M:%S"


class ZoneUnknown(ValueError):  # noqa: N818 - a setting the clerk must correct
    """``BALLOT_TZ`` names no time zone this machine knows."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def office_zone(name: str | None = None) -> tzinfo:
    """The zone ``name`` names, else ``BALLOT_TZ``'s, else Asia/Shanghai; :class:`ZoneUnknown` for a bad name."""
    name = name or os.environ.get(ZONE_ENV) or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return BEIJING
        raise ZoneUnknown(name) from None


def local_time(stamp: str, zone: tzinfo) -> str:
    """A stored UTC time stamp in ``zone``, to the second: '2026-06-28T02:12:05+00:00' → '2026-06-28 10:12:05'.
    Text that is no time stamp (a hand-edited store) is shown as it is; a stamp without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(SHOWN)


def local_date(zone: tzinfo) -> str:
    """Today's date in ``zone``, ISO 8601."""
    return datetime.now(zone).date().isoformat()
