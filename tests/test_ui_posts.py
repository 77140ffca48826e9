"""The Posts panel (Echo) and the post detail screen, in the running app on a real store: the empty
state says how to get posts, a post's row carries its reactions per network, Enter lists every
reaction newest first with engagement and how it was found, `o` opens the reaction (or the post),
Escape goes back; and all ten panels are reachable at 80 x 24."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from textual.widgets import Tab, Tabs

from dashboard.ui import data
from dashboard.ui.app import DashboardApp
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.main import PANELS, MainScreen, panel_key, tab_labels
from dashboard.ui.screens.post_detail import PostDetailScreen
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.posts import NO_POSTS, PostsPanel
from tests.test_ui_actions import app_on, filled
from tests.test_ui_app import main_screen, record_opened, wait_for
from tests.test_ui_samples import NOW

POST_URL = "https://blog.example/2025/03/lumen-1-0"
HOSTILE_TITLE = "[@click=app.quit]Lumen 1.0[/] is out"


def posts_frame() -> pd.DataFrame:
    """DashboardData.posts as analytics.posts makes it (two posts, the first still growing)."""
    return pd.DataFrame(
        {
            "post_id": [1, 2],
            "post_url": [POST_URL, "https://blog.example/2025/03/quiet"],
            "source": ["Textual blog", "Textual blog"],
            "title": [HOSTILE_TITLE, "A quiet post"],
            "published_at": pd.to_datetime([NOW - timedelta(hours=5), NOW - timedelta(hours=20)], utc=True),
            "reactions": pd.array([5, 1], dtype="Int64"),
            "comments": pd.array([2, 0], dtype="Int64"),
            "pingbacks": pd.array([1, 0], dtype="Int64"),
            "reaction_engagement": pd.array([340, pd.NA], dtype="Int64"),
            "networks": ["hackernews; reddit; mastodon", "reddit"],
            "reactions_by_network": ["hackernews 3; reddit 1; mastodon 1", "reddit 1"],
            "first_reaction_at": pd.to_datetime(
                [NOW - timedelta(hours=4), NOW - timedelta(hours=2)], utc=True
            ),
            "last_reaction_at": pd.to_datetime(
                [NOW - timedelta(minutes=5), NOW - timedelta(hours=2)], utc=True
            ),
            "time_to_first_reaction": pd.to_timedelta([timedelta(hours=1), timedelta(hours=18)]),
            "growing": [True, False],
        }
    )


def reactions_frame(database: Path) -> pd.DataFrame:
    """reactions_of for the first post: three real mentions of the store, newest first."""
    from dashboard.store.reader import StoreReader

    with StoreReader.open(database) as reader:
        mentions = reader.latest_mentions(limit=3)
    return pd.DataFrame(
        {
            "post_url": [POST_URL] * 3,
            "id": mentions["id"],
            "source": mentions["source"],
            "source_type": mentions["source_type"],
            "kind": mentions["kind"],
            "url": mentions["url"],
            "title": mentions["title"],
            "author": mentions["author"],
            "published_at": mentions["published_at"],
            "engagement": mentions["engagement"],
            "matched_by": ["url", "link facet", "domain search"],
        }
    )


async def show_posts(app: DashboardApp, pilot: object, rows: pd.DataFrame | None = None) -> PostsPanel:
    """Press 0; with `rows`, hand the panel the posts (the analytics' posts frame)."""
    from dashboard.ui.records import records

    panel = main_screen(app).query_one(PostsPanel)
    await wait_for(pilot, lambda: panel.rows is not None)  # type: ignore[arg-type]
    # ...and no compute running or scheduled, which would replace the rows handed below (on a
    # loaded machine a refresh landed between them and the enter key: the detail never opened).
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: not app._computing and not app._compute_again and app._refresh_timer is None,
    )
    await pilot.press("0")  # type: ignore[attr-defined]
    if rows is not None:
        panel.rows = tuple(records(rows))
    await pilot.pause()  # type: ignore[attr-defined]
    return panel


async def test_without_own_posts_the_panel_says_how_to_get_them(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await show_posts(app, pilot)
        assert panel.has_class("-current")
        assert panel.table.row_count == 0
        assert panel.table.empty_message == NO_POSTS
        assert "own = true" in NO_POSTS
        assert "domain = ..." in NO_POSTS
        await pilot.press("o")
        assert app._notifications  # nothing to open: said, not silent


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_enter_lists_every_reaction_and_o_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    database = filled(tmp_path)
    reactions = reactions_frame(database)
    asked: list[str] = []

    def post_reactions(database_path: Path, post_url: str) -> pd.DataFrame:
        asked.append(post_url)
        return reactions

    monkeypatch.setattr(data, "post_reactions", post_reactions)
    app = app_on(tmp_path)
    opened = record_opened(app)
    async with app.run_test(size=size) as pilot:
        panel = await show_posts(app, pilot, posts_frame())
        assert panel.table.row_count == 2
        assert panel.table.cell_text(POST_URL, "title") == HOSTILE_TITLE  # literal, never markup
        assert panel.table.cell_text(POST_URL, "growing") == "↗"
        assert panel.table.cell_text(POST_URL, "reactions") == "5"
        assert panel.table.cell_text(POST_URL, "networks") == "hackernews 3; reddit 1; mastodon 1"
        assert panel.table.cell_text(POST_URL, "first") == "1 h"
        assert panel.table.cell_text("https://blog.example/2025/03/quiet", "engagement") == "–"  # unknown
        assert panel.table.cell_text("https://blog.example/2025/03/quiet", "growing") == ""
        await pilot.press("o")
        assert opened == [POST_URL]

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PostDetailScreen))
        screen = app.screen
        assert isinstance(screen, PostDetailScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 3)
        assert asked == [POST_URL]
        keys = [str(key) for key in reactions["id"]]
        shown = [screen.table.coordinate_to_cell_key((row, 0)).row_key.value for row in range(3)]
        assert shown == keys  # newest first, as reactions_of returns them
        assert [screen.table.cell_text(key, "matched_by") for key in keys] == [
            "url",
            "link facet",
            "domain search",
        ]
        assert str(screen.query_one("#post-title").render()) == HOSTILE_TITLE
        await pilot.press("down", "o")
        assert opened[-1] == reactions["url"].iloc[1]  # the reaction under the cursor
        await pilot.press("enter")  # a reaction's full mention, as everywhere else
        await wait_for(pilot, lambda: isinstance(app.screen, MentionDetailScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PostDetailScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.is_running
        assert panel.table.has_focus


async def test_the_post_itself_opens_when_it_has_no_reaction_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled(tmp_path)
    monkeypatch.setattr(data, "post_reactions", lambda database, url: reactions_frame(database).iloc[0:0])
    app = app_on(tmp_path)
    opened = record_opened(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_posts(app, pilot, posts_frame())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PostDetailScreen))
        screen = app.screen
        assert isinstance(screen, PostDetailScreen)
        await wait_for(pilot, lambda: screen.table.empty_message.startswith("No reaction"))
        await pilot.press("o")
        assert opened == [POST_URL]


def test_the_ten_tab_labels_fit_80_columns() -> None:
    short = tab_labels(80)
    # One cell of padding before each label (main.tcss), one spare column at the right.
    assert sum(label.cell_length + 1 for label in short) <= 79
    assert [label.plain.split()[0] for label in short] == [*"123456789", "0"]
    assert sum(label.cell_length + 2 for label in tab_labels(100)) <= 100  # full labels from 100


async def test_at_80x24_every_tab_is_in_sight_and_every_key_shows_its_panel(tmp_path: Path) -> None:
    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        main = main_screen(app)
        await wait_for(pilot, lambda: main.dashboard is not None)
        tabs = main.query_one(Tabs)
        assert len(PANELS) == 10
        for number, (panel_id, _) in enumerate(PANELS, start=1):
            await pilot.press(panel_key(number))
            await pilot.pause()
            assert tabs.active == f"tab-{panel_id}"
            shown = main.query_one(f"#{panel_id}", Panel)
            assert shown.display
            assert shown.region.width == 80
            for tab in tabs.query(Tab):  # all ten in sight, whichever is active: none scrolled away
                assert tab.region.x >= 0
                assert tab.region.right <= 80, tab.label.plain


async def test_a_real_store_fills_the_panel_and_the_post_screen(tmp_path: Path) -> None:
    """Through analytics.posts and ui.data.post_reactions: an own post shared on three networks (URL
    variants), ranked by its reactions, and its screen listing them newest first."""
    from dashboard.config import Config, Settings
    from dashboard.ui.app import make_app
    from tests.analytics_data import NOW as ECHO_NOW
    from tests.analytics_data import at
    from tests.test_posts_analytics import POST, EchoBuilder

    store = EchoBuilder(tmp_path / "echo.db")
    for name, kind in (
        ("Blog", "feed"),
        ("HN", "hackernews"),
        ("Reddit", "reddit"),
        ("Mastodon", "mastodon"),
    ):
        store.source(name, kind)
    store.own("Blog")
    store.item("Blog", at(-10), POST + "/", title="Echo [b]post[/b]")
    hn = store.item(
        "HN", at(-8), "https://news.ycombinator.com/item?id=1", (POST + "?utm_medium=x",), likes=10
    )
    store.item("Reddit", at(-7), "https://reddit.com/r/x/1", ("http://www." + POST[8:] + "/",), likes=3)
    newest = store.item("Mastodon", at(-5), "https://m.example/@a/1", (POST + "/amp",), likes=1)
    store.connection.commit()
    store.close()
    config = Config(
        path=tmp_path / "feeds.toml", settings=Settings(database=tmp_path / "echo.db"), sources=()
    )
    app = make_app(config, database=tmp_path / "echo.db", clock=lambda: ECHO_NOW, poll=False)
    opened = record_opened(app)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = main_screen(app).query_one(PostsPanel)
        await pilot.press("0")
        await wait_for(pilot, lambda: panel.table.row_count == 1)
        assert panel.table.cell_text(POST, "title") == "Echo [b]post[/b]"
        assert panel.table.cell_text(POST, "reactions") == "3"
        assert panel.table.cell_text(POST, "first") == "2 h"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PostDetailScreen))
        screen = app.screen
        assert isinstance(screen, PostDetailScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 3)
        assert screen.table.current_key == str(newest)  # newest first
        assert screen.table.cell_text(str(hn), "engagement") == "10"
        await pilot.press("o")
        assert opened == ["https://m.example/@a/1"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
