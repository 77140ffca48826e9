"""Share of voice over the configured keywords.

A mention counts for a keyword when its title or summary names it (dashboard.keywords: whole word,
case-insensitive). A mention naming two keywords counts for both, and each keyword's share is its
mentions over the sum for all keywords, so shares sum to 1 whenever any matched.

A keyword the store has matched in every mention (dashboard.store.keywords) is counted from its
matches: one index range per keyword. Any other (just added to feeds.toml, a store of an older
schema, a reader with `rollups=False`) is found by searching the window's texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.keywords import distinct_keywords, keyword_hits, keyword_key, keyword_pattern, like_pattern
from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader

SHARE_COLUMNS = ("keyword", "mentions", "share")


def share_frame(names: Sequence[str], counts: Mapping[str, int]) -> pd.DataFrame:
    """[keyword, mentions, share] in the order of `names`; share is NaN when none has a mention."""
    mentions = np.asarray([counts.get(name, 0) for name in names], dtype=np.int64)
    total = int(mentions.sum())
    shares = mentions / total if total else np.full(len(names), np.nan)
    return pd.DataFrame(
        {"keyword": pd.Series(list(names), dtype="str"), "mentions": mentions, "share": shares.astype(float)}
    )


def share_of_voice(texts: pd.Series, keywords: Sequence[str]) -> pd.DataFrame:
    """The share frame of `keywords` (distinct) over `texts`, searched."""
    names = distinct_keywords(keywords)
    hits = keyword_hits(texts.astype("str").tolist(), names)
    return share_frame(names, {name: int(hit.sum()) for name, hit in hits.items()})


def window_share_of_voice(
    reader: StoreReader, since: datetime, until: datetime, keywords: Sequence[str]
) -> pd.DataFrame:
    """The share frame of the mentions published in [since, until): stored matches where the store
    has them for a keyword, a search of the window's texts for the others."""
    names = distinct_keywords(keywords)
    stored = matched_keywords(reader)
    counted = {name: stored[keyword_key(name)] for name in names if keyword_key(name) in stored}
    counts = stored_counts(reader, since, until, counted)
    searched = [name for name in names if name not in counted]
    if searched:
        texts = keyword_candidates(reader, since, until, searched)["text"].tolist()
        counts.update({name: int(hit.sum()) for name, hit in keyword_hits(texts, searched).items()})
    return share_frame(names, counts)


def matched_keywords(reader: StoreReader) -> dict[str, int]:
    """keyword_key -> id of the tracked keywords matched in every stored mention."""
    if not reader.uses_rollup("tracked_keywords"):
        return {}
    rows = reader.query("SELECT keyword, id FROM tracked_keywords WHERE unmatched_below = 0")
    return {str(keyword): int(keyword_id) for keyword, keyword_id in rows}


def stored_counts(
    reader: StoreReader, since: datetime, until: datetime, ids: Mapping[str, int]
) -> dict[str, int]:
    """Mentions published in [since, until) per keyword, from the stored matches of keywords `ids`."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = reader.query(
        f"""SELECT keyword_id, count(*) FROM keyword_mentions
            WHERE keyword_id IN ({marks}) AND published_at >= ? AND published_at < ? GROUP BY keyword_id""",
        (*ids.values(), to_epoch(since), to_epoch(until)),
    )
    by_id = {int(keyword_id): int(count) for keyword_id, count in rows}
    return {name: by_id.get(keyword_id, 0) for name, keyword_id in ids.items()}


def keyword_candidates(
    reader: StoreReader, since: datetime, until: datetime, keywords: Sequence[str]
) -> pd.DataFrame:
    """[id, source, text] (title + newline + summary) of the mentions in [since, until) that may
    contain one of `keywords`: LIKE prefilters (case-insensitive: ILIKE on PostgreSQL; a superset of the
    whole-word matches); with a non-ASCII keyword every mention of the window is returned.
    """
    clauses = []
    params: list[object] = [to_epoch(since), to_epoch(until)]
    if keywords and all(keyword.isascii() for keyword in keywords):
        for keyword in keywords:
            clauses.append("title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\'")
            params += [like_pattern(keyword)] * 2
    elif not keywords:
        clauses.append("1 = 0")
    where = f" AND ({' OR '.join(clauses)})" if clauses else ""
    rows = reader.query(
        f"""SELECT id, source_id, title || '\n' || summary FROM mentions
            WHERE published_at >= ? AND published_at < ?{where} ORDER BY id""",
        params,
    )
    frame = pd.DataFrame(rows, columns=["id", "source", "text"])
    frame["id"] = frame["id"].astype(np.int64)
    frame["text"] = frame["text"].astype("str")
    return reader.finish_aggregate(frame)


__all__ = [
    "SHARE_COLUMNS",
    "distinct_keywords",
    "keyword_candidates",
    "keyword_hits",
    "keyword_pattern",
    "matched_keywords",
    "share_frame",
    "share_of_voice",
    "stored_counts",
    "window_share_of_voice",
]
