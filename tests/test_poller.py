"""The poller's own promises, with small in-test source types (the network is tested elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.config import Config, Settings
from dashboard.contracts import source as base
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import InlineParser, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome, PollRecord, SourceConfig, SourceStatus
from dashboard.polling.poller import Poller, PollerStopped
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


class Gated(Source):
    """Polls that start, then wait for the test to open `gate`."""

    type_name = "test-gated"
    started: list[str] = []
    gate: asyncio.Event | None = None

    async def poll(self, ctx: PollContext) -> PollOutcome:
        Gated.started.append(self.config.name)
        assert Gated.gate is not None
        await Gated.gate.wait()
        return PollOutcome(http_status=200)


TYPES = (Exploding, Slow, Gated)


@pytest.fixture(autouse=True)
def test_source_types() -> Iterator[None]:
    """Register this file's source types for its tests only (other tests list the real ones)."""
    for cls in TYPES:
        register(cls)
    yield
    for cls in TYPES:
        base._REGISTRY.pop(cls.type_name)


async def no_network(request: Request) -> Response:
    raise AssertionError("no source here fetches")


def make_poller(tmp_path: Path, *types: str, clock: object = None, max_concurrency: int = 8) -> Poller:
    sources = tuple(SourceConfig(name=f"{kind} {n}", type=kind, interval=60) for n, kind in enumerate(types))
    settings = Settings(max_concurrency=max_concurrency)
    config = Config(path=tmp_path / "feeds.toml", settings=settings, sources=sources)
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


async def until(check: object, what: str) -> None:
    for _ in range(500):
        if callable(check) and check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


async def test_a_stop_cancels_the_polls_waiting_for_a_slot_and_lets_the_running_ones_finish(
    tmp_path: Path,
) -> None:
    Gated.started, Gated.gate = [], asyncio.Event()
    poller = make_poller(tmp_path, *["test-gated"] * 6, max_concurrency=2)
    stop = asyncio.Event()
    polling = asyncio.create_task(poller.poll_once(force=True, stop=stop))
    await until(lambda: len(Gated.started) == 2, "two polls start")
    stop.set()
    await until(lambda: poller.in_flight == 2, "the four waiting for a slot are cancelled")
    Gated.gate.set()  # the running two finish within the grace
    records = await polling
    assert sorted(record.source for record in records) == sorted(Gated.started)
    assert len(Gated.started) == 2
    assert poller.in_flight == 0
    polled = {name for name, state in poller.store.states().items() if state.last_attempt_at is not None}
    assert polled == set(Gated.started)  # the cancelled ones were never started, nor stored


async def test_a_stopped_run_starts_nothing_new_and_returns_once_the_running_polls_end(
    tmp_path: Path,
) -> None:
    Gated.started, Gated.gate = [], asyncio.Event()
    poller = make_poller(tmp_path, *["test-gated"] * 5, max_concurrency=1)
    stop = asyncio.Event()
    seen: list[PollRecord] = []
    running = asyncio.create_task(poller.run(stop, on_record=seen.append))
    await until(lambda: len(Gated.started) == 1, "one poll starts")
    stop.set()
    Gated.gate.set()
    await asyncio.wait_for(running, timeout=30)
    assert [record.source for record in seen] == Gated.started
    assert len(Gated.started) == 1
    assert poller.stopped is None


async def test_an_error_that_ends_the_loop_is_recorded_before_it_is_raised(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-slow")
    told: list[PollerStopped] = []

    def broken_callback(record: PollRecord) -> None:
        raise RuntimeError("a bug in on_record")

    with pytest.raises(RuntimeError, match="a bug in on_record"):
        await asyncio.wait_for(
            poller.run(asyncio.Event(), on_record=broken_callback, on_stopped=told.append), timeout=30
        )
    assert poller.stopped is not None
    assert told == [poller.stopped]
    assert poller.stopped.message == "Polling stopped: a bug in on_record"


async def test_failures_of_an_explicit_poll_do_not_lengthen_the_backoff(tmp_path: Path) -> None:
    poller = make_poller(tmp_path, "test-exploding")
    for _ in range(4):
        await poller.poll_once(force=True)
    state = poller.store.state("test-exploding 0")
    assert state.consecutive_failures == 1
    assert [source.name for source in poller.due()] == ["test-exploding 0"]  # still due on schedule
    await poller.poll_once()
    await poller.poll_once(force=True)  # after a scheduled failure: no further than one failure's wait
    state = poller.store.state("test-exploding 0")
    assert state.consecutive_failures == 2
    assert state.next_poll_at is not None
    assert state.next_poll_at <= NOW + timedelta(seconds=1.1 * 60)
