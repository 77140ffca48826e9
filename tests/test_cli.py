"""The command line's own contract: options anywhere, --help everywhere, exit 2 on a config mistake."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dashboard import config as config_module
from dashboard.cli import main
from tests.feeds_factory import rss
from tests.localserver import LocalServer

GOOD = '[settings]\ninterval = "15m"\n\n[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed.xml"\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD)
    return path


@pytest.mark.parametrize("before", [True, False])
def test_config_and_db_work_before_or_after_the_command(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], before: bool
) -> None:
    options = ["--config", str(config), "--db", str(tmp_path / "x.db")]
    assert main([*options, "check"] if before else ["check", *options]) == 0
    out = capsys.readouterr().out
    assert f"Config:   {config}" in out
    assert f"Database: {tmp_path / 'x.db'}" in out
    assert "Blog" in out


@pytest.mark.parametrize(
    "command", [[], ["poll"], ["check"], ["export"], ["feeds"], ["feeds", "import"], ["feeds", "export"]]
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: community-dashboard" in capsys.readouterr().out


def test_a_config_mistake_exits_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD.replace("interval", "intervall"))
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "feeds.toml:2" in err
    assert "intervall" in err
    assert "did you mean 'interval'" in err
    assert "Traceback" not in err


def test_missing_config_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMUNITY_DASHBOARD_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert main(["poll", "--once"]) == 2
    assert "no feeds.toml found" in capsys.readouterr().err


def test_a_dashboard_whose_store_cannot_open_says_so_in_one_line_and_exits_1(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    assert main(["--config", str(config), "--db", str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("community-dashboard: cannot open the database")
    assert str(folder) in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_readonly_without_a_database_says_where_it_looked_instead_of_loading_forever(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here.db"
    assert main(["--config", str(config), "--db", str(missing), "--readonly"]) == 1
    err = capsys.readouterr().err
    assert f"no database at {missing} yet" in err
    assert not missing.exists()  # a read-only view never creates one


def test_demo_and_readonly_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--readonly"]) == 2
    assert "--demo and --readonly cannot go together" in capsys.readouterr().err


def test_url_env_feeds_are_checked_and_fetched_without_the_url_ever_printed(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/private.xml", rss("Private", 3))
    secret = server.url("/private.xml").replace("http://", "http://bob:s3cret@")
    monkeypatch.setenv("PRIVATE_FEED_URL", secret)
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "Private"\nurl_env = "PRIVATE_FEED_URL"\n')
    db = tmp_path / "x.db"

    assert main(["check", "--fetch", "--config", str(path), "--db", str(db)]) == 0

    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "$PRIVATE_FEED_URL" in captured.out
    assert " ok " in captured.out  # fetched, with the URL from the environment
    assert "s3cret" not in shown
    assert "bob" not in shown
    assert len(server.requests_to("/private.xml")) == 1
    stored = sqlite3.connect(db).execute("SELECT target FROM sources").fetchall()
    assert stored == [("$PRIVATE_FEED_URL (url from the environment)",)]  # sources.csv, the panel


def test_a_password_in_feeds_toml_is_warned_about_on_stderr_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "_WARNED", set())
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "Private"\nurl = "https://bob:s3cret@example.org/feed.xml"\n')

    assert main(["check", "--config", str(path), "--db", str(tmp_path / "x.db")]) == 0

    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert 'url_env = "PRIVATE_FEED_URL"' in err
    assert "s3cret" not in err
