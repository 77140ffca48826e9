"""Strict readers for the numeric and date header values that fetcher and sources both act on.

Why strict: `str.isdigit()` is true for "²", "¹²" or Arabic-Indic digits, which `int()` then refuses
(or, worse, accepts), and a 5000-digit value is past `int()`'s digit limit. A header is ASCII text
from a stranger, so only ASCII digits count; anything else is unreadable and the caller falls back
to its documented default. Every function returns None rather than raise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dashboard.clock import utc_now

# More digits than this is longer than any wait or epoch we would act on: RFC 9111 (4.2.1) tells a
# recipient to read a delta-seconds value it cannot represent as the largest it can, so longer runs of
# digits read as LARGEST and the caller's own cap applies.
_MAX_DIGITS = 12
LARGEST: int = 10**_MAX_DIGITS - 1

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
# RFC 9110 5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept.
_IMF_FIXDATE = re.compile(rf"{_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT", re.ASCII)
_RFC850 = re.compile(rf"{_LONG_DAY}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) {_TIME} GMT", re.ASCII)
_ASCTIME = re.compile(rf"{_DAY} {_MONTH} (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})", re.ASCII)


def ascii_integer(value: str | None) -> int | None:
    """A non-negative integer written in ASCII digits only (optional surrounding blanks), else None.

    Runs longer than 12 digits read as LARGEST (RFC 9111's rule for values too large to represent).
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if not _DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > _MAX_DIGITS:
        return LARGEST
    return int(significant)


def http_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """An HTTP-date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime form) as an aware UTC time, else None.

    A two-digit RFC 850 year more than 50 years ahead of `now` is taken as the most recent past year
    with those digits, as RFC 9110 asks.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    match = _IMF_FIXDATE.fullmatch(text) or _ASCTIME.fullmatch(text)
    year_of: int | None = None
    if match is not None:
        year_of = int(match["year"])
    else:
        match = _RFC850.fullmatch(text)
        if match is None:
            return None
        current = (now or utc_now()).year
        year_of = current - current % 100 + int(match["year"])
        if year_of > current + 50:
            year_of -= 100
    try:
        return datetime(
            year_of,
            _MONTHS.index(match["month"]) + 1,
            int(match["day"].strip()),
            int(match["hour"]),
            int(match["minute"]),
            # A leap second (60) is valid in an HTTP-date but not in datetime: read it as :59.
            min(int(match["second"]), 59),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, hour 25, year 0
        return None


def epoch_seconds(value: str | None) -> datetime | None:
    """Epoch seconds in ASCII digits (X-RateLimit-Reset) as an aware UTC time, else None.

    Values past the year 2242 (2**33 s) read as that moment: callers cap waits far below it anyway.
    """
    seconds = ascii_integer(value)
    if seconds is None:
        return None
    return datetime.fromtimestamp(min(seconds, 2**33), UTC)
