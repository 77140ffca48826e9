"""Reddit mentions through the public `.json` search listings (no auth).

Reddit search has no "newer than" filter, so every poll reads `sort=new` pages (newest first, `after=` to
page) and keeps what is newer than the cursor, stopping at the first page that reaches known posts.
Reddit's legacy JSON escapes `&`, `<` and `>` in titles and selftext (we do not ask for `raw_json=1`), so
`plain_text` decodes them without mistaking literal text for tags.

With `domain`, the link posts to that site are read too, from `/domain/DOMAIN/new.json` (newest first,
paged the same way), and merged with the search's by key.

Engagement refresh: `/api/info.json?id=t3_a,t3_b,...` (100 fullnames a call).
Anonymous Reddit answers 403 as often as 429 when it throttles: both are treated as a rate limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
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
    links_in_text,
    mentions_from,
    newest_first,
    search_terms,
    text_from_html,
    unique_by_key,
    unique_links,
    url_link,
    with_domain_link,
)

WEB_ROOT = "https://www.reddit.com"
PAGE_LIMIT = 100  # Reddit's maximum listing size
MAX_PAGES = 10  # a runaway guard; max_items is the real bound
REFRESH_LIMIT = 100  # fullnames refreshed per poll (one info.json call), newest first
FORBIDDEN_WAIT = timedelta(minutes=10)
_SUBREDDIT = re.compile(r"[A-Za-z0-9_]{2,21}")
_FULLNAME = re.compile(r"t3_[0-9a-z]+")


def post_to_mention(post: Mapping[str, Any]) -> Mention | None:
    """The `data` of one t3 listing child -> a Mention; None without an id.

    Its links: a link post's `url` (a self post's is its own permalink, no outbound link), then the
    URLs written in the selftext (Markdown).
    """
    name = str(post.get("name") or "")
    if not name and post.get("id"):
        name = f"t3_{post['id']}"
    if not _FULLNAME.fullmatch(name):
        return None
    permalink = str(post.get("permalink") or "")
    url = WEB_ROOT + permalink if permalink.startswith("/") else f"{WEB_ROOT}/comments/{name[3:]}/"
    # Reddit's legacy JSON entity-encodes `&`, `<` and `>` in these fields: decoded, not kept as typed.
    text = text_from_html(post.get("selftext"))
    link = post.get("url")
    is_link_post = isinstance(link, str) and not post.get("is_self") and link.rstrip("/") != url.rstrip("/")
    # The legacy JSON escapes the url too ("?a=1&amp;b=2"): unescaped as the selftext is.
    outbound = _legacy_unescape(link) if is_link_post and isinstance(link, str) else ""
    return Mention(
        key=name,
        kind=MentionKind.POST,
        url=url,
        title=text_from_html(post.get("title")),
        author=text_from_html(post.get("author")),
        published=from_epoch(post.get("created_utc")),
        summary=text or (text_from_html(link) if is_link_post else ""),
        likes=as_count(post.get("score")),
        replies=as_count(post.get("num_comments")),
        links=unique_links(url_link(outbound, base=WEB_ROOT), links_in_text(text)),
    )


def _legacy_unescape(value: str) -> str:
    """Undo the three escapes of Reddit's legacy JSON (`&amp;`, `&lt;`, `&gt;`); nothing else."""
    if "&" not in value:
        return value
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True, slots=True)
class ListingPage:
    mentions: tuple[Mention, ...]
    after: str | None  # fullname to page on from, None on the last page


def parse_listing(body: Any, domain: str = "") -> ListingPage:
    """A Reddit Listing -> its posts (API order) and the `after` token; `domain` when it lists the
    link posts to that site (each post's link there is said, see with_domain_link)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("children"), list):
        raise ParseError("Reddit answer is not a Listing")
    posts = (
        child["data"]
        for child in data["children"]
        if isinstance(child, dict) and child.get("kind") == "t3" and isinstance(child.get("data"), dict)
    )

    def convert(post: Mapping[str, Any]) -> Mention | None:
        mention = post_to_mention(post)
        return with_domain_link(mention, post, domain) if mention is not None and domain else mention

    mentions = mentions_from(posts, convert, "post")
    after = data.get("after")
    return ListingPage(mentions=mentions, after=after if isinstance(after, str) and after else None)


def newest_keys_first(keys: Iterable[str], limit: int, skip: Iterable[str] = ()) -> list[str]:
    """Reddit ids are base-36 counters: the `limit` newest t3 fullnames."""
    return newest_first(keys, limit, skip=skip, is_id=is_fullname, order=lambda key: int(key[3:], 36))


def is_fullname(key: str) -> bool:
    return _FULLNAME.fullmatch(key) is not None


def search_path(subreddit: str) -> str:
    return f"/r/{quote(subreddit)}/search.json" if subreddit else "/search.json"


def domain_path(domain: str) -> str:
    """Reddit's listing of the link posts to one site, newest first."""
    return f"/domain/{quote(domain, safe='')}/new.json"


def clean_subreddit(value: Any) -> str:
    """`r/Python`, `/r/Python/` or `Python` -> `Python`; FetchError for something that is no name."""
    name = str(value or "").strip().strip("/")
    name = name[2:] if name.lower().startswith("r/") else name
    if name and not _SUBREDDIT.fullmatch(name):
        raise FetchError(f"reddit subreddit {name!r} is not a subreddit name")
    return name


def throttled(error: FetchError, now: datetime) -> FetchError:
    """Reddit's 403 to an anonymous client means "too many requests", not "log in"."""
    if isinstance(error, NeedsCredentials) and error.http_status == 403:
        return RateLimited(
            f"{error.message} (Reddit answers 403 when it throttles anonymous clients)",
            until=now + FORBIDDEN_WAIT,
            http_status=403,
        )
    return error


@register
class RedditSource(Source):
    type_name = "reddit"
    default_base_url = "https://www.reddit.com"
    keys = {
        "query": KeySpec(str, help="Reddit search terms (or give domain)"),
        "domain": KeySpec(
            str, help="a site (blog.example.org): the link posts to it, from /domain/SITE/new.json"
        ),
        "subreddit": KeySpec(str, default="", help="search only this subreddit (name without r/)"),
    }
    # One of these must be given (feeds.toml checks it; the poll refuses to search for nothing).
    required_any = ("query", "domain")

    async def poll(self, ctx: PollContext) -> PollOutcome:
        """The word search and the domain listing (each with its own place in the cursor: the domain
        listing's under "domain"), merged by key, then the engagement refresh."""
        query, domain = search_terms(self)
        exchange = Exchange(now=ctx.now)
        cursor: dict[str, Any] = dict(ctx.cursor)
        found: list[Mention] = []
        try:
            if query:
                seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
                by_words = await self._search(ctx, seen, exchange, self._word_search(query))
                found.extend(by_words)
                cursor.update(seen.advance(by_words).to_cursor())
            if domain:
                seen = SeenUpTo.from_cursor(domain_seen(ctx.cursor, domain, ctx.first_poll))
                listing: tuple[str, dict[str, str]] = (self.base_url + domain_path(domain), {})
                by_link = await self._search(ctx, seen, exchange, listing, domain)
                found.extend(by_link)
                cursor[DOMAIN_CURSOR] = domain_cursor(domain, seen.advance(by_link).to_cursor())
        except FetchError as error:
            raise throttled(error, ctx.now) from error
        found = list(unique_by_key(found))
        refreshed = await self._refresh(ctx, {m.key for m in found}, exchange)
        return exchange.outcome(unique_by_key([*found, *refreshed]), cursor)

    def _word_search(self, query: str) -> tuple[str, dict[str, str]]:
        """The search listing's URL and parameters (sort and limit are added by _search)."""
        subreddit = clean_subreddit(self.config.option("subreddit"))
        params = {"q": query}
        if subreddit:
            params["restrict_sr"] = "1"
        return self.base_url + search_path(subreddit), params

    async def _search(
        self,
        ctx: PollContext,
        seen: SeenUpTo,
        exchange: Exchange,
        listing: tuple[str, Mapping[str, str]],
        domain: str = "",
    ) -> list[Mention]:
        """New posts of one listing, newest first, until known posts, the last page or max_items."""
        limit = max(1, self.config.max_items)
        url, search = listing
        params = {**search, "sort": "new", "limit": str(min(limit, PAGE_LIMIT))}
        found: list[Mention] = []
        after: str | None = None
        for page in range(MAX_PAGES):
            request = Request(url, params={**params, "after": after} if after else params)
            try:
                page_read = parse_listing(exchange.read(await ctx.fetch(request)), domain)
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill: keep what came. An incremental
                # poll must not leave a gap, so it fails whole and retries from the same cursor.
                if page == 0 or seen.at is not None:
                    raise
                exchange.setback(f"page {page + 1}", throttled(error, ctx.now))
                break
            found.extend(m for m in page_read.mentions if seen.is_new(m))
            after = page_read.after
            # Same-second posts may straddle pages: only a strictly older post ends the search.
            if any(seen.is_past(m) for m in page_read.mentions) or not after or len(found) >= limit:
                break
        exchange.note_max_items(len(found), limit, incremental=seen.at is not None)
        return list(unique_by_key(found))[:limit]

    async def _refresh(self, ctx: PollContext, skip: set[str], exchange: Exchange) -> list[Mention]:
        """Current score and comment counts of young posts, in one call (best effort)."""
        keys = newest_keys_first(ctx.refresh_keys, REFRESH_LIMIT, skip)
        if not keys:
            return []
        request = Request(self.base_url + "/api/info.json", params={"id": ",".join(keys)})
        try:
            listing = parse_listing(exchange.read(await ctx.fetch(request)))
        except FetchError as error:
            exchange.setback("engagement refresh", throttled(error, ctx.now))
            return []
        wanted = set(keys)
        return [mention for mention in listing.mentions if mention.key in wanted]
