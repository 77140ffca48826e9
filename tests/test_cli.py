"""The command line's own contract: options anywhere, --help everywhere, exit 2 on a config mistake."""

from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from dashboard import __version__
from dashboard import config as config_module
from dashboard.cli import LOG_LEVELS, logs, main
from dashboard.cli.common import EXIT_ALL_FAILED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
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


# ---- the parser: suggestions, each command's own usage, help that stands alone -----------------


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["pol"], "usage: community-dashboard [-h]", "unknown command 'pol'; did you mean 'poll'?"),
        (["chek"], "usage: community-dashboard [-h]", "did you mean 'check'?"),
        (["feeds", "imprt"], "usage: community-dashboard feeds ", "did you mean 'import'?"),
        (["zzzz"], "usage: community-dashboard [-h]", "expected one of: poll, check, export, feeds"),
    ],
)
def test_a_misspelt_command_gets_a_suggestion(
    argv: list[str], usage: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert hint in err


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["poll", "--onse"], "usage: community-dashboard poll [-h]"),
        (["check", "--fetsh"], "usage: community-dashboard check [-h]"),
        (["feeds", "import", "--bogus", "x.opml"], "usage: community-dashboard feeds import [-h]"),
        (["poll", "--demo"], "usage: community-dashboard poll [-h]"),  # a top-level option after poll
    ],
)
def test_an_unknown_option_shows_the_usage_of_its_own_command(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert f"error: unrecognized arguments: {argv[-1] if argv[0] != 'feeds' else '--bogus'}" in err
    assert "--readonly" not in err  # not the top-level usage


@pytest.mark.parametrize("command", [[], ["poll"], ["check"]])
def test_help_states_the_lookup_order_exit_codes_and_examples(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])

    out = capsys.readouterr().out
    assert "see README" not in out  # pip users have no README
    assert "--config PATH; $COMMUNITY_DASHBOARD_CONFIG;\n./feeds.toml; the user config folder" in out
    assert "examples:\n  community-dashboard " in out
    for status, meaning in [
        (EXIT_OK, "done"),
        (EXIT_FAILURE, "failed"),
        (EXIT_USAGE, "a usage or feeds.toml mistake"),
        (EXIT_ALL_FAILED, "every source failed"),
        (EXIT_INTERRUPTED, "interrupted"),
    ]:
        assert re.search(rf"^  {status} +.*{meaning}", out, re.M), (status, out)
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_the_exit_statuses_are_the_documented_numbers() -> None:
    assert (EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_ALL_FAILED, EXIT_INTERRUPTED) == (0, 1, 2, 3, 130)


HEAVY = ("feedparser", "pandas", "numpy", "textual", "httpx", "selectolax")
HEAVY_OURS = ("dashboard.sources", "dashboard.fetch", "dashboard.store", "dashboard.polling", "dashboard.ui")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["poll", "--help"], ["check", "--help"]])
def test_version_and_help_import_no_source_fetcher_store_nor_ui(argv: list[str]) -> None:
    script = (
        "import contextlib, io, sys\n"
        "from dashboard.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    loaded = result.stdout.split()
    assert "dashboard.cli" in loaded
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []
    assert [name for name in loaded if name.startswith(HEAVY_OURS)] == []


def test_version_alone_imports_nothing_but_the_command_line() -> None:
    script = (
        "import sys\n"
        "from dashboard.cli import main\n"
        "main(['--version'])\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('dashboard'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    version, *modules = result.stdout.splitlines()
    assert version == f"community-dashboard {__version__}"
    assert modules == ["dashboard", "dashboard.cli", "dashboard.cli.common"]


def test_version_after_other_options_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--log-level", "debug", "--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"community-dashboard {__version__}\n"


def test_python_dash_m_dashboard_version_says_the_version() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dashboard", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == f"community-dashboard {__version__}"
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "dashboard.cli" in imported
    assert imported.isdisjoint(HEAVY)


# ---- the log file ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test here logs into its own folder, never the user's state folder."""
    path = tmp_path / "state" / "community-dashboard.log"
    monkeypatch.setenv(logs.LOG_ENV, str(path))
    yield path
    logs.close()


def test_every_command_logs_its_start_and_stop(config: Path, tmp_path: Path, log_file: Path) -> None:
    assert main(["check", "--config", str(config), "--db", str(tmp_path / "x.db")]) == 0

    text = log_file.read_text(encoding="utf-8")
    assert re.search(
        r"^\S+ \S+ INFO +\d+ dashboard\.cli: start: community-dashboard check --config ", text, re.M
    )
    assert re.search(r"INFO +\d+ dashboard\.cli: stop: community-dashboard check .* \(exit 0\)$", text, re.M)


def test_an_error_caught_in_main_is_logged(
    tmp_path: Path, log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(GOOD.replace("interval", "intervall"))

    assert main(["check", "--config", str(path)]) == 2

    text = log_file.read_text(encoding="utf-8")
    assert re.search(r"ERROR +\d+ dashboard\.cli: config: .*feeds\.toml:2: .*'intervall'", text)
    assert "(exit 2)" in text
    assert "Traceback" not in capsys.readouterr().err


def test_log_level_warning_keeps_only_warnings(config: Path, tmp_path: Path, log_file: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\nintervall = '1m'\n")

    assert main(["--log-level", "warning", "check", "--config", str(config)]) == 0
    assert main(["check", "--log-level", "warning", "--config", str(bad)]) == 2

    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, lines
    assert " ERROR " in lines[0]


def test_log_level_debug_is_accepted_and_a_wrong_level_is_a_usage_error(
    config: Path, log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--log-level", "debug", "check", "--config", str(config)]) == 0
    with pytest.raises(SystemExit) as exited:
        main(["--log-level", "loud", "check"])
    assert exited.value.code == 2
    assert "invalid choice: 'loud'" in capsys.readouterr().err


def test_main_run_twice_in_one_process_writes_each_line_once(config: Path, log_file: Path) -> None:
    main(["check", "--config", str(config)])
    main(["check", "--config", str(config)])

    assert log_file.read_text(encoding="utf-8").count("start: ") == 2


def test_the_log_rotates_at_1_mb_keeping_5_files(log_file: Path) -> None:
    logs.setup("info", path=log_file)

    (handler,) = [h for h in logging.getLogger("dashboard").handlers if isinstance(h, RotatingFileHandler)]
    assert Path(handler.baseFilename) == log_file
    assert (handler.maxBytes, handler.backupCount) == (1_000_000, 5)


def test_the_log_rotates_when_full(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "LOG_BYTES", 2_000)
    logs.setup("info", path=log_file)

    for number in range(200):
        logging.getLogger("dashboard.test").info("line %d %s", number, "x" * 40)

    assert log_file.with_name(log_file.name + ".1").exists()
    assert not log_file.with_name(log_file.name + ".6").exists()
    assert log_file.stat().st_size <= 2_000


def test_the_log_lives_in_the_user_state_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(logs.LOG_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    assert logs.log_path() == tmp_path / "state" / "community-dashboard" / "community-dashboard.log"


def test_a_log_that_cannot_be_written_is_said_once_and_the_command_goes_on(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(logs.LOG_ENV, str(blocker / "x.log"))  # a folder that is a file

    assert main(["check", "--config", str(config)]) == 0

    err = capsys.readouterr().err
    assert "warning: cannot write the log" in err
    assert "running without a log" in err


def test_the_parser_offers_the_levels_the_log_knows() -> None:
    assert LOG_LEVELS == logs.LEVELS


def test_a_log_that_fills_up_mid_run_is_dropped_without_a_word_on_stderr(
    log_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.setup("info", path=log_file)
    (handler,) = [h for h in logging.getLogger("dashboard").handlers if isinstance(h, RotatingFileHandler)]

    def disk_full(record: logging.LogRecord) -> None:
        raise OSError(27, "File too large")

    monkeypatch.setattr(RotatingFileHandler, "shouldRollover", disk_full)
    logging.getLogger("dashboard.test").warning("first")
    logging.getLogger("dashboard.test").warning("second")

    assert capsys.readouterr().err == ""  # not logging's "--- Logging error ---" traceback
    assert handler.broken  # type: ignore[attr-defined]
