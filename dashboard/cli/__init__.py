"""The command line: `community-dashboard [poll|check|export|feeds]`; no command opens the dashboard.

Every command takes `--config`, `--db` and `--log-level`. A configuration mistake prints one clear
message and exits with status 2; nothing here prints a traceback for a user's mistake.

Start-up stays lean: building the parser imports no source, fetcher, store, pandas nor Textual,
so `--version` and `--help` answer at once; each handler imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

from dashboard import __version__
from dashboard.cli.common import EXIT_ALL_FAILED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

__all__ = ["CommandParser", "build_parser", "main"]

PROG = "community-dashboard"
_log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]
LOG_LEVELS = ("debug", "info", "warning", "error")  # logs.LEVELS, without importing logging.handlers


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:  # answered before the parser, which imports every command's module
        print(f"{PROG} {__version__}")
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    # Imported only now: --help and --version have already exited without them.
    from dashboard.cli import logs
    from dashboard.config import ConfigError
    from dashboard.store.db import StoreError

    _start_log(logs, args.log_level)
    handler: Handler = args.handler
    command = _command_line(argv)
    _log.info("start: %s", command)
    try:
        status = handler(args)
    except ConfigError as error:
        _log.error("config: %s", error)
        print(f"{PROG}: {error}", file=sys.stderr)
        status = EXIT_USAGE
    except StoreError as error:
        _log.error("store: %s", error)
        print(f"{PROG}: {error}", file=sys.stderr)
        status = EXIT_FAILURE
    except KeyboardInterrupt:
        _log.info("interrupted: %s", command)
        status = EXIT_INTERRUPTED
    except BrokenPipeError:  # `community-dashboard check | head`
        sys.stderr.close()
        status = EXIT_OK
    except Exception:
        _log.exception("failed: %s", command)  # the traceback goes to the log, not the terminal...
        raise  # ...and still to stderr: an unexpected error is a bug to report, never hidden
    _log.info("stop: %s (exit %d)", command, status)
    return status


def _start_log(logs: Any, level: str) -> None:
    """Open the log file; a log that cannot be written is said once and the command goes on."""
    try:
        logs.setup(level)
    except logs.LogSetupError as error:
        print(f"{PROG}: warning: {error}; running without a log", file=sys.stderr)


def _command_line(argv: Sequence[str] | None) -> str:
    words = list(sys.argv[1:] if argv is None else argv)
    return " ".join([PROG, *words])


@dataclass(frozen=True, slots=True)
class LazyHandler:
    """A command's handler, imported when the command runs rather than when the parser is built."""

    module: str
    name: str

    def __call__(self, args: argparse.Namespace) -> int:
        handler: Handler = getattr(importlib.import_module(self.module), self.name)
        return handler(args)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands that complain with their own usage: `poll --onse` shows poll's, not the top one."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        unrecognized = argparse._UNRECOGNIZED_ARGS_ATTR
        before = len(getattr(namespace, unrecognized, []))
        super().__call__(parser, namespace, values, option_string)
        extras = getattr(namespace, unrecognized, [])[before:]
        if extras:
            self._name_parser_map[values[0]].error(f"unrecognized arguments: {' '.join(extras)}")


class CommandParser(argparse.ArgumentParser):
    """ArgumentParser whose subcommands report their own errors and suggest a misspelt command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if isinstance(action, argparse._SubParsersAction) and value not in (action.choices or {}):
            commands = list(action.choices or {})
            close = difflib.get_close_matches(str(value), commands, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(commands)}"
            raise argparse.ArgumentError(action, f"unknown command {value!r}; {hint}")
        super()._check_value(action, value)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _lookup_order() -> str:
    return (
        "feeds.toml is the first of: --config PATH; $COMMUNITY_DASHBOARD_CONFIG;\n"
        "./feeds.toml; the user config folder (~/.config/community-dashboard/feeds.toml\n"
        "on Linux, $XDG_CONFIG_HOME if set). The database is --db, else settings.database\n"
        "in feeds.toml, else the user data folder (~/.local/share/community-dashboard/\n"
        "mentions.db on Linux). The log is $COMMUNITY_DASHBOARD_LOG, else\n"
        "~/.local/state/community-dashboard/community-dashboard.log ($XDG_STATE_HOME)."
    )


def _exit_codes() -> str:
    return (
        "exit status:\n"
        f"  {EXIT_OK}    done\n"
        f"  {EXIT_FAILURE}    failed (the database or an output cannot be used...)\n"
        f"  {EXIT_USAGE}    a usage or feeds.toml mistake (the message names file:line)\n"
        f"  {EXIT_ALL_FAILED}    poll --once / check --fetch: every source failed (no network?)\n"
        f"  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"
    )


def _examples(*rows: tuple[str, str]) -> str:
    width = max(len(command) for command, _ in rows) + len(PROG) + 3
    lines = (f"  {f'{PROG} {command}'.strip():<{width}}{what}" for command, what in rows)
    return "examples:\n" + "\n".join(lines)


def _epilog(*rows: tuple[str, str]) -> str:
    return f"{_examples(*rows)}\n\n{_lookup_order()}\n\n{_exit_codes()}\n"


TOP_EPILOG = _epilog(
    ("--demo", "the dashboard on an offline demo world"),
    ("", "the dashboard on your feeds.toml"),
    ("check", "validate feeds.toml, list the sources"),
    ("check --fetch", "... and fetch each source once"),
    ("poll --once", "poll every source once, then exit"),
    ("export --what all", "write every CSV to a snapshot folder"),
    ("COMMAND --help", "a command's own options"),
)
POLL_EPILOG = _epilog(
    ("poll", "poll on schedule until Ctrl-C"),
    ("poll --once", "poll every source now, then exit"),
    ("poll --log-level debug", "... and log every step"),
)
CHECK_EPILOG = _epilog(
    ("check", "where everything is, and the sources"),
    ("check --fetch", "... and fetch each source once"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG,
        description="A terminal dashboard that watches the health of your community.",
        epilog=TOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.set_defaults(handler=LazyHandler("dashboard.cli.dashboard", "run_dashboard"))
    # Typed as plain ArgumentParsers for the export module; each is a CommandParser all the same.
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(title="commands", metavar="COMMAND"),
    )

    poll = commands.add_parser(
        "poll",
        parents=[common],
        help="poll sources headless (until Ctrl-C)",
        description="Poll the sources of feeds.toml into the database, without the dashboard.",
        epilog=POLL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    poll.add_argument("--once", action="store_true", help="poll every source once now, then exit")
    poll.set_defaults(handler=LazyHandler("dashboard.cli.poll", "run_poll"))

    check = commands.add_parser(
        "check",
        parents=[common],
        help="validate feeds.toml and list the sources",
        description="Validate feeds.toml and list its sources; --fetch also fetches each once.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--fetch", action="store_true", help="also fetch each source once and report")
    check.set_defaults(handler=LazyHandler("dashboard.cli.poll", "run_check"))

    from dashboard.export.cli import add_export_commands

    add_export_commands(commands, common)
    from dashboard.cli.alerts import add_alert_commands

    add_alert_commands(commands, common)
    from dashboard.cli.store import add_store_commands

    add_store_commands(commands, common)
    return parser


def common_options(*, default: object) -> CommandParser:
    """`--config`, `--db` and `--log-level`, which the dashboard and every command take."""
    options = CommandParser(add_help=False)
    options.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=default,
        help="feeds.toml to use (default: the lookup order below)",
    )
    options.add_argument(
        "--db",
        metavar="PATH|URL",
        default=default,
        help="SQLite file or postgresql:// URL (default: $COMMUNITY_DASHBOARD_DATABASE, "
        "else settings.database, else the user data folder)",
    )
    options.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        metavar="LEVEL",
        default="info" if default is None else default,
        help=f"what the log file keeps: {', '.join(LOG_LEVELS)} (default: info)",
    )
    return options
