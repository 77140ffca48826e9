"""Canonical URLs: every way of writing a link to one page maps to one string.

The same blog post is shared as `http://www.blog.example/post/?utm_source=x`, as
`https://blog.example/post#comments`, as its AMP page, through Google's AMP cache... The echo
feature (issue 12) ties every mention that links to an own post to that post, so links are compared
in a canonical form. `canonical_url` applies these rules, each for a reason:

1. Only absolute http(s) URLs are links to a page (`mailto:`, `javascript:`, relative or garbage
   text give None): nothing else can be the address of a post.
2. Scheme-insensitive, always written `https://`: a site serves one page on both, and people paste
   whichever their browser shows.
3. Host lower-cased (DNS is case-insensitive), a trailing dot dropped, and written in its ASCII
   (punycode, `xn--`) form: the form DNS, feeds and most APIs use, so `bücher.example` and
   `xn--bcher-kva.example` are one host. A host that is not a valid name gives None.
4. A leading `www.` (and AMP's `amp.`) removed, when what remains still has a dot (`www.com` and
   `amp.dev` are sites of their own): sites answer on both, and people type either.
5. Default ports (`:80`, `:443`) removed (the scheme is dropped, so both are defaults); other ports
   kept: they name another server. User info (`user:pass@`) dropped: it is not part of which page,
   and it must never be stored.
6. Path percent-encoding normalised (RFC 3986 6.2.2): escapes of unreserved characters decoded,
   other escapes upper-cased, characters that must be escaped (non-ASCII, spaces) UTF-8 escaped. So
   an IRI and its URI are one link. `.` and `..` segments are resolved, as a browser does before
   it asks. Path case is kept (paths are case-sensitive).
7. Trailing slashes removed; the root is no path at all (`https://example.org`): WordPress and
   most blogs redirect one form to the other.
8. Fragment removed: `post#comment-12` is on the post's page (a WordPress comment belongs to its
   post), and `#comments` is the same page.
9. Tracking parameters removed (TRACKING_PARAMS and any `utm_*`): they say who shared, not which
   page. The list is conservative: only names that are trackers on every site they appear on
   (`share`, `si`, `source`, `id` and the like are kept: on some sites they choose the page).
10. Remaining query parameters sorted (kept raw, so `+` and `%20` are not conflated): their
    order never chooses a page on sites people link to.
11. AMP variants removed: a path ending in `/amp` (or `/amp/`), `amp=1` / `amp` / `outputType=amp`
    query parameters, and Google's AMP cache (`https://www-example-org.cdn.ampproject.org/c/s/
    example.org/post`) and AMP viewer (`https://www.google.com/amp/s/example.org/post`) unwrapped to
    the page they serve: they are that page, for phones.

Shorteners (`is_shortener`: t.co, bit.ly...) are not resolved: resolving needs the network, one
request per link, from the shortener's servers. Their URLs are canonicalised like any other and so
only match the same short link.

The rules are idempotent (`canonical_url(canonical_url(u)) == canonical_url(u)`, property-tested in
tests/test_links.py). Bump LINKS_VERSION when they change: the store re-links rows of older versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import quote, urlsplit

LINKS_VERSION = 1

# Query parameters that only track who shared a link (any `utm_*` too). Conservative on purpose.
TRACKING_PARAMS = frozenset(
    [
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "dclid",  # Google Display
        "gbraid",  # Google Ads (iOS)
        "wbraid",  # Google Ads (iOS)
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # Twitter/X Ads
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "mc_cid",  # Mailchimp campaign
        "mc_eid",  # Mailchimp recipient
        "_hsenc",  # HubSpot
        "_hsmi",  # HubSpot
        "__hssc",  # HubSpot
        "__hstc",  # HubSpot
        "__hsfp",  # HubSpot
        "hsctatracking",  # HubSpot
        "mkt_tok",  # Marketo
        "oly_anon_id",  # Omeda
        "oly_enc_id",  # Omeda
        "vero_id",  # Vero
        "vero_conv",  # Vero
        "igshid",  # Instagram
        "ref",  # "where it was shared from" (GitHub, Product Hunt, newsletters)
        "ref_src",  # Twitter/X
        "ref_url",  # Twitter/X
        "spm",  # Alibaba
        "_ga",  # Google Analytics cross-domain
        "_gl",  # Google Analytics cross-domain
    ]
)

# Link shorteners: not resolved (no network here), see the module docstring.
SHORTENERS = frozenset(
    [
        "t.co",
        "bit.ly",
        "bitly.com",
        "buff.ly",
        "ow.ly",
        "tinyurl.com",
        "goo.gl",
        "lnkd.in",
        "dlvr.it",
        "is.gd",
        "v.gd",
        "trib.al",
        "tiny.cc",
        "rebrand.ly",
        "shorturl.at",
        "cutt.ly",
        "t.ly",
        "s.id",
        "rb.gy",
        "bl.ink",
        "fb.me",
        "youtu.be",
        "redd.it",
        "amzn.to",
        "ift.tt",
        "shar.es",
        "snip.ly",
        "wp.me",
        "flip.it",
        "hubs.ly",
        "hubs.la",
        "mailchi.mp",
        "eepurl.com",
        "po.st",
        "db.tt",
        "qr.ae",
        "adf.ly",
        "su.pr",
        "j.mp",
    ]
)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})?")  # a bare "%" is a literal percent: escaped as %25
# Any character a URI may not carry unescaped (RFC 3986), non-ASCII included. `%` is allowed: an
# existing escape is kept (and normalised by _ESCAPE).
_MUST_ESCAPE = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_PATH_SAFE = "/:@!$&'()*+,;=%-._~"
_QUERY_SAFE = "/?:@!$'()*+,;=%-._~"  # not "&": pieces are split on it first
_ASCII_HOST = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*")  # DNS: labels of 63 at most
_IPV6_HOST = re.compile(r"[0-9a-f:.]+")
_AMP_CACHE = ".cdn.ampproject.org"
_AMP_CACHE_PREFIXES = ("/c/s/", "/v/s/", "/i/s/", "/c/", "/v/", "/i/")
_GOOGLE_AMP_HOSTS = frozenset(["google.com"])  # after `www.` is removed
_GOOGLE_AMP_PREFIXES = ("/amp/s/", "/amp/")
_AMP_QUERY = frozenset(["amp=1", "amp", "amp=", "amp=true", "outputtype=amp"])
_MAX_LENGTH = 8192  # longer text is not a link anyone shares (and costs time)


class LinkLike(Protocol):
    """What canonical_links reads of dashboard.models.Link (a Protocol: links sits below models)."""

    @property
    def url(self) -> str: ...

    @property
    def via(self) -> str: ...


def _fix_escapes(text: str) -> str:
    """Escapes normalised: unreserved characters decoded, the others upper-cased (RFC 3986 6.2.2)."""
    if "%" not in text:
        return text
    return _ESCAPE.sub(_fix_escape, text)


def _fix_escape(match: re.Match[str]) -> str:
    if match.group(1) is None:
        return "%25"  # else decoding a later escape could make a new one ("%a%30" -> "%a0")
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _encode(text: str, safe: str) -> str:
    if _MUST_ESCAPE.search(text):
        text = quote(text, safe=safe, errors="surrogatepass")
    return _fix_escapes(text)


def _host(raw: str) -> str | None:
    """The canonical host of a netloc's host part, or None when it is not a host name."""
    host = raw.rstrip(".").lower()
    if not host:
        return None
    if host.isascii():
        if _ASCII_HOST.fullmatch(host):
            pass
        elif ":" in host and _IPV6_HOST.fullmatch(host):
            return f"[{host}]"
        else:
            return None
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
        if not _ASCII_HOST.fullmatch(host):
            return None
    while True:
        for prefix in ("www.", "amp."):
            if host.startswith(prefix) and "." in host[len(prefix) :]:
                host = host[len(prefix) :]
                break
        else:
            return host


def _unwrap_amp(host: str, path: str, query: str) -> str | None:
    """The URL a Google AMP cache or viewer URL serves (`path` already escape-normalised), or None
    when it is not one: what follows the prefix must start with a dotted host."""
    prefixes: tuple[str, ...]
    if host.endswith(_AMP_CACHE):
        prefixes = _AMP_CACHE_PREFIXES
    elif host in _GOOGLE_AMP_HOSTS:
        prefixes = _GOOGLE_AMP_PREFIXES
    else:
        return None
    for prefix in prefixes:
        if path.startswith(prefix):
            inner = path[len(prefix) :]
            if "." not in inner.partition("/")[0]:
                return None
            scheme = "https://" if prefix.endswith("/s/") else "http://"
            return scheme + inner + ("?" + query if query else "")
    return None


def _query(query: str) -> str:
    """The query without tracking or AMP parameters, its pieces sorted."""
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        key = piece.partition("=")[0].lower()
        if key.startswith("utm_") or key in TRACKING_PARAMS or piece.lower() in _AMP_QUERY:
            continue
        kept.append(_encode(piece, _QUERY_SAFE))
    kept.sort(key=_by_name)
    return "&".join(kept)


def _by_name(piece: str) -> tuple[str, str]:
    return piece.partition("=")[0], piece


def _path(path: str) -> str:
    """The escape-normalised path (see _encode) without dot segments, trailing slashes or AMP suffixes."""
    if "/." in path:
        path = _without_dots(path)
    path = path.rstrip("/")
    while path.endswith(("/amp", "/AMP")):
        path = path[:-4].rstrip("/")
    return path


def _without_dots(path: str) -> str:
    """`path` with its `.` and `..` segments resolved (RFC 3986 5.2.4): browsers request that page."""
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    tail = "/" if path.endswith(("/.", "/..")) else ""
    return "/" + "/".join(out) + tail if out else "/"


def canonical_url(url: str) -> str | None:
    """The canonical form of `url` (the rules: the module docstring), or None when it is not an
    absolute http(s) URL. Never raises."""
    if not isinstance(url, str) or len(url) > _MAX_LENGTH:
        return None
    text = url.strip()
    for _ in range(8):  # AMP caches wrap a URL; a few levels at most
        head = text[:8].lower()
        if not head.startswith(("https://", "http://")):
            return None
        try:
            parts = urlsplit(text)
            hostname = parts.hostname
            port = parts.port
        except ValueError:
            return None
        if hostname is None:
            return None
        host = _host(hostname)
        if host is None:
            return None
        path = _encode(parts.path, _PATH_SAFE)
        inner = _unwrap_amp(host, path, parts.query)
        if inner is not None:
            text = inner
            continue
        netloc = host if port in (None, 80, 443) else f"{host}:{port}"
        path = _path(path)
        query = _query(parts.query) if parts.query else ""
        return f"https://{netloc}{path}?{query}" if query else f"https://{netloc}{path}"
    return None


def is_shortener(url: str) -> bool:
    """Whether `url` is on a known link shortener (not resolved: see the module docstring)."""
    try:
        host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    except (ValueError, AttributeError):
        return False
    return host.removeprefix("www.") in SHORTENERS


def canonical_links(links: Iterable[LinkLike]) -> list[tuple[str, str]]:
    """(canonical URL, via) of each link, in order, each URL once with the first via that gave it;
    links that are not web URLs are dropped."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for link in links:
        url = canonical_url(link.url)
        if url is not None and url not in seen:
            seen.add(url)
            out.append((url, link.via))
    return out


# A bare URL in plain text: up to whitespace, a quote or an angle bracket (neither is in a URL).
_BARE_URL = re.compile(r"""https?://[^\s<>"'`\x00-\x1f\x7f]+""", re.IGNORECASE)
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def urls_in_text(text: str) -> list[str]:
    """The bare http(s) URLs in plain text (a stored summary), in order, without the punctuation that
    ends a sentence or closes a parenthesis the URL did not open."""
    if not text or "://" not in text:
        return []
    urls = []
    for match in _BARE_URL.finditer(text):
        url = match.group()
        while url:
            last = url[-1]
            closes = last in _PAIRS and url.count(last) > url.count(_PAIRS[last])
            if last in _TRAILING or closes:
                url = url[:-1]
            else:
                break
        if url.partition("://")[2]:
            urls.append(url)
    return urls


__all__ = [
    "LINKS_VERSION",
    "SHORTENERS",
    "TRACKING_PARAMS",
    "LinkLike",
    "canonical_links",
    "canonical_url",
    "is_shortener",
    "urls_in_text",
]
