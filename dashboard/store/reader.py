"""The read side of the store: the ONE place DataFrames are built from the database (either backend).

Every frame uses the same dtypes:

- timestamps (published_at, first_seen_at, handled_at, at, started_at, bucket_start, ...):
  ``datetime64[us, UTC]`` (the store keeps INTEGER epoch seconds; NaT where the column is NULL);
- engagement counts (likes, replies, shares, views): nullable ``Int64``; <NA> means the source does not
  report that count (never 0); ``engagement`` = likes + replies + shares summed over the known ones,
  <NA> only when all three are unknown;
- text (source, source_type, kind, key, url, title, author, summary, status, ...): pandas ``str``;
- ids: ``int64``; flags (handled, active): ``bool``.

Mention frames (`mentions`, `iter_mentions`, `mentions_by_ids`, `latest_mentions`, `mentions_since`)
have the columns `MENTION_COLUMNS`:
id, source, source_type, kind, key, url, title, author, summary, published_at, first_seen_at,
likes, replies, shares, views, engagement, handled, handled_at, language, sentiment, sentiment_label.
`language` is "" when unknown or not analysed yet; `sentiment` (nullable Float64, in [-1, 1]) and
`sentiment_label` ("positive", "neutral", "negative", else "") are empty for a language not scored.

Aggregates that are cheaper in SQL than in pandas (counts per bucket, per author, first-seen time per
(source, author) through the index mentions_source_author) are methods here too, so the analytics
load only a window's rows and only the columns they need. Rows are read with `cursor.fetchall()` into
the DataFrame constructor: as fast as `pd.read_sql_query` (measured: bench/bench_panels.py) and it
keeps integer columns integer (read_sql turns a column with NULLs into float).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from dashboard.models import SourceStatus, engagement
from dashboard.store.db import Connection, Database, connect, from_epoch, to_epoch

TIMESTAMP: Final = "datetime64[us, UTC]"
COUNTS = ("likes", "replies", "shares", "views")
# Engagement is what people did to a mention; views are exposure, not engagement.
ENGAGEMENT_COUNTS = ("likes", "replies", "shares")
# Stands for NULL in integer columns read from SQL, so they arrive as int64 (counts can be negative:
# a Stack Exchange score, a Reddit vote balance).
_NULL = -(2**62)

MENTION_COLUMNS = (
    "id",
    "source",
    "source_type",
    "kind",
    "key",
    "url",
    "title",
    "author",
    "summary",
    "published_at",
    "first_seen_at",
    *COUNTS,
    "engagement",
    "handled",
    "handled_at",
    "language",
    "sentiment",
    "sentiment_label",
)
_MENTION_SELECT = f"""
    SELECT m.id, m.source_id, m.kind, m.key, m.url, m.title, m.author, m.summary, m.published_at,
           m.first_seen_at, {", ".join(f"IFNULL(m.{name}, {_NULL})" for name in COUNTS)},
           IFNULL(m.handled_at, {_NULL}), IFNULL(m.language, ''), m.sentiment,
           IFNULL(m.sentiment_label, '')
    FROM mentions m"""
_MENTION_RAW = (
    "id",
    "source_id",
    "kind",
    "key",
    "url",
    "title",
    "author",
    "summary",
    "published_at",
    "first_seen_at",
    *COUNTS,
    "handled_at",
    "language",
    "sentiment",
    "sentiment_label",
)
SOURCE_COLUMNS = (
    "id",
    "name",
    "type",
    "target",
    "status",
    "last_attempt_at",
    "last_success_at",
    "next_poll_at",
    "http_status",
    "consecutive_failures",
    "error_class",
    "last_error",
    "notes",
    "mentions_total",
    "active",
)
POLL_COLUMNS = (
    "id",
    "source",
    "started_at",
    "duration",
    "status",
    "http_status",
    "bytes",
    "new",
    "updated",
    "error_class",
    "error",
    "consecutive_failures",
    "next_poll_at",
    "notes",
)
HISTORY_COLUMNS = ("mention_id", "at", *COUNTS, "engagement")
UNANSWERED_COLUMNS = ("id", "source", "kind", "title", "author", "url", "published_at", "replies", "handled")
BUCKET_STAT_COLUMNS = (
    "bucket_start",
    "source",
    "mentions",
    *(f"{name}{suffix}" for name in (*COUNTS, "engagement") for suffix in ("", "_known")),
    "voices",
)
# SQL for a row's engagement, NA-aware: NULL only when likes, replies and shares are all unknown.
ENGAGEMENT_KNOWN_SQL = "NOT (likes IS NULL AND replies IS NULL AND shares IS NULL)"
ENGAGEMENT_SQL = (
    f"CASE WHEN {ENGAGEMENT_KNOWN_SQL} THEN IFNULL(likes, 0) + IFNULL(replies, 0) + IFNULL(shares, 0) END"
)


def known(condition: str) -> str:
    """1 where `condition` holds, else 0: a count both backends can SUM (PostgreSQL sums no booleans)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


@dataclass(frozen=True, slots=True)
class EngagementSnapshot:
    """One engagement_history row: the counts as seen at `at`."""

    at: datetime
    likes: int | None
    replies: int | None
    shares: int | None
    views: int | None


@dataclass(frozen=True, slots=True)
class MentionDetail:
    """Everything stored about one mention, for the UI's detail view."""

    id: int
    source: str
    source_type: str
    kind: str
    key: str
    url: str
    title: str
    author: str
    summary: str
    published_at: datetime
    first_seen_at: datetime
    updated_at: datetime
    likes: int | None
    replies: int | None
    shares: int | None
    views: int | None
    handled_at: datetime | None
    content_changes: int
    history: tuple[EngagementSnapshot, ...]

    @property
    def handled(self) -> bool:
        return self.handled_at is not None

    @property
    def engagement(self) -> int | None:
        return engagement(self.likes, self.replies, self.shares)


def epoch(moment: datetime | None) -> int | None:
    return None if moment is None else to_epoch(moment)


def timestamps(values: Iterable[Any] | np.ndarray) -> pd.DatetimeIndex:
    """Epoch seconds (int, with `_NULL` or None for missing) -> datetime64[us, UTC] values (NaT for
    missing), to assign as a column positionally."""
    array = np.asarray(values)
    if array.dtype == object:
        array = np.array([_NULL if v is None else v for v in array], dtype=np.int64)
    array = array.astype(np.int64, copy=False)
    missing = array == _NULL
    micros = np.where(missing, 0, array) * 1_000_000
    result = micros.astype("datetime64[us]")
    result[missing] = np.datetime64("NaT")
    return pd.DatetimeIndex(result).tz_localize(UTC)


def nullable_int(values: Iterable[Any] | np.ndarray) -> pd.arrays.IntegerArray:
    """int64 with `_NULL` for NULL -> nullable Int64."""
    array = np.asarray(values, dtype=np.int64)
    missing = array == _NULL
    return pd.arrays.IntegerArray(np.where(missing, 0, array), missing)


def engagement_of(likes: pd.Series, replies: pd.Series, shares: pd.Series) -> pd.Series:
    """likes + replies + shares over the known ones; <NA> only when all three are unknown."""
    unknown = likes.isna() & replies.isna() & shares.isna()
    total = likes.fillna(0) + replies.fillna(0) + shares.fillna(0)
    return total.astype("Int64").mask(unknown)


@dataclass(frozen=True, slots=True)
class _Counted:
    """Mentions per source id counted up to a mention id, and that mention (source id, key): a
    database that no longer holds the same mention there (replaced, restored) is counted again."""

    up_to: int
    counts: dict[int, int]
    last: tuple[Any, ...] | None


# What readers of one database (Connection.identity) counted so far, carried to the next reader.
_COUNTED: dict[str, _Counted] = {}
_NOTHING_COUNTED = _Counted(0, {}, None)


class StoreReader:
    """Read-only queries over the store. Thread-compatible: one reader per thread, or one at a time."""

    def __init__(self, connection: Connection, *, rollups: bool = True) -> None:
        self._db = connection
        # Aggregates over whole hours read the per-hour rollups (schema migration 5) when the file has
        # them; `rollups=False` always reads the mentions (the property tests and bench compare both).
        self._rollups = rollups
        self._rollup_tables: dict[str, bool] = {}
        # mentions_total per source, counted up to a mention id; counting only the rows inserted since
        # is free (mentions are never deleted nor moved between sources). The counts outlive the
        # reader (one per compute): counting all took ~0.5 s of every refresh at 1M mentions in
        # SQLite, 4-6 s at 10M in PostgreSQL.
        self._identity = connection.identity()
        self._counted = _COUNTED.get(self._identity, _NOTHING_COUNTED) if self._identity else _NOTHING_COUNTED

    @classmethod
    def open(cls, database: Database, *, rollups: bool = True) -> StoreReader:
        """Open the store read-only (SQLite `mode=ro`, a read-only PostgreSQL session): a dashboard or
        an export never writes."""
        return cls(connect(database, readonly=True), rollups=rollups)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- sources -------------------------------------------------------------------------------

    def source_names(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT id, name FROM sources ORDER BY id").fetchall())

    def _source_types(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT id, type FROM sources").fetchall())

    def _source_ids(self, names: Iterable[str]) -> list[int]:
        wanted = set(names)
        return [sid for sid, name in self.source_names().items() if name in wanted]

    def sources(self) -> pd.DataFrame:
        """One row per source (ordered by id) with its state and `mentions_total` (all time)."""
        counts = self.mention_counts()
        rows = self._db.execute(
            """SELECT s.id, s.name, s.type, s.target, s.status,
                      IFNULL(s.last_attempt_at, ?), IFNULL(s.last_success_at, ?), IFNULL(s.next_poll_at, ?),
                      IFNULL(s.http_status, ?), s.consecutive_failures, s.error_class, s.last_error, s.notes,
                      0, s.active
               FROM sources s ORDER BY s.id""",
            (_NULL, _NULL, _NULL, _NULL),
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))
        for column in ("last_attempt_at", "last_success_at", "next_poll_at"):
            frame[column] = timestamps(frame[column].to_numpy(dtype=np.int64))
        frame["http_status"] = nullable_int(frame["http_status"].to_numpy(dtype=np.int64))
        frame["id"] = frame["id"].astype(np.int64)
        frame["consecutive_failures"] = frame["consecutive_failures"].astype(np.int64)
        frame["mentions_total"] = frame["id"].map(counts).fillna(0).astype(np.int64)
        frame["active"] = frame["active"].astype(bool)
        return frame

    def mention_counts(self) -> dict[int, int]:
        """Mentions stored per source id, all time (incremental: only new ids are counted)."""
        newest = self.max_mention_id()
        counted = self._counted
        if newest < counted.up_to or self._mention_at(counted.up_to) != counted.last:
            counted = _NOTHING_COUNTED  # a different or rebuilt database: start over
        if newest > counted.up_to:
            counts = dict(counted.counts)
            for source_id, count in self._db.execute(
                "SELECT source_id, COUNT(*) FROM mentions WHERE id > ? AND id <= ? GROUP BY source_id",
                (counted.up_to, newest),
            ):
                counts[source_id] = counts.get(source_id, 0) + count
            counted = _Counted(newest, counts, self._mention_at(newest))
        self._counted = counted
        if self._identity:
            _COUNTED[self._identity] = counted
        return dict(counted.counts)

    def _mention_at(self, mention_id: int) -> tuple[Any, ...] | None:
        if mention_id == 0:
            return None
        row = self._db.execute("SELECT source_id, key FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        return None if row is None else tuple(row)

    # ---- mentions ------------------------------------------------------------------------------

    def _mention_frame(self, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
        raw = pd.DataFrame(rows, columns=list(_MENTION_RAW))
        names = self.source_names()
        types = self._source_types()
        frame = pd.DataFrame(
            {
                "id": raw["id"].astype(np.int64),
                "source": raw["source_id"].map(names).astype("str"),
                "source_type": raw["source_id"].map(types).astype("str"),
            }
        )
        for column in ("kind", "key", "url", "title", "author", "summary"):
            frame[column] = raw[column].astype("str")
        frame["published_at"] = timestamps(raw["published_at"].to_numpy(dtype=np.int64))
        frame["first_seen_at"] = timestamps(raw["first_seen_at"].to_numpy(dtype=np.int64))
        for column in COUNTS:
            frame[column] = nullable_int(raw[column].to_numpy(dtype=np.int64))
        frame["engagement"] = engagement_of(frame["likes"], frame["replies"], frame["shares"])
        handled_at = timestamps(raw["handled_at"].to_numpy(dtype=np.int64))
        frame["handled"] = handled_at.notna()
        frame["handled_at"] = handled_at
        frame["language"] = raw["language"].astype("str")
        frame["sentiment"] = pd.array(
            raw["sentiment"].to_numpy(dtype=float, na_value=np.nan), dtype="Float64"
        )
        frame["sentiment_label"] = raw["sentiment_label"].astype("str")
        return frame

    def _mention_filters(
        self,
        since: datetime | None,
        until: datetime | None,
        sources: Iterable[str] | None,
        kinds: Iterable[str] | None,
    ) -> tuple[str, list[Any]]:
        clauses, params = self._range_clauses("m.published_at", "m.source_id", since, until, sources)
        if kinds is not None:
            wanted = list(kinds)
            clauses.append(f"m.kind IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        return _where(clauses), params

    def _range_clauses(
        self,
        time_column: str,
        source_column: str,
        since: datetime | None,
        until: datetime | None,
        sources: Iterable[str] | None,
    ) -> tuple[list[str], list[Any]]:
        """SQL conditions for [since, until) on `time_column` and the named sources, with their params."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append(f"{time_column} >= ?")
            params.append(to_epoch(since))
        if until is not None:
            clauses.append(f"{time_column} < ?")
            params.append(to_epoch(until))
        if sources is not None:
            ids = self._source_ids(sources)
            clauses.append(f"{source_column} IN ({', '.join('?' * len(ids))})")
            params.extend(ids)
        return clauses, params

    def mentions(
        self,
        since: datetime | None,
        until: datetime | None,
        sources: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Mentions published in [since, until) (None = open end), oldest first (published_at, id)."""
        where, params = self._mention_filters(since, until, sources, kinds)
        rows = self._db.execute(f"{_MENTION_SELECT}{where} ORDER BY m.published_at, m.id", params).fetchall()
        return self._mention_frame(rows)

    def iter_mentions(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        chunk_size: int = 50_000,
    ) -> Iterator[pd.DataFrame]:
        """The same rows as `mentions`, in frames of at most `chunk_size` rows (memory stays flat).

        One SELECT streams every chunk, so the export sees one consistent snapshot even while the
        poller writes (SQLite's WAL; PostgreSQL's server-side cursor in one transaction).
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        where, params = self._mention_filters(since, until, sources, kinds)
        sql = f"{_MENTION_SELECT}{where} ORDER BY m.published_at, m.id"
        for rows in self._db.stream(sql, params, chunk_size):
            yield self._mention_frame(rows)

    def mentions_by_ids(self, ids: Iterable[int]) -> pd.DataFrame:
        """The given mentions (unknown ids are skipped), ordered by id."""
        wanted = sorted({int(i) for i in ids})
        rows: list[tuple[Any, ...]] = []
        for offset in range(0, len(wanted), 500):
            chunk = wanted[offset : offset + 500]
            rows += self._db.execute(
                f"{_MENTION_SELECT} WHERE m.id IN ({', '.join('?' * len(chunk))}) ORDER BY m.id", chunk
            ).fetchall()
        return self._mention_frame(rows)

    def latest_mentions(
        self,
        limit: int = 200,
        text: str | None = None,
        source: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
        sentiment: str | None = None,
        language: str | None = None,
    ) -> pd.DataFrame:
        """Newest first by (published_at, id), for the live table; page with `before_id`.

        `before_id` is the last (oldest) id the UI shows: the next page holds the rows that come after
        it in this order. `text` matches title, summary or author, case-insensitively (ASCII letters),
        as a substring. `sentiment` is a label (positive, neutral, negative); `language` a language
        code, or "" for the mentions whose language is unknown (or not analysed yet).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if sentiment is not None:
            clauses.append("m.sentiment_label = ?")
            params.append(sentiment)
        if language is not None:
            clauses.append("IFNULL(m.language, '') = ?")
            params.append(language)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                "(m.title LIKE ? ESCAPE '\\' OR m.summary LIKE ? ESCAPE '\\' OR m.author LIKE ? ESCAPE '\\')"
            )
            params += [pattern] * 3
        if source is not None:
            clauses.append("m.source_id IN (SELECT id FROM sources WHERE name = ?)")
            params.append(source)
        if kind is not None:
            clauses.append("m.kind = ?")
            params.append(kind)
        if before_id is not None:
            clauses.append("(m.published_at, m.id) < (SELECT published_at, id FROM mentions WHERE id = ?)")
            params.append(before_id)
        where = _where(clauses)
        rows = self._db.execute(
            f"{_MENTION_SELECT}{where} ORDER BY m.published_at DESC, m.id DESC LIMIT ?", [*params, limit]
        ).fetchall()
        return self._mention_frame(rows)

    def mentions_since(self, after_id: int, limit: int = 1000) -> pd.DataFrame:
        """Mentions stored after `after_id` (ids grow with every insert), oldest id first.

        The UI remembers `max_mention_id()` and asks only for what is new since.
        """
        rows = self._db.execute(
            f"{_MENTION_SELECT} WHERE m.id > ? ORDER BY m.id LIMIT ?", (after_id, limit)
        ).fetchall()
        return self._mention_frame(rows)

    def change_marker(self) -> tuple[int, int]:
        """Cheap to read (two rowid lookups), different after any stored poll: (last mention, last poll)."""
        row = self._db.execute(
            "SELECT (SELECT MAX(id) FROM mentions), (SELECT MAX(id) FROM polls)"
        ).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def max_mention_id(self) -> int:
        value = self._db.execute("SELECT MAX(id) FROM mentions").fetchone()[0]
        return int(value or 0)

    def mention(self, mention_id: int) -> MentionDetail | None:
        """One mention with its whole engagement history (oldest first); None if unknown."""
        row = self._db.execute(
            """SELECT m.id, s.name, s.type, m.kind, m.key, m.url, m.title, m.author, m.summary,
                      m.published_at, m.first_seen_at, m.updated_at, m.likes, m.replies, m.shares, m.views,
                      m.handled_at, m.content_changes
               FROM mentions m JOIN sources s ON s.id = m.source_id WHERE m.id = ?""",
            (mention_id,),
        ).fetchone()
        if row is None:
            return None
        history = tuple(
            EngagementSnapshot(_moment(at), likes, replies, shares, views)
            for at, likes, replies, shares, views in self._db.execute(
                """SELECT at, likes, replies, shares, views FROM engagement_history
                   WHERE mention_id = ? ORDER BY at""",
                (mention_id,),
            )
        )
        return MentionDetail(
            id=row[0],
            source=row[1],
            source_type=row[2],
            kind=row[3],
            key=row[4],
            url=row[5],
            title=row[6],
            author=row[7],
            summary=row[8],
            published_at=_moment(row[9]),
            first_seen_at=_moment(row[10]),
            updated_at=_moment(row[11]),
            likes=row[12],
            replies=row[13],
            shares=row[14],
            views=row[15],
            handled_at=from_epoch(row[16]),
            content_changes=row[17],
            history=history,
        )

    # ---- other tables --------------------------------------------------------------------------

    def history(
        self, since: datetime, until: datetime | None = None, mention_ids: Iterable[int] | None = None
    ) -> pd.DataFrame:
        """engagement_history rows with `at` in [since, until), ordered by (mention_id, at)."""
        clauses = ["at >= ?"]
        params: list[Any] = [to_epoch(since)]
        if until is not None:
            clauses.append("at < ?")
            params.append(to_epoch(until))
        if mention_ids is not None:
            ids = sorted({int(i) for i in mention_ids})
            clauses.append(f"mention_id IN ({', '.join('?' * len(ids))})")
            params += ids
        # ORDER BY at walks the index engagement_history_at; ordering by the primary key instead would
        # make SQLite scan the whole table to avoid a sort. Regrouped by mention in pandas.
        rows = self._db.execute(
            f"""SELECT mention_id, at, {", ".join(f"IFNULL({name}, {_NULL})" for name in COUNTS)}
                FROM engagement_history WHERE {" AND ".join(clauses)} ORDER BY at""",
            params,
        ).fetchall()
        frame = history_frame(rows)
        return frame.sort_values("mention_id", kind="stable", ignore_index=True)

    def engagement_snapshots(self, since: datetime, until: datetime) -> pd.DataFrame:
        """[mention_id, at, engagement] of the history rows in [since, until) whose engagement is known
        (the NA-aware sum computed in SQL), ordered by (mention_id, at): what velocity needs."""
        rows = self._db.execute(
            f"""SELECT mention_id, at, {ENGAGEMENT_SQL} FROM engagement_history
                WHERE at >= ? AND at < ? AND {ENGAGEMENT_KNOWN_SQL} ORDER BY at""",
            (to_epoch(since), to_epoch(until)),
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["mention_id", "at", "engagement"])
        frame = self._finish_aggregate(frame, "at")
        return frame.sort_values("mention_id", kind="stable", ignore_index=True)

    def polls(
        self, since: datetime | None, until: datetime | None, sources: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Attempts started in [since, until), oldest first: `POLL_COLUMNS`.

        One row per attempt for the retention's horizon (writer.Retention.attempts, 30 days by
        default); older attempts exist only as per-day rows, which `attempt_summary` counts."""
        clauses, params = self._range_clauses("p.started_at", "p.source_id", since, until, sources)
        where = _where(clauses)
        rows = self._db.execute(
            f"""SELECT p.id, p.source_id, p.started_at, p.duration, p.status, IFNULL(p.http_status, {_NULL}),
                       p.bytes, p.new, p.updated, p.error_class, p.error, p.consecutive_failures,
                       IFNULL(p.next_poll_at, {_NULL}), p.notes
                FROM polls p{where} ORDER BY p.started_at, p.id""",
            params,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(POLL_COLUMNS))
        frame["id"] = frame["id"].astype(np.int64)
        frame["source"] = frame["source"].map(self.source_names()).astype("str")
        frame["started_at"] = timestamps(frame["started_at"].to_numpy(dtype=np.int64))
        frame["duration"] = frame["duration"].astype(float)
        frame["status"] = frame["status"].astype("str")
        frame["http_status"] = nullable_int(frame["http_status"].to_numpy(dtype=np.int64))
        for column in ("bytes", "new", "updated", "consecutive_failures"):
            frame[column] = frame[column].astype(np.int64)
        frame["next_poll_at"] = timestamps(frame["next_poll_at"].to_numpy(dtype=np.int64))
        for column in ("error_class", "error", "notes"):
            frame[column] = frame[column].astype("str")
        return frame

    def attempt_summary(self, since: datetime, until: datetime, bucket_seconds: int) -> pd.DataFrame:
        """Per source and UTC-aligned bucket, the attempts started in [since, until):
        [source, bucket_start, attempts, successes, last_status] (last_status: the latest attempt's;
        between attempts of the same second, the one stored last).
        What collection health needs, a few rows per bucket instead of one per poll."""
        success = ", ".join(f"'{status.value}'" for status in SourceStatus if status.is_success)
        # last_status is the latest attempt's, the later inserted one (higher id) when two started in
        # the same second: the largest started_at * 2^31 + id, whose low bits are the attempt's id.
        split = self._hour_split(since, until, table="poll_hours")
        if bucket_seconds % 3600 != 0:
            split = _Split(split.low, split.high, None)
        raw = f"""SELECT g.source_id, g.bucket, g.n, g.ok, p.status, g.last_key FROM
                    (SELECT source_id, started_at - started_at % ?1 AS bucket, COUNT(*) AS n,
                            SUM({known(f"status IN ({success})")}) AS ok,
                            MAX(started_at * 2147483648 + id) AS last_key
                     FROM polls WHERE started_at >= ? AND started_at < ? GROUP BY source_id, bucket) g
                  JOIN polls p ON p.id = g.last_key % 2147483648"""
        # Whole hours from poll_hours (schema migration 6): the status of the hour holding the latest key.
        hours = """SELECT g.source_id, g.bucket, g.n, g.ok, h.last_status, g.last_key FROM
                     (SELECT source_id, hour - hour % ?1 AS bucket, SUM(attempts) AS n, SUM(successes) AS ok,
                             MAX(last_key) AS last_key
                      FROM poll_hours WHERE hour >= ? AND hour < ? GROUP BY source_id, bucket) g
                   JOIN poll_hours h ON h.source_id = g.source_id
                    AND h.hour = g.last_key / 2147483648 - (g.last_key / 2147483648) % 3600
                    AND h.hour >= g.bucket AND h.hour < g.bucket + ?1"""
        union, params = split.union(raw, hours)
        rows = self._db.execute(
            f"SELECT * FROM ({union}) AS attempts ORDER BY 2, 1", (bucket_seconds, *params)
        ).fetchall()
        if split.hours is not None:
            rows = _merge_attempts(rows)
        rolled = self._rolled_attempts(since, until, bucket_seconds)
        if rolled:
            rows = _merge_attempts([*rows, *rolled])
        frame = pd.DataFrame(
            [row[:5] for row in rows],
            columns=["source", "bucket_start", "attempts", "successes", "last_status"],
        )
        frame["last_status"] = frame["last_status"].astype("str")
        return self._finish_aggregate(frame, "bucket_start")

    def _rolled_attempts(
        self, since: datetime, until: datetime, bucket_seconds: int
    ) -> list[tuple[Any, ...]]:
        """attempt_summary's rows from poll_days: the days that retention rolled up (older than its
        horizon, 30 days by default) and that overlap [since, until). A rolled day counts whole, in
        the bucket of its start (or of `since`, for the day `since` falls in): days are its finest
        grain. Empty for every window inside the horizon, whose answers are the raw attempts'."""
        if not self._db.has_table("poll_days"):
            return []
        return self._db.execute(
            """SELECT source_id, CASE WHEN day > ?1 THEN day ELSE ?1 END
                                 - CASE WHEN day > ?1 THEN day ELSE ?1 END % ?3,
                      attempts, successes, last_status, last_started_at * 2147483648
               FROM poll_days WHERE day > ?1 - 86400 AND day < ?2""",
            (to_epoch(since), to_epoch(until), bucket_seconds),
        ).fetchall()

    def last_polls_before(self, moment: datetime) -> pd.DataFrame:
        """Each source's latest attempt strictly before `moment` [source, started_at, status]: the state
        that carries into a window starting at `moment` (index polls_source_started, one seek per source).
        """
        rows = self._db.execute(
            """SELECT s.id, p.started_at, p.status FROM sources s
               JOIN polls p ON p.id = (SELECT id FROM polls WHERE source_id = s.id AND started_at < ?
                                       ORDER BY started_at DESC, id DESC LIMIT 1)
               ORDER BY s.id""",
            (to_epoch(moment),),
        ).fetchall()
        if self._db.has_table("poll_days"):
            # A source whose attempts before `moment` were all rolled up: its last rolled day's last one.
            known = {row[0] for row in rows}
            for (source_id,) in self._db.execute("SELECT id FROM sources ORDER BY id").fetchall():
                if source_id in known:
                    continue
                found = self._db.execute(
                    """SELECT last_started_at, last_status FROM poll_days
                       WHERE source_id = ? AND last_started_at < ? ORDER BY day DESC LIMIT 1""",
                    (source_id, to_epoch(moment)),
                ).fetchone()
                if found is not None:
                    rows.append((source_id, *found))
            rows.sort(key=lambda row: row[0])
        frame = pd.DataFrame(rows, columns=["source", "started_at", "status"])
        frame["source"] = frame["source"].map(self.source_names()).astype("str")
        frame["started_at"] = timestamps(frame["started_at"].to_numpy(dtype=np.int64))
        frame["status"] = frame["status"].astype("str")
        return frame

    # ---- aggregates in SQL ---------------------------------------------------------------------

    def _hour_split(self, since: datetime, until: datetime, table: str = "mention_hours") -> _Split:
        """[since, until) as the whole UTC hours inside it (read from the rollup `table`) and the raw
        edges before and after them; no whole hours when the rollups are not used."""
        low, high = to_epoch(since), to_epoch(until)
        first, last = -(-low // 3600) * 3600, high - high % 3600
        if not self._use_rollups(table) or low < 0 or first >= last:
            return _Split(low, high, None)
        return _Split(low, high, (first, last))

    def _use_rollups(self, table: str = "mention_hours") -> bool:
        """Whether to read `table` (a read-only file of an older schema may not have it yet)."""
        if not self._rollups:
            return False
        if table not in self._rollup_tables:
            # A reader may open a file of an older schema (mode=ro cannot migrate it).
            self._rollup_tables[table] = self._db.has_table(table)
        return self._rollup_tables[table]

    def bucket_stats(self, since: datetime, until: datetime, bucket_seconds: int) -> pd.DataFrame:
        """Per UTC-aligned bucket and source, over mentions published in [since, until):
        `BUCKET_STAT_COLUMNS` = bucket_start, source, mentions, likes, likes_known, replies, ...,
        engagement, engagement_known, voices. Each count is summed over the mentions that report it
        (`<count>_known` of them, so 0 with 0 known means unknown); voices = distinct non-empty authors.
        Only (bucket, source) pairs with mentions appear.

        Buckets of whole hours read the window's whole hours from mention_hours and
        mention_hour_authors, and only the partial hours at its edges from mentions.
        """
        split = self._hour_split(since, until)
        if bucket_seconds % 3600 != 0:
            split = _Split(split.low, split.high, None)
        sums = ", ".join(f"IFNULL(m.{name}, 0), {known(f'm.{name} IS NOT NULL')}" for name in COUNTS)
        raw = f"""SELECT m.published_at - m.published_at % ?1 AS bucket, m.source_id AS source_id, 1 AS n,
                         {sums}, IFNULL({ENGAGEMENT_SQL}, 0), {known(ENGAGEMENT_KNOWN_SQL)}
                  FROM mentions m WHERE m.published_at >= ? AND m.published_at < ?"""
        rolled = f"""SELECT hour - hour % ?1, source_id, mentions,
                            {", ".join(f"{name}, {name}_known" for name in (*COUNTS, "engagement"))}
                     FROM mention_hours WHERE hour >= ? AND hour < ? AND mentions > 0"""
        union, params = split.union(raw, rolled)
        totals = ", ".join(f"SUM(c{index})" for index in range(3, 13))
        numbered = ", ".join(f"c{index}" for index in range(13))
        rows = self._db.execute(
            f"""WITH parts({numbered}) AS ({union})
                SELECT c0, c1, SUM(c2), {totals} FROM parts
                GROUP BY c0, c1 ORDER BY c0, c1""",
            (bucket_seconds, *params),
        ).fetchall()
        raw_voices = """SELECT m.published_at - m.published_at % ?1, m.source_id, m.author FROM mentions m
                        WHERE m.published_at >= ? AND m.published_at < ? AND m.author != ''"""
        rolled_voices = """SELECT hour - hour % ?1, source_id, author FROM mention_hour_authors
                           WHERE hour >= ? AND hour < ? AND mentions > 0 AND author != ''"""
        union, params = split.union(raw_voices, rolled_voices)
        voices = {
            (bucket, source_id): count
            for bucket, source_id, count in self._db.execute(
                f"""WITH parts(bucket, source_id, author) AS ({union})
                    SELECT bucket, source_id, COUNT(DISTINCT author) FROM parts GROUP BY bucket, source_id""",
                (bucket_seconds, *params),
            )
        }
        rows = [(*row, voices.get((row[0], row[1]), 0)) for row in rows]
        frame = pd.DataFrame(rows, columns=list(BUCKET_STAT_COLUMNS))
        return self._finish_aggregate(frame, "bucket_start")

    def totals(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Per source over [since, until): [source, mentions, engagement, engagement_known]."""
        split = self._hour_split(since, until)
        raw = f"""SELECT source_id, 1, IFNULL({ENGAGEMENT_SQL}, 0), {known(ENGAGEMENT_KNOWN_SQL)}
                  FROM mentions WHERE published_at >= ? AND published_at < ?"""
        rolled = """SELECT source_id, mentions, engagement, engagement_known FROM mention_hours
                    WHERE hour >= ? AND hour < ? AND mentions > 0"""
        union, params = split.union(raw, rolled)
        rows = self._db.execute(
            f"""WITH parts(source_id, n, engagement, known) AS ({union})
                SELECT source_id, SUM(n), SUM(engagement), SUM(known) FROM parts
                GROUP BY source_id ORDER BY source_id""",
            params,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["source", "mentions", "engagement", "engagement_known"])
        return self._finish_aggregate(frame)

    def hourly_counts(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Mentions per UTC hour and source over [since, until): [bucket_start, source, mentions]
        (whole hours from mention_hours, the edges through the covering index mentions_source_published;
        only non-empty hours appear)."""
        split = self._hour_split(since, until)
        # Naming every source id lets SQLite use the covering index (2x faster than mentions_published).
        ids = list(self.source_names())
        marks = ", ".join("?" * len(ids))
        raw = f"""SELECT published_at - published_at % 3600, source_id, 1 FROM mentions
                  WHERE source_id IN ({marks}) AND published_at >= ? AND published_at < ?"""
        rolled = "SELECT hour, source_id, mentions FROM mention_hours WHERE hour >= ? AND hour < ? AND mentions > 0"
        union, params = split.union(raw, rolled, raw_prefix=ids)
        rows = self._db.execute(
            f"""WITH parts(bucket, source_id, n) AS ({union})
                SELECT bucket, source_id, SUM(n) FROM parts GROUP BY bucket, source_id ORDER BY bucket, source_id""",
            params,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["bucket_start", "source", "mentions"])
        return self._finish_aggregate(frame, "bucket_start")

    def author_stats(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Per (source, author) with mentions in [since, until), authors "" excluded:
        [source, author, mentions, engagement, engagement_known, first_seen_at], where first_seen_at is
        the author's first mention on that source over ALL time (one index seek per author on
        mentions_source_author: the same name on two sources is two voices). Whole hours are read
        from mention_hour_authors.
        """
        split = self._hour_split(since, until)
        raw = f"""SELECT source_id, author, 1, IFNULL({ENGAGEMENT_SQL}, 0), {known(ENGAGEMENT_KNOWN_SQL)}
                  FROM mentions WHERE published_at >= ? AND published_at < ? AND author != ''"""
        rolled = """SELECT source_id, author, mentions, engagement, engagement_known FROM mention_hour_authors
                    WHERE hour >= ? AND hour < ? AND mentions > 0 AND author != ''"""
        union, params = split.union(raw, rolled)
        rows = self._db.execute(
            f"""WITH parts(source_id, author, n, engagement, known) AS ({union})
                SELECT w.source_id, w.author, w.n, w.engagement, w.known,
                       (SELECT MIN(x.published_at) FROM mentions x
                        WHERE x.source_id = w.source_id AND x.author = w.author)
                FROM (SELECT source_id, author, SUM(n) AS n, SUM(engagement) AS engagement, SUM(known) AS known
                      FROM parts GROUP BY source_id, author) w
                ORDER BY w.source_id, w.author""",
            params,
        ).fetchall()
        frame = pd.DataFrame(
            rows, columns=["source", "author", "mentions", "engagement", "engagement_known", "first_seen_at"]
        )
        frame["author"] = frame["author"].astype("str")
        return self._finish_aggregate(frame, "first_seen_at")

    def first_replies(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Mentions published in [since, until) from sources that report replies (replies not NULL):
        [id, source, published_at, first_reply_at], first_reply_at = the first engagement_history row
        with replies > 0 (NaT if none yet), ordered by id.

        engagement_history is clustered on (mention_id, at) and ids grow with inserts, so the window's
        mentions sit in one id range: one sequential range scan, no per-mention seek (3x faster over
        30 days of a 1M-mention store).
        """
        bounds = (to_epoch(since), to_epoch(until))
        mentions = self._db.execute(
            """SELECT id, source_id, published_at FROM mentions
               WHERE published_at >= ? AND published_at < ? AND replies IS NOT NULL ORDER BY id""",
            bounds,
        ).fetchall()
        frame = pd.DataFrame(mentions, columns=["id", "source", "published_at"]).astype(np.int64)
        replied: list[tuple[Any, ...]] = []
        if len(frame):
            replied = self._db.execute(
                """SELECT mention_id, MIN(at) FROM engagement_history
                   WHERE mention_id BETWEEN ? AND ? AND replies > 0 GROUP BY mention_id""",
                (int(frame["id"].iloc[0]), int(frame["id"].iloc[-1])),
            ).fetchall()
        first = pd.DataFrame(replied, columns=["id", "first_reply_at"]).astype(np.int64)
        frame = frame.merge(first, on="id", how="left")
        frame["first_reply_at"] = frame["first_reply_at"].fillna(_NULL).astype(np.int64)
        return self._finish_aggregate(frame, "published_at", "first_reply_at")

    def unanswered(self, since: datetime, until: datetime, limit: int | None = None) -> pd.DataFrame:
        """The candidates for "needs reply": mentions published in [since, until) with replies == 0 (so
        from a source that reports replies), not handled; the oldest `limit` (None = all), oldest first.
        Columns `UNANSWERED_COLUMNS`: id, source, kind, title, author, url, published_at, replies, handled.
        """
        bounded = "" if limit is None else " LIMIT ?"
        rows = self._db.execute(
            f"""SELECT id, source_id, kind, title, author, url, published_at, replies
                FROM mentions WHERE published_at >= ? AND published_at < ? AND replies = 0
                AND handled_at IS NULL ORDER BY published_at, id{bounded}""",
            (to_epoch(since), to_epoch(until), *(() if limit is None else (limit,))),
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(UNANSWERED_COLUMNS[:-1]))
        for column in ("kind", "title", "author", "url"):
            frame[column] = frame[column].astype("str")
        frame = self._finish_aggregate(frame, "published_at")
        frame["replies"] = frame["replies"].astype("Int64")
        frame["handled"] = False
        return frame

    def count_unanswered(self, since: datetime, until: datetime) -> int:
        """How many rows `unanswered(since, until)` would return without a limit."""
        value = self._db.execute(
            """SELECT COUNT(*) FROM mentions WHERE published_at >= ? AND published_at < ? AND replies = 0
               AND handled_at IS NULL""",
            (to_epoch(since), to_epoch(until)),
        ).fetchone()[0]
        return int(value)

    def ids_in_hours(self, hours: Sequence[datetime]) -> pd.DataFrame:
        """[id, source, bucket_start] of the mentions published in the given UTC hours (spike drivers),
        ordered by id: one index range per hour, a UNION ALL of them (a join with a VALUES list of the
        hours made PostgreSQL walk all 10M mentions by id: 13.9 s for a day's spikes, bench_pg_panels)."""
        starts = sorted({to_epoch(hour) - to_epoch(hour) % 3600 for hour in hours})
        rows: list[tuple[Any, ...]] = []
        one_hour = "SELECT id, source_id, CAST(? AS BIGINT) FROM mentions WHERE published_at >= ? AND published_at < ?"
        for offset in range(0, len(starts), 200):
            chunk = starts[offset : offset + 200]
            rows += self._db.execute(
                " UNION ALL ".join([one_hour] * len(chunk)),
                [value for start in chunk for value in (start, start, start + 3600)],
            ).fetchall()
        frame = pd.DataFrame(rows, columns=["id", "source", "bucket_start"])
        frame["id"] = frame["id"].astype(np.int64)
        frame = frame.sort_values("id", ignore_index=True)
        return self._finish_aggregate(frame, "bucket_start")

    def texts(
        self, since: datetime, until: datetime, *, max_docs: int | None = None, summary_chars: int = 500
    ) -> pd.DataFrame:
        """[id, source, text] with text = title + newline + the first `summary_chars` of the summary.

        Past `max_docs` mentions, an even sample by id (every k-th) keeps the cost bounded; the frame's
        `attrs["sampled_every"]` says k (1 = every mention).
        """
        bounds = (to_epoch(since), to_epoch(until))
        every = 1
        if max_docs is not None:
            total = self._db.execute(
                "SELECT COUNT(*) FROM mentions WHERE published_at >= ? AND published_at < ?", bounds
            ).fetchone()[0]
            every = max(1, -(-int(total) // max(1, max_docs)))
        rows = self._db.execute(
            """SELECT id, source_id, title || '\n' || substr(summary, 1, ?) FROM mentions
               WHERE published_at >= ? AND published_at < ? AND id % ? = 0 ORDER BY id""",
            (summary_chars, *bounds, every),
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["id", "source", "text"])
        frame["id"] = frame["id"].astype(np.int64)
        frame["text"] = frame["text"].astype("str")
        frame = self._finish_aggregate(frame)
        frame.attrs["sampled_every"] = every
        return frame

    def keyword_candidates(self, since: datetime, until: datetime, keywords: Sequence[str]) -> pd.DataFrame:
        """[id, source, text] (title + newline + summary) of the mentions in [since, until) that may
        contain one of `keywords`: LIKE prefilters (case-insensitive: ILIKE on PostgreSQL; a superset of the
        whole-word matches); with a non-ASCII keyword every mention of the window is returned.
        """
        clauses = []
        params: list[Any] = [to_epoch(since), to_epoch(until)]
        if keywords and all(keyword.isascii() for keyword in keywords):
            for keyword in keywords:
                pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                clauses.append("title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\'")
                params += [pattern, pattern]
        elif not keywords:
            clauses.append("1 = 0")
        where = f" AND ({' OR '.join(clauses)})" if clauses else ""
        rows = self._db.execute(
            f"""SELECT id, source_id, title || '\n' || summary FROM mentions
                WHERE published_at >= ? AND published_at < ?{where} ORDER BY id""",
            params,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["id", "source", "text"])
        frame["id"] = frame["id"].astype(np.int64)
        frame["text"] = frame["text"].astype("str")
        return self._finish_aggregate(frame)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only SELECT: for an analytics module that keeps its panel's SQL beside
        the pandas that reads it (issue 16; dashboard/analytics/sentiment.py). Source ids come back as
        ids: `source_names()` maps them."""
        return self._db.execute(sql, params).fetchall()

    def _finish_aggregate(self, frame: pd.DataFrame, *time_columns: str) -> pd.DataFrame:
        """Source ids -> names, epoch columns -> UTC timestamps, other numbers -> int64."""
        if "source" in frame.columns:
            frame["source"] = frame["source"].map(self.source_names()).astype("str")
        for column in time_columns:
            frame[column] = timestamps(frame[column].to_numpy(dtype=np.int64))
        for column in frame.columns:
            if column not in time_columns and frame[column].dtype != "str" and column != "source":
                frame[column] = frame[column].astype(np.int64)
        return frame


@dataclass(frozen=True, slots=True)
class _Split:
    """A window [low, high) in epoch seconds, and the whole hours [first, last) inside it that the
    rollups answer (None: the mentions answer it all)."""

    low: int
    high: int
    hours: tuple[int, int] | None

    def union(self, raw: str, rolled: str, raw_prefix: Sequence[Any] = ()) -> tuple[str, list[Any]]:
        """SQL for the window's rows: `raw` (its last two parameters are a published_at range, after
        `raw_prefix`) over the edges, `rolled` (its last two are an hour range) over the whole hours."""
        if self.hours is None:
            return raw, [*raw_prefix, self.low, self.high]
        first, last = self.hours
        return (
            f"{raw} UNION ALL {rolled} UNION ALL {raw}",
            [*raw_prefix, self.low, first, first, last, *raw_prefix, last, self.high],
        )


def _merge_attempts(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """attempt_summary rows (source_id, bucket, attempts, successes, last_status, order key) with one
    row per (source_id, bucket): counts added, the status of the highest order key kept."""
    merged: dict[tuple[int, int], list[Any]] = {}
    for source_id, bucket, attempts, successes, status, key in rows:
        found = merged.get((source_id, bucket))
        if found is None:
            merged[(source_id, bucket)] = [source_id, bucket, attempts, successes, status, key]
            continue
        found[2] += attempts
        found[3] += successes
        if key > found[5]:
            found[4], found[5] = status, key
    return [tuple(row) for row in sorted(merged.values(), key=lambda row: (row[1], row[0]))]


def history_frame(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """engagement_history rows (mention_id, at, likes, replies, shares, views; `_NULL` for NULL)."""
    raw = pd.DataFrame(list(rows), columns=list(HISTORY_COLUMNS[:-1]))
    frame = pd.DataFrame({"mention_id": raw["mention_id"].astype(np.int64)})
    frame["at"] = timestamps(raw["at"].to_numpy(dtype=np.int64))
    for column in COUNTS:
        frame[column] = nullable_int(raw[column].to_numpy(dtype=np.int64))
    frame["engagement"] = engagement_of(frame["likes"], frame["replies"], frame["shares"])
    return frame


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


__all__ = [
    "BUCKET_STAT_COLUMNS",
    "COUNTS",
    "ENGAGEMENT_COUNTS",
    "HISTORY_COLUMNS",
    "MENTION_COLUMNS",
    "POLL_COLUMNS",
    "SOURCE_COLUMNS",
    "TIMESTAMP",
    "UNANSWERED_COLUMNS",
    "EngagementSnapshot",
    "MentionDetail",
    "StoreReader",
    "engagement_of",
    "epoch",
    "history_frame",
    "nullable_int",
    "timestamps",
]


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""
