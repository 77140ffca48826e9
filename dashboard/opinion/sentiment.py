"""Sentiment of a short text in English (VADER) or French (our rules on a public-domain lexicon).

English is scored by vaderSentiment (MIT), the reference lexicon for social text. French has no
licence-clean equivalent (vaderSentiment-fr pulls GPL packages; textblob-fr knows adjectives only and
no negation), so `_FrenchScorer` applies VADER's rules to French: the Pattern library's French adjective
polarities (PDDL, public domain, `fr_pattern.txt`) plus our colloquial words, verbs and nouns
(`fr_social.txt`), negation (ne/n'/pas/jamais/plus/rien/aucun/sans/peu, before the word or "pas" just
after a verb), idioms ("pas mal" is positive, "pas terrible" and "pas top" negative), intensifiers and
dampeners, "mais" (the clause after it counts more), exclamation marks, words in capitals and emoji.
bench/bench_opinion.py measures both against textblob, textblob-fr and VADER-on-French.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from dashboard.opinion.errors import OpinionUnavailable
from dashboard.opinion.stopwords import word_set
from dashboard.text import plain_text

Label = Literal["positive", "neutral", "negative"]

# VADER's own cut-offs on its compound score, used for both languages so labels mean the same.
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@dataclass(frozen=True, slots=True)
class Sentiment:
    """A score in [-1, 1] (VADER's compound scale) and its label."""

    score: float
    label: Label


def label_for(value: float) -> Label:
    """positive at >= 0.05, negative at <= -0.05, neutral between (VADER's thresholds)."""
    if value >= POSITIVE_AT:
        return "positive"
    if value <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def base_language(code: str | None) -> str | None:
    """'fr-CA', 'FR', 'fr_FR' -> 'fr'; None or '' -> None."""
    if not code:
        return None
    return code.strip().replace("_", "-").split("-", 1)[0].lower() or None


def score(text: str, language: str | None, languages: Sequence[str] = ("en", "fr")) -> Sentiment | None:
    """The sentiment of `text` written in `language`, or None when that language is not scored.

    None (never 0, never "neutral") when `language` is unknown, not in `languages`, or one we have no
    scorer for, and when the text holds no word or emoji to judge (an empty title, markup only: HTML
    is read as plain text first).
    Raises OpinionUnavailable for English when the `opinion` extra (vaderSentiment) is not installed.
    """
    lang = base_language(language)
    if lang is None or lang not in {base_language(code) for code in languages}:
        return None
    scorer = _SCORERS.get(lang)
    if scorer is None:
        return None
    text = plain_text(text) if "<" in (text or "") or "&" in (text or "") else text or ""
    if not _HAS_CONTENT.search(text):
        return None
    value = max(-1.0, min(1.0, scorer(text)))
    return Sentiment(round(value, 4), label_for(value))


def score_many(
    texts: Sequence[str], languages_of: Sequence[str | None], languages: Sequence[str] = ("en", "fr")
) -> list[Sentiment | None]:
    """`score` for each (text, language) pair: one call for a batch (a back-fill, a parse worker)."""
    if len(texts) != len(languages_of):
        raise ValueError(f"{len(texts)} texts but {len(languages_of)} languages")
    return [score(text, lang, languages) for text, lang in zip(texts, languages_of, strict=True)]


# A letter or an emoji: without one there is nothing to score.
_HAS_CONTENT = re.compile(r"[^\W\d_]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


# ----------------------------------------------------------------------------------------- English


@cache
def _vader() -> Callable[[str], float]:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as error:
        raise OpinionUnavailable("English sentiment needs vaderSentiment") from error
    analyzer = SentimentIntensityAnalyzer()

    def compound(text: str) -> float:
        return float(analyzer.polarity_scores(text)["compound"])

    return compound


def _english(text: str) -> float:
    return _vader()(text)


# ------------------------------------------------------------------------------------------ French

# VADER's constants (Hutto & Gilbert 2014): the step an intensifier, capitals or "!" adds, the factor
# a negation multiplies by, and alpha in the normalisation x / sqrt(x^2 + alpha).
_BOOST = 0.293
_CAPS_BOOST = 0.733
_NEGATION = -0.74
_EXCLAMATION = 0.292
_ALPHA = 15.0

_INTENSIFIERS = word_set(
    "très vraiment trop super tellement hyper grave vachement complètement totalement absolument "
    "extrêmement particulièrement carrément franchement si ultra énormément beaucoup"
)
_DAMPENERS = word_set("assez plutôt légèrement moyennement presque")
# Negators that act on the next few words: "pas génial", "jamais content", "sans intérêt", "peu clair".
_NEGATORS = word_set("pas jamais rien aucun aucune sans ni peu guère point n' ne")
# "plus" negates only after ne/n' ("n'est plus fiable"); alone it is "more" ("plus rapide").
_AFTER_VERB = frozenset(["pas", "jamais", "plus", "rien"])
# Two-word idioms whose meaning is not the negation of the second word.
_IDIOMS: Mapping[tuple[str, str], float] = {
    ("pas", "mal"): 1.8,
    ("pas", "terrible"): -1.5,
    ("pas", "top"): -1.8,
    ("pas", "fou"): -1.2,
    ("pas", "ouf"): -1.2,
    ("pas", "folichon"): -1.5,
    ("pas", "génial"): -1.9,
    ("pas", "merci"): -0.5,
    ("trop", "de"): -0.6,
}
_EMOJI: Mapping[str, float] = {
    "😍": 3.0, "🥰": 3.0, "❤": 3.0, "💖": 3.0, "😀": 2.0, "😃": 2.0, "😄": 2.2, "😁": 2.0,
    "😊": 2.2, "🙂": 1.4, "👍": 2.0, "👏": 2.2, "🎉": 2.4, "🙏": 1.2, "✨": 1.2, "💯": 2.0,
    "😡": -3.0, "😠": -2.8, "🤬": -3.4, "👎": -2.2, "😢": -2.2, "😭": -2.4, "😞": -2.2, "😒": -2.0,
    "🙁": -1.8, "☹": -2.0, "💩": -2.6, "🤮": -3.0, "😤": -2.2, "😩": -2.2, "😕": -1.4,
}  # fmt: skip

# A word with an elided article or pronoun split off ("n'est" -> "n'", "est"; "l'appli" -> "l'",
# "appli"), a run of letters, a clause break, or an emoji.
_TOKEN = re.compile(r"[^\W\d_]+['’]?|[.,;:!?()]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_BREAKS = frozenset(".,;:!?()")


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def _read_lexicon(name: str) -> dict[str, float]:
    lexicon: dict[str, float] = {}
    text = resources.files("dashboard.opinion").joinpath(name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        word, value = line.split("\t")
        lexicon[word] = float(value)
    return lexicon


@cache
def _french_lexicon() -> Mapping[str, float]:
    """Pattern's adjectives, our words over them, and each entry again without accents."""
    lexicon = _read_lexicon("fr_pattern.txt")
    lexicon.update(_read_lexicon("fr_social.txt"))
    for word, value in list(lexicon.items()):
        lexicon.setdefault(_strip_accents(word), value)
    return lexicon


def _french(text: str) -> float:
    lexicon = _french_lexicon()
    originals = _TOKEN.findall(text)
    tokens = [token.lower().replace("’", "'") for token in originals]
    shouting_text = text.upper() == text
    valences: list[float] = []
    mais_at: int | None = None
    skip_next = False
    for index, token in enumerate(tokens):
        if skip_next:
            skip_next = False
            valences.append(0.0)
            continue
        if token == "mais":
            mais_at = len(valences)
        nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
        idiom = _IDIOMS.get((token, nxt)) or _IDIOMS.get((token, _strip_accents(nxt)))
        if idiom is not None:
            valences.append(idiom)
            skip_next = True
            continue
        value = _EMOJI.get(token, 0.0) or lexicon.get(token, 0.0)
        if value == 0.0 or (token in _INTENSIFIERS and _modifies_next(tokens, index, lexicon)):
            valences.append(0.0)
            continue
        sign = 1.0 if value > 0 else -1.0
        original = originals[index]
        if len(original) > 1 and original.isupper() and not shouting_text:
            value += sign * _CAPS_BOOST
        for back in (1, 2):
            if index - back >= 0 and tokens[index - back] in _BREAKS:
                break
            if index - back >= 0 and tokens[index - back] in _INTENSIFIERS:
                value += sign * _BOOST
            elif index - back >= 0 and tokens[index - back] in _DAMPENERS:
                value -= sign * _BOOST
        if _negated(tokens, index):
            value *= _NEGATION
        valences.append(value)
    if mais_at is not None:
        valences = [v * 0.5 for v in valences[:mais_at]] + [v * 1.5 for v in valences[mais_at:]]
    total = sum(valences)
    if total:
        total += math.copysign(min(text.count("!"), 4) * _EXCLAMATION, total)
    return total / math.sqrt(total * total + _ALPHA)


def _modifies_next(tokens: list[str], index: int, lexicon: Mapping[str, float]) -> bool:
    """Whether an intensifier that is also a word ("super", "trop") stands before a scored word."""
    nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
    return nxt not in _BREAKS and (bool(lexicon.get(nxt)) or nxt in _INTENSIFIERS)


def _negated(tokens: list[str], index: int) -> bool:
    """A negator in the three words before (within the clause), or "pas"/"jamais" right after a verb."""
    for back in (1, 2, 3):
        at = index - back
        if at < 0 or tokens[at] in _BREAKS:
            break
        word = tokens[at]
        if word in _NEGATORS:
            return True
        if word == "plus" and at >= 1 and tokens[at - 1] in {"n'", "ne"}:
            return True
    nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
    return nxt in _AFTER_VERB and nxt != "plus"


_SCORERS: Mapping[str, Callable[[str], float]] = {"en": _english, "fr": _french}

SCORED_LANGUAGES = frozenset(_SCORERS)
