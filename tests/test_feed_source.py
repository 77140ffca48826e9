"""The feed source: parse_feed on recorded/handwritten feed bytes, and FeedSource.poll end to end
through the real Fetcher against the local HTTP server (conditional GET, gzip, unchanged bodies)."""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, ParamSpec, TypeVar

import pytest

from dashboard.contracts.errors import ParseError
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, PollOutcome, SourceConfig
from dashboard.sources import source_types
from dashboard.sources.feed import FeedSource, content_hash, owners_of, parse_feed
from tests.conftest import FIXTURES, fixture_bytes
from tests.localserver import Handler, LocalServer, Reply, Seen

P = ParamSpec("P")
T = TypeVar("T")

NOW = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)
RSS = {"content-type": "application/rss+xml; charset=utf-8"}
ATOM = {"content-type": "application/atom+xml"}


def feed(name: str) -> bytes:
    return fixture_bytes("feeds", name)


def parse(name: str, headers: dict[str, str] | None = None) -> tuple[Mention, ...]:
    return parse_feed(feed(name), headers if headers is not None else RSS, NOW)


def by_key(mentions: tuple[Mention, ...]) -> dict[str, Mention]:
    return {mention.key: mention for mention in mentions}


# --- formats -------------------------------------------------------------------------------------


def test_rss2_items_become_posts_with_plain_text_and_utc_dates() -> None:
    first, second, third = parse("rss2.xml", {**RSS, "content-location": "https://blog.example.org/feed/"})

    assert first.key == "tag:blog.example.org,2025:release-2-0"
    assert first.kind is MentionKind.POST
    assert first.url == "https://blog.example.org/2025/06/release-2-0"
    assert first.title == "Release 2.0 is out"
    assert first.author == "Ana Lima"
    assert first.published == datetime(2025, 6, 10, 6, 30, tzinfo=UTC)  # +0200 converted
    assert first.summary == "We are proud to announce & celebrate 2.0.\nRead on."
    assert (first.likes, first.replies, first.shares, first.views) == (None, None, None, None)
    assert second.author == "Events Team"  # the name, not "events@example.org (Events Team)"
    assert second.summary == "Join us Friday at 18:00."
    assert third.url == "https://blog.example.org/2025/06/relative"  # resolved against Content-Location


def test_atom_entries_keep_plain_text_titles_literally_and_read_thr_total() -> None:
    builds, divs = parse("atom.xml", ATOM)

    assert builds.title == "Faster builds with cache"  # type="html": tags dropped
    assert builds.author == "Bo Chen"
    assert builds.summary == "Builds are now 3x faster."  # xhtml content preferred to nothing
    assert builds.published == datetime(2025, 6, 10, 7, 15, tzinfo=UTC)
    assert builds.replies == 7
    assert divs.title == "Use <div> wisely & sparingly"  # type="text": angle brackets are text
    assert divs.summary == "Plain text summary with <tags> shown literally."
    assert divs.published == datetime(2025, 6, 9, 8, 0, tzinfo=UTC)  # only <updated>


def test_rdf_items_use_dc_date_and_creator() -> None:
    mentions = parse("rdf.xml", {"content-type": "application/rdf+xml"})

    assert [mention.title for mention in mentions] == ["Community call notes", "Docs sprint"]
    assert mentions[0].key == "https://news.example.net/story/1"
    assert mentions[0].author == "Dee Okafor"
    assert mentions[0].published == datetime(2025, 6, 7, 15, 30, tzinfo=UTC)


# --- WordPress and YouTube -----------------------------------------------------------------------


def test_wordpress_comment_feed_separates_comments_from_pingbacks_and_trackbacks() -> None:
    mentions = by_key(parse("wordpress-comments.xml"))
    kinds = {key.rsplit("-", 1)[1]: mention.kind for key, mention in mentions.items()}

    assert kinds == {
        "101": MentionKind.COMMENT,  # "Comments for ..." feed
        "102": MentionKind.COMMENT,
        "103": MentionKind.PINGBACK,  # "Pingback: ..."
        "104": MentionKind.PINGBACK,  # "TRACKBACK:..." (case and missing space)
        "105": MentionKind.PINGBACK,  # "Rétrolien:..."
        "106": MentionKind.PINGBACK,  # marked with wp:comment_type, ordinary title
    }
    pingback = mentions["https://blog.example.org/?p=42#comment-103"]
    assert pingback.title == "Pingback: Weekly links #42 – Some Digest"
    assert pingback.author == "Weekly links #42 – Some Digest"  # &#8211; inside CDATA decoded
    assert pingback.summary == "[…] Example shipped release 2.0 this week […]"


@pytest.mark.parametrize(
    ("feed_title", "item_title", "item_body", "kind"),
    [
        ("Comments on: Release 2.0", "By: Priya", "Nice", MentionKind.COMMENT),
        ("Commentaires sur : Version 2.0", "Par : Priya", "Bravo", MentionKind.COMMENT),
        ("A blog", "Re: thread", "In reply to Priya. Yes.", MentionKind.COMMENT),
        ("A blog", "pingback : someone linked", "x", MentionKind.PINGBACK),
        ("A blog", "Rétrolien : un lien", "x", MentionKind.PINGBACK),
        ("A blog", "Pingbacks are a WordPress feature", "x", MentionKind.POST),
        ("A blog", "Our comments policy", "x", MentionKind.POST),
    ],
)
def test_kind_from_feed_title_item_title_and_reply_marker(
    feed_title: str, item_title: str, item_body: str, kind: MentionKind
) -> None:
    body = (
        f"<rss version='2.0'><channel><title>{feed_title}</title>"
        f"<item><guid>k</guid><title>{item_title}</title><description>{item_body}</description></item>"
        "</channel></rss>"
    ).encode()

    (mention,) = parse_feed(body, RSS, NOW)

    assert mention.kind is kind


def test_atom_in_reply_to_marks_a_comment() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
      <title>Blog</title><entry><id>tag:c1</id><title>re</title><link href="https://b.example/c1"/>
      <thr:in-reply-to ref="tag:p1" href="https://b.example/p1"/><content>hi</content></entry></feed>"""

    (mention,) = parse_feed(body, ATOM, NOW)

    assert mention.kind is MentionKind.COMMENT
    assert mention.url == "https://b.example/c1"


def test_wordpress_posts_feed_reads_slash_comments_as_replies() -> None:
    release, meetup = parse("wordpress-posts.xml")

    assert release.kind is MentionKind.POST  # wfw:commentRss on a post does not make it a comment
    assert release.replies == 3
    assert meetup.replies == 0  # a reported zero stays zero, unlike an unreported count
    assert release.summary == "We are proud to announce 2.0.\nIt has a new API & a faster core."


def test_youtube_feed_reads_views_and_likes_from_media_community() -> None:
    walkthrough, call = parse("youtube.xml", ATOM)

    assert walkthrough.key == "yt:video:abcDEF12345"
    assert walkthrough.url == "https://www.youtube.com/watch?v=abcDEF12345"
    assert (walkthrough.views, walkthrough.likes, walkthrough.replies) == (15320, 412, None)
    assert walkthrough.summary == "A tour of everything new in 2.0.\nChapters below."
    assert walkthrough.author == "Example Project"
    assert (call.views, call.likes) == (0, 0)


def test_replies_fall_back_to_the_thr_count_of_a_replies_link() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
      <title>Blog</title><entry><id>tag:p1</id><title>Post</title>
      <link rel="replies" href="https://b.example/p1/comments" thr:count="12"/></entry></feed>"""

    (mention,) = parse_feed(body, ATOM, NOW)

    assert mention.replies == 12
    assert mention.url == ""  # a replies link or a tag: id is not the entry's web page


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/rss+xml; charset=ISO-8859-1", "text/xml; charset=iso-8859-1"]
)
def test_iso_8859_1_feed_decodes_accented_names(content_type: str) -> None:
    (mention,) = parse("iso-8859-1.xml", {"content-type": content_type})

    assert mention.title == "Réunion à Montréal : résumé"
    assert mention.author == "François Müller-Øberg"
    assert mention.summary == "Merci à tous : ça s'est très bien passé. Prochaine étape : l'été."


@pytest.mark.parametrize(
    "content_type",
    [
        "application/rss+xml",  # the XML prolog's windows-1252 applies
        "text/xml; charset=iso-8859-1",  # mislabelled: 0x80-0x9F must still be read as cp1252
    ],
)
def test_windows_1252_feed_decodes_smart_quotes_dashes_and_euro(content_type: str) -> None:
    (mention,) = parse("windows-1252.xml", {"content-type": content_type})

    assert mention.title == "“Quoted” title – with dash… and €5"
    assert mention.author == "Zoë O’Brien"
    assert mention.summary == "It’s “great”."


# --- odd entries ---------------------------------------------------------------------------------


def test_entries_without_guid_link_or_date_get_stable_keys_and_no_date() -> None:
    mentions = parse("edge-cases.xml")
    titles = {mention.title: mention for mention in mentions}

    assert titles["No guid, has link"].key == "https://edge.example.com/a"
    hashed = titles["No guid, no link, has date"]
    assert hashed.key.startswith("sha1:")
    assert hashed.url == ""
    assert parse("edge-cases.xml")[1].key == hashed.key  # stable across parses
    assert titles["No date at all"].published is None
    assert titles["No date at all"].key == "edge-3"


def test_duplicate_guids_keep_the_first_entry_and_empty_entries_are_dropped() -> None:
    mentions = parse("edge-cases.xml")
    keys = [mention.key for mention in mentions]

    assert keys.count("dup-1") == 1
    assert by_key(mentions)["dup-1"].title == "First copy wins"
    assert "empty-1" not in keys  # no title, no text, no link: nothing to show
    assert len(mentions) == 6


def test_markup_and_escapes_in_titles_are_kept_as_plain_text() -> None:
    mention = by_key(parse("edge-cases.xml"))["markup-1"]

    assert mention.title == "Great post [/bold] x"
    assert mention.author == "Eve [@click=app.quit]me[/]"  # Textual markup stays literal text
    assert mention.summary == "Body & more"  # <script> content dropped, entity decoded once


def test_future_dates_are_clamped_to_the_fallback_time() -> None:
    assert by_key(parse("edge-cases.xml"))["future-1"].published == NOW


@pytest.mark.parametrize("date", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "not a date at all"])
def test_placeholder_and_unreadable_dates_become_none(date: str) -> None:
    body = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>T</title><entry><id>a</id><title>x</title><updated>{date}</updated></entry></feed>"

    (mention,) = parse_feed(body.encode(), ATOM, NOW)

    assert mention.published is None


def test_long_summaries_are_cut_at_a_word_boundary() -> None:
    words = " ".join(f"word{number}" for number in range(1000))
    body = f"<rss version='2.0'><channel><title>T</title><item><guid>k</guid><title>Long</title><description>{words}</description></item></channel></rss>"

    (mention,) = parse_feed(body.encode(), RSS, NOW)

    assert len(mention.summary) <= 2000
    assert mention.summary.endswith("…")
    assert mention.summary[:-1].split(" ")[-1].startswith("word")
    assert words.startswith(mention.summary[:-1])


def test_long_ids_are_hashed_into_short_keys() -> None:
    body = f"<rss version='2.0'><channel><title>T</title><item><guid>{'x' * 5000}</guid><title>Long id</title></item></channel></rss>"

    (mention,) = parse_feed(body.encode(), RSS, NOW)

    assert mention.key.startswith("sha1:")
    assert len(mention.key) < 100


def test_results_survive_pickling_for_the_process_pool() -> None:
    mentions = parse("youtube.xml", ATOM)

    assert pickle.loads(pickle.dumps(mentions)) == mentions


# --- not feeds -----------------------------------------------------------------------------------


def test_valid_feed_without_entries_is_empty_not_an_error() -> None:
    assert parse("empty-channel.xml") == ()


@pytest.mark.parametrize("body", [b"", b"  \r\n\t "])
def test_empty_body_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty body"):
        parse_feed(body, RSS, NOW)


def test_html_page_is_a_parse_error_that_points_to_the_advertised_feed() -> None:
    headers = {"content-type": "text/html; charset=utf-8", "content-location": "https://blog.example.org/"}

    with pytest.raises(ParseError, match="HTML page") as caught:
        parse_feed(feed("page.html"), headers, NOW)

    assert "https://blog.example.org/feed/" in caught.value.message


def test_html_page_is_recognised_even_when_labelled_as_xml() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(feed("page.html"), RSS, NOW)


def test_feed_served_as_text_html_is_still_read() -> None:
    assert len(parse_feed(feed("atom.xml"), {"content-type": "text/html"}, NOW)) == 2


def test_malformed_xml_without_entries_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="malformed feed XML"):
        parse("malformed.xml")


def test_json_is_a_parse_error_naming_the_content_type() -> None:
    with pytest.raises(ParseError, match="application/json"):
        parse_feed(b'{"items": []}', {"content-type": "application/json"}, NOW)


def test_xml_that_is_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not an RSS, Atom or RDF feed"):
        parse_feed(b"<?xml version='1.0'?><config><a>1</a></config>", {"content-type": "text/xml"}, NOW)


def test_broken_feed_that_still_yields_entries_is_accepted() -> None:
    body = b"<rss version='2.0'><channel><title>T</title><item><guid>a</guid><title>ok</title></item><item><title>x</title><oops></item></channel></rss>"

    mentions = parse_feed(body, RSS, NOW)

    assert [mention.title for mention in mentions] == ["ok", "x"]


def test_a_body_that_names_a_local_file_is_never_read_from_disk() -> None:
    # feedparser 6 opens a bytes argument as a path if it can; parse_feed hands it a stream instead.
    path = FIXTURES / "feeds" / "rss2.xml"

    with pytest.raises(ParseError):
        parse_feed(str(path).encode(), RSS, NOW)


# --- the source ----------------------------------------------------------------------------------


def test_feed_is_registered_under_its_type_name() -> None:
    assert source_types()["feed"] is FeedSource


def test_content_hash_ignores_last_build_date_and_feed_level_updated_only() -> None:
    rss = feed("rss2.xml")
    rebuilt = rss.replace(b"Tue, 10 Jun 2025 09:00:00 +0000", b"Wed, 11 Jun 2025 09:00:00 +0000")
    atom = feed("atom.xml")
    atom_head_updated = atom.replace(
        b"<updated>2025-06-10T10:00:00Z</updated>", b"<updated>2025-06-12T00:00:00Z</updated>"
    )
    atom_entry_updated = atom.replace(
        b"<updated>2025-06-10T11:00:00Z</updated>", b"<updated>2025-06-12T00:00:00Z</updated>"
    )

    assert content_hash(rebuilt) == content_hash(rss)
    assert content_hash(atom_head_updated) == content_hash(atom)
    assert content_hash(atom_entry_updated) != content_hash(atom)
    assert content_hash(rss.replace(b"Meetup in Lisbon", b"Meetup in Porto")) != content_hash(rss)


class CountingParser(InlineParser):
    """InlineParser that counts its calls, to prove a poll did or did not parse."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        self.calls += 1
        return await super().__call__(fn, *args, **kwargs)


def feed_config(url: str, max_items: int = 100) -> SourceConfig:
    return SourceConfig(name="blog", type="feed", interval=600.0, url=url, max_items=max_items)


# --- FeedSource.poll through the real Fetcher and the local server ----------------------------------


ETAG = '"rss2-v1"'
LAST_MODIFIED = "Tue, 10 Jun 2025 09:00:00 GMT"


def conditional_feed(body: bytes, *, etag: str = ETAG, honour_validators: bool = True) -> Handler:
    """A feed route that answers 304 when the client's If-None-Match matches, like most servers."""

    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        if honour_validators and seen.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}
        return Reply(200, body, {**headers, "Last-Modified": LAST_MODIFIED})

    return handle


async def poll(source: FeedSource, parser: CountingParser, cursor: Mapping[str, Any]) -> PollOutcome:
    async with Fetcher(timeout=5.0) as fetcher:
        context = PollContext(fetch=fetcher.fetch, parse=parser, now=NOW, cursor=cursor)
        return await source.poll(context)


async def test_second_poll_sends_validators_and_a_304_is_not_modified_without_parsing(
    server: LocalServer,
) -> None:
    body = feed("rss2.xml")
    server.route("/feed.xml", conditional_feed(body))
    source = FeedSource(feed_config(server.url("/feed.xml")))
    parser = CountingParser()

    first = await poll(source, parser, {})
    second = await poll(source, parser, first.cursor)

    assert (first.http_status, first.not_modified, first.bytes_read) == (200, False, len(body))
    assert [mention.title for mention in first.mentions][:2] == ["Release 2.0 is out", "Meetup in Lisbon"]
    assert first.mentions[2].url == server.url("/2025/06/relative")  # relative link, final URL as base
    assert first.cursor == {
        "etag": ETAG,
        "last_modified": LAST_MODIFIED,
        "content_hash": content_hash(body),
        "guids": owners_of(first.mentions),  # which post holds each key (distinct_keys)
    }
    initial, conditional = server.requests_to("/feed.xml")
    assert "if-none-match" not in initial.headers
    assert "if-modified-since" not in initial.headers
    assert conditional.headers["if-none-match"] == ETAG
    assert conditional.headers["if-modified-since"] == LAST_MODIFIED
    assert (second.http_status, second.not_modified, second.mentions) == (304, True, ())
    assert second.cursor == first.cursor
    assert parser.calls == 1  # the 304 was not parsed


async def test_a_200_repeating_the_stored_etag_is_not_parsed(server: LocalServer) -> None:
    server.route("/feed.xml", conditional_feed(feed("rss2.xml"), honour_validators=False))
    source = FeedSource(feed_config(server.url("/feed.xml")))
    parser = CountingParser()

    first = await poll(source, parser, {})
    # The body differs, but the server says it is the same representation.
    server.route("/feed.xml", conditional_feed(feed("atom.xml"), honour_validators=False))
    second = await poll(source, parser, first.cursor)

    assert (second.http_status, second.not_modified, second.mentions) == (200, True, ())
    assert parser.calls == 1


async def test_an_unchanged_body_without_validators_is_not_parsed_again(server: LocalServer) -> None:
    body = feed("rss2.xml")
    server.route("/feed.xml", body, headers={"Content-Type": "application/rss+xml"})
    source = FeedSource(feed_config(server.url("/feed.xml")))
    parser = CountingParser()

    first = await poll(source, parser, {})
    rebuilt = body.replace(b"Tue, 10 Jun 2025 09:00:00 +0000", b"Wed, 11 Jun 2025 12:00:00 +0000")
    server.route("/feed.xml", rebuilt, headers={"Content-Type": "application/rss+xml"})
    same = await poll(source, parser, first.cursor)
    server.route(
        "/feed.xml", body.replace(b"Lisbon", b"Porto"), headers={"Content-Type": "application/rss+xml"}
    )
    changed = await poll(source, parser, same.cursor)

    assert (first.cursor["etag"], first.cursor["last_modified"]) == ("", "")
    assert "if-none-match" not in server.requests_to("/feed.xml")[1].headers
    assert (same.http_status, same.not_modified, same.bytes_read) == (200, True, len(rebuilt))
    assert not changed.not_modified
    assert "Meetup in Porto" in [mention.title for mention in changed.mentions]
    assert parser.calls == 2


async def test_gzip_encoded_feed_is_parsed(server: LocalServer) -> None:
    body = feed("iso-8859-1.xml")
    server.route(
        "/feed.xml",
        gzip.compress(body),
        headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1", "Content-Encoding": "gzip"},
    )
    parser = CountingParser()

    outcome = await poll(FeedSource(feed_config(server.url("/feed.xml"))), parser, {})

    (mention,) = outcome.mentions
    assert mention.author == "François Müller-Øberg"
    assert outcome.bytes_read == len(body)
    assert outcome.cursor["content_hash"] == content_hash(body)


async def test_poll_keeps_at_most_max_items_in_feed_order(server: LocalServer) -> None:
    server.route("/feed.xml", feed("rss2.xml"), headers={"Content-Type": "application/rss+xml"})

    outcome = await poll(FeedSource(feed_config(server.url("/feed.xml"), max_items=2)), CountingParser(), {})

    assert [mention.title for mention in outcome.mentions] == ["Release 2.0 is out", "Meetup in Lisbon"]


async def test_poll_of_an_html_page_raises_parse_error(server: LocalServer) -> None:
    server.route("/", feed("page.html"), headers={"Content-Type": "text/html; charset=utf-8"})

    with pytest.raises(ParseError, match="HTML page") as caught:
        await poll(FeedSource(feed_config(server.url("/"))), CountingParser(), {})

    assert server.url("/feed/") in caught.value.message
