"""Mastodon mentions: one hashtag's public timeline on one instance (anonymous on most instances).

First poll: the newest page, then back with `max_id` until max_items. Later polls go forward from the
newest id seen with `min_id` ("immediately newer than"), so a poll that stops early leaves no gap: the
next one continues where it stopped.

Engagement refresh: `GET /api/v1/statuses?id[]=...` (Mastodon 4.3+, at most 20 ids a call). Older
instances answer 404; then the newest timeline page is re-read instead and the cursor remembers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from dashboard.contracts.errors import FetchError, HTTPError, NeedsCredentials, ParseError
from dashboard.contracts.http import Request
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    Exchange,
    as_count,
    as_mapping,
    declared_language,
    from_iso,
    http_url,
    links_in_html,
    mentions_from,
    needs_credentials,
    newest_first,
    text_from_html,
    text_from_plain,
    unique_by_key,
    unique_links,
    url_link,
)
from dashboard.text import shorten

PAGE_LIMIT = 40  # Mastodon's maximum for timelines
MAX_PAGES = 25  # a runaway guard; max_items is the real bound
REFRESH_LIMIT = 100  # statuses refreshed per poll, newest first
REFRESH_BATCH = 20  # Mastodon's limit of ids per /api/v1/statuses call
TITLE_WIDTH = 120
DEFAULT_TOKEN_ENV = "MASTODON_TOKEN"


def id_order(status_id: str) -> tuple[int, str]:
    """Sort key for status ids: numeric snowflakes (and fixed-width flake ids) grow with time."""
    return (len(status_id), status_id)


def status_to_mention(status: Mapping[str, Any]) -> Mention | None:
    """One Mastodon Status -> a Mention; a boost stands for the status it boosts; None without an id.

    Its links: the preview card's `url`, then the anchors of its HTML content (mentions of accounts
    and hashtags left out); its declared language is the status's `language`.
    """
    if isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    status_id = str(status.get("id") or "").strip()
    if not status_id:
        return None
    content = status.get("content")
    text = text_from_html(content)
    warning = text_from_plain(status.get("spoiler_text"))  # plain text, unlike the content
    # A content warning stands in for the text as the headline, as Mastodon clients show it.
    title = f"CW: {warning}" if warning else shorten(text.split("\n", 1)[0], TITLE_WIDTH)
    url = http_url(status.get("url")) or http_url(status.get("uri"))
    return Mention(
        key=status_id,
        kind=MentionKind.COMMENT if status.get("in_reply_to_id") else MentionKind.POST,
        url=url,
        title=shorten(title, TITLE_WIDTH),
        author=text_from_plain(as_mapping(status.get("account")).get("acct")),
        published=from_iso(status.get("created_at")),
        summary=text,
        likes=as_count(status.get("favourites_count")),
        replies=as_count(status.get("replies_count")),
        shares=as_count(status.get("reblogs_count")),
        language=declared_language(status.get("language")),
        links=unique_links(
            url_link(as_mapping(status.get("card")).get("url"), "card"), links_in_html(content, url)
        ),
    )


def parse_statuses(body: Any) -> tuple[Mention, ...]:
    """A JSON array of Statuses -> Mentions in API order."""
    if not isinstance(body, list):
        raise ParseError("Mastodon answer is not a list of statuses")
    return mentions_from(body, status_to_mention, "status")


def clean_tag(value: Any) -> str:
    """`#Acme` or `acme` -> `acme`-as-typed without the `#`; FetchError when nothing is left."""
    tag = str(value or "").strip().lstrip("#").strip()
    if not tag or any(char.isspace() or char in "/?#" for char in tag):
        raise FetchError(f"mastodon tag {value!r} is not a hashtag (give it without #, one word)")
    return tag


def newest_keys_first(keys: Iterable[str], limit: int, skip: Iterable[str] = ()) -> list[str]:
    """Status ids grow with time (see id_order): the `limit` newest."""
    return newest_first(keys, limit, skip=skip, is_id=bool, order=id_order)


def statuses_url(base_url: str, ids: Sequence[str]) -> str:
    """`/api/v1/statuses?id[]=1&id[]=2`: a repeated key, which a params mapping cannot carry."""
    return f"{base_url}/api/v1/statuses?{urlencode([('id[]', status_id) for status_id in ids])}"


def credentials_error(error: FetchError, env_var: str) -> FetchError:
    """401/403, and 422 (anonymous timelines disabled), -> NeedsCredentials naming the token variable."""
    if isinstance(error, HTTPError) and error.http_status == 422:
        return NeedsCredentials(
            f"{error.message}: this instance does not serve timelines anonymously (set {env_var})",
            env_var=env_var,
            http_status=422,
        )
    return needs_credentials(error, env_var)


@register
class MastodonSource(Source):
    type_name = "mastodon"
    default_base_url = None  # the instance: base_url is required
    keys = {
        "tag": KeySpec(str, required=True, help="hashtag to follow, without #"),
        "token_env": KeySpec(
            str,
            default=DEFAULT_TOKEN_ENV,
            help="environment variable holding an access token, for instances without anonymous timelines",
        ),
    }

    @property
    def token_env(self) -> str:
        return str(self.config.option("token_env") or DEFAULT_TOKEN_ENV)

    def _request(self, ctx: PollContext, url: str, params: Mapping[str, str] | None = None) -> Request:
        token = ctx.env.get(self.token_env, "").strip()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return Request(url, params=dict(params or {}), headers=headers)

    async def poll(self, ctx: PollContext) -> PollOutcome:
        if not self.base_url:
            raise FetchError("mastodon needs base_url = the instance, e.g. https://mastodon.social")
        exchange = Exchange(now=ctx.now)
        newest = None if ctx.first_poll else ctx.cursor.get("min_id")
        try:
            if isinstance(newest, str) and newest:
                found = await self._forward(ctx, newest, exchange)
            else:
                found = await self._backfill(ctx, exchange)
        except FetchError as error:
            raise credentials_error(error, self.token_env) from error
        cursor: dict[str, Any] = dict(ctx.cursor)
        if found:
            cursor["min_id"] = max((m.key for m in found), key=id_order)
        refreshed = await self._refresh(ctx, {m.key for m in found}, cursor, exchange)
        return exchange.outcome(unique_by_key([*found, *refreshed]), cursor)

    @property
    def _timeline_url(self) -> str:
        return f"{self.base_url}/api/v1/timelines/tag/{quote(clean_tag(self.config.option('tag')), safe='')}"

    async def _backfill(self, ctx: PollContext, exchange: Exchange) -> list[Mention]:
        """First poll: newest first, paging back with max_id until max_items or an empty page.

        Only an empty page ends the timeline: Mastodon filters a page after reading it, so short pages
        happen in the middle too.
        """
        limit = max(1, self.config.max_items)
        found: list[Mention] = []
        oldest: str | None = None
        for page in range(MAX_PAGES):
            params = {"limit": str(min(PAGE_LIMIT, limit - len(found)))}
            if oldest:
                params["max_id"] = oldest
            try:
                statuses = parse_statuses(
                    exchange.read(await ctx.fetch(self._request(ctx, self._timeline_url, params)))
                )
            except FetchError as error:
                if page == 0:
                    raise
                exchange.setback(f"page {page + 1}", error)  # a backfill may stop short
                break
            if not statuses:
                break
            found.extend(statuses)
            oldest = min((m.key for m in statuses), key=id_order)
            if len(found) >= limit:
                break
        return list(unique_by_key(found))[:limit]

    async def _forward(self, ctx: PollContext, newest: str, exchange: Exchange) -> list[Mention]:
        """Later polls: the statuses right after `newest`, page by page, oldest pages first."""
        limit = max(1, self.config.max_items)
        found: list[Mention] = []
        for _ in range(MAX_PAGES):
            asked = min(PAGE_LIMIT, limit - len(found))
            params = {"limit": str(asked), "min_id": newest}
            statuses = parse_statuses(
                exchange.read(await ctx.fetch(self._request(ctx, self._timeline_url, params)))
            )
            fresh = [m for m in statuses if id_order(m.key) > id_order(newest)]
            found.extend(fresh)
            if not fresh or len(statuses) < asked or len(found) >= limit:
                break
            newest = max((m.key for m in fresh), key=id_order)
        return sorted(unique_by_key(found), key=lambda m: id_order(m.key), reverse=True)

    async def _refresh(
        self, ctx: PollContext, skip: set[str], cursor: dict[str, Any], exchange: Exchange
    ) -> list[Mention]:
        """Current counts of young statuses (best effort): by id where supported, else the newest page."""
        keys = newest_keys_first(ctx.refresh_keys, REFRESH_LIMIT, skip)
        if not keys:
            return []
        if cursor.get("batch_refresh", True):
            refreshed = await self._refresh_by_ids(ctx, keys, exchange)
            if refreshed is not None:
                return refreshed
            cursor["batch_refresh"] = False  # an instance before 4.3: remember, and stop asking
        return await self._refresh_from_timeline(ctx, set(keys), exchange)

    async def _refresh_by_ids(
        self, ctx: PollContext, keys: list[str], exchange: Exchange
    ) -> list[Mention] | None:
        """`/api/v1/statuses?id[]=...` in batches of 20; None when the instance has no such lookup."""
        refreshed: list[Mention] = []
        for start in range(0, len(keys), REFRESH_BATCH):
            request = self._request(ctx, statuses_url(self.base_url, keys[start : start + REFRESH_BATCH]))
            try:
                refreshed.extend(parse_statuses(exchange.read(await ctx.fetch(request))))
            except FetchError as error:
                if start == 0 and isinstance(error, HTTPError) and error.http_status == 404:
                    return None
                exchange.setback("engagement refresh", error)
                break
        wanted = set(keys)
        return [m for m in refreshed if m.key in wanted]

    async def _refresh_from_timeline(
        self, ctx: PollContext, keys: set[str], exchange: Exchange
    ) -> list[Mention]:
        """The fallback: whatever young statuses the newest timeline page still holds."""
        request = self._request(ctx, self._timeline_url, {"limit": str(PAGE_LIMIT)})
        try:
            statuses = parse_statuses(exchange.read(await ctx.fetch(request)))
        except FetchError as error:
            exchange.setback("engagement refresh", error)
            return []
        return [m for m in statuses if m.key in keys]
