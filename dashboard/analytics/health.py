"""Collection health per source and bucket: was the source actually collected, or is a gap "no data"?

A source's state carries forward from each attempt (a `polls` row) until the next attempt. A bucket is
- "ok" if any successful attempt ("ok" or "not modified") falls in it, or if it has no attempt and the
  carried-forward state is a success;
- "no data" if the attempts in it all failed, or it has no attempt and the carried state is a failure;
- before the source's first attempt: `before_first_attempt` says. Exports pass NO_DATA: time the tool
  never observed is not "0 mentions" (metrics.csv said 0 for the hours before the tool ever ran).
  The default OK keeps the panels' older reading (history a first poll backfilled counts as seen).
A "no data" bucket is shown as NaN (never 0) in every series built on top of this grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.models import SourceStatus
from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader, known, timestamps

OK = "ok"
NO_DATA = "no data"
# Only for a "total" column: some sources have data in the bucket, others don't.
PARTIAL = "partial"
SUCCESS_STATUSES = frozenset(str(status) for status in SourceStatus if status.is_success)


def is_success(statuses: pd.Series) -> pd.Series:
    """True where a polls.status string is a success ("ok", "not modified")."""
    return statuses.isin(SUCCESS_STATUSES)


def carried_states(polls: pd.DataFrame, before: pd.Timestamp) -> pd.DataFrame:
    """Each source's last attempt strictly before `before` [source, started_at, status] (pandas version
    of `last_polls_before`, for frames already loaded)."""
    earlier = polls.loc[polls["started_at"] < before, ["source", "started_at", "status"]]
    ordered = earlier.sort_values("started_at", kind="stable")
    return ordered.groupby("source", sort=False).tail(1).reset_index(drop=True)


ATTEMPT_COLUMNS = ("source", "bucket_start", "attempts", "successes", "last_status")


def summarise_attempts(polls: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The pandas equivalent of `attempt_summary` for loaded polls [source, started_at,
    status] (those outside the window are dropped): `ATTEMPT_COLUMNS` per source and bucket. Between
    attempts of the same second, the later row is the later attempt (StoreReader.polls orders by id)."""
    epochs = epochs_of(polls["started_at"])
    inside = (epochs >= window.start_epoch) & (epochs < window.end_epoch)
    frame = pd.DataFrame(
        {
            "source": polls["source"].astype("str").to_numpy()[inside],
            "bucket": window.bucket_of(epochs[inside]),
            "epoch": epochs[inside],
            "success": is_success(polls["status"]).to_numpy(dtype=bool)[inside],
            "status": polls["status"].astype("str").to_numpy()[inside],
        }
    ).sort_values("epoch", kind="stable")
    summary = (
        frame.groupby(["bucket", "source"], sort=True)
        .agg(attempts=("success", "size"), successes=("success", "sum"), last_status=("status", "last"))
        .reset_index()
    )
    summary.insert(1, "bucket_start", utc_times(summary.pop("bucket").to_numpy()))
    summary["attempts"] = summary["attempts"].astype(np.int64)
    summary["successes"] = summary["successes"].astype(np.int64)
    summary["last_status"] = summary["last_status"].astype("str")
    return summary[list(ATTEMPT_COLUMNS)]


def bucket_status(
    attempts: pd.DataFrame,
    carried: pd.DataFrame,
    sources: Sequence[str],
    window: Window,
    *,
    before_first_attempt: str = OK,
) -> pd.DataFrame:
    """The health grid: index bucket_start (the window's UTC buckets), one column per source in
    `sources`, values OK or NO_DATA.

    `attempts` summarises the attempts per source and bucket of this window (`ATTEMPT_COLUMNS`, from
    `attempt_summary` or `summarise_attempts`); `carried` holds each source's last attempt
    before the window [source, started_at, status] (`last_polls_before`).
    `before_first_attempt` (OK or NO_DATA) is the status of the buckets before a source's first attempt
    ever (its every bucket when it was never attempted).
    """
    if before_first_attempt not in (OK, NO_DATA):
        raise ValueError(f"before_first_attempt must be {OK!r} or {NO_DATA!r}, not {before_first_attempt!r}")
    index = window.bucket_starts()
    columns = pd.Index(list(sources), dtype="str", name="source")
    healthy = _healthy(attempts, carried, columns, window, unattempted_ok=before_first_attempt == OK)
    # One object block, not one string array per source: each reader of the grid compares all of it
    # to OK at once (`grid.to_numpy() == OK`), which joined 1,000 string columns first.
    return pd.DataFrame(np.where(healthy, OK, NO_DATA).astype(object), index=index, columns=columns)


def _healthy(
    attempts: pd.DataFrame, carried: pd.DataFrame, columns: pd.Index, window: Window, *, unattempted_ok: bool
) -> np.ndarray:
    """bucket x source booleans, in numpy: a pandas groupby/unstack/ffill was ~50x slower here."""
    buckets, width = len(window.bucket_epochs()), len(columns)
    epochs = epochs_of(attempts["bucket_start"])
    column = columns.get_indexer(pd.Index(attempts["source"].astype("str")))
    row = (epochs - window.first_bucket_epoch()) // window.bucket_seconds
    keep = (column >= 0) & (row >= 0) & (row < buckets) & (attempts["attempts"].to_numpy() > 0)
    row, column = row[keep], column[keep]
    attempted = np.zeros((buckets, width), dtype=bool)
    any_success = np.zeros((buckets, width), dtype=bool)
    last_success = np.zeros((buckets, width), dtype=bool)
    attempted[row, column] = True
    any_success[row, column] = attempts["successes"].to_numpy()[keep] > 0
    last_success[row, column] = is_success(attempts["last_status"]).to_numpy(dtype=bool)[keep]
    carried_in = (
        carried.assign(success=is_success(carried["status"]))
        .drop_duplicates("source", keep="last")
        .set_index("source")["success"]
        .reindex(columns)
    )
    # A source never attempted before the window: ok (backfilled history) or "no data" (never observed)
    # until its first attempt, as the caller chose.
    initial = carried_in.fillna(unattempted_ok).to_numpy(dtype=bool)
    # A source with no attempt at all, before or in the window (added but never polled), was never
    # observed: "no data" everywhere, never a row of zeros.
    never_attempted = carried_in.isna().to_numpy() & ~attempted.any(axis=0)
    initial = initial & ~never_attempted
    # Carry each attempted bucket's last outcome forward through the buckets without attempts.
    positions = np.where(attempted, np.arange(buckets)[:, None], -1)
    latest = np.maximum.accumulate(positions, axis=0) if buckets else positions
    previous = np.vstack([np.full((1, width), -1), latest[:-1]]) if buckets else latest
    carried_state = np.where(
        previous >= 0, last_success[np.maximum(previous, 0), np.arange(width)[None, :]], initial[None, :]
    )
    result: np.ndarray = np.where(attempted, any_success, carried_state)
    return result


def total_status(status: pd.DataFrame) -> pd.Series:
    """Per bucket: OK when every source has data, NO_DATA when none has, PARTIAL otherwise."""
    if status.shape[1] == 0:
        return pd.Series(OK, index=status.index, dtype="str", name="total")
    has_data = pd.DataFrame(status.to_numpy() == OK, index=status.index, columns=status.columns)
    every, some = has_data.all(axis=1), has_data.any(axis=1)
    values = np.where(every, OK, np.where(some, PARTIAL, NO_DATA))
    return pd.Series(values, index=status.index, dtype="str", name="total")


# ---- the attempts, from the store: per source and bucket, and the state carried into a window ----


def attempt_summary(
    reader: StoreReader, since: datetime, until: datetime, bucket_seconds: int
) -> pd.DataFrame:
    """Per source and UTC-aligned bucket, the attempts started in [since, until): `ATTEMPT_COLUMNS`
    (last_status: the latest attempt's; between attempts of the same second, the one stored last).
    What collection health needs, a few rows per bucket instead of one per poll."""
    success = ", ".join(f"'{status}'" for status in sorted(SUCCESS_STATUSES))
    # last_status is the latest attempt's, the later inserted one (higher id) when two started in
    # the same second: the largest started_at * 2^31 + id, whose low bits are the attempt's id.
    split = reader.hour_split(since, until, table="poll_hours").whole_hours_only(bucket_seconds)
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
    rows = reader.query(f"SELECT * FROM ({union}) AS attempts ORDER BY 2, 1", (bucket_seconds, *params))
    if split.hours is not None:
        rows = _merge_attempts(rows)
    rolled = _rolled_attempts(reader, since, until, bucket_seconds)
    if rolled:
        rows = _merge_attempts([*rows, *rolled])
    frame = pd.DataFrame([row[:5] for row in rows], columns=list(ATTEMPT_COLUMNS))
    frame["last_status"] = frame["last_status"].astype("str")
    return reader.finish_aggregate(frame, "bucket_start")


def _rolled_attempts(
    reader: StoreReader, since: datetime, until: datetime, bucket_seconds: int
) -> list[tuple[Any, ...]]:
    """attempt_summary's rows from poll_days: the days that retention rolled up (older than its
    horizon, 30 days by default) and that overlap [since, until). A rolled day counts whole, in
    the bucket of its start (or of `since`, for the day `since` falls in): days are its finest
    grain. Empty for every window inside the horizon, whose answers are the raw attempts'."""
    if not reader.has_table("poll_days"):
        return []
    return reader.query(
        """SELECT source_id, CASE WHEN day > ?1 THEN day ELSE ?1 END
                             - CASE WHEN day > ?1 THEN day ELSE ?1 END % ?3,
                  attempts, successes, last_status, last_started_at * 2147483648
           FROM poll_days WHERE day > ?1 - 86400 AND day < ?2""",
        (to_epoch(since), to_epoch(until), bucket_seconds),
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


def last_polls_before(reader: StoreReader, moment: datetime) -> pd.DataFrame:
    """Each source's latest attempt strictly before `moment` [source, started_at, status]: the state
    that carries into a window starting at `moment` (index polls_source_started, one seek per source).
    """
    before = to_epoch(moment)
    rows = reader.query(
        """SELECT s.id, p.started_at, p.status FROM sources s
           JOIN polls p ON p.id = (SELECT id FROM polls WHERE source_id = s.id AND started_at < ?
                                   ORDER BY started_at DESC, id DESC LIMIT 1)
           ORDER BY s.id""",
        (before,),
    )
    if reader.has_table("poll_days"):
        # A source whose attempts before `moment` were all rolled up: its last rolled day's last one.
        # One query for all sources: one per source was 1,000 queries (~45 ms) for each grid.
        found = {row[0] for row in rows}
        rolled = reader.query(
            """SELECT d.source_id, d.last_started_at, d.last_status FROM poll_days d
               JOIN (SELECT source_id, MAX(day) AS day FROM poll_days WHERE last_started_at < ?
                     GROUP BY source_id) latest ON latest.source_id = d.source_id AND latest.day = d.day""",
            (before,),
        )
        rows += [row for row in rolled if row[0] not in found]
        rows.sort(key=lambda row: row[0])
    frame = pd.DataFrame(rows, columns=["source", "started_at", "status"])
    frame["source"] = frame["source"].map(reader.source_names()).astype("str")
    frame["started_at"] = timestamps(frame["started_at"].to_numpy(dtype=np.int64))
    frame["status"] = frame["status"].astype("str")
    return frame


__all__ = [
    "ATTEMPT_COLUMNS",
    "NO_DATA",
    "OK",
    "PARTIAL",
    "SUCCESS_STATUSES",
    "attempt_summary",
    "bucket_status",
    "carried_states",
    "is_success",
    "last_polls_before",
    "summarise_attempts",
    "total_status",
]
