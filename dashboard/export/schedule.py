"""Scheduled snapshots: one `all` snapshot every `[export] every` while the dashboard or `poll` runs,
keeping the newest `[export] keep` snapshot folders.

The schedule survives restarts: the next snapshot is due `every` after the newest snapshot folder
(its name carries its time), or at once when that is overdue, so a dashboard restarted every
40 minutes still snapshots hourly. Rotation deletes only folders named like snapshots
(`snapshot-YYYYmmddTHHMMSSZ`, optionally `-N`), never anything else in the folder.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.analytics.windows import Window
from dashboard.clock import utc_now
from dashboard.config import Config
from dashboard.database import Database
from dashboard.durations import EXPORT_SPAN
from dashboard.export.csvfile import ExportError
from dashboard.export.snapshot import SNAPSHOT_NAME, is_snapshot_folder, write_snapshot
from dashboard.store.db import StoreError
from dashboard.store.reader import StoreReader

DEFAULT_SPAN = EXPORT_SPAN  # the window each scheduled snapshot covers


def _sort_key(folder: Path) -> tuple[str, int]:
    match = SNAPSHOT_NAME.match(folder.name)
    assert match is not None  # only called on snapshot folders
    return match.group(1), int(match.group(2) or 1)


def snapshot_folders(directory: Path) -> list[Path]:
    """The snapshot folders in `directory`, oldest first."""
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    return sorted((entry for entry in entries if is_snapshot_folder(entry)), key=_sort_key)


def rotate_snapshots(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest snapshot folders so that the newest `keep` remain; returns the deleted ones."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    folders = snapshot_folders(directory)
    doomed = folders[: max(0, len(folders) - keep)]
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


def snapshot_time(folder: Path) -> datetime | None:
    match = SNAPSHOT_NAME.match(folder.name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def next_due(directory: Path, every: float, now: datetime) -> datetime:
    """When the next scheduled snapshot is due: `every` after the newest one, at the latest now."""
    folders = snapshot_folders(directory)
    newest = snapshot_time(folders[-1]) if folders else None
    if newest is None or newest > now:  # none yet, or one stamped in the future: don't wait on it
        return now
    return max(now, newest + timedelta(seconds=every))


def take_snapshot(
    config: Config,
    database: Database,
    *,
    now: datetime,
    window: Window | None = None,
    rotate: bool = False,
) -> Path:
    """Open the store read-only and write one snapshot into the configured export folder.

    `window` defaults to the last DEFAULT_SPAN before `now`; `rotate` then deletes the oldest
    snapshots beyond `[export] keep`. Blocking: run it in a thread (the scheduler and the UI do).
    Raises ExportError (disk) or StoreError (no store yet).
    """
    directory = config.export.directory
    with StoreReader.open(database) as reader:
        folder = write_snapshot(
            reader, window or Window.last(DEFAULT_SPAN, now), directory, config, now=now, database=database
        )
    if rotate:
        rotate_snapshots(directory, config.export.keep)
    return folder


async def run_scheduled_snapshots(
    config: Config,
    database: Database,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = utc_now,
    span: str = DEFAULT_SPAN,
    on_snapshot: Callable[[Path], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> None:
    """Take a snapshot every `config.export.every` seconds until `stop` is set.

    Returns at once when `every` is not configured. A failed snapshot (disk full, store locked) is
    reported through `on_error` and the schedule goes on; it never stops the poller or the app.
    Snapshots are written in a worker thread, so the event loop stays responsive.
    """
    every = config.export.every
    if every is None:
        return
    directory = config.export.directory
    while not stop.is_set():
        now = clock()
        due = next_due(directory, every, now)
        wait = max(0.0, (due - now).total_seconds())
        if wait > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
        try:
            moment = clock()
            folder = await asyncio.to_thread(
                take_snapshot, config, database, now=moment, window=Window.last(span, moment), rotate=True
            )
        except (ExportError, StoreError, OSError) as error:
            if on_error is not None:
                on_error(f"scheduled snapshot failed: {error}")
            # Do not retry in a tight loop: wait a whole period before the next attempt.
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
                return
            except TimeoutError:
                continue
        if on_snapshot is not None:
            on_snapshot(folder)
