"""The spine end to end, as a user runs it: feeds.toml -> poll --once -> store, over real HTTP."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from dashboard.cli import main
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer, Reply


def count(db: Path, sql: str) -> int:
    return int(sqlite3.connect(db).execute(sql).fetchone()[0])


def test_twenty_feeds_stored_then_second_poll_gets_304s_and_adds_nothing(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 20, items=30))
    db = tmp_path / "mentions.db"

    assert main(["poll", "--once", "--config", str(config)]) == 0
    first = capsys.readouterr().out
    assert first.count(" ok ") == 20, first
    assert count(db, "SELECT COUNT(*) FROM mentions") == 20 * 30

    assert main(["poll", "--once", "--config", str(config)]) == 0
    second = capsys.readouterr().out
    assert second.count("not modified") == 20, second
    assert count(db, "SELECT COUNT(*) FROM mentions") == 20 * 30
    assert count(db, "SELECT COUNT(*) FROM polls WHERE http_status = 304") == 20
    conditional = [seen for seen in server.seen if "if-none-match" in seen.headers]
    assert len(conditional) == 20


def test_a_broken_feed_fails_alone(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = serve_feeds(server, 3, items=5)
    server.route(paths[1], Reply(500, b"oops"))
    config = write_config(tmp_path, server, paths)
    assert main(["poll", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok ") == 2
    assert "failing" in out
    assert "HTTP 500" in out
    db = tmp_path / "mentions.db"
    assert count(db, "SELECT COUNT(*) FROM mentions") == 10
    assert count(db, "SELECT consecutive_failures FROM sources WHERE name = 'Feed 1'") == 1


def test_gone_source_is_not_polled_again(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route("/gone.xml", Reply(410, b"gone"))
    config = write_config(tmp_path, server, ["/gone.xml"])
    main(["poll", "--once", "--config", str(config)])
    assert "gone" in capsys.readouterr().out
    main(["poll", "--once", "--config", str(config)])
    assert "skipped" in capsys.readouterr().out
    assert len(server.requests_to("/gone.xml")) == 1


def test_rate_limited_source_waits_out_retry_after(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route("/busy.xml", Reply(429, b"slow down", {"Retry-After": "3600"}))
    config = write_config(tmp_path, server, ["/busy.xml"])
    main(["poll", "--once", "--config", str(config)])
    assert "rate-limited until" in capsys.readouterr().out
    main(["poll", "--once", "--config", str(config)])
    assert len(server.requests_to("/busy.xml")) == 1


def test_poll_then_export_mentions_csv(server: LocalServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 2, items=5))
    assert main(["poll", "--once", "--config", str(config)]) == 0
    out = tmp_path / "mentions.csv"
    assert (
        main(["export", "--what", "mentions", "--since", "3650d", "--config", str(config), "-o", str(out)])
        == 0
    )
    frame = pd.read_csv(out)
    assert len(frame) == 10
    assert set(frame["source"]) == {"Feed 0", "Feed 1"}
    assert frame["title"].str.startswith("Feed ").all()
