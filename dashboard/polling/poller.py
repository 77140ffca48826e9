"""Polling: for each source, when it is due, fetch, parse and store its mentions.

The poller is the only place that ties sources, the fetcher and the store together. Each poll of a
source ends in exactly one stored attempt (success or failure); no exception from one source ever
stops the others.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dashboard.config import Config, source_config_hash
from dashboard.contracts.errors import FetchError, NeedsCredentials, RateLimited
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import Fetch, PollContext, RunParser, Source
from dashboard.models import PollOutcome, PollRecord, SourceConfig, SourceState, SourceStatus, SourceUpdate
from dashboard.polling.schedule import after_failure, after_success
from dashboard.sources import make_source, source_types
from dashboard.store.writer import Store

CHECKPOINT_EVERY = 300.0  # seconds between WAL checkpoints while running
IDLE_TICK = 1.0  # the longest the run loop sleeps before looking at its flags and the time again
SCHEDULE_RECHECK = 60.0  # seconds: the sources' states are re-read at least this often while running


def utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    def __init__(
        self,
        config: Config,
        store: Store,
        fetch: Fetch,
        parser: RunParser,
        *,
        clock: Callable[[], datetime] = utc_now,
        env: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._fetch = fetch
        self._parser = parser
        self._clock = clock
        self._env = dict(os.environ if env is None else env)
        self._rng = rng or random.Random()
        self._in_flight: dict[str, asyncio.Task[PollRecord]] = {}
        # One Source object per source for the poller's life: sessions (Bluesky's login) are reused.
        self._instances: dict[tuple[str, str | None], Source] = {}
        self.sources = {source.name: source for source in config.sources}
        store.sync_sources(config.sources, {s.name: source_config_hash(s) for s in config.sources})

    @property
    def in_flight(self) -> int:
        """How many sources are being polled right now (the dashboard shows "polling...")."""
        return len(self._in_flight)

    # -- deciding ---------------------------------------------------------------------------

    def due(self, *, force: bool = False) -> list[SourceConfig]:
        """Sources to poll now. `force` ignores intervals and backoff, never a Retry-After or a 410."""
        return self._due_in(self.store.states(), force=force)

    def next_due_at(self) -> datetime | None:
        return self._next_due_in(self.store.states())

    def _due_in(
        self, states: Mapping[str, SourceState], *, force: bool = False, skip: Iterable[str] = ()
    ) -> list[SourceConfig]:
        now = self._clock()
        skipped = set(skip)
        return [
            source
            for name, source in self.sources.items()
            if name not in self._in_flight
            and name not in skipped
            and _is_due(states.get(name), now, force=force)
        ]

    def _next_due_in(self, states: Mapping[str, SourceState], skip: Iterable[str] = ()) -> datetime | None:
        """When the next source not in flight (nor in `skip`) is due, from a read of the states."""
        skipped = set(skip)
        times = [
            state.next_poll_at or self._clock() if state else self._clock()
            for name in self.sources
            if name not in self._in_flight
            and name not in skipped
            and ((state := states.get(name)) is None or state.status != SourceStatus.GONE)
        ]
        return min(times, default=None)

    # -- polling ----------------------------------------------------------------------------

    async def poll_once(self, *, force: bool = False, only: Iterable[str] | None = None) -> list[PollRecord]:
        """Poll every due source (all of them with `force`) concurrently; one record per source."""
        wanted = set(only) if only is not None else None
        sources = [s for s in self.due(force=force) if wanted is None or s.name in wanted]
        # Every poll ends before this returns, even when one fails to be stored: the caller closes
        # the store next, and a poll still saving then would fail a second time, unseen.
        results = await asyncio.gather(
            *(self.poll_source(source) for source in sources), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [result for result in results if isinstance(result, PollRecord)]

    async def poll_source(self, source: SourceConfig) -> PollRecord:
        """Poll one source; at most one poll of a source runs at a time."""
        running = self._in_flight.get(source.name)
        if running is not None:
            return await asyncio.shield(running)
        task = asyncio.ensure_future(self._poll(source))
        self._in_flight[source.name] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._in_flight.pop(source.name, None)

    async def run(
        self,
        stop: asyncio.Event,
        *,
        on_record: Callable[[PollRecord], object] | None = None,
        paused: asyncio.Event | None = None,
    ) -> None:
        """Poll each source on its own schedule until `stop` is set; in-flight polls then finish.

        A source's failures are stored attempts; anything else escaping a poll means the store
        itself failed (disk full, database locked or corrupt). Then nothing fetched could be kept,
        so the run stops and raises that error rather than fetching every source again at once.
        """
        tasks: set[asyncio.Task[None]] = set()
        last_checkpoint = time.monotonic()
        failures: list[Exception] = []
        # Reading every source's state costs ~10 ms of CPU at 1,000 sources, so the loop does not
        # read it on every tick: only when one of our polls finished, when the earliest due time
        # seen in the last read has come, or every SCHEDULE_RECHECK (another process may have
        # changed the schedule). Polls are only ever started from a fresh read.
        stale = True
        read_at = time.monotonic()
        next_at: datetime | None = None

        async def poll_and_report(source: SourceConfig) -> None:
            nonlocal stale
            try:
                record = await self.poll_source(source)
            except Exception as error:
                failures.append(error)
                return
            finally:
                stale = True
            if on_record is not None:
                on_record(record)

        while not stop.is_set() and not failures:
            if paused is None or not paused.is_set():
                recheck = time.monotonic() - read_at >= SCHEDULE_RECHECK
                if stale or recheck or (next_at is not None and next_at <= self._clock()):
                    stale, read_at = False, time.monotonic()
                    # In a thread: at 1,000 sources the read takes ~10 ms of CPU and, while polls
                    # are being saved, waits for the store's lock (measured up to 0.36 s), which
                    # would freeze the dashboard's event loop. A poll in flight when the read began
                    # is skipped even if it ends meanwhile (its state may predate its save); its
                    # end marks the schedule stale, so it is looked at again on the next tick.
                    busy = set(self._in_flight)
                    states = await asyncio.to_thread(self.store.states)
                    started = self._due_in(states, skip=busy)
                    for source in started:
                        task = asyncio.create_task(poll_and_report(source))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    next_at = self._next_due_in(states, skip=busy | {source.name for source in started})
            if time.monotonic() - last_checkpoint > CHECKPOINT_EVERY:
                await asyncio.to_thread(self.store.checkpoint)
                last_checkpoint = time.monotonic()
            await _sleep_until(stop, self._seconds_until(next_at))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if failures:
            raise failures[0]

    def _seconds_until(self, next_at: datetime | None) -> float:
        if next_at is None:
            return IDLE_TICK
        return max(0.05, min(IDLE_TICK, (next_at - self._clock()).total_seconds()))

    async def _poll(self, configured: SourceConfig) -> PollRecord:
        started_at = self._clock()
        state, refresh_keys = await asyncio.to_thread(self._read_before_poll, configured, started_at)
        source_config = replace(configured, url=state.url_override) if state.url_override else configured
        source = self._instance(source_config)
        redirects: list[str | None] = []
        context = PollContext(
            fetch=self._watching_redirects(source_config, redirects),
            parse=self._parser,
            now=started_at,
            cursor=state.cursor,
            refresh_keys=refresh_keys,
            env=self._env,
            first_poll=state.last_success_at is None,
        )
        began = time.monotonic()
        outcome, update, error = await self._attempt(source, context, state, started_at, redirects)
        record = PollRecord(
            source=configured.name,
            started_at=started_at,
            duration=time.monotonic() - began,
            status=update.status,
            http_status=outcome.http_status if outcome else (error.http_status if error else None),
            bytes_read=outcome.bytes_read if outcome else 0,
            error_class=error.error_class if error else "",
            error=_describe(error) if error else "",
            notes=outcome.notes if outcome else "",
        )
        return await asyncio.to_thread(self.store.save_poll, configured, record, update, outcome)

    def _read_before_poll(self, source: SourceConfig, now: datetime) -> tuple[SourceState, list[str]]:
        """The source's state and, for types that re-read engagement by key, its young keys (one thread hop)."""
        state = self.store.state(source.name)
        if not source_types()[source.type].refreshes_by_key:
            return state, []
        return state, self.store.young_keys(source.name, now - timedelta(seconds=source.refresh_for))

    async def _attempt(
        self,
        source: Source,
        context: PollContext,
        state: SourceState,
        started_at: datetime,
        redirects: list[str | None],
    ) -> tuple[PollOutcome | None, SourceUpdate, FetchError | None]:
        interval = max(source.config.interval, source.min_interval)
        try:
            outcome = await source.poll(context)
        except FetchError as error:
            update = after_failure(started_at, interval, error, state.consecutive_failures, self._rng)
            return None, update, error
        except Exception as error:  # a bug in one source must not stop the others
            failure = FetchError(f"internal error in the {source.type_name} source: {error!r}")
            failure.error_class = "internal"
            update = after_failure(started_at, interval, failure, state.consecutive_failures, self._rng)
            return None, update, failure
        redirect = redirects[0] if redirects else None
        return outcome, after_success(started_at, interval, outcome, redirect=redirect), None

    def _instance(self, config: SourceConfig) -> Source:
        key = (config.name, config.url)
        if key not in self._instances:
            self._instances[key] = make_source(config)
        return self._instances[key]

    def _watching_redirects(self, source: SourceConfig, seen: list[str | None]) -> Fetch:
        """The fetcher, noting where a feed's own URL permanently redirects (adopted after a few polls)."""

        async def fetch(request: Request) -> Response:
            response = await self._fetch(request)
            if source.url is not None and request.url == source.url:
                seen.append(response.permanent_redirect)
            return response

        return fetch


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, waking at once when `stop` is set."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass


def _is_due(state: SourceState | None, now: datetime, *, force: bool) -> bool:
    if state is None or state.next_poll_at is None:
        return state is None or state.status != SourceStatus.GONE
    if state.status == SourceStatus.GONE:
        return False
    if state.status == SourceStatus.RATE_LIMITED and state.next_poll_at > now:
        return False
    return force or state.next_poll_at <= now


def _describe(error: FetchError) -> str:
    if isinstance(error, RateLimited):
        return f"{error.message} (rate-limited until {error.until:%Y-%m-%d %H:%M:%S} UTC)"
    if isinstance(error, NeedsCredentials) and error.env_var and error.env_var not in error.message:
        return f"{error.message} (set {error.env_var})"
    return error.message
