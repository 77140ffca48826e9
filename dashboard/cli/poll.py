"""`poll` and `check`: the headless commands that fetch sources into the store."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from dashboard.cli.common import EXIT_OK, database_path, load
from dashboard.config import Config
from dashboard.durations import format_duration
from dashboard.models import PollRecord
from dashboard.text import display_safe, shorten


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


def run_poll(args: argparse.Namespace) -> int:
    config = load(args)
    database = database_path(args, config)
    width = max((len(source.name) for source in config.sources), default=10)
    if args.once:
        records = asyncio.run(_poll_once(config, database))
        for record in sorted(records, key=lambda r: r.source):
            print_record(record, width)
        skipped = len(config.sources) - len(records)
        if skipped:
            print(f"({skipped} source(s) skipped: gone, or waiting out a rate limit; see `check`)")
        return EXIT_OK
    print(f"Polling {len(config.sources)} source(s) into {database}; Ctrl-C to stop.", flush=True)
    asyncio.run(_poll_forever(config, database, lambda record: print_record(record, width)))
    return EXIT_OK


async def _poll_once(config: Config, database: Path) -> list[PollRecord]:
    from dashboard.polling.service import running_poller

    async with running_poller(config, database) as poller:
        return await poller.poll_once(force=True)


async def _poll_forever(config: Config, database: Path, report: Callable[[PollRecord], None]) -> None:
    from dashboard.export.schedule import run_scheduled_snapshots
    from dashboard.polling.service import running_poller

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_poller(config, database) as poller:
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
    print(
        f"Settings: interval {format_duration(settings.interval)}, timeout {format_duration(settings.timeout)},"
        f" max_concurrency {settings.max_concurrency}, keywords {', '.join(settings.keywords) or '-'}"
    )
    print(f"{len(config.sources)} source(s):")
    width = max((len(source.name) for source in config.sources), default=10)
    for source in config.sources:
        tags = f"  [{', '.join(source.tags)}]" if source.tags else ""
        print(
            f"  {source.name:<{width}}  {source.type:<13} every {format_duration(source.interval):<6}"
            f"  {display_safe(source.target, one_line=True)}{tags}"
        )
    if not args.fetch:
        return EXIT_OK
    print("Fetching each source once (stored like a normal poll):")
    for record in sorted(asyncio.run(_poll_once(config, database)), key=lambda r: r.source):
        print_record(record, width)
    return EXIT_OK
