"""Discourse: posts matching a search on one forum, or, without a query, the forum's newest topics.

`base_url` is the forum (e.g. https://discuss.example.org). With a `query`, `/search.json?q=QUERY order:latest`
lists matching posts newest first (50 a page, the topics they belong to alongside). Without one,
`/latest.json?order=created` lists topics newest first (30 a page, `page=` counts from 0).

Keys: an opening post (post_number 1), or a topic from `/latest.json`, is `t{topic_id}`; a reply is
`p{post_id}`. So one topic keeps one key whichever listing reported it, and switching a source between
search and latest never mixes a topic id up with a post id.

Cursor: `{"mode": "search" | "latest", "newest_id": int}` - the highest post id (search) or topic id
(latest) seen. Ids grow with time on a forum, so an item is new when its id is above `newest_id`; a
cursor of the other mode counts as none (first poll).

Engagement refresh: the listing itself is re-read. Page one of every poll re-reads the newest items;
while young keys are still unseen, up to `REFRESH_PAGES` further pages are read. Re-reading the same
listing keeps the stored text identical (a `/t/{id}.json` re-read would swap the search blurb for the
post's own text and count as an edit). A young item no longer in the listing keeps its last counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dashboard.contracts.errors import FetchError, ParseError
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Link, Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    Exchange,
    as_count,
    as_mapping,
    from_iso,
    links_in_html,
    links_in_text,
    needs_credentials,
    text_from_html,
    text_from_plain,
    unique_links,
)
from dashboard.text import shorten

SEARCH_PATH = "/search.json"
LATEST_PATH = "/latest.json"
REFRESH_PAGES = 2
MAX_PAGES = 20  # a runaway guard; max_items is the real bound
SUMMARY_CHARS = 500
SUGGESTED_KEY_ENV = "DISCOURSE_API_KEY"


# --- parsing: JSON -> mentions (pure) -------------------------------------------------------------------


def topic_url(forum: str, topic: Mapping[str, Any], topic_id: int, post_number: int | None = None) -> str:
    """FORUM/t/SLUG/TOPIC_ID, plus /POST_NUMBER for a reply; the slug is quoted, it comes from the network."""
    slug = topic.get("slug")
    path = f"/t/{quote(slug, safe='-_.~')}/{topic_id}" if isinstance(slug, str) and slug else f"/t/{topic_id}"
    return forum + path + (f"/{post_number}" if post_number and post_number > 1 else "")


def topic_replies(topic: Mapping[str, Any]) -> int | None:
    """The replies a topic has, as a community manager counts them: every post after the first.

    Not `reply_count`: Discourse counts there only posts made with "Reply" on another post (a direct
    reply), so on real forums it is far below `posts_count - 1` (83 posts, reply_count 58; most topics
    of 2-13 posts read 0) and answered topics would sit in Needs reply. `reply_count` stands in only
    when `posts_count` is missing.
    """
    posts = as_count(topic.get("posts_count"))
    if posts is not None:
        return max(posts - 1, 0)
    replies = as_count(topic.get("reply_count"))
    return max(replies, 0) if replies is not None else None


def search_post_to_mention(post: Mapping[str, Any], topic: Mapping[str, Any], forum: str) -> Mention | None:
    """A search post joined to its topic -> a Mention (an opening post is `t{topic}`, a reply `p{post}`)."""
    post_id, topic_id = as_count(post.get("id")), as_count(post.get("topic_id"))
    if post_id is None or topic_id is None:
        return None
    number = as_count(post.get("post_number")) or 1
    opening = number == 1
    url = topic_url(forum, topic, topic_id, number)
    blurb = text_from_html(post.get("blurb"))  # HTML: entities, highlights
    return Mention(
        key=f"t{topic_id}" if opening else f"p{post_id}",
        kind=MentionKind.POST if opening else MentionKind.COMMENT,
        url=url,
        title=text_from_plain(topic.get("title")),
        author=text_from_plain(post.get("username")),
        published=from_iso(post.get("created_at")),
        summary=shorten(blurb, SUMMARY_CHARS),
        likes=as_count(post.get("like_count")),
        replies=topic_replies(topic) if opening else None,
        views=as_count(topic.get("views")) if opening else None,
        links=post_links(post, blurb, url),
    )


def post_links(post: Mapping[str, Any], text: str, url: str) -> tuple[Link, ...]:
    """The links of a post: the anchors of its `cooked` HTML when the answer carries it (relative
    ones resolved against the post's page), and the URLs written in its text (a search blurb or a
    topic excerpt, plain text there: a URL cut short by the excerpt's "…" is left out)."""
    return unique_links(links_in_html(post.get("cooked"), url), links_in_text(text))


def original_poster(topic: Mapping[str, Any], users: Mapping[int, str]) -> str:
    """The username of the topic's author, from `posters` (the "Original Poster" entry) and `users`."""
    posters = [p for p in topic.get("posters") or () if isinstance(p, Mapping)]
    for poster in posters:
        if "original poster" in str(poster.get("description") or "").lower():
            return users.get(as_count(poster.get("user_id")) or -1, "")
    return users.get(as_count(posters[0].get("user_id")) or -1, "") if posters else ""


def latest_topic_to_mention(topic: Mapping[str, Any], users: Mapping[int, str], forum: str) -> Mention | None:
    """A `/latest.json` topic -> a Mention keyed `t{topic_id}`; likes are the whole topic's."""
    topic_id = as_count(topic.get("id"))
    if topic_id is None:
        return None
    url = topic_url(forum, topic, topic_id)
    excerpt = text_from_html(topic.get("excerpt"))
    return Mention(
        key=f"t{topic_id}",
        kind=MentionKind.POST,
        url=url,
        title=text_from_plain(topic.get("title")),
        author=text_from_plain(original_poster(topic, users)),
        published=from_iso(topic.get("created_at")),
        summary=shorten(excerpt, SUMMARY_CHARS),
        likes=as_count(topic.get("like_count")),
        replies=topic_replies(topic),
        views=as_count(topic.get("views")),
        links=post_links(topic, excerpt, url),
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a listing: its mentions with the id that orders them, and whether more pages exist."""

    items: tuple[tuple[int, Mention], ...]  # (post id for search, topic id for latest; mention)
    more: bool

    @property
    def mentions(self) -> list[Mention]:
        return [mention for _, mention in self.items]


def parse_search(data: Any, forum: str) -> Listing:
    """A `/search.json` body -> its posts (joined to their topics by topic_id), in API order."""
    # A search without results may leave `posts` out, but always carries `grouped_search_result`.
    known = isinstance(data, Mapping) and ("posts" in data or "grouped_search_result" in data)
    posts = data.get("posts") or [] if known else None
    if not isinstance(posts, list):
        raise ParseError("Discourse search answer without a 'posts' list")
    topics = {
        topic_id: topic
        for topic in data.get("topics") or ()
        if isinstance(topic, Mapping) and (topic_id := as_count(topic.get("id"))) is not None
    }
    items: list[tuple[int, Mention]] = []
    for post in posts:
        if not isinstance(post, Mapping):
            continue
        mention = search_post_to_mention(post, topics.get(as_count(post.get("topic_id")) or -1, {}), forum)
        post_id = as_count(post.get("id"))
        if mention is not None and post_id is not None:
            items.append((post_id, mention))
    more = as_mapping(data.get("grouped_search_result")).get("more_full_page_results") is True
    return Listing(tuple(items), more)


def parse_latest(data: Any, forum: str) -> Listing:
    """A `/latest.json` body -> its topics, in API order."""
    topic_list = as_mapping(as_mapping(data).get("topic_list"))
    if not isinstance(topic_list.get("topics"), list):
        raise ParseError("Discourse latest answer without topic_list.topics")
    users = {
        user_id: str(user.get("username") or "")
        for user in as_mapping(data).get("users") or ()
        if isinstance(user, Mapping) and (user_id := as_count(user.get("id"))) is not None
    }
    items = [
        (topic_id, mention)
        for topic in topic_list["topics"]
        if isinstance(topic, Mapping)
        and (topic_id := as_count(topic.get("id"))) is not None
        and (mention := latest_topic_to_mention(topic, users, forum)) is not None
    ]
    return Listing(tuple(items), bool(topic_list.get("more_topics_url")))


# Not common.SeenUpTo: Discourse listings take no date filter, and forum ids grow with time.
@dataclass(frozen=True, slots=True)
class SeenUpTo:
    """The highest id seen in one mode: post ids for search, topic ids for latest."""

    mode: str
    newest_id: int | None = None

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any], mode: str) -> SeenUpTo:
        if cursor.get("mode") != mode:
            return cls(mode)
        return cls(mode, as_count(cursor.get("newest_id")))

    def is_new(self, item_id: int) -> bool:
        return self.newest_id is None or item_id > self.newest_id

    def advance(self, ids: Iterable[int]) -> SeenUpTo:
        newest = max([*ids, *([self.newest_id] if self.newest_id is not None else [])], default=None)
        return SeenUpTo(self.mode, newest)

    def to_cursor(self) -> dict[str, Any]:
        return {} if self.newest_id is None else {"mode": self.mode, "newest_id": self.newest_id}


def search_query(query: str) -> str:
    """The user's search, newest first unless it already names an order."""
    return query if "order:" in query else f"{query} order:latest"


# --- the source ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Reading:
    """What the listing gave so far: new mentions, young ones re-read, and every id seen."""

    new: dict[str, Mention] = field(default_factory=dict)
    refreshed: dict[str, Mention] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


@register
class DiscourseSource(Source):
    type_name = "discourse"
    default_base_url = None  # the forum: base_url is required
    keys = {
        "query": KeySpec(
            str, help="Discourse search terms (filters like tags:, in:, @user work); none = newest topics"
        ),
        "api_key_env": KeySpec(str, help="environment variable holding an API key (private forums)"),
        "api_username_env": KeySpec(str, help="environment variable holding the API key's username"),
    }

    @property
    def forum(self) -> str:
        if not self.base_url:
            raise FetchError("discourse needs base_url = the forum, e.g. https://discuss.example.org")
        return self.base_url

    @property
    def query(self) -> str:
        return str(self.config.option("query") or "").strip()

    async def poll(self, ctx: PollContext) -> PollOutcome:
        exchange = Exchange(now=ctx.now)
        mode = "search" if self.query else "latest"
        seen = SeenUpTo(mode) if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor, mode)
        headers = self._headers(ctx, exchange)
        reading = await self._read(ctx, seen, headers, exchange)
        cursor = seen.advance(reading.ids).to_cursor() or dict(ctx.cursor)
        return exchange.outcome((*reading.new.values(), *reading.refreshed.values()), cursor)

    def _headers(self, ctx: PollContext, exchange: Exchange) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        for option, header in (("api_key_env", "Api-Key"), ("api_username_env", "Api-Username")):
            env_var = str(self.config.option(option) or "")
            if env_var and ctx.env.get(env_var):
                headers[header] = ctx.env[env_var]
            elif env_var:
                exchange.notes.append(f"{env_var} is not set")
        return headers

    async def _read(
        self, ctx: PollContext, seen: SeenUpTo, headers: Mapping[str, str], exchange: Exchange
    ) -> Reading:
        """Page the listing: new items up to max_items, then a few pages more while young keys are unseen."""
        limit = max(1, self.config.max_items)
        young = set(ctx.refresh_keys)
        reading = Reading()
        refresh_pages = 0
        for index in range(MAX_PAGES):
            try:
                listing = await self._page(ctx, index, headers, exchange)
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill, and refresh pages are best effort: keep
                # what came. New items of an incremental poll must not leave a gap: that fails whole.
                if index == 0 or (seen.newest_id is not None and refresh_pages == 0):
                    raise
                exchange.setback(f"page {index + 1}", error)
                break
            reached_known = False
            for item_id, mention in listing.items:
                reading.ids.append(item_id)
                if seen.is_new(item_id) and len(reading.new) < limit:
                    reading.new.setdefault(mention.key, mention)
                elif mention.key in young and mention.key not in reading.new:
                    reading.refreshed[mention.key] = mention
                reached_known = reached_known or not seen.is_new(item_id)
            if not listing.more or not listing.items:
                break
            if len(reading.new) < limit and not reached_known:
                continue  # still new items to page through
            if young - reading.new.keys() - reading.refreshed.keys() and refresh_pages < REFRESH_PAGES:
                refresh_pages += 1
                continue
            break
        exchange.note_max_items(len(reading.new), limit, incremental=seen.newest_id is not None)
        return reading

    async def _page(
        self, ctx: PollContext, index: int, headers: Mapping[str, str], exchange: Exchange
    ) -> Listing:
        if self.query:
            params = {"q": search_query(self.query), "page": str(index + 1)}
            return parse_search(exchange.read(await self._get(ctx, SEARCH_PATH, params, headers)), self.forum)
        params = {"order": "created", "page": str(index)}
        return parse_latest(exchange.read(await self._get(ctx, LATEST_PATH, params, headers)), self.forum)

    async def _get(
        self, ctx: PollContext, path: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> Response:
        try:
            return await ctx.fetch(Request(self.forum + path, params=params, headers=headers))
        except FetchError as error:
            raise needs_credentials(error, self._key_env) from error

    @property
    def _key_env(self) -> str:
        return str(self.config.option("api_key_env") or "") or SUGGESTED_KEY_ENV
