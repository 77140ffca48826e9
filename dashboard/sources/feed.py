"""RSS 2.0, Atom 1.0, RSS 1.0/RDF and JSON Feed 1.x feeds: conditional GET, then feedparser's rules on the bytes.

`poll` does the I/O (one GET with the validators saved last time); `parse_feed` is a pure function
of the body, run in the poller's process pool, so it takes and returns only picklable values. It
takes the fast path of feed_extract (the fields stored, read off the stdlib's expat) when it can and
`feedparser.parse` otherwise, with the same mentions. feedparser is used through that call only.
"""

from __future__ import annotations

import calendar
import codecs
import functools
import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlparse

import feedparser

from dashboard.contracts.errors import FetchError, ParseError
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import PollContext, Source, register
from dashboard.models import Link, Mention, MentionKind, PollOutcome
from dashboard.sources import feed_extract, feed_json
from dashboard.sources.common import declared_language, links_in_html, links_in_text, unique_links
from dashboard.sources.feed_extract import parse_content_type
from dashboard.text import plain_text

_log = logging.getLogger(__name__)

SUMMARY_LIMIT = 2000  # characters of plain text kept per mention
KEY_LIMIT = 512  # longer ids are replaced by their hash
# The largest engagement count believed (the most-viewed videos have ~10^10 views). A larger value,
# such as <slash:comments>99999999999999999999</slash:comments>, is not a count: it is read as
# "not reported" (None), so it can neither overflow SQLite's 64-bit integers nor top a chart.
MAX_COUNT = 10**12
# A date this far past "now" is a broken clock or a scheduled post; we take "now" instead.
FUTURE_TOLERANCE = timedelta(days=1)
# Earlier dates are placeholders (0001-01-01, the epoch); pandas cannot even hold years before 1677.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)

_PINGBACK_TITLE = re.compile(r"^\s*(pingback|trackback|r[ée]trolien)\s*:", re.IGNORECASE)
_LINKBACK_TYPES = frozenset({"pingback", "trackback"})
# WordPress names its comment feeds "Comments for SITE" / "Comments on: POST" (French: "Commentaires ...").
_COMMENT_FEED_TITLE = re.compile(r"^\s*(comments\s+(on|for)\b|commentaires\s+(sur|pour)\b)", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*in reply to\b", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^(\xef\xbb\xbf)?\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL
)
_FEED_ALTERNATE = re.compile(
    rb"<link\b[^>]*\btype\s*=\s*[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.IGNORECASE
)
_HREF = re.compile(rb"\bhref\s*=\s*[\"']([^\"'<>]{1,500})[\"']", re.IGNORECASE)
# Parts of a feed that change on every request without any entry changing (see content_hash).
_VOLATILE = re.compile(rb"<lastBuildDate>[^<]*</lastBuildDate>|<!--.*?-->", re.DOTALL)
_HEAD_UPDATED = re.compile(rb"<updated>[^<]*</updated>")
_FIRST_ENTRY = re.compile(rb"<(?:\w+:)?(?:entry|item)[\s>]")
# A numeric character reference (the XML rules for which code points it may name are in _xml_char).
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")
_SURROGATES = re.compile("[\ud800-\udfff]")
_XML_PI_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")


@register
class FeedSource(Source):
    """A plain feed URL (`url = ...` in feeds.toml): blogs, comment feeds, YouTube channels."""

    type_name = "feed"
    refreshes_by_key = False  # every poll re-reads the whole feed, counts included

    async def poll(self, ctx: PollContext) -> PollOutcome:
        url = self.config.url
        if not url:
            raise FetchError(f"source {self.config.name!r} has no feed url")
        response = await ctx.fetch(Request(url, headers=conditional_headers(ctx.cursor)))
        if response.not_modified:
            return PollOutcome(not_modified=True, cursor=dict(ctx.cursor), http_status=response.status)
        body = response.body
        cursor = {
            "etag": response.header("etag"),
            "last_modified": response.header("last-modified"),
            "content_hash": content_hash(body),
        }
        owners = guid_owners(ctx.cursor)
        if is_unchanged(ctx.cursor, cursor):
            return PollOutcome(
                not_modified=True,
                cursor={**cursor, GUIDS: owners},
                http_status=response.status,
                bytes_read=len(body),
            )
        parsed = await ctx.parse(parse_feed_detailed, body, parse_headers(response), ctx.now, owners)
        notes = ""
        if parsed.fast_path_error:  # here, not in the worker: the parse pool's processes log nowhere
            note_fast_path_failure(url, parsed.fast_path_error)
            notes = f"fast path failed ({parsed.fast_path_error}); parsed by feedparser"
        mentions = parsed.mentions[: self.config.max_items]
        return PollOutcome(
            mentions=mentions,
            cursor={**cursor, GUIDS: owners_of(mentions)},
            http_status=response.status,
            bytes_read=len(body),
            notes=notes,
        )


def conditional_headers(cursor: Mapping[str, Any]) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the validators the last poll saved."""
    headers: dict[str, str] = {}
    if etag := cursor.get("etag"):
        headers["If-None-Match"] = str(etag)
    if last_modified := cursor.get("last_modified"):
        headers["If-Modified-Since"] = str(last_modified)
    return headers


def is_unchanged(previous: Mapping[str, Any], current: Mapping[str, str]) -> bool:
    """A 200 that repeats the stored ETag (Miniflux's rule) or the stored content hash needs no parse."""
    old_etag = _strong(str(previous.get("etag") or ""))
    if old_etag and old_etag == _strong(current["etag"]):
        return True
    return bool(previous.get("content_hash")) and previous.get("content_hash") == current["content_hash"]


def _strong(etag: str) -> str:
    # Servers that gzip on the fly turn "abc" into W/"abc": the same representation for our purpose.
    return etag.strip().removeprefix("W/")


def content_hash(body: bytes) -> str:
    """SHA-256 of the body without what changes on every request (RSS lastBuildDate, the Atom
    feed-level <updated>, XML comments such as "generated in 0.2 s"), so an unchanged feed is not re-parsed."""
    stripped = _VOLATILE.sub(b"", body)
    first_entry = _FIRST_ENTRY.search(stripped)
    split = first_entry.start() if first_entry else len(stripped)
    stripped = _HEAD_UPDATED.sub(b"", stripped[:split]) + stripped[split:]
    return hashlib.sha256(stripped).hexdigest()


def parse_headers(response: Response) -> dict[str, str]:
    """The response headers for feedparser, with Content-Location made absolute from the final URL so
    relative entry links resolve against the feed's own address."""
    headers = dict(response.headers)
    headers["content-location"] = urljoin(response.url, headers.get("content-location", ""))
    return headers


@dataclass(frozen=True, slots=True)
class FeedParse:
    """parse_feed's mentions, and what the fast path raised when it failed in a way it should not
    have (a bug): "" when it took the document or declined it."""

    mentions: tuple[Mention, ...]
    fast_path_error: str = ""


# Unexpected fast-path failures in this process, by exception type: each one is a feed parsed
# ~10x slower by feedparser, which must be visible (logged, and in the poll's notes), never silent.
FAST_PATH_FAILURES: Counter[str] = Counter()


def note_fast_path_failure(url: str, error: str) -> None:
    """Count and log one unexpected fast-path failure (feedparser parsed the feed instead)."""
    FAST_PATH_FAILURES[error.split(":", 1)[0]] += 1
    _log.warning("feed fast path failed for %s, parsed by feedparser instead: %s", url or "?", error)


def parse_feed(
    body: bytes,
    headers: dict[str, str],
    fallback_time: datetime,
    owners: Mapping[str, Owner] | None = None,
) -> tuple[Mention, ...]:
    """parse_feed_detailed's mentions; an unexpected fast-path failure is counted and logged, with
    the feed's address from Content-Location (see `parse_headers`)."""
    parsed = parse_feed_detailed(body, headers, fallback_time, owners)
    if parsed.fast_path_error:
        note_fast_path_failure(headers.get("content-location", ""), parsed.fast_path_error)
    return parsed.mentions


def parse_feed_detailed(
    body: bytes,
    headers: dict[str, str],
    fallback_time: datetime,
    owners: Mapping[str, Owner] | None = None,
) -> FeedParse:
    """Feed bytes -> mentions, in feed order, one per post (see `distinct_keys`).

    `headers` are the response headers (Content-Type carries the charset, Content-Location the
    address relative links resolve against). `fallback_time` is "now": dates more than a day after
    it are replaced by it. `owners` is what the last poll's `owners_of` saved. Raises ParseError
    when the body is not a feed.

    Well-formed RSS, Atom and RDF feeds take the fast path (dashboard.sources.feed_extract: the
    stored fields read off an ElementTree, ~10x faster than feedparser); anything it declines goes
    through feedparser.
    JSON Feed 1.0/1.1 (by its media type, or a body that starts with "{") is read by feed_json.
    """
    body = _declaration_first(body)
    content_type = headers.get("content-type", "")
    error = ""
    if feed_json.looks_like_json(body, content_type):
        parsed = feed_json.parse(body, content_type)
    else:
        prepared = decoding_headers(body, headers)
        fast, error = _parse_fast(body, prepared)
        parsed = fast or _parse_with_feedparser(body, headers, prepared)
    return FeedParse(distinct_keys(_mentions(parsed, headers, fallback_time), owners or {}), error)


def parse_feed_fast(
    body: bytes, headers: dict[str, str], fallback_time: datetime
) -> tuple[Mention, ...] | None:
    """parse_feed through the fast path only: None when parse_feed would fall back to feedparser."""
    body = _declaration_first(body)
    parsed, _error = _parse_fast(body, decoding_headers(body, headers))
    return None if parsed is None else distinct_keys(_mentions(parsed, headers, fallback_time), {})


def parse_feed_with_feedparser(
    body: bytes, headers: dict[str, str], fallback_time: datetime
) -> tuple[Mention, ...]:
    """parse_feed through feedparser only (the reference the fast path must match)."""
    body = _declaration_first(body)
    parsed = _parse_with_feedparser(body, headers, decoding_headers(body, headers))
    return distinct_keys(_mentions(parsed, headers, fallback_time), {})


def _declaration_first(body: bytes) -> bytes:
    """The body without the blank lines some servers (PHP includes, templates) put before the XML
    declaration; raise ParseError for an empty body.

    XML allows nothing before `<?xml`: expat refuses the document, and feedparser stops looking for
    the declaration, so its encoding="utf-8" lost to RFC 3023's ISO-8859-1 ("SÃ¼dwestrundfunk")."""
    if not body.strip():
        raise ParseError("empty body where a feed was expected")
    bom = codecs.BOM_UTF8 if body.startswith(codecs.BOM_UTF8) else b""
    rest = body[len(bom) :]
    if rest[:1].isspace():
        stripped = rest.lstrip()
        if stripped.startswith(b"<?xml"):
            return bom + stripped
    return body


def _parse_fast(body: bytes, headers: dict[str, str]) -> tuple[feed_extract.Parsed | None, str]:
    """(the fast path's result or None, "" or the unexpected error that made it give up)."""
    try:
        return feed_extract.parse(valid_char_refs(body), headers), ""
    except Exception as error:  # a bug: feedparser decides, visibly
        return None, f"{type(error).__name__}: {error}"[:300]


def _parse_with_feedparser(
    body: bytes, headers: dict[str, str], prepared: dict[str, str]
) -> feed_extract.Parsed:
    # A stream, never bytes or str: feedparser treats a str as a URL or file name and even tries
    # open() on bytes, so a body such as b"/etc/passwd" would be read from disk.
    try:
        result = feedparser.parse(
            io.BytesIO(valid_char_refs(body)),
            response_headers=prepared,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as error:  # feedparser reports most trouble as `bozo`; anything else is ours to name
        raise ParseError(f"feedparser failed: {type(error).__name__}: {error}") from error
    entries = result.get("entries", [])
    if not entries:
        _reject_non_feed(body, headers, result)
    return feed_extract.Parsed(result.get("feed", {}), entries, str(result.get("version", "")))


def valid_char_refs(body: bytes) -> bytes:
    """The body with each character reference to a code point XML forbids (`&#xD800;`, `&#0;`,
    `&#1114112;`) replaced by U+FFFD's. feedparser's loose parser turns `&#xD800;` into a lone
    surrogate and then fails the whole feed on encoding it; one bad character must not cost the feed."""
    if b"&#" not in body:
        return body
    return _CHAR_REF.sub(_replace_bad_char_ref, body)


def _replace_bad_char_ref(match: re.Match[bytes]) -> bytes:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return match.group(0) if _xml_char(code) else b"&#xFFFD;"


def _xml_char(code: int) -> bool:
    """XML 1.0's Char production: tab, LF, CR, and U+0020 up to U+10FFFF without surrogates, FFFE, FFFF."""
    if code < 0x20:
        return code in (0x9, 0xA, 0xD)
    return code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def valid_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD: they cannot be encoded, so SQLite, a CSV or
    the terminal would raise on them (a JSON Feed's "\\ud800" decodes to one)."""
    if text.isascii():
        return text
    return _SURROGATES.sub("\ufffd", text)


def decoding_headers(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """The response headers as the parsers get them.

    Content-Location is emptied: feedparser would resolve relative guids against the feed's own
    address, so a feed that moves would get new keys for the same entries; links are resolved by
    `_mentions` instead. Content-Language is dropped (see below). And the charset is corrected where feedparser's RFC 3023 reading loses
    text: a byte order mark beats any HTTP charset (RFC 7303), and on a non-XML text type
    (text/html, text/plain: usually a server default) the XML declaration beats the HTTP charset;
    with no Content-Type at all, the XML rules alone decide.
    """
    prepared = dict(headers)
    prepared["content-location"] = ""
    # A server's Content-Language would be every entry's language in feedparser; the language a
    # mention declares is the document's own (<language>, xml:lang), so it goes too.
    for name in [name for name in prepared if name.lower() == "content-language"]:
        del prepared[name]
    # No type at all: RFC 3023 says ISO-8859-1, which never fails, so a UTF-8 feed without a
    # declaration became mojibake. XML's own rule (BOM, declaration, else UTF-8) decides instead.
    content_type = prepared.get("content-type") or "application/xml"
    prepared["content-type"] = content_type
    charset = _charset_override(body, content_type)
    if charset:
        mime, _charset = parse_content_type(content_type)
        prepared["content-type"] = f"{mime}; charset={charset}"
    return prepared


def _charset_override(body: bytes, content_type: str) -> str:
    mime, http_charset = parse_content_type(content_type)
    bom, declared = sniff_encodings(body)
    wanted = bom or (declared if _is_non_xml_text(mime.lower()) else "")
    return wanted if wanted and wanted.lower() != http_charset.lower() else ""


def _is_non_xml_text(mime: str) -> bool:
    """text/* that RFC 3023 reads by the HTTP charset alone although it is not an XML type."""
    xml_text = mime in ("text/xml", "text/xml-external-parsed-entity") or mime.endswith("+xml")
    return mime.startswith("text/") and not xml_text


_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32be"),
    (codecs.BOM_UTF32_LE, "utf-32le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF8, "utf-8"),
)
_MARKERS = (
    (b"\x4c\x6f\xa7\x94", "cp037"),
    (b"\x00\x3c\x00\x3f", "utf-16be"),
    (b"\x3c\x00\x3f\x00", "utf-16le"),
    (b"\x00\x00\x00\x3c", "utf-32be"),
    (b"\x3c\x00\x00\x00", "utf-32le"),
)
_UNICODE_ALIASES = frozenset(
    {"u16", "utf-16", "utf16", "utf_16", "u32", "utf-32", "utf32", "utf_32"}
    | {"iso-10646-ucs-2", "iso-10646-ucs-4", "csucs4", "csunicode", "ucs-2", "ucs-4"}
)


def sniff_encodings(body: bytes) -> tuple[str, str]:
    """(the byte order mark's encoding or "", the XML declaration's encoding or ""), read the way
    feedparser's convert_to_utf8 reads them (UTF-16 and UTF-32 declarations named by the BOM)."""
    bom = ""
    guess = ""
    data = body
    for mark, encoding in _BOMS:
        if data.startswith(mark) and not (len(mark) == 2 and data[2:4] == b"\x00\x00"):
            bom = guess = encoding
            data = data[len(mark) :]
            break
    else:
        guess = next((encoding for marker, encoding in _MARKERS if data[:4] == marker), "")
    try:
        head = data[:1024].decode(guess, "ignore").encode("utf-8") if guess else data[:1024]
    except LookupError:
        return bom, ""
    match = _XML_PI_ENCODING.match(head)
    if not match:
        return bom, ""
    declared = match.group(1).decode("utf-8", "replace").lower()
    if guess and declared in _UNICODE_ALIASES:
        declared = guess
    return bom, declared


def _reject_non_feed(body: bytes, headers: Mapping[str, str], result: Any) -> None:
    """Raise ParseError for a body without entries that is not a (possibly empty) feed."""
    content_type = headers.get("content-type", "")
    version = result.get("version", "")
    if _HTML_START.match(body[:4096]) or (not version and "html" in content_type.lower()):
        raise ParseError("got an HTML page, not a feed" + _advertised_feed(body, headers))
    if result.get("bozo") and not result.get("feed", {}).get("title"):
        problem = result.get("bozo_exception") or "no details"
        raise ParseError(f"malformed feed XML ({content_type or 'no content type'}): {problem}")
    if not version:
        kind = content_type or "no content type"
        raise ParseError(f"not an RSS, Atom or RDF feed ({kind})")


def _advertised_feed(body: bytes, headers: Mapping[str, str]) -> str:
    """The feed an HTML page links to in its head, as a hint for the user, or ""."""
    link = _FEED_ALTERNATE.search(body[:65536])
    href = _HREF.search(link.group(0)) if link else None
    if href is None:
        return ""
    url = urljoin(headers.get("content-location", ""), href.group(1).decode("latin-1"))
    return f" (the page links to a feed at {plain_text(url)})"


def _mentions(
    parsed: feed_extract.Parsed, headers: Mapping[str, str], fallback_time: datetime
) -> list[Mention]:
    feed = parsed.feed
    is_comment_feed = bool(_COMMENT_FEED_TITLE.match(_text(feed, "title")))
    feed_author = _author(feed)
    feed_language = declared_language(feed.get("language"))
    base = _link_base(headers.get("content-location", ""))
    mentions: list[Mention] = []
    for entry in parsed.entries:
        mention = _mention(entry, is_comment_feed, feed_author, feed_language, base, fallback_time)
        if mention is not None:
            mentions.append(mention)
    return mentions


# --- one key per post, when a feed reuses a guid ----------------------------------------------------

GUIDS = "guids"  # the cursor entry holding owners_of(the last poll's mentions)
MAX_OWNERS = 1000  # keys remembered per feed; a feed's own entries, so a few dozen as a rule
# What identifies the post that holds a key: a hash of its link, and its publication time.
Owner = list[str | int | None]


def distinct_keys(mentions: Sequence[Mention], owners: Mapping[str, Owner]) -> tuple[Mention, ...]:
    """One mention per post, in feed order, with a key of its own.

    Feeds reuse a guid for another post (scripting.com; DreamHost re-publishing a 2017 article under
    its guid): keyed by guid alone the second post is lost, or overwrites the first. A key belongs to
    one post, known by its link: inside one feed, entries of one key with different links are
    different posts; across polls, `owners` (the last poll's) says which post held the key, and an
    entry whose link and date both differ from that one is another post. A repeat (same key, same
    link) stays one mention, the first; so does an edited post (new title, or a new slug on the
    same date). The holder keeps the plain key, so rows stored before stay where they are; every
    other post gets the key with `#` and a hash of its link.
    """
    groups: dict[str, list[Mention]] = {}
    seen: set[tuple[str, str]] = set()  # (key, url): a set, so 20,000 entries of one guid stay linear
    for mention in mentions:
        if (mention.key, mention.url) not in seen:
            seen.add((mention.key, mention.url))
            groups.setdefault(mention.key, []).append(mention)
    renamed: dict[int, Mention] = {}
    for key, group in groups.items():
        if len(group) == 1 and key not in owners:
            continue
        holder = _holder(group, owners.get(key))
        for mention in group:
            if mention is not holder:
                renamed[id(mention)] = replace(mention, key=_variant_key(key, mention.url))
    kept = {id(mention) for group in groups.values() for mention in group}
    return tuple(renamed.get(id(m), m) for m in mentions if id(m) in kept)


def _holder(group: Sequence[Mention], owner: Owner | None) -> Mention | None:
    """The post that keeps the plain key: the one that held it last poll, else the oldest."""
    if owner is None:
        return min(group, key=lambda mention: _epoch(mention.published) or 0) if group else None
    link_hash, published = owner[0], owner[1] if len(owner) > 1 else None
    for mention in group:
        if _link_hash(mention.url) == link_hash:
            return mention
    for mention in group:  # the same post at a new link (an edited slug): same date
        if _epoch(mention.published) == published:
            return mention
    return None  # every entry is a post other than the one stored under this key


def owners_of(mentions: Sequence[Mention]) -> dict[str, Owner]:
    """What `distinct_keys` needs next poll: for each key, which post holds it."""
    return {
        mention.key: [_link_hash(mention.url), _epoch(mention.published)] for mention in mentions[:MAX_OWNERS]
    }


def guid_owners(cursor: Mapping[str, Any]) -> dict[str, Owner]:
    """The owners saved in a cursor, or {} when there are none (or they are not what we saved)."""
    saved = cursor.get(GUIDS)
    if not isinstance(saved, dict):
        return {}
    return {str(key): list(value) for key, value in saved.items() if isinstance(value, list) and value}


def _variant_key(key: str, url: str) -> str:
    variant = f"{key}#{_link_hash(url)}"
    return variant if len(variant) <= KEY_LIMIT else "sha1:" + hashlib.sha1(variant.encode()).hexdigest()


def _link_hash(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:12]


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _link_base(content_location: str) -> str:
    """The base feedparser itself would resolve links against (its make_safe_absolute_uri step)."""
    return _safe_absolute_uri(content_location, content_location) or content_location


# The URI schemes feedparser lets a base have (feedparser.urls.ACCEPTABLE_URI_SCHEMES).
_SAFE_SCHEMES = frozenset(
    {
        "file", "ftp", "gopher", "h323", "hdl", "http", "https", "imap", "magnet", "mailto", "mms",
        "news", "nntp", "prospero", "rsync", "rtsp", "rtspu", "sftp", "shttp", "sip", "sips", "snews",
        "svn", "svn+ssh", "telnet", "wais", "aim", "callto", "cvs", "facetime", "feed", "git", "gtalk",
        "irc", "ircs", "irc6", "itms", "msnim", "skype", "ssh", "smb", "ymsg",
    }
)  # fmt: skip
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")


def _urljoin(base: str, link: str) -> str:
    """feedparser's join: extra slashes after "scheme://" dropped, "" for a base urljoin refuses."""
    link = _URI_FIXER.sub(r"\1\3", link)
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


def _safe_absolute_uri(base: str, link: str) -> str:
    """feedparser's make_safe_absolute_uri: base joined with link, "" unless of a safe scheme."""
    if not base:
        return link or ""
    if not link:
        try:
            scheme = urlparse(base)[0]
        except ValueError:
            return ""
        return base if not scheme or scheme in _SAFE_SCHEMES else ""
    uri = _urljoin(base, link)
    return uri if uri.strip().split(":", 1)[0] in _SAFE_SCHEMES else ""


# An absolute web URL that urljoin hands back unchanged whatever the base: lower-case scheme, a host,
# printable ASCII, no ";" in the path (urlparse's params), no empty "?" or "#" (urlunparse drops
# them), nothing urlsplit strips or validates (spaces, controls, brackets), no "///" to fix.
_UNCHANGED_BY_URLJOIN = re.compile(
    r"https?://[!\"$%&'()*+,\-.0-9:<=>@A-Z^_`a-z{|}~][!\"$%&'()*+,\-./0-9:<=>@A-Z^_`a-z{|}~]*"
    r"(?:\?[!\"$-~]+)?(?:#[!-~]+)?\Z"
)


def resolve_link(base: str, link: str) -> str:
    """feedparser's _urljoin(base, link), without its cost for links that are already absolute."""
    if not base or not link:
        return link
    if _UNCHANGED_BY_URLJOIN.match(link) and _parses(base):
        return link
    return _urljoin(base, link)


@functools.lru_cache(maxsize=64)
def _parses(base: str) -> bool:
    """urljoin would not raise on this base (feedparser's _urljoin turns that ValueError into "")."""
    try:
        urlparse(base)
    except ValueError:
        return False
    return True


def _mention(
    entry: Mapping[str, Any],
    is_comment_feed: bool,
    feed_author: str,
    feed_language: str,
    base: str,
    fallback_time: datetime,
) -> Mention | None:
    title = valid_text(_text(entry, "title"))
    summary = valid_text(_summary(entry))
    link = valid_text(str(entry.get("link") or ""))
    url = _web_link(resolve_link(base, link))
    published = _published(entry, fallback_time)
    if not (title or summary or url):
        return None  # nothing a person could read or open
    return Mention(
        # The link as written, not resolved: keys never depend on the feed's own address.
        key=_key(entry, link.strip() if url else "", title, summary),
        kind=_kind(entry, title, summary, is_comment_feed),
        url=url,
        title=title,
        author=valid_text(_author(entry) or feed_author),
        published=published,
        summary=summary,
        likes=_count(_attribute(entry, "media_starrating", "count")),
        replies=_replies(entry),
        views=_count(_attribute(entry, "media_statistics", "views")),
        language=_language(entry) or feed_language,
        links=_links(entry, url or base),
    )


def _language(entry: Mapping[str, Any]) -> str:
    """The language the entry declares: the xml:lang in scope of its text (its own, else the feed's:
    feedparser puts it in each text's detail), else an item's <dc:language>. "" when none."""
    contents = entry.get("content")
    details = [contents[0] if isinstance(contents, list) and contents else None]
    details += [entry.get("summary_detail"), entry.get("title_detail")]
    for detail in details:
        if isinstance(detail, Mapping):
            language = declared_language(detail.get("language"))
            if language:
                return language
    return declared_language(entry.get("language"))


def _links(entry: Mapping[str, Any], page: str) -> tuple[Link, ...]:
    """The outbound links of an entry: the anchors of its content (of its summary when it has no
    content), relative ones resolved against the entry's own page (an xml:base in scope wins), or the
    URLs written in a text/plain one. The entry's own link is its url, not a link: a "read more"
    anchor back to the entry is left out."""
    contents = entry.get("content")
    if isinstance(contents, list) and contents:
        texts = contents
    else:
        detail = entry.get("summary_detail")
        texts = [{**(detail if isinstance(detail, Mapping) else {}), "value": entry.get("summary")}]
    found: list[Link] = []
    for text in texts:
        if not isinstance(text, Mapping):
            continue
        value = text.get("value")
        if not isinstance(value, str) or not value:
            continue
        if "html" in str(text.get("type", "text/html")):
            found.extend(links_in_html(value, str(text.get("base") or "") or page))
        else:
            found.extend(links_in_text(value))
    if not found:
        return ()
    own = page.partition("#")[0]
    return unique_links(link for link in found if link.url.partition("#")[0] != own)


def _key(entry: Mapping[str, Any], link: str, title: str, summary: str) -> str:
    """guid/id, else link, else a hash of what the entry says (Miniflux's order)."""
    key = valid_text(str(entry.get("id") or "").strip()) or link
    if not key:
        raw_date = valid_text(str(entry.get("published") or entry.get("updated") or ""))
        key = "sha1:" + hashlib.sha1(f"{title}\n{raw_date}\n{summary}".encode()).hexdigest()
    elif len(key) > KEY_LIMIT:
        key = "sha1:" + hashlib.sha1(key.encode()).hexdigest()
    return key


def _kind(entry: Mapping[str, Any], title: str, summary: str, is_comment_feed: bool) -> MentionKind:
    if _PINGBACK_TITLE.match(title) or _comment_type(entry) in _LINKBACK_TYPES:
        return MentionKind.PINGBACK
    if is_comment_feed or "thr_in-reply-to" in entry or _REPLY_PREFIX.match(summary):
        return MentionKind.COMMENT
    return MentionKind.POST


def _comment_type(entry: Mapping[str, Any]) -> str:
    """A `comment_type` element in any namespace prefix (wp:comment_type in WordPress exports)."""
    for name, value in entry.items():
        if name.endswith("comment_type") and isinstance(value, str):
            return value.strip().lower()
    return ""


def _text(node: Mapping[str, Any], name: str) -> str:
    """A title-like field as plain text: HTML is stripped, text/plain is kept literally."""
    value = node.get(name)
    if not isinstance(value, str):
        return ""
    detail = node.get(f"{name}_detail") or {}
    return _plain(value, str(detail.get("type", "text/html")))


def _plain(value: str, content_type: str) -> str:
    if "html" in content_type:
        return plain_text(value)
    # Escaping first makes plain_text keep "<div>" literally while still normalising whitespace.
    return plain_text(value.replace("&", "&amp;").replace("<", "&lt;"))


def _summary(entry: Mapping[str, Any]) -> str:
    """Plain text of the full content if present, else the summary, cut at a word boundary."""
    for content in entry.get("content") or ():
        text = _plain(str(content.get("value", "")), str(content.get("type", "text/html")))
        if text:
            return _truncate(text, SUMMARY_LIMIT)
    return _truncate(_text(entry, "summary"), SUMMARY_LIMIT)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _author(node: Mapping[str, Any]) -> str:
    """The author's name (not "email (name)"), as plain text."""
    detail = node.get("author_detail") or {}
    name = detail.get("name") or node.get("author") or ""
    return valid_text(plain_text(str(name)))


def _web_link(link: str) -> str:
    # feedparser copies a non-URL id (tag:, urn:) into `link` when there is no link: drop those.
    link = link.strip()
    return link if link.lower().startswith(("http://", "https://")) else ""


def _published(entry: Mapping[str, Any], fallback_time: datetime) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if moment < EARLIEST_DATE:
        return None
    return fallback_time if moment > fallback_time + FUTURE_TOLERANCE else moment


def _replies(entry: Mapping[str, Any]) -> int | None:
    """RSS slash:comments, Atom thr:total, else the thr:count of an Atom rel="replies" link."""
    for name in ("slash_comments", "thr_total"):
        count = _count(entry.get(name))
        if count is not None:
            return count
    for link in entry.get("links") or ():
        if link.get("rel") == "replies":
            count = _count(link.get("thr:count") or link.get("count"))
            if count is not None:
                return count
    return None


def _attribute(entry: Mapping[str, Any], element: str, name: str) -> Any:
    value = entry.get(element)
    return value.get(name) if isinstance(value, Mapping) else None


def _count(value: Any) -> int | None:
    """A non-negative count such as "1,234", or None when absent, not a number or above MAX_COUNT."""
    if value is None or isinstance(value, bool):
        return None
    digits = str(value).strip().replace(",", "").replace("_", "")
    if not (digits.isascii() and digits.isdigit()):
        return None
    # Length before int(): int() of thousands of digits is slow, and raises past 4,300 of them.
    if len(digits.lstrip("0")) > len(str(MAX_COUNT)):
        return None
    count = int(digits)
    return count if count <= MAX_COUNT else None
