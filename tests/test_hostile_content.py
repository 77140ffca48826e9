"""Hostile feed bodies through the whole pipeline: local server -> Fetcher -> parse pool -> store.

test_feed_source.py proves what `parse_feed` makes of odd but honest feeds; here the bodies attack:
entity expansion, local-file and network inclusion, parser CPU traps, lying charsets, and
duplicates that try to multiply rows. The fixture files are in tests/fixtures/hostile (README.md).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from dashboard.config import Config, load_config
from dashboard.fetch.http import Fetcher
from dashboard.fetch.parsepool import ProcessParser
from dashboard.models import PollRecord, SourceStatus
from dashboard.polling.poller import Poller
from dashboard.polling.service import running_poller
from dashboard.sources import source_types
from dashboard.store.writer import MAX_AUTHOR, MAX_CONTENT_CHANGES, Store
from dashboard.text import shorten
from tests.conftest import FIXTURES
from tests.feeds_factory import conditional, rss
from tests.localserver import LocalServer, Reply

HOSTILE = FIXTURES / "hostile"
RSS = "application/rss+xml"


# --- helpers ----------------------------------------------------------------------------------


def write_config(
    directory: Path, server: LocalServer, paths: Mapping[str, str], *, extra: str = ""
) -> Config:
    lines = ["[settings]", 'timeout = "10s"', f'database = "{directory / "mentions.db"}"', ""]
    for name, path in paths.items():
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{server.url(path)}"', extra, ""]
    config = directory / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return load_config(config, registry=source_types())


@asynccontextmanager
async def poller_with_budget(config: Config, database: Path, budget: float) -> AsyncIterator[Poller]:
    """`running_poller`, but with a parse budget of our choosing."""
    store = Store.open(database)
    try:
        with ProcessParser(workers=2, budget=budget) as parser:
            async with Fetcher(timeout=config.settings.timeout) as fetcher:
                yield Poller(config, store, fetcher.fetch, parser)
    finally:
        store.close()


def by_source(records: list[PollRecord]) -> dict[str, PollRecord]:
    return {record.source: record for record in records}


def finished_at(record: PollRecord) -> datetime:
    return record.started_at + timedelta(seconds=record.duration)


def mentions_of(db: Path, name: str) -> list[tuple[str, str, str, str]]:
    """(key, title, author, summary) of one source's stored mentions, by key."""
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            """SELECT m.key, m.title, m.author, m.summary FROM mentions m JOIN sources s ON s.id = m.source_id
               WHERE s.name = ? ORDER BY m.key""",
            (name,),
        ).fetchall()
    finally:
        connection.close()
    return [(str(key), str(title), str(author), str(summary)) for key, title, author, summary in rows]


def scalar(db: Path, sql: str, *params: object) -> int:
    connection = sqlite3.connect(db)
    try:
        return int(connection.execute(sql, params).fetchone()[0])
    finally:
        connection.close()


def whole_database_text(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


# --- entities, includes, external DTDs ------------------------------------------------------------


def quadratic_blowup(entity_size: int = 20_000, references: int = 20_000) -> bytes:
    """One 20 KB entity referenced 20,000 times: 400 MB if anything expanded it."""
    doctype = f'<!DOCTYPE rss [<!ENTITY big "{"B" * entity_size}">]>\n'
    refs = "&big;" * references
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + doctype + '<rss version="2.0"><channel><title>Q</title>'
        f"<item><title>Quad {refs} end</title><guid>attack-1</guid><link>https://example.org/q</link>"
        f"<description>{refs}</description></item>"
        "<item><title>Healthy neighbour</title><guid>ok-1</guid><link>https://example.org/ok</link></item>"
        "</channel></rss>"
    ).encode()


ATTACKS = ("billion-laughs", "external-entity", "parameter-entity", "external-dtd", "xinclude")


async def test_entities_never_expand_nor_read_files_nor_fetch_and_each_parse_is_quick(
    server: LocalServer, tmp_path: Path
) -> None:
    marker = f"SECRET-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(marker, encoding="utf-8")
    server.route("/secret.txt", marker)
    server.route("/evil.dtd", f'<!ENTITY leak "{marker}">')
    bodies = {
        name: HOSTILE.joinpath(f"{name}.xml")
        .read_bytes()
        .replace(b"SECRET_PATH", str(secret).encode())
        .replace(b"SERVER_URL", server.base_url.encode())
        for name in ATTACKS
    }
    bodies["quadratic-blowup"] = quadratic_blowup()
    for name, body in bodies.items():
        server.route(f"/{name}.xml", Reply(body=body, headers={"Content-Type": RSS}))
    server.route("/healthy.xml", conditional(rss("Healthy", 10)))
    config = write_config(tmp_path, server, {name: f"/{name}.xml" for name in [*bodies, "healthy"]})
    db = tmp_path / "mentions.db"

    # A 1 s budget: a parse that expanded anything, or read a file, would be stopped and marked failing.
    async with poller_with_budget(config, db, budget=1.0) as poller:
        records = by_source(await poller.poll_once())

    for name, body in bodies.items():
        record = records[name]
        # Within the 1 s CPU budget, or the pool would have stopped it (no wall-clock bound: CI is loaded).
        assert record.status == SourceStatus.OK, (name, record.error)
        stored = mentions_of(db, name)
        assert len(stored) == 2, name
        assert stored[1][1] == "Healthy neighbour", name
        for _key, title, author, summary in stored:
            # Nothing grew: no text is longer than the body it came from, no entity became "lol"s.
            assert max(len(title), len(author), len(summary)) < len(body), name
            assert "lollol" not in title + author + summary
            assert "BBBBBBBBBB" * 3 not in title + author + summary
    assert len(mentions_of(db, "healthy")) == 10
    assert marker not in whole_database_text(db)
    # The external DTD and entities were never fetched: only the feeds themselves were.
    assert server.requests_to("/evil.dtd") == []
    assert server.requests_to("/secret.txt") == []


# --- CPU traps and the parse budget ------------------------------------------------------------------


def author_trap(size: int) -> bytes:
    """feedparser <= 6.0.14 scans an `<author>` for an e-mail address with a regex that is
    quadratic in its length (issue 562): 16 KB costs about a second, 64 KB about fifteen."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>A</title>'
        f'<item><title>Trap</title><guid isPermaLink="false">trap</guid><author>'
        f"{'a' * size}</author></item>"
        '<item><title>Neighbour</title><guid isPermaLink="false">neighbour</guid><author>Ann</author></item>'
        "</channel></rss>"
    ).encode()


async def test_a_16kb_author_and_a_5mb_feed_of_20000_items_are_parsed_and_stored(
    server: LocalServer, tmp_path: Path
) -> None:
    big = rss("Big", 20_000)
    assert 5 * 10**6 < len(big) < 6 * 10**6
    server.route("/big.xml", Reply(body=big, headers={"Content-Type": RSS}))
    server.route("/author.xml", Reply(body=author_trap(16 * 1024), headers={"Content-Type": RSS}))
    server.route("/healthy.xml", conditional(rss("Healthy", 10)))
    paths = {"Big": "/big.xml", "Author": "/author.xml", "Healthy": "/healthy.xml"}
    config = write_config(tmp_path, server, paths, extra="max_items = 20000")
    db = tmp_path / "mentions.db"

    # The budget counts the worker's CPU time (~5 s for this feed), with a roomy margin for slow machines.
    async with poller_with_budget(config, db, budget=120.0) as poller:
        records = by_source(await poller.poll_once())

    assert {name: (r.status, r.error) for name, r in records.items()} == dict.fromkeys(
        paths, (SourceStatus.OK, "")
    )
    assert records["Big"].new == 20_000
    assert len(mentions_of(db, "Big")) == 20_000
    # The parse ran in its own process: the small feed was stored before the big one was done
    # (an order, not a timing: under load both take longer, but the small one never waits).
    assert finished_at(records["Healthy"]) < finished_at(records["Big"])
    stored = {key: author for key, _title, author, _summary in mentions_of(db, "Author")}
    # Parsed in full, then stored within the store's bound on author names.
    assert stored == {"trap": shorten("a" * 16 * 1024, MAX_AUTHOR), "neighbour": "Ann"}
    assert len(mentions_of(db, "Healthy")) == 10


async def test_a_feed_over_its_parse_budget_is_stopped_and_marked_failing_others_are_stored(
    server: LocalServer, tmp_path: Path
) -> None:
    server.route("/trap.xml", Reply(body=author_trap(64 * 1024), headers={"Content-Type": RSS}))
    healthy = {f"Healthy {n}": f"/healthy{n}.xml" for n in range(3)}
    for number, path in enumerate(healthy.values()):
        server.route(path, conditional(rss(f"Healthy {number}", 10)))
    config = write_config(tmp_path, server, {"Trap": "/trap.xml"} | healthy)
    db = tmp_path / "mentions.db"

    budget = 1.0
    async with poller_with_budget(config, db, budget=budget) as poller:
        records = by_source(await poller.poll_once())

    trap = records["Trap"]
    assert trap.status == SourceStatus.FAILING
    assert trap.error_class == "parse timeout"
    assert "more than 1 s of CPU" in trap.error
    assert trap.consecutive_failures == 1
    assert budget <= trap.duration  # stopped by the CPU budget (the trap alone needs ~15 s of CPU)
    assert mentions_of(db, "Trap") == []
    for name in healthy:
        assert records[name].status == SourceStatus.OK
        assert len(mentions_of(db, name)) == 10


# --- charsets ----------------------------------------------------------------------------------------

# fixture -> (Content-Type the server sends, the text every title and author must read as)
CHARSETS: dict[str, tuple[str, str]] = {
    "iso-8859-1": (RSS, "Café naïve, Ñandú à São Paulo"),
    "windows-1252": (RSS, "“Smart” quotes — €5 ‘ok’…"),
    "windows-1251": ("text/xml; charset=windows-1251", "Привет, сообщество «Текстуал»"),
    "shift_jis": ("application/xml", "日本語のフィード、テストです"),
    "utf-16le-bom": (RSS, "Grüße 日本 Привет"),
    "utf-16be-bom": ("application/xml", "Grüße 日本 Привет"),
    "wrong-http-charset": (RSS + "; charset=utf-8", "Café “quoted” €10"),
    "wrong-xml-declaration": (RSS, "Stale declaration: Zürich “quoted” 東京"),
    "undeclared-windows-1252": (RSS, "Undeclared: café “quoted” €10"),
}


async def test_every_charset_is_stored_as_the_right_text(server: LocalServer, tmp_path: Path) -> None:
    for name, (content_type, _text) in CHARSETS.items():
        body = HOSTILE.joinpath(f"{name}.xml").read_bytes()
        server.route(f"/{name}.xml", Reply(body=body, headers={"Content-Type": content_type}))
    config = write_config(tmp_path, server, {name: f"/{name}.xml" for name in CHARSETS})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        records = by_source(await poller.poll_once())
    for name, (_content_type, text) in CHARSETS.items():
        assert records[name].status == SourceStatus.OK, (name, records[name].error)
        stored = mentions_of(db, name)
        assert [(title, author, summary) for _key, title, author, summary in stored] == [
            (f"{text} #0", text, text),
            (f"{text} #1", text, text),
        ], name


# A server default charset (Apache's AddDefaultCharset, a CDN's text/html) on a feed served with a
# non-XML type: the byte order mark and the feed's own XML declaration know better (RFC 7303 puts
# the BOM first). feedparser follows the HTTP charset, and ISO-8859-1 never fails to decode, so
# today the text comes out as mojibake (or, for UTF-16, not as a feed at all).
MISLABELLED: dict[str, str] = {
    "windows-1251": "Привет, сообщество «Текстуал»",
    "shift_jis": "日本語のフィード、テストです",
    "utf-16le-bom": "Grüße 日本 Привет",
}


async def test_bom_and_xml_declaration_beat_a_server_default_charset_on_text_html(
    server: LocalServer, tmp_path: Path
) -> None:
    for name in MISLABELLED:
        body = HOSTILE.joinpath(f"{name}.xml").read_bytes()
        server.route(
            f"/{name}.xml", Reply(body=body, headers={"Content-Type": "text/html; charset=iso-8859-1"})
        )
    config = write_config(tmp_path, server, {name: f"/{name}.xml" for name in MISLABELLED})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        await poller.poll_once()
    for name, text in MISLABELLED.items():
        assert [title for _key, title, _author, _summary in mentions_of(db, name)] == [
            f"{text} #0",
            f"{text} #1",
        ], name


# --- duplicates ----------------------------------------------------------------------------------------


def feed_of(items: list[tuple[str, str]], *, extra: str = "") -> bytes:
    """A feed of (guid, title) items, in the order given."""
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>'
        f"<link>https://example.org/{guid}</link>"
        f"<pubDate>Sun, 01 Mar 2026 12:00:00 GMT</pubDate>{extra}</item>"
        for guid, title in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>{entries}</channel></rss>'
    ).encode()


async def test_the_same_entry_in_two_feeds_is_stored_once_per_source(
    server: LocalServer, tmp_path: Path
) -> None:
    """By design: a mention is unique per (source, key). The same post syndicated in two feeds is two
    mentions, one per source, so each source's volume and health stay its own; never more than that."""
    shared = feed_of([("shared-guid", "Syndicated post"), ("only-here", "Other")])
    server.route("/a.xml", Reply(body=shared, headers={"Content-Type": RSS}))
    server.route(
        "/b.xml", Reply(body=feed_of([("shared-guid", "Syndicated post")]), headers={"Content-Type": RSS})
    )
    config = write_config(tmp_path, server, {"A": "/a.xml", "B": "/b.xml"})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        for _ in range(3):
            await poller.poll_once(force=True)
    assert scalar(db, "SELECT COUNT(*) FROM mentions WHERE key = 'shared-guid'") == 2
    assert scalar(db, "SELECT COUNT(DISTINCT source_id) FROM mentions WHERE key = 'shared-guid'") == 2
    assert scalar(db, "SELECT COUNT(*) FROM mentions") == 3


async def test_duplicate_guids_inside_one_feed_are_one_mention(server: LocalServer, tmp_path: Path) -> None:
    items = [("dup", "First copy"), ("other", "Other"), ("dup", "Second copy"), ("dup", "Third copy")]
    server.route("/dups.xml", Reply(body=feed_of(items), headers={"Content-Type": RSS}))
    config = write_config(tmp_path, server, {"Dups": "/dups.xml"})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        [record] = await poller.poll_once()
    assert record.new == 2
    assert [(key, title) for key, title, _a, _s in mentions_of(db, "Dups")] == [
        ("dup", "First copy"),
        ("other", "Other"),
    ]


async def test_entries_reordered_between_polls_add_no_rows(server: LocalServer, tmp_path: Path) -> None:
    items = [(f"guid-{n}", f"Post {n}") for n in range(30)]
    server.route("/feed.xml", Reply(body=feed_of(items), headers={"Content-Type": RSS}))
    config = write_config(tmp_path, server, {"Shuffled": "/feed.xml"})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        [first] = await poller.poll_once()
        assert first.new == 30
        for turn in range(3):
            reordered = items[turn * 7 :] + items[: turn * 7]
            reordered.reverse()
            server.route("/feed.xml", Reply(body=feed_of(reordered), headers={"Content-Type": RSS}))
            [record] = await poller.poll_once(force=True)
            assert record.status == SourceStatus.OK  # a new body: parsed again, not skipped as unchanged
            assert (record.new, record.updated) == (0, 0)
    assert scalar(db, "SELECT COUNT(*) FROM mentions") == 30


async def test_an_entry_whose_content_changes_every_poll_is_updated_in_place_a_bounded_number_of_times(
    server: LocalServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, server, {"Restless": "/feed.xml"})
    db = tmp_path / "mentions.db"
    polls = MAX_CONTENT_CHANGES + 5
    updated: list[int] = []
    async with running_poller(config, db) as poller:
        for version in range(polls):
            body = feed_of([("restless", f"Version {version}"), ("calm", "Never changes")])
            server.route("/feed.xml", Reply(body=body, headers={"Content-Type": RSS}))
            [record] = await poller.poll_once(force=True)
            assert record.new == (2 if version == 0 else 0)
            updated.append(record.updated)
    assert updated == [0] + [1] * MAX_CONTENT_CHANGES + [0] * (polls - 1 - MAX_CONTENT_CHANGES)
    assert scalar(db, "SELECT COUNT(*) FROM mentions") == 2
    assert scalar(db, "SELECT content_changes FROM mentions WHERE key = 'restless'") == MAX_CONTENT_CHANGES
    assert mentions_of(db, "Restless")[1][1] == f"Version {MAX_CONTENT_CHANGES}"
    assert scalar(db, "SELECT COUNT(*) FROM polls") == polls


async def test_a_feed_that_moves_does_not_store_its_relative_guid_entries_again(
    server: LocalServer, tmp_path: Path
) -> None:
    """`<guid>post-1</guid>` is a permalink by default, and feedparser resolves it against the
    feed's address. When the feed moves (http -> https, a new path behind a 301), the keys change."""
    entries = "".join(
        f"<item><guid>post-{n}</guid><title>Post {n}</title>"
        f"<pubDate>Sun, 01 Mar 2026 12:0{n}:00 GMT</pubDate></item>"
        for n in range(5)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>M</title>{entries}</channel></rss>'
    server.route("/blog/feed.xml", Reply(body=body.encode(), headers={"Content-Type": RSS}))
    config = write_config(tmp_path, server, {"Moving": "/blog/feed.xml"})
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        [first] = await poller.poll_once()
        assert first.new == 5
        # The site moves its feed to a new path and says so permanently.
        server.route("/v2/feed.xml", Reply(body=body.encode() + b"\n", headers={"Content-Type": RSS}))
        server.route("/blog/feed.xml", Reply(301, b"", {"Location": "/v2/feed.xml"}))
        for _ in range(3):
            [record] = await poller.poll_once(force=True)
            assert record.status.is_success
    assert len(mentions_of(db, "Moving")) == 5
