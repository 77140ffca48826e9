"""The throwaway PostgreSQL cluster of tests/pg.py starts, answers, and gives each test its own database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests import pg
from tests.pg import pg_dsn_fixture  # noqa: F401  (the `pg_dsn` fixture)


def test_cluster_answers_as_postgresql_15(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as connection:
        row = connection.execute(
            "SELECT version(), current_setting('fsync'), current_setting('listen_addresses')"
        ).fetchone()
    assert row is not None
    version, fsync, listen = row
    assert version.startswith("PostgreSQL 15")
    assert fsync == "off"
    assert listen == ""  # no TCP: the socket folder is the only way in


def test_each_test_gets_an_empty_database(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        connection.execute("CREATE TABLE mine (x int)")  # never seen by the other tests
    assert tables == (0,)


def test_a_missing_postgresql_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without PostgreSQL the fixture fails the test with what is missing (checked here one level down)."""
    monkeypatch.setattr(pg, "PG_BIN", tmp_path / "no-postgresql")
    with pytest.raises(pg.ClusterError, match=r"PostgreSQL 15 is not installed: .*no-postgresql/initdb"):
        pg.start_cluster()
