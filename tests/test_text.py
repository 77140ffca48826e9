"""Plain text for storage and the one display sanitiser."""

from __future__ import annotations

import pytest

from dashboard.text import (
    cell_safe,
    display_safe,
    escape_unsafe,
    has_credentials,
    has_unsafe,
    plain_text,
    redact_credentials,
    redact_url,
    shorten,
)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("I <3 this", "I <3 this"),
        ("a < b and c > d", "a < b and c > d"),
        ("&lt;b&gt;not a tag&lt;/b&gt; &amp; more", "<b>not a tag</b> & more"),
        ("line one<br>line two", "line one\nline two"),
        ("<script>alert(1)</script>kept", "kept"),
        ("<!-- hidden -->shown", "shown"),
        ("0<?Z>", "0"),  # a processing instruction: a node lexbor gives no tag name (found by hypothesis)
        ("  spaced \t out  ", "spaced out"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text(markup: str | None, expected: str) -> None:
    assert plain_text(markup) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]52;c;aGVsbG8=\x07",  # OSC 52: writes the clipboard
        "\x1b]0;pwned\x07",  # OSC 0: sets the window title
        "\x1b[2J",  # CSI clear screen
        "\x9b2J",  # C1 CSI
        "\u202eevil",  # right-to-left override
        "\u2066isolate\u2069",
        "\x00\x08\x7f",
    ],
)
def test_display_safe_lets_no_control_through(hostile: str) -> None:
    shown = display_safe(f"title {hostile} end")
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in shown)
    assert not any(0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(c in shown for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert shown.startswith("title ")
    assert shown.endswith(" end")


def test_display_safe_keeps_text_and_folds_lines_on_request() -> None:
    assert display_safe("Grüße 日本 🎉 [/bold]\nnext") == "Grüße 日本 🎉 [/bold]\nnext"
    assert display_safe("a\nb\tc", one_line=True) == "a b c"


def test_shorten() -> None:
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/feed", "https://***@host/feed"),
        ("https://token@host:8443/feed?x=1#f", "https://***@host:8443/feed?x=1#f"),
        ("https://a:b@c@host/feed", "https://***@host/feed"),  # the last "@" ends the userinfo
        ("feed:https://u:p@host/rss", "feed:https://***@host/rss"),
        ("//u:p@host/rss", "//***@host/rss"),
        ("HTTP://U:P@[::1]:80/x", "HTTP://***@[::1]:80/x"),
        ("https://u:p@[::1/x", "https://***@[::1/x"),  # unclosed bracket: urlsplit would raise
        ("https://host/path@not-userinfo", "https://host/path@not-userinfo"),
        ("https://host/?to=a@b.example", "https://host/?to=a@b.example"),
        ("https://host\\u:p@evil/", "https://host\\u:p@evil/"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        ("https://example.org/feed.xml", "https://example.org/feed.xml"),
        ("", ""),
        ("not a url at all @ ::: //", "not a url at all @ ::: //"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_never_raises_on_garbage() -> None:
    for garbage in ["\x00//@", "://@@@", "https://@", "https://:@/", "\ud800://u:p@h", "[" * 1000 + "//a@b"]:
        result = redact_url(garbage)
        assert isinstance(result, str)
        assert "u:p" not in result


def test_redact_credentials_in_free_text() -> None:
    message = "Client error '401' for url 'https://user:tok@host/feed' (see http://docs.example/a@b)"
    assert redact_credentials(message) == (
        "Client error '401' for url 'https://***@host/feed' (see http://docs.example/a@b)"
    )
    assert redact_credentials("feed:https://a:b@c@host/x and mailto:me@example.org") == (
        "feed:https://***@host/x and mailto:me@example.org"
    )
    assert has_credentials("x https://u:p@h/")
    assert not has_credentials("alice@example.org")


def test_redact_credentials_is_linear_on_a_long_run_of_letters() -> None:
    # Without the word-start lookbehind each of the 200,000 positions would start a scheme scanning
    # to the run's end (2e10 steps: the test would not finish). No clock is read here.
    text = "a" * 200_000 + "://x @ y"
    assert redact_credentials(text) == text


def test_cell_safe_keeps_lines_and_drops_controls() -> None:
    assert cell_safe("a\r\nb\rc\x1b[2Jd\te\x9b\u202e") == "a\nb\nc[2Jd\te"
    assert escape_unsafe("a\x9bb\u202e") == "a\\u009bb\\u202e"
    assert has_unsafe("x\x1b")
    assert not has_unsafe("tab\tand\nnewline")


def test_has_unsafe_agrees_with_display_safe_on_every_ascii_and_unsafe_character() -> None:
    characters = [chr(code) for code in range(0x100)] + [chr(code) for code in range(0x2020, 0x2070)]
    for char in characters:
        for text in (char, f"plain {char} text", f"é {char}"):
            assert has_unsafe(text) == (display_safe(text) != text), repr(text)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<ul><li>one<li>two</ul>", "one\ntwo"),  # was "onetwo": glued words became trending terms
        ("keep<!-- a comment -->this", "keepthis"),  # comments were kept
        ("<p title='a>b'>text</p>", "text"),  # an attribute holding '>' leaked "b'>"
        ("<pre>def f():\n    return 1</pre>", "def f():\n    return 1"),  # <pre> lost its layout
        ("years.<p>Is anyone there?", "years.\nIs anyone there?"),
        ("<script>alert(1)</script><style>p{}</style>ok", "ok"),
        ("I <3 this and a < b", "I <3 this and a < b"),
        ("Markdown line one\nline two with <code>x</code>", "Markdown line one\nline two with x"),
    ],
)
def test_html_to_text_with_a_real_parser(markup: str, expected: str) -> None:
    assert plain_text(markup) == expected
