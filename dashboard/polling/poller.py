"""Polling: for each source, when it is due, fetch, parse and store its mentions.

The poller is the only place that ties sources, the fetcher and the store together. Each poll of a
source ends in exactly one stored attempt (success or failure); no exception from one source ever
stops the others: whatever escapes fetching, parsing or storing one source (a bug in a parser, a
value the database refuses) is that source's failing attempt, with the error as its message.
Only the store itself failing (StoreError: disk full, database locked or corrupt) stops a run.

Stopping: at most `max_concurrency` polls run at once; the others wait for a slot. `wind_down`
(called when `run` or an interrupted `poll_once` ends, and by the service before it closes the
store) cancels the polls still waiting, gives the running ones STOP_GRACE seconds, then cancels
those still fetching or parsing. A write that has begun always finishes (it is one short
transaction), so a stop never leaves half a poll, and nothing is fetched after a stop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dashboard.clock import utc_now
from dashboard.config import Config, source_config_hash
from dashboard.contracts.errors import FetchError, NeedsCredentials, RateLimited
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import Fetch, PollContext, RunParser, Source
from dashboard.models import PollOutcome, PollRecord, SourceConfig, SourceState, SourceStatus, SourceUpdate
from dashboard.polling.background import BackgroundRunner
from dashboard.polling.schedule import after_failure, after_success
from dashboard.sources import make_source, source_types
from dashboard.store.db import StoreError
from dashboard.store.writer import Store
from dashboard.text import redact_url

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds the polls already running get to finish after a stop, before they are cancelled
CHECKPOINT_EVERY = 300.0  # seconds between WAL checkpoints while running
# Retention (old attempts rolled into days, old engagement history thinned, pages given back) runs
# once soon after start and then daily; a failure of it is logged and polling goes on.
RETENTION_FIRST_AFTER = 60.0
RETENTION_EVERY = 86400.0
IDLE_TICK = 1.0  # the longest the run loop sleeps before looking at its flags and the time again
SCHEDULE_RECHECK = 60.0  # seconds: the sources' states are re-read at least this often while running


# Where a poll of a source is, for `wind_down`: waiting for a slot, fetching and parsing, writing.
QUEUED, POLLING, SAVING = "queued", "polling", "saving"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


@dataclass(frozen=True, slots=True)
class PollerStopped:
    """The scheduled loop ended by itself, not because it was asked to: polling has stopped.

    `Poller.run` raises `error` after recording this in `Poller.stopped` and passing it to its
    `on_stopped` callback, so a UI can say so (and offer a restart) instead of going quietly stale.
    """

    at: datetime
    error: BaseException

    @property
    def message(self) -> str:
        detail = str(self.error) or type(self.error).__name__
        return f"Polling stopped: {redact_urls(detail)}"


def redact_urls(text: str) -> str:
    """`text` with the userinfo (user:password@) of every URL in it replaced by `***@`."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


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
        background: BackgroundRunner | None = None,
    ) -> None:
        self.config = config
        # Passes over stored rows (language and sentiment, links): woken after each round of polls.
        self.background = background
        self._stored_since_wake = False
        if background is not None:
            background.busy = lambda: bool(self._in_flight)  # its batches wait for our polls
        self.store = store
        self._fetch = fetch
        self._parser = parser
        self._clock = clock
        self._env = dict(os.environ if env is None else env)
        self._rng = rng or random.Random()
        self._in_flight: dict[str, asyncio.Task[PollRecord]] = {}
        self._phase: dict[str, str] = {}
        self._saves: set[asyncio.Future[PollRecord]] = set()
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        # Set when `run` ended by itself (the store failed, a bug in the loop): see PollerStopped.
        self.stopped: PollerStopped | None = None
        # One Source object per source for the poller's life: sessions (Bluesky's login) are reused.
        self._instances: dict[tuple[str, str | None], Source] = {}
        self.sources = {source.name: source for source in config.sources}
        store.sync_sources(config.sources, {s.name: source_config_hash(s) for s in config.sources})
        store.sync_keywords(config.settings.keywords)
        if background is not None:
            background.wake()  # a keyword new to the store: its back-fill

    @property
    def in_flight(self) -> int:
        """How many sources are being polled right now (the dashboard shows "polling...")."""
        return len(self._in_flight)

    # -- deciding ---------------------------------------------------------------------------

    def due(self, *, force: bool = False) -> list[SourceConfig]:
        """Sources to poll now. `force` ignores intervals and backoff, never a Retry-After or a 410."""
        return self._due_in(self.store.states(cursors=False), force=force)

    def next_due_at(self) -> datetime | None:
        return self._next_due_in(self.store.states(cursors=False))

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

    async def poll_once(
        self,
        *,
        force: bool = False,
        only: Iterable[str] | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PollRecord]:
        """Poll every due source (all of them with `force`) concurrently; one record per source.

        `force` is an explicit fetch the user asked for: its failures do not lengthen the backoff
        of scheduled polls (schedule.after_failure). When `stop` is set before the end, the polls
        not yet started are cancelled (see `wind_down`) and the records of those done are returned.
        """
        wanted = set(only) if only is not None else None
        sources = self._claimed([s for s in self.due(force=force) if wanted is None or s.name in wanted])
        polls = [asyncio.ensure_future(self.poll_source(source, explicit=force)) for source in sources]
        try:
            if polls and stop is not None:
                # One waiter on all the polls and one on the stop: each poll gets one callback
                # (re-waiting on every poll after each one ends was quadratic: 1,000 feeds took
                # 24 s of CPU instead of 3).
                stopping = asyncio.ensure_future(stop.wait())
                all_done = asyncio.ensure_future(asyncio.wait(polls))
                try:
                    await asyncio.wait([all_done, stopping], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopping.cancel()
                    all_done.cancel()  # only the waiter: the polls go on until wind_down
                if stop.is_set():
                    await self.wind_down()
            # Every poll ends before this returns, even when one fails to be stored: the caller
            # closes the store next, and a poll still saving then would fail a second time, unseen.
            if polls:
                await asyncio.wait(polls)
        except asyncio.CancelledError:
            # Our polls go on to their end unawaited (each is shielded); whoever closes the store
            # next calls wind_down first (the service does), so none is cut off mid-write.
            raise
        records: list[PollRecord] = []
        errors: list[BaseException] = []
        for poll in polls:  # every outcome retrieved, so none is reported as "never retrieved"
            if poll.cancelled():
                continue
            error = poll.exception()
            if error is None:
                records.append(poll.result())
            elif not isinstance(error, asyncio.CancelledError):
                errors.append(error)
        for record in records:
            self._wake_background(record)
        if errors:
            raise errors[0]
        return records

    def _claimed(self, sources: list[SourceConfig]) -> list[SourceConfig]:
        """The sources no other poller of the same store is polling (Store.claim: a lock per source
        on PostgreSQL); a source another poller holds is left to it, and tried again later."""
        held = self.store.claim(source.name for source in sources)
        return [source for source in sources if source.name in held]

    def _wake_background(self, record: PollRecord) -> None:
        """Once a round of polls is over (none in flight) and one of them stored mentions, the
        background passes look for the rows to analyse (they run apart: see polling.background)."""
        self._stored_since_wake = self._stored_since_wake or bool(record.new or record.updated)
        if self.background is not None and self._stored_since_wake and not self._in_flight:
            self._stored_since_wake = False
            self.background.wake()

    async def poll_source(self, source: SourceConfig, *, explicit: bool = False) -> PollRecord:
        """Poll one source; at most one poll of a source runs at a time (a second call shares it)."""
        running = self._in_flight.get(source.name)
        if running is not None and not running.done():
            return await asyncio.shield(running)
        task = asyncio.ensure_future(self._poll(source, explicit=explicit))
        self._in_flight[source.name] = task

        def forget(done: asyncio.Future[PollRecord], name: str = source.name) -> None:
            if self._in_flight.get(name) is done:
                del self._in_flight[name]
            if not done.cancelled():
                done.exception()  # retrieved: whoever awaits it sees it; nobody else must be told

        task.add_done_callback(forget)
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                forget(task)

    async def wind_down(self, grace: float = STOP_GRACE) -> None:
        """Stop polling promptly and cleanly: cancel the polls waiting for a slot (nothing fetched
        yet), give the running ones `grace` seconds, then cancel those still fetching or parsing.
        Writes that have begun always finish, so the store can be closed once this returns."""
        for name, task in list(self._in_flight.items()):
            if self._phase.get(name, QUEUED) == QUEUED:
                task.cancel()
        running = [task for task in self._in_flight.values() if not task.done()]
        if running and grace > 0:
            await asyncio.wait(running, timeout=grace)
        for name, task in list(self._in_flight.items()):
            if self._phase.get(name) != SAVING:
                task.cancel()
        pending: list[asyncio.Future[PollRecord]] = [*self._in_flight.values(), *self._saves]
        if pending:
            # The polls just cancelled end at their next await; a write ends with its transaction.
            await asyncio.wait(pending)

    async def run(
        self,
        stop: asyncio.Event,
        *,
        on_record: Callable[[PollRecord], object] | None = None,
        paused: asyncio.Event | None = None,
        on_stopped: Callable[[PollerStopped], object] | None = None,
    ) -> None:
        """Poll each source on its own schedule until `stop` is set, then `wind_down`.

        A source's failures, whatever raised them, are stored attempts; anything else escaping a
        poll means the store itself failed (disk full, database locked or corrupt). Then nothing
        fetched could be kept, so the run stops and raises that error rather than fetching every
        source again at once. Any such unasked-for end is recorded first: `self.stopped` and
        `on_stopped` get a PollerStopped, so a dashboard can show that polling has stopped.
        """
        self.stopped = None
        try:
            await self._run(stop, on_record=on_record, paused=paused)
        except asyncio.CancelledError:
            await self.wind_down(grace=0)
            raise
        except Exception as error:
            await self.wind_down(grace=0)
            self.stopped = PollerStopped(self._clock(), error)
            if on_stopped is not None:
                on_stopped(self.stopped)
            raise
        await self.wind_down()

    async def _run(
        self,
        stop: asyncio.Event,
        *,
        on_record: Callable[[PollRecord], object] | None,
        paused: asyncio.Event | None,
    ) -> None:
        tasks: set[asyncio.Task[None]] = set()
        last_checkpoint = time.monotonic()
        retention_due = time.monotonic() + RETENTION_FIRST_AFTER
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
                self._wake_background(record)
                if on_record is not None:
                    on_record(record)
            except asyncio.CancelledError:
                return  # stopped before or while it ran: nothing was stored
            except Exception as error:
                failures.append(error)
            finally:
                stale = True

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
                    states = await asyncio.to_thread(functools.partial(self.store.states, cursors=False))
                    if stop.is_set():
                        break
                    due = self._due_in(states, skip=busy)
                    started = await asyncio.to_thread(self._claimed, due) if due else due
                    for source in started:
                        task = asyncio.create_task(poll_and_report(source))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    next_at = self._next_due_in(states, skip=busy | {source.name for source in started})
            if time.monotonic() - last_checkpoint > CHECKPOINT_EVERY:
                await asyncio.to_thread(self.store.checkpoint)
                last_checkpoint = time.monotonic()
            if time.monotonic() >= retention_due:
                retention_due = time.monotonic() + RETENTION_EVERY
                await self._apply_retention()
            await _sleep_until(stop, self._seconds_until(next_at))
        if failures:
            raise failures[0]

    async def _apply_retention(self) -> None:
        try:
            report = await asyncio.to_thread(self.store.apply_retention, self._clock())
        except Exception:  # a full disk or a locked file: tomorrow again; the polls matter more
            log.exception("retention failed; polling goes on")
        else:
            log.info("retention: %s", report)

    def _seconds_until(self, next_at: datetime | None) -> float:
        if next_at is None:
            return IDLE_TICK
        return max(0.05, min(IDLE_TICK, (next_at - self._clock()).total_seconds()))

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the `max_concurrency` places for a running poll (made per event loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(max(1, self.config.settings.max_concurrency)))
        async with self._slots[1]:
            yield

    async def _poll(self, configured: SourceConfig, *, explicit: bool = False) -> PollRecord:
        name = configured.name
        self._phase[name] = QUEUED
        try:
            async with self._slot():
                self._phase[name] = POLLING
                started_at = self._clock()
                began = time.monotonic()
                try:
                    state = SourceState(name=name)
                    state, refresh_keys = await asyncio.to_thread(
                        self._read_before_poll, configured, started_at
                    )
                    record, update, outcome = await self._fetch_and_parse(
                        configured, state, refresh_keys, started_at, began, explicit=explicit
                    )
                except StoreError:
                    raise
                except Exception as error:  # a stored value, the source or the record: still this source's
                    record, update = self._internal_failure(
                        configured, state, started_at, began, error, explicit=explicit
                    )
                    outcome = None
            self._phase[name] = SAVING
            try:
                return await self._save(configured, record, update, outcome)
            except StoreError:
                raise  # the store failed, not this source: `run` stops, `poll --once` says so
            except Exception as error:  # a value the writer choked on: fail this source alone
                record, update = self._internal_failure(
                    configured, state, started_at, began, error, explicit=explicit, storing=True
                )
                return await self._save(configured, record, update, None)
        finally:
            self._phase.pop(name, None)

    async def _save(
        self, source: SourceConfig, record: PollRecord, update: SourceUpdate, outcome: PollOutcome | None
    ) -> PollRecord:
        """Write in a thread; a write once begun is waited for even if this poll is cancelled."""
        save = asyncio.ensure_future(asyncio.to_thread(self.store.save_poll, source, record, update, outcome))
        self._saves.add(save)
        save.add_done_callback(self._saved)
        return await asyncio.shield(save)

    def _saved(self, save: asyncio.Future[PollRecord]) -> None:
        self._saves.discard(save)
        if not save.cancelled():
            save.exception()  # retrieved: the poll awaiting it raises it; if that poll was cancelled, no one will

    async def _fetch_and_parse(
        self,
        configured: SourceConfig,
        state: SourceState,
        refresh_keys: list[str],
        started_at: datetime,
        began: float,
        *,
        explicit: bool,
    ) -> tuple[PollRecord, SourceUpdate, PollOutcome | None]:
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
        outcome, update, error = await self._attempt(
            source, context, state, started_at, redirects, explicit=explicit
        )
        record = PollRecord(
            source=configured.name,
            started_at=started_at,
            duration=time.monotonic() - began,
            status=update.status,
            http_status=outcome.http_status if outcome else (error.http_status if error else None),
            bytes_read=outcome.bytes_read if outcome else 0,
            error_class=error.error_class if error else "",
            error=redact_urls(_describe(error)) if error else "",
            notes=redact_urls(outcome.notes) if outcome else "",
        )
        return record, update, outcome

    def _internal_failure(
        self,
        configured: SourceConfig,
        state: SourceState,
        started_at: datetime,
        began: float,
        error: Exception,
        *,
        explicit: bool,
        storing: bool = False,
    ) -> tuple[PollRecord, SourceUpdate]:
        """The failing attempt for an exception that no source turned into a FetchError."""
        doing = "storing the poll of" if storing else "polling"
        failure = _internal(f"internal error {doing} the {configured.type} source: {error!r}")
        kind = source_types().get(configured.type)
        interval = max(configured.interval, kind.min_interval if kind is not None else 0.0)
        update = self._after_failure(started_at, interval, failure, state, explicit=explicit)
        record = PollRecord(
            source=configured.name,
            started_at=started_at,
            duration=time.monotonic() - began,
            status=update.status,
            error_class=failure.error_class,
            error=redact_urls(failure.message),
        )
        return record, update

    def _after_failure(
        self, now: datetime, interval: float, error: FetchError, state: SourceState, *, explicit: bool
    ) -> SourceUpdate:
        return after_failure(
            now,
            interval,
            error,
            state.consecutive_failures,
            self._rng,
            explicit=explicit,
            scheduled=state.next_poll_at,
        )

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
        *,
        explicit: bool = False,
    ) -> tuple[PollOutcome | None, SourceUpdate, FetchError | None]:
        interval = max(source.config.interval, source.min_interval)
        try:
            outcome = await source.poll(context)
        except FetchError as error:
            update = self._after_failure(started_at, interval, error, state, explicit=explicit)
            return None, update, error
        except Exception as error:  # a bug in one source must not stop the others
            failure = _internal(f"internal error in the {source.type_name} source: {error!r}")
            update = self._after_failure(started_at, interval, failure, state, explicit=explicit)
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


def _internal(message: str) -> FetchError:
    failure = FetchError(message)
    failure.error_class = "internal"
    return failure


def _describe(error: FetchError) -> str:
    if isinstance(error, RateLimited):
        return f"{error.message} (rate-limited until {error.until:%Y-%m-%d %H:%M:%S} UTC)"
    if isinstance(error, NeedsCredentials) and error.env_var and error.env_var not in error.message:
        return f"{error.message} (set {error.env_var})"
    return error.message
