"""The command line: `community-dashboard [poll|check|export|feeds]`; no command opens the dashboard.

Every command takes `--config` and `--db`. A configuration mistake prints one clear message and exits
with status 2; nothing here prints a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from dashboard import __version__
from dashboard.config import Config, ConfigError, load_chosen_config, load_config
from dashboard.durations import format_duration
from dashboard.models import PollRecord
from dashboard.store.db import StoreError
from dashboard.text import display_safe, shorten

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except ConfigError as error:
        print(f"community-dashboard: {error}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as error:
        print(f"community-dashboard: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `community-dashboard check | head`
        sys.stderr.close()
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="community-dashboard",
        description="A terminal dashboard that watches the health of your community.",
        parents=[common_options(default=None)],
    )
    # On each command the same options default to "not given", so `--config X poll` and
    # `poll --config X` both work (a plain default there would overwrite the top-level value).
    common = common_options(default=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="run on a built-in offline demo (no network needed)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the demo's random seed (default: 1)")
    parser.add_argument("--readonly", action="store_true", help="show the store without polling or writing")
    parser.set_defaults(handler=run_dashboard)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    poll = commands.add_parser("poll", parents=[common], help="poll sources headless (until Ctrl-C)")
    poll.add_argument("--once", action="store_true", help="poll every source once now, then exit")
    poll.set_defaults(handler=run_poll)

    check = commands.add_parser("check", parents=[common], help="validate feeds.toml and list the sources")
    check.add_argument("--fetch", action="store_true", help="also fetch each source once and report")
    check.set_defaults(handler=run_check)

    from dashboard.export.cli import add_export_commands

    add_export_commands(commands, common)
    return parser


def common_options(*, default: object) -> argparse.ArgumentParser:
    """`--config` and `--db`, which the dashboard and every command take."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--config", type=Path, metavar="PATH", default=default, help="feeds.toml to use (default: see README)"
    )
    options.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        default=default,
        help="SQLite database (default: settings.database)",
    )
    return options


# -- shared helpers ----------------------------------------------------------------------------


def load(args: argparse.Namespace) -> Config:
    from dashboard.sources import source_types

    return load_chosen_config(args.config, registry=source_types())


def database_path(args: argparse.Namespace, config: Config) -> Path:
    return Path(args.db) if args.db else config.settings.database_path


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


# -- commands ------------------------------------------------------------------------------------


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


def run_dashboard(args: argparse.Namespace) -> int:
    if args.demo:
        return _run_demo(args)
    config = load(args)
    return _run_app(config, database_path(args, config), readonly=args.readonly)


def _run_demo(args: argparse.Namespace) -> int:
    from dashboard.demo.server import DemoServer

    if args.readonly:
        print(
            "community-dashboard: --demo and --readonly cannot go together: the demo is a world this"
            " instance polls. To watch a database another instance writes, use --readonly --db PATH.",
            file=sys.stderr,
        )
        return EXIT_USAGE

    with (
        DemoServer(seed=args.seed) as demo,
        tempfile.TemporaryDirectory(prefix="community-dashboard-demo-") as tmp,
    ):
        database = args.db or Path(tmp) / "demo.db"
        config_path = Path(tmp) / "feeds.toml"
        # The demo's snapshots (`e`) go beside its database, never among the user's real exports.
        exports = f"\n[export]\ndir = {json.dumps(str(database.parent / 'exports'))}\n"
        config_path.write_text(demo.feeds_toml(database) + exports, encoding="utf-8")
        from dashboard.sources import source_types

        return _run_app(load_config(config_path, registry=source_types()), database, readonly=False)


def _run_app(config: Config, database: Path, *, readonly: bool) -> int:
    from dashboard.store.db import connect
    from dashboard.ui.app import make_app

    # Open the store once before the screen takes over: a path that is a folder, a database of
    # another program or none at all (read-only) is one clear line and exit 1 (StoreError, in
    # main), never a traceback or a dashboard "loading…" forever.
    connect(database, readonly=readonly).close()
    make_app(config, database=database, readonly=readonly).run()
    return EXIT_OK
