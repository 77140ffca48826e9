"""GitHub source: item parsing, paging, created:>= cursor, refresh search, token, rate limits.

A small GitHub search stand-in on the real local HTTP server understands the `created:>=` qualifier,
`sort=created|updated`, `per_page` and `page`, and can send rate-limit headers.
"""

from __future__ import annotations

import copy
import json
import re
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
from dashboard.sources.github import (
    GitHubSource,
    github_time,
    item_to_mention,
    parse_search,
    with_created_since,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SEARCH: dict[str, Any] = json.loads(fixture_bytes("github", "search_issues.json"))
ITEMS: list[dict[str, Any]] = SEARCH["items"]
BY_ID = {str(item["id"]): item for item in ITEMS}
NEWEST = int(datetime(2026, 11, 26, 11, 48, 20, tzinfo=UTC).timestamp())  # two items share this second


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeGitHub:
    """Answers /search/issues: `QUERY [created:>=TIME]`, sorted by created or updated, paged."""

    def __init__(self, items: list[dict[str, Any]], headers: Mapping[str, str] | None = None) -> None:
        self.items = items
        self.headers = dict(headers or {})

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.headers.get("accept") == "application/vnd.github+json"
        match = re.fullmatch(r"driftwood(?: created:>=(\S+))?", seen.param("q"))
        assert match, seen.param("q")
        items = self.items
        if match.group(1):
            items = [i for i in items if _parse_time(i["created_at"]) >= _parse_time(match.group(1))]
        field = {"created": "created_at", "updated": "updated_at"}[seen.param("sort")]
        items = sorted(items, key=lambda item: (item[field], item["id"]), reverse=True)
        per_page, page = int(seen.param("per_page", "30")), int(seen.param("page", "1"))
        body = {
            "total_count": len(items),
            "incomplete_results": False,
            "items": items[(page - 1) * per_page : page * per_page],
        }
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json", **self.headers})


def synthetic_items(count: int) -> list[dict[str, Any]]:
    """Items older than every fixture item, one a minute."""
    items = []
    for n in range(count):
        item = copy.deepcopy(ITEMS[4])
        item["id"] = 3600000000 + n
        item["created_at"] = github_time(datetime(2026, 11, 25, 12, 0, tzinfo=UTC) - timedelta(minutes=n + 1))
        items.append(item)
    return items


def config(server: LocalServer, max_items: int = 100, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="gh",
        type="github",
        interval=900,
        base_url=server.base_url,
        max_items=max_items,
        options={"query": "driftwood", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(key: str) -> Mention:
    mention = item_to_mention(BY_ID[key])
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_issue_maps_comments_reactions_and_the_web_link() -> None:
    assert mention_of("3650012811") == Mention(
        key="3650012811",
        kind=MentionKind.POST,
        url="https://github.com/driftwood-dev/driftwood/issues/482",
        title="Driftwood crashes when a feed title contains Vec<T>",
        author="alice",
        published=datetime(2026, 11, 26, 11, 48, 20, tzinfo=UTC),
        summary="### What happened\n\nThe app exits with `MarkupError`.",
        likes=4,
        replies=2,
    )


def test_pull_request_is_a_post_too() -> None:
    mention = mention_of("3649870122")
    assert mention.url == "https://github.com/someone/awesome-dashboards/pull/57"
    assert (mention.kind, mention.likes, mention.replies) == (MentionKind.POST, 2, 1)


def test_hostile_titles_stay_literal_and_display_safe_removes_the_escape() -> None:
    markup, escape = mention_of("3650009934"), mention_of("3649870122")
    assert markup.title == "Great post [/bold] in the live panel"
    assert "\x1b" in escape.title
    assert display_safe(escape.title) == "]8;;https://evil.exampleAdd Driftwood to the list"


def test_missing_body_is_an_empty_summary() -> None:
    assert mention_of("3649002417").summary == ""
    assert item_to_mention({"title": "no id"}) is None


def test_parse_search_reads_items_and_totals() -> None:
    page = parse_search({**SEARCH, "incomplete_results": True})
    assert [m.key for m in page.mentions] == list(BY_ID)
    assert (page.size, page.total, page.incomplete) == (5, 5, True)


@pytest.mark.parametrize("body", [[], {"message": "Validation Failed"}, {"items": "x"}])
def test_parse_search_rejects_bodies_without_items(body: object) -> None:
    with pytest.raises(ParseError):
        parse_search(body)


def test_created_qualifier_is_second_precise_utc() -> None:
    assert (
        with_created_since("a b", datetime.fromtimestamp(NEWEST, UTC)) == "a b created:>=2026-11-26T11:48:20Z"
    )


def test_seen_up_to_keeps_same_second_items_apart() -> None:
    first, twin, older = mention_of("3650012811"), mention_of("3650009934"), mention_of("3649870122")
    seen = SeenUpTo().advance([first, older])
    assert seen.to_cursor() == {"since": NEWEST, "at_since": ["3650012811"]}
    assert (seen.is_new(first), seen.is_new(twin), seen.is_new(older)) == (False, True, False)
    assert SeenUpTo.from_cursor(seen.to_cursor()) == seen


def test_registered_with_its_keys_and_a_polite_interval() -> None:
    assert source_types()["github"] is GitHubSource
    assert GitHubSource.keys["query"].required
    assert not GitHubSource.keys["token_env"].required
    assert GitHubSource.min_interval >= 60  # 10 searches a minute anonymously, up to 2 a poll


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_reads_the_newest_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", FakeGitHub(ITEMS))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))

    (seen,) = server.requests_to("/search/issues")
    assert (seen.param("q"), seen.param("sort"), seen.param("order")) == ("driftwood", "created", "desc")
    assert (seen.param("per_page"), seen.param("page")) == ("100", "1")
    assert "authorization" not in seen.headers
    assert [m.key for m in outcome.mentions] == list(BY_ID)
    assert outcome.cursor == {"since": NEWEST, "at_since": ["3650009934", "3650012811"]}
    assert outcome.not_before is None


async def test_first_poll_pages_until_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", FakeGitHub([*ITEMS, *synthetic_items(200)]))
    outcome = await make_source(config(server, max_items=150)).poll(context(fetcher, first_poll=True))
    requests = server.requests_to("/search/issues")
    assert [(seen.param("per_page"), seen.param("page")) for seen in requests] == [("100", "1"), ("100", "2")]
    assert len(outcome.mentions) == 150
    assert [m.key for m in outcome.mentions[:5]] == list(BY_ID)


async def test_second_poll_appends_the_created_qualifier(server: LocalServer, fetcher: Fetcher) -> None:
    newer = copy.deepcopy(ITEMS[1])
    newer.update(id=3650099999, title="Driftwood &amp; Textual 8", created_at="2026-11-26T11:59:00Z")
    server.route("/search/issues", FakeGitHub([newer, *ITEMS]))
    cursor = {"since": NEWEST, "at_since": ["3650012811"]}
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))

    (seen,) = server.requests_to("/search/issues")
    assert seen.param("q") == "driftwood created:>=2026-11-26T11:48:20Z"
    assert [(m.key, m.title) for m in outcome.mentions] == [
        ("3650099999", "Driftwood &amp; Textual 8"),  # plain text: an entity in a title stays as typed
        ("3650009934", "Great post [/bold] in the live panel"),
    ]
    assert outcome.cursor == {"since": NEWEST + 640, "at_since": ["3650099999"]}


async def test_young_items_are_refreshed_by_a_search_sorted_by_update(
    server: LocalServer, fetcher: Fetcher
) -> None:
    items = copy.deepcopy(ITEMS)
    for item in items:
        item["comments"] += 10
    server.route("/search/issues", FakeGitHub(items))
    cursor = {"since": NEWEST, "at_since": ["3650009934", "3650012811"]}
    keys = ["3650012811", "3649002417", "1"]
    outcome = await make_source(config(server, token_env="GH_TOKEN")).poll(
        context(fetcher, cursor=cursor, refresh_keys=keys, env={"GH_TOKEN": "ghp_t0ken"})
    )

    search, refresh = server.requests_to("/search/issues")
    assert search.param("sort") == "created"
    assert (refresh.param("sort"), refresh.param("per_page")) == ("updated", "100")
    assert refresh.param("q") == "driftwood created:>=2026-11-19T12:00:00Z"  # refresh_for: 7 days
    assert {search.headers["authorization"], refresh.headers["authorization"]} == {"Bearer ghp_t0ken"}
    assert {m.key: m.replies for m in outcome.mentions} == {"3650012811": 12, "3649002417": 15}


async def test_no_refresh_search_without_young_keys(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", FakeGitHub(ITEMS))
    await make_source(config(server)).poll(context(fetcher, first_poll=True, refresh_keys=list(BY_ID)))
    assert len(server.requests_to("/search/issues")) == 1  # every young key came back in the search itself


async def test_spent_rate_limit_sets_not_before_and_skips_the_refresh(
    server: LocalServer, fetcher: Fetcher
) -> None:
    reset = NOW + timedelta(seconds=45)
    headers = {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(reset.timestamp())),
    }
    server.route("/search/issues", FakeGitHub(ITEMS, headers))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True, refresh_keys=["1"]))
    assert len(server.requests_to("/search/issues")) == 1
    assert len(outcome.mentions) == 5
    assert outcome.not_before == reset


async def test_forbidden_search_is_a_rate_limit_not_an_auth_failure(
    server: LocalServer, fetcher: Fetcher
) -> None:
    body = b'{"message":"API rate limit exceeded for 127.0.0.1.","documentation_url":"https://docs.github.com/rest"}'
    reset = str(int((NOW + timedelta(seconds=30)).timestamp()))
    server.route(
        "/search/issues", body, status=403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    )
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 403
    assert caught.value.until > NOW
    assert "token_env" in caught.value.message


async def test_rate_limit_429_raises_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", b"{}", status=429, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=119) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=121)


async def test_rate_limited_refresh_keeps_the_new_items(server: LocalServer, fetcher: Fetcher) -> None:
    github = FakeGitHub(ITEMS)

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        if seen.param("sort") == "updated":
            return Reply(429, b"{}", {"Retry-After": "90"})
        return github(seen, raw)

    server.route("/search/issues", handler)
    cursor = {"since": NEWEST - 1, "at_since": []}
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=["3649002417"])
    )
    assert [m.key for m in outcome.mentions] == ["3650012811", "3650009934"]
    assert outcome.not_before is not None
    assert outcome.not_before > NOW + timedelta(seconds=60)
    assert "engagement refresh failed" in outcome.notes


async def test_bad_token_needs_the_token_variable(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", b'{"message":"Bad credentials"}', status=401)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server, token_env="GH_TOKEN")).poll(
            context(fetcher, first_poll=True, env={"GH_TOKEN": "expired"})
        )
    assert caught.value.env_var == "GH_TOKEN"
    assert "GH_TOKEN" in caught.value.message


async def test_unset_token_variable_is_noted_and_search_stays_anonymous(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/search/issues", FakeGitHub(ITEMS))
    outcome = await make_source(config(server, token_env="GH_TOKEN")).poll(context(fetcher, first_poll=True))
    assert "authorization" not in server.requests_to("/search/issues")[0].headers
    assert outcome.notes == "GH_TOKEN is not set: anonymous search (10 a minute)"


async def test_invalid_query_is_a_clear_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", b'{"message":"Validation Failed"}', status=422)
    with pytest.raises(HTTPError, match="rejected the search query") as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 422
    assert "is:issue" in caught.value.message


async def test_incremental_poll_cut_by_max_items_says_so(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search/issues", FakeGitHub(ITEMS))
    cursor = {"since": NEWEST - 86400, "at_since": []}
    outcome = await make_source(config(server, max_items=2)).poll(context(fetcher, cursor=cursor))
    assert len(outcome.mentions) == 2
    assert outcome.notes == "max_items (2) new items read: older new ones may have been skipped"
