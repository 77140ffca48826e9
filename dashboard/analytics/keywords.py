"""Share of voice over the configured keywords.

A mention counts for a keyword when its title or summary contains it as a whole word (case-insensitive;
"rust" matches "Rust," but not "trust"). A mention naming two keywords counts for both, and each
keyword's share is its mentions over the sum for all keywords, so shares sum to 1 whenever any matched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader

SHARE_COLUMNS = ("keyword", "mentions", "share")


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole word, case-insensitive; lookarounds instead of \\b so "c++" or ".net" work too."""
    return re.compile(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", re.IGNORECASE)


def distinct_keywords(keywords: Sequence[str]) -> list[str]:
    """Blank ones dropped, case-insensitive duplicates collapsed (first spelling kept)."""
    seen: dict[str, str] = {}
    for keyword in keywords:
        cleaned = keyword.strip()
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return list(seen.values())


def keyword_hits(texts: pd.Series, keywords: Sequence[str]) -> pd.DataFrame:
    """A boolean frame, one column per keyword: does each text contain it (as `keyword_pattern`).

    All texts are lowercased and searched as one string, the keyword first (a pattern that starts with
    a lookbehind loses the regex engine's fast literal search: 10x slower); the character before each
    hit is then checked. Same result as `texts.str.contains(keyword_pattern(k))`."""
    lowered = [text.lower() for text in texts.astype("str").tolist()]
    lengths = np.fromiter((len(text) for text in lowered), dtype=np.int64, count=len(lowered))
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    joined = "\n".join(lowered)
    columns: dict[str, np.ndarray] = {}
    for keyword in keywords:
        needle = keyword.strip().lower()
        pattern = re.compile(rf"{re.escape(needle)}(?!\w)")
        positions = [
            start
            for start in (found.start() for found in pattern.finditer(joined))
            if start == 0 or not (joined[start - 1].isalnum() or joined[start - 1] == "_")
        ]
        docs = np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1
        hit = np.zeros(len(lowered), dtype=bool)
        hit[docs] = True
        columns[keyword] = hit
    return pd.DataFrame(columns, index=texts.index, columns=list(keywords), dtype=bool)


def share_of_voice(texts: pd.Series, keywords: Sequence[str]) -> pd.DataFrame:
    """[keyword, mentions, share] in the keywords' order; share is NaN when no text matches any."""
    names = distinct_keywords(keywords)
    hits = keyword_hits(texts.astype("str"), names)
    counts = hits.sum(axis=0).to_numpy(dtype=np.int64) if names else np.zeros(0, dtype=np.int64)
    total = int(counts.sum())
    shares = counts / total if total else np.full(len(names), np.nan)
    return pd.DataFrame(
        {"keyword": pd.Series(names, dtype="str"), "mentions": counts, "share": shares.astype(float)}
    )


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
            pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\'")
            params += [pattern, pattern]
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
    "share_of_voice",
]
