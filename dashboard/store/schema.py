"""The store's tables, and the migrations that bring an older database up to date.

All timestamps are INTEGER seconds since the epoch, UTC (cheap to bucket in SQL, to load in pandas).
The schema version lives in `PRAGMA user_version`; each migration is one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# `PRAGMA application_id` of our files ("CDsh"): another program's SQLite file is never mistaken for ours.
APPLICATION_ID = 0x43447368
# The tables every version of the schema has (how a file from before the application id is recognised).
OUR_TABLES = frozenset({"sources", "mentions", "engagement_history", "polls"})


def _engagement(row: str) -> str:
    """A mention's engagement: likes + replies + shares, unknown (NULL) when none of them is known."""
    return (
        f"(CASE WHEN {row}.likes IS NULL AND {row}.replies IS NULL AND {row}.shares IS NULL THEN NULL "
        f"ELSE IFNULL({row}.likes, 0) + IFNULL({row}.replies, 0) + IFNULL({row}.shares, 0) END)"
    )


# The columns whose update moves a mention in the hour and day rollups (migrations 5 and 12).
_ROLLED_COLUMNS = "source_id, published_at, author, likes, replies, shares, views"


def _author_upsert(table: str, key: str, seconds: int, row: str, sign: int) -> str:
    """Add `row` (NEW or OLD) with `sign` to the per-author rollup `table` (mention_hour_authors by
    `key` hour, mention_day_authors by day: periods of `seconds`)."""
    engagement = _engagement(row)
    return f"""
        INSERT INTO {table} ({key}, source_id, author, mentions, engagement, engagement_known)
        VALUES ({row}.published_at - {row}.published_at % {seconds}, {row}.source_id, {row}.author, {sign},
                {sign} * IFNULL({engagement}, 0), {sign} * ({engagement} IS NOT NULL))
        ON CONFLICT ({key}, source_id, author) DO UPDATE SET mentions = mentions + excluded.mentions,
            engagement = engagement + excluded.engagement,
            engagement_known = engagement_known + excluded.engagement_known;"""


def _mention_triggers(prefix: str, upsert: Callable[[str, int], str]) -> str:
    """`prefix`_insert, _delete and _update on mentions, each adding the rows it changes (`upsert` of NEW
    with +1, OLD with -1) to a rollup; an update only where a column the rollups read changed."""
    return f"""
    CREATE TRIGGER {prefix}_insert AFTER INSERT ON mentions BEGIN{upsert("NEW", 1)}
    END;
    CREATE TRIGGER {prefix}_delete AFTER DELETE ON mentions BEGIN{upsert("OLD", -1)}
    END;
    CREATE TRIGGER {prefix}_update
    AFTER UPDATE OF {_ROLLED_COLUMNS} ON mentions BEGIN{upsert("OLD", -1)}{upsert("NEW", 1)}
    END;"""


def _rollup_migration() -> str:
    """Migration 5: the mention_hours / mention_hour_authors tables, their triggers and back-fill."""
    engagement = {row: _engagement(row) for row in ("NEW", "OLD", "m")}
    counts = ("likes", "replies", "shares", "views")
    columns = ", ".join(f"{name}, {name}_known" for name in (*counts, "engagement"))
    adds = ", ".join(
        f"{name} = {name} + excluded.{name}, {name}_known = {name}_known + excluded.{name}_known"
        for name in (*counts, "engagement")
    )

    def values(row: str, sign: int) -> str:
        items = [f"{sign} * IFNULL({row}.{name}, 0), {sign} * ({row}.{name} IS NOT NULL)" for name in counts]
        items.append(f"{sign} * IFNULL({engagement[row]}, 0), {sign} * ({engagement[row]} IS NOT NULL)")
        return ", ".join(items)

    def upsert(row: str, sign: int) -> str:
        hour = f"{row}.published_at - {row}.published_at % 3600"
        return f"""
        INSERT INTO mention_hours (hour, source_id, mentions, {columns})
        VALUES ({hour}, {row}.source_id, {sign}, {values(row, sign)})
        ON CONFLICT (hour, source_id) DO UPDATE SET mentions = mentions + excluded.mentions, {adds};
        {_author_upsert("mention_hour_authors", "hour", 3600, row, sign)}"""

    count_columns = ",\n".join(
        f"        {name} INTEGER NOT NULL, {name}_known INTEGER NOT NULL" for name in (*counts, "engagement")
    )
    sums = ", ".join(f"IFNULL(SUM(m.{name}), 0), COUNT(m.{name})" for name in counts)
    return f"""
    CREATE TABLE mention_hours (
        hour      INTEGER NOT NULL,   -- UTC start of the hour the mentions were published in
        source_id INTEGER NOT NULL,
        mentions  INTEGER NOT NULL,
{count_columns},
        PRIMARY KEY (hour, source_id)
    ) WITHOUT ROWID;
    CREATE TABLE mention_hour_authors (
        hour             INTEGER NOT NULL,
        source_id        INTEGER NOT NULL,
        author           TEXT NOT NULL,
        mentions         INTEGER NOT NULL,
        engagement       INTEGER NOT NULL,
        engagement_known INTEGER NOT NULL,
        PRIMARY KEY (hour, source_id, author)
    ) WITHOUT ROWID;
    INSERT INTO mention_hours (hour, source_id, mentions, {columns})
        SELECT m.published_at - m.published_at % 3600 AS h, m.source_id, COUNT(*), {sums},
               IFNULL(SUM({engagement["m"]}), 0), COUNT({engagement["m"]})
        FROM mentions m GROUP BY h, m.source_id;
    INSERT INTO mention_hour_authors (hour, source_id, author, mentions, engagement, engagement_known)
        SELECT m.published_at - m.published_at % 3600 AS h, m.source_id, m.author, COUNT(*),
               IFNULL(SUM({engagement["m"]}), 0), COUNT({engagement["m"]})
        FROM mentions m GROUP BY h, m.source_id, m.author;
    {_mention_triggers("mentions_rollup", upsert)}
    """


ROLLUP_MIGRATION = _rollup_migration()

# The statuses attempt_summary counts as successes (models.SourceStatus.is_success).
_SUCCESS = "('ok', 'not modified')"
# The order of attempts: by start, then by id between attempts of the same second.
_ORDER_KEY = "started_at * 2147483648 + id"

POLL_ROLLUP_MIGRATION = f"""
    CREATE TABLE poll_hours (
        hour        INTEGER NOT NULL,   -- UTC start of the hour the attempts started in
        source_id   INTEGER NOT NULL,
        attempts    INTEGER NOT NULL,
        successes   INTEGER NOT NULL,
        last_key    INTEGER NOT NULL,   -- {_ORDER_KEY} of the hour's latest attempt ...
        last_status TEXT NOT NULL,      -- ... and its status
        PRIMARY KEY (hour, source_id)
    ) WITHOUT ROWID;
    INSERT INTO poll_hours (hour, source_id, attempts, successes, last_key, last_status)
        SELECT started_at - started_at % 3600 AS h, source_id, COUNT(*), SUM(status IN {_SUCCESS}),
               MAX({_ORDER_KEY}), status
        FROM polls GROUP BY h, source_id;
    CREATE TRIGGER polls_rollup_insert AFTER INSERT ON polls BEGIN
        INSERT INTO poll_hours (hour, source_id, attempts, successes, last_key, last_status)
        VALUES (NEW.started_at - NEW.started_at % 3600, NEW.source_id, 1, NEW.status IN {_SUCCESS},
                NEW.started_at * 2147483648 + NEW.id, NEW.status)
        ON CONFLICT (hour, source_id) DO UPDATE SET
            attempts = attempts + 1, successes = successes + excluded.successes,
            last_status = CASE WHEN excluded.last_key > last_key THEN excluded.last_status ELSE last_status END,
            last_key = MAX(last_key, excluded.last_key);
    END;
    CREATE TRIGGER polls_rollup_delete AFTER DELETE ON polls BEGIN
        UPDATE poll_hours SET attempts = attempts - 1, successes = successes - (OLD.status IN {_SUCCESS})
        WHERE hour = OLD.started_at - OLD.started_at % 3600 AND source_id = OLD.source_id;
        DELETE FROM poll_hours
        WHERE hour = OLD.started_at - OLD.started_at % 3600 AND source_id = OLD.source_id AND attempts <= 0;
        -- The hour's latest attempt went: the latest of those left (one index range, rare).
        UPDATE poll_hours SET (last_key, last_status) = (
            SELECT MAX({_ORDER_KEY}), status FROM polls
            WHERE source_id = OLD.source_id AND started_at >= poll_hours.hour AND started_at < poll_hours.hour + 3600)
        WHERE hour = OLD.started_at - OLD.started_at % 3600 AND source_id = OLD.source_id
              AND last_key = OLD.started_at * 2147483648 + OLD.id;
    END;
    CREATE TRIGGER polls_rollup_update AFTER UPDATE OF started_at, source_id, status ON polls BEGIN
        SELECT RAISE(ABORT, 'attempts are never changed once stored');
    END;
"""


_FIRST_REPLY = (
    "(SELECT MIN(h.at) FROM engagement_history h WHERE h.mention_id = mentions.id AND h.replies > 0)"
)

FIRST_REPLY_MIGRATION = f"""
    ALTER TABLE mentions ADD COLUMN first_reply_at INTEGER;
    UPDATE mentions SET first_reply_at = r.at
        FROM (SELECT mention_id, MIN(at) AS at FROM engagement_history WHERE replies > 0 GROUP BY mention_id) r
        WHERE mentions.id = r.mention_id;
    CREATE INDEX mentions_first_reply ON mentions (published_at, first_reply_at)
        WHERE first_reply_at IS NOT NULL;
    CREATE TRIGGER engagement_first_reply_insert AFTER INSERT ON engagement_history
    WHEN NEW.replies > 0 BEGIN
        UPDATE mentions SET first_reply_at = NEW.at
        WHERE id = NEW.mention_id AND (first_reply_at IS NULL OR first_reply_at > NEW.at);
    END;
    CREATE TRIGGER engagement_first_reply_update AFTER UPDATE OF mention_id, at, replies ON engagement_history
    WHEN OLD.replies > 0 OR NEW.replies > 0 BEGIN
        UPDATE mentions SET first_reply_at = {_FIRST_REPLY} WHERE id IN (OLD.mention_id, NEW.mention_id);
    END;
    -- Retention keeps each mention's first reply row; a delete of it (the mention's own) recounts.
    CREATE TRIGGER engagement_first_reply_delete AFTER DELETE ON engagement_history
    WHEN OLD.replies > 0 BEGIN
        UPDATE mentions SET first_reply_at = {_FIRST_REPLY} WHERE id = OLD.mention_id AND first_reply_at = OLD.at;
    END;
"""

# The labels a scored mention has (dashboard.opinion); NULL or anything else: not scored.
SENTIMENT_LABELS = ("positive", "neutral", "negative")
_SCORED = "('positive', 'neutral', 'negative')"


def _sentiment_migration() -> str:
    """Migration 11: sentiment_hours (scored mentions per label, hour and source), its triggers and
    back-fill; and the partial index the most negative mentions of a window are read through."""
    counts = ", ".join(SENTIMENT_LABELS)
    adds = ", ".join(f"{label} = {label} + excluded.{label}" for label in SENTIMENT_LABELS)

    def upsert(row: str, sign: int) -> str:
        labelled = ", ".join(f"{sign} * ({row}.sentiment_label = '{label}')" for label in SENTIMENT_LABELS)
        return f"""
        INSERT INTO sentiment_hours (hour, source_id, {counts})
        SELECT {row}.published_at - {row}.published_at % 3600, {row}.source_id, {labelled}
        WHERE {row}.sentiment_label IN {_SCORED}
        ON CONFLICT (hour, source_id) DO UPDATE SET {adds};"""

    sums = ", ".join(f"SUM(sentiment_label = '{label}')" for label in SENTIMENT_LABELS)
    # The opinion pass rewrites a row's label with each analysis: only a change moves a count.
    moved = " OR ".join(
        f"OLD.{column} IS NOT NEW.{column}" for column in ("sentiment_label", "published_at", "source_id")
    )
    return f"""
    CREATE TABLE sentiment_hours (
        hour      INTEGER NOT NULL,   -- UTC start of the hour the mentions were published in
        source_id INTEGER NOT NULL,
        positive  INTEGER NOT NULL,
        neutral   INTEGER NOT NULL,
        negative  INTEGER NOT NULL,
        PRIMARY KEY (hour, source_id)
    ) WITHOUT ROWID;
    INSERT INTO sentiment_hours (hour, source_id, {counts})
        SELECT published_at - published_at % 3600 AS h, source_id, {sums}
        FROM mentions WHERE sentiment_label IN {_SCORED} GROUP BY h, source_id;
    CREATE TRIGGER mentions_sentiment_insert AFTER INSERT ON mentions
    WHEN NEW.sentiment_label IN {_SCORED} BEGIN{upsert("NEW", 1)}
    END;
    CREATE TRIGGER mentions_sentiment_delete AFTER DELETE ON mentions
    WHEN OLD.sentiment_label IN {_SCORED} BEGIN{upsert("OLD", -1)}
    END;
    CREATE TRIGGER mentions_sentiment_update AFTER UPDATE OF source_id, published_at, sentiment_label ON mentions
    WHEN {moved} BEGIN{upsert("OLD", -1)}{upsert("NEW", 1)}
    END;
    CREATE INDEX mentions_negative ON mentions (published_at, sentiment) WHERE sentiment_label = 'negative';
    """


SENTIMENT_MIGRATION = _sentiment_migration()


def _day_author_migration() -> str:
    """Migration 12: mention_day_authors (mention_hour_authors by UTC day), its triggers and back-fill."""

    def upsert(row: str, sign: int) -> str:
        return _author_upsert("mention_day_authors", "day", 86400, row, sign)

    return f"""
    CREATE TABLE mention_day_authors (
        day              INTEGER NOT NULL,   -- UTC midnight of the day the mentions were published on
        source_id        INTEGER NOT NULL,
        author           TEXT NOT NULL,
        mentions         INTEGER NOT NULL,
        engagement       INTEGER NOT NULL,
        engagement_known INTEGER NOT NULL,
        PRIMARY KEY (day, source_id, author)
    ) WITHOUT ROWID;
    INSERT INTO mention_day_authors (day, source_id, author, mentions, engagement, engagement_known)
        SELECT hour - hour % 86400 AS d, source_id, author, SUM(mentions), SUM(engagement),
               SUM(engagement_known)
        FROM mention_hour_authors GROUP BY d, source_id, author;
    {_mention_triggers("mentions_day_authors", upsert)}
    """


DAY_AUTHOR_MIGRATION = _day_author_migration()

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE sources (
        id                   INTEGER PRIMARY KEY,
        name                 TEXT NOT NULL UNIQUE,
        type                 TEXT NOT NULL,
        target               TEXT NOT NULL DEFAULT '',
        config_hash          TEXT NOT NULL DEFAULT '',
        status               TEXT NOT NULL DEFAULT 'new',
        cursor               TEXT NOT NULL DEFAULT '{}',
        last_attempt_at      INTEGER,
        last_success_at      INTEGER,
        http_status          INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at         INTEGER,
        error_class          TEXT NOT NULL DEFAULT '',
        last_error           TEXT NOT NULL DEFAULT '',
        notes                TEXT NOT NULL DEFAULT '',
        url_override         TEXT,               -- a permanent redirect, once seen consistently
        redirect_target      TEXT,               -- the permanent redirect seen lately, not yet trusted
        redirect_count       INTEGER NOT NULL DEFAULT 0,
        active               INTEGER NOT NULL DEFAULT 1  -- still listed in feeds.toml
    );

    CREATE TABLE mentions (
        id              INTEGER PRIMARY KEY,
        source_id       INTEGER NOT NULL REFERENCES sources(id),
        key             TEXT NOT NULL,
        kind            TEXT NOT NULL,
        url             TEXT NOT NULL DEFAULT '',
        title           TEXT NOT NULL DEFAULT '',
        author          TEXT NOT NULL DEFAULT '',
        published_at    INTEGER NOT NULL,
        first_seen_at   INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        summary         TEXT NOT NULL DEFAULT '',
        likes           INTEGER,
        replies         INTEGER,
        shares          INTEGER,
        views           INTEGER,
        handled_at      INTEGER,
        content_changes INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source_id, key)
    );
    CREATE INDEX mentions_published ON mentions (published_at);
    CREATE INDEX mentions_source_published ON mentions (source_id, published_at);
    CREATE INDEX mentions_source_author ON mentions (source_id, author, published_at);

    -- One row when a mention is first stored, then one each time its counts change.
    CREATE TABLE engagement_history (
        mention_id INTEGER NOT NULL REFERENCES mentions(id),
        at         INTEGER NOT NULL,
        likes      INTEGER,
        replies    INTEGER,
        shares     INTEGER,
        views      INTEGER,
        PRIMARY KEY (mention_id, at)
    ) WITHOUT ROWID;
    CREATE INDEX engagement_history_at ON engagement_history (at);

    -- Every attempt at every source.
    CREATE TABLE polls (
        id                   INTEGER PRIMARY KEY,
        source_id            INTEGER NOT NULL REFERENCES sources(id),
        started_at           INTEGER NOT NULL,
        duration             REAL NOT NULL,
        status               TEXT NOT NULL,
        http_status          INTEGER,
        bytes                INTEGER NOT NULL DEFAULT 0,
        new                  INTEGER NOT NULL DEFAULT 0,
        updated              INTEGER NOT NULL DEFAULT 0,
        error_class          TEXT NOT NULL DEFAULT '',
        error                TEXT NOT NULL DEFAULT '',
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at         INTEGER,
        notes                TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX polls_source_started ON polls (source_id, started_at);
    CREATE INDEX polls_started ON polls (started_at);
    """,
    # 2: retention (writer.Store.apply_retention) rolls attempts older than its horizon into one row
    # per source and UTC day; and the file says whose it is (`PRAGMA application_id`, see db.identify).
    f"""
    CREATE TABLE poll_days (
        source_id        INTEGER NOT NULL REFERENCES sources(id),
        day              INTEGER NOT NULL,          -- the UTC midnight the attempts started after
        attempts         INTEGER NOT NULL,
        successes        INTEGER NOT NULL,          -- ok or not modified
        failing          INTEGER NOT NULL,          -- status 'failing' (rate-limited etc. are neither)
        new              INTEGER NOT NULL,
        updated          INTEGER NOT NULL,
        bytes            INTEGER NOT NULL,
        duration         REAL NOT NULL,             -- seconds, summed over the attempts
        last_started_at  INTEGER NOT NULL,          -- the day's latest attempt ...
        last_status      TEXT NOT NULL,             -- ... and what it ended with
        last_error_class TEXT NOT NULL DEFAULT '',
        last_error       TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source_id, day)
    ) WITHOUT ROWID;
    CREATE INDEX poll_days_day ON poll_days (day);
    PRAGMA application_id = {APPLICATION_ID};
    """,
    # 3: how far the retention has gone ("history": engagement_history thinned to one row per mention
    # and day before `done_until`), so each run looks only at what is new past that mark.
    """
    CREATE TABLE retention (
        what       TEXT PRIMARY KEY,
        done_until INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: alerts (store/alerts.py): each one stored once per rule, subject and occurrence, its
    # deliveries queued until sent, and every delivery attempt kept with its outcome.
    """
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        rule        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        subject     TEXT NOT NULL,
        occurrence  TEXT NOT NULL,
        raised_at   INTEGER NOT NULL,
        title       TEXT NOT NULL,
        body        TEXT NOT NULL,
        url         TEXT NOT NULL DEFAULT '',
        mention_ids TEXT NOT NULL DEFAULT '',   -- the mentions behind it, space-separated ids
        numbers     TEXT NOT NULL DEFAULT '{}', -- JSON: the figures that made it fire
        suppressed  TEXT NOT NULL DEFAULT '',   -- why it was not sent (a cool-down), else ''
        UNIQUE (rule, subject, occurrence)
    );
    CREATE INDEX alerts_by_time ON alerts (raised_at);
    CREATE TABLE alert_deliveries (
        alert_id        INTEGER NOT NULL REFERENCES alerts(id),
        channel         TEXT NOT NULL,
        state           TEXT NOT NULL,          -- pending, delivered or failed (given up)
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_attempt_at INTEGER,
        last_error      TEXT NOT NULL DEFAULT '',
        delivered_at    INTEGER,
        PRIMARY KEY (alert_id, channel)
    ) WITHOUT ROWID;
    CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);
    CREATE TABLE alert_attempts (
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        channel  TEXT NOT NULL,
        at       INTEGER NOT NULL,
        ok       INTEGER NOT NULL,
        error    TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX alert_attempts_by_channel ON alert_attempts (channel, at);
    -- What a rule remembers between evaluations (the last mention id it read, a failure's start...).
    CREATE TABLE alert_state (
        rule  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (rule, key)
    ) WITHOUT ROWID;
""",  # 5: per-hour rollups of the mentions (reader: bucket_stats, totals, hourly_counts, author_stats over
    # whole hours), kept by triggers in the same statement, hence the same transaction, as every insert,
    # update or delete of a mention, whatever writes it; back-filled here from the rows already stored.
    # An hour is keyed by published_at (its UTC start); `<count>_known` = mentions reporting it; a row
    # can fall to 0 mentions (an author or a published time that changed) and is then ignored.
    ROLLUP_MIGRATION,
    # 6: per-hour rollups of the attempts (analytics.health.attempt_summary over whole hours), kept by triggers
    # on polls like migration 5's; a retention that deletes attempts takes them out of their hour.
    POLL_ROLLUP_MIGRATION,
    # 7: opinion (dashboard.opinion): the language the source declared, the language found (declared,
    # else detected; NULL = unknown) and, in the languages scored, the sentiment. `opinion_version` is
    # the OPINION_VERSION a row was analysed with, NULL = not yet: the background pass (and the
    # back-fill of rows stored before this migration) reads the pending rows through the partial index.
    """
    ALTER TABLE mentions ADD COLUMN declared_language TEXT;
    ALTER TABLE mentions ADD COLUMN language TEXT;
    ALTER TABLE mentions ADD COLUMN sentiment REAL;
    ALTER TABLE mentions ADD COLUMN sentiment_label TEXT;
    ALTER TABLE mentions ADD COLUMN opinion_version INTEGER;
    CREATE INDEX mentions_opinion_pending ON mentions (id) WHERE opinion_version IS NULL;
    """,
    # 8: echo (the conversation around the community's own posts). Sources flagged `own` hold its own
    # content; every mention keeps the outbound links it carries, canonicalised (dashboard.links), with
    # where each was found (`via`: models.Link); `canonical_url` is the mention's own URL canonicalised,
    # which ties a blog comment (post#comment-12) to its post. `links_version` NULL = links not yet
    # extracted (rows stored before this migration; the back-fill reads what url and summary still hold).
    """
    ALTER TABLE sources ADD COLUMN own INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mentions ADD COLUMN canonical_url TEXT;
    ALTER TABLE mentions ADD COLUMN links_version INTEGER;
    CREATE TABLE mention_links (
        mention_id INTEGER NOT NULL REFERENCES mentions(id),
        url        TEXT NOT NULL,      -- canonical
        via        TEXT NOT NULL,      -- where it was found first: url, embed, facet, card, content, domain
        PRIMARY KEY (mention_id, url)
    ) WITHOUT ROWID;
    CREATE INDEX mention_links_url ON mention_links (url, mention_id);
    CREATE INDEX mentions_canonical_url ON mentions (canonical_url) WHERE canonical_url IS NOT NULL;
    CREATE INDEX mentions_links_pending ON mentions (id) WHERE links_version IS NULL;
    """,
    # 9: time to first response (analytics.replies.response_seconds) without reading engagement_history:
    # `first_reply_at` = the `at` of the mention's first history row with replies > 0 (NULL: none yet),
    # kept by triggers on engagement_history in the writing statement, back-filled here; the partial
    # index holds (published_at, first_reply_at) of the answered mentions, so a window's response times
    # are one index range (a 30-day window of a 1M-mention store: 190 -> 15 ms).
    FIRST_REPLY_MIGRATION,
    # 10: share of voice without scanning texts (dashboard.store.keywords): the configured keywords
    # (dashboard.keywords.keyword_key), and per keyword the mentions naming it, written with the mention
    # in the poll's transaction and keyed for a window's count to be one index range. A keyword added
    # to feeds.toml starts with `unmatched_below` = the next mention id: the writer matches every mention
    # from there, the background pass the older ones, newest first; 0 = all matched, and only then do
    # readers count its rows (until then they scan the texts, as before).
    """
    CREATE TABLE tracked_keywords (
        id              INTEGER PRIMARY KEY,
        keyword         TEXT NOT NULL UNIQUE,
        unmatched_below INTEGER NOT NULL
    );
    CREATE TABLE keyword_mentions (
        keyword_id   INTEGER NOT NULL REFERENCES tracked_keywords(id),
        published_at INTEGER NOT NULL,
        mention_id   INTEGER NOT NULL REFERENCES mentions(id),
        PRIMARY KEY (keyword_id, published_at, mention_id)
    ) WITHOUT ROWID;
    CREATE INDEX keyword_mentions_mention ON keyword_mentions (mention_id);
    """,
    # 11: the sentiment panel without reading every scored mention of the window: label counts per hour
    # and source (analytics.sentiment.label_counts / label_totals over whole hours), kept by triggers in
    # the writing statement like migration 5's (the opinion pass sets the labels by UPDATE); and a
    # partial index of the negative mentions by time and score for the most negative of a window.
    SENTIMENT_MIGRATION,
    # 12: the voices of whole days (analytics.voices.author_stats, volume.bucket_stats' voices per
    # daily bucket) from one row per day, source and author instead of one per hour: a 30-day window of
    # a 1M-mention store reads 52k rows instead of 89k. Kept by triggers like migration 5's, back-filled
    # from mention_hour_authors.
    DAY_AUTHOR_MIGRATION,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's `user_version`, each atomically."""
    current = connection.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"this database was written by a newer version (schema {current} > {SCHEMA_VERSION})"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[version - 1]
        # executescript commits first; wrap the statements and the version bump in one transaction.
        connection.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
