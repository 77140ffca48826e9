"""No network: when no source can be reached, `poll --once` and `check --fetch` say so in one line and
exit 3 (every source failed), so a script can tell "nothing collected" from "some collected"."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from dashboard.cli import main
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer
from tests.test_h3_stop import Child

EXIT_ALL_FAILED = 3


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unreachable_config(tmp_path: Path, *, extra_urls: tuple[str, ...] = ()) -> Path:
    port = closed_port()
    urls = [f"http://127.0.0.1:{port}/feed{number}.xml" for number in range(3)]
    urls += ["http://feeds.example.invalid/rss.xml", *extra_urls]
    lines = ["[settings]", 'timeout = "5s"', f'database = "{tmp_path / "mentions.db"}"', ""]
    for number, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "Feed {number}"', f'url = "{url}"', ""]
    config = tmp_path / "feeds.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


@pytest.mark.parametrize("command", [["poll", "--once"], ["check", "--fetch"]])
def test_nothing_reachable_is_said_once_and_exits_3(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = unreachable_config(tmp_path)
    assert main([*command, "--config", str(config)]) == EXIT_ALL_FAILED
    out = capsys.readouterr().out
    assert out.count("failing") == 4, out
    assert out.count("No source could be reached (4 of 4)") == 1, out
    assert "HTTPS_PROXY" in out
    assert "All 4 source(s) polled failed (exit status 3)." in out


def test_one_source_read_is_exit_0_and_most_unreachable_is_still_said(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path,) = serve_feeds(server, 1, items=2)
    config = unreachable_config(tmp_path, extra_urls=(server.url(path),))
    assert main(["poll", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert " ok " in out
    assert "4 of 5 sources could not be reached" in out
    assert "polled failed" not in out


def test_failures_that_are_not_the_network_say_nothing_about_proxies(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server, ["/missing0.xml", "/missing1.xml"])  # 404s: reached
    assert main(["poll", "--once", "--config", str(config)]) == EXIT_ALL_FAILED
    out = capsys.readouterr().out
    assert "HTTP 404" in out
    assert "could not be reached" not in out
    assert "All 2 source(s) polled failed" in out


def test_a_healthy_run_prints_no_summary(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 2, items=2))
    assert main(["check", "--fetch", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok ") == 2
    assert "reached" not in out
    assert "failed" not in out


def test_poll_says_once_after_its_first_round_that_nothing_could_be_reached(tmp_path: Path) -> None:
    child = Child("poll", "--config", str(unreachable_config(tmp_path)))
    try:
        child.wait_for("out", "No source could be reached (4 of 4)")
    finally:
        child.process.send_signal(signal.SIGTERM)
    assert child.finish() == 0, child.stderr
    assert child.stdout.count("could be reached") == 1
    assert "Stopped cleanly." in child.stdout
