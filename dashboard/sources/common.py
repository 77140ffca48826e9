"""Small helpers every API source shares: JSON bodies, timestamps, rate-limit headers, auth."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.fetch.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.fetch.http_types import Response


def json_body(response: Response) -> Any:
    """The decoded JSON of a response, or ParseError naming what came instead."""
    if not response.body.strip():
        raise ParseError("empty body where JSON was expected", http_status=response.status)
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as error:
        kind = response.header("content-type", "unknown content type")
        raise ParseError(f"not JSON ({kind}): {error}", http_status=response.status) from error


def from_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: Any) -> datetime | None:
    """ISO 8601 (with Z or an offset) -> aware UTC; naive times are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_count(value: Any) -> int | None:
    """An engagement count from JSON, or None when the API did not give one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rate_limit_floor(response: Response, now: datetime) -> datetime | None:
    """When a rate-limit window is spent (remaining 0), the earliest polite next poll (from its reset).

    Reads the unprefixed `RateLimit-*` headers of the IETF draft, as atproto services send them (reset
    as epoch seconds), and the older `X-RateLimit-*` (GitHub: epoch seconds; Mastodon: an ISO time).
    """
    if _spent(response.header("ratelimit-remaining")):
        moment = from_epoch(response.header("ratelimit-reset").strip() or None)
    elif _spent(response.header("x-ratelimit-remaining")):
        reset = response.header("x-ratelimit-reset").strip()
        moment = from_epoch(reset) if reset.isdigit() else from_iso(reset)
    else:
        return None
    return moment if moment is not None and moment > now else now + timedelta(minutes=1)


def _spent(remaining: str) -> bool:
    return remaining.strip() in ("0", "0.0")


def needs_credentials(error: FetchError, env_var: str) -> FetchError:
    """Re-label a 401/403 so the dashboard can say which environment variable to set."""
    if isinstance(error, NeedsCredentials) or error.http_status in (401, 403):
        hint = f"set {env_var}" if env_var else "this source needs credentials"
        return NeedsCredentials(f"{error.message} ({hint})", env_var=env_var, http_status=error.http_status)
    return error


__all__ = [
    "RateLimited",
    "as_count",
    "from_epoch",
    "from_iso",
    "json_body",
    "needs_credentials",
    "rate_limit_floor",
]
