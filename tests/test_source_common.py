"""The helpers every API source shares (dashboard.sources.common), tested on their own.

Each source's tests exercise them again through its poll against the local HTTP server; these pin
down the shared behaviour once, including the edges no single source's fixtures reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.fetch.http_types import Response
from dashboard.sources.common import rate_limit_floor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def response(headers: Mapping[str, str] | None = None, body: bytes = b"{}", status: int = 200) -> Response:
    return Response(
        url="https://api.example/x",
        status=status,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        body=body,
    )


# --- rate_limit_floor -------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
def test_spent_rate_limit_waits_for_its_epoch_reset(prefix: str) -> None:
    reset = NOW + timedelta(minutes=3)
    headers = {f"{prefix}-Remaining": "0", f"{prefix}-Reset": str(int(reset.timestamp()))}
    assert rate_limit_floor(response(headers), NOW) == reset


def test_prefixed_reset_may_be_an_iso_time_as_mastodon_sends_it() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-26T12:05:00.000Z"}
    assert rate_limit_floor(response(headers), NOW) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
@pytest.mark.parametrize("reset", ["", "soon", "1700000000"])  # missing, unreadable, already past
def test_spent_rate_limit_without_a_future_reset_waits_a_minute(prefix: str, reset: str) -> None:
    headers = {f"{prefix}-Remaining": "0", f"{prefix}-Reset": reset}
    assert rate_limit_floor(response(headers), NOW) == NOW + timedelta(minutes=1)


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
def test_remaining_requests_set_no_floor(prefix: str) -> None:
    reset = str(int((NOW + timedelta(minutes=3)).timestamp()))
    assert rate_limit_floor(response({f"{prefix}-Remaining": "12", f"{prefix}-Reset": reset}), NOW) is None
    assert rate_limit_floor(response(), NOW) is None


def test_either_spent_window_counts() -> None:
    later = NOW + timedelta(minutes=4)
    headers = {
        "RateLimit-Remaining": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(later.timestamp())),
    }
    assert rate_limit_floor(response(headers), NOW) == later
