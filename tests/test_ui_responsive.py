"""The UI keeps answering keys while a large poll runs (200 feeds from the local server)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from dashboard.ui.app import make_app
from tests.localserver import LocalServer
from tests.test_ui_app import main_screen, rss, wait_for, write_config

FEEDS = 200


async def test_keys_stay_responsive_during_a_poll_of_200_feeds(server: LocalServer, tmp_path: Path) -> None:
    names = [f"feed{number}" for number in range(FEEDS)]
    for name in names:
        server.route(f"/{name}.xml", rss(name, [f"{name} item {n} about textual" for n in range(3)]))
    app = make_app(write_config(tmp_path, server, names), database=tmp_path / "m.db")
    # How far the poll had got when each key's action ran: keys handled between two fetches prove
    # the event loop kept answering during the poll. How fast it answered is measured by
    # bench/bench_dashboard.py (event-loop stalls), never asserted here.
    handled: list[int] = []
    cycle_window = app.action_cycle_window

    def counted_cycle_window() -> None:
        handled.append(len(server.seen))
        cycle_window()

    app.action_cycle_window = counted_cycle_window  # type: ignore[method-assign]
    presses = 0
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(server.seen) > 0, timeout=30)
        while len(server.seen) < FEEDS or not presses:
            await pilot.press("w")
            presses += 1
        await wait_for(
            pilot,
            lambda: main_screen(app).query_one("#stream-table", DataTable).row_count == 500,
            timeout=120,
        )
    assert len(handled) == presses  # every key press was handled
    assert any(0 < fetched < FEEDS for fetched in handled), handled  # some while the poll was running
