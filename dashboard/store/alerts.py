"""The alert log: what fired (once per rule, subject and occurrence), and each delivery of it.

Its tables are migration 4 of schema.py.

`UNIQUE (rule, subject, occurrence)` is what makes an alert happen once: the dashboard, headless
`poll`, a restart or a second instance may all evaluate the same poll, and only the first insert
counts. Deliveries are rows of their own so a message survives a crash until it is sent (at least
once), and every attempt is kept with its outcome for `alerts list` and the Alerts panel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from dashboard.store.db import Connection, to_epoch

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# After this many failed attempts a message is given up on (about a day with the backoff below).
MAX_ATTEMPTS = 10
# A channel whose latest attempts all failed, this many of them, is shown failing like a source.
CHANNEL_FAILING_AFTER = 3


@dataclass(frozen=True, slots=True)
class Firing:
    """One alert as a rule raised it, before it is stored. Text is plain (sanitised when sent)."""

    rule: str
    kind: str
    subject: str  # the source, the author, "" for the whole community
    occurrence: str  # what makes this happening distinct: the spike's hour, a failure's start...
    at: datetime
    title: str
    body: str
    url: str = ""
    mention_ids: tuple[int, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: int
    rule: str
    kind: str
    subject: str
    raised_at: datetime
    title: str
    body: str
    url: str
    mention_ids: tuple[int, ...]
    suppressed: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert waiting to reach one channel."""

    alert: StoredAlert
    channel: str
    attempts: int
    next_attempt_at: datetime


class AlertLog:
    """Reads and writes the alert tables over an open store connection (autocommit mode)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # -- raising ------------------------------------------------------------------------------

    def record(self, firing: Firing, channels: Sequence[str], *, suppressed: str = "") -> StoredAlert | None:
        """Store `firing` and queue it for `channels`; None if this occurrence was already stored."""
        with self._transaction():
            cursor = self.connection.execute(
                "INSERT INTO alerts (rule, kind, subject, occurrence, raised_at, title, body,"
                " url, mention_ids, numbers, suppressed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    firing.rule,
                    firing.kind,
                    firing.subject,
                    firing.occurrence,
                    to_epoch(firing.at),
                    firing.title,
                    firing.body,
                    firing.url,
                    " ".join(map(str, firing.mention_ids)),
                    json.dumps(firing.numbers, default=str),
                    suppressed,
                ),
            )
            inserted = cursor.fetchone()
            if inserted is None:
                return None
            alert_id = int(inserted[0])
            if not suppressed:
                self.connection.executemany(
                    "INSERT INTO alert_deliveries (alert_id, channel, state, next_attempt_at)"
                    " VALUES (?, ?, ?, ?)",
                    [(alert_id, channel, PENDING, to_epoch(firing.at)) for channel in channels],
                )
        return self.alert(alert_id)

    def last_raised(self, rule: str, subject: str) -> datetime | None:
        """When `rule` last raised an alert about `subject` that was not itself cooled down."""
        row = self.connection.execute(
            "SELECT MAX(raised_at) FROM alerts WHERE rule = ? AND subject = ? AND suppressed = ''",
            (rule, subject),
        ).fetchone()
        return _moment(row[0]) if row and row[0] is not None else None

    def state(self, rule: str, key: str) -> str | None:
        row = self.connection.execute(
            "SELECT value FROM alert_state WHERE rule = ? AND key = ?", (rule, key)
        ).fetchone()
        return str(row[0]) if row else None

    def set_state(self, rule: str, key: str, value: str) -> None:
        with self._transaction():
            self.connection.execute(
                "INSERT INTO alert_state (rule, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (rule, key) DO UPDATE SET value = excluded.value",
                (rule, key, value),
            )

    # -- delivering ---------------------------------------------------------------------------

    def due(self, now: datetime) -> list[Delivery]:
        rows = self.connection.execute(
            f"SELECT {_ALERT_COLUMNS}, d.channel, d.attempts, d.next_attempt_at FROM alert_deliveries d"
            " JOIN alerts a ON a.id = d.alert_id WHERE d.state = ? AND d.next_attempt_at <= ?"
            " ORDER BY d.channel, a.raised_at, a.id",
            (PENDING, to_epoch(now)),
        ).fetchall()
        return [Delivery(_alert(row[:10]), row[10], int(row[11]), _moment(row[12])) for row in rows]

    def postpone(self, deliveries: Iterable[Delivery], until: datetime) -> None:
        """Hold messages (quiet hours, a digest period) without counting an attempt."""
        with self._transaction():
            self.connection.executemany(
                "UPDATE alert_deliveries SET next_attempt_at = ? WHERE alert_id = ? AND channel = ?",
                [(to_epoch(until), d.alert.id, d.channel) for d in deliveries],
            )

    def attempted(
        self, deliveries: Sequence[Delivery], at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Record one attempt at sending `deliveries` (one message): delivered when `error` is empty,
        else retried at `retry_at`, or given up on (failed) when that is None."""
        state = DELIVERED if not error else (PENDING if retry_at else FAILED)
        moment = to_epoch(at)
        with self._transaction():
            self.connection.executemany(
                "UPDATE alert_deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?,"
                " last_error = ?, delivered_at = ?, next_attempt_at = ? WHERE alert_id = ? AND channel = ?",
                [
                    (
                        state,
                        moment,
                        error,
                        moment if not error else None,
                        to_epoch(retry_at) if retry_at else moment,
                        d.alert.id,
                        d.channel,
                    )
                    for d in deliveries
                ],
            )
            self.connection.executemany(
                "INSERT INTO alert_attempts (alert_id, channel, at, ok, error) VALUES (?, ?, ?, ?, ?)",
                [(d.alert.id, d.channel, moment, int(not error), error) for d in deliveries],
            )

    def failing_channels(self, channels: Iterable[str]) -> dict[str, str]:
        """Channels whose last CHANNEL_FAILING_AFTER attempts all failed -> the latest error: shown
        like a failing source (Alerts panel, `alerts list`)."""
        failing = {}
        for name in channels:
            attempts = self.channel_attempts(name, limit=CHANNEL_FAILING_AFTER)
            if len(attempts) == CHANNEL_FAILING_AFTER and not any(ok for _, ok, _ in attempts):
                failing[name] = attempts[0][2]
        return failing

    def channel_attempts(self, channel: str, limit: int = 5) -> list[tuple[datetime, bool, str]]:
        """The channel's latest attempts, newest first: (when, delivered, error)."""
        rows = self.connection.execute(
            "SELECT at, ok, error FROM alert_attempts WHERE channel = ?"
            " GROUP BY at, ok, error ORDER BY at DESC LIMIT ?",
            (channel, limit),
        ).fetchall()
        return [(_moment(at), bool(ok), error) for at, ok, error in rows]

    # -- reading ------------------------------------------------------------------------------

    def alert(self, alert_id: int) -> StoredAlert | None:
        row = self.connection.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.id = ?", (alert_id,)
        ).fetchone()
        return _alert(row) if row else None

    def recent(self, limit: int = 50, since: datetime | None = None) -> pd.DataFrame:
        """The latest alerts, newest first, with their delivery state summed up per alert:
        [id, rule, kind, subject, raised_at, title, body, url, mention_ids, suppressed, delivery]."""
        rows = self.connection.execute(
            f"SELECT {_ALERT_COLUMNS}, (SELECT group_concat(channel || ': ' || state ||"
            " CASE WHEN last_error != '' AND state != 'delivered' THEN ' (' || last_error || ')'"
            " ELSE '' END, '; ') FROM alert_deliveries d WHERE d.alert_id = a.id)"
            " FROM alerts a WHERE a.raised_at >= ? ORDER BY a.raised_at DESC, a.id DESC LIMIT ?",
            (to_epoch(since) if since else 0, limit),
        ).fetchall()
        frame = pd.DataFrame([_row_record(row) for row in rows], columns=[*_FRAME_COLUMNS, "delivery"])
        frame["raised_at"] = pd.to_datetime(frame["raised_at"], unit="s", utc=True)
        return frame


_ALERT_COLUMNS = (
    "a.id, a.rule, a.kind, a.subject, a.raised_at, a.title, a.body, a.url, a.mention_ids, a.suppressed"
)
_FRAME_COLUMNS = (
    "id",
    "rule",
    "kind",
    "subject",
    "raised_at",
    "title",
    "body",
    "url",
    "mention_ids",
    "suppressed",
)


def _row_record(row: Sequence[Any]) -> tuple[Any, ...]:
    ids = tuple(int(part) for part in str(row[8]).split())
    return (*row[:8], ids, row[9], row[10] or "")


def _alert(row: Sequence[Any]) -> StoredAlert:
    return StoredAlert(
        id=int(row[0]),
        rule=row[1],
        kind=row[2],
        subject=row[3],
        raised_at=_moment(row[4]),
        title=row[5],
        body=row[6],
        url=row[7],
        mention_ids=tuple(int(part) for part in str(row[8]).split()),
        suppressed=row[9],
    )


def _moment(seconds: int) -> datetime:
    """A stored time, never NULL in these tables (db.from_epoch also takes None)."""
    return datetime.fromtimestamp(int(seconds), UTC)
