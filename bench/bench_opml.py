"""Importing a large OPML file: the text-writing merge against the old tomlkit one, in one run.

    python -m bench.bench_opml                        # 10,000 and 100,000 outlines
    python -m bench.bench_opml --outlines 1000 20000 --no-old

Both merges get the same feeds (parsed once from a generated OPML document) and the same small
feeds.toml. The old merge, kept below as `tomlkit_merge_feeds`, built a tomlkit table per entry and
appended it to the document's array of tables: ~0.6 ms of item construction per entry, and one in
ten outlines sharing a title made the " (2)", " (3)"... search rescan from (2) every time. The new
one writes each entry as text. The whole `import_opml` (read, merge, validate with the real config
parser, write) is timed too. CPU seconds (process time) are the figure to read: the machine is shared.
Results go to bench/results/opml.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
import tomlkit.items

from bench.common import describe_machine, format_table, machine_info, ratio, write_results
from dashboard.export.opml import (
    MAX_NAME_LENGTH,
    ImportReport,
    OpmlError,
    OpmlFeed,
    Outcome,
    _clean,
    _fallback_name,
    _unique,
    import_opml,
    merge_feeds,
    parse_opml,
    url_key,
    url_problem,
)

FEEDS_TOML = '# my feeds\n[settings]\ninterval = "15m"\n\n[[feeds]]\nname = "Ours"\nurl = "https://ours.example/feed.xml"\n'


def opml_document(outlines: int) -> bytes:
    """An OPML file of `outlines` feeds in folders of 100 (~6 MB for 100,000); every tenth title is
    "Podcast" (shared)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>t</title></head><body>\n'
    ]
    for folder in range(0, outlines, 100):
        parts.append(f'<outline text="Folder {folder // 100}">\n')
        for number in range(folder, min(folder + 100, outlines)):
            title = "Podcast" if number % 10 == 0 else f"Feed &amp; {number}"
            # Short lines: 100,000 of them must stay under the importer's 10 MiB cap.
            parts.append(f'<outline text="{title}" xmlUrl="https://s{number}.example/rss" category="a/b"/>\n')
        parts.append("</outline>\n")
    parts.append("</body></opml>\n")
    return "".join(parts).encode("utf-8")


# -- the merge as it was (tomlkit), kept as the reference ----------------------------------------


def _old_existing_entries(document: tomlkit.TOMLDocument) -> tuple[set[str], dict[str, str]]:
    names: set[str] = set()
    urls: dict[str, str] = {}
    for entry in document.get("feeds", []):
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if isinstance(name, str):
            names.add(name.casefold())
        url = entry.get("url")
        if isinstance(url, str):
            urls[url_key(url)] = str(name)
    return names, urls


def _old_unique_name(wanted: str, taken: set[str]) -> str:
    if wanted.casefold() not in taken:
        return wanted
    number = 2
    while f"{wanted} ({number})".casefold() in taken:
        number += 1
    return f"{wanted} ({number})"


def _old_feeds_array(document: tomlkit.TOMLDocument) -> tomlkit.items.AoT:
    if "feeds" not in document:
        document.append("feeds", tomlkit.aot())
    feeds = document["feeds"]
    if not isinstance(feeds, tomlkit.items.AoT):
        raise OpmlError("feeds.toml writes its feeds as an inline array")
    return feeds


def _old_entry(name: str, feed: OpmlFeed, previous: str, origin: str) -> tomlkit.items.Table:
    table = tomlkit.table()
    table.trivia.indent = "" if not previous or previous.endswith("\n\n") else "\n"
    if origin:
        table.add(tomlkit.comment(f"imported from {origin}"))
    table.add("name", name)
    table.add("url", feed.url)
    tags = _unique(tag for tag in (_clean(tag) for tag in feed.tags) if tag)
    if tags:
        table.add("tags", list(tags))
    table.add(tomlkit.nl())
    return table


def tomlkit_merge_feeds(text: str, feeds: Sequence[OpmlFeed], *, origin: str = "") -> ImportReport:
    """dashboard.export.opml.merge_feeds before the text-writing rewrite."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as error:
        raise OpmlError(f"feeds.toml is not valid TOML: {error}") from None
    taken, known_urls = _old_existing_entries(document)
    origin = _clean(origin)
    outcomes: list[Outcome] = []
    array: tomlkit.items.AoT | None = None
    for feed in feeds:
        problem = url_problem(feed.url)
        wanted = (_clean(feed.title) or _fallback_name(feed.url))[:MAX_NAME_LENGTH].strip()
        if problem is not None:
            outcomes.append(Outcome(wanted, _clean(feed.url), False, problem))
            continue
        key = url_key(feed.url)
        if key in known_urls:
            outcomes.append(Outcome(wanted, feed.url, False, f"already there as {known_urls[key]!r}"))
            continue
        name = _old_unique_name(wanted, taken)
        array = array if array is not None else _old_feeds_array(document)
        previous = array[-1].as_string() if len(array) else ""
        array.append(_old_entry(name, feed, previous, origin))
        taken.add(name.casefold())
        known_urls[key] = name
        renamed = f"renamed from {wanted!r}: the name was taken" if name != wanted else ""
        outcomes.append(Outcome(name, feed.url, True, renamed))
    if array is None:
        return ImportReport(tuple(outcomes), text)
    return ImportReport(tuple(outcomes), tomlkit.dumps(document).rstrip("\n") + "\n")


# -- the run ---------------------------------------------------------------------------------------


def cpu_seconds(run: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outlines", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-old", action="store_true", help="skip the old tomlkit merge (slow)")
    args = parser.parse_args()
    rows: list[list[Any]] = []
    for outlines in args.outlines:
        document = opml_document(outlines)
        feeds = parse_opml(document)
        new_s, new_report = cpu_seconds(partial(merge_feeds, FEEDS_TOML, feeds, origin="subs.opml"))
        assert isinstance(new_report, ImportReport)
        assert len(new_report.added) == outlines
        old_s: float | None = None
        if not args.no_old:
            old_s, old_report = cpu_seconds(
                partial(tomlkit_merge_feeds, FEEDS_TOML, feeds, origin="subs.opml")
            )
            assert isinstance(old_report, ImportReport)
            assert [o.name for o in old_report.added] == [o.name for o in new_report.added]
        with tempfile.TemporaryDirectory() as folder:
            opml, config = Path(folder) / "subs.opml", Path(folder) / "feeds.toml"
            opml.write_bytes(document)
            config.write_text(FEEDS_TOML, encoding="utf-8")
            whole_s, _ = cpu_seconds(partial(import_opml, opml, config))
        rows.append(
            [
                outlines,
                round(old_s, 2) if old_s is not None else "-",
                round(new_s, 2),
                round(ratio(old_s, new_s) or 0.0, 1) if old_s is not None else "-",
                round(whole_s, 2),
            ]
        )
    info = machine_info()
    print(describe_machine(info))
    headers = ["outlines", "tomlkit merge CPU s", "text merge CPU s", "ratio", "whole import CPU s"]
    print(format_table(headers, rows, title="merge_feeds of N OPML outlines into a small feeds.toml"))
    keys = ["outlines", "old_merge_cpu_s", "new_merge_cpu_s", "ratio", "import_opml_cpu_s"]
    write_results("opml", {"machine": info, "rows": [dict(zip(keys, row, strict=True)) for row in rows]})


if __name__ == "__main__":
    main()
