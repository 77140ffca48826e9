"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), read into the shape feedparser gives an
XML feed, so `dashboard.sources.feed` turns both into mentions by the same rules.

Only what a Mention needs is read: the feed's title, author and language, and each item's id, url,
title, content_html / content_text, summary, date_published / date_modified, authors (1.1) or
author (1.0), language (1.1) and tags. Every value is checked for its JSON type: a wrong type is treated as absent, and
an item that is not an object is skipped, so one bad item never fails the feed.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dashboard.contracts.errors import ParseError
from dashboard.sources.feed_extract import Parsed

JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})
_VERSION_PREFIXES = ("https://jsonfeed.org/version/1", "http://jsonfeed.org/version/1")


def looks_like_json(body: bytes, content_type: str) -> bool:
    """A body whose first character is "{" (JSON Feeds are often served as text/plain or
    application/octet-stream), or a JSON media type on a body that does not start with "<" (an RSS
    feed mislabelled application/json is still XML)."""
    first = body.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
    if first in (b"{", b"<"):
        return first == b"{"
    return content_type.split(";", 1)[0].strip().lower() in JSON_FEED_TYPES


def parse(body: bytes, content_type: str = "") -> Parsed:
    """JSON Feed bytes -> feedparser-shaped feed and entries; ParseError (naming the content type)
    when not a JSON Feed."""
    try:
        return _parse(body)
    except ParseError as error:
        raise ParseError(f"{error} ({content_type or 'no content type'})") from error


def _parse(body: bytes) -> Parsed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ParseError(f"malformed JSON feed: {error}") from error
    if not isinstance(document, dict):
        raise ParseError("JSON, but not a JSON Feed (not an object)")
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        raise ParseError(f"JSON, but not a JSON Feed (version {_describe(version)})")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an items list")
    feed: dict[str, Any] = {"title": _string(document, "title"), "title_detail": {"type": "text/plain"}}
    feed.update(_author(document))
    if language := _string(document, "language"):  # 1.1: the feed's primary language (RFC 5646)
        feed["language"] = language
    entries = [_entry(item) for item in items if isinstance(item, dict)]
    return Parsed(feed, entries, "json1" + version.rsplit("/", 1)[-1].removeprefix("1"))


def _describe(version: object) -> str:
    return repr(version)[:80] if version is not None else "missing"


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    identifier = item.get("id")
    if isinstance(identifier, str | int) and not isinstance(identifier, bool):
        entry["id"] = str(identifier)  # 1.0 feeds in the wild use numbers, which the spec forbids
    link = _string(item, "url") or _string(item, "external_url")
    if link:
        entry["link"] = link
    if title := _string(item, "title"):
        entry["title"] = title
        entry["title_detail"] = {"type": "text/plain"}
    content = [
        {"type": content_type, "value": value}
        for name, content_type in (("content_html", "text/html"), ("content_text", "text/plain"))
        if (value := _string(item, name))
    ]
    if content:
        entry["content"] = content
    if summary := _string(item, "summary"):
        entry["summary"] = summary
        entry["summary_detail"] = {"type": "text/plain"}
    for name, key in (("date_published", "published"), ("date_modified", "updated")):
        raw = _string(item, name)
        parsed = _date(raw)
        if parsed is not None:
            entry[key] = raw
            entry[f"{key}_parsed"] = parsed
    entry.update(_author(item))
    if language := _string(item, "language"):  # 1.1: an item in another language than the feed's
        entry["language"] = language
    tags = item.get("tags")
    if isinstance(tags, list):
        entry["tags"] = [{"term": tag, "scheme": None, "label": None} for tag in tags if isinstance(tag, str)]
    return entry


def _author(node: Mapping[str, Any]) -> dict[str, Any]:
    """feedparser's author fields from 1.1's `authors` list, else 1.0's `author` object."""
    authors = node.get("authors")
    candidates = authors if isinstance(authors, list) else [node.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _string(author, "name")):
            return {"author": name, "author_detail": {"name": name}}
    return {}


def _string(node: Mapping[str, Any], name: str) -> str:
    value = node.get(name)
    return value if isinstance(value, str) else ""


def _date(raw: str) -> time.struct_time | None:
    """An RFC 3339 date as UTC struct_time (feedparser's *_parsed), or None when it is not one."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # RFC 3339 requires an offset; UTC is the least surprise
    try:
        return moment.astimezone(UTC).timetuple()
    except (OverflowError, ValueError):
        return None
