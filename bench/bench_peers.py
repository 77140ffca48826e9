"""Polling the same local feeds with the tools a user would pick instead: ours, reader, newsboat.

    python -m bench.bench_peers                          # 1,000 feeds x 50 entries
    python -m bench.bench_peers --feeds 100 --no-naive   # a quick run

The feeds and their server are bench_poll's (the same bytes, ETag and Last-Modified, a 304 on a
matching If-None-Match, in a process of its own). Every tool runs as a whole fresh process, timed
from the outside in the same way: wall time around the process, CPU time (user + system) of it and
of every process it waited for (`RUSAGE_CHILDREN`, so our parse workers count), interpreter start
and imports included. Each tool gets a fresh store for its cold poll; its warm poll is a second
process on the store the cold poll left, where every feed answers 304.

  ours      `community-dashboard poll --once` (every source, now) on a feeds.toml of the N feeds
  reader    lemon24's `reader` library: `update_feeds(scheduled=False, workers=W)` (the feeds are
            added by an untimed set-up process, as a user adds them once)
  newsboat  `newsboat -x reload` with its own urls file, cache file and config (`reload-threads W`)
            in a temporary HOME; three runs, as its second reload is not yet conditional
  naive     bench_poll's `for url in urls: feedparser.parse(httpx.get(url).content)` (no storage)

reader and newsboat are not project dependencies: a missing one is reported as skipped, never
estimated (`pip install reader sgmllib3k`, `apt-get install newsboat`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_poll import ENTRIES, FeedServer, feed_path, write_feeds_toml
from bench.common import (
    REPO_DIR,
    busy_note,
    describe_machine,
    format_table,
    load_average,
    machine_cpu,
    machine_info,
    other_load,
    ratio,
    write_results,
)

PROCESS_TIMEOUT = 1800  # seconds; a tool that hangs fails the bench instead of stalling it
CHILD_ROLES = ("reader-setup", "reader-update")
SECOND_RUN = "2nd run"  # newsboat's second reload, which is not yet conditional (see bench_newsboat)


# -- running one timed process ---------------------------------------------------------------------


@dataclass
class Run:
    """One tool's poll, measured from the outside."""

    tool: str
    phase: str  # "cold", "warm" (all 304), or newsboat's SECOND_RUN
    wall: float
    cpu: float  # user + system of the process and the processes it waited for
    server_cpu: float
    other_load_cores: float
    responses: dict[str, int]
    stored: int | None = None  # entries the tool's store holds afterwards
    detail: dict[str, Any] = field(default_factory=dict)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    tool: str,
    phase: str,
    command: Sequence[str],
    server: FeedServer,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO_DIR,
) -> tuple[Run, subprocess.CompletedProcess[str]]:
    """Run `command` to completion and measure it; a failing tool stops the bench with its stderr."""
    server.take_counts()
    server_before = server.cpu()
    machine_before = machine_cpu()
    cpu_before = _children_cpu()
    began = time.perf_counter()
    done = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - began
    cpu = _children_cpu() - cpu_before
    server_cpu = server.cpu() - server_before
    other = other_load(machine_before, machine_cpu(), cpu + server_cpu)
    if done.returncode != 0:
        raise RuntimeError(
            f"{tool} {phase} exited with {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return Run(tool, phase, wall, cpu, server_cpu, other, server.take_counts()), done


# -- the tools -------------------------------------------------------------------------------------


def _quiet_env(home: Path) -> dict[str, str]:
    """The environment with HOME and the XDG folders in `home`, so no tool touches the user's."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    return env


def _our_command() -> list[str]:
    script = Path(sys.executable).with_name("community-dashboard")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from dashboard.cli import main; sys.exit(main())"]


def _count(database: Path, sql: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(sql).fetchone()[0])


def bench_ours(urls: list[str], server: FeedServer, directory: Path, concurrency: int) -> list[Run]:
    """`poll --once` into a fresh database, then again on it (all 304)."""
    config = write_feeds_toml(directory, urls, max_concurrency=concurrency)
    database = directory / "mentions.db"
    env = _quiet_env(directory) | {"COMMUNITY_DASHBOARD_LOG": str(directory / "poll.log")}
    command = [*_our_command(), "poll", "--once", "--config", str(config), "--db", str(database)]
    runs = []
    for phase in ("cold", "warm"):
        run, done = run_timed("ours", phase, command, server, env=env)
        run.stored = _count(database, "SELECT COUNT(*) FROM mentions")
        run.detail["summary"] = done.stdout.strip().splitlines()[-3:]
        runs.append(run)
    return runs


def reader_installed() -> bool:
    return importlib.util.find_spec("reader") is not None


def reader_missing() -> str:
    """Why reader cannot run here ("" when it can). Its vendored feedparser still imports the
    top-level `sgmllib` that feedparser itself no longer depends on (it uses feedparser-sgmllib)."""
    if not reader_installed():
        return "skipped: reader not installed (pip install reader sgmllib3k)"
    if importlib.util.find_spec("sgmllib") is None:
        return "skipped: reader cannot parse without sgmllib (pip install sgmllib3k)"
    return ""


def reader_version() -> str:
    if not reader_installed():
        return "not installed"
    return str(importlib.import_module("reader").__version__)


def bench_reader(urls: list[str], server: FeedServer, directory: Path, workers: int) -> list[Run]:
    """The feeds added once (untimed), then `update_feeds` cold and warm, each a fresh process."""
    database = directory / "reader.sqlite"
    urls_file = directory / "urls.txt"
    urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    base = [sys.executable, "-m", "bench.bench_peers", "--db", str(database), "--workers", str(workers)]
    env = _quiet_env(directory)
    setup = subprocess.run(
        [*base, "--child", "reader-setup", "--urls-file", str(urls_file)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env=env,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    if setup.returncode != 0:
        raise RuntimeError(f"reader set-up failed:\n{setup.stderr[-4000:]}")
    runs = []
    for phase in ("cold", "warm"):
        run, done = run_timed("reader", phase, [*base, "--child", "reader-update"], server, env=env)
        outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        run.stored = outcome.pop("entries")
        run.detail = outcome
        runs.append(run)
    return runs


def reader_child(role: str, database: Path, workers: int, urls_file: Path | None) -> dict[str, Any]:
    """In the child process: add the feeds, or update them all and say what came of it."""
    reader: Any = importlib.import_module("reader")
    library = reader.make_reader(str(database))
    try:
        if role == "reader-setup":
            assert urls_file is not None
            for url in urls_file.read_text(encoding="utf-8").split():
                library.add_feed(url, exist_ok=True)
            return {"feeds": library.get_feed_counts().total}
        counts = {"updated": 0, "not_modified": 0, "errors": 0, "new_entries": 0}
        errors: set[str] = set()
        for result in library.update_feeds_iter(scheduled=False, workers=workers):
            value = result.value
            if value is None:
                counts["not_modified"] += 1
            elif isinstance(value, Exception):
                counts["errors"] += 1
                errors.add(f"{type(value).__name__}: {value}")
            else:
                counts["updated"] += 1
                counts["new_entries"] += value.new
        return counts | {"entries": library.get_entry_counts().total, "error_samples": sorted(errors)[:3]}
    finally:
        library.close()


def newsboat_path() -> str | None:
    return shutil.which("newsboat")


def newsboat_version() -> str:
    path = newsboat_path()
    if path is None:
        return "not installed"
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return (done.stdout.splitlines() or ["unknown"])[0].split(" - ")[0]


def bench_newsboat(urls: list[str], server: FeedServer, directory: Path, threads: int) -> list[Run]:
    """`newsboat -x reload` on an empty cache, then twice more on the cache it left.

    newsboat 2.21 loses the validators of a feed's first fetch (it UPDATEs the feed's ETag and
    Last-Modified before it INSERTs the feed's row), so its second reload downloads and parses
    everything again (all 200) and only the third one is conditional (all 304). Both are reported:
    the second is what a user's next reload costs, the third is its warm poll."""
    path = newsboat_path()
    assert path is not None
    urls_file = directory / "urls"
    urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    config = directory / "config"
    config.write_text(f"reload-threads {threads}\n", encoding="utf-8")
    cache = directory / "cache.db"
    command = [path, "-u", str(urls_file), "-c", str(cache), "-C", str(config), "-x", "reload"]
    runs = []
    for phase in ("cold", SECOND_RUN, "warm"):
        run, _ = run_timed("newsboat", phase, command, server, env=_quiet_env(directory), cwd=directory)
        run.stored = _count(cache, "SELECT COUNT(*) FROM rss_item")
        runs.append(run)
    return runs


def bench_naive(server: FeedServer, feeds: int, concurrency: int) -> list[Run]:
    """bench_poll's naive feedparser loop, as a whole process (it stores nothing, so no warm run)."""
    command = [
        sys.executable,
        "-m",
        "bench.bench_poll",
        "--scenario",
        "naive",
        "--base-url",
        server.base_url,
        "--feeds",
        str(feeds),
        "--max-concurrency",
        str(concurrency),
    ]
    run, done = run_timed("naive feedparser loop", "cold", command, server)
    inside = json.loads(done.stdout.strip().splitlines()[-1])["run"]
    run.stored = None
    run.detail = {"entries_parsed": inside["entries"], "loop_wall": inside["wall"]}
    return [run]


# -- the report ------------------------------------------------------------------------------------

HEADERS = [
    "tool",
    "poll",
    "wall s",
    "CPU s",
    "x ours wall",
    "x ours CPU",
    "200 / 304 / conns",
    "entries stored",
    "server CPU s",
    "other load",
]


def table_rows(runs: Sequence[Run]) -> list[list[Any]]:
    """One row per run; ratios are to our cold poll for a cold one, else to our warm poll."""
    ours = {run.phase: run for run in runs if run.tool == "ours"}
    rows: list[list[Any]] = []
    for run in runs:
        reference = ours.get("cold" if run.phase == "cold" else "warm")
        responses = run.responses
        rows.append(
            [
                run.tool,
                run.phase,
                run.wall,
                run.cpu,
                ratio(run.wall, reference.wall) if reference else None,
                ratio(run.cpu, reference.cpu) if reference else None,
                f"{responses.get('200', 0)} / {responses.get('304', 0)} / {responses.get('connections', 0)}",
                run.stored,
                run.server_cpu,
                run.other_load_cores,
            ]
        )
    return rows


def uptime_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return f"load average {load_average():.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (default 1000)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="our max_concurrency, reader's workers and newsboat's reload-threads (default 8)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive feedparser loop (slow)")
    parser.add_argument("--output", default="bench_peers", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--child", choices=CHILD_ROLES, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--urls-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(reader_child(args.child, args.db, args.workers, args.urls_file)))
        return 0

    info = machine_info()
    versions = {"reader": reader_version(), "newsboat": newsboat_version()}
    print(describe_machine(info))
    print(f"peers: reader {versions['reader']}, {versions['newsboat']}")
    before = uptime_line()
    print(busy_note() or before, end="\n\n")
    runs: list[Run] = []
    skipped: list[str] = []
    with FeedServer(args.feeds) as server, tempfile.TemporaryDirectory(prefix="bench-peers-") as temporary:
        urls = [server.base_url + feed_path(feed) for feed in range(args.feeds)]
        root = Path(temporary)
        print(
            f"{args.feeds:,} feeds x {ENTRIES} entries on {server.base_url}, concurrency {args.concurrency}"
        )
        print("  ours (poll --once) ...", flush=True)
        (root / "ours").mkdir()
        runs += bench_ours(urls, server, root / "ours", args.concurrency)
        if not reader_missing():
            print("  reader ...", flush=True)
            (root / "reader").mkdir()
            runs += bench_reader(urls, server, root / "reader", args.concurrency)
        else:
            skipped.append(reader_missing())
        if newsboat_path():
            print("  newsboat -x reload ...", flush=True)
            (root / "newsboat").mkdir()
            runs += bench_newsboat(urls, server, root / "newsboat", args.concurrency)
        else:
            skipped.append("skipped: newsboat not installed (apt-get install newsboat)")
        if not args.no_naive:
            print("  naive feedparser loop ...", flush=True)
            runs += bench_naive(server, args.feeds, args.concurrency)
    after = uptime_line()
    rows = table_rows(runs)
    print()
    print(
        format_table(
            HEADERS,
            rows,
            title=f"{args.feeds:,} local feeds x {ENTRIES} entries; whole processes, cold = empty store",
        )
    )
    for line in skipped:
        print(line)
    print(
        "x ours: the tool's time / ours for the same poll (cold / cold, else / warm); > 1 = slower than ours"
    )
    if any(run.phase == SECOND_RUN for run in runs):
        print(
            f"newsboat {SECOND_RUN}: its second reload is not yet conditional (the first fetch's ETag is lost),"
            " so it downloads and parses everything again; its third reload is the warm one"
        )
    print("other load: cores other processes kept busy meanwhile (0 = quiet machine)")
    print(f"before: {before}\nafter:  {after}")
    report = {
        "parameters": vars(args) | {"entries_per_feed": ENTRIES},
        "peers": versions,
        "uptime_before": before,
        "uptime_after": after,
        "runs": [asdict(run) for run in runs],
        "skipped": skipped,
        "table": {"headers": HEADERS, "rows": rows},
    }
    print(f"written to {write_results(args.output, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
