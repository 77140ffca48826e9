"""The fast path of parse_feed: the fields the dashboard stores, read straight off the stdlib's parser.

feedparser spends most of its time in per-element Python overhead (SAX callbacks, a base-URI join on
every start tag, FeedParserDict look-ups), on rules for hundreds of elements the dashboard never
reads. This module parses the bytes with the C `xml.etree` parser (expat) and walks the tree once,
reading only what `dashboard.sources.feed` turns into a Mention: titles, links, ids, authors, dates,
summaries and contents, declared languages, and the counts (slash:comments, thr:total, thr:count on
a replies link, media:starRating, media:statistics). It returns the values feedparser's strict parser
would give those fields - its rules for them (which of two titles wins, when a second description is
content, how "Name (email)" splits, its date grammars, its fixes for mis-decoded text), restated
here - and nothing else. It imports nothing from feedparser.

`parse` returns None when it cannot give feedparser's values with certainty, and parse_feed then
asks `feedparser.parse` itself:

- the bytes must decode in the charset feedparser picks (RFC 3023, the declaration, the BOM, then
  its guesses; not when chardet is installed, or UTF-16/32 comes without a BOM), and be well-formed XML
  without DOCTYPE (so no entity is ever expanded: an HTML entity such as `&eacute;` in an RSS item
  is not well-formed, and feedparser's loose parser reads it);
- the root must be RSS (0.9x/2.0), RSS 1.0 (rdf:RDF) or Atom (0.3/1.0), every namespace prefix
  must mean one thing throughout the document, and every element must be one this module knows
  the effect of (or a generic extension element, which feedparser keeps without rules);
- xml:base, markup inside Atom text that is not xhtml, RSS text whose first element is a <div>,
  markup holding an element feedparser has a rule for, base64 content, an Atom <source>,
  contributors, item images, and dates outside feedparser's W3C-DTF and RFC 822 grammars are
  declined;
- a feed without entries is left to feedparser, which also says why it is not a feed.

The caller passes headers with an empty Content-Location and no Content-Language (see
`dashboard.sources.feed.decoding_headers`): relative links stay relative, resolved by the caller.

Decision (issue 16): this replaced feed_fast, a 1,300-line replay of feedparser's handler table
built on feedparser's private names, because it is faster and gives the same stored mentions.
`python -m bench.bench_feed_extract` (bench/results/feed_extract.json; 1,000 of bench_poll's feeds x
50 entries, fastest of 3 rounds, CPU per feed, on the shared 2-core AMD EPYC, load ~2-5):

    parse only        feedparser 40.6 ms   feed_fast 7.5 ms    feed_extract 3.8 ms (0.51x feed_fast)
    whole parse_feed  feedparser 56.6 ms   feed_fast 21.1 ms   feed_extract 20.2 ms (0.96x feed_fast)

(the rest of parse_feed, turning entries into Mentions, is the same code for all three). Every
bench feed gives identical mentions on the three, and both fast paths take the same fixtures;
tests/test_feed_extract.py is the differential harness.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import html.entities
import importlib.util
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["Decline", "Parsed", "parse", "parse_content_type"]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What parse_feed reads of a parsed feed: the feed-level values and the entries, as dicts with
    feedparser's key names (`title`, `title_detail`, `published_parsed`, ...)."""

    feed: Mapping[str, Any]
    entries: list[dict[str, Any]]
    version: str


class Decline(Exception):
    """The document needs feedparser itself; the message says why (for tests and debugging)."""


def parse(body: bytes, headers: Mapping[str, str]) -> Parsed | None:
    """The feed's values as feedparser.parse(BytesIO(body), response_headers=headers,
    sanitize_html=False, resolve_relative_uris=False) gives them, or None when unsure."""
    try:
        return extract(body, headers)
    except Decline:
        return None


def extract(body: bytes, headers: Mapping[str, str]) -> Parsed:
    """`parse`, raising Decline (with the reason) instead of returning None."""
    if headers.get("content-location") or headers.get("content-language"):
        raise Decline("relative URIs and the base language are the caller's")
    data = _utf8_document(body, headers)
    root, declarations = _tree(data)
    walker = _Walker(_Namespaces(declarations))
    walker.walk_root(root)
    if not walker.entries:
        raise Decline("no entries: feedparser tells an empty feed from a non-feed")
    return Parsed(walker.feed, walker.entries, walker.version)


# --- bytes -> a UTF-8 XML document (feedparser's RFC 3023 choice of charset) -----------------------

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32be"),
    (codecs.BOM_UTF32_LE, "utf-32le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF8, "utf-8"),
)
_XML_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*?>")
_UNICODE_NAMES = frozenset(
    {"u16", "utf-16", "utf16", "utf_16", "u32", "utf-32", "utf32", "utf_32"}
    | {"iso-10646-ucs-2", "iso-10646-ucs-4", "csucs4", "csunicode", "ucs-2", "ucs-4"}
)
_APPLICATION_XML = frozenset(
    {"application/xml", "application/xml-dtd", "application/xml-external-parsed-entity"}
)
_TEXT_XML = frozenset({"text/xml", "text/xml-external-parsed-entity"})
_UTF8_NAMES = frozenset({"", "utf-8", "utf8"})
_MARKERS = frozenset(
    {b"\x4c\x6f\xa7\x94", b"\x00\x3c\x00\x3f", b"\x3c\x00\x3f\x00", b"\x00\x00\x00\x3c", b"\x3c\x00\x00\x00"}
)
_FIRST_ELEMENT = re.compile(r"<[^!?]")


def parse_content_type(line: str) -> tuple[str, str]:
    """(the MIME type, the charset parameter or "") of a Content-Type header value."""
    mime, *parameters = line.split(";")
    charset = ""
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    return mime.strip(), charset


def _utf8_document(body: bytes, headers: Mapping[str, str]) -> bytes:
    """The document as UTF-8 bytes expat reads as feedparser's decoding would, or Decline.

    The charset is the one RFC 3023 gives (HTTP charset, else the XML declaration, by media type);
    when the body does not decode in it feedparser guesses further, and so it decides."""
    bom = ""
    data = body
    for mark, name in _BOMS:
        if data.startswith(mark) and not (len(mark) == 2 and data[2:4] == b"\x00\x00"):
            bom, data = name, data[len(mark) :]
            break
    if not bom and data[:4] in _MARKERS:
        raise Decline("UTF-16, UTF-32 or EBCDIC without a BOM")
    head = data[:1024]
    if bom and bom != "utf-8":
        head = data[:4096].decode(bom, "ignore").encode("utf-8")
    match = _XML_ENCODING.match(head)
    declared = match.group(1).decode("utf-8", "replace").lower() if match else ""
    if bom and declared in _UNICODE_NAMES:
        declared = bom
    encoding, text = _decoded(data, [_rfc3023(headers, declared), declared, bom, *_GUESSES])
    first = _FIRST_ELEMENT.search(text)
    if "<!" in (text[: first.start()] if first else text).replace("<!--", ""):
        raise Decline("DOCTYPE or ENTITY declaration")
    if codecs.lookup(encoding).name == "utf-8" and declared in _UTF8_NAMES:
        return data  # expat reads these bytes exactly as decoded above
    if _XML_DECLARATION.match(text):
        text = _XML_DECLARATION.sub("<?xml version='1.0' encoding='utf-8'?>", text, count=1)
    return text.encode("utf-8")


# feedparser's guesses when neither the RFC 3023 charset, the declared one nor the BOM's decodes the
# body; with chardet installed it asks chardet first, which is not restated here.
_GUESSES = (
    ()
    if any(map(importlib.util.find_spec, ("cchardet", "chardet")))
    else ("utf-8", "windows-1252", "iso-8859-2")
)


def _decoded(data: bytes, encodings: list[str]) -> tuple[str, str]:
    """feedparser's first charset that decodes the body, in its order (see _GUESSES)."""
    for encoding in encodings:
        if encoding.lower() == "gb2312":
            encoding = "gb18030"
        if not encoding:
            continue
        try:
            return encoding, data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise Decline(f"does not decode as any of {encodings}")


def _rfc3023(headers: Mapping[str, str], declared: str) -> str:
    mime, charset = parse_content_type(headers.get("content-type") or "")
    if mime in _APPLICATION_XML or (mime.startswith("application/") and mime.endswith("+xml")):
        return charset or declared or "utf-8"
    if mime in _TEXT_XML or (mime.startswith("text/") and mime.endswith("+xml")) or mime.startswith("text/"):
        return charset or "us-ascii"
    if headers and "content-type" not in headers:
        return declared or "iso-8859-1"
    return declared or "utf-8"


def _tree(data: bytes) -> tuple[ET.Element, list[tuple[str, str]]]:
    """The element tree, and every namespace declaration in document order."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start-ns", "start"))
    try:
        parser.feed(data)
        parser.close()
    except ET.ParseError as error:
        raise Decline(f"not well-formed: {error}") from error
    declarations: list[tuple[str, str]] = []
    root: ET.Element | None = None
    for event_and_payload in parser.read_events():
        event, payload = cast(tuple[str, Any], event_and_payload)
        if event == "start-ns":
            declarations.append(cast(tuple[str, str], payload))
        elif root is None:
            root = cast(ET.Element, payload)
            declarations.append(("\0root", ""))  # declarations before this one are the root's
    if root is None:
        raise Decline("no root element")
    return root, declarations


# --- namespaces: feedparser's names for elements and attributes ------------------------------------

# The namespaces feedparser knows, by lower-case URI, and the prefix it names their elements with
# ("" for the feed formats themselves, so atom:link in RSS is a plain link).
_KNOWN: dict[str, str] = {
    uri.lower(): prefix
    for uri, prefix in {
        "": "",
        "http://backend.userland.com/rss": "",
        "http://blogs.law.harvard.edu/tech/rss": "",
        "http://purl.org/rss/1.0/": "",
        "http://my.netscape.com/rdf/simple/0.9/": "",
        "http://example.com/newformat#": "",
        "http://example.com/necho": "",
        "http://purl.org/echo/": "",
        "uri/of/echo/namespace#": "",
        "http://purl.org/pie/": "",
        "http://purl.org/atom/ns#": "",
        "http://www.w3.org/2005/Atom": "",
        "http://purl.org/rss/1.0/modules/rss091#": "",
        "http://webns.net/mvcb/": "admin",
        "http://purl.org/rss/1.0/modules/aggregation/": "ag",
        "http://purl.org/rss/1.0/modules/annotate/": "annotate",
        "http://media.tangent.org/rss/1.0/": "audio",
        "http://backend.userland.com/blogChannelModule": "blogChannel",
        "http://creativecommons.org/ns#license": "cc",
        "http://web.resource.org/cc/": "cc",
        "http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html": "creativeCommons",
        "http://backend.userland.com/creativeCommonsRssModule": "creativeCommons",
        "http://purl.org/rss/1.0/modules/company": "co",
        "http://purl.org/rss/1.0/modules/content/": "content",
        "http://my.theinfo.org/changed/1.0/rss/": "cp",
        "http://purl.org/dc/elements/1.1/": "dc",
        "http://purl.org/dc/terms/": "dcterms",
        "http://purl.org/rss/1.0/modules/email/": "email",
        "http://purl.org/rss/1.0/modules/event/": "ev",
        "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
        "http://freshmeat.net/rss/fm/": "fm",
        "http://xmlns.com/foaf/0.1/": "foaf",
        "http://www.w3.org/2003/01/geo/wgs84_pos#": "geo",
        "http://www.georss.org/georss": "georss",
        "http://www.opengis.net/gml": "gml",
        "http://postneo.com/icbm/": "icbm",
        "http://purl.org/rss/1.0/modules/image/": "image",
        "http://www.itunes.com/DTDs/PodCast-1.0.dtd": "itunes",
        "http://example.com/DTDs/PodCast-1.0.dtd": "itunes",
        "http://purl.org/rss/1.0/modules/link/": "l",
        "http://search.yahoo.com/mrss": "media",
        "http://search.yahoo.com/mrss/": "media",
        "http://madskills.com/public/xml/rss/module/pingback/": "pingback",
        "http://prismstandard.org/namespaces/1.2/basic/": "prism",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
        "http://www.w3.org/2000/01/rdf-schema#": "rdfs",
        "http://purl.org/rss/1.0/modules/reference/": "ref",
        "http://purl.org/rss/1.0/modules/richequiv/": "reqv",
        "http://purl.org/rss/1.0/modules/search/": "search",
        "http://purl.org/rss/1.0/modules/slash/": "slash",
        "http://schemas.xmlsoap.org/soap/envelope/": "soap",
        "http://purl.org/rss/1.0/modules/servicestatus/": "ss",
        "http://hacks.benhammersley.com/rss/streaming/": "str",
        "http://purl.org/rss/1.0/modules/subscription/": "sub",
        "http://purl.org/rss/1.0/modules/syndication/": "sy",
        "http://schemas.pocketsoap.com/rss/myDescModule/": "szf",
        "http://purl.org/rss/1.0/modules/taxonomy/": "taxo",
        "http://purl.org/rss/1.0/modules/threading/": "thr",
        "http://purl.org/rss/1.0/modules/textinput/": "ti",
        "http://madskills.com/public/xml/rss/module/trackback/": "trackback",
        "http://wellformedweb.org/commentAPI/": "wfw",
        "http://purl.org/rss/1.0/modules/wiki/": "wiki",
        "http://www.w3.org/1999/xhtml": "xhtml",
        "http://www.w3.org/1999/xlink": "xlink",
        "http://www.w3.org/XML/1998/namespace": "xml",
        "http://podlove.org/simple-chapters": "psc",
    }.items()
}
_PREFIXES = frozenset(prefix.lower() for prefix in _KNOWN.values() if prefix)
# The prefixes of feedparser's rules (_start_dc_creator, ...): whatever namespace such a prefix is
# bound to, feedparser applies its rules to the elements.
_RULED_PREFIXES = frozenset(
    {"dc", "dcterms", "media", "itunes", "georss", "gml", "psc", "cc", "creativecommons", "content"}
    | {"feedburner", "xhtml"}
)
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_REFUSED = frozenset(
    {"http://www.w3.org/1998/math/mathml", "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
)
_ATOM10 = "http://www.w3.org/2005/atom"
_RSS10 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"


def _normal_uri(uri: str) -> str:
    lower = uri.lower()
    return "http://backend.userland.com/rss" if "backend.userland.com/rss" in lower else lower


class _Namespaces:
    """The document's namespace declarations, when each prefix means one thing throughout (else
    Decline): feedparser never undoes a declaration, so a re-bound prefix would need its SAX order."""

    def __init__(self, declarations: list[tuple[str, str]]) -> None:
        self.root_version = ""
        self.element_prefix: dict[str, str] = {}  # an unknown namespace's URI -> its one prefix
        self.attribute_prefix: dict[str, str] = {_XML_NAMESPACE: "xml"}  # URI -> its prefix, if one
        self._ambiguous: set[str] = set()  # URIs under two prefixes: their attributes are declined
        self._bound: dict[str, str] = {}
        before_root = True
        for prefix, uri in declarations:
            if prefix == "\0root":
                before_root = False
            else:
                if before_root and not self.root_version:
                    self.root_version = _version_of(prefix, uri)
                self._declare(prefix, uri)
        self._names: dict[str, str] = {}

    def _declare(self, prefix: str, uri: str) -> None:
        if not uri and not prefix:
            return  # xmlns="": its elements are in no namespace, which feedparser does not track
        if not uri or "}" in uri or any(char.isspace() for char in uri) or uri.lower() in _REFUSED:
            raise Decline(f"namespace {uri!r}")
        if prefix and self._bound.setdefault(prefix, uri) != uri:
            raise Decline(f"prefix {prefix!r} bound to two namespaces")
        known = _KNOWN.get(_normal_uri(uri))
        if known:  # feedparser names its elements by the URI: the prefix must not say otherwise
            if prefix and prefix != known:
                raise Decline(f"namespace {uri} under prefix {prefix!r}")
        elif known == "":  # a feed format's own namespace: its elements go by their local names
            if prefix.lower() in _PREFIXES:
                raise Decline(f"feedparser's prefix {prefix!r} on namespace {uri}")
        else:  # feedparser names the elements by the document's prefix
            if prefix.lower() in _RULED_PREFIXES:
                raise Decline(f"feedparser's prefix {prefix!r} on namespace {uri}")
            if self.element_prefix.setdefault(uri, prefix) != prefix:
                raise Decline(f"namespace {uri} under two prefixes")
        if prefix and self.attribute_prefix.setdefault(uri, prefix) != prefix:
            self._ambiguous.add(uri)

    def name(self, tag: str) -> str:
        """feedparser's lower-case name of an element: "title", "dc:creator", "wp:comment_type"."""
        name = self._names.get(tag)
        if name is None:
            name = self._names[tag] = self._element_name(tag)
        return name

    def _element_name(self, tag: str) -> str:
        if tag[0] != "{":
            return tag.lower()
        uri, local = tag[1:].split("}", 1)
        known = _KNOWN.get(_normal_uri(uri))
        if known is not None:
            return f"{known}:{local}".lower() if known else local.lower()
        prefix = self.element_prefix.get(uri, "")
        return f"{prefix}:{local}".lower() if prefix else local.lower()

    def attributes(self, attrib: Mapping[str, str]) -> dict[str, str]:
        """feedparser's attribute dict: lower-case names (a namespaced one under its local name and
        under its qualified name, a plain one of the same name winning), rel and type lower-cased."""
        attrs: dict[str, str] = {}
        qualified = False
        for key, value in attrib.items():
            if key[0] == "{":
                qualified = True
                uri, local = key[1:].split("}", 1)
                known = _KNOWN.get(uri.lower(), "")
                attrs[(f"{known}:{local}" if known else local).lower()] = value
            else:
                attrs[key.lower()] = value
        if qualified:
            for key, value in attrib.items():
                if key[0] == "{":
                    uri, local = key[1:].split("}", 1)
                    prefix = self.attribute_prefix.get(uri)
                    if prefix is None or uri in self._ambiguous:
                        raise Decline(f"attribute {local} in namespace {uri} of no single prefix")
                    attrs[f"{prefix}:{local}".lower()] = value
                else:
                    attrs[key.lower()] = value
        for key in ("rel", "type"):
            found = attrs.get(key)
            if found:
                attrs[key] = found.lower()
        return attrs


def _version_of(prefix: str, uri: str) -> str:
    lower = uri.lower()
    if not prefix and lower == _RSS090:
        return "rss090"
    if lower == _RSS10:
        return "rss10"
    if lower == _ATOM10:
        return "atom10"
    return ""


# --- values: feedparser's treatment of an element's text ---------------------------------------------

_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_CAN_BE_RELATIVE = frozenset(
    {"comments", "docs", "href", "icon", "id", "link", "logo", "url", "wfw_comment", "wfw_commentrss"}
)
# Code points U+0080-U+009F that windows-1252 text decoded as ISO-8859-1 left behind.
_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_TEXT_TYPES = frozenset({"text/plain"}) | _HTML_TYPES
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY_REFERENCE = re.compile(r"&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_NAMED_ENTITY = re.compile(r"&(\w+);")
# The HTML elements feedparser's sanitizer accepts: only text made of these "looks like HTML".
_HTML_ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "big",
        "blockquote", "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup",
        "command", "datagrid", "datalist", "dd", "del", "details", "dfn", "dialog", "dir", "div", "dl",
        "dt", "em", "event-source", "fieldset", "figcaption", "figure", "font", "footer", "form", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "input", "ins", "kbd", "keygen",
        "label", "legend", "li", "m", "map", "menu", "meter", "multicol", "nav", "nextid", "noscript",
        "ol", "optgroup", "option", "output", "p", "pre", "progress", "q", "s", "samp", "section",
        "select", "small", "sound", "source", "spacer", "span", "strike", "strong", "sub", "sup",
        "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul",
        "var", "video",
    }
)  # fmt: skip
_AUTHOR_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)


def _fix_uri(uri: str) -> str:
    """feedparser's join of a URI with an empty base: only "http:///x" becomes "http://x"."""
    return _URI_FIXER.sub(r"\1\3", uri) if ":///" in uri else uri


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def _quoted(value: str) -> str:
    return '"' + _escape(value).replace('"', "&quot;") + '"'


def _looks_like_html(text: str) -> bool:
    """feedparser's guess that text declared plain is HTML: a close tag or an entity, and only
    known HTML tags and entities."""
    if not (_CLOSE_TAG.search(text) or _ENTITY_REFERENCE.search(text)):
        return False
    if any(tag.lower() not in _HTML_ELEMENTS for tag in _TAG_NAME.findall(text)):
        return False
    return all(name in html.entities.entitydefs for name in _NAMED_ENTITY.findall(text))


def _map_content_type(content_type: str) -> str:
    content_type = content_type.lower()
    if content_type in ("text", "plain"):
        return "text/plain"
    if content_type == "html":
        return "text/html"
    if content_type == "xhtml":
        return "application/xhtml+xml"
    return content_type


def _is_base64(attrs: Mapping[str, str], content_type: str) -> bool:
    if attrs.get("mode", "") == "base64":
        return True
    return not (content_type.startswith("text/") or content_type.endswith(("+xml", "/xml")))


def _repaired(text: str) -> str:
    """feedparser's repairs of non-ASCII text: UTF-8 read as ISO-8859-1 is decoded again, and
    windows-1252 code points in U+0080-U+009F become the characters they stand for."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252)


# --- dates: feedparser's W3C-DTF and RFC 822 grammars; anything else is feedparser's ----------------

_ZONES = {
    "ut": 0, "gmt": 0, "z": 0, "adt": -3, "ast": -4, "at": -4, "edt": -4, "est": -5, "et": -5,
    "cdt": -5, "cst": -6, "ct": -6, "mdt": -6, "mst": -7, "mt": -7, "pdt": -7, "pst": -8, "pt": -8,
    "a": -1, "n": 1, "m": -12, "y": 12,
}  # fmt: skip
_RFC822_ZONES = {**_ZONES, "met": 1, "mest": 2}
_DAYS = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DATE_ERRORS = (KeyError, OverflowError, ValueError, AttributeError)  # what feedparser catches


def parse_date(value: str) -> time.struct_time | None:
    """The UTC time tuple feedparser's date parsing gives `value`: its W3C-DTF rules, then its
    RFC 822 rules; Decline when both fail, as feedparser would go on to grammars not restated here."""
    if not value:
        return None
    for grammar in (_w3dtf, _rfc822):
        try:
            parsed = grammar(value)
        except _DATE_ERRORS:
            continue
        if parsed is not None:
            return parsed
    raise Decline(f"date {value[:40]!r} is for feedparser's other grammars")


def _utc(
    year: int, month: int, day: int, hms: tuple[int, int, int], hours: int, minutes: int
) -> time.struct_time | None:
    try:
        stamp = dt.datetime(year, month, day, *hms)
        return (stamp - dt.timedelta(minutes=minutes, hours=hours)).utctimetuple()
    except (OverflowError, ValueError):
        return None


def _w3dtf(value: str) -> time.struct_time | None:
    if not value.strip():
        return None
    parts = value.lower().split("t")
    if len(parts) == 1:
        parts = parts[0].split()
        if len(parts) == 1:
            parts.append("00:00:00z")
    elif len(parts) > 2:
        return None
    date = parts[0].split("-", 2)
    if len(date[0]) != 4:
        return None
    date.extend(["1"] * (3 - len(date)))
    year, month, day = (int(piece) for piece in date)
    if parts[1].endswith("z"):
        parts[1] = parts[1][:-1]
        parts.append("z")
    at = (parts[1].find("-") + 1 or parts[1].find("+") + 1 or len(parts[1]) + 1) - 1
    parts.append(parts[1][at:])
    parts[1] = parts[1][:at]
    clock = parts[1].split(":", 2)
    clock.extend(["0"] * (3 - len(clock)))
    zone = parts[2]
    if zone[:1] in ("-", "+"):
        hours, minutes = int(zone[1:3]), int(zone[4:])
        if zone.startswith("-"):
            hours, minutes = -hours, -minutes
    else:
        hours, minutes = _ZONES.get(zone, 0), 0
    hour, minute, second = (int(float(piece)) for piece in clock)
    return _utc(year, month, day, (hour, minute, second), hours, minutes)


def _rfc822(value: str) -> time.struct_time | None:
    parts = value.lower().split()
    if len(parts) < 5:
        parts.extend(("00:00:00", "0000"))
    if parts[0][:3] in _DAYS:
        parts = parts[1:]
    if len(parts) < 5:
        return None
    month = _MONTHS.get(parts[1][:3])
    try:
        day = int(parts[0])
    except ValueError:
        if not _MONTHS.get(parts[0][:3]):
            return None
        day, month = int(parts[1]), _MONTHS.get(parts[0][:3])
    if not month:
        return None
    year = int(parts[2])
    if len(parts[2]) <= 2:
        year += 1900 if year >= 90 else 2000
    clock = parts[3].split(":")
    clock.extend(("0",) * (3 - len(clock)))
    hour, minute, second = (int(piece) for piece in clock)
    zone = parts[4].removeprefix("etc/")
    if zone.startswith("gmt"):
        zone = "".join(zone[3:].split(":")) or "gmt"
    if zone and zone[0] in ("-", "+"):
        hours, minutes = int(zone[1:3]), int(zone[4:] if ":" in zone else zone[3:])
        if zone.startswith("-"):
            hours, minutes = -hours, -minutes
    else:
        hours, minutes = _RFC822_ZONES.get(zone, 0), 0
    return _utc(year, month, day, (hour, minute, second), hours, minutes)


# --- the walk -----------------------------------------------------------------------------------------

Handler = Callable[["_Walker", ET.Element, dict[str, str], int, "str | None"], None]

_TITLES = {"title": False, "dc:title": False, "media:title": True}  # True: keeps the title depth
_DESCRIPTIONS = frozenset({"description", "dc:description", "media:description"})
_SUMMARIES = frozenset({"summary", "itunes:summary"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "dc:date", "dcterms:modified", "lastbuilddate"})
_AUTHORS = frozenset({"author", "dc:author", "dc:creator", "itunes:author", "managingeditor"})
_AUTHOR_PARTS = {
    "name": "name", "itunes:name": "name", "email": "email", "itunes:email": "email",
    "uri": "href", "url": "href", "homepage": "href",
}  # fmt: skip
_LANGUAGES = frozenset({"language", "dc:language"})
# What an <image> or <textinput> may hold without feedparser leaving it for the channel.
_IMAGE_PARTS = frozenset({"title", "link", "description", "url", "width", "height"})
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
# Elements feedparser has rules for that change nothing parse_feed reads, as long as they hold no
# element of their own (they are skipped; any other element with a rule of feedparser's is declined).
_INERT = frozenset(
    {
        "category", "dc:subject", "keywords", "enclosure", "cloud", "rights", "copyright", "dc:rights",
        "dc:publisher", "webmaster", "generator", "subtitle", "tagline", "info", "feedburner:browserfriendly",
        "created", "dcterms:created", "expirationdate", "width", "height",
        "media:thumbnail", "media:player", "media:rating", "media:credit", "media:restriction",
        "media:license", "media:keywords", "media:category",
        "itunes:explicit", "itunes:image", "itunes:link", "itunes:subtitle", "itunes:block", "itunes:keywords",
    }
)  # fmt: skip
# Elements feedparser has rules for that only hold others (walked through).
_CONTAINERS = frozenset({"media:group", "media:content", "itunes:category"})
# Everything else with a rule of feedparser's (a generic element without one is kept by the walk).
_DECLINED = frozenset(
    {
        "abstract", "body", "cc:license", "content:encoded", "contributor", "creativecommons:license",
        "dc:contributor", "dcterms:valid", "fullitem", "geom", "georss:box", "georss:line",
        "georss:point", "georss:polygon", "georss:where", "georssgeom", "gml:exterior",
        "gml:linearring", "gml:linestring", "gml:point", "gml:polygon", "gml:pos", "gml:poslist",
        "image", "itunes:owner", "newlocation", "psc:chapter", "psc:chapters", "source", "tags",
        "textinput", "where", "xhtml:body", "channel", "feed", "rss", "item", "entry",
    }
)  # fmt: skip
_RULED = _DECLINED | set(_AUTHOR_PARTS) | _INERT | _CONTAINERS
# Keys parse_feed reads that only the rules above may set: a generic element must not land on them.
_READ_KEYS = frozenset(
    {
        "title", "title_detail", "summary", "summary_detail", "content", "link", "links", "id",
        "published", "updated", "published_parsed", "updated_parsed", "author", "author_detail",
        "authors", "language", "guidislink",
    }
)  # fmt: skip
# Elements without a rule of feedparser's whose value parse_feed reads.
_READ_GENERIC = frozenset(
    {"slash_comments", "thr_total", "media_starrating", "media_statistics", "thr_in-reply-to"}
)
_GENERIC_KEYS = {"date": "updated", "url": "href", "items": "entries", "channel": "feed"}


class _Walker:
    """feedparser's rules for the elements parse_feed reads, over the tree in document order.

    Only the state those rules share is kept: whether the walk is in the feed, an entry or an
    author, the depth of the title that won (feedparser's title_depth), whether the entry has had
    content (hasContent), and the depth each entry value was taken at (property_depth_map)."""

    def __init__(self, namespaces: _Namespaces) -> None:
        self.ns = namespaces
        self.version = namespaces.root_version
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.context: dict[str, Any] = self.feed
        self.depths: dict[str, int] = {}
        self.in_feed = False
        self.in_entry = False
        self.in_author = False
        self.title_depth = -1
        self.has_content = False
        self.guid_is_link = False

    # -- dispatch --

    def walk_root(self, root: ET.Element) -> None:
        name = self.ns.name(root.tag)
        if name not in ("rss", "feed", "rdf:rdf"):
            raise Decline(f"root element {name}")
        if name == "rdf:rdf" and not self.version:
            raise Decline("RDF without the RSS 1.0 or 0.9 namespace")
        self.walk(root, 1, None)

    def walk(self, element: ET.Element, depth: int, lang: str | None) -> None:
        name = self.ns.name(element.tag)
        attrib = element.attrib
        if attrib:
            attrs = self.ns.attributes(attrib)
            if attrs.get("xml:base", attrs.get("base")):
                raise Decline("xml:base")
            declared = attrs.get("xml:lang", attrs.get("lang"))
            if declared is not None:
                lang = declared or None
            if lang and name in ("feed", "rss"):
                self.feed["language"] = lang.replace("_", "-")
        else:
            attrs = {}
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, element, attrs, depth, lang)
        elif name in _RULED:
            raise Decline(f"element {name}")
        else:
            self.generic(element, name, attrs, depth, lang)

    def children(self, element: ET.Element, depth: int, lang: str | None) -> None:
        for child in element:
            self.walk(child, depth + 1, lang)

    # -- containers --

    def rss(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if not self.version.startswith("rss"):
            version = attrs.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            self.version = versions.get(version) or ("rss20" if version.startswith("2.") else "rss")
        self.children(element, depth, lang)

    def atom_feed(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if depth != 1:
            raise Decline("a feed inside a document")
        if not self.version:
            self.version = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}.get(
                attrs.get("version", ""), "atom"
            )
        self.in_feed = True
        self.children(element, depth, lang)
        self.in_feed = False

    def rdf(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if depth != 1:
            raise Decline("rdf:RDF inside a document")
        self.children(element, depth, lang)

    def channel(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if "lastmod" in attrs or "href" in attrs or self.in_entry:
            raise Decline("CDF channel attributes")
        self.in_feed = True
        self.children(element, depth, lang)
        self.in_feed = False

    def entry(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if self.in_entry or self.in_author or "lastmod" in attrs or "href" in attrs:
            raise Decline("an entry inside an entry, or CDF item attributes")
        entry: dict[str, Any] = {}
        self.entries.append(entry)
        self.in_entry = True
        self.guid_is_link = False
        self.title_depth = -1
        about = attrs.get("rdf:about")
        if about:
            entry["id"] = about
        outer, outer_depths = self.context, self.depths
        self.context, self.depths = entry, {}
        self.children(element, depth, lang)
        self.context, self.depths = outer, outer_depths
        self.in_entry = False
        self.has_content = False

    def image(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        """A channel's <image> or <textinput>: its values go to feed["image"], which is not read;
        only its title moves feedparser's title depth."""
        if self.in_entry:
            raise Decline("an image or textinput in an entry")
        allowed = _IMAGE_PARTS if self.ns.name(element.tag) == "image" else _TEXTINPUT_PARTS
        self.title_depth = -1
        for child in element:
            name = self.ns.name(child.tag)
            if len(child) or child.attrib or name not in allowed:
                raise Decline(f"{name} in an image or textinput")
            if name == "title" and (child.text or "").strip():
                self.title_depth = depth + 1

    def publisher(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        """itunes:owner: its name and email are the publisher's, which is not read."""
        for child in element:
            if len(child) or child.attrib or self.ns.name(child.tag) not in ("itunes:name", "itunes:email"):
                raise Decline("markup in an itunes:owner")

    def source(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        """An RSS item's <source>: kept apart by feedparser; it only forgets the title depth."""
        if len(element):
            raise Decline("an Atom source (its elements are the source feed's)")
        self.title_depth = -1

    def container(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        self.children(element, depth, lang)

    def inert(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if len(element):
            raise Decline("markup inside an element parse_feed does not read")

    # -- text elements --

    def leaf_text(self, element: ET.Element) -> str:
        if len(element):
            raise Decline("markup inside a text element")
        return element.text or ""

    def text(self, element: ET.Element, key: str, expecting: bool, content_type: str) -> tuple[str, str]:
        """feedparser's pop(): the element's text stripped, fixed, repaired; and its content type
        (text/plain that looks like HTML is HTML outside Atom)."""
        output = self.leaf_text(element).strip()
        if not expecting:
            return output, content_type
        if key in _CAN_BE_RELATIVE and output and (key != "id" or self.guid_is_link):
            output = _fix_uri(output)
        if content_type == "text/plain" and not self.version.startswith("atom") and _looks_like_html(output):
            content_type = "text/html"
        return _repaired(output), content_type

    def store(self, key: str, value: Any, depth: int) -> None:
        """An entry value as feedparser keeps it: the one taken nearest the entry wins, the last of
        equal depth; a feed value: the last."""
        if self.in_entry:
            old = self.depths.get(key)
            if old is None or depth <= old:
                self.depths[key] = depth
                self.context[_GENERIC_KEYS.get(key, key)] = value
        elif self.in_feed:
            self.context[_GENERIC_KEYS.get(key, key)] = value

    def detail(self, value: str, content_type: str, lang: str | None) -> dict[str, Any]:
        return {
            "type": content_type,
            "language": lang.replace("_", "-") if lang else lang,
            "base": "",
            "value": value,
        }

    def content_text(
        self, element: ET.Element, attrs: dict[str, str], key: str, default_type: str, lang: str | None
    ) -> tuple[str, str]:
        content_type = _map_content_type(attrs.get("type", default_type))
        if _is_base64(attrs, content_type):
            raise Decline(f"base64 {key}")
        if content_type == "application/xhtml+xml":
            if self.version != "atom10":
                raise Decline(f"xhtml {key} outside Atom 1.0")
            return _repaired(self.xhtml(element)), content_type
        if len(element) and not self.version.startswith("atom"):
            return _repaired(self.raw_markup(element)), "application/xhtml+xml"
        return self.text(element, key, True, content_type)

    def raw_markup(self, element: ET.Element) -> str:
        """RSS text holding elements: feedparser makes it xhtml at the first one (the text before it
        stays as written, everything after is serialised as in `xhtml`)."""
        if self.ns.name(element[0].tag) in ("div", "xhtml:div"):
            raise Decline("a <div> first in RSS text: feedparser drops it and loses its depth count")
        pieces = [element.text] if element.text else []
        for child in element:
            self.markup(child, pieces)
            if child.tail:
                pieces.append(_escape(child.tail))
        return "".join(pieces).strip()

    def xhtml(self, element: ET.Element) -> str:
        """Atom 1.0 xhtml text as feedparser serialises it: tags re-written (attributes normalised,
        <br/> as <br></br>), text escaped, and the one <div> that wraps everything removed."""
        pieces = [_escape(element.text)] if element.text else []
        for child in element:
            self.markup(child, pieces)
            if child.tail:
                pieces.append(_escape(child.tail))
        while len(pieces) > 1 and not pieces[-1].strip():
            del pieces[-1]
        while len(pieces) > 1 and not pieces[0].strip():
            del pieces[0]
        if pieces and (pieces[0] == "<div>" or pieces[0].startswith("<div ")) and pieces[-1] == "</div>":
            depth = 0
            for piece in pieces[:-1]:
                if piece.startswith("</"):
                    depth -= 1
                    if depth == 0:
                        break
                elif piece.startswith("<") and not piece.endswith("/>"):
                    depth += 1
            else:
                pieces = pieces[1:-1]
        return "".join(pieces).strip()

    def markup(self, element: ET.Element, pieces: list[str]) -> None:
        name = self.ns.name(element.tag)
        if name in _HANDLERS or name in _RULED:
            raise Decline(f"{name} inside xhtml: feedparser applies its end rule")
        attrs = self.ns.attributes(element.attrib) if element.attrib else {}
        if attrs.get("xml:base", attrs.get("base")):
            raise Decline("xml:base")
        tag = name.split(":", 1)[1] if ":" in name else name
        pieces.append(f"<{tag}{''.join(f' {key}={_quoted(value)}' for key, value in attrs.items())}>")
        if element.text:
            pieces.append(_escape(element.text))
        for child in element:
            self.markup(child, pieces)
            if child.tail:
                pieces.append(_escape(child.tail))
        pieces.append(f"</{name.split(':')[-1]}>")

    def title(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        name = self.ns.name(element.tag)
        value, content_type = self.content_text(element, attrs, "title", "text/plain", lang)
        if not (-1 < self.title_depth <= depth) and (self.in_entry or self.in_feed):
            self.store("title", value, depth)
            self.context["title_detail"] = self.detail(value, content_type, lang)
        if value and not _TITLES[name]:
            self.title_depth = depth

    def description(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if "summary" in self.context and not self.has_content:
            self.content(element, attrs, depth, lang)
            return
        value, content_type = self.content_text(element, attrs, "description", "text/html", lang)
        self.summary_value("description", value, content_type, depth, lang)

    def summary(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        if "summary" in self.context and not self.has_content:
            self.content(element, attrs, depth, lang)
            return
        value, content_type = self.content_text(element, attrs, "summary", "text/plain", lang)
        self.summary_value("summary", value, content_type, depth, lang)

    def summary_value(
        self, element: str, value: str, content_type: str, depth: int, lang: str | None
    ) -> None:
        if self.in_entry:
            self.store("summary", value, depth)
            self.context["summary_detail"] = self.detail(value, content_type, lang)
        elif self.in_feed:
            self.context["subtitle" if element == "description" else "summary"] = value

    def content(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        """Atom <content>, or a second summary before any content (feedparser makes it content)."""
        self.has_content = True
        self.content_value(element, attrs, "text/plain", lang)

    def content_encoded(
        self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None
    ) -> None:
        self.has_content = True
        self.content_value(element, attrs, "text/html", lang)

    def content_value(
        self, element: ET.Element, attrs: dict[str, str], default_type: str, lang: str | None
    ) -> None:
        to_summary = _map_content_type(attrs.get("type", default_type)) in _TEXT_TYPES
        value, content_type = self.content_text(element, attrs, "content", default_type, lang)
        if self.in_entry:
            self.context.setdefault("content", []).append(self.detail(value, content_type, lang))
        if to_summary:
            self.context.setdefault("summary", value)

    # -- links, ids, dates, authors, languages --

    def link(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        if "href" in attrs:
            attrs["href"] = _fix_uri(attrs["href"])
        links = self.context.setdefault("links", [])
        links.append(attrs)
        if "href" in attrs:
            if len(element):
                raise Decline("markup inside a link")
            if attrs["rel"] == "alternate" and _map_content_type(attrs["type"]) in _HTML_TYPES:
                self.context["link"] = attrs["href"]
            return
        value, _ = self.text(element, "link", self.in_feed or self.in_entry, "")
        if self.in_entry:
            if "&" in value:
                value = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
            self.context["link"] = value
            if value:
                links[-1]["href"] = value
        elif self.in_feed:
            if "&" in value:
                value = _LINK_ENTITY.sub(r"&\g<1>", value)
            self.context["link"] = value
            links[-1]["href"] = value

    def guid(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        self.guid_is_link = attrs.get("ispermalink", "true") == "true"
        value, _ = self.text(element, "id", True, "")
        self.store("id", value, depth)
        self.context.setdefault("guidislink", self.guid_is_link and "link" not in self.context)
        if self.guid_is_link:
            self.context.setdefault("link", value)

    def date(self, element: ET.Element, key: str, depth: int) -> None:
        value, _ = self.text(element, key, True, "")
        self.store(key, value, depth)
        if self.in_entry:  # a feed's own dates are not read: an odd one there declines nothing
            self.context[f"{key}_parsed"] = parse_date(value)

    def published(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        self.date(element, "published", depth)

    def updated(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        self.date(element, "updated", depth)

    def language(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        value, _ = self.text(element, "language", True, "")
        self.store("language", value, depth)

    def author(self, element: ET.Element, attrs: dict[str, str], depth: int, lang: str | None) -> None:
        """feedparser's _start_author/_end_author: an RSS "email (Name)" or an Atom person."""
        if self.in_author:
            raise Decline("an author inside an author")
        context = self.context
        context.setdefault("authors", []).append({})
        self.in_author = True
        pieces = [element.text or ""]
        for child in element:
            name = self.ns.name(child.tag)
            child_attrs = self.ns.attributes(child.attrib) if child.attrib else {}
            if len(child) or child_attrs.get("xml:base", child_attrs.get("base")):
                raise Decline(f"markup or xml:base in {name} in an author")
            part = _AUTHOR_PARTS.get(name)
            if part is not None:
                value, _ = self.text(child, part, part == "href", "")
                self.save_author(part, value)
            elif name in _HANDLERS or name in _RULED:
                raise Decline(f"{name} in an author")
            else:  # no rule of feedparser's: kept on the entry; with attributes, its text is the author's
                key = _generic_key(name)
                if child_attrs:
                    context[_GENERIC_KEYS.get(key, key)] = child_attrs
                    pieces.append(child.text or "")
                else:
                    self.store(key, self.text(child, key, True, "")[0], depth + 1)
            pieces.append(child.tail or "")
        self.in_author = False
        output = _repaired("".join(pieces).strip())
        self.store("author", output, depth)
        self.sync_author()

    def save_author(self, key: str, value: str) -> None:
        context = self.context
        context.setdefault("author_detail", {})[key] = value
        self.sync_author()
        context.setdefault("authors", [{}])[-1][key] = value

    def sync_author(self) -> None:
        context = self.context
        detail = context.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context["author"] = f"{name} ({email})"
            elif name:
                context["author"] = name
            elif email:
                context["author"] = email
            return
        author, email = context.get("author"), None
        if not author:
            return
        match = _AUTHOR_EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "")
            author = author.strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault("author_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    # -- elements without a rule of feedparser's --

    def generic(
        self, element: ET.Element, name: str, attrs: dict[str, str], depth: int, lang: str | None
    ) -> None:
        """feedparser keeps an element it has no rule for under "prefix_local": its attributes if it
        has any (media:starRating's count), else its text (slash:comments)."""
        key = _generic_key(name)
        if self.in_author:
            raise Decline(f"{name} in an author")
        if attrs:
            self.context[_GENERIC_KEYS.get(key, key)] = attrs
            self.children(element, depth, lang)
            return
        if len(element):
            if key in _READ_GENERIC or key.endswith("comment_type"):
                raise Decline(f"markup inside {name}")
            self.children(element, depth, lang)
            return
        value, _ = self.text(element, key, True, "")
        self.store(key, value, depth)


def _generic_key(name: str) -> str:
    """feedparser's key for an element it has no rule for ("slash:comments" -> "slash_comments"),
    or Decline when that key is one the rules set (a `<links>` element would overwrite the links)."""
    key = name.replace(":", "_", 1)
    if key in _READ_KEYS or (key.endswith("_detail") and key[: -len("_detail")] in _READ_KEYS):
        raise Decline(f"element {name} lands on {key}")
    return key


_HANDLERS: dict[str, Handler] = {
    "rss": _Walker.rss,
    "feed": _Walker.atom_feed,
    "rdf:rdf": _Walker.rdf,
    "channel": _Walker.channel,
    "item": _Walker.entry,
    "entry": _Walker.entry,
    "image": _Walker.image,
    "itunes:owner": _Walker.publisher,
    "source": _Walker.source,
    "textinput": _Walker.image,
    "link": _Walker.link,
    "guid": _Walker.guid,
    "id": _Walker.guid,
    "content": _Walker.content,
    "content:encoded": _Walker.content_encoded,
    "fullitem": _Walker.content_encoded,
    **dict.fromkeys(_TITLES, _Walker.title),
    **dict.fromkeys(_DESCRIPTIONS, _Walker.description),
    **dict.fromkeys(_SUMMARIES, _Walker.summary),
    **dict.fromkeys(_PUBLISHED, _Walker.published),
    **dict.fromkeys(_UPDATED, _Walker.updated),
    **dict.fromkeys(_AUTHORS, _Walker.author),
    **dict.fromkeys(_LANGUAGES, _Walker.language),
    **dict.fromkeys(_INERT, _Walker.inert),
    **dict.fromkeys(_CONTAINERS, _Walker.container),
}
