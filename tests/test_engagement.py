"""One definition of engagement: the scalar (models.engagement), the vectorised (reader.engagement_of)
and the UI's record reader (rows.engagement_of) agree on every mix of known and unknown counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard.models import engagement
from dashboard.store.reader import EngagementSnapshot, MentionDetail
from dashboard.store.reader import engagement_of as series_engagement
from dashboard.ui.screens.detail import engagement_trail
from dashboard.ui.widgets.rows import engagement_of as record_engagement

VALUES = (None, 0, 3, 10**12)
TRIPLES = list(itertools.product(VALUES, repeat=3))


@pytest.mark.parametrize("counts", TRIPLES)
def test_scalar_is_the_sum_of_the_known_counts(counts: tuple[int | None, int | None, int | None]) -> None:
    known = [count for count in counts if count is not None]
    assert engagement(*counts) == (sum(known) if known else None)


def test_scalar_and_vectorised_agree() -> None:
    likes, replies, shares = (pd.Series([t[i] for t in TRIPLES], dtype="Int64") for i in range(3))
    vectorised = series_engagement(likes, replies, shares)
    for row, counts in enumerate(TRIPLES):
        value = vectorised.iloc[row]
        assert (None if value is pd.NA else int(value)) == engagement(*counts)


@pytest.mark.parametrize("counts", TRIPLES)
def test_the_ui_reads_a_record_the_same_way(counts: tuple[int | None, int | None, int | None]) -> None:
    record = dict(zip(("likes", "replies", "shares"), counts, strict=True))
    assert record_engagement(record) == engagement(*counts)
    # A pandas row carries <NA> for an unknown count, not None.
    row = {name: pd.NA if value is None else value for name, value in record.items()}
    assert record_engagement(row) == engagement(*counts)


def test_a_record_with_only_the_sum_gives_it() -> None:
    assert record_engagement({"engagement": 12}) == 12
    assert record_engagement({"engagement": pd.NA}) is None


def test_the_detail_trail_leaves_out_snapshots_with_no_known_count() -> None:
    at = datetime(2024, 3, 31, 12, tzinfo=UTC)
    history = (
        EngagementSnapshot(at, None, None, None, 50),  # views only: no engagement known
        EngagementSnapshot(at + timedelta(hours=1), 2, None, 1, None),
        EngagementSnapshot(at + timedelta(hours=2), 5, 0, None, None),
    )
    detail = MentionDetail(
        1, "HN", "hackernews", "post", "k", "https://example.org", "t", "a", "", at, at, at,
        5, 0, None, None, None, 0, history,
    )  # fmt: skip
    trail = engagement_trail(detail)
    assert (trail.values, trail.since) == ((3.0, 5.0), at + timedelta(hours=1))
    assert detail.engagement == engagement(detail.likes, detail.replies, detail.shares) == 5
