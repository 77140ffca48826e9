"""The one clock: timezone-aware UTC now. Everything that takes a `clock=` defaults to this, so
tests and the demo can pass their own."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
