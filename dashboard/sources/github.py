"""GitHub: issues and pull requests matching a search (GitHub search syntax, e.g. `driftwood in:title`).

`/search/issues?sort=created&order=desc` lists matches newest first, 100 a page (the API returns at most
1,000 results a query). Since 2025 GitHub often answers 422 to a query without `is:issue` or
`is:pull-request`: the query is sent as written, and the 422 message says so (two sources cover both). Later polls append a `created:>=TIME` qualifier with the newest creation time
seen; the ids seen at exactly that second are kept so a same-second item is neither lost nor doubled.

Cursor: `{"since": int, "at_since": [item ids as str]}` - the newest `created_at` seen (epoch seconds)
and the ids created at exactly that second.

Engagement refresh: one more search per poll, for young items only - the query plus
`created:>=NOW-refresh_for`, sorted by `updated`, one page of 100 - and only young keys are kept from it.
Comments bump `updated_at`, so the items whose counts moved come first. It is skipped when nothing young
is left to re-read or when the rate limit is already spent.

Rate limits: search allows 10 requests a minute anonymously, 30 with a token. A poll makes one request
(plus one per extra page of a large first poll, plus the refresh), so `min_interval` is 60 s.
`X-RateLimit-Remaining: 0` sets `not_before` to `X-RateLimit-Reset`. GitHub answers a spent search
limit with 403 (or 429): for this source a 403 is a rate limit, not an auth failure - anonymous search
needs no credentials and a bad token is a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

from dashboard.contracts.errors import FetchError, HTTPError, ParseError, RateLimited
from dashboard.contracts.http import Request
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    Exchange,
    SeenUpTo,
    as_count,
    as_mapping,
    from_iso,
    http_url,
    links_in_text,
    mentions_from,
    needs_credentials,
    required_query,
    text_from_html,
    text_from_plain,
    unique_links,
)
from dashboard.text import shorten

SEARCH_PATH = "/search/issues"
PAGE_SIZE = 100  # the API's largest per_page
MAX_RESULTS = 1000  # the search API never returns more for one query
SUMMARY_CHARS = 500
SUGGESTED_TOKEN_ENV = "GITHUB_TOKEN"
FORBIDDEN_WAIT = timedelta(seconds=60)  # a 403 without its headers: the search window is one minute
INCOMPLETE_NOTE = "results may be incomplete"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


# --- parsing: JSON -> mentions (pure) -------------------------------------------------------------------


def item_to_mention(item: Mapping[str, Any]) -> Mention | None:
    """One search item (issue or pull request) -> a Mention; None without an id. Its links are the
    URLs in its Markdown body (an `<a href>` in it too: the URL is written out either way)."""
    item_id = as_count(item.get("id"))
    if item_id is None:
        return None
    body = item.get("body")
    return Mention(
        key=str(item_id),
        kind=MentionKind.POST,
        url=http_url(item.get("html_url")),
        title=text_from_plain(item.get("title")),
        author=text_from_plain(as_mapping(item.get("user")).get("login")),
        published=from_iso(item.get("created_at")),
        # Markdown with HTML comments from issue templates: the tags go, the text stays.
        summary=shorten(text_from_html(body), SUMMARY_CHARS),
        likes=as_count(as_mapping(item.get("reactions")).get("total_count")),
        replies=as_count(item.get("comments")),
        links=unique_links(links_in_text(body)),
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    mentions: tuple[Mention, ...]
    size: int  # items on the page: a short page is the last one
    total: int  # total_count
    incomplete: bool  # incomplete_results: the search timed out on GitHub's side


def parse_search(data: Any) -> SearchPage:
    """A `/search/issues` body -> its items as mentions, in API order."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise ParseError("GitHub search answer without an 'items' list")
    items = data["items"]
    return SearchPage(
        mentions=mentions_from(items, item_to_mention, "item"),
        size=len(items),
        total=as_count(data.get("total_count")) or 0,
        incomplete=data.get("incomplete_results") is True,
    )


def github_time(moment: datetime) -> str:
    """A qualifier timestamp: `2026-11-26T11:31:07Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_created_since(query: str, since: datetime) -> str:
    return f"{query} created:>={github_time(since)}"


def relabelled(error: FetchError, now: datetime, token_env: str) -> FetchError:
    """GitHub's 403 on search is its rate limit (primary or secondary), not a missing credential; a 401
    is a bad token, named by its environment variable."""
    if error.http_status == 403:
        hint = (
            ""
            if token_env
            else f"; a token (token_env, e.g. {SUGGESTED_TOKEN_ENV}) allows 30 searches a minute"
        )
        # The fetcher already read X-RateLimit-Reset when GitHub sent it; else wait the search window.
        until = error.until if isinstance(error, RateLimited) else now + FORBIDDEN_WAIT
        return RateLimited(f"GitHub search rate limit (HTTP 403){hint}", until=until, http_status=403)
    if error.http_status == 422 and isinstance(error, HTTPError):
        return HTTPError(
            f"{error.message}: GitHub rejected the search query (its syntax; GitHub now often requires"
            " is:issue or is:pull-request in it)",
            http_status=422,
        )
    return needs_credentials(error, token_env or SUGGESTED_TOKEN_ENV)


# --- the source ---------------------------------------------------------------------------------------


@register
class GitHubSource(Source):
    type_name = "github"
    default_base_url = "https://api.github.com"
    keys = {
        "query": KeySpec(str, required=True, help="GitHub search syntax, e.g. 'driftwood in:title,body'"),
        "token_env": KeySpec(str, help="environment variable holding a token (30 searches a minute, not 10)"),
    }
    min_interval = 60.0

    @property
    def token_env(self) -> str:
        return str(self.config.option("token_env") or "")

    async def poll(self, ctx: PollContext) -> PollOutcome:
        exchange = Exchange(now=ctx.now)
        headers = dict(HEADERS)
        if self.token_env and ctx.env.get(self.token_env):
            headers["Authorization"] = f"Bearer {ctx.env[self.token_env]}"
        elif self.token_env:
            exchange.notes.append(f"{self.token_env} is not set: anonymous search (10 a minute)")
        seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
        found = await self._search(ctx, seen, headers, exchange)
        refreshed = await self._refresh(ctx, {m.key for m in found}, headers, exchange)
        cursor = seen.advance(found).to_cursor() or dict(ctx.cursor)
        return exchange.outcome((*found, *refreshed), cursor)

    async def _search(
        self, ctx: PollContext, seen: SeenUpTo, headers: Mapping[str, str], exchange: Exchange
    ) -> list[Mention]:
        """New items, newest first, up to max_items over as many pages as needed."""
        limit = max(1, self.config.max_items)
        per_page = min(limit, PAGE_SIZE)
        query = required_query(self)
        if seen.at is not None:
            query = with_created_since(query, datetime.fromtimestamp(seen.at, UTC))
        found: dict[str, Mention] = {}
        for page_number in range(1, ceil(min(limit, MAX_RESULTS) / per_page) + 1):
            params = {
                "q": query,
                "sort": "created",
                "order": "desc",
                "per_page": str(per_page),
                "page": str(page_number),
            }
            try:
                page = await self._search_page(ctx, params, headers, exchange)
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill: keep what came. An incremental poll
                # must not leave a gap, so it fails whole and retries from the same cursor.
                if page_number == 1 or seen.at is not None:
                    raise
                exchange.setback(f"page {page_number}", error)
                break
            for mention in page.mentions:
                if seen.is_new(mention) and len(found) < limit:
                    found.setdefault(mention.key, mention)
            spent = exchange.not_before is not None  # X-RateLimit-Remaining: 0
            if page.size < per_page or len(found) >= limit or page_number * per_page >= page.total or spent:
                break
        exchange.note_max_items(len(found), limit, incremental=seen.at is not None)
        return list(found.values())

    async def _refresh(
        self, ctx: PollContext, skip: set[str], headers: Mapping[str, str], exchange: Exchange
    ) -> list[Mention]:
        """Current comment and reaction counts of young items, from one search sorted by update (best effort)."""
        young = {key for key in ctx.refresh_keys if key not in skip}
        if not young or exchange.not_before is not None:
            return []
        oldest = ctx.now - timedelta(seconds=self.config.refresh_for)
        params = {
            "q": with_created_since(required_query(self), oldest),
            "sort": "updated",
            "order": "desc",
            "per_page": str(PAGE_SIZE),
            "page": "1",
        }
        try:
            page = await self._search_page(ctx, params, headers, exchange)
        except FetchError as error:
            exchange.setback("engagement refresh", error)
            return []
        return [mention for mention in page.mentions if mention.key in young]

    async def _search_page(
        self, ctx: PollContext, params: Mapping[str, str], headers: Mapping[str, str], exchange: Exchange
    ) -> SearchPage:
        """One search call; a search that timed out on GitHub's side (incomplete_results) is noted once."""
        try:
            response = await ctx.fetch(Request(self.base_url + SEARCH_PATH, params=params, headers=headers))
        except FetchError as error:
            raise relabelled(error, ctx.now, self.token_env) from error
        page = parse_search(exchange.read(response))
        if page.incomplete and INCOMPLETE_NOTE not in exchange.notes:
            exchange.notes.append(INCOMPLETE_NOTE)
        return page
