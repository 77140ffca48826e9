"""The live dashboard under faults: late work after quit, failed workers, a stopped poller, a window
switch in flight, month-old spikes, the first poll, read-only keys, the theme and the browser."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Footer

from dashboard.analytics.status import Health, health_of
from dashboard.config import Config
from dashboard.models import SourceStatus
from dashboard.polling.poller import PollerStopped
from dashboard.store.alerts import AlertLog, Firing
from dashboard.store.db import connect
from dashboard.ui import app as app_module
from dashboard.ui import data
from dashboard.ui.app import DashboardApp, make_app
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.views import collection_note, dashboard_view
from dashboard.ui.widgets.alerts import AlertsPanel
from dashboard.ui.widgets.kpis import HeaderState, KpiBar, header_content
from dashboard.ui.widgets.sources import SourcesPanel, status_label
from dashboard.ui.widgets.voices import VoicesPanel
from dashboard.ui.widgets.volume import VolumePanel
from tests.test_ui_refresh import NOW, SOURCE, settle, store_poll
from tests.test_ui_samples import SampleKpis


def quiet_app(tmp_path: Path, **kwargs: Any) -> DashboardApp:
    """A dashboard over a store with one mention, not polling, its clock at NOW."""
    db = tmp_path / "m.db"
    store_poll(db, "a", NOW)
    config = Config(path=tmp_path / "feeds.toml", sources=(SOURCE,))
    return make_app(config, database=db, poll=False, clock=lambda: NOW, **kwargs)


def header_text(app: DashboardApp) -> str:
    return main_of(app).query_one(KpiBar).render().plain


def main_of(app: DashboardApp) -> MainScreen:
    return next(screen for screen in app.screen_stack if isinstance(screen, MainScreen))


def said(app: App[Any]) -> list[str]:
    return [str(note.message) for note in app._notifications]


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Preferences go to a temporary folder, never the user's."""
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


# -- 1. work arriving after teardown; failed workers --------------------------------------------


async def test_results_arriving_when_the_main_screen_is_gone_are_dropped(tmp_path: Path) -> None:
    app = quiet_app(tmp_path)
    async with app.run_test() as pilot:
        await settle(pilot, app)
        view = main_of(app).view
        assert view is not None
        app.pop_screen()  # as during teardown: the main screen leaves before the workers' results
        await pilot.pause()
        app.post_message(DashboardApp.MentionsLoaded([], app.mention_filter))
        app.post_message(DashboardApp.DashboardComputed(view, app.window))
        app.post_message(DashboardApp.PollFinished(store_poll(tmp_path / "m.db", "b", NOW)))
        await pilot.pause(0.1)
    assert app.return_code in (None, 0)  # no LookupError ended the app


async def test_quitting_while_a_compute_runs_drops_its_result_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = quiet_app(tmp_path)
    gate, started = threading.Event(), threading.Event()
    real = data.compute

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        gate.wait(10)
        return real(*args, **kwargs)

    async with app.run_test() as pilot:
        await settle(pilot, app)
        monkeypatch.setattr(data, "compute", slow)
        app.refresh_now()
        for _ in range(200):
            if started.is_set():
                break
            await pilot.pause(0.02)
        await pilot.press("q")
        gate.set()
        await pilot.pause(0.2)
    assert app.return_code in (None, 0)
    assert not any("failed" in message for message in said(app))


async def test_a_failed_compute_is_said_and_marked_until_one_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = quiet_app(tmp_path)
    real = data.compute
    failing = [True]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failing[0]:
            raise OSError("disk I/O error")
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "compute", flaky)
    async with app.run_test() as pilot:
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert "Computing the panels failed: disk I/O error" in said(app)
        assert "⚠ Computing the panels failed: disk I/O error" in header_text(app)
        failing[0] = False
        app.refresh_now()
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert "⚠" not in header_text(app)
        assert "Mentions 0" in header_text(app)  # figures again (the one mention is at the window end)


# -- 5. the poller stopping; collection failing -------------------------------------------------


@dataclass
class BrokenPoller:
    in_flight: int = 0

    async def run(self, *args: object, on_stopped: Any = None, **kwargs: object) -> None:
        error = OverflowError("Python int too large to convert to SQLite INTEGER (https://ann:pw@x.org/f)")
        if on_stopped is not None:  # as Poller.run does before raising
            on_stopped(PollerStopped(NOW, error))
        raise error


@asynccontextmanager
async def broken_poller(*args: object, **kwargs: object) -> AsyncIterator[BrokenPoller]:
    yield BrokenPoller()


async def test_a_poller_that_dies_is_shown_and_r_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "m.db"
    store_poll(db, "a", NOW)
    monkeypatch.setattr(data, "running_poller", broken_poller)
    app = make_app(Config(path=tmp_path / "feeds.toml", sources=(SOURCE,)), database=db, clock=lambda: NOW)
    async with app.run_test() as pilot:
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert "Polling stopped: Python int too large to convert to SQLite INTEGER" in header_text(app)
        assert "ann:pw" not in header_text(app)  # the poller's redacted account is the one shown
        await pilot.press("r")
        await pilot.pause()
        assert said(app)[-1].startswith("Polling stopped: Python int too large")
        assert "Restart the dashboard" in said(app)[-1]


def test_empty_panels_say_collection_failed_when_every_source_fails() -> None:
    failed = SampleKpis(sources_ok=0, sources_failing=11, sources_waiting=0, sources_new=1)
    assert collection_note(failed) == "Collection failed: 11 of 12 sources failing (see Sources)."
    assert collection_note(SampleKpis(sources_ok=1, sources_failing=10)) == ""
    assert collection_note(SampleKpis(sources_ok=0, sources_failing=0, sources_new=3)) == ""


class ScreenApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(MainScreen(configured=12))


async def test_an_empty_voices_panel_says_collection_failed() -> None:
    from tests.test_ui_samples import sample_dashboard

    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        sample = sample_dashboard()
        sample = type(sample)(
            **{
                **{name: getattr(sample, name) for name in sample.__dataclass_fields__},
                "kpis": SampleKpis(sources_ok=0, sources_failing=4),
                "voices": sample.voices.iloc[0:0],
            }
        )
        screen.view = dashboard_view(sample)  # type: ignore[arg-type]
        await pilot.pause()
        table = screen.query_one(VoicesPanel).query_one("KeyedTable")
        assert table.empty_message == "Collection failed: 4 of 4 sources failing (see Sources)."  # type: ignore[attr-defined]


# -- 2. switching the window --------------------------------------------------------------------


async def test_right_after_a_window_switch_the_old_figures_are_labelled_as_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = quiet_app(tmp_path)
    gate = threading.Event()
    real = data.compute

    def held(database: Path, window: str, *args: Any, **kwargs: Any) -> Any:
        if window == "7d":
            gate.wait(10)
        return real(database, window, *args, **kwargs)

    async with app.run_test() as pilot:
        await settle(pilot, app)
        monkeypatch.setattr(data, "compute", held)
        assert "Window 24 h" in header_text(app)
        assert "loading" not in header_text(app)
        await pilot.press("w")
        await pilot.pause()
        shown = header_text(app)  # what the user reads right after the switch
        assert "Window 24 h · loading 7 d…" in shown
        assert "Window 7 d" not in shown
        assert main_of(app).query_one(VolumePanel).has_class("-stale")
        assert "24 h" in str(main_of(app).query_one(VolumePanel).border_subtitle)
        gate.set()
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert "Window 7 d" in header_text(app)
        assert "loading" not in header_text(app)
        assert not main_of(app).query_one(VolumePanel).has_class("-stale")


# -- 3. alerts: the panel shows the store's log; the window never raises anything --------------


async def test_cycling_the_window_raises_no_old_spike_as_news(tmp_path: Path) -> None:
    """Alerts are raised by the core and read from the store: switching 24 h -> 7 d -> 30 d and back
    finds the same log and announces nothing (the old panel re-raised month-old spikes)."""
    app = quiet_app(tmp_path)
    connection = connect(tmp_path / "m.db")
    log = AlertLog(connection)
    for days in (0, 3, 20):
        at = NOW - timedelta(days=days, hours=1)
        log.record(Firing("spikes", "spike", "hn", at.isoformat(), at, f"Spike {days} days ago", "b"), [])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        for _ in range(6):
            await pilot.press("w")
            await settle(pilot, app)
        panel = main_of(app).query_one(AlertsPanel)
        assert [row["title"] for row in panel.alerts or ()] == [f"Spike {d} days ago" for d in (0, 3, 20)]
        assert not [note for note in said(app) if "Spike" in note]
        at = NOW - timedelta(minutes=5)
        log.record(Firing("spikes", "spike", "hn", at.isoformat(), at, "Spike just now", "b"), [])
        app.refresh_now()
        await settle(pilot, app)
        await pilot.pause(0.2)
        assert [note for note in said(app) if "Spike" in note] == ["Spike just now"]
    connection.close()


# -- 4. sources: before the first poll; rate-limited is waiting ----------------------------------


def test_before_the_first_poll_the_header_counts_the_configured_sources() -> None:
    kpis = SampleKpis(sources_ok=0, sources_failing=0, sources_waiting=0, sources_new=0)
    text = header_content(kpis, HeaderState("24 h", NOW, "idle", configured=12)).plain
    assert "12 sources · waiting for first poll" in text
    assert "0 ok" not in text
    assert "0 failing" not in text


def test_rate_limited_is_waiting_not_failing() -> None:
    assert health_of(SourceStatus.RATE_LIMITED) is Health.WAITING
    assert {health_of(status) for status in (SourceStatus.FAILING, SourceStatus.GONE)} == {Health.FAILING}
    kpis = SampleKpis(sources_ok=10, sources_failing=0, sources_waiting=1)
    text = header_content(kpis, HeaderState("24 h", NOW, "idle")).plain
    assert "Sources 10 ok · 1 waiting · 0 failing" in text


def test_not_modified_is_worded_unchanged_everywhere() -> None:
    assert status_label({"status": "not modified"}, NOW) == "unchanged"


async def test_the_sources_panel_before_the_first_poll_and_with_a_rate_limited_source() -> None:
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.screen.query_one(SourcesPanel)
        panel.configured = 12
        panel.rows = ()
        await pilot.pause()
        assert panel.query_one("KeyedTable").empty_message.startswith("12 sources configured")  # type: ignore[attr-defined]
        panel.rows = (
            {"name": "a", "status": "ok"},
            {"name": "b", "status": "rate-limited", "next_poll_at": NOW + timedelta(minutes=5)},
        )
        await pilot.pause()
        assert panel.border_subtitle == "2 sources · 0 failing · 1 waiting"


# -- 6. read-only keys, the theme, no browser ----------------------------------------------------


def footer_actions(app: DashboardApp) -> set[str]:
    footer = main_of(app).query_one(Footer)
    return {key.action for key in footer.query("FooterKey")}  # type: ignore[attr-defined]


async def test_readonly_hides_poll_and_pause_but_the_keys_explain(tmp_path: Path) -> None:
    app = quiet_app(tmp_path, readonly=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        await pilot.pause()
        actions = footer_actions(app)
        assert "poll_now" not in actions
        assert "toggle_pause" not in actions
        assert "cycle_window" in actions
        await pilot.press("r")
        await pilot.pause()
        assert any("Read-only" in message for message in said(app))


async def test_polling_shows_poll_and_pause(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store_poll(db, "a", NOW)
    config = Config(path=tmp_path / "feeds.toml", sources=(SOURCE,))
    app = make_app(config, database=db, clock=lambda: NOW)
    app.polling_enabled = True
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert {"poll_now", "toggle_pause"} <= footer_actions(app)
        app._stop.set()


async def test_the_chosen_theme_survives_a_restart(tmp_path: Path, config_home: Path) -> None:
    first = quiet_app(tmp_path)
    async with first.run_test() as pilot:
        await pilot.pause()
        first.theme = "nord"
        await pilot.pause()
    assert (config_home / "community-dashboard" / "ui.json").is_file()
    second = quiet_app(tmp_path)
    async with second.run_test() as pilot:
        await pilot.pause()
        assert second.theme == "nord"


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    return


async def test_without_a_browser_the_link_is_shown_and_copied(tmp_path: Path, no_display: None) -> None:
    app = quiet_app(tmp_path)
    async with app.run_test() as pilot:
        await pilot.pause()
        app.open_url("https://example.org/post/1")
        await pilot.pause()
        assert said(app)[-1] == "No browser available; the link is: https://example.org/post/1"
        assert app.clipboard == "https://example.org/post/1"


async def test_a_browser_that_refuses_counts_as_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(app_module.webbrowser, "open", lambda *args, **kwargs: False)
    app = quiet_app(tmp_path)
    async with app.run_test() as pilot:
        await pilot.pause()
        app.open_url("https://example.org/post/2")
        await pilot.pause()
        assert app.clipboard == "https://example.org/post/2"


async def test_an_empty_live_stream_says_collection_failed_too() -> None:
    from dashboard.ui.widgets.stream import StreamPanel
    from tests.test_ui_samples import sample_dashboard

    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        sample = sample_dashboard()
        sample = type(sample)(
            **{
                **{name: getattr(sample, name) for name in sample.__dataclass_fields__},
                "kpis": SampleKpis(sources_ok=0, sources_failing=4),
            }
        )
        screen.view = dashboard_view(sample)  # type: ignore[arg-type]
        screen.show_stream([], NOW)
        await pilot.pause()
        stream = screen.query_one(StreamPanel)
        assert stream.table.empty_message == "Collection failed: 4 of 4 sources failing (see Sources)."


async def test_the_command_palette_offers_poll_and_pause_only_where_this_instance_polls(
    tmp_path: Path,
) -> None:
    from dashboard.ui.commands import DashboardCommands

    for readonly in (True, False):
        app = quiet_app(tmp_path / str(readonly), readonly=readonly)
        app.polling_enabled = not readonly
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            provider = DashboardCommands(app.screen)
            offered = {action for _, _, action in provider._offered()}
            assert ("poll_now" in offered, "toggle_pause" in offered) == (not readonly, not readonly)
            assert "cycle_window" in offered
            app._stop.set()
