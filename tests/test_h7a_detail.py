"""The mention detail screen shows network text literally: no markup runs, no escape sequence."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App
from textual.widgets import Static

from dashboard.store.reader import EngagementSnapshot, MentionDetail
from dashboard.ui.screens.detail import MentionDetailScreen
from tests.test_ui_app import wait_for

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
HOSTILE = "[bold red]x[/] \x1b[2J\x1b]0;pwned\x07 [@click=app.quit]quit[/]"


def hostile_detail() -> MentionDetail:
    return MentionDetail(
        id=7,
        source="Hacker News",
        source_type="hackernews",
        kind="[b]post[/b]",
        key="k",
        url="https://example.com/[red]x[/red]\x1b[31m",
        title=HOSTILE,
        author="[italic]mallory[/italic]\x1b[5m",
        summary="body " + HOSTILE + "\nsecond line",
        published_at=NOW,
        first_seen_at=NOW,
        updated_at=NOW,
        likes=1,
        replies=2,
        shares=None,
        views=None,
        handled_at=None,
        content_changes=0,
        history=(
            EngagementSnapshot(NOW, 1, 0, None, None),
            EngagementSnapshot(NOW, 1, 2, None, None),
        ),
    )


class DetailApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(MentionDetailScreen(7, lambda _: hostile_detail(), now=NOW))


def shown(app: App[None], selector: str) -> str:
    rendered = app.screen.query_one(selector, Static).render()
    return str(getattr(rendered, "plain", rendered))


async def test_a_hostile_title_author_and_body_show_literally() -> None:
    app = DetailApp()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#detail-title")))
        title = shown(app, "#detail-title")
        assert "[bold red]x[/]" in title
        assert "[@click=app.quit]quit[/]" in title
        assert "\x1b" not in title
        assert "\x07" not in title
        meta = shown(app, "#detail-meta")
        assert "[italic]mallory[/italic]" in meta
        assert "[b]post[/b]" in meta
        assert "\x1b" not in meta
        url = shown(app, "#detail-url")
        assert "[red]x[/red]" in url
        assert "\x1b" not in url
        body = shown(app, "#detail-text")
        assert "[bold red]x[/]" in body
        assert "\x1b" not in body
        title_content = app.screen.query_one("#detail-title", Static).render()
        spans = getattr(title_content, "spans", [])
        assert all("red" not in str(span.style) for span in spans)  # the markup did not become style
        assert app.is_running
