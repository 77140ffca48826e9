"""The demo server: every API the dashboard reads, played on 127.0.0.1 from the simulated world.

Each source type lives under its own path prefix (its `base_url`), so the dashboard polls the demo
exactly as it polls the internet: same requests, same parameters, same response formats, conditional
GETs on feeds, paging, by-id refreshes, and the failures of the world's incident windows (HTTP 500,
429 with Retry-After, a Stack Exchange `backoff`).

Search terms (`q`, `query`) are not matched against the text: every mention in the world is about
Lumen, so each search returns its whole stream; everything else (time filters, tags, paging) is honoured.
Searches for links to a domain are: HN Algolia `restrictSearchableAttributes=url`, Reddit
`/domain/{domain}/new.json`, Bluesky searchPosts `domain=` / `url=`, Lemmy `type_=Url`.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from dashboard.clock import utc_now
from dashboard.database import Database
from dashboard.demo import formats, shapes
from dashboard.demo.formats import Shown
from dashboard.demo.httpserver import Handler, LocalServer, Reply, Seen
from dashboard.demo.world import BLOG_HOST, DemoWorld, Happening

JSON = "application/json; charset=utf-8"
RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=utf-8"
KEYWORDS = ("lumen", "textual", "rich", "tui")

# Where each source type lives on the demo server (its base_url), and its feeds.
PREFIX = {
    "hackernews": "/hn",
    "reddit": "/reddit",
    "mastodon": "/mastodon",
    "bluesky": "/bluesky",
    "lemmy": "/lemmy",
    "stackexchange": "/stackexchange",
    "discourse": "/discourse",
    "github": "/github",
}
BLOG_FEED = "/blog/feed/"
COMMENTS_FEED = "/blog/comments/feed/"
RELEASES_FEED = "/lumen-tui/lumen/releases.atom"
YOUTUBE_FEED = "/youtube/feeds/videos.xml"
CHAT_HOOK = "/demo-chat/hook"  # the demo's chat: where its alerts are delivered
FEED_SIZES = {"blog": 10, "comments": 30, "releases": 10, "youtube": 15}  # items a feed carries
MASTODON_TAG = "lumen"
# Credentials are read from environment variables named in feeds.toml: the demo names ones that are never
# set, so a user's real tokens are never sent, not even to the local demo server.
NO_TOKEN = "COMMUNITY_DASHBOARD_DEMO_NO_"
# The echo and opinion keys of the demo's feeds.toml: `own = true` on its blog, `domain` on the social
# sources whose APIs search links to a domain, `[settings] languages`. A switch each, so a config loader
# that does not know one yet (they landed one by one, issues 12 and 13) can be met by turning it off.
DOMAIN_CONFIG_KEY = True
OWN_CONFIG_KEY = True
OPINION_CONFIG_KEYS = True
DOMAIN_SOURCES = ("hackernews", "reddit", "bluesky", "lemmy")  # the APIs with a search for links to a site
LANGUAGES = ("en", "fr")
STACK_QUOTA = 10_000  # the keyed quota: a demo left running all day must not run dry
GITHUB_LIMIT = 30  # search requests a minute (with a token)


@dataclass(frozen=True, slots=True)
class DemoFeed:
    """One `[[feeds]]` entry of the demo's feeds.toml."""

    name: str
    interval: str
    tags: tuple[str, ...]
    url: str | None = None
    source: str | None = None
    base_url: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    own: bool = False  # `own = true`: its entries are the community's own posts


class DemoServer:
    """A LocalServer playing every source type from a `DemoWorld`; use as a context manager."""

    def __init__(
        self,
        seed: int = 0,
        clock: Callable[[], datetime] = utc_now,
        *,
        start: datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = DemoWorld(seed=seed, start=start, clock=clock)
        self.server = LocalServer(host, port)
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = {}  # (counter, window) -> requests, for quota headers
        self._chat: deque[dict[str, Any]] = deque(maxlen=200)  # what the demo's alerts sent to its chat
        for path, handler in self._handlers().items():
            self.server.route(path, handler)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- feeds.toml ------------------------------------------------------------------------------

    def feeds(self) -> tuple[DemoFeed, ...]:
        """Every source the demo plays, pointed at this server, with short intervals.

        Stack Exchange and GitHub get their sources' `min_interval` (10 min, 1 min): the poller would
        stretch a shorter one anyway, and the file should say what really happens.
        """
        base = self.base_url
        return (
            DemoFeed("Lumen blog", "30s", ("blog",), url=base + BLOG_FEED, own=OWN_CONFIG_KEY),
            # Own too: its comments and pingbacks (post#comment-N) count on the post they are under.
            DemoFeed("Lumen blog comments", "20s", ("blog",), url=base + COMMENTS_FEED, own=OWN_CONFIG_KEY),
            DemoFeed("Lumen releases", "45s", ("releases",), url=base + RELEASES_FEED),
            DemoFeed(
                "Lumen on YouTube",
                "40s",
                ("video",),
                url=f"{base}{YOUTUBE_FEED}?channel_id={formats.YOUTUBE_CHANNEL_ID}",
            ),
            self._api("Hacker News", "hackernews", "15s", ("social",), query="lumen", kind="all"),
            self._api("Reddit", "reddit", "20s", ("social",), query="lumen"),
            self._api(
                "Mastodon #lumen",
                "mastodon",
                "15s",
                ("social",),
                tag=MASTODON_TAG,
                token_env=NO_TOKEN + "MASTODON",
            ),
            self._api(
                "Bluesky",
                "bluesky",
                "20s",
                ("social",),
                query="lumen",
                identifier_env=NO_TOKEN + "BLUESKY_ID",
                password_env=NO_TOKEN + "BLUESKY_PASSWORD",
            ),
            self._api("Lemmy", "lemmy", "30s", ("social",), query="lumen"),
            self._api(
                "Stack Overflow", "stackexchange", "10m", ("support",), query="lumen", site="stackoverflow"
            ),
            self._api("Lumen forum", "discourse", "25s", ("support",), query="lumen"),
            self._api("GitHub issues", "github", "1m", ("code",), query="lumen"),
        )

    def _api(self, name: str, source: str, interval: str, tags: tuple[str, ...], **options: str) -> DemoFeed:
        if DOMAIN_CONFIG_KEY and source in DOMAIN_SOURCES:
            options["domain"] = BLOG_HOST  # beside the query: links to the blog, whatever the words
        return DemoFeed(
            name,
            interval,
            tags,
            source=source,
            base_url=self.base_url + PREFIX[source],
            options=tuple(options.items()),
        )

    def feeds_toml(self, database: Database, *, chat_url_file: Path | None = None) -> str:
        """A feeds.toml pointing every source at this server: lively intervals, the backlog in one poll;
        with alert rules, delivered to the demo's own chat receiver when `chat_url_file` (a 0600 file
        holding `chat_url`) is given."""
        lines = [
            "# Written by `community-dashboard --demo`: every source below is played by a local demo server.",
            "[settings]",
            'interval = "30s"',
            f"database = {_toml_string(str(database))}",
            'timeout = "10s"',
            "max_concurrency = 8",
            "keywords = [" + ", ".join(_toml_string(word) for word in KEYWORDS) + "]",
            "max_items = 1000",
            'refresh_for = "2h"',
        ]
        if OPINION_CONFIG_KEYS:
            lines.append("languages = [" + ", ".join(_toml_string(lang) for lang in LANGUAGES) + "]")
        for feed in self.feeds():
            lines += ["", "[[feeds]]", f"name = {_toml_string(feed.name)}"]
            if feed.url is not None:
                lines.append(f"url = {_toml_string(feed.url)}")
            else:
                lines.append(f"source = {_toml_string(feed.source or '')}")
                lines.append(f"base_url = {_toml_string(feed.base_url or '')}")
                lines += [f"{key} = {_toml_string(value)}" for key, value in feed.options]
            lines.append(f"interval = {_toml_string(feed.interval)}")
            if feed.own:
                lines.append("own = true")
            lines.append("tags = [" + ", ".join(_toml_string(tag) for tag in feed.tags) + "]")
        return "\n".join(lines + self._alerts_toml(chat_url_file)) + "\n"

    @property
    def chat_url(self) -> str:
        """The Apprise URL of the demo's chat: a JSON webhook this server receives (`chat_messages`)."""
        return "json://" + self.base_url.removeprefix("http://") + CHAT_HOOK

    def chat_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._chat)

    def _alerts_toml(self, chat_url_file: Path | None) -> list[str]:
        notify = 'notify = ["demo-chat"]' if chat_url_file else "# notify: install the [alerts] extra"
        lines = ["", "# Alerts: raised once each, shown in the Alerts panel and sent to the demo's chat."]
        if chat_url_file:
            lines += ["[notify.demo-chat]", f"url_file = {_toml_string(str(chat_url_file))}"]
        for name, when, extra in (
            ("spikes", "spike", ""),
            ("broken-sources", "source_failing", "failures = 2"),
            ("outage-reports", "keyword", 'words = ["outage", "down", "broken"]'),
        ):
            lines += ["", "[[alerts]]", f'name = "{name}"', f'when = "{when}"', notify]
            lines += [extra] if extra else []
        return lines

    def _chat_hook(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        try:
            message = json.loads(seen.body)
        except ValueError:
            return Reply(400, b"expected JSON", {"Content-Type": "text/plain"})
        with self._lock:
            self._chat.append(message)
        return Reply(200, b"{}", {"Content-Type": "application/json"})

    # -- plumbing --------------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Handler]:
        hn, rd, ma, bs = PREFIX["hackernews"], PREFIX["reddit"], PREFIX["mastodon"], PREFIX["bluesky"]
        lm, se, dc, gh = PREFIX["lemmy"], PREFIX["stackexchange"], PREFIX["discourse"], PREFIX["github"]
        return {
            CHAT_HOOK: self._chat_hook,
            BLOG_FEED: self._stream("blog", self._blog_feed),
            COMMENTS_FEED: self._stream("comments", self._comments_feed),
            "/blog/*": self._stream("comments", self._post_comments_feed),
            RELEASES_FEED: self._stream("releases", self._releases_feed),
            YOUTUBE_FEED: self._stream("youtube", self._youtube_feed),
            hn + "/api/v1/search_by_date": self._stream("hackernews", self._hn_search),
            hn + "/api/v1/search": self._stream("hackernews", self._hn_search),
            hn + "/api/v1/items/*": self._stream("hackernews", self._hn_item),
            rd + "/search.json": self._stream("reddit", self._reddit_search),
            rd + "/r/*": self._stream("reddit", self._reddit_search),
            rd + "/domain/*": self._stream("reddit", self._reddit_search),
            rd + "/api/info.json": self._stream("reddit", self._reddit_info),
            ma + "/api/v1/timelines/tag/*": self._stream("mastodon", self._mastodon_tag),
            ma + "/api/v1/statuses": self._stream("mastodon", self._mastodon_statuses),
            ma + "/api/v1/statuses/*": self._stream("mastodon", self._mastodon_status),
            bs + "/xrpc/app.bsky.feed.searchPosts": self._stream("bluesky", self._bluesky_search),
            bs + "/xrpc/app.bsky.feed.getPosts": self._stream("bluesky", self._bluesky_get_posts),
            bs + "/xrpc/com.atproto.server.createSession": self._stream("bluesky", self._bluesky_session),
            lm + "/api/v3/search": self._stream("lemmy", self._lemmy_search),
            lm + "/api/v3/post": self._stream("lemmy", self._lemmy_post),
            se + "/2.3/search/advanced": self._stream("stackexchange", self._stack_search),
            se + "/2.3/search": self._stream("stackexchange", self._stack_search),
            se + "/2.3/questions/*": self._stream("stackexchange", self._stack_questions),
            dc + "/search.json": self._stream("discourse", self._discourse_search),
            dc + "/latest.json": self._stream("discourse", self._discourse_latest),
            gh + "/search/issues": self._stream("github", self._github_search),
        }

    def _stream(self, stream: str, answer: Callable[[Seen, datetime], Reply]) -> Handler:
        """A route of `stream`: the incident of the moment if there is one, else `answer`."""

        def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
            now = self.world.now()
            incident = self.world.incident(stream, now)
            if incident is not None and incident.kind == "error":
                body = b"<html><body><h1>500 Internal Server Error</h1><p>The demo server is having a bad day.</p></body></html>"
                return Reply(500, body, {"Content-Type": "text/html; charset=utf-8"})
            if incident is not None and incident.kind == "rate-limit":
                wait = max(1, math.ceil((incident.until - now).total_seconds()))
                headers = {
                    "Content-Type": JSON,
                    "Retry-After": str(wait),
                    **self._rate_headers(stream, now, spent=True),
                }
                return Reply(429, formats.rate_limit_error(stream), headers)
            return answer(seen, now)

        return handle

    def _count(self, counter: str, window: int) -> int:
        """Requests so far in `window` for `counter` (this one included)."""
        with self._lock:
            key = (counter, window)
            self._requests[key] = self._requests.get(key, 0) + 1
            return self._requests[key]

    def _rate_headers(self, stream: str, now: datetime, *, spent: bool = False) -> dict[str, str]:
        """X-RateLimit-* headers as GitHub (per minute, epoch reset) and Mastodon (5 min, ISO reset) send them."""
        if stream == "github":
            window = int(now.timestamp()) // 60
            used = self._count("github", window)
            remaining = 0 if spent else max(0, GITHUB_LIMIT - used)
            return {
                "X-RateLimit-Limit": str(GITHUB_LIMIT),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str((window + 1) * 60),
                "X-RateLimit-Used": str(min(used, GITHUB_LIMIT)),
                "X-RateLimit-Resource": "search",
            }
        if stream == "mastodon":
            window = int(now.timestamp()) // 300
            used = self._count("mastodon", window)
            reset = datetime.fromtimestamp((window + 1) * 300, UTC)
            return {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": str(max(1, 300 - used)),
                "X-RateLimit-Reset": formats.iso_z(reset),
            }
        return {}

    def _shown(self, mentions: Iterable[Happening], now: datetime) -> list[Shown]:
        return [Shown(mention, self.world.counts(mention, now)) for mention in mentions]

    def _json(self, body: bytes, headers: Mapping[str, str] | None = None, status: int = 200) -> Reply:
        return Reply(status, body, {"Content-Type": JSON, **(headers or {})})

    # -- feeds -----------------------------------------------------------------------------------

    def _newest(self, stream: str, now: datetime) -> list[Happening]:
        return self.world.mentions(stream, now)[::-1][: FEED_SIZES[stream]]

    def _blog_feed(self, seen: Seen, now: datetime) -> Reply:
        posts = self._shown(self._newest("blog", now), now)
        comments = [
            c for c in self.world.mentions("comments", now) if c.parent in {p.mention.ident for p in posts}
        ]
        changed = max(
            [*(p.mention.published for p in posts), *(c.published for c in comments)],
            default=self.world.start,
        )
        body = formats.rss_blog(
            posts, feed_url=self.url(BLOG_FEED), server_url=self.base_url, epoch=self.world.start
        )
        return conditional(seen, body, RSS, changed)

    def _comments_feed(self, seen: Seen, now: datetime) -> Reply:
        comments = self._shown(self._newest("comments", now), now)
        body = formats.wordpress_comments(comments, feed_url=self.url(COMMENTS_FEED), epoch=self.world.start)
        return conditional(seen, body, RSS, _newest_time(comments, self.world.start))

    def _post_comments_feed(self, seen: Seen, now: datetime) -> Reply:
        """/blog/ID/SLUG/feed/: the comments on one post (WordPress's per-post comment feed)."""
        parts = seen.path.strip("/").split("/")
        post_id = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() and parts[3] == "feed" else None
        post = self.world.find("blog", post_id, now) if post_id is not None else None
        if post is None:
            return Reply(404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"})
        comments = self._shown(
            reversed([c for c in self.world.mentions("comments", now) if c.parent == post.ident]), now
        )
        body = formats.wordpress_comments(
            comments, feed_url=self.url(seen.path), epoch=post.published, on_post=post
        )
        return conditional(seen, body, RSS, _newest_time(comments, post.published))

    def _releases_feed(self, seen: Seen, now: datetime) -> Reply:
        releases = self._shown(self._newest("releases", now), now)
        body = formats.atom_releases(releases, feed_url=self.url(RELEASES_FEED), epoch=self.world.start)
        return conditional(seen, body, ATOM, _newest_time(releases, self.world.start))

    def _youtube_feed(self, seen: Seen, now: datetime) -> Reply:
        videos = self._shown(self._newest("youtube", now), now)
        feed_url = f"https://www.youtube.com/feeds/videos.xml?channel_id={formats.YOUTUBE_CHANNEL_ID}"
        body = formats.youtube_channel(
            videos, feed_url=feed_url, epoch=self.world.start - timedelta(days=400)
        )
        # View counts change all the time: the feed is as new as the moment it was asked for.
        return conditional(seen, body, ATOM, now)

    # -- Hacker News (Algolia) -------------------------------------------------------------------

    def _hn_search(self, seen: Seen, now: datetime) -> Reply:
        by_date = seen.path.endswith("search_by_date")
        shown = self._shown(self.world.mentions("hackernews", now), now)
        hits = [
            hit
            for hit in shown
            if hn_matches(formats.hn_hit(hit), seen.param("tags"), seen.param("numericFilters"))
        ]
        if seen.param("restrictSearchableAttributes") == "url":
            # Algolia then matches the query against the url attribute only (comments have none).
            wanted = seen.param("query").lower()
            hits = [hit for hit in hits if wanted in (formats.hn_hit(hit).get("url") or "").lower()]
        if by_date:
            hits.sort(key=lambda hit: (hit.mention.published, hit.mention.ident), reverse=True)
        else:
            hits.sort(key=lambda hit: (hit.counts.score, hit.mention.ident), reverse=True)
        per_page = _clamp(_int(seen.param("hitsPerPage"), 20), 0, 1000)
        page = max(0, _int(seen.param("page"), 0))
        reachable = hits[:1000]
        chosen = reachable[page * per_page : (page + 1) * per_page]
        params = urlencode({key: values[0] for key, values in seen.query.items() if values})
        body = formats.hn_search(
            chosen,
            page=page,
            hits_per_page=per_page,
            nb_hits=len(hits),
            query=seen.param("query"),
            params=params,
        )
        return self._json(body)

    def _hn_item(self, seen: Seen, now: datetime) -> Reply:
        item_id = _int(seen.path.rsplit("/", 1)[-1], -1)
        item = self.world.find("hackernews", item_id, now)
        if item is None:
            return self._json(b'{"status":404,"error":"Not Found"}', status=404)
        children = [
            m
            for m in self.world.mentions("hackernews", now)
            if m.parent == item.ident and m.kind == "comment"
        ]
        return self._json(
            formats.hn_item(Shown(item, self.world.counts(item, now)), self._shown(children, now))
        )

    # -- Reddit ----------------------------------------------------------------------------------

    def _reddit_search(self, seen: Seen, now: datetime) -> Reply:
        """/search.json, /r/SUB/search.json (restrict_sr) and /r/SUB/new.json: newest first, `after`/`before` paging."""
        parts = seen.path[len(PREFIX["reddit"]) :].strip("/").split("/")
        posts = self.world.mentions("reddit", now)[::-1]
        if parts[0] == "domain":  # /domain/{domain}/new.json: link posts to that site, newest first
            if len(parts) != 3 or parts[2] != "new.json":
                return self._json(b'{"message": "Not Found", "error": 404}', status=404)
            site = parts[1].lower().removeprefix("www.")
            posts = [
                post
                for post in posts
                if post.variant == "link" and formats.url_host(formats.link_url(post)) == site
            ]
        elif parts[0] == "r":
            if len(parts) != 3 or parts[2] not in ("search.json", "new.json"):
                return self._json(b'{"message": "Not Found", "error": 404}', status=404)
            if parts[2] == "new.json" or seen.param("restrict_sr") in ("1", "on", "true"):
                posts = [post for post in posts if post.place.lower() == parts[1].lower()]
        sort = seen.param("sort", "new" if parts[-1] == "new.json" else "relevance")
        if sort in ("top", "relevance", "comments"):
            posts.sort(key=lambda post: self.world.counts(post, now).score, reverse=True)
        limit = _clamp(_int(seen.param("limit"), 25), 1, 100)
        names = [f"t3_{formats.base36(post.ident)}" for post in posts]
        if seen.param("after"):
            begin = names.index(seen.param("after")) + 1 if seen.param("after") in names else len(names)
            chosen = posts[begin : begin + limit]
        elif seen.param("before") in names:
            end = names.index(seen.param("before"))
            begin = max(0, end - limit)
            chosen = posts[begin:end]
        else:
            begin = 0
            chosen = posts[:limit]
        more = begin + len(chosen) < len(posts)
        after = names[begin + len(chosen) - 1] if chosen and more else None
        before = names[begin] if chosen and begin > 0 else None
        raw_json = seen.param("raw_json") == "1"
        return self._json(
            formats.reddit_listing(self._shown(chosen, now), after=after, before=before, raw_json=raw_json),
            self._reddit_headers(now),
        )

    def _reddit_info(self, seen: Seen, now: datetime) -> Reply:
        wanted = [name for value in seen.query.get("id", []) for name in value.split(",") if name]
        by_name = {f"t3_{formats.base36(post.ident)}": post for post in self.world.mentions("reddit", now)}
        chosen = [by_name[name] for name in wanted if name in by_name]
        raw_json = seen.param("raw_json") == "1"
        return self._json(
            formats.reddit_listing(self._shown(chosen, now), after=None, raw_json=raw_json),
            self._reddit_headers(now),
        )

    def _reddit_headers(self, now: datetime) -> dict[str, str]:
        window = int(now.timestamp()) // 600
        used = self._count("reddit", window)
        reset = (window + 1) * 600 - int(now.timestamp())
        return {
            "x-ratelimit-used": str(used),
            "x-ratelimit-remaining": f"{max(1, 100 - used)}.0",
            "x-ratelimit-reset": str(reset),
        }

    # -- Mastodon --------------------------------------------------------------------------------

    def _mastodon_tag(self, seen: Seen, now: datetime) -> Reply:
        """A hashtag timeline, newest first; max_id / since_id / min_id and limit as Mastodon does them."""
        tag = unquote(seen.path.rsplit("/", 1)[-1]).lstrip("#").lower()
        statuses = [s for s in self.world.mentions("mastodon", now) if tag in s.tags]  # oldest first
        limit = _clamp(_int(seen.param("limit"), 20), 1, 40)
        max_id, since_id, min_id = (_int(seen.param(name), -1) for name in ("max_id", "since_id", "min_id"))
        if max_id >= 0:
            statuses = [s for s in statuses if s.ident < max_id]
        if since_id >= 0:
            statuses = [s for s in statuses if s.ident > since_id]
        if min_id >= 0:
            chosen = [s for s in statuses if s.ident > min_id][:limit][
                ::-1
            ]  # immediately newer, newest first
        else:
            chosen = statuses[::-1][:limit]
        headers = self._rate_headers("mastodon", now)
        if chosen:
            page_url = self.url(seen.path)
            headers["Link"] = (
                f'<{page_url}?{urlencode({"limit": limit, "max_id": chosen[-1].ident})}>; rel="next", '
                f'<{page_url}?{urlencode({"limit": limit, "min_id": chosen[0].ident})}>; rel="prev"'
            )
        return self._json(formats.mastodon_statuses(self._shown(chosen, now)), headers)

    def _mastodon_statuses(self, seen: Seen, now: datetime) -> Reply:
        """GET /api/v1/statuses?id[]=...: the statuses that exist, in the order asked."""
        wanted = [_int(value, -1) for value in seen.query.get("id[]", [])]
        by_id = {status.ident: status for status in self.world.mentions("mastodon", now)}
        chosen = [by_id[ident] for ident in wanted if ident in by_id]
        return self._json(
            formats.mastodon_statuses(self._shown(chosen, now)), self._rate_headers("mastodon", now)
        )

    def _mastodon_status(self, seen: Seen, now: datetime) -> Reply:
        status = self.world.find("mastodon", _int(seen.path.rsplit("/", 1)[-1], -1), now)
        if status is None:
            return self._json(b'{"error":"Record not found"}', status=404)
        return self._json(
            formats.answer(
                shapes.MASTODON_STATUS,
                formats.mastodon_status(Shown(status, self.world.counts(status, now))),
                "Mastodon status",
            )
        )

    # -- Bluesky ---------------------------------------------------------------------------------

    def _bluesky_search(self, seen: Seen, now: datetime) -> Reply:
        if not seen.param("q"):
            return self._json(
                b'{"error":"InvalidRequest","message":"Error: Params must have the property \\"q\\""}',
                status=400,
            )
        posts = self.world.mentions("bluesky", now)[::-1]
        if seen.param("domain") or seen.param("url"):
            posts = [
                post for post in posts if bluesky_links_to(post, seen.param("domain"), seen.param("url"))
            ]
        since, until = _iso(seen.param("since")), _iso(seen.param("until"))
        posts = [
            p
            for p in posts
            if (since is None or p.published >= since) and (until is None or p.published < until)
        ]
        if seen.param("sort") == "top":
            posts.sort(key=lambda post: self.world.counts(post, now).score, reverse=True)
        limit = _clamp(_int(seen.param("limit"), 25), 1, 100)
        offset = max(0, _int(seen.param("cursor"), 0))
        chosen = posts[offset : offset + limit]
        cursor = str(offset + limit) if offset + limit < len(posts) else None
        return self._json(
            formats.bluesky_search(self._shown(chosen, now), cursor=cursor, hits_total=len(posts))
        )

    def _bluesky_get_posts(self, seen: Seen, now: datetime) -> Reply:
        wanted = seen.query.get("uris", [])
        if len(wanted) > 25:
            return self._json(
                b'{"error":"InvalidRequest","message":"Error: uris must not have more than 25 elements"}',
                status=400,
            )
        by_uri = {formats.bluesky_uri(post): post for post in self.world.mentions("bluesky", now)}
        chosen = [by_uri[uri] for uri in wanted if uri in by_uri]
        return self._json(formats.bluesky_posts(self._shown(chosen, now)))

    def _bluesky_session(self, seen: Seen, now: datetime) -> Reply:
        """com.atproto.server.createSession: any app password opens a demo session."""
        try:
            identifier = str(json.loads(seen.body or b"{}").get("identifier") or "")
        except (ValueError, AttributeError):
            identifier = ""
        if seen.method != "POST" or not identifier:
            return self._json(
                b'{"error":"InvalidRequest","message":"Input must have the property \\"identifier\\""}',
                status=400,
            )
        return self._json(formats.bluesky_session(identifier))

    # -- Lemmy -----------------------------------------------------------------------------------

    def _lemmy_search(self, seen: Seen, now: datetime) -> Reply:
        type_ = seen.param("type_", "All")
        posts = self.world.mentions("lemmy", now)[::-1] if type_ in ("All", "Posts", "Url") else []
        if type_ == "Url":  # Lemmy matches q inside the posts' url (ILIKE %q%)
            wanted = seen.param("q").lower()
            posts = [post for post in posts if post.shares and wanted in formats.link_url(post).lower()]
        if seen.param("community_name"):
            posts = [post for post in posts if post.place == seen.param("community_name").split("@")[0]]
        if seen.param("sort", "TopAll").startswith("Top"):
            posts.sort(key=lambda post: self.world.counts(post, now).score, reverse=True)
        elif seen.param("sort") == "Old":
            posts.reverse()
        limit = _clamp(_int(seen.param("limit"), 10), 1, 50)
        page = max(1, _int(seen.param("page"), 1))
        chosen = posts[(page - 1) * limit : page * limit]
        return self._json(formats.lemmy_search(self._shown(chosen, now), type_=type_))

    def _lemmy_post(self, seen: Seen, now: datetime) -> Reply:
        post = self.world.find("lemmy", _int(seen.param("id"), -1), now)
        if post is None:
            return self._json(b'{"error":"couldnt_find_post"}', status=404)
        return self._json(formats.lemmy_post(Shown(post, self.world.counts(post, now))))

    # -- Stack Exchange --------------------------------------------------------------------------

    def _stack_search(self, seen: Seen, now: datetime) -> Reply:
        """/2.3/search/advanced (any of `tagged`) and /2.3/search (all of `tagged`): fromdate/todate, paging."""
        questions = self.world.mentions("stackexchange", now)
        tagged = {tag for tag in seen.param("tagged").lower().split(";") if tag}
        if tagged:
            match_all = not seen.path.endswith("advanced")
            questions = [q for q in questions if (tagged <= set(q.tags)) if match_all or tagged & set(q.tags)]
        fromdate, todate = _int(seen.param("fromdate"), -1), _int(seen.param("todate"), -1)
        questions = [
            q
            for q in questions
            if (fromdate < 0 or q.epoch >= fromdate) and (todate < 0 or q.epoch <= todate)
        ]
        return self._stack_page(seen, now, questions)

    def _stack_questions(self, seen: Seen, now: datetime) -> Reply:
        """/2.3/questions/{ids}: up to 100 `;`-separated ids."""
        raw = unquote(seen.path.rsplit("/", 1)[-1])
        wanted = {_int(value, -1) for value in raw.split(";") if value}
        if not wanted or len(wanted) > 100:
            body = formats.stackexchange_error(400, "bad_parameter", "ids")
            return Reply(400, body, {"Content-Type": JSON, "Content-Encoding": "gzip"})
        questions = [q for q in self.world.mentions("stackexchange", now) if q.ident in wanted]
        return self._stack_page(seen, now, questions)

    def _stack_page(self, seen: Seen, now: datetime, questions: Sequence[Happening]) -> Reply:
        sort = seen.param("sort", "activity")
        ordered = list(questions)
        if sort == "votes":
            ordered.sort(key=lambda q: self.world.counts(q, now).score)
        elif sort == "activity":
            ordered.sort(key=lambda q: (self.world.counts(q, now).active_at, q.ident))
        else:
            ordered.sort(key=lambda q: (q.published, q.ident))
        if seen.param("order", "desc") != "asc":
            ordered.reverse()
        size = _clamp(_int(seen.param("pagesize"), 30), 1, 100)
        page = max(1, _int(seen.param("page"), 1))
        chosen = ordered[(page - 1) * size : page * size]
        used = self._count("stackexchange", now.toordinal())
        incident = self.world.incident("stackexchange", now)
        backoff = None
        if incident is not None and incident.kind == "backoff":
            backoff = max(1, math.ceil((incident.until - now).total_seconds()))
        body = formats.stackexchange_items(
            self._shown(chosen, now),
            has_more=page * size < len(ordered),
            quota_remaining=max(0, STACK_QUOTA - used),
            quota_max=STACK_QUOTA,
            backoff=backoff,
            with_body=seen.param("filter") == "withbody",
        )
        return Reply(200, body, {"Content-Type": JSON, "Content-Encoding": "gzip"})

    # -- Discourse -------------------------------------------------------------------------------

    def _discourse_search(self, seen: Seen, now: datetime) -> Reply:
        """search.json: `q` may carry `order:latest`, `after:DATE` and `before:DATE`; 50 results a page."""
        words = seen.param("q").split()
        topics = self.world.mentions("discourse", now)[::-1]
        term = []
        for word in words:
            name, _, value = word.partition(":")
            day = _day(value) if name in ("after", "before") else None
            if name == "after" and day is not None:
                topics = [t for t in topics if t.published.date() > day]
            elif name == "before" and day is not None:
                topics = [t for t in topics if t.published.date() < day]
            elif name != "order":
                term.append(word)
        if "order:latest" not in words:
            topics.sort(key=lambda topic: self.world.counts(topic, now).score, reverse=True)
        page = max(1, _int(seen.param("page"), 1))
        chosen = topics[(page - 1) * 50 : page * 50]
        body = formats.discourse_search(
            self._shown(chosen, now), term=" ".join(term), more=page * 50 < len(topics)
        )
        return self._json(body)

    def _discourse_latest(self, seen: Seen, now: datetime) -> Reply:
        topics = self.world.mentions("discourse", now)[::-1]
        page = max(0, _int(seen.param("page"), 0))
        chosen = topics[page * 30 : (page + 1) * 30]
        more = f"/latest?page={page + 1}" if (page + 1) * 30 < len(topics) else None
        return self._json(formats.discourse_latest(self._shown(chosen, now), more_url=more))

    # -- GitHub ----------------------------------------------------------------------------------

    def _github_search(self, seen: Seen, now: datetime) -> Reply:
        """/search/issues: `created:` and `is:`/`type:`/`repo:` qualifiers in q, sort/order, per_page/page."""
        headers = self._rate_headers("github", now)
        query = seen.param("q").strip()
        if not query:
            body = formats.to_json(
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Search", "field": "q", "code": "missing"}],
                    "documentation_url": "https://docs.github.com/rest/search",
                }
            )
            return self._json(body, headers, status=422)
        items = [item for item in self.world.mentions("github", now) if github_matches(item, query)]
        sort = seen.param("sort")
        if sort in ("comments", "reactions"):
            items.sort(key=lambda item: self.world.counts(item, now).score)
        elif sort == "updated":
            items.sort(key=lambda item: (self.world.counts(item, now).active_at, item.ident))
        else:
            items.sort(key=lambda item: (item.published, item.ident))
        if seen.param("order", "desc") != "asc":
            items.reverse()
        per_page = _clamp(_int(seen.param("per_page"), 30), 1, 100)
        page = max(1, _int(seen.param("page"), 1))
        reachable = items[:1000]
        chosen = reachable[(page - 1) * per_page : page * per_page]
        last = max(1, math.ceil(len(reachable) / per_page))
        if page < last:
            base = {key: values[0] for key, values in seen.query.items() if values}
            headers["Link"] = (
                f'<{self.url(seen.path)}?{urlencode({**base, "page": page + 1})}>; rel="next", '
                f'<{self.url(seen.path)}?{urlencode({**base, "page": last})}>; rel="last"'
            )
        return self._json(formats.github_search(self._shown(chosen, now), total_count=len(items)), headers)


# --------------------------------------------------------------------------------------------------
# Request-parameter semantics, as pure functions


def conditional(seen: Seen, body: bytes, content_type: str, changed: datetime) -> Reply:
    """200 with ETag and Last-Modified, or 304 when the client's validators still match.

    If-None-Match wins over If-Modified-Since (RFC 9110): a client sending both gets 304 only for the same ETag.
    """
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    last_modified = format_datetime(changed.astimezone(UTC), usegmt=True)
    headers = {"Content-Type": content_type, "ETag": etag, "Last-Modified": last_modified}
    if_none_match = seen.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return Reply(304, b"", headers)
    elif (since := _http_date(seen.headers.get("if-modified-since", ""))) and changed.replace(
        microsecond=0
    ) <= since:
        return Reply(304, b"", headers)
    return Reply(200, body, headers)


def bluesky_links_to(post: Happening, domain: str, url: str) -> bool:
    """searchPosts `domain` / `url`: posts whose links (facets or external embed) go to that host
    (normalised: lower case, no `www.`) or to that URL (normalised: no scheme, `www.` or trailing slash)."""
    links = [share.url for share in post.shares]
    if domain and formats.url_host("https://" + domain) not in {formats.url_host(link) for link in links}:
        return False
    return not url or _loose(url) in {_loose(link) for link in links}


def _loose(url: str) -> str:
    return url.partition("://")[2].removeprefix("www.").rstrip("/").lower()


def hn_matches(hit: Mapping[str, Any], tags: str, numeric_filters: str) -> bool:
    """Algolia `tags` (comma = AND, parentheses = OR) and `numericFilters` (comma = AND) on one hit."""
    hit_tags = set(hit.get("_tags", []))
    for group in _tag_groups(tags):
        if not hit_tags & group:
            return False
    for condition in (part.strip() for part in numeric_filters.split(",") if part.strip()):
        for operator in (">=", "<=", "!=", ">", "<", "="):
            field, found, value = condition.partition(operator)
            if found:
                actual = hit.get(field.strip())
                if not isinstance(actual, int) or not _compare(actual, operator, _int(value.strip(), 0)):
                    return False
                break
    return True


def _tag_groups(tags: str) -> list[set[str]]:
    """`story,(story_1,story_2)` -> [{"story"}, {"story_1", "story_2"}]."""
    groups: list[set[str]] = []
    depth, current = 0, ""
    for char in tags + ",":
        if char == "," and depth == 0:
            if current.strip():
                groups.append({tag.strip() for tag in current.strip().strip("()").split(",") if tag.strip()})
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return groups


def _compare(actual: int, operator: str, value: int) -> bool:
    return {
        ">=": actual >= value,
        "<=": actual <= value,
        "!=": actual != value,
        ">": actual > value,
        "<": actual < value,
        "=": actual == value,
    }[operator]


def github_matches(item: Happening, query: str) -> bool:
    """The qualifiers of a GitHub search query that the demo honours: created:, is:/type:, repo:, state:."""
    for word in query.split():
        name, found, value = word.partition(":")
        if not found:
            continue  # a search term: every demo item is about Lumen
        if name == "created" and not _created_matches(item.published, value):
            return False
        if name in ("is", "type") and value in ("issue", "pr") and item.variant != value:
            return False
        if name == "repo" and value.lower() != item.place.lower():
            return False
        if name in ("state", "is") and value == "closed":
            return False
    return True


def _created_matches(moment: datetime, value: str) -> bool:
    """`>=X`, `>X`, `<=X`, `<X`, `X..Y` (either side `*`) or `X` (that day or moment)."""
    for operator in (">=", "<=", ">", "<"):
        if value.startswith(operator):
            bounds = _bounds(value[len(operator) :])
            if bounds is None:
                return True
            low, high = bounds
            return _compare_time(moment, operator, low if operator in (">=", "<") else high)
    if ".." in value:
        start, _, end = value.partition("..")
        low_bounds = None if start == "*" else _bounds(start)
        high_bounds = None if end == "*" else _bounds(end)
        return (low_bounds is None or moment >= low_bounds[0]) and (
            high_bounds is None or moment <= high_bounds[1]
        )
    bounds = _bounds(value)
    return bounds is None or bounds[0] <= moment <= bounds[1]


def _compare_time(moment: datetime, operator: str, bound: datetime) -> bool:
    return {">=": moment >= bound, "<=": moment <= bound, ">": moment > bound, "<": moment < bound}[operator]


def _bounds(text: str) -> tuple[datetime, datetime] | None:
    """A date means the whole day; a date-time means that second."""
    day = _day(text)
    if day is not None and len(text.strip()) == 10:
        low = datetime.combine(day, time(), UTC)
        return low, low + timedelta(days=1) - timedelta(microseconds=1)
    moment = _iso(text)
    return None if moment is None else (moment, moment)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _iso(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _http_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _newest_time(items: Sequence[Shown], default: datetime) -> datetime:
    return max((shown.mention.published for shown in items), default=default)


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(value)
