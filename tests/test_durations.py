"""One duration grammar for feeds.toml, the CLI's spans and the UI's windows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.analytics.windows import parse_span
from dashboard.config import ConfigError, parse_config
from dashboard.durations import DurationError, format_duration, parse_duration
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
