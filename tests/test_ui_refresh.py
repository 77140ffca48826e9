"""The dashboard recomputes its numbers only as often as it must: a burst of polls costs a couple of
computes, not one each, and an idle dashboard does not recompute unchanged data."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from dashboard.config import Config
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.db import Database
from dashboard.store.writer import Store
from dashboard.ui import data
from dashboard.ui.app import DashboardApp, make_app
from tests.pg import new_database_url

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOURCE = SourceConfig(name="Blog", type="feed", interval=900, url="http://127.0.0.1/feed.xml")


def store_poll(db: Database, key: str, at: datetime) -> PollRecord:
    with Store.open(db) as store:
        store.sync_sources([SOURCE], {SOURCE.name: "h"})
        record = PollRecord(SOURCE.name, at, 0.1, SourceStatus.OK)
        mention = Mention(key, MentionKind.POST, f"http://x/{key}", f"Post {key}", "ann", at)
        update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
        return store.save_poll(SOURCE, record, update, PollOutcome(mentions=(mention,)))


async def settle(pilot: Pilot[None], app: DashboardApp) -> None:
    """Wait until no compute runs, waits or is scheduled (the debounce timer): how long one takes
    depends on the machine's load, so a fixed pause would count a slow first compute as a second one,
    or end before a debounced one started."""
    for _ in range(600):
        await pilot.pause(0.05)
        if not app._computing and not app._compute_again and app._refresh_timer is None:
            return
    raise AssertionError("the dashboard never finished computing")


@pytest.fixture
def computes(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    calls: list[datetime] = []
    lock = threading.Lock()
    real = data.compute

    def counting(*args: object, **kwargs: object) -> object:
        with lock:
            calls.append(datetime.now(UTC))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(data, "compute", counting)
    return calls


async def test_a_burst_of_finished_polls_costs_a_couple_of_computes(
    tmp_path: Path, computes: list[datetime]
) -> None:
    db = tmp_path / "m.db"
    record = store_poll(db, "a", NOW)
    app = make_app(
        Config(path=tmp_path / "feeds.toml", sources=(SOURCE,)), database=db, poll=False, clock=lambda: NOW
    )
    async with app.run_test() as pilot:
        await settle(pilot, app)
        first = len(computes)
        for _ in range(40):
            app.post_message(DashboardApp.PollFinished(record))
            await pilot.pause(0.02)
        await settle(pilot, app)
        assert 1 <= len(computes) - first <= 3


async def test_the_periodic_refresh_skips_unchanged_data(tmp_path: Path, computes: list[datetime]) -> None:
    db = tmp_path / "m.db"
    store_poll(db, "a", NOW)
    app = make_app(
        Config(path=tmp_path / "feeds.toml", sources=(SOURCE,)), database=db, poll=False, clock=lambda: NOW
    )
    async with app.run_test() as pilot:
        await settle(pilot, app)
        app._refresh_if_changed()  # learns the current token
        await settle(pilot, app)
        settled = len(computes)
        for _ in range(3):
            app._refresh_if_changed()
            await settle(pilot, app)
        assert len(computes) == settled  # nothing stored, same five minutes: no recompute
        store_poll(db, "b", NOW + timedelta(minutes=1))  # another process polled
        app._refresh_if_changed()
        await settle(pilot, app)
        assert len(computes) == settled + 1


async def test_a_readonly_dashboard_of_postgresql_recomputes_when_told(computes: list[datetime]) -> None:
    """Team mode: a read-only dashboard of a PostgreSQL store LISTENs, and another instance's stored
    poll reaches it through NOTIFY, with no timer asking the database (the timer runs every 30 s)."""
    url = new_database_url()
    store_poll(url, "a", NOW)
    app = make_app(
        Config(path=Path("feeds.toml"), sources=(SOURCE,)), database=url, readonly=True, clock=lambda: NOW
    )
    async with app.run_test() as pilot:
        for _ in range(200):  # the listener connects in its worker, then looks once
            await pilot.pause(0.05)
            if app._last_token:
                break
        assert app._last_token, "the listener never connected"
        await settle(pilot, app)
        settled = len(computes)
        store_poll(url, "b", NOW + timedelta(minutes=1))  # the poller, elsewhere, stored a poll
        for _ in range(200):
            await pilot.pause(0.05)
            if len(computes) > settled:
                break
        await settle(pilot, app)
        assert len(computes) == settled + 1
