"""Everything a running poller needs, opened and closed together (the CLI and the dashboard share it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from dashboard.clock import utc_now
from dashboard.config import Config
from dashboard.database import Database
from dashboard.fetch.http import Fetcher
from dashboard.fetch.parsepool import ProcessParser
from dashboard.polling.background import ProgressCallback, running_passes
from dashboard.polling.poller import Poller
from dashboard.store.writer import Store

# The time budget of one feed's parse (wall time on a worker that does nothing else): a crafted feed
# that takes longer is stopped and its source marked failing.
PARSE_BUDGET = 20.0


@asynccontextmanager
async def running_poller(
    config: Config,
    database: Database,
    *,
    clock: Callable[[], datetime] = utc_now,
    on_background: ProgressCallback | None = None,
) -> AsyncIterator[Poller]:
    """A poller with its fetcher, parse workers and store; all closed on exit, in-flight writes done.

    If `Poller.run` ends by itself (the store failed), it raises, and `poller.stopped` holds a
    PollerStopped saying when and why; pass `on_stopped=` to `run` to be told at once.

    The background passes (language and sentiment, ...) start with it: `poller.background` runs them
    after each round of polls, and `on_background` gets their BackgroundProgress (in their thread).
    """
    store = Store.open(database)
    try:
        with ProcessParser(workers=os.cpu_count() or 2, budget=PARSE_BUDGET) as parser:
            async with Fetcher(
                timeout=config.settings.timeout, max_concurrency=config.settings.max_concurrency
            ) as fetcher:
                with running_passes(config, database, on_progress=on_background) as background:
                    poller = Poller(config, store, fetcher.fetch, parser, clock=clock, background=background)
                    try:
                        yield poller
                    finally:
                        # Whatever ended the body (a return, an error, a cancelled task), no poll may
                        # outlive the fetcher, the parse workers or the store: cancel those not writing
                        # and wait for the writes, while all three are still open.
                        await poller.wind_down(grace=0)
    finally:
        store.close()
