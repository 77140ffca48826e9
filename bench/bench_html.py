"""HTML -> text: the regular expressions we had against the selectolax (Lexbor) parser, side by side.

    python -m bench.bench_html [--items 20000]

Both run over the same bodies, shaped like what feeds and APIs send: WordPress posts with
paragraphs and lists, Hacker News comments with bare <p>, Mastodon statuses with links and
hashtags, and plain API text with no tag at all (the common case, which skips the parser).
"""

from __future__ import annotations

import argparse
import html
import platform
import re
import time

from dashboard.text import plain_text

_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>", re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/blockquote|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT_STYLE = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def regex_plain_text(markup: str) -> str:
    """The previous implementation (wrong on <li>one<li>two, comments, '>' in attributes, <pre>)."""
    text = _SCRIPT_STYLE.sub(" ", markup)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _SPACES.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


BODIES = (
    "<p>We are proud to announce <strong>Lumen 2.0</strong>.</p>\n<ul><li>A new API<li>A faster core</ul>"
    "<p>Read the <a href='https://example.org/notes?a=1&amp;b=2' title='x > y'>release notes</a>.</p>"
    "<!-- wp:paragraph --><pre>pip install lumen\n  --upgrade</pre>" * 3,
    'I\'ve used Acme for years.<p>Is anyone still working on it?<p>See <a href="https://x.example">this</a>',
    '<p>Just upgraded to Acme 3.0 <a href="https://m.example/tags/acme" class="mention hashtag">#<span>acme'
    "</span></a> &amp; it flies.</p><p>Second paragraph here.</p>",
    "Plain API text with no tag at all, like most titles and many summaries & entities.",
)


def measure(function: object, bodies: list[str]) -> float:
    started = time.process_time()
    for body in bodies:
        function(body)  # type: ignore[operator]
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    bodies = [BODIES[number % len(BODIES)] for number in range(args.items)]
    regex = measure(regex_plain_text, bodies)
    parsed = measure(plain_text, bodies)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(
        f"{args.items} bodies   regex {regex:.3f} CPU s   selectolax {parsed:.3f} CPU s   ratio {parsed / regex:.2f}x"
    )
    print(
        "example (<ul><li>one<li>two):",
        repr(regex_plain_text(BODIES[0])[40:80]),
        "vs",
        repr(plain_text(BODIES[0])[40:80]),
    )


if __name__ == "__main__":
    main()
