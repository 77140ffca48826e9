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

import numpy as np
import pandas as pd

from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.models import SourceStatus

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
    of StoreReader.last_polls_before, for frames already loaded)."""
    earlier = polls.loc[polls["started_at"] < before, ["source", "started_at", "status"]]
    ordered = earlier.sort_values("started_at", kind="stable")
    return ordered.groupby("source", sort=False).tail(1).reset_index(drop=True)


ATTEMPT_COLUMNS = ("source", "bucket_start", "attempts", "successes", "last_status")


def summarise_attempts(polls: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The pandas equivalent of StoreReader.attempt_summary for loaded polls [source, started_at,
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
    StoreReader.attempt_summary or `summarise_attempts`); `carried` holds each source's last attempt
    before the window [source, started_at, status] (StoreReader.last_polls_before).
    `before_first_attempt` (OK or NO_DATA) is the status of the buckets before a source's first attempt
    ever (its every bucket when it was never attempted).
    """
    if before_first_attempt not in (OK, NO_DATA):
        raise ValueError(f"before_first_attempt must be {OK!r} or {NO_DATA!r}, not {before_first_attempt!r}")
    index = window.bucket_starts()
    columns = pd.Index(list(sources), dtype="str", name="source")
    healthy = _healthy(attempts, carried, columns, window, unattempted_ok=before_first_attempt == OK)
    return pd.DataFrame(np.where(healthy, OK, NO_DATA), index=index, columns=columns, dtype="str")


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


__all__ = [
    "ATTEMPT_COLUMNS",
    "NO_DATA",
    "OK",
    "PARTIAL",
    "SUCCESS_STATUSES",
    "bucket_status",
    "carried_states",
    "is_success",
    "summarise_attempts",
    "total_status",
]
