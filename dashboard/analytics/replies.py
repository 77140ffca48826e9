"""Mentions waiting for an answer, and how long answers take.

Needs reply: from a source that reports replies (replies is not NA), replies == 0, not handled, older
than `min_age` (give people a chance) and younger than `horizon` (past that it is history), oldest first.
Time to first response (CHAOSS): the first engagement_history row with replies > 0, minus published_at.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.analytics.windows import epochs_of, to_epoch_seconds

NEEDS_REPLY_COLUMNS = ("id", "source", "kind", "title", "author", "url", "published_at", "age_hours")
MIN_AGE = timedelta(hours=2)
HORIZON = timedelta(days=7)


def needs_reply(
    mentions: pd.DataFrame, now: datetime, *, min_age: timedelta = MIN_AGE, horizon: timedelta = HORIZON
) -> pd.DataFrame:
    """`NEEDS_REPLY_COLUMNS` of the mentions that wait for an answer at `now`, oldest first.

    `mentions` needs [id, source, kind, title, author, url, published_at, replies, handled]: a mention
    frame, or the cheaper StoreReader.unanswered.
    """
    now_epoch = to_epoch_seconds(now)
    age = now_epoch - epochs_of(mentions["published_at"])
    replies = mentions["replies"].astype("Int64")
    waiting = (
        replies.eq(0).fillna(False).to_numpy(dtype=bool)
        & ~mentions["handled"].to_numpy(dtype=bool)
        & (age >= min_age.total_seconds())
        & (age < horizon.total_seconds())
    )
    chosen = mentions.loc[waiting, list(NEEDS_REPLY_COLUMNS[:-1])].copy()
    chosen["age_hours"] = age[waiting] / 3600.0
    ordered: pd.DataFrame = chosen.sort_values(["published_at", "id"], kind="stable")
    return ordered.reset_index(drop=True)


def first_replies_from_rows(mentions: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The pandas equivalent of StoreReader.first_replies: [id, source, published_at, first_reply_at]
    for the mentions that report replies; first_reply_at NaT when no snapshot shows a reply yet."""
    reporting = mentions.loc[mentions["replies"].notna(), ["id", "source", "published_at"]]
    answered = history.loc[history["replies"].fillna(0).gt(0).to_numpy(dtype=bool), ["mention_id", "at"]]
    first = answered.groupby("mention_id")["at"].min().rename("first_reply_at")
    merged = reporting.merge(first, left_on="id", right_index=True, how="left")
    return merged.sort_values("id").reset_index(drop=True)


def response_times(first_replies: pd.DataFrame) -> pd.Series:
    """Time to first response of each answered mention (timedelta; negative clock skew clipped to 0)."""
    answered = first_replies[first_replies["first_reply_at"].notna()]
    seconds = epochs_of(answered["first_reply_at"]) - epochs_of(answered["published_at"])
    return pd.Series(pd.to_timedelta(np.maximum(seconds, 0), unit="s"), index=answered["id"].to_numpy())


def median_first_response(first_replies: pd.DataFrame) -> timedelta | None:
    """The median over the answered mentions; None when no mention has been answered."""
    times = response_times(first_replies)
    if times.empty:
        return None
    seconds = float(np.median(times.dt.total_seconds().to_numpy()))
    return timedelta(seconds=seconds)


__all__ = [
    "HORIZON",
    "MIN_AGE",
    "NEEDS_REPLY_COLUMNS",
    "first_replies_from_rows",
    "median_first_response",
    "needs_reply",
    "response_times",
]
