"""Human durations for feeds.toml: "90s", "15m", "1h30m", "2d" <-> seconds.

One small grammar shared by the config loader (parsing) and the UI/CLI (formatting), so what a user
reads on screen is something they could paste back into feeds.toml.
"""

from __future__ import annotations

import json
import re

from dashboard.text import display_safe

UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Longer than a year is a typo, and keeps `now + timedelta(seconds=...)` far from overflowing.
MAX_DURATION = 366 * 86400.0
DURATION_EXAMPLES = '"90s", "15m", "1h30m" or "2d"'

# Units in decreasing order, each at most once, optional spaces between parts: "1d 2h", "1h30m".
_DURATION = re.compile(
    r"(?:(\d{1,9})\s*d)?\s*(?:(\d{1,9})\s*h)?\s*(?:(\d{1,9})\s*m)?\s*(?:(\d{1,9})\s*s)?",
    re.IGNORECASE | re.ASCII,
)


class DurationError(ValueError):
    """A duration string that does not follow the grammar; the message says what was expected."""


def parse_duration(text: str) -> float:
    """ "1h30m" -> 5400.0 seconds. Positive, at most `MAX_DURATION`; raises DurationError otherwise."""
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
        int(amount) * UNITS[unit] for amount, unit in zip(match.groups(), UNITS, strict=True) if amount
    )
    if seconds <= 0:
        raise DurationError(f"expected a positive duration like {DURATION_EXAMPLES}, got {_quoted(text)}")
    if seconds > MAX_DURATION:
        raise DurationError(f"expected a duration of at most 366d, got {_quoted(text)}")
    return float(seconds)


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
