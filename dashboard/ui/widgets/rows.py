"""Reading records (rows of the analytics' and reader's frames) tolerantly, for table cells."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pandas as pd

from dashboard.models import engagement
from dashboard.ui.formatting import is_missing
from dashboard.ui.records import Record, records

__all__ = [
    "Record",
    "engagement_of",
    "int_of",
    "moment_of",
    "number_of",
    "openable_url",
    "records",
    "text_of",
]


def text_of(record: Record, column: str) -> str:
    value = record.get(column)
    return "" if is_missing(value) else str(value)


def number_of(record: Record, column: str) -> float | None:
    value = record.get(column)
    if is_missing(value):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def int_of(record: Record, column: str) -> int | None:
    number = number_of(record, column)
    return None if number is None else int(number)


def moment_of(record: Record, column: str) -> datetime | None:
    """A timestamp column (pandas Timestamp, datetime or epoch seconds) as an aware UTC datetime."""
    value = record.get(column)
    if is_missing(value):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    return stamp.to_pydatetime()


def engagement_of(record: Record) -> float | None:
    """A record's engagement (`dashboard.models.engagement` of its counts); a record without any
    count (a frame that only has the sum) gives its own "engagement" column."""
    likes, replies, shares = (number_of(record, column) for column in ("likes", "replies", "shares"))
    total = engagement(likes, replies, shares)
    if total is None and "engagement" in record:
        return number_of(record, "engagement")
    return total


def openable_url(url: str) -> str | None:
    """The URL if a browser may open it (http or https only: never file:, javascript:, data:)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None
