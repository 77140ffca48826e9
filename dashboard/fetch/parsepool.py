"""Parsing untrusted bodies in worker processes that can be killed.

A parse can get stuck where no Python-level timeout reaches it: a quadratic regex, feedparser's
quadratic `<author>` handling, a C loop. The only reliable stop is to kill the process. So each call
gets a long-lived worker process of its own for its duration (workers are reused across calls, start-up
costs ~100 ms), and a call past its budget kills just that worker: other calls in flight run in other
processes and are never lost, and a fresh worker is started when one is needed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.resource_tracker
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, cast

from dashboard.contracts.errors import ParseError, ParseTimeout
from dashboard.contracts.source import RunParser

P = ParamSpec("P")
T = TypeVar("T")

_OK = "ok"
_READY = b"ready"
# A worker that has not booted by then is broken (or the machine is hopelessly overloaded).
_BOOT_TIMEOUT = 120.0
_RAISED = "raised"


# A parse that spends no CPU (blocked) is still stopped after this many times its budget in wall time.
WALL_FACTOR = 3.0


class _WorkerDied(Exception):
    """The worker's pipe closed before a reply: it crashed or was killed."""


def _portable_exception(error: BaseException) -> BaseException:
    """The error itself if it survives pickling, else a ParseError that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return ParseError(f"{type(error).__name__}: {error}"[:500])
    return error


def _silence_output() -> None:
    """Workers share the dashboard's terminal: a parser's warning printed there would scribble over the
    full-screen UI. Everything a worker has to say goes back through its pipe instead."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)


def _serve(conn: Connection) -> None:
    """A worker's loop: read a pickled (fn, args, kwargs), reply with ("ok", result) or ("raised", error)."""
    # Ctrl-C in the terminal goes to the whole process group; the parent decides what workers do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _silence_output()
    try:
        conn.send_bytes(_READY)  # booted: from now on the parent's budget measures only the parse
    except (EOFError, OSError):
        return
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return  # an empty message asks the worker to exit
        try:
            fn, args, kwargs = pickle.loads(data)
            reply: tuple[str, object] = (_OK, fn(*args, **kwargs))
        except BaseException as error:  # the caller gets every failure, even SystemExit from a parser
            reply = (_RAISED, _portable_exception(error))
        try:
            message = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            problem = ParseError(f"the parse result could not be sent back: {type(error).__name__}: {error}")
            message = pickle.dumps((_RAISED, problem), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            conn.send_bytes(message)
        except (EOFError, OSError):
            return


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.calls = 0
        self.cpu_at_start: float | None = None  # the process's CPU seconds when the current job was sent

    def roundtrip(self, job: bytes) -> tuple[str, object]:
        """Send one job and wait for its reply (runs in a thread; a kill unblocks it with EOF)."""
        self.cpu_at_start = _cpu_seconds(self.process.pid)  # read here, off the event loop
        try:
            self.conn.send_bytes(job)
            reply = self.conn.recv_bytes()
        except (EOFError, OSError) as error:
            self.conn.close()
            self.process.join(timeout=1.0)  # reap it, so its exit code can be reported
            raise _WorkerDied(str(error)) from error
        finally:
            self.cpu_at_start = None  # never a previous job's start for the next job's budget
        try:
            return cast(tuple[str, object], pickle.loads(reply))
        except Exception as error:
            return (
                _RAISED,
                ParseError(f"the parse result could not be read: {type(error).__name__}: {error}"),
            )

    def kill(self) -> None:
        """Stop the process now. The pipe is left to the thread that may still be reading it: it
        sees EOF and closes it (or the garbage collector does)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=2.0)

    def stop(self) -> None:
        """Ask an idle worker to exit, and make sure it does."""
        with contextlib.suppress(EOFError, OSError):
            self.conn.send_bytes(b"")
        self.process.join(timeout=1.0)
        self.kill()
        self.conn.close()


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process, from /proc (Linux); None where it cannot be read."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a stderr it can inherit.

    The first spawn starts the tracker and hands it `sys.stderr.fileno()`. Under Textual, stderr is
    a capture whose fileno() is -1, and the spawn fails ("bad value(s) in fds_to_keep"); the tracker
    gets /dev/null instead, so it can never write on the dashboard's screen either.
    """
    saved = sys.stderr
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr = devnull
            multiprocessing.resource_tracker.ensure_running()
    finally:
        sys.stderr = saved


class ProcessParser(RunParser):
    """Runs picklable parse functions in worker processes, each call within `budget` wall-clock seconds.

    `workers` processes at most (default: one per CPU); calls beyond that wait for a free worker, and
    the wait does not count against the budget. A worker serves one call at a time, so the budget is
    in practice the CPU time the call gets when cores are free. A worker is replaced after
    `max_calls_per_worker` calls, so memory a parser leaves behind is given back.
    """

    def __init__(
        self, workers: int | None = None, budget: float = 10.0, *, max_calls_per_worker: int = 500
    ) -> None:
        self.workers = workers if workers is not None else os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        self.budget = budget
        self.max_calls_per_worker = max_calls_per_worker
        # "spawn" is safe with the threads the app runs and behaves the same on every OS.
        self._context = multiprocessing.get_context("spawn")
        start_resource_tracker()
        self._slots = asyncio.Semaphore(self.workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        # One thread per busy worker, waiting on its pipe, plus room for starting and stopping workers.
        self._threads = ThreadPoolExecutor(max_workers=self.workers + 2, thread_name_prefix="parse-pipe")
        self._closed = False

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise RuntimeError("the parser pool is closed")
        job = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        loop = asyncio.get_running_loop()
        async with self._slots:
            worker = (
                self._idle.pop() if self._idle else await loop.run_in_executor(self._threads, self._start)
            )
            self._busy.add(worker)
            healthy = False
            reply = loop.run_in_executor(self._threads, worker.roundtrip, job)
            try:
                outcome, value = await self._within_budget(reply, worker)
                healthy = True
            except TimeoutError:
                raise ParseTimeout(
                    f"parsing took more than {self.budget:g} s of CPU ({_name(fn)}); its process was stopped"
                ) from None
            except _WorkerDied:
                if self._closed:
                    raise ParseError("the parser pool was closed during the parse") from None
                code = worker.process.exitcode
                raise ParseError(f"the parser process died (exit code {code}) in {_name(fn)}") from None
            finally:
                if not healthy:
                    # Past its budget, cancelled or closed, the call stops waiting for the reply; the
                    # worker is killed below and the pipe thread then fails with _WorkerDied, which
                    # nobody awaits: retrieve it, or asyncio logs "Future exception was never retrieved".
                    reply.add_done_callback(_retrieve)
                self._busy.discard(worker)
                self._release(worker, healthy)
        if outcome == _OK:
            return cast(T, value)
        raise cast(BaseException, value)

    async def _within_budget(
        self, reply: asyncio.Future[tuple[str, Any]], worker: _Worker
    ) -> tuple[str, Any]:
        """The worker's reply, if it comes before the worker has spent `budget` seconds of CPU.

        CPU, not wall time: on a busy machine a big but honest feed gets the CPU it needs; a stuck
        parse spends CPU at full speed and is stopped at the budget. Wall time is capped too, at
        `WALL_FACTOR` x budget, for a parse that blocks without spending CPU.

        A worker runs one single-threaded parse, which cannot spend more CPU than wall time: its CPU
        is first read once `budget` seconds have passed, so the event loop reads /proc for the rare
        long parse only (two reads per parse cost ~2 s of the loop's time in a 1,000-feed poll).
        """
        started = time.monotonic()
        wait = self.budget
        while True:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(reply), timeout=max(wait, 0.01))
            wall = time.monotonic() - started
            cpu_now, cpu_before = _cpu_seconds(worker.process.pid), worker.cpu_at_start
            cpu = cpu_now - cpu_before if cpu_now is not None and cpu_before is not None else wall
            wait = min(self.budget - cpu, self.budget * WALL_FACTOR - wall)
            if wait <= 0:
                raise TimeoutError

    def _start(self) -> _Worker:
        """Start a worker and wait until it has booted (runs in a thread: a spawn takes ~100 ms)."""
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(child_end,), daemon=True, name="dashboard-parser"
        )
        process.start()
        child_end.close()  # so the parent sees EOF the moment the child dies
        worker = _Worker(process, parent_end)
        try:
            if parent_end.poll(_BOOT_TIMEOUT) and parent_end.recv_bytes() == _READY:
                return worker
        except (EOFError, OSError):
            pass
        worker.kill()
        parent_end.close()
        raise ParseError(f"a parser process could not start (exit code {process.exitcode})")

    def _release(self, worker: _Worker, healthy: bool) -> None:
        """Back to the idle list after a clean call; killed after a timeout, crash or cancellation."""
        worker.calls += 1
        if not healthy or self._closed:
            worker.kill()
        elif worker.calls < self.max_calls_per_worker:
            self._idle.append(worker)
        else:
            self._threads.submit(worker.stop)

    def close(self) -> None:
        """Stop every worker; calls still running fail with ParseError."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._busy):
            worker.kill()
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()
        self._threads.shutdown(wait=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as seen (the call that wanted its result has moved on)."""
    if not future.cancelled():
        future.exception()


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
