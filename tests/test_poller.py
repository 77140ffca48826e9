"""The poller's own promises, with small in-test source types (the network is tested elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.config import Config
from dashboard.contracts import source as base
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import InlineParser, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome, SourceConfig, SourceStatus
from dashboard.polling.poller import Poller
from dashboard.store.writer import Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Exploding(Source):
    type_name = "test-exploding"

    async def poll(self, ctx: PollContext) -> PollOutcome:
        raise KeyError("a bug in a source")


class Slow(Source):
    type_name = "test-slow"
    running = 0
    most_at_once = 0

    async def poll(self, ctx: PollContext) -> PollOutcome:
        Slow.running += 1
        Slow.most_at_once = max(Slow.most_at_once, Slow.running)
        await asyncio.sleep(0.05)
        Slow.running -= 1
        mention = Mention("k1", MentionKind.POST, "http://x/1", "t", "a", NOW)
        return PollOutcome(mentions=(mention,), http_status=200)


@pytest.fixture(autouse=True)
def test_source_types() -> Iterator[None]:
    """Register this file's source types for its tests only (other tests list the real ones)."""
    for cls in (Exploding, Slow):
        register(cls)
    yield
    for cls in (Exploding, Slow):
        base._REGISTRY.pop(cls.type_name)


async def no_network(request: Request) -> Response:
    raise AssertionError("no source here fetches")


def make_poller(tmp_path: Path, *types: str, clock: object = None) -> Poller:
    sources = tuple(SourceConfig(name=f"{kind} {n}", type=kind, interval=60) for n, kind in enumerate(types))
    config = Config(path=tmp_path / "feeds.toml", sources=sources)
    store = Store.open(tmp_path / "m.db")
    return Poller(config, store, no_network, InlineParser(), clock=clock or (lambda: NOW))  # type: ignore[arg-type]


async def test_a_crashing_source_is_recorded_as_failing_and_others_go_on(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-exploding", "test-slow")
    records = {r.source: r for r in await poller.poll_once()}
    assert records["test-exploding 0"].status == SourceStatus.FAILING
    assert records["test-exploding 0"].error_class == "internal"
    assert "a bug in a source" in records["test-exploding 0"].error
    assert records["test-slow 1"].status == SourceStatus.OK
    assert records["test-slow 1"].new == 1


async def test_one_poll_of_a_source_at_a_time(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-slow")
    Slow.most_at_once = 0
    source = poller.config.sources[0]
    await asyncio.gather(*(poller.poll_source(source) for _ in range(5)))
    assert Slow.most_at_once == 1


async def test_sources_are_due_at_their_interval(tmp_path: Path) -> None:
    moment = [NOW]
    poller = make_poller(tmp_path, "test-slow", clock=lambda: moment[0])
    assert len(await poller.poll_once()) == 1
    assert await poller.poll_once() == []
    assert poller.next_due_at() == NOW + timedelta(seconds=60)
    moment[0] = NOW + timedelta(seconds=61)
    assert len(await poller.poll_once()) == 1


async def test_run_polls_until_stopped_and_reports_each_record(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-slow", "test-slow")
    stop = asyncio.Event()
    seen: list[str] = []

    def on_record(record: object) -> None:
        seen.append(getattr(record, "source", ""))
        if len(seen) == 2:
            stop.set()

    await asyncio.wait_for(poller.run(stop, on_record=on_record), timeout=5)
    assert sorted(seen) == ["test-slow 0", "test-slow 1"]


async def test_paused_run_polls_nothing(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-slow")
    stop, pause = asyncio.Event(), asyncio.Event()
    pause.set()
    seen: list[object] = []
    task = asyncio.create_task(poller.run(stop, on_record=seen.append, paused=pause))
    await asyncio.sleep(0.3)
    stop.set()
    await task
    assert seen == []
