"""When to poll a source next, decided from data alone (no I/O): easy to test, easy to change.

- Success: the source's interval later (or later still if the API asked for a floor).
- 429/503 and other rate limits: wait until the server said, capped at 7 days.
- 410: gone; no next poll until the source's config changes.
- Any other failure: exponential backoff from the interval, with jitter, capped at 6 hours.
  A failing source is never dropped: it is retried at least every 6 hours.
- A failure of an explicit fetch (`check --fetch`, `poll --once`, the dashboard's `r`) counts as one
  failure at most and never moves the scheduled poll later: the user asked for that fetch, the
  schedule did not, so ten manual tries with the network down do not push the next scheduled poll
  hours away, and a dashboard opened afterwards polls what was due.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from dashboard.contracts.errors import FetchError, Gone, NeedsCredentials, RateLimited
from dashboard.models import PollOutcome, SourceStatus, SourceUpdate

MAX_BACKOFF = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=7)
JITTER = 0.1  # +/- 10 %, so sources that failed together do not retry in lockstep


def after_success(
    now: datetime, interval: float, outcome: PollOutcome, *, redirect: str | None = None
) -> SourceUpdate:
    next_poll = now + timedelta(seconds=interval)
    if outcome.not_before is not None:
        next_poll = max(next_poll, min(outcome.not_before, now + MAX_RETRY_AFTER))
    status = SourceStatus.NOT_MODIFIED if outcome.not_modified else SourceStatus.OK
    return SourceUpdate(status, next_poll, consecutive_failures=0, permanent_redirect=redirect)


def after_failure(
    now: datetime,
    interval: float,
    error: FetchError,
    failures_before: int,
    rng: random.Random,
    *,
    explicit: bool = False,
    scheduled: datetime | None = None,
) -> SourceUpdate:
    """The next poll after a failed one. `explicit`: the user asked for this fetch; `scheduled` is when
    the source was due before it (None: due now). A 410 or a server's wait applies either way."""
    failures = failures_before + 1
    if isinstance(error, Gone):
        return SourceUpdate(SourceStatus.GONE, None, failures)
    if isinstance(error, RateLimited):
        until = min(max(error.until, now), now + MAX_RETRY_AFTER)
        return SourceUpdate(SourceStatus.RATE_LIMITED, until, failures)
    status = SourceStatus.NEEDS_CREDENTIALS if isinstance(error, NeedsCredentials) else SourceStatus.FAILING
    if not explicit:
        return SourceUpdate(status, now + backoff(interval, failures, rng), failures)
    # One failure's worth at most, and never later than the schedule already said.
    one_failure = now + backoff(interval, 1, rng)
    return SourceUpdate(status, min(scheduled or now, one_failure), max(failures_before, 1))


def backoff(interval: float, failures: int, rng: random.Random) -> timedelta:
    """interval, 2x, 4x, ... after 1, 2, 3 ... consecutive failures, jittered, capped at 6 h."""
    base = min(interval * 2 ** max(0, failures - 1), MAX_BACKOFF.total_seconds())
    jittered = base * rng.uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=min(jittered, MAX_BACKOFF.total_seconds()))
