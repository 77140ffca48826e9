"""Servers that misbehave on purpose, seen through the whole pipeline: feeds.toml -> Poller -> store.

The fetcher's own tests (test_fetcher.py, test_fetch_hostile.py) prove what one fetch does; here the
question is what the dashboard does with it: does one poll still finish when some servers never
answer, are healthy sources stored anyway, are redirects and Retry-After turned into the right
schedule, and does a `poll --once` process stay small when a server sends an endless or bomb body.
"""

from __future__ import annotations

import socket
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.config import load_config
from dashboard.models import SourceStatus
from dashboard.polling.service import running_poller
from dashboard.sources import source_types
from dashboard.store.writer import REDIRECT_ADOPT_AFTER
from tests.feeds_factory import conditional, rss
from tests.localserver import LocalServer, Reply, Seen
from tests.misbehaving import MiB, endless_chunks, gzip_bomb, never_answer

# --- helpers ----------------------------------------------------------------------------------


def hostile_config(
    directory: Path,
    server: LocalServer,
    paths: dict[str, str],
    *,
    interval: str = "15m",
    timeout: str = "5s",
    extra: str = "",
) -> Path:
    """feeds.toml with one `[[feeds]]` per name -> path on `server`, and our own settings."""
    lines = [
        "[settings]",
        f'interval = "{interval}"',
        f'timeout = "{timeout}"',
        f'database = "{directory / "mentions.db"}"',
        "",
    ]
    for name, path in paths.items():
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{server.url(path)}"', extra, ""]
    config = directory / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def query(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def source_row(db: Path, name: str) -> dict[str, object]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        row = connection.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone()
    finally:
        connection.close()
    assert row is not None, f"no source {name!r}"
    return dict(row)


def stored_count(db: Path, name: str) -> int:
    rows = query(
        db, "SELECT COUNT(*) FROM mentions m JOIN sources s ON s.id = m.source_id WHERE s.name = ?", name
    )
    return int(str(rows[0][0]))


class Clock:
    """Wall-clock time plus an offset the test moves forward (the fetcher itself reads real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


# --- handlers that misbehave ------------------------------------------------------------------


def trickle(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    """A valid feed, one byte every 20 ms: each read is quick, the whole is hopeless."""
    body = rss("Trickle", 50)
    raw.send_response(200)
    raw.send_header("Content-Type", "application/rss+xml")
    raw.send_header("Content-Length", str(len(body)))
    raw.end_headers()
    try:
        for byte in body:
            raw.wfile.write(bytes([byte]))
            raw.wfile.flush()
            time.sleep(0.02)
    except OSError:
        pass
    raw.close_connection = True


def reset_mid_body(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    body = rss("Reset", 50)
    raw.send_response(200)
    raw.send_header("Content-Type", "application/rss+xml")
    raw.send_header("Content-Length", str(len(body)))
    raw.end_headers()
    raw.wfile.write(body[: len(body) // 2])
    raw.wfile.flush()
    time.sleep(0.05)
    # SO_LINGER 0: close() sends a TCP reset instead of a clean FIN.
    raw.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.connection.close()
    raw.close_connection = True


def garbage_status_line(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    raw.wfile.write(b"HTTP/1.1 banana\r\n\x1b]0;pwned\x07\r\n\r\n")
    raw.close_connection = True


# --- one poll, bad servers and good ones --------------------------------------------------------

DEADLINE = 1.0


def test_bad_servers_end_at_the_deadline_and_the_healthy_sources_are_stored(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route("/never.xml", never_answer)
    server.route("/trickle.xml", trickle)
    server.route("/reset.xml", reset_mid_body)
    server.route("/garbage.xml", garbage_status_line)
    healthy = {f"Good {n}": f"/good{n}.xml" for n in range(3)}
    for number, path in enumerate(healthy.values()):
        server.route(path, conditional(rss(f"Good {number}", 20)))
    bad = {"Never": "/never.xml", "Trickle": "/trickle.xml", "Reset": "/reset.xml", "Garbage": "/garbage.xml"}
    config = hostile_config(tmp_path, server, bad | healthy, timeout=f"{DEADLINE:g}s")
    db = tmp_path / "mentions.db"

    # The poll as a whole ends (a hung server would hang this test): the deadline, not the server,
    # decides. How long it takes is measured in bench/, never asserted here.
    assert main(["poll", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    polls = {
        str(name): (str(status), str(error_class), float(str(duration)))
        for name, status, error_class, duration in query(
            db,
            "SELECT s.name, p.status, p.error_class, p.duration FROM polls p JOIN sources s ON s.id = p.source_id",
        )
    }
    for name in ("Never", "Trickle"):
        status, error_class, duration = polls[name]
        assert (status, error_class) == ("failing", "timeout"), polls[name]
        assert duration >= DEADLINE - 0.05, f"{name} gave up after {duration:.2f} s, before its deadline"
    # A reset or a garbage status line fails at once, as a network error, not by waiting out the deadline.
    assert polls["Reset"][:2] == ("failing", "network")
    assert polls["Garbage"][:2] == ("failing", "network")
    for name in healthy:
        assert polls[name][:2] == ("ok", "")
        assert stored_count(db, name) == 20
    for name in bad:
        assert stored_count(db, name) == 0
        assert source_row(db, name)["consecutive_failures"] == 1
    # A server's garbage never reaches the terminal raw.
    assert "\x1b" not in out


# --- redirects ----------------------------------------------------------------------------------


async def test_permanent_redirects_are_adopted_after_three_polls_temporary_ones_never(
    server: LocalServer, tmp_path: Path
) -> None:
    statuses = (301, 308, 302, 307)
    paths = {f"Moved {status}": f"/old{status}.xml" for status in statuses}
    for status in statuses:
        server.route(f"/old{status}.xml", Reply(status, b"", {"Location": f"/new{status}.xml"}))
        server.route(f"/new{status}.xml", conditional(rss(f"Moved {status}", 5)))
    config = load_config(hostile_config(tmp_path, server, paths), registry=source_types())
    db = tmp_path / "mentions.db"

    async with running_poller(config, db) as poller:
        for poll_number in range(1, REDIRECT_ADOPT_AFTER + 3):
            records = await poller.poll_once(force=True)
            assert {record.status for record in records} <= {SourceStatus.OK, SourceStatus.NOT_MODIFIED}
            for status in statuses:
                row = source_row(db, f"Moved {status}")
                adopted = status in (301, 308) and poll_number >= REDIRECT_ADOPT_AFTER
                assert row["url_override"] == (server.url(f"/new{status}.xml") if adopted else None), (
                    status,
                    poll_number,
                )
    # After adoption the old URL is not asked again: 3 requests to it, every poll reached the new one.
    polls = REDIRECT_ADOPT_AFTER + 2
    for status in (301, 308):
        assert len(server.requests_to(f"/old{status}.xml")) == REDIRECT_ADOPT_AFTER
        assert len(server.requests_to(f"/new{status}.xml")) == polls
    for status in (302, 307):
        assert len(server.requests_to(f"/old{status}.xml")) == polls
    for name in paths:
        assert stored_count(db, name) == 5


async def test_a_permanent_redirect_that_changes_target_is_never_adopted(
    server: LocalServer, tmp_path: Path
) -> None:
    """A hijacked feed bouncing between targets never earns the three-in-a-row it needs."""
    server.route("/a.xml", conditional(rss("A", 3)))
    server.route("/b.xml", conditional(rss("A", 3)))
    flips = iter(["/a.xml", "/b.xml"] * 5)

    def flapping(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        return Reply(301, b"", {"Location": next(flips)})

    server.route("/feed.xml", flapping)
    config = load_config(hostile_config(tmp_path, server, {"Flapping": "/feed.xml"}), registry=source_types())
    db = tmp_path / "mentions.db"
    async with running_poller(config, db) as poller:
        for _ in range(6):
            await poller.poll_once(force=True)
    assert source_row(db, "Flapping")["url_override"] is None
    assert len(server.requests_to("/feed.xml")) == 6


# --- failures and the schedule ----------------------------------------------------------------


async def test_404_backs_off_exponentially_and_recovers(server: LocalServer, tmp_path: Path) -> None:
    server.route("/missing.xml", Reply(404, b"no such feed"))
    config = load_config(
        hostile_config(tmp_path, server, {"Missing": "/missing.xml"}, interval="10m"), registry=source_types()
    )
    db = tmp_path / "mentions.db"
    interval = 600.0
    clock = Clock()
    gaps: list[float] = []
    async with running_poller(config, db, clock=clock) as poller:
        for failures in range(1, 6):
            [record] = await poller.poll_once()
            assert record.status == SourceStatus.FAILING
            assert record.http_status == 404
            assert record.consecutive_failures == failures
            assert record.next_poll_at is not None
            gap = (record.next_poll_at - record.started_at).total_seconds()
            expected = interval * 2 ** (failures - 1)
            assert 0.9 * expected - 1 <= gap <= 1.1 * expected + 1, (failures, gap)
            gaps.append(gap)
            # Not due before its backoff ends: a normal poll asks nothing.
            requests = len(server.requests_to("/missing.xml"))
            assert await poller.poll_once() == []
            clock.offset += timedelta(seconds=gap - 5)
            assert await poller.poll_once() == []
            assert len(server.requests_to("/missing.xml")) == requests
            clock.offset += timedelta(seconds=10)
        assert gaps == sorted(gaps)
        assert source_row(db, "Missing")["consecutive_failures"] == 5

        server.route("/missing.xml", conditional(rss("Back", 4)))
        [record] = await poller.poll_once()
        assert record.status == SourceStatus.OK
        assert record.consecutive_failures == 0
        assert record.next_poll_at is not None
        assert (record.next_poll_at - record.started_at).total_seconds() == pytest.approx(interval, abs=1)
    assert stored_count(db, "Missing") == 4


async def test_410_stops_polling_even_when_forced_and_a_month_later(
    server: LocalServer, tmp_path: Path
) -> None:
    server.route("/gone.xml", Reply(410, b"gone for good"))
    server.route("/fine.xml", conditional(rss("Fine", 2)))
    config = load_config(
        hostile_config(tmp_path, server, {"Gone": "/gone.xml", "Fine": "/fine.xml"}), registry=source_types()
    )
    db = tmp_path / "mentions.db"
    clock = Clock()
    async with running_poller(config, db, clock=clock) as poller:
        records = {record.source: record for record in await poller.poll_once()}
        assert records["Gone"].status == SourceStatus.GONE
        assert records["Gone"].next_poll_at is None
        for days in (0, 1, 30):
            clock.offset = timedelta(days=days)
            names = {record.source for record in await poller.poll_once(force=True)}
            assert names == {"Fine"}
        assert poller.next_due_at() is not None  # the healthy source keeps its schedule
    assert len(server.requests_to("/gone.xml")) == 1
    assert source_row(db, "Gone")["status"] == "gone"


SEVEN_DAYS = timedelta(days=7).total_seconds()


def rate_limited(
    status: int, retry_after: Callable[[], str]
) -> Callable[[Seen, BaseHTTPRequestHandler], Reply]:
    """A handler answering `status` with a Retry-After computed at request time."""

    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        return Reply(status, b"slow down", {"Retry-After": retry_after()})

    return handle


def http_date(delay: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + delay, usegmt=True)


async def test_retry_after_in_seconds_and_as_a_date_and_capped_at_seven_days(
    server: LocalServer, tmp_path: Path
) -> None:
    cases: dict[str, tuple[int, Callable[[], str], float]] = {
        "429 seconds": (429, lambda: "120", 120),
        "503 seconds": (503, lambda: "3600", 3600),
        "429 date": (429, lambda: http_date(timedelta(hours=2)), 7200),
        "503 date": (503, lambda: http_date(timedelta(days=1)), 86400),
        "429 huge seconds": (429, lambda: "99999999999", SEVEN_DAYS),
        "503 far date": (503, lambda: "Fri, 31 Dec 2100 23:59:59 GMT", SEVEN_DAYS),
    }
    paths = {name: "/" + name.replace(" ", "-") + ".xml" for name in cases}
    for name, (status, header, _wait) in cases.items():
        server.route(paths[name], rate_limited(status, header))
    config = load_config(hostile_config(tmp_path, server, paths, interval="1m"), registry=source_types())
    db = tmp_path / "mentions.db"
    clock = Clock()
    async with running_poller(config, db, clock=clock) as poller:
        records = {record.source: record for record in await poller.poll_once()}
        for name, (status, _header, wait) in cases.items():
            record = records[name]
            assert record.status == SourceStatus.RATE_LIMITED, record
            assert record.http_status == status
            assert record.next_poll_at is not None
            waited = (record.next_poll_at - record.started_at).total_seconds()
            assert waited == pytest.approx(wait, abs=5), name
            assert "rate-limited until" in record.error

        # Not even a forced poll asks a server that said "later"...
        clock.offset = timedelta(seconds=100)
        assert await poller.poll_once(force=True) == []
        # ...but each is asked again once its own wait is over, and not one asked before its time.
        for name, (_status, _header, wait) in sorted(cases.items(), key=lambda case: case[1][2]):
            clock.offset = timedelta(seconds=wait + 10)
            polled = {record.source for record in await poller.poll_once()}
            assert name in polled
            assert all(cases[other][2] <= wait for other in polled), (name, polled)
            assert len(server.requests_to(paths[name])) >= 2


# --- memory of a whole `poll --once` process ------------------------------------------------------

MEMORY_LIMIT_MIB = 150

# ru_maxrss of a child counts what it inherited at fork, so a child of a big pytest process starts
# "peaking" at pytest's size. A tiny launcher runs the command and reports the peak of its own
# children: the poll process, and the parse workers it reaped.
PEAK_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print(f"peak-rss-kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def run_measuring_peak(argv: list[str]) -> tuple[int, str, str, float]:
    """Run `argv`; its exit code, stdout, stderr and peak resident memory in MiB."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_LAUNCHER, *argv], capture_output=True, text=True, timeout=120
    )
    errors, _, peak = done.stderr.rpartition("peak-rss-kib=")
    return done.returncode, done.stdout, errors, int(peak) / 1024


def test_poll_process_stays_small_with_an_endless_body_and_a_gzip_bomb(
    server: LocalServer, tmp_path: Path
) -> None:
    bomb = gzip_bomb(1024)  # 1 MB on the wire, 1 GiB inflated
    assert len(bomb) < 1.2 * MiB
    server.route("/bomb.xml", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    server.route("/endless.xml", endless_chunks)
    server.route("/fine.xml", conditional(rss("Fine", 30)))
    paths = {"Bomb": "/bomb.xml", "Endless": "/endless.xml", "Fine": "/fine.xml"}
    config = hostile_config(tmp_path, server, paths, timeout="20s")

    code, out, errors, peak_mib = run_measuring_peak(
        [sys.executable, "-m", "dashboard", "poll", "--once", "--config", str(config)]
    )
    assert code == 0, errors
    assert peak_mib < MEMORY_LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB"
    db = tmp_path / "mentions.db"
    assert source_row(db, "Bomb")["error_class"] == "too large"
    assert source_row(db, "Endless")["error_class"] == "too large"
    assert stored_count(db, "Fine") == 30, out


def test_the_peak_launcher_sees_a_big_allocation() -> None:
    """The measurement above can fail: a child that holds 200 MiB is reported above the limit."""
    code, _out, _errors, peak_mib = run_measuring_peak(
        [sys.executable, "-c", "block = bytearray(200 * 2**20); block[::4096] = b'x' * len(block[::4096])"]
    )
    assert code == 0
    assert peak_mib > MEMORY_LIMIT_MIB
