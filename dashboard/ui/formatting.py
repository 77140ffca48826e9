"""Numbers, changes, times and ages as short strings for panels (pure, locale-free)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NEW = "new"  # nothing in the previous window


@dataclass(frozen=True, slots=True)
class Change:
    """How a KPI moved against the previous window, ready to display."""

    label: str
    trend: Trend


def is_missing(value: object) -> bool:
    """None, NaN and pandas' NA/NaT all mean 'unknown' here."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and NA are not equal to themselves
    except (TypeError, ValueError):
        return False


def format_count(value: float | int | None) -> str:
    """1234 -> '1,234'; 12345 -> '12.3k'; 2.5e6 -> '2.5M'; unknown -> '–'."""
    if is_missing(value):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    magnitude = abs(number)
    if magnitude >= 1_000_000:
        return f"{number / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{number / 1_000:.1f}k"
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}"


def change_against(current: float | None, previous: float | None) -> Change:
    """The relative change from `previous` to `current`, e.g. '▲ 12%' or '▼ 3%'."""
    if is_missing(current) or is_missing(previous):
        return Change("", Trend.FLAT)
    now_value, before = float(current), float(previous)  # type: ignore[arg-type]
    if before == 0:
        return Change("new", Trend.NEW) if now_value > 0 else Change("= 0%", Trend.FLAT)
    percent = (now_value - before) / before * 100
    if math.isclose(percent, 0.0, abs_tol=0.5):
        return Change("= 0%", Trend.FLAT)
    arrow, trend = ("▲", Trend.UP) if percent > 0 else ("▼", Trend.DOWN)
    return Change(f"{arrow} {abs(percent):.0f}%", trend)


def local_time(moment: datetime | None, now: datetime) -> str:
    """A UTC moment in the viewer's local time: 'HH:MM' today, 'Mon DD HH:MM' otherwise."""
    if moment is None or is_missing(moment):
        return "–"
    local, local_now = moment.astimezone(), now.astimezone()
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    if local.year == local_now.year:
        return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


COMPACT_CLOCK_SPAN = timedelta(hours=12)


def compact_time(moment: datetime | None, now: datetime) -> str:
    """At most 8 cells for narrow columns: '23:43' today or within 12 h (a next poll just after
    midnight), 'Nov 25' earlier this year, 'Nov 2024' before."""
    if moment is None or is_missing(moment):
        return "–"
    local, local_now = moment.astimezone(), now.astimezone()
    if local.date() == local_now.date() or abs(moment - now) < COMPACT_CLOCK_SPAN:
        return local.strftime("%H:%M")
    if local.year == local_now.year:
        return local.strftime("%b %d")
    return local.strftime("%b %Y")


def duration(span: timedelta) -> str:
    """A coarse human duration: '45 s', '12 min', '3 h', '2 d'."""
    seconds = abs(span.total_seconds())
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600:.0f} h"
    return f"{seconds // 86400:.0f} d"


def relative(moment: datetime | None, now: datetime) -> str:
    """'3 min ago' or 'in 4 min' (or 'now'), for poll times."""
    if moment is None or is_missing(moment):
        return "–"
    span = moment - now
    if abs(span.total_seconds()) < 1:
        return "now"
    return f"in {duration(span)}" if span.total_seconds() > 0 else f"{duration(span)} ago"


def age_hours(hours: float | None) -> str:
    """An age given in hours (needs_reply.age_hours) as a duration."""
    if is_missing(hours):
        return "–"
    return duration(timedelta(hours=float(hours)))  # type: ignore[arg-type]
