"""The feed fast path (feed_extract) against feedparser: namespace corner cases the differential fuzz
found, proof that the feed modules use feedparser through its public API only, and an unexpected
fast-path failure made visible instead of a silent slow-down."""

from __future__ import annotations

import ast
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import SourceConfig
from dashboard.sources import feed, feed_extract
from dashboard.sources.feed import FeedSource, parse_feed, parse_feed_fast, parse_feed_with_feedparser
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml", "content-location": "https://blog.example.org/feed/"}
ROOT = Path(__file__).parent.parent

RSS_NS = (
    "xmlns:media='http://search.yahoo.com/mrss/' xmlns:thr='http://purl.org/syndication/thread/1.0'"
    " xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:slash='http://purl.org/rss/1.0/modules/slash/'"
)


def rss(items: str, namespaces: str = RSS_NS) -> bytes:
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0' {namespaces}><channel><title>T</title>"
        f"{items}</channel></rss>"
    ).encode()


# --- 5. documents the differential fuzz found, and their neighbours -----------------------------

NAMESPACE_DOCUMENTS = {
    # A namespaced attribute with the local name of a plain one must not overwrite it.
    "plain-count-then-thr-count": rss(
        "<item><title>t</title><guid>g</guid><media:starRating count='5' thr:count='x'/></item>"
    ),
    "thr-count-then-plain-count": rss(
        "<item><title>t</title><guid>g</guid><media:starRating thr:count='x' count='5'/></item>"
    ),
    "views-and-foreign-views": rss(
        "<item><title>t</title><guid>g</guid>"
        "<media:community><media:statistics views='12' x:views='99' xmlns:x='urn:x'/></media:community></item>"
    ),
    # A prefix re-declared on a descendant with another namespace URI.
    "dc-redeclared-on-item": rss(
        "<item xmlns:dc='urn:other'><title>t</title><guid>g</guid><dc:creator>Not DC</dc:creator>"
        "<dc:date>2025-01-01T00:00:00Z</dc:date></item>"
        "<item><guid>h</guid><title>after</title><dc:creator>Real DC</dc:creator></item>"
    ),
    "unknown-prefix-rebound-to-dc": rss(
        "<item><title>t</title><guid>g</guid>"
        "<x:creator xmlns:x='http://purl.org/dc/elements/1.1/'>Via x</x:creator></item>"
        "<item><title>u</title><guid>h</guid><x:creator>Back to urn:x</x:creator></item>",
        RSS_NS + " xmlns:x='urn:x'",
    ),
    "default-namespace-on-item": rss(
        "<item xmlns='urn:y'><title>Title in urn:y</title><guid>g</guid><link>https://e.org/y</link></item>"
        "<item><title>plain</title><guid>h</guid></item>"
    ),
    "atom-prefix-rebound": rss(
        "<item><title>t</title><guid>g</guid>"
        "<a:author xmlns:a='urn:not-atom'><a:name>Zed</a:name></a:author>"
        "<a:link xmlns:a='http://www.w3.org/2005/Atom' rel='replies' thr:count='4' href='https://e.org/r'/></item>",
        RSS_NS + " xmlns:a='http://www.w3.org/2005/Atom'",
    ),
    "slash-redeclared-then-restored": rss(
        "<item xmlns:slash='urn:not-slash'><title>t</title><guid>g</guid><slash:comments>9</slash:comments></item>"
        "<item><title>u</title><guid>h</guid><slash:comments>3</slash:comments></item>"
    ),
}


@pytest.mark.parametrize("name", sorted(NAMESPACE_DOCUMENTS))
def test_namespace_corner_cases_give_feedparsers_mentions(name: str) -> None:
    body = NAMESPACE_DOCUMENTS[name]

    fast = parse_feed_fast(body, HEADERS, NOW)
    slow = parse_feed_with_feedparser(body, HEADERS, NOW)

    if fast is not None:  # the fast path may refuse a document, never disagree with feedparser
        assert fast == slow
    assert parse_feed(body, HEADERS, NOW) == slow


def test_a_plain_attribute_beside_a_namespaced_one_of_the_same_name_is_kept() -> None:
    body = NAMESPACE_DOCUMENTS["plain-count-then-thr-count"]

    fast = parse_feed_fast(body, HEADERS, NOW)

    assert fast is not None
    assert [mention.likes for mention in fast] == [5]


# --- 5b. links and declared languages: the fast path replays xml:lang as feedparser does -------

ATOM_NS = "xmlns='http://www.w3.org/2005/Atom'"


def atom(entries: str, attributes: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='utf-8'?><feed {ATOM_NS}{attributes}><title>T</title><id>f</id>"
        f"{entries}</feed>"
    ).encode()


LINK_AND_LANGUAGE_DOCUMENTS = {
    "rss-language-and-anchors": rss(
        "<item><title>t</title><guid>g</guid><link>https://blog.example.org/p/</link>"
        "<description><![CDATA[<a href='/rel'>r</a> <a href='https://o.example/?utm_source=x&amp;a=1'>o</a>"
        " <a href='https://blog.example.org/p/#more'>more</a>]]></description></item>"
    ).replace(b"<title>T</title>", b"<title>T</title><language>fr-CA</language>"),
    "rss-dc-language-on-item": rss(
        "<item><title>t</title><guid>g</guid><dc:language>de</dc:language>"
        "<description>see https://o.example/x.</description></item>"
    ),
    "rss-root-xml-lang-underscore": rss("<item><title>t</title><guid>g</guid></item>").replace(
        b"<rss version='2.0'", b"<rss version='2.0' xml:lang='en_GB'"
    ),
    "atom-entry-lang-beats-feed-lang": atom(
        "<entry xml:lang='fr'><title>a</title><id>1</id><link href='https://e.example/1'/>"
        "<content type='html'>&lt;a href='../up'&gt;u&lt;/a&gt;</content></entry>"
        "<entry><title>b</title><id>2</id><summary type='text'>https://o.example/t</summary></entry>",
        " xml:lang='en'",
    ),
    "atom-empty-lang-then-inherited": atom(
        "<entry xml:lang=''><title>a</title><id>1</id></entry><entry><title>b</title><id>2</id></entry>",
        " xml:lang='it'",
    ),
    "atom-lang-on-xhtml-div": atom(
        "<entry><title>a</title><id>1</id><content type='xhtml'>"
        "<div xmlns='http://www.w3.org/1999/xhtml' xml:lang='es'><a href='https://o.example/d'>d</a></div>"
        "</content></entry><entry><title xml:lang='nl'>b</title><id>2</id></entry>",
        " xml:lang='en'",
    ),
    "atom-lang-on-title-only": atom("<entry><title xml:lang='pt'>a</title><id>1</id></entry>"),
}


@pytest.mark.parametrize("name", sorted(LINK_AND_LANGUAGE_DOCUMENTS))
@pytest.mark.parametrize("content_language", [None, "ja"])
def test_links_and_languages_give_feedparsers_mentions(name: str, content_language: str | None) -> None:
    body = LINK_AND_LANGUAGE_DOCUMENTS[name]
    headers = dict(HEADERS, **({"content-language": content_language} if content_language else {}))

    fast = parse_feed_fast(body, headers, NOW)
    slow = parse_feed_with_feedparser(body, headers, NOW)

    assert fast is not None, name  # every one of these takes the fast path
    assert fast == slow  # Mention equality covers links and language
    assert parse_feed(body, headers, NOW) == slow
    assert any(m.links or m.language for m in fast)  # the comparison is not of empty values


# --- 6. feedparser through its public API only ---------------------------------------------------

FEED_MODULES = (
    "dashboard/sources/feed.py",
    "dashboard/sources/feed_extract.py",
    "dashboard/sources/feed_json.py",
)


def test_the_feed_modules_use_feedparser_through_feedparser_parse_only() -> None:
    """No feedparser submodule, no private name: a feedparser release that moves its internals cannot
    break the fast path, so feedparser needs no upper bound for it (issue 16)."""
    for path in FEED_MODULES:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
        modules = {alias.name for node in imports if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module or "" for node in imports if isinstance(node, ast.ImportFrom)}
        assert not {module for module in modules if module.startswith("feedparser.")}, path
        assert not [
            node for node in imports if isinstance(node, ast.ImportFrom) and node.module == "feedparser"
        ]
        used = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "feedparser"
        }
        assert used <= {"parse"}, (path, used)
        if path.endswith("feed_extract.py"):
            assert not {module for module in modules if module.startswith("feedparser")}


# --- 6. an unexpected fast-path failure is counted and logged, and feedparser still answers -------


async def test_an_unexpected_fast_path_error_is_logged_with_the_feed_url_and_noted(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    body = fixture_bytes("feeds", "rss2.xml")
    server.route("/feed.xml", Reply(body=body, headers={"Content-Type": "application/rss+xml"}))
    expected = parse_feed_with_feedparser(body, {"content-location": server.url("/feed.xml")}, NOW)

    def broken(body: bytes, headers: object) -> feed_extract.Parsed:
        raise TypeError("a bug in the extractor")

    monkeypatch.setattr(feed_extract, "parse", broken)
    before = feed.FAST_PATH_FAILURES["TypeError"]
    source = FeedSource(SourceConfig(name="blog", type="feed", interval=600.0, url=server.url("/feed.xml")))

    with caplog.at_level(logging.WARNING, logger="dashboard.sources.feed"):
        async with Fetcher(timeout=5.0) as fetcher:
            outcome = await source.poll(PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW))

    assert outcome.mentions == expected
    assert "fast path failed (TypeError: a bug in the extractor)" in outcome.notes
    assert feed.FAST_PATH_FAILURES["TypeError"] == before + 1
    [record] = [r for r in caplog.records if r.name == "dashboard.sources.feed"]
    assert record.levelno == logging.WARNING
    assert server.url("/feed.xml") in record.getMessage()
    assert "TypeError: a bug in the extractor" in record.getMessage()


def test_parse_feed_called_directly_logs_the_fallback_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(body: bytes, headers: object) -> feed_extract.Parsed:
        raise KeyError("surprise")

    monkeypatch.setattr(feed_extract, "parse", broken)
    body = fixture_bytes("feeds", "atom.xml")

    with caplog.at_level(logging.WARNING, logger="dashboard.sources.feed"):
        mentions = parse_feed(body, HEADERS, NOW)

    assert mentions == parse_feed_with_feedparser(body, HEADERS, NOW)
    assert any("https://blog.example.org/feed/" in r.getMessage() for r in caplog.records)


def test_a_document_the_fast_path_refuses_by_design_is_not_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Declining (a DOCTYPE, xml:base, an element whose effect it does not know) is the designed way
    to fall back."""
    body = b"<?xml version='1.0'?><!DOCTYPE rss><rss version='2.0'><channel><item><title>t</title></item></channel></rss>"
    before = sum(feed.FAST_PATH_FAILURES.values())

    with caplog.at_level(logging.WARNING, logger="dashboard.sources.feed"):
        parse_feed(body, HEADERS, NOW)

    assert sum(feed.FAST_PATH_FAILURES.values()) == before
    assert not [r for r in caplog.records if r.name == "dashboard.sources.feed"]
