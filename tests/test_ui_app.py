"""The whole app, live: polling RSS feeds served by the local test server into a temporary store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from textual.pilot import Pilot

from dashboard.config import Config, load_config
from dashboard.models import PollRecord, SourceStatus
from dashboard.sources import source_types
from dashboard.ui.app import DashboardApp, make_app, poll_summary
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.help import HelpScreen
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.widgets.kpis import KpiBar
from dashboard.ui.widgets.stream import StreamPanel
from tests.localserver import LocalServer, Reply
from tests.test_ui_samples import HOSTILE_TITLES

Check = Callable[[], bool]


def rss(name: str, titles: list[str], *, now: datetime | None = None) -> bytes:
    """An RSS 2.0 feed whose items were published over the last hours (newest first)."""
    moment = now or datetime.now(UTC)
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://example.org/{name}/{number}</link>"
        f"<guid>{name}-{number}</guid><pubDate>{format_datetime(moment - timedelta(minutes=30 * number))}</pubDate>"
        f"<author>a{number}@example.org (Author {number})</author>"
        f"<description>Body of {escape(title)}: about textual</description></item>"
        for number, title in enumerate(titles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://example.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def write_config(directory: Path, server: LocalServer, names: list[str], *, interval: str = "1h") -> Config:
    lines = ["[settings]", f'interval = "{interval}"', 'timeout = "5s"', 'keywords = ["textual"]', ""]
    lines += ["[export]", 'dir = "exports"', ""]
    for name in names:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{server.url("/" + name + ".xml")}"', ""]
    path = directory / "feeds.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path, registry=source_types())


@pytest.fixture
def two_feeds(server: LocalServer, tmp_path: Path) -> Config:
    server.route("/news.xml", rss("news", [f"News item {n} about textual" for n in range(5)]))
    server.route("/blog.xml", rss("blog", ["Blog post one", *HOSTILE_TITLES]))
    return write_config(tmp_path, server, ["news", "blog"])


async def wait_for(pilot: Pilot[None], check: Check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def stream_of(app: DashboardApp) -> StreamPanel:
    return (
        app.screen_stack[1].query_one(StreamPanel)
        if len(app.screen_stack) > 1
        else app.query_one(StreamPanel)
    )


def main_screen(app: DashboardApp) -> MainScreen:
    return next(screen for screen in app.screen_stack if isinstance(screen, MainScreen))


def stream_rows(app: DashboardApp) -> int:
    return main_screen(app).query_one(StreamPanel).table.row_count


async def run_live(
    config: Config,
    database: Path,
    body: Callable[[DashboardApp, Pilot[None]], Awaitable[None]],
    **kwargs: object,
) -> DashboardApp:
    app = make_app(config, database=database, **kwargs)  # type: ignore[arg-type]
    async with app.run_test(size=(160, 48)) as pilot:
        await body(app, pilot)
    return app


async def test_polls_the_feeds_and_fills_the_stream(
    two_feeds: Config, tmp_path: Path, server: LocalServer
) -> None:
    async def body(app: DashboardApp, pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: stream_rows(app) == 5 + 1 + len(HOSTILE_TITLES))
        table = main_screen(app).query_one(StreamPanel).table
        titles = {table.get_row_at(row)[4].plain for row in range(table.row_count)}
        assert "[@click=app.quit]Click me[/]" in titles
        assert len(server.requests_to("/news.xml")) == 1

    await run_live(two_feeds, tmp_path / "m.db", body)


async def test_keys_poll_pause_window_help_and_quit(
    two_feeds: Config, tmp_path: Path, server: LocalServer
) -> None:
    async def body(app: DashboardApp, pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: stream_rows(app) > 0 and app._poller is not None)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(server.requests_to("/news.xml")) == 2)
        header = main_screen(app).query_one(KpiBar)

        def said() -> list[str]:
            toggles = ("Polling paused.", "Polling resumed.")
            return [str(note.message) for note in app._notifications if str(note.message) in toggles]

        assert said() == []  # nothing was paused, so nothing "resumed" at start-up
        await pilot.press("p")
        assert is_paused(app)
        assert "paused" in header.render().plain
        await pilot.press("p")
        assert not is_paused(app)
        assert said() == ["Polling paused.", "Polling resumed."]
        await pilot.press("w")
        assert app.window == "7d"
        assert "Window 7 d" in header.render().plain
        await pilot.press("w", "w")
        assert app.window == "24h"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("e")
        await wait_for(pilot, lambda: any(n.title == "Snapshot written" for n in app._notifications))
        note = next(n for n in app._notifications if n.title == "Snapshot written")
        assert Path(str(note.message)).expanduser().is_dir()  # the notification names the snapshot's folder
        assert [path.name for path in (tmp_path / "exports").iterdir() if path.is_dir()]
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)

    await run_live(two_feeds, tmp_path / "m.db", body)


def is_paused(app: DashboardApp) -> bool:
    """The reactive and the poller's event agree."""
    assert app.paused == app._pause.is_set()
    return app.paused


def record_opened(app: DashboardApp) -> list[str]:
    """Links the app would open in the browser, instead of opening them."""
    opened: list[str] = []

    def open_url(url: str, new_tab: bool = True) -> None:
        opened.append(url)

    app.open_url = open_url  # type: ignore[method-assign]
    return opened


async def test_filter_enter_detail_and_open_link(two_feeds: Config, tmp_path: Path) -> None:
    async def body(app: DashboardApp, pilot: Pilot[None]) -> None:
        opened = record_opened(app)
        await wait_for(pilot, lambda: stream_rows(app) == 13)
        await pilot.press("slash")
        stream = main_screen(app).query_one(StreamPanel)
        assert stream.filter_input.has_focus
        await pilot.press(*"source:news")
        await wait_for(pilot, lambda: stream_rows(app) == 5)
        await pilot.press("enter")  # back to the table
        assert stream.table.has_focus
        await pilot.press("o")
        assert opened == ["https://example.org/news/0"]
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, MentionDetailScreen) and app.screen.detail is not None
        )
        detail = app.screen
        assert isinstance(detail, MentionDetailScreen)
        assert detail.detail is not None
        assert detail.detail.title == "News item 0 about textual"
        await pilot.press("o")
        assert opened[-1] == "https://example.org/news/0"
        await pilot.press("escape")
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: stream_rows(app) == 13)

    await run_live(two_feeds, tmp_path / "m.db", body)


async def test_a_readonly_instance_reads_while_another_polls(
    two_feeds: Config, tmp_path: Path, server: LocalServer
) -> None:
    database = tmp_path / "m.db"

    async def writer(app: DashboardApp, pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: stream_rows(app) == 13)

        async def reader(second: DashboardApp, second_pilot: Pilot[None]) -> None:
            await wait_for(second_pilot, lambda: stream_rows(second) == 13)
            assert second._poller is None
            server.route(
                "/news.xml",
                rss(
                    "news",
                    [f"Fresh {n}" for n in range(3)] + [f"News item {n} about textual" for n in range(5)],
                ),
            )
            await pilot.press("r")  # the writer polls while the reader runs
            await wait_for(second_pilot, lambda: stream_rows(second) == 16, timeout=60)
            await second_pilot.press("r")
            await second_pilot.pause()
            assert any("Read-only" in str(n.message) for n in second._notifications)
            assert "read-only" in main_screen(second).query_one(KpiBar).render().plain

        second = make_app(two_feeds, database=database, readonly=True)
        async with second.run_test(size=(120, 40)) as second_pilot:
            await reader(second, second_pilot)

    await run_live(two_feeds, database, writer)


async def test_a_failing_feed_does_not_stop_the_others(server: LocalServer, tmp_path: Path) -> None:
    server.route("/ok.xml", rss("ok", ["Fine"]))
    server.route("/broken.xml", Reply(500, b"[bold]oops[/] \x1b]0;pwned\x07"))
    config = write_config(tmp_path, server, ["ok", "broken"])

    async def body(app: DashboardApp, pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: stream_rows(app) == 1)

    await run_live(config, tmp_path / "m.db", body)


def test_poll_now_counts_failing_and_waiting_as_the_header_does() -> None:
    """A rate-limited source waits (analytics.status), it is not counted failing; gone is failing."""
    at = datetime(2024, 3, 31, 12, tzinfo=UTC)
    statuses = [SourceStatus.OK, SourceStatus.NOT_MODIFIED, SourceStatus.RATE_LIMITED, SourceStatus.GONE]
    records = [PollRecord(f"s{n}", at, 0.1, status, new=2) for n, status in enumerate(statuses)]
    assert poll_summary(records) == "Polled 4 sources: 8 new mentions, 1 failing, 1 waiting"
    assert poll_summary(records[:2]) == "Polled 2 sources: 4 new mentions"
