"""`community-dashboard export`, run in-process (and in a subprocess for kills and write failures)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics.windows import Window
from dashboard.cli import main
from dashboard.export.cli import UsageError, parse_window
from dashboard.export.snapshot import read_manifest
from dashboard.export.tables import MENTIONS, VOICES
from tests.analytics_data import NOW, StoreBuilder, build_scenario

ROOT = Path(__file__).parent.parent
WINDOW = ["--since", "2024-03-30T12:00", "--until", "2024-03-31T12:00"]
FEEDS_TOML = """\
[settings]
keywords = ["textual", "rich"]

[export]
dir = "exports"   # relative to this file

[[feeds]]
name = "Blog"
url = "https://blog.example/feed.xml"
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """(feeds.toml, store) of the analytics scenario."""
    builder: StoreBuilder = build_scenario(tmp_path / "store.db")
    builder.connection.commit()
    builder.close()
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS_TOML, encoding="utf-8")
    return config, tmp_path / "store.db"


def run(setup: tuple[Path, Path], *argv: str) -> int:
    config, database = setup
    return main(["export", "--config", str(config), "--db", str(database), *argv])


def test_all_goes_to_the_configured_export_folder(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(setup, *WINDOW) == 0
    folders = list((setup[0].parent / "exports").iterdir())
    assert len(folders) == 1
    assert folders[0].name.startswith("snapshot-")
    manifest = read_manifest(folders[0])
    assert manifest["row_counts"]["mentions"] == 10
    assert manifest["database"] == str(setup[1])
    out = capsys.readouterr().out
    assert f"Wrote snapshot {folders[0]}" in out
    assert "mentions.csv" in out


def test_all_into_a_chosen_folder(setup: tuple[Path, Path], tmp_path: Path) -> None:
    assert run(setup, "--what", "all", "-o", str(tmp_path / "elsewhere"), *WINDOW) == 0
    assert len(list((tmp_path / "elsewhere").glob("snapshot-*"))) == 1


def test_mentions_to_stdout(setup: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert run(setup, "--what", "mentions", "-o", "-", "--source", "Reddit", *WINDOW) == 0
    captured = capsysbinary.readouterr()
    lines = captured.out.split(b"\r\n")
    assert lines[0] == ",".join(MENTIONS.names).encode()
    assert len([line for line in lines[1:] if line]) == 3
    assert b"Wrote 3 mentions row(s) to standard output" in captured.err


def test_each_table_to_a_file(setup: tuple[Path, Path], tmp_path: Path) -> None:
    for what in ("mentions", "metrics", "voices", "sources"):
        path = tmp_path / f"{what}.csv"
        assert run(setup, "--what", what, "-o", str(path), *WINDOW) == 0
        assert path.read_bytes().startswith(b"source," if what in ("mentions", "voices") else b"")
    voices = pd.read_csv(tmp_path / "voices.csv", **VOICES.read_csv_options())
    assert len(voices) == 8


def test_excel_adds_a_bom(setup: tuple[Path, Path], tmp_path: Path) -> None:
    assert run(setup, "--what", "mentions", "--excel", "-o", str(tmp_path / "m.csv"), *WINDOW) == 0
    assert (tmp_path / "m.csv").read_bytes().startswith(b"\xef\xbb\xbfsource,source_type,")


def test_kind_filter(setup: tuple[Path, Path], tmp_path: Path) -> None:
    assert run(setup, "--what", "mentions", "--kind", "comment", "-o", str(tmp_path / "m.csv"), *WINDOW) == 0
    assert (tmp_path / "m.csv").read_bytes() == (",".join(MENTIONS.names) + "\r\n").encode()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--what", "mentions"], "needs -o PATH"),
        (["--what", "all", "-o", "-"], "not -o -"),
        (["--what", "voices", "-o", "x.csv", "--source", "Mastodn"], "did you mean 'Mastodon'"),
        (["--what", "voices", "-o", "x.csv", "--since", "yesterday"], "not a date or duration"),
        (
            ["--what", "voices", "-o", "x.csv", "--since", "2024-03-02", "--until", "2024-03-01"],
            "window is empty",
        ),
    ],
)
def test_usage_mistakes_exit_2_with_a_message(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(setup, *argv) == 2
    assert message in capsys.readouterr().err


def test_a_missing_store_exits_1(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export",
            "--config",
            str(setup[0]),
            "--db",
            str(tmp_path / "none.db"),
            "--what",
            "sources",
            "-o",
            "-",
        ]
    )
    assert code == 1
    assert "no database" in capsys.readouterr().err


def test_a_config_mistake_exits_2(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    setup[0].write_text("[settings]\ninterval = 5\n", encoding="utf-8")
    assert run(setup, "--what", "sources", "-o", "-") == 2
    assert "feeds.toml:2" in capsys.readouterr().err


def test_windows_from_durations_and_dates() -> None:
    now = datetime(2024, 3, 31, 12, 0, 30, tzinfo=UTC)
    assert parse_window("7d", None, now) == Window.last("7d", now)
    day = parse_window("2024-03-01", "2024-03-01", now)
    assert (day.start, day.end) == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))
    offset = parse_window("2024-03-01T10:00+02:00", "2024-03-01T12:00Z", now)
    assert offset.start == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert offset.end.hour == 12
    back = parse_window("24h", "2024-03-10", now)
    assert back.end - back.start == timedelta(hours=24)
    assert back.end == datetime(2024, 3, 11, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_window("2024-04-01", None, now)  # after now: empty


# -- in a subprocess: a killed export, a refused write ---------------------------------------------------


def cli_script(patch: str = "") -> str:
    """A `python -c` program: the CLI, after `patch` (module-level code) has run."""
    header = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
    footer = "from dashboard.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return header + textwrap.dedent(patch) + "\n" + footer


SLOW_WRITER = """
import os, time
from dashboard.export import streaming
real = streaming.encode_chunk
calls = []
def slow(chunk, spec):
    calls.append(1)
    if len(calls) == 3:  # two chunks are in the temporary file
        print("mid-export", flush=True)
        time.sleep(60)
    return real(chunk, spec)
streaming.encode_chunk = slow
"""


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.generate import generate_store

    path = tmp_path_factory.mktemp("big") / "store.db"
    generate_store(path, 40_000, days=2, end=NOW)
    return path


def test_kill_9_during_a_cli_export_keeps_the_previous_file(
    setup: tuple[Path, Path], big_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mentions.csv"
    out.write_text("previous\n", encoding="utf-8")
    argv = ["export", "--config", str(setup[0]), "--db", str(big_store), "--what", "mentions", "-o", str(out)]
    argv += ["--since", "2024-03-29", "--until", "2024-03-31T12:00"]
    process = subprocess.Popen(
        [sys.executable, "-c", cli_script(SLOW_WRITER), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "mid-export"
        partial = [path for path in tmp_path.iterdir() if path.name.endswith(".part")]
        assert len(partial) == 1
        assert partial[0].stat().st_size > 100_000
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert out.read_text(encoding="utf-8") == "previous\n"
    # The next export replaces it and sweeps the killed one's temporary file.
    assert main([*argv[:-4], "--since", "2024-03-31", "--until", "2024-03-31T12:00"]) == 0
    assert out.read_bytes().startswith(b"source,")
    assert [path for path in tmp_path.iterdir() if path.name.endswith(".part")] == []


FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
"""


def test_a_full_disk_exits_1_with_a_clear_message(
    setup: tuple[Path, Path], big_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mentions.csv"
    out.write_text("previous\n", encoding="utf-8")
    argv = ["export", "--config", str(setup[0]), "--db", str(big_store), "--what", "mentions", "-o", str(out)]
    argv += ["--since", "2024-03-29", "--until", "2024-03-31T12:00"]
    result = subprocess.run(
        [sys.executable, "-c", cli_script(FILE_SIZE_LIMIT), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "cannot write" in result.stderr
    assert "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".part")] == []


def test_stdout_closed_early_is_quiet(setup: tuple[Path, Path], big_store: Path) -> None:
    argv = ["export", "--config", str(setup[0]), "--db", str(big_store), "--what", "mentions", "-o", "-"]
    argv += ["--since", "2024-03-29", "--until", "2024-03-31T12:00"]
    process = subprocess.Popen(
        [sys.executable, "-c", cli_script(), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.read(100).startswith(b"source,")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr
    assert "BrokenPipe" not in stderr
