"""Actions on a pre-filled store (no polling): mark handled, read-only refusal, command palette, modals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from dashboard.ui.app import DashboardApp, make_app
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.help import HelpScreen
from dashboard.ui.screens.source_detail import SourceDetailScreen
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.sources import SourcesPanel
from tests.test_ui_app import main_screen, wait_for
from tests.test_ui_samples import NOW, fill_store, snapshot_config


def filled(tmp_path: Path) -> Path:
    fill_store(tmp_path / "snapshot.db", snapshot_config(tmp_path))
    return tmp_path / "snapshot.db"


def app_on(tmp_path: Path, *, readonly: bool = False) -> DashboardApp:
    return make_app(
        snapshot_config(tmp_path),
        database=tmp_path / "snapshot.db",
        clock=lambda: NOW,
        poll=False,
        readonly=readonly,
    )


def waiting_ids(app: DashboardApp) -> list[str]:
    table = main_screen(app).query_one(NeedsReplyPanel).table
    return [table.coordinate_to_cell_key((row, 0)).row_key.value or "" for row in range(table.row_count)]


async def loaded(app: DashboardApp, pilot: Pilot[None]) -> None:
    await wait_for(pilot, lambda: bool(waiting_ids(app)))


def handled_at(database: Path, mention_id: str) -> object:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT handled_at FROM mentions WHERE id = ?", (int(mention_id),)
        ).fetchone()[0]


async def test_x_marks_handled_and_it_stays_handled_after_a_restart(tmp_path: Path) -> None:
    database = filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        oldest = waiting_ids(app)[0]
        await pilot.press("2", "x")
        await wait_for(pilot, lambda: oldest not in waiting_ids(app))
        assert any("Handled:" in str(note.message) for note in app._notifications)
    assert handled_at(database, oldest) is not None

    again = app_on(tmp_path)
    async with again.run_test(size=(160, 48)) as pilot:
        await loaded(again, pilot)
        assert oldest not in waiting_ids(again)


async def test_a_readonly_instance_refuses_to_mark_handled(tmp_path: Path) -> None:
    database = filled(tmp_path)
    app = app_on(tmp_path, readonly=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        oldest = waiting_ids(app)[0]
        await pilot.press("2", "x")
        await pilot.pause()
        assert any("Read-only" in str(note.message) for note in app._notifications)
        assert oldest in waiting_ids(app)
    assert handled_at(database, oldest) is None


async def test_command_palette_runs_dashboard_actions(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"last 7 days")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.window == "7d")
        await pilot.press("ctrl+p", *"help")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_enter_on_a_failing_source_shows_its_full_error(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        await pilot.press("7")
        table = main_screen(app).query_one(SourcesPanel).query_one(DataTable)
        table.move_cursor(row=table.get_row_index("Mastodon #textual"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SourceDetailScreen))
        error = app.screen.query_one("#source-error").render()
        assert "[b]Internal[/b] error" in str(getattr(error, "plain", error))
        await pilot.press("escape")
        assert not isinstance(app.screen, SourceDetailScreen)


async def test_clicking_a_row_opens_it(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        panel = main_screen(app).query_one(NeedsReplyPanel)
        await pilot.click(panel.table, offset=(3, 1))
        await pilot.click(panel.table, offset=(3, 1))
        await wait_for(pilot, lambda: isinstance(app.screen, MentionDetailScreen))
