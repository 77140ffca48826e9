"""A throwaway PostgreSQL 15 cluster for the tests that need one (the `pg_dsn` fixture).

One cluster per pytest process (so per xdist worker), started by the first test that asks: `initdb` into a temporary folder, a Unix socket
in that folder and no TCP (`listen_addresses=''`), `fsync=off` (the data dies with the test run), then
`pg_ctl stop -m immediate` and the folder removed. Tests import the fixtures from here:

    from tests.pg import pg_dsn_fixture  # noqa: F401  (the `pg_dsn` fixture)

As root (CI), PostgreSQL refuses to run, so initdb/pg_ctl run as the `postgres` user through `runuser`
and the folder is handed to that user. When PostgreSQL or psycopg is missing, or the cluster does not
start, a test that asks for it FAILS with what is missing: a store suite that silently skipped its
PostgreSQL half would pass while proving nothing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Where Debian/Ubuntu install PostgreSQL 15; $COMMUNITY_DASHBOARD_PG_BIN overrides it.
PG_BIN = Path(os.environ.get("COMMUNITY_DASHBOARD_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # who runs the server when the tests run as root


class ClusterError(RuntimeError):
    """PostgreSQL could not be started; the message says what is missing."""


def _as_server_user(command: list[str]) -> list[str]:
    """`command` as the postgres user when we are root (the server refuses root), else as is."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterError("tests run as root but `runuser` is missing to start PostgreSQL as `postgres`")
    return [runuser, "-u", PG_USER, "--", *command]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(
            f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        )


class Cluster:
    """One running cluster in `folder`; `dsn` connects to its `postgres` database over the socket."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.socket = folder  # the socket lives beside the data, never in /var/run
        self.dsn = f"host={self.socket} port=5432 user={PG_USER} dbname=postgres"

    def start(self, *, durable: bool = False) -> None:
        """initdb and start; `durable` keeps fsync on (benchmarks), tests throw the data away."""
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).is_file():
                raise ClusterError(
                    f"PostgreSQL 15 is not installed: {PG_BIN / tool} is missing "
                    "(apt-get install postgresql-15, or set COMMUNITY_DASHBOARD_PG_BIN)"
                )
        if os.geteuid() == 0:
            shutil.chown(self.folder, PG_USER)
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                PG_USER,
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
            "initdb",
        )
        self._options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.socket} -c synchronous_commit=off"
        )
        if not durable:
            self._options += " -c fsync=off -c full_page_writes=off"
        self.start_again()

    def start_again(self) -> None:
        """Start the server on the data folder initdb made (after `stop`: a restart)."""
        options = self._options
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.folder / "server.log"),
                "-w",
                "-o",
                options,
                "start",
            ],
            "pg_ctl start (see server.log)",
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server: `immediate` by default (the data is thrown away); `fast` is a clean
        restart's first half (every client cut off, every commit kept)."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]),
                capture_output=True,
                check=False,
            )


def start_cluster(*, durable: bool = False) -> tuple[Cluster, str]:
    """A started cluster in a fresh temporary folder (the caller stops it and removes the folder)."""
    folder = Path(tempfile.mkdtemp(prefix="cd-pg-"))
    os.chmod(folder, 0o700)
    cluster = Cluster(folder)
    try:
        cluster.start(durable=durable)
    except BaseException:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster, cluster.dsn


_cluster: Cluster | ClusterError | None = None


def _session_cluster() -> Cluster | ClusterError:
    """The process's cluster, started on first use and stopped at exit; or why there is none.

    A module-level singleton rather than a session fixture, so a test module imports one name
    (`pg_dsn_fixture`) and the cluster still lives once per pytest process (each xdist worker has its own).
    """
    global _cluster
    if _cluster is None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            _cluster = ClusterError("psycopg is not installed: pip install -e '.[postgres]' (or '.[test]')")
            return _cluster
        try:
            cluster, _ = start_cluster()
        except ClusterError as error:
            _cluster = error
            return _cluster
        _cluster = cluster
        atexit.register(_stop, cluster)
    return _cluster


def _stop(cluster: Cluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)


_databases = iter(range(1, 1_000_000))


def new_database() -> str:
    """The DSN of a fresh, empty database in the process's cluster; fails the test when there is none."""
    cluster = _session_cluster()
    if isinstance(cluster, ClusterError):
        pytest.fail(f"PostgreSQL is needed by this test and could not be started: {cluster}", pytrace=False)
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(cluster.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return cluster.dsn.replace("dbname=postgres", f"dbname={name}")


def new_database_url() -> str:
    """`new_database()` as the URL a user writes (`postgresql://user@/db?host=/socket/folder`)."""
    fields = dict(part.split("=", 1) for part in new_database().split())
    return f"postgresql://{fields['user']}@/{fields['dbname']}?host={fields['host']}&port={fields['port']}"


def server_folder() -> Path:
    """The process's cluster folder (its socket, data and server.log), starting it if needed."""
    cluster = _session_cluster()
    if isinstance(cluster, ClusterError):
        pytest.fail(f"PostgreSQL is needed by this test and could not be started: {cluster}", pytrace=False)
    return cluster.folder


@pytest.fixture(name="pg_dsn")
def pg_dsn_fixture() -> str:
    """The DSN of a fresh, empty database in the session's cluster (one per test, so tests never share rows)."""
    return new_database()


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> str:
    """A fresh, empty database as a postgresql:// URL."""
    return new_database_url()
