"""The live stream's filter: what `/` understands, and how names and words are matched (pure).

A query is words (matched in the title, text or author) plus optional `source:NAME`, `kind:KIND`,
`sentiment:positive|neutral|negative` and `lang:CODE` (`lang:unknown` for the mentions whose language
is unknown). A wrong sentiment or language value is a `problem` the stream says inline.
Source names often hold spaces ("Hacker News", "Mastodon #textual"), so a value may be quoted with
"..." or '...'. Everything is matched caselessly beyond ASCII (É = é, Ü = ü, ß = SS) by folding both
sides with `fold`, and a source name may be shortened to any prefix that names one source.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

QUOTES = ('"', "'")
FIELDS = ("source", "kind", "sentiment", "lang", "language")
SENTIMENTS = ("positive", "neutral", "negative")
UNKNOWN_LANGUAGE = "unknown"
# An ISO 639 code, optionally with a region or script ("en", "fra", "pt-br", "zh-hant").
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")


def fold(text: str) -> str:
    """`text` for caseless comparison: NFKC, then Unicode case folding (so "STRASSE" = "straße")."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """What `/` asks for: words in the text, and optionally a source and a kind, as the user typed them."""

    text: str = ""
    source: str | None = None
    kind: str | None = None
    sentiment: str | None = None  # as typed, folded: valid when one of SENTIMENTS (or a prefix of one)
    language: str | None = None  # as typed, folded: a language code or "unknown"

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.source or self.kind or self.sentiment or self.language)

    @property
    def sentiment_label(self) -> str | None:
        """The label meant (`neg` -> "negative"); None when no sentiment was asked or it names none."""
        return sentiment_meant(self.sentiment) if self.sentiment is not None else None

    @property
    def language_code(self) -> str | None:
        """The stored language asked for: a code, "" for `lang:unknown`; None when none (or invalid)."""
        if self.language is None:
            return None
        if self.language == UNKNOWN_LANGUAGE:
            return ""
        return self.language if LANGUAGE_CODE.fullmatch(self.language) else None

    @property
    def problem(self) -> str | None:
        """Why a sentiment or language value can match nothing, in a sentence saying what is valid."""
        if self.sentiment is not None and self.sentiment_label is None:
            return f"sentiment:{self.sentiment} is not a sentiment: use positive, neutral or negative."
        if self.language is not None and self.language_code is None:
            return f"lang:{self.language} is not a language code: use one such as en or fr, or lang:unknown."
        return None

    @classmethod
    def parse(cls, query: str) -> MentionFilter:
        return parse_filter(query)


def tokens(query: str) -> list[str]:
    """The query split on spaces, keeping a quoted part ("..." or '...', after `field:` or opening a
    word) in one token with its quotes removed; an unclosed quote runs to the end."""
    found: list[str] = []
    position = 0
    length = len(query)
    while position < length:
        if query[position].isspace():
            position += 1
            continue
        token: list[str] = []
        quote_may_open = True  # at the start of a word, or right after "field:"
        while position < length and not query[position].isspace():
            char = query[position]
            if quote_may_open and char in QUOTES:
                end = query.find(char, position + 1)
                end = length if end < 0 else end
                token.append(query[position + 1 : end])
                position = end + 1
                quote_may_open = False
                continue
            token.append(char)
            position += 1
            quote_may_open = char == ":" and "".join(token[:-1]).lower() in FIELDS
        found.append("".join(token))
    return found


def parse_filter(query: str) -> MentionFilter:
    """`hello source:"Hacker News" kind:post` -> MentionFilter("hello", "Hacker News", "post").

    A field given twice keeps the last value; `source:` with nothing after it is a plain word.
    """
    words: list[str] = []
    source: str | None = None
    kind: str | None = None
    sentiment: str | None = None
    language: str | None = None
    for token in tokens(query):
        name, colon, value = token.partition(":")
        value = value.strip()
        field = name.lower()
        if colon and value and field == "source":
            source = value
        elif colon and value and field == "kind":
            kind = fold(value)
        elif colon and value and field == "sentiment":
            sentiment = fold(value)
        elif colon and value and field in ("lang", "language"):
            language = fold(value)
        elif token:
            words.append(token)
    return MentionFilter(" ".join(words), source, kind, sentiment, language)


def sentiment_meant(value: str) -> str | None:
    """The sentiment label `value` names: equal, or a prefix of one label ("neg"); None otherwise."""
    key = fold(value.strip())
    matches = [label for label in SENTIMENTS if label.startswith(key)] if key else []
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True, slots=True)
class SourceMatch:
    """What `source:VALUE` names among the known sources.

    `name` is the one source meant (equal caselessly, else the only one starting with VALUE);
    otherwise `candidates` are the sources VALUE starts (ambiguous) and `suggestion` the closest name.
    """

    wanted: str
    name: str | None = None
    candidates: tuple[str, ...] = ()
    suggestion: str | None = None

    @property
    def problem(self) -> str | None:
        """Why nothing is shown, in a sentence ending with what to do; None when a source matched."""
        if self.name is not None:
            return None
        if self.candidates:
            return f"source:{self.wanted} could be {', '.join(self.candidates)}: type more of the name."
        hint = f' Did you mean source:"{self.suggestion}"?' if self.suggestion else ""
        return f"No source is named {self.wanted!r}.{hint}"


def resolve_source(wanted: str, known: Iterable[str]) -> SourceMatch:
    """The source `wanted` means: a caseless equal name, else the one name it is a caseless prefix of;
    else the close names (difflib, as `export --source` suggests them)."""
    names = list(dict.fromkeys(known))
    key = fold(wanted.strip())
    folded = {name: fold(name) for name in names}
    equal = [name for name in names if folded[name] == key]
    if equal:
        return SourceMatch(wanted, name=equal[0])
    starting = [name for name in names if folded[name].startswith(key)]
    if len(starting) == 1:
        return SourceMatch(wanted, name=starting[0])
    if starting:
        return SourceMatch(wanted, candidates=tuple(starting))
    by_fold = {value: name for name, value in folded.items()}
    close = difflib.get_close_matches(key, list(by_fold), n=1)
    return SourceMatch(wanted, suggestion=by_fold[close[0]] if close else None)


def contains_folded(needle: str, haystack: str | None) -> bool:
    """Whether `needle` occurs in `haystack` caselessly (both folded)."""
    if haystack is None:
        return False
    return fold(needle) in fold(haystack)


@lru_cache(maxsize=64)
def _like_matcher(pattern: str, escape: str | None) -> re.Pattern[str] | str:
    """SQL LIKE `pattern` as a folded substring (the common `%words%`) or a regex over folded text."""
    parts: list[str] = []  # regex source
    literal: list[str] = []  # the pattern as plain text, if it has no wildcard inside
    plain = True
    chars = iter(pattern)
    for char in chars:
        if escape is not None and char == escape:
            following = next(chars, "")
            parts.append(re.escape(fold(following)))
            literal.append(following)
        elif char == "%":
            parts.append(".*")
            literal.append("\0%")
        elif char == "_":
            parts.append(".")
            literal.append("\0_")
            plain = False
        else:
            parts.append(re.escape(fold(char)))
            literal.append(char)
    inner = literal[1:-1] if len(literal) >= 2 else None
    if (
        plain
        and inner is not None
        and literal[0] == literal[-1] == "\0%"
        and "\0%" not in inner
        and "\0_" not in inner
    ):
        return fold("".join(inner))
    return re.compile("".join(parts), re.DOTALL)


def like_folded(pattern: str | None, value: str | None, escape: str | None = None) -> bool:
    """SQLite's `value LIKE pattern [ESCAPE escape]`, caseless beyond ASCII (registered as `like`).

    Called once per row and column scanned, so `%word%` is a substring test and ASCII values are only
    lower-cased.
    """
    if pattern is None or value is None:
        return False
    matcher = _like_matcher(str(pattern), escape)
    text = fold(str(value))
    if isinstance(matcher, str):
        return matcher in text
    return matcher.fullmatch(text) is not None


def known_source_names(records: Sequence[object]) -> list[str]:
    """Source names appearing in mention records (dicts with a "source" key), first seen first."""
    names: dict[str, None] = {}
    for record in records:
        name = record.get("source") if isinstance(record, dict) else None
        if isinstance(name, str) and name:
            names[name] = None
    return list(names)
