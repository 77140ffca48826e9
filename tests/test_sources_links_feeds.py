"""Feed entries' links (issue 12) through the real fetcher and FeedSource against a local server:
the anchors of an entry's content (its summary when it has none), relative hrefs resolved against
the entry's page, bare URLs of a text/plain content, never the entry's own link; a WordPress comment
keeps its `post#comment-N` url. The fast path and feedparser give the same links and languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources.feed import FeedSource, parse_feed_fast, parse_feed_with_feedparser
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POST = "https://blog.example.org/2026/03/echo-post/"
TYPES = {
    "links-rss.xml": "application/rss+xml; charset=utf-8",
    "links-atom.xml": "application/atom+xml",
    "links-wordpress-comments.xml": "application/rss+xml; charset=UTF-8",
    "links-jsonfeed.json": "application/feed+json",
}


async def poll_feed(server: LocalServer, fetcher: Fetcher, name: str) -> list[Mention]:
    server.route("/feed", Reply(200, fixture_bytes("feeds", name), {"Content-Type": TYPES[name]}))
    source = FeedSource(SourceConfig(name="f", type="feed", interval=900, url=server.url("/feed")))
    outcome = await source.poll(PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW))
    return list(outcome.mentions)


def links(mention: Mention) -> list[tuple[str, str]]:
    return [(link.url, link.via) for link in mention.links]


async def test_rss_content_anchors_resolved_against_the_entry_without_its_own_read_more(
    server: LocalServer, fetcher: Fetcher
) -> None:
    first, english, plain = await poll_feed(server, fetcher, "links-rss.xml")

    assert first.url == "https://ada.example.net/2026/03/echo/"
    # content:encoded, not the description; &#038; read as &; "#notes", mailto: and the "read more"
    # anchor back to the entry itself are no outbound links.
    assert links(first) == [
        (POST + "?utm_source=rss&utm_medium=feed", "content"),
        ("http://www.blog.example.org/2026/03/echo-post#comments", "content"),
        ("https://ada.example.net/2026/02/avant/", "content"),
    ]
    assert links(english) == [(POST + "amp/", "content")]  # no content: the description's anchors
    assert plain.links == ()


async def test_atom_xhtml_html_and_text_contents(server: LocalServer, fetcher: Fetcher) -> None:
    xhtml, html_summary, text = await poll_feed(server, fetcher, "links-atom.xml")

    assert links(xhtml) == [
        (POST + "?utm_source=atom", "content"),
        ("https://bea.example.com/older", "content"),  # ../older from /notes/echo
    ]
    assert links(html_summary) == [("https://www.blog.example.org/2026/03/echo-post/amp/", "content")]
    assert links(text) == [("http://blog.example.org/2026/03/echo-post", "content")]  # the full stop goes


async def test_json_feed_content_html_and_content_text(server: LocalServer, fetcher: Fetcher) -> None:
    html_item, text_item = await poll_feed(server, fetcher, "links-jsonfeed.json")

    assert links(html_item) == [(POST + "?utm_source=jsonfeed&utm_campaign=x", "content")]
    assert links(text_item) == [(POST + "#comments", "content")]


async def test_wordpress_comments_keep_their_post_comment_url(server: LocalServer, fetcher: Fetcher) -> None:
    dee, ada = await poll_feed(server, fetcher, "links-wordpress-comments.xml")

    assert (dee.kind, dee.url) == (MentionKind.COMMENT, POST + "#comment-12")
    assert links(dee) == [("https://dee.example.com/follow-up/", "content")]
    # The comment's url already ties it to the post; its anchor to that same post adds nothing.
    assert (ada.url, ada.links) == (POST + "#comment-13", ())


@pytest.mark.parametrize("name", ["links-rss.xml", "links-atom.xml", "links-wordpress-comments.xml"])
@pytest.mark.parametrize("location", ["https://ada.example.net/feed/", ""])
def test_the_fast_path_and_feedparser_give_the_same_links_and_languages(name: str, location: str) -> None:
    body = fixture_bytes("feeds", name)
    headers = {"content-type": TYPES[name], "content-location": location}

    fast = parse_feed_fast(body, headers, NOW)
    slow = parse_feed_with_feedparser(body, headers, NOW)

    assert fast is not None
    assert [(m.links, m.language) for m in fast] == [(m.links, m.language) for m in slow]
    assert any(m.links for m in fast)
    assert all(m.language for m in fast)
