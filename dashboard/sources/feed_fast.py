"""The fast path of parse_feed: feedparser's own rules, driven from an ElementTree instead of SAX.

feedparser spends most of its time in per-element Python overhead (SAX callbacks, a base-URI join
on every start tag, FeedParserDict look-ups), not in the rules that decide what an entry says. This
module parses the bytes with the C `xml.etree` parser and replays the document, in document order,
through a port of the part of feedparser's state machine (`feedparser.mixin` and
`feedparser.namespaces`) that `parse_feed` depends on. It produces the same `feed` and `entries`
values feedparser's strict (XML) parser would, for the documents it accepts.

It accepts only what it can replay exactly; everything else raises `Unsupported` and parse_feed
falls back to feedparser itself:

- the bytes must decode (feedparser's own `convert_to_utf8` decides the charset) and be well-formed
  XML with no DOCTYPE or ENTITY declaration (entities are never expanded, nothing is fetched);
- every element whose feedparser handler is not ported here (georss, psc, creative commons, ...),
  `xml:base`, SVG or MathML, base64 content, and other oddities are refused;
- a feed without entries is left to feedparser, which also says why it is not a feed.

The caller passes headers with an empty Content-Location, so every relative URI stays relative
(see `dashboard.sources.feed.decoding_headers`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from xml.sax.saxutils import escape

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import RE_DOCTYPE_PATTERN, RE_ENTITY_PATTERN
from feedparser.urls import _urljoin
from feedparser.util import FeedParserDict

__all__ = ["Parsed", "Unsupported", "parse"]

# Every element handler feedparser has: an element whose handler is not ported below is refused.
_FEEDPARSER_HANDLERS = frozenset(
    name for name in dir(StrictFeedParser) if name.startswith(("_start_", "_end_"))
)
_KNOWN_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_REFUSED_NAMESPACES = frozenset(
    {"http://www.w3.org/1998/math/mathml", "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
)
_CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
_HTML_TYPES = frozenset(_FeedParserMixin.html_types)
_XHTML = "application/xhtml+xml"
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
_AUTHOR_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_DECLARATION_OR_COMMENT = re.compile(rb"<!(?!--)")


class Unsupported(Exception):
    """The document needs feedparser itself: something here is not replayed exactly."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """What feedparser's result holds for parse_feed: the feed-level values and the entries."""

    feed: Mapping[str, Any]
    entries: list[dict[str, Any]]
    version: str


def parse(body: bytes, headers: Mapping[str, str]) -> Parsed:
    """Parse `body` as feedparser.parse(BytesIO(body), response_headers=headers, sanitize_html=False,
    resolve_relative_uris=False) would with its strict parser; raise Unsupported when unsure."""
    if headers.get("content-location"):
        raise Unsupported("relative URIs are resolved by the caller")
    result: dict[str, Any] = {}
    data = convert_to_utf8(headers, body, result)
    if not result.get("encoding"):
        raise Unsupported("no encoding decodes the body")
    _refuse_declarations(data)
    root, declarations = _tree(data)
    machine = _Machine()
    base_language = headers.get("content-language")  # feedparser's baselang (feed.py empties it)
    if base_language:
        machine.lang = base_language
        machine.feeddata["language"] = base_language.replace("_", "-")
    machine.replay(root, declarations)
    if not machine.entries:
        raise Unsupported("no entries: feedparser tells an empty feed from a non-feed")
    return Parsed(machine.feeddata, machine.entries, machine.version)


def _refuse_declarations(data: bytes) -> None:
    """DOCTYPE and ENTITY declarations are feedparser's business (replace_doctype): refuse them."""
    first_element = re.search(rb"<\w", data)
    head = data[: first_element.start()] if first_element else data
    if (
        RE_ENTITY_PATTERN.search(head)
        or RE_DOCTYPE_PATTERN.search(head)
        or _DECLARATION_OR_COMMENT.search(head)
    ):
        raise Unsupported("DOCTYPE or ENTITY declaration")


def _tree(data: bytes) -> tuple[ET.Element, dict[int, list[tuple[str, str]]]]:
    """The element tree, and the namespace declarations each element made (by id of the element)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start-ns", "start"))
    try:
        parser.feed(data)
        parser.close()
    except ET.ParseError as error:
        raise Unsupported(f"not well-formed: {error}") from error
    declarations: dict[int, list[tuple[str, str]]] = {}
    pending: list[tuple[str, str]] = []
    root: ET.Element | None = None
    for event_and_payload in parser.read_events():
        event, payload = cast(tuple[str, Any], event_and_payload)
        if event == "start-ns":
            pending.append(cast(tuple[str, str], payload))
            continue
        element = cast(ET.Element, payload)
        if root is None:
            root = element
        if pending:
            declarations[id(element)] = pending
            pending = []
    if root is None:
        raise Unsupported("no root element")
    return root, declarations


def _map_content_type(content_type: Any) -> Any:
    # Not str(): feedparser calls .lower() on whatever it is, and an AttributeError on None matters.
    content_type = content_type.lower()
    if content_type in ("text", "plain"):
        return "text/plain"
    if content_type == "html":
        return "text/html"
    if content_type == "xhtml":
        return _XHTML
    return content_type


def _strattrs(attrs: list[tuple[str, str]]) -> str:
    return "".join(' {}="{}"'.format(key, escape(value, {'"': "&quot;"})) for key, value in attrs)


def _context_copy(contentparams: dict[str, Any], value: str) -> dict[str, Any]:
    """feedparser's deepcopy of contentparams plus the value (the values are strings or None)."""
    copied = dict(contentparams)
    copied["value"] = value
    return copied


_KEYMAP: dict[str, str] = {
    key: (target[0] if isinstance(target, list) else target) for key, target in FeedParserDict.keymap.items()
}


def _key(name: str) -> str:
    """The key FeedParserDict.__setitem__ stores `name` under ("date" -> "updated", ...).

    The port keeps plain dicts (FeedParserDict's Python-level methods cost more than the rest of
    an element); every key that is not a literal goes through here."""
    return _KEYMAP.get(name, name)


Attributes = dict[str, str]
Start = Callable[["_Machine", Attributes], None]
End = Callable[["_Machine"], None]


@dataclass(frozen=True, slots=True)
class _Element:
    """What feedparser makes of one element name (cached per namespace-qualified tag)."""

    name: str  # feedparser's lower-case "prefix:local" or "local", e.g. "dc:creator"
    generic: str  # the key of an element without handler, e.g. "slash_comments"
    start: Start | None
    end: End | None
    has_handler: bool  # feedparser has a start or end handler (never emitted as inline markup)
    resets_textinput: bool
    resets_image: bool


class _Machine:
    """A port of feedparser's _FeedParserMixin and its namespace handlers, for the handlers that
    matter to parse_feed. Method names and bodies follow feedparser's so the two can be compared
    side by side; the base URI is always empty (the caller resolves links). xml:lang is tracked
    as feedparser tracks it (the feed's `language`, each text's `language`: Mention.language)."""

    def __init__(self) -> None:
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.document_prefixes: dict[str, str] = {_XML_NAMESPACE: "xml"}
        self.infeed = 0
        self.inentry = 0
        self.incontent = 0
        self.intextinput = 0
        self.inimage = 0
        self.inauthor = 0
        self.incontributor = 0
        self.inpublisher = 0
        self.insource = 0
        self.sourcedata: dict[str, Any] = {}
        self.contentparams: dict[str, Any] = {}
        self._summary_key: str | None = None
        self.elementstack: list[list[Any]] = []
        self.title_depth = -1
        self.depth = 0
        self.has_content = 0
        self.guidislink: Any = 0
        self.lang: str | None = None  # the xml:lang in scope (feedparser's, for contentparams)
        self.langstack: list[str | None] = []
        self.property_depth_map: dict[int, dict[str, int]] = {}
        self._elements: dict[str, _Element] = {}
        self._declarations: Mapping[int, list[tuple[str, str]]] = {}

    # --- the walk ---------------------------------------------------------------------------------

    def replay(self, root: ET.Element, declarations: Mapping[int, list[tuple[str, str]]]) -> None:
        """Feed the tree to the handlers in SAX order: prefix mappings, start, text, children, end."""
        if declarations.keys() - {id(root)}:
            self._declarations = declarations
        else:  # the usual case: every namespace declared on the root, no look-up per element
            for prefix, uri in declarations.get(id(root), ()):
                self.start_prefix_mapping(prefix, uri)
        self._walk(root)

    def _walk(self, element: ET.Element) -> None:
        if self._declarations:
            declared = self._declarations.get(id(element))
            if declared:
                for prefix, uri in declared:
                    self.start_prefix_mapping(prefix, uri)
        tag = element.tag
        spec = self._elements.get(tag) or self._element(tag)
        self.unknown_starttag(spec, element.attrib)
        stack = self.elementstack
        text = element.text
        if text and stack:  # handle_data, inlined: this runs for every text and tail
            if self.contentparams.get("type") == _XHTML:
                text = escape(text)
            stack[-1][2].append(text)
        for child in element:
            self._walk(child)
            text = child.tail
            if text and stack:
                if self.contentparams.get("type") == _XHTML:
                    text = escape(text)
                stack[-1][2].append(text)
        self.unknown_endtag(spec)

    def start_prefix_mapping(self, prefix: str, uri: str) -> None:
        """_StrictFeedParser.startPrefixMapping."""
        if not uri:
            return
        if uri.lower() in _REFUSED_NAMESPACES or "}" in uri or any(char.isspace() for char in uri):
            # xlink declarations become attributes in feedparser; SAX splits names on whitespace.
            raise Unsupported(f"namespace {uri!r}")
        if prefix:
            known = self.document_prefixes.get(uri)
            if known is not None and known != prefix:
                raise Unsupported("one namespace under two prefixes")
            self.document_prefixes[uri] = prefix
        self.track_namespace(prefix or None, uri)
        self._elements.clear()

    def _element(self, tag: str) -> _Element:
        name = self._element_name(tag)
        if ":" in name:
            prefix, suffix = name.split(":", 1)
        else:
            prefix, suffix = "", name
        prefix = self.namespacemap.get(prefix, prefix)
        if prefix:
            prefix = prefix + "_"
        start_name = "_start_" + prefix + suffix
        end_name = "_end_" + prefix + suffix
        start = _STARTS.get(start_name)
        end = _ENDS.get(end_name)
        if (start is None and start_name in _FEEDPARSER_HANDLERS) or (
            end is None and end_name in _FEEDPARSER_HANDLERS
        ):
            raise Unsupported(f"element {name} (feedparser's handler is not ported)")
        spec = _Element(
            name=name,
            generic=prefix + suffix,
            start=start,
            end=end,
            has_handler=start is not None or end is not None,
            resets_textinput=not prefix and name not in ("title", "link", "description", "name"),
            resets_image=not prefix
            and name not in ("title", "link", "description", "url", "href", "width", "height"),
        )
        self._elements[tag] = spec
        return spec

    def _element_name(self, tag: str) -> str:
        """_StrictFeedParser.startElementNS's name: the known prefix, else the document's, lower case."""
        if tag[0] == "{":
            namespace, localname = tag[1:].split("}", 1)
        else:
            namespace, localname = "", tag
        lowernamespace = namespace.lower()
        if "backend.userland.com/rss" in lowernamespace:
            namespace = lowernamespace = "http://backend.userland.com/rss"
        if lowernamespace in _REFUSED_NAMESPACES:
            raise Unsupported(f"namespace {namespace}")
        prefix = _KNOWN_NAMESPACES.get(lowernamespace)
        name = localname.lower()
        if prefix:
            name = prefix.lower() + ":" + name
        elif namespace:  # feedparser's `elif namespace and not qname`: expat gives no qname
            for known_prefix, uri in self.namespaces_in_use.items():
                if known_prefix and uri == namespace:
                    name = known_prefix + ":" + name
                    break
        return name.lower()

    def _attributes(self, attrib: Mapping[str, str]) -> list[tuple[str, str]]:
        """startElementNS's attribute names (known prefixes, then the document's qnames), normalised."""
        attrs: dict[str, str] = {}
        qualified = False
        for key, value in attrib.items():
            if key[0] == "{":
                qualified = True
                namespace, localname = key[1:].split("}", 1)
                prefix = _KNOWN_NAMESPACES.get(namespace.lower(), "")
                attrs[(prefix + ":" + localname if prefix else localname).lower()] = value
            else:
                attrs[key.lower()] = value
        if qualified:
            # SAX's qnames, every attribute in document order: a plain `count` written before
            # `thr:count` is set again by its own qname after the namespaced one took its key.
            for key, value in attrib.items():
                if key[0] == "{":
                    namespace, localname = key[1:].split("}", 1)
                    document_prefix = self.document_prefixes.get(namespace)
                    if document_prefix is None:
                        raise Unsupported("attribute prefix unknown")
                    attrs[(document_prefix + ":" + localname).lower()] = value
                else:
                    attrs[key.lower()] = value
        return [
            (key, value.lower() if key in ("rel", "type") and value else value)
            for key, value in attrs.items()
        ]

    # --- _FeedParserMixin --------------------------------------------------------------------------

    def track_namespace(self, prefix: str | None, uri: str) -> None:
        loweruri = uri.lower()
        if not self.version:
            if (prefix, loweruri) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                self.version = "rss090"
            elif loweruri == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif loweruri == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if loweruri.find("backend.userland.com/rss") != -1:
            uri = "http://backend.userland.com/rss"
            loweruri = uri
        if loweruri in _KNOWN_NAMESPACES:
            self.namespacemap[prefix] = _KNOWN_NAMESPACES[loweruri]
            self.namespaces_in_use[_KNOWN_NAMESPACES[loweruri]] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri

    def unknown_starttag(self, spec: _Element, attrib: Mapping[str, str]) -> None:
        self.depth += 1
        if attrib:
            attrs = self._attributes(attrib)
            attrs_d = dict(attrs)
            if attrs_d.get("xml:base", attrs_d.get("base")):
                raise Unsupported("xml:base")
            # feedparser's xml:lang tracking: an empty one unsets the language, none inherits it.
            lang = attrs_d.get("xml:lang", attrs_d.get("lang"))
            if lang == "":
                lang = None
            elif lang is None:
                lang = self.lang
            # feedparser compares the lower-cased name with "rdf:RDF": an RDF root never matches.
            if lang and spec.name in ("feed", "rss"):
                self.feeddata["language"] = lang.replace("_", "-")
            self.lang = lang
        else:
            attrs = []
            attrs_d = {}
        self.langstack.append(self.lang)
        if self.incontent:
            tag = spec.name
            contentparams = self.contentparams
            if not contentparams.get("type", "xml").endswith("xml"):
                if tag in ("xhtml:div", "div"):
                    return
                if self.version == "atom10":
                    raise Unsupported("markup inside Atom text that is not xhtml")
                contentparams["type"] = _XHTML
            if contentparams.get("type") == _XHTML:
                if spec.has_handler:
                    raise Unsupported(f"feed element {tag} inside content")
                if ":" in tag:
                    tag = tag.split(":", 1)[1]
                if tag in ("svg", "math"):
                    raise Unsupported(tag)
                self.handle_data(f"<{tag}{_strattrs(attrs)}>", escape_markup=0)
                return
        if spec.resets_textinput:
            self.intextinput = 0
        if spec.resets_image:
            self.inimage = 0
        start = spec.start
        if start is not None:
            try:
                start(self, attrs_d)
                return
            except AttributeError:
                pass
        if attrs_d:
            self._get_context()[_key(spec.generic)] = attrs_d
        else:
            self.elementstack.append([spec.generic, 1, []])

    def unknown_endtag(self, spec: _Element) -> None:
        end = spec.end
        if end is None:
            self.pop(spec.generic)
        else:
            try:
                end(self)
            except AttributeError:
                self.pop(spec.generic)
        if self.incontent:
            contentparams = self.contentparams
            if not contentparams.get("type", "xml").endswith("xml"):
                if spec.name in ("xhtml:div", "div"):
                    return
                contentparams["type"] = _XHTML
            if contentparams.get("type") == _XHTML:
                self.handle_data("</{}>".format(spec.name.split(":")[-1]), escape_markup=0)
        # xml:lang going out of scope (after the early return above, as in feedparser).
        langstack = self.langstack
        if langstack:
            langstack.pop()
            if langstack:
                self.lang = langstack[-1]
        self.depth -= 1

    def handle_data(self, text: str, escape_markup: int = 1) -> None:
        if not self.elementstack:
            return
        if escape_markup and self.contentparams.get("type") == _XHTML:
            text = escape(text)
        self.elementstack[-1][2].append(text)

    def push(self, element: str, expecting_text: Any) -> None:
        self.elementstack.append([element, expecting_text, []])

    def pop(self, element: str, strip_whitespace: int = 1) -> Any:
        stack = self.elementstack
        if not stack or stack[-1][0] != element:
            return None
        element, expecting_text, pieces = stack.pop()
        contentparams = self.contentparams
        if self.version == "atom10" and contentparams.get("type", "text") == _XHTML:
            pieces = _strip_enclosing_div(pieces)
        output = pieces[0] if len(pieces) == 1 else "".join(pieces)
        if strip_whitespace:
            output = output.strip()
        if not expecting_text:
            return output
        if contentparams.get("base64", 0):
            with contextlib.suppress(binascii.Error, binascii.Incomplete, UnicodeDecodeError):
                output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        if (
            element in _CAN_BE_RELATIVE_URI
            and output
            and (element != "id" or self.guidislink)
            and ":///" in output
        ):
            output = _urljoin("", output)  # with no base, only its fix of "http:///x" does anything
        if (
            not self.version.startswith("atom")
            and contentparams.get("type") == "text/plain"
            and _looks_like_html(output)
        ):
            contentparams["type"] = "text/html"
        contentparams.pop("mode", None)
        contentparams.pop("base64", None)
        if not output.isascii():
            # feedparser's fixes for UTF-8 read as ISO-8859-1, and for windows-1252 code points.
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")
            output = output.translate(_cp1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault(element, [])
                entry[element].append(_context_copy(contentparams, output))
            elif element == "link":
                if not self.inimage:
                    if "&" in output:
                        output = output.replace("&amp;", "&")
                        output = _LINK_ENTITY.sub(r"&\g<1>", output)
                    entry[element] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.property_depth_map.setdefault(id(entry), {})
                old_value_depth = depths.get(element)  # by element name, not by stored key
                if old_value_depth is None or self.depth <= old_value_depth:
                    depths[element] = self.depth
                    entry[_key(element)] = output
                if self.incontent:
                    entry[_key(element + "_detail")] = _context_copy(contentparams, output)
        elif self.infeed or self.insource:
            context = self._get_context()
            if element == "description":
                element = "subtitle"
            context[_key(element)] = output
            if element == "link":
                if "&" in output:
                    output = _LINK_ENTITY.sub(r"&\g<1>", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[_key(element + "_detail")] = _context_copy(contentparams, output)
        return output

    def push_content(
        self, tag: str, attrs_d: Attributes, default_content_type: str, expecting_text: Any
    ) -> None:
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        self.contentparams = {
            "type": _map_content_type(attrs_d.get("type", default_content_type)),
            "language": self.lang,
            "base": "",
        }
        self.contentparams["base64"] = self._is_base64(attrs_d, self.contentparams)
        if self.contentparams["base64"]:
            raise Unsupported("base64 content")
        self.push(tag, expecting_text)

    def pop_content(self, tag: str) -> Any:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams.clear()
        return value

    @staticmethod
    def _is_base64(attrs_d: Attributes, contentparams: Mapping[str, Any]) -> int:
        if attrs_d.get("mode", "") == "base64":
            return 1
        content_type = str(contentparams["type"])
        if content_type.startswith("text/") or content_type.endswith(("+xml", "/xml")):
            return 0
        return 1

    def _map_to_standard_prefix(self, name: str) -> str:
        colonpos = name.find(":")
        if colonpos != -1:
            prefix = name[:colonpos]
            suffix = name[colonpos + 1 :]
            prefix = self.namespacemap.get(prefix, prefix)
            name = prefix + ":" + suffix
        return name

    def _get_attribute(self, attrs_d: Attributes, name: str) -> str | None:
        return attrs_d.get(self._map_to_standard_prefix(name))

    @staticmethod
    def _enforce_href(attrs_d: Attributes) -> Attributes:
        href = attrs_d.get("url", attrs_d.get("uri", attrs_d.get("href", None)))
        if href:
            attrs_d.pop("url", None)
            attrs_d.pop("uri", None)
            attrs_d["href"] = href
        return attrs_d

    def _save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self._get_context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def _get_context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feeddata["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def _save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self._get_context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self._sync_author_detail()
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def _save_contributor(self, key: str, value: Any) -> None:
        context = self._get_context()
        context.setdefault("contributors", [{}])
        context["contributors"][-1][key] = value

    def _sync_author_detail(self, key: str = "author") -> None:
        context = self._get_context()
        detail = context.get(f"{key}s", [{}])[-1]
        if detail:
            name = detail.get("name")
            email = detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
        else:
            author, email = context.get(key), None
            if not author:
                return
            emailmatch = _AUTHOR_EMAIL.search(author)
            if emailmatch:
                email = emailmatch.group(0)
                author = author.replace(email, "")
                author = author.replace("()", "")
                author = author.replace("<>", "")
                author = author.replace("&lt;&gt;", "")
                author = author.strip()
                if author and (author[0] == "("):
                    author = author[1:]
                if author and (author[-1] == ")"):
                    author = author[:-1]
                author = author.strip()
            if author or email:
                context.setdefault(f"{key}_detail", detail)
            if author:
                detail["name"] = author
            if email:
                detail["email"] = email

    def _add_tag(self, term: Any, scheme: Any, label: Any) -> None:
        context = self._get_context()
        tags = context.setdefault("tags", [])
        if (not term) and (not scheme) and (not label):
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    # --- namespaces/_base.py ------------------------------------------------------------------------

    def _start_rss(self, attrs_d: Attributes) -> None:
        versionmap = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
        if not self.version or not self.version.startswith("rss"):
            attr_version = attrs_d.get("version", "")
            version = versionmap.get(attr_version)
            if version:
                self.version = version
            elif attr_version.startswith("2."):
                self.version = "rss20"
            else:
                self.version = "rss"

    def _start_channel(self, attrs_d: Attributes) -> None:
        self.infeed = 1
        self._cdf_common(attrs_d)

    def _cdf_common(self, attrs_d: Attributes) -> None:
        if "lastmod" in attrs_d or "href" in attrs_d:
            raise Unsupported("CDF attributes")

    def _start_feed(self, attrs_d: Attributes) -> None:
        self.infeed = 1
        versionmap = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
        if not self.version:
            version = versionmap.get(attrs_d.get("version", ""))
            self.version = version or "atom"

    def _end_channel(self) -> None:
        self.infeed = 0

    _end_feed = _end_channel

    def _start_image(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def _end_image(self) -> None:
        self.pop("image")
        self.inimage = 0

    def _start_textinput(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def _end_textinput(self) -> None:
        self.pop("textinput")
        self.intextinput = 0

    def _start_author(self, attrs_d: Attributes) -> None:
        self.inauthor = 1
        self.push("author", 1)
        context = self._get_context()
        context.setdefault("authors", [])
        context["authors"].append({})

    _start_managingeditor = _start_author

    def _end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self._sync_author_detail()

    _end_managingeditor = _end_author

    def _start_contributor(self, attrs_d: Attributes) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("contributor", 0)

    def _end_contributor(self) -> None:
        self.pop("contributor")
        self.incontributor = 0

    def _start_name(self, attrs_d: Attributes) -> None:
        self.push("name", 0)

    def _end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher:
            self._save_author("name", value, "publisher")
        elif self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            self._save_contributor("name", value)
        elif self.intextinput:
            context = self._get_context()
            context["name"] = value

    def _start_url(self, attrs_d: Attributes) -> None:
        self.push("href", 1)

    _start_homepage = _start_url
    _start_uri = _start_url

    def _end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self._save_author("href", value)
        elif self.incontributor:
            self._save_contributor("href", value)

    _end_homepage = _end_url
    _end_uri = _end_url

    def _start_email(self, attrs_d: Attributes) -> None:
        self.push("email", 0)

    def _end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher:
            self._save_author("email", value, "publisher")
        elif self.inauthor:
            self._save_author("email", value)
        elif self.incontributor:
            self._save_contributor("email", value)

    def _start_subtitle(self, attrs_d: Attributes) -> None:
        self.push_content("subtitle", attrs_d, "text/plain", 1)

    _start_tagline = _start_subtitle

    def _end_subtitle(self) -> None:
        self.pop_content("subtitle")

    _end_tagline = _end_subtitle

    def _start_rights(self, attrs_d: Attributes) -> None:
        self.push_content("rights", attrs_d, "text/plain", 1)

    _start_copyright = _start_rights

    def _end_rights(self) -> None:
        self.pop_content("rights")

    _end_copyright = _end_rights

    def _start_item(self, attrs_d: Attributes) -> None:
        self.entries.append({})
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = 0
        self.title_depth = -1
        id_ = self._get_attribute(attrs_d, "rdf:about")
        if id_:
            context = self._get_context()
            context["id"] = id_
        self._cdf_common(attrs_d)

    _start_entry = _start_item

    def _end_item(self) -> None:
        self.pop("item")
        self.inentry = 0
        self.has_content = 0

    _end_entry = _end_item

    def _start_language(self, attrs_d: Attributes) -> None:
        self.push("language", 1)

    def _end_language(self) -> None:
        self.pop("language")  # feedparser's self.lang only reaches contentparams["language"]

    def _start_webmaster(self, attrs_d: Attributes) -> None:
        self.push("publisher", 1)

    def _end_webmaster(self) -> None:
        self.pop("publisher")
        self._sync_author_detail("publisher")

    def _start_published(self, attrs_d: Attributes) -> None:
        self.push("published", 1)

    _start_issued = _start_published
    _start_pubdate = _start_published

    def _end_published(self) -> None:
        value = self.pop("published")
        self._save("published_parsed", _parse_date(value), overwrite=True)

    _end_issued = _end_published
    _end_pubdate = _end_published

    def _start_updated(self, attrs_d: Attributes) -> None:
        self.push("updated", 1)

    _start_modified = _start_updated
    _start_lastbuilddate = _start_updated

    def _end_updated(self) -> None:
        value = self.pop("updated")
        self._save("updated_parsed", _parse_date(value), overwrite=True)

    _end_modified = _end_updated
    _end_lastbuilddate = _end_updated

    def _start_created(self, attrs_d: Attributes) -> None:
        self.push("created", 1)

    def _end_created(self) -> None:
        value = self.pop("created")
        self._save("created_parsed", _parse_date(value), overwrite=True)

    def _start_expirationdate(self, attrs_d: Attributes) -> None:
        self.push("expired", 1)

    def _end_expirationdate(self) -> None:
        self._save("expired_parsed", _parse_date(self.pop("expired")), overwrite=True)

    def _start_category(self, attrs_d: Attributes) -> None:
        term = attrs_d.get("term")
        scheme = attrs_d.get("scheme", attrs_d.get("domain"))
        label = attrs_d.get("label")
        self._add_tag(term, scheme, label)
        self.push("category", 1)

    _start_keywords = _start_category

    def _end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        context = self._get_context()
        tags = context["tags"]
        if value and len(tags) and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self._add_tag(value, None, None)

    _end_keywords = _end_category

    def _start_cloud(self, attrs_d: Attributes) -> None:
        self._get_context()["cloud"] = dict(attrs_d)

    def _start_link(self, attrs_d: Attributes) -> None:
        attrs_d.setdefault("rel", "alternate")
        if attrs_d["rel"] == "self":
            attrs_d.setdefault("type", "application/atom+xml")
        else:
            attrs_d.setdefault("type", "text/html")
        context = self._get_context()
        attrs_d = self._enforce_href(attrs_d)
        if "href" in attrs_d:
            attrs_d["href"] = _urljoin("", attrs_d["href"])
        expecting_text = self.infeed or self.inentry or self.insource
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(dict(attrs_d))
        if "href" in attrs_d:
            if attrs_d.get("rel") == "alternate" and _map_content_type(attrs_d["type"]) in _HTML_TYPES:
                context["link"] = attrs_d["href"]
        else:
            self.push("link", expecting_text)

    def _end_link(self) -> None:
        self.pop("link")

    def _start_guid(self, attrs_d: Attributes) -> None:
        self.guidislink = attrs_d.get("ispermalink", "true") == "true"
        self.push("id", 1)

    _start_id = _start_guid

    def _end_guid(self) -> None:
        value = self.pop("id")
        self._save("guidislink", self.guidislink and "link" not in self._get_context())
        if self.guidislink:
            self._save("link", value)

    _end_id = _end_guid

    def _start_title(self, attrs_d: Attributes) -> None:
        self.push_content("title", attrs_d, "text/plain", self.infeed or self.inentry or self.insource)

    def _end_title(self) -> None:
        value = self.pop_content("title")
        if not value:
            return
        self.title_depth = self.depth

    def _start_description(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self._summary_key = "content"
            self._start_content(attrs_d)
        else:
            self.push_content(
                "description", attrs_d, "text/html", self.infeed or self.inentry or self.insource
            )

    def _start_abstract(self, attrs_d: Attributes) -> None:
        self.push_content("description", attrs_d, "text/plain", self.infeed or self.inentry or self.insource)

    def _end_description(self) -> None:
        if self._summary_key == "content":
            self._end_content()
        else:
            self.pop_content("description")
        self._summary_key = None

    _end_abstract = _end_description

    def _start_info(self, attrs_d: Attributes) -> None:
        self.push_content("info", attrs_d, "text/plain", 1)

    _start_feedburner_browserfriendly = _start_info

    def _end_info(self) -> None:
        self.pop_content("info")

    _end_feedburner_browserfriendly = _end_info

    def _start_generator(self, attrs_d: Attributes) -> None:
        if attrs_d:
            attrs_d = self._enforce_href(attrs_d)
            if "href" in attrs_d:
                attrs_d["href"] = _urljoin("", attrs_d["href"])
        self._get_context()["generator_detail"] = dict(attrs_d)
        self.push("generator", 1)

    def _end_generator(self) -> None:
        value = self.pop("generator")
        context = self._get_context()
        if "generator_detail" in context:
            context["generator_detail"]["name"] = value

    def _start_summary(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self._summary_key = "content"
            self._start_content(attrs_d)
        else:
            self._summary_key = "summary"
            self.push_content(self._summary_key, attrs_d, "text/plain", 1)

    def _end_summary(self) -> None:
        if self._summary_key == "content":
            self._end_content()
        else:
            self.pop_content(self._summary_key or "summary")
        self._summary_key = None

    def _start_enclosure(self, attrs_d: Attributes) -> None:
        attrs_d = self._enforce_href(attrs_d)
        context = self._get_context()
        attrs_d["rel"] = "enclosure"
        context.setdefault("links", []).append(dict(attrs_d))

    def _start_source(self, attrs_d: Attributes) -> None:
        if "url" in attrs_d:
            self.sourcedata["href"] = attrs_d["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        value = self.pop("source")
        if value:
            self.sourcedata["title"] = value
        self._get_context()["source"] = copy.deepcopy(self.sourcedata)
        self.sourcedata.clear()

    def _start_content(self, attrs_d: Attributes) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/plain", 1)
        src = attrs_d.get("src")
        if src:
            self.contentparams["src"] = src
        self.push("content", 1)

    def _start_content_encoded(self, attrs_d: Attributes) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/html", 1)

    _start_fullitem = _start_content_encoded

    def _end_content(self) -> None:
        copy_to_summary = _map_content_type(self.contentparams.get("type")) in ({"text/plain"} | _HTML_TYPES)
        value = self.pop_content("content")
        if copy_to_summary:
            self._save("summary", value)

    _end_content_encoded = _end_content
    _end_fullitem = _end_content

    def _start_width(self, attrs_d: Attributes) -> None:
        self.push("width", 0)

    def _end_width(self) -> None:
        value = self.pop("width")
        try:
            value = int(value)
        except ValueError:
            value = 0
        if self.inimage:
            context = self._get_context()
            context["width"] = value

    def _start_height(self, attrs_d: Attributes) -> None:
        self.push("height", 0)

    def _end_height(self) -> None:
        value = self.pop("height")
        try:
            value = int(value)
        except ValueError:
            value = 0
        if self.inimage:
            context = self._get_context()
            context["height"] = value

    # --- namespaces/dc.py ----------------------------------------------------------------------------

    _start_dc_author = _start_author
    _end_dc_author = _end_author
    _start_dc_creator = _start_author
    _end_dc_creator = _end_author
    _start_dc_date = _start_updated
    _end_dc_date = _end_updated
    _start_dc_description = _start_description
    _end_dc_description = _end_description
    _start_dc_language = _start_language
    _end_dc_language = _end_language
    _start_dc_publisher = _start_webmaster
    _end_dc_publisher = _end_webmaster
    _start_dc_rights = _start_rights
    _end_dc_rights = _end_rights
    _start_dc_subject = _start_category
    _end_dc_subject = _end_category
    _start_dc_title = _start_title
    _end_dc_title = _end_title
    _start_dcterms_created = _start_created
    _end_dcterms_created = _end_created
    _start_dcterms_issued = _start_published
    _end_dcterms_issued = _end_published
    _start_dcterms_modified = _start_updated
    _end_dcterms_modified = _end_updated

    def _start_dc_contributor(self, attrs_d: Attributes) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    # --- namespaces/mediarss.py ------------------------------------------------------------------------

    def _start_media_category(self, attrs_d: Attributes) -> None:
        attrs_d.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        self._start_category(attrs_d)

    def _end_media_category(self) -> None:
        self._end_category()

    def _end_media_keywords(self) -> None:
        for term in self.pop("media_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), None, None)

    def _start_media_title(self, attrs_d: Attributes) -> None:
        self._start_title(attrs_d)

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_media_group(self, attrs_d: Attributes) -> None:
        pass

    def _start_media_rating(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_rating", attrs_d)
        self.push("rating", 1)

    def _end_media_rating(self) -> None:
        rating = self.pop("rating")
        if rating is not None and rating.strip():
            context = self._get_context()
            context["media_rating"]["content"] = rating

    def _start_media_credit(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_credit", [])
        context["media_credit"].append(attrs_d)
        self.push("credit", 1)

    def _end_media_credit(self) -> None:
        credit = self.pop("credit")
        if credit is not None and credit.strip():
            context = self._get_context()
            context["media_credit"][-1]["content"] = credit

    def _start_media_description(self, attrs_d: Attributes) -> None:
        self._start_description(attrs_d)

    def _end_media_description(self) -> None:
        self._end_description()

    def _start_media_restriction(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_restriction", attrs_d)
        self.push("restriction", 1)

    def _end_media_restriction(self) -> None:
        restriction = self.pop("restriction")
        if restriction is not None and restriction.strip():
            context = self._get_context()
            context["media_restriction"]["content"] = [cc.strip().lower() for cc in restriction.split(" ")]

    def _start_media_license(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_license", attrs_d)
        self.push("license", 1)

    def _end_media_license(self) -> None:
        license_ = self.pop("license")
        if license_ is not None and license_.strip():
            context = self._get_context()
            context["media_license"]["content"] = license_

    def _start_media_content(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_content", [])
        context["media_content"].append(attrs_d)

    def _start_media_thumbnail(self, attrs_d: Attributes) -> None:
        context = self._get_context()
        context.setdefault("media_thumbnail", [])
        self.push("url", 1)
        context["media_thumbnail"].append(attrs_d)

    def _end_media_thumbnail(self) -> None:
        url = self.pop("url")
        context = self._get_context()
        if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
            context["media_thumbnail"][-1]["url"] = url

    def _start_media_player(self, attrs_d: Attributes) -> None:
        self.push("media_player", 0)
        self._get_context()["media_player"] = dict(attrs_d)

    def _end_media_player(self) -> None:
        value = self.pop("media_player")
        context = self._get_context()
        context["media_player"]["content"] = value

    # --- namespaces/itunes.py --------------------------------------------------------------------------

    _start_itunes_author = _start_author
    _end_itunes_author = _end_author
    _start_itunes_name = _start_name
    _end_itunes_name = _end_name
    _start_itunes_email = _start_email
    _end_itunes_email = _end_email
    _start_itunes_subtitle = _start_subtitle
    _end_itunes_subtitle = _end_subtitle
    _start_itunes_summary = _start_summary
    _end_itunes_summary = _end_summary

    def _end_itunes_category(self) -> None:
        self._end_category()

    def _start_itunes_owner(self, attrs_d: Attributes) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self.pop("publisher")
        self.inpublisher = 0
        self._sync_author_detail("publisher")

    def _end_itunes_keywords(self) -> None:
        for term in self.pop("itunes_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), "http://www.itunes.com/", None)

    def _start_itunes_category(self, attrs_d: Attributes) -> None:
        self._add_tag(attrs_d.get("text"), "http://www.itunes.com/", None)
        self.push("category", 1)

    def _start_itunes_image(self, attrs_d: Attributes) -> None:
        self.push("itunes_image", 0)
        if attrs_d.get("href"):
            self._get_context()["image"] = {"href": attrs_d.get("href")}
        elif attrs_d.get("url"):
            self._get_context()["image"] = {"href": attrs_d.get("url")}

    _start_itunes_link = _start_itunes_image

    def _end_itunes_block(self) -> None:
        value = self.pop("itunes_block", 0)
        self._get_context()["itunes_block"] = ((value == "yes" or value == "Yes") and 1) or 0

    def _end_itunes_explicit(self) -> None:
        value = self.pop("itunes_explicit", 0)
        self._get_context()["itunes_explicit"] = (None, False, True)[
            (value == "yes" and 2) or value == "clean" or 0
        ]


def _handlers(prefix: str) -> dict[str, Callable[..., None]]:
    """The ported handlers by feedparser's method name (`_start_textinput` also answers for
    `_start_textInput`, which feedparser can never reach because tags are lower-cased)."""
    found = {name: getattr(_Machine, name) for name in dir(_Machine) if name.startswith(prefix)}
    unknown = set(found) - _FEEDPARSER_HANDLERS
    if unknown:  # a typo here would silently turn a ported handler into a generic element
        raise RuntimeError(f"handlers feedparser does not have: {sorted(unknown)}")
    return found


_STARTS: dict[str, Callable[[_Machine, Attributes], None]] = _handlers("_start_")
_ENDS: dict[str, Callable[[_Machine], None]] = _handlers("_end_")


def _strip_enclosing_div(pieces: list[str]) -> list[str]:
    """pop()'s removal of the <div> that wraps Atom xhtml content."""
    while pieces and len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while pieces and len(pieces) > 1 and not pieces[0].strip():
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
    return pieces
