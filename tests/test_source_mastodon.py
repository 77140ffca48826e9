"""Mastodon source: status parsing, max_id backfill, min_id forward polls, refresh by ids, limits, auth.

A small Mastodon stand-in on the real local HTTP server answers the tag timeline with Mastodon's paging
semantics (max_id: older than; min_id: immediately newer than; newest first) and `/api/v1/statuses?id[]=`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.mastodon import (
    MastodonSource,
    clean_tag,
    newest_keys_first,
    parse_statuses,
    status_to_mention,
    statuses_url,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STATUSES: list[dict[str, Any]] = json.loads(fixture_bytes("mastodon", "tag_timeline.json"))
BY_ID = {status["id"]: status for status in STATUSES}
IDS = [status["id"] for status in STATUSES]  # newest first: ...106 down to ...101
TIMELINE = "/api/v1/timelines/tag/acme"


def _json(body: object, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


class FakeTimeline:
    """A tag timeline: newest first; max_id = older than; min_id = the page immediately newer than."""

    def __init__(
        self, statuses: list[dict[str, Any]], page_cap: int = 40, headers: Mapping[str, str] | None = None
    ):
        self.statuses = sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
        self.page_cap = page_cap
        self.headers = headers or {}

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        size = min(int(seen.param("limit", "20")), self.page_cap)
        statuses = self.statuses
        if seen.param("max_id"):
            statuses = [s for s in statuses if int(s["id"]) < int(seen.param("max_id"))]
        if seen.param("min_id"):
            newer = [s for s in statuses if int(s["id"]) > int(seen.param("min_id"))]
            return _json(newer[-size:], self.headers)
        return _json(statuses[:size], self.headers)


def lookup(counts: Mapping[str, int]) -> Any:
    """/api/v1/statuses?id[]=...: the known statuses among those ids, with new favourite counts."""

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        ids = seen.query.get("id[]", [])
        return _json(
            [{**BY_ID[i], "favourites_count": counts[i], "reblogs_count": 7} for i in ids if i in counts]
        )

    return handler


def config(server: LocalServer, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="toots",
        type="mastodon",
        interval=900,
        base_url=server.base_url,
        max_items=options.pop("max_items", 100),
        options={"tag": "acme", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(status_id: str) -> Mention:
    mention = status_to_mention(BY_ID[status_id])
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_status_maps_favourites_replies_reblogs_and_plain_text() -> None:
    mention = mention_of(IDS[0])
    assert mention == Mention(
        key=IDS[0],
        kind=MentionKind.POST,
        url=f"https://social.example/@ada/{IDS[0]}",
        title="Just upgraded to Acme 3.0 #acme & it flies.",
        author="ada",
        published=datetime(2026, 11, 26, 11, 50, 12, tzinfo=UTC),
        summary="Just upgraded to Acme 3.0 #acme & it flies.\nSecond paragraph here.",
        likes=14,
        replies=2,
        shares=5,
        language="en",  # the status's own `language`; its #acme anchor is a hashtag, not a link
    )


def test_reply_is_a_comment_and_escaped_text_survives() -> None:
    mention = mention_of(IDS[2])
    assert mention.kind is MentionKind.COMMENT
    assert mention.summary == "@ada I <3 the new #acme plugin API"
    assert mention.author == "bea@fosstodon.example"


def test_content_warning_is_the_title_and_uri_stands_in_for_a_missing_url() -> None:
    mention = mention_of(IDS[3])
    assert mention.title == "CW: acme internals, long"
    assert mention.url == f"https://social.example/users/cy/statuses/{IDS[3]}"


def test_content_warning_is_plain_text_kept_as_typed() -> None:
    # Unlike `content`, `spoiler_text` is not HTML: Mastodon clients escape it before showing it.
    status = {**BY_ID[IDS[3]], "spoiler_text": "Vec<T> &amp; friends <3"}
    mention = status_to_mention(status)
    assert mention is not None
    assert mention.title == "CW: Vec<T> &amp; friends <3"


def test_hostile_content_stays_literal_and_display_safe_removes_the_escape() -> None:
    mention = mention_of(IDS[1])
    assert mention.title == "\x1b]52;c;cHduZWQ=\x07Great post [/bold] #acme"
    assert display_safe(mention.title) == "]52;c;cHduZWQ=Great post [/bold] #acme"


def test_a_boost_stands_for_the_boosted_status() -> None:
    boost = {"id": "999", "reblog": BY_ID[IDS[5]], "content": "", "account": {"acct": "booster"}}
    mention = status_to_mention(boost)
    assert mention is not None
    assert (mention.key, mention.author, mention.likes) == (IDS[5], "acme", 250)


def test_statuses_without_id_are_skipped() -> None:
    assert [m.key for m in parse_statuses([{"content": "x"}, BY_ID[IDS[4]], 7])] == [IDS[4]]


@pytest.mark.parametrize("body", [{"error": "This method requires an authenticated user"}, "x", None])
def test_parse_statuses_rejects_what_is_no_list(body: object) -> None:
    with pytest.raises(ParseError):
        parse_statuses(body)


def test_tags_are_cleaned_and_checked() -> None:
    assert clean_tag(" #Acme ") == "Acme"
    with pytest.raises(FetchError):
        clean_tag("two words")
    with pytest.raises(FetchError):
        clean_tag("#")


def test_statuses_url_repeats_the_id_key_and_keys_sort_by_id() -> None:
    assert (
        statuses_url("https://x.example", ["2", "1"])
        == "https://x.example/api/v1/statuses?id%5B%5D=2&id%5B%5D=1"
    )
    assert newest_keys_first(["9", "10", "113", "9"], 2) == ["113", "10"]


def test_registered_with_its_keys() -> None:
    assert source_types()["mastodon"] is MastodonSource
    assert MastodonSource.default_base_url is None
    assert MastodonSource.keys["tag"].required
    assert MastodonSource.keys["token_env"].default == "MASTODON_TOKEN"


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_pages_back_with_max_id(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES, page_cap=2))
    outcome = await make_source(config(server, max_items=5)).poll(context(fetcher, first_poll=True))

    requests = server.requests_to(TIMELINE)
    assert [seen.param("max_id") for seen in requests] == ["", IDS[1], IDS[3]]
    assert [seen.param("limit") for seen in requests] == ["5", "3", "1"]
    assert [m.key for m in outcome.mentions] == IDS[:5]
    assert outcome.cursor == {"min_id": IDS[0]}


async def test_first_poll_stops_at_the_end_of_the_timeline(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES, page_cap=4))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    # Mastodon filters pages after reading them, so a short page is no proof of the end: an empty one is.
    assert [seen.param("max_id") for seen in server.requests_to(TIMELINE)] == ["", IDS[3], IDS[5]]
    assert len(outcome.mentions) == 6


async def test_later_polls_go_forward_from_min_id_without_gaps(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES, page_cap=2))
    source = make_source(config(server))
    outcome = await source.poll(context(fetcher, cursor={"min_id": IDS[3]}))

    (seen,) = server.requests_to(TIMELINE)
    assert seen.param("min_id") == IDS[3]
    assert [m.key for m in outcome.mentions] == [IDS[1], IDS[2]]  # the two right after the cursor
    assert outcome.cursor == {"min_id": IDS[1]}

    following = await source.poll(context(fetcher, cursor=outcome.cursor))
    assert [m.key for m in following.mentions] == [IDS[0]]
    assert following.cursor == {"min_id": IDS[0]}


async def test_quiet_poll_keeps_the_cursor(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))
    outcome = await make_source(config(server)).poll(context(fetcher, cursor={"min_id": IDS[0]}))
    assert outcome.mentions == ()
    assert outcome.cursor == {"min_id": IDS[0]}


async def test_young_statuses_are_refreshed_by_id(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))
    server.route("/api/v1/statuses", lookup({IDS[4]: 30, IDS[5]: 400}))
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor={"min_id": IDS[0]}, refresh_keys=[IDS[5], IDS[4]])
    )
    (seen,) = server.requests_to("/api/v1/statuses")
    assert seen.query["id[]"] == [IDS[4], IDS[5]]
    assert {m.key: (m.likes, m.shares) for m in outcome.mentions} == {IDS[4]: (30, 7), IDS[5]: (400, 7)}


async def test_refresh_asks_twenty_ids_at_a_time(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))
    server.route("/api/v1/statuses", lookup({}))
    keys = [str(1000 + n) for n in range(25)]
    await make_source(config(server)).poll(context(fetcher, cursor={"min_id": IDS[0]}, refresh_keys=keys))
    assert [len(seen.query["id[]"]) for seen in server.requests_to("/api/v1/statuses")] == [20, 5]


async def test_instances_without_lookup_by_id_fall_back_to_the_timeline(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))  # /api/v1/statuses is not routed: 404
    source = make_source(config(server))
    outcome = await source.poll(context(fetcher, cursor={"min_id": IDS[0]}, refresh_keys=[IDS[2], "1"]))

    assert [seen.param("min_id") for seen in server.requests_to(TIMELINE)] == [IDS[0], ""]
    assert [m.key for m in outcome.mentions] == [IDS[2]]
    assert outcome.cursor == {"min_id": IDS[0], "batch_refresh": False}

    await source.poll(context(fetcher, cursor=outcome.cursor, refresh_keys=[IDS[2]]))
    assert len(server.requests_to("/api/v1/statuses")) == 1  # not asked again


async def test_rate_limit_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, b'{"error":"Too many requests"}', status=429, headers={"Retry-After": "90"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=89) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=91)


async def test_exhausted_rate_limit_headers_set_not_before(server: LocalServer, fetcher: Fetcher) -> None:
    reset = "2026-11-26T12:05:00.000Z"
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    server.route(TIMELINE, FakeTimeline(STATUSES, headers=headers))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert outcome.not_before == datetime(2026, 11, 26, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("status", [401, 422])
async def test_closed_timelines_need_a_token(server: LocalServer, fetcher: Fetcher, status: int) -> None:
    server.route(TIMELINE, b'{"error":"This method requires an authenticated user"}', status=status)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.env_var == "MASTODON_TOKEN"
    assert "MASTODON_TOKEN" in caught.value.message


async def test_token_from_the_named_variable_is_sent(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))
    source = make_source(config(server, token_env="SOCIAL_TOKEN"))
    await source.poll(context(fetcher, first_poll=True, env={"SOCIAL_TOKEN": "s3cret"}))
    assert {seen.headers.get("authorization") for seen in server.requests_to(TIMELINE)} == {"Bearer s3cret"}


async def test_without_a_token_nothing_is_sent(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(TIMELINE, FakeTimeline(STATUSES))
    await make_source(config(server)).poll(context(fetcher, first_poll=True, env={"OTHER": "x"}))
    assert all("authorization" not in seen.headers for seen in server.requests_to(TIMELINE))


async def test_an_instance_is_required(fetcher: Fetcher) -> None:
    source = make_source(SourceConfig(name="toots", type="mastodon", interval=900, options={"tag": "acme"}))
    with pytest.raises(FetchError, match="base_url"):
        await source.poll(context(fetcher, first_poll=True))


def test_only_http_links_are_kept() -> None:
    status = {**BY_ID[IDS[0]], "url": "javascript:alert(1)", "uri": "file:///etc/passwd"}
    mention = status_to_mention(status)
    assert mention is not None
    assert mention.url == ""
