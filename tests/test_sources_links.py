"""Every API source fills Mention.links (issue 12): its API's own url fields, then the links in the
text, through the real fetcher against a local server answering in each API's documented format.

The fixtures (tests/fixtures/<api>/links_*.json) share one blog post in every way people write it:
http and https, www or not, utm_* / fbclid / ref parameters, a trailing slash or none, a fragment,
the AMP copy. The sources emit them raw (the store canonicalises), so each test names the raw URL
and how it was found (`via`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Link, Mention, SourceConfig
from dashboard.sources import make_source
from dashboard.sources.common import MAX_LINKS, links_in_html, links_in_text, web_link
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POST = "https://blog.example.org/2026/03/echo-post/"
JSON = {"Content-Type": "application/json; charset=utf-8"}


def serve(server: LocalServer, path: str, *fixture: str) -> None:
    server.route(path, Reply(200, fixture_bytes(*fixture), JSON))


def config(server: LocalServer, source: str, **options: Any) -> SourceConfig:
    return SourceConfig(
        name=source, type=source, interval=900, base_url=server.base_url, max_items=100, options=options
    )


async def poll(fetcher: Fetcher, source_config: SourceConfig) -> dict[str, Mention]:
    context = PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, first_poll=True)
    outcome = await make_source(source_config).poll(context)
    return {mention.key: mention for mention in outcome.mentions}


def links(mention: Mention) -> list[tuple[str, str]]:
    return [(link.url, link.via) for link in mention.links]


# --- each API ------------------------------------------------------------------------------------


async def test_hacker_news_story_url_comment_story_url_and_anchors_in_text(
    server: LocalServer, fetcher: Fetcher
) -> None:
    serve(server, "/api/v1/search_by_date", "hackernews", "links_search_by_date.json")
    found = await poll(fetcher, config(server, "hackernews", query="echo", kind="all"))

    tracked = POST + "?utm_source=hnrss&utm_medium=rss&utm_campaign=front"
    assert links(found["46200010"]) == [(tracked, "url")]
    # A comment belongs to the discussion of its story's link; its anchors are decoded (&#x2F;) and a
    # relative HN link is resolved against the item page.
    assert links(found["46200009"]) == [
        (tracked, "url"),
        (POST + "amp/", "content"),
        ("https://news.ycombinator.com/item?id=46100001", "content"),
    ]
    # An Ask HN has no url: its links are in story_text (a URL with parentheses kept whole).
    assert links(found["46200008"]) == [
        ("http://www.blog.example.org/2026/03/echo-post", "content"),
        ("https://en.wikipedia.org/wiki/Topsy_(analytics)", "content"),
    ]
    assert links(found["46200006"]) == [("https://docs.blog.example.org/echo/#setup", "url")]
    assert found["46200005"].links == ()  # a javascript: url is no link


async def test_reddit_link_post_url_unescaped_self_post_permalink_skipped_selftext_read(
    server: LocalServer, fetcher: Fetcher
) -> None:
    serve(server, "/search.json", "reddit", "links_search.json")
    found = await poll(fetcher, config(server, "reddit", query="echo"))

    # Reddit's legacy JSON writes & as &amp; in url too.
    assert links(found["t3_1j8k2a"]) == [(POST + "?utm_source=reddit&utm_medium=social", "url")]
    # A self post's url is its own permalink: not a link. The selftext's Markdown and bare URLs are;
    # the sentence's full stop is not part of the URL.
    assert links(found["t3_1j8k29"]) == [
        (POST + "#comments", "content"),
        ("http://www.blog.example.org/2026/03/echo-post", "content"),
        ("https://en.wikipedia.org/wiki/Topsy_(analytics)", "content"),
    ]
    assert links(found["t3_1j8k28"]) == [(POST + "amp/", "url")]
    assert links(found["t3_1j8k27"]) == [("https://i.redd.it/abc123.png", "url")]
    assert found["t3_1j8k26"].links == ()


async def test_lemmy_post_url_and_markdown_body(server: LocalServer, fetcher: Fetcher) -> None:
    serve(server, "/api/v3/search", "lemmy", "links_search.json")
    found = await poll(fetcher, config(server, "lemmy", query="echo"))

    assert links(found["90012"]) == [(POST + "?utm_source=lemmy&fbclid=IwAR0x", "url")]
    assert links(found["90011"]) == [
        ("https://www.blog.example.org/2026/03/echo-post/#top", "content"),
        (POST + "amp/", "content"),
    ]
    assert found["90010"].links == ()


async def test_bluesky_external_embeds_and_link_facets_not_tags_or_mentions(
    server: LocalServer, fetcher: Fetcher
) -> None:
    serve(server, "/xrpc/app.bsky.feed.searchPosts", "bluesky", "links_search_posts.json")
    found = await poll(fetcher, config(server, "bluesky", query="echo"))
    by_rkey = {key.rsplit("/", 1)[1]: mention for key, mention in found.items()}

    # The record's embed and the AppView's view of it are one link; the facet is another way it was found.
    assert links(by_rkey["3mcaaa5"]) == [
        (POST + "?utm_source=bsky", "embed"),
        (POST + "?utm_source=bsky", "facet"),
    ]
    # The facet's full uri, not the shortened text; a mention facet is no link.
    assert links(by_rkey["3mcaaa4"]) == [("https://blog.example.org/2026/03/echo-post", "facet")]
    assert links(by_rkey["3mcaaa3"]) == [("http://www.blog.example.org/2026/03/echo-post/amp/", "embed")]
    # A quote post with a card: the card sits in the record-with-media embed's media.
    assert links(by_rkey["3mcaaa2"]) == [(POST + "#comments", "embed")]
    assert by_rkey["3mcaaa1"].links == ()


async def test_mastodon_card_and_content_anchors_without_mentions_and_hashtags(
    server: LocalServer, fetcher: Fetcher
) -> None:
    serve(server, "/api/v1/timelines/tag/echo", "mastodon", "links_tag_timeline.json")
    found = await poll(fetcher, config(server, "mastodon", tag="echo"))

    shared = POST + "?utm_source=mastodon&utm_medium=social"
    assert links(found["113900000000000005"]) == [(shared, "card"), (shared, "content")]
    # rel="tag" alone marks a hashtag too.
    assert links(found["113900000000000004"]) == [
        ("https://www.blog.example.org/2026/03/echo-post/amp/", "content")
    ]
    assert found["113900000000000003"].links == ()
    # A boost stands for the boosted status, links included.
    assert links(found["113900000000000001"]) == [("http://blog.example.org/2026/03/echo-post", "content")]


async def test_github_issue_body_markdown_and_html(server: LocalServer, fetcher: Fetcher) -> None:
    serve(server, "/search/issues", "github", "links_search_issues.json")
    found = await poll(fetcher, config(server, "github", query="echo is:issue"))

    assert links(found["3100000002"]) == [
        (POST + "?ref=github", "content"),
        (POST + "amp/", "content"),
        ("http://www.blog.example.org/2026/03/echo-post#comments", "content"),
    ]
    assert found["3100000001"].links == ()


async def test_discourse_blurb_urls_and_cooked_anchors(server: LocalServer, fetcher: Fetcher) -> None:
    serve(server, "/search.json", "discourse", "links_search.json")
    found = await poll(fetcher, config(server, "discourse", query="echo"))

    # The blurb's entities are decoded; its last URL, cut short by the excerpt's "…", is left out.
    assert links(found["t812"]) == [(POST + "?utm_source=forum&utm_medium=post", "content")]
    # cooked HTML: a relative href resolved against the post's page, an @mention left out.
    assert links(found["p5013"]) == [
        (server.base_url + "/t/echo/812/1", "content"),
        (POST + "#comments", "content"),
    ]


async def test_stack_exchange_body_anchors(server: LocalServer, fetcher: Fetcher) -> None:
    serve(server, "/2.3/search/advanced", "stackexchange", "links_search.json")
    found = await poll(fetcher, config(server, "stackexchange", query="echo"))

    assert links(found["79500001"]) == [
        (POST + "?utm_source=so", "content"),
        ("https://stackoverflow.com/questions/123/older", "content"),
    ]


# --- the shared helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://x.example/a", "https://x.example/a"),
        ("HTTP://X.example/a", "HTTP://X.example/a"),  # as written: the store canonicalises
        ("/b?c=1", "https://base.example/b?c=1"),
        ("//cdn.example/x", "https://cdn.example/x"),
        ("../up", "https://base.example/up"),
        ("#top", ""),  # the page itself
        ("javascript:alert(1)", ""),
        ("mailto:a@b.example", ""),
        ("ftp://files.example/x", ""),
        ("https://", ""),
        ("https://[::1", ""),
        ("https://x.example/a b", ""),
        ("https://x.example/\x00", ""),
        ("https://x.example/" + "a" * 3000, ""),
    ],
)
def test_web_link_keeps_only_absolute_web_urls(href: str, expected: str) -> None:
    assert web_link(href, "https://base.example/dir/page") == expected


def test_links_in_text_trims_prose_punctuation_and_unbalanced_brackets() -> None:
    text = (
        "Read https://a.example/x. Or (https://b.example/y), or [md](https://c.example/z?q=1)! "
        "Or <https://d.example/>; cut https://e.example/lo… and https://f.example/p?x=1&y=2"
    )
    assert [link.url for link in links_in_text(text)] == [
        "https://a.example/x",
        "https://b.example/y",
        "https://c.example/z?q=1",
        "https://d.example/",
        "https://f.example/p?x=1&y=2",
    ]
    assert links_in_text("no scheme here: example.org/x") == []


def test_links_in_html_skips_mention_and_hashtag_anchors_and_anchors_without_href() -> None:
    markup = (
        '<p><a href="https://a.example/">a</a><a class="u-url mention" href="https://m.example/@u">@u</a>'
        '<a class="hashtag" href="/tag/x">#x</a><a rel="nofollow tag" href="/tags/y">#y</a><a>none</a>'
        '<a href="https:&#x2F;&#x2F;b.example&#x2F;p?a=1&amp;b=2">b</a></p>'
    )
    assert links_in_html(markup, "https://forum.example/t/1") == [
        Link("https://a.example/", "content"),
        Link("https://b.example/p?a=1&b=2", "content"),
    ]
    assert links_in_html("plain text, no anchors", "https://x.example/") == []


def test_a_post_with_thousands_of_links_keeps_a_bounded_number() -> None:
    markup = "".join(f'<a href="https://spam.example/{n}">{n}</a>' for n in range(5000))
    assert len(links_in_html(markup)) == MAX_LINKS
    assert len(links_in_text(" ".join(f"https://spam.example/{n}" for n in range(5000)))) == MAX_LINKS
