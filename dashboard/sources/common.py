"""What every API source shares: JSON bodies and fields, timestamps, rate-limit headers, auth, the
time-plus-keys cursor (`SeenUpTo`), and the accounting of one poll's responses (`Exchange`).

Each source module keeps only what is specific to its API: endpoints, field names, paging, id order.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.headers import ascii_integer, epoch_seconds
from dashboard.contracts.http import Response
from dashboard.contracts.source import Source
from dashboard.models import Mention, PollOutcome, bounded_count, valid_text
from dashboard.text import plain_text

# The longest wait a spent rate limit's reset is believed for (the fetcher caps Retry-After the same).
MAX_RATE_LIMIT_WAIT = timedelta(days=7)


_log = logging.getLogger(__name__)

# An integer longer than this in a JSON body is no count or id of any API. json.loads refuses one past
# int()'s 4300-digit limit, failing the whole body; on a retry such integers read as infinity, which
# as_count turns into "unknown".
_JSON_INT_DIGITS = 40
# A JSON string escape of a UTF-16 surrogate: json.loads keeps an unpaired one as is, and such a str
# cannot be encoded as UTF-8 (not stored, not quoted into a URL). Only bodies with one are checked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def json_body(response: Response) -> Any:
    """The decoded JSON of a response, or ParseError naming what came instead.

    Hostile but well-formed values are made harmless here, once for every source: integers too long
    for int() read as infinity (unknown to as_count), lone surrogates in strings become U+FFFD, bytes
    that are not UTF-8 become U+FFFD, and nesting too deep to decode is a ParseError.
    """
    body = response.body
    if not body.strip():
        raise ParseError("empty body where JSON was expected", http_status=response.status)
    try:
        data = _loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        kind = response.header("content-type", "unknown content type")
        what = "nested too deep" if isinstance(error, RecursionError) else str(error)
        raise ParseError(f"not JSON ({kind}): {what}", http_status=response.status) from error
    if _SURROGATE_ESCAPE.search(body) and not _encodes(data):
        data = _valid_strings(data)
    return data


def _loads(body: bytes) -> Any:
    """json.loads, with the slower lenient readings only for a body the plain one refuses."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        text = body.decode(json.detect_encoding(body), "replace")
    except ValueError:
        text = body.decode(json.detect_encoding(body), "replace")
        return json.loads(text, parse_int=_json_int)  # an integer past int()'s digit limit
    return json.loads(text, parse_int=_json_int)


def _encodes(data: Any) -> bool:
    """Whether every string in `data` encodes as UTF-8 (json.dumps in C: much faster than a walk)."""
    try:
        json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_int(text: str) -> int | float:
    if len(text.lstrip("-")) > _JSON_INT_DIGITS:
        return float("-inf") if text.startswith("-") else float("inf")
    return int(text)


def _valid_strings(value: Any) -> Any:
    """`value` with every string in it (object keys too) through valid_text; iterative: no recursion limit."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, index = stack.pop()
        item = container[index]
        if isinstance(item, str):
            container[index] = valid_text(item)
        elif isinstance(item, list):
            stack.extend((item, position) for position in range(len(item)))
        elif isinstance(item, dict):
            fixed = {valid_text(key): entry for key, entry in item.items()}
            container[index] = fixed
            stack.extend((fixed, key) for key in fixed)
    return root[0]


def from_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: Any) -> datetime | None:
    """ISO 8601 (with Z or an offset) -> aware UTC; naive times are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_count(value: Any) -> int | None:
    """An engagement count (or numeric id) from JSON, or None when the API did not give a usable one.

    Bounded as the store keeps counts (models.bounded_count): within +-MAX_COUNT (10^12; a score may be
    negative), floats truncated, numeric strings read; booleans, NaN, infinities (the too-long integers
    json_body reads as such) and anything else are None, never an exception.
    """
    if isinstance(value, bool):
        return None
    return bounded_count(value)


# What a converter may raise on a value of the wrong shape or size: data faults, not programming ones.
_ITEM_FAULTS = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, UnicodeError)


def mentions_from(
    items: Iterable[Any], convert: Callable[[Mapping[str, Any]], Mention | None], what: str = "item"
) -> tuple[Mention, ...]:
    """Each JSON object in `items` through `convert`, in order; the rest (not objects, nothing to key)
    left out.

    One bad item never fails its source: an item whose conversion raises a data fault is skipped and
    logged. When every object failed so, the answer is not what this source understands: ParseError,
    so the source is shown failing instead of quietly finding nothing.
    """
    found: list[Mention] = []
    objects = failed = 0
    first_fault = ""
    for item in items:
        if not isinstance(item, Mapping):
            continue
        objects += 1
        try:
            mention = convert(item)
        except _ITEM_FAULTS as error:
            failed += 1
            first_fault = first_fault or f"{type(error).__name__}: {error}"[:200]
            _log.warning("skipped a %s that could not be read: %s", what, first_fault)
            continue
        if mention is not None:
            found.append(mention)
    if objects and failed == objects:
        raise ParseError(f"no {what} of the answer could be read ({first_fault})")
    return tuple(found)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A JSON value that should be an object, or an empty one: nested objects may be missing or null."""
    return value if isinstance(value, Mapping) else {}


def text_from_plain(value: Any) -> str:
    """A plain-text JSON field (a title, a name, a post's text; not HTML) -> the text to store, as typed.

    plain_text alone would decode a literal `&amp;` and drop tag-shaped text such as `Vec<T>`; escaping
    first keeps both, and plain_text still tidies the whitespace. Anything but a string -> "". Lone
    surrogates (from JSON) become U+FFFD.
    """
    return valid_text(plain_text(html.escape(value, quote=False))) if isinstance(value, str) else ""


def text_from_html(value: Any) -> str:
    """An HTML JSON field (or entity-encoded text, or Markdown that may carry tags) -> plain text:
    tags dropped, entities decoded. Anything but a string -> "". Lone surrogates (from JSON) become U+FFFD."""
    return valid_text(plain_text(value)) if isinstance(value, str) else ""


def http_url(value: Any) -> str:
    """Only http(s) links are kept: anything else from the network is not a link to open."""
    return valid_text(value) if isinstance(value, str) and value.startswith(("https://", "http://")) else ""


def rate_limit_floor(response: Response, now: datetime) -> datetime | None:
    """When a rate-limit window is spent (remaining 0), the earliest polite next poll (from its reset).

    Reads the unprefixed `RateLimit-*` headers of the IETF draft, as atproto services send them (reset
    as epoch seconds), and the older `X-RateLimit-*` (GitHub: epoch seconds; Mastodon: an ISO time).
    Numbers count only in ASCII digits (`"¹²".isdigit()` is true); a reset that cannot be read, or is
    already past, means a minute, and none is believed beyond MAX_RATE_LIMIT_WAIT.
    """
    if _spent(response.header("ratelimit-remaining")):
        moment = epoch_seconds(response.header("ratelimit-reset"))
    elif _spent(response.header("x-ratelimit-remaining")):
        reset = response.header("x-ratelimit-reset")
        moment = epoch_seconds(reset) if ascii_integer(reset) is not None else from_iso(reset.strip())
    else:
        return None
    if moment is None or moment <= now:
        return now + timedelta(minutes=1)
    return min(moment, now + MAX_RATE_LIMIT_WAIT)


def _spent(remaining: str) -> bool:
    return remaining.strip(" \t") in ("0", "0.0")


def required_query(source: Source) -> str:
    """The source's `query` option, stripped. feeds.toml checks catch a missing one first, but a poll must
    still refuse to search for nothing."""
    query = str(source.config.option("query") or "").strip()
    if not query:
        raise FetchError(f"{source.type_name} needs a query")
    return query


def needs_credentials(error: FetchError, env_var: str) -> FetchError:
    """Re-label a 401/403 so the dashboard can say which environment variable to set."""
    if isinstance(error, NeedsCredentials) or error.http_status in (401, 403):
        hint = f"set {env_var}" if env_var else "this source needs credentials"
        return NeedsCredentials(f"{error.message} ({hint})", env_var=env_var, http_status=error.http_status)
    return error


@dataclass(frozen=True, slots=True)
class SeenUpTo:
    """How far earlier polls read: the newest publication time seen (epoch seconds) and the keys seen at
    exactly that time.

    A later poll reads from that time on, inclusively (an API filter, or a newest-first listing read
    until `is_past`), so items sharing its second are never lost; the keys tell the ones already stored
    from those that arrived since, so none is counted twice. Saved in the cursor as
    `{"since": time, "at_since": [keys]}`.
    """

    at: float | None = None
    keys: frozenset[str] = frozenset()

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any]) -> SeenUpTo:
        at = cursor.get("since")
        keys = cursor.get("at_since")
        return cls(
            at=float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None,
            keys=frozenset(str(key) for key in keys) if isinstance(keys, list) else frozenset(),
        )

    def is_new(self, mention: Mention) -> bool:
        """Not read before; an undated mention cannot be placed, so it counts as new (the store has its key)."""
        if self.at is None or mention.published is None:
            return True
        moment = mention.published.timestamp()
        return moment > self.at or (moment == self.at and mention.key not in self.keys)

    def is_past(self, mention: Mention) -> bool:
        """Strictly older than the cursor: everything after it in a newest-first listing is known."""
        if self.at is None or mention.published is None:
            return False
        return mention.published.timestamp() < self.at

    def advance(self, mentions: Iterable[Mention]) -> SeenUpTo:
        at, keys = self.at, set(self.keys)
        for mention in mentions:
            if mention.published is None:
                continue
            moment = mention.published.timestamp()
            if at is None or moment > at:
                at, keys = moment, {mention.key}
            elif moment == at:
                keys.add(mention.key)
        return SeenUpTo(at=at, keys=frozenset(keys))

    def to_cursor(self) -> dict[str, Any]:
        if self.at is None:
            return {}
        return {"since": int(self.at) if self.at.is_integer() else self.at, "at_since": sorted(self.keys)}


def newest_first(
    keys: Iterable[str],
    limit: int,
    *,
    skip: Iterable[str] = (),
    is_id: Callable[[str], bool] = str.isdigit,
    order: Callable[[str], Any] = int,
) -> list[str]:
    """The `limit` newest distinct keys, leaving out `skip`: which young mentions to re-read, as
    engagement moves most on the youngest and an API takes only so many ids a poll.

    `is_id` drops keys that are not this API's ids; `order` must grow with time. The defaults are for
    numeric ids.
    """
    done = set(skip)
    return sorted({key for key in keys if key not in done and is_id(key)}, key=order, reverse=True)[:limit]


def unique_by_key(mentions: Iterable[Mention]) -> tuple[Mention, ...]:
    """One mention per key, the first copy winning: list new results before refreshed ones, so a
    mention both found and refreshed in one poll is stored as found (pages can repeat items too)."""
    first: dict[str, Mention] = {}
    for mention in mentions:
        first.setdefault(mention.key, mention)
    return tuple(first.values())


@dataclass(slots=True)
class Exchange:
    """What one poll's responses add up to: bytes, first status, the politest next poll, notes.

    A poll makes one and passes every response through `read` (or `count`) and every best-effort
    failure through `setback`; `outcome` turns the lot into the poll's PollOutcome.
    """

    now: datetime
    bytes_read: int = 0
    http_status: int | None = None
    not_before: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, response: Response) -> None:
        """Add up the bytes; the first response's status stands for the poll."""
        self.bytes_read += len(response.body)
        if self.http_status is None:
            self.http_status = response.status

    def read(self, response: Response) -> Any:
        """Count a response, respect its rate-limit headers, and return its JSON."""
        self.count(response)
        self.hold_until(rate_limit_floor(response, self.now))
        return json_body(response)

    def hold_until(self, moment: datetime | None) -> None:
        """Keep the latest floor on the next poll: every limit met in this poll must be respected."""
        if moment is not None and (self.not_before is None or moment > self.not_before):
            self.not_before = moment

    def setback(self, what: str, error: FetchError, verb: str = "failed") -> None:
        """A non-essential request failed: say so, and respect a rate limit it reported."""
        self.notes.append(f"{what} {verb}: {error.message}")
        if isinstance(error, RateLimited):
            self.hold_until(error.until)

    def note_max_items(self, new_items: int, limit: int, *, incremental: bool) -> None:
        """An incremental poll that reached max_items may have left older new items behind: say so."""
        if incremental and new_items >= limit:
            self.notes.append(f"max_items ({limit}) new items read: older new ones may have been skipped")

    def summary(self) -> str:
        """The poll's notes in one line (Stack Exchange's exchange puts its quota first)."""
        return "; ".join(self.notes)

    def outcome(self, mentions: Iterable[Mention], cursor: Mapping[str, Any]) -> PollOutcome:
        """The poll's result: these mentions and cursor, with everything the responses added up to."""
        return PollOutcome(
            mentions=tuple(mentions),
            cursor=cursor,
            http_status=self.http_status,
            bytes_read=self.bytes_read,
            notes=self.summary(),
            not_before=self.not_before,
        )


__all__ = [
    "Exchange",
    "RateLimited",
    "SeenUpTo",
    "as_count",
    "as_mapping",
    "from_epoch",
    "from_iso",
    "http_url",
    "json_body",
    "mentions_from",
    "needs_credentials",
    "newest_first",
    "rate_limit_floor",
    "required_query",
    "text_from_html",
    "text_from_plain",
    "unique_by_key",
]
