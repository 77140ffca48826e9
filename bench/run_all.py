"""Run every benchmark script (bench/bench_*.py) in turn, each in its own process, and summarise.

    python -m bench.run_all                  # everything, with each script's defaults
    python -m bench.run_all --quick          # shorter settings for the scripts that have them
    python -m bench.run_all --only bench_poll bench_dashboard

Each script prints its own tables and writes bench/results/*.json; this only sequences them (never
two at once: they would steal each other's CPU) and reports which ones failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import BENCH_DIR, REPO_DIR, describe_machine, format_table, load_average, machine_info

# Shorter settings, for the scripts that know them (the others run with their defaults).
QUICK_ARGS: dict[str, list[str]] = {
    "bench_poll": ["--feeds", "100", "1000", "--no-naive"],
    "bench_dashboard": ["--idle-seconds", "60", "--repeat", "1"],
}


def bench_scripts() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME", help="skip these scripts")
    parser.add_argument("--quick", action="store_true", help="shorter settings where a script has them")
    args = parser.parse_args(argv)
    available = bench_scripts()
    unknown = sorted(set(args.only or []) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(available)})")
    chosen = [name for name in available if (not args.only or name in args.only) and name not in args.skip]
    print(describe_machine(machine_info()), end="\n\n")
    rows: list[list[object]] = []
    failed = 0
    for name in chosen:
        command = [sys.executable, "-m", f"bench.{name}", *(QUICK_ARGS.get(name, []) if args.quick else [])]
        print(f"=== {' '.join(command[1:])} (load average {load_average():.2f})", flush=True)
        began = time.perf_counter()
        code = subprocess.run(command, cwd=REPO_DIR).returncode
        seconds = time.perf_counter() - began
        failed += code != 0
        rows.append([name, "ok" if code == 0 else f"failed ({code})", seconds])
        print(flush=True)
    print(format_table(["benchmark", "result", "wall s"], rows, title="all benchmarks"))
    print(f"results in {Path(BENCH_DIR / 'results').relative_to(REPO_DIR)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
