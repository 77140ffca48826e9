"""Fetch errors cross process boundaries (parse workers) with every detail intact."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from dashboard.contracts.errors import NeedsCredentials, ParseTimeout, RateLimited

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_rate_limited_keeps_until_and_status() -> None:
    limited = pickle.loads(pickle.dumps(RateLimited("slow down", until=T0, http_status=429)))
    assert type(limited) is RateLimited
    assert (limited.message, limited.until, limited.http_status) == ("slow down", T0, 429)


def test_needs_credentials_keeps_the_variable_to_set() -> None:
    auth = pickle.loads(pickle.dumps(NeedsCredentials("401", env_var="TOKEN")))
    assert (auth.env_var, str(auth), auth.error_class) == ("TOKEN", "401", "auth")


def test_plain_errors_too() -> None:
    timeout = pickle.loads(pickle.dumps(ParseTimeout("too slow")))
    assert (type(timeout), timeout.message) == (ParseTimeout, "too slow")
