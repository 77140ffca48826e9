"""metrics.csv: time never observed is "no data", never 0.

A source whose polling started in the middle of the window has no data for the hours before its
first attempt (metrics.csv used to say 0 mentions there, as if the tool had watched), nor for hours
whose attempts all failed; after a successful attempt, an hour without mentions is a true 0.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics import health
from dashboard.analytics.windows import Window
from dashboard.cli import main
from dashboard.export.tables import METRICS, Selection, metrics_rows
from tests.analytics_data import NOW, StoreBuilder, at

DAY = Window.last("24h", NOW)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """ "Late": first attempt at 06:30 (6 h before NOW), ok; failing at 08:30; ok again from 09:30.
    One mention at 07:10, one backfilled at 02:00 (before the first attempt). "Old hand": polled all day."""
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Late", "feed", last_attempt_at=at(-0.5), next_poll_at=at(0.5))
    builder.source("Old hand", "feed", last_attempt_at=at(-0.5), next_poll_at=at(0.5))
    builder.poll("Late", at(-5.5))  # 06:30
    builder.poll("Late", at(-3.5), "failing", http_status=503)  # 08:30
    builder.polls("Late", at(-2.5), NOW, timedelta(hours=1))  # 09:30, 10:30, 11:30
    builder.polls("Old hand", at(-0.5, days=-2), NOW, timedelta(hours=1))
    builder.mention("Late", at(-4.8), author="ann")  # 07:12
    builder.mention("Late", at(-10), author="bo")  # 02:00, collected by the 06:30 poll
    builder.connection.commit()
    builder.close()
    return tmp_path / "store.db"


def by_hour(frame: pd.DataFrame, source: str) -> dict[int, tuple[str, object]]:
    rows = frame[frame["source"] == source]
    return {
        stamp.hour: (status, None if pd.isna(count) else int(count))
        for stamp, status, count in zip(rows["bucket_start"], rows["status"], rows["mentions"], strict=True)
    }


def expected_late() -> dict[int, tuple[str, object]]:
    hours: dict[int, tuple[str, object]] = {}
    for hour in [*range(12, 24), *range(6)]:  # 30 Mar 12:00 .. 31 Mar 05:00: never observed
        hours[hour] = ("no data", None)
    hours[6] = ("ok", 0)  # the first attempt
    hours[7] = ("ok", 1)  # ann's mention; carried ok
    hours[8] = ("no data", None)  # only a failed attempt
    for hour in (9, 10, 11):
        hours[hour] = ("ok", 0)
    return hours


def test_hours_before_the_first_attempt_are_no_data_in_metrics_rows(store: Path) -> None:
    builder = StoreBuilder(store)
    try:
        frame = metrics_rows(builder.reader(), Selection(DAY))
    finally:
        builder.close()
    assert by_hour(frame, "Late") == expected_late()
    assert set(by_hour(frame, "Old hand").values()) == {("ok", 0)}


def test_metrics_csv_through_the_export_command(store: Path, tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[[feeds]]\nname = "Late"\nurl = "https://late.example/feed.xml"\n', encoding="utf-8")
    target = tmp_path / "metrics.csv"
    argv = ["export", "--config", str(config), "--db", str(store), "--what", "metrics", "-o", str(target)]
    assert main([*argv, "--since", "2024-03-30T12:00", "--until", "2024-03-31T12:00"]) == 0
    back = pd.read_csv(target, **METRICS.read_csv_options())
    assert by_hour(back, "Late") == expected_late()
    lines = target.read_text(encoding="utf-8").splitlines()
    assert "2024-03-30T12:00:00Z,2024-03-30T13:00:00Z,Late,,,,,no data,,," in lines


def test_a_snapshot_metrics_file_agrees(store: Path, tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[[feeds]]\nname = "Late"\nurl = "https://late.example/feed.xml"\n', encoding="utf-8")
    argv = ["export", "--config", str(config), "--db", str(store), "-o", str(tmp_path / "out")]
    assert main([*argv, "--since", "2024-03-30T12:00", "--until", "2024-03-31T12:00"]) == 0
    (folder,) = (tmp_path / "out").iterdir()
    back = pd.read_csv(folder / "metrics.csv", **METRICS.read_csv_options())
    assert by_hour(back, "Late") == expected_late()


def test_the_grid_keeps_its_default_reading_unless_asked(store: Path) -> None:
    builder = StoreBuilder(store)
    try:
        reader = builder.reader()
        attempts = health.attempt_summary(reader, DAY.start, DAY.end, DAY.bucket_seconds)
        carried = health.last_polls_before(reader, DAY.start)
        default = health.bucket_status(attempts, carried, ["Late"], DAY)
        strict = health.bucket_status(attempts, carried, ["Late"], DAY, before_first_attempt=health.NO_DATA)
    finally:
        builder.close()
    assert default["Late"].iloc[0] == health.OK
    assert strict["Late"].iloc[0] == health.NO_DATA
    assert (strict["Late"].iloc[-3:] == health.OK).all()
    with pytest.raises(ValueError, match="before_first_attempt"):
        health.bucket_status(attempts, carried, ["Late"], DAY, before_first_attempt="maybe")
