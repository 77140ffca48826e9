"""A builder of small stores for the reader and analytics tests: rows go straight in through SQL.

The store is created (and migrated) by dashboard.store.db.connect, so the schema is the real one; the
builder only fills tables, the way the writer would leave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dashboard.store.db import Connection, Database, connect
from dashboard.store.reader import StoreReader

# A fixed "now" for the hand-computed tests: Sunday 31 March 2024, 12:00 UTC. Europe's clocks went
# forward that very morning (01:00 UTC), so the local day of 31 March in Paris lasts 23 hours.
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)


def at(hours: float = 0.0, *, days: float = 0.0, base: datetime = NOW) -> datetime:
    """A moment relative to NOW: `at(-2)` is two hours before."""
    return base + timedelta(hours=hours, days=days)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass
class StoreBuilder:
    """Fills a fresh store; `reader()` reads it back through the same connection."""

    path: Database  # a SQLite file or a PostgreSQL URL (tests/backends.py)
    connection: Connection = field(init=False)
    _keys: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.connection = connect(self.path)

    def close(self) -> None:
        self.connection.close()

    def reader(self) -> StoreReader:
        return StoreReader(self.connection)

    def source(
        self,
        name: str,
        type: str = "feed",
        *,
        status: str = "ok",
        active: bool = True,
        last_attempt_at: datetime | None = None,
        last_success_at: datetime | None = None,
        next_poll_at: datetime | None = None,
        http_status: int | None = None,
        consecutive_failures: int = 0,
        error_class: str = "",
        last_error: str = "",
    ) -> int:
        cursor = self.connection.execute(
            """INSERT INTO sources (name, type, target, status, active, last_attempt_at, last_success_at,
                                    next_poll_at, http_status, consecutive_failures, error_class, last_error)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (
                name,
                type,
                f"{type}: {name}",
                status,
                int(active),
                _epoch(last_attempt_at),
                _epoch(last_success_at),
                _epoch(next_poll_at),
                http_status,
                consecutive_failures,
                error_class,
                last_error,
            ),
        )
        return int(cursor.fetchone()[0])

    def source_id(self, name: str) -> int:
        return int(self.connection.execute("SELECT id FROM sources WHERE name = ?", (name,)).fetchone()[0])

    def mention(
        self,
        source: str,
        published: datetime,
        *,
        author: str = "",
        title: str = "",
        summary: str = "",
        kind: str = "post",
        likes: int | None = None,
        replies: int | None = None,
        shares: int | None = None,
        views: int | None = None,
        handled_at: datetime | None = None,
        first_seen: datetime | None = None,
        url: str = "",
        key: str | None = None,
    ) -> int:
        self._keys += 1
        seen = first_seen or published
        cursor = self.connection.execute(
            """INSERT INTO mentions (source_id, key, kind, url, title, author, published_at, first_seen_at,
                                     updated_at, summary, likes, replies, shares, views, handled_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (
                self.source_id(source),
                key or f"key-{self._keys}",
                kind,
                url or f"https://example.org/{self._keys}",
                title,
                author,
                epoch(published),
                epoch(seen),
                epoch(seen),
                summary,
                likes,
                replies,
                shares,
                views,
                _epoch(handled_at),
            ),
        )
        return int(cursor.fetchone()[0])

    def mentions(self, source: str, published: list[datetime], **fields: object) -> list[int]:
        return [self.mention(source, moment, **fields) for moment in published]  # type: ignore[arg-type]

    def history(
        self,
        mention_id: int,
        moment: datetime,
        *,
        likes: int | None = None,
        replies: int | None = None,
        shares: int | None = None,
        views: int | None = None,
    ) -> None:
        self.connection.execute(
            """INSERT INTO engagement_history (mention_id, at, likes, replies, shares, views)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (mention_id, epoch(moment), likes, replies, shares, views),
        )

    def poll(
        self, source: str, started: datetime, status: str = "ok", *, http_status: int | None = 200
    ) -> None:
        self.connection.execute(
            """INSERT INTO polls (source_id, started_at, duration, status, http_status)
               VALUES (?, ?, 0.5, ?, ?)""",
            (self.source_id(source), epoch(started), status, http_status),
        )

    def polls(
        self, source: str, start: datetime, end: datetime, every: timedelta, status: str = "ok"
    ) -> None:
        """One attempt every `every` from `start` (included) to `end` (excluded)."""
        moment = start
        while moment < end:
            self.poll(source, moment, status)
            moment += every


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else epoch(moment)


KEYWORDS = ("textual", "rich")


def build_scenario(path: Database) -> StoreBuilder:
    """The hand-computed scenario most analytics tests share (window: the 24 h before NOW).

    Sources: Blog (feed, every poll "not modified"), Mastodon (fails at 02:30 and 03:30 on the 31st:
    buckets 02:00 and 03:00 are "no data"), Reddit (ok 11:30 on the 30th, rate-limited 20:30, ok again
    23:30: buckets 20:00-22:00 are "no data"), Fresh (active, never polled), Old feed (inactive).

    Mentions in the window (30 Mar 12:00 -> 31 Mar 12:00 UTC), engagement = likes+replies+shares:
      Blog      alice 30th 13:10, bob 31st 01:15, alice 31st 09:00            (no engagement)
      Mastodon  alice 30th 14:05 (3,1,0)=4, carol 31st 02:40 (1,0,2)=3 [no-data bucket],
                dave 31st 05:00 (0,0,0)=0, carol 31st 10:00 (4,1,0)=5
      Reddit    frank 30th 16:00 (2,0)=2 handled, erin 30th 21:30 (1,3)=4 [no-data bucket],
                alice 31st 11:30 (10,0)=10
    Before: Blog alice 29th 15:00 and Mastodon zed 30th 00:00 (5,2,1)=8 (previous window), Reddit erin
    20th 10:00.
    """
    builder = StoreBuilder(path)
    builder.source("Blog", "feed", status="not modified", last_attempt_at=at(-0.5), next_poll_at=at(0.5))
    builder.source("Mastodon", "mastodon", last_attempt_at=at(-0.5), next_poll_at=at(0.5))
    builder.source("Reddit", "reddit", last_attempt_at=at(-0.5), next_poll_at=at(2.5))
    builder.source("Fresh", "hackernews", status="new")
    builder.source("Old feed", "feed", status="gone", active=False, last_attempt_at=at(days=-20))

    span_start = at(-0.5, days=-8)
    builder.polls("Blog", span_start, NOW, timedelta(hours=1), status="not modified")
    builder.polls("Mastodon", span_start, at(-9.5), timedelta(hours=1))
    builder.poll("Mastodon", at(-9.5), "failing", http_status=503)
    builder.poll("Mastodon", at(-8.5), "failing", http_status=503)
    builder.polls("Mastodon", at(-7.5), NOW, timedelta(hours=1))
    builder.poll("Reddit", at(-24.5), "ok")
    builder.poll("Reddit", at(-15.5), "rate-limited", http_status=429)
    builder.polls("Reddit", at(-12.5), NOW, timedelta(hours=3))

    builder.mention("Blog", at(-24 + 1 + 10 / 60), author="alice", title="Textual 1.0 released")
    builder.mention("Blog", at(-10.75), author="bob", title="Rich text in the terminal")
    builder.mention("Blog", at(-3), author="alice", title="Notes from the sprint")
    m_alice = builder.mention(
        "Mastodon", at(-22 + 5 / 60), author="alice", title="Trying it", likes=3, replies=1, shares=0
    )
    builder.mention(
        "Mastodon",
        at(-9 - 20 / 60),
        author="carol",
        title="I love textual and RICH",
        likes=1,
        replies=0,
        shares=2,
    )
    builder.mention("Mastodon", at(-7), author="dave", title="Anyone?", likes=0, replies=0, shares=0)
    m_carol = builder.mention("Mastodon", at(-2), author="carol", title="Again", likes=4, replies=1, shares=0)
    builder.mention("Reddit", at(-20), author="frank", title="Thanks", likes=2, replies=0, handled_at=at(-19))
    r_erin = builder.mention("Reddit", at(-14.5), author="erin", title="Data enrichment", likes=1, replies=3)
    r_alice = builder.mention(
        "Reddit", at(-0.5), author="alice", title="Show", summary="textual-web is neat", likes=10, replies=0
    )
    builder.mention("Blog", at(-21, days=-1), author="alice", title="Old news")
    zed = builder.mention("Mastodon", at(-36), author="zed", title="Before", likes=5, replies=2, shares=1)
    builder.mention("Reddit", at(-2, days=-11), author="erin", title="Long ago", likes=0, replies=0)

    builder.history(m_alice, at(-22 + 10 / 60), likes=0, replies=0, shares=0)
    builder.history(m_alice, at(-21 + 5 / 60), likes=1, replies=1, shares=0)
    builder.history(m_alice, at(-4 + 10 / 60), likes=3, replies=1, shares=0)
    builder.history(m_carol, at(-2 + 5 / 60), likes=0, replies=0, shares=0)
    builder.history(m_carol, at(-1.5), likes=2, replies=1, shares=0)
    builder.history(m_carol, at(-0.5), likes=4, replies=1, shares=0)
    builder.history(r_erin, at(-12.5), likes=0, replies=3)
    builder.history(r_erin, at(-5.5), likes=1, replies=3)
    builder.history(r_alice, at(-0.5 + 5 / 60), likes=10, replies=0)
    builder.history(zed, at(-36 + 10 / 60), likes=5, replies=2, shares=1)
    return builder
