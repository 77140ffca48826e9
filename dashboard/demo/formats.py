"""The documented response formats of every API the dashboard reads, rendered from demo mentions.

Pure functions: a list of `Shown` (a mention plus its engagement at the moment asked about) in, the
bytes (or JSON-ready dicts) the real service would send out. Field names follow the services' own
documentation (see shared/reference/sources.md); choosing, filtering and paging happen in server.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from dashboard.demo import shapes
from dashboard.demo.world import (
    BLOG_SITE,
    MAINTAINERS,
    Counts,
    Happening,
    Share,
    blog_path,
    release_version,
    slugify,
)

BLOG_TITLE = "Lumen blog"
BLOG_DESCRIPTION = "News from the Lumen TUI framework"
RELEASES_REPO = "lumen-tui/lumen"
YOUTUBE_CHANNEL_ID = "UCLumenTuiDemo0000000000"
YOUTUBE_CHANNEL_NAME = "Lumen TUI"
LEMMY_INSTANCE = "https://lemmy.example"
STACK_SITE = "https://stackoverflow.com"

# Characters XML 1.0 cannot carry at all: a real server would have produced a broken feed; we drop them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_URL = re.compile(r"https?://[^\s<>\"]+")  # a bare URL in text a demo mention wrote
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_MAINTAINER_HANDLES = frozenset(person.handle for person in MAINTAINERS)


@dataclass(frozen=True, slots=True)
class Shown:
    """A mention as one response shows it: with its engagement at that response's moment."""

    mention: Happening
    counts: Counts


# --------------------------------------------------------------------------------------------------
# Small shared helpers


def iso_z(moment: datetime, digits: int = 3) -> str:
    """2026-01-02T03:04:05.000Z (digits 3), ...05.000000Z (6), or ...05Z (0)."""
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return base + "Z"
    return f"{base}.{moment.microsecond:06d}"[: len(base) + 1 + digits] + "Z"


def rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def tid(number: int) -> str:
    """An AT Protocol record key (TID): 13 sortable base32 characters of a 64-bit number."""
    return "".join(_TID_ALPHABET[(number >> (5 * (12 - i))) & 31] for i in range(13))


def _b32(data: bytes, length: int) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")[:length]


def did_of(handle: str) -> str:
    return "did:plc:" + _b32(hashlib.sha256(handle.encode()).digest(), 24)


def cid_of(uri: str) -> str:
    return "bafyrei" + _b32(hashlib.sha256(uri.encode()).digest(), 52)


def video_id(mention: Happening) -> str:
    return base64.urlsafe_b64encode(mention.token.to_bytes(8, "big")).decode("ascii")[:11]


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def answer(shape: shapes.Shape, data: Any, what: str) -> bytes:
    """An API answer as JSON, once it has its API's shape (dashboard/demo/shapes.py): the demo
    never serves a format of its own."""
    return to_json(shapes.check(shape, data, what))


def _x(text: str) -> str:
    """Text for an XML element."""
    return escape(_NOT_XML.sub("", text))


def _attr(text: str) -> str:
    return quoteattr(_NOT_XML.sub("", text))


def _cdata(text: str) -> str:
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def se_escape(text: str) -> str:
    """Stack Exchange's entity encoding of titles and names (it writes &#39; for the apostrophe)."""
    return html.escape(text).replace("&#x27;", "&#39;")


def _paragraphs(text: str) -> str:
    """Plain text as the HTML a site would store: escaped, one <p> per paragraph."""
    return "".join(f"<p>{html.escape(part)}</p>" for part in text.split("\n\n") if part.strip())


def _newest(items: Iterable[Shown], default: datetime) -> datetime:
    return max((shown.mention.published for shown in items), default=default)


def bluesky_handle(mention: Happening) -> str:
    return f"{mention.author.username('-')}.bsky.social"


def github_login(mention: Happening) -> str:
    return mention.author.username("-")


# --------------------------------------------------------------------------------------------------
# Feeds (XML)

_RSS_NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
)


def _rss(title: str, self_url: str, link: str, items: Sequence[str], updated: datetime) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<rss version="2.0" {_RSS_NAMESPACES}>',
        "<channel>",
        f"\t<title>{_x(title)}</title>",
        f'\t<atom:link href={_attr(self_url)} rel="self" type="application/rss+xml" />',
        f"\t<link>{_x(link)}</link>",
        f"\t<description>{_x(BLOG_DESCRIPTION)}</description>",
        f"\t<lastBuildDate>{rfc822(updated)}</lastBuildDate>",
        "\t<language>en-US</language>",
        "\t<sy:updatePeriod>hourly</sy:updatePeriod>",
        "\t<sy:updateFrequency>1</sy:updateFrequency>",
        "\t<generator>https://wordpress.org/?v=6.7.1</generator>",
        *items,
        "</channel>",
        "</rss>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def rss_blog(posts: Sequence[Shown], *, feed_url: str, server_url: str, epoch: datetime) -> bytes:
    """A WordPress /feed/: RSS 2.0 with dc:creator, content:encoded, wfw:commentRss and slash:comments.

    `server_url` is where the demo serves the per-post comment feeds; `epoch` dates an empty feed.
    """
    items = []
    for shown in posts:
        post = shown.mention
        link = BLOG_SITE + blog_path(post.ident, post.title)
        items.append(
            "\n".join(
                [
                    "\t<item>",
                    f"\t\t<title>{_x(post.title)}</title>",
                    f"\t\t<link>{_x(link)}</link>",
                    f"\t\t<comments>{_x(link)}#respond</comments>",
                    f"\t\t<dc:creator>{_cdata(post.author.name)}</dc:creator>",
                    f"\t\t<pubDate>{rfc822(post.published)}</pubDate>",
                    "\t\t<category><![CDATA[Lumen]]></category>",
                    f'\t\t<guid isPermaLink="false">{_x(BLOG_SITE)}/?p={post.ident}</guid>',
                    f"\t\t<description>{_cdata(post.body)}</description>",
                    f"\t\t<content:encoded>{_cdata(_paragraphs(post.body))}</content:encoded>",
                    f"\t\t<wfw:commentRss>{_x(server_url + blog_path(post.ident, post.title))}feed/</wfw:commentRss>",
                    f"\t\t<slash:comments>{shown.counts.comments}</slash:comments>",
                    "\t</item>",
                ]
            )
        )
    return _rss(BLOG_TITLE, feed_url, BLOG_SITE + "/blog", items, _newest(posts, epoch))


def wordpress_comments(
    comments: Sequence[Shown], *, feed_url: str, epoch: datetime, on_post: Happening | None = None
) -> bytes:
    """A WordPress comments feed: the site's /comments/feed/, or one post's /POST/feed/ (`on_post`).

    Pingbacks are comments too; WordPress titles them with the linking page's name, "Pingback: ...".
    """
    items = []
    for shown in comments:
        comment = shown.mention
        post_link = BLOG_SITE + blog_path(comment.parent or 0, comment.parent_title)
        author = comment.place if comment.kind == "pingback" else comment.author.name
        items.append(
            "\n".join(
                [
                    "\t<item>",
                    f"\t\t<title>{_x(comment.title)}</title>",
                    f"\t\t<link>{_x(post_link)}#comment-{comment.ident}</link>",
                    f"\t\t<dc:creator>{_cdata(author)}</dc:creator>",
                    f"\t\t<pubDate>{rfc822(comment.published)}</pubDate>",
                    f'\t\t<guid isPermaLink="false">{_x(BLOG_SITE)}/?p={comment.parent}#comment-{comment.ident}</guid>',
                    f"\t\t<description>{_cdata(comment.body)}</description>",
                    f"\t\t<content:encoded>{_cdata(_paragraphs(comment.body))}</content:encoded>",
                    "\t</item>",
                ]
            )
        )
    if on_post is not None:
        title, link = f"Comments on: {on_post.title}", BLOG_SITE + blog_path(on_post.ident, on_post.title)
    else:
        title, link = f"Comments for {BLOG_TITLE}", BLOG_SITE + "/blog"
    return _rss(title, feed_url, link, items, _newest(comments, epoch))


def atom_releases(releases: Sequence[Shown], *, feed_url: str, epoch: datetime) -> bytes:
    """A GitHub releases.atom feed: one entry per tagged release (no engagement counts in it)."""
    repo_url = f"https://github.com/{RELEASES_REPO}"
    entries = []
    for shown in releases:
        release = shown.mention
        version = release_version(release.index)
        notes = (
            f"<h2>Lumen v{version}</h2><p>Patch and minor fixes. Thanks to everyone who reported issues!</p>"
        )
        entries.append(
            "\n".join(
                [
                    "  <entry>",
                    f"    <id>tag:github.com,2008:Repository/612345678/v{version}</id>",
                    f"    <updated>{iso_z(release.published, 0)}</updated>",
                    f'    <link rel="alternate" type="text/html" href="{repo_url}/releases/tag/v{version}"/>',
                    f"    <title>Lumen v{version}</title>",
                    f'    <content type="html">{_x(notes)}</content>',
                    f"    <author>\n      <name>{_x(github_login(release))}</name>\n    </author>",
                    "  </entry>",
                ]
            )
        )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en-US">',
        f"  <id>tag:github.com,2008:{repo_url}/releases</id>",
        f'  <link type="text/html" rel="alternate" href="{repo_url}/releases"/>',
        f'  <link type="application/atom+xml" rel="self" href={_attr(feed_url)}/>',
        "  <title>Release notes from lumen</title>",
        f"  <updated>{iso_z(_newest(releases, epoch), 0)}</updated>",
        *entries,
        "</feed>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def youtube_channel(videos: Sequence[Shown], *, feed_url: str, epoch: datetime) -> bytes:
    """A YouTube channel feed: Atom with yt: ids and media:group/media:community statistics."""
    channel_url = f"https://www.youtube.com/channel/{YOUTUBE_CHANNEL_ID}"
    entries = []
    for shown in videos:
        video = shown.mention
        vid = video_id(video)
        published = video.published.astimezone(UTC).isoformat()
        entries.append(
            "\n".join(
                [
                    " <entry>",
                    f"  <id>yt:video:{vid}</id>",
                    f"  <yt:videoId>{vid}</yt:videoId>",
                    f"  <yt:channelId>{YOUTUBE_CHANNEL_ID}</yt:channelId>",
                    f"  <title>{_x(video.title)}</title>",
                    f'  <link rel="alternate" href="https://www.youtube.com/watch?v={vid}"/>',
                    f"  <author>\n   <name>{YOUTUBE_CHANNEL_NAME}</name>\n   <uri>{channel_url}</uri>\n  </author>",
                    f"  <published>{published}</published>",
                    f"  <updated>{published}</updated>",
                    "  <media:group>",
                    f"   <media:title>{_x(video.title)}</media:title>",
                    f'   <media:content url="https://www.youtube.com/v/{vid}?version=3" '
                    'type="application/x-shockwave-flash" width="640" height="390"/>',
                    f'   <media:thumbnail url="https://i1.ytimg.com/vi/{vid}/hqdefault.jpg" width="480" height="360"/>',
                    f"   <media:description>{_x(video.body)}</media:description>",
                    "   <media:community>",
                    f'    <media:starRating count="{shown.counts.score}" average="5.00" min="1" max="5"/>',
                    f'    <media:statistics views="{shown.counts.views}"/>',
                    "   </media:community>",
                    "  </media:group>",
                    " </entry>",
                ]
            )
        )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns="http://www.w3.org/2005/Atom">',
        f' <link rel="self" href={_attr(feed_url)}/>',
        f" <id>yt:channel:{YOUTUBE_CHANNEL_ID[2:]}</id>",
        f" <yt:channelId>{YOUTUBE_CHANNEL_ID}</yt:channelId>",
        f" <title>{YOUTUBE_CHANNEL_NAME}</title>",
        f' <link rel="alternate" href="{channel_url}"/>',
        f" <author>\n  <name>{YOUTUBE_CHANNEL_NAME}</name>\n  <uri>{channel_url}</uri>\n </author>",
        f" <published>{epoch.astimezone(UTC).isoformat()}</published>",
        *entries,
        "</feed>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Links


def link_url(mention: Happening) -> str:
    """The page a link post (HN story, Reddit or Lemmy link post) points at: the blog post it shares,
    else the project's repository, its docs, or someone's own blog."""
    if mention.shares:
        return mention.shares[0].url
    slug = slugify(mention.title)
    return (
        "https://github.com/lumen-tui/lumen",
        f"{BLOG_SITE}/docs/guide/{slug[:40]}/",
        f"https://dev.example/{mention.author.username('-')}/{slug}",
    )[mention.token % 3]


def url_host(url: str) -> str:
    """The host of a URL, lower-case, without `www.` (what Reddit's `domain` field and domain
    searches compare)."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


# --------------------------------------------------------------------------------------------------
# Hacker News (Algolia)


def hn_tags(mention: Happening) -> list[str]:
    """Algolia's `_tags`: the type, author_X, story_N, and show_hn/ask_hn."""
    if mention.kind == "comment":
        return ["comment", f"author_{hn_author(mention)}", f"story_{mention.parent}"]
    extra = {"show": ["show_hn"], "ask": ["ask_hn"]}.get(mention.variant, [])
    return ["story", f"author_{hn_author(mention)}", f"story_{mention.ident}", *extra]


def hn_author(mention: Happening) -> str:
    return mention.author.username("_-")


def hn_hit(shown: Shown) -> dict[str, Any]:
    item = shown.mention
    common = {
        "_tags": hn_tags(item),
        "author": hn_author(item),
        "created_at": iso_z(item.published),
        "created_at_i": item.epoch,
        "objectID": str(item.ident),
        "updated_at": iso_z(item.published),
        "children": [],  # ids of direct replies; the demo's search hits list none
    }
    if item.kind == "comment":
        return {
            **common,
            "comment_text": _paragraphs(item.body),
            "parent_id": item.parent,
            "story_id": item.parent,
            "story_title": item.parent_title,
            "story_url": item.story_url or None,
            "points": None,  # Algolia reports no points for comments
        }
    url = None if item.variant == "ask" else link_url(item)
    hit = {
        **common,
        "num_comments": shown.counts.comments,
        "points": max(1, shown.counts.score),
        "story_id": item.ident,
        "title": item.title,
        "url": url,
    }
    if item.body:
        hit["story_text"] = _paragraphs(item.body)
    return hit


def hn_search(
    hits: Sequence[Shown], *, page: int, hits_per_page: int, nb_hits: int, query: str, params: str
) -> bytes:
    """An Algolia search answer: hits plus nbHits, page, nbPages, hitsPerPage."""
    nb_pages = -(-min(nb_hits, 1000) // hits_per_page) if hits_per_page else 0
    return answer(
        shapes.HN_SEARCH,
        {
            "exhaustive": {"nbHits": True, "typo": True},
            "exhaustiveNbHits": True,
            "exhaustiveTypo": True,
            "hits": [hn_hit(shown) for shown in hits],
            "hitsPerPage": hits_per_page,
            "nbHits": nb_hits,
            "nbPages": nb_pages,
            "page": page,
            "params": params,
            "processingTimeMS": 1,
            "query": query,
            "serverTimeMS": 2,
        },
        "Algolia search",
    )


def hn_item(shown: Shown, children: Sequence[Shown]) -> bytes:
    """Algolia's /api/v1/items/ID: the item with its replies nested under `children`."""
    item = shown.mention
    return to_json(
        {
            "id": item.ident,
            "created_at": iso_z(item.published),
            "created_at_i": item.epoch,
            "type": "comment" if item.kind == "comment" else "story",
            "author": hn_author(item),
            "title": item.title or None,
            "url": hn_hit(shown).get("url"),
            "text": _paragraphs(item.body) or None,
            "points": max(1, shown.counts.score) if item.kind != "comment" else None,
            "parent_id": item.parent,
            "story_id": item.parent if item.kind == "comment" else item.ident,
            "children": [json.loads(hn_item(child, ())) for child in children],
            "options": [],
        }
    )


# --------------------------------------------------------------------------------------------------
# Reddit


def _legacy_escape(text: str) -> str:
    """Reddit's JSON escapes &, < and > in titles and selftext unless `raw_json=1` is asked for."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reddit_post(shown: Shown, *, raw_json: bool = False) -> dict[str, Any]:
    """A t3 (link/self post) as in a Listing's children."""
    post = shown.mention
    encode = str if raw_json else _legacy_escape
    post_id = base36(post.ident)
    permalink = f"/r/{post.place}/comments/{post_id}/{slugify(post.title)[:40].replace('-', '_')}/"
    is_self = post.variant != "link"
    url = f"https://www.reddit.com{permalink}" if is_self else link_url(post)
    score = 1 + shown.counts.score
    created = float(post.epoch)
    return {
        "kind": "t3",
        "data": {
            "subreddit": post.place,
            "selftext": encode(post.body),
            "author_fullname": f"t2_{base36(post.token % 36**7)}",
            "title": encode(post.title),
            "subreddit_name_prefixed": f"r/{post.place}",
            "name": f"t3_{post_id}",
            "upvote_ratio": round(0.85 + (post.token % 15) / 100, 2),
            "ups": score,
            "score": score,
            "domain": f"self.{post.place}" if is_self else url_host(url),
            "is_self": is_self,
            "created": created,
            "created_utc": created,
            "over_18": False,
            "id": post_id,
            "author": post.author.username("_-"),
            "num_comments": shown.counts.comments,
            "permalink": permalink,
            "url": encode(url),  # the legacy JSON escapes it too: ?a=1&amp;b=2
            "subreddit_type": "public",
            "stickied": False,
            "selftext_html": None,  # the demo's clients never ask for the HTML rendering
        }
        | ({} if is_self else {"url_overridden_by_dest": encode(url)}),  # only on link posts
    }


def reddit_listing(
    posts: Sequence[Shown], *, after: str | None, before: str | None = None, raw_json: bool = False
) -> bytes:
    return answer(
        shapes.REDDIT_LISTING,
        {
            "kind": "Listing",
            "data": {
                "after": after,
                "dist": len(posts),
                "modhash": "",
                "geo_filter": "",
                "facets": {},
                "children": [reddit_post(shown, raw_json=raw_json) for shown in posts],
                "before": before,
            },
        },
        "Reddit listing",
    )


# --------------------------------------------------------------------------------------------------
# Mastodon


def mastodon_status(shown: Shown, local_instance: str = "mastodon.example") -> dict[str, Any]:
    status = shown.mention
    person = status.author
    username = person.username("_")
    home = f"https://{person.instance}"
    acct = username if person.instance == local_instance else f"{username}@{person.instance}"
    hashtags = " ".join(
        f'<a href="https://{local_instance}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'
        for tag in status.tags
    )
    content = f"<p>{mastodon_linkify(status.body)}</p>" + (f"<p>{hashtags}</p>" if hashtags else "")
    person_number = int(hashlib.sha256(person.handle.encode()).hexdigest()[:12], 16)
    account_id = str(person_number)
    return {
        "id": str(status.ident),
        "created_at": iso_z(status.published),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": status.lang,
        "uri": f"{home}/users/{username}/statuses/{status.ident}",
        "url": f"{home}/@{username}/{status.ident}",
        "replies_count": shown.counts.comments,
        "reblogs_count": shown.counts.shares,
        "favourites_count": shown.counts.score,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "account": {
            "id": account_id,
            "username": username,
            "acct": acct,
            "display_name": person.name,
            "locked": False,
            "bot": False,
            "url": f"{home}/@{username}",
            "avatar": f"{home}/avatars/original/missing.png",
            "note": "",
            "created_at": "2023-01-15T00:00:00.000Z",
            "followers_count": 10 + person_number % 900,
            "following_count": 5 + person_number % 300,
            "statuses_count": 20 + person_number % 5000,
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag, "url": f"https://{local_instance}/tags/{tag}"} for tag in status.tags],
        "emojis": [],
        "card": mastodon_card(status.shares[0]) if status.shares else None,
        "poll": None,
    }


def mastodon_linkify(text: str) -> str:
    """Plain text as Mastodon stores it in `content`: escaped, each URL an anchor whose visible
    text hides the scheme and cuts the rest after 30 characters (the spans Mastodon writes)."""
    parts, last = [], 0
    for found in _URL.finditer(text):
        url = found.group()
        scheme, _, rest = url.partition("://")
        shown, hidden = rest[:30], rest[30:]
        parts += [
            html.escape(text[last : found.start()]),
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{html.escape(scheme)}://</span>'
            f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>',
        ]
        last = found.end()
    return "".join(parts) + html.escape(text[last:])


def mastodon_card(share: Share) -> dict[str, Any]:
    """The preview card Mastodon attaches to a status whose text links a page (from its OpenGraph tags)."""
    return {
        "url": share.url,
        "title": share.title,
        "description": share.summary,
        "language": "en",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": BLOG_TITLE,
        "provider_url": "",
        "html": "",
        "width": 1200,
        "height": 630,
        "image": f"https://files.mastodon.example/cache/preview_cards/images/{share.post:09d}/original/card.png",
        "image_description": "",
        "embed_url": "",
        "blurhash": "UEHLh[WB2yk8pyoJadR*.7kCMdnjS#M|%1%2",
        "published_at": None,
        "authors": [],
    }


def mastodon_statuses(statuses: Sequence[Shown]) -> bytes:
    return answer(
        shapes.MASTODON_STATUSES, [mastodon_status(shown) for shown in statuses], "Mastodon statuses"
    )


# --------------------------------------------------------------------------------------------------
# Bluesky


def bluesky_uri(mention: Happening) -> str:
    return f"at://{did_of(bluesky_handle(mention))}/app.bsky.feed.post/{tid(mention.ident)}"


def bluesky_post(shown: Shown) -> dict[str, Any]:
    """An app.bsky.feed.defs#postView."""
    post = shown.mention
    handle = bluesky_handle(post)
    uri = bluesky_uri(post)
    created = iso_z(post.published)
    text, facets = bluesky_richtext(post.body)
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": created, "langs": [post.lang]}
    if facets:
        record["facets"] = facets
    view: dict[str, Any] = {}
    if post.shares:
        share = post.shares[0]
        external = {"uri": share.url, "title": share.title, "description": share.summary}
        record["embed"] = {"$type": "app.bsky.embed.external", "external": external}
        view["embed"] = {"$type": "app.bsky.embed.external#view", "external": external}
    record["text"] = text
    return view | {
        "uri": uri,
        "cid": cid_of(uri),
        "author": {
            "did": did_of(handle),
            "handle": handle,
            "displayName": post.author.name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did_of(handle)}/demo@jpeg",
            "labels": [],
            "createdAt": "2024-02-06T10:00:00.000Z",
        },
        "record": record,
        "replyCount": shown.counts.comments,
        "repostCount": shown.counts.shares,
        "likeCount": shown.counts.score,
        "quoteCount": shown.counts.shares // 4,
        "indexedAt": created,
        "labels": [],
    }


def bluesky_short_url(url: str) -> str:
    """How the Bluesky app writes a link in a post's text: no scheme, a long path cut to 13
    characters and "..." (the facet keeps the whole URL)."""
    parts = urlsplit(url)
    path = (parts.path if parts.path != "/" else "") + (f"?{parts.query}" if parts.query else "")
    path += f"#{parts.fragment}" if parts.fragment else ""
    return parts.netloc + (path[:13] + "..." if len(path) > 15 else path)


def bluesky_richtext(text: str) -> tuple[str, list[dict[str, Any]]]:
    """A post's text with its links shortened, and its facets: app.bsky.richtext.facet#link for
    each URL and #tag for each hashtag, indexed in UTF-8 bytes as the lexicon requires."""
    pieces: list[str] = []
    facets: list[dict[str, Any]] = []
    links: list[tuple[int, int]] = []  # byte ranges of the links
    last = at = 0
    for found in _URL.finditer(text):
        before = text[last : found.start()]
        short = bluesky_short_url(found.group())
        at += len(before.encode("utf-8"))
        end = at + len(short.encode("utf-8"))
        link = {"$type": "app.bsky.richtext.facet#link", "uri": found.group()}
        facets.append({"index": {"byteStart": at, "byteEnd": end}, "features": [link]})
        links.append((at, end))
        pieces += [before, short]
        at, last = end, found.end()
    written = "".join(pieces) + text[last:]
    for found in _HASHTAG.finditer(written):
        start = len(written[: found.start()].encode("utf-8"))
        end = start + len(found.group().encode("utf-8"))
        if any(low < end and start < high for low, high in links):
            continue  # a fragment inside a link is not a hashtag
        tag = {"$type": "app.bsky.richtext.facet#tag", "tag": found.group(1)}
        facets.append({"index": {"byteStart": start, "byteEnd": end}, "features": [tag]})
    facets.sort(key=lambda facet: int(facet["index"]["byteStart"]))
    return written, facets


def bluesky_search(posts: Sequence[Shown], *, cursor: str | None, hits_total: int) -> bytes:
    body: dict[str, Any] = {"posts": [bluesky_post(shown) for shown in posts], "hitsTotal": hits_total}
    if cursor is not None:
        body["cursor"] = cursor
    return answer(shapes.BLUESKY_SEARCH, body, "Bluesky searchPosts")


def bluesky_session(identifier: str) -> bytes:
    """com.atproto.server.createSession: the session any app password opens in the demo."""
    session = {
        "accessJwt": "demo-access-jwt",
        "refreshJwt": "demo-refresh-jwt",
        "handle": identifier,
        "did": did_of(identifier),
        "email": f"{identifier.split('.')[0]}@mail.example",
        "emailConfirmed": True,
        "active": True,
    }
    return answer(shapes.BLUESKY_SESSION, session, "Bluesky session")


def bluesky_posts(posts: Sequence[Shown]) -> bytes:
    """app.bsky.feed.getPosts: the posts asked for that exist, in no promised order."""
    return answer(
        shapes.BLUESKY_POSTS, {"posts": [bluesky_post(shown) for shown in posts]}, "Bluesky getPosts"
    )


# --------------------------------------------------------------------------------------------------
# Lemmy


def lemmy_post_view(shown: Shown) -> dict[str, Any]:
    post = shown.mention
    published = iso_z(post.published, 6)
    creator_id = int(hashlib.sha256(post.author.handle.encode()).hexdigest()[:6], 16)
    community_id = 1 + sum(map(ord, post.place)) % 500
    downvotes = shown.counts.score // 10
    upvotes = 1 + shown.counts.score + downvotes
    return {
        "post": {
            "id": post.ident,
            "name": post.title,
            "body": post.body,
            "creator_id": creator_id,
            "community_id": community_id,
            "removed": False,
            "locked": False,
            "published": published,
            "deleted": False,
            "nsfw": False,
            "ap_id": f"{LEMMY_INSTANCE}/post/{post.ident}",
            "local": True,
            "language_id": 37,
            "featured_community": False,
            "featured_local": False,
            "url": link_url(post) if post.shares else None,
            "thumbnail_url": None,
            "updated": None,
        }
        | (
            {"embed_title": post.shares[0].title, "embed_description": post.shares[0].summary}
            if post.shares
            else {}
        ),
        "creator": {
            "id": creator_id,
            "name": post.author.username("_"),
            "display_name": post.author.name,
            "banned": False,
            "published": "2024-03-01T09:00:00.000000Z",
            "actor_id": f"{LEMMY_INSTANCE}/u/{post.author.username('_')}",
            "local": True,
            "deleted": False,
            "bot_account": False,
            "instance_id": 1,
            "avatar": None,
        },
        "community": {
            "id": community_id,
            "name": post.place,
            "title": post.place.capitalize(),
            "removed": False,
            "published": "2023-06-12T08:00:00.000000Z",
            "nsfw": False,
            "actor_id": f"{LEMMY_INSTANCE}/c/{post.place}",
            "local": True,
            "hidden": False,
            "posting_restricted_to_mods": False,
            "instance_id": 1,
            "visibility": "Public",
            "deleted": False,
        },
        "my_vote": None,  # only for a logged-in client; null when anonymous
        "creator_banned_from_community": False,
        "banned_from_community": False,
        "creator_is_moderator": False,
        "creator_is_admin": False,
        "counts": {
            "post_id": post.ident,
            "comments": shown.counts.comments,
            "score": upvotes - downvotes,
            "upvotes": upvotes,
            "downvotes": downvotes,
            "published": published,
            "newest_comment_time": iso_z(shown.counts.active_at, 6),
        },
        "subscribed": "NotSubscribed",
        "saved": False,
        "read": False,
        "hidden": False,
        "creator_blocked": False,
        "unread_comments": 0,
    }


def lemmy_search(posts: Sequence[Shown], *, type_: str = "Posts") -> bytes:
    return answer(
        shapes.LEMMY_SEARCH,
        {
            "type_": type_,
            "comments": [],
            "posts": [lemmy_post_view(shown) for shown in posts],
            "communities": [],
            "users": [],
        },
        "Lemmy search",
    )


def lemmy_post(shown: Shown) -> bytes:
    """/api/v3/post?id=: one post view (with empty moderators and cross-posts)."""
    view = lemmy_post_view(shown)
    community = {
        "community": view["community"],
        "subscribed": "NotSubscribed",
        "blocked": False,
        "counts": {
            "community_id": view["community"]["id"],
            "subscribers": 40 + view["community"]["id"] * 7,
            "posts": 10 + view["post"]["id"] % 900,
            "comments": 30 + view["post"]["id"] % 5000,
        },
        "banned_from_community": False,
    }
    body = {"post_view": view, "community_view": community, "moderators": [], "cross_posts": []}
    return answer(shapes.LEMMY_POST, body, "Lemmy post")


# --------------------------------------------------------------------------------------------------
# Stack Exchange


def stack_question(shown: Shown, *, with_body: bool = False) -> dict[str, Any]:
    """A question as /search/advanced returns it (title HTML-escaped, as the API does); `withbody` adds the body."""
    question = shown.mention
    user_id = int(hashlib.sha256(question.author.handle.encode()).hexdigest()[:7], 16)
    answers = min(shown.counts.comments, 6)
    return {
        "tags": list(question.tags),
        "owner": {
            "account_id": user_id + 1000,
            "reputation": 1 + user_id % 25_000,
            "user_id": user_id,
            "user_type": "registered",
            "profile_image": "https://www.gravatar.com/avatar/0?s=256&d=identicon&r=PG",
            "display_name": se_escape(question.author.name),
            "link": f"{STACK_SITE}/users/{user_id}/{slugify(question.author.handle)}",
        },
        "is_answered": answers > 0 and shown.counts.score >= 0,
        "view_count": 3 + shown.counts.views,
        "answer_count": answers,
        "score": shown.counts.score,
        "last_activity_date": int(shown.counts.active_at.timestamp()),
        "creation_date": question.epoch,
        "question_id": question.ident,
        "content_license": "CC BY-SA 4.0",
        "link": f"{STACK_SITE}/questions/{question.ident}/{slugify(question.title)}",
        "title": se_escape(question.title),
    } | ({"body": _paragraphs(question.body)} if with_body else {})


def stackexchange_items(
    questions: Sequence[Shown],
    *,
    has_more: bool,
    quota_remaining: int,
    quota_max: int = 300,
    backoff: int | None = None,
    with_body: bool = False,
) -> bytes:
    """The common wrapper, gzip-compressed as every Stack Exchange response is."""
    body: dict[str, Any] = {
        "items": [stack_question(shown, with_body=with_body) for shown in questions],
        "has_more": has_more,
        "quota_max": quota_max,
        "quota_remaining": quota_remaining,
    }
    if backoff is not None:
        body["backoff"] = backoff
    return gzip.compress(answer(shapes.STACK_ITEMS, body, "Stack Exchange items"), mtime=0)


def stackexchange_error(error_id: int, name: str, message: str) -> bytes:
    body = {"error_id": error_id, "error_message": message, "error_name": name}
    return gzip.compress(answer(shapes.STACK_ERROR, body, "Stack Exchange error"), mtime=0)


# --------------------------------------------------------------------------------------------------
# Discourse


def discourse_slug(topic: Happening) -> str:
    return slugify(topic.title)


def discourse_topic(shown: Shown) -> dict[str, Any]:
    topic = shown.mention
    created = iso_z(topic.published)
    return {
        "id": topic.ident,
        "title": topic.title,
        "fancy_title": html.escape(topic.title),
        "slug": discourse_slug(topic),
        "posts_count": 1 + shown.counts.comments,
        "reply_count": shown.counts.comments,
        "highest_post_number": 1 + shown.counts.comments,
        "image_url": None,
        "created_at": created,
        "last_posted_at": iso_z(shown.counts.active_at),
        "bumped": True,
        "bumped_at": iso_z(shown.counts.active_at),
        "archetype": "regular",
        "unseen": False,
        "pinned": False,
        "unpinned": None,
        "visible": True,
        "closed": False,
        "archived": False,
        "bookmarked": None,
        "liked": None,
        "tags": list(topic.tags),
        "tags_descriptions": {},
        "category_id": 4,
        "like_count": shown.counts.score,
        "views": 1 + shown.counts.views,
        "has_accepted_answer": False,
        "last_poster_username": topic.author.username("_"),
        "pinned_globally": False,
        "featured_link": None,
        "has_summary": False,
        "op_like_count": shown.counts.score,
        "excerpt": html.escape(topic.body[:200]),
        "posters": [
            {
                "extras": "latest single",
                "description": "Original Poster, Most Recent Poster",
                "user_id": discourse_user_id(topic),
                "primary_group_id": None,
                "flair_group_id": None,
            }
        ],
    }


def discourse_user_id(topic: Happening) -> int:
    return 1 + int(hashlib.sha256(topic.author.handle.encode()).hexdigest()[:6], 16)


def discourse_user(topic: Happening) -> dict[str, Any]:
    name = topic.author.username("_")
    return {
        "id": discourse_user_id(topic),
        "username": name,
        "name": topic.author.name,
        "avatar_template": f"/user_avatar/discuss.lumen-tui.example/{name}/{{size}}/1_2.png",
        "animated_avatar": None,
        "trust_level": 1,
    }


def discourse_post(shown: Shown) -> dict[str, Any]:
    """The first post of a topic, as search.json lists it."""
    topic = shown.mention
    return {
        "id": 10_000 + topic.index * 9 + topic.ident % 9,
        "name": topic.author.name,
        "username": topic.author.username("_"),
        "avatar_template": f"/user_avatar/discuss.lumen-tui.example/{topic.author.username('_')}/{{size}}/1_2.png",
        "created_at": iso_z(topic.published),
        "like_count": shown.counts.score,
        "blurb": html.escape(topic.body[:200]),
        "post_number": 1,
        "topic_title_headline": html.escape(topic.title),
        "topic_id": topic.ident,
    }


def discourse_search(topics: Sequence[Shown], *, term: str, more: bool) -> bytes:
    posts = [discourse_post(shown) for shown in topics]
    return answer(
        shapes.DISCOURSE_SEARCH,
        {
            "posts": posts,
            "topics": [discourse_topic(shown) for shown in topics],
            "users": [],
            "categories": [],
            "tags": [],
            "groups": [],
            "grouped_search_result": {
                "more_posts": True if more else None,
                "more_users": None,
                "more_categories": None,
                "term": term,
                "search_log_id": 1,
                "more_full_page_results": True if more else None,
                "can_create_topic": False,
                "error": None,
                "extra": {},
                "post_ids": [post["id"] for post in posts],
                "user_ids": [],
                "category_ids": [],
                "tag_ids": [],
                "group_ids": [],
            },
        },
        "Discourse search",
    )


def discourse_latest(topics: Sequence[Shown], *, more_url: str | None) -> bytes:
    topic_list: dict[str, Any] = {
        "can_create_topic": False,
        "per_page": 30,
        "top_tags": sorted({tag for shown in topics for tag in shown.mention.tags}),
        "topics": [discourse_topic(shown) for shown in topics],
    }
    if more_url:
        topic_list["more_topics_url"] = more_url
    users = list(
        {discourse_user_id(shown.mention): discourse_user(shown.mention) for shown in topics}.values()
    )
    body = {"users": users, "primary_groups": [], "flair_groups": [], "topic_list": topic_list}
    return answer(shapes.DISCOURSE_LATEST, body, "Discourse latest")


# --------------------------------------------------------------------------------------------------
# GitHub


def github_number(item: Happening) -> int:
    return 300 + item.index


def github_item(shown: Shown) -> dict[str, Any]:
    """An issue or pull request as /search/issues returns it."""
    item = shown.mention
    repo, number, login = item.place, github_number(item), github_login(item)
    api = f"https://api.github.com/repos/{repo}/issues/{number}"
    kind = "pull" if item.variant == "pr" else "issues"
    user_id = int(hashlib.sha256(login.encode()).hexdigest()[:7], 16)
    total = shown.counts.score
    heart, rocket = total // 5, total // 10
    thumbs = total - heart - rocket
    created = iso_z(item.published, 0)
    result: dict[str, Any] = {
        "url": api,
        "repository_url": f"https://api.github.com/repos/{repo}",
        "labels_url": api + "/labels{/name}",
        "comments_url": api + "/comments",
        "events_url": api + "/events",
        "html_url": f"https://github.com/{repo}/{kind}/{number}",
        "id": item.ident,
        "node_id": ("PR_kwDO" if kind == "pull" else "I_kwDO")
        + base64.b64encode(str(item.ident).encode()).decode()[:14],
        "number": number,
        "title": item.title,
        "user": {
            "login": login,
            "id": user_id,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "html_url": f"https://github.com/{login}",
            "type": "User",
            "site_admin": False,
            "node_id": "MDQ6VXNlcj" + base64.b64encode(str(user_id).encode()).decode().rstrip("="),
            "gravatar_id": "",
            "url": f"https://api.github.com/users/{login}",
            "user_view_type": "public",
        },
        "labels": [
            {
                "id": 1,
                "name": "bug" if "app" in item.title else "enhancement",
                "color": "d73a4a",
                "default": True,
                "description": "",
            }
        ],
        "state": "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": shown.counts.comments,
        "created_at": created,
        "updated_at": iso_z(shown.counts.active_at, 0),
        "closed_at": None,
        "closed_by": None,
        "type": None,
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "author_association": "MEMBER" if item.author.handle in _MAINTAINER_HANDLES else "NONE",
        "active_lock_reason": None,
        "body": item.body,
        "reactions": {
            "url": api + "/reactions",
            "total_count": total,
            "+1": thumbs,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": heart,
            "rocket": rocket,
            "eyes": 0,
        },
        "timeline_url": api + "/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
        "score": 1.0,
    }
    if kind == "pull":
        pulls = f"https://api.github.com/repos/{repo}/pulls/{number}"
        web = f"https://github.com/{repo}/pull/{number}"
        result["draft"] = False
        result["pull_request"] = {
            "url": pulls,
            "html_url": web,
            "diff_url": web + ".diff",
            "patch_url": web + ".patch",
            "merged_at": None,
        }
    return result


def github_search(items: Sequence[Shown], *, total_count: int) -> bytes:
    return answer(
        shapes.GITHUB_SEARCH,
        {
            "total_count": total_count,
            "incomplete_results": False,
            "items": [github_item(shown) for shown in items],
        },
        "GitHub issue search",
    )


def rate_limit_error(stream: str) -> bytes:
    """The body of a 429: GitHub's wording on GitHub, a plain JSON error elsewhere."""
    if stream == "github":
        return to_json(
            {
                "message": "API rate limit exceeded for 127.0.0.1. (demo)",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": "429",
            }
        )
    return to_json({"error": "Too Many Requests", "message": f"{stream}: slow down (demo)"})
