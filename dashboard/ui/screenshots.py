"""Regenerate the README's screenshots from the offline demo: `python -m dashboard.ui.screenshots`.

Starts the demo server (plus one deliberately broken feed, so the sources panel shows a failure),
lets the dashboard poll every source twice into a temporary store (the second poll sees engagement
grow, so Rising has rows), then renders SVGs with Textual's own screenshot support: the live main
screen at two sizes, the top rising mention's detail with its engagement line, the Sentiment panel,
the most reacted-to post with its reactions, the sources panel with the failing source's error, and
the help screen.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from dashboard.config import load_config
from dashboard.demo.httpserver import Reply
from dashboard.demo.server import DemoServer
from dashboard.models import SourceStatus
from dashboard.sources import source_types
from dashboard.store.reader import ENGAGEMENT_SQL
from dashboard.ui.app import DashboardApp, make_app
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.table import KeyedTable

BROKEN_FEED = "Old forum feed"
BROKEN_PATH = "/old-forum/feed.xml"
POLL_TIMEOUT = 120.0  # seconds the first poll of every demo source may take
RISING_WANTED = 3  # mentions seen gaining engagement before the live shots are taken


def demo_config_text(demo: DemoServer, database: Path) -> str:
    """The demo's feeds.toml plus a feed that always answers HTTP 503."""
    demo.server.route(
        BROKEN_PATH, Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
    )
    broken = f'\n[[feeds]]\nname = "{BROKEN_FEED}"\nurl = "{demo.url(BROKEN_PATH)}"\ninterval = "1h"\n'
    return demo.feeds_toml(database) + broken


def unpolled_sources(database: Path) -> int:
    if not database.exists():
        return -1
    with sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True) as connection:
        query = "SELECT COUNT(*) FROM sources WHERE status = ?"
        return int(connection.execute(query, (SourceStatus.NEW.value,)).fetchone()[0])


def mentions_gaining(database: Path) -> int:
    """Mentions whose engagement (the store's ENGAGEMENT_SQL, as Rising reads it) grew between two
    stored snapshots."""
    with sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True) as connection:
        query = f"""SELECT COUNT(*) FROM (SELECT mention_id FROM engagement_history
                    GROUP BY mention_id HAVING MAX({ENGAGEMENT_SQL}) > MIN({ENGAGEMENT_SQL}))"""
        return int(connection.execute(query).fetchone()[0])


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and tables measure their columns."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.3)


async def poll_everything(app: DashboardApp, database: Path, output: Path) -> None:
    """Poll every source, keep polling on the demo's schedule until some mentions gained engagement
    (so Rising has rows), then shoot the live dashboard wide and at 80 x 24."""
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + POLL_TIMEOUT
        while unpolled_sources(database) != 0 and time.monotonic() < deadline:
            await pilot.pause(0.5)
        deadline = time.monotonic() + POLL_TIMEOUT
        while mentions_gaining(database) < RISING_WANTED and time.monotonic() < deadline:
            await pilot.pause(1.0)
        app.refresh_now()
        await pilot.pause(1.0)
        await settle_without_poller(pilot)
        app.save_screenshot("dashboard-wide.svg", str(output))
        await pilot.resize_terminal(80, 24)
        await settle_without_poller(pilot)
        app.save_screenshot("dashboard-80x24.svg", str(output))


async def settle_without_poller(pilot: Pilot[None]) -> None:
    """Wait for the analytics and stream workers (the poller's worker runs until quit)."""
    for _ in range(3):
        busy = [worker for worker in pilot.app.workers if worker.group in ("dashboard", "stream")]
        if busy:  # (an empty list would mean "wait for every worker", the poller's too)
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause(0.3)


async def shoot(
    app: DashboardApp, size: tuple[int, int], name: str, output: Path, keys: Sequence[str] = ()
) -> None:
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        app.save_screenshot(name, str(output))


async def shoot_failing_source(app: DashboardApp, output: Path) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        main = next(screen for screen in app.screen_stack if isinstance(screen, MainScreen))
        table = main.query_one(SourcesPanel).query_one(KeyedTable)
        if table.has_key(BROKEN_FEED):
            table.move_cursor(row=table.get_row_index(BROKEN_FEED))
        await settle(pilot)
        app.save_screenshot("sources.svg", str(output))
        await pilot.press("enter")
        await settle(pilot)
        app.save_screenshot("source-error.svg", str(output))


async def render_all(output: Path, seed: int) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    with DemoServer(seed=seed) as demo, tempfile.TemporaryDirectory(prefix="dashboard-shots-") as tmp:
        database = Path(tmp) / "demo.db"
        config_path = Path(tmp) / "feeds.toml"
        config_path.write_text(demo_config_text(demo, database), encoding="utf-8")
        config = load_config(config_path, registry=source_types())
        await poll_everything(make_app(config, database=database), database, output)

        def still() -> DashboardApp:
            return make_app(config, database=database, poll=False)

        await shoot(still(), (120, 36), "mention-detail.svg", output, keys=("4", "enter"))
        await shoot(still(), (100, 30), "sentiment.svg", output, keys=("9",))
        await shoot(still(), (120, 36), "post-detail.svg", output, keys=("0", "enter"))
        await shoot_failing_source(still(), output)
        await shoot(still(), (120, 36), "help.svg", output, keys=("question_mark",))
    return sorted(output.glob("*.svg"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="folder for the SVGs")
    parser.add_argument("--seed", type=int, default=7, help="the demo world's seed")
    args = parser.parse_args(argv)
    for path in asyncio.run(render_all(args.out, args.seed)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
