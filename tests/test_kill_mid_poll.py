"""A kill -9 in the middle of a poll never corrupts the store nor duplicates a mention."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.feeds_factory import rss, write_config
from tests.localserver import Handler, LocalServer, Reply, Seen

FEEDS, ITEMS = 30, 80


def slow_feed(body: bytes) -> Handler:
    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        time.sleep(random.uniform(0.0, 0.3))
        return Reply(200, body, {"Content-Type": "application/rss+xml"})

    return handle


def poll(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard", "poll", "--once", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_first_write(db: Path, timeout: float = 30.0) -> None:
    """Return once the poller has committed at least one poll: the kill then lands mid-poll."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sqlite3.connect(db).execute("SELECT COUNT(*) FROM polls").fetchone()[0]:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.01)
    raise AssertionError("the poller wrote nothing")


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15])
def test_kill_9_then_restart(server: LocalServer, tmp_path: Path, delay: float) -> None:
    paths = []
    for number in range(FEEDS):
        server.route(f"/f{number}.xml", slow_feed(rss(f"Feed {number}", ITEMS)))
        paths.append(f"/f{number}.xml")
    config = write_config(tmp_path, server, paths)
    db = tmp_path / "mentions.db"

    victim = poll(config)
    wait_for_first_write(db)
    time.sleep(delay)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()

    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = connection.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    # Whole polls only: every source has either all of its entries or none.
    partial = connection.execute(
        "SELECT COUNT(*) FROM (SELECT source_id, COUNT(*) AS n FROM mentions GROUP BY source_id HAVING n != ?)",
        (ITEMS,),
    ).fetchone()[0]
    assert partial == 0
    assert 0 < stored < FEEDS * ITEMS, "the kill should land in the middle of the poll"
    connection.close()

    survivor = poll(config)
    _, errors = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, errors.decode()
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == FEEDS * ITEMS >= stored
    duplicates = connection.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM mentions GROUP BY source_id, key HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    assert duplicates == 0
