"""Kills and full disks: the store never loses a committed poll, never holds half of one, and the
next poll finishes the work.

test_kill_mid_poll.py kills one `poll --once` three times; here `poll` runs on its schedule over
feeds whose entries and engagement change every trial, and is killed with SIGKILL twenty times at
random moments. A full disk is simulated with RLIMIT_FSIZE in the child (SIGXFSZ ignored, so
writes past the limit fail with EFBIG, as they would with ENOSPC).
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from dashboard.config import Config, load_config
from dashboard.fetch.http import Fetcher
from dashboard.fetch.parsepool import ProcessParser
from dashboard.models import PollRecord, SourceStatus
from dashboard.polling.poller import Poller
from dashboard.sources import source_types
from dashboard.store.writer import Store
from tests.feeds_factory import T0
from tests.localserver import LocalServer, Reply, Seen

FEEDS, ITEMS, STEP = 6, 20, 3  # each generation drops the STEP oldest entries and adds STEP new ones


# --- a community whose feeds change on every trial -------------------------------------------------


class ChangingFeeds:
    """Feeds whose window of entries slides and whose comment counts grow with `generation`."""

    def __init__(self, server: LocalServer, *, delay: float = 0.15, seed: int = 7) -> None:
        self.server = server
        self.generation = 0
        self.delay = delay
        self._rng = random.Random(seed)
        self.paths = [f"/feed{number}.xml" for number in range(FEEDS)]
        for number, path in enumerate(self.paths):
            server.route(path, self._handler(number))

    def keys(self, number: int) -> set[str]:
        first = self.generation * STEP
        return {f"feed{number}-{index}" for index in range(first, first + ITEMS)}

    def body(self, number: int) -> bytes:
        first = self.generation * STEP
        items = "".join(
            f'<item><guid isPermaLink="false">feed{number}-{index}</guid><title>Entry {index}</title>'
            f"<link>https://example.org/{number}/{index}</link>"
            f"<pubDate>{format_datetime(T0.replace(minute=index % 60, hour=index // 60 % 24))}</pubDate>"
            f"<slash:comments>{self.generation}</slash:comments></item>"
            for index in range(first, first + ITEMS)
        )
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'
            f"<channel><title>Feed {number}</title>{items}</channel></rss>"
        ).encode()

    def _handler(self, number: int) -> Callable[[Seen, BaseHTTPRequestHandler], Reply]:
        def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
            time.sleep(self._rng.uniform(0, self.delay))
            return Reply(200, self.body(number), {"Content-Type": "application/rss+xml"})

        return handle

    def config(self, directory: Path, *, interval: str = "1s") -> Path:
        lines = [
            "[settings]",
            f'interval = "{interval}"',
            'timeout = "5s"',
            f'database = "{directory / "mentions.db"}"',
        ]
        for number, path in enumerate(self.paths):
            lines += ["", "[[feeds]]", f'name = "Feed {number}"', f'url = "{self.server.url(path)}"']
        config = directory / "feeds.toml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return config


# --- what must hold after any kill ----------------------------------------------------------------


def check_store(db: Path) -> dict[str, set[str]]:
    """Integrity, no duplicate, whole polls only; returns each source's stored keys."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        duplicates = connection.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mentions GROUP BY source_id, key HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
        # A poll's mentions and its `polls` row are one transaction: what the polls say they added
        # is exactly what is there, for every source, whatever moment the kill chose.
        for name, stored, announced in connection.execute(
            """SELECT s.name, (SELECT COUNT(*) FROM mentions m WHERE m.source_id = s.id),
                      (SELECT COALESCE(SUM(p.new), 0) FROM polls p WHERE p.source_id = s.id)
               FROM sources s"""
        ):
            assert stored == announced, f"{name}: {stored} stored, polls announced {announced}"
        # Every engagement change recorded belongs to a stored mention.
        orphans = connection.execute(
            "SELECT COUNT(*) FROM engagement_history h LEFT JOIN mentions m ON m.id = h.mention_id WHERE m.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        keys: dict[str, set[str]] = {}
        for name, key in connection.execute(
            "SELECT s.name, m.key FROM mentions m JOIN sources s ON s.id = m.source_id"
        ):
            keys.setdefault(name, set()).add(key)
        return keys
    finally:
        connection.close()


def count_polls(db: Path) -> int:
    try:
        connection = sqlite3.connect(db)
        try:
            return int(connection.execute("SELECT COUNT(*) FROM polls").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_poll(
    config: Path, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard", "poll", *args, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
    )


async def complete_poll(
    config: Config, db: Path, fetcher: Fetcher, parser: ProcessParser
) -> list[PollRecord]:
    """The next poll, in this process through the same Poller, Fetcher, parse pool and Store."""
    store = Store.open(db)
    try:
        records = await Poller(config, store, fetcher.fetch, parser).poll_once(force=True)
    finally:
        store.close()
    assert len(records) == FEEDS
    assert all(record.status.is_success for record in records), records
    return records


# --- kill -9 ----------------------------------------------------------------------------------------------

TRIALS = 10  # each is a real kill -9 of a polling process; 10 already land mid-poll several times

# Twenty interpreters importing httpx, feedparser and the dashboard cost seconds each on a busy
# 2-core machine. So one process imports them once and forks a fresh poller per trial: each child
# runs `dashboard.cli.main(["poll", ...])`, exactly what `python -m dashboard poll` runs.
ZYGOTE = """
import json, os, signal, sys
import dashboard.cli, dashboard.polling.service, dashboard.sources.feed
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
for line in sys.stdin:
    argv, log = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setpgid(0, 0)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(out, 2)
        code = 70
        try:
            code = dashboard.cli.main(argv)
        finally:
            os._exit(code)
    print(pid, flush=True)
"""


class Zygote:
    """Forks `poll` processes from one interpreter that has already imported everything."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def poll(self, argv: list[str], log: Path) -> int:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps([argv, str(log)]) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


async def test_kill_9_at_random_moments_loses_nothing_and_the_next_poll_completes(
    server: LocalServer, tmp_path: Path
) -> None:
    feeds = ChangingFeeds(server, delay=0.2)
    config_path = feeds.config(tmp_path)
    config = load_config(config_path, registry=source_types())
    db = tmp_path / "mentions.db"
    log = tmp_path / "poll.log"
    rng = random.Random(20260301)
    landed_mid_poll = 0
    zygote = Zygote()
    try:
        async with Fetcher(timeout=5.0) as fetcher:
            with ProcessParser(workers=2, budget=20.0) as parser:
                for _trial in range(TRIALS):
                    feeds.generation += 1
                    before = count_polls(db)
                    victim = zygote.poll(["poll", "--config", str(config_path)], log)
                    # Kill once this process has committed one or more polls, plus a random delay.
                    commits = rng.randint(1, FEEDS - 1)
                    deadline = time.monotonic() + 30
                    while count_polls(db) < before + commits:
                        assert alive(victim), log.read_text()
                        assert time.monotonic() < deadline, "the poller committed nothing"
                        time.sleep(0.005)
                    # Commits come in bursts (parses queue behind the workers): mostly small delays.
                    time.sleep(min(rng.expovariate(1 / 0.03), 0.3))
                    workers = children_of(victim)
                    os.kill(victim, signal.SIGKILL)
                    while alive(victim):
                        time.sleep(0.01)

                    check_store(db)
                    # The parse workers see their parent gone and exit: no orphans left running.
                    give_up = time.monotonic() + 5
                    while any(alive(pid) for pid in workers) and time.monotonic() < give_up:
                        time.sleep(0.05)
                    assert not any(alive(pid) for pid in workers), "parse workers outlived a killed poller"

                    records = await complete_poll(config, db, fetcher, parser)
                    stored = check_store(db)
                    for number in range(FEEDS):
                        assert feeds.keys(number) <= stored[f"Feed {number}"]
                    # Some sources were already done (the killed poller stored them), the rest were not.
                    done = sum(record.status == SourceStatus.NOT_MODIFIED for record in records)
                    landed_mid_poll += 0 < done < FEEDS
    finally:
        zygote.close()
    # The kills really did land in the middle of polls, not only between them.
    assert landed_mid_poll >= TRIALS // 4, landed_mid_poll
    final = check_store(db)
    assert all(len(keys) == ITEMS + (TRIALS - 1) * STEP for keys in final.values())


# --- a full disk ------------------------------------------------------------------------------------------


def file_size_limit(limit: int) -> Callable[[], None]:
    """For the child: writes past `limit` bytes in any file fail with EFBIG instead of killing it."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def snapshot(db: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            "SELECT source_id, key, title, replies, content_changes FROM mentions ORDER BY source_id, key"
        ).fetchall()
    finally:
        connection.close()


def test_disk_full_during_poll_once_is_a_clear_error_and_keeps_the_previous_data(
    server: LocalServer, tmp_path: Path
) -> None:
    feeds = ChangingFeeds(server, delay=0.0)
    config = feeds.config(tmp_path)
    db = tmp_path / "mentions.db"
    first = start_poll(config, "--once")
    assert first.wait(timeout=60) == 0, first.communicate()[1].decode()
    before = snapshot(db)
    assert len(before) == FEEDS * ITEMS

    feeds.generation += 10  # a whole new window of entries: much more to write than the limit allows
    full = start_poll(config, "--once", preexec=file_size_limit(db.stat().st_size + 8192))
    out, errors = full.communicate(timeout=60)
    message = errors.decode()
    assert full.returncode == 1, (out.decode(), message)
    assert "Traceback" not in message
    assert message.startswith("community-dashboard: cannot write to"), message
    assert message.count("\n") == 1, message
    assert str(db) in message

    # Whatever the failing run managed to commit are whole polls; nothing before it changed.
    check_store(db)
    assert set(before) <= set(snapshot(db))

    # Space again: the next poll completes the work.
    after = start_poll(config, "--once")
    assert after.wait(timeout=60) == 0, after.communicate()[1].decode()
    stored = check_store(db)
    for number in range(FEEDS):
        assert feeds.keys(number) <= stored[f"Feed {number}"]


def test_disk_full_while_polling_on_schedule_stops_with_a_clear_error(
    server: LocalServer, tmp_path: Path
) -> None:
    """`poll` (and the dashboard) run Poller.run: a store that cannot be written must stop it with
    one clear message, not leave it re-fetching every source as fast as it can, printing tracebacks."""
    feeds = ChangingFeeds(server, delay=0.0)
    config = feeds.config(tmp_path, interval="1m")
    db = tmp_path / "mentions.db"
    first = start_poll(config, "--once")
    assert first.wait(timeout=60) == 0, first.communicate()[1].decode()
    before = snapshot(db)

    # Every source due again, with more to store than the disk can take.
    connection = sqlite3.connect(db)
    connection.execute("UPDATE sources SET next_poll_at = 0")
    connection.commit()
    connection.close()
    feeds.generation += 10
    requests_before = len(server.seen)
    running = start_poll(config, preexec=file_size_limit(db.stat().st_size + 8192))
    try:
        out, errors = running.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        running.send_signal(signal.SIGTERM)
        out, errors = running.communicate(timeout=20)
    message = errors.decode()
    requests = len(server.seen) - requests_before

    assert "Traceback" not in message, message[-3000:]
    assert running.returncode == 1, (out.decode(), message[-2000:])
    assert "cannot write to" in message
    assert requests <= 2 * FEEDS, f"{requests} requests while nothing could be stored"
    check_store(db)
    assert set(before) <= set(snapshot(db))


def test_disk_full_when_creating_the_database_is_a_clear_error(server: LocalServer, tmp_path: Path) -> None:
    feeds = ChangingFeeds(server, delay=0.0)
    config = feeds.config(tmp_path)
    fresh = start_poll(config, "--once", preexec=file_size_limit(1024))
    _out, errors = fresh.communicate(timeout=60)
    message = errors.decode()
    assert fresh.returncode == 1, message
    assert "Traceback" not in message
    assert message.startswith("community-dashboard: cannot open the database"), message
    assert server.seen == []  # nothing fetched that could not be kept


# --- two writers --------------------------------------------------------------------------------------


def test_two_pollers_on_one_database_store_each_mention_once(server: LocalServer, tmp_path: Path) -> None:
    """A `poll` left running and a `poll --once` typed in another terminal: both write, one at a time."""
    feeds = ChangingFeeds(server, delay=0.3)
    config = feeds.config(tmp_path)
    db = tmp_path / "mentions.db"
    first = start_poll(config, "--once")
    assert first.wait(timeout=60) == 0, first.communicate()[1].decode()  # the database exists
    feeds.generation += 5
    pollers = [start_poll(config, "--once") for _ in range(2)]
    for poller in pollers:
        _out, errors = poller.communicate(timeout=60)
        assert poller.returncode == 0, errors.decode()
    stored = check_store(db)  # no duplicate, and each mention announced as new by exactly one poll
    for number in range(FEEDS):
        assert feeds.keys(number) <= stored[f"Feed {number}"]
    assert count_polls(db) == 3 * FEEDS
