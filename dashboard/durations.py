"""Human durations: "90s", "15m", "1h30m", "2d", "2w" <-> seconds.

The one grammar for every duration a user types: feeds.toml (`interval`, `timeout`...), the CLI's
`--since`/`--until` spans and the UI's windows (`dashboard.analytics.windows.parse_span` calls
`parse_duration`). Formatting is its inverse, so what a user reads on screen is something they could
paste back into feeds.toml or onto the command line.

The dashboard's windows (24 h, 7 d, 30 d) are defined here once, with every way they are named
(`span_label` "7 d", `span_words` "7 days", the prose of the window and the one before it), so the
analytics (`Window.last`), the app's `w` cycle, the command palette and the panels agree. This module
imports neither pandas nor Textual: every layer may read it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dashboard.text import display_safe

# Parsing units, in the order they must appear ("min" is accepted as well as "m").
PARSE_UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Formatting units: days are the largest shown, so "14d" stays "14d" on screen.
UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Longer than a year is a typo in feeds.toml, and keeps `now + timedelta(seconds=...)` far from overflowing.
MAX_DURATION = 366 * 86400.0
DURATION_EXAMPLES = '"90s", "15m", "1h30m", "2d" or "2w"'
# Spans up to this long are told in hours ("36 h") and bucketed per hour, longer ones in days.
HOURLY_UP_TO = 48 * 3600

_AMOUNT = r"(\d{1,9}(?:\.\d{1,6})?)"
# Units in decreasing order, each at most once, optional spaces between parts: "1d 2h", "1h30m", "90 min".
_DURATION = re.compile(
    rf"(?:{_AMOUNT}\s*w)?\s*(?:{_AMOUNT}\s*d)?\s*(?:{_AMOUNT}\s*h)?\s*"
    rf"(?:{_AMOUNT}\s*(?:min|m))?\s*(?:{_AMOUNT}\s*s)?",
    re.IGNORECASE | re.ASCII,
)


class DurationError(ValueError):
    """A duration string that does not follow the grammar; the message says what was expected."""


def parse_duration(text: str, *, maximum: float | None = MAX_DURATION) -> float:
    """ "1h30m" -> 5400.0 seconds. Positive, at most `maximum`; raises DurationError otherwise.

    Units w, d, h, m (or min), s, in that order, each at most once; amounts may have decimals
    ("1.5h"). `maximum=None` only bounds the value so a timedelta of it cannot overflow.
    """
    stripped = text.strip() if isinstance(text, str) else ""
    match = _DURATION.fullmatch(stripped)
    if not stripped or match is None or not any(match.groups()):
        hint = (
            f' (add a unit: "{stripped}s", "{stripped}m"...)'
            if stripped.isdigit() and len(stripped) < 10
            else ""
        )
        raise DurationError(f"expected a duration like {DURATION_EXAMPLES}, got {_quoted(text)}{hint}")
    seconds = sum(
        float(amount) * PARSE_UNITS[unit]
        for amount, unit in zip(match.groups(), PARSE_UNITS, strict=True)
        if amount
    )
    if seconds <= 0:
        raise DurationError(f"expected a positive duration like {DURATION_EXAMPLES}, got {_quoted(text)}")
    if maximum is not None and seconds > maximum:
        raise DurationError(f"expected a duration of at most {format_duration(maximum)}, got {_quoted(text)}")
    return seconds


def format_duration(seconds: float) -> str:
    """5400 -> "1h30m"; the inverse of parse_duration for whole seconds (rounds; "0s" for zero or less)."""
    remaining = max(0, round(seconds))
    parts: list[str] = []
    for unit, size in UNITS.items():
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def span_label(seconds: float) -> str:
    """A window's short label: "24 h", "36 h", "7 d", "1 h 30 min" (hours up to 48 h, then days)."""
    whole = int(seconds)
    if whole % 86400 == 0 and whole > HOURLY_UP_TO:
        return f"{whole // 86400} d"
    if whole % 3600 == 0 and whole <= HOURLY_UP_TO:
        return f"{whole // 3600} h"
    pieces = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, whole = divmod(whole, size)
        if amount:
            pieces.append(f"{amount} {unit}")
    return " ".join(pieces) or "0 s"


def span_words(seconds: float) -> str:
    """A window in words, for sentences: "24 hours", "7 days", "1 day"; the short label otherwise."""
    whole = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600)):
        if whole % size == 0 and (whole > HOURLY_UP_TO) == (unit == "day"):
            amount = whole // size
            return f"{amount} {unit}" + ("" if amount == 1 else "s")
    return span_label(whole)


@dataclass(frozen=True, slots=True)
class WindowChoice:
    """One window the dashboard offers: its spec (what the app, `data.compute` and `Window.last` take)
    and how prose names it and the window before it (the Sentiment panel's "this week / last week")."""

    spec: str
    now_words: str = ""  # "" = "the last 24 h"
    before_words: str = ""  # "" = "the 24 h before"

    @property
    def seconds(self) -> float:
        return parse_duration(self.spec)

    @property
    def label(self) -> str:
        return span_label(self.seconds)

    @property
    def words(self) -> str:
        return span_words(self.seconds)

    @property
    def periods(self) -> tuple[str, str]:
        """(this window, the one before) as a sentence names them."""
        return (self.now_words or f"the last {self.label}", self.before_words or f"the {self.label} before")


# The dashboard's windows, in the order `w` cycles through them; the first is the one it opens on.
WINDOWS: tuple[WindowChoice, ...] = (
    WindowChoice("24h"),
    WindowChoice("7d", "this week", "last week"),
    WindowChoice("30d", "these 30 days", "the 30 before"),
)
DEFAULT_WINDOW = WINDOWS[0]
WINDOW_SPECS: tuple[str, ...] = tuple(choice.spec for choice in WINDOWS)
# What an export (by hand or on schedule) covers unless told: the dashboard's week.
EXPORT_SPAN = WINDOWS[1].spec


def window_label(spec: str) -> str:
    """The label of a window spec ("7d" -> "7 d"), as `Window.last(spec, now).label` has it; a spec
    that does not parse is shown as typed."""
    try:
        return span_label(parse_duration(spec, maximum=None))
    except DurationError:
        return spec


def _quoted(value: object) -> str:
    """A value as the user would write it in TOML, escaped so it cannot act on the terminal."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return display_safe(json.dumps(shown, ensure_ascii=False), one_line=True)
    return display_safe(repr(value), one_line=True)
