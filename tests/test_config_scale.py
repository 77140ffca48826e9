"""Validating feeds.toml is linear in the number of entries (counted in interpreter steps, not time)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import dashboard.config
from dashboard.config import parse_config
from dashboard.sources import source_types

CONFIG_FILE = dashboard.config.__file__


def feeds_toml(entries: int) -> str:
    return "".join(
        f'[[feeds]]\nname = "Feed {i}"\nurl = "https://example{i}.org/feed.xml"\ntags = ["a"]\n\n'
        for i in range(entries)
    )


def steps_to_parse(entries: int) -> int:
    """Lines of dashboard/config.py executed while parsing a config of `entries` feeds."""
    text = feeds_toml(entries)
    registry = source_types()
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != CONFIG_FILE:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        config = parse_config(text, Path("feeds.toml"), registry=registry)
    finally:
        sys.settrace(None)
    assert len(config.sources) == entries
    return count


def test_validation_work_grows_linearly_with_entries() -> None:
    small, large = steps_to_parse(200), steps_to_parse(800)
    # Four times the entries: linear work is ~4x; the old locator (one list scan per entry) was ~12x.
    assert large / small < 5.0


def test_entry_lines_are_still_found_among_many() -> None:
    text = feeds_toml(300) + '[[feeds]]\nname = "Last"\nurl = "ftp://example.org/feed"\n'
    with pytest.raises(dashboard.config.ConfigError) as caught:
        parse_config(text, Path("feeds.toml"), registry=source_types())
    assert str(caught.value).startswith(f"feeds.toml:{300 * 5 + 3}:")
