"""Hand-built dashboard data (the analytics contract's columns) for UI tests without a database.

Also tests that the samples themselves follow the contract's shapes, so a drift shows up here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.config import Config, Settings, source_config_hash
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.writer import Store

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
HOSTILE_TITLES = (
    "Great post [/bold] by someone",
    "[@click=app.quit]Click me[/]",
    "[link=file:///etc/passwd]y[/link]",
    "\x1b]52;c;SGVsbG8=\x07clipboard \x1b]0;title\x07 \x9b2J csi",
    "right-to-left \u202eevil.exe\u202c and \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "emoji 🎉🚀👩‍💻 and CJK 日本語のタイトル 中文标题 한국어",
    "very long " + "word " * 200,
)


@dataclass(frozen=True)
class SampleWindow:
    start: datetime
    end: datetime
    label: str = "24 h"
    bucket: str = "h"


@dataclass(frozen=True)
class SampleKpis:
    mentions: int = 128
    mentions_previous: int = 100
    engagement: int = 2341
    engagement_previous: int = 2500
    unique_voices: int = 45
    new_voices: int = 7
    waiting_reply: int = 3
    sources_ok: int = 3
    sources_failing: int = 1
    sources_waiting: int = 0
    sources_new: int = 0
    last_poll_at: datetime | None = NOW - timedelta(minutes=2)
    next_poll_at: datetime | None = NOW + timedelta(minutes=3)
    reach: float | None = 0.35
    passion: float | None = 0.2
    median_first_response: timedelta | None = timedelta(hours=3)
    negative_share: float | None = None
    negative_share_previous: float | None = None
    net_sentiment: float | None = None


@dataclass(frozen=True)
class SampleDashboard:
    window: SampleWindow
    computed_at: datetime
    kpis: SampleKpis
    volume: pd.DataFrame
    volume_status: pd.DataFrame
    spikes: pd.DataFrame
    rising: pd.DataFrame
    voices: pd.DataFrame
    share_of_voice: pd.DataFrame
    trending: pd.DataFrame
    needs_reply: pd.DataFrame
    sources: pd.DataFrame
    sentiment: pd.DataFrame = field(default_factory=pd.DataFrame)
    most_negative: pd.DataFrame = field(default_factory=pd.DataFrame)
    posts: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)


SOURCES = ("hn", "reddit", "blog", "mastodon")


def sample_volume(now: datetime = NOW) -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.date_range(end=now - timedelta(hours=1), periods=24, freq="h", tz=UTC, name="bucket_start")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {name: rng.integers(0, 6, len(index)).astype(float) for name in SOURCES}, index=index
    )
    frame.loc[index[20], "hn"] = 30.0  # the spike
    frame.loc[index[8:12], "mastodon"] = np.nan  # failing: no data
    frame["total"] = frame[list(SOURCES)].sum(axis=1, min_count=1)
    status = frame.isna().map(lambda missing: "no data" if missing else "ok")
    return frame, status


def sample_dashboard(now: datetime = NOW, *, titles: tuple[str, ...] = ()) -> SampleDashboard:
    volume, status = sample_volume(now)
    spike_at = volume.index[20]
    title = (titles or ("Release 2.0 is out",))[0]
    return SampleDashboard(
        window=SampleWindow(now - timedelta(hours=24), now),
        computed_at=now,
        kpis=SampleKpis(),
        volume=volume,
        volume_status=status,
        spikes=pd.DataFrame(
            {
                "bucket_start": [spike_at],
                "source": ["hn"],
                "mentions": [30],
                "baseline": [2.5],
                "score": [6.1],
                "mention_ids": [[1, 2]],
            }
        ),
        rising=pd.DataFrame(
            {
                "id": [1, 2],
                "source": ["hn", "reddit"],
                "kind": ["post", "post"],
                "title": [title, "Show HN: a thing"],
                "author": ["alice", "bob"],
                "url": ["https://example.com/1", "https://example.com/2"],
                "gained": [120, 40],
                "per_hour": [30.0, 8.5],
            }
        ),
        voices=pd.DataFrame(
            {
                "source": ["hn", "reddit", "blog"],
                "author": ["alice", "bob", "carol"],
                "mentions": [12, 5, 2],
                "engagement": [340, 80, 3],
                "first_seen_at": [
                    now - timedelta(days=40),
                    now - timedelta(hours=3),
                    now - timedelta(days=3),
                ],
                "is_new": [False, True, False],
            }
        ),
        share_of_voice=pd.DataFrame(
            {"keyword": ["textual", "rich", "python"], "mentions": [40, 25, 10], "share": [0.53, 0.33, 0.13]}
        ),
        trending=pd.DataFrame(
            {"term": ["release", "widgets", "terminal"], "count": [22, 14, 9], "score": [4.2, 2.9, 1.7]}
        ),
        needs_reply=pd.DataFrame(
            {
                "id": [3, 4],
                "source": ["reddit", "blog"],
                "kind": ["comment", "post"],
                "title": ["How do I install it?", title],
                "author": ["dave", "erin"],
                "url": ["https://example.com/3", "https://example.com/4"],
                "published_at": [now - timedelta(hours=30), now - timedelta(hours=2)],
                "age_hours": [30.0, 2.0],
            }
        ),
        sources=sample_sources(now),
    )


def sample_sources(now: datetime = NOW) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": list(SOURCES),
            "type": ["hackernews", "reddit", "feed", "mastodon"],
            "target": [
                "hackernews: textual",
                "reddit: textual",
                "https://blog.example/feed",
                "mastodon: textual",
            ],
            "status": ["ok", "not modified", "ok", "failing"],
            "last_attempt_at": [now - timedelta(minutes=2)] * 4,
            "last_success_at": [now - timedelta(minutes=2)] * 3 + [now - timedelta(hours=4)],
            "next_poll_at": [now + timedelta(minutes=3)] * 4,
            "http_status": [200, 304, 200, 500],
            "consecutive_failures": [0, 0, 0, 3],
            "error_class": ["", "", "", "http"],
            "last_error": ["", "", "", "HTTP 500 from https://mastodon.example: [bold]Internal[/] error"],
            "notes": ["", "", "", ""],
            "mentions_total": [500, 200, 30, 80],
        }
    )


def sample_mentions(
    count: int = 30, now: datetime = NOW, titles: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    rows = []
    for number in range(count, 0, -1):
        title = titles[number % len(titles)] if titles else f"Mention number {number} about textual"
        rows.append(
            {
                "id": number,
                "source": SOURCES[number % len(SOURCES)],
                "kind": "post" if number % 3 else "comment",
                "author": f"user{number}",
                "title": title,
                "url": f"https://example.com/{number}",
                "published_at": pd.Timestamp(now - timedelta(minutes=7 * (count - number))),
                "likes": number % 7,
                "replies": number % 3,
                "shares": None,
            }
        )
    return rows


def test_samples_follow_the_contract_shapes() -> None:
    data = sample_dashboard()
    assert list(data.volume.columns) == [*SOURCES, "total"]
    assert data.volume_status.shape == data.volume.shape
    assert set(data.volume_status.to_numpy().ravel()) == {"ok", "no data"}
    assert {"bucket_start", "source", "mentions", "baseline", "score", "mention_ids"} <= set(
        data.spikes.columns
    )
    assert list(data.needs_reply["age_hours"]) == sorted(data.needs_reply["age_hours"], reverse=True)


# -- a pre-filled store, written through the real Store, for snapshots -------------------------------

SNAPSHOT_KEYWORDS = ("textual", "rich", "tui")


def snapshot_config(directory: Path) -> Config:
    """Five sources of several types; the store below gives them every status the panel shows."""
    sources = (
        SourceConfig("Hacker News", "hackernews", 900.0, options={"query": "textual"}),
        SourceConfig("r/Python", "reddit", 900.0, options={"query": "textual"}),
        SourceConfig("Textual blog", "feed", 3600.0, url="https://blog.example/feed.xml"),
        SourceConfig("Mastodon #textual", "mastodon", 900.0, options={"tag": "textual"}),
        SourceConfig("Stack Overflow", "stackexchange", 1800.0, options={"tag": "textual"}),
    )
    settings = Settings(keywords=SNAPSHOT_KEYWORDS, database=directory / "snapshot.db")
    return Config(path=directory / "feeds.toml", settings=settings, sources=sources)


def _mention(source: str, number: int, published: datetime, rng: random.Random, title: str = "") -> Mention:
    words = ["textual", "rich", "tui", "widgets", "release", "terminal", "python", "dashboard"]
    chosen = " ".join(rng.sample(words, 3))
    return Mention(
        key=f"{source}-{number}",
        kind=MentionKind.COMMENT if number % 4 == 0 else MentionKind.POST,
        url=f"https://example.com/{source.replace(' ', '-').lower()}/{number}",
        title=title or f"{chosen.capitalize()} — thread {number}",
        author=f"{source.split()[0].lower()}_user{number % 9}",
        published=published,
        summary=f"Full text of mention {number}: {chosen}.\nSecond paragraph with more about {chosen}.",
        likes=rng.randint(0, 40),
        replies=0 if number % 5 == 0 else rng.randint(1, 9),
        shares=rng.randint(0, 5) if source != "Textual blog" else None,
    )


def fill_store(database: Path, config: Config, now: datetime = NOW) -> None:
    """A week of mentions (a spike five hours ago, hostile titles, growing engagement) and source states."""
    rng = random.Random(1234)
    with Store.open(database) as store:
        store.sync_sources(
            config.sources, {source.name: source_config_hash(source) for source in config.sources}
        )
        for index, source in enumerate(config.sources[:3]):
            mentions = []
            for number in range(0, 7 * 24, 3 + index):
                published = now - timedelta(hours=7 * 24 - number, minutes=17 * index)
                title = HOSTILE_TITLES[number % len(HOSTILE_TITLES)] if index == 2 and number > 140 else ""
                mentions.append(_mention(source.name, number, published, rng, title))
            if index == 0:  # the spike
                mentions += [
                    _mention(source.name, 1000 + n, now - timedelta(hours=5, minutes=3 * n), rng)
                    for n in range(14)
                ]
            _save(store, source, now - timedelta(hours=3), mentions)
            grown = [
                replace(m, likes=(m.likes or 0) + 25 * (k + 1), replies=(m.replies or 0) + k)
                for k, m in enumerate(mentions[-4:])
                if m.published and m.published < now - timedelta(hours=3)
            ]
            _save(store, source, now - timedelta(minutes=20), grown)
        mastodon, stack = config.sources[3], config.sources[4]
        _save(
            store,
            mastodon,
            now - timedelta(days=2),
            [_mention(mastodon.name, 1, now - timedelta(days=2), rng)],
        )
        _fail(store, mastodon, now - timedelta(minutes=10), SourceStatus.FAILING, 3, 500,
              "http", "HTTP 500 from https://mastodon.example/api/v1/timelines/tag/textual: [b]Internal[/b] error")  # fmt: skip
        _fail(store, stack, now - timedelta(minutes=5), SourceStatus.RATE_LIMITED, 1, 429,
              "rate-limited", "HTTP 429 (rate-limited until 2025-03-14 12:45:00 UTC)",
              next_poll_at=now + timedelta(minutes=45))  # fmt: skip


def _save(store: Store, source: SourceConfig, at: datetime, mentions: list[Mention]) -> None:
    record = PollRecord(source.name, at, 0.4, SourceStatus.OK, http_status=200)
    update = SourceUpdate(SourceStatus.OK, at + timedelta(seconds=source.interval), 0)
    store.save_poll(source, record, update, PollOutcome(mentions=tuple(mentions), http_status=200))


def _fail(
    store: Store,
    source: SourceConfig,
    at: datetime,
    status: SourceStatus,
    failures: int,
    http_status: int,
    error_class: str,
    error: str,
    next_poll_at: datetime | None = None,
) -> None:
    next_at = next_poll_at or at + timedelta(minutes=30)
    record = PollRecord(
        source.name, at, 1.2, status, http_status=http_status, error_class=error_class, error=error
    )
    store.save_poll(source, record, SourceUpdate(status, next_at, failures), None)


def test_the_filled_store_has_every_status_a_spike_and_history(tmp_path: Path) -> None:
    from dashboard.analytics.dashboard import compute_dashboard
    from dashboard.analytics.windows import Window
    from dashboard.store.reader import StoreReader

    config = snapshot_config(tmp_path)
    fill_store(tmp_path / "s.db", config)
    with StoreReader.open(tmp_path / "s.db") as reader:
        data = compute_dashboard(reader, Window.last("24h", NOW), keywords=SNAPSHOT_KEYWORDS, now=NOW)
    assert set(data.sources["status"]) == {"ok", "failing", "rate-limited"}
    assert not data.spikes.empty
    assert not data.rising.empty
    assert not data.needs_reply.empty
    assert data.volume_status.isin(["no data"]).any().any()
