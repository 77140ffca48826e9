"""dashboard.links: canonical URLs, shorteners, bare URLs in text (issue 12, "How links are found")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.links import (
    LINKS_VERSION,
    TRACKING_PARAMS,
    canonical_links,
    canonical_url,
    is_shortener,
    urls_in_text,
)
from dashboard.models import Link

POST = "https://blog.example.org/blog/12/hello-world"


@pytest.mark.parametrize(
    "variant",
    [
        "https://blog.example.org/blog/12/hello-world/",
        "http://blog.example.org/blog/12/hello-world/",
        "https://www.blog.example.org/blog/12/hello-world/",
        "HTTPS://BLOG.Example.ORG/blog/12/hello-world",
        "https://blog.example.org:443/blog/12/hello-world/",
        "http://blog.example.org:80/blog/12/hello-world",
        "https://blog.example.org./blog/12/hello-world",
        "https://blog.example.org/blog/12/hello-world/#comment-12",
        "https://blog.example.org/blog/12/hello-world/#comments",
        "https://blog.example.org/blog/12/hello-world/?utm_source=mastodon&utm_medium=social",
        "https://www.blog.example.org/blog/12/hello-world/?utm_campaign=blog&fbclid=IwAR0x&gclid=1",
        "https://blog.example.org/blog/12/hello-world?mc_cid=a&mc_eid=b&ref=producthunt",
        "https://blog.example.org/blog/12/hello-world?ref_src=twsrc%5Etfw&igshid=x&_hsenc=p&_hsmi=q",
        "https://blog.example.org/blog/12/hello-world/amp/",
        "https://blog.example.org/blog/12/hello-world/amp",
        "https://blog.example.org/blog/12/hello-world/?amp=1",
        "https://blog.example.org/blog/12/hello-world?outputType=amp",
        "https://amp.blog.example.org/blog/12/hello-world",
        "https://blog-example-org.cdn.ampproject.org/c/s/blog.example.org/blog/12/hello-world/amp/",
        "https://www.google.com/amp/s/blog.example.org/blog/12/hello-world/amp/",
        "https://user:secret@blog.example.org/blog/12/hello-world",
        "https://blog.example.org/blog/12/hello%2Dworld",
        "  https://blog.example.org/blog/12/hello-world/  ",
    ],
)
def test_variants_of_a_post_are_one_url(variant: str) -> None:
    assert canonical_url(variant) == POST


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/", "https://example.org"),
        ("http://example.org", "https://example.org"),
        ("https://example.org/?utm_source=x", "https://example.org"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("https://example.org/p?b=2&a=1", "https://example.org/p?a=1&b=2"),
        ("https://example.org/p?a=%7e&b=%2f", "https://example.org/p?a=~&b=%2F"),
        ("https://example.org/%7Euser/a%2fb", "https://example.org/~user/a%2Fb"),
        ("https://example.org/caf\u00e9", "https://example.org/caf%C3%A9"),
        ("https://b\u00fccher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example/x"),
        ("https://www.com/x", "https://www.com/x"),  # what remains has no dot: kept
        ("https://amp.dev/about", "https://amp.dev/about"),
        ("https://example.org/Case/Kept", "https://example.org/Case/Kept"),
        ("https://example.org/search?q=a+b", "https://example.org/search?q=a+b"),
        ("https://example.org/watch?v=abc&share=1", "https://example.org/watch?share=1&v=abc"),
        ("http://[2001:DB8::1]:80/x", "https://[2001:db8::1]/x"),
        ("https://example.org/a/./b/../c", "https://example.org/a/c"),
        ("https://example.org/../../x/%2E%2E/y", "https://example.org/y"),
        ("https://example.org/a/..", "https://example.org"),
        ("https://example.org/.hidden/x", "https://example.org/.hidden/x"),
        ("https://example.org/%a%30", "https://example.org/%25a0"),
        ("https://example.org/100%", "https://example.org/100%25"),
    ],
)
def test_canonical_examples(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "mailto:someone@example.org",
        "javascript:alert(1)",
        "ftp://example.org/file",
        "/blog/12/hello-world/",
        "blog.example.org/post",
        "//blog.example.org/post",
        "https://",
        "https:///path",
        "https://exa mple.org/",
        "https://a..b/",
        "https://example.org:99999/",
        "https://example.org:port/",
        "http://[::1/",
        "not a url at all",
        "https://" + "a" * 70 + ".example/",  # a label longer than DNS allows
    ],
)
def test_not_web_urls_are_none(url: str) -> None:
    assert canonical_url(url) is None


def test_distinct_pages_stay_distinct() -> None:
    urls = [
        "https://example.org/a",
        "https://example.org/b",
        "https://example.org/a/b",
        "https://example.org/A",
        "https://example.org/a?page=2",
        "https://example.org/a?page=3",
        "https://example.org:8080/a",
        "https://other.example.org/a",
        "https://example.org/a%2Fb",
        "https://example.org/example",
        "https://example.org/a?amp=2",
    ]
    assert len({canonical_url(u) for u in urls}) == len(urls)


def test_shorteners_are_kept_as_they_are() -> None:
    assert is_shortener("https://t.co/AbC123")
    assert is_shortener("http://BIT.LY/xyz")
    assert is_shortener("https://www.tinyurl.com/abc")
    assert not is_shortener("https://blog.example.org/post")
    assert not is_shortener("https://not-t.co/x")
    assert not is_shortener("garbage ]] http://[")
    # canonicalised like any URL, case of the code kept: a short link only matches itself
    assert canonical_url("http://t.co/AbC123/") == "https://t.co/AbC123"


def test_canonical_links_dedups_keeping_first_via_and_order() -> None:
    links = [
        Link("mailto:x@example.org", "content"),
        Link("https://blog.example.org/p/?utm_source=hn", "url"),
        Link("https://other.example/x", "content"),
        Link("http://www.blog.example.org/p#c", "card"),
        Link("/relative", "content"),
    ]
    assert canonical_links(links) == [
        ("https://blog.example.org/p", "url"),
        ("https://other.example/x", "content"),
    ]
    assert canonical_links([]) == []


def test_urls_in_text() -> None:
    text = (
        "Read https://blog.example.org/post. Also (see https://example.org/a_(b)) and "
        '"https://q.example/z", https://r.example/x?y=1; HTTP://UP.example/p! '
        "<https://s.example/t> and https:// alone, mailto:x@y"
    )
    assert urls_in_text(text) == [
        "https://blog.example.org/post",
        "https://example.org/a_(b)",
        "https://q.example/z",
        "https://r.example/x?y=1",
        "HTTP://UP.example/p",
        "https://s.example/t",
    ]
    assert urls_in_text("") == []
    assert urls_in_text("no links here") == []


def test_links_version_is_a_positive_int() -> None:
    assert isinstance(LINKS_VERSION, int)
    assert LINKS_VERSION >= 1


# --- properties ------------------------------------------------------------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_segment = st.from_regex(r"[A-Za-z0-9._~-]{1,10}", fullmatch=True).filter(
    lambda s: s.lower() != "amp" and s not in {".", ".."}
)
_key = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(
    lambda k: k not in TRACKING_PARAMS and not k.startswith("utm_") and k != "amp"
)
_value = st.from_regex(r"[A-Za-z0-9]{0,6}", fullmatch=True)


@st.composite
def _pages(draw: st.DrawFn) -> tuple[str, list[str], list[tuple[str, str]]]:
    labels = draw(st.lists(_label, min_size=1, max_size=3))
    first = labels[0]
    if first in ("www", "amp"):
        labels[0] = first + "x"
    host = ".".join([*labels, draw(st.sampled_from(["org", "example", "io"]))])
    segments = draw(st.lists(_segment, max_size=4))
    params = draw(st.lists(st.tuples(_key, _value), max_size=3, unique_by=lambda kv: kv[0]))
    return host, segments, params


_TRACKERS = st.lists(
    st.sampled_from(
        ["utm_source=x", "utm_medium=social", "utm_campaign=c", "fbclid=1", "gclid=2", "mc_cid=3", "ref=hn"]
    ),
    max_size=4,
)


@given(
    page=_pages(),
    scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
    www=st.booleans(),
    upper=st.booleans(),
    port=st.sampled_from(["", ":80", ":443"]),
    slash=st.booleans(),
    fragment=st.sampled_from(["", "#", "#comment-12", "#comments"]),
    trackers=_TRACKERS,
    amp=st.sampled_from(["", "path", "slash", "query", "output", "cache", "viewer"]),
    data=st.data(),
)
@settings(max_examples=150, deadline=None)
def test_every_variant_of_a_page_is_one_url(
    page: tuple[str, list[str], list[tuple[str, str]]],
    scheme: str,
    www: bool,
    upper: bool,
    port: str,
    slash: bool,
    fragment: str,
    trackers: list[str],
    amp: str,
    data: st.DataObject,
) -> None:
    host, segments, params = page
    path = "".join("/" + s for s in segments)
    base_query = "&".join(f"{k}={v}" for k, v in sorted(params))
    plain = f"https://{host}{path}" + (f"?{base_query}" if base_query else "")

    pieces = [f"{k}={v}" for k, v in params] + trackers
    if amp == "query":
        pieces.append("amp=1")
    elif amp == "output":
        pieces.append("outputType=amp")
    pieces = data.draw(st.permutations(pieces))
    shown_host = ("www." if www else "") + (host.upper() if upper else host)
    shown_path = (
        path + ("/amp" if amp == "path" else "/amp/" if amp == "slash" else "") + ("/" if slash else "")
    )
    query = "&".join(pieces)
    variant = f"{scheme}://{shown_host}{port}{shown_path}" + (f"?{query}" if query else "") + fragment
    if amp == "cache":
        variant = f"https://{host.replace('.', '-')}.cdn.ampproject.org/c/s/{host}{shown_path}" + (
            f"?{query}" if query else ""
        )
    elif amp == "viewer":
        variant = f"https://www.google.com/amp/s/{host}{shown_path}" + (f"?{query}" if query else "")

    assert canonical_url(variant) == canonical_url(plain) == plain


@given(a=_pages(), b=_pages())
@settings(max_examples=100, deadline=None)
def test_distinct_pages_never_merge(
    a: tuple[str, list[str], list[tuple[str, str]]], b: tuple[str, list[str], list[tuple[str, str]]]
) -> None:
    def url(page: tuple[str, list[str], list[tuple[str, str]]]) -> str:
        host, segments, params = page
        query = "&".join(f"{k}={v}" for k, v in params)
        return f"https://{host}" + "".join("/" + s for s in segments) + (f"?{query}" if query else "")

    key_a = (a[0], a[1], sorted(a[2]))
    key_b = (b[0], b[1], sorted(b[2]))
    assert (canonical_url(url(a)) == canonical_url(url(b))) == (key_a == key_b)


_urlish = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.sampled_from(["http://", "https://", "HTTP://", "https://www.", "http://amp.", ""]),
        st.text(max_size=60),
    ),
    st.builds(  # URL-ish characters, so dot segments, escapes, ports and AMP pieces come up often
        lambda host, rest: f"http://{host}.example/{rest}",
        st.sampled_from(["www", "amp", "www.www", "a", "xn--bcher-kva", "B\u00fccher"]),
        st.lists(
            st.sampled_from(
                [
                    "/",
                    ".",
                    "..",
                    "%2e",
                    "%2E",
                    "%7e",
                    "%41",
                    "%",
                    "amp",
                    "AMP",
                    "?",
                    "&",
                    "=",
                    "#",
                    ":",
                    "a",
                    "\u00e9",
                    " ",
                ]
            ),
            max_size=20,
        ).map("".join),
    ),
    st.builds(
        lambda host, rest: f"https://{host}.cdn.ampproject.org/c/s/{rest}",
        st.text(max_size=10),
        st.text(max_size=40),
    ),
)


@given(_urlish)
@settings(max_examples=500, deadline=None)
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = canonical_url(text)
    assert once is None or once.startswith("https://")
    if once is not None:
        assert canonical_url(once) == once
    is_shortener(text)
    for url in urls_in_text(text):
        assert url in text


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_urls_in_text_never_raises(text: str) -> None:
    for url in urls_in_text(text):
        assert url.lower().startswith(("http://", "https://"))
