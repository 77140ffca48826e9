"""The opinion pass beside a cold poll of N feeds x 50 entries: what it adds, and whether polls slow down.

    python -m bench.bench_opinion_pass                 # 1,000 feeds (issue 13: adds < 15 % to a cold poll)
    python -m bench.bench_opinion_pass --feeds 200 --backlog 10000

bench_poll's feeds and asyncio server, without the channel's <language> (so every entry's language is
detected, the costly case; a source that declares it skips detection). Each scenario runs in a fresh
Python process of its own, side by side in one run:

  no pass        `poll_once(force=True)` through `running_poller` with the background passes switched off
  pass           the same cold poll, then the pass over the 50,000 new mentions (it is woken when the
                 round ends): the poll's own wall, then the pass's wall and CPU until it is idle
  backlog, no pass    the store of the two back-fill scenarios (BACKLOG more rows), passes off: their baseline
  back-fill, worker   a store already holding BACKLOG mentions never analysed (a store from before the
                 pass): the back-fill runs while the cold poll runs; the analysis in the nice-19 worker
                 process, as shipped. Does the poll get slower?
  back-fill, thread   the same with the analysis in the poller's own process (a thread): what the worker
                 process avoids (the GIL taken from the event loop)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.bench_poll import (
    ENTRIES,
    Prepared,
    _serve_asyncio,
    feed_body,
    feed_path,
    prepared_response,
    write_feeds_toml,
)
from bench.common import (
    busy_note,
    cpu_between,
    cpu_snapshot,
    describe_machine,
    format_table,
    load_average,
    machine_info,
    ratio,
    write_results,
)

SCENARIOS = ("no-pass", "pass", "backlog-no-pass", "backfill-worker", "backfill-thread")


def _prepare_undeclared(feed: int) -> Prepared:
    """The bench feed without its <language>: every entry's language is then detected."""
    return prepared_response(feed_body(feed).replace(b"<language>en</language>", b""))


def _server_main(count: int, ready: Connection) -> None:
    asyncio.run(_serve_asyncio({feed_path(feed): _prepare_undeclared(feed) for feed in range(count)}, ready))


class Server:
    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_server_main, args=(count, send), daemon=True)
        self.process.start()
        send.close()
        if not receive.poll(120):
            raise RuntimeError("the feed server did not start")
        self.base_url = f"http://127.0.0.1:{int(receive.recv())}"

    def close(self) -> None:
        self.process.kill()
        self.process.join(5)


def _backlog(database: Path, rows: int) -> None:
    """`rows` mentions of a source not in the config, never analysed (opinion_version NULL)."""
    from dashboard.store.db import connect

    words = (
        "the release is great but the install keeps failing on my machine and I am annoyed",
        "merci pour la nouvelle version, mais ce n'est pas génial sur mon terminal",
        "random dashboard widget layout theme plugin install upgrade database",
    )
    connection = connect(database)
    connection.execute("INSERT INTO sources (id, name, type) VALUES (999999, 'Old', 'rss')")
    connection.execute("BEGIN")
    connection.executemany(
        """INSERT INTO mentions (source_id, key, kind, title, summary, published_at, first_seen_at, updated_at)
           VALUES (999999, ?, 'post', ?, ?, 1700000000, 1700000000, 1700000000)""",
        [(f"old{n}", f"{words[n % 3]} {n}", words[(n + 1) % 3]) for n in range(rows)],
    )
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # else the poll's commits would checkpoint it
    connection.close()


def _pending(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(
            connection.execute("SELECT count(*) FROM mentions WHERE opinion_version IS NULL").fetchone()[0]
        )


def scenario(name: str, urls: list[str], directory: Path, backlog: int) -> dict[str, Any]:
    import multiprocessing.resource_tracker

    import dashboard.polling.background as background
    import dashboard.polling.service as service
    from dashboard.config import load_config
    from dashboard.sources import source_types

    multiprocessing.resource_tracker.ensure_running()
    if name in ("no-pass", "backlog-no-pass"):

        @contextmanager
        def no_passes(*args: Any, **kwargs: Any) -> Iterator[None]:
            yield None

        service.running_passes = no_passes  # type: ignore[assignment]
    if name == "backfill-thread":
        background.LowPriorityWorker.call = lambda self, fn, *args: fn(*args)  # type: ignore[method-assign]
    config = load_config(write_feeds_toml(directory, urls, max_concurrency=8), registry=source_types())
    database = directory / "mentions.db"
    if name.startswith(("backfill", "backlog")):
        _backlog(database, backlog)

    async def run() -> dict[str, Any]:
        result: dict[str, Any] = {}
        start = cpu_snapshot()
        async with service.running_poller(config, database) as poller:
            # The event loop's responsiveness while everything runs: the worst lag of a 10 ms tick.
            lags: list[float] = []

            async def tick() -> None:
                while True:
                    before = time.perf_counter()
                    await asyncio.sleep(0.01)
                    lags.append(time.perf_counter() - before - 0.01)

            ticker = asyncio.create_task(tick())
            poll_start = cpu_snapshot()
            records = await poller.poll_once(force=True)
            poll_end = cpu_snapshot()
            ticker.cancel()
            poll = cpu_between(poll_start, poll_end)
            result["poll"] = {
                "wall": poll.wall,
                "cpu": poll.total,
                "new": sum(r.new for r in records),
                "failed": sum(1 for r in records if not r.status.is_success),
                "loop_lag_max": max(lags, default=0.0),
                "loop_lag_p99": sorted(lags)[int(len(lags) * 0.99)] if lags else 0.0,
            }
            result["pending_after_poll"] = await asyncio.to_thread(_pending, database)
            if poller.background is not None:
                await asyncio.to_thread(poller.background.wait_idle)
                pass_end = cpu_snapshot()
                after = cpu_between(poll_end, pass_end)
                result["pass_after_poll"] = {"wall": after.wall, "cpu": after.total}
        total = cpu_between(start, cpu_snapshot())
        result["total"] = {"wall": total.wall, "cpu": total.total}
        result["pending_at_end"] = _pending(database)
        return result

    return asyncio.run(run())


def spawn(name: str, base_url: str, feeds: int, backlog: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.bench_opinion_pass",
        "--scenario",
        name,
        "--base-url",
        base_url,
        "--feeds",
        str(feeds),
        "--backlog",
        str(backlog),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument(
        "--backlog", type=int, default=50_000, help="unanalysed rows for the back-fill scenarios"
    )
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--output", default="bench_opinion_pass")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        urls = [f"{args.base_url}{feed_path(feed)}" for feed in range(args.feeds)]
        with tempfile.TemporaryDirectory(prefix="bench-opinion-pass-") as directory:
            print(json.dumps(scenario(args.scenario, urls, Path(directory), args.backlog)))
        return 0
    info = machine_info()
    print(describe_machine(info))
    print(busy_note() or f"load average {load_average():.2f}", end="\n\n")
    server = Server(args.feeds)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in args.only:
            print(f"  {name} ...", flush=True)
            results[name] = spawn(name, server.base_url, args.feeds, args.backlog)
    finally:
        server.close()
    path = write_results(args.output, {"parameters": vars(args), "runs": results, "machine": info})
    base = results.get("no-pass", {}).get("poll", {})
    backlog_base = results.get("backlog-no-pass", {}).get("poll", {})
    rows = []
    for name, result in results.items():
        poll = result["poll"]
        after = result.get("pass_after_poll", {})
        rows.append(
            [
                name,
                poll["wall"],
                poll["cpu"],
                ratio(poll["wall"], base["wall"]) if base else None,
                ratio(poll["wall"], backlog_base["wall"])
                if backlog_base and name.startswith("back")
                else None,
                poll["loop_lag_max"] * 1000,
                after.get("wall"),
                after.get("cpu"),
                result["total"]["wall"],
                result["total"]["cpu"],
                f"{poll['new']:,} new, {poll['failed']} failed; pending after poll {result['pending_after_poll']:,},"
                f" at end {result['pending_at_end']:,}",
            ]
        )
    headers = [
        "scenario",
        "poll wall s",
        "poll CPU s",
        "poll x no-pass",
        "poll x backlog-no-pass",
        "loop lag max ms",
        "pass wall s",
        "pass CPU s",
        "total wall s",
        "total CPU s",
        "notes",
    ]
    print()
    print(
        format_table(
            headers, rows, title=f"{args.feeds:,} feeds x {ENTRIES} entries (cold), backlog {args.backlog:,}"
        )
    )
    if "pass" in results and base:
        with_pass = results["pass"]
        print(
            f"\npass vs no pass: the poll itself x{with_pass['poll']['wall'] / base['wall']:.2f} wall;"
            f" poll + pass x{with_pass['total']['wall'] / results['no-pass']['total']['wall']:.2f} wall,"
            f" x{with_pass['total']['cpu'] / results['no-pass']['total']['cpu']:.2f} CPU"
        )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
