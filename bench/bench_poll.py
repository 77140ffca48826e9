"""Polling N local feeds: our poller (cold and warm) against the loop a user would write.

    python -m bench.bench_poll                    # 100 and 1,000 feeds
    python -m bench.bench_poll --feeds 1000 --no-naive

Each feed has 50 realistic RSS items (title, link, author, categories, ~500 B of HTML description
in CDATA), served with an ETag by a small asyncio HTTP/1.1 server in its own process (so its CPU is
not charged to the measured process; `--server threaded` uses the project's threaded LocalServer
instead). Every scenario runs in a fresh Python process of its own, so its CPU time and peak memory
are its own; the feeds are the same bytes for every scenario.

Scenarios, side by side in one run:
  ours cold   `poll_once(force=True)` through `running_poller` into a fresh database (parse pool,
              store writes and the pool's start-up included)
  ours warm   a second `poll_once(force=True)`: every feed answers 304, nothing is parsed
  naive       `for url in urls: feedparser.parse(httpx.get(url).content)` (no storage)
  naive, our parser settings   the same loop, with feedparser's sanitising and URI resolution off
  pure parse  the bytes already in memory: feedparser.parse with our settings, one process, CPU summed
              (and our whole `parse_feed`, which adds turning entries into mentions)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import multiprocessing
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench.common import (
    PeakRss,
    Target,
    busy_note,
    cpu_between,
    cpu_snapshot,
    describe_machine,
    format_table,
    load_average,
    machine_cpu,
    machine_info,
    mib,
    other_load,
    ratio,
    read_stat,
    self_peak_bytes,
    write_results,
)

ENTRIES = 50
FEED_EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCENARIOS = ("ours", "naive", "naive-our-settings", "pure-parse")
TARGET_FEEDS = 1000  # the brief's targets are for 1,000 feeds on 2 cores

# -- the feeds -------------------------------------------------------------------------------------

_WORDS = [
    "release",
    "terminal",
    "dashboard",
    "python",
    "async",
    "feed",
    "parser",
    "textual",
    "widget",
    "layout",
    "theme",
    "plugin",
    "install",
    "upgrade",
    "database",
    "query",
    "index",
    "cache",
    "memory",
    "startup",
    "latency",
    "benchmark",
    "profile",
    "thread",
    "process",
    "worker",
    "socket",
    "server",
    "client",
    "request",
    "response",
    "header",
    "body",
    "stream",
    "chunk",
    "buffer",
    "encoding",
    "unicode",
    "emoji",
    "community",
    "maintainer",
    "contributor",
    "review",
    "merge",
    "branch",
    "commit",
    "issue",
    "question",
    "answer",
    "tutorial",
    "guide",
]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _description(rng: random.Random, feed: int, item: int) -> str:
    """~500 bytes of the HTML blogs put in <description>: paragraphs, a link, emphasis, code, a list."""
    return (
        f"<p>{_sentence(rng, 12)}</p>"
        f'<p>{_sentence(rng, 8)} <a href="https://blog{feed}.example.org/posts/{item}#more">'
        f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}</a> and <em>{rng.choice(_WORDS)}</em>.</p>"
        f"<ul><li>{_sentence(rng, 5)}</li><li>{_sentence(rng, 6)}</li></ul>"
        f"<p><code>{rng.choice(_WORDS)}()</code> {_sentence(rng, 10)} &amp; more.</p>"
    )


def feed_body(feed: int, entries: int = ENTRIES) -> bytes:
    """Feed number `feed` as RSS 2.0 bytes; the same bytes every time (seeded by the number)."""
    rng = random.Random(feed)
    site = f"https://blog{feed}.example.org"
    items = []
    for item in range(entries):
        title = escape(_sentence(rng, 7)[:-1])
        published = format_datetime(FEED_EPOCH - timedelta(hours=item * 3 + feed % 3))
        categories = "".join(f"<category>{rng.choice(_WORDS)}</category>" for _ in range(2))
        items.append(
            f"<item><title>{title}</title><link>{site}/posts/{item}</link>"
            f"<comments>{site}/posts/{item}#comments</comments>"
            f"<dc:creator><![CDATA[Author {rng.randrange(12)}]]></dc:creator>"
            f"<pubDate>{published}</pubDate>{categories}"
            f'<guid isPermaLink="false">{site}/?p={10_000 + item}</guid>'
            f"<description><![CDATA[{_description(rng, feed, item)}]]></description>"
            f"<slash:comments>{rng.randrange(40)}</slash:comments></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Blog {feed}</title><link>{site}</link>"
        f"<description>Posts of blog {feed}</description><language>en</language>"
        f"<lastBuildDate>{format_datetime(FEED_EPOCH)}</lastBuildDate>" + "".join(items) + "</channel></rss>"
    ).encode()


def feed_path(feed: int) -> str:
    return f"/feed{feed}.xml"


# -- the server (its own process) ------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A feed's two possible answers, as ready-to-send bytes."""

    etag: bytes
    full: bytes
    not_modified: bytes


def _prepare(feed: int) -> Prepared:
    return prepared_response(feed_body(feed))


def prepared_response(body: bytes) -> Prepared:
    """The 200 with validators and the 304 a conditional request gets, for one feed body."""
    etag = b'"' + hashlib.sha1(body).hexdigest().encode() + b'"'
    common = (
        b"ETag: "
        + etag
        + b"\r\nLast-Modified: "
        + format_datetime(FEED_EPOCH, usegmt=True).encode()
        + b"\r\n"
    )
    full = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
        + common
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    return Prepared(etag, full, b"HTTP/1.1 304 Not Modified\r\n" + common + b"\r\n")


class _Counts:
    def __init__(self) -> None:
        self.values = {"200": 0, "304": 0, "404": 0, "connections": 0}

    def reply(self) -> bytes:
        body = json.dumps(self.values).encode()
        self.values = dict.fromkeys(self.values, 0)
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )


async def _serve_asyncio(feeds: dict[str, Prepared], ready: Connection) -> None:
    counts = _Counts()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.values["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].decode("latin-1")
                etag = b""
                for line in lines[1:]:
                    if line[:14].lower() == b"if-none-match:":
                        etag = line[14:].strip()
                if path.startswith("/__stats"):
                    writer.write(counts.reply())
                elif (prepared := feeds.get(path)) is None:
                    counts.values["404"] += 1
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif etag == prepared.etag:
                    counts.values["304"] += 1
                    writer.write(prepared.not_modified)
                else:
                    counts.values["200"] += 1
                    writer.write(prepared.full)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    ready.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _serve_threaded(feeds: dict[str, Prepared], ready: Connection) -> None:
    """The project's own threaded test server, for comparison."""
    from http.server import BaseHTTPRequestHandler

    from dashboard.demo.httpserver import LocalServer, Reply, Seen

    counts = _Counts()

    def conditional(prepared: Prepared) -> Any:
        _, _, body = prepared.full.partition(b"\r\n\r\n")
        headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": prepared.etag.decode()}

        def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
            if seen.headers.get("if-none-match", "").encode() == prepared.etag:
                counts.values["304"] += 1
                return Reply(304, b"", headers)
            counts.values["200"] += 1
            return Reply(200, body, headers)

        return handle

    server = LocalServer()  # the demo's server, which keeps nothing of the requests it answers
    for path, prepared in feeds.items():
        server.route(path, conditional(prepared))
    server.route("/__stats", lambda seen, raw: Reply(200, counts.reply().partition(b"\r\n\r\n")[2]))
    ready.send(int(server.base_url.rsplit(":", 1)[1]))
    threading_event = __import__("threading").Event()
    threading_event.wait()


def _server_main(kind: str, count: int, ready: Connection) -> None:
    feeds = {feed_path(feed): _prepare(feed) for feed in range(count)}
    if kind == "threaded":
        _serve_threaded(feeds, ready)
    else:
        asyncio.run(_serve_asyncio(feeds, ready))


class FeedServer:
    """The feed server in a child process: `with FeedServer(1000) as server: server.url(3)`."""

    def __init__(self, count: int, kind: str = "asyncio") -> None:
        self.count = count
        self.kind = kind
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_server_main, args=(kind, count, send), daemon=True, name="bench-feed-server"
        )
        self.process.start()
        send.close()
        if not receive.poll(120):
            raise RuntimeError("the feed server did not start")
        self.port = int(receive.recv())

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, feed: int) -> str:
        return self.base_url + feed_path(feed)

    def urls(self, count: int) -> list[str]:
        return [self.url(feed) for feed in range(count)]

    def cpu(self) -> float:
        stat = read_stat(self.pid)
        return stat.cpu if stat else 0.0

    def take_counts(self) -> dict[str, int]:
        """Responses by status since the last call."""
        import httpx

        counts: dict[str, int] = httpx.get(self.base_url + "/__stats", timeout=10).json()
        return counts

    def close(self) -> None:
        self.process.kill()
        self.process.join(5)

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- scenarios (each in a fresh process) -----------------------------------------------------------


def write_feeds_toml(
    directory: Path,
    urls: Sequence[str],
    *,
    max_concurrency: int,
    interval: str = "15m",
    keywords: Sequence[str] = (),
) -> Path:
    lines = [
        "[settings]",
        f'interval = "{interval}"',
        'timeout = "30s"',
        f"max_concurrency = {max_concurrency}",
        f'database = "{directory / "mentions.db"}"',
        f"keywords = {json.dumps(list(keywords))}",
        "",
    ]
    for number, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "Feed {number:04d}"', f'url = "{url}"', ""]
    path = directory / "feeds.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _phase(start: Any, end: Any, peak: PeakRss, **extra: Any) -> dict[str, Any]:
    use = cpu_between(start, end)
    return {
        "wall": use.wall,
        "cpu_process": use.process,
        "cpu_children": use.children,
        "cpu_total": use.total,
        "cores_busy": use.cores,
        "peak_rss_tree_mib": mib(peak.peak_bytes),
        "peak_processes": peak.peak_processes,
        **extra,
    }


def scenario_ours(urls: list[str], directory: Path, max_concurrency: int) -> dict[str, Any]:
    import multiprocessing.resource_tracker

    from dashboard.config import load_config
    from dashboard.polling.service import running_poller
    from dashboard.sources import source_types

    multiprocessing.resource_tracker.ensure_running()  # as the app does before it runs
    config = load_config(
        write_feeds_toml(directory, urls, max_concurrency=max_concurrency), registry=source_types()
    )
    database = directory / "mentions.db"

    async def run() -> dict[str, Any]:
        start = cpu_snapshot()
        with PeakRss() as cold_peak:
            async with running_poller(config, database) as poller:
                setup = time.perf_counter() - start.wall
                cold = await poller.poll_once(force=True)
                after_cold = cpu_snapshot()
                cold_peak.sample(full=True)
                with PeakRss() as warm_peak:
                    warm = await poller.poll_once(force=True)
                    after_warm = cpu_snapshot()
        closed = cpu_snapshot()
        return {
            "cold": _phase(
                start,
                after_cold,
                cold_peak,
                setup_wall=setup,
                statuses=_statuses(cold),
                errors=_errors(cold),
                new=sum(r.new for r in cold),
            ),
            "warm": _phase(
                after_cold,
                after_warm,
                warm_peak,
                statuses=_statuses(warm),
                errors=_errors(warm),
                new=sum(r.new for r in warm),
            ),
            "close_wall": closed.wall - after_warm.wall,
            "close_cpu": cpu_between(after_warm, closed).total,
        }

    result = asyncio.run(run())
    result["mentions_stored"] = _count_mentions(database)
    result["database_mib"] = mib(sum(p.stat().st_size for p in directory.glob("mentions.db*")))
    result["self_peak_rss_mib"] = mib(self_peak_bytes())
    return result


def _errors(records: Sequence[Any]) -> list[str]:
    """A few distinct error messages, so a failing feed in a run is explained in the results."""
    return sorted({f"{r.source}: {r.error}" for r in records if r.error})[:5]


def _statuses(records: Sequence[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for record in records:
        found[str(record.status)] = found.get(str(record.status), 0) + 1
    return found


def _count_mentions(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])


def scenario_naive(urls: list[str], our_settings: bool) -> dict[str, Any]:
    import feedparser
    import httpx

    entries = 0
    start = cpu_snapshot()
    with PeakRss() as peak:
        if our_settings:
            for url in urls:
                response = httpx.get(url)
                parsed = feedparser.parse(
                    io.BytesIO(response.content),
                    response_headers=dict(response.headers),
                    sanitize_html=False,
                    resolve_relative_uris=False,
                )
                entries += len(parsed.entries)
        else:
            for url in urls:
                entries += len(feedparser.parse(httpx.get(url).content).entries)
    end = cpu_snapshot()
    return {"run": _phase(start, end, peak, entries=entries), "self_peak_rss_mib": mib(self_peak_bytes())}


def scenario_pure_parse(urls: list[str]) -> dict[str, Any]:
    import feedparser
    import httpx

    from dashboard.sources.feed import parse_feed

    with httpx.Client() as client:
        bodies = [(response.content, dict(response.headers)) for response in map(client.get, urls)]
    entries = 0
    start = cpu_snapshot()
    with PeakRss() as peak:
        for body, headers in bodies:
            parsed = feedparser.parse(
                io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
            )
            entries += len(parsed.entries)
    feedparser_end = cpu_snapshot()
    mentions = 0
    pickled = 0
    now = datetime.now(UTC)
    for body, headers in bodies:
        found = parse_feed(body, headers, now)
        mentions += len(found)
        pickled += len(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
    parse_feed_end = cpu_snapshot()
    return {
        "feedparser": _phase(start, feedparser_end, peak, entries=entries),
        "parse_feed_cpu": cpu_between(feedparser_end, parse_feed_end).process,
        "mentions": mentions,
        "pickled_mib": mib(pickled),
        "body_mib": mib(sum(len(body) for body, _ in bodies)),
        "self_peak_rss_mib": mib(self_peak_bytes()),
    }


def run_scenario(args: argparse.Namespace) -> None:
    """Child-process entry: run one scenario, print its JSON as the last line of stdout."""
    urls = [f"{args.base_url}{feed_path(feed)}" for feed in range(args.feeds)]
    if args.scenario == "ours":
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as directory:
            result = scenario_ours(urls, Path(directory), args.max_concurrency)
    elif args.scenario == "pure-parse":
        result = scenario_pure_parse(urls)
    else:
        result = scenario_naive(urls, our_settings=args.scenario == "naive-our-settings")
    print(json.dumps(result))


def spawn_scenario(scenario: str, server: FeedServer, feeds: int, max_concurrency: int) -> dict[str, Any]:
    """Run a scenario in a fresh interpreter; its result plus the server's CPU and responses."""
    server.take_counts()
    server_cpu = server.cpu()
    command = [
        sys.executable,
        "-m",
        "bench.bench_poll",
        "--scenario",
        scenario,
        "--base-url",
        server.base_url,
        "--feeds",
        str(feeds),
        "--max-concurrency",
        str(max_concurrency),
    ]
    machine_before = machine_cpu()
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {scenario} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - began
    result["server_cpu"] = server.cpu() - server_cpu
    # The scenario process's whole life is not visible from here; its measured phases are most of it.
    measured = sum(phase["cpu_total"] for phase in _phases(result))
    result["other_load_cores"] = other_load(machine_before, machine_cpu(), measured + result["server_cpu"])
    result["server_responses"] = server.take_counts()
    return result


def _phases(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [value for value in result.values() if isinstance(value, dict) and "cpu_total" in value]


# -- the report ------------------------------------------------------------------------------------


def summarize(
    feeds: int, results: dict[str, dict[str, Any]], cores: int
) -> tuple[list[list[Any]], list[Target]]:
    """Rows of the side-by-side table, and the brief's targets where they apply (1,000 feeds)."""
    rows: list[list[Any]] = []
    ours = results.get("ours")
    naive = results.get("naive")
    pure = results.get("pure-parse")
    reference = ours["cold"]["wall"] if ours else None

    def add(label: str, phase: dict[str, Any], note: str = "") -> None:
        rows.append(
            [
                label,
                phase["wall"],
                phase["cpu_process"],
                phase["cpu_children"],
                phase["cpu_total"],
                phase["peak_rss_tree_mib"],
                ratio(phase["wall"], reference) if reference else None,
                note,
            ]
        )

    if ours:
        cold = ours["cold"]
        add("ours: cold poll", cold, f"{cold['statuses']}, {cold['new']:,} new")
        add("ours: warm poll (304)", ours["warm"], f"{ours['warm']['statuses']}")
    if naive:
        add("naive loop", naive["run"], f"{naive['run']['entries']:,} entries")
    if "naive-our-settings" in results:
        run = results["naive-our-settings"]["run"]
        add("naive loop, our parser settings", run, f"{run['entries']:,} entries")
    if pure:
        add(
            "pure parse (feedparser, our settings)",
            pure["feedparser"],
            f"{pure['feedparser']['entries']:,} entries",
        )
        rows.append(
            [
                "pure parse_feed (feedparser + mentions)",
                None,
                pure["parse_feed_cpu"],
                0.0,
                pure["parse_feed_cpu"],
                None,
                None,
                f"{pure['mentions']:,} mentions",
            ]
        )
    targets: list[Target] = []
    if ours and feeds == TARGET_FEEDS:
        cold_wall = ours["cold"]["wall"]
        if naive:
            targets.append(
                Target(
                    "cold poll speed-up over the naive loop", naive["run"]["wall"] / cold_wall, 5.0, "x", True
                )
            )
        if pure:
            ideal = pure["feedparser"]["cpu_total"] / cores
            targets.append(Target("cold poll wall / (pure parse CPU / cores)", cold_wall / ideal, 1.5, "x"))
        targets.append(Target("warm poll / cold poll", 100 * ours["warm"]["wall"] / cold_wall, 5.0, "%"))
        parsed_warm = ours["warm"]["statuses"].get("ok", 0)
        targets.append(Target("feeds parsed in the warm poll", parsed_warm, 0, "feeds"))
    return rows, targets


HEADERS = [
    "scenario",
    "wall s",
    "CPU self s",
    "CPU children s",
    "CPU total s",
    "peak RSS MiB",
    "x ours cold",
    "notes",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--feeds", type=int, nargs="+", default=[100, 1000], help="feed counts (default: 100 1000)"
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=8, help="feeds.toml max_concurrency (default 8)"
    )
    parser.add_argument("--server", choices=("asyncio", "threaded"), default="asyncio")
    parser.add_argument("--no-naive", action="store_true", help="skip the two naive loops (the slow part)")
    parser.add_argument("--output", default="bench_poll", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        args.feeds = args.feeds[0]
        run_scenario(args)
        return 0
    info = machine_info()
    cores = int(info["cores"] or 1)
    print(describe_machine(info))
    print(busy_note() or f"load average {load_average():.2f}", end="\n\n")
    scenarios = [s for s in SCENARIOS if not (args.no_naive and s.startswith("naive"))]
    report: dict[str, Any] = {"parameters": vars(args) | {"entries_per_feed": ENTRIES}, "runs": {}}
    all_targets: list[Target] = []
    with FeedServer(max(args.feeds), args.server) as server:
        body_sizes = [len(feed_body(feed)) for feed in range(min(50, max(args.feeds)))]
        print(
            f"server: {args.server}, feeds of {ENTRIES} items, ~{sum(body_sizes) / len(body_sizes) / 1024:.0f} KiB each\n"
        )
        for feeds in args.feeds:
            results: dict[str, dict[str, Any]] = {}
            for scenario in scenarios:
                print(f"  {feeds} feeds: {scenario} ...", flush=True)
                results[scenario] = spawn_scenario(scenario, server, feeds, args.max_concurrency)
            rows, targets = summarize(feeds, results, cores)
            print()
            print(
                format_table(
                    HEADERS, rows, title=f"{feeds:,} feeds x {ENTRIES} entries, server: {args.server}"
                )
            )
            server_line = ", ".join(
                f"{name} {result['server_cpu']:.2f} s" for name, result in results.items()
            )
            print(f"server CPU per scenario: {server_line}")
            other_line = ", ".join(
                f"{name} {result['other_load_cores']:.2f}" for name, result in results.items()
            )
            print(f"cores busy with other processes during each scenario (0 = quiet machine): {other_line}")
            for target in targets:
                print(target.line())
            print()
            report["runs"][str(feeds)] = {"results": results, "table": {"headers": HEADERS, "rows": rows}}
            all_targets += targets
    report["targets"] = all_targets
    path = write_results(args.output, report)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
