"""The write side of the store: one transaction per source per poll, never a duplicate mention.

A poll's mentions, its engagement-history rows, its `polls` row and the source's new state
(cursor, status, next poll) are committed together, so a kill at any moment leaves either the
whole poll or none of it.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from dashboard.links import LINKS_VERSION, canonical_url
from dashboard.models import (
    Mention,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceState,
    SourceStatus,
    SourceUpdate,
    valid_text,
)
from dashboard.store import keywords
from dashboard.store.db import (
    Connection,
    Database,
    StoreError,
    connect,
    database_errors,
    display_name,
    from_epoch,
    to_epoch,
    update_rows,
)
from dashboard.text import shorten

# Untrusted text is stored as received, within bounds: a 60 KB "title" is an attack, not a title.
MAX_TITLE = 500
MAX_AUTHOR = 200
# An entry whose text changes on every poll is updated in place at most this many times.
MAX_CONTENT_CHANGES = 20
# A permanent redirect is adopted once seen on this many consecutive polls (a hijack defence).
REDIRECT_ADOPT_AFTER = 3
_CHUNK = 500

_COUNTS = ("likes", "replies", "shares", "views")
# Faults of the database itself (locked, full, corrupt, missing table): the store cannot go on, so they
# are StoreError. Every other exception while storing a poll (an int above 2^63, a lone surrogate,
# an object of no SQL type, a constraint a value breaks, a bug in building a row) is the fault of
# that poll's data: only its source fails (`Store._save_despite`).
# PostgreSQL's errors are told apart the same way (psycopg follows the DB-API's classes); a lost
# connection (a server restart) is an OperationalError, so the poll fails and the next one reconnects.
_STORE_FAULTS = (sqlite3.OperationalError, sqlite3.InternalError, sqlite3.NotSupportedError)
_DATA_FAULTS = (sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError, sqlite3.IntegrityError)


def _faults() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(store faults, data faults) of both drivers."""
    try:
        import psycopg
    except ImportError:
        return _STORE_FAULTS, _DATA_FAULTS
    return (
        (*_STORE_FAULTS, psycopg.OperationalError, psycopg.InternalError, psycopg.NotSupportedError),
        (
            *_DATA_FAULTS,
            psycopg.InterfaceError,
            psycopg.ProgrammingError,
            psycopg.DataError,
            psycopg.IntegrityError,
        ),
    )


def _is_store_fault(error: Exception) -> bool:
    store_faults, data_faults = _faults()
    if isinstance(error, data_faults):
        return False
    return isinstance(error, (*store_faults, *database_errors()))


# The first key of the per-source advisory locks (PostgreSQL), the second being the source id.
SOURCE_LOCK_CLASS = 0x43447368 & 0x7FFFFFFF

# error_class of an attempt whose data could not (all) be stored.
INVALID_DATA = "invalid data"


DAY = 86400


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of the past the store keeps at full resolution (the documented defaults).

    - `attempts`: every poll attempt is kept this long (the 30-day window, the longest the dashboard
      shows, reads them); older ones are rolled into one `poll_days` row per source and UTC day
      (attempts, successes, failing, new, updated, bytes, duration, and the day's last status), which
      the reader's health queries still count.
    - `history`: every engagement_history row is kept this long (velocity reads the last 24 h); older
      days keep one row per mention and day (the day's last), plus each mention's first row and its
      first row with a reply, so the first-response times of any window stay exact.
    Mentions themselves are never deleted.
    """

    attempts: timedelta = timedelta(days=30)
    history: timedelta = timedelta(days=7)


DEFAULT_RETENTION = Retention()


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one `Store.apply_retention` did."""

    polls_rolled: int = 0  # attempts moved into poll_days
    days_rolled: int = 0  # UTC days processed (one transaction each)
    history_removed: int = 0  # engagement_history rows thinned away
    pages_freed: int = 0  # pages given back to the file system by incremental vacuum


class Store:
    """The writer's handle on the database. Thread-safe: the poller writes from worker threads."""

    def __init__(self, connection: Connection, database: Database) -> None:
        self._db = connection
        self.path = database  # a SQLite file or a PostgreSQL URL
        self._name = display_name(database)  # for messages: the URL without its password
        self._lock = threading.Lock()
        self._errors = database_errors()
        self._claimed: set[str] = set()  # the sources this poller holds (Store.claim)

    @classmethod
    def open(cls, database: Database) -> Store:
        return cls(connect(database), database)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # -- sources --------------------------------------------------------------------------

    def sync_sources(self, sources: Sequence[SourceConfig], hashes: Mapping[str, str]) -> None:
        """Register the configured sources; a changed config revives a gone source."""
        try:
            with self._transaction() as db:
                db.execute("UPDATE sources SET active = 0")
                for source in sources:
                    digest = hashes[source.name]
                    db.execute(
                        """
                        INSERT INTO sources (name, type, target, config_hash, active, own)
                        VALUES (?, ?, ?, ?, 1, ?)
                        ON CONFLICT (name) DO UPDATE SET
                            type = excluded.type, target = excluded.target, active = 1, own = excluded.own,
                            status = CASE WHEN sources.config_hash != excluded.config_hash
                                               AND sources.status = 'gone'
                                          THEN 'new' ELSE sources.status END,
                            next_poll_at = CASE WHEN sources.config_hash != excluded.config_hash
                                                THEN NULL ELSE sources.next_poll_at END,
                            consecutive_failures = CASE WHEN sources.config_hash != excluded.config_hash
                                                        THEN 0 ELSE sources.consecutive_failures END,
                            url_override = CASE WHEN sources.config_hash != excluded.config_hash
                                                THEN NULL ELSE sources.url_override END,
                            config_hash = excluded.config_hash
                        """,
                        (source.name, source.type, source.target, digest, int(source.own)),
                    )
        except self._errors as error:
            raise StoreError(f"cannot write to {self._name}: {error}") from error

    def sync_keywords(self, tracked: Sequence[str]) -> None:
        """Track feeds.toml's keywords (dashboard.store.keywords): matched as mentions are stored."""
        try:
            with self._transaction() as db:
                keywords.sync_keywords(db, tracked)
        except self._errors as error:
            raise StoreError(f"cannot write to {self._name}: {error}") from error

    def states(self, *, cursors: bool = True) -> dict[str, SourceState]:
        """Every source's state; `cursors=False` leaves each cursor empty, for the schedule, which
        needs only when and whether: 1,000 feeds' cursors (their last poll's guids) are ~3.6 MB of
        JSON, and decoding them took ~50 ms of CPU per read, ~200 ms while polls were saved."""
        return {state.name: state for state in self._select_states("", cursors=cursors)}

    def state(self, name: str) -> SourceState:
        found = self._select_states("WHERE name = ?", name)
        return found[0] if found else SourceState(name=name)

    def _select_states(self, where: str, *params: object, cursors: bool = True) -> list[SourceState]:
        columns = ", ".join(c if cursors or c != "cursor" else "NULL AS cursor" for c in _STATE_COLUMNS)
        try:
            with self._lock:
                rows = self._db.execute(f"SELECT {columns} FROM sources {where}", params)
                found = [_state_from_row(dict(zip(_STATE_COLUMNS, row, strict=True))) for row in rows]
        except self._errors as error:
            raise StoreError(f"cannot read {self._name}: {error}") from error
        return found

    def claim(self, names: Iterable[str]) -> set[str]:
        """The sources among `names` this poller may poll: on PostgreSQL, those whose advisory lock
        (held by this connection until it closes) no other poller holds, so two pollers started by
        mistake share the sources instead of polling each twice; on SQLite, all of them (one file,
        whose writes queue anyway)."""
        names = list(names)
        wanted = [name for name in names if name not in self._claimed]
        if wanted and self._db.backend == "sqlite":
            self._claimed.update(wanted)
        elif wanted:
            try:
                with self._lock:
                    rows = self._db.execute(
                        f"""SELECT name FROM (SELECT name, id FROM sources WHERE name IN ({", ".join("?" * len(wanted))})) s
                            WHERE pg_try_advisory_lock({SOURCE_LOCK_CLASS}, CAST(id AS INTEGER))""",
                        wanted,
                    ).fetchall()
            except self._errors as error:
                raise StoreError(f"cannot read {self._name}: {error}") from error
            self._claimed.update(row[0] for row in rows)
        return {name for name in names if name in self._claimed}

    def young_keys(self, source: str, since: datetime, limit: int = 100) -> list[str]:
        """Keys of the source's mentions published since `since`, newest first: their engagement is re-read."""
        try:
            with self._lock:
                rows = self._db.execute(
                    """
                    SELECT m.key FROM mentions m JOIN sources s ON s.id = m.source_id
                    WHERE s.name = ? AND m.published_at >= ?
                    ORDER BY m.published_at DESC LIMIT ?
                    """,
                    (source, to_epoch(since), limit),
                ).fetchall()
        except self._errors as error:
            raise StoreError(f"cannot read {self._name}: {error}") from error
        return [row[0] for row in rows]

    # -- polls ----------------------------------------------------------------------------

    def save_poll(
        self, source: SourceConfig, record: PollRecord, update: SourceUpdate, outcome: PollOutcome | None
    ) -> PollRecord:
        """Store one attempt atomically; returns the record with its new/updated counts filled in.

        A value in the poll's data that the database cannot take never escapes: the storable mentions
        are kept and the attempt is stored as failing with what could not be stored (`_save_despite`).
        """
        try:
            return self._save(source, record, update, outcome)
        except Exception as error:
            if not _is_store_fault(error):
                return self._save_despite(source, record, update, outcome, error)
            if not self._recovered():
                raise StoreError(f"cannot write to {self._name}: {error}") from error
        # The connection was lost mid-save (a PostgreSQL restart): the server rolled the transaction
        # back, so the whole save runs again on the new connection.
        try:
            return self._save(source, record, update, outcome)
        except Exception as error:
            raise StoreError(f"cannot write to {self._name}: {error}") from error

    def _recovered(self) -> bool:
        """Whether a lost connection was reopened (its source claims are gone with it)."""
        with self._lock:
            if not self._db.recover():
                return False
            self._claimed.clear()
            return True

    def _save(
        self, source: SourceConfig, record: PollRecord, update: SourceUpdate, outcome: PollOutcome | None
    ) -> PollRecord:
        with self._transaction() as db:
            source_id = _source_id(db, source)
            new = updated = 0
            if outcome is not None and outcome.mentions:
                new, updated = _upsert_mentions(db, source_id, outcome.mentions, record.started_at)
            record = replace(
                record,
                new=new,
                updated=updated,
                consecutive_failures=update.consecutive_failures,
                next_poll_at=update.next_poll_at,
            )
            _insert_poll(db, source_id, record)
            _update_source(db, source_id, record, update, outcome)
            db.announce_change()
        return record

    def _save_despite(
        self,
        source: SourceConfig,
        record: PollRecord,
        update: SourceUpdate,
        outcome: PollOutcome | None,
        error: Exception,
    ) -> PollRecord:
        """The poll's data held a value the database refused: store the mentions that can be stored,
        and the attempt as failing ("invalid data") with the reason, so the source shows it and the
        other sources' polls go on. If even that fails, the attempt alone (no data, cursor kept)."""
        mentions = outcome.mentions if outcome is not None else ()
        bad: list[tuple[Mention, Exception]] = []
        try:
            with self._lock:
                for mention in mentions:
                    try:
                        self._db.execute(_PROBE, _mention_values(mention, 0))
                    except Exception as probe_error:
                        if _is_store_fault(probe_error):
                            raise
                        bad.append((mention, probe_error))
                failures = self._failures(source) + 1
        except self._errors as db_error:
            raise StoreError(f"cannot write to {self._name}: {db_error}") from db_error
        failing = replace(update, status=SourceStatus.FAILING, consecutive_failures=failures)
        if bad:
            first, reason = bad[0]
            message = (
                f"{len(bad)} of {len(mentions)} items could not be stored, e.g. {shorten(str(first.key), 80)!r}: "
                f"{type(reason).__name__}: {reason}"
            )
        else:
            message = f"the poll could not be stored: {type(error).__name__}: {error}"
        failed = replace(
            record,
            status=SourceStatus.FAILING,
            error_class=INVALID_DATA,
            error=shorten(valid_text(message), 500),
        )
        if outcome is not None:
            rejected = {id(mention) for mention, _ in bad}
            kept = replace(outcome, mentions=tuple(m for m in mentions if id(m) not in rejected))
            try:
                return self._save(source, failed, failing, kept)
            except Exception as retry_error:
                if _is_store_fault(retry_error):
                    raise StoreError(f"cannot write to {self._name}: {retry_error}") from retry_error
                # the cursor or the record itself: store the attempt without the data
        try:
            return self._save(source, replace(failed, notes="", http_status=None), failing, None)
        except Exception as last_error:
            raise StoreError(f"cannot write to {self._name}: {last_error}") from last_error

    def _failures(self, source: SourceConfig) -> int:
        row = self._db.execute(
            "SELECT consecutive_failures FROM sources WHERE name = ?", (source.name,)
        ).fetchone()
        return int(row[0]) if row is not None else 0

    def mark_handled(self, mention_id: int, handled: bool = True, *, at: datetime | None = None) -> None:
        moment = to_epoch(at or datetime.now().astimezone())
        with self._transaction() as db:
            db.execute(
                "UPDATE mentions SET handled_at = ? WHERE id = ?", (moment if handled else None, mention_id)
            )

    def checkpoint(self) -> None:
        with self._lock:
            self._db.checkpoint()

    # -- retention ------------------------------------------------------------------------

    def apply_retention(self, now: datetime, policy: Retention = DEFAULT_RETENTION) -> RetentionReport:
        """Roll attempts older than `policy.attempts` into poll_days, thin engagement history older
        than `policy.history`, then give the freed pages back (incremental vacuum).

        Meant to run about once a day from the poll loop (in a thread: a first run on a year of data
        takes a while). Each UTC day is its own short transaction, so polls are saved in between; a
        run that is killed leaves whole days done and the rest for the next run. Idempotent.
        """
        try:
            rolled = days = 0
            poll_cutoff = _day(to_epoch(now - policy.attempts))
            while (day := self._oldest_poll_day(poll_cutoff)) is not None:
                with self._transaction() as db:
                    rolled += _roll_polls(db, day, min(day + DAY, poll_cutoff))
                days += 1
            removed = 0
            history_cutoff = _day(to_epoch(now - policy.history))
            while (day := self._next_history_day(history_cutoff)) is not None:
                with self._transaction() as db:
                    removed += _thin_history(db, day, min(day + DAY, history_cutoff))
                    db.execute(
                        """INSERT INTO retention (what, done_until) VALUES ('history', ?)
                           ON CONFLICT (what) DO UPDATE SET done_until = excluded.done_until""",
                        (min(day + DAY, history_cutoff),),
                    )
                days += 1
            freed = self._incremental_vacuum()
        except self._errors as error:
            raise StoreError(f"cannot apply retention to {self._name}: {error}") from error
        return RetentionReport(
            polls_rolled=rolled, days_rolled=days, history_removed=removed, pages_freed=freed
        )

    def _oldest_poll_day(self, cutoff: int) -> int | None:
        with self._lock:
            oldest = self._db.execute("SELECT MIN(started_at) FROM polls").fetchone()[0]
        return None if oldest is None or oldest >= cutoff else _day(int(oldest))

    def _next_history_day(self, cutoff: int) -> int | None:
        """The first UTC day of history not thinned yet, if it is before `cutoff`."""
        with self._lock:
            row = self._db.execute("SELECT done_until FROM retention WHERE what = 'history'").fetchone()
            if row is None:
                oldest = self._db.execute("SELECT MIN(at) FROM engagement_history").fetchone()[0]
                start = None if oldest is None else _day(int(oldest))
            else:
                # The next day that has rows (after a quiet stretch, skip straight to it).
                oldest = self._db.execute(
                    "SELECT MIN(at) FROM engagement_history WHERE at >= ?", (int(row[0]),)
                ).fetchone()[0]
                start = None if oldest is None else _day(int(oldest))
        return None if start is None or start >= cutoff else start

    def _incremental_vacuum(self) -> int:
        """Give free pages back to the file system (SQLite; PostgreSQL's autovacuum does it)."""
        with self._lock:
            return self._db.free_pages()


def _day(epoch: int) -> int:
    """The UTC midnight at or before `epoch`."""
    return epoch - epoch % DAY


_SUCCESS_SQL = ", ".join(f"'{status.value}'" for status in SourceStatus if status.is_success)


def _roll_polls(db: Connection, day: int, end: int) -> int:
    """Move the attempts started in [day, end) into poll_days (added to a row already there)."""
    # The day's latest attempt (the later stored, higher id, within one second) gives the last status:
    # its id is the low bits of the largest started_at * 2^31 + id, joined back to read its columns.
    db.execute(
        f"""INSERT INTO poll_days (source_id, day, attempts, successes, failing, new, updated, bytes,
                                   duration, last_started_at, last_status, last_error_class, last_error)
            SELECT d.source_id, ?, d.attempts, d.successes, d.failing, d.new, d.updated, d.bytes,
                   d.duration, last.started_at, last.status, last.error_class, last.error
            FROM (SELECT source_id, COUNT(*) AS attempts,
                         SUM(CASE WHEN status IN ({_SUCCESS_SQL}) THEN 1 ELSE 0 END) AS successes,
                         SUM(CASE WHEN status = 'failing' THEN 1 ELSE 0 END) AS failing,
                         SUM(new) AS new, SUM(updated) AS updated, SUM(bytes) AS bytes,
                         SUM(duration) AS duration, MAX(started_at * 2147483648 + id) AS last_key
                  FROM polls WHERE started_at >= ? AND started_at < ? GROUP BY source_id) d
            JOIN polls last ON last.id = d.last_key % 2147483648
            WHERE true
            ON CONFLICT (source_id, day) DO UPDATE SET
                attempts = poll_days.attempts + excluded.attempts,
                successes = poll_days.successes + excluded.successes,
                failing = poll_days.failing + excluded.failing, new = poll_days.new + excluded.new,
                updated = poll_days.updated + excluded.updated, bytes = poll_days.bytes + excluded.bytes,
                duration = poll_days.duration + excluded.duration,
                last_status = CASE WHEN excluded.last_started_at >= poll_days.last_started_at
                                   THEN excluded.last_status ELSE poll_days.last_status END,
                last_error_class = CASE WHEN excluded.last_started_at >= poll_days.last_started_at
                                        THEN excluded.last_error_class ELSE poll_days.last_error_class END,
                last_error = CASE WHEN excluded.last_started_at >= poll_days.last_started_at
                                  THEN excluded.last_error ELSE poll_days.last_error END,
                last_started_at = CASE WHEN excluded.last_started_at >= poll_days.last_started_at
                                       THEN excluded.last_started_at ELSE poll_days.last_started_at END""",
        (day, day, end),
    )
    return db.execute("DELETE FROM polls WHERE started_at >= ? AND started_at < ?", (day, end)).rowcount


def _thin_history(db: Connection, day: int, end: int) -> int:
    """Keep, of the engagement_history rows in [day, end), each mention's last row of the day, its
    first row ever and its first row with a reply (first-response times); delete the rest."""
    return db.execute(
        """DELETE FROM engagement_history AS h
           WHERE h.at >= ?1 AND h.at < ?2
             AND h.at < (SELECT MAX(x.at) FROM engagement_history x
                         WHERE x.mention_id = h.mention_id AND x.at >= ?1 AND x.at < ?2)
             AND h.at > (SELECT MIN(x.at) FROM engagement_history x WHERE x.mention_id = h.mention_id)
             AND h.at != COALESCE((SELECT MIN(x.at) FROM engagement_history x
                                   WHERE x.mention_id = h.mention_id AND x.replies > 0), -1)""",
        (day, end),
    ).rowcount


def _source_id(db: Connection, source: SourceConfig) -> int:
    row = db.execute("SELECT id FROM sources WHERE name = ?", (source.name,)).fetchone()
    if row is not None:
        return int(row[0])
    cursor = db.execute(
        "INSERT INTO sources (name, type, target) VALUES (?, ?, ?) RETURNING id",
        (source.name, source.type, source.target),
    )
    return int(cursor.fetchone()[0])


def _unique(mentions: Sequence[Mention]) -> list[Mention]:
    """The first of each key (duplicate guids inside one feed exist in the wild), text within bounds."""
    seen: dict[str, Mention] = {}
    for mention in mentions:
        if mention.key not in seen:
            seen[mention.key] = replace(
                mention, title=shorten(mention.title, MAX_TITLE), author=shorten(mention.author, MAX_AUTHOR)
            )
    return list(seen.values())


def _existing(db: Connection, source_id: int, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            # The stored links as one string of canonical URLs separated by spaces (a canonical URL has
            # none: dashboard.links escapes them), one range of mention_links' primary key per row.
            f"""SELECT key, id, url, title, author, summary, likes, replies, shares, views, content_changes,
                       links_version,
                       (SELECT group_concat(l.url, ' ') FROM mention_links l WHERE l.mention_id = mentions.id)
                FROM mentions WHERE source_id = ? AND key IN ({marks})""",
            (source_id, *chunk),
        ):
            found[row[0]] = row[1:]
    return found


def _upsert_mentions(
    db: Connection, source_id: int, mentions: Sequence[Mention], seen_at: datetime
) -> tuple[int, int]:
    now = to_epoch(seen_at)
    batch = _unique(mentions)
    existing = _existing(db, source_id, [mention.key for mention in batch])
    fresh = [mention for mention in batch if mention.key not in existing]
    db.executemany(
        """INSERT INTO mentions (source_id, key, kind, url, title, author, published_at, first_seen_at,
                                 updated_at, summary, likes, replies, shares, views, declared_language,
                                 canonical_url, links_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [(source_id, *_mention_values(m, now)) for m in fresh],
    )
    keywords.match_new(db, source_id, [(m.key, m.title, m.summary) for m in fresh])
    linked = [(m.key, links) for m in fresh if (links := _links_of(m))]
    if linked:
        ids = _ids(db, source_id, [key for key, _ in linked])
        db.executemany(_INSERT_LINK, [(ids[key], url, via) for key, links in linked for url, via in links])
    db.executemany(
        """INSERT INTO engagement_history (mention_id, at, likes, replies, shares, views)
           SELECT id, ?, likes, replies, shares, views FROM mentions WHERE source_id = ? AND key = ?
           ON CONFLICT DO NOTHING""",
        [(now, source_id, m.key) for m in fresh if _has_counts(m)],
    )
    updated = _update_existing(db, [(m, existing[m.key]) for m in batch if m.key in existing], now)
    return len(fresh), updated


def _ids(db: Connection, source_id: int, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the source's mentions `keys` (one query per _CHUNK keys)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            db.execute(
                f"SELECT key, id FROM mentions WHERE source_id = ? AND key IN ({marks})", (source_id, *chunk)
            ).fetchall()
        )
    return found


_INSERT_LINK = "INSERT INTO mention_links (mention_id, url, via) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"

# canonical_url remembered across polls: a feed entry's url is usually its first link too, and a
# source that answers 200 re-reads the same entries every poll (bench/bench_echo_store.py).
_canonical = functools.lru_cache(maxsize=16384)(canonical_url)


# Binds a mention's values without storing anything: which mentions of a refused poll are at fault.
# Typed as the columns are, so PostgreSQL refuses there what the INSERT would (an int past bigint).
_PROBE_TYPES = ("TEXT",) * 5 + ("BIGINT",) * 3 + ("TEXT",) + ("BIGINT",) * 4 + ("TEXT", "TEXT", "BIGINT")
_PROBE = "SELECT " + ", ".join(f"CAST(? AS {kind})" for kind in _PROBE_TYPES)


def _mention_values(m: Mention, now: int) -> tuple[Any, ...]:
    """What the mentions row holds of `m`, after source_id (the probe binds exactly these)."""
    return (
        m.key,
        str(m.kind),
        m.url,
        m.title,
        m.author,
        to_epoch(m.published) if m.published else now,
        now,
        now,
        m.summary,
        m.likes,
        m.replies,
        m.shares,
        m.views,
        m.language or None,
        _canonical(m.url),
        LINKS_VERSION,
    )


def _links_of(mention: Mention) -> list[tuple[str, str]]:
    """The mention's outbound links, canonical and each once, without the mention's own page."""
    if not mention.links:
        return []
    page = mention.url
    own = _canonical(page)
    same_page = page + "#" if page and "#" not in page else None
    found: dict[str, str] = {}
    for link in mention.links:
        # The entry's own page (its url, or `url#more` of a "continue reading" anchor) without a call.
        if link.url == page or (same_page is not None and link.url.startswith(same_page)):
            continue
        url = _canonical(link.url)
        if url is not None and url != own and url not in found:
            via = link.via
            found[url] = via if type(via) is str and via.isascii() else valid_text(via)
    return list(found.items())


# What an engagement refresh writes: the counts and when (a row is these values, then the id).
_COUNT_COLUMNS = (*((name, "BIGINT") for name in _COUNTS), ("updated_at", "BIGINT"))


def _has_counts(mention: Mention) -> bool:
    return any(getattr(mention, name) is not None for name in _COUNTS)


def _update_existing(db: Connection, pairs: list[tuple[Mention, tuple[Any, ...]]], now: int) -> int:
    """Engagement and text updated in place; a history row only where counts changed. Links: a changed
    text (or links of an older LINKS_VERSION) replaces them; otherwise the links not stored yet are
    added, none dropped (a Mastodon card arrives after its post; a field missing once is not a
    deletion)."""
    count_rows: list[tuple[Any, ...]] = []
    text_rows: list[tuple[Any, ...]] = []
    history_rows: list[tuple[Any, ...]] = []
    link_rows: list[tuple[Any, ...]] = []
    relinked: list[tuple[Any, ...]] = []  # rows of an older links_version: (canonical_url, id)
    for mention, row in pairs:
        mention_id, url, title, author, summary, *old_counts, changes, version, stored = row
        # A source that stops reporting a count leaves the known value in place.
        counts = [
            new if new is not None else old
            for new, old in zip((getattr(mention, name) for name in _COUNTS), old_counts, strict=True)
        ]
        counts_changed = counts != old_counts
        text_changed = (mention.url, mention.title, mention.author, mention.summary) != (
            url,
            title,
            author,
            summary,
        )
        if counts_changed:
            count_rows.append((*counts, now, mention_id))
            history_rows.append((mention_id, now, *counts))
        if text_changed and changes < MAX_CONTENT_CHANGES:
            text_rows.append(
                (
                    mention.url,
                    mention.title,
                    mention.author,
                    mention.summary,
                    now,
                    _canonical(mention.url),
                    mention_id,
                )
            )
            link_rows.extend((mention_id, link, via) for link, via in _links_of(mention))
        elif not text_changed and version != LINKS_VERSION:
            relinked.append((_canonical(url), mention_id))
            link_rows.extend((mention_id, link, via) for link, via in _links_of(mention))
        elif not text_changed and mention.links:
            known = set(stored.split(" ")) if stored else set()
            link_rows.extend((mention_id, link, via) for link, via in _links_of(mention) if link not in known)
    update_rows(db, "mentions", _COUNT_COLUMNS, count_rows)
    db.executemany(
        # New words, new opinion: the background pass analyses the row again; and new links.
        f"""UPDATE mentions SET url = ?, title = ?, author = ?, summary = ?, updated_at = ?,
                               content_changes = content_changes + 1, opinion_version = NULL,
                               canonical_url = ?, links_version = {LINKS_VERSION} WHERE id = ?""",
        text_rows,
    )
    db.executemany(
        f"UPDATE mentions SET canonical_url = ?, links_version = {LINKS_VERSION} WHERE id = ?", relinked
    )
    db.executemany(
        "DELETE FROM mention_links WHERE mention_id = ?", [(row[-1],) for row in (*text_rows, *relinked)]
    )
    db.executemany(_INSERT_LINK, link_rows)
    keywords.rematch(db, [(row[-1], row[1], row[3]) for row in text_rows])
    db.executemany(
        """INSERT INTO engagement_history (mention_id, at, likes, replies, shares, views)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (mention_id, at) DO UPDATE SET likes = excluded.likes, replies = excluded.replies,
               shares = excluded.shares, views = excluded.views""",
        history_rows,
    )
    return len({row[-1] for row in count_rows} | {row[-1] for row in text_rows})


def _insert_poll(db: Connection, source_id: int, record: PollRecord) -> None:
    db.execute(
        """INSERT INTO polls (source_id, started_at, duration, status, http_status, bytes, new, updated,
                              error_class, error, consecutive_failures, next_poll_at, notes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            source_id,
            to_epoch(record.started_at),
            record.duration,
            str(record.status),
            record.http_status,
            record.bytes_read,
            record.new,
            record.updated,
            valid_text(record.error_class),
            valid_text(record.error),
            record.consecutive_failures,
            to_epoch(record.next_poll_at) if record.next_poll_at else None,
            valid_text(record.notes),
        ),
    )


def _update_source(
    db: Connection,
    source_id: int,
    record: PollRecord,
    update: SourceUpdate,
    outcome: PollOutcome | None,
) -> None:
    succeeded = update.status.is_success
    db.execute(
        """UPDATE sources SET status = ?, last_attempt_at = ?, http_status = ?, consecutive_failures = ?,
                              next_poll_at = ?, error_class = ?, last_error = ?, notes = ?,
                              last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END,
                              cursor = CASE WHEN ? THEN ? ELSE cursor END
           WHERE id = ?""",
        (
            str(update.status),
            to_epoch(record.started_at),
            record.http_status,
            update.consecutive_failures,
            to_epoch(update.next_poll_at) if update.next_poll_at else None,
            valid_text(record.error_class),
            valid_text(record.error),
            valid_text(record.notes),
            succeeded,
            to_epoch(record.started_at),
            outcome is not None,
            json.dumps(dict(outcome.cursor) if outcome is not None else {}),
            source_id,
        ),
    )
    if succeeded:
        _track_redirect(db, source_id, update.permanent_redirect)


def _track_redirect(db: Connection, source_id: int, target: str | None) -> None:
    """Count consecutive polls that saw the same permanent redirect; adopt it after a few."""
    if target is None:
        db.execute("UPDATE sources SET redirect_target = NULL, redirect_count = 0 WHERE id = ?", (source_id,))
        return
    db.execute(
        """UPDATE sources SET
               redirect_count = CASE WHEN redirect_target = ? THEN redirect_count + 1 ELSE 1 END,
               redirect_target = ?
           WHERE id = ?""",
        (target, target, source_id),
    )
    db.execute(
        """UPDATE sources SET url_override = redirect_target, redirect_target = NULL, redirect_count = 0
           WHERE id = ? AND redirect_count >= ?""",
        (source_id, REDIRECT_ADOPT_AFTER),
    )


_STATE_COLUMNS = (
    "name",
    "type",
    "target",
    "config_hash",
    "status",
    "cursor",
    "last_attempt_at",
    "last_success_at",
    "http_status",
    "consecutive_failures",
    "next_poll_at",
    "error_class",
    "last_error",
    "notes",
    "url_override",
)


def _state_from_row(row: Mapping[str, Any]) -> SourceState:
    try:
        cursor = json.loads(row["cursor"]) if row["cursor"] else {}
    except ValueError:
        cursor = {}
    return SourceState(
        name=row["name"],
        type=row["type"],
        target=row["target"],
        config_hash=row["config_hash"],
        status=SourceStatus(row["status"]),
        cursor=cursor if isinstance(cursor, dict) else {},
        last_attempt_at=from_epoch(row["last_attempt_at"]),
        last_success_at=from_epoch(row["last_success_at"]),
        http_status=row["http_status"],
        consecutive_failures=row["consecutive_failures"],
        next_poll_at=from_epoch(row["next_poll_at"]),
        error_class=row["error_class"],
        last_error=row["last_error"],
        notes=row["notes"],
        url_override=row["url_override"],
    )
