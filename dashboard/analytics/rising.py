"""Rising mentions: engagement gained per hour, from the stored engagement snapshots.

For each mention with at least two engagement_history rows inside a recent span (24 h by default), the
velocity is (total at the last row - total at the first row) / hours between them, total being
likes + replies + shares over the known ones. Absolute counts favour old, big posts; velocity finds
what is taking off now.

Snapshots closer together than `MIN_SPAN` are rated as if they were `MIN_SPAN` apart: two polls a minute
apart still show what is taking off (the dashboard polls every few minutes, so waiting for a wide span
would leave the panel empty for its first ten minutes), while the rate never divides by almost nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.analytics.windows import epochs_of
from dashboard.store.db import to_epoch
from dashboard.store.reader import ENGAGEMENT_KNOWN_SQL, ENGAGEMENT_SQL, StoreReader

VELOCITY_COLUMNS = ("id", "gained", "hours", "per_hour")
RISING_SPAN = timedelta(hours=24)
# The shortest span a rate is taken over: closer snapshots would divide by almost nothing.
MIN_SPAN = timedelta(minutes=10)


def velocities(history: pd.DataFrame, *, min_span: timedelta = MIN_SPAN) -> pd.DataFrame:
    """[id, gained, hours, per_hour] for every mention in `history` [mention_id, at, engagement] with
    two known totals or more; `per_hour` is gained over the hours between them, at least `min_span`."""
    known = history.loc[history["engagement"].notna(), ["mention_id", "at", "engagement"]]
    frame = pd.DataFrame(
        {
            "id": known["mention_id"].to_numpy(dtype=np.int64),
            "epoch": epochs_of(known["at"]),
            "total": known["engagement"].to_numpy(dtype=np.int64),
        }
    ).sort_values(["id", "epoch"], kind="stable")
    grouped = frame.groupby("id", sort=True)
    ends = grouped.agg(
        first_epoch=("epoch", "first"),
        last_epoch=("epoch", "last"),
        first_total=("total", "first"),
        last_total=("total", "last"),
    )
    hours = (ends["last_epoch"] - ends["first_epoch"]) / 3600.0
    result = pd.DataFrame(
        {
            "id": ends.index.to_numpy(dtype=np.int64),
            "gained": (ends["last_total"] - ends["first_total"]).to_numpy(dtype=np.int64),
            "hours": hours.to_numpy(dtype=float),
        }
    )
    result = result[result["hours"] > 0].copy()
    rated_hours = result["hours"].clip(lower=min_span.total_seconds() / 3600.0)
    result["per_hour"] = result["gained"] / rated_hours
    return result.reset_index(drop=True)


def rising(history: pd.DataFrame, *, top_n: int = 10, min_span: timedelta = MIN_SPAN) -> pd.DataFrame:
    """The `top_n` mentions that gained engagement fastest (gained > 0), highest per_hour first."""
    speeds = velocities(history, min_span=min_span)
    gaining = speeds[speeds["gained"] > 0]
    ordered = gaining.sort_values(["per_hour", "id"], ascending=[False, False])
    return ordered.head(top_n).reset_index(drop=True)


def engagement_snapshots(reader: StoreReader, since: datetime, until: datetime) -> pd.DataFrame:
    """[mention_id, at, engagement] of the history rows in [since, until) whose engagement is known
    (the NA-aware sum computed in SQL), ordered by (mention_id, at): what velocity needs."""
    rows = reader.query(
        f"""SELECT mention_id, at, {ENGAGEMENT_SQL} FROM engagement_history
            WHERE at >= ? AND at < ? AND {ENGAGEMENT_KNOWN_SQL} ORDER BY at""",
        (to_epoch(since), to_epoch(until)),
    )
    frame = reader.finish_aggregate(pd.DataFrame(rows, columns=["mention_id", "at", "engagement"]), "at")
    return frame.sort_values("mention_id", kind="stable", ignore_index=True)


__all__ = [
    "MIN_SPAN",
    "RISING_SPAN",
    "VELOCITY_COLUMNS",
    "engagement_snapshots",
    "rising",
    "velocities",
]
