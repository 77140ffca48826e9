"""Parsing feed bytes: feedparser.parse vs feed_fast (the replay of feedparser's handler table, removed
in issue 16) vs feed_extract (the extractor the project owns), side by side in one process.

    python -m bench.bench_feed_extract                 # 1,000 feeds x 50 entries, 3 rounds
    python -m bench.bench_feed_extract --feeds 200 --rounds 2

The feeds are bench_poll's (`feed_body`: 50 RSS items of ~1 KiB each, ~47 KiB per feed), the same
bytes for every parser. Two levels are timed, CPU seconds (process time) per feed:

  parse      the parser alone: feedparser.parse(BytesIO(body), our settings) / feed_fast.parse /
             feed_extract.parse, on the headers parse_feed prepares
  mentions   the whole of parse_feed on that parser: the parse plus turning entries into Mentions
             (plain text, links, keys), which is the same code for the three

Each round times every parser over all feeds, in a rotating order; the table shows the fastest
round (the least disturbed by other processes: the machine is shared) and the JSON every round.
Every feed's mentions are checked equal across the three. The fixtures of tests/fixtures (real-ish
feeds) are timed too, each parsed 50 times, with the path parse_feed takes for them.

feed_fast no longer exists in the tree: it is loaded from git at FEED_FAST_COMMIT (it imports
feedparser's private names, so it needs the feedparser 6.0.x the project ran it with). Results go
to bench/results/feed_extract.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import feedparser

from bench.bench_poll import feed_body
from bench.common import busy_note, describe_machine, format_table, machine_info, ratio, write_results
from dashboard.models import Mention
from dashboard.sources import feed, feed_extract

# The last commit with dashboard/sources/feed_fast.py (before issue 16 replaced it).
FEED_FAST_COMMIT = "b47300e1b88245621ebd9a0b9ffb0d969432d05b"
ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HEADERS = {
    "content-type": "application/rss+xml; charset=utf-8",
    "content-location": "http://127.0.0.1:8000/feed.xml",
}

Parse = Callable[[bytes, dict[str, str]], Any]


def load_feed_fast() -> ModuleType:
    """dashboard.sources.feed_fast as it was at FEED_FAST_COMMIT."""
    source = subprocess.run(
        ["git", "show", f"{FEED_FAST_COMMIT}:dashboard/sources/feed_fast.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("feed_fast_reference", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "feed_fast.py@" + FEED_FAST_COMMIT[:7], "exec"), module.__dict__)
    return module


def parsers(feed_fast: ModuleType) -> dict[str, Parse]:
    """Each parser on the bytes and headers parse_feed hands its fast path (feedparser: its own call)."""

    def with_feedparser(body: bytes, prepared: dict[str, str]) -> Any:
        return feedparser.parse(
            io.BytesIO(feed.valid_char_refs(body)),
            response_headers=prepared,
            sanitize_html=False,
            resolve_relative_uris=False,
        )

    def with_feed_fast(body: bytes, prepared: dict[str, str]) -> Any:
        try:
            return feed_fast.parse(body, prepared)
        except feed_fast.Unsupported:
            return None

    def with_feed_extract(body: bytes, prepared: dict[str, str]) -> Any:
        return feed_extract.parse(feed.valid_char_refs(body), prepared)

    return {"feedparser": with_feedparser, "feed_fast": with_feed_fast, "feed_extract": with_feed_extract}


def mentions_with(name: str, parse: Parse) -> Callable[[bytes, dict[str, str]], tuple[Mention, ...] | None]:
    """parse_feed on one parser: None when a fast path declines (parse_feed would ask feedparser)."""

    def run(body: bytes, headers: dict[str, str]) -> tuple[Mention, ...] | None:
        body = feed._declaration_first(body)
        prepared = feed.decoding_headers(body, headers)
        if name == "feedparser":
            parsed: Any = feed._parse_with_feedparser(body, headers, prepared)
        else:
            parsed = parse(body, prepared)
            if parsed is None:
                return None
        return feed.distinct_keys(feed._mentions(parsed, headers, NOW), {})

    return run


def cpu_per_call(
    function: Callable[[bytes, dict[str, str]], Any], bodies: Sequence[bytes], headers: dict[str, str]
) -> float:
    start = time.process_time()
    for body in bodies:
        function(body, headers)
    return (time.process_time() - start) / len(bodies)


def timed_rounds(
    functions: dict[str, Callable[[bytes, dict[str, str]], Any]],
    bodies: Sequence[bytes],
    headers: dict[str, str],
    rounds: int,
) -> dict[str, list[float]]:
    """CPU seconds per feed of each function, one entry per round, the order rotating per round."""
    names = list(functions)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            times[name].append(cpu_per_call(functions[name], bodies, headers))
    return times


def check_identical(
    functions: dict[str, Callable[[bytes, dict[str, str]], Any]], bodies: Sequence[bytes]
) -> dict[str, int]:
    """Per fast path: feeds whose mentions differ from feedparser's, and feeds it declined."""
    counts = {name: 0 for name in functions if name != "feedparser"}
    declined = dict.fromkeys(counts, 0)
    for body in bodies:
        expected = functions["feedparser"](body, HEADERS)
        for name in counts:
            found = functions[name](body, HEADERS)
            if found is None:
                declined[name] += 1
            elif found != expected:
                counts[name] += 1
    return {
        **{f"{name}_different": count for name, count in counts.items()},
        **{f"{name}_declined": n for name, n in declined.items()},
    }


def fixture_rows(functions: dict[str, Parse], repeat: int) -> list[dict[str, Any]]:
    rows = []
    paths = sorted(FIXTURES.joinpath("feeds").glob("*.xml")) + sorted(
        FIXTURES.joinpath("hostile").glob("*.xml")
    )
    headers = {"content-type": "application/xml", "content-location": "https://blog.example.org/feed/"}
    for path in paths:
        body = feed._declaration_first(path.read_bytes())
        prepared = feed.decoding_headers(body, headers)
        row: dict[str, Any] = {"fixture": f"{path.parent.name}/{path.name}", "bytes": len(body)}
        for name, parse in functions.items():
            row[f"{name}_us"] = cpu_per_call(parse, [body] * repeat, prepared) * 1e6
            if name != "feedparser":
                row[f"{name}_takes"] = parse(body, prepared) is not None
        try:
            feed_extract.extract(feed.valid_char_refs(body), prepared)
            row["feed_extract_declines"] = ""
        except feed_extract.Decline as reason:
            row["feed_extract_declines"] = str(reason)[:60]
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--feeds", type=int, default=1000)
    arguments.add_argument("--rounds", type=int, default=3)
    arguments.add_argument("--fixture-repeat", type=int, default=50)
    args = arguments.parse_args(argv)

    info = machine_info()
    print(describe_machine(info))
    print(busy_note())
    feed_fast = load_feed_fast()
    by_parser = parsers(feed_fast)
    bodies = [feed_body(number) for number in range(args.feeds)]
    print(f"{args.feeds} feeds x 50 entries, {sum(map(len, bodies)) / len(bodies) / 1024:.1f} KiB per feed")

    prepared = feed.decoding_headers(bodies[0], HEADERS)
    parse_times = timed_rounds(by_parser, bodies, prepared, args.rounds)
    mention_functions = {name: mentions_with(name, parse) for name, parse in by_parser.items()}
    mention_times = timed_rounds(mention_functions, bodies, HEADERS, args.rounds)
    identical = check_identical(mention_functions, bodies)

    rows = []
    best = {
        level: {name: min(times) for name, times in level_times.items()}
        for level, level_times in (("parse", parse_times), ("mentions", mention_times))
    }
    for level in ("parse", "mentions"):
        for name in by_parser:
            cpu = best[level][name]
            rows.append(
                [
                    f"{level}: {name}",
                    f"{cpu * 1e3:.2f}",
                    f"{cpu * args.feeds:.2f}",
                    ratio(best[level]["feedparser"], cpu),
                    ratio(cpu, best[level]["feed_fast"]),
                ]
            )
    print()
    print(
        format_table(
            ["parser", "CPU ms/feed", f"CPU s/{args.feeds} feeds", "x faster than feedparser", "/ feed_fast"],
            rows,
            title=f"fastest of {args.rounds} rounds (CPU, one process)",
        )
    )
    print(f"mentions identical to feedparser's: {identical}")

    fixtures = fixture_rows(by_parser, args.fixture_repeat)
    print()
    print(
        format_table(
            [
                "fixture",
                "feedparser us",
                "feed_fast us",
                "feed_extract us",
                "fast takes",
                "extract takes / declines",
            ],
            [
                [
                    row["fixture"],
                    f"{row['feedparser_us']:.0f}",
                    f"{row['feed_fast_us']:.0f}",
                    f"{row['feed_extract_us']:.0f}",
                    "yes" if row["feed_fast_takes"] else "no",
                    "yes" if row["feed_extract_takes"] else row["feed_extract_declines"],
                ]
                for row in fixtures
            ],
            title=f"fixtures, each parsed {args.fixture_repeat} times (parse only, CPU per parse)",
        )
    )
    payload = {
        "feeds": args.feeds,
        "entries_per_feed": 50,
        "rounds": args.rounds,
        "feed_fast_commit": FEED_FAST_COMMIT,
        "cpu_per_feed_s": {
            level: {
                name: {"best": min(times), "median": statistics.median(times), "rounds": times}
                for name, times in level_times.items()
            }
            for level, level_times in (("parse", parse_times), ("mentions", mention_times))
        },
        "ratios": {
            level: {
                "feedparser_over_feed_extract": ratio(best[level]["feedparser"], best[level]["feed_extract"]),
                "feedparser_over_feed_fast": ratio(best[level]["feedparser"], best[level]["feed_fast"]),
                "feed_extract_over_feed_fast": ratio(best[level]["feed_extract"], best[level]["feed_fast"]),
            }
            for level in ("parse", "mentions")
        },
        "identical": identical,
        "fixtures": fixtures,
    }
    path = write_results("feed_extract", payload)
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
