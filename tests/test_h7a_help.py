"""The help is true at every size: each key it lists, pressed at 80x24 and at 200x50, does what the
help says there (a key added to the help without a check here fails the coverage assertion)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Tabs

from dashboard.ui.app import DashboardApp
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.help import TAB_COMPACT, TAB_WIDE, HelpScreen, help_rows, is_compact
from dashboard.ui.screens.main import PANELS, MainScreen, panel_key
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.stream import StreamPanel
from dashboard.ui.widgets.table import KeyedTable
from tests.test_ui_actions import app_on, filled
from tests.test_ui_app import main_screen, record_opened, wait_for

SIZES = [(80, 24), (200, 50)]
Check = Callable[[DashboardApp, "Driver"], Awaitable[None]]


class Driver:
    """Presses keys and waits, on one running app."""

    def __init__(self, app: DashboardApp, pilot: object, size: tuple[int, int]) -> None:
        self.app = app
        self.pilot = pilot
        self.size = size
        self.opened = record_opened(app)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)  # type: ignore[attr-defined]
        await self.pilot.pause()  # type: ignore[attr-defined]

    async def until(self, check: Callable[[], bool]) -> None:
        await wait_for(self.pilot, check)  # type: ignore[arg-type]

    def said(self, text: str) -> bool:
        return any(text in str(note.message) for note in self.app._notifications)

    @property
    def main(self) -> MainScreen:
        return main_screen(self.app)

    def focused_panel(self) -> str | None:
        focused = self.app.focused
        if focused is None:
            return None
        panel = next((node for node in focused.ancestors_with_self if isinstance(node, Panel)), None)
        return panel.id if panel else None

    def focused_table(self) -> KeyedTable:
        focused = self.app.focused
        assert isinstance(focused, KeyedTable), focused
        return focused

    async def show(self, number: int) -> KeyedTable:
        await self.press(str(number))
        await self.until(lambda: isinstance(self.app.focused, KeyedTable))
        return self.focused_table()


async def poll_key(app: DashboardApp, drive: Driver) -> None:
    before = len(app._notifications)
    await drive.press("r")
    await drive.until(lambda: len(app._notifications) > before)  # polls, or says why it does not


async def pause_key(app: DashboardApp, drive: Driver) -> None:
    before = len(app._notifications)
    await drive.press("p")
    await drive.until(lambda: len(app._notifications) > before)


async def window_key(app: DashboardApp, drive: Driver) -> None:
    seen = [app.window]
    for _ in range(3):
        await drive.press("w")
        seen.append(app.window)
    assert seen == ["24h", "7d", "30d", "24h"]


async def filter_key(app: DashboardApp, drive: Driver) -> None:
    await drive.press("slash")
    stream = drive.main.query_one(StreamPanel)
    assert stream.filter_input.has_focus
    assert stream.filter_input.display
    await drive.press(*"kind:post")
    await drive.until(lambda: app.mention_filter.kind == "post")
    await drive.press("escape")
    assert stream.filter_input.value == ""
    assert stream.table.has_focus


async def export_key(app: DashboardApp, drive: Driver) -> None:
    await drive.press("e")
    await drive.until(lambda: drive.said("Exporting a snapshot"))


async def number_keys(app: DashboardApp, drive: Driver) -> None:
    for number, (panel, _) in enumerate(PANELS, start=1):
        await drive.press(panel_key(number))
        assert drive.main.query_one(Tabs).active == f"tab-{panel}"
        shown = drive.main.query_one(f"#{panel}", Panel)
        assert shown.display
        if is_compact(*drive.size):  # one panel at a time: only this one
            others = [p for p in drive.main.query_one("#panels").query_children(Panel) if p is not shown]
            assert not any(p.has_class("-current") for p in others)
    await drive.press("1")


async def tab_key(app: DashboardApp, drive: Driver) -> None:
    said = dict(help_rows(*drive.size))["Tab"]
    await drive.show(1)
    if is_compact(*drive.size):
        assert said == TAB_COMPACT
        await drive.press("tab")
        tabs = drive.main.query_one(Tabs)
        assert tabs.has_focus
        await drive.press("right")
        assert tabs.active == "tab-needs-reply"
        await drive.press("left")
        assert tabs.active == "tab-stream"
        await drive.press("tab")
        assert drive.focused_panel() == "stream"
        await drive.press("shift+tab")
        assert tabs.has_focus
        await drive.press("shift+tab")
    else:
        assert said == TAB_WIDE
        await drive.press("tab")
        assert drive.focused_panel() == "needs-reply"
        await drive.press("shift+tab")
    assert drive.focused_panel() == "stream"


async def palette_key(app: DashboardApp, drive: Driver) -> None:
    await drive.press("ctrl+p")
    await drive.until(lambda: isinstance(app.screen, CommandPalette))
    await drive.press("escape")
    await drive.until(lambda: isinstance(app.screen, MainScreen))


async def help_key(app: DashboardApp, drive: Driver) -> None:
    await drive.press("question_mark")
    assert isinstance(app.screen, HelpScreen)
    await drive.press("escape")
    assert isinstance(app.screen, MainScreen)


async def arrow_keys(app: DashboardApp, drive: Driver) -> None:
    table = await drive.show(1)
    await drive.press("ctrl+home")
    await drive.press("down")
    assert table.cursor_row == 1
    await drive.press("up")
    assert table.cursor_row == 0
    await drive.press("pagedown")
    assert table.cursor_row > 1
    await drive.press("pageup")
    assert table.cursor_row == 0


async def first_last_keys(app: DashboardApp, drive: Driver) -> None:
    for number in range(1, len(PANELS) + 1):
        await drive.press(panel_key(number))
        await drive.press()
        focused = app.focused
        if not isinstance(focused, KeyedTable) or focused.row_count < 2:
            continue
        await drive.press("ctrl+end")
        assert focused.cursor_row == focused.row_count - 1, number
        await drive.press("ctrl+home")
        assert focused.cursor_row == 0, number
        panel = next(node for node in focused.ancestors if isinstance(node, Panel))
        if isinstance(panel, MentionTablePanel):  # "Home and End too in the mention lists"
            await drive.press("end")
            assert focused.cursor_row == focused.row_count - 1, number
            await drive.press("home")
            assert focused.cursor_row == 0, number
    await drive.press("1")


async def newest_keys(app: DashboardApp, drive: Driver) -> None:
    table = await drive.show(1)
    for key in ("n", "home"):
        await drive.press("down", "down")
        assert table.cursor_row == 2
        await drive.press(key)
        assert table.cursor_row == 0


async def enter_and_dialog_keys(app: DashboardApp, drive: Driver) -> None:
    table = await drive.show(1)
    stream = drive.main.query_one(StreamPanel)
    url = stream.record_under_cursor()["url"]  # type: ignore[index]
    for close in ("escape", "q"):
        await drive.press("enter")
        await drive.until(
            lambda: isinstance(app.screen, MentionDetailScreen) and app.screen.detail is not None
        )
        await drive.press(close)
        assert isinstance(app.screen, MainScreen)
        assert app.is_running
    await drive.press("enter")
    await drive.until(lambda: isinstance(app.screen, MentionDetailScreen) and app.screen.detail is not None)
    await drive.press("o")
    assert drive.opened[-1] == url
    await drive.press("escape")
    assert table.has_focus


async def link_key(app: DashboardApp, drive: Driver) -> None:
    await drive.show(1)
    url = drive.main.query_one(StreamPanel).record_under_cursor()["url"]  # type: ignore[index]
    await drive.press("o")
    assert drive.opened[-1] == url


async def handled_key(app: DashboardApp, drive: Driver) -> None:
    await drive.show(2)
    await drive.press("x")
    await drive.until(lambda: drive.said("Handled:"))
    await drive.press("1")


async def quit_key(app: DashboardApp, drive: Driver) -> None:
    await drive.press("q")
    await drive.until(lambda: not app.is_running)


# Each key as the help names it -> the check that it does what the help says. Quit runs last.
CHECKS: dict[str, Check] = {
    "r": poll_key,
    "p": pause_key,
    "w": window_key,
    "/": filter_key,
    "e": export_key,
    "1 – 9, 0": number_keys,
    "Tab": tab_key,
    "ctrl+p": palette_key,
    "?": help_key,
    "↑ ↓": arrow_keys,
    "Ctrl+Home Ctrl+End": first_last_keys,
    "n, Home": newest_keys,
    "Enter": enter_and_dialog_keys,
    "o": link_key,
    "x": handled_key,
    "Esc, q": enter_and_dialog_keys,
    "q": quit_key,
}
PANEL_NAMES = {"Header", "Volume", "Live stream", "Needs reply", "Rising now", "Voices"}
PANEL_NAMES |= {"Share of voice", "Sources", "Alerts", "Sentiment", "Posts"}


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_every_key_the_help_lists_does_what_it_says(tmp_path: Path, size: tuple[int, int]) -> None:
    listed = {key for key, _ in help_rows(*size)} - PANEL_NAMES
    assert listed == set(CHECKS), "each key in the help needs a check here"
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=size) as pilot:
        drive = Driver(app, pilot, size)
        await drive.until(lambda: drive.main.query_one(StreamPanel).table.row_count > 5)
        done: set[Check] = set()
        for check in CHECKS.values():
            if check not in done:
                done.add(check)
                await check(app, drive)


async def test_the_help_screen_says_what_tab_does_at_its_size(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        texts = [str(static.render()) for static in app.screen.query(".help-text")]
        assert TAB_COMPACT in texts
        assert TAB_WIDE not in texts
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: TAB_WIDE in [str(s.render()) for s in app.screen.query(".help-text")])
