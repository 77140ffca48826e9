"""OPML in and out: subscriptions from another feed reader into feeds.toml, and our feeds back out.

Import reads OPML 1.0/2.0 (outline elements with `xmlUrl`; the titles of enclosing folder outlines
and the `category` attribute become tags), then writes `[[feeds]]` entries into feeds.toml's text
after its last feed, so every existing comment and the layout stay as the user wrote them. A feed whose URL is
already there is skipped; a name already taken gets " (2)", " (3)"... The new file is validated with
the real config parser before it atomically replaces the old one, so an import never leaves a
feeds.toml the dashboard refuses to start with.

The OPML file is untrusted: it is parsed with expat directly, refusing any DOCTYPE (so no entity
declaration, internal or external, can expand: no billion laughs, no file or network access), and
its size is capped.
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit
from xml.parsers import expat

from dashboard.clock import utc_now
from dashboard.config import Config, parse_config
from dashboard.export.csvfile import ExportError, describe_os_error, write_text_atomically
from dashboard.sources import source_types
from dashboard.text import display_safe, redact_url

MAX_OPML_BYTES = 10 * 2**20
MAX_NAME_LENGTH = 120
FEED_TYPE = "feed"
_SPACES = re.compile(r"\s+")


class OpmlError(Exception):
    """The OPML file cannot be read or is refused. `str()` is the user's message; `line` is where in
    the file, when known (the command says FILE:LINE)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def located(self, path: Path) -> OpmlError:
        """The same error prefixed with `path` (and `:line`), as compilers and linters say it."""
        where = f"{path}:{self.line}" if self.line else str(path)
        return OpmlError(f"{where}: {self.message}", line=self.line)


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription found in an OPML file."""

    title: str
    url: str
    tags: tuple[str, ...] = ()
    line: int = 0  # where its outline starts, for messages


# -- parsing --------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """One line of safe, trimmed text (OPML titles are free text from anyone)."""
    return _SPACES.sub(" ", display_safe(text, one_line=True)).strip()


def _category_tags(category: str) -> list[str]:
    """OPML 2.0 `category`: comma-separated, each a slash-delimited path ("/Tech/News" -> Tech, News)."""
    tags: list[str] = []
    for item in category.split(","):
        tags.extend(part for part in (_clean(piece) for piece in item.split("/")) if part)
    return tags


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return tuple(seen.values())


@dataclass
class _OutlineWalker:
    """Collects feeds while expat walks the document; folders are outlines without xmlUrl."""

    parser: Any
    feeds: list[OpmlFeed] = field(default_factory=list)
    folders: list[str | None] = field(default_factory=list)  # one per open outline; None = not a folder
    root_seen: bool = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if not self.root_seen:
            self.root_seen = True
            if name.rsplit("}", 1)[-1].lower() != "opml":
                raise OpmlError(
                    f"not an OPML file: the root element is <{_clean(name)[:40]}>, not <opml>",
                    line=self.parser.CurrentLineNumber,
                )
        if name.rsplit("}", 1)[-1] != "outline":
            return
        url = attributes.get("xmlUrl") or attributes.get("xmlurl") or ""
        label = _clean(attributes.get("title") or attributes.get("text") or "")
        if not url.strip():
            self.folders.append(label or None)
            return
        self.folders.append(None)
        tags = [folder for folder in self.folders[:-1] if folder]
        tags += _category_tags(attributes.get("category", ""))
        self.feeds.append(OpmlFeed(label, url.strip(), _unique(tags), self.parser.CurrentLineNumber))

    def end(self, name: str) -> None:
        if name.rsplit("}", 1)[-1] == "outline" and self.folders:
            self.folders.pop()


@dataclass(frozen=True, slots=True)
class _DoctypeRefusal:
    parser: Any

    def __call__(self, *_: object) -> NoReturn:
        raise OpmlError(
            "the OPML file declares a DOCTYPE; refused (entity declarations could expand without bound)",
            line=self.parser.CurrentLineNumber,
        )


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every feed subscription in an OPML document, in document order. Raises OpmlError."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the OPML file is larger than {MAX_OPML_BYTES // 2**20} MiB; refused")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    walker = _OutlineWalker(parser)
    refuse = _DoctypeRefusal(parser)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = walker.start
    parser.EndElementHandler = walker.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise OpmlError(f"not valid XML: {expat.ErrorString(error.code)}", line=error.lineno) from None
    if not walker.root_seen:
        raise OpmlError("not an OPML file: it is empty")
    return walker.feeds


def read_opml(path: Path) -> list[OpmlFeed]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as error:
        raise OpmlError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return parse_opml(data)
    except OpmlError as error:
        raise error.located(path) from None


# -- merging into feeds.toml ------------------------------------------------------------------------


def url_key(url: str) -> str:
    """The form two feed URLs are compared in: scheme and host case-folded, no fragment, no
    trailing slash on the path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    path = parts.path.rstrip("/") if parts.path not in ("", "/") else ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def url_problem(url: str) -> str | None:
    """Why a URL cannot be a feed entry (the config's own rule: http or https, no spaces), or None."""
    # str.isprintable is False for every whitespace but " " (and for controls): one C-level pass.
    if not url or not url.isprintable() or " " in url:
        return "not a usable URL"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return "not a usable URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one OPML feed."""

    name: str
    url: str
    added: bool
    reason: str = ""  # why it was skipped, or how it was renamed


@dataclass(frozen=True, slots=True)
class ImportReport:
    outcomes: tuple[Outcome, ...]
    text: str  # the new feeds.toml text (unchanged when nothing was added)

    @property
    def added(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.added]

    @property
    def skipped(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.added]


def _existing_entries(data: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """(names in use, casefolded; feed URL keys -> the entry's name) of the current [[feeds]]."""
    names: set[str] = set()
    urls: dict[str, str] = {}
    for entry in data.get("feeds", []):
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if isinstance(name, str):
            names.add(name.casefold())
        url = entry.get("url")
        if isinstance(url, str):
            urls[url_key(url)] = str(name)
    return names, urls


@dataclass
class _Names:
    """Free names: "Blog", then "Blog (2)", "Blog (3)"... Each wanted name remembers the next number
    to try, so 100,000 outlines all called "RSS" cost one look-up each, not a scan from (2) up."""

    taken: set[str]
    next_number: dict[str, int] = field(default_factory=dict)

    def claim(self, wanted: str) -> str:
        folded = wanted.casefold()
        if folded not in self.taken:
            self.taken.add(folded)
            return wanted
        number = self.next_number.get(folded, 2)
        while f"{wanted} ({number})".casefold() in self.taken:
            number += 1
        self.next_number[folded] = number + 1
        name = f"{wanted} ({number})"
        self.taken.add(name.casefold())
        return name


def _fallback_name(url: str) -> str:
    parts = urlsplit(url)
    return _clean(f"{parts.hostname or ''}{parts.path.rstrip('/')}") or "Imported feed"


def _toml_string(value: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's (\\" \\\\ \\n \\uXXXX...) for every character JSON
    escapes; DEL, which TOML also wants escaped, is done by hand."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _entry_text(name: str, url: str, tags: Sequence[str], origin: str) -> str:
    """One [[feeds]] entry, ending with a blank line: the layout tomlkit gave these entries."""
    lines = ["[[feeds]]"]
    if origin:
        lines.append(f"# imported from {origin}")
    lines.append(f"name = {_toml_string(name)}")
    lines.append(f"url = {_toml_string(url)}")
    if tags:
        lines.append(f"tags = [{', '.join(_toml_string(tag) for tag in tags)}]")
    return "\n".join(lines) + "\n\n"


_FEEDS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*feeds[ \t]*\]\][ \t]*(?:#.*)?$", re.MULTILINE)
# A table header that does not belong to a [[feeds]] entry ([feeds.x] and [[feeds.x]] do).
_OTHER_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*(?!feeds[ \t]*[.\]])", re.MULTILINE)


def _insertion_point(text: str) -> int:
    """Where new entries go: after the last [[feeds]] entry (before the table that follows it and the
    comment lines glued to that table's header), else at the end. Found on the text, so a header-like
    line inside a multi-line string can mislead it: `_splice` checks the result and falls back."""
    headers = list(_FEEDS_HEADER.finditer(text))
    if not headers:
        return len(text)
    following = _OTHER_HEADER.search(text, headers[-1].end())
    if following is None:
        return len(text)
    point = following.start()
    while point > 0:  # comment lines directly above the header belong to it
        line_start = text.rfind("\n", 0, point - 1) + 1
        if not text[line_start:point].lstrip().startswith("#"):
            break
        point = line_start
    return point


def _join(before: str, block: str, after: str) -> str:
    """`block` between `before` and `after` with one blank line on each side where there is text."""
    before = before.rstrip("\n") + "\n\n" if before.strip() else ""
    if after.strip():
        return before + block + after.lstrip("\n")
    return (before + block).rstrip("\n") + "\n"


def _splice(text: str, block: str, data: dict[str, Any], added: list[dict[str, Any]]) -> str:
    """`text` with the entries of `block` added after its last [[feeds]] entry, checked by parsing:
    every old value is unchanged and exactly `added` is appended to feeds, else the entries go at the
    end of the file (always valid TOML: an array of tables may be continued anywhere)."""
    expected = {**data, "feeds": [*data.get("feeds", []), *added]}
    point = _insertion_point(text)
    if point < len(text):
        candidate = _join(text[:point], block, text[point:])
        try:
            if tomllib.loads(candidate) == expected:
                return candidate
        except tomllib.TOMLDecodeError:
            pass
    return _join(text, block, "")


def merge_feeds(text: str, feeds: Sequence[OpmlFeed], *, origin: str = "") -> ImportReport:
    """feeds.toml `text` with the new `feeds` appended as [[feeds]] entries (comments and layout kept).

    Linear in the feeds and the text: the existing file is read once (tomllib), each new entry is
    written as text, and the old text is kept byte for byte around them. (Building tomlkit items cost
    ~0.6 ms per entry: 100,000 outlines took about a minute; see bench/bench_opml.py.)
    """
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OpmlError(f"feeds.toml is not valid TOML: {error}") from None
    taken, known_urls = _existing_entries(data)
    names = _Names(taken)
    origin = _clean(origin)
    outcomes: list[Outcome] = []
    entries: list[str] = []
    added: list[dict[str, Any]] = []
    for feed in feeds:
        problem = url_problem(feed.url)
        wanted = (_clean(feed.title) or _fallback_name(feed.url))[:MAX_NAME_LENGTH].strip()
        if problem is not None:
            outcomes.append(Outcome(wanted, _clean(feed.url), False, problem))
            continue
        key = url_key(feed.url)
        if key in known_urls:
            outcomes.append(Outcome(wanted, feed.url, False, f"already there as {known_urls[key]!r}"))
            continue
        if not entries:
            _check_feeds_are_tables(text, data)
        name = names.claim(wanted)
        tags = list(_unique(tag for tag in map(_clean, feed.tags) if tag))
        entries.append(_entry_text(name, feed.url, tags, origin))
        added.append({"name": name, "url": feed.url, **({"tags": tags} if tags else {})})
        known_urls[key] = name
        renamed = f"renamed from {wanted!r}: the name was taken" if name != wanted else ""
        outcomes.append(Outcome(name, feed.url, True, renamed))
    if not entries:
        return ImportReport(tuple(outcomes), text)
    return ImportReport(tuple(outcomes), _splice(text, "".join(entries), data, added))


def _check_feeds_are_tables(text: str, data: dict[str, Any]) -> None:
    """New entries are [[feeds]] tables: refuse a file whose feeds are an inline array (or a table)."""
    feeds = data.get("feeds")
    if feeds is None:
        return
    if not isinstance(feeds, list) or _FEEDS_HEADER.search(text) is None:
        raise OpmlError(
            "feeds.toml writes its feeds as an inline array, not as [[feeds]] tables; "
            "convert it to [[feeds]] tables first"
        )


def import_opml(opml: Path, config_path: Path) -> ImportReport:
    """Add the feeds of `opml` to the feeds.toml at `config_path` (created if missing).

    Nothing is written when nothing is new. Raises OpmlError, or ConfigError when the result would
    not be a valid feeds.toml (the file is then left as it was).
    """
    feeds = read_opml(opml)
    try:
        raw = config_path.read_bytes() if config_path.exists() else b""
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as error:
        raise OpmlError(f"cannot read {config_path}: {error}") from None
    report = merge_feeds(text, feeds, origin=opml.name)
    if report.added:
        parse_config(report.text, config_path, registry=source_types())
        try:  # the first import may create the config's folder (~/.config/community-dashboard)
            config_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ExportError(describe_os_error(error, config_path)) from error
        write_text_atomically(config_path, report.text)
    return report


# -- export -----------------------------------------------------------------------------------------


def _category(tags: Sequence[str]) -> str:
    """Tags as OPML 2.0 categories: comma-separated, so commas and slashes inside a tag become spaces."""
    return ",".join(_clean(tag.replace(",", " ").replace("/", " ")) for tag in tags)


@dataclass(frozen=True, slots=True)
class OpmlExport:
    """An OPML export and what it could not carry, for the command to say."""

    text: str
    feeds: int  # outlines written
    left_out: tuple[tuple[str, str], ...]  # (name, type) of sources that are not RSS/Atom feeds
    redacted: tuple[str, ...]  # names of feeds whose URL lost its credentials


def export_opml(
    config: Config, *, now: datetime | None = None, title: str = "community-dashboard feeds"
) -> str:
    """The RSS/Atom/RDF feeds of `config` (type "feed") as an OPML 2.0 document."""
    return build_opml_export(config, now=now, title=title).text


def build_opml_export(
    config: Config, *, now: datetime | None = None, title: str = "community-dashboard feeds"
) -> OpmlExport:
    """The RSS/Atom/RDF feeds of `config` (type "feed") as an OPML 2.0 document, with what was left
    out: OPML lists feeds, so a search on Reddit or Hacker News has no place in it.

    Names are written as one line of display-safe text (XML cannot even hold most C0 controls) and
    URLs without their credentials (`redact_url`): an OPML file is made to be shared.
    """
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(
        (now or utc_now()).astimezone(UTC), usegmt=True
    )
    body = ElementTree.SubElement(root, "body")
    left_out: list[tuple[str, str]] = []
    redacted: list[str] = []
    for source in config.sources:
        if source.type != FEED_TYPE or not source.url:
            left_out.append((source.name, f"a {source.type} search, not a feed"))
            continue
        secret = getattr(source, "url_env", "")
        if secret:  # its URL holds a token, which is why it lives in the environment
            left_out.append((source.name, f"its URL is secret, in ${secret}"))
            continue
        name = _clean(source.name)
        url = display_safe(redact_url(source.url), one_line=True)
        if url != source.url:
            redacted.append(source.name)
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": url}
        if source.tags:
            attributes["category"] = _category(source.tags)
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
    return OpmlExport(text, len(body), tuple(left_out), tuple(redacted))
