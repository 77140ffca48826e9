"""The demo plays alerts: its feeds.toml declares rules and a chat channel, and what fires reaches
the demo's own chat receiver through the real poller, the rules and Apprise."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.alerts.service import AlertEngine
from dashboard.cli.dashboard import _demo_chat_file
from dashboard.config import load_config
from dashboard.demo.server import DemoServer
from dashboard.polling.service import running_poller
from dashboard.sources import source_types

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


async def test_the_demo_sends_its_outage_report_and_lemmys_failure_and_recovery_once(tmp_path: Path) -> None:
    clock = Clock()
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        chat_file = _demo_chat_file(demo, tmp_path)
        assert chat_file is not None
        assert os.stat(chat_file).st_mode & 0o077 == 0
        database = tmp_path / "demo.db"
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(demo.feeds_toml(database, chat_url_file=chat_file), encoding="utf-8")
        config = load_config(feeds, registry=source_types())
        engine = AlertEngine(config.alerts, database)
        try:
            async with running_poller(config, database, clock=clock) as poller:
                # Lemmy fails from 181 s to 359 s.
                for seconds in (0, 120, 185, 230, 280, 340, 400, 450, 500):
                    clock.at = START + timedelta(seconds=seconds)
                    await poller.poll_once()
                    engine.run_round(clock.at)
        finally:
            engine.close()
        titles = [message["title"] for message in demo.chat_messages()]
    outage = [title for title in titles if "outage" in title]
    assert len(outage) == 1, titles
    assert "Mastodon #lumen" in outage[0]
    assert titles.count("Lemmy works again") == 1, titles
    assert len([title for title in titles if title.startswith("Lemmy is failing")]) == 1, titles
