"""A fetch the user asked for (`check --fetch`, `poll --once`) does not lengthen the backoff of
scheduled polls: after any number of failed manual fetches, the scheduler's first round (the
dashboard opening, `poll`) polls the sources that were due."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.config import load_config
from dashboard.contracts.source import InlineParser
from dashboard.fetch.http import Fetcher
from dashboard.models import PollRecord
from dashboard.polling.poller import Poller
from dashboard.sources import source_types
from dashboard.store.writer import Store
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer, Reply


def source_row(db: Path, name: str) -> tuple[int, float | None]:
    connection = sqlite3.connect(db)
    try:
        failures, next_poll = connection.execute(
            "SELECT consecutive_failures, next_poll_at FROM sources WHERE name = ?", (name,)
        ).fetchone()
        return int(failures), next_poll
    finally:
        connection.close()


def test_failed_manual_fetches_leave_the_sources_due_for_the_scheduler(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = serve_feeds(server, 2, items=3)
    server.route(paths[1], Reply(500, b"down for now"))
    config_path = write_config(tmp_path, server, paths)
    db = tmp_path / "mentions.db"
    for _ in range(5):
        main(["check", "--fetch", "--config", str(config_path)])
    assert "HTTP 500" in capsys.readouterr().out
    failures, next_poll = source_row(db, "Feed 1")
    assert failures == 1
    assert next_poll is not None
    assert next_poll <= datetime.now(UTC).timestamp()  # never polled on schedule: still due

    # The feed is back; the scheduler's first round (what the dashboard runs when it opens) polls it.
    server.route(paths[1], Reply(200, b"<rss><channel><title>x</title></channel></rss>"))
    config = load_config(config_path, registry=source_types())

    async def first_round() -> tuple[list[str], list[PollRecord]]:
        store = Store.open(db)
        try:
            async with Fetcher(timeout=5.0) as fetcher:
                poller = Poller(config, store, fetcher.fetch, InlineParser())
                due = [source.name for source in poller.due()]
                return due, await poller.poll_once()
        finally:
            store.close()

    due, records = asyncio.run(first_round())
    assert due == ["Feed 1"]
    assert [(record.source, record.status.is_success) for record in records] == [("Feed 1", True)]
    assert source_row(db, "Feed 1")[0] == 0
