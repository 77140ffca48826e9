"""Benchmark: a cold poll of 1,000 feeds into PostgreSQL vs into SQLite (issue 15: within 1.5x).

    python -m bench.bench_pg_poll                     # 1,000 feeds x 50 entries, 2 rounds
    python -m bench.bench_pg_poll --feeds 100 --repeats 1

The real command a team runs, `community-dashboard poll --once --config feeds.toml --db DB`, in a
fresh process each time, against bench_poll's local feed server (its own process, the same bytes for
every run: feed i is seeded by i). Each round polls into a fresh SQLite file and into a fresh
PostgreSQL database of one durable cluster (tests/pg.py: fsync on, synchronous_commit off, which is
the durability of SQLite's WAL + synchronous=NORMAL), the two backends alternating first and second
from round to round, so a machine that gets busier part-way is shared out. Per backend and round:

  cold   into an empty store: every feed answers 200; fetch, parse, store, and the background passes
         (links, language and sentiment) that `poll --once` waits for over what it stored
  warm   the same command again on that store: every feed answers 304, nothing is parsed

Measured: wall time of the command; CPU (user + sys) of the command and everything it waited for
(os.wait4's rusage: the parse workers included); the PostgreSQL server's CPU over the same interval
(the postmaster and all its processes from /proc: the live ones' utime + stime, and the backends that
exited meanwhile through the postmaster's cutime + cstime); the feed server's responses (checked: all
200 cold, all 304 warm) and the mentions stored (checked: feeds x 50 in both). Ratios are PG / SQLite
of the medians. `other_load_cores` is how many cores other processes kept busy meanwhile (this
machine is shared). When the background passes print their progress (stderr, not a terminal), each
line's arrival time is kept in the JSON: the poll itself ends about when "Language and sentiment:
0 of N" first shows. Results: bench/results/pg_poll.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.bench_poll import ENTRIES, FeedServer, write_feeds_toml
from bench.common import (
    RESULTS_DIR,
    Target,
    busy_note,
    describe_machine,
    format_table,
    machine_cpu,
    machine_info,
    other_load,
    ratio,
    write_results,
)
from tests.pg import Cluster, start_cluster

BACKENDS = ("sqlite", "postgresql")
PHASES = ("cold", "warm")
_TICKS = os.sysconf("SC_CLK_TCK")
COMMAND = Path(sys.executable).with_name("community-dashboard")


# -- the PostgreSQL server's CPU ------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCpu:
    """CPU seconds of a cluster at one moment: the postmaster's own and its reaped children's, and
    each live child's (a backend that exits later moves from `live` into `reaped`)."""

    own: float
    reaped: float
    live: dict[int, float]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after the command name, which may hold spaces


def server_cpu(postmaster: int) -> ServerCpu:
    fields = _stat_fields(postmaster)
    if fields is None:
        raise RuntimeError(f"the postmaster {postmaster} is gone")
    own = (int(fields[11]) + int(fields[12])) / _TICKS
    reaped = (int(fields[13]) + int(fields[14])) / _TICKS
    live: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (child := _stat_fields(int(entry.name))) and int(child[1]) == postmaster:
            live[int(entry.name)] = (int(child[11]) + int(child[12])) / _TICKS
    return ServerCpu(own, reaped, live)


def server_cpu_between(start: ServerCpu, end: ServerCpu) -> float:
    """CPU the cluster burnt in between: a child that exited meanwhile is in `reaped` with its whole
    life, so what it had at `start` is taken off."""
    spent = (end.own - start.own) + (end.reaped - start.reaped)
    for pid, cpu in end.live.items():
        spent += cpu - start.live.get(pid, 0.0)
    for pid, cpu in start.live.items():
        if pid not in end.live:
            spent -= cpu
    return max(0.0, spent)


def postmaster_pid(cluster: Cluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split("\n", 1)[0])


# -- one run of the command ------------------------------------------------------------------------


def run_command(config: Path, database: str, log: Path, cluster_pid: int) -> dict[str, Any]:
    """`community-dashboard poll --once` in a fresh process: wall, its CPU tree, the server's CPU."""
    command = [str(COMMAND), "poll", "--once", "--config", str(config), "--db", database]
    environment = {**os.environ, "COMMUNITY_DASHBOARD_LOG": str(log)}
    lines: list[tuple[float, str]] = []
    server_before = server_cpu(cluster_pid)
    machine_before = machine_cpu()
    began = time.perf_counter()
    with open(log.with_suffix(".out"), "w", encoding="utf-8") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True, env=environment)
        assert process.stderr is not None
        stderr = process.stderr

        def read_stderr() -> None:
            for line in stderr:
                lines.append((time.perf_counter() - began, line.rstrip("\n")))

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        reader.join(10)
    machine_after = machine_cpu()
    server = server_cpu_between(server_before, server_cpu(cluster_pid))
    cpu = usage.ru_utime + usage.ru_stime
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {lines[-5:]}")
    return {
        "wall_s": wall,
        "cpu_user_s": usage.ru_utime,
        "cpu_sys_s": usage.ru_stime,
        "cpu_s": cpu,
        "server_cpu_s": server,
        "cpu_with_server_s": cpu + server,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # the largest process of the tree (Linux: KiB)
        "other_load_cores": other_load(machine_before, machine_after, cpu + server),
        "stderr_lines": [[round(at, 2), text] for at, text in lines],
    }


def count_mentions(backend: str, database: str) -> int:
    if backend == "sqlite":
        with sqlite3.connect(database) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
    with psycopg.connect(database) as connection:
        row = connection.execute("SELECT COUNT(*) FROM mentions").fetchone()
        return int(row[0]) if row else 0


def url_of(cluster: Cluster, name: str) -> str:
    """The postgresql:// URL a user writes, as tests/pg.py new_database_url builds it."""
    return f"postgresql://postgres@/{name}?host={cluster.socket}&port=5432"


def one_round(
    number: int, order: Sequence[str], server: FeedServer, cluster: Cluster, folder: Path, feeds: int
) -> dict[str, dict[str, Any]]:
    config = folder / "feeds.toml"
    results: dict[str, dict[str, Any]] = {}
    for backend in order:
        if backend == "sqlite":
            database = str(folder / f"round{number}.db")
        else:
            name = f"poll{number}"
            with psycopg.connect(cluster.dsn, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name}")
                admin.execute(f"CREATE DATABASE {name}")
            database = url_of(cluster, name)
        server.take_counts()  # reset
        for phase in PHASES:
            feed_cpu = server.cpu()
            result = run_command(
                config, database, folder / f"{backend}-{number}-{phase}.log", postmaster_pid(cluster)
            )
            result["feed_server_cpu_s"] = server.cpu() - feed_cpu
            result["responses"] = server.take_counts()
            result["mentions_stored"] = count_mentions(backend, database)
            expected = "200" if phase == "cold" else "304"
            if result["responses"][expected] != feeds or result["mentions_stored"] != feeds * ENTRIES:
                raise RuntimeError(
                    f"{backend} {phase}: {result['responses']}, {result['mentions_stored']} stored"
                )
            results[f"{backend} {phase}"] = result
            print(
                f"  round {number} {backend:10} {phase}: {result['wall_s']:6.1f} s wall, "
                f"{result['cpu_s']:6.1f} s CPU + {result['server_cpu_s']:5.1f} s server "
                f"(other load {result['other_load_cores']:.1f} cores)",
                flush=True,
            )
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
    return results


def top_statements(
    server: FeedServer, cluster: Cluster, folder: Path, feeds: int, top: int = 15
) -> dict[str, Any]:
    """A diagnostic cold poll into PostgreSQL with pg_stat_statements loaded (a restart): where the
    server's time goes, statement by statement. Not one of the timed rounds (the extension costs a little)."""
    with psycopg.connect(cluster.dsn, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    cluster.stop("fast")
    cluster.start_again()
    name = "statements"
    with psycopg.connect(cluster.dsn, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")  # inside the trigger functions too
        admin.execute("SELECT pg_reload_conf()")
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = url_of(cluster, name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION pg_stat_statements")
        connection.execute("SELECT pg_stat_statements_reset()")
    server.take_counts()
    result = run_command(folder / "feeds.toml", url, folder / "statements.log", postmaster_pid(cluster))
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            """SELECT s.calls, s.total_exec_time, s.rows, s.toplevel, s.query FROM pg_stat_statements s
               JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s
               ORDER BY s.total_exec_time DESC LIMIT %s""",
            (name, top),
        ).fetchall()
        total = connection.execute(
            """SELECT SUM(s.total_exec_time) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
               WHERE d.datname = %s AND s.toplevel""",
            (name,),
        ).fetchone()
    found = [
        {
            "calls": calls,
            "total_ms": ms,
            "rows": count,
            "top_level": toplevel,
            "query": " ".join(query.split()),
        }
        for calls, ms, count, toplevel, query in rows
    ]
    print(
        f"\nPostgreSQL's top statements in a cold poll (pg_stat_statements; {result['wall_s']:.0f} s wall,"
        f" {result['server_cpu_s']:.1f} s server CPU, {(total[0] if total else 0) / 1000:.1f} s in top-level statements):"
    )
    for entry in found:
        level = "" if entry["top_level"] else " (in a trigger)"
        print(f"  {entry['total_ms'] / 1000:6.2f} s  {entry['calls']:6} calls{level}  {entry['query'][:150]}")
    return {"run": result, "top_level_total_ms": total[0] if total else None, "statements": found}


def summarise(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    keys = ("wall_s", "cpu_s", "server_cpu_s", "cpu_with_server_s", "peak_rss_mib", "other_load_cores")
    return {
        scenario: {key: statistics.median(run[scenario][key] for run in rounds) for key in keys}
        for scenario in rounds[0]
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2, help="rounds (each: both backends, cold + warm)")
    parser.add_argument(
        "--max-concurrency", type=int, default=8, help="feeds.toml max_concurrency (default 8)"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="one more cold poll into PostgreSQL with pg_stat_statements on: the server's top statements"
        " (with --repeats 0, added to the results file of an earlier run)",
    )
    args = parser.parse_args(argv)
    if note := busy_note():
        print(note)
    info = machine_info()
    print(describe_machine(info))
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-poll-"))
    cluster, _ = start_cluster(durable=True)
    rounds: list[dict[str, dict[str, Any]]] = []
    statements: dict[str, Any] = {}
    try:
        with FeedServer(args.feeds) as server:
            write_feeds_toml(folder, server.urls(args.feeds), max_concurrency=args.max_concurrency)
            for number in range(args.repeats):
                order = BACKENDS if number % 2 == 0 else BACKENDS[::-1]
                rounds.append(one_round(number, order, server, cluster, folder, args.feeds))
            if args.statements:
                statements = top_statements(server, cluster, folder, args.feeds)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    if not rounds:
        path = RESULTS_DIR / "pg_poll.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        document["server_statements"] = statements
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"added the server's top statements to {path}")
        return
    medians = summarise(rounds)
    ratios = {
        phase: {
            key: ratio(medians[f"postgresql {phase}"][key], medians[f"sqlite {phase}"][key])
            for key in ("wall_s", "cpu_s", "cpu_with_server_s")
        }
        for phase in PHASES
    }
    rows = [
        [
            scenario,
            numbers["wall_s"],
            numbers["cpu_s"],
            numbers["server_cpu_s"],
            numbers["cpu_with_server_s"],
            numbers["peak_rss_mib"],
            numbers["other_load_cores"],
        ]
        for scenario, numbers in sorted(medians.items(), key=lambda item: (item[0].split()[1], item[0]))
    ]
    print(
        format_table(
            ["scenario", "wall s", "CPU s", "server CPU s", "CPU+server s", "peak RSS MiB", "other load"],
            rows,
            title=f"\n{args.feeds:,} feeds x {ENTRIES} entries, `poll --once`, median of {args.repeats} round(s):",
        )
    )
    for phase in PHASES:
        numbers = ratios[phase]
        print(
            f"PG / SQLite, {phase}: wall x{numbers['wall_s']:.2f}, CPU x{numbers['cpu_s']:.2f}, "
            f"CPU with the server's x{numbers['cpu_with_server_s']:.2f}"
        )
    targets = [Target("cold poll wall, PostgreSQL / SQLite", ratios["cold"]["wall_s"] or 0.0, 1.5, "x")]
    for target in targets:
        print(target.line())
    write_results(
        "pg_poll",
        {
            "parameters": vars(args),
            "postgresql": "15, tests/pg.py durable cluster (fsync on, synchronous_commit off), Unix socket",
            "medians": medians,
            "ratios_pg_over_sqlite": ratios,
            "targets": targets,
            "rounds": rounds,
            **({"server_statements": statements} if args.statements else {}),
        },
    )


if __name__ == "__main__":
    main()
