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

The reader is the repository: sources, mentions, engagement history and attempts. Each panel's own
aggregate (counts per bucket, per author, first replies, ...) sits beside the pandas that reads it in
dashboard/analytics/ and runs through `query`, on the shared SQL vocabulary here (`known`,
`ENGAGEMENT_SQL`, `hour_split` for the rollups, `finish_aggregate` for the dtypes), so the analytics
load only a window's rows and only the columns they need. Rows are read with `cursor.fetchall()` into
the DataFrame constructor: as fast as `pd.read_sql_query` (measured: bench/bench_panels.py) and it
keeps integer columns integer (read_sql turns a column with NULLs into float).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from dashboard.models import engagement
from dashboard.store.db import Connection, Database, connect, from_epoch, to_epoch

TIMESTAMP: Final = "datetime64[us, UTC]"
COUNTS = ("likes", "replies", "shares", "views")
# Engagement is what people did to a mention; views are exposure, not engagement.
ENGAGEMENT_COUNTS = ("likes", "replies", "shares")
# Stands for NULL in integer columns read from SQL, so they arrive as int64 (counts can be negative:
# a Stack Exchange score, a Reddit vote balance).
NULL_INT = -(2**62)

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
           m.first_seen_at, {", ".join(f"IFNULL(m.{name}, {NULL_INT})" for name in COUNTS)},
           IFNULL(m.handled_at, {NULL_INT}), IFNULL(m.language, ''), m.sentiment,
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
    """Epoch seconds (int, with `NULL_INT` or None for missing) -> datetime64[us, UTC] values (NaT for
    missing), to assign as a column positionally."""
    array = np.asarray(values)
    if array.dtype == object:
        array = np.array([NULL_INT if v is None else v for v in array], dtype=np.int64)
    array = array.astype(np.int64, copy=False)
    missing = array == NULL_INT
    micros = np.where(missing, 0, array) * 1_000_000
    result = micros.astype("datetime64[us]")
    result[missing] = np.datetime64("NaT")
    return pd.DatetimeIndex(result).tz_localize(UTC)


def nullable_int(values: Iterable[Any] | np.ndarray) -> pd.arrays.IntegerArray:
    """int64 with `NULL_INT` for NULL -> nullable Int64."""
    array = np.asarray(values, dtype=np.int64)
    missing = array == NULL_INT
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
            (NULL_INT, NULL_INT, NULL_INT, NULL_INT),
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
            f"""SELECT mention_id, at, {", ".join(f"IFNULL({name}, {NULL_INT})" for name in COUNTS)}
                FROM engagement_history WHERE {" AND ".join(clauses)} ORDER BY at""",
            params,
        ).fetchall()
        frame = history_frame(rows)
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
            f"""SELECT p.id, p.source_id, p.started_at, p.duration, p.status, IFNULL(p.http_status, {NULL_INT}),
                       p.bytes, p.new, p.updated, p.error_class, p.error, p.consecutive_failures,
                       IFNULL(p.next_poll_at, {NULL_INT}), p.notes
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

    # ---- what each panel's own query builds on ---------------------------------------------------
    # The panels' SQL sits beside the pandas that reads it, in dashboard/analytics/ (issue 16): the
    # reader is the repository (sources, mentions, history, polls) and these few primitives.

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only SELECT. Source ids come back as ids: `finish_aggregate` or
        `source_names()` maps them."""
        return self._db.execute(sql, params).fetchall()

    def has_table(self, name: str) -> bool:
        return self._db.has_table(name)

    def hour_split(self, since: datetime, until: datetime, table: str = "mention_hours") -> HourSplit:
        """[since, until) as the whole UTC hours inside it (read from the rollup `table`) and the raw
        edges before and after them; no whole hours when the rollups are not used."""
        low, high = to_epoch(since), to_epoch(until)
        first, last = -(-low // 3600) * 3600, high - high % 3600
        if not self.uses_rollup(table) or low < 0 or first >= last:
            return HourSplit(low, high, None)
        return HourSplit(low, high, (first, last))

    def day_split(self, since: datetime, until: datetime) -> HourSplit:
        """`hour_split` of the per-author rollups, with the whole UTC days inside its whole hours read
        from mention_day_authors (when this store has it)."""
        split = self.hour_split(since, until)
        if split.hours is None or not self.uses_rollup("mention_day_authors"):
            return split
        first, last = split.hours
        days = (-(-first // 86400) * 86400, last - last % 86400)
        return replace(split, days=days) if days[0] < days[1] else split

    def uses_rollup(self, table: str = "mention_hours") -> bool:
        """Whether to read `table`, a table the writer derives from the mentions (the hour rollups, the
        keyword matches), instead of the mentions: a read-only file of an older schema may not have it
        yet, and `rollups=False` never reads one."""
        if not self._rollups:
            return False
        if table not in self._rollup_tables:
            # A reader may open a file of an older schema (mode=ro cannot migrate it).
            self._rollup_tables[table] = self._db.has_table(table)
        return self._rollup_tables[table]

    def finish_aggregate(self, frame: pd.DataFrame, *time_columns: str) -> pd.DataFrame:
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
class HourSplit:
    """A window [low, high) in epoch seconds, and the whole hours [first, last) inside it that the
    rollups answer (None: the mentions answer it all)."""

    low: int
    high: int
    hours: tuple[int, int] | None
    days: tuple[int, int] | None = None  # whole days [first, last) inside the hours (day_split)

    def whole_hours_only(self, bucket_seconds: int) -> HourSplit:
        """This split for buckets of `bucket_seconds`: the rollups answer only buckets of whole hours
        (the day rollups only buckets of whole days)."""
        if bucket_seconds % 3600:
            return HourSplit(self.low, self.high, None)
        return self if bucket_seconds % 86400 == 0 else replace(self, days=None)

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

    def union_by_day(self, raw: str, hourly: str, daily: str) -> tuple[str, list[Any]]:
        """`union` with the whole days read by `daily` (its last two parameters are a day range) and
        only the hours around them by `hourly`."""
        if self.hours is None or self.days is None:
            return self.union(raw, hourly)
        (first, last), (first_day, last_day) = self.hours, self.days
        return (
            f"{raw} UNION ALL {hourly} UNION ALL {daily} UNION ALL {hourly} UNION ALL {raw}",
            [self.low, first, first, first_day, first_day, last_day, last_day, last, last, self.high],
        )


def history_frame(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """engagement_history rows (mention_id, at, likes, replies, shares, views; `NULL_INT` for NULL)."""
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
    "COUNTS",
    "ENGAGEMENT_COUNTS",
    "ENGAGEMENT_KNOWN_SQL",
    "ENGAGEMENT_SQL",
    "HISTORY_COLUMNS",
    "MENTION_COLUMNS",
    "NULL_INT",
    "POLL_COLUMNS",
    "SOURCE_COLUMNS",
    "TIMESTAMP",
    "EngagementSnapshot",
    "HourSplit",
    "MentionDetail",
    "StoreReader",
    "engagement_of",
    "epoch",
    "history_frame",
    "known",
    "nullable_int",
    "timestamps",
]


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""
