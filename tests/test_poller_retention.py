"""The scheduled loop applies the store's retention soon after start and then daily; a retention
that fails is logged and polling goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dashboard.config import load_config
from dashboard.fetch.http import Fetcher
from dashboard.fetch.parsepool import ProcessParser
from dashboard.models import PollRecord
from dashboard.polling import poller as poller_module
from dashboard.polling.poller import Poller
from dashboard.sources import source_types
from dashboard.store.db import StoreError
from dashboard.store.writer import Store
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer


@pytest.mark.parametrize("fails", [False, True])
async def test_retention_runs_beside_the_polls(
    server: LocalServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fails: bool,
) -> None:
    config_path = write_config(tmp_path, server, serve_feeds(server, 1, items=2))
    config_path.write_text(config_path.read_text().replace('interval = "15m"', 'interval = "1s"'))
    config = load_config(config_path, registry=source_types())
    monkeypatch.setattr(poller_module, "RETENTION_FIRST_AFTER", 0.0)
    calls: list[Any] = []
    apply = Store.apply_retention

    def counted(self: Store, now: Any, *args: Any) -> Any:
        calls.append(now)
        if fails:
            raise StoreError("disk full")
        return apply(self, now, *args)

    monkeypatch.setattr(Store, "apply_retention", counted)
    records: list[PollRecord] = []
    stop = asyncio.Event()

    def on_record(record: PollRecord) -> None:
        records.append(record)
        if len(records) >= 2:
            stop.set()

    store = Store.open(tmp_path / "mentions.db")
    try:
        with ProcessParser(workers=1) as parser:
            async with Fetcher(timeout=5.0) as fetcher:
                poller = Poller(config, store, fetcher.fetch, parser)
                await asyncio.wait_for(poller.run(stop, on_record=on_record), timeout=60)
    finally:
        store.close()
    assert len(calls) == 1  # once after start; the next is a day later
    assert len(records) >= 2  # and the polls went on
    assert ("retention failed" in caplog.text) == fails
