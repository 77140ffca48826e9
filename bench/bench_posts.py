"""Benchmark: the Posts panel (issue 12) over a 1M-mention store, against a naive pandas join.

    python -m bench.bench_posts                       # 1M store (cached in bench/.cache/)
    python -m bench.bench_posts --size 100000 --repeats 5

The store is bench_panels' generated store copied once with the echo columns filled in SQL, as the
writer would leave them: "Project blog" is `own` (its ~10k posts get canonical URLs), a new own source
"Blog comments" holds 5k comments (`post#comment-N`), 3 % of the other mentions link to a post
(published before them, the recent ones likelier) and a tenth of those to a second post; every
mention's canonical_url is its url. "fast" is `analytics.posts.posts_frame` (SQL through the indexes,
then pandas on the posts' links only); "naive" loads the mentions, links and sources tables whole into
pandas and joins them. CPU seconds (process_time) are the target's measure (the machine is shared);
medians over the repeats after one warm-up. Results: bench/results/posts.json.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.bench_panels import CACHE, END, at_current_schema, store_path
from bench.common import describe_machine, machine_info, ratio, write_results
from dashboard.analytics.posts import posts_frame
from dashboard.analytics.windows import Window
from dashboard.durations import WINDOW_SPECS
from dashboard.store.reader import StoreReader

ECHO_FILL_VERSION = 1
BLOG = "https://blog.ourproject.example/post/"


def echo_store(size: int) -> Path:
    """store_path(size) copied once with own posts, comments and links filled (module docstring)."""
    path = CACHE / f"{store_path(size).stem}-echo{ECHO_FILL_VERSION}.db"
    if path.exists():
        return at_current_schema(path)
    pending = path.with_suffix(".part")
    shutil.copyfile(store_path(size), pending)
    rng = np.random.default_rng(12)
    with sqlite3.connect(pending) as db:
        db.execute("UPDATE mentions SET canonical_url = url, links_version = 1")
        db.execute("UPDATE sources SET own = 1 WHERE name = 'Project blog'")
        blog = db.execute("SELECT id FROM sources WHERE name = 'Project blog'").fetchone()[0]
        posts = db.execute(
            "SELECT id, published_at FROM mentions WHERE source_id = ? ORDER BY published_at", (blog,)
        ).fetchall()
        db.executemany(
            "UPDATE mentions SET canonical_url = ? WHERE id = ?",
            [(f"{BLOG}{index}", row[0]) for index, row in enumerate(posts)],
        )
        post_times = np.array([at for _, at in posts], dtype=np.int64)
        others = np.array(
            db.execute("SELECT id, published_at FROM mentions WHERE source_id != ?", (blog,)).fetchall()
        )
        chosen = others[rng.random(len(others)) < 0.03]
        # A post published before the mention, the recent ones likelier.
        latest = np.searchsorted(post_times, chosen[:, 1], side="right") - 1
        back = rng.geometric(0.05, len(chosen)) - 1
        target = np.clip(latest - back, 0, len(posts) - 1)
        links = [(int(m), f"{BLOG}{int(t)}", "url") for m, t in zip(chosen[:, 0], target, strict=True)]
        second = rng.random(len(chosen)) < 0.1
        links += [
            (int(m), f"{BLOG}{int(max(t - 1, 0))}", "content")
            for m, t in zip(chosen[second, 0], target[second], strict=True)
        ]
        db.executemany("INSERT OR IGNORE INTO mention_links (mention_id, url, via) VALUES (?, ?, ?)", links)
        db.execute(
            "INSERT INTO sources (name, type, target, status, own) VALUES ('Blog comments', 'feed', 'x', 'ok', 1)"
        )
        comments_source = db.execute("SELECT id FROM sources WHERE name = 'Blog comments'").fetchone()[0]
        picks = rng.integers(0, len(posts), 5000)
        db.executemany(
            """INSERT INTO mentions (source_id, key, kind, url, canonical_url, published_at, first_seen_at,
                                     updated_at, links_version) VALUES (?, ?, 'comment', ?, ?, ?, ?, ?, 1)""",
            [
                (
                    comments_source,
                    f"c{n}",
                    f"{BLOG}{int(p)}#comment-{n}",
                    f"{BLOG}{int(p)}",
                    int(post_times[p]) + 600,
                    int(post_times[p]) + 600,
                    int(post_times[p]) + 600,
                )
                for n, p in enumerate(picks)
            ],
        )
    pending.rename(path)
    return path


def naive(reader_path: Path, window: Window) -> pd.DataFrame:
    """Every table whole into pandas, then the joins: the way without SQL and indexes."""
    with sqlite3.connect(reader_path) as db:
        mentions = pd.read_sql_query(
            "SELECT id, source_id, kind, canonical_url, published_at, likes, replies, shares FROM mentions",
            db,
        )
        links = pd.read_sql_query("SELECT mention_id, url, via FROM mention_links", db)
        sources = pd.read_sql_query("SELECT id, name, type, own FROM sources", db)
    own_ids = set(sources.loc[sources["own"] == 1, "id"])
    own = mentions[mentions["source_id"].isin(own_ids)]
    posts = own[own["kind"] == "post"].sort_values("published_at").drop_duplicates("canonical_url")
    reactions = (
        posts[["canonical_url"]]
        .merge(links, left_on="canonical_url", right_on="url")
        .merge(mentions, left_on="mention_id", right_on="id", suffixes=("", "_r"))
    )
    start, end = window.start_epoch, window.end_epoch
    reactions = reactions[(reactions["published_at"] >= start) & (reactions["published_at"] < end)]
    reactions["engagement"] = reactions[["likes", "replies", "shares"]].sum(axis=1, min_count=1)
    counts = reactions.groupby("url").agg(reactions=("id", "size"), engagement=("engagement", "sum"))
    return counts.sort_values(["reactions", "engagement"], ascending=False)


def measure(run: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(median CPU seconds, median wall seconds) after one warm-up."""
    run()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        run()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    path = echo_store(args.size)
    rows: dict[str, Any] = {}
    with StoreReader.open(path) as reader:
        for spec in WINDOW_SPECS:
            window = Window.last(spec, END)
            frame = posts_frame(reader, window)
            fast_cpu, fast_wall = measure(partial(posts_frame, reader, window), args.repeats)
            naive_cpu, naive_wall = measure(partial(naive, path, window), max(1, args.repeats // 2))
            rows[spec] = {
                "posts": len(frame),
                "reactions": int(frame["reactions"].sum()),
                "fast_cpu_ms": fast_cpu * 1000,
                "fast_wall_ms": fast_wall * 1000,
                "naive_cpu_ms": naive_cpu * 1000,
                "naive_wall_ms": naive_wall * 1000,
                "speedup_cpu": ratio(naive_cpu, fast_cpu),
            }
            print(
                f"{spec:>4}: {len(frame):5} posts, {rows[spec]['reactions']:6} reactions | "
                f"fast {fast_cpu * 1000:7.1f} ms CPU ({fast_wall * 1000:7.1f} wall) | "
                f"naive {naive_cpu * 1000:7.1f} ms CPU | x{rows[spec]['speedup_cpu']:.1f}"
            )
    info = machine_info()
    print(describe_machine(info))
    write_results("posts", {"size": args.size, "windows": rows, "machine": info})


if __name__ == "__main__":
    main()
