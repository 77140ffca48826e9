"""The exported tables: their columns (the documented, stable file format) and how each is read.

Every table comes as an iterator of DataFrame chunks so a million mentions never sit in memory at
once; `csvfile` formats and writes them. Column names are a public contract: add, never rename.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analytics import health, posts, sentiment, voices, volume
from dashboard.analytics.dashboard import compute_dashboard, metrics_from, shown_sources
from dashboard.analytics.windows import Window
from dashboard.export.csvfile import Column, ColumnKind, TableSpec
from dashboard.keywords import distinct_keywords, keyword_hits
from dashboard.store.reader import StoreReader

TEXT, INTEGER, NUMBER, TIMESTAMP, BOOLEAN = (
    ColumnKind.TEXT,
    ColumnKind.INTEGER,
    ColumnKind.NUMBER,
    ColumnKind.TIMESTAMP,
    ColumnKind.BOOLEAN,
)
KEYWORD_SEPARATOR = "; "
CHUNK_ROWS = 10_000  # ~110 MB peak for the mentions table (measured; 50k rows: ~260 MB)

MENTIONS = TableSpec(
    "mentions",
    "one mention published in the window",
    (
        Column("source", TEXT, "name of the source (the feeds.toml entry) that found it"),
        Column("source_type", TEXT, 'the source\'s type: "feed", "hackernews", "reddit", ...'),
        Column("kind", TEXT, "post, comment, pingback or mention"),
        Column("key", TEXT, "the source's own id for it (unique per source)"),
        Column("url", TEXT, "link to it"),
        Column("title", TEXT, "title, or the first words of the text (plain text)"),
        Column("author", TEXT, "author name or handle as the source gives it; empty if unknown"),
        Column("published_at", TIMESTAMP, "when it was published (first seen, if the source gave no date)"),
        Column("first_seen_at", TIMESTAMP, "when the dashboard first stored it"),
        Column("likes", INTEGER, "likes / votes / score; empty when the source does not report it"),
        Column("replies", INTEGER, "replies / comments; empty when not reported"),
        Column("shares", INTEGER, "shares / boosts / reposts; empty when not reported"),
        Column("views", INTEGER, "views; empty when not reported"),
        Column("engagement", INTEGER, "likes + replies + shares over the known ones; empty if none known"),
        Column(
            "matched_keywords",
            TEXT,
            "settings.keywords found in title or summary (whole word, any case), joined with '; '",
        ),
        Column("handled", BOOLEAN, "true once marked handled in the dashboard"),
        Column(
            "language",
            TEXT,
            "language code (en, fr, de, ...) the source declared, else detected; empty when unknown",
        ),
        Column(
            "sentiment",
            NUMBER,
            "score from -1 (negative) to 1 (positive), in the scored languages only ([settings]"
            " languages); empty for any other language, an unknown one or a mention not analysed yet",
        ),
        Column("sentiment_label", TEXT, "positive, neutral or negative; empty whenever sentiment is"),
    ),
)

METRICS = TableSpec(
    "metrics",
    "one bucket (hour for windows up to 48 h, else day, UTC) of one source",
    (
        Column(
            "bucket_start",
            TIMESTAMP,
            "start of the bucket (UTC hour or day; the first one starts at the window)",
        ),
        Column(
            "bucket_end", TIMESTAMP, "end of the bucket, exclusive (the last one ends at the window's end)"
        ),
        Column("source", TEXT, "name of the source"),
        Column("mentions", INTEGER, "mentions published in the bucket; empty when status is 'no data'"),
        Column("engagement", INTEGER, "their summed engagement; empty when 'no data' or none reported"),
        Column("unique_voices", INTEGER, "distinct authors in the bucket; empty when 'no data'"),
        Column(
            "new_voices",
            INTEGER,
            "authors whose first mention ever on the source falls in the bucket; empty when 'no data'",
        ),
        Column("status", TEXT, "'ok' (collected) or 'no data' (collection failed: a gap, not zero mentions)"),
        Column(
            "positive",
            INTEGER,
            "mentions scored positive; empty when no mention of the bucket is scored, or 'no data'",
        ),
        Column("neutral", INTEGER, "mentions scored neutral; empty likewise"),
        Column("negative", INTEGER, "mentions scored negative; empty likewise"),
    ),
)

VOICES = TableSpec(
    "voices",
    "one author on one source with mentions in the window (the same name on two sources is two rows)",
    (
        Column("source", TEXT, "name of the source"),
        Column("author", TEXT, "author name or handle"),
        Column("mentions", INTEGER, "their mentions in the window"),
        Column("engagement", INTEGER, "summed engagement of those mentions; empty if none reported"),
        Column("first_seen_at", TIMESTAMP, "their first mention on this source ever (published time)"),
        Column("last_seen_at", TIMESTAMP, "their latest mention in the window (published time)"),
        Column("new_in_window", BOOLEAN, "true when first_seen_at falls inside the window"),
    ),
)

SOURCES = TableSpec(
    "sources",
    "one source known to the store, with its collection health",
    (
        Column("name", TEXT, "name of the source (the feeds.toml entry)"),
        Column("type", TEXT, 'type: "feed", "hackernews", "reddit", ...'),
        Column("target", TEXT, "what it watches: the feed URL or the search"),
        Column(
            "status",
            TEXT,
            "after the latest attempt: new, ok, not modified, failing, rate-limited, needs credentials, gone",
        ),
        Column("last_attempt_at", TIMESTAMP, "latest poll attempt"),
        Column("last_success_at", TIMESTAMP, "latest successful poll"),
        Column("http_status", INTEGER, "HTTP status of the latest attempt; empty if none"),
        Column("consecutive_failures", INTEGER, "failed attempts in a row (0 after a success)"),
        Column("next_poll_at", TIMESTAMP, "when it is polled next"),
        Column("last_error", TEXT, "message of the latest failure; empty after a success"),
        Column("mentions_total", INTEGER, "mentions stored from it, all time"),
        Column("active", BOOLEAN, "false when it is no longer listed in feeds.toml (kept for history)"),
    ),
)

KPIS = TableSpec(
    "kpis",
    "the window's key figures, over every source whatever --source/--kind say (one row)",
    (
        Column("window_start", TIMESTAMP, "start of the window (inclusive)"),
        Column("window_end", TIMESTAMP, "end of the window (exclusive)"),
        Column("computed_at", TIMESTAMP, "when these figures were computed"),
        Column("mentions", INTEGER, "mentions published in the window"),
        Column("mentions_previous", INTEGER, "mentions in the window of the same length just before"),
        Column("engagement", INTEGER, "summed engagement; empty if no source reports any"),
        Column("engagement_previous", INTEGER, "the same over the previous window"),
        Column("unique_voices", INTEGER, "distinct (source, author) pairs in the window"),
        Column("new_voices", INTEGER, "voices whose first mention ever falls inside the window"),
        Column("returning_voices", INTEGER, "voices seen before the window too"),
        Column("waiting_reply", INTEGER, "mentions with no reply yet and not marked handled"),
        Column("sources_ok", INTEGER, "sources whose latest attempt succeeded"),
        Column("sources_failing", INTEGER, "sources whose latest attempt failed"),
        Column("last_poll_at", TIMESTAMP, "latest poll attempt of any source"),
        Column("next_poll_at", TIMESTAMP, "next scheduled poll of any source"),
        Column("reach", NUMBER, "unique voices / mentions with an author (0-1); empty without mentions"),
        Column("passion", NUMBER, "share of mentions by voices who posted more than once (0-1)"),
        Column(
            "median_first_response_hours",
            NUMBER,
            "median time from publication to the first reply, in hours; empty if no replies",
        ),
        Column("spikes", INTEGER, "hours with unusually many mentions (the volume panel's markers)"),
        Column(
            "net_sentiment",
            NUMBER,
            "(positive - negative) / scored mentions in the window (-1 to 1); empty when none is scored",
        ),
        Column("net_sentiment_previous", NUMBER, "the same over the previous window"),
        Column("negative_share", NUMBER, "negative / scored mentions in the window (0-1); empty when none"),
        Column("negative_share_previous", NUMBER, "the same over the previous window"),
    ),
)

POSTS = TableSpec(
    "posts",
    "one of the community's own posts (a source with own = true) published or reacted to in the window, "
    "over every source whatever --source/--kind say; the Posts panel's rows and numbers",
    (
        Column("post_url", TEXT, "the post's canonical URL (every variant of its link is this one post)"),
        Column("source", TEXT, "the own source it was first published on"),
        Column("title", TEXT, "its title"),
        Column("published_at", TIMESTAMP, "when it was published (the earliest of its copies)"),
        Column("reactions", INTEGER, "mentions linking to it published in the window, on any network"),
        Column("comments", INTEGER, "comments on the blog itself (its comment feed) in the window"),
        Column("pingbacks", INTEGER, "pingbacks on the blog itself in the window"),
        Column("reaction_engagement", INTEGER, "the reactions' summed engagement; empty if none reports any"),
        Column("networks", TEXT, "source types of the reactions, most reactions first, joined with '; '"),
        Column("first_reaction_at", TIMESTAMP, "the window's first reaction; empty when none"),
        Column("last_reaction_at", TIMESTAMP, "the window's latest reaction; empty when none"),
    ),
)

REACTIONS = TableSpec(
    "reactions",
    "one post of posts.csv and one mention reacting to it in the window (a mention linking two posts "
    "is two rows; the blog's comments and pingbacks are rows too)",
    (
        Column("post_url", TEXT, "the post's canonical URL (posts.csv's post_url)"),
        Column("source", TEXT, "name of the source that found the reaction"),
        Column("source_type", TEXT, 'the source\'s type: "hackernews", "reddit", "feed", ...'),
        Column("kind", TEXT, "post, comment, pingback or mention"),
        Column("mention_url", TEXT, "link to the reaction"),
        Column("author", TEXT, "its author; empty if unknown"),
        Column("published_at", TIMESTAMP, "when it was published"),
        Column("engagement", INTEGER, "likes + replies + shares over the known ones; empty if none known"),
        Column(
            "matched_by",
            TEXT,
            "where the link was found: url, embed, facet, card, content, domain; "
            "comment / pingback for the blog's own",
        ),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (MENTIONS, METRICS, VOICES, SOURCES, KPIS, POSTS, REACTIONS)
}


@dataclass(frozen=True, slots=True)
class Selection:
    """What an export covers: a window, optionally narrowed to some sources and kinds of mention."""

    window: Window
    sources: tuple[str, ...] | None = None  # None: every source
    kinds: tuple[str, ...] | None = None  # None: every kind
    keywords: tuple[str, ...] = ()  # settings.keywords, for mentions.matched_keywords


# --------------------------------------------------------------------------------------------------
# mentions


def matched_keywords(fields: Sequence[pd.Series], keywords: Sequence[str]) -> pd.Series:
    """Per row, the keywords found in any of `fields` (title, summary), joined by '; ' in config order.

    The fields are searched as one text joined by newlines: a keyword holds no newline, so it can
    never match across two fields, and each keyword costs one pass instead of one per field.
    """
    index = fields[0].index
    names = distinct_keywords(keywords)
    result = np.full(len(index), "", dtype=object)
    if not names or not len(index):
        return pd.Series(result, index=index, dtype=object)
    columns = [field.astype("str").to_numpy(dtype=object, na_value="") for field in fields]
    texts = list(map("\n".join, zip(*columns, strict=True)))
    for keyword, hits in keyword_hits(texts, names).items():
        if hits.any():
            joined = np.where(result == "", keyword, result + KEYWORD_SEPARATOR + keyword)
            result = np.where(hits, joined, result)
    return pd.Series(result, index=index, dtype=object)


def with_keywords(chunk: pd.DataFrame, keywords: Sequence[str]) -> pd.DataFrame:
    """A mention chunk with `matched_keywords` added (title and summary searched)."""
    found = matched_keywords([chunk["title"], chunk["summary"]], keywords)
    return chunk.assign(matched_keywords=found)


def mention_chunks(
    reader: StoreReader, selection: Selection, *, chunk_size: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The selection's mentions, oldest first, in frames of at most `chunk_size` rows."""
    for chunk in reader.iter_mentions(
        selection.window.start,
        selection.window.end,
        sources=selection.sources,
        kinds=selection.kinds,
        chunk_size=chunk_size,
    ):
        yield with_keywords(chunk, selection.keywords)


# --------------------------------------------------------------------------------------------------
# voices


class VoiceTally:
    """Per (source, author) counts accumulated over mention chunks, so voices need no second pass."""

    _KEYS = ("source", "author")

    def __init__(self, *, fold_every: int = 20) -> None:
        self._parts: list[pd.DataFrame] = []
        self._fold_every = fold_every

    def add(self, chunk: pd.DataFrame) -> None:
        named = chunk.loc[chunk["author"].astype("str") != "", ["source", "author", "engagement"]]
        if named.empty:
            return
        named = named.assign(published_at=chunk.loc[named.index, "published_at"])
        self._parts.append(self._aggregate(named))
        if len(self._parts) >= self._fold_every:
            self._parts = [self._combine(self._parts)]

    def partial(self) -> pd.DataFrame:
        """The tally so far, to merge into another one (a worker process's share)."""
        return self._combine(self._parts) if self._parts else self._sum(_empty_tally())

    def add_partial(self, partial: pd.DataFrame) -> None:
        if not partial.empty:
            self._parts.append(partial)

    @staticmethod
    def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
        engagement = rows["engagement"].astype("Int64")
        frame = pd.DataFrame(
            {
                "source": rows["source"].astype("str"),
                "author": rows["author"].astype("str"),
                "mentions": 1,
                "engagement": engagement.fillna(0).astype(np.int64),
                "engagement_known": engagement.notna().astype(np.int64),
                "last_seen_at": rows["published_at"],
            }
        )
        return VoiceTally._sum(frame)

    @staticmethod
    def _sum(frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame.groupby(list(VoiceTally._KEYS), sort=False)
            .agg(
                mentions=("mentions", "sum"),
                engagement=("engagement", "sum"),
                engagement_known=("engagement_known", "sum"),
                last_seen_at=("last_seen_at", "max"),
            )
            .reset_index()
        )

    @staticmethod
    def _combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
        return VoiceTally._sum(pd.concat(parts, ignore_index=True))

    def table(self, first_seen: pd.DataFrame, window: Window) -> pd.DataFrame:
        """The voices rows, ordered by source then author; `first_seen` is [source, author, first_seen_at]."""
        if not self._parts:
            return _empty(VOICES)
        tally = self._combine(self._parts)
        merged = tally.merge(
            first_seen[["source", "author", "first_seen_at"]], on=list(self._KEYS), how="left"
        )
        # A voice the all-time lookup missed (written meanwhile) is first seen no later than now.
        merged["first_seen_at"] = merged["first_seen_at"].fillna(merged["last_seen_at"])
        merged["engagement"] = merged["engagement"].astype("Int64").mask(merged["engagement_known"] == 0)
        merged["new_in_window"] = merged["first_seen_at"] >= pd.Timestamp(window.start)
        ordered = merged.sort_values(list(self._KEYS), kind="stable", ignore_index=True)
        return ordered[VOICES.names]


def first_seen_of_voices(reader: StoreReader, window: Window) -> pd.DataFrame:
    """[source, author, first_seen_at] of every voice with mentions in the window (all-time first)."""
    stats = voices.author_stats(reader, window.start, window.end)
    return stats[["source", "author", "first_seen_at"]]


def voices_table(reader: StoreReader, selection: Selection) -> pd.DataFrame:
    tally = VoiceTally()
    for chunk in reader.iter_mentions(
        selection.window.start, selection.window.end, sources=selection.sources, kinds=selection.kinds
    ):
        tally.add(chunk)
    return tally.table(first_seen_of_voices(reader, selection.window), selection.window)


# --------------------------------------------------------------------------------------------------
# sources, metrics, kpis


def sources_table(reader: StoreReader, selection: Selection) -> pd.DataFrame:
    frame = reader.sources()
    if selection.sources is not None:
        frame = frame[frame["name"].isin(selection.sources)]
    return frame.reset_index(drop=True)


def metrics_rows(reader: StoreReader, selection: Selection) -> pd.DataFrame:
    """Per bucket and source; "no data" buckets keep their counts empty (a gap never reads as zero).

    Time before a source's first attempt is "no data" too: the file said 0 for the hours before the
    tool ever ran. (analytics.dashboard.metrics_table with the grid built here, see health.py.)
    """
    window = selection.window
    sources = reader.sources()
    stats = volume.bucket_stats(reader, window.start, window.end, window.bucket_seconds)
    names = shown_sources(sources, stats)
    attempts = health.attempt_summary(reader, window.start, window.end, window.bucket_seconds)
    grid = health.bucket_status(
        attempts,
        health.last_polls_before(reader, window.start),
        names,
        window,
        before_first_attempt=health.NO_DATA,
    )
    frame: pd.DataFrame = metrics_from(
        stats, voices.author_stats(reader, window.start, window.end), grid, window
    )
    counts = sentiment.label_counts(reader, window.start, window.end, window.bucket_seconds)
    frame = sentiment.with_label_counts(frame, counts, window)
    if selection.sources is not None:
        frame = frame[frame["source"].isin(selection.sources)]
    return frame.reset_index(drop=True)


def kpis_row(reader: StoreReader, selection: Selection, *, now: datetime) -> pd.DataFrame:
    data = compute_dashboard(reader, selection.window, keywords=selection.keywords, now=now)
    kpis = {field.name: getattr(data.kpis, field.name) for field in fields(data.kpis)}
    return kpis_frame(kpis, selection.window, now)


def kpis_frame(kpis: dict[str, Any], window: Window, computed_at: datetime) -> pd.DataFrame:
    """One row in the KPIS layout from the analytics' Kpis fields (timedeltas become hours)."""
    response = kpis.get("median_first_response")
    row: dict[str, Any] = {
        "window_start": pd.Timestamp(window.start),
        "window_end": pd.Timestamp(window.end),
        "computed_at": pd.Timestamp(computed_at),
        **{name: kpis.get(name) for name in KPIS.names if name in kpis},
        "median_first_response_hours": (
            response.total_seconds() / 3600 if isinstance(response, timedelta) else None
        ),
    }
    frame = pd.DataFrame([row])
    for column in KPIS.of_kind(TIMESTAMP):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.reindex(columns=KPIS.names)


def posts_rows(reader: StoreReader, selection: Selection) -> pd.DataFrame:
    """posts.csv: the Posts panel's frame (analytics.posts.posts_frame) of the window, every source."""
    return posts.posts_frame(reader, selection.window)[POSTS.names]


def reactions_rows(reader: StoreReader, selection: Selection) -> pd.DataFrame:
    """reactions.csv: analytics.posts.reactions_table of the window, every source."""
    frame = posts.reactions_table(reader, selection.window)
    return frame.rename(columns={"url": "mention_url"})[REACTIONS.names]


def _empty_tally() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series(dtype="str"),
            "author": pd.Series(dtype="str"),
            "mentions": pd.Series(dtype=np.int64),
            "engagement": pd.Series(dtype=np.int64),
            "engagement_known": pd.Series(dtype=np.int64),
            "last_seen_at": pd.Series(dtype="datetime64[us, UTC]"),
        }
    )


def _empty(spec: TableSpec) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in spec.names})
