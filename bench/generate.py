"""A fast generator of a realistic store, for benchmarks and manual testing of the panels.

N mentions spread over `days` across a dozen sources of different types, Zipf-distributed authors (some
names on several sources), daily rhythm plus bursts, engagement that grows through history rows, polls
every few minutes with outages (failing, rate-limited) that leave "no data" gaps.

Everything is drawn with numpy and inserted straight through `executemany` into a store created (and
migrated) by `dashboard.store.db.connect`; the indexes are dropped during the load and rebuilt from
their own stored SQL, which is ~5x faster than inserting into indexed tables.

    python -m bench.generate bench/.cache/store-100k.db --mentions 100000 --days 180
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.store.db import connect

HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class SourceSpec:
    name: str
    type: str
    weight: float  # share of all mentions
    counts: tuple[str, ...]  # which engagement counts this source reports
    kind: str
    interval: int  # seconds between polls


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("Project blog", "feed", 0.01, (), "post", 1800),
    SourceSpec("Planet", "feed", 0.04, (), "post", 1800),
    SourceSpec("Hacker News", "hackernews", 0.12, ("likes", "replies"), "post", 300),
    SourceSpec("HN comments", "hackernews", 0.10, ("likes", "replies"), "comment", 300),
    SourceSpec("r/ourproject", "reddit", 0.14, ("likes", "replies"), "post", 300),
    SourceSpec("Mastodon #ourproject", "mastodon", 0.16, ("likes", "replies", "shares"), "post", 300),
    SourceSpec("Bluesky", "bluesky", 0.14, ("likes", "replies", "shares"), "post", 300),
    SourceSpec("Lemmy", "lemmy", 0.04, ("likes", "replies"), "post", 600),
    SourceSpec("Stack Overflow", "stackexchange", 0.06, ("likes", "replies", "views"), "post", 900),
    SourceSpec("Forum", "discourse", 0.09, ("likes", "replies", "views"), "post", 600),
    SourceSpec("GitHub issues", "github", 0.08, ("likes", "replies"), "mention", 600),
    SourceSpec("Dev.to", "feed", 0.02, (), "post", 3600),
)

WORDS = (  # noqa: SIM905
    "release update bug crash install windows linux macos docker plugin theme editor terminal python rust "
    "performance memory leak startup config keyboard shortcut tutorial guide video talk conference meetup "
    "community contributor maintainer sponsor funding roadmap feature request question help error message "
    "database sqlite postgres server client api token login sync backup export import migration upgrade "
    "version beta stable nightly package pip brew apt snap flatpak wayland font unicode emoji dark light "
    "layout widget table chart graph dashboard monitor alert feed reader news mention reply thread issue "
    "pull merge review test coverage benchmark speed slow fast great love awesome broken annoying amazing "
    "documentation docs example demo screenshot blog post announcement security vulnerability patch fix "
    "accessibility screen reader translation french english german spanish localisation mobile android "
    "ios tablet cloud hosting deploy kubernetes container image build ci pipeline workflow action cache"
).split()
FILLER = "the a an of to in and for with on is it this that je le la les des une un et pour avec est".split()  # noqa: SIM905
KEYWORD_TERMS = ("ourproject", "competitor", "othertool")
HANDLES = ("@alice", "@bob@mastodon.social", "https://example.org/post", "https://ourproject.dev/release")


@dataclass(frozen=True)
class Generated:
    path: Path
    mentions: int
    history: int
    polls: int
    start: int
    end: int
    seconds: float


def generate_store(
    path: Path | str, mentions: int, *, days: float = 180.0, end: datetime | None = None, seed: int = 7
) -> Generated:
    """Create a fresh store at `path` holding `mentions` generated mentions that end at `end`."""
    began = time.perf_counter()
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    end_epoch = int((end or datetime(2026, 3, 31, 12, 0, tzinfo=UTC)).timestamp())
    start_epoch = end_epoch - int(days * DAY)
    connection = connect(path)
    try:
        indexes = _drop_indexes(connection)
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("BEGIN")
        _insert_sources(connection)
        outages = _outages(rng, start_epoch, end_epoch)
        polls = _insert_polls(connection, rng, start_epoch, end_epoch, outages)
        mention_rows, history_rows = _insert_mentions(connection, rng, mentions, start_epoch, end_epoch)
        connection.execute("COMMIT")
        for sql in indexes:
            connection.execute(sql)
        _update_source_states(connection)
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return Generated(
        path, mention_rows, history_rows, polls, start_epoch, end_epoch, time.perf_counter() - began
    )


def _drop_indexes(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in rows:
        connection.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _insert_sources(connection: sqlite3.Connection) -> None:
    connection.executemany(
        "INSERT INTO sources (id, name, type, target, status) VALUES (?, ?, ?, ?, 'new')",
        [(index + 1, spec.name, spec.type, f"{spec.type}: ourproject") for index, spec in enumerate(SOURCES)],
    )


def _outages(rng: np.random.Generator, start: int, end: int) -> list[tuple[int, int, int, str]]:
    """(source_id, from, to, status): a few outages per source, one source failing right now."""
    found: list[tuple[int, int, int, str]] = []
    for source_id in range(1, len(SOURCES) + 1):
        for _ in range(int(rng.integers(1, 5))):
            begin = int(rng.integers(start, end))
            length = int(rng.integers(1, 10)) * HOUR
            status = "rate-limited" if rng.random() < 0.4 else "failing"
            found.append((source_id, begin, begin + length, status))
    found.append((3, end - 5 * HOUR, end + HOUR, "rate-limited"))
    return found


def _insert_polls(
    connection: sqlite3.Connection,
    rng: np.random.Generator,
    start: int,
    end: int,
    outages: Sequence[tuple[int, int, int, str]],
) -> int:
    total = 0
    for source_id, spec in enumerate(SOURCES, start=1):
        times = np.arange(start, end, spec.interval, dtype=np.int64)
        times = times + rng.integers(0, 30, times.size)
        status = np.where(rng.random(times.size) < 0.7, "not modified", "ok").astype(object)
        for outage_source, begin, stop, outage_status in outages:
            if outage_source == source_id:
                status[(times >= begin) & (times < stop)] = outage_status
        failed = (status != "ok") & (status != "not modified")
        http = np.where(status == "rate-limited", 429, np.where(failed, 503, 200))
        rows: Iterable[tuple[Any, ...]] = zip(
            [source_id] * times.size,
            times.tolist(),
            (rng.random(times.size) * 2).round(3).tolist(),
            status.tolist(),
            http.tolist(),
            (times + spec.interval).tolist(),
            strict=True,
        )
        connection.executemany(
            """INSERT INTO polls (source_id, started_at, duration, status, http_status, next_poll_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            rows,
        )
        total += times.size
    return total


def _published_times(rng: np.random.Generator, count: int, start: int, end: int) -> np.ndarray:
    """Daily rhythm (busier in European/US daytime) plus ~5 % of mentions in short bursts."""
    bursts = count // 20
    steady = count - bursts
    days = rng.integers(0, max(1, (end - start) // DAY), steady) * DAY
    hour = np.clip(rng.normal(15.0, 4.5, steady), 0, 23.99) * HOUR
    times = start + days + hour.astype(np.int64)
    centres = rng.integers(start, end, max(1, count // 2000))
    burst = rng.choice(centres, bursts) + rng.normal(0, 1800, bursts).astype(np.int64)
    return np.clip(np.concatenate([times, burst]), start, end - 1).astype(np.int64)


def _texts(rng: np.random.Generator, count: int, length: int, pool: int) -> list[str]:
    """`count` texts drawn from a pool of `pool` generated ones (joining 1M unique texts is slow)."""
    vocabulary = np.array(WORDS + FILLER * 3 + list(KEYWORD_TERMS) + list(HANDLES))
    weights = 1.0 / np.arange(1, vocabulary.size + 1) ** 0.6
    weights /= weights.sum()
    words = rng.choice(vocabulary, size=(pool, length), p=weights)
    made = [" ".join(row) for row in words.tolist()]
    return [made[i] for i in rng.integers(0, pool, count).tolist()]


def _insert_mentions(
    connection: sqlite3.Connection, rng: np.random.Generator, count: int, start: int, end: int
) -> tuple[int, int]:
    weights = np.array([spec.weight for spec in SOURCES])
    source_index = rng.choice(len(SOURCES), size=count, p=weights / weights.sum())
    published = _published_times(rng, count, start, end)
    order = np.argsort(published, kind="stable")
    published, source_index = published[order], source_index[order]
    first_seen = np.minimum(published + rng.exponential(600, count).astype(np.int64), end)
    # Zipf authors: a few prolific, a long tail; ids shared across sources give same-name voices.
    author_pool = max(50, count // 8)
    author_ids = np.minimum(rng.zipf(1.6, count), author_pool)
    author_ids = np.where(rng.random(count) < 0.8, author_ids, rng.integers(1, author_pool, count))
    authors = [f"user{i}" for i in author_ids.tolist()]
    titles = _texts(rng, count, 8, min(count, 200_000))
    summaries = _texts(rng, count, 30, min(count, 20_000))
    counts = _engagement(rng, source_index, count)
    handled = np.where(rng.random(count) < 0.2, first_seen + HOUR, -1)
    ids = np.arange(1, count + 1)
    kinds = [SOURCES[i].kind for i in source_index.tolist()]
    rows = zip(
        ids.tolist(),
        (source_index + 1).tolist(),
        [f"k{i}" for i in ids.tolist()],
        kinds,
        [f"https://example.org/m/{i}" for i in ids.tolist()],
        titles,
        authors,
        published.tolist(),
        first_seen.tolist(),
        first_seen.tolist(),
        summaries,
        *(_nullable(counts[name]) for name in ("likes", "replies", "shares", "views")),
        [None if h < 0 else h for h in handled.tolist()],
        strict=True,
    )
    connection.executemany(
        """INSERT INTO mentions (id, source_id, key, kind, url, title, author, published_at,
                                 first_seen_at, updated_at, summary, likes, replies, shares, views, handled_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows,
    )
    return count, _insert_history(connection, rng, ids, first_seen, counts, end)


def _engagement(rng: np.random.Generator, source_index: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """Final counts per mention; -1 where the source does not report that count."""
    result: dict[str, np.ndarray] = {}
    scale = {"likes": 6.0, "replies": 1.5, "shares": 2.0, "views": 120.0}
    for name, mean in scale.items():
        reports = np.array([name in spec.counts for spec in SOURCES])[source_index]
        values = rng.negative_binomial(1, 1 / (1 + mean), count)
        result[name] = np.where(reports, values, -1)
    return result


def _nullable(values: np.ndarray) -> list[int | None]:
    return [None if v < 0 else v for v in values.tolist()]


def _insert_history(
    connection: sqlite3.Connection,
    rng: np.random.Generator,
    ids: np.ndarray,
    first_seen: np.ndarray,
    counts: dict[str, np.ndarray],
    end: int,
) -> int:
    """A first row when stored, then 0-3 later rows whose counts grow to the final ones."""
    reported = (counts["likes"] >= 0) | (counts["replies"] >= 0)
    snapshots = np.where(reported, rng.integers(1, 5, ids.size), 0)
    snapshots = np.where(reported & (end - first_seen < HOUR), 1, snapshots)
    room = (end - first_seen) // np.maximum(snapshots - 1, 1)
    gap = np.minimum(rng.integers(HOUR // 2, 10 * HOUR, ids.size), room)
    row_mention = np.repeat(np.arange(ids.size), snapshots)
    step = np.arange(row_mention.size) - np.repeat(np.cumsum(snapshots) - snapshots, snapshots)
    last = np.repeat(snapshots, snapshots) - 1
    fraction = np.where(last == 0, 1.0, step / np.maximum(last, 1))
    at = first_seen[row_mention] + step * gap[row_mention]
    columns = []
    for name in ("likes", "replies", "shares", "views"):
        final = counts[name][row_mention]
        grown = np.floor(final * fraction).astype(np.int64)
        columns.append(_nullable(np.where(final < 0, -1, grown)))
    rows = zip(ids[row_mention].tolist(), at.tolist(), *columns, strict=True)
    connection.executemany(
        "INSERT OR IGNORE INTO engagement_history (mention_id, at, likes, replies, shares, views) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return int(row_mention.size)


def _update_source_states(connection: sqlite3.Connection) -> None:
    """Each source's state as its latest poll left it, like the writer would."""
    connection.execute(
        """UPDATE sources SET
               status = (SELECT status FROM polls p WHERE p.source_id = sources.id
                         ORDER BY started_at DESC LIMIT 1),
               last_attempt_at = (SELECT MAX(started_at) FROM polls p WHERE p.source_id = sources.id),
               last_success_at = (SELECT MAX(started_at) FROM polls p WHERE p.source_id = sources.id
                                  AND status IN ('ok', 'not modified')),
               next_poll_at = (SELECT MAX(next_poll_at) FROM polls p WHERE p.source_id = sources.id),
               http_status = (SELECT http_status FROM polls p WHERE p.source_id = sources.id
                              ORDER BY started_at DESC LIMIT 1)"""
    )
    connection.execute(
        """UPDATE sources SET consecutive_failures = 3, error_class = 'RateLimited',
               last_error = 'HTTP 429, retry after 3600 s'
           WHERE status NOT IN ('ok', 'not modified')"""
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    made = generate_store(args.path, args.mentions, days=args.days, seed=args.seed)
    print(
        f"{made.path}: {made.mentions:,} mentions, {made.history:,} history rows, {made.polls:,} polls "
        f"in {made.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
