"""Team mode end to end: `poll` fills a PostgreSQL store, read-only dashboards hear about it, two
pollers share the sources, and the poller outlives a kill -9 and a PostgreSQL restart."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.models import PollRecord, SourceConfig, SourceStatus, SourceUpdate
from dashboard.store.db import changes
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store
from tests.backends import rows
from tests.feeds_factory import rss, serve_feeds, write_config
from tests.localserver import Handler, LocalServer, Reply, Seen
from tests.pg import new_database_url, pg_url_fixture, start_cluster  # noqa: F401  (the `pg_url` fixture)
from tests.test_kill_mid_poll import poll  # `poll --once` as a child process

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def count(url: str, sql: str) -> int:
    return int(rows(url, sql)[0][0])


def duplicates(url: str) -> int:
    return count(
        url, "SELECT COUNT(*) FROM (SELECT 1 FROM mentions GROUP BY source_id, key HAVING COUNT(*) > 1) d"
    )


def test_poll_once_fills_postgresql_then_304s_add_nothing(
    server: LocalServer, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 12, items=20), database=pg_url)
    assert main(["poll", "--once", "--config", str(config)]) == 0
    assert capsys.readouterr().out.count(" ok ") == 12
    assert count(pg_url, "SELECT COUNT(*) FROM mentions") == 12 * 20
    assert main(["poll", "--once", "--config", str(config)]) == 0
    assert capsys.readouterr().out.count("not modified") == 12
    assert count(pg_url, "SELECT COUNT(*) FROM mentions") == 12 * 20
    assert count(pg_url, "SELECT COUNT(*) FROM polls WHERE http_status = 304") == 12
    # The rollups the statement triggers keep agree with the mentions they sum.
    assert count(pg_url, "SELECT SUM(mentions) FROM mention_hours") == 12 * 20
    # `poll --once` leaves every mention analysed by the background passes, as on SQLite.
    assert count(pg_url, "SELECT COUNT(*) FROM mentions WHERE opinion_version IS NULL") == 0
    assert count(pg_url, "SELECT COUNT(*) FROM mentions WHERE links_version IS NULL") == 0
    assert count(pg_url, "SELECT COUNT(*) FROM mentions WHERE language = 'en'") > 0
    assert not (tmp_path / "mentions.db").exists()


def test_postgresql_and_sqlite_give_the_same_export(
    server: LocalServer, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = serve_feeds(server, 5, items=15)
    exported = {}
    for name, database in (("sqlite", None), ("postgresql", pg_url)):
        folder = tmp_path / name
        folder.mkdir()
        config = write_config(folder, server, paths, database=database)
        assert main(["poll", "--once", "--config", str(config)]) == 0
        output = folder / "mentions.csv"
        assert (
            main(
                [
                    "export",
                    "--config",
                    str(config),
                    "--what",
                    "mentions",
                    "--since",
                    "2000-01-01",
                    "-o",
                    str(output),
                ]
            )
            == 0
        )
        lines = output.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        stable = [i for i, column in enumerate(header) if column not in ("first_seen_at", "id")]
        exported[name] = sorted(",".join(line.split(",")[i] for i in stable) for line in lines[1:])
    capsys.readouterr()
    assert len(exported["sqlite"]) == 5 * 15
    assert exported["postgresql"] == exported["sqlite"]


def test_a_password_in_feeds_toml_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[settings]\ndatabase = "postgresql://team:s3cret@db.example/community"\n\n'
        '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed.xml"\n',
        encoding="utf-8",
    )
    assert main(["check", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert f"{config}:2" in error
    assert "database" in error
    assert "PGPASSWORD" in error
    assert "s3cret" not in error


def test_the_environment_variable_chooses_the_store(
    server: LocalServer,
    tmp_path: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, server, serve_feeds(server, 2, items=3))
    monkeypatch.setenv("COMMUNITY_DASHBOARD_DATABASE", pg_url)
    assert main(["poll", "--once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert count(pg_url, "SELECT COUNT(*) FROM mentions") == 6
    assert not (tmp_path / "mentions.db").exists()


SOURCES = [
    SourceConfig(name=f"Feed {n}", type="feed", interval=900, url=f"http://127.0.0.1/{n}") for n in range(4)
]


def test_two_pollers_never_hold_one_source(pg_url: str) -> None:
    first, second = Store.open(pg_url), Store.open(pg_url)
    first.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
    names = [source.name for source in SOURCES]
    assert first.claim(names[:3]) == set(names[:3])
    assert second.claim(names) == {names[3]}  # the other three are the first poller's
    assert first.claim(names) == set(names[:3])  # ...and the fourth is now the second's
    first.close()  # a poller that stops (or dies) lets its sources go
    assert second.claim(names) == set(names)
    second.close()


def slow_feed(body: bytes, delay: float) -> Handler:
    def handle(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        time.sleep(delay)
        return Reply(200, body, {"Content-Type": "application/rss+xml"})

    return handle


def test_two_pollers_started_together_poll_each_source_once(
    server: LocalServer, tmp_path: Path, pg_url: str
) -> None:
    paths = [f"/slow{n}.xml" for n in range(10)]
    for number, path in enumerate(paths):
        server.route(path, slow_feed(rss(f"Feed {number}", 20), delay=1.5))
    config = write_config(tmp_path, server, paths, database=pg_url)
    # A fresh database: both pollers also race to create the schema (the migration lock decides).
    pollers = [poll(config), poll(config)]
    for poller in pollers:
        _, errors = poller.communicate(timeout=120)
        assert poller.returncode == 0, errors.decode()
    assert count(pg_url, "SELECT COUNT(*) FROM mentions") == 10 * 20
    assert duplicates(pg_url) == 0
    assert sorted(len(server.requests_to(path)) for path in paths) == [1] * 10


def wait_for_first_write(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if count(url, "SELECT COUNT(*) FROM polls"):
                return
        except Exception:  # the schema may not be there yet
            pass
        time.sleep(0.01)
    raise AssertionError("the poller wrote nothing")


def test_kill_9_mid_poll_leaves_whole_polls_and_no_duplicate(
    server: LocalServer, tmp_path: Path, pg_url: str
) -> None:
    feeds, items = 30, 80
    paths = [f"/f{n}.xml" for n in range(feeds)]
    for number, path in enumerate(paths):
        server.route(path, slow_feed(rss(f"Feed {number}", items), delay=0.1 + 0.01 * number))
    config = write_config(tmp_path, server, paths, database=pg_url)
    victim = poll(config)
    wait_for_first_write(pg_url)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    stored = count(pg_url, "SELECT COUNT(*) FROM mentions")
    partial = count(
        pg_url,
        f"SELECT COUNT(*) FROM (SELECT source_id FROM mentions GROUP BY source_id HAVING COUNT(*) != {items}) p",
    )
    assert partial == 0
    assert 0 < stored < feeds * items, "the kill should land in the middle of the poll"
    survivor = poll(config)
    _, errors = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, errors.decode()
    assert count(pg_url, "SELECT COUNT(*) FROM mentions") == feeds * items
    assert duplicates(pg_url) == 0
    assert count(pg_url, "SELECT SUM(mentions) FROM mention_hours") == feeds * items


def save_attempt(store: Store, source: SourceConfig, at: datetime) -> PollRecord:
    record = PollRecord(source=source.name, started_at=at, duration=0.1, status=SourceStatus.OK)
    return store.save_poll(source, record, SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0), None)


def test_a_dashboard_hears_each_stored_poll(pg_url: str) -> None:
    store = Store.open(pg_url)
    store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
    heard: list[int] = []
    listening = threading.Event()
    done = threading.Event()

    def listen() -> None:
        for count_ in changes(pg_url, every=0.2, stopped=done.is_set):
            if count_ == 0:
                listening.set()  # connected and listening
            else:
                heard.append(count_)
                done.set()

    listener = threading.Thread(target=listen)
    listener.start()
    assert listening.wait(10)
    save_attempt(store, SOURCES[0], T0)
    assert done.wait(10), "no notification within 10 s of a stored poll"
    listener.join(10)
    store.close()
    assert heard
    assert heard[0] >= 1


def test_a_postgresql_restart_during_poll_is_survived(tmp_path: Path) -> None:
    cluster, dsn = start_cluster()
    try:
        fields = dict(part.split("=", 1) for part in dsn.split())
        url = f"postgresql://{fields['user']}@/postgres?host={fields['host']}&port={fields['port']}"
        store = Store.open(url)
        store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
        save_attempt(store, SOURCES[0], T0)
        cluster.stop("fast")  # a restart: every connection is cut
        restarted = threading.Timer(2.0, cluster.start_again)
        restarted.start()
        # This save meets a dead connection, waits for the server, then stores the attempt whole.
        record = save_attempt(store, SOURCES[0], T0 + timedelta(minutes=15))
        restarted.join()
        assert record.status == SourceStatus.OK
        assert save_attempt(store, SOURCES[1], T0 + timedelta(minutes=30)).status == SourceStatus.OK
        assert store.states()[SOURCES[1].name].last_success_at == T0 + timedelta(minutes=30)
        store.close()
        with StoreReader.open(url) as reader:
            assert len(reader.polls(None, None)) == 3
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


def test_mention_counts_carried_between_readers_stay_right(pg_url: str) -> None:
    """Dashboards open a reader per compute; on PostgreSQL the per-source counts carry over (counting
    10M rows took seconds), so they must still be right after new mentions and on another database."""
    from dashboard.models import Mention, MentionKind, PollOutcome

    store = Store.open(pg_url)
    store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})

    def save(keys: range) -> None:
        mentions = tuple(Mention(f"k{n}", MentionKind.POST, f"http://x/{n}", "t", "a", T0) for n in keys)
        record = PollRecord(source=SOURCES[0].name, started_at=T0, duration=0.1, status=SourceStatus.OK)
        update = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)
        store.save_poll(SOURCES[0], record, update, PollOutcome(mentions=mentions))

    def total() -> int:
        with StoreReader.open(pg_url) as reader:
            return int(reader.sources().set_index("name").loc[SOURCES[0].name, "mentions_total"])

    save(range(3))
    assert total() == 3
    save(range(3, 8))
    assert total() == 8  # a new reader adds only what came since, and gets it right
    store.close()
    other = new_database_url()  # another database: counted from nothing
    with Store.open(other) as fresh:
        fresh.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
    with StoreReader.open(other) as reader:
        assert reader.sources()["mentions_total"].sum() == 0
