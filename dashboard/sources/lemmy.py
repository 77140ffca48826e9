"""Lemmy: posts matching a search on one instance (`base_url` is the instance, e.g. https://lemmy.world).

`/api/v3/search?type_=Posts&sort=New` lists matches newest first, 50 a page. A first poll reads up to
`max_items`; later polls page only until they reach the newest publication time already seen.

With `domain`, a second search, `type_=Url&q=DOMAIN`, finds the posts whose link contains the site;
its cursor sits under "domain", and its posts are merged with the word search's by key.

Cursor: `{"newest_id": int, "since": float}` - the highest post id seen and the latest publication time
seen (epoch seconds). A post is new when its id is above `newest_id`: ids grow as posts reach the
instance, so a late-federated post with an older date still counts as new when a page read holds it.

Engagement refresh: young posts the search re-read are returned with their current counts; the others
are re-read with `/api/v3/post?id=` (one call per post), at most `REFRESH_PER_POLL` per poll, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import ceil
from typing import Any

from dashboard.contracts.errors import FetchError, Gone, HTTPError, ParseError
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    DOMAIN_CURSOR,
    Exchange,
    as_count,
    as_mapping,
    domain_cursor,
    domain_seen,
    from_iso,
    http_url,
    links_in_text,
    mentions_from,
    needs_credentials,
    newest_first,
    search_terms,
    text_from_html,
    text_from_plain,
    unique_links,
    url_link,
    with_domain_link,
)
from dashboard.text import shorten

SEARCH_PATH = "/api/v3/search"
POST_PATH = "/api/v3/post"
PAGE_SIZE = 50  # Lemmy's largest `limit`
REFRESH_PER_POLL = 20
SUMMARY_CHARS = 500


# --- parsing: JSON -> mentions (pure) -------------------------------------------------------------------


def mention_from_post_view(view: Mapping[str, Any], instance: str = "") -> Mention | None:
    """A PostView (`{"post", "creator", "community", "counts"}`) -> a Mention; None if deleted or removed.

    Its links: the post's `url` (a link post), then the URLs written in its Markdown body.
    """
    post = as_mapping(view.get("post"))
    post_id = as_count(post.get("id"))
    if post_id is None or post.get("deleted") is True or post.get("removed") is True:
        return None
    counts = as_mapping(view.get("counts"))
    body = post.get("body")
    return Mention(
        key=str(post_id),
        kind=MentionKind.POST,
        url=http_url(post.get("ap_id")) or (f"{instance}/post/{post_id}" if instance else ""),
        title=text_from_plain(post.get("name")),
        author=text_from_plain(as_mapping(view.get("creator")).get("name")),
        published=from_iso(post.get("published")),
        summary=shorten(text_from_html(body), SUMMARY_CHARS),  # Markdown; any tags go
        likes=as_count(counts.get("score")),
        replies=as_count(counts.get("comments")),
        links=unique_links(url_link(post.get("url")), links_in_text(body)),
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    mentions: tuple[Mention, ...]
    size: int  # posts on the page, deleted ones included: a short page is the last one


def parse_search(data: Any, instance: str = "", domain: str = "") -> SearchPage:
    """A `/api/v3/search` body -> its posts as mentions, in API order; `domain` when it was a search
    for links to it (each post's link there is said, see with_domain_link)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("posts"), list):
        raise ParseError("Lemmy search answer without a 'posts' list")
    posts = data["posts"]

    def convert(view: Mapping[str, Any]) -> Mention | None:
        mention = mention_from_post_view(view, instance)
        return with_domain_link(mention, view.get("post"), domain) if mention and domain else mention

    mentions = mentions_from(posts, convert, "post")
    return SearchPage(mentions, len(posts))


def parse_post(data: Any, instance: str = "") -> Mention | None:
    """A `/api/v3/post?id=` body (`{"post_view": {...}}`) -> its mention (None if deleted)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("post_view"), Mapping):
        raise ParseError("Lemmy post answer without a 'post_view'")
    return mention_from_post_view(data["post_view"], instance)


# Not common.SeenUpTo: ids, not dates, decide what is new here (a late-federated post has an old date).
@dataclass(frozen=True, slots=True)
class SeenUpTo:
    """The highest post id and the latest publication time (epoch seconds) seen so far."""

    newest_id: int | None = None
    since: float | None = None

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any]) -> SeenUpTo:
        since = cursor.get("since")
        return cls(
            newest_id=as_count(cursor.get("newest_id")),
            since=float(since) if isinstance(since, int | float) and not isinstance(since, bool) else None,
        )

    def is_new(self, mention: Mention) -> bool:
        return self.newest_id is None or int(mention.key) > self.newest_id

    def reached(self, page: SearchPage) -> bool:
        """True once a page goes back to the newest publication time already seen (older pages are known)."""
        if self.since is None:
            return any(not self.is_new(mention) for mention in page.mentions)
        return any(m.published is not None and m.published.timestamp() <= self.since for m in page.mentions)

    def advance(self, mentions: Iterable[Mention]) -> SeenUpTo:
        newest_id, since = self.newest_id, self.since
        for mention in mentions:
            newest_id = max(newest_id or 0, int(mention.key))
            if mention.published is not None:
                since = max(since or 0.0, mention.published.timestamp())
        return SeenUpTo(newest_id, since)

    def to_cursor(self) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        if self.newest_id is not None:
            saved["newest_id"] = self.newest_id
        if self.since is not None:
            saved["since"] = int(self.since) if self.since.is_integer() else self.since
        return saved


def refresh_order(keys: Iterable[str], skip: Iterable[str], limit: int = REFRESH_PER_POLL) -> list[str]:
    """The young post ids still to re-read (one call each), newest (highest id) first, at most `limit`."""
    return newest_first(keys, limit, skip=skip)


# --- the source ---------------------------------------------------------------------------------------


@register
class LemmySource(Source):
    type_name = "lemmy"
    default_base_url = None  # the instance to search: base_url is required
    keys = {
        "query": KeySpec(str, help="words to search for in post titles and bodies (or give domain)"),
        "domain": KeySpec(
            str, help="a site (blog.example.org): the posts linking to it, by Lemmy's Url search"
        ),
    }
    # One of these must be given (feeds.toml checks it; the poll refuses to search for nothing).
    required_any = ("query", "domain")

    @property
    def instance(self) -> str:
        if not self.base_url:
            raise FetchError("lemmy needs base_url = the instance to search, e.g. https://lemmy.world")
        return self.base_url

    async def poll(self, ctx: PollContext) -> PollOutcome:
        """The word search and the Url search for `domain` (each with its own place in the cursor: the
        Url search's under "domain"), merged by key, then the engagement refresh."""
        query, domain = search_terms(self)
        exchange = Exchange(now=ctx.now)
        young = set(ctx.refresh_keys)
        cursor: dict[str, Any] = dict(ctx.cursor)
        found: dict[str, Mention] = {}
        read: list[Mention] = []
        if query:
            seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
            new, words_read = await self._search(ctx, seen, exchange, {"q": query, "type_": "Posts"})
            found.update(new)
            read.extend(words_read)
            cursor.update(seen.advance(words_read).to_cursor())
        if domain:
            seen = SeenUpTo.from_cursor(domain_seen(ctx.cursor, domain, ctx.first_poll))
            new, links_read = await self._search(ctx, seen, exchange, {"q": domain, "type_": "Url"}, domain)
            for key, mention in new.items():
                found.setdefault(key, mention)
            read.extend(links_read)
            cursor[DOMAIN_CURSOR] = domain_cursor(domain, seen.advance(links_read).to_cursor())
        refreshed = {m.key: m for m in read if m.key in young and m.key not in found}
        for mention in await self._refresh(ctx, refresh_order(young, {m.key for m in read}), exchange):
            refreshed[mention.key] = mention
        return exchange.outcome((*found.values(), *refreshed.values()), cursor)

    async def _search(
        self,
        ctx: PollContext,
        seen: SeenUpTo,
        exchange: Exchange,
        search: Mapping[str, str],
        domain: str = "",
    ) -> tuple[dict[str, Mention], list[Mention]]:
        """New posts of one search (up to max_items) and every post read on the way."""
        limit = max(1, self.config.max_items)
        found: dict[str, Mention] = {}
        read: list[Mention] = []
        for page_number in range(1, ceil(limit / PAGE_SIZE) + 1):
            try:
                params = {**search, "sort": "New", "limit": str(PAGE_SIZE), "page": str(page_number)}
                body = exchange.read(await self._get(ctx, SEARCH_PATH, params))
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill: keep what came. An incremental poll
                # must not leave a gap, so it fails whole and retries from the same cursor.
                if page_number == 1 or seen.newest_id is not None:
                    raise
                exchange.setback(f"page {page_number}", error)
                break
            page = parse_search(body, self.instance, domain)
            read.extend(page.mentions)
            for mention in page.mentions:
                if seen.is_new(mention) and len(found) < limit:
                    found.setdefault(mention.key, mention)
            if page.size < PAGE_SIZE or len(found) >= limit or seen.reached(page):
                break
        exchange.note_max_items(len(found), limit, incremental=seen.newest_id is not None)
        return found, read

    async def _get(self, ctx: PollContext, path: str, params: Mapping[str, str]) -> Response:
        try:
            return await ctx.fetch(Request(self.instance + path, params=params))
        except FetchError as error:
            # Lemmy has no API keys; an instance that refuses anonymous reads needs an account.
            raise needs_credentials(error, "") from error

    async def _refresh(self, ctx: PollContext, post_ids: list[str], exchange: Exchange) -> list[Mention]:
        """Re-read young posts one by one: a vanished post is skipped, a rate limit ends the round."""
        refreshed: list[Mention] = []
        for post_id in post_ids:
            try:
                mention = parse_post(
                    exchange.read(await self._get(ctx, POST_PATH, {"id": post_id})), self.instance
                )
            except (HTTPError, Gone, ParseError):
                continue  # deleted or unreadable: its stored counts stay as they were
            except FetchError as error:
                exchange.setback("engagement refresh", error, "stopped")
                break
            if mention is not None:
                refreshed.append(mention)
        return refreshed
