"""Validating a large feeds.toml: the indexed line locator against the old quadratic one.

    python -m bench.bench_config                    # 1,000 and 10,000 [[feeds]] entries
    python -m bench.bench_config --entries 1000 20000

Both runs parse the same text with `parse_config` in this process; the only difference is the
locator that finds each entry's line. The old one rebuilt the list of `[[feeds]]` blocks for every
entry (and scanned back through all blocks for each header), so its cost grew with the square of the
entries. CPU seconds (process time) are the figure to read: the machine is shared.
Results go to bench/results/config.json.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dashboard.config as config_module
from bench.common import describe_machine, format_table, machine_info, ratio, write_results
from dashboard.config import parse_config
from dashboard.sources import source_types


class QuadraticLocator(config_module._Locator):
    """The locator as it was before the index: one list scan per look-up."""

    def _last_block(self, path: tuple[str, ...]) -> Any:
        return next((block for block in reversed(self.blocks) if block.path == path), None)

    def entry(self, index: int) -> int | None:
        entries = [block for block in self.blocks if block.path == ("feeds",)]
        if index < len(entries):
            return entries[index].line
        return self.blocks[0].keys.get("feeds")

    def entry_key(self, index: int, key: str) -> int | None:
        entries = [block for block in self.blocks if block.path == ("feeds",)]
        if index < len(entries) and key in entries[index].keys:
            return entries[index].keys[key]
        return self.entry(index)


def feeds_toml(entries: int) -> str:
    head = '[settings]\ninterval = "15m"\n\n'
    return head + "".join(
        f'[[feeds]]\nname = "Feed {i}"\nurl = "https://example{i}.org/feed.xml"\ntags = ["a"]\n\n'
        for i in range(entries)
    )


@contextmanager
def locator(kind: type[config_module._Locator]) -> Iterator[None]:
    saved = config_module._Locator
    config_module._Locator = kind  # type: ignore[misc]
    try:
        yield
    finally:
        config_module._Locator = saved  # type: ignore[misc]


def cpu_seconds(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    registry = source_types()
    rows: list[list[Any]] = []
    for entries in args.entries:
        text = feeds_toml(entries)

        def parse(text: str = text) -> object:
            return parse_config(text, Path("feeds.toml"), registry=registry)

        new = cpu_seconds(parse)
        with locator(QuadraticLocator):
            old = cpu_seconds(parse)
        rows.append([entries, round(old, 3), round(new, 3), round(ratio(old, new) or 0.0, 1)])
    info = machine_info()
    print(describe_machine(info))
    print(
        format_table(
            ["entries", "quadratic CPU s", "indexed CPU s", "ratio"],
            rows,
            title="parse_config of N [[feeds]] entries",
        )
    )
    write_results(
        "config",
        {
            "machine": info,
            "rows": [dict(zip(["entries", "old_cpu_s", "new_cpu_s", "ratio"], r, strict=True)) for r in rows],
        },
    )


if __name__ == "__main__":
    main()
