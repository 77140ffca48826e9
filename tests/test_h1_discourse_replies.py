"""Discourse replies are every post after the first (posts_count - 1), not `reply_count`.

`busy_latest.json` is shaped like the latest topics of a busy real forum: 30 topics of 2 to 83 posts,
where `reply_count` (direct "Reply" links only) reads 0 on 25 of them and 58 on the 83-post one. Every
topic has been answered, so none may wait in Needs reply.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.analytics import replies
from dashboard.analytics.replies import needs_reply
from dashboard.config import parse_config
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import SourceConfig
from dashboard.polling.service import running_poller
from dashboard.sources import make_source, source_types
from dashboard.sources.discourse import parse_latest, topic_replies
from dashboard.store.reader import StoreReader
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BUSY: dict[str, Any] = json.loads(fixture_bytes("discourse", "busy_latest.json"))
TOPICS = BUSY["topic_list"]["topics"]


def test_the_fixture_is_shaped_like_a_busy_forum() -> None:
    assert len(TOPICS) == 30
    assert min(t["posts_count"] for t in TOPICS) == 2
    assert max(t["posts_count"] for t in TOPICS) == 83
    assert sum(t["reply_count"] == 0 for t in TOPICS) == 25
    assert next(t["reply_count"] for t in TOPICS if t["posts_count"] == 83) == 58


def test_every_topic_counts_its_posts_after_the_first() -> None:
    listing = parse_latest(BUSY, "https://forum.example")
    by_key = {mention.key: mention for mention in listing.mentions}
    assert {key: m.replies for key, m in by_key.items()} == {
        f"t{t['id']}": t["posts_count"] - 1 for t in TOPICS
    }


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ({"posts_count": 83, "reply_count": 58}, 82),
        ({"posts_count": 1, "reply_count": 0}, 0),
        ({"posts_count": 0}, 0),
        ({"posts_count": -4}, 0),
        ({"reply_count": 3}, 3),  # no posts_count: the only count there is
        ({"reply_count": -3}, 0),
        ({"posts_count": "x", "reply_count": 2}, 2),
        ({}, None),
    ],
)
def test_topic_replies(topic: dict[str, Any], expected: int | None) -> None:
    assert topic_replies(topic) == expected


async def test_a_poll_against_a_real_server_reads_the_replies(server: LocalServer) -> None:
    server.route("/latest.json", Reply(200, json.dumps(BUSY).encode(), {"Content-Type": "application/json"}))
    config = SourceConfig(name="forum", type="discourse", interval=900, base_url=server.base_url)
    async with Fetcher(timeout=10.0) as fetcher:
        outcome = await make_source(config).poll(
            PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW)
        )
    assert len(outcome.mentions) == 30
    assert all(mention.replies is not None and mention.replies >= 1 for mention in outcome.mentions)


async def test_answered_topics_stay_out_of_needs_reply_through_store_and_reader(
    server: LocalServer, tmp_path: Path
) -> None:
    unanswered = {**TOPICS[0], "id": 48999, "posts_count": 1, "reply_count": 0, "title": "Nobody answered me"}
    unanswered["created_at"] = "2026-11-26T08:00:00.000Z"
    body = {
        **BUSY,
        "topic_list": {**BUSY["topic_list"], "topics": [unanswered, *TOPICS], "more_topics_url": None},
    }
    server.route("/latest.json", Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"}))
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "Forum"\nsource = "discourse"\nbase_url = "{server.base_url}"\n')
    config = parse_config(feeds.read_text(), feeds, registry=source_types())
    db = tmp_path / "forum.db"
    async with running_poller(config, db, clock=lambda: NOW) as poller:
        records = await poller.poll_once(force=True)
    assert [record.status.is_success for record in records] == [True], [(r.status, r.error) for r in records]
    with StoreReader.open(db) as reader:
        candidates = replies.unanswered(reader, NOW - timedelta(days=7), NOW)
    waiting = needs_reply(candidates, NOW)
    assert waiting["title"].tolist() == ["Nobody answered me"]
