"""The opinion pass end to end: polled mentions get a language and, in English and French, a sentiment.

Real stores in tmp_path, the real poller against a local feed server; the pass through
`poll --once` (its low-priority worker process) and in this process (BackgroundRunner + OpinionPass).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from dashboard.cli import main
from dashboard.config import load_config
from dashboard.contracts.source import InlineParser
from dashboard.fetch.http import Fetcher
from dashboard.opinion import INSTALL_HINT, OPINION_VERSION
from dashboard.opinion import language as language_module
from dashboard.opinion import sentiment as sentiment_module
from dashboard.polling.background import BackgroundProgress, BackgroundRunner
from dashboard.polling.poller import Poller
from dashboard.sources import source_types
from dashboard.store.db import connect
from dashboard.store.opinion import AnalysisResult, OpinionPass, analyse_batch
from dashboard.store.schema import APPLICATION_ID, MIGRATIONS
from dashboard.store.writer import Store
from tests.feeds_factory import write_config
from tests.localserver import LocalServer, Reply

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

COMPLAINTS = {
    "en": "This update is terrible, the app keeps crashing and I hate it",
    "fr": "Cette mise à jour, ce n'est pas génial, l'application plante tout le temps",
    "es": "La nueva versión es terrible y no funciona nada bien con mi ordenador",
    "de": "Das neue Update ist schrecklich und funktioniert überhaupt nicht mit meinem Computer",
}


def rss(items: Sequence[tuple[str, str]]) -> bytes:
    """An RSS feed of (guid, title) items, no declared language: the pass detects it."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://example.org/{guid}</link>"
        f"<guid>{guid}</guid><pubDate>{format_datetime(T0 - timedelta(hours=n))}</pubDate></item>"
        for n, (guid, title) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Voices</title>'
        f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def serve(server: LocalServer, path: str, items: Sequence[tuple[str, str]]) -> None:
    server.route(path, Reply(200, rss(items), {"Content-Type": "application/rss+xml"}))


def opinions(db: Path) -> dict[str, tuple[Any, ...]]:
    """guid -> (language, sentiment, sentiment_label, opinion_version)."""
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT key, language, sentiment, sentiment_label, opinion_version FROM mentions"
        ).fetchall()
    finally:
        connection.close()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_poll_once_scores_english_and_french_complaints_and_leaves_spanish_and_german_unscored(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve(server, "/voices.xml", list(COMPLAINTS.items()))
    config = write_config(tmp_path, server, ["/voices.xml"])

    assert main(["poll", "--once", "--config", str(config)]) == 0

    found = opinions(tmp_path / "mentions.db")
    assert found["en"][0] == "en"
    assert found["en"][2] == "negative"
    assert found["en"][1] < 0
    assert found["fr"][0] == "fr"
    assert found["fr"][2] == "negative"
    assert found["fr"][1] < 0
    # Spanish and German: the language is known, the sentiment is empty (never 0, never neutral).
    assert found["es"][:3] == ("es", None, None)
    assert found["de"][:3] == ("de", None, None)
    assert {row[3] for row in found.values()} == {OPINION_VERSION}
    assert "Traceback" not in capsys.readouterr().err


def runner_for(
    db: Path, languages: Sequence[str] = ("en", "fr")
) -> tuple[BackgroundRunner, sqlite3.Connection]:
    connection = connect(db)
    return BackgroundRunner([OpinionPass(connection, languages)]), connection


async def test_the_poller_wakes_the_pass_after_a_round_and_a_changed_text_is_scored_again(
    server: LocalServer, tmp_path: Path
) -> None:
    serve(server, "/voices.xml", [("post", "I love the new release, it is wonderful and so fast")])
    config = load_config(write_config(tmp_path, server, ["/voices.xml"]), registry=source_types())
    db = tmp_path / "mentions.db"
    store = Store.open(db)
    runner, connection = runner_for(db)
    runner.start()
    try:
        assert runner.wait_idle(10)  # an empty store: nothing to back-fill
        async with Fetcher(timeout=5.0) as fetcher:
            poller = Poller(config, store, fetcher.fetch, InlineParser(), background=runner)
            await poller.poll_once(force=True)
            assert not runner.idle  # woken by the round that stored a mention
            assert await asyncio.to_thread(runner.wait_idle, 10)
            first = opinions(db)["post"]
            assert first[0] == "en"
            assert first[2] == "positive"

            # The author edits the post: the writer re-queues it, the pass scores the new words.
            serve(server, "/voices.xml", [("post", COMPLAINTS["en"])])
            await poller.poll_once(force=True)
            assert await asyncio.to_thread(runner.wait_idle, 10)
        second = opinions(db)["post"]
        assert second[0] == "en"
        assert second[2] == "negative"
        assert second[3] == OPINION_VERSION
    finally:
        runner.stop()
        connection.close()
        store.close()


def old_store(db: Path, rows: int) -> None:
    """A store written before migration 7 (schema 6): `rows` mentions, no opinion columns yet."""
    connection = sqlite3.connect(db, isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:6], start=1):
        connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute("INSERT INTO sources (id, name, type) VALUES (1, 'Old', 'rss')")
    texts = [COMPLAINTS["en"], COMPLAINTS["fr"], COMPLAINTS["es"], COMPLAINTS["de"], "ok"]
    epoch = int(T0.timestamp())
    connection.execute("BEGIN")
    connection.executemany(
        """INSERT INTO mentions (source_id, key, kind, title, published_at, first_seen_at, updated_at)
           VALUES (1, ?, 'post', ?, ?, ?, ?)""",
        [(f"k{n}", f"{texts[n % len(texts)]} #{n}", epoch - n, epoch, epoch) for n in range(rows)],
    )
    connection.execute("COMMIT")
    connection.close()


def test_a_store_from_before_the_pass_is_back_filled_in_batches_with_progress(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old_store(db, 5000)
    seen: list[BackgroundProgress] = []
    connection = connect(db)  # migrates: every old row is pending
    try:
        opinion = OpinionPass(connection)
        assert opinion.pending() == 5000
        runner = BackgroundRunner([opinion], batch=1000, on_progress=[seen.append])
        runner.start()
        try:
            assert runner.wait_idle(60)
        finally:
            runner.stop()
        assert opinion.pending() == 0
    finally:
        connection.close()

    running = [p for p in seen if p.running]
    assert [p.done for p in running] == [0, 1000, 2000, 3000, 4000]
    assert all(p.total == 5000 and p.label == "Language and sentiment" for p in running)
    assert seen[-1] == BackgroundProgress("opinion", 5000, 5000, False, "", "Language and sentiment")
    found = opinions(db)
    assert found["k0"][:1] == ("en",)
    assert found["k0"][2] == "negative"
    assert found["k1"][0] == "fr"
    assert found["k1"][2] == "negative"
    assert found["k2"][1:3] == (None, None)  # Spanish
    assert found["k3"][1:3] == (None, None)  # German
    assert found["k4"][:3] == (None, None, None)  # too short to know: unknown, not a guess


def test_a_row_rewritten_by_a_poll_during_the_analysis_is_not_overwritten_and_is_read_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    old_store(db, 3)
    connection = connect(db)
    other = connect(db)

    def analyse_while_a_poll_rewrites(*args: Any) -> AnalysisResult:
        # What a poll does meanwhile (writer._update_existing on a changed text).
        other.execute(
            """UPDATE mentions SET title = ?, content_changes = content_changes + 1, opinion_version = NULL
               WHERE key = 'k0'""",
            ("I love it, wonderful and beautiful work",),
        )
        return analyse_batch(*args)

    try:
        opinion = OpinionPass(connection, run=analyse_while_a_poll_rewrites)
        assert opinion.run_batch(10) == 2  # k1 and k2 written; k0 changed under it
        assert opinions(db)["k0"][3] is None
        assert OpinionPass(connection).run_batch(10) == 1  # the next batch reads the new words
        assert opinions(db)["k0"][2] == "positive"
    finally:
        other.close()
        connection.close()


def test_the_pass_holds_no_lock_while_it_analyses_and_a_poll_save_interleaves(
    server: LocalServer, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    old_store(db, 200)
    serve(server, "/voices.xml", [("fresh", COMPLAINTS["fr"])])
    config = load_config(write_config(tmp_path, server, ["/voices.xml"]), registry=source_types())
    saves: list[int] = []

    def analyse_beside_a_poll(*args: Any) -> AnalysisResult:
        # A real poll stores its mentions in the middle of the batch, on a store that waits for no
        # lock at all: it fails with "database is locked" if the pass holds a transaction now.
        store = Store.open(db)
        store._db.execute("PRAGMA busy_timeout = 0")
        try:

            async def poll() -> None:
                async with Fetcher(timeout=5.0) as fetcher:
                    records = await Poller(config, store, fetcher.fetch, InlineParser()).poll_once(force=True)
                saves.extend(record.new for record in records)

            asyncio.run(poll())
        finally:
            store.close()
        return analyse_batch(*args)

    connection = connect(db)
    try:
        opinion = OpinionPass(connection, run=analyse_beside_a_poll)
        assert opinion.run_batch(100) == 100
        assert not connection.in_transaction
    finally:
        connection.close()
    assert saves == [1]
    assert opinions(db)["fresh"][3] is None  # stored after the batch was read: the next one does it


def test_without_the_opinion_extra_rows_stay_pending_the_install_command_is_said_once_and_a_restart_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "old.db"
    old_store(db, 10)
    # The extra missing: its packages cannot be imported (the detectors are built once per process).
    monkeypatch.setitem(sys.modules, "lingua", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    language_module._detector.cache_clear()
    sentiment_module._vader.cache_clear()
    seen: list[BackgroundProgress] = []
    connection = connect(db)
    try:
        opinion = OpinionPass(connection)
        runner = BackgroundRunner([opinion], on_progress=[seen.append])
        runner.start()
        assert runner.wait_idle(10)
        runner.wake()  # a later round: nothing more is said
        assert runner.wait_idle(10)
        runner.stop()
        assert opinion.pending() == 10
        assert {row[3] for row in opinions(db).values()} == {None}
        said = [p for p in seen if p.message]
        assert len(said) == 1
        assert INSTALL_HINT in said[0].message
        assert not said[0].running
        assert INSTALL_HINT in said[0].describe()
        assert sum(INSTALL_HINT in record.getMessage() for record in caplog.records) == 1

        # Installed at last (here: importable again) and started again: the rows are analysed.
        monkeypatch.undo()
        language_module._detector.cache_clear()
        sentiment_module._vader.cache_clear()
        restarted = OpinionPass(connection)
        assert restarted.run_batch() == 10
        assert restarted.pending() == 0
    finally:
        connection.close()


def test_rows_of_an_older_opinion_version_are_queued_again(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old_store(db, 30)
    connection = connect(db)
    try:
        assert OpinionPass(connection).run_batch() == 30
        connection.execute(
            "UPDATE mentions SET opinion_version = ? WHERE key IN ('k0', 'k7')", (OPINION_VERSION - 1,)
        )
        again = OpinionPass(connection)
        assert again.pending() == 2
        assert again.run_batch() == 2
        assert {row[3] for row in opinions(db).values()} == {OPINION_VERSION}
    finally:
        connection.close()


def test_the_languages_setting_decides_what_is_scored(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old_store(db, 2)  # k0 English, k1 French
    connection = connect(db)
    try:
        assert OpinionPass(connection, ("en",)).run_batch() == 2
    finally:
        connection.close()
    found = opinions(db)
    assert found["k0"][2] == "negative"
    assert found["k1"][:3] == ("fr", None, None)


def test_poll_once_back_fills_an_old_store_and_prints_its_progress_on_stderr(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_store(tmp_path / "mentions.db", 1000)
    serve(server, "/voices.xml", [("fr", COMPLAINTS["fr"])])
    config = write_config(tmp_path, server, ["/voices.xml"])

    assert main(["poll", "--once", "--config", str(config)]) == 0

    captured = capsys.readouterr()
    # Not a terminal: plain lines, nothing rewritten. The links back-fill runs too (its own lines).
    lines = [line for line in captured.err.splitlines() if line.startswith("Language and sentiment")]
    assert lines[0].startswith("Language and sentiment: 0 of 1,00")
    # The back-fill's run ends with its count (the polled row joins it, or gets a short run of its own).
    assert lines[-1] in ("Language and sentiment: 1,000 done", "Language and sentiment: 1,001 done")
    assert "Links to posts: 1,000 done" in captured.err
    assert "\r" not in captured.err
    assert " ok " in captured.out
    found = opinions(tmp_path / "mentions.db")
    assert {row[3] for row in found.values()} == {OPINION_VERSION}  # the old rows and the new one
    assert found["fr"][2] == "negative"
