"""The store opens only its own files: another program's database and a newer schema are refused,
in one line, and left exactly as they were (issue 17)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.store.db import StoreError
from dashboard.store.reader import StoreReader
from dashboard.store.schema import APPLICATION_ID, SCHEMA_VERSION
from dashboard.store.writer import Store
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


@pytest.fixture
def config(server: LocalServer, tmp_path: Path) -> Path:
    return write_config(tmp_path, server, serve_feeds(server, 1, items=2))


@pytest.fixture
def newer(tmp_path: Path) -> Path:
    path = tmp_path / "newer.db"
    Store.open(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    return path


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("INSERT INTO notes (body) VALUES ('keep me')")
    connection.commit()
    connection.close()
    return path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_poll_refuses_a_newer_schema_saying_both_versions(
    config: Path, newer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(newer)
    assert main(["poll", "--once", "--config", str(config), "--db", str(newer)]) == 1
    line = one_line_error(capsys)
    assert f"schema version {SCHEMA_VERSION + 1}" in line
    assert f"supports up to {SCHEMA_VERSION}" in line
    assert str(newer) in line
    assert digest(newer) == before


def test_export_refuses_a_newer_schema_too(
    config: Path, newer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mentions.csv"
    code = main(["export", "--what", "mentions", "-o", str(out), "--config", str(config), "--db", str(newer)])
    assert code == 1
    assert f"supports up to {SCHEMA_VERSION}" in one_line_error(capsys)
    assert not out.exists()


def test_poll_refuses_another_programs_database_and_leaves_it_unchanged(
    config: Path, foreign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(foreign)
    assert main(["poll", "--once", "--config", str(config), "--db", str(foreign)]) == 1
    line = one_line_error(capsys)
    assert "not a community-dashboard database" in line
    assert "notes" in line
    assert str(foreign) in line
    assert digest(foreign) == before
    assert pragma(foreign, "journal_mode") == "delete"
    assert not Path(f"{foreign}-wal").exists()


def test_reader_and_writer_refuse_another_programs_database(foreign: Path) -> None:
    with pytest.raises(StoreError, match="not a community-dashboard database"):
        Store.open(foreign)
    with pytest.raises(StoreError, match="not a community-dashboard database"):
        StoreReader.open(foreign)


def test_a_file_with_another_application_id_is_refused_even_without_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA application_id = 1234")
    with pytest.raises(StoreError, match="application id 0x4d2"):
        Store.open(path)


@pytest.mark.parametrize("made", ["zero bytes", "sqlite header only"])
def test_an_empty_database_is_accepted_and_becomes_ours(tmp_path: Path, made: str) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    if made == "sqlite header only":
        with sqlite3.connect(path) as connection:
            connection.execute("VACUUM")
    Store.open(path).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "auto_vacuum") == 2  # incremental


def test_a_database_from_before_the_application_id_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store.open(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA application_id = 0")
    Store.open(path).close()
    with StoreReader.open(path) as reader:
        assert reader.source_names() == {}
