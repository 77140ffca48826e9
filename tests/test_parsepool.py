"""ProcessParser: results and errors come back, stuck parses are killed, other calls survive."""

from __future__ import annotations

import asyncio
import gc
import logging
import operator
import os
import pickle
import re
import sys
import time
from collections.abc import AsyncIterator

import pytest

from dashboard.contracts.errors import ParseError, ParseTimeout
from dashboard.fetch.parsepool import ProcessParser

# Room for a worker to import this module (and pytest with it) on its first call, even on a busy machine.
BUDGET = 5.0
# Enough for any quick call on a loaded 2-core machine, short enough to wait out a stuck one.
QUICK_BUDGET = 1.2


class CustomParseFailure(Exception):
    pass


class Unpicklable(Exception):
    def __init__(self, message: str, *, required: int) -> None:
        super().__init__(message)
        self.required = required


def count_words(body: bytes, *, separator: str = " ") -> dict[str, int]:
    words = body.decode().split(separator)
    return {word: words.count(word) for word in words}


def worker_pid() -> int:
    return os.getpid()


def fail_custom(message: str) -> None:
    raise CustomParseFailure(message)


def fail_with_status() -> None:
    raise ParseError("not a feed", http_status=200)


def fail_unpicklable() -> None:
    raise Unpicklable("odd", required=1)


def spin_forever() -> None:
    while True:
        pass


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def chatter() -> str:
    print("parser says hello on stdout")
    print("parser warns on stderr", file=sys.stderr)
    os.write(2, b"parser writes to fd 2\n")
    return "done"


def return_unpicklable() -> object:
    return lambda: None


@pytest.fixture
async def parser() -> AsyncIterator[ProcessParser]:
    with ProcessParser(workers=2, budget=BUDGET) as pool:
        yield pool


async def test_result_is_returned(parser: ProcessParser) -> None:
    assert await parser(count_words, b"a-b-a", separator="-") == {"a": 2, "b": 1}


async def test_worker_output_never_reaches_the_terminal(
    parser: ProcessParser, capfd: pytest.CaptureFixture[str]
) -> None:
    assert await parser(chatter) == "done"
    captured = capfd.readouterr()
    assert "parser" not in captured.out + captured.err


async def test_workers_are_reused(parser: ProcessParser) -> None:
    first = await parser(worker_pid)
    second = await parser(worker_pid)
    assert first == second != os.getpid()


async def test_exception_propagates_as_is(parser: ProcessParser) -> None:
    with pytest.raises(CustomParseFailure, match="bad bytes"):
        await parser(fail_custom, "bad bytes")
    with pytest.raises(ParseError) as caught:
        await parser(fail_with_status)
    assert (caught.value.message, caught.value.http_status) == ("not a feed", 200)
    # The worker that raised is healthy and reused.
    assert await parser(count_words, b"x") == {"x": 1}


async def test_unpicklable_exception_becomes_parse_error(parser: ProcessParser) -> None:
    with pytest.raises(ParseError, match="Unpicklable: odd"):
        await parser(fail_unpicklable)


async def test_unpicklable_result_becomes_parse_error(parser: ProcessParser) -> None:
    with pytest.raises(ParseError, match="could not be sent back"):
        await parser(return_unpicklable)


async def test_unpicklable_function_is_refused_before_any_worker(parser: ProcessParser) -> None:
    with pytest.raises((pickle.PicklingError, AttributeError)):
        await parser(lambda: None)
    assert await parser(count_words, b"y") == {"y": 1}


@pytest.fixture
async def quick_parser() -> AsyncIterator[ProcessParser]:
    """A short budget, used only with standard-library functions (nothing to import on the first call)."""
    with ProcessParser(workers=2, budget=QUICK_BUDGET) as pool:
        yield pool


async def test_infinite_loop_is_killed_at_budget_and_next_call_works() -> None:
    with ProcessParser(workers=1, budget=BUDGET) as pool:
        stuck_pid = await pool(worker_pid)  # warm: the loop below runs in this very worker
        pool.budget = 1.0  # read at each call
        with pytest.raises(ParseTimeout, match="more than 1 s of CPU"):
            await pool(spin_forever)
        assert not _alive(stuck_pid)  # the call returned because its worker was killed
        assert await pool(count_words, b"after") == {"after": 1}
        assert await pool(worker_pid) != stuck_pid


async def test_parse_stuck_in_c_code_is_killed(quick_parser: ProcessParser) -> None:
    # Exponential backtracking inside the C regex engine: no Python-level interrupt reaches it.
    await quick_parser(time.sleep, 0)  # start a worker first: start-up is not part of the budget
    # (a+)+$ on 60 a's and a b takes longer than the universe: the call returns only because it is killed.
    with pytest.raises(ParseTimeout):
        await quick_parser(re.match, r"(a+)+$", "a" * 60 + "b")
    assert await quick_parser(re.match, r"(a+)+$", "aaab") is None


async def test_one_stuck_call_does_not_lose_the_others(quick_parser: ProcessParser) -> None:
    stuck = asyncio.create_task(quick_parser(re.match, r"(a+)+$", "a" * 60 + "b"))
    quick = [asyncio.create_task(quick_parser(operator.mul, index, 0.05)) for index in range(8)]
    naps = [asyncio.create_task(quick_parser(time.sleep, 0.05)) for _ in range(4)]
    assert await asyncio.gather(*quick) == [index * 0.05 for index in range(8)]
    assert await asyncio.gather(*naps) == [None] * 4
    with pytest.raises(ParseTimeout):
        await stuck


async def test_waiting_for_a_worker_does_not_count_against_the_budget() -> None:
    # One worker, five calls of 0.4 s: the last waits 1.6 s for the worker, past the 1.5-s wall cap
    # (3 x 0.5 s) that would stop it if waiting counted. All five finish.
    with ProcessParser(workers=1, budget=0.5) as pool:
        await pool(time.sleep, 0)
        assert await asyncio.gather(*(pool(time.sleep, 0.4) for _ in range(5))) == [None] * 5


async def test_worker_that_dies_is_replaced(parser: ProcessParser) -> None:
    with pytest.raises(ParseError, match="exit code 3"):
        await parser(os._exit, 3)
    assert await parser(count_words, b"alive") == {"alive": 1}


async def test_cancelled_call_kills_its_worker_and_pool_goes_on(parser: ProcessParser) -> None:
    busy_pid = await parser(worker_pid)
    task = asyncio.create_task(parser(nap, 30))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pids = {await parser(worker_pid) for _ in range(3)}
    assert busy_pid not in pids
    assert await parser(nap, 0) == 0


async def test_workers_are_recycled_after_many_calls() -> None:
    with ProcessParser(workers=1, budget=BUDGET, max_calls_per_worker=3) as pool:
        pids = [await pool(worker_pid) for _ in range(6)]
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] == pids[5] != pids[0]


async def test_close_stops_calls_in_flight_and_refuses_new_ones() -> None:
    pool = ProcessParser(workers=1, budget=BUDGET)
    await pool(nap, 0)
    task = asyncio.create_task(pool(nap, 30))
    await asyncio.sleep(0.2)
    pool.close()
    with pytest.raises(ParseError, match="closed"):
        await task
    with pytest.raises(RuntimeError, match="closed"):
        await pool(nap, 0)


async def test_async_context_manager_closes() -> None:
    async with ProcessParser(workers=1, budget=BUDGET) as pool:
        pid = await pool(worker_pid)
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_parse_that_waits_without_spending_cpu_gets_up_to_three_times_its_budget() -> None:
    # A busy machine slows an honest parse; only CPU spent counts, wall time is capped at 3x.
    with ProcessParser(workers=1, budget=0.5) as pool:
        await pool(time.sleep, 0)
        assert await pool(time.sleep, 0.9) is None  # 0.9 s of wall time, almost no CPU
        sleeper = await pool(worker_pid)
        with pytest.raises(ParseTimeout):
            await pool(time.sleep, 600)  # the call returns: the wall cap stopped it
        assert not _alive(sleeper)


async def test_a_timed_out_parse_leaves_no_unretrieved_future(caplog: pytest.LogCaptureFixture) -> None:
    # asyncio logs "Future exception was never retrieved ... _WorkerDied" when the pipe thread's
    # failure after the kill is collected unseen; it used to, after every parse timeout.
    caplog.set_level(logging.ERROR, logger="asyncio")
    pool = ProcessParser(workers=1, budget=QUICK_BUDGET)
    await pool(time.sleep, 0)
    with pytest.raises(ParseTimeout):
        await pool(re.match, r"(a+)+$", "a" * 60 + "b")
    pool.close()
    pool._threads.shutdown(wait=True)  # the pipe thread has seen the kill and failed with _WorkerDied
    for _ in range(3):  # its result reaches the asyncio future, and that future's callbacks run
        await asyncio.sleep(0)
    gc.collect()
    assert "never retrieved" not in caplog.text
    assert not [record for record in caplog.records if record.name == "asyncio"]
