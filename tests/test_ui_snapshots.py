"""Snapshots of the dashboard on a pre-filled store with a frozen clock (no polling).

Regenerate after an intended change with `pytest tests/test_ui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from dashboard.ui.app import DashboardApp, make_app
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.widgets.alerts import AlertsPanel
from tests.test_ui_filters_opinion import with_opinions
from tests.test_ui_samples import NOW, fill_store, snapshot_config

WIDE = (160, 48)
NARROW = (80, 24)


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local times render as UTC on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("snapshots")
    fill_store(directory / "snapshot.db", snapshot_config(directory))
    with_opinions(directory / "snapshot.db")  # languages and sentiments, as the opinion pass stores them
    return directory


def frozen_app(directory: Path) -> DashboardApp:
    return make_app(
        snapshot_config(directory), database=directory / "snapshot.db", clock=lambda: NOW, poll=False
    )


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait for the analytics, the stream and the alert log (three workers whose results arrive as
    messages, in any order on a loaded machine), then for the tables to measure their columns."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    screen = next((s for s in pilot.app.screen_stack if isinstance(s, MainScreen)), None)
    if screen is not None:
        for _ in range(100):
            if screen.query_one(AlertsPanel).alerts is not None and screen.dashboard is not None:
                break
            await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def then(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press(*keys)
        await loaded(pilot)

    return run_before


@pytest.mark.parametrize("size", [NARROW, (120, 36), WIDE], ids=["80x24", "120x36", "160x48"])
def test_main_screen(snap_compare: Any, store: Path, size: tuple[int, int]) -> None:
    assert snap_compare(frozen_app(store), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("key", list("1234567890"))
def test_each_panel_at_80x24(snap_compare: Any, store: Path, key: str) -> None:
    assert snap_compare(frozen_app(store), terminal_size=NARROW, run_before=then(key))


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x48"])
def test_mention_detail(snap_compare: Any, store: Path, size: tuple[int, int]) -> None:
    """The top rising mention: its engagement grew, so the detail draws the line."""
    assert snap_compare(frozen_app(store), terminal_size=size, run_before=then("4", "enter"))


def test_help_screen_at_80x24(snap_compare: Any, store: Path) -> None:
    assert snap_compare(frozen_app(store), terminal_size=NARROW, run_before=then("question_mark"))


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x48"])
def test_failing_source_error(snap_compare: Any, store: Path, size: tuple[int, int]) -> None:
    assert snap_compare(
        frozen_app(store), terminal_size=size, run_before=then("7", "down", "down", "down", "enter")
    )


def test_help_screen(snap_compare: Any, store: Path) -> None:
    assert snap_compare(frozen_app(store), terminal_size=WIDE, run_before=then("question_mark"))


def test_window_cycled_to_seven_days(snap_compare: Any, store: Path) -> None:
    assert snap_compare(frozen_app(store), terminal_size=WIDE, run_before=then("w"))
