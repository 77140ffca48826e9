"""Sentiment in the exports, through `community-dashboard export` (in-process main(), and once in a
subprocess): mentions.csv's language / sentiment / sentiment_label, metrics.csv's positive / neutral
/ negative per bucket and source, kpis.csv's net sentiment and negative share. Unknown is an empty
cell, never 0 or "neutral"; a real 0.0 score and a real 0 share stay."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.export.tables import KPIS, MENTIONS, METRICS
from dashboard.opinion import label_for
from tests.analytics_data import NOW, StoreBuilder, at

ROOT = Path(__file__).parent.parent
WINDOW = ["--since", "2024-03-30T12:00", "--until", "2024-03-31T12:00"]
FEEDS = (
    '[settings]\nkeywords = ["textual"]\n\n[[feeds]]\nname = "Blog"\nurl = "https://blog.example/feed.xml"\n'
)


def add(
    builder: StoreBuilder,
    source: str,
    published: datetime,
    language: str | None,
    value: float | None,
    title: str,
) -> None:
    mention_id = builder.mention(source, published, title=title)
    builder.connection.execute(
        "UPDATE mentions SET language = ?, sentiment = ?, sentiment_label = ?, opinion_version = 1 WHERE id = ?",
        (language, value, None if value is None else label_for(value), mention_id),
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """(feeds.toml, store). Blog and Forum polled every hour at :30; Forum's 08:30 poll on the 31st
    fails, so its 08:00 bucket is "no data"."""
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Blog")
    builder.source("Forum")
    start = at(-0.5, days=-3)
    builder.polls("Blog", start, NOW, timedelta(hours=1))
    builder.polls("Forum", start, at(-3.5), timedelta(hours=1))
    builder.poll("Forum", at(-3.5), "failing", http_status=500)
    builder.polls("Forum", at(-2.5), NOW, timedelta(hours=1))
    thirteen = at(-23)  # 30 Mar 13:00
    add(builder, "Blog", thirteen + timedelta(minutes=10), "en", -0.7, "It crashes")
    add(builder, "Blog", thirteen + timedelta(minutes=20), "en", 0.6, "Love it")
    add(builder, "Blog", thirteen + timedelta(minutes=30), "de", None, "Das ist schlecht")
    add(builder, "Blog", thirteen + timedelta(minutes=40), "fr", 0.0, "Une version")
    add(builder, "Blog", at(-21) + timedelta(minutes=5), "es", None, "Es terrible")  # 15:05
    add(builder, "Forum", at(-4) + timedelta(minutes=10), "en", -0.9, "Broken again")  # 08:10, no data
    add(builder, "Forum", at(-3) + timedelta(minutes=10), "fr", -0.3, "Bof")  # 09:10
    add(builder, "Forum", at(-2), "=cmd|' /C calc'!A0", None, "declared nonsense")  # 10:00
    add(builder, "Blog", at(-47), "en", 0.8, "Last week was fine")  # previous window
    builder.connection.commit()
    builder.close()
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS, encoding="utf-8")
    return config, tmp_path / "store.db"


def export(setup: tuple[Path, Path], *argv: str) -> int:
    config, database = setup
    return main(["export", "--config", str(config), "--db", str(database), *argv])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_mentions_gain_language_and_sentiment_at_the_end(setup: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "mentions.csv"
    assert export(setup, "--what", "mentions", "-o", str(target), *WINDOW) == 0
    header = target.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == MENTIONS.names
    assert header[-4:] == ["handled", "language", "sentiment", "sentiment_label"]
    found = {
        row["title"]: (row["language"], row["sentiment"], row["sentiment_label"]) for row in rows(target)
    }
    assert found == {
        "It crashes": ("en", "-0.7", "negative"),
        "Love it": ("en", "0.6", "positive"),
        "Das ist schlecht": ("de", "", ""),  # a language not scored: empty, not 0 nor neutral
        "Une version": ("fr", "0.0", "neutral"),  # a real zero score stays
        "Es terrible": ("es", "", ""),
        "Broken again": ("en", "-0.9", "negative"),
        "Bof": ("fr", "-0.3", "negative"),
        "declared nonsense": ("'=cmd|' /C calc'!A0", "", ""),  # text cells are formula-safe
    }


def test_metrics_gain_counts_per_bucket_and_source(setup: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "metrics.csv"
    assert export(setup, "--what", "metrics", "-o", str(target), *WINDOW) == 0
    assert target.read_text(encoding="utf-8").splitlines()[0].split(",") == METRICS.names
    table = {(row["bucket_start"], row["source"]): row for row in rows(target)}
    assert len(table) == 48

    def cells(hour: str, source: str) -> tuple[str, ...]:
        row = table[(hour, source)]
        return row["mentions"], row["status"], row["positive"], row["neutral"], row["negative"]

    assert cells("2024-03-30T13:00:00Z", "Blog") == ("4", "ok", "1", "1", "1")  # the German one not scored
    assert cells("2024-03-30T15:00:00Z", "Blog") == ("1", "ok", "", "", "")  # Spanish only: nothing scored
    assert cells("2024-03-30T16:00:00Z", "Blog") == ("0", "ok", "", "", "")  # no mention at all
    assert cells("2024-03-31T08:00:00Z", "Forum") == ("", "no data", "", "", "")  # a gap, never zero
    assert cells("2024-03-31T09:00:00Z", "Forum") == ("1", "ok", "0", "0", "1")
    assert cells("2024-03-31T10:00:00Z", "Forum") == ("1", "ok", "", "", "")


def test_the_snapshot_kpis_hold_net_sentiment_and_negative_share(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    assert export(setup, "--what", "all", "-o", str(tmp_path / "out"), *WINDOW) == 0
    (folder,) = (tmp_path / "out").glob("snapshot-*")
    (kpis,) = rows(folder / "kpis.csv")
    assert list(kpis) == KPIS.names
    # Window: positive 1, neutral 1, negative 3 (Blog 13:10, Forum 08:10 and 09:10); previous: 1 positive.
    assert kpis["net_sentiment"] == str((1 - 3) / 5)
    assert kpis["negative_share"] == str(3 / 5)
    assert kpis["net_sentiment_previous"] == "1.0"
    assert kpis["negative_share_previous"] == "0.0"  # known: none of the scored ones was negative
    metrics = rows(folder / "metrics.csv")
    assert sum(int(row["negative"] or 0) for row in metrics) == 2  # the 08:10 one is in a "no data" bucket
    mentions = rows(folder / "mentions.csv")
    assert [row["sentiment_label"] for row in mentions].count("negative") == 3


def test_nothing_scored_leaves_the_kpis_empty(setup: tuple[Path, Path], tmp_path: Path) -> None:
    window = ["--since", "2024-03-20T00:00", "--until", "2024-03-21T00:00"]
    assert export(setup, "--what", "all", "-o", str(tmp_path / "out"), *window) == 0
    (folder,) = (tmp_path / "out").glob("snapshot-*")
    (kpis,) = rows(folder / "kpis.csv")
    for column in ("net_sentiment", "net_sentiment_previous", "negative_share", "negative_share_previous"):
        assert kpis[column] == "", column
    assert all(row["positive"] == "" for row in rows(folder / "metrics.csv"))


def test_the_command_in_a_subprocess(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, database = setup
    target = tmp_path / "mentions.csv"
    command = [sys.executable, "-m", "dashboard", "export", "--config", str(config), "--db", str(database)]
    done = subprocess.run(
        [*command, "--what", "mentions", "-o", str(target), *WINDOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = target.read_bytes().split(b"\r\n")
    assert lines[0].endswith(b",handled,language,sentiment,sentiment_label")
    assert any(line.endswith(b",false,de,,") for line in lines)
    assert any(line.endswith(b",false,en,-0.7,negative") for line in lines)
