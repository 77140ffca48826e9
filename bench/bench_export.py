"""Export a million mentions to CSV: our streaming export against the naive pandas one-liner.

    python -m bench.bench_export                      # 1,000,000 mentions, store cached in bench/.cache
    python -m bench.bench_export --mentions 200000

Each approach runs in its own fresh process so peak memory (ru_maxrss) is its own:
- "export": what `community-dashboard export --what mentions` does: the mentions table streamed in
  10k-row chunks, keywords matched, formulas neutralised, ISO timestamps; a large window is rendered
  on two cores (this process + one worker process, whose peak is reported separately);
- "export (one process)": the same, forced to stay in one process;
- "naive": `pd.read_sql("SELECT * FROM mentions")` then `to_csv`: raw columns, epoch integers, no
  source names, no neutralisation, everything in memory at once.
Results go to bench/results/export.json with the machine's description and its load at the time
(wall times on a shared 2-core machine depend on what else runs; CPU seconds are given too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "export.json"
KEYWORDS = ("ourproject", "competitor", "othertool")
TARGET_SECONDS = 10.0
TARGET_MB = 300.0


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_export(store: Path, out: Path, *, parallel: bool) -> dict[str, Any]:
    from dashboard.analytics.windows import Window
    from dashboard.export.csvfile import write_blocks_to
    from dashboard.export.streaming import mention_blocks, plan_mentions
    from dashboard.export.tables import MENTIONS, Selection
    from dashboard.store.reader import StoreReader

    began = time.perf_counter()
    with StoreReader.open(store) as reader:
        window = Window.between(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        selection = Selection(window, keywords=KEYWORDS)
        plan = plan_mentions(reader, selection)
        blocks = mention_blocks(reader, selection, database=store, parallel=parallel, plan=plan)
        written = write_blocks_to(out, MENTIONS, blocks)
    return {"rows": written.rows, "bytes": written.size, "seconds": time.perf_counter() - began}


def run_naive(store: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    began = time.perf_counter()
    connection = sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True)
    frame = pd.read_sql("SELECT * FROM mentions", connection)
    frame.to_csv(out, index=False)
    connection.close()
    return {"rows": len(frame), "bytes": out.stat().st_size, "seconds": time.perf_counter() - began}


def child(approach: str, store: Path, out: Path) -> None:
    """Run one approach in this (fresh) process and print its measurements as JSON."""
    main_before = _cpu_seconds(resource.RUSAGE_SELF)
    if approach == "naive":
        result = run_naive(store, out)
    else:
        result = run_export(store, out, parallel=approach == "export")
    main_cpu = _cpu_seconds(resource.RUSAGE_SELF) - main_before
    worker_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)  # the worker process, reaped at the end
    result.update(
        cpu_seconds=main_cpu + worker_cpu,
        cpu_seconds_main=main_cpu,
        cpu_seconds_worker=worker_cpu or None,
        # With two free cores the run takes about as long as its busier process.
        ideal_seconds_on_two_free_cores=max(main_cpu, worker_cpu),
        peak_rss_mb=_peak_mb(resource.RUSAGE_SELF),
        worker_peak_rss_mb=_peak_mb(resource.RUSAGE_CHILDREN) or None,
    )
    print(json.dumps(result))


def measure(approach: str, store: Path, out: Path) -> dict[str, Any]:
    load = os.getloadavg()[0]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_export",
            "--child",
            approach,
            "--store",
            str(store),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["load_average_before"] = round(load, 2)
    out.unlink(missing_ok=True)
    return result


def machine() -> dict[str, Any]:
    import numpy
    import pandas

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def ensure_store(mentions: int) -> Path:
    from bench.generate import generate_store

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"store-{mentions}-d180-s7-v1.db"  # the same name (and data) the other benches use
    if path.exists():
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
            if connection.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == mentions:
                return path
    print(f"generating a store of {mentions:,} mentions in {path} ...", flush=True)
    generate_store(path, mentions)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", choices=["export", "export-serial", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per approach (the best is kept)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.store, args.out)
        return
    store = args.store or ensure_store(args.mentions)
    out = CACHE / "bench-export.csv"
    runs: dict[str, dict[str, Any]] = {}
    for name, approach in (
        ("export", "export"),
        ("export (one process)", "export-serial"),
        ("naive", "naive"),
    ):
        attempts = [measure(approach, store, out) for _ in range(args.repeat)]
        runs[name] = min(attempts, key=lambda result: float(result["seconds"]))
        result = runs[name]
        worker = f" + worker {result['worker_peak_rss_mb']:.0f} MB" if result["worker_peak_rss_mb"] else ""
        print(
            f"{name:<22} {result['rows']:>9,} rows  {result['seconds']:6.2f} s wall  "
            f"{result['cpu_seconds']:6.2f} s CPU  peak {result['peak_rss_mb']:.0f} MB{worker}  "
            f"(load before {result['load_average_before']})",
            flush=True,
        )
    report = {
        "benchmark": "export 1M mentions to CSV"
        if args.mentions == 1_000_000
        else f"export {args.mentions} mentions",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "store": {"path": str(store), "mentions": args.mentions, "bytes": store.stat().st_size},
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_MB},
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
