"""Benchmark: what storing links costs the writer (issue 12: linking adds < 10 % to a cold poll).

    python -m bench.bench_echo_store                  # 1,000 sources x 50 mentions
    python -m bench.bench_echo_store --sources 200

A cold poll's store side without the network or the parser: `Store.save_poll` of 1,000 sources of 50
fresh mentions each (bench_poll's shape: an entry link and one anchor in the description, so two links
per mention of which one is the entry's own URL), then the same polls again with every summary changed
(the text-change path, which replaces the links). CPU seconds of this process (process_time), median
of the repeats, each into a fresh database. Run it on the writer before and after a change to compare;
the whole cold poll is bench/bench_poll.py. Results: bench/results/echo_store.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import describe_machine, machine_info, write_results
from dashboard.models import (
    Link,
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.writer import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _mentions(feed: int, entries: int, edit: int) -> tuple[Mention, ...]:
    site = f"https://blog{feed}.example.org"
    return tuple(
        Mention(
            key=f"{site}/?p={10_000 + item}",
            kind=MentionKind.POST,
            url=f"{site}/posts/{item}",
            title=f"Post {item} of blog {feed}",
            author="someone",
            published=T0 + timedelta(minutes=item),
            summary=f"Some words about post {item} (edit {edit}) and a link {site}/posts/{item}#more",
            links=(Link(f"{site}/posts/{item}", "url"), Link(f"{site}/posts/{item}#more", "content")),
        )
        for item in range(entries)
    )


def _run(folder: Path, sources: int, entries: int) -> tuple[float, float]:
    """CPU seconds of the cold polls, and of the polls that change every text."""
    configs = [
        SourceConfig(name=f"blog {n}", type="feed", interval=900, url=f"https://blog{n}.example.org/feed")
        for n in range(sources)
    ]
    batches = [[_mentions(n, entries, edit) for n in range(sources)] for edit in (0, 1)]
    update = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)
    spent = []
    with Store.open(folder / "bench.db") as store:
        store.sync_sources(configs, {config.name: "x" for config in configs})
        for edit, batch in enumerate(batches):
            started = time.process_time()
            for config, mentions in zip(configs, batch, strict=True):
                record = PollRecord(config.name, T0 + timedelta(hours=edit), 0.1, SourceStatus.OK)
                store.save_poll(config, record, update, PollOutcome(mentions=mentions))
            spent.append(time.process_time() - started)
    return spent[0], spent[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default="echo_store")
    args = parser.parse_args()
    cold, changed = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            first, second = _run(Path(folder), args.sources, args.entries)
        cold.append(first)
        changed.append(second)
    results = {
        "cold_cpu_s": statistics.median(cold),
        "changed_cpu_s": statistics.median(changed),
        "cold_runs": cold,
        "changed_runs": changed,
        "mentions": args.sources * args.entries,
    }
    info = machine_info()
    print(describe_machine(info))
    print(f"{args.sources} sources x {args.entries} mentions, median of {args.repeats}:")
    print(f"  cold save_poll CPU      {results['cold_cpu_s']:.2f} s  {cold}")
    print(f"  text-changed save_poll  {results['changed_cpu_s']:.2f} s  {changed}")
    write_results(args.output, {"machine": info, "parameters": vars(args), "results": results})


if __name__ == "__main__":
    main()
