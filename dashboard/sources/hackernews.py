"""Hacker News mentions through the Algolia HN search API (no auth).

New items: `search_by_date` (newest first) filtered with `numericFilters=created_at_i>=T`, paged with `page=`.
With `domain`, a second search finds the stories linking to that site: `query=DOMAIN` with
`restrictSearchableAttributes=url` (Algolia matches the words in the story's url only).
The `>=` plus the keys already seen at exactly T keeps same-second items (frequent for comments) from
being lost or counted twice.

Engagement refresh: one `search` call with an OR tag filter, `tags=story,(story_1,story_2,...)`: the
`story` tag restricts the `story_N` tags (which comments carry too, naming their story) to the stories
themselves. Comments are not refreshed: Algolia does not report points or replies for comments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.contracts.errors import FetchError, ParseError
from dashboard.contracts.http import Request
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    DOMAIN_CURSOR,
    Exchange,
    SeenUpTo,
    as_count,
    domain_cursor,
    domain_seen,
    from_epoch,
    from_iso,
    links_in_html,
    mentions_from,
    newest_first,
    search_terms,
    text_from_html,
    text_from_plain,
    unique_by_key,
    unique_links,
    url_link,
    with_domain_link,
)
from dashboard.text import shorten

ITEM_URL = "https://news.ycombinator.com/item?id="
SEARCH_PATH = "/api/v1/search_by_date"
REFRESH_PATH = "/api/v1/search"
TAGS = {"story": "story", "comment": "comment", "all": "(story,comment)"}
MAX_HITS_PER_PAGE = 1000  # Algolia's own cap
MAX_PAGES = 10  # a runaway guard; max_items is the real bound
REFRESH_LIMIT = 100  # keys refreshed per poll, newest first, in one call
TITLE_WIDTH = 120


def hit_to_mention(hit: Mapping[str, Any]) -> Mention | None:
    """One Algolia hit -> a Mention; None when the hit has no objectID to key it by.

    Its links: the story's `url` (a comment's `story_url`: the comment is part of the discussion of
    that link), then the anchors of its HTML text, relative ones resolved against the HN item page.
    """
    object_id = str(hit.get("objectID") or "").strip()
    if not object_id:
        return None
    tags = hit.get("_tags")
    is_comment = "comment" in tags if isinstance(tags, list) else bool(hit.get("comment_text"))
    html_text = hit.get("comment_text") if is_comment else hit.get("story_text")
    body = text_from_html(html_text)
    if is_comment:
        title = text_from_plain(hit.get("story_title")) or shorten(body.split("\n", 1)[0], TITLE_WIDTH)
    else:
        title = text_from_plain(hit.get("title"))
    link = text_from_plain(hit.get("url") if not is_comment else hit.get("story_url"))
    summary = "\n\n".join(part for part in (body, link) if part)
    published = from_epoch(hit["created_at_i"]) if "created_at_i" in hit else from_iso(hit.get("created_at"))
    return Mention(
        key=object_id,
        kind=MentionKind.COMMENT if is_comment else MentionKind.POST,
        url=ITEM_URL + object_id,
        title=title,
        author=text_from_plain(hit.get("author")),
        published=published,
        summary=summary,
        likes=as_count(hit.get("points")),
        replies=as_count(hit.get("num_comments")),
        links=unique_links(
            url_link(hit.get("story_url") if is_comment else hit.get("url")),
            links_in_html(html_text, ITEM_URL + object_id),
        ),
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    mentions: tuple[Mention, ...]
    pages: int  # nbPages: how many pages this query has in all


def parse_search(body: Any, domain: str = "") -> SearchPage:
    """An Algolia search body -> its mentions (API order) and page count; `domain` when the search
    was for links to it (each hit's link there is said, see with_domain_link)."""
    if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
        raise ParseError("Algolia answer without a hits list")

    def convert(hit: Mapping[str, Any]) -> Mention | None:
        mention = hit_to_mention(hit)
        return with_domain_link(mention, hit, domain) if mention is not None and domain else mention

    mentions = mentions_from(body["hits"], convert, "hit")
    return SearchPage(mentions=mentions, pages=as_count(body.get("nbPages")) or 0)


def refresh_tags(keys: Iterable[str]) -> str:
    """The tag filter that selects these stories by id: `story,(story_1,story_2)`."""
    return "story,(" + ",".join(f"story_{key}" for key in keys) + ")"


@register
class HackerNewsSource(Source):
    type_name = "hackernews"
    default_base_url = "https://hn.algolia.com"
    keys = {
        "query": KeySpec(str, help="words to search for in stories and comments (or give domain)"),
        "domain": KeySpec(
            str, help="a site (blog.example.org): stories linking to it, by Algolia's url search"
        ),
        "kind": KeySpec(str, default="story", choices=tuple(TAGS), help="story, comment or all (both)"),
    }
    # One of these must be given (feeds.toml checks it; the poll refuses to search for nothing).
    required_any = ("query", "domain")

    @property
    def kind(self) -> str:
        kind = str(self.config.option("kind") or "story")
        return kind if kind in TAGS else "story"

    async def poll(self, ctx: PollContext) -> PollOutcome:
        """The word search and the domain search (each with its own place in the cursor: the domain
        search's under "domain"), merged by key, then the engagement refresh."""
        query, domain = search_terms(self)
        exchange = Exchange(now=ctx.now)
        cursor: dict[str, Any] = dict(ctx.cursor)
        found: list[Mention] = []
        if query:
            seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
            by_words = await self._search(ctx, seen, exchange, {"query": query, "tags": TAGS[self.kind]})
            found.extend(by_words)
            cursor.update(seen.advance(by_words).to_cursor())
        if domain:
            seen = SeenUpTo.from_cursor(domain_seen(ctx.cursor, domain, ctx.first_poll))
            params = {"query": domain, "restrictSearchableAttributes": "url", "tags": "story"}
            by_link = await self._search(ctx, seen, exchange, params, domain)
            found.extend(by_link)
            cursor[DOMAIN_CURSOR] = domain_cursor(domain, seen.advance(by_link).to_cursor())
        found = list(unique_by_key(found))
        refreshed = await self._refresh(ctx, {m.key for m in found}, exchange)
        return exchange.outcome(unique_by_key([*found, *refreshed]), cursor)

    async def _search(
        self,
        ctx: PollContext,
        seen: SeenUpTo,
        exchange: Exchange,
        search: Mapping[str, str],
        domain: str = "",
    ) -> list[Mention]:
        """New hits of one search, newest first, up to max_items over as many pages as needed."""
        limit = max(1, self.config.max_items)
        params = {**search, "hitsPerPage": str(min(limit, MAX_HITS_PER_PAGE))}
        if seen.at is not None:
            params["numericFilters"] = f"created_at_i>={int(seen.at)}"
        found: list[Mention] = []
        page = 0
        while len(found) < limit and page < MAX_PAGES:
            request = Request(self.base_url + SEARCH_PATH, params={**params, "page": str(page)})
            try:
                result = parse_search(exchange.read(await ctx.fetch(request)), domain)
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill: keep what came. An incremental poll
                # must not skip a gap, so it fails whole and retries from the same cursor.
                if page == 0 or seen.at is not None:
                    raise
                exchange.setback(f"page {page + 1}", error)
                break
            found.extend(m for m in result.mentions if seen.is_new(m))
            page += 1
            if not result.mentions or page >= result.pages:
                break
        exchange.note_max_items(len(found), limit, incremental=seen.at is not None)
        return list(unique_by_key(found))[:limit]

    async def _refresh(self, ctx: PollContext, skip: set[str], exchange: Exchange) -> list[Mention]:
        """Current points and comment counts of young stories, in one call (best effort)."""
        if self.kind == "comment" and not self.config.option("domain"):
            return []  # a domain search finds stories, whose counts are refreshed
        keys = newest_first(ctx.refresh_keys, REFRESH_LIMIT, skip=skip)  # HN ids grow with time
        if not keys:
            return []
        request = Request(
            self.base_url + REFRESH_PATH,
            params={"tags": refresh_tags(keys), "hitsPerPage": str(len(keys))},
        )
        try:
            result = parse_search(exchange.read(await ctx.fetch(request)))
        except FetchError as error:
            exchange.setback("engagement refresh", error)
            return []
        wanted = set(keys)
        return [mention for mention in result.mentions if mention.key in wanted]
