"""Generated feeds and feeds.toml files for end-to-end tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from xml.sax.saxutils import escape

from tests.localserver import Handler, LocalServer, Reply, Seen

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rss(title: str, items: int, *, start: datetime = T0, comments: int | None = None) -> bytes:
    entries = []
    for number in range(items):
        published = format_datetime(start - timedelta(hours=number))
        slash = f"<slash:comments>{comments}</slash:comments>" if comments is not None else ""
        entries.append(
            f"<item><title>{escape(title)} post {number}</title>"
            f"<link>https://example.org/{escape(title)}/{number}</link>"
            f"<guid>{escape(title)}-{number}</guid><pubDate>{published}</pubDate>"
            f"<author>author{number % 7}@example.org (Author {number % 7})</author>"
            f"<description>About &lt;b&gt;textual&lt;/b&gt; number {number}</description>{slash}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>d</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def conditional(body: bytes) -> Handler:
    """A handler that serves `body` with an ETag and answers 304 to a matching If-None-Match."""
    etag = '"' + hashlib.sha1(body).hexdigest() + '"'

    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        if seen.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": etag})

    return handle


def serve_feeds(server: LocalServer, count: int, items: int) -> list[str]:
    paths = []
    for number in range(count):
        path = f"/feed{number}.xml"
        server.route(path, conditional(rss(f"Feed {number}", items)))
        paths.append(path)
    return paths


def write_config(
    directory: Path, server: LocalServer, paths: list[str], *, extra: str = "", database: str | None = None
) -> Path:
    """feeds.toml for the served `paths`; the store is directory/mentions.db unless `database` names
    another (a PostgreSQL URL)."""
    lines = [
        "[settings]",
        'interval = "15m"',
        'timeout = "5s"',
        f'database = "{database or directory / "mentions.db"}"',
        'keywords = ["textual"]',
        "",
    ]
    for number, path in enumerate(paths):
        lines += ["[[feeds]]", f'name = "Feed {number}"', f'url = "{server.url(path)}"', ""]
    config = directory / "feeds.toml"
    config.write_text("\n".join(lines) + extra, encoding="utf-8")
    return config
