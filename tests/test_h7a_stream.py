"""The live stream stays live: it follows the newest row, says how many arrived above when the user
reads further down, jumps back with `n` or Home, and opens a filter at its newest row."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot

from dashboard.config import Config
from dashboard.store.writer import Store
from dashboard.ui.app import DashboardApp
from dashboard.ui.widgets.stream import StreamPanel
from tests.test_ui_actions import app_on, filled
from tests.test_ui_app import main_screen, wait_for
from tests.test_ui_samples import NOW, _mention, _save, snapshot_config

_numbers = itertools.count(5000)


def stream_of(app: DashboardApp) -> StreamPanel:
    return main_screen(app).query_one(StreamPanel)


def row_keys(stream: StreamPanel) -> list[str]:
    table = stream.table
    return [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]


def add_mentions(database: Path, config: Config, count: int, *, minutes_ago: int) -> list[str]:
    """Store `count` new mentions of the first source (newer than any before), as a poll would."""
    source = config.sources[0]
    rng = random.Random(7)
    numbers = [next(_numbers) for _ in range(count)]
    mentions = [
        _mention(source.name, number, NOW - timedelta(minutes=minutes_ago, seconds=index), rng)
        for index, number in enumerate(numbers)
    ]
    with Store.open(database) as store:
        _save(store, source, NOW - timedelta(minutes=1), mentions)
    return [mention.title for mention in mentions]


async def refreshed(app: DashboardApp, pilot: Pilot[None], newest_title: str) -> None:
    """Refresh the way a finished poll does, and wait until the stream holds the new rows."""
    app.refresh_now()
    stream = stream_of(app)

    def arrived() -> bool:
        return any(record.get("title") == newest_title for record in stream._by_key.values())

    await wait_for(pilot, arrived)
    await pilot.pause()


def title_at(stream: StreamPanel, row: int) -> str:
    return stream.table.get_row_at(row)[4].plain


async def test_the_stream_follows_the_newest_until_the_user_moves_away(tmp_path: Path) -> None:
    database = filled(tmp_path)
    config = snapshot_config(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        stream = stream_of(app)
        await wait_for(pilot, lambda: stream.table.row_count > 0)
        titles = add_mentions(database, config, 3, minutes_ago=30)
        await refreshed(app, pilot, titles[0])
        assert stream.table.cursor_row == 0
        assert title_at(stream, 0) == titles[0]  # the newest is on top, under the cursor
        assert stream.table.scroll_y == 0
        assert not stream.has_class("-behind")

        await pilot.press("down", "down", "down")
        reading = stream.table.current_key
        later = add_mentions(database, config, 4, minutes_ago=10)
        await refreshed(app, pilot, later[0])
        assert stream.table.current_key == reading  # the row being read stays under the cursor
        assert stream.new_above == 4
        assert stream.has_class("-behind")
        indicator = str(stream.query_one("#stream-new").render())
        assert "4 new mentions above" in indicator
        assert "n or Home" in indicator
        assert stream.table.cursor_row - round(stream.table.scroll_y) == 3  # and where it was on screen

        await pilot.press("n")
        await pilot.pause()
        assert stream.table.cursor_row == 0
        assert title_at(stream, 0) == later[0]
        assert stream.table.scroll_y == 0
        assert stream.new_above == 0
        assert not stream.has_class("-behind")

        await pilot.press("down", "down")
        last = add_mentions(database, config, 2, minutes_ago=5)
        await refreshed(app, pilot, last[0])
        assert stream.new_above == 2
        await pilot.press("home")
        await pilot.pause()
        assert stream.table.cursor_row == 0
        assert title_at(stream, 0) == last[0]
        assert stream.new_above == 0


async def test_more_new_rows_than_a_screen_are_all_counted(tmp_path: Path) -> None:
    database = filled(tmp_path)
    config = snapshot_config(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        stream = stream_of(app)
        await wait_for(pilot, lambda: stream.table.row_count > 0)
        await pilot.press("down", "down", "down")
        reading = stream.table.current_key
        titles = add_mentions(database, config, 60, minutes_ago=20)
        await refreshed(app, pilot, titles[0])
        assert stream.table.size.height < 60  # more arrived than the table shows at once
        assert stream.new_above == 60
        assert stream.table.current_key == reading
        assert round(stream.table.scroll_y) == 60  # the rows being read did not move on screen


async def test_scrolling_back_up_to_the_new_rows_clears_the_count(tmp_path: Path) -> None:
    database = filled(tmp_path)
    config = snapshot_config(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        stream = stream_of(app)
        await wait_for(pilot, lambda: stream.table.row_count > 0)
        await pilot.press("down")
        titles = add_mentions(database, config, 2, minutes_ago=10)
        await refreshed(app, pilot, titles[0])
        assert stream.new_above == 2
        await pilot.press("up", "up", "up")
        await pilot.pause()
        assert stream.table.cursor_row == 0
        assert stream.new_above == 0
        assert not stream.has_class("-behind")


async def test_a_filter_opens_at_its_newest_row(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        stream = stream_of(app)
        await wait_for(pilot, lambda: stream.table.row_count > 40)
        for _ in range(40):
            await pilot.press("down")
        assert stream.table.scroll_y > 0
        await pilot.press("slash", *"source:r/Python", "enter")

        def only_reddit() -> bool:
            sources = {record.get("source") for record in stream._by_key.values()}
            return sources == {"r/Python"}

        await wait_for(pilot, only_reddit)
        await pilot.pause()
        newest = max(stream._by_key.values(), key=lambda record: record["published_at"])
        assert stream.table.cursor_row == 0
        assert stream.table.scroll_y == 0
        assert row_keys(stream)[0] == str(newest["id"])


async def test_a_quoted_caseless_source_prefix_filters_and_a_typo_says_did_you_mean(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        stream = stream_of(app)
        await wait_for(pilot, lambda: stream.table.row_count > 0)
        await pilot.press("slash", *'source:"hacker n"')

        def sources() -> set[object]:
            return {record.get("source") for record in stream._by_key.values()}

        await wait_for(pilot, lambda: sources() == {"Hacker News"})
        stream.filter_input.value = 'source:"Hacker Nwes"'
        await wait_for(pilot, lambda: stream.table.row_count == 0)
        assert 'Did you mean source:"Hacker News"?' in stream.table.empty_message
