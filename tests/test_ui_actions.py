"""Actions on a pre-filled store (no polling): mark handled, read-only refusal, command palette, modals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, Sparkline, Static
from textual.widgets._footer import FooterKey

from dashboard.ui.app import DashboardApp, make_app
from dashboard.ui.commands import COMMANDS
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.help import HelpScreen, help_rows
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.screens.source_detail import SourceDetailScreen
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.stream import StreamPanel
from tests.test_ui_app import main_screen, record_opened, wait_for
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
    return [
        table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value or "" for row in range(table.row_count)
    ]


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


KEY_NAMES = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter"}


def footer_bindings() -> list[Binding]:
    """Every binding the footer can show, on the main screen, in a panel or in a dialog."""
    groups = [
        DashboardApp.BINDINGS,
        MentionTablePanel.BINDINGS,
        NeedsReplyPanel.BINDINGS,
        StreamPanel.BINDINGS,
    ]
    groups += [MentionDetailScreen.BINDINGS, SourceDetailScreen.BINDINGS, HelpScreen.BINDINGS]
    return [binding for group in groups for binding in group if isinstance(binding, Binding)]


def test_help_and_palette_cover_every_key_in_the_footer() -> None:
    help_keys = {part for key, _ in help_rows() for part in key.replace(",", " ").split()}
    for binding in footer_bindings():
        assert KEY_NAMES.get(binding.key, binding.key) in help_keys, binding
    palette = {action for _, _, action in COMMANDS}
    for binding in footer_bindings():
        if binding.show and binding.action != "dismiss_screen":
            assert binding.action in palette, binding  # each footer key's action is also found by name


async def test_help_is_readable_at_80x24_and_q_closes_it(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_x == 0
        texts = list(app.screen.query(".help-text"))
        assert all(text.region.right <= box.content_region.right for text in texts)
        assert any(text.size.height > 1 for text in texts)  # long lines wrap under themselves
        box.scroll_end(animate=False)
        await pilot.pause()
        last = texts[-1]
        assert box.content_region.contains_region(last.region)  # the end of the help can be reached
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen)
        assert app.is_running  # q closed the dialog, not the dashboard


async def test_a_rising_mention_shows_its_engagement_line_and_q_closes_it(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        await pilot.press("4", "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, MentionDetailScreen) and bool(app.screen.query(Sparkline))
        )
        detail = app.screen
        assert len(list(detail.query_one(Sparkline).data or [])) >= 2
        caption = detail.query_one("#detail-history-caption", Static).render()
        assert "snapshots" in str(getattr(caption, "plain", caption))
        assert detail.query(FooterKey)  # the footer still lists its keys once the mention is shown
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen)
        assert app.is_running


async def test_the_palette_reaches_the_panels_keys(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    opened = record_opened(app)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await wait_for(pilot, lambda: main_screen(app).query_one(StreamPanel).table.row_count > 0)
        stream = main_screen(app).query_one(StreamPanel)
        url = stream.record_under_cursor()["url"]  # type: ignore[index]
        await pilot.press("ctrl+p", *"open link")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: opened == [url])
        await pilot.press("ctrl+p", *"mark handled")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: main_screen(app).query_one(NeedsReplyPanel).table.has_focus)
        oldest = waiting_ids(app)[0]
        await pilot.press("ctrl+p", *"mark handled")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: oldest not in waiting_ids(app))
