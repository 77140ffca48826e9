"""Stopping `poll`: the first SIGTERM/Ctrl-C cancels every source not yet started, lets the running
polls finish (within STOP_GRACE), and exits saying "Stopped"; a second one exits at once. 40 slow
feeds used to be fetched to the last one before `poll` would stop."""

from __future__ import annotations

import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import IO

import pytest

from tests.feeds_factory import rss, write_config
from tests.localserver import LocalServer, Reply, Seen

FEEDS = 40


def slow_feed(release: threading.Event, delay: float) -> Callable[[Seen, BaseHTTPRequestHandler], Reply]:
    """A feed answering after `delay` seconds, or at once when `release` is set (test teardown)."""

    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        release.wait(delay)
        return Reply(200, rss(seen.path, 2), {"Content-Type": "application/rss+xml"})

    return handle


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the server's handler threads end before it shuts down


def slow_config(
    server: LocalServer, tmp_path: Path, release: threading.Event, delay: float, *, first: float | None = None
) -> Path:
    """FEEDS feeds answering after `delay` seconds (the first one after `first`, if given)."""
    paths = [f"/slow{number}.xml" for number in range(FEEDS)]
    for number, path in enumerate(paths):
        server.route(path, slow_feed(release, first if number == 0 and first is not None else delay))
    config = write_config(tmp_path, server, paths)
    config.write_text(config.read_text().replace('timeout = "5s"', 'timeout = "60s"'))
    return config


class Child:
    """`python -m dashboard ARGS`, its output read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashboard", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            (self.out if name == "out" else self.err).append(line)
            self.lines.put((name, line))

    def wait_for(self, stream: str, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {start!r} on std{stream}: {''.join(self.out)} {''.join(self.err)}"
            try:
                name, line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if name == stream and line.startswith(start):
                return line

    def finish(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            time.sleep(0.1)  # the reader threads take the last lines

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


def check_store(db: Path) -> dict[str, int]:
    """Integrity, no duplicate mention, no source polled twice; returns each source's poll count."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        duplicates = connection.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mentions GROUP BY source_id, key HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
        polls = dict(
            connection.execute(
                "SELECT s.name, COUNT(p.id) FROM sources s JOIN polls p ON p.source_id = s.id GROUP BY s.id"
            ).fetchall()
        )
        assert all(count == 1 for count in polls.values()), polls
        return polls
    finally:
        connection.close()


def wait_for_requests(server: LocalServer, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(server.seen) < count:
        assert time.monotonic() < deadline, "the poller requested nothing"
        time.sleep(0.02)


def test_sigterm_stops_poll_without_fetching_the_queued_sources(
    server: LocalServer, tmp_path: Path, release: threading.Event
) -> None:
    # The first feed answers at once, the others in 2 s: when its line is printed, about
    # max_concurrency feeds have been asked for and the rest are still waiting for a slot.
    config = slow_config(server, tmp_path, release, delay=2.0, first=0.0)
    child = Child("poll", "--config", str(config))
    child.wait_for("out", "Feed ")
    child.process.send_signal(signal.SIGTERM)
    assert child.finish() == 0, child.stderr
    assert "Stopped" in child.stdout
    assert "Traceback" not in child.stderr
    requested = {seen.path for seen in server.seen}
    assert len(server.seen) == len(requested)  # nothing fetched twice
    assert len(requested) <= FEEDS // 2, f"{len(requested)} of {FEEDS} feeds fetched after a stop"
    polls = check_store(tmp_path / "mentions.db")
    # What was fetched within the grace was stored; nothing else was.
    assert len(polls) == child.stdout.count("  ok  ")
    assert 1 <= len(polls) <= len(requested)


def test_a_poll_still_fetching_after_the_grace_is_cancelled_and_poll_stops(
    server: LocalServer, tmp_path: Path, release: threading.Event
) -> None:
    config = slow_config(server, tmp_path, release, delay=120)  # they never answer in time
    child = Child("poll", "--config", str(config))
    wait_for_requests(server, 1)
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("err", "Stopping")
    assert child.finish() == 0, child.stderr
    assert "Stopped cleanly." in child.stdout
    assert "Traceback" not in child.stderr
    assert "never awaited" not in child.stderr
    assert len(server.seen) < FEEDS
    assert check_store(tmp_path / "mentions.db") == {}


def test_a_second_sigterm_exits_at_once(
    server: LocalServer, tmp_path: Path, release: threading.Event
) -> None:
    config = slow_config(server, tmp_path, release, delay=120)
    child = Child("poll", "--config", str(config))
    wait_for_requests(server, 1)
    child.process.send_signal(signal.SIGTERM)
    child.wait_for("err", "Stopping")
    child.process.send_signal(signal.SIGTERM)
    assert child.finish() == 130, child.stderr
    assert "Forced exit" in child.stderr
    assert "Stopped cleanly." not in child.stdout
    check_store(tmp_path / "mentions.db")


def test_ctrl_c_during_poll_once_stops_cleanly_and_says_what_was_not_polled(
    server: LocalServer, tmp_path: Path, release: threading.Event
) -> None:
    """It used to print tracebacks ("Cannot operate on a closed database") and "coroutine ... was
    never awaited"."""
    config = slow_config(server, tmp_path, release, delay=0.5)
    child = Child("poll", "--once", "--config", str(config))
    wait_for_requests(server, 1)
    child.process.send_signal(signal.SIGINT)
    assert child.finish() == 130, child.stderr
    assert "never awaited" not in child.stderr
    assert "Traceback" not in child.stderr
    stopped = [line for line in child.out if line.startswith("Stopped: interrupted")]
    assert len(stopped) == 1, child.stdout
    polls = check_store(tmp_path / "mentions.db")
    assert f"{FEEDS - len(polls)} source(s) not polled" in stopped[0]
    assert len(server.seen) < FEEDS
