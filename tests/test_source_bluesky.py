"""Bluesky source: post parsing, anonymous and app-password searches, paging, since, refresh, limits.

A small AppView/PDS stand-in on the real local HTTP server: searchPosts (sort=latest, since inclusive on
sortAt, cursor paging refused to anonymous callers like the public AppView), createSession and getPosts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.bluesky import (
    BlueskySource,
    Login,
    get_posts_url,
    newest_keys_first,
    parse_posts,
    post_to_mention,
)
from dashboard.sources.common import from_iso
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POSTS: list[dict[str, Any]] = json.loads(fixture_bytes("bluesky", "search_posts.json"))["posts"]
SESSION: dict[str, Any] = json.loads(fixture_bytes("bluesky", "create_session.json"))
BY_URI = {post["uri"]: post for post in POSTS}
URIS = [post["uri"] for post in POSTS]  # newest first
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
LOGIN_ENV = {"BLUESKY_IDENTIFIER": "watcher.bsky.social", "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}


def _json(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


def sort_at(post: Mapping[str, Any]) -> datetime:
    created, indexed = from_iso(post["record"]["createdAt"]), from_iso(post["indexedAt"])
    assert created is not None
    assert indexed is not None
    return min(created, indexed)


class FakeBluesky:
    """searchPosts + createSession + getPosts. Tokens are numbered per session; `valid_tokens` can expire."""

    def __init__(
        self, posts: list[dict[str, Any]], *, page_cap: int = 100, anonymous_search: bool = True
    ) -> None:
        self.posts = sorted(posts, key=sort_at, reverse=True)
        self.page_cap = page_cap
        self.anonymous_search = anonymous_search
        self.sessions = 0
        self.valid_tokens: set[str] = set()
        self.headers: dict[str, str] = {}

    def install(self, server: LocalServer) -> FakeBluesky:
        server.route(SEARCH, self.search)
        server.route(CREATE_SESSION, self.create_session)
        return self

    def _authorized(self, seen: Seen) -> bool | None:
        """True for a valid token, False for a stale one, None for none."""
        header = seen.headers.get("authorization", "")
        if not header:
            return None
        return header.removeprefix("Bearer ") in self.valid_tokens

    def create_session(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.method == "POST"
        body = json.loads(seen.body)
        if body != {
            "identifier": LOGIN_ENV["BLUESKY_IDENTIFIER"],
            "password": LOGIN_ENV["BLUESKY_APP_PASSWORD"],
        }:
            return _json(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401
            )
        self.sessions += 1
        token = f"{SESSION['accessJwt']}.{self.sessions}"
        self.valid_tokens.add(token)
        return _json({**SESSION, "accessJwt": token})

    def search(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.param("sort") == "latest"
        authorized = self._authorized(seen)
        if authorized is False:
            return _json({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        if authorized is None and (not self.anonymous_search or seen.param("cursor")):
            return _json({"error": "Forbidden", "message": "Forbidden"}, 403)
        posts = self.posts
        if seen.param("since"):
            since = from_iso(seen.param("since"))
            assert since is not None
            posts = [post for post in posts if sort_at(post) >= since]
        start = int(seen.param("cursor") or 0)
        size = min(int(seen.param("limit", "25")), self.page_cap)
        chunk = posts[start : start + size]
        body: dict[str, Any] = {"posts": chunk, "hitsTotal": len(posts)}
        if start + size < len(posts):
            body["cursor"] = str(start + size)
        return _json(body, headers=self.headers)


def get_posts(likes: Mapping[str, int]) -> Any:
    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        uris = seen.query.get("uris", [])
        return _json(
            {"posts": [{**BY_URI[u], "likeCount": likes[u], "quoteCount": 10} for u in uris if u in likes]}
        )

    return handler


def config(server: LocalServer, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="sky",
        type="bluesky",
        interval=900,
        base_url=server.base_url,
        max_items=options.pop("max_items", 100),
        options={"query": "acme", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(index: int) -> Mention:
    mention = post_to_mention(POSTS[index])
    assert mention is not None
    return mention


def cursor_after(index: int) -> dict[str, Any]:
    """The cursor a poll leaves after seeing POSTS[index] as its newest post."""
    return {"since": sort_at(POSTS[index]).timestamp(), "at_since": [URIS[index]]}


# --- pure parsing -------------------------------------------------------------------------------


def test_post_maps_likes_replies_reposts_plus_quotes_and_web_link() -> None:
    assert mention_of(0) == Mention(
        key="at://did:plc:ada4k2x7/app.bsky.feed.post/3mbqz6ytnvk2a",
        kind=MentionKind.POST,
        url="https://bsky.app/profile/ada.bsky.social/post/3mbqz6ytnvk2a",
        title="Acme 3.0 is fast.",
        author="ada.bsky.social",
        published=datetime(2026, 11, 26, 11, 51, 30, 120000, tzinfo=UTC),
        summary="Acme 3.0 is fast.\nReally fast: I <3 it & so does my team.",
        likes=21,
        replies=3,
        shares=5,
        language="en",  # record.langs[0]
    )


def test_reply_is_a_comment() -> None:
    assert mention_of(2).kind is MentionKind.COMMENT


def test_a_future_created_at_falls_back_to_indexed_at() -> None:
    assert mention_of(3).published == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_invalid_handle_links_by_did() -> None:
    mention = mention_of(4)
    assert mention.url == "https://bsky.app/profile/did:plc:gone1234/post/3mbqvu3gpsb2e"
    assert mention.author == "did:plc:gone1234"


def test_hostile_text_stays_literal_and_display_safe_removes_the_escape() -> None:
    mention = mention_of(1)
    assert mention.title == "\x1b]52;c;cHduZWQ=\x07Great post [/bold] about acme"
    assert display_safe(mention.title) == "]52;c;cHduZWQ=Great post [/bold] about acme"
    assert mention.author == "mallory.example.com"


def test_counts_missing_stay_unknown() -> None:
    post = {key: value for key, value in POSTS[0].items() if not key.endswith("Count")}
    mention = post_to_mention(post)
    assert mention is not None
    assert (mention.likes, mention.replies, mention.shares) == (None, None, None)


def test_parse_posts_skips_what_is_no_post_and_reads_the_cursor() -> None:
    body = {"posts": [POSTS[0], {"uri": "at://did:plc:x/app.bsky.feed.like/1"}, "junk"], "cursor": "25"}
    page = parse_posts(body)
    assert [m.key for m in page.mentions] == [URIS[0]]
    assert page.cursor == "25"


@pytest.mark.parametrize("body", [[], {"error": "Forbidden"}, {"posts": {}}])
def test_parse_posts_rejects_bodies_without_posts(body: object) -> None:
    with pytest.raises(ParseError):
        parse_posts(body)


def test_refresh_urls_and_newest_first_by_record_key() -> None:
    assert newest_keys_first([URIS[5], URIS[0], "https://x", URIS[3]], 2) == [URIS[0], URIS[3]]
    url = get_posts_url("https://h.example", [URIS[0], URIS[1]])
    assert url.startswith(
        "https://h.example/xrpc/app.bsky.feed.getPosts?uris=at%3A%2F%2Fdid%3Aplc%3Aada4k2x7"
    )
    assert url.count("uris=") == 2


def test_the_app_password_never_shows_in_a_repr() -> None:
    assert "abcd-efgh" not in repr(Login("watcher.bsky.social", "abcd-efgh-ijkl-mnop"))


def test_registered_with_its_keys() -> None:
    assert source_types()["bluesky"] is BlueskySource
    # query or domain (searchPosts' domain filter): one of them, not query alone.
    assert not BlueskySource.keys["query"].required
    assert BlueskySource.required_any == ("query", "domain")
    assert BlueskySource.keys["identifier_env"].default == "BLUESKY_IDENTIFIER"
    assert BlueskySource.keys["password_env"].default == "BLUESKY_APP_PASSWORD"


# --- through the real fetcher -------------------------------------------------------------------


async def test_anonymous_first_poll(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS).install(server)
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    (seen,) = server.requests_to(SEARCH)
    assert "authorization" not in seen.headers
    assert (seen.param("q"), seen.param("limit"), seen.param("since")) == ("acme", "100", "")
    assert [m.key for m in outcome.mentions] == [URIS[0], URIS[1], URIS[2], URIS[3], URIS[4], URIS[5]]
    assert outcome.cursor == cursor_after(0)
    assert server.requests_to(CREATE_SESSION) == []


async def test_anonymous_forbidden_names_the_login_variables(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS, anonymous_search=False).install(server)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.env_var == "BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD"
    assert "set BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD" in caught.value.message


async def test_custom_variable_names_are_named(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS, anonymous_search=False).install(server)
    source = make_source(config(server, identifier_env="SKY_USER", password_env="SKY_PASS"))
    with pytest.raises(NeedsCredentials, match="set SKY_USER and SKY_PASS"):
        await source.poll(context(fetcher, first_poll=True, env=LOGIN_ENV))  # not the variables it reads


async def test_anonymous_paging_refused_keeps_the_first_page(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS, page_cap=2).install(server)
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert [seen.param("cursor") for seen in server.requests_to(SEARCH)] == ["", "2"]
    assert [m.key for m in outcome.mentions] == URIS[:2]
    assert "set BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD" in outcome.notes


async def test_login_then_bearer_token_and_paging(server: LocalServer, fetcher: Fetcher) -> None:
    fake = FakeBluesky(POSTS, page_cap=2, anonymous_search=False).install(server)
    outcome = await make_source(config(server, max_items=5)).poll(
        context(fetcher, first_poll=True, env=LOGIN_ENV)
    )

    (login,) = server.requests_to(CREATE_SESSION)
    assert json.loads(login.body) == {"identifier": "watcher.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
    searches = server.requests_to(SEARCH)
    assert [seen.param("cursor") for seen in searches] == ["", "2", "4"]
    assert {seen.headers["authorization"] for seen in searches} == {f"Bearer {SESSION['accessJwt']}.1"}
    assert [m.key for m in outcome.mentions] == URIS[:5]
    assert fake.sessions == 1


async def test_session_is_kept_between_polls_and_renewed_when_refused(
    server: LocalServer, fetcher: Fetcher
) -> None:
    fake = FakeBluesky(POSTS, anonymous_search=False).install(server)
    source = make_source(config(server))
    first = await source.poll(context(fetcher, first_poll=True, env=LOGIN_ENV))
    await source.poll(context(fetcher, cursor=first.cursor, env=LOGIN_ENV))
    assert fake.sessions == 1

    fake.valid_tokens.clear()  # the access token expired
    await source.poll(context(fetcher, cursor=first.cursor, env=LOGIN_ENV))
    assert fake.sessions == 2
    assert server.requests_to(SEARCH)[-1].headers["authorization"] == f"Bearer {SESSION['accessJwt']}.2"


async def test_wrong_app_password_needs_credentials(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS).install(server)
    env = {**LOGIN_ENV, "BLUESKY_APP_PASSWORD": "wrong"}
    with pytest.raises(NeedsCredentials, match="check BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD"):
        await make_source(config(server)).poll(context(fetcher, first_poll=True, env=env))
    assert server.requests_to(SEARCH) == []


async def test_half_a_login_names_the_missing_variable(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS).install(server)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server)).poll(
            context(fetcher, first_poll=True, env={"BLUESKY_IDENTIFIER": "watcher.bsky.social"})
        )
    assert caught.value.env_var == "BLUESKY_APP_PASSWORD"
    assert server.seen == []


async def test_later_poll_passes_since_and_keeps_only_new_posts(
    server: LocalServer, fetcher: Fetcher
) -> None:
    FakeBluesky(POSTS).install(server)
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor_after(2)))
    (seen,) = server.requests_to(SEARCH)
    assert seen.param("since") == "2026-11-26T10:10:10.000Z"  # inclusive: post 2 comes back and is dropped
    assert [m.key for m in outcome.mentions] == [URIS[0], URIS[1]]
    assert outcome.cursor == cursor_after(0)


async def test_young_posts_are_refreshed_25_at_a_time(server: LocalServer, fetcher: Fetcher) -> None:
    FakeBluesky(POSTS).install(server)
    server.route(GET_POSTS, get_posts({URIS[4]: 8, URIS[5]: 900}))
    extra = [f"at://did:plc:other/app.bsky.feed.post/3maaaaaaaa{n:03d}" for n in range(25)]
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor_after(0), refresh_keys=[URIS[5], URIS[4], *extra])
    )
    calls = server.requests_to(GET_POSTS)
    assert [len(seen.query["uris"]) for seen in calls] == [25, 2]
    assert calls[0].query["uris"][:2] == [URIS[4], URIS[5]]  # newest record keys first
    assert {m.key: (m.likes, m.shares) for m in outcome.mentions} == {URIS[4]: (8, 10), URIS[5]: (900, 130)}


async def test_rate_limit_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(SEARCH, b'{"error":"RateLimitExceeded"}', status=429, headers={"Retry-After": "45"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=44) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=46)


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
async def test_exhausted_rate_limit_headers_set_not_before(
    server: LocalServer, fetcher: Fetcher, prefix: str
) -> None:
    reset = NOW + timedelta(minutes=3)
    fake = FakeBluesky(POSTS).install(server)
    fake.headers = {
        f"{prefix}-Limit": "3000",
        f"{prefix}-Remaining": "0",
        f"{prefix}-Reset": str(int(reset.timestamp())),
    }
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert outcome.not_before == reset
