"""Trending on the smallest vocabularies: no numpy warning, no score where the odds are undefined."""

from __future__ import annotations

import warnings

import numpy as np

from dashboard.analytics import trending


def test_a_term_holding_all_the_mass_gets_no_score_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `export --what all` printed divide-by-zero warnings here
        scores = trending.log_odds_scores(np.array([4]), np.array([0]))
    assert scores.tolist() == [0.0]


def test_trending_over_a_one_word_window_and_an_empty_baseline_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = trending.trending_terms(["lumen"] * 5, [])
    assert found.empty or bool((found["score"] >= 0).all())


def test_defined_odds_are_unchanged() -> None:
    scores = trending.log_odds_scores(np.array([10, 1, 1]), np.array([1, 5, 5]))
    assert scores[0] > 0 > scores[1]
    assert np.isfinite(scores).all()
