"""End to end (issue 12): feeds.toml with `own = true`, the real poller against a local server, the
store's links: a friend's blog links to our post in a URL variant before our feed is even read."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dashboard.config import parse_config
from dashboard.polling.service import running_poller
from dashboard.sources import source_types
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RSS = {"Content-Type": "application/rss+xml"}


def rss(site: str, items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title><link>{site}</link>'
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


def item(link: str, description: str = "", guid: str = "") -> str:
    return (
        f"<item><title>t</title><link>{link}</link><guid>{guid or link}</guid>"
        f"<pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate>"
        f"<description><![CDATA[{description}]]></description></item>"
    )


async def test_a_reaction_polled_before_its_post_links_up_when_the_post_arrives(
    server: LocalServer, tmp_path: Path
) -> None:
    post = "https://blog.example.org/2026/11/echo/"
    server.route("/blog.xml", Reply(200, rss("https://blog.example.org", ""), RSS))
    share = (
        '<p>Read <a href="http://www.blog.example.org/2026/11/echo?utm_source=friend#comments">this</a></p>'
    )
    server.route(
        "/friend.xml", Reply(200, rss("https://friend.example", item("https://friend.example/a", share)), RSS)
    )
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feeds]]\nname = "Blog"\nurl = "{server.base_url}/blog.xml"\nown = true\n'
        f'[[feeds]]\nname = "Friend"\nurl = "{server.base_url}/friend.xml"\n'
    )
    config = parse_config(feeds.read_text(), feeds, registry=source_types())
    db = tmp_path / "echo.db"
    async with running_poller(config, db, clock=lambda: NOW) as poller:
        records = await poller.poll_once(force=True)
        assert all(r.status.is_success for r in records), [(r.status, r.error) for r in records]
        server.route("/blog.xml", Reply(200, rss("https://blog.example.org", item(post)), RSS))
        records = await poller.poll_once(force=True)
        assert all(r.status.is_success for r in records), [(r.status, r.error) for r in records]
    connection = sqlite3.connect(db)
    try:
        assert dict(connection.execute("SELECT name, own FROM sources")) == {"Blog": 1, "Friend": 0}
        reactions = connection.execute(
            """SELECT p.canonical_url, r.url, l.via FROM mentions p
               JOIN sources s ON s.id = p.source_id AND s.own = 1
               JOIN mention_links l ON l.url = p.canonical_url JOIN mentions r ON r.id = l.mention_id
               WHERE p.kind = 'post' AND r.source_id != p.source_id"""
        ).fetchall()
    finally:
        connection.close()
    assert reactions == [("https://blog.example.org/2026/11/echo", "https://friend.example/a", "content")]
