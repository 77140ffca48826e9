"""A snapshot: every table of one window in one folder, with a manifest that says where it came from.

    snapshot-20260331T120000Z/
        mentions.csv  metrics.csv  voices.csv  sources.csv  kpis.csv  posts.csv  reactions.csv
        manifest.json

The folder is assembled under a hidden temporary name in the same parent and renamed into place
only when every file is written and fsynced, so a crash never leaves a half snapshot under a name
that rotation (or a user) would take for a complete one. A folder left behind by a killed process
is swept up by the next snapshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard import __version__
from dashboard.analytics.windows import Window
from dashboard.config import Config
from dashboard.database import Database, absolute, display_name
from dashboard.export.csvfile import (
    CsvOptions,
    ExportError,
    Progress,
    TableSpec,
    Written,
    atomic_output,
    describe_os_error,
    encode_chunks,
    fsync_directory,
    process_alive,
    write_blocks_to,
)
from dashboard.export.streaming import mention_blocks, plan_mentions
from dashboard.export.tables import (
    KPIS,
    MENTIONS,
    METRICS,
    POSTS,
    REACTIONS,
    SOURCES,
    VOICES,
    Selection,
    VoiceTally,
    first_seen_of_voices,
    kpis_row,
    metrics_rows,
    posts_rows,
    reactions_rows,
    sources_table,
)
from dashboard.store.reader import StoreReader
from dashboard.text import escape_unsafe, redact_credentials

SNAPSHOT_PREFIX = "snapshot-"
# snapshot-YYYYmmddTHHMMSSZ, with "-2", "-3"... when two are taken within the same second.
SNAPSHOT_NAME = re.compile(r"^snapshot-(\d{8}T\d{6}Z)(?:-(\d+))?$")
_PENDING_NAME = re.compile(r"^\.(snapshot-\d{8}T\d{6}Z(?:-\d+)?)\.(\d+)\.part$")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def snapshot_stem(moment: datetime) -> str:
    return f"{SNAPSHOT_PREFIX}{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def is_snapshot_folder(path: Path) -> bool:
    """A folder whose name this module gives snapshots (the only ones rotation may delete)."""
    return SNAPSHOT_NAME.match(path.name) is not None and path.is_dir() and not path.is_symlink()


def _free_name(directory: Path, stem: str) -> str:
    name, number = stem, 1
    while (directory / name).exists() or any(directory.glob(f".{name}.*.part")):
        number += 1
        name = f"{stem}-{number}"
    return name


def sweep_pending(directory: Path) -> list[Path]:
    """Remove half-written snapshot folders whose writing process is gone."""
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PENDING_NAME.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _FileRecord:
    spec: TableSpec
    written: Written

    def manifest(self) -> dict[str, Any]:
        return {
            "name": self.spec.file_name,
            "table": self.spec.name,
            "rows": self.written.rows,
            "bytes": self.written.size,
            "sha256": self.written.sha256,
            "columns": self.spec.names,
        }


def write_snapshot(
    reader: StoreReader,
    window: Window,
    directory: Path,
    config: Config,
    *,
    now: datetime,
    sources: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    database: Database | None = None,
    excel: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write a complete snapshot folder of `window` under `directory` and return its path.

    `database` (the store's file) lets a large mentions table be rendered on two cores; `progress`
    reports the mentions rows. Raises ExportError when the disk refuses (nothing is left behind).
    """
    selection = Selection(
        window,
        sources=tuple(sources) if sources is not None else None,
        kinds=tuple(kinds) if kinds is not None else None,
        keywords=config.settings.keywords,
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        sweep_pending(directory)
        name = _free_name(directory, snapshot_stem(now))
        pending = directory / f".{name}.{os.getpid()}.part"
        pending.mkdir()
    except OSError as error:
        raise ExportError(describe_os_error(error, directory)) from error
    try:
        records = _write_tables(
            reader, selection, pending, now=now, database=database, excel=excel, progress=progress
        )
        manifest = _manifest(config, selection, now=now, database=database, excel=excel, records=records)
        with atomic_output(pending / MANIFEST) as sink:
            # backslashreplace: a lone surrogate (a path that is not UTF-8) becomes a valid \\u escape.
            sink.write(manifest_text(manifest).encode("utf-8", "backslashreplace"))
        final = directory / name
        os.rename(pending, final)
        fsync_directory(directory)
        return final
    except OSError as error:
        raise ExportError(describe_os_error(error, directory / name)) from error
    finally:
        if pending.exists():
            shutil.rmtree(pending, ignore_errors=True)


def _write_tables(
    reader: StoreReader,
    selection: Selection,
    folder: Path,
    *,
    now: datetime,
    database: Database | None,
    excel: bool,
    progress: Progress | None,
) -> list[_FileRecord]:
    options = CsvOptions(excel=excel)
    tally = VoiceTally()
    plan = plan_mentions(reader, selection) if database is not None else None
    if progress is not None and plan is not None and selection.kinds is None:
        progress.total = plan.rows
    mentions = write_blocks_to(
        folder / MENTIONS.file_name,
        MENTIONS,
        mention_blocks(reader, selection, database=database, plan=plan, tally=tally),
        options=options,
        progress=progress,
    )
    records = [_FileRecord(MENTIONS, mentions)]
    voices = tally.table(first_seen_of_voices(reader, selection.window), selection.window)
    if selection.sources is not None:
        voices = voices[voices["source"].isin(selection.sources)]
    tables = (
        (METRICS, metrics_rows(reader, selection)),
        (VOICES, voices),
        (SOURCES, sources_table(reader, selection)),
        (KPIS, kpis_row(reader, selection, now=now)),
        (POSTS, posts_rows(reader, selection)),
        (REACTIONS, reactions_rows(reader, selection)),
    )
    for spec, frame in tables:
        written = write_blocks_to(
            folder / spec.file_name, spec, encode_chunks([frame], spec), options=options
        )
        records.append(_FileRecord(spec, written))
    return records


def _manifest(
    config: Config,
    selection: Selection,
    *,
    now: datetime,
    database: Database | None,
    excel: bool,
    records: list[_FileRecord],
) -> dict[str, Any]:
    window = selection.window
    return {
        "format": MANIFEST_FORMAT,
        "tool": "community-dashboard",
        "version": __version__,
        "created_at": _iso(now),
        "window": {
            "start": _iso(window.start),
            "end": _iso(window.end),
            "label": window.label,
            "bucket": "hour" if window.bucket == "h" else "day",
        },
        "filters": {
            "sources": list(selection.sources) if selection.sources is not None else None,
            "kinds": list(selection.kinds) if selection.kinds is not None else None,
            "keywords": list(selection.keywords),
        },
        "config": {"path": str(config.path), "sha256": config.digest},
        "database": None if database is None else display_name(absolute(database)),
        "encoding": "utf-8-sig" if excel else "utf-8",
        "row_counts": {record.spec.name: record.written.rows for record in records},
        "files": [record.manifest() for record in records],
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as JSON that is safe to `cat`: characters that act on a terminal are written as
    \\u escapes (lossless: a JSON reader gets them back) and URL credentials as `***@`."""
    return escape_unsafe(redact_credentials(json.dumps(manifest, indent=2, ensure_ascii=False))) + "\n"


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a snapshot folder (for tests and tools)."""
    data: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return data
