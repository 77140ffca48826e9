"""Tracked keywords: what it means for a mention to name one, for every layer that asks.

A mention names a keyword when its title or summary contains it as a whole word, case-insensitively
("rust" matches "Rust," but not "trust"; "c++" and ".net" work too). The writer stores each
mention's matches as it stores the mention (dashboard.store.keywords), the share-of-voice panel
counts them, and the scan over stored texts that stands in for a keyword not matched yet uses the
same function, so both always agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np


def keyword_key(keyword: str) -> str:
    """The form a keyword is stored and compared in: stripped, lowercased."""
    return keyword.strip().lower()


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


def mention_text(title: str, summary: str) -> str:
    """The text searched: title and summary, one line apart (a keyword holds no newline, so it never
    matches across the two)."""
    return f"{title}\n{summary}"


def keyword_hits(texts: Sequence[str], keywords: Sequence[str]) -> dict[str, np.ndarray]:
    """Per keyword, a boolean array: does each text name it (`keyword_pattern`)?

    All texts are lowercased and searched as one string, the keyword first (a pattern that starts with
    a lookbehind loses the regex engine's fast literal search: 10x slower); the character before each
    hit is then checked. Same result as `keyword_pattern(k).search(text) is not None`, except that the
    regex would also take the Kelvin sign, a long s or a dotless i for k, s and i (SQL's LIKE does
    not either). As fast as a substring prefilter when 2 % of texts name a keyword, 2x faster when
    all do (10k texts, three keywords)."""
    lowered = [text.lower() for text in texts]
    lengths = np.fromiter((len(text) for text in lowered), dtype=np.int64, count=len(lowered))
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    joined = "\n".join(lowered)
    found: dict[str, np.ndarray] = {}
    for keyword in keywords:
        pattern = re.compile(rf"{re.escape(keyword_key(keyword))}(?!\w)")
        positions = [
            start
            for start in (hit.start() for hit in pattern.finditer(joined))
            if start == 0 or not (joined[start - 1].isalnum() or joined[start - 1] == "_")
        ]
        docs = np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1
        hit = np.zeros(len(lowered), dtype=bool)
        hit[docs] = True
        found[keyword] = hit
    return found


def like_pattern(keyword: str) -> str:
    """A SQL LIKE pattern (ESCAPE '\\') of texts that may contain `keyword`: a superset of the whole-word
    matches, case-insensitive for ASCII (SQLite's LIKE; ILIKE on PostgreSQL)."""
    escaped = keyword_key(keyword).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


__all__ = [
    "distinct_keywords",
    "keyword_hits",
    "keyword_key",
    "keyword_pattern",
    "like_pattern",
    "mention_text",
]
