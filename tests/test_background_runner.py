"""The background runner's logic (passes as plain objects), its progress line and its worker process."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from dashboard.cli.poll import PROGRESS_WORTH_LINES, ProgressLine
from dashboard.polling.background import BackgroundProgress, BackgroundRunner, LowPriorityWorker


class CountingPass:
    """`rows` pending; each batch takes up to `limit`; `fail_once` raises on the first batch."""

    name = "counting"
    label = "Counting"

    def __init__(self, rows: int, *, fail_once: bool = False) -> None:
        self.rows = rows
        self.batches: list[int] = []
        self.fail_once = fail_once
        self.message = ""

    def pending(self) -> int:
        return self.rows

    def run_batch(self, limit: int) -> int:
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("database is locked")
        taken = min(limit, self.rows)
        self.rows -= taken
        self.batches.append(taken)
        return taken


def test_a_run_goes_in_bounded_batches_and_reports_each_then_the_end() -> None:
    work = CountingPass(2500)
    seen: list[BackgroundProgress] = []
    runner = BackgroundRunner([work], batch=1000, on_progress=[seen.append])
    runner.start()
    try:
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert work.batches == [1000, 1000, 500]
    assert [(p.done, p.total, p.running) for p in seen] == [
        (0, 2500, True),
        (1000, 2500, True),
        (2000, 2500, True),
        (2500, 2500, False),
    ]
    assert runner.progress()["counting"] == seen[-1]
    assert seen[1].fraction == 0.4
    assert seen[1].describe() == "Counting: 1,000 of 2,500 (40%)"


def test_rows_arriving_during_a_run_grow_its_total_and_a_wake_starts_a_new_run() -> None:
    work = CountingPass(1500)
    seen: list[BackgroundProgress] = []
    arrived = threading.Event()

    def more_rows(progress: BackgroundProgress) -> None:
        seen.append(progress)
        if progress.done == 1000 and not arrived.is_set():
            arrived.set()
            work.rows += 700  # a poll stored more while the pass ran

    runner = BackgroundRunner([work], batch=1000, on_progress=[more_rows])
    runner.start()
    try:
        assert runner.wait_idle(5)
        assert seen[-1] == BackgroundProgress("counting", 2200, 2200, False, "", "Counting")
        work.rows = 5
        runner.wake()
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert seen[-1].done == 5
    assert seen[-1].total == 5
    assert sum(work.batches) == 2205


def test_a_failing_batch_is_said_and_the_next_wake_tries_again() -> None:
    work = CountingPass(10, fail_once=True)
    seen: list[BackgroundProgress] = []
    runner = BackgroundRunner([work], on_progress=[seen.append])
    runner.start()
    try:
        assert runner.wait_idle(5)
        assert not seen[-1].running
        assert "database is locked" in seen[-1].message
        runner.wake()
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert work.rows == 0
    assert seen[-1] == BackgroundProgress("counting", 10, 10, False, "", "Counting")


def test_nothing_pending_says_nothing_and_a_stopped_runner_ignores_wakes() -> None:
    seen: list[BackgroundProgress] = []
    runner = BackgroundRunner([CountingPass(0)], on_progress=[seen.append])
    runner.start()
    assert runner.wait_idle(5)
    runner.stop()
    runner.wake()
    assert runner.idle
    assert seen == []


def test_a_display_callback_that_raises_does_not_stop_the_pass() -> None:
    work = CountingPass(3000)

    def broken(progress: BackgroundProgress) -> None:
        raise OSError("stderr closed")

    runner = BackgroundRunner([work], batch=1000, on_progress=[broken])
    runner.start()
    try:
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert work.rows == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress(done: int, total: int, running: bool = True, message: str = "") -> BackgroundProgress:
    return BackgroundProgress("opinion", done, total, running, message, "Language and sentiment")


def test_on_a_terminal_one_line_is_rewritten_and_a_long_run_leaves_its_total() -> None:
    stream = Terminal()
    line = ProgressLine(stream)
    line.show(progress(0, 5000))
    line.show(progress(2000, 5000))
    line.show(progress(5000, 5000, running=False))
    out = stream.getvalue()
    assert out == (
        "\r\x1b[KLanguage and sentiment: 0 of 5,000 (0%)"
        "\r\x1b[KLanguage and sentiment: 2,000 of 5,000 (40%)"
        "\r\x1b[KLanguage and sentiment: 5,000 done\n"
    )


def test_on_a_terminal_a_polls_line_is_printed_above_the_progress_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = Terminal()
    line = ProgressLine(stream)
    line.show(progress(10, 50))
    with line.above():
        print("Feed 1  ok")
    line.show(progress(50, 50, running=False))  # a short run: wiped, not left on screen
    assert stream.getvalue() == (
        "\r\x1b[KLanguage and sentiment: 10 of 50 (20%)"
        "\r\x1b[K"
        "\r\x1b[KLanguage and sentiment: 10 of 50 (20%)"
        "\r\x1b[K"
    )
    assert capsys.readouterr().out == "Feed 1  ok\n"


def test_not_on_a_terminal_plain_lines_for_long_runs_only_and_every_message() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream)
    total = PROGRESS_WORTH_LINES * 10
    for done in range(0, total, PROGRESS_WORTH_LINES // 2):
        line.show(progress(done, total))
    line.show(progress(total, total, running=False))
    line.show(progress(0, 20))
    line.show(progress(20, 20, running=False))
    line.show(progress(0, 20, running=False, message="language detection needs lingua: pip install x"))
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()
    assert len(lines) == 10 + 1 + 1  # each tenth, the end, the message
    assert lines[-2] == "Language and sentiment: 10,000 done"
    assert lines[-1] == "Language and sentiment: language detection needs lingua: pip install x"


def test_a_hostile_message_is_printed_inert() -> None:
    stream = io.StringIO()
    ProgressLine(stream).show(progress(0, 1, running=False, message="failed: \x1b]0;pwned\x07 locked"))
    assert "\x1b" not in stream.getvalue()
    assert "\x07" not in stream.getvalue()


def niceness() -> int:
    return os.nice(0)


def getpid() -> int:
    return os.getpid()


def raise_value_error() -> None:
    raise ValueError("bad row")


def test_the_worker_process_runs_at_the_lowest_priority_and_survives_a_failing_call(tmp_path: Path) -> None:
    worker = LowPriorityWorker()
    try:
        assert worker.call(niceness) == 19
        pid = worker.call(getpid)
        assert pid != os.getpid()
        assert pid == worker.pid
        with pytest.raises(RuntimeError, match="ValueError: bad row"):
            worker.call(raise_value_error)
        assert worker.call(getpid) == pid  # the same process goes on
    finally:
        worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.call(getpid)


def test_a_batch_waits_while_polls_are_in_flight() -> None:
    work = CountingPass(10)
    looked: list[int] = []

    def busy() -> bool:
        looked.append(len(work.batches))
        return len(looked) <= 3  # three looks see a poll in flight, then the round is over

    runner = BackgroundRunner([work], busy=busy, yield_check=0.001)
    runner.start()
    try:
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert looked == [0, 0, 0, 0]  # no batch ran while busy
    assert work.batches == [10]


def test_a_poller_that_is_never_idle_still_lets_a_batch_through_after_a_while() -> None:
    work = CountingPass(10)
    runner = BackgroundRunner([work], busy=lambda: True, yield_at_most=0.05, yield_check=0.001)
    runner.start()
    try:
        assert runner.wait_idle(5)
    finally:
        runner.stop()
    assert work.rows == 0
