"""Records shared by every layer: what a source is, what a mention is, what a poll did.

Everything here is plain data. Timestamps are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

# The largest engagement count the store keeps (either sign): 10^12, above any real like, reply, share
# or view count, and small enough that SQLite's SUM over a million of them stays inside 64 bits (a
# count above 2^63 cannot even be bound). A larger value from the network is clamped to it.
MAX_COUNT = 10**12


def bounded_count(value: object) -> int | None:
    """A count from the network as the store can keep it: an int within +-MAX_COUNT, or None.

    None stays None (unknown is not 0); a bool, float or numeric string is read as the integer it
    holds; NaN, infinities and anything unreadable are unknown (None).
    """
    if value is None:
        return None
    if isinstance(value, int):
        number = int(value)
    else:
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):
            return None
    return max(-MAX_COUNT, min(MAX_COUNT, number))


Count = TypeVar("Count", int, float)


def engagement(likes: Count | None, replies: Count | None, shares: Count | None) -> Count | None:
    """What people did to a mention: likes + replies + shares over the counts the source reports,
    None (unknown, never 0) only when it reports none of the three; views are exposure, not engagement.

    The one scalar definition (a record, a detail, a snapshot); `store.reader.engagement_of` is the
    vectorised one and `store.reader.ENGAGEMENT_SQL` the SQL one, and they agree with it.
    """
    known = [count for count in (likes, replies, shares) if count is not None]
    return sum(known[1:], known[0]) if known else None


def valid_text(text: str) -> str:
    """`text` with every lone surrogate (JSON's "\\ud800", which cannot be encoded as UTF-8 and so
    cannot be stored) replaced by one U+FFFD, and a split surrogate pair joined into its character;
    valid text is returned as is (the common case costs one encode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    except AttributeError:  # not a str after all: None is "", anything else its str()
        return "" if text is None else valid_text(str(text))
    return text


class MentionKind(StrEnum):
    POST = "post"
    COMMENT = "comment"
    PINGBACK = "pingback"
    MENTION = "mention"


class SourceStatus(StrEnum):
    """What the dashboard shows for a source after its latest attempt."""

    NEW = "new"  # never polled yet
    OK = "ok"
    NOT_MODIFIED = "not modified"
    FAILING = "failing"
    RATE_LIMITED = "rate-limited"
    NEEDS_CREDENTIALS = "needs credentials"
    GONE = "gone"

    @property
    def is_success(self) -> bool:
        return self in (SourceStatus.OK, SourceStatus.NOT_MODIFIED)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One `[[feeds]]` entry of feeds.toml, validated.

    `type` is "feed" for a plain RSS/Atom/RDF `url`, else the registered source name.
    `options` holds the source-specific keys (query, tag, subreddit, token_env, ...).
    """

    name: str
    type: str
    interval: float  # seconds
    url: str | None = None
    base_url: str | None = None
    tags: tuple[str, ...] = ()
    max_items: int = 100
    refresh_for: float = 7 * 86400.0  # seconds a mention keeps being re-read for engagement
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0  # line of the entry in feeds.toml, for messages
    own: bool = False  # `own = true`: its entries are the community's own posts (the Posts panel)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def target(self) -> str:
        """What this source watches, for listings: the feed URL or the search."""
        if self.url:
            return self.url
        what = self.options.get("query") or self.options.get("tag") or ""
        return f"{self.type}: {what}" if what else self.type


_TEXT_FIELDS = ("key", "url", "title", "author", "summary", "language")
_COUNT_FIELDS = ("likes", "replies", "shares", "views")


@dataclass(frozen=True, slots=True)
class Link:
    """An outbound link a mention carries, as the source gave it (the store canonicalises it).

    `via` says where it was found, for the reactions export's `matched_by`: "url" (the API's own url
    field: an HN story, a Reddit or Lemmy link post), "embed" (a Bluesky external embed), "facet" (a
    Bluesky link facet), "card" (a Mastodon preview card), "content" (an anchor or a bare URL in the
    text), "domain" (found by a source's search for links to a domain).
    """

    url: str
    via: str = "content"


@dataclass(frozen=True, slots=True)
class Mention:
    """One thing someone said about the community, as a source reported it.

    Engagement counts are None when the source does not report them (never 0 for unknown).
    `published` is None when the source gave no date; the store then uses the time first seen.
    """

    key: str
    kind: MentionKind
    url: str
    title: str
    author: str
    published: datetime | None
    summary: str = ""
    likes: int | None = None
    replies: int | None = None
    shares: int | None = None
    views: int | None = None
    # The language the source declares for this mention (Mastodon `language`, Bluesky `langs[0]`,
    # RSS/Atom `language` / `xml:lang`), as given ("fr-CA"); "" when it says nothing.
    language: str = ""
    links: tuple[Link, ...] = ()  # outbound links, in the order found, duplicates allowed

    def __post_init__(self) -> None:
        # The model boundary: whatever a source built, a Mention holds only what the store can keep
        # (a count above 2^63 or a lone surrogate once stopped all polling at the store write).
        # The common case costs one isascii() per text and one comparison per count (timeit: building
        # a Mention costs 1.6x the same dataclass without the checks).
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if type(value) is not str or not value.isascii():
                cleaned = valid_text(value)
                if cleaned is not value:
                    object.__setattr__(self, name, cleaned)
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if value is not None and (type(value) is not int or not -MAX_COUNT <= value <= MAX_COUNT):
                object.__setattr__(self, name, bounded_count(value))


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one successful poll of one source produced (failures are exceptions, see fetch.errors)."""

    mentions: tuple[Mention, ...] = ()
    cursor: Mapping[str, Any] = field(default_factory=dict)  # saved and handed back next poll
    not_modified: bool = False
    http_status: int | None = None
    bytes_read: int = 0
    notes: str = ""  # e.g. "quota 287/300"
    # A polite floor on the next poll (Stack Exchange `backoff`, X-RateLimit-Reset near zero...).
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One attempt at one source, as stored and shown."""

    source: str
    started_at: datetime
    duration: float
    status: SourceStatus
    http_status: int | None = None
    bytes_read: int = 0
    new: int = 0
    updated: int = 0
    error_class: str = ""
    error: str = ""
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class SourceState:
    """Per-source scheduling and health state kept in the store between polls."""

    name: str
    type: str = "feed"
    target: str = ""
    config_hash: str = ""
    status: SourceStatus = SourceStatus.NEW
    cursor: Mapping[str, Any] = field(default_factory=dict)
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    http_status: int | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    error_class: str = ""
    last_error: str = ""
    notes: str = ""
    url_override: str | None = None  # a permanent redirect seen consistently


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """The scheduling facts of one attempt, decided by fetch.schedule."""

    status: SourceStatus
    next_poll_at: datetime | None
    consecutive_failures: int
    permanent_redirect: str | None = None  # where the source's URL pointed permanently this time
