"""One call per mention for the store writer and the back-fill: its language and sentiment together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.opinion.language import detect_language, detect_languages
from dashboard.opinion.sentiment import Label, score, score_many

# Bump when the lexicons or rules change in a way worth re-scoring stored mentions for: a store
# keeps the version each row was scored with, and the back-fill redoes rows of an older version.
OPINION_VERSION = 1
# How much of a summary is read: a post's opening says its tone; a whole article dilutes it and costs.
SUMMARY_CHARS = 500


@dataclass(frozen=True, slots=True)
class Opinion:
    """The three columns a mention gains. All None = unknown language or an unscored one."""

    language: str | None
    sentiment: float | None
    sentiment_label: Label | None


def opinion_text(title: str, summary: str = "") -> str:
    """What is read of a mention: its title, then the start of its summary (plain text, as stored)."""
    head = (summary or "")[:SUMMARY_CHARS]
    if not head:
        return title
    if not title or head.startswith(title):  # a post whose title is its own first line
        return head
    return f"{title}\n{head}"


def opinion_of(
    title: str, summary: str = "", declared: str | None = None, languages: Sequence[str] = ("en", "fr")
) -> Opinion:
    """The language (declared by the source, else detected) and, in `languages`, the sentiment."""
    text = opinion_text(title, summary)
    language = detect_language(text, declared)
    result = score(text, language, languages)
    return Opinion(
        language, None if result is None else result.score, None if result is None else result.label
    )


def opinions_of(
    titles: Sequence[str],
    summaries: Sequence[str],
    declared: Sequence[str | None] | None = None,
    languages: Sequence[str] = ("en", "fr"),
) -> list[Opinion]:
    """`opinion_of` for a batch (the back-fill reads rows by thousands)."""
    if len(titles) != len(summaries):
        raise ValueError(f"{len(titles)} titles but {len(summaries)} summaries")
    texts = [opinion_text(t, s) for t, s in zip(titles, summaries, strict=True)]
    found = detect_languages(texts, declared)
    results = score_many(texts, found, languages)
    return [
        Opinion(lang, None if r is None else r.score, None if r is None else r.label)
        for lang, r in zip(found, results, strict=True)
    ]
