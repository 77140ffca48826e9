"""The pure scheduling decisions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dashboard.contracts.errors import Gone, HTTPError, NeedsCredentials, RateLimited
from dashboard.models import PollOutcome, SourceStatus
from dashboard.polling import schedule

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RNG = random.Random(7)


def test_success_schedules_one_interval_later_and_resets_failures() -> None:
    update = schedule.after_success(NOW, 900, PollOutcome())
    assert update.status == SourceStatus.OK
    assert update.next_poll_at == NOW + timedelta(seconds=900)
    assert update.consecutive_failures == 0


def test_not_modified_and_api_floor() -> None:
    floor = NOW + timedelta(hours=2)
    update = schedule.after_success(NOW, 900, PollOutcome(not_modified=True, not_before=floor))
    assert update.status == SourceStatus.NOT_MODIFIED
    assert update.next_poll_at == floor


def test_retry_after_is_honoured_and_capped() -> None:
    soon = schedule.after_failure(NOW, 900, RateLimited("429", until=NOW + timedelta(hours=3)), 0, RNG)
    assert (soon.status, soon.next_poll_at) == (SourceStatus.RATE_LIMITED, NOW + timedelta(hours=3))
    far = schedule.after_failure(NOW, 900, RateLimited("429", until=NOW + timedelta(days=400)), 0, RNG)
    assert far.next_poll_at == NOW + timedelta(days=7)


def test_gone_stops_polling() -> None:
    update = schedule.after_failure(NOW, 900, Gone("410"), 0, RNG)
    assert (update.status, update.next_poll_at) == (SourceStatus.GONE, None)


def test_failures_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    delays = []
    for failures in range(12):
        update = schedule.after_failure(NOW, 900, HTTPError("500", http_status=500), failures, RNG)
        assert update.status == SourceStatus.FAILING
        assert update.consecutive_failures == failures + 1
        assert update.next_poll_at is not None
        delays.append((update.next_poll_at - NOW).total_seconds())
    assert 0.9 * 900 <= delays[0] <= 1.1 * 900
    assert 0.9 * 1800 <= delays[1] <= 1.1 * 1800
    assert max(delays) <= 6 * 3600
    assert delays[-1] >= 0.9 * 6 * 3600


def test_auth_failure_is_shown_as_needs_credentials() -> None:
    update = schedule.after_failure(NOW, 900, NeedsCredentials("401", env_var="TOKEN"), 2, RNG)
    assert update.status == SourceStatus.NEEDS_CREDENTIALS


def test_explicit_failures_count_once_and_never_postpone_the_scheduled_poll() -> None:
    """Ten `check --fetch` runs with the network down used to push the next scheduled poll 6 h away."""
    failures, scheduled = 0, None
    for _ in range(10):
        update = schedule.after_failure(
            NOW, 900, HTTPError("500", http_status=500), failures, RNG, explicit=True, scheduled=scheduled
        )
        failures, scheduled = update.consecutive_failures, update.next_poll_at
        assert update.status == SourceStatus.FAILING
        assert failures == 1
        assert scheduled == NOW  # it was due (never polled): it stays due for the scheduler


def test_an_explicit_failure_waits_at_most_one_failures_backoff() -> None:
    far = NOW + timedelta(hours=5)  # the schedule had backed off after scheduled failures
    update = schedule.after_failure(NOW, 900, HTTPError("500"), 6, RNG, explicit=True, scheduled=far)
    assert update.next_poll_at is not None
    assert update.next_poll_at <= NOW + timedelta(seconds=1.1 * 900)
    assert update.consecutive_failures == 6  # not lengthened by the manual try
    soon = NOW + timedelta(minutes=5)
    kept = schedule.after_failure(NOW, 900, HTTPError("500"), 0, RNG, explicit=True, scheduled=soon)
    assert (kept.next_poll_at, kept.consecutive_failures) == (soon, 1)


def test_an_explicit_fetch_still_obeys_the_server() -> None:
    until = NOW + timedelta(hours=3)
    limited = schedule.after_failure(NOW, 900, RateLimited("429", until=until), 0, RNG, explicit=True)
    assert (limited.status, limited.next_poll_at) == (SourceStatus.RATE_LIMITED, until)
    gone = schedule.after_failure(NOW, 900, Gone("410"), 0, RNG, explicit=True)
    assert (gone.status, gone.next_poll_at) == (SourceStatus.GONE, None)
