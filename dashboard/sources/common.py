"""What every API source shares: JSON bodies and fields, timestamps, rate-limit headers, auth, the
time-plus-keys cursor (`SeenUpTo`), and the accounting of one poll's responses (`Exchange`).

Each source module keeps only what is specific to its API: endpoints, field names, paging, id order.
"""

from __future__ import annotations

import html
import html.entities
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.headers import ascii_integer, epoch_seconds
from dashboard.contracts.http import Response
from dashboard.contracts.source import Source
from dashboard.models import Link, Mention, PollOutcome, bounded_count, valid_text
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


# --- outbound links ---------------------------------------------------------------------------------

# At most this many links are kept per mention: a hostile post with 100,000 anchors costs no more.
MAX_LINKS = 50
# A longer URL is no link a person shared (browsers and CDNs stop near 2,000-8,000 characters).
MAX_URL_CHARS = 2048
# An anchor (or an area) that HTML could carry a link in; only markup with one is parsed for links.
_ANCHOR = re.compile(r"<a[\s>]", re.IGNORECASE)
# Anchors that are not outbound links: Mastodon's @mentions (class "mention", "u-url mention") and
# hashtags (class "mention hashtag", rel="tag"), Discourse's @mentions and #hashtags.
_NOT_LINK_CLASSES = frozenset({"mention", "hashtag", "u-url", "h-card"})
# A bare URL in text or Markdown: scheme, then everything up to whitespace, quotes, angle brackets
# and Markdown's brackets. "…" ends it too: a text cut short there cut the URL with it (see below).
_BARE_URL = re.compile(r"(?<![A-Za-z0-9+.\-])https?://[^\s<>\"'`\[\]{}|\\^…]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than a URL ("see https://x.org/a.").
_TRAILING = ".,;:!?*_~'\""
_CUT_MARKS = ("…", "...")
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?\Z", re.IGNORECASE
)
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def web_link(value: Any, base: str = "") -> str:
    """An absolute http(s) URL from the network (resolved against `base` when relative), or "".

    What is kept is a URL a person could open: a host, no whitespace or control characters, at most
    MAX_URL_CHARS. Anything else (javascript:, mailto:, a fragment-only href, garbage) is "".
    """
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url or len(url) > MAX_URL_CHARS:
        return ""
    if not url[:8].lower().startswith(("https://", "http://")):
        if not base or url.startswith("#") or ":" in url.split("/", 1)[0]:
            return ""  # nothing to resolve against, a same-page fragment, or another scheme
        try:
            url = urljoin(base, url)
        except ValueError:
            return ""
        if not url[:8].lower().startswith(("https://", "http://")):
            return ""
    if _PLAIN_ABSOLUTE.match(url):
        return url  # printable ASCII with a plain host: what urlsplit would find a host in, quickly
    if _NOT_IN_URL.search(url):
        return ""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return ""
    return valid_text(url) if host else ""


def links_in_html(markup: Any, base: str = "", via: str = "content") -> list[Link]:
    """The outbound links of an HTML field: each anchor's href, resolved against `base` (the page or
    entry the HTML belongs to), in document order. Mention and hashtag anchors are left out (they
    point at profiles and tag pages of the network itself, not at what was shared).

    selectolax's Lexbor (an HTML5 tokenizer) decides what the anchors are. Building its document costs
    ~10x reading the anchors of plain markup with a regular expression, which is what a poll of a
    thousand feeds mostly sees: markup where the two cannot disagree (no comments, scripts, raw-text
    elements or foreign content, every anchor's start tag well-formed) is read that way, anything
    else by Lexbor (tests/test_sources_links_html.py checks the two agree).
    """
    if not isinstance(markup, str) or not _ANCHOR.search(markup):
        return []  # the common case for short posts: nothing to read
    anchors = _plain_anchors(markup)
    if anchors is None:
        anchors = _parsed_anchors(markup)
    found: list[Link] = []
    for attributes in anchors:
        classes = set((attributes.get("class") or "").split())
        if classes & _NOT_LINK_CLASSES or "tag" in (attributes.get("rel") or "").split():
            continue
        url = web_link(attributes.get("href"), base)
        if url:
            found.append(Link(url, via))
            if len(found) >= MAX_LINKS:
                break
    return found


def _parsed_anchors(markup: str) -> list[Mapping[str, str | None]]:
    """The attributes of every `<a href>` as Lexbor (HTML5) reads the markup."""
    from selectolax.lexbor import LexborHTMLParser

    return [anchor.attributes for anchor in LexborHTMLParser(markup).css("a[href]")]


# Markup where a regular expression could read a tag HTML5 would not (or miss one): comments, CDATA
# and processing instructions ("<!", "<?"), elements whose content is raw text, foreign content
# (SVG's own <a>), NUL, a "<" inside a quoted value. The element names are looked for in the
# lower-cased markup without IGNORECASE: several times faster.
_RAW_TEXT_ELEMENT = re.compile(
    r"</?(?:s(?:cript|tyle|vg|elect)|t(?:extarea|itle|emplate)|xmp|iframe|no(?:embed|frames|script)"
    r"|plaintext|math)\b"
)
_LT_IN_QUOTES = re.compile(r"=[\t\n\f\r ]*(?:\"[^\"]*<|'[^']*<)")


def _not_plain(markup: str) -> bool:
    return (
        "<!" in markup
        or "<?" in markup
        or "\x00" in markup
        or _RAW_TEXT_ELEMENT.search(markup.lower()) is not None
        or _LT_IN_QUOTES.search(markup) is not None
    )


_SPACE = "[\\t\\n\\f\\r ]"
# An attribute as HTML5 tokenizes it when nothing odd happens: a name, then maybe = and a value
# (quoted; or unquoted, which may not start with a quote but may hold one; or none before ">").
# `{g}` opens a group: capturing to read the attribute, non-capturing inside the whole tag.
_ATTRIBUTE_SHAPE = (
    "{g}[^\\t\\n\\f\\r />\"'=<]+)(?:" + _SPACE + "*=" + _SPACE + "*"
    "(?:\"{g}[^\"]*)\"|'{g}[^']*)'|{g}[^\\t\\n\\f\\r >\"'][^\\t\\n\\f\\r >]*)|(?=>)))?"
)
_ATTRIBUTE = _ATTRIBUTE_SHAPE.replace("{g}", "(")
_ANCHOR_START = re.compile(r"<a(?=[\t\n\f\r />])", re.IGNORECASE)
_ANCHOR_TAG = re.compile(
    "<a((?:" + _SPACE + "+" + _ATTRIBUTE_SHAPE.replace("{g}", "(?:") + ")*)" + _SPACE + "*/?>",
    re.IGNORECASE,
)
_ATTRIBUTES = re.compile(_ATTRIBUTE)
# A character reference as HTML5 reads one in an attribute value (see _attribute_value).
_CHAR_REF = re.compile(r"&(?:#[xX][0-9a-fA-F]+;?|#[0-9]+;?|([A-Za-z][A-Za-z0-9]*)(;?))")


def _plain_anchors(markup: str) -> list[Mapping[str, str | None]] | None:
    """The attributes of every `<a href>`, read by regular expressions; None when the markup holds
    anything they might read otherwise than HTML5 does (then Lexbor reads it)."""
    if _not_plain(markup):
        return None
    anchors: list[Mapping[str, str | None]] = []
    for start in _ANCHOR_START.finditer(markup):
        tag = _ANCHOR_TAG.match(markup, start.start())
        if tag is None:
            return None  # a start tag these expressions do not read exactly
        attributes: dict[str, str | None] = {}
        for attribute in _ATTRIBUTES.finditer(tag.group(1)):
            name = attribute.group(1).lower()
            if name in attributes:
                continue  # HTML5 keeps the first of a repeated attribute
            double, single, bare = attribute.group(2, 3, 4)
            value = double if double is not None else single if single is not None else bare
            attributes[name] = _attribute_value(value) if value is not None else ""
        if "href" in attributes:
            anchors.append(attributes)
    return anchors


def _attribute_value(value: str) -> str:
    """An attribute value with its character references decoded as HTML5 decodes them in attributes:
    numeric ones, named ones ending in ";", and the legacy names without ";" (`&amp`) unless a letter,
    digit or "=" follows (so `?a=1&copy=2` and `&region=x` stay as written)."""
    if "&" not in value:
        return value
    return _CHAR_REF.sub(lambda match: _char_ref(match, value), value)


def _char_ref(match: re.Match[str], value: str) -> str:
    reference = match.group(0)
    name, semicolon = match.groups()
    if name is None:  # numeric: html.unescape follows HTML5 (windows-1252 for 0x80-0x9F, U+FFFD...)
        return html.unescape(reference if reference.endswith(";") else reference + ";")
    if semicolon:  # a name HTML5 knows with its ";", else as written (`&notit;` is no `&not`)
        return html.entities.html5.get(name + ";", reference)
    # No ";": a legacy name, decoded only if it is the whole run of letters and digits (the pattern
    # took them all) and no "=" follows.
    if name in _LEGACY_ENTITIES and not value.startswith("=", match.end()):
        return _LEGACY_ENTITIES[name]
    return reference


_LEGACY_ENTITIES = {name: text for name, text in html.entities.html5.items() if not name.endswith(";")}


def links_in_text(text: Any, via: str = "content") -> list[Link]:
    """The URLs written out in plain text or Markdown (`[text](url)`, `<url>`, a bare URL), in order.

    Sentence punctuation after a URL is not part of it, nor a closing parenthesis it did not open
    (Markdown's, or prose's); a URL cut short by an ellipsis (a truncated blurb) is left out.
    """
    if not isinstance(text, str) or "://" not in text:
        return []
    found: list[Link] = []
    for match in _BARE_URL.finditer(text):
        url = match.group(0)
        if text.startswith(_CUT_MARKS, match.end()):
            continue
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if url.endswith(_CUT_MARKS):
            continue
        url = web_link(url)
        if url:
            found.append(Link(url, via))
            if len(found) >= MAX_LINKS:
                break
    return found


def url_link(value: Any, via: str = "url", base: str = "") -> list[Link]:
    """An API's url field as a link ([] when it holds no web URL)."""
    url = web_link(value, base)
    return [Link(url, via)] if url else []


def unique_links(*groups: Iterable[Link]) -> tuple[Link, ...]:
    """The links of every group in order, each (url, via) once, at most MAX_LINKS."""
    seen: dict[tuple[str, str], Link] = {}
    for group in groups:
        for link in group:
            seen.setdefault((link.url, link.via), link)
            if len(seen) >= MAX_LINKS:
                return tuple(seen.values())
    return tuple(seen.values())


def declared_language(value: Any) -> str:
    """A language tag as the source declares it ("fr-CA"), or "" for anything that is not one."""
    if not isinstance(value, str):
        return ""
    tag = value.strip()
    return tag if 0 < len(tag) <= 35 and _LANGUAGE_TAG.fullmatch(tag) else ""


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")


# --- searches for links to a domain ------------------------------------------------------------------

_DOMAIN = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


def clean_domain(value: Any) -> str:
    """A `domain` option as a host name: `https://www.Blog.example.org/` -> `blog.example.org`.

    A scheme, a path and a leading `www.` are dropped (Reddit and the searches match the site either
    way); "" when no domain is configured. FetchError for something that is no host name.
    """
    raw = str(value or "").strip()
    if not raw:
        return ""
    host = raw.lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".").removeprefix("www.")
    if not _DOMAIN.fullmatch(host):
        raise FetchError(f"domain {raw!r} is not a host name (give it as blog.example.org)")
    return host


def option_domain(source: Source) -> str:
    """The source's `domain` option, cleaned (see clean_domain); "" when not set."""
    return clean_domain(source.config.option("domain"))


def search_terms(source: Source) -> tuple[str, str]:
    """(query, domain) of a source that searches by words, by links to a domain, or both.

    feeds.toml checks should catch an entry with neither, but a poll must still refuse to search for
    nothing, saying which keys would do."""
    query = str(source.config.option("query") or "").strip()
    domain = option_domain(source)
    if not query and not domain:
        raise FetchError(f"{source.type_name} needs a query or a domain (links to a site) to search for")
    return query, domain


DOMAIN_CURSOR = "domain"  # the cursor entry of a domain search (the word search's is the top level)


def domain_seen(cursor: Mapping[str, Any], domain: str, first_poll: bool) -> Mapping[str, Any]:
    """What the domain search saved last time, or {} (read everything) on a first poll or when the
    domain changed since (the saved place was in another site's results)."""
    saved = cursor.get(DOMAIN_CURSOR)
    if first_poll or not isinstance(saved, Mapping) or saved.get("for") != domain:
        return {}
    return saved


def domain_cursor(domain: str, place: Mapping[str, Any]) -> dict[str, Any]:
    """The domain search's cursor entry: its place in the results, and which domain it is for."""
    return {"for": domain, **place}


def links_to(url: str, domain: str) -> bool:
    """Whether `url` is on `domain` or one of its subdomains (`www.` or not)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False
    return host == domain or host.endswith("." + domain)


def with_domain_link(mention: Mention, item: Any, domain: str) -> Mention:
    """A mention a domain search found, with its link to `domain` said: when none of the links already
    read goes there, the first URL to the domain anywhere in the API's item is added as via "domain"
    (the search matched it on a field the source does not read, such as a quoted post's card)."""
    if not domain or any(links_to(link.url, domain) for link in mention.links):
        return mention
    for url in _urls_in_json(item):
        if links_to(url, domain):
            return replace(mention, links=(*mention.links, Link(url, "domain")))
    return mention


def _urls_in_json(value: Any, limit: int = 10_000) -> Iterable[str]:
    """Every web URL in a JSON value, its string fields and the URLs written in them; iterative, bounded."""
    stack = [value]
    visited = 0
    while stack and visited < limit:
        item = stack.pop()
        visited += 1
        if isinstance(item, str):
            if "://" in item:
                direct = web_link(item)
                if direct:
                    yield direct
                else:
                    yield from (link.url for link in links_in_text(item))
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


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
    "MAX_LINKS",
    "Exchange",
    "RateLimited",
    "SeenUpTo",
    "as_count",
    "as_mapping",
    "clean_domain",
    "declared_language",
    "domain_cursor",
    "domain_seen",
    "from_epoch",
    "from_iso",
    "http_url",
    "json_body",
    "links_in_html",
    "links_in_text",
    "links_to",
    "mentions_from",
    "needs_credentials",
    "newest_first",
    "rate_limit_floor",
    "required_query",
    "search_terms",
    "text_from_html",
    "text_from_plain",
    "unique_by_key",
    "unique_links",
    "url_link",
    "web_link",
    "with_domain_link",
]
