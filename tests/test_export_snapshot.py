"""Snapshot folders (`export --what all`), their manifest, scheduled snapshots and rotation."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics.windows import Window
from dashboard.config import Config, ExportSettings, Settings
from dashboard.export.csvfile import ExportError
from dashboard.export.schedule import (
    next_due,
    rotate_snapshots,
    run_scheduled_snapshots,
    snapshot_folders,
    take_snapshot,
)
from dashboard.export.snapshot import read_manifest, sweep_pending, write_snapshot
from dashboard.export.tables import MENTIONS, METRICS, TABLES
from tests.analytics_data import KEYWORDS, NOW, StoreBuilder, build_scenario

DAY = Window.last("24h", NOW)
FILES = [
    "kpis.csv",
    "manifest.json",
    "mentions.csv",
    "metrics.csv",
    "posts.csv",
    "reactions.csv",
    "sources.csv",
    "voices.csv",
]


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[StoreBuilder]:
    builder = build_scenario(tmp_path / "scenario.db")
    builder.connection.commit()
    yield builder
    builder.close()


def config_for(tmp_path: Path, *, every: float | None = None, keep: int = 3) -> Config:
    return Config(
        path=tmp_path / "feeds.toml",
        settings=Settings(keywords=KEYWORDS),
        export=ExportSettings(dir=tmp_path / "exports", every=every, keep=keep),
        digest="d" * 64,
    )


def test_snapshot_folder_has_every_table_and_a_manifest(scenario: StoreBuilder, tmp_path: Path) -> None:
    config = config_for(tmp_path)
    folder = write_snapshot(scenario.reader(), DAY, tmp_path / "out", config, now=NOW)
    assert folder == tmp_path / "out" / "snapshot-20240331T120000Z"
    assert sorted(path.name for path in folder.iterdir()) == FILES
    assert [path.name for path in (tmp_path / "out").iterdir()] == [folder.name]  # nothing half-made
    manifest = read_manifest(folder)
    assert manifest["created_at"] == "2024-03-31T12:00:00Z"
    assert manifest["window"] == {
        "start": "2024-03-30T12:00:00Z",
        "end": "2024-03-31T12:00:00Z",
        "label": "24 h",
        "bucket": "hour",
    }
    assert manifest["config"] == {"path": str(config.path), "sha256": config.digest}
    assert manifest["row_counts"] == {
        "mentions": 10,
        "metrics": 96,
        "voices": 8,
        "sources": 5,
        "kpis": 1,
        "posts": 0,
        "reactions": 0,
    }
    assert manifest["filters"]["keywords"] == list(KEYWORDS)
    assert manifest["version"]
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        spec = TABLES[entry["table"]]
        back = pd.read_csv(folder / entry["name"], **spec.read_csv_options())
        assert list(back.columns) == entry["columns"] == spec.names
        assert len(back) == entry["rows"]
    metrics = pd.read_csv(folder / "metrics.csv", **METRICS.read_csv_options())
    # Mastodon 2, Reddit 3, and the 24 hours of Fresh, which was never polled.
    assert (metrics["status"] == "no data").sum() == 5 + 24


def test_snapshot_voices_match_the_mentions_in_it(scenario: StoreBuilder, tmp_path: Path) -> None:
    folder = write_snapshot(
        scenario.reader(), DAY, tmp_path / "out", config_for(tmp_path), now=NOW, sources=["Mastodon"]
    )
    mentions = pd.read_csv(folder / "mentions.csv", **MENTIONS.read_csv_options())
    voices = pd.read_csv(folder / "voices.csv", **TABLES["voices"].read_csv_options())
    assert set(mentions["source"]) == {"Mastodon"} == set(voices["source"])
    assert voices["mentions"].sum() == len(mentions[mentions["author"] != ""])
    assert read_manifest(folder)["filters"]["sources"] == ["Mastodon"]


def test_two_snapshots_in_the_same_second_both_survive(scenario: StoreBuilder, tmp_path: Path) -> None:
    reader, config = scenario.reader(), config_for(tmp_path)
    first = write_snapshot(reader, DAY, tmp_path / "out", config, now=NOW)
    second = write_snapshot(reader, DAY, tmp_path / "out", config, now=NOW)
    assert (first.name, second.name) == ("snapshot-20240331T120000Z", "snapshot-20240331T120000Z-2")


def test_a_failed_snapshot_leaves_nothing(scenario: StoreBuilder, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep-me.txt").write_text("mine", encoding="utf-8")
    scenario.connection.execute("DROP TABLE engagement_history")  # kpis need it: fails after mentions.csv
    with pytest.raises(Exception, match="engagement_history"):
        write_snapshot(scenario.reader(), DAY, tmp_path / "out", config_for(tmp_path), now=NOW)
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["keep-me.txt"]


def test_an_unwritable_export_folder_is_an_export_error(scenario: StoreBuilder, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        write_snapshot(scenario.reader(), DAY, tmp_path / "file" / "sub", config_for(tmp_path), now=NOW)


KILLED_SNAPSHOT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tests.test_export_snapshot import DAY, NOW, config_for
    from dashboard.export import snapshot
    from dashboard.store.reader import StoreReader

    real = snapshot._manifest
    def stop_here(*args, **kwargs):  # every table is written; kill before the folder is renamed
        print("tables written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    snapshot._manifest = stop_here
    with StoreReader.open(sys.argv[1]) as reader:
        snapshot.write_snapshot(reader, DAY, Path(sys.argv[2]), config_for(Path(sys.argv[2])), now=NOW)
    """
)


def test_a_killed_snapshot_is_never_taken_for_a_complete_one(scenario: StoreBuilder, tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = KILLED_SNAPSHOT.format(root=str(Path(__file__).parent.parent))
    result = subprocess.run(
        [sys.executable, "-c", script, str(scenario.path), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "tables written" in result.stdout
    pending = list(out.iterdir())
    assert len(pending) == 1
    assert pending[0].name.startswith(".snapshot-")
    assert pending[0].name.endswith(".part")
    assert (pending[0] / "mentions.csv").exists()
    assert snapshot_folders(out) == []  # rotation never counts (or deletes) it as a snapshot
    assert sweep_pending(out) == pending
    assert list(out.iterdir()) == []


# -- rotation and schedule -----------------------------------------------------------------------


def make_snapshots(directory: Path, count: int) -> list[Path]:
    made = []
    for index in range(count):
        folder = directory / f"snapshot-2024033{1 if index > 8 else 0}T{index % 24:02d}0000Z"
        folder.mkdir(parents=True)
        (folder / "mentions.csv").write_text("x", encoding="utf-8")
        made.append(folder)
    return made


def test_rotation_keeps_the_newest_and_touches_nothing_else(tmp_path: Path) -> None:
    made = make_snapshots(tmp_path, 6)
    same_second = tmp_path / f"{made[-1].name}-2"
    same_second.mkdir()
    others = [
        tmp_path / "snapshot-notes",
        tmp_path / "snapshot-20240330T000000Z.csv",
        tmp_path / "my-snapshot-20240301T000000Z",
        tmp_path / ".snapshot-20240301T000000Z.1.part",
    ]
    for other in others:
        other.mkdir() if not other.suffix else other.write_text("mine", encoding="utf-8")
    (tmp_path / "link").symlink_to(made[0])
    (tmp_path / "snapshot-20200101T000000Z").symlink_to(tmp_path / "snapshot-notes")

    removed = rotate_snapshots(tmp_path, 3)
    assert removed == made[:4]
    assert snapshot_folders(tmp_path) == [made[4], made[5], same_second]
    assert all(other.exists() for other in others)
    assert (tmp_path / "snapshot-20200101T000000Z").is_symlink()
    assert rotate_snapshots(tmp_path, 3) == []


def test_next_snapshot_is_due_every_period_after_the_newest(tmp_path: Path) -> None:
    assert next_due(tmp_path, 3600, NOW) == NOW  # none yet: at once
    (tmp_path / "snapshot-20240331T113000Z").mkdir()
    assert next_due(tmp_path, 3600, NOW) == datetime(2024, 3, 31, 12, 30, tzinfo=UTC)
    assert next_due(tmp_path, 600, NOW) == NOW  # overdue
    (tmp_path / "snapshot-20990101T000000Z").mkdir()  # from a clock in the future: ignored
    assert next_due(tmp_path, 3600, NOW) == NOW


class FakeClock:
    """Moves one minute forward each time it is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


async def test_scheduled_snapshots_rotate_while_running(scenario: StoreBuilder, tmp_path: Path) -> None:
    config = config_for(tmp_path, every=0.05, keep=2)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "notes.txt").write_text("mine", encoding="utf-8")
    stop = asyncio.Event()
    taken: list[Path] = []

    def on_snapshot(folder: Path) -> None:
        taken.append(folder)
        if len(taken) == 4:
            stop.set()

    await asyncio.wait_for(
        run_scheduled_snapshots(config, scenario.path, stop, clock=FakeClock(NOW), on_snapshot=on_snapshot),
        timeout=60,
    )
    assert len(taken) == 4
    assert len({folder.name for folder in taken}) == 4
    assert snapshot_folders(tmp_path / "exports") == taken[-2:]
    assert (tmp_path / "exports" / "notes.txt").read_text(encoding="utf-8") == "mine"
    manifest = read_manifest(taken[-1])
    assert manifest["window"]["label"] == "7 d"
    assert manifest["row_counts"]["mentions"] > 0


async def test_a_failing_schedule_reports_and_goes_on(tmp_path: Path) -> None:
    config = config_for(tmp_path, every=0.05)
    stop = asyncio.Event()
    errors: list[str] = []

    def on_error(message: str) -> None:
        errors.append(message)
        if len(errors) == 2:
            stop.set()

    missing = tmp_path / "no-such.db"
    await asyncio.wait_for(
        run_scheduled_snapshots(config, missing, stop, clock=FakeClock(NOW), on_error=on_error), timeout=30
    )
    assert len(errors) == 2
    assert "no database" in errors[0]
    assert not missing.exists()  # a read-only snapshot never creates the store


async def test_no_schedule_without_every(tmp_path: Path) -> None:
    await asyncio.wait_for(
        run_scheduled_snapshots(config_for(tmp_path), tmp_path / "x.db", asyncio.Event()), 1
    )
    assert not (tmp_path / "exports").exists()


async def test_stopping_interrupts_the_wait(scenario: StoreBuilder, tmp_path: Path) -> None:
    config = replace(
        config_for(tmp_path), export=ExportSettings(dir=tmp_path / "exports", every=3600, keep=3)
    )
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "snapshot-20240331T115900Z").mkdir()
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduled_snapshots(config, scenario.path, stop, clock=lambda: NOW))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert len(os.listdir(tmp_path / "exports")) == 1


def test_a_manual_snapshot_keeps_the_others_a_scheduled_one_rotates(
    scenario: StoreBuilder, tmp_path: Path
) -> None:
    config = config_for(tmp_path, keep=1)
    older = make_snapshots(tmp_path / "exports", 2)
    manual = take_snapshot(config, scenario.path, now=NOW, window=DAY)
    assert snapshot_folders(tmp_path / "exports") == [*older, manual]
    assert read_manifest(manual)["window"]["label"] == "24 h"
    scheduled = take_snapshot(config, scenario.path, now=NOW + timedelta(hours=1), rotate=True)
    assert snapshot_folders(tmp_path / "exports") == [scheduled]
    assert read_manifest(scheduled)["window"]["label"] == "7 d"
