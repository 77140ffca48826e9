"""`community-dashboard poll`: runs until SIGTERM, polls on schedule, writes scheduled snapshots."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer


def test_poll_runs_until_sigterm_and_rotates_scheduled_snapshots(server: LocalServer, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    extra = f'\n[export]\ndir = "{exports}"\nevery = "1s"\nkeep = 2\n'
    config = write_config(tmp_path, server, serve_feeds(server, 2, items=3), extra=extra)
    config.write_text(config.read_text().replace('interval = "15m"', 'interval = "1s"'))
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "poll", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(exports.glob("snapshot-*"))) < 2:
            time.sleep(0.2)
        time.sleep(2.5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Stopped cleanly." in out
    assert out.count("Snapshot written") >= 3
    assert 1 <= len(list(exports.glob("snapshot-*"))) <= 2
    polls = sqlite3.connect(tmp_path / "mentions.db").execute("SELECT COUNT(*) FROM polls").fetchone()[0]
    assert polls >= 4  # two sources, polled again after their 1 s interval
    assert len(server.requests_to("/feed0.xml")) >= 2
