"""One description of each API's format (dashboard/demo/shapes.py), held to by both sides.

Every recording under tests/fixtures/<api>/ (what the source tests parse) and every answer the demo
serves must have exactly its API's shape: no field the shape lacks, none it requires missing, each of
its type. A field renamed in the demo, in a recording or in the shape alone fails here; and each
field of a shape must be shown by a recording or served by the demo, so a shape holds no dead field.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.demo import shapes
from dashboard.demo.server import DemoServer
from dashboard.demo.world import BLOG_HOST, STREAMS
from tests.conftest import FIXTURES, fixture_bytes

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# During the echo burst, in Stack Exchange's backoff window (world.py's incidents), later.
MOMENTS = (timedelta(minutes=3), timedelta(minutes=10), timedelta(hours=2), timedelta(hours=9))

# Each shape, the recordings of it, and demo requests answered with it.
SEARCH_SE = (
    "/stackexchange/2.3/search/advanced?q=lumen&site=stackoverflow&sort=creation&order=desc&pagesize=100"
)
FORMATS: dict[str, tuple[shapes.Shape, list[str], list[str]]] = {
    "hackernews search": (
        shapes.HN_SEARCH,
        ["hackernews/search_by_date.json", "hackernews/links_search_by_date.json"],
        [
            "/hn/api/v1/search_by_date?query=lumen&tags=(story,comment)&hitsPerPage=1000",
            f"/hn/api/v1/search_by_date?query={BLOG_HOST}&restrictSearchableAttributes=url&hitsPerPage=1000",
        ],
    ),
    "reddit listing": (
        shapes.REDDIT_LISTING,
        ["reddit/search.json", "reddit/links_search.json", "reddit/domain_new.json"],
        [
            "/reddit/search.json?q=lumen&sort=new&limit=100",
            "/reddit/search.json?q=lumen&sort=new&limit=100&raw_json=1",
            f"/reddit/domain/{BLOG_HOST}/new.json?limit=100",
        ],
    ),
    "mastodon statuses": (
        shapes.MASTODON_STATUSES,
        ["mastodon/tag_timeline.json", "mastodon/links_tag_timeline.json"],
        ["/mastodon/api/v1/timelines/tag/lumen?limit=40"],
    ),
    "bluesky searchPosts": (
        shapes.BLUESKY_SEARCH,
        ["bluesky/search_posts.json", "bluesky/links_search_posts.json"],
        [
            "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=100",
            f"/bluesky/xrpc/app.bsky.feed.searchPosts?q=*&domain={BLOG_HOST}&sort=latest&limit=100",
        ],
    ),
    "bluesky session": (shapes.BLUESKY_SESSION, ["bluesky/create_session.json"], []),
    "lemmy search": (
        shapes.LEMMY_SEARCH,
        ["lemmy/search.json", "lemmy/links_search.json", "lemmy/url_search.json"],
        [
            "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=50",
            f"/lemmy/api/v3/search?q={BLOG_HOST}&type_=Url&sort=New&limit=50",
        ],
    ),
    "lemmy post": (shapes.LEMMY_POST, ["lemmy/post.json"], []),
    "stackexchange items": (
        shapes.STACK_ITEMS,
        ["stackexchange/search.json", "stackexchange/links_search.json"],
        [SEARCH_SE, SEARCH_SE + "&filter=withbody"],
    ),
    "stackexchange error": (shapes.STACK_ERROR, ["stackexchange/throttle_violation.json"], []),
    "discourse search": (
        shapes.DISCOURSE_SEARCH,
        ["discourse/search.json", "discourse/links_search.json"],
        ["/discourse/search.json?q=lumen%20order:latest"],
    ),
    "discourse latest": (
        shapes.DISCOURSE_LATEST,
        ["discourse/latest.json", "discourse/busy_latest.json"],
        ["/discourse/latest.json"],
    ),
    "github issue search": (
        shapes.GITHUB_SEARCH,
        ["github/search_issues.json", "github/links_search_issues.json"],
        ["/github/search/issues?q=lumen&sort=created&order=desc&per_page=100"],
    ),
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fetch(demo: DemoServer, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(demo.url(path), data=body, method="POST" if body else "GET")
    try:
        response = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error  # an error answer has its shape too
    with response:
        raw = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
    return json.loads(raw)


def recorded(name: str) -> Any:
    return json.loads(fixture_bytes(*name.split("/")))


def failing(demo: DemoServer) -> bool:
    """Whether some stream answers with an error now (a Stack Exchange backoff is in its format)."""
    incidents = [demo.world.incident(stream) for stream in STREAMS]
    return any(incident is not None and incident.kind != "backoff" for incident in incidents)


@pytest.fixture(scope="module")
def served() -> dict[str, list[Any]]:
    """What the demo answers each shape's requests with, at several moments of its world."""
    answers: dict[str, list[Any]] = {name: [] for name in FORMATS}
    clock = Clock(START)
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        for moment in MOMENTS:
            clock.now = START + moment
            while failing(demo):
                clock.now += timedelta(seconds=30)  # an error's answers are not the API's format
            for name, (_, _, requests) in FORMATS.items():
                answers[name] += [fetch(demo, path) for path in requests]
            posts = answers["lemmy search"][-2]["posts"]
            answers["lemmy post"] += [
                fetch(demo, f"/lemmy/api/v3/post?id={view['post']['id']}") for view in posts[:8]
            ]
            login = json.dumps({"identifier": "ana.bsky.social", "password": "app-password"}).encode()
            answers["bluesky session"].append(
                fetch(demo, "/bluesky/xrpc/com.atproto.server.createSession", login)
            )
            answers["stackexchange error"].append(
                fetch(demo, "/stackexchange/2.3/questions/;?site=stackoverflow")
            )
    return answers


def fields(shape: shapes.Shape, value: Any, where: str = "$") -> set[str]:
    """The shape's field paths that `value` shows (descending only where the value has the shape)."""
    if isinstance(shape, shapes.Maybe):
        return set() if value is None else fields(shape.shape, value, where)
    if isinstance(shape, list) and isinstance(value, list):
        return set().union(*(fields(shape[0], item, where + "[]") for item in value))
    if isinstance(shape, dict) and isinstance(value, dict):
        found: set[str] = set()
        for key, inner in shape.items():
            name = key.removesuffix("?")
            if name in value:
                found |= {f"{where}.{name}"} | fields(inner, value[name], f"{where}.{name}")
        return found
    return set()


RECORDINGS = [(name, fixture) for name, (_, fixtures, _) in FORMATS.items() for fixture in fixtures]


@pytest.mark.parametrize(("name", "fixture"), RECORDINGS, ids=[fixture for _, fixture in RECORDINGS])
def test_every_recording_has_its_apis_shape(name: str, fixture: str) -> None:
    assert shapes.problems(FORMATS[name][0], recorded(fixture)) == []


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_demo_answer_has_its_apis_shape(served: dict[str, list[Any]], name: str) -> None:
    answers = served[name]
    assert answers, "the demo was asked nothing in this format"
    assert [found for answer in answers for found in shapes.problems(FORMATS[name][0], answer)] == []


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_field_of_a_shape_is_recorded_or_served(served: dict[str, list[Any]], name: str) -> None:
    shape, fixtures, _ = FORMATS[name]
    shown: set[str] = set()
    for value in [recorded(fixture) for fixture in fixtures] + served[name]:
        shown |= fields(shape, value)
    assert sorted(shapes.paths(shape) - shown) == []


def test_the_demo_serves_what_the_recordings_show_of_each_item(served: dict[str, list[Any]]) -> None:
    """The demo's Algolia hits carry every field of the recorded hits: the shape's `?` fields
    are on some records only, but a field every recording shows is one the demo shows too."""
    for name, (shape, fixtures, _) in FORMATS.items():
        if not served[name]:
            continue
        in_recordings = set().union(*(fields(shape, recorded(fixture)) for fixture in fixtures))
        in_demo = set().union(*(fields(shape, answer) for answer in served[name]))
        assert sorted(in_recordings - in_demo - NOT_PLAYED.get(name, set())) == [], name


def _under(*prefixes: str) -> set[str]:
    """Every field path of the shapes at or under one of `prefixes`."""
    every = set().union(*(shapes.paths(shape) for shape, _, _ in FORMATS.values()))
    return {path for path in every if any(path == p or path.startswith(p + ".") for p in prefixes)}


# Recorded fields the demo's world never produces: it plays no boosts, replies, quotes, mentions,
# thumbnails or search highlights, and its Discourse search lists blurbs, not `cooked` HTML
# (shared/reference/sources.md documents blurb; the source reads cooked when an answer has it).
NOT_PLAYED: dict[str, set[str]] = {
    "hackernews search": {"$.hits[]._highlightResult"},
    "mastodon statuses": _under("$[].reblog"),
    "bluesky searchPosts": _under(
        "$.posts[].record.reply",
        "$.posts[].record.embed.record",
        "$.posts[].record.embed.media",
        "$.posts[].record.embed.external.thumb",
        "$.posts[].record.facets[].features[].did",
    ),
    "discourse search": {"$.posts[].cooked"},
}


# -- the checker itself -------------------------------------------------------------------------

STATUS = recorded("mastodon/tag_timeline.json")[0]


def test_a_renamed_field_is_both_unknown_and_missing() -> None:
    renamed = {
        ("favorites_count" if key == "favourites_count" else key): value for key, value in STATUS.items()
    }
    assert shapes.problems(shapes.MASTODON_STATUS, STATUS) == []
    assert sorted(shapes.problems(shapes.MASTODON_STATUS, renamed)) == [
        "$.favorites_count: not in the format",
        "$.favourites_count: missing",
    ]


def test_a_field_on_some_records_may_be_absent_but_not_renamed() -> None:
    account = dict(STATUS["account"])
    del account["bot"]
    assert shapes.problems(shapes.MASTODON_STATUS["account"], account) == []
    account["robot"] = True
    assert shapes.problems(shapes.MASTODON_STATUS["account"], account) == ["$.robot: not in the format"]


def test_types_are_exact_and_nesting_is_followed() -> None:
    assert shapes.problems(int, True) == ["$: bool, not int"]
    assert shapes.problems(float, 1) == ["$: int, not float"]
    assert shapes.problems(str | None, None) == []
    assert shapes.problems(str | None, 3) == ["$: int, not str | None"]
    assert shapes.problems(None, "") == ["$: str, not null"]
    assert shapes.problems(shapes.Maybe({"a": int}), None) == []
    assert shapes.problems(shapes.Maybe({"a": int}), {"a": "1"}) == ["$.a: str, not int"]
    assert shapes.problems([{"a?": int}], [{}, {"a": 1}, {"a": []}]) == ["$[].a: list, not int"]
    assert shapes.problems({"a": [str]}, {"a": {}}) == ["$.a: dict, not a list"]
    assert shapes.problems(shapes.ANY, object()) == []


def test_the_demo_refuses_to_serve_an_answer_out_of_its_format() -> None:
    with pytest.raises(shapes.ShapeError, match=r"\$\.favorites_count: not in the format"):
        shapes.check(shapes.MASTODON_STATUS, {**STATUS, "favorites_count": 1}, "a status")


def test_every_json_recording_of_these_apis_is_checked() -> None:
    apis = {fixture.split("/")[0] for _, fixture in RECORDINGS}
    on_disk = {
        f"{path.parent.name}/{path.name}" for api in apis for path in FIXTURES.joinpath(api).glob("*.json")
    }
    assert on_disk == {fixture for _, fixture in RECORDINGS}
