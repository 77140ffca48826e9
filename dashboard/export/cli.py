"""The `export` and `feeds` commands.

    community-dashboard export [--what all|mentions|metrics|voices|sources|posts|reactions] [--since 7d|DATE]
                               [--until DATE] [--source NAME ...] [--kind KIND ...] [--excel] [-o PATH]
    community-dashboard feeds import FILE.opml
    community-dashboard feeds export [-o FILE.opml]

Exit status: 0 done, 1 the output could not be written (disk full, permission...), 2 a usage or
configuration mistake (a folder given to -o that does not exist, an invalid OPML file). Messages
never include a traceback. Everything printed or written is free of terminal control characters
(text.display_safe / csvfile.strip_controls) and of URL credentials (text.redact_url).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dashboard.clock import utc_now
from dashboard.config import Config, load_chosen_config
from dashboard.database import Database, choose
from dashboard.durations import EXPORT_SPAN
from dashboard.models import MentionKind
from dashboard.text import display_safe, redact_url

if TYPE_CHECKING:
    from dashboard.analytics.windows import Window
    from dashboard.export.csvfile import Block, Progress, TableSpec, Written
    from dashboard.export.tables import Selection
    from dashboard.store.reader import StoreReader

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
WHAT = ("all", "mentions", "metrics", "voices", "sources", "posts", "reactions")
DEFAULT_SINCE = EXPORT_SPAN
STDOUT = "-"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UsageError(Exception):
    """A command-line value that cannot be used; printed as is, exit status 2."""


def add_export_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register `export` and `feeds` on the main parser's subcommands."""
    export = commands.add_parser(
        "export",
        parents=[common],
        help="write mentions, metrics, voices and sources as CSV (or a whole snapshot folder)",
        description=(
            "Write CSV files for spreadsheets and scripts: UTF-8, RFC 4180 quoting, ISO 8601 UTC times, "
            "empty cells for unknown values. Text cells that a spreadsheet would run as a formula get a "
            "leading quote. Files appear only once complete."
        ),
    )
    export.add_argument(
        "--what",
        type=_what,
        choices=WHAT,
        default="all",
        help="which table; 'all' writes a snapshot folder with every table, kpis.csv and manifest.json "
        "(default: all)",
    )
    export.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        metavar="7d|DATE",
        help="start of the window: a duration back from now (24h, 7d, 30d) or an ISO date/time, UTC "
        "unless it has an offset (default: 7d)",
    )
    export.add_argument(
        "--until",
        metavar="DATE",
        help="end of the window (exclusive; a bare date includes that whole day; default: now)",
    )
    export.add_argument(
        "--source", action="append", metavar="NAME", help="only this source (repeat for several)"
    )
    export.add_argument(
        "--kind",
        action="append",
        type=_kind,
        choices=[str(kind) for kind in MentionKind],
        help="only this kind of mention (repeat for several)",
    )
    export.add_argument("--excel", action="store_true", help="start files with a BOM so Excel reads UTF-8")
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file to write ('-' for standard output); for --what all, the folder to put the snapshot "
        "in (default: [export] dir of feeds.toml, created if missing). The folder -o names or writes "
        "into must exist: it is never created (exit status 2)",
    )
    export.set_defaults(handler=run_export)

    feeds = commands.add_parser("feeds", help="import feeds from OPML, or export them as OPML")
    actions = feeds.add_subparsers(title="actions", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        parents=[common],
        help="add the feeds of an OPML file to feeds.toml (keeps its comments; skips known URLs)",
        description=(
            "Add every feed (outline with xmlUrl) of an OPML file to feeds.toml as [[feeds]] entries. "
            "Folder titles and categories become tags; a URL already there is skipped; a taken name "
            "gets ' (2)'. Comments and layout of feeds.toml are kept, and the result is validated "
            "before it replaces the file. Exit status: 0 done, 1 feeds.toml could not be written, "
            "2 the OPML file is unreadable or invalid (FILE:LINE: reason)."
        ),
    )
    importing.add_argument(
        "file",
        type=Path,
        metavar="FILE.opml",
        help="the OPML 1.0/2.0 file to read, e.g. the subscriptions exported by a feed reader",
    )
    importing.set_defaults(handler=run_feeds_import)
    exporting = actions.add_parser(
        "export",
        parents=[common],
        help="write the RSS/Atom feeds of feeds.toml as OPML 2.0",
        description=(
            "Write the RSS/Atom feeds of feeds.toml as OPML 2.0. Other sources (Reddit, Hacker News, "
            "...) have no place in OPML: they are left out and named on stderr. Credentials in a URL "
            "(user:password@) are never exported: they become ***@."
        ),
    )
    exporting.add_argument(
        "-o", "--output", default=STDOUT, metavar="FILE.opml", help="where to write it (default: stdout)"
    )
    exporting.set_defaults(handler=run_feeds_export)


# -- shared helpers ------------------------------------------------------------------------------

# `--what mention` like `--kind mention`: each table also answers to its singular.
_WHAT_ALIASES = {
    "mention": "mentions",
    "voice": "voices",
    "source": "sources",
    "metric": "metrics",
    "post": "posts",
    "reaction": "reactions",
}


def _what(text: str) -> str:
    """--what's value: a table name, in any case, singular or plural (argparse checks the choices)."""
    value = text.strip().lower()
    return _WHAT_ALIASES.get(value, value)


def _kind(text: str) -> str:
    """--kind's value: a kind of mention, in any case, singular or plural (`posts` -> `post`)."""
    value = text.strip().lower()
    kinds = {str(kind) for kind in MentionKind}
    if value not in kinds and value.endswith("s") and value[:-1] in kinds:
        return value[:-1]
    return value


def _config_and_database(args: argparse.Namespace) -> tuple[Config, Database]:
    from dashboard.sources import source_types

    config = load_chosen_config(args.config, registry=source_types())
    database = choose(args.db, config.settings.database_path)
    return config, database


def _error(message: str) -> None:
    print(f"community-dashboard: {display_safe(message)}", file=sys.stderr)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024**2:.1f} MB"


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or date-time; UTC unless it carries an offset. With `end_of_day`, a bare
    date means the midnight after it (so `--until 2026-03-07` includes the 7th)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"not a date or duration: {value!r} (expected e.g. 7d, 24h, 2026-03-01 or 2026-03-01T08:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end_of_day and _DATE_ONLY.match(value):
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


def parse_window(since: str, until: str | None, now: datetime) -> Window:
    """The export window from --since (a duration back from now, or a date) and --until (a date)."""
    from dashboard.analytics.windows import Window, parse_span

    end = parse_moment(until, end_of_day=True) if until else now
    try:
        span = parse_span(since)
    except ValueError:
        start = parse_moment(since)
    else:
        if until is None:
            return Window.last(span, now)
        start = end - span
    if start >= end:
        raise UsageError(f"the window is empty: --since {since} is not before --until {until or 'now'}")
    return Window.between(start, end)


def _check_sources(reader: StoreReader, wanted: Sequence[str] | None) -> tuple[str, ...] | None:
    if wanted is None:
        return None
    known = list(reader.source_names().values())
    for name in wanted:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known) or 'none'})"
            raise UsageError(f"--source: no source named {name!r} in the store{hint}")
    return tuple(dict.fromkeys(wanted))


def _output_path(output: str) -> Path:
    """-o PATH: the folder it goes in must exist. A typo (`-o /nonexistent/dir/x.csv`) is refused
    instead of silently growing a tree of folders; only the configured [export] dir is created."""
    path = Path(output).expanduser()
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(
            f"-o {display_safe(output, one_line=True)}: the folder {display_safe(str(parent), one_line=True)} "
            f"{what}; create it first"
        )
    return path


def _stdout() -> BinaryIO:
    return sys.stdout.buffer


def _quiet_broken_pipe() -> None:
    """The reader of our stdout went away (`| head`): stop quietly, without a second error at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# -- export --------------------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    from dashboard.export.csvfile import ExportError
    from dashboard.store.db import database_errors

    try:
        return _export(args)
    except UsageError as error:
        _error(f"export: {error}")
        return EXIT_USAGE
    except ExportError as error:
        _error(str(error))
        return EXIT_FAILURE
    except database_errors() as error:
        _error(f"export: cannot read the database: {error}")
        return EXIT_FAILURE
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_FAILURE


def _export(args: argparse.Namespace) -> int:
    from dashboard.export.csvfile import Progress
    from dashboard.export.snapshot import write_snapshot
    from dashboard.export.tables import Selection
    from dashboard.store.reader import StoreReader

    if args.output and args.output != STDOUT:
        _output_path(args.output)  # a missing folder is refused before any work
    if args.what != "all" and not args.output:
        raise UsageError(f"--what {args.what} needs -o PATH (or -o - for standard output)")
    if args.what == "all" and args.output == STDOUT:
        raise UsageError("--what all writes a folder of files; give -o FOLDER, not -o -")
    config, database = _config_and_database(args)
    now = utc_now().replace(microsecond=0)
    window = parse_window(args.since, args.until, now)
    with StoreReader.open(database) as reader:
        sources = _check_sources(reader, args.source)
        kinds = tuple(dict.fromkeys(args.kind)) if args.kind else None
        if args.what == "all":
            folder = write_snapshot(
                reader,
                window,
                _output_path(args.output) if args.output else config.export.directory,
                config,
                now=now,
                sources=sources,
                kinds=kinds,
                database=database,
                excel=args.excel,
                progress=Progress("mentions", None),
            )
            _print_snapshot(folder)
            return EXIT_OK
        selection = Selection(window, sources, kinds, config.settings.keywords)
        spec, blocks, progress = _single_table(args.what, reader, selection, database)
        written = _write(spec, blocks, args.output, excel=args.excel, progress=progress)
    where = "standard output" if args.output == STDOUT else display_safe(args.output, one_line=True)
    print(
        f"Wrote {written.rows:,} {spec.name} row(s) to {where} ({_size(written.size)}); "
        f"window {window.start:%Y-%m-%d %H:%M} – {window.end:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr if args.output == STDOUT else sys.stdout,
    )
    return EXIT_OK


def _single_table(
    what: str, reader: StoreReader, selection: Selection, database: Database
) -> tuple[TableSpec, Iterable[Block], Progress | None]:
    """The table's spec, its encoded rows (lazily, for mentions) and a progress bar if it is long."""
    from dashboard.export import tables
    from dashboard.export.csvfile import Progress, encode_chunks
    from dashboard.export.streaming import mention_blocks, plan_mentions

    if what == "mentions":
        plan = plan_mentions(reader, selection)
        progress = Progress("mentions", plan.rows if selection.kinds is None else None)
        return tables.MENTIONS, mention_blocks(reader, selection, database=database, plan=plan), progress
    if what == "metrics":
        spec, frame = tables.METRICS, tables.metrics_rows(reader, selection)
    elif what == "voices":
        spec, frame = tables.VOICES, tables.voices_table(reader, selection)
    elif what == "posts":
        spec, frame = tables.POSTS, tables.posts_rows(reader, selection)
    elif what == "reactions":
        spec, frame = tables.REACTIONS, tables.reactions_rows(reader, selection)
    else:
        spec, frame = tables.SOURCES, tables.sources_table(reader, selection)
    return spec, encode_chunks([frame], spec), None


def _write(
    spec: TableSpec, blocks: Iterable[Block], output: str, *, excel: bool, progress: Progress | None
) -> Written:
    from dashboard.export.csvfile import CsvOptions, write_blocks_to, write_blocks_to_stream

    options = CsvOptions(excel=excel)
    if output == STDOUT:
        return write_blocks_to_stream(_stdout(), spec, blocks, options=options, progress=progress)
    return write_blocks_to(_output_path(output), spec, blocks, options=options, progress=progress)


def _print_snapshot(folder: Path) -> None:
    from dashboard.export.snapshot import read_manifest

    manifest = read_manifest(folder)
    print(f"Wrote snapshot {display_safe(str(folder), one_line=True)}")
    for entry in manifest["files"]:
        print(
            f"  {display_safe(entry['name'], one_line=True):<14} {entry['rows']:>10,} row(s)  {_size(entry['bytes'])}"
        )


# -- feeds ---------------------------------------------------------------------------------------


def _config_path_for_import(args: argparse.Namespace) -> Path:
    """--config names the file to add to (created if missing); otherwise the usual lookup."""
    from dashboard.config import find_config_path

    if args.config is not None:
        path = Path(args.config).expanduser()
        return path if path.is_absolute() else Path.cwd() / path
    return find_config_path(None, os.environ, Path.cwd())


def run_feeds_import(args: argparse.Namespace) -> int:
    from dashboard.export.csvfile import ExportError
    from dashboard.export.opml import OpmlError, import_opml

    config_path = _config_path_for_import(args)
    try:
        report = import_opml(args.file, config_path)
    except OpmlError as error:  # the file is unreadable, not OPML or refused: the user's input
        _error(f"feeds import: {error}")
        return EXIT_USAGE
    except ExportError as error:  # feeds.toml could not be written
        _error(f"feeds import: {error}")
        return EXIT_FAILURE
    added, skipped = report.added, report.skipped
    print(f"Added {len(added)} feed(s) to {config_path}" + (":" if added else "."))
    for outcome in added:
        note = f"  ({outcome.reason})" if outcome.reason else ""
        print(
            f"  + {display_safe(outcome.name, one_line=True)}  {display_safe(redact_url(outcome.url), one_line=True)}{note}"
        )
    if skipped:
        print(f"Skipped {len(skipped)}:")
        for outcome in skipped:
            print(
                f"  - {display_safe(outcome.name, one_line=True)}  "
                f"{display_safe(redact_url(outcome.url), one_line=True)}: {outcome.reason}"
            )
    return EXIT_OK


def run_feeds_export(args: argparse.Namespace) -> int:
    from dashboard.export.csvfile import ExportError, write_text_atomically
    from dashboard.export.opml import build_opml_export
    from dashboard.sources import source_types

    config = load_chosen_config(args.config, registry=source_types())
    exported = build_opml_export(config)
    try:
        if args.output == STDOUT:
            _stdout().write(exported.text.encode("utf-8"))
            _stdout().flush()
        else:
            write_text_atomically(_output_path(args.output), exported.text)
    except UsageError as error:
        _error(f"feeds export: {error}")
        return EXIT_USAGE
    except ExportError as error:
        _error(str(error))
        return EXIT_FAILURE
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_FAILURE
    where = "standard output" if args.output == STDOUT else display_safe(args.output, one_line=True)
    print(
        f"Wrote {exported.feeds} feed(s) to {where}", file=sys.stderr if args.output == STDOUT else sys.stdout
    )
    _say_what_opml_left_out(exported.left_out, exported.redacted)
    return EXIT_OK


def _say_what_opml_left_out(left_out: Sequence[tuple[str, str]], redacted: Sequence[str]) -> None:
    """On stderr: the sources OPML cannot hold and the URLs whose credentials were not exported."""
    if left_out:
        names = ", ".join(f"{display_safe(name, one_line=True)} ({kind})" for name, kind in left_out)
        print(f"Left out {len(left_out)} source(s): {names}", file=sys.stderr)
    if redacted:
        names = ", ".join(display_safe(name, one_line=True) for name in redacted)
        print(
            f"Removed the credentials (user:password@) from the URL of {len(redacted)} feed(s): {names}",
            file=sys.stderr,
        )
