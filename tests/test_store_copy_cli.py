"""`community-dashboard store copy`: SQLite -> PostgreSQL -> SQLite through the real command line.

The store is written by the real writer (mentions with changing counts, so engagement history; links;
retention's poll_days; alerts with deliveries, attempts and state), copied to PostgreSQL and back, and
every table compared row for row (ids included). Refusals exit 2 and leave both sides untouched;
a failure mid-copy (a row PostgreSQL refuses, the connection cut, a kill -9) exits 1 (or dies) and
leaves the target empty.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dashboard.cli import main
from dashboard.cli.store import CopyProgress, is_postgres, shown
from dashboard.models import (
    Link,
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.alerts import AlertLog, Firing
from dashboard.store.db import connect
from dashboard.store.opinion import OpinionPass
from dashboard.store.postgres.copy import TABLES
from dashboard.store.writer import Store
from tests.pg import pg_dsn_fixture, pg_url_fixture  # noqa: F401  (the `pg_dsn` and `pg_url` fixtures)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SOURCES = 4
PER_POLL = 70  # mentions per source and poll; each poll sees most again with new counts


def _mentions(feed: int, poll: int) -> tuple[Mention, ...]:
    site = f"https://blog{feed}.example.org"
    return tuple(
        Mention(
            key=f"{site}/?p={item}",
            kind=MentionKind.POST if item % 5 else MentionKind.COMMENT,
            url=f"{site}/posts/{item}",
            title=f"Post {item} — «quoted», a tab\there of blog {feed}",
            author=["ann", "bob", "", "zoë"][item % 4],
            published=T0 + timedelta(minutes=41 * item + feed),
            summary=f"A newline\nthere, a backslash \\ and a link {site}/x#{item}, \\N not a null",
            likes=None if item % 3 == 0 else item + 2 * poll,
            replies=item % 4 or None,
            shares=poll if item % 2 else None,
            links=(
                Link(f"https://community.example.org/thread/{item % 9}", "content"),
                Link(f"https://blog{(feed + 1) % SOURCES}.example.org/posts/{item}", "embed"),
            ),
        )
        for item in range(poll * 10, poll * 10 + PER_POLL)
    )


def _fill(path: Path) -> None:
    """A store with rows in every table, written the way the poller and the alert engine write."""
    configs = [
        SourceConfig(
            name=f"blog {n}", type="feed", interval=900, url=f"https://blog{n}.example.org/feed", own=n == 0
        )
        for n in range(SOURCES)
    ]
    with Store.open(path) as store:
        store.sync_sources(configs, {config.name: "x" for config in configs})
        store.sync_keywords(["quoted", "Zoë", "blog 2"])
        # Polls a month apart: retention rolls the first ones into poll_days.
        for poll, at in enumerate((T0, T0 + timedelta(hours=1), T0 + timedelta(days=35))):
            for config in configs:
                status = SourceStatus.OK if poll != 1 or config.name != "blog 3" else SourceStatus.FAILING
                record = PollRecord(config.name, at, 0.1 + poll / 7, status)
                update = SourceUpdate(status, at + timedelta(minutes=15), 0 if status.is_success else 1)
                outcome = PollOutcome(mentions=_mentions(int(config.name[-1]), poll))
                store.save_poll(config, record, update, outcome)
        store.mark_handled(3, at=T0 + timedelta(hours=3))
        store.apply_retention(T0 + timedelta(days=40))
    connection = connect(path)
    try:
        assert OpinionPass(connection, ["en"]).run_batch(10_000) > 0  # languages and sentiment_hours
        log = AlertLog(connection)
        for n in range(3):
            firing = Firing(
                rule="spike",
                kind="volume_spike",
                subject=f"blog {n}",
                occurrence=f"hour {n}",
                at=T0 + timedelta(hours=n),
                title=f"Spike on blog {n}",
                body="12 mentions in the hour",
                url=f"https://blog{n}.example.org/",
                mention_ids=(1, 2, n + 3),
                numbers={"count": 12, "baseline": 1.5},
            )
            stored = log.record(firing, ["chat", "mail"])
            assert stored is not None
            due = [d for d in log.due(T0 + timedelta(days=1)) if d.alert.id == stored.id]
            log.attempted(due, T0 + timedelta(hours=n, minutes=1), "" if n else "HTTP 500", None)
        log.set_state("spike", "last_id", "210")
    finally:
        connection.close()


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, every column (ids included), in a stable order."""
    with sqlite3.connect(path) as db:
        found = {}
        for table in TABLES:
            names = ", ".join(f'"{row[1]}"' for row in db.execute(f"PRAGMA table_info({table})"))
            found[table] = db.execute(f"SELECT {names} FROM {table} ORDER BY {names}").fetchall()
    db.close()
    return found


def _schema(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        found = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        found += [("pragma", name, "", db.execute(f"PRAGMA {name}").fetchone()[0]) for name in PRAGMAS]
    db.close()
    return found


PRAGMAS = ("user_version", "application_id", "auto_vacuum", "journal_mode")


def _pg_tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as pg:
        rows = pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def _copy(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["store", "copy", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "mentions.db"
    _fill(path)
    return path


def test_sqlite_to_postgresql_and_back_keeps_every_row_and_id(
    store: Path, tmp_path: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _rows(store)
    assert all(before[table] for table in TABLES), [t for t in TABLES if not before[t]]
    assert len(before["mentions"]) >= 200
    assert len(before["engagement_history"]) > len(before["mentions"])

    status, out, err = _copy(capsys, "--from", str(store), "--to", pg_dsn)
    assert status == 0, err
    assert f"Copied {store} -> {pg_dsn}" in out
    assert f"  mentions              {len(before['mentions']):>12,}" in out
    assert "Verified: every table" in out
    # stderr is not a terminal here: the end of every table, as plain lines.
    for table in TABLES:
        assert f"{len(before[table]):>12,} of {len(before[table]):,} rows (100%)" in err, table
    assert err.endswith("indexes, keys and counts...\n")  # the step after the last table, said
    assert "\x1b" not in err

    back = tmp_path / "back" / "mentions.db"  # a folder that does not exist yet
    status, out, err = _copy(capsys, "--from", pg_dsn, "--to", str(back))
    assert status == 0, err
    assert _rows(back) == before
    assert sorted(p.name for p in back.parent.iterdir()) == ["mentions.db"]  # no temporary file left

    # The copy is a working store: the tables, indexes and triggers of a new one, in WAL, its rollup
    # triggers back (one more mention counts).
    connect(tmp_path / "fresh.db").close()
    assert _schema(back) == _schema(tmp_path / "fresh.db")
    with sqlite3.connect(back) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        triggers = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()
        assert triggers == (
            15,
        )  # six for the hour rollups, three each for first_reply_at, sentiment, day authors
    db.close()
    with Store.open(back) as copied:
        config = SourceConfig(name="blog 1", type="feed", interval=900, url="https://blog1.example.org/feed")
        at = T0 + timedelta(days=36)
        outcome = PollOutcome(mentions=_mentions(1, 9))
        copied.save_poll(
            config,
            PollRecord("blog 1", at, 0.2, SourceStatus.OK),
            SourceUpdate(SourceStatus.OK, at, 0),
            outcome,
        )
    with sqlite3.connect(back) as db:
        sums = db.execute(
            "SELECT (SELECT COUNT(*) FROM mentions), (SELECT SUM(mentions) FROM mention_hours),"
            " (SELECT COUNT(*) FROM polls), (SELECT SUM(attempts) FROM poll_hours)"
        ).fetchone()
        new_ids = db.execute(
            "SELECT MIN(id) FROM mentions WHERE first_seen_at >= ?", (int(at.timestamp()),)
        ).fetchone()
    db.close()
    assert sums[0] == sums[1] > len(before["mentions"])
    assert sums[2] == sums[3]
    assert new_ids == (len(before["mentions"]) + 1,)


def test_the_source_defaults_to_the_store_db_names(
    store: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMMUNITY_DASHBOARD_DATABASE", raising=False)
    status, _, err = _copy(capsys, "--db", str(store), "--to", pg_dsn)
    assert status == 0, err
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT COUNT(*) FROM mentions").fetchone() == (len(_rows(store)["mentions"]),)


def test_a_target_that_is_not_empty_is_refused_and_left_alone(
    store: Path, tmp_path: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _copy(capsys, "--from", str(store), "--to", pg_dsn)[0] == 0
    with psycopg.connect(pg_dsn) as pg:
        pg.execute("UPDATE sources SET notes = 'mine' WHERE id = 1")
        pg.commit()

    status, out, err = _copy(capsys, "--from", str(store), "--to", pg_dsn)
    assert status == 2
    assert "store copy refused: the PostgreSQL database is not empty (table sources has rows)" in err
    assert out == ""
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT notes FROM sources WHERE id = 1").fetchone() == ("mine",)
        assert pg.execute("SELECT COUNT(*) FROM mentions").fetchone() == (len(_rows(store)["mentions"]),)

    # PostgreSQL -> a SQLite file that already holds a store: refused, the file byte for byte as it was.
    other = tmp_path / "other.db"
    _fill(other)
    before = other.read_bytes()
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(other))
    assert status == 2
    assert f"{other} already exists and holds a store with" in err
    assert other.read_bytes() == before

    # An empty file beside a write-ahead log (a store being created by someone) is not free either.
    busy = tmp_path / "busy.db"
    busy.touch()
    Path(f"{busy}-wal").write_bytes(b"\x37\x7f\x06\x82")
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(busy))
    assert status == 2
    assert "is in use (it has a write-ahead log, busy.db-wal)" in err
    assert busy.read_bytes() == b""


def test_missing_sources_and_impossible_pairs_are_refused(
    store: Path, tmp_path: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = _copy(capsys, "--from", str(tmp_path / "missing.db"), "--to", pg_dsn)
    assert status == 2
    assert f"store copy refused: no SQLite store at {tmp_path / 'missing.db'}" in err
    assert _pg_tables(pg_dsn) == []  # not even the schema

    target = tmp_path / "new.db"
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(target))  # an empty database
    assert status == 2
    assert "holds no community-dashboard store" in err
    assert not target.exists()

    status, _, err = _copy(capsys, "--from", str(store), "--to", str(target))
    assert status == 2
    assert "both SQLite files" in err
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", "postgresql://nobody@localhost/other")
    assert status == 2
    assert "both PostgreSQL databases" in err
    assert not target.exists()


def test_without_psycopg_the_command_says_how_to_install_it(
    store: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    status, _, err = _copy(capsys, "--from", str(store), "--to", pg_dsn)
    assert status == 2
    assert "pip install 'community-dashboard[postgres]'" in err


def test_a_row_postgresql_refuses_fails_the_copy_and_leaves_no_table(
    store: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(store) as db:  # SQLite keeps text in an INTEGER column; bigint does not
        db.execute("UPDATE engagement_history SET likes = 'many' WHERE mention_id = 7")
    db.close()
    status, out, err = _copy(capsys, "--from", str(store), "--to", pg_dsn)
    assert status == 1
    assert "store copy failed: PostgreSQL refused the copy" in err
    assert "engagement_history" in err
    assert out == ""
    assert _pg_tables(pg_dsn) == []


def test_a_connection_cut_mid_copy_fails_and_leaves_no_file(
    store: Path,
    tmp_path: Path,
    pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _copy(capsys, "--from", str(store), "--to", pg_dsn)[0] == 0
    shown_before = CopyProgress.__call__

    def cut_at_links(self: CopyProgress, table: str, done: int, total: int) -> None:
        shown_before(self, table, done, total)
        if table == "mention_links" and done == 0:  # mentions are in the file, uncommitted
            with psycopg.connect(pg_dsn, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )

    monkeypatch.setattr(CopyProgress, "__call__", cut_at_links)
    target = tmp_path / "copy.db"
    status, out, err = _copy(capsys, "--from", pg_dsn, "--to", str(target))
    assert status == 1
    assert "store copy failed: reading PostgreSQL failed" in err
    assert out == ""
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("mentions.db")] == []


# A copy killed (-9) when it reaches mention_links: what the command line does, then SIGKILL itself.
KILLED = """
import os, signal, sys
from dashboard.cli import main
from dashboard.cli.store import CopyProgress
shown = CopyProgress.__call__
def die(self, table, done, total):
    shown(self, table, done, total)
    if table == "mention_links":
        os.kill(os.getpid(), signal.SIGKILL)
CopyProgress.__call__ = die
main(sys.argv[1:])
"""


def _killed(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLED, "store", "copy", *argv], capture_output=True, text=True, check=False
    )


def _others(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as pg:
        row = pg.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_for_no_other_session(dsn: str) -> None:
    deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
    while _others(dsn) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_copy_leaves_the_target_empty_both_ways(store: Path, tmp_path: Path, pg_dsn: str) -> None:
    killed = _killed("--from", str(store), "--to", pg_dsn)
    assert killed.returncode == -9, killed.stderr
    _wait_for_no_other_session(pg_dsn)  # the server rolls the copy back once it sees its client gone
    assert _pg_tables(pg_dsn) == []

    status = subprocess.run(
        [sys.executable, "-m", "dashboard", "store", "copy", "--from", str(store), "--to", pg_dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, status.stderr

    target = tmp_path / "copy.db"
    killed = _killed("--from", pg_dsn, "--to", str(target))
    assert killed.returncode == -9, killed.stderr
    assert not target.exists()  # only the temporary file a kill cannot remove, under another name
    leftovers = [p.name for p in tmp_path.iterdir() if not p.name.startswith("mentions.db")]
    assert all(name.startswith(".copy.db.partial-") for name in leftovers), leftovers


def test_progress_on_a_terminal_is_one_line_rewritten_with_a_bar() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = CopyProgress(stream)
    progress("mentions", 0, 10_000)
    progress("mentions", 5_000, 10_000)
    progress("mentions", 10_000, 10_000)
    progress("alerts", 0, 0)
    progress("indexes, keys and counts", 0, -1)
    progress.close()
    text = stream.getvalue()
    assert text.count("\n") == 3  # a lasting line per finished table and step, the rest rewritten in place
    assert "\r\x1b[Kmentions             [############            ]        5,000 of 10,000 rows (50%)" in text
    assert "[########################]       10,000 of 10,000 rows (100%)\n" in text
    assert text.endswith(
        "alerts               [########################]            0 of 0 rows (100%)\n"
        "\r\x1b[Kindexes, keys and counts...\n"
    )


def test_progress_elsewhere_is_the_tenths_of_a_big_table_and_each_end() -> None:
    stream = io.StringIO()
    progress = CopyProgress(stream)
    for done in range(0, 100_001, 5_000):
        progress("mentions", done, 100_000)
    for done in (0, 3, 5):
        progress("sources", done, 5)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 + 1  # 0%, 10% ... 100% of mentions, and the end of sources
    assert lines[-1] == "sources                         5 of 5 rows (100%)"


def test_stores_are_told_apart_and_passwords_never_shown() -> None:
    assert is_postgres("postgresql://team@db/community")
    assert is_postgres("postgres://db/x")
    assert is_postgres("host=/tmp/x dbname=y")
    assert not is_postgres("mentions.db")
    assert not is_postgres("/data/postgresql.db")
    assert "secret" not in shown("postgresql://team:secret@db/community")
    assert shown("host=/tmp/x password=secret dbname=y") == "host=/tmp/x password=*** dbname=y"
    assert "s3cr" not in shown("host=db password='s3cr et' dbname=y")


def test_help_imports_neither_psycopg_nor_the_store() -> None:
    script = (
        "import contextlib, io, sys\n"
        "from dashboard.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['store', 'copy', '--help'])\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert [
        name for name in loaded.split() if name.startswith(("psycopg", "pandas", "dashboard.store"))
    ] == []


def test_an_empty_file_is_a_fine_target_and_ctrl_c_leaves_none(
    store: Path,
    tmp_path: Path,
    pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _copy(capsys, "--from", str(store), "--to", pg_dsn)[0] == 0
    empty = tmp_path / "empty.db"
    empty.touch()
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(empty))
    assert status == 0, err
    assert _rows(empty) == _rows(store)

    shown_before = CopyProgress.__call__

    def interrupt(self: CopyProgress, table: str, done: int, total: int) -> None:
        shown_before(self, table, done, total)
        if table == "polls":
            raise KeyboardInterrupt

    monkeypatch.setattr(CopyProgress, "__call__", interrupt)
    target = tmp_path / "interrupted.db"
    assert _copy(capsys, "--from", pg_dsn, "--to", str(target))[0] == 130
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("mentions.db")) == ["empty.db"]


def test_stores_of_another_schema_version_are_refused(
    store: Path, tmp_path: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = tmp_path / "newer.db"
    newer.write_bytes(store.read_bytes())
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    status, _, err = _copy(capsys, "--from", str(newer), "--to", pg_dsn)
    assert status == 2
    assert "written by a newer community-dashboard (schema version 99" in err
    assert _pg_tables(pg_dsn) == []

    assert _copy(capsys, "--from", str(store), "--to", pg_dsn)[0] == 0
    with psycopg.connect(pg_dsn) as pg:
        pg.execute("UPDATE schema_version SET version = 3")
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(tmp_path / "old.db"))
    assert status == 2
    assert "the PostgreSQL store is at schema 3, this version copies schema" in err
    assert not (tmp_path / "old.db").exists()


def test_a_database_that_does_not_exist_is_the_users_to_create(
    store: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = pg_dsn.replace("dbname=", "dbname=nosuch")
    status, _, err = _copy(capsys, "--from", str(store), "--to", missing)
    assert status == 2
    assert "does not exist: create it first (createdb NAME)" in err


EXPORTED = ("mentions", "sources", "voices", "posts", "reactions")


def test_the_copy_in_postgresql_exports_what_the_sqlite_store_does(
    store: Path, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _copy(capsys, "--from", str(store), "--to", pg_url)[0] == 0
    config = tmp_path / "feeds.toml"
    feeds = "".join(
        f'[[feeds]]\nname = "blog {n}"\nurl = "https://blog{n}.example.org/feed"\n\n' for n in range(SOURCES)
    )
    config.write_text(f'[settings]\nkeywords = ["post"]\n\n{feeds}', encoding="utf-8")
    exported = {}
    for name, database in (("sqlite", str(store)), ("postgresql", pg_url)):
        for what in EXPORTED:
            output = tmp_path / f"{name}-{what}.csv"
            argv = ["export", "--config", str(config), "--db", database, "--what", what]
            assert main([*argv, "--since", "2000-01-01", "--until", "2027-01-01", "-o", str(output)]) == 0
            exported[name, what] = output.read_text(encoding="utf-8")
    capsys.readouterr()
    for what in EXPORTED:
        assert exported["postgresql", what] == exported["sqlite", what], what  # ids and times included
    assert exported["sqlite", "mentions"].count("\n") > 200
    assert exported["sqlite", "reactions"].count("\n") > 10  # the links came along


def test_a_store_written_during_the_copy_is_copied_as_it_was_when_the_copy_began(
    store: Path,
    tmp_path: Path,
    pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One snapshot per copy (a poller may go on writing the source): the counts that verify it are
    those of the rows copied, and what was written meanwhile is in the source, not the copy."""
    shown_before = CopyProgress.__call__
    writes: list[str] = []

    def write_meanwhile(self: CopyProgress, table: str, done: int, total: int) -> None:
        shown_before(self, table, done, total)
        if table != "polls" or done:
            return
        name = f"late {len(writes)}"
        writes.append(name)
        if len(writes) == 1:  # the first copy: SQLite is the source
            with sqlite3.connect(store) as db:
                db.execute("INSERT INTO sources (name, type) VALUES (?, 'feed')", (name,))
            db.close()
        else:
            with psycopg.connect(pg_dsn, autocommit=True) as pg:
                pg.execute("INSERT INTO sources (name, type) VALUES (%s, 'feed')", (name,))

    before = _rows(store)
    monkeypatch.setattr(CopyProgress, "__call__", write_meanwhile)
    status, _, err = _copy(capsys, "--from", str(store), "--to", pg_dsn)
    assert status == 0, err
    status, _, err = _copy(capsys, "--from", pg_dsn, "--to", str(tmp_path / "copy.db"))
    assert status == 0, err
    assert writes == ["late 0", "late 1"]
    assert _rows(tmp_path / "copy.db") == before  # neither late source
    assert len(_rows(store)["sources"]) == SOURCES + 1
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT name FROM sources WHERE name LIKE 'late%'").fetchall() == [("late 1",)]
