"""`poll` and `check`: the headless commands that fetch sources into the store.

Exit statuses of `poll --once` and `check --fetch`: 0 when at least one source was read (or none was
due), 3 (EXIT_ALL_FAILED) when every source polled failed, 130 when interrupted before the end;
1 and 2 as for every command (the store failed; a configuration or usage mistake).

Stopping (`poll`, and `poll --once` / `check --fetch` when interrupted): the first Ctrl-C or SIGTERM
cancels every source not yet started, gives the polls already running up to STOP_GRACE (5 s) to
finish and store what they fetched, then says "Stopped"; a second Ctrl-C or SIGTERM exits at once
(status 130; the store stays whole, as after a kill).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dashboard.cli.common import EXIT_OK, database_path, load
from dashboard.clock import utc_now
from dashboard.config import Config
from dashboard.database import Database
from dashboard.durations import format_duration
from dashboard.models import PollRecord
from dashboard.text import display_safe, redact_url, shorten

if TYPE_CHECKING:
    from typing import TextIO

    from dashboard.alerts.service import Round
    from dashboard.polling.background import BackgroundProgress
    from dashboard.polling.poller import Poller

EXIT_ALL_FAILED = 3  # every source polled failed: nothing fresh was collected
EXIT_INTERRUPTED = 130
# error_class values that mean the server was never reached (DNS, refused, unreachable, connect timeout).
CONNECTION_ERRORS = frozenset({"network", "timeout"})
NO_NETWORK_HINT = "no network? behind a proxy? set HTTPS_PROXY (and NO_PROXY) if so"


def print_record(record: PollRecord, width: int) -> None:
    detail = record.error or record.notes
    line = (
        f"{display_safe(record.source, one_line=True):<{width}}  {record.status!s:<17}"
        f"  new {record.new:>5}  updated {record.updated:>5}  {record.duration:6.2f}s"
    )
    if record.http_status:
        line += f"  HTTP {record.http_status}"
    if detail:
        line += f"  {shorten(display_safe(detail, one_line=True), 120)}"
    print(line, flush=True)


# A run of a background pass is worth lasting lines (its start, every tenth, its end) from this many
# rows (the back-fill of a store, a cold poll); a few rows after each round are shown only in passing.
PROGRESS_WORTH_LINES = 1000


class ProgressLine:
    """The background passes' progress (language and sentiment, ...) on stderr.

    On a terminal, one line rewritten in place while a pass runs, wiped while a poll's line is
    printed (`above`) and redrawn under it; a long run ends with its total left on screen. Not on a
    terminal (a log file, cron), plain lines: the start, each tenth and the end of a long run only.
    A pass's message (e.g. the command that installs a missing extra) is always printed, once per run.
    Called from the passes' thread, hence the lock.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._shown = ""  # the line on screen now (a terminal only), "" = none
        self._tenths: dict[str, int] = {}

    def show(self, progress: BackgroundProgress) -> None:
        text = display_safe(progress.describe(), one_line=True)
        long_run = progress.total >= PROGRESS_WORTH_LINES
        with self._lock:
            if self.tty:
                if progress.running:
                    self._write("\r\x1b[K" + text)
                    self._shown = text
                elif long_run or progress.message:
                    self._write("\r\x1b[K" + text + "\n")
                    self._shown = ""
                else:
                    self._wipe()
                return
            if progress.message or (not progress.running and long_run):
                self._write(text + "\n")
                self._tenths.pop(progress.name, None)
            elif progress.running and long_run:
                tenth = int((progress.fraction or 0.0) * 10)
                if tenth > self._tenths.get(progress.name, -1):
                    self._tenths[progress.name] = tenth
                    self._write(text + "\n")

    @contextmanager
    def above(self) -> Iterator[None]:
        """Print something on stdout without it landing in the middle of the progress line."""
        with self._lock:
            shown = self._shown
            self._wipe()
            try:
                yield
            finally:
                sys.stdout.flush()
                if shown:
                    self._write("\r\x1b[K" + shown)
                    self._shown = shown

    def close(self) -> None:
        """End the line in progress, if any (before the last lines of a command)."""
        with self._lock:
            self._wipe()

    def _wipe(self) -> None:
        if self._shown:
            self._write("\r\x1b[K")
            self._shown = ""

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr: the progress is only a courtesy


async def finish_background(poller: Poller, stop: asyncio.Event) -> None:
    """Wait for the background passes to analyse what was just stored, unless stopped (the rows then
    stay pending: the next poll or the dashboard does them)."""
    background = poller.background
    if background is None:
        return
    while not stop.is_set() and not await asyncio.to_thread(background.wait_idle, 0.25):
        pass


def summary_lines(records: Sequence[PollRecord]) -> list[str]:
    """What a run's lines add up to, when that is news: nothing reachable, or nothing worked."""
    if not records:
        return []
    failed = [record for record in records if not record.status.is_success]
    unreachable = sum(1 for record in failed if record.error_class in CONNECTION_ERRORS)
    lines = []
    if unreachable == len(records):
        lines.append(f"No source could be reached ({unreachable} of {len(records)}): {NO_NETWORK_HINT}.")
    elif len(records) >= 3 and unreachable * 4 >= len(records) * 3:
        lines.append(f"{unreachable} of {len(records)} sources could not be reached: {NO_NETWORK_HINT}.")
    if len(failed) == len(records):
        lines.append(f"All {len(records)} source(s) polled failed (exit status {EXIT_ALL_FAILED}).")
    return lines


def exit_status(records: Sequence[PollRecord]) -> int:
    """0 if one source was read (or none was due); EXIT_ALL_FAILED if every one polled failed."""
    if records and not any(record.status.is_success for record in records):
        return EXIT_ALL_FAILED
    return EXIT_OK


def run_poll(args: argparse.Namespace) -> int:
    config = load(args)
    database = database_path(args, config)
    width = max((len(source.name) for source in config.sources), default=10)
    if args.once:
        return _report_once(config, database, width)
    print(f"Polling {len(config.sources)} source(s) into {database}; Ctrl-C to stop.", flush=True)
    first_round: dict[str, PollRecord] = {}
    progress = ProgressLine()

    def report(record: PollRecord) -> None:
        with progress.above():
            print_record(record, width)
            # Once every source has been tried, say so if none (or hardly any) could be reached.
            if len(first_round) < len(config.sources) and record.source not in first_round:
                first_round[record.source] = record
                if len(first_round) == len(config.sources):
                    for line in summary_lines(list(first_round.values())):
                        if not line.startswith("All "):
                            print(line, flush=True)

    try:
        asyncio.run(_poll_forever(config, database, report, progress))
    finally:
        progress.close()
    return EXIT_OK


def _report_once(config: Config, database: Database, width: int) -> int:
    """Poll every source once, print a line each, sum up; the status says whether anything worked."""
    progress = ProgressLine()
    try:
        records, interrupted = asyncio.run(_poll_once(config, database, progress))
    finally:
        progress.close()
    for record in sorted(records, key=lambda r: r.source):
        print_record(record, width)
    for line in summary_lines(records):
        print(line, flush=True)
    if interrupted:
        missing = len(config.sources) - len(records)
        print(f"Stopped: interrupted, {missing} source(s) not polled.", flush=True)
        return EXIT_INTERRUPTED
    skipped = len(config.sources) - len(records)
    if skipped:
        print(f"({skipped} source(s) skipped: gone, or waiting out a rate limit; see `check`)")
    return exit_status(records)


class _Interrupts:
    """SIGINT/SIGTERM: the first sets `stop` (a graceful stop), the second exits at once."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self)
        except (RuntimeError, ValueError, NotImplementedError):
            pass  # not the main thread, or no signals here: Ctrl-C keeps its default behaviour

    def __call__(self) -> None:
        if not self.stop.is_set():
            from dashboard.polling.poller import STOP_GRACE

            self.stop.set()
            print(
                f"Stopping: finishing the polls in flight (at most {STOP_GRACE:g} s);"
                " press Ctrl-C again to quit at once.",
                file=sys.stderr,
                flush=True,
            )
            return
        print(
            "Forced exit: polls in flight were abandoned (nothing half-stored).", file=sys.stderr, flush=True
        )
        sys.stdout.flush()
        # SQLite commits are atomic, so the store is whole, as after a kill; the parse workers
        # notice their parent is gone and exit.
        os._exit(EXIT_INTERRUPTED)


async def _poll_once(
    config: Config, database: Database, progress: ProgressLine
) -> tuple[list[PollRecord], bool]:
    """Every source once (an explicit fetch), then the background passes over what it stored (so a
    cron job leaves every mention analysed); Ctrl-C stops it cleanly. Returns (records, interrupted)."""
    stop = asyncio.Event()
    _Interrupts(stop).install()
    from dashboard.polling.service import running_poller

    async with running_poller(config, database, on_background=progress.show) as poller:
        records = await poller.poll_once(force=True, stop=stop)
        await finish_background(poller, stop)
    if config.alerts.rules and not stop.is_set():
        await asyncio.to_thread(_alert_round, config, database)
    return records, stop.is_set()


def _alert_round(config: Config, database: Database) -> None:
    """`poll --once` (from cron, say) evaluates the alert rules once and sends what is due."""
    from dashboard.alerts.service import AlertEngine

    engine = AlertEngine(config.alerts, database)
    try:
        print_alerts(engine.run_round(utc_now()))
    finally:
        engine.close()


def print_alerts(outcome: Round) -> None:
    for alert in outcome.raised:
        why = f" (not sent: {alert.suppressed})" if alert.suppressed else ""
        print(f"Alert {alert.rule}: {display_safe(alert.title, one_line=True)}{why}", flush=True)
    for sent in outcome.sent:
        if sent.error:
            print(
                f"Alert delivery to {sent.channel} failed (will retry): {display_safe(sent.error, one_line=True)}",
                file=sys.stderr,
                flush=True,
            )


async def _poll_forever(
    config: Config, database: Database, report: Callable[[PollRecord], None], progress: ProgressLine
) -> None:
    stop = asyncio.Event()
    _Interrupts(stop).install()
    from dashboard.alerts.service import alerts_beside
    from dashboard.export.schedule import run_scheduled_snapshots
    from dashboard.polling.service import running_poller

    async with (
        running_poller(config, database, on_background=progress.show) as poller,
        alerts_beside(config.alerts, database, on_round=print_alerts),
    ):
        await asyncio.gather(
            poller.run(stop, on_record=report),
            run_scheduled_snapshots(
                config,
                database,
                stop,
                on_snapshot=lambda folder: print(f"Snapshot written: {folder}", flush=True),
                on_error=lambda message: print(message, file=sys.stderr, flush=True),
            ),
        )
    print("Stopped cleanly.", flush=True)


def run_check(args: argparse.Namespace) -> int:
    config = load(args)
    database = database_path(args, config)
    settings = config.settings
    print(f"Config:   {config.path}")
    print(f"Database: {database}")
    keywords = display_safe(", ".join(settings.keywords), one_line=True) or "-"
    print(
        f"Settings: interval {format_duration(settings.interval)}, timeout {format_duration(settings.timeout)},"
        f" max_concurrency {settings.max_concurrency}, keywords {keywords}"
    )
    print(f"{len(config.sources)} source(s):")
    width = max((len(source.name) for source in config.sources), default=10)
    for source in config.sources:
        # Names, tags and targets are the user's file, but may hold anything (a pasted escape
        # sequence, a URL with user:password@): printed inert, credentials never shown.
        tags = display_safe(", ".join(source.tags), one_line=True)
        target = display_safe(redact_url(source.target), one_line=True)
        print(
            f"  {display_safe(source.name, one_line=True):<{width}}  {source.type:<13}"
            f" every {format_duration(source.interval):<6}  {target}{f'  [{tags}]' if tags else ''}"
        )
    if not args.fetch:
        return EXIT_OK
    print("Fetching each source once (stored like a normal poll):")
    return _report_once(config, database, width)
