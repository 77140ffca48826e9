"""Untrusted text made safe: HTML to plain text for storage, and a sanitiser for display.

Every string from the network goes through `plain_text` before it is stored, and through
`display_safe` before it reaches the terminal (see ../shared notes: Rich and Textual let ESC, C1
controls and bidi overrides through).
"""

from __future__ import annotations

import html
import re
from typing import Any

# Elements that end a line of text, those whose content is not text, and those that keep their layout.
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:" + "|".join(sorted(_BLOCKS | {"br"})) + r")\b", re.IGNORECASE)
_DROPPED = frozenset(["script", "style", "template", "noscript", "head", "iframe", "object", "svg", "math"])
_PREFORMATTED = frozenset({"pre", "textarea", "listing", "plaintext"})
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
# Where a block starts or ends (the parser never yields NUL in text: it becomes U+FFFD).
_BREAK = "\x00"
_BREAKS = re.compile(r"[ \t]*\x00(?:[ \t]*\x00)*[ \t]*")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")

# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SAFE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# The start of a URL's authority: whatever stands before the first "//" (a scheme, stacked ones such as
# "feed:https:", or garbage: redacting too much is safer than too little), then "//". The authority
# runs to the first "/", "?", "#" or "\\" (browsers read a backslash as a slash).
_AUTHORITY = re.compile(r"^([^/?#\\]*//)([^/?#\\]*)")
# A URL's userinfo inside free text (an error message, a title): scheme "://", then everything up to the
# last "@" before the authority ends (a delimiter, a space or a quote).
# The lookbehind starts a scheme only at the start of a word: without it a long run of letters costs
# the square of its length (every position would start a scheme that fails at the run's end).
_USERINFO_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#\\\"'<>]*@")


def plain_text(markup: str | None) -> str:
    """HTML or text with entities -> readable plain text.

    A real HTML parser (selectolax's Lexbor, an HTML5 tokenizer) reads it, so what regular expressions
    got wrong on ordinary HTML is right: `<li>one<li>two` is two lines, comments and scripts are
    dropped, an attribute holding `>` does not leak, `<pre>` keeps its layout, `I <3 this` stays.
    Block elements end lines; other whitespace collapses to one space.
    """
    if not markup:
        return ""
    if "<" not in markup:  # the common case for API text: no tree to build; its newlines are meant
        return _tidy(_SPACES.sub(" ", html.unescape(markup)))
    from selectolax.lexbor import LexborHTMLParser

    # Markdown or plain text with a few inline tags (GitHub, Lemmy, HN): its newlines are meant, so
    # they are kept; in an HTML document (one with block elements) a newline is only a space.
    keep_newlines = _BLOCK_TAG.search(markup) is None
    tree = LexborHTMLParser(markup)
    root = tree.body or tree.root
    if root is None:
        return ""
    parts: list[str] = []
    # An explicit stack (deep nesting must not hit Python's recursion limit): (node, closing, in_pre).
    stack: list[tuple[Any, bool, bool]] = [(root, False, False)]
    while stack:
        node, closing, in_pre = stack.pop()
        tag = node.tag or "-"  # lexbor names no tag for some nodes (`<?pi>` read as a bogus comment)
        if closing:
            if tag in _BLOCKS:
                parts.append(_BREAK)
            continue
        if tag == "-text":
            text = node.text_content or ""
            parts.append(text if in_pre else _SPACES.sub(" ", text) if keep_newlines else _collapse(text))
            continue
        if tag in _DROPPED or tag.startswith("-"):  # comments, doctype...
            continue
        if tag == "br":
            parts.append("\n")
        elif tag in _BLOCKS:
            parts.append(_BREAK)
        inner_pre = in_pre or tag in _PREFORMATTED
        stack.append((node, True, in_pre))
        children = list(node.iter(include_text=True))
        stack.extend((child, False, inner_pre) for child in reversed(children))
    # Where blocks meet (`</li><li>`, `</p></div>`) is one line break, however many meet there.
    return _tidy(_BREAKS.sub("\n", "".join(parts)))


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text)


def _tidy(text: str) -> str:
    """No spaces at line ends, at most one blank line, none at the ends; indentation is kept (<pre>)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(line if line.startswith(("  ", "\t")) else line.lstrip() for line in lines)
    return _BLANK_LINES.sub("\n\n", text).strip("\n").strip(" ") if text.strip() else ""


def display_safe(text: object, *, one_line: bool = False) -> str:
    """Drop every character that could act on the terminal; `one_line` also folds newlines and tabs."""
    value = "" if text is None else str(text)
    if one_line:
        value = value.replace("\n", " ").replace("\t", " ")
        return _UNSAFE_ONE_LINE.sub("", value)
    return _UNSAFE.sub("", value)


def has_unsafe(text: str) -> bool:
    """Whether `display_safe` would change `text` (a cheap test before a column-wide clean-up).

    ASCII text (most URLs, keys, names) is checked by deleting its safe bytes in one C pass, about
    three times faster than the regex, which the rest gets.
    """
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _SAFE_ASCII))
    return _UNSAFE.search(text) is not None


def escape_unsafe(text: str) -> str:
    """Each character `display_safe` drops as a `\\uXXXX` escape: for JSON text, where it is lossless
    (json.dumps escapes C0 itself but leaves DEL, C1 and bidi overrides raw with ensure_ascii=False).
    """
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def cell_safe(text: str) -> str:
    """Text for a file cell (CSV, OPML, JSON): like `display_safe`, but a CR line end becomes a newline
    instead of vanishing, so multi-line bodies keep their lines (CR alone moves a terminal's cursor
    back and can hide what precedes it)."""
    return display_safe(text.replace("\r\n", "\n").replace("\r", "\n"))


def redact_url(url: str) -> str:
    """The URL with any userinfo (`user:pass@`) replaced by `***@`, for printing and exporting.

    Feed URLs may carry credentials (`https://user:token@host/feed`); they must never reach a CSV, a
    snapshot, an OPML file or the terminal. Works on text, not a URL parser, so garbage (an unclosed
    IPv6 bracket, a bad port) never raises; the last "@" of the authority ends the userinfo, as
    browsers read it. Everything else is kept as written.
    """
    value = "" if url is None else str(url)
    match = _AUTHORITY.match(value)
    if match is None:
        return value
    authority = match.group(2)
    at = authority.rfind("@")
    if at < 0:
        return value
    return match.group(1) + "***@" + authority[at + 1 :] + value[match.end() :]


def redact_credentials(text: str) -> str:
    """Free text with the userinfo of every URL in it replaced by `***@` (error messages quote the URL
    they failed on: "... for url 'https://user:token@host/feed'")."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO_IN_TEXT.sub(r"\1***@", text)


def has_credentials(text: str) -> bool:
    """Whether `redact_credentials` would change `text`."""
    return "@" in text and "://" in text and _USERINFO_IN_TEXT.search(text) is not None


def shorten(text: str, width: int) -> str:
    """Cut to `width` characters with an ellipsis, for table cells."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
