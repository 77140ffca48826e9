"""Human durations: "90s", "15m", "1h30m", "2d", "2w" <-> seconds.

The one grammar for every duration a user types: feeds.toml (`interval`, `timeout`...), the CLI's
`--since`/`--until` spans and the UI's windows (`dashboard.analytics.windows.parse_span` calls
`parse_duration`). Formatting is its inverse, so what a user reads on screen is something they could
paste back into feeds.toml or onto the command line.
"""

from __future__ import annotations

import json
import re

from dashboard.text import display_safe

# Parsing units, in the order they must appear ("min" is accepted as well as "m").
PARSE_UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Formatting units: days are the largest shown, so "14d" stays "14d" on screen.
UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Longer than a year is a typo in feeds.toml, and keeps `now + timedelta(seconds=...)` far from overflowing.
MAX_DURATION = 366 * 86400.0
DURATION_EXAMPLES = '"90s", "15m", "1h30m", "2d" or "2w"'

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


def _quoted(value: object) -> str:
    """A value as the user would write it in TOML, escaped so it cannot act on the terminal."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return display_safe(json.dumps(shown, ensure_ascii=False), one_line=True)
    return display_safe(repr(value), one_line=True)
