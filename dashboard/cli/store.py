"""`store copy --from SRC --to DST`: move a store between SQLite and PostgreSQL (issue 15), verified.

Either side is a SQLite file or a PostgreSQL database: a URL (`postgresql://` or `postgres://`) or a
libpq `key=value` string (`host=/run/postgresql dbname=community`); anything else is a file. One side
of each copy is SQLite and the other PostgreSQL; the engines are dashboard.store.postgres.copy
(SQLite -> PostgreSQL) and .to_sqlite (PostgreSQL -> SQLite). The target must be empty, the copy is
all or nothing, and every table's rows are counted on both sides before it counts as done.

Exit statuses: 0 copied and verified; 2 refused, nothing written (a target that is not empty, a
source missing or of another schema, psycopg not installed: a user's mistake, the message says which);
1 failed on the way (a connection, a row PostgreSQL refuses, counts that disagree), nothing written.

Progress goes to stderr, a line per table: on a terminal rewritten in place with a bar, elsewhere (a
log, cron) the start, each tenth and the end of a big table. Nothing heavy is imported before the
command runs (psycopg, the store): the parser imports this module.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import TYPE_CHECKING, TextIO

from dashboard.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, database_path, load
from dashboard.text import display_safe, redact_url

if TYPE_CHECKING:
    from dashboard.store.postgres.copy import CopyReport

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
INSTALL_HINT = "pip install 'community-dashboard[postgres]'"
# From this many rows a table is worth lines of its own when stderr is not a terminal (as in poll).
PROGRESS_WORTH_LINES = 1000
BAR_WIDTH = 24

COPY_EPILOG = """\
examples:
  community-dashboard store copy --from mentions.db --to postgres://db/community
  community-dashboard store copy --to postgresql://team@db/community
      (the store --db names, else settings.database in feeds.toml)
  community-dashboard store copy --from postgresql://db/community --to backup.db

The target must be empty: a new SQLite file (or an empty one), or a
PostgreSQL database with no store in it (createdb NAME; the copy creates the
tables). Give PostgreSQL the password through ~/.pgpass or $PGPASSWORD rather
than in the URL (a command line is visible to other users). A SQLite source
must be at this version's schema: open it once with this version first (the
dashboard or `poll --once` migrates it).

exit status:
  0    copied, and every table's rows counted on both sides
  1    failed on the way; nothing was written
  2    refused (a target not empty, a source missing or of another schema,
       psycopg not installed); nothing was written
  130  interrupted (Ctrl-C); nothing was written
"""


def add_store_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    store = commands.add_parser(
        "store",
        help="copy the store between SQLite and PostgreSQL",
        description="Manage where the store lives: a SQLite file or a PostgreSQL database (team mode).",
    )
    actions = store.add_subparsers(title="actions", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        parents=[common],
        help="copy a whole store into an empty one, either direction, verified by counts",
        description="Copy a whole store, SQLite -> PostgreSQL or PostgreSQL -> SQLite, into an\n"
        "empty target: all or nothing, ids kept, every table's rows counted on both\nsides afterwards.",
        epilog=COPY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "--from",
        dest="source",
        metavar="STORE",
        help="the store to copy: a SQLite file or PostgreSQL URL (default: the store --db names)",
    )
    copy.add_argument(
        "--to", dest="target", metavar="STORE", required=True, help="the empty store to fill (file or URL)"
    )
    copy.set_defaults(handler=run_store_copy)


def is_postgres(store: str) -> bool:
    """A PostgreSQL URL or libpq key=value string; anything else names a SQLite file."""
    return store.startswith(POSTGRES_SCHEMES) or "=" in store


def shown(store: str) -> str:
    """The store as messages name it: never a password (a URL's userinfo, a key=value password)."""
    if store.startswith(POSTGRES_SCHEMES):
        store = redact_url(store)
    elif "=" in store:
        store = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", store, flags=re.IGNORECASE)
    return display_safe(store, one_line=True)


def run_store_copy(args: argparse.Namespace) -> int:
    from pathlib import Path

    source = args.source if args.source is not None else _configured_store(args)
    target = str(args.target)
    if is_postgres(source) == is_postgres(target):
        both = "PostgreSQL databases" if is_postgres(source) else "SQLite files"
        return _refused(
            f"--from and --to are both {both}: one side of a copy is a SQLite file, the other PostgreSQL"
        )
    try:
        import psycopg  # noqa: F401  (the optional extra, before the engines that need it)
    except ImportError:
        return _refused(f"copying to or from PostgreSQL needs psycopg: {INSTALL_HINT}")
    from dashboard.store.postgres.copy import CopyError, CopyRefused, copy_store
    from dashboard.store.postgres.to_sqlite import copy_to_sqlite

    progress = CopyProgress()
    started = time.monotonic()
    try:
        if is_postgres(target):
            report = copy_store(Path(source), target, progress)
        else:
            report = copy_to_sqlite(source, Path(target), progress)
    except CopyRefused as error:
        progress.close()
        return _refused(str(error))
    except CopyError as error:
        progress.close()
        print(
            f"community-dashboard: store copy failed: {display_safe(str(error), one_line=True)}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except BaseException:
        progress.close()  # Ctrl-C, a bug: main says what it was on a line of its own
        raise
    progress.close()
    _print_report(report, shown(source), shown(target), time.monotonic() - started)
    return EXIT_OK


def _configured_store(args: argparse.Namespace) -> str:
    """--db, else $COMMUNITY_DASHBOARD_DATABASE, else feeds.toml's (read only when it decides)."""
    from dashboard.database import ENVIRONMENT_VARIABLE, choose

    if args.db or os.environ.get(ENVIRONMENT_VARIABLE, "").strip():
        return str(choose(args.db, ""))
    return str(database_path(args, load(args)))


def _refused(message: str) -> int:
    print(f"community-dashboard: store copy refused: {display_safe(message, one_line=True)}", file=sys.stderr)
    return EXIT_USAGE


def _print_report(report: CopyReport, source: str, target: str, seconds: float) -> None:
    print(f"Copied {source} -> {target} in {seconds:.1f} s; rows per table, counted on both sides:")
    width = max(len(table) for table in report.rows)
    for table, rows in report.rows.items():
        print(f"  {table:<{width}}  {rows:>12,}")
    print("Verified: every table holds the same number of rows in both stores, and the rollups add up.")


class CopyProgress:
    """A line per table on stderr: rewritten in place on a terminal (a bar, rows, percent), plain
    lines elsewhere (the start, each tenth and the end of a table of PROGRESS_WORTH_LINES rows or
    more, the end of every table)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False  # a line in progress on the terminal
        self._tenth: dict[str, int] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if total < 0:  # a step without rows (the indexes rebuilt, the counts compared): said once
            self._write(f"\r\x1b[K{table}..." if self.tty else f"{table}...\n")
            self._shown = self.tty
            return
        finished = done >= total
        if self.tty:
            if finished:
                self._write(f"\r\x1b[K{_line(table, done, total, bar=True)}\n")
                self._shown = False
            else:
                self._write(f"\r\x1b[K{_line(table, done, total, bar=True)}")
                self._shown = True
            return
        if finished:
            self._write(_line(table, done, total) + "\n")
        elif total >= PROGRESS_WORTH_LINES:
            tenth = done * 10 // total
            if tenth > self._tenth.get(table, -1):
                self._tenth[table] = tenth
                self._write(_line(table, done, total) + "\n")

    def close(self) -> None:
        """End a line in progress (a copy that stopped half-way), before the message that says why."""
        if self._shown:
            self._write("\n")
            self._shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr: the progress is only a courtesy


def _line(table: str, done: int, total: int, *, bar: bool = False) -> str:
    fraction = 1.0 if total <= 0 else min(1.0, done / total)
    filled = "#" * round(fraction * BAR_WIDTH)
    drawn = f" [{filled:<{BAR_WIDTH}}]" if bar else ""
    return f"{table:<20}{drawn} {done:>12,} of {total:,} rows ({fraction:.0%})"
