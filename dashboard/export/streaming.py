"""The mentions table, streamed in bounded chunks, on two cores when the window is large.

Reading, keyword matching, formatting and CSV quoting of a million mentions cost about 13 s of CPU on
our machine, all of it CPU-bound Python/pandas work holding the GIL. For a large window the rows are
split into consecutive time slices (whole hours, ~SLICE_ROWS rows each, planned from the store's
hourly counts): this process renders the even slices while one spawned worker process renders the
odd ones, and the blocks are written in order. Slices are disjoint in `published_at` and each is read
oldest first, so the file is byte-for-byte what the serial path writes. Each slice is its own read
transaction (one consistent snapshot per slice rather than for the whole file).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from dashboard.analytics import spikes
from dashboard.analytics.windows import Window, epochs_of
from dashboard.database import Database
from dashboard.export.csvfile import Block, encode_chunk
from dashboard.export.tables import CHUNK_ROWS, MENTIONS, Selection, VoiceTally, mention_chunks
from dashboard.store.reader import StoreReader

PARALLEL_MIN_ROWS = 200_000  # below this, starting a worker process costs more than it saves
SLICE_ROWS = 50_000
_HOUR = 3600


@dataclass(frozen=True, slots=True)
class Slice:
    start: int  # epoch seconds, inclusive
    end: int  # exclusive
    rows: int  # expected (an upper bound when kinds are filtered)


@dataclass(frozen=True, slots=True)
class MentionPlan:
    rows: int  # expected rows (exact unless kinds are filtered)
    slices: tuple[Slice, ...]


def plan_slices(hourly: pd.DataFrame, window: Window, slice_rows: int = SLICE_ROWS) -> MentionPlan:
    """Cut the window at hour boundaries into slices of about `slice_rows` rows.

    `hourly` is [bucket_start, mentions] per UTC hour (analytics.spikes.hourly_counts, summed over the
    selected sources). A single hour holding more than `slice_rows` is one slice of its own.
    """
    total = int(hourly["mentions"].sum()) if len(hourly) else 0
    start, end = window.start_epoch, window.end_epoch
    if total == 0:
        return MentionPlan(0, (Slice(start, end, 0),))
    per_hour = (
        pd.DataFrame(
            {
                "hour": epochs_of(hourly["bucket_start"]),
                "mentions": hourly["mentions"].to_numpy(dtype=np.int64),
            }
        )
        .groupby("hour", sort=True)["mentions"]
        .sum()
    )
    hours = per_hour.index.to_numpy(dtype=np.int64)
    counts = per_hour.to_numpy(dtype=np.int64)
    slices: list[Slice] = []
    slice_start, in_slice = start, 0
    for hour, count in zip(hours.tolist(), counts.tolist(), strict=True):
        boundary = max(hour, start)
        if in_slice and in_slice + count > slice_rows and boundary > slice_start:
            slices.append(Slice(slice_start, boundary, in_slice))
            slice_start, in_slice = boundary, 0
        in_slice += count
    slices.append(Slice(slice_start, end, in_slice))
    return MentionPlan(total, tuple(slices))


def plan_mentions(reader: StoreReader, selection: Selection, slice_rows: int = SLICE_ROWS) -> MentionPlan:
    window = selection.window
    hourly = spikes.hourly_counts(reader, window.start, window.end)
    if selection.sources is not None:
        hourly = hourly[hourly["source"].isin(selection.sources)]
    return plan_slices(hourly, window, slice_rows)


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _slice_selection(selection: Selection, piece: Slice) -> Selection:
    window = Window(_moment(piece.start), _moment(piece.end), selection.window.label, selection.window.bucket)
    return replace(selection, window=window)


def serial_blocks(
    reader: StoreReader,
    selection: Selection,
    *,
    chunk_size: int = CHUNK_ROWS,
    tally: VoiceTally | None = None,
) -> Iterator[Block]:
    """The mentions file body, chunk by chunk, in this process; `tally` counts voices on the way."""
    for chunk in mention_chunks(reader, selection, chunk_size=chunk_size):
        if tally is not None:
            tally.add(chunk)
        yield encode_chunk(chunk, MENTIONS)


# -- the worker process ----------------------------------------------------------------------------

_worker_readers: dict[str, StoreReader] = {}


@dataclass(frozen=True, slots=True)
class _SliceTask:
    database: str
    selection: Selection
    chunk_size: int
    tally_voices: bool


def _render_slice(task: _SliceTask) -> tuple[Block, pd.DataFrame | None]:
    """In the worker: the whole slice as one encoded block, and its voice tally when asked for.

    The worker's reader is opened once and kept for the next slices.
    """
    reader = _worker_readers.get(task.database)
    if reader is None:
        reader = _worker_readers[task.database] = StoreReader.open(task.database)
    tally = VoiceTally() if task.tally_voices else None
    rows, parts = 0, []
    for count, data in serial_blocks(reader, task.selection, chunk_size=task.chunk_size, tally=tally):
        rows += count
        parts.append(data)
    return (rows, b"".join(parts)), (tally.partial() if tally is not None else None)


def parallel_blocks(
    reader: StoreReader,
    database: Database,
    selection: Selection,
    plan: MentionPlan,
    *,
    chunk_size: int = CHUNK_ROWS,
    tally: VoiceTally | None = None,
) -> Iterator[Block]:
    """Even slices rendered here, odd ones in a worker process, yielded in file order."""
    context = multiprocessing.get_context("spawn")  # safe from a threaded app, unlike fork
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        slices = plan.slices
        for index in range(0, len(slices), 2):
            pending: Future[tuple[Block, pd.DataFrame | None]] | None = None
            if index + 1 < len(slices):
                task = _SliceTask(
                    str(database),
                    _slice_selection(selection, slices[index + 1]),
                    chunk_size,
                    tally_voices=tally is not None,
                )
                pending = pool.submit(_render_slice, task)
            try:
                yield from serial_blocks(
                    reader, _slice_selection(selection, slices[index]), chunk_size=chunk_size, tally=tally
                )
                if pending is not None:
                    block, voices = pending.result()
                    if tally is not None and voices is not None:
                        tally.add_partial(voices)
                    yield block
            finally:
                if pending is not None:
                    pending.cancel()


def mention_blocks(
    reader: StoreReader,
    selection: Selection,
    *,
    database: Database | None = None,
    parallel: bool = True,
    plan: MentionPlan | None = None,
    chunk_size: int = CHUNK_ROWS,
    tally: VoiceTally | None = None,
) -> Iterator[Block]:
    """The mentions file body: on two cores when `database` is given and the window is large.

    `tally`, when given, counts the voices of every row on the way (the snapshot's single pass).
    """
    if database is not None and parallel:
        plan = plan or plan_mentions(reader, selection)
        if plan.rows >= PARALLEL_MIN_ROWS and len(plan.slices) >= 2:
            yield from parallel_blocks(reader, database, selection, plan, chunk_size=chunk_size, tally=tally)
            return
    yield from serial_blocks(reader, selection, chunk_size=chunk_size, tally=tally)
