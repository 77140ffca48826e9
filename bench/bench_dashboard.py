"""The dashboard with a store of 1M mentions: first paint, event-loop stalls while polling, idle CPU.

    python -m bench.bench_dashboard                       # everything, 300 s idle window
    python -m bench.bench_dashboard --idle-seconds 60     # shorter idle window while developing

The store comes from bench/generate.py, settled (languages, sentiment and links filled as the
background passes leave them, see `cached_store`; cached in bench/.cache/; each run works on a copy).
The 1,000 feeds come from bench_poll's asyncio feed server, in its own process.

Runs, side by side in one invocation:
  headless   `App.run_test(size=(160, 50))` in a fresh process, polling off, `--repeat` times
  pty        a real `App.run()` in a pseudo-terminal of 160x50, polling off
  pty+poll   a real `App.run()` in a pty whose own poller polls the 1,000 local feeds (all due at
             launch): first paint under polling, event-loop stalls during the cold poll, then CPU
             over `--idle-seconds` of idle time between polls

Definitions (the instrumented app is a subclass of DashboardApp that only records timestamps):
  first frame           the first bytes the app writes to the pty (seen by the parent)
  first complete paint  the end of the first screen refresh after BOTH the analytics result
                        (DashboardComputed: KPIs, volume, needs-reply, rising, voices, topics,
                        sources, alerts) AND the live stream's rows (MentionsLoaded) have been
                        applied to the main screen (`call_after_refresh` on the main screen)
  stall                 lateness of an asyncio timer that asks to run every 10 ms (how long the event
                        loop could not run anything: a key press would wait as long); also the
                        latency of a message posted to the app every 10 ms (the app's message
                        queue, where long handlers queue up)
  idle CPU              CPU seconds of the app process and its children (parse workers) over the
                        wall seconds of the idle window, in % of one core
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import functools
import json
import os
import pty
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_poll import FeedServer, write_feeds_toml
from bench.common import (
    CACHE_DIR,
    REPO_DIR,
    Target,
    busy_note,
    cpu_between,
    cpu_snapshot,
    describe_machine,
    format_table,
    load_average,
    machine_cpu,
    machine_info,
    other_load,
    write_results,
)

ABLATE_ENV = "BENCH_DASHBOARD_ABLATE"
SIZE = (160, 50)  # wide and tall: every panel on screen at once
STORE_END = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # where bench.generate ends its history
KEYWORDS = ("ourproject", "competitor", "othertool")  # terms bench/generate.py puts in texts
PROBE_PERIOD = 0.010
KEEP_LATENESS = 0.002  # probe ticks later than this are kept for the report
PROBE_AFTER_POLL = 3.0  # seconds the probe goes on after the cold poll (the last refresh), then stops
IDLE_SETTLE = 6.0  # seconds between the end of the cold poll and the idle window

# -- the store -------------------------------------------------------------------------------------


def cached_store(mentions: int) -> Path:
    """A settled store: the analytics bench's (bench_panels.opinion_store: languages and sentiment
    filled, same seed and end) with links and retention done (`_settled`), as a dashboard that has
    run a while leaves it. A fresh store would measure one-off catch-up work instead of the
    dashboard idling: the back-fill of 1M mentions (259 s of CPU in a worker process) and the first
    retention run. Else bench/.cache/store-<n>.db
    of our own, generated with bench/generate.py when missing."""
    try:
        from bench.bench_panels import END, opinion_store
    except ImportError:
        pass
    else:
        if END == STORE_END:
            return _settled(opinion_store(mentions))
    label = f"{mentions // 1_000_000}m" if mentions % 1_000_000 == 0 else f"{mentions // 1000}k"
    path = CACHE_DIR / f"store-{label}.db"
    if not path.exists():
        from bench.generate import generate_store

        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({mentions:,} mentions) ...", flush=True)
        made = generate_store(path, mentions, end=STORE_END)
        print(f"  {made.mentions:,} mentions in {made.seconds:.0f} s", flush=True)
    return path


SETTLED_VERSION = 1  # bump when `_settled` changes what it does


def _settled(store: Path) -> Path:
    """`store` copied once as the background work leaves it: every mention's outbound links marked
    extracted (none found) and the retention run once at the store's end (the first run on 180 days
    of history thins it for minutes; it is daily work of ~0.5 s after that, bench_year)."""
    from dashboard.links import LINKS_VERSION
    from dashboard.store.writer import Store

    path = store.with_name(f"{store.stem}-settled{SETTLED_VERSION}-links{LINKS_VERSION}.db")
    if path.exists():
        return path
    pending = path.with_suffix(".part")
    shutil.copyfile(store, pending)
    with sqlite3.connect(pending) as connection:
        connection.execute("UPDATE mentions SET links_version = ?", (LINKS_VERSION,))
    connection.close()
    print(f"settling {path.name}: retention's first run ...", flush=True)
    writer = Store.open(pending)
    try:
        writer.apply_retention(STORE_END)
        writer.checkpoint()
    finally:
        writer.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{pending}{suffix}").unlink(missing_ok=True)
    pending.rename(path)
    return path


def working_copy(store: Path, directory: Path) -> Path:
    """A copy to work on: polling writes to it, and the cache stays as generated."""
    target = directory / "mentions.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(store, target)
    return target


# -- the instrumented app (child process) ----------------------------------------------------------


@dataclass
class Recorder:
    """Timestamps (time.monotonic, shared by every process on Linux) written as JSON lines as they
    happen, so the parent can follow the run; probe samples kept in memory and dumped at the end."""

    path: Path
    events: dict[str, float] = field(default_factory=dict)
    late_ticks: list[tuple[float, float]] = field(default_factory=list)
    ticks: int = 0
    late_messages: list[tuple[float, float]] = field(default_factory=list)
    messages: int = 0
    computed: list[float] = field(default_factory=list)
    # (start, wall seconds, CPU seconds of the calling thread) per call of an instrumented function
    calls: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)

    def timed(self, name: str, function: Any) -> Any:
        """`function`, recording how long each call takes (wall and the calling thread's CPU)."""

        @functools.wraps(function)  # keeps the signature, which Textual inspects for watchers
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.monotonic(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.monotonic() - started
                self.calls.setdefault(name, []).append((started, elapsed, time.thread_time() - cpu))

        return wrapper

    def event(self, name: str, **extra: Any) -> None:
        moment = time.monotonic()
        self.events.setdefault(name, moment)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"event": name, "t": moment, **extra}) + "\n")

    def dump(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "event": "dump",
                        "t": time.monotonic(),
                        "ticks": self.ticks,
                        "late_ticks": self.late_ticks,
                        "messages": self.messages,
                        "late_messages": self.late_messages,
                        "computed": self.computed,
                        "calls": self.calls,
                    }
                )
                + "\n"
            )


def instrumented_app(
    config_path: Path, database: Path, recorder: Recorder, poll: bool, sources: int, readonly: bool = False
) -> Any:
    """A DashboardApp that records when data lands, when it is painted, and how late a 10 ms timer is."""
    from textual.message import Message

    import dashboard.ui.app as dashboard_app_module
    from dashboard.config import load_config
    from dashboard.sources import source_types
    from dashboard.store.writer import Store
    from dashboard.ui import data
    from dashboard.ui.app import DashboardApp
    from dashboard.ui.screens.main import MainScreen

    # Where the time goes: the analytics and stream queries (worker threads), applying their
    # results to the screen (UI thread), the poller's schedule reads (event loop).
    data.compute = recorder.timed("compute (thread)", data.compute)
    data.latest_mentions = recorder.timed("latest_mentions (thread)", data.latest_mentions)
    MainScreen.watch_view = recorder.timed("watch_view (UI)", MainScreen.watch_view)  # type: ignore[method-assign]
    MainScreen.show_stream = recorder.timed("show_stream (UI)", MainScreen.show_stream)  # type: ignore[method-assign]
    Store.states = recorder.timed("Store.states (poller schedule)", Store.states)  # type: ignore[method-assign]
    if os.environ.get(ABLATE_ENV) == "refresh":
        # Diagnostic (--ablate-refresh): finished polls trigger no analytics refresh, to tell the
        # stalls the poll machinery causes from those of the refreshes it triggers.
        DashboardApp.schedule_refresh = lambda self, delay=0.0: None  # type: ignore[method-assign]

    class Probe(Message):
        def __init__(self, posted: float) -> None:
            super().__init__()
            self.posted = posted

    started = time.monotonic()
    wall_started = datetime.now(UTC)

    def clock() -> datetime:
        # The generated history ends at STORE_END; the app lives as if it were then.
        return STORE_END + (datetime.now(UTC) - wall_started)

    class InstrumentedApp(DashboardApp):
        # Textual calls a message handler of every class in the MRO: these only record, and
        # DashboardApp's own handlers still do the work.
        CSS_PATH = str(
            Path(dashboard_app_module.__file__).with_name("app.tcss")
        )  # relative paths resolve here

        def __init__(self) -> None:
            super().__init__(
                load_config(config_path, registry=source_types()),
                database=database,
                clock=clock,
                poll=poll,
                readonly=readonly,
            )
            self._has_dashboard = False
            self._has_stream = False
            self._polls_done = 0

        async def on_mount(self) -> None:
            recorder.event("mount")
            self._start_probe()

        def on_dashboard_app_dashboard_computed(self, message: DashboardApp.DashboardComputed) -> None:
            recorder.computed.append(time.monotonic())
            if not self._has_dashboard:
                self._has_dashboard = True
                recorder.event("dashboard_applied")
                self._maybe_painted()

        def on_dashboard_app_mentions_loaded(self, message: DashboardApp.MentionsLoaded) -> None:
            if not self._has_stream:
                self._has_stream = True
                recorder.event("stream_applied")
                self._maybe_painted()

        def on_dashboard_app_poll_finished(self, message: DashboardApp.PollFinished) -> None:
            self._polls_done += 1
            if self._polls_done == 1:
                recorder.event("first_poll_done")
            if self._polls_done == sources:
                recorder.event("poll_done")
                # The probe itself wakes the loop 100 times a second: stop it before the idle window.
                self.set_timer(PROBE_AFTER_POLL, self._stop_probe)

        def _maybe_painted(self) -> None:
            if self._has_dashboard and self._has_stream:
                # The base class applies the data right after this handler; the callback runs
                # after the main screen's next refresh, i.e. once that data is on screen.
                self.main.call_after_refresh(lambda: recorder.event("first_complete_paint"))
                if not poll:  # nothing else to watch: stop the probe before any idle window
                    self.set_timer(PROBE_AFTER_POLL, self._stop_probe)

        def _stop_probe(self) -> None:
            self._probing = False
            recorder.event("probe_stopped")

        def _start_probe(self) -> None:
            loop = asyncio.get_running_loop()
            due = loop.time() + PROBE_PERIOD
            self._probing = True

            def tick() -> None:
                nonlocal due
                if not self._probing:
                    return
                now = loop.time()
                lateness = now - due
                recorder.ticks += 1
                if lateness > KEEP_LATENESS:
                    recorder.late_ticks.append((time.monotonic(), lateness))
                self.post_message(Probe(time.monotonic()))
                due = max(due + PROBE_PERIOD, now)
                loop.call_at(due, tick)

            loop.call_at(due, tick)

        def on_probe(self, message: Probe) -> None:
            latency = time.monotonic() - message.posted
            recorder.messages += 1
            if latency > KEEP_LATENESS:
                recorder.late_messages.append((time.monotonic(), latency))

    recorder.event("constructing", since_start=time.monotonic() - started)
    return InstrumentedApp()


def child_main(args: argparse.Namespace) -> None:
    recorder = Recorder(Path(args.events))
    recorder.event("child_started")
    import dashboard.ui.app  # noqa: F401  (imports timed separately from the app's start)

    recorder.event("imported")
    app = instrumented_app(
        Path(args.config), Path(args.database), recorder, args.poll, args.sources, args.readonly
    )
    if args.child == "headless":

        async def run_headless() -> None:
            recorder.event("run_start")
            async with app.run_test(size=SIZE):
                while "first_complete_paint" not in recorder.events:
                    await asyncio.sleep(0.005)
                await app.action_quit()

        asyncio.run(run_headless())
    else:
        recorder.event("run_start")
        app.run()
    recorder.event("exited")
    recorder.dump()


# -- the parent: launching and reading -------------------------------------------------------------


@dataclass
class Launch:
    """A child app process and what it reported."""

    process: subprocess.Popen[bytes]
    events_path: Path
    spawned: float
    first_output: float | None = None
    output_bytes: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    _offset: int = 0

    def read_events(self) -> dict[str, float]:
        if self.events_path.exists():
            with self.events_path.open(encoding="utf-8") as source:
                source.seek(self._offset)
                text = source.read()
            complete = text[: text.rfind("\n") + 1]
            self._offset += len(complete.encode())
            self.records += [json.loads(line) for line in complete.splitlines() if line]
        return {record["event"]: record["t"] for record in reversed(self.records)}

    def wait_for(self, event: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.read_events().get(event)
            if found is not None:
                return found
            if self.process.poll() is not None:
                errors = self.events_path.with_suffix(".stderr")
                detail = errors.read_text(errors="replace")[-3000:] if errors.exists() else ""
                raise RuntimeError(
                    f"the app exited (code {self.process.returncode}) before {event!r}\n{detail}"
                )
            time.sleep(0.02)
        raise TimeoutError(f"no {event!r} within {timeout:g} s")

    def dump(self) -> dict[str, Any]:
        self.read_events()
        return next((record for record in self.records if record["event"] == "dump"), {})


def child_command(
    mode: str, config: Path, database: Path, events: Path, poll: bool, sources: int, readonly: bool = False
) -> list[str]:
    command = [sys.executable, "-m", "bench.bench_dashboard", "--child", mode, "--config", str(config)]
    command += ["--database", str(database), "--events", str(events), "--sources", str(sources)]
    return command + (["--poll"] if poll else []) + (["--readonly"] if readonly else [])


def launch_headless(command: list[str], events: Path) -> Launch:
    spawned = time.monotonic()
    with events.with_suffix(".stderr").open("wb") as errors:
        process = subprocess.Popen(command, cwd=REPO_DIR, stdout=subprocess.DEVNULL, stderr=errors)
    return Launch(process, events, spawned)


def launch_in_pty(command: list[str], events: Path) -> tuple[Launch, int]:
    """The app in a pseudo-terminal of SIZE; a thread drains its output (noting the first byte)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    environment = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    environment.pop("TEXTUAL", None)
    spawned = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=REPO_DIR,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        start_new_session=True,
    )
    os.close(slave)
    launch = Launch(process, events, spawned)

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            if launch.first_output is None:
                launch.first_output = time.monotonic()
            launch.output_bytes += len(data)

    threading.Thread(target=drain, name="pty-drain", daemon=True).start()
    return launch, master


def finish(launch: Launch, master: int | None, timeout: float = 60.0) -> None:
    """Quit the app (q in a pty, or wait for the headless run to end) and reap it."""
    if master is not None:
        os.write(master, b"q")
    try:
        launch.process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launch.process.pid, signal.SIGTERM) if master is not None else launch.process.kill()
        launch.process.wait(10)
    if master is not None:
        os.close(master)
    launch.read_events()


# -- statistics ------------------------------------------------------------------------------------


def stall_stats(
    samples: Sequence[Sequence[float]], start: float, end: float, total: int | None = None
) -> dict[str, Any]:
    """Lateness samples (time, seconds late) inside [start, end]: the worst ones and counts."""
    inside = sorted((late for moment, late in samples if start <= moment <= end), reverse=True)
    worst = [
        (round(moment - start, 3), round(late * 1000, 1))
        for moment, late in samples
        if start <= moment <= end
    ]
    worst.sort(key=lambda pair: -pair[1])
    return {
        "window_s": end - start,
        "max_ms": 1000 * inside[0] if inside else 0.0,
        "over_50ms": sum(1 for late in inside if late > 0.050),
        "over_16ms": sum(1 for late in inside if late > 0.016),
        "sum_over_50ms_s": sum(late for late in inside if late > 0.050),
        "worst_at_s_ms": worst[:8],
        "ticks_total": total,
    }


def call_stats(calls: dict[str, list[list[float]]], start: float, end: float) -> dict[str, dict[str, float]]:
    """Per instrumented function, the calls that began inside [start, end]: count, wall, CPU, longest."""
    found: dict[str, dict[str, float]] = {}
    for name, samples in calls.items():
        inside = [(wall, cpu) for began, wall, cpu in samples if start <= began <= end]
        if inside:
            found[name] = {
                "calls": len(inside),
                "wall_s": sum(wall for wall, _ in inside),
                "cpu_s": sum(cpu for _, cpu in inside),
                "max_ms": 1000 * max(wall for wall, _ in inside),
            }
    return found


def ms(value: float | None) -> float | None:
    return None if value is None else 1000 * value


# -- the runs --------------------------------------------------------------------------------------


def run_headless(directory: Path, config: Path, store: Path, sources: int) -> dict[str, Any]:
    database = working_copy(store, directory)
    events = directory / "events-headless.jsonl"
    events.unlink(missing_ok=True)
    launch = launch_headless(child_command("headless", config, database, events, False, sources), events)
    launch.wait_for("first_complete_paint", 300)
    finish(launch, None)
    found = launch.read_events()
    return _launch_times(launch, found)


def _launch_times(launch: Launch, found: dict[str, float]) -> dict[str, Any]:
    run_start = found["run_start"]
    return {
        "imports_s": found["imported"] - found["child_started"],
        "spawn_to_run_s": run_start - launch.spawned,
        "run_to_mount_s": found["mount"] - run_start,
        "run_to_dashboard_s": found["dashboard_applied"] - run_start,
        "run_to_stream_s": found["stream_applied"] - run_start,
        "run_to_first_paint_s": found["first_complete_paint"] - run_start,
        "spawn_to_first_frame_s": (launch.first_output - launch.spawned) if launch.first_output else None,
        "spawn_to_first_paint_s": found["first_complete_paint"] - launch.spawned,
    }


def run_pty(
    directory: Path, config: Path, store: Path, sources: int, *, poll: bool, idle_seconds: float
) -> dict[str, Any]:
    database = working_copy(store, directory)
    events = directory / f"events-pty-{'poll' if poll else 'nopoll'}.jsonl"
    events.unlink(missing_ok=True)
    machine_before = machine_cpu()
    launch, master = launch_in_pty(child_command("pty", config, database, events, poll, sources), events)
    result: dict[str, Any] = {}
    try:
        launch.wait_for("first_complete_paint", 300)
        if poll:
            poll_done = launch.wait_for("poll_done", 900)
            app_cpu = cpu_snapshot(launch.process.pid)
            app_cpu_total = app_cpu.root_cpu + sum(app_cpu.live.values())
            result["poll_app_cpu_s"] = app_cpu_total
            result["poll_other_load_cores"] = other_load(machine_before, machine_cpu(), app_cpu_total)
            time.sleep(IDLE_SETTLE)  # the refresh after the last poll, and the probe stops
            result["idle"] = measure_idle(launch, idle_seconds)
            result["poll_wall_s"] = poll_done - launch.read_events()["mount"]
    finally:
        finish(launch, master)
    found = launch.read_events()
    result |= _launch_times(launch, found)
    result["output_bytes"] = launch.output_bytes
    dump = launch.dump()
    if not dump:
        raise RuntimeError(f"the app did not report its probes; exit code {launch.process.returncode}")
    mount = found["mount"]
    paint = found["first_complete_paint"]
    result["stalls_launch"] = stall_stats(dump["late_ticks"], mount, paint)
    result["calls_launch"] = call_stats(dump["calls"], launch.spawned, paint)
    if poll:
        done = found["poll_done"]
        result["stalls_poll"] = stall_stats(dump["late_ticks"], mount, done, dump["ticks"])
        result["queue_poll"] = stall_stats(dump["late_messages"], mount, done, dump["messages"])
        idle = result["idle"]
        result["calls_poll"] = call_stats(dump["calls"], mount, done)
        result["calls_idle"] = call_stats(dump["calls"], idle["start"], idle["end"])
        result["idle"]["refreshes"] = sum(1 for t in dump["computed"] if idle["start"] <= t <= idle["end"])
        result["refreshes_during_poll"] = sum(1 for t in dump["computed"] if mount <= t <= done)
    return result


def run_readonly_idle(
    directory: Path, config: Path, store: Path, sources: int, seconds: float
) -> dict[str, Any]:
    """A read-only instance (`--readonly`: never polls, re-reads the store on a timer) left idle."""
    database = working_copy(store, directory)
    events = directory / "events-pty-readonly.jsonl"
    events.unlink(missing_ok=True)
    command = child_command("pty", config, database, events, False, sources, readonly=True)
    launch, master = launch_in_pty(command, events)
    try:
        launch.wait_for("first_complete_paint", 300)
        time.sleep(IDLE_SETTLE)
        idle = measure_idle(launch, seconds)
    finally:
        finish(launch, master)
    dump = launch.dump()
    idle["refreshes"] = sum(1 for t in dump.get("computed", []) if idle["start"] <= t <= idle["end"])
    idle["calls"] = call_stats(dump.get("calls", {}), idle["start"], idle["end"])
    return {"idle": idle}


def measure_idle(launch: Launch, seconds: float) -> dict[str, Any]:
    """CPU of the app and its children over `seconds` of wall time, as % of one core."""
    pid = launch.process.pid
    machine_before = machine_cpu()
    start = cpu_snapshot(pid)
    started = time.monotonic()
    time.sleep(seconds)
    ended = time.monotonic()
    end = cpu_snapshot(pid)
    use = cpu_between(start, end)
    return {
        "start": started,
        "end": ended,
        "wall_s": use.wall,
        "cpu_process_s": use.process,
        "cpu_children_s": use.children,
        "percent_of_one_core": 100 * use.cores,
        "other_load_cores": other_load(machine_before, machine_cpu(), use.total),
    }


# -- the report ------------------------------------------------------------------------------------


def report_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for label, run in results.items():
        if not isinstance(run, dict) or "run_to_first_paint_s" not in run:
            continue
        rows.append(
            [
                label,
                run["imports_s"],
                run["run_to_mount_s"],
                run["run_to_dashboard_s"],
                run["run_to_stream_s"],
                run["run_to_first_paint_s"],
                run["spawn_to_first_frame_s"],
                run["spawn_to_first_paint_s"],
            ]
        )
    return rows


PAINT_HEADERS = [
    "launch",
    "imports s",
    "run->mount s",
    "run->analytics s",
    "run->stream s",
    "run->first paint s",
    "spawn->first frame s",
    "spawn->first paint s",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=1000, help="local feeds the app polls (default 1000)")
    parser.add_argument("--idle-seconds", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=3, help="headless first-paint runs (default 3)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("headless", "pty", "poll", "readonly"))
    parser.add_argument(
        "--readonly-idle-seconds", type=float, default=60.0, help="idle window of the read-only instance"
    )
    parser.add_argument("--output", default="bench_dashboard")
    parser.add_argument(
        "--ablate-refresh",
        action="store_true",
        help="diagnostic: finished polls trigger no analytics refresh (results to NAME-ablate-refresh)",
    )
    parser.add_argument("--child", choices=("headless", "pty"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    parser.add_argument("--sources", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--poll", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--readonly", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ablate_refresh and not args.child:
        os.environ[ABLATE_ENV] = "refresh"
        args.output += "-ablate-refresh"
    if args.child:
        child_main(args)
        return 0
    info = machine_info()
    print(describe_machine(info))
    print(busy_note() or f"load average {load_average():.2f}", end="\n\n")
    store = cached_store(args.mentions)
    results: dict[str, Any] = {}
    targets: list[Target] = []
    with FeedServer(args.feeds) as server, tempfile.TemporaryDirectory(prefix="bench-dashboard-") as work:
        directory = Path(work)
        config = write_feeds_toml(directory, server.urls(args.feeds), max_concurrency=8, keywords=KEYWORDS)
        if "headless" not in args.skip:
            for attempt in range(args.repeat):
                print(f"headless first paint, run {attempt + 1}/{args.repeat} ...", flush=True)
                results[f"headless #{attempt + 1}"] = run_headless(directory, config, store, args.feeds)
        if "pty" not in args.skip:
            print("pty launch, polling off ...", flush=True)
            results["pty"] = run_pty(directory, config, store, args.feeds, poll=False, idle_seconds=0)
        if "poll" not in args.skip:
            print(f"pty launch polling {args.feeds} feeds, then {args.idle_seconds:g} s idle ...", flush=True)
            results["pty+poll"] = run_pty(
                directory, config, store, args.feeds, poll=True, idle_seconds=args.idle_seconds
            )
            results["pty+poll"]["server_responses"] = server.take_counts()
        if "readonly" not in args.skip:
            print(f"pty launch, read-only, {args.readonly_idle_seconds:g} s idle ...", flush=True)
            results["pty read-only"] = run_readonly_idle(
                directory, config, store, args.feeds, args.readonly_idle_seconds
            )
    print()
    print(
        format_table(
            PAINT_HEADERS,
            report_rows(results),
            title=f"first paint, {args.mentions:,} mentions, {SIZE[0]}x{SIZE[1]}",
        )
    )
    paints = [run["run_to_first_paint_s"] for label, run in results.items() if label.startswith("headless")]
    if paints:
        print(
            f"headless run->first paint: median {statistics.median(paints):.2f} s, min {min(paints):.2f}, max {max(paints):.2f}"
        )
        targets.append(Target("first complete paint, headless (median)", statistics.median(paints), 2.0, "s"))
    if "pty" in results:
        targets.append(
            Target(
                "first complete paint, real launch in a pty (from spawn)",
                results["pty"]["spawn_to_first_paint_s"],
                2.0,
                "s",
            )
        )
    if "pty+poll" in results:
        run = results["pty+poll"]
        print()
        rows = [
            ["launch (mount -> first paint)", *_stall_row(run["stalls_launch"])],
            ["cold poll: timer lateness", *_stall_row(run["stalls_poll"])],
            ["cold poll: message latency", *_stall_row(run["queue_poll"])],
        ]
        print(
            format_table(
                ["window", "length s", "max ms", "> 16 ms", "> 50 ms", "worst (at s, ms)"],
                rows,
                title=f"event-loop stalls, 10 ms probe, app polling {args.feeds:,} feeds",
            )
        )
        print(
            f"cold poll in the app: {run['poll_wall_s']:.1f} s for {args.feeds:,} feeds; {run['refreshes_during_poll']} analytics refreshes during it; server: {run['server_responses']}"
        )
        print(
            f"app process tree CPU from launch to the end of the cold poll: {run['poll_app_cpu_s']:.1f} s; "
            f"other processes kept {run['poll_other_load_cores']:.2f} cores busy meanwhile"
        )
        idle = run["idle"]
        print(
            f"idle {idle['wall_s']:.0f} s: process {idle['cpu_process_s']:.2f} s + children {idle['cpu_children_s']:.2f} s CPU "
            f"= {idle['percent_of_one_core']:.2f} % of one core; {idle['refreshes']} analytics refreshes; "
            f"other processes kept {idle['other_load_cores']:.2f} cores busy"
        )
        for window in ("launch", "poll", "idle"):
            calls = run[f"calls_{window}"]
            rows = [[name, v["calls"], v["wall_s"], v["cpu_s"], v["max_ms"]] for name, v in calls.items()]
            print()
            print(
                format_table(
                    ["function", "calls", "wall s", "CPU s", "longest ms"],
                    rows,
                    title=f"where the time goes: {window}",
                )
            )
        targets.append(
            Target("longest event-loop stall during the cold poll", run["stalls_poll"]["max_ms"], 50, "ms")
        )
        targets.append(Target("idle CPU between polls", idle["percent_of_one_core"], 1.0, "% of one core"))
        if run["spawn_to_first_paint_s"]:
            print(f"first paint while polling: {run['spawn_to_first_paint_s']:.2f} s from spawn")
    if "pty read-only" in results:
        idle = results["pty read-only"]["idle"]
        print(
            f"read-only instance idle {idle['wall_s']:.0f} s (no target; it re-reads on a timer): "
            f"{idle['percent_of_one_core']:.2f} % of one core, {idle['refreshes']} analytics refreshes"
        )
    print()
    for target in targets:
        print(target.line())
    path = write_results(args.output, {"parameters": vars(args), "results": results, "targets": targets})
    print(f"written to {path}")
    return 0


def _stall_row(stats: dict[str, Any]) -> list[Any]:
    worst = ", ".join(f"{at:g}:{late:g}" for at, late in stats["worst_at_s_ms"][:4])
    return [stats["window_s"], stats["max_ms"], stats["over_16ms"], stats["over_50ms"], worst]


if __name__ == "__main__":
    sys.exit(main())
