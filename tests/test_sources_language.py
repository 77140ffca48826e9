"""The language each source declares for a mention (issue 13), raw as declared, "" when none:
Mastodon `language`, Bluesky `record.langs[0]`, RSS `<language>` (and an item's `<dc:language>`),
Atom `xml:lang` (the entry's, else the feed's), JSON Feed `language` (the item's, else the feed's).
Through the real fetcher against a local server; a server's Content-Language header is not the
document's declaration and is left out, by the fast path and by feedparser alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import SourceConfig
from dashboard.sources import make_source
from dashboard.sources.common import declared_language
from dashboard.sources.feed import FeedSource, parse_feed, parse_feed_fast, parse_feed_with_feedparser
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json; charset=utf-8"}


def context(fetcher: Fetcher) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, first_poll=True)


async def test_mastodon_language_as_declared(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(
        "/api/v1/timelines/tag/echo", Reply(200, fixture_bytes("mastodon", "links_tag_timeline.json"), JSON)
    )
    source = make_source(
        SourceConfig(
            name="m", type="mastodon", interval=900, base_url=server.base_url, options={"tag": "echo"}
        )
    )
    outcome = await source.poll(context(fetcher))

    assert [m.language for m in outcome.mentions] == [
        "fr-CA",
        "en",
        "",
        "fr",
    ]  # null -> ""; a boost: its status's


async def test_bluesky_first_of_langs(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(
        "/xrpc/app.bsky.feed.searchPosts",
        Reply(200, fixture_bytes("bluesky", "links_search_posts.json"), JSON),
    )
    source = make_source(
        SourceConfig(
            name="b", type="bluesky", interval=900, base_url=server.base_url, options={"query": "echo"}
        )
    )
    outcome = await source.poll(context(fetcher))

    # ["fr"], ["en", "fr"], ["de-AT"], no langs at all, an empty list.
    assert [m.language for m in outcome.mentions] == ["fr", "en", "de-AT", "", ""]


@pytest.mark.parametrize(
    ("name", "content_type", "languages"),
    [
        # The channel's <language>; an item's own <dc:language> wins.
        ("links-rss.xml", "application/rss+xml", ["fr-CA", "en", "fr-CA"]),
        # The feed's xml:lang; an entry's own xml:lang wins.
        ("links-atom.xml", "application/atom+xml", ["en-GB", "fr", "en-GB"]),
        ("links-jsonfeed.json", "application/feed+json", ["es", "en-US"]),
        # A feed that says nothing has no declared language.
        ("rss2.xml", "application/rss+xml", None),
    ],
)
async def test_feed_languages_through_the_feed_source(
    server: LocalServer, fetcher: Fetcher, name: str, content_type: str, languages: list[str] | None
) -> None:
    # A Content-Language header that contradicts the document: the document's declaration stands.
    server.route(
        "/feed",
        Reply(200, fixture_bytes("feeds", name), {"Content-Type": content_type, "Content-Language": "de"}),
    )
    source = FeedSource(SourceConfig(name="f", type="feed", interval=900, url=server.url("/feed")))
    outcome = await source.poll(PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW))

    found = [m.language for m in outcome.mentions]
    if languages is None:
        assert found
        assert set(found) == {""}
    else:
        assert found == languages


XML_LANG_DOCUMENTS = {
    # xml:lang on the rss root is the feed's language in feedparser; "_" becomes "-".
    "rss-root-xml-lang": b"<?xml version='1.0'?><rss version='2.0' xml:lang='pt_BR'><channel><title>T</title>"
    b"<item><title>a</title><guid>g1</guid></item></channel></rss>",
    # An empty xml:lang unsets the inherited one.
    "atom-empty-xml-lang": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom' xml:lang='en'>"
    b"<title>T</title><id>f</id><entry xml:lang=''><title>a</title><id>e1</id></entry>"
    b"<entry><title>b</title><id>e2</id></entry></feed>",
    # xml:lang on the title only.
    "atom-title-xml-lang": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>T</title>"
    b"<id>f</id><entry><title xml:lang='it'>a</title><id>e1</id></entry></feed>",
    # An RDF root's xml:lang is not the feed's in feedparser (it compares "rdf:rdf" with "rdf:RDF"),
    # but its items' texts inherit it.
    "rdf-xml-lang": b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
    b" xmlns='http://purl.org/rss/1.0/' xml:lang='nl'><channel rdf:about='https://e.example/'><title>T</title>"
    b"<link>https://e.example/</link></channel><item rdf:about='https://e.example/1'><title>a</title>"
    b"<link>https://e.example/1</link></item></rdf:RDF>",
    # Anchors in an xhtml div whose xml:lang differs from the entry's.
    "atom-xhtml-div-lang": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom' xml:lang='en'>"
    b"<title>T</title><id>f</id><entry><title>a</title><id>e1</id><link href='https://e.example/1'/>"
    b"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml' xml:lang='fr'><p>"
    b"<a href='/x'>x</a></p></div></content></entry></feed>",
}


@pytest.mark.parametrize("name", sorted(XML_LANG_DOCUMENTS))
@pytest.mark.parametrize("content_language", ["", "de"])
def test_xml_lang_is_tracked_by_the_fast_path_as_feedparser_tracks_it(
    name: str, content_language: str
) -> None:
    body = XML_LANG_DOCUMENTS[name]
    headers = {"content-type": "application/xml", "content-location": "https://e.example/feed"}
    if content_language:
        headers["content-language"] = content_language

    fast = parse_feed_fast(body, headers, NOW)
    slow = parse_feed_with_feedparser(body, headers, NOW)

    assert fast is not None
    assert fast == slow
    assert parse_feed(body, headers, NOW) == slow
    assert "de" not in {m.language for m in fast}


def test_xml_lang_values_read_as_expected() -> None:
    def languages(name: str) -> list[str]:
        parsed = parse_feed_fast(XML_LANG_DOCUMENTS[name], {"content-type": "application/xml"}, NOW)
        assert parsed is not None
        return [m.language for m in parsed]

    assert languages("rss-root-xml-lang") == ["pt-BR"]
    # The entry's texts lose the inherited language; the feed still declares one, and it stands.
    assert languages("atom-empty-xml-lang") == ["en", "en"]
    assert languages("atom-title-xml-lang") == ["it"]
    assert languages("rdf-xml-lang") == ["nl"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("fr-CA", "fr-CA"), (" en ", "en"), ("zh_Hant_TW", "zh_Hant_TW"), ("", ""), (None, ""), (["fr"], "")],
)
def test_declared_language_keeps_tags_and_drops_what_is_no_tag(value: object, expected: str) -> None:
    assert declared_language(value) == expected


@pytest.mark.parametrize("value", ["<b>fr</b>", "en; DROP TABLE", "x" * 80, "fr\nen", "123"])
def test_declared_language_refuses_garbage(value: str) -> None:
    assert declared_language(value) == ""
