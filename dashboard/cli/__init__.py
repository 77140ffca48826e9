"""The command line: `community-dashboard [poll|check|export|feeds]`; no command opens the dashboard.

Every command takes `--config` and `--db`. A configuration mistake prints one clear message and exits
with status 2; nothing here prints a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dashboard import __version__
from dashboard.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from dashboard.cli.dashboard import run_dashboard
from dashboard.cli.poll import run_check, run_poll
from dashboard.config import ConfigError
from dashboard.store.db import StoreError

__all__ = ["build_parser", "main"]


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
