"""Soak: the real poller for an hour against ~60 local sources, a third of them misbehaving in turn.

A dashboard is left running all day, so what matters is that nothing creeps: memory, open file
descriptors, the WAL, asyncio tasks, threads. This runs `running_poller(...).run(...)` (the code
`community-dashboard poll` and the app run) with short intervals against a local server in a
separate process (so its threads and sockets are not counted as ours), samples every 30 s, prints
a table, writes bench/results/soak.json, and says for each measure whether it stayed flat: the
mean of the last quarter within 10 % of the mean of the second quarter (the first quarter is
warm-up), with a small absolute allowance for counts that are naturally a handful.

    python -m bench.soak                 # an hour
    python -m bench.soak --minutes 3     # a quick look

The failing third rotate through 500s, requests that never answer (cut at the deadline), 429 and
503 with Retry-After, malformed XML, HTML pages, connection resets and garbage status lines, with a
success between runs of failures so their backoff keeps resetting and they stay in play.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from statistics import mean
from typing import Any

from bench.common import descendants, format_table, machine_cpu, mib, other_load, write_results
from dashboard.config import load_config
from dashboard.demo.httpserver import LocalServer, Reply, Seen
from dashboard.models import PollRecord
from dashboard.polling.service import running_poller
from dashboard.sources import source_types

HEALTHY_SHARE = 2 / 3
ITEMS_PER_FEED = 30
NEW_ENTRY_EVERY = 45.0  # seconds between new entries in a healthy feed
# What a misbehaving source does on its Nth request, in turn: runs of failures with a success between.
ROTATION = ("ok", "500", "timeout", "ok", "429", "bad-xml", "ok", "reset", "503", "html", "ok", "garbage")


# --- the server (a separate process) ---------------------------------------------------------------------


def feed_body(number: int, started: float) -> bytes:
    """A feed whose newest entry changes every NEW_ENTRY_EVERY seconds and whose comment counts grow."""
    elapsed = time.time() - started
    newest = int(elapsed / NEW_ENTRY_EVERY) + ITEMS_PER_FEED
    items = []
    for index in range(newest - ITEMS_PER_FEED, newest):
        published = format_datetime(
            datetime.fromtimestamp(started, UTC)
            + timedelta(seconds=(index - ITEMS_PER_FEED) * NEW_ENTRY_EVERY)
        )
        comments = int(elapsed / 120) % 7 if index % 5 == 0 else 0
        items.append(
            f'<item><guid isPermaLink="false">soak-{number}-{index}</guid><title>Soak {number} entry {index}</title>'
            f"<link>https://example.org/{number}/{index}</link><pubDate>{published}</pubDate>"
            f"<author>member{index % 11}@example.org (Member {index % 11})</author>"
            f"<description>About textual and the community, entry {index}</description>"
            f"<slash:comments>{comments}</slash:comments></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>'
        f"<title>Soak feed {number}</title><link>https://example.org/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def healthy(number: int, started: float) -> Callable[[Seen, BaseHTTPRequestHandler], Reply]:
    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        body = feed_body(number, started)
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if seen.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"Content-Type": "application/rss+xml", "ETag": etag})

    return handle


def misbehaving(number: int, started: float) -> Callable[[Seen, BaseHTTPRequestHandler], Reply | None]:
    counter = iter(range(10**9))
    lock = threading.Lock()

    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply | None:
        with lock:
            turn = ROTATION[(next(counter) + number) % len(ROTATION)]
        if turn == "ok":
            return Reply(200, feed_body(number, started), {"Content-Type": "application/rss+xml"})
        if turn in ("500", "503"):
            return Reply(int(turn), b"server trouble", {"Content-Type": "text/plain"})
        if turn == "429":
            return Reply(429, b"slow down", {"Retry-After": "20"})
        if turn == "bad-xml":
            return Reply(200, b"<?xml version='1.0'?><rss><channel><item><title>broken", {})
        if turn == "html":
            return Reply(
                200, b"<!doctype html><html><body>Not a feed</body></html>", {"Content-Type": "text/html"}
            )
        if turn == "timeout":
            raw.connection.settimeout(60)
            try:
                while raw.connection.recv(1024):
                    pass
            except OSError:
                pass
        elif turn == "reset":
            raw.send_response(200)
            raw.send_header("Content-Length", "100000")
            raw.end_headers()
            raw.wfile.write(b"<rss>" + b"x" * 1000)
            raw.wfile.flush()
            raw.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.connection.close()
        elif turn == "garbage":
            raw.wfile.write(b"HTTP/1.1 banana\r\n\r\n")
        raw.close_connection = True
        return None

    return handle


def serve(sources: int) -> None:
    """Serve the soak's feeds until stdin closes (the bench ended or died); print the base URL first."""
    started = time.time()
    with LocalServer() as server:
        for number in range(sources):
            handler = healthy if number < round(sources * HEALTHY_SHARE) else misbehaving
            server.route(f"/soak{number}.xml", handler(number, started))
        print(server.base_url, flush=True)
        sys.stdin.read()


# --- the measured side -----------------------------------------------------------------------------------


@dataclass
class Sample:
    elapsed: float  # seconds since the poller started
    rss_mib: float  # this process (the poller, its store and fetcher)
    workers_rss_mib: float  # the parse worker processes
    open_fds: int
    wal_mib: float
    db_mib: float
    asyncio_tasks: int  # all of them, in-flight polls included (at most two per source)
    other_tasks: int  # those that are not an in-flight poll: what a leak would add to
    threads: int
    polls: int  # polls finished since the previous sample
    mentions: int  # stored so far


# (measure, absolute allowance): counts of a handful move by one or two without any leak.
MEASURES: tuple[tuple[str, float], ...] = (
    ("rss_mib", 0.0),
    ("workers_rss_mib", 0.0),
    ("open_fds", 3.0),
    ("wal_mib", 0.5),
    ("other_tasks", 3.0),
    ("threads", 2.0),
)
FLAT_TOLERANCE = 0.10


def status_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def os_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def file_mib(path: Path) -> float:
    try:
        return mib(path.stat().st_size)
    except OSError:
        return 0.0


# A poll in flight is these two tasks (Poller.run's reporter and the shielded poll itself).
POLL_TASKS = frozenset({"Poller.run.<locals>.poll_and_report", "Poller._poll"})


def task_counts() -> tuple[int, int]:
    tasks = asyncio.all_tasks()
    polls = sum(getattr(task.get_coro(), "__qualname__", "") in POLL_TASKS for task in tasks)
    return len(tasks), len(tasks) - polls


def take_sample(elapsed: float, database: Path, server_pid: int, polls: int, mentions: int) -> Sample:
    workers = descendants(os.getpid(), exclude=[server_pid])
    tasks, other_tasks = task_counts()
    return Sample(
        elapsed=round(elapsed, 1),
        rss_mib=round(status_rss_mib(os.getpid()), 1),
        workers_rss_mib=round(sum(mib(stat.rss) for stat in workers), 1),
        open_fds=len(os.listdir("/proc/self/fd")),
        wal_mib=round(file_mib(database.with_name(database.name + "-wal")), 2),
        db_mib=round(file_mib(database), 2),
        asyncio_tasks=tasks,
        other_tasks=other_tasks,
        threads=os_threads(),
        polls=polls,
        mentions=mentions,
    )


def verdicts(samples: Sequence[Sample]) -> dict[str, dict[str, Any]]:
    """For each measure: second-quarter mean, last-quarter mean, and whether it stayed flat."""
    end = samples[-1].elapsed
    second = [s for s in samples if end / 4 < s.elapsed <= end / 2]
    last = [s for s in samples if s.elapsed > 3 * end / 4]
    found: dict[str, dict[str, Any]] = {}
    for name, allowance in MEASURES:
        if not second or not last:
            found[name] = {"second_quarter": None, "last_quarter": None, "flat": None}
            continue
        before = mean(float(getattr(s, name)) for s in second)
        after = mean(float(getattr(s, name)) for s in last)
        flat = after - before <= max(FLAT_TOLERANCE * before, allowance)
        found[name] = {"second_quarter": round(before, 2), "last_quarter": round(after, 2), "flat": flat}
    return found


async def soak(
    minutes: float, sample_every: float, sources: int, interval: str, timeout: str
) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.soak", "--serve", "--sources", str(sources)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # socketserver prints every reset it is handed; we provoke them
        text=True,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    polls_since = 0
    new_mentions = 0
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as directory:
        database = Path(directory) / "soak.db"
        config_path = Path(directory) / "feeds.toml"
        lines = [
            "[settings]",
            f'interval = "{interval}"',
            f'timeout = "{timeout}"',
            f'database = "{database}"',
            'keywords = ["textual"]',
        ]
        for number in range(sources):
            lines += ["", "[[feeds]]", f'name = "Soak {number}"', f'url = "{base_url}/soak{number}.xml"']
        config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = load_config(config_path, registry=source_types())

        def on_record(record: PollRecord) -> None:
            nonlocal polls_since, new_mentions
            polls_since += 1
            new_mentions += record.new
            statuses[str(record.status)] += 1
            if record.error_class:
                errors[record.error_class] += 1

        stop = asyncio.Event()
        machine_start = machine_cpu()
        cpu_start = time.process_time()
        started = time.monotonic()
        try:
            async with running_poller(config, database) as poller:
                runner = asyncio.create_task(poller.run(stop, on_record=on_record))
                deadline = started + minutes * 60
                next_sample = started
                while time.monotonic() < deadline and not runner.done():
                    if time.monotonic() >= next_sample:
                        sample = take_sample(
                            time.monotonic() - started, database, server.pid, polls_since, new_mentions
                        )
                        polls_since = 0
                        samples.append(sample)
                        print(_row(sample), flush=True)
                        next_sample += sample_every
                    await asyncio.sleep(min(1.0, max(0.0, min(next_sample, deadline) - time.monotonic())))
                samples.append(
                    take_sample(time.monotonic() - started, database, server.pid, polls_since, new_mentions)
                )
                print(_row(samples[-1]), flush=True)
                stop_started = time.monotonic()
                stop.set()
                await runner
                stop_seconds = time.monotonic() - stop_started
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=30)
        wall = time.monotonic() - started
    ours = time.process_time() - cpu_start
    return {
        "minutes": minutes,
        "sources": sources,
        "misbehaving": sources - round(sources * HEALTHY_SHARE),
        "interval": interval,
        "timeout": timeout,
        "sample_every": sample_every,
        "wall_seconds": round(wall, 1),
        "stop_seconds": round(stop_seconds, 2),
        "poller_cpu_seconds": round(ours, 1),
        "other_load_cores": round(other_load(machine_start, machine_cpu(), ours), 2),
        "polls_by_status": dict(statuses),
        "errors_by_class": dict(errors),
        "new_mentions": new_mentions,
        "samples": [asdict(sample) for sample in samples],
        "flat": verdicts(samples),
    }


HEADERS = (
    "t (s)",
    "RSS MiB",
    "workers MiB",
    "fds",
    "WAL MiB",
    "DB MiB",
    "tasks",
    "other tasks",
    "threads",
    "polls",
    "mentions",
)


def _row(sample: Sample) -> str:
    values = asdict(sample)
    return "  ".join(f"{values[key]!s:>9}" for key in values)


def report(result: dict[str, Any]) -> str:
    rows = [list(sample.values()) for sample in result["samples"]]
    lines = [
        format_table(HEADERS, rows, title=f"Soak: {result['sources']} sources, {result['minutes']:g} min")
    ]
    lines.append("")
    lines.append(f"polls by status: {result['polls_by_status']}")
    lines.append(f"errors by class: {result['errors_by_class']}")
    lines.append(
        f"new mentions {result['new_mentions']}, poller CPU {result['poller_cpu_seconds']} s, "
        f"stop took {result['stop_seconds']} s, other load {result['other_load_cores']} cores"
    )
    lines.append("")
    for name, verdict in result["flat"].items():
        if verdict["flat"] is None:
            lines.append(f"[ ?? ] {name}: too few samples")
            continue
        label = "FLAT" if verdict["flat"] else "GREW"
        lines.append(
            f"[{label}] {name}: second quarter {verdict['second_quarter']}, last quarter {verdict['last_quarter']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to run (default 60)")
    parser.add_argument(
        "--sample-every", type=float, default=30.0, help="seconds between samples (default 30)"
    )
    parser.add_argument("--sources", type=int, default=60, help="sources polled (default 60)")
    parser.add_argument("--interval", default="10s", help="each source's poll interval (default 10s)")
    parser.add_argument("--timeout", default="3s", help="the fetch deadline (default 3s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the bench, which then stops us
        serve(args.sources)
        return 0
    print("  ".join(f"{header:>9}" for header in HEADERS), flush=True)
    result = asyncio.run(soak(args.minutes, args.sample_every, args.sources, args.interval, args.timeout))
    print()
    print(report(result))
    path = write_results("soak", result)
    print(f"\nwritten to {path}")
    return 0 if all(verdict["flat"] is not False for verdict in result["flat"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
