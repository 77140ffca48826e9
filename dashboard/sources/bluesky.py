"""Bluesky mentions through `app.bsky.feed.searchPosts`, anonymously or with an app password.

Since 2025 the public AppView often answers anonymous searches with 403, and paging with `cursor`
needs a login: with `identifier_env` and `password_env` set (an app password, never the account
password), the source logs in with `com.atproto.server.createSession` and sends the access token as
`Authorization: Bearer` to the account's service (bsky.social by default, which proxies app.bsky calls).
The session is kept for the life of this source object and renewed once when the service refuses it.

Later polls pass `since` (the newest `sortAt` seen; inclusive, so keys seen at that instant are
skipped). A post's time is min(createdAt, indexedAt), the AppView's `sortAt`: createdAt is written by
the poster's client and can lie (a post "from 2030" must not push the cursor into the future).

With `domain`, a second search, `q=*&domain=DOMAIN`, finds the posts whose links (link facets or
external embeds) go to that site; it is merged with the word search by key.

A post's links are its external embed (`record.embed.external.uri`, also inside a record-with-media
embed, and the AppView's `embed` view of it) and its link facets (`app.bsky.richtext.facet#link`);
its declared language is the first of `record.langs`.

Engagement refresh: `app.bsky.feed.getPosts?uris=...` (25 uris a call).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from dashboard.contracts.errors import FetchError, HTTPError, NeedsCredentials, ParseError
from dashboard.contracts.http import Request
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Link, Mention, MentionKind, PollOutcome, SourceConfig
from dashboard.sources.common import (
    DOMAIN_CURSOR,
    Exchange,
    SeenUpTo,
    as_count,
    as_mapping,
    declared_language,
    domain_cursor,
    domain_seen,
    from_iso,
    mentions_from,
    needs_credentials,
    newest_first,
    search_terms,
    text_from_plain,
    unique_by_key,
    unique_links,
    url_link,
    with_domain_link,
)
from dashboard.text import shorten

WEB_ROOT = "https://bsky.app/profile/"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_IDENTIFIER_ENV = "BLUESKY_IDENTIFIER"
DEFAULT_PASSWORD_ENV = "BLUESKY_APP_PASSWORD"
PAGE_LIMIT = 100  # searchPosts maximum
MAX_PAGES = 10  # a runaway guard; max_items is the real bound
REFRESH_LIMIT = 100  # posts refreshed per poll, newest first
REFRESH_BATCH = 25  # getPosts maximum
TITLE_WIDTH = 120
ANY_WORDS = "*"  # searchPosts requires q: a domain search asks for any words
_POST_COLLECTION = "/app.bsky.feed.post/"
_HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")  # a domain name: safe inside the web link


def post_time(post: Mapping[str, Any], record: Mapping[str, Any]) -> datetime | None:
    """The post's `sortAt`: the earlier of createdAt (client-written) and indexedAt (AppView-written)."""
    moments = [
        m for m in (from_iso(record.get("createdAt")), from_iso(post.get("indexedAt"))) if m is not None
    ]
    return min(moments) if moments else None


def web_url(uri: str, handle: str) -> str:
    """at://DID/app.bsky.feed.post/RKEY -> https://bsky.app/profile/HANDLE/post/RKEY."""
    did, _, rkey = uri.removeprefix("at://").partition(_POST_COLLECTION)
    return f"{WEB_ROOT}{quote(handle or did, safe=':')}/post/{quote(rkey, safe='')}"


_LINK_FACET = "app.bsky.richtext.facet#link"


def embed_links(post: Mapping[str, Any], record: Mapping[str, Any]) -> list[Link]:
    """The external embeds (link cards) of a post: the record's and the AppView's view of it, and
    the media part of a record-with-media embed (a quote post with a card)."""
    found: list[Link] = []
    for embed in (as_mapping(record.get("embed")), as_mapping(post.get("embed"))):
        for holder in (embed, as_mapping(embed.get("media"))):
            found.extend(url_link(as_mapping(holder.get("external")).get("uri"), "embed"))
    return found


def facet_links(record: Mapping[str, Any]) -> list[Link]:
    """The link facets of a post's text (`app.bsky.richtext.facet#link`): their full `uri` (the text
    shows it shortened, "example.org/a-long-pa...")."""
    found: list[Link] = []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else ():
        features = as_mapping(facet).get("features")
        for feature in features if isinstance(features, list) else ():
            feature = as_mapping(feature)
            if feature.get("$type") == _LINK_FACET:
                found.extend(url_link(feature.get("uri"), "facet"))
    return found


def first_language(record: Mapping[str, Any]) -> str:
    """The first of the record's `langs` (what the poster's client declared), or ""."""
    langs = record.get("langs")
    return declared_language(langs[0]) if isinstance(langs, list) and langs else ""


def post_to_mention(post: Mapping[str, Any]) -> Mention | None:
    """One postView -> a Mention; None when its uri is not a post's."""
    uri = post.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://") or _POST_COLLECTION not in uri:
        return None
    record, author = as_mapping(post.get("record")), as_mapping(post.get("author"))
    handle = author.get("handle")
    # "handle.invalid" is the AppView's placeholder when a handle no longer verifies; the DID stands in.
    if not isinstance(handle, str) or not _HANDLE.fullmatch(handle) or handle == "handle.invalid":
        handle = ""
    text = text_from_plain(record.get("text"))
    reposts, quotes = as_count(post.get("repostCount")), as_count(post.get("quoteCount"))
    return Mention(
        key=uri,
        kind=MentionKind.COMMENT if record.get("reply") else MentionKind.POST,
        url=web_url(uri, handle),
        title=shorten(text.split("\n", 1)[0], TITLE_WIDTH),
        author=text_from_plain(handle or author.get("did")),
        published=post_time(post, record),
        summary=text,
        likes=as_count(post.get("likeCount")),
        replies=as_count(post.get("replyCount")),
        shares=None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0),
        language=first_language(record),
        links=unique_links(embed_links(post, record), facet_links(record)),
    )


@dataclass(frozen=True, slots=True)
class PostsPage:
    mentions: tuple[Mention, ...]
    cursor: str | None


def parse_posts(body: Any, domain: str = "") -> PostsPage:
    """A searchPosts or getPosts body -> its posts (API order) and the paging cursor; `domain` when
    it was a search for links to it (each post's link there is said, see with_domain_link)."""
    if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
        raise ParseError("Bluesky answer without a posts list")

    def convert(post: Mapping[str, Any]) -> Mention | None:
        mention = post_to_mention(post)
        return with_domain_link(mention, post, domain) if mention is not None and domain else mention

    mentions = mentions_from(body["posts"], convert, "post")
    cursor = body.get("cursor")
    return PostsPage(mentions=mentions, cursor=cursor if isinstance(cursor, str) and cursor else None)


def access_token(body: Any) -> str:
    """The accessJwt of a createSession answer."""
    token = body.get("accessJwt") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ParseError("Bluesky createSession answer without an accessJwt")
    return token


def newest_keys_first(keys: Iterable[str], limit: int, skip: Iterable[str] = ()) -> list[str]:
    """Record keys are TIDs, which sort by time as text: the `limit` newest post uris."""
    return newest_first(keys, limit, skip=skip, is_id=is_post_uri, order=lambda uri: uri.rpartition("/")[2])


def is_post_uri(key: str) -> bool:
    return key.startswith("at://") and _POST_COLLECTION in key


def get_posts_url(host: str, uris: Sequence[str]) -> str:
    """getPosts takes `uris` repeated, which a params mapping cannot carry."""
    return f"{host}{GET_POSTS}?{urlencode([('uris', uri) for uri in uris])}"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Login:
    identifier: str
    password: str = field(repr=False)  # never in a traceback or a log line


class StaleSession(Exception):
    """The service refused a session token we had reused: log in again once."""


@register
class BlueskySource(Source):
    type_name = "bluesky"
    default_base_url = "https://public.api.bsky.app"
    keys = {
        "query": KeySpec(str, help="Bluesky search terms (Lucene-like syntax; or give domain)"),
        "domain": KeySpec(
            str, help="a site (blog.example.org): posts linking to it, by searchPosts' domain filter"
        ),
        "identifier_env": KeySpec(
            str,
            default=DEFAULT_IDENTIFIER_ENV,
            help="environment variable holding the handle or email to log in",
        ),
        "password_env": KeySpec(
            str, default=DEFAULT_PASSWORD_ENV, help="environment variable holding an app password"
        ),
        "service": KeySpec(
            str,
            default=DEFAULT_SERVICE,
            help="where to log in and search when logged in (your PDS or bsky.social)",
        ),
    }

    # One of these must be given (feeds.toml checks it; the poll refuses to search for nothing).
    required_any = ("query", "domain")

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._session: tuple[Login, str] | None = None  # the login and its access token

    @property
    def env_names(self) -> tuple[str, str]:
        return (
            str(self.config.option("identifier_env") or DEFAULT_IDENTIFIER_ENV),
            str(self.config.option("password_env") or DEFAULT_PASSWORD_ENV),
        )

    @property
    def credentials_hint(self) -> str:
        return " and ".join(self.env_names)

    def login(self, env: Mapping[str, str]) -> Login | None:
        """The app-password login from the environment; None for anonymous; NeedsCredentials when half set."""
        identifier_env, password_env = self.env_names
        identifier, password = env.get(identifier_env, "").strip(), env.get(password_env, "").strip()
        if identifier and password:
            return Login(identifier, password)
        if identifier or password:
            missing = password_env if identifier else identifier_env
            raise NeedsCredentials(f"Bluesky login needs {missing} too (set {missing})", env_var=missing)
        return None

    def host(self, login: Login | None) -> str:
        """Anonymous: the public AppView. Logged in: the service, unless base_url says otherwise."""
        if login is None or self.config.base_url:
            return self.base_url
        return str(self.config.option("service") or DEFAULT_SERVICE).rstrip("/")

    async def poll(self, ctx: PollContext) -> PollOutcome:
        login = self.login(ctx.env)
        try:
            return await self._poll_once(ctx, login)
        except StaleSession:
            self._session = None
            return await self._poll_once(ctx, login)

    async def _poll_once(self, ctx: PollContext, login: Login | None) -> PollOutcome:
        """The word search and the domain search (`q=*&domain=DOMAIN`; each with its own place in the
        cursor: the domain search's under "domain"), merged by key, then the engagement refresh."""
        query, domain = search_terms(self)
        exchange = Exchange(now=ctx.now)
        reused = login is not None and self._session is not None and self._session[0] == login
        headers = {"Authorization": f"Bearer {await self._token(ctx, login, exchange)}"} if login else {}
        cursor: dict[str, Any] = dict(ctx.cursor)
        found: list[Mention] = []
        try:
            if query:
                seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
                by_words = await self._search(ctx, self.host(login), headers, seen, exchange, {"q": query})
                found.extend(by_words)
                cursor.update(seen.advance(by_words).to_cursor())
            if domain:
                seen = SeenUpTo.from_cursor(domain_seen(ctx.cursor, domain, ctx.first_poll))
                search = {"q": ANY_WORDS, "domain": domain}
                by_link = await self._search(ctx, self.host(login), headers, seen, exchange, search, domain)
                found.extend(by_link)
                cursor[DOMAIN_CURSOR] = domain_cursor(domain, seen.advance(by_link).to_cursor())
        except (NeedsCredentials, HTTPError) as error:
            if reused and error.http_status in (400, 401):  # ExpiredToken is a 400 in XRPC
                raise StaleSession from error
            raise needs_credentials(error, self.credentials_hint) from error
        found = list(unique_by_key(found))
        refreshed = await self._refresh(ctx, self.host(login), headers, {m.key for m in found}, exchange)
        return exchange.outcome(unique_by_key([*found, *refreshed]), cursor)

    async def _token(self, ctx: PollContext, login: Login, exchange: Exchange) -> str:
        """An access token for `login`: the kept one, else a new session."""
        if self._session is not None and self._session[0] == login:
            return self._session[1]
        request = Request(
            self.host(login) + CREATE_SESSION,
            method="POST",
            json={"identifier": login.identifier, "password": login.password},
        )
        try:
            token = access_token(exchange.read(await ctx.fetch(request)))
        except (NeedsCredentials, HTTPError) as error:
            if error.http_status in (400, 401, 403):
                raise NeedsCredentials(
                    f"Bluesky refused the login: {error.message} (check {self.credentials_hint})",
                    env_var=self.credentials_hint,
                    http_status=error.http_status,
                ) from error
            raise
        self._session = (login, token)
        return token

    async def _search(
        self,
        ctx: PollContext,
        host: str,
        headers: Mapping[str, str],
        seen: SeenUpTo,
        exchange: Exchange,
        search: Mapping[str, str],
        domain: str = "",
    ) -> list[Mention]:
        """New posts of one search, newest first, up to max_items over as many pages as the service allows."""
        limit = max(1, self.config.max_items)
        params = {**search, "sort": "latest", "limit": str(min(limit, PAGE_LIMIT))}
        if seen.at is not None:
            params["since"] = iso_z(datetime.fromtimestamp(seen.at, UTC))
        found: list[Mention] = []
        page_cursor: str | None = None
        for page in range(MAX_PAGES):
            request = Request(
                host + SEARCH,
                params={**params, "cursor": page_cursor} if page_cursor else params,
                headers=headers,
            )
            try:
                result = parse_posts(exchange.read(await ctx.fetch(request)), domain)
            except FetchError as error:
                # Anonymous paging is refused: keep what came and say how to get more. Other failures
                # after the first page: a first poll keeps its bounded backfill; a later poll fails whole
                # rather than leave a gap, and retries from the same cursor.
                if page == 0 or (seen.at is not None and not isinstance(error, NeedsCredentials)):
                    raise
                exchange.setback(f"page {page + 1}", needs_credentials(error, self.credentials_hint))
                break
            found.extend(m for m in result.mentions if seen.is_new(m))
            page_cursor = result.cursor
            if not result.mentions or not page_cursor or len(found) >= limit:
                break
        exchange.note_max_items(len(found), limit, incremental=seen.at is not None)
        return list(unique_by_key(found))[:limit]

    async def _refresh(
        self, ctx: PollContext, host: str, headers: Mapping[str, str], skip: set[str], exchange: Exchange
    ) -> list[Mention]:
        """Current counts of young posts via getPosts, 25 a call (best effort)."""
        keys = newest_keys_first(ctx.refresh_keys, REFRESH_LIMIT, skip)
        refreshed: list[Mention] = []
        for start in range(0, len(keys), REFRESH_BATCH):
            request = Request(get_posts_url(host, keys[start : start + REFRESH_BATCH]), headers=headers)
            try:
                refreshed.extend(parse_posts(exchange.read(await ctx.fetch(request))).mentions)
            except FetchError as error:
                exchange.setback("engagement refresh", error)
                break
        wanted = set(keys)
        return [m for m in refreshed if m.key in wanted]
