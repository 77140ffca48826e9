"""Stack Exchange source: question parsing, gzip, paging, fromdate, by-id refresh, quota, backoff, errors.

A small Stack Exchange stand-in on the real local HTTP server always answers gzip (as the API does),
honours fromdate/pagesize/page and counts its quota down, so requests are checked by their effect.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import HTTPError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.common import SeenUpTo
from dashboard.sources.stackexchange import (
    QUOTA_RESERVE,
    REFRESH_EVERY,
    StackExchangeSource,
    error_of,
    explain_refusal,
    parse_page,
    question_to_mention,
    refresh_due,
    refresh_ids,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SEARCH: dict[str, Any] = json.loads(fixture_bytes("stackexchange", "search.json"))
ITEMS: list[dict[str, Any]] = SEARCH["items"]
BY_ID = {str(item["question_id"]): item for item in ITEMS}
THROTTLED = fixture_bytes("stackexchange", "throttle_violation.json")
NEWEST = ITEMS[0]["creation_date"]  # 79281544 and 79281502 share this second


def _gzip_json(body: object, status: int = 200) -> Reply:
    headers = {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"}
    return Reply(status, gzip.compress(json.dumps(body).encode()), headers)


class FakeStackExchange:
    """Answers /2.3/search/advanced: newest first, inclusive fromdate, pages, a quota that counts down."""

    def __init__(self, items: list[dict[str, Any]], quota: int = 287, backoff: int | None = None) -> None:
        self.items = sorted(items, key=lambda item: item["creation_date"], reverse=True)
        self.quota = quota
        self.backoff = backoff

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert "gzip" in seen.headers.get("accept-encoding", "")
        params = (seen.param("q"), seen.param("site"), seen.param("sort"), seen.param("order"))
        assert params == ("driftwood", "stackoverflow", "creation", "desc")
        items = [i for i in self.items if i["creation_date"] >= int(seen.param("fromdate", "0"))]
        size, page = int(seen.param("pagesize", "30")), int(seen.param("page", "1"))
        self.quota -= 1
        body: dict[str, Any] = {
            "items": items[(page - 1) * size : page * size],
            "has_more": page * size < len(items),
            "quota_max": 300,
            "quota_remaining": self.quota,
        }
        if self.backoff is not None:
            body["backoff"] = self.backoff
        return _gzip_json(body)


def questions_with(counts: Mapping[str, tuple[int, int, int]]) -> Any:
    """Answers /2.3/questions/{ids} with the named questions' new (score, answers, views)."""

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        ids = seen.path.rsplit("/", 1)[1].split(";")
        items = []
        for key in ids:
            if key in BY_ID:
                item = copy.deepcopy(BY_ID[key])
                item["score"], item["answer_count"], item["view_count"] = counts.get(key, (0, 0, 0))
                items.append(item)
        return _gzip_json({"items": items, "has_more": False, "quota_max": 300, "quota_remaining": 250})

    return handler


def synthetic_questions(count: int) -> list[dict[str, Any]]:
    items = []
    for n in range(count):
        item = copy.deepcopy(ITEMS[3])
        item["question_id"] = 79200000 + n
        item["creation_date"] = ITEMS[-1]["creation_date"] - 60 * (n + 1)  # older than every fixture item
        items.append(item)
    return items


def config(server: LocalServer, max_items: int = 100, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="so",
        type="stackexchange",
        interval=900,
        base_url=server.base_url,
        max_items=max_items,
        options={"query": "driftwood", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(key: str) -> Mention:
    mention = question_to_mention(BY_ID[key])
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_question_maps_score_answers_views_and_decodes_entities() -> None:
    assert mention_of("79281544") == Mention(
        key="79281544",
        kind=MentionKind.POST,
        url="https://stackoverflow.com/questions/79281544/how-do-i-configure-driftwoods-poll-interval-per-feed",
        title="How do I configure Driftwood's poll interval per feed?",
        author="María José",
        published=datetime.fromtimestamp(NEWEST, UTC),
        summary="I have interval = 900 in feeds.toml but one feed needs <5 min.",
        likes=3,
        replies=1,
        views=57,
    )


def test_hostile_titles_stay_literal_and_display_safe_removes_the_escape() -> None:
    markup = mention_of("79281502")
    escape = mention_of("79281377")
    assert markup.title == "Great post [/bold] & <b>bold</b> tags in Driftwood titles"
    assert "\x1b" in escape.title
    assert display_safe(escape.title) == "[2JDriftwood crashes on start with sqlite3.OperationalError"


def test_parse_page_reads_the_wrapper() -> None:
    page = parse_page({**SEARCH, "has_more": True, "backoff": 10, "items": [*ITEMS, {"title": "no id"}]}, NOW)
    assert [m.key for m in page.mentions] == list(BY_ID)
    assert (page.has_more, page.quota_max, page.quota_remaining, page.backoff) == (True, 300, 287, 10)


@pytest.mark.parametrize("body", [[], {"quota_max": 300}, {"items": "x"}])
def test_parse_page_rejects_bodies_without_items(body: object) -> None:
    with pytest.raises(ParseError):
        parse_page(body, NOW)


def test_throttle_violation_is_a_rate_limit_until_the_quota_returns() -> None:
    error = error_of(json.loads(THROTTLED), NOW, http_status=400)
    assert isinstance(error, RateLimited)
    assert error.until == NOW + timedelta(seconds=80430)
    assert "throttle_violation" in error.message
    with pytest.raises(RateLimited):
        parse_page(json.loads(THROTTLED), NOW)


def test_key_errors_need_credentials_and_others_are_clear_http_errors() -> None:
    refused = error_of({"error_id": 403, "error_name": "access_denied", "error_message": "no"}, NOW, "SO_KEY")
    assert isinstance(refused, NeedsCredentials)
    assert refused.env_var == "SO_KEY"
    suggested = error_of({"error_id": 405, "error_name": "key_required", "error_message": "x"}, NOW)
    assert isinstance(suggested, NeedsCredentials)
    assert suggested.env_var == "STACKEXCHANGE_KEY"
    bad = error_of({"error_id": 400, "error_name": "bad_parameter", "error_message": "site is required"}, NOW)
    assert isinstance(bad, HTTPError)
    assert bad.message == "Stack Exchange bad_parameter (400): site is required"
    assert error_of(SEARCH, NOW) is None


def test_seen_up_to_keeps_same_second_questions_apart() -> None:
    twin, other, older = mention_of("79281544"), mention_of("79281502"), mention_of("79281377")
    seen = SeenUpTo().advance([twin, older])
    assert seen.to_cursor() == {"since": NEWEST, "at_since": ["79281544"]}
    assert (seen.is_new(twin), seen.is_new(other), seen.is_new(older)) == (False, True, False)
    assert SeenUpTo.from_cursor(seen.to_cursor()) == seen


def test_refresh_ids_and_when_refresh_is_due() -> None:
    assert refresh_ids(["5", "700", "x", "61", "700"], skip=["61"]) == ["700", "5"]
    assert len(refresh_ids([str(n) for n in range(250)], skip=[])) == 100
    hour_ago = int(NOW.timestamp() - REFRESH_EVERY)
    assert refresh_due(None, NOW, None)
    assert refresh_due(hour_ago, NOW, 100)
    assert not refresh_due(hour_ago + 60, NOW, 100)
    assert not refresh_due(None, NOW, QUOTA_RESERVE - 1)


def test_registered_with_its_keys() -> None:
    assert source_types()["stackexchange"] is StackExchangeSource
    assert StackExchangeSource.keys["query"].required
    assert StackExchangeSource.keys["site"].default == "stackoverflow"
    assert StackExchangeSource.min_interval >= 300


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_reads_gzip_and_notes_the_quota(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange(ITEMS))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))

    (seen,) = server.requests_to("/2.3/search/advanced")
    assert (seen.param("pagesize"), seen.param("page"), seen.param("fromdate")) == ("100", "1", "")
    assert seen.param("filter") == "withbody"
    assert "key" not in seen.query
    assert [m.key for m in outcome.mentions] == list(BY_ID)
    assert outcome.mentions[0].title == "How do I configure Driftwood's poll interval per feed?"
    assert outcome.cursor == {"since": NEWEST, "at_since": ["79281502", "79281544"]}
    assert outcome.notes == "quota 286/300"
    assert outcome.not_before is None
    assert outcome.bytes_read > 0


async def test_first_poll_pages_until_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange([*ITEMS, *synthetic_questions(170)]))
    outcome = await make_source(config(server, max_items=150)).poll(context(fetcher, first_poll=True))

    requests = server.requests_to("/2.3/search/advanced")
    assert [(seen.param("pagesize"), seen.param("page")) for seen in requests] == [("100", "1"), ("100", "2")]
    assert len(outcome.mentions) == 150
    assert [m.key for m in outcome.mentions[:5]] == list(BY_ID)
    assert outcome.notes == "quota 285/300"


async def test_small_max_items_asks_for_a_small_page(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange([*ITEMS, *synthetic_questions(20)]))
    outcome = await make_source(config(server, max_items=12)).poll(context(fetcher, first_poll=True))
    (seen,) = server.requests_to("/2.3/search/advanced")
    assert seen.param("pagesize") == "12"
    assert len(outcome.mentions) == 12


async def test_second_poll_asks_from_the_newest_date(server: LocalServer, fetcher: Fetcher) -> None:
    newer = copy.deepcopy(ITEMS[2])
    newer.update(question_id=79281600, creation_date=NEWEST + 300, title="Driftwood &amp; Textual 8")
    server.route("/2.3/search/advanced", FakeStackExchange([newer, *ITEMS]))
    cursor = {"since": NEWEST, "at_since": ["79281544"]}
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))

    (seen,) = server.requests_to("/2.3/search/advanced")
    assert seen.param("fromdate") == str(NEWEST)
    assert [(m.key, m.title) for m in outcome.mentions] == [
        ("79281600", "Driftwood & Textual 8"),
        ("79281502", mention_of("79281502").title),  # same second as the cursor, not seen before
    ]
    assert outcome.cursor == {"since": NEWEST + 300, "at_since": ["79281600"]}


async def test_young_questions_are_refreshed_in_one_call(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange(ITEMS))
    server.route("/2.3/questions/79281377;79280911;79279050", questions_with({"79280911": (15, 4, 610)}))
    cursor = {
        "since": NEWEST,
        "at_since": ["79281502", "79281544"],
        "refreshed_at": int(NOW.timestamp()) - 7200,
    }
    keys = ["79279050", "79281377", "79280911"]
    outcome = await make_source(config(server, key_env="SO_KEY")).poll(
        context(fetcher, cursor=cursor, refresh_keys=keys, env={"SO_KEY": "k3y"})
    )

    (refresh,) = server.requests_to("/2.3/questions/79281377;79280911;79279050")
    assert (refresh.param("site"), refresh.param("key"), refresh.param("filter")) == (
        "stackoverflow",
        "k3y",
        "withbody",
    )
    assert server.requests_to("/2.3/search/advanced")[0].param("key") == "k3y"
    counts = {m.key: (m.likes, m.replies, m.views) for m in outcome.mentions}
    assert counts == {"79281377": (0, 0, 0), "79280911": (15, 4, 610), "79279050": (0, 0, 0)}
    assert outcome.cursor["refreshed_at"] == int(NOW.timestamp())
    assert outcome.notes == "quota 250/300"


async def test_refresh_waits_an_hour_between_rounds(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange(ITEMS))
    recent = int(NOW.timestamp()) - 600
    cursor = {"since": NEWEST, "at_since": ["79281502", "79281544"], "refreshed_at": recent}
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=["79279050"])
    )
    assert [seen.path for seen in server.seen] == ["/2.3/search/advanced"]
    assert outcome.mentions == ()
    assert outcome.cursor["refreshed_at"] == recent


async def test_backoff_sets_not_before_and_stops_paging(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange([*ITEMS, *synthetic_questions(20)], backoff=30))
    outcome = await make_source(config(server, max_items=10)).poll(context(fetcher, first_poll=True))
    assert len(server.requests_to("/2.3/search/advanced")) == 1  # has_more, but the backoff forbids page 2
    assert len(outcome.mentions) == 10
    assert outcome.not_before == NOW + timedelta(seconds=30)


async def test_rate_limit_on_search_raises_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", b"slow down", status=429, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=119) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=121)


async def test_throttle_refusal_in_a_400_body_is_a_rate_limit(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", _gzip_json(json.loads(THROTTLED), status=400))
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 400
    assert "throttle_violation" in caught.value.message


async def test_refusal_without_a_readable_reason_is_a_clear_error(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/2.3/search/advanced", b"<html>bad</html>", status=400)
    with pytest.raises(HTTPError) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 400
    assert "daily quota" in caught.value.message


def test_error_body_kept_by_the_fetcher_is_read() -> None:
    refused = HTTPError("HTTP 400 Bad Request", http_status=400)
    refused.body = THROTTLED  # what the fetcher keeps of a refused response
    explained = explain_refusal(refused, NOW)
    assert isinstance(explained, RateLimited)
    assert explained.until == NOW + timedelta(seconds=80430)


async def test_forbidden_needs_the_key_variable(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", b"denied", status=403)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server, key_env="SO_KEY")).poll(context(fetcher, first_poll=True))
    assert caught.value.env_var == "SO_KEY"
    assert "SO_KEY" in caught.value.message


async def test_unset_key_variable_is_noted_and_not_sent(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange(ITEMS))
    outcome = await make_source(config(server, key_env="SO_KEY")).poll(context(fetcher, first_poll=True))
    assert "key" not in server.requests_to("/2.3/search/advanced")[0].query
    assert outcome.notes == "quota 286/300; SO_KEY is not set: anonymous quota"


async def test_incremental_poll_cut_by_max_items_says_so(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/2.3/search/advanced", FakeStackExchange(ITEMS))
    cursor = {"since": ITEMS[-1]["creation_date"] - 1, "at_since": []}
    outcome = await make_source(config(server, max_items=3)).poll(context(fetcher, cursor=cursor))
    assert len(outcome.mentions) == 3
    assert (
        outcome.notes == "quota 286/300; max_items (3) new items read: older new ones may have been skipped"
    )
