"""A PostgreSQL connection that speaks the store's SQL: one set of queries, two backends.

The store's modules (writer, reader, alert log, background passes) are written once, in the SQL that
SQLite and PostgreSQL share, against the few methods of `dashboard.store.db.Connection`. This class
gives a psycopg 3 connection those methods, and `translate` bridges what cannot be written once:

- placeholders: SQLite's `?` and `?NNN` (numbered, reusable) -> psycopg's `%s`, the parameters
  re-ordered to match; a literal `%` -> `%%`;
- `IFNULL(` -> `COALESCE(`, `group_concat(` -> `string_agg(`, `LIKE` -> `ILIKE` (SQLite's LIKE is
  case-insensitive for ASCII, PostgreSQL's is not), `json_each(?)` -> `json_array_elements_text`;
  SQLite's planner hints dropped (`INDEXED BY <index>`, a unary `+` before a column);
  `IN ()` -> `IN (NULL)` (an empty list: SQLite accepts it, PostgreSQL needs a value that matches nothing);
- `BEGIN IMMEDIATE` (SQLite's "take the write lock now") -> `BEGIN` and a transaction-scoped advisory
  lock, so writers queue one behind the other exactly as on SQLite: two pollers never interleave a
  poll's save, and the unique (source, key) index never sees two inserts of one mention race.

Everything else (upserts with `excluded`, RETURNING, window-less aggregates, row values) is SQL both
speak; tests/test_store_backends.py runs the store's suite against both.

A lost connection (the server restarted, a network blip) is reopened, for up to `RECONNECT_FOR`
seconds: a statement outside a transaction is then run again; a transaction cut off is not (its
writer starts it over, see writer.Store.save_poll), since the server rolled it back.

Text holding NUL cannot be stored in PostgreSQL (SQLite can): NUL becomes U+FFFD in the parameters,
so a feed with a stray NUL loses one character rather than the mention.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

# The advisory lock every writer takes with its transaction ("CDsh" like SQLite's application id, "wrt").
WRITE_LOCK: Final = 0x43447368_00777274
# How long a lost connection is retried before the store is said to have failed.
RECONNECT_FOR: Final = 60.0
# Where the poller tells the dashboards that something was stored (LISTEN/NOTIFY).
CHANGES_CHANNEL: Final = "community_dashboard_changes"

log = logging.getLogger(__name__)

_TOKENS = re.compile(
    r"""'(?:[^']|'')*'        # a string literal: copied as is
      | "(?:[^"]|"")*"        # a quoted identifier
      | \?(\d*)               # a placeholder, maybe numbered
      | %                     # psycopg's own escape character
      | \bIFNULL\s*\(
      | \bgroup_concat\s*\(
      | \bLIKE\b
      | \bINDEXED\s+BY\s+\w+
      | \bIN\s*\(\s*\)
      | (?<=[\s(])\+(?=\w+\.\w)     # SQLite's "no index for this column" hint: +m.kind
      | \bjson_each\(\?\)            # the elements of a JSON array given as one parameter
    """,
    re.IGNORECASE | re.VERBOSE,
)
_WORDS = {"ifnull": "COALESCE(", "group_concat": "string_agg(", "like": "ILIKE"}


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[int, ...]]:
    """SQLite-flavoured `sql` -> (PostgreSQL SQL, the index in the caller's parameters of each `%s`)."""
    order: list[int] = []
    highest = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal highest
        text = match.group(0)
        first = text[0]
        if first in "'\"":
            return text
        if first == "?":
            number = int(match.group(1)) if match.group(1) else highest + 1
            highest = max(highest, number)
            order.append(number - 1)
            return "%s"
        if first == "%":
            return "%%"
        if first == "+":
            return ""
        if text.startswith("json_each"):
            order.append(highest)
            highest += 1
            return "json_array_elements_text(CAST(%s AS json)) AS json_each(value)"
        word = re.match(r"\w+", text)
        name = word.group(0).lower() if word else ""
        if name == "indexed":
            return ""
        if name == "in":
            return "IN (NULL)"
        return _WORDS[name]

    return _TOKENS.sub(replace, sql), tuple(order)


def _arrange(order: tuple[int, ...], params: Sequence[Any] | None) -> tuple[Any, ...]:
    """The parameters in the order of the translated placeholders, NUL made U+FFFD in text."""
    values = () if params is None else tuple(params)
    if len(order) != len(values) or any(index != position for position, index in enumerate(order)):
        values = tuple(values[index] for index in order)
    if any(type(value) is str and "\x00" in value for value in values):
        values = tuple(value.replace("\x00", "\ufffd") if type(value) is str else value for value in values)
    return values


# Rows per statement when an executemany of `INSERT ... VALUES (...)` becomes multi-row INSERTs.
MULTI_ROW: Final = 500
_INSERT_VALUES = re.compile(
    r"^(\s*INSERT\s+INTO\s+\w+\s*\([^)]*\)\s*VALUES)\s*(\((?:\s*%s\s*,)*\s*%s\s*\))(\s*ON\s+CONFLICT\s+DO\s+NOTHING)?\s*$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=256)
def _multi_row(sql: str) -> tuple[str, str, str] | None:
    """(head, one row's placeholders, tail) of a plain `INSERT ... VALUES (%s, ...)` [ON CONFLICT DO
    NOTHING], which may take many rows at once; None for any other statement (an upsert that updates
    could meet one key twice in a statement, which PostgreSQL refuses)."""
    match = _INSERT_VALUES.match(sql)
    return None if match is None else (match.group(1), match.group(2), match.group(3) or "")


class _NumberLoader(Loader):
    """numeric -> int when whole, else float: PostgreSQL's SUM over bigint is numeric, SQLite's an
    integer, and the store's callers (and pandas) expect the same Python types from both."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode("ascii")
        try:
            return int(text)
        except ValueError:
            return float(text)


@dataclass(frozen=True, slots=True)
class Changed:
    """What an executemany answers (the rows all its statements changed)."""

    rowcount: int


class PgConnection:
    """A psycopg connection in autocommit mode with the methods `dashboard.store.db.Connection` names.

    Like the SQLite connections of the store, it is in autocommit mode: a statement outside
    `BEGIN ... COMMIT` commits at once (a reader's every query sees the latest commit).
    """

    backend = "postgresql"

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self._url = url
        self._readonly = readonly
        self.raw = self._connect()

    @classmethod
    def open(cls, url: str, *, readonly: bool = False) -> PgConnection:
        return cls(url, readonly=readonly)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        raw = psycopg.connect(self._url, autocommit=True, application_name="community-dashboard")
        raw.adapters.register_loader("numeric", _NumberLoader)
        if self._readonly:
            raw.execute("SET default_transaction_read_only = on")
            # The panels' queries are short: JIT compiling them cost 0.2-1.1 s each, and their sorts
            # spilled to disk at the default 4 MB (bench_pg_panels over 10M mentions).
            raw.execute("SET jit = off")
            raw.execute("SET work_mem = '64MB'")
        return raw

    def recover(self, wait: float = RECONNECT_FOR) -> bool:
        """If the connection was lost, reopen it (retrying for up to `wait` seconds); True when it
        was reopened. Session state (advisory locks, LISTEN) is gone with the old one."""
        if not (self.raw.broken or self.raw.closed):
            return False
        deadline = time.monotonic() + wait
        while True:
            try:
                self.raw = self._connect()
            except psycopg.OperationalError as error:
                if time.monotonic() >= deadline:
                    raise
                log.warning("PostgreSQL is unreachable (%s); trying again", str(error).strip())
                time.sleep(1.0)
                continue
            log.warning("reconnected to PostgreSQL")
            return True

    # ---- what sqlite3.Connection offers and the store uses --------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        if self.in_transaction:
            return self._execute(sql, params)
        try:
            return self._execute(sql, params)
        except psycopg.OperationalError:
            if not self.recover():
                raise
            return self._execute(sql, params)  # outside a transaction: safe to run again

    def _execute(self, sql: str, params: Sequence[Any] | None) -> psycopg.Cursor[tuple[Any, ...]]:
        if sql.strip().upper() == "BEGIN IMMEDIATE":
            self.raw.execute("BEGIN")
            return self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        text, order = translate(sql)
        # Always a sequence (maybe empty): with None, psycopg would leave the `%%` escapes as they are.
        return self.raw.execute(text, _arrange(order, params))

    def executemany(
        self, sql: str, rows: Iterable[Sequence[Any]]
    ) -> psycopg.Cursor[tuple[Any, ...]] | Changed:
        text, order = translate(sql)
        cursor = self.raw.cursor()
        batch = [_arrange(order, row) for row in rows]
        if not batch:
            return cursor
        values = _multi_row(text)
        if values is None:
            cursor.executemany(text, batch)
            return cursor
        # One statement per MULTI_ROW rows: the rollup triggers run once per statement, not per row.
        head, row, tail = values
        changed = 0
        for start in range(0, len(batch), MULTI_ROW):
            chunk = batch[start : start + MULTI_ROW]
            cursor.execute(
                f"{head} {', '.join([row] * len(chunk))}{tail}", [value for row_ in chunk for value in row_]
            )
            changed += max(cursor.rowcount, 0)
        return Changed(changed)

    @property
    def in_transaction(self) -> bool:
        """In a transaction that can still be rolled back (a lost connection has none)."""
        if self.raw.broken or self.raw.closed:
            return False
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        # The server drops a session's advisory locks only once it has read our goodbye, a moment
        # after close() returns: let them go first, so a poller that stops hands its sources over
        # at once (another poller's next claim, even right after, gets them).
        if not (self.raw.broken or self.raw.closed):
            with suppress(psycopg.Error):
                self.raw.execute("SELECT pg_advisory_unlock_all()")
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # ---- what differs between the backends (dashboard.store.db.Connection) -----------------------

    def has_table(self, name: str) -> bool:
        row = self.raw.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL's own checkpointer and autovacuum keep the files in shape."""

    def free_pages(self) -> int:
        """Nothing to give back by hand: autovacuum reuses the space retention frees."""
        return 0

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of one SELECT in lists of `size`, through a server-side cursor in one read-only
        transaction: memory stays flat and the rows are one consistent snapshot."""
        text, order = translate(sql)
        with self.raw.transaction(), self.raw.cursor(name="community_dashboard_stream") as cursor:
            cursor.execute(text, _arrange(order, params))
            while rows := cursor.fetchmany(size):
                yield rows

    def identity(self) -> str:
        """This database, for what readers remember across connections: the URL and the database's
        oid (a database dropped and created again under the same name is another one)."""
        row = self.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()
        return f"{self._url}#{row[0] if row else ''}"

    def announce_change(self) -> None:
        """Tell the listening dashboards that a poll was stored (delivered at COMMIT, once per
        transaction however many times it is called)."""
        self.raw.execute("SELECT pg_notify(%s, '')", (CHANGES_CHANNEL,))


def listen(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection LISTENing on the changes channel (dashboard.store.db.ChangeListener reads it)."""
    raw = psycopg.connect(url, autocommit=True, application_name="community-dashboard listener")
    raw.execute(f"LISTEN {CHANGES_CHANNEL}")
    return raw
