"""What every benchmark script shares: the machine it ran on, CPU and memory accounting of a process
tree, and the result table / JSON file.

CPU and memory are read from /proc (Linux) rather than psutil, so the benches need nothing beyond the
project's own dependencies. CPU time of a process tree is counted as: this process, plus children
reaped during the measurement (RUSAGE_CHILDREN), plus whatever live descendants burnt in between -
so a parse worker that is started, used and replaced inside the measured interval is counted once.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / ".cache"
KEY_PACKAGES = ("textual", "rich", "httpx", "httpcore", "feedparser", "pandas", "numpy")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the machine ------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python, key package versions and the commit measured."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(_meminfo_kib("MemTotal") / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in KEY_PACKAGES},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty_files": len(_git("status", "--porcelain", "--", "dashboard").splitlines()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _meminfo_kib(key: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def describe_machine(info: Mapping[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    dirty = f" (+{info['dirty_files']} uncommitted files in dashboard/)" if info["dirty_files"] else ""
    return (
        f"{info['cpu_model']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, Python {info['python']}, "
        f"SQLite {info['sqlite']}\n{packages}\ncommit {info['commit']}{dirty}"
    )


# -- CPU and memory of a process tree ------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu: float  # user + system seconds
    rss: int  # bytes


def read_stat(pid: int) -> ProcStat | None:
    """One process's /proc/PID/stat, or None when it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return ProcStat(pid, int(fields[1]), (utime + stime) / _TICKS, int(fields[21]) * _PAGE)


def descendants(root: int, exclude: Iterable[int] = ()) -> list[ProcStat]:
    """Every live process below `root` (not `root` itself), skipping `exclude` and their subtrees."""
    stats = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats.append(stat)
    children: dict[int, list[ProcStat]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
    skipped = set(exclude)
    found: list[ProcStat] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child.pid not in skipped:
                found.append(child)
                stack.append(child.pid)
    return found


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds of a process tree at one moment (see `cpu_between`)."""

    root_cpu: float
    reaped_children_cpu: float
    live: Mapping[int, float]
    wall: float


def cpu_snapshot(root: int | None = None, exclude: Iterable[int] = ()) -> CpuSnapshot:
    """CPU of `root` (default: this process) and its descendants. Reaped children are only known
    for this process (RUSAGE_CHILDREN), so for another root only live processes count."""
    wall = time.perf_counter()
    if root is None or root == os.getpid():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        root_cpu = usage.ru_utime + usage.ru_stime
        reaped = kids.ru_utime + kids.ru_stime
        root = os.getpid()
    else:
        stat = read_stat(root)
        root_cpu = stat.cpu if stat else 0.0
        reaped = 0.0
    live = {stat.pid: stat.cpu for stat in descendants(root, exclude)}
    return CpuSnapshot(root_cpu, reaped, live, wall)


@dataclass(frozen=True)
class CpuUse:
    wall: float
    process: float  # CPU seconds of the root process
    children: float  # CPU seconds of its descendants

    @property
    def total(self) -> float:
        return self.process + self.children

    @property
    def cores(self) -> float:
        """Average number of cores kept busy."""
        return self.total / self.wall if self.wall > 0 else 0.0


def cpu_between(start: CpuSnapshot, end: CpuSnapshot) -> CpuUse:
    """CPU burnt between two snapshots. A descendant that died in between (and was reaped) is in
    the reaped total with its whole life, so what it had at `start` is taken off."""
    children = end.reaped_children_cpu - start.reaped_children_cpu
    for pid, cpu in end.live.items():
        children += cpu - start.live.get(pid, 0.0)
    for pid, cpu in start.live.items():
        if pid not in end.live:
            children -= cpu
    return CpuUse(end.wall - start.wall, end.root_cpu - start.root_cpu, max(0.0, children))


class PeakRss:
    """Samples the resident memory of a process tree (sum over its processes) every `interval` s in
    a background thread, keeping the peak. The tree is rediscovered (a scan of all of /proc) every
    `rescan` s and only the known processes are read in between, so the sampler costs well under 1 %
    of a core. Spikes shorter than `interval` can be missed; the root's own peak (ru_maxrss) is exact
    and reported separately by `self_peak_bytes`."""

    def __init__(
        self,
        root: int | None = None,
        exclude: Iterable[int] = (),
        interval: float = 0.05,
        rescan: float = 0.5,
    ) -> None:
        self.root = root if root is not None else os.getpid()
        self.exclude = tuple(exclude)
        self.interval = interval
        self.rescan = rescan
        self.peak_bytes = 0
        self.peak_processes = 0
        self._known: list[int] = []
        self._scanned_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def sample(self, *, full: bool = False) -> None:
        now = time.monotonic()
        if full or now - self._scanned_at >= self.rescan:
            tree = descendants(self.root, self.exclude)
            self._known = [stat.pid for stat in tree]
            self._scanned_at = now
        else:
            tree = [stat for stat in map(read_stat, self._known) if stat is not None]
        own = read_stat(self.root)
        total = (own.rss if own else 0) + sum(stat.rss for stat in tree)
        if total > self.peak_bytes:
            self.peak_bytes = total
            self.peak_processes = 1 + len(tree)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Self:
        self.sample(full=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(full=True)


@dataclass(frozen=True)
class MachineCpu:
    """Busy and total CPU seconds of the whole machine (all processes, all cores), from /proc/stat."""

    busy: float
    total: float
    wall: float


def machine_cpu() -> MachineCpu:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return MachineCpu((total - idle) / _TICKS, total / _TICKS, time.perf_counter())


def other_load(start: MachineCpu, end: MachineCpu, ours: float) -> float:
    """Cores kept busy by processes other than ours (`ours` CPU seconds) between two readings: the
    benchmarks share the machine, and a busy machine makes every wall time longer."""
    wall = end.wall - start.wall
    return max(0.0, (end.busy - start.busy) - ours) / wall if wall > 0 else 0.0


def load_average() -> float:
    return os.getloadavg()[0]


def busy_note() -> str:
    """A warning line when other processes are already loading the machine, else ""."""
    load = load_average()
    cores = os.cpu_count() or 1
    if load <= 0.5 * cores:
        return ""
    return (
        f"WARNING: load average {load:.1f} on {cores} cores before starting: other processes compete "
        "for the CPU and every wall time below is longer than on a quiet machine"
    )


def self_peak_bytes() -> int:
    """This process's peak resident memory since it started (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- results ---------------------------------------------------------------------------------------


@dataclass
class Target:
    """A goal from the brief, checked against a measured value."""

    name: str
    measured: float
    limit: float
    unit: str
    higher_is_better: bool = False
    met: bool = field(init=False)

    def __post_init__(self) -> None:
        self.met = self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "MET " if self.met else "MISS"
        return f"[{verdict}] {self.name}: {self.measured:,.3g} {self.unit} (target {sign} {self.limit:g} {self.unit})"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(widths[i]) if i == 0 else value.rjust(widths[i]) for i, value in enumerate(values)
        )

    out = [title] if title else []
    out += [line([str(h) for h in headers]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def mib(value: float) -> float:
    return value / 2**20


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def write_results(name: str, payload: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """bench/results/NAME.json with the machine, the command line and the payload (written atomically)."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(part) for part in [Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        **payload,
    }
    path = directory / f"{name}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, Path | datetime):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class Stopwatch:
    """`with Stopwatch() as watch: ...; watch.seconds`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def __enter__(self) -> Self:
        self._began = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.seconds = time.perf_counter() - self._began
