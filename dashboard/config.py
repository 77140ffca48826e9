"""feeds.toml: where it is, what it may contain, and messages that say exactly what is wrong.

The file is the user-facing contract of the dashboard. Every mistake in it becomes a `ConfigError`
whose message names the file, the line, the key, what was expected and, for a misspelt key or
source name, a "did you mean ...?" - never a traceback. Source-specific keys are not listed here:
each source class declares its own `keys` (see dashboard.contracts.source.KeySpec) and they are read
from the registry, so a new source type needs no change in this module.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
import sys
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import platformdirs

from dashboard.contracts.alerts import AlertConfig, AlertProblem, read_alerts
from dashboard.contracts.source import Source
from dashboard.database import Database, is_postgres, url_problem
from dashboard.durations import DURATION_EXAMPLES, DurationError, format_duration, parse_duration
from dashboard.models import SourceConfig
from dashboard.opinion import SCORED_LANGUAGES
from dashboard.opinion.language import ISO_639_1
from dashboard.text import display_safe

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "Config",
    "ConfigError",
    "EnvURLSourceConfig",
    "ExportSettings",
    "Settings",
    "default_database_path",
    "default_export_dir",
    "find_config_path",
    "format_duration",
    "load_config",
    "name_key",
    "parse_config",
    "parse_duration",
    "source_config_hash",
    "user_config_file",
]

_log = logging.getLogger(__name__)

APP_NAME = "community-dashboard"
CONFIG_ENV = "COMMUNITY_DASHBOARD_CONFIG"
CONFIG_FILE_NAME = "feeds.toml"
FEED_TYPE = "feed"

# Upper bounds that keep a typo from turning into an absurd SQL LIMIT or a thousand sockets.
MAX_CONCURRENCY = 64
MAX_ITEMS = 100_000
MAX_KEEP = 100_000

DEFAULT_INTERVAL = 15 * 60.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_MAX_ITEMS = 100
DEFAULT_REFRESH_FOR = 7 * 86400.0
DEFAULT_EXPORT_KEEP = 48
# `[settings] languages`: the languages whose mentions get a sentiment (issue 13).
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr")

SETTINGS_KEYS = (
    "interval",
    "database",
    "timeout",
    "max_concurrency",
    "keywords",
    "max_items",
    "refresh_for",
    "languages",
)
EXPORT_KEYS = ("dir", "every", "keep")
TOP_LEVEL_KEYS = ("settings", "export", "feeds", "alerts", "notify")
# Keys every [[feeds]] entry may have, whatever its type.
# `own = true`: the entry's items are the community's own posts (issue 12: the Posts panel).
COMMON_FEED_KEYS = ("name", "interval", "tags", "max_items", "refresh_for", "own")
# The source-specific key of a search for links to a site (issue 12); only some APIs have one.
DOMAIN_KEY = "domain"
URL_FEED_KEYS = ("url", "url_env")
# Source-specific keys that name a hashtag: written without "#" (the README says so, and the API
# path /timelines/tag/#x would find nothing). Refused rather than silently fixed, so the file says
# what is really asked for.
HASHTAG_KEYS = ("tag",)
SOURCE_FEED_KEYS = ("source", "base_url")


class ConfigError(Exception):
    """A mistake in feeds.toml (or in finding it). `str(error)` is the whole message for the user."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line  # 1-based line of the mistake, when known

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Settings:
    """The `[settings]` table: defaults shared by every source."""

    interval: float = DEFAULT_INTERVAL  # seconds between polls of a source (per-source `interval` overrides)
    database: Database | None = None  # SQLite file or PostgreSQL URL; None -> `default_database_path()`
    timeout: float = DEFAULT_TIMEOUT  # seconds: total deadline of one HTTP request
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY  # requests in flight at once, all sources together
    keywords: tuple[str, ...] = ()  # tracked terms, for share of voice
    max_items: int = DEFAULT_MAX_ITEMS  # how many mentions a source's first poll reads at most
    refresh_for: float = DEFAULT_REFRESH_FOR  # seconds a mention's engagement keeps being re-read
    # ISO 639-1 codes of the languages scored for sentiment; mentions in others get none (issue 13).
    languages: tuple[str, ...] = DEFAULT_LANGUAGES

    @property
    def database_path(self) -> Database:
        """The database to open: the configured one, else the per-user default (a SQLite file)."""
        return self.database if self.database is not None else default_database_path()


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """The `[export]` table: where snapshots go and whether they are taken on a schedule."""

    dir: Path | None = None  # folder of exported snapshots; None -> `default_export_dir()`
    every: float | None = None  # seconds between scheduled snapshots; None -> only on demand
    keep: int = DEFAULT_EXPORT_KEEP  # scheduled snapshots kept; older ones are deleted

    @property
    def directory(self) -> Path:
        """The folder to export into: the configured one, else the per-user default."""
        return self.dir if self.dir is not None else default_export_dir()


@dataclass(frozen=True, slots=True)
class Config:
    """A validated feeds.toml."""

    path: Path  # the file it came from (relative paths in it were resolved against its folder)
    settings: Settings = field(default_factory=Settings)
    export: ExportSettings = field(default_factory=ExportSettings)
    sources: tuple[SourceConfig, ...] = ()  # the [[feeds]] entries, in file order
    alerts: AlertConfig = field(default_factory=AlertConfig)  # [[alerts]] rules, [notify] channels
    digest: str = ""  # sha256 hex of the file's bytes: tells a reload whether anything changed
    # Things that work but should be changed (a password in a URL): said once at load, never fatal.
    warnings: tuple[str, ...] = ()

    def source_named(self, name: str) -> SourceConfig | None:
        return next((source for source in self.sources if source.name == name), None)


@dataclass(frozen=True, slots=True, repr=False)
class EnvURLSourceConfig(SourceConfig):
    """A feed whose URL is read from an environment variable (`url_env = "NAME"`).

    The URL is there to fetch, but it usually carries a password or a token, so every listing
    (`check`, the store's `target`, hence the sources panel and sources.csv) shows the variable's
    name instead, and so does repr (logs)."""

    url_env: str = ""

    @property
    def target(self) -> str:
        return f"${self.url_env} (url from the environment)"

    def __repr__(self) -> str:
        return f"EnvURLSourceConfig(name={self.name!r}, type={self.type!r}, url_env={self.url_env!r})"


def default_database_path() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "mentions.db"


def default_export_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "exports"


def user_config_file() -> Path:
    """The last place `find_config_path` looks: the per-user config folder."""
    return platformdirs.user_config_path(APP_NAME) / CONFIG_FILE_NAME


# --------------------------------------------------------------------------------------------------
# Finding and reading the file


def load_chosen_config(explicit: Path | None, *, registry: Mapping[str, type[Source]]) -> Config:
    """The config a command runs with: `--config`, else the usual lookup (see `find_config_path`).

    Its warnings go to stderr (and the log) here, once per process whatever reloads follow."""
    config = load_config(find_config_path(explicit, os.environ, Path.cwd()), registry=registry)
    for warning in config.warnings:
        if warning not in _WARNED:
            _WARNED.add(warning)
            _log.warning("%s", warning)
            print(f"{APP_NAME}: warning: {warning}", file=sys.stderr, flush=True)
    return config


_WARNED: set[str] = set()


def find_config_path(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path:
    """The feeds.toml to use: `--config`, then $COMMUNITY_DASHBOARD_CONFIG, then ./feeds.toml, then
    the user config folder. An explicit choice that does not exist is an error (never a silent
    fallback); finding nothing is an error that lists every place looked at."""
    if explicit is not None:
        return _existing_choice(_absolute(explicit, cwd), "--config")
    chosen = env.get(CONFIG_ENV, "").strip()
    if chosen:
        return _existing_choice(_absolute(Path(chosen), cwd), f"${CONFIG_ENV}")
    candidates = (cwd / CONFIG_FILE_NAME, user_config_file())
    for candidate in candidates:
        if _is_file(candidate):
            return candidate
    looked = "\n".join(
        [
            "  - --config PATH: not given",
            f"  - ${CONFIG_ENV}: not set",
            *(f"  - {candidate}: not found" for candidate in candidates),
        ]
    )
    raise ConfigError(
        f"no {CONFIG_FILE_NAME} found. Looked at:\n{looked}\n"
        f"Create {candidates[-1]} (start from the example feeds.toml of the project), "
        f"or pass --config PATH."
    )


def load_config(
    path: Path, *, registry: Mapping[str, type[Source]], env: Mapping[str, str] | None = None
) -> Config:
    """Read and validate one feeds.toml against `registry`, the source types by name (the caller's choice:
    config sits below the sources, so it cannot import them itself). `env` (default: os.environ)
    holds the variables that `url_env` names."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a {CONFIG_FILE_NAME} file", path=path) from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", path=path) from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied, cannot read it", path=path) from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: cannot read it: {reason}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[error.start]:02x}); save the file as UTF-8",
            path=path,
            line=line,
        ) from None
    reader = _ConfigReader(text.removeprefix("\ufeff"), path, registry, env)
    return reader.read(hashlib.sha256(raw).hexdigest())


def parse_config(
    text: str, path: Path, *, registry: Mapping[str, type[Source]], env: Mapping[str, str] | None = None
) -> Config:
    """Validate feeds.toml text; `path` names it in messages and anchors relative paths."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _ConfigReader(text.removeprefix("\ufeff"), path, registry, env).read(digest)


def name_key(name: str) -> str:
    """What two source names are compared by: "Café" typed as one code point or as e + accent,
    and "café" or "CAFÉ", are one source to a reader, so they must not be two in the store."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def source_config_hash(source: SourceConfig) -> str:
    """A stable hash of what a source fetches (type, url, base_url, options), as sha256 hex.

    The store compares it with the saved one to resume polling a source marked "gone" (or to drop
    its cursor) once the user has changed what it points at. Name, line, tags, interval, max_items
    and refresh_for are left out: renaming, moving or re-timing an entry does not make it a new source.
    """
    payload = {
        "type": source.type,
        "url": source.url,
        "base_url": source.base_url,
        "options": dict(source.options),
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def _absolute(path: Path, cwd: Path) -> Path:
    return cwd / path.expanduser()


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _existing_choice(path: Path, chosen_by: str) -> Path:
    if _is_file(path):
        return path
    try:
        problem = "is a folder, expected a file" if path.is_dir() else "no such file"
    except (OSError, ValueError):
        problem = "cannot be read"
    raise ConfigError(f"{path}: {problem} (chosen by {chosen_by})", path=path)


# --------------------------------------------------------------------------------------------------
# Where things are in the text: tomllib gives no positions for values, so find them by scanning.

_SEGMENT = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED = rf"{_SEGMENT}(?:\s*\.\s*{_SEGMENT})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"\s*({_DOTTED})\s*=")
_SEGMENTS = re.compile(_SEGMENT)


@dataclass(slots=True)
class _Block:
    """The lines of one table of the file: its header and the first line of each key in it."""

    path: tuple[str, ...]
    line: int  # header line; 0 for the top level
    keys: dict[str, int] = field(default_factory=dict)


class _Locator:
    """Line numbers of tables, array-of-tables entries and keys, found by a light scan of the text."""

    def __init__(self, text: str) -> None:
        root = _Block((), 0)
        self.blocks: list[_Block] = [root]
        # The blocks of each table path in file order, so every look-up is a dict access: with one
        # list scan per entry, validating 10,000 [[feeds]] took 52 s (quadratic).
        self.by_path: dict[tuple[str, ...], list[_Block]] = {(): [root]}
        self.duplicate_key_line: int | None = None
        self._scan(text.splitlines())

    def _scan(self, lines: list[str]) -> None:
        in_string: str | None = None  # the delimiter of a multi-line string being skipped
        for number, line in enumerate(lines, start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            self._scan_line(number, line)
            for delimiter in ('"""', "'''"):
                if line.count(delimiter) % 2 == 1:
                    in_string = delimiter
                    break

    def _scan_line(self, number: int, line: str) -> None:
        header = _ARRAY_HEADER.match(line) or _TABLE_HEADER.match(line)
        if header is not None:
            path = _split_dotted(header.group(1))
            self._register_header(path, number)
            block = _Block(path, number)
            self.blocks.append(block)
            self.by_path.setdefault(path, []).append(block)
            return
        key = _KEY_LINE.match(line)
        if key is not None:
            dotted = _split_dotted(key.group(1))
            block = self.blocks[-1]
            if ".".join(dotted) in block.keys and self.duplicate_key_line is None:
                self.duplicate_key_line = number
            block.keys.setdefault(".".join(dotted), number)
            block.keys.setdefault(dotted[0], number)

    def _register_header(self, path: tuple[str, ...], number: int) -> None:
        """Note a header's line in the nearest table above it that has a header of its own.

        `[a.b.c]` with no `[a]` or `[a.b]` creates those tables implicitly; the line that did so
        must still be found when `a` (or `b`) turns out to be wrong, so it is recorded as the key
        `a` (and `a.b`, `a.b.c`) of the top level, or `b` of `[a]`, whichever exists."""
        # Look-ups go at most two levels deep (`feeds` / `settings.interval`), so a header of
        # thousands of parts costs no more than a short one.
        for depth in range(min(len(path) - 1, 2), -1, -1):
            ancestor = self._last_block(path[:depth])
            if ancestor is not None:
                rest = path[depth : depth + 2]
                for end in range(1, len(rest) + 1):
                    ancestor.keys.setdefault(".".join(rest[:end]), number)
                return

    def _last_block(self, path: tuple[str, ...]) -> _Block | None:
        blocks = self.by_path.get(path)
        return blocks[-1] if blocks else None

    def table(self, name: str) -> int | None:
        """The `[name]` header, else the top-level `name = ...` / `name.x = ...` line."""
        block = self._last_block((name,))
        if block is not None:
            return block.line
        return self.blocks[0].keys.get(name)

    def key(self, table: str, key: str) -> int | None:
        for block in self.by_path.get((table,), ()):
            if key in block.keys:
                return block.keys[key]
        return self.blocks[0].keys.get(f"{table}.{key}") or self.table(table)

    def entry(self, index: int, array: str = "feeds") -> int | None:
        """The header of the index-th `[[feeds]]` (or `[[array]]`) entry (0-based)."""
        entries = self.by_path.get((array,), [])
        if index < len(entries):
            return entries[index].line
        return self.blocks[0].keys.get(array)

    def entry_key(self, index: int, key: str, array: str = "feeds") -> int | None:
        entries = self.by_path.get((array,), [])
        if index < len(entries) and key in entries[index].keys:
            return entries[index].keys[key]
        return self.entry(index, array)

    def subtable_key(self, path: tuple[str, ...], key: str) -> int | None:
        """`key` in the `[a.b]` table (`path` ("a", "b")), else that table's header."""
        blocks = self.by_path.get(path, [])
        for block in blocks:
            if key in block.keys:
                return block.keys[key]
        return blocks[-1].line if blocks else self.table(path[0])

    def root_key(self, key: str) -> int | None:
        return self.table(key)


_HUGE_NUMBER = re.compile(r"[0-9][0-9_]{4000,}")


def _deepest_value(text: str) -> tuple[int, str, int]:
    """(line, key, depth) of the value whose `[`/`{` go deepest, skipping strings and comments.

    The line is where that value's key is, the one a user would look at; the key is "" when the
    line has no `key =` (a stray run of brackets)."""
    depth = deepest = 0
    start_line = best_line = 1
    line = 1
    i, length = 0, len(text)
    at_line_start = True
    while i < length:
        char = text[i]
        if char == "\n":
            line += 1
            at_line_start = True
            i += 1
            continue
        if char in "\"'":
            triple = text.startswith(char * 3, i)
            delimiter = char * 3 if triple else char
            end = _string_end(text, i + len(delimiter), delimiter)
            line += text.count("\n", i, end)
            i = end
            at_line_start = False
            continue
        if char == "#":
            end = text.find("\n", i)
            i = length if end < 0 else end
            continue
        if char in "[{" and not (at_line_start and depth == 0 and char == "["):
            if depth == 0:
                start_line = line
            depth += 1
            if depth > deepest:
                deepest, best_line = depth, start_line
        elif char in "]}" and depth > 0:
            depth -= 1
        elif not char.isspace():
            at_line_start = False
        if char in "[{]}":
            at_line_start = False
        i += 1
    key = _KEY_LINE.match(_line_of(text, best_line))
    return best_line, ".".join(_split_dotted(key.group(1))) if key else "", deepest


def _string_end(text: str, start: int, delimiter: str) -> int:
    """The index just past the string that opened before `start` (the end of text if unclosed)."""
    i = start
    while True:
        end = text.find(delimiter, i)
        if end < 0:
            return len(text)
        if delimiter.startswith('"'):
            backslashes = len(text[i:end]) - len(text[i:end].rstrip("\\"))
            if backslashes % 2 == 1:
                i = end + 1
                continue
        if len(delimiter) == 1 and "\n" in text[start:end]:
            return text.index("\n", start)
        return end + len(delimiter)


def _split_dotted(dotted: str) -> tuple[str, ...]:
    return tuple(_unquote(segment) for segment in _SEGMENTS.findall(dotted))


def _unquote(segment: str) -> str:
    if segment.startswith('"'):
        try:
            value = json.loads(segment)
        except ValueError:
            return segment[1:-1]
        return value if isinstance(value, str) else segment[1:-1]
    if segment.startswith("'"):
        return segment[1:-1]
    return segment


# --------------------------------------------------------------------------------------------------
# Validation


class _ConfigReader:
    """Turns the text of one feeds.toml into a Config, or raises the first mistake as a ConfigError."""

    def __init__(
        self, text: str, path: Path, registry: Mapping[str, type[Source]], env: Mapping[str, str] | None
    ) -> None:
        self.text = text
        self.path = path
        self.folder = path.absolute().parent
        self.registry = dict(registry)
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.locate = _Locator(text)
        self.warnings: list[str] = []

    # -- errors ------------------------------------------------------------------------------------

    def fail(self, line: int | None, where: str, problem: str) -> NoReturn:
        place = f"{self.path}:{line}" if line else f"{self.path}"
        raise ConfigError(f"{place}: {where}: {problem}", path=self.path, line=line or None)

    # -- the whole file ----------------------------------------------------------------------------

    def read(self, digest: str) -> Config:
        self._require_encodable()
        data = self._toml()
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.fail(
                    self.locate.root_key(key), f"[{_safe(key)}]", _unknown("table", key, TOP_LEVEL_KEYS)
                )
        settings = self._settings(self._table(data, "settings"))
        export = self._export(self._table(data, "export"))
        sources = self._sources(data.get("feeds", []), settings)
        alerts = self._alerts(data, sources)
        return Config(
            path=self.path,
            settings=settings,
            export=export,
            sources=sources,
            alerts=alerts,
            digest=digest,
            warnings=tuple(self.warnings),
        )

    def _alerts(self, data: Mapping[str, Any], sources: Sequence[SourceConfig]) -> AlertConfig:
        """`[[alerts]]` rules and `[notify.NAME]` channels (dashboard.contracts.alerts checks them)."""
        try:
            return read_alerts(data.get("alerts"), data.get("notify"), [source.name for source in sources])
        except AlertProblem as problem:
            if problem.index is not None:
                line = self.locate.entry_key(problem.index, problem.key, "alerts")
                where = f"[[alerts]] entry {problem.index + 1}"
            else:
                path = tuple(problem.table.split(".", 1))
                line = self.locate.subtable_key(path, problem.key)
                where = f"[{problem.table}]"
            self.fail(line, f"{where}: {problem.key}" if problem.key else where, problem.message)

    def _require_encodable(self) -> None:
        """Text handed in as `str` may hold lone surrogates that no file (and no database) can store."""
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError as error:
            line = self.text.count("\n", 0, error.start) + 1
            raise ConfigError(
                f"{self.path}:{line}: not UTF-8 text; save the file as UTF-8", path=self.path, line=line
            ) from None

    def _toml(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as error:
            raise self._syntax_error(str(error)) from None
        except RecursionError:
            raise self._too_deep() from None
        except (ValueError, OverflowError) as error:  # e.g. an integer too long for Python to convert
            raise self._bad_number(error) from None

    def _too_deep(self) -> ConfigError:
        """tomllib gives up on deep nesting without a position: find the value that goes deepest."""
        line, key, depth = _deepest_value(self.text)
        named = f"{_safe(key)}: " if key else ""
        return ConfigError(
            f"{self.path}:{line}: not valid TOML: {named}lists or inline tables nested {depth} deep;"
            f" expected a plain value or a list of strings (feeds.toml never needs more than 2 levels)",
            path=self.path,
            line=line,
        )

    def _bad_number(self, error: Exception) -> ConfigError:
        """An integer Python refuses to convert (over 4,300 digits): name its line and key."""
        match = _HUGE_NUMBER.search(self.text)
        line = self.text.count("\n", 0, match.start()) + 1 if match else 1
        key = _KEY_LINE.match(_line_of(self.text, line))
        named = f"{_safe('.'.join(_split_dotted(key.group(1))))}: " if key else ""
        digits = f"a number of {len(match.group())} digits" if match else f"a number ({_safe(str(error))})"
        return ConfigError(
            f"{self.path}:{line}: not valid TOML: {named}{digits} is too long to read;"
            f" expected a number of a few digits",
            path=self.path,
            line=line,
        )

    def _syntax_error(self, message: str) -> ConfigError:
        position = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        column: int | None = None
        if position is not None:
            line, column = int(position.group(1)), int(position.group(2))
            reason = message[: position.start()]
        else:
            lines = self.text.splitlines()
            line = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
            reason = re.sub(r"\s*\(at end of document\)$", "", message) + " at the end of the file"
        if reason.startswith("Cannot overwrite a value") and self.locate.duplicate_key_line:
            line, column = self.locate.duplicate_key_line, None
        source_line = _line_of(self.text, line)
        explained = _explain_syntax(reason, source_line, column)
        shown = display_safe(source_line, one_line=True)[:100]
        pointer = f"\n    {' ' * (column - 1)}^" if column and column - 1 <= len(shown) else ""
        listing = f"\n    {shown}{pointer}" if shown.strip() else ""
        return ConfigError(
            f"{self.path}:{line}: not valid TOML: {explained}{listing}", path=self.path, line=line
        )

    def _table(self, data: Mapping[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.fail(self.locate.table(name), name, f"expected a [{name}] table, got {_describe(value)}")
        return value

    # -- [settings] and [export] -------------------------------------------------------------------

    def _settings(self, table: Mapping[str, Any]) -> Settings:
        self._no_unknown_keys(table, SETTINGS_KEYS, "settings", "[settings]")
        check = _TableChecker(self, "settings")
        return Settings(
            interval=check.duration(table, "interval", DEFAULT_INTERVAL),
            database=check.database(table, "database"),
            timeout=check.duration(table, "timeout", DEFAULT_TIMEOUT),
            max_concurrency=check.count(table, "max_concurrency", DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY),
            keywords=check.keywords(table, "keywords"),
            max_items=check.count(table, "max_items", DEFAULT_MAX_ITEMS, MAX_ITEMS),
            refresh_for=check.duration(table, "refresh_for", DEFAULT_REFRESH_FOR),
            languages=check.languages(table, "languages"),
        )

    def _export(self, table: Mapping[str, Any]) -> ExportSettings:
        self._no_unknown_keys(table, EXPORT_KEYS, "export", "[export]")
        check = _TableChecker(self, "export")
        every = check.duration(table, "every", None) if "every" in table else None
        return ExportSettings(
            dir=check.path(table, "dir"),
            every=every,
            keep=check.count(table, "keep", DEFAULT_EXPORT_KEEP, MAX_KEEP),
        )

    def _no_unknown_keys(
        self, table: Mapping[str, Any], allowed: Iterable[str], name: str, where: str
    ) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                self.fail(self.locate.key(name, key), where, _unknown("key", key, allowed))

    # -- [[feeds]] ---------------------------------------------------------------------------------

    def _sources(self, entries: Any, settings: Settings) -> tuple[SourceConfig, ...]:
        if not isinstance(entries, list):
            self.fail(
                self.locate.table("feeds"),
                "feeds",
                f"expected [[feeds]] entries (two brackets, one per feed), got {_describe(entries)}",
            )
        seen: dict[str, tuple[str, str]] = {}  # name_key -> (the name as written, where)
        sources: list[SourceConfig] = []
        for index, entry in enumerate(entries):
            reader = _EntryReader(self, index, entry, settings)
            source = reader.read()
            key = name_key(source.name)
            if key in seen:
                first, where = seen[key]
                same = (
                    ""
                    if first == source.name
                    else f" ({_quote(first)}: names differ only by case or accents)"
                )
                reader.fail_key("name", f"duplicate name; {where} already uses it{same}")
            where = f"the entry at line {source.line}" if source.line else f"entry #{index + 1}"
            seen[key] = (source.name, where)
            sources.append(source)
        return tuple(sources)

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(sorted(name for name in self.registry if name != FEED_TYPE))


class _TableChecker:
    """Typed reads of the keys of [settings] / [export], with messages naming `table.key`."""

    def __init__(self, reader: _ConfigReader, table: str) -> None:
        self.reader = reader
        self.table = table

    def fail(self, key: str, problem: str) -> NoReturn:
        self.reader.fail(self.reader.locate.key(self.table, key), f"{self.table}.{key}", problem)

    def duration(self, table: Mapping[str, Any], key: str, default: float | None) -> float:
        value = table.get(key)
        if value is None and default is not None:
            return default
        seconds = _duration_or_problem(value)
        if isinstance(seconds, str):
            self.fail(key, seconds)
        return seconds

    def count(self, table: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
        if key not in table:
            return default
        number = _count_or_problem(table[key], maximum)
        if isinstance(number, str):
            self.fail(key, number)
        return number

    def path(self, table: Mapping[str, Any], key: str) -> Path | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a path (a non-empty string), got {_describe(value)}")
        if "\x00" in value:
            self.fail(key, "a path cannot contain a NUL character")
        return self.reader.folder / Path(value).expanduser()

    def database(self, table: Mapping[str, Any], key: str) -> Database | None:
        """A SQLite path (relative to feeds.toml's folder) or a PostgreSQL URL without its password."""
        if key in table and isinstance(table[key], str) and is_postgres(table[key]):
            problem = url_problem(table[key])
            if problem is not None:
                self.fail(key, problem)
            return str(table[key])
        return self.path(table, key)

    def keywords(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        if key not in table:
            return ()
        words = _strings_or_problem(table[key])
        if isinstance(words, str):
            self.fail(key, words)
        seen: set[str] = set()
        for word in words:
            if word.casefold() in seen:
                self.fail(key, f"{_quote(word)} is listed twice")
            seen.add(word.casefold())
        return words

    def languages(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        """ISO 639-1 codes, lower-case, each once; a code we have no sentiment lexicon for is kept
        (its mentions get no sentiment, as the setting says) and said once as a warning."""
        if key not in table:
            return DEFAULT_LANGUAGES
        example = 'expected a list of ISO 639-1 language codes like ["en", "fr"]'
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, f"{example}, got {_describe(value)}")
        if not value:
            self.fail(key, f"{example}, got an empty list (leave the key out for the default en, fr)")
        seen: list[str] = []
        for code in value:
            problem = _language_problem(code)
            if problem:
                self.fail(key, f"{example}; {problem}")
            if code in seen:
                self.fail(key, f"{_quote(code)} is listed twice")
            seen.append(code)
        unscored = [code for code in seen if code not in SCORED_LANGUAGES]
        if unscored:
            line = self.reader.locate.key(self.table, key)
            place = f"{self.reader.path}:{line}" if line else f"{self.reader.path}"
            scored = ", ".join(sorted(SCORED_LANGUAGES))
            self.reader.warnings.append(
                f"{place}: {self.table}.{key}: no sentiment lexicon for {', '.join(unscored)} (only"
                f" {scored} are scored): those mentions get a language and no sentiment"
            )
        return tuple(seen)


class _EntryReader:
    """Validates one [[feeds]] entry into a SourceConfig."""

    def __init__(self, reader: _ConfigReader, index: int, entry: Any, settings: Settings) -> None:
        self.reader = reader
        self.index = index
        self.entry = entry
        self.settings = settings
        name = entry.get("name") if isinstance(entry, dict) else None
        self.label = (
            f"[[feeds]] {_quote(name)}"
            if isinstance(name, str) and name.strip()
            else f"[[feeds]] #{index + 1}"
        )

    def fail(self, problem: str) -> NoReturn:
        self.reader.fail(self.reader.locate.entry(self.index), self.label, problem)

    def fail_key(self, key: str, problem: str) -> NoReturn:
        self.reader.fail(self.reader.locate.entry_key(self.index, key), f"{self.label}: {key}", problem)

    def read(self) -> SourceConfig:
        if not isinstance(self.entry, dict):
            self.fail(f"expected a table of keys, got {_describe(self.entry)}")
        entry: dict[str, Any] = self.entry
        if "url" in entry and "source" in entry:
            self.fail_key(
                "source",
                "an entry has either url (an RSS/Atom/RDF feed) or source (a social-mention search), not both",
            )
        source_class = self._source_class(entry)
        type_name: str = entry.get("source", FEED_TYPE)
        specific = dict(source_class.keys) if source_class is not None else {}
        allowed = (*COMMON_FEED_KEYS, *(SOURCE_FEED_KEYS if "source" in entry else URL_FEED_KEYS), *specific)
        for key in entry:
            if key == "base_url" and "source" not in entry:
                self.fail_key(key, "only source entries have a base_url; a feed's url is its whole address")
            if key == DOMAIN_KEY and key not in allowed:
                self.fail_key(key, self._no_domain_search(type_name))
            if key not in allowed:
                self.reader.fail(
                    self.reader.locate.entry_key(self.index, key),
                    self.label,
                    _unknown("key", key, allowed, owner=type_name),
                )
        name = self._name(entry)
        if "url" in entry and "url_env" in entry:
            self.fail_key(
                "url_env", "an entry has either url or url_env (a variable holding the url), not both"
            )
        url_env = self._url_env(entry)
        url = self._url_from_env(url_env) if url_env else self._url(entry, "url")
        if "source" not in entry and url is None:
            sources = ", ".join(self.reader.source_names) or "none registered"
            self.fail(
                f"missing url (an RSS/Atom/RDF feed, or url_env naming the variable that holds it)"
                f" or source (a social-mention search, one of: {sources})"
            )
        base_url = self._url(entry, "base_url")
        if (
            source_class is not None
            and "source" in entry
            and base_url is None
            and not source_class.default_base_url
        ):
            self.fail(
                f'missing base_url ({type_name} has no default address; give the server, e.g. base_url = "https://...")'
            )
        options = self._options(entry, type_name, specific)
        if source_class is not None:
            self._require_any(entry, type_name, getattr(source_class, "required_any", ()))
        kind = partial(EnvURLSourceConfig, url_env=url_env) if url_env else SourceConfig
        return kind(
            name=name,
            type=type_name,
            interval=self._duration(entry, "interval", self.settings.interval),
            url=url,
            base_url=base_url,
            tags=self._tags(entry),
            max_items=self._count(entry, "max_items", self.settings.max_items, MAX_ITEMS),
            refresh_for=self._duration(entry, "refresh_for", self.settings.refresh_for),
            options=options,
            line=self.reader.locate.entry(self.index) or 0,
            own=self._bool(entry, "own"),
        )

    def _no_domain_search(self, type_name: str) -> str:
        """Why `domain` is refused here: this API has no search by link; the types that have one."""
        having = sorted(
            name for name, cls in self.reader.registry.items() if name != FEED_TYPE and DOMAIN_KEY in cls.keys
        )
        what = "an RSS/Atom feed (it has no search)" if type_name == FEED_TYPE else type_name
        others = f"sources with a domain search: {', '.join(having)}" if having else "no source has one"
        return f"`{DOMAIN_KEY}` is not supported by {what}; {others}"

    def _require_any(self, entry: Mapping[str, Any], type_name: str, keys: Sequence[str]) -> None:
        """A source that searches by words or by links (`required_any`: query, domain) needs one."""
        if keys and not any(isinstance(entry.get(key), str) and entry[key].strip() for key in keys):
            names = " or ".join(keys)
            self.fail(f"missing {names} ({type_name} needs at least one of them to search for)")

    def _bool(self, entry: Mapping[str, Any], key: str) -> bool:
        if key not in entry:
            return False
        value = entry[key]
        if not isinstance(value, bool):
            self.fail_key(key, f"expected true or false, got {_describe(value)}")
        return value

    def _source_class(self, entry: Mapping[str, Any]) -> type[Source] | None:
        if "source" not in entry:
            return self.reader.registry.get(FEED_TYPE)
        source = entry["source"]
        names = self.reader.source_names
        if not isinstance(source, str):
            self.fail_key(
                "source",
                f"expected the name of a source type (one of: {', '.join(names)}), got {_describe(source)}",
            )
        if source == FEED_TYPE:
            self.fail_key("source", 'for an RSS/Atom/RDF feed write url = "https://..." and no source')
        if source not in names:
            self.fail_key("source", _unknown("source type", source, names, quote='"'))
        return self.reader.registry[source]

    def _name(self, entry: Mapping[str, Any]) -> str:
        if "name" not in entry:
            self.fail('missing name (every entry needs a unique name = "...")')
        name = entry["name"]
        if not isinstance(name, str) or not name.strip():
            self.fail_key("name", f"expected a non-empty string, got {_describe(name)}")
        if display_safe(name, one_line=True) != name:
            self.fail_key("name", "a name cannot contain control characters or line breaks")
        return name

    def _url(self, entry: Mapping[str, Any], key: str) -> str | None:
        if key not in entry:
            return None
        value = entry[key]
        if not isinstance(value, str):
            self.fail_key(
                key, f'expected an http(s) URL like "https://example.org/feed.xml", got {_describe(value)}'
            )
        problem = _url_problem(value)
        if problem:
            self.fail_key(key, problem)
        if _has_credentials(value):
            self._warn_credentials(key)
        return value.strip()

    def _warn_credentials(self, key: str) -> None:
        """Say once that a password sits in feeds.toml, and how to move it out (never repeating it)."""
        line = self.reader.locate.entry_key(self.index, key)
        place = f"{self.reader.path}:{line}" if line else f"{self.reader.path}"
        if key == "url":
            variable = _suggested_env_name(str(self.entry.get("name", "")))
            advice = (
                f"put the whole URL in an environment variable and write url_env = {_quote(variable)}"
                f" instead of url (e.g. export {variable}='https://user:password@host/feed')"
            )
        else:
            advice = "give the source its credentials through its *_env key instead (see the README)"
        self.reader.warnings.append(
            f"{place}: {self.label}: {key} holds a user name or password, which anyone who can read"
            f" feeds.toml (or a copy of it) can read too; keep it out of the file: {advice}"
        )

    def _url_env(self, entry: Mapping[str, Any]) -> str | None:
        """The variable named by `url_env`, checked to be a name (a URL pasted there is refused
        without being repeated: it may hold a password)."""
        if "url_env" not in entry:
            return None
        name = entry["url_env"]
        example = 'expected the name of an environment variable like "BLOG_FEED_URL"'
        if isinstance(name, str) and "://" in name:
            self.fail_key("url_env", f"{example}, got a URL (set the variable to the URL, and name it here)")
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            self.fail_key("url_env", f"{example}, got {_describe(name)}")
        return name

    def _url_from_env(self, variable: str) -> str:
        value = self.reader.env.get(variable, "").strip()
        if not value:
            self.fail_key(
                "url_env",
                f"the environment variable {variable} is not set (or empty); expected it to hold this"
                f" feed's URL, e.g. export {variable}='https://user:password@example.org/feed.xml'",
            )
        if _url_problem(value):  # the value itself is never shown: it may hold a password
            self.fail_key(
                "url_env",
                f'{variable} does not hold an http(s) URL like "https://example.org/feed.xml"'
                " (its value is not shown, it may hold a password)",
            )
        return value

    def _duration(self, entry: Mapping[str, Any], key: str, default: float) -> float:
        if key not in entry:
            return default
        seconds = _duration_or_problem(entry[key])
        if isinstance(seconds, str):
            self.fail_key(key, seconds)
        return seconds

    def _count(self, entry: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
        if key not in entry:
            return default
        number = _count_or_problem(entry[key], maximum)
        if isinstance(number, str):
            self.fail_key(key, number)
        return number

    def _tags(self, entry: Mapping[str, Any]) -> tuple[str, ...]:
        if "tags" not in entry:
            return ()
        tags = _strings_or_problem(entry["tags"])
        if isinstance(tags, str):
            self.fail_key("tags", tags)
        return tuple(dict.fromkeys(tags))

    def _options(
        self, entry: Mapping[str, Any], type_name: str, specific: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The source-specific keys, checked against the class's KeySpecs, with defaults filled in."""
        options: dict[str, Any] = {}
        for key, spec in specific.items():
            if key not in entry:
                if spec.required:
                    needs = f": {spec.help}" if spec.help else ""
                    self.fail(f"missing key '{key}' ({type_name} needs it{needs})")
                if spec.default is not None:
                    options[key] = spec.default
                continue
            value = _coerced(entry[key], spec.type)
            if value is _WRONG_TYPE:
                self.fail_key(key, f"expected {_type_names(spec.type)}, got {_describe(entry[key])}")
            if spec.required and isinstance(value, str) and not value.strip():
                self.fail_key(key, "must not be empty")
            if key in HASHTAG_KEYS and isinstance(value, str) and value.lstrip().startswith("#"):
                self.fail_key(key, _hashtag_problem(key, value))
            for choice in _choice_values(value):
                if spec.choices and choice not in spec.choices:
                    self.fail_key(key, _not_a_choice(choice, spec.choices))
            options[key] = value
        return options


# --------------------------------------------------------------------------------------------------
# Value checks shared by tables and entries: each returns the value, or a sentence saying what is wrong.

_WRONG_TYPE: Any = object()

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    tuple: "a list",
    dict: "a table",
}


def _duration_or_problem(value: Any) -> float | str:
    if not isinstance(value, str):
        return f"expected a duration like {DURATION_EXAMPLES}, got {_describe(value)}"
    try:
        return parse_duration(value)
    except DurationError as error:
        return str(error)


def _count_or_problem(value: Any, maximum: int) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected a whole number like 8, got {_describe(value)}"
    if value <= 0:
        return f"expected a positive number, got {value}"
    if value > maximum:
        return f"expected at most {maximum}, got {value}"
    return value


def _strings_or_problem(value: Any) -> tuple[str, ...] | str:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f'expected a list of strings like ["textual", "rich"], got {_describe(value)}'
    if any(not item.strip() for item in value):
        return "a list entry is an empty string"
    return tuple(value)


def _language_problem(code: str) -> str | None:
    """What is wrong with one `languages` entry as an ISO 639-1 code, or None."""
    shown = _quote(code)
    base = re.split(r"[-_]", code.strip(), maxsplit=1)[0]
    if base != code and base.lower() in ISO_639_1:
        return f"{shown} is a locale; write the language alone: {_quote(base.lower())}"
    if code.lower() in ISO_639_1 and code != code.lower():
        return f"{shown} must be lower-case: {_quote(code.lower())}"
    if code not in ISO_639_1:
        return f"{shown} is not a two-letter ISO 639-1 code (e.g. en, fr, de, es)"
    return None


def _url_problem(value: str) -> str | None:
    example = 'expected an http(s) URL like "https://example.org/feed.xml"'
    stripped = value.strip()
    if not stripped or any(char.isspace() or not char.isprintable() for char in stripped):
        return f"{example}, got {_quote(value)}"
    try:
        parts = urlsplit(stripped)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return f"{example}, got {_quote(value)}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{example}, got {_quote(value)} (only http:// and https:// are fetched)"
    if not parts.hostname:
        return f"{example}, got {_quote(value)} (no host name)"
    return None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def _suggested_env_name(name: str) -> str:
    """BLOG_FEED_URL for "Blog": the variable a user could move a secret URL into."""
    stem = re.sub(r"[^A-Z0-9]+", "_", unicodedata.normalize("NFKD", name).upper()).strip("_")
    stem = stem.encode("ascii", "ignore").decode() or "MY"
    return f"{'_' if stem[0].isdigit() else ''}{stem}_FEED_URL"


def _hashtag_problem(key: str, value: str) -> str:
    bare = value.strip().lstrip("#").strip()
    if not bare:
        return f'expected a hashtag without "#" like {key} = "textual", got {_quote(value)}'
    return f"a hashtag is written without its #; did you mean {key} = {_quote(bare)}?"


def _coerced(value: Any, expected: type | tuple[type, ...]) -> Any:
    """`value` if it has the KeySpec type (a TOML integer passes as a float, an array as a tuple)."""
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return value if bool in types else _WRONG_TYPE
    if isinstance(value, int) and int not in types and float in types:
        return float(value)
    if isinstance(value, list) and list not in types and tuple in types:
        return tuple(value)
    try:
        return value if isinstance(value, types) else _WRONG_TYPE
    except TypeError:  # a KeySpec type isinstance cannot use; accept rather than crash
        return value


def _choice_values(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = dict.fromkeys(_TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind))) for kind in types)
    return " or ".join(names)


def _describe(value: Any) -> str:
    """How a TOML value reads back to the user: `"soon"`, `15 (a number)`, `a list`."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        shown = str(value) if len(str(value)) <= 30 else str(value)[:29] + "…"
        return f"{shown} (a number)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"{_safe(str(value))} (a date/time)"


def _quote(value: Any) -> str:
    text = str(value)
    shown = text if len(text) <= 60 else text[:59] + "…"
    return display_safe(json.dumps(shown, ensure_ascii=False), one_line=True)


def _safe(text: str) -> str:
    return display_safe(text, one_line=True)[:80]


def _unknown(what: str, key: str, allowed: Iterable[str], *, owner: str = "", quote: str = "'") -> str:
    allowed = tuple(allowed)
    shown = _safe(key)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} {quote}{shown}{quote}; did you mean {quote}{close[0]}{quote}?"
    of = f" for {owner}" if owner else ""
    expected = f"expected one of: {', '.join(allowed)}" if allowed else "none are allowed"
    return f"unknown {what} {quote}{shown}{quote}{of}; {expected}"


def _not_a_choice(value: Any, choices: tuple[str, ...]) -> str:
    listed = ", ".join(f'"{choice}"' for choice in choices)
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f"expected one of {listed}, got {_describe(value)}{hint}"


def _line_of(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _explain_syntax(reason: str, source_line: str, column: int | None) -> str:
    """tomllib's reason, lower-cased, with a hint for the mistakes people actually make."""
    explained = reason[:1].lower() + reason[1:] if reason else "syntax error"
    at = source_line[column - 1 :] if column and column <= len(source_line) else ""
    if reason.startswith("Invalid value") and at[:1].isalpha() and not at.startswith(("true", "false")):
        return f'{explained}: text needs quotes, e.g. interval = "15m"'
    if reason.startswith("Cannot overwrite a value"):
        return f"{explained}: this key is set twice"
    if reason.startswith("Cannot declare"):
        return f"{explained}: this table appears twice; each feed is its own [[feeds]] (two brackets)"
    unterminated = (
        reason.startswith("Illegal character '\\n'") and column is not None and column > len(source_line)
    )
    if reason.startswith("Unterminated string") or unterminated:
        return f"{explained}: a string is missing its closing quote"
    return display_safe(explained, one_line=True)
