"""The demo speaks each API in the shape of the recorded responses the source tests are built on.

The fixture files under tests/fixtures/<api>/ are the one description of each API's format: the
source tests parse them, and here every field they hold (at every depth) must also be in what the
demo serves for the same endpoint, so the demo cannot drift into a format of its own. The demo may
serve more fields than one recording shows (real answers vary); it may not serve fewer.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.demo.server import DemoServer
from tests.conftest import fixture_bytes

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = timedelta(hours=2)  # long enough for replies and comments to exist in the demo world

# Fields a real answer carries only on some records, which the demo world never produces.
ONLY_ON_SOME = {
    "bluesky": {"posts[].record.reply"},  # only on replies; the demo plays no Bluesky replies
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    clock = Clock(START)
    with DemoServer(seed=7, clock=clock, start=START) as server:
        clock.now = START + LATER
        yield server


def served(demo: DemoServer, path: str) -> Any:
    with urllib.request.urlopen(demo.url(path), timeout=10) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body)


def field_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value: `a.b`, `list[].c` (the union over the list's items)."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found |= {path} | field_paths(inner, path)
        return found
    if isinstance(value, list):
        return set().union(*(field_paths(item, prefix + "[]") for item in value))
    return set()


def _hits_of(kind: str) -> Callable[[Any], Any]:
    """Algolia hits of one kind: stories and comments carry different fields."""
    return lambda answer: {"hits": [hit for hit in answer["hits"] if kind in hit["_tags"]]}


CASES = [
    (
        "hackernews",
        "search_by_date.json",
        "/hn/api/v1/search_by_date?query=lumen&tags=(story,comment)&hitsPerPage=1000",
        _hits_of("story"),
    ),
    (
        "hackernews",
        "search_by_date.json",
        "/hn/api/v1/search_by_date?query=lumen&tags=(story,comment)&hitsPerPage=1000",
        _hits_of("comment"),
    ),
    ("reddit", "search.json", "/reddit/search.json?q=lumen&sort=new&limit=100", None),
    ("mastodon", "tag_timeline.json", "/mastodon/api/v1/timelines/tag/lumen?limit=40", None),
    (
        "bluesky",
        "search_posts.json",
        "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=100",
        None,
    ),
    ("lemmy", "search.json", "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=50", None),
    (
        "stackexchange",
        "search.json",
        "/stackexchange/2.3/search/advanced?q=lumen&site=stackoverflow&sort=creation&order=desc&pagesize=100&filter=withbody",
        None,
    ),
    ("discourse", "search.json", "/discourse/search.json?q=lumen%20order:latest", None),
    ("discourse", "latest.json", "/discourse/latest.json", None),
    (
        "github",
        "search_issues.json",
        "/github/search/issues?q=lumen&sort=created&order=desc&per_page=100",
        None,
    ),
]


@pytest.mark.parametrize(
    ("api", "fixture", "path", "select"),
    CASES,
    ids=[f"{api}/{fixture}:{i}" for i, (api, fixture, _, _) in enumerate(CASES)],
)
def test_the_demo_serves_every_recorded_field(
    demo: DemoServer, api: str, fixture: str, path: str, select: Callable[[Any], Any] | None
) -> None:
    recorded = json.loads(fixture_bytes(api, fixture))
    answer = served(demo, path)
    if select is not None:
        recorded, answer = select(recorded), select(answer)
    optional = ONLY_ON_SOME.get(api, set())
    missing = {
        path
        for path in field_paths(recorded) - field_paths(answer)
        if not any(path == prefix or path.startswith(prefix + ".") for prefix in optional)
    }
    assert sorted(missing) == []
