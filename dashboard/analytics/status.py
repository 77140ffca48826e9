"""What a source's latest status means at a glance: the one definition of "failing".

The header's counts (analytics), the sources panel and the alerts all read it from here. A
rate-limited source is *waiting* (the server asked it to come back later; nothing is broken), not
failing. "not modified" (an HTTP 304) is a success and is worded "unchanged" wherever it is shown.
"""

from __future__ import annotations

from enum import StrEnum

from dashboard.models import SourceStatus


class Health(StrEnum):
    OK = "ok"  # the latest attempt succeeded (ok or not modified)
    WAITING = "waiting"  # rate-limited: the next attempt is scheduled after the server's limit
    FAILING = "failing"  # failing, needs credentials, gone: someone has to act
    NEW = "new"  # never attempted yet


WAITING_STATUSES = frozenset({SourceStatus.RATE_LIMITED})

# How a status is worded for people (the stored value elsewhere).
STATUS_WORDS = {SourceStatus.NOT_MODIFIED: "unchanged"}


_BY_VALUE = {status.value: status for status in SourceStatus}


def parse_status(value: object) -> SourceStatus:
    """A stored status string; an unknown one is taken as failing (it is not known to be fine).

    A dict lookup, not `SourceStatus(value)`: the Sources panel reads a status per row of 1,000
    sources on every refresh, and the enum's constructor costs ~10 µs a call."""
    return _BY_VALUE.get(str(value), SourceStatus.FAILING)


def health_of(status: SourceStatus) -> Health:
    if status.is_success:
        return Health.OK
    if status in WAITING_STATUSES:
        return Health.WAITING
    if status is SourceStatus.NEW:
        return Health.NEW
    return Health.FAILING


def status_word(status: SourceStatus) -> str:
    """'unchanged' for not modified; the status's own value otherwise."""
    return STATUS_WORDS.get(status, status.value)
