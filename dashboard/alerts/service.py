"""The alert task that runs beside a poller: evaluate the rules when the store changes, record what
fired (once), deliver what is due. The dashboard and headless `poll` both run it; a read-only view
only reads the alert log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.alerts.deliver import Deliverer, Sender, Sent, apprise_sender
from dashboard.alerts.evaluate import evaluate
from dashboard.clock import utc_now
from dashboard.contracts.alerts import AlertConfig, AlertRule
from dashboard.database import Database
from dashboard.store.alerts import AlertLog, Firing, StoredAlert
from dashboard.store.db import connect
from dashboard.store.reader import StoreReader

log = logging.getLogger(__name__)

# How often the task looks at the store's change marker, and re-evaluates anyway (time-based rules:
# a source failing "for 1h", a digest period ending, a retry coming due).
LOOK_EVERY = 2.0
EVALUATE_AT_LEAST_EVERY = 60.0
# ... but not more often than this while a long poll stores something every second: a keyword alert
# is then at most this late, and the rules cost a few percent of a core, not a whole one.
EVALUATE_AT_MOST_EVERY = 10.0
# Rules only new data can make fire (a spike is an hour's new mentions): the rounds that run because
# time passed skip them. At 1,000 sources a spike look costs ~0.45 s of CPU (the hourly health grid),
# which every idle minute spent for nothing.
ON_NEW_DATA_ONLY = frozenset({"spike"})


@dataclass(frozen=True, slots=True)
class Round:
    raised: list[StoredAlert]
    sent: list[Sent]


class AlertEngine:
    """Evaluate, record and deliver over one store connection (used from one thread at a time)."""

    def __init__(
        self,
        config: AlertConfig,
        database: Database,
        *,
        sender: Sender = apprise_sender,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.connection = connect(database)
        self.reader = StoreReader(self.connection)
        self.log = AlertLog(self.connection)
        self.deliverer = Deliverer(self.log, config.channels, config.rules, sender=sender, env=env)
        self._looked_at: tuple[int, int] | None = None  # the store's change marker at the last round

    def close(self) -> None:
        self.connection.close()

    def evaluate(self, now: datetime) -> list[StoredAlert]:
        marker = self.reader.change_marker()
        changed, self._looked_at = marker != self._looked_at, marker
        rules = [rule for rule in self.config.rules if changed or rule.when not in ON_NEW_DATA_ONLY]
        raised = []
        for rule, firing in evaluate(rules, self.reader, self.log, now):
            stored = self.log.record(firing, rule.notify, suppressed=self._cooled_down(rule, firing, now))
            if stored is not None:
                raised.append(stored)
                log.info("alert %s: %s", rule.name, firing.title)
        return raised

    def _cooled_down(self, rule: AlertRule, firing: Firing, now: datetime) -> str:
        """Why `firing` is stored but not sent ("" if it is sent): a recovery always is."""
        if firing.kind == "source_recovered":
            return ""
        last = self.log.last_raised(rule.name, firing.subject)
        if last is not None and rule.cooldown and now - last < timedelta(seconds=rule.cooldown):
            return (
                f"cool-down: the rule raised one about this {int((now - last).total_seconds() // 60)} min ago"
            )
        return ""

    def run_round(self, now: datetime) -> Round:
        raised = self.evaluate(now)
        return Round(raised, self.deliverer.deliver_due(now))


async def run_alerts(
    engine: AlertEngine,
    stop: asyncio.Event,
    *,
    on_round: Callable[[Round], None] = lambda _: None,
    clock: Callable[[], datetime] = utc_now,
    look_every: float = LOOK_EVERY,
    min_gap: float = EVALUATE_AT_MOST_EVERY,
) -> None:
    """Until `stop`: a round whenever the store changed (a poll was stored) or a minute passed.
    Rounds run in a thread (pandas and SQLite), so the event loop (the dashboard) never waits on them."""
    marker: tuple[int, int] | None = None
    loop = asyncio.get_running_loop()
    last_round = loop.time() - EVALUATE_AT_LEAST_EVERY
    while not stop.is_set():
        current = await asyncio.to_thread(engine.reader.change_marker)
        since = loop.time() - last_round
        if (current != marker and since >= min_gap) or since >= EVALUATE_AT_LEAST_EVERY:
            marker, last_round = current, loop.time()
            try:
                outcome = await asyncio.to_thread(engine.run_round, clock())
            except Exception:  # a bug in one rule must not end alerting (nor polling beside it)
                log.exception("alert evaluation failed")
            else:
                on_round(outcome)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=look_every)


@asynccontextmanager
async def alerts_beside(
    config: AlertConfig,
    database: Database,
    *,
    on_round: Callable[[Round], None] = lambda _: None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[None]:
    """Run the alert task while the body runs (beside a poller), then stop it and close its store.
    Without rules it does nothing at all."""
    if not config.rules:
        yield
        return
    engine = await asyncio.to_thread(AlertEngine, config, database)
    stop = asyncio.Event()
    task = asyncio.create_task(run_alerts(engine, stop, on_round=on_round, clock=clock))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        engine.close()
