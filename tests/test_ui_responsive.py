"""The UI keeps answering keys while a large poll runs (200 feeds from the local server)."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import DataTable

from dashboard.ui.app import make_app
from tests.localserver import LocalServer
from tests.test_ui_app import main_screen, rss, wait_for, write_config

FEEDS = 200
KEY_BOUND = 1.5  # seconds from a key press to its action running, while the poll is in flight


async def test_keys_stay_responsive_during_a_poll_of_200_feeds(server: LocalServer, tmp_path: Path) -> None:
    names = [f"feed{number}" for number in range(FEEDS)]
    for name in names:
        server.route(f"/{name}.xml", rss(name, [f"{name} item {n} about textual" for n in range(3)]))
    app = make_app(write_config(tmp_path, server, names), database=tmp_path / "m.db")
    handled: list[float] = []
    cycle_window = app.action_cycle_window

    def timed_cycle_window() -> None:
        handled.append(time.monotonic())
        cycle_window()

    app.action_cycle_window = timed_cycle_window  # type: ignore[method-assign]
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(server.seen) > 0, timeout=30)
        pressed_during_poll = 0
        while len(server.seen) < FEEDS or not latencies:
            pressed_during_poll += len(server.seen) < FEEDS
            pressed = time.monotonic()
            await pilot.press("w")
            latencies.append(handled[-1] - pressed)
        await wait_for(
            pilot,
            lambda: main_screen(app).query_one("#stream-table", DataTable).row_count == 500,
            timeout=120,
        )
    assert pressed_during_poll >= 1
    assert len(handled) == len(latencies)
    assert max(latencies) < KEY_BOUND, f"slowest key press took {max(latencies):.2f} s"
