"""Background passes: work over stored rows that runs beside polling, never in its way.

A pass is any object with `name`, `pending() -> int` and `run_batch(limit) -> int` (rows done; 0 =
nothing more it can do now), optionally `label` (what a user reads) and `message` (a lasting problem,
e.g. a missing extra): dashboard.store.opinion.OpinionPass (language and sentiment),
dashboard.store.links.LinkBackfill (outbound links) and dashboard.store.keywords.KeywordBackfill
(keyword matches) are three.

`BackgroundRunner` runs the passes one batch at a time in a thread of its own: once at start (the
one-time back-fill of a store written before the pass existed) and again each time it is woken (the
poller wakes it after a round of polls that stored something). Wakes while it runs coalesce. A
batch first waits while polls are in flight (`busy`, at most YIELD_AT_MOST seconds), then is one short
write transaction, so a poll's save waits at most that long for the store.
After every batch it publishes a `BackgroundProgress` (to the `on_progress` callbacks, called in the
runner's thread, and in `progress()`), which `community-dashboard poll` prints as a progress line
and the dashboard can show as a bar.

`LowPriorityWorker` is where a pass's CPU work goes: one spawned process at the lowest scheduling
priority (nice 19). Scoring 50,000 mentions costs more CPU than the cold poll that stored them; in
this process it would hold the GIL against the poller's event loop (and the UI's), at normal priority
it would take cores from the parse workers. At nice 19 it gets only the CPU the polls leave idle.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, TypeVar

from dashboard.config import Config
from dashboard.database import Database
from dashboard.fetch.parsepool import start_resource_tracker
from dashboard.store.db import connect
from dashboard.store.keywords import KeywordBackfill
from dashboard.store.links import LinkBackfill
from dashboard.store.opinion import AnalysisResult, OpinionPass, analyse_batch, languages_of

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 2000  # rows per batch: ~0.3-1 s of analysis, a write transaction of a few ms
STOP_JOIN = 5.0  # seconds `stop` waits for the batch in progress
# While polls are in flight a batch waits for them to end, at most this long (with 1,000 sources a
# poller is seldom idle, and the back-fill must still get on), looking every YIELD_CHECK seconds.
YIELD_AT_MOST = 10.0
YIELD_CHECK = 0.1


class BackgroundPass(Protocol):
    name: str

    def pending(self) -> int: ...

    def run_batch(self, limit: int) -> int: ...


@dataclass(frozen=True, slots=True)
class BackgroundProgress:
    """Where one pass is: `done` of `total` rows in its current run; `running` False once it stopped
    (all done, or `message` says why not). `total` counts rows that arrived during the run too."""

    name: str
    done: int
    total: int
    running: bool
    message: str = ""
    label: str = ""

    @property
    def fraction(self) -> float | None:
        """0..1 for a progress bar; None when there is nothing to count."""
        return None if self.total <= 0 else min(1.0, self.done / self.total)

    def describe(self) -> str:
        """One line for a terminal or a status bar."""
        label = self.label or self.name
        if self.message:
            return f"{label}: {self.message}"
        if not self.running:
            return f"{label}: {self.done:,} done"
        percent = "" if self.fraction is None else f" ({self.fraction:.0%})"
        return f"{label}: {self.done:,} of {self.total:,}{percent}"


ProgressCallback = Callable[[BackgroundProgress], object]


class BackgroundRunner:
    """Runs `passes` in bounded batches in one daemon thread; see the module docstring."""

    def __init__(
        self,
        passes: Sequence[BackgroundPass],
        *,
        batch: int = BATCH,
        on_progress: Iterable[ProgressCallback] = (),
        busy: Callable[[], bool] | None = None,
        yield_at_most: float = YIELD_AT_MOST,
        yield_check: float = YIELD_CHECK,
    ) -> None:
        self.passes = tuple(passes)
        self.batch = batch
        # True while polls are in flight (the Poller sets it): each batch waits for them to end.
        self.busy = busy
        self.yield_at_most = yield_at_most
        self.yield_check = yield_check
        self._callbacks: list[ProgressCallback] = list(on_progress)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._progress: dict[str, BackgroundProgress] = {}
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread and a first run (the back-fill of what is already stored)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="background-passes", daemon=True)
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        """Look for pending rows again (cheap; wakes during a run coalesce into one more run)."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._idle.clear()
            self._wake.set()

    def stop(self, timeout: float = STOP_JOIN, *, abort: Callable[[], object] | None = None) -> None:
        """No new batch; `abort` (if given) cuts the batch in progress short (its rows stay pending),
        then waits up to `timeout` for the thread."""
        with self._lock:
            self._stopping.set()
            self._wake.set()
        if abort is not None:
            abort()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def idle(self) -> bool:
        """True when no run is in progress nor asked for."""
        return self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until idle (True) or `timeout` seconds (False)."""
        return self._idle.wait(timeout)

    def progress(self) -> dict[str, BackgroundProgress]:
        """The latest progress of each pass that had something to do (a copy)."""
        with self._lock:
            return dict(self._progress)

    # -- the thread ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._stopping.is_set():
                    self._idle.set()
                    return
                self._wake.clear()
            for each in self.passes:
                if self._stopping.is_set():
                    break
                self._drain(each)
            with self._lock:
                if not self._wake.is_set() or self._stopping.is_set():
                    self._idle.set()

    def _drain(self, each: BackgroundPass) -> None:
        """One run of one pass: batches until nothing is pending or the pass can do no more."""
        label = str(getattr(each, "label", "") or each.name)
        done = 0
        try:
            if getattr(each, "message", ""):
                return  # it said why it cannot run (published once); the next start tries again
            total = each.pending()
            if total == 0:
                return
            while total > done and not self._stopping.is_set():
                self._publish(BackgroundProgress(each.name, done, total, True, label=label))
                self._yield_to_polls()
                if self._stopping.is_set():
                    break
                written = each.run_batch(self.batch)
                done += written
                total = done + each.pending()
                if written == 0:
                    break
            message = str(getattr(each, "message", "") or "")
        except Exception as error:  # a locked store, a bug in a pass: said, retried at the next wake
            if self._stopping.is_set():
                return  # the batch was cut short by `stop`: its rows stay pending, nothing to say
            log.exception("background pass %s failed", each.name)
            message = f"failed: {type(error).__name__}: {error}"
            total = max(done, 0)
        self._publish(BackgroundProgress(each.name, done, total, False, message, label))

    def _yield_to_polls(self) -> None:
        """Wait while polls are in flight, at most `yield_at_most` seconds: a poll's parse and save get
        the cores and the store first (measured: a back-fill beside a cold poll made it 1.26x slower)."""
        busy = self.busy
        if busy is None:
            return
        deadline = time.monotonic() + self.yield_at_most
        while busy() and time.monotonic() < deadline and not self._stopping.wait(self.yield_check):
            pass

    def _publish(self, progress: BackgroundProgress) -> None:
        with self._lock:
            self._progress[progress.name] = progress
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(progress)
            except Exception:  # a display's fault must not stop the pass
                log.exception("background progress callback failed")


# -- the low-priority worker process -----------------------------------------------------------

_READY = b"ready"
_PARENT_GONE_POLL = 1.0  # seconds between the worker's checks that its parent is still alive
LOWEST_PRIORITY = 19


def _serve(conn: Connection, niceness: int) -> None:
    """The worker: lowest priority, silent, Ctrl-C left to the parent; runs pickled (fn, args)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        os.nice(niceness)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):  # the dashboard's full screen must never be scribbled on
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)
    parent = os.getppid()
    try:
        conn.send_bytes(_READY)
        while True:
            # recv would also see EOF once the parent is gone; the check covers a parent killed while
            # a descendant it forked still holds the pipe.
            while not conn.poll(_PARENT_GONE_POLL):
                if os.getppid() != parent:
                    return
            data = conn.recv_bytes()
            if not data:
                return
            fn, args = pickle.loads(data)
            try:
                reply: tuple[bool, object] = (True, fn(*args))
            except Exception as error:
                reply = (False, RuntimeError(f"{type(error).__name__}: {error}"))
            conn.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        return


class LowPriorityWorker:
    """One worker process at nice 19, started on first use, for one caller thread at a time.

    `call(fn, *args)` runs a picklable module-level function there and returns its result; an
    exception in it comes back as RuntimeError; a dead worker is replaced on the next call.
    """

    def __init__(self, niceness: int = LOWEST_PRIORITY) -> None:
        self.niceness = niceness
        self._context = multiprocessing.get_context("spawn")  # safe with the app's threads
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._closed:
                raise RuntimeError("the background worker is closed")
            conn = self._ensure()
            try:
                conn.send_bytes(pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL))
                ok, value = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError) as error:
                self._discard()
                raise RuntimeError(f"the background worker process died: {error}") from error
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def close(self) -> None:
        """Stop the worker at once: a call in progress fails (its rows stay pending), nothing is lost."""
        self._closed = True
        process = self._process
        if process is not None and process.is_alive():
            process.kill()  # not under the lock: a call in progress holds it until its reply or EOF
        with self._lock:
            self._discard()

    def _ensure(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._discard()
        start_resource_tracker()
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(child_end, self.niceness), daemon=True, name="dashboard-background"
        )
        process.start()
        child_end.close()  # the parent sees EOF the moment the child dies
        if not parent_end.poll(120.0) or parent_end.recv_bytes() != _READY:
            process.kill()
            parent_end.close()
            raise RuntimeError(f"the background worker could not start (exit code {process.exitcode})")
        self._process, self._conn = process, parent_end
        return parent_end

    def _discard(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send_bytes(b"")
            conn.close()
        if process is not None:
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)


# -- the passes a running poller has -----------------------------------------------------------


@contextmanager
def running_passes(
    config: Config, database: Database, *, on_progress: ProgressCallback | None = None
) -> Iterator[BackgroundRunner]:
    """The store's background passes over `database`, started (the back-fill runs at once), each
    with its own connection; analysis in a LowPriorityWorker. Stopped and closed on exit."""
    worker = LowPriorityWorker()
    connections = [connect(database), connect(database), connect(database)]

    def analyse(*args: Any) -> AnalysisResult:
        return worker.call(analyse_batch, *args)

    passes: list[BackgroundPass] = [
        LinkBackfill(connections[0]),  # cheap (no model to load): the Posts panel fills first
        KeywordBackfill(connections[1]),  # cheap too: share of voice stops scanning texts
        OpinionPass(connections[2], languages_of(config.settings), run=analyse),
    ]
    runner = BackgroundRunner(passes, on_progress=() if on_progress is None else (on_progress,))
    try:
        runner.start()
        yield runner
    finally:
        runner.stop(abort=worker.close)
        for connection in connections:
            connection.close()
