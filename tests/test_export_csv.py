"""The CSV layer: formula neutralisation, RFC 4180 quoting, conventions, atomic writes, progress."""

from __future__ import annotations

import csv
import errno
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.export.csvfile import (
    BOM,
    FORMULA_STARTS,
    Column,
    ColumnKind,
    CsvOptions,
    ExportError,
    Progress,
    TableSpec,
    atomic_output,
    iso_timestamps,
    neutralise_formulas,
    render,
    sweep_stale_temporaries,
    write_table,
)
from dashboard.text import cell_safe

SPEC = TableSpec(
    "things",
    "one thing",
    (
        Column("title", ColumnKind.TEXT, "text"),
        Column("count", ColumnKind.INTEGER, "a count"),
        Column("ratio", ColumnKind.NUMBER, "a ratio"),
        Column("at", ColumnKind.TIMESTAMP, "a time"),
        Column("flag", ColumnKind.BOOLEAN, "a flag"),
    ),
)


def frame(titles: list[str], **columns: object) -> pd.DataFrame:
    size = len(titles)
    data: dict[str, object] = {
        "title": pd.Series(titles, dtype="str"),
        "count": pd.array([1] * size, dtype="Int64"),
        "ratio": [0.5] * size,
        "at": pd.to_datetime([1_700_000_000] * size, unit="s", utc=True),
        "flag": [True] * size,
    }
    data.update(columns)
    return pd.DataFrame(data)


def read_back(text: str) -> pd.DataFrame:
    back: pd.DataFrame = pd.read_csv(io.StringIO(text), **{**SPEC.read_csv_options(), "encoding": None})
    return back


def test_every_formula_prefix_is_neutralised_and_nothing_else() -> None:
    risky = [f"{start}cmd|' /C calc'!A0" for start in FORMULA_STARTS]
    safe = ["plain", "", "'already quoted", " =leading space", "a=b", "3-2", "https://x.org/?a=-1"]
    result = neutralise_formulas(pd.Series(risky + safe, dtype="str")).tolist()
    # A leading CR is a control character: it becomes a newline, which is quoted like one.
    assert result[: len(risky)] == ["'" + value.replace("\r", "\n") for value in risky]
    assert result[len(risky) :] == safe


def test_a_control_character_hiding_a_formula_is_dropped_then_the_formula_quoted() -> None:
    assert neutralise_formulas(pd.Series(["\x1b=HYPERLINK(1)", "\x00+1", "\u202e-2"])).tolist() == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
    ]


def test_missing_text_becomes_an_empty_cell() -> None:
    assert neutralise_formulas(pd.Series(["=1", None, np.nan], dtype="object")).tolist() == ["'=1", "", ""]


def test_numbers_stay_numbers_even_negative() -> None:
    data = frame(["-5 below zero", "x"], count=pd.array([-3, None], dtype="Int64"), ratio=[-0.25, np.nan])
    text = render(data, SPEC, header=True)
    assert text.splitlines()[1].startswith("'-5 below zero,-3,-0.25,")
    back = read_back(text)
    assert back["count"].tolist()[0] == -3
    assert back["count"].isna().tolist() == [False, True]
    assert back["ratio"].tolist()[0] == -0.25
    assert np.isnan(back["ratio"].tolist()[1])
    assert back["title"].tolist() == ["'-5 below zero", "x"]


def test_awkward_titles_round_trip_exactly() -> None:
    titles = [
        'He said "hi", then left',
        "line one\nline two",
        "carriage\nreturn and\nCRLF",  # written as "carriage\rreturn and\r\nCRLF" (see below)
        "commas, everywhere, ,",
        "émoji 🎉 and accents: àéîõü ß 中文",
        "",
        '"',
        "trailing space ",
    ]
    back = read_back(render(frame(titles), SPEC, header=True))
    assert back["title"].tolist() == titles


def test_carriage_returns_inside_cells_become_newlines() -> None:
    back = read_back(render(frame(["carriage\rreturn and\r\nCRLF"]), SPEC, header=True))
    assert back["title"].tolist() == ["carriage\nreturn and\nCRLF"]


def test_terminal_controls_never_reach_the_file() -> None:
    text = render(frame(["a\x1b]0;title\x07b\x1b[2Jc\x9b2Jd\u202ee\x7ff\x00g\th\ni"]), SPEC)
    assert text.startswith('"a]0;titleb[2Jc2Jde' + "fg\th\ni" + '",')


def test_rfc4180_quoting_and_crlf() -> None:
    text = render(frame(['a "quoted", word', "plain"]), SPEC, header=True)
    assert text.startswith("title,count,ratio,at,flag\r\n")
    assert '"a ""quoted"", word",1,0.5,2023-11-14T22:13:20Z,true\r\n' in text
    assert "\r\nplain,1,0.5,2023-11-14T22:13:20Z,true\r\n" in text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=30), min_size=1, max_size=8))
def test_any_text_reads_back_as_written_apart_from_the_formula_quote(titles: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(render(frame(titles), SPEC, header=False), newline="")))
    cleaned = [cell_safe(title) for title in titles]  # terminal controls dropped, CR -> LF
    expected = ["'" + title if title[:1] in FORMULA_STARTS else title for title in cleaned]
    assert [row[0] for row in rows] == expected


def test_unknown_values_are_empty_cells_not_zero() -> None:
    data = frame(
        ["a"], count=pd.array([None], dtype="Int64"), ratio=[np.nan], flag=pd.array([None], dtype="boolean")
    )
    data["at"] = pd.Series([pd.NaT], dtype="datetime64[us, UTC]")
    assert render(data, SPEC).strip() == "a,,,,"


def test_timestamps_are_iso_utc_with_z_from_any_input() -> None:
    paris = pd.Series(pd.to_datetime(["2024-03-31 03:30"]).tz_localize("Europe/Paris"))
    assert iso_timestamps(paris).tolist() == ["2024-03-31T01:30:00Z"]
    assert iso_timestamps(pd.Series([0, None])).tolist() == ["1970-01-01T00:00:00Z", ""]


def test_read_csv_options_restore_the_documented_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "things.csv"
    write_table(path, SPEC, [frame(["a", "b"])])
    back = pd.read_csv(path, **SPEC.read_csv_options())
    assert str(back["count"].dtype) == "Int64"
    assert str(back["ratio"].dtype) == "float64"
    assert str(back["flag"].dtype) == "boolean"
    assert str(back["at"].dtype).startswith("datetime64")
    assert str(back["at"].dt.tz) == "UTC"
    assert back["at"].tolist()[0] == pd.Timestamp("2023-11-14T22:13:20Z")


def test_excel_option_adds_a_bom_only_when_asked(tmp_path: Path) -> None:
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    write_table(plain, SPEC, [frame(["é"])])
    write_table(excel, SPEC, [frame(["é"])], options=CsvOptions(excel=True))
    assert not plain.read_bytes().startswith(BOM.encode())
    assert excel.read_bytes().startswith(b"\xef\xbb\xbftitle,")
    assert pd.read_csv(excel, **SPEC.read_csv_options())["title"].tolist() == ["é"]


def test_no_rows_still_writes_the_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    written = write_table(path, SPEC, [])
    assert path.read_bytes() == b"title,count,ratio,at,flag\r\n"
    assert written.rows == 0
    assert pd.read_csv(path, **SPEC.read_csv_options()).empty


def test_lone_surrogates_cannot_make_the_file_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    write_table(path, SPEC, [frame(["bad \udc80 text"])])
    assert "bad ? text" in path.read_bytes().decode("utf-8")


# -- atomicity ----------------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".part"))


def test_an_error_mid_write_keeps_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous\n", encoding="utf-8")

    def chunks() -> Iterator[pd.DataFrame]:
        yield frame(["first"] * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match=r"cannot write .*out\.csv: No space left on device"):
        write_table(path, SPEC, chunks())
    assert path.read_text(encoding="utf-8") == "previous\n"
    assert leftovers(tmp_path) == []


def test_any_other_error_also_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    def chunks() -> Iterator[pd.DataFrame]:
        yield frame(["first"])
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        write_table(path, SPEC, chunks())
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_the_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_table(path, SPEC, [frame(["new"])])
    assert path.stat().st_mode & 0o777 == 0o640
    assert "new" in path.read_text(encoding="utf-8")


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        write_table(blocker / "out.csv", SPEC, [frame(["a"])])


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pandas as pd
    sys.path.insert(0, {tests!r})
    from test_export_csv import SPEC, frame
    from dashboard.export.csvfile import write_table

    def chunks():
        yield frame(["row"] * 5000)
        print("half written", flush=True)  # the first chunk is in the temporary file now
        time.sleep(60)
        yield frame(["never"])

    write_table(Path(sys.argv[1]), SPEC, chunks())
    """
)


def test_kill_9_mid_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous\n", encoding="utf-8")
    script = KILLED_WRITER.format(tests=str(Path(__file__).parent))
    process = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "half written"
        partial = [tmp_path / name for name in leftovers(tmp_path)]
        assert len(partial) == 1
        assert partial[0].stat().st_size > 10_000
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert path.read_text(encoding="utf-8") == "previous\n"
    # The killed writer's temporary file is swept up by the next write to the same name.
    assert sweep_stale_temporaries(path) == partial
    write_table(path, SPEC, [frame(["next"])])
    assert leftovers(tmp_path) == []


def test_temporaries_of_living_processes_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with atomic_output(path) as sink:
        sink.write(b"in progress")
        mine = leftovers(tmp_path)
        assert len(mine) == 1
        assert str(os.getpid()) in mine[0]
        assert sweep_stale_temporaries(path) == []
    assert path.read_bytes() == b"in progress"


FILE_SIZE_LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_export_csv import SPEC, frame
    from dashboard.export.csvfile import ExportError, write_table

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    try:
        write_table(Path(sys.argv[1]), SPEC, (frame(["a fairly long title " * 4] * 500) for _ in range(20)))
    except ExportError as error:
        print(error)
        sys.exit(1)
    """
)


def test_a_real_write_failure_from_the_os_keeps_the_previous_file(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write() itself fail (EFBIG), like a full disk would, part-way through."""
    path = tmp_path / "out.csv"
    path.write_text("previous\n", encoding="utf-8")
    script = FILE_SIZE_LIMITED.format(tests=str(Path(__file__).parent))
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert "cannot write" in result.stdout
    assert "File too large" in result.stdout
    assert path.read_text(encoding="utf-8") == "previous\n"
    assert leftovers(tmp_path) == []


# -- progress -----------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress("mentions", 200, stream=stream)
        progress.advance(50)
        time.sleep(0.11)
        progress.advance(50)
        progress.finish()
    assert pipe.getvalue() == ""
    drawn = terminal.getvalue()
    assert "\rmentions [" in drawn
    assert "100/200 rows" in drawn
    assert drawn.endswith("\n")
    assert "50%" in drawn


def test_progress_without_a_total_counts_rows() -> None:
    progress = Progress("voices", None, stream=FakeTerminal())
    progress.advance(1234)
    assert progress.line().startswith("voices 1,234 rows")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799), min_size=1, max_size=50))
def test_fast_timestamp_text_equals_strftime(epochs: list[int]) -> None:
    """Years 1 to 9999, before and after 1970."""
    epoch_zero = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [
        (epoch_zero + timedelta(seconds=epoch)).isoformat().replace("+00:00", "Z") for epoch in epochs
    ]
    assert iso_timestamps(pd.Series(epochs, dtype="int64")).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62)), max_size=50))
def test_integer_cells_are_plain_decimal(values: list[int | None]) -> None:
    data = frame(["x"] * len(values), count=pd.array(values, dtype="Int64"))
    cells = [row[1] for row in csv.reader(io.StringIO(render(data, SPEC), newline=""))]
    assert cells == ["" if value is None else str(value) for value in values]
