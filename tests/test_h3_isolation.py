"""One bad source never stops polling: whatever one source's fetch, parse or write raises fails that
source alone, visibly, and every other source is polled, now and on later rounds. Only a store that
cannot be written stops the loop, and then the poller says so (PollerStopped)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest

from dashboard.cli import main
from dashboard.config import load_config
from dashboard.contracts.source import RunParser
from dashboard.fetch.http import Fetcher
from dashboard.models import PollOutcome, PollRecord, SourceConfig, SourceStatus, SourceUpdate
from dashboard.polling.poller import Poller, PollerStopped
from dashboard.sources import source_types
from dashboard.store.db import StoreError
from dashboard.store.writer import Store
from tests.feeds_factory import rss, serve_feeds, write_config
from tests.localserver import LocalServer, Reply

P = ParamSpec("P")
T = TypeVar("T")
real_save = Store.save_poll


def failing_save(
    victim: str, error: Callable[[], Exception], *, times: int | None = None
) -> Callable[..., PollRecord]:
    """Store.save_poll raising `error()` for the `victim` source's data (not for a failure record)."""
    raised = [0]

    def save(
        self: Store,
        source: SourceConfig,
        record: PollRecord,
        update: SourceUpdate,
        outcome: PollOutcome | None,
    ) -> PollRecord:
        if source.name == victim and outcome is not None and (times is None or raised[0] < times):
            raised[0] += 1
            raise error()
        return real_save(self, source, record, update, outcome)

    return save


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def test_poll_once_with_a_write_that_raises_fails_that_source_only(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a count above 2^63 did: an OverflowError out of the write, a traceback and no lines."""
    config = write_config(tmp_path, server, serve_feeds(server, 3, items=4))
    too_big = lambda: OverflowError("Python int too large to convert to SQLite INTEGER")  # noqa: E731
    monkeypatch.setattr(Store, "save_poll", failing_save("Feed 1", too_big))

    assert main(["poll", "--once", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = {line.split("  ")[0]: line for line in captured.out.splitlines() if line.startswith("Feed")}
    assert sorted(lines) == ["Feed 0", "Feed 1", "Feed 2"], captured.out
    assert " ok " in lines["Feed 0"]
    assert " ok " in lines["Feed 2"]
    assert "failing" in lines["Feed 1"]
    assert "OverflowError" in lines["Feed 1"]

    db = tmp_path / "mentions.db"
    # The sources panel reads these: the source is failing, with the reason, not "new".
    status, failures, error = rows(
        db, "SELECT status, consecutive_failures, last_error FROM sources WHERE name = 'Feed 1'"
    )[0]
    assert (status, failures) == ("failing", 1)
    assert "OverflowError" in error
    stored = dict(
        rows(
            db,
            "SELECT s.name, COUNT(m.id) FROM sources s LEFT JOIN mentions m ON m.source_id = s.id GROUP BY s.id",
        )
    )
    assert stored == {"Feed 0": 4, "Feed 1": 0, "Feed 2": 4}


class ExplodingParser(RunParser):
    """Parses in-process; raises (a bug in a parser) on a body holding `marker`."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if any(isinstance(arg, bytes) and self.marker in arg for arg in args):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return await asyncio.to_thread(fn, *args, **kwargs)


async def test_the_scheduled_loop_goes_on_for_every_source_round_after_round(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parse that raises for one feed and a write that raises for another, every round: the
    healthy feed is polled round after round, the two bad ones fail each time, the loop never stops."""
    paths = serve_feeds(server, 1, items=2)
    server.route("/parse-bug.xml", Reply(200, rss("BOOM", 2), {"Content-Type": "application/rss+xml"}))
    server.route("/write-bug.xml", Reply(200, rss("Writes", 2), {"Content-Type": "application/rss+xml"}))
    config_path = write_config(tmp_path, server, [*paths, "/parse-bug.xml", "/write-bug.xml"])
    config_path.write_text(config_path.read_text().replace('interval = "15m"', 'interval = "1s"'))
    config = load_config(config_path, registry=source_types())
    monkeypatch.setattr(Store, "save_poll", failing_save("Feed 2", lambda: ValueError("a bug in the writer")))

    seen: dict[str, list[PollRecord]] = {}
    stop = asyncio.Event()

    def on_record(record: PollRecord) -> None:
        seen.setdefault(record.source, []).append(record)
        if all(len(seen.get(name, [])) >= 3 for name in ("Feed 0", "Feed 1", "Feed 2")):
            stop.set()

    store = Store.open(tmp_path / "mentions.db")
    try:
        async with Fetcher(timeout=5.0) as fetcher:
            poller = Poller(config, store, fetcher.fetch, ExplodingParser(b"BOOM"))
            await asyncio.wait_for(poller.run(stop, on_record=on_record), timeout=120)
    finally:
        store.close()

    assert poller.stopped is None
    assert all(record.status.is_success for record in seen["Feed 0"])
    for name, text in (("Feed 1", "UnicodeEncodeError"), ("Feed 2", "a bug in the writer")):
        assert all(record.status == SourceStatus.FAILING for record in seen[name]), seen[name]
        assert all(record.error_class == "internal" for record in seen[name])
        assert all(text in record.error for record in seen[name])
    assert len(server.requests_to("/feed0.xml")) >= 3


async def test_a_store_that_cannot_be_written_stops_the_loop_and_says_so(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one unasked-for end of `run`: recorded in `stopped`, handed to `on_stopped`, raised."""
    config = load_config(
        write_config(tmp_path, server, serve_feeds(server, 2, items=2)), registry=source_types()
    )

    def disk_full(self: Store, *args: object) -> PollRecord:
        raise StoreError(f"cannot write to {self.path}: database or disk is full")

    monkeypatch.setattr(Store, "save_poll", disk_full)
    told: list[PollerStopped] = []
    store = Store.open(tmp_path / "mentions.db")
    try:
        async with Fetcher(timeout=5.0) as fetcher:
            poller = Poller(config, store, fetcher.fetch, ExplodingParser(b"never"))
            with pytest.raises(StoreError):
                await asyncio.wait_for(poller.run(asyncio.Event(), on_stopped=told.append), timeout=60)
    finally:
        store.close()
    assert poller.stopped is not None
    assert told == [poller.stopped]
    assert poller.stopped.message.startswith("Polling stopped: cannot write to")
    assert "disk is full" in poller.stopped.message


def test_a_stored_state_that_cannot_be_read_fails_that_source_only(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 2, items=2))
    real_state = Store.state

    def state(self: Store, name: str) -> Any:
        if name == "Feed 0":
            raise ValueError("a stored value this version cannot read")
        return real_state(self, name)

    monkeypatch.setattr(Store, "state", state)
    assert main(["poll", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    lines = {line.split("  ")[0]: line for line in out.splitlines() if line.startswith("Feed")}
    assert "failing" in lines["Feed 0"]
    assert "a stored value this version cannot read" in lines["Feed 0"]
    assert " ok " in lines["Feed 1"]
    assert server.requests_to("/feed0.xml") == []
