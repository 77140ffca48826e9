"""One duration grammar for feeds.toml, the CLI's spans and the UI's windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.analytics.windows import Window, parse_span
from dashboard.config import ConfigError, parse_config
from dashboard.durations import (
    DEFAULT_WINDOW,
    WINDOW_SPECS,
    WINDOWS,
    DurationError,
    format_duration,
    parse_duration,
    span_words,
    window_label,
)
from dashboard.sources import source_types

ACCEPTED = ["2w", "1w2d", "90 min", "1.5h", "1h30m", "45s", "7d", "1d 2h"]


@pytest.mark.parametrize("text", ACCEPTED)
def test_config_and_cli_accept_the_same_durations(text: str) -> None:
    assert parse_span(text) == timedelta(seconds=parse_duration(text))


def test_weeks_are_a_unit_for_feeds_toml_intervals() -> None:
    config = parse_config(
        '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed"\ninterval = "2w"\n',
        Path("feeds.toml"),
        registry=source_types(),
    )
    assert config.sources[0].interval == 14 * 86400


@pytest.mark.parametrize("text", ["", "24", "h", "24x", "-1h", "0h", "1h and more", "1m1h", "1e3s"])
def test_both_refuse_the_same_nonsense(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)
    with pytest.raises(DurationError):
        parse_span(text)


def test_feeds_toml_bounds_intervals_but_windows_may_be_longer() -> None:
    with pytest.raises(DurationError, match="at most 366d"):
        parse_duration("400d")
    assert parse_span("400d") == timedelta(days=400)


def test_format_is_the_inverse_for_whole_seconds() -> None:
    for seconds in (1, 59, 60, 5400, 86400, 14 * 86400 + 1):
        assert parse_duration(format_duration(seconds)) == seconds


def test_config_error_names_the_grammar_with_weeks() -> None:
    with pytest.raises(ConfigError, match="2w"):
        parse_config(
            '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed"\ninterval = "often"\n',
            Path("feeds.toml"),
            registry=source_types(),
        )


def test_the_dashboards_windows_are_defined_once() -> None:
    assert WINDOW_SPECS == ("24h", "7d", "30d")
    assert DEFAULT_WINDOW.spec == "24h"
    assert [(choice.label, choice.words) for choice in WINDOWS] == [
        ("24 h", "24 hours"),
        ("7 d", "7 days"),
        ("30 d", "30 days"),
    ]
    assert [choice.periods for choice in WINDOWS] == [
        ("the last 24 h", "the 24 h before"),
        ("this week", "last week"),
        ("these 30 days", "the 30 before"),
    ]


@pytest.mark.parametrize("spec", [*WINDOW_SPECS, "36h", "2w", "90 min"])
def test_window_labels_are_the_analytics_labels(spec: str) -> None:
    """The header's label and the computed window's must match: the main screen compares them."""
    now = datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert window_label(spec) == Window.last(spec, now).label


def test_a_window_spec_that_does_not_parse_is_shown_as_typed() -> None:
    assert window_label("often") == "often"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3600, "1 hour"),
        (36 * 3600, "36 hours"),
        (48 * 3600, "48 hours"),
        (3 * 86400, "3 days"),
        (5400, "1 h 30 min"),
    ],
)
def test_span_words(seconds: int, words: str) -> None:
    assert span_words(seconds) == words
