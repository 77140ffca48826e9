"""One hostile value fails one source, visibly; the store write never stops the poll (issues 11, 17)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.models import (
    MAX_COUNT,
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
    bounded_count,
    valid_text,
)
from dashboard.store import writer
from dashboard.store.writer import INVALID_DATA, Store
from tests.feeds_factory import rss, serve_feeds, write_config
from tests.localserver import LocalServer, Reply

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OK = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)
SOURCES = [
    SourceConfig(name=f"S{number}", type="feed", interval=900, url=f"http://127.0.0.1/{number}.xml")
    for number in range(3)
]


def mention(key: str) -> Mention:
    return Mention(key=key, kind=MentionKind.POST, url=f"http://x/{key}", title="t", author="a", published=T0)


def hostile(key: str, **values: object) -> Mention:
    """A mention holding values the model would have cleaned: what the writer itself must survive."""
    built = mention(key)
    for name, value in values.items():
        object.__setattr__(built, name, value)
    return built


def save_all(store: Store, batches: list[tuple[Mention, ...]]) -> list[PollRecord]:
    records = []
    for source, mentions in zip(SOURCES, batches, strict=True):
        record = PollRecord(source=source.name, started_at=T0, duration=0.1, status=SourceStatus.OK)
        outcome = PollOutcome(mentions=mentions, cursor={"etag": source.name})
        records.append(store.save_poll(source, record, OK, outcome))
    return records


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    return sqlite3.connect(db).execute(sql).fetchall()


@pytest.fixture
def unbounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer without the text bounds of `_unique` (which rebuild, and so re-clean, each Mention):
    the raw hostile values reach the SQL binding, as they would from a model that missed one."""
    monkeypatch.setattr(
        writer, "_unique", lambda mentions: list({m.key: m for m in reversed(mentions)}.values())
    )


@pytest.mark.parametrize(
    "values",
    [
        {"replies": 99999999999999999999},
        {"likes": -(2**64)},
        {"title": "bad \ud800 title"},
        {"views": object()},
        {"published": "yesterday"},
    ],
    ids=["count above 2^63", "count below -2^63", "lone surrogate", "not a number", "not a date"],
)
def test_an_unstorable_value_fails_its_source_only_and_keeps_its_good_mentions(
    tmp_path: Path, values: dict[str, object], unbounded: None
) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
        records = save_all(
            store,
            [
                (mention("a1"), mention("a2")),
                (mention("b1"), hostile("bad", **values), mention("b2")),
                (mention("c1"),),
            ],
        )
        states = store.states()

    assert [record.status for record in records] == [SourceStatus.OK, SourceStatus.FAILING, SourceStatus.OK]
    assert records[1].error_class == INVALID_DATA
    assert "1 of 3 items could not be stored" in records[1].error
    assert "'bad'" in records[1].error
    assert states["S1"].status == SourceStatus.FAILING
    assert states["S1"].last_error == records[1].error
    assert states["S1"].consecutive_failures == 1
    assert states["S0"].status == states["S2"].status == SourceStatus.OK
    stored = query(
        db, "SELECT s.name, m.key FROM mentions m JOIN sources s ON s.id = m.source_id ORDER BY m.key"
    )
    assert stored == [("S0", "a1"), ("S0", "a2"), ("S1", "b1"), ("S1", "b2"), ("S2", "c1")]
    assert query(db, "SELECT status, error_class FROM polls WHERE source_id = 2") == [
        ("failing", INVALID_DATA)
    ]


def test_a_cursor_that_cannot_be_stored_fails_the_source_with_its_attempt_recorded(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        source = SOURCES[0]
        record = PollRecord(source=source.name, started_at=T0, duration=0.1, status=SourceStatus.OK)
        outcome = PollOutcome(mentions=(mention("a1"),), cursor={"when": object()})
        saved = store.save_poll(source, record, OK, outcome)
        assert saved.status == SourceStatus.FAILING
        assert "could not be stored" in saved.error
        assert store.state(source.name).cursor == {}
    assert query(db, "SELECT COUNT(*), MAX(status) FROM polls") == [(1, "failing")]


def test_poll_error_text_with_a_lone_surrogate_is_stored(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db") as store:
        source = SOURCES[0]
        update = SourceUpdate(SourceStatus.FAILING, None, 1)
        record = PollRecord(
            source=source.name, started_at=T0, duration=0.1, status=SourceStatus.FAILING, error="x\ud800y"
        )
        saved = store.save_poll(source, record, update, None)
        assert saved.status == SourceStatus.FAILING
        assert store.state(source.name).last_error == "x\ufffdy"


def test_hostile_values_are_bounded_by_the_model_and_the_poll_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        built = Mention(
            key="k", kind=MentionKind.POST, url="u", title="t\ud800", author="a", published=T0, likes=10**30
        )
        records = save_all(store, [(built,), (mention("b"),), ()])
    assert [record.status for record in records] == [SourceStatus.OK] * 3
    assert query(db, "SELECT title, likes FROM mentions WHERE key = 'k'") == [("t\ufffd", MAX_COUNT)]


def test_the_model_bounds_counts_and_repairs_text() -> None:
    built = Mention(
        key="k\ud800",
        kind=MentionKind.POST,
        url="u",
        title="\ud83d\ude00 \udfff",
        author="a",
        published=None,
        likes=10**30,
        replies=-(10**30),
        shares=True,
        views=float("nan"),
    )
    assert (built.likes, built.replies, built.shares, built.views) == (MAX_COUNT, -MAX_COUNT, 1, None)
    assert built.key == "k\ufffd"
    assert built.title == "\U0001f600 \ufffd"
    assert bounded_count(None) is None
    assert bounded_count("12") == 12
    assert bounded_count(float("inf")) is None
    assert valid_text("plain é") == "plain é"


def test_poll_once_with_a_huge_count_in_one_feed_stores_every_feed(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = serve_feeds(server, 3, items=4)
    server.route(paths[1], Reply(200, rss("Huge", 4, comments=99999999999999999999)))
    config = write_config(tmp_path, server, paths)
    db = tmp_path / "mentions.db"

    assert main(["poll", "--once", "--config", str(config), "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert captured.out.count(" ok ") == 3, captured.out
    assert query(db, "SELECT COUNT(*) FROM mentions") == [(12,)]
    assert query(db, f"SELECT COUNT(*) FROM mentions WHERE abs(replies) > {MAX_COUNT}") == [(0,)]
