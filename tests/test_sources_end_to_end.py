"""Every source type, through the whole pipeline into the store: one feeds.toml entry of each,
pointed at the local demo server, stores mentions with engagement; a later poll updates the counts
in place (no new rows for known mentions) and records the change in the engagement history."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.config import parse_config
from dashboard.demo.server import DemoServer
from dashboard.polling.service import running_poller
from dashboard.sources import source_types

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START + timedelta(seconds=30)

    def __call__(self) -> datetime:
        return self.at


def per_source(db: Path, sql: str, *params: object) -> dict[str, int]:
    rows = sqlite3.connect(db).execute(sql, params).fetchall()
    return {str(name): int(value) for name, value in rows}


async def test_every_source_type_stores_mentions_and_updates_engagement_in_place(tmp_path: Path) -> None:
    clock = Clock()
    db = tmp_path / "demo.db"
    with DemoServer(seed=3, clock=clock, start=START) as demo:
        config = parse_config(demo.feeds_toml(db), tmp_path / "feeds.toml", registry=source_types())
        assert {source.type for source in config.sources} == set(source_types())
        async with running_poller(config, db, clock=clock) as poller:
            first = await poller.poll_once(force=True)
            assert all(record.status.is_success for record in first), [
                (r.source, r.status, r.error) for r in first if not r.status.is_success
            ]
            stored = per_source(
                db,
                "SELECT s.type, COUNT(*) FROM mentions m JOIN sources s ON s.id = m.source_id GROUP BY s.type",
            )
            assert set(stored) == set(source_types())
            with_likes = per_source(
                db,
                "SELECT s.type, COUNT(*) FROM mentions m JOIN sources s ON s.id = m.source_id"
                " WHERE m.likes IS NOT NULL OR m.replies IS NOT NULL GROUP BY s.type",
            )
            for api in (
                "hackernews",
                "reddit",
                "mastodon",
                "bluesky",
                "lemmy",
                "stackexchange",
                "discourse",
                "github",
            ):
                assert with_likes.get(api, 0) > 0, api

            clock.at += timedelta(seconds=100)  # before the demo's Lemmy and GitHub incidents
            await poller.poll_once(force=True)

    connection = sqlite3.connect(db)
    duplicates = connection.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM mentions GROUP BY source_id, key HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    assert duplicates == 0
    second_poll = int(clock.at.timestamp())
    changed = per_source(
        db,
        "SELECT s.type, COUNT(*) FROM engagement_history h JOIN mentions m ON m.id = h.mention_id"
        " JOIN sources s ON s.id = m.source_id WHERE h.at = ? AND m.first_seen_at < ? GROUP BY s.type",
        second_poll,
        second_poll,
    )
    assert sum(changed.values()) > 0
    assert len(changed) >= 4, changed  # counts grew in place on several APIs
