"""Engagement (likes, replies, shares; views apart) per source and per mention, NA-aware.

A source that does not report a count contributes nothing to it: sums run over the mentions that report
the count, and averages divide by those mentions only (unknown is not zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analytics.volume import TOTAL
from dashboard.store.reader import COUNTS

MEASURES = (*COUNTS, "engagement")
ENGAGEMENT_COLUMNS = ("mentions", *MEASURES, *(f"{name}_per_mention" for name in MEASURES))


def engagement_by_source(stats: pd.DataFrame) -> pd.DataFrame:
    """Per source plus a TOTAL row, from bucket_stats/totals-shaped `stats` (any number of rows per
    source): mentions, the sums of likes, replies, shares, views, engagement (NaN where no mention
    reports the count) and `<count>_per_mention` = sum / mentions that report it (NaN likewise)."""
    columns = ["mentions", *MEASURES, *(f"{name}_known" for name in MEASURES)]
    summed = stats.groupby("source", sort=True)[columns].sum() if not stats.empty else None
    if summed is None:
        summed = pd.DataFrame(0, index=pd.Index([], dtype="str", name="source"), columns=columns)
    summed.loc[TOTAL] = summed.sum(axis=0)
    summed = summed.astype(float)
    result = pd.DataFrame({"mentions": summed["mentions"]}, index=summed.index)
    for name in MEASURES:
        known = summed[f"{name}_known"]
        result[name] = summed[name].where(known > 0)
    for name in MEASURES:
        known = summed[f"{name}_known"]
        result[f"{name}_per_mention"] = (summed[name] / known).where(known > 0)
    result.index.name = "source"
    return result


def total_engagement(stats: pd.DataFrame) -> int | None:
    """The window's engagement over the mentions that report any; None when none does."""
    if stats.empty or int(stats["engagement_known"].sum()) == 0:
        return None
    return int(np.int64(stats["engagement"].sum()))


__all__ = ["ENGAGEMENT_COLUMNS", "MEASURES", "engagement_by_source", "total_engagement"]
