"""CSV files that are safe to open in a spreadsheet and never half-written.

Four promises, each cheap enough for a million rows:

- Terminal-safe and credential-free: control characters and escape sequences are dropped from text
  cells (tab and newline kept), and a URL's `user:password@` becomes `***@`.
- Spreadsheet-safe: a text cell that begins with `=`, `+`, `-`, `@`, tab, CR or LF gets a leading `'`
  (OWASP's advice against formula injection), done column-wise on the DataFrame; numbers stay numbers.
- Plain conventions: UTF-8 (with a BOM for Excel on request), RFC 4180 quoting and CRLF line ends,
  ISO 8601 UTC timestamps with a `Z`, an empty cell for an unknown value (never 0).
- Atomic: the rows go to a temporary file in the destination folder, which is fsynced and then
  `os.replace`d over the final name. A crash, a kill or a full disk leaves the previous file (or
  none), never a truncated one; the temporary file is removed on error, and a later write sweeps up
  the one a killed process left behind.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import operator
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
import pandas as pd

from dashboard.text import cell_safe, has_credentials, has_unsafe, redact_credentials

BOM = "\ufeff"
LINE_END = "\r\n"  # RFC 4180
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_TEMP_SUFFIX = ".part"


class ExportError(Exception):
    """An export could not be written (disk full, permission denied...). `str()` is the user's message."""


class ColumnKind(StrEnum):
    TEXT = "text"  # neutralised against formula injection
    INTEGER = "integer"  # whole number; empty when unknown
    NUMBER = "number"  # decimal number; empty when unknown
    TIMESTAMP = "timestamp"  # ISO 8601 UTC, e.g. 2026-03-31T12:00:00Z; empty when unknown
    BOOLEAN = "boolean"  # true / false


# How to read each kind back with pandas.read_csv (see TableSpec.read_csv_options).
_READ_DTYPES: dict[ColumnKind, str] = {
    ColumnKind.TEXT: "str",
    ColumnKind.INTEGER: "Int64",
    ColumnKind.NUMBER: "float64",
    ColumnKind.TIMESTAMP: "str",
    ColumnKind.BOOLEAN: "boolean",
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnKind
    doc: str


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported file: its name, its columns in order, and what a row means."""

    name: str  # file stem: "mentions" -> mentions.csv
    row: str  # what one row is, for the documentation
    columns: tuple[Column, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def of_kind(self, kind: ColumnKind) -> list[str]:
        return [column.name for column in self.columns if column.kind == kind]

    def read_csv_options(self) -> dict[str, Any]:
        """Keyword arguments for `pandas.read_csv` that read the file back with the documented dtypes.

        Text stays text (an empty cell reads as ""), counts read as nullable Int64 (an empty cell is
        <NA>), timestamps are parsed as UTC datetimes.
        """
        return {
            "dtype": {column.name: _READ_DTYPES[column.kind] for column in self.columns},
            "keep_default_na": False,
            "na_values": {column.name: [""] for column in self.columns if column.kind != ColumnKind.TEXT},
            "parse_dates": self.of_kind(ColumnKind.TIMESTAMP),
            "date_format": "ISO8601",
            "encoding": "utf-8-sig",
        }


# --------------------------------------------------------------------------------------------------
# Preparing a DataFrame: column by column, each column in one pass of C-level code (no Python row loop)

_RISKY_FIRST = frozenset(FORMULA_STARTS)
_first_character = operator.itemgetter(slice(0, 1))


def _text_array(values: pd.Series) -> np.ndarray:
    """Text cells as an object array of str, missing -> ""."""
    text = values if values.dtype == "str" else values.astype("str")
    array: np.ndarray = text.to_numpy(dtype=object, na_value="")
    return array


def formula_risk(values: np.ndarray) -> np.ndarray:
    """True where a str cell begins with a character that makes a spreadsheet evaluate it."""
    return np.fromiter(
        map(_RISKY_FIRST.__contains__, map(_first_character, values)), dtype=bool, count=len(values)
    )


def strip_controls(array: np.ndarray) -> np.ndarray:
    """Cells without terminal controls: `cat file.csv` or `export -o -` must not let a stranger's title
    clear the screen, set the window title or write the clipboard. C0 controls except tab and newline
    (CR line ends become newlines), DEL, C1 controls and bidi overrides are dropped (text.cell_safe).

    One C-level scan of the whole column decides; only a column holding such a character is cleaned
    cell by cell, so the common clean column costs one join and one regex search.
    """
    if not len(array) or not has_unsafe("".join(array)):
        return array
    cleaned: np.ndarray = np.fromiter(map(cell_safe, array), dtype=object, count=len(array))
    return cleaned


def redact_cells(array: np.ndarray) -> np.ndarray:
    """Cells with the credentials of any URL in them replaced by `***@` (a feed URL such as
    `https://user:token@host/feed` is a source's target, the base of its mentions' links and part of
    its error messages); as in `strip_controls`, one scan of the column decides."""
    if not len(array) or not has_credentials("\n".join(array)):
        return array
    redacted: np.ndarray = np.fromiter(map(redact_credentials, array), dtype=object, count=len(array))
    return redacted


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Cells without control characters (`strip_controls`) or URL credentials (`redact_cells`), then
    a `'` before each cell that a spreadsheet would read as a formula (OWASP); missing -> ""."""
    array = redact_cells(strip_controls(_text_array(values)))
    risky = formula_risk(array)
    if risky.any():
        array = array.copy()
        array[risky] = "'" + array[risky]
    return pd.Series(array, index=values.index, dtype=object)


def _epoch_seconds(values: pd.Series) -> np.ndarray:
    """Datetimes (any unit, naive = UTC) or epoch numbers -> datetime64[s], NaT where missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        stamps: np.ndarray = values.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
        return stamps
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    missing = numbers.isna().to_numpy()
    stamps = numbers.fillna(0).to_numpy(dtype=np.float64).astype(np.int64).astype("datetime64[s]")
    stamps[missing] = np.datetime64("NaT")
    return stamps


@functools.cache
def _times_of_day() -> np.ndarray:
    """ "HH:MM:SSZ" for each second of a day (86,400 strings, built once)."""
    seconds = np.arange(86_400, dtype=np.int64).astype("datetime64[s]")
    return np.char.add(
        np.char.replace(np.datetime_as_string(seconds, unit="s"), "1970-01-01T", ""), "Z"
    ).astype(object)


def iso_timestamps(values: pd.Series) -> pd.Series:
    """ "2026-03-31T12:00:00Z" strings (UTC, whole seconds); missing -> "" (an empty cell).

    A million timestamps hold few distinct days: each day is formatted once and joined with the
    time of day from a table, several times faster than formatting every value.
    """
    stamps = _epoch_seconds(values)
    missing = np.isnat(stamps)
    epochs = np.where(missing, 0, stamps.astype(np.int64))
    days, time_of_day = np.divmod(epochs, 86_400)
    distinct, which = np.unique(days, return_inverse=True)
    dates = np.char.add(np.datetime_as_string(distinct.astype("datetime64[D]")), "T").astype(object)
    text = dates[which.reshape(-1)] + _times_of_day()[time_of_day]
    text[missing] = ""
    return pd.Series(text, index=values.index, dtype=object)


_SMALL_INTEGERS = np.arange(-1024, 65_536, dtype=np.int64)


@functools.cache
def _small_integer_text() -> np.ndarray:
    """str(n) for the counts that make up nearly every cell (-1024..65535), built once."""
    return _SMALL_INTEGERS.astype(str).astype(object)


def _integers(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").round().astype("Int64")
    missing = numbers.isna().to_numpy()
    plain = numbers.to_numpy(dtype=np.int64, na_value=0)
    small = (plain >= _SMALL_INTEGERS[0]) & (plain <= _SMALL_INTEGERS[-1])
    text = _small_integer_text()[np.where(small, plain - _SMALL_INTEGERS[0], 0)]
    if not small.all():
        text[~small] = plain[~small].astype(str).astype(object)
    text[missing] = ""
    return pd.Series(text, index=values.index, dtype=object)


def _numbers(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    text = numbers.astype(str).astype(object)
    text[~np.isfinite(numbers)] = ""
    return pd.Series(text, index=values.index, dtype=object)


def _booleans(values: pd.Series) -> pd.Series:
    flags = values.astype("boolean")
    text = np.where(flags.to_numpy(dtype=bool, na_value=False), "true", "false").astype(object)
    text[flags.isna().to_numpy()] = ""
    return pd.Series(text, index=values.index, dtype=object)


_FORMATTERS = {
    ColumnKind.TEXT: neutralise_formulas,
    ColumnKind.TIMESTAMP: iso_timestamps,
    ColumnKind.INTEGER: _integers,
    ColumnKind.NUMBER: _numbers,
    ColumnKind.BOOLEAN: _booleans,
}


def prepare(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The spec's columns in order, each as the exact text of its cells ("" for an empty cell):
    text neutralised against formulas, times in ISO 8601 UTC, numbers as plain decimal numbers."""
    return pd.DataFrame(
        {column.name: _FORMATTERS[column.kind](frame[column.name]) for column in spec.columns},
        index=frame.index,
    )


def header_line(spec: TableSpec) -> str:
    return ",".join(spec.names) + LINE_END


def _csv_writer(stream: IO[str]) -> Any:
    """RFC 4180: comma, double quote, quotes only where needed, embedded quotes doubled, CRLF."""
    return csv.writer(stream, lineterminator=LINE_END, quoting=csv.QUOTE_MINIMAL, doublequote=True)


Block = tuple[int, bytes]  # (rows, their encoded CSV lines)


def render(frame: pd.DataFrame, spec: TableSpec, *, header: bool = False) -> str:
    """CSV text of one chunk: `header` adds the header line."""
    buffer = io.StringIO()
    if header:
        buffer.write(header_line(spec))
    prepared = prepare(frame, spec)
    _csv_writer(buffer).writerows(zip(*(prepared[name].to_numpy() for name in spec.names), strict=True))
    return buffer.getvalue()


def encode_chunk(frame: pd.DataFrame, spec: TableSpec) -> Block:
    """One chunk's rows as UTF-8 bytes; invalid Unicode (a lone surrogate) becomes "?", so the file is always valid UTF-8."""
    return len(frame), render(frame, spec).encode("utf-8", "replace")


def encode_chunks(chunks: Iterable[pd.DataFrame], spec: TableSpec) -> Iterator[Block]:
    for chunk in chunks:
        if not chunk.empty:
            yield encode_chunk(chunk, spec)


# --------------------------------------------------------------------------------------------------
# Progress on stderr


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (never in a pipe or log)."""

    def __init__(
        self, label: str, total: int | None, *, stream: IO[str] | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._drawn_at = 0.0
        self._started = time.monotonic()

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if self.enabled and now - self._drawn_at >= 0.1:
            self._drawn_at = now
            self._draw()

    def finish(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        if self.total:
            fraction = min(1.0, self.done / self.total)
            filled = round(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            return f"{self.label} [{bar}] {fraction:4.0%} {self.done:,}/{self.total:,} rows {elapsed:5.1f}s"
        return f"{self.label} {self.done:,} rows {elapsed:5.1f}s"

    def _draw(self) -> None:
        self.stream.write("\r" + self.line())
        self.stream.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------------------------------
# Atomic files


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]+\.(\d+){re.escape(_TEMP_SUFFIX)}$")


def process_alive(pid: int) -> bool:
    """Whether a process with this id still exists (a temporary file's writer)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporary files for `path` left by a process that was killed; returns what was removed."""
    pattern = _temp_pattern(path.name)
    removed: list[Path] = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or process_alive(pid):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some systems cannot open a folder, which is fine."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def describe_os_error(error: OSError, path: Path) -> str:
    reason = error.strerror or str(error)
    return f"cannot write {path}: {reason}"


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears under `path` only once it is complete and on disk.

    The parent folder must exist: it is never created here, so a mistyped path fails instead of
    growing a tree of folders (a snapshot creates its configured folder itself). The file keeps the permissions of the one it replaces
    (else the usual 0666 minus umask). On any error the temporary file is removed and the previous
    file stays untouched; an OSError becomes an ExportError with a readable message.
    """
    path = Path(path)
    temporary: str | None = None
    try:
        if not path.parent.is_dir():
            raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
        sweep_stale_temporaries(path)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=f".{os.getpid()}{_TEMP_SUFFIX}"
        )
        os.fchmod(descriptor, _permissions_for(path))
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        temporary = None
        fsync_directory(path.parent)
    except OSError as error:
        raise ExportError(describe_os_error(error, path)) from error
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _permissions_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def write_text_atomically(path: Path, text: str) -> None:
    with atomic_output(path) as handle:
        handle.write(text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# Writing a table


@dataclass(frozen=True, slots=True)
class CsvOptions:
    excel: bool = False  # start with a UTF-8 byte order mark so Excel reads the file as UTF-8


@dataclass(frozen=True, slots=True)
class Written:
    """What one write produced: data rows, bytes and their SHA-256 (for a snapshot's manifest)."""

    rows: int
    size: int
    sha256: str


def write_blocks(
    sink: BinaryIO,
    spec: TableSpec,
    blocks: Iterable[Block],
    *,
    options: CsvOptions = CsvOptions(),
    progress: Progress | None = None,
) -> Written:
    """The header (even when there are no rows), then each block."""
    digest = hashlib.sha256()
    head = ((BOM if options.excel else "") + header_line(spec)).encode("utf-8")
    sink.write(head)
    digest.update(head)
    rows, size = 0, len(head)
    try:
        for count, data in blocks:
            sink.write(data)
            digest.update(data)
            rows += count
            size += len(data)
            if progress is not None:
                progress.advance(count)
    finally:
        _close(blocks)  # a failed write stops the producer now, while its store is still open
    if progress is not None:
        progress.finish()
    return Written(rows, size, digest.hexdigest())


def _close(blocks: Iterable[Block]) -> None:
    close = getattr(blocks, "close", None)
    if callable(close):
        close()


def write_table(
    path: Path,
    spec: TableSpec,
    chunks: Iterable[pd.DataFrame],
    *,
    options: CsvOptions = CsvOptions(),
    progress: Progress | None = None,
) -> Written:
    """Write one CSV file atomically from DataFrame chunks."""
    return write_blocks_to(path, spec, encode_chunks(chunks, spec), options=options, progress=progress)


def write_blocks_to(
    path: Path,
    spec: TableSpec,
    blocks: Iterable[Block],
    *,
    options: CsvOptions = CsvOptions(),
    progress: Progress | None = None,
) -> Written:
    """Write already encoded blocks to `path` atomically."""
    with atomic_output(path) as sink:
        return write_blocks(sink, spec, blocks, options=options, progress=progress)


def write_blocks_to_stream(
    stream: BinaryIO,
    spec: TableSpec,
    blocks: Iterable[Block],
    *,
    options: CsvOptions = CsvOptions(),
    progress: Progress | None = None,
) -> Written:
    """Write to an already open stream (stdout): no atomicity is possible, rows are flushed as they come."""
    written = write_blocks(stream, spec, blocks, options=options, progress=progress)
    stream.flush()
    return written
