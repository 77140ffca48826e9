"""Feeds from the real world that lied or broke rules, through a real HTTP server on 127.0.0.1:
counts beyond any integer type, invalid characters, reused guids, a charset lost to a leading
newline, and JSON Feed. Each goes through FeedSource.poll (and the store where rows matter)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.config import Config, load_config
from dashboard.contracts.errors import ParseError
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, PollOutcome, SourceConfig, SourceStatus
from dashboard.polling.service import running_poller
from dashboard.sources import source_types
from dashboard.sources.feed import MAX_COUNT, FeedSource
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml"

NAMESPACES = (
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:thr="http://purl.org/syndication/thread/1.0"'
)


def rss_feed(items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NAMESPACES}><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()


def item(guid: str, title: str, link: str, extra: str = "", date: str = "01 Mar 2026 12:00:00") -> str:
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title><link>{link}</link>'
        f"<pubDate>Sun, {date} GMT</pubDate>{extra}</item>"
    )


def feed_config(url: str, name: str = "Feed") -> SourceConfig:
    return SourceConfig(name=name, type="feed", interval=600.0, url=url)


async def poll_url(url: str, cursor: Mapping[str, Any] | None = None) -> PollOutcome:
    source = FeedSource(feed_config(url))
    async with Fetcher(timeout=5.0) as fetcher:
        context = PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, cursor=cursor or {})
        return await source.poll(context)


def write_config(directory: Path, server: LocalServer, paths: Mapping[str, str]) -> Config:
    lines = ["[settings]", 'timeout = "10s"', f'database = "{directory / "mentions.db"}"', ""]
    for name, path in paths.items():
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{server.url(path)}"', ""]
    config = directory / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return load_config(config, registry=source_types())


def stored(db: Path) -> list[tuple[str, str, str, int | None, int | None, int | None]]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT key, title, url, likes, replies, views FROM mentions ORDER BY published_at, key"
        ).fetchall()
    finally:
        connection.close()
    return [tuple(row) for row in rows]


# --- 1. numbers beyond any count, characters XML forbids ------------------------------------------

HUGE = "99999999999999999999"  # > 2**64
HUGE_COUNTS = rss_feed(
    item(
        "huge",
        "Huge counts",
        "https://example.org/huge",
        f"<slash:comments>{HUGE}</slash:comments>"
        f'<media:statistics views="{HUGE}000"/><media:starRating count="{"9" * 5000}"/>',
    )
    + item("thr", "Huge thr:total", "https://example.org/thr", f"<thr:total>{HUGE}</thr:total>")
    + item(
        "fine",
        "Honest counts",
        "https://example.org/fine",
        f'<slash:comments>{MAX_COUNT}</slash:comments><media:statistics views="1,234"/>',
    )
)


async def test_counts_beyond_max_count_are_not_reported_and_honest_ones_are_kept(
    server: LocalServer,
) -> None:
    server.route("/huge.xml", Reply(body=HUGE_COUNTS, headers={"Content-Type": RSS}))

    outcome = await poll_url(server.url("/huge.xml"))

    counts = {m.key: (m.likes, m.replies, m.views) for m in outcome.mentions}
    assert counts == {"huge": (None, None, None), "thr": (None, None, None), "fine": (None, MAX_COUNT, 1234)}


async def test_huge_counts_and_forbidden_characters_are_stored_and_polling_goes_on(
    server: LocalServer, tmp_path: Path
) -> None:
    """A lone surrogate reference (`&#xD800;`) made feedparser fail the whole feed, and a count
    above 2**63 escaped the store write as OverflowError: here both are stored as one bad value each."""
    bad_chars = rss_feed(
        item("surrogate&#xDFFF;", "Lone &#xD800; surrogate &#1; and &#8217;", "https://example.org/s")
        + item("plain", "Neighbour", "https://example.org/n", date="01 Mar 2026 11:00:00")
    )
    server.route("/huge.xml", Reply(body=HUGE_COUNTS, headers={"Content-Type": RSS}))
    server.route("/chars.xml", Reply(body=bad_chars, headers={"Content-Type": RSS}))
    config = write_config(tmp_path, server, {"Huge": "/huge.xml", "Chars": "/chars.xml"})
    db = tmp_path / "mentions.db"

    async with running_poller(config, db) as poller:
        records = {record.source: record for record in await poller.poll_once()}

    assert {name: record.status for name, record in records.items()} == {
        "Huge": SourceStatus.OK,
        "Chars": SourceStatus.OK,
    }
    rows = {key: (title, replies) for key, title, _url, _likes, replies, _views in stored(db)}
    assert rows["surrogate\ufffd"] == ("Lone \ufffd surrogate \ufffd and \u2019", None)
    assert rows["plain"] == ("Neighbour", None)
    assert rows["huge"] == ("Huge counts", None)
    assert rows["fine"] == ("Honest counts", MAX_COUNT)


def test_mentions_never_carry_a_lone_surrogate() -> None:
    """Whatever path produced the text, what reaches the store encodes as UTF-8."""
    from dashboard.sources.feed import valid_text

    assert valid_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert valid_text("plain") == "plain"
    assert valid_text("Grüße") == "Grüße"


def keys(mentions: tuple[Mention, ...]) -> list[str]:
    return [mention.key for mention in mentions]


# --- 2. a guid reused for another post ------------------------------------------------------------

FIRST = item("dup", "The first post", "https://example.org/first", date="01 Mar 2026 09:00:00")
SECOND = item("dup", "Another post, same guid", "https://example.org/second", date="01 Mar 2026 12:00:00")
OTHER = item("other", "Other", "https://example.org/other", date="01 Mar 2026 10:00:00")


async def poll_twice(
    server: LocalServer, tmp_path: Path, first: bytes, second: bytes
) -> list[tuple[str, str]]:
    """(key, title) of the stored mentions after one poll of `first` and one of `second`."""
    server.route("/feed.xml", Reply(body=first, headers={"Content-Type": RSS}))
    config = write_config(tmp_path, server, {"Reuser": "/feed.xml"})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        [record] = await poller.poll_once()
        assert record.status == SourceStatus.OK, record.error
        server.route("/feed.xml", Reply(body=second, headers={"Content-Type": RSS}))
        [record] = await poller.poll_once(force=True)
        assert record.status == SourceStatus.OK, record.error
    return [(key, title) for key, title, *_rest in stored(db)]


def variant(key: str, url: str) -> str:
    import hashlib

    return f"{key}#{hashlib.sha1(url.encode()).hexdigest()[:12]}"


async def test_two_posts_under_one_guid_in_one_feed_are_two_rows_that_stay_put(
    server: LocalServer, tmp_path: Path
) -> None:
    """The newer post is listed first (as feeds do); the older one keeps the plain key on both polls."""
    body = rss_feed(SECOND + OTHER + FIRST)
    reordered = rss_feed(FIRST + SECOND + OTHER)

    rows = await poll_twice(server, tmp_path, body, reordered)

    assert rows == [
        ("dup", "The first post"),
        ("other", "Other"),
        (variant("dup", "https://example.org/second"), "Another post, same guid"),
    ]


async def test_a_guid_reused_after_its_post_left_the_feed_is_a_new_row(
    server: LocalServer, tmp_path: Path
) -> None:
    rows = await poll_twice(server, tmp_path, rss_feed(OTHER + FIRST), rss_feed(SECOND + OTHER))

    assert rows == [
        ("dup", "The first post"),  # not overwritten by the post that took its guid
        ("other", "Other"),
        (variant("dup", "https://example.org/second"), "Another post, same guid"),
    ]


async def test_a_true_repeat_and_an_edited_post_stay_one_row(server: LocalServer, tmp_path: Path) -> None:
    """Same guid and link, listed twice, then re-polled with a new title and a new slug on the same
    date: one post, one row, updated in place."""
    edited = item(
        "dup", "The first post, edited", "https://example.org/first-edited", date="01 Mar 2026 09:00:00"
    )

    rows = await poll_twice(
        server, tmp_path, rss_feed(FIRST + OTHER + FIRST), rss_feed(edited + OTHER + edited)
    )

    assert rows == [("dup", "The first post, edited"), ("other", "Other")]


async def test_the_same_feed_polled_again_adds_no_rows(server: LocalServer, tmp_path: Path) -> None:
    body = rss_feed(SECOND + OTHER + FIRST)
    rows = await poll_twice(server, tmp_path, body, body + b"\n")  # a new body: parsed again

    assert len(rows) == 3


# --- 3. the XML rules decide the charset when the server says nothing ------------------------------

SWR = "Südwestrundfunk – Nachrichten für Baden-Württemberg"


def swr_feed(declaration: str) -> bytes:
    return (
        f'{declaration}<rss version="2.0"><channel><title>{SWR}</title>'
        f"<item><title>{SWR}</title><guid>swr-1</guid><link>https://example.org/swr</link></item>"
        "</channel></rss>"
    ).encode()


async def test_a_newline_before_the_declaration_and_no_content_type_still_read_as_utf8(
    server: LocalServer,
) -> None:
    bodies = {
        "/newline.xml": swr_feed('\n<?xml version="1.0" encoding="utf-8"?>\n'),
        "/spaces-and-bom.xml": b"\xef\xbb\xbf" + swr_feed('\r\n  <?xml version="1.0" encoding="UTF-8"?>'),
        "/no-declaration.xml": swr_feed(""),  # XML's default is UTF-8, not RFC 3023's ISO-8859-1
        "/utf-16-bom.xml": "\ufeff\n".encode("utf-16-le") + swr_feed("").decode().encode("utf-16-le"),
    }
    for path, body in bodies.items():
        server.route(path, Reply(body=body))  # no Content-Type header at all

    titles = {path: [m.title for m in (await poll_url(server.url(path))).mentions] for path in bodies}

    assert titles == {path: [SWR] for path in bodies}


async def test_a_newline_before_a_windows_1252_declaration_keeps_the_declared_charset(
    server: LocalServer,
) -> None:
    body = (
        '\n<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>C</title>'
        "<item><title>Caf\xe9 \x93quoted\x94 \x8010</title><guid>c</guid><link>https://example.org/c</link>"
        "</item></channel></rss>"
    ).encode("latin-1")
    server.route("/cp1252.xml", Reply(body=body, headers={"Content-Type": "text/html"}))

    [mention] = (await poll_url(server.url("/cp1252.xml"))).mentions

    assert mention.title == "Café “quoted” €10"


# --- 4. JSON Feed 1.0 and 1.1 -------------------------------------------------------------------


async def test_json_feed_1_1_items_become_mentions(server: LocalServer) -> None:
    body = fixture_bytes("feeds", "jsonfeed-1.1.json")
    server.route("/feed.json", Reply(body=body, headers={"Content-Type": "application/feed+json"}))

    textual, untitled, review = (await poll_url(server.url("/feed.json"))).mentions

    assert textual.key == "https://weekly.example.org/2025/06/10/textual-8"
    assert textual.url == "https://weekly.example.org/2025/06/10/textual-8"
    assert textual.title == "Textual 8 & the <DataTable>"  # JSON Feed titles are plain text
    assert textual.summary == "Textual 8 is fast.\nTry it."  # content_html preferred to summary
    assert textual.author == "Ana Lima"
    assert textual.published == datetime(2025, 6, 10, 6, 30, tzinfo=UTC)
    assert textual.kind is MentionKind.POST
    assert untitled.key == "2"
    assert untitled.url == server.url("/2025/06/09/plain")  # relative url, resolved against the feed's
    assert untitled.summary == "A post with no title, only text.\nSecond line."
    assert untitled.author == "Weekly Team"  # the feed's authors
    assert untitled.published == datetime(2025, 6, 9, 12, 0, tzinfo=UTC)  # date_modified alone
    assert (review.url, review.summary, review.published) == (
        "https://elsewhere.example.net/review",
        "A review elsewhere",
        None,  # "not a date"
    )


async def test_json_feed_1_0_with_numeric_ids_and_author_objects(server: LocalServer) -> None:
    """Served as text/plain, as static hosts do: the body's "{" and its version say what it is."""
    body = fixture_bytes("feeds", "jsonfeed-1.0.json")
    server.route("/feed.json", Reply(body=body, headers={"Content-Type": "text/plain; charset=utf-8"}))

    first, second = (await poll_url(server.url("/feed.json"))).mentions

    assert (first.key, first.author, first.summary) == (
        "1001",
        "Bo Chen",
        "Numbers as ids happen in the wild.",
    )
    assert first.published == datetime(2025, 6, 8, 15, 0, tzinfo=UTC)
    assert (second.key, second.author, second.summary) == ("1002", "Feed Author", "Second")


async def test_json_that_is_not_a_json_feed_says_so_instead_of_malformed_xml(server: LocalServer) -> None:
    server.route("/api.json", Reply(body=b'{"data": []}', headers={"Content-Type": "application/json"}))
    server.route(
        "/broken.json",
        Reply(
            body=b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            headers={"Content-Type": "application/feed+json"},
        ),
    )

    with pytest.raises(ParseError, match=r"not a JSON Feed \(version missing\)"):
        await poll_url(server.url("/api.json"))
    with pytest.raises(ParseError, match="malformed JSON feed"):
        await poll_url(server.url("/broken.json"))


async def test_a_json_feed_with_a_lone_surrogate_and_huge_counts_is_stored(
    server: LocalServer, tmp_path: Path
) -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": ['
        b'{"id": "s", "url": "https://example.org/s", "title": "Lone \\ud800 here", "content_text": 7},'
        b'{"id": "ok", "url": "https://example.org/ok", "title": "Fine", "date_published": "2026-03-01T09:00:00Z"}]}'
    )
    server.route("/feed.json", Reply(body=body, headers={"Content-Type": "application/feed+json"}))
    config = write_config(tmp_path, server, {"Json": "/feed.json"})
    db = tmp_path / "mentions.db"

    async with running_poller(config, db) as poller:
        [record] = await poller.poll_once()

    assert record.status == SourceStatus.OK, record.error
    assert sorted((key, title) for key, title, *_rest in stored(db)) == [
        ("ok", "Fine"),
        ("s", "Lone \ufffd here"),
    ]


def test_twenty_thousand_entries_of_one_guid_are_kept_apart_in_linear_steps() -> None:
    """A step count, not a clock: each entry is compared with a set, never with every other entry."""
    from dashboard.sources.feed import distinct_keys

    class CountingStr(str):
        comparisons = 0

        def __eq__(self, other: object) -> bool:
            CountingStr.comparisons += 1
            return str.__eq__(self, other)

        def __ne__(self, other: object) -> bool:
            CountingStr.comparisons += 1
            return str.__ne__(self, other)

        __hash__ = str.__hash__

    mentions = [
        Mention(
            key="dup",
            kind=MentionKind.POST,
            url=CountingStr(f"https://e.org/{n}"),
            title="t",
            author="",
            published=None,
        )
        for n in range(20_000)
    ]

    distinct = distinct_keys(mentions, {})

    assert len({mention.key for mention in distinct}) == 20_000
    assert CountingStr.comparisons < 100_000


async def test_an_rss_feed_mislabelled_as_json_is_still_read_as_xml(server: LocalServer) -> None:
    body = rss_feed(item("x", "Mislabelled", "https://example.org/x"))
    server.route("/feed", Reply(body=body, headers={"Content-Type": "application/json"}))

    [mention] = (await poll_url(server.url("/feed"))).mentions

    assert mention.title == "Mislabelled"
