"""Canonicalising links: dashboard.links.canonical_url against a naive urllib.parse-only baseline.

    python -m bench.bench_links                  # 100,000 links
    python -m bench.bench_links --links 20000

The links are shaped like what sources give: blog posts in every variant people write them (http,
www, utm parameters, trailing slash, fragment, AMP), GitHub and docs pages, shorteners, a few
non-ASCII paths and hosts, mailto: and relative junk. The baseline (`naive_canonical`, below) does
what one would write first with urllib.parse alone: lower-case host, drop `www.`, the fragment, the
default port, utm_* parameters and the trailing slash, sort the query with parse_qsl/urlencode. It is
less thorough (no AMP, no escape normalisation, no IDNA) and is here to show what the rules cost on
top. A cold poll of 1,000 feeds has ~100k links: the total below is that poll's linking CPU cost.
CPU seconds (process time) are the figure to read: the machine is shared. Results go to
bench/results/links.json.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.common import describe_machine, format_table, machine_info, ratio, write_results
from dashboard.links import canonical_links, canonical_url, urls_in_text
from dashboard.models import Link


def naive_canonical(url: str) -> str | None:
    """The baseline: urllib.parse only."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.removeprefix("www.")
        if parts.port not in (None, 80, 443):
            host = f"{host}:{parts.port}"
    except ValueError:
        return None
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")))
    return urlunsplit(("https", host, parts.path.rstrip("/"), query, ""))


def sample_links(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    utm = "utm_source=mastodon&utm_medium=social&utm_campaign=blog"
    out = []
    for i in range(count):
        post = f"https://blog.example.org/blog/{i % 500}/post-number-{i % 500}/"
        kind = rng.random()
        if kind < 0.35:
            url = rng.choice(
                [
                    post,
                    post.replace("https", "http"),
                    post.replace("://", "://www."),
                    f"{post}?{utm}",
                    post.rstrip("/"),
                    f"{post}#comments",
                    f"{post}amp/",
                    f"https://www.google.com/amp/s/{post[8:]}",
                ]
            )
        elif kind < 0.6:
            url = f"https://github.com/org{i % 97}/repo/issues/{i}?ref=readme"
        elif kind < 0.75:
            url = f"https://docs.example.io/en/latest/guide/page-{i % 300}.html#section-{i % 7}"
        elif kind < 0.85:
            url = rng.choice(["https://t.co/", "https://bit.ly/", "https://buff.ly/"]) + f"{i:x}Ab"
        elif kind < 0.9:
            url = f"https://例え.example/wiki/caf\u00e9/{i}?b=2&a=1&fbclid=IwAR{i}"
        elif kind < 0.95:
            url = f"https://news.example.com/2026/12/{i}/story.html?page=2&id={i}&gclid=x"
        else:
            url = rng.choice(["mailto:someone@example.org", "/relative/path", "javascript:void(0)", "#top"])
        out.append(url)
    return out


def time_cpu(function: Callable[[str], object], urls: Sequence[str], repeat: int = 3) -> float:
    """Best of `repeat` CPU seconds for one pass over `urls`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for url in urls:
            function(url)
        best = min(best, time.process_time() - start)
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args(argv)
    urls = sample_links(args.links)
    ours = time_cpu(canonical_url, urls)
    naive = time_cpu(naive_canonical, urls)
    links = [Link(url, "content") for url in urls]
    start = time.process_time()
    canonical_links(links)
    dedup = time.process_time() - start
    text = " ".join(f"See {url}, it is good." for url in urls[:10_000])
    start = time.process_time()
    found = urls_in_text(text)
    scan = time.process_time() - start
    rows = [
        ["canonical_url (ours)", ours, ours / len(urls) * 1e6],
        ["naive urllib.parse baseline", naive, naive / len(urls) * 1e6],
        ["canonical_links (ours, dedup)", dedup, dedup / len(urls) * 1e6],
        [f"urls_in_text ({len(found)} URLs in one text)", scan, scan / max(len(found), 1) * 1e6],
    ]
    print(describe_machine(machine_info()))
    print(format_table(["", "CPU s", "µs per URL"], rows, title=f"{len(urls):,} links"))
    print(f"ours / baseline: {ratio(ours, naive):.2f}")
    write_results(
        "links",
        {
            "links": len(urls),
            "canonical_url_s": ours,
            "naive_s": naive,
            "canonical_links_s": dedup,
            "urls_in_text_s": scan,
            "us_per_url": ours / len(urls) * 1e6,
            "naive_us_per_url": naive / len(urls) * 1e6,
        },
    )


if __name__ == "__main__":
    main()
